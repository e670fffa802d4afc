//! Linux 6.1 on the simulated RP1: build the kernel and initramfs (through
//! `scripts/build-linux.sh`, cached) and boot them, measuring the boot.
//!
//! A boot runs the machine until the initramfs's `/init` prints its marker
//! line (that instant is "booted": simulated cycles, instructions and host
//! time are taken there), then on until the kernel halts the machine after
//! hackbench. The console of the whole run is kept for checks.
//!
//! Owns: running the build script and one boot. Must not touch: the
//! kernel's configuration or the build itself (scripts/build-linux.sh,
//! tests/linux/), the machine (it uses rp1-sim's public API), or what a
//! boot must show (the `rp1 linux` command and tests/linux.rs check that).

use rp1_sim::linux_boot::set_boot_params;
use rp1_sim::machine::{Config, Exit, Machine};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// The line `/init` prints once user space runs.
pub const MARKER: &str = "rp1-init: user space up";

/// The built kernel and initramfs.
#[derive(Clone, Debug)]
pub struct LinuxImages {
    pub vmlinux: PathBuf,
    /// The same kernel as a guest of the hypervisor
    /// (guests-patches/linux-6.1/paravirt/, tests/linux/spumone-guest.config).
    pub vmlinux_guest: PathBuf,
    pub initramfs: PathBuf,
}

/// Build (or find cached) `build/linux/vmlinux` and
/// `build/linux/initramfs.cpio.gz`. The first build installs
/// `linux-source-6.1` and takes minutes; later calls return at once.
/// Serialized within a process, so parallel tests build once.
pub fn build() -> Result<LinuxImages, String> {
    static BUILD: Mutex<()> = Mutex::new(());
    let _guard = BUILD.lock().unwrap_or_else(|e| e.into_inner());
    let top = Path::new(env!("CARGO_MANIFEST_DIR")).parent().expect("workspace root");
    let script = top.join("scripts/build-linux.sh");
    let output = Command::new("bash")
        .arg(&script)
        .output()
        .map_err(|e| format!("cannot run {}: {e}", script.display()))?;
    if !output.status.success() {
        return Err(format!(
            "{} failed ({}):\n{}{}",
            script.display(),
            output.status,
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        ));
    }
    let out = top.join("build/linux");
    Ok(LinuxImages {
        vmlinux: out.join("vmlinux"),
        vmlinux_guest: out.join("vmlinux-guest"),
        initramfs: out.join("initramfs.cpio.gz"),
    })
}

/// One boot's measurements.
#[derive(Clone, Debug)]
pub struct Boot {
    /// Everything SCIF0 printed.
    pub console: String,
    /// How the run ended (a clean boot ends `Exit::Halted`).
    pub exit: Exit,
    /// Simulated cycles (600 MHz) when `/init`'s marker appeared, if it did.
    pub boot_cycles: Option<u64>,
    /// Instructions executed by all cores until then.
    pub boot_instructions: Option<u64>,
    /// Host time until then.
    pub boot_host: Option<Duration>,
    /// Simulated cycles and instructions of the whole run.
    pub cycles: u64,
    pub instructions: u64,
    pub host: Duration,
    /// Per-core (instructions, cycles) at the end, for determinism checks.
    pub per_core: Vec<(u64, u64)>,
    /// The translating tier's counters, if the machine ran on it.
    pub jit: Option<rp1_sim::cpu::jit::JitStats>,
    /// The machine's rounds, and those passed with no look at their end.
    pub rounds: rp1_sim::machine::RoundCounts,
}

impl Boot {
    /// hackbench's "Time: S.mmm" in seconds, if it printed one.
    pub fn hackbench_seconds(&self) -> Option<f64> {
        self.console.lines().find_map(|l| l.strip_prefix("Time: ")).and_then(|t| t.trim().parse().ok())
    }

    /// The CPU count `/init` reported on its marker line.
    pub fn cpus_online(&self) -> Option<u32> {
        let line = self.console.lines().find(|l| l.starts_with(MARKER))?;
        line.strip_prefix(MARKER)?.trim_start_matches(", ").split(' ').next()?.parse().ok()
    }
}

