//! `rp1 lhp`'s printed reports say which hypervisor ran and print the cost
//! table only where it was an input: the hosted model charges every
//! hypervisor path from it, the board image measures its own costs (its
//! reports once printed the table anyway, under measured figures).
//!
//! Owns: these tests and their scratch directories. Must not touch: the
//! repository's files (output goes under the system's temp dir).

use std::process::Command;

fn migration(hosted: bool, out: &std::path::Path) -> String {
    let mut args = vec!["lhp"];
    if hosted {
        args.push("--hosted");
    }
    args.extend(["migration", "--ms", "10", "--out", out.to_str().unwrap()]);
    let o = Command::new(env!("CARGO_BIN_EXE_rp1")).args(&args).output().expect("run rp1");
    let text = String::from_utf8_lossy(&o.stdout).into_owned();
    assert_eq!(o.status.code(), Some(0), "{args:?}: {text}{}", String::from_utf8_lossy(&o.stderr));
    text
}

#[test]
fn the_cost_table_is_printed_only_when_the_hosted_model_charged_it() {
    let dir = std::env::temp_dir().join(format!("rp1-lhp-cli-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);

    let native = migration(false, &dir.join("native"));
    assert!(native.contains("hypervisor: the board image") && native.contains("every cost is measured"), "{native}");
    assert!(!native.contains("hypervisor cost table"), "{native}");
    assert!(!native.contains("departure_source"), "{native}");

    let hosted = migration(true, &dir.join("hosted"));
    assert!(hosted.contains("hypervisor: the hosted model; its costs are charged from the cost table"), "{hosted}");
    assert!(hosted.contains("hypervisor cost table"), "{hosted}");
    assert!(hosted.contains("departure_source            14940"), "{hosted}");
    let _ = std::fs::remove_dir_all(&dir);
}

/// `rp1 lhp overhead` refuses bad sizes before it builds or runs
/// anything: exit 2, the flag and the value named.
#[test]
fn the_overhead_sweep_refuses_bad_sizes_with_the_value_named() {
    let cases: [(&[&str], &str); 7] = [
        (&["--loops", "0"], "rp1 lhp: --loops must be at least 1\n"),
        (&["--loops", "80,90,80"], "rp1 lhp: --loops 80 is given twice\n"),
        (&["--groups", "0"], "rp1 lhp: --groups must be at least 1\n"),
        (&["--loops", "x"], "error: invalid value 'x' for '--loops <LOOPS>': invalid digit found in string\n"),
        (&["--cmdline-variants", "maxcpus=4;maxcpus=4"], "rp1 lhp: --cmdline-variants: \"maxcpus=4\" is empty or given twice\n"),
        (&["--cmdline-variants", "a=1;;b=2"], "rp1 lhp: --cmdline-variants: \"\" is empty or given twice\n"),
        (&["--cmdline-variants", "hackbench=1,1"], "rp1 lhp: --cmdline-variants: \"hackbench=1,1\" may not set hackbench= or hold quotes or non-ASCII\n"),
    ];
    for (args, message) in cases {
        let o = Command::new(env!("CARGO_BIN_EXE_rp1")).args(["lhp", "overhead"]).args(args).output().expect("run rp1");
        let stderr = String::from_utf8_lossy(&o.stderr);
        assert_eq!(o.status.code(), Some(2), "{args:?}: {stderr}");
        assert!(stderr.starts_with(message), "{args:?}: {stderr}");
        assert!(o.stdout.is_empty(), "{args:?}");
    }
}
