//! A sweep of `rp1 lhp` (`latency`, `throughput`, `migration` or `all`)
//! as a list of independent jobs: run in this process on the host's
//! cores, or written out as one `rp1 lhp` command line per scenario whose
//! per-scenario result files are merged afterwards (docs/experiments.md,
//! "Sweeps on many cores and many machines").
//!
//! Owns: which experiments a sweep is made of and their jobs in order
//! (global job numbers from 1, as a job list's lines), running a sweep or
//! one of its jobs, the job lines, the per-scenario result files (their
//! format, writing them, reading and checking them back) and merging
//! them into the experiments' results. The experiments' runs, statistics,
//! tables and output files are cli/src/experiments.rs's: a merged result
//! is put together by the same functions from the same integers
//! (`experiments::Figures`) as one made in-process, so its files are the
//! same bytes. Must not touch: the scenarios (cli/src/lhp.rs), the
//! command line (cli/src/commands/lhp.rs), the guests, the hypervisor or
//! the simulator.
//!
//! Not supported as job lists (yet): `demo` (one run whose result is its
//! whole trace) and `linux` (its own sweep, cli/src/linux_experiment.rs,
//! runs in parallel in-process only).

use crate::experiments::{
    self, latency_variants, run_command, run_jobs, throughput_variants, ExperimentError, Job, LatencyParams,
    LatencyResult, MigrationParams, MigrationResult, Observer, Outcome, ThroughputParams, ThroughputResult,
};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::fmt;
use std::path::{Path, PathBuf};

/// What a per-scenario result file says it is, first thing.
pub const FORMAT: &str = "rp1 lhp job result, version 1";

/// The GPOS-alone lines of the throughput sweep.
const ALONE_VCPUS: [u32; 4] = [1, 2, 3, 4];

/// One experiment of a sweep, with its parameters.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Experiment {
    Latency(LatencyParams),
    Throughput(ThroughputParams),
    Migration(MigrationParams),
}

/// An experiment's result (the migration's, much the largest, boxed).
#[derive(Clone, Debug, PartialEq)]
pub enum ExperimentResult {
    Latency(LatencyResult),
    Throughput(ThroughputResult),
    Migration(Box<MigrationResult>),
}

impl Experiment {
    /// Its subcommand: `latency`, `throughput` or `migration`.
    pub fn name(&self) -> &'static str {
        match self {
            Experiment::Latency(_) => "latency",
            Experiment::Throughput(_) => "throughput",
            Experiment::Migration(_) => "migration",
        }
    }

    /// The subcommand and the arguments that make this experiment.
    pub fn arguments(&self) -> String {
        match self {
            Experiment::Latency(p) => format!("latency --samples {} --util {}", p.samples, p.util),
            Experiment::Throughput(p) => {
                let utils: Vec<String> = p.utils.iter().map(u32::to_string).collect();
                format!(
                    "throughput --utils {} --ms {} --spin-yield {} --burn-window-ms {}",
                    utils.join(","),
                    p.ms,
                    p.spin_yield,
                    p.burn_window_ms
                )
            }
            Experiment::Migration(p) => format!("migration --ms {}", p.ms),
        }
    }

    /// Its runs, in order, on the hosted model if `hosted`.
    pub fn jobs(&self, hosted: bool) -> Vec<Job> {
        let mut jobs = match self {
            Experiment::Latency(p) => experiments::latency_jobs(p, &latency_variants()),
            Experiment::Throughput(p) => experiments::throughput_jobs(p, &throughput_variants(), &ALONE_VCPUS),
            Experiment::Migration(p) => experiments::migration_jobs(p),
        };
        for j in &mut jobs {
            j.scenario.hosted = hosted;
        }
        jobs
    }

    /// Its result from the outcomes of its [`Experiment::jobs`], in order.
    pub fn assemble(
        &self,
        jobs: &[Job],
        outcomes: Vec<Result<Outcome, ExperimentError>>,
    ) -> Result<ExperimentResult, ExperimentError> {
        Ok(match self {
            Experiment::Latency(p) => {
                ExperimentResult::Latency(experiments::latency_from(p, &latency_variants(), jobs, outcomes)?)
            }
            Experiment::Throughput(p) => ExperimentResult::Throughput(experiments::throughput_from(
                p,
                &throughput_variants(),
                &ALONE_VCPUS,
                jobs,
                outcomes,
            )?),
            Experiment::Migration(p) => {
                ExperimentResult::Migration(Box::new(experiments::migration_from(p, jobs, outcomes)?))
            }
        })
    }
}

