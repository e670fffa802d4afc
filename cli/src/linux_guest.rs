//! Linux 6.1 as the hypervisor's general-purpose guest: four vCPUs (one
//! per core) beside the RTOS probe on core 0, booted from the initramfs of
//! `scripts/build-linux.sh` with the paravirtualized kernel
//! (`build/linux/vmlinux-guest`, docs/linux-guest.md).
//!
//! Owns: the machine description of that pairing, a run of it, and what a
//! good run shows ([`check`]). Must not touch: the kernel's patches or
//! configuration (guests-patches/linux-6.1/paravirt/, tests/linux/), the
//! hypervisor, or the machine.

use crate::lhp::{guests, probe_toml};
use crate::linux::{LinuxImages, MARKER};
use spumone_hosting::description::{self, Description, Policy};
use spumone_hosting::runner::{self, RunOptions, RunResult};

/// Where the guest kernel's partition is: 64 MiB at physical 0x0c000000,
/// what `CONFIG_MEMORY_START`/`CONFIG_MEMORY_SIZE` in
/// tests/linux/spumone-guest.config say.
pub const LINUX_BASE: u32 = 0x0c00_0000;
pub const LINUX_SIZE: u32 = 0x0400_0000;

/// Linux beside the probe, one way.
#[derive(Clone, Debug)]
pub struct LinuxGuest {
    pub policy: Policy,
    pub spin_yield: bool,
    /// The hypervisor's `dispatch_first` (docs/hypervisor.md).
    pub dispatch_first: bool,
    /// The probe's samples (1 ms apart; it exits after the last) and the
    /// share of each 500 ms window its burner takes; 0 samples: no RTOS.
    pub probe_samples: u32,
    pub rtos_util: u32,
    /// The RTOS: TOPPERS/JSP (this image, `crate::toppers::image`) in
    /// the probe's place, with the same parameters; `None`: the probe.
    pub toppers: Option<std::path::PathBuf>,
    /// Added to the guest kernel's built-in `console=hvc0`.
    pub cmdline: String,
}

impl LinuxGuest {
    pub fn new(policy: Policy) -> LinuxGuest {
        LinuxGuest {
            policy,
            spin_yield: false,
            dispatch_first: false,
            probe_samples: 200,
            rtos_util: 0,
            toppers: None,
            cmdline: "hackbench=1,10".into(),
        }
    }

    /// The machine description, as TOML (paths as given).
    pub fn description_toml(&self, probe: &str, images: &LinuxImages) -> String {
        let mut t = format!(
            "[hypervisor]\npolicy = \"{}\"\nspin_yield = {}\ndispatch_first = {}\n",
            self.policy.name(),
            self.spin_yield,
            self.dispatch_first
        );
        match (&self.toppers, self.probe_samples) {
            (_, 0) => {}
            (Some(image), n) => t += &crate::toppers::guest_toml(image, n, self.rtos_util, 500),
            (None, n) => t += &probe_toml(probe, n, self.rtos_util, 500, false),
        }
        t += &format!(
            "\n[[guest]]\nname = \"linux\"\nclass = \"gpos\"\npriority = 1\nimage = \"{}\"\n\
             partition = {{ base = {LINUX_BASE:#x}, size = {LINUX_SIZE:#x} }}\n\
             vcpus = [{{ core = 0 }}, {{ core = 1 }}, {{ core = 2 }}, {{ core = 3 }}]\n\
             interrupts = [{{ source = \"timer\", level = 5 }}, {{ source = \"ipi\", level = 6 }}]\n\
             interrupt_mask = \"sr\"\nmmu = true\ndirect_exceptions = true\npreempt_count = \"thread_info\"\n\
             linux = {{ initrd = \"{}\", cmdline = \"{}\" }}\n",
            images.vmlinux_guest.display(),
            images.initramfs.display(),
            self.cmdline.escape_default()
        );
        t
    }

    pub fn description(&self, images: &LinuxImages) -> Result<Description, String> {
        let (probe, _) = guests()?;
        let text = self.description_toml(&probe.display().to_string(), images);
        description::parse(&text, std::path::Path::new(".")).map_err(|e| e.to_string())
    }

    /// Run it on the board image to its end (or `max_cycles`).
    pub fn run(&self, images: &LinuxImages, max_cycles: u64) -> Result<(Description, RunResult), String> {
        self.run_with(images, max_cycles, false)
    }

    /// [`LinuxGuest::run`], each core's PC sampled at the end of every
    /// round until Linux halts (`runner::run_profiled_until_exit`: the same
    /// run, cycle for cycle): where the cores' time went while Linux ran,
    /// the hypervisor's share of it included.
    pub fn run_profiled(
        &self,
        images: &LinuxImages,
        max_cycles: u64,
    ) -> Result<(Description, RunResult, rp1_sim::profile::PcProfile), String> {
        let desc = self.description(images)?;
        let mode = runner::Mode::Native { image: crate::board::image()? };
        let opts = RunOptions { max_cycles, keep_events: false, mode };
        let (result, profile, _) =
            runner::run_profiled_until_exit(&desc, opts, |_| {}, linux_index(&desc)).map_err(|e| e.to_string())?;
        Ok((desc, result, profile))
    }

