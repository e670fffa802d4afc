//! One SCIF (serial port with 16-byte FIFOs) of the SH-X3. The chip has
//! four, at 0xffc30000, 0xffc40000, 0xffc50000 and 0xffc60000; Linux
//! registers the first, second and fourth (setup-shx3.c: the third one's
//! INTEVTs collide with the FPU exception codes).
//!
//! Owns: the SCIF registers in the SH-4 SCIF layout drivers/tty/serial/
//! sh-sci.c uses for PORT_SCIF (SCIx_SH4_SCIF_REGTYPE), both FIFOs, and the
//! four interrupt request lines. Must not touch: the INTC (the machine
//! forwards [`Scif::irq_lines`]), the PFC or the CPG (pin routing and the
//! module clock do not gate this model), or the host terminal (the machine
//! moves bytes with [`Scif::push_input`] and [`Scif::take_output`]).
//!
//! | offset | register | width | here |
//! |--------|----------|-------|------|
//! | 0x00 | SCSMR  | 16 | stored (bits 7:0) |
//! | 0x04 | SCBRR  | 8  | stored |
//! | 0x08 | SCSCR  | 16 | TIE, RIE, TE, RE, REIE, CKE1:0 |
//! | 0x0c | SCFTDR | 8  | write: transmit FIFO; reads 0 |
//! | 0x10 | SCFSR  | 16 | ER TEND TDFE BRK FER PER RDF DR |
//! | 0x14 | SCFRDR | 8  | read: pops the receive FIFO |
//! | 0x18 | SCFCR  | 16 | RSTRG, RTRG, TTRG, MCE, TFRST, RFRST, LOOP |
//! | 0x1c | SCFDR  | 16 | transmit count 12:8, receive count 4:0 |
//! | 0x20 | SCSPTR | 16 | stored; CTS# and RxD inputs read idle |
//! | 0x24 | SCLSR  | 16 | ORER (never set, see below) |
//!
//! Timing: transmission is instant. While SCSCR.TE is 1, a byte written to
//! SCFTDR leaves at once (to the output buffer, or to the receiver when
//! SCFCR.LOOP is set), so TDFE and TEND read 1 and Linux's polling loops
//! finish. While TE is 0 bytes wait in the transmit FIFO, as on the chip,
//! and leave when TE is set (TFRST discards them).
//!
//! Reception: [`Scif::push_input`] puts bytes on the line; they enter the
//! receive FIFO while SCSCR.RE is 1, SCFCR.RFRST is 0 and the FIFO has
//! room, and the rest wait on the line, as if the sender obeyed perfect
//! flow control. So bytes are never lost and ORER, ER, FER, PER and BRK
//! never occur, with one exception: in loopback (SCFCR.LOOP) the guest is
//! the sender, and bytes it loops back while [`LOOP_LINE_LIMIT`] bytes
//! already wait on the line are lost (silently; ORER is not modelled), so
//! a guest cannot make the line grow without bound. The receive timeout is treated as already elapsed: a FIFO
//! holding fewer bytes than the RTRG trigger sets DR at once.
//!
//! Status flags follow the manual's rule: a flag is cleared by writing 0
//! to it after it was read as 1, and only if its clearing condition holds
//! (TDFE: FIFO above the TTRG level; TEND: data in the FIFO with TE set;
//! RDF: FIFO below the RTRG level; DR: FIFO empty). Writing 1 changes
//! nothing.

use std::collections::VecDeque;
use std::mem;

use super::{Access, Mmio, MmioFault, Size};

/// P4 base of SCIF0 (console on the RP1 board).
pub const SCIF0_BASE: u32 = 0xffc3_0000;
/// P4 base of SCIF1.
pub const SCIF1_BASE: u32 = 0xffc4_0000;
/// P4 base of SCIF2 (not registered by Linux).
pub const SCIF2_BASE: u32 = 0xffc5_0000;
/// P4 base of SCIF3 (Linux's "sh-sci.2").
pub const SCIF3_BASE: u32 = 0xffc6_0000;
/// The four bases, by port number.
pub const BASES: [u32; 4] = [SCIF0_BASE, SCIF1_BASE, SCIF2_BASE, SCIF3_BASE];
/// Bytes decoded from a port's base (the resource size in setup-shx3.c).
pub const SIZE: u32 = 0x100;
/// Depth of each FIFO.
pub const FIFO_SIZE: usize = 16;
/// Looped-back bytes the line holds for the receiver at most.
pub const LOOP_LINE_LIMIT: usize = 64 * 1024;

