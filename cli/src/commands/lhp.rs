//! `rp1 lhp`: the lock-holder-preemption experiments on the hypervisor's
//! board image (or, with `--hosted`, the hosted model; docs/experiments.md).
//!
//! Owns: the command line only: parsing arguments, the progress bar, and
//! printing what `rp1::experiments` and `rp1::sweep` return (tables, the
//! cost table, the command that reproduces a result, where files went,
//! the job list and what each job did). The experiments themselves, their
//! statistics and output files live in cli/src/experiments.rs; sweeps as
//! jobs, job lines and per-scenario result files in cli/src/sweep.rs;
//! scenarios in cli/src/lhp.rs. Must not touch: any of those, the guests,
//! the hypervisor or the simulator.
//!
//! Subcommands: `latency`, `throughput`, `migration`, `demo`, `all` (the
//! first three with their defaults), `run` (one scenario, its report),
//! `linux` (Linux as the GPOS: cli/src/linux_experiment.rs), `overhead`
//! (Linux's overhead over several hackbench sizes:
//! cli/src/linux_overhead.rs), and `merge`
//! (the per-scenario results of a job list, into a sweep's outputs).
//! `latency`, `throughput`, `migration` and `all` run their scenarios in
//! parallel on the host's cores; with `--jobs-out FILE` they write a job
//! list instead, and with `--job K --job-result FILE` run its line K.
//! Exit status: 0 ok, 1 a run failed (a guest exited non-zero or a run hit
//! its cycle limit; the message names the scenario) or an output file
//! could not be written, 2 bad arguments, bad or missing per-scenario
//! results (`merge`) or a standard stream that cannot be written, 141 a
//! closed pipe (commands/output.rs).

use clap::{ArgAction, Subcommand};
use indicatif::{ProgressBar, ProgressStyle};
use spumone_hosting::description::Policy;
use spumone_hosting::runner::Mode;
use rp1::experiments::{
    self, check_run, cycle_limit, run_command, DemoParams, ExperimentError, LatencyParams, LatencyResult,
    MigrationParams, MigrationResult, Observer, ThroughputParams, ThroughputResult, THROUGHPUT_BURN_WINDOW_MS,
};
use rp1::lhp::Scenario;
use rp1::sweep::{Experiment, ExperimentResult, Sweep};
use super::output::{errln, finish, out, outln, StreamError};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Duration;

#[derive(clap::Args)]
pub struct Args {
    /// Run the hosted model of the hypervisor (host Rust, costs charged
    /// from the cost table) instead of its board image (SH-4A code in each
    /// core's URAM, costs measured).
    #[arg(long, global = true)]
    hosted: bool,
    #[command(subcommand)]
    command: Command,
}

#[derive(clap::Args, Clone)]
struct ScenarioArgs {
    /// none, delayed-preemption, trap-migration, on-demand-migration.
    #[arg(long, default_value = "on-demand-migration")]
    policy: String,
    /// RTOS periodic samples (1 ms each); 0 runs the GPOS alone.
    #[arg(long, default_value_t = 200)]
    samples: u32,
    /// RTOS CPU-burner utilization in percent of its window.
    #[arg(long, default_value_t = 0)]
    util: u32,
    /// The RTOS CPU burner's window in milliseconds (the papers' 500).
    #[arg(long, default_value_t = 500)]
    burn_window_ms: u32,
    /// GPOS vCPUs (one per core from core 0).
    #[arg(long, default_value_t = 4)]
    vcpus: u32,
    /// GPOS run time in simulated milliseconds.
    #[arg(long, default_value_t = 200)]
    gpos_ms: u32,
    /// GPOS kernel work under its own lock per unit.
    #[arg(long, default_value_t = 400)]
    cs: u32,
    #[arg(long)]
    spin_yield: bool,
    #[arg(long)]
    no_ipl_separation: bool,
    #[arg(long)]
    dispatch_first: bool,
    /// Bounded delayed preemption: migrate after this many microseconds.
    #[arg(long)]
    delay_bound_us: Option<u32>,
    /// Release the RTOS's periodic task from TMU4, a physical device it
    /// owns, instead of its virtual timer.
    #[arg(long)]
    rtos_tmu4: bool,
    /// GPOS vCPU 0 owns TMU5 and runs it at this period (even, in us),
    /// counting its interrupts wherever it runs.
    #[arg(long)]
    gpos_tmu5_us: Option<u32>,
    /// Print the scenario's machine description (TOML, for `rp1 hv`)
    /// instead of running it (`run` only).
    #[arg(long)]
    print_description: bool,
}

