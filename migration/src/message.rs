//! The mailbox's messages and their wire format: what one slot holds.
//!
//! Owns: the [`Message`] enum, the slot encoding (header and payload word
//! by word), its checksum, and every validation a received slot goes
//! through, with the precise [`Rejection`] for each failure. Must not
//! touch: shared memory (the mailbox reads and writes the words), ring
//! indices, or what an instance does with a message.
//!
//! A slot is [`HEADER_WORDS`] header words then the payload:
//!
//! | word | contents |
//! | --- | --- |
//! | 0 | [`MESSAGE_MAGIC`] |
//! | 1 | sequence number: the message's position in its ring (0, 1, 2, ...) |
//! | 2 | kind (bits 7:0), payload length in words (15:8), sender core (23:16), receiver core (31:24) |
//! | 3 | the check word: [`checksum`] of words 0, 1, 2 and the payload |
//! | 4.. | payload, by kind (see [`MessageKind`] and `docs/mailbox.md`) |
//!
//! Validation order (the first failure is the one reported): magic, kind,
//! length (these decide how many words to read, so they are checked before
//! anything is read on their word), checksum, route, sequence, fields.

use crate::layout::{MAX_CORES, SLOT_WORDS};
use spumone_kernel::guest::{MAX_GUESTS, MAX_VCPUS};
use spumone_kernel::vcpu::{VcpuContext, CONTEXT_VIRTUAL_IMASK, CONTEXT_WORDS};
use static_assertions::const_assert;

/// Word 0 of every message: ASCII "SPMB" read as a big-endian number.
pub const MESSAGE_MAGIC: u32 = 0x5350_4D42;
/// Header words before the payload.
pub const HEADER_WORDS: usize = 4;
/// Payload words before the context in a `Migrate` message.
pub const MIGRATE_FIXED_WORDS: usize = 7;
/// The largest payload (`Migrate`).
pub const MAX_PAYLOAD_WORDS: usize = MIGRATE_FIXED_WORDS + CONTEXT_WORDS;
/// Virtual IPI messages a vCPU can be sent (INTEVT 0xf00 + 0x20 m).
pub const IPI_MESSAGES: u8 = 8;
/// Most significant virtual interrupt level.
pub const MAX_VIRTUAL_IMASK: u32 = 15;

const_assert!(HEADER_WORDS + MAX_PAYLOAD_WORDS <= SLOT_WORDS as usize);
const_assert!(MAX_PAYLOAD_WORDS < 256);
const_assert!(MAX_GUESTS <= 256 && MAX_VCPUS <= 256 && MAX_CORES <= 256);

/// What kind of message a slot holds (header word 2, bits 7:0). Zero is
/// never a kind, so a zeroed slot fails on its magic and on its kind.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(u8)]
pub enum MessageKind {
    Migrate = 1,
    MigrateAck = 2,
    VirtualIpi = 3,
    Wake = 4,
    StartVcpu = 5,
    ReturnRequest = 6,
    Where = 7,
    GuestExit = 8,
    MigrateDeclined = 9,
}

impl MessageKind {
    pub const ALL: [MessageKind; 9] = [
        MessageKind::Migrate,
        MessageKind::MigrateAck,
        MessageKind::VirtualIpi,
        MessageKind::Wake,
        MessageKind::StartVcpu,
        MessageKind::ReturnRequest,
        MessageKind::Where,
        MessageKind::GuestExit,
        MessageKind::MigrateDeclined,
    ];

    pub const fn from_u8(code: u8) -> Option<MessageKind> {
        Some(match code {
            1 => MessageKind::Migrate,
            2 => MessageKind::MigrateAck,
            3 => MessageKind::VirtualIpi,
            4 => MessageKind::Wake,
            5 => MessageKind::StartVcpu,
            6 => MessageKind::ReturnRequest,
            7 => MessageKind::Where,
            8 => MessageKind::GuestExit,
            9 => MessageKind::MigrateDeclined,
            _ => return None,
        })
    }

    /// The payload length every message of this kind has, in words.
    pub const fn payload_words(self) -> usize {
        match self {
            MessageKind::Migrate => MAX_PAYLOAD_WORDS,
            MessageKind::StartVcpu => 3,
            MessageKind::GuestExit => 2,
            MessageKind::MigrateAck
            | MessageKind::MigrateDeclined
            | MessageKind::VirtualIpi
            | MessageKind::Wake
            | MessageKind::ReturnRequest
            | MessageKind::Where => 1,
        }
    }
}

