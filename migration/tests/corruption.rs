//! Every kind of corruption of a ring: each is rejected with its precise
//! error, counted, and the ring delivers the next good message.
//!
//! Owns: these integration tests. Must not touch: anything outside
//! `migration/tests/`; the crate is used only through its public API.

mod common;

use common::*;
use spumone_migration::index::{encode_index, index_check, index_tag, IndexRole};
use spumone_migration::layout::{ring_offset, HEAD_OFFSET, SLOTS_PER_RING, TAIL_OFFSET};
use spumone_migration::mailbox::{IndexFault, Mailbox, RecvError, SendError};
use spumone_migration::message::{checksum, Field, Message, MessageKind, Rejection, HEADER_WORDS, MESSAGE_MAGIC, MIGRATE_FIXED_WORDS};

const CORES: usize = 4;
/// The ring under test.
const FROM: usize = 2;
const TO: usize = 1;

fn ring() -> u32 {
    ring_offset(CORES, FROM, TO).unwrap()
}

/// A machine whose ring FROM -> TO has carried `done` messages already.
fn machine_at(done: u32) -> (FakeMemory, Vec<Mailbox>) {
    let (mut mem, mut boxes) = machine(CORES);
    for i in 0..done {
        boxes[FROM].send(&mut mem, TO, &numbered(i)).unwrap();
        assert_eq!(boxes[TO].receive(&mut mem, FROM), Ok(Some(numbered(i))));
    }
    (mem, boxes)
}

/// Words `0..n` of the slot at byte `offset`.
fn slot_words(mem: &FakeMemory, offset: u32, n: usize) -> Vec<u32> {
    (0..n).map(|i| mem.word(offset + 4 * i as u32)).collect()
}

/// Rewrite the checksum of the slot at `offset` so it matches its other
/// words (a deliberate forgery rather than random damage).
fn reseal(mem: &mut FakeMemory, offset: u32) {
    let length = (mem.word(offset + 8) >> 8 & 0xFF) as usize;
    let w = slot_words(mem, offset, HEADER_WORDS + length);
    mem.set_word(offset + 12, checksum(w[0], w[1], w[2], &w[HEADER_WORDS..]));
}

/// Write both words of an index.
fn set_index(mem: &mut FakeMemory, offset: u32, words: [u32; 2]) {
    mem.set_word(offset, words[0]);
    mem.set_word(offset + 4, words[1]);
}

fn send(boxes: &mut [Mailbox], mem: &mut FakeMemory, m: &Message) -> u32 {
    boxes[FROM].send(mem, TO, m).unwrap()
}

fn drain_ring(boxes: &mut [Mailbox], mem: &mut FakeMemory) -> (Vec<Message>, Vec<RecvError>) {
    drain(&mut boxes[TO], mem, FROM)
}

/// What flipping `mask` into byte `byte` of a slot holding `original`
/// (header and payload) must be rejected as, following the documented
/// order: magic, kind, length, checksum, route, sequence, fields.
fn expected_rejection(original: &[u32], byte: usize, mask: u8) -> Rejection {
    let mut w = original.to_vec();
    w[byte / 4] ^= (mask as u32) << (8 * (byte % 4));
    let length = (original[2] >> 8) as u8;
    let kind = MessageKind::from_u8(original[2] as u8).unwrap();
    let recomputed = checksum(w[0], w[1], w[2], &w[HEADER_WORDS..]);
    match (byte / 4, byte % 4) {
        (0, _) => Rejection::BadMagic { expected: MESSAGE_MAGIC, found: w[0] },
        (2, 0) => {
            let code = w[2] as u8;
            match MessageKind::from_u8(code) {
                None => Rejection::UnknownKind { found: code },
                Some(k) if k.payload_words() != length as usize => {
                    Rejection::BadLength { kind: k, expected: k.payload_words() as u8, found: length }
                }
                Some(_) => Rejection::BadChecksum { expected: recomputed, found: w[3] },
            }
        }
        (2, 1) => Rejection::BadLength { kind, expected: length, found: length ^ mask },
        (3, _) => Rejection::BadChecksum { expected: original[3], found: w[3] },
        // Sequence, route bytes and payload: the checksum catches them first.
        _ => Rejection::BadChecksum { expected: recomputed, found: original[3] },
    }
}

