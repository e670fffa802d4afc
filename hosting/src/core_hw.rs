//! The hardware-access trait of `spumone-percore`, implemented on one
//! simulated core: what the instance's SH-4A entry stub and its MMIO
//! helpers would do on the board.
//!
//! Owns: the translation between a hypervisor request and the core's
//! registers or the devices' registers. Register state moves exactly as
//! the stub's `stc`/`ldc`/`mov.l` sequences would move it; devices are
//! programmed through their real register addresses on the bus, so their
//! models see the same accesses a board would. Must not touch: any other
//! core, or the instance's decisions.

use rp1_sim::bus::{Rp1Bus, CSM_BASE};
use rp1_sim::cpu::{Bus, Cpu};
use rp1_sim::devices::intc::{self, MaskBit, PriorityField, Source};
use rp1_sim::devices::{tmu, Size};
use spumone_kernel::vcpu::VcpuContext;
use spumone_percore::hw::{CoreHardware, Entry, TraceEvent};
use spumone_percore::rp1::{ici_priorities, Registers, Rp1};

/// The hypervisor's vector base: the start of each core's ILRAM, where the
/// board image keeps the entry stubs.
pub const HOST_VBR: u32 = rp1_sim::bus::ILRAM_BASE;
/// SIMCTL's EXIT register (physical): ends the run with the value written.
pub const SIMCTL_EXIT: u32 = rp1_sim::devices::simctl::BASE;
/// Offset of the mailbox region in the CSM.
pub const MAILBOX_BASE: u32 = CSM_BASE;

/// SR bits the stub touches.
const SR_MD: u32 = 1 << 30;
const SR_RB: u32 = 1 << 29;
const SR_BL: u32 = 1 << 28;
const SR_IMASK_SHIFT: u32 = 4;
const SR_IMASK: u32 = 0xf << SR_IMASK_SHIFT;
const FPSCR_FR: u32 = 1 << 21;

/// CPU cycles per count of a TMU channel at Pφ/4 (600 MHz / 12.5 MHz).
const CYCLES_PER_TMU_COUNT: u64 = 48;

/// Where events and console output the instance reports go.
pub trait Sink {
    fn console(&mut self, core: usize, guest: u8, bytes: &[u8]);
    fn trace(&mut self, core: usize, cycle: u64, event: TraceEvent);
}

/// One core and the bus, lent to its instance for one entry.
pub struct SimCore<'a, S: Sink> {
    pub core: usize,
    pub cpu: &'a mut Cpu,
    pub bus: &'a mut Rp1Bus,
    pub sink: &'a mut S,
}

/// The registers as the board image reaches them: the ICI and doorbell
/// sequences below are `percore::rp1`'s own, run on this core's bus, not
/// a second copy of them.
impl<S: Sink> Registers for SimCore<'_, S> {
    fn read32(&mut self, addr: u32) -> u32 {
        self.mmio_read(addr, Size::Long)
    }
    fn write32(&mut self, addr: u32, value: u32) {
        self.mmio_write(addr, Size::Long, value)
    }
    fn read16(&mut self, addr: u32) -> u16 {
        self.mmio_read(addr, Size::Word) as u16
    }
    fn write16(&mut self, addr: u32, value: u16) {
        self.mmio_write(addr, Size::Word, value as u32)
    }
    fn read8(&mut self, addr: u32) -> u8 {
        self.mmio_read(addr, Size::Byte) as u8
    }
    fn write8(&mut self, addr: u32, value: u8) {
        self.mmio_write(addr, Size::Byte, value as u32)
    }
}

