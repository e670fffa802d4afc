//! The migration engine on its own: two engines over one shared region,
//! each behind a fake `MigrationHardware` (a clock, the region's words, the
//! ICIs raised, the cycles charged, the events reported). No instance, no
//! run queue: the test takes vCPUs off and puts them on "cores" itself.
//!
//! Checked: a departure's two halves (charges, events, the vCPU's away
//! reason and epoch), the acknowledgement that ends its in-flight copy, a
//! resend after `RESEND_AFTER` that the destination takes once only, and a
//! queued resend withdrawn because its copy was acknowledged while it
//! waited for room; and the lease: a copy read after it expired is
//! declined and its vCPU taken back, one never read is taken back once
//! the clocks' skew has passed too (its destination then counted as
//! unresponsive until heard from), one read in time never is, and an
//! acknowledgement of an earlier migration does not end a later one; and
//! an ICI raised again while the ring it announced stays unread.

use spumone_kernel::guest::{GuestSpec, Partition};
use spumone_kernel::ipl::GuestClass;
use spumone_kernel::vcpu::{AwayReason, Vcpu};
use spumone_migration::engine::{Arrival, Engine, MigrationCosts, CLOCK_SKEW, MIGRATION_LEASE, RESEND_AFTER};
use spumone_migration::outbox::{Incoming, Post, ICI_RECHECK, MAIL_RETRY, MAIL_RETRY_MAX};
use spumone_migration::port::{MigrationEvent, MigrationHardware};
use spumone_migration::claim::Claim;
use spumone_migration::layout::claim_offset;
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
    fn shared_compare_exchange(&mut self, offset: u32, expected: u32, new: u32) -> u32 {
        let mut shared = self.shared.borrow_mut();
        let found = shared[offset as usize / 4];
        if found == expected {
            shared[offset as usize / 4] = new;
        }
        found
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

    let [Incoming::Migrate { vcpu: arrived, departure: true, expires }] = drain(&mut hw1, &mut e1, 0)[..] else {
        panic!("not one departure")
    };
    assert_eq!(expires, (COSTS.departure_source - COSTS.mailbox_send) as u64 + MIGRATION_LEASE);
    let Arrival::Arrived(w) = e1.accept(&mut hw1, 0, arrived, true, expires, false) else { panic!("not taken") };
    assert_eq!((w.ctx, w.pending, w.away, w.epoch), (v.ctx, v.pending, Some(AwayReason::RtosActive), 1));
    assert_eq!(hw1.charged, COSTS.departure_destination as u64);
    e1.flush(&mut hw1);
    assert!(drain(&mut hw0, &mut e0, 1).is_empty(), "the acknowledgement is the engine's own");
    assert_eq!(e0.in_flight(), 0, "acknowledged: nothing in flight");
    // Its home knows where it is: mail for it goes to core 1.
    assert_eq!(e0.forward_to(1, 0, 0), Some(1));
    assert_eq!(e1.forward_to(1, 0, 0), Some(0), "core 1 sends mail for it to its home");
}

