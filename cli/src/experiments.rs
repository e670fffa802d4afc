//! The lock-holder-preemption experiments of docs/experiments.md, as
//! library functions returning plain data: RTOS dispatch latency per
//! policy, GPOS throughput against RTOS utilization, the cost of a vCPU
//! migration split into its halves, and the side-by-side demo.
//!
//! Owns: which scenarios each experiment runs (policies, sizes, the
//! spin-yield choice) as a list of jobs, running those jobs in parallel on
//! the host's cores (rayon; each run single-threaded and deterministic,
//! the outcomes kept in the jobs' order), checking that each run ended
//! properly, the integers measured from each run (`Figures`, which a
//! per-scenario result file holds), the statistics drawn from them
//! (latency summaries, throughput, migration pairing), the text tables and
//! the output files (CSV, JSON, SVG, the demo's timeline and report). The
//! `rp1 lhp` command only parses arguments and prints what these functions
//! return; cli/src/sweep.rs makes job lists of the experiments and merges
//! their results through the same `*_from` functions.
//!
//! Must not touch: the machine descriptions' format or the guests
//! (cli/src/lhp.rs, tests/hvguests), the hypervisor (percore/, kernel/),
//! the simulator (sim/) and the hosting crate (hosting/): everything here
//! goes through `lhp::Scenario` and `spumone_hosting`'s public API.
//!
//! Every run is deterministic: the same parameters give the same structs,
//! field for field, however many runs went on at once (host time is
//! deliberately not part of them).

use crate::lhp::Scenario;
use spumone_hosting::charts;
use spumone_hosting::description::{cycles_to_us, Costs, Description, Policy, CYCLES_PER_US};
use spumone_hosting::report::{self, Summary};
use spumone_hosting::runner::{self, Mode, RunOptions, RunResult};
use spumone_hosting::trace_export;
use rp1_sim::machine::Exit;
use serde_json::{json, Value};
use spumone_percore::hw::TraceEvent;
use rayon::prelude::*;
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, VecDeque};
use std::fmt::{self, Write as _};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// Cycles in one simulated millisecond (600 MHz).
pub const CYCLES_PER_MS: u64 = CYCLES_PER_US * 1000;

/// SAMPLE kinds (docs/hypercall-abi.md).
const SAMPLE_LATENCY: u32 = 0;
const SAMPLE_WORK: u32 = 1;

/// The RTOS probe's CPU-burner window in the papers and in the latency
/// experiment: at utilization U the burner holds core 0 for the first U %
/// of each window, i.e. 5 * U ms.
pub const BURN_WINDOW_MS: u32 = 500;

/// The burner window of the throughput sweep. The start of each burn is
/// one long preemption of the GPOS vCPU on core 0, and it stalls the
/// whole GPOS only if it catches that vCPU holding a lock: a 1 s run with
/// 500 ms windows makes two such draws, so whether a point shows the
/// collapse is down to where those two fall. 50 ms windows make twenty
/// at the same utilization (`--burn-window-ms 500` is the papers' window).
pub const THROUGHPUT_BURN_WINDOW_MS: u32 = 50;

// ---------------------------------------------------------------------------
// Policies, scenarios, running
// ---------------------------------------------------------------------------

/// One configuration of the hypervisor an experiment compares: a policy
/// and its options.
#[derive(Clone, Debug, PartialEq)]
pub struct Variant {
    /// Name in tables, files and charts.
    pub label: String,
    pub policy: Policy,
    pub dispatch_first: bool,
    pub delay_bound_us: Option<u32>,
    /// The paper's average dispatch latency for this policy, if it has one.
    pub paper_mean_us: Option<f64>,
}

impl Variant {
    pub fn new(policy: Policy) -> Variant {
        let paper_mean_us = match policy {
            Policy::DelayedPreemption => Some(24.09),
            Policy::TrapMigration => Some(2.30),
            Policy::OnDemandMigration => Some(4.71),
            Policy::None => None,
        };
        Variant { label: policy.name().to_string(), policy, dispatch_first: false, delay_bound_us: None, paper_mean_us }
    }

    /// On-demand migration that dispatches the RTOS first and ships the
    /// departing vCPU's context afterwards.
    pub fn dispatch_first() -> Variant {
        Variant {
            label: "on-demand-migration+dispatch-first".into(),
            dispatch_first: true,
            paper_mean_us: None,
            ..Variant::new(Policy::OnDemandMigration)
        }
    }

    /// Delayed preemption that migrates the GPOS vCPU away once the RTOS
    /// has waited `bound_us`.
    pub fn bounded_delay(bound_us: u32) -> Variant {
        Variant {
            label: format!("delayed-preemption+bound-{bound_us}us"),
            delay_bound_us: Some(bound_us),
            paper_mean_us: None,
            ..Variant::new(Policy::DelayedPreemption)
        }
    }

    /// The scenario of this variant (everything else at `Scenario::new`'s
    /// defaults: 4 GPOS vCPUs on cores 0-3, the RTOS on core 0, IPL
    /// separation on, 400 iterations inside the GPOS lock).
    pub fn scenario(&self, spin_yield: bool, samples: u32, rtos_util: u32, gpos_vcpus: u32, gpos_ms: u32) -> Scenario {
        let mut s = Scenario::new(self.policy);
        s.spin_yield = spin_yield;
        s.dispatch_first = self.dispatch_first;
        s.delay_bound_us = self.delay_bound_us;
        s.samples = samples;
        s.rtos_util = rtos_util;
        s.gpos_vcpus = gpos_vcpus;
        s.gpos_ms = gpos_ms;
        s
    }
}

/// The latency experiment's policies: none, delayed preemption, trap-based
/// migration, on-demand migration, on-demand with dispatch-first, and
/// delayed preemption bounded at 10 us.
pub fn latency_variants() -> Vec<Variant> {
    vec![
        Variant::new(Policy::None),
        Variant::new(Policy::DelayedPreemption),
        Variant::new(Policy::TrapMigration),
        Variant::new(Policy::OnDemandMigration),
        Variant::dispatch_first(),
        Variant::bounded_delay(10),
    ]
}

/// The throughput experiment's policies: none, delayed preemption,
/// trap-based migration, on-demand migration, on-demand with
/// dispatch-first.
pub fn throughput_variants() -> Vec<Variant> {
    vec![
        Variant::new(Policy::None),
        Variant::new(Policy::DelayedPreemption),
        Variant::new(Policy::TrapMigration),
        Variant::new(Policy::OnDemandMigration),
        Variant::dispatch_first(),
    ]
}

/// The `rp1 lhp run` command line that runs scenario `s` by itself.
pub fn run_command(s: &Scenario) -> String {
    let mut c = format!(
        "rp1 lhp run --policy {} --samples {} --util {} --vcpus {} --gpos-ms {} --cs {}",
        s.policy.name(),
        s.samples,
        s.rtos_util,
        s.gpos_vcpus,
        s.gpos_ms,
        s.cs_iterations
    );
    if s.burn_window_ms != BURN_WINDOW_MS {
        c += &format!(" --burn-window-ms {}", s.burn_window_ms);
    }
    if s.spin_yield {
        c += " --spin-yield";
    }
    if !s.ipl_separation {
        c += " --no-ipl-separation";
    }
    if s.dispatch_first {
        c += " --dispatch-first";
    }
    if s.hosted {
        c += " --hosted";
    }
    if let Some(b) = s.delay_bound_us {
        c += &format!(" --delay-bound-us {b}");
    }
    if s.rtos_on_tmu4 {
        c += " --rtos-tmu4";
    }
    if s.gpos_tmu5_period_us != 0 {
        c += &format!(" --gpos-tmu5-us {}", s.gpos_tmu5_period_us);
    }
    c
}

/// The cycle limit of a scenario: long enough for the RTOS probe and the
/// GPOS load to run one after the other (the load cannot start while a
/// 100 % RTOS holds core 0 under some policies), plus one second.
pub fn cycle_limit(s: &Scenario) -> u64 {
    (s.samples as u64 + s.gpos_ms as u64 + 1000) * CYCLES_PER_MS
}

/// Why an experiment stopped.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum ExperimentError {
    /// The guests could not be built or the description not made or run.
    Setup { scenario: String, message: String },
    /// A run ended badly: a guest exited non-zero, the run hit its cycle
    /// limit, or the machine stopped some other way.
    RunFailed { scenario: String, reason: String },
    /// An output file could not be written.
    Output { path: PathBuf, message: String },
}

impl fmt::Display for ExperimentError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ExperimentError::Setup { scenario, message } => write!(f, "scenario `{scenario}`: {message}"),
            ExperimentError::RunFailed { scenario, reason } => write!(f, "scenario `{scenario}` failed: {reason}"),
            ExperimentError::Output { path, message } => write!(f, "{}: {message}", path.display()),
        }
    }
}

