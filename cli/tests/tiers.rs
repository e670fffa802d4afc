//! The two execution tiers (`--tier interp|jit`) are one machine: every
//! test program, a hypervisor scenario on the board image and a run cut
//! into odd slices give the same output on both, cycle for cycle. Only the
//! host-time figures and the translating tier's own report line may
//! differ. So is a machine that lets a lone core run through the ends of
//! rounds (the default, `cpu::Rounds`): the reference every run here is
//! compared with is the interpreter stopping every core at every round's
//! end (`RP1_FUSE_ROUNDS=0`).
//!
//! Owns: these comparisons. Must not touch: the programs or the machine.
//! (The instruction-level and random-program comparisons are unit tests:
//! sim/src/cpu/jit/tests.rs.)

mod common;

use common::*;
use rp1::programs::{build, Platform};
use std::process::{Command, Stdio};

/// Every program of tests/guests/programs but the bench harnesses (which
/// `rp1 bench` compares itself, and which run long).
const PROGRAMS: &[&str] = &[
    "alu", "branch", "crc", "exceptions", "fpu", "fpu_priv", "fpu_vector", "hello", "ici", "irq_levels", "logic",
    "mac", "memory", "mmu", "muldiv", "selfcheck", "sh4a", "shift", "smp_start", "spinlock", "tmu_periodic",
];

/// Output with what may differ between tiers taken out: host seconds and
/// rates ("host time ...", "..., N.N s host, ..."), the tier's line, and
/// the count of rounds run through (`same_on_both_tiers` checks it).
fn comparable(text: &str) -> String {
    text.lines()
        .filter(|l| !l.starts_with("tier") && !l.starts_with("rounds: "))
        .map(|l| {
            let mut l = l.to_string();
            if let Some(at) = l.find("host time") {
                l.truncate(at);
            }
            if let Some(at) = l.find(" s host,") {
                let start = l[..at].rfind(", ").map_or(at, |p| p + 2);
                l.replace_range(start..at + " s host,".len(), "");
            }
            l
        })
        .collect::<Vec<_>>()
        .join("\n")
}

/// Runs `rp1 ARGS` on `tier`; the translating tier translates a word at
/// its second visit, so that nearly all code runs translated, and
/// compiles on the simulating thread unless `background` (then when its
/// translations come in, and so its counts, vary from run to run). A lone
/// core runs through empty round ends if `fuse`.
fn run_on(tier: &str, background: bool, fuse: bool, args: &[&str]) -> (String, String, Option<i32>) {
    let o = Command::new(rp1_bin())
        .args(args)
        .env("RP1_TIER", tier)
        .env("RP1_JIT_HOT", "2")
        .env("RP1_JIT_BACKGROUND", if background { "1" } else { "0" })
        .env("RP1_FUSE_ROUNDS", if fuse { "1" } else { "0" })
        .stdin(Stdio::null())
        .output()
        .expect("run rp1");
    (stdout(&o), stderr(&o), o.status.code())
}

fn same_on_both_tiers(args: &[&str]) -> String {
    let (out_i, err_i, code_i) = run_on("interp", false, false, args);
    // The interpreter running lone cores through round ends.
    let (out_f, err_f, code_f) = run_on("interp", false, true, args);
    assert_eq!(code_i, code_f, "{args:?}: exit statuses differ (rounds fused)\n{err_i}\n{err_f}");
    assert_eq!(comparable(&out_i), comparable(&out_f), "{args:?}: standard output differs (rounds fused)");
    assert_eq!(comparable(&err_i), comparable(&err_f), "{args:?}: standard error differs (rounds fused)");
    // Compiled in the background: the same machine, whatever was
    // translated by when; every round's end.
    let (out_b, err_b, code_b) = run_on("jit", true, false, args);
    assert_eq!(code_i, code_b, "{args:?}: exit statuses differ (background)\n{err_i}\n{err_b}");
    assert_eq!(comparable(&out_i), comparable(&out_b), "{args:?}: standard output differs (background)");
    assert_eq!(comparable(&err_i), comparable(&err_b), "{args:?}: standard error differs (background)");
    // Compiled on the simulating thread, rounds fused: the default
    // machine but for where it compiles.
    let (out_j, err_j, code_j) = run_on("jit", false, true, args);
    assert_eq!(code_i, code_j, "{args:?}: exit statuses differ\n{err_i}\n{err_j}");
    assert_eq!(comparable(&out_i), comparable(&out_j), "{args:?}: standard output differs");
    assert_eq!(comparable(&err_i), comparable(&err_j), "{args:?}: standard error differs");
    assert!(err_i.contains("tier: interp") || out_i.contains("policy"), "{err_i}");
    assert!(err_j.contains("tier: jit") || out_j.contains("tier jit: "), "{err_j}{out_j}");
    assert!(!err_j.contains(" 0 translations") && !out_j.contains(" 0 translations"), "nothing translated: {err_j}{out_j}");
    // The same rounds, fused or not; both tiers run through the same ends.
    let (rounds_i, rounds_f, rounds_j) = (rounds(&err_i), rounds(&err_f), rounds(&err_j));
    assert_eq!(rounds_i.map(|(_, passed)| passed), rounds_i.map(|_| 0), "{args:?}: rounds passed, unfused");
    assert_eq!(rounds_f, rounds_j, "{args:?}: the tiers ran through different round ends");
    assert_eq!(rounds_i.map(|(all, _)| all), rounds_f.map(|(all, _)| all), "{args:?}: rounds differ");
    out_i + &err_i
}

