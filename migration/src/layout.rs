//! Where everything of the mailbox lives inside its shared-memory region.
//!
//! Owns: the byte offsets of the rings, their index words and their slots,
//! relative to the region's base, and the size budget (asserted at compile
//! time against the RP1's 128 KiB CSM). Must not touch: the region's base
//! address (the instance's hardware layer chooses it) or what goes in a
//! slot (that is `message`).
//!
//! The region holds one ring per ordered pair of distinct cores, in the
//! order (0->1, 0->2, 0->3, 1->0, 1->2, ...): ring `from * (cores - 1) + k`
//! where `k` counts the receivers of `from` in increasing order. A ring is
//! a 64-byte header (the head index in its first 32-byte cache line, the
//! tail index in its second, so the two writers never share a line) followed by [`SLOTS_PER_RING`] slots of [`SLOT_BYTES`] bytes.
//!
//! After the rings comes the location table: one word per (guest, vCPU),
//! the core a vCPU away from its home is on, as a hint for the cores that
//! send it IPIs (see `Engine::ipi_destination`). Then the claim table:
//! one word per (guest, vCPU), the claim on its last migration
//! (`claim`), which settles whether its destination or its source runs it.
//! Then the IPI table: one word per (guest, vCPU), a bit per virtual IPI
//! message raised for it and not yet taken by the core that holds it
//! (docs/mailbox.md, "Virtual IPIs"): IPIs do not go through the rings.

use spumone_kernel::guest::{MAX_GUESTS, MAX_VCPUS};
use static_assertions::const_assert;

/// Most cores the layout serves (the RP1 has four).
pub const MAX_CORES: usize = 4;

/// Messages a ring holds before its sender gets `Full`.
pub const SLOTS_PER_RING: u32 = 8;
/// Size of one slot in 32-bit words (header + largest payload + spare).
pub const SLOT_WORDS: u32 = 96;
pub const SLOT_BYTES: u32 = SLOT_WORDS * 4;

/// The sender's head index (count, then check word), relative to the ring.
pub const HEAD_OFFSET: u32 = 0x00;
/// The receiver's tail index (count, then check word), relative to the ring.
pub const TAIL_OFFSET: u32 = 0x20;
/// Bytes of one index (see `index`).
pub const INDEX_BYTES: u32 = 8;
/// Ring header size; slot 0 starts here.
pub const RING_HEADER_BYTES: u32 = 0x40;
pub const RING_BYTES: u32 = RING_HEADER_BYTES + SLOTS_PER_RING * SLOT_BYTES;

/// The RP1's core-shared memory (CSM, physical 0x16000000-0x1601ffff).
pub const CSM_BYTES: u32 = 128 * 1024;
/// SH-4A operand-cache line size.
pub const CACHE_LINE_BYTES: u32 = 32;

/// Rings for `cores` cores: one per ordered pair of distinct cores.
pub const fn ring_count(cores: usize) -> usize {
    if cores < 2 {
        0
    } else {
        cores * (cores - 1)
    }
}

/// Bytes of the location table: a word per (guest, vCPU).
pub const LOCATION_BYTES: u32 = (MAX_GUESTS * MAX_VCPUS * 4) as u32;

/// Bytes of the claim table: a word per (guest, vCPU).
pub const CLAIM_BYTES: u32 = (MAX_GUESTS * MAX_VCPUS * 4) as u32;

/// Bytes of the IPI table: a word per (guest, vCPU).
pub const IPI_BYTES: u32 = (MAX_GUESTS * MAX_VCPUS * 4) as u32;

/// Bytes of shared memory the mailbox needs for `cores` cores: the rings,
/// then the location table, the claim table and the IPI table.
pub const fn region_size(cores: usize) -> u32 {
    if cores < 2 {
        return 0;
    }
    ring_count(cores) as u32 * RING_BYTES + LOCATION_BYTES + CLAIM_BYTES + IPI_BYTES
}