/// A message between two instances. Every message names one vCPU by its
/// guest and its number in that guest.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Message {
    /// A vCPU leaves the sending core for the receiving one (departure or
    /// return): everything its new core needs to run it. The receiver's
    /// half (`accept_immigrant`) rebuilds the vCPU from it.
    Migrate {
        guest: u8,
        vcpu: u8,
        /// The migration engine's reason byte, opaque to the mailbox.
        reason: u8,
        context: VcpuContext,
        /// The vCPU's pending virtual interrupts (the engine's bitmap).
        pending_virqs: u32,
        /// The vCPU's virtual timer: its period (the engine's unit, 0 = off),
        /// its next deadline in cycles, and whether it is one-shot.
        timer_period: u32,
        timer_next_deadline: u64,
        timer_oneshot: bool,
        /// The sender's clock (cycles) after which the receiver must not
        /// take the vCPU: it declines, and the sender takes it back.
        expires: u64,
    },
    /// The receiver of a `Migrate` for this vCPU, of this migration
    /// epoch, has it (taken now, or already).
    MigrateAck { guest: u8, vcpu: u8, epoch: u16 },
    /// The receiver of a `Migrate` for this vCPU, of this migration epoch,
    /// read it after it expired and did not take it.
    MigrateDeclined { guest: u8, vcpu: u8, epoch: u16 },
    /// Deliver virtual IPI `message` (0-7) to a vCPU resident on the
    /// receiving core.
    VirtualIpi { guest: u8, vcpu: u8, message: u8 },
    /// Wake a vCPU resident on the receiving core (it has an interrupt).
    Wake { guest: u8, vcpu: u8 },
    /// Start a vCPU of the receiving core at `entry` with `arg` in r4.
    StartVcpu { guest: u8, vcpu: u8, entry: u32, arg: u32 },
    /// On-demand migration: the sender's RTOS went idle, send this vCPU
    /// back to it.
    ReturnRequest { guest: u8, vcpu: u8 },
    /// Routing update: this vCPU now lives on `core`.
    Where { guest: u8, vcpu: u8, core: u8 },
    /// Guest `guest` called `EXIT` with `status` (vCPU 0 names it): every
    /// core stops its vCPUs, and the last exit ends the run.
    GuestExit { guest: u8, vcpu: u8, status: u32 },
}

/// A payload field whose value is out of range.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Field {
    /// Must be below `MAX_GUESTS`.
    Guest,
    /// Must be below `MAX_VCPUS`.
    Vcpu,
    /// A virtual IPI message: must be below [`IPI_MESSAGES`].
    IpiMessage,
    /// A core: must be below the machine's core count.
    Core,
    /// The migrated context's `virtual_imask`: at most 15.
    VirtualImask,
}

/// Why a slot was not accepted, with what was expected and what was found.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Rejection {
    /// Word 0 is not [`MESSAGE_MAGIC`].
    BadMagic { expected: u32, found: u32 },
    /// Word 2's kind byte names no [`MessageKind`].
    UnknownKind { found: u8 },
    /// Word 2's length byte is not the kind's payload length.
    BadLength { kind: MessageKind, expected: u8, found: u8 },
    /// Word 3 is not the [`checksum`] of the rest (`expected` is the computed one).
    BadChecksum { expected: u32, found: u32 },
    /// Word 2 names another ring's sender or receiver.
    BadRoute { expected_from: u8, expected_to: u8, found_from: u8, found_to: u8 },
    /// Word 1 is not the position the receiver is at: a stale, replayed or
    /// skipped message.
    BadSequence { expected: u32, found: u32 },
    /// A payload field out of range: `found` must be below `limit`.
    BadField { field: Field, found: u32, limit: u32 },
    /// Payload word `word` has bits set (`found`) that the format reserves.
    ReservedBits { word: u8, found: u32 },
}

/// Header word 2: kind, payload length, sender core, receiver core.
pub const fn routing_word(kind: MessageKind, payload_words: usize, from: usize, to: usize) -> u32 {
    kind as u32 | (payload_words as u32 & 0xFF) << 8 | (from as u32 & 0xFF) << 16 | (to as u32 & 0xFF) << 24
}

