//! The mailbox: one instance's end of every ring it sends or receives on.
//!
//! Owns: this instance's authoritative ring bookkeeping (for each peer, the
//! head it has published as a sender and the tail it has reached as a
//! receiver), the counters, and the protocol steps of sending, receiving,
//! validating and recovering. Must not touch: any other instance's Rust
//! state (only bytes in the shared region cross cores), the rings this core
//! neither sends nor receives on, the heap, or the ICI (the caller raises
//! it after a successful send).
//!
//! Protocol in brief (`docs/mailbox.md` has it in full):
//!
//! * A ring `from -> to` has one writer per word: the sender writes the
//!   slots and the head index, the receiver writes the tail index. Both
//!   indices are 32-bit message counts with a check word (`index`), so a
//!   scribble is detected, not believed.
//! * Each side keeps the authoritative count in its own [`Mailbox`] and
//!   republishes its index on every call, which heals a scribbled one.
//! * The receiver validates every slot; a bad slot is rejected, counted and
//!   skipped at once (the head it trusted is authentic, so the sender did
//!   write that position). The next slot is read with the next sequence
//!   number, so one bad message costs exactly that message.
//! * An authentic head more than a ring ahead means the sender overwrote
//!   messages not read yet (a forged tail let it): the receiver jumps to
//!   the oldest message still in the ring (`Overrun`). An authentic tail
//!   ahead of the sender's head means the receiver skipped positions the
//!   sender had not written yet (a forged head made it): the sender jumps
//!   its head to it. Both jumps are exact (the counts are full 32-bit
//!   values), so neither side can be wedged or desynchronised by anything
//!   in shared memory, and even a forged index (one that passes its check)
//!   costs at most one ring of messages.

use crate::index::{decode_index_in_flux, encode_index, index_tag, IndexRole, INDEX_WORDS};
use crate::layout::{ring_offset, slot_offset, HEAD_OFFSET, MAX_CORES, SLOTS_PER_RING, TAIL_OFFSET};
use crate::message::{
    check_and_decode, check_framing, checksum, routing_word, Message, MessageKind, Rejection, HEADER_WORDS,
    MAX_PAYLOAD_WORDS, MESSAGE_MAGIC,
};

/// The payload of every kind but `Migrate` fits this many words.
const SMALL_PAYLOAD_WORDS: usize = 3;
static_assertions::const_assert!({
    let mut ok = true;
    let mut i = 0;
    while i < MessageKind::ALL.len() {
        let k = MessageKind::ALL[i];
        ok &= matches!(k, MessageKind::Migrate) || k.payload_words() <= SMALL_PAYLOAD_WORDS;
        i += 1;
    }
    ok
});
use static_assertions::const_assert;

/// The mailbox region as the instance's hardware layer provides it.
/// Offsets are bytes from the region's base, always multiples of 4 and
/// below `layout::region_size(cores)`.
pub trait SharedMemory {
    fn read_u32(&mut self, offset: u32) -> u32;
    fn write_u32(&mut self, offset: u32, value: u32);
    /// Consecutive words from byte `offset` (one block copy where the
    /// memory allows it: a migration's message is about ninety words).
    fn read_block(&mut self, offset: u32, words: &mut [u32]) {
        for (i, w) in words.iter_mut().enumerate() {
            *w = self.read_u32(offset + 4 * i as u32);
        }
    }
    fn write_block(&mut self, offset: u32, words: &[u32]) {
        for (i, &w) in words.iter().enumerate() {
            self.write_u32(offset + 4 * i as u32, w);
        }
    }
    /// An ordering point: every access before it is performed, for every
    /// core, before any access after it. The simulated machine is
    /// sequentially consistent, so the default does nothing; on an SH-4A
    /// board this is `synco`. The mailbox calls it between writing a slot
    /// and publishing the head, between reading the head and reading the
    /// slot, and between reading the slot and publishing the tail.
    fn barrier(&mut self) {}
}

/// What is wrong with an index read from shared memory.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum IndexFault {
    /// The check word does not match the count (twice in a row): a
    /// scribble, or (for a tail the sender has never seen valid) a ring not
    /// initialised yet.
    BadCheck { expected: u32, found: u32 },
    /// An authentic head behind the receiver's own tail (a replayed index):
    /// wait for the sender's next one.
    Behind { by: u32 },
    /// A tail more than a ring behind the sender's head (a replayed index):
    /// wait for the receiver's next one.
    TooFarBehind { by: u32 },
}

