//! The x3proto baseboard's FPGA registers on the external bus (area 6,
//! physical 0x18000000; Linux reaches them through P2, 0xb8000000) and the
//! board's external chips as Linux probes them (arch/sh/boards/
//! mach-x3proto/{setup.c,ilsel.c,gpio.c}).
//!
//! Owns, at physical addresses (offsets from [`BASE`]):
//! - ILSEL0-3, 16 bit, 0x18100004/6/8/a: which board interrupt source
//!   drives each IRL level. Level L's 4-bit field is ILSEL((L-1)/4), bits
//!   ((L-1)%4)*4+3..((L-1)%4)*4 (ilsel.c's mk_ilsel_addr/mk_ilsel_shift);
//!   ILSEL3 has no field for level 16, so its top nibble reads 0.
//! - the heartbeat LEDs, 8 bit, 0x18140020 (arch/sh/drivers/heartbeat.c
//!   uses 8-bit accesses when the resource gives no width).
//! - KEYCTLR (0x181c0000) and KEYOUTR (0x181c0002), 16-bit storage, and
//!   KEYDETR (0x181c0004), 16-bit read-only: all 16 buttons released. The
//!   buttons are active low (setup.c), so released reads 1.
//!
//! Models as "absent" (reads all ones, writes ignored, the way an empty
//! bus reads on this board): the SMC91x Ethernet at 0x18000300-0x1800030f,
//! the R8A66597 USB host at 0x18040000-0x1807ffff and the M66592 USB
//! function at 0x18080000-0x180bffff. smc91x's probe reads the bank
//! signature 0xffff instead of 0x33xx and fails with -ENODEV; r8a66597's
//! register echo test fails with -ENXIO; m66592 probes without checking
//! and never gets an interrupt. All three fail or idle cleanly.
//!
//! Must not touch: the INTC. No board source is modelled, so nothing here
//! raises an IRL line; [`Board::irl_level_of`] says where ILSEL would
//! route a source if the machine ever models one. Any other address in the
//! window faults.

use super::{Access, Mmio, MmioFault, Size};

/// Physical base of the board window (external bus area 6).
pub const BASE: u32 = 0x1800_0000;
/// Bytes decoded: through the key registers at 0x181c0004.
pub const SIZE: u32 = 0x0020_0000;

/// ILSEL source codes (arch/sh/include/mach-x3proto/mach/ilsel.h).
pub const ILSEL_NONE: u8 = 0;
pub const ILSEL_LAN: u8 = 1;
pub const ILSEL_USBH_I: u8 = 2;
pub const ILSEL_USBP_I: u8 = 6;
pub const ILSEL_KEY: u8 = 9;

const SMC91X: std::ops::Range<u32> = 0x0000_0300..0x0000_0310;
const R8A66597: std::ops::Range<u32> = 0x0004_0000..0x0008_0000;
const M66592: std::ops::Range<u32> = 0x0008_0000..0x000c_0000;
const ILSEL0: u32 = 0x0010_0004;
const HEARTBEAT: u32 = 0x0014_0020;
const KEYCTLR: u32 = 0x001c_0000;
const KEYOUTR: u32 = 0x001c_0002;
const KEYDETR: u32 = 0x001c_0004;
/// Buttons on the baseboard (NR_BASEBOARD_GPIOS), all released.
const KEYS_RELEASED: u16 = 0xffff;

/// The board FPGA registers.
#[derive(Clone, Debug, Default)]
pub struct Board {
    ilsel: [u16; 4],
    leds: u8,
    keyctlr: u16,
    keyoutr: u16,
}

enum Reg {
    Absent,
    Ilsel(usize),
    Heartbeat,
    KeyCtl,
    KeyOut,
    KeyDetect,
}

impl Board {
    /// The FPGA after power-on: no ILSEL routing, LEDs off.
    pub fn new() -> Board {
        Board::default()
    }

    /// The heartbeat LED register as software last wrote it.
    pub fn leds(&self) -> u8 {
        self.leds
    }

