//! Integer arithmetic: add/subtract with carry and overflow, compares,
//! the division steps, multiplies and multiply-accumulates, extensions.

use crate::cpu::decode::{enc, rm, rn, simm8, Encoding};
use crate::cpu::{sr, Bus, Cpu, Exception};

type R = Result<(), Exception>;

pub fn encodings<B: Bus>() -> Vec<Encoding<B>> {
    vec![
        enc("0011nnnnmmmm1100", "ADD Rm,Rn", add::<B>),
        enc("0111nnnniiiiiiii", "ADD #imm,Rn", add_imm::<B>),
        enc("0011nnnnmmmm1110", "ADDC Rm,Rn", addc::<B>),
        enc("0011nnnnmmmm1111", "ADDV Rm,Rn", addv::<B>),
        enc("10001000iiiiiiii", "CMP/EQ #imm,R0", cmp_eq_imm::<B>),
        enc("0011nnnnmmmm0000", "CMP/EQ Rm,Rn", cmp_eq::<B>),
        enc("0011nnnnmmmm0010", "CMP/HS Rm,Rn", cmp_hs::<B>),
        enc("0011nnnnmmmm0011", "CMP/GE Rm,Rn", cmp_ge::<B>),
        enc("0011nnnnmmmm0110", "CMP/HI Rm,Rn", cmp_hi::<B>),
        enc("0011nnnnmmmm0111", "CMP/GT Rm,Rn", cmp_gt::<B>),
        enc("0100nnnn00010001", "CMP/PZ Rn", cmp_pz::<B>),
        enc("0100nnnn00010101", "CMP/PL Rn", cmp_pl::<B>),
        enc("0010nnnnmmmm1100", "CMP/STR Rm,Rn", cmp_str::<B>),
        enc("0011nnnnmmmm0100", "DIV1 Rm,Rn", div1::<B>),
        enc("0010nnnnmmmm0111", "DIV0S Rm,Rn", div0s::<B>),
        enc("0000000000011001", "DIV0U", div0u::<B>),
        enc("0011nnnnmmmm1101", "DMULS.L Rm,Rn", dmuls::<B>),
        enc("0011nnnnmmmm0101", "DMULU.L Rm,Rn", dmulu::<B>),
        enc("0100nnnn00010000", "DT Rn", dt::<B>),
        enc("0110nnnnmmmm1110", "EXTS.B Rm,Rn", exts_b::<B>),
        enc("0110nnnnmmmm1111", "EXTS.W Rm,Rn", exts_w::<B>),
        enc("0110nnnnmmmm1100", "EXTU.B Rm,Rn", extu_b::<B>),
        enc("0110nnnnmmmm1101", "EXTU.W Rm,Rn", extu_w::<B>),
        enc("0000nnnnmmmm1111", "MAC.L @Rm+,@Rn+", mac_l::<B>),
        enc("0100nnnnmmmm1111", "MAC.W @Rm+,@Rn+", mac_w::<B>),
        enc("0000nnnnmmmm0111", "MUL.L Rm,Rn", mul_l::<B>),
        enc("0010nnnnmmmm1111", "MULS.W Rm,Rn", muls_w::<B>),
        enc("0010nnnnmmmm1110", "MULU.W Rm,Rn", mulu_w::<B>),
        enc("0110nnnnmmmm1011", "NEG Rm,Rn", neg::<B>),
        enc("0110nnnnmmmm1010", "NEGC Rm,Rn", negc::<B>),
        enc("0011nnnnmmmm1000", "SUB Rm,Rn", sub::<B>),
        enc("0011nnnnmmmm1010", "SUBC Rm,Rn", subc::<B>),
        enc("0011nnnnmmmm1011", "SUBV Rm,Rn", subv::<B>),
    ]
}

pub(crate) fn add<B: Bus>(c: &mut Cpu, _: &mut B, op: u16) -> R {
    c.r[rn(op)] = c.r[rn(op)].wrapping_add(c.r[rm(op)]);
    c.next();
    Ok(())
}