/// A sweep: one experiment, or `all` (latency, throughput and migration
/// with their defaults, each written to its own subdirectory).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Sweep {
    One(Experiment),
    All,
}

impl Sweep {
    /// Its subcommand.
    pub fn name(&self) -> &'static str {
        match self {
            Sweep::One(e) => e.name(),
            Sweep::All => "all",
        }
    }

    /// The subcommand and the arguments that make this sweep.
    pub fn arguments(&self) -> String {
        match self {
            Sweep::One(e) => e.arguments(),
            Sweep::All => "all".into(),
        }
    }

    /// `rp1 lhp [--hosted] SUBCOMMAND ARGUMENTS`.
    pub fn command(&self, hosted: bool) -> String {
        format!("rp1 lhp {}{}", if hosted { "--hosted " } else { "" }, self.arguments())
    }

    pub fn experiments(&self) -> Vec<Experiment> {
        match self {
            Sweep::One(e) => vec![e.clone()],
            Sweep::All => vec![
                Experiment::Latency(LatencyParams::default()),
                Experiment::Throughput(ThroughputParams::default()),
                Experiment::Migration(MigrationParams::default()),
            ],
        }
    }

    /// Every run of the sweep in order (job k of a job list is `[k - 1]`),
    /// with the index of its experiment in [`Sweep::experiments`].
    pub fn jobs(&self, hosted: bool) -> Vec<(usize, Job)> {
        self.experiments()
            .iter()
            .enumerate()
            .flat_map(|(e, x)| x.jobs(hosted).into_iter().map(move |j| (e, j)))
            .collect()
    }

    /// The results of its experiments, in order, from the outcomes of its
    /// [`Sweep::jobs`]. Each experiment is put together from its own
    /// outcomes; the first that fails is the sweep's error (those after it
    /// are not put together: a serial sweep would not have reached them).
    pub fn assemble(
        &self,
        hosted: bool,
        outcomes: Vec<Result<Outcome, ExperimentError>>,
    ) -> Vec<Result<ExperimentResult, ExperimentError>> {
        let jobs = self.jobs(hosted);
        let mut outcomes = outcomes.into_iter();
        let mut results = Vec::new();
        for (e, x) in self.experiments().iter().enumerate() {
            let own: Vec<Job> = jobs.iter().filter(|(i, _)| *i == e).map(|(_, j)| j.clone()).collect();
            let theirs: Vec<_> = outcomes.by_ref().take(own.len()).collect();
            let r = x.assemble(&own, theirs);
            let failed = r.is_err();
            results.push(r);
            if failed {
                break;
            }
        }
        results
    }

    /// Run the whole sweep in this process, its runs in parallel on
    /// rayon's pool (`experiments::run_jobs`).
    pub fn run(&self, hosted: bool, obs: &mut dyn Observer) -> Vec<Result<ExperimentResult, ExperimentError>> {
        let jobs: Vec<Job> = self.jobs(hosted).into_iter().map(|(_, j)| j).collect();
        let outcomes = run_jobs(&jobs, obs);
        self.assemble(hosted, outcomes)
    }

    /// The job list: for each job, one command line that runs it with the
    /// `rp1` at `exe` and writes its result to `results/job-NNNN.json`
    /// ([`result_file_name`]). Paths are as given (pass absolute ones for
    /// lines that run from anywhere), quoted for a POSIX shell.
    pub fn job_lines(&self, exe: &Path, hosted: bool, results: &Path) -> Vec<String> {
        let n = self.jobs(hosted).len();
        (1..=n)
            .map(|k| {
                format!(
                    "{} lhp {}{} --job {k} --job-result {}",
                    shell_quote(&exe.to_string_lossy()),
                    if hosted { "--hosted " } else { "" },
                    self.arguments(),
                    shell_quote(&results.join(result_file_name(k)).to_string_lossy())
                )
            })
            .collect()
    }
}

