//! `rp1 bench`: how fast the simulator runs SH-4A code, beside its peers.
//!
//! Runs the repository's own workload (tests/guests/include/
//! bench_workload.h: table-driven CRC-32 over a 4 KiB buffer, ITERS
//! passes, an inner loop of 9 SH instructions per byte at -O2) under our
//! harness on one simulated core, checks the CRC against the host's, and
//! times GXemul and qemu-sh4 on the same workload in the same run (through
//! scripts/bench-peers.sh, which builds it for each peer with the same
//! compiler and flags), printing every rate and the ratios: these machines
//! are shared and noisy, so only ratios measured side by side mean
//! anything. The translating tier's one-core run and the peers are timed
//! `--repeat` times, in turn (ours, then the peers, again and again), and
//! the medians are printed, with each ratio the median of the ratios of
//! runs made side by side. Each of those one-core runs is made twice:
//! as the machine runs by default, and with every core stopping at every
//! round's end (`--no-fuse-rounds`), the same instructions and cycles
//! (checked), so the difference in host time is what running through the
//! ends of empty rounds saves (`rp1_sim::cpu::Rounds`). Then the same
//! workload on all four simulated cores at once.
//! Every simulated run is made on both execution tiers (the interpreter
//! and the translating tier, `rp1_sim::cpu::jit`), which must agree on
//! every cycle and instruction.
//! Nothing outside the repository is needed; a peer whose tools are
//! missing is reported as not measured.
//!
//! What is measured and what is derived: every time is the host's wall
//! clock for this run; the simulator's instructions and cycles are counted
//! by the simulator; the peers count nothing, so their instructions are
//! taken to be ITERS x 4096 x 9 (the inner loop, checked with
//! `sh4-linux-gnu-objdump -d`), and their times include their start-up.
//!
//! Usage: rp1 bench [--repeat N] [ITERS] (default 2000; 4096 x 9
//! instructions per pass; 5 repeats).
//!
//! Owns: the measurement and what it prints. Must not touch: the workload
//! (bench_workload.h), the harness programs (tests/guests/programs/
//! bench_work*.c), the peers' script and start-up files (scripts/
//! bench-peers*) or the simulator. A wrong CRC from the simulator panics
//! (exit status 101); a peer's wrong CRC is printed as WRONG.

use super::output::{finish, outln, Failure};
use rp1_sim::loader::symbol_address;
use rp1_sim::cpu::jit::Tier;
use rp1_sim::machine::{Config, Exit, Machine};
use rp1::programs::{build, Platform};
use std::process::{Command, ExitCode, Stdio};
use std::time::Instant;

/// Bytes per pass and SH instructions per byte in the workload's inner
/// loop (BENCH_BUF_BYTES and BENCH_INSNS_PER_BYTE in bench_workload.h).
const BUF_BYTES: u32 = 4096;
const INSNS_PER_BYTE: u32 = 9;

