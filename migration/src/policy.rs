//! The lock-holder-preemption (LHP) policies: what each one decides.
//!
//! Owns: the choice of policy ([`Policy`], with its options: spin-yield,
//! the delayed-preemption bound, dispatch-first), the one piece of state a
//! policy keeps (since when an RTOS vCPU has been waiting for a GPOS
//! critical section), and every decision that follows from them: which
//! vCPUs leave or are asked back before the scheduler picks, whether a
//! GPOS kernel entry migrates, whether the RTOS waits, whether a spinning
//! vCPU yields, whether a departure ships its context first.
//!
//! Must not touch: the run queue, the mailbox or the hardware. The
//! per-core instance (`spumone-percore`) describes its core in a
//! [`CoreView`] or a [`Contender`], asks, and carries the answer out
//! (moving vCPUs through the migration engine, `crate::engine`).
//!
//! | policy | decision |
//! | --- | --- |
//! | none | the RTOS preempts whatever runs as soon as it is runnable |
//! | delayed preemption | a runnable RTOS waits while the running GPOS vCPU reports a non-zero preempt count; with a bound, past it the GPOS vCPU departs instead |
//! | trap-based | a GPOS vCPU entering its kernel on a core that hosts an RTOS departs; it returns at `KERNEL_EXIT` |
//! | on-demand | while the RTOS is runnable the GPOS vCPUs living on its core depart; when it idles they are asked back. Dispatch-first ships only the context before the RTOS runs |
//! | spin-yield (with any) | `SPIN_YIELD` moves the spinning vCPU behind its equals |

use spumone_kernel::ipl::GuestClass;
use spumone_kernel::vcpu::{AwayReason, RunState};

/// How lock-holder preemption is avoided.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Policy {
    /// The RTOS preempts the GPOS whenever it becomes runnable.
    None,
    /// The RTOS waits while the GPOS vCPU reports a non-zero preempt count.
    DelayedPreemption,
    /// GPOS kernel entries on a core shared with the RTOS move the vCPU to
    /// another core; it comes back at `KERNEL_EXIT`.
    TrapMigration,
    /// When the RTOS becomes runnable the GPOS vCPU leaves its core; it
    /// comes back when the RTOS idles.
    OnDemandMigration,
}

/// What a policy needs to know about the vCPUs resident on its core.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct CoreView {
    /// A real-time vCPU here is runnable.
    pub rtos_runnable: bool,
    /// A real-time vCPU (not exited) lives here: the core is "shared".
    pub hosts_rtos: bool,
}

/// What to do before the scheduler picks, in this order.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Plan {
    /// Ask back the vCPUs a delay bound sent away (the RTOS idles).
    pub recall_delay_bounded: bool,
    /// Ask back the vCPUs on-demand migration sent away (the RTOS idles).
    pub recall_displaced: bool,
    /// Send away every GPOS vCPU living here ([`Lhp::evictable`]) for
    /// [`AwayReason::RtosActive`] (the RTOS is runnable).
    pub evict_gpos: bool,
}

/// A vCPU as the delayed-preemption decision sees it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Contender {
    pub class: GuestClass,
    pub runnable: bool,
    /// Its last `PREEMPT_COUNT` (0 = preemptible).
    pub preempt_count: u32,
}

/// The delayed-preemption decision when the scheduler would switch.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Preemption {
    /// Switch as the scheduler chose.
    Proceed,
    /// The running GPOS vCPU keeps the core; `first` if the RTOS has only
    /// now started waiting (a delayed preemption to count).
    Hold { first: bool },
}

/// One core's policy: the machine's choice and options, and the waiting
/// state of delayed preemption.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Lhp {
    policy: Policy,
    spin_yield: bool,
    /// Bounded delayed preemption: past this many cycles of waiting the
    /// GPOS vCPU departs instead.
    delay_bound: Option<u32>,
    dispatch_first: bool,
    /// Since when an RTOS vCPU has been waiting for the GPOS to leave its
    /// critical section.
    waiting_since: Option<u64>,
    /// The bound passed and the GPOS vCPU could not leave: the RTOS takes
    /// the core at the next switch, in place.
    bound_overrun: bool,
}

impl Lhp {
    /// No policy, no options (an instance not booted yet).
    pub const OFF: Lhp = Lhp::new(Policy::None, false, None, false);

    pub const fn new(policy: Policy, spin_yield: bool, delay_bound: Option<u32>, dispatch_first: bool) -> Lhp {
        Lhp { policy, spin_yield, delay_bound, dispatch_first, waiting_since: None, bound_overrun: false }
    }

    pub const fn policy(&self) -> Policy {
        self.policy
    }

