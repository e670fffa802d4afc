//! Where things are in a core's URAM (the wasm linear memory, which the C
//! runtime places over it) and the board's fixed numbers. The build
//! (`scripts/build-hv.sh`) checks that the linker's statics end below the
//! trace ring; `docs/board-image.md` draws the map.
//!
//! Owns: these offsets. Must not touch: the trace ring's format
//! (`percore::tracebuf`).

pub use spumone_percore::tracebuf::{URAM_BYTES, URAM_C_STACK, URAM_TRACE, URAM_TRACE_BYTES};

/// The Rust (shadow) stack: linear memory from 0 up to here, growing down
/// (`--stack-first`, `-zstack-size` in the build).
pub const STACK_TOP: u32 = 0x4000;
/// Filled into unused stack at boot; the reader finds the high-water mark
/// as the lowest word that no longer holds it.
pub const STACK_PATTERN: u32 = spumone_percore::tracebuf::STACK_PATTERN;
/// `struct percore` (board/rt/runtime.c) is at the start of each core's
/// OL memory; +16 is `direct_general`, +20 `direct_count` (entry.S's
/// direct exception paths jump through the one and count in the other,
/// and its exits choose the vector table by the one). The stub's other
/// counts follow (runtime.c; hosting/src/runner.rs reads them).
pub const PERCORE_DIRECT_GENERAL: u32 = 0xe500_0010;
/// Exit status a hypervisor panic ends the run with (| core).
pub const PANIC_EXIT: u32 = 0xfa00_0000;

/// Fill the Rust stack below the current frame with [`STACK_PATTERN`].
pub fn fill_stack_pattern() {
    let marker = 0u32;
    let sp = core::ptr::addr_of!(marker) as u32;
    let end = sp.saturating_sub(256) & !3;
    let mut at = 16u32;
    while at < end {
        // SAFETY: linear memory [16, sp - 256) is stack this core has not
        // used yet (it grows down from STACK_TOP); no Rust value lives there.
        unsafe { core::ptr::write_volatile(at as *mut u32, STACK_PATTERN) };
        at += 4;
    }
}
