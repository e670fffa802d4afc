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
use crate::layout::{PERCORE_DIRECT_GENERAL, URAM_TRACE, URAM_TRACE_BYTES};
use crate::mmio::{self, Mmio};
use core::cell::Cell;
use spumone_kernel::vcpu::VcpuContext;
use spumone_kernel::hypercall::is_hypercall;
use spumone_percore::hw::{timer_intevt, CoreHardware, Entry, TraceEvent, ICI_INTEVT, IPI_ICI_INTEVT};
use spumone_percore::instance::{Instance, QuickCalls};
use spumone_percore::rp1::{self, Registers, Rp1};
use spumone_percore::tracebuf::{self, EntryClass, EntryCosts, EntryOutcome, Writer};

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

/// The P4 registers an entry overwrites or a guest may change (the stub
/// saves them into the context): TRA, EXPEVT, INTEVT, TEA, PTEH, PTEL, TTB,
/// MMUCR.
const P4_ADDRS: [u32; 8] = [rp1::TRA, rp1::EXPEVT, rp1::INTEVT, rp1::TEA, rp1::PTEH, rp1::PTEL, rp1::TTB, rp1::MMUCR];

/// This core, as the board code knows it between entries.
pub struct BoardCore {
    id: u8,
    /// The last exit was not a quick one: what a reader sees of the
    /// instance (pending interrupts) may have changed.
    dirty: bool,
    /// What every entry took, published for a reader (header word 13).
    costs: EntryCosts,
    /// When entry.S may answer `TIME_NOW` itself (its address is in struct
    /// percore, board/rt/runtime.c).
    quick: QuickWindow,
    /// Where this core's linear memory is (a P1 address): what turns the
    /// addresses of Rust values into ones entry.S can use.
    linear: u32,
    /// The window was published in this entry: `after_exit` fills in the
    /// IPI ICI's addresses.
    published: bool,
}

/// When entry.S may answer the running vCPU's `TIME_NOW` and `SEND_IPI`
/// itself (`Instance::quick_calls`), in the words it reads: `imasks` bit n
/// allows SR.IMASK n, bit 16 the IMASK the last exit resumed the vCPU at
/// (0: never); then the times from which and until which (exclusive) it
/// may, each as its high word and its low word. Then, for `SEND_IPI`
/// (`QuickSendIpi`): the routes (4 bits per target vCPU: bit 3 allowed,
/// bits 1:0 its home), the P2 addresses of the guest's vCPU 0's location
/// word and IPI word in the CSM, the number of cores, this core, and the
/// value this core writes into a CnINTICI to raise the IPI ICI there,
/// and the IMASKs (bit n, IMASK n) at which it may answer a `SEND_IPI`
/// without reading the clock (`QuickCalls::unclocked_send_ipi`).
/// Then, for the IPI ICI (`QuickIpiIci`; within the same times): the
/// running vCPU's IPI level, the P1 addresses of its context and of its
/// pending bits in the instance (0: the ICI goes to the instance), the P2
/// address of its IPI word, the first word of its `Inject` trace record,
/// and the P1 address of the trace ring. Then, for `IDLE`
/// (`Instance::quick_idle`; within the same times, and only where the IPI
/// ICI's words are given): 1 if entry.S may answer it by sleeping in
/// place, and the first words of the vCPU's `Undispatch` and `Dispatch`
/// trace records, which it writes around the sleep.
#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct QuickWindow {
    calls: CallsWindow,
    ici: IciWindow,
}

/// The window's words for `TIME_NOW` and `SEND_IPI`, rewritten at every
/// publication (`set_quick_calls`).
#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct CallsWindow {
    imasks: u32,
    from: [u32; 2],
    until: [u32; 2],
    ipi_routes: u32,
    ipi_locations: u32,
    ipi_words: u32,
    cores: u32,
    core: u32,
    ipi_ici: u32,
    unclocked_send_ipi: u32,
}

