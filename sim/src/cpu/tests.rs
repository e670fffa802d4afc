//! Unit tests for every instruction group, on a flat test bus: exact
//! register, T-bit and exception results for hand-assembled programs.

use super::test_rig::{Rig, TestBus, CODE};
use super::*;

fn run(code: &[u16], setup: impl FnOnce(&mut Cpu)) -> Cpu {
    let mut rig = Rig::new(code);
    setup(&mut rig.cpu);
    rig.steps(code.len());
    rig.cpu
}

#[test]
fn opcode_table_covers_the_integer_isa_without_overlap() {
    let t: OpTable<TestBus> = OpTable::new();
    assert_eq!(t.mnemonic(0x0009), "NOP");
    assert_eq!(t.mnemonic(0x310C), "ADD Rm,Rn");
    assert_eq!(t.mnemonic(0xFFFD), "(illegal)");
    assert!(t.slot_illegal(0xA000), "BRA is illegal in a slot");
    assert!(!t.slot_illegal(0x0009));
}

#[test]
fn add_addc_addv_set_t_exactly() {
    // ADD #-1,R1 ; ADDC R2,R3 ; ADDV R4,R5
    let c = run(&[0x71FF, 0x332E, 0x354F], |c| {
        c.r[1] = 5;
        c.r[2] = 1;
        c.r[3] = 0xFFFF_FFFF;
        c.r[4] = 1;
        c.r[5] = 0x7FFF_FFFF;
        c.set_t(false);
    });
    assert_eq!(c.r[1], 4);
    assert_eq!(c.r[3], 0);
    assert_eq!(c.r[5], 0x8000_0000);
    assert!(c.t(), "ADDV overflow sets T");
    let c = run(&[0x332E], |c| {
        c.r[2] = 1;
        c.r[3] = 0xFFFF_FFFE;
        c.set_t(true);
    });
    assert_eq!((c.r[3], c.t()), (0, true), "ADDC carries the incoming T");
}

#[test]
fn subc_subv_negc() {
    // SUBC R2,R3 ; SUBV R4,R5 ; NEGC R6,R7
    let c = run(&[0x332A], |c| {
        c.r[2] = 1;
        c.r[3] = 0;
        c.set_t(false);
    });
    assert_eq!((c.r[3], c.t()), (0xFFFF_FFFF, true));
    let c = run(&[0x354B], |c| {
        c.r[4] = 1;
        c.r[5] = 0x8000_0000;
    });
    assert_eq!((c.r[5], c.t()), (0x7FFF_FFFF, true));
    let c = run(&[0x676A], |c| {
        c.r[6] = 0;
        c.set_t(true);
    });
    assert_eq!((c.r[7], c.t()), (0xFFFF_FFFF, true));
    let c = run(&[0x676A], |c| {
        c.r[6] = 0;
        c.set_t(false);
    });
    assert_eq!((c.r[7], c.t()), (0, false));
}

#[test]
fn compares() {
    let cases: &[(u16, u32, u32, bool)] = &[
        (0x3120, 1, 1, true),                    // CMP/EQ R2,R1
        (0x3122, 0xFFFF_FFFF, 1, true),          // CMP/HS: unsigned
        (0x3123, 0xFFFF_FFFF, 1, false),         // CMP/GE: signed -1 >= 1 false
        (0x3126, 1, 1, false),                   // CMP/HI strict
        (0x3127, 2, 0xFFFF_FFFF, true),          // CMP/GT 2 > -1
        (0x212C, 0x1234_5678, 0xAB34_CDEF, true), // CMP/STR: byte 2 equal
        (0x212C, 0x1234_5678, 0x2143_6587, false),
    ];
    for &(op, n, m, t) in cases {
        let c = run(&[op], |c| {
            c.r[1] = n;
            c.r[2] = m;
        });
        assert_eq!(c.t(), t, "op {op:#06x} n={n:#x} m={m:#x}");
    }
    let c = run(&[0x4111, 0x4215], |c| {
        c.r[1] = 0;
        c.r[2] = 0;
    });
    assert!(!c.t(), "CMP/PL of 0 is false after CMP/PZ of 0 was true");
    let c = run(&[0x88FF], |c| c.r[0] = 0xFFFF_FFFF);
    assert!(c.t(), "CMP/EQ #imm sign-extends");
}

