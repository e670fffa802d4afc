//! The translating tier: decoded DRAM code compiled to host code with
//! Cranelift, run in place of the interpreter's inner loop.
//!
//! Why: the interpreter pays a dispatch per instruction (`dispatch.rs`).
//! A translation runs a straight run of a decoded block, loops inside it
//! included, as one host function.
//!
//! The contract (what makes the tier unobservable): a translation entered
//! at PC `p` of a decoded block, with the block's `code_vbase` set and no
//! slot pending, does exactly what `Cpu::run_decoded_inner`'s fast path
//! does from `p`, instruction by instruction: the same state changes in the
//! same order, the same cycle and retired counts, and it returns at a
//! point where that loop would leave its fast path, or earlier: before a
//! segment of words that would cross the cycle limit (having run none of
//! it; a translation that ran nothing leaves the instruction at its PC to
//! the loop), at a PC outside the translated range, after a handler that
//! flagged `code_vbase` (delayed branch, yield request, store to code, new
//! translation state), or at an exception (returned to the loop, which
//! enters it). Where the loop would only find another translation and
//! enter it, a translation may hand over to it instead (a tail call):
//! within its block, or in P1/P2 to another block (`Frame::crossed`
//! then sends the loop to look its block up again). Each instruction is
//! one of:
//! - inlined (`translate::inline`): integer ALU, moves and branches, the
//!   instructions that touch only registers, T, PR, MACH/MACL and GBR;
//! - a load or store with an inline fast path for plain RAM
//!   (`Bus::plain_ram`, DRAM) and the core's local RAM (`Bus::local_ram`,
//!   its URAM), through the call's ranges where the data windows land in
//!   them (`Direct`), and for privileged loads the core's P4 memory
//!   (`Bus::p4_ram`, its OL memory), its handler behind it (with FMOV.S
//!   also behind a guard on the FPU's mode; a load of one of the CCN's
//!   registers at an address known at compile time reads the `Cpu`'s
//!   field, `translate::Emitter::ccn_field`); or an STC of a privileged
//!   register, inline behind a test of SR.MD; a run of 4-byte loads or
//!   stores off one base register is done as one where one test of its
//!   span and one of the limit pass (`access.rs`,
//!   `translate::Emitter::base_run`), else word by word;
//! - a call of its opcode-table handler through `exec` (everything else:
//!   other FPU, privileged and system instructions), after which the
//!   translation checks that the handler went on to the next instruction
//!   and flagged nothing.
//!
//! Translations depend only on the decoded block (its words) and the
//! virtual address it runs at (PC-relative values): nothing inlined reads
//! SR.MD/RB, FPSCR or the MMU, and handlers read them when they run. (The
//! order of their memory tests also follows where the registers pointed
//! when they were asked for, `MemoryHints`, which changes no result; and
//! an inline access counts its memory's latency as the bus gave it when
//! the tier's first translation was asked for, `Latencies`, which a frame
//! holds them to. A PC-relative load whose literal lies in the block is
//! compiled as the literal's value where the code runs in P1 or P2, which
//! only privileged code reaches: `translate::literal`.) So a
//! translation stays valid until its block's memory is written, and is
//! keyed by (physical block, virtual base, entry word). A block that
//! leaves the decoded-code cache (another block took its slot) keeps its
//! translations: only a store to it ends them.
//!
//! When: a word becomes an entry after `HOT_THRESHOLD` arrivals of the
//! loop there (anything but falling through from the word before) with
//! no translation there, `BACKGROUND_HOT` when it compiles on a thread of
//! its own (`background`, the default), where the translation comes in
//! at a later arrival. Bounded: compiled code is capped at
//! `CODE_CAP` bytes; reaching it frees every translation at once (a flush)
//! and the tier starts again.
//!
//! Host tools: under `perf record` translations are named by their guest
//! PC in perf's map, and `RP1_JIT_LISTING=<file>` writes out each one's
//! IR and host code (`profile`); neither changes what they do.
//!
//! Owns: compiled code and its bookkeeping. Must not touch: instruction
//! semantics (the handlers in `ops/` are the reference; the inlined ones
//! are checked against them word by word in the tests), devices, memory.

mod access;
mod background;
mod code_memory;
mod profile;
mod translate;

use super::code_cache::{Block, BLOCK_BYTES, BLOCK_OPS};
use super::decode::OpTable;
use super::{Bus, Cpu, Exception};
use std::marker::PhantomData;