/// Index of each request line in [`Scif::irq_lines`].
pub const ERI: usize = 0;
/// Receive-data-full interrupt line index.
pub const RXI: usize = 1;
/// Break interrupt line index.
pub const BRI: usize = 2;
/// Transmit-FIFO-empty interrupt line index.
pub const TXI: usize = 3;

/// SCSCR bits.
pub const SCSCR_TIE: u16 = 1 << 7;
pub const SCSCR_RIE: u16 = 1 << 6;
pub const SCSCR_TE: u16 = 1 << 5;
pub const SCSCR_RE: u16 = 1 << 4;
pub const SCSCR_REIE: u16 = 1 << 3;
const SCSCR_WRITABLE: u16 = 0x00fb;

/// SCFSR bits.
pub const SCFSR_ER: u16 = 1 << 7;
pub const SCFSR_TEND: u16 = 1 << 6;
pub const SCFSR_TDFE: u16 = 1 << 5;
pub const SCFSR_BRK: u16 = 1 << 4;
pub const SCFSR_FER: u16 = 1 << 3;
pub const SCFSR_PER: u16 = 1 << 2;
pub const SCFSR_RDF: u16 = 1 << 1;
pub const SCFSR_DR: u16 = 1 << 0;
const SCFSR_FLAGS: u16 = 0x00ff;

/// SCFCR bits.
pub const SCFCR_LOOP: u16 = 1 << 0;
pub const SCFCR_RFRST: u16 = 1 << 1;
pub const SCFCR_TFRST: u16 = 1 << 2;
const SCFCR_WRITABLE: u16 = 0x07ff;

/// SCSPTR bits with pin inputs behind them.
const SCSPTR_CTSIO: u16 = 1 << 5;
const SCSPTR_CTSDT: u16 = 1 << 4;
const SCSPTR_SPB2IO: u16 = 1 << 1;
const SCSPTR_SPB2DT: u16 = 1 << 0;

const SCSMR: u32 = 0x00;
const SCBRR: u32 = 0x04;
const SCSCR: u32 = 0x08;
const SCFTDR: u32 = 0x0c;
const SCFSR: u32 = 0x10;
const SCFRDR: u32 = 0x14;
const SCFCR: u32 = 0x18;
const SCFDR: u32 = 0x1c;
const SCSPTR: u32 = 0x20;
const SCLSR: u32 = 0x24;

/// One SCIF port.
#[derive(Clone, Debug)]
pub struct Scif {
    smr: u16,
    brr: u8,
    scr: u16,
    fcr: u16,
    sptr: u16,
    /// SCFSR flag bits 7:0.
    flags: u16,
    /// Flags read as 1 since the last SCFSR write: only these can clear.
    armed: u16,
    tx_fifo: VecDeque<u8>,
    rx_fifo: VecDeque<u8>,
    /// Bytes sent to this port that have not entered the receive FIFO yet.
    line: VecDeque<u8>,
    output: Vec<u8>,
}

impl Default for Scif {
    fn default() -> Self {
        Scif::new()
    }
}

impl Scif {
    /// A port after power-on reset: TE = RE = 0, FIFOs empty, TDFE and TEND
    /// set, SCBRR = 0xff.
    pub fn new() -> Scif {
        Scif {
            smr: 0,
            brr: 0xff,
            scr: 0,
            fcr: 0,
            sptr: 0,
            flags: SCFSR_TEND | SCFSR_TDFE,
            armed: 0,
            tx_fifo: VecDeque::with_capacity(FIFO_SIZE),
            rx_fifo: VecDeque::with_capacity(FIFO_SIZE),
            line: VecDeque::new(),
            output: Vec::new(),
        }
    }

