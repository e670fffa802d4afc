//! What `rp1 run` and `rp1 hv` tell a user about hostile input: a trace
//! that streams with bounded memory, guest images refused before boot,
//! guest faults and double faults reported in words with hex addresses,
//! description errors that stay short.
//!
//! The guests are a few instructions assembled by hand below, so these
//! tests need no cross compiler; the `rp1 hv` ones without `--hosted` need
//! the board image (`scripts/build-hv.sh`, built on demand).
//!
//! Owns: these tests and their scratch directories (under the system's
//! temp dir). Must not touch: the repository's files.

mod common;

use common::{rp1, scratch, sh_elf, sh_elf_entered_at, stderr, stdout};
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

const RP1: &str = env!("CARGO_BIN_EXE_rp1");

// ----- rp1 run --trace -----

/// `bra .; nop` at P1 0x88000000.
fn spin_image(dir: &Path) -> PathBuf {
    let path = dir.join("spin.elf");
    std::fs::write(&path, sh_elf(0x8800_0000, &[0xaffe, 0x0009], &[])).unwrap();
    path
}

/// The trace used to be collected for a whole 20-million-cycle slice
/// before any of it was written: 32 bytes an instruction, 630 MB for one
/// busy core, and `rp1 run` aborted when memory ran out. It is streamed
/// now: 4 million traced instructions run in 64 MiB of address space.
#[test]
fn the_trace_streams_in_bounded_memory() {
    let dir = scratch("trace-memory");
    let image = spin_image(&dir);
    let cmd = format!(
        "ulimit -v 65536 && exec '{RP1}' run --cores 1 --mem 1 --max-cycles 4000000 --trace /dev/null --quiet '{}'",
        image.display()
    );
    let o = Command::new("sh").arg("-c").arg(&cmd).output().expect("sh");
    assert_eq!(o.status.code(), Some(124), "{}", stderr(&o));
    assert_eq!(stderr(&o), "rp1: stopped at the cycle limit (4000000 cycles)\n");
}

/// What is streamed is the trace, every instruction in order, and tracing
/// changes nothing that is simulated.
#[test]
fn the_streamed_trace_has_every_instruction() {
    let dir = scratch("trace-content");
    let image = spin_image(&dir);
    let trace = dir.join("t.txt");
    let args = ["run", "--cores", "1", "--mem", "1", "--max-cycles", "20000", "--quantum", "5000"];
    let o = rp1(&[&args[..], &["--trace", trace.to_str().unwrap(), image.to_str().unwrap()]].concat());
    assert_eq!(o.status.code(), Some(124), "{}", stderr(&o));
    let text = std::fs::read_to_string(&trace).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines[0].split_whitespace().collect::<Vec<_>>(), ["0", "c0", "88000000", "affe", "BRA", "label"]);
    assert_eq!(lines[1].split_whitespace().collect::<Vec<_>>(), ["1", "c0", "88000002", "0009", "NOP"]);
    for pair in lines.windows(2) {
        let cycle = |l: &str| l.split_whitespace().next().unwrap().parse::<u64>().unwrap();
        assert!(cycle(pair[0]) < cycle(pair[1]), "{pair:?}");
    }
    // The summary's instruction count is the number of trace lines, and
    // the same run without a trace has the same counts.
    let summary = |o: &Output| stderr(o).lines().find(|l| l.trim_start().starts_with("0  running")).map(str::to_string);
    let untraced = rp1(&[&args[..], &[image.to_str().unwrap()]].concat());
    assert_eq!(summary(&o), summary(&untraced));
    let row = summary(&o).unwrap_or_else(|| panic!("{}", stderr(&o)));
    assert_eq!(row.split_whitespace().nth(2), Some(lines.len().to_string().as_str()), "{row}");
}

