//! Data transfer: MOV in every addressing mode, MOVA, MOVT, SWAP, XTRCT,
//! and the SH-4A additions MOVCA.L, MOVLI.L/MOVCO.L (load-linked /
//! store-conditional) and MOVUA.L (unaligned load).
//!
//! Loads sign-extend bytes and words. A post-increment or pre-decrement
//! updates the register only after the access succeeded, so an exception
//! leaves the instruction restartable.

use crate::cpu::decode::{disp4, enc, imm8, rm, rn, simm8, Encoding};
use crate::cpu::{Bus, Cpu, Exception};
use crate::devices::Size;

type R = Result<(), Exception>;

pub fn encodings<B: Bus>() -> Vec<Encoding<B>> {
    vec![
        enc("1110nnnniiiiiiii", "MOV #imm,Rn", mov_imm::<B>),
        enc("1001nnnndddddddd", "MOV.W @(disp,PC),Rn", mov_w_pc::<B>),
        enc("1101nnnndddddddd", "MOV.L @(disp,PC),Rn", mov_l_pc::<B>),
        enc("0110nnnnmmmm0011", "MOV Rm,Rn", mov::<B>),
        enc("0010nnnnmmmm0000", "MOV.B Rm,@Rn", store_ind::<B, 1>),
        enc("0010nnnnmmmm0001", "MOV.W Rm,@Rn", store_ind::<B, 2>),
        enc("0010nnnnmmmm0010", "MOV.L Rm,@Rn", store_ind::<B, 4>),
        enc("0110nnnnmmmm0000", "MOV.B @Rm,Rn", load_ind::<B, 1>),
        enc("0110nnnnmmmm0001", "MOV.W @Rm,Rn", load_ind::<B, 2>),
        enc("0110nnnnmmmm0010", "MOV.L @Rm,Rn", load_ind::<B, 4>),
        enc("0010nnnnmmmm0100", "MOV.B Rm,@-Rn", store_predec::<B, 1>),
        enc("0010nnnnmmmm0101", "MOV.W Rm,@-Rn", store_predec::<B, 2>),
        enc("0010nnnnmmmm0110", "MOV.L Rm,@-Rn", store_predec::<B, 4>),
        enc("0110nnnnmmmm0100", "MOV.B @Rm+,Rn", load_postinc::<B, 1>),
        enc("0110nnnnmmmm0101", "MOV.W @Rm+,Rn", load_postinc::<B, 2>),
        enc("0110nnnnmmmm0110", "MOV.L @Rm+,Rn", load_postinc::<B, 4>),
        enc("10000000nnnndddd", "MOV.B R0,@(disp,Rn)", store_disp_r0::<B, 1>),
        enc("10000001nnnndddd", "MOV.W R0,@(disp,Rn)", store_disp_r0::<B, 2>),
        enc("0001nnnnmmmmdddd", "MOV.L Rm,@(disp,Rn)", store_disp_l::<B>),
        enc("10000100mmmmdddd", "MOV.B @(disp,Rm),R0", load_disp_r0::<B, 1>),
        enc("10000101mmmmdddd", "MOV.W @(disp,Rm),R0", load_disp_r0::<B, 2>),
        enc("0101nnnnmmmmdddd", "MOV.L @(disp,Rm),Rn", load_disp_l::<B>),
        enc("0000nnnnmmmm0100", "MOV.B Rm,@(R0,Rn)", store_r0::<B, 1>),
        enc("0000nnnnmmmm0101", "MOV.W Rm,@(R0,Rn)", store_r0::<B, 2>),
        enc("0000nnnnmmmm0110", "MOV.L Rm,@(R0,Rn)", store_r0::<B, 4>),
        enc("0000nnnnmmmm1100", "MOV.B @(R0,Rm),Rn", load_r0::<B, 1>),
        enc("0000nnnnmmmm1101", "MOV.W @(R0,Rm),Rn", load_r0::<B, 2>),
        enc("0000nnnnmmmm1110", "MOV.L @(R0,Rm),Rn", load_r0::<B, 4>),
        enc("11000000dddddddd", "MOV.B R0,@(disp,GBR)", store_gbr::<B, 1>),
        enc("11000001dddddddd", "MOV.W R0,@(disp,GBR)", store_gbr::<B, 2>),
        enc("11000010dddddddd", "MOV.L R0,@(disp,GBR)", store_gbr::<B, 4>),
        enc("11000100dddddddd", "MOV.B @(disp,GBR),R0", load_gbr::<B, 1>),
        enc("11000101dddddddd", "MOV.W @(disp,GBR),R0", load_gbr::<B, 2>),
        enc("11000110dddddddd", "MOV.L @(disp,GBR),R0", load_gbr::<B, 4>),
        enc("11000111dddddddd", "MOVA @(disp,PC),R0", mova::<B>),
        enc("0000nnnn00101001", "MOVT Rn", movt::<B>),
        enc("0110nnnnmmmm1000", "SWAP.B Rm,Rn", swap_b::<B>),
        enc("0110nnnnmmmm1001", "SWAP.W Rm,Rn", swap_w::<B>),
        enc("0010nnnnmmmm1101", "XTRCT Rm,Rn", xtrct::<B>),
        enc("0000nnnn11000011", "MOVCA.L R0,@Rn", movca::<B>),
        enc("0000mmmm01100011", "MOVLI.L @Rm,R0", movli::<B>),
        enc("0000nnnn01110011", "MOVCO.L R0,@Rn", movco::<B>),
        enc("0100mmmm10101001", "MOVUA.L @Rm,R0", movua::<B>),
        enc("0100mmmm11101001", "MOVUA.L @Rm+,R0", movua_postinc::<B>),
    ]
}