    /// Bytes transmitted since the last call, oldest first.
    pub fn take_output(&mut self) -> Vec<u8> {
        mem::take(&mut self.output)
    }

    /// Send `bytes` to this port's receiver.
    pub fn push_input(&mut self, bytes: &[u8]) {
        self.line.extend(bytes.iter().copied());
        self.settle();
    }

    /// Bytes sent to the port that software has not read yet (FIFO + line).
    pub fn pending_input(&self) -> usize {
        self.rx_fifo.len() + self.line.len()
    }

    /// The interrupt requests [ERI, RXI, BRI, TXI] as SCSCR enables them:
    /// ERI = ER with RIE or REIE, RXI = RDF or DR with RIE, BRI = BRK with
    /// RIE or REIE, TXI = TDFE with TIE.
    pub fn irq_lines(&self) -> [bool; 4] {
        let rie = self.scr & SCSCR_RIE != 0;
        let error_enable = rie || self.scr & SCSCR_REIE != 0;
        let flag = |bits: u16| self.flags & bits != 0;
        [
            flag(SCFSR_ER) && error_enable,
            flag(SCFSR_RDF | SCFSR_DR) && rie,
            flag(SCFSR_BRK) && error_enable,
            flag(SCFSR_TDFE) && self.scr & SCSCR_TIE != 0,
        ]
    }

    /// Transmit FIFO level at or below which TDFE is set (SCFCR.TTRG).
    fn tx_trigger(&self) -> usize {
        [8, 4, 2, 0][((self.fcr >> 4) & 3) as usize]
    }

    /// Receive FIFO level at or above which RDF is set (SCFCR.RTRG).
    fn rx_trigger(&self) -> usize {
        [1, 4, 8, 14][((self.fcr >> 6) & 3) as usize]
    }

    /// Move bytes as far as the current state lets them go, then set the
    /// flags whose setting conditions hold.
    fn settle(&mut self) {
        if self.fcr & SCFCR_TFRST != 0 {
            self.tx_fifo.clear();
        }
        if self.fcr & SCFCR_RFRST != 0 {
            self.rx_fifo.clear();
        }
        if self.scr & SCSCR_TE != 0 {
            let looped = self.fcr & SCFCR_LOOP != 0;
            for byte in self.tx_fifo.drain(..) {
                if looped {
                    if self.line.len() < LOOP_LINE_LIMIT {
                        self.line.push_back(byte);
                    }
                } else {
                    self.output.push(byte);
                }
            }
        }
        if self.scr & SCSCR_RE != 0 && self.fcr & SCFCR_RFRST == 0 {
            while self.rx_fifo.len() < FIFO_SIZE {
                match self.line.pop_front() {
                    Some(byte) => self.rx_fifo.push_back(byte),
                    None => break,
                }
            }
        }
        if self.scr & SCSCR_TE == 0 || self.tx_fifo.is_empty() {
            self.flags |= SCFSR_TEND;
        }
        if self.tx_fifo.len() <= self.tx_trigger() {
            self.flags |= SCFSR_TDFE;
        }
        let received = self.rx_fifo.len();
        if received >= self.rx_trigger() {
            self.flags |= SCFSR_RDF;
        } else if received > 0 {
            self.flags |= SCFSR_DR;
        }
    }

    /// Apply an SCFSR write: flags written 0 that were read as 1 clear when
    /// their clearing condition holds; `settle` then re-sets flags whose
    /// setting condition still holds (which covers TDFE, TEND and RDF).
    fn write_status(&mut self, value: u16) {
        let mut clear = !value & self.armed & SCFSR_FLAGS;
        if !self.rx_fifo.is_empty() {
            clear &= !SCFSR_DR;
        }
        self.flags &= !clear;
        self.armed = 0;
        self.settle();
    }

    fn read_sptr(&self) -> u16 {
        let mut value = self.sptr;
        // CTS# as an input: held low by the other end (clear to send).
        if value & SCSPTR_CTSIO == 0 {
            value &= !SCSPTR_CTSDT;
        }
        // RxD as an input: the idle line is high (mark).
        if value & SCSPTR_SPB2IO == 0 {
            value |= SCSPTR_SPB2DT;
        }
        value
    }