impl ScenarioArgs {
    fn scenario(&self) -> Result<Scenario, String> {
        let policy = Policy::from_name(&self.policy).ok_or_else(|| format!("unknown policy `{}`", self.policy))?;
        if self.util > 100 {
            return Err(format!("--util {} is above 100", self.util));
        }
        if !(1..=4).contains(&self.vcpus) {
            return Err(format!("--vcpus {} is not 1-4", self.vcpus));
        }
        if self.gpos_ms == 0 {
            return Err("--gpos-ms must be at least 1".into());
        }
        check_window(self.burn_window_ms)?;
        if let Some(us) = self.gpos_tmu5_us {
            if us == 0 || us % 2 != 0 || us > 1_000_000 {
                return Err(format!("--gpos-tmu5-us {us} is not an even number of microseconds up to 1000000"));
            }
        }
        let mut s = Scenario::new(policy);
        s.samples = self.samples;
        s.rtos_util = self.util;
        s.burn_window_ms = self.burn_window_ms;
        s.gpos_vcpus = self.vcpus;
        s.gpos_ms = self.gpos_ms;
        s.cs_iterations = self.cs;
        s.spin_yield = self.spin_yield;
        s.ipl_separation = !self.no_ipl_separation;
        s.dispatch_first = self.dispatch_first;
        s.delay_bound_us = self.delay_bound_us;
        s.rtos_on_tmu4 = self.rtos_tmu4;
        s.gpos_tmu5_period_us = self.gpos_tmu5_us.unwrap_or(0);
        Ok(s)
    }
}

/// A sweep as a job list (docs/experiments.md, "Sweeps on many cores and
/// many machines").
#[derive(clap::Args, Clone)]
struct JobArgs {
    /// Write the sweep as a job list to FILE instead of running it: one
    /// `rp1 lhp` command line per scenario, each writing its result to a
    /// file of its own; run the lines anywhere in any order (GNU parallel,
    /// a Slurm job array), then `rp1 lhp merge`.
    #[arg(long, value_name = "FILE", conflicts_with = "job")]
    jobs_out: Option<PathBuf>,
    /// Where the job lines write their results [default: OUT/jobs, OUT
    /// being --out's directory].
    #[arg(long, value_name = "DIR", requires = "jobs_out")]
    results_dir: Option<PathBuf>,
    /// Run job K (from 1: line K of the job list) of the sweep only, and
    /// write its result to --job-result.
    #[arg(long, value_name = "K", requires = "job_result")]
    job: Option<usize>,
    /// The file job K writes its result to (JSON).
    #[arg(long, value_name = "FILE", requires = "job")]
    job_result: Option<PathBuf>,
}