pub(crate) fn add_imm<B: Bus>(c: &mut Cpu, _: &mut B, op: u16) -> R {
    c.r[rn(op)] = c.r[rn(op)].wrapping_add(simm8(op));
    c.next();
    Ok(())
}

pub(crate) fn addc<B: Bus>(c: &mut Cpu, _: &mut B, op: u16) -> R {
    let (a, b) = (c.r[rn(op)], c.r[rm(op)]);
    let (s1, c1) = a.overflowing_add(b);
    let (s2, c2) = s1.overflowing_add(c.t() as u32);
    c.r[rn(op)] = s2;
    c.set_t(c1 | c2);
    c.next();
    Ok(())
}

pub(crate) fn addv<B: Bus>(c: &mut Cpu, _: &mut B, op: u16) -> R {
    let (s, v) = (c.r[rn(op)] as i32).overflowing_add(c.r[rm(op)] as i32);
    c.r[rn(op)] = s as u32;
    c.set_t(v);
    c.next();
    Ok(())
}

pub(crate) fn cmp_eq_imm<B: Bus>(c: &mut Cpu, _: &mut B, op: u16) -> R {
    c.set_t(c.r[0] == simm8(op));
    c.next();
    Ok(())
}

macro_rules! compare {
    ($name:ident, |$a:ident, $b:ident| $cond:expr) => {
        pub(crate) fn $name<B: Bus>(c: &mut Cpu, _: &mut B, op: u16) -> R {
            let ($a, $b) = (c.r[rn(op)], c.r[rm(op)]);
            c.set_t($cond);
            c.next();
            Ok(())
        }
    };
}

compare!(cmp_eq, |n, m| n == m);
compare!(cmp_hs, |n, m| n >= m);
compare!(cmp_ge, |n, m| n as i32 >= m as i32);
compare!(cmp_hi, |n, m| n > m);
compare!(cmp_gt, |n, m| n as i32 > m as i32);
compare!(cmp_str, |n, m| {
    let x = n ^ m;
    x & 0xFF == 0 || x & 0xFF00 == 0 || x & 0xFF_0000 == 0 || x & 0xFF00_0000 == 0
});

pub(crate) fn cmp_pz<B: Bus>(c: &mut Cpu, _: &mut B, op: u16) -> R {
    c.set_t(c.r[rn(op)] as i32 >= 0);
    c.next();
    Ok(())
}

pub(crate) fn cmp_pl<B: Bus>(c: &mut Cpu, _: &mut B, op: u16) -> R {
    c.set_t(c.r[rn(op)] as i32 > 0);
    c.next();
    Ok(())
}

/// One step of non-restoring division (the SH-4 manual's DIV1 table,
/// folded: subtract when the old Q equals M, add otherwise; the new Q is
/// the shifted-out bit xor the carry/borrow xor M).
pub(crate) fn div1<B: Bus>(c: &mut Cpu, _: &mut B, op: u16) -> R {
    let (n, m) = (rn(op), rm(op));
    let sr = c.sr();
    let old_q = sr & sr::Q != 0;
    let mbit = sr & sr::M != 0;
    let shifted_out = c.r[n] & 0x8000_0000 != 0;
    let dividend = (c.r[n] << 1) | c.t() as u32;
    let (result, carry) = if old_q == mbit {
        dividend.overflowing_sub(c.r[m])
    } else {
        dividend.overflowing_add(c.r[m])
    };
    c.r[n] = result;
    let q = shifted_out ^ carry ^ mbit;
    c.set_sr_bit(sr::Q, q);
    c.set_t(q == mbit);
    c.next();
    Ok(())
}

