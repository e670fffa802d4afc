//! The lock-holder-preemption experiments (cli/src/experiments.rs) on
//! short runs of the board image: the same parameters give the same
//! results, field for field, and the results show what the design
//! implies: delayed preemption makes the RTOS wait for the GPOS's critical
//! section while on-demand migration with dispatch-first does not; without
//! a policy a preempted lock holder costs the GPOS more than delayed
//! preemption does; at full RTOS utilization only migration keeps the
//! GPOS running; the migration halves the instances measured are
//! consistent with the timeline they wrote; a run in which a GPOS vCPU
//! starves is reported as failed.
//!
//! Owns: these checks only. Must not touch: the experiments' code, the
//! scenarios (cli/src/lhp.rs), the guests, the hypervisor or the
//! simulator. Run with
//! `cargo test --release -p rp1-systests --test experiments -- --nocapture`
//! to see the numbers.

use rp1::experiments::{
    self, latency, migration, throughput_with, LatencyParams, LatencyResult, MigrationParams, Quiet, ThroughputParams,
    Variant,
};
use rp1::lhp::{check_progress, Scenario};
use spumone_hosting::description::Policy;
use spumone_hosting::runner::Mode;
use std::sync::OnceLock;

const SAMPLES: u32 = 200;

/// The latency experiment at 200 samples, made once for the tests that
/// only read it.
fn latency_200() -> &'static LatencyResult {
    static R: OnceLock<LatencyResult> = OnceLock::new();
    R.get_or_init(|| {
        let r = latency(&LatencyParams { samples: SAMPLES, util: 0 }, &mut Quiet).expect("the latency experiment runs");
        println!("{}", r.table());
        r
    })
}

fn series<'a>(r: &'a LatencyResult, label: &str) -> &'a experiments::LatencySeries {
    r.series.iter().find(|s| s.variant.label == label).unwrap_or_else(|| panic!("no series {label}"))
}

#[test]
fn the_latency_experiment_is_exactly_reproducible() {
    let again = latency(&LatencyParams { samples: SAMPLES, util: 0 }, &mut Quiet).expect("the latency experiment runs");
    let first = latency_200();
    for (a, b) in first.series.iter().zip(&again.series) {
        assert_eq!(a, b, "{} differs between two runs", a.variant.label);
    }
    assert_eq!(*first, again);
}

#[test]
fn every_policy_takes_every_sample_on_the_board_image_and_no_gpos_vcpu_starves() {
    let r = latency_200();
    assert!(matches!(r.mode, Mode::Native { .. }), "the experiments run the board image: {:?}", r.mode);
    assert!(r.table().contains("every cost is measured"), "{}", r.table());
    let labels: Vec<&str> = r.series.iter().map(|s| s.variant.label.as_str()).collect();
    assert_eq!(
        labels,
        [
            "none",
            "delayed-preemption",
            "trap-migration",
            "on-demand-migration",
            "on-demand-migration+dispatch-first",
            "delayed-preemption+bound-10us"
        ]
    );
    for s in &r.series {
        // Trap-based migration once parked vCPU 0 behind a 10 ms slice on
        // core 1 (408 work units against 6,839 under none): the progress
        // check would mark such a run failed. Without that, it sends every
        // system call of vCPU 0 to core 1, where it preempts vCPU 1 and
        // spins on the lock vCPU 1 holds (`rp1::lhp::check_progress`):
        // over the 2 s run vCPU 0 does about a fifth of its fair share,
        // and over this 250 ms one about half, on either side of it as
        // each image moves the interleaving (1,653 of 2,980 before the
        // entry stub answered TIME_NOW, 1,535 of 3,120 after; 660 of 1,987
        // and 487 of 2,072 at 200 ms). That is the policy's own lock-holder
        // preemption, which the check reports; parking is far below it.
        match (&s.failed, s.variant.label.as_str()) {
            (Some(failed), "trap-migration") => {
                let numbers: Vec<f64> = failed
                    .split(|c: char| !c.is_ascii_digit())
                    .filter(|n| !n.is_empty())
                    .map(|n| n.parse().unwrap())
                    .collect();
                assert!(failed.contains("vCPU 0 did") && !failed.contains(';') && numbers.len() == 3, "{failed}");
                assert!(numbers[1] > 0.15 * numbers[2], "trap-migration: vCPU 0 is parked: {failed}");
            }
            (failed, label) => assert_eq!(*failed, None, "{label}"),
        }
        assert_eq!(s.summary.count, SAMPLES as usize, "{}", s.variant.label);
        assert_eq!(s.latencies_us.len(), SAMPLES as usize);
        assert!(s.gpos_work_units > 0, "{}: the GPOS load ran", s.variant.label);
        assert!(s.command.starts_with("rp1 lhp run --policy ") && s.command.contains("--spin-yield"), "{}", s.command);
    }
    assert_eq!(r.gpos_ms, SAMPLES + 50);
}

