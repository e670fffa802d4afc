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
/// CPUOPM, the CPU operation mode register.
pub const CPUOPM: u32 = 0xFF2F_0000;
/// EXPMASK, the exception mask register, and its bits (RTEDS, BRDSSLP,
/// MMCAW), all set after reset.
pub const EXPMASK: u32 = 0xFF2F_0004;
pub const EXPMASK_RESET: u32 = 0x13;
/// The user break controller (UBC), one per core: channel n's CBR/CRR/
/// CAR/CAMR at +0x20 n (channel 1 also has CDR1/CDMR1/CETR1), CCMFR at
/// +0x600, CBCR at +0x620; longword access only (Linux's
/// `kernel/cpu/sh4a/ubc.c`, `include/cpu-sh4/cpu/ubc.h` before 2.6.33).
pub const UBC_BASE: u32 = 0xFF20_0000;
/// CBRn after reset: MFI = 0b100000.
pub const UBC_CBR_RESET: u32 = 0x2000_0000;
/// CRRn after reset: bit 13 is reserved and always reads 1.
pub const UBC_CRR_RESET: u32 = 0x0000_2000;

/// Register state of the CCN/CPU block that is not MMU state.
#[derive(Clone, Debug, Default)]
pub struct P4Regs {
    pub ccr: u32,
    pub qacr: [u32; 2],
    pub pascr: u32,
    pub ramcr: u32,
    pub irmcr: u32,
    pub cpuopm: u32,
    /// EXPMASK (0xFF2F0004): which SH-4A relaxations are enabled (RTE
    /// delay slot, SLEEP in a delay slot, associative cache-array writes).
    /// Stored and read back; the relaxations themselves are not policed.
    pub expmask: u32,
    pub basra: u32,
    pub basrb: u32,
    /// Store queues SQ0 and SQ1, 8 longwords each.
    pub sq: [[u32; 8]; 2],
    pub ubc: Ubc,
}

/// UBC registers. They are stored and read back so that software can
/// program and probe the UBC; no break condition is ever evaluated, so
/// no user break exception is raised and CCMFR only changes when written.
#[derive(Clone, Debug, Default)]
pub struct Ubc {
    pub cbr: [u32; 2],
    pub crr: [u32; 2],
    pub car: [u32; 2],
    pub camr: [u32; 2],
    pub cdr1: u32,
    pub cdmr1: u32,
    pub cetr1: u32,
    pub ccmfr: u32,
    pub cbcr: u32,
}

impl Ubc {
    fn reset() -> Ubc {
        Ubc { cbr: [UBC_CBR_RESET; 2], crr: [UBC_CRR_RESET; 2], ..Ubc::default() }
    }

    /// The register at `offset` from UBC_BASE, if there is one.
    fn reg(&mut self, offset: u32) -> Option<&mut u32> {
        Some(match offset {
            0x000 => &mut self.cbr[0],
            0x004 => &mut self.crr[0],
            0x008 => &mut self.car[0],
            0x00C => &mut self.camr[0],
            0x020 => &mut self.cbr[1],
            0x024 => &mut self.crr[1],
            0x028 => &mut self.car[1],
            0x02C => &mut self.camr[1],
            0x030 => &mut self.cdr1,
            0x034 => &mut self.cdmr1,
            0x038 => &mut self.cetr1,
            0x600 => &mut self.ccmfr,
            0x620 => &mut self.cbcr,
            _ => return None,
        })
    }

    /// Writable bits of the register at `offset` and the bits that always
    /// read 1.
    fn write_mask(offset: u32) -> (u32, u32) {
        match offset {
            // CRRn: PCB (bit 1), BIE (bit 0); bit 13 reads 1.
            0x004 | 0x024 => (0x3, UBC_CRR_RESET),
            // CCMFR: MF1, MF0. CBCR: UBDE.
            0x600 => (0x3, 0),
            0x620 => (0x1, 0),
            _ => (0xFFFF_FFFF, 0),
        }
    }
}

impl P4Regs {
    pub fn new() -> P4Regs {
        let mut p = P4Regs::default();
        p.reset();
        p
    }

