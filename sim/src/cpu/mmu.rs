//! The SH-4A MMU: a 64-entry unified TLB (UTLB), a 4-entry instruction TLB
//! (ITLB) refilled from it, ASIDs and the shared bit, four page sizes
//! (1 KiB, 4 KiB, 64 KiB, 1 MiB), protection and dirty-bit checks, the
//! MMU registers (PTEH, PTEL, PTEA, TTB, TEA, MMUCR) and the memory-mapped
//! TLB arrays at 0xF2/0xF3/0xF6/0xF7000000.
//!
//! Owns: translation state of one core. Must not touch: memory or devices
//! (translation yields a physical address; the CPU does the access).
//!
//! Differences from the silicon that software cannot rely on: MMUCR.URC
//! advances once per LDTLB (a round-robin replacement pointer) rather than
//! on every UTLB access, and the ITLB is refilled round-robin rather than by
//! the LRUI bits (LRUI reads back what was written). Only 29-bit physical
//! addressing is modelled (PASCR.SE = 0).

use super::Exception;

/// MMUCR bits.
pub mod mmucr {
    pub const AT: u32 = 1 << 0;
    pub const TI: u32 = 1 << 2;
    pub const SV: u32 = 1 << 8;
    pub const SQMD: u32 = 1 << 9;
    pub const URC_SHIFT: u32 = 10;
    pub const URB_SHIFT: u32 = 18;
    pub const FIELD6: u32 = 0x3F;
    pub const LRUI_SHIFT: u32 = 26;
    /// Bits that hold state (TI always reads 0).
    pub const WRITABLE: u32 = (0x3F << LRUI_SHIFT) | (0x3F << URB_SHIFT) | (0x3F << URC_SHIFT) | SQMD | SV | AT;
}

/// One TLB entry, UTLB or ITLB.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct TlbEntry {
    /// Virtual page number bits 31:10 (low bits below the page size kept as written).
    pub vpn: u32,
    pub asid: u8,
    /// Physical page number bits 28:10.
    pub ppn: u32,
    pub valid: bool,
    /// Page size code SZ1:SZ0 (0 = 1 KiB, 1 = 4 KiB, 2 = 64 KiB, 3 = 1 MiB).
    pub size: u8,
    /// Protection PR (UTLB: 2 bits; ITLB: bit 1 of it only).
    pub pr: u8,
    pub cacheable: bool,
    pub dirty: bool,
    pub shared: bool,
    pub write_through: bool,
}

impl TlbEntry {
    /// Mask of the address bits that select the page.
    #[inline(always)]
    pub fn page_mask(&self) -> u32 {
        match self.size {
            0 => 0xFFFF_FC00,
            1 => 0xFFFF_F000,
            2 => 0xFFFF_0000,
            _ => 0xFFF0_0000,
        }
    }

    #[inline(always)]
    fn matches(&self, vaddr: u32, asid: u8, ignore_asid: bool) -> bool {
        self.valid
            && (self.vpn ^ vaddr) & self.page_mask() == 0
            && (self.shared || ignore_asid || self.asid == asid)
    }

    #[inline(always)]
    fn physical(&self, vaddr: u32) -> u32 {
        let mask = self.page_mask();
        ((self.ppn & mask) | (vaddr & !mask)) & 0x1FFF_FFFF
    }

    /// PTEL layout: PPN, V, SZ1, PR, SZ0, C, D, SH, WT.
    fn from_ptel(&mut self, ptel: u32) {
        self.ppn = ptel & 0x1FFF_FC00;
        self.valid = ptel & (1 << 8) != 0;
        self.size = (((ptel >> 7) & 1) << 1 | ((ptel >> 4) & 1)) as u8;
        self.pr = ((ptel >> 5) & 3) as u8;
        self.cacheable = ptel & (1 << 3) != 0;
        self.dirty = ptel & (1 << 2) != 0;
        self.shared = ptel & (1 << 1) != 0;
        self.write_through = ptel & 1 != 0;
    }

