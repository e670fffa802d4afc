//! Hostile input: malformed ELF images, segments outside memory, guests
//! that jump into unmapped space or fault with exceptions blocked. Each must
//! end in a precise error or the architectural exception — never a panic
//! or a hang.

use proptest::prelude::*;
use rp1_sim::cpu::Exception;
use rp1_sim::loader::{load_elf, LoadError};
use rp1_sim::machine::{Config, Exit, Machine};

mod common;
use common::{code, elf, elf_with_symbols, program, Seg};

fn machine() -> Machine {
    Machine::new(Config { cores: 1, ..Config::default() }).unwrap()
}

fn boot(image: &[u8]) -> Machine {
    let mut m = machine();
    let loaded = m.load_elf(image).expect("valid image");
    m.cpus[0].reset(loaded.entry);
    m
}

#[test]
fn valid_image_loads_and_zero_fills_bss() {
    let mut m = machine();
    let img = elf(0x8800_1000, &[Seg { paddr: 0x0800_1000, vaddr: 0x8800_1000, bytes: vec![1, 2, 3, 4], memsz: 8 }]);
    m.bus.load(0, 0x0800_1004, &[9, 9, 9, 9]).unwrap();
    let loaded = load_elf(&mut m.bus, &img).unwrap();
    assert_eq!(loaded.entry, 0x8800_1000);
    assert_eq!(loaded.segments, vec![(0x0800_1000, 8)]);
    let bytes: Vec<u8> = (0..8).map(|i| m.bus.peek(0, 0x0800_1000 + i).unwrap()).collect();
    assert_eq!(bytes, [1, 2, 3, 4, 0, 0, 0, 0]);
}

#[test]
fn malformed_images_are_refused_precisely() {
    let mut m = machine();
    assert!(matches!(load_elf(&mut m.bus, b""), Err(LoadError::Malformed(_))));
    assert!(matches!(load_elf(&mut m.bus, b"\x7fELF"), Err(LoadError::Malformed(_))));
    let good = program(&[0x0009]);
    assert!(matches!(load_elf(&mut m.bus, &good[..40]), Err(LoadError::Malformed(_))));
    let mut wrong_machine = good.clone();
    wrong_machine[18] = 3; // EM_386
    assert_eq!(load_elf(&mut m.bus, &wrong_machine), Err(LoadError::WrongMachine(3)));
    let mut big_endian = good.clone();
    big_endian[5] = 2;
    assert!(matches!(load_elf(&mut m.bus, &big_endian), Err(LoadError::WrongClass | LoadError::Malformed(_))));
    let mut relocatable = good.clone();
    relocatable[16] = 1;
    assert_eq!(load_elf(&mut m.bus, &relocatable), Err(LoadError::NotExecutable(1)));
    // The segment's bytes lie past the end of the file.
    let truncated = &good[..good.len() - 1];
    assert!(matches!(load_elf(&mut m.bus, truncated), Err(LoadError::Malformed(_))));
    assert_eq!(load_elf(&mut m.bus, &elf(0, &[])), Err(LoadError::NothingToLoad));
}

#[test]
fn segments_outside_memory_are_refused_and_nothing_is_written() {
    let mut m = machine();
    // Physical 0x04000000 is area 1: nothing there.
    let img = elf(0, &[Seg { paddr: 0x0400_0000, vaddr: 0x8400_0000, bytes: vec![1; 16], memsz: 16 }]);
    assert_eq!(load_elf(&mut m.bus, &img), Err(LoadError::OutsideMemory { index: 0, addr: 0x0400_0000, size: 16 }));
    // Runs off the end of DRAM.
    let img = elf(
        0,
        &[
            Seg { paddr: 0x0800_0000, vaddr: 0x8800_0000, bytes: vec![7; 4], memsz: 4 },
            Seg { paddr: 0x0FFF_FFF0, vaddr: 0x8FFF_FFF0, bytes: vec![1; 32], memsz: 32 },
        ],
    );
    assert!(matches!(load_elf(&mut m.bus, &img), Err(LoadError::OutsideMemory { index: 1, .. })));
    assert_eq!(m.bus.peek(0, 0x0800_0000), Some(0), "the valid first segment was not written either");
    let img = elf(0, &[Seg { paddr: 0x0800_0000, vaddr: 0x8800_0000, bytes: vec![1; 8], memsz: 4 }]);
    assert_eq!(load_elf(&mut m.bus, &img), Err(LoadError::BadSegmentSize { index: 0, filesz: 8, memsz: 4 }));
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]
    /// Random bytes and random corruptions of a valid image never panic.
    #[test]
    fn loader_never_panics(noise in proptest::collection::vec(any::<u8>(), 0..256),
                           flips in proptest::collection::vec((0usize..200, any::<u8>()), 0..8)) {
        let mut m = machine();
        let _ = load_elf(&mut m.bus, &noise);
        let mut img = program(&[0xE001, 0x0009, 0x0009]);
        for (at, v) in flips {
            let len = img.len();
            img[at % len] = v;
        }
        let _ = load_elf(&mut m.bus, &img);
    }
}

