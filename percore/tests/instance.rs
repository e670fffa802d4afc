//! The instance against a fake core: exact checks of hypercalls, virtual
//! interrupt delivery, IPL separation, scheduling and migration, with no
//! simulator in the way. Shared memory is one `Vec` behind every fake core,
//! so two instances really exchange bytes.

mod common;

use common::*;
use spumone_kernel::hypercall::sr;
use spumone_kernel::vcpu::VcpuContext;
use spumone_percore::config::Policy;
use spumone_percore::hw::{timer_intevt, TraceEvent, ICI_INTEVT, IPI_ICI_INTEVT};
use spumone_percore::instance::{reg, Instance};

#[test]
fn boot_starts_the_boot_vcpu_privileged_with_its_levels_masked() {
    let mem = shared();
    let mut hw = FakeCore::new(0, &mem);
    let _inst = Instance::boot_with(&mut hw, config(&[rtos()], Policy::None), &[]);
    let (ctx, imask) = hw.resumed();
    assert_eq!(ctx.pc, RT_ENTRY);
    assert_eq!(ctx.sr, sr::MD);
    assert_eq!(ctx.virtual_imask, 15);
    assert_eq!(imask, 15);
    // Core 1 has no vCPU of its own: it sleeps.
    let mut hw1 = FakeCore::new(1, &mem);
    let _inst1 = Instance::boot_with(&mut hw1, config(&[rtos()], Policy::None), &[]);
    assert_eq!(hw1.left, Some(Leave::Idle));
}

#[test]
fn bad_hypercall_arguments_return_error_codes_and_are_counted() {
    let mem = shared();
    let mut hw = FakeCore::new(0, &mem);
    let mut inst = Instance::boot_with(&mut hw, config(&[rtos()], Policy::None), &[]);
    let r0 = |c: &VcpuContext| reg(c, 0) as i32;
    assert_eq!(r0(&hw.trap(&mut inst, 0x60, &[0x9000_0000])), -3, "VBR outside the partition");
    assert_eq!(r0(&hw.trap(&mut inst, 0x60, &[RT_VBR + 2])), -3, "misaligned VBR");
    assert_eq!(r0(&hw.trap(&mut inst, 0x7a, &[])), -1, "undefined number");
    assert_eq!(r0(&hw.trap(&mut inst, 0x67, &[7, 0])), -2, "no vCPU 7");
    assert_eq!(r0(&hw.trap(&mut inst, 0x67, &[0, 8])), -6, "IPI message 8");
    assert_eq!(r0(&hw.trap(&mut inst, 0x62, &[16])), -4, "level 16");
    assert_eq!(r0(&hw.trap(&mut inst, 0x6a, &[RT_ENTRY, 257])), -6, "console write too long");
    assert_eq!(r0(&hw.trap(&mut inst, 0x6a, &[RT_ENTRY + 0xf_fff0, 32])), -3, "console write past the end");
    assert_eq!(r0(&hw.trap(&mut inst, 0x69, &[0, RT_ENTRY, 0])), -2, "vCPU 0 is started already");
    assert_eq!(inst.stats.hypercall_errors, [1, 2, 3, 1, 0, 2]);
    // The instance is unharmed: a good call works.
    assert_eq!(r0(&hw.trap(&mut inst, 0x60, &[RT_VBR])), 0);
    assert_eq!(r0(&hw.trap(&mut inst, 0x68, &[])), 0, "vCPU id");
    assert_eq!(r0(&hw.trap(&mut inst, 0x6a, &[RT_ENTRY, 4])), 4);
    assert_eq!(hw.console, [0x00, 0x01, 0x02, 0x03].map(|b: u8| b.wrapping_add((RT_BASE & 0xff) as u8)));
}

#[test]
fn hypercalls_return_past_the_trap_with_registers_kept() {
    let mem = shared();
    let mut hw = FakeCore::new(0, &mem);
    let mut inst = Instance::boot_with(&mut hw, config(&[rtos()], Policy::None), &[]);
    let (mut before, _) = hw.resumed();
    before.r8_15 = [8, 9, 10, 11, 12, 13, 14, 15];
    before.mach = 0x1234;
    hw.left = Some(Leave::Resumed { ctx: before, imask: 15 });
    let after = hw.trap(&mut inst, 0x68, &[]);
    assert_eq!(after.pc, RT_ENTRY + 2);
    assert_eq!(after.r8_15, before.r8_15);
    assert_eq!(after.mach, 0x1234);
    assert_eq!(after.sr, before.sr);
}

