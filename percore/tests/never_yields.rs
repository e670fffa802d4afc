//! A guest that never yields, against one instance on a fake core.
//!
//! Core 0 runs an RTOS (priority 10, 1 ms periodic tick; after each tick
//! its handler restores its level and it idles) and two GPOS guests of
//! equal priority. The first GPOS ("the hog") never makes a hypercall at
//! all: it keeps its boot level (all GPOS levels masked) and computes for
//! ever. The second does the same. The fake core never enters the
//! instance except for its timer interrupt (and the RTOS's own calls).
//!
//! Checked, under every policy (on one core nothing can migrate): every
//! RTOS deadline is injected into the RTOS exactly when it falls due, with
//! the fixed cost of an entry, a switch and an injection (priority
//! preemption: the hog cannot hold it off); the two GPOS guests alternate
//! by `Config::time_slice` (no run longer than a slice, every slice that
//! expires passes the core to the other one, each gets half the GPOS
//! time). With IPL separation off, a GPOS that disables its interrupts
//! masks the hypervisor's own timer (the configuration the IPL experiment
//! compares against).
//!
//! One ignored test: an RTOS that ticks more often than the time slice
//! starves the second GPOS guest for ever (the slice restarts after every
//! RTOS preemption).

mod common;

use common::*;
use spumone_kernel::guest::{GuestSpec, Partition};
use spumone_kernel::hypercall::sr;
use spumone_percore::config::{Config, Policy};
use spumone_percore::hw::timer_intevt;
use spumone_percore::instance::Instance;

const B_BASE: u32 = 0x0a00_0000;
const B_ENTRY: u32 = 0x8a00_0000;

fn second_gpos() -> GuestSpec {
    GuestSpec { partition: Partition { base: B_BASE, size: 0x100_0000 }, entry: B_ENTRY, home: [0; 4], ..gpos(1) }
}

fn machine(policy: Policy, time_slice: u32) -> Config {
    let mut cfg = config(&[rtos(), GuestSpec { home: [0; 4], ..gpos(1) }, second_gpos()], policy);
    cfg.cores = 1;
    cfg.time_slice = time_slice;
    cfg.delay_bound = (policy == Policy::DelayedPreemption).then_some(18_000);
    cfg
}

/// Which guest a context belongs to, by where it runs.
fn guest_of(pc: u32) -> u8 {
    match pc & 0x1fff_ffff {
        p if (RT_BASE..RT_BASE + 0x10_0000).contains(&p) => 0,
        p if (GP_BASE..GP_BASE + 0x100_0000).contains(&p) => 1,
        p if (B_BASE..B_BASE + 0x100_0000).contains(&p) => 2,
        _ => panic!("resumed at {pc:#x}, in no guest's partition"),
    }
}

struct Outcome {
    /// (deadline, time the RTOS was entered at its vector).
    ticks: Vec<(u64, u64)>,
    /// GPOS runs: (guest, from, to, ended by the RTOS's deadline).
    runs: Vec<(u8, u64, u64, bool)>,
    end: u64,
}

/// Boot, let the RTOS set its tick and idle, then only ever take timer
/// interrupts for `periods` RTOS periods.
fn run(cfg: Config, periods: u64) -> Outcome {
    let mem = shared();
    let mut hw = FakeCore::new(0, &mem);
    let mut inst = Instance::boot_with(&mut hw, cfg, &[]);
    assert_eq!(guest_of(hw.resumed().0.pc), 0, "the RTOS runs first");
    hw.trap(&mut inst, 0x60, &[RT_VBR]);
    hw.trap(&mut inst, 0x6b, &[1000, 0]);
    hw.trap(&mut inst, 0x62, &[0]);
    hw.trap(&mut inst, 0x63, &[]);
    let period = 600_000;
    let mut deadline = inst.resident().iter().find(|v| v.guest == 0).unwrap().timer.next;
    let end = deadline + periods * period;
    let mut out = Outcome { ticks: Vec::new(), runs: Vec::new(), end };
    let (mut ctx, mut imask) = hw.resumed();
    let mut from = hw.now;
    while hw.now < end {
        let g = guest_of(ctx.pc);
        assert_ne!(g, 0, "the RTOS is idle between ticks");
        // The GPOS computes until the next interrupt it lets in.
        assert!(imask < 15, "guest {g} runs with every level masked: no interrupt can stop it");
        let t = hw.timer.expect("the instance always arms its timer while a GPOS runs");
        hw.now = hw.now.max(t);
        out.runs.push((g, from, hw.now, hw.now >= deadline));
        hw.interrupt(&mut inst, timer_intevt(0));
        (ctx, imask) = hw.resumed();
        if guest_of(ctx.pc) == 0 {
            assert_eq!((ctx.pc, ctx.intevt), (RT_VBR + 0x600, 0x400), "the RTOS is entered at its vector for its tick");
            assert_eq!(ctx.sr & sr::BL, sr::BL);
            out.ticks.push((deadline, hw.now));
            deadline += period;
            hw.return_from_interrupt(&mut inst);
            hw.trap(&mut inst, 0x63, &[]);
            (ctx, imask) = hw.resumed();
        }
        from = hw.now;
    }
    out
}