    /// Delayed preemption is holding an RTOS back right now.
    pub const fn holding(&self) -> bool {
        self.waiting_since.is_some()
    }

    /// Before the scheduler picks: who leaves, who is asked back.
    pub fn plan(&self, view: CoreView) -> Plan {
        // The RTOS idles, or has exited: vCPUs a delay bound sent away come
        // back (whatever the policy: the bound is an option of delayed
        // preemption, but a vCPU it sent must come home under any). A core
        // with nobody away asks nothing (the engine looks first).
        let idle_rtos = !view.rtos_runnable;
        let on_demand = self.policy == Policy::OnDemandMigration;
        Plan {
            recall_delay_bounded: idle_rtos,
            recall_displaced: on_demand && idle_rtos,
            evict_gpos: on_demand && view.rtos_runnable,
        }
    }

    /// Whether on-demand migration sends this vCPU away while the RTOS
    /// runs: a GPOS vCPU at home and alive.
    pub fn evictable(class: GuestClass, away: Option<AwayReason>, state: RunState) -> bool {
        class == GuestClass::GeneralPurpose && away.is_none() && state != RunState::Exited
    }

    /// Trap-based migration: whether a vCPU of `class` that has just
    /// entered its kernel (a forwarded exception or trap, or a delivered
    /// interrupt) leaves this core.
    /// The core's view is asked for last, and only under trap-based
    /// migration: this is asked at every quick entry of the doorbell and
    /// the IPI ICI, and building the view scans the core's vCPUs.
    pub fn trap_migrates(&self, class: GuestClass, away: Option<AwayReason>, view: impl FnOnce() -> CoreView) -> bool {
        self.policy == Policy::TrapMigration
            && class == GuestClass::GeneralPurpose
            && away.is_none()
            && view().hosts_rtos
    }

    /// A vCPU arriving for `away` goes before the others of its priority:
    /// it was just preempted (on-demand migration, a delay bound), or is on
    /// a short kernel path (trap-based migration), and making it wait a
    /// round-robin slice behind a vCPU of its own guest would hold up that
    /// guest: the one it waits behind may be spinning on a lock the
    /// arrival holds, or waiting for its answer to an IPI. It stays away
    /// only until its home core is free again.
    pub fn runs_first_on_arrival(away: Option<AwayReason>) -> bool {
        away.is_some()
    }

    /// Delayed preemption: the scheduler would switch from `running` to
    /// `next` at `now`. Holds the switch while a GPOS vCPU in a critical
    /// section keeps the core from the RTOS; the wait ends when the RTOS
    /// gets the core.
    pub fn preemption(&mut self, now: u64, running: Contender, next: Contender) -> Preemption {
        if core::mem::take(&mut self.bound_overrun) && next.class == GuestClass::RealTime {
            self.waiting_since = None;
            return Preemption::Proceed;
        }
        if self.policy == Policy::DelayedPreemption
            && running.runnable
            && running.class == GuestClass::GeneralPurpose
            && next.class == GuestClass::RealTime
            && running.preempt_count != 0
        {
            let first = self.waiting_since.is_none();
            if first {
                self.waiting_since = Some(now);
            }
            Preemption::Hold { first }
        } else {
            if next.class == GuestClass::RealTime {
                self.waiting_since = None;
            }
            Preemption::Proceed
        }
    }

    /// When the bound of the current wait runs out, if there is one.
    pub fn bound_deadline(&self) -> Option<u64> {
        match (self.waiting_since, self.delay_bound) {
            (Some(since), Some(bound)) => Some(since + bound as u64),
            _ => None,
        }
    }

    /// Whether the RTOS has waited past the bound at `now`. If so the wait
    /// is over: the caller sends the running GPOS vCPU away if
    /// [`Lhp::bound_evicts`] it.
    pub fn bound_passed(&mut self, now: u64) -> bool {
        let passed = self.bound_deadline().is_some_and(|d| now >= d);
        if passed {
            self.waiting_since = None;
        }
        passed
    }

    /// The bound passed but the running GPOS vCPU could not depart (no
    /// room on the way, or its guest has not booted the destination core):
    /// the bound still holds, so the RTOS preempts it where it is.
    pub fn bound_overrun(&mut self) {
        self.bound_overrun = true;
    }

    /// Whether the vCPU running when the bound passed departs.
    pub fn bound_evicts(class: GuestClass, away: Option<AwayReason>) -> bool {
        class == GuestClass::GeneralPurpose && away.is_none()
    }

    /// Whether the policy's decisions depend on what a GPOS vCPU is doing
    /// while it shares the core with the RTOS: delayed preemption reads
    /// its preempt count, on-demand migration sends it away when the RTOS
    /// wakes, trap-based migration follows its kernel entries. Under any
    /// of them the instance must see such a vCPU go idle (an idle vCPU is
    /// none of these things); under none, whether it idles or runs is the
    /// scheduler's business alone.
    pub const fn watches_the_gpos(&self) -> bool {
        !matches!(self.policy, Policy::None)
    }

