//! The reference emulators against each other and against the checked-in
//! transcripts, plus build checks for the RP1 programs.
//!
//! Every differential program is built for each reference that can run
//! it (`rp1_systests::references`), run, and its output compared with the
//! other reference's and with `tests/guests/expected/<name>.txt`.
//! `UPDATE_EXPECTED=1 cargo test -p rp1-systests` rewrites the expected
//! files from the references (only when the references agree); review the
//! diff before committing it.

use rp1_systests::*;
use std::fs;

fn check_differential(program: &str) {
    let mut outputs = Vec::new();
    for &platform in references(program) {
        let elf = build(program, platform);
        let out = run_reference(platform, &elf)
            .unwrap_or_else(|e| panic!("{program} on {platform}: {e}"));
        outputs.push((platform, out));
    }
    let (first_platform, first) = &outputs[0];
    for (platform, out) in &outputs[1..] {
        if let Err(msg) = compare(
            &format!("{program}: {first_platform} (want) vs {platform} (got)"),
            first,
            out,
        ) {
            panic!("the references disagree\n{msg}");
        }
    }
    if std::env::var_os("UPDATE_EXPECTED").is_some() {
        fs::write(expected_path(program), first).unwrap();
    }
    let want = expected(program).unwrap_or_else(|e| {
        panic!(
            "{program}: no expected transcript at {} ({e})",
            expected_path(program).display()
        )
    });
    for (platform, out) in &outputs {
        if let Err(msg) = compare(&format!("{program} on {platform} vs expected"), &want, out) {
            panic!("{msg}");
        }
    }
}

macro_rules! differential_tests {
    ($($name:ident),* $(,)?) => {
        $(
            #[test]
            fn $name() {
                check_differential(stringify!($name));
            }
        )*
        const TESTED: &[&str] = &[$(stringify!($name)),*];
    };
}

differential_tests!(
    hello, alu, muldiv, shift, logic, memory, branch, crc, mac, sh4a, fpu, fpu_vector,
);

#[test]
fn every_differential_program_has_a_test() {
    assert_eq!(
        TESTED, DIFFERENTIAL,
        "keep differential_tests! in step with DIFFERENTIAL"
    );
}

/// The fields of a 32-bit little-endian SH ELF that the RP1 loader uses.
struct Elf {
    machine: u16,
    entry: u32,
    /// (p_vaddr, p_paddr, p_filesz, p_memsz) of every PT_LOAD
    loads: Vec<(u32, u32, u32, u32)>,
}

fn parse_elf(bytes: &[u8]) -> Elf {
    let u16_at = |o: usize| u16::from_le_bytes([bytes[o], bytes[o + 1]]);
    let u32_at = |o: usize| u32::from_le_bytes(bytes[o..o + 4].try_into().unwrap());
    assert_eq!(&bytes[..4], b"\x7fELF", "not an ELF file");
    assert_eq!(bytes[4], 1, "not ELF32");
    assert_eq!(bytes[5], 1, "not little-endian");
    let phoff = u32_at(0x1c) as usize;
    let phentsize = u16_at(0x2a) as usize;
    let phnum = u16_at(0x2c) as usize;
    let mut loads = Vec::new();
    for i in 0..phnum {
        let p = phoff + i * phentsize;
        if u32_at(p) == 1 {
            loads.push((
                u32_at(p + 8),
                u32_at(p + 12),
                u32_at(p + 16),
                u32_at(p + 20),
            ));
        }
    }
    Elf {
        machine: u16_at(0x12),
        entry: u32_at(0x18),
        loads,
    }
}

/// Every program links for the RP1 the way the simulator's loader
/// expects: SH machine, entry at 0x88001000 in P1, PT_LOAD segments with
/// physical load addresses in DRAM (0x08000000-0x0fffffff) matching their
/// P1 virtual addresses.
#[test]
fn rp1_programs_build_and_link() {
    for program in DIFFERENTIAL.iter().chain(RP1_ONLY) {
        let elf = build(program, Platform::Rp1);
        let info = parse_elf(&fs::read(&elf).unwrap());
        assert_eq!(info.machine, 42, "{program}: not an SH ELF");
        assert_eq!(info.entry, 0x8800_1000, "{program}: entry");
        assert!(!info.loads.is_empty(), "{program}: no PT_LOAD");
        for &(vaddr, paddr, filesz, memsz) in &info.loads {
            assert!(filesz <= memsz, "{program}: segment sizes");
            assert!(
                (0x0800_0000..0x1000_0000).contains(&paddr)
                    && paddr as u64 + memsz as u64 <= 0x1000_0000,
                "{program}: segment at physical {paddr:#x}+{memsz:#x} is outside DRAM"
            );
            assert_eq!(vaddr, paddr | 0x8000_0000, "{program}: segment not in P1");
        }
    }
}

/// Each RP1-only program has a golden transcript that ends with its
/// "PASS <name>: N checks" line, whose N matches the number of "ok" lines.
#[test]
fn rp1_goldens_are_consistent() {
    for program in RP1_ONLY {
        let text =
            expected(program).unwrap_or_else(|e| panic!("{program}: no golden transcript ({e})"));
        let lines = golden_lines(&text);
        let first = format!("{program} start");
        assert_eq!(
            lines.first().copied(),
            Some(first.as_str()),
            "{program}: first line"
        );
        let last = lines.last().copied().unwrap_or("");
        let prefix = format!("PASS {program}: ");
        let n: usize = last
            .strip_prefix(&prefix)
            .and_then(|r| r.strip_suffix(" checks"))
            .and_then(|n| n.parse().ok())
            .unwrap_or_else(|| panic!("{program}: last line {last:?}"));
        let oks = lines.iter().filter(|l| l.starts_with("ok ")).count();
        assert_eq!(oks, n, "{program}: {oks} ok lines, summary says {n}");
        assert!(
            !lines.iter().any(|l| l.starts_with("FAIL")),
            "{program}: golden contains a FAIL line"
        );
    }
}

/// The differential programs also build for the RP1 with the same
/// sources; their transcripts are the same expected files, so an RP1 run
/// is compared with exactly what the references printed.
#[test]
fn differential_programs_have_transcripts() {
    for program in DIFFERENTIAL {
        let text = expected(program).unwrap_or_else(|e| panic!("{program}: {e}"));
        assert!(
            text.starts_with(&format!("{program} start\n")),
            "{program}: first line"
        );
        assert!(
            text.ends_with(&format!("{program} end\n")),
            "{program}: last line"
        );
    }
}
