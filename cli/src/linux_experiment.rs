//! The papers' full-system experiments with Linux as the general-purpose
//! guest (`rp1 lhp linux`): Linux's overhead on the hypervisor against
//! native Linux on the same simulated machine, and, for every policy at
//! every RTOS utilization, hackbench's time beside the RTOS and the RTOS's
//! dispatch latency while Linux runs.
//!
//! The RTOS is our probe (tests/hvguests), or TOPPERS/JSP built from a
//! tree the user provides (docs/toppers-guest.md). Every figure is measured on the
//! board image; the run checks Linux's four vCPUs came online and
//! hackbench exited 0, and a run that fails is reported, not tabulated.
//!
//! Files: the tables (`linux.txt`), a row per run (`linux.csv`),
//! everything (`linux.json`), hackbench's time against utilization per
//! policy with the ideal (`linux_hackbench.svg`), the probe's latency CDF
//! per policy at the highest utilization (`linux_latency_cdf.svg`), and a
//! Chrome-trace timeline of one run, the first policy at the highest
//! utilization (`linux_timeline.json`, unless [`Params::timeline`] is off).
//!
//! Owns: the sweep, its checks, tables and files. Must not touch: the
//! guest's description ([`crate::linux_guest`]) or the native boot
//! ([`crate::linux`]); how charts are drawn (`spumone_hosting::charts`) or
//! timelines exported (`spumone_hosting::trace_export`).

use crate::linux::{boot, LinuxImages};
use crate::linux_guest::{check, context_switches, hackbench_seconds, linux_index, LinuxGuest};
use serde::Serialize;
use spumone_hosting::charts;
use spumone_hosting::description::Policy;
use spumone_hosting::runner::RunResult;
use spumone_hosting::timeline::Timeline;
use spumone_hosting::trace_export;
use rayon::prelude::*;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

/// One way of running the pair.
#[derive(Clone, Copy, Debug, Serialize)]
pub struct Variant {
    pub name: &'static str,
    #[serde(skip)]
    pub policy: Policy,
    pub spin_yield: bool,
    /// Dispatch the RTOS first and ship the preempted vCPU's context
    /// after, if the vCPU is still preempted then (docs/hypervisor.md).
    pub dispatch_first: bool,
}

impl Variant {
    const fn of(name: &'static str, policy: Policy) -> Variant {
        Variant { name, policy, spin_yield: false, dispatch_first: false }
    }
}

/// The papers' four policies, on-demand with spin-yield, and on-demand
/// with dispatch-first.
pub fn variants() -> Vec<Variant> {
    vec![
        Variant::of("none", Policy::None),
        Variant::of("delayed-preemption", Policy::DelayedPreemption),
        Variant::of("trap-migration", Policy::TrapMigration),
        Variant::of("on-demand-migration", Policy::OnDemandMigration),
        Variant { spin_yield: true, ..Variant::of("on-demand+spin-yield", Policy::OnDemandMigration) },
        Variant { dispatch_first: true, ..Variant::of("on-demand+dispatch-first", Policy::OnDemandMigration) },
    ]
}

#[derive(Clone, Debug)]
pub struct Params {
    pub groups: u32,
    pub loops: u32,
    /// Kernel parameters put before `hackbench=G,L` on every run's command
    /// line, native and guest alike ("" for none): `rp1 lhp overhead`'s
    /// command-line variants.
    pub cmdline_extra: String,
    pub utils: Vec<u32>,
    pub variants: Vec<Variant>,
    /// Keep the events of one run, the first variant at the highest
    /// utilization, for its timeline (`linux_timeline.json`).
    pub timeline: bool,
    /// TOPPERS/JSP's image as the RTOS (`crate::toppers::image`); `None`:
    /// the probe.
    pub toppers: Option<std::path::PathBuf>,
}

/// At most this many events go into the timeline (about 200 bytes each in
/// the file); the rest are counted in its `otherData.dropped_events`.
pub const TIMELINE_MAX_EVENTS: usize = 1_000_000;

