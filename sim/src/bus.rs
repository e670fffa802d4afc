//! The RP1's physical address map: DRAM, the shared CSM, each core's
//! private local memories (URAM, ILRAM, OLRAM), and the memory-mapped
//! devices. Implements the CPU's `Bus` trait, charges each access the
//! latency of its region, keeps the MOVLI/MOVCO reservations (a store by
//! one core breaks another core's reservation of the same 32-byte line),
//! and records every access that nothing answered.
//!
//! Owns: memory contents and the device instances. Must not touch: CPU
//! state (it sees only the accessing core's id and clock).

use crate::cpu::jit::{JitStats, Tier};
use crate::cpu::{code_cache, Bus, BusError, CodeCache};
use crate::devices::{
    board::Board, cpg::Cpg, intc::Intc, pfc::Pfc, rst::Rst, scif::Scif, simctl::SimCtl, tmu::Tmu, Access,
    Mmio, Size,
};

/// DRAM: physical 0x08000000 (areas 2 and 3), up to 128 MiB.
pub const DRAM_BASE: u32 = 0x0800_0000;
pub const DRAM_MAX: u32 = 0x0800_0000;
/// Per-core URAM (setup-shx3.c's bootmem nodes), 128 KiB each.
pub const URAM_BASE: [u32; 4] = [0x145F_0000, 0x14DF_0000, 0x155F_0000, 0x15DF_0000];
pub const URAM_SIZE: u32 = 0x2_0000;
/// The shared CSM, 128 KiB.
pub const CSM_BASE: u32 = 0x1600_0000;
pub const CSM_SIZE: u32 = 0x2_0000;
/// Per-core OL memory and IL memory in P4 (each core sees its own).
pub const OLRAM_BASE: u32 = 0xE500_0000;
pub const OLRAM_SIZE: u32 = 0x4000;
pub const ILRAM_BASE: u32 = 0xE520_0000;
pub const ILRAM_SIZE: u32 = 0x2000;

/// Extra cycles an access costs by region (on top of the one cycle every
/// instruction costs). Caches are not modelled; these are averages.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Latency {
    pub dram: u64,
    pub local: u64,
    pub csm: u64,
    pub mmio: u64,
}

impl Default for Latency {
    fn default() -> Self {
        Latency { dram: 1, local: 0, csm: 2, mmio: 10 }
    }
}

/// An access nothing answered (or a device refused), for the report.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct BusFault {
    pub core: usize,
    pub cycle: u64,
    pub addr: u32,
    pub size: Size,
    pub write: bool,
}

/// How many faults are kept in detail; the rest are only counted.
const FAULTS_KEPT: usize = 64;

pub struct Rp1Bus {
    pub cores: usize,
    pub dram: Vec<u8>,
    pub csm: Vec<u8>,
    pub uram: Vec<Vec<u8>>,
    pub olram: Vec<Vec<u8>>,
    pub ilram: Vec<Vec<u8>>,
    pub intc: Intc,
    /// Changed only through the bus's accesses (`device`), which tell
    /// `sync_interrupts` to drive their lines again (`LinesDriven`).
    pub tmu: [Tmu; 2],
    pub scif: [Scif; 4],
    pub cpg: Cpg,
    pub pfc: Pfc,
    pub rst: Rst,
    pub board: Board,
    pub simctl: SimCtl,
    pub latency: Latency,
    /// Reserved 32-byte line per core (MOVLI.L), if any.
    reservation: [Option<u32>; 4],
    any_reservation: bool,
    /// What the TMU and SCIF lines were last driven from
    /// (`sync_interrupts`).
    lines: LinesDriven,
    /// The last `write` went to a device (see `Bus::take_device_write`).
    device_written: bool,
    /// A read or write reached a device since `take_device_access` last
    /// asked.
    device_accessed: bool,
    pub faults: Vec<BusFault>,
    pub fault_count: u64,
    /// Decoded DRAM code for the cores (`cpu::code_cache`); `None` while
    /// the running core has it.
    code_cache: Option<Box<CodeCache<Rp1Bus>>>,
    /// One bit per DRAM block (`code_cache::BLOCK_BYTES`) given out for
    /// decoding by `code_block` and not stored to since. Every store into
    /// DRAM checks it (`note_dram_store`): memory must only be changed
    /// through `Bus::write`/`write_fast`, `load` or `poke`.
    code_marks: Vec<u64>,
    /// One byte per block (non-zero: marked) for the code marks and,
    /// besides them, the blocks holding a reserved line (MOVLI.L): where a
    /// store to DRAM must take `write_fast`'s whole path. Compiled code
    /// tests only this byte before a store (`PlainRam::store_marks`), so
    /// a reservation held on one line does not send every store of every
    /// core to its handler. Bytes, not bits: the test is one load then,
    /// where a bit took five instructions more at every store.
    store_marks: Vec<u8>,
    /// Physical addresses of marked blocks stored to, not yet drained.
    code_writes: Vec<u32>,
}

/// Which device a P4 or physical address belongs to.
enum Region {
    Dram(usize),
    Csm(usize),
    Uram(usize, usize),
    Olram(usize),
    Ilram(usize),
    Device(Dev, u32),
    None,
}