/// Visits of a word (arrivals there with no translation, see `entry`)
/// before it is translated, in a block whose translations were never
/// dropped.
pub const HOT_THRESHOLD: u32 = 32768;
/// The same when compiling in the background (`Jit::set_background`):
/// a translation then costs the simulating thread nothing but the copy
/// of its block, so code turns hot eight times sooner. (On the Linux
/// hackbench run and the 1,000-sample lhp run, 4,096 took 0.92x and
/// 0.89x the time of 32,768, both in the background; 1,024 no less,
/// with more host CPU on the compiler thread: docs/benchmarks.md.)
pub const BACKGROUND_HOT: u32 = 4096;
/// Each time a block's translations are dropped (a store to it), its
/// words need twice as many visits, up to `HOT_THRESHOLD << MAX_BACKOFF`:
/// code that shares its 1 KiB with data the guest writes would otherwise
/// be compiled again and again, at a thousand times the cost of
/// interpreting it once.
pub const MAX_BACKOFF: u8 = 8;
/// Compiled host code kept at once, in bytes; a flush frees it all.
pub const CODE_CAP: usize = 64 << 20;
/// Address space reserved for code (`code_memory`): the cap, and room
/// for the translations asked for in the background before it was
/// reached (`MAX_IN_FLIGHT` of them; the largest seen are about 16 KiB).
/// A translation that finds no room left is refused.
const CODE_RESERVE: usize = CODE_CAP + (64 << 20);
/// Direct-mapped tables of translated blocks, by physical block number:
/// 128 MiB of code (all of DRAM) without two blocks sharing an entry.
const JIT_SLOTS: usize = (128 << 20) / BLOCK_BYTES as usize;
// Compiled code computes `Jit::index` with a mask.
const _: () = assert!(JIT_SLOTS.is_power_of_two());
/// Instruction words one translation covers at most.
pub const MAX_WORDS: usize = 32;
/// The highest cycle limit (and horizon) a translation is given: compiled
/// code keeps its clock less the limit as a signed 64-bit number
/// (`translate`), which holds that difference for any clock below 2^63.
/// A clock never gets near it (2^63 cycles at 600 MHz are 487 years); a
/// loop's limit past it (`Cpu::run(.., u64::MAX)`) stops the translation
/// there instead, which it never reaches.
pub(crate) const JIT_LIMIT_MAX: u64 = i64::MAX as u64;
/// A heat value that means "never translate from here" (the translator
/// refused it: a delayed branch whose slot lies outside the block, say).
const NEVER: u32 = u32::MAX;
/// A heat value that means "asked for, not answered yet" (compiling in
/// the background): no more visits counted.
const ASKED: u32 = u32::MAX - 1;
/// Translations asked of the compiler thread and not yet answered, at
/// most: a word that turns hot beyond it is asked for at a later visit.
/// With `CODE_CAP` (checked when asking, against the code answered so
/// far) it bounds the code memory in the background: the cap plus this
/// many translations.
pub const MAX_IN_FLIGHT: usize = 256;

/// Which execution tier runs decoded code.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Tier {
    /// The interpreter (the reference).
    Interp,
    /// Hot code translated to host code (this module): the default.
    #[default]
    Jit,
}

impl std::str::FromStr for Tier {
    type Err = String;
    fn from_str(s: &str) -> Result<Tier, String> {
        match s {
            "interp" => Ok(Tier::Interp),
            "jit" => Ok(Tier::Jit),
            other => Err(format!("the tier is interp or jit, not {other:?}")),
        }
    }
}

impl std::fmt::Display for Tier {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.pad(match self {
            Tier::Interp => "interp",
            Tier::Jit => "jit",
        })
    }
}

/// What a translation is called with (and `Cpu::jit_limit`, the loop's
/// cycle limit). `repr(C)`: compiled code reads and writes its fields at
/// their offsets.
#[repr(C)]
pub(crate) struct Frame<B> {
    pub cpu: *mut Cpu,
    pub bus: *mut B,
    /// Instructions retired by this call.
    pub retired: u64,
    /// The exception an instruction raised (`EXIT_EXCEPTION`), not yet
    /// entered: the loop enters it, as after an interpreted instruction.
    pub exception: Option<Exception>,
    /// `PlainRam::reservations` (of either memory), which stores to the
    /// local and P4 memories test.
    pub ram_reservations: *const bool,
    /// The plain RAM's `PlainRam::store_marks`, which stores to it test
    /// instead.
    pub ram_store_marks: *const u8,
    /// What the direct ranges (`Cpu::jit_direct`) are made from; its
    /// windows follow the data windows as a handler moves them
    /// (`refresh`).
    inputs: DirectInputs,
    /// The entry table (`BlockCode::entry`) of the block the translations
    /// of this call belong to, or null. A translation whose way out is a
    /// word of the same block with a translation of its own hands over to
    /// it (a tail call) rather than returning to the loop, which would
    /// only find that translation again and enter it.
    pub chain: *const Option<Translated>,
    /// The tier's table of blocks (`Jit::blocks`), or null: a translation
    /// running at a fixed translation (P1 or P2) whose way out is a word
    /// of another block of the same segment hands over to that word's
    /// translation too, if the table has one for it at that base.
    pub blocks: *const Option<Box<BlockCode>>,
    /// Set by a hand-over to another block: the loop's decoded block is
    /// no longer the one running, and it must look again.
    pub crossed: u8,
    /// Hand-overs in this call.
    pub chained: u64,
    /// The bus's flag of device accesses (`Bus::device_access_flag`) if
    /// the call may run through round ends, else null (then a handler
    /// pays one test of it): after a handler that set the flag, the core
    /// runs through no more round ends in this call (`Cpu::jit_horizon`).
    pub device_access: *const bool,
    /// The latencies the call's translations count (`Jit::latencies`).
    assumed: *const Latencies,
}

/// A memory compiled code reads and writes directly: `PlainRam`'s
/// fields a frame needs.
#[derive(Clone, Copy, PartialEq, Eq)]
struct FrameRam {
    host: *mut u8,
    len: u64,
    phys: u32,
    latency: u64,
    write_latency: u64,
}

impl FrameRam {
    const NONE: FrameRam = FrameRam { host: std::ptr::null_mut(), len: 0, phys: 0, latency: 0, write_latency: 0 };

    fn of(ram: Option<super::PlainRam>) -> FrameRam {
        ram.map_or(FrameRam::NONE, |r| FrameRam {
            host: r.host,
            len: r.len as u64,
            phys: r.phys,
            latency: r.read_latency,
            write_latency: r.write_latency,
        })
    }
}

/// Direct ranges of a call (`Cpu::jit_direct`): loads and stores in each
/// of `Memory::ALL`.
pub(crate) const DIRECT_RANGES: usize = 2 * Memory::ALL.len();

/// The latency of each direct range (`Direct::at`), which translations
/// count at compile time (`Jit::latencies`): an access that a range takes
/// adds nothing at run time but its share of a count already carried
/// (`translate::Lazy`). Where a memory's latency is not that one (the
/// bus's changed since), a frame makes no range of it (`Frame::range`),
/// and its accesses take their handlers, which add the latency there is.
pub(crate) type Latencies = [u64; DIRECT_RANGES];

