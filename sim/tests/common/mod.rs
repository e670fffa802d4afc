//! ELF images built by hand for the integration tests: a little-endian
//! SuperH executable with PT_LOAD segments and, if asked, a symbol table
//! (the symbols a Linux kernel image carries for its boot parameters).
//!
//! Owns: these builders. Must not touch: the simulator.

#![allow(dead_code)]

/// One PT_LOAD segment for [`elf`].
pub struct Seg {
    pub paddr: u32,
    pub vaddr: u32,
    pub bytes: Vec<u8>,
    pub memsz: u32,
}

/// A minimal ELF32 little-endian SuperH executable.
pub fn elf(entry: u32, segs: &[Seg]) -> Vec<u8> {
    elf_with_symbols(entry, segs, &[])
}

/// [`elf`] with a symbol table holding `symbols` (global, absolute), and
/// the section headers that point at it (.symtab, .strtab, .shstrtab).
pub fn elf_with_symbols(entry: u32, segs: &[Seg], symbols: &[(&str, u32)]) -> Vec<u8> {
    let phoff = 52u32;
    let data_start = phoff + 32 * segs.len() as u32;
    let data_len: u32 = segs.iter().map(|s| s.bytes.len() as u32).sum();
    // After the segments' bytes: .symtab, .strtab, .shstrtab, then the
    // section headers (null, .symtab, .strtab, .shstrtab).
    let mut strtab = vec![0u8];
    let mut symtab = vec![0u8; 16];
    for (name, value) in symbols {
        let at = strtab.len() as u32;
        strtab.extend_from_slice(name.as_bytes());
        strtab.push(0);
        symtab.extend_from_slice(&at.to_le_bytes());
        symtab.extend_from_slice(&value.to_le_bytes());
        symtab.extend_from_slice(&0u32.to_le_bytes()); // st_size
        symtab.push(0x10); // STB_GLOBAL, STT_NOTYPE
        symtab.push(0);
        symtab.extend_from_slice(&0xfff1u16.to_le_bytes()); // SHN_ABS
    }
    let shstrtab = b"\0.symtab\0.strtab\0.shstrtab\0".to_vec();
    let with_sections = !symbols.is_empty();
    let symtab_off = data_start + data_len;
    let strtab_off = symtab_off + symtab.len() as u32;
    let shstrtab_off = strtab_off + strtab.len() as u32;
    let shoff = (shstrtab_off + shstrtab.len() as u32).next_multiple_of(4);

    let mut out = Vec::new();
    out.extend_from_slice(&[0x7F, b'E', b'L', b'F', 1, 1, 1, 0]);
    out.extend_from_slice(&[0; 8]);
    out.extend_from_slice(&2u16.to_le_bytes()); // ET_EXEC
    out.extend_from_slice(&42u16.to_le_bytes()); // EM_SH
    out.extend_from_slice(&1u32.to_le_bytes());
    out.extend_from_slice(&entry.to_le_bytes());
    out.extend_from_slice(&phoff.to_le_bytes());
    out.extend_from_slice(&(if with_sections { shoff } else { 0 }).to_le_bytes());
    out.extend_from_slice(&0u32.to_le_bytes()); // flags
    out.extend_from_slice(&52u16.to_le_bytes());
    out.extend_from_slice(&32u16.to_le_bytes());
    out.extend_from_slice(&(segs.len() as u16).to_le_bytes());
    out.extend_from_slice(&40u16.to_le_bytes());
    out.extend_from_slice(&(if with_sections { 4u16 } else { 0 }).to_le_bytes());
    out.extend_from_slice(&(if with_sections { 3u16 } else { 0 }).to_le_bytes());
    let mut offset = data_start;
    for s in segs {
        for v in [1u32, offset, s.vaddr, s.paddr, s.bytes.len() as u32, s.memsz, 7, 4] {
            out.extend_from_slice(&v.to_le_bytes());
        }
        offset += s.bytes.len() as u32;
    }
    for s in segs {
        out.extend_from_slice(&s.bytes);
    }
    if !with_sections {
        return out;
    }
    out.extend_from_slice(&symtab);
    out.extend_from_slice(&strtab);
    out.extend_from_slice(&shstrtab);
    out.resize(shoff as usize, 0);
    let section = |out: &mut Vec<u8>, fields: [u32; 10]| {
        for v in fields {
            out.extend_from_slice(&v.to_le_bytes());
        }
    };
    // name, type, flags, addr, offset, size, link, info, addralign, entsize
    section(&mut out, [0; 10]);
    section(&mut out, [1, 2, 0, 0, symtab_off, symtab.len() as u32, 2, 1, 4, 16]); // SHT_SYMTAB
    section(&mut out, [9, 3, 0, 0, strtab_off, strtab.len() as u32, 0, 0, 1, 0]); // SHT_STRTAB
    section(&mut out, [17, 3, 0, 0, shstrtab_off, shstrtab.len() as u32, 0, 0, 1, 0]);
    out
}

/// Instruction words as little-endian bytes.
pub fn code(words: &[u16]) -> Vec<u8> {
    words.iter().flat_map(|w| w.to_le_bytes()).collect()
}

/// A program at P1 0x88001000 (physical 0x08001000).
pub fn program(words: &[u16]) -> Vec<u8> {
    let bytes = code(words);
    let memsz = bytes.len() as u32;
    elf(0x8800_1000, &[Seg { paddr: 0x0800_1000, vaddr: 0x8800_1000, bytes, memsz }])
}