/// hackbench's own time and when Linux halted, for one run.
#[derive(Clone, Debug, Serialize)]
pub struct LinuxRun {
    /// hackbench's "Time:" (the guest's clock: TIME_NOW; natively the TMU).
    pub hackbench_s: f64,
    /// Simulated seconds from reset to Linux's halt.
    pub halted_s: f64,
    pub host_s: f64,
    /// Departure and return migrations the hypervisor made in the run,
    /// summed over the cores (their source halves; 0 natively).
    pub departures: u64,
    pub returns: u64,
    /// Where the cores' time went, for the runs that sampled it (the
    /// overhead's guest runs; `None` natively and in the policy sweep).
    pub samples: Option<CoreSamples>,
    /// Context switches Linux made on all its CPUs while hackbench ran,
    /// as /init read them from /proc/stat (measured; `None` if it did not
    /// say). hackbench's time follows them (docs/linux-guest.md).
    pub context_switches: Option<u64>,
}

/// Each core's PC sampled at the end of every round of a run (a quantum of
/// 1,000 cycles, or less at a device event), summed over the cores: in the
/// hypervisor's board image, in the guests, asleep. Measured, and
/// deterministic as the run is. Until Linux halts (to the end of that
/// simulated millisecond): beside the RTOS, whose run goes on for a
/// second or more after it, none of the RTOS's ticks alone.
#[derive(Clone, Copy, Debug, Serialize, PartialEq, Eq)]
pub struct CoreSamples {
    pub hypervisor: u64,
    pub guests: u64,
    pub asleep: u64,
}

impl CoreSamples {
    pub fn of(p: &rp1_sim::profile::PcProfile) -> CoreSamples {
        CoreSamples { hypervisor: p.inside.iter().sum(), guests: p.outside.iter().sum(), asleep: p.asleep.iter().sum() }
    }

    /// The hypervisor's share of the cores' busy time (not asleep), in
    /// percent: the part of the machine a guest's work did not get.
    pub fn hypervisor_pct(&self) -> f64 {
        let busy = self.hypervisor + self.guests;
        if busy == 0 { 0.0 } else { self.hypervisor as f64 * 100.0 / busy as f64 }
    }

    /// The sum of `samples` (those that have them).
    pub fn sum<'a>(samples: impl Iterator<Item = &'a CoreSamples>) -> CoreSamples {
        samples.fold(CoreSamples { hypervisor: 0, guests: 0, asleep: 0 }, |a, s| CoreSamples {
            hypervisor: a.hypervisor + s.hypervisor,
            guests: a.guests + s.guests,
            asleep: a.asleep + s.asleep,
        })
    }
}

#[derive(Clone, Debug, Serialize)]
pub struct Overhead {
    pub native: LinuxRun,
    /// Linux alone on the hypervisor (no RTOS guest).
    pub guest_alone: LinuxRun,
    /// Beside the probe ticking every 1 ms with no burner (an RTOS that
    /// only takes its ticks).
    pub guest_beside_idle_rtos: LinuxRun,
}

impl Overhead {
    /// hackbench's time on the hypervisor over native, minus one.
    pub fn alone_pct(&self) -> f64 {
        (self.guest_alone.hackbench_s / self.native.hackbench_s - 1.0) * 100.0
    }
    pub fn beside_idle_pct(&self) -> f64 {
        (self.guest_beside_idle_rtos.hackbench_s / self.native.hackbench_s - 1.0) * 100.0
    }
}

/// One point of the sweep.
#[derive(Clone, Debug, Serialize)]
pub struct Point {
    pub variant: &'static str,
    pub util: u32,
    /// None: the run failed (`failure` says why) and is not tabulated.
    pub run: Option<LinuxRun>,
    pub failure: Option<String>,
    /// The probe's dispatch latency (us) while Linux ran.
    pub latency: Option<Latency>,
    /// Its samples, in order (for the CDF; the JSON has the summary).
    #[serde(skip)]
    pub latencies_us: Vec<f64>,
}

#[derive(Clone, Debug, Serialize)]
pub struct Latency {
    pub samples: usize,
    pub mean_us: f64,
    pub p99_us: f64,
    pub max_us: f64,
}

/// The timeline of one run of the sweep (the trace itself is written to
/// `linux_timeline.json`, not into the JSON).
#[derive(Clone, Debug, Serialize)]
pub struct RunTimeline {
    pub variant: &'static str,
    pub util: u32,
    /// Trace events kept, and dropped over [`TIMELINE_MAX_EVENTS`].
    pub events: usize,
    pub dropped: u64,
    #[serde(skip)]
    pub timeline: Timeline,
}