/// The workload's CRC, computed on the host (the same algorithm as
/// bench_workload.h).
fn host_crc(iters: u32) -> u32 {
    let mut table = [0u32; 256];
    for (i, t) in table.iter_mut().enumerate() {
        let mut c = i as u32;
        for _ in 0..8 {
            c = if c & 1 != 0 { 0xEDB8_8320 ^ (c >> 1) } else { c >> 1 };
        }
        *t = c;
    }
    let buf: Vec<u8> = (0..BUF_BYTES).map(|i| (i * 7 + 3) as u8).collect();
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

/// A harness program's image, built if it is not yet.
struct Harness {
    name: &'static str,
    image: Vec<u8>,
}

impl Harness {
    fn build(name: &'static str) -> Harness {
        let elf = build(name, Platform::Rp1);
        Harness { name, image: std::fs::read(&elf).expect("read the harness") }
    }
}

/// `harness` on `cores` cores on `tier`, with rounds fused where a lone
/// core can run through them if `fuse` (the default machine).
fn run_sim(harness: &Harness, cores: usize, iters: u32, tier: Tier, fuse: bool) -> SimRun {
    let (program, image) = (harness.name, &harness.image);
    let config = Config { cores, tier: Some(tier), fuse_rounds: Some(fuse), ..Config::default() };
    let mut m = Machine::new(config).expect("machine");
    let loaded = m.load_elf(image).expect("load the harness");
    let at = symbol_address(image, "bench_iters").expect("the harness defines bench_iters");
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

/// Whether the run's console has the CRC `want` from each of its `cores`
/// cores.
fn every_core_printed(run: &SimRun, cores: usize, want: &str) -> bool {
    run.console.lines().filter(|l| l.ends_with(&format!("crc {want}"))).count() == cores
}

/// `harness` on `cores` cores on `tier`; every core must print the
/// expected CRC (a wrong one panics).
fn checked_run(harness: &Harness, cores: usize, iters: u32, tier: Tier, fuse: bool, want: &str) -> SimRun {
    let run = run_sim(harness, cores, iters, tier, fuse);
    assert!(every_core_printed(&run, cores, want), "a simulated core computed a wrong CRC ({tier}):\n{}", run.console);
    run
}

/// The line of a run on `tier` (`note` after it, if any).
fn print_run(run: &SimRun, tier: Tier, cores: usize, note: &str) -> Result<(), Failure> {
    let (label, rate) = if cores == 1 { ("1 core: ", "MIPS") } else { ("4 cores:", "MIPS aggregate") };
    outln!(
        "rp1-sim {tier:<6} {label} crc ok  {:.3} s  {} instructions  {:.0} {rate}  ({} simulated cycles){note}",
        run.seconds,
        run.instructions,
        mips(run),
        run.cycles
    )?;
    Ok(())
}

fn mips(r: &SimRun) -> f64 {
    r.instructions as f64 / r.seconds / 1e6
}

/// The median of `values` (the mean of the middle two of an even count).
fn median(values: &[f64]) -> f64 {
    let mut v = values.to_vec();
    v.sort_by(f64::total_cmp);
    let n = v.len();
    if n == 0 {
        return f64::NAN;
    }
    if n % 2 == 1 {
        v[n / 2]
    } else {
        (v[n / 2 - 1] + v[n / 2]) / 2.0
    }
}

/// The run of `runs` with the median host time (the later of the middle
/// two of an even count).
fn median_run(runs: &[SimRun]) -> &SimRun {
    let mut order: Vec<&SimRun> = runs.iter().collect();
    order.sort_by(|a, b| a.seconds.total_cmp(&b.seconds));
    order[order.len() / 2]
}

/// One peer's line from scripts/bench-peers.sh: its CRC and wall-clock
/// seconds, or why it was not measured.
struct Peer {
    name: String,
    run: Result<(String, f64), String>,
}

/// Parses the script's output: `peer NAME crc HEX seconds S` or
/// `peer NAME not measured: REASON`; other lines are ignored.
fn parse_peers(text: &str) -> Result<Vec<Peer>, String> {
    let mut peers = Vec::new();
    for line in text.lines() {
        let Some(rest) = line.strip_prefix("peer ") else { continue };
        let Some((name, rest)) = rest.split_once(' ') else { return Err(format!("cannot parse {line:?}")) };
        let run = if let Some(reason) = rest.strip_prefix("not measured: ") {
            Err(reason.to_string())
        } else {
            let words: Vec<&str> = rest.split_whitespace().collect();
            match words[..] {
                ["crc", crc, "seconds", secs] => {
                    Ok((crc.to_string(), secs.parse().map_err(|_| format!("cannot parse {line:?}"))?))
                }
                _ => return Err(format!("cannot parse {line:?}")),
            }
        };
        peers.push(Peer { name: name.to_string(), run });
    }
    if peers.is_empty() {
        return Err(format!("no peer lines in its output: {text:?}"));
    }
    Ok(peers)
}

/// Runs scripts/bench-peers.sh, which builds the workload for GXemul and
/// qemu-sh4 and times both.
fn run_peers(iters: u32) -> Result<Vec<Peer>, String> {
    let script = rp1::programs::workspace_dir().join("scripts").join("bench-peers.sh");
    let out = Command::new("bash")
        .arg(&script)
        .arg(iters.to_string())
        .stdin(Stdio::null())
        .output()
        .map_err(|e| format!("{}: {e}", script.display()))?;
    if !out.status.success() {
        let why = String::from_utf8_lossy(&out.stderr);
        return Err(format!("{} failed ({}): {}", script.display(), out.status, why.trim()));
    }
    parse_peers(&String::from_utf8_lossy(&out.stdout))
}

#[derive(clap::Args)]
pub struct Args {
    /// Passes over the 4 KiB buffer (4096 x 9 instructions each).
    #[arg(default_value_t = 2000)]
    iters: u32,
    /// Times the translating tier's one-core runs and the peers are
    /// timed, in turn (1 to 100): medians are printed.
    #[arg(long, default_value_t = 5, value_parser = clap::value_parser!(u32).range(1..=100))]
    repeat: u32,
}

/// Runs `rp1 bench`: 0, or as every subcommand when its output cannot be
/// written.
pub fn main(args: Args) -> ExitCode {
    finish("rp1", bench(args))
}

fn bench(args: Args) -> Result<ExitCode, Failure> {
    let iters = args.iters;
    let want = format!("{:08x}", host_crc(iters));
    let workload = iters as f64 * BUF_BYTES as f64 * INSNS_PER_BYTE as f64;
    outln!(
        "workload: CRC-32 over {BUF_BYTES} bytes, ITERS={iters} passes (tests/guests/include/bench_workload.h), \
         inner loop {INSNS_PER_BYTE} SH instructions per byte = ~{:.1} M instructions; expected CRC {want}",
        workload / 1e6
    )?;

    // Both execution tiers, one after the other in this run: the same
    // simulated machine (checked: cycles and instructions must agree), at
    // two host speeds. The interpreter once (it is slow, and far from
    // the peers either way); the translating tier `repeat` times, each
    // time also with every round's end looked at (the same program run:
    // the same instructions and cycles, checked), then the peers: ratios
    // of runs made side by side, on a machine whose speed drifts.
    let repeat = args.repeat as usize;
    let one_core = Harness::build("bench_work");
    let interp = checked_run(&one_core, 1, iters, Tier::Interp, true, &want);
    print_run(&interp, Tier::Interp, 1, "")?;
    let (mut fused, mut unfused, mut peer_runs) = (Vec::new(), Vec::new(), Vec::new());
    for _ in 0..repeat {
        fused.push(checked_run(&one_core, 1, iters, Tier::Jit, true, &want));
        unfused.push(checked_run(&one_core, 1, iters, Tier::Jit, false, &want));
        peer_runs.push(run_peers(iters));
    }
    let jit = median_run(&fused);
    let times = |runs: &[SimRun]| {
        let (lo, hi) = runs.iter().fold((f64::MAX, 0.0f64), |(lo, hi), r| (lo.min(r.seconds), hi.max(r.seconds)));
        if runs.len() > 1 {
            format!("  (median of {} runs, {lo:.3}-{hi:.3} s)", runs.len())
        } else {
            String::new()
        }
    };
    print_run(jit, Tier::Jit, 1, &times(&fused))?;
    let same = |a: &SimRun, b: &SimRun| a.cycles == b.cycles && a.instructions == b.instructions;
    let alike = fused.iter().chain(&unfused).all(|r| same(r, jit));
    let saved: Vec<f64> = fused.iter().zip(&unfused).map(|(f, u)| 1.0 - f.seconds / u.seconds).collect();
    let looked = median_run(&unfused);
    outln!(
        "rp1-sim jit    1 core, stopping at every round's end (--no-fuse-rounds): crc ok  {:.3} s  {:.0} MIPS  \
         (instructions and cycles {}){}: running through the ends of empty rounds saved {:.0} % of its host time",
        looked.seconds,
        mips(looked),
        if alike { "identical" } else { "DIFFERENT" },
        times(&unfused),
        100.0 * median(&saved)
    )?;
    assert!(alike, "the runs through round ends simulated a different machine");

    // Each peer's runs, by name, in the order of the repeats.
    let mut peers: Vec<(String, Vec<Result<(String, f64), String>>)> = Vec::new();
    let mut failed = None;
    for run in peer_runs {
        match run {
            Ok(lines) => {
                for peer in lines {
                    match peers.iter_mut().find(|(name, _)| *name == peer.name) {
                        Some((_, runs)) => runs.push(peer.run),
                        None => peers.push((peer.name, vec![peer.run])),
                    }
                }
            }
            Err(e) => failed = Some(e),
        }
    }
    if peers.is_empty() {
        let why = failed.unwrap_or_else(|| "no runs".to_string());
        outln!("peers not measured: {why}")?;
    }
    for (name, runs) in peers {
        // A peer is measured if every run of it was, with the right CRC.
        let measured: Result<Vec<(String, f64)>, String> = runs.into_iter().collect();
        let timed = match measured {
            Ok(timed) if timed.len() == repeat => timed,
            Ok(_) => {
                outln!("{name:<18} not measured: it was timed in only some of the runs")?;
                continue;
            }
            Err(why) => {
                outln!("{name:<18} not measured: {why}")?;
                continue;
            }
        };
        let right = timed.iter().all(|(crc, _)| *crc == want);
        let secs: Vec<f64> = timed.iter().map(|(_, s)| *s).collect();
        let peer_mips = |s: f64| workload / s / 1e6;
        let ratio = |runs: &[SimRun]| median(&runs.iter().zip(&secs).map(|(r, &s)| mips(r) / peer_mips(s)).collect::<Vec<_>>());
        let median_secs = median(&secs);
        outln!(
            "{name:<18} crc {}  {median_secs:.3} s  ~{:.0} MIPS  -> rp1-sim is {:.2}x its rate (interp), {:.2}x (jit), \
             {:.2}x (jit, stopping at every round's end)",
            if right { "ok" } else { "WRONG" },
            peer_mips(median_secs),
            mips(&interp) / peer_mips(median_secs),
            ratio(&fused),
            ratio(&unfused)
        )?;
    }

    let mut four_cores = Vec::new();
    let smp = Harness::build("bench_work_smp");
    for tier in [Tier::Interp, Tier::Jit] {
        let run = checked_run(&smp, 4, iters, tier, true, &want);
        print_run(&run, tier, 4, "")?;
        four_cores.push(run);
    }
    let identical = same(&interp, jit) && same(&four_cores[0], &four_cores[1]);
    outln!(
        "jit / interp: {:.2}x on 1 core, {:.2}x on 4 cores; simulated cycles and instructions {}",
        mips(jit) / mips(&interp),
        mips(&four_cores[1]) / mips(&four_cores[0]),
        if identical { "identical" } else { "DIFFER" }
    )?;
    assert!(identical, "the tiers simulated different machines");
    outln!(
        "measured: every time (host wall clock, the peers' start-up included) and rp1-sim's instruction and \
         cycle counts; derived: the MIPS, the medians and ratios, the peers' (~) from ITERS x {BUF_BYTES} x \
         {INSNS_PER_BYTE} instructions"
    )?;
    Ok(ExitCode::SUCCESS)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn host_crc_matches_the_workloads_known_values() {
        // bench_workload.h's header: one pass and 10,000 passes.
        assert_eq!(host_crc(1), 0x5e4e_1995);
        assert_eq!(host_crc(10_000), 0xdd98_b31c);
    }

    #[test]
    fn medians_of_odd_and_even_counts() {
        assert_eq!(median(&[3.0, 1.0, 2.0]), 2.0);
        assert_eq!(median(&[4.0, 1.0, 3.0, 2.0]), 2.5);
        assert_eq!(median(&[7.0]), 7.0);
        assert!(median(&[]).is_nan());
        let run = |seconds| SimRun { console: String::new(), instructions: 1, cycles: 1, seconds };
        assert_eq!(median_run(&[run(0.3), run(0.1), run(0.2), run(0.4)]).seconds, 0.3);
    }

    #[test]
    fn peer_lines_are_parsed() {
        let text = "noise\npeer gxemul crc 5e4e1995 seconds 0.061000000\n\
                    peer qemu-sh4 not measured: qemu-sh4 not found; scripts/setup.sh installs it\n";
        let peers = parse_peers(text).unwrap();
        assert_eq!(peers.len(), 2);
        assert_eq!(peers[0].name, "gxemul");
        assert_eq!(peers[0].run, Ok(("5e4e1995".to_string(), 0.061)));
        assert_eq!(peers[1].name, "qemu-sh4");
        assert_eq!(peers[1].run, Err("qemu-sh4 not found; scripts/setup.sh installs it".to_string()));
        assert!(parse_peers("peer gxemul crc 5e4e1995\n").is_err());
        assert!(parse_peers("").is_err());
    }
}
