//! Linux's overhead on the hypervisor over several hackbench sizes
//! (`rp1 lhp overhead`): for each size, native Linux, the guest alone and
//! the guest beside an RTOS that only takes its ticks, each measured as
//! `rp1 lhp linux` measures them ([`crate::linux_experiment::overhead`]),
//! and the overhead of the sums.
//!
//! Why several sizes: one hackbench run's time moves by tens of percent
//! with the interleaving of its four CPUs, natively too (4 x 90 took
//! 0.326 s, 4 x 80 0.367 s), so a single run's overhead says little; the
//! sum over five sizes moves much less (docs/linux-guest.md, "Measured").
//! For a figure with a stated precision, each size can also run under
//! several command lines (kernel parameters nothing reads, or that change
//! nothing, which move the interleaving as a new size does): every
//! (command line, size) is a native/guest pair, and the table adds the
//! geometric mean of the pairs' ratios with its standard error
//! ([`Paired`]; docs/linux-guest.md, "Paired runs").
//!
//! Files: the table (`overhead.txt`), a row per run (`overhead.csv`),
//! everything (`overhead.json`).
//!
//! Owns: the sweep over sizes, its sums, table and files, and the paired
//! comparison of two sweeps' CSVs (`rp1 lhp compare`). Must not touch:
//! how one size is measured (`crate::linux_experiment`).

use crate::linux::LinuxImages;
use crate::linux_experiment::{overhead, CoreSamples, LinuxRun, Overhead, Params};
use rayon::prelude::*;
use serde::Serialize;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

/// hackbench's loops per size when none are given: the sizes of
/// docs/linux-guest.md's table.
pub const DEFAULT_LOOPS: [u32; 5] = [80, 90, 100, 110, 120];

/// One size's three runs, under one command line.
#[derive(Clone, Debug, Serialize)]
pub struct Size {
    pub loops: u32,
    /// Kernel parameters before `hackbench=G,L` ("" for none).
    pub cmdline_extra: String,
    pub overhead: Overhead,
}

/// The runs as pairs: the geometric mean of guest / native over them,
/// as a percentage over native, and the standard error of the mean of
/// the logarithms (in percent; `None` with fewer than two pairs).
#[derive(Clone, Debug, Serialize, PartialEq)]
pub struct Paired {
    pub pairs: usize,
    pub alone_pct: f64,
    pub alone_se_pct: Option<f64>,
    pub beside_idle_pct: f64,
    pub beside_idle_se_pct: Option<f64>,
}

impl Paired {
    pub fn of(sizes: &[Size]) -> Paired {
        let stat = |f: fn(&Overhead) -> &LinuxRun| {
            geometric_mean(sizes.iter().map(|s| f(&s.overhead).hackbench_s / s.overhead.native.hackbench_s))
        };
        let (alone_pct, alone_se_pct) = stat(|o| &o.guest_alone);
        let (beside_idle_pct, beside_idle_se_pct) = stat(|o| &o.guest_beside_idle_rtos);
        Paired { pairs: sizes.len(), alone_pct, alone_se_pct, beside_idle_pct, beside_idle_se_pct }
    }
}

/// The geometric mean of `ratios` as a percentage over 1, and the
/// standard error of the mean of their logarithms in percent (`None`
/// with fewer than two).
fn geometric_mean(ratios: impl Iterator<Item = f64>) -> (f64, Option<f64>) {
    let logs: Vec<f64> = ratios.map(f64::ln).collect();
    let (mean, se) = mean_and_se(&logs);
    ((mean.exp() - 1.0) * 100.0, se.map(|se| se * 100.0))
}

/// The mean of `values` and its standard error (the sample standard
/// deviation over the square root of their number; `None` with fewer
/// than two).
fn mean_and_se(values: &[f64]) -> (f64, Option<f64>) {
    let n = values.len() as f64;
    let mean = values.iter().sum::<f64>() / n;
    let se = (values.len() > 1).then(|| {
        let var = values.iter().map(|v| (v - mean) * (v - mean)).sum::<f64>() / (n - 1.0);
        (var / n).sqrt()
    });
    (mean, se)
}

/// The header `OverheadSweep::write` gives `overhead.csv`: with each
/// run's samples (`CoreSamples`; empty natively) and context switches
/// (empty if /init did not say them; `compare` does not read them),
/// before the kernel parameters, which stay last since they may hold
/// commas.
const CSV_HEADER: &str =
    "loops,run,hackbench_s,halted_s,hypervisor_samples,guest_samples,asleep_samples,context_switches,kernel_parameters";
/// The headers of the CSVs written before the context switches were, and
/// before the samples were (both still read).
const CSV_HEADER_V2: &str = "loops,run,hackbench_s,halted_s,hypervisor_samples,guest_samples,asleep_samples,kernel_parameters";
const CSV_HEADER_V1: &str = "loops,run,hackbench_s,halted_s,kernel_parameters";

/// One row of an `overhead.csv`: the hackbench time, and the run's
/// samples if it has them.
#[derive(Clone, Copy, Debug, PartialEq)]
struct CsvRun {
    hackbench_s: f64,
    samples: Option<CoreSamples>,
}
/// The ways of running, as the CSV names them, and as the comparison says them.
const RUN_KINDS: [(&str, &str); 3] =
    [("native", "native"), ("guest-alone", "guest alone"), ("guest-beside-idle-rtos", "guest beside an idle RTOS")];

