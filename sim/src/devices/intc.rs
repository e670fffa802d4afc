//! The SH-X3 interrupt controller (INTC) at 0xfe410000: priorities, the
//! per-core masks, distribution among the four cores, and the inter-core
//! interrupts (ICI).
//!
//! Owns: every INTC register Linux 6.1 touches on this chip
//! (arch/sh/kernel/cpu/sh4a/{setup,intc,smp}-shx3.c, mach-x3proto/setup.c,
//! drivers/sh/intc/*) and the decision which interrupt each core is offered.
//! Must not touch: the cores (the machine calls [`Intc::pending`] and
//! compares the level with SR.IMASK, then calls [`Intc::accept`]) or the
//! devices (the machine forwards their lines with [`Intc::set_line`]).
//!
//! Register map (offsets from [`BASE`]; all 32 bits wide, other widths
//! fault; per-core registers are four words at stride 4, core n at +4n:
//! INTC_SMP(4, 4) in setup-shx3.c, and the RP1 register lists in QNX's
//! sh_x3p.h and TOPPERS/FMP's rproto1.h agree):
//!
//! | offset | register | behaviour here |
//! |--------|----------|----------------|
//! | 0x000 | ICR0 | IRLM (bit 23: 1 = IRQ mode) and LVLMODE (bit 21) stored |
//! | 0x010 | INTPRI | IRQ0-3 priorities, bits 31:16 |
//! | 0x01c | ICR1 | IRQ0-3 sense, 2 bits each from bit 31 |
//! | 0x024 | INTREQ | IRQ0-3 requests, bits 31:28; write 0 clears an edge |
//! | 0x030+4n / 0x050+4n | CnINTMSK0 / CLR0 | IRQ0-3 masks, bits 31:28 |
//! | 0x040+4n / 0x060+4n | CnINTMSK1 / CLR1 | IRL3-0 mask, bit 31 |
//! | 0x070+4n / 0x080+4n | CnINTICI / CLR | ICI requests to core n |
//! | 0x090+4n / 0x0a0+4n | CnICIPRI / CLR | ICI priorities of core n |
//! | 0x0b8 | INTACK | bit 0: the reading core won its last acceptance |
//! | 0x0bc | INTACKCLR | write an INTEVT: release a distributed source |
//! | 0x800-0x810 | INT2PRI0-4 | on-chip priorities |
//! | 0x820/0x830/0x840+4n | CnINT2MSK0-2 | on-chip masks of core n |
//! | 0x850/0x860/0x870+4n | CnINT2MSKCLR0-2 | |
//! | 0x8a0-0x8a8 | INT2DISTCR0-2 | on-chip distribution, mask bit layout |
//! | 0x1000 | USERIMASK | levels <= UIMASK (bits 7:4) masked; key 0xa5 |
//!
//! Mask registers are write-1-to-set (mask), their CLR twins
//! write-1-to-clear (unmask), as drivers/sh/intc's MODE_DUAL_REG drives
//! them; CLR registers read 0 (Linux reads each register back after
//! writing it). Every mask bit is set after reset, for every core: Linux
//! only ever unmasks core 0's copy (setup-shx3.c gives the mask registers
//! no INTC_SMP), so peripheral interrupts reach core 0 only. CnICIPRI and
//! CnINTICI are write-1-to-set too: Linux enables one ICI priority field at
//! a time with all other fields written 0 (MODE_PCLR_REG).
//!
//! Priority fields are 4 bits, the first source listed in setup-shx3.c's
//! tables in bits 31:28 (drivers/sh/intc/handle.c: shift = 32 - 4(n+1)).
//! Level 0 disables a source. IRL levels come from the pins: IRL code c
//! (INTEVT 0x200 + 0x20c) is level 15 - c. ICI message m of core n raises
//! INTEVT 0xf00 + 0x20m at level CnICIPRI bits 4m+3:4m when any bit of
//! CnINTICI bits 4m+3:4m is set (smp-shx3.c writes bit 4m).
//!
//! Offer rule ([`Intc::pending`]): a source is offered to core n when its
//! line is requested, its priority is non-zero and above USERIMASK, core
//! n's mask bit for it is clear and it is not held (below). The highest
//! level wins; equal levels go to the lower INTEVT code, which puts IRL
//! and IRQ before on-chip sources and ICIs last.
//!
//! Distribution, as Linux's CONFIG_INTC_BALANCING code implies: with a
//! source's INT2DISTCR bit clear, every core that has it unmasked is
//! offered it. With the bit set, the first core to accept it wins: its
//! INTACK reads 1 and the source is held (offered to no core) until
//! software writes its INTEVT to INTACKCLR (intc-shx3.c: irq_lookup reads
//! INTACK, irq_finish writes INTACKCLR). A core that accepts an INTEVT it
//! is no longer offered reads INTACK 0 and Linux ignores the interrupt.
//! There is no rotation: which core accepts first is decided by the order
//! in which the machine calls `accept`, which is deterministic.
//!
//! IRL vs IRQ: the IRQ0-3 INTEVTs (0x240/0x280/0x2c0/0x300) coincide with
//! four IRL codes, so ICR0.IRLM selects which set is live (bit 23, as on
//! the SH7780/SH7785/SH7786, inferred; Linux's x3proto uses IRL mode and
//! never sets it). LVLMODE = 0 (reset) retains an IRL request until some
//! core accepts an interrupt or software writes 1 to a CnINTMSK1 IRL bit;
//! LVLMODE = 1 (set by x3proto) follows the pins. An edge-sensed IRQ
//! latches in INTREQ and is cleared by its acceptance or by writing 0 to
//! its INTREQ bit (assumption: Linux declares no INTREQ ack register here).
//!
//! Not modelled: NMI (NMIFCR/NMISET, ICR0's NMI bits), INTDISTCR0/1 (IRQ
//! and IRL distribution), the INTACKMSK registers and INT2A-style status
//! registers (Linux touches none of them on this chip); they fault.
//! HUDI and IRM have no mask bit here (setup-shx3.c: "bits ignored").
//! VCORE0's INTEVT is 0xb40: setup-shx3.c lists 0xb00, VIN0's code, which
//! cannot be right; 0xb40 is the one free slot between VIN1 and ATAPI.
//! DMAC1's DMAE uses DMAC1's priority field, though Linux's DMAC1 group
//! omits it. SCIF2's INTEVTs 0x800-0x860 follow TOPPERS's rproto1.h.

use super::{Access, Mmio, MmioFault, Size};

/// P4 base of the INTC.
pub const BASE: u32 = 0xfe41_0000;
/// Bytes decoded: ICR0 up to and including USERIMASK at +0x1000.
pub const SIZE: u32 = 0x1004;
/// Cores the INTC serves.
pub const MAX_CORES: usize = 4;
/// INTEVT of ICI message 0; message m is this + 0x20 m.
pub const ICI_INTEVT_BASE: u16 = 0xf00;
/// ICI messages per core.
pub const ICI_MESSAGES: usize = 8;
// A core's INTICI holds a nibble per message (`Intc::pending_at` walks them).
const _: () = assert!(4 * ICI_MESSAGES == u32::BITS as usize);

/// ICR0.IRLM: IRQ/IRL3-0 pins are four IRQ inputs instead of IRL.
pub const ICR0_IRLM: u32 = 1 << 23;
/// ICR0.LVLMODE: IRL requests follow the pins (not retained).
pub const ICR0_LVLMODE: u32 = 1 << 21;

/// The interrupt a core would be offered now.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Pending {
    /// Interrupt level, 1-15; the core takes it if level > SR.IMASK.
    pub level: u8,
    /// The code the core writes to INTEVT when it accepts.
    pub intevt: u16,
}

/// Where a source's priority level comes from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PriorityField {
    /// Fixed by the IRL pin code: this level.
    IrlPins(u8),
    /// INTPRI bits shift+3..shift.
    IntPri { shift: u8 },
    /// INT2PRI`register` bits shift+3..shift.
    Int2Pri { register: u8, shift: u8 },
}