/// Why [`Mailbox::send`] did not send. Nothing is written to a slot and
/// nothing is lost: keep the message and retry. After `Full`, `NotReady`
/// and `CorruptTail`, raise the receiver's ICI anyway (its next receive
/// frees slots and republishes its tail).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SendError {
    /// `to` is this core, or not a core of the machine (or the mailbox was
    /// built for an impossible configuration).
    BadCore { to: usize },
    /// The message has a field the receiver would reject; never retry it.
    Invalid(Rejection),
    /// The receiver has not initialised the ring yet (its tail has never
    /// been seen valid).
    NotReady,
    /// The ring holds `SLOTS_PER_RING` unconsumed messages.
    Full,
    /// The tail index was valid once but is not now (`found`: its count
    /// word).
    CorruptTail { found: u32, fault: IndexFault },
}

impl SendError {
    /// Whether sending the same message later can succeed.
    pub const fn is_retryable(&self) -> bool {
        matches!(self, SendError::NotReady | SendError::Full | SendError::CorruptTail { .. })
    }
}

/// A problem [`Mailbox::receive`] found. Each is reported once and counted;
/// keep calling `receive` until it returns `Ok(None)`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RecvError {
    /// `from` is this core or not a core of the machine.
    BadCore { from: usize },
    /// [`Mailbox::init`] has not run.
    NotInitialised,
    /// The head index is not believable (its count word and why). Nothing
    /// is consumed; reported once per distinct pair of words.
    BadHead { found: u32, fault: IndexFault },
    /// The sender overwrote messages this core had not read (after a
    /// forged tail let it): positions `expected..resumed_at` are lost.
    Overrun { expected: u32, resumed_at: u32 },
    /// The slot at `position` failed validation; it is skipped (lost) and
    /// the next call reads `position + 1`.
    Rejected { position: u32, reason: Rejection },
}

/// How many slots were rejected, by the first check they failed.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[repr(C)]
pub struct RejectionCounts {
    pub bad_magic: u64,
    pub unknown_kind: u64,
    pub bad_length: u64,
    pub bad_checksum: u64,
    pub bad_route: u64,
    pub bad_sequence: u64,
    pub bad_field: u64,
    pub reserved_bits: u64,
}

spumone_kernel::word_counters!(RejectionCounts { bad_magic: u64, unknown_kind: u64, bad_length: u64, bad_checksum: u64, bad_route: u64, bad_sequence: u64, bad_field: u64, reserved_bits: u64 });
spumone_kernel::word_counters!(MailboxStats { sent: u64, received: u64, full: u64, not_ready: u64, corrupt_tail: u64, invalid_outgoing: u64, sender_resyncs: u64, bad_head: u64, overruns: u64, lost: u64, rejected: RejectionCounts });

impl RejectionCounts {
    pub const ZERO: RejectionCounts = RejectionCounts {
        bad_magic: 0,
        unknown_kind: 0,
        bad_length: 0,
        bad_checksum: 0,
        bad_route: 0,
        bad_sequence: 0,
        bad_field: 0,
        reserved_bits: 0,
    };

    pub const fn total(&self) -> u64 {
        self.bad_magic
            + self.unknown_kind
            + self.bad_length
            + self.bad_checksum
            + self.bad_route
            + self.bad_sequence
            + self.bad_field
            + self.reserved_bits
    }

    fn count(&mut self, reason: &Rejection) {
        let counter = match reason {
            Rejection::BadMagic { .. } => &mut self.bad_magic,
            Rejection::UnknownKind { .. } => &mut self.unknown_kind,
            Rejection::BadLength { .. } => &mut self.bad_length,
            Rejection::BadChecksum { .. } => &mut self.bad_checksum,
            Rejection::BadRoute { .. } => &mut self.bad_route,
            Rejection::BadSequence { .. } => &mut self.bad_sequence,
            Rejection::BadField { .. } => &mut self.bad_field,
            Rejection::ReservedBits { .. } => &mut self.reserved_bits,
        };
        *counter += 1;
    }
}

