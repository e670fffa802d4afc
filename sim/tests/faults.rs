//! Fault injection at the machine level (`rp1_sim::faults`): an empty plan
//! costs nothing, a stalled core loses exactly its stalled cycles, a flip
//! lands at its cycle, and a bad plan is refused precisely.

use rp1_sim::faults::{Faults, Flip, IciFault, Injected, Stall};
use rp1_sim::loader::load_elf;
use rp1_sim::machine::{Config, Exit, Machine};

mod common;
use common::program;

/// ADD #1,R0 ; BRA back to the ADD ; NOP: R0 counts loop turns.
fn counter(cores: usize) -> Machine {
    let img = program(&[0x7001, 0xAFFD, 0x0009]);
    let mut m = Machine::new(Config { cores, ..Config::default() }).unwrap();
    let loaded = load_elf(&mut m.bus, &img).unwrap();
    m.cpus[0].reset(loaded.entry);
    m
}

/// What a run did, to compare runs.
fn state(m: &Machine) -> (u64, Vec<u64>, Vec<u32>, Vec<u64>) {
    (
        m.now,
        m.cpus.iter().map(|c| c.cycles).collect(),
        m.cpus.iter().map(|c| c.r[0]).collect(),
        m.cpus.iter().map(|c| c.stats.instructions).collect(),
    )
}

/// No plan, an empty plan and a plan whose faults all fall after the run
/// give the same run: same cycles, registers and instruction counts.
#[test]
fn an_empty_plan_or_one_not_yet_due_changes_nothing() {
    let mut plain = counter(2);
    assert_eq!(plain.run(3_000_000), Exit::CycleLimit);
    let mut empty = counter(2);
    empty.set_faults(&Faults::default()).unwrap();
    assert_eq!(empty.run(3_000_000), Exit::CycleLimit);
    let mut later = counter(2);
    let plan = Faults {
        seed: 3,
        ici: vec![IciFault::LosePercent { core: 1, percent: 50 }],
        stalls: vec![Stall { core: 0, at: 10_000_000, cycles: None }],
        flips: vec![Flip { at: 20_000_000, offset: 0, mask: 1 }],
    };
    later.set_faults(&plan).unwrap();
    assert_eq!(later.run(3_000_000), Exit::CycleLimit);
    assert_eq!(state(&plain), state(&empty));
    assert_eq!(state(&plain), state(&later));
    assert_eq!(later.injected(), Injected::default());
    assert!(plain.cpus[0].r[0] > 100_000, "the loop ran: {}", plain.cpus[0].r[0]);
}

/// A core stopped for D cycles from T does, by the end, what an unstopped
/// core does in D cycles less (stall edges on round boundaries); one
/// stopped for good does nothing more after T.
#[test]
fn a_stalled_core_loses_exactly_its_stalled_cycles() {
    let (t, d, end) = (1_000_000u64, 500_000u64, 3_000_000u64);
    let mut short = counter(1);
    short.run(end - d);
    let mut stalled = counter(1);
    stalled.set_faults(&Faults { stalls: vec![Stall { core: 0, at: t, cycles: Some(d) }], ..Faults::default() }).unwrap();
    stalled.run(end);
    assert_eq!(stalled.now, end);
    assert_eq!(stalled.cpus[0].stats.instructions, short.cpus[0].stats.instructions);
    assert_eq!(stalled.cpus[0].r[0], short.cpus[0].r[0]);
    assert_eq!(stalled.injected().stall_cycles, d);

    let mut until_t = counter(1);
    until_t.run(t);
    let mut stopped = counter(1);
    stopped.set_faults(&Faults { stalls: vec![Stall { core: 0, at: t, cycles: None }], ..Faults::default() }).unwrap();
    stopped.run(end);
    assert_eq!(stopped.cpus[0].r[0], until_t.cpus[0].r[0]);
    assert_eq!(stopped.injected().stall_cycles, end - t);
}

/// A flip XORs its mask into the CSM word at its cycle, not before.
#[test]
fn a_flip_lands_at_its_cycle() {
    let mut m = counter(1);
    m.bus.csm[0x40..0x44].copy_from_slice(&0x1234_5678u32.to_le_bytes());
    m.set_faults(&Faults { flips: vec![Flip { at: 1_500_000, offset: 0x40, mask: 0x8000_0001 }], ..Faults::default() })
        .unwrap();
    m.run(1_000_000);
    assert_eq!(&m.bus.csm[0x40..0x44], &0x1234_5678u32.to_le_bytes());
    m.run(1_500_000);
    assert_eq!(m.now, 1_500_000, "the round is cut at the flip");
    m.run(1_600_000);
    assert_eq!(&m.bus.csm[0x40..0x44], &0x9234_5679u32.to_le_bytes());
    assert_eq!(m.injected().words_flipped, 1);
}

/// A plan that does not fit the machine is refused and changes nothing.
#[test]
fn a_bad_plan_is_refused() {
    let mut m = counter(2);
    let err = m.set_faults(&Faults { stalls: vec![Stall { core: 2, at: 0, cycles: None }], ..Faults::default() });
    assert_eq!(err.unwrap_err().to_string(), "fault on core 2: the machine has cores 0 to 1");
    let mut plain = counter(2);
    m.run(1_000_000);
    plain.run(1_000_000);
    assert_eq!(state(&m), state(&plain));
}