#[derive(Clone, Copy)]
enum Dev {
    Intc,
    Tmu(usize),
    Scif(usize),
    Cpg,
    Pfc,
    Rst,
    Board,
    SimCtl,
}

/// The span of time over which the TMU and SCIF interrupt lines
/// `sync_interrupts` last drove hold their values: from the time they
/// were driven at to the first timer underflow after it that raises a
/// line (`Tmu::next_event`). In it, with no access to a TMU or a SCIF
/// since, every line is unchanged: a SCIF's lines follow its registers
/// alone, and a TMU's change with time only where a channel underflows
/// (they rise then, and fall only when software writes). About three
/// quarters of the calls fall in it (every core's slice starts with one,
/// four slices a round), and each otherwise evaluates six timer channels
/// and drives eighteen lines.
#[derive(Clone, Copy, Debug)]
struct LinesDriven {
    from: u64,
    until: u64,
}

impl LinesDriven {
    /// Never driven, or a device was accessed since.
    const STALE: LinesDriven = LinesDriven { from: u64::MAX, until: 0 };

    /// Whether the lines as driven still hold at `now`.
    fn hold_at(&self, now: u64) -> bool {
        (self.from..self.until).contains(&now)
    }
}

impl Rp1Bus {
    /// Bytes of DRAM (starting at [`DRAM_BASE`]).
    pub fn dram_size(&self) -> usize {
        self.dram.len()
    }

    /// Run decoded code on `tier` from now on (a fresh translating tier,
    /// or none; the decoded blocks stay). An error, and nothing changed,
    /// if the translating tier cannot start on this host.
    pub fn set_tier(&mut self, tier: Tier) -> Result<(), String> {
        match self.code_cache.as_mut() {
            Some(cache) => cache.set_tier(tier),
            None => {
                self.code_cache = Some(Box::new(CodeCache::with_tier(tier)?));
                Ok(())
            }
        }
    }

    /// Cap the translating tier's compiled code at `bytes` (see
    /// `Jit::set_code_cap`); nothing if the tier is off.
    pub fn set_jit_code_cap(&mut self, bytes: usize) {
        if let Some(j) = self.code_cache.as_mut().and_then(|c| c.jit_mut()) {
            j.set_code_cap(bytes);
        }
    }

    /// Compile translations in the background or not (see
    /// `Jit::set_background`); nothing if the tier is off.
    pub fn set_jit_background(&mut self, on: bool) -> Result<(), String> {
        match self.code_cache.as_mut().and_then(|c| c.jit_mut()) {
            Some(j) => j.set_background(on),
            None => Ok(()),
        }
    }

    /// Wait for the translations the tier compiles in the background and
    /// install them (`Jit::settle`); nothing otherwise.
    pub fn jit_settle(&mut self) {
        if let Some(j) = self.code_cache.as_mut().and_then(|c| c.jit_mut()) {
            j.settle();
        }
    }

    /// Install background translations only at `jit_settle` (see
    /// `Jit::set_answers_at_settle_only`); nothing if the tier is off.
    pub fn set_jit_answers_at_settle_only(&mut self, on: bool) {
        if let Some(j) = self.code_cache.as_mut().and_then(|c| c.jit_mut()) {
            j.set_answers_at_settle_only(on);
        }
    }

    /// The translating tier's hot threshold (see `Jit::set_hot`);
    /// nothing if the tier is off.
    pub fn set_jit_hot(&mut self, visits: u32) {
        if let Some(j) = self.code_cache.as_mut().and_then(|c| c.jit_mut()) {
            j.set_hot(visits);
        }
    }

    /// DRAM blocks decoded so far (`CodeCache::decoded`; not inside a
    /// core's time slice).
    pub fn code_blocks_decoded(&self) -> Option<u64> {
        self.code_cache.as_ref().map(|c| c.decoded())
    }

    /// The translating tier's counters, if it is on (and not inside a
    /// core's time slice).
    pub fn jit_stats(&self) -> Option<JitStats> {
        self.code_cache.as_ref().and_then(|c| c.jit()).map(|j| j.stats)
    }

    pub fn new(cores: usize, dram_size: u32) -> Rp1Bus {
        let cpg = Cpg::new();
        let pclk = cpg.peripheral_hz();
        // One bit per DRAM block for `code_marks`, one byte for
        // `store_marks`.
        let blocks = (dram_size / code_cache::BLOCK_BYTES) as usize;
        let mark_words = blocks.div_ceil(64);
        Rp1Bus {
            cores,
            dram: vec![0; dram_size as usize],
            csm: vec![0; CSM_SIZE as usize],
            uram: (0..4).map(|_| vec![0; URAM_SIZE as usize]).collect(),
            olram: (0..4).map(|_| vec![0; OLRAM_SIZE as usize]).collect(),
            ilram: (0..4).map(|_| vec![0; ILRAM_SIZE as usize]).collect(),
            intc: Intc::new(cores),
            tmu: [Tmu::new(0, crate::devices::cpg::CPU_HZ, pclk), Tmu::new(3, crate::devices::cpg::CPU_HZ, pclk)],
            scif: [Scif::new(), Scif::new(), Scif::new(), Scif::new()],
            cpg,
            pfc: Pfc::new(),
            rst: Rst::new(cores),
            board: Board::new(),
            simctl: SimCtl::default(),
            latency: Latency::default(),
            reservation: [None; 4],
            any_reservation: false,
            lines: LinesDriven::STALE,
            device_written: false,
            device_accessed: false,
            faults: Vec::new(),
            fault_count: 0,
            code_cache: Some(Box::new(CodeCache::new())),
            code_marks: vec![0; mark_words],
            store_marks: vec![0; blocks],
            code_writes: Vec::new(),
        }
    }

