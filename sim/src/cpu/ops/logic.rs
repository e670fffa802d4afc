//! Logic operations: AND/OR/XOR/NOT/TST on registers, immediates and
//! GBR-relative bytes, and TAS.B.

use crate::cpu::decode::{enc, imm8, rm, rn, Encoding};
use crate::cpu::{Bus, Cpu, Exception};

type R = Result<(), Exception>;

pub fn encodings<B: Bus>() -> Vec<Encoding<B>> {
    vec![
        enc("0010nnnnmmmm1001", "AND Rm,Rn", and::<B>),
        enc("11001001iiiiiiii", "AND #imm,R0", and_imm::<B>),
        enc("11001101iiiiiiii", "AND.B #imm,@(R0,GBR)", and_b::<B>),
        enc("0110nnnnmmmm0111", "NOT Rm,Rn", not::<B>),
        enc("0010nnnnmmmm1011", "OR Rm,Rn", or::<B>),
        enc("11001011iiiiiiii", "OR #imm,R0", or_imm::<B>),
        enc("11001111iiiiiiii", "OR.B #imm,@(R0,GBR)", or_b::<B>),
        enc("0100nnnn00011011", "TAS.B @Rn", tas_b::<B>),
        enc("0010nnnnmmmm1000", "TST Rm,Rn", tst::<B>),
        enc("11001000iiiiiiii", "TST #imm,R0", tst_imm::<B>),
        enc("11001100iiiiiiii", "TST.B #imm,@(R0,GBR)", tst_b::<B>),
        enc("0010nnnnmmmm1010", "XOR Rm,Rn", xor::<B>),
        enc("11001010iiiiiiii", "XOR #imm,R0", xor_imm::<B>),
        enc("11001110iiiiiiii", "XOR.B #imm,@(R0,GBR)", xor_b::<B>),
    ]
}

macro_rules! reg_op {
    ($name:ident, $imm:ident, $byte:ident, $f:expr) => {
        pub(crate) fn $name<B: Bus>(c: &mut Cpu, _: &mut B, op: u16) -> R {
            let f: fn(u32, u32) -> u32 = $f;
            c.r[rn(op)] = f(c.r[rn(op)], c.r[rm(op)]);
            c.next();
            Ok(())
        }
        pub(crate) fn $imm<B: Bus>(c: &mut Cpu, _: &mut B, op: u16) -> R {
            let f: fn(u32, u32) -> u32 = $f;
            c.r[0] = f(c.r[0], imm8(op));
            c.next();
            Ok(())
        }
        /// Read-modify-write of the byte at GBR + R0.
        pub(crate) fn $byte<B: Bus>(c: &mut Cpu, bus: &mut B, op: u16) -> R {
            let f: fn(u32, u32) -> u32 = $f;
            let addr = c.gbr.wrapping_add(c.r[0]);
            let v = c.read8(bus, addr)?;
            c.write8(bus, addr, f(v, imm8(op)))?;
            c.next();
            Ok(())
        }
    };
}

reg_op!(and, and_imm, and_b, |a, b| a & b);
reg_op!(or, or_imm, or_b, |a, b| a | b);
reg_op!(xor, xor_imm, xor_b, |a, b| a ^ b);

pub(crate) fn not<B: Bus>(c: &mut Cpu, _: &mut B, op: u16) -> R {
    c.r[rn(op)] = !c.r[rm(op)];
    c.next();
    Ok(())
}

/// Test-and-set: T = (byte == 0), then set bit 7, as one locked access.
pub(crate) fn tas_b<B: Bus>(c: &mut Cpu, bus: &mut B, op: u16) -> R {
    let addr = c.r[rn(op)];
    let v = c.read8(bus, addr)?;
    c.write8(bus, addr, v | 0x80)?;
    c.set_t(v == 0);
    c.next();
    Ok(())
}

pub(crate) fn tst<B: Bus>(c: &mut Cpu, _: &mut B, op: u16) -> R {
    c.set_t(c.r[rn(op)] & c.r[rm(op)] == 0);
    c.next();
    Ok(())
}

pub(crate) fn tst_imm<B: Bus>(c: &mut Cpu, _: &mut B, op: u16) -> R {
    c.set_t(c.r[0] & imm8(op) == 0);
    c.next();
    Ok(())
}

pub(crate) fn tst_b<B: Bus>(c: &mut Cpu, bus: &mut B, op: u16) -> R {
    let v = c.read8(bus, c.gbr.wrapping_add(c.r[0]))?;
    c.set_t(v & imm8(op) == 0);
    c.next();
    Ok(())
}