/// Each of `Memory::ALL` as `bus` offers it to `core` now, if it does.
fn direct_memories<B: Bus>(bus: &mut B, core: usize) -> [(Memory, Option<super::PlainRam>); 3] {
    [(Memory::Plain, bus.plain_ram()), (Memory::Local, bus.local_ram(core)), (Memory::P4, bus.p4_ram(core))]
}

/// The latencies of `bus`'s direct memories for `core` now (0 for one it
/// does not have).
pub(crate) fn latencies<B: Bus>(bus: &mut B, core: usize) -> Latencies {
    let mut latencies = [0; DIRECT_RANGES];
    for (memory, ram) in direct_memories(bus, core) {
        if let Some(ram) = ram {
            latencies[Direct::at(false, memory)] = ram.read_latency;
            latencies[Direct::at(true, memory)] = ram.write_latency;
        }
    }
    latencies
}

/// Everything `Frame::range` makes the direct ranges from (`Cpu::
/// jit_direct_made_from`): a frame whose inputs equal the last frame's
/// finds its ranges already made. Why keep them: the loop enters a
/// translation every hundred instructions or so on Linux, and making
/// six ranges took more host instructions than a short translation.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) struct DirectInputs {
    /// The bus's `plain_ram` (`len` 0 if it has none) and `local_ram` for
    /// this core (it never holds decoded code).
    ram: FrameRam,
    local: FrameRam,
    /// `Bus::p4_ram` for this core, if the core is privileged (`len` 0
    /// otherwise, or if the bus has none).
    p4: FrameRam,
    /// Stores to `p4` may go inline: the core has SR.BL set and the bus
    /// calls such stores quiet (`Bus::p4_ram_stores_are_quiet`), so
    /// `p4::write` would not yield for it. Both hold for the whole call:
    /// SR changes only through handlers that end the translation (and
    /// drop the ranges, `refresh`), and what would make the bus say
    /// otherwise (a late ICI of a fault plan) starts at a device write,
    /// which yields.
    p4_stores: bool,
    /// Stores may go inline: false when the bus has code writes not yet
    /// drained (then every store must flag them, which the handler does).
    store_ok: bool,
    /// The data windows (read, write).
    windows: [super::Window; 2],
}

/// The part of a data window that lies in one plain memory, from virtual
/// address `vlo` (kept negated, `minus_vlo`) for `len` bytes: an access of
/// `size` bytes at virtual `addr` with `addr - vlo` (wrapping) aligned to
/// `size` and below `len` is a read or write of host memory at `host +
/// (addr - vlo)` taking the latency the translation counts for it
/// (`Latencies`), exactly as `Cpu::read` or `Cpu::write` through the
/// window and the bus's fast path would do it.
/// `vlo` and `len` are multiples of 4, so compiled code tests both with
/// one comparison: `rotr(addr - vlo, log2 size) < len >> log2 size`,
/// the right side kept here for each size (`limit`): shifted where it is
/// used, it was an instruction more per access.
#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Direct {
    /// `vlo` negated (wrapping): compiled code takes `addr + minus_vlo`,
    /// which the host does in one instruction (`lea`) where `addr - vlo`
    /// took a copy and a subtraction.
    pub minus_vlo: u32,
    /// `len >> k`, the length in units of 2^k bytes, for k = 0, 1, 2; `len`
    /// is in bytes, 0 when the window has no part in the memory.
    pub limit: [u32; 3],
    pub host: *mut u8,
    /// Offset of `vlo` in its memory (a store finds its block's store
    /// mark from it).
    pub offset: u64,
}

/// The memories compiled code reaches directly, in the order it tests
/// them (`Direct::at`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Memory {
    /// `Bus::plain_ram` (DRAM), through the data windows.
    Plain = 0,
    /// `Bus::local_ram` (the core's URAM), through the data windows.
    Local = 1,
    /// `Bus::p4_ram` (the core's OL memory), at its P4 address.
    P4 = 2,
}

impl Memory {
    pub const ALL: [Memory; 3] = [Memory::Plain, Memory::Local, Memory::P4];
}

/// For each general register, the memory its value pointed into when a
/// translation was asked for (`memory_hints`), if that could be told: the
/// translation tests an access off a register it has not yet written
/// against that memory first (`translate::Emitter::memory_order`). Only
/// the order of the tests depends on it, never what an access does: an
/// address lies in at most one of the direct ranges.
pub(crate) type MemoryHints = [Option<Memory>; 16];

/// `MemoryHints` for registers `r` of core `core`: a value in P1 or P2
/// (fixed translation, privileged code) whose physical address is in
/// DRAM or the core's URAM, or one in the core's OL memory at its P4
/// address. Why: the hypervisor's stubs and wasm2c's code reach the
/// core's URAM and OL memory through a few base registers, and each of
/// those accesses first missed the DRAM test (and the URAM one, for OL
/// memory); guests' code reaches DRAM, tested first anyway.
pub(crate) fn memory_hints<B: Bus>(r: &[u32; 16], bus: &mut B, core: usize) -> MemoryHints {
    let memories = direct_memories(bus, core);
    let holds = |ram: &super::PlainRam, addr: u32| addr.wrapping_sub(ram.phys) < ram.len as u32;
    r.map(|v| {
        memories.iter().find_map(|&(memory, ram)| {
            let ram = ram?;
            let at = match memory {
                Memory::P4 => v,
                _ if matches!(v >> 29, 4 | 5) => v & 0x1FFF_FFFF,
                _ => return None,
            };
            holds(&ram, at).then_some(memory)
        })
    })
}

impl Direct {
    pub(crate) const NONE: Direct = Direct { minus_vlo: 0, limit: [0; 3], host: std::ptr::null_mut(), offset: 0 };

