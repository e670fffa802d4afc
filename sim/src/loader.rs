//! Loading ELF images into the simulated machine, with the `object` crate.
//!
//! An image must be a 32-bit little-endian SuperH executable. Each PT_LOAD
//! segment is copied to its physical address: p_paddr, or the segment's
//! virtual address folded into the 29-bit physical space when the image
//! gives a P1/P2 address there (as Linux's vmlinux and our test programs
//! do). Every segment must lie entirely in memory; the bytes beyond
//! p_filesz are zeroed. Nothing is written unless the whole image is valid.
//!
//! [`read_image`] reads an image file for that: its ELF header first, so
//! that something else (`/dev/zero`, a text file) is refused after 52
//! bytes, and at most [`MAX_IMAGE_FILE`] bytes in all.

use crate::bus::Rp1Bus;
use object::elf::{FileHeader32, PT_LOAD};
use object::read::elf::{FileHeader, ProgramHeader};
use object::Endianness;

/// Why an image could not be loaded.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LoadError {
    #[error("not a valid ELF file: {0}")]
    Malformed(String),
    #[error("not a 32-bit little-endian ELF file")]
    WrongClass,
    #[error("ELF machine {0} is not SuperH (42)")]
    WrongMachine(u16),
    #[error("ELF type {0} is not an executable (ET_EXEC)")]
    NotExecutable(u16),
    #[error("segment {index} ({size:#x} bytes at physical {addr:#010x}) is not inside the machine's memory")]
    OutsideMemory { index: usize, addr: u32, size: u32 },
    #[error("segment {index} has p_filesz {filesz:#x} larger than p_memsz {memsz:#x}")]
    BadSegmentSize { index: usize, filesz: u32, memsz: u32 },
    #[error("the image has no loadable segment")]
    NothingToLoad,
}

/// The largest image file [`read_image`] reads: 256 MiB. Everything an
/// image loads must fit in the machine's memory (at most 128 MiB of DRAM);
/// the rest is symbols and debugging information, which a kernel built
/// with full debugging information keeps well below this.
pub const MAX_IMAGE_FILE: u64 = 256 << 20;

/// Bytes of an ELF32 file header.
const ELF32_HEADER: u64 = 52;