pub(crate) fn div0s<B: Bus>(c: &mut Cpu, _: &mut B, op: u16) -> R {
    let q = c.r[rn(op)] >> 31 != 0;
    let m = c.r[rm(op)] >> 31 != 0;
    c.set_sr_bit(sr::Q, q);
    c.set_sr_bit(sr::M, m);
    c.set_t(q != m);
    c.next();
    Ok(())
}

pub(crate) fn div0u<B: Bus>(c: &mut Cpu, _: &mut B, _: u16) -> R {
    c.set_sr_bit(sr::Q, false);
    c.set_sr_bit(sr::M, false);
    c.set_t(false);
    c.next();
    Ok(())
}

fn set_mac(c: &mut Cpu, v: u64) {
    c.mach = (v >> 32) as u32;
    c.macl = v as u32;
}

fn mac(c: &Cpu) -> i64 {
    ((c.mach as u64) << 32 | c.macl as u64) as i64
}

pub(crate) fn dmuls<B: Bus>(c: &mut Cpu, _: &mut B, op: u16) -> R {
    let v = (c.r[rn(op)] as i32 as i64).wrapping_mul(c.r[rm(op)] as i32 as i64);
    set_mac(c, v as u64);
    c.next();
    Ok(())
}

pub(crate) fn dmulu<B: Bus>(c: &mut Cpu, _: &mut B, op: u16) -> R {
    let v = (c.r[rn(op)] as u64) * (c.r[rm(op)] as u64);
    set_mac(c, v);
    c.next();
    Ok(())
}

pub(crate) fn dt<B: Bus>(c: &mut Cpu, _: &mut B, op: u16) -> R {
    let n = rn(op);
    c.r[n] = c.r[n].wrapping_sub(1);
    c.set_t(c.r[n] == 0);
    c.next();
    Ok(())
}

pub(crate) fn exts_b<B: Bus>(c: &mut Cpu, _: &mut B, op: u16) -> R {
    c.r[rn(op)] = c.r[rm(op)] as u8 as i8 as i32 as u32;
    c.next();
    Ok(())
}

pub(crate) fn exts_w<B: Bus>(c: &mut Cpu, _: &mut B, op: u16) -> R {
    c.r[rn(op)] = c.r[rm(op)] as u16 as i16 as i32 as u32;
    c.next();
    Ok(())
}

pub(crate) fn extu_b<B: Bus>(c: &mut Cpu, _: &mut B, op: u16) -> R {
    c.r[rn(op)] = c.r[rm(op)] & 0xFF;
    c.next();
    Ok(())
}

pub(crate) fn extu_w<B: Bus>(c: &mut Cpu, _: &mut B, op: u16) -> R {
    c.r[rn(op)] = c.r[rm(op)] & 0xFFFF;
    c.next();
    Ok(())
}

/// Read the two operands of MAC.L/MAC.W: @Rn first, then @Rm, each
/// post-incremented (when n == m the register advances twice). Registers
/// change only once both reads succeeded.
fn mac_operands<B: Bus>(c: &mut Cpu, bus: &mut B, op: u16, long: bool) -> Result<(u32, u32), Exception> {
    let (n, m) = (rn(op), rm(op));
    let step = if long { 4 } else { 2 };
    let read = |c: &mut Cpu, bus: &mut B, a: u32| if long { c.read32(bus, a) } else { c.read16(bus, a) };
    let an = c.r[n];
    let vn = read(c, bus, an)?;
    let am = if n == m { an.wrapping_add(step) } else { c.r[m] };
    let vm = read(c, bus, am)?;
    if n == m {
        c.r[n] = an.wrapping_add(2 * step);
    } else {
        c.r[n] = an.wrapping_add(step);
        c.r[m] = am.wrapping_add(step);
    }
    Ok((vn, vm))
}