    pub fn reset(&mut self) {
        *self = P4Regs {
            cpuopm: 0x0000_00F0,
            expmask: EXPMASK_RESET,
            ubc: Ubc::reset(),
            ..P4Regs::default()
        };
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
        _ if vaddr == CPUOPM => Ok(cpu.p4.cpuopm),
        _ if vaddr == EXPMASK => Ok(cpu.p4.expmask),
        _ if vaddr & 0xFFFF_F000 == UBC_BASE => ubc_read(cpu, vaddr, size),
        _ => bus
            .read(cpu.id, &mut cpu.cycles, vaddr, size)
            .or_else(|_| bad(vaddr, false)),
    }
}

/// Whether a write to P4 `vaddr` may change how addresses translate:
/// the TLB arrays, or the CCN's registers (PTEH's ASID, MMUCR, PASCR).
/// The rest of P4 is the store queues, the caches' arrays (writes
/// ignored), the UBC's and CPUOPM's registers, and on the bus the core's
/// OL memory and the peripherals: none reaches the MMU.
pub fn changes_translation(vaddr: u32) -> bool {
    match vaddr >> 24 {
        0xF2 | 0xF3 | 0xF6 | 0xF7 => true,
        0xFF => vaddr & 0x00FF_FF00 == 0,
        _ => false,
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
        _ if vaddr == CPUOPM => {
            cpu.p4.cpuopm = value;
            Ok(())
        }
        _ if vaddr == EXPMASK => {
            cpu.p4.expmask = value & EXPMASK_RESET;
            Ok(())
        }
        _ if vaddr & 0xFFFF_F000 == UBC_BASE => ubc_write(cpu, vaddr, size, value),
        _ => {
            // A peripheral write may raise an interrupt or start a core:
            // the machine looks at both before the next instruction (a
            // yield). A store to the core's own OL memory does neither,
            // and with SR.BL set the look could take no interrupt: the run
            // is the same without it, and the hypervisor's C stack (in OL
            // memory, stored to with SR.BL set) no longer sends the core
            // back to the machine at every push.
            let in_p4_ram =
                bus.p4_ram(cpu.id).is_some_and(|r| vaddr.wrapping_sub(r.phys) as usize + size.bytes() as usize <= r.len);
            if cpu.sr & super::sr::BL == 0 || !in_p4_ram || !bus.p4_ram_stores_are_quiet() {
                cpu.request_yield();
            }
            bus.write(cpu.id, &mut cpu.cycles, vaddr, size, value)
                .or_else(|_| bad(vaddr, true))
        }
    }
}

fn ubc_read(cpu: &mut Cpu, vaddr: u32, size: Size) -> Result<u32, Exception> {
    match cpu.p4.ubc.reg(vaddr - UBC_BASE) {
        Some(r) if size == Size::Long => Ok(*r),
        _ => bad(vaddr, false),
    }
}