/// Where a source's per-core mask bit lives (in every core's copy).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MaskBit {
    /// CnINTMSK0 / CnINTMSKCLR0 bit.
    IntMsk0(u8),
    /// CnINTMSK1 / CnINTMSKCLR1 bit.
    IntMsk1(u8),
    /// CnINT2MSK`register` / CnINT2MSKCLR`register` bit; the same bit of
    /// INT2DISTCR`register` selects distribution.
    Int2Msk { register: u8, bit: u8 },
    /// No mask bit: only the priority field disables it.
    None,
}

macro_rules! sources {
    ($($name:ident = $intevt:literal, $prio:expr, $mask:expr;)*) => {
        /// Every interrupt source of the SH-X3 except the per-core ICIs.
        #[repr(u8)]
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub enum Source { $($name,)* }

        const TABLE: &[Entry] = &[$(Entry {
            source: Source::$name,
            intevt: $intevt,
            priority: $prio,
            mask: $mask,
        },)*];
    };
}

#[derive(Clone, Copy, Debug)]
struct Entry {
    source: Source,
    intevt: u16,
    priority: PriorityField,
    mask: MaskBit,
}

/// Priority field `field` (0 = bits 31:28) of INT2PRI`register`.
const fn p2(register: u8, field: u8) -> PriorityField {
    PriorityField::Int2Pri { register, shift: 28 - 4 * field }
}

/// Mask bit of field `field` (0 = bit 31) of CnINT2MSK`register`.
const fn m2(register: u8, field: u8) -> MaskBit {
    MaskBit::Int2Msk { register, bit: 31 - field }
}

const fn irl(level: u8) -> PriorityField {
    PriorityField::IrlPins(level)
}

const IRL_MASK: MaskBit = MaskBit::IntMsk1(31);
const NO_MASK: MaskBit = MaskBit::None;

// Field numbers are the positions in setup-shx3.c's mask_registers and
// prio_registers lists, so each line can be checked against that file.
sources! {
    Irl15 = 0x200, irl(15), IRL_MASK;
    Irl14 = 0x220, irl(14), IRL_MASK;
    Irl13 = 0x240, irl(13), IRL_MASK;
    Irl12 = 0x260, irl(12), IRL_MASK;
    Irl11 = 0x280, irl(11), IRL_MASK;
    Irl10 = 0x2a0, irl(10), IRL_MASK;
    Irl9 = 0x2c0, irl(9), IRL_MASK;
    Irl8 = 0x2e0, irl(8), IRL_MASK;
    Irl7 = 0x300, irl(7), IRL_MASK;
    Irl6 = 0x320, irl(6), IRL_MASK;
    Irl5 = 0x340, irl(5), IRL_MASK;
    Irl4 = 0x360, irl(4), IRL_MASK;
    Irl3 = 0x380, irl(3), IRL_MASK;
    Irl2 = 0x3a0, irl(2), IRL_MASK;
    Irl1 = 0x3c0, irl(1), IRL_MASK;
    Irq0 = 0x240, PriorityField::IntPri { shift: 28 }, MaskBit::IntMsk0(31);
    Irq1 = 0x280, PriorityField::IntPri { shift: 24 }, MaskBit::IntMsk0(30);
    Irq2 = 0x2c0, PriorityField::IntPri { shift: 20 }, MaskBit::IntMsk0(29);
    Irq3 = 0x300, PriorityField::IntPri { shift: 16 }, MaskBit::IntMsk0(28);
    Hudi = 0x3e0, p2(0, 1), NO_MASK;
    Tmu0 = 0x400, p2(0, 7), m2(0, 30);
    Tmu1 = 0x420, p2(0, 6), m2(0, 29);
    Tmu2 = 0x440, p2(0, 5), m2(0, 28);
    Tmu3 = 0x460, p2(0, 4), m2(0, 27);
    Tmu4 = 0x480, p2(0, 3), m2(0, 26);
    Tmu5 = 0x4a0, p2(0, 2), m2(0, 25);
    Pcii0 = 0x500, p2(2, 7), m2(1, 17);
    Pcii1 = 0x520, p2(2, 6), m2(1, 16);
    Pcii2 = 0x540, p2(2, 5), m2(1, 15);
    Pcii3 = 0x560, p2(2, 4), m2(1, 14);
    Pcii4 = 0x580, p2(2, 3), m2(1, 13);
    Pcii5 = 0x5a0, p2(2, 2), m2(1, 12);
    Pcii6 = 0x5c0, p2(2, 2), m2(1, 11);
    Pcii7 = 0x5e0, p2(2, 2), m2(1, 10);
    Pcii8 = 0x600, p2(2, 2), m2(1, 9);
    Pcii9 = 0x620, p2(2, 2), m2(1, 8);
    Scif0Eri = 0x700, p2(1, 7), m2(2, 31);
    Scif0Rxi = 0x720, p2(1, 7), m2(2, 30);
    Scif0Bri = 0x740, p2(1, 7), m2(2, 29);
    Scif0Txi = 0x760, p2(1, 7), m2(2, 28);
    Scif1Eri = 0x780, p2(1, 6), m2(2, 27);
    Scif1Rxi = 0x7a0, p2(1, 6), m2(2, 26);
    Scif1Bri = 0x7c0, p2(1, 6), m2(2, 25);
    Scif1Txi = 0x7e0, p2(1, 6), m2(2, 24);
    Scif2Eri = 0x800, p2(1, 5), m2(2, 23);
    Scif2Rxi = 0x820, p2(1, 5), m2(2, 22);
    Scif2Bri = 0x840, p2(1, 5), m2(2, 21);
    Scif2Txi = 0x860, p2(1, 5), m2(2, 20);
    Scif3Eri = 0x880, p2(1, 4), m2(2, 19);
    Scif3Rxi = 0x8a0, p2(1, 4), m2(2, 18);
    Scif3Bri = 0x8c0, p2(1, 4), m2(2, 17);
    Scif3Txi = 0x8e0, p2(1, 4), m2(2, 16);
    Dmac0Dmint0 = 0x900, p2(2, 1), m2(1, 31);
    Dmac0Dmint1 = 0x920, p2(2, 1), m2(1, 30);
    Dmac0Dmint2 = 0x940, p2(2, 1), m2(1, 29);
    Dmac0Dmint3 = 0x960, p2(2, 1), m2(1, 28);
    Dmac0Dmint4 = 0x980, p2(2, 1), m2(1, 27);
    Dmac0Dmint5 = 0x9a0, p2(2, 1), m2(1, 26);
    Dmac0Dmae = 0x9c0, p2(2, 1), m2(1, 25);
    Du = 0x9e0, p2(3, 7), m2(0, 8);
    Dmac1Dmint6 = 0xa00, p2(2, 0), m2(1, 24);
    Dmac1Dmint7 = 0xa20, p2(2, 0), m2(1, 23);
    Dmac1Dmint8 = 0xa40, p2(2, 0), m2(1, 22);
    Dmac1Dmint9 = 0xa60, p2(2, 0), m2(1, 21);
    Dmac1Dmint10 = 0xa80, p2(2, 0), m2(1, 20);
    Dmac1Dmint11 = 0xaa0, p2(2, 0), m2(1, 19);
    Dmac1Dmae = 0xac0, p2(2, 0), m2(1, 18);
    Iic = 0xae0, p2(3, 6), m2(0, 7);
    Vin0 = 0xb00, p2(3, 5), m2(0, 6);
    Vin1 = 0xb20, p2(3, 4), m2(0, 5);
    Vcore0 = 0xb40, p2(3, 3), m2(0, 4);
    Atapi = 0xb60, p2(3, 2), m2(0, 3);
    Dtu0Event0 = 0xc00, p2(1, 3), m2(1, 7);
    Dtu0Event1 = 0xc20, p2(1, 3), m2(1, 7);
    Dtu0Event2 = 0xc40, p2(1, 3), m2(1, 7);
    Dtu1Event0 = 0xc60, p2(1, 2), m2(1, 6);
    Dtu1Event1 = 0xc80, p2(1, 2), m2(1, 6);
    Dtu1Event2 = 0xca0, p2(1, 2), m2(1, 6);
    Dtu2Event0 = 0xcc0, p2(1, 1), m2(1, 5);
    Dtu2Event1 = 0xce0, p2(1, 1), m2(1, 5);
    Dtu2Event2 = 0xd00, p2(1, 1), m2(1, 5);
    Dtu3Event0 = 0xd20, p2(1, 0), m2(1, 4);
    Dtu3Event1 = 0xd40, p2(1, 0), m2(1, 4);
    Dtu3Event2 = 0xd60, p2(1, 0), m2(1, 4);
    Fe0 = 0xe00, p2(3, 1), m2(0, 1);
    Fe1 = 0xe20, p2(3, 0), m2(0, 0);
    Gpio0 = 0xe40, p2(4, 6), m2(0, 12);
    Gpio1 = 0xe60, p2(4, 5), m2(0, 11);
    Gpio2 = 0xe80, p2(4, 4), m2(0, 10);
    Gpio3 = 0xea0, p2(4, 3), m2(0, 9);
    Pam = 0xec0, p2(4, 2), m2(0, 13);
    Irm = 0xee0, p2(4, 7), NO_MASK;
}