    /// Every store into DRAM (offset `off`, `len` bytes) passes here: a
    /// store to a block someone decoded is reported to the code cache.
    #[inline(always)]
    fn note_dram_store(&mut self, off: usize, len: usize) {
        let block = code_cache::BLOCK_BYTES as usize;
        for b in off / block..=(off + len.max(1) - 1) / block {
            if self.code_marks[b / 64] & (1 << (b % 64)) != 0 {
                self.code_store(b);
            }
        }
    }

    #[cold]
    #[inline(never)]
    fn code_store(&mut self, b: usize) {
        self.code_marks[b / 64] &= !(1 << (b % 64));
        self.mark_store_block(b);
        self.code_writes.push(DRAM_BASE + (b as u32) * code_cache::BLOCK_BYTES);
    }

    /// Sets DRAM block `b`'s byte of `store_marks` from what it stands
    /// for: the block's code mark, or a reservation of a line in it.
    fn mark_store_block(&mut self, b: usize) {
        let block = code_cache::BLOCK_BYTES;
        let coded = self.code_marks[b / 64] & (1 << (b % 64)) != 0;
        let reserved = self.reservation.iter().flatten().any(|&line| {
            let off = line.wrapping_sub(DRAM_BASE) as usize;
            off < self.dram.len() && off / block as usize == b
        });
        self.store_marks[b] = (coded || reserved) as u8;
    }

    /// After `line`'s reservation was set or dropped: its block's byte of
    /// `store_marks` again, if it is in DRAM.
    fn mark_reserved_line(&mut self, line: Option<u32>) {
        let Some(line) = line else { return };
        let off = line.wrapping_sub(DRAM_BASE) as usize;
        if off < self.dram.len() {
            self.mark_store_block(off / code_cache::BLOCK_BYTES as usize);
        }
    }

    /// The offset of `addr` in `core`'s own URAM, if it is there (the
    /// fast paths' test; `decode` is the full map).
    #[inline(always)]
    fn own_uram(&self, core: usize, addr: u32) -> Option<usize> {
        let off = addr.wrapping_sub(*URAM_BASE.get(core)?);
        (off < URAM_SIZE && core < self.cores).then_some(off as usize)
    }

    /// `write_fast`'s URAM case: `write_slow`'s effects for a store into
    /// the core's own URAM (reservations, latency, the store), or false
    /// having done nothing.
    #[inline(always)]
    fn write_own_uram(&mut self, core: usize, now: &mut u64, addr: u32, size: Size, value: u32) -> bool {
        let Some(off) = self.own_uram(core, addr) else { return false };
        if off + size.bytes() as usize > URAM_SIZE as usize {
            return false;
        }
        if self.any_reservation {
            self.break_reservations(core, addr);
        }
        *now += self.latency.local;
        write_mem(&mut self.uram[core], off, size, value).is_some()
    }

    #[inline(always)]
    fn decode(&self, core: usize, addr: u32) -> Region {
        use crate::devices::{board, intc, pfc, rst, scif, simctl, tmu};
        let dram_end = DRAM_BASE + self.dram.len() as u32;
        if (DRAM_BASE..dram_end).contains(&addr) {
            return Region::Dram((addr - DRAM_BASE) as usize);
        }
        if addr < 0x2000_0000 {
            if (CSM_BASE..CSM_BASE + CSM_SIZE).contains(&addr) {
                return Region::Csm((addr - CSM_BASE) as usize);
            }
            for (owner, base) in URAM_BASE.iter().enumerate().take(self.cores) {
                if (*base..base + URAM_SIZE).contains(&addr) {
                    // Only the owning core reaches its URAM.
                    return if owner == core { Region::Uram(owner, (addr - base) as usize) } else { Region::None };
                }
            }
            if (simctl::BASE..simctl::BASE + simctl::SIZE).contains(&addr) {
                return Region::Device(Dev::SimCtl, addr - simctl::BASE);
            }
            if (board::BASE..board::BASE + board::SIZE).contains(&addr) {
                return Region::Device(Dev::Board, addr - board::BASE);
            }
            return Region::None;
        }
        if (OLRAM_BASE..OLRAM_BASE + OLRAM_SIZE).contains(&addr) {
            return Region::Olram((addr - OLRAM_BASE) as usize);
        }
        if (ILRAM_BASE..ILRAM_BASE + ILRAM_SIZE).contains(&addr) {
            return Region::Ilram((addr - ILRAM_BASE) as usize);
        }
        let devices: [(u32, u32, Dev); 10] = [
            (intc::BASE, intc::SIZE, Dev::Intc),
            (rst::BASE, rst::SIZE, Dev::Rst),
            (tmu::TMU0_BASE, tmu::SIZE, Dev::Tmu(0)),
            (tmu::TMU1_BASE, tmu::SIZE, Dev::Tmu(1)),
            (scif::SCIF0_BASE, scif::SIZE, Dev::Scif(0)),
            (scif::SCIF1_BASE, scif::SIZE, Dev::Scif(1)),
            (scif::SCIF2_BASE, scif::SIZE, Dev::Scif(2)),
            (scif::SCIF3_BASE, scif::SIZE, Dev::Scif(3)),
            (crate::devices::cpg::BASE, crate::devices::cpg::SIZE, Dev::Cpg),
            (pfc::BASE, pfc::SIZE, Dev::Pfc),
        ];
        for (base, size, dev) in devices {
            if addr >= base && addr - base < size {
                return Region::Device(dev, addr - base);
            }
        }
        Region::None
    }

