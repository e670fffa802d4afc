//! The RP1 devices an instance drives, at the register level: its core's
//! TMU channel (the hypervisor timer), its INTC masks and priorities, the
//! inter-core interrupts, and the simulator's cycle counter (the board's
//! time base). One implementation for both ways the instance runs: the
//! board image reaches the registers through MMIO accessors, the hosted
//! model through the simulated bus, so both program the devices with the
//! same accesses in the same order.
//!
//! Owns: register addresses, field layouts and access sequences (from
//! Linux 6.1's `setup-shx3.c`, `intc-shx3.c`, `smp-shx3.c`, `sh_tmu.c`;
//! `docs/memory-map.md` has the tables). Must not touch: decisions (when to
//! arm, what to unmask: that is the instance's), any other core's masks or
//! timer.

/// 32/16/8-bit register access at a full 32-bit address (P2 for the
/// external bus and the CSM, P4 for on-chip devices).
pub trait Registers {
    fn read32(&mut self, addr: u32) -> u32;
    fn write32(&mut self, addr: u32, value: u32);
    fn read16(&mut self, addr: u32) -> u16;
    fn write16(&mut self, addr: u32, value: u16);
    fn read8(&mut self, addr: u32) -> u8;
    fn write8(&mut self, addr: u32, value: u8);
}

/// INTC base (P4).
pub const INTC: u32 = 0xfe41_0000;
/// TMU units: channels 0-2 and 3-5.
pub const TMU0: u32 = 0xffc1_0000;
pub const TMU1: u32 = 0xffc2_0000;
/// Core `target`'s CnINTICI: a write raises the ICI messages whose bits
/// it sets (the board's entry stub has it as INTC_INTICI).
pub const fn ici_request_register(target: usize) -> u32 {
    INTC + 0x070 + 4 * target as u32
}
/// What core `core` writes into another's CnINTICI to raise its IPI ICI
/// (the board's entry stub writes it too).
pub const fn ipi_ici_request(core: usize) -> u32 {
    1 << (8 + core as u32)
}
/// The CSM through P2 (uncached, untranslated); the mailbox is at its start.
pub const CSM_P2: u32 = 0xb600_0000;
/// SIMCTL through P2: +4/+8 the accessing core's cycle counter.
pub const SIMCTL_P2: u32 = 0xbbff_0000;
/// SCIF0 (the console).
pub const SCIF0: u32 = 0xffc3_0000;
/// Per-core reset registers: STBCR at +4, the reset vector at +8, core n
/// at + n << 12.
pub const RESET: u32 = 0xfe40_0000;
/// CPU-internal exception registers (P4).
pub const TRA: u32 = 0xff00_0020;
pub const EXPEVT: u32 = 0xff00_0024;
pub const INTEVT: u32 = 0xff00_0028;
pub const TEA: u32 = 0xff00_000c;
pub const PTEH: u32 = 0xff00_0000;
pub const PTEL: u32 = 0xff00_0004;
pub const TTB: u32 = 0xff00_0008;
pub const CPIDR: u32 = 0xff00_0048;
pub const MMUCR: u32 = 0xff00_0010;
/// MMUCR.TI: invalidate the TLB.
pub const MMUCR_TI: u32 = 1 << 2;

/// TCR bits.
pub const TCR_UNF: u16 = 1 << 8;
pub const TCR_UNIE: u16 = 1 << 5;
/// CPU cycles per count of a TMU channel at Pφ/4 (600 MHz / 12.5 MHz).
pub const CYCLES_PER_TMU_COUNT: u64 = 48;

/// Where an on-chip source's INT2PRI field and per-core INT2MSK bit are.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SourceRegs {
    pub intevt: u16,
    /// INT2PRI register and the field's shift (4 bits).
    pub pri_register: u8,
    pub pri_shift: u8,
    /// CnINT2MSK register and bit.
    pub mask_register: u8,
    pub mask_bit: u8,
}