const fn size_of(bytes: u32) -> Size {
    match bytes {
        1 => Size::Byte,
        2 => Size::Word,
        _ => Size::Long,
    }
}

/// Sign-extend a loaded byte or word.
#[inline(always)]
fn sext(v: u32, bytes: u32) -> u32 {
    match bytes {
        1 => v as u8 as i8 as i32 as u32,
        2 => v as u16 as i16 as i32 as u32,
        _ => v,
    }
}

#[inline(always)]
fn load<B: Bus, const N: u32>(c: &mut Cpu, bus: &mut B, addr: u32) -> Result<u32, Exception> {
    c.read(bus, addr, size_of(N)).map(|v| sext(v, N))
}

#[inline(always)]
fn store<B: Bus, const N: u32>(c: &mut Cpu, bus: &mut B, addr: u32, v: u32) -> R {
    c.write(bus, addr, size_of(N), v)
}

pub(crate) fn mov_imm<B: Bus>(c: &mut Cpu, _: &mut B, op: u16) -> R {
    c.r[rn(op)] = simm8(op);
    c.next();
    Ok(())
}

pub(crate) fn mov_w_pc<B: Bus>(c: &mut Cpu, bus: &mut B, op: u16) -> R {
    let addr = c.pc.wrapping_add(4).wrapping_add(imm8(op) << 1);
    c.r[rn(op)] = load::<B, 2>(c, bus, addr)?;
    c.next();
    Ok(())
}

pub(crate) fn mov_l_pc<B: Bus>(c: &mut Cpu, bus: &mut B, op: u16) -> R {
    let addr = (c.pc & !3).wrapping_add(4).wrapping_add(imm8(op) << 2);
    c.r[rn(op)] = load::<B, 4>(c, bus, addr)?;
    c.next();
    Ok(())
}

pub(crate) fn mov<B: Bus>(c: &mut Cpu, _: &mut B, op: u16) -> R {
    c.r[rn(op)] = c.r[rm(op)];
    c.next();
    Ok(())
}

pub(crate) fn store_ind<B: Bus, const N: u32>(c: &mut Cpu, bus: &mut B, op: u16) -> R {
    store::<B, N>(c, bus, c.r[rn(op)], c.r[rm(op)])?;
    c.next();
    Ok(())
}

pub(crate) fn load_ind<B: Bus, const N: u32>(c: &mut Cpu, bus: &mut B, op: u16) -> R {
    c.r[rn(op)] = load::<B, N>(c, bus, c.r[rm(op)])?;
    c.next();
    Ok(())
}

/// Stores Rm as it was before the decrement, also when m == n.
pub(crate) fn store_predec<B: Bus, const N: u32>(c: &mut Cpu, bus: &mut B, op: u16) -> R {
    let n = rn(op);
    let addr = c.r[n].wrapping_sub(N);
    store::<B, N>(c, bus, addr, c.r[rm(op)])?;
    c.r[n] = addr;
    c.next();
    Ok(())
}

/// When m == n the loaded value wins over the increment.
pub(crate) fn load_postinc<B: Bus, const N: u32>(c: &mut Cpu, bus: &mut B, op: u16) -> R {
    let (n, m) = (rn(op), rm(op));
    let v = load::<B, N>(c, bus, c.r[m])?;
    c.r[m] = c.r[m].wrapping_add(N);
    c.r[n] = v;
    c.next();
    Ok(())
}

pub(crate) fn store_disp_r0<B: Bus, const N: u32>(c: &mut Cpu, bus: &mut B, op: u16) -> R {
    let addr = c.r[rm(op)].wrapping_add(disp4(op) * N);
    store::<B, N>(c, bus, addr, c.r[0])?;
    c.next();
    Ok(())
}

pub(crate) fn store_disp_l<B: Bus>(c: &mut Cpu, bus: &mut B, op: u16) -> R {
    let addr = c.r[rn(op)].wrapping_add(disp4(op) * 4);
    store::<B, 4>(c, bus, addr, c.r[rm(op)])?;
    c.next();
    Ok(())
}

pub(crate) fn load_disp_r0<B: Bus, const N: u32>(c: &mut Cpu, bus: &mut B, op: u16) -> R {
    let addr = c.r[rm(op)].wrapping_add(disp4(op) * N);
    c.r[0] = load::<B, N>(c, bus, addr)?;
    c.next();
    Ok(())
}

