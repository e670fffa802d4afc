//! One hypervisor instance: the code that owns one physical core.
//!
//! Every exception, trap and interrupt of the core enters [`Instance::enter`].
//! The instance saves the running vCPU, handles the cause (a hypercall, a
//! guest exception to forward, its timer, a mailbox ICI), applies the
//! lock-holder-preemption policy, picks the vCPU to run by fixed priority
//! (round-robin among equals), delivers that vCPU's pending virtual
//! interrupts by emulating the SH-4A entry into its vector table, and
//! resumes it, or sleeps the core.
//!
//! Owns: the vCPUs resident on this core (their full register state, the
//! run queue and the round-robin slice), their virtual interrupts, the
//! device routes open on this core, this core's timer, and the counters.
//! It asks the lock-holder-preemption policy (`spumone_migration::policy`)
//! what to do and has the migration engine (`spumone_migration::engine`,
//! one per instance, reached through [`EnginePort`]) move vCPUs, keep
//! track of the ones away and carry the mail. Must not touch: any other
//! instance's state (it only knows other cores by number and talks to them
//! through the engine's mailbox), the engine's protocol state, the
//! simulator, the heap.
//!
//! Physical device interrupts go through the interrupt destination table
//! ([`crate::config::DeviceRoute`]): the instance on the core where the
//! owning vCPU is keeps the source unmasked there, takes the interrupt,
//! masks it and raises the vCPU's pending bit for it; the source opens
//! again once the guest's handler has brought the vCPU's level back below
//! it. A vCPU that migrates takes its sources with it: the core it leaves
//! stops them, the core it reaches opens them.
//!
//! Migration is always between a vCPU's home core and one other core:
//! departure (home -> away) and return (away -> home). So a home core
//! always knows where its vCPUs are, and messages for a vCPU go to its home,
//! which forwards them if the vCPU is away.
//!
//! An instance is built in place: [`Instance::new`] is a `const fn` (an
//! empty instance for a `static` in the core's local memory) and
//! [`Instance::boot`] initialises it where it is, so no whole instance is
//! ever moved across a small stack.

use crate::config::{Config, Policy, MAX_DEVICES, MAX_DEVICES_PER_VCPU};
use crate::hw::{timer_intevt, CoreHardware, EnginePort, Entry, TraceEvent, DOORBELL_INTEVT, ICI_INTEVT, IPI_ICI_INTEVT};
use crate::post::{Incoming, Post};
use heapless::Vec;
use spumone_kernel::guest::{GuestSpec, MAX_GUESTS, MAX_VCPUS, PREEMPT_POLL_CYCLES, THREAD_INFO_PREEMPT_COUNT};
use spumone_kernel::hypercall::{self, sr, HcError, Hypercall, ERROR_KINDS};
use spumone_kernel::ipl::GuestClass;
use spumone_kernel::vcpu::VcpuContext;
use spumone_migration::engine::{Arrival, Engine};
use spumone_migration::ipi::Raised;
use spumone_migration::layout::{ipi_offset, location_offset};
use spumone_migration::policy::{Contender, CoreView, Lhp, Preemption};

// The resident vCPU record is the kernel's (the migration engine ships
// it); re-exported under its old path.
pub use spumone_kernel::vcpu::{AwayReason, RunState, Vcpu, VirtualTimer};

/// Bytes an instance's state may take: a quarter of one RP1 core's URAM
/// (128 KiB), leaving the rest for the stack, the code's data and the
/// trace buffer. Checked at compile time for every target the crate is
/// built for (the host and wasm32); the run report prints the actual size.
/// `size_of::<Instance>()` is 15,272 bytes on wasm32 and 15,336 on x86-64
/// (`rustc -Zprint-type-sizes`, and the run report on the host): 5,640 of
/// resident vCPUs, 5,896 of in-flight migration copies (the only copy of a
/// migrating vCPU: queued posts are 12 bytes and name it), 2,352 of queued
/// posts, 256 the mailbox end, the rest the away table, the configuration
/// and the counters.
pub const STATE_BUDGET: usize = 32 * 1024;
static_assertions::const_assert!(core::mem::size_of::<Instance>() <= STATE_BUDGET);
// One bit of `Instance::devices_open` per destination-table row.
static_assertions::const_assert!(MAX_DEVICES <= 8);

/// Most vCPUs resident on one core at once: every vCPU of the machine,
/// so an arriving vCPU always has room.
pub const MAX_RESIDENT: usize = MAX_GUESTS * MAX_VCPUS;

/// The slice a spin-yield gives the vCPU it yields to (100 us): enough for
/// a lock holder's critical section, short against a round-robin slice.
pub const SPIN_YIELD_SLICE: u64 = 60_000;

/// INTEVT of the virtual timer and of virtual IPI message 0.
pub const VIRTUAL_TIMER_INTEVT: u16 = 0x400;
pub const VIRTUAL_IPI_INTEVT: u16 = 0xf00;
/// Pending-interrupt bits: bit 0 the timer, bits 1-7 the physical sources
/// the vCPU owns (in destination-table order), bit 8 + m IPI message m.
const PENDING_TIMER: u16 = 1;
const PENDING_IPI_SHIFT: u32 = 8;
/// The pending bits of physical device sources (1-7), between the timer's
/// and the IPIs'.
const PENDING_DEVICES: u16 = (1 << PENDING_IPI_SHIFT) - 2;

/// A pending interrupt chosen for delivery: its pending bit, INTEVT and
/// level.
#[derive(Clone, Copy)]
struct Delivery {
    bit: u16,
    intevt: u16,
    level: u8,
}

/// When the running vCPU's commonest hypercalls may be answered without
/// the instance ([`Instance::quick_calls`]): `TIME_NOW`, and `SEND_IPI` to
/// a vCPU on another core.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct QuickCalls {
    /// The SR.IMASK values it may call at (bit n: IMASK n), and whether
    /// also at the one the instance's last exit resumed it at.
    pub imasks: u16,
    pub as_resumed: bool,
    /// From this time (mail refused by a full ring is due until then) to
    /// this one, exclusive (the core's timer is armed for it).
    pub from: u64,
    pub until: u64,
    /// Whom its `SEND_IPI` may go to so.
    pub send_ipi: QuickSendIpi,
    /// The IMASK values (of `imasks`) at which a `SEND_IPI` may be answered
    /// so without looking at the clock: those below the hypervisor's level,
    /// while no mail is due at any time (`from` 0). Then the only thing
    /// that can be due is the core's timer, whose interrupt (at the
    /// hypervisor's level) is taken as the call returns to the vCPU; the
    /// full entry would have taken it first, a call's length earlier.
    pub unclocked_send_ipi: u16,
}

/// The IPI ICI, taken while the running vCPU is below its IPI level, may
/// be delivered by the hardware's entry path itself (the board's entry
/// stub does, docs/board-image.md) when the instance's own quick path
/// would deliver it and nothing else (`Instance::quick_ipi_ici`): then the
/// ICI can only be for the running vCPU, and delivering it is taking one
/// message bit out of its IPI word and entering its interrupt vector at
/// `level`, as `deliver_in_place` does. What the entry path must still
/// check each time, because quick exits change it: the vCPU has nothing
/// pending in the instance, its vector table is set (VBR not 0), its
/// SR.IMASK is below `level`, and the word holds exactly one message.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct QuickIpiIci {
    /// Its guest's IPI level: the SR.IMASK it runs its handler at.
    pub level: u8,
    /// Byte offset in the mailbox region (`spumone_migration::layout`) of
    /// its IPI word.
    pub ipi_word: u32,
    /// Who it is, for the `Inject` trace record.
    pub guest: u8,
    pub vcpu: u8,
}

/// The vCPUs of the running vCPU's guest whose virtual IPIs need nothing
/// of the instance here: not resident here, and their home another core.
/// Such an IPI is a bit set in the target's IPI word and an IPI ICI to
/// the core its location word names (if it names another core), else to
/// its home (`Instance::send_ipi`, `Engine::ipi_destination`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct QuickSendIpi {
    /// Four bits per vCPU `v` at bit 4v: bit 3 set if it may be sent to
    /// so, bits 1:0 its home core.
    pub routes: u16,
    /// Byte offsets in the mailbox region (`spumone_migration::layout`) of
    /// the guest's vCPU 0's location word and IPI word (vCPU v's: + 4v).
    pub locations: u32,
    pub ipi_words: u32,
    /// The cores a location word may name (as core + 1).
    pub cores: u8,
}

impl QuickSendIpi {
    /// Whether vCPU `v` may be sent to so, and its home.
    pub fn route(&self, v: u8) -> Option<u8> {
        let r = self.routes.checked_shr(4 * v as u32).unwrap_or(0);
        (r & 8 != 0).then_some((r & 3) as u8)
    }
}

/// Counters printed in the run report.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[repr(C)]
pub struct Stats {
    pub entries: u64,
    pub hypercalls: u64,
    pub hypercall_errors: [u64; ERROR_KINDS],
    pub switches: u64,
    /// Virtual interrupts injected into a guest (emulated entries).
    pub injections: u64,
    /// Virtual interrupt raises, and how many found their bit already
    /// pending. Summed over all instances at the end of a run:
    /// raised = injected + coalesced + cancelled + still pending.
    pub virqs_raised: u64,
    pub virqs_coalesced: u64,
    /// Pending timer ticks withdrawn by `TIMER_SET(0)`.
    pub virqs_cancelled: u64,
    pub forwarded_exceptions: u64,
    pub timer_interrupts: u64,
    pub icis: u64,
    pub departures_out: u64,
    pub departures_in: u64,
    pub returns_out: u64,
    pub returns_in: u64,
    pub delayed_preemptions: u64,
    pub delay_bound_hits: u64,
    pub spin_yields: u64,
    pub virtual_ipis: u64,
    /// IPI ICIs taken (virtual IPIs in the IPI words, ICI message 2).
    pub ipi_icis: u64,
    pub forwarded_messages: u64,
    /// Physical device interrupts taken (each raises its owner's pending
    /// bit), and those taken for a vCPU that is not here (left masked:
    /// the core the vCPU is on takes it).
    pub device_interrupts: u64,
    pub device_interrupts_elsewhere: u64,
    /// Entries that had no cause this instance recognises.
    pub spurious: u64,
    /// Guests stopped for a fault they had no handler for.
    pub guest_faults: u64,
    /// Messages for a vCPU that exists nowhere (dropped, counted).
    pub misrouted: u64,
    /// Migrations sent again for want of an acknowledgement, and copies a
    /// destination recognised as already taken (dropped, acknowledged).
    pub migrations_resent: u64,
    pub stale_migrations: u64,
    /// Migrations this core sent and took back (the destination declined
    /// them, or had not read them when they expired), and copies this core
    /// read after they expired (declined).
    pub migrations_taken_back: u64,
    pub migrations_expired: u64,
    /// Dispatch-first departures that never happened: the RTOS finished
    /// within the deferral, and the GPOS vCPUs it had displaced ran here
    /// again without leaving.
    pub departures_avoided: u64,
    /// Doorbells taken: a guest that masks with SR.IMASK lowered its mask
    /// below a virtual interrupt held for it.
    pub doorbells: u64,
    /// Exceptions that went from the hardware straight to a guest with
    /// direct exceptions. The board's entry stub counts them in its own
    /// word, never seen by the instance (reading it at every entry would
    /// cost every entry): the host fills this in from that word.
    pub direct_exceptions: u64,
    /// Hypercalls the board's entry stub answered without entering the
    /// instance (`TIME_NOW`, `SEND_IPI` and `IDLE`,
    /// [`Instance::quick_calls`]). The stub counts these four `*_in_stub`
    /// in words of its own, never seen by the instance, and nothing else:
    /// the host adds its work into the other counters as the instance
    /// would have counted it ([`Stats::add_stub_counts`]).
    pub hypercalls_in_stub: u64,
    /// Of those, the `SEND_IPI`s (filled in likewise).
    pub send_ipis_in_stub: u64,
    /// TLB flushes: an MMU guest's vCPU took the core after another.
    pub tlb_flushes: u64,
    /// Hypercalls by number (`Hypercall::index`; undefined numbers are
    /// in `hypercalls` only).
    pub hypercalls_by_number: [u64; hypercall::DEFINED],
    /// IPI ICIs the board's entry stub delivered without entering the
    /// instance ([`QuickIpiIci`]).
    pub ipi_icis_in_stub: u64,
    /// Of `hypercalls_in_stub`, the `IDLE`s it answered by sleeping in
    /// place ([`Instance::quick_idle`]).
    pub idles_in_stub: u64,
}
spumone_kernel::word_counters!(Stats { entries: u64, hypercalls: u64, hypercall_errors: [u64; ERROR_KINDS], switches: u64, injections: u64, virqs_raised: u64, virqs_coalesced: u64, virqs_cancelled: u64, forwarded_exceptions: u64, timer_interrupts: u64, icis: u64, departures_out: u64, departures_in: u64, returns_out: u64, returns_in: u64, delayed_preemptions: u64, delay_bound_hits: u64, spin_yields: u64, virtual_ipis: u64, ipi_icis: u64, forwarded_messages: u64, device_interrupts: u64, device_interrupts_elsewhere: u64, spurious: u64, guest_faults: u64, misrouted: u64, migrations_resent: u64, stale_migrations: u64, migrations_taken_back: u64, migrations_expired: u64, departures_avoided: u64, doorbells: u64, direct_exceptions: u64, hypercalls_in_stub: u64, send_ipis_in_stub: u64, tlb_flushes: u64, hypercalls_by_number: [u64; hypercall::DEFINED], ipi_icis_in_stub: u64, idles_in_stub: u64 });

