//! What the `rp1` command's hostile-input tests share: running the built
//! binary, scratch directories, and guests assembled by hand (so these
//! tests need no cross compiler).
//!
//! Owns: these helpers. Must not touch: the repository's files.

#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

/// The `rp1` binary under test: this build's, or the one RP1_BIN names
/// (to show that a test fails on an older build).
pub fn rp1_bin() -> PathBuf {
    std::env::var_os("RP1_BIN").map(PathBuf::from).unwrap_or_else(|| PathBuf::from(env!("CARGO_BIN_EXE_rp1")))
}

pub fn rp1(args: &[&str]) -> Output {
    Command::new(rp1_bin()).args(args).stdin(Stdio::null()).output().expect("run rp1")
}

pub fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

pub fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

/// A fresh scratch directory for one test, removed when it ends.
pub struct Scratch(PathBuf);

impl std::ops::Deref for Scratch {
    type Target = Path;
    fn deref(&self) -> &Path {
        &self.0
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

pub fn scratch(test: &str) -> Scratch {
    let dir = std::env::temp_dir().join(format!("rp1-cli-{}-{test}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    Scratch(dir)
}

/// The path as a &str, for an argument list.
pub fn s(p: &Path) -> &str {
    p.to_str().expect("a UTF-8 path")
}

/// A little-endian SuperH ELF32 executable with one loadable segment
/// holding `code` (16-bit instructions) at virtual `vaddr`, physical
/// `vaddr & 0x1fffffff`, entered at its start, and a symbol table with
/// `symbols` (global, absolute) when there are any.
pub fn sh_elf(vaddr: u32, code: &[u16], symbols: &[(&str, u32)]) -> Vec<u8> {
    sh_elf_entered_at(vaddr, vaddr, code, symbols)
}

/// `sh_elf` entered at `entry` (anywhere, even outside the segment).
pub fn sh_elf_entered_at(vaddr: u32, entry: u32, code: &[u16], symbols: &[(&str, u32)]) -> Vec<u8> {
    const EHSIZE: u32 = 52;
    const PHENTSIZE: u32 = 32;
    let offset = EHSIZE + PHENTSIZE;
    let bytes: Vec<u8> = code.iter().flat_map(|w| w.to_le_bytes()).collect();
    let mut strtab = vec![0u8];
    let mut symtab = vec![0u8; 16];
    for (name, value) in symbols {
        let at = strtab.len() as u32;
        strtab.extend_from_slice(name.as_bytes());
        strtab.push(0);
        symtab.extend_from_slice(&at.to_le_bytes());
        symtab.extend_from_slice(&value.to_le_bytes());
        symtab.extend_from_slice(&0u32.to_le_bytes());
        symtab.extend_from_slice(&[0x10, 0]); // STB_GLOBAL, STT_NOTYPE
        symtab.extend_from_slice(&0xfff1u16.to_le_bytes()); // SHN_ABS
    }
    let shstrtab = b"\0.symtab\0.strtab\0.shstrtab\0";
    let symtab_off = offset + bytes.len() as u32;
    let strtab_off = symtab_off + symtab.len() as u32;
    let shstrtab_off = strtab_off + strtab.len() as u32;
    let shoff = (shstrtab_off + shstrtab.len() as u32).next_multiple_of(4);
    let sections = !symbols.is_empty();

    let mut f = Vec::new();
    let half = |f: &mut Vec<u8>, v: u16| f.extend_from_slice(&v.to_le_bytes());
    let word = |f: &mut Vec<u8>, v: u32| f.extend_from_slice(&v.to_le_bytes());
    f.extend_from_slice(&[0x7f, b'E', b'L', b'F', 1, 1, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0]);
    half(&mut f, 2); // e_type: ET_EXEC
    half(&mut f, 42); // e_machine: EM_SH
    word(&mut f, 1); // e_version
    word(&mut f, entry); // e_entry
    word(&mut f, EHSIZE); // e_phoff
    word(&mut f, if sections { shoff } else { 0 }); // e_shoff
    word(&mut f, 0); // e_flags
    half(&mut f, EHSIZE as u16);
    half(&mut f, PHENTSIZE as u16);
    half(&mut f, 1); // e_phnum
    half(&mut f, 40); // e_shentsize
    half(&mut f, if sections { 4 } else { 0 }); // e_shnum
    half(&mut f, if sections { 3 } else { 0 }); // e_shstrndx
    word(&mut f, 1); // p_type: PT_LOAD
    word(&mut f, offset);
    word(&mut f, vaddr);
    word(&mut f, vaddr & 0x1fff_ffff); // p_paddr
    word(&mut f, bytes.len() as u32); // p_filesz
    word(&mut f, bytes.len() as u32); // p_memsz
    word(&mut f, 5); // p_flags: R X
    word(&mut f, 4); // p_align
    f.extend_from_slice(&bytes);
    if !sections {
        return f;
    }
    f.extend_from_slice(&symtab);
    f.extend_from_slice(&strtab);
    f.extend_from_slice(shstrtab);
    f.resize(shoff as usize, 0);
    // name, type, flags, addr, offset, size, link, info, addralign, entsize
    for fields in [
        [0; 10],
        [1, 2, 0, 0, symtab_off, symtab.len() as u32, 2, 1, 4, 16],
        [9, 3, 0, 0, strtab_off, strtab.len() as u32, 0, 0, 1, 0],
        [17, 3, 0, 0, shstrtab_off, shstrtab.len() as u32, 0, 0, 1, 0],
    ] {
        for v in fields {
            word(&mut f, v);
        }
    }
    f
}

/// Where the bare-metal guests below are linked (P1, DRAM).
pub const BASE: u32 = 0x8800_1000;

/// Assembles straight-line code with 32-bit literals placed after it.
struct Asm {
    code: Vec<u16>,
    /// (index of a MOV.L @(disp,PC),Rn, literal index)
    loads: Vec<(usize, usize)>,
    literals: Vec<u32>,
}

impl Asm {
    fn new() -> Asm {
        Asm { code: Vec::new(), loads: Vec::new(), literals: Vec::new() }
    }

    /// MOV.L @(literal),Rn.
    fn mov_l(&mut self, rn: u16, value: u32) {
        self.loads.push((self.code.len(), self.literals.len()));
        self.literals.push(value);
        self.code.push(0xD000 | rn << 8);
    }

    fn op(&mut self, word: u16) {
        self.code.push(word);
    }

    fn finish(mut self) -> Vec<u16> {
        if self.code.len() % 2 == 1 {
            self.code.push(0x0009);
        }
        let pool = self.code.len() * 2;
        for (at, lit) in &self.loads {
            let pc = at * 2;
            let target = pool + lit * 4;
            let disp = (target - (pc & !3) - 4) / 4;
            assert!(disp < 256, "literal out of reach");
            self.code[*at] |= disp as u16;
        }
        for lit in &self.literals {
            self.code.push(*lit as u16);
            self.code.push((lit >> 16) as u16);
        }
        self.code
    }
}

/// Writes `text` to SCIF0, then `status` to SIMCTL's exit register.
pub fn print_and_exit(text: &[u8], status: u32) -> Vec<u16> {
    let mut a = Asm::new();
    a.mov_l(1, 0xffc3_000c); // SCIF0 SCFTDR
    for &b in text {
        a.op(0xE000 | b as u16); // MOV #b,R0
        a.op(0x2100); // MOV.B R0,@R1
    }
    a.mov_l(2, 0xbbff_0000); // SIMCTL EXIT
    a.mov_l(0, status);
    a.op(0x2202); // MOV.L R0,@R2
    a.op(0xAFFE); // BRA .
    a.op(0x0009);
    a.finish()
}

/// Writes `byte` to SCIF0 `count` times (at least once), then exits with 0.
pub fn print_repeated(byte: u8, count: u32) -> Vec<u16> {
    let mut a = Asm::new();
    a.mov_l(1, 0xffc3_000c); // SCIF0 SCFTDR
    a.mov_l(2, count.max(1));
    a.op(0xE000 | byte as u16); // MOV #byte,R0
    a.op(0x2100); // loop: MOV.B R0,@R1
    a.op(0x4210); // DT R2
    a.op(0x8BFC); // BF loop
    a.mov_l(3, 0xbbff_0000);
    a.op(0xE000); // MOV #0,R0
    a.op(0x2302); // MOV.L R0,@R3
    a.op(0xAFFE);
    a.op(0x0009);
    a.finish()
}

/// `bra .; nop`: never ends.
pub fn spin() -> Vec<u16> {
    vec![0xAFFE, 0x0009]
}

/// Sets SR to MD only (interrupts open), then sleeps; nothing will ever
/// raise an interrupt.
pub fn sleep_open() -> Vec<u16> {
    let mut a = Asm::new();
    a.mov_l(0, 0x4000_0000);
    a.op(0x400E); // LDC R0,SR
    a.op(0x001B); // SLEEP
    a.op(0xAFFD); // BRA -> SLEEP
    a.op(0x0009);
    a.finish()
}

/// SLEEP in the reset state (SR.BL = 1, IMASK = 15): the deliberate halt.
pub fn sleep_masked() -> Vec<u16> {
    vec![0x001B, 0xAFFD, 0x0009]
}

/// Writes a byte to each of SCIF0-3 for ever (TE set on all four first).
pub fn flood() -> Vec<u16> {
    let mut a = Asm::new();
    a.mov_l(1, 0xffc3_0000);
    a.mov_l(2, 0x0001_0000);
    a.op(0xE030); // MOV #0x30,R0
    a.op(0x6313); // MOV R1,R3
    for _ in 0..4 {
        a.op(0x8134); // MOV.W R0,@(8,R3): SCSCR
        a.op(0x332C); // ADD R2,R3
    }
    let top = a.code.len();
    a.op(0x6313);
    for _ in 0..4 {
        a.op(0x803C); // MOV.B R0,@(12,R3): SCFTDR
        a.op(0x332C);
    }
    let here = a.code.len();
    let disp = (top as i32 - here as i32 - 2) as u16 & 0xfff;
    a.op(0xA000 | disp); // BRA top
    a.op(0x0009);
    a.finish()
}

/// Writes `elf` to `dir/name` and returns its path.
pub fn write(dir: &Path, name: &str, elf: &[u8]) -> PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, elf).unwrap();
    path
}

/// A program image at [`BASE`].
pub fn program(dir: &Path, name: &str, code: &[u16]) -> PathBuf {
    write(dir, name, &sh_elf(BASE, code, &[]))
}

/// `mov #status, r4; trapa #0x6e` (the hypervisor's EXIT), then `bra .;
/// nop`; a status of 0x80 or more is built from its bytes.
pub fn hv_exit_guest(status: u32) -> Vec<u16> {
    let mut a = Asm::new();
    a.mov_l(4, status);
    a.op(0xc36e);
    a.op(0xaffe);
    a.op(0x0009);
    a.finish()
}

/// A one-guest description for `rp1 hv`: `image` at 0x08800000 (8 MiB),
/// one vCPU on core 0.
pub fn description(dir: &Path, image: &str) -> PathBuf {
    let text = format!(
        "[hypervisor]\npolicy = \"none\"\n\n[[guest]]\nname = \"g\"\nclass = \"rtos\"\npriority = 10\n\
         image = \"{image}\"\npartition = {{ base = 0x08800000, size = 0x00800000 }}\nvcpus = [{{ core = 0 }}]\n"
    );
    let path = dir.join("machine.toml");
    std::fs::write(&path, text).unwrap();
    path
}
