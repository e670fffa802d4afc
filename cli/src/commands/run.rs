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

use super::output::{errln, finish, write_out_bytes, Failure, OutputFile};
use clap::ValueEnum;
use rp1_sim::machine::{Config, Exit, Machine, MAX_ICI_LATENCY, MAX_QUANTUM};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Instant;

#[derive(Clone, Copy, ValueEnum, PartialEq, Eq)]
enum ConsoleMode {
    /// Write SCIF0 output to standard output as it appears.
    Stdout,
    /// Discard it (the summary still reports its size); with no
    /// --console-file the machine keeps none of it.
    None,
}

#[derive(clap::Args)]
pub struct Args {
    /// ELF images to load; core 0 starts at the first one's entry point.
    /// An image file may have at most 256 MiB.
    #[arg(required = true)]
    images: Vec<PathBuf>,
    /// Number of cores (1-4).
    #[arg(long, default_value_t = 4)]
    cores: usize,
    /// DRAM size in MiB (at physical 0x08000000, at most 128).
    #[arg(long, default_value_t = 128)]
    mem: u32,
    /// Stop after this many simulated cycles (600 MHz): the run ends
    /// exactly there, whatever the quantum.
    #[arg(long, default_value_t = 60_000_000_000)]
    max_cycles: u64,
    /// Round-robin quantum in cycles: how long a core runs before the next
    /// one takes its turn, 1 to 1000000 (1/600 of a simulated second).
    #[arg(long, default_value_t = 1000, value_parser = clap::value_parser!(u64).range(1..=MAX_QUANTUM))]
    quantum: u64,
    /// Execution tier: interp (the reference interpreter) or jit (hot code
    /// translated to host code). The same machine, cycle for cycle; only
    /// host speed differs. Default: $RP1_TIER, else jit (interp on a host Cranelift has no backend for).
    #[arg(long)]
    tier: Option<rp1_sim::cpu::jit::Tier>,
    /// With --tier jit: visits of an instruction (jumps, returns and
    /// slice starts there) before its code is translated, 1 to 65536.
    /// Default: $RP1_JIT_HOT, else 4096 (translations are compiled on a
    /// thread of their own), or 32768 with RP1_JIT_BACKGROUND=0 (compiled
    /// on the simulating thread).
    #[arg(long)]
    jit_hot: Option<u32>,
    /// Cycles from an inter-core interrupt's request to when its receiver
    /// can take it, 0 to 600000: a model parameter of the interconnect.
    /// Default: $RP1_ICI_LATENCY, else 0.
    #[arg(long, value_parser = clap::value_parser!(u64).range(0..=MAX_ICI_LATENCY))]
    ici_latency: Option<u64>,
    /// Stop every core at every round's end, even one that runs alone
    /// with nothing for the machine to do there (the same machine, cycle
    /// for cycle, only slower: for comparing). Default: $RP1_FUSE_ROUNDS
    /// (1 or 0), else a lone core runs through such round ends.
    #[arg(long)]
    no_fuse_rounds: bool,
    /// Where SCIF0 output goes.
    #[arg(long, value_enum, default_value_t = ConsoleMode::Stdout)]
    console: ConsoleMode,
    /// Also write SCIF0 output to this file (not one of the inputs).
    #[arg(long)]
    console_file: Option<PathBuf>,
    /// Write an instruction/exception/interrupt trace to this file (not one
    /// of the inputs).
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
    file: Option<OutputFile>,
}

