//! spumone-board: the Rust half of the hypervisor's board image.
//!
//! One copy of this code runs on every core, each with its own linear
//! memory, which the C runtime (`rt/runtime.c`) places over that core's
//! URAM: so every `static` here is per core, and nothing written here is
//! ever seen by another core. The assembly entry stubs (`rt/entry.S`) save
//! the interrupted registers into [`frame::Frame`], call [`hv_enter`], and
//! resume whatever the frame then holds (or sleep, or halt).
//!
//! Owns: the board's implementation of `percore::hw::CoreHardware` (over
//! the MMIO accessors the C side imports into this module, [`mmio`]), the
//! boot sequence (read and check the boot block, start the other cores,
//! boot the instance), the trace ring in URAM, and the panic path. Must not
//! touch: decisions (every one is `spumone-percore`'s or
//! `spumone-migration`'s), another core's memory, the cost table (nothing
//! is charged: every cost is what this code takes to run).
#![no_std]

pub mod board_core;
pub mod frame;
pub mod layout;
pub mod mmio;

use board_core::{Action, BoardCore};
use core::fmt::Write;
use frame::Frame;
use spumone_percore::bootblock;
use spumone_percore::hw::CoreHardware;
use spumone_percore::instance::Instance;
use spumone_percore::rp1::Rp1;
use spumone_percore::tracebuf::{self, EntryOutcome};

/// Everything this core's hypervisor keeps, in its URAM.
struct State {
    instance: Instance,
    /// The board's view of the core between entries.
    core: BoardCore,
}

static mut FRAME: Frame = Frame::ZERO;
static mut STATE: State = State { instance: Instance::new(), core: BoardCore::new() };

/// The linear-memory offset of the register frame the entry stubs fill.
#[no_mangle]
pub extern "C" fn hv_frame() -> u32 {
    core::ptr::addr_of!(FRAME) as u32
}

/// The linear-memory offset of the window in which entry.S may answer
/// the running vCPU's hypercalls and deliver its IPI ICI itself.
#[no_mangle]
pub extern "C" fn hv_quick_window() -> u32 {
    // SAFETY: only an address is taken, at boot, before any entry.
    let state = unsafe { &*core::ptr::addr_of!(STATE) };
    state.core.quick_window()
}

/// What entry.S relies on in the Rust side's layouts and numbers.
mod stub_layouts {
    use core::mem::offset_of;
    use spumone_kernel::hypercall::Hypercall;
    use static_assertions::const_assert_eq;
    // The IPI ICI's path: what it reads and writes in the running vCPU's
    // context (CTX_*), where the ICI's message is (INTEVT), which
    // interrupt it enters (VIRTUAL_IPI_INTEVT + 0x20 m, at VBR + 0x600),
    // and the trace ring's header and records (TRACE_*).
    const_assert_eq!(offset_of!(spumone_kernel::vcpu::VcpuContext, intevt), 4);
    const_assert_eq!(offset_of!(spumone_kernel::vcpu::VcpuContext, vbr), 204);
    const_assert_eq!(offset_of!(spumone_kernel::vcpu::VcpuContext, virtual_imask), 208);
    const_assert_eq!(spumone_percore::hw::IPI_ICI_INTEVT, 0xf40);
    const_assert_eq!(spumone_percore::instance::VIRTUAL_IPI_INTEVT, 0xf00);
    const_assert_eq!(spumone_migration::ipi::MESSAGE_BITS, 0xff);
    const_assert_eq!(spumone_percore::tracebuf::HEADER_WORDS, 16);
    const_assert_eq!(spumone_percore::tracebuf::RECORD_WORDS, 4);
    const_assert_eq!(spumone_percore::tracebuf::header::CAPACITY, 2);
    const_assert_eq!(spumone_percore::tracebuf::header::HEAD, 3);
    const_assert_eq!(spumone_percore::tracebuf::header::TAIL, 4);
    const_assert_eq!(spumone_percore::tracebuf::header::DROPPED, 5);
    // And the trap numbers it knows (HC_TIME_NOW, HC_SEND_IPI, HC_IDLE).
    const_assert_eq!(spumone_kernel::hypercall::FIRST as usize + Hypercall::TimeNow.index(), 0x6c);
    const_assert_eq!(spumone_kernel::hypercall::FIRST as usize + Hypercall::SendIpi.index(), 0x67);
    const_assert_eq!(spumone_kernel::hypercall::FIRST as usize + Hypercall::Idle.index(), 0x63);
    // And core 0's CnINTICI (.Lintc_intici), which it indexes by core.
    const_assert_eq!(spumone_percore::rp1::ici_request_register(0), 0xfe41_0070);
}

