//! Ring behaviour with well-behaved cores: full, empty, and wraparound of
//! the slots over many messages.
//!
//! Owns: these integration tests. Must not touch: anything outside
//! `migration/tests/`; the crate is used only through its public API.

mod common;

use common::*;
use spumone_migration::layout::SLOTS_PER_RING;
use spumone_migration::mailbox::SendError;
use spumone_migration::message::Message;

fn arg(m: &Message) -> u32 {
    match *m {
        Message::StartVcpu { arg, .. } => arg,
        _ => panic!("unexpected {m:?}"),
    }
}

#[test]
fn empty_ring_yields_nothing_and_stays_empty() {
    let (mut mem, mut boxes) = machine(3);
    for _ in 0..5 {
        assert_eq!(boxes[2].receive(&mut mem, 0), Ok(None));
        assert_eq!(boxes[2].receive(&mut mem, 1), Ok(None));
    }
    assert_eq!(boxes[2].stats(), Default::default());
}

#[test]
fn a_full_ring_refuses_and_loses_nothing() {
    let (mut mem, mut boxes) = machine(4);
    for i in 0..SLOTS_PER_RING {
        assert_eq!(boxes[3].send(&mut mem, 1, &numbered(i)), Ok(i));
    }
    for _ in 0..3 {
        assert_eq!(boxes[3].send(&mut mem, 1, &numbered(100)), Err(SendError::Full));
    }
    assert!(SendError::Full.is_retryable());
    assert_eq!(boxes[3].stats().full, 3);
    // One slot freed: exactly one more fits.
    assert_eq!(boxes[1].receive(&mut mem, 3), Ok(Some(numbered(0))));
    assert_eq!(boxes[3].send(&mut mem, 1, &numbered(8)), Ok(8));
    assert_eq!(boxes[3].send(&mut mem, 1, &numbered(9)), Err(SendError::Full));
    let (got, errors) = drain(&mut boxes[1], &mut mem, 3);
    assert_eq!(errors, vec![]);
    assert_eq!(got.iter().map(arg).collect::<Vec<_>>(), (1..=8).collect::<Vec<_>>());
    assert_eq!(boxes[3].send(&mut mem, 1, &numbered(9)), Ok(9));
    assert_eq!(boxes[1].receive(&mut mem, 3), Ok(Some(numbered(9))));
    assert_eq!(boxes[1].stats().received, 10);
    assert_eq!(boxes[3].stats().sent, 10);
}

/// 70,000 messages in batches of 1 to 8 (8,750 laps of the slots), on two
/// rings at once, every one delivered in order with the sequence number
/// its send returned.
#[test]
fn wraparound_over_many_messages() {
    let (mut mem, mut boxes) = machine(2);
    const TOTAL: u32 = 70_000;
    let mut next = [0u32; 2];
    let mut expected = [0u32; 2];
    let mut batch = 0u32;
    while next[0] < TOTAL || next[1] < TOTAL {
        batch = batch % SLOTS_PER_RING + 1;
        for from in 0..2 {
            let to = 1 - from;
            for _ in 0..batch {
                if next[from] == TOTAL {
                    break;
                }
                let n = next[from];
                // A Migrate now and then, so big slots wrap too.
                let m = if n % 97 == 0 { migrate(n) } else { numbered(n) };
                assert_eq!(boxes[from].send(&mut mem, to, &m), Ok(n));
                next[from] += 1;
            }
            let (got, errors) = drain(&mut boxes[to], &mut mem, from);
            assert_eq!(errors, vec![]);
            for m in got {
                let n = expected[from];
                let want = if n % 97 == 0 { migrate(n) } else { numbered(n) };
                assert_eq!(m, want);
                expected[from] += 1;
            }
            assert_eq!(expected[from], next[from]);
        }
    }
    for b in &boxes {
        let s = b.stats();
        assert_eq!((s.sent, s.received), (TOTAL as u64, TOTAL as u64));
        assert_eq!(s.full + s.lost + s.bad_head + s.overruns + s.rejected.total(), 0);
    }
}

/// Filling the ring every time: the sender sees Full on each lap and
/// nothing is lost or reordered.
#[test]
fn full_on_every_lap() {
    let (mut mem, mut boxes) = machine(2);
    let mut n = 0;
    for _lap in 0..100 {
        loop {
            match boxes[0].send(&mut mem, 1, &numbered(n)) {
                Ok(seq) => {
                    assert_eq!(seq, n);
                    n += 1;
                }
                Err(SendError::Full) => break,
                Err(e) => panic!("{e:?}"),
            }
        }
        let (got, errors) = drain(&mut boxes[1], &mut mem, 0);
        assert!(errors.is_empty());
        assert_eq!(got.len(), SLOTS_PER_RING as usize);
        assert_eq!(arg(got.last().unwrap()), n - 1);
    }
    assert_eq!(boxes[0].stats().full, 100);
}