#[derive(Subcommand)]
enum Command {
    /// Run one scenario and print its report.
    Run(ScenarioArgs),
    /// RTOS dispatch latency per policy with the GPOS load running.
    Latency {
        /// Periodic samples (1 ms each) per policy.
        #[arg(long, default_value_t = 2000)]
        samples: u32,
        /// RTOS CPU-burner utilization (percent of its 500 ms window).
        #[arg(long, default_value_t = 0)]
        util: u32,
        /// Output directory [default: target/lhp/latency].
        #[arg(long)]
        out: Option<PathBuf>,
        #[command(flatten)]
        jobs: JobArgs,
    },
    /// GPOS throughput against RTOS utilization per policy.
    Throughput {
        /// RTOS utilizations in percent, comma-separated.
        #[arg(long, value_delimiter = ',', default_value = "0,10,20,30,40,50,60,70,80,90,100")]
        utils: Vec<u32>,
        /// GPOS run time in simulated milliseconds.
        #[arg(long, default_value_t = 1000)]
        ms: u32,
        /// Spin-yield (SPIN_YIELD hypercalls yield the vCPU).
        #[arg(long, action = ArgAction::Set, default_value_t = true)]
        spin_yield: bool,
        /// The RTOS CPU burner's window in milliseconds (the papers' is 500:
        /// docs/experiments.md says why the sweep's default is shorter).
        #[arg(long, default_value_t = THROUGHPUT_BURN_WINDOW_MS)]
        burn_window_ms: u32,
        /// Output directory [default: target/lhp/throughput].
        #[arg(long)]
        out: Option<PathBuf>,
        #[command(flatten)]
        jobs: JobArgs,
    },
    /// vCPU migration cost, source and destination halves.
    Migration {
        /// Simulated milliseconds (one departure and one return per ms).
        #[arg(long, default_value_t = 200)]
        ms: u32,
        /// Output directory [default: target/lhp/migration].
        #[arg(long)]
        out: Option<PathBuf>,
        #[command(flatten)]
        jobs: JobArgs,
    },
    /// The RTOS probe and the SMP load side by side under on-demand
    /// migration with dispatch-first: a short report, a timeline, a chart.
    Demo {
        #[arg(long, default_value_t = 1000)]
        samples: u32,
        #[arg(long, default_value_t = 30)]
        util: u32,
        /// Output directory [default: target/lhp/demo].
        #[arg(long)]
        out: Option<PathBuf>,
    },
    /// Linux 6.1 (4 vCPUs) as the GPOS beside the RTOS probe: its
    /// overhead against native Linux, and hackbench's time and the RTOS's
    /// latency per policy and RTOS utilization (docs/linux-guest.md).
    Linux {
        /// RTOS utilizations in percent, comma-separated.
        #[arg(long, value_delimiter = ',', default_value = "0,10,20,30,40,50,60,70,80,90,100")]
        utils: Vec<u32>,
        /// hackbench groups (hackbench=G,L on Linux's command line).
        #[arg(long, default_value_t = 4)]
        groups: u32,
        /// Messages each hackbench sender passes to each receiver.
        #[arg(long, default_value_t = 100)]
        loops: u32,
        /// Policies to sweep, comma-separated [default: all six]. The
        /// timeline is of the first at the highest utilization.
        #[arg(long, value_delimiter = ',')]
        policies: Vec<String>,
        /// Write no timeline (linux_timeline.json): its run then keeps no
        /// events either.
        #[arg(long)]
        no_timeline: bool,
        /// The RTOS beside Linux: our probe, or TOPPERS/JSP 1.4.4.1
        /// (built from the tree in TOPPERS_JSP_SRC; docs/toppers-guest.md).
        #[arg(long, value_enum, default_value_t = Rtos::Probe)]
        rtos: Rtos,
        /// Output directory [default: target/lhp/linux].
        #[arg(long)]
        out: Option<PathBuf>,
    },
    /// Linux's overhead on the hypervisor against native Linux over
    /// several hackbench sizes, and the overhead of the sums: one run
    /// moves by tens of percent with the interleaving, a sum over sizes
    /// much less (docs/linux-guest.md, "Measured").
    Overhead {
        /// hackbench groups (hackbench=G,L on Linux's command line).
        #[arg(long, default_value_t = 4)]
        groups: u32,
        /// The sizes: messages each hackbench sender passes to each
        /// receiver, comma-separated.
        #[arg(long, value_delimiter = ',', default_value = "80,90,100,110,120")]
        loops: Vec<u32>,
        /// Run every size once more under each of these kernel command
        /// lines (parameters put before hackbench=G,L, native and guest
        /// alike; separated by ';', e.g. "maxcpus=4;rp1ab=1"): each is a
        /// new interleaving of the same work, so the table's paired figure
        /// (geometric mean of guest / native over all the runs, with its
        /// standard error) gets more pairs. The plain command line always
        /// runs.
        #[arg(long, value_delimiter = ';')]
        cmdline_variants: Vec<String>,
        /// The RTOS beside Linux in the third run of each size.
        #[arg(long, value_enum, default_value_t = Rtos::Probe)]
        rtos: Rtos,
        /// Output directory [default: target/lhp/overhead].
        #[arg(long)]
        out: Option<PathBuf>,
    },
    /// Two `rp1 lhp overhead` runs (of two images, say) paired run by run:
    /// how much the second's hackbench times differ from the first's, per
    /// way of running, as the geometric mean of the ratios with its
    /// standard error (docs/linux-guest.md, "Paired runs").
    Compare {
        /// The first run's overhead.csv.
        before: PathBuf,
        /// The second run's overhead.csv.
        after: PathBuf,
    },
    /// latency, throughput and migration with their defaults.
    All {
        /// Output directory; each experiment writes to its own
        /// subdirectory [default: target/lhp].
        #[arg(long)]
        out: Option<PathBuf>,
        #[command(flatten)]
        jobs: JobArgs,
    },
    /// Merge the per-scenario results of a job list (`--jobs-out`) into
    /// the sweep's tables and files, the same bytes an in-process run of
    /// the sweep writes.
    Merge {
        /// The directory the job lines wrote their results to.
        dir: PathBuf,
        /// Output directory [default: the sweep's, as without --jobs-out].
        #[arg(long)]
        out: Option<PathBuf>,
    },
}

