//! The lock-holder-preemption experiments (cli/src/experiments.rs) on
//! short runs: the same parameters give the same results, field for
//! field, and the results show what the design implies: delayed
//! preemption makes the RTOS wait for the GPOS's critical section while
//! on-demand migration with dispatch-first does not; without a policy a
//! preempted lock holder costs the GPOS more than delayed preemption does;
//! the migration halves are the cost table's.
//!
//! Owns: these checks only. Must not touch: the experiments' code, the
//! scenarios (cli/src/lhp.rs), the guests, the hypervisor or the
//! simulator. Run with
//! `cargo test --release -p rp1-systests --test experiments -- --nocapture`
//! to see the numbers.

use spumone_hosting::description::{cycles_to_us, Costs, Policy};
use rp1::experiments::{
    self, latency, migration, throughput_with, LatencyParams, LatencyResult, MigrationParams, Quiet, ThroughputParams,
    Variant,
};
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
fn every_policy_takes_every_sample_and_the_runs_say_how_to_rerun_them() {
    let r = latency_200();
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
        assert_eq!(s.summary.count, SAMPLES as usize, "{}", s.variant.label);
        assert_eq!(s.latencies_us.len(), SAMPLES as usize);
        assert!(s.gpos_work_units > 0, "{}: the GPOS load ran", s.variant.label);
        assert!(s.command.starts_with("rp1 lhp run --policy ") && s.command.contains("--spin-yield"), "{}", s.command);
    }
    assert_eq!(r.gpos_ms, SAMPLES + 50);
    assert_eq!(r.costs, Costs::default());
}

#[test]
fn delayed_preemption_makes_the_rtos_wait_and_dispatch_first_does_not() {
    let r = latency_200();
    let delayed = &series(r, "delayed-preemption").summary;
    let first = &series(r, "on-demand-migration+dispatch-first").summary;
    let none = &series(r, "none").summary;
    // Delayed preemption holds the RTOS back until the GPOS vCPU on core 0
    // leaves its critical section (400 iterations under the lock):
    assert!(delayed.mean > first.mean, "delayed {delayed:?} vs dispatch-first {first:?}");
    assert!(delayed.p99 > 2.0 * first.p99, "delayed {delayed:?} vs dispatch-first {first:?}");
    // dispatch-first ships the departing vCPU's context after the RTOS is
    // running: a plain preemption plus the mailbox send.
    let send_us = cycles_to_us(Costs::default().mailbox_message + Costs::default().ici_send);
    assert!(first.mean < none.mean + send_us + 1.5, "dispatch-first {first:?} vs none {none:?}");
}

#[test]
fn the_latency_files_are_written() {
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
    assert!(std::fs::read_to_string(&files[2]).unwrap().contains("delayed-preemption"));
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn without_a_policy_the_gpos_does_less_work_than_under_delayed_preemption() {
    let params = ThroughputParams { utils: vec![50], ..ThroughputParams::default() };
    let variants = [Variant::new(Policy::None), Variant::new(Policy::DelayedPreemption)];
    let r = throughput_with(&params, &variants, &[], &mut Quiet).expect("the throughput runs");
    println!("{}", r.table());
    let none = &r.series[0].points[0];
    let delayed = &r.series[1].points[0];
    // The RTOS probe outlasts the load, so both saw the burner for half of
    // their run (1000 ms is two whole 500 ms windows).
    assert_eq!((none.rtos_coverage, delayed.rtos_coverage), (1.0, 1.0));
    // Delayed preemption never preempts the lock holder. Without a policy
    // the GPOS loses the same half of core 0 and, for every burst of the
    // burner that begins while vCPU 0 holds the lock, all four vCPUs for
    // the burst (the others spin): at best it ties delayed preemption, and
    // here (deterministically) one of the two bursts catches the holder.
    assert!(none.throughput < delayed.throughput, "none {none:?} vs delayed {delayed:?}");
}

#[test]
fn migration_halves_are_the_cost_tables_and_every_departure_returns() {
    let ms = 40;
    let r = migration(&MigrationParams { ms }, &mut Quiet).expect("the migration run");
    println!("{}", r.table());
    let c = Costs::default();
    assert!(r.departure.count >= ms as usize - 1, "{} departures in {ms} ticks", r.departure.count);
    assert!(r.departure.count.abs_diff(r.ret.count) <= 1);
    // Every half is charged exactly its cost (the mean may differ in the
    // last bit from summing).
    let exactly = |s: &experiments::Stat, cycles: u64| (s.min, s.max) == (cycles_to_us(cycles), cycles_to_us(cycles));
    assert!(exactly(&r.departure.source, c.departure_source), "{:?}", r.departure);
    assert!(exactly(&r.departure.destination, c.departure_destination), "{:?}", r.departure);
    assert!(exactly(&r.ret.source, c.return_source), "{:?}", r.ret);
    assert!(exactly(&r.ret.destination, c.return_destination), "{:?}", r.ret);
    assert_eq!(r.unpaired_in, 0);
    assert!(r.migrations.iter().all(|m| m.guest == 1 && m.vcpu == 0), "only the GPOS's vCPU 0 shares core 0");
    assert_eq!(r, migration(&MigrationParams { ms }, &mut Quiet).unwrap());
}