/// What the board's entry stub counted in its own words (board/rt/
/// runtime.c, `struct percore`): one count per path, the least it can
/// keep at its speed.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct StubCounts {
    /// Exceptions sent straight to a guest.
    pub direct: u32,
    /// Hypercalls answered (`TIME_NOW`, `SEND_IPI`, `IDLE`).
    pub calls: u32,
    /// Of those, `SEND_IPI`s.
    pub send_ipis: u32,
    /// Of those, `SEND_IPI`s whose message was raised already.
    pub coalesced: u32,
    /// Of the calls, `IDLE`s slept in place.
    pub idles: u32,
    /// IPI ICIs delivered.
    pub ipi_icis: u32,
}

impl Stats {
    pub const ZERO: Stats = Stats {
        entries: 0,
        hypercalls: 0,
        hypercall_errors: [0; ERROR_KINDS],
        switches: 0,
        injections: 0,
        virqs_raised: 0,
        virqs_coalesced: 0,
        virqs_cancelled: 0,
        forwarded_exceptions: 0,
        timer_interrupts: 0,
        icis: 0,
        departures_out: 0,
        departures_in: 0,
        returns_out: 0,
        returns_in: 0,
        delayed_preemptions: 0,
        delay_bound_hits: 0,
        spin_yields: 0,
        virtual_ipis: 0,
        ipi_icis: 0,
        forwarded_messages: 0,
        device_interrupts: 0,
        device_interrupts_elsewhere: 0,
        spurious: 0,
        guest_faults: 0,
        misrouted: 0,
        migrations_resent: 0,
        departures_avoided: 0,
        stale_migrations: 0,
        migrations_taken_back: 0,
        migrations_expired: 0,
        doorbells: 0,
        direct_exceptions: 0,
        hypercalls_in_stub: 0,
        send_ipis_in_stub: 0,
        tlb_flushes: 0,
        hypercalls_by_number: [0; hypercall::DEFINED],
        ipi_icis_in_stub: 0,
        idles_in_stub: 0,
    };

    /// Add what the entry stub did into these counters as the instance
    /// counts the same work: a call answered is an entry and a hypercall
    /// of its number (the calls neither `SEND_IPI` nor `IDLE` are
    /// `TIME_NOW`s); a `SEND_IPI` raises a virtual IPI (coalesced if its
    /// bit was set); an IPI ICI delivered is an entry, an ICI of IPIs and
    /// an injection.
    pub fn add_stub_counts(&mut self, c: StubCounts) {
        let n = |x: u32| x as u64;
        // Saturating: words read from a crashed image may be anything.
        let time_nows = n(c.calls).saturating_sub(n(c.send_ipis) + n(c.idles));
        self.direct_exceptions += n(c.direct);
        self.hypercalls_in_stub += n(c.calls);
        self.send_ipis_in_stub += n(c.send_ipis);
        self.idles_in_stub += n(c.idles);
        self.ipi_icis_in_stub += n(c.ipi_icis);
        self.entries += n(c.calls) + n(c.ipi_icis);
        self.hypercalls += n(c.calls);
        self.hypercalls_by_number[Hypercall::TimeNow.index()] += time_nows;
        self.hypercalls_by_number[Hypercall::SendIpi.index()] += n(c.send_ipis);
        self.hypercalls_by_number[Hypercall::Idle.index()] += n(c.idles);
        self.virqs_raised += n(c.send_ipis);
        self.virtual_ipis += n(c.send_ipis);
        self.virqs_coalesced += n(c.coalesced);
        self.injections += n(c.ipi_icis);
        self.ipi_icis += n(c.ipi_icis);
    }
}

/// The state of one core's hypervisor.
pub struct Instance {
    core: u8,
    config: Config,
    /// The lock-holder-preemption policy and its waiting state.
    lhp: Lhp,
    vcpus: Vec<Vcpu, MAX_RESIDENT>,
    /// Index in `vcpus` of the vCPU on the core now.
    current: Option<usize>,
    /// The round-robin slice: which vCPU (guest, id) holds it and when it
    /// ends. It runs on while a higher priority preempts its owner, so an
    /// RTOS ticking faster than the slice cannot keep it from expiring.
    slice: Option<(u8, u8, u64)>,
    /// Migrations, where this core's vCPUs are while away, and the mail.
    engine: Engine,
    /// Destination-table rows whose source this core has unmasked.
    devices_open: u8,
    /// What the configuration says, looked up at every entry, kept in the
    /// form the lookups want (filled at boot): each guest's class and
    /// priority, each destination-table row's pending bit (0: no row, or
    /// past a vCPU's seventh), the rows in use.
    class_of: [GuestClass; MAX_GUESTS],
    priority_of: [u8; MAX_GUESTS],
    /// Each guest's `QuickCalls::imasks` and `as_resumed`
    /// ([`Instance::quick_calls`]).
    quick_imasks_of: [(u16, bool); MAX_GUESTS],
    /// Each guest's `QuickCalls::send_ipi`: its offsets are fixed at boot,
    /// its routes change only when one of its vCPUs comes or goes
    /// ([`Instance::refresh_send_ipi`]).
    quick_send_ipi_of: [QuickSendIpi; MAX_GUESTS],
    /// The resident vCPU (by index) whose IPI ICI the entry path may
    /// deliver, and how: changes only when a vCPU comes or goes
    /// ([`Instance::ipi_ici_candidate`]).
    quick_ipi_ici_for: Option<(u8, QuickIpiIci)>,
    /// Some guest masks with SR.IMASK (none: no IPI ICI is the entry
    /// path's to deliver).
    sr_imask_guests: bool,
    device_bits: [u16; MAX_DEVICES],
    device_rows: u8,
    /// The deadline the core's timer was last armed for: until then no
    /// time-driven work (virtual timers, slices, bounds, resends) is due.
    armed: Option<u64>,
    /// Each guest's exit status, once this core knows it (from its own
    /// vCPU's `EXIT` or fault, or from another core's `GuestExit`), and
    /// the cores still to be told of an exit this core saw first (a bit
    /// per core: a full ring retries).
    exited: [Option<u32>; MAX_GUESTS],
    unannounced: [u8; MAX_GUESTS],
    /// Every guest has exited and this core has said so (power off).
    powered_off: bool,
    /// Dispatch-first: until when the GPOS vCPUs the RTOS displaced wait
    /// here before they depart.
    departing: Option<u64>,
    /// A spin-yield rotated the running vCPU behind its equals: the next
    /// slice is short ([`SPIN_YIELD_SLICE`]).
    short_slice: bool,
    /// The mailbox ICI is closed while a single-vCPU RTOS runs here (see
    /// [`Instance::holds_mail_back`]).
    ici_closed: bool,
    /// The level the IPI ICI is taken at ([`Instance::ipi_ici_level`]).
    ipi_ici_level: u8,
    /// The level this core's doorbell is raised at (0: not raised).
    doorbell: u8,
    /// Where the running vCPU's exceptions go straight to (0: here).
    direct: u32,
    /// The MMU guest's vCPU whose TLB entries this core may hold.
    tlb_owner: Option<(u8, u8)>,
    pub stats: Stats,
}

impl Default for Instance {
    fn default() -> Instance {
        Instance::new()
    }
}

impl Instance {
    /// An empty instance that has not booted: no core, no guests. Cheap to
    /// place in a `static`; [`Instance::boot`] makes it a core's.
    pub const fn new() -> Instance {
        Instance {
            core: 0,
            config: Config::EMPTY,
            lhp: Lhp::OFF,
            vcpus: Vec::new(),
            current: None,
            slice: None,
            engine: Engine::new(),
            devices_open: 0,
            class_of: [GuestClass::GeneralPurpose; MAX_GUESTS],
            priority_of: [0; MAX_GUESTS],
            quick_imasks_of: [(0, false); MAX_GUESTS],
            quick_send_ipi_of: [QuickSendIpi { routes: 0, locations: 0, ipi_words: 0, cores: 0 }; MAX_GUESTS],
            quick_ipi_ici_for: None,
            sr_imask_guests: false,
            device_bits: [0; MAX_DEVICES],
            device_rows: 0,
            armed: None,
            exited: [None; MAX_GUESTS],
            unannounced: [0; MAX_GUESTS],
            powered_off: false,
            departing: None,
            short_slice: false,
            ici_closed: false,
            ipi_ici_level: 0,
            doorbell: 0,
            direct: 0,
            tlb_owner: None,
            stats: Stats::ZERO,
        }
    }

    /// Boot this instance, in place, as the instance of its core
    /// (`hw.core_id()`): program the core's interrupts, set up its end of
    /// the mailbox, put the boot vCPUs whose home is this core in place,
    /// also starting the secondary vCPUs listed in `secondaries` as
    /// (guest, vCPU, entry) whose home is this core, as if their guest had
    /// called `START_VCPU` (r4 = the vCPU's number), and run. The list is
    /// part of the boot configuration: every instance gets the same.
    /// Whatever the instance held before is forgotten.
    pub fn boot<H: CoreHardware>(&mut self, hw: &mut H, config: Config, secondaries: &[(u8, u8, u32)]) {
        let core = hw.core_id() as u8;
        // Field by field: no whole instance is built on the stack.
        self.core = core;
        self.config = config;
        self.lhp = config.lhp();
        self.vcpus.clear();
        self.quick_ipi_ici_for = None;
        self.sr_imask_guests = config.guests.iter().flatten().any(|g| g.sr_imask);
        self.current = None;
        self.slice = None;
        self.engine.reset(core, config.cores, config.costs.migration());
        self.devices_open = 0;
        self.stats = Stats::ZERO;
        self.armed = None;
        self.exited = [None; MAX_GUESTS];
        self.unannounced = [0; MAX_GUESTS];
        self.powered_off = false;
        self.departing = None;
        self.short_slice = false;
        for g in 0..MAX_GUESTS {
            let spec = config.guests[g];
            self.class_of[g] = spec.map_or(GuestClass::GeneralPurpose, |s| s.class);
            self.priority_of[g] = spec.map_or(0, |s| s.priority);
            // The quick exit resumes a vCPU at its physical IMASK. One that
            // masks with SR.IMASK has at that entry the level of its SR,
            // which stays as it is where the IPL separation leaves it so:
            // up to its class's ceiling. Any other has the level its last
            // exit gave it (only entries change it), which is the IMASK
            // that exit resumed.
            self.quick_imasks_of[g] = match spec {
                Some(s) if s.sr_imask => {
                    let ceiling = if config.ipl_separation { s.class.levels().1 } else { 15 };
                    (((2u32 << ceiling) - 1) as u16, false)
                }
                _ => (0, true),
            };
        }
        self.device_rows = 0;
        for r in 0..MAX_DEVICES {
            self.device_bits[r] = match config.devices[r] {
                Some(route) => {
                    let before = config.devices[..r]
                        .iter()
                        .flatten()
                        .filter(|o| (o.guest, o.vcpu) == (route.guest, route.vcpu))
                        .count();
                    if before < MAX_DEVICES_PER_VCPU { 1 << (1 + before) } else { 0 }
                }
                None => 0,
            };
            if self.device_bits[r] != 0 {
                self.device_rows |= 1 << r;
            }
        }
        hw.init_interrupts(config.hypervisor_level);
        // (Both ICIs at the hypervisor's level, as `init_interrupts` sets them.)
        (self.ici_closed, self.ipi_ici_level) = (false, config.hypervisor_level);
        for route in config.devices.iter().flatten() {
            if self.home_of(route.guest, route.vcpu) == Some(core) {
                hw.init_device_interrupt(route.intevt as u32, route.level);
            }
        }
        self.engine.init(&mut EnginePort(hw));
        for g in 0..MAX_GUESTS as u8 {
            self.refresh_send_ipi(g);
        }
        for (g, spec) in config.guests.iter().enumerate() {
            if let Some(spec) = spec {
                if spec.home[0] == core {
                    self.add_vcpu(Vcpu::fresh(g as u8, 0, spec, spec.entry, 0));
                }
            }
        }
        for &(guest, vcpu, entry) in secondaries {
            let Some(spec) = self.spec(guest).copied() else { continue };
            if vcpu == 0 || vcpu >= spec.vcpus || spec.home[vcpu as usize] != core {
                continue;
            }
            self.add_vcpu(Vcpu::fresh(guest, vcpu, &spec, entry, vcpu as u32));
        }
        self.schedule_and_leave(hw);
    }

