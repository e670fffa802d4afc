//! The one `rp1` command: every subcommand is there, and the experiment
//! subcommands that used to be binaries of their own (`rp1-lhp`,
//! `rp1-linux`, `rp1-bench`, `rp1-demo`) refuse bad arguments as they did,
//! with exit status 2, before building or running anything (so these tests
//! need no cross compiler).
//!
//! Owns: these tests. Must not touch: the repository's files.

use std::process::{Command, Output};

fn rp1(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_rp1")).args(args).output().expect("run rp1")
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

#[test]
fn help_lists_every_subcommand() {
    let o = rp1(&["--help"]);
    assert!(o.status.success());
    let text = String::from_utf8_lossy(&o.stdout);
    for sub in ["run", "hv", "lhp", "linux", "bench", "demo"] {
        assert!(text.lines().any(|l| l.trim_start().starts_with(&format!("{sub} "))), "{sub} missing from:\n{text}");
    }
}

#[test]
fn lhp_keeps_its_subcommands() {
    let o = rp1(&["lhp", "--help"]);
    assert!(o.status.success());
    let text = String::from_utf8_lossy(&o.stdout);
    for sub in ["run", "latency", "throughput", "migration", "demo", "all"] {
        assert!(text.lines().any(|l| l.trim_start().starts_with(&format!("{sub} "))), "{sub} missing from:\n{text}");
    }
}

#[test]
fn lhp_refuses_bad_arguments_with_status_2() {
    let o = rp1(&["lhp", "run", "--policy", "bogus"]);
    assert_eq!(o.status.code(), Some(2));
    assert_eq!(stderr(&o), "rp1 lhp: unknown policy `bogus`\n");
    let o = rp1(&["lhp", "latency", "--util", "101"]);
    assert_eq!(o.status.code(), Some(2));
    assert_eq!(stderr(&o), "rp1 lhp: --util 101 is above 100\n");
    let o = rp1(&["lhp", "throughput", "--burn-window-ms", "0"]);
    assert_eq!(o.status.code(), Some(2));
    assert_eq!(stderr(&o), "rp1 lhp: --burn-window-ms 0 is not 1-7000\n");
}

#[test]
fn linux_and_bench_refuse_bad_arguments_with_status_2() {
    for args in [&["linux", "--cpus", "5"][..], &["linux", "--max-seconds", "0"], &["bench", "many"], &["demo", "extra"]] {
        let o = rp1(args);
        assert_eq!(o.status.code(), Some(2), "{args:?}: {}", stderr(&o));
    }
}