/// The RTOS `rp1 lhp linux` and `rp1 lhp overhead` run beside Linux.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
enum Rtos {
    /// tests/hvguests/rtos_probe.c (everywhere, CI included).
    Probe,
    /// TOPPERS/JSP 1.4.4.1 with our application (tests/toppers/).
    Toppers,
}

impl Rtos {
    /// TOPPERS/JSP's image for `Toppers` (built from `TOPPERS_JSP_SRC`; a
    /// missing tree is a bad argument), nothing for the probe.
    fn toppers_image(self) -> Result<Option<PathBuf>, Failure> {
        match self {
            Rtos::Probe => Ok(None),
            Rtos::Toppers => rp1::toppers::image().map(Some).map_err(Failure::BadArguments),
        }
    }
}

/// How a subcommand ended badly.
enum Failure {
    /// Exit 2.
    BadArguments(String),
    /// Exit 1.
    Run(String),
    /// A standard stream cannot be written (exit 141 or 2, as every
    /// subcommand: commands/output.rs).
    Output(StreamError),
}

impl From<StreamError> for Failure {
    fn from(e: StreamError) -> Failure {
        Failure::Output(e)
    }
}

impl From<ExperimentError> for Failure {
    fn from(e: ExperimentError) -> Failure {
        Failure::Run(e.to_string())
    }
}

/// The probe accepts burner windows of 1-7000 ms (docs/guests.md).
fn check_window(ms: u32) -> Result<(), String> {
    if (1..=7000).contains(&ms) {
        Ok(())
    } else {
        Err(format!("--burn-window-ms {ms} is not 1-7000"))
    }
}

/// Runs `rp1 lhp`: 0 ok, 1 a run failed, 2 bad arguments.
pub fn main(args: Args) -> ExitCode {
    rp1::lhp::set_hosted_default(args.hosted);
    let hosted = args.hosted;
    let result = match args.command {
        Command::Run(args) => run_one(&args),
        Command::Latency { samples, util, out, jobs } => check_latency(&LatencyParams { samples, util })
            .and_then(|p| sweep(&Sweep::One(Experiment::Latency(p)), hosted, out, &jobs)),
        Command::Throughput { utils, ms, spin_yield, burn_window_ms, out, jobs } => {
            check_throughput(ThroughputParams { utils, ms, spin_yield, burn_window_ms })
                .and_then(|p| sweep(&Sweep::One(Experiment::Throughput(p)), hosted, out, &jobs))
        }
        Command::Migration { ms, out, jobs } => check_positive("--ms", ms)
            .and_then(|()| sweep(&Sweep::One(Experiment::Migration(MigrationParams { ms })), hosted, out, &jobs)),
        Command::Demo { samples, util, out } => demo(&DemoParams { samples, util }, &out_dir(out, "demo")),
        Command::Linux { utils, groups, loops, policies, no_timeline, rtos, out } => {
            rtos.toppers_image().and_then(|toppers| {
                let timeline = !no_timeline;
                let params = rp1::linux_experiment::Params {
                    groups,
                    loops,
                    cmdline_extra: String::new(),
                    utils,
                    variants: Vec::new(),
                    timeline,
                    toppers,
                };
                linux(params, &policies, &out_dir(out, "linux"))
            })
        }
        Command::Overhead { groups, loops, cmdline_variants, rtos, out } => rtos
            .toppers_image()
            .and_then(|toppers| overhead(groups, &loops, &cmdline_variants, toppers, &out_dir(out, "overhead"))),
        Command::Compare { before, after } => compare(&before, &after),
        Command::All { out, jobs } => sweep(&Sweep::All, hosted, out, &jobs),
        Command::Merge { dir, out } => merge(&dir, out, hosted),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(Failure::BadArguments(e)) => finish("rp1 lhp", Err(e.into())),
        Err(Failure::Run(e)) => match errln!("rp1 lhp: {e}") {
            Ok(()) => ExitCode::from(1),
            Err(e) => e.report("rp1 lhp"),
        },
        Err(Failure::Output(e)) => e.report("rp1 lhp"),
    }
}

/// `rp1 lhp compare`: the paired comparison of two overhead CSVs.
fn compare(before: &Path, after: &Path) -> Result<(), Failure> {
    let read = |p: &Path| std::fs::read_to_string(p).map_err(|e| Failure::Run(format!("{}: {e}", p.display())));
    let (a, b) = (read(before)?, read(after)?);
    let (na, nb) = (before.display().to_string(), after.display().to_string());
    let text = rp1::linux_overhead::compare((&na, &a), (&nb, &b)).map_err(Failure::Run)?;
    outln!("{}", text.trim_end())?;
    Ok(())
}

