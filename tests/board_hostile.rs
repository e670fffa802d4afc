//! The hostile-guest checks against the board image (issue 9): the
//! hypervisor runs as SH-4A code on the simulated RP1 and real SH-4A guests
//! attack it (tests/hvguests/hostile.c, docs/guests.md). The fake-core
//! versions of these checks are percore/tests/hostile_hypercalls.rs,
//! mailbox_scribbler.rs and interrupt_accounting.rs.
//!
//! - Hostile hypercalls: four GPOS vCPUs (cores 0-3) make thousands of
//!   seeded random hypercalls each, with bad and edge arguments, beside the
//!   RTOS probe on core 0, under three policies. The guest's own oracle (from
//!   docs/hypercall-abi.md) finds no wrong r0 and no clobbered register;
//!   the board's per-code error counters, summed over the cores, equal
//!   what the guest received, code by code; every non-hypercall trap was
//!   forwarded to the guest; the RTOS takes every one of its samples.
//! - The mailbox scribbler: one vCPU writes random words over the CSM
//!   mailbox while the others exchange IPIs; the board rejects and counts
//!   the damage, every message is accounted for (sent = received + lost),
//!   nothing panics, every vCPU progresses, and once the scribbling stops
//!   every vCPU receives IPIs again.
//! - Interrupt accounting: raised = injected + coalesced + cancelled +
//!   still pending, exactly, on the board image (the RTOS probe and the SMP
//!   load, and the runs above).
//!
//! - Two ways a GPOS stalled the RTOS on its core, found on the way and
//!   fixed: a timer period shorter than a hypervisor entry, and a flood of
//!   IPIs to its vCPU there. Under every policy the RTOS now keeps its
//!   samples and its latency.
//!
//! Everything is deterministic: counts that must be equal are compared
//! exactly.

use rp1::hvguests::build_guest;
use rp1::lhp::{Scenario, GPOS_BASE, RTOS_BASE};
use rp1_sim::machine::Exit;
use spumone_hosting::description::{self, Policy};
use spumone_hosting::runner::{self, RunOptions, RunResult};
use rp1_systests::runs::{check_interrupt_accounting, sum};
use spumone_percore::hw::TraceEvent;
use std::time::Instant;

/// The hostile guest's partition (physical), as its description gives it.
const PART_BASE: u32 = GPOS_BASE - 0x8000_0000;
const PART_SIZE: u32 = 0x0100_0000;
/// The rings of four cores' mailbox (12 x `RING_BYTES`): the scribbler
/// spares the location, claim and IPI tables after them.
const REGION_BYTES: u32 = 37_632;
const CYCLES_PER_US: u32 = 600;

/// Guest numbers in the descriptions with the RTOS probe.
const PROBE: u8 = 0;

/// SAMPLE kinds of the hostile guest's report (hostile.c).
mod kind {
    pub const MISMATCH: u32 = 100;
    pub const fn error(code: u32) -> u32 {
        100 + code
    }
    pub const CALLS: u32 = 107;
    pub const TRAPS: u32 = 108;
    pub const TRAPS_SEEN: u32 = 109;
    pub const STATE: u32 = 110;
    pub const RESTARTS: u32 = 112;
    pub const IPI_SENT: u32 = 120;
    pub const IPI_RECV: u32 = 121;
    pub const IPI7_RECV: u32 = 122;
    pub const TICKS: u32 = 123;
    pub const SCRIBBLES: u32 = 124;
    pub const WORK: u32 = 125;
}

/// The hostile guest's parameter block (`hostile_params`).
#[derive(Clone, Debug)]
struct Hostile {
    mode: u32,
    seed: u32,
    calls: u32,
    /// The core of each vCPU.
    cores: Vec<u32>,
    timer_period_us: u32,
    scribble_ms: u32,
    recover_ms: u32,
    region_bytes: u32,
    ipi_gap: u32,
    scribble_gap: u32,
    storm_period_us: u32,
    storm_ms: u32,
}

impl Hostile {
    fn new(mode: u32) -> Hostile {
        Hostile {
            mode,
            seed: 1,
            calls: 3500,
            cores: vec![0, 1, 2, 3],
            timer_period_us: 500,
            scribble_ms: 40,
            recover_ms: 10,
            region_bytes: REGION_BYTES,
            ipi_gap: 300,
            scribble_gap: 0,
            storm_period_us: 2,
            storm_ms: 20,
        }
    }

