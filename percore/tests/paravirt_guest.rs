//! What a paravirtualized Linux needs of an instance beyond the ABI our own
//! guests use: its level read from SR.IMASK (it masks with `ldc`, not with
//! hypercalls), the doorbell that hands it a virtual interrupt the moment
//! it unmasks, a TLB that never shows one vCPU another's entries, and user
//! programs that cannot call the hypervisor. Exact checks against a fake
//! core.

mod common;

use common::*;
use spumone_kernel::guest::{GuestSpec, Partition};
use spumone_kernel::hypercall::sr;
use spumone_percore::config::Policy;
use spumone_percore::hw::{timer_intevt, DOORBELL_INTEVT};
use spumone_percore::instance::Instance;

fn linux_like(vcpus: u8) -> GuestSpec {
    GuestSpec { sr_imask: true, mmu: true, direct_exceptions: true, ..gpos(vcpus) }
}

/// The running guest writes SR.IMASK itself (`ldc rN, sr`).
fn guest_sets_imask(hw: &mut FakeCore, level: u32) {
    let Some(Leave::Resumed { ctx, .. }) = hw.left.as_mut() else { panic!("nothing runs") };
    ctx.sr = ctx.sr & !sr::IMASK | level << sr::IMASK_SHIFT;
}

/// A one-vCPU Linux-like guest with its vector table and a 1 ms tick,
/// that has just disabled interrupts itself (local_irq_disable: SR.IMASK
/// 7, no hypercall); and the tick's deadline.
fn ticking_with_interrupts_disabled() -> (FakeCore, Instance, u64) {
    let mut hw = FakeCore::new(0, &shared());
    let mut inst = Instance::boot_with(&mut hw, config(&[linux_like(1)], Policy::None), &[]);
    hw.trap(&mut inst, 0x60, &[GP_VBR]);
    hw.trap(&mut inst, 0x6b, &[1000, 0]);
    let deadline = hw.timer.expect("armed");
    guest_sets_imask(&mut hw, 7);
    (hw, inst, deadline)
}

#[test]
fn a_user_program_trapping_in_the_hypercall_range_reaches_its_own_kernel() {
    let mem = shared();
    let mut hw = FakeCore::new(0, &mem);
    let mut inst = Instance::boot_with(&mut hw, config(&[gpos(1)], Policy::None), &[]);
    hw.trap(&mut inst, 0x60, &[GP_VBR]);
    let Some(Leave::Resumed { ctx, .. }) = hw.left.as_mut() else { panic!() };
    ctx.sr &= !sr::MD; // now in user mode
    let user_pc = ctx.pc;
    let after = hw.trap(&mut inst, 0x6e, &[7]); // EXIT, from user mode
    assert_eq!(after.pc, GP_VBR + 0x100, "the guest's general exception vector");
    assert_eq!((after.expevt, after.tra), (0x160, 0x6e << 2));
    assert_eq!(after.spc, user_pc + 2);
    assert_eq!(after.ssr & sr::MD, 0);
    assert_eq!(inst.stats.hypercalls, 1, "only SET_VECTOR was a hypercall");
    assert_eq!(inst.stats.forwarded_exceptions, 1);
    assert_eq!(hw.powered_off, None, "the guest did not exit");
}

#[test]
fn a_tick_masked_by_sr_imask_waits_in_the_doorbell_and_enters_when_unmasked() {
    let (mut hw, mut inst, deadline) = ticking_with_interrupts_disabled();
    let pc = hw.resumed().0.pc;
    hw.now = deadline;
    hw.interrupt(&mut inst, timer_intevt(0));
    let (ctx, imask) = hw.resumed();
    assert_eq!(ctx.pc, pc, "masked: the guest goes on where it was");
    assert_eq!((ctx.virtual_imask, imask), (7, 7), "its level is its SR.IMASK");
    assert_eq!(hw.doorbell, 5, "the doorbell holds the timer's level");
    // local_irq_enable: the hardware takes the doorbell at once.
    guest_sets_imask(&mut hw, 0);
    hw.interrupt(&mut inst, DOORBELL_INTEVT);
    let (ctx, imask) = hw.resumed();
    assert_eq!((ctx.pc, ctx.intevt, ctx.spc), (GP_VBR + 0x600, 0x400, pc));
    assert_eq!(ctx.ssr & sr::IMASK, 0, "SSR has the level it unmasked to");
    assert_eq!(imask, 5, "the handler runs at the tick's level");
    assert_eq!(hw.doorbell, 0);
    assert_eq!((inst.stats.doorbells, inst.stats.injections), (1, 1));
}