/// Unsigned 64/32 division with DIV0U + 32 x (ROTCL, DIV1) as the manual's
/// example does it, checked against Rust's division.
#[test]
fn div1_unsigned_division_sequence() {
    for &(hi, lo, d) in &[(0u32, 100u32, 7u32), (3, 0x1234_5678, 0x1_0001), (0, 0xFFFF_FFFF, 3), (0x1234, 0xDEAD_BEEF, 0xFFFF_0001)] {
        // R1:R2 / R3 -> R2 (quotient), R1 (remainder-ish).
        let mut code = vec![0x0019]; // DIV0U
        for _ in 0..32 {
            code.push(0x4224); // ROTCL R2
            code.push(0x3134); // DIV1 R3,R1
        }
        code.push(0x4224); // ROTCL R2
        let c = run(&code, |c| {
            c.r[1] = hi;
            c.r[2] = lo;
            c.r[3] = d;
        });
        let q = (((hi as u64) << 32) | lo as u64) / d as u64;
        assert_eq!(c.r[2], q as u32, "{hi:#x}:{lo:#x} / {d:#x}");
    }
}

#[test]
fn signed_division_with_div0s() {
    // 32/32 signed: R1 = R1 / R0 as GCC's __sdivsi3-like sequence:
    // DIV0S R0,R2(sign of dividend via R2 = sign ext), etc. Check Q/M/T only.
    let c = run(&[0x2107], |c| {
        c.r[0] = 0x8000_0000;
        c.r[1] = 5;
    }); // DIV0S R0,R1
    assert_eq!((c.sr() & sr::Q != 0, c.sr() & sr::M != 0, c.t()), (false, true, true));
}

#[test]
fn multiplies_and_mac() {
    let c = run(&[0x312D], |c| {
        c.r[1] = 0xFFFF_FFFE;
        c.r[2] = 3;
    }); // DMULS.L R2,R1
    assert_eq!((c.mach, c.macl), (0xFFFF_FFFF, 0xFFFF_FFFA));
    let c = run(&[0x3125], |c| {
        c.r[1] = 0xFFFF_FFFF;
        c.r[2] = 0xFFFF_FFFF;
    }); // DMULU.L
    assert_eq!((c.mach, c.macl), (0xFFFF_FFFE, 1));
    let c = run(&[0x212F, 0x212E, 0x0127], |c| {
        c.r[1] = 0xFFFE;
        c.r[2] = 0x0003;
    }); // MULS.W, MULU.W, MUL.L
    assert_eq!(c.macl, 0x0002_FFFA);
    // MAC.L @R1+,@R2+ twice over {2,-3} x {5,7}: 2*5 + -3*7 = -11.
    let mut rig = Rig::new(&[0x0028, 0x021F, 0x021F]);
    rig.bus.put32(0x8808_0000, 2);
    rig.bus.put32(0x8808_0004, (-3i32) as u32);
    rig.bus.put32(0x8809_0000, 5);
    rig.bus.put32(0x8809_0004, 7);
    rig.cpu.r[1] = 0x8809_0000;
    rig.cpu.r[2] = 0x8808_0000;
    rig.steps(3);
    assert_eq!(((rig.cpu.mach as u64) << 32 | rig.cpu.macl as u64) as i64, -11);
    assert_eq!((rig.cpu.r[1], rig.cpu.r[2]), (0x8809_0008, 0x8808_0008));
}

#[test]
fn mac_w_saturates_with_s() {
    let mut rig = Rig::new(&[0x0058, 0x421F]); // SETS ; MAC.W @R1+,@R2+
    rig.bus.put32(0x8808_0000, 0x7FFF);
    rig.bus.put32(0x8809_0000, 0x7FFF);
    rig.cpu.r[1] = 0x8809_0000;
    rig.cpu.r[2] = 0x8808_0000;
    rig.cpu.macl = 0x7FFF_0000;
    rig.steps(2);
    assert_eq!((rig.cpu.macl, rig.cpu.mach & 1), (0x7FFF_FFFF, 1));
}

