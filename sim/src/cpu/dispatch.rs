//! Static dispatch of the common instructions.
//!
//! Why: calling every handler through a function pointer costs a call and
//! a return per instruction, and on the hosts this runs on that (not the
//! handler's work) bounds the rate. The execution loop instead `match`es on
//! a small per-instruction "kind" (precomputed in the decoded block) and
//! calls the common handlers by name, so the compiler inlines them into the
//! loop: one indirect jump per instruction (through a jump table), and the
//! loop's registers (the PC, the cycle counter) stay in registers across
//! the instruction.
//!
//! Semantics are untouched: every arm calls the very handler `ops/`
//! registers for that mnemonic (a test checks each against the opcode
//! table, instruction by instruction). Instructions not listed here (FPU,
//! privileged, rare) take the function pointer, as before.

use super::decode::Handler;
use super::ops::{arith, branch, load_store as ls, logic, shift, system};
use super::{Bus, Cpu, Exception};

/// Defines `HOT`, the (kind, mnemonic) list, and `dispatch_or_slow` from
/// one list so that the two cannot disagree.
macro_rules! hot {
    ($($kind:literal $mnemonic:literal $handler:expr;)*) => {
        /// The instructions `dispatch_or_slow` calls by name: (kind,
        /// mnemonic).
        /// Kind 0 is "call the handler pointer".
        pub const HOT: &[(u8, &str)] = &[$(($kind, $mnemonic)),*];

        /// Execute `op` of the given kind: the listed handler called by
        /// name, or `handler` (the opcode table's) for any other kind but
        /// `SLOW`, for which nothing happens and the answer is `None`.
        #[inline(always)]
        pub fn dispatch_or_slow<B: Bus>(kind: u8, c: &mut Cpu, bus: &mut B, op: u16, handler: Handler<B>) -> Option<Result<(), Exception>> {
            Some(match kind {
                $($kind => ($handler)(c, bus, op),)*
                SLOW => return None,
                _ => handler(c, bus, op),
            })
        }
    };
}

