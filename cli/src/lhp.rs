//! The lock-holder-preemption scenarios: the RTOS probe and the SMP load
//! guest on the hypervisor (its board image, or the hosted model), as
//! machine descriptions.
//!
//! Owns: building the two guests and writing the machine description of
//! one scenario (policy, RTOS utilization, sizes); the runs themselves are
//! `spumone_hosting::runner`'s. Must not touch: the description's format
//! and rules (spumone-hosting), the guests' sources, the hypervisor.

use crate::hvguests::{build_guest, LOAD_PARAM_DEFAULTS};
use spumone_hosting::description::{self, Description, Policy};
use spumone_hosting::runner::{self, RunOptions, RunResult};
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};

/// Whether new scenarios run the hosted model instead of the board image
/// (`rp1 lhp --hosted`); the board image is the default.
static HOSTED: AtomicBool = AtomicBool::new(false);

/// Make new scenarios run the hosted model (`true`) or the board image.
pub fn set_hosted_default(hosted: bool) {
    HOSTED.store(hosted, Ordering::Relaxed);
}

/// Where the guests are linked and live (P1 addresses of their partitions).
pub const RTOS_BASE: u32 = 0x8880_0000;
pub const GPOS_BASE: u32 = 0x8900_0000;

/// One scenario.
#[derive(Clone, Debug)]
pub struct Scenario {
    pub policy: Policy,
    pub spin_yield: bool,
    pub ipl_separation: bool,
    pub dispatch_first: bool,
    pub delay_bound_us: Option<u32>,
    /// Periodic samples the probe takes (one per millisecond); 0 = no RTOS.
    pub samples: u32,
    /// The probe's CPU burner utilization, percent of its window.
    pub rtos_util: u32,
    /// The burner's window (the papers' 500 ms): the burner holds core 0
    /// for the first `rtos_util` % of each. Each window's start is one
    /// long preemption of the GPOS vCPU on core 0, which stalls the whole
    /// GPOS only if it catches that vCPU holding a lock: shorter windows
    /// give a run more such draws.
    pub burn_window_ms: u32,
    /// GPOS vCPUs (1-4, on cores 0..n) and how long they run.
    pub gpos_vcpus: u32,
    pub gpos_ms: u32,
    /// Work inside the GPOS's lock per acquisition (loop iterations).
    pub cs_iterations: u32,
    /// The probe's periodic task is released by TMU4, a physical device
    /// the probe owns (level 12), instead of its virtual timer.
    pub rtos_on_tmu4: bool,
    /// GPOS vCPU 0 owns TMU5 (level 4) and runs it at this period (us,
    /// even), counting its interrupts; 0 = no device.
    pub gpos_tmu5_period_us: u32,
    /// Run the hosted model (costs charged from the cost table) instead of
    /// the board image (costs measured).
    pub hosted: bool,
}

impl Scenario {
    pub fn new(policy: Policy) -> Scenario {
        Scenario {
            policy,
            spin_yield: false,
            ipl_separation: true,
            dispatch_first: false,
            delay_bound_us: None,
            samples: 200,
            rtos_util: 0,
            burn_window_ms: 500,
            gpos_vcpus: 4,
            gpos_ms: 200,
            cs_iterations: 400,
            rtos_on_tmu4: false,
            gpos_tmu5_period_us: 0,
            hosted: HOSTED.load(Ordering::Relaxed),
        }
    }

    /// The hypervisor this scenario runs on (the board image is built if
    /// missing or stale).
    pub fn mode(&self) -> Result<runner::Mode, String> {
        if self.hosted {
            Ok(runner::Mode::Hosted)
        } else {
            Ok(runner::Mode::Native { image: crate::board::image()? })
        }
    }

    /// The machine description, as TOML.
    pub fn description_toml(&self, probe: &str, load: &str) -> String {
        let mut t = format!(
            "[hypervisor]\npolicy = \"{}\"\nspin_yield = {}\nipl_separation = {}\ndispatch_first = {}\n",
            self.policy.name(),
            self.spin_yield,
            self.ipl_separation,
            self.dispatch_first
        );
        if let Some(b) = self.delay_bound_us {
            t += &format!("delayed_preemption_bound_us = {b}\n");
        }
        if self.samples > 0 {
            t += &probe_toml(probe, self.samples, self.rtos_util, self.burn_window_ms, self.rtos_on_tmu4);
        }
        // Reaching the TMU5 period (the last word) means writing the words
        // before it too: smp_load's own defaults.
        let (device, words_after_cs) = match self.gpos_tmu5_period_us {
            0 => (String::new(), String::new()),
            us => {
                let between: String = LOAD_PARAM_DEFAULTS[3..7].iter().map(|w| format!(", {w}")).collect();
                (", { source = \"tmu5\", level = 4, vcpu = 0 }".to_string(), format!("{between}, {us}"))
            }
        };
        let cores: Vec<String> = (0..self.gpos_vcpus).map(|c| format!("{{ core = {c} }}")).collect();
        t += &format!(
            "\n[[guest]]\nname = \"smp_load\"\nclass = \"gpos\"\npriority = 1\nimage = \"{load}\"\n\
             partition = {{ base = {:#x}, size = 0x1000000 }}\nvcpus = [{}]\n\
             interrupts = [{{ source = \"timer\", level = 5 }}, {{ source = \"ipi\", level = 6 }}{device}]\n\
             params = [{{ symbol = \"load_params\", words = [{}, {}, {}{words_after_cs}] }}]\n",
            GPOS_BASE - 0x8000_0000,
            cores.join(", "),
            self.gpos_vcpus,
            self.gpos_ms,
            self.cs_iterations
        );
        t
    }

