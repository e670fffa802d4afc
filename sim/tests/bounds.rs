//! Hostile input that used to panic, run without end or grow without
//! bound: boot parameters outside RAM, a huge quantum, serial ports
//! written flat out, huge image files; and the machine that can never run
//! again told apart from one halted on purpose. Each must end in a precise
//! error or a bounded run, never a panic.
//!
//! Owns: these tests. Must not touch: the simulator's files.

mod common;

use common::{code, elf, elf_with_symbols, Seg};
use proptest::prelude::*;
use rp1_sim::linux_boot::{set_boot_params, BootError, BOOT_PARAMS_SIZE};
use rp1_sim::loader::{load_elf, read_image, LoadError, ReadError, MAX_IMAGE_FILE};
use rp1_sim::machine::{Config, ConfigError, Exit, Machine, MAX_ICI_LATENCY, MAX_QUANTUM, SERIAL_KEEP};

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

/// A machine with `words` loaded at 0x88001000 and core 0 started there.
fn boot(cores: usize, words: &[u16]) -> Machine {
    let mut m = machine(cores, 128 << 20);
    let bytes = code(words);
    let memsz = bytes.len() as u32;
    let img = elf(0x8800_1000, &[Seg { paddr: 0x0800_1000, vaddr: 0x8800_1000, bytes, memsz }]);
    let loaded = load_elf(&mut m.bus, &img).unwrap();
    m.cpus[0].reset(loaded.entry);
    m
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

#[test]
fn the_quantum_is_capped() {
    assert!(Machine::new(Config { quantum: MAX_QUANTUM, ..Config::default() }).is_ok());
    for q in [0, MAX_QUANTUM + 1, 10_000_000_000, u64::MAX] {
        let err = Machine::new(Config { quantum: q, ..Config::default() }).err();
        assert_eq!(err, Some(ConfigError::Quantum(q)));
        assert_eq!(err.unwrap().to_string(), format!("the quantum must be 1 to 1000000 cycles, not {q}"));
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(48))]
    /// `stop_at` ends a run exactly there, whatever the quantum, with every
    /// core brought up to it (a core's last instruction may end a few
    /// cycles past it, as at any round's end).
    #[test]
    fn stop_at_holds_whatever_the_quantum(quantum in prop_oneof![1u64..2000, 1u64..=MAX_QUANTUM, Just(MAX_QUANTUM)],
                                          limit in 1u64..2_000_000, cores in 1usize..=4) {
        let mut m = boot(cores, &[0xAFFE, 0x0009]); // BRA . ; NOP
        m.config.quantum = quantum;
        m.stop_at(limit);
        prop_assert_eq!(m.run(u64::MAX), Exit::CycleLimit);
        prop_assert_eq!(m.now, limit);
        for cpu in &m.cpus {
            prop_assert!((limit..limit + 16).contains(&cpu.cycles), "core {} at {}", cpu.id, cpu.cycles);
        }
        prop_assert_eq!(m.run(u64::MAX), Exit::CycleLimit, "a run after the stop does nothing");
        prop_assert_eq!(m.now, limit);
    }
}

/// Counts R1 down from `count`, then writes 0 to SIMCTL's exit register.
fn countdown(count: u32) -> Vec<u16> {
    vec![
        0xD103, // MOV.L @(0x10),R1
        0x4110, // DT R1
        0x8BFD, // BF -> DT
        0xD203, // MOV.L @(0x14),R2
        0x2212, // MOV.L R1,@R2 (R1 = 0)
        0xAFFE, // BRA .
        0x0009,
        0x0009,
        count as u16,
        (count >> 16) as u16,
        0x0000,
        0xBBFF, // .long 0xBBFF0000
    ]
}

#[test]
fn stop_at_beyond_the_end_of_a_run_changes_nothing() {
    for quantum in [1000, 777, MAX_QUANTUM] {
        let plain = {
            let mut m = boot(4, &countdown(300_000));
            m.config.quantum = quantum;
            (m.run(u64::MAX), m.now, m.cpus[0].stats.instructions, m.cpus[0].cycles)
        };
        let stopped = {
            let mut m = boot(4, &countdown(300_000));
            m.config.quantum = quantum;
            m.stop_at(600_000_000);
            let mut exit = Exit::CycleLimit;
            // In slices, as `rp1 run` runs.
            while exit == Exit::CycleLimit && m.now < 600_000_000 {
                exit = m.run(m.now + 123_457);
            }
            (exit, m.now, m.cpus[0].stats.instructions, m.cpus[0].cycles)
        };
        assert_eq!(plain.0, Exit::Guest(0));
        assert_eq!(plain, stopped, "quantum {quantum}");
    }
}

/// SR = MD only (BL = 0, IMASK = 0), then SLEEP, with no timer running.
const SLEEP_OPEN: [u16; 8] = [
    0xD002, // MOV.L @(0x0c),R0
    0x400E, // LDC R0,SR
    0x001B, // SLEEP
    0xAFFD, // BRA -> SLEEP
    0x0009, 0x0009, // NOP, pad
    0x0000, 0x4000, // .long 0x40000000
];