hot! {
    // arith.rs
    1 "ADD Rm,Rn" arith::add::<B>;
    2 "ADD #imm,Rn" arith::add_imm::<B>;
    3 "ADDC Rm,Rn" arith::addc::<B>;
    4 "CMP/EQ #imm,R0" arith::cmp_eq_imm::<B>;
    5 "CMP/EQ Rm,Rn" arith::cmp_eq::<B>;
    6 "CMP/HS Rm,Rn" arith::cmp_hs::<B>;
    7 "CMP/GE Rm,Rn" arith::cmp_ge::<B>;
    8 "CMP/HI Rm,Rn" arith::cmp_hi::<B>;
    9 "CMP/GT Rm,Rn" arith::cmp_gt::<B>;
    10 "CMP/PZ Rn" arith::cmp_pz::<B>;
    11 "CMP/PL Rn" arith::cmp_pl::<B>;
    12 "DIV1 Rm,Rn" arith::div1::<B>;
    13 "DIV0S Rm,Rn" arith::div0s::<B>;
    14 "DIV0U" arith::div0u::<B>;
    15 "DT Rn" arith::dt::<B>;
    16 "EXTS.B Rm,Rn" arith::exts_b::<B>;
    17 "EXTS.W Rm,Rn" arith::exts_w::<B>;
    18 "EXTU.B Rm,Rn" arith::extu_b::<B>;
    19 "EXTU.W Rm,Rn" arith::extu_w::<B>;
    20 "MUL.L Rm,Rn" arith::mul_l::<B>;
    21 "MULS.W Rm,Rn" arith::muls_w::<B>;
    22 "MULU.W Rm,Rn" arith::mulu_w::<B>;
    23 "NEG Rm,Rn" arith::neg::<B>;
    24 "SUB Rm,Rn" arith::sub::<B>;
    25 "SUBC Rm,Rn" arith::subc::<B>;
    26 "DMULS.L Rm,Rn" arith::dmuls::<B>;
    27 "DMULU.L Rm,Rn" arith::dmulu::<B>;
    // logic.rs
    30 "AND Rm,Rn" logic::and::<B>;
    31 "AND #imm,R0" logic::and_imm::<B>;
    32 "OR Rm,Rn" logic::or::<B>;
    33 "OR #imm,R0" logic::or_imm::<B>;
    34 "XOR Rm,Rn" logic::xor::<B>;
    35 "XOR #imm,R0" logic::xor_imm::<B>;
    36 "NOT Rm,Rn" logic::not::<B>;
    37 "TST Rm,Rn" logic::tst::<B>;
    38 "TST #imm,R0" logic::tst_imm::<B>;
    // shift.rs
    40 "ROTL Rn" shift::rotl::<B>;
    41 "ROTR Rn" shift::rotr::<B>;
    42 "ROTCL Rn" shift::rotcl::<B>;
    43 "ROTCR Rn" shift::rotcr::<B>;
    44 "SHAD Rm,Rn" shift::shad::<B>;
    45 "SHLD Rm,Rn" shift::shld::<B>;
    46 "SHAL Rn" shift::shll::<B>;
    47 "SHAR Rn" shift::shar::<B>;
    48 "SHLL Rn" shift::shll::<B>;
    49 "SHLR Rn" shift::shlr::<B>;
    50 "SHLL2 Rn" shift::shll2::<B>;
    51 "SHLR2 Rn" shift::shlr2::<B>;
    52 "SHLL8 Rn" shift::shll8::<B>;
    53 "SHLR8 Rn" shift::shlr8::<B>;
    54 "SHLL16 Rn" shift::shll16::<B>;
    55 "SHLR16 Rn" shift::shlr16::<B>;
    // branch.rs
    60 "BF label" branch::bf::<B>;
    61 "BF/S label" branch::bf_s::<B>;
    62 "BT label" branch::bt::<B>;
    63 "BT/S label" branch::bt_s::<B>;
    64 "BRA label" branch::bra::<B>;
    65 "BRAF Rn" branch::braf::<B>;
    66 "BSR label" branch::bsr::<B>;
    67 "BSRF Rn" branch::bsrf::<B>;
    68 "JMP @Rn" branch::jmp::<B>;
    69 "JSR @Rn" branch::jsr::<B>;
    70 "RTS" branch::rts::<B>;
    // load_store.rs
    80 "MOV #imm,Rn" ls::mov_imm::<B>;
    81 "MOV.W @(disp,PC),Rn" ls::mov_w_pc::<B>;
    82 "MOV.L @(disp,PC),Rn" ls::mov_l_pc::<B>;
    83 "MOV Rm,Rn" ls::mov::<B>;
    84 "MOV.B Rm,@Rn" ls::store_ind::<B, 1>;
    85 "MOV.W Rm,@Rn" ls::store_ind::<B, 2>;
    86 "MOV.L Rm,@Rn" ls::store_ind::<B, 4>;
    87 "MOV.B @Rm,Rn" ls::load_ind::<B, 1>;
    88 "MOV.W @Rm,Rn" ls::load_ind::<B, 2>;
    89 "MOV.L @Rm,Rn" ls::load_ind::<B, 4>;
    90 "MOV.B Rm,@-Rn" ls::store_predec::<B, 1>;
    91 "MOV.W Rm,@-Rn" ls::store_predec::<B, 2>;
    92 "MOV.L Rm,@-Rn" ls::store_predec::<B, 4>;
    93 "MOV.B @Rm+,Rn" ls::load_postinc::<B, 1>;
    94 "MOV.W @Rm+,Rn" ls::load_postinc::<B, 2>;
    95 "MOV.L @Rm+,Rn" ls::load_postinc::<B, 4>;
    96 "MOV.B R0,@(disp,Rn)" ls::store_disp_r0::<B, 1>;
    97 "MOV.W R0,@(disp,Rn)" ls::store_disp_r0::<B, 2>;
    98 "MOV.L Rm,@(disp,Rn)" ls::store_disp_l::<B>;
    99 "MOV.B @(disp,Rm),R0" ls::load_disp_r0::<B, 1>;
    100 "MOV.W @(disp,Rm),R0" ls::load_disp_r0::<B, 2>;
    101 "MOV.L @(disp,Rm),Rn" ls::load_disp_l::<B>;
    102 "MOV.B Rm,@(R0,Rn)" ls::store_r0::<B, 1>;
    103 "MOV.W Rm,@(R0,Rn)" ls::store_r0::<B, 2>;
    104 "MOV.L Rm,@(R0,Rn)" ls::store_r0::<B, 4>;
    105 "MOV.B @(R0,Rm),Rn" ls::load_r0::<B, 1>;
    106 "MOV.W @(R0,Rm),Rn" ls::load_r0::<B, 2>;
    107 "MOV.L @(R0,Rm),Rn" ls::load_r0::<B, 4>;
    108 "MOV.B R0,@(disp,GBR)" ls::store_gbr::<B, 1>;
    109 "MOV.W R0,@(disp,GBR)" ls::store_gbr::<B, 2>;
    110 "MOV.L R0,@(disp,GBR)" ls::store_gbr::<B, 4>;
    111 "MOV.B @(disp,GBR),R0" ls::load_gbr::<B, 1>;
    112 "MOV.W @(disp,GBR),R0" ls::load_gbr::<B, 2>;
    113 "MOV.L @(disp,GBR),R0" ls::load_gbr::<B, 4>;
    114 "MOVA @(disp,PC),R0" ls::mova::<B>;
    115 "MOVT Rn" ls::movt::<B>;
    116 "SWAP.B Rm,Rn" ls::swap_b::<B>;
    117 "SWAP.W Rm,Rn" ls::swap_w::<B>;
    118 "XTRCT Rm,Rn" ls::xtrct::<B>;
    // system.rs
    120 "NOP" system::nop::<B>;
    121 "CLRT" system::clrt::<B>;
    122 "SETT" system::sett::<B>;
    123 "LDS Rm,PR" system::lds_pr::<B>;
    124 "STS PR,Rn" system::sts_pr::<B>;
    125 "LDS.L @Rm+,PR" system::ldsl_pr::<B>;
    126 "STS.L PR,@-Rn" system::stsl_pr::<B>;
    127 "STS MACL,Rn" system::sts_macl::<B>;
    128 "STS MACH,Rn" system::sts_mach::<B>;
    129 "LDS Rm,MACL" system::lds_macl::<B>;
    130 "STC GBR,Rn" system::stc_gbr::<B>;
    131 "LDC Rm,GBR" system::ldc_gbr::<B>;
}