/// `rp1 lhp linux`: `params` as given, its variants from `policies`.
fn linux(mut params: rp1::linux_experiment::Params, policies: &[String], out: &Path) -> Result<(), Failure> {
    use rp1::linux_experiment::{run, variants};
    if params.utils.is_empty() {
        return Err(bad("--utils is empty".into()));
    }
    for &u in &params.utils {
        check_util("--utils", u)?;
    }
    check_positive("--groups", params.groups)?;
    check_positive("--loops", params.loops)?;
    let all = variants();
    let chosen = if policies.is_empty() {
        all.clone()
    } else {
        let mut v = Vec::new();
        for p in policies {
            let found = all.iter().find(|x| x.name == p.as_str()).ok_or_else(|| {
                let names: Vec<&str> = all.iter().map(|x| x.name).collect();
                bad(format!("--policies: no policy {p:?} (one of {})", names.join(", ")))
            })?;
            v.push(*found);
        }
        v
    };
    params.variants = chosen;
    let sweep = with_linux_runs("linux", out, |images, progress| run(images, &params, progress))?;
    out!("{}", sweep.table())?;
    let files = sweep.write(out).map_err(Failure::Run)?;
    outln!()?;
    out!("{}", sweep.files_note())?;
    print_files(&files)?;
    Ok(())
}

/// What `rp1 lhp linux` and `rp1 lhp overhead` do around their runs: make
/// the output directory (one that cannot be made fails now, not after the
/// runs), build Linux's images, and run `runs` with them, each progress
/// line printed as `rp1 lhp NAME: line` on stderr (a failed print fails
/// the command once the runs are done).
fn with_linux_runs<T>(
    name: &str,
    out: &Path,
    runs: impl FnOnce(&rp1::linux::LinuxImages, &mut (dyn FnMut(&str) + Send)) -> Result<T, String>,
) -> Result<T, Failure> {
    std::fs::create_dir_all(out).map_err(|e| Failure::Run(format!("--out {}: {e}", out.display())))?;
    let images = rp1::linux::build().map_err(Failure::Run)?;
    let mut failed = None;
    let result = runs(&images, &mut |line: &str| {
        if failed.is_none() {
            failed = errln!("rp1 lhp {name}: {line}").err();
        }
    })
    .map_err(Failure::Run)?;
    match failed {
        Some(e) => Err(e.into()),
        None => Ok(result),
    }
}

/// `rp1 lhp overhead`.
fn overhead(groups: u32, loops: &[u32], variants: &[String], toppers: Option<PathBuf>, out: &Path) -> Result<(), Failure> {
    check_positive("--groups", groups)?;
    if loops.is_empty() {
        return Err(bad("--loops is empty".into()));
    }
    for &l in loops {
        check_positive("--loops", l)?;
    }
    if let Some(l) = loops.iter().enumerate().find_map(|(i, l)| loops[..i].contains(l).then_some(l)) {
        return Err(bad(format!("--loops {l} is given twice")));
    }
    let mut extras = vec![String::new()];
    for v in variants {
        let v = v.trim();
        if v.is_empty() || extras.iter().any(|e| e == v) {
            return Err(bad(format!("--cmdline-variants: {v:?} is empty or given twice")));
        }
        if v.contains("hackbench=") || v.contains('"') || !v.is_ascii() {
            return Err(bad(format!("--cmdline-variants: {v:?} may not set hackbench= or hold quotes or non-ASCII")));
        }
        extras.push(v.to_string());
    }
    let sweep = with_linux_runs("overhead", out, |images, progress| {
        rp1::linux_overhead::run(images, groups, loops, &extras, toppers, progress)
    })?;
    outln!("{}", sweep.table())?;
    let files = sweep.write(out).map_err(Failure::Run)?;
    print_files(&files)?;
    Ok(())
}

fn out_dir(out: Option<PathBuf>, sub: &str) -> PathBuf {
    out.unwrap_or_else(|| default_base().join(sub))
}

/// A sweep's output directory: `--out`, or `target/lhp/<subcommand>`
/// (`target/lhp` for `all`).
fn sweep_out(out: Option<PathBuf>, sweep: &Sweep) -> PathBuf {
    match sweep {
        Sweep::One(e) => out_dir(out, e.name()),
        Sweep::All => out.unwrap_or_else(default_base),
    }
}

