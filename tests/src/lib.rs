//! rp1-systests: checks the bare-metal SH-4A test programs in
//! `tests/guests` against the two reference emulators, and holds the
//! integration tests of the simulator, the hosted hypervisor, the
//! experiments and Linux (the `[[test]]` targets in Cargo.toml).
//!
//! * [`run_gxemul`] and [`run_qemu`] run a built ELF on GXemul's `testsh`
//!   machine or `qemu-sh4` user mode and return what it printed.
//! * [`DIFFERENTIAL`] and [`RP1_ONLY`] list the programs; [`references`]
//!   says which emulators can run a differential program.
//! * [`check_transcript`] compares what a program printed (on the RP1
//!   simulator, say) with its transcript in `tests/guests/expected/`.
//! * Building the programs ([`build`], [`Platform`], ...) is the `rp1`
//!   crate's (`cli/src/programs.rs`, which `rp1 demo` and `rp1 bench` use
//!   too); it is re-exported here so the tests name it as before.
//!
//! What each program checks, and why some references cannot run some
//! programs, is in `docs/test-programs.md`.
//!
//! Owns: the reference runners, the program lists, the transcript checks,
//! and the tests. Must not touch: how programs and guests are built, the
//! experiments or the simulator (it uses the `rp1`, `spumone-hosting` and
//! `rp1-sim` crates' public APIs).

pub use rp1::programs::*;

use std::fs;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// Programs whose transcript must be byte-identical on every platform
/// that can run them (the checked-in `tests/guests/expected/<name>.txt`).
/// All of them are meant to run on the RP1 simulator too; which reference
/// emulators can run each one is [`references`].
pub const DIFFERENTIAL: &[&str] = &[
    "hello",
    "alu",
    "muldiv",
    "shift",
    "logic",
    "memory",
    "branch",
    "crc",
    "mac",
    "sh4a",
    "fpu",
    "fpu_vector",
];

/// Programs only the RP1 simulator can run (privileged, multi-core, or
/// checking what both references get wrong). Each checks itself, prints
/// "ok ..."/"FAIL ..." lines and a final `PASS <name>: N checks`, exits 0
/// on success, and has a hand-derived golden transcript in
/// `tests/guests/expected/<name>.txt` (lines starting with `#` carry
/// simulator-specific numbers and are not part of the comparison: see
/// [`golden_lines`]).
pub const RP1_ONLY: &[&str] = &[
    "selfcheck",
    "exceptions",
    "irq_levels",
    "tmu_periodic",
    "smp_start",
    "ici",
    "spinlock",
    "mmu",
    "fpu_priv",
];

/// The reference emulators that can run a differential program; the
/// reasons for each exclusion are in `docs/test-programs.md`.
pub fn references(program: &str) -> &'static [Platform] {
    const BOTH: &[Platform] = &[Platform::Gxemul, Platform::QemuUser];
    match program {
        // MAC.L/TST.B #imm,@(R0,GBR), SH-4A instructions and IEEE FPU
        // rounding are missing or wrong in GXemul 0.7.
        "mac" | "sh4a" | "fpu" => &[Platform::QemuUser],
        // qemu 7.2 only accepts FIPR/FTRV/FSCA/FSRRA with FPSCR.PR=1.
        "fpu_vector" => &[Platform::Gxemul],
        _ => BOTH,
    }
}


/// The checked-in transcript of a program: `tests/guests/expected/<name>.txt`.
pub fn expected_path(program: &str) -> PathBuf {
    guests_dir().join("expected").join(format!("{program}.txt"))
}

/// Reads [`expected_path`].
pub fn expected(program: &str) -> Result<String> {
    Ok(fs::read_to_string(expected_path(program))?)
}

/// The lines of an RP1 transcript that a golden comparison looks at: all
/// but the `#` lines, which report simulator-specific numbers (cycle
/// ratios and the like).
pub fn golden_lines(transcript: &str) -> Vec<&str> {
    transcript.lines().filter(|l| !l.starts_with('#')).collect()
}

/// `Ok` if the two transcripts are equal, else a message showing the
/// first difference with a little context (transcripts can be long).
pub fn compare(what: &str, want: &str, got: &str) -> std::result::Result<(), String> {
    if want == got {
        return Ok(());
    }
    let w: Vec<&str> = want.lines().collect();
    let g: Vec<&str> = got.lines().collect();
    let first = w
        .iter()
        .zip(&g)
        .position(|(a, b)| a != b)
        .unwrap_or(w.len().min(g.len()));
    let mut msg = format!(
        "{what}: transcripts differ at line {} (want {} lines, got {})\n",
        first + 1,
        w.len(),
        g.len()
    );
    let from = first.saturating_sub(2);
    for i in from..(first + 3) {
        if let Some(l) = w.get(i) {
            msg += &format!("  want {:5}: {l}\n", i + 1);
        }
        if let Some(l) = g.get(i) {
            msg += &format!("  got  {:5}: {l}\n", i + 1);
        }
    }
    if w.len() == g.len() && want.ends_with('\n') != got.ends_with('\n') {
        msg += "  (only the final newline differs)\n";
    }
    Err(msg)
}