/// The window's words for the IPI ICI, filled in after an exit that
/// published (`BoardCore::after_exit`); `trace` is set at boot.
#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct IciWindow {
    level: u32,
    ctx: u32,
    pending: u32,
    word: u32,
    record: u32,
    trace: u32,
    idle: u32,
    undispatch: u32,
    dispatch: u32,
}
static_assertions::const_assert_eq!(core::mem::size_of::<QuickWindow>(), 84);
// entry.S's QW_* offsets.
static_assertions::const_assert_eq!(core::mem::offset_of!(CallsWindow, ipi_routes), 20);
static_assertions::const_assert_eq!(core::mem::offset_of!(CallsWindow, ipi_ici), 40);
static_assertions::const_assert_eq!(core::mem::offset_of!(CallsWindow, unclocked_send_ipi), 44);
static_assertions::const_assert_eq!(core::mem::offset_of!(QuickWindow, ici), 48);
static_assertions::const_assert_eq!(core::mem::offset_of!(IciWindow, word), 60 - 48);
static_assertions::const_assert_eq!(core::mem::offset_of!(IciWindow, record), 64 - 48);
static_assertions::const_assert_eq!(core::mem::offset_of!(IciWindow, trace), 68 - 48);
static_assertions::const_assert_eq!(core::mem::offset_of!(IciWindow, idle), 72 - 48);
static_assertions::const_assert_eq!(core::mem::offset_of!(IciWindow, dispatch), 80 - 48);

impl CallsWindow {
    const NEVER: CallsWindow = CallsWindow {
        imasks: 0,
        from: [0; 2],
        until: [0; 2],
        ipi_routes: 0,
        ipi_locations: 0,
        ipi_words: 0,
        cores: 0,
        core: 0,
        ipi_ici: 0,
        unclocked_send_ipi: 0,
    };

    #[inline(always)]
    fn of(quick: Option<QuickCalls>, core: u8) -> CallsWindow {
        let Some(q) = quick else { return CallsWindow::NEVER };
        let words = |t: u64| [(t >> 32) as u32, t as u32];
        let ipi = q.send_ipi;
        CallsWindow {
            imasks: q.imasks as u32 | (q.as_resumed as u32) << 16,
            from: words(q.from),
            until: words(q.until),
            ipi_routes: ipi.routes as u32,
            ipi_locations: rp1::CSM_P2 + ipi.locations,
            ipi_words: rp1::CSM_P2 + ipi.ipi_words,
            cores: ipi.cores as u32,
            core: core as u32,
            ipi_ici: rp1::ipi_ici_request(core as usize),
            unclocked_send_ipi: q.unclocked_send_ipi as u32,
        }
    }
}

impl QuickWindow {
    const NEVER: QuickWindow = QuickWindow {
        calls: CallsWindow::NEVER,
        ici: IciWindow { level: 0, ctx: 0, pending: 0, word: 0, record: 0, trace: 0, idle: 0, undispatch: 0, dispatch: 0 },
    };
}

impl Default for BoardCore {
    fn default() -> Self {
        BoardCore::new()
    }
}

impl BoardCore {
    pub const fn new() -> BoardCore {
        BoardCore { id: 0, dirty: true, costs: EntryCosts::ZERO, quick: QuickWindow::NEVER, linear: 0, published: false }
    }

    /// Boot: learn the core number and where linear memory is (P1), lay
    /// the trace ring out.
    pub fn init(&mut self, core: u8, linear: u32) {
        self.id = core;
        self.linear = linear;
        self.quick.ici.trace = linear + URAM_TRACE;
        let mut w = Writer::init(trace_words(), core);
        w.set_header(tracebuf::header::ENTRY_COSTS_OFFSET, core::ptr::addr_of!(self.costs) as u32);
    }

    /// Where entry.S finds the `TIME_NOW` window (a linear-memory offset).
    pub fn quick_window(&self) -> u32 {
        core::ptr::addr_of!(self.quick) as u32
    }

