//! The decoded-code cache: DRAM instruction words already looked up in the
//! opcode table, 1 KiB block by block, so the execution loop goes from the
//! PC straight to (handler, opcode) without reading memory or the table.
//!
//! Why: fetching a word from the bus and then its handler from the 65,536
//! entry table was most of the cost of an instruction. A decoded block is a
//! few small arrays (handler, opcode, `dispatch` kind, slot legality) that
//! stay in the host's L1 cache while a loop runs.
//!
//! Coherence (the cache must never be observable): a block always equals
//! what `Bus::fetch` + `OpTable::get` would give now. The bus keeps a mark
//! per DRAM block that has been handed out for decoding (`Bus::code_block`)
//! and, when any store reaches a marked block (a CPU store from any core, a
//! store-queue flush, the loader, a debugger poke), unmarks it and records
//! the block (`Bus::drain_code_writes`). The cache drops every recorded
//! block before it is used: when a core takes it for a time slice, and
//! whenever the running core's own store hits code (`Bus::code_written`,
//! checked after every CPU store, sends the loop back to its slow path,
//! which drains). So self-modifying code, code loading and cross-modifying
//! code behave exactly as with no cache, with or without ICBI.
//!
//! Only DRAM is cached: it is the same for every core, so one cache serves
//! all of them (the bus owns it; the running core borrows it for a slice).
//! Per-core memories (URAM) and the rest take the uncached path.
//!
//! Placement: two ways per set, the set found from the block number with
//! its higher bits folded in. Guests sit at round addresses (the RTOS at
//! DRAM's start, the GPOS 16 MiB above it): with one way, indexed by the
//! block number's low bits alone, their hot blocks took the same slot and
//! each arrival at the other re-decoded 512 words (a tenth of an lhp
//! latency run's host time). Folding spreads such pairs over sets; the
//! second way keeps two hot blocks that still share a set.
//!
//! Owns: decoded copies of code. Must not touch: memory, CPU state.

use super::decode::{Handler, OpTable};
use super::jit::{Jit, Tier};
use super::Bus;

/// Bytes of code per block.
pub const BLOCK_BYTES: u32 = 1024;
/// Instruction words per block.
pub const BLOCK_OPS: usize = (BLOCK_BYTES / 2) as usize;
/// Sets of two ways each: up to 2 MiB of distinct code decoded at once
/// (any 1 MiB-aligned MiB of it without a conflict), 5 KiB of host memory
/// per way in use.
const SETS: usize = 1024;
const WAYS: usize = 2;
// `block_and_jit` keeps a set's order (most recently used first) with one
// swap of its two ways.
const _: () = assert!(WAYS == 2);
/// A `phys` no block has (blocks are 1 KiB aligned).
const NO_BLOCK: u32 = u32::MAX;

/// One decoded block: entry `i` is the instruction at `phys + 2 * i`.
pub struct Block<B> {
    /// Physical address of the block, or `NO_BLOCK` for a free slot.
    phys: u32,
    pub handlers: [Handler<B>; BLOCK_OPS],
    pub ops: [u16; BLOCK_OPS],
    /// `OpTable::slot_illegal` of each word.
    pub slot_illegal: [bool; BLOCK_OPS],
    /// `OpTable::kind` of each word (how `dispatch` executes it).
    pub kind: [u8; BLOCK_OPS],
}

impl<B> Block<B> {
    /// A copy, for a compiler on another thread (`jit::background`).
    pub(crate) fn snapshot(&self) -> Box<Block<B>> {
        Box::new(Block {
            phys: self.phys,
            handlers: self.handlers,
            ops: self.ops,
            slot_illegal: self.slot_illegal,
            kind: self.kind,
        })
    }
}

/// A decoded block and the translating tier beside it.
pub(crate) type BlockAndJit<'a, B> = (&'a Block<B>, Option<&'a mut Jit<B>>);

/// Decoded DRAM code shared by the cores of one bus.
pub struct CodeCache<B> {
    /// Set `s` is `slots[WAYS * s..][..WAYS]`, most recently used first.
    slots: Vec<Option<Box<Block<B>>>>,
    /// Blocks decoded so far (misses, for tests and counters).
    decoded: u64,
    /// Scratch buffer for the blocks the bus reports written.
    written: Vec<u32>,
    /// The translating tier's code for DRAM blocks (`Tier::Jit`): `sync`
    /// ends a block's translations when a store reaches it.
    jit: Option<Jit<B>>,
}

impl<B: Bus> Default for CodeCache<B> {
    fn default() -> Self {
        Self::new()
    }
}

