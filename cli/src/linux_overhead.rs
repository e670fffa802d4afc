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
//! Owns: the sweep over sizes, its sums, table and files. Must not touch:
//! how one size is measured (`crate::linux_experiment`).

use crate::linux::LinuxImages;
use crate::linux_experiment::{overhead, LinuxRun, Overhead, Params};
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
            let logs: Vec<f64> = sizes.iter().map(|s| (f(&s.overhead).hackbench_s / s.overhead.native.hackbench_s).ln()).collect();
            let n = logs.len() as f64;
            let mean = logs.iter().sum::<f64>() / n;
            let se = (logs.len() > 1).then(|| {
                let var = logs.iter().map(|l| (l - mean) * (l - mean)).sum::<f64>() / (n - 1.0);
                (var / n).sqrt() * 100.0
            });
            ((mean.exp() - 1.0) * 100.0, se)
        };
        let (alone_pct, alone_se_pct) = stat(|o| &o.guest_alone);
        let (beside_idle_pct, beside_idle_se_pct) = stat(|o| &o.guest_beside_idle_rtos);
        Paired { pairs: sizes.len(), alone_pct, alone_se_pct, beside_idle_pct, beside_idle_se_pct }
    }
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

#[derive(Clone, Debug, Serialize)]
pub struct OverheadSweep {
    pub groups: u32,
    /// Which RTOS ran beside Linux: "the RTOS probe" or
    /// [`crate::toppers::NAME`].
    pub rtos: &'static str,
    pub sizes: Vec<Size>,
    pub sums: Sums,
    pub paired: Paired,
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
    Ok(OverheadSweep { groups, rtos, sums: Sums::of(&sizes), paired: Paired::of(&sizes), sizes })
}

impl OverheadSweep {
    /// The table: hackbench's time per size and way of running, the sums,
    /// and the overheads.
    pub fn table(&self) -> String {
        let variants = self.sizes.iter().any(|s| !s.cmdline_extra.is_empty());
        let mut t = format!(
            "Linux 6.1 overhead on the hypervisor's board image: hackbench=G,L with G = {} at {} sizes L; the third run beside {}\n\
             hackbench's own time (s), every figure measured in simulated time (600 MHz)\n\n\
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
        t
    }

    /// `overhead.csv` (a row per run), `overhead.json` (everything) and
    /// `overhead.txt` (the table), in `dir`.
    pub fn write(&self, dir: &Path) -> Result<Vec<PathBuf>, String> {
        std::fs::create_dir_all(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
        let mut csv = String::from("loops,run,hackbench_s,halted_s,kernel_parameters\n");
        for s in &self.sizes {
            let o = &s.overhead;
            for (name, r) in [("native", &o.native), ("guest-alone", &o.guest_alone), ("guest-beside-idle-rtos", &o.guest_beside_idle_rtos)] {
                let _ = writeln!(csv, "{},{name},{:.6},{:.6},{}", s.loops, r.hackbench_s, r.halted_s, s.cmdline_extra);
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
        LinuxRun { hackbench_s, halted_s: hackbench_s + 0.1, host_s: 1.0, departures: 0, returns: 0 }
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
        let sweep = OverheadSweep { groups: 4, rtos: "the RTOS probe", sums: s, paired: Paired::of(&sizes), sizes: sizes.to_vec() };
        let t = sweep.table();
        assert!(t.contains("| 80 | 0.200 | 0.300 (+50.0 %) | 0.250 (+25.0 %) |"), "{t}");
        assert!(t.contains("| 90 | 1.000 | 0.900 (-10.0 %) | 1.000 (+0.0 %) |"), "{t}");
        assert!(t.contains("| all | 1.200 | 1.200 (+0.0 %) | 1.250 (+4.2 %) |"), "{t}");
        assert!(t.contains("overhead of the sums: +0.0 % alone, +4.2 % beside the idle RTOS"), "{t}");
        assert!(t.starts_with("Linux 6.1 overhead on the hypervisor's board image: hackbench=G,L with G = 4 at 2 sizes L;"), "{t}");
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
        let sweep = OverheadSweep { groups: 4, rtos: "the RTOS probe", sums: Sums::of(&rows), paired: Paired::of(&rows), sizes: rows };
        let t = sweep.table();
        assert!(t.contains("| 80 |  | 0.200 | 0.300 (+50.0 %) | 0.200 (+0.0 %) |"), "{t}");
        assert!(t.contains("| 90 | maxcpus=4 | 1.000 | 0.900 (-10.0 %) | 1.000 (+0.0 %) |"), "{t}");
        assert!(t.contains("paired over the 2 runs (geometric mean of guest / native ± its standard error): +16.2 % ± 25.5 % alone, +0.0 % ± 0.0 % beside the idle RTOS"), "{t}");
    }
}
