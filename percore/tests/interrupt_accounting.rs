//! No virtual interrupt is lost or delivered twice over long randomized
//! runs (deterministic seeds), against instances on fake cores.
//!
//! Guests (RTOS and GPOS vCPUs) send each other virtual IPIs, run periodic
//! and one-shot timers, disable and restore interrupts at random, idle,
//! yield and compute; their interrupt handlers restore their level and
//! `rte` (common/world.rs); the world checks every resume. The test counts
//! every raise the instances must make (each successful `SEND_IPI`; each
//! timer expiry, seen as the instance's record of the vCPU's timer moving
//! on) and every injection (the instance's `Inject` trace, cross-checked
//! with the emulated entries the fake core resumes).
//!
//! SH-4A semantics: a virtual interrupt is a pending bit per source per
//! vCPU, so raises of the same source before its delivery coalesce into
//! one delivery. Per vCPU and source the test keeps every state the
//! pending bit can be in (a raise carried by a mailbox message takes effect
//! at some later entry of the core the vCPU is on, so with two instances
//! the bit's state is a set of possibilities) and checks: an injection only
//! when a raise is pending (none without a raise, none twice for one
//! raise); `TIMER_SET(0)` withdraws a pending tick (counted as cancelled);
//! at the end, after every guest unmasked and ran, nothing is pending and
//! every raise was delivered, coalesced or cancelled. Where the bit is
//! known it must equal the instance's (`Vcpu::pending`) after every entry.
//! Totals must equal the instances' `virqs_raised`, `virqs_coalesced`,
//! `virqs_cancelled` and `injections` (exactly, after every entry, with one
//! instance; at the end with two).
//!
//! One ignored test shows interrupts lost when a core's outbox overflows.

mod common;

use common::world::{Act, Cause, EntryInfo, Guests, Vid, World};
use common::*;
use spumone_kernel::guest::{GuestSpec, Partition};
use spumone_kernel::ipl::GuestClass;
use spumone_kernel::vcpu::VcpuContext;
use spumone_percore::config::{Config, Policy};
use spumone_percore::hw::{TraceEvent, ICI_INTEVT, IPI_ICI_INTEVT};
use spumone_percore::instance::{RunState, VirtualTimer};
use std::collections::{BTreeMap, BTreeSet};

/// Sources: the timer, then IPI messages 0-7 (as the pending bits).
const TIMER: usize = 0;
fn ipi(m: u32) -> usize {
    1 + m as usize
}
fn bit(source: usize) -> u16 {
    if source == TIMER {
        1
    } else {
        1 << (8 + source - 1)
    }
}

/// What one (vCPU, source) pending bit can be: every possible (raises
/// still in the mailbox, bit set).
#[derive(Clone, Debug)]
struct Source {
    states: BTreeSet<(u32, bool)>,
    raised: u64,
    delivered: u64,
    coalesced: u64,
    cancelled: u64,
    /// Raises whose coalescing could not be known (a mailbox raise).
    uncertain: u64,
}

impl Default for Source {
    fn default() -> Source {
        Source { states: BTreeSet::from([(0, false)]), raised: 0, delivered: 0, coalesced: 0, cancelled: 0, uncertain: 0 }
    }
}

impl Source {
    /// A raise that takes effect now.
    fn raise(&mut self) {
        let set = self.states.iter().filter(|s| s.1).count();
        if set == self.states.len() {
            self.coalesced += 1;
        } else if set != 0 {
            self.uncertain += 1;
        }
        self.states = self.states.iter().map(|&(f, _)| (f, true)).collect();
        self.raised += 1;
    }
    /// A raise carried by a mailbox message: takes effect at some later
    /// entry.
    fn send(&mut self) {
        self.states = self.states.iter().map(|&(f, p)| (f + 1, p)).collect();
        self.raised += 1;
        self.uncertain += 1;
    }
    /// An injection: some raise must be pending (perhaps one that just
    /// arrived by mail).
    fn deliver(&mut self) -> bool {
        let mut next = BTreeSet::new();
        for &(f, p) in &self.states {
            for k in 0..=f {
                if p || k > 0 {
                    next.insert((f - k, false));
                }
            }
        }
        self.delivered += 1;
        if next.is_empty() {
            return false;
        }
        self.states = next;
        true
    }
    /// `TIMER_SET(0)` withdraws a pending tick.
    fn cancel(&mut self) {
        let set = self.states.iter().filter(|s| s.1).count();
        assert!(set == 0 || set == self.states.len(), "a timer bit is always known");
        if set != 0 {
            self.cancelled += 1;
        }
        self.states = self.states.iter().map(|&(f, _)| (f, false)).collect();
    }
    /// The bit, if it is known.
    fn known(&self) -> Option<bool> {
        match self.states.iter().collect::<Vec<_>>()[..] {
            [&(0, p)] => Some(p),
            _ => None,
        }
    }
    /// Everything raised has been delivered, coalesced or cancelled.
    fn settled(&self) -> bool {
        self.states.contains(&(0, false))
    }
}

