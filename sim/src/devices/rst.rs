//! Per-core standby control (CnSTBCR) and reset vector (CnRESETVEC)
//! registers of the SH-X3: how one core stops, restarts and boots another.
//! Core n's registers sit at 0xfe400000 + n * 0x1000: STBCR at +4, the
//! reset vector at +8 (STBCR_REG/RESET_REG in arch/sh/kernel/cpu/sh4a/
//! smp-shx3.c).
//!
//! Owns: those registers and the start requests they produce. Must not
//! touch: the cores themselves. The machine drains [`Rst::take_starts`] and
//! resets each named core at the given PC, and keeps a core whose
//! [`Rst::is_module_stopped`] is true from executing.
//!
//! STBCR bits (smp-shx3.c): MSTP (bit 0) stops the core's clock, RESET
//! (bit 1) resets it, SLEEP (bit 2) and LTSLP (bit 31, light sleep for the
//! SLEEP instruction) are stored. What shx3_start_cpu relies on, and what
//! this model does:
//!  1. write the entry point to the reset vector register: stored;
//!  2. if STBCR.MSTP reads 0, write MSTP; then poll until MSTP reads 1:
//!     MSTP reads back at once;
//!  3. write RESET | LTSLP: a write with RESET = 1 and MSTP = 0 starts the
//!     core at the reset vector register's value and leaves MSTP = 0; RESET
//!     itself always reads 0. A write with RESET and MSTP both set leaves
//!     the core stopped.
//!
//! Clearing MSTP without RESET only lets a started core run again; it does
//! not start one.
//!
//! Reset state: core 0 runs (the machine starts it at the power-on reset
//! vector itself: it is not reported by `take_starts`); cores 1-3 are held
//! with MSTP = 1. shx3_start_cpu copes with MSTP either way, so the choice
//! only matters to software that reads STBCR before starting a core. Every
//! reset vector register reads 0xa0000000, the SH-4A power-on reset vector.
//!
//! The registers of all four cores exist even when the machine simulates
//! fewer (a kernel built for four CPUs then simply sees the missing ones
//! never come up): starts of cores the machine does not have are dropped.
//! Not modelled: CnIFC at +0 (per-core clock control) and the per-core
//! watchdog at +0x80.. (Linux touches neither); they fault.

use super::{Access, Mmio, MmioFault, Size};

/// P4 base of core 0's registers.
pub const BASE: u32 = 0xfe40_0000;
/// Bytes decoded: four cores of 0x1000 each.
pub const SIZE: u32 = 0x4000;
/// Distance between two cores' register blocks.
pub const CORE_STRIDE: u32 = 0x1000;
/// Cores the chip has.
pub const MAX_CORES: usize = 4;

/// STBCR: module stop (core clock off).
pub const STBCR_MSTP: u32 = 0x0000_0001;
/// STBCR: reset the core (write-only action).
pub const STBCR_RESET: u32 = 0x0000_0002;
/// STBCR: sleep.
pub const STBCR_SLEEP: u32 = 0x0000_0004;
/// STBCR: light sleep mode for the SLEEP instruction.
pub const STBCR_LTSLP: u32 = 0x8000_0000;
const STBCR_STORED: u32 = STBCR_MSTP | STBCR_SLEEP | STBCR_LTSLP;

/// Reset vector register value after power-on.
pub const RESET_VECTOR_DEFAULT: u32 = 0xa000_0000;

const STBCR: u32 = 0x4;
const RESET_VECTOR: u32 = 0x8;

/// The per-core standby and reset registers.
#[derive(Clone, Debug)]
pub struct Rst {
    cores: usize,
    stbcr: [u32; MAX_CORES],
    reset_vector: [u32; MAX_CORES],
    starts: Vec<(usize, u32)>,
}

impl Rst {
    /// Registers after power-on for a machine simulating `cores` (1-4).
    pub fn new(cores: usize) -> Rst {
        assert!((1..=MAX_CORES).contains(&cores), "the RP1 has 1 to 4 cores, not {cores}");
        let mut stbcr = [STBCR_MSTP; MAX_CORES];
        stbcr[0] = 0;
        Rst { cores, stbcr, reset_vector: [RESET_VECTOR_DEFAULT; MAX_CORES], starts: Vec::new() }
    }

