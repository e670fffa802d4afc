//! Exceptions as the SH-4A defines them: what each one writes to EXPEVT,
//! which vector offset from VBR it enters at, and whether it is a reset.
//!
//! An instruction handler returns `Err(Exception)`; the CPU's exception
//! entry (`Cpu::enter_exception`) turns it into architectural state.

/// A synchronous exception raised by an instruction (or its fetch).
/// Address-carrying variants hold the faulting virtual address (for TEA and
/// PTEH.VPN).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Exception {
    /// Instruction TLB miss (EXPEVT 0x040, VBR+0x400).
    ItlbMiss(u32),
    /// Data TLB miss on a read (0x040, VBR+0x400).
    TlbMissRead(u32),
    /// Data TLB miss on a write (0x060, VBR+0x400).
    TlbMissWrite(u32),
    /// Initial page write: store to a page whose D bit is clear (0x080).
    InitialPageWrite(u32),
    /// Instruction TLB protection violation (0x0A0).
    ItlbProtection(u32),
    /// Data TLB protection violation on a read (0x0A0).
    TlbProtectionRead(u32),
    /// Data TLB protection violation on a write (0x0C0).
    TlbProtectionWrite(u32),
    /// Instruction address error: odd PC or user fetch from a privileged area (0x0E0).
    InstructionAddressError(u32),
    /// Data address error on a read: misaligned, privileged area from user
    /// mode, or nothing answers at that address (0x0E0).
    AddressErrorRead(u32),
    /// Data address error on a write (0x100).
    AddressErrorWrite(u32),
    /// FPU exception (FPSCR enable bits) (0x120).
    FpuError,
    /// TLB multiple hit: several UTLB entries match (0x140, a reset).
    TlbMultipleHit(u32),
    /// TRAPA #imm (0x160); TRA = imm << 2.
    Trap(u8),
    /// General illegal instruction, including a privileged one in user mode (0x180).
    IllegalInstruction,
    /// Illegal instruction in a delay slot: a branch, TRAPA, RTE, or an
    /// undefined/privileged instruction there (0x1A0).
    SlotIllegalInstruction,
    /// FPU instruction with SR.FD set (0x800).
    FpuDisabled,
    /// FPU instruction with SR.FD set, in a delay slot (0x820).
    SlotFpuDisabled,
}

/// Where an exception enters the handler.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Entry {
    /// VBR + offset.
    Vector(u32),
    /// A reset: PC = 0xA0000000, state reinitialised.
    Reset,
}

impl Exception {
    /// The EXPEVT code.
    pub const fn code(self) -> u32 {
        use Exception::*;
        match self {
            ItlbMiss(_) | TlbMissRead(_) => 0x040,
            TlbMissWrite(_) => 0x060,
            InitialPageWrite(_) => 0x080,
            ItlbProtection(_) | TlbProtectionRead(_) => 0x0A0,
            TlbProtectionWrite(_) => 0x0C0,
            InstructionAddressError(_) | AddressErrorRead(_) => 0x0E0,
            AddressErrorWrite(_) => 0x100,
            FpuError => 0x120,
            TlbMultipleHit(_) => 0x140,
            Trap(_) => 0x160,
            IllegalInstruction => 0x180,
            SlotIllegalInstruction => 0x1A0,
            FpuDisabled => 0x800,
            SlotFpuDisabled => 0x820,
        }
    }

    /// Where the handler starts.
    pub const fn entry(self) -> Entry {
        use Exception::*;
        match self {
            ItlbMiss(_) | TlbMissRead(_) | TlbMissWrite(_) => Entry::Vector(0x400),
            TlbMultipleHit(_) => Entry::Reset,
            _ => Entry::Vector(0x100),
        }
    }

    /// The faulting virtual address, for the exceptions that set TEA.
    pub const fn address(self) -> Option<u32> {
        use Exception::*;
        match self {
            ItlbMiss(a) | TlbMissRead(a) | TlbMissWrite(a) | InitialPageWrite(a)
            | ItlbProtection(a) | TlbProtectionRead(a) | TlbProtectionWrite(a)
            | InstructionAddressError(a) | AddressErrorRead(a) | AddressErrorWrite(a)
            | TlbMultipleHit(a) => Some(a),
            _ => None,
        }
    }

    /// Whether the exception also loads PTEH.VPN with the faulting page
    /// (the MMU exceptions, so a TLB-miss handler can LDTLB directly).
    pub const fn sets_pteh(self) -> bool {
        use Exception::*;
        matches!(
            self,
            ItlbMiss(_) | TlbMissRead(_) | TlbMissWrite(_) | InitialPageWrite(_)
                | ItlbProtection(_) | TlbProtectionRead(_) | TlbProtectionWrite(_)
                | TlbMultipleHit(_)
        )
    }

    /// What the SH-4A manual calls the exception, for people (reports,
    /// the GDB stub's messages).
    pub const fn name(self) -> &'static str {
        use Exception::*;
        match self {
            ItlbMiss(_) => "instruction TLB miss",
            TlbMissRead(_) => "data TLB miss on a read",
            TlbMissWrite(_) => "data TLB miss on a write",
            InitialPageWrite(_) => "initial page write",
            ItlbProtection(_) => "instruction TLB protection violation",
            TlbProtectionRead(_) => "data TLB protection violation on a read",
            TlbProtectionWrite(_) => "data TLB protection violation on a write",
            InstructionAddressError(_) => "instruction address error",
            AddressErrorRead(_) => "data address error on a read",
            AddressErrorWrite(_) => "data address error on a write",
            FpuError => "FPU exception",
            TlbMultipleHit(_) => "TLB multiple hit",
            Trap(_) => "unconditional trap (TRAPA)",
            IllegalInstruction => "general illegal instruction",
            SlotIllegalInstruction => "slot illegal instruction",
            FpuDisabled => "general FPU disable",
            SlotFpuDisabled => "slot FPU disable",
        }
    }

    /// Whether the exception is of the reset type (SH-4A manual,
    /// exception types): it resets the core whatever SR.BL says. Of the
    /// exceptions an instruction raises, only the TLB multiple hit is.
    pub const fn is_reset_type(self) -> bool {
        matches!(self.entry(), Entry::Reset)
    }

    /// The form this exception takes when raised by the instruction in a
    /// delay slot.
    pub const fn in_delay_slot(self) -> Exception {
        match self {
            Exception::IllegalInstruction => Exception::SlotIllegalInstruction,
            Exception::FpuDisabled => Exception::SlotFpuDisabled,
            other => other,
        }
    }
}

/// "instruction address error (EXPEVT 0x0e0, address 0xa4000000)": the
/// name, the EXPEVT code, and the address or TRAPA number it carries, all
/// in hex.
impl std::fmt::Display for Exception {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} (EXPEVT {:#05x}", self.name(), self.code())?;
        if let Some(addr) = self.address() {
            write!(f, ", address {addr:#010x}")?;
        }
        if let Exception::Trap(imm) = *self {
            write!(f, ", #{imm:#04x}")?;
        }
        f.write_str(")")
    }
}

/// SH-4A interrupt event codes that are not peripheral (NMI).
pub const INTEVT_NMI: u32 = 0x1C0;
