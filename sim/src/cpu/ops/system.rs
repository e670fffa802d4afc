//! System and privileged instructions: control/system register moves
//! (LDC/STC/LDS/STS and their memory forms, banked registers), T/S/MAC
//! control, RTE, SLEEP, TRAPA, LDTLB, and the cache/prefetch/barrier
//! instructions.
//!
//! Control registers other than GBR are privileged: in user mode they raise
//! a general illegal instruction (a slot illegal one in a delay slot).

use crate::cpu::decode::{branch_enc, enc, imm8, rm, rn, Encoding};
use crate::cpu::{p4, Bus, Cpu, Exception};

type R = Result<(), Exception>;

/// The control and system registers LDC/STC/LDS/STS name.
#[derive(Clone, Copy)]
enum Reg {
    Sr,
    Gbr,
    Vbr,
    Ssr,
    Spc,
    Sgr,
    Dbr,
    Mach,
    Macl,
    Pr,
}

impl Reg {
    fn privileged(self) -> bool {
        !matches!(self, Reg::Gbr | Reg::Mach | Reg::Macl | Reg::Pr)
    }

    fn get(self, c: &Cpu) -> u32 {
        match self {
            Reg::Sr => c.sr(),
            Reg::Gbr => c.gbr,
            Reg::Vbr => c.vbr,
            Reg::Ssr => c.ssr,
            Reg::Spc => c.spc,
            Reg::Sgr => c.sgr,
            Reg::Dbr => c.dbr,
            Reg::Mach => c.mach,
            Reg::Macl => c.macl,
            Reg::Pr => c.pr,
        }
    }

    fn set(self, c: &mut Cpu, v: u32) {
        match self {
            Reg::Sr => c.set_sr(v),
            Reg::Gbr => c.gbr = v,
            Reg::Vbr => c.vbr = v,
            Reg::Ssr => c.ssr = v,
            Reg::Spc => c.spc = v,
            Reg::Sgr => c.sgr = v,
            Reg::Dbr => c.dbr = v,
            Reg::Mach => c.mach = v,
            Reg::Macl => c.macl = v,
            Reg::Pr => c.pr = v,
        }
    }
}

/// The four moves of one register: to it from Rm, from it to Rn, and the
/// post-increment load and pre-decrement store.
macro_rules! moves {
    ($reg:expr, $ld:ident, $ldl:ident, $st:ident, $stl:ident) => {
        pub(crate) fn $ld<B: Bus>(c: &mut Cpu, _: &mut B, op: u16) -> R {
            ld(c, $reg, c.r[rn(op)])
        }
        pub(crate) fn $ldl<B: Bus>(c: &mut Cpu, bus: &mut B, op: u16) -> R {
            ld_postinc(c, bus, $reg, rn(op))
        }
        pub(crate) fn $st<B: Bus>(c: &mut Cpu, _: &mut B, op: u16) -> R {
            st(c, $reg, rn(op))
        }
        pub(crate) fn $stl<B: Bus>(c: &mut Cpu, bus: &mut B, op: u16) -> R {
            st_predec(c, bus, $reg, rn(op))
        }
    };
}

moves!(Reg::Sr, ldc_sr, ldcl_sr, stc_sr, stcl_sr);
moves!(Reg::Gbr, ldc_gbr, ldcl_gbr, stc_gbr, stcl_gbr);
moves!(Reg::Vbr, ldc_vbr, ldcl_vbr, stc_vbr, stcl_vbr);
moves!(Reg::Ssr, ldc_ssr, ldcl_ssr, stc_ssr, stcl_ssr);
moves!(Reg::Spc, ldc_spc, ldcl_spc, stc_spc, stcl_spc);
moves!(Reg::Sgr, ldc_sgr, ldcl_sgr, stc_sgr, stcl_sgr);
moves!(Reg::Dbr, ldc_dbr, ldcl_dbr, stc_dbr, stcl_dbr);
moves!(Reg::Mach, lds_mach, ldsl_mach, sts_mach, stsl_mach);
moves!(Reg::Macl, lds_macl, ldsl_macl, sts_macl, stsl_macl);
moves!(Reg::Pr, lds_pr, ldsl_pr, sts_pr, stsl_pr);