    fn to_ptel(&self) -> u32 {
        self.ppn
            | (self.valid as u32) << 8
            | ((self.size as u32 >> 1) & 1) << 7
            | (self.pr as u32) << 5
            | (self.size as u32 & 1) << 4
            | (self.cacheable as u32) << 3
            | (self.dirty as u32) << 2
            | (self.shared as u32) << 1
            | self.write_through as u32
    }
}

/// MMU state of one core.
#[derive(Clone, Debug)]
pub struct Mmu {
    pub pteh: u32,
    pub ptel: u32,
    pub ptea: u32,
    pub ttb: u32,
    pub tea: u32,
    mmucr: u32,
    pub utlb: [TlbEntry; 64],
    pub itlb: [TlbEntry; 4],
    itlb_next: usize,
}

impl Default for Mmu {
    fn default() -> Self {
        Self::new()
    }
}

impl Mmu {
    pub fn new() -> Mmu {
        Mmu {
            pteh: 0,
            ptel: 0,
            ptea: 0,
            ttb: 0,
            tea: 0,
            mmucr: 0,
            utlb: [TlbEntry::default(); 64],
            itlb: [TlbEntry::default(); 4],
            itlb_next: 0,
        }
    }

    /// Reset: MMU off. TLB contents are undefined after reset on silicon;
    /// here they are cleared so runs are reproducible.
    pub fn reset(&mut self) {
        *self = Mmu::new();
    }

    #[inline(always)]
    pub fn translation_on(&self) -> bool {
        self.mmucr & mmucr::AT != 0
    }

    /// Store queues usable only in privileged mode (MMUCR.SQMD).
    #[inline(always)]
    pub fn sq_privileged_only(&self) -> bool {
        self.mmucr & mmucr::SQMD != 0
    }

    pub fn mmucr(&self) -> u32 {
        self.mmucr
    }

    pub fn set_mmucr(&mut self, value: u32) {
        if value & mmucr::TI != 0 {
            for e in self.utlb.iter_mut().chain(self.itlb.iter_mut()) {
                e.valid = false;
            }
        }
        self.mmucr = value & mmucr::WRITABLE;
    }

    fn asid(&self) -> u8 {
        self.pteh as u8
    }

    fn urc(&self) -> usize {
        ((self.mmucr >> mmucr::URC_SHIFT) & mmucr::FIELD6) as usize
    }

    /// LDTLB: PTEH/PTEL/PTEA into UTLB[URC], then advance URC (wrapping at
    /// URB when URB is non-zero).
    pub fn ldtlb(&mut self) {
        let i = self.urc();
        let e = &mut self.utlb[i];
        e.vpn = self.pteh & 0xFFFF_FC00;
        e.asid = self.pteh as u8;
        e.from_ptel(self.ptel);
        let urb = ((self.mmucr >> mmucr::URB_SHIFT) & mmucr::FIELD6) as usize;
        let mut next = i + 1;
        if next == 64 || (urb != 0 && next >= urb) {
            next = 0;
        }
        self.mmucr = (self.mmucr & !(mmucr::FIELD6 << mmucr::URC_SHIFT)) | (next as u32) << mmucr::URC_SHIFT;
        // The ITLB holds copies of UTLB entries; an overwritten entry may
        // still be cached there, exactly as on silicon. Software flushes it.
    }

    /// Search the UTLB.
    fn utlb_search(&self, vaddr: u32, privileged: bool) -> Result<Option<usize>, Exception> {
        let ignore_asid = privileged && self.mmucr & mmucr::SV != 0;
        let asid = self.asid();
        let mut hit = None;
        for (i, e) in self.utlb.iter().enumerate() {
            if e.matches(vaddr, asid, ignore_asid) {
                if hit.is_some() {
                    return Err(Exception::TlbMultipleHit(vaddr));
                }
                hit = Some(i);
            }
        }
        Ok(hit)
    }

