//! The test programs on our simulated RP1 (`rp1-sim`).
//!
//! Differential programs must print exactly what GXemul and qemu-sh4 print
//! (the checked-in transcripts the `reference` test holds the references
//! to); the RP1-only programs must print their hand-derived transcripts and
//! exit 0. Runs are deterministic, so the cycle counts are checked exactly
//! where a program's timing is part of what it tests, and two runs of the
//! same SMP program must agree to the cycle.

use rp1_sim::machine::{Config, Exit, Machine};
use rp1_systests::*;

/// Generous: the slowest program needs well under a simulated second.
const MAX_CYCLES: u64 = 3_000_000_000;

struct Run {
    exit: Exit,
    console: String,
    cycles: Vec<u64>,
    instructions: Vec<u64>,
}

fn run_on_rp1(program: &str, cores: usize) -> Run {
    run_sliced(program, cores, MAX_CYCLES)
}

/// Run `program`, calling `Machine::run` with limits `slice` cycles apart.
fn run_sliced(program: &str, cores: usize, slice: u64) -> Run {
    let elf = build(program, Platform::Rp1);
    let image = std::fs::read(&elf).unwrap();
    let mut m = Machine::new(Config { cores, ..Config::default() }).unwrap();
    let loaded = m.load_elf(&image).unwrap_or_else(|e| panic!("{program}: {e}"));
    m.cpus[0].reset(loaded.entry);
    let exit = loop {
        match m.run((m.now + slice).min(MAX_CYCLES)) {
            Exit::CycleLimit if m.now < MAX_CYCLES => continue,
            other => break other,
        }
    };
    Run {
        exit,
        console: m.console_text(),
        cycles: m.cpus.iter().map(|c| c.cycles).collect(),
        instructions: m.cpus.iter().map(|c| c.stats.instructions).collect(),
    }
}

fn check(program: &str) {
    let run = run_on_rp1(program, 4);
    if let Err(diff) = check_transcript(program, &run.console) {
        panic!("{program} on rp1 (exit {:?}):\n{diff}\n--- console ---\n{}", run.exit, run.console);
    }
    assert_eq!(run.exit, Exit::Guest(0), "{program}: console was\n{}", run.console);
}

macro_rules! programs {
    ($($name:ident),* $(,)?) => {
        $(
            #[test]
            fn $name() {
                check(stringify!($name));
            }
        )*
        /// Every program in the lists has a test here.
        #[test]
        fn every_program_is_run() {
            let here = [$(stringify!($name)),*];
            for p in DIFFERENTIAL.iter().chain(RP1_ONLY) {
                assert!(here.contains(p), "{p} is not run on rp1");
            }
        }
    };
}

programs!(
    hello, alu, muldiv, shift, logic, memory, branch, crc, mac, sh4a, fpu, fpu_vector, selfcheck, exceptions,
    irq_levels, tmu_periodic, smp_start, ici, spinlock, mmu, fpu_priv,
);

#[test]
fn smp_runs_are_deterministic_to_the_cycle() {
    for program in ["spinlock", "ici", "tmu_periodic"] {
        let a = run_on_rp1(program, 4);
        let b = run_on_rp1(program, 4);
        assert_eq!(a.console, b.console, "{program}: console differs between runs");
        assert_eq!(a.cycles, b.cycles, "{program}: cycle counts differ between runs");
        assert_eq!(a.instructions, b.instructions, "{program}: instruction counts differ between runs");
    }
}

