//! `rp1 run IMAGE...`: loads one or more ELF images, starts core 0 at the
//! first image's entry point (the others wait in reset until software
//! starts them), streams SCIF0 to the console, and prints a per-core
//! summary when the guest exits, the machine halts, or the cycle limit is
//! reached.
//!
//! Owns: this subcommand's options, what it prints and its exit codes.
//! Must not touch: the simulation; it calls rp1-sim for that (the machine,
//! the loader, Linux boot parameters, the GDB stub, the trace and the
//! summary).

use clap::ValueEnum;
use rp1_sim::machine::{Config, Exit, Machine};
use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Instant;

#[derive(Clone, Copy, ValueEnum, PartialEq, Eq)]
enum ConsoleMode {
    /// Write SCIF0 output to standard output as it appears.
    Stdout,
    /// Discard it (the summary still reports its size).
    None,
}

#[derive(clap::Args)]
pub struct Args {
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

/// Runs `rp1 run`; bad input is exit status 2.
pub fn main(args: Args) -> ExitCode {
    match run(args) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("rp1: {e}");
            ExitCode::from(2)
        }
    }
}

fn run(args: Args) -> Result<ExitCode, String> {
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
    // The trace is written as the machine produces it (bounded memory).
    if let Some(p) = &args.trace {
        let file = std::fs::File::create(p).map_err(|e| format!("{}: {e}", p.display()))?;
        machine.trace_to(Box::new(std::io::BufWriter::with_capacity(1 << 16, file)));
    }
    let trace_failed = |machine: &Machine| match (&args.trace, machine.trace_error()) {
        (Some(p), Some(e)) => Err(format!("--trace {}: {e}", p.display())),
        _ => Ok(()),
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
                trace_failed(&machine)?;
                match exit {
                    Exit::CycleLimit if machine.now < args.max_cycles => continue,
                    other => break other,
                }
            }
        }
    };
    if let Some(p) = &args.trace {
        machine.finish_trace().map_err(|e| format!("--trace {}: {e}", p.display()))?;
    }
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