/// The randomized guests, and the accounting.
struct Chaos {
    rng: SeededRng,
    setup: BTreeMap<Vid, usize>,
    finishing: bool,
    finished: BTreeSet<Vid>,
    sources: BTreeMap<(Vid, usize), Source>,
    /// Residents of the entering core before the entry: pending, timer.
    before: BTreeMap<Vid, (u16, VirtualTimer)>,
    last_timer: BTreeMap<Vid, VirtualTimer>,
    /// vCPUs that set their timer in an entry that sent them away.
    timer_set_away: BTreeSet<Vid>,
    /// Timer periods that passed, and those a late expiry merged.
    expiries: u64,
    merged: u64,
    injections: u64,
    /// Emulated interrupt entries the fake cores resumed.
    resumed_injections: u64,
    sends: u64,
    /// After every entry, compare the totals with the instances' (one
    /// instance: every raise takes effect at once).
    exact_every_entry: bool,
}

impl Chaos {
    fn new(seed: u64, exact: bool) -> Chaos {
        Chaos {
            rng: SeededRng::new(seed),
            setup: BTreeMap::new(),
            finishing: false,
            finished: BTreeSet::new(),
            sources: BTreeMap::new(),
            before: BTreeMap::new(),
            last_timer: BTreeMap::new(),
            timer_set_away: BTreeSet::new(),
            expiries: 0,
            merged: 0,
            injections: 0,
            resumed_injections: 0,
            sends: 0,
            exact_every_entry: exact,
        }
    }

    fn src(&mut self, v: Vid, s: usize) -> &mut Source {
        self.sources.entry((v, s)).or_default()
    }

    fn totals(&self) -> (u64, u64, u64, u64) {
        let mut t = (0, 0, 0, 0);
        for s in self.sources.values() {
            t.0 += s.raised;
            t.1 += s.coalesced;
            t.2 += s.cancelled;
            t.3 += s.delivered;
        }
        t
    }
}

fn idle_loop(w: &World, v: Vid, ctx: &mut VcpuContext) {
    ctx.pc = 0x8000_0000 + w.spec(v.0).partition.base + 0x100 + 0x10 * v.1 as u32;
}

impl Guests for Chaos {
    fn act(&mut self, w: &World, _core: usize, v: Vid, ctx: &mut VcpuContext) -> Act {
        let spec = w.spec(v.0);
        let rt = spec.class == GuestClass::RealTime;
        let step = self.setup.entry(v).or_insert(0);
        *step += 1;
        let vbr = if rt { RT_VBR } else { GP_VBR };
        match *step {
            1 => return Act::call(0x60, [vbr, 0, 0, 0]),
            2 => return Act::call(0x62, [0, 0, 0, 0]),
            3 => {
                let us = if rt { self.rng.range(300, 2_000) } else { self.rng.range(500, 5_000) };
                return Act::call(0x6b, [us as u32, 0, 0, 0]);
            }
            4 if v.1 == 0 && spec.vcpus > 1 => return Act::call(0x69, [1, 0x8000_0000 + spec.partition.base + 0x800, 1, 0]),
            5 if v.1 == 0 && spec.vcpus > 2 => return Act::call(0x69, [2, 0x8000_0000 + spec.partition.base + 0x800, 2, 0]),
            _ => {}
        }
        // Straight-line code wraps round inside the partition.
        ctx.pc = 0x8000_0000 + spec.partition.base + 0x2000 + (ctx.pc.wrapping_add(0x40) & 0xfff);
        if self.finishing {
            // Interrupts on, timer off, then idle for good.
            if !self.finished.contains(&v) {
                self.finished.insert(v);
                return Act::call(0x62, [0, 0, 0, 0]);
            }
            idle_loop(w, v, ctx);
            if w.find(v).is_some_and(|(_, x)| x.timer.period != 0) {
                return Act::call(0x6b, [0, 0, 0, 0]);
            }
            return Act::call(0x63, [0; 4]);
        }
        let all_started = w.models.values().all(|m| m.started);
        let r = self.rng.below(100);
        match r {
            0..=29 => Act::Run(self.rng.range(500, 40_000)),
            30..=51 if all_started => {
                let target = self.rng.below(spec.vcpus as u64) as u32;
                Act::call(0x67, [target, self.rng.below(8) as u32, 0, 0])
            }
            52..=59 => Act::call(0x61, [0; 4]),
            60..=74 => {
                let level = match self.rng.below(10) {
                    0..=5 => 0,
                    _ if rt => self.rng.range(0, 15) as u32,
                    6 => 15,
                    _ => self.rng.range(1, 7) as u32,
                };
                Act::call(0x62, [level, 0, 0, 0])
            }
            // A guest idles only with its tick running (else it could
            // sleep for ever).
            75..=82 if w.find(v).is_some_and(|(_, x)| x.timer.period != 0) => {
                idle_loop(w, v, ctx);
                Act::call(0x63, [0; 4])
            }
            83..=89 => Act::call(0x64, [0; 4]),
            90..=93 => {
                let us = match self.rng.below(4) {
                    0 => 0,
                    _ if rt => self.rng.range(300, 2_000),
                    _ => self.rng.range(500, 5_000),
                } as u32;
                Act::call(0x6b, [us, self.rng.chance(20) as u32, 0, 0])
            }
            _ => Act::Run(self.rng.range(500, 5_000)),
        }
    }