/// Why an image file could not be read.
#[derive(Debug, thiserror::Error)]
pub enum ReadError {
    #[error("{0}")]
    Io(#[from] std::io::Error),
    #[error(transparent)]
    Header(#[from] LoadError),
    #[error("the file is {size} bytes; an image file may have at most {max} bytes (256 MiB)", max = MAX_IMAGE_FILE)]
    TooLarge { size: u64 },
    #[error("the file holds more than {max} bytes; an image file may have at most that many (256 MiB)", max = MAX_IMAGE_FILE)]
    TooLong,
}

/// Read the ELF image file at `path`: its header first, which must be one
/// [`load_elf`] accepts, then the rest, at most [`MAX_IMAGE_FILE`] bytes
/// in all (a regular file's size is checked before reading it).
pub fn read_image(path: &std::path::Path) -> Result<Vec<u8>, ReadError> {
    use std::io::Read;
    let mut file = std::fs::File::open(path)?;
    let mut bytes = Vec::new();
    (&mut file).take(ELF32_HEADER).read_to_end(&mut bytes)?;
    check_header(&bytes)?;
    let meta = file.metadata()?;
    if meta.is_file() && meta.len() > MAX_IMAGE_FILE {
        return Err(ReadError::TooLarge { size: meta.len() });
    }
    file.take(MAX_IMAGE_FILE + 1 - ELF32_HEADER).read_to_end(&mut bytes)?;
    if bytes.len() as u64 > MAX_IMAGE_FILE {
        return Err(ReadError::TooLong);
    }
    Ok(bytes)
}

/// The contents of the file at `path` if it holds at most `limit` bytes,
/// `Ok(None)` if it holds more: at most `limit + 1` bytes are read, so a
/// huge or endless file (`/dev/zero`) costs no more than that.
pub fn read_at_most(path: &std::path::Path, limit: u64) -> std::io::Result<Option<Vec<u8>>> {
    use std::io::Read;
    let mut bytes = Vec::new();
    std::fs::File::open(path)?.take(limit.saturating_add(1)).read_to_end(&mut bytes)?;
    Ok((bytes.len() as u64 <= limit).then_some(bytes))
}

/// Check the ELF header at the start of `image`: a 32-bit little-endian
/// SuperH executable.
fn check_header(image: &[u8]) -> Result<(&FileHeader32<Endianness>, Endianness), LoadError> {
    let header = FileHeader32::<Endianness>::parse(image).map_err(|e| LoadError::Malformed(e.to_string()))?;
    let endian = header.endian().map_err(|e| LoadError::Malformed(e.to_string()))?;
    if endian != Endianness::Little {
        return Err(LoadError::WrongClass);
    }
    let machine = header.e_machine(endian);
    if machine != object::elf::EM_SH {
        return Err(LoadError::WrongMachine(machine));
    }
    let kind = header.e_type(endian);
    if kind != object::elf::ET_EXEC {
        return Err(LoadError::NotExecutable(kind));
    }
    Ok((header, endian))
}

/// What was loaded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LoadedImage {
    pub entry: u32,
    /// (physical address, memory size) of each loaded segment.
    pub segments: Vec<(u32, u32)>,
}

/// Fold a virtual address into the 29-bit physical space.
pub fn physical(addr: u32) -> u32 {
    addr & 0x1FFF_FFFF
}

/// Parse and load `image` into `bus` (as core 0 sees memory).
pub fn load_elf(bus: &mut Rp1Bus, image: &[u8]) -> Result<LoadedImage, LoadError> {
    let (header, endian) = check_header(image)?;
    let phdrs = header.program_headers(endian, image).map_err(|e| LoadError::Malformed(e.to_string()))?;

    // Validate everything first, so a bad image leaves memory untouched.
    let mut plan = Vec::new();
    for (index, ph) in phdrs.iter().enumerate() {
        if ph.p_type(endian) != PT_LOAD {
            continue;
        }
        let (filesz, memsz) = (ph.p_filesz(endian), ph.p_memsz(endian));
        if filesz > memsz {
            return Err(LoadError::BadSegmentSize { index, filesz, memsz });
        }
        if memsz == 0 {
            continue;
        }
        let data = ph.data(endian, image).map_err(|_| {
            LoadError::Malformed(format!("segment {index}'s file bytes lie outside the file"))
        })?;
        let addr = physical(ph.p_paddr(endian));
        let end = addr.checked_add(memsz - 1);
        let fits = end.is_some_and(|end| physical(end) == end && bus.is_memory_range(0, addr, memsz as usize));
        if !fits {
            return Err(LoadError::OutsideMemory { index, addr, size: memsz });
        }
        plan.push((addr, memsz, data));
    }
    if plan.is_empty() {
        return Err(LoadError::NothingToLoad);
    }
    let mut segments = Vec::new();
    for (addr, memsz, data) in plan {
        let mut bytes = data.to_vec();
        bytes.resize(memsz as usize, 0);
        bus.load(0, addr, &bytes).expect("range validated above");
        segments.push((addr, memsz));
    }
    Ok(LoadedImage { entry: header.e_entry(endian), segments })
}

/// The symbols that name a halt routine: where software stops a core on
/// purpose by sleeping with interrupts masked. `rp1_halt` is this
/// project's convention (the hypervisor's board image and test programs
/// use it); `stop_this_cpu` is where Linux's halt stops each CPU.
pub const HALT_ROUTINES: [&str; 2] = ["rp1_halt", "stop_this_cpu"];

/// The virtual address ranges of the image's halt routines
/// ([`HALT_ROUTINES`], for `Machine::halt_routines`): each symbol's
/// `[address, address + size)`, or, for a symbol of size 0 (a label in
/// assembly), up to the next symbol above it or the end of its loadable
/// segment. Empty for an image without a symbol table.
pub fn halt_routines(image: &[u8]) -> Vec<std::ops::Range<u32>> {
    use object::{Object, ObjectSegment, ObjectSymbol};
    let Ok(file) = object::File::parse(image) else { return Vec::new() };
    let mut starts: Vec<u64> = file.symbols().map(|s| s.address()).collect();
    starts.sort_unstable();
    let segment_end = |addr: u64| {
        file.segments().find(|g| (g.address()..g.address() + g.size()).contains(&addr)).map(|g| g.address() + g.size())
    };
    let mut ranges = Vec::new();
    for sym in file.symbols().filter(|s| s.name().is_ok_and(|n| HALT_ROUTINES.contains(&n))) {
        let start = sym.address();
        let end = match sym.size() {
            0 => {
                let next = starts.iter().copied().find(|&a| a > start);
                let Some(end) = next.into_iter().chain(segment_end(start)).min() else { continue };
                end
            }
            size => start + size,
        };
        if let (Ok(start), Ok(end)) = (u32::try_from(start), u32::try_from(end)) {
            ranges.push(start..end);
        }
    }
    ranges
}

/// The address of symbol `name` in an ELF image's symbol table, if the
/// image has one and defines it (for tools that patch a loaded image, such
/// as the benchmark's iteration count or a kernel's boot parameters).
pub fn symbol_address(image: &[u8], name: &str) -> Option<u32> {
    use object::{Object, ObjectSymbol};
    let file = object::File::parse(image).ok()?;
    file.symbols().find(|s| s.name() == Ok(name)).map(|s| s.address() as u32)
}