    /// Count one entry, `cycles` long from the Rust entry to its return.
    pub fn count_entry(&mut self, class: EntryClass, outcome: EntryOutcome, cycles: u64) {
        self.costs.add(class, outcome, cycles);
    }

    pub fn id(&self) -> u8 {
        self.id
    }

    pub fn set_header(&mut self, index: usize, value: u32) {
        Writer::attach(trace_words()).set_header(index, value);
    }

    /// Lend the core to the instance for one entry through vector `kind`.
    pub fn lend<'a>(&'a mut self, frame: &'a mut Frame, kind: u32) -> Lent<'a> {
        Lent { core: self, frame, kind, action: Action::Halt, stamp: Cell::new(None), loaded: false }
    }

    /// After an entry: publish what entry.S needs of the IPI ICI (after an
    /// exit that published the quick window) and what a reader wants to
    /// know (where the counters are, what is still pending: after an exit
    /// that may have changed them). Both are rare; the test of each is
    /// inline, on every entry's path.
    #[inline(always)]
    pub fn after_exit(&mut self, instance: &Instance) {
        if self.published {
            self.publish_ipi_ici(instance);
        }
        if self.dirty {
            self.publish_header(instance);
        }
    }

    /// Whether entry.S may deliver the running vCPU's IPI ICI, and where
    /// its IPI word, context and pending bits are: this changes only where
    /// the window is published (`Instance::quick_ipi_ici`).
    #[inline(never)]
    fn publish_ipi_ici(&mut self, instance: &Instance) {
        self.published = false;
        let ici = &mut self.quick.ici;
        match (instance.quick_ipi_ici(), instance.current_vcpu()) {
            (Some(i), Some(v)) => {
                ici.level = i.level as u32;
                ici.word = rp1::CSM_P2 + i.ipi_word;
                ici.record = tracebuf::inject_head(i.guest, i.vcpu);
                ici.ctx = self.linear + core::ptr::addr_of!(v.ctx) as u32;
                ici.pending = self.linear + core::ptr::addr_of!(v.pending) as u32;
                ici.idle = instance.quick_idle() as u32;
                ici.undispatch = tracebuf::encode_event(0, &TraceEvent::Undispatch { guest: i.guest, vcpu: i.vcpu })[0];
                ici.dispatch = tracebuf::encode_event(0, &TraceEvent::Dispatch { guest: i.guest, vcpu: i.vcpu })[0];
            }
            _ => {
                ici.ctx = 0;
                ici.idle = 0;
            }
        }
    }

    fn publish_header(&mut self, instance: &Instance) {
        self.dirty = false;
        let pending: u32 = instance.resident().iter().map(|v| v.pending.count_ones()).sum();
        let (stats, mailbox, outbox) = instance.counters_ref();
        let mut w = Writer::attach(trace_words());
        w.set_header(tracebuf::header::PENDING_VIRQS, pending);
        w.set_header(tracebuf::header::STATS_OFFSET, stats as *const _ as u32);
        w.set_header(tracebuf::header::MAILBOX_STATS_OFFSET, mailbox as *const _ as u32);
        w.set_header(tracebuf::header::OUTBOX_COUNTERS_OFFSET, outbox as *const _ as u32);
        w.set_header(tracebuf::header::INSTANCE_BYTES, core::mem::size_of::<Instance>() as u32);
    }
}

