//! The SH-4 architecture as GDB's remote protocol sees it: register
//! numbering, the `g`/`G` packet layout and the target description.
//!
//! GDB has no XML feature file for SuperH: its `sh-tdep.c` fixes the
//! register set per variant and never takes registers from a target
//! description. So the description we send names only the architecture,
//! and the `g` packet must follow GDB's own numbering, which
//! `maint print remote-registers` shows after `set architecture sh4`
//! (identical for `sh4a`, the RP1's core): 67 raw registers of 4 bytes,
//! little-endian, 268 bytes in all.
//!
//! | GDB number | registers                  | simulator state            |
//! |-----------:|----------------------------|----------------------------|
//! | 0-15       | r0-r15                     | `Cpu::r` (current bank)    |
//! | 16-22      | pc pr gbr vbr mach macl sr | the same fields, `sr()`    |
//! | 23-24      | fpul fpscr                 | `fpul`, `fpscr()`          |
//! | 25-40      | fr0-fr15                   | `Cpu::fr[0..16]` (FPSCR.FR bank) |
//! | 41-42      | ssr spc                    | `ssr`, `spc`               |
//! | 43-50      | r0b0-r7b0 (bank 0)         | `r` or `r_bank` by SR      |
//! | 51-58      | r0b1-r7b1 (bank 1)         | `r` or `r_bank` by SR      |
//! | 59-66      | unnamed placeholders       | sent as unavailable (`xx`) |
//!
//! Bank 1 is the current bank only in privileged mode with SR.RB set
//! (the rule `Cpu::set_sr` applies); otherwise bank 0 is.

use crate::cpu::{sr, Cpu};
use gdbstub::arch::{Arch, RegId, Registers};
use std::num::NonZeroUsize;

/// Number of raw registers in GDB's SH-4 register file (the `g` packet).
pub const NUM_REGS: usize = 67;
/// Size of the `g` packet payload in bytes.
pub const G_PACKET_BYTES: usize = NUM_REGS * 4;

/// GDB register numbers of the registers tests and tools refer to.
pub mod regnum {
    pub const R0: usize = 0;
    pub const R15: usize = 15;
    pub const PC: usize = 16;
    pub const PR: usize = 17;
    pub const GBR: usize = 18;
    pub const VBR: usize = 19;
    pub const MACH: usize = 20;
    pub const MACL: usize = 21;
    pub const SR: usize = 22;
    pub const FPUL: usize = 23;
    pub const FPSCR: usize = 24;
    pub const FR0: usize = 25;
    pub const SSR: usize = 41;
    pub const SPC: usize = 42;
    pub const R0B0: usize = 43;
    pub const R0B1: usize = 51;
    /// First of the unnamed placeholders (59-66).
    pub const PLACEHOLDER: usize = 59;
}

/// GDB's names for registers 0-58, in order (as `maint print registers`
/// lists them for `sh4`).
pub const REG_NAMES: [&str; 59] = [
    "r0", "r1", "r2", "r3", "r4", "r5", "r6", "r7", "r8", "r9", "r10", "r11", "r12", "r13", "r14", "r15", "pc", "pr",
    "gbr", "vbr", "mach", "macl", "sr", "fpul", "fpscr", "fr0", "fr1", "fr2", "fr3", "fr4", "fr5", "fr6", "fr7", "fr8",
    "fr9", "fr10", "fr11", "fr12", "fr13", "fr14", "fr15", "ssr", "spc", "r0b0", "r1b0", "r2b0", "r3b0", "r4b0",
    "r5b0", "r6b0", "r7b0", "r0b1", "r1b1", "r2b1", "r3b1", "r4b1", "r5b1", "r6b1", "r7b1",
];

/// The target description: the architecture only (see the module docs).
/// GDB then selects SH-4 by itself, and `set architecture sh4` beforehand
/// is accepted too.
pub const TARGET_XML: &str = r#"<?xml version="1.0"?>
<!DOCTYPE target SYSTEM "gdb-target.dtd">
<target version="1.0"><architecture>sh4</architecture></target>"#;

/// The SH-4 (SH-4A) as a `gdbstub` architecture.
pub enum Sh4 {}

impl Arch for Sh4 {
    type Usize = u32;
    type Registers = Sh4Regs;
    /// GDB sends kind 2 (the instruction size) for SuperH breakpoints.
    type BreakpointKind = usize;
    type RegId = Sh4RegId;

    fn target_description_xml() -> Option<&'static str> {
        Some(TARGET_XML)
    }
}

/// One core's registers in GDB's order: index `i` of `values` is GDB
/// register `i` (0-58); the placeholders 59-66 are not stored.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Sh4Regs {
    pub values: [u32; regnum::PLACEHOLDER],
}

impl Default for Sh4Regs {
    fn default() -> Self {
        Sh4Regs { values: [0; regnum::PLACEHOLDER] }
    }
}

impl Sh4Regs {
    /// Snapshot a core's registers.
    pub fn from_cpu(cpu: &Cpu) -> Sh4Regs {
        let mut regs = Sh4Regs::default();
        for (n, v) in regs.values.iter_mut().enumerate() {
            *v = read_reg(cpu, n).unwrap_or(0);
        }
        regs
    }

