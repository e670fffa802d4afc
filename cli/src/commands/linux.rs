//! `rp1 linux`: boot Linux 6.1 on the simulated RP1 with 1, 2, 3 and 4 CPUs
//! and report how long the boot and hackbench take.
//!
//! Builds (or finds cached) the kernel and initramfs with
//! `scripts/build-linux.sh`, then boots each CPU count with
//! `maxcpus=N hackbench=G,L` on the kernel command line. Each run must reach
//! `/init`'s marker with N CPUs online, print hackbench's `Time:` line with
//! exit status 0, and halt the machine; otherwise `rp1 linux` says which run
//! failed and how, and exits with status 1.
//!
//! The table gives, per CPU count: simulated and host seconds and
//! instructions (all cores) to the marker, hackbench's own time (simulated,
//! read by the guest from CLOCK_MONOTONIC) and its speedup over one CPU,
//! and the whole run's simulated and host seconds and the simulator's rate
//! in MIPS (all cores' instructions per host second). Simulated figures
//! are exact and repeat from run to run; host figures depend on the host.
//!
//! Usage: rp1 linux [--groups G] [--loops L] [--cpus 1,2,3,4] [--json FILE]
//!
//! Owns: this subcommand's options, the checks of each boot, the table and
//! the JSON file. Must not touch: building or booting Linux (the library's
//! `rp1::linux`) or the machine.

use super::output::{check_not_input, errln, finish, out, outln, Failure, StreamError};
use indicatif::{ProgressBar, ProgressStyle};
use rp1_sim::machine::Exit;
use rp1::linux::{boot, build, seconds, Boot, LinuxImages};
use serde_json::json;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

#[derive(clap::Args)]
pub struct Args {
    /// Hackbench groups (hackbench=G,L on the kernel command line).
    #[arg(long, default_value_t = 4, value_parser = clap::value_parser!(u32).range(1..=1000))]
    groups: u32,
    /// Messages each hackbench sender passes to each receiver.
    #[arg(long, default_value_t = 100, value_parser = clap::value_parser!(u32).range(1..=1_000_000))]
    loops: u32,
    /// CPU counts to boot with (maxcpus=N), comma-separated.
    #[arg(long, value_delimiter = ',', default_value = "1,2,3,4", value_parser = clap::value_parser!(u32).range(1..=4))]
    cpus: Vec<u32>,
    /// Simulated seconds a run may take before it counts as hung.
    #[arg(long, default_value_t = 60.0, value_parser = positive_seconds)]
    max_seconds: f64,
    /// Also write the figures to this file as JSON.
    #[arg(long)]
    json: Option<PathBuf>,
    /// Print each run's console after it ends.
    #[arg(long)]
    console: bool,
}

fn positive_seconds(s: &str) -> Result<f64, String> {
    match s.parse::<f64>() {
        Ok(v) if v > 0.0 && v <= 1e6 => Ok(v),
        Ok(_) => Err("must be more than 0 and at most 1000000".into()),
        Err(e) => Err(e.to_string()),
    }
}

/// One run's figures.
struct Row {
    cpus: u32,
    cmdline: String,
    boot_cycles: u64,
    boot_host: Duration,
    boot_instructions: u64,
    hackbench: f64,
    cycles: u64,
    host: Duration,
    instructions: u64,
}

impl Row {
    fn mips(&self) -> f64 {
        self.instructions as f64 / self.host.as_secs_f64() / 1e6
    }
}

/// The last `n` lines of a console, for error messages.
fn tail(console: &str, n: usize) -> String {
    let lines: Vec<&str> = console.lines().collect();
    if lines.is_empty() {
        return "(nothing yet: the kernel prints its log once the SCIF console is registered)".into();
    }
    lines[lines.len().saturating_sub(n)..].join("\n")
}