#[test]
fn every_byte_flip_of_a_slot_is_rejected_and_the_ring_recovers() {
    let templates = [numbered(0xABCD), Message::VirtualIpi { guest: 1, vcpu: 2, message: 3 }, migrate(5)];
    let mut flips = 0;
    for template in templates {
        let (mut mem, mut boxes) = machine_at(3);
        let used = HEADER_WORDS + template.kind().payload_words();
        // Every byte of the message, and a few bytes past it (unused).
        for byte in 0..used * 4 + 8 {
            for mask in [0x01u8, 0x80, 0xFF] {
                let position = send(&mut boxes, &mut mem, &template);
                let offset = slot(CORES, FROM, TO, position);
                let original = slot_words(&mem, offset, used);
                mem.flip_byte(offset + 4 * (byte / 4) as u32, byte % 4, mask);
                let follow = numbered(position + 1);
                assert_eq!(send(&mut boxes, &mut mem, &follow), position + 1);
                let (got, errors) = drain_ring(&mut boxes, &mut mem);
                if byte >= used * 4 {
                    assert_eq!(errors, vec![], "byte {byte} is not part of the message");
                    assert_eq!(got, vec![template, follow]);
                } else {
                    let reason = expected_rejection(&original, byte, mask);
                    assert_eq!(
                        errors,
                        vec![RecvError::Rejected { position, reason }],
                        "{:?}: byte {byte} ^ {mask:#x}",
                        template.kind()
                    );
                    assert_eq!(got, vec![follow], "the message after the bad one is delivered");
                    flips += 1;
                }
            }
        }
        let s = boxes[TO].stats();
        assert_eq!(s.lost, s.rejected.total());
        assert_eq!(s.rejected.bad_magic, 4 * 3);
        assert!(s.rejected.bad_checksum > 0 && s.rejected.bad_length > 0 && s.rejected.unknown_kind > 0);
        assert_eq!(s.bad_head + s.overruns, 0);
    }
    // 3 masks x 4 bytes x (7 + 5 + 90 words).
    assert_eq!(flips, 3 * 4 * (7 + 5 + 90));
}

#[test]
fn bad_magic_and_zeroed_slots() {
    let (mut mem, mut boxes) = machine_at(5);
    let p = send(&mut boxes, &mut mem, &numbered(1));
    mem.set_word(slot(CORES, FROM, TO, p), 0xDEAD_BEEF);
    let q = send(&mut boxes, &mut mem, &numbered(2));
    for i in 0..HEADER_WORDS as u32 + 3 {
        mem.set_word(slot(CORES, FROM, TO, q) + 4 * i, 0);
    }
    send(&mut boxes, &mut mem, &numbered(3));
    let (got, errors) = drain_ring(&mut boxes, &mut mem);
    assert_eq!(
        errors,
        vec![
            RecvError::Rejected {
                position: p,
                reason: Rejection::BadMagic { expected: MESSAGE_MAGIC, found: 0xDEAD_BEEF }
            },
            RecvError::Rejected { position: q, reason: Rejection::BadMagic { expected: MESSAGE_MAGIC, found: 0 } },
        ]
    );
    assert_eq!(got, vec![numbered(3)]);
    assert_eq!(boxes[TO].stats().rejected.bad_magic, 2);
    assert_eq!(boxes[TO].stats().lost, 2);
}

#[test]
fn bad_checksum() {
    let (mut mem, mut boxes) = machine_at(2);
    let p = send(&mut boxes, &mut mem, &numbered(1));
    let offset = slot(CORES, FROM, TO, p) + 12;
    let stored = mem.word(offset);
    mem.set_word(offset, stored ^ 0x0001_0000);
    send(&mut boxes, &mut mem, &numbered(2));
    let (got, errors) = drain_ring(&mut boxes, &mut mem);
    assert_eq!(
        errors,
        vec![RecvError::Rejected {
            position: p,
            reason: Rejection::BadChecksum { expected: stored, found: stored ^ 0x0001_0000 }
        }]
    );
    assert_eq!(got, vec![numbered(2)]);
    assert_eq!(boxes[TO].stats().rejected.bad_checksum, 1);
}

