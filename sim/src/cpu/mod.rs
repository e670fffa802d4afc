//! The SH-4A CPU core: architectural state, the fetch/decode/execute loop,
//! exception and interrupt entry, and the memory path (alignment, address
//! spaces, MMU, CPU-internal P4 registers, then the bus).
//!
//! Owns: everything one core's software can see of the core itself.
//! Must not touch: devices or other cores. It reaches the rest of the
//! machine only through the [`Bus`] trait, with physical addresses (or P4
//! addresses for on-chip peripherals), and learns of interrupts only through
//! [`Cpu::accept_interrupt`], called by the machine.
//!
//! Instruction semantics live in `ops/`, one file per group, each registering
//! its encodings in the one opcode table (`decode.rs`) built once per machine.

pub mod decode;
pub mod exception;
pub mod mmu;
pub mod ops;
pub mod p4;
#[cfg(test)]
mod tests;

pub use decode::OpTable;
pub use exception::{Entry, Exception};

use crate::devices::Size;
use mmu::Mmu;

/// SR bit positions.
pub mod sr {
    pub const T: u32 = 1 << 0;
    pub const S: u32 = 1 << 1;
    pub const IMASK_SHIFT: u32 = 4;
    pub const IMASK: u32 = 0xF << IMASK_SHIFT;
    pub const Q: u32 = 1 << 8;
    pub const M: u32 = 1 << 9;
    pub const FD: u32 = 1 << 15;
    pub const BL: u32 = 1 << 28;
    pub const RB: u32 = 1 << 29;
    pub const MD: u32 = 1 << 30;
    /// Bits that exist in SR; the rest read as 0 and ignore writes.
    pub const WRITABLE: u32 = MD | RB | BL | FD | M | Q | IMASK | S | T;
    /// The SR value after a reset.
    pub const RESET: u32 = MD | RB | BL | IMASK;
}

/// FPSCR bit positions.
pub mod fpscr {
    pub const RM: u32 = 0b11;
    pub const FLAGS_SHIFT: u32 = 2;
    pub const ENABLE_SHIFT: u32 = 7;
    pub const CAUSE_SHIFT: u32 = 12;
    pub const DN: u32 = 1 << 18;
    pub const PR: u32 = 1 << 19;
    pub const SZ: u32 = 1 << 20;
    pub const FR: u32 = 1 << 21;
    pub const WRITABLE: u32 = 0x003F_FFFF;
    pub const RESET: u32 = 0x0004_0001;
}

/// Why a bus access failed: nothing answers at that physical address, or
/// the device there refused the access. The CPU raises an address error;
/// the machine records the fault for the report.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct BusError;

/// What the CPU needs from the machine around it. Addresses are physical
/// (29-bit) for P0-P3 accesses, or the full P4 address (0xE0000000 and up)
/// for on-chip peripherals the CPU itself does not implement.
///
/// `now` is the accessing core's cycle counter: a device reads the time from
/// it, and the bus adds the access latency of the region to it.
pub trait Bus {
    fn read(&mut self, core: usize, now: &mut u64, addr: u32, size: Size) -> Result<u32, BusError>;
    fn write(&mut self, core: usize, now: &mut u64, addr: u32, size: Size, value: u32) -> Result<(), BusError>;
    /// Fetch one instruction word (physical address, 2-aligned).
    fn fetch(&mut self, core: usize, addr: u32) -> Result<u16, BusError>;
    /// MOVLI.L: start a reservation of `addr` for `core`.
    fn reserve(&mut self, core: usize, addr: u32);
    /// MOVCO.L: whether `core` still holds its reservation; clears it.
    fn take_reservation(&mut self, core: usize) -> bool;
    /// Drop `core`'s reservation (exception or interrupt entry).
    fn clear_reservation(&mut self, core: usize);
}

/// Counters kept per core for the report.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct CoreStats {
    pub instructions: u64,
    pub exceptions: u64,
    pub interrupts: u64,
    pub tlb_misses: u64,
    pub sleeps: u64,
}