#[test]
fn logic_and_gbr_byte_ops() {
    let c = run(&[0x2129, 0x212B, 0x212A, 0x6217, 0xC90F], |c| {
        c.r[0] = 0xFF;
        c.r[1] = 0xF0F0;
        c.r[2] = 0x0FF0;
    });
    // AND: 0x00F0, OR with 0x0FF0: 0x0FF0, XOR: 0, NOT R1 -> R2, AND #15,R0
    assert_eq!(c.r[1], 0);
    assert_eq!(c.r[2], 0xFFFF_FFFF);
    assert_eq!(c.r[0], 0x0F);
    let mut rig = Rig::new(&[0xCD0F, 0xCF80, 0xCC80, 0xCE01, 0xC50F]);
    rig.cpu.gbr = 0x8808_0000;
    rig.cpu.r[0] = 0;
    rig.bus.put32(0x8808_0000, 0xAB);
    rig.steps(4);
    // AND.B #0x0F -> 0x0B; OR.B #0x80 -> 0x8B; TST.B #0x80 -> T=0; XOR.B #1 -> 0x8A
    assert_eq!(rig.bus.get32(0x8808_0000) & 0xFF, 0x8A);
    assert!(!rig.cpu.t());
}

#[test]
fn tas_sets_bit7_and_t() {
    let mut rig = Rig::new(&[0x411B, 0x411B]);
    rig.cpu.r[1] = 0x8808_0000;
    rig.steps(1);
    assert!(rig.cpu.t());
    rig.steps(1);
    assert!(!rig.cpu.t());
    assert_eq!(rig.bus.get32(0x8808_0000), 0x80);
}

#[test]
fn shifts_and_rotates() {
    let c = run(&[0x4104], |c| c.r[1] = 0x8000_0001); // ROTL
    assert_eq!((c.r[1], c.t()), (3, true));
    let c = run(&[0x4125], |c| {
        c.r[1] = 2;
        c.set_t(true);
    }); // ROTCR
    assert_eq!((c.r[1], c.t()), (0x8000_0001, false));
    let c = run(&[0x4121], |c| c.r[1] = 0x8000_0003); // SHAR
    assert_eq!((c.r[1], c.t()), (0xC000_0001, true));
    let c = run(&[0x4128, 0x4119], |c| c.r[1] = 0x1234); // SHLL16, SHLR8
    assert_eq!(c.r[1], 0x0012_3400);
    // SHAD / SHLD with positive, negative, and -32 (low bits 0) counts.
    for &(v, s, shad, shld) in &[
        (0x8000_0010u32, 4u32, 0x0000_0100u32, 0x0000_0100u32),
        (0x8000_0010, (-4i32) as u32, 0xF800_0001, 0x0800_0001),
        (0x8000_0010, 0xFFFF_FFE0, 0xFFFF_FFFF, 0),
        (0x8000_0010, 31, 0, 0),
    ] {
        let c = run(&[0x412C], |c| {
            c.r[1] = v;
            c.r[2] = s;
        });
        assert_eq!(c.r[1], shad, "SHAD {v:#x} by {s:#x}");
        let c = run(&[0x412D], |c| {
            c.r[1] = v;
            c.r[2] = s;
        });
        assert_eq!(c.r[1], shld, "SHLD {v:#x} by {s:#x}");
    }
}

#[test]
fn extensions_swaps_xtrct() {
    let c = run(&[0x621E, 0x631F, 0x641C, 0x651D, 0x6618, 0x6719], |c| c.r[1] = 0x1234_8680);
    assert_eq!(c.r[2], 0xFFFF_FF80);
    assert_eq!(c.r[3], 0xFFFF_8680);
    assert_eq!(c.r[4], 0x80);
    assert_eq!(c.r[5], 0x8680);
    assert_eq!(c.r[6], 0x1234_8086);
    assert_eq!(c.r[7], 0x8680_1234);
    let c = run(&[0x212D], |c| {
        c.r[1] = 0xAAAA_BBBB;
        c.r[2] = 0xCCCC_DDDD;
    });
    assert_eq!(c.r[1], 0xDDDD_AAAA);
}