impl std::error::Error for ExperimentError {}

/// What an experiment tells its caller while it runs (a progress bar, a
/// log). Every method has an empty default.
///
/// The runs of a sweep go on in parallel (see [`run_jobs`]), so the
/// methods are called from the pool's threads, one call at a time, in
/// whatever order the runs start, advance and finish: `index` says which
/// run a call is about.
pub trait Observer: Send {
    /// The experiment is about to make `runs` runs.
    fn planned(&mut self, _runs: usize) {}
    /// Run `index` (from 0) starts: `label` names it, `command` reproduces it.
    fn run_started(&mut self, _index: usize, _label: &str, _command: &str) {}
    /// Run `index` has reached `cycles` of simulated time.
    fn simulated(&mut self, _index: usize, _label: &str, _cycles: u64) {}
    /// Run `index` ended after `cycles` simulated, `host` real time.
    fn run_finished(&mut self, _index: usize, _label: &str, _cycles: u64, _host: Duration) {}
}

/// An observer that ignores everything.
pub struct Quiet;

impl Observer for Quiet {}

/// The observer of a sweep whose runs go on in parallel.
type SharedObserver<'a> = Mutex<&'a mut dyn Observer>;

fn observe(obs: &SharedObserver<'_>, f: impl FnOnce(&mut dyn Observer)) {
    // A panic in another run's observer call poisons the lock; what it
    // guards is only a progress display, so carry on with it.
    let mut guard = obs.lock().unwrap_or_else(|e| e.into_inner());
    f(&mut **guard)
}

/// One run of an experiment: its name in tables and progress lines, its
/// scenario, and whether it keeps the instances' trace events (the
/// migration experiment pairs them).
#[derive(Clone, Debug)]
pub struct Job {
    pub label: String,
    pub scenario: Scenario,
    pub keep_events: bool,
}

impl Job {
    fn new(label: String, scenario: Scenario) -> Job {
        Job { label, scenario, keep_events: false }
    }

    /// "label (rp1 lhp run ...)": how errors name the job's scenario.
    fn name(&self) -> String {
        format!("{} ({})", self.label, run_command(&self.scenario))
    }
}

/// What one run measured: the integers every statistic, table and file
/// of the experiments is drawn from (microseconds, rates and summaries
/// are computed from these when the results are put together, so results
/// made from runs in this process and from per-scenario result files read
/// back are the same to the last bit: docs/experiments.md, "Many machines").
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Figures {
    /// Simulated cycles of the run.
    pub run_cycles: u64,
    /// The RTOS probe's dispatch latencies (its SAMPLE(0) reports), in
    /// cycles, in order.
    pub latency_cycles: Vec<u64>,
    /// The load's work units (its SAMPLE(1) reports), summed.
    pub work_units: u64,
    /// Cycles of the GPOS's measured run during which the RTOS probe was
    /// running, and the run's length in cycles (at least 1); `None` when
    /// the load reported no work (see [`ThroughputPoint::rtos_coverage`]).
    pub rtos_coverage: Option<(u64, u64)>,
    /// The migrations paired from the trace events (none unless the run
    /// kept its events), and the halves without a partner (out, in).
    pub migrations: Vec<Migration>,
    pub unpaired_out: u64,
    pub unpaired_in: u64,
    /// Why the run does not count (a GPOS vCPU starved: [`starvation`]).
    pub failed: Option<String>,
}

impl Figures {
    /// The figures of run `r` of scenario `s`.
    pub fn of(s: &Scenario, r: &RunResult) -> Figures {
        let (migrations, unpaired_out, unpaired_in) = pair_migrations(r);
        Figures {
            run_cycles: r.cycles,
            latency_cycles: r.log.samples.iter().filter(|x| x.kind == SAMPLE_LATENCY).map(|x| x.value as u64).collect(),
            work_units: report::work_units(r),
            rtos_coverage: rtos_coverage_cycles(r, s.gpos_ms),
            migrations,
            unpaired_out,
            unpaired_in,
            failed: starvation(s, r),
        }
    }

    /// The dispatch latencies in microseconds (as `report::latencies_us`).
    pub fn latencies_us(&self) -> Vec<f64> {
        self.latency_cycles.iter().map(|&c| cycles_to_us(c)).collect()
    }

    /// Fraction of the GPOS's measured run the RTOS probe covered (0 when
    /// the load reported no work).
    pub fn rtos_coverage(&self) -> f64 {
        match self.rtos_coverage {
            Some((covered, window)) => (covered as f64 / window as f64).clamp(0.0, 1.0),
            None => 0.0,
        }
    }
}

/// How one run ended: which hypervisor ran it with which cost table, and
/// its figures or why it failed ([`check_run`]).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Outcome {
    #[serde(with = "ModeDef")]
    pub mode: Mode,
    #[serde(with = "CostsDef")]
    pub costs: Costs,
    pub figures: Result<Figures, ExperimentError>,
}

/// [`Mode`] as it is written in a per-scenario result file.
#[derive(Serialize, Deserialize)]
#[serde(remote = "Mode", rename_all = "snake_case")]
enum ModeDef {
    Native { image: PathBuf },
    Hosted,
}

/// [`Costs`] as it is written in a per-scenario result file.
#[derive(Serialize, Deserialize)]
#[serde(remote = "Costs", deny_unknown_fields)]
struct CostsDef {
    entry_exit: u64,
    hypercall: u64,
    vcpu_switch: u64,
    interrupt_injection: u64,
    ici_send: u64,
    ici_latency: u64,
    mailbox_message: u64,
    departure_source: u64,
    departure_destination: u64,
    return_source: u64,
    return_destination: u64,
}

/// Build, run and measure job `index`, telling `obs`; `Err` when the run
/// could not be made (the guests, the image or the description), an
/// outcome with failed figures when it ran and ended badly.
fn run_job(index: usize, job: &Job, obs: &SharedObserver<'_>) -> Result<Outcome, ExperimentError> {
    let (desc, mode, r) = run_scenario(index, job, obs)?;
    let figures = check_run(&job.name(), &job.scenario, &r).map(|()| Figures::of(&job.scenario, &r));
    Ok(Outcome { mode, costs: desc.costs, figures })
}

/// Run job `index`'s scenario to its end, without checking how it ended.
fn run_scenario(
    index: usize,
    job: &Job,
    obs: &SharedObserver<'_>,
) -> Result<(Description, Mode, RunResult), ExperimentError> {
    let s = &job.scenario;
    let command = run_command(s);
    observe(obs, |o| o.run_started(index, &job.label, &command));
    let setup = |message: String| ExperimentError::Setup { scenario: job.name(), message };
    let desc = s.description().map_err(setup)?;
    let mode = s.mode().map_err(setup)?;
    let started = Instant::now();
    let options = RunOptions { max_cycles: cycle_limit(s), keep_events: job.keep_events, mode: mode.clone() };
    let result = runner::run(&desc, options, |now| observe(obs, |o| o.simulated(index, &job.label, now)))
        .map_err(|e| setup(e.to_string()))?;
    observe(obs, |o| o.run_finished(index, &job.label, result.cycles, started.elapsed()));
    Ok((desc, mode, result))
}

/// Run `jobs` as many at a time as rayon's pool has threads (one per host
/// core; `RAYON_NUM_THREADS=1` runs them one after the other) and return
/// their outcomes in the jobs' order. Each run is one thread's, start to
/// end, and depends on nothing but its scenario, so the outcomes do not
/// depend on how many ran at once. Once a job has failed, jobs after it
/// that have not started are not run (a serial run stops at the first
/// failure; the jobs before it still run, so [`assemble`] meets the same
/// first failure a serial run would).
pub fn run_jobs(jobs: &[Job], obs: &mut dyn Observer) -> Vec<Result<Outcome, ExperimentError>> {
    obs.planned(jobs.len());
    let obs: SharedObserver<'_> = Mutex::new(obs);
    let first_failed = AtomicUsize::new(usize::MAX);
    jobs.par_iter()
        .enumerate()
        .map(|(i, job)| {
            if first_failed.load(Ordering::Relaxed) < i {
                return Err(ExperimentError::Setup {
                    scenario: job.name(),
                    message: "not run: an earlier scenario of the experiment failed".into(),
                });
            }
            let outcome = run_job(i, job, &obs);
            if !matches!(outcome, Ok(Outcome { figures: Ok(_), .. })) {
                first_failed.fetch_min(i, Ordering::Relaxed);
            }
            outcome
        })
        .collect()
}

