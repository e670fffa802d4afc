//! The board image booted the way a boot loader would boot it: `rp1 hv
//! --write-boot` writes the boot block and the guest images, and `rp1 run`
//! alone (the simulator and ELF loading, no hosting code) boots them with
//! the image. The guests run to completion; reruns are identical; a boot
//! block that is corrupt, truncated or inconsistent is refused on the
//! console and no guest runs (docs/boot-block.md).
//!
//! Owns: these tests and their scratch directories. Must not touch: the
//! repository's files. Needs the SH-4 cross compiler (the guests and the
//! image are built as the rest of the suite builds them).

use rp1::lhp::Scenario;
use spumone_hosting::description::Policy;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// A fresh scratch directory for one test, removed when it ends.
struct Scratch(PathBuf);

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn scratch(test: &str) -> Scratch {
    let dir = std::env::temp_dir().join(format!("rp1-board-boot-{}-{test}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    Scratch(dir)
}

fn rp1(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_rp1")).args(args).output().expect("run rp1")
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// The demo's scenario, short: the RTOS probe (40 samples) beside the SMP
/// load (4 vCPUs, 40 ms) under on-demand migration with dispatch-first.
/// Writes its description and boot files into `dir`; returns the `rp1 run`
/// arguments `rp1 hv --write-boot` printed.
fn write_boot(dir: &Path) -> Vec<String> {
    let mut s = Scenario::new(Policy::OnDemandMigration);
    s.hosted = false;
    s.dispatch_first = true;
    s.spin_yield = true;
    s.samples = 40;
    s.gpos_ms = 40;
    let (probe, load) = rp1::lhp::guests().expect("the guests build");
    let desc = dir.join("machine.toml");
    std::fs::write(&desc, s.description_toml(&probe.display().to_string(), &load.display().to_string())).unwrap();
    let boot = dir.join("boot");
    let o = rp1(&["hv", desc.to_str().unwrap(), "--write-boot", boot.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o.stderr));
    let out = text(&o.stdout);
    let command = out.lines().find_map(|l| l.strip_prefix("boot them: rp1 run ")).unwrap_or_else(|| panic!("{out}"));
    let args: Vec<String> = command.split(' ').map(str::to_string).collect();
    assert_eq!(args.len(), 4, "the image, the boot block and two guests: {command}");
    assert!(args[0].ends_with("spumone.elf") && args[1].ends_with("boot.elf"), "{command}");
    args
}

/// `rp1 run` of `args`: (exit code, the console and the summary without
/// the host-time figures).
fn run(args: &[String]) -> (Option<i32>, String) {
    let mut all = vec!["run"];
    all.extend(args.iter().map(String::as_str));
    all.extend(["--max-cycles", "600000000"]);
    let o = rp1(&all);
    // The console on stdout, then the summary (stderr). The summary's host
    // time and MIPS vary, and so do the translating tier's counts when it
    // compiles in the background (it says so).
    let background = format!("tier: jit, {}", rp1_sim::cpu::jit::BACKGROUND_NOTE);
    let out = (text(&o.stdout) + &text(&o.stderr))
        .lines()
        .map(|l| if l.starts_with("simulated time") { l.split("; host time").next().unwrap() } else { l })
        .map(|l| if l.starts_with(&background) { &background } else { l })
        .collect::<Vec<_>>()
        .join("\n");
    (o.status.code(), out)
}

#[test]
fn the_board_image_boots_its_guests_with_rp1_run_alone_and_reruns_are_identical() {
    let dir = scratch("boot");
    let args = write_boot(&dir.0);
    let (code, out) = run(&args);
    // The machine powers off with the guests' statuses or'ed together.
    assert_eq!(code, Some(0), "{out}");
    assert!(out.starts_with("spumone: 4 cores, 2 guests, policy OnDemandMigration\n"), "{out}");
    assert!(out.contains("--- rp1 summary: guest exit code 0"), "{out}");
    // Every core ran the hypervisor and its guests (exceptions are their
    // hypercalls, interrupts their timers and the mailbox ICIs).
    for core in 0..4 {
        let row = out.lines().find(|l| l.starts_with(&format!("   {core}  "))).unwrap_or_else(|| panic!("{out}"));
        let cols: Vec<&str> = row.split_whitespace().collect();
        let (exceptions, interrupts): (u64, u64) = (cols[4].parse().unwrap(), cols[5].parse().unwrap());
        assert!(exceptions > 1000 && interrupts > 10, "core {core}: {row}");
    }
    assert_eq!(run(&args), (code, out), "a rerun differs");
}

/// The boot block's words in `boot.elf` start at its magic.
fn block_at(elf: &[u8]) -> usize {
    elf.windows(4).position(|w| w == 0x5350_4243u32.to_le_bytes()).expect("the boot block's magic")
}

#[test]
fn a_corrupt_truncated_or_inconsistent_boot_block_is_refused_and_no_guest_runs() {
    let dir = scratch("refused");
    let args = write_boot(&dir.0);
    let good = std::fs::read(&args[1]).unwrap();
    let at = block_at(&good);
    let word = |elf: &[u8], i: usize| u32::from_le_bytes(elf[at + 4 * i..at + 4 * i + 4].try_into().unwrap());
    let set = |elf: &mut Vec<u8>, i: usize, v: u32| elf[at + 4 * i..at + 4 * i + 4].copy_from_slice(&v.to_le_bytes());
    let crc = |elf: &[u8]| {
        // CRC-32 (IEEE) of words 4.. of the block (docs/boot-block.md).
        let len = word(elf, 2) as usize;
        let mut c = !0u32;
        for &b in &elf[at + 16..at + len] {
            c ^= b as u32;
            for _ in 0..8 {
                c = if c & 1 != 0 { (c >> 1) ^ 0xedb8_8320 } else { c >> 1 };
            }
        }
        !c
    };
    assert_eq!(crc(&good), word(&good, 3), "the test computes the block's CRC as the board does");

    // Corrupt: one bit of the policy flipped, the CRC left as it was.
    let mut corrupt = good.clone();
    corrupt[at + 4 * 5] ^= 1;
    // Truncated: the last two words cut off, the length word and
    // the CRC made to agree with what is left (a block cut anywhere else
    // fails its CRC, as the corrupt one does).
    let mut truncated = good.clone();
    set(&mut truncated, 2, word(&good, 2) - 8);
    let fixed = crc(&truncated);
    set(&mut truncated, 3, fixed);
    // Inconsistent, and well formed: guest 1's vCPU 0 on core 5, CRC fixed.
    let mut inconsistent = good.clone();
    let guest1 = 12 + 6;
    set(&mut inconsistent, guest1 + 3, word(&good, guest1 + 3) & !0xff | 5);
    let fixed = crc(&inconsistent);
    set(&mut inconsistent, 3, fixed);

    for (name, elf, says) in [
        ("corrupt", corrupt, "boot configuration refused: corrupt: CRC-32 is"),
        ("truncated", truncated, "boot configuration refused: length word"),
        ("inconsistent", inconsistent, "boot configuration refused:"),
    ] {
        let path = dir.0.join(format!("{name}.elf"));
        std::fs::write(&path, &elf).unwrap();
        let mut bad = args.clone();
        bad[1] = path.display().to_string();
        let (code, out) = run(&bad);
        let mut lines = out.lines();
        let first = lines.next().unwrap_or("");
        assert!(first.starts_with(&format!("spumone: {says}")), "{name}: {out}");
        assert_eq!(lines.next(), Some("spumone: no guest runs"), "{name}: {out}");
        assert!(out.contains("machine halted (all cores asleep, nothing can wake them)"), "{name}: {out}");
        assert_eq!(code, Some(0), "{name}: `rp1 run` reports a halted machine as it ends, with 0");
        // Core 0 went to sleep at boot; the others were never started.
        let row = |core: usize| out.lines().find(|l| l.starts_with(&format!("   {core}  "))).unwrap().to_string();
        assert!(row(0).contains(" asleep ") && row(0).split_whitespace().nth(4) == Some("0"), "{name}: {}", row(0));
        for core in 1..4 {
            assert!(row(core).contains(" reset "), "{name}: core {core} {}", row(core));
        }
        println!("{name}: {first}");
    }
}