/// The INTC fields of the sources the hypervisor programs: the six TMU
/// channels (0-3 its timers, 4-5 guest-ownable) and the SCIF ports' lines.
pub const fn source(intevt: u16) -> Option<SourceRegs> {
    if intevt >= 0x400 && intevt <= 0x4a0 && intevt % 0x20 == 0 {
        let ch = ((intevt - 0x400) / 0x20) as u8;
        return Some(SourceRegs { intevt, pri_register: 0, pri_shift: 4 * ch, mask_register: 0, mask_bit: 1 + ch });
    }
    if intevt >= 0x700 && intevt <= 0x8e0 && intevt % 0x20 == 0 {
        let n = ((intevt - 0x700) / 0x20) as u8; // port * 4 + line
        return Some(SourceRegs { intevt, pri_register: 1, pri_shift: 4 * (n / 4), mask_register: 2, mask_bit: n });
    }
    None
}

/// INTEVT of core `core`'s timer: TMU channel `core`.
pub const fn timer_intevt(core: usize) -> u32 {
    0x400 + 0x20 * core as u32
}

/// The device programming of one core.
pub struct Rp1<'a, R: Registers> {
    pub regs: &'a mut R,
    pub core: usize,
}

impl<R: Registers> Rp1<'_, R> {
    /// This core's TMU channel: (unit base, channel in the unit).
    fn timer_channel(&self) -> (u32, u32) {
        let unit = if self.core < 3 { TMU0 } else { TMU1 };
        (unit, (self.core % 3) as u32)
    }

    /// This core's channel registers: TCOR (+0), TCNT (+4), TCR (+8).
    fn timer_registers(&self) -> u32 {
        let (unit, ch) = self.timer_channel();
        unit + 0x08 + 12 * ch
    }

    /// Priority `level` for source `s` in its INT2PRI field (machine-wide).
    fn set_priority(&mut self, s: SourceRegs, level: u8) {
        let addr = INTC + 0x800 + 4 * s.pri_register as u32;
        let old = self.regs.read32(addr);
        let value = (old & !(0xf << s.pri_shift)) | ((level as u32 & 0xf) << s.pri_shift);
        self.regs.write32(addr, value);
    }

    /// Mask or unmask `s` for this core only: CnINT2MSK<register> (write 1
    /// to mask) or CnINT2MSKCLR<register> (write 1 to unmask).
    fn set_masked(&mut self, s: SourceRegs, masked: bool) {
        let base = if masked { 0x820 } else { 0x850 };
        let addr = INTC + base + 0x10 * s.mask_register as u32 + 4 * self.core as u32;
        self.regs.write32(addr, 1 << s.mask_bit);
    }

    /// Program this core's timer channel and mailbox ICI at `level` and
    /// start the channel, once, at boot: from then on it runs for ever and
    /// is armed by writing TCNT and TCR only. TSTR holds the start bits of
    /// three channels, and a unit's other channels may be another core's
    /// timer or a guest's device (TMU4/TMU5 share TMU1 with core 3's
    /// timer): a read-modify-write of it at every entry could undo a
    /// concurrent one on another core.
    pub fn init_interrupts(&mut self, level: u8) {
        if let Some(s) = source(timer_intevt(self.core) as u16) {
            self.set_priority(s, level);
            self.set_masked(s, false);
        }
        // CnICIPRI: messages 0 (mail) and 2 (IPIs), bits 3:0 and 11:8
        // (write-1-to-set).
        self.regs.write32(INTC + 0x090 + 4 * self.core as u32, ici_priorities(level));
        let regs = self.timer_registers();
        self.regs.write16(regs + 8, 0); // TCR: no interrupt, UNF clear, Pφ/4
        self.regs.write32(regs, u32::MAX); // TCOR: no reload worth having
        self.regs.write32(regs + 4, u32::MAX); // TCNT
        let (unit, ch) = self.timer_channel();
        let tstr = self.regs.read8(unit + 0x04);
        self.regs.write8(unit + 0x04, tstr | (1 << ch));
    }

    /// A guest-owned source: its priority (machine-wide), masked here.
    pub fn init_device(&mut self, intevt: u32, level: u8) {
        if let Some(s) = source(intevt as u16) {
            self.set_priority(s, level);
            self.set_masked(s, true);
        }
    }

    pub fn enable_device(&mut self, intevt: u32, enabled: bool) {
        if let Some(s) = source(intevt as u16) {
            self.set_masked(s, !enabled);
        }
    }

    /// Raise the mailbox ICI (message 0) on `target`.
    pub fn send_ici(&mut self, target: usize) {
        self.regs.write32(ici_request_register(target), 1);
    }

    /// Raise the IPI ICI (message 2) on `target`: this core's bit of the
    /// message's field in CnINTICI (bits 11:8, any of which raises it).
    pub fn send_ipi_ici(&mut self, target: usize) {
        self.regs.write32(ici_request_register(target), ipi_ici_request(self.core));
    }

    /// Acknowledge this core's IPI ICI: the senders' bits it finds in
    /// CnINTICI are cleared (only those: a request made meanwhile stays)
    /// and returned, bit `c` for core `c`.
    pub fn take_ipi_ici(&mut self) -> u8 {
        let requests = self.regs.read32(INTC + 0x070 + 4 * self.core as u32) & 0xf00;
        if requests != 0 {
            self.regs.write32(INTC + 0x080 + 4 * self.core as u32, requests);
        }
        (requests >> 8) as u8
    }

    /// This core's mailbox ICI (message 0) at `mail` and its IPI ICI
    /// (message 2) at `ipi`, 0 = never taken: CnICIPRICLR clears the
    /// fields, CnICIPRI sets the new ones.
    pub fn set_ici_levels(&mut self, mail: u8, ipi: u8) {
        self.regs.write32(INTC + 0x0a0 + 4 * self.core as u32, ici_priorities(0xf));
        if mail != 0 || ipi != 0 {
            self.regs.write32(INTC + 0x090 + 4 * self.core as u32, ici_priorities_of(mail, ipi));
        }
    }

    /// This core's doorbell (ICI message 1 to itself) at `level`, or
    /// withdrawn (0): the request and its priority field (CnICIPRI bits
    /// 7:4) cleared, then set again.
    pub fn set_doorbell(&mut self, level: u8) {
        let core = 4 * self.core as u32;
        self.regs.write32(INTC + 0x080 + core, 1 << 4);
        self.regs.write32(INTC + 0x0a0 + core, 0xf0);
        if level != 0 {
            self.regs.write32(INTC + 0x090 + core, (level as u32 & 0xf) << 4);
            self.regs.write32(INTC + 0x070 + core, 1 << 4);
        }
    }

    /// Invalidate this core's TLB: MMUCR.TI (reads as 0; the other bits
    /// are written back as they are).
    pub fn flush_tlb(&mut self) {
        let mmucr = self.regs.read32(MMUCR);
        self.regs.write32(MMUCR, mmucr | MMUCR_TI);
    }

    /// Acknowledge this core's mailbox ICI.
    pub fn clear_ici(&mut self) {
        self.regs.write32(INTC + 0x080 + 4 * self.core as u32, 1);
    }

    /// Make the timer interrupt at `deadline` (cycles; `now` is the
    /// current cycle), or never.
    pub fn arm_timer(&mut self, now: u64, deadline: Option<u64>) {
        let regs = self.timer_registers();
        // TCR: interrupt off and UNF cleared, so an old underflow cannot fire.
        self.regs.write16(regs + 8, 0);
        let Some(deadline) = deadline else { return };
        // In 32 bits (no 64-bit division on the way in): a deadline more
        // than 2^32 cycles (7 s) away is armed for 7 s, and re-armed then.
        let delta = deadline.saturating_sub(now).min(u32::MAX as u64) as u32;
        let counts = delta.div_ceil(CYCLES_PER_TMU_COUNT as u32).max(1);
        self.regs.write32(regs + 4, counts - 1); // TCNT, counting on
        // Interrupt on; writing UNF as 1 keeps an underflow that happened
        // since TCNT was written (it can only be cleared by writing 0).
        self.regs.write16(regs + 8, TCR_UNIE | TCR_UNF);
    }

    /// Acknowledge the timer interrupt.
    pub fn clear_timer(&mut self) {
        let regs = self.timer_registers();
        self.regs.write16(regs + 8, 0);
    }

    /// The core's cycle counter (SIMCTL's, standing in for a board's
    /// global timer): the high word, then the low word. A carry between
    /// the two reads can only have happened if the low word is small (the
    /// reads are a few cycles apart), and then the high word is read again.
    pub fn cycles(&mut self) -> u64 {
        let mut hi = self.regs.read32(SIMCTL_P2 + 8);
        let lo = self.regs.read32(SIMCTL_P2 + 4);
        if lo < 0x1_0000 {
            hi = self.regs.read32(SIMCTL_P2 + 8);
        }
        (hi as u64) << 32 | lo as u64
    }

    /// Start core `target` at `entry` as Linux's `shx3_start_cpu` does:
    /// the reset vector, STBCR.MSTP until it reads back set, then
    /// STBCR.RESET | LTSLP.
    pub fn start_core(&mut self, target: usize, entry: u32) {
        let base = RESET | (target as u32) << 12;
        self.regs.write32(base + 8, entry);
        self.regs.write32(base + 4, 1);
        for _ in 0..1000 {
            if self.regs.read32(base + 4) & 1 != 0 {
                break;
            }
        }
        self.regs.write32(base + 4, 0x8000_0002);
    }

    /// Write `bytes` to the SCIF0 console, waiting for room in its FIFO
    /// (a bounded wait: a console that never drains loses the rest).
    pub fn console_write(&mut self, bytes: &[u8]) {
        const SCFSR: u32 = SCIF0 + 0x10;
        const SCFTDR: u32 = SCIF0 + 0x0c;
        const TDFE: u16 = 1 << 5;
        const TEND: u16 = 1 << 6;
        for &b in bytes {
            let mut spins = 0;
            while self.regs.read16(SCFSR) & TDFE == 0 && spins < 100_000 {
                spins += 1;
            }
            self.regs.write8(SCFTDR, b);
            let status = self.regs.read16(SCFSR);
            self.regs.write16(SCFSR, status & !(TDFE | TEND));
        }
    }
}

/// CnICIPRI's fields for the mailbox ICI (message 0, bits 3:0) and the
/// IPI ICI (message 2, bits 11:8), both at `level`. Message 1's field is
/// the doorbell's and stays as it is.
pub const fn ici_priorities(level: u8) -> u32 {
    ici_priorities_of(level, level)
}

/// CnICIPRI's fields for the mailbox ICI at `mail` and the IPI ICI at `ipi`.
pub const fn ici_priorities_of(mail: u8, ipi: u8) -> u32 {
    (mail as u32 & 0xf) | (ipi as u32 & 0xf) << 8
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn source_fields_follow_the_memory_map() {
        let tmu4 = source(0x480).unwrap();
        assert_eq!((tmu4.pri_register, tmu4.pri_shift, tmu4.mask_register, tmu4.mask_bit), (0, 16, 0, 5));
        let scif1_txi = source(0x7e0).unwrap();
        assert_eq!((scif1_txi.pri_register, scif1_txi.pri_shift, scif1_txi.mask_register, scif1_txi.mask_bit), (1, 4, 2, 7));
        assert_eq!(source(0x4c0), None);
        assert_eq!(source(0xf00), None);
        assert_eq!(timer_intevt(3), 0x460);
    }
}

