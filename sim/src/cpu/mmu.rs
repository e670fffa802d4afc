//! The SH-4A MMU: a 64-entry unified TLB (UTLB), a 4-entry instruction TLB
//! (ITLB) refilled from it, ASIDs and the shared bit, four page sizes
//! (1 KiB, 4 KiB, 64 KiB, 1 MiB), protection and dirty-bit checks, the
//! MMU registers (PTEH, PTEL, PTEA, TTB, TEA, MMUCR) and the memory-mapped
//! TLB arrays at 0xF2/0xF3/0xF6/0xF7000000.
//!
//! Owns: translation state of one core. Must not touch: memory or devices
//! (translation yields a physical address; the CPU does the access).
//!
//! TLB extended mode (MMUCR.ME = 1, the SH-X2/SH-X3 mode Linux's
//! CONFIG_X2TLB uses): LDTLB and the data arrays take the page size from
//! PTEA.ESZ (bits 7:4) and the protection from PTEA.EPR (bits 13:8: kernel
//! read/write/execute, user read/write/execute), and ignore PTEL's SZ and
//! PR bits. Each entry remembers the mode it was loaded in. The ASID
//! extension (MMUCR.AEX, PTEAEX) is not modelled.
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
    /// TLB extended mode: PTEA.ESZ/EPR instead of PTEL.SZ/PR.
    pub const ME: u32 = 1 << 7;
    pub const SV: u32 = 1 << 8;
    pub const SQMD: u32 = 1 << 9;
    pub const URC_SHIFT: u32 = 10;
    pub const URB_SHIFT: u32 = 18;
    pub const FIELD6: u32 = 0x3F;
    pub const LRUI_SHIFT: u32 = 26;
    /// Bits that hold state (TI always reads 0).
    pub const WRITABLE: u32 = (0x3F << LRUI_SHIFT) | (0x3F << URB_SHIFT) | (0x3F << URC_SHIFT) | SQMD | SV | ME | AT;
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
    /// Loaded in TLB extended mode: `esz` and `epr` apply, `size` and `pr`
    /// do not.
    pub ext: bool,
    /// Extended page size ESZ3:ESZ0.
    pub esz: u8,
    /// Extended protection EPR5:EPR0 (`epr` bits).
    pub epr: u8,
}

/// EPR bits (PTEA bits 13:8; Linux's `_PAGE_EXT_*` in pgtable_32.h).
pub mod epr {
    pub const USER_EXEC: u8 = 1 << 0;
    pub const USER_WRITE: u8 = 1 << 1;
    pub const USER_READ: u8 = 1 << 2;
    pub const KERN_EXEC: u8 = 1 << 3;
    pub const KERN_WRITE: u8 = 1 << 4;
    pub const KERN_READ: u8 = 1 << 5;
}

impl TlbEntry {
    /// Mask of the address bits that select the page.
    #[inline(always)]
    pub fn page_mask(&self) -> u32 {
        // By table, not by branches: the UTLB search computes it for every
        // entry (`Mmu::utlb_search`).
        const BY_SIZE: [u32; 4] = [0xFFFF_FC00, 0xFFFF_F000, 0xFFFF_0000, 0xFFF0_0000];
        // ESZ: 0001 4 KiB, 0010 8 KiB, 0100 64 KiB, 0101 256 KiB, 0111 1 MiB,
        // 1000 4 MiB, 1100 64 MiB; 0000 is 1 KiB, and the reserved codes
        // are treated alike.
        const BY_ESZ: [u32; 16] = {
            let mut m = [0xFFFF_FC00u32; 16];
            m[0b0001] = 0xFFFF_F000;
            m[0b0010] = 0xFFFF_E000;
            m[0b0100] = 0xFFFF_0000;
            m[0b0101] = 0xFFFC_0000;
            m[0b0111] = 0xFFF0_0000;
            m[0b1000] = 0xFFC0_0000;
            m[0b1100] = 0xFC00_0000;
            m
        };
        if self.ext {
            BY_ESZ[(self.esz & 15) as usize]
        } else {
            BY_SIZE[(self.size & 3) as usize]
        }
    }