    /// Whether `SPIN_YIELD` gives the core to the spinning vCPU's equals.
    pub const fn spin_yields(&self) -> bool {
        self.spin_yield
    }

    /// Dispatch-first: whether a departure for `reason` ships the context
    /// now and leaves the rest of its source half for when the core idles.
    pub fn ships_context_first(&self, reason: AwayReason) -> bool {
        self.dispatch_first && reason == AwayReason::RtosActive
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const GP: GuestClass = GuestClass::GeneralPurpose;
    const RT: GuestClass = GuestClass::RealTime;

    #[test]
    fn every_migrated_vcpu_runs_first_where_it_arrives_and_a_returning_one_does_not() {
        for reason in [AwayReason::RtosActive, AwayReason::KernelEntry, AwayReason::DelayBound] {
            assert!(Lhp::runs_first_on_arrival(Some(reason)), "{reason:?}");
        }
        // Home again (`away` cleared by the return): it queues as usual.
        assert!(!Lhp::runs_first_on_arrival(None));
    }

    fn view(rtos_runnable: bool, hosts_rtos: bool) -> CoreView {
        CoreView { rtos_runnable, hosts_rtos }
    }

    #[test]
    fn on_demand_evicts_while_the_rtos_runs_and_recalls_when_it_idles() {
        let od = Lhp::new(Policy::OnDemandMigration, false, None, false);
        let p = od.plan(view(true, true));
        assert!(p.evict_gpos && !p.recall_displaced && !p.recall_delay_bounded);
        let p = od.plan(view(false, true));
        assert!(!p.evict_gpos && p.recall_displaced && p.recall_delay_bounded);
        // No RTOS here (none, or it has exited): whoever it sent away comes
        // back (a core with nobody away asks nothing: the engine checks).
        let p = od.plan(view(false, false));
        assert!(!p.evict_gpos && p.recall_displaced && p.recall_delay_bounded, "the RTOS exited: recall");
        for policy in [Policy::None, Policy::DelayedPreemption, Policy::TrapMigration] {
            let p = Lhp::new(policy, false, Some(100), false).plan(view(true, true));
            assert!(!p.evict_gpos && !p.recall_displaced, "{policy:?}");
        }
    }

    #[test]
    fn delayed_preemption_holds_until_the_count_drops_and_counts_once() {
        let mut d = Lhp::new(Policy::DelayedPreemption, false, Some(50), false);
        let gpos = |count| Contender { class: GP, runnable: true, preempt_count: count };
        let rtos = Contender { class: RT, runnable: true, preempt_count: 0 };
        assert_eq!(d.preemption(10, gpos(1), rtos), Preemption::Hold { first: true });
        assert_eq!(d.preemption(20, gpos(1), rtos), Preemption::Hold { first: false });
        assert_eq!(d.bound_deadline(), Some(60));
        assert!(!d.bound_passed(59));
        assert!(d.bound_passed(60) && d.bound_deadline().is_none(), "the wait ends at the bound");
        assert_eq!(d.preemption(70, gpos(1), rtos), Preemption::Hold { first: true });
        assert_eq!(d.preemption(80, gpos(0), rtos), Preemption::Proceed);
        assert_eq!(d.bound_deadline(), None, "the RTOS got the core");
        let mut none = Lhp::new(Policy::None, false, None, false);
        assert_eq!(none.preemption(0, gpos(1), rtos), Preemption::Proceed);
    }

    #[test]
    fn trap_migration_moves_only_gpos_vcpus_at_home_on_shared_cores() {
        let t = Lhp::new(Policy::TrapMigration, false, None, false);
        assert!(t.trap_migrates(GP, None, || view(false, true)));
        assert!(!t.trap_migrates(GP, None, || view(false, false)));
        assert!(!t.trap_migrates(RT, None, || view(false, true)));
        assert!(!t.trap_migrates(GP, Some(AwayReason::KernelEntry), || view(false, true)));
        assert!(!Lhp::OFF.trap_migrates(GP, None, || view(false, true)));
    }

    #[test]
    fn dispatch_first_defers_only_on_demand_departures() {
        let df = Lhp::new(Policy::OnDemandMigration, false, None, true);
        assert!(df.ships_context_first(AwayReason::RtosActive));
        assert!(!df.ships_context_first(AwayReason::DelayBound));
        assert!(!Lhp::new(Policy::OnDemandMigration, false, None, false).ships_context_first(AwayReason::RtosActive));
    }
}
