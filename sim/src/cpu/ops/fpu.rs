//! The FPU: single and double precision arithmetic, conversions, moves,
//! FPSCR/FPUL transfers, with the SH-4A's exception model.
//!
//! Every FPU instruction first checks SR.FD (FPU disable exception; the run
//! loop turns it into the slot form in a delay slot). Encodings that are
//! reserved for the current FPSCR.PR (FMAC, FIPR, FTRV, FSCA, FSRRA, FLDI0,
//! FLDI1, FRCHG, FSCHG with PR=1; FCNVSD, FCNVDS with PR=0) and the double
//! forms that name an odd register raise a general illegal instruction.
//!
//! # Arithmetic
//!
//! Results are computed exactly (integer significands in `u128`, a wide
//! fixed-point accumulator for the fused operations) and rounded once, to
//! nearest-even or toward zero as FPSCR.RM says (RM bit 0, as the manual's
//! `FPSCR_RM` macro reads it). No host floating point is involved except in
//! FSCA/FSRRA, which use only IEEE-exact f64 operations (+ - * / sqrt), so
//! results are the same on every host.
//!
//! SH-4 NaN conventions: a NaN whose top fraction bit is 1 is signalling, 0
//! is quiet; every NaN produced is the default qNaN (0x7FBFFFFF,
//! 0x7FF7FFFF_FFFFFFFF); an sNaN operand is an invalid operation.
//!
//! Denormals: with FPSCR.DN=1 a denormal operand is treated as a zero of
//! its sign, and a denormal result is flushed to a signed zero (inexact and
//! underflow). With DN=0, FADD/FSUB/FDIV/FSQRT/FSRRA/FCNVSD/FCNVDS and the
//! double-precision FMUL raise the FPU error (cause E, always trapping) on a
//! denormal operand, as the special-case tables show; single-precision
//! FMUL, FMAC, FIPR and FTRV compute with it (the SH-4A manual gives FMUL a
//! trap condition for non-normalized single operands and says FMAC computes
//! denormals like normalized numbers); comparisons and FTRC use the value.
//! Underflow is signalled when the rounded result is tiny and inexact.
//!
//! # Exceptions
//!
//! An operation clears FPSCR.CAUSE, sets the cause bits of what happened
//! and ORs V/Z/O/U/I into FPSCR.FLAG (also when it then traps). It raises
//! the FPU exception (EXPEVT 0x120) without writing its destination when
//! cause E is set, when V or Z happened and is enabled, or when an enabled
//! O/U/I exception is *possible* for the operands. As the manual's "trap
//! generating conditions" make the hardware decide before the result is
//! known, the trap can be taken while CAUSE shows nothing:
//!
//! - FADD/FSUB: O if the magnitudes add and an exponent is 0xFE (0x7FE);
//!   U if they subtract and both exponents are <= 0x18 (0x035).
//! - FMUL: O if e(n)+e(m)-bias >= 0xFE (0x7FE); U if it is <= 0 (<= 0x18
//!   for a single with a denormal operand). FDIV: O if e(n)-e(m)+bias >=
//!   0xFF (0x7FF), U if <= 1. FMAC: O if e(FR0)+e(FRm)-0x7F or e(FRn) >=
//!   0xFD, U if either is <= 0x2E.
//! - I for FADD/FSUB/FMUL/FDIV/FMAC/FSQRT/FCNVDS on finite nonzero operands,
//!   FSRRA on a normal operand, FSCA always; FIPR/FTRV treat O, U and I as
//!   always possible, and FTRV traps whenever V is enabled. FLOAT, FCNVDS
//!   (O/U) and everything else trap only on what actually happened.
//! - Special cases (zeros, infinities, NaNs) never reach those checks.
//!
//! # Deviations from the hardware
//!
//! - FSCA: sin/cos of (FPUL & 0xFFFF)·2π/65536 evaluated in f64 (Taylor
//!   series on the first octant, exact symmetries elsewhere) and rounded to
//!   single: absolute error about 2^-25, better than the hardware table's
//!   ±2^-21, so low bits can differ from a real chip; exact zeros are +0.
//! - FSRRA: 1/sqrt(x) evaluated in f64 and rounded to nearest single (the
//!   hardware's approximation is within ±2^-21; low bits can differ).
//!   FSCA and FSRRA ignore FPSCR.RM.
//! - FIPR/FTRV: the exact inner product rounded once; the hardware's
//!   internal precision is lower, so the last bit can differ.
//! - Which instructions raise the FPU error for a DN=0 denormal operand is
//!   taken from the special-case tables as far as they are legible (see
//!   Denormals above); a chip may compute some of them instead.
//! - FMOV with SZ=1 needs an 8-byte aligned address (address error
//!   otherwise); the 64-bit access is two 32-bit accesses, the word at the
//!   lower address being the low half (DRn's odd register), as a
//!   little-endian SH-4 stores doubles.
//!
//! Cross-checked against qemu-sh4 7.2 (see `qemu_crosscheck` in the tests):
//! identical results except where qemu departs from the manual: it computes
//! with DN=0 denormals (no FPU error) and does not flush DN=1 denormal
//! operands, flushes tiny results without U/I, signals inexact on FTRC and
//! gives 0x7FFFFFFF for FTRC of a NaN, signals invalid for FCMP with a
//! qNaN, rounds FIPR per step (and indexes its vectors wrongly), and has no
//! FSCA/FSRRA.

use crate::cpu::decode::{enc, rm, rn, Encoding};
use crate::cpu::{fpscr, Bus, Cpu, Exception};

type R = Result<(), Exception>;

#[cfg(test)]
#[path = "fpu_tests.rs"]
mod tests;

