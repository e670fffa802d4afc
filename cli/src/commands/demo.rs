//! `rp1 demo`: the bare-metal SMP demo. Builds the bundled SMP programs with
//! the SH-4 cross compiler and boots each on the simulated RP1 (four
//! cores), showing its console and the per-core report: secondary-core
//! start as Linux does it, inter-core interrupts between every pair of
//! cores, an LL/SC spinlock under four-core contention, and periodic timer
//! interrupts. Every run is deterministic: run it twice, get the same
//! output and cycle counts.
//!
//! Owns: the list of scenarios and what this subcommand prints. Must not
//! touch: the programs (tests/guests/programs) or the simulator.

use super::output::{finish, out, outln, Failure};
use rp1_sim::machine::{Config, Exit, Machine};
use rp1::programs::{build, Platform};
use std::process::ExitCode;
use std::time::Instant;

const SCENARIOS: &[(&str, &str)] = &[
    ("smp_start", "core 0 starts cores 1-3 through STBCR/RESET, as Linux's smp-shx3.c does"),
    ("ici", "inter-core interrupts between all 16 sender/receiver pairs"),
    ("spinlock", "a MOVLI.L/MOVCO.L spinlock and a lock-free counter under 4-core contention"),
    ("tmu_periodic", "TMU0 periodic interrupts, counted against the simulated cycle counter"),
];

/// Runs `rp1 demo`: 0 when every scenario's program exited with 0, 1 when
/// one did not, and as every subcommand when its output cannot be written.
pub fn main() -> ExitCode {
    finish("rp1", demo())
}

fn demo() -> Result<ExitCode, Failure> {
    let mut failed = 0;
    for (program, what) in SCENARIOS {
        outln!("=== {program}: {what}")?;
        let elf = build(program, Platform::Rp1);
        let image = std::fs::read(&elf).expect("read the program");
        let mut m = Machine::new(Config::default()).expect("the default machine");
        let loaded = m.load_elf(&image).expect("load the program");
        m.cpus[0].reset(loaded.entry);
        let t0 = Instant::now();
        let exit = m.run(6_000_000_000);
        let host = t0.elapsed();
        out!("{}", m.console_text())?;
        out!("{}", rp1_sim::report::summary(&m, exit, host))?;
        outln!()?;
        if exit != Exit::Guest(0) {
            failed += 1;
        }
    }
    if failed == 0 {
        outln!("all {} scenarios passed", SCENARIOS.len())?;
        Ok(ExitCode::SUCCESS)
    } else {
        outln!("{failed} scenario(s) failed")?;
        Ok(ExitCode::FAILURE)
    }
}
