//! CRC-32 (IEEE 802.3: reflected polynomial 0xEDB88320, initial value and
//! final XOR 0xFFFFFFFF, the checksum of zlib, Ethernet and PNG), with a
//! 256-entry table built at compile time.
//!
//! Owns: the checksum arithmetic only. Must not touch: shared memory or
//! the wire layout (callers decide which words are covered, and in which
//! byte order: the mailbox feeds every word little-endian).

/// The reflected IEEE polynomial.
const POLYNOMIAL: u32 = 0xEDB8_8320;

/// `TABLE[b]` is the CRC register update for the byte value `b`.
const TABLE: [u32; 256] = build_table();
/// Slicing by four: `SLICE[k][b]` is the update for byte value `b`
/// followed by `k` zero bytes, so a whole word takes four lookups
/// (`update_word`) instead of four dependent byte steps. On the board every
/// message a migration sends is checksummed: this is its main cost.
const SLICE: [[u32; 256]; 4] = build_slices();

const fn build_slices() -> [[u32; 256]; 4] {
    let mut t = [[0u32; 256]; 4];
    t[0] = TABLE;
    let mut k = 1;
    while k < 4 {
        let mut b = 0;
        while b < 256 {
            let prev = t[k - 1][b];
            t[k][b] = (prev >> 8) ^ TABLE[(prev & 0xff) as usize];
            b += 1;
        }
        k += 1;
    }
    t
}

const fn build_table() -> [u32; 256] {
    let mut table = [0u32; 256];
    let mut byte = 0;
    while byte < 256 {
        let mut crc = byte as u32;
        let mut bit = 0;
        while bit < 8 {
            crc = if crc & 1 != 0 { (crc >> 1) ^ POLYNOMIAL } else { crc >> 1 };
            bit += 1;
        }
        table[byte] = crc;
        byte += 1;
    }
    table
}

/// A running CRC-32: feed it bytes or words, then [`Crc32::finish`].
#[derive(Clone, Copy, Debug)]
pub struct Crc32 {
    register: u32,
}

impl Default for Crc32 {
    fn default() -> Self {
        Crc32::new()
    }
}

impl Crc32 {
    pub const fn new() -> Crc32 {
        Crc32 { register: 0xFFFF_FFFF }
    }

    pub const fn update_byte(self, byte: u8) -> Crc32 {
        let index = ((self.register ^ byte as u32) & 0xFF) as usize;
        Crc32 { register: (self.register >> 8) ^ TABLE[index] }
    }

    pub fn update_bytes(self, bytes: &[u8]) -> Crc32 {
        bytes.iter().fold(self, |crc, &b| crc.update_byte(b))
    }

    /// Feed one 32-bit word as its four little-endian bytes.
    pub const fn update_word(self, word: u32) -> Crc32 {
        let c = self.register ^ word;
        Crc32 {
            register: SLICE[3][(c & 0xff) as usize]
                ^ SLICE[2][((c >> 8) & 0xff) as usize]
                ^ SLICE[1][((c >> 16) & 0xff) as usize]
                ^ SLICE[0][(c >> 24) as usize],
        }
    }

    pub fn update_words(self, words: &[u32]) -> Crc32 {
        words.iter().fold(self, |crc, &w| crc.update_word(w))
    }

    pub const fn finish(self) -> u32 {
        self.register ^ 0xFFFF_FFFF
    }
}

/// CRC-32 of a byte string.
pub fn crc32(bytes: &[u8]) -> u32 {
    Crc32::new().update_bytes(bytes).finish()
}

/// CRC-32 of words, each taken as its four little-endian bytes.
pub fn crc32_words(words: &[u32]) -> u32 {
    Crc32::new().update_words(words).finish()
}

#[cfg(test)]
mod tests {

    #[test]
    fn a_word_at_once_is_its_four_bytes_one_by_one() {
        let mut x = 0x1234_5678u32;
        for _ in 0..10_000 {
            // xorshift32: a spread of words and registers
            x ^= x << 13;
            x ^= x >> 17;
            x ^= x << 5;
            let crc = Crc32 { register: x.rotate_left(7) };
            let bytes = crc.update_byte(x as u8).update_byte((x >> 8) as u8).update_byte((x >> 16) as u8).update_byte((x >> 24) as u8);
            assert_eq!(crc.update_word(x).finish(), bytes.finish(), "word {x:#x}");
        }
    }

    use super::*;

    #[test]
    fn standard_check_value() {
        // The catalogue check value of CRC-32/ISO-HDLC.
        assert_eq!(crc32(b"123456789"), 0xCBF4_3926);
        assert_eq!(crc32(b""), 0);
    }

    #[test]
    fn words_are_little_endian_bytes() {
        let words = [0x0403_0201, 0x0807_0605];
        assert_eq!(crc32_words(&words), crc32(&[1, 2, 3, 4, 5, 6, 7, 8]));
    }
}