    fn words(&self) -> [u32; 14] {
        [
            self.mode,
            self.seed,
            self.calls,
            self.cores.len() as u32,
            PART_BASE,
            PART_SIZE,
            self.timer_period_us,
            self.scribble_ms,
            self.recover_ms,
            self.region_bytes,
            self.ipi_gap,
            self.scribble_gap,
            self.storm_period_us,
            self.storm_ms,
        ]
    }
}

/// A machine: the RTOS probe on core 0 (`probe_samples` 1 ms samples, or
/// none) and the hostile guest.
#[derive(Clone, Debug)]
struct Machine {
    policy: &'static str,
    dispatch_first: bool,
    probe_samples: u32,
    hostile: Hostile,
    /// The hostile guest's exceptions other than hypercalls go straight to
    /// it (`direct_exceptions`, the board image's `hv_vectors_direct`).
    direct: bool,
}

impl Machine {
    fn toml(&self) -> String {
        let probe = build_guest("rtos_probe", RTOS_BASE).expect("building rtos_probe");
        let hostile = build_guest("hostile", GPOS_BASE).expect("building hostile");
        let mut t = format!("[hypervisor]\npolicy = \"{}\"\ndispatch_first = {}\n", self.policy, self.dispatch_first);
        if self.probe_samples > 0 {
            t += &format!(
                "\n[[guest]]\nname = \"rtos_probe\"\nclass = \"rtos\"\npriority = 10\nimage = \"{}\"\n\
                 partition = {{ base = {:#x}, size = 0x800000 }}\nvcpus = [{{ core = 0 }}]\n\
                 interrupts = [{{ source = \"timer\", level = 12 }}]\n\
                 params = [{{ symbol = \"probe_params\", words = [{}, 0, 1000, 500, 0] }}]\n",
                probe.display(),
                RTOS_BASE - 0x8000_0000,
                self.probe_samples
            );
        }
        let cores: Vec<String> = self.hostile.cores.iter().map(|c| format!("{{ core = {c} }}")).collect();
        let words: Vec<String> = self.hostile.words().iter().map(|w| format!("{w:#x}")).collect();
        t += &format!(
            "\n[[guest]]\nname = \"hostile\"\nclass = \"gpos\"\npriority = 1\nimage = \"{}\"\n\
             partition = {{ base = {PART_BASE:#x}, size = {PART_SIZE:#x} }}\nvcpus = [{}]\n\
             interrupts = [{{ source = \"timer\", level = 5 }}, {{ source = \"ipi\", level = 6 }}]\n\
             params = [{{ symbol = \"hostile_params\", words = [{}] }}]\ndirect_exceptions = {}\n",
            hostile.display(),
            cores.join(", "),
            words.join(", "),
            self.direct
        );
        t
    }

    /// The hostile guest's number.
    fn hostile_guest(&self) -> u8 {
        if self.probe_samples > 0 {
            1
        } else {
            0
        }
    }

    fn run(&self, max_cycles: u64, keep_events: bool) -> RunResult {
        let desc = description::parse(&self.toml(), std::path::Path::new(".")).expect("a valid description");
        let mode = board_mode();
        let t = Instant::now();
        let r = runner::run(&desc, RunOptions { max_cycles, keep_events, mode }, |_| {}).expect("the run");
        eprintln!(
            "{} dispatch_first={} mode {}: {:.1} simulated ms, {:.2} s on the host",
            self.policy,
            self.dispatch_first,
            self.hostile.mode,
            r.cycles as f64 / 600_000.0,
            t.elapsed().as_secs_f64()
        );
        r
    }
}

/// The board image (built if missing or stale).
fn board_mode() -> runner::Mode {
    let mut s = Scenario::new(Policy::None);
    s.hosted = false;
    s.mode().expect("the board image")
}

/// Each vCPU's SAMPLE of `kind` from `guest`: exactly one per vCPU.
fn per_vcpu(r: &RunResult, guest: u8, kind: u32, vcpus: usize) -> Vec<u64> {
    let mut out = vec![None; vcpus];
    for s in r.log.samples.iter().filter(|s| s.guest == guest && s.kind == kind) {
        let slot = &mut out[s.vcpu as usize];
        assert!(slot.is_none(), "vCPU {} reported kind {kind} twice", s.vcpu);
        *slot = Some(s.value as u64);
    }
    out.into_iter()
        .enumerate()
        .map(|(v, x)| x.unwrap_or_else(|| panic!("vCPU {v} did not report kind {kind}")))
        .collect()
}