    /// Translate a data access in P0/U0 or P3 with the MMU on.
    pub fn translate_data(&mut self, vaddr: u32, write: bool, privileged: bool) -> Result<u32, Exception> {
        let Some(i) = self.utlb_search(vaddr, privileged)? else {
            return Err(if write { Exception::TlbMissWrite(vaddr) } else { Exception::TlbMissRead(vaddr) });
        };
        let e = &self.utlb[i];
        let allowed = match (e.pr, privileged, write) {
            (0, true, false) => true,
            (0, _, _) => false,
            (1, true, _) => true,
            (1, false, _) => false,
            (2, true, _) => true,
            (2, false, w) => !w,
            _ => true,
        };
        if !allowed {
            return Err(if write { Exception::TlbProtectionWrite(vaddr) } else { Exception::TlbProtectionRead(vaddr) });
        }
        if write && !e.dirty {
            return Err(Exception::InitialPageWrite(vaddr));
        }
        Ok(e.physical(vaddr))
    }

    /// Translate an instruction fetch with the MMU on: ITLB first, refilled
    /// from the UTLB on an ITLB miss.
    pub fn translate_fetch(&mut self, vaddr: u32, privileged: bool) -> Result<u32, Exception> {
        let ignore_asid = privileged && self.mmucr & mmucr::SV != 0;
        let asid = self.asid();
        let mut hit = None;
        for (i, e) in self.itlb.iter().enumerate() {
            if e.matches(vaddr, asid, ignore_asid) {
                if hit.is_some() {
                    return Err(Exception::TlbMultipleHit(vaddr));
                }
                hit = Some(i);
            }
        }
        let i = match hit {
            Some(i) => i,
            None => {
                let Some(u) = self.utlb_search(vaddr, privileged)? else {
                    return Err(Exception::ItlbMiss(vaddr));
                };
                let i = self.itlb_next;
                self.itlb_next = (i + 1) % 4;
                let mut copy = self.utlb[u];
                // The ITLB keeps only the user-access bit of PR.
                copy.pr &= 2;
                self.itlb[i] = copy;
                i
            }
        };
        let e = &self.itlb[i];
        if !privileged && e.pr & 2 == 0 {
            return Err(Exception::ItlbProtection(vaddr));
        }
        Ok(e.physical(vaddr))
    }

    /// Translation for the debugger: UTLB only, no exceptions, no state change.
    pub fn lookup_no_side_effects(&self, vaddr: u32, asid: u8) -> Option<u32> {
        self.utlb
            .iter()
            .chain(self.itlb.iter())
            .find(|e| e.matches(vaddr, asid, true) || e.matches(vaddr, asid, false))
            .map(|e| e.physical(vaddr))
    }

    // ----- memory-mapped TLB arrays -----

    /// Read from the TLB arrays (address in 0xF2000000-0xF7FFFFFF).
    pub fn array_read(&self, addr: u32) -> u32 {
        match addr >> 24 {
            0xF2 => {
                let e = &self.itlb[((addr >> 8) & 3) as usize];
                (e.vpn & 0xFFFF_FC00) | (e.valid as u32) << 8 | e.asid as u32
            }
            0xF3 => {
                let e = &self.itlb[((addr >> 8) & 3) as usize];
                if addr & (1 << 23) != 0 {
                    0
                } else {
                    e.to_ptel() & !(1 << 2 | 1)
                }
            }
            0xF6 => {
                let e = &self.utlb[((addr >> 8) & 63) as usize];
                (e.vpn & 0xFFFF_FC00) | (e.dirty as u32) << 9 | (e.valid as u32) << 8 | e.asid as u32
            }
            0xF7 => {
                let e = &self.utlb[((addr >> 8) & 63) as usize];
                if addr & (1 << 23) != 0 {
                    0
                } else {
                    e.to_ptel()
                }
            }
            _ => 0,
        }
    }