impl<S: Sink> SimCore<'_, S> {
    fn rp1(&mut self) -> Rp1<'_, Self> {
        let core = self.core;
        Rp1 { regs: self, core }
    }

    fn mmio_write(&mut self, addr: u32, size: Size, value: u32) {
        // The addresses are the machine's own registers: a fault here is a
        // bug in this file, not something a guest can cause.
        self.bus.write(self.core, &mut self.cpu.cycles, addr, size, value).expect("hypervisor MMIO write");
    }

    fn mmio_read(&mut self, addr: u32, size: Size) -> u32 {
        self.bus.read(self.core, &mut self.cpu.cycles, addr, size).expect("hypervisor MMIO read")
    }

    /// This core's TMU channel: (unit base, channel in the unit).
    fn timer_channel(&self) -> (u32, u32) {
        let unit = if self.core < 3 { tmu::TMU0_BASE } else { tmu::TMU1_BASE };
        (unit, (self.core % 3) as u32)
    }

    /// This core's channel registers: TCOR (+0), TCNT (+4), TCR (+8).
    fn timer_registers(&self) -> u32 {
        let (unit, ch) = self.timer_channel();
        unit + 0x08 + 12 * ch
    }

    /// Start this core's channel counting, once, at boot: from then on it
    /// runs for ever and is armed by writing TCNT and TCR only. TSTR holds
    /// the start bits of three channels, and a unit's other channels may be
    /// another core's timer or a guest's device (TMU4/TMU5 share TMU1 with
    /// core 3's timer): a read-modify-write of it at every entry could
    /// undo a concurrent one on another core.
    fn start_timer(&mut self) {
        let regs = self.timer_registers();
        self.mmio_write(regs + 8, Size::Word, 0); // TCR: no interrupt, UNF clear, Pφ/4
        self.mmio_write(regs, Size::Long, u32::MAX); // TCOR: no reload worth having
        self.mmio_write(regs + 4, Size::Long, u32::MAX); // TCNT
        let (unit, ch) = self.timer_channel();
        let tstr = self.mmio_read(unit + 0x04, Size::Byte);
        self.mmio_write(unit + 0x04, Size::Byte, tstr | (1 << ch));
    }

    /// Priority `level` for `source` in its INT2PRI field (machine-wide).
    fn set_priority(&mut self, source: Source, level: u8) {
        if let PriorityField::Int2Pri { register, shift } = source.priority_field() {
            let addr = intc::BASE + 0x800 + 4 * register as u32;
            let old = self.mmio_read(addr, Size::Long);
            let value = (old & !(0xf << shift)) | ((level as u32 & 0xf) << shift);
            self.mmio_write(addr, Size::Long, value);
        }
    }

    /// Mask or unmask `source` for this core only: CnINT2MSK<register>
    /// (write 1 to mask) or CnINT2MSKCLR<register> (write 1 to unmask).
    fn set_masked(&mut self, source: Source, masked: bool) {
        if let MaskBit::Int2Msk { register, bit } = source.mask_bit() {
            let base = if masked { 0x820 } else { 0x850 };
            let addr = intc::BASE + base + 0x10 * register as u32 + 4 * self.core as u32;
            self.mmio_write(addr, Size::Long, 1 << bit);
        }
    }
}

/// The on-chip source a destination-table row names by its INTEVT: only
/// sources with a per-core mask bit can follow a vCPU (not IRL or IRQ
/// pins, not HUDI or IRM).
pub fn device_source(intevt: u32) -> Option<Source> {
    Source::ALL
        .into_iter()
        .find(|s| s.intevt() as u32 == intevt && matches!(s.mask_bit(), MaskBit::Int2Msk { .. }))
}