/// Why core `core` entered, from what the entry left in the frame.
pub fn classify(core: usize, entry: Entry) -> EntryClass {
    match entry {
        Entry::Interrupt { intevt } if intevt == timer_intevt(core) => EntryClass::Timer,
        Entry::Interrupt { intevt } if intevt == ICI_INTEVT || intevt == IPI_ICI_INTEVT => EntryClass::Ici,
        // The INTC's device sources (TMU, SCIF); what is left is nobody's.
        Entry::Interrupt { intevt } if (0x400..0xf00).contains(&intevt) => EntryClass::Device,
        Entry::Interrupt { .. } => EntryClass::Other,
        Entry::Exception { expevt: 0x160, tra, .. } if is_hypercall((tra >> 2) as u8) => EntryClass::Hypercall,
        Entry::Exception { .. } => EntryClass::Exception,
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
    /// The instance's latest clock reading in this entry: what its trace
    /// events are stamped with (the events of one entry happen within a
    /// few microseconds; reading the clock for each would cost more).
    stamp: Cell<Option<u64>>,
    /// The exit loads a whole context (not a quick exit).
    loaded: bool,
}

impl Lent<'_> {
    pub fn action(&self) -> Action {
        self.action
    }

    /// Whether the exit loads a whole context into the frame, rather than
    /// a quick exit's few registers.
    pub fn loaded_a_context(&self) -> bool {
        self.loaded
    }

    fn rp1<'r>(&self, regs: &'r mut Mmio) -> Rp1<'r, Mmio> {
        Rp1 { regs, core: self.core.id as usize }
    }

    fn record(&mut self, words: &[u32; tracebuf::RECORD_WORDS]) {
        Writer::attach(trace_words()).push(words);
    }

    /// INTEVT as the resumed code must read it: written only if it
    /// differs from what the entry left there (a P4 store costs more than
    /// the compare).
    fn set_intevt(&self, intevt: u32) {
        if intevt != self.frame.ctx.intevt {
            Mmio.write32(rp1::INTEVT, intevt);
        }
    }
}