#[test]
fn virtual_timer_interrupt_enters_the_guest_vector_like_the_hardware() {
    let mem = shared();
    let mut hw = FakeCore::new(0, &mem);
    let mut inst = Instance::boot_with(&mut hw, config(&[rtos()], Policy::None), &[]);
    hw.trap(&mut inst, 0x60, &[RT_VBR]);
    hw.trap(&mut inst, 0x6b, &[1000, 0]); // 1 ms periodic
    let deadline = hw.timer.expect("the timer is armed");
    // Interrupts still masked (boot level 15): the tick waits.
    let unmasked = hw.trap(&mut inst, 0x62, &[0]);
    let pc_before = unmasked.pc;
    hw.now = deadline;
    hw.interrupt(&mut inst, timer_intevt(0) as u32);
    let (ctx, imask) = hw.resumed();
    assert_eq!(ctx.pc, RT_VBR + 0x600);
    assert_eq!(ctx.spc, pc_before);
    assert_eq!(ctx.intevt, 0x400);
    assert_eq!(ctx.sr & (sr::MD | sr::RB | sr::BL), sr::MD | sr::RB | sr::BL);
    assert_eq!(ctx.ssr & sr::BL, 0);
    // INTMU: the handler runs masked at the timer's level; SSR keeps the
    // level the interrupted code had, for the handler's IRQ_RESTORE.
    assert_eq!((ctx.virtual_imask, imask), (14, 14));
    assert_eq!(ctx.ssr & sr::IMASK, 0);
    // The next release is exactly one period later.
    assert_eq!(hw.timer, Some(deadline + 600_000));
}

#[test]
fn ipl_separation_lets_the_rtos_timer_through_a_gpos_with_interrupts_disabled() {
    for separation in [true, false] {
        let mem = shared();
        let mut hw = FakeCore::new(0, &mem);
        let mut cfg = config(&[gpos(1)], Policy::None);
        cfg.ipl_separation = separation;
        let mut inst = Instance::boot_with(&mut hw, cfg, &[]);
        hw.trap(&mut inst, 0x62, &[0]);
        let (_, imask) = hw.resumed();
        assert_eq!(imask, 0);
        hw.trap(&mut inst, 0x61, &[]); // IRQ_DISABLE
        let (ctx, imask) = hw.resumed();
        assert_eq!(ctx.virtual_imask, 15);
        assert_eq!(imask, if separation { 7 } else { 15 }, "separation {separation}");
    }
}

#[test]
fn on_demand_migration_moves_a_gpos_vcpu_mid_critical_section_and_back_unchanged() {
    let (_mem, mut hw0, mut core0, mut hw1, mut core1) = two_cores(config(&[rtos(), gpos(1)], Policy::OnDemandMigration));
    // The RTOS (priority 10) is runnable from boot, so the GPOS vCPU that
    // lives on core 0 starts out on core 1.
    // Core 1 was not ready when core 0 booted: the vCPU waited in core
    // 0's outbox, with a retry timer, and goes at core 0's next entry.
    assert_eq!(hw0.resumed().0.pc, RT_ENTRY);
    assert_eq!(core0.mailbox_stats().waited, 1);
    assert_eq!(hw0.timer, Some(hw0.now + 6_000));
    hw0.trap(&mut core0, 0x60, &[RT_VBR]);
    assert_eq!(core0.mailbox_stats().mailbox.sent, 1);
    assert_eq!(hw0.icis_sent, [1, 1], "a kick for the full ring, then one for the message");
    hw1.interrupt(&mut core1, ICI_INTEVT);
    assert_eq!(hw1.resumed().0.pc, GP_ENTRY);
    // The RTOS sets up a 1 ms tick and idles: the GPOS vCPU comes home.
    hw0.trap(&mut core0, 0x6b, &[1000, 0]);
    hw0.trap(&mut core0, 0x62, &[0]);
    hw0.trap(&mut core0, 0x63, &[]);
    assert_eq!(hw0.left, Some(Leave::Idle));
    hw1.interrupt(&mut core1, ICI_INTEVT);
    assert_eq!(hw1.left, Some(Leave::Idle));
    hw0.interrupt(&mut core0, ICI_INTEVT);
    let gp = hw0.resumed().0;
    assert_eq!(gp.pc, GP_ENTRY);
    hw0.icis_sent.clear();
    hw1.icis_sent.clear();
    // The GPOS takes a lock: interrupts off, preempt count 1, then works.
    hw0.trap(&mut core0, 0x61, &[]);
    let in_cs = hw0.trap(&mut core0, 0x66, &[1]);
    let mut busy = busy_context(in_cs.pc + 0x40);
    busy.virtual_imask = in_cs.virtual_imask;
    busy.preempt_count = 1;
    // INTEVT is the one register a guest does not write (an interrupt
    // would overwrite it): it still holds the code it was last given.
    busy.intevt = in_cs.intevt;
    hw0.left = Some(Leave::Resumed { ctx: busy, imask: 7 });

    // The RTOS tick: the GPOS vCPU leaves core 0 before the RTOS runs.
    let tick = vtimer(&core0, 0, 0);
    hw0.timer_entries_before(&mut core0, tick);
    // (Those entries raised core 1's ICI again: its acknowledgement of the
    // return lies unread, as this test never delivers that ICI.)
    hw0.icis_sent.clear();
    hw0.interrupt(&mut core0, timer_intevt(0));
    let (rt, _) = hw0.resumed();
    assert_eq!((rt.pc, rt.intevt), (RT_VBR + 0x600, 0x400), "the RTOS handles its tick");
    assert_eq!(hw0.icis_sent, [1]);
    assert_eq!(core0.stats.departures_out, 2);
    assert!(hw0.events.iter().any(|e| matches!(e, TraceEvent::MigrateOut { to: 1, departure: true, cycles: 14_940, .. })));

    // Core 1 takes the ICI and runs the vCPU exactly where it was.
    hw1.interrupt(&mut core1, ICI_INTEVT);
    let (arrived, imask) = hw1.resumed();
    assert_eq!(arrived, busy, "every register arrives unchanged");
    assert_eq!(imask, 7, "still in its critical section: GPOS levels masked, RTOS levels open");
    assert_eq!(core1.stats.departures_in, 2);

    // The RTOS idles: core 0 asks for its vCPU back; core 1 returns it.
    let mut rt_done = rt;
    rt_done.pc = RT_VBR + 0x700;
    rt_done.sr &= !sr::BL;
    hw0.left = Some(Leave::Resumed { ctx: rt_done, imask: 0 });
    hw0.trap(&mut core0, 0x63, &[]);
    assert_eq!(hw0.left, Some(Leave::Idle));
    assert_eq!(hw0.icis_sent, [1, 1]);
    hw1.interrupt(&mut core1, ICI_INTEVT);
    assert_eq!(hw1.left, Some(Leave::Idle), "core 1 has nothing left to run");
    assert_eq!(core1.stats.returns_out, 2);
    hw0.interrupt(&mut core0, ICI_INTEVT);
    let (home, imask) = hw0.resumed();
    assert_eq!(home, busy, "and back home unchanged");
    assert_eq!(imask, 7);
    assert_eq!((core0.stats.returns_in, core0.mailbox_stats().mailbox.rejected.total()), (2, 0));
}