/// Why `Cpu::run` returned before its cycle limit.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Stop {
    /// Reached the cycle limit.
    Limit,
    /// The machine must look at interrupts or devices now (SR changed, an
    /// MMIO write happened, an exception returned).
    Yield,
    /// SLEEP executed: the core waits for an interrupt.
    Sleep,
    /// A breakpoint address was reached (debugger).
    Breakpoint,
}

/// One SH-4A core.
#[derive(Clone)]
pub struct Cpu {
    /// Physical core id (CPIDR).
    pub id: usize,
    /// R0-R15 as the current bank shows them.
    pub r: [u32; 16],
    /// The R0-R7 bank not currently selected (Rn_BANK in LDC/STC).
    pub r_bank: [u32; 8],
    sr: u32,
    pub gbr: u32,
    pub vbr: u32,
    pub ssr: u32,
    pub spc: u32,
    pub sgr: u32,
    pub dbr: u32,
    pub mach: u32,
    pub macl: u32,
    pub pr: u32,
    pub pc: u32,
    fpscr: u32,
    pub fpul: u32,
    /// FR0-FR15 of the bank FPSCR.FR selects, then the other bank (XF0-XF15).
    pub fr: [u32; 32],
    /// EXPEVT/INTEVT/TRA (memory-mapped at 0xFF000024/28/20).
    pub expevt: u32,
    pub intevt: u32,
    pub tra: u32,
    pub mmu: Mmu,
    pub p4: p4::P4Regs,
    /// Simulated time of this core in CPU cycles.
    pub cycles: u64,
    pub stats: CoreStats,
    /// Set by an instruction that needs the machine to re-examine interrupts
    /// or devices before the next instruction.
    pub yield_now: bool,
    /// SLEEP executed and no interrupt has woken the core yet.
    pub sleeping: bool,
    /// Held in reset (a secondary core not yet started).
    pub halted: bool,
    /// The next instruction is the delay slot of the branch at `branch_pc`,
    /// after which execution continues at `branch_target`.
    pub slot_pending: bool,
    pub branch_pc: u32,
    pub branch_target: u32,
    /// The instruction executing now is in a delay slot.
    pub in_delay_slot: bool,
    /// Set when an exception struck while SR.BL was set (a multiple
    /// exception): the silicon resets the core, which only recovers if
    /// software expects it. The machine stops with a clear report instead of
    /// looping through resets.
    pub double_fault: Option<DoubleFault>,
    /// Debugger breakpoints (physical fetch not needed: virtual PC match).
    pub breakpoints: Vec<u32>,
    /// The breakpoint address `run` last stopped at: the next `run` that
    /// starts there executes that instruction instead of stopping again.
    /// Cleared by the next `run` (and by the debugger when it steps).
    pub break_resume: Option<u32>,
    /// Instruction/exception trace, collected only when enabled (`Some`);
    /// the machine drains it after every time slice.
    pub trace: Option<Vec<TraceEvent>>,
}

/// An exception taken while exceptions were blocked (SR.BL = 1), or a TLB
/// multiple hit: both reset the core.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct DoubleFault {
    /// PC of the instruction that faulted.
    pub pc: u32,
    pub exception: Exception,
}

/// What the trace option records.
#[derive(Clone, Copy, Debug)]
pub enum TraceEvent {
    Instruction { core: usize, cycle: u64, pc: u32, opcode: u16 },
    Exception { core: usize, cycle: u64, pc: u32, expevt: u32 },
    Interrupt { core: usize, cycle: u64, pc: u32, intevt: u32, level: u8 },
}

impl std::fmt::Debug for Cpu {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Cpu")
            .field("id", &self.id)
            .field("pc", &format_args!("{:#010x}", self.pc))
            .field("sr", &format_args!("{:#010x}", self.sr))
            .field("r", &self.r)
            .finish_non_exhaustive()
    }
}

