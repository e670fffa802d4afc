//! The CPU-internal part of the P4 area (0xE0000000-0xFFFFFFFF) that each
//! core implements itself: the store queues, the memory-mapped cache and
//! TLB arrays, and the CCN/CPU control registers (PTEH ... IRMCR, CPIDR,
//! CPUOPM). Everything else in P4 is an on-chip peripheral and goes to the
//! bus with its P4 address.
//!
//! Caches are not modelled (memory is always coherent), so the cache
//! arrays read as invalid lines and ignore writes, and CCR's invalidate
//! bits read back as 0 — which is what software that flushes or
//! invalidates expects to observe afterwards.

use super::{Bus, Cpu, Exception};
use crate::devices::Size;

/// Processor version: SH-X3 (Linux's probe reads 0x4001 in bits 23:8, the
/// SH-4A family 0x10 in bits 31:24).
pub const PVR: u32 = 0x1040_0100;
/// Cache version: FPU present (bit 29), no DSP (bit 28 set), 32 KiB caches.
pub const CVR: u32 = 0x3000_0000 | (0x9 << 20) | (0x9 << 16);
pub const PRR: u32 = 0x0000_0000;

/// Register state of the CCN/CPU block that is not MMU state.
#[derive(Clone, Debug, Default)]
pub struct P4Regs {
    pub ccr: u32,
    pub qacr: [u32; 2],
    pub pascr: u32,
    pub ramcr: u32,
    pub irmcr: u32,
    pub cpuopm: u32,
    pub basra: u32,
    pub basrb: u32,
    /// Store queues SQ0 and SQ1, 8 longwords each.
    pub sq: [[u32; 8]; 2],
}

impl P4Regs {
    pub fn new() -> P4Regs {
        let mut p = P4Regs::default();
        p.reset();
        p
    }

    pub fn reset(&mut self) {
        *self = P4Regs { cpuopm: 0x0000_00F0, ..P4Regs::default() };
    }
}

fn bad<T>(vaddr: u32, write: bool) -> Result<T, Exception> {
    Err(if write { Exception::AddressErrorWrite(vaddr) } else { Exception::AddressErrorRead(vaddr) })
}

/// Read a P4 address.
pub fn read<B: Bus>(cpu: &mut Cpu, bus: &mut B, vaddr: u32, size: Size) -> Result<u32, Exception> {
    match vaddr >> 24 {
        0xE0..=0xE3 => {
            let sq = &cpu.p4.sq[((vaddr >> 5) & 1) as usize];
            Ok(sq[((vaddr >> 2) & 7) as usize])
        }
        0xF0 | 0xF1 | 0xF4 | 0xF5 => Ok(0),
        0xF2 | 0xF3 | 0xF6 | 0xF7 => Ok(cpu.mmu.array_read(vaddr)),
        0xFF if vaddr & 0x00FF_FF00 == 0 => ccn_read(cpu, vaddr).map(|v| narrow(v, vaddr, size)),
        _ if vaddr == 0xFF2F_0000 => Ok(cpu.p4.cpuopm),
        _ => bus
            .read(cpu.id, &mut cpu.cycles, vaddr, size)
            .or_else(|_| bad(vaddr, false)),
    }
}

/// Write a P4 address.
pub fn write<B: Bus>(cpu: &mut Cpu, bus: &mut B, vaddr: u32, size: Size, value: u32) -> Result<(), Exception> {
    match vaddr >> 24 {
        0xE0..=0xE3 => {
            let sq = &mut cpu.p4.sq[((vaddr >> 5) & 1) as usize];
            sq[((vaddr >> 2) & 7) as usize] = value;
            Ok(())
        }
        0xF0 | 0xF1 | 0xF4 | 0xF5 => Ok(()),
        0xF2 | 0xF3 | 0xF6 | 0xF7 => {
            let privileged = cpu.privileged();
            cpu.mmu.array_write(vaddr, value, privileged);
            Ok(())
        }
        0xFF if vaddr & 0x00FF_FF00 == 0 => ccn_write(cpu, vaddr, value),
        _ if vaddr == 0xFF2F_0000 => {
            cpu.p4.cpuopm = value;
            Ok(())
        }
        _ => {
            // A peripheral write may raise an interrupt or start a core.
            cpu.yield_now = true;
            bus.write(cpu.id, &mut cpu.cycles, vaddr, size, value)
                .or_else(|_| bad(vaddr, true))
        }
    }
}