    /// Cores to reset and start, with their entry PC, in the order the
    /// writes happened. Draining empties the list.
    pub fn take_starts(&mut self) -> Vec<(usize, u32)> {
        std::mem::take(&mut self.starts)
    }

    /// Whether a core was released and not yet taken (`take_starts`).
    #[inline]
    pub fn has_starts(&self) -> bool {
        !self.starts.is_empty()
    }

    /// Whether `core`'s clock is stopped (STBCR.MSTP): it must not execute.
    pub fn is_module_stopped(&self, core: usize) -> bool {
        self.stbcr.get(core).is_none_or(|bits| bits & STBCR_MSTP != 0)
    }

    /// Whether SLEEP on `core` enters light sleep (STBCR.LTSLP).
    pub fn light_sleep(&self, core: usize) -> bool {
        self.stbcr.get(core).is_some_and(|bits| bits & STBCR_LTSLP != 0)
    }

    /// The reset vector register of `core`.
    pub fn reset_vector(&self, core: usize) -> Option<u32> {
        self.reset_vector.get(core).copied()
    }

    /// Split an offset into (core, register offset within the core block).
    fn decode(offset: u32, size: Size) -> Result<(usize, u32), MmioFault> {
        let core = (offset / CORE_STRIDE) as usize;
        let reg = offset % CORE_STRIDE;
        if core >= MAX_CORES || !matches!(reg, STBCR | RESET_VECTOR) {
            return Err(MmioFault::NoRegister);
        }
        // smp-shx3.c uses __raw_readl/__raw_writel only.
        if size != Size::Long {
            return Err(MmioFault::BadWidth);
        }
        Ok((core, reg))
    }
}

impl Mmio for Rst {
    fn read(&mut self, _at: Access, offset: u32, size: Size) -> Result<u32, MmioFault> {
        let (core, reg) = Rst::decode(offset, size)?;
        Ok(if reg == STBCR { self.stbcr[core] } else { self.reset_vector[core] })
    }