/// The summary's count of rounds and of those a lone core ran through.
fn rounds(text: &str) -> Option<(u64, u64)> {
    let line = text.lines().find_map(|l| l.strip_prefix("rounds: "))?;
    let (all, rest) = line.split_once(", ")?;
    let passed = rest.split_once(' ')?.0;
    Some((all.parse().ok()?, passed.parse().ok()?))
}

#[test]
fn every_test_program_runs_the_same_on_both_tiers() {
    for program in PROGRAMS {
        let elf = build(program, Platform::Rp1);
        let text = same_on_both_tiers(&["run", "--cores", "4", elf.to_str().expect("utf-8 path")]);
        assert!(text.contains("--- rp1 summary: "), "{program}: {text}");
    }
}

/// Fused rounds are compared above only where a lone core ran through
/// some: these programs run one core alone for a time (the others in
/// reset, or asleep), and their fused runs pass most round ends.
#[test]
fn lone_cores_run_through_round_ends() {
    for program in ["crc", "smp_start", "tmu_periodic", "ici"] {
        let elf = build(program, Platform::Rp1);
        let (_, err, code) = run_on("jit", false, true, &["run", "--cores", "4", elf.to_str().expect("utf-8 path")]);
        assert_eq!(code, Some(0), "{program}: {err}");
        let (all, passed) = rounds(&err).expect("the summary counts rounds");
        assert!(passed > 0 && passed < all, "{program}: {passed} of {all} rounds run through");
        let (_, err, _) = run_on("jit", false, false, &["run", "--cores", "4", elf.to_str().expect("utf-8 path")]);
        assert_eq!(rounds(&err), Some((all, 0)), "{program}: unfused");
    }
}

/// Slices of a prime number of cycles end translations anywhere.
#[test]
fn odd_quanta_and_a_cycle_limit_cut_translations_the_same_way() {
    for program in ["crc", "spinlock", "tmu_periodic"] {
        let elf = build(program, Platform::Rp1);
        for quantum in ["7", "997"] {
            same_on_both_tiers(&["run", "--cores", "4", "--quantum", quantum, "--max-cycles", "2000003", elf.to_str().unwrap()]);
        }
    }
}

/// The hypervisor's board image with the RTOS probe and the SMP load guest
/// under on-demand migration: every latency sample, migration and counter
/// in the report.
#[test]
fn a_hypervisor_scenario_reports_the_same_on_both_tiers() {
    let text = same_on_both_tiers(&["lhp", "run", "--samples", "20", "--gpos-ms", "20", "--util", "30"]);
    assert!(text.contains("rtos_probe: samples=20"), "{text}");
}

#[test]
fn a_bad_tier_is_refused() {
    let o = rp1(&["run", "--tier", "fast", "/dev/null"]);
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert!(stderr(&o).contains("the tier is interp or jit, not \"fast\""), "{}", stderr(&o));
    let o = Command::new(rp1_bin()).args(["run", "/dev/null"]).env("RP1_TIER", "turbo").stdin(Stdio::null()).output().unwrap();
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert!(stderr(&o).contains("RP1_TIER must be interp or jit, not \"turbo\""), "{}", stderr(&o));
    let o = rp1(&["run", "--tier", "jit", "--jit-hot", "0", "/dev/null"]);
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert!(stderr(&o).contains("the hot threshold must be 1 to 65536 visits, not 0"), "{}", stderr(&o));
    let o = Command::new(rp1_bin()).args(["run", "/dev/null"]).env("RP1_JIT_BACKGROUND", "yes").stdin(Stdio::null()).output().unwrap();
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert!(stderr(&o).contains("RP1_JIT_BACKGROUND must be 1 or 0, not \"yes\""), "{}", stderr(&o));
    let o = Command::new(rp1_bin()).args(["run", "/dev/null"]).env("RP1_FUSE_ROUNDS", "2").stdin(Stdio::null()).output().unwrap();
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert!(stderr(&o).contains("RP1_FUSE_ROUNDS must be 1 or 0, not \"2\""), "{}", stderr(&o));
}

/// With neither `--tier` nor `RP1_TIER`, a machine runs on the translating
/// tier (this host has a Cranelift backend), compiling in the background;
/// `--tier interp` still picks the interpreter.
#[test]
fn the_translating_tier_is_the_default() {
    let elf = build("hello", Platform::Rp1);
    let elf = elf.to_str().expect("utf-8 path");
    let run = |extra: &[&str]| {
        let o = Command::new(rp1_bin())
            .arg("run")
            .args(extra)
            .arg(elf)
            .env_remove("RP1_TIER")
            .env_remove("RP1_JIT_BACKGROUND")
            .stdin(Stdio::null())
            .output();
        stderr(&o.expect("run rp1"))
    };
    let default = run(&[]);
    // ... compiling in the background.
    assert!(default.contains(&format!("tier: jit, {}", rp1_sim::cpu::jit::BACKGROUND_NOTE)), "{default}");
    let interp = run(&["--tier", "interp"]);
    assert!(interp.contains("tier: interp"), "{interp}");
}