    /// A booted instance, returned by value (for hosted runs and tests;
    /// see [`Instance::boot`]).
    pub fn boot_with<H: CoreHardware>(hw: &mut H, config: Config, secondaries: &[(u8, u8, u32)]) -> Instance {
        let mut inst = Instance::new();
        inst.boot(hw, config, secondaries);
        inst
    }

    /// This instance's core.
    pub fn core(&self) -> u8 {
        self.core
    }

    /// The vCPUs resident here (for reports and tests).
    pub fn resident(&self) -> &[Vcpu] {
        &self.vcpus
    }

    /// The vCPU on the core now, if any (its registers in `ctx` are as of
    /// its last full save: a quick exit does not update them).
    pub fn current_vcpu(&self) -> Option<&Vcpu> {
        self.current.map(|c| &self.vcpus[c])
    }

    /// Whether the engine takes some core to be unresponsive until it
    /// hears from it (`Engine::awaits_news`).
    pub fn awaits_news(&self) -> bool {
        self.engine.awaits_news()
    }

    /// The mailbox's counters.
    pub fn mailbox_stats(&self) -> crate::post::PostStats {
        self.engine.stats()
    }

    /// Where this instance's counters are in its memory: its own, the
    /// mailbox's and the outbox's (the board publishes their locations
    /// for a reader: docs/trace-ring.md).
    pub fn counters_ref(
        &self,
    ) -> (&Stats, &spumone_migration::mailbox::MailboxStats, &spumone_migration::outbox::OutboxCounters) {
        let (m, o) = self.engine.counters_ref();
        (&self.stats, m, o)
    }

    /// The core entered the hypervisor.
    pub fn enter<H: CoreHardware>(&mut self, hw: &mut H) {
        self.stats.entries += 1;
        hw.charge(self.config.costs.entry_exit as u64);
        let entry = hw.entry();
        // A hypercall or an exception of the running vCPU is handled with
        // its registers left where the entry put them: most need only its
        // arguments and change nothing the scheduler looks at, and then the
        // vCPU goes on without its context ever being copied.
        if let Some(cur) = self.current {
            let sr_now = hw.entry_sr();
            if self.masks_with_sr(cur) {
                // Its level is what it last wrote to SR.IMASK.
                self.vcpus[cur].ctx.virtual_imask = (sr_now & sr::IMASK) >> sr::IMASK_SHIFT;
            }
            match entry {
                // Only privileged code calls the hypervisor: a guest's user
                // program that executes `trapa #0x60` gets its own kernel's
                // trap handler, like any other trap number.
                Entry::Exception { expevt: 0x160, tra, .. }
                    if sr_now & sr::MD != 0 && hypercall::is_hypercall((tra >> 2) as u8) =>
                {
                    return self.hypercall_entry(hw, cur, (tra >> 2) as u8);
                }
                // The doorbell: the running vCPU lowered its SR.IMASK below
                // an interrupt held for it. Nothing else changed, so when
                // nothing is due the interrupt is delivered without a pass
                // through the scheduler (Linux rings it after most IPIs).
                // Not for a vCPU that owns device sources (its new level may
                // open or close them) or that trap-based migration watches.
                Entry::Interrupt { intevt }
                    if intevt == DOORBELL_INTEVT
                        && self.forwards_quietly(cur)
                        && !self.owns_devices(cur)
                        && self.nothing_due(hw) =>
                {
                    self.stats.doorbells += 1;
                    return self.deliver_in_place(hw, cur, sr_now);
                }
                // The IPI ICI: virtual IPIs in the IPI words. When they are
                // all for the running vCPU and nothing is due they are
                // raised and delivered as the doorbell delivers, without a
                // pass through the scheduler: the way most of Linux's IPIs
                // come (docs/mailbox.md, "Virtual IPIs").
                Entry::Interrupt { intevt }
                    if intevt == IPI_ICI_INTEVT
                        && self.forwards_quietly(cur)
                        && !self.owns_devices(cur)
                        && self.nothing_due(hw) =>
                {
                    self.stats.ipi_icis += 1;
                    let senders = hw.take_ipi_ici();
                    if self.engine.heard_from(senders) {
                        // It may now be delivered without the instance.
                        self.publish_quick_calls(hw);
                    }
                    if self.take_ipis(hw) {
                        // Another vCPU here has an IPI: it may outrank this one.
                        self.save_running(hw, cur, true);
                        return self.leave(hw, false);
                    }
                    return self.deliver_in_place(hw, cur, sr_now);
                }
                Entry::Exception { expevt, tra, .. } if self.forwards_quietly(cur) => {
                    self.stats.forwarded_exceptions += 1;
                    hw.charge(self.config.costs.inject as u64);
                    let vector = self.vcpus[cur].ctx.vbr.wrapping_add(exception_offset(expevt));
                    if self.nothing_due(hw) {
                        return hw.resume_into_handler(vector, expevt, tra, self.physical_imask(cur));
                    }
                    let ctx = &mut self.vcpus[cur].ctx;
                    hw.save_context(ctx);
                    ctx.enter_vector(vector);
                    ctx.expevt = expevt;
                    ctx.tra = tra;
                    return self.leave(hw, false);
                }
                _ => {}
            }
            self.save_running(hw, cur, matches!(entry, Entry::Interrupt { .. }));
        }
        let mut mail = false;
        match entry {
            Entry::Interrupt { intevt } if intevt == timer_intevt(self.core as usize) => {
                self.stats.timer_interrupts += 1;
                hw.clear_timer();
            }
            Entry::Interrupt { intevt } if intevt == ICI_INTEVT => {
                self.stats.icis += 1;
                hw.clear_ici();
                mail = true;
            }
            Entry::Interrupt { intevt } if intevt == IPI_ICI_INTEVT => {
                // Taken here even while an RTOS keeps the ICIs closed (an
                // ICI taken then was raised before they closed): the ICI is
                // gone, and the target may be idle waiting for it.
                self.stats.ipi_icis += 1;
                let senders = hw.take_ipi_ici();
                self.engine.heard_from(senders);
                self.take_ipis(hw);
            }
            Entry::Interrupt { intevt } if intevt == DOORBELL_INTEVT => {
                self.stats.doorbells += 1;
                hw.set_doorbell(0);
                self.doorbell = 0;
            }
            Entry::Interrupt { intevt } if self.device_row(intevt).is_some() => self.device_interrupt(hw, intevt),
            Entry::Interrupt { .. } => self.stats.spurious += 1,
            Entry::Exception { expevt, tra, .. } => match self.current {
                Some(cur) => {
                    self.forward_exception(hw, cur, expevt, tra);
                }
                None => self.stats.spurious += 1,
            },
        }
        if let (Entry::Interrupt { .. }, Some(cur)) = (entry, self.current) {
            self.return_if_kernel_exited(hw, cur);
        }
        self.leave(hw, mail);
    }

    /// Trap-based migration: vCPU `cur`, away for a kernel entry, was
    /// interrupted in user mode, so it has left its kernel since; it goes
    /// home (a guest that reports `KERNEL_EXIT` goes at that call, sooner).
    /// Only interrupts tell: an exception from user mode is a new kernel
    /// entry, which it may as well run here.
    fn return_if_kernel_exited<H: CoreHardware>(&mut self, hw: &mut H, cur: usize) {
        let v = &self.vcpus[cur];
        if v.away == Some(AwayReason::KernelEntry) && v.ctx.sr & sr::MD == 0 {
            // (No room on the way home: it stays, and the next interrupt
            // that finds it in user mode tries again.)
            self.return_home(hw, cur);
        }
    }

    /// The end of every entry but the quick ways out: read the mailbox if
    /// its ICI came, expire timers, schedule and leave.
    fn leave<H: CoreHardware>(&mut self, hw: &mut H, mail: bool) {
        // The mailbox is read when its ICI says there is mail: reading it
        // at other entries would let a core act on a message before, in
        // its own time, it was sent. Timers are checked at every entry: a
        // masked timer interrupt may be overdue.
        // With the ICI closed (an RTOS runs) the mail waits, unless the
        // engine has something due: it may be resending for want of an
        // acknowledgement that is already in the ring.
        let overdue = self.ici_closed && self.engine.in_flight_due(hw.now());
        if mail || overdue {
            self.receive_mail(hw);
        }
        // IPI words are looked at in every full pass with the ICIs open:
        // an IPI whose ICI went to a core its target had left (or was
        // lost) is found here by the core that holds the target now.
        if !self.ici_closed {
            self.take_ipis(hw);
        }
        self.expire_timers(hw);
        self.schedule_and_leave(hw);
    }

    /// Whether mail may wait while resident vCPU `i` runs: it is the only
    /// vCPU of an RTOS guest. Nothing addressed to such a vCPU comes by
    /// mail (no other vCPU of its guest sends it IPIs, and it never
    /// migrates), and what mail brings for others here (IPIs and returning
    /// vCPUs of a GPOS, acknowledgements) cannot run before it stops: so
    /// the core's ICI is closed while it runs, and a flood of messages
    /// from other cores costs it nothing.
    fn holds_mail_back(&self, i: usize) -> bool {
        let guest = self.vcpus[i].guest;
        self.class(guest) == GuestClass::RealTime && self.spec(guest).is_some_and(|s| s.vcpus == 1)
    }

    /// The level the IPI ICI is taken at while resident vCPU `n` runs (the
    /// mailbox ICI's is the hypervisor's). For a vCPU that masks with
    /// SR.IMASK, its guest's IPI level: an IPI that comes while it has
    /// interrupts masked then waits in the INTC until it unmasks, as the
    /// IPI itself would natively, and is delivered by one entry, where at
    /// the hypervisor's level it took two (the IPI ICI's, which could only
    /// hold it, then the doorbell's). Not when a vCPU of a guest that has
    /// IPIs (more than one vCPU) and a higher priority is resident here:
    /// an IPI for that one must not wait behind this one's mask. The
    /// hypervisor's level otherwise: a guest that masks by hypercall is
    /// resumed at the physical level the hypervisor gives it, and an IPI
    /// for it is held and delivered by that same call.
    fn ipi_ici_level(&self, n: usize) -> u8 {
        let hypervisor = self.config.hypervisor_level;
        let guest = self.vcpus[n].guest;
        let Some(spec) = self.spec(guest).filter(|s| s.sr_imask && s.ipi_level != 0) else { return hypervisor };
        let p = self.priority(n);
        let above = (0..self.vcpus.len())
            .any(|j| self.priority(j) > p && self.spec(self.vcpus[j].guest).is_some_and(|s| s.vcpus > 1));
        if above {
            hypervisor
        } else {
            spec.ipi_level.min(hypervisor)
        }
    }

    /// Whether the running vCPU may simply go on: no mail queued since the
    /// last flush and no time-driven work (virtual timers, slices, bounds,
    /// resends, retries of mail a full ring refused: everything the core's
    /// timer was armed for) is due. Mail for a ring whose receiver has read
    /// nothing for 10 us waits for its retry time: with a stalled or dead
    /// core's ring full, every hypercall of the RTOS beside it used to take
    /// the full pass to try again, which cost the RTOS about 10 us of worst
    /// latency (docs/faults.md).
    fn nothing_due<H: CoreHardware>(&self, hw: &H) -> bool {
        // One reading of the clock (each is two or three device reads).
        let now = hw.now();
        !self.engine.mail_due(now) && self.armed.is_none_or(|t| now < t)
    }