    #[inline(always)]
    fn matches(&self, vaddr: u32, asid: u8, ignore_asid: bool) -> bool {
        // `&`, not `&&`: no branches in the UTLB search's loop.
        self.valid & ((self.vpn ^ vaddr) & self.page_mask() == 0) & (self.shared | ignore_asid | (self.asid == asid))
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

    /// PTEL as the data array shows it: in extended mode SZ and PR are
    /// reserved and read as 0.
    fn to_ptel(&self) -> u32 {
        let (size, pr) = if self.ext { (0, 0) } else { (self.size as u32, self.pr as u32) };
        self.ppn
            | (self.valid as u32) << 8
            | ((size >> 1) & 1) << 7
            | pr << 5
            | (size & 1) << 4
            | (self.cacheable as u32) << 3
            | (self.dirty as u32) << 2
            | (self.shared as u32) << 1
            | self.write_through as u32
    }

    /// PTEA layout in extended mode: EPR in bits 13:8, ESZ in bits 7:4.
    fn from_ptea(&mut self, ptea: u32) {
        self.epr = ((ptea >> 8) & 0x3F) as u8;
        self.esz = ((ptea >> 4) & 0xF) as u8;
    }

    fn to_ptea(&self) -> u32 {
        (self.epr as u32) << 8 | (self.esz as u32) << 4
    }

    /// May this access use the entry? (`exec`: an instruction fetch.)
    fn permits(&self, privileged: bool, write: bool, exec: bool) -> bool {
        if self.ext {
            let need = match (privileged, exec, write) {
                (true, true, _) => epr::KERN_EXEC,
                (true, false, true) => epr::KERN_WRITE,
                (true, false, false) => epr::KERN_READ,
                (false, true, _) => epr::USER_EXEC,
                (false, false, true) => epr::USER_WRITE,
                (false, false, false) => epr::USER_READ,
            };
            return self.epr & need != 0;
        }
        if exec {
            // The ITLB keeps only PR's user bit; privileged fetches are
            // always allowed.
            return privileged || self.pr & 2 != 0;
        }
        match (self.pr, privileged, write) {
            (0, true, false) => true,
            (0, _, _) => false,
            (1, true, _) => true,
            (1, false, _) => false,
            (2, true, _) => true,
            (2, false, w) => !w,
            _ => true,
        }
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
    /// Written only through `ldtlb`, `array_write` and `set_mmucr`, which
    /// keep `utlb_overlaps` up to date.
    utlb: [TlbEntry; 64],
    pub itlb: [TlbEntry; 4],
    itlb_next: usize,
    /// Pairs of UTLB entries that one search could both hit (`overlap`):
    /// while there are none, a search may stop at its first hit.
    utlb_overlaps: u32,
    /// The UTLB entry the last search of each 4 KiB page's slot found
    /// (by bits 15:12 of the address): tried first. Only a hint: it is
    /// checked like any entry, and used only with no overlaps.
    utlb_recent: [u8; 16],
    /// UTLB changes so far (every write, flush and reset counts one):
    /// part of `data_state`.
    utlb_changes: u32,
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
            utlb_overlaps: 0,
            utlb_recent: [0; 16],
            utlb_changes: 0,
        }
    }

    /// The UTLB's entries.
    pub fn utlb(&self) -> &[TlbEntry; 64] {
        &self.utlb
    }

    /// Whether UTLB entries `a` and `b` could both match one search: both
    /// valid, their pages overlapping, and an ASID both can match (equal
    /// ones, a shared entry, or MMUCR.SV set, under which privileged
    /// searches ignore ASIDs).
    fn overlap(&self, a: &TlbEntry, b: &TlbEntry) -> bool {
        a.valid
            && b.valid
            && (a.vpn ^ b.vpn) & a.page_mask() & b.page_mask() == 0
            && (a.shared || b.shared || a.asid == b.asid || self.mmucr & mmucr::SV != 0)
    }

    /// Overlapping pairs that include UTLB entry `i`.
    fn overlaps_of(&self, i: usize) -> u32 {
        let e = &self.utlb[i];
        self.utlb.iter().enumerate().filter(|&(j, other)| j != i && self.overlap(e, other)).count() as u32
    }