/// Go through the outcomes of `jobs` in order, as a serial run meets
/// them: the first run that could not be made, used another hypervisor or
/// cost table than the first, or failed, is the experiment's error;
/// otherwise `each` gets every job's index, figures, hypervisor and cost
/// table (and may fail too). Returns the hypervisor and cost table every
/// run used (the hosted model and the default table when there were no
/// runs).
pub fn assemble(
    jobs: &[Job],
    outcomes: Vec<Result<Outcome, ExperimentError>>,
    mut each: impl FnMut(usize, Figures, &Mode, &Costs) -> Result<(), ExperimentError>,
) -> Result<(Mode, Costs), ExperimentError> {
    if outcomes.len() != jobs.len() {
        return Err(ExperimentError::Setup {
            scenario: "the experiment".into(),
            message: format!("{} outcomes for {} runs", outcomes.len(), jobs.len()),
        });
    }
    let mut first: Option<(Mode, Costs)> = None;
    for (i, (job, outcome)) in jobs.iter().zip(outcomes).enumerate() {
        let Outcome { mode, costs, figures } = outcome?;
        let setup = |message: &str| ExperimentError::Setup { scenario: job.name(), message: message.into() };
        match &first {
            None => first = Some((mode.clone(), costs)),
            Some((_, c)) if *c != costs => return Err(setup("the runs of one experiment used different cost tables")),
            Some((m, _)) if *m != mode => return Err(setup("the runs of one experiment used different hypervisors")),
            Some(_) => {}
        }
        each(i, figures?, &mode, &costs)?;
    }
    Ok(first.unwrap_or((Mode::Hosted, Costs::default())))
}

/// One line saying which hypervisor ran an experiment and so whether its
/// costs are measured or charged.
pub fn hypervisor_line(mode: &Mode) -> String {
    match mode {
        Mode::Native { image } => format!(
            "hypervisor: the board image ({}), one instance in each core's URAM; every cost is measured in simulated cycles",
            image.display()
        ),
        Mode::Hosted => "hypervisor: the hosted model; its costs are charged from the cost table, not measured".into(),
    }
}

/// What an experiment's JSON says about its hypervisor: the mode and, for
/// the hosted model only, the cost table that was an input.
fn hypervisor_json(mode: &Mode, costs: &Costs) -> Value {
    match mode {
        Mode::Native { image } => json!({ "mode": "native", "image": image.display().to_string(), "costs": "measured" }),
        Mode::Hosted => json!({ "mode": "hosted", "costs": "charged", "cost_table_cycles": costs_json(costs) }),
    }
}

/// Did the run end with every guest exiting 0? Otherwise say which guest
/// exited how (with the last line it printed), or that the run hit its
/// cycle limit.
pub fn check_run(scenario: &str, s: &Scenario, r: &RunResult) -> Result<(), ExperimentError> {
    let fail = |reason: String| Err(ExperimentError::RunFailed { scenario: scenario.to_string(), reason });
    let last_line = |g: usize| r.console(g).lines().last().unwrap_or("(printed nothing)").to_string();
    let mut bad = Vec::new();
    for (g, name) in r.guests.iter().enumerate() {
        match r.log.exits.get(g).copied().flatten() {
            Some(0) => {}
            Some(status) => bad.push(format!("guest `{name}` exited with status {status:#x}: {}", last_line(g))),
            None => bad.push(format!("guest `{name}` was still running: {}", last_line(g))),
        }
    }
    match r.exit {
        Exit::CycleLimit => fail(format!(
            "hit its cycle limit of {} cycles ({:.3} s simulated); {}",
            cycle_limit(s),
            cycle_limit(s) as f64 / 600e6,
            bad.join("; ")
        )),
        Exit::Guest(0) if bad.is_empty() => Ok(()),
        Exit::Guest(_) => fail(bad.join("; ")),
        other => fail(format!("the machine stopped: {other:?}; {}", bad.join("; "))),
    }
}

/// Did every GPOS vCPU make progress ([`crate::lhp::check_progress`])?
/// `Some(why)` when one did less than half its fair share: such a run
/// measured a starved vCPU rather than the policy, so the experiments
/// report it as failed and leave it out of their tables and charts.
pub fn starvation(s: &Scenario, r: &RunResult) -> Option<String> {
    if s.gpos_vcpus < 2 {
        return None;
    }
    let gpos = r.guests.iter().position(|n| n == "smp_load")?;
    crate::lhp::check_progress(s, &r.console(gpos)).err().map(|why| format!("a GPOS vCPU starved: {why}"))
}

fn write_file(path: &Path, text: &str) -> Result<(), ExperimentError> {
    std::fs::write(path, text).map_err(|e| ExperimentError::Output { path: path.to_path_buf(), message: e.to_string() })
}

fn make_dir(dir: &Path) -> Result<(), ExperimentError> {
    std::fs::create_dir_all(dir)
        .map_err(|e| ExperimentError::Output { path: dir.to_path_buf(), message: e.to_string() })
}

fn chart_err(path: &Path) -> impl Fn(charts::ChartError) -> ExperimentError + '_ {
    move |e| ExperimentError::Output { path: path.to_path_buf(), message: e.to_string() }
}

fn pretty(v: &Value) -> String {
    let mut s = serde_json::to_string_pretty(v).expect("JSON values always serialise");
    s.push('\n');
    s
}

fn summary_json(s: &Summary) -> Value {
    json!({ "count": s.count, "min": s.min, "mean": s.mean, "p50": s.p50, "p99": s.p99, "max": s.max })
}

fn costs_json(c: &Costs) -> Value {
    let mut m = serde_json::Map::new();
    for (name, cycles, _) in c.rows() {
        m.insert(name.to_string(), json!(cycles));
    }
    Value::Object(m)
}

// ---------------------------------------------------------------------------
// 1. Dispatch latency
// ---------------------------------------------------------------------------

/// Parameters of the latency experiment.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LatencyParams {
    /// Periodic samples per policy (one per simulated millisecond).
    pub samples: u32,
    /// The RTOS burner's utilization (percent of its 500 ms window).
    pub util: u32,
}

impl Default for LatencyParams {
    fn default() -> Self {
        LatencyParams { samples: 2000, util: 0 }
    }
}

impl LatencyParams {
    /// How long the GPOS load runs: `samples + 50` ms, so that it outlasts
    /// the probe.
    pub fn gpos_ms(&self) -> u32 {
        self.samples + 50
    }
}

/// Spin-yield is on in every run of the latency, demo and migration
/// experiments (see docs/experiments.md).
pub const LATENCY_SPIN_YIELD: bool = true;

/// One policy's dispatch latencies.
#[derive(Clone, Debug, PartialEq)]
pub struct LatencySeries {
    pub variant: Variant,
    /// `rp1 lhp run ...` for this run alone.
    pub command: String,
    /// Every sample, in order, in microseconds.
    pub latencies_us: Vec<f64>,
    pub summary: Summary,
    /// Simulated cycles of the run, and the GPOS's work meanwhile.
    pub run_cycles: u64,
    pub gpos_work_units: u64,
    /// Why this run does not count (a GPOS vCPU starved), if it does not:
    /// the table and chart leave it out.
    pub failed: Option<String>,
}

/// The latency experiment's results.
#[derive(Clone, Debug, PartialEq)]
pub struct LatencyResult {
    pub params: LatencyParams,
    pub gpos_ms: u32,
    pub spin_yield: bool,
    pub series: Vec<LatencySeries>,
    /// The hypervisor every run used.
    pub mode: Mode,
    /// The cost table every run's description carried (an input only for
    /// the hosted model).
    pub costs: Costs,
}

/// RTOS dispatch latency for each of [`latency_variants`].
pub fn latency(params: &LatencyParams, obs: &mut dyn Observer) -> Result<LatencyResult, ExperimentError> {
    latency_with(params, &latency_variants(), obs)
}

/// RTOS dispatch latency for each of `variants`, with the GPOS load
/// running the whole time.
pub fn latency_with(
    params: &LatencyParams,
    variants: &[Variant],
    obs: &mut dyn Observer,
) -> Result<LatencyResult, ExperimentError> {
    let jobs = latency_jobs(params, variants);
    let outcomes = run_jobs(&jobs, obs);
    latency_from(params, variants, &jobs, outcomes)
}

/// The latency experiment's runs: one per variant.
pub fn latency_jobs(params: &LatencyParams, variants: &[Variant]) -> Vec<Job> {
    variants
        .iter()
        .map(|v| {
            Job::new(v.label.clone(), v.scenario(LATENCY_SPIN_YIELD, params.samples, params.util, 4, params.gpos_ms()))
        })
        .collect()
}