impl Cpu {
    /// A core in its power-on reset state, starting at 0xA0000000.
    pub fn new(id: usize) -> Cpu {
        let mut cpu = Cpu {
            id,
            r: [0; 16],
            r_bank: [0; 8],
            sr: sr::RESET,
            gbr: 0,
            vbr: 0,
            ssr: 0,
            spc: 0,
            sgr: 0,
            dbr: 0,
            mach: 0,
            macl: 0,
            pr: 0,
            pc: 0xA000_0000,
            fpscr: fpscr::RESET,
            fpul: 0,
            fr: [0; 32],
            expevt: 0,
            intevt: 0,
            tra: 0,
            mmu: Mmu::new(),
            p4: p4::P4Regs::new(),
            cycles: 0,
            stats: CoreStats::default(),
            yield_now: false,
            sleeping: false,
            halted: false,
            slot_pending: false,
            branch_pc: 0,
            branch_target: 0,
            in_delay_slot: false,
            double_fault: None,
            breakpoints: Vec::new(),
            break_resume: None,
            trace: None,
        };
        cpu.reset(0xA000_0000);
        cpu
    }

    /// Reset the core (power-on or manual), starting execution at `pc`.
    /// Keeps the cycle counter and statistics.
    pub fn reset(&mut self, pc: u32) {
        self.sr = sr::RESET;
        self.vbr = 0;
        self.fpscr = fpscr::RESET;
        self.pc = pc;
        self.mmu.reset();
        self.p4.reset();
        self.expevt = 0;
        self.sleeping = false;
        self.slot_pending = false;
        self.in_delay_slot = false;
        self.yield_now = true;
    }

    /// Advance past a 16-bit instruction.
    #[inline(always)]
    pub fn next(&mut self) {
        self.pc = self.pc.wrapping_add(2);
    }

    // ----- status register and register banks -----

    #[inline(always)]
    pub fn sr(&self) -> u32 {
        self.sr
    }

    /// Write SR, switching register banks if the effective bank changes and
    /// asking the machine to re-examine interrupts.
    pub fn set_sr(&mut self, value: u32) {
        let old_bank = Self::bank_of(self.sr);
        let new = value & sr::WRITABLE;
        if Self::bank_of(new) != old_bank {
            for i in 0..8 {
                std::mem::swap(&mut self.r[i], &mut self.r_bank[i]);
            }
        }
        self.sr = new;
        self.yield_now = true;
    }

    /// Bank 1 is in use only in privileged mode with RB set.
    #[inline(always)]
    fn bank_of(sr: u32) -> bool {
        sr & (sr::MD | sr::RB) == (sr::MD | sr::RB)
    }

    #[inline(always)]
    pub fn t(&self) -> bool {
        self.sr & sr::T != 0
    }

    #[inline(always)]
    pub fn set_t(&mut self, t: bool) {
        self.sr = (self.sr & !sr::T) | t as u32;
    }

    #[inline(always)]
    pub fn privileged(&self) -> bool {
        self.sr & sr::MD != 0
    }

    /// Set or clear the Q, M or S bit without touching the banks.
    #[inline(always)]
    pub fn set_sr_bit(&mut self, bit: u32, on: bool) {
        if on {
            self.sr |= bit;
        } else {
            self.sr &= !bit;
        }
    }

    pub fn imask(&self) -> u8 {
        ((self.sr & sr::IMASK) >> sr::IMASK_SHIFT) as u8
    }

    #[inline(always)]
    pub fn fpscr(&self) -> u32 {
        self.fpscr
    }

    /// Write FPSCR, swapping the FR banks if FPSCR.FR changes.
    pub fn set_fpscr(&mut self, value: u32) {
        let value = value & fpscr::WRITABLE;
        if (value ^ self.fpscr) & fpscr::FR != 0 {
            let (front, back) = self.fr.split_at_mut(16);
            front.swap_with_slice(back);
        }
        self.fpscr = value;
    }

    /// Raise FpuDisabled unless SR.FD is clear.
    #[inline(always)]
    pub fn check_fpu(&self) -> Result<(), Exception> {
        if self.sr & sr::FD != 0 {
            Err(Exception::FpuDisabled)
        } else {
            Ok(())
        }
    }

    /// Raise IllegalInstruction unless in privileged mode.
    #[inline(always)]
    pub fn check_privileged(&self) -> Result<(), Exception> {
        if self.privileged() {
            Ok(())
        } else {
            Err(Exception::IllegalInstruction)
        }
    }

    // ----- exceptions and interrupts -----