#[derive(Clone, Debug, Serialize)]
pub struct Sweep {
    pub groups: u32,
    pub loops: u32,
    /// The probe's samples (1 ms apart) in every run beside it: set by the
    /// experiment from Linux's measured time alone ([`limit_ms`]).
    pub probe_samples: u32,
    pub overhead: Overhead,
    pub points: Vec<Point>,
    /// None: not asked for, or the run did not get as far as running.
    pub timeline: Option<RunTimeline>,
    /// Which RTOS ran beside Linux: "the RTOS probe" or
    /// [`crate::toppers::NAME`].
    pub rtos: &'static str,
}

fn cmdline(p: &Params) -> String {
    let hackbench = format!("hackbench={},{}", p.groups, p.loops);
    if p.cmdline_extra.is_empty() { hackbench } else { format!("{} {hackbench}", p.cmdline_extra) }
}

/// How long (ms) Linux may take beside the RTOS: it takes `alone_s` alone;
/// at 100 % the RTOS may hold core 0 throughout, so ten times that and a
/// second. The probe takes a sample every ms for this long, so that it
/// outlasts Linux; the run may go 100 ms further for it to finish.
fn limit_ms(alone_s: f64) -> u32 {
    (alone_s * 10_000.0) as u32 + 1000
}

fn max_cycles(limit_ms: u32) -> u64 {
    (limit_ms as u64 + 100) * 600_000
}

fn linux_run(console: &str, result: &RunResult, g: usize) -> Result<LinuxRun, String> {
    let hackbench_s = hackbench_seconds(console).ok_or("hackbench printed no time")?;
    let exit = result.log.exit_cycles.get(g).copied().flatten().ok_or("Linux did not halt")?;
    Ok(LinuxRun {
        hackbench_s,
        halted_s: exit as f64 / 600e6,
        host_s: result.host.as_secs_f64(),
        departures: result.stats.iter().map(|s| s.departures_out).sum(),
        returns: result.stats.iter().map(|s| s.returns_out).sum(),
        samples: None,
        context_switches: context_switches(console),
    })
}

/// What a sampled run says of the hypervisor's share, for a report line.
fn hypervisor_note(r: &LinuxRun) -> String {
    r.samples.map_or(String::new(), |s| format!("; the hypervisor {:.2} % of the cores' busy time", s.hypervisor_pct()))
}

/// The context switches of a run, for a report line: hackbench's time
/// follows them (docs/linux-guest.md, "Why hackbench's time moves").
fn switches_note(r: &LinuxRun) -> String {
    r.context_switches.map_or(String::new(), |n| format!("; {n} context switches"))
}

/// A run of the overhead's, with where the cores' time went.
fn sampled_run(images: &LinuxImages, g: &LinuxGuest, max: u64) -> Result<LinuxRun, String> {
    let (desc, result, profile) = g.run_profiled(images, max)?;
    let (run, _) = figures(&desc, &result)?;
    Ok(LinuxRun { samples: Some(CoreSamples::of(&profile)), ..run })
}

/// One run of the pair.
struct Outcome {
    /// Linux's figures and the probe's latencies (us) while Linux ran, or
    /// why the run failed.
    figures: Result<(LinuxRun, Vec<f64>), String>,
    /// Its timeline when asked for, whether or not the run passed its
    /// checks (a failed run's timeline shows how it failed).
    timeline: Option<Timeline>,
}

fn guest_run(images: &LinuxImages, g: &LinuxGuest, max: u64, keep_events: bool) -> Outcome {
    let (desc, result) = match g.run_with(images, max, keep_events) {
        Ok(r) => r,
        Err(e) => return Outcome { figures: Err(e), timeline: None },
    };
    let timeline = keep_events.then(|| {
        let options = trace_export::Options { description: Some(&desc), max_events: Some(TIMELINE_MAX_EVENTS) };
        let mut t = trace_export::timeline_with(&result, options);
        t.set_info("linux_cmdline", g.cmdline.clone());
        t.set_info("rtos_util_percent", g.rtos_util);
        t.set_info("probe_samples", g.probe_samples);
        t
    });
    Outcome { figures: figures(&desc, &result), timeline }
}