/// This instance's mailbox counters, over all its rings (64-bit words in
/// this order in core-local memory: `spumone_kernel::counters`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[repr(C)]
pub struct MailboxStats {
    /// Messages written and published.
    pub sent: u64,
    /// Valid messages delivered to the caller.
    pub received: u64,
    /// Send attempts refused: ring full / receiver not ready / tail word
    /// corrupt / message invalid.
    pub full: u64,
    pub not_ready: u64,
    pub corrupt_tail: u64,
    pub invalid_outgoing: u64,
    /// Times this core, as a sender, jumped its head forward to a tail that
    /// was ahead of it.
    pub sender_resyncs: u64,
    /// Head indices found unbelievable (each distinct one once).
    pub bad_head: u64,
    /// Times the receiver found it had been overrun and jumped forward.
    pub overruns: u64,
    /// Ring positions passed without delivering a message: rejected slots
    /// plus the positions an overrun skipped.
    pub lost: u64,
    pub rejected: RejectionCounts,
}

impl MailboxStats {
    pub const ZERO: MailboxStats = MailboxStats {
        sent: 0,
        received: 0,
        full: 0,
        not_ready: 0,
        corrupt_tail: 0,
        invalid_outgoing: 0,
        sender_resyncs: 0,
        bad_head: 0,
        overruns: 0,
        lost: 0,
        rejected: RejectionCounts::ZERO,
    };
}

/// Why [`Mailbox::try_new`] refused a configuration.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ConfigError {
    pub me: usize,
    pub cores: usize,
}

/// This core's side of one ring it sends on.
#[derive(Clone, Copy, Debug, Default)]
struct SenderState {
    /// Messages published so far: the position (and sequence number) of
    /// the next one. Authoritative; the head index only mirrors it.
    head: u32,
    /// The receiver's tail index has been valid at least once.
    receiver_ready: bool,
    /// The receiver's tail as the last send found it (valid or not).
    seen_tail: u32,
}

/// This core's side of one ring it receives on.
#[derive(Clone, Copy, Debug, Default)]
struct ReceiverState {
    /// The position (and expected sequence number) of the next message.
    /// Authoritative; the tail index only mirrors it.
    tail: u32,
    /// The last unbelievable head index reported, so it is reported once.
    reported_head: Option<[u32; INDEX_WORDS]>,
}

/// One instance's end of the mailbox. Create one per instance, call
/// [`Mailbox::init`] once at boot, then [`Mailbox::send`] and
/// [`Mailbox::receive`].
#[derive(Clone, Debug)]
pub struct Mailbox {
    me: usize,
    cores: usize,
    initialised: bool,
    /// By destination core.
    senders: [SenderState; MAX_CORES],
    /// By source core.
    receivers: [ReceiverState; MAX_CORES],
    stats: MailboxStats,
}

/// Count differences at or above this are "behind" (negative).
const HALF_RANGE: u32 = 1 << 31;

// An instance's mailbox bookkeeping is small enough for core-local memory.
const_assert!(core::mem::size_of::<Mailbox>() <= 512);

impl Mailbox {
    /// The mailbox of core `me` on a machine of `cores` cores (2 to
    /// `MAX_CORES`). Never panics: with an impossible configuration every
    /// call fails with `BadCore` (see [`Mailbox::try_new`] to be told).
    pub const fn new(me: usize, cores: usize) -> Mailbox {
        Mailbox {
            me,
            cores,
            initialised: false,
            senders: [SenderState { head: 0, receiver_ready: false, seen_tail: 0 }; MAX_CORES],
            receivers: [ReceiverState { tail: 0, reported_head: None }; MAX_CORES],
            stats: MailboxStats::ZERO,
        }
    }

    /// As [`Mailbox::new`], refusing an impossible configuration.
    pub const fn try_new(me: usize, cores: usize) -> Result<Mailbox, ConfigError> {
        if Mailbox::configuration_is_valid(me, cores) {
            Ok(Mailbox::new(me, cores))
        } else {
            Err(ConfigError { me, cores })
        }
    }

    const fn configuration_is_valid(me: usize, cores: usize) -> bool {
        cores >= 2 && cores <= MAX_CORES && me < cores
    }

    pub const fn me(&self) -> usize {
        self.me
    }

    pub const fn cores(&self) -> usize {
        self.cores
    }

    /// The counters where they are (a board publishes their location).
    pub const fn stats_ref(&self) -> &MailboxStats {
        &self.stats
    }

    pub const fn stats(&self) -> MailboxStats {
        self.stats
    }

