//! What a boot loader does for Linux/SH beyond copying the image: fill in
//! the boot parameters in the kernel's `empty_zero_page` and place an
//! initramfs in RAM.
//!
//! Linux/SH reads them from fixed offsets of that page
//! (`arch/sh/include/asm/setup.h`): LOADER_TYPE at +0x0c, INITRD_START at
//! +0x10 (an offset from the start of RAM, not an address), INITRD_SIZE at
//! +0x14, and the command line, NUL-terminated, at +0x100. `check_for_initrd`
//! ignores the initrd unless LOADER_TYPE is non-zero, and rejects one that is
//! not page-aligned or does not lie in RAM.
//!
//! This module owns only those bytes; the ELF image itself is loaded by
//! [`crate::loader`].

use crate::bus::{Rp1Bus, DRAM_BASE};
use crate::loader::{physical, symbol_address};

/// Offsets in `empty_zero_page`.
const LOADER_TYPE: u32 = 0x0c;
const INITRD_START: u32 = 0x10;
const INITRD_SIZE: u32 = 0x14;
const COMMAND_LINE: u32 = 0x100;
/// COMMAND_LINE_SIZE for SH, including the terminating NUL.
pub const COMMAND_LINE_SIZE: usize = 256;
const PAGE: u32 = 4096;
/// Left free between the kernel's `_end` and the initramfs, for the
/// kernel's early allocations that are not yet tracked by memblock.
const INITRD_GAP: u32 = 1 << 20;
/// Any non-zero value says "a loader set these"; 0xff is "unknown loader".
const LOADER_TYPE_UNKNOWN: u32 = 0xff;

/// Why the boot parameters could not be set.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum BootError {
    #[error("the image has no `empty_zero_page` symbol, so it is not a Linux/SH kernel that takes boot parameters")]
    NoZeroPage,
    #[error("the image has no `_end` symbol to place the initramfs after")]
    NoEnd,
    #[error("the command line is {len} bytes; Linux/SH takes at most {max}")]
    CommandLineTooLong { len: usize, max: usize },
    #[error("the command line contains a NUL byte")]
    CommandLineNul,
    #[error("the initramfs ({size} bytes) does not fit in RAM after the kernel (room for {room} bytes)")]
    InitrdTooLarge { size: usize, room: u32 },
    #[error("empty_zero_page at {addr:#010x} is not in RAM ({}); the boot parameters need {BOOT_PARAMS_SIZE:#x} bytes there", span(*ram))]
    ZeroPageOutsideRam { addr: u32, ram: (u32, u32) },
    #[error("the kernel's end (`_end`) at {addr:#010x} is not in RAM ({}), so there is nowhere after it to place the initramfs", span(*ram))]
    EndOutsideRam { addr: u32, ram: (u32, u32) },
}

/// Bytes of `empty_zero_page` the loader writes: the parameters up to and
/// including the command line.
pub const BOOT_PARAMS_SIZE: u32 = COMMAND_LINE + COMMAND_LINE_SIZE as u32;

/// "0x08000000-0x0fffffff" for RAM = (base, size).
fn span((base, size): (u32, u32)) -> String {
    let last = base as u64 + (size as u64).max(1) - 1;
    format!("{base:#010x}-{last:#010x}")
}

/// Whether `len` bytes at physical `addr` lie in `ram` = (base, size).
fn in_ram(addr: u32, len: u64, (base, size): (u32, u32)) -> bool {
    addr >= base && addr as u64 + len <= base as u64 + size as u64
}

/// Where the loader put things.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BootParams {
    /// Physical address of the initramfs and its size, if one was given.
    pub initrd: Option<(u32, u32)>,
    /// The command line written to the zero page.
    pub command_line: String,
}

/// Write the boot parameters of the kernel `image` (already loaded into
/// `bus`) and copy `initrd` into RAM after it. Validates everything before
/// writing anything.
pub fn set_boot_params(
    bus: &mut Rp1Bus,
    image: &[u8],
    command_line: &str,
    initrd: Option<&[u8]>,
) -> Result<BootParams, BootError> {
    let ram = (DRAM_BASE, bus.dram_size() as u32);
    set_boot_params_in(bus, image, command_line, initrd, ram)
}

/// As [`set_boot_params`], for a kernel whose RAM is `ram` = (physical
/// base, size) rather than all of DRAM: a guest's partition, with the
/// kernel configured for it (`CONFIG_MEMORY_START`, `CONFIG_MEMORY_SIZE`).
/// INITRD_START is an offset from that base.
pub fn set_boot_params_in(
    bus: &mut Rp1Bus,
    image: &[u8],
    command_line: &str,
    initrd: Option<&[u8]>,
    ram: (u32, u32),
) -> Result<BootParams, BootError> {
    let zero_page = physical(symbol_address(image, "empty_zero_page").ok_or(BootError::NoZeroPage)?);
    if !in_ram(zero_page, BOOT_PARAMS_SIZE as u64, ram) || !bus.is_memory_range(0, zero_page, BOOT_PARAMS_SIZE as usize) {
        return Err(BootError::ZeroPageOutsideRam { addr: zero_page, ram });
    }
    if command_line.len() >= COMMAND_LINE_SIZE {
        return Err(BootError::CommandLineTooLong { len: command_line.len(), max: COMMAND_LINE_SIZE - 1 });
    }
    if command_line.contains('\0') {
        return Err(BootError::CommandLineNul);
    }
    let placed = match initrd {
        None => None,
        Some(bytes) => {
            let end = physical(symbol_address(image, "_end").ok_or(BootError::NoEnd)?);
            // `_end` is one past the kernel: it may be the end of RAM.
            if !in_ram(end, 0, ram) {
                return Err(BootError::EndOutsideRam { addr: end, ram });
            }
            // In u64: `end` is at most 2^29, RAM ends below 2^32.
            let start = (end as u64 + INITRD_GAP as u64).next_multiple_of(PAGE as u64);
            let ram_end = ram.0 as u64 + ram.1 as u64;
            let room = ram_end.saturating_sub(start);
            if bytes.len() as u64 > room || !bus.is_memory_range(0, start.min(u32::MAX as u64) as u32, bytes.len()) {
                return Err(BootError::InitrdTooLarge { size: bytes.len(), room: room as u32 });
            }
            Some((start as u32, bytes))
        }
    };

    // Every range below was checked above, so the loads cannot fail.
    let mut line = command_line.as_bytes().to_vec();
    line.push(0);
    bus.load(0, zero_page + COMMAND_LINE, &line).expect("zero page checked to be in RAM");
    let (loader, start, size) = match placed {
        Some((start, bytes)) => {
            bus.load(0, start, bytes).expect("initramfs range checked to be in RAM");
            (LOADER_TYPE_UNKNOWN, start - ram.0, bytes.len() as u32)
        }
        None => (0, 0, 0),
    };
    for (offset, value) in [(LOADER_TYPE, loader), (INITRD_START, start), (INITRD_SIZE, size)] {
        bus.load(0, zero_page + offset, &value.to_le_bytes()).expect("zero page checked to be in RAM");
    }
    Ok(BootParams {
        initrd: placed.map(|(start, bytes)| (start, bytes.len() as u32)),
        command_line: command_line.to_string(),
    })
}