/// Number of [`Source`] variants.
pub const SOURCE_COUNT: usize = TABLE.len();

/// What kind of input a source is, which decides how its request is kept.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Kind {
    Irl,
    Irq(u8),
    OnChip,
}

impl Source {
    /// Every source, in declaration order.
    pub const ALL: [Source; SOURCE_COUNT] = {
        let mut all = [Source::Irl15; SOURCE_COUNT];
        let mut i = 0;
        while i < SOURCE_COUNT {
            all[i] = TABLE[i].source;
            i += 1;
        }
        all
    };

    /// TMU channels 0-5.
    pub const TMU: [Source; 6] = [Source::Tmu0, Source::Tmu1, Source::Tmu2, Source::Tmu3, Source::Tmu4, Source::Tmu5];

    /// SCIF ports 0-3, each as [ERI, RXI, BRI, TXI] (the order of
    /// `Scif::irq_lines`).
    pub const SCIF: [[Source; 4]; 4] = [
        [Source::Scif0Eri, Source::Scif0Rxi, Source::Scif0Bri, Source::Scif0Txi],
        [Source::Scif1Eri, Source::Scif1Rxi, Source::Scif1Bri, Source::Scif1Txi],
        [Source::Scif2Eri, Source::Scif2Rxi, Source::Scif2Bri, Source::Scif2Txi],
        [Source::Scif3Eri, Source::Scif3Rxi, Source::Scif3Bri, Source::Scif3Txi],
    ];

    fn entry(self) -> &'static Entry {
        &TABLE[self as usize]
    }

    fn bit(self) -> u128 {
        1 << (self as u32)
    }

    fn kind(self) -> Kind {
        match self.entry().priority {
            PriorityField::IrlPins(_) => Kind::Irl,
            PriorityField::IntPri { shift } => Kind::Irq((28 - shift) / 4),
            PriorityField::Int2Pri { .. } => Kind::OnChip,
        }
    }

    /// The source of TMU channel `channel` (0-5; panics beyond).
    pub fn tmu(channel: usize) -> Source {
        Source::TMU[channel]
    }

    /// The source of SCIF port `port` (0-3), line `line` in
    /// `Scif::irq_lines` order (0 ERI, 1 RXI, 2 BRI, 3 TXI).
    pub fn scif(port: usize, line: usize) -> Option<Source> {
        Source::SCIF.get(port)?.get(line).copied()
    }

    /// The IRL source for pin level `level` (1-15).
    pub fn irl(level: u8) -> Option<Source> {
        (1..=15).contains(&level).then(|| Source::ALL[(15 - level) as usize])
    }

    /// The IRQ source for pin `n` (0-3).
    pub fn irq(n: usize) -> Option<Source> {
        [Source::Irq0, Source::Irq1, Source::Irq2, Source::Irq3].get(n).copied()
    }

    /// The code the accepting core finds in INTEVT.
    pub fn intevt(self) -> u16 {
        self.entry().intevt
    }

    /// Where this source's priority level is set.
    pub fn priority_field(self) -> PriorityField {
        self.entry().priority
    }

    /// Where this source's per-core mask bit lives.
    pub fn mask_bit(self) -> MaskBit {
        self.entry().mask
    }

    /// INT2DISTCR register and bit that distribute this source, if any.
    pub fn distribution_bit(self) -> Option<(u8, u8)> {
        match self.entry().mask {
            MaskBit::Int2Msk { register, bit } => Some((register, bit)),
            _ => None,
        }
    }
}

/// Bits of a mask-register family that name at least one source.
const fn valid_mask_bits(family: u8, register: u8) -> u32 {
    let mut bits = 0;
    let mut i = 0;
    while i < TABLE.len() {
        match TABLE[i].mask {
            MaskBit::IntMsk0(bit) if family == 0 => bits |= 1 << bit,
            MaskBit::IntMsk1(bit) if family == 1 => bits |= 1 << bit,
            MaskBit::Int2Msk { register: r, bit } if family == 2 && r == register => bits |= 1 << bit,
            _ => {}
        }
        i += 1;
    }
    bits
}

/// Bits of INT2PRI`register` that hold at least one source's field.
const fn valid_int2pri_bits(register: u8) -> u32 {
    let mut bits = 0;
    let mut i = 0;
    while i < TABLE.len() {
        if let PriorityField::Int2Pri { register: r, shift } = TABLE[i].priority {
            if r == register {
                bits |= 0xf << shift;
            }
        }
        i += 1;
    }
    bits
}

const INTMSK0_VALID: u32 = valid_mask_bits(0, 0);
const INTMSK1_VALID: u32 = valid_mask_bits(1, 0);
const INT2MSK_VALID: [u32; 3] = [valid_mask_bits(2, 0), valid_mask_bits(2, 1), valid_mask_bits(2, 2)];
const INT2PRI_VALID: [u32; 5] =
    [valid_int2pri_bits(0), valid_int2pri_bits(1), valid_int2pri_bits(2), valid_int2pri_bits(3), valid_int2pri_bits(4)];
const INTPRI_VALID: u32 = 0xffff_0000;
const ICR0_VALID: u32 = ICR0_IRLM | ICR0_LVLMODE;
const ICR1_VALID: u32 = 0xff00_0000;

/// Requests of all IRL sources, as a source bit set.
const IRL_BITS: u128 = (1 << 15) - 1;

/// A decoded register offset. `core` is the copy's owner (0-3).
#[derive(Clone, Copy)]
enum Reg {
    Icr0,
    IntPri,
    Icr1,
    IntReq,
    IntMsk { family: u8, clear: bool, core: usize },
    Int2Msk { register: usize, clear: bool, core: usize },
    IntIci { clear: bool, core: usize },
    IciPri { clear: bool, core: usize },
    IntAck,
    IntAckClr,
    Int2Pri(usize),
    Int2DistCr(usize),
    UserIMask,
}

impl Reg {
    fn decode(offset: u32) -> Option<Reg> {
        if !offset.is_multiple_of(4) {
            return None;
        }
        let core = ((offset % 0x10) / 4) as usize;
        Some(match offset {
            0x000 => Reg::Icr0,
            0x010 => Reg::IntPri,
            0x01c => Reg::Icr1,
            0x024 => Reg::IntReq,
            0x030..=0x06c => {
                let block = (offset - 0x30) / 0x10;
                Reg::IntMsk { family: (block % 2) as u8, clear: block >= 2, core }
            }
            0x070..=0x07c => Reg::IntIci { clear: false, core },
            0x080..=0x08c => Reg::IntIci { clear: true, core },
            0x090..=0x09c => Reg::IciPri { clear: false, core },
            0x0a0..=0x0ac => Reg::IciPri { clear: true, core },
            0x0b8 => Reg::IntAck,
            0x0bc => Reg::IntAckClr,
            0x800..=0x810 => Reg::Int2Pri(((offset - 0x800) / 4) as usize),
            0x820..=0x87c => {
                let block = ((offset - 0x820) / 0x10) as usize;
                Reg::Int2Msk { register: block % 3, clear: block >= 3, core }
            }
            0x8a0..=0x8a8 => Reg::Int2DistCr(((offset - 0x8a0) / 4) as usize),
            0x1000 => Reg::UserIMask,
            _ => return None,
        })
    }
}