#[test]
fn an_unacknowledged_migration_is_sent_again_and_taken_once() {
    let [(mut hw0, mut e0), (mut hw1, mut e1)] = machine();
    e0.depart(&mut hw0, gpos_vcpu(), 1, AwayReason::KernelEntry);
    e0.flush(&mut hw0);
    let [Incoming::Migrate { vcpu, departure, expires }] = drain(&mut hw1, &mut e1, 0)[..] else { panic!() };
    assert!(matches!(e1.accept(&mut hw1, 0, vcpu, departure, expires, false), Arrival::Arrived(_)));
    // Core 1's acknowledgement is lost (never flushed); core 0 waits
    // RESEND_AFTER from when it shipped the copy.
    let due = e0.next_deadline(hw0.now).unwrap();
    assert_eq!(due, (COSTS.departure_source - COSTS.mailbox_send) as u64 + RESEND_AFTER);
    hw0.now = due - 1;
    assert_eq!(e0.resend_overdue(&mut hw0), 0, "not yet");
    hw0.now = due;
    assert_eq!(e0.resend_overdue(&mut hw0), 1);
    e0.flush(&mut hw0);
    let [Incoming::Migrate { vcpu: again, departure, expires: same }] = drain(&mut hw1, &mut e1, 0)[..] else {
        panic!()
    };
    assert_eq!((again.epoch, same), (vcpu.epoch, expires), "a resend is the same migration, with the same lease");
    // Whether or not the vCPU is still there, the same epoch is old news.
    assert!(matches!(e1.accept(&mut hw1, 0, again, departure, expires, true), Arrival::Stale));
    assert!(matches!(e1.accept(&mut hw1, 0, again, departure, expires, false), Arrival::Stale));
    e1.flush(&mut hw1);
    drain(&mut hw0, &mut e0, 1);
    assert_eq!(e0.in_flight(), 0);
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
    let Some(&Incoming::Migrate { vcpu, departure, expires }) = got.last() else { panic!() };
    assert!(matches!(e1.accept(&mut hw1, 0, vcpu, departure, expires, false), Arrival::Arrived(_)));
    e1.flush(&mut hw1);
    drain(&mut hw0, &mut e0, 1);
    // The queued resend has no copy left to send: withdrawn, not sent.
    e0.flush(&mut hw0);
    let s = e0.stats();
    assert_eq!((s.mailbox.sent, s.withdrawn, s.refused, s.queue_full), (8, 1, 0, 0));
    assert_eq!(e0.in_flight(), 0);
}

/// Core 0 departs a vCPU to core 1 and flushes; what core 1 reads.
fn depart_one(hw0: &mut Core, e0: &mut Engine, hw1: &mut Core, e1: &mut Engine, v: Vcpu) -> (Vcpu, u64) {
    e0.depart(hw0, v, 1, AwayReason::RtosActive);
    e0.flush(hw0);
    let [Incoming::Migrate { vcpu, departure: true, expires }] = drain(hw1, e1, 0)[..] else { panic!("not one departure") };
    (vcpu, expires)
}

#[test]
fn a_migration_read_after_it_expired_is_declined_and_its_vcpu_taken_back_home() {
    let [(mut hw0, mut e0), (mut hw1, mut e1)] = machine();
    let (v, expires) = depart_one(&mut hw0, &mut e0, &mut hw1, &mut e1, gpos_vcpu());
    assert_eq!(e0.forward_to(1, 0, 0), Some(1));
    // Core 1 reads it one cycle late.
    hw1.now = expires + 1;
    assert!(matches!(e1.accept(&mut hw1, 0, v, true, expires, false), Arrival::Expired));
    e1.flush(&mut hw1);
    assert!(e0.reclaim(&mut hw0).is_none(), "nothing declined yet as far as core 0 knows");
    assert!(drain(&mut hw0, &mut e0, 1).is_empty(), "the refusal is the engine's own");
    assert_eq!(e0.next_deadline(hw0.now), Some(hw0.now), "a declined vCPU is due back at once");
    let back = e0.reclaim(&mut hw0).expect("taken back");
    assert_eq!((back.ctx, back.pending, back.away, back.epoch), (v.ctx, v.pending, None, v.epoch));
    assert!(e0.reclaim(&mut hw0).is_none(), "once");
    assert_eq!(e0.forward_to(1, 0, 0), None, "home again: nothing to forward");
    assert!(e0.can_ship(1), "core 1 answered: it is alive");
    assert_eq!(e0.in_flight(), 0);
    // The vCPU leaves again; the new epoch is taken, the old copy never.
    let (again, expires) = depart_one(&mut hw0, &mut e0, &mut hw1, &mut e1, back);
    assert_eq!(again.epoch, v.epoch + 1);
    assert!(matches!(e1.accept(&mut hw1, 0, again, true, expires, false), Arrival::Arrived(_)));
}