#[test]
fn jump_to_unmapped_space_with_exceptions_blocked_is_a_reported_double_fault() {
    // MOV.L @(disp,PC),R0 ; JMP @R0 ; NOP ; .long 0xA4000000 (nothing there)
    let img = program(&[0xD001, 0x402B, 0x0009, 0x0009, 0x0000, 0xA400]);
    let mut m = boot(&img);
    let exit = m.run(1_000_000);
    match exit {
        Exit::DoubleFault { core: 0, fault } => {
            assert_eq!(fault.exception, Exception::InstructionAddressError(0xA400_0000));
            assert_eq!(fault.pc, 0xA400_0000);
        }
        other => panic!("expected a double fault, got {other:?}"),
    }
    assert_eq!(m.bus.fault_count, 1);
    assert_eq!(m.bus.faults[0].addr, 0x0400_0000);
}

#[test]
fn jump_to_unmapped_space_with_a_handler_takes_the_address_error() {
    // Set VBR = 0x88002000, clear BL, jump to 0xA4000000. The handler at
    // VBR+0x100 writes EXPEVT to SIMCTL's exit register.
    let main = [
        0xD003u16, // MOV.L @(12,PC),R0: the VBR literal
        0x402E,    // LDC R0,VBR
        0xD003,    // MOV.L sr value,R0
        0x400E,    // LDC R0,SR (BL=0, MD=1)
        0xD003,    // MOV.L target,R0
        0x402B,    // JMP @R0
        0x0009,    // NOP
        0x0009,
        0x2000, 0x8800, // .long 0x88002000 (VBR)
        0x0000, 0x4000, // .long 0x40000000 (SR: MD)
        0x0000, 0xA400, // .long 0xA4000000
    ];
    let handler = [
        0xD101u16, // MOV.L expevt_addr,R1
        0x6012,    // MOV.L @R1,R0
        0xD201,    // MOV.L simctl,R2
        0x2202,    // MOV.L R0,@R2
        0x0024, 0xFF00, // .long 0xFF000024 (EXPEVT)
        0x0000, 0xBBFF, // .long 0xBBFF0000
    ];
    let img = elf(
        0x8800_1000,
        &[
            Seg { paddr: 0x0800_1000, vaddr: 0x8800_1000, bytes: code(&main), memsz: 2 * main.len() as u32 },
            Seg { paddr: 0x0800_2100, vaddr: 0x8800_2100, bytes: code(&handler), memsz: 2 * handler.len() as u32 },
        ],
    );
    let mut m = boot(&img);
    assert_eq!(m.run(1_000_000), Exit::Guest(0x0E0));
    assert_eq!(m.cpus[0].mmu.tea, 0xA400_0000);
    assert_eq!(m.cpus[0].spc, 0xA400_0000);
}

#[test]
fn a_guest_that_spins_forever_stops_at_the_cycle_limit() {
    let img = program(&[0xAFFE, 0x0009]); // BRA . ; NOP
    let mut m = boot(&img);
    assert_eq!(m.run(50_000), Exit::CycleLimit);
    assert_eq!(m.now, 50_000);
}

#[test]
fn sleeping_with_interrupts_masked_is_a_halt_only_in_a_halt_routine() {
    let sleep = [0x001B, 0xAFFD, 0x0009]; // SLEEP (reset state: IMASK=15, BL=1)
    let mut m = boot(&program(&sleep));
    assert_eq!(m.run(1_000_000), Exit::Deadlocked { core: 0, pc: 0x8800_1000 });
    // The same code named as a halt routine by the image's symbols: a
    // label of size 0 covers up to the next symbol, or its segment's end.
    for symbols in [vec![("rp1_halt", 0x8800_1000)], vec![("stop_this_cpu", 0x8800_0ffe), ("after", 0x8800_1002)]] {
        let bytes = code(&sleep);
        let memsz = bytes.len() as u32;
        let img = elf_with_symbols(0x8800_1000, &[Seg { paddr: 0x0800_1000, vaddr: 0x8800_1000, bytes, memsz }], &symbols);
        let mut m = boot(&img);
        assert_eq!(m.run(1_000_000), Exit::Halted, "{symbols:?}");
    }
    // A halt routine that ends before the sleep does not cover it.
    let bytes = code(&sleep);
    let memsz = bytes.len() as u32;
    let symbols = [("rp1_halt", 0x8800_0ff0), ("next", 0x8800_1000)];
    let img = elf_with_symbols(0x8800_1000, &[Seg { paddr: 0x0800_1000, vaddr: 0x8800_1000, bytes, memsz }], &symbols);
    let mut m = boot(&img);
    assert_eq!(m.run(1_000_000), Exit::Deadlocked { core: 0, pc: 0x8800_1000 });
}