/// A tick the doorbell's quick path delivers leaves the timer armed for
/// the next one, as a full pass that injects it does. (It used not to be:
/// a pending tick arms nothing, and the quick path did not arm the next
/// after delivering it, so Linux alone on four vCPUs, whose entries are
/// nearly all quick ones while it is busy, went without its tick for up to
/// 65 ms at a time, docs/linux-guest.md.)
#[test]
fn a_tick_delivered_by_the_doorbell_arms_the_next_one() {
    let (mut hw, mut inst, deadline) = ticking_with_interrupts_disabled();
    hw.now = deadline;
    hw.interrupt(&mut inst, timer_intevt(0));
    assert_eq!(hw.timer, None, "a pending tick arms nothing");
    guest_sets_imask(&mut hw, 0);
    hw.now = deadline + 1_000;
    hw.interrupt(&mut inst, DOORBELL_INTEVT);
    assert_eq!(hw.resumed().0.intevt, 0x400, "delivered by the quick path");
    assert_eq!(inst.stats.doorbells, 1);
    assert_eq!(hw.timer, Some(deadline + 600_000), "the next tick, 1 ms after the first");
    hw.check_quick_calls(&inst);
    // Linux's handler returns (`rte`: SR from SSR, level 0), disables
    // interrupts again, and the next tick comes at its time: held, then
    // delivered by the doorbell, and the one after it is armed in turn.
    let Some(Leave::Resumed { ctx, .. }) = hw.left.as_mut() else { panic!("nothing runs") };
    (ctx.pc, ctx.sr) = (ctx.spc, ctx.ssr);
    guest_sets_imask(&mut hw, 7);
    hw.now = deadline + 600_000;
    hw.interrupt(&mut inst, timer_intevt(0));
    assert_eq!((hw.timer, hw.doorbell), (None, 5));
    guest_sets_imask(&mut hw, 0);
    hw.interrupt(&mut inst, DOORBELL_INTEVT);
    assert_eq!(hw.resumed().0.intevt, 0x400);
    assert_eq!(hw.timer, Some(deadline + 1_200_000));
    assert_eq!(inst.stats.injections, 2);
}

/// While a vCPU that masks with SR.IMASK runs, its core takes the IPI ICI
/// at the guest's IPI level (the mailbox ICI stays at the hypervisor's):
/// an IPI sent while it has interrupts masked waits in the INTC until it
/// unmasks, and one entry delivers it, not an entry that can only hold it
/// and a doorbell after. Not beside a higher-priority guest that has IPIs
/// (they must not wait behind its mask), nor for a guest that masks by
/// hypercall; both closed while a single-vCPU RTOS runs.
#[test]
fn the_ipi_ici_comes_at_the_ipi_level_of_a_vcpu_that_masks_with_sr_imask() {
    let mem = shared();
    let mut hw = FakeCore::new(0, &mem);
    let mut inst = Instance::boot_with(&mut hw, config(&[rtos(), linux_like(2)], Policy::None), &[]);
    assert_eq!((hw.ici_level, hw.ipi_ici_level), (0, 0), "the RTOS runs");
    hw.trap(&mut inst, 0x60, &[RT_VBR]);
    hw.trap(&mut inst, 0x62, &[0]);
    hw.trap(&mut inst, 0x6b, &[1000, 0]);
    hw.trap(&mut inst, 0x63, &[]);
    assert_eq!(hw.resumed().0.pc, GP_ENTRY, "Linux's vCPU 0");
    assert_eq!((hw.ici_level, hw.ipi_ici_level), (15, 4), "at its IPI level");
    // The RTOS's tick takes the core: closed again; its idle: reopened.
    hw.timer_entries_before(&mut inst, hw.now + 600_001);
    assert_eq!(hw.resumed().0.pc, RT_VBR + 0x600);
    assert_eq!((hw.ici_level, hw.ipi_ici_level), (0, 0));
    hw.return_from_interrupt(&mut inst);
    hw.trap(&mut inst, 0x63, &[]);
    assert_eq!(hw.resumed().0.pc, GP_ENTRY, "Linux again");
    assert_eq!((hw.ici_level, hw.ipi_ici_level), (15, 4));

    // A guest that masks by hypercall: the hypervisor's level.
    let mut hw = FakeCore::new(0, &shared());
    let _inst = Instance::boot_with(&mut hw, config(&[gpos(2)], Policy::None), &[]);
    assert_eq!((hw.ici_level, hw.ipi_ici_level), (15, 15));

    // Below a resident guest with IPIs and a higher priority (idle now):
    // the hypervisor's level, so that an IPI for it is taken at once.
    let (hw, _inst) = linux_like_below_an_idle_higher_guest_with_ipis();
    assert_eq!((hw.ici_level, hw.ipi_ici_level), (15, 15));
}

