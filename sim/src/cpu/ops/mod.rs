//! SH-4A instruction semantics, one file per instruction group. Each group
//! exposes `encodings()`, the list of bit patterns it implements; the
//! opcode table (`cpu::decode`) is built from the concatenation.
//!
//! Conventions: a handler advances PC itself (`cpu.next()`, or a delayed
//! branch), and returns `Err(Exception)` without changing any state the
//! exception would have to undo.

use super::decode::Encoding;
use super::Bus;

pub mod arith;
pub mod branch;
pub mod fpu;
pub mod load_store;
pub mod logic;
pub mod shift;
pub mod system;

/// Every instruction the CPU implements.
pub fn all_encodings<B: Bus>() -> Vec<Encoding<B>> {
    let mut all = Vec::new();
    all.extend(arith::encodings::<B>());
    all.extend(logic::encodings::<B>());
    all.extend(shift::encodings::<B>());
    all.extend(branch::encodings::<B>());
    all.extend(load_store::encodings::<B>());
    all.extend(system::encodings::<B>());
    all.extend(fpu::encodings::<B>());
    all
}