#[test]
fn a_vcpu_sent_away_for_the_rtos_comes_home_when_the_rtos_exits() {
    let (_mem, mut hw0, mut core0, mut hw1, mut core1) = two_cores(config(&[rtos(), gpos(1)], Policy::OnDemandMigration));
    // As above: the GPOS vCPU starts out on core 1.
    hw0.trap(&mut core0, 0x60, &[RT_VBR]);
    hw1.interrupt(&mut core1, ICI_INTEVT);
    assert_eq!(hw1.resumed().0.pc, GP_ENTRY);
    // The RTOS exits: nothing will ever run on core 0 but the GPOS vCPU,
    // so core 0 asks for it back, as when the RTOS idles.
    hw0.trap(&mut core0, 0x6e, &[0]);
    assert_eq!(hw0.left, Some(Leave::Idle));
    hw1.interrupt(&mut core1, ICI_INTEVT);
    assert_eq!(hw1.left, Some(Leave::Idle), "core 1 sent it home");
    hw0.interrupt(&mut core0, ICI_INTEVT);
    assert_eq!(hw0.resumed().0.pc, GP_ENTRY, "running at home again");
    assert_eq!((core1.stats.returns_out, core0.stats.returns_in), (1, 1));
}

/// Virtual IPIs go where the location table says their target is, not to
/// its home: under on-demand migration the home core holds its ICIs back
/// while its RTOS runs, so an IPI routed through it would wait out the
/// RTOS's whole activation (Linux's cross-core cache flushes spin on
/// exactly such IPIs). The IPI itself is a bit in its target's IPI word,
/// not mail; the table is only a hint for where the ICI goes: a stale or
/// scribbled word leaves the bit for the core that holds the vCPU to find
/// at its next full pass.
#[test]
fn an_ipi_goes_straight_to_the_core_its_target_is_away_on() {
    use spumone_migration::layout::{ipi_offset, location_offset, location_word};
    let mut cfg = config(&[rtos(), gpos(3)], Policy::OnDemandMigration);
    cfg.cores = 3;
    let secondaries = [(1u8, 1u8, GP_ENTRY), (1, 2, GP_ENTRY)];
    let mem = shared();
    let (mut hw0, mut hw1, mut hw2) = (FakeCore::new(0, &mem), FakeCore::new(1, &mem), FakeCore::new(2, &mem));
    let mut core0 = Instance::boot_with(&mut hw0, cfg, &secondaries);
    let mut core1 = Instance::boot_with(&mut hw1, cfg, &secondaries);
    let mut core2 = Instance::boot_with(&mut hw2, cfg, &secondaries);
    let hint = location_offset(3, 1, 0).unwrap() as usize / 4;
    let word = ipi_offset(3, 1, 0).unwrap() as usize / 4;
    assert_eq!(mem.borrow()[hint], 0, "nothing is away yet");
    // The RTOS is runnable: GPOS vCPU 0 leaves core 0 for core 1.
    hw0.trap(&mut core0, 0x60, &[RT_VBR]);
    hw1.interrupt(&mut core1, ICI_INTEVT);
    assert_eq!(core1.stats.departures_in, 1);
    assert_eq!(mem.borrow()[hint], location_word(1), "core 1 published where vCPU 0 is");
    let (ctx, _) = hw1.resumed();
    assert_eq!((ctx.pc, reg(&ctx, 4)), (GP_ENTRY, 0), "the arrival runs first");
    hw1.trap(&mut core1, 0x60, &[GP_VBR]);
    hw1.trap(&mut core1, 0x62, &[0]);

    // vCPU 2 (on core 2) sends vCPU 0 IPI message 3: its bit is set and
    // the IPI ICI goes to core 1; no mail, and core 0 (busy with its
    // RTOS) never sees it.
    hw0.icis_sent.clear();
    hw2.icis_sent.clear();
    hw2.trap(&mut core2, 0x67, &[0, 3]);
    assert_eq!((hw2.ipi_icis_sent.as_slice(), hw2.icis_sent.as_slice()), (&[1][..], &[][..]));
    assert_eq!(mem.borrow()[word], 1 << 3);
    let switches1 = core1.stats.switches;
    hw1.interrupt(&mut core1, IPI_ICI_INTEVT);
    let (ctx, _) = hw1.resumed();
    assert_eq!((ctx.pc, ctx.intevt), (GP_VBR + 0x600, 0xf00 + 0x20 * 3), "delivered on core 1");
    assert_eq!(core1.stats.switches, switches1, "by the quick path: no pass through the scheduler");
    assert_eq!((mem.borrow()[word], core1.stats.ipi_icis, core1.stats.injections), (0, 1, 1));
    assert_eq!((core1.stats.forwarded_messages, core0.stats.forwarded_messages), (0, 0));
    assert!(hw0.icis_sent.is_empty() && hw0.ipi_icis_sent.is_empty());
    hw1.return_from_interrupt(&mut core1);

    // The RTOS idles: vCPU 0 goes home, and its return says so.
    hw0.trap(&mut core0, 0x62, &[0]);
    hw0.trap(&mut core0, 0x63, &[]);
    hw1.interrupt(&mut core1, ICI_INTEVT);
    hw0.interrupt(&mut core0, ICI_INTEVT);
    assert_eq!(core0.stats.returns_in, 1);
    assert_eq!(mem.borrow()[hint], location_word(0));
    hw2.ipi_icis_sent.clear();
    hw2.trap(&mut core2, 0x67, &[0, 4]);
    assert_eq!(hw2.ipi_icis_sent, [0]);
    hw0.interrupt(&mut core0, IPI_ICI_INTEVT);
    assert_eq!(hw0.resumed().0.intevt, 0xf00 + 0x20 * 4, "delivered at home");
    hw0.return_from_interrupt(&mut core0);

    // A stale word (core 1, where vCPU 0 no longer is): core 1 finds no
    // IPI for a vCPU of its own and passes nothing on; the bit waits for
    // core 0, which takes it at its next full pass (here its timer).
    mem.borrow_mut()[hint] = location_word(1);
    hw2.ipi_icis_sent.clear();
    hw2.trap(&mut core2, 0x67, &[0, 5]);
    assert_eq!(hw2.ipi_icis_sent, [1]);
    hw1.icis_sent.clear();
    hw1.interrupt(&mut core1, IPI_ICI_INTEVT);
    assert_eq!((core1.stats.forwarded_messages, hw1.icis_sent.len(), hw1.ipi_icis_sent.len()), (0, 0, 0));
    assert_eq!(mem.borrow()[word], 1 << 5, "still in the word");
    hw0.interrupt(&mut core0, timer_intevt(0));
    assert_eq!(hw0.resumed().0.intevt, 0xf00 + 0x20 * 5, "found by core 0");
    assert_eq!(mem.borrow()[word], 0);
    // Garbage, or the sender's own core, names no destination: home.
    for w in [0xdead_beef, location_word(2), location_word(3)] {
        mem.borrow_mut()[hint] = w;
        hw2.ipi_icis_sent.clear();
        hw2.trap(&mut core2, 0x67, &[0, 6]);
        assert_eq!(hw2.ipi_icis_sent, [0], "word {w:#x}");
    }
    // The same IPI again before the first was taken is one IPI, counted.
    let coalesced = core2.stats.virqs_coalesced;
    hw2.trap(&mut core2, 0x67, &[0, 6]);
    assert_eq!((core2.stats.virqs_coalesced, hw2.ipi_icis_sent.as_slice()), (coalesced + 1, &[0, 0][..]));
}

