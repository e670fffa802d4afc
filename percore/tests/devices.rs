//! Physical device interrupts through the interrupt destination table,
//! against fake cores: the owner gets the interrupt under the device's own
//! INTEVT, the source stays masked from its arrival until the guest's
//! handler has lowered its level again, a GPOS's source waits while the
//! RTOS runs, and a source follows its vCPU from core to core (never open
//! on two cores, never left open on a core the vCPU has left). The fake
//! core fails the test if a source is enabled twice or disabled twice.

mod common;

use common::*;
use spumone_percore::config::{Config, DeviceRoute, Policy};
use spumone_percore::hw::{timer_intevt, ICI_INTEVT};
use spumone_percore::instance::Instance;
use std::collections::BTreeSet;

const TMU4: u32 = 0x480;
const TMU5: u32 = 0x4a0;

fn with_device(mut cfg: Config, intevt: u32, guest: u8, level: u8) -> Config {
    cfg.devices[0] = Some(DeviceRoute { intevt: intevt as u16, guest, vcpu: 0, level });
    cfg
}

fn enabled(hw: &FakeCore) -> BTreeSet<u32> {
    hw.devices_enabled.clone()
}

#[test]
fn a_device_interrupt_enters_its_owner_under_its_own_intevt_and_its_source_waits_for_the_handler() {
    let mem = shared();
    let mut hw = FakeCore::new(0, &mem);
    let mut inst = Instance::boot_with(&mut hw, with_device(config(&[rtos()], Policy::None), TMU4, 0, 13), &[]);
    assert_eq!(hw.device_levels, [(TMU4, 13)], "its home core sets its priority");
    assert_eq!(enabled(&hw), BTreeSet::new(), "the RTOS boots with its levels masked");
    hw.trap(&mut inst, 0x60, &[RT_VBR]);
    let running = hw.trap(&mut inst, 0x62, &[0]);
    assert_eq!(enabled(&hw), BTreeSet::from([TMU4]));

    hw.interrupt(&mut inst, TMU4);
    let (ctx, imask) = hw.resumed();
    assert_eq!((ctx.pc, ctx.spc, ctx.intevt), (RT_VBR + 0x600, running.pc, TMU4));
    assert_eq!((ctx.virtual_imask, imask), (13, 13));
    assert_eq!(enabled(&hw), BTreeSet::new(), "masked while its handler runs");
    assert_eq!((inst.stats.device_interrupts, inst.stats.injections, inst.stats.virqs_raised), (1, 1, 1));

    let back = hw.return_from_interrupt(&mut inst);
    assert_eq!(back.pc, running.pc);
    assert_eq!(enabled(&hw), BTreeSet::from([TMU4]), "open again once the handler restored its level");
    // Masking interrupts closes it; restoring opens it.
    hw.trap(&mut inst, 0x61, &[]);
    assert_eq!(enabled(&hw), BTreeSet::new());
    hw.trap(&mut inst, 0x62, &[0]);
    assert_eq!(enabled(&hw), BTreeSet::from([TMU4]));
    assert_eq!(inst.stats.spurious, 0);
}

#[test]
fn a_gpos_device_interrupt_waits_while_the_rtos_runs_and_enters_the_gpos_when_it_is_dispatched() {
    let mem = shared();
    let mut hw = FakeCore::new(0, &mem);
    let mut gp = gpos(1);
    gp.home = [0; 4];
    let mut inst = Instance::boot_with(&mut hw, with_device(config(&[rtos(), gp], Policy::None), TMU5, 1, 5), &[]);
    // The RTOS sets up its tick and idles; the GPOS opens its levels.
    hw.trap(&mut inst, 0x60, &[RT_VBR]);
    hw.trap(&mut inst, 0x6b, &[1000, 0]);
    hw.trap(&mut inst, 0x62, &[0]);
    assert_eq!(hw.trap(&mut inst, 0x63, &[]).pc, GP_ENTRY);
    hw.trap(&mut inst, 0x60, &[GP_VBR]);
    let gpos_at = hw.trap(&mut inst, 0x62, &[0]);
    assert_eq!(enabled(&hw), BTreeSet::from([TMU5]));

    // The RTOS's tick preempts the GPOS; its handler returns to its idle
    // loop, and the device interrupts meanwhile.
    hw.now = hw.timer.unwrap();
    hw.interrupt(&mut inst, timer_intevt(0));
    assert_eq!(hw.resumed().0.intevt, 0x400);
    let rtos_at = hw.return_from_interrupt(&mut inst);
    hw.interrupt(&mut inst, TMU5);
    let (ctx, _) = hw.resumed();
    assert_eq!(ctx.pc, rtos_at.pc, "the RTOS goes on: a GPOS interrupt only marks the GPOS");
    assert_eq!(enabled(&hw), BTreeSet::new(), "held, not taken again");
    assert_eq!(inst.resident().iter().find(|v| v.guest == 1).unwrap().pending, 1 << 1);

    // The RTOS idles: the GPOS is dispatched straight into its handler.
    let (ctx, imask) = {
        hw.trap(&mut inst, 0x63, &[]);
        hw.resumed()
    };
    assert_eq!((ctx.pc, ctx.spc, ctx.intevt), (GP_VBR + 0x600, gpos_at.pc, TMU5));
    assert_eq!((ctx.virtual_imask, imask), (5, 5));
    hw.return_from_interrupt(&mut inst);
    assert_eq!(enabled(&hw), BTreeSet::from([TMU5]));
    assert_eq!((inst.stats.device_interrupts, inst.stats.device_interrupts_elsewhere), (1, 0));
}