/// `job-0007.json`: where job 7's line writes its result.
pub fn result_file_name(job: usize) -> String {
    format!("job-{job:04}.json")
}

/// `text` as one word for a POSIX shell: as it is when it holds only
/// characters no shell treats specially, else in single quotes.
pub fn shell_quote(text: &str) -> String {
    let plain = |c: char| c.is_ascii_alphanumeric() || "/._-+,:=@%".contains(c);
    if !text.is_empty() && text.chars().all(plain) {
        text.to_string()
    } else {
        format!("'{}'", text.replace('\'', "'\\''"))
    }
}

/// A per-scenario result file: which sweep and job it belongs to, and the
/// job's outcome (its figures are integers, so they read back exactly).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct JobResult {
    /// [`FORMAT`].
    pub format: String,
    pub sweep: Sweep,
    /// Run on the hosted model (`rp1 lhp --hosted`).
    pub hosted: bool,
    /// This job's number, from 1, and how many the sweep has.
    pub job: usize,
    pub jobs: usize,
    /// The run's name in tables, and `rp1 lhp run ...` that repeats it.
    pub label: String,
    pub run_command: String,
    pub outcome: Outcome,
}

/// Run job `job` (from 1) of `sweep`. `Err` when the run could not be
/// made (the guests, the image, the description) or there is no such job;
/// a run that ended badly is a result whose outcome says why.
pub fn run_job(sweep: &Sweep, hosted: bool, job: usize, obs: &mut dyn Observer) -> Result<JobResult, ExperimentError> {
    let jobs = sweep.jobs(hosted);
    let Some((_, j)) = job.checked_sub(1).and_then(|i| jobs.get(i)) else {
        return Err(ExperimentError::Setup {
            scenario: sweep.command(hosted),
            message: format!("there is no job {job}: the sweep has {} (1-{})", jobs.len(), jobs.len()),
        });
    };
    let outcome = run_jobs(std::slice::from_ref(j), obs).pop().expect("one job, one outcome")?;
    Ok(JobResult {
        format: FORMAT.into(),
        sweep: sweep.clone(),
        hosted,
        job,
        jobs: jobs.len(),
        label: j.label.clone(),
        run_command: run_command(&j.scenario),
        outcome,
    })
}

/// Write `result` to `path` (its directory made if need be), whole or not
/// at all: it goes to a temporary file beside `path`, renamed into place.
pub fn write_result(path: &Path, result: &JobResult) -> Result<(), ExperimentError> {
    let err =
        |p: &Path, e: &dyn fmt::Display| ExperimentError::Output { path: p.to_path_buf(), message: e.to_string() };
    let mut text = serde_json::to_string(result).map_err(|e| err(path, &e))?;
    text.push('\n');
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).map_err(|e| err(dir, &e))?;
    }
    let mut tmp = path.as_os_str().to_owned();
    tmp.push(format!(".tmp{}", std::process::id()));
    let tmp = PathBuf::from(tmp);
    std::fs::write(&tmp, text).map_err(|e| err(&tmp, &e))?;
    std::fs::rename(&tmp, path).map_err(|e| {
        let _ = std::fs::remove_file(&tmp);
        err(path, &e)
    })
}

/// Why the result files of a directory cannot be merged; the message
/// names the file (or the directory, or the missing files).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MergeError(pub String);

impl fmt::Display for MergeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for MergeError {}

/// The result files of one sweep, read back and checked.
#[derive(Clone, Debug, PartialEq)]
pub struct Merged {
    pub sweep: Sweep,
    pub hosted: bool,
    /// Every job's outcome, in job order.
    pub outcomes: Vec<Outcome>,
}

impl Merged {
    /// The sweep's results, as [`Sweep::run`] returns them.
    pub fn assemble(self) -> Vec<Result<ExperimentResult, ExperimentError>> {
        self.sweep.assemble(self.hosted, self.outcomes.into_iter().map(Ok).collect())
    }
}

