//! Every message kind through every ring, the migrated context word for
//! word, the exact shared-memory cost of each operation, initialisation
//! order and argument checks.
//!
//! Owns: these integration tests. Must not touch: anything outside
//! `migration/tests/`; the crate is used only through its public API.

mod common;

use common::*;
use spumone_kernel::guest::{MAX_GUESTS, MAX_VCPUS};
use spumone_kernel::vcpu::{VcpuContext, CONTEXT_WORDS};
use spumone_migration::layout::{ring_count, SLOTS_PER_RING};
use spumone_migration::mailbox::{Mailbox, RecvError, SendError};
use spumone_migration::message::{Field, Message, MessageKind, Rejection, HEADER_WORDS};

#[test]
fn every_kind_round_trips_on_every_ring() {
    for cores in 2..=4 {
        let (mut mem, mut boxes) = machine(cores);
        for from in 0..cores {
            for to in (0..cores).filter(|&to| to != from) {
                let sent = one_of_each_kind((from * 4 + to) as u32);
                // `Where` names core 3, which a 2- or 3-core machine lacks.
                let sent: Vec<Message> = sent
                    .into_iter()
                    .map(|m| match m {
                        Message::Where { guest, vcpu, .. } => Message::Where { guest, vcpu, core: (cores - 1) as u8 },
                        m => m,
                    })
                    .collect();
                for (i, m) in sent.iter().enumerate() {
                    assert_eq!(boxes[from].send(&mut mem, to, m), Ok(i as u32));
                }
                let (received, errors) = drain(&mut boxes[to], &mut mem, from);
                assert_eq!(errors, vec![]);
                assert_eq!(received, sent, "{from} -> {to} on {cores} cores");
            }
        }
        for (core, b) in boxes.iter().enumerate() {
            let s = b.stats();
            assert_eq!(s.sent, 8 * (cores as u64 - 1), "core {core}");
            assert_eq!(s.received, 8 * (cores as u64 - 1), "core {core}");
            assert_eq!(s.rejected.total() + s.lost + s.bad_head + s.overruns + s.full, 0);
        }
        assert_eq!(ring_count(cores), cores * (cores - 1));
    }
}

#[test]
fn a_migrated_context_arrives_identical() {
    let (mut mem, mut boxes) = machine(4);
    let context = distinct_context(7);
    let words = context.to_words();
    // Distinct values in every field: no word of the context repeats.
    for i in 0..CONTEXT_WORDS {
        for j in 0..i {
            assert_ne!(words[i], words[j], "context words {j} and {i} are equal");
        }
    }
    let sent = Message::Migrate {
        guest: (MAX_GUESTS - 1) as u8,
        vcpu: (MAX_VCPUS - 1) as u8,
        reason: 0xFF,
        context,
        pending_virqs: 0xFFFF_FFFF,
        timer_period: 0xFFFF_FFFE,
        timer_next_deadline: 0xFEDC_BA98_7654_3210,
        timer_oneshot: false,
        expires: 0x8000_0000_FFFF_FFFF,
    };
    assert_eq!(boxes[1].send(&mut mem, 2, &sent), Ok(0));
    let received = boxes[2].receive(&mut mem, 1).unwrap().unwrap();
    assert_eq!(received, sent);
    let Message::Migrate { context: arrived, .. } = received else { panic!("not a Migrate: {received:?}") };
    assert_eq!(arrived.to_words(), words);
    assert_eq!(arrived, context);
    // Field by field, so a field dropped from to_words/from_words shows.
    let VcpuContext {
        bank0,
        bank1,
        r8_15,
        pc,
        sr,
        gbr,
        vbr,
        ssr,
        spc,
        sgr,
        dbr,
        mach,
        macl,
        pr,
        fpscr,
        fpul,
        virtual_imask,
        preempt_count,
        fpr_bank0,
        fpr_bank1,
        expevt,
        intevt,
        tra,
        pteh,
        ptel,
        ttb,
        mmucr,
        tea,
    } = arrived;
    assert_eq!((bank0, bank1, r8_15), (context.bank0, context.bank1, context.r8_15));
    assert_eq!(
        [pc, sr, gbr, vbr, ssr, spc, sgr, dbr, mach, macl, pr, fpscr, fpul, virtual_imask, preempt_count],
        [
            context.pc,
            context.sr,
            context.gbr,
            context.vbr,
            context.ssr,
            context.spc,
            context.sgr,
            context.dbr,
            context.mach,
            context.macl,
            context.pr,
            context.fpscr,
            context.fpul,
            context.virtual_imask,
            context.preempt_count
        ]
    );
    assert_eq!((fpr_bank0, fpr_bank1), (context.fpr_bank0, context.fpr_bank1));
    assert_eq!(
        [expevt, intevt, tra, pteh, ptel, ttb, mmucr, tea],
        [context.expevt, context.intevt, context.tra, context.pteh, context.ptel, context.ttb, context.mmucr, context.tea]
    );
    // And the one-shot flag set, on another ring.
    let oneshot = migrate(99);
    assert_eq!(boxes[3].send(&mut mem, 0, &oneshot), Ok(0));
    assert_eq!(boxes[0].receive(&mut mem, 3), Ok(Some(oneshot)));
}