/// The latency experiment's result from the outcomes of its
/// [`latency_jobs`], in their order.
pub fn latency_from(
    params: &LatencyParams,
    variants: &[Variant],
    jobs: &[Job],
    outcomes: Vec<Result<Outcome, ExperimentError>>,
) -> Result<LatencyResult, ExperimentError> {
    let mut series = Vec::new();
    let (mode, costs) = assemble(jobs, outcomes, |i, f, _, _| {
        let latencies_us = f.latencies_us();
        let summary = Summary::of(&latencies_us).ok_or_else(|| ExperimentError::RunFailed {
            scenario: jobs[i].name(),
            reason: "the RTOS probe reported no dispatch latency".into(),
        })?;
        series.push(LatencySeries {
            variant: variants[i].clone(),
            command: run_command(&jobs[i].scenario),
            latencies_us,
            summary,
            run_cycles: f.run_cycles,
            gpos_work_units: f.work_units,
            failed: f.failed,
        });
        Ok(())
    })?;
    Ok(LatencyResult {
        params: params.clone(),
        gpos_ms: params.gpos_ms(),
        spin_yield: LATENCY_SPIN_YIELD,
        series,
        mode,
        costs,
    })
}

impl LatencyResult {
    /// `rp1 lhp latency ...` that reproduces this result.
    pub fn command(&self, out: &Path) -> String {
        format!("rp1 lhp latency --samples {} --util {} --out {}", self.params.samples, self.params.util, out.display())
    }

    /// The table: policy, samples, mean, p50, p99, max, and the paper's
    /// average.
    pub fn table(&self) -> String {
        let mut t = format!(
            "RTOS dispatch latency (us): 1 ms periodic task, {} samples, RTOS burner {} %, GPOS load on 4 vCPUs for {} ms, spin-yield {}\n",
            self.params.samples,
            self.params.util,
            self.gpos_ms,
            if self.spin_yield { "on" } else { "off" }
        );
        let _ = writeln!(t, "{}", hypervisor_line(&self.mode));
        let _ = writeln!(
            t,
            "  {:<38} {:>7} {:>9} {:>9} {:>9} {:>9} {:>11}",
            "policy", "samples", "mean", "p50", "p99", "max", "paper mean"
        );
        for s in &self.series {
            let paper = s.variant.paper_mean_us.map_or("-".to_string(), |p| format!("{p:.2}"));
            if let Some(why) = &s.failed {
                let _ = writeln!(t, "  {:<38} FAILED, not tabulated: {why}", s.variant.label);
                continue;
            }
            let m = &s.summary;
            let _ = writeln!(
                t,
                "  {:<38} {:>7} {:>9.2} {:>9.2} {:>9.2} {:>9.2} {:>11}",
                s.variant.label, m.count, m.mean, m.p50, m.p99, m.max, paper
            );
        }
        t
    }

    /// latency.csv, latency.json and latency_cdf.svg in `dir`.
    pub fn write(&self, dir: &Path) -> Result<Vec<PathBuf>, ExperimentError> {
        make_dir(dir)?;
        let csv = dir.join("latency.csv");
        let mut text = String::from("policy,sample_index,latency_us\n");
        for s in &self.series {
            for (i, l) in s.latencies_us.iter().enumerate() {
                let _ = writeln!(text, "{},{i},{l:.6}", s.variant.label);
            }
        }
        write_file(&csv, &text)?;

        let js = dir.join("latency.json");
        let policies: Vec<Value> = self
            .series
            .iter()
            .map(|s| {
                json!({
                    "policy": s.variant.label,
                    "hypervisor_policy": s.variant.policy.name(),
                    "dispatch_first": s.variant.dispatch_first,
                    "delay_bound_us": s.variant.delay_bound_us,
                    "run_command": s.command,
                    "latency_us": if s.failed.is_some() { Value::Null } else { summary_json(&s.summary) },
                    "failed": s.failed,
                    "paper_mean_us": s.variant.paper_mean_us,
                    "run_cycles": s.run_cycles,
                    "gpos_work_units": s.gpos_work_units,
                })
            })
            .collect();
        let v = json!({
            "experiment": "latency",
            "command": self.command(dir),
            "samples": self.params.samples,
            "rtos_util_percent": self.params.util,
            "gpos_ms": self.gpos_ms,
            "gpos_vcpus": 4,
            "spin_yield": self.spin_yield,
            "percentiles": "nearest rank",
            "hypervisor": hypervisor_json(&self.mode, &self.costs),
            "policies": policies,
        });
        write_file(&js, &pretty(&v))?;

        let svg = dir.join("latency_cdf.svg");
        let series: Vec<(&str, &[f64])> = self
            .series
            .iter()
            .filter(|s| s.failed.is_none())
            .map(|s| (s.variant.label.as_str(), s.latencies_us.as_slice()))
            .collect();
        let title = format!(
            "RTOS dispatch latency under GPOS load ({} samples, RTOS util {} %)",
            self.params.samples, self.params.util
        );
        charts::latency_cdf(&svg, &title, &series).map_err(chart_err(&svg))?;
        Ok(vec![csv, js, svg])
    }
}

// ---------------------------------------------------------------------------
// 2. Throughput against utilization
// ---------------------------------------------------------------------------

/// Parameters of the throughput experiment.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ThroughputParams {
    /// RTOS utilizations in percent.
    pub utils: Vec<u32>,
    /// How long the GPOS load runs (simulated ms).
    pub ms: u32,
    pub spin_yield: bool,
    /// The RTOS burner's window (ms).
    pub burn_window_ms: u32,
}

impl Default for ThroughputParams {
    fn default() -> Self {
        ThroughputParams {
            utils: (0..=10).map(|i| i * 10).collect(),
            ms: 1000,
            spin_yield: true,
            burn_window_ms: THROUGHPUT_BURN_WINDOW_MS,
        }
    }
}

/// How many periodic samples (ms) the RTOS probe takes in a throughput run
/// at utilization `util` with burner window `window_ms`: the GPOS's `ms`
/// plus the longest the load's start can be held up (its vCPU 0 shares
/// core 0 with the burner, which under `none` and delayed preemption keeps
/// it off the core for the first util % of the first window) plus 50 ms,
/// so that the RTOS is active for the whole of the GPOS's measured run.
pub fn throughput_rtos_samples(ms: u32, util: u32, window_ms: u32) -> u32 {
    ms + util * window_ms / 100 + 50
}

/// One throughput run.
#[derive(Clone, Debug, PartialEq)]
pub struct ThroughputPoint {
    /// RTOS utilization in percent.
    pub util: u32,
    pub work_units: u64,
    /// Work units per simulated second of the GPOS's run.
    pub throughput: f64,
    /// Fraction of the GPOS's measured run during which the RTOS probe was
    /// running (1 when all went as planned, 0 when the load could only
    /// start after the probe had finished).
    pub rtos_coverage: f64,
    /// The throughput to plot: `throughput` when the RTOS covered the whole
    /// run, 0 when it covered none of it (the GPOS made no progress while
    /// the RTOS ran), `None` in between (not comparable).
    pub throughput_under_rtos: Option<f64>,
    pub command: String,
    pub run_cycles: u64,
    /// Why this run does not count (a GPOS vCPU starved), if it does not:
    /// the table and chart leave it out.
    pub failed: Option<String>,
}

/// One policy's curve.
#[derive(Clone, Debug, PartialEq)]
pub struct ThroughputSeries {
    pub variant: Variant,
    pub points: Vec<ThroughputPoint>,
}

/// The GPOS alone on `vcpus` dedicated cores (no RTOS guest).
#[derive(Clone, Debug, PartialEq)]
pub struct AloneLine {
    pub vcpus: u32,
    pub work_units: u64,
    pub throughput: f64,
    pub command: String,
    /// Why this run does not count, if it does not.
    pub failed: Option<String>,
}

/// The throughput experiment's results.
#[derive(Clone, Debug, PartialEq)]
pub struct ThroughputResult {
    pub params: ThroughputParams,
    pub series: Vec<ThroughputSeries>,
    pub alone: Vec<AloneLine>,
    /// (utilization %, I(f) = X1 * (4 - f)), when the 1-vCPU line was run.
    pub ideal: Vec<(u32, f64)>,
    pub mode: Mode,
    pub costs: Costs,
}

/// GPOS throughput for each of [`throughput_variants`] at each
/// utilization, with the GPOS alone on 1-4 cores as references.
pub fn throughput(params: &ThroughputParams, obs: &mut dyn Observer) -> Result<ThroughputResult, ExperimentError> {
    throughput_with(params, &throughput_variants(), &[1, 2, 3, 4], obs)
}

