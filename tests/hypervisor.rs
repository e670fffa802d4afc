//! The hypervisor's board image on the simulated RP1, with the RTOS probe
//! and the SMP load guest (cli/src/lhp.rs): determinism, the hosted model
//! against the board, interrupt accounting, IPL separation, and what each
//! lock-holder-preemption policy does to dispatch latency and GPOS
//! throughput, every figure measured from the running code. Every run is
//! deterministic, so repeated runs are compared for equality; policy
//! claims are compared between runs of the same scenario.

use rp1::lhp::{check_progress, console_field, Scenario};
use rp1_sim::machine::Exit;
use spumone_hosting::description::Policy;
use spumone_hosting::report::{latencies_us, work_units, Summary};
use spumone_hosting::runner::{Mode, RunResult};
use spumone_percore::instance::Stats;
use spumone_percore::hw::TraceEvent;

/// Far more than any scenario here needs.
const LIMIT: u64 = 600_000_000 * 5;

fn run_events(s: &Scenario, keep_events: bool) -> RunResult {
    let (_, r) = s.run(LIMIT, keep_events).expect("scenario runs");
    assert_eq!(r.exit, Exit::Guest(0), "{:?}: consoles {:?} / {:?}", s, r.console(0), r.console(r.guests.len() - 1));
    assert!(r.log.exits.iter().all(|e| *e == Some(0)), "every guest exits 0: {:?}", r.log.exits);
    assert!(!r.console(r.guests.len() - 1).contains("FAIL"), "{}", r.console(1));
    r
}

fn run(s: &Scenario) -> RunResult {
    run_events(s, false)
}

fn scenario(policy: Policy, samples: u32, gpos_ms: u32, util: u32) -> Scenario {
    let mut s = Scenario::new(policy);
    s.samples = samples;
    s.gpos_ms = gpos_ms;
    s.rtos_util = util;
    s.spin_yield = true;
    s.hosted = false;
    s
}

fn latency(r: &RunResult) -> Summary {
    Summary::of(&latencies_us(r)).expect("latency samples")
}

fn sum(r: &RunResult, f: fn(&Stats) -> u64) -> u64 {
    r.stats.iter().map(f).sum()
}

/// `name=value` from a console line (`rp1::lhp::console_field`).
fn field(console: &str, name: &str) -> u64 {
    console_field(console, name).unwrap_or_else(|| panic!("no {name} in {console}"))
}

#[test]
fn two_runs_of_a_scenario_are_identical() {
    let s = scenario(Policy::OnDemandMigration, 100, 100, 0);
    let (a, b) = (run_events(&s, true), run_events(&s, true));
    assert!(matches!(a.mode, Mode::Native { .. }));
    assert_eq!(a.cycles, b.cycles);
    assert_eq!(a.instructions, b.instructions);
    assert_eq!(a.log.consoles, b.log.consoles);
    assert_eq!(a.log.samples, b.log.samples);
    assert_eq!(a.log.events, b.log.events, "the instances' traces");
    assert_eq!(a.stats, b.stats);
    assert_eq!(a.mailbox, b.mailbox);
    assert_eq!(a.board, b.board);
    assert_eq!(a.machine_console, b.machine_console);
}

/// The same scenario on the board image and on the hosted model: the
/// guests' own checks come out the same, and both took every sample. (The
/// numbers differ: the model charges a cost table, the board's code takes
/// what it takes.)
#[test]
fn the_hosted_model_and_the_board_image_run_the_guests_alike() {
    let mut s = scenario(Policy::OnDemandMigration, 150, 150, 30);
    s.dispatch_first = true;
    let board = run(&s);
    s.hosted = true;
    let model = run(&s);
    assert!(matches!(model.mode, Mode::Hosted));
    for r in [&board, &model] {
        let (probe, load) = (r.console(0), r.console(1));
        assert_eq!(field(&probe, "samples"), 150, "{probe}");
        for f in ["lost", "overruns", "early"] {
            assert_eq!(field(&probe, f), 0, "{f}: {probe}");
        }
        assert_eq!(field(&load, "vcpus"), 4, "{load}");
        assert_eq!(field(&load, "lock_errors"), 0, "{load}");
        assert_eq!(field(&load, "work"), field(&load, "syscalls"), "{load}");
        // 150 latency samples (kind 0), and the probe's hypercall round trip (kind 2).
        assert_eq!(r.log.samples.iter().filter(|x| x.guest == 0 && x.kind == 0).count(), 150);
        assert_eq!(r.log.samples.iter().filter(|x| x.guest == 0 && x.kind == 2).count(), 1);
    }
    // Both report the same kinds of events: the RTOS's 150 ticks injected
    // (the timer's INTEVT) on core 0 and its vCPU never leaving.
    for r in [&board, &model] {
        assert!(r.stats[0].injections >= 150, "{:?}", r.stats[0]);
        assert_eq!(r.stats.iter().skip(1).map(|s| s.departures_out).sum::<u64>(), 0);
    }
}