/// Check that a boot went all the way: marker with `cpus` online,
/// hackbench time and status 0, clean halt.
fn check(cpus: u32, cmdline: &str, b: Boot, max_cycles: u64) -> Result<Row, String> {
    let fail = |what: String| {
        Err(format!(
            "`{cmdline}`: {what} (after {:.4} simulated s); last console lines:\n{}",
            seconds(b.cycles),
            tail(&b.console, 25)
        ))
    };
    match b.exit {
        Exit::Halted => {}
        Exit::CycleLimit if b.cycles >= max_cycles => {
            return fail("the machine did not halt within --max-seconds".into());
        }
        other => return fail(format!("the run did not end with a clean halt but with {other:?}")),
    }
    let (Some(boot_cycles), Some(boot_instructions), Some(boot_host)) =
        (b.boot_cycles, b.boot_instructions, b.boot_host)
    else {
        return fail("/init never printed its marker line".into());
    };
    match b.cpus_online() {
        Some(n) if n == cpus => {}
        Some(n) => return fail(format!("/init reports {n} CPUs online, not {cpus}")),
        None => return fail("cannot read the CPU count from /init's marker line".into()),
    }
    let Some(hackbench) = b.hackbench_seconds() else {
        return fail("hackbench printed no `Time:` line".into());
    };
    if !b.console.contains("rp1-init: hackbench exit status 0") {
        return fail("hackbench did not exit with status 0".into());
    }
    Ok(Row {
        cpus,
        cmdline: cmdline.to_string(),
        boot_cycles,
        boot_host,
        boot_instructions,
        hackbench,
        cycles: b.cycles,
        host: b.host,
        instructions: b.instructions,
    })
}

/// Why the boots did not all pass.
enum RunFailure {
    /// A boot failed: exit status 1.
    Boot(String),
    /// A standard stream cannot be written.
    Output(StreamError),
}

impl From<String> for RunFailure {
    fn from(e: String) -> RunFailure {
        RunFailure::Boot(e)
    }
}

impl From<StreamError> for RunFailure {
    fn from(e: StreamError) -> RunFailure {
        RunFailure::Output(e)
    }
}

fn run_all(cli: &Args, images: &LinuxImages) -> Result<Vec<Row>, RunFailure> {
    let max_cycles = (cli.max_seconds * 600e6) as u64;
    let bar = ProgressBar::new(cli.cpus.len() as u64);
    bar.set_style(
        ProgressStyle::with_template("{spinner} [{elapsed_precise}] {bar:24} {pos}/{len} booting {msg}")
            .expect("valid template")
            .progress_chars("=> "),
    );
    bar.enable_steady_tick(Duration::from_millis(200));
    let mut rows = Vec::new();
    for &n in &cli.cpus {
        let cmdline = format!("maxcpus={n} hackbench={},{}", cli.groups, cli.loops);
        bar.set_message(cmdline.clone());
        let b = boot(images, &cmdline, max_cycles).map_err(|e| format!("`{cmdline}`: {e}"))?;
        if cli.console {
            bar.suspend(|| out!("--- console of `{cmdline}` ---\n{}", b.console))?;
        }
        let row = match check(n, &cmdline, b, max_cycles) {
            Ok(row) => row,
            Err(e) => {
                bar.abandon();
                return Err(e.into());
            }
        };
        // Through suspend, not bar.println: these lines go to stderr even
        // when it is not a terminal and the bar itself is hidden.
        bar.suspend(|| {
            errln!(
                "{cmdline}: booted in {:.4} s, hackbench {:.3} s, halted at {:.4} s (simulated); {:.2} s host",
                seconds(row.boot_cycles),
                row.hackbench,
                seconds(row.cycles),
                row.host.as_secs_f64()
            )
        })?;
        rows.push(row);
        bar.inc(1);
    }
    bar.finish_and_clear();
    Ok(rows)
}

/// hackbench's speedup over the one-CPU run, if there is one (and this
/// run's time is not 0.000, as a tiny hackbench can print).
fn speedup(rows: &[Row], row: &Row) -> Option<f64> {
    let one = rows.iter().find(|r| r.cpus == 1)?;
    (row.hackbench > 0.0).then(|| one.hackbench / row.hackbench)
}

