//! Claim words: who may run a vCPU that is between two cores.
//!
//! Owns: the encoding of a claim word and its check. Must not touch:
//! shared memory (the engine reads, writes and compare-and-swaps the
//! words through `MigrationHardware`) or what a claim means for the run
//! queues (that is the engine's).
//!
//! Every vCPU has one claim word in the mailbox region
//! (`layout::claim_offset`). The core that ships a vCPU writes
//! [`Claim::InFlight`] (its epoch, its destination) before the message
//! goes. From then on exactly one of two compare-and-swaps can succeed on
//! that value: the destination's, to [`Claim::Taken`], before it runs the
//! vCPU, or the source's, to [`Claim::Reclaimed`], before it takes the
//! vCPU back. So a vCPU whose migration ends in doubt (a destination that
//! read the message and then stopped, an answer lost) is run by one core
//! at most, and its source can always find out which.
//!
//! A word is 16 bits of epoch, 4 of core, 4 of state and an 8-bit check
//! over the other 24; any single flipped bit, and zeroed memory (a vCPU
//! never shipped), decode as no claim.

/// What a claim word says about one migration of a vCPU.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Claim {
    /// Shipped to `core` and not yet taken there or taken back.
    InFlight { epoch: u16, core: u8 },
    /// Core `core` took it: it runs there.
    Taken { epoch: u16, core: u8 },
    /// Its source took it back: no copy of this epoch may be taken.
    Reclaimed { epoch: u16, core: u8 },
}

const IN_FLIGHT: u32 = 1;
const TAKEN: u32 = 2;
const RECLAIMED: u32 = 3;

/// The check byte of the low 24 bits: their bytes xor-ed, and a constant
/// so that an all-zero word does not check.
const fn check(low: u32) -> u32 {
    (low ^ (low >> 8) ^ (low >> 16) ^ 0xa5) & 0xff
}

impl Claim {
    /// The word to write.
    pub const fn encode(self) -> u32 {
        let (state, epoch, core) = match self {
            Claim::InFlight { epoch, core } => (IN_FLIGHT, epoch, core),
            Claim::Taken { epoch, core } => (TAKEN, epoch, core),
            Claim::Reclaimed { epoch, core } => (RECLAIMED, epoch, core),
        };
        let low = epoch as u32 | ((core as u32 & 0xf) << 16) | (state << 20);
        low | (check(low) << 24)
    }

    /// The claim a word holds, or `None` for a word that is not one (zero,
    /// scribbled, flipped).
    pub const fn decode(word: u32) -> Option<Claim> {
        let low = word & 0x00ff_ffff;
        if word >> 24 != check(low) {
            return None;
        }
        let (epoch, core) = (low as u16, ((low >> 16) & 0xf) as u8);
        match low >> 20 {
            IN_FLIGHT => Some(Claim::InFlight { epoch, core }),
            TAKEN => Some(Claim::Taken { epoch, core }),
            RECLAIMED => Some(Claim::Reclaimed { epoch, core }),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn claims_round_trip_and_differ_in_every_field() {
        let all = [
            Claim::InFlight { epoch: 0, core: 0 },
            Claim::InFlight { epoch: 7, core: 3 },
            Claim::Taken { epoch: 7, core: 3 },
            Claim::Reclaimed { epoch: 7, core: 3 },
            Claim::Taken { epoch: 0xffff, core: 15 },
        ];
        for c in all {
            assert_eq!(Claim::decode(c.encode()), Some(c));
        }
        for (i, a) in all.iter().enumerate() {
            for b in &all[i + 1..] {
                assert_ne!(a.encode(), b.encode());
            }
        }
        assert_eq!(Claim::InFlight { epoch: 0x1234, core: 2 }.encode(), 0x0012_1234 | (check(0x12_1234) << 24));
    }

    #[test]
    fn zero_and_every_single_flip_decode_as_no_claim() {
        assert_eq!(Claim::decode(0), None);
        assert_eq!(Claim::decode(u32::MAX), None);
        for c in [Claim::InFlight { epoch: 0x8001, core: 1 }, Claim::Taken { epoch: 2, core: 0 }, Claim::Reclaimed { epoch: 0, core: 3 }] {
            for bit in 0..32 {
                assert_eq!(Claim::decode(c.encode() ^ (1 << bit)), None, "{c:?} bit {bit}");
            }
        }
        // A state the encoder never writes, with a good check, is no claim.
        let low = 0x00f0_0001;
        assert_eq!(Claim::decode(low | (check(low) << 24)), None);
    }
}