fn figures(desc: &spumone_hosting::description::Description, result: &RunResult) -> Result<(LinuxRun, Vec<f64>), String> {
    let console = check(desc, result)?;
    let lg = linux_index(desc);
    let run = linux_run(&console, result, lg)?;
    // The probe's latencies while Linux ran (after its halt the probe is
    // alone on the machine).
    let until = result.log.exit_cycles[lg].unwrap_or(u64::MAX);
    let lat = result
        .log
        .samples
        .iter()
        .filter(|s| s.kind == 0 && s.guest != lg as u8 && s.cycle <= until)
        .map(|s| s.value as f64 / 600.0)
        .collect();
    Ok((run, lat))
}

/// A run's point of the sweep: its figures, or why it failed (the first
/// line of the reason; the whole console is not kept).
fn point(v: Variant, util: u32, figures: Result<(LinuxRun, Vec<f64>), String>) -> Point {
    match figures {
        Ok((run, lat)) => Point { variant: v.name, util, run: Some(run), failure: None, latency: latency(lat.clone()), latencies_us: lat },
        Err(e) => Point {
            variant: v.name,
            util,
            run: None,
            failure: Some(e.lines().next().unwrap_or_default().to_string()),
            latency: None,
            latencies_us: Vec::new(),
        },
    }
}

fn latency(mut v: Vec<f64>) -> Option<Latency> {
    if v.is_empty() {
        return None;
    }
    v.sort_by(f64::total_cmp);
    let p99 = v[((v.len() as f64 * 0.99).ceil() as usize).clamp(1, v.len()) - 1];
    Some(Latency { samples: v.len(), mean_us: v.iter().sum::<f64>() / v.len() as f64, p99_us: p99, max_us: v[v.len() - 1] })
}

/// Linux's overhead at `p`'s hackbench size: native, alone on the
/// hypervisor, and beside an RTOS that only takes its ticks (the probe
/// or `p.toppers`); and how many probe samples (1 ms apart) a run beside
/// the RTOS gets, from the time alone ([`limit_ms`]).
pub fn overhead(images: &LinuxImages, p: &Params, mut progress: impl FnMut(&str)) -> Result<(Overhead, u32), String> {
    let native = boot(images, &format!("maxcpus=4 {}", cmdline(p)), 600_000_000 * 60)?;
    let native_run = LinuxRun {
        hackbench_s: native.hackbench_seconds().ok_or("native hackbench printed no time")?,
        halted_s: native.cycles as f64 / 600e6,
        host_s: native.host.as_secs_f64(),
        departures: 0,
        returns: 0,
        samples: None,
        context_switches: context_switches(&native.console),
    };
    progress(&format!("native: hackbench {:.3} s", native_run.hackbench_s));
    let mut alone = LinuxGuest::new(Policy::None);
    alone.probe_samples = 0;
    alone.cmdline = cmdline(p);
    let guest_alone = sampled_run(images, &alone, max_cycles(limit_ms(native_run.halted_s)))?;
    progress(&format!("guest alone: hackbench {:.3} s", guest_alone.hackbench_s));
    let samples = limit_ms(guest_alone.halted_s);
    let mut idle = LinuxGuest::new(Policy::None);
    idle.probe_samples = samples;
    idle.toppers = p.toppers.clone();
    idle.cmdline = cmdline(p);
    let guest_beside_idle_rtos = sampled_run(images, &idle, max_cycles(samples))?;
    progress(&format!("guest beside an idle RTOS: hackbench {:.3} s", guest_beside_idle_rtos.hackbench_s));
    Ok((Overhead { native: native_run, guest_alone, guest_beside_idle_rtos }, samples))
}