/// Core 0 of a higher-priority guest of two vCPUs that masks by hypercall
/// and a lower Linux-like one, both with a vCPU here: the higher one has
/// set its vector table and idles, the lower one runs.
fn linux_like_below_an_idle_higher_guest_with_ipis() -> (FakeCore, Instance) {
    let mut hw = FakeCore::new(0, &shared());
    let high = GuestSpec { priority: 3, home: [0, 1, 0, 0], ..gpos(2) };
    let low = GuestSpec { priority: 2, partition: Partition { base: GP_BASE + 0x100_0000, size: 0x100_0000 }, ..linux_like(2) };
    let mut inst = Instance::boot_with(&mut hw, config(&[high, low], Policy::None), &[]);
    hw.trap(&mut inst, 0x60, &[GP_VBR]);
    hw.trap(&mut inst, 0x63, &[]);
    assert_eq!(hw.resumed().0.pc, GP_ENTRY, "the lower guest runs while the higher one idles");
    (hw, inst)
}

/// Where the IPI ICI comes at the running vCPU's IPI level, the entry path
/// may deliver it without the instance (`Instance::quick_ipi_ici`, the board's
/// entry stub does): it says the level and the vCPU's IPI word. Not while
/// the RTOS runs, nor where another vCPU with IPIs is resident (the ICI may
/// be for it), nor for a guest that masks by hypercall, nor beside a
/// higher-priority guest with IPIs, nor while trap-based migration watches
/// the vCPU. (`check_quick_calls`, after every entry of every test, holds
/// what was published to what the instance works out afresh.)
#[test]
fn the_ipi_ici_may_be_delivered_without_the_instance_only_where_it_can_be_for_the_running_vcpu_alone() {
    use spumone_migration::layout::ipi_offset;
    use spumone_percore::instance::QuickIpiIci;
    let ipi_ici = |hw: &FakeCore, inst: &Instance| hw.quick_calls.and(inst.quick_ipi_ici());
    let mut hw = FakeCore::new(0, &shared());
    let mut inst = Instance::boot_with(&mut hw, config(&[rtos(), linux_like(2)], Policy::None), &[]);
    hw.trap(&mut inst, 0x60, &[RT_VBR]);
    assert_eq!(ipi_ici(&hw, &inst), None, "the RTOS runs");
    hw.trap(&mut inst, 0x62, &[0]);
    hw.trap(&mut inst, 0x6b, &[1000, 0]);
    hw.trap(&mut inst, 0x63, &[]);
    assert_eq!(hw.resumed().0.pc, GP_ENTRY, "Linux's vCPU 0");
    let word = ipi_offset(2, 1, 0).unwrap();
    assert_eq!(ipi_ici(&hw, &inst), Some(QuickIpiIci { level: 4, ipi_word: word, guest: 1, vcpu: 0 }));
    hw.check_quick_calls(&inst);

    // Trap-based migration watches a GPOS vCPU beside the RTOS.
    let mut hw = FakeCore::new(0, &shared());
    let mut inst = Instance::boot_with(&mut hw, config(&[rtos(), linux_like(2)], Policy::TrapMigration), &[]);
    hw.trap(&mut inst, 0x60, &[RT_VBR]);
    hw.trap(&mut inst, 0x63, &[]);
    assert_eq!(hw.resumed().0.pc, GP_ENTRY);
    assert_eq!(ipi_ici(&hw, &inst), None, "trap-based migration");

    // Two vCPUs of one guest on the core: the ICI may be for either.
    let mut hw = FakeCore::new(0, &shared());
    let two_here = GuestSpec { home: [0, 0, 0, 0], ..linux_like(2) };
    let mut inst = Instance::boot_with(&mut hw, config(&[two_here], Policy::None), &[(0, 1, GP_ENTRY + 0x100)]);
    hw.trap(&mut inst, 0x60, &[GP_VBR]);
    assert_eq!(hw.resumed().0.pc, GP_ENTRY + 2);
    assert_eq!(ipi_ici(&hw, &inst), None, "another vCPU with IPIs here");

    // One vCPU: no IPIs at all.
    let (hw, inst, _) = ticking_with_interrupts_disabled();
    assert_eq!(ipi_ici(&hw, &inst), None, "a guest of one vCPU");

    // A guest that masks by hypercall (its ICI comes at the hypervisor's level).
    let mut hw = FakeCore::new(0, &shared());
    let mut inst = Instance::boot_with(&mut hw, config(&[gpos(2)], Policy::None), &[]);
    hw.trap(&mut inst, 0x60, &[GP_VBR]);
    assert!(hw.quick_calls.is_some());
    assert_eq!(ipi_ici(&hw, &inst), None, "masks by hypercall");

    // Below a resident higher-priority guest with IPIs.
    let (hw, inst) = linux_like_below_an_idle_higher_guest_with_ipis();
    assert!(hw.quick_calls.is_some());
    assert_eq!(ipi_ici(&hw, &inst), None, "a higher guest with IPIs is resident");
}