    fn device(&mut self, dev: Dev) -> &mut dyn Mmio {
        if matches!(dev, Dev::Tmu(_) | Dev::Scif(_)) {
            // A read may change a device too (a receive FIFO's).
            self.lines = LinesDriven::STALE;
        }
        match dev {
            Dev::Intc => &mut self.intc,
            Dev::Tmu(i) => &mut self.tmu[i],
            Dev::Scif(i) => &mut self.scif[i],
            Dev::Cpg => &mut self.cpg,
            Dev::Pfc => &mut self.pfc,
            Dev::Rst => &mut self.rst,
            Dev::Board => &mut self.board,
            Dev::SimCtl => &mut self.simctl,
        }
    }

    fn fault(&mut self, core: usize, cycle: u64, addr: u32, size: Size, write: bool) -> BusError {
        self.fault_count += 1;
        if self.faults.len() < FAULTS_KEPT {
            self.faults.push(BusFault { core, cycle, addr, size, write });
        }
        BusError
    }

    /// The backing bytes of a memory region, for loading and debugging.
    fn memory(&mut self, core: usize, region: &Region) -> Option<(&mut [u8], usize)> {
        match *region {
            Region::Dram(off) => Some((&mut self.dram[..], off)),
            Region::Csm(off) => Some((&mut self.csm[..], off)),
            Region::Uram(owner, off) => Some((&mut self.uram[owner][..], off)),
            Region::Olram(off) => Some((&mut self.olram[core][..], off)),
            Region::Ilram(off) => Some((&mut self.ilram[core][..], off)),
            _ => None,
        }
    }

    /// Copy `bytes` into memory at physical address `addr` (as seen by
    /// `core`). Fails, changing nothing, unless the whole range is memory.
    pub fn load(&mut self, core: usize, addr: u32, bytes: &[u8]) -> Result<(), u32> {
        if bytes.is_empty() {
            return Ok(());
        }
        if !self.is_memory_range(core, addr, bytes.len()) {
            return Err(addr);
        }
        let region = self.decode(core, addr);
        let (mem, off) = self.memory(core, &region).expect("checked by is_memory_range");
        mem[off..off + bytes.len()].copy_from_slice(bytes);
        if let Region::Dram(off) = region {
            self.note_dram_store(off, bytes.len());
        }
        Ok(())
    }

    /// Whether `len` bytes from physical address `addr` are all memory of
    /// one region (as `core` sees it), so `load` can write them.
    pub fn is_memory_range(&mut self, core: usize, addr: u32, len: usize) -> bool {
        let region = self.decode(core, addr);
        match self.memory(core, &region) {
            Some((mem, off)) => len <= mem.len() - off,
            None => false,
        }
    }

    /// Read memory for a debugger: no side effects on devices.
    pub fn peek(&mut self, core: usize, addr: u32) -> Option<u8> {
        let region = self.decode(core, addr);
        self.memory(core, &region).map(|(m, off)| m[off])
    }

    /// Read `buf.len()` bytes of memory from physical `addr`, as `core`
    /// sees it, for a debugger: false (and `buf` untouched) unless the
    /// whole range is memory of one region.
    pub fn read_memory(&mut self, core: usize, addr: u32, buf: &mut [u8]) -> bool {
        if !self.is_memory_range(core, addr, buf.len()) {
            return false;
        }
        let region = self.decode(core, addr);
        let (mem, off) = self.memory(core, &region).expect("checked by is_memory_range");
        buf.copy_from_slice(&mem[off..off + buf.len()]);
        true
    }

    /// Write memory for a debugger.
    pub fn poke(&mut self, core: usize, addr: u32, value: u8) -> bool {
        self.load(core, addr, &[value]).is_ok()
    }

    /// Refresh the INTC's inputs from the devices at time `now`.
    pub fn sync_interrupts(&mut self, now: u64) {
        use crate::devices::intc::Source;
        self.intc.deliver_late_icis(now);
        if self.lines.hold_at(now) {
            // The lines are what they were when last driven, and driving
            // a line again with its value changes nothing.
            return;
        }
        self.lines = LinesDriven {
            from: now,
            until: self.next_underflow(now).unwrap_or(u64::MAX),
        };
        for (unit, tmu) in self.tmu.iter().enumerate() {
            for (ch, on) in tmu.irq_lines(now).into_iter().enumerate() {
                self.intc.set_line(Source::tmu(unit * 3 + ch), on);
            }
        }
        for (port, scif) in self.scif.iter().enumerate() {
            for (kind, on) in scif.irq_lines().into_iter().enumerate() {
                if let Some(src) = Source::scif(port, kind) {
                    self.intc.set_line(src, on);
                }
            }
        }
    }