impl<B: Bus> CodeCache<B> {
    pub fn new() -> CodeCache<B> {
        CodeCache { slots: (0..SETS * WAYS).map(|_| None).collect(), decoded: 0, written: Vec::new(), jit: None }
    }

    /// A cache whose blocks run on `tier`. The translating tier needs a
    /// Cranelift backend for the host: without one, the error says so.
    pub fn with_tier(tier: Tier) -> Result<CodeCache<B>, String> {
        let mut cache = CodeCache::new();
        cache.set_tier(tier)?;
        Ok(cache)
    }

    /// Run this cache's blocks on `tier` from now on: a fresh translating
    /// tier, or none. On an error nothing changes.
    pub fn set_tier(&mut self, tier: Tier) -> Result<(), String> {
        self.jit = match tier {
            Tier::Jit => Some(Jit::new()?),
            Tier::Interp => None,
        };
        Ok(())
    }

    /// The translating tier's state, if this cache has it.
    pub fn jit(&self) -> Option<&Jit<B>> {
        self.jit.as_ref()
    }

    pub fn jit_mut(&mut self) -> Option<&mut Jit<B>> {
        self.jit.as_mut()
    }

    /// The first slot of the set of the block at `phys`: the block
    /// number's three 10-bit fields folded together.
    #[inline(always)]
    fn set_start(phys: u32) -> usize {
        let n = (phys / BLOCK_BYTES) as usize;
        WAYS * ((n ^ n >> 10 ^ n >> 20) % SETS)
    }

    /// Blocks decoded since the cache was made (each arrival at a block
    /// not in the cache decodes it).
    pub fn decoded(&self) -> u64 {
        self.decoded
    }

    /// Drop every block the bus reports stored to since the last call.
    pub fn sync(&mut self, bus: &mut B) {
        bus.drain_code_writes(&mut self.written);
        for &phys in &self.written {
            let set = Self::set_start(phys);
            for b in self.slots[set..set + WAYS].iter_mut().flatten() {
                if b.phys == phys {
                    b.phys = NO_BLOCK;
                }
            }
            // Translations outlive their decoded block's stay in this cache
            // (they are keyed by physical block): a store is what ends them.
            if let Some(jit) = &mut self.jit {
                jit.drop_written(phys);
            }
        }
        self.written.clear();
    }

    /// The decoded block at physical `phys` (1 KiB aligned), decoding it
    /// now if needed; `None` if the bus does not offer that memory as
    /// cacheable code. Call `sync` first if the bus reports code writes.
    pub fn block(&mut self, bus: &mut B, table: &OpTable<B>, phys: u32) -> Option<&Block<B>> {
        self.block_and_jit(bus, table, phys).map(|(block, _)| block)
    }

    /// `block`, with the translating tier (if on) borrowed beside it.
    pub(crate) fn block_and_jit(
        &mut self,
        bus: &mut B,
        table: &OpTable<B>,
        phys: u32,
    ) -> Option<BlockAndJit<'_, B>> {
        debug_assert_eq!(phys % BLOCK_BYTES, 0);
        let set = Self::set_start(phys);
        let holds = |slot: &Option<Box<Block<B>>>| matches!(slot, Some(b) if b.phys == phys);
        if !holds(&self.slots[set]) {
            // The other way, or the least recently used one to decode into:
            // either way it becomes the first.
            if !holds(&self.slots[set + 1]) {
                let bytes = bus.code_block(phys)?;
                if bytes.len() != BLOCK_BYTES as usize {
                    return None;
                }
                Self::decode(&mut self.slots[set + 1], table, phys, bytes);
                self.decoded += 1;
            }
            self.slots.swap(set, set + 1);
        }
        self.slots[set].as_deref().map(|b| (b, self.jit.as_mut()))
    }

    /// Decode `bytes`, the block at `phys`, into `slot` (reusing its
    /// allocation).
    fn decode(slot: &mut Option<Box<Block<B>>>, table: &OpTable<B>, phys: u32, bytes: &[u8]) {
        let b = slot.get_or_insert_with(|| {
            Box::new(Block {
                phys: NO_BLOCK,
                handlers: [table.get(0); BLOCK_OPS],
                ops: [0; BLOCK_OPS],
                slot_illegal: [false; BLOCK_OPS],
                kind: [0; BLOCK_OPS],
            })
        });
        for (i, word) in bytes.chunks_exact(2).take(BLOCK_OPS).enumerate() {
            let op = u16::from_le_bytes([word[0], word[1]]);
            b.ops[i] = op;
            b.handlers[i] = table.get(op);
            b.slot_illegal[i] = table.slot_illegal(op);
            b.kind[i] = table.kind(op);
        }
        b.phys = phys;
    }
}