#[test]
fn a_migration_never_read_is_taken_back_after_the_lease_and_the_skew_and_never_taken() {
    let [(mut hw0, mut e0), (mut hw1, mut e1)] = machine();
    e0.depart(&mut hw0, gpos_vcpu(), 1, AwayReason::RtosActive);
    e0.flush(&mut hw0);
    let expires = (COSTS.departure_source - COSTS.mailbox_send) as u64 + MIGRATION_LEASE;
    // Core 1 is stopped: core 0 resends every RESEND_AFTER, then gives up.
    let mut resent = 0;
    loop {
        let due = e0.next_deadline(hw0.now).unwrap();
        hw0.now = due;
        resent += e0.resend_overdue(&mut hw0);
        e0.flush(&mut hw0);
        if let Some(v) = e0.reclaim(&mut hw0) {
            assert_eq!(hw0.now, expires + CLOCK_SKEW, "not a cycle before");
            assert_eq!((v.away, v.epoch), (None, 1));
            break;
        }
        assert!(hw0.now < expires + CLOCK_SKEW);
    }
    // Sent again while it could still be taken, not after.
    assert_eq!(resent, (MIGRATION_LEASE - 1) / RESEND_AFTER);
    assert!(!e0.can_ship(1) && e0.is_unresponsive(1), "nothing more goes to a core that does not read");
    assert_eq!(e0.in_flight(), 0);
    // Core 1 wakes up and reads every copy: all expired, all declined.
    hw1.now = hw0.now;
    let copies = drain(&mut hw1, &mut e1, 0);
    assert_eq!(copies.len() as u64, 1 + resent);
    for c in copies {
        let Incoming::Migrate { vcpu, departure, expires: e } = c else { panic!() };
        assert_eq!(e, expires);
        assert!(matches!(e1.accept(&mut hw1, 0, vcpu, departure, e, false), Arrival::Expired));
    }
    e1.flush(&mut hw1);
    assert!(drain(&mut hw0, &mut e0, 1).is_empty());
    assert!(e0.can_ship(1), "heard from again");
    assert!(e0.reclaim(&mut hw0).is_none(), "the refusals find nothing to take back twice");
}

/// A core taken to be unresponsive whose only traffic here is IPIs (its
/// IPI ICIs name it as their sender) is shipped to again once one comes:
/// IPIs are not mail, and before `Engine::heard_from` nothing else would
/// have cleared the mark (the fake-core scribbler world found that).
#[test]
fn an_ipi_ici_from_an_unresponsive_core_makes_it_a_destination_again() {
    let [(mut hw0, mut e0), _] = machine();
    e0.depart(&mut hw0, gpos_vcpu(), 1, AwayReason::RtosActive);
    e0.flush(&mut hw0);
    let back = loop {
        hw0.now = e0.next_deadline(hw0.now).unwrap();
        e0.resend_overdue(&mut hw0);
        e0.flush(&mut hw0);
        if let Some(v) = e0.reclaim(&mut hw0) {
            break v;
        }
    };
    assert_eq!(back.id, 0);
    assert!(!e0.can_ship(1) && e0.is_unresponsive(1));
    // An IPI ICI from core 0 itself or from another core says nothing of core 1.
    e0.heard_from(0b0101);
    assert!(e0.is_unresponsive(1));
    e0.heard_from(0b0010);
    assert!(e0.can_ship(1) && !e0.is_unresponsive(1), "heard from core 1");
}

/// The claim word of vCPU (1, 0) on the two-core machine.
fn claim_word(hw: &Core) -> u32 {
    hw.shared.borrow()[claim_offset(2, 1, 0).unwrap() as usize / 4]
}

