//! One TMU unit of the SH-X3: three 32-bit down-counting channels sharing a
//! start register. TMU0 (channels 0-2) sits at 0xffc10000, TMU1 (channels
//! 3-5) at 0xffc20000 (arch/sh/kernel/cpu/sh4a/setup-shx3.c).
//!
//! Owns: TOCR, TSTR and each channel's TCOR/TCNT/TCR, plus channel 2's
//! TCPR on TMU0, and the exact timing of counts and underflows. Must not
//! touch: the INTC (the machine reads [`Tmu::irq_lines`] and drives the
//! interrupt lines) or the clock tree (Pφ is given to [`Tmu::new`]).
//!
//! Register layout as drivers/clocksource/sh_tmu.c's SH_TMU model uses it:
//! TOCR +0x00 (8 bit), TSTR +0x04 (8 bit, bit n starts channel n of the
//! unit), channel n at +0x08 + 12n: TCOR +0 (32), TCNT +4 (32), TCR +8
//! (16). TCR: UNF bit 8, UNIE bit 5, CKEG 4:3, TPSC 2:0 (Pφ/4, /16, /64,
//! /256, /1024). Accesses of any other width fault.
//!
//! Time is lazy and exact. The prescaler is free-running from cycle 0, so
//! the k-th edge of the Pφ/d counter clock falls on the first CPU cycle t
//! with floor(t * Pφ / (CPU * d)) >= k. A running channel remembers the
//! count it had at an anchor cycle; its count at any later cycle follows
//! from the number of edges in between: it counts down to 0, and the next
//! edge reloads TCOR and sets UNF, so after the first underflow the period
//! is TCOR + 1 edges. Every register write first brings the channel up to
//! `now` and re-anchors it. Integer arithmetic only (u128 intermediates).
//!
//! Not modelled: TPSC codes 5-7 (setting prohibited, or the external TCLK
//! pin, which the RP1 board does not drive): the counter does not advance.
//! TMU0 channel 2's input capture never fires (ICPF stays 0, TCPR reads 0).
//! TOCR.TCOE is stored; there is no TCLK pin to drive.

use super::{Access, Mmio, MmioFault, Size};

/// P4 base of TMU0 (channels 0-2).
pub const TMU0_BASE: u32 = 0xffc1_0000;
/// P4 base of TMU1 (channels 3-5).
pub const TMU1_BASE: u32 = 0xffc2_0000;
/// Bytes decoded from a unit's base (TMU0's resource size in setup-shx3.c;
/// TMU1 has no TCPR, so its last word faults).
pub const SIZE: u32 = 0x30;

/// TCR: underflow flag (write 0 to clear).
pub const TCR_UNF: u16 = 1 << 8;
/// TCR: underflow interrupt enable.
pub const TCR_UNIE: u16 = 1 << 5;
/// TCR: prescaler select field.
pub const TCR_TPSC_MASK: u16 = 0x7;
/// TCR on TMU0 channel 2: input capture flag (never set here).
pub const TCR_ICPF: u16 = 1 << 9;

const TOCR: u32 = 0x00;
const TSTR: u32 = 0x04;
const CHANNEL_BASE: u32 = 0x08;
const CHANNEL_STRIDE: u32 = 12;
const TCPR2: u32 = 0x2c;
/// TCR bits software can write: ICPE 7:6, UNIE, CKEG 4:3, TPSC 2:0.
const TCR_WRITABLE: u16 = 0x00ff;

/// Which register of a channel an offset names.
#[derive(Clone, Copy)]
enum ChannelReg {
    Tcor,
    Tcnt,
    Tcr,
}

#[derive(Clone, Debug)]
struct Channel {
    tcor: u32,
    /// TCR control bits; UNF lives in `unf`.
    control: u16,
    /// UNF as of `anchor_cycle`.
    unf: bool,
    running: bool,
    /// The cycle at which `anchor_count` was the count.
    anchor_cycle: u64,
    anchor_count: u32,
    /// `Tmu::first_underflow` of this channel and the state it was worked
    /// out for: the interrupt lines are asked for at every return to the
    /// machine, and working it out takes two 128-bit divisions.
    first_underflow: std::cell::Cell<Option<(UnderflowKey, Option<u64>)>>,
}

/// What a channel's first underflow after its anchor depends on.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct UnderflowKey {
    anchor_cycle: u64,
    anchor_count: u32,
    prescaler: u64,
}