    /// Initialise the rings this core receives on, and only those: for
    /// each peer, a head index of 0 (on behalf of the sender, which will
    /// not write until it sees the ring ready), a zeroed magic word in
    /// every slot (so nothing left from an earlier run can pass), then the
    /// tail index of 0, whose appearance is what makes the ring ready for
    /// its sender. Call once per boot, before enabling this core's mailbox
    /// ICI; senders get `NotReady` until then. Re-initialising a ring a
    /// sender has already used is not supported.
    pub fn init<M: SharedMemory>(&mut self, mem: &mut M) {
        if !Mailbox::configuration_is_valid(self.me, self.cores) {
            return;
        }
        for from in 0..self.cores {
            let Some(ring) = ring_offset(self.cores, from, self.me) else { continue };
            write_index(mem, ring + HEAD_OFFSET, index_tag(IndexRole::Head, from, self.me), 0);
            for position in 0..SLOTS_PER_RING {
                mem.write_u32(slot_offset(ring, position), 0);
            }
            mem.barrier();
            write_index(mem, ring + TAIL_OFFSET, index_tag(IndexRole::Tail, from, self.me), 0);
            self.receivers[from] = ReceiverState::default();
        }
        self.initialised = true;
    }

    /// Send `message` to core `to`. Returns its sequence number (its
    /// position in the ring). Costs two reads (the tail index), the slot's
    /// header and payload writes, and two writes (the head index); a
    /// refused send costs the index reads and writes only. Raise `to`'s ICI
    /// after a success.
    pub fn send<M: SharedMemory>(&mut self, mem: &mut M, to: usize, message: &Message) -> Result<u32, SendError> {
        // Encode once, in a buffer the size of the kind (only a migration
        // needs the big one: zeroing it for every IPI would cost more than
        // sending the IPI).
        let kind = message.kind();
        if kind == MessageKind::Migrate {
            let mut payload = [0u32; MAX_PAYLOAD_WORDS];
            let n = message.encode_payload(&mut payload);
            self.send_payload(mem, to, kind, &payload[..n])
        } else {
            let mut payload = [0u32; SMALL_PAYLOAD_WORDS];
            let n = message.encode_payload(&mut payload);
            self.send_payload(mem, to, kind, &payload[..n])
        }
    }

    /// [`Mailbox::send`] of an encoded payload.
    fn send_payload<M: SharedMemory>(
        &mut self,
        mem: &mut M,
        to: usize,
        kind: MessageKind,
        payload: &[u32],
    ) -> Result<u32, SendError> {
        let ring = match self.ring(self.me, to) {
            Some(ring) => ring,
            None => return Err(SendError::BadCore { to }),
        };
        // Refuse what the receiver would: its own checks on these words.
        if let Err(reason) = Message::check_payload(kind, payload, self.cores) {
            self.stats.invalid_outgoing += 1;
            return Err(SendError::Invalid(reason));
        }
        let n = payload.len();
        let sender = &mut self.senders[to];
        let (tail_words, tail) = read_index(mem, ring + TAIL_OFFSET, index_tag(IndexRole::Tail, self.me, to));
        sender.seen_tail = tail_words[0];
        let result = match tail {
            Err(_) if !sender.receiver_ready => {
                self.stats.not_ready += 1;
                Err(SendError::NotReady)
            }
            Err((expected, found)) => {
                self.stats.corrupt_tail += 1;
                Err(SendError::CorruptTail { found: tail_words[0], fault: IndexFault::BadCheck { expected, found } })
            }
            Ok(tail) => {
                sender.receiver_ready = true;
                let mut used = sender.head.wrapping_sub(tail);
                if used >= HALF_RANGE {
                    // The receiver is ahead: it skipped positions we had not
                    // written yet. Continue from where it is.
                    sender.head = tail;
                    self.stats.sender_resyncs += 1;
                    used = 0;
                }
                if used > SLOTS_PER_RING {
                    self.stats.corrupt_tail += 1;
                    Err(SendError::CorruptTail {
                        found: tail_words[0],
                        fault: IndexFault::TooFarBehind { by: used - SLOTS_PER_RING },
                    })
                } else if used == SLOTS_PER_RING {
                    self.stats.full += 1;
                    Err(SendError::Full)
                } else {
                    let sequence = sender.head;
                    let routing = routing_word(kind, n, self.me, to);
                    let header = [MESSAGE_MAGIC, sequence, routing, checksum(MESSAGE_MAGIC, sequence, routing, payload)];
                    // The tail read is complete before the slot is reused.
                    mem.barrier();
                    let base = slot_offset(ring, sequence);
                    mem.write_block(base, &header);
                    mem.write_block(base + 4 * HEADER_WORDS as u32, payload);
                    sender.head = sequence.wrapping_add(1);
                    self.stats.sent += 1;
                    Ok(sequence)
                }
            }
        };
        // Publish (or, after a refusal, republish) the authoritative head;
        // the slot's words are visible before it.
        mem.barrier();
        let head = self.senders[to].head;
        write_index(mem, ring + HEAD_OFFSET, index_tag(IndexRole::Head, self.me, to), head);
        result
    }

