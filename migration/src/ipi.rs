//! IPI words: virtual IPIs between cores without the rings.
//!
//! Owns: the meaning of a vCPU's IPI word (`layout::ipi_offset`) and the
//! two operations on it. Must not touch: where the IPI's ICI goes (the
//! engine's location hint decides) or what a raised bit does to the vCPU
//! (the instance raises it).
//!
//! Bit `m` of a word is virtual IPI message `m` ([`IPI_MESSAGES`] of them),
//! raised for that vCPU by some core and not yet taken. A sender sets its
//! bit with a compare-and-swap (so two senders never lose each other's
//! bits), then reads where the vCPU is and raises ICI message 2 there. The
//! core that holds the vCPU swaps the word to zero, also with a
//! compare-and-swap, and raises what it found: at that ICI, and at every
//! full pass of its scheduler for every vCPU it holds. So a vCPU that moved
//! after its sender read the location (the bit was set before the read,
//! the new holder looks after it took the vCPU) and an ICI that was lost
//! cost a wait for that core's next pass, never the IPI.
//!
//! A raise that finds its bit already set is the same IPI twice: one
//! delivery, counted as coalesced by the sender. Bits beyond the messages
//! (a scribbled word) are dropped by the taker and counted.

use crate::layout::ipi_offset;
use crate::message::IPI_MESSAGES;
use crate::port::MigrationHardware;

/// The bits of a word that are messages.
pub const MESSAGE_BITS: u32 = (1 << IPI_MESSAGES) - 1;

/// What [`raise`] did.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Raised {
    /// The bit was clear: it is set now.
    New,
    /// It was already set: this IPI and the earlier one are one.
    Coalesced,
    /// No word for this vCPU or message (out of range, or one core).
    NoWord,
}

/// Set message `message`'s bit in vCPU (`guest`, `vcpu`)'s word.
pub fn raise<H: MigrationHardware>(hw: &mut H, cores: usize, guest: u8, vcpu: u8, message: u8) -> Raised {
    let Some(at) = ipi_offset(cores, guest as usize, vcpu as usize) else { return Raised::NoWord };
    if message >= IPI_MESSAGES {
        return Raised::NoWord;
    }
    let bit = 1u32 << message;
    let mut seen = hw.shared_read(at);
    loop {
        if seen & bit != 0 {
            return Raised::Coalesced;
        }
        let found = hw.shared_compare_exchange(at, seen, seen | bit);
        if found == seen {
            return Raised::New;
        }
        seen = found;
    }
}

/// Take every bit of vCPU (`guest`, `vcpu`)'s word, leaving it zero:
/// (the message bits, how many bits were not messages). A plain read
/// first, so that the usual empty word costs no compare-and-swap.
pub fn take<H: MigrationHardware>(hw: &mut H, cores: usize, guest: u8, vcpu: u8) -> (u8, u32) {
    let Some(at) = ipi_offset(cores, guest as usize, vcpu as usize) else { return (0, 0) };
    let mut seen = hw.shared_read(at);
    while seen != 0 {
        let found = hw.shared_compare_exchange(at, seen, 0);
        if found == seen {
            break;
        }
        seen = found;
    }
    ((seen & MESSAGE_BITS) as u8, (seen & !MESSAGE_BITS).count_ones())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::layout::region_size;
    use crate::port::MigrationEvent;

    struct Words(heapless::Vec<u32, 2048>);

    impl MigrationHardware for Words {
        fn now(&self) -> u64 {
            0
        }
        fn charge(&mut self, _: u64) {}
        fn shared_read(&mut self, offset: u32) -> u32 {
            self.0[offset as usize / 4]
        }
        fn shared_write(&mut self, offset: u32, value: u32) {
            self.0[offset as usize / 4] = value;
        }
        fn shared_compare_exchange(&mut self, offset: u32, expected: u32, new: u32) -> u32 {
            let found = self.shared_read(offset);
            if found == expected {
                self.shared_write(offset, new);
            }
            found
        }
        fn send_ici(&mut self, _: usize) {}
        fn trace(&mut self, _: MigrationEvent) {}
    }

    fn two_cores() -> Words {
        let mut w = heapless::Vec::new();
        w.resize((region_size(2) / 4) as usize, 0).unwrap();
        Words(w)
    }

    #[test]
    fn a_raised_bit_is_taken_once_and_a_second_raise_coalesces() {
        let mut hw = two_cores();
        assert_eq!(raise(&mut hw, 2, 1, 2, 3), Raised::New);
        assert_eq!(raise(&mut hw, 2, 1, 2, 0), Raised::New);
        assert_eq!(raise(&mut hw, 2, 1, 2, 3), Raised::Coalesced);
        // Another vCPU's word is its own.
        assert_eq!(take(&mut hw, 2, 1, 1), (0, 0));
        assert_eq!(take(&mut hw, 2, 1, 2), (0b1001, 0));
        assert_eq!(take(&mut hw, 2, 1, 2), (0, 0));
        assert_eq!(raise(&mut hw, 2, 1, 2, 3), Raised::New);
    }

    #[test]
    fn out_of_range_raises_touch_nothing_and_scribbles_are_counted() {
        let mut hw = two_cores();
        assert_eq!(raise(&mut hw, 2, 1, 2, IPI_MESSAGES), Raised::NoWord);
        assert_eq!(raise(&mut hw, 2, 4, 0, 0), Raised::NoWord);
        assert_eq!(raise(&mut hw, 1, 0, 0, 0), Raised::NoWord);
        assert!(hw.0.iter().all(|&w| w == 0));
        let at = ipi_offset(2, 0, 3).unwrap();
        hw.shared_write(at, 0xdead_0001);
        assert_eq!(take(&mut hw, 2, 0, 3), (0x01, (0xdead_0001u32 & !MESSAGE_BITS).count_ones()));
        assert_eq!(hw.shared_read(at), 0);
    }
}