#[test]
fn a_migration_taken_in_time_is_never_taken_back_even_if_its_answer_is_lost() {
    let [(mut hw0, mut e0), (mut hw1, mut e1)] = machine();
    let (v, expires) = depart_one(&mut hw0, &mut e0, &mut hw1, &mut e1, gpos_vcpu());
    assert_eq!(Claim::decode(claim_word(&hw0)), Some(Claim::InFlight { epoch: 1, core: 1 }));
    assert!(matches!(e1.accept(&mut hw1, 0, v, true, expires, false), Arrival::Arrived(_)));
    assert_eq!(Claim::decode(claim_word(&hw0)), Some(Claim::Taken { epoch: 1, core: 1 }));
    // Its acknowledgement never leaves core 1 (not flushed).
    hw0.now = expires + CLOCK_SKEW - 1;
    assert_eq!(e0.resend_overdue(&mut hw0), 0, "expired: no use sending it again");
    assert!(!e0.in_flight_due(hw0.now));
    hw0.now += 1;
    assert!(e0.in_flight_due(hw0.now));
    assert!(e0.reclaim(&mut hw0).is_none(), "core 1 took it: its claim says so");
    assert_eq!(e0.in_flight(), 0, "settled by the claim, without an answer");
    assert_eq!(Claim::decode(claim_word(&hw0)), Some(Claim::Taken { epoch: 1, core: 1 }), "and left as it was");
    assert!(e0.can_ship(1), "a destination that took it is not unresponsive");
    assert_eq!(e0.forward_to(1, 0, 0), Some(1), "mail for it still goes to core 1");
    // The late acknowledgement finds nothing to end.
    e1.flush(&mut hw1);
    assert!(drain(&mut hw0, &mut e0, 1).is_empty());
    assert_eq!((e0.in_flight(), e0.next_deadline(hw0.now)), (0, None));
}

/// The window the claim word closes: core 1 reads the migration (its
/// ring's tail moves past it) and stops before taking it. Core 0 takes the
/// vCPU back at the end of the lease and the skew, and core 1, should it
/// go on with the copy it read, cannot take it, even by a clock that says
/// the lease still runs.
#[test]
fn a_destination_that_reads_a_migration_and_stops_before_taking_it_loses_nothing() {
    let [(mut hw0, mut e0), (mut hw1, mut e1)] = machine();
    let (v, expires) = depart_one(&mut hw0, &mut e0, &mut hw1, &mut e1, gpos_vcpu());
    hw0.now = expires + CLOCK_SKEW;
    let back = e0.reclaim(&mut hw0).expect("taken back although read");
    assert_eq!((back.away, back.epoch, back.ctx), (None, 1, v.ctx));
    assert_eq!(Claim::decode(claim_word(&hw0)), Some(Claim::Reclaimed { epoch: 1, core: 0 }));
    assert!(e0.is_unresponsive(1), "it never answered");
    assert_eq!((e0.in_flight(), e0.forward_to(1, 0, 0)), (0, None));
    // Core 1 goes on, its clock far behind core 0's.
    hw1.now = expires - 1;
    assert!(matches!(e1.accept(&mut hw1, 0, v, true, expires, false), Arrival::Expired), "the source has it");
    e1.flush(&mut hw1);
    assert!(drain(&mut hw0, &mut e0, 1).is_empty());
    assert!(e0.reclaim(&mut hw0).is_none(), "the refusal finds nothing to take back twice");
    assert!(e0.can_ship(1), "heard from again");
    // The next migration is a new claim, and taken.
    let (again, expires) = depart_one(&mut hw0, &mut e0, &mut hw1, &mut e1, back);
    assert!(matches!(e1.accept(&mut hw1, 0, again, true, expires, false), Arrival::Arrived(_)));
    assert_eq!(Claim::decode(claim_word(&hw0)), Some(Claim::Taken { epoch: 2, core: 1 }));
}