/// The work-unit reports' cycles: the GPOS's measured run ended just
/// before the first of them.
fn gpos_window(r: &RunResult, gpos_guest: u8, ms: u32) -> Option<(u64, u64)> {
    let end = r.log.samples.iter().filter(|s| s.guest == gpos_guest && s.kind == SAMPLE_WORK).map(|s| s.cycle).min()?;
    Some((end.saturating_sub(ms as u64 * CYCLES_PER_MS), end))
}

/// How much of the GPOS's measured run the RTOS probe (guest 0) covered:
/// the probe runs from the start until its last dispatch-latency sample.
/// Returns (cycles covered, the run's length in cycles, at least 1), or
/// `None` when the load reported no work ([`Figures::rtos_coverage`]
/// divides them).
fn rtos_coverage_cycles(r: &RunResult, ms: u32) -> Option<(u64, u64)> {
    let (start, end) = gpos_window(r, 1, ms)?;
    let rtos_end =
        r.log.samples.iter().filter(|s| s.guest == 0 && s.kind == SAMPLE_LATENCY).map(|s| s.cycle).max().unwrap_or(0);
    let covered = rtos_end.min(end).saturating_sub(start);
    Some((covered, (end - start).max(1)))
}

/// GPOS throughput for `variants` at `params.utils`, and the GPOS alone
/// with each of `alone_vcpus` vCPUs.
pub fn throughput_with(
    params: &ThroughputParams,
    variants: &[Variant],
    alone_vcpus: &[u32],
    obs: &mut dyn Observer,
) -> Result<ThroughputResult, ExperimentError> {
    let jobs = throughput_jobs(params, variants, alone_vcpus);
    let outcomes = run_jobs(&jobs, obs);
    throughput_from(params, variants, alone_vcpus, &jobs, outcomes)
}

/// The throughput experiment's runs: the GPOS alone with each of
/// `alone_vcpus` vCPUs, then each variant at each utilization.
pub fn throughput_jobs(params: &ThroughputParams, variants: &[Variant], alone_vcpus: &[u32]) -> Vec<Job> {
    let mut jobs = Vec::new();
    for &n in alone_vcpus {
        let s = Variant::new(Policy::None).scenario(params.spin_yield, 0, 0, n, params.ms);
        jobs.push(Job::new(format!("GPOS alone, {n} vCPU{}", if n == 1 { "" } else { "s" }), s));
    }
    for v in variants {
        for &u in &params.utils {
            let samples = throughput_rtos_samples(params.ms, u, params.burn_window_ms);
            let mut s = v.scenario(params.spin_yield, samples, u, 4, params.ms);
            s.burn_window_ms = params.burn_window_ms;
            jobs.push(Job::new(format!("{} at {u} %", v.label), s));
        }
    }
    jobs
}

/// The throughput experiment's result from the outcomes of its
/// [`throughput_jobs`], in their order.
pub fn throughput_from(
    params: &ThroughputParams,
    variants: &[Variant],
    alone_vcpus: &[u32],
    jobs: &[Job],
    outcomes: Vec<Result<Outcome, ExperimentError>>,
) -> Result<ThroughputResult, ExperimentError> {
    let secs = params.ms as f64 / 1000.0;
    let mut alone = Vec::new();
    let mut series: Vec<ThroughputSeries> =
        variants.iter().map(|v| ThroughputSeries { variant: v.clone(), points: Vec::new() }).collect();
    let (mode, costs) = assemble(jobs, outcomes, |i, f, _, _| {
        let command = run_command(&jobs[i].scenario);
        let throughput = f.work_units as f64 / secs;
        if i < alone_vcpus.len() {
            let vcpus = alone_vcpus[i];
            alone.push(AloneLine { vcpus, work_units: f.work_units, throughput, command, failed: f.failed });
            return Ok(());
        }
        let k = i - alone_vcpus.len();
        let util = params.utils[k % params.utils.len()];
        let rtos_coverage = f.rtos_coverage();
        let throughput_under_rtos = if rtos_coverage >= 0.999 {
            Some(throughput)
        } else if rtos_coverage == 0.0 {
            Some(0.0)
        } else {
            None
        };
        series[k / params.utils.len()].points.push(ThroughputPoint {
            util,
            work_units: f.work_units,
            throughput,
            rtos_coverage,
            throughput_under_rtos,
            command,
            run_cycles: f.run_cycles,
            failed: f.failed,
        });
        Ok(())
    })?;
    let ideal = match alone.iter().find(|a| a.vcpus == 1 && a.failed.is_none()) {
        Some(x1) => params.utils.iter().map(|&u| (u, x1.throughput * (4.0 - u as f64 / 100.0))).collect(),
        None => Vec::new(),
    };
    Ok(ThroughputResult { params: params.clone(), series, alone, ideal, mode, costs })
}

impl ThroughputResult {
    /// `rp1 lhp throughput ...` that reproduces this result.
    pub fn command(&self, out: &Path) -> String {
        let utils: Vec<String> = self.params.utils.iter().map(u32::to_string).collect();
        format!(
            "rp1 lhp throughput --utils {} --ms {} --spin-yield {} --burn-window-ms {} --out {}",
            utils.join(","),
            self.params.ms,
            self.params.spin_yield,
            self.params.burn_window_ms,
            out.display()
        )
    }

    /// The table: one row per utilization, one column per policy, plus the
    /// ideal; then the GPOS-alone references.
    pub fn table(&self) -> String {
        let mut t = format!(
            "GPOS throughput (work units per simulated second; GPOS run {} ms, 4 vCPUs, spin-yield {}, RTOS burner window {} ms)\n",
            self.params.ms,
            if self.params.spin_yield { "on" } else { "off" },
            self.params.burn_window_ms
        );
        let _ = writeln!(t, "{}", hypervisor_line(&self.mode));
        let width = self.series.iter().map(|s| s.variant.label.len()).max().unwrap_or(10).max(12);
        let _ = write!(t, "  {:>6}", "util %");
        for s in &self.series {
            let _ = write!(t, " {:>width$}", s.variant.label);
        }
        if self.ideal.is_empty() {
            t.push('\n');
        } else {
            let _ = writeln!(t, " {:>12}", "ideal");
        }
        let mut notes = false;
        let mut failures = Vec::new();
        for (row, &u) in self.params.utils.iter().enumerate() {
            let _ = write!(t, "  {u:>6}");
            for s in &self.series {
                let p = &s.points[row];
                if let Some(why) = &p.failed {
                    failures.push(format!("{} at {u} %: {why}", s.variant.label));
                    let _ = write!(t, " {:>width$}", "FAILED+");
                    continue;
                }
                let cell = match p.throughput_under_rtos {
                    Some(x) if p.rtos_coverage >= 0.999 => format!("{x:.0}"),
                    Some(_) => {
                        notes = true;
                        "0 (starved)*".to_string()
                    }
                    None => {
                        notes = true;
                        format!("{:.0} (partial)*", p.throughput)
                    }
                };
                let _ = write!(t, " {cell:>width$}");
            }
            match self.ideal.get(row) {
                Some((_, x)) => {
                    let _ = writeln!(t, " {x:>12.0}");
                }
                None => t.push('\n'),
            }
        }
        if notes {
            let _ = writeln!(
                t,
                "  * the GPOS load could not start while the RTOS ran (its vCPU 0 shares core 0 with the RTOS, which\n    never gives the core up at this utilization under this policy): it ran only after the probe had\n    finished. \"starved\" = no GPOS progress while the RTOS ran; \"partial\" = only part of the GPOS run\n    overlapped the RTOS. The raw figures are in throughput.csv."
            );
        }
        if !failures.is_empty() {
            let _ = writeln!(t, "  + failed runs, not tabulated:");
            for f in &failures {
                let _ = writeln!(t, "    {f}");
            }
        }
        if self.params.ms % self.params.burn_window_ms != 0 {
            let _ = writeln!(
                t,
                "  note: {} ms is not a multiple of the burner's {} ms window, so the share of the GPOS's run\n  \
                 during which the burner holds core 0 depends on when the load started (later under none and\n  \
                 delayed preemption): the policies are not compared at the same effective utilization.",
                self.params.ms,
                self.params.burn_window_ms
            );
        }
        if !self.alone.is_empty() {
            let _ = writeln!(t, "  GPOS alone (no RTOS guest), vCPUs on dedicated cores:");
        }
        for a in &self.alone {
            let plural = if a.vcpus == 1 { " " } else { "s" };
            let _ = match &a.failed {
                Some(why) => writeln!(t, "    {} vCPU{plural}: FAILED, not tabulated: {why}", a.vcpus),
                None => writeln!(t, "    {} vCPU{plural}: {:.0} ({} work units)", a.vcpus, a.throughput, a.work_units),
            };
        }
        if !self.ideal.is_empty() {
            let _ = writeln!(t, "  ideal I(f) = X1 * (4 - f), X1 = the 1-vCPU throughput, f = util / 100");
        }
        t
    }

