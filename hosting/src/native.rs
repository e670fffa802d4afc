//! Running a machine description on the board image of the hypervisor
//! (`build/hv/spumone.elf`, docs/board-image.md): the simulator runs
//! nothing but SH-4A code, and every figure comes out of that code.
//!
//! Owns: what a boot loader and a debug probe would do around the board:
//! writing the boot block (docs/boot-block.md) and loading it with the
//! hypervisor and guest images; reading each core's trace ring and
//! counters out of its URAM between slices of simulated time
//! (docs/trace-ring.md), as a probe reads a board's memory. Must not touch:
//! the machine's insides (the public bus and loader only) or the
//! instances' state beyond the documented ring and counters.

use crate::hypervisor::Log;
use rp1_sim::bus::{Rp1Bus, URAM_BASE};
use rp1_sim::machine::Machine;
use spumone_kernel::counters::Words;
use spumone_percore::bootblock::{self, BootConfig};
use spumone_percore::tracebuf::{self, header, Record, RECORD_WORDS, STACK_PATTERN, URAM_C_STACK, URAM_TRACE};

/// The boot block's words for `boot`.
pub fn boot_block(boot: &BootConfig) -> Vec<u32> {
    let mut words = [0u32; bootblock::MAX_WORDS];
    let n = bootblock::encode(boot, &mut words);
    words[..n].to_vec()
}

/// The boot block as an ELF image a loader can place (one segment at
/// `bootblock::BLOCK_PHYS`), for `rp1 run`.
pub fn boot_block_elf(words: &[u32]) -> Vec<u8> {
    let data: Vec<u8> = words.iter().flat_map(|w| w.to_le_bytes()).collect();
    let paddr = bootblock::BLOCK_PHYS;
    let vaddr = 0x8000_0000 | paddr;
    let mut elf = Vec::with_capacity(84 + data.len());
    // ELF32 header: little-endian SH (machine 42), executable, one program header.
    elf.extend_from_slice(&[0x7f, b'E', b'L', b'F', 1, 1, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0]);
    for half in [2u16, 42] {
        elf.extend_from_slice(&half.to_le_bytes());
    }
    for word in [1u32, vaddr, 52, 0, 0] {
        elf.extend_from_slice(&word.to_le_bytes());
    }
    for half in [52u16, 32, 1, 40, 0, 0] {
        elf.extend_from_slice(&half.to_le_bytes());
    }
    // PT_LOAD, file offset 84, read-only.
    for word in [1u32, 84, vaddr, paddr, data.len() as u32, data.len() as u32, 4, 4] {
        elf.extend_from_slice(&word.to_le_bytes());
    }
    elf.extend_from_slice(&data);
    elf
}

/// Place the boot block in DRAM, as a boot loader does.
pub fn load_boot_block(bus: &mut Rp1Bus, words: &[u32]) -> Result<(), String> {
    let bytes: Vec<u8> = words.iter().flat_map(|w| w.to_le_bytes()).collect();
    bus.load(0, bootblock::BLOCK_PHYS, &bytes)
        .map_err(|at| format!("the boot block does not fit memory at {at:#010x}"))
}

/// What a probe learns from one core's URAM besides the events.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct CoreFigures {
    /// The ring was laid out (the instance booted this far).
    pub ring: bool,
    /// 1 accepted, 2 refused (docs/trace-ring.md, header word 12).
    pub boot_state: u32,
    pub records: u64,
    pub dropped: u32,
    pub instance_bytes: u32,
    pub pending_virqs: u32,
    /// Deepest use of the Rust stack and of the C stack, in bytes, from
    /// the fill pattern (a lower bound of the true high-water mark if the
    /// pattern happened to be written as data, which nothing does).
    pub rust_stack_bytes: u32,
    pub c_stack_bytes: u32,
    /// The time the instance spent per entry, by cause and outcome
    /// (measured by the board, read at the end of the run).
    pub entry_costs: tracebuf::EntryCosts,
}

/// A probe on every core's trace ring.
pub struct TraceReader {
    cores: usize,
    figures: Vec<CoreFigures>,
    /// Console bytes so far per (guest) are in the log; records that would
    /// not decode are counted here (a bug if ever non-zero).
    pub undecodable: u64,
}