#[test]
fn loads_stores_in_every_mode() {
    let mut rig = Rig::new(&[
        0x2126, // MOV.L R2,@-R1
        0x2124, // MOV.B R2,@-R1
        0x6314, // MOV.B @R1+,R3   (sign-extended 0x88 -> 0xFFFFFF88)
        0x6416, // MOV.L @R1+,R4
        0x1121, // MOV.L R2,@(4,R1)
        0x5511, // MOV.L @(4,R1),R5
        0x0126, // MOV.L R2,@(R0,R1)
        0x061E, // MOV.L @(R0,R1),R6
        0xC202, // MOV.L R0,@(8,GBR)
        0xC602, // MOV.L @(8,GBR),R0
        0xC701, // MOVA @(4,PC),R0
    ]);
    rig.cpu.r[1] = 0x8808_0010;
    rig.cpu.r[2] = 0x1234_5688;
    rig.cpu.r[0] = 8;
    rig.cpu.gbr = 0x8808_0100;
    rig.steps(11);
    let c = &rig.cpu;
    assert_eq!(c.r[3], 0xFFFF_FF88);
    assert_eq!(c.r[4], 0x1234_5688);
    assert_eq!(c.r[1], 0x8808_0010);
    assert_eq!(c.r[5], 0x1234_5688);
    assert_eq!(c.r[6], 0x1234_5688);
    assert_eq!(rig.bus.get32(0x8808_0108), 8);
    // MOVA at CODE+20: (pc & ~3) + 4 + 4.
    assert_eq!(c.r[0], ((CODE + 20) & !3) + 8);
}

#[test]
fn pc_relative_loads() {
    // MOV.W @(1,PC),R1 ; MOV.L @(1,PC),R2 ; NOP; NOP; data...
    let code = [0x9101, 0xD201, 0x0009, 0x8765, 0x5678, 0x1234];
    let c = run(&code[..2], |_| {});
    let _ = c;
    let mut rig = Rig::new(&code);
    rig.steps(2);
    // MOV.W at CODE: CODE + 4 + 2 = CODE+6 -> 0x8765 sign-extended.
    assert_eq!(rig.cpu.r[1], 0xFFFF_8765);
    // MOV.L at CODE+2: ((CODE+2) & ~3) + 4 + 4 = CODE+8 -> 0x1234_5678.
    assert_eq!(rig.cpu.r[2], 0x1234_5678);
}

#[test]
fn misaligned_access_raises_address_error_with_tea() {
    let mut rig = Rig::new(&[0x6212]); // MOV.L @R1,R2
    rig.cpu.r[1] = 0x8808_0002;
    rig.steps(1);
    assert_eq!(rig.cpu.expevt, 0x0E0);
    assert_eq!(rig.cpu.mmu.tea, 0x8808_0002);
    assert_eq!(rig.cpu.spc, CODE);
    assert_eq!(rig.cpu.pc, rig.cpu.vbr + 0x100);
    let mut rig = Rig::new(&[0x2121]); // MOV.W R2,@R1
    rig.cpu.r[1] = 0x8808_0001;
    rig.steps(1);
    assert_eq!(rig.cpu.expevt, 0x100);
}

#[test]
fn delayed_branches_run_their_slot() {
    // BRA +2 (to CODE+8) ; slot: ADD #1,R1 ; ADD #10,R1 (skipped) ; NOP ; ADD #100,R1
    let mut rig = Rig::new(&[0xA002, 0x7101, 0x710A, 0x0009, 0x7164]);
    rig.steps(3);
    assert_eq!(rig.cpu.r[1], 101);
    // BSR sets PR to after the slot; RTS returns there.
    let mut rig = Rig::new(&[0xB001, 0x7101, 0x7102, 0x000B, 0x7104]);
    rig.steps(2);
    assert_eq!(rig.cpu.pr, CODE + 4);
    assert_eq!(rig.cpu.pc, CODE + 6);
    rig.steps(2); // RTS + slot
    assert_eq!(rig.cpu.pc, CODE + 4);
    assert_eq!(rig.cpu.r[1], 1 + 4);
}