fn total(r: &RunResult, guest: u8, kind: u32, vcpus: usize) -> u64 {
    per_vcpu(r, guest, kind, vcpus).iter().sum()
}

/// The run ended because every guest exited 0: no hypervisor panic (that
/// ends the run with 0xfa0000nn), nothing left running, no trace record
/// lost.
fn check_clean_end(r: &RunResult, what: &str) {
    let consoles: Vec<String> = (0..r.guests.len()).map(|g| r.console(g)).collect();
    assert_eq!(r.exit, Exit::Guest(0), "{what}: machine console {:?}, guests {consoles:?}", r.machine_console);
    assert!(r.log.exits.iter().all(|e| *e == Some(0)), "{what}: every guest exits 0: {:?}", r.log.exits);
    assert!(!r.machine_console.contains("panic"), "{what}: {}", r.machine_console);
    for (c, f) in r.board.iter().enumerate() {
        assert!(f.ring && f.boot_state == 1, "{what}: core {c} booted: {f:?}");
        assert_eq!(f.dropped, 0, "{what}: core {c} dropped trace records");
    }
}

/// The hostile guest's end of a clean run (`check_clean_end`): its number,
/// its vCPUs and its console, whose summary line says ok.
fn hostile_summary_ok(m: &Machine, r: &RunResult, what: &str) -> (u8, usize, String) {
    check_clean_end(r, what);
    let g = m.hostile_guest();
    let console = r.console(g as usize);
    assert!(console.lines().any(|l| l.contains("hostile: summary") && l.ends_with(" ok")), "{what}: {console}");
    (g, m.hostile.cores.len(), console)
}

/// The probe took all its samples, on time: none lost, none early, the
/// worst latency below `max_us`. Returns the worst latency in us.
fn check_probe(r: &RunResult, samples: u32, max_us: f64, what: &str) -> f64 {
    let c = r.console(PROBE as usize);
    assert!(
        c.contains(&format!("samples={samples} ")) && c.contains(" lost=0 ") && c.contains(" early=0 "),
        "{what}: the RTOS probe says {c:?}"
    );
    let lat = r.samples(PROBE, 0);
    assert_eq!(lat.len(), samples as usize, "{what}: latency samples");
    let worst = *lat.iter().max().unwrap() as f64 / CYCLES_PER_US as f64;
    assert!(worst < max_us, "{what}: worst RTOS latency {worst:.1} us (bound {max_us} us)");
    worst
}

/// Inject events for `guest`, from the trace.
fn injections_into(r: &RunResult, guest: u8) -> u64 {
    r.log.events.iter().filter(|(_, _, e)| matches!(e, TraceEvent::Inject { guest: g, .. } if *g == guest)).count() as u64
}

// ----- hostile hypercalls -----