impl<S: Sink> CoreHardware for SimCore<'_, S> {
    fn core_id(&self) -> usize {
        self.core
    }

    fn now(&self) -> u64 {
        self.cpu.cycles
    }

    fn charge(&mut self, cycles: u64) {
        self.cpu.cycles += cycles;
    }

    fn entry(&self) -> Entry {
        if self.cpu.pc == HOST_VBR + 0x600 {
            Entry::Interrupt { intevt: self.cpu.intevt }
        } else {
            Entry::Exception { expevt: self.cpu.expevt, tra: self.cpu.tra, tea: self.cpu.mmu.tea }
        }
    }

    fn entry_sr(&self) -> u32 {
        self.cpu.ssr
    }

    fn save_context(&self, ctx: &mut VcpuContext) {
        let cpu = &*self.cpu;
        let (current, other) = (&cpu.r[..8], &cpu.r_bank[..]);
        if cpu.sr() & SR_RB != 0 {
            ctx.bank1.copy_from_slice(current);
            ctx.bank0.copy_from_slice(other);
        } else {
            ctx.bank0.copy_from_slice(current);
            ctx.bank1.copy_from_slice(other);
        }
        ctx.r8_15.copy_from_slice(&cpu.r[8..]);
        ctx.pc = cpu.spc;
        ctx.sr = cpu.ssr;
        ctx.gbr = cpu.gbr;
        ctx.ssr = cpu.ssr;
        ctx.spc = cpu.spc;
        ctx.sgr = cpu.sgr;
        ctx.dbr = cpu.dbr;
        ctx.mach = cpu.mach;
        ctx.macl = cpu.macl;
        ctx.pr = cpu.pr;
        ctx.fpscr = cpu.fpscr();
        ctx.fpul = cpu.fpul;
        let (front, back) = cpu.fr.split_at(16);
        if ctx.fpscr & FPSCR_FR == 0 {
            ctx.fpr_bank0.copy_from_slice(front);
            ctx.fpr_bank1.copy_from_slice(back);
        } else {
            ctx.fpr_bank1.copy_from_slice(front);
            ctx.fpr_bank0.copy_from_slice(back);
        }
        ctx.expevt = cpu.expevt;
        ctx.intevt = cpu.intevt;
        ctx.tra = cpu.tra;
        ctx.pteh = cpu.mmu.pteh;
        ctx.ptel = cpu.mmu.ptel;
        ctx.ttb = cpu.mmu.ttb;
        ctx.mmucr = cpu.mmu.mmucr();
        ctx.tea = cpu.mmu.tea;
    }

    fn resume(&mut self, ctx: &VcpuContext, physical_imask: u8) {
        let cpu = &mut *self.cpu;
        cpu.set_fpscr(ctx.fpscr);
        let (front, back) = cpu.fr.split_at_mut(16);
        if ctx.fpscr & FPSCR_FR == 0 {
            front.copy_from_slice(&ctx.fpr_bank0);
            back.copy_from_slice(&ctx.fpr_bank1);
        } else {
            front.copy_from_slice(&ctx.fpr_bank1);
            back.copy_from_slice(&ctx.fpr_bank0);
        }
        let sr = (ctx.sr & !SR_IMASK) | ((physical_imask as u32 & 0xf) << SR_IMASK_SHIFT);
        cpu.set_sr(sr);
        let (current, other) = if sr & SR_RB != 0 { (&ctx.bank1, &ctx.bank0) } else { (&ctx.bank0, &ctx.bank1) };
        cpu.r[..8].copy_from_slice(current);
        cpu.r_bank.copy_from_slice(other);
        cpu.r[8..].copy_from_slice(&ctx.r8_15);
        cpu.gbr = ctx.gbr;
        cpu.ssr = ctx.ssr;
        cpu.spc = ctx.spc;
        cpu.sgr = ctx.sgr;
        cpu.dbr = ctx.dbr;
        cpu.mach = ctx.mach;
        cpu.macl = ctx.macl;
        cpu.pr = ctx.pr;
        cpu.fpul = ctx.fpul;
        cpu.expevt = ctx.expevt;
        cpu.intevt = ctx.intevt;
        cpu.tra = ctx.tra;
        cpu.mmu.pteh = ctx.pteh;
        cpu.mmu.ptel = ctx.ptel;
        cpu.mmu.ttb = ctx.ttb;
        if cpu.mmu.mmucr() != ctx.mmucr {
            // Translation on or off: what the fetch and data windows
            // cached no longer holds.
            cpu.mmu.set_mmucr(ctx.mmucr);
            cpu.invalidate_windows();
        }
        cpu.mmu.tea = ctx.tea;
        cpu.pc = ctx.pc;
        cpu.sleeping = false;
    }

    fn idle(&mut self) {
        let cpu = &mut *self.cpu;
        // SLEEP in the stub, every level open: the next interrupt enters
        // the hypervisor again.
        cpu.set_sr(SR_MD | SR_RB | SR_BL);
        cpu.pc = HOST_VBR + 0x800;
        cpu.sleeping = true;
        cpu.stats.sleeps += 1;
    }

    fn read_guest(&mut self, phys: u32, buf: &mut [u8]) {
        for (i, b) in buf.iter_mut().enumerate() {
            *b = self.bus.peek(self.core, phys + i as u32).unwrap_or(0);
        }
    }

    fn shared_read(&mut self, offset: u32) -> u32 {
        self.mmio_read(MAILBOX_BASE + offset, Size::Long)
    }

    fn shared_write(&mut self, offset: u32, value: u32) {
        self.mmio_write(MAILBOX_BASE + offset, Size::Long, value);
    }

    fn shared_compare_exchange(&mut self, offset: u32, expected: u32, new: u32) -> u32 {
        // Hosted instances run one at a time, between the simulated cores'
        // instructions: nothing can come between the read and the write.
        let found = self.shared_read(offset);
        if found == expected {
            self.shared_write(offset, new);
        }
        found
    }

    fn init_interrupts(&mut self, level: u8) {
        let source = Source::tmu(self.core);
        self.set_priority(source, level);
        self.set_masked(source, false);
        // CnICIPRI: messages 0 (mail) and 2 (IPIs) (write-1-to-set).
        let icipri = intc::BASE + 0x090 + 4 * self.core as u32;
        self.mmio_write(icipri, Size::Long, ici_priorities(level));
        self.start_timer();
    }

    fn init_device_interrupt(&mut self, intevt: u32, level: u8) {
        if let Some(source) = device_source(intevt) {
            self.set_priority(source, level);
            self.set_masked(source, true);
        }
    }

    fn enable_device_interrupt(&mut self, intevt: u32, enabled: bool) {
        if let Some(source) = device_source(intevt) {
            self.set_masked(source, !enabled);
        }
    }

    fn send_ici(&mut self, target: usize) {
        self.rp1().send_ici(target);
    }

    fn clear_ici(&mut self) {
        self.rp1().clear_ici();
    }

    fn send_ipi_ici(&mut self, target: usize) {
        self.rp1().send_ipi_ici(target);
    }

    fn take_ipi_ici(&mut self) -> u8 {
        self.rp1().take_ipi_ici()
    }

    fn set_ici_levels(&mut self, mail: u8, ipi: u8) {
        self.rp1().set_ici_levels(mail, ipi);
    }

    fn set_doorbell(&mut self, level: u8) {
        self.rp1().set_doorbell(level);
    }

    fn set_direct_exceptions(&mut self, _vbr: u32) {}

    fn set_quick_calls(&mut self, _quick: Option<spumone_percore::instance::QuickCalls>) {}

    fn flush_tlb(&mut self) {
        let mmucr = self.cpu.mmu.mmucr();
        self.cpu.mmu.set_mmucr(mmucr | rp1_sim::cpu::mmu::mmucr::TI);
    }

    fn arm_timer(&mut self, deadline: Option<u64>) {
        let regs = self.timer_registers();
        // TCR: interrupt off and UNF cleared, so an old underflow cannot fire.
        self.mmio_write(regs + 8, Size::Word, 0);
        let Some(deadline) = deadline else { return };
        let counts = deadline.saturating_sub(self.cpu.cycles).div_ceil(CYCLES_PER_TMU_COUNT).clamp(1, u32::MAX as u64);
        self.mmio_write(regs + 4, Size::Long, (counts - 1) as u32); // TCNT, counting on
        // Interrupt on; writing UNF as 1 keeps an underflow that happened
        // since TCNT was written (it can only be cleared by writing 0).
        self.mmio_write(regs + 8, Size::Word, (tmu::TCR_UNIE | tmu::TCR_UNF) as u32);
    }

    fn clear_timer(&mut self) {
        let regs = self.timer_registers();
        self.mmio_write(regs + 8, Size::Word, 0);
    }

    fn power_off(&mut self, status: u32) {
        // The simulator's power switch (SIMCTL EXIT), as the board image's.
        self.mmio_write(crate::core_hw::SIMCTL_EXIT, Size::Long, status);
    }

    fn console(&mut self, guest: u8, bytes: &[u8]) {
        self.sink.console(self.core, guest, bytes);
    }

    fn trace(&mut self, event: TraceEvent) {
        let cycle = self.cpu.cycles;
        self.sink.trace(self.core, cycle, event);
    }
}