    fn before_entry(&mut self, w: &World, core: usize, _cause: &Cause) {
        self.before = w.inst[core].resident().iter().map(|x| ((x.guest, x.id), (x.pending, x.timer))).collect();
    }

    fn after_entry(&mut self, w: &World, info: &EntryInfo) {
        let c = info.core;
        // 1. What the hypercall raised or withdrew.
        let mut timer_set = None;
        if let (Cause::Trap { imm, args }, Some(v)) = (info.cause, info.vcpu) {
            let vcpus = w.spec(v.0).vcpus as u32;
            match imm {
                0x67 if args[0] < vcpus && args[1] < 8 => {
                    self.sends += 1;
                    let target = (v.0, args[0] as u8);
                    if self.before.contains_key(&target) {
                        self.src(target, ipi(args[1])).raise();
                    } else {
                        self.src(target, ipi(args[1])).send();
                    }
                }
                0x6b if args[0] <= 7_000_000 => {
                    timer_set = Some(v);
                    if args[0] == 0 {
                        self.src(v, TIMER).cancel();
                    }
                }
                _ => {}
            }
        }
        // 2. Timer expiries: the instance's record of each timer moved on.
        for x in w.inst[c].resident() {
            let v = (x.guest, x.id);
            let prev = match self.before.get(&v) {
                Some(&(_, t)) => Some(t),
                None => self.last_timer.get(&v).copied(),
            };
            self.last_timer.insert(v, x.timer);
            let Some(prev) = prev else { continue };
            // Set in the entry it left its core in: first seen here.
            let set_away = self.before.get(&v).is_none() && self.timer_set_away.remove(&v);
            if timer_set == Some(v) || set_away || prev.period == 0 || x.state == RunState::Exited || x.timer == prev {
                continue;
            }
            assert!(info.end >= prev.next, "{v:?}: a tick due at {} raised early (entry ending {})", prev.next, info.end);
            if x.timer.period == prev.period {
                let d = x.timer.next - prev.next;
                assert_eq!(d % prev.period, 0, "{v:?}: the next release is not a whole number of periods on");
                self.expiries += d / prev.period;
                self.merged += d / prev.period - 1;
            } else {
                assert!(prev.oneshot && x.timer.period == 0, "{v:?}: timer changed by itself: {prev:?} -> {:?}", x.timer);
                self.expiries += 1;
            }
            self.src(v, TIMER).raise();
        }
        if let Some(v) = timer_set {
            if !w.inst[c].resident().iter().any(|x| (x.guest, x.id) == v) {
                self.timer_set_away.insert(v);
            }
        }
        // 3. Injections: some raise must be pending.
        let mut injected = 0;
        for e in &info.events {
            if let TraceEvent::Inject { guest, vcpu, intevt } = *e {
                let v = (guest, vcpu);
                let s = if intevt == 0x400 { TIMER } else { ipi(((intevt - 0xf00) / 0x20) as u32) };
                assert!(self.src(v, s).deliver(), "{v:?}: INTEVT {intevt:#x} injected with no raise pending (entry at {})", info.start);
                injected += 1;
                self.injections += 1;
            }
        }
        let seen = info.resumed.is_some_and(|r| r.injected.is_some()) as u64;
        assert!(seen <= injected, "the fake core resumed an injection the instance did not report");
        self.resumed_injections += seen;
        // 4. Where the bit is known, it is the instance's.
        for x in w.inst[c].resident() {
            let v = (x.guest, x.id);
            for s in 0..9 {
                if let Some(p) = self.sources.get(&(v, s)).and_then(|s| s.known()) {
                    assert_eq!(x.pending & bit(s) != 0, p, "{v:?}: pending bit of source {s} (entry at {})", info.start);
                }
            }
        }
        // 5. One instance: the counters match after every entry.
        if self.exact_every_entry {
            let (raised, coalesced, cancelled, delivered) = self.totals();
            let st = &w.inst[0].stats;
            assert_eq!(
                (st.virqs_raised, st.virqs_coalesced, st.virqs_cancelled, st.injections),
                (raised, coalesced, cancelled, delivered),
                "instance counters (raised, coalesced, cancelled, injected) after the entry at {}",
                info.start
            );
        }
    }
}

