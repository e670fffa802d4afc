//! The text report of a hosted run: what the guests printed, dispatch
//! latency and throughput from their samples, migrations, each instance's
//! counters, the mailbox's, and the cost table the run used.
//!
//! Owns: formatting and the statistics of samples. Must not touch: the run
//! itself.

use crate::description::{cycles_to_us, Description, CYCLES_PER_US};
use crate::hypervisor::FAULT_STATUS;
use crate::runner::{Mode, RunResult};
use spumone_percore::tracebuf::{EntryClass, EntryCosts, EntryOutcome};
use spumone_kernel::hypercall::{SAMPLE_DISPATCH_LATENCY, SAMPLE_HYPERCALL_ROUND_TRIP, SAMPLE_WORK_UNITS};
use std::fmt::Write;

/// Order statistics of a set of values.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Summary {
    pub count: usize,
    pub min: f64,
    pub mean: f64,
    pub p50: f64,
    pub p99: f64,
    pub max: f64,
}

impl Summary {
    /// `None` for an empty set. Percentiles are nearest-rank.
    pub fn of(values: &[f64]) -> Option<Summary> {
        if values.is_empty() {
            return None;
        }
        let mut v = values.to_vec();
        v.sort_by(f64::total_cmp);
        let rank = |p: f64| v[((p * v.len() as f64).ceil() as usize).clamp(1, v.len()) - 1];
        Some(Summary {
            count: v.len(),
            min: v[0],
            mean: v.iter().sum::<f64>() / v.len() as f64,
            p50: rank(0.50),
            p99: rank(0.99),
            max: v[v.len() - 1],
        })
    }
}

/// Dispatch latencies (microseconds) the RTOS guests reported.
pub fn latencies_us(result: &RunResult) -> Vec<f64> {
    result
        .log
        .samples
        .iter()
        .filter(|s| s.kind == SAMPLE_DISPATCH_LATENCY)
        .map(|s| cycles_to_us(s.value as u64))
        .collect()
}

/// Work units the load guests reported, summed.
pub fn work_units(result: &RunResult) -> u64 {
    result.log.samples.iter().filter(|s| s.kind == SAMPLE_WORK_UNITS).map(|s| s.value as u64).sum()
}

/// Hypercall errors by code and core, and mail for vCPUs that were not
/// where it went (`misrouted`), when there are any (docs/hypercall-abi.md,
/// "Error codes").
pub fn error_and_misrouting_counts(result: &RunResult) -> String {
    let mut out = String::new();
    let errors = result.stats.iter().any(|s| s.hypercall_errors.iter().any(|&n| n > 0));
    if errors {
        let _ = writeln!(out, "\nhypercall errors by code\ncore  E_NOSYS  E_VCPU  E_ADDR  E_LEVEL  E_STATE  E_ARG");
        for (core, s) in result.stats.iter().enumerate() {
            let e = &s.hypercall_errors;
            let _ = writeln!(out, "{core:>4}  {:>7}  {:>6}  {:>6}  {:>7}  {:>7}  {:>5}", e[0], e[1], e[2], e[3], e[4], e[5]);
        }
    }
    if result.stats.iter().any(|s| s.misrouted > 0) {
        let per_core: Vec<String> = result.stats.iter().map(|s| s.misrouted.to_string()).collect();
        let _ = writeln!(
            out,
            "\nmisrouted (a start, IPI or migration for a vCPU that was not there, counted and dropped), per core: {}",
            per_core.join(" ")
        );
    }
    out
}

/// What the instances did to get past an unresponsive core or a lost
/// ICI, when they did anything (docs/faults.md): migrations taken back
/// (their destination declined them, or had not read them when their
/// lease ran out), expired copies a destination declined, and ICIs raised
/// again for a ring still unread 1 ms after its last.
pub fn recovery_counts(result: &RunResult) -> String {
    let per_core = |f: &dyn Fn(usize) -> u64| -> Option<String> {
        let v: Vec<u64> = (0..result.stats.len()).map(f).collect();
        v.iter().any(|&n| n > 0).then(|| v.iter().map(u64::to_string).collect::<Vec<_>>().join(" "))
    };
    let mut out = String::new();
    let rows: [(&str, Option<String>); 3] = [
        ("migrations taken back by their source", per_core(&|c| result.stats[c].migrations_taken_back)),
        ("expired migrations declined", per_core(&|c| result.stats[c].migrations_expired)),
        ("ICIs raised again for an unread ring", per_core(&|c| result.mailbox.get(c).map_or(0, |m| m.icis_repeated))),
    ];
    for (what, counts) in rows {
        if let Some(counts) = counts {
            let _ = writeln!(out, "{what}, per core: {counts}");
        }
    }
    if !out.is_empty() {
        out.insert(0, '\n');
    }
    out
}