/// Run the whole experiment; `progress` hears of each run as it ends.
pub fn run(images: &LinuxImages, p: &Params, mut progress: impl FnMut(&str) + Send) -> Result<Sweep, String> {
    let (overhead, samples) = self::overhead(images, p, &mut progress)?;
    let max = max_cycles(samples);
    // The sweep's runs are independent and each is deterministic: they run
    // in parallel (rayon; RAYON_NUM_THREADS caps it) and are put back in
    // order, so the results do not depend on how many ran at once.
    let timeline_of = p.variants.first().zip(p.utils.iter().max()).filter(|_| p.timeline);
    let jobs: Vec<(Variant, u32)> = p.variants.iter().flat_map(|v| p.utils.iter().map(|&u| (*v, u))).collect();
    let progress = std::sync::Mutex::new(progress);
    let outcomes: Vec<(Point, Option<Timeline>)> = jobs
        .par_iter()
        .map(|&(v, util)| {
            let mut g = LinuxGuest::new(v.policy);
            g.spin_yield = v.spin_yield;
            g.dispatch_first = v.dispatch_first;
            g.rtos_util = util;
            g.probe_samples = samples;
            g.toppers = p.toppers.clone();
            g.cmdline = cmdline(p);
            let keep_events = timeline_of.is_some_and(|(tv, &tu)| tv.name == v.name && tu == util);
            let outcome = guest_run(images, &g, max, keep_events);
            let point = point(v, util, outcome.figures);
            let said = match &point.run {
                Some(r) => format!("{} at {util} %: hackbench {:.3} s", v.name, r.hackbench_s),
                None => format!("{} at {util} %: FAILED ({})", v.name, point.failure.as_deref().unwrap_or("")),
            };
            (progress.lock().expect("progress"))(&said);
            (point, outcome.timeline)
        })
        .collect();
    let mut points = Vec::new();
    let mut timeline = None;
    for (point, t) in outcomes {
        if let Some(t) = t {
            timeline = Some(RunTimeline { variant: point.variant, util: point.util, events: t.len(), dropped: t.dropped(), timeline: t });
        }
        points.push(point);
    }
    let rtos = if p.toppers.is_some() { crate::toppers::NAME } else { "the RTOS probe" };
    Ok(Sweep { groups: p.groups, loops: p.loops, probe_samples: samples, overhead, points, timeline, rtos })
}

impl Sweep {
    /// The utilizations swept, in increasing order.
    pub fn utils(&self) -> Vec<u32> {
        let mut u: Vec<u32> = self.points.iter().map(|p| p.util).collect();
        u.sort();
        u.dedup();
        u
    }