/// Byte offset of vCPU (`guest`, `vcpu`)'s location word, or `None` if
/// either is out of range or there is no mailbox (one core).
pub const fn location_offset(cores: usize, guest: usize, vcpu: usize) -> Option<u32> {
    if cores < 2 || cores > MAX_CORES || guest >= MAX_GUESTS || vcpu >= MAX_VCPUS {
        return None;
    }
    Some(ring_count(cores) as u32 * RING_BYTES + ((guest * MAX_VCPUS + vcpu) * 4) as u32)
}

/// Byte offset of vCPU (`guest`, `vcpu`)'s claim word, or `None` if
/// either is out of range or there is no mailbox (one core).
pub const fn claim_offset(cores: usize, guest: usize, vcpu: usize) -> Option<u32> {
    match location_offset(cores, guest, vcpu) {
        Some(at) => Some(at + LOCATION_BYTES),
        None => None,
    }
}

/// Byte offset of vCPU (`guest`, `vcpu`)'s IPI word, or `None` if either
/// is out of range or there is no mailbox (one core).
pub const fn ipi_offset(cores: usize, guest: usize, vcpu: usize) -> Option<u32> {
    match location_offset(cores, guest, vcpu) {
        Some(at) => Some(at + LOCATION_BYTES + CLAIM_BYTES),
        None => None,
    }
}

/// A location word: core + 1 (0, as the region starts, means "not known").
pub const fn location_word(core: u8) -> u32 {
    core as u32 + 1
}

/// The core a location word names, if it names one of `cores`.
pub const fn location_core(word: u32, cores: usize) -> Option<u8> {
    if word >= 1 && word <= cores as u32 {
        Some((word - 1) as u8)
    } else {
        None
    }
}

/// The ring `from` sends to `to` on, or `None` if either core is out of
/// range or they are the same core (a core never mails itself).
pub const fn ring_index(cores: usize, from: usize, to: usize) -> Option<usize> {
    if cores > MAX_CORES || from >= cores || to >= cores || from == to {
        return None;
    }
    let k = if to > from { to - 1 } else { to };
    Some(from * (cores - 1) + k)
}

/// Byte offset of ring `from -> to` in the region.
pub const fn ring_offset(cores: usize, from: usize, to: usize) -> Option<u32> {
    match ring_index(cores, from, to) {
        Some(i) => Some(i as u32 * RING_BYTES),
        None => None,
    }
}

/// Byte offset of the slot that message number `position` of a ring uses
/// (positions are the ring's free-running message count; they wrap).
pub const fn slot_offset(ring: u32, position: u32) -> u32 {
    ring + RING_HEADER_BYTES + (position % SLOTS_PER_RING) * SLOT_BYTES
}