pub fn encodings<B: Bus>() -> Vec<Encoding<B>> {
    vec![
        enc("0000000000101000", "CLRMAC", clrmac::<B>),
        enc("0000000001001000", "CLRS", clrs::<B>),
        enc("0000000000001000", "CLRT", clrt::<B>),
        enc("0000000001011000", "SETS", sets::<B>),
        enc("0000000000011000", "SETT", sett::<B>),
        enc("0000000000001001", "NOP", nop::<B>),
        enc("0100mmmm00001110", "LDC Rm,SR", ldc_sr::<B>),
        enc("0100mmmm00011110", "LDC Rm,GBR", ldc_gbr::<B>),
        enc("0100mmmm00101110", "LDC Rm,VBR", ldc_vbr::<B>),
        enc("0100mmmm00111110", "LDC Rm,SSR", ldc_ssr::<B>),
        enc("0100mmmm01001110", "LDC Rm,SPC", ldc_spc::<B>),
        enc("0100mmmm00111010", "LDC Rm,SGR", ldc_sgr::<B>),
        enc("0100mmmm11111010", "LDC Rm,DBR", ldc_dbr::<B>),
        enc("0100mmmm1nnn1110", "LDC Rm,Rn_BANK", ldc_bank::<B>),
        enc("0100mmmm00000111", "LDC.L @Rm+,SR", ldcl_sr::<B>),
        enc("0100mmmm00010111", "LDC.L @Rm+,GBR", ldcl_gbr::<B>),
        enc("0100mmmm00100111", "LDC.L @Rm+,VBR", ldcl_vbr::<B>),
        enc("0100mmmm00110111", "LDC.L @Rm+,SSR", ldcl_ssr::<B>),
        enc("0100mmmm01000111", "LDC.L @Rm+,SPC", ldcl_spc::<B>),
        enc("0100mmmm00110110", "LDC.L @Rm+,SGR", ldcl_sgr::<B>),
        enc("0100mmmm11110110", "LDC.L @Rm+,DBR", ldcl_dbr::<B>),
        enc("0100mmmm1nnn0111", "LDC.L @Rm+,Rn_BANK", ldcl_bank::<B>),
        enc("0000nnnn00000010", "STC SR,Rn", stc_sr::<B>),
        enc("0000nnnn00010010", "STC GBR,Rn", stc_gbr::<B>),
        enc("0000nnnn00100010", "STC VBR,Rn", stc_vbr::<B>),
        enc("0000nnnn00110010", "STC SSR,Rn", stc_ssr::<B>),
        enc("0000nnnn01000010", "STC SPC,Rn", stc_spc::<B>),
        enc("0000nnnn00111010", "STC SGR,Rn", stc_sgr::<B>),
        enc("0000nnnn11111010", "STC DBR,Rn", stc_dbr::<B>),
        enc("0000nnnn1mmm0010", "STC Rm_BANK,Rn", stc_bank::<B>),
        enc("0100nnnn00000011", "STC.L SR,@-Rn", stcl_sr::<B>),
        enc("0100nnnn00010011", "STC.L GBR,@-Rn", stcl_gbr::<B>),
        enc("0100nnnn00100011", "STC.L VBR,@-Rn", stcl_vbr::<B>),
        enc("0100nnnn00110011", "STC.L SSR,@-Rn", stcl_ssr::<B>),
        enc("0100nnnn01000011", "STC.L SPC,@-Rn", stcl_spc::<B>),
        enc("0100nnnn00110010", "STC.L SGR,@-Rn", stcl_sgr::<B>),
        enc("0100nnnn11110010", "STC.L DBR,@-Rn", stcl_dbr::<B>),
        enc("0100nnnn1mmm0011", "STC.L Rm_BANK,@-Rn", stcl_bank::<B>),
        enc("0100mmmm00001010", "LDS Rm,MACH", lds_mach::<B>),
        enc("0100mmmm00011010", "LDS Rm,MACL", lds_macl::<B>),
        enc("0100mmmm00101010", "LDS Rm,PR", lds_pr::<B>),
        enc("0100mmmm00000110", "LDS.L @Rm+,MACH", ldsl_mach::<B>),
        enc("0100mmmm00010110", "LDS.L @Rm+,MACL", ldsl_macl::<B>),
        enc("0100mmmm00100110", "LDS.L @Rm+,PR", ldsl_pr::<B>),
        enc("0000nnnn00001010", "STS MACH,Rn", sts_mach::<B>),
        enc("0000nnnn00011010", "STS MACL,Rn", sts_macl::<B>),
        enc("0000nnnn00101010", "STS PR,Rn", sts_pr::<B>),
        enc("0100nnnn00000010", "STS.L MACH,@-Rn", stsl_mach::<B>),
        enc("0100nnnn00010010", "STS.L MACL,@-Rn", stsl_macl::<B>),
        enc("0100nnnn00100010", "STS.L PR,@-Rn", stsl_pr::<B>),
        enc("0000000000111000", "LDTLB", ldtlb::<B>),
        enc("0000nnnn10010011", "OCBI @Rn", ocbi::<B>),
        enc("0000nnnn10100011", "OCBP @Rn", ocbp_ocbwb::<B>),
        enc("0000nnnn10110011", "OCBWB @Rn", ocbp_ocbwb::<B>),
        enc("0000nnnn10000011", "PREF @Rn", pref::<B>),
        enc("0000nnnn11010011", "PREFI @Rn", prefi_icbi::<B>),
        enc("0000nnnn11100011", "ICBI @Rn", prefi_icbi::<B>),
        enc("0000000010101011", "SYNCO", nop::<B>),
        branch_enc("0000000000101011", "RTE", rte::<B>),
        enc("0000000000011011", "SLEEP", sleep::<B>),
        branch_enc("11000011iiiiiiii", "TRAPA #imm", trapa::<B>),
    ]
}