#[test]
fn conditional_branches() {
    // BT +1 taken skips one instruction; BF/S not taken runs the next one normally.
    let mut rig = Rig::new(&[0x8901, 0x7101, 0x7102, 0x7104]);
    rig.cpu.set_t(true);
    rig.steps(2); // BT to CODE+6, then ADD #4
    assert_eq!((rig.cpu.r[1], rig.cpu.pc), (4, CODE + 8));
    let mut rig = Rig::new(&[0x8F01, 0x7101, 0x7102, 0x7104]);
    rig.cpu.set_t(true);
    rig.steps(3);
    assert_eq!(rig.cpu.r[1], 3, "BF/S not taken: no slot semantics");
    let mut rig = Rig::new(&[0x8F01, 0x7101, 0x7102, 0x7104]);
    rig.cpu.set_t(false);
    rig.steps(3);
    assert_eq!(rig.cpu.r[1], 5, "BF/S taken: slot then target");
}

#[test]
fn jmp_jsr_braf_bsrf_use_registers() {
    let mut rig = Rig::new(&[0x412B, 0x0009]); // JMP @R1
    rig.cpu.r[1] = CODE + 0x40;
    rig.steps(2);
    assert_eq!(rig.cpu.pc, CODE + 0x40);
    let mut rig = Rig::new(&[0x0103, 0x0009]); // BSRF R1
    rig.cpu.r[1] = 0x10;
    rig.steps(2);
    assert_eq!((rig.cpu.pc, rig.cpu.pr), (CODE + 4 + 0x10, CODE + 4));
}

#[test]
fn branch_in_delay_slot_is_slot_illegal() {
    let mut rig = Rig::new(&[0xA002, 0xA000]); // BRA ; slot: BRA
    rig.steps(2);
    assert_eq!(rig.cpu.expevt, 0x1A0);
    assert_eq!(rig.cpu.spc, CODE, "SPC is the branch, to re-execute it");
    // An undefined instruction in a slot is slot illegal too.
    let mut rig = Rig::new(&[0xA002, 0xFFFD]);
    rig.steps(2);
    assert_eq!(rig.cpu.expevt, 0x1A0);
    // Outside a slot it is a general illegal instruction.
    let mut rig = Rig::new(&[0xFFFD]);
    rig.steps(1);
    assert_eq!(rig.cpu.expevt, 0x180);
}

#[test]
fn trapa_enters_at_vbr_100_with_tra_and_spc_after() {
    let mut rig = Rig::new(&[0xC312]);
    rig.cpu.r[15] = 0x1234;
    let old_sr = rig.cpu.sr();
    rig.steps(1);
    let c = &rig.cpu;
    assert_eq!((c.expevt, c.tra, c.spc, c.ssr, c.sgr), (0x160, 0x48, CODE + 2, old_sr, 0x1234));
    assert_eq!(c.pc, c.vbr + 0x100);
    assert_eq!(c.sr() & (sr::MD | sr::RB | sr::BL), sr::MD | sr::RB | sr::BL);
}

#[test]
fn banked_registers_switch_with_rb_and_ldc_stc_bank() {
    let mut rig = Rig::new(&[0xC300]);
    rig.cpu.r[0] = 0xAAAA;
    rig.steps(1); // TRAPA sets RB: bank 1 now
    assert_eq!(rig.cpu.r[0], 0, "bank 1 R0 is distinct");
    assert_eq!(rig.cpu.r_bank[0], 0xAAAA);
    // STC R0_BANK,R1 (0000 0001 1000 0010) reads the other bank.
    let mut rig = Rig::new(&[0x0182, 0x4F8E]); // STC R0_BANK,R1 ; LDC R15,R0_BANK
    rig.cpu.r_bank[0] = 0x5555;
    rig.cpu.r[15] = 0x7777;
    rig.steps(2);
    assert_eq!(rig.cpu.r[1], 0x5555);
    assert_eq!(rig.cpu.r_bank[0], 0x7777);
}

#[test]
fn user_mode_privileged_instruction_is_illegal() {
    let mut rig = Rig::new(&[0x0002]); // STC SR,R0
    rig.cpu.set_sr(0);
    rig.cpu.pc = CODE & 0x1FFF_FFFF; // user code runs in P0
    rig.steps(1);
    assert_eq!(rig.cpu.expevt, 0x180);
    let mut rig = Rig::new(&[0x0012]); // STC GBR,R0 is fine
    rig.cpu.set_sr(0);
    rig.cpu.pc = CODE & 0x1FFF_FFFF;
    rig.cpu.gbr = 42;
    rig.steps(1);
    assert_eq!(rig.cpu.r[0], 42);
}