#[test]
fn length_mismatch_even_with_a_matching_checksum() {
    let (mut mem, mut boxes) = machine_at(1);
    let p = send(&mut boxes, &mut mem, &Message::Wake { guest: 0, vcpu: 1 });
    let offset = slot(CORES, FROM, TO, p);
    let routing = mem.word(offset + 8);
    mem.set_word(offset + 8, routing & !0xFF00 | 2 << 8);
    reseal(&mut mem, offset);
    send(&mut boxes, &mut mem, &numbered(2));
    let (got, errors) = drain_ring(&mut boxes, &mut mem);
    assert_eq!(
        errors,
        vec![RecvError::Rejected {
            position: p,
            reason: Rejection::BadLength { kind: MessageKind::Wake, expected: 1, found: 2 }
        }]
    );
    assert_eq!(got, vec![numbered(2)]);
    assert_eq!(boxes[TO].stats().rejected.bad_length, 1);
}

#[test]
fn unknown_kind() {
    let (mut mem, mut boxes) = machine_at(0);
    let p = send(&mut boxes, &mut mem, &numbered(1));
    let offset = slot(CORES, FROM, TO, p);
    mem.set_word(offset + 8, mem.word(offset + 8) & !0xFF | 0x42);
    reseal(&mut mem, offset);
    send(&mut boxes, &mut mem, &numbered(2));
    let (got, errors) = drain_ring(&mut boxes, &mut mem);
    assert_eq!(errors, vec![RecvError::Rejected { position: p, reason: Rejection::UnknownKind { found: 0x42 } }]);
    assert_eq!(got, vec![numbered(2)]);
}

#[test]
fn replayed_sequence_number() {
    let (mut mem, mut boxes) = machine_at(4);
    // Message 4 goes through; keep a copy of its slot.
    let old = send(&mut boxes, &mut mem, &numbered(40));
    let old_offset = slot(CORES, FROM, TO, old);
    let copy = slot_words(&mem, old_offset, HEADER_WORDS + 3);
    assert_eq!(boxes[TO].receive(&mut mem, FROM), Ok(Some(numbered(40))));
    for i in 1..SLOTS_PER_RING {
        send(&mut boxes, &mut mem, &numbered(40 + i));
        assert_eq!(boxes[TO].receive(&mut mem, FROM), Ok(Some(numbered(40 + i))));
    }
    // One lap later the same slot carries message 12; a guest puts the old
    // one back.
    let p = send(&mut boxes, &mut mem, &numbered(48));
    assert_eq!((p, slot(CORES, FROM, TO, p)), (old + SLOTS_PER_RING, old_offset));
    for (i, w) in copy.iter().enumerate() {
        mem.set_word(old_offset + 4 * i as u32, *w);
    }
    send(&mut boxes, &mut mem, &numbered(49));
    let (got, errors) = drain_ring(&mut boxes, &mut mem);
    assert_eq!(
        errors,
        vec![RecvError::Rejected { position: p, reason: Rejection::BadSequence { expected: p, found: old } }]
    );
    assert_eq!(got, vec![numbered(49)]);
    assert_eq!(boxes[TO].stats().rejected.bad_sequence, 1);
}

#[test]
fn skipped_sequence_number() {
    let (mut mem, mut boxes) = machine_at(6);
    let p = send(&mut boxes, &mut mem, &numbered(1));
    let offset = slot(CORES, FROM, TO, p);
    mem.set_word(offset + 4, p + 1);
    reseal(&mut mem, offset);
    let q = send(&mut boxes, &mut mem, &numbered(2));
    let (got, errors) = drain_ring(&mut boxes, &mut mem);
    assert_eq!(
        errors,
        vec![RecvError::Rejected { position: p, reason: Rejection::BadSequence { expected: p, found: p + 1 } }]
    );
    // The next message has the sequence number the receiver expects next.
    assert_eq!(q, p + 1);
    assert_eq!(got, vec![numbered(2)]);
}

#[test]
fn a_message_copied_from_another_ring() {
    let (mut mem, mut boxes) = machine_at(0);
    // Core 0 sends to core 1: same position 0, different ring.
    boxes[0].send(&mut mem, TO, &numbered(7)).unwrap();
    let foreign = slot_words(&mem, slot(CORES, 0, TO, 0), HEADER_WORDS + 3);
    let p = send(&mut boxes, &mut mem, &numbered(1));
    for (i, w) in foreign.iter().enumerate() {
        mem.set_word(slot(CORES, FROM, TO, p) + 4 * i as u32, *w);
    }
    send(&mut boxes, &mut mem, &numbered(2));
    let (got, errors) = drain_ring(&mut boxes, &mut mem);
    assert_eq!(
        errors,
        vec![RecvError::Rejected {
            position: p,
            reason: Rejection::BadRoute {
                expected_from: FROM as u8,
                expected_to: TO as u8,
                found_from: 0,
                found_to: TO as u8
            }
        }]
    );
    assert_eq!(got, vec![numbered(2)]);
    // Core 0's own message is untouched.
    assert_eq!(boxes[TO].receive(&mut mem, 0), Ok(Some(numbered(7))));
}