    /// When a `TIME_NOW` or a `SEND_IPI` of the running vCPU may be answered
    /// without the instance (the board's entry stub does,
    /// docs/board-image.md): when the instance itself would take its quick
    /// exit, which leaves every register but R0 and R1 as it was. That holds
    /// while the vCPU is still the running one, calls from privileged mode
    /// at an SR.IMASK the quick exit leaves as it is, and nothing is due
    /// (`nothing_due`) at the time the clock is read; for `SEND_IPI`, while
    /// its target is one of [`QuickSendIpi`]'s.
    ///
    /// What it returns changes only in the instance's full passes (it does
    /// not depend on the vCPU's level, which quick exits change, and only
    /// full passes move vCPUs), and each tells the hardware of a change at
    /// its exit.
    #[inline(always)]
    pub fn quick_calls(&self) -> Option<QuickCalls> {
        let cur = self.current?;
        let from = self.engine.mail_quiet_from()?;
        let guest = self.vcpus[cur].guest;
        let (imasks, as_resumed) = self.quick_imasks_of[guest as usize];
        let until = self.armed.unwrap_or(u64::MAX);
        let send_ipi = self.quick_send_ipi_of[guest as usize];
        let below_hypervisor = ((1u32 << self.config.hypervisor_level.min(15)) - 1) as u16;
        let unclocked_send_ipi = if from == 0 { imasks & below_hypervisor } else { 0 };
        Some(QuickCalls { imasks, as_resumed, from, until, send_ipi, unclocked_send_ipi })
    }

    /// Whether, within [`Instance::quick_calls`]' times, the IPI ICI may be
    /// delivered without the instance too, and how ([`QuickIpiIci`]). It
    /// changes only where `quick_calls` is published, so the hardware asks
    /// for it then (the board, after such an exit). Kept from the last
    /// vCPU that came or went ([`Instance::ipi_ici_candidate`]), and given
    /// only for the vCPU it was worked out for (its index and who it is).
    pub fn quick_ipi_ici(&self) -> Option<QuickIpiIci> {
        let cur = self.current?;
        self.engine.mail_quiet_from()?;
        match self.quick_ipi_ici_for {
            Some((i, q)) if i as usize == cur && (q.guest, q.vcpu) == (self.vcpus[cur].guest, self.vcpus[cur].id) => {
                (!self.engine.awaits_news()).then_some(q)
            }
            _ => None,
        }
    }

    /// Whether, where [`Instance::quick_ipi_ici`] gives the running vCPU's
    /// IPI ICI to the entry path, that path may also answer its `IDLE` by
    /// sleeping in place until any interrupt is requested, and then
    /// returning 0 to it with that interrupt still requested (the board's
    /// entry stub does, docs/board-image.md). So it may where the instance
    /// would have nothing else to run while the vCPU idles: the vCPU is
    /// the only one resident, or every other one waits (idle or exited)
    /// and no policy watches the vCPU ([`Lhp::watches_the_gpos`]: to the
    /// instance it is still running). Another vCPU here can only become
    /// runnable at an interrupt (its timer, mail, an ICI), which ends the
    /// sleep and enters the instance, which then runs it. Nothing here is
    /// for the vCPU meanwhile (its IPIs come through the ICI the stub then
    /// delivers, its timer and mail through interrupts the instance takes
    /// once the vCPU, back from `IDLE`, unmasks or at once if they come
    /// above its level). What the entry path must check each time:
    /// nothing pending in the instance (else it takes the full entry,
    /// which returns at once). The difference a guest sees: `IDLE` may
    /// return for an interrupt that turns out not to be its own, which the
    /// ABI allows (docs/hypercall-abi.md). The difference another guest
    /// sees: an RTOS waking beside such a sleep takes the core from a
    /// running vCPU (its context saved, as when it is busy) rather than
    /// from an idle core.
    pub fn quick_idle(&self) -> bool {
        let Some(cur) = self.current else { return false };
        let others_wait = || {
            !self.lhp.watches_the_gpos()
                && self.vcpus.iter().enumerate().all(|(i, v)| i == cur || v.state != RunState::Runnable)
        };
        (self.vcpus.len() == 1 || others_wait()) && self.quick_ipi_ici().is_some()
    }

    /// The resident vCPU whose IPI ICI the entry path may deliver while it
    /// runs, by index, with its [`QuickIpiIci`], worked out afresh (what
    /// [`Instance::quick_ipi_ici`] gives is kept from the last vCPU that
    /// came or went; the tests compare the two). `None` where an IPI ICI
    /// must come to the instance: where more than one resident vCPU has
    /// IPIs (the ICI may be for either) or none does (a guest of one vCPU:
    /// its word is never read); where the instance's own quick path would
    /// not take it (trap-based migration watches the vCPU, it owns device
    /// sources); where the ICI comes at the hypervisor's level rather than
    /// the vCPU's IPI level (it masks by hypercall), so that it may come
    /// while the vCPU masks it; where the IPI level is not one IPL
    /// separation lets the vCPU run at. (Alone with IPIs here, no
    /// higher-priority guest with IPIs is resident: the ICI comes at its
    /// IPI level, `ipi_ici_level`.) While the engine waits to hear from an
    /// unresponsive core (the ICI's senders would be news) `quick_ipi_ici`
    /// withholds it; the vCPU's VBR, which a quick `SET_VECTOR` changes, is
    /// left to the entry path to check.
    pub fn ipi_ici_candidate(&self) -> Option<(u8, QuickIpiIci)> {
        // (At every vCPU's arrival and departure: none of the demo's
        // guests masks with SR.IMASK, and this costs them one test.)
        if !self.sr_imask_guests {
            return None;
        }
        let mut with_ipis =
            self.vcpus.iter().enumerate().filter(|(_, v)| self.spec(v.guest).is_some_and(|s| s.vcpus >= 2));
        let (i, v) = with_ipis.next()?;
        if with_ipis.next().is_some() {
            return None;
        }
        let spec = self.spec(v.guest)?;
        let (level, class) = (spec.ipi_level, self.class(v.guest));
        let runs_at_level = !self.config.ipl_separation || class.physical_imask(level) == level;
        if !spec.sr_imask || level == 0 || level > self.config.hypervisor_level || !runs_at_level {
            return None;
        }
        if self.owns_devices(i) || self.lhp.trap_migrates(class, v.away, || self.view()) {
            return None;
        }
        let ipi_word = ipi_offset(self.config.cores as usize, v.guest as usize, v.id as usize)?;
        Some((i as u8, QuickIpiIci { level, ipi_word, guest: v.guest, vcpu: v.id }))
    }

    /// Recompute `guest`'s [`QuickSendIpi`]: at boot, and whenever one of
    /// its vCPUs comes to or leaves this core (its routes name the vCPUs
    /// not resident here).
    fn refresh_send_ipi(&mut self, guest: u8) {
        if let Some(slot) = self.quick_send_ipi_of.get(guest as usize) {
            let fresh = self.quick_send_ipi(guest);
            if *slot != fresh {
                self.quick_send_ipi_of[guest as usize] = fresh;
            }
        }
    }

    /// [`QuickSendIpi`] for the vCPUs of `guest`, computed afresh from the
    /// vCPUs resident here now (what [`Instance::quick_calls`] publishes is
    /// kept from the last change; the tests compare the two).
    pub fn quick_send_ipi(&self, guest: u8) -> QuickSendIpi {
        let cores = self.config.cores as usize;
        let (Some(spec), Some(locations), Some(ipi_words)) = (
            self.spec(guest),
            location_offset(cores, guest as usize, 0),
            ipi_offset(cores, guest as usize, 0),
        ) else {
            return QuickSendIpi::default();
        };
        let mut routes = 0u16;
        for v in 0..spec.vcpus.min(MAX_VCPUS as u8) {
            let home = spec.home[v as usize];
            if home != self.core && (home as usize) < cores && self.find(guest, v).is_none() {
                routes |= (8 | home as u16) << (4 * v);
            }
        }
        QuickSendIpi { routes, locations, ipi_words, cores: cores as u8 }
    }

    /// Tell the hardware when it may answer `TIME_NOW` and `SEND_IPI`
    /// itself: at the end of every full pass. (A quick exit changes nothing
    /// [`Instance::quick_calls`] looks at: it keeps the vCPU, moves none,
    /// arms no timer and queues no mail. The percore tests check after
    /// every entry that the hardware was told what it says.)
    #[inline(always)]
    fn publish_quick_calls<H: CoreHardware>(&mut self, hw: &mut H) {
        hw.set_quick_calls(self.quick_calls());
    }

    /// Whether an exception of resident vCPU `i` goes to its own handler
    /// and it stays here (no trap-based migration of it).
    fn forwards_quietly(&self, i: usize) -> bool {
        let v = &self.vcpus[i];
        v.ctx.vbr != 0 && !self.lhp.trap_migrates(self.class(v.guest), v.away, || self.view())
    }

    /// A hypercall of the running vCPU `cur`.
    fn hypercall_entry<H: CoreHardware>(&mut self, hw: &mut H, cur: usize, imm: u8) {
        let (guest, id) = (self.vcpus[cur].guest, self.vcpus[cur].id);
        let call = Hypercall::from_imm(imm);
        // A kernel exit away from home sends the vCPU, registers and all.
        let ships = call == Some(Hypercall::KernelExit) && self.vcpus[cur].away == Some(AwayReason::KernelEntry);
        if ships {
            hw.save_context(&mut self.vcpus[cur].ctx);
        }
        let args = hw.args();
        let (r0, r1, local) = self.hypercall(hw, cur, call, args);
        if local && self.nothing_due(hw) {
            return hw.resume_interrupted(r0, r1, self.physical_imask(cur));
        }
        // The caller, if still here (EXIT, a migration): its registers,
        // with the result.
        if let Some(j) = self.find(guest, id) {
            let ctx = &mut self.vcpus[j].ctx;
            if !ships {
                hw.save_context(ctx);
            }
            ctx.set_reg(0, r0);
            if let Some(r1) = r1 {
                ctx.set_reg(1, r1);
            }
        }
        self.leave(hw, false);
    }

    // ----- vCPUs -----

    /// A vCPU of `guest` came or went: what is kept from the resident
    /// vCPUs until then is worked out again (`guest`'s `SEND_IPI` routes,
    /// the vCPU whose IPI ICI the entry path may deliver).
    #[inline(always)]
    fn residents_changed(&mut self, guest: u8) {
        self.refresh_send_ipi(guest);
        self.quick_ipi_ici_for = self.ipi_ici_candidate();
    }

    fn add_vcpu(&mut self, v: Vcpu) -> bool {
        let guest = v.guest;
        let added = self.vcpus.push(v).is_ok();
        self.residents_changed(guest);
        added
    }

    fn add_vcpu_front(&mut self, v: Vcpu) -> bool {
        let guest = v.guest;
        if self.vcpus.insert(0, v).is_err() {
            return false;
        }
        self.current = self.current.map(|c| c + 1);
        self.residents_changed(guest);
        true
    }

    fn find(&self, guest: u8, vcpu: u8) -> Option<usize> {
        self.vcpus.iter().position(|v| v.guest == guest && v.id == vcpu)
    }

    fn spec(&self, guest: u8) -> Option<&GuestSpec> {
        self.config.guests.get(guest as usize)?.as_ref()
    }

    fn class(&self, guest: u8) -> GuestClass {
        self.class_of.get(guest as usize).copied().unwrap_or(GuestClass::GeneralPurpose)
    }

    fn priority(&self, i: usize) -> u8 {
        self.priority_of.get(self.vcpus[i].guest as usize).copied().unwrap_or(0)
    }

    fn home_of(&self, guest: u8, vcpu: u8) -> Option<u8> {
        let spec = self.spec(guest)?;
        (vcpu < spec.vcpus).then(|| spec.home[vcpu as usize])
    }

    /// Remove resident vCPU `i` (it migrates away), keeping `current`
    /// pointing at the same vCPU.
    fn take_vcpu(&mut self, i: usize) -> Vcpu {
        let v = self.vcpus.remove(i);
        self.residents_changed(v.guest);
        // Whatever it changes in its page tables while away, its entries
        // here would not hear of: they go when it (or another) comes.
        if self.tlb_owner == Some((v.guest, v.id)) {
            self.tlb_owner = None;
        }
        self.current = match self.current {
            Some(c) if c == i => None,
            Some(c) if c > i => Some(c - 1),
            other => other,
        };
        v
    }