    /// The earliest cycle after `now` at which a device changes an
    /// interrupt line by itself (a timer underflow, or a late ICI of the
    /// fault plan arriving).
    pub fn next_event(&self, now: u64) -> Option<u64> {
        let late = self.intc.next_late_ici().filter(|&t| t > now);
        self.next_underflow(now).into_iter().chain(late).min()
    }

    /// The earliest cycle after `now` at which a timer underflow raises a
    /// TMU line.
    fn next_underflow(&self, now: u64) -> Option<u64> {
        self.tmu.iter().filter_map(|t| t.next_event(now)).min()
    }

    fn break_reservations(&mut self, writer: usize, addr: u32) {
        let line = addr & !31;
        let mut broken = false;
        for (core, r) in self.reservation.iter_mut().enumerate() {
            if core != writer && *r == Some(line) {
                *r = None;
                broken = true;
            }
        }
        if broken {
            self.any_reservation = self.reservation.iter().any(Option::is_some);
            self.mark_reserved_line(Some(line));
        }
    }
}

#[inline(always)]
fn read_mem(mem: &[u8], off: usize, size: Size) -> Option<u32> {
    Some(match size {
        Size::Byte => *mem.get(off)? as u32,
        Size::Word => u16::from_le_bytes(mem.get(off..off + 2)?.try_into().ok()?) as u32,
        Size::Long => u32::from_le_bytes(mem.get(off..off + 4)?.try_into().ok()?),
    })
}

#[inline(always)]
fn write_mem(mem: &mut [u8], off: usize, size: Size, v: u32) -> Option<()> {
    match size {
        Size::Byte => *mem.get_mut(off)? = v as u8,
        Size::Word => mem.get_mut(off..off + 2)?.copy_from_slice(&(v as u16).to_le_bytes()),
        Size::Long => mem.get_mut(off..off + 4)?.copy_from_slice(&v.to_le_bytes()),
    }
    Some(())
}

impl Bus for Rp1Bus {
    #[inline(always)]
    fn read(&mut self, core: usize, now: &mut u64, addr: u32, size: Size) -> Result<u32, BusError> {
        // Fast path: DRAM.
        let off = addr.wrapping_sub(DRAM_BASE) as usize;
        if off < self.dram.len() {
            *now += self.latency.dram;
            if let Some(v) = read_mem(&self.dram, off, size) {
                return Ok(v);
            }
        }
        self.read_slow(core, now, addr, size)
    }

    #[inline(always)]
    fn write(&mut self, core: usize, now: &mut u64, addr: u32, size: Size, value: u32) -> Result<(), BusError> {
        // The flag tells of this write alone (`take_device_write`): one
        // that nobody asked about (a P4 write's) must not answer for the
        // next, another core's perhaps.
        self.device_written = false;
        if self.any_reservation {
            self.break_reservations(core, addr);
        }
        let off = addr.wrapping_sub(DRAM_BASE) as usize;
        if off < self.dram.len() {
            *now += self.latency.dram;
            if write_mem(&mut self.dram, off, size, value).is_some() {
                self.note_dram_store(off, size.bytes() as usize);
                return Ok(());
            }
        }
        self.write_slow(core, now, addr, size, value)
    }

    /// DRAM and the core's own URAM: `read`'s case for them (latency,
    /// then the value). URAM is the hypervisor's linear memory (its data
    /// and stacks), so it is as hot as DRAM when an instance runs.
    #[inline(always)]
    fn read_fast(&mut self, core: usize, now: &mut u64, addr: u32, size: Size) -> Option<u32> {
        let off = addr.wrapping_sub(DRAM_BASE) as usize;
        if let Some(v) = read_mem(&self.dram, off, size) {
            *now += self.latency.dram;
            return Some(v);
        }
        let off = self.own_uram(core, addr)?;
        let v = read_mem(&self.uram[core], off, size)?;
        *now += self.latency.local;
        Some(v)
    }

    /// DRAM: `read_fast` reads it with no effect but the latency, and
    /// `write_fast` writes it so where its block's store mark is clear:
    /// no code decoded there and no line of it reserved.
    #[inline(always)]
    fn plain_ram(&mut self) -> Option<crate::cpu::PlainRam> {
        Some(crate::cpu::PlainRam {
            phys: DRAM_BASE,
            host: self.dram.as_mut_ptr(),
            len: self.dram.len(),
            read_latency: self.latency.dram,
            write_latency: self.latency.dram,
            reservations: &self.any_reservation,
            store_marks: self.store_marks.as_ptr(),
        })
    }

    /// The core's own URAM: `read_fast` and `write_fast` answer for it,
    /// and no decoded code is ever kept there (`code_block` is DRAM only).
    #[inline(always)]
    fn local_ram(&mut self, core: usize) -> Option<crate::cpu::PlainRam> {
        if core >= self.cores {
            return None;
        }
        Some(crate::cpu::PlainRam {
            phys: *URAM_BASE.get(core)?,
            host: self.uram.get_mut(core)?.as_mut_ptr(),
            len: URAM_SIZE as usize,
            read_latency: self.latency.local,
            write_latency: self.latency.local,
            reservations: &self.any_reservation,
            store_marks: std::ptr::null(),
        })
    }