fn print_table(rows: &[Row]) -> Result<(), StreamError> {
    let header = [
        "CPUs",
        "boot (sim s)",
        "boot (host s)",
        "boot instructions",
        "hackbench (sim s)",
        "speedup",
        "run (sim s)",
        "run (host s)",
        "MIPS",
    ];
    let body: Vec<Vec<String>> = rows
        .iter()
        .map(|r| {
            vec![
                r.cpus.to_string(),
                format!("{:.4}", seconds(r.boot_cycles)),
                format!("{:.2}", r.boot_host.as_secs_f64()),
                r.boot_instructions.to_string(),
                format!("{:.3}", r.hackbench),
                speedup(rows, r).map_or("-".into(), |s| format!("{s:.2}x")),
                format!("{:.4}", seconds(r.cycles)),
                format!("{:.2}", r.host.as_secs_f64()),
                format!("{:.0}", r.mips()),
            ]
        })
        .collect();
    let widths: Vec<usize> = (0..header.len())
        .map(|i| body.iter().map(|row| row[i].len()).chain([header[i].len()]).max().unwrap())
        .collect();
    let line = |cells: Vec<String>| {
        let padded: Vec<String> = cells
            .iter()
            .zip(&widths)
            .enumerate()
            .map(|(i, (c, w))| if i == 0 { format!("{c:<w$}") } else { format!("{c:>w$}") })
            .collect();
        outln!("| {} |", padded.join(" | "))
    };
    line(header.iter().map(|h| h.to_string()).collect())?;
    outln!(
        "|{}|",
        widths
            .iter()
            .enumerate()
            .map(|(i, w)| if i == 0 { format!(":{}", "-".repeat(w + 1)) } else { format!("{}:", "-".repeat(w + 1)) })
            .collect::<Vec<_>>()
            .join("|")
    )?;
    for row in body {
        line(row)?;
    }
    Ok(())
}

fn to_json(cli: &Args, images: &LinuxImages, rows: &[Row]) -> serde_json::Value {
    json!({
        "kernel": images.vmlinux.display().to_string(),
        "initramfs": images.initramfs.display().to_string(),
        "clock_hz": 600_000_000u64,
        "hackbench": { "groups": cli.groups, "loops": cli.loops },
        "runs": rows.iter().map(|r| json!({
            "cpus": r.cpus,
            "cmdline": r.cmdline,
            "boot_cycles": r.boot_cycles,
            "boot_sim_seconds": seconds(r.boot_cycles),
            "boot_host_seconds": r.boot_host.as_secs_f64(),
            "boot_instructions": r.boot_instructions,
            "hackbench_sim_seconds": r.hackbench,
            "hackbench_speedup_vs_1_cpu": speedup(rows, r),
            "cycles": r.cycles,
            "run_sim_seconds": seconds(r.cycles),
            "run_host_seconds": r.host.as_secs_f64(),
            "instructions": r.instructions,
            "mips": r.mips(),
        })).collect::<Vec<_>>(),
    })
}

/// Runs `rp1 linux`: 0 every boot passed, 1 one failed, 2 Linux cannot be
/// built or the JSON file cannot be written (or is one of the images), and
/// as every subcommand when its output cannot be written.
pub fn main(cli: Args) -> ExitCode {
    finish("rp1 linux", linux(cli))
}

fn linux(cli: Args) -> Result<ExitCode, Failure> {
    errln!("rp1 linux: building (or finding cached) build/linux/vmlinux and initramfs.cpio.gz")?;
    let images = build().map_err(|e| format!("cannot build Linux: {e}"))?;
    if let Some(path) = &cli.json {
        let inputs = [("the kernel", &images.vmlinux), ("the initramfs", &images.initramfs)];
        check_not_input("--json", path, &inputs)?;
    }
    let rows = match run_all(&cli, &images) {
        Ok(rows) => rows,
        Err(RunFailure::Boot(e)) => {
            errln!("rp1 linux: FAILED: {e}")?;
            return Ok(ExitCode::from(1));
        }
        Err(RunFailure::Output(e)) => return Err(e.into()),
    };
    outln!(
        "Linux 6.1 on the simulated RP1 (600 MHz), kernel command line `maxcpus=N hackbench={},{}`; \
         boot = until /init's marker; speedup = 1-CPU hackbench time / this one",
        cli.groups, cli.loops
    )?;
    print_table(&rows)?;
    if let Some(path) = &cli.json {
        let text = serde_json::to_string_pretty(&to_json(&cli, &images, &rows)).expect("serializable") + "\n";
        std::fs::write(path, text).map_err(|e| format!("--json {}: {e}", path.display()))?;
        errln!("rp1 linux: wrote {}", path.display())?;
    }
    Ok(ExitCode::SUCCESS)
}
