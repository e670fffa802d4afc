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
            let start = (end + INITRD_GAP).next_multiple_of(PAGE);
            let ram_end = ram.0 + ram.1;
            let room = ram_end.saturating_sub(start);
            if bytes.len() as u64 > room as u64 {
                return Err(BootError::InitrdTooLarge { size: bytes.len(), room });
            }
            Some((start, bytes))
        }
    };

    let mut line = command_line.as_bytes().to_vec();
    line.push(0);
    bus.load(0, zero_page + COMMAND_LINE, &line).expect("zero page is in the loaded image");
    let (loader, start, size) = match placed {
        Some((start, bytes)) => {
            bus.load(0, start, bytes).expect("range checked above");
            (LOADER_TYPE_UNKNOWN, start - ram.0, bytes.len() as u32)
        }
        None => (0, 0, 0),
    };
    for (offset, value) in [(LOADER_TYPE, loader), (INITRD_START, start), (INITRD_SIZE, size)] {
        bus.load(0, zero_page + offset, &value.to_le_bytes()).expect("zero page is in the loaded image");
    }
    Ok(BootParams {
        initrd: placed.map(|(start, bytes)| (start, bytes.len() as u32)),
        command_line: command_line.to_string(),
    })
}