/// The cost table of docs/mailbox.md, access by access.
#[test]
fn shared_memory_accesses_per_operation() {
    let mut mem = FakeMemory::new(4);
    let mut boxes: Vec<Mailbox> = (0..4).map(|me| Mailbox::new(me, 4)).collect();
    // Initialisation: per receive ring, the head index (2 words), the 8
    // slot magics, the tail index (2 words).
    boxes[0].init(&mut mem);
    assert_eq!((mem.reads, mem.writes), (0, 3 * (2 + SLOTS_PER_RING as u64 + 2)));
    for b in &mut boxes[1..] {
        b.init(&mut mem);
    }

    let payload_words = |m: &Message| m.kind().payload_words() as u64;
    for m in one_of_each_kind(1) {
        let p = payload_words(&m);
        mem.reset_counts();
        boxes[0].send(&mut mem, 1, &m).unwrap();
        // Tail index read; header + payload writes; head index write.
        assert_eq!((mem.reads, mem.writes), (2, HEADER_WORDS as u64 + p + 2), "send {:?}", m.kind());
        assert_eq!(mem.barriers, 2);
        mem.reset_counts();
        assert_eq!(boxes[1].receive(&mut mem, 0), Ok(Some(m)));
        // Head index read; header + payload reads; tail index write.
        assert_eq!((mem.reads, mem.writes), (2 + HEADER_WORDS as u64 + p, 2), "receive {:?}", m.kind());
        assert_eq!(mem.barriers, 2);
    }
    assert_eq!(payload_words(&migrate(0)), 86);

    // Whether the receiver has read past a message: the tail index only.
    mem.reset_counts();
    let next = boxes[0].send(&mut mem, 1, &numbered(1)).unwrap();
    mem.reset_counts();
    assert_eq!(boxes[0].read_past(&mut mem, 1, next), Some(false));
    assert_eq!(boxes[0].read_past(&mut mem, 1, next - 1), Some(true));
    assert_eq!((mem.reads, mem.writes), (4, 0));
    assert_eq!(boxes[1].receive(&mut mem, 0), Ok(Some(numbered(1))));
    assert_eq!(boxes[0].read_past(&mut mem, 1, next), Some(true), "its tail is published as it reads");
    assert_eq!(boxes[0].read_past(&mut mem, 1, next + 1), Some(false));

    // An empty poll: the head index read and the tail index rewrite.
    mem.reset_counts();
    assert_eq!(boxes[1].receive(&mut mem, 0), Ok(None));
    assert_eq!((mem.reads, mem.writes), (2, 2));

    // A refused send: the tail index read and the head index rewrite.
    for i in 0..SLOTS_PER_RING {
        boxes[0].send(&mut mem, 1, &numbered(i)).unwrap();
    }
    mem.reset_counts();
    assert_eq!(boxes[0].send(&mut mem, 1, &numbered(8)), Err(SendError::Full));
    assert_eq!((mem.reads, mem.writes), (2, 2));

    // An invalid message or a bad core costs nothing.
    mem.reset_counts();
    let _ = boxes[0].send(&mut mem, 0, &numbered(0));
    let _ = boxes[0].send(&mut mem, 2, &Message::Wake { guest: MAX_GUESTS as u8, vcpu: 0 });
    let _ = boxes[0].receive(&mut mem, 0);
    assert_eq!(mem.accesses(), 0);
}