/// An `overhead.csv`'s runs by (loops, run, kernel parameters), in
/// any header's form.
fn read_csv(name: &str, text: &str) -> Result<std::collections::BTreeMap<(u32, String, String), CsvRun>, String> {
    let mut lines = text.lines().enumerate();
    let n = match lines.next() {
        Some((_, h)) if h.trim_end() == CSV_HEADER => 9,
        Some((_, h)) if h.trim_end() == CSV_HEADER_V2 => 8,
        Some((_, h)) if h.trim_end() == CSV_HEADER_V1 => 5,
        _ => return Err(format!("{name}: not an `rp1 lhp overhead` CSV (its first line is not `{CSV_HEADER}`)")),
    };
    let mut rows = std::collections::BTreeMap::new();
    for (i, line) in lines {
        let at = || format!("{name}, line {}", i + 1);
        if line.trim().is_empty() {
            continue;
        }
        let fields: Vec<&str> = line.splitn(n, ',').collect();
        if fields.len() != n {
            return Err(format!("{}: {} fields, not {n}", at(), fields.len()));
        }
        let (loops, run, hackbench, params) = (fields[0], fields[1], fields[2], fields[n - 1]);
        let samples = match fields[4..n.min(8) - 1] {
            [hv, guests, asleep] if !(hv.is_empty() && guests.is_empty() && asleep.is_empty()) => {
                let count = |f: &str| f.parse::<u64>().map_err(|_| format!("{}: sample count `{f}` is not a number", at()));
                Some(CoreSamples { hypervisor: count(hv)?, guests: count(guests)?, asleep: count(asleep)? })
            }
            _ => None,
        };
        let loops: u32 = loops.parse().map_err(|_| format!("{}: loops `{loops}` is not a number", at()))?;
        if !RUN_KINDS.iter().any(|(k, _)| *k == run) {
            return Err(format!("{}: unknown run `{run}`", at()));
        }
        let t: f64 = hackbench.parse().map_err(|_| format!("{}: hackbench time `{hackbench}` is not a number", at()))?;
        if !(t.is_finite() && t > 0.0) {
            return Err(format!("{}: hackbench time {t} is not a positive time", at()));
        }
        if rows.insert((loops, run.to_string(), params.trim_end().to_string()), CsvRun { hackbench_s: t, samples }).is_some() {
            return Err(format!("{}: a second row for {loops} loops, {run}, `{}`", at(), params.trim_end()));
        }
    }
    Ok(rows)
}

/// Two `rp1 lhp overhead` runs (their `overhead.csv` texts, named), paired
/// run by run: for each way of running, the geometric mean of after /
/// before over the (size, command line) pairs both have, with its
/// standard error, and the sums over those pairs. How docs/linux-guest.md
/// compares two images: the native runs of both should be identical (the
/// same simulator and kernel), which the text says when they are not.
pub fn compare(before: (&str, &str), after: (&str, &str)) -> Result<String, String> {
    let (a, b) = (read_csv(before.0, before.1)?, read_csv(after.0, after.1)?);
    let common: Vec<&(u32, String, String)> = a.keys().filter(|k| b.contains_key(*k)).collect();
    if common.is_empty() {
        return Err(format!("{} and {} have no run in common (the same loops, run and kernel parameters)", before.0, after.0));
    }
    let only = a.len() + b.len() - 2 * common.len();
    let mut out = format!("{} over {}, paired run by run: {} runs in both", after.0, before.0, common.len());
    if only > 0 {
        let _ = write!(out, ", {only} in only one (left out)");
    }
    out.push('\n');
    for (kind, said) in RUN_KINDS {
        let keys: Vec<_> = common.iter().filter(|k| k.1 == kind).collect();
        if keys.is_empty() {
            let _ = writeln!(out, "{said}: no pairs");
            continue;
        }
        let (pct, se) = geometric_mean(keys.iter().map(|k| b[**k].hackbench_s / a[**k].hackbench_s));
        let sum = |m: &std::collections::BTreeMap<_, CsvRun>| keys.iter().map(|k| m[**k].hackbench_s).sum::<f64>();
        let (sa, sb) = (sum(&a), sum(&b));
        let se = se.map_or(String::new(), |se| format!(" ± {se:.1} %"));
        let _ = write!(out, "{said}: {pct:+.1} %{se} over {} pairs (sums {sa:.3} s -> {sb:.3} s)", keys.len());
        // The hypervisor's share, where both runs of every pair have it:
        // the mean of the pairs' differences in points, with its standard
        // error.
        let shares: Option<Vec<(f64, f64)>> =
            keys.iter().map(|k| Some((a[**k].samples?.hypervisor_pct(), b[**k].samples?.hypervisor_pct()))).collect();
        if let Some(shares) = shares {
            let (mean_a, _) = mean_and_se(&shares.iter().map(|s| s.0).collect::<Vec<_>>());
            let (mean_b, _) = mean_and_se(&shares.iter().map(|s| s.1).collect::<Vec<_>>());
            let (diff, se) = mean_and_se(&shares.iter().map(|s| s.1 - s.0).collect::<Vec<_>>());
            let se = se.map_or(String::new(), |se| format!(" ± {se:.2}"));
            let _ = write!(out, "; the hypervisor's share {mean_a:.2} % -> {mean_b:.2} % ({diff:+.2}{se} points)");
        }
        out.push('\n');
    }
    if common.iter().any(|k| k.1 == "native" && a[*k].hackbench_s != b[*k].hackbench_s) {
        out.push_str("the native runs differ: the two were not made with the same simulator and kernel, so the guest figures mix that in\n");
    }
    Ok(out)
}

/// hackbench's time summed over the sizes, per way of running, and the
/// overheads of the sums over native.
#[derive(Clone, Debug, Serialize, PartialEq)]
pub struct Sums {
    pub native_s: f64,
    pub guest_alone_s: f64,
    pub guest_beside_idle_rtos_s: f64,
    pub alone_pct: f64,
    pub beside_idle_pct: f64,
}