/// A claim word damaged while its migration is in doubt settles nothing:
/// the source asks the destination, which answers from what it did.
#[test]
fn a_damaged_claim_word_is_settled_by_the_destinations_answer() {
    for taken in [false, true] {
        let [(mut hw0, mut e0), (mut hw1, mut e1)] = machine();
        let (v, expires) = depart_one(&mut hw0, &mut e0, &mut hw1, &mut e1, gpos_vcpu());
        if taken {
            assert!(matches!(e1.accept(&mut hw1, 0, v, true, expires, false), Arrival::Arrived(_)));
        }
        let at = claim_offset(2, 1, 0).unwrap() as usize / 4;
        hw0.shared.borrow_mut()[at] ^= 0x100;
        hw0.now = expires + CLOCK_SKEW;
        assert!(e0.reclaim(&mut hw0).is_none(), "taken {taken}: a damaged word decides nothing");
        assert_eq!(e0.in_flight(), 1);
        assert!(e0.in_flight_due(hw0.now));
        assert_eq!(e0.resend_overdue(&mut hw0), 1, "a copy goes to get an answer");
        e0.flush(&mut hw0);
        hw1.now = hw0.now;
        let [Incoming::Migrate { vcpu: again, departure, expires: e }] = drain(&mut hw1, &mut e1, 0)[..] else { panic!() };
        let answer = e1.accept(&mut hw1, 0, again, departure, e, taken);
        e1.flush(&mut hw1);
        drain(&mut hw0, &mut e0, 1);
        if taken {
            assert!(matches!(answer, Arrival::Stale));
            assert!(e0.reclaim(&mut hw0).is_none());
            assert_eq!(e0.in_flight(), 0, "acknowledged");
        } else {
            assert!(matches!(answer, Arrival::Expired));
            assert_eq!(e0.reclaim(&mut hw0).map(|b| b.epoch), Some(1), "declined: taken back");
            assert!(e0.can_ship(1), "it answered");
        }
    }
}

#[test]
fn an_acknowledgement_of_an_earlier_migration_does_not_end_a_later_one() {
    let [(mut hw0, mut e0), (mut hw1, mut e1)] = machine();
    let (v, expires) = depart_one(&mut hw0, &mut e0, &mut hw1, &mut e1, gpos_vcpu());
    let Arrival::Arrived(w) = e1.accept(&mut hw1, 0, v, true, expires, false) else { panic!() };
    e1.flush(&mut hw1);
    drain(&mut hw0, &mut e0, 1);
    // It comes home (epoch 2), then leaves again (epoch 3).
    e1.return_home(&mut hw1, w, 0);
    e1.flush(&mut hw1);
    let [Incoming::Migrate { vcpu: home, departure: false, expires }] = drain(&mut hw0, &mut e0, 1)[..] else { panic!() };
    let Arrival::Arrived(home) = e0.accept(&mut hw0, 1, home, false, expires, false) else { panic!() };
    e0.flush(&mut hw0);
    e0.depart(&mut hw0, home, 1, AwayReason::RtosActive);
    e0.flush(&mut hw0);
    // Core 1 reads its mail: the return's acknowledgement... and, first,
    // a late acknowledgement of epoch 1 as a guest's scribble or a resend
    // would leave it. Core 0 must keep the copy of epoch 3.
    e1.queue(0, Post::MigrateAck { guest: 1, vcpu: 0, epoch: 1 });
    e1.flush(&mut hw1);
    drain(&mut hw0, &mut e0, 1);
    assert!(e0.next_deadline(hw0.now).is_some(), "epoch 3 is still in flight");
    let [Incoming::Migrate { vcpu: third, .. }] = drain(&mut hw1, &mut e1, 0)[..] else { panic!() };
    assert_eq!(third.epoch, 3);
}

