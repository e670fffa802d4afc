//! The papers' full-system experiments with Linux as the general-purpose
//! guest (`rp1 lhp linux`): Linux's overhead on the hypervisor against
//! native Linux on the same simulated machine, and, for every policy at
//! every RTOS utilization, hackbench's time beside the RTOS and the RTOS's
//! dispatch latency while Linux runs.
//!
//! The RTOS is our probe (tests/hvguests): TOPPERS/JSP as the RTOS guest
//! is not built yet (docs/linux-guest.md). Every figure is measured on the
//! board image; the run checks Linux's four vCPUs came online and
//! hackbench exited 0, and a run that fails is reported, not tabulated.
//!
//! Owns: the sweep, its checks, tables and files. Must not touch: the
//! guest's description ([`crate::linux_guest`]) or the native boot
//! ([`crate::linux`]).

use crate::linux::{boot, LinuxImages};
use crate::linux_guest::{check, hackbench_seconds, linux_index, LinuxGuest};
use serde::Serialize;
use spumone_hosting::description::Policy;
use spumone_hosting::runner::RunResult;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

/// One way of running the pair.
#[derive(Clone, Copy, Debug, Serialize)]
pub struct Variant {
    pub name: &'static str,
    #[serde(skip)]
    pub policy: Policy,
    pub spin_yield: bool,
}

/// The papers' four policies and on-demand with spin-yield.
pub fn variants() -> Vec<Variant> {
    vec![
        Variant { name: "none", policy: Policy::None, spin_yield: false },
        Variant { name: "delayed-preemption", policy: Policy::DelayedPreemption, spin_yield: false },
        Variant { name: "trap-migration", policy: Policy::TrapMigration, spin_yield: false },
        Variant { name: "on-demand-migration", policy: Policy::OnDemandMigration, spin_yield: false },
        Variant { name: "on-demand+spin-yield", policy: Policy::OnDemandMigration, spin_yield: true },
    ]
}

#[derive(Clone, Debug)]
pub struct Params {
    pub groups: u32,
    pub loops: u32,
    pub utils: Vec<u32>,
    pub variants: Vec<Variant>,
}

/// hackbench's own time and when Linux halted, for one run.
#[derive(Clone, Debug, Serialize)]
pub struct LinuxRun {
    /// hackbench's "Time:" (the guest's clock: TIME_NOW; natively the TMU).
    pub hackbench_s: f64,
    /// Simulated seconds from reset to Linux's halt.
    pub halted_s: f64,
    pub host_s: f64,
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
}

#[derive(Clone, Debug, Serialize)]
pub struct Latency {
    pub samples: usize,
    pub mean_us: f64,
    pub p99_us: f64,
    pub max_us: f64,
}

#[derive(Clone, Debug, Serialize)]
pub struct Sweep {
    pub groups: u32,
    pub loops: u32,
    pub overhead: Overhead,
    pub points: Vec<Point>,
}

fn cmdline(p: &Params) -> String {
    format!("hackbench={},{}", p.groups, p.loops)
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
    Ok(LinuxRun { hackbench_s, halted_s: exit as f64 / 600e6, host_s: result.host.as_secs_f64() })
}