/// Boot this core's instance. `core` is CPIDR, `entry` the address the
/// other cores start at, `linear` where this core's linear memory is
/// (P1). Returns what the stub does next ([`Action`]).
#[no_mangle]
pub extern "C" fn hv_boot(core: u32, entry: u32, linear: u32) -> u32 {
    // SAFETY: one core, one linear memory, entered only from the stub with
    // every interrupt blocked (SR.BL = 1): nothing else can hold a
    // reference to these statics while this runs.
    let (state, frame) = unsafe { (&mut *core::ptr::addr_of_mut!(STATE), &mut *core::ptr::addr_of_mut!(FRAME)) };
    layout::fill_stack_pattern();
    state.core.init(core as u8, linear);
    let mut regs = mmio::Mmio;
    let boot = match read_boot_block(&mut regs) {
        Ok(boot) => boot,
        Err(e) => {
            if core == 0 {
                let mut out = ConsoleOut(Rp1 { regs: &mut regs, core: 0 });
                let _ = write!(out, "spumone: boot configuration refused: {e}\n");
                let _ = write!(out, "spumone: no guest runs\n");
            }
            state.core.set_header(tracebuf::header::BOOT_STATE, 2);
            return Action::Halt as u32;
        }
    };
    state.core.set_header(tracebuf::header::BOOT_STATE, 1);
    let config = boot.config;
    if core == 0 {
        let mut rp1 = Rp1 { regs: &mut regs, core: 0 };
        let guests = config.guests.iter().flatten().count();
        let mut out = ConsoleOut(Rp1 { regs: rp1.regs, core: 0 });
        let _ = write!(out, "spumone: {} cores, {} guests, policy {:?}\n", config.cores, guests, config.policy);
        for target in 1..config.cores as usize {
            rp1.start_core(target, entry);
        }
    } else if core >= config.cores as u32 {
        // A core the configuration does not use stays asleep.
        return Action::Halt as u32;
    }
    let mut secondaries = [(0u8, 0u8, 0u32); bootblock::MAX_SECONDARIES];
    let mut n = 0;
    for s in boot.secondary_list() {
        secondaries[n] = s;
        n += 1;
    }
    let mut hw = state.core.lend(frame, 0);
    state.instance.boot(&mut hw, config, &secondaries[..n]);
    let action = hw.action();
    state.core.after_exit(&state.instance);
    action as u32
}

/// The core entered the hypervisor through vector `kind` (1: VBR+0x100,
/// 2: VBR+0x400, 3: VBR+0x600); the frame holds the interrupted registers.
#[no_mangle]
pub extern "C" fn hv_enter(kind: u32) -> u32 {
    // SAFETY: as in `hv_boot`: entered only from the stub, with SR.BL = 1.
    let (state, frame) = unsafe { (&mut *core::ptr::addr_of_mut!(STATE), &mut *core::ptr::addr_of_mut!(FRAME)) };
    let core = state.core.id() as usize;
    let started = Rp1 { regs: &mut mmio::Mmio, core }.cycles();
    let before = state.instance.current_vcpu().map(|v| (v.guest, v.id));
    let mut hw = state.core.lend(frame, kind);
    let class = board_core::classify(core, hw.entry());
    state.instance.enter(&mut hw);
    let action = hw.action();
    let outcome = match action {
        Action::Idle => EntryOutcome::Idle,
        _ if !hw.loaded_a_context() => EntryOutcome::Quick,
        _ if state.instance.current_vcpu().map(|v| (v.guest, v.id)) == before => EntryOutcome::Resumed,
        _ => EntryOutcome::Switched,
    };
    state.core.after_exit(&state.instance);
    let ended = Rp1 { regs: &mut mmio::Mmio, core }.cycles();
    state.core.count_entry(class, outcome, ended.wrapping_sub(started));
    action as u32
}

/// Read the boot block from its place in DRAM and check it.
fn read_boot_block(regs: &mut mmio::Mmio) -> Result<bootblock::BootConfig, bootblock::BootBlockError> {
    use spumone_percore::rp1::Registers;
    let mut words = [0u32; bootblock::MAX_WORDS];
    let base = 0xa000_0000 | bootblock::BLOCK_PHYS;
    // The header first: its length says how much more to read.
    for (i, w) in words.iter_mut().enumerate().take(bootblock::HEADER_WORDS) {
        *w = regs.read32(base + 4 * i as u32);
    }
    let len = if words[0] == bootblock::MAGIC { (words[2] / 4) as usize } else { 0 };
    let len = len.clamp(bootblock::HEADER_WORDS, bootblock::MAX_WORDS);
    for (i, w) in words.iter_mut().enumerate().take(len).skip(bootblock::HEADER_WORDS) {
        *w = regs.read32(base + 4 * i as u32);
    }
    bootblock::decode(&words)
}

/// `core::fmt` onto the SCIF0 console.
struct ConsoleOut<'a, R: spumone_percore::rp1::Registers>(Rp1<'a, R>);

impl<R: spumone_percore::rp1::Registers> Write for ConsoleOut<'_, R> {
    fn write_str(&mut self, s: &str) -> core::fmt::Result {
        self.0.console_write(s.as_bytes());
        Ok(())
    }
}

#[panic_handler]
fn panic(info: &core::panic::PanicInfo) -> ! {
    // SAFETY: reading this core's own number; nothing else runs.
    let core = unsafe { (*core::ptr::addr_of!(STATE)).core.id() };
    let mut regs = mmio::Mmio;
    let mut out = ConsoleOut(Rp1 { regs: &mut regs, core: core as usize });
    let _ = match info.location() {
        Some(l) => write!(out, "spumone: core {core}: hypervisor panic at {}:{}\n", l.file(), l.line()),
        None => write!(out, "spumone: core {core}: hypervisor panic\n"),
    };
    mmio::halt(layout::PANIC_EXIT | core as u32)
}