#[test]
fn forged_fields_out_of_range() {
    let (mut mem, mut boxes) = machine_at(3);
    // A virtual IPI for message 9, and one with a reserved bit, both with
    // correct checksums.
    let p = send(&mut boxes, &mut mem, &Message::VirtualIpi { guest: 1, vcpu: 1, message: 7 });
    let offset = slot(CORES, FROM, TO, p);
    mem.set_word(offset + 16, 1 | 1 << 8 | 9 << 16);
    reseal(&mut mem, offset);
    let q = send(&mut boxes, &mut mem, &Message::Wake { guest: 1, vcpu: 1 });
    let offset = slot(CORES, FROM, TO, q);
    mem.set_word(offset + 16, 1 | 1 << 8 | 1 << 20);
    reseal(&mut mem, offset);
    let r = send(&mut boxes, &mut mem, &Message::Where { guest: 0, vcpu: 0, core: 0 });
    let offset = slot(CORES, FROM, TO, r);
    mem.set_word(offset + 16, 4 << 16);
    reseal(&mut mem, offset);
    let s = send(&mut boxes, &mut mem, &migrate(3));
    let offset = slot(CORES, FROM, TO, s);
    mem.set_word(offset + 4 * (HEADER_WORDS + MIGRATE_FIXED_WORDS + VIRTUAL_IMASK_WORD) as u32, 16);
    reseal(&mut mem, offset);
    send(&mut boxes, &mut mem, &numbered(2));
    let (got, errors) = drain_ring(&mut boxes, &mut mem);
    assert_eq!(
        errors,
        vec![
            RecvError::Rejected {
                position: p,
                reason: Rejection::BadField { field: Field::IpiMessage, found: 9, limit: 8 }
            },
            RecvError::Rejected { position: q, reason: Rejection::ReservedBits { word: 0, found: 1 << 20 } },
            RecvError::Rejected {
                position: r,
                reason: Rejection::BadField { field: Field::Core, found: 4, limit: CORES as u32 }
            },
            RecvError::Rejected {
                position: s,
                reason: Rejection::BadField { field: Field::VirtualImask, found: 16, limit: 16 }
            },
        ]
    );
    assert_eq!(got, vec![numbered(2)]);
    let counts = boxes[TO].stats().rejected;
    assert_eq!((counts.bad_field, counts.reserved_bits), (3, 1));
}

/// A head caught half-written by its sender (the count of message 3
/// stored, its check not yet; or the check stored and the count read just
/// before it) is not a bad head: the receiver reads it as the head before
/// (2 messages), and message 3 once the write is done. A run of the board
/// image with no fault injected counted such a pair as a bad head: the
/// sender's time slice ended between its two stores.
#[test]
fn a_head_caught_half_written_reads_as_the_head_before_it() {
    let tag = index_tag(IndexRole::Head, FROM, TO);
    for half in [[3, index_check(tag, 2)], [2, index_check(tag, 3)]] {
        let (mut mem, mut boxes) = machine_at(0);
        send(&mut boxes, &mut mem, &numbered(1));
        send(&mut boxes, &mut mem, &numbered(2));
        send(&mut boxes, &mut mem, &numbered(3));
        let complete = [mem.word(ring() + HEAD_OFFSET), mem.word(ring() + HEAD_OFFSET + 4)];
        mem.set_word(ring() + HEAD_OFFSET, half[0]);
        mem.set_word(ring() + HEAD_OFFSET + 4, half[1]);
        assert_eq!(drain_ring(&mut boxes, &mut mem), (vec![numbered(1), numbered(2)], vec![]), "{half:x?}");
        mem.set_word(ring() + HEAD_OFFSET, complete[0]);
        mem.set_word(ring() + HEAD_OFFSET + 4, complete[1]);
        assert_eq!(drain_ring(&mut boxes, &mut mem), (vec![numbered(3)], vec![]), "{half:x?}");
        assert_eq!((boxes[TO].stats().bad_head, boxes[TO].stats().lost), (0, 0));
    }
}