    /// Architectural entry to an exception handler. `pc` is the PC of the
    /// faulting instruction (of the branch, for one in a delay slot); TRAPA
    /// passes the address after itself.
    pub fn enter_exception<B: Bus>(&mut self, bus: &mut B, e: Exception) {
        self.stats.exceptions += 1;
        bus.clear_reservation(self.id);
        if let Some(addr) = e.address() {
            self.mmu.tea = addr;
            if e.sets_pteh() {
                self.mmu.pteh = (addr & 0xFFFF_FC00) | (self.mmu.pteh & 0xFF);
            }
        }
        if matches!(e, Exception::ItlbMiss(_) | Exception::TlbMissRead(_) | Exception::TlbMissWrite(_)) {
            self.stats.tlb_misses += 1;
        }
        if let Exception::Trap(imm) = e {
            self.tra = (imm as u32) << 2;
        }
        let pc = self.pc;
        if let Some(t) = self.trace.as_mut() {
            t.push(TraceEvent::Exception { core: self.id, cycle: self.cycles, pc, expevt: e.code() });
        }
        // An exception while BL is set is a multiple exception: a manual reset.
        if self.sr & sr::BL != 0 || e.entry() == Entry::Reset {
            let code = if self.sr & sr::BL != 0 { 0x020 } else { e.code() };
            self.double_fault.get_or_insert(DoubleFault { pc, exception: e });
            self.reset(0xA000_0000);
            self.expevt = code;
            return;
        }
        self.expevt = e.code();
        let spc = match e {
            Exception::Trap(_) => pc.wrapping_add(2),
            _ => pc,
        };
        self.enter_handler(spc);
        let offset = match e.entry() {
            Entry::Vector(off) => off,
            Entry::Reset => unreachable!("handled above"),
        };
        self.pc = self.vbr.wrapping_add(offset);
    }

    /// The part of exception and interrupt entry they share.
    fn enter_handler(&mut self, spc: u32) {
        self.spc = spc;
        self.ssr = self.sr;
        self.sgr = self.r[15];
        self.set_sr(self.sr | sr::MD | sr::RB | sr::BL);
        self.slot_pending = false;
        self.in_delay_slot = false;
    }

    /// Whether an interrupt of `level` would be accepted now. Never between
    /// a delayed branch and its slot.
    pub fn accepts_interrupt(&self, level: u8) -> bool {
        self.sr & sr::BL == 0 && level > self.imask() && !self.slot_pending
    }

    /// A delayed branch: the next instruction (the slot) executes, then
    /// execution continues at `target`.
    #[inline(always)]
    pub fn delayed_branch(&mut self, target: u32) {
        self.branch_pc = self.pc;
        self.branch_target = target;
        self.slot_pending = true;
        self.pc = self.pc.wrapping_add(2);
    }

    /// Take an interrupt if SR allows it; returns whether it was taken.
    /// Called by the machine between instructions. A sleeping core wakes.
    pub fn accept_interrupt<B: Bus>(&mut self, bus: &mut B, level: u8, intevt: u32) -> bool {
        if !self.accepts_interrupt(level) {
            return false;
        }
        self.stats.interrupts += 1;
        bus.clear_reservation(self.id);
        if let Some(t) = self.trace.as_mut() {
            t.push(TraceEvent::Interrupt { core: self.id, cycle: self.cycles, pc: self.pc, intevt, level });
        }
        self.intevt = intevt;
        self.sleeping = false;
        self.enter_handler(self.pc);
        self.pc = self.vbr.wrapping_add(0x600);
        true
    }

    // ----- the execution loop -----

    /// Execute instructions until `limit` cycles, or until something needs
    /// the machine's attention. A delayed branch and its slot are never
    /// split.
    pub fn run<B: Bus>(&mut self, bus: &mut B, table: &OpTable<B>, limit: u64) -> Stop {
        if self.halted || self.sleeping {
            return Stop::Sleep;
        }
        self.yield_now = false;
        let check_breaks = !self.breakpoints.is_empty();
        let mut resume_at = self.break_resume.take();
        while self.cycles < limit || self.slot_pending {
            if check_breaks
                && !self.slot_pending
                && resume_at != Some(self.pc)
                && self.breakpoints.contains(&self.pc)
            {
                self.break_resume = Some(self.pc);
                return Stop::Breakpoint;
            }
            resume_at = None;
            self.step(bus, table);
            if self.yield_now && !self.slot_pending {
                self.yield_now = false;
                return if self.sleeping { Stop::Sleep } else { Stop::Yield };
            }
        }
        Stop::Limit
    }