fn guest_run(images: &LinuxImages, g: &LinuxGuest, max: u64) -> Result<(LinuxRun, Vec<f64>), String> {
    let (desc, result) = g.run(images, max)?;
    let console = check(&desc, &result)?;
    let lg = linux_index(&desc);
    let run = linux_run(&console, &result, lg)?;
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

fn latency(mut v: Vec<f64>) -> Option<Latency> {
    if v.is_empty() {
        return None;
    }
    v.sort_by(f64::total_cmp);
    let p99 = v[((v.len() as f64 * 0.99).ceil() as usize).clamp(1, v.len()) - 1];
    Some(Latency { samples: v.len(), mean_us: v.iter().sum::<f64>() / v.len() as f64, p99_us: p99, max_us: v[v.len() - 1] })
}

/// Run the whole experiment; `progress` hears of each run as it ends.
pub fn run(images: &LinuxImages, p: &Params, mut progress: impl FnMut(&str)) -> Result<Sweep, String> {
    let native = boot(images, &format!("maxcpus=4 {}", cmdline(p)), 600_000_000 * 60)?;
    let native_run = LinuxRun {
        hackbench_s: native.hackbench_seconds().ok_or("native hackbench printed no time")?,
        halted_s: native.cycles as f64 / 600e6,
        host_s: native.host.as_secs_f64(),
    };
    progress(&format!("native: hackbench {:.3} s", native_run.hackbench_s));
    let mut alone = LinuxGuest::new(Policy::None);
    alone.probe_samples = 0;
    alone.cmdline = cmdline(p);
    let (guest_alone, _) = guest_run(images, &alone, max_cycles(limit_ms(native_run.halted_s)))?;
    progress(&format!("guest alone: hackbench {:.3} s", guest_alone.hackbench_s));
    let samples = limit_ms(guest_alone.halted_s);
    let max = max_cycles(samples);
    let mut idle = LinuxGuest::new(Policy::None);
    idle.probe_samples = samples;
    idle.cmdline = cmdline(p);
    let (guest_beside_idle_rtos, _) = guest_run(images, &idle, max)?;
    progress(&format!("guest beside an idle RTOS: hackbench {:.3} s", guest_beside_idle_rtos.hackbench_s));
    let overhead = Overhead { native: native_run, guest_alone, guest_beside_idle_rtos };
    let mut points = Vec::new();
    for v in &p.variants {
        for &util in &p.utils {
            let mut g = LinuxGuest::new(v.policy);
            g.spin_yield = v.spin_yield;
            g.rtos_util = util;
            g.probe_samples = samples;
            g.cmdline = cmdline(p);
            let point = match guest_run(images, &g, max) {
                Ok((run, lat)) => Point { variant: v.name, util, run: Some(run), failure: None, latency: latency(lat) },
                Err(e) => Point {
                    variant: v.name,
                    util,
                    run: None,
                    failure: Some(e.lines().next().unwrap_or_default().to_string()),
                    latency: None,
                },
            };
            progress(&match &point.run {
                Some(r) => format!("{} at {util} %: hackbench {:.3} s", v.name, r.hackbench_s),
                None => format!("{} at {util} %: FAILED ({})", v.name, point.failure.as_deref().unwrap_or("")),
            });
            points.push(point);
        }
    }
    Ok(Sweep { groups: p.groups, loops: p.loops, overhead, points })
}

impl Sweep {
    /// The report: overhead, then hackbench time and the probe's latency
    /// per policy and utilization.
    pub fn table(&self) -> String {
        let o = &self.overhead;
        let mut t = format!(
            "Linux 6.1 (4 vCPUs) beside the RTOS probe on the hypervisor's board image; hackbench={},{};\n\
             every figure measured in simulated time (600 MHz); the RTOS is the probe, not TOPPERS/JSP\n\n\
             overhead (hackbench's own time):\n\
             \x20 native Linux, 4 CPUs        {:.3} s\n\
             \x20 guest, no RTOS              {:.3} s  ({:+.1} %)\n\
             \x20 guest beside an idle RTOS   {:.3} s  ({:+.1} %)  (probe ticking every 1 ms, no burner)\n\n",
            self.groups,
            self.loops,
            o.native.hackbench_s,
            o.guest_alone.hackbench_s,
            o.alone_pct(),
            o.guest_beside_idle_rtos.hackbench_s,
            o.beside_idle_pct()
        );
        let utils: Vec<u32> = {
            let mut u: Vec<u32> = self.points.iter().map(|p| p.util).collect();
            u.sort();
            u.dedup();
            u
        };
        let variants: Vec<&str> = {
            let mut v: Vec<&str> = Vec::new();
            for p in &self.points {
                if !v.contains(&p.variant) {
                    v.push(p.variant);
                }
            }
            v
        };
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
        t += "hackbench time (s) against RTOS utilization; ideal = guest alone / (1 - U/4) (core 0's share lost)\n";
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
            let ideal = o.guest_alone.hackbench_s / (1.0 - u as f64 / 400.0);
            let _ = write!(t, " {ideal:.3} |");
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

    /// `linux.csv` (one row per run), `linux.json` (everything) and
    /// `linux.txt` (the table) in `dir`.
    pub fn write(&self, dir: &Path) -> Result<Vec<PathBuf>, String> {
        std::fs::create_dir_all(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
        let mut csv = String::from("variant,util_percent,hackbench_s,halted_s,latency_samples,latency_mean_us,latency_p99_us,latency_max_us,failure\n");
        let o = &self.overhead;
        for (name, r) in [("native", &o.native), ("guest-alone", &o.guest_alone), ("guest-beside-idle-rtos", &o.guest_beside_idle_rtos)] {
            let _ = writeln!(csv, "{name},,{:.6},{:.6},,,,,", r.hackbench_s, r.halted_s);
        }
        for p in &self.points {
            let (h, s) = p.run.as_ref().map_or((String::new(), String::new()), |r| (format!("{:.6}", r.hackbench_s), format!("{:.6}", r.halted_s)));
            let l = p.latency.as_ref().map_or(",,,".to_string(), |l| format!("{},{:.3},{:.3},{:.3}", l.samples, l.mean_us, l.p99_us, l.max_us));
            let f = p.failure.as_deref().unwrap_or("").replace(',', ";");
            let _ = writeln!(csv, "{},{},{h},{s},{l},{f}", p.variant, p.util);
        }
        let files = [
            (dir.join("linux.csv"), csv),
            (dir.join("linux.json"), serde_json::to_string_pretty(self).map_err(|e| e.to_string())?),
            (dir.join("linux.txt"), self.table()),
        ];
        for (path, text) in &files {
            std::fs::write(path, text).map_err(|e| format!("{}: {e}", path.display()))?;
        }
        Ok(files.into_iter().map(|(p, _)| p).collect())
    }
}