    /// The variants swept, in the order they ran.
    pub fn variants(&self) -> Vec<&'static str> {
        let mut v: Vec<&'static str> = Vec::new();
        for p in &self.points {
            if !v.contains(&p.variant) {
                v.push(p.variant);
            }
        }
        v
    }

    /// The papers' ideal hackbench time at RTOS utilization `util` %: Linux
    /// alone on the hypervisor (measured), slowed only by the share of core
    /// 0 the RTOS takes, i.e. with 4 - U/100 cores' worth of its 4:
    /// alone x 4 / (4 - U/100).
    pub fn ideal_s(&self, util: u32) -> f64 {
        self.overhead.guest_alone.hackbench_s * 4.0 / (4.0 - util as f64 / 100.0)
    }

    /// The report: overhead, then hackbench time and the probe's latency
    /// per policy and utilization.
    pub fn table(&self) -> String {
        let o = &self.overhead;
        let mut t = format!(
            "Linux 6.1 (4 vCPUs) beside {} on the hypervisor's board image; hackbench={},{};\n\
             every figure measured in simulated time (600 MHz){}\n\n\
             overhead (hackbench's own time):\n\
             \x20 native Linux, 4 CPUs        {:.3} s{}\n\
             \x20 guest, no RTOS              {:.3} s  ({:+.1} %){}{}\n\
             \x20 guest beside an idle RTOS   {:.3} s  ({:+.1} %){}{}  (probe ticking every 1 ms, no burner)\n\n",
            self.rtos,
            self.groups,
            self.loops,
            if self.rtos == crate::toppers::NAME { "" } else { "; the RTOS is the probe, not TOPPERS/JSP" },
            o.native.hackbench_s,
            switches_note(&o.native),
            o.guest_alone.hackbench_s,
            o.alone_pct(),
            hypervisor_note(&o.guest_alone),
            switches_note(&o.guest_alone),
            o.guest_beside_idle_rtos.hackbench_s,
            o.beside_idle_pct(),
            hypervisor_note(&o.guest_beside_idle_rtos),
            switches_note(&o.guest_beside_idle_rtos)
        );
        let (utils, variants) = (self.utils(), self.variants());
        let cell = |v: &str, u: u32, f: &dyn Fn(&Point) -> Option<String>| {
            self.points.iter().find(|p| p.variant == v && p.util == u).and_then(f).unwrap_or_else(|| "FAILED".into())
        };
        // A table's heading: a column per utilization.
        let heading = |t: &mut String| {
            t.push_str("| policy |");
            for u in &utils {
                let _ = write!(t, " {u} % |");
            }
            t.push_str("\n|:--|");
            t.push_str(&"--:|".repeat(utils.len()));
            t.push('\n');
        };
        t += "hackbench time (s) against RTOS utilization; ideal = guest alone x 4 / (4 - U/100) (core 0's share lost)\n";
        heading(&mut t);
        for v in &variants {
            let _ = write!(t, "| {v} |");
            for &u in &utils {
                let _ = write!(t, " {} |", cell(v, u, &|p| p.run.as_ref().map(|r| format!("{:.3}", r.hackbench_s))));
            }
            t += "\n";
        }
        let _ = write!(t, "| ideal |");
        for &u in &utils {
            let _ = write!(t, " {:.3} |", self.ideal_s(u));
        }
        t += "\n\nRTOS dispatch latency while Linux ran (us): mean / p99 / max\n";
        heading(&mut t);
        for v in &variants {
            let _ = write!(t, "| {v} |");
            for &u in &utils {
                let s = cell(v, u, &|p| p.latency.as_ref().map(|l| format!("{:.1} / {:.1} / {:.1}", l.mean_us, l.p99_us, l.max_us)));
                let _ = write!(t, " {s} |");
            }
            t += "\n";
        }
        for p in self.points.iter().filter(|p| p.failure.is_some()) {
            let _ = writeln!(t, "{} at {} %: FAILED, not tabulated: {}", p.variant, p.util, p.failure.as_deref().unwrap_or(""));
        }
        t
    }

    /// What each file in the output directory holds (the end of
    /// `linux.txt`).
    pub fn files_note(&self) -> String {
        let top = self.utils().last().map_or("-".to_string(), |u| u.to_string());
        let mut t = String::from(
            "files:\n\
             \x20 linux.txt              these tables\n\
             \x20 linux.csv              a row per run (measured figures; failures with their reason)\n\
             \x20 linux.json             everything: the inputs, each run's measured figures, failures\n\
             \x20 linux_hackbench.svg    hackbench's time against RTOS utilization per policy, with native Linux and the ideal\n",
        );
        let _ = writeln!(t, "  linux_latency_cdf.svg  the probe's dispatch latency (CDF) per policy while Linux ran, at {top} %");
        if let Some(r) = &self.timeline {
            let dropped = if r.dropped > 0 { format!(", {} more dropped", r.dropped) } else { String::new() };
            let _ = writeln!(
                t,
                "  linux_timeline.json    {} at {} % as a Chrome trace ({} events{dropped}; ui.perfetto.dev or chrome://tracing)",
                r.variant, r.util, r.events
            );
        }
        t
    }

    /// hackbench's time against utilization per variant (failed runs left
    /// out and counted in the legend), with native Linux and the ideal.
    fn hackbench_chart(&self, path: &Path) -> Result<(), String> {
        let o = &self.overhead;
        let curves: Vec<(String, Vec<(f64, f64)>)> = self
            .variants()
            .into_iter()
            .map(|v| {
                let runs: Vec<&Point> = self.points.iter().filter(|p| p.variant == v).collect();
                let pts = runs.iter().filter_map(|p| p.run.as_ref().map(|r| (p.util as f64, r.hackbench_s))).collect();
                let failed = runs.iter().filter(|p| p.run.is_none()).count();
                let label = match failed {
                    0 => v.to_string(),
                    1 => format!("{v} (1 run FAILED, left out)"),
                    n => format!("{v} ({n} runs FAILED, left out)"),
                };
                (label, pts)
            })
            .collect();
        // The references over the chart's whole axis, 0-100 %, whatever
        // was swept (a sweep of one utilization would draw them as a dot).
        let ideal: Vec<(f64, f64)> = (0..=100).map(|u| (u as f64, self.ideal_s(u))).collect();
        let native = vec![(0.0, o.native.hackbench_s), (100.0, o.native.hackbench_s)];
        let refs = [
            (format!("ideal = guest alone ({:.3} s, measured) x 4 / (4 - U/100)", o.guest_alone.hackbench_s), ideal),
            (format!("native Linux, 4 CPUs ({:.3} s, measured)", o.native.hackbench_s), native),
        ];
        let title = format!(
            "hackbench {}x{} beside {}, Linux 6.1 on 4 vCPUs (measured; U is an input)",
            self.groups, self.loops, self.rtos
        );
        let c: Vec<(&str, &[(f64, f64)])> = curves.iter().map(|(n, p)| (n.as_str(), p.as_slice())).collect();
        let r: Vec<(&str, &[(f64, f64)])> = refs.iter().map(|(n, p)| (n.as_str(), p.as_slice())).collect();
        charts::time_vs_utilization(path, &title, "hackbench's own time (s, simulated)", &c, &r)
            .map_err(|e| format!("{}: {e}", path.display()))
    }

    /// The probe's dispatch latency while Linux ran, per variant, at the
    /// highest utilization (a failed run is named in the legend, with no
    /// samples).
    fn latency_chart(&self, path: &Path) -> Result<(), String> {
        let top = self.utils().last().copied();
        let at_top: Vec<&Point> = self.points.iter().filter(|p| Some(p.util) == top).collect();
        let labels: Vec<String> = at_top
            .iter()
            .map(|p| if p.run.is_some() { p.variant.to_string() } else { format!("{} (run FAILED)", p.variant) })
            .collect();
        let series: Vec<(&str, &[f64])> =
            labels.iter().zip(&at_top).map(|(l, p)| (l.as_str(), p.latencies_us.as_slice())).collect();
        let title = format!(
            "RTOS dispatch latency while Linux ran, RTOS util {} % (measured; hackbench {}x{})",
            top.map_or("-".to_string(), |u| u.to_string()),
            self.groups,
            self.loops
        );
        charts::latency_cdf(path, &title, &series).map_err(|e| format!("{}: {e}", path.display()))
    }

    /// `linux.csv` (one row per run), `linux.json` (everything),
    /// `linux.txt` (the tables and [`Sweep::files_note`]), the two charts
    /// and, when there is one, the timeline, in `dir`.
    pub fn write(&self, dir: &Path) -> Result<Vec<PathBuf>, String> {
        std::fs::create_dir_all(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
        let mut csv = String::from(
            "variant,util_percent,hackbench_s,halted_s,departures,returns,latency_samples,latency_mean_us,latency_p99_us,latency_max_us,failure\n",
        );
        let o = &self.overhead;
        for (name, r) in [("native", &o.native), ("guest-alone", &o.guest_alone), ("guest-beside-idle-rtos", &o.guest_beside_idle_rtos)] {
            let _ = writeln!(csv, "{name},,{:.6},{:.6},{},{},,,,,", r.hackbench_s, r.halted_s, r.departures, r.returns);
        }
        for p in &self.points {
            let run = p.run.as_ref().map_or(",,,".to_string(), |r| {
                format!("{:.6},{:.6},{},{}", r.hackbench_s, r.halted_s, r.departures, r.returns)
            });
            let l = p.latency.as_ref().map_or(",,,".to_string(), |l| format!("{},{:.3},{:.3},{:.3}", l.samples, l.mean_us, l.p99_us, l.max_us));
            let f = p.failure.as_deref().unwrap_or("").replace(',', ";");
            let _ = writeln!(csv, "{},{},{run},{l},{f}", p.variant, p.util);
        }
        let files = [
            (dir.join("linux.csv"), csv),
            (dir.join("linux.json"), serde_json::to_string_pretty(self).map_err(|e| e.to_string())?),
            (dir.join("linux.txt"), format!("{}\n{}", self.table(), self.files_note())),
        ];
        for (path, text) in &files {
            std::fs::write(path, text).map_err(|e| format!("{}: {e}", path.display()))?;
        }
        let mut written: Vec<PathBuf> = files.into_iter().map(|(p, _)| p).collect();
        let hackbench = dir.join("linux_hackbench.svg");
        self.hackbench_chart(&hackbench)?;
        let cdf = dir.join("linux_latency_cdf.svg");
        self.latency_chart(&cdf)?;
        written.extend([hackbench, cdf]);
        if let Some(r) = &self.timeline {
            let path = dir.join("linux_timeline.json");
            r.timeline.write(&path).map_err(|e| format!("{}: {e}", path.display()))?;
            written.push(path);
        }
        Ok(written)
    }
}