/// A trace that cannot be written ends the run as bad output, with the
/// file named, not silently.
#[test]
fn a_trace_that_cannot_be_written_is_an_error() {
    if !Path::new("/dev/full").exists() {
        eprintln!("note: no /dev/full here; skipping");
        return;
    }
    let dir = scratch("trace-full");
    let image = spin_image(&dir);
    let o = rp1(&["run", "--cores", "1", "--mem", "1", "--max-cycles", "100000", "--trace", "/dev/full", image.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert_eq!(stderr(&o), "rp1: --trace /dev/full: No space left on device (os error 28)\n");
}

// ----- rp1 hv: guest images and guest faults -----

/// A one-guest description: `image` at 0x08800000 (8 MiB), one vCPU on
/// core 0.
fn description(dir: &Path, image: &str) -> PathBuf {
    let text = format!(
        "[hypervisor]\npolicy = \"none\"\n\n[[guest]]\nname = \"g\"\nclass = \"rtos\"\npriority = 10\n\
         image = \"{image}\"\npartition = {{ base = 0x08800000, size = 0x00800000 }}\nvcpus = [{{ core = 0 }}]\n"
    );
    let path = dir.join("machine.toml");
    std::fs::write(&path, text).unwrap();
    path
}

/// `mov #status, r4; trapa #0x6e` (EXIT), then `bra .; nop`.
fn exit_code(status: u8) -> Vec<u16> {
    vec![0xe400 | status as u16, 0xc36e, 0xaffe, 0x0009]
}

/// Guest images whose entry point cannot be where the guest starts used
/// to boot, fault at once and be reported as "exited with status 57005
/// (0xdead)": they are refused before anything runs (exit status 2).
#[test]
fn a_guest_entry_that_cannot_start_is_refused_before_boot() {
    let dir = scratch("entry");
    let code = exit_code(0);
    for (name, entry, why) in [
        ("zero", 0, "is 0: the image names no entry point".to_string()),
        ("odd", 0x8880_0001, "0x88800001 is not 2-byte aligned (instructions are 16 bits)".to_string()),
        (
            "outside",
            0x8900_0000,
            "0x89000000 (physical 0x09000000) is outside the partition (0x08800000-0x08ffffff)".to_string(),
        ),
        ("p0", 0x0900_0000, "0x09000000 (physical 0x09000000) is outside the partition (0x08800000-0x08ffffff)".to_string()),
        ("p4", 0xe880_0000, "0xe8800000 is in P4 (on-chip registers), not in the partition (0x08800000-0x08ffffff)".to_string()),
    ] {
        let image = dir.join(format!("{name}.elf"));
        std::fs::write(&image, sh_elf_entered_at(0x8880_0000, entry, &code, &[])).unwrap();
        let desc = description(&dir, &format!("{name}.elf"));
        for hosted in [true, false] {
            let args = if hosted { vec!["hv", "--hosted", desc.to_str().unwrap()] } else { vec!["hv", desc.to_str().unwrap()] };
            let o = rp1(&args);
            assert_eq!(o.status.code(), Some(2), "{name}: {}", stderr(&o));
            assert_eq!(
                stderr(&o),
                format!("rp1: {}: guest[0].image: the entry point of {} {why}\n", desc.display(), image.display())
            );
            assert_eq!(stdout(&o), "", "{name}: nothing ran");
        }
    }
    // A P0 entry in the partition (the MMU is off when a vCPU starts) runs.
    std::fs::write(dir.join("p0ok.elf"), sh_elf(0x0880_0000, &code, &[])).unwrap();
    let o = rp1(&["hv", "--hosted", description(&dir, "p0ok.elf").to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
}

/// A guest that faults with no vector base of its own is stopped by the
/// hypervisor with status 0xdead; the report and stderr say which
/// exception, at which PC, on which vCPU (they said "exited with status
/// 57005 (0xdead)" and nothing more).
#[test]
fn a_guest_fault_is_reported_with_pc_expevt_and_vcpu() {
    let dir = scratch("fault");
    for (name, code, fault) in [
        // an undefined instruction word
        ("illegal", vec![0xfffd, 0x0009], "faulted at pc 0x88800000: general illegal instruction (EXPEVT 0x180)"),
        // mov #0,r0; jmp @r0; nop: nothing at address 0
        (
            "jump0",
            vec![0xe000, 0x402b, 0x0009],
            "faulted at pc 0x00000000: instruction address error (EXPEVT 0x0e0, address 0x00000000)",
        ),
        // a misaligned read: mov.l @r1,r0 with r1 = 0x88800001
        (
            "misaligned",
            vec![0xd100, 0x6012, 0x0001, 0x8880],
            "faulted at pc 0x88800002: data address error on a read (EXPEVT 0x0e0, address 0x88800001)",
        ),
    ] {
        std::fs::write(dir.join(format!("{name}.elf")), sh_elf(0x8880_0000, &code, &[])).unwrap();
        let desc = description(&dir, &format!("{name}.elf"));
        for hosted in [true, false] {
            let args = if hosted { vec!["hv", "--hosted", desc.to_str().unwrap()] } else { vec!["hv", desc.to_str().unwrap()] };
            let o = rp1(&args);
            let what = format!("{name}, hosted {hosted}");
            assert_eq!(o.status.code(), Some(1), "{what}: {}", stderr(&o));
            assert_eq!(
                stderr(&o),
                format!("rp1: guest `g` was stopped by the hypervisor (status 0xdead) after a fault: vCPU 0 on core 0 {fault}\n"),
                "{what}"
            );
            let want = format!("  stopped by the hypervisor (status 0xdead) after a fault: vCPU 0 on core 0 {fault}\n");
            assert!(stdout(&o).contains(&want), "{what}: {}", stdout(&o));
        }
    }
    // A guest that passes 0xdead to EXIT itself did not fault.
    // mov.l @(4,pc),r4 (0x0000dead); trapa #0x6e; bra .; nop; .long 0xdead
    std::fs::write(dir.join("dead.elf"), sh_elf(0x8880_0000, &[0xd401, 0xc36e, 0xaffe, 0x0009, 0xdead, 0x0000], &[]))
        .unwrap();
    let o = rp1(&["hv", "--hosted", description(&dir, "dead.elf").to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(1));
    assert_eq!(stderr(&o), "rp1: guest `g` exited with status 57005 (0xdead)\n");
}

/// A core that double-faults under rp1 hv is reported in the words rp1
/// run uses, every address in hex (it was Rust's Debug text with the PC in
/// decimal: "DoubleFault { core: 0, fault: DoubleFault { pc: 2290090118,
/// ...").
#[test]
fn a_double_fault_under_hv_is_reported_in_words_with_hex_addresses() {
    let dir = scratch("double-fault");
    // mov.l @(4,pc),r0 (SR = MD|BL|IMASK 15); ldc r0,sr; an undefined word
    let code = [0xd001, 0x400e, 0xfffd, 0x0009, 0x00f0, 0x5000];
    std::fs::write(dir.join("bl.elf"), sh_elf(0x8880_0000, &code, &[])).unwrap();
    let desc = description(&dir, "bl.elf");
    for hosted in [true, false] {
        let args = if hosted { vec!["hv", "--hosted", desc.to_str().unwrap()] } else { vec!["hv", desc.to_str().unwrap()] };
        let o = rp1(&args);
        let ended = "core 0 faulted: general illegal instruction (EXPEVT 0x180) at pc 0x88800004 while exceptions \
                     were blocked (SR.BL=1), a manual reset (EXPEVT 0x020); software has lost control of the core";
        assert_eq!(o.status.code(), Some(1), "hosted {hosted}: {}", stderr(&o));
        assert_eq!(stderr(&o), format!("rp1: the run ended ({ended}) with `g` still running\n"), "hosted {hosted}");
        assert!(stdout(&o).contains(&format!("run ended: {ended} after ")), "hosted {hosted}: {}", stdout(&o));
    }
}