    // ----- virtual interrupts -----

    /// Raise virtual interrupt bit(s) `bits` on resident vCPU `i`.
    fn raise(&mut self, i: usize, bits: u16) {
        self.stats.virqs_raised += bits.count_ones() as u64;
        self.pend(i, bits);
    }

    /// Make bits `bits` pending on resident vCPU `i`, raised already (and
    /// counted where they were: an IPI word's bits by their sender).
    fn pend(&mut self, i: usize, bits: u16) {
        let v = &mut self.vcpus[i];
        // A source is a pending bit, as on the INTC: raising it again before
        // delivery delivers once. Counted, so no interrupt goes unaccounted.
        self.stats.virqs_coalesced += (v.pending & bits).count_ones() as u64;
        v.pending |= bits;
        if v.state == RunState::Idle {
            v.state = RunState::Runnable;
        }
    }

    /// The highest-level pending interrupt of vCPU `i` its mask lets in.
    /// Between equal levels the lower INTEVT goes first, as the INTC
    /// orders them.
    fn deliverable(&self, i: usize) -> Option<Delivery> {
        self.deliverable_with_sr(i, self.vcpus[i].ctx.sr)
    }

    /// [`Instance::deliverable`] for vCPU `i` running with SR `sr` (its
    /// registers in the entry's frame, not in its context).
    fn deliverable_with_sr(&self, i: usize, sr: u32) -> Option<Delivery> {
        let v = &self.vcpus[i];
        if v.pending == 0 || v.ctx.vbr == 0 || sr & sr::BL != 0 {
            return None;
        }
        let mut best: Option<Delivery> = None;
        self.each_leading_source(i, |d| {
            if d.level as u32 > v.ctx.virtual_imask
                && best.is_none_or(|b| d.level > b.level || (d.level == b.level && d.intevt < b.intevt))
            {
                best = Some(d);
            }
        });
        best
    }

    /// Each pending interrupt of vCPU `i` that could be the first
    /// delivered, with its level and INTEVT: the timer's, each device's, and
    /// of the IPIs only the lowest (they share a level, and its INTEVT is
    /// the lowest), in the order of the bits, so that of two sources alike
    /// the lower bit comes first. (Looking the levels up bit by bit
    /// through `source_of` was a tenth of the doorbell's and the IPI ICI's
    /// quick paths on the board.)
    fn each_leading_source(&self, i: usize, mut visit: impl FnMut(Delivery)) {
        let v = &self.vcpus[i];
        let Some(spec) = self.spec(v.guest) else { return };
        if v.pending & PENDING_TIMER != 0 {
            visit(Delivery { bit: PENDING_TIMER, intevt: VIRTUAL_TIMER_INTEVT, level: spec.timer_level });
        }
        let devices = v.pending & PENDING_DEVICES;
        if devices != 0 {
            for b in 1..PENDING_IPI_SHIFT {
                let bit = 1u16 << b;
                if let (true, Some((level, intevt))) = (devices & bit != 0, self.source_of(i, bit)) {
                    visit(Delivery { bit, intevt, level });
                }
            }
        }
        let ipis = v.pending >> PENDING_IPI_SHIFT;
        if ipis != 0 {
            let m = ipis.trailing_zeros();
            let bit = 1 << (PENDING_IPI_SHIFT + m);
            visit(Delivery { bit, intevt: VIRTUAL_IPI_INTEVT + 0x20 * m as u16, level: spec.ipi_level });
        }
    }

    /// Emulate the SH-4A interrupt entry into vCPU `i`'s vector table, as
    /// the SH-4A does with CPUOPM.INTMU = 1: the vCPU's level rises to the
    /// accepted interrupt's, and SSR keeps the level it had (its IMASK
    /// field), which the guest's handler restores with `IRQ_RESTORE` before
    /// its `rte`. Same-level interrupts therefore cannot nest without end.
    fn inject<H: CoreHardware>(&mut self, hw: &mut H, i: usize, d: Delivery) {
        let physical = self.physical_imask(i) as u32;
        self.take_delivery(hw, i, d);
        let v = &mut self.vcpus[i];
        v.ctx.sr = (v.ctx.sr & !sr::IMASK) | (physical << sr::IMASK_SHIFT);
        v.ctx.enter_vector(v.ctx.vbr.wrapping_add(0x600));
    }

    /// What delivering `d` to vCPU `i` does to the instance's records,
    /// whoever moves the registers: its bit is no longer pending, the
    /// vCPU's level rises to the interrupt's, its INTEVT is the
    /// interrupt's; counted, charged and traced.
    fn take_delivery<H: CoreHardware>(&mut self, hw: &mut H, i: usize, d: Delivery) {
        hw.charge(self.config.costs.inject as u64);
        self.stats.injections += 1;
        let v = &mut self.vcpus[i];
        v.pending &= !d.bit;
        v.ctx.intevt = d.intevt as u32;
        v.ctx.virtual_imask = v.ctx.virtual_imask.max(d.level as u32);
        hw.trace(TraceEvent::Inject { guest: v.guest, vcpu: v.id, intevt: d.intevt });
    }

    /// The end of the doorbell's and the IPI ICI's quick paths: the running
    /// vCPU `cur` (registers in the entry's frame, SR `sr_now`) gets its
    /// highest deliverable interrupt, if any, by an emulated entry made in
    /// the frame itself, or goes on where it was with its own INTEVT back;
    /// the doorbell is re-armed for what is still held. Its context is not
    /// copied out and back (that was a third of these entries' cost,
    /// docs/linux-guest.md): the instance's copy of its registers stays as
    /// the last full pass left it, as after any quick exit.
    fn deliver_in_place<H: CoreHardware>(&mut self, hw: &mut H, cur: usize, sr_now: u32) {
        match self.deliverable_with_sr(cur, sr_now) {
            Some(d) => {
                let before = self.physical_imask(cur);
                self.take_delivery(hw, cur, d);
                if d.bit == PENDING_TIMER {
                    // A pending tick armed nothing (`arm_timer`); now that
                    // it is delivered the next one must be, or a vCPU whose
                    // entries are all quick ones would get no tick until
                    // its next full pass. (And the entry stub's window
                    // ends at the new deadline.)
                    self.arm_timer(hw);
                    self.publish_quick_calls(hw);
                }
                self.ring_doorbell_at(hw, self.held_level(cur));
                let vector = self.vcpus[cur].ctx.vbr.wrapping_add(0x600);
                hw.resume_into_interrupt(vector, d.intevt as u32, before, self.physical_imask(cur));
            }
            None => {
                self.ring_doorbell_at(hw, self.held_level(cur));
                hw.resume_with_intevt(self.vcpus[cur].ctx.intevt, self.physical_imask(cur));
            }
        }
    }

    /// The level and INTEVT of pending-interrupt bit `bit` of vCPU `i`.
    fn source_of(&self, i: usize, bit: u16) -> Option<(u8, u16)> {
        let (guest, id) = (self.vcpus[i].guest, self.vcpus[i].id);
        let spec = self.spec(guest)?;
        let b = bit.trailing_zeros();
        match b {
            0 => Some((spec.timer_level, VIRTUAL_TIMER_INTEVT)),
            1..=7 => (0..MAX_DEVICES).find_map(|r| {
                let route = self.config.devices[r]?;
                ((route.guest, route.vcpu) == (guest, id) && self.device_bit(r) == Some(bit))
                    .then_some((route.level, route.intevt))
            }),
            _ => Some((spec.ipi_level, VIRTUAL_IPI_INTEVT + 0x20 * (b - PENDING_IPI_SHIFT) as u16)),
        }
    }

    /// The physical SR.IMASK that runs vCPU `i` at its virtual level:
    /// IPL separation clips a GPOS to its own levels.
    fn physical_imask(&self, i: usize) -> u8 {
        let v = &self.vcpus[i];
        let vmask = v.ctx.virtual_imask.min(15) as u8;
        if self.config.ipl_separation { self.class(v.guest).physical_imask(vmask) } else { vmask }
    }

    // ----- physical device interrupts -----

    /// The destination-table row of physical source `intevt`.
    fn device_row(&self, intevt: u32) -> Option<usize> {
        if self.device_rows == 0 {
            return None;
        }
        self.config.devices.iter().position(|r| r.is_some_and(|r| r.intevt as u32 == intevt))
    }

    /// The pending bit of row `r` on its vCPU: bits 1-7, in table order
    /// among that vCPU's rows (None past the seventh).
    fn device_bit(&self, r: usize) -> Option<u16> {
        self.device_bits.get(r).copied().filter(|&b| b != 0)
    }

    /// Whether resident vCPU `i` owns a physical source.
    fn owns_devices(&self, i: usize) -> bool {
        let v = &self.vcpus[i];
        self.device_rows != 0
            && self.config.devices.iter().flatten().any(|r| (r.guest, r.vcpu) == (v.guest, v.id))
    }

    /// A physical device interrupt: its source stays masked here (the
    /// device keeps requesting until the guest serves it) and its owner's
    /// pending bit is raised.
    fn device_interrupt<H: CoreHardware>(&mut self, hw: &mut H, intevt: u32) {
        self.stats.device_interrupts += 1;
        let Some(r) = self.device_row(intevt) else { return };
        hw.enable_device_interrupt(intevt, false);
        self.devices_open &= !(1 << r);
        let (Some(route), Some(bit)) = (self.config.devices[r], self.device_bit(r)) else { return };
        match self.find(route.guest, route.vcpu) {
            Some(i) if self.vcpus[i].state != RunState::Exited => self.raise(i, bit),
            _ => self.stats.device_interrupts_elsewhere += 1,
        }
    }

    /// Open on this core exactly the sources whose owner is here, alive,
    /// has no interrupt from them pending and runs below their level (not
    /// in their handler, not masking them); close the others. Run before
    /// every exit, so a source follows its vCPU from core to core and is
    /// never open on two cores.
    fn sync_device_routes<H: CoreHardware>(&mut self, hw: &mut H) {
        if self.device_rows == 0 {
            return;
        }
        for r in 0..MAX_DEVICES {
            let (Some(route), Some(bit)) = (self.config.devices[r], self.device_bit(r)) else { continue };
            let open = self.find(route.guest, route.vcpu).is_some_and(|i| {
                let v = &self.vcpus[i];
                v.state != RunState::Exited && v.pending & bit == 0 && v.ctx.virtual_imask < route.level as u32
            });
            if open != (self.devices_open & (1 << r) != 0) {
                hw.enable_device_interrupt(route.intevt as u32, open);
                self.devices_open ^= 1 << r;
            }
        }
    }

    fn expire_timers<H: CoreHardware>(&mut self, hw: &mut H) {
        let now = hw.now();
        for i in 0..self.vcpus.len() {
            let t = self.vcpus[i].timer;
            if t.period != 0 && t.next <= now && self.vcpus[i].state != RunState::Exited {
                let timer = &mut self.vcpus[i].timer;
                if t.oneshot {
                    timer.period = 0;
                } else {
                    // Periodic: the next release is a whole number of
                    // periods after the first, however late we are.
                    // (No 64-bit division in the usual case: on time.)
                    let late = now - t.next;
                    let missed = if late < t.period { 1 } else { late / t.period + 1 };
                    timer.next = t.next.saturating_add(missed.saturating_mul(t.period));
                }
                self.raise(i, PENDING_TIMER);
            }
        }
        if self.lhp.bound_passed(now) {
            self.delay_bound_expired(hw);
        }
    }

    // ----- exceptions and hypercalls -----

    /// A guest exception or non-hypercall trap: deliver it to the guest's
    /// own handler (VBR + 0x100, or + 0x400 for TLB misses).
    /// Returns whether it stayed local (the vCPU goes on here, in its
    /// handler).
    fn forward_exception<H: CoreHardware>(&mut self, hw: &mut H, i: usize, expevt: u32, tra: u32) -> bool {
        if self.vcpus[i].ctx.vbr == 0 {
            // Nowhere to deliver it: the guest is stopped, the core lives on.
            self.stats.guest_faults += 1;
            let g = self.vcpus[i].guest;
            self.exit_guest_here(hw, g, 0xdead);
            return false;
        }
        self.stats.forwarded_exceptions += 1;
        hw.charge(self.config.costs.inject as u64);
        let ctx = &mut self.vcpus[i].ctx;
        ctx.enter_vector(ctx.vbr.wrapping_add(exception_offset(expevt)));
        ctx.expevt = expevt;
        ctx.tra = tra;
        !self.maybe_trap_migrate(hw, i)
    }