/// `<target>/lhp`, without the `tests/..` of the target directory's path.
fn default_base() -> PathBuf {
    let target = rp1::programs::target_dir();
    std::fs::canonicalize(&target).unwrap_or(target).join("lhp")
}

fn bad(msg: String) -> Failure {
    Failure::BadArguments(msg)
}

fn check_util(flag: &str, u: u32) -> Result<(), Failure> {
    if u > 100 {
        return Err(bad(format!("{flag} {u} is above 100")));
    }
    Ok(())
}

fn check_positive(flag: &str, v: u32) -> Result<(), Failure> {
    if v == 0 {
        return Err(bad(format!("{flag} must be at least 1")));
    }
    Ok(())
}

/// A progress bar over the runs of one experiment (hidden when stderr is
/// not a terminal; a line per finished run goes to stderr either way).
struct Bar {
    bar: ProgressBar,
    runs: usize,
    /// The first failure to write a line (the Observer cannot return it).
    failed: Option<StreamError>,
}

impl Bar {
    fn new(name: &str) -> Bar {
        let bar = ProgressBar::new(0);
        bar.set_style(
            ProgressStyle::with_template(&format!("{name} [{{bar:30}}] {{pos}}/{{len}} runs, {{elapsed}} {{msg}}"))
                .expect("a valid template")
                .progress_chars("=> "),
        );
        bar.enable_steady_tick(Duration::from_millis(500));
        Bar { bar, runs: 0, failed: None }
    }

    fn line(&mut self, text: String) {
        if self.bar.is_hidden() {
            if self.failed.is_none() {
                self.failed = errln!("{text}").err();
            }
        } else {
            self.bar.println(text);
        }
    }

    /// A line that could not be written, as the experiment's failure.
    fn check(&mut self) -> Result<(), Failure> {
        match self.failed.take() {
            Some(e) => Err(e.into()),
            None => Ok(()),
        }
    }
}

impl Drop for Bar {
    fn drop(&mut self) {
        self.bar.finish_and_clear();
    }
}

impl Observer for Bar {
    fn planned(&mut self, runs: usize) {
        self.runs = runs;
        self.bar.set_length(runs as u64);
    }

    fn run_started(&mut self, _index: usize, label: &str, _command: &str) {
        self.bar.set_message(label.to_string());
    }

    /// With runs in parallel, the message follows whichever reported last.
    fn simulated(&mut self, _index: usize, label: &str, cycles: u64) {
        self.bar.set_message(format!("{label}: {} ms simulated", cycles / 600_000));
    }

    fn run_finished(&mut self, index: usize, label: &str, cycles: u64, host: Duration) {
        self.bar.inc(1);
        self.line(format!(
            "  [{}/{}] {label}: {:.3} s simulated in {:.1} s",
            index + 1,
            self.runs,
            cycles as f64 / 600e6,
            host.as_secs_f64()
        ));
    }
}

fn print_files(files: &[PathBuf]) -> Result<(), Failure> {
    outln!("written:")?;
    for f in files {
        outln!("  {}", f.display())?;
    }
    Ok(())
}

/// The cost table, when it was an input: the hosted model charges every
/// hypervisor path from it. The board image measures its costs, so its
/// experiments print none (a table they did not use would read as one).
fn print_costs(mode: &Mode, costs: &spumone_hosting::description::Costs) -> Result<(), Failure> {
    if *mode == Mode::Hosted {
        outln!("{}", costs.to_table_string())?;
    }
    Ok(())
}

fn check_latency(p: &LatencyParams) -> Result<LatencyParams, Failure> {
    check_positive("--samples", p.samples)?;
    check_util("--util", p.util)?;
    Ok(p.clone())
}

fn check_throughput(p: ThroughputParams) -> Result<ThroughputParams, Failure> {
    check_window(p.burn_window_ms).map_err(Failure::BadArguments)?;
    check_positive("--ms", p.ms)?;
    if p.utils.is_empty() {
        return Err(bad("--utils is empty".into()));
    }
    for &u in &p.utils {
        check_util("--utils", u)?;
    }
    Ok(p)
}

/// `latency`, `throughput`, `migration` or `all`: run the sweep here (its
/// runs in parallel), write its job list (`--jobs-out`), or run one job
/// of it (`--job`).
fn sweep(sweep: &Sweep, hosted: bool, out: Option<PathBuf>, jobs: &JobArgs) -> Result<(), Failure> {
    let out = sweep_out(out, sweep);
    if let Some(file) = &jobs.jobs_out {
        return write_jobs(sweep, hosted, file, jobs.results_dir.as_deref(), &out);
    }
    if let (Some(k), Some(file)) = (jobs.job, &jobs.job_result) {
        return run_job(sweep, hosted, k, file);
    }
    let results = {
        let mut bar = Bar::new(sweep.name());
        let results = sweep.run(hosted, &mut bar);
        bar.check()?;
        results
    };
    print_sweep(sweep, results, &out)
}