#[test]
fn every_virtual_interrupt_is_delivered_coalesced_cancelled_or_still_pending() {
    for (policy, dispatch_first) in [(Policy::None, false), (Policy::OnDemandMigration, true)] {
        let mut s = scenario(policy, 200, 200, 30);
        s.dispatch_first = dispatch_first;
        let r = run(&s);
        let raised = sum(&r, |s| s.virqs_raised);
        let accounted =
            sum(&r, |s| s.injections) + sum(&r, |s| s.virqs_coalesced) + sum(&r, |s| s.virqs_cancelled) + r.pending_virqs_at_end;
        assert_eq!(raised, accounted, "{policy:?}");
        assert!(raised > 1000, "{policy:?}: a real load ({raised} raised)");
        assert_eq!(sum(&r, |s| s.misrouted), 0, "{policy:?}");
        assert!(r.mailbox.iter().all(|m| m.mailbox.rejected.total() == 0 && m.refused == 0), "{policy:?}");
        // Every message sent was received (nothing scribbles here).
        let sent: u64 = r.mailbox.iter().map(|m| m.mailbox.sent).sum();
        let received: u64 = r.mailbox.iter().map(|m| m.mailbox.received).sum();
        assert_eq!(sent, received, "{policy:?}");
        // The probe saw every one of its 200 periods.
        assert!(r.console(0).contains("samples=200 ") && r.console(0).contains("lost=0"), "{}", r.console(0));
        assert!(r.board.iter().all(|b| b.dropped == 0), "no trace record lost: {:?}", r.board);
    }
}

#[test]
fn ipl_separation_lets_the_rtos_through_while_the_gpos_has_interrupts_disabled() {
    let mut on = scenario(Policy::None, 200, 200, 0);
    on.spin_yield = false;
    let mut off = on.clone();
    off.ipl_separation = false;
    let (on, off) = (latency(&run(&on)), latency(&run(&off)));
    // With separation the RTOS tick preempts the GPOS's masked kernel
    // work at once; without, it waits for the GPOS to unmask. Measured:
    // mean 15.5 us against 22.1 us, p99 20.9 us against 48.8 us. The mean
    // of 200 samples moves with the interleaving, which every image
    // change moves (its ratio was 1.56 on image 07f13d8, 1.43 on its
    // successor); the tail is the steady sign.
    assert!(off.mean > 1.3 * on.mean && off.p99 > 1.8 * on.p99, "separation off: {off:?} vs on: {on:?}");
}

/// The latency of each policy, measured on the board image, against the
/// run without a policy (issue 9's target: every policy's p99 within a
/// microsecond of it; delayed preemption cannot, by design).
#[test]
fn dispatch_latency_follows_the_policies_and_dispatch_first_keeps_the_departure_off_the_critical_path() {
    let lat = |p: Policy, dispatch_first: bool| {
        let mut s = scenario(p, 300, 350, 0);
        s.dispatch_first = dispatch_first;
        let r = run_events(&s, true);
        (latency(&r), r)
    };
    let (none, _) = lat(Policy::None, false);
    let (delayed, _) = lat(Policy::DelayedPreemption, false);
    let (trap, _) = lat(Policy::TrapMigration, false);
    let (ship_first, ship_run) = lat(Policy::OnDemandMigration, false);
    let (dispatch_first, df_run) = lat(Policy::OnDemandMigration, true);
    // Delayed preemption waits for the GPOS's critical sections: on the
    // image of 2026-12-05 (test guests whose handlers nest at most three
    // deep) mean 31.0 us against 15.6, p99 76.5 us against 17.1. The
    // mean moves with the interleaving (it was above twice none's on
    // the images before); the tail is the steady sign.
    assert!(delayed.mean > 1.5 * none.mean && delayed.p99 > 2.0 * none.p99, "delayed {delayed:?} vs none {none:?}");
    // Trap-based migration keeps GPOS kernel code off the RTOS core, so
    // the RTOS preempts user-level GPOS code at once.
    assert!(trap.mean < delayed.mean, "trap {trap:?} vs delayed {delayed:?}");
    // Shipping the departing vCPU first puts the departure's source half,
    // as the instance measured it, in front of the RTOS.
    let sources: Vec<f64> = ship_run
        .log
        .events
        .iter()
        .filter_map(|&(_, _, e)| match e {
            TraceEvent::MigrateOut { departure: true, cycles, .. } => Some(cycles as f64 / 600.0),
            _ => None,
        })
        .collect();
    let source = Summary::of(&sources).expect("departures");
    assert!(ship_first.p50 > none.p50 + 0.9 * source.p50, "ship-first {ship_first:?}, none {none:?}, source half {source:?}");
    // Dispatch-first does nothing of the departure on the way to the RTOS:
    // what it adds is the policy's bookkeeping on the release (about 190
    // cycles, 0.3 us, per release: the board's entry-cost table), and no
    // source half (9 us) ever lands in front of a dispatch: every
    // departure from core 0 comes after the RTOS was dispatched there,
    // where shipping first departs before. (The target, p99 within
    // 1 us of none, is the latency experiment's at 2,000 samples; at 300,
    // p99 is the third-largest sample, and two runs' tails differ by
    // several us with the image's layout alone: 23.19 against 18.11 us.)
    let (df_before, df_departures) = departures_before_the_rtos_dispatch(&df_run);
    assert_eq!(df_before, 0, "dispatch-first: {df_before} of {df_departures} departures before the RTOS ran");
    let (sf_before, sf_departures) = departures_before_the_rtos_dispatch(&ship_run);
    // Shipping first: each of the 300 releases departs before its dispatch.
    assert_eq!(sf_before, 300, "ship-first: {sf_before} of {sf_departures} departures before the RTOS ran");
    assert!(dispatch_first.mean <= none.mean + 0.5, "dispatch-first {dispatch_first:?} vs none {none:?}");
    assert!(dispatch_first.max < none.max + source.p50, "dispatch-first {dispatch_first:?} vs none {none:?}");
    // With the RTOS idle its short task nearly always finishes inside the
    // deferral: the GPOS vCPU stays (it leaves only when a release comes
    // late, behind a long hypervisor entry).
    let s0 = &df_run.stats[0];
    assert!(s0.departures_avoided >= 290 && s0.departures_out <= 10, "{s0:?}");
}