/// `IDLE` may be answered by the entry path sleeping in place
/// (`Instance::quick_idle`, the board's entry stub does) only where the
/// running vCPU is alone on its core and its IPI ICI is the entry path's:
/// not beside the RTOS (the instance must run the RTOS when it wakes, and
/// sees Linux's vCPU idle, not running in a critical section), nor beside
/// another vCPU of its own guest, nor for a guest whose ICI the entry path
/// may not deliver; and never without a quick window.
#[test]
fn idle_is_slept_in_place_only_where_nothing_else_here_could_run() {
    let mut hw = FakeCore::new(0, &shared());
    let mut inst = Instance::boot_with(&mut hw, config(&[linux_like(2)], Policy::None), &[]);
    hw.trap(&mut inst, 0x60, &[GP_VBR]);
    assert!(hw.quick_calls.is_some() && inst.quick_ipi_ici().is_some());
    assert!(inst.quick_idle(), "Linux's vCPU alone here");
    // Not while something is due: the same window as the IPI ICI's.
    hw.trap(&mut inst, 0x6b, &[1000, 0]);
    assert!(inst.quick_idle() && hw.quick_calls.is_some_and(|q| q.until == hw.timer.expect("armed")));

    // Beside the RTOS, once it waits for its timer: the IPI ICI is the
    // entry path's, and IDLE too unless a policy watches Linux's vCPU (an
    // idle one must not hold the RTOS back under delayed preemption; the
    // migration policies watch it too, `Lhp::watches_the_gpos`).
    for policy in [Policy::None, Policy::DelayedPreemption] {
        let mut hw = FakeCore::new(0, &shared());
        let mut inst = Instance::boot_with(&mut hw, config(&[rtos(), linux_like(2)], policy), &[]);
        hw.trap(&mut inst, 0x60, &[RT_VBR]);
        assert!(!inst.quick_idle(), "the RTOS runs");
        hw.trap(&mut inst, 0x62, &[0]);
        hw.trap(&mut inst, 0x6b, &[1000, 0]);
        hw.trap(&mut inst, 0x63, &[]);
        assert_eq!(hw.resumed().0.pc, GP_ENTRY, "Linux's vCPU 0");
        assert!(inst.quick_ipi_ici().is_some(), "{policy:?}: the IPI ICI");
        assert_eq!(inst.quick_idle(), policy == Policy::None, "{policy:?}: IDLE");
    }

    // Two vCPUs of one guest here, a guest masking by hypercall: no IPI
    // ICI window, so no quick IDLE either.
    let mut hw = FakeCore::new(0, &shared());
    let two_here = GuestSpec { home: [0, 0, 0, 0], ..linux_like(2) };
    let mut inst = Instance::boot_with(&mut hw, config(&[two_here], Policy::None), &[(0, 1, GP_ENTRY + 0x100)]);
    hw.trap(&mut inst, 0x60, &[GP_VBR]);
    assert!(!inst.quick_idle(), "another vCPU here");
    let mut hw = FakeCore::new(0, &shared());
    let mut inst = Instance::boot_with(&mut hw, config(&[gpos(2)], Policy::None), &[]);
    hw.trap(&mut inst, 0x60, &[GP_VBR]);
    assert!(hw.quick_calls.is_some());
    assert!(!inst.quick_idle(), "masks by hypercall");
}