/// Whether [`MARKER`] appears in `console` with its last byte past
/// `searched`, the length already looked at. The console grows a few bytes
/// at a time, so the marker can straddle two slices of the run: the search
/// starts `MARKER.len() - 1` bytes before `searched`.
fn marker_completed(console: &[u8], searched: usize) -> bool {
    let from = searched.saturating_sub(MARKER.len() - 1).min(console.len());
    console[from..].windows(MARKER.len()).any(|w| w == MARKER.as_bytes())
}

/// Simulated seconds of `cycles` at the RP1's 600 MHz.
pub fn seconds(cycles: u64) -> f64 {
    cycles as f64 / 600e6
}

/// Boot `images` on four simulated cores with `cmdline` (added to the
/// kernel's built-in `console=ttySC0,115200`) and run until the machine
/// halts or `max_cycles` pass.
pub fn boot(images: &LinuxImages, cmdline: &str, max_cycles: u64) -> Result<Boot, String> {
    boot_with(images, cmdline, max_cycles, Config { cores: 4, ..Config::default() })
}

/// `boot` on a machine of `config` (its execution tier, say).
pub fn boot_with(images: &LinuxImages, cmdline: &str, max_cycles: u64, config: Config) -> Result<Boot, String> {
    let kernel = std::fs::read(&images.vmlinux).map_err(|e| format!("{}: {e}", images.vmlinux.display()))?;
    let initrd = std::fs::read(&images.initramfs).map_err(|e| format!("{}: {e}", images.initramfs.display()))?;
    let mut m = Machine::new(config).map_err(|e| e.to_string())?;
    let loaded = m.load_elf(&kernel).map_err(|e| format!("vmlinux: {e}"))?;
    set_boot_params(&mut m.bus, &kernel, cmdline, Some(&initrd)).map_err(|e| format!("vmlinux: {e}"))?;
    m.cpus[0].reset(loaded.entry);

    // Run in slices of 100,000 cycles (1/6 ms) to notice the marker: that
    // is the precision of the boot figures. The machine's rounds do not
    // depend on where a slice ends, so slicing does not change the run.
    const SLICE: u64 = 100_000;
    let started = Instant::now();
    let (mut boot_cycles, mut boot_instructions, mut boot_host) = (None, None, None);
    let mut searched = 0;
    let exit = loop {
        let limit = (m.now + SLICE).min(max_cycles);
        let exit = m.run(limit);
        let seen = marker_completed(&m.console, searched);
        searched = m.console.len();
        if boot_cycles.is_none() && seen {
            boot_cycles = Some(m.now);
            boot_instructions = Some(m.cpus.iter().map(|c| c.stats.instructions).sum());
            boot_host = Some(started.elapsed());
        }
        match exit {
            Exit::CycleLimit if m.now < max_cycles => continue,
            other => break other,
        }
    };
    Ok(Boot {
        console: String::from_utf8_lossy(&m.console).into_owned(),
        exit,
        boot_cycles,
        boot_instructions,
        boot_host,
        cycles: m.now,
        instructions: m.cpus.iter().map(|c| c.stats.instructions).sum(),
        host: started.elapsed(),
        per_core: m.cpus.iter().map(|c| (c.stats.instructions, c.cycles)).collect(),
        jit: m.bus.jit_stats(),
        rounds: m.rounds,
    })
}

#[cfg(test)]
mod tests {
    use super::{marker_completed, MARKER};

    #[test]
    fn a_marker_split_across_two_slices_is_found() {
        let console = format!("Run /init as init process\n{MARKER}, 4 CPUs online (0-3)\n");
        let start = console.find(MARKER).unwrap();
        // Every split point: the first slice ends inside the marker (or
        // before or after it), the second holds the rest of the console.
        for split in 0..console.len() {
            let first = &console.as_bytes()[..split];
            let found_first = marker_completed(first, 0);
            let found_second = marker_completed(console.as_bytes(), split);
            assert_eq!(found_first, split >= start + MARKER.len(), "split at {split}");
            assert!(found_first || found_second, "split at {split}: marker missed");
        }
        // Once the whole marker has been searched, it is not found again.
        assert!(!marker_completed(console.as_bytes(), console.len()));
    }
}