impl Sums {
    pub fn of(sizes: &[Size]) -> Sums {
        let sum = |f: fn(&Overhead) -> &LinuxRun| sizes.iter().map(|s| f(&s.overhead).hackbench_s).sum::<f64>();
        let native_s = sum(|o| &o.native);
        let guest_alone_s = sum(|o| &o.guest_alone);
        let guest_beside_idle_rtos_s = sum(|o| &o.guest_beside_idle_rtos);
        let pct = |t: f64| (t / native_s - 1.0) * 100.0;
        Sums {
            native_s,
            guest_alone_s,
            guest_beside_idle_rtos_s,
            alone_pct: pct(guest_alone_s),
            beside_idle_pct: pct(guest_beside_idle_rtos_s),
        }
    }
}

/// The hypervisor's share of the cores' busy time in the guest runs
/// ([`CoreSamples::hypervisor_pct`]), alone and beside the idle RTOS: of
/// the samples summed over the runs, and the mean of the runs' shares
/// with its standard error. A measure of the overhead that does not move
/// with hackbench's interleaving as its time does: what the hypervisor
/// took of the machine, not how long the guest's work took.
#[derive(Clone, Debug, Serialize, PartialEq)]
pub struct HypervisorShare {
    pub runs: usize,
    pub alone_pct: f64,
    pub alone_mean_pct: f64,
    pub alone_se_pct: Option<f64>,
    pub beside_idle_pct: f64,
    pub beside_idle_mean_pct: f64,
    pub beside_idle_se_pct: Option<f64>,
}

impl HypervisorShare {
    /// `None` unless every size's guest runs were sampled.
    pub fn of(sizes: &[Size]) -> Option<HypervisorShare> {
        let alone: Vec<CoreSamples> = sizes.iter().map(|s| s.overhead.guest_alone.samples).collect::<Option<_>>()?;
        let beside: Vec<CoreSamples> = sizes.iter().map(|s| s.overhead.guest_beside_idle_rtos.samples).collect::<Option<_>>()?;
        let mean_se = |runs: &[CoreSamples]| mean_and_se(&runs.iter().map(CoreSamples::hypervisor_pct).collect::<Vec<_>>());
        let (alone_mean_pct, alone_se_pct) = mean_se(&alone);
        let (beside_idle_mean_pct, beside_idle_se_pct) = mean_se(&beside);
        (!sizes.is_empty()).then(|| HypervisorShare {
            runs: sizes.len(),
            alone_pct: CoreSamples::sum(alone.iter()).hypervisor_pct(),
            alone_mean_pct,
            alone_se_pct,
            beside_idle_pct: CoreSamples::sum(beside.iter()).hypervisor_pct(),
            beside_idle_mean_pct,
            beside_idle_se_pct,
        })
    }
}

/// The guest against native Linux at the same scheduling: hackbench's
/// time follows how many context switches Linux makes for the work, and
/// that moves with the machine's timing (tens of cycles on the entry
/// stub's paths, or a thousand on an IPI's way, change the time by 5-10 %:
/// docs/linux-guest.md, "Why hackbench's time moves"). So each guest run is compared with what the
/// native runs take for its loops and its context switches: a
/// least-squares fit of the native runs' times, `time = base + per_loop x
/// loops + per_switch x switches`, evaluated at the guest run's. The
/// figures are the geometric mean of guest / fit over the runs, with its
/// standard error (the fit's own error not included; `native_rms_pct`,
/// the native runs' scatter around it, says how well it holds). A model,
/// not a measurement: the report says so.
#[derive(Clone, Debug, Serialize, PartialEq)]
pub struct SameScheduling {
    pub native_runs: usize,
    /// The fit: seconds, seconds per loop, seconds per context switch.
    pub base_s: f64,
    pub per_loop_s: f64,
    pub per_switch_s: f64,
    /// The root mean square of the native runs' log residuals, in percent.
    pub native_rms_pct: f64,
    pub alone_pct: f64,
    pub alone_se_pct: Option<f64>,
    pub beside_idle_pct: f64,
    pub beside_idle_se_pct: Option<f64>,
    /// Context switches summed over the sizes, per way of running.
    pub native_switches: u64,
    pub alone_switches: u64,
    pub beside_idle_switches: u64,
}

impl SameScheduling {
    /// `None` unless every run says its context switches and the native
    /// runs determine the fit (at least four, with loops and switches not
    /// in proportion).
    pub fn of(sizes: &[Size]) -> Option<SameScheduling> {
        let runs = |f: fn(&Overhead) -> &LinuxRun| -> Option<Vec<(f64, f64, f64)>> {
            sizes.iter().map(|s| Some((s.loops as f64, f(&s.overhead).context_switches? as f64, f(&s.overhead).hackbench_s))).collect()
        };
        let (native, alone, beside) = (runs(|o| &o.native)?, runs(|o| &o.guest_alone)?, runs(|o| &o.guest_beside_idle_rtos)?);
        if native.len() < 4 {
            return None;
        }
        let [base_s, per_loop_s, per_switch_s] = least_squares(&native)?;
        let fit = |&(l, n, _): &(f64, f64, f64)| base_s + per_loop_s * l + per_switch_s * n;
        if native.iter().chain(&alone).chain(&beside).any(|r| fit(r) <= 0.0) {
            return None;
        }
        let residuals: Vec<f64> = native.iter().map(|r| (r.2 / fit(r)).ln()).collect();
        let native_rms_pct = (residuals.iter().map(|x| x * x).sum::<f64>() / residuals.len() as f64).sqrt() * 100.0;
        let (alone_pct, alone_se_pct) = geometric_mean(alone.iter().map(|r| r.2 / fit(r)));
        let (beside_idle_pct, beside_idle_se_pct) = geometric_mean(beside.iter().map(|r| r.2 / fit(r)));
        let total = |v: &[(f64, f64, f64)]| v.iter().map(|r| r.1 as u64).sum();
        Some(SameScheduling {
            native_runs: native.len(),
            base_s,
            per_loop_s,
            per_switch_s,
            native_rms_pct,
            alone_pct,
            alone_se_pct,
            beside_idle_pct,
            beside_idle_se_pct,
            native_switches: total(&native),
            alone_switches: total(&alone),
            beside_idle_switches: total(&beside),
        })
    }
}

