//! Property tests: guests scribbling anywhere in the mailbox region, at
//! any time, between honest sends and receives.
//!
//! Properties: nothing panics; every drain ends within
//! `SLOTS_PER_RING + 2` calls; everything delivered was sent on that ring,
//! in order, at most once; and once the scribbling stops, a new message on
//! any ring gets through within three rounds of (drain, send) and is the
//! last one delivered. Without scribbles, nothing at all is lost.
//!
//! Owns: these integration tests. Must not touch: anything outside
//! `migration/tests/`; the crate is used only through its public API.

mod common;

use common::*;
use proptest::prelude::*;
use spumone_migration::index::{encode_index, index_tag, IndexRole};
use spumone_migration::layout::{region_size, ring_offset, HEAD_OFFSET, TAIL_OFFSET};
use spumone_migration::mailbox::Mailbox;
use spumone_migration::message::Message;
use std::collections::HashMap;

#[derive(Clone, Debug)]
enum Op {
    Send {
        from: usize,
        to: usize,
        big: bool,
    },
    Drain {
        me: usize,
        from: usize,
    },
    /// Any word of the region.
    Scribble {
        word: usize,
        value: u32,
    },
    FlipByte {
        word: usize,
        byte: usize,
        mask: u8,
    },
    /// Copy words within the region (replays of slots and index words).
    Copy {
        src: usize,
        dst: usize,
        len: usize,
    },
    /// A word of an index (its count or its check), to hit them far more
    /// often than chance would.
    ScribbleIndex {
        from: usize,
        to: usize,
        tail: bool,
        check_word: bool,
        value: u32,
    },
    /// An index that passes its check, `delta` away from the count it
    /// holds now: a replayed old index, or a forged one.
    ForgeIndex {
        from: usize,
        to: usize,
        tail: bool,
        delta: i32,
    },
    /// Overwrite the whole region with pseudo-random words.
    Storm {
        seed: u64,
    },
}

fn op(cores: usize) -> impl Strategy<Value = Op> {
    let core = 0..cores;
    let words = region_size(4) as usize / 4;
    prop_oneof![
        8 => (core.clone(), core.clone(), prop::bool::weighted(0.15)).prop_map(|(from, to, big)| Op::Send { from, to, big }),
        6 => (core.clone(), core.clone()).prop_map(|(me, from)| Op::Drain { me, from }),
        3 => (0..words, any::<u32>()).prop_map(|(word, value)| Op::Scribble { word, value }),
        2 => (0..words, 0..4usize, 1..=255u8).prop_map(|(word, byte, mask)| Op::FlipByte { word, byte, mask }),
        1 => (0..words, 0..words, 1..200usize).prop_map(|(src, dst, len)| Op::Copy { src, dst, len }),
        2 => (core.clone(), core.clone(), any::<bool>(), any::<bool>(), any::<u32>())
            .prop_map(|(from, to, tail, check_word, value)| Op::ScribbleIndex { from, to, tail, check_word, value }),
        2 => (core.clone(), core, any::<bool>(), prop_oneof![-20..=20i32, -40_000..=40_000i32])
            .prop_map(|(from, to, tail, delta)| Op::ForgeIndex { from, to, tail, delta }),
        1 => (any::<u64>()).prop_map(|seed| Op::Storm { seed }),
    ]
}

fn scenario() -> impl Strategy<Value = (usize, Vec<Op>)> {
    (2..=4usize).prop_flat_map(|cores| (Just(cores), prop::collection::vec(op(cores), 1..300)))
}

fn tagged(id: u32, big: bool) -> Message {
    if big {
        let Message::Migrate {
            guest, vcpu, reason, context, timer_period, timer_next_deadline, timer_oneshot, expires, ..
        } = migrate(id)
        else {
            unreachable!()
        };
        Message::Migrate {
            guest,
            vcpu,
            reason,
            context,
            pending_virqs: id,
            timer_period,
            timer_next_deadline,
            timer_oneshot,
            expires,
        }
    } else {
        numbered(id)
    }
}

fn id_of(m: &Message) -> u32 {
    match *m {
        Message::StartVcpu { arg, .. } => arg,
        Message::Migrate { pending_virqs, .. } => pending_virqs,
        _ => panic!("a message nobody sent was delivered: {m:?}"),
    }
}

/// The honest cores and what they sent and received, per ring.
struct World {
    cores: usize,
    mem: FakeMemory,
    boxes: Vec<Mailbox>,
    next_id: u32,
    /// Ids sent on each ring, in order.
    sent: HashMap<(usize, usize), Vec<u32>>,
    /// Index in `sent` of the last message delivered on each ring.
    delivered: HashMap<(usize, usize), usize>,
    delivered_count: u64,
}

impl World {
    fn new(cores: usize) -> World {
        let (mem, boxes) = machine(cores);
        World { cores, mem, boxes, next_id: 0, sent: HashMap::new(), delivered: HashMap::new(), delivered_count: 0 }
    }