    fn new(vlo: u32, len: u32, host: *mut u8, offset: u64) -> Direct {
        Direct { minus_vlo: vlo.wrapping_neg(), limit: [len, len >> 1, len >> 2], host, offset }
    }

    /// Bytes; 0 when the window has no part in the memory.
    pub fn len(&self) -> u32 {
        self.limit[0]
    }

    /// Index in `Cpu::jit_direct` of the range for loads (`store` false) or
    /// stores in `memory`.
    pub const fn at(store: bool, memory: Memory) -> usize {
        Memory::ALL.len() * store as usize + memory as usize
    }

    /// All of `ram`, at its own address (a memory reached untranslated).
    fn whole(ram: &FrameRam) -> Direct {
        if ram.len == 0 || ram.len > u32::MAX as u64 || ram.phys % 4 != 0 || ram.len % 4 != 0 {
            return Direct::NONE;
        }
        Direct::new(ram.phys, ram.len as u32, ram.host, 0)
    }

    /// Where `window` lands in `ram`.
    fn of(window: super::Window, ram: &FrameRam) -> Direct {
        if ram.len == 0 || window.base & !window.mask != 0 {
            // No memory, or the empty window (it matches no address).
            return Direct::NONE;
        }
        // The window maps `base ..= base | !mask` to `base + delta` on.
        let span = (!window.mask) as u64 + 1;
        let start = window.base.wrapping_add(window.delta) as u64;
        let (lo, hi) = (start.max(ram.phys as u64), (start + span).min(ram.phys as u64 + ram.len));
        // A part of the window that wraps past 4 GiB is left out: its
        // accesses take the handler, which is only slower.
        if lo >= hi || hi - lo > u32::MAX as u64 {
            return Direct::NONE;
        }
        let vlo = window.base.wrapping_add((lo - start) as u32);
        // The one comparison tests alignment only from a 4-aligned start.
        if vlo % 4 != 0 || (hi - lo) % 4 != 0 {
            return Direct::NONE;
        }
        let offset = lo - ram.phys as u64;
        // SAFETY: `offset` is inside the memory (`lo < hi <= phys + len`).
        let host = unsafe { ram.host.add(offset as usize) };
        Direct::new(vlo, (hi - lo) as u32, host, offset)
    }
}

impl<B: Bus> Frame<B> {
    /// The frame of one call of a translation in `rounds` (whose `end` is
    /// the limit): the translation may run through round ends up to
    /// `rounds.horizon` (`Cpu::jit_horizon`) if the bus keeps a flag of
    /// device accesses and no device was reached since the run began.
    pub fn in_rounds(cpu: &mut Cpu, bus: &mut B, rounds: &super::Rounds, assumed: &Latencies) -> Frame<B> {
        let mut frame = Frame::new(cpu, bus, rounds.end, assumed);
        // SAFETY: the frame's CPU and bus are live for the whole call.
        let (cpu, bus) = unsafe { (&mut *frame.cpu, &mut *frame.bus) };
        if rounds.horizon <= rounds.end {
            return frame;
        }
        // Compiled code moves the limit on by one quantum at a time
        // (`translate::pass_round`), where `Rounds::pass` finds the next
        // end by division: the same ends if this one is a multiple of the
        // quantum, as every round's end below a horizon is.
        debug_assert_eq!(rounds.end % rounds.quantum, 0, "a round's end below the horizon: {rounds:?}");
        if let Some(flag) = bus.device_access_flag() {
            // SAFETY: the flag is the bus's, live with it.
            if !unsafe { *flag } {
                frame.device_access = flag;
                cpu.jit_horizon = rounds.horizon.min(JIT_LIMIT_MAX);
                cpu.jit_quantum = rounds.quantum;
            }
        }
        frame
    }

    /// The frame of one call of a translation compiled counting the
    /// latencies `assumed` (`Jit::latencies`; the same for every frame of
    /// a CPU, so not one of the inputs its ranges are kept by).
    pub fn new(cpu: &mut Cpu, bus: &mut B, limit: u64, assumed: &Latencies) -> Frame<B> {
        let ram = bus.plain_ram();
        let local = bus.local_ram(cpu.id);
        // P4 answers privileged code only (user code gets an address
        // error); a change of SR.MD ends the translation.
        let p4 = if cpu.privileged() { bus.p4_ram(cpu.id) } else { None };
        let p4_stores = cpu.sr & super::sr::BL != 0 && p4.is_some() && bus.p4_ram_stores_are_quiet();
        let inputs = DirectInputs {
            ram: FrameRam::of(ram),
            local: FrameRam::of(local),
            p4: FrameRam::of(p4),
            p4_stores,
            store_ok: !bus.code_written(),
            windows: [cpu.read_window, cpu.write_window],
        };
        cpu.jit_limit = limit.min(JIT_LIMIT_MAX);
        cpu.jit_horizon = cpu.jit_limit;
        let frame = Frame {
            retired: 0,
            exception: None,
            ram_reservations: ram.or(local).map_or(std::ptr::null(), |r| r.reservations),
            ram_store_marks: ram.map_or(std::ptr::null(), |r| r.store_marks),
            inputs,
            chain: std::ptr::null(),
            blocks: std::ptr::null(),
            crossed: 0,
            chained: 0,
            device_access: std::ptr::null(),
            assumed,
            cpu,
            bus,
        };
        // SAFETY: the frame's CPU is live for the whole call.
        let cpu = unsafe { &mut *frame.cpu };
        if cpu.jit_direct_made_from != Some(inputs) {
            for store in [false, true] {
                for memory in Memory::ALL {
                    cpu.jit_direct[Direct::at(store, memory)] = frame.range(store, memory);
                }
            }
            cpu.jit_direct_made_from = Some(inputs);
        }
        frame
    }