/// `x`, or 0 where it would print as -0.0 at one decimal (a model's
/// rounding).
fn no_negative_zero(x: f64) -> f64 {
    if x.abs() < 0.05 {
        0.0
    } else {
        x
    }
}

/// The least-squares `[a, b, c]` of `y = a + b x + c z` over `(x, z, y)`
/// points, by the normal equations (Cramer's rule on the 3 x 3 system);
/// `None` if they do not determine it.
fn least_squares(points: &[(f64, f64, f64)]) -> Option<[f64; 3]> {
    let mut m = [[0.0f64; 3]; 3];
    let mut v = [0.0f64; 3];
    for &(x, z, y) in points {
        let row = [1.0, x, z];
        for i in 0..3 {
            for j in 0..3 {
                m[i][j] += row[i] * row[j];
            }
            v[i] += row[i] * y;
        }
    }
    let det = |m: &[[f64; 3]; 3]| {
        m[0][0] * (m[1][1] * m[2][2] - m[1][2] * m[2][1]) - m[0][1] * (m[1][0] * m[2][2] - m[1][2] * m[2][0])
            + m[0][2] * (m[1][0] * m[2][1] - m[1][1] * m[2][0])
    };
    let d = det(&m);
    // Relative to the matrix's scale: a singular system's determinant is
    // rounding noise.
    let scale = m[0][0] * m[1][1] * m[2][2];
    if !(d.is_finite() && scale > 0.0 && d.abs() > scale * 1e-9) {
        return None;
    }
    let mut out = [0.0; 3];
    for (k, o) in out.iter_mut().enumerate() {
        let mut mk = m;
        for i in 0..3 {
            mk[i][k] = v[i];
        }
        *o = det(&mk) / d;
    }
    Some(out)
}

#[derive(Clone, Debug, Serialize)]
pub struct OverheadSweep {
    pub groups: u32,
    /// Which RTOS ran beside Linux: "the RTOS probe" or
    /// [`crate::toppers::NAME`].
    pub rtos: &'static str,
    pub sizes: Vec<Size>,
    pub sums: Sums,
    pub paired: Paired,
    pub hypervisor_share: Option<HypervisorShare>,
    pub same_scheduling: Option<SameScheduling>,
    /// The machine's ICI latency in cycles, an input (`RP1_ICI_LATENCY`,
    /// docs/simulator.md): every run of the sweep, native ones included,
    /// had it.
    pub ici_latency_cycles: u64,
}

/// Measure every size of `loops` (`groups` hackbench groups) under each
/// command line of `cmdline_extras` (kernel parameters before
/// `hackbench=G,L`; `[""]` for the plain one), beside the probe or
/// `toppers`. The runs go in parallel (rayon; each is deterministic, so
/// the results do not depend on how many ran at once) and come back in
/// order, command line by command line; `progress` hears of each run as
/// it ends. A size that fails fails the sweep, named: a sum without it
/// would not compare.
pub fn run(
    images: &LinuxImages,
    groups: u32,
    loops: &[u32],
    cmdline_extras: &[String],
    toppers: Option<PathBuf>,
    progress: impl FnMut(&str) + Send,
) -> Result<OverheadSweep, String> {
    let progress = std::sync::Mutex::new(progress);
    let jobs: Vec<(&String, u32)> = cmdline_extras.iter().flat_map(|e| loops.iter().map(move |&l| (e, l))).collect();
    let sizes = jobs
        .par_iter()
        .map(|&(extra, l)| {
            let p = Params {
                groups,
                loops: l,
                cmdline_extra: extra.clone(),
                utils: Vec::new(),
                variants: Vec::new(),
                timeline: false,
                toppers: toppers.clone(),
            };
            let name = if extra.is_empty() { format!("{groups}x{l}") } else { format!("{groups}x{l} ({extra})") };
            let (overhead, _) = overhead(images, &p, |line| (progress.lock().expect("progress"))(&format!("{name}: {line}")))
                .map_err(|e| format!("hackbench {name}: {e}"))?;
            Ok(Size { loops: l, cmdline_extra: extra.clone(), overhead })
        })
        .collect::<Result<Vec<Size>, String>>()?;
    let rtos = if toppers.is_some() { crate::toppers::NAME } else { "the RTOS probe" };
    let mut sweep = OverheadSweep::of(groups, rtos, sizes);
    // Every run's machine took it (and would have refused a bad one).
    sweep.ici_latency_cycles = rp1_sim::machine::resolve_ici_latency(None).map_err(|e| e.to_string())?;
    Ok(sweep)
}

impl OverheadSweep {
    /// The sweep of `sizes`, with what is worked out from them.
    pub fn of(groups: u32, rtos: &'static str, sizes: Vec<Size>) -> OverheadSweep {
        OverheadSweep {
            groups,
            rtos,
            sums: Sums::of(&sizes),
            paired: Paired::of(&sizes),
            hypervisor_share: HypervisorShare::of(&sizes),
            same_scheduling: SameScheduling::of(&sizes),
            sizes,
            ici_latency_cycles: 0,
        }
    }

