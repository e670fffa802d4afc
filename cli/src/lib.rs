//! rp1 (library): what the `rp1` command's subcommands do beyond parsing
//! and printing, shared with the integration tests (rp1-systests).
//!
//! * `programs`: builds the bare-metal SH-4A test programs (`tests/guests`)
//!   with the SH-4 cross compiler (`rp1 demo`, `rp1 bench`, the tests);
//! * `hvguests`: builds the hypervisor's test guests (`tests/hvguests`);
//! * `lhp`: one lock-holder-preemption scenario as a machine description;
//! * `experiments`: the LHP experiments (`rp1 lhp`): runs (in parallel
//!   on the host's cores), statistics, tables, data files, charts;
//! * `sweep`: a sweep of them as independent jobs: in-process, or as a
//!   job list (one command line per scenario) and its per-scenario
//!   result files merged;
//! * `linux`: builds Linux with scripts/build-linux.sh and boots it on the
//!   simulated RP1 (`rp1 linux`, the Linux tests).
//!
//! The binary (`src/main.rs`, `src/commands/`) owns argument parsing, what
//! the commands print and their exit codes.
//!
//! Owns: building guests (it runs `sh4-linux-gnu-gcc` and the Linux build
//! script), the scenarios and the experiments. Must not touch: the machine
//! (rp1-sim), the board image's runner and the hosted model, descriptions, reports and timelines
//! (spumone-hosting), or the hypervisor crates: it uses their public APIs.

pub mod board;
pub mod programs;
pub mod hvguests;
pub mod lhp;
pub mod experiments;
pub mod sweep;
pub mod linux;
pub mod linux_guest;
pub mod linux_experiment;
pub mod linux_overhead;
pub mod toppers;