    /// After a handler: the direct ranges of a data window it moved.
    ///
    /// A window that moved to the other memory leaves that memory's range
    /// as it was: its translation still holds, since nothing that could
    /// change a translation happened. Whatever could (`invalidate_windows`:
    /// SR, MMU and TLB changes) also sets `code_vbase` to `NO_CODE`, as
    /// does a store to code, and the translation leaves right after that
    /// handler, before any access through the ranges; a refresh that sees
    /// `NO_CODE` drops the ranges all the same. Why keep them:
    /// code that reads the core's URAM and DRAM in turn (the hypervisor)
    /// moves its window at nearly every access, and each move took the
    /// handler.
    fn refresh(&mut self) {
        // SAFETY: the frame's CPU is live for the whole call.
        let cpu = unsafe { &mut *self.cpu };
        let windows = [cpu.read_window, cpu.write_window];
        if cpu.code_vbase == super::NO_CODE {
            cpu.jit_direct = [Direct::NONE; DIRECT_RANGES];
            cpu.jit_direct_made_from = None;
            self.inputs.windows = windows;
            return;
        }
        for (store, window) in [false, true].into_iter().zip(windows) {
            if window != self.inputs.windows[store as usize] {
                // The ranges are no longer those the frame's inputs make.
                cpu.jit_direct_made_from = None;
                self.inputs.windows[store as usize] = window;
                for memory in [Memory::Plain, Memory::Local] {
                    let range = self.range(store, memory);
                    if range.len() != 0 {
                        cpu.jit_direct[Direct::at(store, memory)] = range;
                    }
                }
            }
        }
    }

    /// Whether the plain RAM's read latency is still the one the call's
    /// translations count (`Latencies`). They count it at compile time for
    /// their `literal` loads too, which have no way to the handler; so a
    /// frame where it changed is not entered: the tier starts again from
    /// the bus's new latencies (`Jit::forget_latencies`).
    pub fn latencies_hold(&self) -> bool {
        // SAFETY: the tier's latencies outlive the call.
        let assumed = unsafe { &*self.assumed };
        let ram = &self.inputs.ram;
        ram.len == 0 || ram.latency == assumed[Direct::at(false, Memory::Plain)]
    }

    /// Where compiled code may load from (or store to) `memory` now: where
    /// the data window lands in it, or all of the P4 memory; nowhere if
    /// its latency now is not the one translations count.
    fn range(&self, store: bool, memory: Memory) -> Direct {
        let inputs = &self.inputs;
        if store && !inputs.store_ok {
            return Direct::NONE;
        }
        let ram = match memory {
            Memory::Plain => &inputs.ram,
            Memory::Local => &inputs.local,
            // A store to P4 that `p4::write` would yield for (as for a
            // peripheral) takes the handler.
            Memory::P4 if store && !inputs.p4_stores => return Direct::NONE,
            Memory::P4 => &inputs.p4,
        };
        // SAFETY: the tier's latencies outlive the call.
        let assumed = unsafe { &*self.assumed };
        if (if store { ram.write_latency } else { ram.latency }) != assumed[Direct::at(store, memory)] {
            return Direct::NONE;
        }
        match memory {
            Memory::P4 => Direct::whole(ram),
            _ => Direct::of(inputs.windows[store as usize], ram),
        }
    }
}

/// A translation: a function of Cranelift's `tail` convention taking
/// `frame` (a `*mut Frame<B>`) and returning `EXIT_*`. Rust cannot call
/// that convention: `enter` does, through the translator's trampoline.
/// Why that convention: a hand-over is then a tail call from the exit
/// that takes it, a jump the host predicts per exit, where a return to a
/// loop that called the next translation was one indirect call for all
/// of them (and a return and a call more).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(transparent)]
pub(crate) struct Translated(std::ptr::NonNull<u8>);

/// The code `enter` calls: `(frame, translation) -> EXIT_*`, in the host's
/// own calling convention.
pub(crate) type Trampoline = unsafe extern "C" fn(frame: *mut u8, code: *const u8) -> u32;

/// The translation stopped where the loop takes over (state is exactly the
/// loop's after the last instruction it ran).
pub(crate) const EXIT_CONTINUE: u32 = 0;
/// The last instruction raised `Frame::exception` (counted, not entered).
pub(crate) const EXIT_EXCEPTION: u32 = 1;

/// Run the translation `code` (through `trampoline`, the translator's),
/// and each one it hands over to, until one returns to the loop
/// (`EXIT_CONTINUE` or `EXIT_EXCEPTION`). A hand-over is a tail call at a
/// word that has a translation, of its block or (in P1/P2) of another,
/// with the state exactly the loop's there: no slot pending, nothing
/// flagged, the PC stored (and, for another block, its base in
/// `code_vbase` and `Frame::crossed` set), `Frame::chained` counted.
///
/// Safety: as for calling `code` (its block's contract), with
/// `frame.chain` null or the entry table of `code`'s block, and
/// `frame.blocks` null or the tier's table of blocks.
pub(crate) unsafe fn enter<B>(trampoline: Trampoline, code: Translated, frame: &mut Frame<B>) -> u32 {
    // SAFETY: the caller's contract; a hand-over comes from those tables,
    // and leaves the state the next translation's contract asks for.
    unsafe { trampoline(frame as *mut Frame<B> as *mut u8, code.0.as_ptr()) }
}

/// A handler call from compiled code. The handler runs exactly as the loop
/// would run it; its exception is parked in the frame.
///
/// Safety: `frame` is the live `Frame<B>` of the call, `handler` a
/// `Handler<B>` of the opcode table.
pub(crate) unsafe extern "C" fn exec<B: Bus>(frame: *mut Frame<B>, handler: *const (), op: u32) -> u32 {
    // SAFETY: the caller's contract.
    unsafe { run_handler(&mut *frame, handler, op, false, false) }
}

