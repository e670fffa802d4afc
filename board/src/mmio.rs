//! The hardware accessors the C side provides (`rt/entry.S` implements the
//! MMIO ones in a few SH-4A instructions each), and the register-access
//! trait over them.
//!
//! Owns: the import list, which is the whole interface between the Rust
//! half and the machine. Must not touch: register meanings
//! (`percore::rp1` has them).

use spumone_percore::rp1::Registers;

#[link(wasm_import_module = "env")]
extern "C" {
    fn hw_read32(addr: u32) -> u32;
    fn hw_write32(addr: u32, value: u32);
    fn hw_read16(addr: u32) -> u32;
    fn hw_write16(addr: u32, value: u32);
    fn hw_read8(addr: u32) -> u32;
    fn hw_write8(addr: u32, value: u32);
    /// Copy `len` bytes from physical address `phys` (a guest partition,
    /// already checked) to linear-memory offset `dst`.
    fn hw_copy_in(phys: u32, dst: u32, len: u32);
    /// Copy `n` words between P2 address `addr` (the CSM) and linear memory
    /// `words`, a word at a time in the order given.
    fn hw_words_in(addr: u32, words: u32, n: u32);
    fn hw_words_out(addr: u32, words: u32, n: u32);
    /// If the word at P2 address `addr` (the CSM) holds `expected`, write
    /// `new`, atomically against every core (`movli.l`/`movco.l`, then
    /// `synco`). Returns the word found.
    fn hw_cas(addr: u32, expected: u32, new: u32) -> u32;
    /// `synco`: every access before it is done for every core before any
    /// after it.
    fn hw_synco();
    /// End everything: the run stops with `code` (the C side writes it to
    /// SIMCTL, the simulator's power switch, and sleeps).
    fn hw_halt(code: u32);
}

/// MMIO through the imports.
pub struct Mmio;

impl Registers for Mmio {
    fn read32(&mut self, addr: u32) -> u32 {
        // SAFETY: the imports touch only the address given; every address
        // the hypervisor uses is a register or memory of the RP1.
        unsafe { hw_read32(addr) }
    }
    fn write32(&mut self, addr: u32, value: u32) {
        unsafe { hw_write32(addr, value) }
    }
    fn read16(&mut self, addr: u32) -> u16 {
        unsafe { hw_read16(addr) as u16 }
    }
    fn write16(&mut self, addr: u32, value: u16) {
        unsafe { hw_write16(addr, value as u32) }
    }
    fn read8(&mut self, addr: u32) -> u8 {
        unsafe { hw_read8(addr) as u8 }
    }
    fn write8(&mut self, addr: u32, value: u8) {
        unsafe { hw_write8(addr, value as u32) }
    }
}

/// Copy guest memory (checked by the caller to be in the guest's partition).
pub fn copy_in(phys: u32, buf: &mut [u8]) {
    // SAFETY: `buf` is ours; the C side writes exactly `buf.len()` bytes.
    unsafe { hw_copy_in(phys, buf.as_mut_ptr() as u32, buf.len() as u32) }
}

/// Compare-and-swap one word of the CSM (P2 address): the word found.
pub fn compare_exchange(addr: u32, expected: u32, new: u32) -> u32 {
    // SAFETY: the import touches only the word at `addr`.
    unsafe { hw_cas(addr, expected, new) }
}

/// Words of the CSM (P2 address) into `words`.
pub fn copy_words_in(addr: u32, words: &mut [u32]) {
    // SAFETY: `words` is ours; the C side writes exactly its length.
    unsafe { hw_words_in(addr, words.as_mut_ptr() as u32, words.len() as u32) }
}

/// `words` into the CSM (P2 address).
pub fn copy_words_out(addr: u32, words: &[u32]) {
    // SAFETY: the C side only reads `words`.
    unsafe { hw_words_out(addr, words.as_ptr() as u32, words.len() as u32) }
}

pub fn synco() {
    unsafe { hw_synco() }
}

pub fn halt(code: u32) -> ! {
    unsafe { hw_halt(code) };
    #[allow(clippy::empty_loop)]
    loop {}
}