    /// Execute exactly one instruction (or take the exception it raises).
    #[inline(always)]
    pub fn step<B: Bus>(&mut self, bus: &mut B, table: &OpTable<B>) {
        let pc = self.pc;
        let slot = self.slot_pending;
        self.slot_pending = false;
        let result = match self.fetch(bus, pc) {
            Ok(op) => {
                if let Some(t) = self.trace.as_mut() {
                    t.push(TraceEvent::Instruction { core: self.id, cycle: self.cycles, pc, opcode: op });
                }
                if slot {
                    if table.slot_illegal(op) {
                        Err(Exception::SlotIllegalInstruction)
                    } else {
                        self.in_delay_slot = true;
                        let r = table.get(op)(self, bus, op);
                        self.in_delay_slot = false;
                        r.map_err(Exception::in_delay_slot)
                    }
                } else {
                    table.get(op)(self, bus, op)
                }
            }
            Err(e) => Err(e),
        };
        self.cycles += 1;
        self.stats.instructions += 1;
        match result {
            Ok(()) => {
                if slot {
                    self.pc = self.branch_target;
                }
            }
            Err(e) => {
                if slot {
                    // The branch is re-executed after the handler returns.
                    self.pc = self.branch_pc;
                }
                self.enter_exception(bus, e);
                self.yield_now = true;
            }
        }
    }

    /// Fetch the instruction word at virtual address `pc`.
    #[inline(always)]
    pub fn fetch<B: Bus>(&mut self, bus: &mut B, pc: u32) -> Result<u16, Exception> {
        if pc & 1 != 0 {
            return Err(Exception::InstructionAddressError(pc));
        }
        let phys = self.translate_fetch(pc)?;
        bus.fetch(self.id, phys).map_err(|_| Exception::InstructionAddressError(pc))
    }

    fn translate_fetch(&mut self, pc: u32) -> Result<u32, Exception> {
        match pc >> 29 {
            // P1, P2: fixed translation.
            4 | 5 if self.privileged() => Ok(pc & 0x1FFF_FFFF),
            // P0/U0 and P3: through the MMU if it is on.
            0..=3 | 6 if pc < 0x8000_0000 || self.privileged() => {
                if self.mmu.translation_on() {
                    self.mmu.translate_fetch(pc, self.privileged())
                } else {
                    Ok(pc & 0x1FFF_FFFF)
                }
            }
            // P4 is not executable; user mode cannot fetch above 0x7FFFFFFF.
            _ => Err(Exception::InstructionAddressError(pc)),
        }
    }

    // ----- the data memory path -----

    /// Translate a data address and decide who answers it.
    #[inline(always)]
    fn data_target(&mut self, vaddr: u32, write: bool) -> Result<Target, Exception> {
        let privileged = self.privileged();
        match vaddr >> 29 {
            0..=3 => {
                if self.mmu.translation_on() {
                    self.mmu.translate_data(vaddr, write, privileged).map(Target::Bus)
                } else {
                    Ok(Target::Bus(vaddr & 0x1FFF_FFFF))
                }
            }
            4 | 5 if privileged => Ok(Target::Bus(vaddr & 0x1FFF_FFFF)),
            6 if privileged => {
                if self.mmu.translation_on() {
                    self.mmu.translate_data(vaddr, write, privileged).map(Target::Bus)
                } else {
                    Ok(Target::Bus(vaddr & 0x1FFF_FFFF))
                }
            }
            7 if privileged || (vaddr < 0xE400_0000 && !self.mmu.sq_privileged_only()) => {
                Ok(Target::P4)
            }
            _ => Err(if write {
                Exception::AddressErrorWrite(vaddr)
            } else {
                Exception::AddressErrorRead(vaddr)
            }),
        }
    }

    /// Translate and check a data access without performing it (the cache
    /// block instructions).
    pub fn probe(&mut self, vaddr: u32, write: bool) -> Result<(), Exception> {
        self.data_target(vaddr, write).map(|_| ())
    }

