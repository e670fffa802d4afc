//! `rp1 lhp`'s sweeps on many cores and as job lists (docs/experiments.md,
//! "Sweeps on many cores and many machines"): a small sweep writes the
//! same bytes run one run at a time (RAYON_NUM_THREADS=1), two at a time,
//! and as a job list whose lines run one by one under bash and whose
//! per-scenario results `rp1 lhp merge` puts together; and `merge` refuses
//! a missing, corrupt, duplicated or foreign result file with status 2
//! and the file's name, without panicking.
//!
//! The sweeps are tiny (5 samples, 5 ms) and run the hosted model, except
//! the migration one, which runs the board image so that a native run's
//! result file is read back too. Owns: these tests and their scratch
//! directories. Must not touch: the repository's files.

mod common;

use common::{s, scratch, Scratch};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

/// `rp1 ARGS` with RAYON_NUM_THREADS set to `threads`, if given.
fn rp1(args: &[&str], threads: Option<u32>) -> Output {
    let mut c = Command::new(common::rp1_bin());
    c.args(args).stdin(Stdio::null());
    match threads {
        Some(n) => c.env("RAYON_NUM_THREADS", n.to_string()),
        None => c.env_remove("RAYON_NUM_THREADS"),
    };
    c.output().expect("run rp1")
}

fn ok(o: Output, what: &str) -> String {
    let (out, err) = (common::stdout(&o), common::stderr(&o));
    assert_eq!(o.status.code(), Some(0), "{what}:\n{out}{err}");
    assert!(!err.contains("panicked"), "{what}: {err}");
    out
}

/// Every file under `dir` (relative name, bytes).
fn files(dir: &Path) -> BTreeMap<PathBuf, Vec<u8>> {
    fn walk(root: &Path, dir: &Path, into: &mut BTreeMap<PathBuf, Vec<u8>>) {
        for e in std::fs::read_dir(dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display())) {
            let path = e.unwrap().path();
            if path.is_dir() {
                walk(root, &path, into);
            } else {
                into.insert(path.strip_prefix(root).unwrap().to_path_buf(), std::fs::read(&path).unwrap());
            }
        }
    }
    let mut all = BTreeMap::new();
    walk(dir, dir, &mut all);
    all
}

fn assert_same_files(a: &Path, b: &Path) {
    let (fa, fb) = (files(a), files(b));
    assert!(!fa.is_empty(), "{} is empty", a.display());
    assert_eq!(fa.keys().collect::<Vec<_>>(), fb.keys().collect::<Vec<_>>(), "{} and {}", a.display(), b.display());
    for (name, bytes) in &fa {
        assert!(bytes == &fb[name], "{} differs between {} and {}", name.display(), a.display(), b.display());
    }
}

/// Write the job list of `rp1 lhp SWEEP --out OUT` with its results in
/// `results`, run every line with bash one after the other, and merge
/// them into `out`. Returns the merge's standard output.
fn run_job_list(sweep: &[&str], dir: &Path, results: &Path, out: &Path) -> String {
    let list = dir.join("jobs.txt");
    let mut args = sweep.to_vec();
    args.extend(["--out", s(out), "--jobs-out", s(&list), "--results-dir", s(results)]);
    ok(rp1(&args, None), "--jobs-out");
    let lines = std::fs::read_to_string(&list).unwrap();
    assert!(lines.ends_with('\n'), "{lines}");
    for (k, line) in lines.lines().enumerate() {
        assert!(line.contains(&format!(" --job {} --job-result ", k + 1)), "line {}: {line}", k + 1);
        let o = Command::new("bash").arg("-c").arg(line).stdin(Stdio::null()).output().expect("run bash");
        ok(o, line);
    }
    ok(rp1(&["lhp", "merge", s(results), "--out", s(out)], None), "merge")
}

/// `rp1 SWEEP --out OUT` with `threads` threads (None: as many as rayon
/// likes), its files then moved to `dir/keep`. Returns what it printed.
fn in_process(sweep: &[&str], threads: Option<u32>, out: &Path, keep: &Path) -> String {
    let mut args = sweep.to_vec();
    args.extend(["--out", s(out)]);
    let printed = ok(rp1(&args, threads), &format!("{args:?} on {threads:?} threads"));
    std::fs::rename(out, keep).unwrap();
    printed
}

#[test]
fn a_sweep_writes_the_same_bytes_on_one_thread_on_two_and_from_its_job_list() {
    let dir = scratch("lhp-jobs-same");
    let out = dir.join("out");

    // Throughput (the GPOS alone, then each policy at each utilization:
    // 14 runs): one thread, two threads, the job list.
    let sweep = ["lhp", "--hosted", "throughput", "--utils", "0,100", "--ms", "5"];
    let serial = in_process(&sweep, Some(1), &out, &dir.join("serial"));
    let parallel = in_process(&sweep, Some(2), &out, &dir.join("parallel"));
    let merged = run_job_list(&sweep, &dir, &dir.join("throughput-results"), &out);
    assert_eq!(std::fs::read_dir(dir.join("throughput-results")).unwrap().count(), 14, "one result per run");
    assert_same_files(&dir.join("serial"), &dir.join("parallel"));
    assert_same_files(&dir.join("serial"), &out);
    assert_eq!(serial, parallel);
    assert_eq!(serial, merged, "merge prints what the sweep printed");

    // Latency (a run per policy): in-process against the job list.
    std::fs::remove_dir_all(&out).unwrap();
    let sweep = ["lhp", "--hosted", "latency", "--samples", "5"];
    let printed = in_process(&sweep, None, &out, &dir.join("latency"));
    let merged = run_job_list(&sweep, &dir, &dir.join("latency-results"), &out);
    assert_same_files(&dir.join("latency"), &out);
    assert_eq!(printed, merged);

    // Migration on the board image: its one run, measured, read back.
    std::fs::remove_dir_all(&out).unwrap();
    let sweep = ["lhp", "migration", "--ms", "5"];
    let printed = in_process(&sweep, None, &out, &dir.join("migration"));
    assert!(printed.contains("hypervisor: the board image"), "{printed}");
    let merged = run_job_list(&sweep, &dir, &dir.join("migration-results"), &out);
    assert_same_files(&dir.join("migration"), &out);
    assert_eq!(printed, merged);
}

