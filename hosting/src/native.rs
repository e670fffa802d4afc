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
    pub fn drain(&mut self, machine: &mut Machine, log: &mut Log) {
        for core in 0..self.cores {
            self.drain_core(machine, core, log);
        }
    }

    fn drain_core(&mut self, machine: &mut Machine, core: usize, log: &mut Log) {
        let base = URAM_BASE[core] + URAM_TRACE;
        let bus = &mut machine.bus;
        let Some(h) = read_words(bus, core, base, tracebuf::HEADER_WORDS) else { return };
        if h[header::MAGIC] != tracebuf::MAGIC || h[header::VERSION] != tracebuf::VERSION {
            return;
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
            return;
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
}