impl Channel {
    fn new() -> Channel {
        Channel {
            tcor: 0xffff_ffff,
            control: 0,
            unf: false,
            running: false,
            anchor_cycle: 0,
            anchor_count: 0xffff_ffff,
            first_underflow: std::cell::Cell::new(None),
        }
    }

    /// Pφ divider of the counter clock, or None when TPSC selects a clock
    /// this model does not have.
    fn prescaler(&self) -> Option<u64> {
        match self.control & TCR_TPSC_MASK {
            0 => Some(4),
            1 => Some(16),
            2 => Some(64),
            3 => Some(256),
            4 => Some(1024),
            _ => None,
        }
    }
}

/// One TMU unit (three channels).
#[derive(Clone, Debug)]
pub struct Tmu {
    first_channel: usize,
    /// Pφ / CPU clock as a reduced fraction: edges(t) = t * num / (den * d).
    num: u64,
    den: u64,
    tocr: u8,
    channels: [Channel; 3],
}

fn gcd(mut a: u64, mut b: u64) -> u64 {
    while b != 0 {
        (a, b) = (b, a % b);
    }
    a
}

impl Tmu {
    /// A unit after reset. `first_channel` is 0 for TMU0 and 3 for TMU1
    /// (only TMU0 has TCPR2); `cpu_hz` and `peripheral_hz` fix the exact
    /// ratio between CPU cycles and Pφ ticks.
    pub fn new(first_channel: usize, cpu_hz: u64, peripheral_hz: u64) -> Tmu {
        assert!(cpu_hz > 0 && peripheral_hz > 0, "TMU clocks must be non-zero");
        let g = gcd(cpu_hz, peripheral_hz);
        Tmu {
            first_channel,
            num: peripheral_hz / g,
            den: cpu_hz / g,
            tocr: 0,
            channels: [Channel::new(), Channel::new(), Channel::new()],
        }
    }

    /// Global channel number (0-5) of this unit's channel `index`.
    pub fn channel_number(&self, index: usize) -> usize {
        self.first_channel + index
    }

    /// Counter-clock edges from cycle 0 up to and including `cycle`.
    fn edges_at(&self, cycle: u64, prescaler: u64) -> u128 {
        cycle as u128 * self.num as u128 / (self.den as u128 * prescaler as u128)
    }

    /// The first cycle at which edge number `edge` has happened.
    fn cycle_of_edge(&self, edge: u128, prescaler: u64) -> Option<u64> {
        let scaled = edge.checked_mul(self.den as u128 * prescaler as u128)?;
        u64::try_from(scaled.div_ceil(self.num as u128)).ok()
    }

    /// Count at `cycle` and whether an underflow happened since the anchor.
    /// Pure: a cycle before the anchor sees the anchored state.
    fn state_at(&self, ch: &Channel, cycle: u64) -> (u32, bool) {
        let Some(prescaler) = ch.prescaler().filter(|_| ch.running) else {
            return (ch.anchor_count, false);
        };
        let elapsed = self
            .edges_at(cycle, prescaler)
            .saturating_sub(self.edges_at(ch.anchor_cycle, prescaler));
        let to_zero = ch.anchor_count as u128;
        if elapsed <= to_zero {
            return ((to_zero - elapsed) as u32, false);
        }
        // Edge `to_zero + 1` is the first underflow (reload to TCOR); each
        // later underflow is TCOR + 1 edges after the previous one.
        let since_reload = elapsed - (to_zero + 1);
        let period = ch.tcor as u128 + 1;
        (ch.tcor - (since_reload % period) as u32, true)
    }

    fn unf_at(&self, ch: &Channel, cycle: u64) -> bool {
        ch.unf || self.first_underflow(ch).is_some_and(|first| cycle >= first)
    }

    /// The first cycle at which the channel has underflowed since its
    /// anchor (`state_at` then says so from that cycle on), or None if it
    /// is stopped or never will within u64 cycles. Remembered per channel
    /// for its anchor and clock.
    fn first_underflow(&self, ch: &Channel) -> Option<u64> {
        let prescaler = ch.prescaler().filter(|_| ch.running)?;
        let key = UnderflowKey { anchor_cycle: ch.anchor_cycle, anchor_count: ch.anchor_count, prescaler };
        if let Some((k, first)) = ch.first_underflow.get() {
            if k == key {
                return first;
            }
        }
        // Elapsed edges exceed the count from edge `anchor + count + 1` on.
        let edge = self.edges_at(ch.anchor_cycle, prescaler) + ch.anchor_count as u128 + 1;
        let first = self.cycle_of_edge(edge, prescaler);
        ch.first_underflow.set(Some((key, first)));
        first
    }

