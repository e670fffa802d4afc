//! The board's implementation of `percore::hw::CoreHardware`: what an
//! instance can do to its core, done with the registers and memory of the
//! RP1 through the MMIO imports, the register frame the stub filled, and
//! the trace ring in URAM.
//!
//! Owns: the exit action the stub takes, the cache of the exception and
//! MMU registers between entries, and the trace ring's writer. Must not
//! touch: decisions, other cores' registers (every mask and timer write is
//! this core's own, `percore::rp1` addresses them by core number).

use crate::frame::Frame;
use crate::layout::{URAM_TRACE, URAM_TRACE_BYTES};
use crate::mmio::{self, Mmio};
use core::cell::Cell;
use spumone_kernel::vcpu::VcpuContext;
use spumone_percore::hw::{CoreHardware, Entry, TraceEvent};
use spumone_percore::instance::Instance;
use spumone_percore::rp1::{self, Registers, Rp1};
use spumone_percore::tracebuf::{self, Writer};

/// What the exit stub does after the Rust entry returns.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(u32)]
pub enum Action {
    /// Load the frame and return into it.
    Resume = 0,
    /// Sleep with every level open; the next interrupt enters again.
    Idle = 1,
    /// Sleep with every interrupt blocked, for good.
    Halt = 2,
}

/// The P4 registers an entry overwrites or a guest may change, in the
/// order of [`P4_ADDRS`]: TRA, EXPEVT, INTEVT, TEA, PTEH, PTEL, TTB.
const P4_ADDRS: [u32; 7] = [rp1::TRA, rp1::EXPEVT, rp1::INTEVT, rp1::TEA, rp1::PTEH, rp1::PTEL, rp1::TTB];

/// This core, as the board code knows it between entries.
pub struct BoardCore {
    id: u8,
    /// What the P4 registers hold now (read at the last save, or written
    /// since): a resume writes only those whose value changes.
    p4: Cell<[u32; 7]>,
}

impl Default for BoardCore {
    fn default() -> Self {
        BoardCore::new()
    }
}

impl BoardCore {
    pub const fn new() -> BoardCore {
        BoardCore { id: 0, p4: Cell::new([0; 7]) }
    }

    /// Boot: learn the core number, lay the trace ring out.
    pub fn init(&mut self, core: u8) {
        self.id = core;
        Writer::init(trace_words(), core);
        let mut regs = Mmio;
        let mut p4 = [0; 7];
        for (v, &a) in p4.iter_mut().zip(P4_ADDRS.iter()) {
            *v = regs.read32(a);
        }
        self.p4.set(p4);
    }

    pub fn id(&self) -> u8 {
        self.id
    }

    pub fn set_header(&mut self, index: usize, value: u32) {
        Writer::attach(trace_words()).set_header(index, value);
    }

    /// Lend the core to the instance for one entry through vector `kind`.
    pub fn lend<'a>(&'a mut self, frame: &'a mut Frame, kind: u32) -> Lent<'a> {
        Lent { core: self, frame, kind, action: Action::Halt }
    }

    /// After an entry: publish what a reader wants to know (where the
    /// counters are, what is still pending).
    pub fn after_exit(&mut self, instance: &Instance) {
        let pending: u32 = instance.resident().iter().map(|v| v.pending.count_ones()).sum();
        let mut w = Writer::attach(trace_words());
        w.set_header(tracebuf::header::PENDING_VIRQS, pending);
        w.set_header(tracebuf::header::STATS_OFFSET, core::ptr::addr_of!(instance.stats) as u32);
        w.set_header(tracebuf::header::INSTANCE_BYTES, core::mem::size_of::<Instance>() as u32);
    }
}

/// The trace ring's words in this core's URAM.
fn trace_words() -> &'static mut [u32] {
    // SAFETY: [URAM_TRACE, URAM_TRACE + URAM_TRACE_BYTES) of linear memory
    // is the ring and nothing else: the build checks that the linker's
    // statics end below it, and the stack is below them.
    unsafe { core::slice::from_raw_parts_mut(URAM_TRACE as *mut u32, (URAM_TRACE_BYTES / 4) as usize) }
}