/// Core 0 with an RTOS (1 ms tick, idle) and a one-vCPU GPOS that runs,
/// with its vector table set.
fn rtos_ticking_gpos_running(policy: Policy) -> (FakeCore, Instance) {
    let mut hw = FakeCore::new(0, &shared());
    let mut inst = Instance::boot_with(&mut hw, config(&[rtos(), gpos(1)], policy), &[]);
    hw.trap(&mut inst, 0x60, &[RT_VBR]);
    hw.trap(&mut inst, 0x6b, &[1000, 0]);
    hw.trap(&mut inst, 0x62, &[0]);
    let gp = hw.trap(&mut inst, 0x63, &[]);
    assert_eq!(gp.pc, GP_ENTRY, "the RTOS idles, the GPOS runs");
    hw.trap(&mut inst, 0x60, &[GP_VBR]);
    (hw, inst)
}

/// Linux reads INTEVT only after its entry code has cleared SR.BL (it
/// saves its registers first), so an RTOS interrupt can enter the
/// hypervisor between the injection and the read. The hardware then holds
/// the physical code (0x400, core 0's timer channel); the GPOS must find
/// its own virtual code again when it resumes. Before the fix it found
/// 0x400, ran its tick handler in place of the IPI handler, and the IPI
/// was lost: Linux's boot stalled with a wakeup queued on vCPU 0 forever.
#[test]
fn a_guest_preempted_before_reading_intevt_finds_its_own_code_when_it_resumes() {
    let (mut hw, mut inst) = rtos_ticking_gpos_running(Policy::None);
    hw.trap(&mut inst, 0x62, &[0]);
    // An IPI to itself (message 2) enters its vector table.
    let entered = hw.trap(&mut inst, 0x67, &[0, 2]);
    assert_eq!((entered.pc, entered.intevt), (GP_VBR + 0x600, 0xf40));
    // Its handler clears BL and has not read INTEVT yet when the RTOS's
    // tick comes in.
    let mut handler = entered;
    handler.sr &= !sr::BL;
    handler.pc = GP_VBR + 0x620;
    let (_, imask) = hw.resumed();
    hw.left = Some(Leave::Resumed { ctx: handler, imask });
    hw.now = hw.timer.unwrap();
    hw.interrupt(&mut inst, timer_intevt(0));
    let (rt, _) = hw.resumed();
    assert_eq!((rt.pc, rt.intevt), (RT_VBR + 0x600, 0x400), "the RTOS takes its tick");
    hw.return_from_interrupt(&mut inst);
    let back = hw.trap(&mut inst, 0x63, &[]);
    assert_eq!(back.pc, handler.pc, "the GPOS resumes in its handler");
    assert_eq!(back.intevt, 0xf40, "and reads the IPI's code, not the RTOS tick's");
}