    /// Write to the TLB arrays. The address arrays accept associative
    /// writes (address bit 7): every entry matching the written VPN (and
    /// ASID, under the usual SH/SV rules) gets the written V (and D) bits.
    pub fn array_write(&mut self, addr: u32, value: u32, privileged: bool) {
        let associative = addr & 0x80 != 0;
        match addr >> 24 {
            0xF2 | 0xF6 => {
                let utlb = addr >> 24 == 0xF6;
                if associative {
                    let ignore_asid = privileged && self.mmucr & mmucr::SV != 0;
                    let asid = value as u8;
                    let vpn = value & 0xFFFF_FC00;
                    let set = |e: &mut TlbEntry, with_dirty: bool| {
                        if e.matches(vpn, asid, ignore_asid) {
                            e.valid = value & (1 << 8) != 0;
                            if with_dirty {
                                e.dirty = value & (1 << 9) != 0;
                            }
                        }
                    };
                    if utlb {
                        // An associative UTLB write also checks the ITLB.
                        self.utlb.iter_mut().for_each(|e| set(e, true));
                        self.itlb.iter_mut().for_each(|e| set(e, false));
                    } else {
                        self.itlb.iter_mut().for_each(|e| set(e, false));
                    }
                } else {
                    let e = if utlb {
                        &mut self.utlb[((addr >> 8) & 63) as usize]
                    } else {
                        &mut self.itlb[((addr >> 8) & 3) as usize]
                    };
                    e.vpn = value & 0xFFFF_FC00;
                    e.valid = value & (1 << 8) != 0;
                    e.asid = value as u8;
                    if utlb {
                        e.dirty = value & (1 << 9) != 0;
                    }
                }
            }
            0xF3 | 0xF7 if addr & (1 << 23) == 0 => {
                let e = if addr >> 24 == 0xF7 {
                    &mut self.utlb[((addr >> 8) & 63) as usize]
                } else {
                    &mut self.itlb[((addr >> 8) & 3) as usize]
                };
                e.from_ptel(value);
            }
            _ => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn load(m: &mut Mmu, vpn: u32, asid: u8, ptel: u32) {
        m.pteh = vpn | asid as u32;
        m.ptel = ptel;
        m.ldtlb();
    }

    // PTEL for a valid, dirty, cacheable 4 KiB page, user RW.
    const RW4K: u32 = (1 << 8) | (1 << 4) | (3 << 5) | (1 << 3) | (1 << 2);

    #[test]
    fn translates_4k_page_by_asid() {
        let mut m = Mmu::new();
        m.set_mmucr(mmucr::AT);
        load(&mut m, 0x0040_0000, 5, 0x0810_0000 | RW4K);
        m.pteh = 5;
        assert_eq!(m.translate_data(0x0040_0123, false, false), Ok(0x0810_0123));
        m.pteh = 6;
        assert_eq!(m.translate_data(0x0040_0123, false, false), Err(Exception::TlbMissRead(0x0040_0123)));
        assert_eq!(m.translate_data(0x0040_0123, true, false), Err(Exception::TlbMissWrite(0x0040_0123)));
    }

    #[test]
    fn shared_and_sv_ignore_asid() {
        let mut m = Mmu::new();
        load(&mut m, 0x0040_0000, 5, 0x0810_0000 | RW4K | (1 << 1));
        m.pteh = 9;
        assert_eq!(m.translate_data(0x0040_0004, false, false), Ok(0x0810_0004));
        let mut m = Mmu::new();
        load(&mut m, 0x0040_0000, 5, 0x0810_0000 | RW4K);
        m.set_mmucr(mmucr::AT | mmucr::SV);
        m.pteh = 9;
        assert_eq!(m.translate_data(0x0040_0004, false, true), Ok(0x0810_0004));
        assert!(m.translate_data(0x0040_0004, false, false).is_err());
    }

    #[test]
    fn page_sizes_select_offset_bits() {
        for (sz, mask) in [(0u32, 0x3FFu32), (1, 0xFFF), (2, 0xFFFF), (3, 0xF_FFFF)] {
            let mut m = Mmu::new();
            let ptel = 0x0800_0000 | (1 << 8) | ((sz >> 1) << 7) | ((sz & 1) << 4) | (3 << 5) | (1 << 2);
            load(&mut m, 0x1000_0000, 0, ptel);
            let va = 0x1000_0000 | mask;
            assert_eq!(m.translate_data(va, false, true), Ok(0x0800_0000 | mask), "size {sz}");
            assert!(m.translate_data(va + 1, false, true).is_err(), "size {sz} ends at the mask");
        }
    }

    #[test]
    fn protection_and_initial_write() {
        let mut m = Mmu::new();
        // PR=2: privileged RW, user read-only; D clear.
        load(&mut m, 0x0000_1000, 0, 0x0800_1000 | (1 << 8) | (1 << 4) | (2 << 5));
        assert!(m.translate_data(0x1000, false, false).is_ok());
        assert_eq!(m.translate_data(0x1000, true, false), Err(Exception::TlbProtectionWrite(0x1000)));
        assert_eq!(m.translate_data(0x1000, true, true), Err(Exception::InitialPageWrite(0x1000)));
        // PR=0: privileged read-only; user nothing.
        load(&mut m, 0x0000_2000, 0, 0x0800_2000 | (1 << 8) | (1 << 4) | (1 << 2));
        assert_eq!(m.translate_data(0x2000, false, false), Err(Exception::TlbProtectionRead(0x2000)));
        assert_eq!(m.translate_data(0x2000, true, true), Err(Exception::TlbProtectionWrite(0x2000)));
        assert!(m.translate_data(0x2000, false, true).is_ok());
    }

    #[test]
    fn multiple_hit_is_reported() {
        let mut m = Mmu::new();
        load(&mut m, 0x0000_1000, 0, 0x0800_1000 | RW4K);
        load(&mut m, 0x0000_1000, 0, 0x0800_2000 | RW4K);
        assert_eq!(m.translate_data(0x1000, false, true), Err(Exception::TlbMultipleHit(0x1000)));
    }

    #[test]
    fn urc_wraps_at_urb() {
        let mut m = Mmu::new();
        m.set_mmucr(3 << mmucr::URB_SHIFT);
        for _ in 0..4 {
            m.ldtlb();
        }
        assert_eq!(m.urc(), 1);
    }

    #[test]
    fn itlb_refills_from_utlb_and_survives_until_flushed() {
        let mut m = Mmu::new();
        load(&mut m, 0x0040_0000, 0, 0x0810_0000 | RW4K);
        assert_eq!(m.translate_fetch(0x0040_0010, false), Ok(0x0810_0010));
        assert!(m.itlb.iter().any(|e| e.valid));
        // Invalidate the UTLB entry through the address array: the ITLB copy
        // remains until it too is invalidated.
        m.array_write(0xF600_0000, 0, true);
        assert_eq!(m.translate_fetch(0x0040_0010, false), Ok(0x0810_0010));
        m.set_mmucr(mmucr::TI);
        assert_eq!(m.translate_fetch(0x0040_0010, false), Err(Exception::ItlbMiss(0x0040_0010)));
    }

    #[test]
    fn associative_write_invalidates_matching_entries() {
        let mut m = Mmu::new();
        load(&mut m, 0x0040_0000, 7, 0x0810_0000 | RW4K);
        assert!(m.translate_fetch(0x0040_0000, true).is_ok());
        m.array_write(0xF600_0080, 0x0040_0000 | 7, true);
        assert!(!m.utlb[0].valid);
        assert!(m.itlb.iter().all(|e| !e.valid));
    }

    #[test]
    fn arrays_read_back_what_ldtlb_wrote() {
        let mut m = Mmu::new();
        load(&mut m, 0x1234_5000, 0x42, 0x0ABC_D000 | RW4K | 1);
        assert_eq!(m.array_read(0xF600_0000), 0x1234_5000 | (1 << 9) | (1 << 8) | 0x42);
        assert_eq!(m.array_read(0xF700_0000), 0x0ABC_D000 | RW4K | 1);
    }
}