#[test]
fn user_mode_cannot_fetch_from_p1() {
    let mut rig = Rig::new(&[0x0009]);
    rig.cpu.set_sr(0);
    rig.steps(1);
    assert_eq!((rig.cpu.expevt, rig.cpu.mmu.tea), (0x0E0, CODE));
}

#[test]
fn user_mode_cannot_touch_p1() {
    let mut rig = Rig::new(&[0x6212]); // MOV.L @R1,R2
    rig.cpu.set_sr(0);
    rig.cpu.pc = CODE & 0x1FFF_FFFF;
    rig.cpu.r[1] = 0x8808_0000;
    rig.steps(1);
    assert_eq!(rig.cpu.expevt, 0x0E0);
}

#[test]
fn rte_restores_sr_and_pc_after_slot() {
    let mut rig = Rig::new(&[0x002B, 0x7101]); // RTE ; ADD #1,R1
    rig.cpu.ssr = sr::MD | sr::T;
    rig.cpu.spc = CODE + 0x100;
    rig.steps(2);
    assert_eq!(rig.cpu.pc, CODE + 0x100);
    assert_eq!(rig.cpu.sr(), sr::MD | sr::T);
    assert_eq!(rig.cpu.r[1], 1);
}

#[test]
fn interrupts_respect_bl_and_imask() {
    let mut rig = Rig::new(&[0x0009]);
    rig.cpu.set_sr(sr::MD | (5 << sr::IMASK_SHIFT));
    assert!(!rig.cpu.accept_interrupt(&mut rig.bus, 5, 0x400), "level must exceed IMASK");
    assert!(rig.cpu.accept_interrupt(&mut rig.bus, 6, 0x400));
    assert_eq!((rig.cpu.intevt, rig.cpu.spc, rig.cpu.pc), (0x400, CODE, rig.cpu.vbr + 0x600));
    assert!(!rig.cpu.accept_interrupt(&mut rig.bus, 15, 0x420), "BL blocks interrupts");
    // Never between a delayed branch and its slot.
    let mut rig = Rig::new(&[0xA002, 0x0009]);
    rig.steps(1);
    assert!(!rig.cpu.accept_interrupt(&mut rig.bus, 15, 0x400));
}

#[test]
fn exception_with_bl_set_resets() {
    let mut rig = Rig::new(&[0xFFFD]);
    rig.cpu.set_sr(sr::MD | sr::BL);
    rig.steps(1);
    assert_eq!((rig.cpu.expevt, rig.cpu.pc), (0x020, 0xA000_0000));
}

#[test]
fn ll_sc_succeeds_once_and_fails_after_exception() {
    // MOVLI.L @R1,R0 ; ADD #1,R0 ; MOVCO.L R0,@R1 ; MOVCO.L R0,@R1
    let mut rig = Rig::new(&[0x0163, 0x7001, 0x0173, 0x0173]);
    rig.cpu.r[1] = 0x8808_0000;
    rig.bus.put32(0x8808_0000, 41);
    rig.steps(3);
    assert!(rig.cpu.t());
    assert_eq!(rig.bus.get32(0x8808_0000), 42);
    rig.steps(1);
    assert!(!rig.cpu.t(), "the reservation is used up");
}

#[test]
fn movua_reads_unaligned() {
    let mut rig = Rig::new(&[0x41E9]); // MOVUA.L @R1+,R0
    rig.bus.put32(0x8808_0000, 0x4433_2211);
    rig.bus.put32(0x8808_0004, 0x8877_6655);
    rig.cpu.r[1] = 0x8808_0001;
    rig.steps(1);
    assert_eq!((rig.cpu.r[0], rig.cpu.r[1]), (0x5544_3322, 0x8808_0005));
}