#[test]
fn delayed_preemption_keeps_the_rtos_waiting_until_the_preempt_count_drops() {
    let (mut hw, mut inst) = rtos_ticking_gpos_running(Policy::DelayedPreemption);
    let in_cs = hw.trap(&mut inst, 0x66, &[1]);

    hw.now = hw.timer.unwrap();
    hw.interrupt(&mut inst, timer_intevt(0));
    let (still, _) = hw.resumed();
    assert_eq!(still.pc, in_cs.pc, "the GPOS keeps the core inside its critical section");
    assert_eq!(inst.stats.delayed_preemptions, 1);

    let left_cs = hw.trap(&mut inst, 0x66, &[0]);
    assert_eq!((left_cs.pc, left_cs.intevt), (RT_VBR + 0x600, 0x400), "preempt count 0: the RTOS runs at once");
    assert_eq!(inst.stats.switches, 3, "RTOS -> GPOS -> RTOS (counting boot)");
}

#[test]
fn secondary_vcpus_listed_in_the_boot_configuration_start_on_their_home_core() {
    let mem = shared();
    let cfg = config(&[gpos(2)], Policy::None);
    let secondaries = [(0u8, 1u8, GP_ENTRY + 0x100)];
    let mut hw0 = FakeCore::new(0, &mem);
    let _core0 = Instance::boot_with(&mut hw0, cfg, &secondaries);
    assert_eq!(hw0.resumed().0.pc, GP_ENTRY, "core 0 runs the boot vCPU");
    let mut hw1 = FakeCore::new(1, &mem);
    let core1 = Instance::boot_with(&mut hw1, cfg, &secondaries);
    let (ctx, _) = hw1.resumed();
    assert_eq!((ctx.pc, reg(&ctx, 4)), (GP_ENTRY + 0x100, 1), "vCPU 1 starts at its entry with r4 = 1");
    assert_eq!(core1.resident().iter().map(|v| (v.guest, v.id)).collect::<Vec<_>>(), [(0, 1)]);
}

/// The board keeps each core's instance in a `static` in that core's URAM
/// and boots it where it is (`Instance::new` is a `const fn`; `boot` takes
/// `&mut self`). Here the static is behind a mutex, the host's way to a
/// mutable static without `unsafe`.
static CORE0: std::sync::Mutex<Instance> = std::sync::Mutex::new(Instance::new());

