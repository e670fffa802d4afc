//! Clock pulse generator (CPG) of the SH-X3: the frequency mode register
//! FRQMR1 and the module stop registers MSTPCR0/1, which are all that
//! Linux 6.1 touches on this chip (arch/sh/kernel/cpu/sh4a/clock-shx3.c,
//! FRQMR1 address from arch/sh/include/cpu-sh4/cpu/freq.h).
//!
//! Owns: the clock tree arithmetic (EXTAL x PLL / divider) and the reset
//! values that give the RP1 its documented clocks. Must not touch: other
//! devices (a module stop bit does not gate the device model it names: the
//! devices are independent and the machine does not wire them to the CPG),
//! or the CPU clock of the simulated cores, which is always [`CPU_HZ`].
//!
//! Clock tree (clock-shx3.c): EXTAL feeds PLL1, which has a fixed x72
//! multiplier; every other clock is PLL1 divided by a 4-bit code in FRQMR1
//! looked up in the table {1, 2, 4, 6, 8, 12, 16, 18, 24, 32, 36, 48}.
//! Linux's EXTAL default is 16 666 666 Hz, the integer rendering of
//! 50/3 MHz, so PLL1 is 1.2 GHz. Field positions and the codes Linux allows:
//!
//! | clock | FRQMR1 bits | allowed codes | reset code | reset rate |
//! |-------|-------------|---------------|------------|------------|
//! | I (CPU)        | 31:28 | 1-3  | 1 (/2)  | 600 MHz |
//! | SH (SuperHyway)| 23:20 | 2-3  | 2 (/4)  | 300 MHz |
//! | B (bus)        | 19:16 | 5-11 | 8 (/24) | 50 MHz  |
//! | DDR            | 15:12 | 2-3  | 2 (/4)  | 300 MHz |
//! | SHA            | 7:4   | 4-11 | 4 (/8)  | 150 MHz |
//! | P (peripheral) | 3:0   | 7-11 | 8 (/24) | 50 MHz  |
//!
//! The reset codes are this model's choice, not read from an RP1 manual:
//! I = /2 is forced by the RP1's 600 MHz cores; P = /24 (50 MHz) is inside
//! Linux's allowed set, is the Pφ maximum of the SH7785 that shares this
//! CPG design, and is exactly CPU/12, so CPU cycles convert to Pφ ticks
//! without rounding.
//!
//! Linux never changes the P divider here (sh-cpufreq only retunes
//! cpu_clk). A new FRQMR1 value is stored and reflected by
//! [`Cpg::frequency_hz`], but devices built with an earlier Pφ keep it, and
//! the simulated cores keep running at [`CPU_HZ`].
//!
//! The watchdog is not here: Linux 6.1's only WDT access on this chip is
//! the reboot fallback in arch/sh/kernel/reboot.c, which writes the generic
//! SH-4 WTCNT/WTCSR addresses 0xffc00008/0xffc0000c (cpu-sh4/cpu/watchdog.h)
//! after the BL=1 address-error reset has already reset the CPU. Those
//! offsets fault here. (The RP1's own per-core WDT sits at 0xfe4n0080.)

use super::{Access, Mmio, MmioFault, Size};

/// Physical (P4) base address of the CPG registers.
pub const BASE: u32 = 0xffc0_0000;
/// Bytes decoded from [`BASE`]: FRQCR0 up to and including MSTPCR1.
pub const SIZE: u32 = 0x40;

/// Clock of every simulated core: Iφ, 600 MHz on the RP1.
pub const CPU_HZ: u64 = 600_000_000;
/// PLL1 output: EXTAL (50/3 MHz) times the fixed x72 multiplier.
pub const PLL_HZ: u64 = 1_200_000_000;
/// The fixed PLL1 multiplier (`pll_recalc` in clock-shx3.c).
pub const PLL_MULTIPLIER: u64 = 72;

/// Divider codes 0-11 as clock-shx3.c's `div2[]` table lists them.
pub const DIVIDERS: [u64; 12] = [1, 2, 4, 6, 8, 12, 16, 18, 24, 32, 36, 48];

/// FRQMR1 after reset: I=/2, SH=/4, B=/24, DDR=/4, SHA=/8, P=/24.
pub const FRQMR1_RESET: u32 = 0x1028_2048;

const FRQMR1: u32 = 0x14;
const MSTPCR0: u32 = 0x30;
const MSTPCR1: u32 = 0x34;

