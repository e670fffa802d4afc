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

pub mod code_cache;
pub mod decode;
pub mod dispatch;
pub mod exception;
pub mod jit;
pub mod mmu;
pub mod ops;
pub mod p4;
#[cfg(test)]
pub(crate) mod test_rig;
#[cfg(test)]
mod tests;

pub use code_cache::CodeCache;
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
pub trait Bus: 'static {
    fn read(&mut self, core: usize, now: &mut u64, addr: u32, size: Size) -> Result<u32, BusError>;
    fn write(&mut self, core: usize, now: &mut u64, addr: u32, size: Size, value: u32) -> Result<(), BusError>;
    /// Fetch one instruction word (physical address, 2-aligned).
    fn fetch(&mut self, core: usize, addr: u32) -> Result<u16, BusError>;
    /// The decoded-code cache this bus keeps for its cores, if any (see
    /// `code_cache`): the running core takes it for a time slice and gives
    /// it back. Without one (the default) every fetch goes through `fetch`.
    fn take_code_cache(&mut self) -> Option<Box<CodeCache<Self>>>
    where
        Self: Sized,
    {
        None
    }
    #[allow(clippy::boxed_local)] // the cache travels boxed: it is large
    fn put_code_cache(&mut self, _cache: Box<CodeCache<Self>>)
    where
        Self: Sized,
    {
    }
    /// The `code_cache::BLOCK_BYTES` of memory at physical `phys` (aligned),
    /// for decoding, if it is memory whose stores the bus reports: from now
    /// on a store there (by anyone) shows in `code_written` and
    /// `drain_code_writes`. `None`: not cacheable. A block given out lies
    /// in `plain_ram`: the translating tier counts a load of its bytes as
    /// a read of that memory (`jit::translate::literal`).
    fn code_block(&mut self, _phys: u32) -> Option<&[u8]> {
        None
    }
    /// Whether a store has reached a block given out by `code_block` since
    /// the last `drain_code_writes`.
    #[inline(always)]
    fn code_written(&self) -> bool {
        false
    }
    /// Move the physical addresses of the blocks stored to since the last
    /// call into `out` (their marks are gone: `code_block` renews them).
    fn drain_code_writes(&mut self, _out: &mut Vec<u32>) {}
    /// The part of `read` a bus can do fast (plain memory, typically): the
    /// same value and the same effects as `read`, or `None` having done
    /// nothing, and the CPU then calls `read`. `addr` is aligned.
    #[inline(always)]
    fn read_fast(&mut self, _core: usize, _now: &mut u64, _addr: u32, _size: Size) -> Option<u32> {
        None
    }
    /// The part of `write` a bus can do fast, as for `read_fast`: returns
    /// whether it did the write (with all of `write`'s effects).
    #[inline(always)]
    fn write_fast(&mut self, _core: usize, _now: &mut u64, _addr: u32, _size: Size, _value: u32) -> bool {
        false
    }
    /// The memory whose reads `read_fast` answers, for the translating
    /// tier to read and write directly (`cpu::jit`). At physical
    /// `phys + off` with `off + size <= len` (`size` bytes, aligned):
    /// - a read must be exactly `read_fast`'s: the little-endian bytes at
    ///   `host + off`, plus `read_latency` cycles, and nothing else;
    /// - a write, while byte `off / BLOCK_BYTES` of `store_marks` is 0
    ///   and `code_written()` is false, must be exactly
    ///   `write_fast`'s: the bytes stored, plus `write_latency` cycles,
    ///   and nothing else. (The marks cover the blocks holding decoded
    ///   code and those holding a reserved line.)
    ///
    /// Valid until the bus is next borrowed mutably by anything but the
    /// core's handlers.
    #[inline(always)]
    fn plain_ram(&mut self) -> Option<PlainRam> {
        None
    }
    /// Memory only `core` reaches (its local RAM), offered to compiled
    /// code as `plain_ram` is, for reads and writes: the same contract,
    /// except that it never holds decoded code and has no `store_marks`
    /// (a write is `write_fast`'s while `*reservations` is false and
    /// `code_written()` is false), and `read_fast`/`write_fast` answer
    /// for it only on `core`.
    #[inline(always)]
    fn local_ram(&mut self, _core: usize) -> Option<PlainRam> {
        None
    }
    /// Memory at a fixed P4 address that only `core` reaches (its operand
    /// memory), offered to compiled code for loads: `phys` is the P4
    /// address itself (P4 is not translated, and only privileged code
    /// reaches it), and a read there through `read` with that address
    /// must be exactly the host bytes plus `read_latency`. (Stores there
    /// go through `p4::write`, which decides whether they yield.)
    #[inline(always)]
    fn p4_ram(&mut self, _core: usize) -> Option<PlainRam> {
        None
    }
    /// Whether a store to `p4_ram` (memory, no device: no interrupt line,
    /// no core started) leaves nothing for the machine's next look at
    /// interrupts either: no interrupt request of the bus's own falls due
    /// there. `p4::write` then need not yield for it while SR.BL is set.
    fn p4_ram_stores_are_quiet(&self) -> bool {
        false
    }
    /// MOVLI.L: start a reservation of `addr` for `core`.
    fn reserve(&mut self, core: usize, addr: u32);
    /// MOVCO.L: whether `core` still holds its reservation; clears it.
    fn take_reservation(&mut self, core: usize) -> bool;
    /// Drop `core`'s reservation (exception or interrupt entry).
    fn clear_reservation(&mut self, core: usize);
    /// Whether the last `write` reached a device rather than memory (and
    /// forget it). Only asked on the slow write path.
    fn take_device_write(&mut self) -> bool {
        false
    }
    /// Whether any access (read or write, by anyone) reached a device
    /// rather than memory since the last call, and forget it. A core runs
    /// on past the end of a round (`Rounds`) only while this says no: a
    /// device read may have moved an interrupt line that the machine's
    /// look at the round's end would see. A bus that does not tell says
    /// yes (the default), and its cores stop at every round's end.
    fn take_device_access(&mut self) -> bool {
        true
    }
    /// Where the flag `take_device_access` takes lives, for compiled code
    /// to read (it must read true exactly when `take_device_access` would
    /// answer yes); `None` if the bus keeps none.
    fn device_access_flag(&mut self) -> Option<*const bool> {
        None
    }
}