#[test]
fn a_guest_that_masks_with_hypercalls_never_rings_the_doorbell() {
    let mem = shared();
    let mut hw = FakeCore::new(0, &mem);
    let mut inst = Instance::boot_with(&mut hw, config(&[gpos(1)], Policy::None), &[]);
    hw.trap(&mut inst, 0x60, &[GP_VBR]);
    hw.trap(&mut inst, 0x6b, &[1000, 0]);
    let deadline = hw.timer.expect("armed");
    // Still at its boot level 15 (no IRQ_RESTORE yet): the tick is held
    // by the hypervisor, and IRQ_RESTORE is how the guest lets it in.
    hw.now = deadline;
    hw.interrupt(&mut inst, timer_intevt(0));
    assert_eq!(hw.doorbell, 0);
    let ctx = hw.trap(&mut inst, 0x62, &[0]);
    assert_eq!((ctx.pc, ctx.intevt), (GP_VBR + 0x600, 0x400));
    assert_eq!(inst.stats.doorbells, 0);
}

#[test]
fn the_tlb_is_flushed_when_another_mmu_vcpu_takes_the_core_and_not_for_the_rtos() {
    let mem = shared();
    let mut hw = FakeCore::new(0, &mem);
    let two_on_core0 = GuestSpec { home: [0, 0, 0, 0], ..linux_like(2) };
    let entry1 = GP_ENTRY + 0x100;
    let mut inst = Instance::boot_with(&mut hw, config(&[rtos(), two_on_core0], Policy::None), &[(1, 1, entry1)]);
    // The RTOS runs first, sets a tick and idles.
    hw.trap(&mut inst, 0x60, &[RT_VBR]);
    hw.trap(&mut inst, 0x62, &[0]);
    hw.trap(&mut inst, 0x6b, &[1000, 1]);
    assert!(hw.timer.is_some(), "armed");
    assert_eq!(hw.tlb_flushes, 0, "the RTOS does not use the MMU");
    hw.trap(&mut inst, 0x63, &[]);
    assert_eq!((hw.resumed().0.pc, hw.tlb_flushes), (GP_ENTRY, 1), "Linux's vCPU 0");
    // vCPU 0 yields to vCPU 1: a flush; and back: another.
    hw.trap(&mut inst, 0x64, &[]);
    assert_eq!((hw.resumed().0.pc, hw.tlb_flushes), (entry1, 2));
    hw.trap(&mut inst, 0x64, &[]);
    assert_eq!((hw.resumed().0.pc, hw.tlb_flushes), (GP_ENTRY + 2, 3));
    assert_eq!(inst.stats.tlb_flushes, 3);
}

#[test]
fn a_vcpu_that_the_rtos_preempted_comes_back_to_its_tlb_unflushed() {
    let mem = shared();
    let mut hw = FakeCore::new(0, &mem);
    let mut inst = Instance::boot_with(&mut hw, config(&[rtos(), linux_like(1)], Policy::None), &[]);
    hw.trap(&mut inst, 0x60, &[RT_VBR]);
    hw.trap(&mut inst, 0x62, &[0]);
    hw.trap(&mut inst, 0x6b, &[1000, 1]);
    let tick = hw.timer.expect("armed");
    hw.trap(&mut inst, 0x63, &[]);
    assert_eq!((hw.resumed().0.pc, hw.tlb_flushes), (GP_ENTRY, 1));
    hw.now = tick;
    hw.interrupt(&mut inst, timer_intevt(0));
    assert_eq!(hw.resumed().0.pc, RT_VBR + 0x600);
    hw.trap(&mut inst, 0x63, &[]);
    assert_eq!(hw.resumed().0.pc, GP_ENTRY);
    assert_eq!((hw.tlb_flushes, inst.stats.tlb_flushes), (1, 1));
}

#[test]
fn exceptions_go_straight_to_a_direct_guest_unless_a_policy_must_see_its_kernel_entries() {
    for (policy, with_rtos, direct) in [
        (Policy::None, true, true),
        (Policy::OnDemandMigration, false, true),
        // Trap-based migration acts on kernel entries on a core the RTOS
        // shares: there the hypervisor takes them.
        (Policy::TrapMigration, true, false),
        (Policy::TrapMigration, false, true),
    ] {
        let mem = shared();
        let mut hw = FakeCore::new(0, &mem);
        let guests = if with_rtos { vec![rtos(), linux_like(1)] } else { vec![linux_like(1)] };
        let mut inst = Instance::boot_with(&mut hw, config(&guests, policy), &[]);
        if with_rtos {
            hw.trap(&mut inst, 0x60, &[RT_VBR]);
            hw.trap(&mut inst, 0x63, &[]);
        }
        assert_eq!(hw.direct_vbr, 0, "{policy:?}: no vector table yet");
        hw.trap(&mut inst, 0x60, &[GP_VBR]);
        assert_eq!(hw.direct_vbr, if direct { GP_VBR } else { 0 }, "{policy:?}, RTOS {with_rtos}");
    }
    // A guest without the flag keeps every exception going through.
    let mem = shared();
    let mut hw = FakeCore::new(0, &mem);
    let mut inst = Instance::boot_with(&mut hw, config(&[gpos(1)], Policy::None), &[]);
    hw.trap(&mut inst, 0x60, &[GP_VBR]);
    assert_eq!(hw.direct_vbr, 0);
}