    /// Write into `cpu` every register that differs from what the core
    /// holds now. SR and FPSCR go first, so a bank switch they cause is
    /// done before the banked registers are compared and written; a
    /// register GDB sends back unchanged never overwrites another view of
    /// the same storage (r0-r7 versus rNb0/rNb1, a `G` packet carries both).
    pub fn write_to_cpu(&self, cpu: &mut Cpu) {
        let old = Sh4Regs::from_cpu(cpu);
        for n in [regnum::SR, regnum::FPSCR] {
            if self.values[n] != old.values[n] {
                write_reg(cpu, n, self.values[n]);
            }
        }
        for n in 0..regnum::PLACEHOLDER {
            if n == regnum::SR || n == regnum::FPSCR {
                continue;
            }
            if self.values[n] != old.values[n] {
                write_reg(cpu, n, self.values[n]);
            }
        }
    }
}

impl Registers for Sh4Regs {
    type ProgramCounter = u32;

    fn pc(&self) -> u32 {
        self.values[regnum::PC]
    }

    fn gdb_serialize(&self, mut write_byte: impl FnMut(Option<u8>)) {
        for v in self.values {
            for b in v.to_le_bytes() {
                write_byte(Some(b));
            }
        }
        for _ in regnum::PLACEHOLDER..NUM_REGS {
            for _ in 0..4 {
                write_byte(None);
            }
        }
    }

    fn gdb_deserialize(&mut self, bytes: &[u8]) -> Result<(), ()> {
        // GDB sends all 67 registers; accept a packet that stops after the
        // named ones, never one that cuts a register in two.
        if !bytes.len().is_multiple_of(4) || bytes.len() < regnum::PLACEHOLDER * 4 || bytes.len() > G_PACKET_BYTES {
            return Err(());
        }
        for (n, chunk) in bytes.chunks_exact(4).take(regnum::PLACEHOLDER).enumerate() {
            self.values[n] = u32::from_le_bytes([chunk[0], chunk[1], chunk[2], chunk[3]]);
        }
        Ok(())
    }
}

/// A GDB register number (0-66), for the `p` and `P` packets.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Sh4RegId(pub usize);

impl RegId for Sh4RegId {
    fn from_raw_id(id: usize) -> Option<(Self, Option<NonZeroUsize>)> {
        (id < NUM_REGS).then(|| (Sh4RegId(id), NonZeroUsize::new(4)))
    }

    fn to_raw_id(&self) -> Option<usize> {
        Some(self.0)
    }
}

/// Whether bank 1 of R0-R7 is the one `Cpu::r` shows now.
pub fn bank1_current(sr_value: u32) -> bool {
    sr_value & (sr::MD | sr::RB) == (sr::MD | sr::RB)
}

/// Read GDB register `n` of `cpu`; `None` for a placeholder or a number
/// out of range.
pub fn read_reg(cpu: &Cpu, n: usize) -> Option<u32> {
    let bank1 = bank1_current(cpu.sr());
    Some(match n {
        0..=15 => cpu.r[n],
        16 => cpu.pc,
        17 => cpu.pr,
        18 => cpu.gbr,
        19 => cpu.vbr,
        20 => cpu.mach,
        21 => cpu.macl,
        22 => cpu.sr(),
        23 => cpu.fpul,
        24 => cpu.fpscr(),
        25..=40 => cpu.fr[n - 25],
        41 => cpu.ssr,
        42 => cpu.spc,
        43..=50 => {
            let i = n - 43;
            if bank1 {
                cpu.r_bank[i]
            } else {
                cpu.r[i]
            }
        }
        51..=58 => {
            let i = n - 51;
            if bank1 {
                cpu.r[i]
            } else {
                cpu.r_bank[i]
            }
        }
        _ => return None,
    })
}

/// Write GDB register `n` of `cpu`. Returns false for a placeholder or a
/// number out of range (nothing changes). SR and FPSCR keep only their
/// implemented bits and switch banks as LDC/LDS would; a new PC abandons a
/// pending delay slot.
pub fn write_reg(cpu: &mut Cpu, n: usize, value: u32) -> bool {
    let bank1 = bank1_current(cpu.sr());
    match n {
        0..=15 => cpu.r[n] = value,
        16 => {
            if cpu.pc != value {
                cpu.slot_pending = false;
            }
            cpu.pc = value;
        }
        17 => cpu.pr = value,
        18 => cpu.gbr = value,
        19 => cpu.vbr = value,
        20 => cpu.mach = value,
        21 => cpu.macl = value,
        22 => cpu.set_sr(value),
        23 => cpu.fpul = value,
        24 => cpu.set_fpscr(value),
        25..=40 => cpu.fr[n - 25] = value,
        41 => cpu.ssr = value,
        42 => cpu.spc = value,
        43..=50 => {
            let i = n - 43;
            if bank1 {
                cpu.r_bank[i] = value
            } else {
                cpu.r[i] = value
            }
        }
        51..=58 => {
            let i = n - 51;
            if bank1 {
                cpu.r[i] = value
            } else {
                cpu.r_bank[i] = value
            }
        }
        _ => return false,
    }
    true
}