/// Read the result files (`*.json`) in `dir`: every one must be a job
/// result of one and the same sweep, made by the jobs this `rp1` would
/// make for it (same labels and scenarios), each job's exactly once and
/// none missing.
pub fn read_results(dir: &Path) -> Result<Merged, MergeError> {
    let bad = |path: &Path, what: String| MergeError(format!("{}: {what}", path.display()));
    let entries = std::fs::read_dir(dir).map_err(|e| bad(dir, format!("cannot read the directory: {e}")))?;
    let mut files = Vec::new();
    for entry in entries {
        let entry = entry.map_err(|e| bad(dir, format!("cannot read the directory: {e}")))?;
        let path = entry.path();
        if path.extension().is_some_and(|x| x == "json") {
            files.push(path);
        }
    }
    files.sort();
    if files.is_empty() {
        return Err(bad(dir, "no job results (*.json) in this directory".into()));
    }
    let mut first: Option<(PathBuf, Sweep, bool, Vec<Job>)> = None;
    let mut found: BTreeMap<usize, (PathBuf, Outcome)> = BTreeMap::new();
    for path in files {
        let bytes = std::fs::read(&path).map_err(|e| bad(&path, format!("cannot read it: {e}")))?;
        let value: serde_json::Value =
            serde_json::from_slice(&bytes).map_err(|e| bad(&path, format!("not a job result (bad JSON: {e})")))?;
        match value.get("format").and_then(|f| f.as_str()) {
            Some(FORMAT) => {}
            Some(other) => {
                return Err(bad(&path, format!("a job result in format `{other}`; this rp1 reads `{FORMAT}`")));
            }
            None => return Err(bad(&path, format!("not a job result (no \"format\": \"{FORMAT}\")"))),
        }
        let r: JobResult = serde_json::from_value(value).map_err(|e| bad(&path, format!("not a job result: {e}")))?;
        let (first_path, sweep, hosted, jobs) = first.get_or_insert_with(|| {
            let jobs = r.sweep.jobs(r.hosted).into_iter().map(|(_, j)| j).collect();
            (path.clone(), r.sweep.clone(), r.hosted, jobs)
        });
        if r.sweep != *sweep || r.hosted != *hosted {
            return Err(bad(
                &path,
                format!(
                    "a job of another sweep (`{}`) than {} (`{}`)",
                    r.sweep.command(r.hosted),
                    first_path.display(),
                    sweep.command(*hosted)
                ),
            ));
        }
        if r.jobs != jobs.len() || r.job == 0 || r.job > jobs.len() {
            return Err(bad(
                &path,
                format!(
                    "says it is job {} of {}, but `{}` has {} jobs",
                    r.job,
                    r.jobs,
                    sweep.command(*hosted),
                    jobs.len()
                ),
            ));
        }
        let j = &jobs[r.job - 1];
        let command = run_command(&j.scenario);
        if r.label != j.label || r.run_command != command {
            return Err(bad(
                &path,
                format!(
                    "job {} is `{}` (`{}`) there, but `{}` (`{command}`) in this rp1's sweep: made by another version?",
                    r.job, r.label, r.run_command, j.label
                ),
            ));
        }
        if let Some((other, _)) = found.get(&r.job) {
            return Err(bad(&path, format!("a second result for job {} (the first is {})", r.job, other.display())));
        }
        found.insert(r.job, (path, r.outcome));
    }
    let (_, sweep, hosted, jobs) = first.expect("at least one file");
    let missing: Vec<String> = (1..=jobs.len())
        .filter(|k| !found.contains_key(k))
        .map(|k| format!("job {k} ({}): {}", jobs[k - 1].label, dir.join(result_file_name(k)).display()))
        .collect();
    if !missing.is_empty() {
        const SHOWN: usize = 10;
        let mut list = missing.iter().take(SHOWN).cloned().collect::<Vec<_>>().join("\n  ");
        if missing.len() > SHOWN {
            list += &format!("\n  ... and {} more", missing.len() - SHOWN);
        }
        return Err(MergeError(format!(
            "{}: {} of the {} jobs of `{}` {} no result; missing:\n  {list}",
            dir.display(),
            missing.len(),
            jobs.len(),
            sweep.command(hosted),
            if missing.len() == 1 { "has" } else { "have" }
        )));
    }
    Ok(Merged { sweep, hosted, outcomes: found.into_values().map(|(_, o)| o).collect() })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::experiments::Figures;
    use spumone_hosting::description::Costs;
    use spumone_hosting::runner::Mode;

    /// A made-up outcome: one latency sample of 1 us, 1000 work units.
    fn outcome(mode: Mode) -> Outcome {
        let figures = Figures {
            run_cycles: 600_000,
            latency_cycles: vec![600],
            work_units: 1000,
            rtos_coverage: Some((5, 5)),
            migrations: Vec::new(),
            unpaired_out: 0,
            unpaired_in: 0,
            failed: None,
        };
        Outcome { mode, costs: Costs::default(), figures: Ok(figures) }
    }

    #[test]
    fn all_is_the_three_experiments_jobs_and_each_is_put_together_from_its_own() {
        let jobs = Sweep::All.jobs(true);
        assert_eq!(jobs.len(), 6 + 4 + 5 * 11 + 1);
        assert_eq!(jobs.iter().filter(|(e, _)| *e == 1).count(), 59);
        let results = Sweep::All.assemble(true, jobs.iter().map(|_| Ok(outcome(Mode::Hosted))).collect());
        let [Ok(ExperimentResult::Latency(l)), Ok(ExperimentResult::Throughput(t)), Ok(ExperimentResult::Migration(m))] =
            results.as_slice()
        else {
            panic!("{results:?}")
        };
        assert_eq!(l.series.len(), 6);
        assert_eq!(l.series[0].latencies_us, [1.0]);
        assert_eq!((t.alone.len(), t.series.len()), (4, 5));
        assert!(t.series.iter().all(|s| s.points.len() == 11 && s.points[10].util == 100));
        assert_eq!(t.series[4].points[3].command, run_command(&jobs[6 + 4 + 4 * 11 + 3].1.scenario));
        assert_eq!(m.migrations.len(), 0);
    }

    #[test]
    fn the_first_failure_in_order_ends_the_sweep() {
        let jobs = Sweep::All.jobs(false);
        let native = Mode::Native { image: "/x/spumone.elf".into() };
        let mut outcomes: Vec<_> = jobs.iter().map(|_| Ok(outcome(native.clone()))).collect();
        let failed = |n: &str| ExperimentError::RunFailed { scenario: n.into(), reason: "r".into() };
        outcomes[3].as_mut().unwrap().figures = Err(failed("third"));
        outcomes[5] = Err(failed("fifth"));
        outcomes[9] = Err(failed("in throughput"));
        let results = Sweep::All.assemble(false, outcomes);
        assert_eq!(results, [Err(failed("third"))]);
    }

    #[test]
    fn a_result_file_reads_back_as_it_was_written() {
        let sweep = Sweep::One(Experiment::Throughput(ThroughputParams::default()));
        let mut o = outcome(Mode::Native { image: "/x/spumone.elf".into() });
        o.figures.as_mut().unwrap().latency_cycles = vec![u64::MAX, 0, 1 << 53 | 1];
        let r = JobResult {
            format: FORMAT.into(),
            sweep,
            hosted: false,
            job: 2,
            jobs: 59,
            label: "l".into(),
            run_command: "c".into(),
            outcome: o,
        };
        let text = serde_json::to_string(&r).unwrap();
        assert_eq!(serde_json::from_str::<JobResult>(&text).unwrap(), r);
        let mut failed = r.clone();
        failed.outcome.figures = Err(ExperimentError::Output { path: "/p".into(), message: "m".into() });
        let text = serde_json::to_string(&failed).unwrap();
        assert_eq!(serde_json::from_str::<JobResult>(&text).unwrap(), failed);
    }

    #[test]
    fn job_lines_quote_what_a_shell_would_split() {
        assert_eq!(shell_quote("/a/b-c_d.json"), "/a/b-c_d.json");
        assert_eq!(shell_quote("/a b/it's"), "'/a b/it'\\''s'");
        assert_eq!(shell_quote(""), "''");
        let lines = Sweep::One(Experiment::Migration(MigrationParams { ms: 5 })).job_lines(
            Path::new("/bin dir/rp1"),
            true,
            Path::new("/r"),
        );
        assert_eq!(lines, ["'/bin dir/rp1' lhp --hosted migration --ms 5 --job 1 --job-result /r/job-0001.json"]);
    }
}