/// Delayed preemption with a count the guest does not report: the instance
/// reads Linux's `thread_info.preempt_count` (bank-1 R7 + 16) when the RTOS
/// wants the core, and while it holds the RTOS back looks again every
/// `PREEMPT_POLL_CYCLES`; the RTOS runs at the first look that finds 0.
/// One core under delayed preemption: the RTOS has set its 1 ms tick and
/// idles; a Linux-like GPOS whose count is in its thread_info runs, its
/// vector table registered.
fn delayed_preemption_with_linux_running() -> (FakeCore, Instance) {
    let mem = shared();
    let mut hw = FakeCore::new(0, &mem);
    let gp = GuestSpec { thread_info_preempt_count: true, ..linux_like(1) };
    let mut inst = Instance::boot_with(&mut hw, config(&[rtos(), gp], Policy::DelayedPreemption), &[]);
    hw.trap(&mut inst, 0x60, &[RT_VBR]);
    hw.trap(&mut inst, 0x6b, &[1000, 0]);
    hw.trap(&mut inst, 0x62, &[0]);
    assert_eq!(hw.trap(&mut inst, 0x63, &[]).pc, GP_ENTRY, "the RTOS idles, the GPOS runs");
    hw.trap(&mut inst, 0x60, &[GP_VBR]);
    (hw, inst)
}

#[test]
fn delayed_preemption_reads_the_preempt_count_from_the_guests_thread_info() {
    use spumone_kernel::guest::PREEMPT_POLL_CYCLES;
    let (mut hw, mut inst) = delayed_preemption_with_linux_running();
    // Its kernel holds a lock: thread_info (in bank-1 R7) says count 1.
    let thread_info = 0x8000_0000 | (GP_BASE + 0x2000);
    hw.poke_guest(GP_BASE + 0x2000 + 16, 1);
    let in_kernel = |hw: &mut FakeCore, ti: u32| {
        let Some(Leave::Resumed { ctx, .. }) = hw.left.as_mut() else { panic!("nothing runs") };
        ctx.bank1[7] = ti;
        ctx.pc
    };
    let pc = in_kernel(&mut hw, thread_info);
    hw.guest_reads = 0;
    let tick = hw.timer.unwrap();
    hw.now = tick;
    hw.interrupt(&mut inst, timer_intevt(0));
    assert_eq!(hw.resumed().0.pc, pc, "held: the GPOS keeps the core");
    assert_eq!((inst.stats.delayed_preemptions, hw.guest_reads), (1, 4));
    // The instance looks again 10 us after the entry's work (what the
    // fake core charges for an entry, 1,200 cycles at most here).
    let looks_again = |hw: &FakeCore, entered: u64| {
        let t = hw.timer.expect("a timer for the next look");
        assert!(t >= entered + PREEMPT_POLL_CYCLES && t < entered + PREEMPT_POLL_CYCLES + 1200, "{t} after {entered}");
        t
    };
    let poll = looks_again(&hw, tick);
    // Still 1 at the next look; 0 at the one after: the RTOS runs.
    hw.now = poll;
    hw.interrupt(&mut inst, timer_intevt(0));
    assert_eq!(hw.resumed().0.pc, pc);
    let poll = looks_again(&hw, poll);
    hw.poke_guest(GP_BASE + 0x2000 + 16, 0);
    hw.now = poll;
    hw.interrupt(&mut inst, timer_intevt(0));
    assert_eq!(hw.resumed().0.pc, RT_VBR + 0x600, "count 0: the RTOS takes its tick");
    assert_eq!(inst.stats.delayed_preemptions, 1, "one wait, however many looks");
}