    /// UTLB entry `i` is about to be written by `write`: `utlb_overlaps`
    /// follows it.
    fn write_utlb(&mut self, i: usize, write: impl FnOnce(&mut TlbEntry)) {
        self.utlb_overlaps -= self.overlaps_of(i);
        write(&mut self.utlb[i]);
        self.utlb_overlaps += self.overlaps_of(i);
        self.utlb_changes = self.utlb_changes.wrapping_add(1);
    }

    /// Count the overlapping pairs again (after a change to many entries,
    /// or to MMUCR.SV).
    fn count_overlaps(&mut self) {
        self.utlb_overlaps = (0..64).map(|i| self.overlaps_of(i)).sum::<u32>() / 2;
        self.utlb_changes = self.utlb_changes.wrapping_add(1);
    }

    /// Everything of the MMU a data translation depends on, as a value
    /// that differs whenever any of it has changed: the ASID, MMUCR and
    /// the UTLB's change count.
    pub fn data_state(&self) -> (u8, u32, u32) {
        (self.asid(), self.mmucr, self.utlb_changes)
    }

    /// Reset: MMU off. TLB contents are undefined after reset on silicon;
    /// here they are cleared so runs are reproducible.
    pub fn reset(&mut self) {
        let changes = self.utlb_changes;
        *self = Mmu::new();
        self.utlb_changes = changes.wrapping_add(1);
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
        self.count_overlaps();
    }

    fn asid(&self) -> u8 {
        self.pteh as u8
    }

    fn urc(&self) -> usize {
        ((self.mmucr >> mmucr::URC_SHIFT) & mmucr::FIELD6) as usize
    }

    fn extended(&self) -> bool {
        self.mmucr & mmucr::ME != 0
    }