    /// Carry out hypercall `call` (`None`: an undefined number) of
    /// resident vCPU `i` with arguments `args` (R4-R7). Returns R0, R1 if
    /// the call sets it, and whether the call was local: it changed nothing
    /// the scheduler, the policy, interrupt delivery, the device routes or
    /// the timers look at, and its vCPU is still the one on the core.
    fn hypercall<H: CoreHardware>(
        &mut self,
        hw: &mut H,
        i: usize,
        call: Option<Hypercall>,
        args: [u32; 4],
    ) -> (u32, Option<u32>, bool) {
        self.stats.hypercalls += 1;
        if let Some(call) = call {
            self.stats.hypercalls_by_number[call.index()] += 1;
        }
        hw.charge(self.config.costs.hypercall as u64);
        let (guest, id) = (self.vcpus[i].guest, self.vcpus[i].id);
        let result = match call {
            None => Err(HcError::NoSys),
            Some(call) => self.do_hypercall(hw, i, call, args),
        };
        let (r0, r1) = match result {
            Ok(v) => v,
            Err(e) => {
                self.stats.hypercall_errors[e.index()] += 1;
                (e.to_r0(), None)
            }
        };
        let still_here = self.current.is_some_and(|c| (self.vcpus[c].guest, self.vcpus[c].id) == (guest, id));
        if !still_here || self.current != Some(i) {
            return (r0, r1, false);
        }
        let local = match (call, result) {
            // Refused before it changed anything.
            (None, _) | (_, Err(_)) => true,
            (Some(call), Ok(_)) => {
                let v = &self.vcpus[i];
                match call {
                    Hypercall::VcpuId | Hypercall::TimeNow | Hypercall::Sample | Hypercall::ConsoleWrite => true,
                    // A higher level delivers nothing new; it may close a
                    // device source (sync_device_routes).
                    Hypercall::IrqDisable => !self.owns_devices(i),
                    // A lower level may let a pending interrupt in or open
                    // a source.
                    Hypercall::IrqRestore => v.pending == 0 && !self.owns_devices(i),
                    // A new vector table may also be where its exceptions
                    // now go straight to.
                    Hypercall::SetVector => {
                        v.pending == 0 && !self.owns_devices(i) && self.direct_vbr(i) == self.direct
                    }
                    Hypercall::PreemptCount => self.config.policy != Policy::DelayedPreemption,
                    Hypercall::SpinYield => !self.config.spin_yield,
                    Hypercall::KernelExit => v.away != Some(AwayReason::KernelEntry),
                    // To a vCPU on another core: only its IPI word and that
                    // core's ICI changed (`send_ipi`).
                    Hypercall::SendIpi => self.find(guest, args[0] as u8).is_none(),
                    _ => false,
                }
            }
        };
        (r0, r1, local)
    }

    /// R0 and, for `TIME_NOW`, R1.
    fn do_hypercall<H: CoreHardware>(
        &mut self,
        hw: &mut H,
        i: usize,
        call: Hypercall,
        args: [u32; 4],
    ) -> Result<(u32, Option<u32>), HcError> {
        let r0 = |v: u32| Ok((v, None));
        let guest = self.vcpus[i].guest;
        let spec = *self.spec(guest).ok_or(HcError::State)?;
        let [a0, a1, a2, _] = args;
        let class = spec.class;
        match call {
            Hypercall::SetVector => {
                spec.partition.check(a0, 0x604, 4).ok_or(HcError::Addr)?;
                self.vcpus[i].ctx.vbr = a0;
                r0(0)
            }
            Hypercall::IrqDisable => {
                let ctx = &mut self.vcpus[i].ctx;
                let old = ctx.virtual_imask;
                // 15: every level the guest owns. IPL separation, not the
                // guest, decides what that means physically.
                ctx.virtual_imask = 15;
                r0(old)
            }
            Hypercall::IrqRestore => {
                // 0-15 for the RTOS; a GPOS names its own levels 0-7, or 15
                // (what IRQ_DISABLE returns when already disabled).
                let ok = a0 <= 15 && (class == GuestClass::RealTime || a0 <= class.levels().1 as u32 || a0 == 15);
                if !ok {
                    return Err(HcError::Level);
                }
                let ctx = &mut self.vcpus[i].ctx;
                let old = ctx.virtual_imask;
                ctx.virtual_imask = a0;
                r0(old)
            }
            Hypercall::Idle => {
                if self.vcpus[i].pending == 0 {
                    self.vcpus[i].state = RunState::Idle;
                }
                r0(0)
            }
            Hypercall::Yield => {
                self.rotate(i);
                r0(0)
            }
            Hypercall::SpinYield => {
                self.stats.spin_yields += 1;
                if self.lhp.spin_yields() {
                    // Behind its equals, but only for a short slice: the
                    // lock holder needs the core for its critical section,
                    // not for a whole round-robin slice, while the yielder
                    // (perhaps a vCPU here for a kernel entry, its guest
                    // waiting for it) waits.
                    self.rotate(i);
                    self.short_slice = true;
                }
                r0(0)
            }
            Hypercall::PreemptCount => {
                self.vcpus[i].ctx.preempt_count = a0;
                r0(0)
            }
            Hypercall::SendIpi => {
                if a0 >= spec.vcpus as u32 {
                    return Err(HcError::Vcpu);
                }
                if a1 >= 8 {
                    return Err(HcError::Arg);
                }
                self.stats.virtual_ipis += 1;
                self.send_ipi(hw, guest, a0 as u8, a1 as u8);
                r0(0)
            }
            Hypercall::VcpuId => r0(self.vcpus[i].id as u32),
            Hypercall::StartVcpu => {
                if a0 >= spec.vcpus as u32 || a0 == 0 {
                    return Err(HcError::Vcpu);
                }
                spec.partition.check(a1, 2, 2).ok_or(HcError::Addr)?;
                if !self.route(hw, Post::StartVcpu { guest, vcpu: a0 as u8, entry: a1, arg: a2 }) {
                    // The way to its home core is full: the guest retries.
                    return Err(HcError::State);
                }
                r0(0)
            }
            Hypercall::ConsoleWrite => {
                if a1 > hypercall::CONSOLE_MAX {
                    return Err(HcError::Arg);
                }
                let phys = spec.partition.check(a0, a1, 1).ok_or(HcError::Addr)?;
                let mut buf = [0u8; hypercall::CONSOLE_MAX as usize];
                hw.read_guest(phys, &mut buf[..a1 as usize]);
                hw.console(guest, &buf[..a1 as usize]);
                r0(a1)
            }
            Hypercall::TimerSet => {
                let t = &mut self.vcpus[i].timer;
                if a0 == 0 {
                    *t = VirtualTimer::default();
                    // Stopping the timer withdraws a tick not yet taken.
                    self.stats.virqs_cancelled += (self.vcpus[i].pending & PENDING_TIMER).count_ones() as u64;
                    self.vcpus[i].pending &= !PENDING_TIMER;
                    return r0(0);
                }
                // Periods are shipped as 32-bit cycle counts: at most 7 s.
                if a0 > 7_000_000 {
                    return Err(HcError::Arg);
                }
                let period = a0 as u64 * 600;
                *t = VirtualTimer { period, next: hw.now().saturating_add(period), oneshot: a1 == 1 };
                r0(0)
            }
            Hypercall::TimerAt => {
                // A periodic (or, with period 0, one-shot) timer whose first
                // expiry is the absolute time r5:r4: the guest knows its
                // releases exactly (TIMER_SET starts its period when the
                // hypervisor handles the call, which the guest cannot see).
                if a2 > 7_000_000 {
                    return Err(HcError::Arg);
                }
                let period = a2 as u64 * 600;
                let first = (a1 as u64) << 32 | a0 as u64;
                self.vcpus[i].timer = VirtualTimer { period: period.max(1), next: first, oneshot: a2 == 0 };
                r0(0)
            }
            Hypercall::TimeNow => {
                let now = hw.now();
                Ok((now as u32, Some((now >> 32) as u32)))
            }
            Hypercall::Sample => {
                let v = &self.vcpus[i];
                hw.trace(TraceEvent::Sample { guest, vcpu: v.id, kind: a0, value: a1 });
                r0(0)
            }
            Hypercall::Exit => {
                self.exit_guest_here(hw, guest, a0);
                r0(0)
            }
            Hypercall::KernelExit => {
                if self.vcpus[i].away == Some(AwayReason::KernelEntry) {
                    // Its result goes with it: r0 is set before it leaves
                    // (the caller saved its registers first).
                    self.vcpus[i].ctx.set_reg(0, 0);
                    self.return_home(hw, i);
                }
                r0(0)
            }
        }
    }

    /// The guest stops on this core (its other cores stop it when they
    /// hear of it through the host's report; the run ends when every guest
    /// has exited).
    fn exit_guest_here<H: CoreHardware>(&mut self, hw: &mut H, guest: u8, status: u32) {
        if self.exited.get(guest as usize).is_some_and(|e| e.is_none()) {
            hw.trace(TraceEvent::GuestExit { guest, status });
            // Every other core in use is told, so it stops the guest's
            // vCPUs it holds and counts the exit.
            let others = ((1u16 << self.config.cores) - 1) as u8 & !(1 << self.core);
            self.unannounced[guest as usize] = others;
        }
        self.guest_exited(hw, guest, status);
    }

    /// Guest `guest` exited with `status`: its vCPUs here stop (and any
    /// that arrive later), and once every guest has exited the core powers
    /// the machine off with the statuses or'ed together.
    fn guest_exited<H: CoreHardware>(&mut self, hw: &mut H, guest: u8, status: u32) {
        let Some(slot) = self.exited.get_mut(guest as usize) else { return };
        slot.get_or_insert(status);
        for v in self.vcpus.iter_mut().filter(|v| v.guest == guest) {
            v.state = RunState::Exited;
            v.timer = VirtualTimer::default();
        }
        let all = (0..MAX_GUESTS).all(|g| self.config.guests[g].is_none() || self.exited[g].is_some());
        if all && !self.powered_off {
            self.powered_off = true;
            let status = self.exited.iter().flatten().fold(0, |acc, &s| acc | s);
            hw.power_off(status);
        }
    }

    /// Queue the exits this core still owes other cores.
    fn announce_exits(&mut self) {
        for g in 0..MAX_GUESTS {
            let (Some(status), mut owed) = (self.exited[g], self.unannounced[g]) else { continue };
            while owed != 0 {
                let to = owed.trailing_zeros() as u8;
                if !self.engine.queue(to, Post::GuestExit { guest: g as u8, vcpu: 0, status }) {
                    break;
                }
                owed &= !(1 << to);
            }
            self.unannounced[g] = owed;
        }
    }

    // ----- scheduling -----

    /// Move vCPU `i` behind the others of its priority.
    fn rotate(&mut self, i: usize) {
        let v = self.vcpus.remove(i);
        let _ = self.vcpus.push(v);
        self.current = match self.current {
            Some(c) if c == i => Some(self.vcpus.len() - 1),
            Some(c) if c > i => Some(c - 1),
            other => other,
        };
        self.slice = None;
    }

    /// The vCPU that should run: highest priority, first in order among
    /// equals.
    fn pick(&self) -> Option<usize> {
        let mut best: Option<usize> = None;
        for i in 0..self.vcpus.len() {
            if self.vcpus[i].state != RunState::Runnable {
                continue;
            }
            if best.is_none_or(|b| self.priority(i) > self.priority(b)) {
                best = Some(i);
            }
        }
        best
    }

    fn rtos_runnable(&self) -> bool {
        (0..self.vcpus.len())
            .any(|i| self.vcpus[i].state == RunState::Runnable && self.class(self.vcpus[i].guest) == GuestClass::RealTime)
    }

    /// Whether a real-time vCPU lives on this core (a "shared" core).
    fn hosts_rtos(&self) -> bool {
        self.vcpus.iter().any(|v| self.class(v.guest) == GuestClass::RealTime && v.state != RunState::Exited)
    }

    /// This core as the policies see it.
    fn view(&self) -> CoreView {
        CoreView { rtos_runnable: self.rtos_runnable(), hosts_rtos: self.hosts_rtos() }
    }