#[test]
fn delayed_preemption_makes_the_rtos_wait_and_dispatch_first_does_not() {
    let r = latency_200();
    let delayed = &series(r, "delayed-preemption").summary;
    let first = &series(r, "on-demand-migration+dispatch-first").summary;
    let ship_first = &series(r, "on-demand-migration").summary;
    let none = &series(r, "none").summary;
    // Delayed preemption holds the RTOS back until the GPOS vCPU on core 0
    // leaves its critical section (400 iterations under the lock):
    assert!(delayed.mean > first.mean, "delayed {delayed:?} vs dispatch-first {first:?}");
    assert!(delayed.p99 > 1.5 * first.p99, "delayed {delayed:?} vs dispatch-first {first:?}");
    // Dispatch-first does nothing of a departure before the RTOS runs, so
    // its latency is the no-policy one but for the policy's bookkeeping on
    // each release (about 0.3 us): a source half (9.3 us) never lands in
    // front of a dispatch, so even the worst sample stays less than a
    // source half above none's worst. (The tails of two 200-sample runs
    // differ by several us on their own, with the image's layout: 20.88
    // against 17.51 us was seen, and 23.18 against 18.11. The issue's
    // target, p99 within 1 us of none, is the latency experiment's at
    // 2,000 samples; at 200, p99 is the second-largest sample.) Shipping
    // first puts the measured source half in front of every dispatch.
    assert!(first.mean <= none.mean + 0.5, "dispatch-first {first:?} vs none {none:?}");
    assert!(first.max < none.max + 9.0, "dispatch-first {first:?} vs none {none:?}");
    assert!(ship_first.p50 > none.p50 + 5.0, "on-demand {ship_first:?} vs none {none:?}");
}