/// Let every guest unmask, stop its timer and idle; wait until nothing
/// moves; then check that everything raised is accounted for.
fn finish_and_check(w: &mut World, g: &mut Chaos) {
    g.finishing = true;
    w.run_until(g, 400_000, "every guest settles", |w| {
        (0..w.hw.len()).all(|c| w.running[c].is_none() && w.ici[c].is_none() && w.ipi_ici[c].is_none())
            && w.inst.iter().all(|i| i.resident().iter().all(|x| x.timer.period == 0 && x.pending == 0))
    });
    for ((v, s), src) in &g.sources {
        assert!(src.settled(), "{v:?} source {s}: raises left undelivered ({:?})", src.states);
        if src.uncertain == 0 {
            assert_eq!(src.raised, src.delivered + src.coalesced + src.cancelled, "{v:?} source {s}: raised = delivered + coalesced + cancelled");
        }
    }
    let sum = |f: fn(&spumone_percore::instance::Stats) -> u64| w.inst.iter().map(|i| f(&i.stats)).sum::<u64>();
    let (raised, _, cancelled, delivered) = g.totals();
    assert_eq!(sum(|s| s.virqs_raised), raised, "every raise the test counted, and no other");
    assert_eq!(sum(|s| s.injections), delivered, "every injection");
    assert_eq!(sum(|s| s.virqs_cancelled), cancelled, "every tick withdrawn by TIMER_SET(0)");
    assert_eq!(
        sum(|s| s.virqs_raised),
        sum(|s| s.injections) + sum(|s| s.virqs_coalesced) + sum(|s| s.virqs_cancelled),
        "raised = injected + coalesced + cancelled (nothing pending)"
    );
    for i in &w.inst {
        assert_eq!(i.stats.misrouted, 0);
        let p = i.mailbox_stats();
        assert_eq!((p.queue_full, p.refused, p.mailbox.lost), (0, 0, 0), "core {}: nothing dropped", i.core());
    }
    assert_eq!(g.resumed_injections, delivered, "every injection reached its guest exactly once");
    // Ticks are raised when due: none here is ever a whole period late, so
    // no expiry is folded into a later one (which no counter would show).
    assert_eq!(g.merged, 0, "timer periods skipped by a late expiry");
    assert_eq!(g.expiries, g.sources.iter().filter(|((_, s), _)| *s == TIMER).map(|(_, x)| x.raised).sum::<u64>());
}

fn rtos_spec(vcpus: u8) -> GuestSpec {
    GuestSpec { vcpus, ..rtos() }
}

fn gpos_spec(vcpus: u8, home: [u8; 4]) -> GuestSpec {
    GuestSpec { vcpus, home, partition: Partition { base: GP_BASE, size: 0x100_0000 }, ..gpos(vcpus) }
}

