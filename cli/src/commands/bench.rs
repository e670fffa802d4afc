//! `rp1 bench`: how fast the simulator runs SH-4A code, beside its peers.
//!
//! Runs the shared workload (../shared/bench/work.c) under our own harness
//! on one simulated core, checks the CRC against the host's, and times
//! GXemul and qemu-sh4 on the same workload in the same run (through
//! ../shared/bench/peers.sh), printing every rate and the ratios: these
//! machines are shared and noisy, so only ratios measured side by side mean
//! anything. Then the same workload on all four simulated cores at once.
//!
//! Usage: rp1 bench [ITERS] (default 2000; 4096 x 9 instructions per pass).
//!
//! Owns: the measurement and what it prints. Must not touch: the workload
//! (../shared/bench), the harness programs (tests/guests/programs/
//! bench_work*.c) or the simulator. A wrong CRC panics (exit status 101).

use super::output::{finish, outln, Failure};
use rp1_sim::loader::{load_elf, symbol_address};
use rp1_sim::machine::{Config, Exit, Machine};
use rp1::programs::{build, Platform};
use std::process::{Command, ExitCode};
use std::time::Instant;

/// The workload's CRC, computed on the host (the same algorithm as work.c).
fn host_crc(iters: u32) -> u32 {
    let mut table = [0u32; 256];
    for (i, t) in table.iter_mut().enumerate() {
        let mut c = i as u32;
        for _ in 0..8 {
            c = if c & 1 != 0 { 0xEDB8_8320 ^ (c >> 1) } else { c >> 1 };
        }
        *t = c;
    }
    let buf: Vec<u8> = (0..4096u32).map(|i| (i * 7 + 3) as u8).collect();
    let mut crc = 0xFFFF_FFFFu32;
    for _ in 0..iters {
        for &b in &buf {
            crc = table[((crc ^ b as u32) & 0xFF) as usize] ^ (crc >> 8);
        }
    }
    crc ^ 0xFFFF_FFFF
}

struct SimRun {
    console: String,
    instructions: u64,
    cycles: u64,
    seconds: f64,
}

fn run_sim(program: &str, cores: usize, iters: u32) -> SimRun {
    let elf = build(program, Platform::Rp1);
    let image = std::fs::read(&elf).expect("read the harness");
    let mut m = Machine::new(Config { cores, ..Config::default() }).expect("machine");
    let loaded = load_elf(&mut m.bus, &image).expect("load the harness");
    let at = symbol_address(&image, "bench_iters").expect("the harness defines bench_iters");
    m.bus.load(0, at & 0x1FFF_FFFF, &iters.to_le_bytes()).expect("patch bench_iters");
    m.cpus[0].reset(loaded.entry);
    let t0 = Instant::now();
    let exit = m.run(u64::MAX);
    let seconds = t0.elapsed().as_secs_f64();
    assert_eq!(exit, Exit::Guest(0), "{program} did not exit cleanly:\n{}", m.console_text());
    SimRun {
        console: m.console_text(),
        instructions: m.cpus.iter().map(|c| c.stats.instructions).sum(),
        cycles: m.now,
        seconds,
    }
}

/// Runs ../shared/bench/peers.sh and returns (name, crc, seconds) per peer.
fn run_peers(iters: u32) -> Result<Vec<(String, String, f64)>, String> {
    let script = rp1::programs::guests_dir().join("../../../shared/bench/peers.sh");
    let out = Command::new("bash")
        .arg(&script)
        .arg(iters.to_string())
        .output()
        .map_err(|e| format!("{}: {e}", script.display()))?;
    if !out.status.success() {
        return Err(format!("peers.sh failed: {}", String::from_utf8_lossy(&out.stderr)));
    }
    let text = String::from_utf8_lossy(&out.stdout);
    let mut peers = Vec::new();
    for line in text.lines() {
        // "gxemul: crc=d552b2c4  .175194616 s  ~420 MIPS"
        let Some((name, rest)) = line.split_once(": crc=") else { continue };
        let mut words = rest.split_whitespace();
        let crc = words.next().unwrap_or("").to_string();
        let secs: f64 = words.next().and_then(|s| s.parse().ok()).ok_or(format!("cannot parse {line:?}"))?;
        peers.push((name.to_string(), crc, secs));
    }
    Ok(peers)
}

#[derive(clap::Args)]
pub struct Args {
    /// Passes over the 4 KiB buffer (4096 x 9 instructions each).
    #[arg(default_value_t = 2000)]
    iters: u32,
}

/// Runs `rp1 bench`: 0, or as every subcommand when its output cannot be
/// written.
pub fn main(args: Args) -> ExitCode {
    finish("rp1", bench(args))
}

fn bench(args: Args) -> Result<ExitCode, Failure> {
    let iters = args.iters;
    let want = format!("{:08x}", host_crc(iters));
    let workload = iters as f64 * 4096.0 * 9.0;
    outln!("workload: ../shared/bench/work.c, ITERS={iters} (~{:.1} M instructions), expected CRC {want}", workload / 1e6)?;

    let one = run_sim("bench_work", 1, iters);
    let crc_ok = one.console.trim() == format!("crc {want}");
    let our_mips = one.instructions as f64 / one.seconds / 1e6;
    outln!(
        "rp1-sim (1 core):  crc {}  {:.3} s  {} instructions  {:.0} MIPS  ({} simulated cycles)",
        if crc_ok { "ok" } else { "WRONG" },
        one.seconds,
        one.instructions,
        our_mips,
        one.cycles
    )?;
    assert!(crc_ok, "the simulated CRC is wrong: {}", one.console);

    match run_peers(iters) {
        Ok(peers) => {
            for (name, crc, secs) in peers {
                let mips = workload / secs / 1e6;
                outln!(
                    "{name:<18} crc {}  {secs:.3} s  ~{mips:.0} MIPS  -> rp1-sim is {:.2}x its rate",
                    if crc == want { "ok" } else { "WRONG" },
                    our_mips / mips
                )?;
            }
        }
        Err(e) => outln!("peers not measured: {e}")?,
    }

    let four = run_sim("bench_work_smp", 4, iters);
    let all_ok = four.console.lines().filter(|l| l.ends_with(&format!("crc {want}"))).count() == 4;
    outln!(
        "rp1-sim (4 cores): crc {}  {:.3} s  {} instructions  {:.0} MIPS aggregate ({} simulated cycles)",
        if all_ok { "ok" } else { "WRONG" },
        four.seconds,
        four.instructions,
        four.instructions as f64 / four.seconds / 1e6,
        four.cycles
    )?;
    assert!(all_ok, "a simulated core computed a wrong CRC:\n{}", four.console);
    Ok(ExitCode::SUCCESS)
}