    /// LDTLB: PTEH/PTEL/PTEA into `UTLB[URC]`, then advance URC (wrapping at
    /// URB when URB is non-zero).
    pub fn ldtlb(&mut self) {
        let i = self.urc();
        let ext = self.extended();
        let (pteh, ptel, ptea) = (self.pteh, self.ptel, self.ptea);
        self.write_utlb(i, |e| {
            e.vpn = pteh & 0xFFFF_FC00;
            e.asid = pteh as u8;
            e.from_ptel(ptel);
            e.ext = ext;
            if ext {
                e.from_ptea(ptea);
            }
        });
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
    fn utlb_search(&mut self, vaddr: u32, privileged: bool) -> Result<Option<usize>, Exception> {
        let ignore_asid = privileged && self.mmucr & mmucr::SV != 0;
        let asid = self.asid();
        if self.utlb_overlaps == 0 {
            // At most one entry can match: the first hit is the answer,
            // and the one found last in this slot is likely to be it.
            let slot = (vaddr >> 12) as usize % self.utlb_recent.len();
            let recent = self.utlb_recent[slot] as usize;
            if self.utlb[recent].matches(vaddr, asid, ignore_asid) {
                return Ok(Some(recent));
            }
            let hit = self.utlb.iter().position(|e| e.matches(vaddr, asid, ignore_asid));
            if let Some(i) = hit {
                self.utlb_recent[slot] = i as u8;
            }
            return Ok(hit);
        }
        // Every entry is compared (a second hit is an exception), so the
        // hits are gathered with no branch per entry.
        let mut hits = 0u64;
        for (i, e) in self.utlb.iter().enumerate() {
            hits |= (e.matches(vaddr, asid, ignore_asid) as u64) << i;
        }
        match hits.count_ones() {
            0 => Ok(None),
            1 => Ok(Some(hits.trailing_zeros() as usize)),
            _ => Err(Exception::TlbMultipleHit(vaddr)),
        }
    }

    /// Translate a data access in P0/U0 or P3 with the MMU on.
    pub fn translate_data(&mut self, vaddr: u32, write: bool, privileged: bool) -> Result<u32, Exception> {
        let Some(i) = self.utlb_search(vaddr, privileged)? else {
            return Err(if write { Exception::TlbMissWrite(vaddr) } else { Exception::TlbMissRead(vaddr) });
        };
        let e = &self.utlb[i];
        if !e.permits(privileged, write, false) {
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
                // The ITLB keeps only the user-access bit of PR (compatible
                // mode) or the execute bits of EPR (extended mode).
                copy.pr &= 2;
                copy.epr &= epr::KERN_EXEC | epr::USER_EXEC;
                self.itlb[i] = copy;
                i
            }
        };
        let e = &self.itlb[i];
        if !e.permits(privileged, false, true) {
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
                    if e.ext {
                        e.to_ptea()
                    } else {
                        0
                    }
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
                    if e.ext {
                        e.to_ptea()
                    } else {
                        0
                    }
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
                        self.count_overlaps();
                    } else {
                        self.itlb.iter_mut().for_each(|e| set(e, false));
                    }
                } else {
                    let write = |e: &mut TlbEntry| {
                        e.vpn = value & 0xFFFF_FC00;
                        e.valid = value & (1 << 8) != 0;
                        e.asid = value as u8;
                        if utlb {
                            e.dirty = value & (1 << 9) != 0;
                        }
                    };
                    if utlb {
                        self.write_utlb(((addr >> 8) & 63) as usize, write);
                    } else {
                        write(&mut self.itlb[((addr >> 8) & 3) as usize]);
                    }
                }
            }
            0xF3 | 0xF7 => {
                let ext = self.extended();
                let write = |e: &mut TlbEntry| {
                    e.ext = ext;
                    if addr & (1 << 23) == 0 {
                        e.from_ptel(value);
                    } else if ext {
                        // Data array 2 exists in extended mode only.
                        e.from_ptea(value);
                    }
                };
                if addr >> 24 == 0xF7 {
                    self.write_utlb(((addr >> 8) & 63) as usize, write);
                } else {
                    write(&mut self.itlb[((addr >> 8) & 3) as usize]);
                }
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

    /// The UTLB search the MMU makes, the long way: every entry compared.
    fn search_every_entry(m: &Mmu, vaddr: u32, privileged: bool) -> Result<Option<usize>, Exception> {
        let ignore_asid = privileged && m.mmucr & mmucr::SV != 0;
        let hits: Vec<usize> = (0..64).filter(|&i| m.utlb[i].matches(vaddr, m.asid(), ignore_asid)).collect();
        match hits[..] {
            [] => Ok(None),
            [i] => Ok(Some(i)),
            _ => Err(Exception::TlbMultipleHit(vaddr)),
        }
    }

    /// The quick search (first hit, the slot's last hit tried first) is
    /// used only while no two entries can match one search: through
    /// loads, array writes and MMUCR changes (SV, TI) that make and undo
    /// such pairs, every search answers as comparing every entry does,
    /// and the count of pairs is the one found by comparing every pair.
    #[test]
    fn utlb_search_answers_as_comparing_every_entry_does() {
        let mut seed = 0x9E37_79B9_7F4A_7C15u64;
        let mut next = move || {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            (seed >> 16) as u32
        };
        let mut m = Mmu::new();
        let (mut multiple, mut quick) = (0, 0);
        for _ in 0..20_000 {
            // Few pages and ASIDs, so entries overlap often.
            let vpn = (next() % 8) << 12 | (next() % 2) << 20;
            let asid = (next() % 3) as u8;
            let size = next() % 4;
            let ptel = (next() % 8) << 12 | RW4K & !(1 << 4) | (size >> 1) << 7 | (size & 1) << 4 | (next() % 4 == 0) as u32 * 2;
            match next() % 16 {
                0 => m.set_mmucr(mmucr::AT | if next() % 2 == 0 { mmucr::SV } else { 0 } | (next() % 64) << mmucr::URC_SHIFT),
                1 if next() % 8 == 0 => m.set_mmucr(mmucr::AT | mmucr::TI),
                2 => m.array_write(0xF600_0000 | (next() % 64) << 8, vpn | (next() % 2) << 8 | asid as u32, true),
                3 => m.array_write(0xF700_0000 | (next() % 64) << 8, ptel, true),
                4 => m.array_write(0xF600_0080, vpn | asid as u32, next() % 2 == 0),
                _ => {
                    m.pteh = vpn | asid as u32;
                    m.ptel = ptel;
                    m.ldtlb();
                }
            }
            let pairs = (0..64).flat_map(|i| (i + 1..64).map(move |j| (i, j)));
            let overlaps = pairs.filter(|&(i, j)| m.overlap(&m.utlb[i], &m.utlb[j])).count() as u32;
            assert_eq!(m.utlb_overlaps, overlaps);
            for _ in 0..4 {
                m.pteh = next() % 3;
                let (vaddr, privileged) = ((next() % 8) << 12 | (next() % 2) << 20 | next() % 0x1000, next() % 2 == 0);
                let want = search_every_entry(&m, vaddr, privileged);
                multiple += want.is_err() as u32;
                quick += (m.utlb_overlaps == 0) as u32;
                assert_eq!(m.utlb_search(vaddr, privileged), want, "{vaddr:#x}");
            }
        }
        // Both ways were taken, and multiple hits were found.
        assert!(multiple > 100 && quick > 100, "{multiple} multiple hits, {quick} quick searches");
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
        assert!(!m.utlb()[0].valid);
        assert!(m.itlb.iter().all(|e| !e.valid));
    }

    #[test]
    fn arrays_read_back_what_ldtlb_wrote() {
        let mut m = Mmu::new();
        load(&mut m, 0x1234_5000, 0x42, 0x0ABC_D000 | RW4K | 1);
        assert_eq!(m.array_read(0xF600_0000), 0x1234_5000 | (1 << 9) | (1 << 8) | 0x42);
        assert_eq!(m.array_read(0xF700_0000), 0x0ABC_D000 | RW4K | 1);
    }

    /// Linux 6.1 with CONFIG_X2TLB (arch/sh/mm/tlb-sh4.c `__update_tlb`):
    /// PTEA = pte_high (EPR, ESZ), PTEL = pte_low without PR/SZ. These are
    /// the registers of the vmalloc page n_tty_open wrote at 0xc0000038.
    #[test]
    fn extended_mode_takes_size_and_protection_from_ptea() {
        let mut m = Mmu::new();
        m.set_mmucr(mmucr::AT | mmucr::ME);
        assert_eq!(m.mmucr(), mmucr::AT | mmucr::ME);
        m.pteh = 0xC000_0000;
        m.ptea = 0x0000_3810; // KERN_READ | KERN_WRITE | KERN_EXEC, ESZ = 4 KiB
        m.ptel = 0x0A16_610E; // PPN, V, C, D, SH; PR = SZ = 0
        m.ldtlb();
        assert_eq!(m.translate_data(0xC000_0038, true, true), Ok(0x0A16_6038));
        assert_eq!(m.translate_data(0xC000_0FFF, false, true), Ok(0x0A16_6FFF));
        assert_eq!(m.translate_data(0xC000_1000, false, true), Err(Exception::TlbMissRead(0xC000_1000)));
        // No user permission at all.
        assert_eq!(m.translate_data(0x4000_0038, false, false), Err(Exception::TlbMissRead(0x4000_0038)));
        assert_eq!(m.translate_data(0xC000_0038, false, false), Err(Exception::TlbProtectionRead(0xC000_0038)));
        assert_eq!(m.translate_data(0xC000_0038, true, false), Err(Exception::TlbProtectionWrite(0xC000_0038)));
        assert_eq!(m.translate_fetch(0xC000_0100, true), Ok(0x0A16_6100));
        assert_eq!(m.translate_fetch(0xC000_0100, false), Err(Exception::ItlbProtection(0xC000_0100)));
    }

    #[test]
    fn extended_mode_protection_bits() {
        let mut m = Mmu::new();
        m.set_mmucr(mmucr::AT | mmucr::ME);
        // Linux's PAGE_READONLY-like user page: kernel read, user read + exec, D set.
        m.pteh = 0x0040_0000 | 3;
        m.ptea = ((epr::KERN_READ | epr::USER_READ | epr::USER_EXEC) as u32) << 8 | 0x10;
        m.ptel = 0x0810_0000 | (1 << 8) | (1 << 2);
        m.ldtlb();
        assert_eq!(m.translate_data(0x0040_0010, false, false), Ok(0x0810_0010));
        assert_eq!(m.translate_data(0x0040_0010, false, true), Ok(0x0810_0010));
        assert_eq!(m.translate_data(0x0040_0010, true, false), Err(Exception::TlbProtectionWrite(0x0040_0010)));
        assert_eq!(m.translate_data(0x0040_0010, true, true), Err(Exception::TlbProtectionWrite(0x0040_0010)));
        assert_eq!(m.translate_fetch(0x0040_0010, false), Ok(0x0810_0010));
        assert_eq!(m.translate_fetch(0x0040_0010, true), Err(Exception::ItlbProtection(0x0040_0010)));
        // Writable but clean: protection passes, then the initial page write.
        m.pteh = 0x0050_0000 | 3;
        m.ptea = ((epr::KERN_READ | epr::KERN_WRITE | epr::USER_READ | epr::USER_WRITE) as u32) << 8 | 0x10;
        m.ptel = 0x0820_0000 | (1 << 8);
        m.ldtlb();
        assert_eq!(m.translate_data(0x0050_0000, true, false), Err(Exception::InitialPageWrite(0x0050_0000)));
        assert_eq!(m.translate_data(0x0050_0000, true, true), Err(Exception::InitialPageWrite(0x0050_0000)));
    }

    #[test]
    fn extended_page_sizes() {
        let sizes = [
            (0b0000u32, 0x3FFu32),
            (0b0001, 0xFFF),
            (0b0010, 0x1FFF),
            (0b0100, 0xFFFF),
            (0b0101, 0x3_FFFF),
            (0b0111, 0xF_FFFF),
            (0b1000, 0x3F_FFFF),
            (0b1100, 0x3FF_FFFF),
        ];
        for (esz, mask) in sizes {
            let mut m = Mmu::new();
            m.set_mmucr(mmucr::AT | mmucr::ME);
            m.pteh = 0x1000_0000;
            m.ptea = ((epr::KERN_READ as u32) << 8) | esz << 4;
            // PTEL's SZ bits say 1 MiB; extended mode ignores them.
            m.ptel = 0x0800_0000 | (1 << 8) | (1 << 7) | (1 << 4);
            m.ldtlb();
            let va = 0x1000_0000 | mask;
            assert_eq!(m.translate_data(va, false, true), Ok(0x0800_0000 | mask), "esz {esz:04b}");
            assert!(m.translate_data(va + 1, false, true).is_err(), "esz {esz:04b} ends at the mask");
        }
    }

    #[test]
    fn extended_mode_data_array_2() {
        let mut m = Mmu::new();
        m.set_mmucr(mmucr::ME);
        m.pteh = 0x1234_5000;
        m.ptea = 0x3810;
        m.ptel = 0x0ABC_D000 | (1 << 8) | (1 << 2) | (3 << 5) | (1 << 4);
        m.ldtlb();
        // Data array 1 shows no SZ/PR in extended mode; data array 2 has EPR/ESZ.
        assert_eq!(m.array_read(0xF700_0000), 0x0ABC_D000 | (1 << 8) | (1 << 2));
        assert_eq!(m.array_read(0xF780_0000), 0x3810);
        m.array_write(0xF780_0100, 0x0000_2470, true); // KR, UR, ESZ 1 MiB
        m.array_write(0xF700_0100, 0x0800_0000 | (1 << 8), true);
        m.array_write(0xF600_0100, 0x2000_0000 | (1 << 8), true);
        assert_eq!(m.array_read(0xF780_0100), 0x2470);
        m.set_mmucr(mmucr::AT | mmucr::ME);
        assert_eq!(m.translate_data(0x200F_FFFF, false, false), Ok(0x080F_FFFF));
        // Compatible mode: data array 2 reads as 0, PTEA is not used.
        let mut c = Mmu::new();
        load(&mut c, 0x1234_5000, 0, 0x0ABC_D000 | RW4K);
        assert_eq!(c.array_read(0xF780_0000), 0);
    }
}
