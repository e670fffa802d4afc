//! Every subcommand when standard output or standard error cannot be
//! written: a closed pipe (the reader has gone) ends it quietly with
//! status 141, any other failure (/dev/full) with status 2 and a message
//! naming the stream, never a panic. Also what a reader that stops early
//! does to `rp1 run`.
//!
//! Owns: these tests and their scratch directories. Must not touch: the
//! repository's files. `rp1 lhp run --print-description` and `rp1 demo`
//! build guests with the SH-4 cross compiler, as the rest of the suite.

mod common;

use common::*;
use proptest::prelude::*;
use std::fs::OpenOptions;
use std::io::Read;
use std::process::{Command, Output, Stdio};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Stream {
    Stdout,
    Stderr,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Failing {
    /// A pipe whose reading end is closed before `rp1` starts.
    Closed,
    /// /dev/full: every write fails with ENOSPC.
    Full,
}

/// The failing stream as a `Stdio`, the other one captured.
fn failing(kind: Failing) -> Stdio {
    match kind {
        Failing::Closed => {
            let (reader, writer) = std::io::pipe().unwrap();
            drop(reader);
            Stdio::from(writer)
        }
        Failing::Full => Stdio::from(OpenOptions::new().write(true).open("/dev/full").unwrap()),
    }
}

fn run_with(args: &[String], stream: Stream, kind: Failing) -> Output {
    let mut cmd = Command::new(rp1_bin());
    cmd.args(args).stdin(Stdio::null());
    match stream {
        Stream::Stdout => cmd.stdout(failing(kind)).stderr(Stdio::piped()),
        Stream::Stderr => cmd.stdout(Stdio::piped()).stderr(failing(kind)),
    };
    cmd.output().expect("run rp1")
}

/// Each subcommand with arguments that make it write to `stream` early,
/// and the prefix of its messages.
fn cases(dir: &std::path::Path) -> Vec<(Vec<String>, Stream, &'static str)> {
    let image = program(dir, "hello.elf", &print_and_exit(b"hello\n", 0));
    write(dir, "g.elf", &sh_elf(0x8880_0000, &hv_exit_guest(3), &[]));
    let desc = description(dir, "g.elf");
    let v = |args: &[&str]| args.iter().map(|a| a.to_string()).collect::<Vec<_>>();
    vec![
        // The console on stdout, the summary on stderr.
        (v(&["run", s(&image)]), Stream::Stdout, "rp1"),
        (v(&["run", s(&image)]), Stream::Stderr, "rp1"),
        // The report on stdout, then the guest's status on stderr.
        (v(&["hv", s(&desc), "--hosted"]), Stream::Stdout, "rp1"),
        (v(&["hv", s(&desc), "--hosted"]), Stream::Stderr, "rp1"),
        (v(&["lhp", "run", "--print-description"]), Stream::Stdout, "rp1 lhp"),
        (v(&["lhp", "run", "--policy", "bogus"]), Stream::Stderr, "rp1 lhp"),
        (v(&["linux", "--cpus", "1"]), Stream::Stderr, "rp1 linux"),
        (v(&["demo"]), Stream::Stdout, "rp1"),
        (v(&["bench", "1"]), Stream::Stdout, "rp1"),
        // clap's own output: help on stdout, a usage error on stderr.
        (v(&["--help"]), Stream::Stdout, "rp1"),
        (v(&["run"]), Stream::Stderr, "rp1"),
    ]
}

#[test]
fn every_subcommand_ends_cleanly_when_a_stream_fails() {
    let dir = scratch("streams");
    for (args, stream, prefix) in cases(&dir) {
        for kind in [Failing::Closed, Failing::Full] {
            let o = run_with(&args, stream, kind);
            let what = format!("{args:?} with {stream:?} {kind:?}");
            let other = match stream {
                Stream::Stdout => stderr(&o),
                Stream::Stderr => stdout(&o),
            };
            assert!(!other.contains("panicked"), "{what}: {other}");
            match (kind, stream) {
                (Failing::Closed, Stream::Stdout) => {
                    assert_eq!(o.status.code(), Some(141), "{what}: {other}");
                    assert_eq!(other, "", "{what}: a closed pipe ends the command quietly");
                }
                (Failing::Closed, Stream::Stderr) => assert_eq!(o.status.code(), Some(141), "{what}: {other}"),
                (Failing::Full, Stream::Stdout) => {
                    assert_eq!(o.status.code(), Some(2), "{what}: {other}");
                    assert_eq!(other, format!("{prefix}: cannot write to standard output: No space left on device (os error 28)\n"), "{what}");
                }
                (Failing::Full, Stream::Stderr) => assert_eq!(o.status.code(), Some(2), "{what}: {other}"),
            }
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 16, ..ProptestConfig::default() })]
    /// A reader that takes the first `keep` bytes of the console and goes
    /// away: `rp1 run` ends with 0 if it had written everything by then,
    /// else quietly with 141; never with a panic or a message.
    #[test]
    fn a_reader_that_stops_early_ends_run_quietly(count in 1u32..3_000_000, keep in 0usize..1_500_000) {
        let dir = scratch("early-reader");
        let image = program(&dir, "many.elf", &print_repeated(b'x', count));
        let mut child = Command::new(rp1_bin())
            .args(["run", "--quiet", s(&image)])
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let mut out = child.stdout.take().unwrap();
        let mut got = vec![0u8; keep];
        let mut n = 0;
        while n < keep {
            match out.read(&mut got[n..]).unwrap() {
                0 => break,
                k => n += k,
            }
        }
        drop(out);
        let mut err = String::new();
        child.stderr.take().unwrap().read_to_string(&mut err).unwrap();
        let status = child.wait().unwrap();
        prop_assert!(got[..n].iter().all(|&b| b == b'x'));
        prop_assert_eq!(err, "");
        if keep > count as usize {
            prop_assert_eq!(status.code(), Some(0), "the reader read everything");
        } else {
            prop_assert!(matches!(status.code(), Some(0) | Some(141)), "{status:?}");
        }
        if keep + (256 << 10) < count as usize {
            prop_assert_eq!(status.code(), Some(141), "more than a pipe's buffer was left unread");
        }
    }
}