    /// Read `size` bytes at virtual address `vaddr` (zero-extended).
    #[inline(always)]
    pub fn read<B: Bus>(&mut self, bus: &mut B, vaddr: u32, size: Size) -> Result<u32, Exception> {
        if vaddr & (size.bytes() - 1) != 0 {
            return Err(Exception::AddressErrorRead(vaddr));
        }
        self.read_unaligned_ok(bus, vaddr, size)
    }

    /// Read without the alignment check (MOVUA.L splits its access itself).
    #[inline(always)]
    fn read_unaligned_ok<B: Bus>(&mut self, bus: &mut B, vaddr: u32, size: Size) -> Result<u32, Exception> {
        match self.data_target(vaddr, false)? {
            Target::Bus(pa) => bus
                .read(self.id, &mut self.cycles, pa, size)
                .map_err(|_| Exception::AddressErrorRead(vaddr)),
            Target::P4 => p4::read(self, bus, vaddr, size),
        }
    }

    /// Write the low `size` bytes of `value` at virtual address `vaddr`.
    #[inline(always)]
    pub fn write<B: Bus>(&mut self, bus: &mut B, vaddr: u32, size: Size, value: u32) -> Result<(), Exception> {
        if vaddr & (size.bytes() - 1) != 0 {
            return Err(Exception::AddressErrorWrite(vaddr));
        }
        match self.data_target(vaddr, true)? {
            Target::Bus(pa) => bus
                .write(self.id, &mut self.cycles, pa, size, value)
                .map_err(|_| Exception::AddressErrorWrite(vaddr)),
            Target::P4 => p4::write(self, bus, vaddr, size, value),
        }
    }

    #[inline(always)]
    pub fn read8<B: Bus>(&mut self, bus: &mut B, vaddr: u32) -> Result<u32, Exception> {
        self.read(bus, vaddr, Size::Byte)
    }
    #[inline(always)]
    pub fn read16<B: Bus>(&mut self, bus: &mut B, vaddr: u32) -> Result<u32, Exception> {
        self.read(bus, vaddr, Size::Word)
    }
    #[inline(always)]
    pub fn read32<B: Bus>(&mut self, bus: &mut B, vaddr: u32) -> Result<u32, Exception> {
        self.read(bus, vaddr, Size::Long)
    }
    #[inline(always)]
    pub fn write8<B: Bus>(&mut self, bus: &mut B, vaddr: u32, v: u32) -> Result<(), Exception> {
        self.write(bus, vaddr, Size::Byte, v)
    }
    #[inline(always)]
    pub fn write16<B: Bus>(&mut self, bus: &mut B, vaddr: u32, v: u32) -> Result<(), Exception> {
        self.write(bus, vaddr, Size::Word, v)
    }
    #[inline(always)]
    pub fn write32<B: Bus>(&mut self, bus: &mut B, vaddr: u32, v: u32) -> Result<(), Exception> {
        self.write(bus, vaddr, Size::Long, v)
    }

    /// MOVUA.L: a 32-bit read at any alignment, as four byte reads.
    pub fn read32_unaligned<B: Bus>(&mut self, bus: &mut B, vaddr: u32) -> Result<u32, Exception> {
        if vaddr & 3 == 0 {
            return self.read32(bus, vaddr);
        }
        let mut v = 0u32;
        for i in 0..4 {
            let a = vaddr.wrapping_add(i);
            v |= self.read_unaligned_ok(bus, a, Size::Byte)? << (8 * i);
        }
        Ok(v)
    }

    /// The physical address a data access to `vaddr` would reach now, if
    /// any, without side effects on the MMU (for the debugger).
    pub fn debug_translate(&self, vaddr: u32) -> Option<u32> {
        match vaddr >> 29 {
            4 | 5 => Some(vaddr & 0x1FFF_FFFF),
            7 => None,
            _ if self.mmu.translation_on() => self.mmu.lookup_no_side_effects(vaddr, self.p4_asid()),
            _ => Some(vaddr & 0x1FFF_FFFF),
        }
    }

    fn p4_asid(&self) -> u8 {
        (self.mmu.pteh & 0xFF) as u8
    }
}

/// Who answers a data access.
enum Target {
    Bus(u32),
    P4,
}
