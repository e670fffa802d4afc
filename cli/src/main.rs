//! `rp1`: the command-line front end of the RP1 simulator.
//!
//! `rp1 run IMAGE...` loads one or more ELF images, starts core 0 at the
//! first image's entry point (the others wait in reset until software
//! starts them), streams SCIF0 to the console, and prints a per-core
//! summary when the guest exits, the machine halts, or the cycle limit is
//! reached.
//!
//! `rp1 hv DESCRIPTION.toml` runs a machine description
//! (docs/machine-description.md) under the hosted hypervisor, prints the
//! run report and, with `--timeline`, writes a Chrome-trace timeline.
//!
//! Owns: argument parsing, what the commands print and their exit codes.
//! Must not touch: the simulation, the hypervisor, the description's rules
//! or the report's and timeline's contents; it calls the library for those.

use clap::{Parser, Subcommand, ValueEnum};
use spumone_hosting::{description, report, runner, trace_export};
use rp1_sim::machine::{Config, Exit, Machine};
use std::io::{IsTerminal, Write};
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Instant;

#[derive(Parser)]
#[command(name = "rp1", version, about = "Deterministic simulator of the RP1 (quad-core SH-4A) board")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Boot ELF images on the simulated RP1.
    Run(RunArgs),
    /// Run a machine description under the hosted hypervisor and report.
    ///
    /// Exit status: 0 when every guest exited with status 0; 1 when a guest
    /// exited with another status, the run reached --max-ms, or it ended
    /// before every guest exited; 2 for a bad description, image or option.
    Hv(HvArgs),
}

/// Cycles of the 600 MHz CPU clock per millisecond.
const CYCLES_PER_MS: u64 = 600_000;

/// At most this many events go into a timeline; the rest are counted as
/// dropped (the trace's `otherData.dropped_events`).
const TIMELINE_MAX_EVENTS: usize = 2_000_000;

#[derive(clap::Args)]
struct HvArgs {
    /// The machine description (TOML, docs/machine-description.md).
    description: PathBuf,
    /// Stop after this many milliseconds of simulated time even if guests
    /// are still running.
    #[arg(long, default_value_t = 10_000, value_parser = clap::value_parser!(u64).range(1..=u64::MAX / CYCLES_PER_MS))]
    max_ms: u64,
    /// Write a timeline of the run (Chrome trace JSON, opens in
    /// ui.perfetto.dev and chrome://tracing) to this file.
    #[arg(long, value_name = "FILE.json")]
    timeline: Option<PathBuf>,
    /// Print neither progress nor the report (errors still go to stderr).
    #[arg(long)]
    quiet: bool,
}

#[derive(Clone, Copy, ValueEnum, PartialEq, Eq)]
enum ConsoleMode {
    /// Write SCIF0 output to standard output as it appears.
    Stdout,
    /// Discard it (the summary still reports its size).
    None,
}

#[derive(clap::Args)]
struct RunArgs {
    /// ELF images to load; core 0 starts at the first one's entry point.
    #[arg(required = true)]
    images: Vec<PathBuf>,
    /// Number of cores (1-4).
    #[arg(long, default_value_t = 4)]
    cores: usize,
    /// DRAM size in MiB (at physical 0x08000000, at most 128).
    #[arg(long, default_value_t = 128)]
    mem: u32,
    /// Stop after this many simulated cycles (600 MHz).
    #[arg(long, default_value_t = 60_000_000_000)]
    max_cycles: u64,
    /// Round-robin quantum in cycles.
    #[arg(long, default_value_t = 1000)]
    quantum: u64,
    /// Where SCIF0 output goes.
    #[arg(long, value_enum, default_value_t = ConsoleMode::Stdout)]
    console: ConsoleMode,
    /// Also write SCIF0 output to this file.
    #[arg(long)]
    console_file: Option<PathBuf>,
    /// Write an instruction/exception/interrupt trace to this file.
    #[arg(long)]
    trace: Option<PathBuf>,
    /// Start core 0 here instead of at the first image's entry point.
    #[arg(long, value_parser = parse_u32)]
    entry: Option<u32>,
    /// Serve the GDB remote protocol on this address (e.g. 127.0.0.1:1234)
    /// and wait for gdb-multiarch before running.
    #[arg(long)]
    gdb: Option<String>,
    /// Linux kernel command line, written to the kernel's boot parameters
    /// (the `empty_zero_page` of the first image), as a boot loader would.
    #[arg(long)]
    cmdline: Option<String>,
    /// Initramfs to place in RAM after the first image and announce in its
    /// boot parameters.
    #[arg(long)]
    initrd: Option<PathBuf>,
    /// Do not print the summary.
    #[arg(long)]
    quiet: bool,
}