    fn write(&mut self, _at: Access, offset: u32, size: Size, value: u32) -> Result<(), MmioFault> {
        let (core, reg) = Rst::decode(offset, size)?;
        if reg == RESET_VECTOR {
            self.reset_vector[core] = value;
            return Ok(());
        }
        self.stbcr[core] = value & STBCR_STORED;
        let starts = value & STBCR_RESET != 0 && value & STBCR_MSTP == 0;
        if starts && core < self.cores {
            self.starts.push((core, self.reset_vector[core]));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const AT: Access = Access { core: 0, now: 0 };

    fn stbcr(cpu: u32) -> u32 {
        (0xfe40_0004 | cpu << 12) - BASE
    }
    fn reset_reg(cpu: u32) -> u32 {
        (0xfe40_0008 | cpu << 12) - BASE
    }

    /// shx3_start_cpu, step by step, with a bound on the polling loop.
    fn start_cpu(rst: &mut Rst, cpu: u32, entry: u32) {
        rst.write(AT, reset_reg(cpu), Size::Long, entry).unwrap();
        if rst.read(AT, stbcr(cpu), Size::Long).unwrap() & STBCR_MSTP == 0 {
            rst.write(AT, stbcr(cpu), Size::Long, STBCR_MSTP).unwrap();
        }
        let mut spins = 0;
        while rst.read(AT, stbcr(cpu), Size::Long).unwrap() & STBCR_MSTP == 0 {
            spins += 1;
            assert!(spins < 10, "MSTP never reads back");
        }
        rst.write(AT, stbcr(cpu), Size::Long, STBCR_RESET | STBCR_LTSLP).unwrap();
    }

    #[test]
    fn reset_state() {
        let mut rst = Rst::new(4);
        assert_eq!(rst.read(AT, stbcr(0), Size::Long), Ok(0));
        for cpu in 1..4 {
            assert_eq!(rst.read(AT, stbcr(cpu), Size::Long), Ok(STBCR_MSTP));
            assert!(rst.is_module_stopped(cpu as usize));
        }
        assert!(!rst.is_module_stopped(0));
        assert_eq!(rst.read(AT, reset_reg(2), Size::Long), Ok(RESET_VECTOR_DEFAULT));
        assert_eq!(rst.take_starts(), vec![]);
    }

    #[test]
    fn linux_start_sequence_starts_the_core_at_its_entry() {
        let mut rst = Rst::new(4);
        start_cpu(&mut rst, 1, 0x8800_1000);
        start_cpu(&mut rst, 3, 0x8800_2000);
        assert_eq!(rst.take_starts(), vec![(1, 0x8800_1000), (3, 0x8800_2000)]);
        assert_eq!(rst.take_starts(), vec![]);
        // RESET reads 0, MSTP was cleared by the write, LTSLP stays.
        assert_eq!(rst.read(AT, stbcr(1), Size::Long), Ok(STBCR_LTSLP));
        assert!(!rst.is_module_stopped(1));
        assert!(rst.light_sleep(1));
        assert!(rst.is_module_stopped(2));
    }

    #[test]
    fn running_core_is_stopped_first_then_restarted() {
        let mut rst = Rst::new(2);
        start_cpu(&mut rst, 1, 0x8800_1000);
        rst.take_starts();
        // shx3_update_boot_vector: MSTP, poll, RESET (vector unchanged).
        rst.write(AT, stbcr(1), Size::Long, STBCR_MSTP).unwrap();
        assert!(rst.is_module_stopped(1));
        assert_eq!(rst.take_starts(), vec![]);
        rst.write(AT, stbcr(1), Size::Long, STBCR_RESET).unwrap();
        assert_eq!(rst.take_starts(), vec![(1, 0x8800_1000)]);
    }

    #[test]
    fn reset_with_mstp_or_mstp_clear_alone_does_not_start() {
        let mut rst = Rst::new(4);
        rst.write(AT, stbcr(2), Size::Long, STBCR_RESET | STBCR_MSTP).unwrap();
        rst.write(AT, stbcr(3), Size::Long, 0).unwrap();
        assert_eq!(rst.take_starts(), vec![]);
        assert!(rst.is_module_stopped(2));
        assert!(!rst.is_module_stopped(3));
    }

    #[test]
    fn boot_cpu_light_sleep_read_modify_write() {
        let mut rst = Rst::new(1);
        let old = rst.read(AT, stbcr(0), Size::Long).unwrap();
        rst.write(AT, stbcr(0), Size::Long, old | STBCR_LTSLP).unwrap();
        assert_eq!(rst.read(AT, stbcr(0), Size::Long), Ok(STBCR_LTSLP));
        assert!(!rst.is_module_stopped(0));
        assert_eq!(rst.take_starts(), vec![]);
    }

    #[test]
    fn cores_the_machine_lacks_have_registers_but_never_start() {
        let mut rst = Rst::new(2);
        start_cpu(&mut rst, 2, 0x8800_3000);
        assert_eq!(rst.take_starts(), vec![]);
        assert_eq!(rst.reset_vector(2), Some(0x8800_3000));
        assert!(rst.is_module_stopped(7));
    }

    #[test]
    fn offsets_and_widths_fault() {
        let mut rst = Rst::new(4);
        assert_eq!(rst.read(AT, 0x0, Size::Long), Err(MmioFault::NoRegister));
        assert_eq!(rst.read(AT, 0x1080, Size::Long), Err(MmioFault::NoRegister));
        assert_eq!(rst.read(AT, stbcr(1), Size::Word), Err(MmioFault::BadWidth));
        assert_eq!(rst.write(AT, reset_reg(0), Size::Byte, 0), Err(MmioFault::BadWidth));
        assert_eq!(rst.read(AT, SIZE, Size::Long), Err(MmioFault::NoRegister));
    }

    #[test]
    fn every_offset_and_width_is_safe() {
        let mut rst = Rst::new(4);
        for offset in 0..SIZE + 8 {
            for size in [Size::Byte, Size::Word, Size::Long] {
                let _ = rst.read(AT, offset, size);
                let _ = rst.write(AT, offset, size, 0xffff_ffff);
                let _ = rst.write(AT, offset, size, STBCR_RESET);
            }
        }
        let _ = rst.take_starts();
    }
}