/// `exec` for a load or store that missed the call's direct ranges: the
/// frame then takes the ranges of the window the access moved
/// (`Frame::refresh`). Other handlers need not: a range left as it was
/// stays right (see `refresh`), and only an access that missed gains from
/// a new one.
///
/// Safety: as `exec`.
pub(crate) unsafe extern "C" fn exec_memory<B: Bus>(frame: *mut Frame<B>, handler: *const (), op: u32) -> u32 {
    // SAFETY: the caller's contract.
    unsafe { run_handler(&mut *frame, handler, op, true, false) }
}

/// `exec` for a delay slot: the handler runs with `in_delay_slot` set, and
/// its exception becomes the slot form (`Exception::in_delay_slot`). The
/// call's ranges are refreshed as after `exec_memory`.
///
/// Safety: as `exec`.
pub(crate) unsafe extern "C" fn exec_slot<B: Bus>(frame: *mut Frame<B>, handler: *const (), op: u32) -> u32 {
    // SAFETY: the caller's contract.
    unsafe { run_handler(&mut *frame, handler, op, true, true) }
}

/// The handler call of `exec`, `exec_memory` and `exec_slot`.
///
/// Safety: as `exec`.
#[inline(always)]
unsafe fn run_handler<B: Bus>(f: &mut Frame<B>, handler: *const (), op: u32, refresh: bool, slot: bool) -> u32 {
    // SAFETY: a handler pointer round-trips through `*const ()` unchanged.
    let h = unsafe { std::mem::transmute::<*const (), super::decode::Handler<B>>(handler) };
    // SAFETY: the caller's contract (the frame's CPU and bus are live).
    let (cpu, bus) = unsafe { (&mut *f.cpu, &mut *f.bus) };
    cpu.in_delay_slot = slot;
    let r = h(cpu, bus, op as u16);
    cpu.in_delay_slot = false;
    // SAFETY: the flag, if any, is the bus's, live with it.
    if !f.device_access.is_null() && unsafe { *f.device_access } {
        // The core stops at the end of this round (`Rounds::pass`).
        cpu.jit_horizon = cpu.jit_limit;
    }
    if refresh {
        f.refresh();
    }
    match r {
        Ok(()) => EXIT_CONTINUE,
        Err(e) => {
            f.exception = Some(if slot { e.in_delay_slot() } else { e });
            EXIT_EXCEPTION
        }
    }
}

/// A translation to enter, and its block's entry table (`Frame::chain`).
pub(crate) type Entry = (Translated, *const Option<Translated>);

/// The translations of one decoded block at one virtual base. Compiled
/// code reads `phys`, `vbase` and `entry` (`Frame::blocks`).
pub(crate) struct BlockCode {
    phys: u32,
    vbase: u32,
    /// Which `BlockCode` this is, of all the tier made: an answer from the
    /// compiler thread applies only to the one that asked.
    generation: u64,
    /// Visits a word needs before it is translated (see `MAX_BACKOFF`).
    threshold: u32,
    heat: [u32; BLOCK_OPS],
    entry: [Option<Translated>; BLOCK_OPS],
}

/// Counters of the tier, for the report and the tests.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct JitStats {
    /// Translations compiled.
    pub translations: u64,
    /// Entries the translator refused (they stay interpreted).
    pub refused: u64,
    /// Times the code cap was reached and every translation freed.
    pub flushes: u64,
    /// Compiled bytes held now.
    pub code_bytes: u64,
    /// Guest instruction words translated (over all translations).
    pub words: u64,
    /// Blocks whose translations a store dropped.
    pub dropped: u64,
    /// Times the loop entered a translation.
    pub calls: u64,
    /// Times a translation handed over to another (a tail call).
    pub chained: u64,
    /// Instructions retired inside translations.
    pub retired: u64,
    /// Translations the compiler thread made that were not installed:
    /// their block was written or gave its table entry to another since
    /// they were asked for, or a flush came between.
    pub stale: u64,
    /// Translations are compiled on a thread of their own: these counts
    /// then depend on when they came in, and vary from run to run (the
    /// simulated machine does not).
    pub background: bool,
}

/// "12 translations of 300 words, 40 KiB of host code held, 0 refused, 0
/// flushes; 90000 instructions run translated, 45.0 per entry from the
/// loop, 1800 hand-overs": the reports' line (`rp1 run`'s summary, `rp1
/// hv`'s report), after "compiled in the background (counts vary from
/// run to run): " when they do.
impl std::fmt::Display for JitStats {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if self.background {
            write!(f, "{BACKGROUND_NOTE}")?;
        }
        write!(
            f,
            "{} translations of {} words, {} KiB of host code held, {} refused, {} flushes; {} instructions run translated, {:.1} per entry from the loop, {} hand-overs",
            self.translations,
            self.words,
            self.code_bytes / 1024,
            self.refused,
            self.flushes,
            self.retired,
            self.retired as f64 / self.calls.max(1) as f64,
            self.chained
        )
    }
}

/// What the tier's counters start with when they vary from run to run.
pub const BACKGROUND_NOTE: &str = "compiled in the background (counts vary from run to run): ";

/// Where translations are compiled.
enum Compile<B> {
    /// On the simulating thread, when a word turns hot (the tier's
    /// counters are then the same in every run).
    Here(translate::Translator),
    /// On a thread of its own (`background`).
    Background(background::Compiler<B>),
}