#[test]
fn a_sender_waits_until_the_receiver_has_initialised_its_ring() {
    let mut mem = FakeMemory::new(2);
    let mut core0 = Mailbox::new(0, 2);
    let mut core1 = Mailbox::new(1, 2);
    core0.init(&mut mem);
    let m = Message::Wake { guest: 1, vcpu: 1 };
    assert_eq!(core0.send(&mut mem, 1, &m), Err(SendError::NotReady));
    assert_eq!(core0.send(&mut mem, 1, &m), Err(SendError::NotReady));
    assert_eq!(core1.receive(&mut mem, 0), Err(RecvError::NotInitialised));
    // Core 0 was ready all along: core 1 can send to it before its own init.
    assert_eq!(core1.send(&mut mem, 0, &m), Ok(0));
    core1.init(&mut mem);
    assert_eq!(core0.send(&mut mem, 1, &m), Ok(0));
    assert_eq!(core1.receive(&mut mem, 0), Ok(Some(m)));
    assert_eq!(core0.receive(&mut mem, 1), Ok(Some(m)));
    assert_eq!(core0.stats().not_ready, 2);
    assert_eq!(core0.stats().corrupt_tail, 0);
}

#[test]
fn bad_cores_and_configurations_are_refused() {
    let (mut mem, mut boxes) = machine(4);
    let m = Message::Wake { guest: 0, vcpu: 0 };
    assert_eq!(boxes[2].send(&mut mem, 2, &m), Err(SendError::BadCore { to: 2 }));
    assert_eq!(boxes[2].send(&mut mem, 4, &m), Err(SendError::BadCore { to: 4 }));
    assert_eq!(boxes[2].receive(&mut mem, 2), Err(RecvError::BadCore { from: 2 }));
    assert_eq!(boxes[2].receive(&mut mem, 9), Err(RecvError::BadCore { from: 9 }));

    assert!(Mailbox::try_new(4, 4).is_err());
    assert!(Mailbox::try_new(0, 1).is_err());
    assert!(Mailbox::try_new(0, 5).is_err());
    let mut impossible = Mailbox::new(0, 5);
    let mut big = FakeMemory::new(4);
    impossible.init(&mut big);
    assert_eq!(big.accesses(), 0);
    assert_eq!(impossible.send(&mut big, 1, &m), Err(SendError::BadCore { to: 1 }));
    assert_eq!(impossible.receive(&mut big, 1), Err(RecvError::BadCore { from: 1 }));
}

#[test]
fn invalid_messages_are_never_sent() {
    let (mut mem, mut boxes) = machine(2);
    let cases = [
        (
            Message::Wake { guest: MAX_GUESTS as u8, vcpu: 0 },
            Rejection::BadField { field: Field::Guest, found: MAX_GUESTS as u32, limit: MAX_GUESTS as u32 },
        ),
        (
            Message::MigrateAck { guest: 0, vcpu: MAX_VCPUS as u8, epoch: 0 },
            Rejection::BadField { field: Field::Vcpu, found: MAX_VCPUS as u32, limit: MAX_VCPUS as u32 },
        ),
        (
            Message::VirtualIpi { guest: 0, vcpu: 0, message: 8 },
            Rejection::BadField { field: Field::IpiMessage, found: 8, limit: 8 },
        ),
        (Message::Where { guest: 0, vcpu: 0, core: 2 }, Rejection::BadField { field: Field::Core, found: 2, limit: 2 }),
    ];
    for (m, reason) in cases {
        assert_eq!(boxes[0].send(&mut mem, 1, &m), Err(SendError::Invalid(reason)));
        assert!(!SendError::Invalid(reason).is_retryable());
    }
    let mut context = distinct_context(1);
    context.virtual_imask = 16;
    let Message::Migrate {
        guest, vcpu, reason, pending_virqs, timer_period, timer_next_deadline, timer_oneshot, expires, ..
    } = migrate(1)
    else {
        unreachable!()
    };
    let m = Message::Migrate {
        guest,
        vcpu,
        reason,
        context,
        pending_virqs,
        timer_period,
        timer_next_deadline,
        timer_oneshot,
        expires,
    };
    assert_eq!(
        boxes[0].send(&mut mem, 1, &m),
        Err(SendError::Invalid(Rejection::BadField { field: Field::VirtualImask, found: 16, limit: 16 }))
    );
    assert_eq!(boxes[0].stats().invalid_outgoing, 5);
    assert_eq!(boxes[0].stats().sent, 0);
    assert_eq!(boxes[1].receive(&mut mem, 0), Ok(None));
    assert!(MessageKind::ALL.iter().all(|k| k.payload_words() >= 1));
}