    /// The table: hackbench's time per size and way of running, the sums,
    /// and the overheads.
    pub fn table(&self) -> String {
        let variants = self.sizes.iter().any(|s| !s.cmdline_extra.is_empty());
        let latency = match self.ici_latency_cycles {
            0 => String::new(),
            c => format!("every run, native included, with an ICI latency of {c} cycles (an input, RP1_ICI_LATENCY)\n"),
        };
        let mut t = format!(
            "Linux 6.1 overhead on the hypervisor's board image: hackbench=G,L with G = {} at {} sizes L; the third run beside {}\n\
             hackbench's own time (s), every figure measured in simulated time (600 MHz)\n{latency}\n\
             | loops |{} native | guest alone | guest beside an idle RTOS |\n|--:|{}--:|--:|--:|\n",
            self.groups,
            self.sizes.len(),
            self.rtos,
            if variants { " kernel parameters |" } else { "" },
            if variants { ":--|" } else { "" }
        );
        let pct = |t: f64, n: f64| (t / n - 1.0) * 100.0;
        for s in &self.sizes {
            let o = &s.overhead;
            let n = o.native.hackbench_s;
            let extra = if variants { format!(" {} |", s.cmdline_extra) } else { String::new() };
            let _ = writeln!(
                t,
                "| {} |{extra} {n:.3} | {:.3} ({:+.1} %) | {:.3} ({:+.1} %) |",
                s.loops,
                o.guest_alone.hackbench_s,
                pct(o.guest_alone.hackbench_s, n),
                o.guest_beside_idle_rtos.hackbench_s,
                pct(o.guest_beside_idle_rtos.hackbench_s, n)
            );
        }
        let m = &self.sums;
        let _ = writeln!(
            t,
            "| all |{} {:.3} | {:.3} ({:+.1} %) | {:.3} ({:+.1} %) |\n\n\
             overhead of the sums: {:+.1} % alone, {:+.1} % beside the idle RTOS (the papers: 1.4 %)",
            if variants { " |" } else { "" },
            m.native_s,
            m.guest_alone_s,
            m.alone_pct,
            m.guest_beside_idle_rtos_s,
            m.beside_idle_pct,
            m.alone_pct,
            m.beside_idle_pct
        );
        let p = &self.paired;
        let pm = |se: Option<f64>| se.map_or(String::new(), |se| format!(" ± {se:.1} %"));
        let _ = writeln!(
            t,
            "paired over the {} runs (geometric mean of guest / native ± its standard error): {:+.1} %{} alone, {:+.1} %{} beside the idle RTOS",
            p.pairs,
            p.alone_pct,
            pm(p.alone_se_pct),
            p.beside_idle_pct,
            pm(p.beside_idle_se_pct)
        );
        if let Some(f) = &self.same_scheduling {
            let more = |n: u64| (n as f64 / f.native_switches as f64 - 1.0) * 100.0;
            let _ = writeln!(
                t,
                "context switches while hackbench ran (/init's count from /proc/stat; measured), summed: \
                 native {}, alone {} ({:+.1} %), beside the idle RTOS {} ({:+.1} %)",
                f.native_switches,
                f.alone_switches,
                more(f.alone_switches),
                f.beside_idle_switches,
                more(f.beside_idle_switches)
            );
            let _ = writeln!(
                t,
                "at the same scheduling (a model: each guest run against the native runs' least-squares fit \
                 {:.4} s + {:.3} ms per loop + {:.3} us per context switch, whose residuals are {:.1} % rms \
                 over the {} native runs): {:+.1} %{} alone, {:+.1} %{} beside the idle RTOS",
                f.base_s,
                f.per_loop_s * 1e3,
                f.per_switch_s * 1e6,
                f.native_rms_pct,
                f.native_runs,
                no_negative_zero(f.alone_pct),
                pm(f.alone_se_pct),
                no_negative_zero(f.beside_idle_pct),
                pm(f.beside_idle_se_pct)
            );
        }
        if let Some(h) = &self.hypervisor_share {
            let pm = |se: Option<f64>| se.map_or(String::new(), |se| format!(" ± {se:.2} %"));
            let _ = writeln!(
                t,
                "the hypervisor's share of the cores' busy time (each core's PC sampled at every round's end; measured): \
                 {:.2} % alone, {:.2} % beside the idle RTOS over all {} runs' samples; \
                 the runs' mean {:.2} %{} alone, {:.2} %{} beside",
                h.alone_pct,
                h.beside_idle_pct,
                h.runs,
                h.alone_mean_pct,
                pm(h.alone_se_pct),
                h.beside_idle_mean_pct,
                pm(h.beside_idle_se_pct)
            );
        }
        t
    }