    /// ILSEL register `index` (0-3).
    pub fn ilsel(&self, index: usize) -> Option<u16> {
        self.ilsel.get(index).copied()
    }

    /// The highest IRL level (1-15) whose ILSEL field selects `source`.
    pub fn irl_level_of(&self, source: u8) -> Option<u8> {
        if source == ILSEL_NONE {
            return None;
        }
        (1..=15u8).rev().find(|&level| {
            let slot = (level - 1) as usize;
            (self.ilsel[slot / 4] >> ((slot % 4) * 4)) & 0xf == source as u16
        })
    }

    fn decode(offset: u32, size: Size) -> Result<Reg, MmioFault> {
        let (reg, want) = match offset {
            o if SMC91X.contains(&o) || R8A66597.contains(&o) || M66592.contains(&o) => {
                return Ok(Reg::Absent)
            }
            ILSEL0 | 0x0010_0006 | 0x0010_0008 | 0x0010_000a => {
                (Reg::Ilsel(((offset - ILSEL0) / 2) as usize), Size::Word)
            }
            HEARTBEAT => (Reg::Heartbeat, Size::Byte),
            KEYCTLR => (Reg::KeyCtl, Size::Word),
            KEYOUTR => (Reg::KeyOut, Size::Word),
            KEYDETR => (Reg::KeyDetect, Size::Word),
            _ => return Err(MmioFault::NoRegister),
        };
        if size != want {
            return Err(MmioFault::BadWidth);
        }
        Ok(reg)
    }
}

impl Mmio for Board {
    fn read(&mut self, _at: Access, offset: u32, size: Size) -> Result<u32, MmioFault> {
        Ok(match Board::decode(offset, size)? {
            Reg::Absent => match size {
                Size::Byte => 0xff,
                Size::Word => 0xffff,
                Size::Long => 0xffff_ffff,
            },
            Reg::Ilsel(index) => self.ilsel[index] as u32,
            Reg::Heartbeat => self.leds as u32,
            Reg::KeyCtl => self.keyctlr as u32,
            Reg::KeyOut => self.keyoutr as u32,
            Reg::KeyDetect => KEYS_RELEASED as u32,
        })
    }