pub(crate) fn mac_l<B: Bus>(c: &mut Cpu, bus: &mut B, op: u16) -> R {
    let (vn, vm) = mac_operands(c, bus, op, true)?;
    let product = (vn as i32 as i64) * (vm as i32 as i64);
    let sum = mac(c).wrapping_add(product);
    let v = if c.sr() & sr::S != 0 {
        // Saturate to 48 bits.
        const MAX: i64 = (1 << 47) - 1;
        const MIN: i64 = -(1 << 47);
        let wide = (mac(c) << 16 >> 16) as i128 + product as i128;
        wide.clamp(MIN as i128, MAX as i128) as i64
    } else {
        sum
    };
    set_mac(c, v as u64);
    c.next();
    Ok(())
}

pub(crate) fn mac_w<B: Bus>(c: &mut Cpu, bus: &mut B, op: u16) -> R {
    let (vn, vm) = mac_operands(c, bus, op, false)?;
    let product = (vn as i16 as i64) * (vm as i16 as i64);
    if c.sr() & sr::S != 0 {
        // 32-bit saturating accumulate in MACL; overflow sets MACH bit 0.
        let sum = c.macl as i32 as i64 + product;
        if sum > i32::MAX as i64 {
            c.macl = i32::MAX as u32;
            c.mach |= 1;
        } else if sum < i32::MIN as i64 {
            c.macl = i32::MIN as u32;
            c.mach |= 1;
        } else {
            c.macl = sum as u32;
        }
    } else {
        let sum = mac(c).wrapping_add(product);
        set_mac(c, sum as u64);
    }
    c.next();
    Ok(())
}

pub(crate) fn mul_l<B: Bus>(c: &mut Cpu, _: &mut B, op: u16) -> R {
    c.macl = c.r[rn(op)].wrapping_mul(c.r[rm(op)]);
    c.next();
    Ok(())
}

pub(crate) fn muls_w<B: Bus>(c: &mut Cpu, _: &mut B, op: u16) -> R {
    c.macl = ((c.r[rn(op)] as i16 as i32) * (c.r[rm(op)] as i16 as i32)) as u32;
    c.next();
    Ok(())
}

pub(crate) fn mulu_w<B: Bus>(c: &mut Cpu, _: &mut B, op: u16) -> R {
    c.macl = (c.r[rn(op)] & 0xFFFF) * (c.r[rm(op)] & 0xFFFF);
    c.next();
    Ok(())
}

pub(crate) fn neg<B: Bus>(c: &mut Cpu, _: &mut B, op: u16) -> R {
    c.r[rn(op)] = 0u32.wrapping_sub(c.r[rm(op)]);
    c.next();
    Ok(())
}

pub(crate) fn negc<B: Bus>(c: &mut Cpu, _: &mut B, op: u16) -> R {
    let m = c.r[rm(op)];
    let t = c.t() as u32;
    let tmp = 0u32.wrapping_sub(m);
    let result = tmp.wrapping_sub(t);
    c.r[rn(op)] = result;
    c.set_t(0 < tmp || tmp < result);
    c.next();
    Ok(())
}

pub(crate) fn sub<B: Bus>(c: &mut Cpu, _: &mut B, op: u16) -> R {
    c.r[rn(op)] = c.r[rn(op)].wrapping_sub(c.r[rm(op)]);
    c.next();
    Ok(())
}

pub(crate) fn subc<B: Bus>(c: &mut Cpu, _: &mut B, op: u16) -> R {
    let (a, b) = (c.r[rn(op)], c.r[rm(op)]);
    let (d1, b1) = a.overflowing_sub(b);
    let (d2, b2) = d1.overflowing_sub(c.t() as u32);
    c.r[rn(op)] = d2;
    c.set_t(b1 | b2);
    c.next();
    Ok(())
}

pub(crate) fn subv<B: Bus>(c: &mut Cpu, _: &mut B, op: u16) -> R {
    let (d, v) = (c.r[rn(op)] as i32).overflowing_sub(c.r[rm(op)] as i32);
    c.r[rn(op)] = d as u32;
    c.set_t(v);
    c.next();
    Ok(())
}

