//! `rp1 hv DESCRIPTION.toml`: runs a machine description
//! (docs/machine-description.md) on the hypervisor's board image (or, with
//! `--hosted`, the hosted model), prints the run report and, with
//! `--timeline`, writes a Chrome-trace timeline.
//!
//! Owns: this subcommand's options, what it prints and its exit codes.
//! Must not touch: the simulation, the hypervisor, the description's rules
//! or the report's and timeline's contents; it calls spumone-hosting for
//! those.

use super::output::{check_not_input, errln, finish, out, outln, Failure, OutputFile};
use rp1_sim::machine::Exit;
use spumone_hosting::{description, report, runner, trace_export};
use std::io::IsTerminal;
use std::path::{Path, PathBuf};
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
    /// Write where the cores' time went to this file: each core's share in
    /// the hypervisor, in guests and asleep, the hypervisor's functions by
    /// samples, and the guests' functions by samples on each core (named by
    /// their images' symbols; each core's PC at the end of every simulated
    /// round; the run is the same with or without it). The board image only.
    #[arg(long, value_name = "FILE.txt", conflicts_with_all = ["hosted", "write_boot"])]
    profile: Option<PathBuf>,
}

/// Functions listed in a profile.
const PROFILE_TOP: usize = 40;

/// Runs `rp1 hv`; bad input is exit status 2.
pub fn main(args: Args) -> ExitCode {
    finish("rp1", hv(args))
}

/// The files a run reads, named for a message: the description, every
/// guest's images, and the board image if there is one.
fn inputs(path: &Path, desc: &description::Description, board: Option<&Path>) -> Vec<(String, PathBuf)> {
    let mut inputs = vec![("the description".to_string(), path.to_path_buf())];
    for guest in &desc.guests {
        for image in &guest.images {
            inputs.push((format!("guest `{}`'s image", guest.name), image.clone()));
        }
    }
    if let Some(board) = board {
        inputs.push(("the board image".to_string(), board.to_path_buf()));
    }
    inputs
}