/// Checks what a program printed (on any platform, e.g. the RP1
/// simulator) against its checked-in transcript: byte for byte for a
/// [`DIFFERENTIAL`] program, [`golden_lines`] for an [`RP1_ONLY`] one.
pub fn check_transcript(program: &str, output: &str) -> std::result::Result<(), String> {
    let want = expected(program).map_err(|e| format!("{program}: no transcript: {e}"))?;
    if RP1_ONLY.contains(&program) {
        let mut w = golden_lines(&want).join("\n");
        let mut g = golden_lines(output).join("\n");
        w.push('\n');
        g.push('\n');
        compare(program, &w, &g)
    } else {
        compare(program, &want, output)
    }
}


/// How long an emulator may run (`RP1_GUEST_TIMEOUT` seconds, default 120).
pub fn run_timeout() -> Duration {
    let secs = std::env::var("RP1_GUEST_TIMEOUT")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(120);
    Duration::from_secs(secs)
}

/// Runs `cmd` with stdin closed, collecting stdout (stderr is appended)
/// until it exits or `limit` passes.
fn run_captured(
    tool: &str,
    cmd: &mut Command,
    limit: Duration,
) -> Result<(std::process::ExitStatus, String)> {
    let mut child = cmd
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()?;
    let mut out = child.stdout.take().unwrap();
    let mut err = child.stderr.take().unwrap();
    let out_reader = std::thread::spawn(move || {
        let mut v = Vec::new();
        let _ = out.read_to_end(&mut v);
        v
    });
    let err_reader = std::thread::spawn(move || {
        let mut v = Vec::new();
        let _ = err.read_to_end(&mut v);
        v
    });
    let start = Instant::now();
    let status = loop {
        if let Some(status) = child.try_wait()? {
            break Some(status);
        }
        if start.elapsed() > limit {
            let _ = child.kill();
            let _ = child.wait();
            break None;
        }
        std::thread::sleep(Duration::from_millis(10));
    };
    let mut text = String::from_utf8_lossy(&out_reader.join().unwrap_or_default()).into_owned();
    let err_text = String::from_utf8_lossy(&err_reader.join().unwrap_or_default()).into_owned();
    if !err_text.is_empty() {
        text.push_str(&err_text);
    }
    match status {
        Some(s) => Ok((s, text)),
        None => Err(Error::Timeout {
            tool: tool.to_string(),
            after: limit,
            output: text,
        }),
    }
}

/// GXemul's console goes through a pseudo-terminal (it insists on a tty),
/// so the text has CR LF line ends and starts with a few "%"-lines about
/// the console; both are removed.
fn clean_gxemul_output(raw: &str) -> String {
    let text = raw.replace('\r', "");
    let mut lines = text.lines().peekable();
    while let Some(l) = lines.peek() {
        if l.starts_with('%') {
            lines.next();
        } else {
            break;
        }
    }
    let mut out = String::new();
    for l in lines {
        out.push_str(l);
        out.push('\n');
    }
    out
}

fn shell_quote(p: &Path) -> String {
    format!("'{}'", p.display().to_string().replace('\'', r"'\''"))
}

/// Runs an ELF built for [`Platform::Gxemul`] on GXemul's `testsh`
/// machine (`gxemul -q -E testsh`, under util-linux `script` because
/// GXemul wants a terminal) and returns what the program printed.
pub fn run_gxemul(elf: &Path) -> Result<String> {
    require("gxemul", "install Debian's gxemul")?;
    require(
        "script",
        "util-linux `script` runs GXemul on a pseudo-terminal",
    )?;
    let limit = run_timeout();
    // `timeout` inside the pty bounds GXemul itself even if `script` is
    // killed first; -e passes GXemul's exit status through.
    let inner = format!(
        "exec timeout -k 5 {} gxemul -q -E testsh {}",
        limit.as_secs() + 1,
        shell_quote(elf)
    );
    let mut cmd = Command::new("script");
    cmd.arg("-qec").arg(inner).arg("/dev/null");
    let (status, raw) = run_captured("gxemul", &mut cmd, limit + Duration::from_secs(10))?;
    let output = clean_gxemul_output(&raw);
    if status.code() == Some(124) {
        return Err(Error::Timeout {
            tool: "gxemul".into(),
            after: limit,
            output,
        });
    }
    if !status.success() {
        return Err(Error::Failed {
            tool: "gxemul".into(),
            status: status.to_string(),
            output,
        });
    }
    Ok(output)
}

/// Runs an ELF built for [`Platform::QemuUser`] with `qemu-sh4` and
/// returns its standard output (standard error is appended). A non-zero
/// exit status is an error.
pub fn run_qemu(elf: &Path) -> Result<String> {
    let qemu = std::env::var("QEMU_SH4").unwrap_or_else(|_| "qemu-sh4".to_string());
    require(&qemu, "install Debian's qemu-user")?;
    let mut cmd = Command::new(&qemu);
    cmd.arg(elf);
    let (status, output) = run_captured("qemu-sh4", &mut cmd, run_timeout())?;
    if !status.success() {
        return Err(Error::Failed {
            tool: "qemu-sh4".into(),
            status: status.to_string(),
            output,
        });
    }
    Ok(output)
}