fn ubc_write(cpu: &mut Cpu, vaddr: u32, size: Size, value: u32) -> Result<(), Exception> {
    let offset = vaddr - UBC_BASE;
    let (mask, ones) = Ubc::write_mask(offset);
    match cpu.p4.ubc.reg(offset) {
        Some(r) if size == Size::Long => {
            *r = (value & mask) | ones;
            Ok(())
        }
        _ => bad(vaddr, true),
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

/// The offset in the `Cpu` of the field that `ccn_read` answers with as
/// it is for a 4-byte read of `vaddr`, if it does (the translating tier
/// reads it directly where it knows the address, `jit::translate`).
pub(crate) fn ccn_field_offset(vaddr: u32) -> Option<usize> {
    if vaddr & 0xFFFF_FF03 != 0xFF00_0000 {
        return None;
    }
    let mmu = std::mem::offset_of!(Cpu, mmu);
    Some(match vaddr & 0xFC {
        0x00 => mmu + std::mem::offset_of!(super::mmu::Mmu, pteh),
        0x04 => mmu + std::mem::offset_of!(super::mmu::Mmu, ptel),
        0x08 => mmu + std::mem::offset_of!(super::mmu::Mmu, ttb),
        0x0C => mmu + std::mem::offset_of!(super::mmu::Mmu, tea),
        0x20 => std::mem::offset_of!(Cpu, tra),
        0x24 => std::mem::offset_of!(Cpu, expevt),
        0x28 => std::mem::offset_of!(Cpu, intevt),
        0x34 => mmu + std::mem::offset_of!(super::mmu::Mmu, ptea),
        _ => return None,
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
        // EPR (13:8) and ESZ (7:4) for TLB extended mode, TC/SA (3:0).
        0x34 => cpu.mmu.ptea = value & 0x3FFF,
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
        let r = bus.write(cpu.id, &mut cpu.cycles, target + 4 * i as u32, Size::Long, *word);
        // Like every CPU store: the burst may have reached decoded code,
        // or a device (which may have raised an interrupt line).
        cpu.note_code_writes(bus);
        if bus.take_device_write() {
            cpu.request_yield();
        }
        r.map_err(|_| Exception::AddressErrorWrite(vaddr))?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cpu::BusError;

    /// Every CCN address `ccn_field_offset` names a field for reads that
    /// field as `ccn_read` answers it (each field set to a value of its
    /// own first); every other address in and around the CCN's names
    /// none, or one `ccn_read` also answers with that field.
    #[test]
    fn ccn_field_offsets_are_the_fields_ccn_read_answers_with() {
        let mut cpu = Cpu::new(0);
        (cpu.mmu.pteh, cpu.mmu.ptel, cpu.mmu.ttb, cpu.mmu.tea, cpu.mmu.ptea) = (0x100, 0x200, 0x300, 0x400, 0x500);
        (cpu.tra, cpu.expevt, cpu.intevt) = (0x600, 0x700, 0x800);
        let mut named = 0;
        for vaddr in (0xFEFF_FF00u32..=0xFF00_0200).step_by(2) {
            let Some(at) = ccn_field_offset(vaddr) else { continue };
            named += 1;
            // SAFETY: `at` is the offset of a `u32` field of `Cpu`.
            let field = unsafe { (&cpu as *const Cpu as *const u8).add(at).cast::<u32>().read_unaligned() };
            assert_eq!(ccn_read(&cpu, vaddr), Ok(field), "{vaddr:#x}");
        }
        assert_eq!(named, 8);
    }

    /// A bus with nothing on it: every access that reaches it fails, so a
    /// test sees exactly what the core answers itself.
    struct NoBus;

    impl Bus for NoBus {
        fn read(&mut self, _: usize, _: &mut u64, _: u32, _: Size) -> Result<u32, BusError> {
            Err(BusError)
        }
        fn write(&mut self, _: usize, _: &mut u64, _: u32, _: Size, _: u32) -> Result<(), BusError> {
            Err(BusError)
        }
        fn fetch(&mut self, _: usize, _: u32) -> Result<u16, BusError> {
            Err(BusError)
        }
        fn reserve(&mut self, _: usize, _: u32) {}
        fn take_reservation(&mut self, _: usize) -> bool {
            false
        }
        fn clear_reservation(&mut self, _: usize) {}
    }

    fn rd(cpu: &mut Cpu, vaddr: u32) -> Result<u32, Exception> {
        read(cpu, &mut NoBus, vaddr, Size::Long)
    }

    fn wr(cpu: &mut Cpu, vaddr: u32, value: u32) -> Result<(), Exception> {
        write(cpu, &mut NoBus, vaddr, Size::Long, value)
    }

    #[test]
    fn ubc_registers_reset_values() {
        let mut cpu = Cpu::new(0);
        assert_eq!(rd(&mut cpu, 0xFF20_0000), Ok(0x2000_0000)); // CBR0
        assert_eq!(rd(&mut cpu, 0xFF20_0004), Ok(0x0000_2000)); // CRR0
        assert_eq!(rd(&mut cpu, 0xFF20_0020), Ok(0x2000_0000)); // CBR1
        assert_eq!(rd(&mut cpu, 0xFF20_0024), Ok(0x0000_2000)); // CRR1
        assert_eq!(rd(&mut cpu, 0xFF20_0600), Ok(0)); // CCMFR
        assert_eq!(rd(&mut cpu, 0xFF20_0620), Ok(0)); // CBCR
    }

    /// What Linux's sh4a_ubc_init() and the hw_breakpoint hooks do
    /// (arch/sh/kernel/cpu/sh4a/ubc.c).
    #[test]
    fn ubc_linux_init_sequence() {
        let mut cpu = Cpu::new(1);
        assert_eq!(wr(&mut cpu, 0xFF20_0620, 0), Ok(())); // CBCR
        for ch in 0..2u32 {
            let base = 0xFF20_0000 + 0x20 * ch;
            assert_eq!(wr(&mut cpu, base + 0xC, 0), Ok(())); // CAMR
            assert_eq!(wr(&mut cpu, base, 0), Ok(())); // CBR
            assert_eq!(wr(&mut cpu, base + 4, 3), Ok(())); // CRR = BIE | PCB
            assert_eq!(rd(&mut cpu, base + 4), Ok(0x2003));
            assert_eq!(rd(&mut cpu, base), Ok(0));
        }
        // enable: CBR = CE | len | type, CAR = address.
        assert_eq!(wr(&mut cpu, 0xFF20_0020, 0x0000_2013), Ok(()));
        assert_eq!(wr(&mut cpu, 0xFF20_0028, 0x8800_1234), Ok(()));
        assert_eq!(rd(&mut cpu, 0xFF20_0020), Ok(0x0000_2013));
        assert_eq!(rd(&mut cpu, 0xFF20_0028), Ok(0x8800_1234));
        assert_eq!(rd(&mut cpu, 0xFF20_0000), Ok(0)); // channel 0 untouched
        // CRR keeps bit 13, CCMFR and CBCR keep only their flag bits.
        assert_eq!(wr(&mut cpu, 0xFF20_0004, 0xFFFF_FFFF), Ok(()));
        assert_eq!(rd(&mut cpu, 0xFF20_0004), Ok(0x2003));
        assert_eq!(wr(&mut cpu, 0xFF20_0600, 0xFFFF_FFFF), Ok(()));
        assert_eq!(rd(&mut cpu, 0xFF20_0600), Ok(3));
        assert_eq!(wr(&mut cpu, 0xFF20_0620, 0xFFFF_FFFF), Ok(()));
        assert_eq!(rd(&mut cpu, 0xFF20_0620), Ok(1));
        // Each core has its own UBC.
        let mut other = Cpu::new(0);
        assert_eq!(rd(&mut other, 0xFF20_0020), Ok(0x2000_0000));
    }

    #[test]
    fn ubc_holes_and_narrow_accesses_are_address_errors() {
        let mut cpu = Cpu::new(0);
        assert_eq!(rd(&mut cpu, 0xFF20_0010), Err(Exception::AddressErrorRead(0xFF20_0010)));
        assert_eq!(wr(&mut cpu, 0xFF20_0040, 0), Err(Exception::AddressErrorWrite(0xFF20_0040)));
        assert_eq!(
            read(&mut cpu, &mut NoBus, 0xFF20_0004, Size::Word),
            Err(Exception::AddressErrorRead(0xFF20_0004))
        );
        assert_eq!(
            write(&mut cpu, &mut NoBus, 0xFF20_0620, Size::Byte, 0),
            Err(Exception::AddressErrorWrite(0xFF20_0620))
        );
    }

    /// Linux with CONFIG_X2TLB writes pte_high (EPR, ESZ) to PTEA.
    #[test]
    fn ptea_holds_extended_mode_fields() {
        let mut cpu = Cpu::new(0);
        assert_eq!(wr(&mut cpu, 0xFF00_0034, 0x0000_3810), Ok(()));
        assert_eq!(rd(&mut cpu, 0xFF00_0034), Ok(0x3810));
        assert_eq!(cpu.mmu.ptea, 0x3810);
        // _PAGE_EXT_WIRED (bit 14) is a software bit: not kept.
        assert_eq!(wr(&mut cpu, 0xFF00_0034, 0x0000_7FFF), Ok(()));
        assert_eq!(rd(&mut cpu, 0xFF00_0034), Ok(0x3FFF));
    }

    #[test]
    fn ubc_reset_restores_initial_values() {
        let mut cpu = Cpu::new(0);
        assert_eq!(wr(&mut cpu, 0xFF20_0000, 0x13), Ok(()));
        cpu.p4.reset();
        assert_eq!(rd(&mut cpu, 0xFF20_0000), Ok(0x2000_0000));
    }
}