/// Where SCIF0 output goes: standard output, a file, both or neither.
struct Console {
    to_stdout: bool,
    file: Option<std::fs::File>,
}

impl Console {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<()> {
        if self.to_stdout {
            let mut out = std::io::stdout().lock();
            out.write_all(bytes)?;
            out.flush()?;
        }
        if let Some(f) = self.file.as_mut() {
            f.write_all(bytes)?;
        }
        Ok(())
    }
}

fn parse_u32(s: &str) -> Result<u32, String> {
    let t = s.trim();
    let r = match t.strip_prefix("0x").or_else(|| t.strip_prefix("0X")) {
        Some(hex) => u32::from_str_radix(hex, 16),
        None => t.parse(),
    };
    r.map_err(|e| format!("{s:?} is not a 32-bit number: {e}"))
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match cli.command {
        Command::Run(args) => match run(args) {
            Ok(code) => code,
            Err(e) => {
                eprintln!("rp1: {e}");
                ExitCode::from(2)
            }
        },
        Command::Hv(args) => match hv(args) {
            Ok(code) => code,
            Err(e) => {
                eprintln!("rp1: {e}");
                ExitCode::from(2)
            }
        },
    }
}

/// `rp1 hv`: Err is bad input (exit status 2).
fn hv(args: HvArgs) -> Result<ExitCode, String> {
    let path = &args.description;
    let desc = description::load(path).map_err(|e| e.to_string())?;
    desc.check_images().map_err(|mut e| {
        e.file.get_or_insert_with(|| path.clone());
        e.to_string()
    })?;
    // Create the timeline file before the run, so a bad path fails at once.
    let timeline_file = match &args.timeline {
        Some(p) => Some(std::fs::File::create(p).map_err(|e| format!("--timeline {}: {e}", p.display()))?),
        None => None,
    };
    let opts = runner::RunOptions { max_cycles: args.max_ms * CYCLES_PER_MS, keep_events: args.timeline.is_some() };
    let progress = if !args.quiet && std::io::stderr().is_terminal() {
        let bar = indicatif::ProgressBar::new_spinner();
        if let Ok(style) = indicatif::ProgressStyle::with_template("{spinner} {msg} ({elapsed})") {
            bar.set_style(style);
        }
        bar
    } else {
        indicatif::ProgressBar::hidden()
    };
    let result = runner::run(&desc, opts, |now| {
        progress.set_message(format!("{:.0} of {} ms simulated", now as f64 / CYCLES_PER_MS as f64, args.max_ms));
        progress.tick();
    });
    progress.finish_and_clear();
    let result = match result {
        Ok(r) => r,
        Err(e) => {
            if let Some(p) = &args.timeline {
                let _ = std::fs::remove_file(p);
            }
            return Err(format!("{}: {e}", path.display()));
        }
    };
    if !args.quiet {
        print!("{}", report::render(&desc, &result));
    }
    if let (Some(p), Some(file)) = (&args.timeline, timeline_file) {
        let options = trace_export::Options { description: Some(&desc), max_events: Some(TIMELINE_MAX_EVENTS) };
        let (timeline, unpaired) = trace_export::export(&result, options);
        let mut w = std::io::BufWriter::new(file);
        timeline
            .write_to(&mut w)
            .and_then(|()| w.flush())
            .map_err(|e| format!("--timeline {}: {e}", p.display()))?;
        if !args.quiet {
            println!("timeline: {} events written to {} (open it in ui.perfetto.dev or chrome://tracing)", timeline.len(), p.display());
            if timeline.dropped() > 0 {
                println!("timeline: {} more events dropped (at most {TIMELINE_MAX_EVENTS} are kept)", timeline.dropped());
            }
            if unpaired != trace_export::Unpaired::default() {
                println!("timeline: unpaired log events: {unpaired:?}");
            }
        }
    }
    Ok(hv_status(&args, &result))
}

/// 0 when every guest exited with status 0, else 1 with the reason on
/// stderr.
fn hv_status(args: &HvArgs, result: &runner::RunResult) -> ExitCode {
    let exits = &result.log.exits;
    if !exits.is_empty() && exits.iter().all(|e| *e == Some(0)) {
        return ExitCode::SUCCESS;
    }
    for (g, name) in result.guests.iter().enumerate() {
        if let Some(Some(status)) = exits.get(g).copied().filter(|s| *s != Some(0)) {
            eprintln!("rp1: guest `{name}` exited with status {status} ({status:#x})");
        }
    }
    let running: Vec<String> = result
        .guests
        .iter()
        .enumerate()
        .filter(|(g, _)| exits.get(*g).copied().flatten().is_none())
        .map(|(_, n)| format!("`{n}`"))
        .collect();
    if !running.is_empty() {
        match result.exit {
            Exit::CycleLimit => eprintln!(
                "rp1: stopped at --max-ms {} ({} cycles) with {} still running",
                args.max_ms,
                result.cycles,
                running.join(", ")
            ),
            other => eprintln!("rp1: the run ended ({other:?}) with {} still running", running.join(", ")),
        }
    }
    ExitCode::from(1)
}