/// Read `n` words at physical `addr` as core `core` sees memory.
fn read_words(bus: &mut Rp1Bus, core: usize, addr: u32, n: usize) -> Option<Vec<u32>> {
    let mut bytes = vec![0u8; 4 * n];
    if !bus.read_memory(core, addr, &mut bytes) {
        return None;
    }
    Some(bytes.chunks_exact(4).map(|c| u32::from_le_bytes([c[0], c[1], c[2], c[3]])).collect())
}

impl TraceReader {
    pub fn new(cores: usize) -> TraceReader {
        TraceReader { cores, figures: vec![CoreFigures::default(); cores], undecodable: 0 }
    }

    pub fn figures(&self) -> &[CoreFigures] {
        &self.figures
    }

    /// Take every record each ring holds into `log`, and free their slots.
    /// A ring laid out by an image built from other sources than this
    /// reader (another record version or counters layout) is an error: its
    /// records and counters would decode as nonsense.
    pub fn drain(&mut self, machine: &mut Machine, log: &mut Log) -> Result<(), String> {
        for core in 0..self.cores {
            self.drain_core(machine, core, log)?;
        }
        Ok(())
    }

    fn drain_core(&mut self, machine: &mut Machine, core: usize, log: &mut Log) -> Result<(), String> {
        let base = URAM_BASE[core] + URAM_TRACE;
        let bus = &mut machine.bus;
        let Some(h) = read_words(bus, core, base, tracebuf::HEADER_WORDS) else { return Ok(()) };
        if h[header::MAGIC] != tracebuf::MAGIC {
            // Not laid out yet (or no instance on this core).
            return Ok(());
        }
        let (version, layout) = (h[header::VERSION], h[header::COUNTERS_LAYOUT]);
        if version != tracebuf::VERSION || layout != tracebuf::COUNTERS_LAYOUT {
            return Err(format!(
                "core {core}'s trace ring is version {version} with counters layout {layout:#010x}, but this host reads \
                 version {} with layout {:#010x}: the image was built from other sources than this host \
                 (rebuild the image with scripts/build-hv.sh, or use a host of the image's commit){}",
                tracebuf::VERSION,
                tracebuf::COUNTERS_LAYOUT,
                if layout == 0 { "; layout 0: the image predates the layout word" } else { "" }
            ));
        }
        let f = &mut self.figures[core];
        f.ring = true;
        f.boot_state = h[header::BOOT_STATE];
        f.dropped = h[header::DROPPED];
        f.instance_bytes = h[header::INSTANCE_BYTES];
        f.pending_virqs = h[header::PENDING_VIRQS];
        let capacity = h[header::CAPACITY];
        let (head, mut tail) = (h[header::HEAD], h[header::TAIL]);
        if capacity == 0 {
            return Ok(());
        }
        while tail != head {
            let slot = base + 4 * (tracebuf::HEADER_WORDS as u32 + (tail % capacity) * RECORD_WORDS as u32);
            let Some(w) = read_words(bus, core, slot, RECORD_WORDS) else { break };
            let w: [u32; RECORD_WORDS] = [w[0], w[1], w[2], w[3]];
            match tracebuf::decode(&w) {
                Ok(Record::Event { cycle, event }) => log.event(core, cycle, event),
                Ok(Record::Console { guest, len, bytes }) => log.console_from(core, guest, &bytes[..len as usize]),
                Err(_) => self.undecodable += 1,
            }
            f.records += 1;
            tail = tail.wrapping_add(1);
        }
        let _ = bus.load(core, base + 4 * header::TAIL as u32, &tail.to_le_bytes());
        Ok(())
    }

    /// The stacks' high-water marks, from the fill patterns.
    pub fn measure_stacks(&mut self, machine: &mut Machine) {
        for core in 0..self.cores {
            let uram = URAM_BASE[core];
            // Rust stack: [16, 0x4000), pattern from 16 up to the deepest use.
            let rust = read_words(&mut machine.bus, core, uram, 0x4000 / 4).unwrap_or_default();
            let untouched = rust.iter().skip(4).take_while(|&&w| w == STACK_PATTERN).count() as u32;
            self.figures[core].rust_stack_bytes = 0x4000 - 16 - 4 * untouched;
            let c_len = (0x2_0000 - URAM_C_STACK) as usize / 4;
            let c = read_words(&mut machine.bus, core, uram + URAM_C_STACK, c_len).unwrap_or_default();
            let untouched = c.iter().take_while(|&&w| w == STACK_PATTERN).count() as u32;
            self.figures[core].c_stack_bytes = 4 * (c_len as u32 - untouched);
        }
    }