#[test]
fn a_gpos_that_never_yields_neither_delays_the_rtos_nor_starves_its_equal() {
    for policy in [Policy::None, Policy::DelayedPreemption, Policy::TrapMigration, Policy::OnDemandMigration] {
        let cfg = machine(policy, 60_000);
        let o = run(cfg, 50);
        // Every deadline: one tick, entered after exactly an entry, a
        // switch and an injection.
        let c = cfg.costs;
        let latency = (c.entry_exit + c.vcpu_switch + c.inject) as u64;
        assert_eq!(o.ticks.len(), 51, "{policy:?}: one tick per deadline, the first and 50 periods on");
        // A slice that ends just before a tick costs that tick one more
        // entry and switch at most.
        let collision = (c.entry_exit + c.vcpu_switch) as u64;
        for &(d, at) in &o.ticks {
            assert!(at >= d + latency && at <= d + latency + collision, "{policy:?}: the tick due at {d} came at {at}");
        }
        assert!(o.ticks.iter().filter(|&&(d, at)| at == d + latency).count() > 40, "{policy:?}: most ticks take exactly {latency} cycles");
        // Round robin: no run longer than a slice; a slice that expires
        // gives the core to the other guest.
        let mut time = [0u64; 3];
        for w in o.runs.windows(2) {
            let (g, from, to, by_tick) = w[0];
            assert!(to - from <= cfg.time_slice as u64, "{policy:?}: guest {g} ran {} cycles in one go", to - from);
            if !by_tick {
                // The slice runs on through the RTOS's ticks, so a run not
                // cut by a tick ends where its slice ends.
                assert_ne!(w[1].0, g, "{policy:?}: after its slice guest {g} kept the core");
            }
        }
        for &(g, from, to, _) in &o.runs {
            time[g as usize] += to - from;
        }
        let total = time[1] + time[2];
        for g in 1..=2 {
            let share = time[g] as f64 / total as f64;
            assert!((0.45..=0.55).contains(&share), "{policy:?}: guest {g} got {:.1} % of the GPOS time", share * 100.0);
        }
        assert!(o.runs.iter().filter(|r| !r.3).count() > 400, "{policy:?}: slices expired");
        assert!(o.end > 0);
    }
}

/// The contrast the IPL experiment measures: without IPL separation a
/// GPOS that disables its interrupts runs with SR.IMASK 15, which masks
/// the hypervisor's own timer (level 15): nothing can preempt it. With
/// separation its IMASK is 7 and the tick gets in.
#[test]
fn without_ipl_separation_a_gpos_with_interrupts_off_masks_the_rtos_tick() {
    for (separation, want) in [(true, 7u8), (false, 15u8)] {
        let mut cfg = machine(Policy::None, 60_000);
        cfg.ipl_separation = separation;
        let mem = shared();
        let mut hw = FakeCore::new(0, &mem);
        let mut inst = Instance::boot_with(&mut hw, cfg, &[]);
        hw.trap(&mut inst, 0x60, &[RT_VBR]);
        hw.trap(&mut inst, 0x6b, &[1000, 0]);
        hw.trap(&mut inst, 0x62, &[0]);
        hw.trap(&mut inst, 0x63, &[]);
        assert_eq!(guest_of(hw.resumed().0.pc), 1);
        hw.trap(&mut inst, 0x61, &[]); // IRQ_DISABLE, then never again
        let (ctx, imask) = hw.resumed();
        assert_eq!(guest_of(ctx.pc), 1);
        assert_eq!(imask, want, "separation {separation}");
        assert!(imask >= cfg.hypervisor_level || separation);
    }
}

/// The machine descriptions use a 10 ms slice and a 1 ms RTOS period.
/// Every RTOS tick switches the core away from the GPOS guest that runs;
/// the slice must run on meanwhile and expire. (Once a bug: the switch
/// restarted it, so the other GPOS guest never ran.)
#[test]
fn an_rtos_tick_shorter_than_the_slice_does_not_starve_an_equal_priority_vcpu() {
    let cfg = machine(Policy::None, 6_000_000); // 10 ms
    let o = run(cfg, 50); // 50 ms
    let ran = |g: u8| o.runs.iter().filter(|r| r.0 == g).map(|r| r.2 - r.1).sum::<u64>();
    assert!(ran(1) > 0);
    assert!(ran(2) > 0, "in 50 ms (five 10 ms slices) the second GPOS guest never ran; the first ran {} cycles", ran(1));
}
