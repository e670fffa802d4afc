//! Builds the paravirtualized guests in `tests/hvguests` (the RTOS probe,
//! the SMP load and the hostile guest, `docs/guests.md`) and patches their
//! parameter blocks.
//!
//! * [`build_guest`] compiles `tests/hvguests/<name>.c` with the common
//!   runtime (`tests/hvguests/common`) and links it at a P1 base with
//!   `tests/hvguests/guest.ld` into `<target>/hvguests/<name>-<base>.elf`,
//!   rebuilding only when a source, the linker script or the command line
//!   changed (the same rule as [`crate::programs::try_build`]).
//! * [`patch_params`] and [`read_params`] write and read the 32-bit words
//!   of a guest's parameter block (`probe_params`, `load_params`) in the
//!   ELF image, before the image is loaded.
//!
//! The guests are built for SH-4A without the FPU (`-m4a-nofpu`): they
//! never need it, so their handlers need not save it and the hypervisor's
//! FPU handling cannot disturb them. They are linked without libgcc, whose
//! SH-4 division helpers use the FPU: a guest that needs a helper fails to
//! link instead.
//!
//! Owns: the guests' build flags and cache, and their parameter defaults.
//! Must not touch: the guests' sources, the hypervisor, or the runner
//! (patching is spumone-hosting's `runner::patch_words`, re-exported).

use crate::programs::{Error, Result};
use std::fs;
use std::path::PathBuf;
use std::process::Command;

/// The CPU flag of every guest object and of the link.
const CPU_FLAG: &str = "-m4a-nofpu";

/// Where P1 starts and ends: guests run untranslated in P1.
const P1: std::ops::Range<u32> = 0x8000_0000..0xa000_0000;

/// `tests/hvguests`.
pub fn hvguests_dir() -> PathBuf {
    crate::programs::workspace_dir().join("tests").join("hvguests")
}

fn invalid(msg: String) -> Error {
    Error::Io(std::io::Error::new(std::io::ErrorKind::InvalidInput, msg))
}

/// Builds guest `name` (`tests/hvguests/<name>.c`) linked at `base`, a P1
/// address inside its memory partition (e.g. `0x8880_0000`; load addresses
/// are `base - 0x8000_0000`), and returns the ELF's path.
pub fn build_guest(name: &str, base: u32) -> Result<PathBuf> {
    let _guard = crate::programs::BUILD_LOCK.lock().unwrap_or_else(|e| e.into_inner());
    if name.is_empty() || !name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
        return Err(invalid(format!("`{name}` is not a guest name")));
    }
    if !P1.contains(&base) || base % 4 != 0 {
        return Err(invalid(format!(
            "guest base {base:#010x} is not a 4-byte aligned P1 address"
        )));
    }
    let cc = crate::programs::compiler();
    crate::programs::require(&cc, "install Debian's gcc-sh4-linux-gnu")?;

    let dir = hvguests_dir();
    let main_source = dir.join(format!("{name}.c"));
    if !main_source.is_file() {
        return Err(Error::Io(std::io::Error::new(
            std::io::ErrorKind::NotFound,
            format!("no guest source {}", main_source.display()),
        )));
    }
    let common = dir.join("common");
    let include = dir.join("include");
    let script = dir.join("guest.ld");
    let mut sources: Vec<PathBuf> = crate::programs::files_in(&common)?
        .into_iter()
        .filter(|p| matches!(p.extension().and_then(|e| e.to_str()), Some("c" | "S")))
        .collect();
    sources.push(main_source);

    let out_dir = crate::programs::target_dir().join("hvguests");
    fs::create_dir_all(&out_dir)?;
    let stem = format!("{name}-{base:08x}");
    let elf = out_dir.join(format!("{stem}.elf"));
    let stamp = out_dir.join(format!("{stem}.cmd"));
    let work = out_dir.join(format!("{stem}.tmp{}", std::process::id()));
    fs::create_dir_all(&work)?;

    let mut commands = Vec::new();
    let mut objects = Vec::new();
    for (i, src) in sources.iter().enumerate() {
        let obj = work.join(format!(
            "{i}-{}.o",
            src.file_name().unwrap().to_string_lossy()
        ));
        let mut cmd = Command::new(&cc);
        cmd.arg(CPU_FLAG)
            .args(crate::programs::COMMON_CFLAGS)
            .arg(crate::programs::DEFAULT_OPT)
            .arg(format!("-I{}", include.display()))
            .arg(format!("-I{}", common.display()))
            .arg("-c")
            .arg(src)
            .arg("-o")
            .arg(&obj);
        commands.push(cmd);
        objects.push(obj);
    }
    let tmp_elf = work.join("out.elf");
    let mut link = Command::new(&cc);
    link.arg(CPU_FLAG)
        .arg("-ml")
        .args(crate::programs::LINK_FLAGS)
        .arg("-n")
        .arg("-T")
        .arg(&script)
        .arg(format!("-Wl,--defsym=GUEST_BASE={base:#010x}"))
        .args(&objects)
        .arg("-o")
        .arg(&tmp_elf);
    commands.push(link);

    // As in try_build_opt: the stamp leaves out the per-process directory.
    let description: String = commands
        .iter()
        .map(|c| crate::programs::shell_words(c).replace(&work.display().to_string(), "<work>"))
        .collect::<Vec<_>>()
        .join("\n");
    let mut inputs = crate::programs::files_in(&include)?;
    inputs.extend(crate::programs::files_in(&common)?);
    inputs.extend(sources.iter().cloned());
    inputs.push(script.clone());

    let up_to_date = elf.is_file()
        && fs::read_to_string(&stamp)
            .map(|s| s == description)
            .unwrap_or(false)
        && fs::metadata(&elf)?.modified()? >= crate::programs::newest_mtime(&inputs)?;
    if up_to_date {
        let _ = fs::remove_dir_all(&work);
        return Ok(elf);
    }
    let result = (|| {
        for cmd in &mut commands {
            crate::programs::run_build_step(cmd)?;
        }
        fs::rename(&tmp_elf, &elf)?;
        fs::write(&stamp, &description)?;
        Ok(elf.clone())
    })();
    let _ = fs::remove_dir_all(&work);
    result
}

/// Writes and reads a guest's parameter block (`probe_params`,
/// `load_params`) in its ELF image: the runner's own functions, so a test
/// patches exactly as a machine description's `params` does.
pub use spumone_hosting::runner::{patch_words as patch_params, read_words as read_params};

/// The parameter blocks' defaults as the guests' sources give them
/// (`probe_params` in rtos_probe.c, `load_params` in smp_load.c,
/// `hostile_params` in hostile.c), word by
/// word; tests/hvguests_build.rs checks them against the built images.
pub const PROBE_PARAM_DEFAULTS: [u32; 5] = [1000, 0, 1000, 500, 0];
pub const LOAD_PARAM_DEFAULTS: [u32; 8] = [4, 200, 50, 1000, 100, 16, 4000, 0];
/// `hostile_params` in hostile.c (mode, seed, calls, nr_vcpus, part_base,
/// part_size, timer_period_us, scribble_ms, recover_ms, region_bytes,
/// ipi_gap, scribble_gap, storm_period_us, storm_ms).
pub const HOSTILE_PARAM_DEFAULTS: [u32; 14] = [0, 1, 2000, 4, 0x0900_0000, 0x0100_0000, 500, 40, 10, 37_632, 2000, 50, 2, 20];