/// The check word of a message: a 32-bit multiply-rotate hash of header
/// words 0-2 and the payload, word by word.
///
/// Each step `h = rotl16((h ^ w) * K)` (K odd) is a bijection of `h` for a
/// given word and of the word for a given `h`, so a change confined to one
/// word always changes the result, and random damage to several passes
/// with probability about 2^-32, as with a CRC-32. It is not a defence
/// against forgery (nothing here is: a guest that can write the region
/// can compute any public check). What it buys is speed: one multiply
/// and a halfword swap per word on the SH-4A, where a table-driven CRC-32
/// took about 45 cycles a word on the board image, 3,960 cycles for a
/// `Migrate` message, sent and again received in every migration half.
pub fn checksum(magic: u32, sequence: u32, routing: u32, payload: &[u32]) -> u32 {
    const SEED: u32 = 0x811C_9DC5;
    const K: u32 = 0x9E37_79B1;
    let step = |h: u32, w: u32| (h ^ w).wrapping_mul(K).rotate_left(16);
    let h = payload.iter().fold(step(step(step(SEED, magic), sequence), routing), |h, &w| step(h, w));
    // Final mixing, so that the last word's high bits reach every bit.
    let h = (h ^ (h >> 15)).wrapping_mul(0x85EB_CA6B);
    h ^ (h >> 13)
}

/// The framing checks of a header (magic, kind, length): they tell how many
/// payload words to read. Returns the kind.
pub fn check_framing(magic: u32, routing: u32) -> Result<MessageKind, Rejection> {
    if magic != MESSAGE_MAGIC {
        return Err(Rejection::BadMagic { expected: MESSAGE_MAGIC, found: magic });
    }
    let code = routing as u8;
    let kind = MessageKind::from_u8(code).ok_or(Rejection::UnknownKind { found: code })?;
    let length = (routing >> 8) as u8;
    if length as usize != kind.payload_words() {
        return Err(Rejection::BadLength { kind, expected: kind.payload_words() as u8, found: length });
    }
    Ok(kind)
}

/// Everything after framing: checksum, route, sequence, then the payload's
/// fields. `header` is words 0-3 of the slot, `payload` exactly the kind's
/// payload words.
pub fn check_and_decode(
    header: [u32; HEADER_WORDS],
    kind: MessageKind,
    payload: &[u32],
    expected_from: usize,
    expected_to: usize,
    expected_sequence: u32,
    cores: usize,
) -> Result<Message, Rejection> {
    let [magic, sequence, routing, stored] = header;
    let computed = checksum(magic, sequence, routing, payload);
    if computed != stored {
        return Err(Rejection::BadChecksum { expected: computed, found: stored });
    }
    let (found_from, found_to) = ((routing >> 16) as u8, (routing >> 24) as u8);
    if found_from as usize != expected_from || found_to as usize != expected_to {
        return Err(Rejection::BadRoute {
            expected_from: expected_from as u8,
            expected_to: expected_to as u8,
            found_from,
            found_to,
        });
    }
    if sequence != expected_sequence {
        return Err(Rejection::BadSequence { expected: expected_sequence, found: sequence });
    }
    Message::decode_payload(kind, payload, cores)
}

/// Validate a whole slot image (`words` holds at least the header; the
/// payload follows it). The mailbox does the same reading word by word.
pub fn decode_slot(
    words: &[u32],
    expected_from: usize,
    expected_to: usize,
    expected_sequence: u32,
    cores: usize,
) -> Result<Message, Rejection> {
    let word = |i: usize| words.get(i).copied().unwrap_or(0);
    let header = [word(0), word(1), word(2), word(3)];
    let kind = check_framing(header[0], header[2])?;
    let expected = kind.payload_words();
    let payload = words.get(HEADER_WORDS..HEADER_WORDS + expected).ok_or(Rejection::BadLength {
        kind,
        expected: expected as u8,
        found: words.len().saturating_sub(HEADER_WORDS) as u8,
    })?;
    check_and_decode(header, kind, payload, expected_from, expected_to, expected_sequence, cores)
}

/// Byte `n` of a payload word.
const fn byte(word: u32, n: u32) -> u8 {
    (word >> (8 * n)) as u8
}

/// Four bytes into a word, byte 0 lowest.
const fn pack(b0: u8, b1: u8, b2: u8, b3: u8) -> u32 {
    b0 as u32 | (b1 as u32) << 8 | (b2 as u32) << 16 | (b3 as u32) << 24
}

/// `Migrate` payload word 0, bits 31:24: bit 0 = the timer is one-shot.
const FLAG_TIMER_ONESHOT: u8 = 1;