/// A clock derived from PLL1 through a FRQMR1 divider field.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Clock {
    /// Iφ, the CPU core clock.
    Cpu,
    /// SHφ, the SuperHyway bus.
    SuperHyway,
    /// Bφ, the external bus.
    Bus,
    /// DDRφ, the DDR2 interface.
    Ddr,
    /// SHAφ.
    SuperHywayA,
    /// Pφ, the peripheral clock (TMU, SCIF).
    Peripheral,
}

impl Clock {
    /// Bit position of this clock's 4-bit divider code in FRQMR1.
    const fn shift(self) -> u32 {
        match self {
            Clock::Cpu => 28,
            Clock::SuperHyway => 20,
            Clock::Bus => 16,
            Clock::Ddr => 12,
            Clock::SuperHywayA => 4,
            Clock::Peripheral => 0,
        }
    }

    const ALL: [Clock; 6] =
        [Clock::Cpu, Clock::SuperHyway, Clock::Bus, Clock::Ddr, Clock::SuperHywayA, Clock::Peripheral];
}

/// The clock pulse generator's registers.
#[derive(Clone, Debug)]
pub struct Cpg {
    frqmr1: u32,
    mstpcr: [u32; 2],
}

impl Default for Cpg {
    fn default() -> Self {
        Cpg::new()
    }
}

impl Cpg {
    /// The CPG as it is after a power-on reset.
    pub fn new() -> Cpg {
        // MSTPCR reset 0: every module clocked, so the peripherals work
        // before software enables their clocks (an assumption; see header).
        Cpg { frqmr1: FRQMR1_RESET, mstpcr: [0; 2] }
    }

    /// The divider currently selected for `clock`.
    pub fn divider(&self, clock: Clock) -> u64 {
        let code = (self.frqmr1 >> clock.shift()) & 0xf;
        // Writes never store a code outside the table (see `write_frqmr1`).
        DIVIDERS[code as usize]
    }

    /// Frequency of `clock` in Hz as FRQMR1 programs it (rounded down).
    pub fn frequency_hz(&self, clock: Clock) -> u64 {
        PLL_HZ / self.divider(clock)
    }

    /// Pφ in Hz: the input clock of the TMU and SCIF.
    pub fn peripheral_hz(&self) -> u64 {
        self.frequency_hz(Clock::Peripheral)
    }

    /// MSTPCR0 and MSTPCR1 as software last wrote them (1 = module stopped).
    pub fn module_stop_bits(&self) -> [u32; 2] {
        self.mstpcr
    }

    /// Store each divider field whose code names a table entry; a code of
    /// 12-15 (no divider) leaves that field as it was.
    fn write_frqmr1(&mut self, value: u32) {
        for clock in Clock::ALL {
            let shift = clock.shift();
            let code = (value >> shift) & 0xf;
            if (code as usize) < DIVIDERS.len() {
                self.frqmr1 = (self.frqmr1 & !(0xf << shift)) | (code << shift);
            }
        }
    }
}

impl Mmio for Cpg {
    fn read(&mut self, _at: Access, offset: u32, size: Size) -> Result<u32, MmioFault> {
        let value = match offset {
            FRQMR1 => self.frqmr1,
            MSTPCR0 => self.mstpcr[0],
            MSTPCR1 => self.mstpcr[1],
            _ => return Err(MmioFault::NoRegister),
        };
        // Linux reads and writes these registers 32 bits at a time only.
        if size != Size::Long {
            return Err(MmioFault::BadWidth);
        }
        Ok(value)
    }