fn ld(c: &mut Cpu, reg: Reg, v: u32) -> R {
    if reg.privileged() {
        c.check_privileged()?;
    }
    reg.set(c, v);
    c.next();
    Ok(())
}

fn ld_postinc<B: Bus>(c: &mut Cpu, bus: &mut B, reg: Reg, m: usize) -> R {
    if reg.privileged() {
        c.check_privileged()?;
    }
    let v = c.read32(bus, c.r[m])?;
    c.r[m] = c.r[m].wrapping_add(4);
    reg.set(c, v);
    c.next();
    Ok(())
}

fn st(c: &mut Cpu, reg: Reg, n: usize) -> R {
    if reg.privileged() {
        c.check_privileged()?;
    }
    c.r[n] = reg.get(c);
    c.next();
    Ok(())
}

fn st_predec<B: Bus>(c: &mut Cpu, bus: &mut B, reg: Reg, n: usize) -> R {
    if reg.privileged() {
        c.check_privileged()?;
    }
    let addr = c.r[n].wrapping_sub(4);
    c.write32(bus, addr, reg.get(c))?;
    c.r[n] = addr;
    c.next();
    Ok(())
}

/// The bank register number in bits 6:4 of LDC/STC Rn_BANK.
fn bank_index(op: u16) -> usize {
    rm(op) & 7
}

pub(crate) fn ldc_bank<B: Bus>(c: &mut Cpu, _: &mut B, op: u16) -> R {
    c.check_privileged()?;
    c.r_bank[bank_index(op)] = c.r[rn(op)];
    c.next();
    Ok(())
}

pub(crate) fn ldcl_bank<B: Bus>(c: &mut Cpu, bus: &mut B, op: u16) -> R {
    c.check_privileged()?;
    let m = rn(op);
    let v = c.read32(bus, c.r[m])?;
    c.r[m] = c.r[m].wrapping_add(4);
    c.r_bank[bank_index(op)] = v;
    c.next();
    Ok(())
}

pub(crate) fn stc_bank<B: Bus>(c: &mut Cpu, _: &mut B, op: u16) -> R {
    c.check_privileged()?;
    c.r[rn(op)] = c.r_bank[bank_index(op)];
    c.next();
    Ok(())
}

