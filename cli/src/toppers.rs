//! TOPPERS/JSP 1.4.4.1 as the RTOS guest (docs/toppers-guest.md): its
//! image, built by `scripts/build-toppers.sh` from the tree the user gives
//! in `TOPPERS_JSP_SRC` (no file of it is in this repository), and its
//! guest block in a machine description, in the probe's place.
//!
//! Owns: finding or building the image, the description block. Must not
//! touch: the series (guests-patches/toppers-jsp/), the application
//! (tests/toppers/), the hypervisor.

use crate::programs::workspace_dir;
use std::path::{Path, PathBuf};
use std::process::Command;

/// What an experiment says the RTOS is.
pub const NAME: &str = "TOPPERS/JSP 1.4.4.1";

/// Build (or find up to date) `build/toppers/toppers_load.elf` from
/// `TOPPERS_JSP_SRC`; an error that says what to do if it is not set or
/// the build fails.
pub fn image() -> Result<PathBuf, String> {
    match std::env::var_os("TOPPERS_JSP_SRC") {
        Some(p) if !p.is_empty() => image_from(Path::new(&p)),
        _ => Err("TOPPERS_JSP_SRC is not set: point it at a TOPPERS/JSP 1.4.4.1 tree \
                  (github.com/ryoon/toppers-jsp at c0222f0; docs/toppers-guest.md)"
            .into()),
    }
}

/// [`image`] from the TOPPERS/JSP tree at `src`.
pub fn image_from(src: &Path) -> Result<PathBuf, String> {
    let out = Command::new("bash")
        .arg(workspace_dir().join("scripts/build-toppers.sh"))
        .env("TOPPERS_JSP_SRC", src)
        .output()
        .map_err(|e| format!("running scripts/build-toppers.sh: {e}"))?;
    if !out.status.success() {
        return Err(format!(
            "scripts/build-toppers.sh failed:\n{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        ));
    }
    Ok(workspace_dir().join("build/toppers/toppers_load.elf"))
}

/// TOPPERS on core 0 at the probe's partition and levels, taking
/// `samples` latency samples 1 ms apart with its burner at `util` % of
/// each `burn_window_ms` window (the probe's parameters, `probe_params`).
pub fn guest_toml(image: &Path, samples: u32, util: u32, burn_window_ms: u32) -> String {
    format!(
        "\n[[guest]]\nname = \"toppers\"\nclass = \"rtos\"\npriority = 10\nimage = \"{}\"\n\
         partition = {{ base = {:#x}, size = 0x800000 }}\nvcpus = [{{ core = 0 }}]\n\
         interrupts = [{{ source = \"timer\", level = 12 }}]\ninterrupt_mask = \"sr\"\n\
         params = [{{ symbol = \"probe_params\", words = [{samples}, {util}, 1000, {burn_window_ms}] }}]\n",
        image.display(),
        crate::lhp::RTOS_BASE - 0x8000_0000,
    )
}