    /// The core's own OL memory (P4 0xE5000000): `read` reaches it through
    /// `read_slow` with the local latency and no other effect. The
    /// hypervisor's board image keeps its C stack there.
    #[inline(always)]
    fn p4_ram(&mut self, core: usize) -> Option<crate::cpu::PlainRam> {
        if core >= self.cores {
            return None;
        }
        Some(crate::cpu::PlainRam {
            phys: OLRAM_BASE,
            host: self.olram.get_mut(core)?.as_mut_ptr(),
            len: OLRAM_SIZE as usize,
            read_latency: self.latency.local,
            write_latency: self.latency.local,
            reservations: &self.any_reservation,
            store_marks: std::ptr::null(),
        })
    }

    /// DRAM and the core's own URAM: `write`'s case for them
    /// (reservations, latency, the store).
    #[inline(always)]
    fn write_fast(&mut self, core: usize, now: &mut u64, addr: u32, size: Size, value: u32) -> bool {
        let off = addr.wrapping_sub(DRAM_BASE) as usize;
        if off.wrapping_add(size.bytes() as usize) > self.dram.len() {
            return self.write_own_uram(core, now, addr, size, value);
        }
        if self.any_reservation {
            self.break_reservations(core, addr);
        }
        *now += self.latency.dram;
        let done = write_mem(&mut self.dram, off, size, value).is_some();
        self.note_dram_store(off, size.bytes() as usize);
        done
    }

    fn take_code_cache(&mut self) -> Option<Box<CodeCache<Self>>> {
        self.code_cache.take()
    }

    fn put_code_cache(&mut self, cache: Box<CodeCache<Self>>) {
        self.code_cache = Some(cache);
    }

    /// DRAM blocks only (the same for every core); marks the block.
    fn code_block(&mut self, phys: u32) -> Option<&[u8]> {
        let off = phys.wrapping_sub(DRAM_BASE) as usize;
        let len = code_cache::BLOCK_BYTES as usize;
        if !off.is_multiple_of(len) || off + len > self.dram.len() {
            return None;
        }
        let b = off / len;
        self.code_marks[b / 64] |= 1 << (b % 64);
        self.store_marks[b] = 1;
        Some(&self.dram[off..off + len])
    }

    #[inline(always)]
    fn code_written(&self) -> bool {
        !self.code_writes.is_empty()
    }

    fn drain_code_writes(&mut self, out: &mut Vec<u32>) {
        out.append(&mut self.code_writes);
    }

    #[inline(always)]
    fn fetch(&mut self, core: usize, addr: u32) -> Result<u16, BusError> {
        let off = addr.wrapping_sub(DRAM_BASE) as usize;
        if let Some(b) = self.dram.get(off..off + 2) {
            return Ok(u16::from_le_bytes([b[0], b[1]]));
        }
        let region = self.decode(core, addr);
        match self.memory(core, &region) {
            Some((mem, off)) => read_mem(mem, off, Size::Word).map(|v| v as u16).ok_or(BusError),
            None => Err(self.fault(core, 0, addr, Size::Word, false)),
        }
    }

    fn reserve(&mut self, core: usize, addr: u32) {
        let before = self.reservation[core].replace(addr & !31);
        self.any_reservation = true;
        self.mark_reserved_line(before);
        self.mark_reserved_line(Some(addr & !31));
    }

    fn take_reservation(&mut self, core: usize) -> bool {
        let held = self.reservation[core].take();
        self.any_reservation = self.reservation.iter().any(Option::is_some);
        self.mark_reserved_line(held);
        held.is_some()
    }

    fn take_device_write(&mut self) -> bool {
        std::mem::take(&mut self.device_written)
    }

    fn take_device_access(&mut self) -> bool {
        std::mem::take(&mut self.device_accessed)
    }

    fn device_access_flag(&mut self) -> Option<*const bool> {
        Some(&self.device_accessed)
    }

    /// While no late ICI of a fault plan is on its way (the machine's look
    /// would deliver it: `sync_interrupts`).
    fn p4_ram_stores_are_quiet(&self) -> bool {
        self.intc.next_late_ici().is_none()
    }

    fn clear_reservation(&mut self, core: usize) {
        if let Some(line) = self.reservation[core].take() {
            self.any_reservation = self.reservation.iter().any(Option::is_some);
            self.mark_reserved_line(Some(line));
        }
    }
}

impl Rp1Bus {
    #[inline(never)]
    fn read_slow(&mut self, core: usize, now: &mut u64, addr: u32, size: Size) -> Result<u32, BusError> {
        let region = self.decode(core, addr);
        let latency = self.region_latency(&region);
        *now += latency;
        let at = Access { core, now: *now };
        let value = match region {
            Region::Device(dev, off) => {
                self.device_accessed = true;
                self.device(dev).read(at, off, size).ok()
            }
            ref r => self.memory(core, r).and_then(|(m, off)| read_mem(m, off, size)),
        };
        value.ok_or_else(|| self.fault(core, at.now, addr, size, false))
    }