    /// Write the head index of the ring to `to` again from this core's own
    /// count, without sending: heals a head index a guest scribbled on when
    /// the sender has nothing more to send on that ring (otherwise the
    /// messages behind it would wait for the next send). Two writes at most.
    pub fn republish<M: SharedMemory>(&mut self, mem: &mut M, to: usize) {
        let Some(ring) = self.ring(self.me, to) else { return };
        if !self.senders[to].receiver_ready {
            return;
        }
        let head = self.senders[to].head;
        write_index(mem, ring + HEAD_OFFSET, index_tag(IndexRole::Head, self.me, to), head);
    }

    /// Whether the receiver of the ring to core `to` has read past message
    /// `sequence` of it: its tail index, authentic, is beyond it. `None`:
    /// the tail cannot be read (no such ring, or its check word is wrong;
    /// nothing is counted, the next send reports it). The receiver
    /// publishes its tail after reading a slot and before acting on it, so
    /// `Some(false)` read at time t means whatever it does with that
    /// message, it does after t. Two reads.
    pub fn read_past<M: SharedMemory>(&mut self, mem: &mut M, to: usize, sequence: u32) -> Option<bool> {
        let ring = self.ring(self.me, to)?;
        let (_, tail) = read_index(mem, ring + TAIL_OFFSET, index_tag(IndexRole::Tail, self.me, to));
        let tail = tail.ok()?;
        Some(tail.wrapping_sub(sequence).wrapping_sub(1) < HALF_RANGE)
    }

    /// The receiver's tail index word as the last send to core `to` read it
    /// (checked or not): whether it moves between two refused sends tells
    /// a receiver that reads slowly from one that does not read at all.
    pub fn seen_tail(&self, to: usize) -> Option<u32> {
        Some(self.senders.get(to)?.seen_tail)
    }

    /// The position the next message to core `to` will take (how many
    /// have been sent on that ring, modulo 2^32).
    pub fn next_position(&self, to: usize) -> Option<u32> {
        Some(self.senders.get(to)?.head)
    }

    /// The next message from core `from`, validated. `Ok(None)`: nothing
    /// (more) to deliver now. `Err`: a problem found, reported once and
    /// counted; call again. So a drain is "call until `Ok(None)`", and it
    /// takes at most `SLOTS_PER_RING + 2` calls whatever shared memory
    /// holds (unless the sender keeps sending meanwhile). Every call
    /// republishes this core's tail index for the ring.
    pub fn receive<M: SharedMemory>(&mut self, mem: &mut M, from: usize) -> Result<Option<Message>, RecvError> {
        let ring = match self.ring(from, self.me) {
            Some(ring) => ring,
            None => return Err(RecvError::BadCore { from }),
        };
        if !self.initialised {
            return Err(RecvError::NotInitialised);
        }
        let result = self.receive_from_ring(mem, ring, from);
        // Done with the slot before the sender may reuse it; the tail is
        // rewritten on every call so a scribbled one heals.
        mem.barrier();
        let tail = self.receivers[from].tail;
        write_index(mem, ring + TAIL_OFFSET, index_tag(IndexRole::Tail, from, self.me), tail);
        result
    }