#[test]
fn an_instance_in_a_static_boots_in_place_and_a_second_boot_starts_afresh() {
    let cfg = config(&[rtos(), gpos(1)], Policy::OnDemandMigration);
    let mut inst = CORE0.lock().unwrap();
    assert!(inst.resident().is_empty() && inst.stats.entries == 0, "not booted: nothing in it");
    // The same boot in place and by value: the same instance.
    let mut hw = FakeCore::new(0, &shared());
    inst.boot(&mut hw, cfg, &[]);
    let mut hw_ref = FakeCore::new(0, &shared());
    let by_value = Instance::boot_with(&mut hw_ref, cfg, &[]);
    let ids = |i: &Instance| i.resident().iter().map(|v| (v.guest, v.id)).collect::<Vec<_>>();
    assert_eq!((hw.resumed(), hw.timer, &hw.events), (hw_ref.resumed(), hw_ref.timer, &hw_ref.events));
    assert_eq!((inst.stats, inst.mailbox_stats(), ids(&inst)), (by_value.stats, by_value.mailbox_stats(), ids(&by_value)));
    // It has state now: the GPOS vCPU departed for core 1 (not booted, so
    // its migration waits in the outbox and stays in flight).
    assert_eq!((inst.stats.departures_out, inst.mailbox_stats().waited), (1, 1));
    hw.trap(&mut inst, 0x60, &[RT_VBR]);
    assert_eq!(inst.mailbox_stats().waited, 2);
    // Booting again forgets all of it: the same as a first boot.
    let mut hw2 = FakeCore::new(0, &shared());
    inst.boot(&mut hw2, cfg, &[]);
    assert_eq!((hw2.resumed(), hw2.timer, &hw2.events), (hw_ref.resumed(), hw_ref.timer, &hw_ref.events));
    assert_eq!((inst.stats, inst.mailbox_stats(), ids(&inst)), (by_value.stats, by_value.mailbox_stats(), ids(&by_value)));
}

#[test]
fn a_pending_tick_arms_no_timer_so_a_masked_vcpu_cannot_keep_its_core_in_the_hypervisor() {
    let mem = shared();
    let mut hw = FakeCore::new(0, &mem);
    let mut inst = Instance::boot_with(&mut hw, config(&[gpos(1)], Policy::None), &[]);
    hw.trap(&mut inst, 0x60, &[GP_VBR]);
    // Masked (boot level 15), a 5 us periodic timer: shorter than an entry
    // on the board.
    hw.trap(&mut inst, 0x6b, &[5, 0]);
    let first = hw.timer.expect("the first expiry is armed");
    assert_eq!(first, hw.now + 3_000);
    hw.now = first;
    hw.interrupt(&mut inst, timer_intevt(0));
    // The tick is pending behind the mask: nothing more is armed, however
    // many periods pass, and the vCPU runs on where it was.
    assert_eq!(hw.timer, None, "a pending tick arms nothing");
    hw.now += 100 * 3_000;
    hw.trap(&mut inst, 0x68, &[]);
    assert_eq!(hw.timer, None);
    let before = inst.stats.virqs_raised;
    // Unmasked, the tick is delivered and the timer runs again, one period
    // on from now (the missed ones coalesce).
    let entered = hw.trap(&mut inst, 0x62, &[0]);
    assert_eq!((entered.pc, entered.intevt), (GP_VBR + 0x600, 0x400));
    assert_eq!(inst.stats.virqs_raised, before + 1);
    assert!(hw.timer.is_some_and(|t| t > hw.now && t <= hw.now + 3_000), "{:?} at {}", hw.timer, hw.now);
}

#[test]
fn the_timers_of_vcpus_below_the_running_one_arm_nothing() {
    let mem = shared();
    let mut hw = FakeCore::new(0, &mem);
    let mut inst = Instance::boot_with(&mut hw, config(&[rtos(), gpos(1)], Policy::None), &[]);
    // While the GPOS runs both timers are armed (the RTOS's tick would
    // preempt it); once the RTOS runs, the GPOS's is not (its tick could
    // not run before the RTOS stops, and the entry then catches it up).
    hw.trap(&mut inst, 0x60, &[RT_VBR]);
    hw.trap(&mut inst, 0x6b, &[1000, 0]);
    let rt_tick = hw.timer.expect("the RTOS's tick is armed");
    hw.trap(&mut inst, 0x62, &[0]);
    let gp = hw.trap(&mut inst, 0x63, &[]); // RTOS idles: the GPOS runs
    assert_eq!(gp.pc, GP_ENTRY);
    hw.trap(&mut inst, 0x60, &[GP_VBR]);
    hw.trap(&mut inst, 0x6b, &[100, 0]); // GPOS: 100 us
    let gp_tick = hw.now + 60_000;
    assert_eq!(hw.timer, Some(gp_tick.min(rt_tick)));
    // The RTOS's tick: it runs; the GPOS's timer now arms nothing.
    hw.now = rt_tick;
    hw.interrupt(&mut inst, timer_intevt(0));
    assert_eq!(hw.resumed().0.pc, RT_VBR + 0x600);
    assert_eq!(hw.timer, Some(rt_tick + 600_000), "only the RTOS's next tick");
}