    /// Bring channel `index` up to `cycle` and anchor it there.
    fn sync(&mut self, index: usize, cycle: u64) {
        let (count, underflowed) = self.state_at(&self.channels[index], cycle);
        let ch = &mut self.channels[index];
        ch.anchor_count = count;
        ch.unf |= underflowed;
        ch.anchor_cycle = ch.anchor_cycle.max(cycle);
    }

    /// TCNT of channel `index` (0-2) at `now`.
    pub fn count(&self, index: usize, now: u64) -> u32 {
        self.state_at(&self.channels[index], now).0
    }

    /// Interrupt request of each channel at `now`: UNF and UNIE both set.
    pub fn irq_lines(&self, now: u64) -> [bool; 3] {
        let line = |ch: &Channel| ch.control & TCR_UNIE != 0 && self.unf_at(ch, now);
        [line(&self.channels[0]), line(&self.channels[1]), line(&self.channels[2])]
    }

    /// The earliest cycle after `now` at which a channel's interrupt line
    /// rises by itself: it is running with UNIE set and UNF still clear,
    /// and this is the cycle of its next underflow. None if no line will.
    pub fn next_event(&self, now: u64) -> Option<u64> {
        self.channels
            .iter()
            .filter(|ch| ch.running && ch.control & TCR_UNIE != 0 && !self.unf_at(ch, now))
            .filter_map(|ch| self.first_underflow(ch))
            .min()
    }

    fn tstr(&self) -> u8 {
        self.channels.iter().enumerate().fold(0, |bits, (i, ch)| bits | (ch.running as u8) << i)
    }

    fn has_capture_register(&self) -> bool {
        self.first_channel == 0
    }

    /// Decode a channel register offset into (channel index, register).
    fn channel_reg(offset: u32) -> Option<(usize, ChannelReg)> {
        let rel = offset.checked_sub(CHANNEL_BASE)?;
        let index = (rel / CHANNEL_STRIDE) as usize;
        if index >= 3 {
            return None;
        }
        let reg = match rel % CHANNEL_STRIDE {
            0 => ChannelReg::Tcor,
            4 => ChannelReg::Tcnt,
            8 => ChannelReg::Tcr,
            _ => return None,
        };
        Some((index, reg))
    }
}

fn width(size: Size, want: Size) -> Result<(), MmioFault> {
    if size == want {
        Ok(())
    } else {
        Err(MmioFault::BadWidth)
    }
}

impl Mmio for Tmu {
    fn read(&mut self, at: Access, offset: u32, size: Size) -> Result<u32, MmioFault> {
        match offset {
            TOCR => width(size, Size::Byte).map(|_| self.tocr as u32),
            TSTR => width(size, Size::Byte).map(|_| self.tstr() as u32),
            TCPR2 if self.has_capture_register() => width(size, Size::Long).map(|_| 0),
            _ => {
                let (index, reg) = Tmu::channel_reg(offset).ok_or(MmioFault::NoRegister)?;
                let ch = &self.channels[index];
                match reg {
                    ChannelReg::Tcor => width(size, Size::Long).map(|_| ch.tcor),
                    ChannelReg::Tcnt => width(size, Size::Long).map(|_| self.count(index, at.now)),
                    ChannelReg::Tcr => width(size, Size::Word).map(|_| {
                        let unf = if self.unf_at(ch, at.now) { TCR_UNF } else { 0 };
                        (ch.control | unf) as u32
                    }),
                }
            }
        }
    }

