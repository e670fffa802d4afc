//! The hypervisor's board image (`build/hv/spumone.elf`,
//! docs/board-image.md): built on demand by `scripts/build-hv.sh`, which
//! caches it and redoes it only when an input changed.
//!
//! Owns: finding and building the image. Must not touch: how it is built
//! (the script's), how it runs (spumone-hosting's runner).

use std::path::PathBuf;
use std::process::Command;

/// The board image, built if missing or stale. Errors carry the build's
/// own output.
pub fn image() -> Result<PathBuf, String> {
    let _guard = crate::programs::BUILD_LOCK.lock().unwrap_or_else(|e| e.into_inner());
    let script = crate::programs::workspace_dir().join("scripts").join("build-hv.sh");
    let out = Command::new("bash")
        .arg(&script)
        .arg("--quiet")
        .output()
        .map_err(|e| format!("{}: {e}", script.display()))?;
    if !out.status.success() {
        return Err(format!(
            "building the board image failed ({}):\n{}{}",
            out.status,
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        ));
    }
    let path = String::from_utf8_lossy(&out.stdout).trim().lines().last().unwrap_or("").to_string();
    let path = PathBuf::from(path);
    if !path.is_file() {
        return Err(format!("{} printed no image path", script.display()));
    }
    Ok(path)
}