/// `rp1 lhp merge DIR` must fail with status 2, no panic, and say `what`.
fn refused(dir: &Path, what: &[&str]) {
    let o = rp1(&["lhp", "merge", s(dir), "--out", s(&dir.with_extension("out"))], None);
    let err = common::stderr(&o);
    assert_eq!(o.status.code(), Some(2), "merge {}: {err}{}", dir.display(), common::stdout(&o));
    assert!(!err.contains("panicked"), "{err}");
    for w in what {
        assert!(err.contains(w), "merge {}: no `{w}` in: {err}", dir.display());
    }
    assert!(!dir.with_extension("out").exists(), "nothing written");
}

/// A copy of `results` in `dir/name`, changed by `change`.
fn variant(dir: &Scratch, results: &Path, name: &str, change: impl FnOnce(&Path)) -> PathBuf {
    let to = dir.join(name);
    std::fs::create_dir_all(&to).unwrap();
    for e in std::fs::read_dir(results).unwrap() {
        let p = e.unwrap().path();
        std::fs::copy(&p, to.join(p.file_name().unwrap())).unwrap();
    }
    change(&to);
    to
}

#[test]
fn merge_names_a_missing_corrupt_duplicated_or_foreign_result_file_and_exits_2() {
    let dir = scratch("lhp-jobs-bad");
    let results = dir.join("results");
    let sweep = ["lhp", "--hosted", "latency", "--samples", "5"];
    // Jobs 1 and 2 of the six, as their job lines run them.
    for k in ["1", "2"] {
        let file = results.join(format!("job-000{k}.json"));
        let mut args = sweep.to_vec();
        args.extend(["--job", k, "--job-result", s(&file)]);
        ok(rp1(&args, None), "a job");
    }
    let foreign = dir.join("foreign.json");
    ok(
        rp1(&["lhp", "--hosted", "migration", "--ms", "5", "--job", "1", "--job-result", s(&foreign)], None),
        "migration",
    );

    let job = |d: &Path, k: u32| d.join(format!("job-{k:04}.json"));
    let missing = job(&results, 3);
    refused(&results, &["4 of the 6 jobs", "have no result", s(&missing), "trap-migration"]);

    let d = variant(&dir, &results, "duplicated", |d| {
        std::fs::copy(job(d, 2), d.join("job-0002 copy.json")).unwrap();
    });
    refused(&d, &[s(&job(&d, 2)), s(&d.join("job-0002 copy.json")), "a second result for job 2"]);

    let d = variant(&dir, &results, "truncated", |d| {
        let text = std::fs::read(job(d, 2)).unwrap();
        std::fs::write(job(d, 2), &text[..text.len() / 2]).unwrap();
    });
    refused(&d, &[s(&job(&d, 2)), "not a job result (bad JSON"]);

    let d =
        variant(&dir, &results, "garbage", |d| std::fs::write(d.join("job-0003.json"), b"\x00\xff not json").unwrap());
    refused(&d, &[s(&job(&d, 3)), "not a job result"]);

    let d = variant(&dir, &results, "other-format", |d| {
        let text = std::fs::read_to_string(job(d, 1)).unwrap().replace("version 1", "version 9");
        std::fs::write(job(d, 1), text).unwrap();
    });
    refused(&d, &[s(&job(&d, 1)), "format `rp1 lhp job result, version 9`"]);

    let d = variant(&dir, &results, "changed", |d| {
        let text = std::fs::read_to_string(job(d, 1)).unwrap().replace("\"work_units\":", "\"work_units\":-");
        std::fs::write(job(d, 1), text).unwrap();
    });
    refused(&d, &[s(&job(&d, 1)), "not a job result"]);

    let d = variant(&dir, &results, "foreign", |d| {
        std::fs::copy(&foreign, d.join("job-0003.json")).unwrap();
    });
    refused(&d, &[s(&job(&d, 3)), "a job of another sweep (`rp1 lhp --hosted migration --ms 5`)"]);

    let d = variant(&dir, &results, "empty", |d| {
        for k in [1, 2] {
            std::fs::remove_file(job(d, k)).unwrap();
        }
    });
    refused(&d, &[s(&d), "no job results"]);
    refused(&dir.join("nowhere"), &[s(&dir.join("nowhere")), "cannot read the directory"]);

    // A job that is not in the sweep.
    let nowhere = dir.join("x.json");
    let mut args = sweep.to_vec();
    args.extend(["--job", "7", "--job-result", s(&nowhere)]);
    let o = rp1(&args, None);
    assert_eq!(o.status.code(), Some(2), "{}", common::stderr(&o));
    assert!(common::stderr(&o).contains("--job 7: `rp1 lhp --hosted latency --samples 5 --util 0` has 6 jobs (1-6)"));
}