/// The interrupt controller.
#[derive(Clone, Debug)]
pub struct Intc {
    cores: usize,
    icr0: u32,
    icr1: u32,
    intpri: u32,
    int2pri: [u32; 5],
    intmsk: [[u32; 2]; MAX_CORES],
    int2msk: [[u32; 3]; MAX_CORES],
    int2distcr: [u32; 3],
    intici: [u32; MAX_CORES],
    /// When core n's ICI requests were last made (the sender's clock): a
    /// core whose clock is behind it cannot take them yet, or it would
    /// react before the cause.
    ici_since: [u64; MAX_CORES],
    icipri: [u32; MAX_CORES],
    intack: [bool; MAX_CORES],
    userimask: u8,
    /// Line level of every source (bit = `Source as u8`).
    asserted: u128,
    /// Requests kept after the line dropped: IRQ edge latches and IRL
    /// requests retained while LVLMODE = 0.
    latched: u128,
    /// Distributed sources accepted by a core, waiting for INTACKCLR.
    held: u128,
    /// The ICI faults of the machine's fault plan (`crate::faults`), if
    /// it has any: consulted at every ICI request, nowhere else.
    pub(crate) ici_faults: Option<Box<crate::faults::IciPlan>>,
    /// Cycles from an ICI request to the first clock reading at which its
    /// receiver can take it (`machine::Config::ici_latency`; 0 by default).
    pub(crate) ici_latency: u64,
}

impl Intc {
    /// The INTC after reset, serving `cores` (1-4) simulated cores.
    /// Registers of all four cores exist regardless.
    pub fn new(cores: usize) -> Intc {
        assert!((1..=MAX_CORES).contains(&cores), "the RP1 has 1 to 4 cores, not {cores}");
        Intc {
            cores,
            icr0: 0,
            icr1: 0,
            intpri: 0,
            int2pri: [0; 5],
            intmsk: [[INTMSK0_VALID, INTMSK1_VALID]; MAX_CORES],
            int2msk: [INT2MSK_VALID; MAX_CORES],
            int2distcr: [0; 3],
            intici: [0; MAX_CORES],
            ici_since: [0; MAX_CORES],
            icipri: [0; MAX_CORES],
            intack: [false; MAX_CORES],
            userimask: 0,
            asserted: 0,
            latched: 0,
            held: 0,
            ici_faults: None,
            ici_latency: 0,
        }
    }

    fn irq_mode(&self) -> bool {
        self.icr0 & ICR0_IRLM != 0
    }

    fn irl_retained(&self) -> bool {
        self.icr0 & ICR0_LVLMODE == 0
    }

    /// Whether IRQ pin `n` is edge-sensed (ICR1 codes 00 and 01).
    fn irq_edge_sensed(&self, n: u8) -> bool {
        (self.icr1 >> (30 - 2 * n as u32)) & 0b10 == 0
    }

    /// Drive a source's input: `asserted` is the request as the device
    /// raises it (the active level or edge of an IRQ pin, whatever ICR1
    /// says its polarity is).
    pub fn set_line(&mut self, src: Source, asserted: bool) {
        let bit = src.bit();
        let rising = asserted && self.asserted & bit == 0;
        if asserted {
            self.asserted |= bit;
        } else {
            self.asserted &= !bit;
        }
        if rising {
            let keep = match src.kind() {
                Kind::Irl => self.irl_retained(),
                Kind::Irq(n) => self.irq_edge_sensed(n),
                Kind::OnChip => false,
            };
            if keep {
                self.latched |= bit;
            }
        }
    }

    /// Whether `src` is requesting, before masks and priorities.
    pub(crate) fn requested(&self, src: Source) -> bool {
        let bit = src.bit();
        match src.kind() {
            Kind::Irl => !self.irq_mode() && (self.asserted | if self.irl_retained() { self.latched } else { 0 }) & bit != 0,
            Kind::Irq(n) => {
                let request = if self.irq_edge_sensed(n) { self.latched } else { self.asserted };
                self.irq_mode() && request & bit != 0
            }
            Kind::OnChip => self.asserted & bit != 0,
        }
    }

    fn priority(&self, src: Source) -> u8 {
        let field = match src.priority_field() {
            PriorityField::IrlPins(level) => return level,
            PriorityField::IntPri { shift } => self.intpri >> shift,
            PriorityField::Int2Pri { register, shift } => self.int2pri[register as usize] >> shift,
        };
        (field & 0xf) as u8
    }

    fn masked(&self, core: usize, src: Source) -> bool {
        match src.mask_bit() {
            MaskBit::IntMsk0(bit) => self.intmsk[core][0] & (1 << bit) != 0,
            MaskBit::IntMsk1(bit) => self.intmsk[core][1] & (1 << bit) != 0,
            MaskBit::Int2Msk { register, bit } => self.int2msk[core][register as usize] & (1 << bit) != 0,
            MaskBit::None => false,
        }
    }

    fn distributed(&self, src: Source) -> bool {
        src.distribution_bit()
            .is_some_and(|(register, bit)| self.int2distcr[register as usize] & (1 << bit) != 0)
    }

    /// Level at which `src` is offered to `core` now, if it is.
    fn offered_level(&self, core: usize, src: Source) -> Option<u8> {
        let level = self.priority(src);
        let offered = self.held & src.bit() == 0
            && self.requested(src)
            && level > self.userimask
            && !self.masked(core, src);
        offered.then_some(level)
    }

    /// Level of ICI message `msg` to `core`, if it is requested and enabled.
    fn ici_level(&self, core: usize, msg: usize) -> Option<u8> {
        let shift = 4 * msg;
        let level = ((self.icipri[core] >> shift) & 0xf) as u8;
        let requested = (self.intici[core] >> shift) & 0xf != 0;
        (requested && level > self.userimask).then_some(level)
    }

    /// The highest-priority interrupt `core` would be offered at any time
    /// from now on (ICIs included whatever the sender's clock). Ties
    /// between equal levels go to the lower INTEVT code.
    pub fn pending(&self, core: usize) -> Option<Pending> {
        self.pending_at(core, u64::MAX)
    }

    /// The highest-priority interrupt `core`, whose clock reads `now`, is
    /// offered: as [`Intc::pending`], but ICIs requested at a later clock
    /// reading than `now` wait until `core` gets there.
    pub fn pending_at(&self, core: usize, now: u64) -> Option<Pending> {
        if core >= self.cores {
            return None;
        }
        let mut best: Option<Pending> = None;
        let mut offer = |candidate: Pending| {
            let better = best.is_none_or(|b| {
                candidate.level > b.level || (candidate.level == b.level && candidate.intevt < b.intevt)
            });
            if better {
                best = Some(candidate);
            }
        };
        // Only sources with a request can be offered: walk their bits.
        let mut candidates = (self.asserted | self.latched) & !self.held;
        while candidates != 0 {
            let index = candidates.trailing_zeros() as usize;
            candidates &= candidates - 1;
            let src = Source::ALL[index];
            if let Some(level) = self.offered_level(core, src) {
                offer(Pending { level, intevt: src.intevt() });
            }
        }
        // Likewise only the messages with a request (a nibble of INTICI
        // each): the check runs for every core at every round, and
        // walking all eight messages of an empty INTICI was most of it.
        let mut requested = if self.ici_since[core] <= now { self.intici[core] } else { 0 };
        while requested != 0 {
            let msg = requested.trailing_zeros() as usize / 4;
            requested &= !(0xf << (4 * msg));
            if let Some(level) = self.ici_level(core, msg) {
                offer(Pending { level, intevt: ICI_INTEVT_BASE + 0x20 * msg as u16 });
            }
        }
        best
    }

    /// The live source with INTEVT code `intevt` (IRQ or IRL per ICR0).
    fn source_for(&self, intevt: u16) -> Option<Source> {
        Source::ALL.iter().copied().find(|&src| {
            src.intevt() == intevt
                && match src.kind() {
                    Kind::Irl => !self.irq_mode(),
                    Kind::Irq(_) => self.irq_mode(),
                    Kind::OnChip => true,
                }
        })
    }