#[test]
fn a_device_source_follows_its_vcpu_from_core_to_core_and_is_never_open_on_two() {
    let mem = shared();
    let cfg = with_device(config(&[rtos(), gpos(1)], Policy::OnDemandMigration), TMU5, 1, 5);
    let mut hw0 = FakeCore::new(0, &mem);
    let mut core0 = Instance::boot_with(&mut hw0, cfg, &[]);
    let mut hw1 = FakeCore::new(1, &mem);
    let mut core1 = Instance::boot_with(&mut hw1, cfg, &[]);
    assert_eq!((hw0.device_levels.as_slice(), hw1.device_levels.as_slice()), ([(TMU5, 5)].as_slice(), [].as_slice()));
    // The RTOS is runnable from boot: the GPOS vCPU starts out on core 1.
    hw0.trap(&mut core0, 0x60, &[RT_VBR]);
    hw1.interrupt(&mut core1, ICI_INTEVT);
    assert_eq!(hw1.resumed().0.pc, GP_ENTRY);
    hw1.trap(&mut core1, 0x60, &[GP_VBR]);
    hw1.trap(&mut core1, 0x62, &[0]);
    assert_eq!((enabled(&hw0), enabled(&hw1)), (BTreeSet::new(), BTreeSet::from([TMU5])), "open where the vCPU is");

    // The device interrupts on core 1, where the vCPU runs.
    hw1.interrupt(&mut core1, TMU5);
    let (ctx, _) = hw1.resumed();
    assert_eq!((ctx.pc, ctx.intevt, ctx.virtual_imask), (GP_VBR + 0x600, TMU5, 5));
    assert_eq!(enabled(&hw1), BTreeSet::new());

    // Mid-handler, the RTOS idles and the vCPU goes home: core 1 keeps
    // the source closed, and core 0 does not open it while the handler
    // (level 5) has not finished.
    hw0.trap(&mut core0, 0x62, &[0]);
    hw0.trap(&mut core0, 0x63, &[]);
    hw1.interrupt(&mut core1, ICI_INTEVT);
    assert_eq!(hw1.left, Some(Leave::Idle));
    hw0.interrupt(&mut core0, ICI_INTEVT);
    let (home, _) = hw0.resumed();
    assert_eq!((home.pc, home.virtual_imask), (GP_VBR + 0x600, 5), "back home, still in its handler");
    assert_eq!((enabled(&hw0), enabled(&hw1)), (BTreeSet::new(), BTreeSet::new()));
    // The handler finishes on core 0: the source opens there.
    hw0.return_from_interrupt(&mut core0);
    assert_eq!((enabled(&hw0), enabled(&hw1)), (BTreeSet::from([TMU5]), BTreeSet::new()));
    assert_eq!((core1.stats.device_interrupts, core0.stats.device_interrupts), (1, 0));
    assert_eq!(core0.stats.injections + core1.stats.injections, 1);
}

#[test]
fn a_device_interrupt_taken_on_a_core_the_vcpu_has_left_is_counted_and_left_masked() {
    // The vCPU is not on core 1 at all: an interrupt there (a source left
    // open by mistake, or a stale one) raises nothing and stays masked.
    let mem = shared();
    let mut gp = gpos(1);
    gp.home = [0; 4];
    let cfg = with_device(config(&[gp], Policy::None), TMU5, 0, 5);
    let mut hw1 = FakeCore::new(1, &mem);
    let mut core1 = Instance::boot_with(&mut hw1, cfg, &[]);
    hw1.devices_enabled.insert(TMU5);
    hw1.interrupt(&mut core1, TMU5);
    assert_eq!(hw1.left, Some(Leave::Idle));
    assert_eq!(enabled(&hw1), BTreeSet::new());
    assert_eq!((core1.stats.device_interrupts, core1.stats.device_interrupts_elsewhere, core1.stats.virqs_raised), (1, 1, 0));
}