#[test]
fn hostile_hypercalls_beside_the_rtos_get_abi_results_and_exact_error_counts() {
    let mut per_code = Vec::new();
    // Trap-based migration moves GPOS vCPU 0 off core 0 at each of its own
    // traps and home at its KERNEL_EXITs; on-demand migration whenever the
    // RTOS wakes.
    for (policy, dispatch_first) in [("none", false), ("on-demand-migration", true), ("trap-migration", false)] {
        let m = Machine { policy, dispatch_first, probe_samples: 100, hostile: Hostile::new(0), direct: false };
        let what = format!("{policy}, dispatch_first {dispatch_first}");
        let r = m.run(600_000_000, false);
        let (g, n, console) = hostile_summary_ok(&m, &r, &what);
        let summary = console.lines().find(|l| l.contains("hostile: summary")).unwrap_or("");
        assert!(summary.contains(" mismatches=0 "), "{what}: {console}");

        // The guest's own oracle: every r0 and every preserved register.
        assert_eq!(per_vcpu(&r, g, kind::MISMATCH, n), vec![0; n], "{what}: {console}");
        // The board counted exactly the error codes the guest received.
        let board: Vec<u64> = (0..6).map(|k| sum(&r, |s| s.hypercall_errors[k])).collect();
        let guest: Vec<u64> = (1..=6).map(|code| total(&r, g, kind::error(code), n)).collect();
        assert_eq!(board, guest, "{what}: hypercall_errors summed over the cores, by code -1..-6");
        for (code, &count) in guest.iter().enumerate() {
            if code + 1 != 5 {
                assert!(count > 0, "{what}: the sequence never provoked error code -{}", code + 1);
            }
        }
        assert_eq!(guest[4], total(&r, g, kind::STATE, n), "{what}: E_STATE only from START_VCPU");
        // Every call was counted; every non-hypercall trap was forwarded.
        let calls = total(&r, g, kind::CALLS, n);
        let traps = total(&r, g, kind::TRAPS, n);
        assert!(calls + traps >= n as u64 * m.hostile.calls as u64, "{what}: {calls} calls, {traps} traps");
        assert!(sum(&r, |s| s.hypercalls) >= calls, "{what}: hypercalls {} < {calls} made", sum(&r, |s| s.hypercalls));
        // By number: every defined call in its own count, the undefined
        // ones (E_NOSYS) in none.
        let by_number = sum(&r, |s| s.hypercalls_by_number.iter().sum());
        assert_eq!(by_number + board[0], sum(&r, |s| s.hypercalls), "{what}: hypercalls by number and E_NOSYS");
        assert_eq!(total(&r, g, kind::TRAPS_SEEN, n), traps, "{what}: traps reaching the guest's VBR+0x100");
        assert_eq!(sum(&r, |s| s.forwarded_exceptions), traps, "{what}: forwarded_exceptions");
        assert_eq!(sum(&r, |s| s.guest_faults), 0, "{what}: guest_faults");
        // Restarting a running vCPU is ignored and counted as misrouted.
        let restarts = total(&r, g, kind::RESTARTS, n);
        assert!(restarts > 0, "{what}: no START_VCPU of a running vCPU");
        assert_eq!(sum(&r, |s| s.misrouted), restarts, "{what}: misrouted = ignored START_VCPUs");
        // The run report shows both, per core: its columns add up to what
        // the guest received and what it restarted.
        let text = spumone_hosting::report::error_and_misrouting_counts(&r);
        let rows: Vec<Vec<u64>> = text
            .split("core  E_NOSYS  E_VCPU  E_ADDR  E_LEVEL  E_STATE  E_ARG\n")
            .nth(1)
            .unwrap_or_else(|| panic!("{what}: no error table in {text}"))
            .lines()
            .take(4)
            .map(|l| l.split_whitespace().skip(1).map(|n| n.parse().unwrap()).collect())
            .collect();
        let columns: Vec<u64> = (0..6).map(|k| rows.iter().map(|row| row[k]).sum()).collect();
        assert_eq!(columns, guest, "{what}: the report's error table, by code");
        let misrouted: u64 = text
            .split("per core: ")
            .nth(1)
            .unwrap_or_else(|| panic!("{what}: no misrouted line in {text}"))
            .split_whitespace()
            .map(|n| n.parse::<u64>().unwrap())
            .sum();
        assert_eq!(misrouted, restarts, "{what}: the report's misrouted counts");

        // The RTOS beside it kept its schedule.
        let worst = check_probe(&r, m.probe_samples, 50.0, &what);
        check_interrupt_accounting(&r, &what);
        eprintln!(
            "{what}: {calls} hypercalls and {traps} traps from {n} vCPUs, errors by code {guest:?}, \
             {restarts} restarts ignored, worst RTOS latency {worst:.1} us"
        );
        per_code.push(guest);
    }
    // The sequence is the seed's alone: the same errors under every policy.
    assert!(per_code.iter().all(|c| *c == per_code[0]), "per-code errors by policy: {per_code:?}");
}

