//! The migration engine on its own: two engines over one shared region,
//! each behind a fake `MigrationHardware` (a clock, the region's words, the
//! ICIs raised, the cycles charged, the events reported). No instance, no
//! run queue: the test takes vCPUs off and puts them on "cores" itself.
//!
//! Checked: a departure's two halves (charges, events, the vCPU's away
//! reason and epoch), the acknowledgement that ends its in-flight copy, a
//! resend after `RESEND_AFTER` that the destination takes once only, and a
//! queued resend withdrawn because its copy was acknowledged while it
//! waited for room.

use spumone_kernel::guest::{GuestSpec, Partition};
use spumone_kernel::ipl::GuestClass;
use spumone_kernel::vcpu::{AwayReason, Vcpu};
use spumone_migration::engine::{Arrival, Engine, MigrationCosts, RESEND_AFTER};
use spumone_migration::outbox::{Incoming, Post};
use spumone_migration::port::{MigrationEvent, MigrationHardware};
use spumone_migration::region_size;
use std::cell::RefCell;
use std::rc::Rc;

const COSTS: MigrationCosts = MigrationCosts {
    mailbox_send: 300,
    mailbox_receive: 540,
    departure_source: 14_940,
    departure_destination: 16_800,
    return_source: 22_860,
    return_destination: 7_200,
};

struct Core {
    now: u64,
    shared: Rc<RefCell<Vec<u32>>>,
    icis: Vec<usize>,
    charged: u64,
    events: Vec<MigrationEvent>,
}

impl MigrationHardware for Core {
    fn now(&self) -> u64 {
        self.now
    }
    fn charge(&mut self, cycles: u64) {
        self.charged += cycles;
        self.now += cycles;
    }
    fn shared_read(&mut self, offset: u32) -> u32 {
        self.shared.borrow()[offset as usize / 4]
    }
    fn shared_write(&mut self, offset: u32, value: u32) {
        self.shared.borrow_mut()[offset as usize / 4] = value;
    }
    fn send_ici(&mut self, target: usize) {
        self.icis.push(target);
    }
    fn trace(&mut self, event: MigrationEvent) {
        self.events.push(event);
    }
}

fn machine() -> [(Core, Engine); 2] {
    let shared = Rc::new(RefCell::new(vec![0u32; region_size(2) as usize / 4]));
    [0u8, 1].map(|c| {
        let mut hw = Core { now: 0, shared: Rc::clone(&shared), icis: vec![], charged: 0, events: vec![] };
        let mut e = Engine::new();
        e.reset(c, 2, COSTS);
        e.init(&mut hw);
        (hw, e)
    })
}

fn gpos_vcpu() -> Vcpu {
    let spec = GuestSpec {
        class: GuestClass::GeneralPurpose,
        priority: 1,
        partition: Partition { base: 0x0c00_0000, size: 0x10_0000 },
        vcpus: 1,
        home: [0; 4],
        entry: 0x8c00_1000,
        timer_level: 5,
        ipi_level: 6,
        sr_imask: false,
        mmu: false,
        direct_exceptions: false,
        thread_info_preempt_count: false,
    };
    let mut v = Vcpu::fresh(1, 0, &spec, spec.entry, 0);
    v.pending = 0x0101;
    v
}

/// Everything core `to`'s engine has for its instance from core `from`.
fn drain(hw: &mut Core, e: &mut Engine, from: u8) -> Vec<Incoming> {
    std::iter::from_fn(|| e.receive(hw, from)).collect()
}

#[test]
fn a_departure_arrives_whole_and_its_acknowledgement_ends_the_copy() {
    let [(mut hw0, mut e0), (mut hw1, mut e1)] = machine();
    assert_eq!(e0.destination(), Some(1));
    assert!(e0.can_ship(1));
    let v = gpos_vcpu();
    e0.depart(&mut hw0, v, 1, AwayReason::RtosActive);
    e0.flush(&mut hw0);
    // The half is charged once in all: its work, then the send's part.
    assert_eq!(hw0.charged, COSTS.departure_source as u64);
    assert_eq!(hw0.icis, [1]);
    assert_eq!(
        hw0.events,
        [MigrationEvent::Out { guest: 1, vcpu: 0, to: 1, departure: true, cycles: COSTS.departure_source }]
    );
    assert!(e0.next_deadline(hw0.now).is_some(), "the copy waits for its acknowledgement");

    let [Incoming::Migrate { vcpu: arrived, departure: true }] = drain(&mut hw1, &mut e1, 0)[..] else {
        panic!("not one departure")
    };
    let Arrival::Arrived(w) = e1.accept(&mut hw1, 0, arrived, true, false) else { panic!("not taken") };
    assert_eq!((w.ctx, w.pending, w.away, w.epoch), (v.ctx, v.pending, Some(AwayReason::RtosActive), 1));
    assert_eq!(hw1.charged, COSTS.departure_destination as u64);
    e1.flush(&mut hw1);
    assert!(drain(&mut hw0, &mut e0, 1).is_empty(), "the acknowledgement is the engine's own");
    assert_eq!(e0.next_deadline(hw0.now), None, "acknowledged: nothing in flight, nothing waiting");
    // Its home knows where it is: mail for it goes to core 1.
    assert_eq!(e0.forward_to(1, 0, 0), Some(1));
    assert_eq!(e1.forward_to(1, 0, 0), Some(0), "core 1 sends mail for it to its home");
}