#[test]
fn mail_whose_ici_was_lost_gets_its_ici_again_until_it_is_read() {
    let [(mut hw0, mut e0), (mut hw1, mut e1)] = machine();
    assert!(e0.queue(1, Post::ReturnRequest { guest: 0, vcpu: 1 }));
    let sent_at = hw0.now; // (the send is charged after its ICI)
    e0.flush(&mut hw0);
    assert_eq!(hw0.icis, [1]);
    // That ICI never reaches core 1. ICI_RECHECK later core 0 looks at the
    // ring's tail, finds the message unread and raises the ICI again; and so
    // on every ICI_RECHECK while it stays unread.
    let first = e0.next_recheck().unwrap();
    assert_eq!(first, sent_at + ICI_RECHECK);
    hw0.now = first - 1;
    e0.flush(&mut hw0);
    assert_eq!(hw0.icis, [1], "not yet");
    hw0.now = first;
    e0.flush(&mut hw0);
    assert_eq!((hw0.icis.as_slice(), e0.stats().icis_repeated), (&[1, 1][..], 1));
    assert_eq!(e0.next_recheck(), Some(first + ICI_RECHECK));
    // Lost again and again: the gap stays ICI_RECHECK (an ICI raised again
    // is no less likely to be lost).
    for k in 1..=10 {
        assert_eq!(e0.next_recheck(), Some(first + k * ICI_RECHECK));
        hw0.now = first + k * ICI_RECHECK;
        e0.flush(&mut hw0);
    }
    assert_eq!(e0.stats().icis_repeated, 11);
    // This one arrives: core 1 reads the message; the next look finds the
    // ring read and stops looking.
    let [Incoming::Post(Post::ReturnRequest { guest: 0, vcpu: 1 })] = drain(&mut hw1, &mut e1, 0)[..] else {
        panic!("the return request")
    };
    hw0.now = e0.next_recheck().unwrap();
    e0.flush(&mut hw0);
    assert_eq!(e0.stats().icis_repeated, 11);
    assert_eq!(e0.next_recheck(), None, "all read: nothing to look at");
    // The next send starts again from ICI_RECHECK.
    assert!(e0.queue(1, Post::ReturnRequest { guest: 0, vcpu: 1 }));
    let sent_at = hw0.now;
    e0.flush(&mut hw0);
    assert_eq!(e0.next_recheck(), Some(sent_at + ICI_RECHECK));
}

#[test]
fn mail_for_a_full_ring_is_tried_again_less_and_less_often() {
    let [(mut hw0, mut e0), (mut hw1, mut e1)] = machine();
    for n in 0..9 {
        assert!(e0.queue(1, Post::StartVcpu { guest: 0, vcpu: 1, entry: 0x8c00_0000, arg: n }));
    }
    // Eight fit; the ninth waits. Core 1 reads nothing: the tries space
    // out to half the time it has read nothing, from 10 us up to
    // MAIL_RETRY_MAX.
    let start = hw0.now;
    e0.flush(&mut hw0);
    assert!(e0.mail_due(hw0.now), "refused just now: tried again at the next entry");
    assert!(!e0.mail_due(start + MAIL_RETRY), "after 10 us without a read: at its retry time only");
    let mut tries = 0;
    let mut gaps = vec![];
    while hw0.now < start + 20 * MAIL_RETRY_MAX {
        let retry = e0.next_deadline(hw0.now).unwrap();
        gaps.push(retry - hw0.now);
        hw0.now = retry;
        e0.flush(&mut hw0);
        tries += 1;
    }
    assert_eq!(gaps[..2], [MAIL_RETRY, MAIL_RETRY], "the first tries: every 10 us");
    assert!(gaps.iter().all(|&g| g <= MAIL_RETRY_MAX) && gaps.contains(&MAIL_RETRY_MAX), "{gaps:?}");
    // 15.4 ms of a dead receiver: 1,536 tries at a fixed 10 us; here:
    assert!(tries < 60, "{tries} tries: {gaps:?}");
    assert_eq!(e0.stats().mailbox.sent, 8);
    // Core 1 reads one message: the ring is still too full for the rest,
    // but a receiver that reads, however slowly, brings its sender back to
    // the first gap (and to trying at every entry).
    assert!(e1.receive(&mut hw1, 0).is_some());
    assert!(e0.queue(1, Post::StartVcpu { guest: 0, vcpu: 1, entry: 0x8c00_0000, arg: 100 }));
    e0.flush(&mut hw0);
    assert_eq!(e0.stats().mailbox.sent, 9);
    assert!(e0.has_waiting() && e0.mail_due(hw0.now), "the tail moved: tried at the next entry");
    assert_eq!(e0.next_deadline(hw0.now).map(|t| t - hw0.now), Some(MAIL_RETRY));
    // Core 1 reads: the next try sends the rest, and nothing waits.
    assert_eq!(drain(&mut hw1, &mut e1, 0).len(), 8);
    e0.flush(&mut hw0);
    assert_eq!(e0.stats().mailbox.sent, 10);
    assert!(!e0.has_waiting() && !e0.mail_due(hw0.now));
}