#[test]
fn system_register_moves_round_trip_through_memory() {
    // STS.L PR,@-R15 ; LDS.L @R15+,MACL ; STC.L VBR,@-R15 ; LDC.L @R15+,GBR
    let mut rig = Rig::new(&[0x4F22, 0x4F16, 0x4F23, 0x4F17]);
    rig.cpu.r[15] = 0x8808_0100;
    rig.cpu.pr = 0xCAFE;
    rig.steps(4);
    assert_eq!(rig.cpu.macl, 0xCAFE);
    assert_eq!(rig.cpu.gbr, rig.cpu.vbr);
    assert_eq!(rig.cpu.r[15], 0x8808_0100);
}

#[test]
fn sleep_stops_the_core_until_an_interrupt() {
    let mut rig = Rig::new(&[0x001B, 0x7101]);
    let stop = rig.cpu.run(&mut rig.bus, &rig.table, 1000);
    assert_eq!(stop, Stop::Sleep);
    assert!(rig.cpu.sleeping);
    assert!(rig.cpu.accept_interrupt(&mut rig.bus, 1, 0x400));
    assert_eq!(rig.cpu.spc, CODE + 2, "returns after SLEEP");
    assert!(!rig.cpu.sleeping);
}

#[test]
fn rte_to_user_mode_fetches_its_slot_with_the_old_privilege() {
    // RTE ; NOP in P1, returning to user mode at a P0 address: the slot
    // must not raise an instruction address error.
    let mut rig = Rig::new(&[0x002B, 0x7101, 0x0009]);
    rig.cpu.ssr = 0; // user mode
    rig.cpu.spc = (CODE + 4) & 0x1FFF_FFFF;
    rig.steps(2);
    assert_eq!(rig.cpu.expevt, 0, "no exception");
    assert_eq!(rig.cpu.r[1], 1, "the slot ran");
    assert_eq!(rig.cpu.pc, (CODE + 4) & 0x1FFF_FFFF);
    // Back in user mode, P1 is out of reach again.
    let mut rig = Rig::new(&[0x002B, 0x0009]);
    rig.cpu.ssr = 0;
    rig.cpu.spc = CODE + 0x10;
    rig.steps(3);
    assert_eq!((rig.cpu.expevt, rig.cpu.mmu.tea), (0x0E0, CODE + 0x10));
}

#[test]
fn sleep_with_bl_set_is_woken_by_an_interrupt() {
    // Linux's idle: SR.BL set, then SLEEP; the interrupt is still taken.
    let mut rig = Rig::new(&[0x001B, 0x0009]);
    rig.cpu.set_sr(sr::MD | sr::BL);
    let stop = rig.cpu.run(&mut rig.bus, &rig.table, 1000);
    assert_eq!(stop, Stop::Sleep);
    assert!(rig.cpu.accept_interrupt(&mut rig.bus, 4, 0x400));
    assert_eq!((rig.cpu.intevt, rig.cpu.spc, rig.cpu.pc), (0x400, CODE + 2, rig.cpu.vbr + 0x600));
    // Awake with BL set, it does not.
    assert!(!rig.cpu.accept_interrupt(&mut rig.bus, 15, 0x420));
}

/// A store to the core's own OL memory (the board image's C stack)
/// does not send the core back to the machine while SR.BL is set: the
/// machine's look at interrupts could take nothing then. Nor does it
/// drop the data windows (it changes no translation). With SR.BL
/// clear, or a late ICI of a fault plan on its way (which the look
/// would deliver), it yields as a device write does.
#[test]
fn a_store_to_ol_memory_yields_only_where_the_machines_look_could_act() {
    use crate::bus::{Rp1Bus, OLRAM_BASE};
    let mut bus = Rp1Bus::new(1, 0x0800_0000);
    let mut cpu = Cpu::new(0);
    cpu.reset(0xA000_0000);
    assert_ne!(cpu.sr & sr::BL, 0, "reset sets SR.BL");
    let ol = OLRAM_BASE + 0x40;
    let store = |cpu: &mut Cpu, bus: &mut Rp1Bus, v: u32| {
        cpu.yield_now = false;
        cpu.write(bus, ol, Size::Long, v).expect("OL memory takes a write");
        assert_eq!(cpu.read(bus, ol, Size::Long), Ok(v));
        cpu.yield_now
    };
    cpu.read(&mut bus, 0x8C00_0000, Size::Long).expect("DRAM reads");
    let window = cpu.read_window;
    assert!(!store(&mut cpu, &mut bus, 7), "SR.BL set, nothing on its way");
    assert!(cpu.read_window == window, "the windows stay");
    let mut plan = crate::faults::IciPlan::new(Vec::new(), 1);
    plan.hold(1_000, 0, 1);
    bus.intc.ici_faults = Some(Box::new(plan));
    assert!(store(&mut cpu, &mut bus, 8), "a late ICI on its way");
    bus.intc.ici_faults = None;
    assert!(!store(&mut cpu, &mut bus, 9));
    cpu.set_sr(cpu.sr & !sr::BL);
    assert!(store(&mut cpu, &mut bus, 10), "SR.BL clear");
}