/// Of the departures from core 0 (the RTOS's core; its guest is guest
/// 0), how many left while a GPOS vCPU was the last one dispatched there,
/// that is, before the RTOS release that caused them was dispatched; and
/// how many departures there were.
fn departures_before_the_rtos_dispatch(r: &RunResult) -> (usize, usize) {
    let mut last_dispatched = None;
    let (mut before, mut all) = (0, 0);
    for &(_, _, e) in r.log.events.iter().filter(|(core, _, _)| *core == 0) {
        match e {
            TraceEvent::Dispatch { guest, .. } => last_dispatched = Some(guest),
            TraceEvent::MigrateOut { departure: true, .. } => {
                all += 1;
                if last_dispatched != Some(0) {
                    before += 1;
                }
            }
            _ => {}
        }
    }
    (before, all)
}

#[test]
fn without_a_policy_gpos_throughput_collapses_under_rtos_load_and_the_policies_remove_it() {
    // 20 ms burner windows: twenty-five long preemptions of vCPU 0 in the
    // run, so the collapse does not hang on where two of them fall.
    let run_units = |p: Policy, dispatch_first: bool| {
        let mut s = scenario(p, 500, 500, 50);
        s.burn_window_ms = 20;
        s.dispatch_first = dispatch_first;
        let r = run(&s);
        (work_units(&r), r, s)
    };
    let (none, _, _) = run_units(Policy::None, false);
    let (delayed, _, _) = run_units(Policy::DelayedPreemption, false);
    let (on_demand, od_run, od) = run_units(Policy::OnDemandMigration, true);
    let idle_rtos = work_units(&run(&scenario(Policy::None, 500, 500, 0)));
    // The RTOS takes half of core 0: the ideal loss is an eighth of the
    // four vCPUs' work. A preempted lock holder stalls all four instead.
    assert!((none as f64) < 0.8 * idle_rtos as f64, "none {none} vs RTOS idle {idle_rtos}");
    // Delayed preemption does not collapse. Whether it beats `none` in this
    // short run depends on where `none`'s preemptions fall, which moves
    // with the image's code layout (none 25,616 and delayed 27,521 work
    // units at b59d52f; 29,324 and 27,401 with the next change to the
    // instance, which touched neither policy's path): the order is checked
    // with a clear gap over 2 s in tests/experiments.rs
    // (without_a_policy_the_gpos_does_less_work_than_under_delayed_preemption).
    assert!(delayed as f64 > 0.85 * none as f64, "delayed {delayed} vs none {none}");
    assert!(on_demand > none, "on-demand {on_demand} vs none {none}");
    // On-demand moves vCPU 0 off the RTOS's core for every burn: it keeps
    // its share of the work.
    check_progress(&od, &od_run.console(1)).expect("every GPOS vCPU makes progress under on-demand migration");
    assert!(od_run.stats[0].departures_out >= 25, "{:?}", od_run.stats[0]);
}

/// Each core's instance (statics, both stacks' deepest use) fits the
/// budget, measured on the board from the image and from the run.
#[test]
fn each_instance_fits_its_budget_in_core_local_memory() {
    let r = run(&scenario(Policy::OnDemandMigration, 50, 50, 30));
    assert_eq!(r.board.len(), 4);
    for (core, b) in r.board.iter().enumerate() {
        assert_eq!(b.boot_state, 1, "core {core} accepted the configuration");
        assert!(b.instance_bytes > 0 && b.rust_stack_bytes > 0 && b.c_stack_bytes > 0, "core {core}: {b:?}");
        let used = b.instance_bytes + b.rust_stack_bytes + b.c_stack_bytes;
        assert!(used as usize <= spumone_percore::instance::STATE_BUDGET, "core {core}: {used} bytes: {b:?}");
    }
}