    fn write(&mut self, at: Access, offset: u32, size: Size, value: u32) -> Result<(), MmioFault> {
        let now = at.now;
        match offset {
            TOCR => {
                width(size, Size::Byte)?;
                self.tocr = value as u8 & 1;
            }
            TSTR => {
                width(size, Size::Byte)?;
                for index in 0..3 {
                    let start = value & (1 << index) != 0;
                    if start != self.channels[index].running {
                        self.sync(index, now);
                        let ch = &mut self.channels[index];
                        ch.running = start;
                        // A stopped channel's anchor may lie in the past:
                        // counting resumes from `now`, not from then.
                        ch.anchor_cycle = ch.anchor_cycle.max(now);
                    }
                }
            }
            // TCPR2 is read-only: its writes are ignored.
            TCPR2 if self.has_capture_register() => width(size, Size::Long)?,
            _ => {
                let (index, reg) = Tmu::channel_reg(offset).ok_or(MmioFault::NoRegister)?;
                let want = if matches!(reg, ChannelReg::Tcr) { Size::Word } else { Size::Long };
                width(size, want)?;
                self.sync(index, now);
                let ch = &mut self.channels[index];
                match reg {
                    ChannelReg::Tcor => ch.tcor = value,
                    ChannelReg::Tcnt => ch.anchor_count = value,
                    ChannelReg::Tcr => {
                        let value = value as u16;
                        ch.control = value & TCR_WRITABLE;
                        // UNF (and ICPF) can only be cleared, by writing 0.
                        if value & TCR_UNF == 0 {
                            ch.unf = false;
                        }
                    }
                }
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const CPU: u64 = 600_000_000;
    const PCLK: u64 = 50_000_000;
    // Pφ/4 at 50 MHz against a 600 MHz CPU: one count every 48 cycles.
    const CYCLES_PER_COUNT: u64 = 48;

    fn at(now: u64) -> Access {
        Access { core: 0, now }
    }

    fn tcor(ch: u32) -> u32 {
        CHANNEL_BASE + ch * CHANNEL_STRIDE
    }
    fn tcnt(ch: u32) -> u32 {
        tcor(ch) + 4
    }
    fn tcr(ch: u32) -> u32 {
        tcor(ch) + 8
    }

    /// Program channel `ch` like sh_tmu_set_next (periodic) and start it.
    fn start(tmu: &mut Tmu, ch: u32, count: u32, reload: u32, control: u16, now: u64) {
        tmu.write(at(now), tcr(ch), Size::Word, control as u32).unwrap();
        tmu.write(at(now), tcor(ch), Size::Long, reload).unwrap();
        tmu.write(at(now), tcnt(ch), Size::Long, count).unwrap();
        let tstr = tmu.read(at(now), TSTR, Size::Byte).unwrap();
        tmu.write(at(now), TSTR, Size::Byte, tstr | 1 << ch).unwrap();
    }

    fn read(tmu: &mut Tmu, offset: u32, size: Size, now: u64) -> u32 {
        tmu.read(at(now), offset, size).unwrap()
    }

    #[test]
    fn reset_values() {
        let mut tmu = Tmu::new(0, CPU, PCLK);
        assert_eq!(read(&mut tmu, TOCR, Size::Byte, 0), 0);
        assert_eq!(read(&mut tmu, TSTR, Size::Byte, 0), 0);
        for ch in 0..3 {
            assert_eq!(read(&mut tmu, tcor(ch), Size::Long, 0), 0xffff_ffff);
            assert_eq!(read(&mut tmu, tcnt(ch), Size::Long, 1_000_000), 0xffff_ffff);
            assert_eq!(read(&mut tmu, tcr(ch), Size::Word, 0), 0);
        }
        assert_eq!(tmu.next_event(0), None);
        assert_eq!(tmu.irq_lines(u64::MAX), [false; 3]);
    }

    #[test]
    fn counts_down_at_exact_cycles_and_underflows_on_time() {
        let mut tmu = Tmu::new(0, CPU, PCLK);
        start(&mut tmu, 0, 10, 10, TCR_UNIE, 0);
        assert_eq!(read(&mut tmu, tcnt(0), Size::Long, 47), 10);
        assert_eq!(read(&mut tmu, tcnt(0), Size::Long, 48), 9);
        assert_eq!(read(&mut tmu, tcnt(0), Size::Long, 479), 1);
        assert_eq!(read(&mut tmu, tcnt(0), Size::Long, 480), 0);
        // The 11th count edge underflows: cycle 11 * 48 = 528.
        assert_eq!(tmu.next_event(0), Some(528));
        assert_eq!(tmu.next_event(527), Some(528));
        assert_eq!(tmu.irq_lines(527), [false; 3]);
        assert_eq!(read(&mut tmu, tcr(0), Size::Word, 527) as u16 & TCR_UNF, 0);
        assert_eq!(tmu.irq_lines(528), [true, false, false]);
        assert_eq!(read(&mut tmu, tcnt(0), Size::Long, 528), 10);
        assert_eq!(read(&mut tmu, tcr(0), Size::Word, 528), (TCR_UNF | TCR_UNIE) as u32);
        // The line is already up: nothing new to wait for.
        assert_eq!(tmu.next_event(528), None);
    }

    #[test]
    fn unf_clears_by_writing_zero_and_reload_repeats_every_tcor_plus_one() {
        let mut tmu = Tmu::new(0, CPU, PCLK);
        start(&mut tmu, 1, 10, 4, TCR_UNIE, 0);
        assert!(tmu.irq_lines(528)[1]);
        // Writing 1 to UNF leaves it set; writing 0 clears it.
        tmu.write(at(600), tcr(1), Size::Word, (TCR_UNF | TCR_UNIE) as u32).unwrap();
        assert!(tmu.irq_lines(600)[1]);
        tmu.write(at(600), tcr(1), Size::Word, TCR_UNIE as u32).unwrap();
        assert_eq!(tmu.irq_lines(600), [false; 3]);
        // Reloaded with TCOR = 4 at cycle 528: 4 at 528, 3 at 576, 2 at 624,
        // 1 at 672, 0 at 720, underflow (reload 4) at 768 = 528 + 5 * 48.
        assert_eq!(read(&mut tmu, tcnt(1), Size::Long, 600), 3);
        assert_eq!(read(&mut tmu, tcnt(1), Size::Long, 720), 0);
        assert_eq!(tmu.next_event(600), Some(768));
        assert_eq!(read(&mut tmu, tcnt(1), Size::Long, 768), 4);
        assert!(tmu.irq_lines(768)[1]);
        // Many periods later the phase is still exact: 528 + 100 * 240.
        tmu.write(at(768), tcr(1), Size::Word, TCR_UNIE as u32).unwrap();
        assert_eq!(tmu.next_event(768), Some(1008));
        assert_eq!(read(&mut tmu, tcnt(1), Size::Long, 528 + 100 * 240), 4);
        assert_eq!(read(&mut tmu, tcnt(1), Size::Long, 528 + 100 * 240 - 1), 0);
    }

    #[test]
    fn prescaler_is_free_running_from_cycle_zero() {
        let mut tmu = Tmu::new(0, CPU, PCLK);
        // Started at cycle 100: the next Pφ/4 edge is at 144, not 148.
        start(&mut tmu, 0, 2, 2, TCR_UNIE, 100);
        assert_eq!(read(&mut tmu, tcnt(0), Size::Long, 143), 2);
        assert_eq!(read(&mut tmu, tcnt(0), Size::Long, 144), 1);
        assert_eq!(tmu.next_event(100), Some(240));
        // Pφ/16: one count every 192 cycles.
        start(&mut tmu, 2, 1, 7, TCR_UNIE | 1, 0);
        assert_eq!(read(&mut tmu, tcnt(2), Size::Long, 191), 1);
        assert_eq!(read(&mut tmu, tcnt(2), Size::Long, 192), 0);
        assert_eq!(read(&mut tmu, tcnt(2), Size::Long, 384), 7);
        // Pφ/1024: 12 288 cycles per count.
        let mut slow = Tmu::new(3, CPU, PCLK);
        start(&mut slow, 0, 0, 0, TCR_UNIE | 4, 0);
        assert_eq!(slow.next_event(0), Some(12_288));
    }

    #[test]
    fn stopping_freezes_tcnt_and_restart_resumes_from_then() {
        let mut tmu = Tmu::new(0, CPU, PCLK);
        start(&mut tmu, 0, 100, 100, 0, 0);
        tmu.write(at(200), TSTR, Size::Byte, 0).unwrap();
        // 200 / 48 = 4 counts happened.
        assert_eq!(read(&mut tmu, tcnt(0), Size::Long, 200), 96);
        assert_eq!(read(&mut tmu, tcnt(0), Size::Long, 1_000_000), 96);
        assert_eq!(read(&mut tmu, TSTR, Size::Byte, 1000), 0);
        tmu.write(at(1000), TSTR, Size::Byte, 1).unwrap();
        // Next edges after 1000: 1008, 1056.
        assert_eq!(read(&mut tmu, tcnt(0), Size::Long, 1007), 96);
        assert_eq!(read(&mut tmu, tcnt(0), Size::Long, 1056), 94);
    }

    #[test]
    fn interrupt_line_needs_unie_and_no_event_without_it() {
        let mut tmu = Tmu::new(0, CPU, PCLK);
        start(&mut tmu, 0, 0, 0, 0, 0);
        assert_eq!(tmu.next_event(0), None);
        assert_eq!(tmu.irq_lines(48), [false; 3]);
        assert_eq!(read(&mut tmu, tcr(0), Size::Word, 48), TCR_UNF as u32);
        // Enabling UNIE with UNF already set raises the line at once.
        tmu.write(at(50), tcr(0), Size::Word, (TCR_UNF | TCR_UNIE) as u32).unwrap();
        assert_eq!(tmu.irq_lines(50), [true, false, false]);
    }

    #[test]
    fn linux_clocksource_sequence_reads_elapsed_ticks() {
        // __sh_tmu_enable: stop, TCOR = TCNT = ~0, TCR = CLK4, start.
        let mut tmu = Tmu::new(3, CPU, PCLK);
        tmu.write(at(0), TSTR, Size::Byte, 0).unwrap();
        tmu.write(at(0), tcor(0), Size::Long, 0xffff_ffff).unwrap();
        tmu.write(at(0), tcnt(0), Size::Long, 0xffff_ffff).unwrap();
        tmu.write(at(0), tcr(0), Size::Word, 0).unwrap();
        tmu.write(at(0), TSTR, Size::Byte, 1).unwrap();
        // sh_tmu_clocksource_read: TCNT ^ ~0 = ticks at Pφ/4 = 12.5 MHz.
        let ticks = read(&mut tmu, tcnt(0), Size::Long, 600_000_000) ^ 0xffff_ffff;
        assert_eq!(ticks, 12_500_000);
        assert_eq!(tmu.channel_number(0), 3);
    }

    #[test]
    fn inexact_clock_ratio_still_counts_whole_edges() {
        // Pφ = 66 666 666 Hz: edges at ceil(k * 600M * 4 / 66 666 666).
        let mut tmu = Tmu::new(0, CPU, 66_666_666);
        start(&mut tmu, 0, 5, 5, TCR_UNIE, 0);
        // Edge 6 at ceil(6 * 2_400_000_000 / 66_666_666) = ceil(216.000002).
        assert_eq!(tmu.next_event(0), Some(217));
        assert_eq!(read(&mut tmu, tcnt(0), Size::Long, 216), 0);
        assert_eq!(read(&mut tmu, tcnt(0), Size::Long, 217), 5);
    }

    #[test]
    fn widths_and_offsets_are_checked() {
        let mut tmu = Tmu::new(0, CPU, PCLK);
        assert_eq!(tmu.read(at(0), TSTR, Size::Long), Err(MmioFault::BadWidth));
        assert_eq!(tmu.write(at(0), tcr(0), Size::Long, 0), Err(MmioFault::BadWidth));
        assert_eq!(tmu.read(at(0), tcnt(1), Size::Word), Err(MmioFault::BadWidth));
        assert_eq!(tmu.read(at(0), 0x01, Size::Byte), Err(MmioFault::NoRegister));
        assert_eq!(tmu.read(at(0), tcr(0) + 2, Size::Word), Err(MmioFault::NoRegister));
        assert_eq!(tmu.read(at(0), TCPR2, Size::Long), Ok(0));
        let mut tmu1 = Tmu::new(3, CPU, PCLK);
        assert_eq!(tmu1.read(at(0), TCPR2, Size::Long), Err(MmioFault::NoRegister));
    }

    #[test]
    fn every_offset_and_width_is_safe() {
        for first in [0, 3] {
            let mut tmu = Tmu::new(first, CPU, PCLK);
            for offset in 0..SIZE + 8 {
                for size in [Size::Byte, Size::Word, Size::Long] {
                    for now in [0, 1 << 40, u64::MAX] {
                        let _ = tmu.read(at(now), offset, size);
                        let _ = tmu.write(at(now), offset, size, 0xffff_ffff);
                        let _ = tmu.next_event(now);
                        let _ = tmu.irq_lines(now);
                        let _ = tmu.write(at(now), offset, size, 0);
                    }
                }
            }
        }
    }

    #[test]
    fn cycles_per_count_matches_the_clock_ratio() {
        assert_eq!(CPU * 4 / PCLK, CYCLES_PER_COUNT);
    }
}
