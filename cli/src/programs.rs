//! Builds the bare-metal SH-4A test programs in `tests/guests` with the SH-4
//! cross compiler, and the toolchain plumbing the hypervisor's guest
//! builder ([`crate::hvguests`]) shares.
//!
//! * [`build`] compiles a program for a [`Platform`] with
//!   `sh4-linux-gnu-gcc` into `<target>/guests/<platform>/<name>.elf`,
//!   rebuilding only when a source, the linker script or the command line
//!   changed.
//! * [`guests_dir`], [`linker_dir`], [`target_dir`]: where the sources,
//!   linker scripts and builds are.
//!
//! `rp1 demo` and `rp1 bench` build their programs here; the test crate
//! (rp1-systests) builds every program here and runs them on the RP1 and
//! on the reference emulators (its `run_gxemul`, `run_qemu`). What each
//! program checks is in `docs/test-programs.md`.
//!
//! Owns: compiler flags, build caching, the programs' paths. Must not
//! touch: the programs' sources, or running them.

use std::fmt;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Mutex;
use std::time::{Duration, SystemTime};

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

/// Everything that can go wrong building or running a program (`Timeout`
/// and `Failed` come from the reference emulators, which rp1-systests runs).
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

/// The workspace root (the parent of this crate's `cli/`).
pub fn workspace_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("cli/ is inside the workspace")
        .to_path_buf()
}

/// `tests/guests`.
pub fn guests_dir() -> PathBuf {
    workspace_dir().join("tests").join("guests")
}

/// `linker/` at the workspace root.
pub fn linker_dir() -> PathBuf {
    workspace_dir().join("linker")
}

/// Cargo's target directory (`CARGO_TARGET_DIR` or `<workspace>/target`).
pub fn target_dir() -> PathBuf {
    match std::env::var_os("CARGO_TARGET_DIR") {
        Some(dir) => PathBuf::from(dir),
        None => workspace_dir().join("target"),
    }
}

/// Optimisation level for the platform layer and, unless a program asks
/// otherwise, for the programs. `-O0` on purpose: GCC 12's SH backend
/// miscompiles ordinary loops at -O1 and above (docs/test-programs.md).
pub const DEFAULT_OPT: &str = "-O0";

pub(crate) const COMMON_CFLAGS: &[&str] = &[
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

pub(crate) const LINK_FLAGS: &[&str] = &[
    "-nostdlib",
    "-static",
    "-Wl,--build-id=none",
    "-Wl,--no-warn-rwx-segments",
];

/// The program's own sources: `<name>.c` and, if present, `<name>.S`
/// (under `tests/guests/programs`).
pub fn program_sources(program: &str) -> Result<Vec<PathBuf>> {
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

pub(crate) fn newest_mtime(paths: &[PathBuf]) -> Result<SystemTime> {
    let mut newest = SystemTime::UNIX_EPOCH;
    for p in paths {
        let t = fs::metadata(p)?.modified()?;
        if t > newest {
            newest = t;
        }
    }
    Ok(newest)
}

pub(crate) fn files_in(dir: &Path) -> Result<Vec<PathBuf>> {
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

/// `Ok` if `tool` is in PATH, else [`Error::ToolMissing`] with `hint`.
pub fn require(tool: &str, hint: &'static str) -> Result<()> {
    if in_path(tool) {
        Ok(())
    } else {
        Err(Error::ToolMissing {
            tool: tool.to_string(),
            hint,
        })
    }
}

pub(crate) fn shell_words(cmd: &Command) -> String {
    let mut s = cmd.get_program().to_string_lossy().into_owned();
    for a in cmd.get_args() {
        s.push(' ');
        s.push_str(&a.to_string_lossy());
    }
    s
}

pub(crate) fn run_build_step(cmd: &mut Command) -> Result<()> {
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
pub(crate) static BUILD_LOCK: Mutex<()> = Mutex::new(());

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

#[cfg(test)]
mod tests {
    use super::*;

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