    /// Refresh resident vCPU `i`'s preempt count from its guest's memory,
    /// if that is where its guest keeps it (`thread_info_preempt_count`):
    /// the word at bank-1 R7 + 16 while it runs privileged, 0 in user mode
    /// (no kernel lock is held there). A pointer outside the guest's
    /// partition, or misaligned, reads as 0: the guest cannot make the
    /// hypervisor read anything else, nor hold the RTOS with it.
    fn read_preempt_count<H: CoreHardware>(&mut self, hw: &mut H, i: usize) {
        let v = &self.vcpus[i];
        let Some(spec) = self.spec(v.guest).filter(|s| s.thread_info_preempt_count) else { return };
        let count = if v.ctx.sr & sr::MD == 0 {
            0
        } else {
            match spec.partition.check(v.ctx.bank1[7].wrapping_add(THREAD_INFO_PREEMPT_COUNT), 4, 4) {
                Some(phys) => {
                    let mut word = [0u8; 4];
                    hw.read_guest(phys, &mut word);
                    u32::from_le_bytes(word)
                }
                None => 0,
            }
        };
        self.vcpus[i].ctx.preempt_count = count;
    }

    /// Resident vCPU `i` as delayed preemption sees it.
    fn contender(&self, i: usize) -> Contender {
        let v = &self.vcpus[i];
        Contender { class: self.class(v.guest), runnable: v.state == RunState::Runnable, preempt_count: v.ctx.preempt_count }
    }

    /// Apply the policy, choose, deliver, and leave into the chosen vCPU
    /// (or sleep).
    fn schedule_and_leave<H: CoreHardware>(&mut self, hw: &mut H) {
        self.apply_policy(hw);
        self.send_pending_mail(hw);
        let now = hw.now();
        let mut next = self.pick();
        // Delayed preemption: a GPOS vCPU in a critical section keeps the
        // core while the RTOS waits.
        if let (Some(cur), Some(n)) = (self.current, next) {
            if n != cur && self.lhp.policy() == Policy::DelayedPreemption {
                self.read_preempt_count(hw, cur);
            }
            let (running, wanted) = (self.contender(cur), self.contender(n));
            if let Preemption::Hold { first } = self.lhp.preemption(now, running, wanted) {
                if first {
                    self.stats.delayed_preemptions += 1;
                }
                next = Some(cur);
            }
        }
        // Round-robin slice among equals: the slice's owner, about to run
        // again with its slice used up, goes behind the others.
        if let (Some(n), Some((g, id, end))) = (next, self.slice) {
            if (self.vcpus[n].guest, self.vcpus[n].id) == (g, id) && now >= end {
                self.rotate(n);
                next = self.pick();
            }
        }
        if next != self.current {
            if let Some(cur) = self.current {
                let v = &self.vcpus[cur];
                hw.trace(TraceEvent::Undispatch { guest: v.guest, vcpu: v.id });
            }
            if let Some(n) = next {
                hw.charge(self.config.costs.vcpu_switch as u64);
                self.stats.switches += 1;
                let v = &self.vcpus[n];
                hw.trace(TraceEvent::Dispatch { guest: v.guest, vcpu: v.id });
            }
            self.current = next;
        }
        if let Some(n) = next {
            let equals_wait = (0..self.vcpus.len()).any(|j| {
                j != n && self.vcpus[j].state == RunState::Runnable && self.priority(j) == self.priority(n)
            });
            let owner = (self.vcpus[n].guest, self.vcpus[n].id);
            if !equals_wait {
                // Alone at its priority: no slice, unless the slice belongs
                // to a lower-priority vCPU this one preempts (it keeps
                // running out meanwhile).
                if self.slice.is_some_and(|(g, id, _)| (g, id) == owner) {
                    self.slice = None;
                }
            } else if self.slice.is_none_or(|(g, id, _)| (g, id) != owner) {
                let len = if core::mem::take(&mut self.short_slice) { SPIN_YIELD_SLICE } else { self.config.time_slice as u64 };
                self.slice = Some((owner.0, owner.1, hw.now().saturating_add(len)));
            }
            if let Some(d) = self.deliverable(n) {
                self.inject(hw, n, d);
                // Trap-based migration moves a GPOS vCPU that enters its
                // kernel on an RTOS core before the handler runs there.
                if self.maybe_trap_migrate(hw, n) {
                    return self.schedule_and_leave(hw);
                }
            }
        }
        self.sync_device_routes(hw);
        let close = next.is_some_and(|n| self.holds_mail_back(n));
        let ipi = if close { 0 } else { next.map_or(self.config.hypervisor_level, |n| self.ipi_ici_level(n)) };
        if (close, ipi) != (self.ici_closed, self.ipi_ici_level) {
            (self.ici_closed, self.ipi_ici_level) = (close, ipi);
            hw.set_ici_levels(if close { 0 } else { self.config.hypervisor_level }, ipi);
        }
        self.arm_timer(hw);
        self.ring_doorbell_at(hw, next.map_or(0, |n| self.held_level(n)));
        let direct = next.map_or(0, |n| self.direct_vbr(n));
        if direct != self.direct {
            hw.set_direct_exceptions(direct);
            self.direct = direct;
        }
        if let Some(n) = next.filter(|&n| self.spec(self.vcpus[n].guest).is_some_and(|s| s.mmu)) {
            let owner = (self.vcpus[n].guest, self.vcpus[n].id);
            if self.tlb_owner != Some(owner) {
                hw.flush_tlb();
                self.stats.tlb_flushes += 1;
                self.tlb_owner = Some(owner);
            }
        }
        self.publish_quick_calls(hw);
        match next {
            Some(n) => hw.resume(&self.vcpus[n].ctx, self.physical_imask(n)),
            None => hw.idle(),
        }
    }

    /// Where resident vCPU `i`'s exceptions may go straight to: its VBR,
    /// if its guest has direct exceptions, it has a vector table, and no
    /// policy needs to see its kernel entries here (0 otherwise).
    fn direct_vbr(&self, i: usize) -> u32 {
        let v = &self.vcpus[i];
        let direct = self.spec(v.guest).is_some_and(|s| s.direct_exceptions)
            && !self.lhp.trap_migrates(self.class(v.guest), v.away, || self.view());
        if direct { v.ctx.vbr } else { 0 }
    }

    /// Whether resident vCPU `i`'s guest masks with SR.IMASK.
    fn masks_with_sr(&self, i: usize) -> bool {
        self.spec(self.vcpus[i].guest).is_some_and(|s| s.sr_imask)
    }

    /// Save the registers of running vCPU `cur` into its context. On an
    /// `interrupt` entry, accepting the interrupt overwrote INTEVT with its
    /// physical code; the vCPU may not have read its own yet (Linux reads
    /// it only after clearing SR.BL), so it keeps the code the hypervisor
    /// last gave it.
    fn save_running<H: CoreHardware>(&mut self, hw: &mut H, cur: usize, interrupt: bool) {
        let ctx = &mut self.vcpus[cur].ctx;
        let own = ctx.intevt;
        hw.save_context(ctx);
        if interrupt {
            ctx.intevt = own;
        }
    }

    /// Raise this core's doorbell at `level` (0: lower it), if it is not
    /// there already.
    fn ring_doorbell_at<H: CoreHardware>(&mut self, hw: &mut H, level: u8) {
        if level != self.doorbell {
            hw.set_doorbell(level);
            self.doorbell = level;
        }
    }

    /// The level to raise the doorbell at while vCPU `i` runs: the highest
    /// level of a virtual interrupt pending for it that its SR.IMASK
    /// holds back (0: none, or its guest does not mask with SR). The
    /// hardware then takes the doorbell the moment the guest's `ldc` to SR
    /// lowers the mask below it, as it would take a device's request.
    fn held_level(&self, i: usize) -> u8 {
        let v = &self.vcpus[i];
        // Without a vector table nothing can be delivered: a doorbell
        // would only ring again and again.
        if v.pending == 0 || v.ctx.vbr == 0 || !self.masks_with_sr(i) {
            return 0;
        }
        let mut level = 0;
        self.each_leading_source(i, |d| level = level.max(d.level));
        level
    }

    fn arm_timer<H: CoreHardware>(&mut self, hw: &mut H) {
        // The slice matters only while its owner runs: when it comes back
        // from a preemption with its slice used up, the scheduler sees it.
        let running = self.current.map(|c| (self.vcpus[c].guest, self.vcpus[c].id));
        let mut deadline = self.slice.filter(|&(g, id, _)| Some((g, id)) == running).map(|(_, _, end)| end);
        let mut earliest = |t: u64| deadline = Some(deadline.map_or(t, |d: u64| d.min(t)));
        // A virtual timer matters now only if its tick could change what
        // runs or what the running vCPU is delivered: not when its tick is
        // already pending (another would only coalesce), nor for a vCPU
        // below the running one (it cannot run first; the next entry that
        // schedules catches its timer up). Otherwise a GPOS vCPU could
        // keep its core in the hypervisor with a timer shorter than an
        // entry, masked or behind the RTOS.
        let floor = self.current.map(|c| self.priority(c));
        for (i, v) in self.vcpus.iter().enumerate() {
            let matters = v.pending & PENDING_TIMER == 0 && floor.is_none_or(|p| self.priority(i) >= p);
            if v.timer.period != 0 && v.state != RunState::Exited && matters {
                earliest(v.timer.next);
            }
        }
        if let Some(bound) = self.lhp.bound_deadline() {
            earliest(bound);
        }
        let now = hw.now();
        // Delayed preemption holds the RTOS for a count only the guest's
        // memory tells: look again soon.
        let polled = self.current.and_then(|c| self.spec(self.vcpus[c].guest)).is_some_and(|s| s.thread_info_preempt_count);
        if self.lhp.holding() && polled {
            earliest(now.saturating_add(PREEMPT_POLL_CYCLES));
        }
        // A deferral still running (once it has passed, departures that
        // could not go yet retry with the mail, below).
        if let Some(until) = self.departing.filter(|&u| u > now) {
            earliest(until);
        }
        // Mail waiting for room in a ring, migrations awaiting their
        // acknowledgement.
        if let Some(t) = self.engine.next_deadline(now) {
            earliest(t);
        }
        // A look at a ring whose ICI may have been lost: any entry does it;
        // the timer is armed for it only if nothing else would wake the
        // core.
        if deadline.is_none() {
            deadline = self.engine.next_recheck();
        }
        self.armed = deadline;
        hw.arm_timer(deadline);
    }

    // ----- lock-holder-preemption policies -----

    /// Before the scheduler picks: retry what the engine owes, then carry
    /// out the policy's plan for this core.
    fn apply_policy<H: CoreHardware>(&mut self, hw: &mut H) {
        self.announce_exits();
        self.retry_returns(hw);
        self.stats.migrations_resent += self.engine.resend_overdue(&mut EnginePort(hw));
        self.take_back_migrations(hw);
        let plan = self.lhp.plan(self.view());
        if plan.recall_delay_bounded {
            self.engine.request_returns(&mut EnginePort(hw), AwayReason::DelayBound);
        }
        if plan.evict_gpos {
            // Dispatch-first: the RTOS runs at once (the GPOS vCPUs here
            // are below it and simply wait); they leave only if the RTOS is
            // still busy when the deferral ends. Nothing of a departure is
            // done on the way to the RTOS.
            let go = if self.lhp.ships_context_first(AwayReason::RtosActive) {
                let now = hw.now();
                let until = *self.departing.get_or_insert(now.saturating_add(self.config.departure_defer as u64));
                now >= until
            } else {
                true
            };
            // Send every GPOS vCPU that lives here away while the RTOS runs.
            let evictable = |me: &Self| {
                (0..me.vcpus.len()).find(|&i| {
                    let v = &me.vcpus[i];
                    Lhp::evictable(me.class(v.guest), v.away, v.state)
                })
            };
            if go {
                while let Some(i) = evictable(self) {
                    if !self.depart(hw, i, AwayReason::RtosActive) {
                        break;
                    }
                }
            }
        }
        if plan.recall_displaced {
            // The RTOS idles: departures still deferred never happen; the
            // vCPUs that did leave are asked back.
            if self.departing.take().is_some()
                && self.vcpus.iter().any(|v| Lhp::evictable(self.class(v.guest), v.away, v.state))
            {
                self.stats.departures_avoided += 1;
            }
            self.engine.request_returns(&mut EnginePort(hw), AwayReason::RtosActive);
        }
        if !plan.evict_gpos && !plan.recall_displaced {
            self.departing = None;
        }
    }