#[test]
fn the_latency_files_are_written_and_say_the_costs_are_measured() {
    let r = latency_200();
    let dir = std::env::temp_dir().join(format!("rp1-lhp-test-{}", std::process::id()));
    let files = r.write(&dir).expect("files written");
    let names: Vec<String> = files.iter().map(|f| f.file_name().unwrap().to_string_lossy().into_owned()).collect();
    assert_eq!(names, ["latency.csv", "latency.json", "latency_cdf.svg"]);
    let csv = std::fs::read_to_string(&files[0]).unwrap();
    assert_eq!(csv.lines().next(), Some("policy,sample_index,latency_us"));
    assert_eq!(csv.lines().count(), 1 + r.series.len() * SAMPLES as usize);
    let json: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(&files[1]).unwrap()).unwrap();
    assert_eq!(json["policies"].as_array().unwrap().len(), r.series.len());
    assert_eq!(json["policies"][1]["paper_mean_us"], 24.09);
    assert_eq!(json["hypervisor"]["mode"], "native");
    assert_eq!(json["hypervisor"]["costs"], "measured");
    assert!(json["hypervisor"].get("cost_table_cycles").is_none(), "a native run has no cost table as input");
    assert!(std::fs::read_to_string(&files[2]).unwrap().contains("delayed-preemption"));
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn without_a_policy_the_gpos_does_less_work_than_under_delayed_preemption() {
    // The throughput experiment's point at 50 % (1000 ms, 50 ms burner
    // windows, a probe that outlasts the load), but with the lock held for
    // 2000 iterations instead of 400. With 400, vCPU 0 holds its lock for
    // a small part of its time on the board image (the hypercalls around
    // the section cost more than the hosted model charged), so whether
    // the twenty bursts catch the holder is a draw: at 50 % none and
    // delayed preemption came within 2 % of each other, one way or the
    // other as the image's code moved. With 2000 the lock is held most of
    // the time and most bursts catch it.
    let run = |policy| {
        let mut s = Scenario::new(policy);
        s.hosted = false;
        s.spin_yield = true;
        s.rtos_util = 50;
        s.burn_window_ms = 50;
        s.samples = 1075;
        s.gpos_ms = 1000;
        s.cs_iterations = 2000;
        let (_, r) = s.run(600_000_000 * 3, false).expect("the scenario runs");
        assert_eq!(r.exit, rp1_sim::machine::Exit::Guest(0), "{policy:?}: {}", r.console(1));
        let console = r.console(1);
        let work = rp1::lhp::vcpu_work(&console).expect("per-vCPU work");
        (work.iter().sum::<u64>(), console)
    };
    let (none, none_console) = run(Policy::None);
    let (delayed, delayed_console) = run(Policy::DelayedPreemption);
    println!("none {none} work units\n{none_console}\ndelayed preemption {delayed}\n{delayed_console}");
    // Delayed preemption never preempts the lock holder. Without a policy
    // the GPOS loses the same half of core 0 and, for every burst of the
    // burner that begins while vCPU 0 holds the lock, all four vCPUs for
    // the burst (the others spin): it does clearly less work.
    assert!((none as f64) < 0.9 * delayed as f64, "none {none} vs delayed preemption {delayed}");
}

/// At 100 % on-demand migration keeps vCPU 0 on core 1 for good, beside
/// vCPU 1: each gets half of core 1 (the progress check counts that as
/// fair: `a_starved_gpos_vcpu_fails_the_progress_check`).
#[test]
fn at_full_rtos_utilization_only_migration_keeps_the_gpos_running() {
    // The throughput experiment, shortened (100 ms, 50 ms windows). At
    // 100 % the burner never gives core 0 up: without a policy the load's
    // vCPU 0 (which starts the others) cannot run while the probe does, so
    // the load only starts once the probe has finished (coverage 0, shown
    // as starved); on-demand migration moves vCPU 0 to core 1 and the GPOS
    // runs beside the RTOS the whole time, on about three cores.
    let params = ThroughputParams { utils: vec![0, 100], ms: 100, ..ThroughputParams::default() };
    let variants = [Variant::new(Policy::None), Variant::new(Policy::OnDemandMigration)];
    let r = throughput_with(&params, &variants, &[1], &mut Quiet).expect("the throughput runs");
    println!("{}", r.table());
    assert_eq!(r.mode, Mode::Native { image: rp1::board::image().unwrap() });
    let (none, on_demand) = (&r.series[0].points, &r.series[1].points);
    assert!(none.iter().chain(on_demand).all(|p| p.failed.is_none()), "{none:?} {on_demand:?}");
    assert_eq!((none[0].rtos_coverage, on_demand[0].rtos_coverage), (1.0, 1.0));
    assert_eq!((none[1].rtos_coverage, none[1].throughput_under_rtos), (0.0, Some(0.0)));
    assert_eq!(on_demand[1].rtos_coverage, 1.0);
    // Three cores' worth, give or take the migrations: between 2 and 3.5
    // times what one vCPU alone does.
    let x1 = r.alone[0].throughput;
    let full = on_demand[1].throughput_under_rtos.unwrap();
    assert!(full > 2.0 * x1 && full < 3.5 * x1, "on-demand at 100 %: {full} against X1 {x1}");
    assert!(r.table().contains("0 (starved)"), "{}", r.table());
}