/// A kind no instruction has: `dispatch_or_slow` does nothing. The
/// execution loop uses it for "not the plain next instruction".
pub const SLOW: u8 = 255;

/// The kind of the instruction with this mnemonic: its `HOT` entry, or 0.
pub fn kind_of(mnemonic: &str) -> u8 {
    HOT.iter().find(|(_, m)| *m == mnemonic).map_or(0, |&(kind, _)| kind)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cpu::{sr, BusError, OpTable};
    use crate::devices::Size;

    /// 64 KiB of memory at physical 0x0C000000 (P1 0x8C000000), for the
    /// loads and stores: a fixed pattern, plus the bytes written so far
    /// (cheap to clone and compare).
    #[derive(Clone, PartialEq, Eq, Debug, Default)]
    struct Mem(std::collections::BTreeMap<u32, u8>);
    const BASE: u32 = 0x0C00_0000;

    impl Mem {
        fn check(addr: u32, len: u32) -> Result<(), BusError> {
            if addr >= BASE && addr - BASE + len <= 0x1_0000 {
                Ok(())
            } else {
                Err(BusError)
            }
        }
        fn byte(&self, addr: u32) -> u8 {
            self.0.get(&addr).copied().unwrap_or(addr.wrapping_mul(7).wrapping_add(3) as u8)
        }
    }

    impl Bus for Mem {
        fn read(&mut self, _: usize, now: &mut u64, addr: u32, size: Size) -> Result<u32, BusError> {
            Mem::check(addr, size.bytes())?;
            *now += 3;
            Ok((0..size.bytes()).fold(0, |v, i| v | (self.byte(addr + i) as u32) << (8 * i)))
        }
        fn write(&mut self, _: usize, now: &mut u64, addr: u32, size: Size, value: u32) -> Result<(), BusError> {
            Mem::check(addr, size.bytes())?;
            *now += 5;
            for i in 0..size.bytes() {
                self.0.insert(addr + i, (value >> (8 * i)) as u8);
            }
            Ok(())
        }
        fn fetch(&mut self, _: usize, addr: u32) -> Result<u16, BusError> {
            Mem::check(addr, 2)?;
            Ok(u16::from_le_bytes([self.byte(addr), self.byte(addr + 1)]))
        }
        fn reserve(&mut self, _: usize, _: u32) {}
        fn take_reservation(&mut self, _: usize) -> bool {
            false
        }
        fn clear_reservation(&mut self, _: usize) {}
    }

    /// Everything an instruction can change, for comparison.
    fn state(c: &Cpu) -> String {
        format!(
            "{:?} {:?} sr={:x} gbr={:x} vbr={:x} mach={:x} macl={:x} pr={:x} pc={:x} cyc={} slot={} {:x}->{:x} y={} {:?}",
            c.r, c.r_bank, c.sr(), c.gbr, c.vbr, c.mach, c.macl, c.pr, c.pc, c.cycles, c.slot_pending,
            c.branch_pc, c.branch_target, c.yield_now, c.stats
        )
    }

    /// A simple xorshift generator, for reproducible register values.
    fn rng(seed: &mut u64) -> u32 {
        *seed ^= *seed << 13;
        *seed ^= *seed >> 7;
        *seed ^= *seed << 17;
        (*seed >> 16) as u32
    }

    #[test]
    fn kinds_and_mnemonics_are_unique_and_exist() {
        let table = OpTable::<Mem>::new();
        let names: Vec<&str> = (0..=0xFFFFu16).map(|op| table.mnemonic(op)).collect();
        for (i, &(kind, m)) in HOT.iter().enumerate() {
            assert_ne!(kind, 0);
            assert!(names.contains(&m), "{m} is not a mnemonic of the opcode table");
            for &(k2, m2) in &HOT[i + 1..] {
                assert_ne!(kind, k2, "kind {kind} used twice");
                assert_ne!(m, m2, "{m} listed twice");
            }
        }
    }

    #[test]
    fn slow_kind_does_nothing() {
        let mut c = Cpu::new(0);
        let before = state(&c);
        let r = dispatch_or_slow(SLOW, &mut c, &mut Mem::default(), 0x0009, |_, _, _| panic!("executed"));
        assert_eq!(r, None);
        assert_eq!(state(&c), before);
        assert_eq!(kind_of("(illegal)"), 0);
        assert!(HOT.iter().all(|&(kind, _)| kind != SLOW));
    }

    /// Every word of every listed mnemonic, from many states (privileged and
    /// not, T set and clear, registers pointing into memory or not): the
    /// handler `dispatch` calls does exactly what the opcode table's does.
    #[test]
    fn dispatch_calls_the_tables_handler() {
        let table = OpTable::<Mem>::new();
        let mut seed = 0x1234_5678_9abc_def1u64;
        let mut checked = 0;
        for op in 0..=0xFFFFu16 {
            let kind = kind_of(table.mnemonic(op));
            if kind == 0 {
                continue;
            }
            for round in 0..6 {
                let mut c = Cpu::new(0);
                c.reset(0x8C00_8000);
                c.set_sr(if round % 2 == 0 { sr::MD } else { 0 } | (round / 2 % 2) as u32);
                for r in 0..16 {
                    c.r[r] = match rng(&mut seed) % 4 {
                        0 => 0x8C00_4000 + (rng(&mut seed) & 0x3FFC),
                        1 => rng(&mut seed) & 0xFF,
                        _ => rng(&mut seed),
                    };
                }
                c.r[0] &= if round < 4 { 0xFF } else { 0xFFFF_FFFF };
                c.gbr = 0x8C00_2000;
                c.pr = 0x8C00_1234;
                c.mach = rng(&mut seed);
                c.macl = rng(&mut seed);
                let mut mem = Mem::default();
                let (mut c2, mut mem2) = (c.clone(), mem.clone());
                let r1 = table.get(op)(&mut c, &mut mem, op);
                let r2 = dispatch_or_slow(kind, &mut c2, &mut mem2, op, |_, _, _| panic!("fell back"));
                assert_eq!(Some(r1), r2, "{op:#06x} {}", table.mnemonic(op));
                assert_eq!(state(&c), state(&c2), "{op:#06x} {}", table.mnemonic(op));
                assert!(mem == mem2, "{op:#06x} {}", table.mnemonic(op));
                checked += 1;
            }
        }
        assert!(checked > 100_000);
    }
}
