//! Self-checking ring indices: the head a sender publishes and the tail a
//! receiver publishes.
//!
//! Owns: the encoding of an index and its check word. Must not touch:
//! shared memory (the mailbox reads and writes the words) or any decision
//! about what an authentic but surprising index means (that is the
//! mailbox's recovery rule).
//!
//! An index is two words: the ring's free-running message count (32 bits,
//! wrapping) and a check, the CRC-32 of a tag (which index, which ring)
//! and the count. A scribbled pair passes with probability 2^-32; a pair
//! copied from another ring, or from the other index of the same ring,
//! never does. Zeroed memory is not a valid index of any ring (the tests
//! check every tag), so a ring whose receiver has not initialised it looks
//! "not ready" to its sender.
//!
//! The writer writes the count, then the check. A reader on another core
//! can catch the pair half-written: the new count with the old check, or
//! (reading the count just before it changes) the old count with the new
//! check. On the simulated board a core's time slice can end between the
//! writer's two stores, so the pair can stay half-written for a whole
//! slice, and reading it again at once does not help. An index moves by
//! one per write (a send or a receive), so such a pair is a count whose
//! check is its neighbour's: [`decode_index_in_flux`] reads it as the
//! older of the two counts, which was the authentic index when the write
//! began, and everything a reader does with an index is safe with an
//! older one (a sender sees less room, a receiver fewer messages, until
//! it reads again). A scribble that moves a count by exactly one with its
//! check intact reads the same way: the one class of scribble not
//! reported; the index is still never read as a value its writer did not
//! write around then, and the next write heals it.

use crate::crc::Crc32;

/// Which index of a ring.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum IndexRole {
    /// Written by the ring's sender: messages published so far.
    Head,
    /// Written by the ring's receiver: messages consumed so far.
    Tail,
}

const HEAD_TAG: u32 = 0x4845_4144; // "HEAD"
const TAIL_TAG: u32 = 0x5441_494C; // "TAIL"

/// The tag that binds an index to its role and ring.
pub const fn index_tag(role: IndexRole, from: usize, to: usize) -> u32 {
    let base = match role {
        IndexRole::Head => HEAD_TAG,
        IndexRole::Tail => TAIL_TAG,
    };
    base ^ (((from as u32) & 0xFF) << 8 | ((to as u32) & 0xFF))
}

/// Words of one index: the count, then its check.
pub const INDEX_WORDS: usize = 2;

/// The check word of an index with `tag` and `position`.
pub const fn index_check(tag: u32, position: u32) -> u32 {
    Crc32::new().update_word(tag).update_word(position).finish()
}

/// The two words to publish for the free-running count `position`.
pub const fn encode_index(tag: u32, position: u32) -> [u32; INDEX_WORDS] {
    [position, index_check(tag, position)]
}

/// The count in `words` if its check matches; otherwise the check the
/// count should have had and the one found.
pub const fn decode_index(tag: u32, words: [u32; INDEX_WORDS]) -> Result<u32, (u32, u32)> {
    let [position, found] = words;
    let expected = index_check(tag, position);
    if expected == found {
        Ok(position)
    } else {
        Err((expected, found))
    }
}

/// [`decode_index`], and a pair caught half-written (see the module's
/// header) read as the older count: `Ok` for a pair whose check is its
/// count's, or its count's neighbour's.
pub const fn decode_index_in_flux(tag: u32, words: [u32; INDEX_WORDS]) -> Result<u32, (u32, u32)> {
    let [position, found] = words;
    match decode_index(tag, words) {
        Ok(position) => Ok(position),
        // The old count, the new check: the write of position + 1 began.
        Err(_) if found == index_check(tag, position.wrapping_add(1)) => Ok(position),
        // The new count, the old check.
        Err(_) if found == index_check(tag, position.wrapping_sub(1)) => Ok(position.wrapping_sub(1)),
        Err(e) => Err(e),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::layout::MAX_CORES;

    #[test]
    fn round_trip() {
        let tag = index_tag(IndexRole::Head, 1, 2);
        for position in [0u32, 1, 7, 0xFFFF, 0x1_0000, 0xDEAD_BEEF, u32::MAX] {
            assert_eq!(decode_index(tag, encode_index(tag, position)), Ok(position));
        }
        let [p, c] = encode_index(tag, 5);
        assert_eq!(decode_index(tag, [p + 1, c]), Err((index_check(tag, 6), c)));
    }

    #[test]
    fn a_pair_caught_half_written_reads_as_the_older_count() {
        let tag = index_tag(IndexRole::Tail, 2, 0);
        for old in [0u32, 1, 41, u32::MAX] {
            let new = old.wrapping_add(1);
            let [old_count, old_check] = encode_index(tag, old);
            let [new_count, new_check] = encode_index(tag, new);
            assert_eq!(decode_index_in_flux(tag, [new_count, old_check]), Ok(old), "new count, old check");
            assert_eq!(decode_index_in_flux(tag, [old_count, new_check]), Ok(old), "old count, new check");
            assert_eq!(decode_index_in_flux(tag, [new_count, new_check]), Ok(new));
            assert!(decode_index(tag, [new_count, old_check]).is_err(), "the strict reading refuses it");
        }
        // Two apart, or another ring's check: not a write under way.
        let [count, _] = encode_index(tag, 7);
        assert!(decode_index_in_flux(tag, [count, index_check(tag, 9)]).is_err());
        assert!(decode_index_in_flux(tag, [count, index_check(index_tag(IndexRole::Head, 2, 0), 8)]).is_err());
        assert!(decode_index_in_flux(tag, [count, 0]).is_err());
    }

    #[test]
    fn blank_memory_and_foreign_words_are_not_indices() {
        for from in 0..MAX_CORES {
            for to in 0..MAX_CORES {
                for role in [IndexRole::Head, IndexRole::Tail] {
                    let tag = index_tag(role, from, to);
                    assert!(decode_index(tag, [0, 0]).is_err(), "{role:?} {from}->{to} accepts zeroes");
                    assert!(decode_index(tag, [!0, !0]).is_err(), "{role:?} {from}->{to} accepts ones");
                }
                let head = index_tag(IndexRole::Head, from, to);
                let tail = index_tag(IndexRole::Tail, from, to);
                assert!(decode_index(tail, encode_index(head, 5)).is_err());
                assert!(decode_index(head, encode_index(tail, 5)).is_err());
            }
        }
        let a = index_tag(IndexRole::Head, 0, 1);
        let b = index_tag(IndexRole::Head, 1, 0);
        assert!(decode_index(b, encode_index(a, 3)).is_err());
    }
}