    fn receive_from_ring<M: SharedMemory>(
        &mut self,
        mem: &mut M,
        ring: u32,
        from: usize,
    ) -> Result<Option<Message>, RecvError> {
        let (head_words, head) = read_index(mem, ring + HEAD_OFFSET, index_tag(IndexRole::Head, from, self.me));
        let tail = self.receivers[from].tail;
        let pending = match head {
            Err((expected, found)) => {
                return self.bad_head(from, head_words, IndexFault::BadCheck { expected, found });
            }
            Ok(head) => head.wrapping_sub(tail),
        };
        if pending == 0 {
            self.receivers[from].reported_head = None;
            return Ok(None);
        }
        if pending >= HALF_RANGE {
            return self.bad_head(from, head_words, IndexFault::Behind { by: pending.wrapping_neg() });
        }
        if pending > SLOTS_PER_RING {
            // An authentic head more than a ring ahead: the sender was let
            // (by a forged tail) overwrite messages not read yet. The
            // oldest that can still be in its slot is head - SLOTS.
            let skipped = pending - SLOTS_PER_RING;
            let resumed_at = tail.wrapping_add(skipped);
            let receiver = &mut self.receivers[from];
            receiver.tail = resumed_at;
            receiver.reported_head = None;
            self.stats.overruns += 1;
            self.stats.lost += skipped as u64;
            return Err(RecvError::Overrun { expected: tail, resumed_at });
        }
        let receiver = &mut self.receivers[from];
        receiver.reported_head = None;
        receiver.tail = tail.wrapping_add(1);
        // The head read is complete before the slot is read.
        mem.barrier();
        match self.read_message(mem, ring, from, tail) {
            Ok(message) => {
                self.stats.received += 1;
                Ok(Some(message))
            }
            Err(reason) => {
                self.stats.rejected.count(&reason);
                self.stats.lost += 1;
                Err(RecvError::Rejected { position: tail, reason })
            }
        }
    }

    /// Report an unbelievable head once per distinct index; nothing moves.
    fn bad_head(
        &mut self,
        from: usize,
        words: [u32; INDEX_WORDS],
        fault: IndexFault,
    ) -> Result<Option<Message>, RecvError> {
        let receiver = &mut self.receivers[from];
        if receiver.reported_head == Some(words) {
            return Ok(None);
        }
        receiver.reported_head = Some(words);
        self.stats.bad_head += 1;
        Err(RecvError::BadHead { found: words[0], fault })
    }

    /// Read and validate the slot of message `position` of ring
    /// `from -> me`: 1 read if the magic is wrong, else 4 header reads and
    /// the kind's payload reads.
    fn read_message<M: SharedMemory>(
        &self,
        mem: &mut M,
        ring: u32,
        from: usize,
        position: u32,
    ) -> Result<Message, Rejection> {
        let base = slot_offset(ring, position);
        let magic = mem.read_u32(base);
        if magic != MESSAGE_MAGIC {
            return Err(Rejection::BadMagic { expected: MESSAGE_MAGIC, found: magic });
        }
        let sequence = mem.read_u32(base + 4);
        let routing = mem.read_u32(base + 8);
        let stored = mem.read_u32(base + 12);
        let kind = check_framing(magic, routing)?;
        let header = [magic, sequence, routing, stored];
        let mut read = |payload: &mut [u32]| mem.read_block(base + 4 * HEADER_WORDS as u32, payload);
        // A buffer the size of the kind (see `send`).
        if kind == MessageKind::Migrate {
            let mut payload = [0u32; MAX_PAYLOAD_WORDS];
            read(&mut payload);
            check_and_decode(header, kind, &payload, from, self.me, position, self.cores)
        } else {
            let mut payload = [0u32; SMALL_PAYLOAD_WORDS];
            let payload = &mut payload[..kind.payload_words()];
            read(payload);
            check_and_decode(header, kind, payload, from, self.me, position, self.cores)
        }
    }

    /// The ring `from -> to`, if both are cores of this machine, distinct,
    /// and the configuration is possible.
    fn ring(&self, from: usize, to: usize) -> Option<u32> {
        if !Mailbox::configuration_is_valid(self.me, self.cores) {
            return None;
        }
        ring_offset(self.cores, from, to)
    }
}

/// Read the index at `offset`: its two words and, if the check matches,
/// the count; a pair its writer on another core is half-way through
/// writing reads as the older count (`index::decode_index_in_flux`).
/// Reading it again at once would not do: on the simulated board the
/// writer's time slice can end between its two stores, and a receiver
/// counted such a pair as a bad head in a run with no fault at all.
fn read_index<M: SharedMemory>(mem: &mut M, offset: u32, tag: u32) -> ([u32; INDEX_WORDS], Result<u32, (u32, u32)>) {
    let words = [mem.read_u32(offset), mem.read_u32(offset + 4)];
    (words, decode_index_in_flux(tag, words))
}

/// Publish `position` as the index at `offset`: the count, then its check.
fn write_index<M: SharedMemory>(mem: &mut M, offset: u32, tag: u32, position: u32) {
    let [count, check] = encode_index(tag, position);
    mem.write_u32(offset, count);
    mem.write_u32(offset + 4, check);
}