/// Byte and word reads of a longword register return the addressed part.
fn narrow(v: u32, vaddr: u32, size: Size) -> u32 {
    match size {
        Size::Long => v,
        Size::Word => (v >> ((vaddr & 2) * 8)) & 0xFFFF,
        Size::Byte => (v >> ((vaddr & 3) * 8)) & 0xFF,
    }
}

fn ccn_read(cpu: &Cpu, vaddr: u32) -> Result<u32, Exception> {
    Ok(match vaddr & 0xFC {
        0x00 => cpu.mmu.pteh,
        0x04 => cpu.mmu.ptel,
        0x08 => cpu.mmu.ttb,
        0x0C => cpu.mmu.tea,
        0x10 => cpu.mmu.mmucr(),
        0x14 => cpu.p4.basra,
        0x18 => cpu.p4.basrb,
        0x1C => cpu.p4.ccr,
        0x20 => cpu.tra,
        0x24 => cpu.expevt,
        0x28 => cpu.intevt,
        0x30 => PVR,
        0x34 => cpu.mmu.ptea,
        0x38 => cpu.p4.qacr[0],
        0x3C => cpu.p4.qacr[1],
        0x40 => CVR,
        0x44 => PRR,
        0x48 => cpu.id as u32,
        0x70 => cpu.p4.pascr,
        0x74 => cpu.p4.ramcr,
        0x78 => cpu.p4.irmcr,
        _ => return bad(vaddr, false),
    })
}

fn ccn_write(cpu: &mut Cpu, vaddr: u32, value: u32) -> Result<(), Exception> {
    match vaddr & 0xFC {
        0x00 => cpu.mmu.pteh = value & 0xFFFF_FCFF,
        0x04 => cpu.mmu.ptel = value & 0x1FFF_FDFF,
        0x08 => cpu.mmu.ttb = value,
        0x0C => cpu.mmu.tea = value,
        0x10 => cpu.mmu.set_mmucr(value),
        0x14 => cpu.p4.basra = value & 0xFF,
        0x18 => cpu.p4.basrb = value & 0xFF,
        // ICI (bit 11) and OCI (bit 3) invalidate and read back as 0.
        0x1C => cpu.p4.ccr = value & !((1 << 11) | (1 << 3)),
        0x20 => cpu.tra = value & 0x3FC,
        0x24 => cpu.expevt = value & 0xFFF,
        0x28 => cpu.intevt = value & 0x3FFF,
        0x34 => cpu.mmu.ptea = value & 0xF,
        0x38 => cpu.p4.qacr[0] = value & 0x1C,
        0x3C => cpu.p4.qacr[1] = value & 0x1C,
        0x70 => cpu.p4.pascr = value,
        0x74 => cpu.p4.ramcr = value,
        0x78 => cpu.p4.irmcr = value,
        // PVR, CVR, PRR and CPIDR are read-only: writes are ignored.
        0x30 | 0x40 | 0x44 | 0x48 => {}
        _ => return bad(vaddr, true),
    }
    Ok(())
}

/// PREF to a store-queue address: write the 32-byte queue to memory at the
/// external address QACR gives (MMU off) or the TLB maps (MMU on).
pub fn flush_store_queue<B: Bus>(cpu: &mut Cpu, bus: &mut B, vaddr: u32) -> Result<(), Exception> {
    let n = ((vaddr >> 5) & 1) as usize;
    let target = if cpu.mmu.translation_on() {
        let privileged = cpu.privileged();
        cpu.mmu.translate_data(vaddr & 0x03FF_FFE0, true, privileged)?
    } else {
        ((cpu.p4.qacr[n] & 0x1C) << 24) | (vaddr & 0x03FF_FFE0)
    };
    let data = cpu.p4.sq[n];
    for (i, word) in data.iter().enumerate() {
        bus.write(cpu.id, &mut cpu.cycles, target + 4 * i as u32, Size::Long, *word)
            .map_err(|_| Exception::AddressErrorWrite(vaddr))?;
    }
    Ok(())
}