pub fn encodings<B: Bus>() -> Vec<Encoding<B>> {
    vec![
        enc("1111nnnnmmmm0000", "FADD FRm,FRn", fadd::<B>),
        enc("1111nnnnmmmm0001", "FSUB FRm,FRn", fsub::<B>),
        enc("1111nnnnmmmm0010", "FMUL FRm,FRn", fmul::<B>),
        enc("1111nnnnmmmm0011", "FDIV FRm,FRn", fdiv::<B>),
        enc("1111nnnnmmmm0100", "FCMP/EQ FRm,FRn", fcmp_eq::<B>),
        enc("1111nnnnmmmm0101", "FCMP/GT FRm,FRn", fcmp_gt::<B>),
        enc("1111nnnnmmmm0110", "FMOV.S @(R0,Rm),FRn", fmov_load_r0::<B>),
        enc("1111nnnnmmmm0111", "FMOV.S FRm,@(R0,Rn)", fmov_store_r0::<B>),
        enc("1111nnnnmmmm1000", "FMOV.S @Rm,FRn", fmov_load::<B>),
        enc("1111nnnnmmmm1001", "FMOV.S @Rm+,FRn", fmov_load_postinc::<B>),
        enc("1111nnnnmmmm1010", "FMOV.S FRm,@Rn", fmov_store::<B>),
        enc("1111nnnnmmmm1011", "FMOV.S FRm,@-Rn", fmov_store_predec::<B>),
        enc("1111nnnnmmmm1100", "FMOV FRm,FRn", fmov_reg::<B>),
        enc("1111nnnnmmmm1110", "FMAC FR0,FRm,FRn", fmac::<B>),
        enc("1111nnnn00001101", "FSTS FPUL,FRn", fsts::<B>),
        enc("1111mmmm00011101", "FLDS FRm,FPUL", flds::<B>),
        enc("1111nnnn00101101", "FLOAT FPUL,FRn", float::<B>),
        enc("1111mmmm00111101", "FTRC FRm,FPUL", ftrc::<B>),
        enc("1111nnnn01001101", "FNEG FRn", fneg::<B>),
        enc("1111nnnn01011101", "FABS FRn", fabs::<B>),
        enc("1111nnnn01101101", "FSQRT FRn", fsqrt::<B>),
        enc("1111nnnn01111101", "FSRRA FRn", fsrra::<B>),
        enc("1111nnnn10001101", "FLDI0 FRn", fldi0::<B>),
        enc("1111nnnn10011101", "FLDI1 FRn", fldi1::<B>),
        enc("1111nnnn10101101", "FCNVSD FPUL,DRn", fcnvsd::<B>),
        enc("1111mmmm10111101", "FCNVDS DRm,FPUL", fcnvds::<B>),
        enc("1111nnmm11101101", "FIPR FVm,FVn", fipr::<B>),
        enc("1111nnn011111101", "FSCA FPUL,DRn", fsca::<B>),
        enc("1111nn0111111101", "FTRV XMTRX,FVn", ftrv::<B>),
        enc("1111001111111101", "FSCHG", fschg::<B>),
        enc("1111011111111101", "FPCHG", fpchg::<B>),
        enc("1111101111111101", "FRCHG", frchg::<B>),
        enc("0100mmmm01101010", "LDS Rm,FPSCR", lds_fpscr::<B>),
        enc("0100mmmm01100110", "LDS.L @Rm+,FPSCR", ldsl_fpscr::<B>),
        enc("0100mmmm01011010", "LDS Rm,FPUL", lds_fpul::<B>),
        enc("0100mmmm01010110", "LDS.L @Rm+,FPUL", ldsl_fpul::<B>),
        enc("0000nnnn01101010", "STS FPSCR,Rn", sts_fpscr::<B>),
        enc("0000nnnn01011010", "STS FPUL,Rn", sts_fpul::<B>),
        enc("0100nnnn01100010", "STS.L FPSCR,@-Rn", stsl_fpscr::<B>),
        enc("0100nnnn01010010", "STS.L FPUL,@-Rn", stsl_fpul::<B>),
    ]
}

// ===================================================================
// FPSCR fields, cause bits, exception commit
// ===================================================================

/// Exception bits in the order of the FPSCR cause field (bit 12 up); the
/// flag and enable fields hold the low five in the same order.
const I: u32 = 1 << 0;
const U: u32 = 1 << 1;
const O: u32 = 1 << 2;
const Z: u32 = 1 << 3;
const V: u32 = 1 << 4;
const E: u32 = 1 << 5;
const CAUSE_MASK: u32 = 0x3F << fpscr::CAUSE_SHIFT;

#[inline(always)]
fn pr(c: &Cpu) -> bool {
    c.fpscr() & fpscr::PR != 0
}

#[inline(always)]
fn sz(c: &Cpu) -> bool {
    c.fpscr() & fpscr::SZ != 0
}

/// Rounding and denormal modes of an operation.
#[derive(Clone, Copy, Debug)]
struct Env {
    /// Round toward zero (FPSCR.RM bit 0).
    rz: bool,
    /// Denormals are zeros (FPSCR.DN).
    dn: bool,
}

impl Env {
    fn of(c: &Cpu) -> Env {
        let f = c.fpscr();
        Env { rz: f & 1 != 0, dn: f & fpscr::DN != 0 }
    }
}

/// Record the outcome of an FPU operation in FPSCR (cause replaced, flags
/// accumulated) and decide whether it traps. `possible` holds the O/U/I
/// (and, for FTRV, V) exceptions the operands make possible: an enabled one
/// traps even if it did not happen.
fn commit(c: &mut Cpu, cause: u32, possible: u32) -> R {
    let f = c.fpscr();
    let enable = (f >> fpscr::ENABLE_SHIFT) & 0x1F;
    let new = (f & !CAUSE_MASK) | (cause << fpscr::CAUSE_SHIFT) | ((cause & 0x1F) << fpscr::FLAGS_SHIFT);
    c.set_fpscr(new);
    if cause & E != 0 || (cause | possible) & enable != 0 {
        Err(Exception::FpuError)
    } else {
        Ok(())
    }
}

/// DRn as a 64-bit pattern (FRn holds the high word).
#[inline(always)]
fn get_d(c: &Cpu, n: usize) -> u64 {
    ((c.fr[n] as u64) << 32) | c.fr[n + 1] as u64
}

#[inline(always)]
fn set_d(c: &mut Cpu, n: usize, v: u64) {
    c.fr[n] = (v >> 32) as u32;
    c.fr[n + 1] = v as u32;
}

/// With FPSCR.SZ=1 a register field names DRn (even) or XDn (odd, the pair
/// of the other bank): the index in `Cpu::fr` of the pair's high word.
#[inline(always)]
fn pair(reg: usize) -> usize {
    if reg & 1 == 0 {
        reg
    } else {
        16 + (reg & !1)
    }
}

// ===================================================================
// Formats and classification
// ===================================================================

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Fmt {
    S,
    D,
}