/// The tier's state, kept beside the decoded-code cache (one per bus).
pub struct Jit<B> {
    compile: Compile<B>,
    /// Flushes so far: answers compiled before the last flush are stale.
    epoch: u64,
    /// `BlockCode`s made so far.
    generations: u64,
    /// Translations asked of the compiler thread and not yet answered.
    asked: usize,
    /// Answers are installed only by `settle`, not at arrivals: a run that
    /// settles at fixed points is then the same run every time, counters
    /// included (the tests).
    answers_at_settle_only: bool,
    blocks: Vec<Option<Box<BlockCode>>>,
    /// Per table entry: how many times its block's translations were
    /// dropped (capped at `MAX_BACKOFF`).
    drops: Vec<u8>,
    /// Compiled bytes held before a flush (`CODE_CAP` unless changed).
    code_cap: usize,
    /// Visits before a word is translated (`HOT_THRESHOLD` or
    /// `BACKGROUND_HOT` unless changed).
    hot: u32,
    /// `hot` was set (`set_hot`), not taken from where the tier compiles.
    hot_chosen: bool,
    /// The latencies every translation counts: the bus's when the first
    /// was asked for. A bus's do not change in practice; where they
    /// would, `Frame::range` keeps translations exact for the memories of
    /// their accesses, and a change of the plain RAM's read latency
    /// starts the tier again (`forget_latencies`).
    latencies: Option<Latencies>,
    pub stats: JitStats,
    _bus: PhantomData<fn(&mut B)>,
}

impl<B: Bus> Jit<B> {
    /// A tier for the host this runs on; an error if Cranelift has no
    /// backend for it.
    pub fn new() -> Result<Jit<B>, String> {
        Ok(Jit {
            compile: Compile::Here(translate::Translator::new()?),
            epoch: 0,
            generations: 0,
            asked: 0,
            answers_at_settle_only: false,
            blocks: (0..JIT_SLOTS).map(|_| None).collect(),
            drops: vec![0; JIT_SLOTS],
            code_cap: CODE_CAP,
            hot: HOT_THRESHOLD,
            hot_chosen: false,
            latencies: None,
            stats: JitStats::default(),
            _bus: PhantomData,
        })
    }

    /// Hold at most `bytes` of compiled code (flushing everything when a
    /// translation would start beyond it): `CODE_CAP` by default; smaller
    /// caps exercise the flush.
    pub fn set_code_cap(&mut self, bytes: usize) {
        self.code_cap = bytes;
    }

    /// Compile on a thread of its own (`background`) or, `false`, on the
    /// simulating thread when a word turns hot. Every translation made so
    /// far is dropped. Errors if the thread cannot start.
    pub fn set_background(&mut self, on: bool) -> Result<(), String> {
        if on == matches!(self.compile, Compile::Background(_)) {
            return Ok(());
        }
        let compile = if on {
            Compile::Background(background::Compiler::start()?)
        } else {
            Compile::Here(translate::Translator::new()?)
        };
        // The old compiler goes with its code (none of it is running),
        // and with the answers it owed.
        self.forget_translations();
        self.compile = compile;
        self.asked = 0;
        self.stats.background = on;
        if !self.hot_chosen {
            self.hot = if on { BACKGROUND_HOT } else { HOT_THRESHOLD };
        }
        Ok(())
    }

    /// Translate a word after `visits` visits (in a block never dropped;
    /// `MAX_BACKOFF` still doubles it per drop).
    pub fn set_hot(&mut self, visits: u32) {
        self.hot = visits.max(1);
        self.hot_chosen = true;
    }

    /// The table of blocks, for `Frame::blocks`.
    pub(crate) fn blocks(&self) -> *const Option<Box<BlockCode>> {
        self.blocks.as_ptr()
    }

    /// What `enter` calls translations through.
    pub(crate) fn trampoline(&self) -> Trampoline {
        match &self.compile {
            Compile::Here(t) => t.trampoline(),
            Compile::Background(c) => c.trampoline(),
        }
    }

    /// The latencies the translations count (`Latencies`), once one was
    /// asked for.
    pub(crate) fn latencies(&self) -> Option<&Latencies> {
        self.latencies.as_ref()
    }

    /// The table entry of physical block `phys`.
    #[inline(always)]
    fn index(phys: u32) -> usize {
        (phys / BLOCK_BYTES) as usize % JIT_SLOTS
    }

    /// A store reached physical block `phys`: its translations go (their
    /// code stays allocated until the next flush; `CODE_CAP` counts it),
    /// and it needs twice the visits to be translated again.
    pub fn drop_written(&mut self, phys: u32) {
        let at = Self::index(phys);
        if self.blocks[at].as_ref().is_some_and(|b| b.phys == phys) {
            let code = self.blocks[at].take();
            if code.is_some_and(|b| b.entry.iter().any(Option::is_some)) {
                self.drops[at] = (self.drops[at] + 1).min(MAX_BACKOFF);
                self.stats.dropped += 1;
            }
        }
    }

    /// Control arrived at word `i` of the decoded `block` (at physical
    /// `phys`, running at `vbase`): by a branch, an exception return, the
    /// end of a translation or a new time slice, anything but falling
    /// through from the word before. The translation entered there, if
    /// there is one; otherwise one more visit, and a translation made now
    /// if that made the word hot (`hints_and_latencies` gives what it is
    /// asked for with: where the registers point, and the bus's
    /// latencies, which the first request fixes for every translation).
    ///
    /// Why only arrivals: the interpreter runs a loop that is not yet hot
    /// word by word, and if every word it ran were a visit, every word of
    /// the loop would turn hot together, each compiled as an entry of its
    /// own (thousands of overlapping translations, most never entered).
    #[inline(always)]
    pub(crate) fn entry(
        &mut self,
        block: &Block<B>,
        table: &OpTable<B>,
        phys: u32,
        vbase: u32,
        i: usize,
        hints_and_latencies: impl FnOnce() -> (MemoryHints, Latencies),
    ) -> Option<Entry> {
        if let Compile::Background(c) = &self.compile {
            if c.has_answers() && !self.answers_at_settle_only {
                self.take_answers();
            }
        }
        if let Some(code) = &mut self.blocks[Self::index(phys)] {
            if code.vbase == vbase && code.phys == phys {
                if let Some(f) = code.entry[i] {
                    return Some((f, code.entry.as_ptr()));
                }
                let heat = &mut code.heat[i];
                if *heat >= ASKED {
                    return None;
                }
                *heat += 1;
                if *heat < code.threshold {
                    return None;
                }
            }
        }
        self.visit_cold(block, table, phys, vbase, i, hints_and_latencies)
    }