#[test]
fn an_unacknowledged_migration_is_sent_again_and_taken_once() {
    let [(mut hw0, mut e0), (mut hw1, mut e1)] = machine();
    e0.depart(&mut hw0, gpos_vcpu(), 1, AwayReason::KernelEntry);
    e0.flush(&mut hw0);
    let [Incoming::Migrate { vcpu, departure }] = drain(&mut hw1, &mut e1, 0)[..] else { panic!() };
    assert!(matches!(e1.accept(&mut hw1, 0, vcpu, departure, false), Arrival::Arrived(_)));
    // Core 1's acknowledgement is lost (never flushed); core 0 waits
    // RESEND_AFTER from when it shipped the copy.
    let due = e0.next_deadline(hw0.now).unwrap();
    assert_eq!(due, (COSTS.departure_source - COSTS.mailbox_send) as u64 + RESEND_AFTER);
    hw0.now = due - 1;
    assert_eq!(e0.resend_overdue(&mut hw0), 0, "not yet");
    hw0.now = due;
    assert_eq!(e0.resend_overdue(&mut hw0), 1);
    e0.flush(&mut hw0);
    let [Incoming::Migrate { vcpu: again, departure }] = drain(&mut hw1, &mut e1, 0)[..] else { panic!() };
    assert_eq!(again.epoch, vcpu.epoch);
    // Whether or not the vCPU is still there, the same epoch is old news.
    assert!(matches!(e1.accept(&mut hw1, 0, again, departure, true), Arrival::Stale));
    assert!(matches!(e1.accept(&mut hw1, 0, again, departure, false), Arrival::Stale));
    e1.flush(&mut hw1);
    drain(&mut hw0, &mut e0, 1);
    assert_eq!(e0.next_deadline(hw0.now), None);
}

#[test]
fn a_resend_waiting_for_room_is_withdrawn_once_the_copy_is_acknowledged() {
    let [(mut hw0, mut e0), (mut hw1, mut e1)] = machine();
    // Seven starts and the departure fill ring 0->1 (8 slots).
    for vcpu in 1..4 {
        for _ in 0..2 {
            assert!(e0.queue(1, Post::StartVcpu { guest: 0, vcpu, entry: 0x8c00_0000, arg: 0 }));
        }
    }
    assert!(e0.queue(1, Post::StartVcpu { guest: 2, vcpu: 1, entry: 0x8c00_0000, arg: 0 }));
    e0.depart(&mut hw0, gpos_vcpu(), 1, AwayReason::RtosActive);
    e0.flush(&mut hw0);
    assert_eq!(e0.stats().mailbox.sent, 8);
    // No word for 1 ms: the copy is queued again, and the ring is full.
    hw0.now += RESEND_AFTER;
    assert_eq!(e0.resend_overdue(&mut hw0), 1);
    e0.flush(&mut hw0);
    assert_eq!((e0.stats().mailbox.sent, e0.stats().waited), (8, 1));
    // Core 1 takes everything and acknowledges the vCPU.
    let got = drain(&mut hw1, &mut e1, 0);
    assert_eq!(got.len(), 8);
    let Some(&Incoming::Migrate { vcpu, departure }) = got.last() else { panic!() };
    assert!(matches!(e1.accept(&mut hw1, 0, vcpu, departure, false), Arrival::Arrived(_)));
    e1.flush(&mut hw1);
    drain(&mut hw0, &mut e0, 1);
    // The queued resend has no copy left to send: withdrawn, not sent.
    e0.flush(&mut hw0);
    let s = e0.stats();
    assert_eq!((s.mailbox.sent, s.withdrawn, s.refused, s.queue_full), (8, 1, 0, 0));
    assert_eq!(e0.next_deadline(hw0.now), None);
}