/// The core lent to the instance for one entry.
pub struct Lent<'a> {
    core: &'a mut BoardCore,
    frame: &'a mut Frame,
    kind: u32,
    action: Action,
}

impl Lent<'_> {
    pub fn action(&self) -> Action {
        self.action
    }

    fn rp1<'r>(&self, regs: &'r mut Mmio) -> Rp1<'r, Mmio> {
        Rp1 { regs, core: self.core.id as usize }
    }

    fn record(&mut self, words: &[u32; tracebuf::RECORD_WORDS]) {
        Writer::attach(trace_words()).push(words);
    }
}

impl CoreHardware for Lent<'_> {
    fn core_id(&self) -> usize {
        self.core.id as usize
    }

    fn now(&self) -> u64 {
        self.rp1(&mut Mmio).cycles()
    }

    /// Nothing is charged on the board: the work itself takes the time.
    fn charge(&mut self, _cycles: u64) {}

    fn entry(&self) -> Entry {
        let mut regs = Mmio;
        if self.kind == 3 {
            Entry::Interrupt { intevt: regs.read32(rp1::INTEVT) }
        } else {
            Entry::Exception { expevt: regs.read32(rp1::EXPEVT), tra: regs.read32(rp1::TRA), tea: regs.read32(rp1::TEA) }
        }
    }

    fn save_context(&self, ctx: &mut VcpuContext) {
        self.frame.save_into(ctx);
        let mut regs = Mmio;
        let mut p4 = [0u32; 7];
        for (v, &a) in p4.iter_mut().zip(P4_ADDRS.iter()) {
            *v = regs.read32(a);
        }
        self.core.p4.set(p4);
        [ctx.tra, ctx.expevt, ctx.intevt, ctx.tea, ctx.pteh, ctx.ptel, ctx.ttb] = p4;
    }

    fn resume(&mut self, ctx: &VcpuContext, physical_imask: u8) {
        self.frame.load_from(ctx, physical_imask);
        let want = [ctx.tra, ctx.expevt, ctx.intevt, ctx.tea, ctx.pteh, ctx.ptel, ctx.ttb];
        let mut have = self.core.p4.get();
        let mut regs = Mmio;
        for i in 0..want.len() {
            if want[i] != have[i] {
                regs.write32(P4_ADDRS[i], want[i]);
                have[i] = want[i];
            }
        }
        self.core.p4.set(have);
        self.action = Action::Resume;
    }

    fn idle(&mut self) {
        self.action = Action::Idle;
    }

    fn read_guest(&mut self, phys: u32, buf: &mut [u8]) {
        mmio::copy_in(phys, buf);
    }

    fn shared_read(&mut self, offset: u32) -> u32 {
        Mmio.read32(rp1::CSM_P2 + offset)
    }

    fn shared_write(&mut self, offset: u32, value: u32) {
        Mmio.write32(rp1::CSM_P2 + offset, value)
    }

    fn init_interrupts(&mut self, level: u8) {
        self.rp1(&mut Mmio).init_interrupts(level);
    }

    fn init_device_interrupt(&mut self, intevt: u32, level: u8) {
        self.rp1(&mut Mmio).init_device(intevt, level);
    }

    fn enable_device_interrupt(&mut self, intevt: u32, enabled: bool) {
        self.rp1(&mut Mmio).enable_device(intevt, enabled);
    }

    fn send_ici(&mut self, target: usize) {
        self.rp1(&mut Mmio).send_ici(target);
    }

    fn clear_ici(&mut self) {
        self.rp1(&mut Mmio).clear_ici();
    }

    fn arm_timer(&mut self, deadline: Option<u64>) {
        let now = self.now();
        self.rp1(&mut Mmio).arm_timer(now, deadline);
    }

    fn clear_timer(&mut self) {
        self.rp1(&mut Mmio).clear_timer();
    }

    fn console(&mut self, guest: u8, bytes: &[u8]) {
        for chunk in bytes.chunks(tracebuf::CONSOLE_BYTES) {
            self.record(&tracebuf::encode_console(guest, chunk));
        }
    }

    fn trace(&mut self, event: TraceEvent) {
        let now = self.now();
        self.record(&tracebuf::encode_event(now, &event));
    }
}