    /// Put back on this core the vCPUs whose migrations the engine takes
    /// back (declined, or timed out unread), while there is room.
    fn take_back_migrations<H: CoreHardware>(&mut self, hw: &mut H) {
        while !self.vcpus.is_full() {
            let Some(v) = self.engine.reclaim(&mut EnginePort(hw)) else { break };
            self.stats.migrations_taken_back += 1;
            self.add_vcpu(v);
        }
    }

    /// Under trap-based migration, move GPOS vCPU `i` off this core if it
    /// shares it with an RTOS and has just entered its kernel. Returns
    /// whether it left.
    fn maybe_trap_migrate<H: CoreHardware>(&mut self, hw: &mut H, i: usize) -> bool {
        let v = &self.vcpus[i];
        if !self.lhp.trap_migrates(self.class(v.guest), v.away, || self.view()) {
            return false;
        }
        self.depart(hw, i, AwayReason::KernelEntry)
    }

    /// Bounded delayed preemption: the RTOS has waited long enough; the
    /// GPOS vCPU holding the core leaves it instead.
    fn delay_bound_expired<H: CoreHardware>(&mut self, hw: &mut H) {
        self.stats.delay_bound_hits += 1;
        if let Some(cur) = self.current {
            if Lhp::bound_evicts(self.class(self.vcpus[cur].guest), self.vcpus[cur].away)
                && !self.depart(hw, cur, AwayReason::DelayBound)
            {
                self.lhp.bound_overrun();
            }
        }
    }
}

// ----- migration and routing -----

impl Instance {
    /// Departure migration: take resident vCPU `i` (which lives here) off
    /// this core and have the engine ship it (the source half). Returns
    /// whether it left.
    fn depart<H: CoreHardware>(&mut self, hw: &mut H, i: usize, reason: AwayReason) -> bool {
        let Some(dest) = self.engine.destination() else { return false };
        if !self.engine.can_ship(dest) {
            // Keep it here rather than risk it: it goes at a later entry.
            return false;
        }
        if self.home_of(self.vcpus[i].guest, self.vcpus[i].id) != Some(self.core) {
            return false;
        }
        let was_current = self.current == Some(i);
        let v = self.take_vcpu(i);
        if was_current {
            hw.trace(TraceEvent::Undispatch { guest: v.guest, vcpu: v.id });
        }
        self.engine.depart(&mut EnginePort(hw), v, dest, reason);
        self.stats.departures_out += 1;
        true
    }

    /// Return migration: send resident vCPU `i` (away from its home) back.
    fn return_home<H: CoreHardware>(&mut self, hw: &mut H, i: usize) -> bool {
        let (g, id) = (self.vcpus[i].guest, self.vcpus[i].id);
        let Some(home) = self.home_of(g, id) else { return false };
        if !self.engine.can_ship(home) {
            return false;
        }
        let was_current = self.current == Some(i);
        let v = self.take_vcpu(i);
        if was_current {
            hw.trace(TraceEvent::Undispatch { guest: g, vcpu: id });
        }
        self.engine.return_home(&mut EnginePort(hw), v, home);
        self.stats.returns_out += 1;
        true
    }

    /// Destination half: `v` arrives from core `from`; the engine checks
    /// and acknowledges it, the instance puts it on this core.
    fn accept_immigrant<H: CoreHardware>(&mut self, hw: &mut H, from: u8, v: Vcpu, departure: bool, expires: u64) {
        let here = self.find(v.guest, v.id).is_some();
        let mut v = match self.engine.accept(&mut EnginePort(hw), from, v, departure, expires, here) {
            Arrival::Misrouted => return self.stats.misrouted += 1,
            Arrival::Stale => return self.stats.stale_migrations += 1,
            Arrival::Expired => return self.stats.migrations_expired += 1,
            Arrival::Arrived(v) => v,
        };
        if self.exited.get(v.guest as usize).is_some_and(|e| e.is_some()) {
            // Its guest exited while it travelled.
            v.state = RunState::Exited;
            v.timer = VirtualTimer::default();
        }
        if departure {
            self.stats.departures_in += 1;
        } else {
            self.stats.returns_in += 1;
        }
        let added = if Lhp::runs_first_on_arrival(v.away) { self.add_vcpu_front(v) } else { self.add_vcpu(v) };
        if !added {
            // No room: send it home rather than lose it.
            self.stats.misrouted += 1;
            if let Some(home) = self.home_of(v.guest, v.id) {
                self.engine.send_back(&mut EnginePort(hw), v, home);
            }
        }
    }

    /// Deliver `post` (about one vCPU) here if the vCPU is resident, else
    /// send it towards the vCPU: to its home, or from its home to where it
    /// is away.
    fn route<H: CoreHardware>(&mut self, hw: &mut H, post: Post) -> bool {
        let (guest, vcpu) = post.target();
        let Some(home) = self.home_of(guest, vcpu) else {
            self.stats.misrouted += 1;
            return true;
        };
        if let Some(i) = self.find(guest, vcpu) {
            match post {
                Post::VirtualIpi { message, .. } => self.raise(i, 1 << (PENDING_IPI_SHIFT + message as u32)),
                Post::ReturnRequest { .. } => {
                    if self.vcpus[i].away.is_some() && !self.return_home(hw, i) {
                        // No room to send it home yet: ask again later.
                        return false;
                    }
                }
                // Started twice, or a migrated context routed as a start:
                // the guest's mistake, counted.
                Post::StartVcpu { .. }
                | Post::Migrate { .. }
                | Post::MigrateAck { .. }
                | Post::MigrateDeclined { .. }
                | Post::GuestExit { .. } => self.stats.misrouted += 1,
            }
            return true;
        }
        if let Post::ReturnRequest { .. } = post {
            // Only the core that holds the vCPU can honour it; if it has
            // left (or never arrived), its home asks again later. Passing
            // it on would bounce it between the two cores.
            self.stats.misrouted += 1;
            return true;
        }
        if let Some(to) = self.engine.forward_to(guest, vcpu, home) {
            return self.pass_on(to, post);
        }
        match post {
            Post::StartVcpu { entry, arg, .. } => {
                let Some(spec) = self.spec(guest).copied() else { return true };
                // IPIs raised for it before it started had nowhere to go:
                // misrouted, and (raised by their senders) cancelled.
                let (bits, scribbled) = self.engine.take_ipis(&mut EnginePort(hw), guest, vcpu);
                self.stats.misrouted += (bits.count_ones() + scribbled) as u64;
                self.stats.virqs_cancelled += bits.count_ones() as u64;
                let mut v = Vcpu::fresh(guest, vcpu, &spec, entry, arg);
                // The new vCPU shares its guest's vector table.
                v.ctx.vbr = self.vcpus.iter().find(|v| v.guest == guest).map_or(0, |v| v.ctx.vbr);
                if !self.add_vcpu(v) {
                    self.stats.misrouted += 1;
                }
            }
            // A vCPU that has not started yet: the IPI has nowhere to go.
            _ => self.stats.misrouted += 1,
        }
        true
    }

    /// A virtual IPI this core's guest raised: delivered here if its
    /// target is resident, else sent where the engine says the target is
    /// (docs/mailbox.md, "The location table"), not necessarily its home.
    fn send_ipi<H: CoreHardware>(&mut self, hw: &mut H, guest: u8, vcpu: u8, message: u8) {
        let Some(home) = self.home_of(guest, vcpu) else {
            self.stats.misrouted += 1;
            return;
        };
        if let Some(i) = self.find(guest, vcpu) {
            self.raise(i, 1 << (PENDING_IPI_SHIFT + message as u32));
            return;
        }
        // From its home, a vCPU that is nowhere else has not started.
        if home == self.core && self.engine.forward_to(guest, vcpu, home).is_none() {
            self.stats.misrouted += 1;
            return;
        }
        // The bit first, the location after (`spumone_migration::ipi`).
        // Counted as raised here: a bit in a word is pending, on no core.
        match self.engine.raise_ipi(&mut EnginePort(hw), guest, vcpu, message) {
            Raised::New => self.stats.virqs_raised += 1,
            Raised::Coalesced => {
                // Raised while the same IPI waits in the word: the two are
                // one, as they would be at the target. The ICI goes again
                // all the same, in case the first was lost.
                self.stats.virqs_raised += 1;
                self.stats.virqs_coalesced += 1;
            }
            Raised::NoWord => {
                self.stats.misrouted += 1;
                return;
            }
        }
        if let Some(to) = self.engine.ipi_destination(&mut EnginePort(hw), guest, vcpu, home) {
            hw.send_ipi_ici(to as usize);
        }
    }

    /// Take the IPI words of the vCPUs here (of guests with more than one
    /// vCPU: no other has a word set) and raise what they hold. Returns
    /// whether a vCPU other than the running one got any.
    fn take_ipis<H: CoreHardware>(&mut self, hw: &mut H) -> bool {
        let mut others = false;
        for i in 0..self.vcpus.len() {
            let (guest, id) = (self.vcpus[i].guest, self.vcpus[i].id);
            if self.spec(guest).is_none_or(|s| s.vcpus < 2) {
                continue;
            }
            let (bits, scribbled) = self.engine.take_ipis(&mut EnginePort(hw), guest, id);
            self.stats.misrouted += scribbled as u64;
            if bits != 0 {
                self.pend(i, (bits as u16) << PENDING_IPI_SHIFT);
                others |= self.current != Some(i);
            }
        }
        others
    }

    /// Queue `post`, for a vCPU that is not here, for core `to`.
    fn pass_on(&mut self, to: u8, post: Post) -> bool {
        self.stats.forwarded_messages += 1;
        self.engine.queue(to, post)
    }

    /// Mail that could not be passed on (its way on was full): a return
    /// request is remembered and honoured at a later entry; anything else
    /// is counted as lost (a forwarding queue of 48 per core never fills in
    /// practice: the tests fill it only by corrupting the mailbox).
    fn keep_for_later(&mut self, post: Post) {
        let (guest, vcpu) = post.target();
        match (post, self.find(guest, vcpu)) {
            (Post::ReturnRequest { .. }, Some(i)) => self.vcpus[i].return_wanted = true,
            _ => self.stats.misrouted += 1,
        }
    }

    /// Return the vCPUs whose return request could not be honoured yet.
    fn retry_returns<H: CoreHardware>(&mut self, hw: &mut H) {
        while let Some(i) = self.vcpus.iter().position(|v| v.return_wanted && v.away.is_some()) {
            self.vcpus[i].return_wanted = false;
            if !self.return_home(hw, i) {
                self.vcpus[i].return_wanted = true;
                break;
            }
        }
    }

    fn receive_mail<H: CoreHardware>(&mut self, hw: &mut H) {
        for from in 0..self.config.cores {
            if from == self.core {
                continue;
            }
            while let Some(incoming) = self.engine.receive(&mut EnginePort(hw), from) {
                match incoming {
                    Incoming::Migrate { vcpu, departure, expires } => {
                        self.accept_immigrant(hw, from, vcpu, departure, expires)
                    }
                    Incoming::Post(Post::GuestExit { guest, status, .. }) => self.guest_exited(hw, guest, status),
                    Incoming::Post(post) => {
                        if !self.route(hw, post) {
                            self.keep_for_later(post);
                        }
                    }
                }
                // A release (or other time-driven work) fell due while the
                // mail was read: it goes first, and the rest is read at a
                // later entry, which an ICI to this core asks for (taken
                // once its level is open again: after the RTOS, if one
                // runs). A flood of messages therefore delays an RTOS
                // release by one message, not by a ring of them.
                if self.armed.is_some_and(|t| hw.now() >= t) {
                    hw.send_ici(self.core as usize);
                    return;
                }
            }
        }
    }

    fn send_pending_mail<H: CoreHardware>(&mut self, hw: &mut H) {
        self.engine.flush(&mut EnginePort(hw));
    }
}

// ----- register helpers -----

/// General register `n` of `ctx` as its code sees it (R0-R7 through the
/// bank its SR.RB selects).
pub fn reg(ctx: &VcpuContext, n: usize) -> u32 {
    ctx.reg(n)
}

pub fn set_reg(ctx: &mut VcpuContext, n: usize, value: u32) {
    ctx.set_reg(n, value)
}

/// Where an exception enters a guest's vector table: VBR + 0x400 for the
/// TLB misses (EXPEVT 0x040, 0x060), + 0x100 for the rest.
pub const fn exception_offset(expevt: u32) -> u32 {
    if matches!(expevt, 0x040 | 0x060) {
        0x400
    } else {
        0x100
    }
}