/// Print a sweep's results (and write their files) as the sweep does:
/// each experiment's, in order, to `out` (or, for `all`, its own
/// subdirectory of `out`), stopping at the first that failed.
fn print_sweep(
    sweep: &Sweep,
    results: Vec<Result<ExperimentResult, ExperimentError>>,
    out: &Path,
) -> Result<(), Failure> {
    match sweep {
        Sweep::One(_) => {
            for r in results {
                print_result(&r?, out)?;
            }
        }
        Sweep::All => {
            for (i, r) in results.into_iter().enumerate() {
                let r = r?;
                let name = result_name(&r);
                outln!("{}== {name} ==\n", if i == 0 { "" } else { "\n" })?;
                print_result(&r, &out.join(name))?;
            }
            outln!("\nreproduce all three: rp1 lhp all --out {}", out.display())?;
        }
    }
    Ok(())
}

fn result_name(r: &ExperimentResult) -> &'static str {
    match r {
        ExperimentResult::Latency(_) => "latency",
        ExperimentResult::Throughput(_) => "throughput",
        ExperimentResult::Migration(_) => "migration",
    }
}

fn print_result(r: &ExperimentResult, out: &Path) -> Result<(), Failure> {
    match r {
        ExperimentResult::Latency(r) => print_latency(r, out),
        ExperimentResult::Throughput(r) => print_throughput(r, out),
        ExperimentResult::Migration(r) => print_migration(r, out),
    }
}

fn print_latency(r: &LatencyResult, out: &Path) -> Result<(), Failure> {
    outln!("{}", r.table())?;
    outln!(
        "spin-yield is on in every run: a GPOS vCPU that spins too long on its lock yields its core, which keeps\nthe GPOS alive when migration puts two of its vCPUs on one core (the paper's fix, section 5.3)."
    )?;
    outln!("\nruns (each alone):")?;
    for s in &r.series {
        outln!("  {:<38} {}", s.variant.label, s.command)?;
    }
    outln!()?;
    print_costs(&r.mode, &r.costs)?;
    print_files(&r.write(out)?)?;
    outln!("reproduce: {}", r.command(out))?;
    Ok(())
}

fn print_throughput(r: &ThroughputResult, out: &Path) -> Result<(), Failure> {
    outln!("{}", r.table())?;
    outln!(
        "The RTOS probe runs {} + 5 * util + 50 periodic samples (ms) so that it is active for the whole of the\nGPOS's run even when the load's start is held up by the burner (docs/experiments.md).\n",
        r.params.ms
    )?;
    print_costs(&r.mode, &r.costs)?;
    print_files(&r.write(out)?)?;
    outln!("reproduce: {}", r.command(out))?;
    Ok(())
}

fn print_migration(r: &MigrationResult, out: &Path) -> Result<(), Failure> {
    outln!("{}", r.table())?;
    outln!("run: {}\n", r.run_command)?;
    print_costs(&r.mode, &r.costs)?;
    print_files(&r.write(out)?)?;
    outln!("reproduce: {}", r.command(out))?;
    Ok(())
}

/// `--jobs-out FILE`: the sweep's job list, its lines writing their
/// results to `results` (default `out/jobs`), made absolute so that the
/// lines run from any directory.
fn write_jobs(sweep: &Sweep, hosted: bool, file: &Path, results: Option<&Path>, out: &Path) -> Result<(), Failure> {
    let results = results.map_or_else(|| out.join("jobs"), Path::to_path_buf);
    std::fs::create_dir_all(&results)
        .and_then(|()| std::fs::canonicalize(&results))
        .map_err(|e| Failure::Run(format!("--results-dir {}: {e}", results.display())))
        .and_then(|results| {
            let exe = std::env::current_exe().map_err(|e| Failure::Run(format!("cannot find this rp1's path: {e}")))?;
            let lines = sweep.job_lines(&exe, hosted, &results);
            let mut text = lines.join("\n");
            text.push('\n');
            std::fs::write(file, text).map_err(|e| Failure::Run(format!("--jobs-out {}: {e}", file.display())))?;
            let out = std::path::absolute(out).unwrap_or_else(|_| out.to_path_buf());
            let (n, command) = (lines.len(), sweep.command(hosted));
            outln!("{n} jobs of `{command}` written to {}, one command line each;", file.display())?;
            outln!("job K writes its result to {}.", results.join("job-NNNN.json").display())?;
            outln!("Run them anywhere, in any order and as many at once as you like, e.g.")?;
            outln!("  parallel < {}", rp1::sweep::shell_quote(&file.to_string_lossy()))?;
            outln!("or as a Slurm job array (docs/experiments.md), then merge them:")?;
            outln!(
                "  rp1 lhp merge {} --out {}",
                rp1::sweep::shell_quote(&results.to_string_lossy()),
                rp1::sweep::shell_quote(&out.to_string_lossy())
            )?;
            Ok(())
        })
}