/// With direct exceptions the hostile guest's non-hypercall traps reach
/// its own VBR+0x100 through `hv_vectors_direct`, with nothing passing
/// through the instance, and its hypercalls (which that table hands to the
/// usual paths) get the same results as without. Under trap-based
/// migration the vCPU on core 0 takes its traps through the instance (the
/// policy must see them) while the others go straight, so the cores' exits
/// switch VBR between the two tables: a vCPU left on the wrong one would
/// jump through a null handler or lose its traps from the count.
#[test]
fn hostile_traps_go_straight_to_the_guest_with_direct_exceptions() {
    let mut per_code = Vec::new();
    for (policy, direct) in [("none", false), ("none", true), ("trap-migration", true)] {
        let m = Machine { policy, dispatch_first: false, probe_samples: 100, hostile: Hostile::new(0), direct };
        let what = format!("{policy}, direct {direct}");
        let r = m.run(600_000_000, false);
        let (g, n, console) = hostile_summary_ok(&m, &r, &what);
        assert_eq!(per_vcpu(&r, g, kind::MISMATCH, n), vec![0; n], "{what}: {console}");
        let traps = total(&r, g, kind::TRAPS, n);
        assert!(traps > 0, "{what}: no trap made");
        assert_eq!(total(&r, g, kind::TRAPS_SEEN, n), traps, "{what}: traps reaching the guest's VBR+0x100");
        let forwarded = sum(&r, |s| s.forwarded_exceptions);
        let straight = sum(&r, |s| s.direct_exceptions);
        // The guest has no MMU, so its traps are its only exceptions.
        assert_eq!(forwarded + straight, traps, "{what}: forwarded {forwarded} + direct {straight}");
        match (policy, direct) {
            (_, false) => assert_eq!(straight, 0, "{what}"),
            ("none", true) => assert_eq!(forwarded, 0, "{what}"),
            _ => assert!(forwarded > 0 && straight > 0, "{what}: forwarded {forwarded}, direct {straight}"),
        }
        assert_eq!(sum(&r, |s| s.guest_faults), 0, "{what}: guest_faults");
        check_probe(&r, m.probe_samples, 50.0, &what);
        check_interrupt_accounting(&r, &what);
        eprintln!("{what}: {traps} traps, {forwarded} forwarded, {straight} straight to the guest");
        per_code.push((1..=6).map(|code| total(&r, g, kind::error(code), n)).collect::<Vec<u64>>());
    }
    assert!(per_code.iter().all(|c| *c == per_code[0]), "per-code errors by run: {per_code:?}");
}

// ----- the mailbox scribbler -----

/// Everything the mailbox counted, summed over the cores.
struct MailboxTotals {
    sent: u64,
    received: u64,
    lost: u64,
    rejected: u64,
    overruns: u64,
    resyncs: u64,
    refused: u64,
    bad_head: u64,
    corrupt_tail: u64,
}

fn mailbox_totals(r: &RunResult) -> MailboxTotals {
    let s = |f: &dyn Fn(&spumone_percore::post::PostStats) -> u64| r.mailbox.iter().map(f).sum::<u64>();
    MailboxTotals {
        sent: s(&|m| m.mailbox.sent),
        received: s(&|m| m.mailbox.received),
        lost: s(&|m| m.mailbox.lost),
        rejected: s(&|m| m.mailbox.rejected.total()),
        overruns: s(&|m| m.mailbox.overruns),
        resyncs: s(&|m| m.mailbox.sender_resyncs),
        refused: s(&|m| m.refused),
        bad_head: s(&|m| m.mailbox.bad_head),
        corrupt_tail: s(&|m| m.mailbox.corrupt_tail),
    }
}

