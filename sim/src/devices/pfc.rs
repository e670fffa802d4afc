//! Pin function controller (PFC) of the SH-X3: four port control registers
//! and four port data registers for ports A-H, 0xffc70000-0xffc7001f
//! (arch/sh/kernel/cpu/sh4a/pinmux-shx3.c; register layout in
//! drivers/pinctrl/renesas/pfc-shx3.c).
//!
//! Owns: pin modes and pin data latches. Must not touch: the devices whose
//! pins these are: routing a pin away from its function does not disconnect
//! the SCIF, INTC or any other model (they are independent), and nothing
//! drives the pins from outside except [`Pfc::set_input_level`].
//!
//! | offset | register | pins (2 bits each, MSB first)     | data bits |
//! |--------|----------|-----------------------------------|-----------|
//! | 0x00 | PABCR | PA7..PA0 (31:16), PB7..PB0 (15:0)      | |
//! | 0x04 | PCDCR | PC7..PC0, PD7..PD0                     | |
//! | 0x08 | PEFCR | PE7..PE0, PF7..PF0                     | |
//! | 0x0c | PGHCR | PG7..PG0 (31:16), PH5..PH0 (11:0)      | |
//! | 0x10 | PABDR | | PA 23:16, PB 7:0 |
//! | 0x14 | PCDDR | | PC 23:16, PD 7:0 |
//! | 0x18 | PEFDR | | PE 23:16, PF 7:0 |
//! | 0x1c | PGHDR | | PG 23:16, PH 5:0 |
//!
//! A control field is 00 = peripheral function, 01 = output, 10 = input,
//! 11 = reserved (stored, behaves like function). Data registers: a write
//! sets every pin's output latch; a read gives the latch for output pins,
//! the external level for input pins, and 0 for function pins. All
//! registers are 32 bits wide, as Linux's sh-pfc driver accesses them.
//!
//! Reset state (assumed, not from a manual): every pin in function mode,
//! latches and external levels 0.

use super::{Access, Mmio, MmioFault, Size};

/// P4 base of the PFC.
pub const BASE: u32 = 0xffc7_0000;
/// Bytes decoded (the resource in pinmux-shx3.c ends at 0xffc7001f).
pub const SIZE: u32 = 0x20;

/// The eight 8-bit ports (H has six pins).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Port {
    A,
    B,
    C,
    D,
    E,
    F,
    G,
    H,
}

/// Mode of one pin as its control register field selects it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PinMode {
    Function,
    Output,
    Input,
    Reserved,
}

const DATA_OFFSET: u32 = 0x10;

impl Port {
    /// Register pair (0-3) holding this port and whether it is the upper
    /// (first) port of the pair.
    const fn pair(self) -> (usize, bool) {
        match self {
            Port::A => (0, true),
            Port::B => (0, false),
            Port::C => (1, true),
            Port::D => (1, false),
            Port::E => (2, true),
            Port::F => (2, false),
            Port::G => (3, true),
            Port::H => (3, false),
        }
    }

    /// Pins the port has.
    pub const fn pins(self) -> u32 {
        if matches!(self, Port::H) {
            6
        } else {
            8
        }
    }
}

/// Control bits that name a real pin, per register pair.
const CONTROL_VALID: [u32; 4] = [0xffff_ffff, 0xffff_ffff, 0xffff_ffff, 0xffff_0fff];
/// Data bits that name a real pin, per register pair.
const DATA_VALID: [u32; 4] = [0x00ff_00ff, 0x00ff_00ff, 0x00ff_00ff, 0x00ff_003f];

/// Position of the 2-bit control field of the pin at data bit `data_bit`:
/// the upper port's pins 7..0 (data 23:16) use control bits 31:16, the
/// lower port's (data 7:0) control bits 15:0.
const fn control_shift(data_bit: u32) -> u32 {
    if data_bit >= 16 {
        16 + 2 * (data_bit - 16)
    } else {
        2 * data_bit
    }
}

/// The pin function controller.
#[derive(Clone, Debug, Default)]
pub struct Pfc {
    control: [u32; 4],
    /// Output latches, in data register layout.
    latch: [u32; 4],
    /// Levels driven onto the pins from outside, in data register layout.
    external: [u32; 4],
}

impl Pfc {
    /// The PFC after reset.
    pub fn new() -> Pfc {
        Pfc::default()
    }

    /// Data register bit of `pin` of `port`.
    fn data_bit(port: Port, pin: u32) -> u32 {
        let (_, upper) = port.pair();
        pin + if upper { 16 } else { 0 }
    }

    /// Mode of `pin` (0-7) of `port`, or None for a pin the port lacks.
    pub fn mode(&self, port: Port, pin: u32) -> Option<PinMode> {
        if pin >= port.pins() {
            return None;
        }
        let (pair, _) = port.pair();
        let field = (self.control[pair] >> control_shift(Pfc::data_bit(port, pin))) & 3;
        Some(match field {
            0 => PinMode::Function,
            1 => PinMode::Output,
            2 => PinMode::Input,
            _ => PinMode::Reserved,
        })
    }

    /// Drive `pin` of `port` from outside the chip (seen when it is an input).
    pub fn set_input_level(&mut self, port: Port, pin: u32, high: bool) {
        if pin >= port.pins() {
            return;
        }
        let (pair, _) = port.pair();
        let bit = 1 << Pfc::data_bit(port, pin);
        if high {
            self.external[pair] |= bit;
        } else {
            self.external[pair] &= !bit;
        }
    }