/// `--job K --job-result FILE`: run job K of the sweep and write its
/// result; status 1 (after writing it) if the run failed.
fn run_job(sweep: &Sweep, hosted: bool, k: usize, file: &Path) -> Result<(), Failure> {
    let n = sweep.jobs(hosted).len();
    if k == 0 || k > n {
        return Err(bad(format!("--job {k}: `{}` has {n} jobs (1-{n})", sweep.command(hosted))));
    }
    let r = {
        let mut bar = Bar::new(&format!("job {k}/{n}"));
        let r = rp1::sweep::run_job(sweep, hosted, k, &mut bar)?;
        bar.check()?;
        r
    };
    rp1::sweep::write_result(file, &r)?;
    outln!("job {k} of {n} ({}): {}", r.label, file.display())?;
    match &r.outcome.figures {
        Ok(_) => Ok(()),
        Err(e) => Err(Failure::Run(e.to_string())),
    }
}

/// `rp1 lhp merge DIR`: the per-scenario results of a job list, checked
/// (status 2 and the file's name when one is missing, unreadable, of
/// another sweep or there twice), then tabulated and written as the sweep
/// does.
fn merge(dir: &Path, out: Option<PathBuf>, hosted: bool) -> Result<(), Failure> {
    let merged = rp1::sweep::read_results(dir).map_err(|e| bad(e.to_string()))?;
    if hosted && !merged.hosted {
        return Err(bad(format!(
            "{}: the results are of the board image (`{}`), not of --hosted",
            dir.display(),
            merged.sweep.command(false)
        )));
    }
    let out = sweep_out(out, &merged.sweep);
    errln!(
        "rp1 lhp merge: {} job results of `{}` from {}",
        merged.outcomes.len(),
        merged.sweep.command(merged.hosted),
        dir.display()
    )?;
    let sweep = merged.sweep.clone();
    print_sweep(&sweep, merged.assemble(), &out)
}

fn demo(p: &DemoParams, out: &Path) -> Result<(), Failure> {
    check_positive("--samples", p.samples)?;
    check_util("--util", p.util)?;
    let r = {
        let mut bar = Bar::new("demo");
        let r = experiments::demo(p, &mut bar)?;
        bar.check()?;
        r
    };
    out!("{}", r.summary())?;
    outln!("  run: {}\n", r.run_command)?;
    print_costs(&r.result.mode, &r.description.costs)?;
    let files = r.write(out)?;
    outln!("written (timeline: open in ui.perfetto.dev or chrome://tracing):")?;
    for f in &files {
        outln!("  {}", f.display())?;
    }
    outln!("reproduce: {}", r.command(out))?;
    match r.failure {
        Some(f) => Err(f.into()),
        None => Ok(()),
    }
}

fn run_one(args: &ScenarioArgs) -> Result<(), Failure> {
    let s = args.scenario().map_err(bad)?;
    if args.print_description {
        let (probe, load) = rp1::lhp::guests().map_err(Failure::Run)?;
        out!("{}", s.description_toml(&probe.display().to_string(), &load.display().to_string()))?;
        return Ok(());
    }
    let desc = s.description().map_err(Failure::Run)?;
    let mode = s.mode().map_err(|e| Failure::Run(e.to_string()))?;
    let r = spumone_hosting::runner::run(
        &desc,
        spumone_hosting::runner::RunOptions { max_cycles: cycle_limit(&s), keep_events: false, mode },
        |_| {},
    )
    .map_err(|e| Failure::Run(e.to_string()))?;
    out!("{}", spumone_hosting::report::render(&desc, &r))?;
    outln!("reproduce: {}", run_command(&s))?;
    check_run(&run_command(&s), &s, &r)?;
    Ok(())
}