#[test]
fn an_absurd_head_is_rejected_once_and_healed_by_the_next_send() {
    let (mut mem, mut boxes) = machine_at(0);
    send(&mut boxes, &mut mem, &numbered(1));
    // Claims a million messages pending (the count word scribbled, its
    // check word left as the sender wrote it for 1).
    let tag = index_tag(IndexRole::Head, FROM, TO);
    mem.set_word(ring() + HEAD_OFFSET, 1_000_000);
    let (got, errors) = drain_ring(&mut boxes, &mut mem);
    assert_eq!(got, vec![]);
    assert_eq!(
        errors,
        vec![RecvError::BadHead {
            found: 1_000_000,
            fault: IndexFault::BadCheck { expected: index_check(tag, 1_000_000), found: index_check(tag, 1) }
        }]
    );
    // Reported once; nothing consumed, nothing looped over: the pair is
    // read, the tail rewritten.
    mem.reset_counts();
    assert_eq!(drain_ring(&mut boxes, &mut mem), (vec![], vec![]));
    assert_eq!((mem.reads, mem.writes), (2, 2));
    assert_eq!(boxes[TO].stats().bad_head, 1);
    assert_eq!(boxes[TO].stats().lost, 0);
    // The sender's next message republishes the real head: both arrive.
    send(&mut boxes, &mut mem, &numbered(2));
    assert_eq!(drain_ring(&mut boxes, &mut mem), (vec![numbered(1), numbered(2)], vec![]));
}

#[test]
fn a_full_sender_republishes_a_scribbled_head() {
    let (mut mem, mut boxes) = machine_at(0);
    for i in 0..SLOTS_PER_RING {
        send(&mut boxes, &mut mem, &numbered(i));
    }
    mem.set_word(ring() + HEAD_OFFSET, 0x1234_5678);
    assert!(matches!(drain_ring(&mut boxes, &mut mem).1[..], [RecvError::BadHead { found: 0x1234_5678, .. }]));
    assert_eq!(boxes[FROM].send(&mut mem, TO, &numbered(99)), Err(SendError::Full));
    let (got, errors) = drain_ring(&mut boxes, &mut mem);
    assert_eq!((got.len(), errors), (SLOTS_PER_RING as usize, vec![]));
}

#[test]
fn a_replayed_head_behind_the_receiver_waits_for_the_sender() {
    let (mut mem, mut boxes) = machine_at(3);
    let old_head = encode_index(index_tag(IndexRole::Head, FROM, TO), 1);
    send(&mut boxes, &mut mem, &numbered(1));
    set_index(&mut mem, ring() + HEAD_OFFSET, old_head);
    assert_eq!(
        drain_ring(&mut boxes, &mut mem),
        (vec![], vec![RecvError::BadHead { found: 1, fault: IndexFault::Behind { by: 2 } }])
    );
    send(&mut boxes, &mut mem, &numbered(2));
    assert_eq!(drain_ring(&mut boxes, &mut mem), (vec![numbered(1), numbered(2)], vec![]));
}

#[test]
fn a_scribbled_tail_is_refused_by_the_sender_and_healed_by_the_receiver() {
    let (mut mem, mut boxes) = machine_at(2);
    // The receiver is at 2; its count word is scribbled.
    mem.set_word(ring() + TAIL_OFFSET, 0xDEAD_BEEF);
    let tag = index_tag(IndexRole::Tail, FROM, TO);
    assert_eq!(
        boxes[FROM].send(&mut mem, TO, &numbered(1)),
        Err(SendError::CorruptTail {
            found: 0xDEAD_BEEF,
            fault: IndexFault::BadCheck { expected: index_check(tag, 0xDEAD_BEEF), found: index_check(tag, 2) }
        })
    );
    assert!(SendError::NotReady.is_retryable());
    assert_eq!(boxes[FROM].stats().corrupt_tail, 1);
    // An empty poll rewrites the tail.
    assert_eq!(drain_ring(&mut boxes, &mut mem), (vec![], vec![]));
    assert_eq!(boxes[FROM].send(&mut mem, TO, &numbered(1)), Ok(2));
    assert_eq!(drain_ring(&mut boxes, &mut mem), (vec![numbered(1)], vec![]));

    // Fill the ring (positions 3..=10), then replay a tail word from more
    // than a ring ago: the sender refuses it rather than overwrite.
    for i in 3..3 + SLOTS_PER_RING {
        assert_eq!(boxes[FROM].send(&mut mem, TO, &numbered(i)), Ok(i));
    }
    set_index(&mut mem, ring() + TAIL_OFFSET, encode_index(tag, 1));
    assert_eq!(
        boxes[FROM].send(&mut mem, TO, &numbered(11)),
        Err(SendError::CorruptTail { found: 1, fault: IndexFault::TooFarBehind { by: 2 } })
    );
    assert_eq!(boxes[FROM].stats().corrupt_tail, 2);
    let (got, errors) = drain_ring(&mut boxes, &mut mem);
    assert_eq!((got, errors), ((3..11).map(numbered).collect::<Vec<_>>(), vec![]));
    assert_eq!(boxes[FROM].send(&mut mem, TO, &numbered(11)), Ok(11));
}