    /// `overhead.csv` (a row per run), `overhead.json` (everything) and
    /// `overhead.txt` (the table), in `dir`.
    pub fn write(&self, dir: &Path) -> Result<Vec<PathBuf>, String> {
        std::fs::create_dir_all(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
        let mut csv = format!("{CSV_HEADER}\n");
        for s in &self.sizes {
            let o = &s.overhead;
            for (name, r) in [("native", &o.native), ("guest-alone", &o.guest_alone), ("guest-beside-idle-rtos", &o.guest_beside_idle_rtos)] {
                let samples =
                    r.samples.map_or(",,".to_string(), |c| format!("{},{},{}", c.hypervisor, c.guests, c.asleep));
                let switches = r.context_switches.map_or(String::new(), |n| n.to_string());
                let _ = writeln!(
                    csv,
                    "{},{name},{:.6},{:.6},{samples},{switches},{}",
                    s.loops, r.hackbench_s, r.halted_s, s.cmdline_extra
                );
            }
        }
        let files = [
            (dir.join("overhead.csv"), csv),
            (dir.join("overhead.json"), serde_json::to_string_pretty(self).map_err(|e| e.to_string())?),
            (dir.join("overhead.txt"), self.table()),
        ];
        for (path, text) in &files {
            std::fs::write(path, text).map_err(|e| format!("{}: {e}", path.display()))?;
        }
        Ok(files.into_iter().map(|(p, _)| p).collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(hackbench_s: f64) -> LinuxRun {
        LinuxRun { hackbench_s, halted_s: hackbench_s + 0.1, host_s: 1.0, departures: 0, returns: 0, samples: None, context_switches: None }
    }

    fn size(loops: u32, native: f64, alone: f64, beside: f64) -> Size {
        Size {
            loops,
            cmdline_extra: String::new(),
            overhead: Overhead { native: run(native), guest_alone: run(alone), guest_beside_idle_rtos: run(beside) },
        }
    }

    /// The overhead is that of the sums, not the mean of the sizes'
    /// overheads: alone, +50 % at one size and -10 % at the other would
    /// average to +20 %, but the sums are equal, 0 %.
    #[test]
    fn the_overhead_is_of_the_sums() {
        let sizes = [size(80, 0.2, 0.3, 0.25), size(90, 1.0, 0.9, 1.0)];
        let s = Sums::of(&sizes);
        assert!((s.native_s - 1.2).abs() < 1e-12 && (s.guest_alone_s - 1.2).abs() < 1e-12, "{s:?}");
        assert!((s.guest_beside_idle_rtos_s - 1.25).abs() < 1e-12, "{s:?}");
        assert!(s.alone_pct.abs() < 1e-9, "{s:?}");
        assert!((s.beside_idle_pct - 25.0 / 6.0).abs() < 1e-9, "{s:?}");
        let sweep = OverheadSweep::of(4, "the RTOS probe", sizes.to_vec());
        let t = sweep.table();
        assert!(t.contains("| 80 | 0.200 | 0.300 (+50.0 %) | 0.250 (+25.0 %) |"), "{t}");
        assert!(t.contains("| 90 | 1.000 | 0.900 (-10.0 %) | 1.000 (+0.0 %) |"), "{t}");
        assert!(t.contains("| all | 1.200 | 1.200 (+0.0 %) | 1.250 (+4.2 %) |"), "{t}");
        assert!(t.contains("overhead of the sums: +0.0 % alone, +4.2 % beside the idle RTOS"), "{t}");
        assert!(t.starts_with("Linux 6.1 overhead on the hypervisor's board image: hackbench=G,L with G = 4 at 2 sizes L;"), "{t}");
        assert!(!t.contains("ICI latency"), "{t}");
        // A sweep run with an ICI latency says so, as an input.
        let mut late = sweep.clone();
        late.ici_latency_cycles = 1000;
        assert!(late.table().contains("(600 MHz)\nevery run, native included, with an ICI latency of 1000 cycles (an input, RP1_ICI_LATENCY)\n\n| loops |"), "{}", late.table());
    }

    /// The paired figure is the geometric mean of the per-run ratios,
    /// with the standard error of the mean of their logarithms: ratios
    /// 1.5 and 0.9 (alone) give sqrt(1.35) - 1 = +16.2 %, and logs
    /// ln 1.5 and ln 0.9 (sample sd 0.3612, se 0.2554) +- 25.5 %.
    #[test]
    fn the_paired_figure_is_the_geometric_mean_with_its_standard_error() {
        let sizes = [size(80, 0.2, 0.3, 0.2), size(90, 1.0, 0.9, 1.0)];
        let p = Paired::of(&sizes);
        assert_eq!(p.pairs, 2);
        assert!((p.alone_pct - (1.35f64.sqrt() - 1.0) * 100.0).abs() < 1e-9, "{p:?}");
        let se = ((1.5f64.ln() - 0.9f64.ln()).abs() / 2.0f64.sqrt()) / 2.0f64.sqrt() * 100.0;
        assert!((p.alone_se_pct.unwrap() - se).abs() < 1e-9 && (se - 25.54).abs() < 0.01, "{p:?} {se}");
        assert!(p.beside_idle_pct.abs() < 1e-9 && p.beside_idle_se_pct == Some(0.0), "{p:?}");
        assert_eq!(Paired::of(&sizes[..1]).alone_se_pct, None, "one pair has no standard error");
        // With command-line variants the table names each row's.
        let mut rows = sizes.to_vec();
        rows[1].cmdline_extra = "maxcpus=4".into();
        let sweep = OverheadSweep::of(4, "the RTOS probe", rows);
        let t = sweep.table();
        assert!(t.contains("| 80 |  | 0.200 | 0.300 (+50.0 %) | 0.200 (+0.0 %) |"), "{t}");
        assert!(t.contains("| 90 | maxcpus=4 | 1.000 | 0.900 (-10.0 %) | 1.000 (+0.0 %) |"), "{t}");
        assert!(t.contains("paired over the 2 runs (geometric mean of guest / native ± its standard error): +16.2 % ± 25.5 % alone, +0.0 % ± 0.0 % beside the idle RTOS"), "{t}");
    }

    /// The hypervisor's share is of the samples summed over the runs (the
    /// busy ones: asleep is left out), beside the mean of the runs' shares
    /// with its standard error: 10 of 100 busy samples and 30 of 100 give
    /// 20 % either way, the shares 10 % and 30 % a standard error of
    /// 10 %; 1 of 4 busy and 30 of 100 give 31 of 104, 29.81 %, where the
    /// mean is 27.5 %. Without samples (a native run has none) there is
    /// no share, and the table says nothing of it.
    #[test]
    fn the_hypervisors_share_is_of_the_busy_samples() {
        let sampled = |hv: u64, guests: u64, asleep: u64| {
            let mut r = run(1.0);
            r.samples = Some(CoreSamples { hypervisor: hv, guests, asleep });
            r
        };
        let two = |a: LinuxRun, b: LinuxRun| {
            [(80, a.clone(), b.clone()), (90, b, a)].map(|(loops, x, y)| Size {
                loops,
                cmdline_extra: String::new(),
                overhead: Overhead { native: run(1.0), guest_alone: x, guest_beside_idle_rtos: y },
            })
        };
        let h = HypervisorShare::of(&two(sampled(10, 90, 500), sampled(30, 70, 0))).expect("sampled");
        assert_eq!((h.runs, h.alone_pct, h.beside_idle_pct, h.alone_mean_pct), (2, 20.0, 20.0, 20.0));
        assert!((h.alone_se_pct.unwrap() - 10.0).abs() < 1e-9, "{h:?}");
        let h = HypervisorShare::of(&two(sampled(1, 3, 0), sampled(30, 70, 0))).expect("sampled");
        assert!((h.alone_pct - 3100.0 / 104.0).abs() < 1e-9 && (h.alone_mean_pct - 27.5).abs() < 1e-9, "{h:?}");
        let sizes = two(sampled(1, 3, 0), sampled(30, 70, 0));
        let sweep = OverheadSweep::of(4, "the RTOS probe", sizes.to_vec());
        let t = sweep.table();
        assert!(t.contains("29.81 % alone, 29.81 % beside the idle RTOS over all 2 runs' samples; the runs' mean 27.50 % ± 2.50 % alone"), "{t}");
        assert_eq!(HypervisorShare::of(&two(run(1.0), sampled(1, 1, 0))), None);
        assert_eq!(size(80, 1.0, 1.0, 1.0).overhead.guest_alone.samples, None);
    }

    const HEADER: &str = "loops,run,hackbench_s,halted_s,kernel_parameters\n";

    /// Two sweeps compared run by run: the native runs equal, the guest
    /// alone 10 % faster in one pair and 10 % slower in the other
    /// (geometric mean 0.99 - 1 = -0.5 %, logs ln 0.9 and ln 1.1: se
    /// 10.0 %), and a run only the second has left out and said.
    #[test]
    fn two_sweeps_compare_run_by_run() {
        let before = format!("{HEADER}80,native,0.200000,0.3,\n80,guest-alone,0.200000,0.3,\n90,native,1.000000,1.1,maxcpus=4\n90,guest-alone,1.000000,1.1,maxcpus=4\n");
        let after = format!("{before}90,guest-beside-idle-rtos,1.000000,1.1,maxcpus=4\n")
            .replace("80,guest-alone,0.200000", "80,guest-alone,0.180000")
            .replace("90,guest-alone,1.000000", "90,guest-alone,1.100000");
        let t = compare(("a.csv", &before), ("b.csv", &after)).unwrap();
        let se = (1.1f64.ln() - 0.9f64.ln()).abs() / 2.0 * 100.0;
        assert!((se - 10.03).abs() < 0.01);
        assert_eq!(
            t,
            "b.csv over a.csv, paired run by run: 4 runs in both, 1 in only one (left out)\n\
             native: +0.0 % ± 0.0 % over 2 pairs (sums 1.200 s -> 1.200 s)\n\
             guest alone: -0.5 % ± 10.0 % over 2 pairs (sums 1.200 s -> 1.280 s)\n\
             guest beside an idle RTOS: no pairs\n"
        );
        let other_native = after.replace("80,native,0.200000", "80,native,0.210000");
        assert!(compare(("a.csv", &before), ("b.csv", &other_native)).unwrap().ends_with("the guest figures mix that in\n"));
    }

    /// CSVs with the runs' samples (`CSV_HEADER_V2`, as `write` made them
    /// before the context switches) compare the hypervisor's share too, pair by pair: shares 10 %
    /// and 20 % before, 8 % and 17 % after, are a mean 15 % -> 12.5 %,
    /// differences -2 and -3 points (mean -2.5, se 0.5). Native runs have
    /// no samples, and say no share. A CSV of the earlier form has none
    /// either, and compares as it did.
    #[test]
    fn sweeps_with_samples_compare_the_hypervisors_share_too() {
        let v2 = |alone: [(f64, u64); 2]| {
            format!(
                "{CSV_HEADER_V2}\n80,native,0.200000,0.3,,,,\n80,guest-alone,{:.6},0.3,{},{},5,\n90,native,1.000000,1.1,,,,p=1,q=2\n90,guest-alone,{:.6},1.1,{},{},0,p=1,q=2\n",
                alone[0].0,
                alone[0].1,
                100 - alone[0].1,
                alone[1].0,
                alone[1].1,
                100 - alone[1].1
            )
        };
        let (before, after) = (v2([(0.2, 10), (1.0, 20)]), v2([(0.2, 8), (1.0, 17)]));
        let t = compare(("a.csv", &before), ("b.csv", &after)).unwrap();
        assert_eq!(
            t,
            "b.csv over a.csv, paired run by run: 4 runs in both\n\
             native: +0.0 % ± 0.0 % over 2 pairs (sums 1.200 s -> 1.200 s)\n\
             guest alone: +0.0 % ± 0.0 % over 2 pairs (sums 1.200 s -> 1.200 s); the hypervisor's share 15.00 % -> 12.50 % (-2.50 ± 0.50 points)\n\
             guest beside an idle RTOS: no pairs\n"
        );
        let rows = read_csv("a.csv", &before).unwrap();
        assert_eq!(rows[&(90, "native".into(), "p=1,q=2".into())], CsvRun { hackbench_s: 1.0, samples: None });
        let bad = before.replace("0.3,10,90,5,", "0.3,10,ninety,5,");
        assert_eq!(compare(("a.csv", &bad), ("b.csv", &after)).unwrap_err(), "a.csv, line 3: sample count `ninety` is not a number");
        let short = format!("{CSV_HEADER_V2}\n80,native,0.2,0.3,\n");
        assert_eq!(compare(("a.csv", &short), ("b.csv", &after)).unwrap_err(), "a.csv, line 2: 5 fields, not 8");
        // Against the earlier form: no share, the times as before.
        let v1 = format!("{HEADER}80,guest-alone,0.200000,0.3,\n");
        assert_eq!(compare(("a.csv", &v1), ("b.csv", &after)).unwrap(), "b.csv over a.csv, paired run by run: 1 runs in both, 3 in only one (left out)\nnative: no pairs\nguest alone: +0.0 % over 1 pairs (sums 0.200 s -> 0.200 s)\nguest beside an idle RTOS: no pairs\n");
    }

    /// Native runs made by `time = 0.1 s + 2 ms x loops + 1 us x
    /// switches` give that fit back; guest runs 5 % over the model at
    /// their own loops and switches (alone), or on it (beside), are +5.0 %
    /// and +0.0 % at the same scheduling, though alone's switches (and so
    /// its time) are half again native's, and the sums say +26 %.
    #[test]
    fn the_same_scheduling_is_the_native_fit_at_the_guests_switches() {
        let model = |loops: u32, switches: u64| 0.1 + 0.002 * loops as f64 + 1e-6 * switches as f64;
        let with = |loops: u32, switches: u64, factor: f64| LinuxRun {
            context_switches: Some(switches),
            ..run(model(loops, switches) * factor)
        };
        let sizes: Vec<Size> = [(80, 150_000), (90, 210_000), (100, 170_000), (110, 260_000), (120, 220_000)]
            .into_iter()
            .map(|(loops, n)| Size {
                loops,
                cmdline_extra: String::new(),
                overhead: Overhead {
                    native: with(loops, n, 1.0),
                    guest_alone: with(loops, n * 3 / 2, 1.05),
                    guest_beside_idle_rtos: with(loops, n + 20_000, 1.0),
                },
            })
            .collect();
        let f = SameScheduling::of(&sizes).expect("every run has its count");
        assert!((f.base_s - 0.1).abs() < 1e-9 && (f.per_loop_s - 0.002).abs() < 1e-12 && (f.per_switch_s - 1e-6).abs() < 1e-15, "{f:?}");
        assert!(f.native_rms_pct < 1e-9, "{f:?}");
        assert!((f.alone_pct - 5.0).abs() < 1e-9 && f.alone_se_pct.unwrap() < 1e-9, "{f:?}");
        assert!(f.beside_idle_pct.abs() < 1e-9, "{f:?}");
        assert_eq!((f.native_runs, f.native_switches, f.alone_switches, f.beside_idle_switches), (5, 1_010_000, 1_515_000, 1_110_000));
        let sweep = OverheadSweep::of(4, "the RTOS probe", sizes.clone());
        assert!((sweep.sums.alone_pct - 26.1).abs() < 0.1, "{:?}", sweep.sums);
        let t = sweep.table();
        assert!(t.contains("summed: native 1010000, alone 1515000 (+50.0 %), beside the idle RTOS 1110000 (+9.9 %)\n"), "{t}");
        assert!(t.contains("least-squares fit 0.1000 s + 2.000 ms per loop + 1.000 us per context switch, whose residuals are 0.0 % rms over the 5 native runs): +5.0 % ± 0.0 % alone, +0.0 % ± 0.0 % beside the idle RTOS\n"), "{t}");
        // The CSV carries the counts, and reads back.
        let dir = std::env::temp_dir().join(format!("rp1-overhead-switches-{}", std::process::id()));
        sweep.write(&dir).unwrap();
        let csv = std::fs::read_to_string(dir.join("overhead.csv")).unwrap();
        std::fs::remove_dir_all(&dir).unwrap();
        assert!(csv.starts_with(&format!("{CSV_HEADER}\n80,native,0.410000,0.510000,,,,150000,\n")), "{csv}");
        assert_eq!(read_csv("o.csv", &csv).unwrap().len(), 15);
        // A run without a count (an initramfs from before /init said it),
        // or too few native runs to fit, give no such figure.
        let mut missing = sizes.clone();
        missing[2].overhead.guest_alone.context_switches = None;
        assert_eq!(SameScheduling::of(&missing), None);
        assert_eq!(SameScheduling::of(&sizes[..3]), None);
        // Nor do native runs whose switches follow their loops exactly.
        let mut proportional = sizes.clone();
        for s in &mut proportional {
            s.overhead.native.context_switches = Some(2_000 * s.loops as u64);
        }
        assert_eq!(SameScheduling::of(&proportional), None);
    }

    #[test]
    fn a_bad_csv_is_refused_by_name_and_line() {
        let ok = format!("{HEADER}80,native,0.2,0.3,\n");
        let err = |text: &str| compare(("a.csv", &ok), ("b.csv", text)).unwrap_err();
        assert_eq!(err("x,y\n"), format!("b.csv: not an `rp1 lhp overhead` CSV (its first line is not `{CSV_HEADER}`)"));
        assert_eq!(err(&format!("{HEADER}80,native\n")), "b.csv, line 2: 2 fields, not 5");
        assert_eq!(err(&format!("{HEADER}eighty,native,0.2,0.3,\n")), "b.csv, line 2: loops `eighty` is not a number");
        assert_eq!(err(&format!("{HEADER}80,natve,0.2,0.3,\n")), "b.csv, line 2: unknown run `natve`");
        assert_eq!(err(&format!("{HEADER}80,native,0,0.3,\n")), "b.csv, line 2: hackbench time 0 is not a positive time");
        assert_eq!(err(&format!("{HEADER}80,native,0.2,0.3,\n80,native,0.2,0.3,\n")), "b.csv, line 3: a second row for 80 loops, native, ``");
        assert_eq!(err(&format!("{HEADER}90,native,0.2,0.3,\n")), "a.csv and b.csv have no run in common (the same loops, run and kernel parameters)");
    }
}