impl Fmt {
    /// Fraction bits.
    const fn fb(self) -> i32 {
        match self {
            Fmt::S => 23,
            Fmt::D => 52,
        }
    }
    /// The all-ones exponent field.
    const fn emax(self) -> i32 {
        match self {
            Fmt::S => 0xFF,
            Fmt::D => 0x7FF,
        }
    }
    const fn bias(self) -> i32 {
        match self {
            Fmt::S => 127,
            Fmt::D => 1023,
        }
    }
    const fn sign(self) -> u64 {
        match self {
            Fmt::S => 1 << 31,
            Fmt::D => 1 << 63,
        }
    }
    /// The default quiet NaN the FPU produces.
    const fn qnan(self) -> u64 {
        match self {
            Fmt::S => 0x7FBF_FFFF,
            Fmt::D => 0x7FF7_FFFF_FFFF_FFFF,
        }
    }
    const fn zero(self, neg: bool) -> u64 {
        if neg {
            self.sign()
        } else {
            0
        }
    }
    const fn inf(self, neg: bool) -> u64 {
        self.zero(neg) | ((self.emax() as u64) << self.fb())
    }
    /// The largest finite magnitude.
    const fn max_finite(self, neg: bool) -> u64 {
        self.inf(neg) - 1
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Class {
    Zero,
    Denorm,
    Norm,
    Inf,
    QNaN,
    SNaN,
}

/// A classified operand.
#[derive(Clone, Copy, Debug)]
struct Fp {
    /// The pattern (a signed zero for a denormal flushed by DN=1).
    bits: u64,
    neg: bool,
    class: Class,
    /// The biased exponent field (0 for zeros and denormals).
    ef: i32,
}

fn classify(bits: u64, f: Fmt, dn: bool) -> Fp {
    let neg = bits & f.sign() != 0;
    let ef = ((bits >> f.fb()) as i32) & f.emax();
    let frac = bits & ((1u64 << f.fb()) - 1);
    let class = if ef == 0 {
        if frac == 0 {
            Class::Zero
        } else if dn {
            return Fp { bits: f.zero(neg), neg, class: Class::Zero, ef: 0 };
        } else {
            Class::Denorm
        }
    } else if ef == f.emax() {
        if frac == 0 {
            Class::Inf
        } else if frac >> (f.fb() - 1) != 0 {
            Class::SNaN
        } else {
            Class::QNaN
        }
    } else {
        Class::Norm
    };
    Fp { bits, neg, class, ef }
}

impl Fp {
    fn is_nan(self) -> bool {
        matches!(self.class, Class::QNaN | Class::SNaN)
    }
    fn finite_nonzero(self) -> bool {
        matches!(self.class, Class::Norm | Class::Denorm)
    }
    /// Exact value of a finite nonzero operand: (sign, exponent, significand)
    /// with value = significand × 2^exponent.
    fn unpack(self, f: Fmt) -> (bool, i32, u128) {
        let frac = (self.bits & ((1u64 << f.fb()) - 1)) as u128;
        match self.class {
            Class::Norm => (self.neg, self.ef - f.bias() - f.fb(), frac | (1u128 << f.fb())),
            Class::Denorm => (self.neg, 1 - f.bias() - f.fb(), frac),
            _ => unreachable!("unpack of a non-finite or zero operand"),
        }
    }
    /// The value as an f64, for comparisons (exact for both formats).
    fn value(self, f: Fmt) -> f64 {
        match (self.class, f) {
            (Class::Zero, _) => 0.0,
            (_, Fmt::S) => f32::from_bits(self.bits as u32) as f64,
            (_, Fmt::D) => f64::from_bits(self.bits),
        }
    }
}

/// The result of an operation: the pattern to write (unless it traps), the
/// cause bits, and the O/U/I exceptions that could have happened.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Res {
    bits: u64,
    cause: u32,
    possible: u32,
}

impl Res {
    const fn exact(bits: u64) -> Res {
        Res { bits, cause: 0, possible: 0 }
    }
    const fn invalid(f: Fmt) -> Res {
        Res { bits: f.qnan(), cause: V, possible: 0 }
    }
    const fn error() -> Res {
        Res { bits: 0, cause: E, possible: 0 }
    }
    const fn div_zero(f: Fmt, neg: bool) -> Res {
        Res { bits: f.inf(neg), cause: Z, possible: 0 }
    }
}

// ===================================================================
// Rounding
// ===================================================================

/// Round the exact value (-1)^neg × (sig + ε) × 2^exp, where ε in (0, 1)
/// when `sticky` and 0 otherwise, to format `f`. Returns the pattern and
/// the I/U/O cause bits. `sig` must be nonzero.
fn round_pack(neg: bool, mut exp: i32, mut sig: u128, sticky: bool, f: Fmt, env: Env) -> (u64, u32) {
    debug_assert!(sig != 0);
    let fb = f.fb();
    let p = fb + 1;
    // Give the significand at least 100 bits so that there are always
    // round and sticky positions below the kept bits.
    let mut msb = 127 - sig.leading_zeros() as i32;
    if msb < 100 {
        sig <<= 100 - msb;
        exp -= 100 - msb;
        msb = 100;
    }
    let e = msb + exp; // the value is in [2^e, 2^(e+1))
    let emin = 1 - f.bias();
    let mut lsb = (e - fb).max(emin - fb); // weight of the result's last bit
    let shift = lsb - exp; // > 1 by construction
    let (mut kept, round, rest) = if shift > 128 {
        (0u128, false, true)
    } else if shift == 128 {
        (0u128, sig >> 127 != 0, sig << 1 != 0 || sticky)
    } else {
        let rest_mask = (1u128 << (shift - 1)) - 1;
        (sig >> shift, (sig >> (shift - 1)) & 1 != 0, sig & rest_mask != 0 || sticky)
    };
    let mut inexact = round || rest;
    if !env.rz && round && (rest || kept & 1 != 0) {
        kept += 1;
        if kept >> p != 0 {
            kept >>= 1;
            lsb += 1;
        }
    }
    let sign = f.zero(neg);
    if kept >> fb != 0 {
        // Normal.
        let biased = lsb + fb + f.bias();
        if biased >= f.emax() {
            let bits = if env.rz { f.max_finite(neg) } else { f.inf(neg) };
            return (bits, O | I);
        }
        let bits = sign | ((biased as u64) << fb) | (kept as u64 & ((1u64 << fb) - 1));
        (bits, if inexact { I } else { 0 })
    } else {
        // Tiny after rounding: a denormal or zero.
        let mut bits = sign | kept as u64;
        if env.dn && kept != 0 {
            bits = sign;
            inexact = true;
        }
        let cause = if inexact { I | U } else { 0 };
        (bits, cause)
    }
}

/// Round an exact nonzero value and report it with the possible exceptions.
fn rounded(neg: bool, exp: i32, sig: u128, sticky: bool, f: Fmt, env: Env, possible: u32) -> Res {
    let (bits, cause) = round_pack(neg, exp, sig, sticky, f, env);
    Res { bits, cause, possible }
}

// ===================================================================
// Basic operations
// ===================================================================

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Arith {
    Add,
    Sub,
    Mul,
    Div,
}

/// FRn op FRm (or DRn op DRm): `a` is the destination operand.
fn arith(kind: Arith, a_bits: u64, b_bits: u64, f: Fmt, env: Env) -> Res {
    let a = classify(a_bits, f, env.dn);
    let mut b = classify(b_bits, f, env.dn);
    if kind == Arith::Sub {
        b.neg = !b.neg;
        b.bits ^= f.sign();
    }
    if a.class == Class::SNaN || b.class == Class::SNaN {
        return Res::invalid(f);
    }
    if a.is_nan() || b.is_nan() {
        return Res::exact(f.qnan());
    }
    let denormal_traps = kind != Arith::Mul || f == Fmt::D;
    if denormal_traps && (a.class == Class::Denorm || b.class == Class::Denorm) {
        return Res::error();
    }
    match kind {
        Arith::Add | Arith::Sub => add(a, b, f, env),
        Arith::Mul => mul(a, b, f, env),
        Arith::Div => div(a, b, f, env),
    }
}

fn add(a: Fp, b: Fp, f: Fmt, env: Env) -> Res {
    use Class::*;
    match (a.class, b.class) {
        (Inf, Inf) if a.neg != b.neg => return Res::invalid(f),
        (Inf, _) => return Res::exact(f.inf(a.neg)),
        (_, Inf) => return Res::exact(f.inf(b.neg)),
        (Zero, Zero) => return Res::exact(f.zero(a.neg && b.neg)),
        (Zero, _) => return Res::exact(b.bits),
        (_, Zero) => return Res::exact(a.bits),
        _ => {}
    }
    let (sa, ea, ma) = a.unpack(f);
    let (sb, eb, mb) = b.unpack(f);
    // Trap conditions: overflow when magnitudes add and one exponent is the
    // largest; underflow when they subtract and both are small.
    let mut possible = I;
    if sa == sb && a.ef.max(b.ef) == f.emax() - 1 {
        possible |= O;
    }
    let small = if f == Fmt::S { 0x18 } else { 0x035 };
    if sa != sb && a.ef <= small && b.ef <= small {
        possible |= U;
    }
    match add_exact(sa, ea, ma, sb, eb, mb) {
        None => Res { bits: f.zero(false), cause: 0, possible },
        Some((neg, exp, sig, sticky)) => rounded(neg, exp, sig, sticky, f, env, possible),
    }
}

/// Move the most significant bit of `m` to bit 116.
fn norm116(e: i32, m: u128) -> (i32, u128) {
    let msb = 127 - m.leading_zeros() as i32;
    let s = 116 - msb;
    if s >= 0 {
        (e - s, m << s)
    } else {
        // Not reached for the significands used here (< 2^117).
        (e - s, m >> -s)
    }
}

/// Exact sum of two nonzero values (up to 116-bit significands), as
/// (sign, exponent, significand, sticky); None for an exact zero.
fn add_exact(sa: bool, ea: i32, ma: u128, sb: bool, eb: i32, mb: u128) -> Option<(bool, i32, u128, bool)> {
    let (ea, ma) = norm116(ea, ma);
    let (eb, mb) = norm116(eb, mb);
    // x: the operand with the larger exponent.
    let ((sx, ex, mut mx), (sy, ey, my)) =
        if ea >= eb { ((sa, ea, ma), (sb, eb, mb)) } else { ((sb, eb, mb), (sa, ea, ma)) };
    let d = ex - ey;
    let (exp, my_al, sticky) = if d <= 10 {
        mx <<= d;
        (ey, my, false)
    } else if d >= 128 {
        (ex, 0u128, true)
    } else {
        (ex, my >> d, my & ((1u128 << d) - 1) != 0)
    };
    if sx == sy {
        return Some((sx, exp, mx + my_al, sticky));
    }
    if mx > my_al {
        // A sticky remainder belongs to the subtrahend: borrow one unit and
        // keep the sticky as the remaining fraction.
        Some((sx, exp, mx - my_al - sticky as u128, sticky))
    } else if mx < my_al {
        // Only when d <= 10, so no sticky.
        Some((sy, exp, my_al - mx, false))
    } else {
        None
    }
}

fn mul(a: Fp, b: Fp, f: Fmt, env: Env) -> Res {
    use Class::*;
    let neg = a.neg != b.neg;
    match (a.class, b.class) {
        (Inf, Zero) | (Zero, Inf) => return Res::invalid(f),
        (Inf, _) | (_, Inf) => return Res::exact(f.inf(neg)),
        (Zero, _) | (_, Zero) => return Res::exact(f.zero(neg)),
        _ => {}
    }
    let (_, ea, ma) = a.unpack(f);
    let (_, eb, mb) = b.unpack(f);
    let mut possible = I;
    let sum = a.ef + b.ef - f.bias();
    if sum >= f.emax() - 1 {
        possible |= O;
    }
    let under = match f {
        Fmt::S if a.class == Norm && b.class == Norm => 0,
        Fmt::S => 0x18,
        Fmt::D => 0,
    };
    if sum <= under {
        possible |= U;
    }
    rounded(neg, ea + eb, ma * mb, false, f, env, possible)
}

fn div(a: Fp, b: Fp, f: Fmt, env: Env) -> Res {
    use Class::*;
    let neg = a.neg != b.neg;
    match (a.class, b.class) {
        (Inf, Inf) | (Zero, Zero) => return Res::invalid(f),
        (Inf, _) => return Res::exact(f.inf(neg)),
        (_, Inf) | (Zero, _) => return Res::exact(f.zero(neg)),
        (_, Zero) => return Res::div_zero(f, neg),
        _ => {}
    }
    let (_, ea, ma) = a.unpack(f);
    let (_, eb, mb) = b.unpack(f);
    let mut possible = I;
    let diff = a.ef - b.ef + f.bias();
    if diff >= f.emax() {
        possible |= O;
    }
    if diff <= 1 {
        possible |= U;
    }
    // At least 126 - 53 = 73 quotient bits.
    let k = 126 - (127 - ma.leading_zeros() as i32);
    let num = ma << k;
    let (q, r) = (num / mb, num % mb);
    rounded(neg, ea - k - eb, q, r != 0, f, env, possible)
}

/// floor(sqrt(m)) for m < 2^127.
fn isqrt(m: u128) -> u128 {
    if m < 2 {
        return m;
    }
    // Start above the root, then Newton's iteration decreases to it.
    let mut x = (m as f64).sqrt() as u128 + (1 << 20);
    loop {
        let y = (x + m / x) / 2;
        if y >= x {
            break;
        }
        x = y;
    }
    while x * x > m {
        x -= 1;
    }
    while (x + 1) * (x + 1) <= m {
        x += 1;
    }
    x
}

fn sqrt(a_bits: u64, f: Fmt, env: Env) -> Res {
    use Class::*;
    let a = classify(a_bits, f, env.dn);
    match a.class {
        SNaN => return Res::invalid(f),
        QNaN => return Res::exact(f.qnan()),
        Zero => return Res::exact(a.bits),
        Inf if !a.neg => return Res::exact(a.bits),
        _ if a.neg => return Res::invalid(f),
        Denorm => return Res::error(),
        _ => {}
    }
    let (_, mut e, mut m) = a.unpack(f);
    if e & 1 != 0 {
        m <<= 1;
        e -= 1;
    }
    let msb = 127 - m.leading_zeros() as i32;
    let sh = (124 - msb) & !1;
    m <<= sh;
    e -= sh;
    let root = isqrt(m);
    rounded(false, e / 2, root, root * root != m, f, env, I)
}

// ===================================================================
// Fused operations: FMAC, FIPR, FTRV
// ===================================================================

const ACC_WORDS: usize = 12;
/// Weight of bit 0 of the accumulator: below the smallest single product
/// (2^-149 × 2^-149), with room above for four of the largest (2^256).
const ACC_LSB: i32 = -320;

/// A two's complement fixed-point accumulator wide enough to hold sums of
/// single-precision products exactly.
struct Acc {
    w: [u64; ACC_WORDS],
}

impl Acc {
    fn new() -> Acc {
        Acc { w: [0; ACC_WORDS] }
    }

