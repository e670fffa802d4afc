//! SIMCTL: a simulator-only control device at physical 0x1BFF0000 (P2
//! 0xBBFF0000), not present on the real board. Test programs use it to end
//! the simulation with an exit code and to read their core's cycle counter
//! (the real board would use a timer for that).
//!
//! Registers (32-bit): +0x0 EXIT (write: stop the machine with this code),
//! +0x4 CYCLES_LO / +0x8 CYCLES_HI (read: the accessing core's cycle count).

use super::{Access, Mmio, MmioFault, Size};

pub const BASE: u32 = 0x1BFF_0000;
pub const SIZE: u32 = 0x10;

#[derive(Clone, Debug, Default)]
pub struct SimCtl {
    /// The exit code a guest asked for, once it has.
    pub exit_code: Option<u32>,
}

impl Mmio for SimCtl {
    fn read(&mut self, at: Access, offset: u32, size: Size) -> Result<u32, MmioFault> {
        if size != Size::Long {
            return Err(MmioFault::BadWidth);
        }
        match offset {
            0x0 => Ok(self.exit_code.unwrap_or(0)),
            0x4 => Ok(at.now as u32),
            0x8 => Ok((at.now >> 32) as u32),
            _ => Err(MmioFault::NoRegister),
        }
    }

    fn write(&mut self, _: Access, offset: u32, size: Size, value: u32) -> Result<(), MmioFault> {
        if size != Size::Long {
            return Err(MmioFault::BadWidth);
        }
        match offset {
            0x0 => {
                self.exit_code.get_or_insert(value);
                Ok(())
            }
            0x4 | 0x8 => Ok(()),
            _ => Err(MmioFault::NoRegister),
        }
    }
}