/// "IPI ICIs (all cores): 9000 (8000 delivered in the entry stub),
/// doorbells 2000": the interrupts virtual IPIs and held interrupts take
/// the hypervisor's entry for; nothing if there were none.
fn ipi_entry_counts(result: &RunResult) -> String {
    let sum = |f: fn(&spumone_percore::instance::Stats) -> u64| result.stats.iter().map(f).sum::<u64>();
    let (icis, in_stub, doorbells) = (sum(|s| s.ipi_icis), sum(|s| s.ipi_icis_in_stub), sum(|s| s.doorbells));
    if icis == 0 && doorbells == 0 {
        return String::new();
    }
    let in_stub = if in_stub == 0 { String::new() } else { format!(" ({in_stub} delivered in the entry stub)") };
    format!("IPI ICIs (all cores): {icis}{in_stub}, doorbells {doorbells}\n")
}

/// "hypercalls by number (all cores): TIME_NOW 12000, SEND_IPI 9000,
/// ...", the most made first, and how many the board's entry stub
/// answered; nothing if none was made.
fn hypercall_counts(result: &RunResult) -> String {
    use spumone_kernel::hypercall::{Hypercall, DEFINED, FIRST};
    let mut counts: Vec<(u64, &str)> = (0..DEFINED)
        .filter_map(|i| Hypercall::from_imm(FIRST + i as u8))
        .map(|h| (result.stats.iter().map(|s| s.hypercalls_by_number[h.index()]).sum::<u64>(), h.name()))
        .filter(|&(n, _)| n > 0)
        .collect();
    if counts.is_empty() {
        return String::new();
    }
    counts.sort_by(|a, b| b.0.cmp(&a.0).then(a.1.cmp(b.1)));
    let list: Vec<String> = counts.iter().map(|(n, name)| format!("{name} {n}")).collect();
    let in_stub: u64 = result.stats.iter().map(|s| s.hypercalls_in_stub).sum();
    let ipis: u64 = result.stats.iter().map(|s| s.send_ipis_in_stub).sum();
    let idles: u64 = result.stats.iter().map(|s| s.idles_in_stub).sum();
    let of_them: Vec<String> = [(ipis, "SEND_IPIs"), (idles, "IDLEs slept in place")]
        .iter()
        .filter(|&&(k, _)| k > 0)
        .map(|(k, what)| format!("{k} {what}"))
        .collect();
    let in_stub = match (in_stub, of_them.is_empty()) {
        (0, _) => String::new(),
        (n, true) => format!(" ({n} answered in the entry stub)"),
        (n, false) => format!(" ({n} answered in the entry stub, of them {})", of_them.join(", ")),
    };
    format!("hypercalls by number (all cores): {}{in_stub}\n", list.join(", "))
}