/// The rounds one `Cpu::run_rounds` call may run the core through.
///
/// Why: the machine runs its cores in rounds (`machine.rs`), and at each
/// round's end it looks at interrupts and devices and gives every core its
/// turn. Where one core runs and nothing else can happen, that look finds
/// nothing, and leaving the core's loop for it cost a fifth of the host
/// time of a one-core run. The machine then passes a `horizon` beyond the
/// round's end: the rounds up to it are the ones it has shown cannot
/// change anything on their own (no device event, no other core running,
/// no interrupt pending), and the core runs through their ends as long as
/// nothing it does could change that either: it stops at the end of the
/// round in which it yields (a device write, an SR write, an exception:
/// `run` returns there as always) or reads a device
/// (`Bus::take_device_access`). Either way `end` is then the end of the
/// round the core was in, exactly where the machine's next look falls
/// had it stopped at every round.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Rounds {
    /// The end of the round the core is in: no instruction starts at or
    /// after it. Moved on by the call when the core passes it.
    pub end: u64,
    /// The rounds' length: every round the core passes into ends at the
    /// next multiple of it (or at `horizon`).
    pub quantum: u64,
    /// The core never runs past this; `end` or below: one round only.
    pub horizon: u64,
    /// Round ends the core ran through.
    pub passed: u64,
}

impl Rounds {
    /// One round, ending at `limit`: what `Cpu::run` runs.
    pub fn single(limit: u64) -> Rounds {
        Rounds { end: limit, quantum: 1, horizon: limit, passed: 0 }
    }

    /// At the end of a round, a core whose clock reads `cycles`: whether
    /// it runs on (into the round `end` now closes) or stops. It runs on
    /// if the horizon is further and no device was reached since the call
    /// began, through as many rounds as its clock has passed (one
    /// instruction may take longer than a round: the machine would then
    /// give it turns in which it runs nothing).
    #[cold]
    #[inline(never)]
    fn pass<B: Bus>(&mut self, bus: &mut B, cycles: u64) -> bool {
        if self.end >= self.horizon || bus.take_device_access() {
            return false;
        }
        while cycles >= self.end && self.end < self.horizon {
            self.end = ((self.end / self.quantum + 1) * self.quantum).min(self.horizon);
            self.passed += 1;
        }
        cycles < self.end
    }
}

/// Memory a bus lets compiled code read and write directly
/// (`Bus::plain_ram`, `Bus::local_ram`).
#[derive(Clone, Copy, Debug)]
pub struct PlainRam {
    /// Physical address of its first byte.
    pub phys: u32,
    pub host: *mut u8,
    pub len: usize,
    /// Cycles a read adds.
    pub read_latency: u64,
    /// Cycles a write adds.
    pub write_latency: u64,
    /// Whether any core holds a MOVLI.L reservation (read live).
    pub reservations: *const bool,
    /// One byte per `code_cache::BLOCK_BYTES` of the memory, non-zero
    /// where a write must take the bus's whole path: decoded code lives
    /// there, or a core holds a reservation of a line in it (read live).
    /// Null for a memory without (then `reservations` says).
    pub store_marks: *const u8,
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
    /// The trace buffer holds `TRACE_CHUNK` events: the machine hands them
    /// on and calls `run` again at once. Nothing else happens in between,
    /// so where this stop falls changes nothing that is simulated.
    TraceFull,
}

/// Events a core's trace buffer (`Cpu::trace`) holds before `run` stops
/// with [`Stop::TraceFull`]: tracing needs this much memory per core,
/// whatever the run's length or quantum.
pub const TRACE_CHUNK: usize = 4096;

/// One SH-4A core.
///
/// Page-aligned, so that where its fields fall within a host page is the
/// same in every run. Translated code stores the guest registers here at
/// every write and loads guest memory beside them, and the host takes a
/// load whose address matches a recent store's in its low 12 bits for
/// one that depends on it (4K aliasing). Placed wherever the allocator
/// put it, the core's registers fell among the page offsets of the bench
/// loop's table lookups in about two runs of five, which then took 0.23-
/// 0.25 s instead of 0.13-0.16 s (`rp1 run bench_work.elf` with 10,000
/// passes; with address-space randomization off, every run was fast).
/// Aligned, the run takes the same time every run (docs/benchmarks.md).
#[derive(Clone)]
#[repr(align(4096))]
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
    /// or devices before the next instruction. Set it with `request_yield`.
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
    /// RTE's delay slot was fetched by the pipeline before SR changed, so
    /// it is fetched with the privilege RTE ran with (returning to user
    /// mode from a handler in P1 must not fault on the slot).
    pub rte_slot_fetch: bool,
    /// Set when an exception struck while SR.BL was set (a multiple
    /// exception): the silicon resets the core, which only recovers if
    /// software expects it. The machine stops with a clear report instead of
    /// looping through resets.
    pub double_fault: Option<DoubleFault>,
    /// Hosted hypervisor: while VBR equals this address, every exception
    /// and interrupt entry ends the core's time slice with `host_entered`
    /// set, and the machine hands the core to its hypervisor instance
    /// (Rust code standing in for the handlers at that vector base).
    pub host_vbr: Option<u32>,
    /// An exception or interrupt entered the host vector base; the machine
    /// clears it when the hypervisor instance has run.
    pub host_entered: bool,
    /// Debugger breakpoints (physical fetch not needed: virtual PC match).
    pub breakpoints: Vec<u32>,
    /// The breakpoint address `run` last stopped at: the next `run` that
    /// starts there executes that instruction instead of stopping again.
    /// Cleared by the next `run` (and by the debugger when it steps).
    pub break_resume: Option<u32>,
    /// Instruction/exception trace, collected only when enabled (`Some`);
    /// the machine drains it whenever `run` returns (at the latest when it
    /// holds `TRACE_CHUNK` events).
    pub trace: Option<Vec<TraceEvent>>,
    /// Every exception the core takes, recorded only when enabled (`Some`);
    /// whoever enabled it drains it. A hosted hypervisor's runner uses it
    /// to say which exception made the hypervisor stop a guest.
    pub exception_log: Option<Vec<ExceptionRecord>>,
    /// The last instruction fetch's translation, reused while the PC stays
    /// in its window (see `Window`).
    fetch_window: Window,
    /// The last data read's and data write's translations.
    read_window: Window,
    write_window: Window,
    /// What the data windows were made under, as the last time slice
    /// left them (`data_state`): the next slice keeps them if nothing
    /// outside the core has changed it since.
    windows_state: Option<DataState>,
    /// Virtual address of the decoded block the execution loop is running
    /// in (`run_decoded`), or `NO_CODE`. Valid only while the fetch window
    /// covers it and no store has reached decoded code: every place that
    /// changes either resets it.
    code_vbase: u32,
    /// While a translation runs, where compiled code loads and stores
    /// inline (`jit::Frame` makes them). Here rather than in the frame
    /// because compiled code holds the CPU's address in a register for
    /// the whole translation, and the frame's it spilled: each load or
    /// store read it back from the stack first.
    jit_direct: [jit::Direct; jit::DIRECT_RANGES],
    /// What `jit_direct` was made from, if it is still exactly what
    /// those inputs make (`jit::Frame::new` then keeps it; a frame that
    /// moves a range drops this).
    jit_direct_made_from: Option<jit::DirectInputs>,
    /// The cycle limit of the translation running (`jit::Frame::new` sets
    /// it, `jit::JIT_LIMIT_MAX` at most): no instruction starts at or
    /// after it. In the `Cpu`, whose address compiled code holds in a
    /// register (from the frame, whose address is spilled, each read was
    /// two loads); compiled code reads it on entry, around handler calls
    /// and on the way out, and counts the clock against it in between; a
    /// translation that runs on into the next round moves it on
    /// (`Rounds`).
    jit_limit: u64,
    /// How far a translation may move `jit_limit` on, round by round, at
    /// `jit_quantum` a round (`Rounds`: `jit::Frame::in_rounds` sets them,
    /// and a handler that reaches a device brings the horizon back to the
    /// limit). `jit_limit` itself when the translation may not.
    jit_horizon: u64,
    jit_quantum: u64,
}