/// One instance, an RTOS and a GPOS with two vCPUs each: every raise takes
/// effect at once, so every count is exact after every entry.
#[test]
fn one_instance_accounts_for_every_virtual_interrupt_exactly() {
    let mut cfg: Config = config(&[rtos_spec(2), gpos_spec(2, [0; 4])], Policy::None);
    cfg.cores = 1;
    for seed in [1u64, 2, 3] {
        let mut g = Chaos::new(seed, true);
        let mut w = World::boot(cfg, shared(), &mut g);
        w.run_until(&mut g, 40_000, "the randomized part", |w| w.steps >= 35_000);
        finish_and_check(&mut w, &mut g);
        let st = &w.inst[0].stats;
        assert!(st.injections > 1_000 && st.virqs_coalesced > 10 && st.virqs_cancelled > 0, "seed {seed}: a meaningful run: {st:?}");
        assert_eq!(g.sources.values().map(|s| s.uncertain).sum::<u64>(), 0);
        eprintln!(
            "seed {seed}: {} sends, {} timer expiries ({} merged late), raised {}, coalesced {}, cancelled {}, injected {}",
            g.sends, g.expiries, g.merged, st.virqs_raised, st.virqs_coalesced, st.virqs_cancelled, st.injections
        );
    }
}

/// Two instances under on-demand migration (and, as variants, with the
/// departure shipped after the RTOS dispatch, and bounded delayed
/// preemption): an RTOS on core 0, a GPOS with vCPUs homed on cores 0, 1
/// and 0, so IPIs and ticks travel with migrating vCPUs and through the
/// mailbox.
#[test]
fn two_instances_with_migration_lose_and_duplicate_no_virtual_interrupt() {
    for (seed, policy, dispatch_first, bound) in [
        (42u64, Policy::OnDemandMigration, false, None),
        (43, Policy::OnDemandMigration, true, None),
        (44, Policy::DelayedPreemption, false, Some(30_000)),
        (45, Policy::None, false, None),
    ] {
        let mut cfg: Config = config(&[rtos(), gpos_spec(3, [0, 1, 0, 0])], policy);
        cfg.dispatch_first = dispatch_first;
        cfg.delay_bound = bound;
        let mut g = Chaos::new(seed, false);
        let mut w = World::boot(cfg, shared(), &mut g);
        w.run_until(&mut g, 110_000, "the randomized part", |w| w.steps >= 100_000);
        finish_and_check(&mut w, &mut g);
        let moves: u64 = w.inst.iter().map(|i| i.stats.departures_out + i.stats.returns_out).sum();
        let st: Vec<_> = w.inst.iter().map(|i| i.stats).collect();
        if policy == Policy::OnDemandMigration {
            assert!(moves > 100, "migrations: {moves}");
        }
        assert!(st.iter().map(|s| s.injections).sum::<u64>() > 1_000);
        assert!(st.iter().map(|s| s.virqs_coalesced).sum::<u64>() > 10);
        eprintln!(
            "{policy:?}: {} sends, {} timer expiries ({} merged late), {} migrations, raised {:?}, coalesced {:?}, injected {:?}",
            g.sends,
            g.expiries,
            g.merged,
            moves,
            st.iter().map(|s| s.virqs_raised).collect::<Vec<_>>(),
            st.iter().map(|s| s.virqs_coalesced).collect::<Vec<_>>(),
            st.iter().map(|s| s.injections).collect::<Vec<_>>()
        );
    }
}