#[test]
fn the_mailbox_scribbler_is_rejected_counted_and_ipis_recover() {
    // Without and with the RTOS on core 0 (GPOS vCPU 0 then migrates
    // through the scribbled mailbox every millisecond).
    for (policy, dispatch_first, probe_samples) in [("none", false, 0), ("on-demand-migration", false, 60)] {
        let m = Machine { policy, dispatch_first, probe_samples, hostile: Hostile::new(1), direct: false };
        let what = format!("{policy}, dispatch_first {dispatch_first}, RTOS samples {probe_samples}");
        let r = m.run(600_000_000, true);
        let (g, n, _) = hostile_summary_ok(&m, &r, &what);

        // The scribbler scribbled, everyone made progress.
        let scribbles = per_vcpu(&r, g, kind::SCRIBBLES, n);
        assert!(scribbles[n - 1] > 10_000 && scribbles[..n - 1].iter().all(|&s| s == 0), "{what}: scribbles {scribbles:?}");
        let work = per_vcpu(&r, g, kind::WORK, n);
        assert!(work.iter().all(|&w| w > 100), "{what}: work units per vCPU {work:?}");

        // Every message accounted for: each one sent was received or lost
        // (rejected), none is still in a ring; no forged index (random
        // words pass a CRC-32 check with probability 2^-32), so no overrun
        // and no resync; with migrations through the rings every
        // millisecond, the scribbler did hit messages in flight. (IPIs are
        // not mail: without the RTOS the rings carry only the starts.)
        let mb = mailbox_totals(&r);
        assert_eq!(mb.sent, mb.received + mb.lost, "{what}: sent = received + lost");
        if probe_samples > 0 {
            assert!(mb.rejected > 0, "{what}: the scribbler never hit a message in flight");
        }
        assert_eq!(mb.lost, mb.rejected, "{what}: every loss is a counted rejection");
        assert_eq!((mb.overruns, mb.resyncs, mb.refused), (0, 0, 0), "{what}: overruns, sender resyncs, refused posts");

        // The guest's IPIs, as the board counted them.
        let sent = total(&r, g, kind::IPI_SENT, n);
        let received = total(&r, g, kind::IPI_RECV, n);
        let ticks = total(&r, g, kind::TICKS, n);
        assert_eq!(sum(&r, |s| s.virtual_ipis), sent, "{what}: SEND_IPIs the board took");
        assert_eq!(injections_into(&r, g), received + ticks, "{what}: injections = IPIs + ticks the guest took");
        assert_eq!(sum(&r, |s| s.hypercall_errors.iter().sum::<u64>()), 0, "{what}: no call failed");
        // After the scribbling: every vCPU received message 7.
        let recovered = per_vcpu(&r, g, kind::IPI7_RECV, n);
        assert!(recovered.iter().all(|&k| k >= 1), "{what}: message-7 IPIs per vCPU after the scribbling: {recovered:?}");

        let raised = check_interrupt_accounting(&r, &what);
        assert!(raised > 1000, "{what}: {raised} raised");
        let mut worst = String::from("no RTOS");
        if probe_samples > 0 {
            // The probe keeps every sample. (IPI traffic into its core
            // costs it: see the IPI flood below.)
            worst = format!("worst RTOS latency {:.1} us", check_probe(&r, probe_samples, 500.0, &what));
            assert!(sum(&r, |s| s.departures_out) > 0, "{what}: no migration");
        }
        eprintln!(
            "{what}: {} words scribbled; mailbox sent {} = received {} + lost {} (rejected {}); bad heads {}, \
             corrupt tails {}; migrations resent {}; {sent} IPIs sent, {received} received ({:?} of message 7 \
             after); {worst}",
            scribbles[n - 1],
            mb.sent,
            mb.received,
            mb.lost,
            mb.rejected,
            mb.bad_head,
            mb.corrupt_tail,
            sum(&r, |s| s.migrations_resent),
            recovered
        );
    }
}

// ----- interrupt accounting with the probe and the SMP load -----

#[test]
fn every_virtual_interrupt_is_accounted_for_on_the_board_image() {
    for (policy, dispatch_first) in [(Policy::None, false), (Policy::OnDemandMigration, true)] {
        let mut s = Scenario::new(policy);
        s.hosted = false;
        s.dispatch_first = dispatch_first;
        s.samples = 200;
        s.gpos_ms = 200;
        s.rtos_util = 30;
        s.spin_yield = true;
        let what = format!("{policy:?}, dispatch_first {dispatch_first}");
        let t = Instant::now();
        let (_, r) = s.run(600_000_000, false).expect("the scenario runs");
        eprintln!("{what}: {:.1} simulated ms, {:.2} s on the host", r.cycles as f64 / 600_000.0, t.elapsed().as_secs_f64());
        check_clean_end(&r, &what);
        assert!(!r.console(1).contains("FAIL"), "{what}: {}", r.console(1));
        let raised = check_interrupt_accounting(&r, &what);
        assert!(raised > 1000, "{what}: a real load ({raised} raised)");
        assert_eq!(sum(&r, |s| s.misrouted), 0, "{what}: misrouted");
        assert!(r.mailbox.iter().all(|m| m.mailbox.rejected.total() == 0 && m.refused == 0), "{what}: mailbox");
        let c = r.console(0);
        assert!(c.contains("samples=200 ") && c.contains(" lost=0 "), "{what}: {c}");
        // The entry stub sent some of the IPIs itself (those to a vCPU on
        // another core), counted as the instance counts its own: every
        // SEND_IPI is a virtual IPI, and the accounting above holds.
        let send_ipi = spumone_kernel::hypercall::Hypercall::SendIpi.index();
        let (calls, by_stub) = (sum(&r, |s| s.hypercalls_by_number[send_ipi]), sum(&r, |s| s.send_ipis_in_stub));
        let icis = sum(&r, |s| s.ipi_icis);
        eprintln!("{what}: {calls} SEND_IPIs, {by_stub} sent by the entry stub, {icis} IPI ICIs taken");
        assert!(by_stub > 0 && by_stub <= calls, "{what}: {by_stub} of {calls} SEND_IPIs by the stub");
        assert_eq!(sum(&r, |s| s.virtual_ipis), calls, "{what}: virtual IPIs");
        // And each raised the target core's IPI ICI, taken there: no more
        // ICIs taken than SEND_IPIs (two from one core to another merge
        // if the first was not yet taken), and about one per stub send
        // (the instance's own sends to another core raise one too). A
        // stub that left out the ICI passed everything else: the IPIs
        // waited in their words for the target's next full pass, and only
        // the instance's sends raised ICIs, a tenth of these.
        assert!(icis <= calls && icis * 10 >= by_stub * 9, "{what}: {icis} IPI ICIs taken for {by_stub} stub sends of {calls}");
    }
}