    #[inline(never)]
    fn write_slow(&mut self, core: usize, now: &mut u64, addr: u32, size: Size, value: u32) -> Result<(), BusError> {
        let region = self.decode(core, addr);
        let latency = self.region_latency(&region);
        *now += latency;
        let at = Access { core, now: *now };
        let done = match region {
            Region::Device(dev, off) => {
                self.device_written = true;
                self.device_accessed = true;
                self.device(dev).write(at, off, size, value).ok()
            }
            ref r => self.memory(core, r).and_then(|(m, off)| write_mem(m, off, size, value)),
        };
        if let (Region::Dram(off), Some(())) = (&region, done) {
            self.note_dram_store(*off, size.bytes() as usize);
        }
        done.ok_or_else(|| self.fault(core, at.now, addr, size, true))
    }

    fn region_latency(&self, region: &Region) -> u64 {
        match region {
            Region::Dram(_) => self.latency.dram,
            Region::Csm(_) => self.latency.csm,
            Region::Uram(..) | Region::Olram(_) | Region::Ilram(_) => self.latency.local,
            Region::Device(..) | Region::None => self.latency.mmio,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `sync_interrupts` drives the TMU and SCIF lines again only where
    /// they may have changed (`LinesDriven`). A timer started and a
    /// SCIF's transmit interrupt enabled between two calls in one held
    /// span are seen at the next; an underflow is seen from its cycle on
    /// and not a cycle before, and a call at an earlier clock (a later
    /// core's in the same round) sees the line as it was then.
    #[test]
    fn interrupt_lines_follow_device_accesses_and_underflows() {
        use crate::devices::intc::Source;
        use crate::devices::{scif, tmu};
        let mut bus = Rp1Bus::new(1, 0x0800_0000);
        let timer = Source::tmu(0);
        let transmit = Source::scif(0, 3).expect("SCIF0 has a TXI line");
        bus.sync_interrupts(100);
        assert!(!bus.intc.requested(timer) && !bus.intc.requested(transmit));
        // TMU0 channel 0: TCOR = TCNT = 9, UNIE, started; at cycle 100.
        let mut now = 100;
        for (reg, size, value) in [(0x08, Size::Long, 9), (0x0C, Size::Long, 9), (0x10, Size::Word, tmu::TCR_UNIE as u32), (0x04, Size::Byte, 1)] {
            bus.write(0, &mut now, tmu::TMU0_BASE + reg, size, value).expect("a TMU register");
        }
        bus.sync_interrupts(now);
        let underflow = bus.next_event(now).expect("the running channel underflows");
        assert!(underflow > now + 1);
        bus.sync_interrupts(underflow - 1);
        assert!(!bus.intc.requested(timer), "a cycle before the underflow");
        bus.sync_interrupts(underflow);
        assert!(bus.intc.requested(timer), "at the underflow");
        bus.sync_interrupts(underflow - 1);
        assert!(!bus.intc.requested(timer), "an earlier clock, after a later one");
        bus.sync_interrupts(underflow + 5);
        assert!(bus.intc.requested(timer));
        // TDFE is set out of reset: enabling TIE raises TXI, read at the
        // same clock as the last call.
        let mut now = underflow + 5;
        bus.write(0, &mut now, scif::SCIF0_BASE + 0x08, Size::Word, scif::SCSCR_TIE as u32).expect("SCSCR");
        bus.sync_interrupts(underflow + 5);
        assert!(bus.intc.requested(transmit), "TIE set between two calls");
        // Clearing UNF (write 0 to it) lowers the timer's line.
        let mut now = underflow + 5;
        bus.write(0, &mut now, tmu::TMU0_BASE + 0x10, Size::Word, tmu::TCR_UNIE as u32).expect("TCR");
        bus.sync_interrupts(underflow + 5);
        assert!(!bus.intc.requested(timer), "UNF cleared between two calls");
    }

    /// A core's write to a peripheral through P4 leaves the bus's device
    /// flag to no one else: another core's next store to DRAM by the slow
    /// path (its write window empty, as at the start of every slice) does
    /// not yield for it. It did: the flag stayed set until some core's
    /// slow write took it, so a core yielded at a point another core's
    /// register write chose, and where that fell depended on which of its
    /// stores missed its window (a host-side cache changed the simulated
    /// run).
    #[test]
    fn a_peripheral_write_makes_no_other_core_yield() {
        use crate::cpu::Cpu;
        let mut bus = Rp1Bus::new(2, 0x0800_0000);
        let (mut writer, mut other) = (Cpu::new(1), Cpu::new(0));
        writer.reset(0xA000_0000);
        other.reset(0xA000_0000);
        // TMU0's TSTR (P4), then a store to DRAM through P1.
        writer.write(&mut bus, crate::devices::tmu::TMU0_BASE + 4, Size::Byte, 0).expect("TSTR takes a write");
        assert!(writer.yield_now, "the writer yields for its own peripheral write");
        other.yield_now = false;
        other.write(&mut bus, 0x8C00_0000, Size::Long, 1).expect("DRAM takes a write");
        assert!(!other.yield_now, "another core's store to DRAM does not yield");
        // Its own write to a device still does (SIMCTL's EXIT, through P2).
        other.write(&mut bus, 0xA000_0000 | crate::devices::simctl::BASE, Size::Long, 0).expect("EXIT takes a write");
        assert!(other.yield_now, "a store to a device yields");
    }

    /// A store-queue burst is a store like any other: one that reaches a
    /// device makes its core yield (the device may have stopped the
    /// machine or raised a line), one to DRAM does not.
    #[test]
    fn a_store_queue_burst_to_a_device_yields() {
        use crate::cpu::{p4, Cpu};
        let mut bus = Rp1Bus::new(1, 0x0800_0000);
        let mut cpu = Cpu::new(0);
        cpu.reset(0xA000_0000);
        cpu.yield_now = false;
        // MMU off: the burst goes to QACR0's area (address bits 28:26)
        // and the store-queue address's bits 25:5.
        let to = |phys: u32| 0xE000_0000 | (phys & 0x03FF_FFE0);
        cpu.p4.qacr[0] = (0x0C00_0000 >> 24) & 0x1C;
        p4::flush_store_queue(&mut cpu, &mut bus, to(0x0C00_0000)).expect("DRAM takes the burst");
        assert!(!cpu.yield_now, "a burst to DRAM");
        cpu.p4.qacr[0] = (crate::devices::simctl::BASE >> 24) & 0x1C;
        // SIMCTL takes the first word (EXIT) and refuses the rest.
        let r = p4::flush_store_queue(&mut cpu, &mut bus, to(crate::devices::simctl::BASE));
        assert!(r.is_err(), "SIMCTL has no register at +4");
        assert!(cpu.yield_now, "a burst that reached a device");
        assert_eq!(bus.simctl.exit_code, Some(0));
    }

    /// Compiled stores to DRAM test one bit per 1 KiB block
    /// (`store_marks`): set where decoded code lives or a core holds a
    /// reservation of a line, clear again once neither is true, whichever
    /// way the reservation ends (MOVCO, a clear, another core's store to
    /// its line). A store elsewhere does not take the slow path because
    /// some core holds a reservation.
    #[test]
    fn store_marks_follow_code_and_reserved_lines() {
        let mut bus = Rp1Bus::new(2, 0x0800_0000);
        let block = |addr: u32| ((addr - DRAM_BASE) / code_cache::BLOCK_BYTES) as usize;
        let marked = |bus: &Rp1Bus, addr: u32| bus.store_marks[block(addr)] != 0;
        let any_marked = |bus: &Rp1Bus| bus.store_marks.iter().any(|&m| m != 0);
        let (line, beside, elsewhere) = (DRAM_BASE + 0x8004, DRAM_BASE + 0x8020, DRAM_BASE + 0x9000);
        assert!(!any_marked(&bus));
        bus.reserve(1, line);
        assert!(marked(&bus, line) && !marked(&bus, elsewhere));
        // A second reservation in the block; MOVCO ends the first.
        bus.reserve(0, beside);
        assert!(bus.take_reservation(1));
        assert!(marked(&bus, line), "core 0 still holds a line of the block");
        // Core 1 stores to core 0's line: broken, the block clear.
        let mut now = 0;
        bus.write(1, &mut now, beside, Size::Long, 7).expect("DRAM");
        assert!(!bus.take_reservation(0));
        assert!(!any_marked(&bus));
        // A core moving its reservation to another block.
        bus.reserve(0, line);
        bus.reserve(0, elsewhere);
        assert!(!marked(&bus, line) && marked(&bus, elsewhere));
        bus.clear_reservation(0);
        assert!(!any_marked(&bus));
        // Code: marked while decoded, whatever reservations come and go;
        // a store to it ends both marks.
        assert!(bus.code_block(DRAM_BASE + 0x8000).is_some());
        bus.reserve(1, line);
        bus.clear_reservation(1);
        assert!(marked(&bus, line), "decoded code");
        bus.write(0, &mut now, beside, Size::Long, 7).expect("DRAM");
        assert!(!any_marked(&bus) && bus.code_written());
        // A reservation outside DRAM marks nothing.
        bus.reserve(0, URAM_BASE[0] + 0x40);
        assert!(!any_marked(&bus));
    }

    /// Each core's URAM is its own: the hypervisor's board image keeps an
    /// instance's whole state there on that premise (docs/board-image.md).
    /// Another core's read or write faults (the CPU raises an address
    /// error), is recorded, and changes nothing. (Addresses here are
    /// physical: the CPU strips P1/P2 before the bus sees them.)
    #[test]
    fn only_its_own_core_reaches_a_uram() {
        let mut bus = Rp1Bus::new(4, 0x0800_0000);
        let mut now = 0;
        for owner in 0..4 {
            let base = URAM_BASE[owner];
            for other in (0..4).filter(|&c| c != owner) {
                let faults = bus.fault_count;
                assert_eq!(bus.write(other, &mut now, base + 0x100, Size::Long, 0xdead_beef), Err(BusError));
                assert_eq!(bus.read(other, &mut now, base + URAM_SIZE - 4, Size::Byte), Err(BusError));
                assert_eq!(bus.fault_count, faults + 2, "core {other} into core {owner}'s URAM");
                let f = bus.faults.last().expect("faults are recorded");
                assert_eq!((f.core, f.addr, f.write), (other, base + URAM_SIZE - 4, false));
            }
            assert_eq!(bus.uram[owner][0x100..0x104], [0; 4], "a refused write changed nothing");
            bus.write(owner, &mut now, base + 0x100, Size::Long, 0x1234_5678).expect("the owner writes");
            assert_eq!(bus.read(owner, &mut now, base + 0x100, Size::Long), Ok(0x1234_5678));
        }
    }
}