    /// throughput.csv, throughput.json and throughput_vs_utilization.svg.
    pub fn write(&self, dir: &Path) -> Result<Vec<PathBuf>, ExperimentError> {
        make_dir(dir)?;
        let csv = dir.join("throughput.csv");
        let mut text = String::from(
            "series,util_percent,work_units,throughput_per_s,rtos_coverage,throughput_under_rtos_per_s,run_cycles,failed\n",
        );
        for s in &self.series {
            for p in &s.points {
                let under = p.throughput_under_rtos.map_or(String::new(), |x| format!("{x:.3}"));
                let _ = writeln!(
                    text,
                    "{},{},{},{:.3},{:.4},{under},{},{}",
                    s.variant.label,
                    p.util,
                    p.work_units,
                    p.throughput,
                    p.rtos_coverage,
                    p.run_cycles,
                    p.failed.is_some()
                );
            }
        }
        for a in &self.alone {
            let _ = writeln!(
                text,
                "gpos-alone-{}-vcpus,,{},{:.3},,,,{}",
                a.vcpus,
                a.work_units,
                a.throughput,
                a.failed.is_some()
            );
        }
        for (u, x) in &self.ideal {
            let _ = writeln!(text, "ideal,{u},,{x:.3},,,,false");
        }
        write_file(&csv, &text)?;

        let js = dir.join("throughput.json");
        let series: Vec<Value> = self
            .series
            .iter()
            .map(|s| {
                json!({
                    "policy": s.variant.label,
                    "hypervisor_policy": s.variant.policy.name(),
                    "dispatch_first": s.variant.dispatch_first,
                    "points": s.points.iter().map(|p| json!({
                        "util_percent": p.util,
                        "work_units": p.work_units,
                        "throughput_per_s": p.throughput,
                        "rtos_coverage": p.rtos_coverage,
                        "throughput_under_rtos_per_s": p.throughput_under_rtos,
                        "run_cycles": p.run_cycles,
                        "run_command": p.command,
                        "failed": p.failed,
                    })).collect::<Vec<_>>(),
                })
            })
            .collect();
        let v = json!({
            "experiment": "throughput",
            "command": self.command(dir),
            "gpos_ms": self.params.ms,
            "gpos_vcpus": 4,
            "spin_yield": self.params.spin_yield,
            "burn_window_ms": self.params.burn_window_ms,
            "rtos_samples": "gpos_ms + util % of burn_window_ms + 50 (the RTOS outlasts the GPOS's run)",
            "throughput_unit": "GPOS work units per simulated second",
            "hypervisor": hypervisor_json(&self.mode, &self.costs),
            "policies": series,
            "gpos_alone": self.alone.iter().map(|a| json!({
                "vcpus": a.vcpus, "work_units": a.work_units, "throughput_per_s": a.throughput, "run_command": a.command,
                "failed": a.failed,
            })).collect::<Vec<_>>(),
            "ideal": { "formula": "X1 * (4 - util / 100)",
                       "points": self.ideal.iter().map(|(u, x)| json!({"util_percent": u, "throughput_per_s": x})).collect::<Vec<_>>() },
        });
        write_file(&js, &pretty(&v))?;

        let svg = dir.join("throughput_vs_utilization.svg");
        let curves: Vec<(String, Vec<(f64, f64)>)> = self
            .series
            .iter()
            .map(|s| {
                let pts = s
                    .points
                    .iter()
                    .filter(|p| p.failed.is_none())
                    .filter_map(|p| p.throughput_under_rtos.map(|x| (p.util as f64, x)))
                    .collect();
                (s.variant.label.clone(), pts)
            })
            .collect();
        let lo = self.params.utils.iter().copied().min().unwrap_or(0) as f64;
        let hi = self.params.utils.iter().copied().max().unwrap_or(100) as f64;
        let mut refs: Vec<(String, Vec<(f64, f64)>)> = self
            .alone
            .iter()
            .filter(|a| a.vcpus >= 2 && a.failed.is_none())
            .map(|a| (format!("GPOS alone, {} cores", a.vcpus), vec![(lo, a.throughput), (hi, a.throughput)]))
            .collect();
        if !self.ideal.is_empty() {
            refs.push(("ideal X1 * (4 - f)".into(), self.ideal.iter().map(|&(u, x)| (u as f64, x)).collect()));
        }
        let c: Vec<(&str, &[(f64, f64)])> = curves.iter().map(|(n, p)| (n.as_str(), p.as_slice())).collect();
        let r: Vec<(&str, &[(f64, f64)])> = refs.iter().map(|(n, p)| (n.as_str(), p.as_slice())).collect();
        charts::throughput_vs_utilization(&svg, &c, &r).map_err(chart_err(&svg))?;
        Ok(vec![csv, js, svg])
    }
}

// ---------------------------------------------------------------------------
// 3. Migration cost
// ---------------------------------------------------------------------------

/// One migration, both halves, in cycles of simulated time.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Migration {
    pub guest: u8,
    pub vcpu: u8,
    pub departure: bool,
    pub source_core: u8,
    pub destination_core: u8,
    /// The source half (`spm_cpu_migrate`): start and end cycle.
    pub source: (u64, u64),
    /// The destination half (`accept_immigrant`): start and end cycle.
    pub destination: (u64, u64),
}

impl Migration {
    pub fn source_us(&self) -> f64 {
        cycles_to_us(self.source.1 - self.source.0)
    }

    pub fn destination_us(&self) -> f64 {
        cycles_to_us(self.destination.1 - self.destination.0)
    }

    /// From the end of the source half to the start of the destination
    /// half: the mailbox message and the ICI's delivery (negative would
    /// mean the halves overlapped).
    pub fn transit_us(&self) -> f64 {
        (self.destination.0 as f64 - self.source.1 as f64) / CYCLES_PER_US as f64
    }

    /// From the start of the source half to the start of the destination
    /// half.
    pub fn start_to_start_us(&self) -> f64 {
        (self.destination.0 as f64 - self.source.0 as f64) / CYCLES_PER_US as f64
    }
}

/// The migrations of a run made with `keep_events`: each `MigrateOut`
/// paired with the next `MigrateIn` of the same (guest, vCPU), in log
/// order, as `spumone_hosting::trace_export` pairs them. Returns the
/// pairs and the numbers of halves that had no partner (out, in).
pub fn pair_migrations(r: &RunResult) -> (Vec<Migration>, u64, u64) {
    struct Out {
        core: u8,
        cycle: u64,
        cycles: u32,
        departure: bool,
    }
    let mut outs: BTreeMap<(u8, u8), VecDeque<Out>> = BTreeMap::new();
    let mut pairs = Vec::new();
    let mut unpaired_in = 0;
    for &(core, cycle, event) in &r.log.events {
        match event {
            TraceEvent::MigrateOut { guest, vcpu, departure, cycles, .. } => {
                outs.entry((guest, vcpu)).or_default().push_back(Out { core: core as u8, cycle, cycles, departure });
            }
            TraceEvent::MigrateIn { guest, vcpu, cycles, .. } => {
                match outs.get_mut(&(guest, vcpu)).and_then(VecDeque::pop_front) {
                    Some(o) => pairs.push(Migration {
                        guest,
                        vcpu,
                        departure: o.departure,
                        source_core: o.core,
                        destination_core: core as u8,
                        source: (o.cycle.saturating_sub(o.cycles as u64), o.cycle),
                        destination: (cycle.saturating_sub(cycles as u64), cycle),
                    }),
                    None => unpaired_in += 1,
                }
            }
            _ => {}
        }
    }
    let unpaired_out = outs.values().map(|q| q.len() as u64).sum();
    (pairs, unpaired_out, unpaired_in)
}

/// Count, mean, min and max of a set of microsecond values.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Stat {
    pub count: usize,
    pub mean: f64,
    pub min: f64,
    pub max: f64,
}

impl Stat {
    pub fn of(values: impl IntoIterator<Item = f64>) -> Stat {
        let v: Vec<f64> = values.into_iter().collect();
        if v.is_empty() {
            return Stat { count: 0, mean: f64::NAN, min: f64::NAN, max: f64::NAN };
        }
        Stat {
            count: v.len(),
            mean: v.iter().sum::<f64>() / v.len() as f64,
            min: v.iter().copied().fold(f64::INFINITY, f64::min),
            max: v.iter().copied().fold(f64::NEG_INFINITY, f64::max),
        }
    }