/// The whole report.
pub fn render(desc: &Description, result: &RunResult) -> String {
    let mut out = String::new();
    let secs = result.cycles as f64 / 600e6;
    let _ = writeln!(out, "policy {}, IPL separation {}, spin-yield {}{}", desc.hypervisor.policy,
        if desc.hypervisor.ipl_separation { "on" } else { "off" },
        if desc.hypervisor.spin_yield { "on" } else { "off" },
        if desc.hypervisor.dispatch_first { ", dispatch first" } else { "" });
    let _ = writeln!(
        out,
        "run ended: {}{} after {:.6} s simulated ({} cycles), {:.3} s host, {} instructions",
        result.exit,
        match result.exit {
            // The hypervisor powers the machine off when the last guest
            // has exited, with the guests' statuses ORed together.
            rp1_sim::machine::Exit::Guest(_) => " (every guest's exit status ORed)",
            _ => "",
        },
        secs,
        result.cycles,
        result.host.as_secs_f64(),
        result.instructions
    );
    if let Some(j) = result.jit {
        let _ = writeln!(out, "tier jit: {j}");
    }
    if !desc.faults.is_empty() {
        let _ = writeln!(
            out,
            "faults injected (seed {}): {}",
            desc.faults.seed, result.injected
        );
    }
    for (g, name) in result.guests.iter().enumerate() {
        let exit_at = result.log.exit_cycles.get(g).copied().flatten();
        let status = match (result.log.exits.get(g).copied().flatten(), exit_at) {
            (Some(s), Some(at)) => format!("exited {s} at {:.3} ms simulated", at as f64 / 600e3),
            (Some(s), None) => format!("exited {s}"),
            (None, _) => "still running".into(),
        };
        let _ = writeln!(out, "\nguest {g} `{name}` ({status}):");
        if let Some(fault) = result.fault(g) {
            let _ = writeln!(out, "  stopped by the hypervisor (status {FAULT_STATUS:#x}) after a fault: {fault}");
        }
        for line in result.console(g).lines() {
            let _ = writeln!(out, "  | {line}");
        }
    }
    if let Some(s) = Summary::of(&latencies_us(result)) {
        let _ = writeln!(
            out,
            "\ndispatch latency (us, {} samples): min {:.2}  mean {:.2}  p50 {:.2}  p99 {:.2}  max {:.2}",
            s.count, s.min, s.mean, s.p50, s.p99, s.max
        );
    }
    if let Some(rt) = result.log.samples.iter().filter(|s| s.kind == SAMPLE_HYPERCALL_ROUND_TRIP).map(|s| s.value).min() {
        let _ = writeln!(
            out,
            "hypercall round trip as a guest measured it (back-to-back TIME_NOWs): {rt} cycles ({:.2} us)",
            cycles_to_us(rt as u64)
        );
    }
    let units = work_units(result);
    if units > 0 {
        let _ = writeln!(out, "GPOS work units: {units}");
    }
    let _ = writeln!(out, "\ncore  entries  hypercalls  errors  switches  injected  dep-out  dep-in  ret-out  ret-in  delayed  dev-irqs  mail-rejected");
    for (core, s) in result.stats.iter().enumerate() {
        let m = &result.mailbox[core];
        let _ = writeln!(
            out,
            "{core:>4}  {:>7}  {:>10}  {:>6}  {:>8}  {:>8}  {:>7}  {:>6}  {:>7}  {:>6}  {:>7}  {:>8}  {:>13}",
            s.entries,
            s.hypercalls,
            s.hypercall_errors.iter().sum::<u64>(),
            s.switches,
            s.injections,
            s.departures_out,
            s.departures_in,
            s.returns_out,
            s.returns_in,
            s.delayed_preemptions,
            s.device_interrupts,
            m.mailbox.rejected.total()
        );
    }
    out += &hypercall_counts(result);
    out += &ipi_entry_counts(result);
    out += &error_and_misrouting_counts(result);
    out += &recovery_counts(result);
    match &result.mode {
        Mode::Native { image } => {
            let _ = writeln!(out, "\nhypervisor: the board image {}; every cost below is measured", image.display());
            out += &board_figures(result);
        }
        Mode::Hosted => {
            let _ = writeln!(
                out,
                "\nhypervisor: the hosted model (host Rust beside the simulator); its time is charged from the cost table\n\
                 below, an input, not measured"
            );
            let _ = writeln!(out, "instance state: {} bytes per core (size_of on the host)", result.instance_bytes);
            let _ = writeln!(out, "\n{}", desc.costs.to_table_string());
        }
    }
    out
}

/// The board image's own figures: what each core's URAM holds and the
/// time its entries took, measured.
pub fn board_figures(result: &RunResult) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "core  instance bytes  Rust stack  C stack  trace records  dropped");
    for (core, f) in result.board.iter().enumerate() {
        if !f.ring {
            let _ = writeln!(out, "{core:>4}  (not started: the configuration does not use it)");
            continue;
        }
        let _ = writeln!(
            out,
            "{core:>4}  {:>14}  {:>10}  {:>7}  {:>13}  {:>7}",
            f.instance_bytes, f.rust_stack_bytes, f.c_stack_bytes, f.records, f.dropped
        );
    }
    let all = result.board.iter().fold(EntryCosts::ZERO, |a, f| a.merged(&f.entry_costs));
    let _ = writeln!(
        out,
        "\ntime per hypervisor entry (all cores, measured from the Rust entry to its return; the stubs' save and\n\
         restore are not in it, docs/board-image.md):"
    );
    let _ = writeln!(out, "  {:<18} {:<12} {:>9} {:>12} {:>9} {:>12}", "entry", "exit", "count", "mean cycles", "mean us", "max cycles");
    for class in EntryClass::ALL {
        for outcome in EntryOutcome::ALL {
            let c = all.get(class, outcome);
            if c.count == 0 {
                continue;
            }
            let mean = c.cycles as f64 / c.count as f64;
            let _ = writeln!(
                out,
                "  {:<18} {:<12} {:>9} {:>12.0} {:>9.2} {:>12}",
                class.name(),
                outcome.name(),
                c.count,
                mean,
                mean / CYCLES_PER_US as f64,
                c.max
            );
        }
    }
    out
}
