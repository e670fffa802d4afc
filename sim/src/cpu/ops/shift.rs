//! Shifts and rotates: fixed-count shifts, the dynamic SHAD/SHLD, rotates
//! through and around T.

use crate::cpu::decode::{enc, rm, rn, Encoding};
use crate::cpu::{Bus, Cpu, Exception};

type R = Result<(), Exception>;

pub fn encodings<B: Bus>() -> Vec<Encoding<B>> {
    vec![
        enc("0100nnnn00000100", "ROTL Rn", rotl::<B>),
        enc("0100nnnn00000101", "ROTR Rn", rotr::<B>),
        enc("0100nnnn00100100", "ROTCL Rn", rotcl::<B>),
        enc("0100nnnn00100101", "ROTCR Rn", rotcr::<B>),
        enc("0100nnnnmmmm1100", "SHAD Rm,Rn", shad::<B>),
        enc("0100nnnnmmmm1101", "SHLD Rm,Rn", shld::<B>),
        enc("0100nnnn00100000", "SHAL Rn", shll::<B>),
        enc("0100nnnn00100001", "SHAR Rn", shar::<B>),
        enc("0100nnnn00000000", "SHLL Rn", shll::<B>),
        enc("0100nnnn00000001", "SHLR Rn", shlr::<B>),
        enc("0100nnnn00001000", "SHLL2 Rn", shll2::<B>),
        enc("0100nnnn00001001", "SHLR2 Rn", shlr2::<B>),
        enc("0100nnnn00011000", "SHLL8 Rn", shll8::<B>),
        enc("0100nnnn00011001", "SHLR8 Rn", shlr8::<B>),
        enc("0100nnnn00101000", "SHLL16 Rn", shll16::<B>),
        enc("0100nnnn00101001", "SHLR16 Rn", shlr16::<B>),
    ]
}

/// A one-bit shift or rotate that moves a bit into T: `f(value, t)` returns
/// (result, new T).
macro_rules! through_t {
    ($name:ident, |$v:ident, $t:ident| $body:expr) => {
        pub(crate) fn $name<B: Bus>(c: &mut Cpu, _: &mut B, op: u16) -> R {
            let n = rn(op);
            let ($v, $t) = (c.r[n], c.t());
            let (result, t): (u32, bool) = $body;
            c.r[n] = result;
            c.set_t(t);
            c.next();
            Ok(())
        }
    };
}

through_t!(rotl, |v, _t| (v.rotate_left(1), v >> 31 != 0));
through_t!(rotr, |v, _t| (v.rotate_right(1), v & 1 != 0));
through_t!(rotcl, |v, t| ((v << 1) | t as u32, v >> 31 != 0));
through_t!(rotcr, |v, t| ((v >> 1) | (t as u32) << 31, v & 1 != 0));
through_t!(shll, |v, _t| (v << 1, v >> 31 != 0));
through_t!(shlr, |v, _t| (v >> 1, v & 1 != 0));
through_t!(shar, |v, _t| (((v as i32) >> 1) as u32, v & 1 != 0));

/// A fixed shift that leaves T alone.
macro_rules! fixed {
    ($name:ident, |$v:ident| $body:expr) => {
        pub(crate) fn $name<B: Bus>(c: &mut Cpu, _: &mut B, op: u16) -> R {
            let n = rn(op);
            let $v = c.r[n];
            c.r[n] = $body;
            c.next();
            Ok(())
        }
    };
}

fixed!(shll2, |v| v << 2);
fixed!(shlr2, |v| v >> 2);
fixed!(shll8, |v| v << 8);
fixed!(shlr8, |v| v >> 8);
fixed!(shll16, |v| v << 16);
fixed!(shlr16, |v| v >> 16);

/// SHAD: Rm >= 0 shifts left by Rm[4:0]; Rm < 0 shifts right arithmetically
/// by 32 - Rm[4:0], i.e. by 32 (all sign bits) when Rm[4:0] is 0.
pub(crate) fn shad<B: Bus>(c: &mut Cpu, _: &mut B, op: u16) -> R {
    let (n, s) = (rn(op), c.r[rm(op)]);
    let v = c.r[n];
    c.r[n] = if s as i32 >= 0 {
        v << (s & 31)
    } else if s & 31 == 0 {
        ((v as i32) >> 31) as u32
    } else {
        ((v as i32) >> (32 - (s & 31))) as u32
    };
    c.next();
    Ok(())
}

/// SHLD: as SHAD but the right shift is logical (by 32 gives 0).
pub(crate) fn shld<B: Bus>(c: &mut Cpu, _: &mut B, op: u16) -> R {
    let (n, s) = (rn(op), c.r[rm(op)]);
    let v = c.r[n];
    c.r[n] = if s as i32 >= 0 {
        v << (s & 31)
    } else if s & 31 == 0 {
        0
    } else {
        v >> (32 - (s & 31))
    };
    c.next();
    Ok(())
}
