//! Hostile input that used to panic: boot parameters outside RAM. Each
//! must end in a precise error, never a panic.
//!
//! Owns: these tests. Must not touch: the simulator's files.

mod common;

use common::{code, elf_with_symbols, Seg};
use proptest::prelude::*;
use rp1_sim::linux_boot::{set_boot_params, BootError, BOOT_PARAMS_SIZE};
use rp1_sim::loader::load_elf;
use rp1_sim::machine::{Config, Machine};

const DRAM: (u32, u32) = (0x0800_0000, 128 << 20);

/// A kernel-like image: one instruction at 0x88001000, with
/// `empty_zero_page` and `_end` where the test says.
fn kernel(zero_page: u32, end: u32) -> Vec<u8> {
    let seg = Seg { paddr: 0x0800_1000, vaddr: 0x8800_1000, bytes: code(&[0x0009]), memsz: 2 };
    elf_with_symbols(0x8800_1000, &[seg], &[("empty_zero_page", zero_page), ("_end", end)])
}

fn machine(cores: usize, dram_size: u32) -> Machine {
    Machine::new(Config { cores, dram_size, ..Config::default() }).unwrap()
}

#[test]
fn a_zero_page_outside_ram_is_refused_with_its_address() {
    // The last one starts in RAM, but the parameters run past its end.
    for addr in [0x0000_0000u32, 0x1fff_0000, 0x8000_0000, 0xa400_0000, 0x8fff_ff00] {
        let img = kernel(addr, 0x8800_2000);
        let phys = addr & 0x1fff_ffff;
        for initrd in [None, Some(&b"initramfs"[..])] {
            let mut m = machine(1, 128 << 20);
            load_elf(&mut m.bus, &img).unwrap();
            let err = set_boot_params(&mut m.bus, &img, "x", initrd).unwrap_err();
            assert_eq!(err, BootError::ZeroPageOutsideRam { addr: phys, ram: DRAM });
            assert_eq!(
                err.to_string(),
                format!(
                    "empty_zero_page at {phys:#010x} is not in RAM (0x08000000-0x0fffffff); the boot parameters need 0x200 \
                     bytes there"
                )
            );
        }
    }
}

#[test]
fn an_end_outside_ram_is_refused_with_its_address() {
    for (end, phys) in [(0u32, 0u32), (0x0700_0000, 0x0700_0000), (0x8000_0000, 0), (0x9000_0001, 0x1000_0001)] {
        let img = kernel(0x8800_0000, end);
        let mut m = machine(1, 128 << 20);
        load_elf(&mut m.bus, &img).unwrap();
        let err = set_boot_params(&mut m.bus, &img, "", Some(b"initramfs")).unwrap_err();
        assert_eq!(err, BootError::EndOutsideRam { addr: phys, ram: DRAM });
        assert_eq!(
            err.to_string(),
            format!(
                "the kernel's end (`_end`) at {phys:#010x} is not in RAM (0x08000000-0x0fffffff), so there is nowhere \
                 after it to place the initramfs"
            )
        );
    }
    // At the very end of RAM there is no room, which is said as such.
    let img = kernel(0x8800_0000, 0x9000_0000);
    let mut m = machine(1, 128 << 20);
    load_elf(&mut m.bus, &img).unwrap();
    let err = set_boot_params(&mut m.bus, &img, "", Some(b"initramfs")).unwrap_err();
    assert_eq!(err, BootError::InitrdTooLarge { size: 9, room: 0 });
}

/// An address: anywhere, or near the edges of a 4 MiB DRAM and its P1/P2
/// aliases.
fn address() -> impl Strategy<Value = u32> {
    prop_oneof![
        any::<u32>(),
        (0x07f0_0000u32..0x0850_0000),
        (0x87f0_0000u32..0x8850_0000),
        (0xa7f0_0000u32..0xa850_0000),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(400))]
    /// Whatever the image says, setting the boot parameters never panics,
    /// and succeeds only with the parameters and the initramfs in RAM.
    #[test]
    fn boot_params_never_panic(zero_page in address(), end in address(), line in 0usize..300,
                               initrd in proptest::option::of(0usize..3 << 20)) {
        let img = kernel(zero_page, end);
        let mut m = machine(1, 4 << 20);
        load_elf(&mut m.bus, &img).unwrap();
        let initrd = initrd.map(|n| vec![0x5a; n]);
        let cmdline = "c".repeat(line);
        match set_boot_params(&mut m.bus, &img, &cmdline, initrd.as_deref()) {
            Ok(placed) => {
                let zp = zero_page & 0x1fff_ffff;
                prop_assert!(zp >= 0x0800_0000 && zp + BOOT_PARAMS_SIZE <= 0x0840_0000);
                if let Some((start, size)) = placed.initrd {
                    prop_assert!(start >= (end & 0x1fff_ffff) && start as u64 + size as u64 <= 0x0840_0000);
                }
            }
            Err(e) => prop_assert!(!e.to_string().is_empty()),
        }
    }
}