#[test]
fn the_measured_migration_halves_agree_with_the_timeline_and_every_departure_returns() {
    let ms = 40;
    let r = migration(&MigrationParams { ms }, &mut Quiet).expect("the migration run");
    println!("{}", r.table());
    assert_eq!(r.failed, None);
    assert!(r.departure.charged_cycles.is_none() && r.ret.charged_cycles.is_none(), "nothing is charged natively");
    assert!(r.departure.count >= ms as usize - 1, "{} departures in {ms} ticks", r.departure.count);
    assert!(r.departure.count.abs_diff(r.ret.count) <= 1);
    assert_eq!(r.unpaired_in, 0);
    assert!(r.migrations.iter().all(|m| m.guest == 1 && m.vcpu == 0), "only the GPOS's vCPU 0 shares core 0");
    for m in &r.migrations {
        // Each half is the instance's own clock reading at its end minus
        // the one at its start, and a half is real work. The destination
        // takes the message after the source sent it, as far as one round
        // of the simulator allows: cores take turns of `quantum` cycles,
        // so a core draining its mailbox (on another message's ICI) can
        // read a slot that a core earlier in the round wrote later in
        // simulated time.
        let quantum_us = rp1_sim::machine::Config::default().quantum as f64 / 600.0;
        assert!(m.transit_us() > -quantum_us, "{m:?}");
        assert!(m.source_us() > 1.0 && m.destination_us() > 1.0, "{m:?}");
        assert!(m.source_us() < 100.0 && m.destination_us() < 100.0, "{m:?}");
        assert_ne!(m.source_core, m.destination_core);
    }
    assert_eq!(r, migration(&MigrationParams { ms }, &mut Quiet).unwrap());
}

#[test]
fn a_starved_gpos_vcpu_fails_the_progress_check() {
    let s = Scenario::new(Policy::TrapMigration);
    let line = |work: &str| format!("smp_load: vcpus=4 duration_ms=200 work=0 [{work}] syscalls=0\n");
    // The shape of the trap-based bug: vCPU 0 did 408 against ~6,800 each.
    let err = check_progress(&s, &line("408 6839 6840 6838")).unwrap_err();
    assert!(err.contains("vCPU 0 did 408 work units"), "{err}");
    assert!(check_progress(&s, &line("6500 6839 6840 6838")).is_ok());
    // Half its share is the line (here 2,571): under it fails, over passes.
    assert!(check_progress(&s, &line("2500 6000 6000 6000")).is_err());
    assert!(check_progress(&s, &line("2650 6000 6000 6000")).is_ok());
    // Without migration vCPU 0 shares core 0 with the RTOS: its fair share
    // shrinks with the RTOS's utilization (here 80 %: a fifth of a core).
    let mut busy = Scenario::new(Policy::None);
    busy.rtos_util = 80;
    assert!(check_progress(&busy, &line("1300 6839 6840 6838")).is_ok());
    assert!(check_progress(&busy, &line("300 6839 6840 6838")).is_err());
    // A policy that migrates vCPU 0 gives it half of core 1 at 100 %, and
    // vCPU 1 the other half: a quarter of the work each is fair, and half
    // a core is not starving (the on-demand run at 100 %: 998 and 938
    // against 1,936 each for vCPUs 2 and 3).
    let mut full = Scenario::new(Policy::OnDemandMigration);
    full.rtos_util = 100;
    assert!(check_progress(&full, &line("998 938 1936 1935")).is_ok());
    assert!(check_progress(&full, &line("998 600 1936 1935")).is_err());
    busy.rtos_util = 100;
    assert!(check_progress(&busy, &line("0 1936 1936 1935")).is_ok(), "no share, no starving");
    assert!(check_progress(&s, "no summary line").is_err());
}
