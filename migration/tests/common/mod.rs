//! Test support for the mailbox's integration tests: a `Vec`-backed shared
//! memory that counts its accesses, a machine of per-core mailboxes over
//! it, sample messages and a bounded drain.
//!
//! Owns: test scaffolding only. Must not touch: the crate's code paths
//! (everything goes through the public API) or any file outside
//! `migration/tests/`.
#![allow(dead_code)]

use spumone_kernel::vcpu::{VcpuContext, CONTEXT_WORDS};
use spumone_migration::layout::{region_size, ring_offset, slot_offset, SLOTS_PER_RING};
use spumone_migration::mailbox::{Mailbox, RecvError, SharedMemory};
use spumone_migration::message::Message;

/// The shared region as a vector of words, with access counters.
pub struct FakeMemory {
    pub words: Vec<u32>,
    pub reads: u64,
    pub writes: u64,
    pub barriers: u64,
}

impl FakeMemory {
    pub fn new(cores: usize) -> FakeMemory {
        FakeMemory { words: vec![0; region_size(cores) as usize / 4], reads: 0, writes: 0, barriers: 0 }
    }

    pub fn accesses(&self) -> u64 {
        self.reads + self.writes
    }

    pub fn reset_counts(&mut self) {
        self.reads = 0;
        self.writes = 0;
        self.barriers = 0;
    }

    /// Peek and poke without counting (the "guest scribbling").
    pub fn word(&self, offset: u32) -> u32 {
        self.words[offset as usize / 4]
    }

    pub fn set_word(&mut self, offset: u32, value: u32) {
        self.words[offset as usize / 4] = value;
    }

    /// XOR `mask` into byte `byte` (little-endian) of the word at `offset`.
    pub fn flip_byte(&mut self, offset: u32, byte: usize, mask: u8) {
        self.words[offset as usize / 4] ^= (mask as u32) << (8 * byte);
    }

    fn index(&self, offset: u32) -> usize {
        assert_eq!(offset % 4, 0, "unaligned shared-memory access at {offset:#x}");
        let i = offset as usize / 4;
        assert!(i < self.words.len(), "access at {offset:#x} outside the region");
        i
    }
}

impl SharedMemory for FakeMemory {
    fn read_u32(&mut self, offset: u32) -> u32 {
        self.reads += 1;
        self.words[self.index(offset)]
    }

    fn write_u32(&mut self, offset: u32, value: u32) {
        self.writes += 1;
        let i = self.index(offset);
        self.words[i] = value;
    }

    fn barrier(&mut self) {
        self.barriers += 1;
    }
}

/// One mailbox per core over one region, every core initialised.
pub fn machine(cores: usize) -> (FakeMemory, Vec<Mailbox>) {
    let mut mem = FakeMemory::new(cores);
    let mut boxes: Vec<Mailbox> = (0..cores).map(|me| Mailbox::try_new(me, cores).unwrap()).collect();
    for b in &mut boxes {
        b.init(&mut mem);
    }
    (mem, boxes)
}

/// Byte offset of the slot message `position` of ring `from -> to` uses.
pub fn slot(cores: usize, from: usize, to: usize, position: u32) -> u32 {
    slot_offset(ring_offset(cores, from, to).unwrap(), position)
}

/// Index of `virtual_imask` in `VcpuContext::to_words` (after 24 general
/// registers and 13 control registers); it must stay 0-15.
pub const VIRTUAL_IMASK_WORD: usize = 24 + 13;

/// A context whose every word differs from every other (and from the
/// defaults), `virtual_imask` kept in its range.
pub fn distinct_context(seed: u32) -> VcpuContext {
    let mut w = [0u32; CONTEXT_WORDS];
    for (i, v) in w.iter_mut().enumerate() {
        *v = seed.wrapping_mul(0x9E37_79B9) ^ (0x1000_0001u32.wrapping_add(i as u32 * 0x0101_0101));
    }
    w[VIRTUAL_IMASK_WORD] = 13;
    VcpuContext::from_words(&w)
}

pub fn migrate(seed: u32) -> Message {
    Message::Migrate {
        guest: 1,
        vcpu: 3,
        reason: 0xC1,
        context: distinct_context(seed),
        pending_virqs: 0x8001_0203 ^ seed,
        timer_period: 1000 + seed,
        timer_next_deadline: 0x0123_4567_89AB_CDEF ^ seed as u64,
        timer_oneshot: true,
        expires: 0x0000_0002_4000_0000 ^ seed as u64,
    }
}

/// One message of every kind, all valid on a machine of 4 cores.
pub fn one_of_each_kind(seed: u32) -> Vec<Message> {
    vec![
        migrate(seed),
        Message::MigrateAck { guest: 0, vcpu: 1, epoch: 0xfffe },
        Message::MigrateDeclined { guest: 3, vcpu: 0, epoch: 7 },
        Message::VirtualIpi { guest: 3, vcpu: 2, message: 7 },
        Message::Wake { guest: 2, vcpu: 0 },
        Message::StartVcpu { guest: 0, vcpu: 3, entry: 0x8c01_0000, arg: seed },
        Message::ReturnRequest { guest: 1, vcpu: 1 },
        Message::Where { guest: 0, vcpu: 2, core: 3 },
    ]
}

/// A small message carrying `n`, to follow a ring's order.
pub fn numbered(n: u32) -> Message {
    Message::StartVcpu { guest: 0, vcpu: 0, entry: 0x8c00_0000, arg: n }
}

/// Call `receive` until `Ok(None)`, as an instance's ICI handler does;
/// fails the test if that takes more than `SLOTS_PER_RING + 2` calls.
pub fn drain(mailbox: &mut Mailbox, mem: &mut FakeMemory, from: usize) -> (Vec<Message>, Vec<RecvError>) {
    let mut messages = Vec::new();
    let mut errors = Vec::new();
    for _ in 0..SLOTS_PER_RING + 2 {
        match mailbox.receive(mem, from) {
            Ok(Some(m)) => messages.push(m),
            Ok(None) => return (messages, errors),
            Err(e) => errors.push(e),
        }
    }
    panic!("drain of {from} -> {} did not end: {messages:?} {errors:?}", mailbox.me());
}
