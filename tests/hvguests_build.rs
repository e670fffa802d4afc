//! The hypervisor test guests (tests/hvguests, docs/guests.md) build, at
//! two bases, into images the hypervisor can load and the host can patch:
//! entry and load addresses, parameter blocks, and no trap numbers other
//! than hypercalls (0x60-0x70) and the SMP load's system call (0x10); the
//! hostile guest also uses the reserved hypercall numbers (0x71-0x7f) and
//! a fixed set of its own traps.
//! Running them needs the hypervisor; this only checks the images.

use object::elf::PT_LOAD;
use object::read::elf::{ElfFile32, ProgramHeader};
use object::{Object, ObjectSymbol};
use rp1::hvguests::{build_guest, patch_params, read_params, HOSTILE_PARAM_DEFAULTS, LOAD_PARAM_DEFAULTS, PROBE_PARAM_DEFAULTS};
use std::collections::{BTreeSet, HashSet};
use std::path::Path;
use std::process::Command;

const BASES: [u32; 2] = [0x8880_0000, 0x8900_0000];

/// (guest, parameter block symbol, its default words)
const GUESTS: [(&str, &str, &[u32]); 3] = [
    ("rtos_probe", "probe_params", &PROBE_PARAM_DEFAULTS),
    ("smp_load", "load_params", &LOAD_PARAM_DEFAULTS),
    ("hostile", "hostile_params", &HOSTILE_PARAM_DEFAULTS),
];

/// The non-hypercall traps the hostile guest makes on purpose (TRAP_IMMS
/// in hostile.c): each must be forwarded to its own vector table.
const HOSTILE_TRAPS: [u32; 12] = [0x00, 0x01, 0x0f, 0x10, 0x20, 0x3f, 0x40, 0x5f, 0x80, 0xa5, 0xc0, 0xff];

fn build(name: &str, base: u32) -> Vec<u8> {
    let path =
        build_guest(name, base).unwrap_or_else(|e| panic!("building {name} at {base:#x}: {e}"));
    std::fs::read(&path).unwrap()
}

fn symbol(image: &[u8], name: &str) -> Option<u32> {
    let file = object::File::parse(image).unwrap();
    let sym = file.symbols().find(|s| s.name() == Ok(name));
    sym.map(|s| s.address() as u32)
}

#[test]
fn guests_link_at_their_base_with_physical_load_addresses() {
    for (name, _, _) in GUESTS {
        for base in BASES {
            let image = build(name, base);
            let elf = ElfFile32::<object::Endianness>::parse(&*image).unwrap();
            let entry = elf.entry() as u32;
            assert_eq!(
                Some(entry),
                symbol(&image, "_start"),
                "{name}: entry is _start"
            );
            assert_eq!(entry, base, "{name}: crt0 comes first");

            let endian = elf.endian();
            let loads: Vec<_> = elf
                .elf_program_headers()
                .iter()
                .filter(|ph| ph.p_type(endian) == PT_LOAD)
                .collect();
            assert!(!loads.is_empty(), "{name}: no PT_LOAD segment");
            let mut end = 0;
            for ph in &loads {
                let (vaddr, paddr) = (ph.p_vaddr(endian), ph.p_paddr(endian));
                assert_eq!(
                    paddr,
                    vaddr.wrapping_sub(0x8000_0000),
                    "{name} at {base:#x}: p_paddr"
                );
                assert!(
                    (base..0xa000_0000).contains(&vaddr),
                    "{name}: segment at {vaddr:#x}"
                );
                end = end.max(vaddr + ph.p_memsz(endian));
            }
            assert_eq!(loads.iter().map(|ph| ph.p_vaddr(endian)).min(), Some(base));

            // The vector table and the stacks lie inside what is loaded.
            let vbr = symbol(&image, "guest_vbr").expect("guest_vbr");
            assert_eq!(vbr % 256, 0, "{name}: VBR alignment");
            assert!(vbr + 0x604 <= end, "{name}: VBR+0x600 inside the image");
            let stacks =
                symbol(&image, "__stacks_start").unwrap()..symbol(&image, "__stacks_end").unwrap();
            assert_eq!(
                stacks.end - stacks.start,
                4 * 16 * 1024,
                "{name}: four 16 KiB stacks"
            );
            assert!(
                stacks.start >= base && stacks.end <= end,
                "{name}: stacks inside the image"
            );
        }
    }
}

#[test]
fn parameter_blocks_have_their_defaults_and_patch_round_trips() {
    for (name, params, defaults) in GUESTS {
        let mut image = build(name, BASES[1]);
        let addr = symbol(&image, params).unwrap_or_else(|| panic!("{name}: no `{params}`"));
        assert_eq!(rp1_sim::loader::symbol_address(&image, params), Some(addr));
        assert_eq!(
            read_params(&image, params, defaults.len()).unwrap(),
            defaults,
            "{name} defaults"
        );

        let original = image.clone();
        let words: Vec<u32> = (0..defaults.len() as u32)
            .map(|i| 0x1234_5600 + i)
            .collect();
        patch_params(&mut image, params, &words).unwrap();
        assert_eq!(read_params(&image, params, words.len()).unwrap(), words);
        let changed = image.iter().zip(&original).filter(|(a, b)| a != b).count();
        assert!(
            changed <= 4 * words.len(),
            "{name}: patching touched other bytes"
        );
        patch_params(&mut image, params, defaults).unwrap();
        assert_eq!(image, original, "{name}: patching back restores the image");

        let too_many = vec![0; defaults.len() + 1];
        assert!(
            patch_params(&mut image, params, &too_many).is_err(),
            "{name}: overlong patch"
        );
        assert!(patch_params(&mut image, "no_such_symbol", &[1]).is_err());
        assert!(
            read_params(&image, "__stacks_start", 1).is_err(),
            "{name}: .bss has no file bytes"
        );
    }
}