fn run(args: RunArgs) -> Result<ExitCode, String> {
    if args.mem == 0 || args.mem > 128 {
        return Err(format!("--mem must be 1 to 128 MiB, not {}", args.mem));
    }
    let config = Config {
        cores: args.cores,
        dram_size: args.mem << 20,
        quantum: args.quantum,
        trace: args.trace.is_some(),
    };
    let mut machine = Machine::new(config).map_err(|e| e.to_string())?;
    let mut entry = None;
    for (i, path) in args.images.iter().enumerate() {
        let bytes = std::fs::read(path).map_err(|e| format!("{}: {e}", path.display()))?;
        let image = rp1_sim::loader::load_elf(&mut machine.bus, &bytes).map_err(|e| format!("{}: {e}", path.display()))?;
        entry.get_or_insert(image.entry);
        if i == 0 && (args.cmdline.is_some() || args.initrd.is_some()) {
            let initrd = match &args.initrd {
                Some(p) => Some(std::fs::read(p).map_err(|e| format!("{}: {e}", p.display()))?),
                None => None,
            };
            let cmdline = args.cmdline.as_deref().unwrap_or("");
            rp1_sim::linux_boot::set_boot_params(&mut machine.bus, &bytes, cmdline, initrd.as_deref())
                .map_err(|e| format!("{}: {e}", path.display()))?;
        }
    }
    let entry = args.entry.or(entry).expect("at least one image");
    machine.cpus[0].reset(entry);

    let mut console = Console {
        to_stdout: args.console == ConsoleMode::Stdout,
        file: match &args.console_file {
            Some(p) => Some(std::fs::File::create(p).map_err(|e| format!("{}: {e}", p.display()))?),
            None => None,
        },
    };
    let mut trace_file = match &args.trace {
        Some(p) => Some(std::io::BufWriter::new(std::fs::File::create(p).map_err(|e| format!("{}: {e}", p.display()))?)),
        None => None,
    };

    let started = Instant::now();
    let mut shown = 0usize;
    let mut exit_from_gdb = None;
    if let Some(addr) = &args.gdb {
        let mut sink = |bytes: &[u8]| {
            let _ = console.write(bytes);
        };
        let outcome = rp1_sim::gdb::serve_with(&mut machine, addr, &mut sink).map_err(|e| format!("gdb: {e}"))?;
        shown = machine.console.len();
        match outcome {
            rp1_sim::gdb::GdbOutcome::GuestExited(code) => exit_from_gdb = Some(Exit::Guest(code)),
            rp1_sim::gdb::GdbOutcome::Killed => {
                eprintln!("rp1: killed from gdb");
                return Ok(ExitCode::from(137));
            }
            // Detached or connection closed: run on without the debugger.
            _ => {}
        }
    }
    let exit = match exit_from_gdb {
        Some(exit) => exit,
        None => {
            // Run in slices so the console streams while the guest runs.
            const SLICE: u64 = 20_000_000;
            loop {
                let limit = (machine.now + SLICE).min(args.max_cycles);
                let exit = machine.run(limit);
                console.write(&machine.console[shown..]).map_err(|e| e.to_string())?;
                shown = machine.console.len();
                if let Some(t) = trace_file.as_mut() {
                    let events = std::mem::take(&mut machine.trace);
                    for ev in &events {
                        writeln!(t, "{}", rp1_sim::trace::format_event(ev, machine.table())).map_err(|e| e.to_string())?;
                    }
                }
                match exit {
                    Exit::CycleLimit if machine.now < args.max_cycles => continue,
                    other => break other,
                }
            }
        }
    };
    let host = started.elapsed();
    if !args.quiet {
        eprint!("{}", rp1_sim::report::summary(&machine, exit, host));
    }
    Ok(match exit {
        Exit::Guest(code) => ExitCode::from((code & 0xFF) as u8),
        Exit::Halted => ExitCode::SUCCESS,
        Exit::CycleLimit => {
            eprintln!("rp1: stopped at the cycle limit ({} cycles)", args.max_cycles);
            ExitCode::from(124)
        }
        Exit::DoubleFault { .. } => ExitCode::from(3),
        Exit::Breakpoint(core) => {
            eprintln!("rp1: breakpoint on core {core}");
            ExitCode::from(5)
        }
    })
}
