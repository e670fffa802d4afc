//! `rp1-lhp`: the lock-holder-preemption experiments on the hosted
//! hypervisor (docs/experiments.md).
//!
//! `rp1-lhp run` runs one scenario and prints its report.

use clap::{Parser, Subcommand};
use rp1_sim::hosting::description::Policy;
use rp1_systests::lhp::Scenario;
use std::process::ExitCode;

#[derive(Parser)]
#[command(name = "rp1-lhp", about = "Lock-holder-preemption experiments on the simulated RP1")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(clap::Args, Clone)]
struct ScenarioArgs {
    /// none, delayed-preemption, trap-migration, on-demand-migration.
    #[arg(long, default_value = "on-demand-migration")]
    policy: String,
    /// RTOS periodic samples (1 ms each); 0 runs the GPOS alone.
    #[arg(long, default_value_t = 200)]
    samples: u32,
    /// RTOS CPU-burner utilization in percent of its 500 ms window.
    #[arg(long, default_value_t = 0)]
    util: u32,
    /// GPOS vCPUs (one per core from core 0).
    #[arg(long, default_value_t = 4)]
    vcpus: u32,
    /// GPOS run time in simulated milliseconds.
    #[arg(long, default_value_t = 200)]
    gpos_ms: u32,
    /// GPOS kernel work under its own lock per unit.
    #[arg(long, default_value_t = 400)]
    cs: u32,
    #[arg(long)]
    spin_yield: bool,
    #[arg(long)]
    no_ipl_separation: bool,
    #[arg(long)]
    dispatch_first: bool,
    /// Bounded delayed preemption: migrate after this many microseconds.
    #[arg(long)]
    delay_bound_us: Option<u32>,
}

impl ScenarioArgs {
    fn scenario(&self) -> Result<Scenario, String> {
        let policy = Policy::from_name(&self.policy).ok_or_else(|| format!("unknown policy `{}`", self.policy))?;
        let mut s = Scenario::new(policy);
        s.samples = self.samples;
        s.rtos_util = self.util;
        s.gpos_vcpus = self.vcpus;
        s.gpos_ms = self.gpos_ms;
        s.cs_iterations = self.cs;
        s.spin_yield = self.spin_yield;
        s.ipl_separation = !self.no_ipl_separation;
        s.dispatch_first = self.dispatch_first;
        s.delay_bound_us = self.delay_bound_us;
        Ok(s)
    }
}

#[derive(Subcommand)]
enum Command {
    /// Run one scenario and print its report.
    Run(ScenarioArgs),
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Run(args) => run_one(&args),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("rp1-lhp: {e}");
            ExitCode::from(2)
        }
    }
}

fn run_one(args: &ScenarioArgs) -> Result<(), String> {
    let s = args.scenario()?;
    let limit = 600_000_000 * (s.gpos_ms.max(s.samples) as u64 / 1000 + 5);
    let (desc, r) = s.run(limit, false)?;
    print!("{}", rp1_sim::hosting::report::render(&desc, &r));
    Ok(())
}
