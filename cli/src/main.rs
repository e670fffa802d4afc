//! `rp1`: the one command of this repository.
//!
//! * `rp1 run IMAGE...` boots ELF images on the simulated RP1;
//! * `rp1 hv DESCRIPTION.toml` runs a machine description under the
//!   hypervisor (its board image, or the hosted model) and reports;
//! * `rp1 lhp ...` runs the lock-holder-preemption experiments
//!   (docs/experiments.md);
//! * `rp1 linux` boots Linux with 1-4 CPUs and tabulates boot and
//!   hackbench times (docs/linux.md);
//! * `rp1 bench [ITERS]` measures the simulator's speed beside GXemul and
//!   qemu-sh4 (docs/benchmarks.md);
//! * `rp1 demo` boots the bundled SMP test programs.
//!
//! Each subcommand is a module of `commands/`, with its options, what it
//! prints and its exit codes; `commands/output.rs` is how every one of
//! them writes (a standard stream or an output file that fails never
//! panics: status 141 for a closed pipe, 2 for any other failure). Owns: the list of subcommands only. Must not
//! touch: the simulation, the hypervisor, descriptions, reports,
//! experiments or guest builds; the subcommands call rp1-sim,
//! spumone-hosting and this crate's library for those.

mod commands;

use clap::{Parser, Subcommand};
use commands::{bench, demo, hv, lhp, linux, run};
use std::process::ExitCode;

#[derive(Parser)]
#[command(name = "rp1", version, about = "Deterministic simulator of the RP1 (quad-core SH-4A) board")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Boot ELF images on the simulated RP1.
    ///
    /// Exit status: 0 when the guest exited with status 0 or the machine
    /// halted (every core asleep or in reset, nothing to wake one, and a
    /// core asleep with interrupts masked in a halt routine of the image:
    /// `rp1_halt`, or Linux's `stop_this_cpu`); 1
    /// when the guest exited with another status (printed whole on stderr:
    /// a status is 32 bits, an exit status 8); 2 for a bad image, option or
    /// output file, or standard output or error that cannot be written; 3
    /// when a core took an exception with exceptions blocked (SR.BL=1); 4
    /// when the machine is stuck (every core asleep with interrupts open,
    /// waiting for one that nothing will raise); 5 at a GDB breakpoint; 6
    /// when the machine is deadlocked (as for a halt, but a core sleeps
    /// with interrupts masked outside every halt routine); 124 at
    /// --max-cycles; 137 when GDB killed the guest; 141 when the
    /// reader of standard output or error has gone (a closed pipe; nothing
    /// more is printed).
    Run(run::Args),
    /// Run a machine description under the hypervisor (its board image, or with --hosted the hosted model) and report.
    ///
    /// Exit status: 0 when every guest exited with status 0; 1 when a guest
    /// exited with another status (printed exactly on stderr), the run
    /// reached --max-ms, or it ended before every guest exited; 2 for a bad
    /// description, image, option or output file, or standard output or
    /// error that cannot be written; 141 when the reader of standard
    /// output or error has gone (a closed pipe).
    Hv(hv::Args),
    /// Lock-holder-preemption experiments on the simulated RP1.
    Lhp(lhp::Args),
    /// Boot Linux 6.1 on the simulated RP1 with 1-4 CPUs and tabulate boot and hackbench times.
    Linux(linux::Args),
    /// How fast the simulator runs SH-4A code, beside GXemul and qemu-sh4.
    Bench(bench::Args),
    /// Boot the bundled SMP test programs on the simulated RP1 and show their reports.
    Demo,
}

fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => return commands::output::clap_exit(e),
    };
    match cli.command {
        Command::Run(args) => run::main(args),
        Command::Hv(args) => hv::main(args),
        Command::Lhp(args) => lhp::main(args),
        Command::Linux(args) => linux::main(args),
        Command::Bench(args) => bench::main(args),
        Command::Demo => demo::main(),
    }
}