pub(crate) fn load_disp_l<B: Bus>(c: &mut Cpu, bus: &mut B, op: u16) -> R {
    let addr = c.r[rm(op)].wrapping_add(disp4(op) * 4);
    c.r[rn(op)] = load::<B, 4>(c, bus, addr)?;
    c.next();
    Ok(())
}

pub(crate) fn store_r0<B: Bus, const N: u32>(c: &mut Cpu, bus: &mut B, op: u16) -> R {
    let addr = c.r[rn(op)].wrapping_add(c.r[0]);
    store::<B, N>(c, bus, addr, c.r[rm(op)])?;
    c.next();
    Ok(())
}

pub(crate) fn load_r0<B: Bus, const N: u32>(c: &mut Cpu, bus: &mut B, op: u16) -> R {
    let addr = c.r[rm(op)].wrapping_add(c.r[0]);
    c.r[rn(op)] = load::<B, N>(c, bus, addr)?;
    c.next();
    Ok(())
}

pub(crate) fn store_gbr<B: Bus, const N: u32>(c: &mut Cpu, bus: &mut B, op: u16) -> R {
    let addr = c.gbr.wrapping_add(imm8(op) * N);
    store::<B, N>(c, bus, addr, c.r[0])?;
    c.next();
    Ok(())
}

pub(crate) fn load_gbr<B: Bus, const N: u32>(c: &mut Cpu, bus: &mut B, op: u16) -> R {
    let addr = c.gbr.wrapping_add(imm8(op) * N);
    c.r[0] = load::<B, N>(c, bus, addr)?;
    c.next();
    Ok(())
}

pub(crate) fn mova<B: Bus>(c: &mut Cpu, _: &mut B, op: u16) -> R {
    c.r[0] = (c.pc & !3).wrapping_add(4).wrapping_add(imm8(op) << 2);
    c.next();
    Ok(())
}

pub(crate) fn movt<B: Bus>(c: &mut Cpu, _: &mut B, op: u16) -> R {
    c.r[rn(op)] = c.t() as u32;
    c.next();
    Ok(())
}

pub(crate) fn swap_b<B: Bus>(c: &mut Cpu, _: &mut B, op: u16) -> R {
    let v = c.r[rm(op)];
    c.r[rn(op)] = (v & 0xFFFF_0000) | ((v & 0xFF) << 8) | ((v >> 8) & 0xFF);
    c.next();
    Ok(())
}

pub(crate) fn swap_w<B: Bus>(c: &mut Cpu, _: &mut B, op: u16) -> R {
    c.r[rn(op)] = c.r[rm(op)].rotate_left(16);
    c.next();
    Ok(())
}

pub(crate) fn xtrct<B: Bus>(c: &mut Cpu, _: &mut B, op: u16) -> R {
    c.r[rn(op)] = (c.r[rm(op)] << 16) | (c.r[rn(op)] >> 16);
    c.next();
    Ok(())
}

/// MOVCA.L allocates a cache line without reading memory; with no cache
/// model it is a plain store.
pub(crate) fn movca<B: Bus>(c: &mut Cpu, bus: &mut B, op: u16) -> R {
    store::<B, 4>(c, bus, c.r[rn(op)], c.r[0])?;
    c.next();
    Ok(())
}

/// Load-linked: R0 = @Rm and set this core's reservation (LDST).
pub(crate) fn movli<B: Bus>(c: &mut Cpu, bus: &mut B, op: u16) -> R {
    let addr = c.r[rn(op)];
    let v = load::<B, 4>(c, bus, addr)?;
    if let Some(pa) = c.debug_translate(addr) {
        bus.reserve(c.id, pa);
    }
    c.r[0] = v;
    c.next();
    Ok(())
}

/// Store-conditional: store R0 only if the reservation still stands
/// (no exception or interrupt, no store by another core to the line since
/// MOVLI.L); T reports success. The reservation is gone afterwards.
pub(crate) fn movco<B: Bus>(c: &mut Cpu, bus: &mut B, op: u16) -> R {
    let addr = c.r[rn(op)];
    if bus.take_reservation(c.id) {
        store::<B, 4>(c, bus, addr, c.r[0])?;
        c.set_t(true);
    } else {
        c.set_t(false);
    }
    c.next();
    Ok(())
}

pub(crate) fn movua<B: Bus>(c: &mut Cpu, bus: &mut B, op: u16) -> R {
    c.r[0] = c.read32_unaligned(bus, c.r[rn(op)])?;
    c.next();
    Ok(())
}

pub(crate) fn movua_postinc<B: Bus>(c: &mut Cpu, bus: &mut B, op: u16) -> R {
    let m = rn(op);
    let v = c.read32_unaligned(bus, c.r[m])?;
    c.r[m] = c.r[m].wrapping_add(4);
    c.r[0] = v;
    c.next();
    Ok(())
}
