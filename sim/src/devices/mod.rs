//! The RP1's peripherals, one small module each, reached only through the
//! bus (`crate::bus`). A device owns its registers and its own notion of
//! time; it never reaches into a CPU or another device. What a device wants
//! of the rest of the machine (raise an interrupt line, start a core, emit
//! console bytes) it exposes as state that the machine polls after an access
//! or when simulated time advances.
//!
//! Every register offset and behaviour here comes from the SH-X3/SH-4A
//! manuals as Linux 6.1 uses them (arch/sh/kernel/cpu/sh4a/*-shx3.c,
//! boards/mach-x3proto/); docs/memory-map.md lists them.

/// Width of a memory-mapped access.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Size {
    Byte,
    Word,
    Long,
}

impl Size {
    pub const fn bytes(self) -> u32 {
        match self {
            Size::Byte => 1,
            Size::Word => 2,
            Size::Long => 4,
        }
    }
}

/// Who accesses a device, and when: the accessing core (0-3) and the
/// simulated time in CPU clock cycles (600 MHz) at the access.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Access {
    pub core: usize,
    pub now: u64,
}

/// Why a device refused an access. The bus turns this into the bus error
/// the CPU sees (an address error exception) and records it in the report.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
pub enum MmioFault {
    #[error("no register at this offset")]
    NoRegister,
    #[error("register does not accept an access of this width")]
    BadWidth,
}

/// A memory-mapped device. `offset` is relative to the device's base.
pub trait Mmio {
    fn read(&mut self, at: Access, offset: u32, size: Size) -> Result<u32, MmioFault>;
    fn write(&mut self, at: Access, offset: u32, size: Size, value: u32) -> Result<(), MmioFault>;
}
pub mod simctl;

pub mod board;
pub mod cpg;
pub mod intc;
pub mod pfc;
pub mod rst;
pub mod scif;
pub mod tmu;
