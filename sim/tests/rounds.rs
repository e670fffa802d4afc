//! A lone core running through the ends of rounds (`cpu::Rounds`,
//! `Config::fuse_rounds`): where it must stop. It runs through an end
//! only if the machine's look there would find nothing; a device read in
//! the round may have moved an interrupt line, so the core stops at the
//! end of that round, and the run is the one of a machine that stops at
//! every end, cycle for cycle, on both tiers.
//!
//! Owns: these tests. Must not touch: the simulator's files.

use rp1_sim::cpu::jit::Tier;
use rp1_sim::machine::{Config, Exit, Machine, RoundCounts};

/// Physical address the program is loaded at (P1 0x8C000000).
const CODE: u32 = 0x0C00_0000;

/// Two loops of 8,192 iterations (16,384 cycles each: DT and BF), with a
/// read of SIMCTL's cycle counter (a device) between them and the exit
/// (a SIMCTL write) after them.
fn program() -> Vec<u16> {
    vec![
        0xD106, // 0x00: mov.l @(0x1c,pc),r1: SIMCTL, 0xBBFF0000
        0xE220, // 0x02: mov #32,r2
        0x4218, // 0x04: shll8 r2: 8192
        0x4210, // 0x06: dt r2
        0x8BFD, // 0x08: bf 0x06
        0x5011, // 0x0a: mov.l @(4,r1),r0: the cycle counter, a device read
        0xE220, // 0x0c: mov #32,r2
        0x4218, // 0x0e: shll8 r2
        0x4210, // 0x10: dt r2
        0x8BFD, // 0x12: bf 0x10
        0xE000, // 0x14: mov #0,r0
        0x2102, // 0x16: mov.l r0,@r1: exit 0
        0xAFFE, // 0x18: bra 0x18
        0x0009, // 0x1a: nop
        0x0000, 0xBBFF, // 0x1c
    ]
}

/// A one-core machine with the program loaded and started, rounds of
/// `quantum` cycles, run through if `fuse`; translating at the second
/// visit, on the simulating thread.
fn machine(tier: Tier, fuse: bool, quantum: u64) -> Machine {
    let config = Config {
        cores: 1,
        quantum,
        tier: Some(tier),
        jit_hot: Some(2),
        jit_background: Some(false),
        fuse_rounds: Some(fuse),
        ..Config::default()
    };
    let mut m = Machine::new(config).expect("machine");
    let bytes: Vec<u8> = program().iter().flat_map(|w| w.to_le_bytes()).collect();
    m.bus.load(0, CODE, &bytes).expect("the program fits");
    m.cpus[0].reset(0x8000_0000 | CODE);
    m
}

/// The program run to its exit in rounds of `quantum` cycles: the
/// machine's end state as text, and its rounds.
fn run(tier: Tier, fuse: bool, quantum: u64) -> (String, RoundCounts) {
    let mut m = machine(tier, fuse, quantum);
    assert_eq!(m.run(10_000_000), Exit::Guest(0));
    let c = &m.cpus[0];
    let state = format!(
        "now {} cycles {} instructions {} pc {:#x} r0 {:#x} r2 {} rounds {}",
        m.now,
        c.cycles,
        c.stats.instructions,
        c.pc,
        c.r[0],
        c.r[2],
        m.rounds.looked + m.rounds.passed
    );
    (state, m.rounds)
}

/// Stopping at every end: 33 rounds of 1,000 cycles (the loops take
/// 32,768 cycles), all looked at. Run through: the first round runs to
/// the end of the one with the device read (the look there is the
/// machine's second), the second to the exit; the same 33 rounds, 31 of
/// them passed. Were the read not counted, the core would run through
/// that end too and the machine would look once.
#[test]
fn a_device_read_ends_the_run_through_rounds_at_the_end_of_its_round() {
    let (reference, rounds) = run(Tier::Interp, false, 1000);
    assert_eq!(rounds, RoundCounts { looked: 33, passed: 0 });
    // The read saw the cycle counter of the machine that stops everywhere.
    assert!(reference.starts_with("now 33000 "), "{reference}");
    for tier in [Tier::Interp, Tier::Jit] {
        let (state, rounds) = run(tier, true, 1000);
        assert_eq!(state, reference, "{tier}");
        assert_eq!(rounds, RoundCounts { looked: 2, passed: 31 }, "{tier}");
    }
}

/// Quanta that do not divide the loops, down to one cycle (every
/// instruction a round): the same machine, fused or not, on both tiers.
#[test]
fn odd_quanta_run_through_the_same_rounds() {
    for quantum in [1, 7, 999] {
        let (reference, rounds) = run(Tier::Interp, false, quantum);
        assert_eq!(rounds.passed, 0, "quantum {quantum}");
        for tier in [Tier::Interp, Tier::Jit] {
            let (state, rounds) = run(tier, true, quantum);
            assert_eq!(state, reference, "quantum {quantum}, {tier}");
            assert_eq!(rounds.looked, 2, "quantum {quantum}, {tier}: looked at twice");
        }
    }
}