#[test]
fn the_mailbox_ici_is_closed_while_a_single_vcpu_rtos_runs() {
    let mem = shared();
    let mut hw = FakeCore::new(0, &mem);
    let mut inst = Instance::boot_with(&mut hw, config(&[rtos(), gpos(1)], Policy::None), &[]);
    assert_eq!(hw.resumed().0.pc, RT_ENTRY);
    assert_eq!(hw.ici_level, 0, "the RTOS runs: mail waits");
    hw.trap(&mut inst, 0x60, &[RT_VBR]);
    hw.trap(&mut inst, 0x62, &[0]);
    let gp = hw.trap(&mut inst, 0x63, &[]);
    assert_eq!(gp.pc, GP_ENTRY);
    assert_eq!(hw.ici_level, 15, "the GPOS runs: the ICI is open at the hypervisor's level");
}

/// A virtual IPI for a vCPU on another core changes nothing on the
/// sender's core: its bit goes into the target's IPI word, the IPI ICI to
/// the target's core, and the caller resumes by the quick exit, without a
/// pass through the scheduler or any mail (Linux sends thousands a second;
/// the pass and the ring were most of their cost). The target's core,
/// idle here, takes the word in its full pass and runs the vCPU.
#[test]
fn an_ipi_to_a_vcpu_on_another_core_is_sent_and_the_caller_goes_on_at_once() {
    let (_mem, mut hw0, mut core0, mut hw1, mut core1) = two_gpos_vcpus();
    let switches = core0.stats.switches;
    let sent = core0.mailbox_stats().mailbox.sent;
    let before = hw0.resumed().0;
    let after = hw0.trap(&mut core0, 0x67, &[1, 3]);
    assert!(hw0.quick, "the caller resumed by the quick exit");
    assert_eq!((reg(&after, 0), after.pc), (0, before.pc + 2));
    assert_eq!((core0.mailbox_stats().mailbox.sent, hw0.icis_sent.len()), (sent, 0), "no mail");
    assert_eq!((hw0.ipi_icis_sent.as_slice(), core0.stats.switches), (&[1][..], switches));
    let (entries, switches1) = (core1.stats.entries, core1.stats.switches);
    hw1.interrupt(&mut core1, IPI_ICI_INTEVT);
    let (ctx, _) = hw1.resumed();
    assert_eq!((ctx.pc, ctx.intevt), (GP_VBR + 0x600, 0xf60), "delivered on core 1");
    assert_eq!((core1.stats.entries, core1.stats.ipi_icis, core1.stats.switches), (entries + 1, 1, switches1 + 1));
}

/// The board's entry stub sends a `SEND_IPI` by what the instance told
/// the hardware (`QuickCalls::send_ipi`; board/rt/entry.S,
/// `quick_send_ipi`). A model of that send here, run on what core 0 was
/// told, leaves the target's IPI word as the instance's own send does and
/// raises the IPI ICI on the same core, wherever the target's location
/// word says it is: unknown, on its home, on this core (a stale word: the
/// instance, which finds no such vCPU here, sends home). It may send only
/// to a vCPU that is not here and exists.
#[test]
fn the_entry_stub_sends_an_ipi_by_the_published_routes_as_the_instance_does() {
    use spumone_migration::layout::{ipi_offset, location_offset};
    let (mem, mut hw0, mut core0, _hw1, _core1) = two_gpos_vcpus();
    let quick = hw0.quick_calls.expect("vCPU 0 runs on core 0").send_ipi;
    assert_eq!((quick.route(0), quick.route(1), quick.route(2)), (None, Some(1), None), "here; home core 1; none");
    assert_eq!((quick.locations, quick.ipi_words, quick.cores), (location_offset(2, 0, 0).unwrap(), ipi_offset(2, 0, 0).unwrap(), 2));
    let word = |base: u32, v: u8| ((base + 4 * v as u32) / 4) as usize;
    let stub_send = |v: u8, message: u8| -> usize {
        let home = quick.route(v).expect("a route") as u32;
        mem.borrow_mut()[word(quick.ipi_words, v)] |= 1 << message;
        let named = mem.borrow()[word(quick.locations, v)].wrapping_sub(1);
        (if named < quick.cores as u32 && named != 0 { named } else { home }) as usize
    };
    for location in [0, 1, 2, 3, 0xdead_beef] {
        mem.borrow_mut()[word(quick.locations, 1)] = location;
        mem.borrow_mut()[word(quick.ipi_words, 1)] = 0x10;
        hw0.ipi_icis_sent.clear();
        hw0.trap(&mut core0, 0x67, &[1, 3]);
        assert!(hw0.quick, "the instance's quick exit");
        let by_instance = (mem.borrow()[word(quick.ipi_words, 1)], hw0.ipi_icis_sent.clone());
        mem.borrow_mut()[word(quick.ipi_words, 1)] = 0x10;
        let to = stub_send(1, 3);
        let by_stub = (mem.borrow()[word(quick.ipi_words, 1)], vec![to]);
        assert_eq!(by_stub, by_instance, "location word {location:#x}");
        assert_eq!(by_instance.0, 0x18);
    }
    assert_eq!(hw0.quick_calls.unwrap().send_ipi, quick, "quick exits change nothing it says");
}

