//! `rp1 hv DESCRIPTION.toml`: runs a machine description
//! (docs/machine-description.md) on the hypervisor's board image (or, with
//! `--hosted`, the hosted model), prints the run report and, with
//! `--timeline`, writes a Chrome-trace timeline.
//!
//! Owns: this subcommand's options, what it prints and its exit codes.
//! Must not touch: the simulation, the hypervisor, the description's rules
//! or the report's and timeline's contents; it calls spumone-hosting for
//! those.

use rp1_sim::machine::Exit;
use spumone_hosting::{description, report, runner, trace_export};
use std::io::{IsTerminal, Write};
use std::path::PathBuf;
use std::process::ExitCode;

/// Cycles of the 600 MHz CPU clock per millisecond.
const CYCLES_PER_MS: u64 = 600_000;

/// At most this many events go into a timeline; the rest are counted as
/// dropped (the trace's `otherData.dropped_events`).
const TIMELINE_MAX_EVENTS: usize = 2_000_000;

#[derive(clap::Args)]
pub struct Args {
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
    /// Run the hosted model of the hypervisor (host Rust beside the
    /// simulator, costs charged from the description's cost table) instead
    /// of its board image.
    #[arg(long, conflicts_with = "image")]
    hosted: bool,
    /// The board image to run (default: build/hv/spumone.elf, built by
    /// scripts/build-hv.sh if missing or stale).
    #[arg(long, value_name = "ELF")]
    image: Option<PathBuf>,
    /// Do not run: write what a boot loader would place (the boot block as
    /// boot.elf, each guest image with its parameters patched) into DIR,
    /// and print the `rp1 run` command that boots them with the board image.
    #[arg(long, value_name = "DIR", conflicts_with_all = ["hosted", "timeline"])]
    write_boot: Option<PathBuf>,
}

/// Runs `rp1 hv`; bad input is exit status 2.
pub fn main(args: Args) -> ExitCode {
    match hv(args) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("rp1: {e}");
            ExitCode::from(2)
        }
    }
}

/// `rp1 hv`: Err is bad input (exit status 2).
fn hv(args: Args) -> Result<ExitCode, String> {
    let path = &args.description;
    let desc = description::load(path).map_err(|e| e.to_string())?;
    desc.check_images().map_err(|mut e| {
        e.file.get_or_insert_with(|| path.clone());
        e.to_string()
    })?;
    if let Some(dir) = &args.write_boot {
        return write_boot(&desc, args.image.clone(), dir).map(|()| ExitCode::SUCCESS);
    }
    // Create the timeline file before the run, so a bad path fails at once.
    let timeline_file = match &args.timeline {
        Some(p) => Some(std::fs::File::create(p).map_err(|e| format!("--timeline {}: {e}", p.display()))?),
        None => None,
    };
    let mode = if args.hosted {
        runner::Mode::Hosted
    } else {
        let image = match &args.image {
            Some(p) => p.clone(),
            None => rp1::board::image()?,
        };
        runner::Mode::Native { image }
    };
    let opts = runner::RunOptions { max_cycles: args.max_ms * CYCLES_PER_MS, keep_events: args.timeline.is_some(), mode };
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
fn hv_status(args: &Args, result: &runner::RunResult) -> ExitCode {
    let exits = &result.log.exits;
    if !exits.is_empty() && exits.iter().all(|e| *e == Some(0)) {
        return ExitCode::SUCCESS;
    }
    for (g, name) in result.guests.iter().enumerate() {
        if let Some(Some(status)) = exits.get(g).copied().filter(|s| *s != Some(0)) {
            match result.fault(g) {
                Some(fault) => eprintln!("rp1: guest `{name}` was stopped by the hypervisor (status {status:#x}) after a fault: {fault}"),
                None => eprintln!("rp1: guest `{name}` exited with status {status} ({status:#x})"),
            }
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
            other => eprintln!("rp1: the run ended ({other}) with {} still running", running.join(", ")),
        }
    }
    ExitCode::from(1)
}


/// `rp1 hv --write-boot DIR`: the boot block and the patched guest images,
/// for `rp1 run` (docs/boot-block.md).
fn write_boot(desc: &description::Description, image: Option<PathBuf>, dir: &std::path::Path) -> Result<(), String> {
    let image = match image {
        Some(p) => p,
        None => rp1::board::image()?,
    };
    std::fs::create_dir_all(dir).map_err(|e| format!("--write-boot {}: {e}", dir.display()))?;
    // The guests' entry points come from loading them, as the runner does.
    let mut machine = rp1_sim::machine::Machine::new(rp1_sim::machine::Config::default()).map_err(|e| e.to_string())?;
    let entries = runner::load_guests(desc, &mut machine).map_err(|e| e.to_string())?;
    let block = spumone_hosting::native::boot_block(&runner::boot_configuration(desc, &entries));
    let boot = dir.join("boot.elf");
    std::fs::write(&boot, spumone_hosting::native::boot_block_elf(&block)).map_err(|e| format!("{}: {e}", boot.display()))?;
    let mut files = vec![image.display().to_string(), boot.display().to_string()];
    for guest in &desc.guests {
        for (k, path) in guest.images.iter().enumerate() {
            let bytes = runner::patched_image(desc, guest, path).map_err(|e| e.to_string())?;
            let out = dir.join(format!("{}{}.elf", guest.name, if k == 0 { String::new() } else { format!("-{k}") }));
            std::fs::write(&out, bytes).map_err(|e| format!("{}: {e}", out.display()))?;
            files.push(out.display().to_string());
        }
    }
    println!("wrote the boot block ({} words) and {} guest image(s) to {}", block.len(), files.len() - 2, dir.display());
    println!("boot them: rp1 run {}", files.join(" "));
    Ok(())
}