/// Selects a PC's decoded block, plus bit 0 so that an odd PC never matches.
const CODE_MASK: u32 = !(code_cache::BLOCK_BYTES - 1) | 1;
/// A `code_vbase` no PC matches (bit 1 is outside `CODE_MASK`).
const NO_CODE: u32 = 2;
/// Set in `code_vbase` by an instruction that needs the execution loop's
/// attention after it: a delayed branch (its slot comes next) or a yield
/// request. No PC matches a `code_vbase` with it set, so the loop tests for
/// these rare cases only when the block test fails, instead of testing two
/// flags after every instruction (`run_decoded`).
const ATTENTION: u32 = 4;

/// SR.MD and the MMU's `data_state`: a Cpu's data windows are valid
/// while this is unchanged.
type DataState = (u32, (u8, u32, u32));

/// A cached translation ("window"): every address with
/// `addr & mask == base` translates to physical `addr + delta`, with no
/// exception, exactly as the full translation would. Three per core: one
/// for instruction fetch, one for data reads, one for data writes (write
/// permission and the D bit differ from reads).
///
/// Spans: a whole 512 MiB segment for a fixed translation (P1/P2, P0/P3
/// with the MMU off), one 1 KiB block (the smallest page) for a TLB
/// translation: every address of such a block matches exactly the same
/// TLB entries, so the hit (single, permitted, dirty or not) is the same
/// for all of it. Alignment: `base` has the low bits clear and the users
/// add the access's alignment bits to `mask`, so a misaligned address never
/// matches and takes the full path, which raises the address error.
///
/// What a window depends on: SR.MD, MMUCR, PTEH.ASID, the UTLB (data) and
/// the ITLB (fetch). A TLB hit has no side effects, so using the window is
/// indistinguishable from translating every time as long as the windows are
/// dropped whenever any of those may change: `set_sr`, `reset`, every
/// CPU-internal P4 write (MMU registers, TLB arrays), LDTLB, exception
/// entry, and each `run` and `step` (anything outside the core, such as the
/// debugger, may have changed them in between). If the MMU model ever gives
/// TLB hits side effects (LRUI or URC updates per access, say), the
/// windows must go (or be limited to the fixed translations). An ITLB refill happens only on a
/// fetch-window miss, and replaces the fetch window. Memory itself is not
/// cached: every access still reads or writes the bus, so stores to code
/// (by any core) are seen by the next fetch exactly as before.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Window {
    mask: u32,
    base: u32,
    delta: u32,
}

impl Window {
    /// Matches no address: `addr & 0` is 0, never `u32::MAX`.
    const EMPTY: Window = Window { mask: 0, base: u32::MAX, delta: 0 };
    /// A fixed translation covers the whole 512 MiB segment.
    const SEGMENT: u32 = 0xE000_0000;
    /// A TLB translation covers the 1 KiB block.
    const BLOCK: u32 = 0xFFFF_FC00;

    /// The window of span `span` (`SEGMENT` or `BLOCK`) holding the
    /// translation `vaddr` -> `paddr`.
    #[inline(always)]
    fn new(span: u32, vaddr: u32, paddr: u32) -> Window {
        Window { mask: span, base: vaddr & span, delta: paddr.wrapping_sub(vaddr) }
    }

    /// The physical address of `vaddr` if the window covers it and it is
    /// aligned to `align` bytes.
    #[inline(always)]
    fn lookup(self, vaddr: u32, align: u32) -> Option<u32> {
        if vaddr & (self.mask | (align - 1)) == self.base {
            Some(vaddr.wrapping_add(self.delta))
        } else {
            None
        }
    }
}

/// An exception that reset the core: one taken while exceptions were
/// blocked (SR.BL = 1), or a reset-type exception (a TLB multiple hit)
/// whatever SR.BL says. Software has lost control of the core either way.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct DoubleFault {
    /// PC of the instruction that faulted.
    pub pc: u32,
    pub exception: Exception,
    /// Why it reset the core.
    pub cause: ResetCause,
}