/// SLEEP in the reset state (SR.BL = 1, IMASK = 15).
const SLEEP_MASKED: [u16; 3] = [0x001B, 0xAFFD, 0x0009];

#[test]
fn asleep_waiting_for_an_interrupt_nothing_raises_is_stuck_not_halted() {
    let mut m = boot(4, &SLEEP_OPEN);
    assert_eq!(m.run(10_000_000), Exit::Stuck);
    assert!(m.now < 10_000, "it stops at once, at {}", m.now);
    let summary = rp1_sim::report::summary(&m, Exit::Stuck, std::time::Duration::ZERO);
    assert!(
        summary.contains(
            "machine stuck (every core asleep or in reset, waiting with interrupts open for one that nothing will raise)"
        ),
        "{summary}"
    );
    // The same with interrupts masked is the deliberate halt, in a halt
    // routine.
    let mut m = boot(4, &SLEEP_MASKED);
    m.halt_routines.push(0x8800_1000..0x8800_1006);
    assert_eq!(m.run(10_000_000), Exit::Halted);
    let summary = rp1_sim::report::summary(&m, Exit::Halted, std::time::Duration::ZERO);
    assert!(summary.contains("machine halted (all cores asleep, nothing can wake them)"), "{summary}");
}

#[test]
fn asleep_with_interrupts_masked_outside_a_halt_routine_is_a_deadlock() {
    // No halt routine at all.
    let mut m = boot(4, &SLEEP_MASKED);
    let exit = m.run(10_000_000);
    assert_eq!(exit, Exit::Deadlocked { core: 0, pc: 0x8800_1000 });
    assert!(m.now < 10_000, "it stops at once, at {}", m.now);
    let summary = rp1_sim::report::summary(&m, exit, std::time::Duration::ZERO);
    assert!(
        summary.contains(
            "machine deadlocked (every core asleep or in reset, nothing can wake them; core 0 went to sleep with \
             interrupts masked at 0x88001000, outside every halt routine)"
        ),
        "{summary}"
    );
    // A halt routine elsewhere does not make it one; one that ends just
    // before the sleep neither.
    let mut m = boot(4, &SLEEP_MASKED);
    m.halt_routines.extend([0x8800_2000..0x8800_2100, 0x8800_0f00..0x8800_1000]);
    assert_eq!(m.run(10_000_000), Exit::Deadlocked { core: 0, pc: 0x8800_1000 });
}

/// Core 0 and core 1 each run one of the two sleeps (loaded at
/// 0x88001000 and 0x88002000, both halt routines), the others stay in
/// reset.
fn two_sleepers(core0: &[u16], core1: &[u16]) -> Exit {
    two_sleepers_halting_in(core0, core1, &[0x8800_1000..0x8800_1006, 0x8800_2000..0x8800_2006])
}

/// `two_sleepers` with these halt routines.
fn two_sleepers_halting_in(core0: &[u16], core1: &[u16], halt_routines: &[std::ops::Range<u32>]) -> Exit {
    let mut m = machine(4, 128 << 20);
    m.halt_routines = halt_routines.to_vec();
    for (addr, words) in [(0x0800_1000u32, core0), (0x0800_2000, core1)] {
        m.bus.load(0, addr, &code(words)).unwrap();
    }
    m.cpus[0].reset(0x8800_1000);
    m.cpus[1].reset(0x8800_2000);
    m.cpus[1].halted = false;
    m.run(10_000_000)
}

#[test]
fn a_halt_that_leaves_other_cores_idle_is_still_a_halt() {
    // Linux's halt: the halting CPU sleeps with interrupts masked; another
    // may stay in the idle loop, asleep with interrupts open and nothing
    // left to wake it.
    assert_eq!(two_sleepers(&SLEEP_MASKED, &SLEEP_OPEN), Exit::Halted);
    assert_eq!(two_sleepers(&SLEEP_OPEN, &SLEEP_MASKED), Exit::Halted);
    assert_eq!(two_sleepers(&SLEEP_MASKED, &SLEEP_MASKED), Exit::Halted);
    // No core halted: both wait for an interrupt that never comes.
    assert_eq!(two_sleepers(&SLEEP_OPEN, &SLEEP_OPEN), Exit::Stuck);
    // Core 1 sleeps masked outside the halt routines: whatever core 0
    // does, nothing can wake core 1 and it did not halt.
    let only_core0 = [0x8800_1000..0x8800_1006];
    let deadlock = Exit::Deadlocked { core: 1, pc: 0x8800_2000 };
    assert_eq!(two_sleepers_halting_in(&SLEEP_OPEN, &SLEEP_MASKED, &only_core0), deadlock);
    assert_eq!(two_sleepers_halting_in(&SLEEP_MASKED, &SLEEP_MASKED, &only_core0), deadlock);
}