    fn send(&mut self, from: usize, to: usize, big: bool) -> Option<u32> {
        let id = self.next_id;
        self.next_id += 1;
        let message = tagged(id, big);
        let result = self.boxes[from].send(&mut self.mem, to, &message);
        match result {
            Ok(_) => {
                self.sent.entry((from, to)).or_default().push(id);
                Some(id)
            }
            Err(e) => {
                assert!(from == to || e.is_retryable(), "{from} -> {to}: {e:?}");
                None
            }
        }
    }

    /// Drain one ring, checking what comes out; returns the ids delivered.
    fn drain(&mut self, me: usize, from: usize) -> Vec<u32> {
        if me == from {
            assert!(self.boxes[me].receive(&mut self.mem, from).is_err());
            return vec![];
        }
        let (messages, _errors) = drain(&mut self.boxes[me], &mut self.mem, from);
        let sent = self.sent.get(&(from, me)).map(Vec::as_slice).unwrap_or(&[]);
        let mut ids = Vec::new();
        for m in &messages {
            let id = id_of(m);
            let big = matches!(m, Message::Migrate { .. });
            assert_eq!(*m, tagged(id, big), "delivered message {id} is not what was sent");
            let index = sent
                .iter()
                .position(|&s| s == id)
                .unwrap_or_else(|| panic!("{from} -> {me}: delivered {id}, never sent on this ring"));
            if let Some(&last) = self.delivered.get(&(from, me)) {
                assert!(index > last, "{from} -> {me}: {id} delivered out of order or twice");
            }
            self.delivered.insert((from, me), index);
            ids.push(id);
        }
        self.delivered_count += ids.len() as u64;
        ids
    }

    fn apply(&mut self, op: &Op) {
        let words = self.mem.words.len();
        match *op {
            Op::Send { from, to, big } => {
                self.send(from, to, big);
            }
            Op::Drain { me, from } => {
                self.drain(me, from);
            }
            Op::Scribble { word, value } => self.mem.words[word % words] = value,
            Op::FlipByte { word, byte, mask } => self.mem.words[word % words] ^= (mask as u32) << (8 * byte),
            Op::Copy { src, dst, len } => {
                for i in 0..len {
                    let value = self.mem.words[(src + i) % words];
                    self.mem.words[(dst + i) % words] = value;
                }
            }
            Op::ScribbleIndex { from, to, tail, check_word, value } => {
                if let Some(ring) = ring_offset(self.cores, from, to) {
                    let offset = ring + if tail { TAIL_OFFSET } else { HEAD_OFFSET };
                    self.mem.set_word(offset + 4 * check_word as u32, value);
                }
            }
            Op::ForgeIndex { from, to, tail, delta } => {
                if let Some(ring) = ring_offset(self.cores, from, to) {
                    let offset = ring + if tail { TAIL_OFFSET } else { HEAD_OFFSET };
                    let role = if tail { IndexRole::Tail } else { IndexRole::Head };
                    let count = self.mem.word(offset).wrapping_add(delta as u32);
                    let [count, check] = encode_index(index_tag(role, from, to), count);
                    self.mem.set_word(offset, count);
                    self.mem.set_word(offset + 4, check);
                }
            }
            Op::Storm { seed } => {
                let mut x = seed | 1;
                for w in self.mem.words.iter_mut() {
                    // xorshift64
                    x ^= x << 13;
                    x ^= x >> 7;
                    x ^= x << 17;
                    *w = x as u32;
                }
            }
        }
    }

    /// With scribbling over, a fresh message on every ring must get
    /// through within three rounds of (drain, send).
    fn check_recovery(&mut self) {
        for from in 0..self.cores {
            for to in (0..self.cores).filter(|&to| to != from) {
                let mut through = false;
                for _round in 0..3 {
                    self.drain(to, from);
                    if let Some(id) = self.send(from, to, false) {
                        let ids = self.drain(to, from);
                        assert_eq!(ids.last(), Some(&id), "{from} -> {to}: the fresh message did not arrive");
                        through = true;
                        break;
                    }
                }
                assert!(through, "{from} -> {to} did not recover");
            }
        }
    }
}

fn is_scribble(op: &Op) -> bool {
    !matches!(op, Op::Send { .. } | Op::Drain { .. })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

    #[test]
    fn scribbles_never_wedge_or_fool_the_mailbox((cores, ops) in scenario()) {
        let mut world = World::new(cores);
        for op in &ops {
            world.apply(op);
        }
        // Every ring, as a receiver would after an ICI: bounded drains.
        for me in 0..cores {
            for from in 0..cores {
                world.drain(me, from);
            }
        }
        world.check_recovery();
    }

    #[test]
    fn without_scribbles_nothing_is_lost((cores, ops) in scenario()) {
        let mut world = World::new(cores);
        let mut sent = 0u64;
        for op in ops.iter().filter(|op| !is_scribble(op)) {
            if let Op::Send { from, to, big } = *op {
                sent += world.send(from, to, big).is_some() as u64;
            } else {
                world.apply(op);
            }
        }
        for me in 0..cores {
            for from in 0..cores {
                world.drain(me, from);
            }
        }
        prop_assert_eq!(world.delivered_count, sent);
        for b in &world.boxes {
            let s = b.stats();
            prop_assert_eq!(s.lost + s.bad_head + s.overruns + s.corrupt_tail + s.rejected.total(), 0);
        }
    }
}
