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
//! anything. The translating tier's one-core run is made once more in
//! rounds of 100,000 cycles instead of the default quantum's: the same
//! instructions (checked), so the difference in host time is what the
//! machine's rounds cost, which qemu-sh4 in user mode does not pay.
//! Then the same workload on all four simulated cores at once.
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
//! Usage: rp1 bench [ITERS] (default 2000; 4096 x 9 instructions per pass).
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

/// Rounds of this many cycles for the run that measures what the
/// machine's rounds cost (the line after the one-core runs): a hundredth
/// of the default quantum's rounds.
const LONG_QUANTUM: u64 = 100_000;

fn run_sim(program: &str, cores: usize, iters: u32, tier: Tier, quantum: Option<u64>) -> SimRun {
    let elf = build(program, Platform::Rp1);
    let image = std::fs::read(&elf).expect("read the harness");
    let defaults = Config::default();
    let config = Config { cores, tier: Some(tier), quantum: quantum.unwrap_or(defaults.quantum), ..defaults };
    let mut m = Machine::new(config).expect("machine");
    let loaded = m.load_elf(&image).expect("load the harness");
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

/// Whether the run's console has the CRC `want` from each of its `cores`
/// cores.
fn every_core_printed(run: &SimRun, cores: usize, want: &str) -> bool {
    run.console.lines().filter(|l| l.ends_with(&format!("crc {want}"))).count() == cores
}

/// `program` on `cores` cores on each tier, one line each; every core
/// must print the expected CRC (a wrong one panics).
fn on_both_tiers(program: &str, cores: usize, iters: u32, want: &str) -> Result<Vec<SimRun>, Failure> {
    let mut runs = Vec::new();
    for tier in [Tier::Interp, Tier::Jit] {
        let run = run_sim(program, cores, iters, tier, None);
        let right = every_core_printed(&run, cores, want);
        let (label, rate) = if cores == 1 { ("1 core: ", "MIPS") } else { ("4 cores:", "MIPS aggregate") };
        outln!(
            "rp1-sim {tier:<6} {label} crc {}  {:.3} s  {} instructions  {:.0} {rate}  ({} simulated cycles)",
            if right { "ok" } else { "WRONG" },
            run.seconds,
            run.instructions,
            run.instructions as f64 / run.seconds / 1e6,
            run.cycles
        )?;
        assert!(right, "a simulated core computed a wrong CRC ({tier}):\n{}", run.console);
        runs.push(run);
    }
    Ok(runs)
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
    // two host speeds.
    let one_core = on_both_tiers("bench_work", 1, iters, &want)?;
    let mips = |r: &SimRun| r.instructions as f64 / r.seconds / 1e6;
    let (interp_mips, jit_mips) = (mips(&one_core[0]), mips(&one_core[1]));

    // What the machine's rounds cost: the same run in rounds a hundred
    // times longer. One core and no interrupt make it the same program
    // run (the same instructions, checked; only the machine's clock at
    // the end, the end of the last round, differs), so the difference is
    // the host time of the rounds themselves (the machine's turn, the
    // loop's way in and out of translated code, the instructions
    // interpreted where a round starts inside a translation), which
    // qemu-sh4 in user mode does not have.
    let long = run_sim("bench_work", 1, iters, Tier::Jit, Some(LONG_QUANTUM));
    let long_right = every_core_printed(&long, 1, &want);
    let long_same = long.instructions == one_core[1].instructions;
    let long_mips = mips(&long);
    outln!(
        "rp1-sim jit    1 core, rounds of {LONG_QUANTUM} cycles: crc {}  {:.3} s  {:.0} MIPS  (instructions {}): \
         the rounds of the default {}-cycle quantum took {:.0} % of the jit run above",
        if long_right { "ok" } else { "WRONG" },
        long.seconds,
        long_mips,
        if long_same { "identical" } else { "DIFFERENT" },
        Config::default().quantum,
        100.0 * (1.0 - long.seconds / one_core[1].seconds)
    )?;
    assert!(long_right && long_same, "the long-round run differs:\n{}", long.console);

    match run_peers(iters) {
        Ok(peers) => {
            for peer in peers {
                let name = peer.name;
                match peer.run {
                    Ok((crc, secs)) => {
                        let peer_mips = workload / secs / 1e6;
                        outln!(
                            "{name:<18} crc {}  {secs:.3} s  ~{peer_mips:.0} MIPS  -> rp1-sim is {:.2}x its rate \
                             (interp), {:.2}x (jit), {:.2}x (jit, long rounds)",
                            if crc == want { "ok" } else { "WRONG" },
                            interp_mips / peer_mips,
                            jit_mips / peer_mips,
                            long_mips / peer_mips
                        )?;
                    }
                    Err(why) => outln!("{name:<18} not measured: {why}")?,
                }
            }
        }
        Err(e) => outln!("peers not measured: {e}")?,
    }

    let four_cores = on_both_tiers("bench_work_smp", 4, iters, &want)?;
    let same = |a: &SimRun, b: &SimRun| a.cycles == b.cycles && a.instructions == b.instructions;
    let identical = same(&one_core[0], &one_core[1]) && same(&four_cores[0], &four_cores[1]);
    outln!(
        "jit / interp: {:.2}x on 1 core, {:.2}x on 4 cores; simulated cycles and instructions {}",
        jit_mips / interp_mips,
        mips(&four_cores[1]) / mips(&four_cores[0]),
        if identical { "identical" } else { "DIFFER" }
    )?;
    assert!(identical, "the tiers simulated different machines");
    outln!(
        "measured: every time (host wall clock, the peers' start-up included) and rp1-sim's instruction and \
         cycle counts; derived: the MIPS and ratios, the peers' (~) from ITERS x {BUF_BYTES} x {INSNS_PER_BYTE} \
         instructions"
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