/// Runs a built ELF on the reference emulator for `platform`
/// ([`Platform::Rp1`] has none here: that is the simulator's job).
pub fn run_reference(platform: Platform, elf: &Path) -> Result<String> {
    match platform {
        Platform::Gxemul => run_gxemul(elf),
        Platform::QemuUser => run_qemu(elf),
        Platform::Rp1 => panic!("the RP1 is run by the simulator, not by a reference emulator"),
    }
}


#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn gxemul_banner_is_removed() {
        let raw = "%\r\n%  WARNING! Input to console handle \"cons\" wasn't enabled,\r\n%\r\nhello\r\nworld\r\n";
        assert_eq!(clean_gxemul_output(raw), "hello\nworld\n");
    }

    #[test]
    fn rp1_transcripts_ignore_comment_lines() {
        let golden = expected("tmu_periodic").unwrap();
        let run = golden.replace("# <mean interval", "# 12345 cycles <mean interval");
        assert!(check_transcript("tmu_periodic", &run).is_ok());
        assert!(check_transcript("tmu_periodic", &run.replace("ok no", "FAIL no")).is_err());
        let hello = expected("hello").unwrap();
        assert!(check_transcript("hello", &hello).is_ok());
        assert!(check_transcript("hello", &format!("# x\n{hello}")).is_err());
    }

    #[test]
    fn golden_lines_skip_comments() {
        assert_eq!(golden_lines("a\n# 12 cycles\nb\n"), vec!["a", "b"]);
    }

    #[test]
    fn compare_points_at_the_first_difference() {
        let e = compare("x", "a\nb\nc\n", "a\nB\nc\n").unwrap_err();
        assert!(e.contains("line 2"), "{e}");
        assert!(compare("x", "a\n", "a\n").is_ok());
    }

    #[test]
    fn every_listed_program_has_a_source() {
        for p in DIFFERENTIAL.iter().chain(RP1_ONLY) {
            assert!(program_sources(p).is_ok(), "{p}");
        }
    }
}

/// `scripts/patch-size.sh` run over a patch series directory (with
/// `--limit 200`): the total of changed lines it reports, and its output
/// (for messages). Panics if the script fails or prints no total.
pub fn patch_series_size(dir: &Path) -> (u32, String) {
    let out = Command::new("bash")
        .arg(workspace_dir().join("scripts/patch-size.sh"))
        .args(["--limit", "200"])
        .arg(dir)
        .output()
        .expect("run patch-size.sh");
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(out.status.success(), "{text}{}", String::from_utf8_lossy(&out.stderr));
    let total = text
        .lines()
        .find_map(|l| l.split("= ").nth(1)?.split(' ').next()?.parse().ok())
        .unwrap_or_else(|| panic!("no total line:\n{text}"));
    (total, text)
}

/// The hypervisor runs' shared checks (tests/board_hostile.rs,
/// tests/faults.rs).
pub mod runs {
    use spumone_hosting::runner::RunResult;
    use spumone_percore::instance::Stats;

    /// A counter summed over the cores.
    pub fn sum(r: &RunResult, f: impl Fn(&Stats) -> u64) -> u64 {
        r.stats.iter().map(f).sum()
    }

    /// The IPIs one unfinished hypervisor entry can hold that its core's
    /// published counters do not show: every message bit of every vCPU
    /// it hosts, taken from their IPI words at once (a sending entry
    /// holds one).
    pub const IPIS_IN_ONE_ENTRY: u64 =
        spumone_migration::ipi::MESSAGE_BITS.count_ones() as u64 * spumone_percore::instance::MAX_RESIDENT as u64;

    /// raised = injected + coalesced + cancelled + still pending: exactly
    /// when every core had finished its hypervisor entry at the end;
    /// otherwise (`RunResult::inside_entry_at_end`: a core stopped for
    /// good inside one, say) within the IPIs those unfinished entries can
    /// hold. Returns how many were raised.
    pub fn check_interrupt_accounting(r: &RunResult, what: &str) -> u64 {
        let raised = sum(r, |s| s.virqs_raised);
        let injected = sum(r, |s| s.injections);
        let coalesced = sum(r, |s| s.virqs_coalesced);
        let cancelled = sum(r, |s| s.virqs_cancelled);
        let accounted = injected + coalesced + cancelled + r.pending_virqs_at_end;
        let slack = IPIS_IN_ONE_ENTRY * r.inside_entry_at_end.len() as u64;
        let sum = format!(
            "injected {injected} + coalesced {coalesced} + cancelled {cancelled} + pending {}",
            r.pending_virqs_at_end
        );
        assert!(
            raised.abs_diff(accounted) <= slack,
            "{what}: raised {raised} != {sum} (cores inside an entry at the end: {:?})",
            r.inside_entry_at_end
        );
        eprintln!("{what}: raised {raised}, {sum} (cores inside an entry at the end: {:?})", r.inside_entry_at_end);
        raised
    }
}
