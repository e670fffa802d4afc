//! Branches: conditional (with and without delay slot), PC-relative and
//! register-indirect, subroutine call and return. Every delayed branch
//! computes its target before its slot executes; all are illegal in a
//! delay slot themselves.

use crate::cpu::decode::{branch_enc, rn, sdisp12, simm8, Encoding};
use crate::cpu::{Bus, Cpu, Exception};

type R = Result<(), Exception>;

pub fn encodings<B: Bus>() -> Vec<Encoding<B>> {
    vec![
        branch_enc("10001011dddddddd", "BF label", bf::<B>),
        branch_enc("10001111dddddddd", "BF/S label", bf_s::<B>),
        branch_enc("10001001dddddddd", "BT label", bt::<B>),
        branch_enc("10001101dddddddd", "BT/S label", bt_s::<B>),
        branch_enc("1010dddddddddddd", "BRA label", bra::<B>),
        branch_enc("0000nnnn00100011", "BRAF Rn", braf::<B>),
        branch_enc("1011dddddddddddd", "BSR label", bsr::<B>),
        branch_enc("0000nnnn00000011", "BSRF Rn", bsrf::<B>),
        branch_enc("0100nnnn00101011", "JMP @Rn", jmp::<B>),
        branch_enc("0100nnnn00001011", "JSR @Rn", jsr::<B>),
        branch_enc("0000000000001011", "RTS", rts::<B>),
    ]
}

#[inline(always)]
fn target8(c: &Cpu, op: u16) -> u32 {
    c.pc.wrapping_add(4).wrapping_add(simm8(op) << 1)
}

#[inline(always)]
fn target12(c: &Cpu, op: u16) -> u32 {
    c.pc.wrapping_add(4).wrapping_add(sdisp12(op) << 1)
}

pub(crate) fn bf<B: Bus>(c: &mut Cpu, _: &mut B, op: u16) -> R {
    if c.t() {
        c.next();
    } else {
        c.pc = target8(c, op);
    }
    Ok(())
}

pub(crate) fn bt<B: Bus>(c: &mut Cpu, _: &mut B, op: u16) -> R {
    if c.t() {
        c.pc = target8(c, op);
    } else {
        c.next();
    }
    Ok(())
}

pub(crate) fn bf_s<B: Bus>(c: &mut Cpu, _: &mut B, op: u16) -> R {
    if c.t() {
        c.next();
    } else {
        c.delayed_branch(target8(c, op));
    }
    Ok(())
}

pub(crate) fn bt_s<B: Bus>(c: &mut Cpu, _: &mut B, op: u16) -> R {
    if c.t() {
        c.delayed_branch(target8(c, op));
    } else {
        c.next();
    }
    Ok(())
}

pub(crate) fn bra<B: Bus>(c: &mut Cpu, _: &mut B, op: u16) -> R {
    c.delayed_branch(target12(c, op));
    Ok(())
}

pub(crate) fn bsr<B: Bus>(c: &mut Cpu, _: &mut B, op: u16) -> R {
    c.pr = c.pc.wrapping_add(4);
    c.delayed_branch(target12(c, op));
    Ok(())
}

pub(crate) fn braf<B: Bus>(c: &mut Cpu, _: &mut B, op: u16) -> R {
    c.delayed_branch(c.pc.wrapping_add(4).wrapping_add(c.r[rn(op)]));
    Ok(())
}

pub(crate) fn bsrf<B: Bus>(c: &mut Cpu, _: &mut B, op: u16) -> R {
    let target = c.pc.wrapping_add(4).wrapping_add(c.r[rn(op)]);
    c.pr = c.pc.wrapping_add(4);
    c.delayed_branch(target);
    Ok(())
}

pub(crate) fn jmp<B: Bus>(c: &mut Cpu, _: &mut B, op: u16) -> R {
    c.delayed_branch(c.r[rn(op)]);
    Ok(())
}

pub(crate) fn jsr<B: Bus>(c: &mut Cpu, _: &mut B, op: u16) -> R {
    let target = c.r[rn(op)];
    c.pr = c.pc.wrapping_add(4);
    c.delayed_branch(target);
    Ok(())
}

pub(crate) fn rts<B: Bus>(c: &mut Cpu, _: &mut B, _: u16) -> R {
    c.delayed_branch(c.pr);
    Ok(())
}