    /// `core` has accepted the interrupt with code `intevt`. Records in
    /// INTACK whether the core was still being offered it; if so, a
    /// distributed source is then held from every core until INTACKCLR and
    /// an edge-sensed IRQ request is consumed. Any acceptance ends IRL
    /// retention (LVLMODE = 0).
    pub fn accept(&mut self, core: usize, intevt: u16) {
        if core >= MAX_CORES {
            return;
        }
        let live = core < self.cores;
        let ici = intevt.checked_sub(ICI_INTEVT_BASE).filter(|d| d % 0x20 == 0 && *d < 0x100);
        let won = if let Some(offset) = ici {
            live && self.ici_level(core, (offset / 0x20) as usize).is_some()
        } else if let Some(src) = self.source_for(intevt) {
            let won = live && self.offered_level(core, src).is_some();
            if won {
                if self.distributed(src) {
                    self.held |= src.bit();
                }
                if matches!(src.kind(), Kind::Irq(_)) {
                    self.latched &= !src.bit();
                }
            }
            won
        } else {
            false
        };
        self.intack[core] = won;
        self.latched &= !IRL_BITS;
    }

    /// Set ICI request bits `value` of `core`, made at the sender's
    /// clock `now` (seen by the receiver `ici_latency` cycles later).
    fn request_ici(&mut self, core: usize, value: u32, now: u64) {
        let now = now.saturating_add(self.ici_latency);
        // A request made while another is pending moves the time on:
        // whatever the receiver does on taking the ICI (reading a mailbox)
        // must not see the later sender's work early. The first request
        // waits a little longer.
        self.ici_since[core] = if self.intici[core] == 0 { now } else { self.ici_since[core].max(now) };
        self.intici[core] |= value;
    }

    /// Make the late ICI requests of the fault plan that have arrived by
    /// `now` (a core's clock), in order of arrival, as if written then.
    pub(crate) fn deliver_late_icis(&mut self, now: u64) {
        let Some(plan) = self.ici_faults.as_mut() else { return };
        let due = plan.take_late(now);
        for (at, core, value) in due {
            self.request_ici(core, value, at);
        }
    }

    /// When the next late ICI request arrives, if one is on its way.
    pub(crate) fn next_late_ici(&self) -> Option<u64> {
        self.ici_faults.as_ref().and_then(|p| p.next_late())
    }

    fn read_intreq(&self) -> u32 {
        (0..4usize).fold(0u32, |bits, n| {
            let src = Source::irq(n).expect("IRQ0-3 exist");
            let request = if self.irq_edge_sensed(n as u8) { self.latched } else { self.asserted };
            bits | ((request & src.bit() != 0) as u32) << (31 - n)
        })
    }

    fn write_intreq(&mut self, value: u32) {
        for n in 0..4 {
            let src = Source::irq(n).expect("IRQ0-3 exist");
            if value & (1 << (31 - n)) == 0 {
                self.latched &= !src.bit();
            }
        }
    }
}

impl Mmio for Intc {
    fn read(&mut self, at: Access, offset: u32, size: Size) -> Result<u32, MmioFault> {
        let reg = Reg::decode(offset).ok_or(MmioFault::NoRegister)?;
        if size != Size::Long {
            return Err(MmioFault::BadWidth);
        }
        Ok(match reg {
            Reg::Icr0 => self.icr0,
            Reg::IntPri => self.intpri,
            Reg::Icr1 => self.icr1,
            Reg::IntReq => self.read_intreq(),
            Reg::IntMsk { family, clear: false, core } => self.intmsk[core][family as usize],
            Reg::Int2Msk { register, clear: false, core } => self.int2msk[core][register],
            Reg::IntIci { clear: false, core } => self.intici[core],
            Reg::IciPri { clear: false, core } => self.icipri[core],
            Reg::IntAck => self.intack.get(at.core).is_some_and(|won| *won) as u32,
            Reg::Int2Pri(n) => self.int2pri[n],
            Reg::Int2DistCr(n) => self.int2distcr[n],
            Reg::UserIMask => (self.userimask as u32) << 4,
            // Clear registers and INTACKCLR are write-only: they read 0.
            Reg::IntMsk { clear: true, .. }
            | Reg::Int2Msk { clear: true, .. }
            | Reg::IntIci { clear: true, .. }
            | Reg::IciPri { clear: true, .. }
            | Reg::IntAckClr => 0,
        })
    }