#[test]
fn a_forged_tail_lets_the_sender_overrun_and_the_receiver_resumes() {
    let (mut mem, mut boxes) = machine_at(2);
    for i in 2..5 {
        send(&mut boxes, &mut mem, &numbered(i));
    }
    // Receiver at 2 with 2, 3, 4 unread; the tail word claims 5.
    let tag = index_tag(IndexRole::Tail, FROM, TO);
    set_index(&mut mem, ring() + TAIL_OFFSET, encode_index(tag, 5));
    for i in 5..5 + SLOTS_PER_RING {
        assert_eq!(boxes[FROM].send(&mut mem, TO, &numbered(i)), Ok(i));
    }
    assert_eq!(boxes[FROM].send(&mut mem, TO, &numbered(13)), Err(SendError::Full));
    let (got, errors) = drain_ring(&mut boxes, &mut mem);
    assert_eq!(errors, vec![RecvError::Overrun { expected: 2, resumed_at: 5 }]);
    assert_eq!(got, (5..13).map(numbered).collect::<Vec<_>>());
    let s = boxes[TO].stats();
    assert_eq!((s.overruns, s.lost, s.rejected.total()), (1, 3, 0));
    assert_eq!(boxes[FROM].send(&mut mem, TO, &numbered(13)), Ok(13));
}

#[test]
fn a_forged_head_ahead_costs_at_most_a_ring_and_the_sender_catches_up() {
    // Forged a little ahead: the receiver skips two unwritten positions and
    // the sender continues after them.
    let (mut mem, mut boxes) = machine_at(3);
    let head_tag = index_tag(IndexRole::Head, FROM, TO);
    set_index(&mut mem, ring() + HEAD_OFFSET, encode_index(head_tag, 5));
    let (got, errors) = drain_ring(&mut boxes, &mut mem);
    assert_eq!(got, vec![]);
    assert_eq!(
        errors,
        vec![
            RecvError::Rejected { position: 3, reason: Rejection::BadMagic { expected: MESSAGE_MAGIC, found: 0 } },
            RecvError::Rejected { position: 4, reason: Rejection::BadMagic { expected: MESSAGE_MAGIC, found: 0 } },
        ]
    );
    assert_eq!(boxes[FROM].send(&mut mem, TO, &numbered(1)), Ok(5));
    assert_eq!(boxes[FROM].stats().sender_resyncs, 1);
    assert_eq!(drain_ring(&mut boxes, &mut mem), (vec![numbered(1)], vec![]));

    // Forged far ahead (30,000): one jump, one ring of stale slots, and the
    // message that was pending is the only real loss.
    let (mut mem, mut boxes) = machine_at(3);
    send(&mut boxes, &mut mem, &numbered(3));
    set_index(&mut mem, ring() + HEAD_OFFSET, encode_index(head_tag, 3 + 30_000));
    let (got, errors) = drain_ring(&mut boxes, &mut mem);
    assert_eq!(got, vec![]);
    assert_eq!(errors.len(), 1 + SLOTS_PER_RING as usize);
    assert_eq!(errors[0], RecvError::Overrun { expected: 3, resumed_at: 3 + 30_000 - SLOTS_PER_RING });
    assert!(errors[1..].iter().all(|e| matches!(e, RecvError::Rejected { .. })));
    assert_eq!(boxes[TO].stats().lost, 30_000);
    assert_eq!(boxes[FROM].send(&mut mem, TO, &numbered(4)), Ok(30_003));
    assert_eq!(drain_ring(&mut boxes, &mut mem), (vec![numbered(4)], vec![]));
}