    fn width_of(offset: u32) -> Option<Size> {
        match offset {
            SCBRR | SCFTDR | SCFRDR => Some(Size::Byte),
            SCSMR | SCSCR | SCFSR | SCFCR | SCFDR | SCSPTR | SCLSR => Some(Size::Word),
            _ => None,
        }
    }
}

fn check(offset: u32, size: Size) -> Result<(), MmioFault> {
    match Scif::width_of(offset) {
        None => Err(MmioFault::NoRegister),
        Some(want) if want != size => Err(MmioFault::BadWidth),
        Some(_) => Ok(()),
    }
}

impl Mmio for Scif {
    fn read(&mut self, _at: Access, offset: u32, size: Size) -> Result<u32, MmioFault> {
        check(offset, size)?;
        let value = match offset {
            SCSMR => self.smr,
            SCBRR => self.brr as u16,
            SCSCR => self.scr,
            SCFTDR => 0,
            SCFSR => {
                self.armed |= self.flags;
                self.flags
            }
            SCFRDR => {
                let byte = self.rx_fifo.pop_front().unwrap_or(0);
                self.settle();
                byte as u16
            }
            SCFCR => self.fcr,
            SCFDR => ((self.tx_fifo.len() as u16) << 8) | self.rx_fifo.len() as u16,
            SCSPTR => self.read_sptr(),
            // SCLSR holds only ORER, which this model never sets.
            _ => 0,
        };
        Ok(value as u32)
    }