pub(crate) fn stcl_bank<B: Bus>(c: &mut Cpu, bus: &mut B, op: u16) -> R {
    c.check_privileged()?;
    let n = rn(op);
    let addr = c.r[n].wrapping_sub(4);
    c.write32(bus, addr, c.r_bank[bank_index(op)])?;
    c.r[n] = addr;
    c.next();
    Ok(())
}

pub(crate) fn clrmac<B: Bus>(c: &mut Cpu, _: &mut B, _: u16) -> R {
    c.mach = 0;
    c.macl = 0;
    c.next();
    Ok(())
}

pub(crate) fn clrs<B: Bus>(c: &mut Cpu, _: &mut B, _: u16) -> R {
    c.set_sr_bit(crate::cpu::sr::S, false);
    c.next();
    Ok(())
}

pub(crate) fn sets<B: Bus>(c: &mut Cpu, _: &mut B, _: u16) -> R {
    c.set_sr_bit(crate::cpu::sr::S, true);
    c.next();
    Ok(())
}

pub(crate) fn clrt<B: Bus>(c: &mut Cpu, _: &mut B, _: u16) -> R {
    c.set_t(false);
    c.next();
    Ok(())
}

pub(crate) fn sett<B: Bus>(c: &mut Cpu, _: &mut B, _: u16) -> R {
    c.set_t(true);
    c.next();
    Ok(())
}

pub(crate) fn nop<B: Bus>(c: &mut Cpu, _: &mut B, _: u16) -> R {
    c.next();
    Ok(())
}

pub(crate) fn ldtlb<B: Bus>(c: &mut Cpu, _: &mut B, _: u16) -> R {
    c.check_privileged()?;
    c.mmu.ldtlb();
    // The UTLB changed: drop the cached data translations (and the fetch
    // one, which only the ITLB feeds, to keep the rule simple).
    c.invalidate_windows();
    c.next();
    Ok(())
}

/// OCBI invalidates an operand-cache line: translated (and checked) as a
/// write, though with no cache model nothing else happens.
pub(crate) fn ocbi<B: Bus>(c: &mut Cpu, _: &mut B, op: u16) -> R {
    c.probe(c.r[rn(op)], true)?;
    c.next();
    Ok(())
}

/// OCBP/OCBWB write back a line: translated as a read; memory is already
/// up to date.
pub(crate) fn ocbp_ocbwb<B: Bus>(c: &mut Cpu, _: &mut B, op: u16) -> R {
    c.probe(c.r[rn(op)], false)?;
    c.next();
    Ok(())
}

/// PREF to the store-queue area flushes that queue; elsewhere a hint.
pub(crate) fn pref<B: Bus>(c: &mut Cpu, bus: &mut B, op: u16) -> R {
    let addr = c.r[rn(op)];
    if (0xE000_0000..0xE400_0000).contains(&addr) {
        if !c.privileged() && c.mmu.sq_privileged_only() {
            return Err(Exception::AddressErrorRead(addr));
        }
        p4::flush_store_queue(c, bus, addr)?;
    }
    c.next();
    Ok(())
}

/// PREFI and ICBI act on the instruction cache, which is not modelled.
pub(crate) fn prefi_icbi<B: Bus>(c: &mut Cpu, _: &mut B, _: u16) -> R {
    c.next();
    Ok(())
}

/// RTE: SR from SSR at once (the slot runs in the restored mode), PC from
/// SPC after the slot. The slot itself was fetched with RTE's privilege.
fn rte<B: Bus>(c: &mut Cpu, _: &mut B, _: u16) -> R {
    c.check_privileged()?;
    let target = c.spc;
    c.delayed_branch(target);
    c.set_sr(c.ssr);
    c.rte_slot_fetch = true;
    Ok(())
}

/// SLEEP: stop until an interrupt; it returns to the next instruction.
pub(crate) fn sleep<B: Bus>(c: &mut Cpu, _: &mut B, _: u16) -> R {
    c.check_privileged()?;
    c.next();
    c.sleeping = true;
    c.stats.sleeps += 1;
    c.request_yield();
    Ok(())
}

pub(crate) fn trapa<B: Bus>(_: &mut Cpu, _: &mut B, op: u16) -> R {
    Err(Exception::Trap(imm8(op) as u8))
}