    /// Add (-1)^neg × sig × 2^exp (sig < 2^64).
    fn add(&mut self, neg: bool, exp: i32, sig: u128) {
        let off = (exp - ACC_LSB) as usize;
        let (wi, bi) = (off / 64, (off % 64) as u32);
        let (lo, hi) = (sig as u64, (sig >> 64) as u64);
        let t = if bi == 0 { [lo, hi, 0] } else { [lo << bi, (hi << bi) | (lo >> (64 - bi)), hi >> (64 - bi)] };
        let mut carry = false;
        for i in wi..ACC_WORDS {
            let x = if i - wi < 3 { t[i - wi] } else { 0 };
            if neg {
                let (r1, b1) = self.w[i].overflowing_sub(x);
                let (r2, b2) = r1.overflowing_sub(carry as u64);
                self.w[i] = r2;
                carry = b1 || b2;
            } else {
                let (r1, c1) = self.w[i].overflowing_add(x);
                let (r2, c2) = r1.overflowing_add(carry as u64);
                self.w[i] = r2;
                carry = c1 || c2;
            }
            if i - wi >= 2 && !carry {
                break;
            }
        }
    }

    /// The sum as (sign, exponent, significand, sticky), None when zero.
    fn result(&self) -> Option<(bool, i32, u128, bool)> {
        let neg = self.w[ACC_WORDS - 1] >> 63 != 0;
        let mut w = self.w;
        if neg {
            let mut carry = true;
            for x in w.iter_mut() {
                let (r, c) = (!*x).overflowing_add(carry as u64);
                *x = r;
                carry = c;
            }
        }
        let top = (0..ACC_WORDS).rev().find(|&i| w[i] != 0)?;
        let msb = top * 64 + 63 - w[top].leading_zeros() as usize;
        // Take the 120 bits ending at msb; the bits below are sticky.
        let start = msb.saturating_sub(119);
        let (wi, bi) = (start / 64, (start % 64) as u32);
        let word = |i: usize| if i < ACC_WORDS { w[i] } else { 0 };
        let part = |i: usize| if bi == 0 { word(i) } else { (word(i) >> bi) | (word(i + 1) << (64 - bi)) };
        let sig = ((part(wi + 1) as u128) << 64) | part(wi) as u128;
        let sticky = w[..wi].iter().any(|&x| x != 0) || (bi > 0 && w[wi] & ((1u64 << bi) - 1) != 0);
        Some((neg, ACC_LSB + start as i32, sig, sticky))
    }
}

/// Σ x·y over `terms` (+ `addend`), single precision, rounded once.
/// `possible` gives the O/U/I exceptions that trap when enabled on the
/// finite path.
fn fused(terms: &[(u32, u32)], addend: Option<u32>, env: Env, possible: u32) -> Res {
    let f = Fmt::S;
    let cl = |x: u32| classify(x as u64, f, env.dn);
    let zero = cl(0);
    let mut pairs = [(zero, zero); 4];
    for (p, &(x, y)) in pairs.iter_mut().zip(terms) {
        *p = (cl(x), cl(y));
    }
    let terms = &pairs[..terms.len()];
    let addend = addend.map(cl);
    let all = || terms.iter().flat_map(|&(x, y)| [x, y]).chain(addend);
    if all().any(|x| x.class == Class::SNaN) {
        return Res::invalid(f);
    }
    if all().any(|x| x.is_nan()) {
        return Res::exact(f.qnan());
    }
    let (mut pos_inf, mut neg_inf) = (false, false);
    for &(x, y) in terms {
        if x.class == Class::Inf || y.class == Class::Inf {
            if x.class == Class::Zero || y.class == Class::Zero {
                return Res::invalid(f);
            }
            if x.neg != y.neg {
                neg_inf = true;
            } else {
                pos_inf = true;
            }
        }
    }
    if let Some(c) = addend {
        if c.class == Class::Inf {
            if c.neg {
                neg_inf = true;
            } else {
                pos_inf = true;
            }
        }
    }
    match (pos_inf, neg_inf) {
        (true, true) => return Res::invalid(f),
        (true, false) => return Res::exact(f.inf(false)),
        (false, true) => return Res::exact(f.inf(true)),
        _ => {}
    }
    let mut acc = Acc::new();
    // The sign of an exact zero sum of zeros: negative only if all are.
    let mut all_zero_negative = true;
    let mut any_nonzero = false;
    for &(x, y) in terms {
        if x.finite_nonzero() && y.finite_nonzero() {
            let (sx, ex, mx) = x.unpack(f);
            let (sy, ey, my) = y.unpack(f);
            acc.add(sx != sy, ex + ey, mx * my);
            any_nonzero = true;
        } else {
            all_zero_negative &= x.neg != y.neg;
        }
    }
    if let Some(c) = addend {
        if c.finite_nonzero() {
            let (s, e, m) = c.unpack(f);
            acc.add(s, e, m);
            any_nonzero = true;
        } else {
            all_zero_negative &= c.neg;
        }
    }
    match acc.result() {
        Some((neg, exp, sig, sticky)) => rounded(neg, exp, sig, sticky, f, env, possible),
        None => Res { bits: f.zero(!any_nonzero && all_zero_negative), cause: 0, possible },
    }
}

// ===================================================================
// Conversions
// ===================================================================

/// FLOAT: a signed 32-bit integer to single (rounded) or double (exact).
fn int_to_fp(v: u32, f: Fmt, env: Env) -> Res {
    let v = v as i32;
    if v == 0 {
        return Res::exact(0);
    }
    rounded(v < 0, 0, v.unsigned_abs() as u128, false, f, env, 0)
}

/// FTRC: truncate to a signed 32-bit integer; NaN and out of range values
/// are invalid, giving 0x7FFFFFFF (positive) or 0x80000000 (negative, NaN).
fn fp_to_int(bits: u64, f: Fmt) -> Res {
    let x = classify(bits, f, false);
    let (nan, too_big, too_small) = match f {
        Fmt::S => {
            let b = bits as u32;
            (x.is_nan(), !x.neg && b > 0x4EFF_FFFF, x.neg && b > 0xCF00_0000)
        }
        Fmt::D => (x.is_nan(), !x.neg && bits >= 0x41E0_0000_0000_0000, x.neg && bits >= 0xC1E0_0000_0020_0000),
    };
    if nan || too_small {
        return Res { bits: 0x8000_0000, cause: V, possible: 0 };
    }
    if too_big {
        return Res { bits: 0x7FFF_FFFF, cause: V, possible: 0 };
    }
    if !x.finite_nonzero() {
        return Res::exact(0);
    }
    let (neg, e, m) = x.unpack(f);
    let mag = if e >= 0 {
        m << e
    } else if e <= -128 {
        0
    } else {
        m >> -e
    };
    let v = if neg { (mag as u32).wrapping_neg() } else { mag as u32 };
    Res::exact(v as u64)
}

/// FCNVSD: single (FPUL) to double, exact.
fn single_to_double(bits: u32, env: Env) -> Res {
    let x = classify(bits as u64, Fmt::S, env.dn);
    match x.class {
        Class::SNaN => Res::invalid(Fmt::D),
        Class::QNaN => Res::exact(Fmt::D.qnan()),
        Class::Zero => Res::exact(Fmt::D.zero(x.neg)),
        Class::Inf => Res::exact(Fmt::D.inf(x.neg)),
        Class::Denorm => Res::error(),
        Class::Norm => {
            let (neg, e, m) = x.unpack(Fmt::S);
            rounded(neg, e, m, false, Fmt::D, env, 0)
        }
    }
}

/// FCNVDS: double to single (FPUL), rounded.
fn double_to_single(bits: u64, env: Env) -> Res {
    let x = classify(bits, Fmt::D, env.dn);
    match x.class {
        Class::SNaN => Res::invalid(Fmt::S),
        Class::QNaN => Res::exact(Fmt::S.qnan()),
        Class::Zero => Res::exact(Fmt::S.zero(x.neg)),
        Class::Inf => Res::exact(Fmt::S.inf(x.neg)),
        Class::Denorm => Res::error(),
        Class::Norm => {
            let (neg, e, m) = x.unpack(Fmt::D);
            let (bits, cause) = round_pack(neg, e, m, false, Fmt::S, env);
            Res { bits, cause, possible: I | (cause & (O | U)) }
        }
    }
}

// ===================================================================
// Approximations: FSCA, FSRRA
// ===================================================================

/// sin and cos of x in [0, π/4] by their Taylor series in f64 (truncation
/// error < 1e-19, rounding error a few f64 ulps).
fn sin_cos_octant(x: f64) -> (f64, f64) {
    let x2 = x * x;
    let (mut s, mut c) = (0.0f64, 0.0f64);
    let (mut ts, mut tc) = (x, 1.0f64);
    let mut k = 1.0f64;
    let mut sin_terms = [0.0f64; 10];
    let mut cos_terms = [0.0f64; 10];
    for i in 0..10 {
        sin_terms[i] = ts;
        cos_terms[i] = tc;
        // ts = x^(2i+1)/(2i+1)!, tc = x^(2i)/(2i)!, alternating sign.
        ts = -ts * x2 / ((k + 1.0) * (k + 2.0));
        tc = -tc * x2 / (k * (k + 1.0));
        k += 2.0;
    }
    // Sum the smallest terms first.
    for i in (0..10).rev() {
        s += sin_terms[i];
        c += cos_terms[i];
    }
    (s, c)
}

/// FSCA: (sin, cos) of (FPUL & 0xFFFF) × 2π / 65536 as single patterns.
fn fsca_value(fpul: u32) -> (u32, u32) {
    let k = fpul & 0xFFFF;
    let quadrant = k >> 14;
    let r = k & 0x3FFF;
    let step = std::f64::consts::PI / 32768.0;
    let (s, c) = if r <= 0x2000 {
        sin_cos_octant(r as f64 * step)
    } else {
        let (s, c) = sin_cos_octant((0x4000 - r) as f64 * step);
        (c, s)
    };
    let (s, c) = match quadrant {
        0 => (s, c),
        1 => (c, -s),
        2 => (-s, -c),
        _ => (-c, s),
    };
    let single = |v: f64| if v == 0.0 { 0 } else { (v as f32).to_bits() };
    (single(s), single(c))
}

/// FSRRA: approximate 1/sqrt(FRn).
fn fsrra_value(bits: u32, env: Env) -> Res {
    let f = Fmt::S;
    let x = classify(bits as u64, f, env.dn);
    match x.class {
        Class::SNaN => Res::invalid(f),
        Class::QNaN => Res::exact(f.qnan()),
        Class::Zero => Res::div_zero(f, x.neg),
        Class::Inf if x.neg => Res::invalid(f),
        Class::Inf => Res::exact(0),
        _ if x.neg => Res::invalid(f),
        Class::Denorm => Res::error(),
        Class::Norm => {
            let v = f32::from_bits(bits) as f64;
            let r = (1.0 / v.sqrt()) as f32;
            Res { bits: r.to_bits() as u64, cause: I, possible: I }
        }
    }
}

// ===================================================================
// Handlers: arithmetic
// ===================================================================

fn binary(c: &mut Cpu, op: u16, kind: Arith) -> R {
    c.check_fpu()?;
    let (n, m) = (rn(op), rm(op));
    let env = Env::of(c);
    if pr(c) {
        if (n | m) & 1 != 0 {
            return Err(Exception::IllegalInstruction);
        }
        let r = arith(kind, get_d(c, n), get_d(c, m), Fmt::D, env);
        commit(c, r.cause, r.possible)?;
        set_d(c, n, r.bits);
    } else {
        let r = arith(kind, c.fr[n] as u64, c.fr[m] as u64, Fmt::S, env);
        commit(c, r.cause, r.possible)?;
        c.fr[n] = r.bits as u32;
    }
    c.next();
    Ok(())
}

fn fadd<B: Bus>(c: &mut Cpu, _: &mut B, op: u16) -> R {
    binary(c, op, Arith::Add)
}

fn fsub<B: Bus>(c: &mut Cpu, _: &mut B, op: u16) -> R {
    binary(c, op, Arith::Sub)
}

fn fmul<B: Bus>(c: &mut Cpu, _: &mut B, op: u16) -> R {
    binary(c, op, Arith::Mul)
}

fn fdiv<B: Bus>(c: &mut Cpu, _: &mut B, op: u16) -> R {
    binary(c, op, Arith::Div)
}

/// FCMP: Some(T) or None for an invalid comparison (an sNaN operand).
/// qNaN operands compare false without an exception.
fn compare(a_bits: u64, b_bits: u64, f: Fmt, dn: bool, gt: bool) -> Option<bool> {
    let a = classify(a_bits, f, dn);
    let b = classify(b_bits, f, dn);
    if a.class == Class::SNaN || b.class == Class::SNaN {
        return None;
    }
    if a.is_nan() || b.is_nan() {
        return Some(false);
    }
    let (x, y) = (a.value(f), b.value(f));
    Some(if gt { x > y } else { x == y })
}

/// FCMP/EQ FRm,FRn: T = (FRn == FRm); FCMP/GT FRm,FRn: T = (FRn > FRm).
fn fcmp(c: &mut Cpu, op: u16, gt: bool) -> R {
    c.check_fpu()?;
    let (n, m) = (rn(op), rm(op));
    let dn = Env::of(c).dn;
    let t = if pr(c) {
        if (n | m) & 1 != 0 {
            return Err(Exception::IllegalInstruction);
        }
        compare(get_d(c, n), get_d(c, m), Fmt::D, dn, gt)
    } else {
        compare(c.fr[n] as u64, c.fr[m] as u64, Fmt::S, dn, gt)
    };
    commit(c, if t.is_none() { V } else { 0 }, 0)?;
    c.set_t(t.unwrap_or(false));
    c.next();
    Ok(())
}

fn fcmp_eq<B: Bus>(c: &mut Cpu, _: &mut B, op: u16) -> R {
    fcmp(c, op, false)
}

fn fcmp_gt<B: Bus>(c: &mut Cpu, _: &mut B, op: u16) -> R {
    fcmp(c, op, true)
}

/// FMAC FR0,FRm,FRn: FR0 × FRm + FRn → FRn, rounded once (PR=0 only).
fn fmac<B: Bus>(c: &mut Cpu, _: &mut B, op: u16) -> R {
    c.check_fpu()?;
    if pr(c) {
        return Err(Exception::IllegalInstruction);
    }
    let (n, m) = (rn(op), rm(op));
    let env = Env::of(c);
    let (x, y, z) = (c.fr[0], c.fr[m], c.fr[n]);
    let ef = |v: u32| ((v >> 23) & 0xFF) as i32;
    let mut possible = I;
    let product = ef(x) + ef(y) - 0x7F;
    if product >= 0xFD || ef(z) >= 0xFD {
        possible |= O;
    }
    if product <= 0x2E || ef(z) <= 0x2E {
        possible |= U;
    }
    let r = fused(&[(x, y)], Some(z), env, possible);
    commit(c, r.cause, r.possible)?;
    c.fr[n] = r.bits as u32;
    c.next();
    Ok(())
}

/// FSQRT FRn / DRn.
fn fsqrt<B: Bus>(c: &mut Cpu, _: &mut B, op: u16) -> R {
    c.check_fpu()?;
    let n = rn(op);
    let env = Env::of(c);
    if pr(c) {
        if n & 1 != 0 {
            return Err(Exception::IllegalInstruction);
        }
        let r = sqrt(get_d(c, n), Fmt::D, env);
        commit(c, r.cause, r.possible)?;
        set_d(c, n, r.bits);
    } else {
        let r = sqrt(c.fr[n] as u64, Fmt::S, env);
        commit(c, r.cause, r.possible)?;
        c.fr[n] = r.bits as u32;
    }
    c.next();
    Ok(())
}

/// FSRRA FRn (PR=0 only).
fn fsrra<B: Bus>(c: &mut Cpu, _: &mut B, op: u16) -> R {
    c.check_fpu()?;
    if pr(c) {
        return Err(Exception::IllegalInstruction);
    }
    let n = rn(op);
    let r = fsrra_value(c.fr[n], Env::of(c));
    commit(c, r.cause, r.possible)?;
    c.fr[n] = r.bits as u32;
    c.next();
    Ok(())
}

/// FSCA FPUL,DRn (PR=0 only): sine to FRn, cosine to FRn+1.
fn fsca<B: Bus>(c: &mut Cpu, _: &mut B, op: u16) -> R {
    c.check_fpu()?;
    if pr(c) {
        return Err(Exception::IllegalInstruction);
    }
    let n = rn(op);
    let (s, co) = fsca_value(c.fpul);
    commit(c, I, I)?;
    c.fr[n] = s;
    c.fr[n + 1] = co;
    c.next();
    Ok(())
}

/// FIPR FVm,FVn (PR=0 only): FVm · FVn → FR[n+3].
fn fipr<B: Bus>(c: &mut Cpu, _: &mut B, op: u16) -> R {
    c.check_fpu()?;
    if pr(c) {
        return Err(Exception::IllegalInstruction);
    }
    let n = ((op as usize >> 10) & 3) * 4;
    let m = ((op as usize >> 8) & 3) * 4;
    let terms: [(u32, u32); 4] = std::array::from_fn(|i| (c.fr[m + i], c.fr[n + i]));
    let r = fused(&terms, None, Env::of(c), I | U | O);
    commit(c, r.cause, r.possible)?;
    c.fr[n + 3] = r.bits as u32;
    c.next();
    Ok(())
}

/// FTRV XMTRX,FVn (PR=0 only): XMTRX × FVn → FVn, where XMTRX is XF0-XF15
/// in column order (element (i, j) is XF[i + 4j]).
fn ftrv<B: Bus>(c: &mut Cpu, _: &mut B, op: u16) -> R {
    c.check_fpu()?;
    if pr(c) {
        return Err(Exception::IllegalInstruction);
    }
    let n = ((op as usize >> 10) & 3) * 4;
    let env = Env::of(c);
    let mut out = [0u32; 4];
    let (mut cause, mut possible) = (0, V | I | U | O);
    for (i, o) in out.iter_mut().enumerate() {
        let terms: [(u32, u32); 4] = std::array::from_fn(|j| (c.fr[16 + i + 4 * j], c.fr[n + j]));
        let r = fused(&terms, None, env, I | U | O);
        cause |= r.cause;
        possible |= r.possible;
        *o = r.bits as u32;
    }
    commit(c, cause, possible)?;
    c.fr[n..n + 4].copy_from_slice(&out);
    c.next();
    Ok(())
}

// ===================================================================
// Handlers: conversions and FPUL
// ===================================================================

/// FLOAT FPUL,FRn / FPUL,DRn.
fn float<B: Bus>(c: &mut Cpu, _: &mut B, op: u16) -> R {
    c.check_fpu()?;
    let n = rn(op);
    let env = Env::of(c);
    if pr(c) {
        if n & 1 != 0 {
            return Err(Exception::IllegalInstruction);
        }
        let r = int_to_fp(c.fpul, Fmt::D, env);
        commit(c, r.cause, r.possible)?;
        set_d(c, n, r.bits);
    } else {
        let r = int_to_fp(c.fpul, Fmt::S, env);
        commit(c, r.cause, r.possible)?;
        c.fr[n] = r.bits as u32;
    }
    c.next();
    Ok(())
}

/// FTRC FRm,FPUL / DRm,FPUL.
fn ftrc<B: Bus>(c: &mut Cpu, _: &mut B, op: u16) -> R {
    c.check_fpu()?;
    let m = rn(op);
    let r = if pr(c) {
        if m & 1 != 0 {
            return Err(Exception::IllegalInstruction);
        }
        fp_to_int(get_d(c, m), Fmt::D)
    } else {
        fp_to_int(c.fr[m] as u64, Fmt::S)
    };
    commit(c, r.cause, r.possible)?;
    c.fpul = r.bits as u32;
    c.next();
    Ok(())
}

/// FCNVSD FPUL,DRn (PR=1 only).
fn fcnvsd<B: Bus>(c: &mut Cpu, _: &mut B, op: u16) -> R {
    c.check_fpu()?;
    let n = rn(op);
    if !pr(c) || n & 1 != 0 {
        return Err(Exception::IllegalInstruction);
    }
    let r = single_to_double(c.fpul, Env::of(c));
    commit(c, r.cause, r.possible)?;
    set_d(c, n, r.bits);
    c.next();
    Ok(())
}

/// FCNVDS DRm,FPUL (PR=1 only).
fn fcnvds<B: Bus>(c: &mut Cpu, _: &mut B, op: u16) -> R {
    c.check_fpu()?;
    let m = rn(op);
    if !pr(c) || m & 1 != 0 {
        return Err(Exception::IllegalInstruction);
    }
    let r = double_to_single(get_d(c, m), Env::of(c));
    commit(c, r.cause, r.possible)?;
    c.fpul = r.bits as u32;
    c.next();
    Ok(())
}

fn fsts<B: Bus>(c: &mut Cpu, _: &mut B, op: u16) -> R {
    c.check_fpu()?;
    c.fr[rn(op)] = c.fpul;
    c.next();
    Ok(())
}

fn flds<B: Bus>(c: &mut Cpu, _: &mut B, op: u16) -> R {
    c.check_fpu()?;
    c.fpul = c.fr[rn(op)];
    c.next();
    Ok(())
}

// ===================================================================
// Handlers: sign, constants, mode bits
// ===================================================================

/// FNEG/FABS change only the sign bit, which for DRn is in FRn; with PR=1
/// an odd register is not a DRn.
fn sign_op(c: &mut Cpu, op: u16, f: fn(u32) -> u32) -> R {
    c.check_fpu()?;
    let n = rn(op);
    if pr(c) && n & 1 != 0 {
        return Err(Exception::IllegalInstruction);
    }
    c.fr[n] = f(c.fr[n]);
    c.next();
    Ok(())
}

fn fneg<B: Bus>(c: &mut Cpu, _: &mut B, op: u16) -> R {
    sign_op(c, op, |v| v ^ 0x8000_0000)
}

fn fabs<B: Bus>(c: &mut Cpu, _: &mut B, op: u16) -> R {
    sign_op(c, op, |v| v & 0x7FFF_FFFF)
}

fn load_const(c: &mut Cpu, op: u16, v: u32) -> R {
    c.check_fpu()?;
    if pr(c) {
        return Err(Exception::IllegalInstruction);
    }
    c.fr[rn(op)] = v;
    c.next();
    Ok(())
}

fn fldi0<B: Bus>(c: &mut Cpu, _: &mut B, op: u16) -> R {
    load_const(c, op, 0)
}

fn fldi1<B: Bus>(c: &mut Cpu, _: &mut B, op: u16) -> R {
    load_const(c, op, 0x3F80_0000)
}

/// Flip an FPSCR mode bit (FRCHG swaps the banks through `set_fpscr`).
fn toggle(c: &mut Cpu, bit: u32, pr0_only: bool) -> R {
    c.check_fpu()?;
    if pr0_only && pr(c) {
        return Err(Exception::IllegalInstruction);
    }
    c.set_fpscr(c.fpscr() ^ bit);
    c.next();
    Ok(())
}

fn frchg<B: Bus>(c: &mut Cpu, _: &mut B, _: u16) -> R {
    toggle(c, fpscr::FR, true)
}

fn fschg<B: Bus>(c: &mut Cpu, _: &mut B, _: u16) -> R {
    toggle(c, fpscr::SZ, true)
}

fn fpchg<B: Bus>(c: &mut Cpu, _: &mut B, _: u16) -> R {
    toggle(c, fpscr::PR, false)
}

// ===================================================================
// Handlers: FMOV
// ===================================================================

fn fmov_reg<B: Bus>(c: &mut Cpu, _: &mut B, op: u16) -> R {
    c.check_fpu()?;
    let (n, m) = (rn(op), rm(op));
    if sz(c) {
        let (d, s) = (pair(n), pair(m));
        let (hi, lo) = (c.fr[s], c.fr[s + 1]);
        c.fr[d] = hi;
        c.fr[d + 1] = lo;
    } else {
        c.fr[n] = c.fr[m];
    }
    c.next();
    Ok(())
}

/// Bytes an FMOV memory access moves.
#[inline(always)]
fn fmov_size(c: &Cpu) -> u32 {
    if sz(c) {
        8
    } else {
        4
    }
}

/// Load FRn (SZ=0) or DRn/XDn (SZ=1) from `addr`.
fn load_fr<B: Bus>(c: &mut Cpu, bus: &mut B, addr: u32, n: usize) -> R {
    if sz(c) {
        if addr & 7 != 0 {
            return Err(Exception::AddressErrorRead(addr));
        }
        let lo = c.read32(bus, addr)?;
        let hi = c.read32(bus, addr.wrapping_add(4))?;
        let d = pair(n);
        c.fr[d] = hi;
        c.fr[d + 1] = lo;
    } else {
        c.fr[n] = c.read32(bus, addr)?;
    }
    Ok(())
}

/// Store FRm (SZ=0) or DRm/XDm (SZ=1) to `addr`.
fn store_fr<B: Bus>(c: &mut Cpu, bus: &mut B, addr: u32, m: usize) -> R {
    if sz(c) {
        if addr & 7 != 0 {
            return Err(Exception::AddressErrorWrite(addr));
        }
        let s = pair(m);
        let (hi, lo) = (c.fr[s], c.fr[s + 1]);
        c.write32(bus, addr, lo)?;
        c.write32(bus, addr.wrapping_add(4), hi)
    } else {
        c.write32(bus, addr, c.fr[m])
    }
}

fn fmov_load<B: Bus>(c: &mut Cpu, bus: &mut B, op: u16) -> R {
    c.check_fpu()?;
    load_fr(c, bus, c.r[rm(op)], rn(op))?;
    c.next();
    Ok(())
}

fn fmov_load_r0<B: Bus>(c: &mut Cpu, bus: &mut B, op: u16) -> R {
    c.check_fpu()?;
    let addr = c.r[rm(op)].wrapping_add(c.r[0]);
    load_fr(c, bus, addr, rn(op))?;
    c.next();
    Ok(())
}

fn fmov_load_postinc<B: Bus>(c: &mut Cpu, bus: &mut B, op: u16) -> R {
    c.check_fpu()?;
    let m = rm(op);
    load_fr(c, bus, c.r[m], rn(op))?;
    c.r[m] = c.r[m].wrapping_add(fmov_size(c));
    c.next();
    Ok(())
}

fn fmov_store<B: Bus>(c: &mut Cpu, bus: &mut B, op: u16) -> R {
    c.check_fpu()?;
    store_fr(c, bus, c.r[rn(op)], rm(op))?;
    c.next();
    Ok(())
}

fn fmov_store_r0<B: Bus>(c: &mut Cpu, bus: &mut B, op: u16) -> R {
    c.check_fpu()?;
    let addr = c.r[rn(op)].wrapping_add(c.r[0]);
    store_fr(c, bus, addr, rm(op))?;
    c.next();
    Ok(())
}

fn fmov_store_predec<B: Bus>(c: &mut Cpu, bus: &mut B, op: u16) -> R {
    c.check_fpu()?;
    let n = rn(op);
    let addr = c.r[n].wrapping_sub(fmov_size(c));
    store_fr(c, bus, addr, rm(op))?;
    c.r[n] = addr;
    c.next();
    Ok(())
}

// ===================================================================
// Handlers: FPSCR and FPUL moves
// ===================================================================

fn lds_fpscr<B: Bus>(c: &mut Cpu, _: &mut B, op: u16) -> R {
    c.check_fpu()?;
    c.set_fpscr(c.r[rn(op)]);
    c.next();
    Ok(())
}

fn ldsl_fpscr<B: Bus>(c: &mut Cpu, bus: &mut B, op: u16) -> R {
    c.check_fpu()?;
    let m = rn(op);
    let v = c.read32(bus, c.r[m])?;
    c.r[m] = c.r[m].wrapping_add(4);
    c.set_fpscr(v);
    c.next();
    Ok(())
}

fn lds_fpul<B: Bus>(c: &mut Cpu, _: &mut B, op: u16) -> R {
    c.check_fpu()?;
    c.fpul = c.r[rn(op)];
    c.next();
    Ok(())
}

fn ldsl_fpul<B: Bus>(c: &mut Cpu, bus: &mut B, op: u16) -> R {
    c.check_fpu()?;
    let m = rn(op);
    let v = c.read32(bus, c.r[m])?;
    c.r[m] = c.r[m].wrapping_add(4);
    c.fpul = v;
    c.next();
    Ok(())
}

fn sts_fpscr<B: Bus>(c: &mut Cpu, _: &mut B, op: u16) -> R {
    c.check_fpu()?;
    c.r[rn(op)] = c.fpscr();
    c.next();
    Ok(())
}

fn sts_fpul<B: Bus>(c: &mut Cpu, _: &mut B, op: u16) -> R {
    c.check_fpu()?;
    c.r[rn(op)] = c.fpul;
    c.next();
    Ok(())
}

fn stsl_fpscr<B: Bus>(c: &mut Cpu, bus: &mut B, op: u16) -> R {
    c.check_fpu()?;
    let n = rn(op);
    let addr = c.r[n].wrapping_sub(4);
    c.write32(bus, addr, c.fpscr())?;
    c.r[n] = addr;
    c.next();
    Ok(())
}

fn stsl_fpul<B: Bus>(c: &mut Cpu, bus: &mut B, op: u16) -> R {
    c.check_fpu()?;
    let n = rn(op);
    let addr = c.r[n].wrapping_sub(4);
    c.write32(bus, addr, c.fpul)?;
    c.r[n] = addr;
    c.next();
    Ok(())
}
