//! Builds the bare-metal SH-4A test programs in `tests/guests` and runs
//! them on the two reference emulators.
//!
//! * [`build`] compiles a program for a [`Platform`] with
//!   `sh4-linux-gnu-gcc` into `<target>/guests/<platform>/<name>.elf`,
//!   rebuilding only when a source, the linker script or the command line
//!   changed.
//! * [`run_gxemul`] and [`run_qemu`] run a built ELF on GXemul's `testsh`
//!   machine or `qemu-sh4` user mode and return what it printed.
//! * [`DIFFERENTIAL`] and [`RP1_ONLY`] list the programs; [`references`]
//!   says which emulators can run a differential program.
//! * [`check_transcript`] compares what a program printed (on the RP1
//!   simulator, say) with its transcript in `tests/guests/expected/`.
//!
//! What each program checks, and why some references cannot run some
//! programs, is in `docs/test-programs.md`.

pub mod hvguests;
pub mod linux;
pub mod lhp;
pub mod experiments;

use std::fmt;
use std::fs;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::Mutex;
use std::time::{Duration, Instant, SystemTime};

/// Where a program is built for and run on.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Platform {
    /// Our simulated RP1: linked at P1 0x88001000 (`linker/rp1.ld`),
    /// console on SCIF0, exit code through SIMCTL.
    Rp1,
    /// GXemul's `testsh` machine: SH-4 only, linked at 0x80010000
    /// (`linker/gxemul.ld`), magic console and halt words.
    Gxemul,
    /// `qemu-sh4` user mode: a static `-nostdlib` Linux program.
    QemuUser,
}

impl Platform {
    /// Short name, used in paths and in `-DPLATFORM_*`.
    pub fn name(self) -> &'static str {
        match self {
            Platform::Rp1 => "rp1",
            Platform::Gxemul => "gxemul",
            Platform::QemuUser => "qemu",
        }
    }

    fn define(self) -> &'static str {
        match self {
            Platform::Rp1 => "-DPLATFORM_RP1",
            Platform::Gxemul => "-DPLATFORM_GXEMUL",
            Platform::QemuUser => "-DPLATFORM_QEMU",
        }
    }

    /// GXemul emulates an SH-4; the others get SH-4A code.
    fn cpu_flag(self) -> &'static str {
        match self {
            Platform::Gxemul => "-m4",
            Platform::Rp1 | Platform::QemuUser => "-m4a",
        }
    }

    /// Platform sources, relative to `tests/guests/platform`.
    fn sources(self) -> &'static [&'static str] {
        match self {
            Platform::Rp1 => &["crt0_rp1.S", "rp1_vectors.S", "rp1.c", "common.c"],
            Platform::Gxemul => &["crt0_gxemul.S", "gxemul.c", "common.c"],
            Platform::QemuUser => &["crt0_qemu.S", "qemu.c", "common.c"],
        }
    }

    /// Linker script under `linker/`; qemu uses the toolchain's default.
    fn linker_script(self) -> Option<&'static str> {
        match self {
            Platform::Rp1 => Some("rp1.ld"),
            Platform::Gxemul => Some("gxemul.ld"),
            Platform::QemuUser => None,
        }
    }
}

impl fmt::Display for Platform {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

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

/// Everything that can go wrong building or running a program.
#[derive(Debug)]
pub enum Error {
    /// A tool is not installed (or not in PATH).
    ToolMissing {
        tool: String,
        hint: &'static str,
    },
    /// The named program has no source in `tests/guests/programs`.
    UnknownProgram(String),
    /// The compiler or linker failed.
    Build {
        command: String,
        output: String,
    },
    /// The emulator ran longer than allowed; `output` is what it printed.
    Timeout {
        tool: String,
        after: Duration,
        output: String,
    },
    /// The emulator or the program failed (non-zero exit or signal).
    Failed {
        tool: String,
        status: String,
        output: String,
    },
    Io(std::io::Error),
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::ToolMissing { tool, hint } => {
                write!(f, "`{tool}` not found in PATH ({hint})")
            }
            Error::UnknownProgram(name) => {
                write!(f, "no test program `{name}` in tests/guests/programs")
            }
            Error::Build { command, output } => {
                write!(f, "build failed: {command}\n{output}")
            }
            Error::Timeout {
                tool,
                after,
                output,
            } => {
                write!(
                    f,
                    "{tool} still running after {after:?}; output so far:\n{output}"
                )
            }
            Error::Failed {
                tool,
                status,
                output,
            } => {
                write!(f, "{tool} failed ({status}); output:\n{output}")
            }
            Error::Io(e) => write!(f, "I/O error: {e}"),
        }
    }
}

impl std::error::Error for Error {}

impl From<std::io::Error> for Error {
    fn from(e: std::io::Error) -> Self {
        Error::Io(e)
    }
}