    fn write(&mut self, at: Access, offset: u32, size: Size, value: u32) -> Result<(), MmioFault> {
        let reg = Reg::decode(offset).ok_or(MmioFault::NoRegister)?;
        if size != Size::Long {
            return Err(MmioFault::BadWidth);
        }
        match reg {
            Reg::Icr0 => {
                self.icr0 = value & ICR0_VALID;
                if !self.irl_retained() {
                    self.latched &= !IRL_BITS;
                }
            }
            Reg::IntPri => self.intpri = value & INTPRI_VALID,
            Reg::Icr1 => self.icr1 = value & ICR1_VALID,
            Reg::IntReq => self.write_intreq(value),
            Reg::IntMsk { family, clear, core } => {
                let valid = if family == 0 { INTMSK0_VALID } else { INTMSK1_VALID };
                let mask = &mut self.intmsk[core][family as usize];
                if clear {
                    *mask &= !value;
                } else {
                    *mask |= value & valid;
                    // Writing 1 to the IRL mask bit also drops a retained IRL.
                    if family == 1 && value & INTMSK1_VALID != 0 {
                        self.latched &= !IRL_BITS;
                    }
                }
            }
            Reg::Int2Msk { register, clear, core } => {
                let mask = &mut self.int2msk[core][register];
                if clear {
                    *mask &= !value;
                } else {
                    *mask |= value & INT2MSK_VALID[register];
                }
            }
            Reg::IntIci { clear, core } => {
                if clear {
                    self.intici[core] &= !value;
                } else {
                    // A fault plan may drop the request or make it late: a
                    // late request is one made `late` cycles after the
                    // write (and, as any later request, it holds back one
                    // already pending).
                    if let (Some(plan), true) = (self.ici_faults.as_mut(), value != 0) {
                        match plan.request(core) {
                            crate::faults::IciVerdict::Deliver => {}
                            crate::faults::IciVerdict::Lose => return Ok(()),
                            crate::faults::IciVerdict::Late(late) => {
                                plan.hold(at.now.saturating_add(late), core, value);
                                return Ok(());
                            }
                        }
                    }
                    self.request_ici(core, value, at.now);
                }
            }
            Reg::IciPri { clear, core } => {
                if clear {
                    self.icipri[core] &= !value;
                } else {
                    self.icipri[core] |= value;
                }
            }
            Reg::IntAck => {}
            Reg::IntAckClr => {
                if let Some(src) = self.source_for(value as u16) {
                    self.held &= !src.bit();
                }
            }
            Reg::Int2Pri(n) => self.int2pri[n] = value & INT2PRI_VALID[n],
            Reg::Int2DistCr(n) => self.int2distcr[n] = value & INT2MSK_VALID[n],
            Reg::UserIMask => {
                // Only a write carrying the 0xa5 key in bits 31:24 lands.
                if value >> 24 == 0xa5 {
                    self.userimask = ((value >> 4) & 0xf) as u8;
                }
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(core: usize) -> Access {
        Access { core, now: 0 }
    }

    fn wr(intc: &mut Intc, address: u32, value: u32) {
        intc.write(at(0), address - BASE, Size::Long, value).unwrap();
    }

    fn rd(intc: &mut Intc, core: usize, address: u32) -> u32 {
        intc.read(at(core), address - BASE, Size::Long).unwrap()
    }

    const INTPRI: u32 = 0xfe41_0010;
    const INT2PRI0: u32 = 0xfe41_0800;
    const INT2PRI1: u32 = 0xfe41_0804;
    const C0INT2MSK0: u32 = 0xfe41_0820;
    const C0INT2MSKCLR0: u32 = 0xfe41_0850;
    const C0INT2MSKCLR2: u32 = 0xfe41_0870;
    const INT2DISTCR0: u32 = 0xfe41_08a0;
    const C0INTMSKCLR1: u32 = 0xfe41_0060;
    const INTACK: u32 = 0xfe41_00b8;
    const INTACKCLR: u32 = 0xfe41_00bc;
    const USERIMASK: u32 = 0xfe41_1000;

    fn cintici(cpu: u32) -> u32 {
        0xfe41_0070 + 4 * cpu
    }
    fn cinticiclr(cpu: u32) -> u32 {
        0xfe41_0080 + 4 * cpu
    }
    fn cicipri(cpu: u32) -> u32 {
        0xfe41_0090 + 4 * cpu
    }
    fn cicipriclr(cpu: u32) -> u32 {
        0xfe41_00a0 + 4 * cpu
    }

    /// drivers/sh/intc/handle.c's field positions for a 32-bit register of
    /// 4-bit priority fields, and of 1-bit mask fields.
    fn linux_prio_shift(field: u8) -> u8 {
        32 - (field + 1) * 4
    }
    fn linux_mask_bit(field: u8) -> u8 {
        31 - field
    }

    #[test]
    fn table_is_indexed_by_discriminant_and_codes_are_unique_per_mode() {
        for (i, src) in Source::ALL.iter().enumerate() {
            assert_eq!(*src as usize, i);
            assert_eq!(TABLE[i].source, *src);
        }
        assert_eq!(SOURCE_COUNT, 92);
        let mut codes: Vec<u16> = Source::ALL.iter().filter(|s| s.kind() != Kind::Irl).map(|s| s.intevt()).collect();
        codes.sort();
        codes.dedup();
        assert_eq!(codes.len(), SOURCE_COUNT - 15);
        let mut irl_mode: Vec<u16> =
            Source::ALL.iter().filter(|s| !matches!(s.kind(), Kind::Irq(_))).map(|s| s.intevt()).collect();
        irl_mode.sort();
        irl_mode.dedup();
        assert_eq!(irl_mode.len(), SOURCE_COUNT - 4);
    }

    #[test]
    fn priority_fields_match_setup_shx3_tables() {
        // (register, list in setup-shx3.c order): first entry in bits 31:28.
        let int2pri: [(u8, [Option<Source>; 8]); 5] = [
            (0, [None, Some(Source::Hudi), Some(Source::Tmu5), Some(Source::Tmu4),
                 Some(Source::Tmu3), Some(Source::Tmu2), Some(Source::Tmu1), Some(Source::Tmu0)]),
            (1, [Some(Source::Dtu3Event0), Some(Source::Dtu2Event0), Some(Source::Dtu1Event0),
                 Some(Source::Dtu0Event0), Some(Source::Scif3Eri), Some(Source::Scif2Eri),
                 Some(Source::Scif1Eri), Some(Source::Scif0Eri)]),
            (2, [Some(Source::Dmac1Dmint6), Some(Source::Dmac0Dmint0), Some(Source::Pcii5),
                 Some(Source::Pcii4), Some(Source::Pcii3), Some(Source::Pcii2), Some(Source::Pcii1),
                 Some(Source::Pcii0)]),
            (3, [Some(Source::Fe1), Some(Source::Fe0), Some(Source::Atapi), Some(Source::Vcore0),
                 Some(Source::Vin1), Some(Source::Vin0), Some(Source::Iic), Some(Source::Du)]),
            (4, [None, None, Some(Source::Pam), Some(Source::Gpio3), Some(Source::Gpio2),
                 Some(Source::Gpio1), Some(Source::Gpio0), Some(Source::Irm)]),
        ];
        for (register, list) in int2pri {
            for (field, src) in list.iter().enumerate() {
                if let Some(src) = src {
                    let expected = PriorityField::Int2Pri { register, shift: linux_prio_shift(field as u8) };
                    assert_eq!(src.priority_field(), expected, "{src:?}");
                }
            }
        }
        for (n, src) in [Source::Irq0, Source::Irq1, Source::Irq2, Source::Irq3].iter().enumerate() {
            assert_eq!(src.priority_field(), PriorityField::IntPri { shift: linux_prio_shift(n as u8) });
        }
        // Groups share one field.
        assert_eq!(Source::Pcii9.priority_field(), Source::Pcii5.priority_field());
        assert_eq!(Source::Scif0Txi.priority_field(), Source::Scif0Eri.priority_field());
        assert_eq!(Source::Dmac0Dmae.priority_field(), Source::Dmac0Dmint0.priority_field());
        assert_eq!(INT2PRI_VALID, [0x0fff_ffff, 0xffff_ffff, 0xffff_ffff, 0xffff_ffff, 0x00ff_ffff]);
    }

    #[test]
    fn mask_bits_match_setup_shx3_tables() {
        use Source::*;
        let msk0: [(u8, Source); 18] = [
            (0, Fe1), (1, Fe0), (3, Atapi), (4, Vcore0), (5, Vin1), (6, Vin0), (7, Iic), (8, Du),
            (9, Gpio3), (10, Gpio2), (11, Gpio1), (12, Gpio0), (13, Pam), (25, Tmu5), (26, Tmu4),
            (27, Tmu3), (28, Tmu2), (29, Tmu1),
        ];
        for (field, src) in msk0 {
            assert_eq!(src.mask_bit(), MaskBit::Int2Msk { register: 0, bit: linux_mask_bit(field) }, "{src:?}");
        }
        assert_eq!(Tmu0.mask_bit(), MaskBit::Int2Msk { register: 0, bit: 1 });
        let msk1: [(u8, Source); 7] =
            [(4, Dtu3Event2), (7, Dtu0Event1), (8, Pcii9), (17, Pcii0), (18, Dmac1Dmae), (24, Dmac1Dmint6), (31, Dmac0Dmint0)];
        for (field, src) in msk1 {
            assert_eq!(src.mask_bit(), MaskBit::Int2Msk { register: 1, bit: linux_mask_bit(field) }, "{src:?}");
        }
        let msk2: [(u8, Source); 4] = [(16, Scif3Txi), (23, Scif2Eri), (28, Scif0Txi), (31, Scif0Eri)];
        for (field, src) in msk2 {
            assert_eq!(src.mask_bit(), MaskBit::Int2Msk { register: 2, bit: linux_mask_bit(field) }, "{src:?}");
        }
        assert_eq!(Irq0.mask_bit(), MaskBit::IntMsk0(31));
        assert_eq!(Irq3.mask_bit(), MaskBit::IntMsk0(28));
        assert_eq!(Irl1.mask_bit(), MaskBit::IntMsk1(31));
        // The TOPPERS rproto1.h mask patterns agree.
        assert_eq!(INT2MSK_VALID, [0xdffc_007e, 0x0fff_ffff, 0x0000_ffff]);
        assert_eq!((INTMSK0_VALID, INTMSK1_VALID), (0xf000_0000, 0x8000_0000));
        assert_eq!(Tmu0.distribution_bit(), Some((0, 1)));
        assert_eq!(Irl3.distribution_bit(), None);
    }

    #[test]
    fn intevt_codes() {
        assert_eq!(Source::TMU.map(Source::intevt), [0x400, 0x420, 0x440, 0x460, 0x480, 0x4a0]);
        assert_eq!(Source::SCIF[0].map(Source::intevt), [0x700, 0x720, 0x740, 0x760]);
        assert_eq!(Source::SCIF[1].map(Source::intevt), [0x780, 0x7a0, 0x7c0, 0x7e0]);
        assert_eq!(Source::SCIF[2].map(Source::intevt), [0x800, 0x820, 0x840, 0x860]);
        assert_eq!(Source::SCIF[3].map(Source::intevt), [0x880, 0x8a0, 0x8c0, 0x8e0]);
        assert_eq!(Source::irl(15).map(Source::intevt), Some(0x200));
        assert_eq!(Source::irl(1).map(Source::intevt), Some(0x3c0));
        assert_eq!(Source::irl(0), None);
        assert_eq!(Source::irq(2).map(Source::intevt), Some(0x2c0));
        assert_eq!(Source::tmu(4), Source::Tmu4);
        assert_eq!(Source::scif(3, 1), Some(Source::Scif3Rxi));
        assert_eq!(Source::scif(4, 0), None);
        assert_eq!(Source::scif(0, 4), None);
        assert_eq!(Source::Hudi.intevt(), 0x3e0);
        assert_eq!(Source::Irm.intevt(), 0xee0);
    }

    #[test]
    fn reset_masks_everything() {
        let mut intc = Intc::new(4);
        for core in 0..4 {
            assert_eq!(rd(&mut intc, 0, C0INT2MSK0 + 4 * core), 0xdffc_007e);
            assert_eq!(rd(&mut intc, 0, 0xfe41_0030 + 4 * core), 0xf000_0000);
        }
        wr(&mut intc, INT2PRI0, 0xf);
        intc.set_line(Source::Tmu0, true);
        assert_eq!(intc.pending(0), None);
    }

    #[test]
    fn linux_enable_path_offers_tmu0_to_core0_only() {
        let mut intc = Intc::new(4);
        // intc_enable: modify_32 of the INT2PRI0 field (then read back),
        // write_32 of the mask-clear bit (then read back).
        let old = rd(&mut intc, 0, INT2PRI0);
        wr(&mut intc, INT2PRI0, old | 2);
        assert_eq!(rd(&mut intc, 0, INT2PRI0), 2);
        wr(&mut intc, C0INT2MSKCLR0, 1 << 1);
        assert_eq!(rd(&mut intc, 0, C0INT2MSKCLR0), 0);
        assert_eq!(rd(&mut intc, 0, C0INT2MSK0), 0xdffc_007c);
        assert_eq!(intc.pending(0), None, "line not raised yet");
        intc.set_line(Source::Tmu0, true);
        assert_eq!(intc.pending(0), Some(Pending { level: 2, intevt: 0x400 }));
        assert_eq!(intc.pending(1), None);
        // intc_disable: write 1 to the mask register.
        wr(&mut intc, C0INT2MSK0, 1 << 1);
        assert_eq!(intc.pending(0), None);
        wr(&mut intc, C0INT2MSKCLR0, 1 << 1);
        intc.set_line(Source::Tmu0, false);
        assert_eq!(intc.pending(0), None);
    }

    #[test]
    fn highest_level_wins_and_ties_go_to_the_lower_intevt() {
        let mut intc = Intc::new(1);
        wr(&mut intc, C0INT2MSKCLR0, 0xffff_ffff);
        wr(&mut intc, C0INT2MSKCLR2, 0xffff_ffff);
        wr(&mut intc, INT2PRI0, 0x0000_0033); // TMU1 = 3, TMU0 = 3
        wr(&mut intc, INT2PRI1, 0x0000_0005); // SCIF0 = 5
        intc.set_line(Source::Tmu1, true);
        intc.set_line(Source::Tmu0, true);
        assert_eq!(intc.pending(0), Some(Pending { level: 3, intevt: 0x400 }));
        intc.set_line(Source::Scif0Rxi, true);
        assert_eq!(intc.pending(0), Some(Pending { level: 5, intevt: 0x720 }));
        // Priority 0 disables.
        wr(&mut intc, INT2PRI1, 0);
        assert_eq!(intc.pending(0), Some(Pending { level: 3, intevt: 0x400 }));
    }

    /// An ICI sent when the sender's clock read 5000 cannot be taken by a
    /// core whose clock is behind that (it would react before the cause:
    /// the hosted hypervisor's migrations showed a negative transit).
    #[test]
    fn an_ici_waits_until_the_receivers_clock_reaches_the_send() {
        let mut intc = Intc::new(2);
        wr(&mut intc, cicipri(1), 0xf);
        intc.write(Access { core: 0, now: 5000 }, cintici(1) - BASE, Size::Long, 1).unwrap();
        assert_eq!(intc.pending_at(1, 4999), None);
        assert_eq!(intc.pending_at(1, 5000), Some(Pending { level: 15, intevt: 0xf00 }));
        assert_eq!(intc.pending(1), Some(Pending { level: 15, intevt: 0xf00 }), "the machine is not halted: it will come");
        // A second request while the first is pending moves the time on:
        // taking the ICI must not show the receiver the later sender's work
        // (a mailbox message) before it was done.
        intc.write(Access { core: 0, now: 9000 }, cintici(1) - BASE, Size::Long, 1 << 4).unwrap();
        assert_eq!(intc.pending_at(1, 8999), None);
        assert_eq!(intc.pending_at(1, 9000).map(|p| p.intevt), Some(0xf00));
    }

    /// With an ICI latency, a request made at 5000 is seen from 5000 plus
    /// the latency on, by every message and every later request alike.
    #[test]
    fn an_ici_latency_delays_when_the_receiver_can_take_it() {
        let mut intc = Intc::new(2);
        intc.ici_latency = 700;
        wr(&mut intc, cicipri(1), 0xff);
        intc.write(Access { core: 0, now: 5000 }, cintici(1) - BASE, Size::Long, 1).unwrap();
        assert_eq!(intc.pending_at(1, 5699), None);
        assert_eq!(intc.pending_at(1, 5700), Some(Pending { level: 15, intevt: 0xf00 }));
        intc.write(Access { core: 0, now: 9000 }, cintici(1) - BASE, Size::Long, 1 << 4).unwrap();
        assert_eq!(intc.pending_at(1, 9699), None);
        assert_eq!(intc.pending_at(1, 9700).map(|p| p.intevt), Some(0xf00));
    }

    #[test]
    fn ici_messages_follow_smp_shx3() {
        let mut intc = Intc::new(4);
        // request_irq for messages 0-3: one priority field at a time.
        for msg in 0..4 {
            wr(&mut intc, cicipri(2), 2 << (4 * msg));
        }
        assert_eq!(rd(&mut intc, 0, cicipri(2)), 0x2222);
        // shx3_send_ipi(2, 1): bit 4 of C2INTICI.
        wr(&mut intc, cintici(2), 1 << 4);
        assert_eq!(intc.pending(2), Some(Pending { level: 2, intevt: 0xf20 }));
        assert_eq!(intc.pending(0), None);
        // ipi_interrupt_handler on CPU 2: read, keep its bit, clear it.
        let x = rd(&mut intc, 2, cintici(2)) & (1 << 4);
        assert_eq!(x, 0x10);
        wr(&mut intc, cinticiclr(2), x);
        assert_eq!(rd(&mut intc, 2, cintici(2)), 0);
        assert_eq!(intc.pending(2), None);
        // Disabling a message clears its whole field (MODE_PCLR_REG).
        wr(&mut intc, cicipriclr(2), 0xf << 4);
        assert_eq!(rd(&mut intc, 0, cicipri(2)), 0x2202);
        wr(&mut intc, cintici(2), 1 << 4);
        assert_eq!(intc.pending(2), None);
        // Message 7 at level 15 on core 3.
        wr(&mut intc, cicipri(3), 0xf000_0000);
        wr(&mut intc, cintici(3), 1 << 28);
        assert_eq!(intc.pending(3), Some(Pending { level: 15, intevt: 0xfe0 }));
    }

    /// Several messages requested on one core at once (any bit of a
    /// message's nibble requests it): the highest level is offered, a
    /// tie goes to the lower message, and each one cleared shows the
    /// next; a message at priority 0 is never offered.
    #[test]
    fn the_highest_of_several_ici_messages_is_offered() {
        let mut intc = Intc::new(2);
        // Messages 1, 3 and 6 at level 9, message 5 at 12, the rest at 0;
        // messages 1, 2, 3, 5 and 6 requested.
        wr(&mut intc, cicipri(1), 0x09c0_9090);
        wr(&mut intc, cintici(1), 0x0a70_8510);
        assert_eq!(intc.pending(1), Some(Pending { level: 12, intevt: ICI_INTEVT_BASE + 0x20 * 5 }));
        wr(&mut intc, cinticiclr(1), 0x00f0_0000);
        assert_eq!(intc.pending(1), Some(Pending { level: 9, intevt: ICI_INTEVT_BASE + 0x20 }));
        wr(&mut intc, cinticiclr(1), 0x0000_00f0);
        assert_eq!(intc.pending(1), Some(Pending { level: 9, intevt: ICI_INTEVT_BASE + 0x20 * 3 }));
        wr(&mut intc, cinticiclr(1), 0x0000_f000);
        assert_eq!(intc.pending(1), Some(Pending { level: 9, intevt: ICI_INTEVT_BASE + 0x20 * 6 }));
        wr(&mut intc, cinticiclr(1), 0x0f00_0000);
        // Message 2 is left, at priority 0.
        assert_eq!(rd(&mut intc, 1, cintici(1)), 0x0000_0500);
        assert_eq!(intc.pending(1), None);
        assert_eq!(intc.pending(0), None);
    }

    #[test]
    fn distributed_source_goes_to_the_first_acceptor() {
        let mut intc = Intc::new(4);
        wr(&mut intc, INT2PRI0, 4);
        for core in 0..2 {
            wr(&mut intc, C0INT2MSKCLR0 + 4 * core, 1 << 1);
        }
        intc.set_line(Source::Tmu0, true);
        // Fixed distribution: both unmasked cores are offered it.
        assert_eq!(intc.pending(0), Some(Pending { level: 4, intevt: 0x400 }));
        assert_eq!(intc.pending(1), Some(Pending { level: 4, intevt: 0x400 }));
        intc.accept(0, 0x400);
        assert_eq!(rd(&mut intc, 0, INTACK), 1);
        assert!(intc.pending(1).is_some());
        // Automatic distribution: core 1 accepts first, core 0 loses.
        wr(&mut intc, INT2DISTCR0, 1 << 1);
        intc.accept(1, 0x400);
        assert_eq!(intc.pending(0), None);
        assert_eq!(intc.pending(1), None);
        intc.accept(0, 0x400);
        assert_eq!(rd(&mut intc, 1, INTACK), 1);
        assert_eq!(rd(&mut intc, 0, INTACK), 0);
        // irq_finish: INTACKCLR with the INTEVT releases it.
        wr(&mut intc, INTACKCLR, 0x400);
        assert_eq!(intc.pending(0), Some(Pending { level: 4, intevt: 0x400 }));
    }

    #[test]
    fn userimask_needs_its_key_and_masks_low_levels() {
        let mut intc = Intc::new(1);
        wr(&mut intc, C0INT2MSKCLR0, 1 << 1);
        wr(&mut intc, INT2PRI0, 3);
        intc.set_line(Source::Tmu0, true);
        wr(&mut intc, USERIMASK, 3 << 4);
        assert_eq!(rd(&mut intc, 0, USERIMASK), 0);
        wr(&mut intc, USERIMASK, 0xa5 << 24 | 3 << 4);
        assert_eq!(rd(&mut intc, 0, USERIMASK), 0x30);
        assert_eq!(intc.pending(0), None);
        wr(&mut intc, USERIMASK, 0xa5 << 24 | 2 << 4);
        assert_eq!(intc.pending(0), Some(Pending { level: 3, intevt: 0x400 }));
    }

    #[test]
    fn irl_levels_and_lvlmode_retention() {
        let mut intc = Intc::new(2);
        wr(&mut intc, C0INTMSKCLR1, 1 << 31);
        // LVLMODE = 0 after reset: a pulse is retained until acceptance.
        intc.set_line(Source::Irl13, true);
        intc.set_line(Source::Irl13, false);
        assert_eq!(intc.pending(0), Some(Pending { level: 13, intevt: 0x240 }));
        assert_eq!(intc.pending(1), None, "core 1 keeps IRL masked");
        intc.accept(0, 0x240);
        assert_eq!(intc.pending(0), None);
        // x3proto_init_irq: ICR0 |= LVLMODE; now the pins rule.
        let icr0 = rd(&mut intc, 0, BASE);
        wr(&mut intc, BASE, icr0 | 1 << 21);
        assert_eq!(rd(&mut intc, 0, BASE), 1 << 21);
        intc.set_line(Source::Irl2, true);
        assert_eq!(intc.pending(0), Some(Pending { level: 2, intevt: 0x3a0 }));
        intc.set_line(Source::Irl2, false);
        assert_eq!(intc.pending(0), None);
    }

    #[test]
    fn irq_mode_swaps_the_overlapping_codes() {
        let mut intc = Intc::new(1);
        wr(&mut intc, 0xfe41_0050, 0xf000_0000); // unmask IRQ0-3
        wr(&mut intc, C0INTMSKCLR1, 1 << 31);
        wr(&mut intc, INTPRI, 0x7000_0000); // IRQ0 = 7
        wr(&mut intc, BASE, ICR0_IRLM | ICR0_LVLMODE);
        // ICR1 = 0: falling edge, latched in INTREQ.
        intc.set_line(Source::Irq0, true);
        intc.set_line(Source::Irq0, false);
        intc.set_line(Source::Irl13, true);
        assert_eq!(intc.pending(0), Some(Pending { level: 7, intevt: 0x240 }));
        assert_eq!(rd(&mut intc, 0, 0xfe41_0024), 0x8000_0000);
        intc.accept(0, 0x240);
        assert_eq!(rd(&mut intc, 0, 0xfe41_0024), 0);
        assert_eq!(intc.pending(0), None);
        // Level-high sense (11): follows the line; INTREQ writes do nothing.
        wr(&mut intc, 0xfe41_001c, 0xc000_0000);
        intc.set_line(Source::Irq0, true);
        wr(&mut intc, 0xfe41_0024, 0);
        assert_eq!(intc.pending(0), Some(Pending { level: 7, intevt: 0x240 }));
        // Back to IRL mode: the IRL13 line (same code) is what is offered.
        wr(&mut intc, BASE, ICR0_LVLMODE);
        assert_eq!(intc.pending(0), Some(Pending { level: 13, intevt: 0x240 }));
    }

    #[test]
    fn accept_of_a_code_not_offered_reads_intack_zero() {
        let mut intc = Intc::new(4);
        intc.accept(3, 0x400);
        assert_eq!(rd(&mut intc, 3, INTACK), 0);
        intc.accept(3, 0x1234);
        intc.accept(9, 0x400);
        wr(&mut intc, cicipri(3), 1);
        wr(&mut intc, cintici(3), 1);
        intc.accept(3, 0xf00);
        assert_eq!(rd(&mut intc, 3, INTACK), 1);
    }

    #[test]
    fn cores_beyond_the_machine_are_never_offered() {
        let mut intc = Intc::new(2);
        wr(&mut intc, cicipri(3), 1);
        wr(&mut intc, cintici(3), 1);
        assert_eq!(rd(&mut intc, 0, cintici(3)), 1);
        assert_eq!(intc.pending(3), None);
        assert_eq!(intc.pending(100), None);
    }

    #[test]
    fn widths_and_holes_fault() {
        let mut intc = Intc::new(4);
        assert_eq!(intc.read(at(0), 0x04, Size::Long), Err(MmioFault::NoRegister));
        assert_eq!(intc.read(at(0), 0xc0, Size::Long), Err(MmioFault::NoRegister));
        assert_eq!(intc.read(at(0), 0x8ac, Size::Long), Err(MmioFault::NoRegister));
        assert_eq!(intc.read(at(0), 0x802, Size::Word), Err(MmioFault::NoRegister));
        assert_eq!(intc.read(at(0), 0x800, Size::Word), Err(MmioFault::BadWidth));
        assert_eq!(intc.write(at(0), 0x70, Size::Byte, 1), Err(MmioFault::BadWidth));
    }

    #[test]
    fn every_offset_and_width_is_safe() {
        let mut intc = Intc::new(4);
        for src in Source::ALL {
            intc.set_line(src, true);
        }
        for offset in 0..SIZE + 8 {
            for size in [Size::Byte, Size::Word, Size::Long] {
                for core in [0, 3, 7] {
                    let _ = intc.read(at(core), offset, size);
                    let _ = intc.write(at(core), offset, size, 0xffff_ffff);
                    let _ = intc.pending(core);
                    let _ = intc.write(at(core), offset, size, 0);
                }
            }
        }
        for core in 0..8 {
            intc.accept(core, 0x400);
            intc.accept(core, 0xfe0);
        }
    }
}