    fn write(&mut self, _at: Access, offset: u32, size: Size, value: u32) -> Result<(), MmioFault> {
        if !matches!(offset, FRQMR1 | MSTPCR0 | MSTPCR1) {
            return Err(MmioFault::NoRegister);
        }
        if size != Size::Long {
            return Err(MmioFault::BadWidth);
        }
        match offset {
            FRQMR1 => self.write_frqmr1(value),
            MSTPCR0 => self.mstpcr[0] = value,
            _ => self.mstpcr[1] = value,
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const AT: Access = Access { core: 0, now: 0 };

    #[test]
    fn reset_clocks_are_the_rp1_ones() {
        let cpg = Cpg::new();
        assert_eq!(cpg.frequency_hz(Clock::Cpu), 600_000_000);
        assert_eq!(cpg.frequency_hz(Clock::Cpu), CPU_HZ);
        assert_eq!(cpg.frequency_hz(Clock::SuperHyway), 300_000_000);
        assert_eq!(cpg.frequency_hz(Clock::Bus), 50_000_000);
        assert_eq!(cpg.frequency_hz(Clock::Ddr), 300_000_000);
        assert_eq!(cpg.frequency_hz(Clock::SuperHywayA), 150_000_000);
        assert_eq!(cpg.peripheral_hz(), 50_000_000);
        // Exactly CPU/12: no rounding when converting cycles to Pφ ticks.
        assert_eq!(CPU_HZ % cpg.peripheral_hz(), 0);
        // EXTAL is 50/3 MHz; Linux's integer 16_666_666 Hz is 48 Hz short.
        assert_eq!(PLL_HZ * 3, 50_000_000 * PLL_MULTIPLIER);
        assert_eq!(PLL_HZ - 16_666_666 * PLL_MULTIPLIER, 48);
    }

    #[test]
    fn reset_codes_are_inside_linux_allowed_sets() {
        // (shift, bitmap of allowed codes) from clock-shx3.c's div4_clks.
        let allowed = [(0, 0x0f80), (4, 0x0ff0), (12, 0x000c), (16, 0x0fe0), (20, 0x000c), (28, 0x000e)];
        for (shift, bitmap) in allowed {
            let code = (FRQMR1_RESET >> shift) & 0xf;
            assert!(bitmap & (1 << code) != 0, "field at bit {shift} has code {code}");
        }
    }

    #[test]
    fn frqmr1_reads_back_and_retunes_peripheral_clock() {
        let mut cpg = Cpg::new();
        assert_eq!(cpg.read(AT, FRQMR1, Size::Long), Ok(FRQMR1_RESET));
        // P = code 11 (/48): 25 MHz.
        let value = (FRQMR1_RESET & !0xf) | 11;
        cpg.write(AT, FRQMR1, Size::Long, value).unwrap();
        assert_eq!(cpg.read(AT, FRQMR1, Size::Long), Ok(value));
        assert_eq!(cpg.peripheral_hz(), 25_000_000);
        // A code with no divider is ignored; the other fields still land.
        let value = (FRQMR1_RESET & !0xf & !(0xf << 28)) | 0xf | (3 << 28);
        cpg.write(AT, FRQMR1, Size::Long, value).unwrap();
        assert_eq!(cpg.peripheral_hz(), 25_000_000);
        assert_eq!(cpg.frequency_hz(Clock::Cpu), 200_000_000);
    }

    #[test]
    fn module_stop_registers_store_what_linux_writes() {
        let mut cpg = Cpg::new();
        assert_eq!(cpg.read(AT, MSTPCR0, Size::Long), Ok(0));
        // sh_clk_mstp_disable sets the bit, enable clears it (SCIF0 = bit 24).
        cpg.write(AT, MSTPCR0, Size::Long, 1 << 24).unwrap();
        cpg.write(AT, MSTPCR1, Size::Long, 1 << 19).unwrap();
        assert_eq!(cpg.read(AT, MSTPCR0, Size::Long), Ok(1 << 24));
        assert_eq!(cpg.module_stop_bits(), [1 << 24, 1 << 19]);
    }

    #[test]
    fn bad_offsets_and_widths_fault() {
        let mut cpg = Cpg::new();
        assert_eq!(cpg.read(AT, 0x08, Size::Long), Err(MmioFault::NoRegister));
        assert_eq!(cpg.write(AT, 0x0c, Size::Word, 0xa5c2), Err(MmioFault::NoRegister));
        assert_eq!(cpg.read(AT, FRQMR1, Size::Word), Err(MmioFault::BadWidth));
        assert_eq!(cpg.write(AT, MSTPCR0, Size::Byte, 1), Err(MmioFault::BadWidth));
    }

    #[test]
    fn every_offset_and_width_is_safe() {
        let mut cpg = Cpg::new();
        for offset in 0..SIZE + 8 {
            for size in [Size::Byte, Size::Word, Size::Long] {
                let _ = cpg.read(AT, offset, size);
                let _ = cpg.write(AT, offset, size, 0xffff_ffff);
                let _ = cpg.write(AT, offset, size, 0);
            }
        }
        let _ = cpg.peripheral_hz();
    }
}