/// A core on the RP1 bus about to run `code` from P1 0x8C001000, and the
/// opcode table to run it with.
fn rp1_core(code: &[u16]) -> (Cpu, crate::bus::Rp1Bus, OpTable<crate::bus::Rp1Bus>) {
    let mut bus = crate::bus::Rp1Bus::new(1, 0x0800_0000);
    let bytes: Vec<u8> = code.iter().flat_map(|w| w.to_le_bytes()).collect();
    bus.load(0, 0x0C00_1000, &bytes).expect("DRAM takes the code");
    let mut cpu = Cpu::new(0);
    cpu.reset(0x8C00_1000);
    (cpu, bus, OpTable::new())
}

/// The data windows are a cache of translations and live only as long as
/// what they were made under: a time slice keeps the last one's if SR.MD,
/// the ASID, MMUCR and the UTLB are as that slice left them, and drops
/// them if anything outside the core (here the ASID, as a debugger or a
/// hosted hypervisor may write it) changed one.
#[test]
fn data_windows_outlive_a_slice_only_while_what_they_were_made_under_stays() {
    let (mut cpu, mut bus, table) = rp1_core(&[
        0xD102, // mov.l L_data,r1
        0x6212, // mov.l @r1,r2 (the read window: all of P1)
        0xAFFE, // bra .
        0x0009, // nop
        0x0009, 0x0009, // (pad)
        0x2000, 0x8C00, // L_data: .long 0x8C002000
    ]);
    assert_eq!(cpu.run(&mut bus, &table, 100), Stop::Limit);
    let window = cpu.read_window;
    assert_ne!(window, Window::EMPTY, "the read made a window");
    assert_eq!(cpu.run(&mut bus, &table, 200), Stop::Limit);
    assert_eq!(cpu.read_window, window, "a slice with nothing changed keeps it");
    cpu.mmu.pteh = 0x12;
    assert_eq!(cpu.run(&mut bus, &table, 300), Stop::Limit);
    assert_eq!(cpu.read_window, Window::EMPTY, "a new ASID between slices drops it");
}

/// The read window moves only to memory its fast path answers for: a
/// read the bus does the slow way (the CSM through P2, between reads of
/// DRAM through P1) leaves it where it was. An SR write that keeps SR.MD
/// keeps it too; one that changes SR.MD drops it.
#[test]
fn the_read_window_stays_on_memory_across_other_reads_and_same_mode_sr_writes() {
    use crate::bus::{Rp1Bus, CSM_BASE};
    let mut bus = Rp1Bus::new(1, 0x0800_0000);
    let mut cpu = Cpu::new(0);
    cpu.reset(0xA000_0000);
    cpu.read(&mut bus, 0x8C00_0000, Size::Long).expect("DRAM reads");
    let window = cpu.read_window;
    assert_ne!(window, Window::EMPTY);
    cpu.read(&mut bus, 0xA000_0000 | CSM_BASE, Size::Long).expect("the CSM reads");
    assert_eq!(cpu.read_window, window, "a read of the CSM");
    cpu.set_sr(cpu.sr & !sr::BL);
    assert_eq!(cpu.read_window, window, "SR.MD unchanged");
    cpu.set_sr(cpu.sr & !sr::MD);
    assert_eq!(cpu.read_window, Window::EMPTY, "SR.MD changed");
}