impl CoreHardware for Lent<'_> {
    fn core_id(&self) -> usize {
        self.core.id as usize
    }

    fn now(&self) -> u64 {
        let now = self.rp1(&mut Mmio).cycles();
        self.stamp.set(Some(now));
        now
    }

    /// Nothing is charged on the board: the work itself takes the time.
    fn charge(&mut self, _cycles: u64) {}

    fn entry(&self) -> Entry {
        let c = &self.frame.ctx;
        if self.kind == 3 {
            Entry::Interrupt { intevt: c.intevt }
        } else {
            Entry::Exception { expevt: c.expevt, tra: c.tra, tea: c.tea }
        }
    }

    fn entry_sr(&self) -> u32 {
        self.frame.ctx.sr
    }

    fn save_context(&self, ctx: &mut VcpuContext) {
        self.frame.save_into(ctx);
    }

    fn resume(&mut self, ctx: &VcpuContext, physical_imask: u8) {
        // The hardware holds what the stub saved (nothing since has changed
        // these registers): write only what the resumed vCPU must see
        // differently.
        let c = &self.frame.ctx;
        let have = [c.tra, c.expevt, c.intevt, c.tea, c.pteh, c.ptel, c.ttb, c.mmucr];
        let want = [ctx.tra, ctx.expevt, ctx.intevt, ctx.tea, ctx.pteh, ctx.ptel, ctx.ttb, ctx.mmucr];
        let mut regs = Mmio;
        for i in 0..want.len() {
            if want[i] != have[i] {
                regs.write32(P4_ADDRS[i], want[i]);
            }
        }
        self.frame.load_from(ctx, physical_imask);
        self.action = Action::Resume;
        self.loaded = true;
        self.core.dirty = true;
    }

    fn args(&self) -> [u32; 4] {
        let c = &self.frame.ctx;
        [c.reg(4), c.reg(5), c.reg(6), c.reg(7)]
    }

    fn resume_interrupted(&mut self, r0: u32, r1: Option<u32>, physical_imask: u8) {
        self.frame.resume_interrupted(r0, r1, physical_imask);
        self.action = Action::Resume;
    }

    fn resume_into_handler(&mut self, vector: u32, expevt: u32, tra: u32, physical_imask: u8) {
        let mut regs = Mmio;
        if expevt != self.frame.ctx.expevt {
            regs.write32(rp1::EXPEVT, expevt);
        }
        if tra != self.frame.ctx.tra {
            regs.write32(rp1::TRA, tra);
        }
        self.frame.resume_into_handler(vector, physical_imask);
        self.action = Action::Resume;
    }

    fn resume_into_interrupt(&mut self, vector: u32, intevt: u32, ssr_imask: u8, physical_imask: u8) {
        self.set_intevt(intevt);
        self.frame.resume_into_interrupt(vector, intevt, ssr_imask, physical_imask);
        self.action = Action::Resume;
        // A pending bit was taken: what a reader sees has changed.
        self.core.dirty = true;
    }

    fn resume_with_intevt(&mut self, intevt: u32, physical_imask: u8) {
        self.set_intevt(intevt);
        self.frame.resume_interrupted_as_is(physical_imask);
        self.action = Action::Resume;
        // The IPI ICI's quick path ends here when the IPIs it raised on the
        // running vCPU are masked: pending bits were added. (Publishing
        // only after full passes left them out of a run's end:
        // tests/board.rs, `an_ipi_left_pending_behind_a_mask_...`.)
        self.core.dirty = true;
    }

    fn idle(&mut self) {
        self.action = Action::Idle;
        self.core.dirty = true;
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

    fn shared_compare_exchange(&mut self, offset: u32, expected: u32, new: u32) -> u32 {
        mmio::compare_exchange(rp1::CSM_P2 + offset, expected, new)
    }

    fn shared_read_block(&mut self, offset: u32, words: &mut [u32]) {
        mmio::copy_words_in(rp1::CSM_P2 + offset, words);
    }

    fn shared_write_block(&mut self, offset: u32, words: &[u32]) {
        mmio::copy_words_out(rp1::CSM_P2 + offset, words);
    }

    fn barrier(&mut self) {
        mmio::synco();
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

    fn send_ipi_ici(&mut self, target: usize) {
        self.rp1(&mut Mmio).send_ipi_ici(target);
    }

    fn take_ipi_ici(&mut self) -> u8 {
        self.rp1(&mut Mmio).take_ipi_ici()
    }

    fn set_ici_levels(&mut self, mail: u8, ipi: u8) {
        self.rp1(&mut Mmio).set_ici_levels(mail, ipi);
    }

    fn set_doorbell(&mut self, level: u8) {
        self.rp1(&mut Mmio).set_doorbell(level);
    }

    fn flush_tlb(&mut self) {
        self.rp1(&mut Mmio).flush_tlb();
    }

    fn set_direct_exceptions(&mut self, vbr: u32) {
        // Where a general exception goes (the TLB miss entry adds 0x300);
        // nonzero also makes the next exit into a vCPU load
        // `hv_vectors_direct` into VBR.
        Mmio.write32(PERCORE_DIRECT_GENERAL, if vbr == 0 { 0 } else { vbr + 0x100 });
    }

    #[inline(always)]
    fn set_quick_calls(&mut self, quick: Option<QuickCalls>) {
        self.core.quick.calls = CallsWindow::of(quick, self.core.id);
        self.core.published = true;
    }

    fn arm_timer(&mut self, deadline: Option<u64>) {
        let now = self.now();
        self.rp1(&mut Mmio).arm_timer(now, deadline);
    }

    fn clear_timer(&mut self) {
        self.rp1(&mut Mmio).clear_timer();
    }

    fn power_off(&mut self, status: u32) {
        mmio::halt(status);
    }

    fn console(&mut self, guest: u8, bytes: &[u8]) {
        for chunk in bytes.chunks(tracebuf::CONSOLE_BYTES) {
            self.record(&tracebuf::encode_console(guest, chunk));
        }
    }

    fn trace(&mut self, event: TraceEvent) {
        let at = match self.stamp.get() {
            Some(t) => t,
            None => self.now(),
        };
        self.record(&tracebuf::encode_event(at, &event));
    }
}