/// What the count is read through cannot hold the RTOS: in user mode no
/// kernel lock is held, and a bank-1 R7 outside the guest's partition (or
/// misaligned) reads as 0 without touching memory.
#[test]
fn a_preempt_count_pointer_outside_the_partition_or_user_mode_does_not_hold_the_rtos() {
    for (what, ti, user) in [
        ("user mode", 0x8000_0000 | (GP_BASE + 0x2000), true),
        ("outside", 0x8000_0000 | (RT_BASE + 0x2000), false),
        ("misaligned", 0x8000_0000 | (GP_BASE + 0x2002), false),
        ("P0", GP_BASE + 0x2000, false),
    ] {
        let (mut hw, mut inst) = delayed_preemption_with_linux_running();
        for at in [GP_BASE + 0x2000 + 16, RT_BASE + 0x2000 + 16, GP_BASE + 0x2002 + 16] {
            hw.poke_guest(at, 1);
        }
        let Some(Leave::Resumed { ctx, .. }) = hw.left.as_mut() else { panic!() };
        ctx.bank1[7] = ti;
        if user {
            ctx.sr &= !sr::MD;
        }
        hw.guest_reads = 0;
        hw.now = hw.timer.unwrap();
        hw.interrupt(&mut inst, timer_intevt(0));
        assert_eq!(hw.resumed().0.pc, RT_VBR + 0x600, "{what}: the RTOS runs at once");
        assert_eq!((inst.stats.delayed_preemptions, hw.guest_reads), (0, 0), "{what}");
    }
}

/// Trap-based migration without `KERNEL_EXIT` (Linux's series does not
/// call it): a vCPU that left for a kernel entry goes home at the first
/// interrupt that finds it back in user mode. An exception from user mode
/// (a new kernel entry) does not send it.
#[test]
fn trap_based_migration_sends_a_vcpu_home_when_an_interrupt_finds_it_in_user_mode() {
    use spumone_percore::hw::ICI_INTEVT;
    let (_mem, mut hw0, mut core0, mut hw1, mut core1) = two_cores(config(&[rtos(), linux_like(1)], Policy::TrapMigration));
    hw0.trap(&mut core0, 0x60, &[RT_VBR]);
    hw0.trap(&mut core0, 0x6b, &[1000, 0]);
    hw0.trap(&mut core0, 0x62, &[0]);
    assert_eq!(hw0.trap(&mut core0, 0x63, &[]).pc, GP_ENTRY, "the RTOS idles, the GPOS runs on core 0");
    hw0.trap(&mut core0, 0x60, &[GP_VBR]);
    // A user program makes a system call: a kernel entry beside the RTOS.
    let Some(Leave::Resumed { ctx, .. }) = hw0.left.as_mut() else { panic!() };
    ctx.sr &= !sr::MD;
    hw0.trap(&mut core0, 0x10, &[]);
    assert_eq!(core0.stats.departures_out, 1, "the vCPU left to run its kernel elsewhere");
    hw1.interrupt(&mut core1, ICI_INTEVT);
    let (handler, _) = hw1.resumed();
    assert_eq!((handler.pc, handler.sr & sr::MD), (GP_VBR + 0x100, sr::MD), "its handler runs on core 1");

    // Still in its kernel: an interrupt does not send it back.
    hw1.interrupt(&mut core1, ICI_INTEVT);
    assert_eq!(core1.stats.returns_out, 0);
    // Its user program makes another system call on core 1: a kernel
    // entry, handled there.
    let Some(Leave::Resumed { ctx, .. }) = hw1.left.as_mut() else { panic!() };
    ctx.sr &= !sr::MD;
    ctx.pc = 0x0040_0000;
    hw1.trap(&mut core1, 0x10, &[]);
    assert_eq!((hw1.resumed().0.pc, core1.stats.returns_out), (GP_VBR + 0x100, 0));
    // Back in user mode, interrupted: it has left its kernel; home it goes.
    let Some(Leave::Resumed { ctx, .. }) = hw1.left.as_mut() else { panic!() };
    ctx.sr &= !sr::MD;
    ctx.pc = 0x0040_0100;
    hw1.icis_sent.clear();
    hw1.interrupt(&mut core1, ICI_INTEVT);
    assert_eq!((core1.stats.returns_out, hw1.icis_sent.as_slice()), (1, &[0][..]));
    assert_eq!(hw1.left, Some(Leave::Idle));
    hw0.interrupt(&mut core0, ICI_INTEVT);
    let (home, _) = hw0.resumed();
    assert_eq!((home.pc, home.sr & sr::MD, core0.stats.returns_in), (0x0040_0100, 0, 1), "in user mode at home");
}