impl Console {
    fn write(&mut self, bytes: &[u8]) -> Result<(), Failure> {
        if bytes.is_empty() {
            return Ok(());
        }
        if self.to_stdout {
            write_out_bytes(bytes)?;
        }
        if let Some(f) = self.file.as_mut() {
            f.write_all(bytes)?;
            f.flush()?;
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

/// The exit statuses of `rp1 run` (also in `rp1 run --help` and
/// docs/simulator.md).
mod status {
    /// The guest exited with 0, or the machine halted (a core asleep with
    /// interrupts masked in a halt routine, the others asleep or in
    /// reset, none to wake).
    pub const OK: u8 = 0;
    /// The guest exited with another status (printed exactly on stderr).
    pub const GUEST_FAILED: u8 = 1;
    /// Bad input or options, or an output that cannot be written.
    pub const BAD_INPUT: u8 = 2;
    /// A core took an exception with exceptions blocked.
    pub const DOUBLE_FAULT: u8 = 3;
    /// Every core asleep with interrupts open, waiting for an interrupt
    /// nothing will raise.
    pub const STUCK: u8 = 4;
    /// A debugger breakpoint.
    pub const BREAKPOINT: u8 = 5;
    /// As for a halt, but a core sleeps with interrupts masked outside
    /// every halt routine: it can never wake, and did not stop on purpose.
    pub const DEADLOCKED: u8 = 6;
    /// --max-cycles reached.
    pub const CYCLE_LIMIT: u8 = 124;
    /// GDB killed the guest.
    pub const KILLED: u8 = 137;
}

/// Runs `rp1 run`; bad input is exit status 2.
pub fn main(args: Args) -> ExitCode {
    finish("rp1", run(args))
}

/// The image at `path`, read header first and at most 256 MiB.
fn read_image(path: &Path) -> Result<Vec<u8>, String> {
    rp1_sim::loader::read_image(path).map_err(|e| format!("{}: {e}", path.display()))
}

/// The initramfs at `path`: at most `limit` bytes (the machine's RAM),
/// more is refused without reading it all.
fn read_initrd(path: &Path, limit: u64) -> Result<Vec<u8>, String> {
    rp1_sim::loader::read_at_most(path, limit)
        .map_err(|e| format!("--initrd {}: {e}", path.display()))?
        .ok_or_else(|| format!("--initrd {}: the initramfs is larger than the machine's RAM ({limit} bytes)", path.display()))
}

fn run(args: Args) -> Result<ExitCode, Failure> {
    if args.mem == 0 || args.mem > 128 {
        return Err(format!("--mem must be 1 to 128 MiB, not {}", args.mem).into());
    }
    let config = Config {
        cores: args.cores,
        dram_size: args.mem << 20,
        quantum: args.quantum,
        trace: args.trace.is_some(),
        tier: args.tier,
        jit_hot: args.jit_hot,
        jit_background: None,
        ici_latency: args.ici_latency,
        fuse_rounds: args.no_fuse_rounds.then_some(false),
    };
    let mut machine = Machine::new(config).map_err(|e| e.to_string())?;
    let mut entry = None;
    for (i, path) in args.images.iter().enumerate() {
        let bytes = read_image(path)?;
        let image = machine.load_elf(&bytes).map_err(|e| format!("{}: {e}", path.display()))?;
        entry.get_or_insert(image.entry);
        if i == 0 && (args.cmdline.is_some() || args.initrd.is_some()) {
            let initrd = match &args.initrd {
                Some(p) => Some(read_initrd(p, machine.bus.dram_size() as u64)?),
                None => None,
            };
            let cmdline = args.cmdline.as_deref().unwrap_or("");
            rp1_sim::linux_boot::set_boot_params(&mut machine.bus, &bytes, cmdline, initrd.as_deref())
                .map_err(|e| format!("{}: {e}", path.display()))?;
        }
    }
    let entry = args.entry.or(entry).expect("at least one image");
    machine.cpus[0].reset(entry);

    // No output may be an input (or the other output).
    let mut inputs: Vec<(&str, &Path)> = args.images.iter().map(|p| ("the image", p.as_path())).collect();
    if let Some(p) = &args.initrd {
        inputs.push(("the initramfs", p));
    }
    let mut console_file = match &args.console_file {
        Some(p) => Some(OutputFile::open("--console-file", p, &inputs)?),
        None => None,
    };
    if let Some(p) = &args.console_file {
        inputs.push(("--console-file", p));
    }
    let mut trace_file = match &args.trace {
        Some(p) => Some(OutputFile::open("--trace", p, &inputs)?),
        None => None,
    };
    for f in console_file.iter_mut().chain(trace_file.iter_mut()) {
        f.truncate()?;
    }
    // The trace is written as the machine produces it (bounded memory).
    if let Some(t) = trace_file.take() {
        let file = t.into_file()?;
        machine.trace_to(Box::new(std::io::BufWriter::with_capacity(1 << 16, file)));
    }
    let trace_failed = |machine: &Machine| match (&args.trace, machine.trace_error()) {
        (Some(p), Some(e)) => Err(format!("--trace {}: {e}", p.display())),
        _ => Ok(()),
    };
    let mut console = Console { to_stdout: args.console == ConsoleMode::Stdout, file: console_file };
    if !console.to_stdout && console.file.is_none() {
        // The console goes nowhere: keep none of it (the summary counts it).
        machine.console_limit = 0;
    }

    let started = Instant::now();
    let mut exit_from_gdb = None;
    if let Some(addr) = &args.gdb {
        let mut failed = None;
        let mut sink = |bytes: &[u8]| {
            if failed.is_none() {
                failed = console.write(bytes).err();
            }
        };
        let outcome = rp1_sim::gdb::serve_with(&mut machine, addr, &mut sink).map_err(|e| format!("gdb: {e}"))?;
        if let Some(e) = failed {
            return Err(e);
        }
        // The session echoed the console as it went.
        machine.console.clear();
        match outcome {
            rp1_sim::gdb::GdbOutcome::GuestExited(code) => exit_from_gdb = Some(Exit::Guest(code)),
            rp1_sim::gdb::GdbOutcome::Killed => {
                errln!("rp1: killed from gdb")?;
                return Ok(ExitCode::from(status::KILLED));
            }
            // Detached or connection closed: run on without the debugger.
            _ => {}
        }
    }
    let exit = match exit_from_gdb {
        Some(exit) => exit,
        None => {
            // The run ends at --max-cycles exactly, whatever the quantum.
            machine.stop_at(args.max_cycles);
            // Run in slices so the console streams while the guest runs.
            const SLICE: u64 = 20_000_000;
            loop {
                let exit = machine.run(machine.now.saturating_add(SLICE));
                console.write(&machine.console)?;
                machine.console.clear();
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
        super::output::err!("{}", rp1_sim::report::summary(&machine, exit, host))?;
    }
    let code = match exit {
        Exit::Guest(0) | Exit::Halted => status::OK,
        Exit::Guest(code) => {
            errln!("rp1: the guest exited with status {code} ({code:#x})")?;
            status::GUEST_FAILED
        }
        Exit::Stuck => {
            errln!(
                "rp1: the machine is stuck: every core is asleep or in reset, waiting with interrupts open for an \
                 interrupt that nothing will raise; none halted"
            )?;
            status::STUCK
        }
        Exit::Deadlocked { core, pc } => {
            errln!(
                "rp1: the machine is deadlocked: every core is asleep or in reset and nothing can wake one; core \
                 {core} went to sleep with interrupts masked at {pc:#010x}, outside every halt routine \
                 (rp1_halt, stop_this_cpu)"
            )?;
            status::DEADLOCKED
        }
        Exit::CycleLimit => {
            errln!("rp1: stopped at the cycle limit ({} cycles)", args.max_cycles)?;
            status::CYCLE_LIMIT
        }
        Exit::DoubleFault { .. } => status::DOUBLE_FAULT,
        Exit::Breakpoint(core) => {
            errln!("rp1: breakpoint on core {core}")?;
            status::BREAKPOINT
        }
    };
    debug_assert_ne!(code, status::BAD_INPUT);
    Ok(ExitCode::from(code))
}