fn check_below(field: Field, found: u32, limit: usize) -> Result<(), Rejection> {
    if (found as usize) < limit {
        Ok(())
    } else {
        Err(Rejection::BadField { field, found, limit: limit as u32 })
    }
}

/// Check that payload word `word` has no bits outside `used`.
fn check_reserved(word: usize, value: u32, used: u32) -> Result<(), Rejection> {
    match value & !used {
        0 => Ok(()),
        found => Err(Rejection::ReservedBits { word: word as u8, found }),
    }
}

/// Guest and vCPU from bytes 0 and 1 of payload word 0, both in range.
fn check_target(word0: u32) -> Result<(u8, u8), Rejection> {
    let (guest, vcpu) = (byte(word0, 0), byte(word0, 1));
    check_below(Field::Guest, guest as u32, MAX_GUESTS)?;
    check_below(Field::Vcpu, vcpu as u32, MAX_VCPUS)?;
    Ok((guest, vcpu))
}

impl Message {
    pub const fn kind(&self) -> MessageKind {
        match self {
            Message::Migrate { .. } => MessageKind::Migrate,
            Message::MigrateAck { .. } => MessageKind::MigrateAck,
            Message::MigrateDeclined { .. } => MessageKind::MigrateDeclined,
            Message::VirtualIpi { .. } => MessageKind::VirtualIpi,
            Message::Wake { .. } => MessageKind::Wake,
            Message::StartVcpu { .. } => MessageKind::StartVcpu,
            Message::ReturnRequest { .. } => MessageKind::ReturnRequest,
            Message::Where { .. } => MessageKind::Where,
            Message::GuestExit { .. } => MessageKind::GuestExit,
        }
    }

    /// The vCPU the message is about: (guest, vCPU).
    pub const fn target(&self) -> (u8, u8) {
        match *self {
            Message::Migrate { guest, vcpu, .. }
            | Message::MigrateAck { guest, vcpu, .. }
            | Message::MigrateDeclined { guest, vcpu, .. }
            | Message::VirtualIpi { guest, vcpu, .. }
            | Message::Wake { guest, vcpu }
            | Message::StartVcpu { guest, vcpu, .. }
            | Message::ReturnRequest { guest, vcpu }
            | Message::Where { guest, vcpu, .. }
            | Message::GuestExit { guest, vcpu, .. } => (guest, vcpu),
        }
    }

    /// Write the payload into `out`; returns its length in words (always
    /// the kind's [`MessageKind::payload_words`]). Does not validate: see
    /// [`Message::validate`].
    /// `out` must hold the kind's payload ([`MessageKind::payload_words`]).
    pub fn encode_payload(&self, out: &mut [u32]) -> usize {
        match *self {
            Message::Migrate {
                guest,
                vcpu,
                reason,
                ref context,
                pending_virqs,
                timer_period,
                timer_next_deadline,
                timer_oneshot,
                expires,
            } => {
                let flags = if timer_oneshot { FLAG_TIMER_ONESHOT } else { 0 };
                out[0] = pack(guest, vcpu, reason, flags);
                out[1] = pending_virqs;
                out[2] = timer_period;
                out[3] = timer_next_deadline as u32;
                out[4] = (timer_next_deadline >> 32) as u32;
                out[5] = expires as u32;
                out[6] = (expires >> 32) as u32;
                out[MIGRATE_FIXED_WORDS..MAX_PAYLOAD_WORDS].copy_from_slice(&context.to_words());
            }
            Message::MigrateAck { guest, vcpu, epoch } | Message::MigrateDeclined { guest, vcpu, epoch } => {
                out[0] = pack(guest, vcpu, epoch as u8, (epoch >> 8) as u8)
            }
            Message::Wake { guest, vcpu }
            | Message::ReturnRequest { guest, vcpu } => out[0] = pack(guest, vcpu, 0, 0),
            Message::VirtualIpi { guest, vcpu, message } => out[0] = pack(guest, vcpu, message, 0),
            Message::Where { guest, vcpu, core } => out[0] = pack(guest, vcpu, core, 0),
            Message::StartVcpu { guest, vcpu, entry, arg } => {
                out[0] = pack(guest, vcpu, 0, 0);
                out[1] = entry;
                out[2] = arg;
            }
            Message::GuestExit { guest, vcpu, status } => {
                out[0] = pack(guest, vcpu, 0, 0);
                out[1] = status;
            }
        }
        self.kind().payload_words()
    }