/// Sets TE and RE on SCIF0-3, then writes a byte to each port's SCFTDR
/// for ever.
const FLOOD: [u16; 28] = [
    0xD10B, // MOV.L @(0x30),R1: 0xFFC30000
    0xD20C, // MOV.L @(0x34),R2: 0x00010000
    0xE030, // MOV #0x30,R0
    0x6313, // MOV R1,R3
    0x8134, 0x332C, 0x8134, 0x332C, 0x8134, 0x332C, 0x8134, // MOV.W R0,@(8,R3) (SCSCR); ADD R2,R3
    0x6313, // loop: MOV R1,R3
    0x803C, 0x332C, 0x803C, 0x332C, 0x803C, 0x332C, 0x803C, // MOV.B R0,@(12,R3) (SCFTDR); ADD R2,R3
    0xAFF6, // BRA loop
    0x0009, 0x0009, 0x0009, 0x0009, // NOP, pad
    0x0000, 0xFFC3, // .long 0xFFC30000
    0x0000, 0x0001, // .long 0x00010000
];

#[test]
fn serial_output_written_flat_out_is_kept_within_bounds() {
    const CYCLES: u64 = 20_000_000;
    let mut nothing = boot(1, &FLOOD);
    nothing.console_limit = 0;
    assert_eq!(nothing.run(CYCLES), Exit::CycleLimit);
    assert!(nothing.console.is_empty(), "a console limit of 0 keeps nothing");
    let written = nothing.console_bytes;
    assert!(written > 4 * SERIAL_KEEP as u64, "the guest wrote {written} bytes to SCIF0");
    for port in 1..4 {
        assert_eq!(nothing.serial_bytes[port], written, "SCIF{port}");
        let kept = nothing.other_serial[port].len();
        assert!((SERIAL_KEEP..=2 * SERIAL_KEEP).contains(&kept), "SCIF{port} keeps {kept} bytes");
    }
    // Keeping everything (the default for SCIF0) keeps it all, and changes
    // no simulated figure.
    let mut all = boot(1, &FLOOD);
    all.serial_limit = 1000;
    assert_eq!(all.run(CYCLES), Exit::CycleLimit);
    assert_eq!((all.now, all.console_bytes, all.serial_bytes), (nothing.now, nothing.console_bytes, nothing.serial_bytes));
    assert_eq!(all.cpus[0].stats.instructions, nothing.cpus[0].stats.instructions);
    assert_eq!(all.console.len() as u64, written);
    assert!(all.console.iter().all(|&b| b == 0x30));
    for port in 1..4 {
        assert!((1000..=2000).contains(&all.other_serial[port].len()));
    }
    // What a reader that keeps its place sees: the new bytes only.
    let before = all.console_bytes;
    all.run(CYCLES + 1000);
    assert_eq!(all.console_since(before).len() as u64, all.console_bytes - before);
    all.console.clear();
    assert!(all.console_since(before).is_empty(), "bytes cleared are gone");
}

fn scratch(name: &str) -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!("rp1-sim-bounds-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

#[test]
fn image_files_are_read_header_first_and_up_to_a_limit() {
    // /dev/zero is refused after its first 52 bytes.
    let started = std::time::Instant::now();
    let err = read_image(std::path::Path::new("/dev/zero")).unwrap_err();
    assert!(matches!(err, ReadError::Header(LoadError::Malformed(_))), "{err:?}");
    assert!(err.to_string().starts_with("not a valid ELF file: "), "{err}");
    assert!(started.elapsed().as_secs() < 5);

    let dir = scratch("read-image");
    let good = common::program(&[0x0009]);
    let path = dir.join("good.elf");
    std::fs::write(&path, &good).unwrap();
    assert_eq!(read_image(&path).unwrap(), good);

    // A valid header at the start of a 2 GiB sparse file.
    let big = dir.join("big.elf");
    std::fs::write(&big, &good).unwrap();
    std::fs::OpenOptions::new().write(true).open(&big).unwrap().set_len(2 << 30).unwrap();
    let err = read_image(&big).unwrap_err();
    assert!(matches!(err, ReadError::TooLarge { size } if size == 2 << 30), "{err:?}");
    assert_eq!(err.to_string(), "the file is 2147483648 bytes; an image file may have at most 268435456 bytes (256 MiB)");
    assert_eq!(MAX_IMAGE_FILE, 256 << 20);

    // Text is refused by its header.
    let text = dir.join("notes.txt");
    std::fs::write(&text, "hello, this is not an image but it is long enough to hold a header").unwrap();
    assert!(matches!(read_image(&text), Err(ReadError::Header(LoadError::Malformed(_)))));
    let missing = dir.join("missing.elf");
    assert!(matches!(read_image(&missing), Err(ReadError::Io(_))));
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn the_ici_latency_is_capped() {
    assert!(Machine::new(Config { ici_latency: Some(MAX_ICI_LATENCY), ..Config::default() }).is_ok());
    for l in [MAX_ICI_LATENCY + 1, u64::MAX] {
        let err = Machine::new(Config { ici_latency: Some(l), ..Config::default() }).err();
        assert_eq!(err, Some(ConfigError::IciLatency(l)));
        assert_eq!(err.unwrap().to_string(), format!("the ICI latency must be 0 to 600000 cycles, not {l}"));
    }
}
