//! Where compiled translations live: one region, packed end to end.
//!
//! Why: Cranelift's own providers make each finalized function its own
//! page (they change page protections at every `finalize_definitions`,
//! which the tier calls once per translation). A translation is about
//! 3 KiB, so each one took a page of its own and every hand-over from one
//! to the next landed on another page: on the Linux hackbench run the
//! first instruction of the translations took one in eight of the
//! samples in compiled code, the cost of a fresh instruction-TLB entry.
//! Here translations follow one another at their requested alignment in
//! one readable, writable and executable region, reserved at once (the
//! host commits pages as they are written) and freed with its module.
//!
//! Writable and executable at once, because code is compiled on one thread
//! (`background`) while another runs the translations already made, some
//! on the same page: no page can be taken back to read-write while code
//! may run on it. Only x86-64 hosts use it: their instruction caches
//! follow stores without being told (and a translation reaches the
//! simulating thread only through a channel, after it is written). Other
//! hosts, and any where the host refuses such a mapping, keep Cranelift's
//! provider (`new_module`).
//!
//! Owns: the code region. Must not touch: anything in it once handed out.

use cranelift_jit::{BranchProtection, JITMemoryKind, JITMemoryProvider};
use cranelift_module::ModuleResult;
use std::io;

/// A bump allocator over one region.
pub(super) struct PackedCode {
    region: region::Allocation,
    /// Bytes handed out so far.
    used: usize,
}

// SAFETY: the region is owned by this value alone; the pointers handed out
// are used by whoever the module gives them to, as with Cranelift's own
// providers.
unsafe impl Send for PackedCode {}

impl PackedCode {
    /// Reserve `bytes` of address space for code, or `None` where the host
    /// does not allow writable and executable memory (or is not x86-64).
    pub fn reserve(bytes: usize) -> Option<PackedCode> {
        if !cfg!(target_arch = "x86_64") {
            return None;
        }
        let region = region::alloc(bytes, region::Protection::READ_WRITE_EXECUTE).ok()?;
        Some(PackedCode { region, used: 0 })
    }
}

impl JITMemoryProvider for PackedCode {
    fn allocate(&mut self, size: usize, align: u64, _kind: JITMemoryKind) -> io::Result<*mut u8> {
        let align = usize::try_from(align).ok().filter(|a| a.is_power_of_two()).ok_or_else(|| io::Error::other("bad alignment"))?;
        let start = self.used.checked_add(align - 1).map(|s| s & !(align - 1));
        let end = start.and_then(|s| s.checked_add(size));
        match (start, end) {
            (Some(start), Some(end)) if end <= self.region.len() => {
                self.used = end;
                // SAFETY: `start..end` lies inside the region.
                Ok(unsafe { self.region.as_mut_ptr::<u8>().add(start) })
            }
            _ => Err(io::Error::other(format!(
                "the code region is full ({} of {} bytes used, {size} asked for)",
                self.used,
                self.region.len()
            ))),
        }
    }

    unsafe fn free_memory(&mut self) {
        // The region goes with this value (`Translator::reset` drops the
        // module right after).
        self.used = self.region.len();
    }

    fn finalize(&mut self, _branch_protection: BranchProtection) -> ModuleResult<()> {
        // Nothing to change: the region is executable throughout, and x86-64
        // keeps its instruction cache coherent with stores.
        Ok(())
    }
}

#[cfg(all(test, target_arch = "x86_64"))]
mod tests {
    use super::*;

    #[test]
    fn translations_follow_one_another_at_their_alignment() {
        let mut code = PackedCode::reserve(1 << 20).expect("a writable, executable region");
        let a = code.allocate(100, 16, JITMemoryKind::Executable).unwrap() as usize;
        let b = code.allocate(100, 16, JITMemoryKind::Executable).unwrap() as usize;
        let c = code.allocate(8, 64, JITMemoryKind::Executable).unwrap() as usize;
        // Not a page each: the next starts where the last ended, rounded
        // up to the alignment asked for.
        assert_eq!(b - a, 112);
        assert_eq!(c - a, 256);
        assert_eq!(c % 64, 0);
    }

    #[test]
    fn a_full_region_refuses_with_the_sizes_and_hands_out_nothing_beyond_it() {
        let page = region::page::size();
        let mut code = PackedCode::reserve(page).unwrap();
        code.allocate(page - 16, 16, JITMemoryKind::Executable).unwrap();
        let e = code.allocate(32, 16, JITMemoryKind::Executable).unwrap_err();
        assert_eq!(e.to_string(), format!("the code region is full ({} of {page} bytes used, 32 asked for)", page - 16));
        // What still fits is handed out after a refusal.
        assert!(code.allocate(16, 16, JITMemoryKind::Executable).is_ok());
        assert!(code.allocate(usize::MAX, 16, JITMemoryKind::Executable).is_err());
        assert!(code.allocate(1, 3, JITMemoryKind::Executable).is_err());
    }

    #[test]
    fn code_written_to_the_region_runs_at_once() {
        let mut code = PackedCode::reserve(1 << 16).unwrap();
        for value in [7u8, 42] {
            // mov eax, imm32; ret
            let bytes = [0xB8, value, 0, 0, 0, 0xC3];
            let at = code.allocate(bytes.len(), 16, JITMemoryKind::Executable).unwrap();
            // SAFETY: `at` has room for the bytes, which are a whole function.
            let f = unsafe {
                std::ptr::copy_nonoverlapping(bytes.as_ptr(), at, bytes.len());
                std::mem::transmute::<*mut u8, extern "C" fn() -> u32>(at)
            };
            assert_eq!(f(), value as u32);
        }
    }
}