    fn write(&mut self, _at: Access, offset: u32, size: Size, value: u32) -> Result<(), MmioFault> {
        check(offset, size)?;
        let value16 = value as u16;
        match offset {
            SCSMR => self.smr = value16 & 0x00ff,
            SCBRR => self.brr = value as u8,
            SCSCR => {
                self.scr = value16 & SCSCR_WRITABLE;
                self.settle();
            }
            SCFTDR => {
                // A full FIFO (only possible with TE = 0) drops the byte.
                if self.fcr & SCFCR_TFRST == 0 && self.tx_fifo.len() < FIFO_SIZE {
                    self.tx_fifo.push_back(value as u8);
                }
                self.settle();
            }
            SCFSR => self.write_status(value16),
            SCFCR => {
                self.fcr = value16 & SCFCR_WRITABLE;
                self.settle();
            }
            SCSPTR => self.sptr = value16 & 0x00ff,
            // SCFRDR and SCFDR are read-only; SCLSR's ORER is never set.
            _ => {}
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const AT: Access = Access { core: 0, now: 0 };

    fn rd(scif: &mut Scif, offset: u32) -> u32 {
        let size = Scif::width_of(offset).unwrap();
        scif.read(AT, offset, size).unwrap()
    }

    fn wr(scif: &mut Scif, offset: u32, value: u32) {
        let size = Scif::width_of(offset).unwrap();
        scif.write(AT, offset, size, value).unwrap()
    }

    /// What sci_set_termios leaves behind: TE | RE | REIE, FIFOs out of reset.
    fn linux_configured() -> Scif {
        let mut scif = Scif::new();
        wr(&mut scif, SCSCR, 0);
        wr(&mut scif, SCFCR, (SCFCR_RFRST | SCFCR_TFRST) as u32);
        wr(&mut scif, SCSMR, 0);
        wr(&mut scif, SCBRR, 13);
        wr(&mut scif, SCFCR, 0);
        wr(&mut scif, SCSCR, (SCSCR_TE | SCSCR_RE | SCSCR_REIE) as u32);
        scif
    }

    /// sci_poll_put_char: wait for TDFE, write the byte, then write 0 to
    /// TDFE and TEND (and 1 to every other flag, which leaves them alone).
    fn poll_put_char(scif: &mut Scif, c: u8) {
        let mut spins = 0;
        while rd(scif, SCFSR) as u16 & SCFSR_TDFE == 0 {
            spins += 1;
            assert!(spins < 10, "TDFE never set");
        }
        wr(scif, SCFTDR, c as u32);
        wr(scif, SCFSR, (SCFSR_FLAGS & !(SCFSR_TDFE | SCFSR_TEND)) as u32);
    }

    #[test]
    fn reset_values() {
        let mut scif = Scif::new();
        assert_eq!(rd(&mut scif, SCSMR), 0);
        assert_eq!(rd(&mut scif, SCBRR), 0xff);
        assert_eq!(rd(&mut scif, SCSCR), 0);
        assert_eq!(rd(&mut scif, SCFSR), (SCFSR_TEND | SCFSR_TDFE) as u32);
        assert_eq!(rd(&mut scif, SCFCR), 0);
        assert_eq!(rd(&mut scif, SCFDR), 0);
        assert_eq!(rd(&mut scif, SCLSR), 0);
        assert_eq!(scif.irq_lines(), [false; 4]);
    }

    #[test]
    fn console_output_is_instant_and_polling_loops_end() {
        let mut scif = linux_configured();
        for &c in b"Linux\n" {
            poll_put_char(&mut scif, c);
        }
        // serial_console_write's final wait: TDFE and TEND both set.
        let done = SCFSR_TDFE | SCFSR_TEND;
        assert_eq!(rd(&mut scif, SCFSR) as u16 & done, done);
        assert_eq!(rd(&mut scif, SCFDR), 0);
        assert_eq!(scif.take_output(), b"Linux\n");
        assert_eq!(scif.take_output(), b"");
    }

    #[test]
    fn bytes_written_with_te_clear_wait_in_the_fifo() {
        let mut scif = Scif::new();
        for &c in b"abc" {
            wr(&mut scif, SCFTDR, c as u32);
        }
        assert_eq!(scif.take_output(), b"");
        assert_eq!(rd(&mut scif, SCFDR), 3 << 8);
        // TE = 0 keeps TEND set even with data queued.
        assert_ne!(rd(&mut scif, SCFSR) as u16 & SCFSR_TEND, 0);
        wr(&mut scif, SCSCR, SCSCR_TE as u32);
        assert_eq!(scif.take_output(), b"abc");
        assert_eq!(rd(&mut scif, SCFDR), 0);
        // TFRST throws queued bytes away.
        wr(&mut scif, SCSCR, 0);
        wr(&mut scif, SCFTDR, b'x' as u32);
        wr(&mut scif, SCFCR, SCFCR_TFRST as u32);
        wr(&mut scif, SCFCR, 0);
        wr(&mut scif, SCSCR, SCSCR_TE as u32);
        assert_eq!(scif.take_output(), b"");
    }

    #[test]
    fn tdfe_clears_only_above_the_trigger_level() {
        let mut scif = Scif::new();
        // TE = 0, TTRG = 11 (level 0): one queued byte is above the level.
        wr(&mut scif, SCFCR, 0x30);
        wr(&mut scif, SCFTDR, b'a' as u32);
        assert_ne!(rd(&mut scif, SCFSR) as u16 & SCFSR_TDFE, 0);
        wr(&mut scif, SCFSR, !SCFSR_TDFE as u32 & 0xffff);
        assert_eq!(rd(&mut scif, SCFSR) as u16 & SCFSR_TDFE, 0);
        // Transmitting empties the FIFO and sets TDFE again.
        wr(&mut scif, SCSCR, SCSCR_TE as u32);
        assert_ne!(rd(&mut scif, SCFSR) as u16 & SCFSR_TDFE, 0);
    }

    #[test]
    fn receive_fifo_counts_pops_and_sets_rdf() {
        let mut scif = linux_configured();
        scif.push_input(b"hi");
        assert_eq!(rd(&mut scif, SCFDR), 2);
        let status = rd(&mut scif, SCFSR) as u16;
        assert_eq!(status & (SCFSR_RDF | SCFSR_DR), SCFSR_RDF);
        assert_eq!(rd(&mut scif, SCFRDR), b'h' as u32);
        assert_eq!(rd(&mut scif, SCFDR), 1);
        // Clearing RDF with a byte still at the trigger level (1) fails.
        wr(&mut scif, SCFSR, !(SCFSR_RDF | SCFSR_DR) as u32 & 0xffff);
        assert_ne!(rd(&mut scif, SCFSR) as u16 & SCFSR_RDF, 0);
        assert_eq!(rd(&mut scif, SCFRDR), b'i' as u32);
        rd(&mut scif, SCFSR);
        wr(&mut scif, SCFSR, !(SCFSR_RDF | SCFSR_DR) as u32 & 0xffff);
        assert_eq!(rd(&mut scif, SCFSR) as u16 & (SCFSR_RDF | SCFSR_DR), 0);
        // Empty FIFO reads 0.
        assert_eq!(rd(&mut scif, SCFRDR), 0);
    }

    #[test]
    fn flags_clear_only_after_being_read_as_one() {
        let mut scif = linux_configured();
        scif.push_input(b"x");
        assert_eq!(rd(&mut scif, SCFRDR), b'x' as u32);
        // RDF was never read as 1 since it was set: the write does nothing.
        wr(&mut scif, SCFSR, 0);
        assert_ne!(rd(&mut scif, SCFSR) as u16 & SCFSR_RDF, 0);
        wr(&mut scif, SCFSR, 0);
        assert_eq!(rd(&mut scif, SCFSR) as u16 & SCFSR_RDF, 0);
    }

    #[test]
    fn dr_marks_a_short_fifo_and_clears_when_empty() {
        let mut scif = linux_configured();
        // RTRG = 01: trigger at 4 bytes.
        wr(&mut scif, SCFCR, 0x40);
        scif.push_input(b"ab");
        let status = rd(&mut scif, SCFSR) as u16;
        assert_eq!(status & (SCFSR_RDF | SCFSR_DR), SCFSR_DR);
        wr(&mut scif, SCFSR, !SCFSR_DR as u32 & 0xffff);
        assert_ne!(rd(&mut scif, SCFSR) as u16 & SCFSR_DR, 0, "DR stays while data remains");
        rd(&mut scif, SCFRDR);
        rd(&mut scif, SCFRDR);
        rd(&mut scif, SCFSR);
        wr(&mut scif, SCFSR, !SCFSR_DR as u32 & 0xffff);
        assert_eq!(rd(&mut scif, SCFSR) as u16 & SCFSR_DR, 0);
        scif.push_input(b"abcd");
        assert_eq!(rd(&mut scif, SCFSR) as u16 & (SCFSR_RDF | SCFSR_DR), SCFSR_RDF);
    }

    #[test]
    fn long_input_waits_on_the_line_until_there_is_room() {
        let mut scif = linux_configured();
        let input: Vec<u8> = (0..40).collect();
        scif.push_input(&input);
        assert_eq!(rd(&mut scif, SCFDR), 16);
        assert_eq!(scif.pending_input(), 40);
        let received: Vec<u8> = (0..40).map(|_| rd(&mut scif, SCFRDR) as u8).collect();
        assert_eq!(received, input);
        assert_eq!(rd(&mut scif, SCFDR), 0);
        assert_eq!(rd(&mut scif, SCLSR), 0, "no overrun");
    }

    #[test]
    fn receiver_disabled_or_in_reset_holds_bytes_back() {
        let mut scif = Scif::new();
        scif.push_input(b"q");
        assert_eq!(rd(&mut scif, SCFDR), 0);
        wr(&mut scif, SCFCR, SCFCR_RFRST as u32);
        wr(&mut scif, SCSCR, SCSCR_RE as u32);
        assert_eq!(rd(&mut scif, SCFDR), 0);
        wr(&mut scif, SCFCR, 0);
        assert_eq!(rd(&mut scif, SCFDR), 1);
        assert_eq!(rd(&mut scif, SCFRDR), b'q' as u32);
    }

    #[test]
    fn irq_lines_follow_enable_bits() {
        let mut scif = linux_configured();
        assert_eq!(scif.irq_lines(), [false; 4]);
        wr(&mut scif, SCSCR, (SCSCR_TE | SCSCR_RE | SCSCR_TIE) as u32);
        assert_eq!(scif.irq_lines(), [false, false, false, true]);
        scif.push_input(b"z");
        assert_eq!(scif.irq_lines(), [false, false, false, true]);
        wr(&mut scif, SCSCR, (SCSCR_TE | SCSCR_RE | SCSCR_RIE) as u32);
        assert_eq!(scif.irq_lines(), [false, true, false, false]);
        // sci_receive_chars: read, dummy-read SCFSR, clear RDF and DR.
        rd(&mut scif, SCFRDR);
        rd(&mut scif, SCFSR);
        wr(&mut scif, SCFSR, !(SCFSR_DR | SCFSR_RDF) as u32 & 0xffff);
        assert_eq!(scif.irq_lines(), [false; 4]);
        assert_eq!([ERI, RXI, BRI, TXI], [0, 1, 2, 3]);
    }

    #[test]
    fn loopback_feeds_the_receiver() {
        let mut scif = linux_configured();
        wr(&mut scif, SCFCR, SCFCR_LOOP as u32);
        wr(&mut scif, SCFTDR, b'L' as u32);
        assert_eq!(scif.take_output(), b"");
        assert_eq!(rd(&mut scif, SCFRDR), b'L' as u32);
    }

    #[test]
    fn loopback_into_a_receiver_that_never_reads_is_bounded() {
        let mut scif = linux_configured();
        // Receiver disabled: every looped byte waits on the line.
        wr(&mut scif, SCSCR, SCSCR_TE as u32);
        wr(&mut scif, SCFCR, SCFCR_LOOP as u32);
        for i in 0..LOOP_LINE_LIMIT + 1000 {
            wr(&mut scif, SCFTDR, i as u32 & 0xff);
        }
        assert_eq!(scif.pending_input(), LOOP_LINE_LIMIT);
        assert_eq!(scif.take_output(), b"");
        // The first ones are there, in order.
        wr(&mut scif, SCSCR, (SCSCR_TE | SCSCR_RE) as u32);
        assert_eq!(rd(&mut scif, SCFRDR), 0);
        assert_eq!(rd(&mut scif, SCFRDR), 1);
    }

    #[test]
    fn sptr_reads_idle_inputs_and_stored_outputs() {
        let mut scif = Scif::new();
        // All inputs: CTS# low (asserted), RxD high (idle).
        assert_eq!(rd(&mut scif, SCSPTR), SCSPTR_SPB2DT as u32);
        // sci_init_pins: RTSIO | RTSDT as outputs.
        wr(&mut scif, SCSPTR, 0xc0);
        assert_eq!(rd(&mut scif, SCSPTR), 0xc1);
        // Break: SPB2IO = 1, SPB2DT = 0 reads back as written.
        wr(&mut scif, SCSPTR, 0x02);
        assert_eq!(rd(&mut scif, SCSPTR), 0x02);
    }

    #[test]
    fn register_widths_are_enforced() {
        let mut scif = Scif::new();
        assert_eq!(scif.read(AT, SCFSR, Size::Long), Err(MmioFault::BadWidth));
        assert_eq!(scif.write(AT, SCFTDR, Size::Word, 0x41), Err(MmioFault::BadWidth));
        assert_eq!(scif.read(AT, 0x28, Size::Word), Err(MmioFault::NoRegister));
        assert_eq!(scif.read(AT, SCFSR + 1, Size::Byte), Err(MmioFault::NoRegister));
        assert_eq!(scif.take_output(), b"");
    }

    #[test]
    fn every_offset_and_width_is_safe() {
        let mut scif = linux_configured();
        scif.push_input(&[0x55; 40]);
        for offset in 0..SIZE + 8 {
            for size in [Size::Byte, Size::Word, Size::Long] {
                let _ = scif.read(AT, offset, size);
                let _ = scif.write(AT, offset, size, 0xffff_ffff);
                let _ = scif.write(AT, offset, size, 0);
                let _ = scif.irq_lines();
            }
        }
        let _ = scif.take_output();
    }
}