// ----- two ways a GPOS once stalled the RTOS on its core -----

/// The policies the stall tests run under.
const STALL_POLICIES: [(&str, bool); 4] =
    [("none", false), ("delayed-preemption", false), ("trap-migration", false), ("on-demand-migration", true)];

/// A GPOS vCPU on core 0 masks itself and sets its timer to 5 us (TIMER_SET
/// accepts 1 to 7,000,000 us). This stalled the RTOS on core 0 until the
/// hypervisor armed only the timers that matter (`Instance::arm_timer`):
/// each expiry was a hypervisor timer interrupt whether or not the tick
/// was already pending, and a timer entry of the board image takes about
/// 7 us, so core 0 never left the hypervisor; the probe never took a
/// sample and the run hit the cycle limit (under delayed preemption the
/// samples came 169 to 659 us late). Now a pending tick arms nothing,
/// and neither does the timer of a vCPU below the one running.
#[test]
fn a_gpos_timer_shorter_than_a_hypervisor_entry_does_not_stall_the_rtos() {
    for (policy, dispatch_first) in STALL_POLICIES {
        let mut hostile = Hostile::new(2);
        hostile.cores = vec![0];
        hostile.storm_period_us = 5;
        hostile.storm_ms = 20;
        let m = Machine { policy, dispatch_first, probe_samples: 50, hostile, direct: false };
        let r = m.run(120_000_000, false);
        let what = format!("timer storm, {policy}");
        check_clean_end(&r, &what);
        let worst = check_probe(&r, 50, 50.0, &what);
        eprintln!("{what}: worst RTOS latency {worst:.1} us");
    }
}

/// A vCPU on core 1 sends the GPOS vCPU on core 0 (beside the RTOS)
/// SEND_IPI after SEND_IPI, one about every 11 us, for 30 ms. Each is a
/// mailbox message and an ICI into core 0, which took about as long to
/// receive one as core 1 takes to send one: the RTOS was stalled for the
/// whole flood (worst latency 27.4 ms, 27 releases lost). Now core 0's ICI
/// is closed while its single-vCPU RTOS runs (`Instance::holds_mail_back`):
/// the messages wait in the ring, the sender waits for room.
#[test]
fn an_ipi_flood_at_a_vcpu_beside_the_rtos_does_not_stall_the_rtos() {
    for (policy, dispatch_first) in STALL_POLICIES {
        let mut hostile = Hostile::new(3);
        hostile.cores = vec![0, 1];
        hostile.ipi_gap = 0;
        hostile.storm_ms = 30;
        let m = Machine { policy, dispatch_first, probe_samples: 50, hostile, direct: false };
        let r = m.run(300_000_000, false);
        let what = format!("IPI flood, {policy}");
        check_clean_end(&r, &what);
        let worst = check_probe(&r, 50, 50.0, &what);
        eprintln!("{what}: worst RTOS latency {worst:.1} us");
    }
}