/// An ICI latency (`Config::ici_latency`) delays when a receiver can take
/// an ICI and nothing else: the `ici` program, whose cores wait for every
/// delivery, passes the same. Five of its waits are for a delivery sent
/// after the last such wait ended (the four senders' rounds, then the
/// four messages to core 1 in one write): 5 x 20,000 cycles later, less 8
/// the plain run's polling spent there; the held message's wait overlaps
/// the receiver's own delay loop.
#[test]
fn an_ici_latency_delays_delivery_only() {
    let run = |latency: u64| {
        let image = std::fs::read(build("ici", Platform::Rp1)).unwrap();
        let mut m = Machine::new(Config { cores: 4, ici_latency: Some(latency), ..Config::default() }).unwrap();
        let loaded = m.load_elf(&image).unwrap();
        m.cpus[0].reset(loaded.entry);
        let exit = m.run(MAX_CYCLES);
        (exit, m.console_text(), m.cpus[0].cycles)
    };
    let (plain_exit, plain_console, plain_cycles) = run(0);
    let (exit, console, cycles) = run(20_000);
    assert_eq!(exit, plain_exit);
    assert_eq!(console, plain_console);
    assert_eq!(cycles - plain_cycles, 5 * 20_000 - 8, "{cycles} against {plain_cycles}");
}

/// Where a caller stops and resumes the machine must not change the run:
/// the Linux boot test and the CLI slice runs differently. (Rounds used to
/// end at the caller's limit, so odd slices changed the interleaving.)
#[test]
fn slicing_a_run_does_not_change_it() {
    for program in ["spinlock", "tmu_periodic"] {
        let whole = run_on_rp1(program, 4);
        for slice in [777, 12_345] {
            let sliced = run_sliced(program, 4, slice);
            assert_eq!(whole.exit, sliced.exit, "{program} in slices of {slice}");
            assert_eq!(whole.console, sliced.console, "{program} in slices of {slice}");
            assert_eq!(whole.cycles, sliced.cycles, "{program} in slices of {slice}");
            assert_eq!(whole.instructions, sliced.instructions, "{program} in slices of {slice}");
        }
    }
}

/// Counts the lines written to it (the trace's events).
#[derive(Clone, Default)]
struct LineCount(std::sync::Arc<std::sync::atomic::AtomicU64>);

impl std::io::Write for LineCount {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let n = buf.iter().filter(|&&b| b == b'\n').count() as u64;
        self.0.fetch_add(n, std::sync::atomic::Ordering::Relaxed);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// A streamed trace (`Machine::trace_to`) stops a core's slice whenever
/// its buffer fills (`TRACE_CHUNK` events, so only with a quantum longer
/// than that); that must change nothing simulated: the same exit, console,
/// cycles and instructions as without a trace, and one trace line per
/// instruction, exception and interrupt.
#[test]
fn tracing_does_not_change_a_run() {
    let elf_run = |program: &str, quantum: u64, lines: Option<&LineCount>| {
        let image = std::fs::read(build(program, Platform::Rp1)).unwrap();
        let mut m = Machine::new(Config { cores: 4, quantum, trace: lines.is_some(), ..Config::default() }).unwrap();
        let loaded = m.load_elf(&image).unwrap();
        m.cpus[0].reset(loaded.entry);
        if let Some(lines) = lines {
            m.trace_to(Box::new(lines.clone()));
        }
        let exit = m.run(MAX_CYCLES);
        m.finish_trace().unwrap();
        (exit, m)
    };
    for program in ["spinlock", "tmu_periodic", "exceptions"] {
        for quantum in [1000, 50_000] {
            let (plain_exit, plain) = elf_run(program, quantum, None);
            let lines = LineCount::default();
            let (exit, m) = elf_run(program, quantum, Some(&lines));
            let what = format!("{program}, quantum {quantum}");
            assert_eq!(exit, plain_exit, "{what}");
            assert_eq!(m.console_text(), plain.console_text(), "{what}");
            let counts = |m: &Machine| m.cpus.iter().map(|c| (c.cycles, c.stats.instructions)).collect::<Vec<_>>();
            assert_eq!(counts(&m), counts(&plain), "{what}");
            let events: u64 = m.cpus.iter().map(|c| c.stats.instructions + c.stats.exceptions + c.stats.interrupts).sum();
            assert_eq!(lines.0.load(std::sync::atomic::Ordering::Relaxed), events, "{what}");
            assert!(m.trace.is_empty(), "{what}: nothing collected in memory");
            let chunk = rp1_sim::cpu::TRACE_CHUNK + 16;
            assert!(m.cpus.iter().all(|c| c.trace.as_ref().unwrap().capacity() == chunk), "{what}: a trace buffer grew");
        }
    }
}