    /// [`LinuxGuest::run`], keeping every scheduling event in the result's
    /// log when `keep_events` (for a timeline).
    pub fn run_with(
        &self,
        images: &LinuxImages,
        max_cycles: u64,
        keep_events: bool,
    ) -> Result<(Description, RunResult), String> {
        let desc = self.description(images)?;
        let mode = runner::Mode::Native { image: crate::board::image()? };
        let result =
            runner::run(&desc, RunOptions { max_cycles, keep_events, mode }, |_| {}).map_err(|e| e.to_string())?;
        Ok((desc, result))
    }
}

/// The Linux guest's index in a description.
pub fn linux_index(desc: &Description) -> usize {
    desc.guests.iter().position(|g| g.name == "linux").expect("a guest named linux")
}

/// What a good run shows: Linux brought its four vCPUs online, ran
/// hackbench to a clean exit, halted (guest exit status 0), and printed
/// no oops; the probe, if any, exited 0 too. Returns Linux's console.
pub fn check(desc: &Description, result: &RunResult) -> Result<String, String> {
    let g = linux_index(desc);
    let console = result.console(g);
    let fail = |why: String| Err(format!("{why}; Linux's console:\n{console}"));
    for want in [
        "smp: Brought up 1 node, 4 CPUs",
        &format!("{MARKER}, 4 CPUs online (0-3)"),
        "rp1-init: hackbench exit status 0",
        "reboot: System halted",
    ] {
        if !console.contains(want) {
            return fail(format!("no {want:?}"));
        }
    }
    for bad in ["Oops", "BUG:", "Kernel panic", "Unable to handle", "unexpected IRQ", "WARNING:"] {
        if console.contains(bad) {
            return fail(format!("{bad:?} on the console"));
        }
    }
    for (i, guest) in desc.guests.iter().enumerate() {
        match result.log.exits.get(i).copied().flatten() {
            Some(0) => {}
            other => return fail(format!("guest {} ended {other:?}, not with EXIT(0)", guest.name)),
        }
    }
    Ok(console)
}

/// hackbench's own "Time: S.mmm" (its clock is the guest's clock source,
/// the hypervisor's TIME_NOW), in seconds. The number is read up to its
/// last digit: the guest's console reaches the report core by core, so
/// another vCPU's output can land between it and its newline.
pub fn hackbench_seconds(console: &str) -> Option<f64> {
    number_after(console, "Time: ", |c| c.is_ascii_digit() || c == '.')
}

/// The number that follows the first `marker` in `console`, read while
/// `part` says its characters are the number's: up to its last digit
/// though another vCPU's output follows it on the same line.
fn number_after<T: std::str::FromStr>(console: &str, marker: &str, part: impl Fn(char) -> bool) -> Option<T> {
    let after = &console[console.find(marker)? + marker.len()..];
    let end = after.find(|c: char| !part(c)).unwrap_or(after.len());
    after[..end].parse().ok()
}

/// What /init says of the context switches Linux made on all its CPUs
/// while hackbench ran (its line "rp1-init: context switches during
/// hackbench N", N read from /proc/stat's `ctxt` before and after; -1 if
/// it could not read them): `None` without a count. Read up to the last
/// digit, as [`hackbench_seconds`] reads.
pub fn context_switches(console: &str) -> Option<u64> {
    number_after(console, "rp1-init: context switches during hackbench ", |c| c.is_ascii_digit())
}

#[cfg(test)]
mod tests {
    use super::hackbench_seconds;

    #[test]
    fn hackbench_time_is_read_even_when_another_line_lands_before_its_newline() {
        assert_eq!(hackbench_seconds("x\nTime: 0.021\nrp1-init: halting\n"), Some(0.021));
        assert_eq!(hackbench_seconds("Time: 0.021rp1-init: hackbench exit status 0\n"), Some(0.021));
        assert_eq!(hackbench_seconds("Time: \n"), None);
        assert_eq!(hackbench_seconds("no time\n"), None);
    }

    #[test]
    fn the_context_switches_are_read_from_inits_line() {
        use super::context_switches;
        assert_eq!(context_switches("x\nrp1-init: context switches during hackbench 123456\nrp1-init: halting\n"), Some(123456));
        assert_eq!(context_switches("rp1-init: context switches during hackbench 77[ 1.0] cpu3\n"), Some(77));
        assert_eq!(context_switches("rp1-init: context switches during hackbench -1\n"), None, "/init could not read them");
        assert_eq!(context_switches("Time: 0.021\n"), None);
    }
}