/// A core whose instance cannot run for a while (here the GPOS vCPU on it
/// has interrupts disabled without IPL separation, so its ICIs are
/// masked) receives nothing; its sender's IPIs wait as bits in the
/// target's IPI word, every repeat coalesced and counted, none dropped,
/// and no mail at all. (Once a bug, when IPIs were mail: a 16-post outbox
/// dropped the 25th message and SEND_IPI still returned 0.)
#[test]
fn ipis_are_not_lost_when_the_receiver_is_slow() {
    use spumone_migration::layout::ipi_offset;
    let mem = shared();
    let mut cfg = config(&[gpos(2)], Policy::None);
    cfg.ipl_separation = false;
    let mut hw0 = FakeCore::new(0, &mem);
    let mut core0 = spumone_percore::instance::Instance::boot_with(&mut hw0, cfg, &[]);
    let mut hw1 = FakeCore::new(1, &mem);
    let mut core1 = spumone_percore::instance::Instance::boot_with(&mut hw1, cfg, &[]);
    hw0.trap(&mut core0, 0x60, &[GP_VBR]);
    hw0.trap(&mut core0, 0x62, &[0]);
    hw0.trap(&mut core0, 0x69, &[1, GP_ENTRY + 0x800, 0]);
    hw0.icis_sent.clear();
    hw1.interrupt(&mut core1, ICI_INTEVT);
    hw1.trap(&mut core1, 0x60, &[GP_VBR]);
    // vCPU 1 disables interrupts for a long critical section: with IPL
    // separation off that masks the hypervisor's level 15 too.
    hw1.trap(&mut core1, 0x61, &[]);
    assert_eq!(hw1.resumed().1, 15);
    // vCPU 0 sends 24 IPIs with message 0, then one with message 7.
    for _ in 0..24 {
        hw0.trap(&mut core0, 0x67, &[1, 0]);
    }
    let r0 = hw0.trap(&mut core0, 0x67, &[1, 7]);
    assert_eq!(spumone_percore::instance::reg(&r0, 0), 0, "SEND_IPI says it worked");
    let p = core0.mailbox_stats();
    assert_eq!((p.mailbox.sent, p.queue_full), (1, 0), "the start, and no mail for the IPIs");
    assert_eq!(mem.borrow()[ipi_offset(2, 0, 1).unwrap() as usize / 4], 0x81, "messages 0 and 7 wait in vCPU 1's word");
    assert_eq!((core0.stats.virqs_raised, core0.stats.virqs_coalesced), (25, 23), "raised by the sender; every repeat of message 0 is one with the first");
    assert_eq!(hw0.ipi_icis_sent, [1; 25], "an ICI with each, in case one was lost");
    // vCPU 1 ends its critical section and takes the ICI: both delivered,
    // message 0 first (same level, lower INTEVT), 7 when its handler ends.
    hw1.trap(&mut core1, 0x62, &[0]);
    hw1.interrupt(&mut core1, IPI_ICI_INTEVT);
    assert_eq!(handled_in_turn(&mut hw1, &mut core1), [0xf00, 0xfe0]);
    assert_eq!((core1.stats.virqs_raised, core1.stats.virqs_coalesced, core1.stats.injections), (0, 0, 2));
}

/// Several kinds of interrupt pending behind a mask at once go in the
/// INTC's order when the mask lifts: the highest level first, and between
/// equal levels the lowest INTEVT (the timer's 0x400 before the IPIs'
/// 0xf00 + 0x20 m). Both orders of the two levels, and a tie.
#[test]
fn interrupts_pending_behind_a_mask_go_highest_level_first_then_lowest_intevt() {
    use spumone_kernel::hypercall::sr;
    for (timer_level, ipi_level, order) in [
        (5, 4, [0x400, 0xf20, 0xf60]),
        (4, 6, [0xf20, 0xf60, 0x400]),
        (4, 4, [0x400, 0xf20, 0xf60]),
    ] {
        let mut spec = gpos(2);
        (spec.timer_level, spec.ipi_level) = (timer_level, ipi_level);
        let (_mem, mut hw0, mut core0, mut hw1, mut core1) = two_cores(config(&[spec], Policy::None));
        hw0.trap(&mut core0, 0x60, &[GP_VBR]);
        hw0.trap(&mut core0, 0x62, &[0]);
        start_gpos_vcpu_1(&mut hw0, &mut core0, &mut hw1, &mut core1);
        // vCPU 1 arms a one-shot 10 us timer and masks; the tick comes and
        // waits, then IPIs 3 and 1 from vCPU 0 wait beside it.
        hw1.trap(&mut core1, 0x6b, &[10, 1]);
        hw1.trap(&mut core1, 0x61, &[]);
        let t = hw1.now + 20 * 600;
        hw1.timer_entries_before(&mut core1, t);
        hw0.trap(&mut core0, 0x67, &[1, 3]);
        hw0.trap(&mut core0, 0x67, &[1, 1]);
        hw1.interrupt(&mut core1, IPI_ICI_INTEVT);
        assert_eq!(hw1.resumed().0.sr & sr::BL, 0, "nothing gets through the mask");
        assert_eq!(core1.stats.injections, 0);
        hw1.trap(&mut core1, 0x62, &[0]);
        assert_eq!(handled_in_turn(&mut hw1, &mut core1), order, "timer at level {timer_level}, IPIs at {ipi_level}");
    }
}

/// The INTEVTs of the emulated interrupt entries `hw` resumes, one after
/// another, each handler restoring its level and returning (at most ten):
/// the order a vCPU's pending interrupts are delivered in.
fn handled_in_turn(hw: &mut FakeCore, inst: &mut spumone_percore::instance::Instance) -> Vec<u32> {
    let mut seen = Vec::new();
    for _ in 0..10 {
        let (ctx, _) = hw.resumed();
        if ctx.sr & spumone_kernel::hypercall::sr::BL == 0 {
            break;
        }
        seen.push(ctx.intevt);
        hw.return_from_interrupt(inst);
    }
    seen
}