    /// Build the guests, write the description and parse it.
    pub fn description(&self) -> Result<Description, String> {
        let (probe, load) = guests()?;
        let text = self.description_toml(&probe.display().to_string(), &load.display().to_string());
        description::parse(&text, std::path::Path::new(".")).map_err(|e| e.to_string())
    }

    /// Run the scenario to its end (or `max_cycles`).
    pub fn run(&self, max_cycles: u64, keep_events: bool) -> Result<(Description, RunResult), String> {
        let desc = self.description()?;
        let mode = self.mode()?;
        let result = runner::run(&desc, RunOptions { max_cycles, keep_events, mode }, |_| {}).map_err(|e| e.to_string())?;
        Ok((desc, result))
    }
}

/// The RTOS probe's `[[guest]]` table: core 0, timer at level 12, a 1 ms
/// period, `samples` samples, `util` % burnt in each `burn_window_ms`
/// window; `tmu4`: its period from TMU channel 4 instead of the virtual
/// timer.
pub fn probe_toml(probe: &str, samples: u32, util: u32, burn_window_ms: u32, tmu4: bool) -> String {
    let (device, source) = if tmu4 { (", { source = \"tmu4\", level = 12 }", 1) } else { ("", 0) };
    format!(
        "\n[[guest]]\nname = \"rtos_probe\"\nclass = \"rtos\"\npriority = 10\nimage = \"{probe}\"\n\
         partition = {{ base = {:#x}, size = 0x800000 }}\nvcpus = [{{ core = 0 }}]\n\
         interrupts = [{{ source = \"timer\", level = 12 }}{device}]\n\
         params = [{{ symbol = \"probe_params\", words = [{samples}, {util}, 1000, {burn_window_ms}, {source}] }}]\n",
        RTOS_BASE - 0x8000_0000,
    )
}

/// The two guests, built (cached) at their partitions' bases.
pub fn guests() -> Result<(PathBuf, PathBuf), String> {
    let probe = build_guest("rtos_probe", RTOS_BASE).map_err(|e| e.to_string())?;
    let load = build_guest("smp_load", GPOS_BASE).map_err(|e| e.to_string())?;
    Ok((probe, load))
}

/// The number after ` name=` in a guest's console output (the guests'
/// summary lines are `key=value` pairs), or `None` if there is none.
pub fn console_field(console: &str, name: &str) -> Option<u64> {
    let key = format!(" {name}=");
    let at = console.find(&key)? + key.len();
    console[at..].split(|c: char| !c.is_ascii_digit()).next()?.parse().ok()
}

/// The work units each GPOS vCPU did, from the load guest's summary line
/// (`smp_load: ... work=N [w0 w1 ...] ...`).
pub fn vcpu_work(console: &str) -> Option<Vec<u64>> {
    let line = console.lines().find(|l| l.starts_with("smp_load: vcpus="))?;
    let open = line.find('[')?;
    let close = open + line[open..].find(']')?;
    line[open + 1..close].split_whitespace().map(|w| w.parse().ok()).collect()
}

/// Whether every GPOS vCPU made progress: none below half its fair share
/// of the work done (issue 9's rule). A vCPU's share is its core's
/// capacity over all of theirs: vCPU 0 shares core 0 with the RTOS and its
/// burner, which takes `rtos_util` % of it; the others have a core each;
/// under a policy that migrates vCPU 0 away, all shares are equal. A
/// run that fails this is not a measurement of the policy alone, and the
/// experiments report it as failed.
///
/// Trap-based migration fails it over the 2 s latency run: vCPU 0 makes
/// every system call on core 1, preempting vCPU 1 there, and spins on the
/// runqueue lock vCPU 1 was holding until spin-yield hands the core back
/// (about 2,700 spin-yields a second), so it does about a fifth of its
/// share and vCPU 1 half of its own. Most ticks then find vCPU 0 away
/// from core 0, and the RTOS's latency does not show what the policy
/// would cost a GPOS that kept its pace (docs/experiments.md).
pub fn check_progress(s: &Scenario, console: &str) -> Result<(), String> {
    let work = vcpu_work(console).ok_or_else(|| "no per-vCPU work in the load guest's output".to_string())?;
    let total: u64 = work.iter().sum();
    // A policy that moves vCPU 0 off core 0 while the RTOS runs gives it a
    // share of another core, which the vCPU living there then shares: the
    // capacity left (the RTOS core's remainder and the other cores) is
    // every vCPU's alike. (At 100 % a vCPU that shares its core with vCPU
    // 0 gets half a core by design: measured against a whole core's share
    // it failed on any overhead at all.)
    let moves_vcpu0 =
        matches!(s.policy, Policy::OnDemandMigration | Policy::TrapMigration) || s.delay_bound_us.is_some();
    let capacity = |i: usize| {
        if i == 0 && s.samples > 0 && !moves_vcpu0 {
            1.0 - s.rtos_util.min(100) as f64 / 100.0
        } else {
            1.0
        }
    };
    let all: f64 = (0..work.len()).map(capacity).sum();
    let starved: Vec<String> = work
        .iter()
        .enumerate()
        .filter_map(|(i, &w)| {
            let fair = total as f64 * capacity(i) / all;
            (all > 0.0 && (w as f64) < 0.5 * fair).then(|| format!("vCPU {i} did {w} work units, under half its fair share ({fair:.0})"))
        })
        .collect();
    if starved.is_empty() {
        Ok(())
    } else {
        Err(starved.join("; "))
    }
}