#[cfg(test)]
mod tests {
    use crate::machine::{Config, Exit, Machine};

    /// A one-core machine with `code` (instruction words) at P1 0x88001000,
    /// core 0 about to run it.
    fn machine(code: &[u16]) -> Machine {
        let mut m = Machine::new(Config { cores: 1, ..Config::default() }).unwrap();
        let bytes: Vec<u8> = code.iter().flat_map(|w| w.to_le_bytes()).collect();
        m.bus.load(0, 0x0800_1000, &bytes).unwrap();
        m.cpus[0].reset(0x8800_1000);
        m
    }

    /// A store rewrites an instruction of the block being executed, two
    /// instructions ahead: the new instruction runs.
    #[test]
    fn store_ahead_in_the_running_block_is_executed() {
        let mut m = machine(&[
            0xD104, // mov.l L_target,r1
            0xD205, // mov.l L_newop,r2
            0x2121, // mov.w r2,@r1
            0x0009, // nop
            0xE005, // mov #5,r0  (becomes mov #123,r0)
            0xD304, // mov.l L_exit,r3
            0x2302, // mov.l r0,@r3
            0xAFFE, // bra .
            0x0009, // nop
            0x0009, // (pad)
            0x1008, 0x8800, // L_target: .long 0x88001008
            0xE07B, 0x0000, // L_newop: .long 0xE07B (mov #123,r0)
            0x0000, 0xBBFF, // L_exit: .long 0xBBFF0000 (SIMCTL)
        ]);
        assert_eq!(m.run(1_000_000), Exit::Guest(123));
    }

    /// A loop at DRAM + 4 KiB calls a subroutine 16 MiB above it (the
    /// same low block bits: one slot when the block number's low bits
    /// alone chose it) and another in the loop's own set: each block is
    /// decoded once, however often the loop goes round. On the direct
    /// map each call of the first decoded its block and, on the return,
    /// the loop's again (202 decodes, not 3).
    #[test]
    fn blocks_that_share_low_address_bits_are_decoded_once() {
        let mut m = machine(&[
            0xE364, // mov #100,r3
            0xE400, // mov #0,r4
            0xE500, // mov #0,r5
            0xD107, // loop: mov.l L_sub,r1
            0x410B, // jsr @r1
            0x0009, // nop
            0xD206, // mov.l L_sub2,r2
            0x420B, // jsr @r2
            0x0009, // nop
            0x4310, // dt r3
            0x8BF7, // bf loop
            0x6043, // mov r4,r0
            0x305C, // add r5,r0
            0xD104, // mov.l L_exit,r1
            0x2102, // mov.l r0,@r1
            0xAFFE, // bra .
            0x0009, // nop
            0x0009, // (pad)
            0x1000, 0x8900, // L_sub: .long 0x89001000
            0x5000, 0x8900, // L_sub2: .long 0x89005000 (the loop's set)
            0x0000, 0xBBFF, // L_exit: .long 0xBBFF0000 (SIMCTL)
        ]);
        let words = |w: [u16; 2]| w.iter().flat_map(|w| w.to_le_bytes()).collect::<Vec<u8>>();
        m.bus.load(0, 0x0900_1000, &words([0x000B, 0x7401])).unwrap(); // rts; add #1,r4
        m.bus.load(0, 0x0900_5000, &words([0x000B, 0x7501])).unwrap(); // rts; add #1,r5
        assert_eq!(m.run(1_000_000), Exit::Guest(200));
        assert_eq!(m.bus.code_blocks_decoded(), Some(3));
    }

    /// Code changed from outside (a debugger poke) between time slices is
    /// what runs next.
    #[test]
    fn poke_between_slices_is_executed() {
        let mut m = machine(&[
            0xE007, // mov #7,r0  (poked to mov #9,r0)
            0xD102, // mov.l L_data,r1
            0x2102, // mov.l r0,@r1
            0xAFFB, // bra (back to the start)
            0x0009, // nop
            0x0009, // (pad)
            0x2000, 0x8800, // L_data: .long 0x88002000
        ]);
        assert_eq!(m.run(10_000), Exit::CycleLimit);
        assert_eq!(m.bus.peek(0, 0x0800_2000), Some(7));
        assert!(m.bus.poke(0, 0x0800_1000, 9));
        assert_eq!(m.run(20_000), Exit::CycleLimit);
        assert_eq!(m.bus.peek(0, 0x0800_2000), Some(9));
    }
}
