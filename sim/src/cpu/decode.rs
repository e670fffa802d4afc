//! The opcode table: every one of the 65,536 16-bit instruction words mapped
//! once to the handler that executes it. Each instruction group in `ops/`
//! lists its encodings as bit patterns ("0011nnnnmmmm1100"); the table is
//! built from those lists when a machine is created, and an encoding that no
//! group claims executes as a general illegal instruction.

use super::{Bus, Cpu, Exception};

/// An instruction handler: executes `op` on `cpu`, advancing PC itself.
pub type Handler<B> = fn(&mut Cpu, &mut B, u16) -> Result<(), Exception>;

/// One entry of an instruction group's encoding list.
pub struct Encoding<B> {
    /// 16 characters: '0'/'1' fixed bits, any other letter an operand bit.
    pub pattern: &'static str,
    pub mnemonic: &'static str,
    pub handler: Handler<B>,
    /// Whether the instruction may not stand in a delay slot (branches,
    /// TRAPA, RTE, and the like raise a slot illegal instruction there).
    pub slot_illegal: bool,
}

/// Shorthand for an encoding allowed in a delay slot.
pub const fn enc<B>(pattern: &'static str, mnemonic: &'static str, handler: Handler<B>) -> Encoding<B> {
    Encoding { pattern, mnemonic, handler, slot_illegal: false }
}

/// Shorthand for an encoding that is illegal in a delay slot.
pub const fn branch_enc<B>(pattern: &'static str, mnemonic: &'static str, handler: Handler<B>) -> Encoding<B> {
    Encoding { pattern, mnemonic, handler, slot_illegal: true }
}

/// The decoded opcode space.
///
/// The per-opcode arrays have the fixed length 65,536, so indexing them by
/// a `u16` needs no bounds check.
pub struct OpTable<B> {
    handlers: Box<[Handler<B>; 0x10000]>,
    /// Index into `mnemonics` per opcode (0 = illegal).
    names: Box<[u16; 0x10000]>,
    mnemonics: Vec<&'static str>,
    /// Whether the word raises a slot illegal instruction in a delay slot:
    /// the encodings that say so, and every undefined one.
    slot_illegal: Box<[bool; 0x10000]>,
    /// The word's `dispatch` kind (0: call `handlers`).
    kind: Box<[u8; 0x10000]>,
}

/// A boxed array of 65,536 copies of `v`, built on the heap.
fn boxed_array<T: Clone>(v: T) -> Box<[T; 0x10000]> {
    vec![v; 0x10000].into_boxed_slice().try_into().unwrap_or_else(|_| unreachable!("length is 0x10000"))
}

fn illegal<B: Bus>(_: &mut Cpu, _: &mut B, _: u16) -> Result<(), Exception> {
    Err(Exception::IllegalInstruction)
}

fn parse(pattern: &str) -> (u16, u16) {
    assert_eq!(pattern.len(), 16, "pattern {pattern:?} must have 16 bits");
    let (mut mask, mut value) = (0u16, 0u16);
    for (i, c) in pattern.bytes().enumerate() {
        let bit = 1u16 << (15 - i);
        match c {
            b'0' => mask |= bit,
            b'1' => {
                mask |= bit;
                value |= bit
            }
            _ => {}
        }
    }
    (mask, value)
}

impl<B: Bus> OpTable<B> {
    /// Build the table from every instruction group.
    pub fn new() -> OpTable<B> {
        let mut table = OpTable {
            handlers: boxed_array(illegal::<B> as Handler<B>),
            names: boxed_array(0u16),
            mnemonics: vec!["(illegal)"],
            slot_illegal: boxed_array(true),
            kind: boxed_array(0u8),
        };
        for encoding in super::ops::all_encodings::<B>() {
            table.insert(&encoding);
        }
        table
    }

    fn insert(&mut self, e: &Encoding<B>) {
        let (mask, value) = parse(e.pattern);
        let name = self.mnemonics.len() as u16;
        self.mnemonics.push(e.mnemonic);
        let kind = super::dispatch::kind_of(e.mnemonic);
        // Walk every setting of the operand bits.
        let free = !mask;
        let mut sub: u16 = 0;
        loop {
            let op = (value | sub) as usize;
            assert_eq!(
                self.names[op], 0,
                "{} ({}) overlaps {} at {op:#06x}",
                e.mnemonic, e.pattern, self.mnemonics[self.names[op] as usize]
            );
            self.handlers[op] = e.handler;
            self.names[op] = name;
            self.slot_illegal[op] = e.slot_illegal;
            self.kind[op] = kind;
            sub = sub.wrapping_sub(free) & free;
            if sub == 0 {
                break;
            }
        }
    }

    #[inline(always)]
    pub fn get(&self, op: u16) -> Handler<B> {
        self.handlers[op as usize]
    }

    /// Whether `op` may not be executed in a delay slot (including undefined
    /// encodings, which raise a slot illegal instruction there too).
    #[inline(always)]
    pub fn slot_illegal(&self, op: u16) -> bool {
        self.slot_illegal[op as usize]
    }

    /// The kind `dispatch::dispatch_or_slow` executes `op` by (0: its
    /// handler).
    #[inline(always)]
    pub fn kind(&self, op: u16) -> u8 {
        self.kind[op as usize]
    }

    /// The mnemonic of the instruction group `op` belongs to.
    pub fn mnemonic(&self, op: u16) -> &'static str {
        self.mnemonics[self.names[op as usize] as usize]
    }

    /// How many of the 65,536 words decode to an instruction.
    pub fn defined_count(&self) -> usize {
        self.names.iter().filter(|&&n| n != 0).count()
    }
}

impl<B: Bus> Default for OpTable<B> {
    fn default() -> Self {
        Self::new()
    }
}

/// Operand fields.
#[inline(always)]
pub const fn rn(op: u16) -> usize {
    ((op >> 8) & 0xF) as usize
}
#[inline(always)]
pub const fn rm(op: u16) -> usize {
    ((op >> 4) & 0xF) as usize
}
#[inline(always)]
pub const fn imm8(op: u16) -> u32 {
    (op & 0xFF) as u32
}
#[inline(always)]
pub const fn simm8(op: u16) -> u32 {
    (op & 0xFF) as i8 as i32 as u32
}
#[inline(always)]
pub const fn disp4(op: u16) -> u32 {
    (op & 0xF) as u32
}
#[inline(always)]
pub const fn sdisp12(op: u16) -> u32 {
    (((op & 0xFFF) << 4) as i16 >> 4) as i32 as u32
}