/// Two interrupts held behind SR.IMASK: the doorbell hands over the higher
/// (the tick, level 5) and stays raised at the other's level (the IPI, 4),
/// which enters once the tick's handler gives its level back. The doorbell
/// is delivered without a pass through the scheduler; what the guest sees
/// is what that pass gave it.
#[test]
fn the_doorbell_delivers_the_highest_held_interrupt_and_stays_up_for_the_next() {
    let (mut hw, mut inst, deadline) = ticking_with_interrupts_disabled();
    hw.trap(&mut inst, 0x67, &[0, 1]); // an IPI to itself, held
    assert_eq!(hw.doorbell, 4);
    hw.now = deadline;
    hw.interrupt(&mut inst, timer_intevt(0));
    assert_eq!(hw.doorbell, 5, "the tick's level now");
    let pc = hw.resumed().0.pc;
    guest_sets_imask(&mut hw, 0);
    let switches = inst.stats.switches;
    hw.interrupt(&mut inst, DOORBELL_INTEVT);
    let (ctx, imask) = hw.resumed();
    assert_eq!((ctx.pc, ctx.intevt, ctx.spc, imask), (GP_VBR + 0x600, 0x400, pc, 5));
    assert_eq!(hw.doorbell, 4, "still up for the IPI");
    assert_eq!((inst.stats.doorbells, inst.stats.switches), (1, switches));
    let nested = hw.return_from_interrupt(&mut inst);
    assert_eq!((nested.pc, nested.intevt), (GP_VBR + 0x600, 0xf20), "the IPI enters as the tick's handler unmasks");
    assert_eq!(hw.doorbell, 0);
    assert_eq!(inst.stats.injections, 2);
}

#[test]
fn time_now_may_be_answered_without_the_instance_at_the_levels_and_times_it_would_answer_at_once() {
    use spumone_migration::layout::{ipi_offset, location_offset};
    use spumone_percore::instance::{QuickCalls, QuickSendIpi};
    // Guest 0 of two cores, one vCPU: no IPI is ever sent by the stub.
    let send_ipi =
        QuickSendIpi { routes: 0, locations: location_offset(2, 0, 0).unwrap(), ipi_words: ipi_offset(2, 0, 0).unwrap(), cores: 2 };
    // A guest that masks with SR.IMASK: at any level up to its class's
    // ceiling (7), until the core's timer is due (its tick).
    let (hw, inst, deadline) = ticking_with_interrupts_disabled();
    // SEND_IPI at the same levels without the clock: 7 is below the
    // hypervisor's 15, and no mail waits.
    let quick = QuickCalls { imasks: 0x00ff, as_resumed: false, from: 0, until: deadline, send_ipi, unclocked_send_ipi: 0x00ff };
    assert_eq!(hw.quick_calls, Some(quick));
    assert_eq!(inst.quick_calls(), hw.quick_calls);

    // Without IPL separation it may mask up to 15, the hypervisor's own
    // level: at 15 its SEND_IPI needs the clock (a due timer would wait for
    // it to unmask), below it not.
    let mut hw = FakeCore::new(0, &shared());
    let mut cfg = config(&[linux_like(1)], Policy::None);
    cfg.ipl_separation = false;
    let mut inst = Instance::boot_with(&mut hw, cfg, &[]);
    hw.trap(&mut inst, 0x60, &[GP_VBR]);
    let q = hw.quick_calls.expect("a window");
    assert_eq!((q.imasks, q.unclocked_send_ipi), (0xffff, 0x7fff));

    // One that masks by hypercall: only at the level its last exit gave
    // it, whatever IRQ_DISABLE and IRQ_RESTORE make that.
    let mut hw = FakeCore::new(0, &shared());
    let mut inst = Instance::boot_with(&mut hw, config(&[rtos()], Policy::None), &[]);
    hw.trap(&mut inst, 0x60, &[RT_VBR]);
    let as_resumed = Some(QuickCalls { imasks: 0, as_resumed: true, from: 0, until: u64::MAX, send_ipi, unclocked_send_ipi: 0 });
    assert_eq!(hw.quick_calls, as_resumed, "no timer armed");
    hw.trap(&mut inst, 0x61, &[]);
    assert_eq!(hw.resumed().1, 15, "IRQ_DISABLE: resumed at level 15");
    assert_eq!(hw.quick_calls, as_resumed);

    // Nothing runs: nothing may be answered.
    hw.trap(&mut inst, 0x6e, &[0]);
    assert_eq!(hw.quick_calls, None, "the guest exited");
}