    fn json(&self) -> Value {
        if self.count == 0 {
            json!({ "count": 0 })
        } else {
            json!({ "count": self.count, "mean": self.mean, "min": self.min, "max": self.max })
        }
    }
}

/// Departures or returns, summarised.
#[derive(Clone, Debug, PartialEq)]
pub struct MigrationSummary {
    pub departure: bool,
    pub count: usize,
    pub source: Stat,
    pub destination: Stat,
    pub transit: Stat,
    pub start_to_start: Stat,
    /// What the cost table charged for each half (cycles: source,
    /// destination) when the hosted model ran; `None` when the halves
    /// were measured (the board image).
    pub charged_cycles: Option<(u64, u64)>,
    /// The paper's figures (us): source, destination.
    pub paper: (f64, f64),
}

impl MigrationSummary {
    /// Summarise the departures (or returns) of `migrations`; `charged` is
    /// the hosted model's cost table, `None` for the board image.
    pub fn of(migrations: &[Migration], departure: bool, charged: Option<&Costs>) -> MigrationSummary {
        let m: Vec<&Migration> = migrations.iter().filter(|m| m.departure == departure).collect();
        let (charged_cycles, paper) = if departure {
            (charged.map(|c| (c.departure_source, c.departure_destination)), (24.9, 28.0))
        } else {
            (charged.map(|c| (c.return_source, c.return_destination)), (38.1, 12.0))
        };
        MigrationSummary {
            departure,
            count: m.len(),
            source: Stat::of(m.iter().map(|x| x.source_us())),
            destination: Stat::of(m.iter().map(|x| x.destination_us())),
            transit: Stat::of(m.iter().map(|x| x.transit_us())),
            start_to_start: Stat::of(m.iter().map(|x| x.start_to_start_us())),
            charged_cycles,
            paper,
        }
    }

    pub fn name(&self) -> &'static str {
        if self.departure {
            "departure"
        } else {
            "return"
        }
    }
}

/// Parameters of the migration experiment.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MigrationParams {
    /// RTOS samples (1 ms ticks, each one departure and one return).
    pub ms: u32,
}

impl Default for MigrationParams {
    fn default() -> Self {
        MigrationParams { ms: 200 }
    }
}

/// The migration experiment's results.
#[derive(Clone, Debug, PartialEq)]
pub struct MigrationResult {
    pub params: MigrationParams,
    pub run_command: String,
    pub migrations: Vec<Migration>,
    pub departure: MigrationSummary,
    pub ret: MigrationSummary,
    pub unpaired_out: u64,
    pub unpaired_in: u64,
    /// Why the run does not count (a GPOS vCPU starved), if it does not.
    pub failed: Option<String>,
    pub mode: Mode,
    pub costs: Costs,
}

impl MigrationResult {
    /// Mean of a whole round trip: a departure's two halves and a
    /// return's two.
    pub fn round_trip_us(&self) -> f64 {
        self.departure.source.mean + self.departure.destination.mean + self.ret.source.mean + self.ret.destination.mean
    }
}

/// The migration cost: on-demand migration, RTOS utilization 0, a 1 ms
/// periodic task (every tick departs the GPOS's vCPU 0 from core 0 and
/// the RTOS's idling returns it), the GPOS load running throughout.
pub fn migration(params: &MigrationParams, obs: &mut dyn Observer) -> Result<MigrationResult, ExperimentError> {
    let jobs = migration_jobs(params);
    let outcomes = run_jobs(&jobs, obs);
    migration_from(params, &jobs, outcomes)
}

/// The migration experiment's one run, keeping its events.
pub fn migration_jobs(params: &MigrationParams) -> Vec<Job> {
    let v = Variant::new(Policy::OnDemandMigration);
    let s = v.scenario(LATENCY_SPIN_YIELD, params.ms, 0, 4, params.ms + 50);
    vec![Job { keep_events: true, ..Job::new(v.label, s) }]
}

/// The migration experiment's result from the outcome of its
/// [`migration_jobs`].
pub fn migration_from(
    params: &MigrationParams,
    jobs: &[Job],
    outcomes: Vec<Result<Outcome, ExperimentError>>,
) -> Result<MigrationResult, ExperimentError> {
    let mut run = None;
    assemble(jobs, outcomes, |i, f, mode, costs| {
        run = Some((i, f, mode.clone(), *costs));
        Ok(())
    })?;
    let Some((i, f, mode, costs)) = run else {
        return Err(ExperimentError::Setup { scenario: "migration".into(), message: "no run".into() });
    };
    let charged = (mode == Mode::Hosted).then_some(&costs);
    Ok(MigrationResult {
        params: params.clone(),
        run_command: run_command(&jobs[i].scenario),
        departure: MigrationSummary::of(&f.migrations, true, charged),
        ret: MigrationSummary::of(&f.migrations, false, charged),
        migrations: f.migrations,
        unpaired_out: f.unpaired_out,
        unpaired_in: f.unpaired_in,
        failed: f.failed,
        mode,
        costs,
    })
}

impl MigrationResult {
    /// `rp1 lhp migration ...` that reproduces this result.
    pub fn command(&self, out: &Path) -> String {
        format!("rp1 lhp migration --ms {} --out {}", self.params.ms, out.display())
    }

    pub fn table(&self) -> String {
        let mut t = format!(
            "vCPU migration cost (us): on-demand migration, 1 ms periodic RTOS task at 0 % utilization, {} ms, GPOS load on 4 vCPUs\n",
            self.params.ms
        );
        let _ = writeln!(t, "{}", hypervisor_line(&self.mode));
        if let Some(why) = &self.failed {
            let _ = writeln!(t, "  FAILED, not tabulated: {why}");
            return t;
        }
        let _ = writeln!(
            t,
            "  {:<10} {:<12} {:>6} {:>9} {:>9} {:>9} {:>11}",
            "migration", "part", "count", "mean", "min", "max", "paper"
        );
        for m in [&self.departure, &self.ret] {
            let rows = [
                ("source", &m.source, format!("{:.1}", m.paper.0)),
                ("destination", &m.destination, format!("{:.1}", m.paper.1)),
                ("transit", &m.transit, "-".to_string()),
                ("start-start", &m.start_to_start, "-".to_string()),
            ];
            for (part, s, paper) in rows {
                let _ = writeln!(
                    t,
                    "  {:<10} {:<12} {:>6} {:>9.3} {:>9.3} {:>9.3} {:>11}",
                    m.name(),
                    part,
                    s.count,
                    s.mean,
                    s.min,
                    s.max,
                    paper
                );
            }
        }
        if self.unpaired_out + self.unpaired_in > 0 {
            let _ = writeln!(
                t,
                "  halves without a partner: {} source (in flight at the end), {} destination",
                self.unpaired_out, self.unpaired_in
            );
        }
        let _ = writeln!(
            t,
            "  round trip (the four halves' means): {:.1} us; the paper's RP1 figures add up to {:.1} us",
            self.round_trip_us(),
            self.departure.paper.0 + self.departure.paper.1 + self.ret.paper.0 + self.ret.paper.1
        );
        match (self.departure.charged_cycles, self.ret.charged_cycles) {
            (Some((ds, dd)), Some((rs, rd))) => {
                let _ = writeln!(
                    t,
                    "  The source and destination halves are NOT measured: the hosted model charges each half from the\n  \
                     cost table (departure {ds} + {dd} cycles, return {rs} + {rd} cycles), so they equal the table by\n  \
                     construction. The transit is measured: from the end of the source half to the start of the\n  \
                     destination half; start-start is from the start of one to the start of the other."
                );
            }
            _ => {
                let _ = writeln!(
                    t,
                    "  Every figure is measured by the instances' own cycle counters: the source half from the decision\n  \
                     to migrate until the message and the ICI are sent (saving the context, building and sending the\n  \
                     message), the destination half from reading the message until the vCPU is queued (checking it,\n  \
                     restoring the context). Transit: from the end of the source half to the start of the destination\n  \
                     half (the ICI's delivery, the destination core taking it); start-start: start to start."
                );
            }
        }
        if self.departure.transit.min < 0.0 || self.ret.transit.min < 0.0 {
            let _ = writeln!(
                t,
                "  A negative transit (at most one round of the simulator, {} cycles) is the simulator's: cores\n  \
                 take turns of a round, so a core that drains its mailbox on another message's ICI can read a\n  \
                 slot a core earlier in the round wrote later in simulated time. The halves did not overlap.",
                rp1_sim::machine::Config::default().quantum
            );
        }
        t
    }