#[test]
fn bad_configurations_are_refused() {
    use rp1_sim::machine::ConfigError;
    assert_eq!(Machine::new(Config { cores: 0, ..Config::default() }).err(), Some(ConfigError::Cores(0)));
    assert_eq!(Machine::new(Config { cores: 5, ..Config::default() }).err(), Some(ConfigError::Cores(5)));
    assert_eq!(Machine::new(Config { dram_size: 123, ..Config::default() }).err(), Some(ConfigError::DramSize(123)));
    assert_eq!(Machine::new(Config { quantum: 0, ..Config::default() }).err(), Some(ConfigError::Quantum(0)));
}

/// The run summary names a double fault in words, every address in hex
/// (it printed `InstructionAddressError(a4000000)`, Rust's Debug text).
#[test]
fn a_double_fault_is_reported_in_words_with_hex_addresses() {
    let img = program(&[0xD001, 0x402B, 0x0009, 0x0009, 0x0000, 0xA400]);
    let mut m = boot(&img);
    let exit = m.run(1_000_000);
    let text = rp1_sim::report::summary(&m, exit, std::time::Duration::ZERO);
    let want = "--- rp1 summary: core 0 faulted: instruction address error (EXPEVT 0x0e0, address 0xa4000000) \
                at pc 0xa4000000 while exceptions were blocked (SR.BL=1), a manual reset (EXPEVT 0x020); \
                software has lost control of the core";
    assert!(text.contains(want), "{text}");
    assert!(!text.contains("InstructionAddressError"), "{text}");
    assert_eq!(exit.to_string(), want.trim_start_matches("--- rp1 summary: "));
    assert_eq!(m.cpus[0].expevt, 0x020);
}

/// A core with two UTLB entries for page 0x1000, the MMU on, SR.BL as
/// given, about to run `mov.l @r1,r0` with r1 = 0x1000.
fn multiple_hit_machine(sr: u32) -> Machine {
    let mut m = boot(&program(&[0x6012, 0xAFFE, 0x0009])); // mov.l @r1,r0; bra .; nop
    let cpu = &mut m.cpus[0];
    for page in [0x0800_1000u32, 0x0800_2000] {
        cpu.mmu.pteh = 0x0000_1000;
        // valid, 4 KiB, privileged read/write, cacheable, dirty
        cpu.mmu.ptel = page | (1 << 8) | (1 << 4) | (1 << 5) | (1 << 3) | (1 << 2);
        cpu.mmu.ldtlb();
    }
    cpu.mmu.set_mmucr(rp1_sim::cpu::mmu::mmucr::AT);
    cpu.set_sr(sr);
    cpu.r[1] = 0x1000;
    m
}

/// A TLB multiple hit is a reset-type exception (EXPEVT 0x140): it resets
/// the core whatever SR.BL is, and is reported as such, not as an
/// exception "while exceptions were blocked" when BL was 0.
#[test]
fn a_tlb_multiple_hit_is_reported_as_the_reset_type_exception_it_is() {
    for sr in [0x4000_00F0u32, 0x5000_00F0] {
        let mut m = multiple_hit_machine(sr);
        let exit = m.run(1_000_000);
        match exit {
            Exit::DoubleFault { core: 0, fault } => {
                assert_eq!(fault.exception, Exception::TlbMultipleHit(0x1000));
                assert_eq!(fault.cause, rp1_sim::cpu::ResetCause::ResetType);
            }
            other => panic!("SR {sr:#x}: expected a reset, got {other:?}"),
        }
        assert_eq!(m.cpus[0].expevt, 0x140, "SR {sr:#x}: EXPEVT after the reset");
        let text = rp1_sim::report::summary(&m, exit, std::time::Duration::ZERO);
        assert!(
            text.contains(
                "core 0 faulted: TLB multiple hit (EXPEVT 0x140, address 0x00001000) at pc 0x88001000, \
                 a reset-type exception (it resets the core whatever SR.BL is)"
            ),
            "{text}"
        );
        assert!(!text.contains("SR.BL=1"), "{text}");
    }
}