    #[inline(never)]
    fn visit_cold(
        &mut self,
        block: &Block<B>,
        table: &OpTable<B>,
        phys: u32,
        vbase: u32,
        i: usize,
        hints_and_latencies: impl FnOnce() -> (MemoryHints, Latencies),
    ) -> Option<Entry> {
        let at = Self::index(phys);
        let code = self.block_code(at, phys, vbase);
        if code.heat[i] < code.threshold {
            code.heat[i] += 1;
            return None;
        }
        if self.stats.code_bytes as usize >= self.code_cap {
            self.flush();
        }
        let (epoch, generation) = (self.epoch, self.block_code(at, phys, vbase).generation);
        if matches!(self.compile, Compile::Background(_)) && self.asked >= MAX_IN_FLIGHT {
            return None;
        }
        let (hints, now) = hints_and_latencies();
        // The first translation's are every translation's.
        let latencies = *self.latencies.get_or_insert(now);
        let result = match &mut self.compile {
            Compile::Here(t) => t.translate::<B>(block, table, vbase, i, &hints, &latencies),
            Compile::Background(c) => {
                let request =
                    background::Request { block: block.snapshot(), vbase, entry: i, hints, latencies, slot: at, generation, epoch };
                let asked = c.ask(request);
                self.asked += asked as usize;
                self.block_code(at, phys, vbase).heat[i] = if asked { ASKED } else { NEVER };
                return None;
            }
        };
        self.take(at, generation, i, result)
    }

    /// A translation of word `i` finished (or refused) for the block
    /// record of table entry `at` with `generation`: counted, and entered
    /// in that record's entry table if it is still there (else stale: a
    /// store dropped it or another block took the entry). Returns the
    /// entry, if it was installed. The one place both ways of compiling
    /// record their results.
    fn take(&mut self, at: usize, generation: u64, i: usize, result: Result<translate::Done, String>) -> Option<Entry> {
        if let Ok(done) = &result {
            // Held until the next flush whether installed or not.
            self.stats.code_bytes += done.bytes as u64;
        }
        let Some(code) = self.blocks[at].as_mut().filter(|b| b.generation == generation) else {
            self.stats.stale += 1;
            return None;
        };
        match result {
            Ok(done) => {
                self.stats.translations += 1;
                self.stats.words += done.words as u64;
                code.entry[i] = Some(done.code);
                Some((done.code, code.entry.as_ptr()))
            }
            Err(_) => {
                self.stats.refused += 1;
                code.heat[i] = NEVER;
                None
            }
        }
    }

    /// The translations of physical block `phys` at `vbase`, in table
    /// entry `at`: those there, or a fresh record in place of whatever
    /// else was.
    fn block_code(&mut self, at: usize, phys: u32, vbase: u32) -> &mut BlockCode {
        if self.blocks[at].as_ref().is_some_and(|code| code.vbase != vbase || code.phys != phys) {
            self.blocks[at] = None;
        }
        let threshold = self.hot << self.drops[at];
        let generations = &mut self.generations;
        self.blocks[at].get_or_insert_with(|| {
            *generations += 1;
            Box::new(BlockCode {
                phys,
                vbase,
                generation: *generations,
                threshold,
                heat: [0; BLOCK_OPS],
                entry: [None; BLOCK_OPS],
            })
        })
    }

    /// Install the compiler thread's answers: each whose block is still
    /// the one that asked (no store dropped it, no other took its table
    /// entry, no flush came between).
    #[inline(never)]
    fn take_answers(&mut self) {
        self.answers(false);
    }

    /// Wait for every translation asked of the compiler thread and install
    /// it (a run that does this at fixed points is the same run every time,
    /// counters included: the tests).
    pub fn settle(&mut self) {
        self.answers(true);
    }

    /// Install answers only at `settle` (true), or also whenever they come
    /// in (false, the default).
    pub fn set_answers_at_settle_only(&mut self, on: bool) {
        self.answers_at_settle_only = on;
    }

    /// Install the answers waiting, or with `wait` all still to come.
    fn answers(&mut self, wait: bool) {
        loop {
            let wait = wait && self.asked > 0;
            let Compile::Background(c) = &self.compile else { return };
            let Some(a) = c.answer(wait) else { return };
            self.asked -= 1;
            if a.epoch != self.epoch {
                // Compiled before a flush: its code is freed.
                self.stats.stale += 1;
                continue;
            }
            self.take(a.slot, a.generation, a.entry, a.result);
        }
    }

    /// The bus's latencies are no longer those every translation counts
    /// (`Frame::latencies_hold`): every translation goes (a flush), and
    /// the next one asked for takes the latencies there are then.
    pub(crate) fn forget_latencies(&mut self) {
        self.flush();
        self.latencies = None;
    }

    /// Free every translation and its code.
    fn flush(&mut self) {
        self.forget_translations();
        match &mut self.compile {
            Compile::Here(t) => t.reset(),
            Compile::Background(c) => c.reset(),
        }
        self.stats.flushes += 1;
    }

    /// Drop every block's translations, and make the answers still to
    /// come stale (a new epoch): their code is about to be freed.
    fn forget_translations(&mut self) {
        self.blocks.iter_mut().for_each(|b| *b = None);
        self.epoch += 1;
        self.stats.code_bytes = 0;
    }
}

#[cfg(test)]
mod tests;