    /// migration.csv, migration.json and migration_cost.svg.
    pub fn write(&self, dir: &Path) -> Result<Vec<PathBuf>, ExperimentError> {
        make_dir(dir)?;
        let csv = dir.join("migration.csv");
        let mut text = String::from(
            "index,kind,guest,vcpu,source_core,destination_core,source_start_cycle,source_end_cycle,source_us,destination_start_cycle,destination_end_cycle,destination_us,transit_us\n",
        );
        for (i, m) in self.migrations.iter().enumerate() {
            let _ = writeln!(
                text,
                "{i},{},{},{},{},{},{},{},{:.3},{},{},{:.3},{:.3}",
                if m.departure { "departure" } else { "return" },
                m.guest,
                m.vcpu,
                m.source_core,
                m.destination_core,
                m.source.0,
                m.source.1,
                m.source_us(),
                m.destination.0,
                m.destination.1,
                m.destination_us(),
                m.transit_us()
            );
        }
        write_file(&csv, &text)?;

        let js = dir.join("migration.json");
        let kind = |m: &MigrationSummary| {
            json!({
                "count": m.count,
                "source_half_us": m.source.json(),
                "destination_half_us": m.destination.json(),
                "transit_us": m.transit.json(),
                "charged_cycles": m.charged_cycles.map(|(s, d)| json!({ "source": s, "destination": d })),
                "paper_us": { "source": m.paper.0, "destination": m.paper.1 },
            })
        };
        let v = json!({
            "experiment": "migration",
            "command": self.command(dir),
            "run_command": self.run_command,
            "ms": self.params.ms,
            "halves": if self.mode == Mode::Hosted { "charged from the cost table, not measured" } else { "measured by the instances" },
            "transit": "measured: end of the source half to start of the destination half",
            "departure": kind(&self.departure),
            "return": kind(&self.ret),
            "round_trip_us": self.round_trip_us(),
            "failed": self.failed,
            "unpaired": { "source_halves": self.unpaired_out, "destination_halves": self.unpaired_in },
            "hypervisor": hypervisor_json(&self.mode, &self.costs),
        });
        write_file(&js, &pretty(&v))?;

        let svg = dir.join("migration_cost.svg");
        let rows: Vec<(&str, f64, f64)> =
            [&self.departure, &self.ret].iter().map(|m| (m.name(), m.source.mean, m.destination.mean)).collect();
        charts::migration_cost_bars(&svg, &rows).map_err(chart_err(&svg))?;
        Ok(vec![csv, js, svg])
    }
}

// ---------------------------------------------------------------------------
// 4. The demo
// ---------------------------------------------------------------------------

/// Parameters of the demo.
#[derive(Clone, Debug, PartialEq)]
pub struct DemoParams {
    pub samples: u32,
    pub util: u32,
}

impl Default for DemoParams {
    fn default() -> Self {
        DemoParams { samples: 1000, util: 30 }
    }
}

/// The demo's run and what it showed.
#[derive(Debug)]
pub struct DemoResult {
    pub params: DemoParams,
    pub run_command: String,
    pub gpos_ms: u32,
    pub latency: Option<Summary>,
    pub latencies_us: Vec<f64>,
    pub work_units: u64,
    /// Work units per simulated second of the GPOS's run.
    pub throughput: f64,
    pub departure: MigrationSummary,
    pub ret: MigrationSummary,
    /// (guest name, exit status if it exited).
    pub exits: Vec<(String, Option<u32>)>,
    /// Why the run counts as failed (a guest did not exit 0, the cycle
    /// limit), if it does.
    pub failure: Option<ExperimentError>,
    pub description: Description,
    pub result: RunResult,
}

/// The RTOS probe and the SMP load side by side under on-demand migration
/// with dispatch-first and spin-yield, every event kept.
pub fn demo(params: &DemoParams, obs: &mut dyn Observer) -> Result<DemoResult, ExperimentError> {
    let v = Variant::dispatch_first();
    let gpos_ms = params.samples + 50;
    let s = v.scenario(true, params.samples, params.util, 4, gpos_ms);
    obs.planned(1);
    let (desc, _, r) = run_scenario(0, &Job { keep_events: true, ..Job::new(v.label, s.clone()) }, &Mutex::new(obs))?;
    let scenario = format!("demo ({})", run_command(&s));
    let failure = check_run(&scenario, &s, &r)
        .err()
        .or_else(|| starvation(&s, &r).map(|reason| ExperimentError::RunFailed { scenario, reason }));
    let latencies_us = report::latencies_us(&r);
    let work_units = report::work_units(&r);
    let (migrations, _, _) = pair_migrations(&r);
    let charged = (r.mode == Mode::Hosted).then_some(&desc.costs);
    Ok(DemoResult {
        params: params.clone(),
        run_command: run_command(&s),
        gpos_ms,
        latency: Summary::of(&latencies_us),
        latencies_us,
        work_units,
        throughput: work_units as f64 / (gpos_ms as f64 / 1000.0),
        departure: MigrationSummary::of(&migrations, true, charged),
        ret: MigrationSummary::of(&migrations, false, charged),
        exits: r.guests.iter().enumerate().map(|(g, n)| (n.clone(), r.log.exits.get(g).copied().flatten())).collect(),
        failure,
        description: desc,
        result: r,
    })
}

impl DemoResult {
    /// `rp1 lhp demo ...` that reproduces this result.
    pub fn command(&self, out: &Path) -> String {
        format!("rp1 lhp demo --samples {} --util {} --out {}", self.params.samples, self.params.util, out.display())
    }

    /// The short report.
    pub fn summary(&self) -> String {
        let mut t = format!(
            "demo: RTOS probe ({} x 1 ms, burner {} %) beside the SMP load (4 vCPUs, {} ms) under on-demand migration, dispatch-first, spin-yield\n",
            self.params.samples, self.params.util, self.gpos_ms
        );
        let _ = writeln!(t, "  {}", hypervisor_line(&self.result.mode));
        match &self.latency {
            Some(l) => {
                let _ = writeln!(
                    t,
                    "  RTOS dispatch latency: min {:.2} us, p50 {:.2} us, p99 {:.2} us, max {:.2} us ({} samples)",
                    l.min, l.p50, l.p99, l.max, l.count
                );
            }
            None => t.push_str("  RTOS dispatch latency: no samples\n"),
        }
        let _ =
            writeln!(t, "  GPOS throughput: {:.0} work units per second ({} units)", self.throughput, self.work_units);
        for m in [&self.departure, &self.ret] {
            let _ = writeln!(
                t,
                "  {}s: {}, mean source half {:.2} us, destination half {:.2} us",
                m.name(),
                m.count,
                m.source.mean,
                m.destination.mean
            );
        }
        if self.description.hypervisor.dispatch_first {
            let _ = writeln!(
                t,
                "  (dispatch-first: core 0 dispatches the RTOS first and does a departure's source half only once the RTOS\n   \
                 idles or the departure has waited its deferral bound, so the half is not on the RTOS's path)"
            );
        }
        let exits: Vec<String> = self
            .exits
            .iter()
            .map(|(n, e)| match e {
                Some(s) => format!("{n} exited {s}"),
                None => format!("{n} still running"),
            })
            .collect();
        let ok = self.failure.is_none();
        let _ = writeln!(t, "  guests: {}{}", exits.join(", "), if ok { " (every guest exited 0)" } else { "" });
        if let Some(f) = &self.failure {
            let _ = writeln!(t, "  FAILED: {f}");
        }
        t
    }

    /// timeline.json (Chrome trace), latency_cdf.svg, report.txt.
    pub fn write(&self, dir: &Path) -> Result<Vec<PathBuf>, ExperimentError> {
        make_dir(dir)?;
        let timeline = dir.join("timeline.json");
        trace_export::timeline_with(
            &self.result,
            trace_export::Options { description: Some(&self.description), max_events: None },
        )
        .write(&timeline)
        .map_err(|e| ExperimentError::Output { path: timeline.clone(), message: e.to_string() })?;
        let svg = dir.join("latency_cdf.svg");
        let title = format!(
            "RTOS dispatch latency beside the SMP load (on-demand + dispatch-first, RTOS util {} %)",
            self.params.util
        );
        charts::latency_cdf(&svg, &title, &[("on-demand-migration+dispatch-first", &self.latencies_us)])
            .map_err(chart_err(&svg))?;
        let report_path = dir.join("report.txt");
        let mut text = format!("reproduce: {}\n(this run alone: {})\n\n", self.command(dir), self.run_command);
        text += &report::render(&self.description, &self.result);
        write_file(&report_path, &text)?;
        Ok(vec![timeline, svg, report_path])
    }
}