pub type Result<T> = std::result::Result<T, Error>;

/// The cross compiler; `SH4_CC` overrides.
pub fn compiler() -> String {
    std::env::var("SH4_CC").unwrap_or_else(|_| "sh4-linux-gnu-gcc".to_string())
}

/// `tests/guests`.
pub fn guests_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("guests")
}

/// `linker/` at the workspace root.
pub fn linker_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("..")
        .join("linker")
}

/// Cargo's target directory (`CARGO_TARGET_DIR` or `<workspace>/target`).
pub fn target_dir() -> PathBuf {
    match std::env::var_os("CARGO_TARGET_DIR") {
        Some(dir) => PathBuf::from(dir),
        None => Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("..")
            .join("target"),
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

/// Optimisation level for the platform layer and, unless a program asks
/// otherwise, for the programs. `-O0` on purpose: GCC 12's SH backend
/// miscompiles ordinary loops at -O1 and above (docs/test-programs.md).
pub const DEFAULT_OPT: &str = "-O0";

const COMMON_CFLAGS: &[&str] = &[
    "-ml",
    "-g",
    "-ffreestanding",
    "-fno-builtin",
    "-fno-tree-loop-distribute-patterns",
    "-fno-pic",
    "-fno-asynchronous-unwind-tables",
    "-fno-unwind-tables",
    "-fno-stack-protector",
    "-Wall",
    "-Wextra",
    "-Werror",
    "-Wa,--noexecstack",
];

const LINK_FLAGS: &[&str] = &[
    "-nostdlib",
    "-static",
    "-Wl,--build-id=none",
    "-Wl,--no-warn-rwx-segments",
];

/// The program's own sources: `<name>.c` and, if present, `<name>.S`.
fn program_sources(program: &str) -> Result<Vec<PathBuf>> {
    let dir = guests_dir().join("programs");
    let c = dir.join(format!("{program}.c"));
    if !c.is_file() {
        return Err(Error::UnknownProgram(program.to_string()));
    }
    let mut v = vec![c];
    let s = dir.join(format!("{program}.S"));
    if s.is_file() {
        v.push(s);
    }
    Ok(v)
}

/// Extra flags a program asks for with a `/* guest-cflags: ... */` line
/// (applied to its own sources only, after the defaults).
fn program_cflags(source: &Path) -> Result<Vec<String>> {
    let text = fs::read_to_string(source)?;
    for line in text.lines() {
        if let Some(rest) = line.trim().strip_prefix("/* guest-cflags:") {
            let rest = rest.trim_end().trim_end_matches("*/");
            return Ok(rest.split_whitespace().map(str::to_string).collect());
        }
    }
    Ok(Vec::new())
}

fn newest_mtime(paths: &[PathBuf]) -> Result<SystemTime> {
    let mut newest = SystemTime::UNIX_EPOCH;
    for p in paths {
        let t = fs::metadata(p)?.modified()?;
        if t > newest {
            newest = t;
        }
    }
    Ok(newest)
}

fn files_in(dir: &Path) -> Result<Vec<PathBuf>> {
    let mut v = Vec::new();
    for e in fs::read_dir(dir)? {
        let p = e?.path();
        if p.is_file() {
            v.push(p);
        }
    }
    v.sort();
    Ok(v)
}

/// Is `tool` an executable somewhere in PATH?
fn in_path(tool: &str) -> bool {
    if tool.contains('/') {
        return Path::new(tool).is_file();
    }
    std::env::var_os("PATH")
        .map(|paths| std::env::split_paths(&paths).any(|d| d.join(tool).is_file()))
        .unwrap_or(false)
}

fn require(tool: &str, hint: &'static str) -> Result<()> {
    if in_path(tool) {
        Ok(())
    } else {
        Err(Error::ToolMissing {
            tool: tool.to_string(),
            hint,
        })
    }
}

fn shell_words(cmd: &Command) -> String {
    let mut s = cmd.get_program().to_string_lossy().into_owned();
    for a in cmd.get_args() {
        s.push(' ');
        s.push_str(&a.to_string_lossy());
    }
    s
}

fn run_build_step(cmd: &mut Command) -> Result<()> {
    let out = cmd.output()?;
    if out.status.success() {
        return Ok(());
    }
    let mut output = String::from_utf8_lossy(&out.stdout).into_owned();
    output += &String::from_utf8_lossy(&out.stderr);
    Err(Error::Build {
        command: shell_words(cmd),
        output,
    })
}

/// Builds of one process never run concurrently (tests are threads);
/// other processes are kept apart by temporary names and a rename.
static BUILD_LOCK: Mutex<()> = Mutex::new(());

/// Like [`build`], but returns the error instead of panicking.
pub fn try_build(program: &str, platform: Platform) -> Result<PathBuf> {
    try_build_opt(program, platform, DEFAULT_OPT)
}

/// [`try_build`] with another optimisation level for the program's own
/// sources (the platform layer always uses [`DEFAULT_OPT`]). The ELF goes
/// to `<target>/guests/<platform>/<name>.elf` for the default level and
/// `<name><opt>.elf` otherwise.
pub fn try_build_opt(program: &str, platform: Platform, opt: &str) -> Result<PathBuf> {
    let _guard = BUILD_LOCK.lock().unwrap_or_else(|e| e.into_inner());
    let cc = compiler();
    require(&cc, "install Debian's gcc-sh4-linux-gnu")?;

    let guests = guests_dir();
    let sources = program_sources(program)?;
    let mut extra = program_cflags(&sources[0])?;
    if opt != DEFAULT_OPT {
        extra.push(opt.to_string());
    }
    let platform_sources: Vec<PathBuf> = platform
        .sources()
        .iter()
        .map(|s| guests.join("platform").join(s))
        .collect();
    let script = platform.linker_script().map(|s| linker_dir().join(s));

    let out_dir = target_dir().join("guests").join(platform.name());
    fs::create_dir_all(&out_dir)?;
    let suffix = if opt == DEFAULT_OPT {
        String::new()
    } else {
        opt.to_string()
    };
    let elf = out_dir.join(format!("{program}{suffix}.elf"));
    let stamp = out_dir.join(format!("{program}{suffix}.cmd"));

    // The inputs: every header and platform file (cheap to over-approximate),
    // the program's sources and the linker script.
    let mut inputs = files_in(&guests.join("include"))?;
    inputs.extend(files_in(&guests.join("platform"))?);
    inputs.extend(sources.iter().cloned());
    inputs.extend(script.iter().cloned());

    let work = out_dir.join(format!("{program}{suffix}.tmp{}", std::process::id()));
    fs::create_dir_all(&work)?;

    let base_flags = |cmd: &mut Command| {
        cmd.arg(platform.cpu_flag())
            .args(COMMON_CFLAGS)
            .arg(format!("-I{}", guests.join("include").display()))
            .arg(platform.define());
    };
    let mut commands = Vec::new();
    let mut objects = Vec::new();
    for (i, src) in platform_sources.iter().chain(sources.iter()).enumerate() {
        let obj = work.join(format!(
            "{i}-{}.o",
            src.file_name().unwrap().to_string_lossy()
        ));
        let mut cmd = Command::new(&cc);
        base_flags(&mut cmd);
        cmd.arg(DEFAULT_OPT);
        if sources.contains(src) {
            cmd.args(&extra);
        }
        cmd.arg("-c").arg(src).arg("-o").arg(&obj);
        commands.push(cmd);
        objects.push(obj);
    }
    let tmp_elf = work.join("out.elf");
    let mut link = Command::new(&cc);
    link.arg(platform.cpu_flag()).arg("-ml").args(LINK_FLAGS);
    if let Some(s) = &script {
        link.arg("-n").arg("-T").arg(s);
    }
    link.args(&objects).arg("-lgcc").arg("-o").arg(&tmp_elf);
    commands.push(link);

    // The stamp names objects without the per-process directory so that
    // it only changes when the real command line does.
    let description: String = commands
        .iter()
        .map(|c| shell_words(c).replace(&work.display().to_string(), "<work>"))
        .collect::<Vec<_>>()
        .join("\n");

    let up_to_date = elf.is_file()
        && fs::read_to_string(&stamp)
            .map(|s| s == description)
            .unwrap_or(false)
        && fs::metadata(&elf)?.modified()? >= newest_mtime(&inputs)?;
    if up_to_date {
        let _ = fs::remove_dir_all(&work);
        return Ok(elf);
    }

    let result = (|| {
        for cmd in &mut commands {
            run_build_step(cmd)?;
        }
        fs::rename(&tmp_elf, &elf)?;
        fs::write(&stamp, &description)?;
        Ok(elf.clone())
    })();
    let _ = fs::remove_dir_all(&work);
    result
}

/// Builds `program` (from `tests/guests/programs/<program>.c`) for
/// `platform` and returns the ELF's path; panics with the compiler's
/// output if the build fails.
pub fn build(program: &str, platform: Platform) -> PathBuf {
    match try_build(program, platform) {
        Ok(p) => p,
        Err(e) => panic!("building {program} for {platform}: {e}"),
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

    #[test]
    fn cflags_directive_is_read() {
        let dir = std::env::temp_dir().join(format!("rp1-systests-{}", std::process::id()));
        fs::create_dir_all(&dir).unwrap();
        let f = dir.join("x.c");
        fs::write(&f, "/* a */\n/* guest-cflags: -O2 -DX=1 */\nint main;\n").unwrap();
        assert_eq!(program_cflags(&f).unwrap(), vec!["-O2", "-DX=1"]);
        let _ = fs::remove_dir_all(&dir);
    }
}