    /// Rebuild a message of `kind` from its payload, checking every field
    /// (`cores`: the machine's core count, for `Where`).
    pub fn decode_payload(kind: MessageKind, payload: &[u32], cores: usize) -> Result<Message, Rejection> {
        Message::check_payload(kind, payload, cores)?;
        let word0 = payload[0];
        let (guest, vcpu) = (byte(word0, 0), byte(word0, 1));
        Ok(match kind {
            MessageKind::Migrate => {
                let flags = byte(word0, 3);
                let mut words = [0u32; CONTEXT_WORDS];
                words.copy_from_slice(&payload[MIGRATE_FIXED_WORDS..]);
                let context = VcpuContext::from_words(&words);
                Message::Migrate {
                    guest,
                    vcpu,
                    reason: byte(word0, 2),
                    context,
                    pending_virqs: payload[1],
                    timer_period: payload[2],
                    timer_next_deadline: payload[3] as u64 | (payload[4] as u64) << 32,
                    timer_oneshot: flags & FLAG_TIMER_ONESHOT != 0,
                    expires: payload[5] as u64 | (payload[6] as u64) << 32,
                }
            }
            MessageKind::MigrateAck => Message::MigrateAck { guest, vcpu, epoch: (word0 >> 16) as u16 },
            MessageKind::MigrateDeclined => Message::MigrateDeclined { guest, vcpu, epoch: (word0 >> 16) as u16 },
            MessageKind::Wake => Message::Wake { guest, vcpu },
            MessageKind::ReturnRequest => Message::ReturnRequest { guest, vcpu },
            MessageKind::VirtualIpi => Message::VirtualIpi { guest, vcpu, message: byte(word0, 2) },
            MessageKind::Where => Message::Where { guest, vcpu, core: byte(word0, 2) },
            MessageKind::StartVcpu => Message::StartVcpu { guest, vcpu, entry: payload[1], arg: payload[2] },
            MessageKind::GuestExit => Message::GuestExit { guest, vcpu, status: payload[1] },
        })
    }

    /// Every check [`Message::decode_payload`] makes, without building the
    /// message (a sender uses it on the words it is about to send).
    pub fn check_payload(kind: MessageKind, payload: &[u32], cores: usize) -> Result<(), Rejection> {
        let expected = kind.payload_words();
        if payload.len() != expected {
            return Err(Rejection::BadLength { kind, expected: expected as u8, found: payload.len() as u8 });
        }
        let word0 = payload[0];
        check_target(word0)?;
        match kind {
            MessageKind::Migrate => {
                check_reserved(0, word0, 0x00FF_FFFF | (FLAG_TIMER_ONESHOT as u32) << 24)?;
                let virtual_imask = payload[MIGRATE_FIXED_WORDS + CONTEXT_VIRTUAL_IMASK];
                if virtual_imask > MAX_VIRTUAL_IMASK {
                    return Err(Rejection::BadField {
                        field: Field::VirtualImask,
                        found: virtual_imask,
                        limit: MAX_VIRTUAL_IMASK + 1,
                    });
                }
            }
            // Bits 31:16 of an acknowledgement or a refusal: the epoch.
            MessageKind::MigrateAck | MessageKind::MigrateDeclined => {}
            MessageKind::Wake
            | MessageKind::ReturnRequest
            | MessageKind::StartVcpu
            | MessageKind::GuestExit => check_reserved(0, word0, 0x0000_FFFF)?,
            MessageKind::VirtualIpi => {
                check_reserved(0, word0, 0x00FF_FFFF)?;
                check_below(Field::IpiMessage, byte(word0, 2) as u32, IPI_MESSAGES as usize)?;
            }
            MessageKind::Where => {
                check_reserved(0, word0, 0x00FF_FFFF)?;
                check_below(Field::Core, byte(word0, 2) as u32, cores.min(MAX_CORES))?;
            }
        }
        Ok(())
    }

    /// Whether a receiver on a machine of `cores` cores would accept this
    /// message's fields (the mailbox refuses to send one it would not).
    pub fn validate(&self, cores: usize) -> Result<(), Rejection> {
        let mut payload = [0u32; MAX_PAYLOAD_WORDS];
        let n = self.encode_payload(&mut payload);
        Message::decode_payload(self.kind(), &payload[..n], cores).map(|_| ())
    }