    fn write(&mut self, _at: Access, offset: u32, size: Size, value: u32) -> Result<(), MmioFault> {
        match Board::decode(offset, size)? {
            Reg::Absent | Reg::KeyDetect => {}
            // Level 16 does not exist: ILSEL3's top field is not stored.
            Reg::Ilsel(3) => self.ilsel[3] = value as u16 & 0x0fff,
            Reg::Ilsel(index) => self.ilsel[index] = value as u16,
            Reg::Heartbeat => self.leds = value as u8,
            Reg::KeyCtl => self.keyctlr = value as u16,
            Reg::KeyOut => self.keyoutr = value as u16,
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const AT: Access = Access { core: 0, now: 0 };

    fn off(physical: u32) -> u32 {
        physical - BASE
    }

    /// ilsel.c's __ilsel_enable for "bit" (= 15 - level), at 16 bits.
    fn ilsel_enable(board: &mut Board, set: u8, bit: u32) {
        let offset = 14 - bit;
        let addr = 0x1810_0004 + ((offset >> 1) & !1);
        let shift = (offset & 3) << 2;
        let old = board.read(AT, off(addr), Size::Word).unwrap();
        let new = (old & !(0xf << shift)) | (set as u32) << shift;
        board.write(AT, off(addr), Size::Word, new).unwrap();
    }

    #[test]
    fn ilsel_fields_follow_linux_level_map() {
        let mut board = Board::new();
        // x3proto_devices_setup: KEY first, then USBH, USBP, LAN; each gets
        // the lowest free bit, i.e. the highest free level (15, 14, 13, 12).
        for (bit, set) in [ILSEL_KEY, ILSEL_USBH_I, ILSEL_USBP_I, ILSEL_LAN].into_iter().enumerate() {
            ilsel_enable(&mut board, set, bit as u32);
        }
        assert_eq!(board.irl_level_of(ILSEL_KEY), Some(15));
        assert_eq!(board.irl_level_of(ILSEL_USBH_I), Some(14));
        assert_eq!(board.irl_level_of(ILSEL_USBP_I), Some(13));
        assert_eq!(board.irl_level_of(ILSEL_LAN), Some(12));
        assert_eq!(board.irl_level_of(5), None);
        assert_eq!(board.irl_level_of(ILSEL_NONE), None);
        // Level 15 is ILSEL3 bits 11:8, levels 12 is ILSEL2 bits 15:12.
        assert_eq!(board.ilsel(3), Some(0x0926));
        assert_eq!(board.ilsel(2), Some(0x1000));
        // ilsel_enable_fixed(set, 1): bit 14, ILSEL0 bits 3:0.
        ilsel_enable(&mut board, 10, 14);
        assert_eq!(board.read(AT, off(0x1810_0004), Size::Word), Ok(0x000a));
        assert_eq!(board.irl_level_of(10), Some(1));
    }

    #[test]
    fn heartbeat_and_key_registers() {
        let mut board = Board::new();
        board.write(AT, off(0x1814_0020), Size::Byte, 0x08).unwrap();
        assert_eq!(board.read(AT, off(0x1814_0020), Size::Byte), Ok(0x08));
        assert_eq!(board.leds(), 0x08);
        // x3proto_gpio_direction_input: KEYCTLR |= 1 << gpio.
        board.write(AT, off(0x181c_0000), Size::Word, 0x0003).unwrap();
        assert_eq!(board.read(AT, off(0x181c_0000), Size::Word), Ok(0x0003));
        board.write(AT, off(0x181c_0002), Size::Word, 0x1234).unwrap();
        assert_eq!(board.read(AT, off(0x181c_0002), Size::Word), Ok(0x1234));
        // No button pressed: active-low inputs read 1; writes are ignored.
        board.write(AT, off(0x181c_0004), Size::Word, 0).unwrap();
        assert_eq!(board.read(AT, off(0x181c_0004), Size::Word), Ok(0xffff));
    }

    #[test]
    fn absent_chips_read_all_ones() {
        let mut board = Board::new();
        // smc91x: BANK_SELECT at +0xe reads 0xffff, not 0x33xx.
        assert_eq!(board.read(AT, off(0x1800_030e), Size::Word), Ok(0xffff));
        board.write(AT, off(0x1800_030e), Size::Word, 0).unwrap();
        assert_eq!(board.read(AT, off(0x1800_030e), Size::Word), Ok(0xffff));
        assert_eq!(board.read(AT, off(0x1804_0000), Size::Long), Ok(0xffff_ffff));
        assert_eq!(board.read(AT, off(0x180b_ffff), Size::Byte), Ok(0xff));
        assert_eq!(board.read(AT, off(0x180c_0000), Size::Byte), Err(MmioFault::NoRegister));
    }

    #[test]
    fn other_offsets_and_widths_fault() {
        let mut board = Board::new();
        assert_eq!(board.read(AT, 0, Size::Long), Err(MmioFault::NoRegister));
        assert_eq!(board.read(AT, off(0x1810_0004), Size::Long), Err(MmioFault::BadWidth));
        assert_eq!(board.write(AT, off(0x1814_0020), Size::Word, 0), Err(MmioFault::BadWidth));
        assert_eq!(board.read(AT, off(0x1810_0005), Size::Byte), Err(MmioFault::NoRegister));
    }

    #[test]
    fn every_offset_and_width_is_safe() {
        let mut board = Board::new();
        for offset in 0..SIZE + 8 {
            for size in [Size::Byte, Size::Word, Size::Long] {
                let _ = board.read(AT, offset, size);
                let _ = board.write(AT, offset, size, 0xffff_ffff);
            }
        }
        for source in 0..=255 {
            let _ = board.irl_level_of(source);
        }
    }
}