/// A ring full of mail for core 0 beside its RTOS (five starts of a
/// vCPU whose home it is: one starts it, four find it started), and the
/// RTOS's release falls due while the first is read: the release goes
/// first, the rest of the mail waits for a later entry (an ICI the core
/// sends itself), so a flood delays the RTOS by one message, not by a ring
/// of them.
#[test]
fn a_release_that_falls_due_while_mail_is_read_goes_before_the_rest_of_the_mail() {
    let mut three = gpos(3);
    three.home = [0, 1, 0, 0];
    let (_mem, mut hw0, mut core0, mut hw1, mut core1) = two_cores(config(&[rtos(), three], Policy::None));
    hw0.trap(&mut core0, 0x60, &[RT_VBR]);
    hw0.trap(&mut core0, 0x6b, &[1000, 0]);
    hw0.trap(&mut core0, 0x62, &[0]);
    assert_eq!(hw0.trap(&mut core0, 0x63, &[]).pc, GP_ENTRY, "the RTOS idles, the GPOS runs");
    hw0.trap(&mut core0, 0x60, &[GP_VBR]);
    hw0.trap(&mut core0, 0x62, &[0]);
    start_gpos_vcpu_1(&mut hw0, &mut core0, &mut hw1, &mut core1);
    for _ in 0..5 {
        hw1.trap(&mut core1, 0x69, &[2, GP_ENTRY + 0x900, 9]);
    }
    let received = core0.mailbox_stats().mailbox.received;
    hw0.icis_sent.clear();
    let tick = vtimer(&core0, 0, 0);
    hw0.timer_entries_before(&mut core0, tick - 1);
    hw0.interrupt(&mut core0, ICI_INTEVT);
    let (rt, _) = hw0.resumed();
    assert_eq!((rt.pc, rt.intevt), (RT_VBR + 0x600, 0x400), "the RTOS takes its release");
    assert_eq!(core0.mailbox_stats().mailbox.received, received + 1, "one message read");
    assert_eq!(hw0.icis_sent, [0], "the rest asked for");
    // The RTOS's handler returns and it idles; the ICI it sent itself
    // brings in the rest.
    hw0.return_from_interrupt(&mut core0);
    hw0.trap(&mut core0, 0x63, &[]);
    // (A timer entry already due goes first: core 0's look at its ring to
    // core 1, 1 ms after it sent there.)
    hw0.timer_entries_before(&mut core0, hw0.now + 1);
    hw0.interrupt(&mut core0, ICI_INTEVT);
    assert_eq!(core0.mailbox_stats().mailbox.received, received + 5);
    assert!(core0.resident().iter().any(|v| (v.guest, v.id) == (1, 2)), "vCPU 2 started at home");
    assert_eq!(core0.stats.misrouted, 4, "and the four later starts found it started");
}

#[test]
fn the_entry_stubs_counts_are_added_as_the_instance_counts_the_same_work() {
    use spumone_kernel::hypercall::Hypercall;
    use spumone_percore::instance::{Stats, StubCounts};
    let mut s = Stats::default();
    s.entries = 100;
    s.hypercalls = 60;
    s.hypercalls_by_number[Hypercall::TimeNow.index()] = 5;
    s.virqs_raised = 9;
    s.injections = 4;
    s.add_stub_counts(StubCounts { direct: 1000, calls: 50, send_ipis: 20, coalesced: 3, idles: 7, ipi_icis: 18 });
    // 50 calls: 20 SEND_IPIs, 7 IDLEs, so 23 TIME_NOWs.
    assert_eq!((s.entries, s.hypercalls), (100 + 50 + 18, 60 + 50));
    let by = |s: &Stats, h: Hypercall| s.hypercalls_by_number[h.index()];
    assert_eq!((by(&s, Hypercall::TimeNow), by(&s, Hypercall::SendIpi), by(&s, Hypercall::Idle)), (5 + 23, 20, 7));
    assert_eq!((s.virqs_raised, s.virtual_ipis, s.virqs_coalesced), (9 + 20, 20, 3));
    assert_eq!((s.injections, s.ipi_icis), (4 + 18, 18));
    assert_eq!(
        (s.direct_exceptions, s.hypercalls_in_stub, s.send_ipis_in_stub, s.idles_in_stub, s.ipi_icis_in_stub),
        (1000, 50, 20, 7, 18)
    );
    // Words that make no sense (a crashed image's) do not panic.
    s.add_stub_counts(StubCounts { calls: 1, send_ipis: u32::MAX, idles: u32::MAX, ..StubCounts::default() });
    assert_eq!(by(&s, Hypercall::TimeNow), 28);
}