    /// The whole slot image of this message as message `sequence` of ring
    /// `from -> to`; returns the number of words used (header + payload).
    pub fn encode_slot(&self, from: usize, to: usize, sequence: u32, out: &mut [u32; SLOT_WORDS as usize]) -> usize {
        let mut payload = [0u32; MAX_PAYLOAD_WORDS];
        let n = self.encode_payload(&mut payload);
        let routing = routing_word(self.kind(), n, from, to);
        out[0] = MESSAGE_MAGIC;
        out[1] = sequence;
        out[2] = routing;
        out[3] = checksum(MESSAGE_MAGIC, sequence, routing, &payload[..n]);
        out[HEADER_WORDS..HEADER_WORDS + n].copy_from_slice(&payload[..n]);
        HEADER_WORDS + n
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The check word is the algorithm docs/mailbox.md writes out, step by
    /// step (a second, plain implementation), and a change to any one word,
    /// header or payload, to any value, changes it.
    #[test]
    fn the_check_word_is_the_documented_hash_and_sees_every_one_word_change() {
        fn documented(words: &[u32]) -> u32 {
            let mut h: u32 = 0x811c_9dc5;
            for &w in words {
                h ^= w;
                h = h.wrapping_mul(0x9e37_79b1);
                h = (h << 16) | (h >> 16);
            }
            h ^= h >> 15;
            h = h.wrapping_mul(0x85eb_ca6b);
            h ^ (h >> 13)
        }
        let mut words: [u32; 90] = core::array::from_fn(|i| (i as u32).wrapping_mul(0x0101_0101) ^ 0xdead_beef);
        words[0] = MESSAGE_MAGIC;
        let check = |w: &[u32]| checksum(w[0], w[1], w[2], &w[3..]);
        assert_eq!(check(&words), documented(&words));
        let base = check(&words);
        let mut x: u32 = 1;
        for at in 0..words.len() {
            for _ in 0..64 {
                x ^= x << 13;
                x ^= x >> 17;
                x ^= x << 5;
                let mut changed = words;
                changed[at] ^= x;
                assert_ne!(check(&changed), base, "word {at} ^ {x:#x} went unseen");
            }
        }
    }

    #[test]
    fn every_kind_has_its_code_and_fits_a_slot() {
        for kind in MessageKind::ALL {
            assert_eq!(MessageKind::from_u8(kind as u8), Some(kind));
            assert!(HEADER_WORDS + kind.payload_words() <= SLOT_WORDS as usize);
        }
        assert_eq!(MessageKind::from_u8(0), None);
        assert_eq!(MessageKind::from_u8(10), None);
        assert_eq!(MAX_PAYLOAD_WORDS, 86);
    }

    #[test]
    fn slot_round_trip() {
        let m = Message::StartVcpu { guest: 1, vcpu: 2, entry: 0x8c00_1000, arg: 42 };
        let mut slot = [0u32; SLOT_WORDS as usize];
        let n = m.encode_slot(0, 3, 17, &mut slot);
        assert_eq!(n, 7);
        assert_eq!(decode_slot(&slot[..n], 0, 3, 17, 4), Ok(m));
        assert_eq!(decode_slot(&slot[..n], 0, 3, 18, 4), Err(Rejection::BadSequence { expected: 18, found: 17 }));
        assert_eq!(
            decode_slot(&slot[..n], 1, 3, 17, 4),
            Err(Rejection::BadRoute { expected_from: 1, expected_to: 3, found_from: 0, found_to: 3 })
        );
    }

    #[test]
    fn out_of_range_fields_are_refused() {
        let bad_guest = Message::Wake { guest: MAX_GUESTS as u8, vcpu: 0 };
        assert_eq!(
            bad_guest.validate(4),
            Err(Rejection::BadField { field: Field::Guest, found: MAX_GUESTS as u32, limit: MAX_GUESTS as u32 })
        );
        let bad_ipi = Message::VirtualIpi { guest: 0, vcpu: 0, message: 8 };
        assert_eq!(bad_ipi.validate(4), Err(Rejection::BadField { field: Field::IpiMessage, found: 8, limit: 8 }));
        let bad_core = Message::Where { guest: 0, vcpu: 0, core: 2 };
        assert_eq!(bad_core.validate(2), Err(Rejection::BadField { field: Field::Core, found: 2, limit: 2 }));
        assert_eq!(bad_core.validate(4), Ok(()));
    }
}
