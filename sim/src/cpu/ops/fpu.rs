//! The FPU: single and double precision arithmetic, conversions, moves,
//! FPSCR/FPUL transfers. (Being written: see the lead's notes.)

use crate::cpu::decode::Encoding;
use crate::cpu::Bus;

pub fn encodings<B: Bus>() -> Vec<Encoding<B>> {
    Vec::new()
}