/// The ranges `[addr, addr + size)` that PC-relative loads read as data
/// (literal pools), which objdump also shows as instructions.
fn literal_pools(disassembly: &str) -> Vec<(u64, u64)> {
    let mut pools = Vec::new();
    for line in disassembly.lines() {
        let cols: Vec<&str> = line.split('\t').collect();
        if cols.len() < 4 {
            continue;
        }
        let size = match cols[2].trim() {
            "mov.l" => 4,
            "mov.w" => 2,
            _ => continue,
        };
        // "mov.l	8880004c <sym+0x4c>,r15"
        if let Some((target, _)) = cols[3].split_once(" <") {
            if let Ok(addr) = u64::from_str_radix(target.trim(), 16) {
                pools.push((addr, addr + size));
            }
        }
    }
    pools
}

/// Every `trapa` immediate in the code, and the code's mnemonics.
fn traps_and_mnemonics(elf: &Path) -> (BTreeSet<u32>, HashSet<String>) {
    let out = Command::new("sh4-linux-gnu-objdump")
        .arg("-d")
        .arg(elf)
        .output()
        .expect("sh4-linux-gnu-objdump (binutils-sh4-linux-gnu)");
    assert!(
        out.status.success(),
        "objdump failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8(out.stdout).unwrap();
    let pools = literal_pools(&text);
    let in_pool = |addr: u64| pools.iter().any(|&(a, b)| addr >= a && addr < b);
    let mut traps = BTreeSet::new();
    let mut mnemonics = HashSet::new();
    for line in text.lines() {
        // "88800032:	6e c3       	trapa	#110"
        let cols: Vec<&str> = line.split('\t').collect();
        if cols.len() < 3 {
            continue;
        }
        let Ok(addr) = u64::from_str_radix(cols[0].trim().trim_end_matches(':'), 16) else {
            continue;
        };
        if in_pool(addr) {
            continue;
        }
        let mnemonic = cols[2].trim();
        mnemonics.insert(mnemonic.to_string());
        if mnemonic == "trapa" {
            let imm = cols
                .get(3)
                .map(|s| s.trim().trim_start_matches('#'))
                .unwrap_or("");
            let value = match imm.strip_prefix("0x") {
                Some(hex) => u32::from_str_radix(hex, 16),
                None => imm.parse(),
            };
            traps.insert(value.unwrap_or_else(|_| panic!("unreadable trapa operand in `{line}`")));
        }
    }
    (traps, mnemonics)
}

#[test]
fn code_traps_only_with_hypercalls_and_the_guest_system_call() {
    for (name, _, _) in GUESTS {
        for base in BASES {
            let elf = build_guest(name, base).unwrap();
            let (traps, mnemonics) = traps_and_mnemonics(&elf);
            for &t in &traps {
                let allowed = match name {
                    "hostile" => (0x60..=0x7f).contains(&t) || HOSTILE_TRAPS.contains(&t),
                    _ => (0x60..=0x70).contains(&t) || t == 0x10,
                };
                assert!(allowed, "{name}: stray trapa #{t:#x}");
            }
            // The wrappers really emit the numbers the guest depends on.
            let every_hostile: Vec<u32> = (0x60..=0x7f).chain(HOSTILE_TRAPS).collect();
            let needed: &[u32] = match name {
                "rtos_probe" => &[0x60, 0x62, 0x63, 0x68, 0x6a, 0x6b, 0x6c, 0x6d, 0x6e],
                "hostile" => &every_hostile,
                _ => &[
                    0x10, 0x60, 0x61, 0x62, 0x64, 0x65, 0x66, 0x67, 0x69, 0x6b, 0x6c, 0x6d, 0x6f,
                ],
            };
            for t in needed {
                assert!(
                    traps.contains(t),
                    "{name}: no trapa #{t:#x}; found {traps:x?}"
                );
            }
            // Built without the FPU: the vectors do not save it.
            let fpu: Vec<_> = mnemonics.iter().filter(|m| m.starts_with('f')).collect();
            assert!(fpu.is_empty(), "{name}: FPU instructions {fpu:?}");
        }
    }
}

#[test]
fn an_unchanged_guest_is_not_rebuilt() {
    let first = build_guest("rtos_probe", BASES[0]).unwrap();
    let t0 = std::fs::metadata(&first).unwrap().modified().unwrap();
    let again = build_guest("rtos_probe", BASES[0]).unwrap();
    assert_eq!(first, again);
    assert_eq!(std::fs::metadata(&again).unwrap().modified().unwrap(), t0);
    assert!(build_guest("no_such_guest", BASES[0]).is_err());
    assert!(
        build_guest("rtos_probe", 0x0880_0000).is_err(),
        "a P0 base is refused"
    );
}