    /// Counters of type `T` (64-bit little-endian words) where core
    /// `core`'s instance says they are (header word `header_word`).
    pub fn counters<T: Words>(machine: &mut Machine, core: usize, header_word: usize) -> Option<T> {
        let words = T::WORDS;
        let base = URAM_BASE[core] + URAM_TRACE;
        let h = read_words(&mut machine.bus, core, base, tracebuf::HEADER_WORDS)?;
        let offset = h[header_word];
        if offset == 0 {
            return None;
        }
        let w = read_words(&mut machine.bus, core, URAM_BASE[core] + offset, 2 * words)?;
        let w: Vec<u64> = w.chunks_exact(2).map(|p| p[0] as u64 | (p[1] as u64) << 32).collect();
        Some(T::from_words(&w))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_boot_block_elf_loads_where_the_board_reads_it() {
        let words = [bootblock::MAGIC, 1, 2, 3];
        let elf = boot_block_elf(&words);
        let mut m = Machine::new(rp1_sim::machine::Config::default()).unwrap();
        let loaded = m.load_elf(&elf).expect("a valid ELF");
        assert_eq!(loaded.entry, 0x8000_0000 | bootblock::BLOCK_PHYS);
        assert_eq!(read_words(&mut m.bus, 0, bootblock::BLOCK_PHYS, 4).unwrap(), words.to_vec());
    }

    /// Lay a ring out in core `core`'s URAM as an instance would, with one
    /// console record, and `edit` applied to its words.
    fn machine_with_ring(core: usize, edit: impl FnOnce(&mut [u32])) -> Machine {
        let mut words = vec![0u32; tracebuf::HEADER_WORDS + 4 * RECORD_WORDS];
        let mut w = tracebuf::Writer::init(&mut words, core as u8);
        w.push(&tracebuf::encode_console(0, b"hi\n"));
        edit(&mut words);
        let bytes: Vec<u8> = words.iter().flat_map(|w| w.to_le_bytes()).collect();
        let mut m = Machine::new(rp1_sim::machine::Config::default()).unwrap();
        m.bus.load(core, URAM_BASE[core] + URAM_TRACE, &bytes).expect("URAM");
        m
    }

    #[test]
    fn a_ring_of_this_build_is_read() {
        let mut m = machine_with_ring(2, |_| {});
        let (mut reader, mut log) = (TraceReader::new(4), Log { consoles: vec![Vec::new()], ..Log::default() });
        reader.drain(&mut m, &mut log).expect("the same layout");
        assert_eq!(reader.figures()[2].records, 1);
        assert_eq!(log.consoles[0], b"hi\n");
    }

    #[test]
    fn a_ring_from_an_image_of_other_sources_is_refused_by_name() {
        // An image whose `Stats` gained a field this host does not know:
        // its ring says another counters layout.
        let mut m = machine_with_ring(1, |w| w[header::COUNTERS_LAYOUT] ^= 1);
        let mut reader = TraceReader::new(4);
        let mut log = Log { consoles: vec![Vec::new()], ..Log::default() };
        let err = reader.drain(&mut m, &mut log).unwrap_err();
        let expected = format!(
            "core 1's trace ring is version 1 with counters layout {:#010x}, but this host reads version 1 with layout {:#010x}",
            tracebuf::COUNTERS_LAYOUT ^ 1,
            tracebuf::COUNTERS_LAYOUT
        );
        assert!(err.starts_with(&expected), "{err}");
        assert!(log.consoles[0].is_empty(), "nothing decoded from it");
        // And another record version likewise.
        let mut m = machine_with_ring(0, |w| w[header::VERSION] = 2);
        let err = TraceReader::new(4).drain(&mut m, &mut log).unwrap_err();
        assert!(err.starts_with("core 0's trace ring is version 2"), "{err}");
    }
}