/// `rp1 hv`: Err is bad input (exit status 2) or a stream that failed.
fn hv(args: Args) -> Result<ExitCode, Failure> {
    let path = &args.description;
    let desc = description::load(path).map_err(|e| e.to_string())?;
    desc.check_images().map_err(|mut e| {
        e.file.get_or_insert_with(|| path.clone());
        e.to_string()
    })?;
    if let Some(dir) = &args.write_boot {
        if !desc.faults.is_empty() {
            // `rp1 run` boots the files without a fault plan.
            return Err(format!(
                "{}: --write-boot writes no [faults]: the machine applies them only under `rp1 hv`",
                path.display()
            )
            .into());
        }
        return write_boot(&desc, path, args.image.clone(), dir).map(|()| ExitCode::SUCCESS);
    }
    let mode = if args.hosted {
        runner::Mode::Hosted
    } else {
        let image = match &args.image {
            Some(p) => p.clone(),
            None => rp1::board::image()?,
        };
        runner::Mode::Native { image }
    };
    let board = match &mode {
        runner::Mode::Native { image } => Some(image.as_path()),
        runner::Mode::Hosted => None,
    };
    // Open the timeline before the run, so a bad path fails at once; an
    // existing file is left as it is until the run has succeeded.
    let timeline_file = match &args.timeline {
        Some(p) => Some(OutputFile::open("--timeline", p, &inputs(path, &desc, board))?),
        None => None,
    };
    let profile_file = match &args.profile {
        Some(p) => Some(OutputFile::open("--profile", p, &inputs(path, &desc, board))?),
        None => None,
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
    let tick = |now: u64| {
        progress.set_message(format!("{:.0} of {} ms simulated", now as f64 / CYCLES_PER_MS as f64, args.max_ms));
        progress.tick();
    };
    let mut profile = None;
    let result = if args.profile.is_some() {
        runner::run_profiled(&desc, opts, tick).map(|(r, p, code)| {
            profile = Some(spumone_hosting::profile::render(&p, &code, PROFILE_TOP));
            r
        })
    } else {
        runner::run(&desc, opts, tick)
    };
    progress.finish_and_clear();
    let result = match result {
        Ok(r) => r,
        Err(e) => {
            for f in [timeline_file, profile_file].into_iter().flatten() {
                f.discard();
            }
            return Err(format!("{}: {e}", path.display()).into());
        }
    };

    // The files first: a report that cannot be printed does not lose them.
    let mut notes = Vec::new();
    if let (Some(mut file), Some(text)) = (profile_file, profile) {
        file.truncate()?;
        std::io::Write::write_all(file.writer(), text.as_bytes()).map_err(|e| file.error(e))?;
        file.flush()?;
        notes.push(format!("profile: written to {}", file.path().display()));
    }
    if let Some(mut file) = timeline_file {
        let options = trace_export::Options { description: Some(&desc), max_events: Some(TIMELINE_MAX_EVENTS) };
        let (timeline, unpaired) = trace_export::export(&result, options);
        file.truncate()?;
        timeline.write_to(file.writer()).map_err(|e| file.error(e))?;
        file.flush()?;
        notes.push(format!(
            "timeline: {} events written to {} (open it in ui.perfetto.dev or chrome://tracing)",
            timeline.len(),
            file.path().display()
        ));
        if timeline.dropped() > 0 {
            notes.push(format!("timeline: {} more events dropped (at most {TIMELINE_MAX_EVENTS} are kept)", timeline.dropped()));
        }
        if unpaired != trace_export::Unpaired::default() {
            notes.push(format!("timeline: unpaired log events: {unpaired:?}"));
        }
    }
    if !args.quiet {
        out!("{}", report::render(&desc, &result))?;
        for note in notes {
            outln!("{note}")?;
        }
    }
    hv_status(&args, &result)
}

/// 0 when every guest exited with status 0, else 1 with the reason on
/// stderr.
fn hv_status(args: &Args, result: &runner::RunResult) -> Result<ExitCode, Failure> {
    let exits = &result.log.exits;
    if !exits.is_empty() && exits.iter().all(|e| *e == Some(0)) {
        return Ok(ExitCode::SUCCESS);
    }
    for (g, name) in result.guests.iter().enumerate() {
        if let Some(Some(status)) = exits.get(g).copied().filter(|s| *s != Some(0)) {
            match result.fault(g) {
                Some(fault) => errln!("rp1: guest `{name}` was stopped by the hypervisor (status {status:#x}) after a fault: {fault}")?,
                None => errln!("rp1: guest `{name}` exited with status {status} ({status:#x})")?,
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
            Exit::CycleLimit => errln!(
                "rp1: stopped at --max-ms {} ({} cycles) with {} still running",
                args.max_ms,
                result.cycles,
                running.join(", ")
            )?,
            other => errln!("rp1: the run ended ({other}) with {} still running", running.join(", "))?,
        }
    }
    Ok(ExitCode::from(1))
}


/// `rp1 hv --write-boot DIR`: the boot block and the patched guest images,
/// for `rp1 run` (docs/boot-block.md). Every file is made before any is
/// written, and none may be one of the inputs: `--write-boot` into the
/// directory that holds the guests' images must not overwrite them.
fn write_boot(
    desc: &description::Description,
    path: &Path,
    image: Option<PathBuf>,
    dir: &Path,
) -> Result<(), Failure> {
    let image = match image {
        Some(p) => p,
        None => rp1::board::image()?,
    };
    // The guests' entry points come from loading them, as the runner does.
    let mut machine = rp1_sim::machine::Machine::new(rp1_sim::machine::Config::default()).map_err(|e| e.to_string())?;
    let entries = runner::load_guests(desc, &mut machine).map_err(|e| e.to_string())?;
    let block = spumone_hosting::native::boot_block(&runner::boot_configuration(desc, &entries));
    let mut planned = vec![(dir.join("boot.elf"), spumone_hosting::native::boot_block_elf(&block))];
    for guest in &desc.guests {
        for (k, path) in guest.images.iter().enumerate() {
            let bytes = runner::patched_image(desc, guest, path).map_err(|e| e.to_string())?;
            let out = dir.join(format!("{}{}.elf", guest.name, if k == 0 { String::new() } else { format!("-{k}") }));
            planned.push((out, bytes));
        }
    }
    let mut others = inputs(path, desc, Some(&image));
    for (out, _) in &planned {
        check_not_input("--write-boot", out, &others)?;
        if planned.iter().filter(|(o, _)| o == out).count() > 1 {
            return Err(format!("--write-boot {}: two files would be written to {}", dir.display(), out.display()).into());
        }
        others.push(("another file --write-boot writes".to_string(), out.clone()));
    }
    std::fs::create_dir_all(dir).map_err(|e| format!("--write-boot {}: {e}", dir.display()))?;
    let mut files = vec![image.display().to_string()];
    for (out, bytes) in &planned {
        std::fs::write(out, bytes).map_err(|e| format!("--write-boot {}: {e}", out.display()))?;
        files.push(out.display().to_string());
    }
    outln!("wrote the boot block ({} words) and {} guest image(s) to {}", block.len(), files.len() - 2, dir.display())?;
    outln!("boot them: rp1 run {}", files.join(" "))?;
    Ok(())
}
