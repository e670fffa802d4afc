//! `rp1 bench` with a few passes: it runs from the repository alone (its
//! workload, harnesses and peer script are all in the repository), the
//! simulator's CRCs are right, and each peer is either timed with the right
//! CRC or reported as not measured. Nothing here looks at a time or a
//! rate, so a slow or busy machine passes as well as a fast one.
//!
//! Owns: these tests. Must not touch: the repository's files. Builds the
//! bench harnesses with the SH-4 cross compiler, as the rest of the suite;
//! the peers are run when GXemul and qemu-sh4 are installed.

mod common;

use common::*;
use std::process::{Command, Stdio};

const PEERS: [&str; 2] = ["gxemul", "qemu-sh4"];

fn lines_starting<'a>(text: &'a str, prefix: &str) -> Vec<&'a str> {
    text.lines().filter(|l| l.starts_with(prefix)).collect()
}

#[test]
fn bench_runs_from_the_repository_and_checks_every_crc() {
    let o = rp1(&["bench", "--repeat", "2", "10"]);
    let out = stdout(&o);
    assert!(o.status.success(), "{:?}\n{out}{}", o.status, stderr(&o));
    assert!(!out.contains("shared/"), "the bench needs nothing outside the repository:\n{out}");

    // 10 passes: the host's CRC, named in the workload line.
    let workload = lines_starting(&out, "workload: ");
    assert_eq!(workload.len(), 1, "{out}");
    assert!(workload[0].contains("bench_workload.h") && workload[0].contains("expected CRC 2e629cde"), "{out}");
    for tier in ["interp", "jit   "] {
        assert_eq!(lines_starting(&out, &format!("rp1-sim {tier} 1 core:  crc ok ")).len(), 1, "{out}");
        assert_eq!(lines_starting(&out, &format!("rp1-sim {tier} 4 cores: crc ok ")).len(), 1, "{out}");
    }
    // Two runs of each, medians: and the runs that stop at every round's
    // end, the same instructions and cycles, the right CRC.
    let jit = lines_starting(&out, "rp1-sim jit    1 core:  crc ok ");
    assert!(jit[0].contains("(median of 2 runs, "), "{out}");
    let unfused = lines_starting(&out, "rp1-sim jit    1 core, stopping at every round's end (--no-fuse-rounds): crc ok ");
    assert!(unfused.len() == 1 && unfused[0].contains("(instructions and cycles identical)"), "{out}");
    let tiers = lines_starting(&out, "jit / interp: ");
    assert!(tiers.len() == 1 && tiers[0].ends_with("simulated cycles and instructions identical"), "{out}");

    // Every peer is timed with the right CRC or said to be unmeasured.
    if lines_starting(&out, "peers not measured: ").is_empty() {
        for peer in PEERS {
            let lines: Vec<&str> = out.lines().filter(|l| l.split_whitespace().next() == Some(peer)).collect();
            assert_eq!(lines.len(), 1, "one line for {peer}:\n{out}");
            let rest = lines[0][peer.len()..].trim_start();
            assert!(rest.starts_with("crc ok ") || rest.starts_with("not measured: "), "{out}");
        }
    }
    assert_eq!(lines_starting(&out, "measured: ").len(), 1, "{out}");
}

#[test]
fn a_missing_peer_is_reported_as_not_measured() {
    let o = Command::new(rp1_bin())
        .args(["bench", "1"])
        .env("GXEMUL", "/nonexistent/gxemul")
        .env("QEMU_SH4", "/nonexistent/qemu-sh4")
        .stdin(Stdio::null())
        .output()
        .expect("run rp1");
    let out = stdout(&o);
    assert!(o.status.success(), "{:?}\n{out}{}", o.status, stderr(&o));
    assert!(out.contains("expected CRC 5e4e1995"), "{out}");
    // The script itself runs (the cross compiler is there: the harnesses
    // were built), so each peer gets its own line.
    for peer in PEERS {
        let want = format!("not measured: /nonexistent/{peer} not found; scripts/setup.sh installs it");
        assert!(out.lines().any(|l| l.starts_with(peer) && l.contains(&want)), "{peer}: {want}\n{out}");
    }
}