/// Why an exception reset the core.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ResetCause {
    /// A general exception while SR.BL was 1: a manual reset (EXPEVT 0x020).
    Blocked,
    /// A reset-type exception (TLB multiple hit, EXPEVT 0x140): the core
    /// resets whatever SR.BL says.
    ResetType,
}

/// "data address error on a read (EXPEVT 0x0e0, address 0xa4000000) at pc
/// 0x88001004 while exceptions were blocked (SR.BL=1)": every number in hex.
impl std::fmt::Display for DoubleFault {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} at pc {:#010x}", self.exception, self.pc)?;
        match self.cause {
            ResetCause::Blocked => f.write_str(" while exceptions were blocked (SR.BL=1), a manual reset (EXPEVT 0x020)"),
            ResetCause::ResetType => f.write_str(", a reset-type exception (it resets the core whatever SR.BL is)"),
        }
    }
}

/// One exception a core took (`Cpu::exception_log`): when (the core's
/// cycle at the entry), where (the PC of the faulting instruction; of the
/// branch, for one in a delay slot; of TRAPA itself) and which.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ExceptionRecord {
    pub cycle: u64,
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
            host_vbr: None,
            host_entered: false,
            sleeping: false,
            halted: false,
            slot_pending: false,
            branch_pc: 0,
            branch_target: 0,
            in_delay_slot: false,
            rte_slot_fetch: false,
            double_fault: None,
            breakpoints: Vec::new(),
            break_resume: None,
            trace: None,
            exception_log: None,
            fetch_window: Window::EMPTY,
            read_window: Window::EMPTY,
            write_window: Window::EMPTY,
            code_vbase: NO_CODE,
            windows_state: None,
            jit_direct: [jit::Direct::NONE; jit::DIRECT_RANGES],
            jit_direct_made_from: None,
            jit_limit: 0,
            jit_horizon: 0,
            jit_quantum: 1,
        };
        cpu.reset(0xA000_0000);
        cpu
    }

    /// Reset the core (power-on or manual), starting execution at `pc`.
    /// Keeps the cycle counter and statistics.
    pub fn reset(&mut self, pc: u32) {
        self.invalidate_windows();
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
        self.request_yield();
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
        let md_changed = (self.sr ^ new) & sr::MD != 0;
        self.sr = new;
        self.request_yield();
        if md_changed {
            // SR.MD selects the translations (P1-P4 are privileged; the
            // TLB's protection is per mode).
            self.invalidate_windows();
        } else {
            // The data windows still translate as the MMU would: only the
            // code is looked up again (the loop's way back in after a
            // yield).
            self.forget_code();
        }
    }

    /// Forget the fetch translation and the code block (the next fetch
    /// looks both up), keeping the data windows: for changes that move
    /// the PC or the fetch's privilege but not how data translates.
    #[inline(always)]
    fn forget_code(&mut self) {
        self.code_vbase = NO_CODE;
        self.fetch_window = Window::EMPTY;
    }

    /// Forget the cached translations (see `Window`): call after anything
    /// that may change how addresses translate (SR.MD, MMUCR, PTEH, the
    /// TLBs).
    #[inline(always)]
    pub fn invalidate_windows(&mut self) {
        self.code_vbase = NO_CODE;
        self.fetch_window = Window::EMPTY;
        self.read_window = Window::EMPTY;
        self.write_window = Window::EMPTY;
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
    #[inline(never)]
    pub fn enter_exception<B: Bus>(&mut self, bus: &mut B, e: Exception) {
        // The vector is fetched afresh; the data windows go only if SR.MD
        // changes (`set_sr`, below).
        self.forget_code();
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
        if let Some(log) = self.exception_log.as_mut() {
            log.push(ExceptionRecord { cycle: self.cycles, pc, exception: e });
        }
        // A reset-type exception (TLB multiple hit) resets the core with its
        // own code whatever BL says; any other exception while BL is set is
        // a multiple exception: a manual reset (EXPEVT 0x020).
        if self.sr & sr::BL != 0 || e.is_reset_type() {
            let (cause, code) =
                if e.is_reset_type() { (ResetCause::ResetType, e.code()) } else { (ResetCause::Blocked, 0x020) };
            self.double_fault.get_or_insert(DoubleFault { pc, exception: e, cause });
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
        self.note_host_entry();
    }

    /// After an exception or interrupt entry: if the vector base is the
    /// hosted hypervisor's, stop the slice so the machine can run it.
    fn note_host_entry(&mut self) {
        if self.host_vbr == Some(self.vbr) {
            self.host_entered = true;
            self.request_yield();
        }
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
    /// A sleeping core accepts interrupts even with SR.BL set (SH-4A
    /// manual, interrupt acceptance in sleep mode); Linux's idle loop
    /// relies on it.
    pub fn accepts_interrupt(&self, level: u8) -> bool {
        (self.sr & sr::BL == 0 || self.sleeping) && level > self.imask() && !self.slot_pending
    }

    /// A delayed branch: the next instruction (the slot) executes, then
    /// execution continues at `target`.
    #[inline(always)]
    pub fn delayed_branch(&mut self, target: u32) {
        self.branch_pc = self.pc;
        self.branch_target = target;
        self.slot_pending = true;
        self.code_vbase |= ATTENTION;
        self.pc = self.pc.wrapping_add(2);
    }

    /// Ask the machine to look at interrupts and devices before the next
    /// instruction (after the slot, if a delayed branch is pending). Set
    /// `yield_now` only through this.
    #[inline(always)]
    pub fn request_yield(&mut self) {
        self.yield_now = true;
        self.code_vbase |= ATTENTION;
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
        self.note_host_entry();
        true
    }

    // ----- the execution loop -----

    /// Execute instructions until `limit` cycles, or until something needs
    /// the machine's attention. A delayed branch and its slot are never
    /// split.
    pub fn run<B: Bus>(&mut self, bus: &mut B, table: &OpTable<B>, limit: u64) -> Stop {
        self.run_rounds(bus, table, &mut Rounds::single(limit))
    }

    /// `run` through the machine's rounds (`Rounds`): as `run` to
    /// `rounds.end`, but the core may run on through later rounds, and
    /// `rounds.end` is then the end of the round it stopped in. Tracing,
    /// breakpoints and a pending slot take one round only.
    pub fn run_rounds<B: Bus>(&mut self, bus: &mut B, table: &OpTable<B>, rounds: &mut Rounds) -> Stop {
        if self.halted || self.sleeping {
            return Stop::Sleep;
        }
        self.yield_now = false;
        // Anything outside this core (the machine, the debugger, a hosted
        // hypervisor) may have changed translation state since the last
        // slice: the data windows stay only if it is as that slice left
        // it. (Inside a slice every change drops them where it happens.)
        if self.windows_state.take() == Some(self.data_state()) {
            self.forget_code();
        } else {
            self.invalidate_windows();
        }
        let stop = if !self.breakpoints.is_empty() || self.trace.is_some() || self.slot_pending {
            self.run_checked(bus, table, rounds.end)
        } else {
            self.break_resume = None;
            if rounds.horizon > rounds.end {
                // Only this call's device accesses count.
                bus.take_device_access();
            }
            self.run_fast(bus, table, rounds)
        };
        self.windows_state = Some(self.data_state());
        stop
    }

    /// What a data translation depends on (`windows_state`).
    fn data_state(&self) -> DataState {
        (self.sr & sr::MD, self.mmu.data_state())
    }

    /// The general loop: breakpoints, tracing, and a delay slot left
    /// pending by a debugger single step. One `step` per instruction.
    #[inline(never)]
    fn run_checked<B: Bus>(&mut self, bus: &mut B, table: &OpTable<B>, limit: u64) -> Stop {
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
                return self.yield_stop();
            }
            // Not with a yield still owed (after a pending slot): `run`
            // clears the request when it starts again.
            if !self.yield_now && self.trace.as_ref().is_some_and(|t| t.len() >= TRACE_CHUNK) {
                return Stop::TraceFull;
            }
        }
        Stop::Limit
    }

    /// How `run` stops after an exception or a yield request: it clears the
    /// request (exception entry makes one).
    #[inline(always)]
    fn yield_stop(&mut self) -> Stop {
        self.yield_now = false;
        if self.sleeping {
            Stop::Sleep
        } else {
            Stop::Yield
        }
    }

    /// The loop without breakpoints or trace, entered with no slot pending:
    /// through the bus's decoded-code cache if it has one.
    fn run_fast<B: Bus>(&mut self, bus: &mut B, table: &OpTable<B>, rounds: &mut Rounds) -> Stop {
        let mut retired: u64 = 0;
        let stop = match bus.take_code_cache() {
            Some(mut cache) => {
                // Other cores, the loader or a debugger may have stored to
                // decoded code since this cache was last used.
                cache.sync(bus);
                let (stop, n) = self.run_decoded(bus, table, &mut cache, rounds);
                retired = n;
                bus.put_code_cache(cache);
                stop
            }
            None => loop {
                // With no slot pending, `run_checked`'s loop condition is
                // the cycle limit alone.
                if self.cycles >= rounds.end && !rounds.pass(bus, self.cycles) {
                    break Stop::Limit;
                }
                if let Some(stop) = self.exec_direct(bus, table, &mut retired) {
                    break stop;
                }
            },
        };
        // Instructions retired, counted in a register and added here (no
        // handler reads the statistics).
        self.stats.instructions += retired;
        stop
    }

    /// `run_fast` with decoded code. It does exactly what `run_checked`
    /// does, instruction by instruction (the same state changes in the same
    /// order); what it saves is the per-instruction work. Inside a decoded
    /// block an instruction costs: the block test on the PC (which also
    /// catches, through `ATTENTION` and `NO_CODE`, a pending slot, a yield
    /// request, a stale block or translation), the cycle limit test, the
    /// dispatch (`dispatch`), the counters and the exception test. Leaving
    /// the block goes through the outer loop: the fetch window, then the
    /// code cache. Returns why it stopped and how many instructions ran.
    fn run_decoded<B: Bus>(
        &mut self,
        bus: &mut B,
        table: &OpTable<B>,
        cache: &mut CodeCache<B>,
        rounds: &mut Rounds,
    ) -> (Stop, u64) {
        let mut n: u64 = 0;
        let retired = &mut n;
        // Two copies of the loop: the interpreter's has no trace of the
        // translating tier.
        let stop = if cache.jit().is_some() {
            self.run_decoded_inner::<B, true>(bus, table, cache, rounds, retired)
        } else {
            self.run_decoded_inner::<B, false>(bus, table, cache, rounds, retired)
        };
        (stop, n)
    }

    /// The loop of `run_decoded`. With `JIT`, a PC of the block that has
    /// a translation (or just became hot) runs it instead (`jit`'s
    /// contract: it leaves the state this loop would have reached).
    #[inline(always)]
    fn run_decoded_inner<B: Bus, const JIT: bool>(
        &mut self,
        bus: &mut B,
        table: &OpTable<B>,
        cache: &mut CodeCache<B>,
        rounds: &mut Rounds,
        retired: &mut u64,
    ) -> Stop {
        // The end of the round the core is in (`rounds.end`, kept here).
        let mut limit = rounds.end;
        'outer: loop {
            // What the last instruction left for the loop when its block
            // could not be kept (see `ATTENTION`): a delayed branch's slot
            // runs whatever the limit says, then a yield request is served.
            if self.slot_pending {
                self.slot_pending = false;
                *retired += 1;
                if let Some(stop) = self.slot_direct(bus, table) {
                    return stop;
                }
            }
            if self.yield_now {
                return self.yield_stop();
            }
            if self.cycles >= limit {
                if !rounds.pass(bus, self.cycles) {
                    return Stop::Limit;
                }
                limit = rounds.end;
            }
            // The slow path: find the PC's block. First drop the blocks
            // stores have reached (including this core's, which reset
            // `code_vbase` and so brought the loop here).
            if bus.code_written() {
                cache.sync(bus);
            }
            let pc = self.pc;
            let phys = match self.fetch_window.lookup(pc, 2) {
                Some(phys) => phys,
                None => match self.refill_fetch_window(pc) {
                    Ok(phys) => phys,
                    Err(e) => {
                        // A fetch fault counts as an instruction (`step`).
                        self.cycles += 1;
                        *retired += 1;
                        self.enter_exception(bus, e);
                        return self.yield_stop();
                    }
                },
            };
            let block_phys = phys & !(code_cache::BLOCK_BYTES - 1);
            let Some((block, mut jit)) = cache.block_and_jit(bus, table, block_phys) else {
                // Not cacheable (not DRAM): this instruction the direct way.
                match self.exec_direct(bus, table, retired) {
                    Some(stop) => return stop,
                    None => continue 'outer,
                }
            };
            // The fetch window covers the whole block (it spans at least
            // 1 KiB, aligned), so every PC of it translates through it.
            let vbase = pc & !(code_cache::BLOCK_BYTES - 1);
            self.code_vbase = vbase;
            // The PC after the last instruction this loop interpreted: a
            // PC equal to it was reached by falling through, and is not
            // looked up in the tier (`Jit::entry`). Odd, so no PC matches
            // it at first.
            let mut fell_to = u32::MAX;
            loop {
                let pc = self.pc;
                let i = (pc as usize >> 1) % code_cache::BLOCK_OPS;
                // The common case: the next instruction of this block, below
                // the cycle limit (with no slot pending, `run_checked`'s loop
                // condition is the limit alone). Anything else is the `SLOW`
                // kind, which executes nothing; folding both tests into the
                // kind keeps the dispatch a single jump.
                let fast = (pc & CODE_MASK == self.code_vbase) & (self.cycles < limit);
                // Translations are entered where control arrives (not by
                // falling through: a loop's head is entered from its back
                // branch), which keeps the tier's lookup off the path of
                // straight-line interpreted code.
                if JIT && fast && pc != fell_to {
                    let id = self.id;
                    if let Some((code, chain)) = jit
                        .as_deref_mut()
                        .and_then(|j| j.entry(block, table, block_phys, vbase, i, || (jit::memory_hints(&self.r, bus, id), jit::latencies(bus, id))))
                    {
                        let (blocks, trampoline, latencies) =
                            jit.as_deref().and_then(|j| Some((j.blocks(), j.trampoline(), j.latencies()?))).expect("the tier gave the entry");
                        let mut frame = jit::Frame::in_rounds(self, bus, rounds, latencies);
                        frame.chain = chain;
                        frame.blocks = blocks;
                        // Not if the bus's latencies changed (never in
                        // practice; a test's): the tier starts again, and
                        // this instruction goes the loop's way.
                        let entered = frame.latencies_hold();
                        let exit = if entered {
                            // SAFETY: `code` was compiled for this block at
                            // this base and for this bus type, entered as
                            // its contract asks (the block test above),
                            // with its block's entry table and the
                            // latencies it counts; `frame` outlives the
                            // call, and nothing else touches the CPU or
                            // the bus meanwhile.
                            unsafe { jit::enter(trampoline, code, &mut frame) }
                        } else {
                            jit.as_deref_mut().expect("the tier gave the entry").forget_latencies();
                            jit::EXIT_CONTINUE
                        };
                        // It may have run on into later rounds, each
                        // (but perhaps the last, at the horizon) a
                        // quantum long.
                        if self.jit_limit > rounds.end {
                            rounds.passed += (self.jit_limit - rounds.end).div_ceil(rounds.quantum);
                            rounds.end = self.jit_limit;
                        }
                        limit = rounds.end;
                        *retired += frame.retired;
                        if frame.crossed != 0 {
                            // Another block's translation ran last: this
                            // loop's block is not the PC's, so it looks
                            // again (through the outer loop).
                            self.code_vbase = NO_CODE;
                        }
                        if let Some(j) = jit.as_deref_mut() {
                            j.stats.calls += entered as u64;
                            j.stats.chained += frame.chained;
                            j.stats.retired += frame.retired;
                        }
                        if exit == jit::EXIT_EXCEPTION {
                            if let Some(e) = frame.exception {
                                self.enter_exception(bus, e);
                            }
                            return self.yield_stop();
                        }
                        if frame.retired != 0 {
                            fell_to = u32::MAX;
                            continue;
                        }
                        // It ran nothing (its first segment would cross
                        // the limit): this instruction the loop's way.
                    }
                }
                let kind = if fast { block.kind[i] } else { dispatch::SLOW };
                if let Some(result) = dispatch::dispatch_or_slow(kind, self, bus, block.ops[i], block.handlers[i]) {
                    self.cycles += 1;
                    *retired += 1;
                    fell_to = pc.wrapping_add(2);
                    if let Err(e) = result {
                        // The handler changed nothing, so no slot is pending.
                        self.enter_exception(bus, e);
                        return self.yield_stop();
                    }
                    // Every setter of `slot_pending` and `yield_now` must
                    // flag `code_vbase` (`delayed_branch`, `request_yield`).
                    debug_assert!(!(self.slot_pending || self.yield_now) || self.code_vbase != vbase);
                    continue;
                }
                if pc & CODE_MASK == self.code_vbase {
                    // The next instruction of the block, at the limit.
                    if !rounds.pass(bus, self.cycles) {
                        return Stop::Limit;
                    }
                    limit = rounds.end;
                    continue;
                }
                if self.code_vbase != vbase | ATTENTION {
                    // Another block, or this one is no longer valid.
                    continue 'outer;
                }
                // The block is valid and the last instruction left a delayed
                // branch's slot or a yield request.
                self.code_vbase = vbase;
                if !self.slot_pending {
                    if self.yield_now {
                        return self.yield_stop();
                    }
                    continue;
                }
                // The slot runs now, whatever the limit says (`step_slot`):
                // from the block if it is a legal instruction of it, through
                // `slot_direct` otherwise.
                self.slot_pending = false;
                *retired += 1;
                if pc & CODE_MASK != vbase || block.slot_illegal[i] {
                    if let Some(stop) = self.slot_direct(bus, table) {
                        return stop;
                    }
                } else {
                    self.in_delay_slot = true;
                    let result = block.handlers[i](self, bus, block.ops[i]);
                    self.in_delay_slot = false;
                    self.cycles += 1;
                    match result {
                        Ok(()) => self.pc = self.branch_target,
                        Err(e) => return self.slot_exception(bus, e.in_delay_slot()),
                    }
                }
                if self.yield_now {
                    return self.yield_stop();
                }
            }
        }
    }

    /// `step_slot` with the windowed fetch (`slot_pending` already clear).
    #[inline(never)]
    fn slot_direct<B: Bus>(&mut self, bus: &mut B, table: &OpTable<B>) -> Option<Stop> {
        let pc = self.pc;
        let fetched = self.fetch_windowed(bus, pc).map(|op| (table.get(op), op));
        self.finish_slot(bus, table, fetched)
    }

    /// A slot instruction raised `e`: the branch is re-executed after the
    /// handler returns (`step_slot`).
    #[cold]
    #[inline(never)]
    fn slot_exception<B: Bus>(&mut self, bus: &mut B, e: Exception) -> Stop {
        self.pc = self.branch_pc;
        self.enter_exception(bus, e);
        self.yield_stop()
    }

    /// One instruction (and the slot of a delayed branch) fetched through
    /// the bus: `step` with the fetch window. Returns why the loop must
    /// stop, if it must.
    #[inline(always)]
    fn exec_direct<B: Bus>(&mut self, bus: &mut B, table: &OpTable<B>, retired: &mut u64) -> Option<Stop> {
        let pc = self.pc;
        let result = match self.fetch_windowed(bus, pc) {
            Ok(op) => table.get(op)(self, bus, op),
            Err(e) => Err(e),
        };
        self.cycles += 1;
        *retired += 1;
        if let Err(e) = result {
            // The handler changed nothing, so no slot is pending.
            self.enter_exception(bus, e);
            return Some(self.yield_stop());
        }
        if self.slot_pending {
            self.slot_pending = false;
            *retired += 1;
            if let Some(stop) = self.slot_direct(bus, table) {
                return Some(stop);
            }
        }
        if self.yield_now {
            return Some(self.yield_stop());
        }
        None
    }

    /// The rest of `step_slot` once the slot instruction is fetched (as its
    /// handler and opcode, or the fetch fault): execute it, then continue
    /// at the branch target, or take the exception. `slot_pending` is
    /// already clear. Returns `Some` if the loop must stop (an exception).
    /// The caller counts the slot as one retired instruction either way.
    #[inline(never)]
    fn finish_slot<B: Bus>(
        &mut self,
        bus: &mut B,
        table: &OpTable<B>,
        fetched: Result<(decode::Handler<B>, u16), Exception>,
    ) -> Option<Stop> {
        let result = match fetched {
            Ok((handler, op)) => {
                if table.slot_illegal(op) {
                    Err(Exception::SlotIllegalInstruction)
                } else {
                    self.in_delay_slot = true;
                    let r = handler(self, bus, op);
                    self.in_delay_slot = false;
                    r.map_err(Exception::in_delay_slot)
                }
            }
            // A fetch fault in the slot is reported as it is.
            Err(e) => Err(e),
        };
        self.cycles += 1;
        match result {
            Ok(()) => {
                self.pc = self.branch_target;
                None
            }
            Err(e) => {
                // The branch is re-executed after the handler returns.
                self.pc = self.branch_pc;
                self.enter_exception(bus, e);
                Some(self.yield_stop())
            }
        }
    }

    /// Execute exactly one instruction (or take the exception it raises).
    pub fn step<B: Bus>(&mut self, bus: &mut B, table: &OpTable<B>) {
        // The caller (debugger, tests) may have changed translation state
        // directly since the last instruction.
        self.invalidate_windows();
        if self.slot_pending {
            self.slot_pending = false;
            self.step_slot(bus, table);
            return;
        }
        let pc = self.pc;
        let result = match self.fetch(bus, pc) {
            Ok(op) => {
                if let Some(t) = self.trace.as_mut() {
                    t.push(TraceEvent::Instruction { core: self.id, cycle: self.cycles, pc, opcode: op });
                }
                table.get(op)(self, bus, op)
            }
            Err(e) => Err(e),
        };
        self.cycles += 1;
        self.stats.instructions += 1;
        if let Err(e) = result {
            self.enter_exception(bus, e);
            self.request_yield();
        }
    }

    /// Execute the delay slot of the branch at `branch_pc` (the caller has
    /// cleared `slot_pending`), then continue at `branch_target`; on an
    /// exception, the branch is re-executed after the handler returns.
    #[inline(never)]
    fn step_slot<B: Bus>(&mut self, bus: &mut B, table: &OpTable<B>) {
        let pc = self.pc;
        let result = match self.fetch(bus, pc) {
            Ok(op) => {
                if let Some(t) = self.trace.as_mut() {
                    t.push(TraceEvent::Instruction { core: self.id, cycle: self.cycles, pc, opcode: op });
                }
                if table.slot_illegal(op) {
                    Err(Exception::SlotIllegalInstruction)
                } else {
                    self.in_delay_slot = true;
                    let r = table.get(op)(self, bus, op);
                    self.in_delay_slot = false;
                    r.map_err(Exception::in_delay_slot)
                }
            }
            // A fetch fault in the slot is reported as it is.
            Err(e) => Err(e),
        };
        self.cycles += 1;
        self.stats.instructions += 1;
        match result {
            Ok(()) => self.pc = self.branch_target,
            Err(e) => {
                self.pc = self.branch_pc;
                self.enter_exception(bus, e);
                self.request_yield();
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

    /// `fetch` through the fetch window: the same result and side effects.
    #[inline(always)]
    fn fetch_windowed<B: Bus>(&mut self, bus: &mut B, pc: u32) -> Result<u16, Exception> {
        let phys = match self.fetch_window.lookup(pc, 2) {
            Some(phys) => phys,
            None => self.refill_fetch_window(pc)?,
        };
        bus.fetch(self.id, phys).map_err(|_| Exception::InstructionAddressError(pc))
    }

    /// Translate `pc` as `fetch` does (same checks, same ITLB refill) and
    /// make the fetch window cover it.
    #[inline(never)]
    fn refill_fetch_window(&mut self, pc: u32) -> Result<u32, Exception> {
        if pc & 1 != 0 {
            return Err(Exception::InstructionAddressError(pc));
        }
        if self.rte_slot_fetch {
            // A one-off fetch with RTE's privilege: no window may keep it.
            let phys = self.translate_fetch(pc)?;
            self.forget_code();
            return Ok(phys);
        }
        let phys = self.translate_fetch(pc)?;
        // `translate_fetch` succeeded: P1/P2, or P0/P3 with the MMU off, is
        // a fixed translation; anything else came from the ITLB.
        let fixed = matches!(pc >> 29, 4 | 5) || !self.mmu.translation_on();
        let span = if fixed { Window::SEGMENT } else { Window::BLOCK };
        self.fetch_window = Window::new(span, pc, phys);
        // The decoded block was found through the old window.
        self.code_vbase = NO_CODE;
        Ok(phys)
    }

    fn translate_fetch(&mut self, pc: u32) -> Result<u32, Exception> {
        let privileged = self.privileged() || std::mem::take(&mut self.rte_slot_fetch);
        match pc >> 29 {
            // P1, P2: fixed translation.
            4 | 5 if privileged => Ok(pc & 0x1FFF_FFFF),
            // P0/U0 and P3: through the MMU if it is on.
            0..=3 | 6 if pc < 0x8000_0000 || privileged => {
                if self.mmu.translation_on() {
                    self.mmu.translate_fetch(pc, privileged)
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
        // The common case first, tested with one compare: P1/P2 in
        // privileged mode, a fixed translation (the match arm `4 | 5`).
        if vaddr >> 30 == 2 && privileged {
            return Ok(Target::Bus(vaddr & 0x1FFF_FFFF));
        }
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
    ///
    /// The fast path: an aligned address in the read window, answered by
    /// the bus's fast path (DRAM). Anything else takes `read_slow`, the
    /// full path, which gives the same result when both apply.
    #[inline(always)]
    pub fn read<B: Bus>(&mut self, bus: &mut B, vaddr: u32, size: Size) -> Result<u32, Exception> {
        if let Some(pa) = self.read_window.lookup(vaddr, size.bytes()) {
            if let Some(v) = bus.read_fast(self.id, &mut self.cycles, pa, size) {
                return Ok(v);
            }
        }
        self.read_slow(bus, vaddr, size)
    }

    #[inline(never)]
    fn read_slow<B: Bus>(&mut self, bus: &mut B, vaddr: u32, size: Size) -> Result<u32, Exception> {
        if vaddr & (size.bytes() - 1) != 0 {
            return Err(Exception::AddressErrorRead(vaddr));
        }
        match self.data_target(vaddr, false)? {
            Target::Bus(pa) => {
                // The window moves only to memory its fast path answers
                // for: a device read between two reads of memory (the
                // hypervisor's look at a clock or a register through P2
                // between its P1 data) leaves the window where it is.
                let window = self.data_window(vaddr, pa);
                if let Some(v) = bus.read_fast(self.id, &mut self.cycles, pa, size) {
                    self.read_window = window;
                    return Ok(v);
                }
                bus.read(self.id, &mut self.cycles, pa, size).map_err(|_| Exception::AddressErrorRead(vaddr))
            }
            Target::P4 => p4::read(self, bus, vaddr, size),
        }
    }

    /// The window holding the data translation `vaddr` -> `pa` that
    /// `data_target` just made (see `Window`).
    #[inline(always)]
    fn data_window(&self, vaddr: u32, pa: u32) -> Window {
        // `data_target` gave a bus address: P1/P2, or P0/P3 with the MMU
        // off, is a fixed translation; anything else came from the UTLB.
        let fixed = matches!(vaddr >> 29, 4 | 5) || !self.mmu.translation_on();
        Window::new(if fixed { Window::SEGMENT } else { Window::BLOCK }, vaddr, pa)
    }

    /// Write the low `size` bytes of `value` at virtual address `vaddr`.
    /// Fast path as for `read`.
    #[inline(always)]
    pub fn write<B: Bus>(&mut self, bus: &mut B, vaddr: u32, size: Size, value: u32) -> Result<(), Exception> {
        if let Some(pa) = self.write_window.lookup(vaddr, size.bytes()) {
            if bus.write_fast(self.id, &mut self.cycles, pa, size, value) {
                self.note_code_writes(bus);
                return Ok(());
            }
        }
        let r = self.write_slow(bus, vaddr, size, value);
        self.note_code_writes(bus);
        r
    }

    /// After a store to the bus: if it reached decoded code, leave the
    /// decoded block (`run_decoded` then drops the stale blocks before it
    /// fetches again).
    #[inline(always)]
    pub fn note_code_writes<B: Bus>(&mut self, bus: &B) {
        if bus.code_written() {
            self.code_vbase = NO_CODE;
        }
    }

    #[inline(never)]
    fn write_slow<B: Bus>(&mut self, bus: &mut B, vaddr: u32, size: Size, value: u32) -> Result<(), Exception> {
        if vaddr & (size.bytes() - 1) != 0 {
            return Err(Exception::AddressErrorWrite(vaddr));
        }
        match self.data_target(vaddr, true)? {
            Target::Bus(pa) => {
                let window = self.data_window(vaddr, pa);
                let r = bus
                    .write(self.id, &mut self.cycles, pa, size, value)
                    .map_err(|_| Exception::AddressErrorWrite(vaddr));
                if bus.take_device_write() {
                    // A device (SIMCTL, board registers) may have stopped
                    // the machine or raised an interrupt line. The window
                    // stays where it was, as for a device read.
                    self.request_yield();
                } else {
                    self.write_window = window;
                }
                r
            }
            Target::P4 => {
                // CPU-internal P4 registers include the MMU's (MMUCR,
                // PTEH) and the TLB arrays.
                if p4::changes_translation(vaddr) {
                    self.invalidate_windows();
                }
                p4::write(self, bus, vaddr, size, value)
            }
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
            // A byte is always aligned, so `read` (with its fast path)
            // is the whole path here.
            v |= self.read(bus, a, Size::Byte)? << (8 * i);
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