// The two indices have different writers: keep each within one cache
// line, the two in different lines, both inside the header.
const_assert!(HEAD_OFFSET / CACHE_LINE_BYTES == (HEAD_OFFSET + INDEX_BYTES - 1) / CACHE_LINE_BYTES);
const_assert!(TAIL_OFFSET / CACHE_LINE_BYTES == (TAIL_OFFSET + INDEX_BYTES - 1) / CACHE_LINE_BYTES);
const_assert!(HEAD_OFFSET / CACHE_LINE_BYTES != TAIL_OFFSET / CACHE_LINE_BYTES);
const_assert!(TAIL_OFFSET + INDEX_BYTES <= RING_HEADER_BYTES);
// Slots start and stay cache-line aligned.
const_assert!(RING_HEADER_BYTES % CACHE_LINE_BYTES == 0);
const_assert!(SLOT_BYTES % CACHE_LINE_BYTES == 0);
// A position's slot is position % SLOTS: keep it a power of two so the
// free-running 32-bit counters wrap onto the same slot sequence.
const_assert!(SLOTS_PER_RING.is_power_of_two());
// Four cores' twelve rings take well under half of the CSM.
const_assert!(region_size(MAX_CORES) <= CSM_BYTES / 2);
const_assert!(region_size(MAX_CORES) == 37_632 + LOCATION_BYTES + CLAIM_BYTES + IPI_BYTES);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rings_tile_the_region_without_overlap() {
        for cores in 2..=MAX_CORES {
            let mut seen = [false; ring_count(MAX_CORES)];
            for from in 0..cores {
                for to in 0..cores {
                    match ring_index(cores, from, to) {
                        None => assert_eq!(from, to),
                        Some(i) => {
                            assert!(i < ring_count(cores));
                            assert!(!seen[i], "ring {i} used twice");
                            seen[i] = true;
                            let end = ring_offset(cores, from, to).unwrap() + RING_BYTES;
                            assert!(end <= location_offset(cores, 0, 0).unwrap());
                            assert!(end <= claim_offset(cores, 0, 0).unwrap());
                        }
                    }
                }
            }
            assert_eq!(seen.iter().filter(|&&s| s).count(), ring_count(cores));
        }
    }

    #[test]
    fn out_of_range_cores_have_no_ring() {
        assert_eq!(ring_index(4, 4, 0), None);
        assert_eq!(ring_index(4, 0, 4), None);
        assert_eq!(ring_index(2, 0, 2), None);
        assert_eq!(ring_index(5, 0, 1), None);
        assert_eq!(ring_offset(4, 3, 2), Some(11 * RING_BYTES));
        assert_eq!(region_size(1), 0);
        // The 4-core table of docs/mailbox.md.
        assert_eq!(RING_BYTES, 0xc40);
        assert_eq!(ring_offset(4, 0, 1), Some(0));
        assert_eq!(ring_offset(4, 1, 0), Some(0x24c0));
        assert_eq!(ring_offset(4, 2, 1), Some(0x55c0));
        assert_eq!(slot_offset(0x86c0, 0), 0x8700);
        assert_eq!(region_size(4), 0x9300 + 0x40 + 0x40 + 0x40);
        assert_eq!(region_size(2), 2 * RING_BYTES + 0x40 + 0x40 + 0x40);
    }

    #[test]
    fn the_location_table_follows_the_rings_and_names_only_real_cores() {
        assert_eq!(location_offset(4, 0, 0), Some(0x9300));
        assert_eq!(location_offset(4, 3, 3), Some(0x9300 + 15 * 4));
        assert_eq!(location_offset(4, 3, 3).unwrap() + 4, claim_offset(4, 0, 0).unwrap());
        assert_eq!((claim_offset(4, 0, 0), claim_offset(4, 3, 3)), (Some(0x9340), Some(0x9340 + 15 * 4)));
        assert_eq!(claim_offset(4, 3, 3).unwrap() + 4, ipi_offset(4, 0, 0).unwrap());
        assert_eq!((ipi_offset(4, 0, 0), ipi_offset(4, 3, 3)), (Some(0x9380), Some(0x9380 + 15 * 4)));
        assert_eq!(ipi_offset(4, 3, 3).unwrap() + 4, region_size(4));
        assert_eq!((ipi_offset(4, 0, 4), ipi_offset(1, 0, 0)), (None, None));
        assert_eq!((claim_offset(4, 4, 0), claim_offset(1, 0, 0)), (None, None));
        assert_eq!(location_offset(2, 1, 2), Some(2 * RING_BYTES + 6 * 4));
        assert_eq!((location_offset(4, 4, 0), location_offset(4, 0, 4), location_offset(1, 0, 0)), (None, None, None));
        for core in 0..4 {
            assert_eq!(location_core(location_word(core), 4), Some(core));
        }
        // Zero (a fresh region) and anything scribbled past the cores name none.
        assert_eq!(location_core(0, 4), None);
        assert_eq!(location_core(location_word(3), 3), None);
        assert_eq!(location_core(0xdead_beef, 4), None);
    }

    #[test]
    fn slots_wrap_with_the_position() {
        assert_eq!(slot_offset(0, 0), RING_HEADER_BYTES);
        assert_eq!(slot_offset(0, 9), RING_HEADER_BYTES + SLOT_BYTES);
        assert_eq!(slot_offset(0, u32::MAX), RING_HEADER_BYTES + 7 * SLOT_BYTES);
        // The free-running count wraps from u32::MAX to 0 onto the next slot.
        assert_eq!(slot_offset(0, u32::MAX.wrapping_add(1)), slot_offset(0, 0));
    }
}