    /// What a read of data register `pair` returns.
    fn read_data(&self, pair: usize) -> u32 {
        let mut value = 0;
        for bit in 0..32 {
            if DATA_VALID[pair] & (1 << bit) == 0 {
                continue;
            }
            let source = match (self.control[pair] >> control_shift(bit)) & 3 {
                1 => self.latch[pair],
                2 => self.external[pair],
                _ => 0,
            };
            value |= source & (1 << bit);
        }
        value
    }

    fn decode(offset: u32, size: Size) -> Result<(bool, usize), MmioFault> {
        if offset >= SIZE || !offset.is_multiple_of(4) {
            return Err(MmioFault::NoRegister);
        }
        if size != Size::Long {
            return Err(MmioFault::BadWidth);
        }
        Ok((offset >= DATA_OFFSET, ((offset % DATA_OFFSET) / 4) as usize))
    }
}

impl Mmio for Pfc {
    fn read(&mut self, _at: Access, offset: u32, size: Size) -> Result<u32, MmioFault> {
        let (is_data, pair) = Pfc::decode(offset, size)?;
        Ok(if is_data { self.read_data(pair) } else { self.control[pair] })
    }

    fn write(&mut self, _at: Access, offset: u32, size: Size, value: u32) -> Result<(), MmioFault> {
        let (is_data, pair) = Pfc::decode(offset, size)?;
        if is_data {
            self.latch[pair] = value & DATA_VALID[pair];
        } else {
            self.control[pair] = value & CONTROL_VALID[pair];
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const AT: Access = Access { core: 0, now: 0 };
    const PABCR: u32 = 0x00;
    const PGHCR: u32 = 0x0c;
    const PABDR: u32 = 0x10;
    const PGHDR: u32 = 0x1c;

    #[test]
    fn reset_is_all_function_mode() {
        let mut pfc = Pfc::new();
        for offset in (0..SIZE).step_by(4) {
            assert_eq!(pfc.read(AT, offset, Size::Long), Ok(0));
        }
        assert_eq!(pfc.mode(Port::A, 7), Some(PinMode::Function));
        assert_eq!(pfc.mode(Port::H, 6), None);
    }

    #[test]
    fn control_fields_follow_pfc_shx3_layout() {
        let mut pfc = Pfc::new();
        // PA7 = output (bits 31:30 = 01), PB0 = input (bits 1:0 = 10).
        pfc.write(AT, PABCR, Size::Long, 0x4000_0002).unwrap();
        assert_eq!(pfc.mode(Port::A, 7), Some(PinMode::Output));
        assert_eq!(pfc.mode(Port::B, 0), Some(PinMode::Input));
        assert_eq!(pfc.mode(Port::A, 0), Some(PinMode::Function));
        // PGHCR bits 15:12 name no pin and read 0.
        pfc.write(AT, PGHCR, Size::Long, 0xffff_ffff).unwrap();
        assert_eq!(pfc.read(AT, PGHCR, Size::Long), Ok(0xffff_0fff));
        assert_eq!(pfc.mode(Port::H, 5), Some(PinMode::Reserved));
        // TOPPERS-style "SCIF0 pins to function": clear the low half.
        pfc.write(AT, PGHCR, Size::Long, 0xffff_0000).unwrap();
        assert_eq!(pfc.mode(Port::H, 0), Some(PinMode::Function));
    }

    #[test]
    fn data_reads_latch_for_outputs_and_levels_for_inputs() {
        let mut pfc = Pfc::new();
        // PA7 output, PA6 input, PA5 function.
        pfc.write(AT, PABCR, Size::Long, 0x6000_0000).unwrap();
        pfc.write(AT, PABDR, Size::Long, 0x00e0_0000).unwrap();
        assert_eq!(pfc.read(AT, PABDR, Size::Long), Ok(0x0080_0000));
        pfc.set_input_level(Port::A, 6, true);
        assert_eq!(pfc.read(AT, PABDR, Size::Long), Ok(0x00c0_0000));
        // The latch survives a mode change: PA5 to output shows it.
        pfc.write(AT, PABCR, Size::Long, 0x6400_0000).unwrap();
        assert_eq!(pfc.read(AT, PABDR, Size::Long), Ok(0x00e0_0000));
    }

    #[test]
    fn port_h_has_six_data_bits() {
        let mut pfc = Pfc::new();
        pfc.write(AT, PGHCR, Size::Long, 0x5555_0555).unwrap();
        pfc.write(AT, PGHDR, Size::Long, 0xffff_ffff).unwrap();
        assert_eq!(pfc.read(AT, PGHDR, Size::Long), Ok(0x00ff_003f));
    }

    #[test]
    fn widths_and_offsets_fault() {
        let mut pfc = Pfc::new();
        assert_eq!(pfc.read(AT, PABCR, Size::Word), Err(MmioFault::BadWidth));
        assert_eq!(pfc.write(AT, PABDR, Size::Byte, 0), Err(MmioFault::BadWidth));
        assert_eq!(pfc.read(AT, 0x02, Size::Long), Err(MmioFault::NoRegister));
        assert_eq!(pfc.read(AT, 0x20, Size::Long), Err(MmioFault::NoRegister));
    }

    #[test]
    fn every_offset_and_width_is_safe() {
        let mut pfc = Pfc::new();
        for offset in 0..SIZE + 8 {
            for size in [Size::Byte, Size::Word, Size::Long] {
                let _ = pfc.read(AT, offset, size);
                let _ = pfc.write(AT, offset, size, 0xffff_ffff);
                let _ = pfc.write(AT, offset, size, 0x5555_5555);
            }
        }
        for pin in 0..10 {
            pfc.set_input_level(Port::H, pin, true);
            let _ = pfc.mode(Port::H, pin);
        }
    }
}
