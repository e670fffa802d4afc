//! Physical device interrupts on the hypervisor's board image, with real devices
//! and real guests: TMU4 releases the RTOS probe's periodic task and TMU5
//! ticks for the SMP load guest's vCPU 0 (cli/src/lhp.rs). Each reaches
//! its owner through the destination table, on whichever core the owner
//! is; a device interrupt taken is delivered exactly once; and what a
//! starved vCPU misses is absorbed by the device's own flag, never by the
//! hypervisor. Every run is deterministic.

use spumone_hosting::description::Policy;
use spumone_hosting::report::{latencies_us, Summary};
use spumone_hosting::runner::RunResult;
use rp1_sim::machine::Exit;
use rp1::lhp::{console_field, Scenario};
use spumone_percore::instance::Stats;

const LIMIT: u64 = 600_000_000 * 5;
const TMU5_PERIOD_US: u32 = 200;

fn run(s: &Scenario) -> RunResult {
    let (_, r) = s.run(LIMIT, false).expect("scenario runs");
    assert_eq!(r.exit, Exit::Guest(0), "{:?}: consoles {:?} / {:?}", s, r.console(0), r.console(r.guests.len() - 1));
    assert!(r.log.exits.iter().all(|e| *e == Some(0)), "every guest exits 0: {:?}", r.log.exits);
    r
}

fn sum(r: &RunResult, f: fn(&Stats) -> u64) -> u64 {
    r.stats.iter().map(f).sum()
}

/// `name=value` from a console line (`rp1::lhp::console_field`).
fn field(console: &str, name: &str) -> u64 {
    console_field(console, name).unwrap_or_else(|| panic!("no {name} in {console}"))
}

fn probe_on_tmu4(ipl_separation: bool) -> (RunResult, Summary) {
    let mut s = Scenario::new(Policy::None);
    s.samples = 200;
    s.gpos_ms = 200;
    s.rtos_on_tmu4 = true;
    s.ipl_separation = ipl_separation;
    let r = run(&s);
    let lat = Summary::of(&latencies_us(&r)).expect("latency samples");
    (r, lat)
}

#[test]
fn tmu4_releases_the_rtos_through_the_destination_table_past_a_gpos_with_interrupts_disabled() {
    let (on, on_lat) = probe_on_tmu4(true);
    let probe = on.console(0);
    assert!(probe.contains("samples=200 ") && probe.contains("source=tmu4") && probe.contains("lost=0"), "{probe}");
    // Every TMU4 interrupt is taken on core 0, where the probe lives, and
    // each one taken is injected: the probe saw each of its 200 releases
    // (and the few until it stopped the channel).
    assert!(on.stats[0].device_interrupts >= 200, "{:?}", on.stats[0]);
    assert_eq!(sum(&on, |s| s.device_interrupts), on.stats[0].device_interrupts);
    assert_eq!(sum(&on, |s| s.device_interrupts_elsewhere), 0);
    assert_eq!(sum(&on, |s| s.spurious), 0);
    // IPL separation: the device preempts the GPOS's masked kernel work
    // at once; without it, the release waits for the GPOS to unmask.
    // Every sample carries the same floor (the device's interrupt entry,
    // the probe's handler and its reading of TMU4's counter, about 18 us
    // on the board image): compare what lies above it.
    let (_, off_lat) = probe_on_tmu4(false);
    let (on_excess, off_excess) = (on_lat.mean - on_lat.min, off_lat.mean - off_lat.min);
    assert!(
        off_excess > 4.0 * on_excess && off_lat.p99 > on_lat.p99 + 10.0,
        "separation off: {off_lat:?} vs on: {on_lat:?}"
    );
}

/// GPOS vCPU 0 (alone, home core 0) with TMU5, the RTOS burning half of
/// core 0 in 20 ms windows.
fn gpos_with_tmu5(policy: Policy) -> (RunResult, u64, u64) {
    let mut s = Scenario::new(policy);
    s.samples = 400;
    s.gpos_ms = 300;
    s.rtos_util = 50;
    s.burn_window_ms = 20;
    s.gpos_vcpus = 1;
    s.spin_yield = true;
    s.gpos_tmu5_period_us = TMU5_PERIOD_US;
    let r = run(&s);
    let load = r.console(1);
    let (ticks, us) = (field(&load, "device_ticks"), field(&load, "device_us"));
    (r, ticks, us)
}

#[test]
fn a_device_interrupt_follows_its_vcpu_through_every_migration_and_none_is_lost_or_doubled() {
    let (r, ticks, us) = gpos_with_tmu5(Policy::OnDemandMigration);
    let periods = us / TMU5_PERIOD_US as u64;
    // The vCPU left core 0 and came back at every burn (15 of them per
    // 300 ms, plus each periodic release), and its device went with it.
    assert!(r.stats[0].departures_out >= 100, "{:?}", r.stats[0]);
    assert!(r.stats[0].device_interrupts > 0 && r.stats[1].device_interrupts > 0, "taken on both cores");
    assert!(ticks.abs_diff(periods) <= 1, "{ticks} ticks in {us} us of {TMU5_PERIOD_US} us periods");
    assert_eq!(sum(&r, |s| s.device_interrupts), ticks, "each interrupt taken reaches the guest once");
    assert_eq!(sum(&r, |s| s.device_interrupts_elsewhere), 0);
}

#[test]
fn a_starved_vcpu_misses_device_ticks_in_the_device_not_in_the_hypervisor() {
    // No policy: the burner keeps vCPU 0 off core 0 half the time. The
    // underflows meanwhile collapse into the device's one flag; every
    // interrupt the hypervisor took still reaches the guest once.
    let (r, ticks, us) = gpos_with_tmu5(Policy::None);
    let periods = us / TMU5_PERIOD_US as u64;
    assert!(ticks < periods * 6 / 10, "{ticks} ticks in {periods} periods");
    assert!(ticks > periods * 4 / 10, "{ticks} ticks in {periods} periods: it ran half the time");
    assert_eq!(sum(&r, |s| s.device_interrupts), ticks);
    assert_eq!(r.stats[1].device_interrupts, 0, "the vCPU never left core 0");
}
