//! The hypercall ABI in code: numbers, error codes, and the SR bits the
//! hypervisor reads and writes on a guest's behalf. `docs/hypercall-abi.md`
//! is the prose version; change both together.

/// The `trapa` immediates reserved for hypercalls.
pub const FIRST: u8 = 0x60;
pub const LAST: u8 = 0x7f;

/// Whether a trap with immediate `imm` is a hypercall (else it belongs to
/// the guest).
pub const fn is_hypercall(imm: u8) -> bool {
    imm >= FIRST && imm <= LAST
}

/// Every defined hypercall.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Hypercall {
    SetVector,
    IrqDisable,
    IrqRestore,
    Idle,
    Yield,
    SpinYield,
    PreemptCount,
    SendIpi,
    VcpuId,
    StartVcpu,
    ConsoleWrite,
    TimerSet,
    TimeNow,
    Sample,
    Exit,
    KernelExit,
    TimerAt,
}

/// How many hypercalls are defined (immediates 0x60-0x70).
pub const DEFINED: usize = 17;

impl Hypercall {
    /// Its place in `0..DEFINED` (its immediate less `FIRST`).
    pub const fn index(self) -> usize {
        self as usize
    }

    /// Its name in docs/hypercall-abi.md.
    pub const fn name(self) -> &'static str {
        use Hypercall::*;
        match self {
            SetVector => "SET_VECTOR",
            IrqDisable => "IRQ_DISABLE",
            IrqRestore => "IRQ_RESTORE",
            Idle => "IDLE",
            Yield => "YIELD",
            SpinYield => "SPIN_YIELD",
            PreemptCount => "PREEMPT_COUNT",
            SendIpi => "SEND_IPI",
            VcpuId => "VCPU_ID",
            StartVcpu => "START_VCPU",
            ConsoleWrite => "CONSOLE_WRITE",
            TimerSet => "TIMER_SET",
            TimeNow => "TIME_NOW",
            Sample => "SAMPLE",
            Exit => "EXIT",
            KernelExit => "KERNEL_EXIT",
            TimerAt => "TIMER_AT",
        }
    }

    /// The hypercall with `trapa` immediate `imm`, if one is defined.
    pub const fn from_imm(imm: u8) -> Option<Hypercall> {
        use Hypercall::*;
        Some(match imm {
            0x60 => SetVector,
            0x61 => IrqDisable,
            0x62 => IrqRestore,
            0x63 => Idle,
            0x64 => Yield,
            0x65 => SpinYield,
            0x66 => PreemptCount,
            0x67 => SendIpi,
            0x68 => VcpuId,
            0x69 => StartVcpu,
            0x6a => ConsoleWrite,
            0x6b => TimerSet,
            0x6c => TimeNow,
            0x6d => Sample,
            0x6e => Exit,
            0x6f => KernelExit,
            0x70 => TimerAt,
            _ => return None,
        })
    }
}

/// Error codes returned in r0 (as negative numbers).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(i32)]
pub enum HcError {
    NoSys = -1,
    Vcpu = -2,
    Addr = -3,
    Level = -4,
    State = -5,
    Arg = -6,
}

/// Number of distinct error codes (for per-code counters).
pub const ERROR_KINDS: usize = 6;

impl HcError {
    /// The value the guest finds in r0.
    pub const fn to_r0(self) -> u32 {
        self as i32 as u32
    }
    /// Index 0-5 for counters.
    pub const fn index(self) -> usize {
        (-(self as i32) - 1) as usize
    }
}

/// Longest `CONSOLE_WRITE`.
pub const CONSOLE_MAX: u32 = 256;
/// `SAMPLE` kinds.
pub const SAMPLE_DISPATCH_LATENCY: u32 = 0;
pub const SAMPLE_WORK_UNITS: u32 = 1;
/// The cycles between two back-to-back `TIME_NOW` calls: a whole hypercall
/// round trip as the guest sees it (exit, the guest's instructions, the
/// `TRAPA`, the entry), the smallest of several.
pub const SAMPLE_HYPERCALL_ROUND_TRIP: u32 = 2;

/// SR bits.
pub mod sr {
    pub const MD: u32 = 1 << 30;
    pub const RB: u32 = 1 << 29;
    pub const BL: u32 = 1 << 28;
    pub const FD: u32 = 1 << 15;
    pub const IMASK_SHIFT: u32 = 4;
    pub const IMASK: u32 = 0xf << IMASK_SHIFT;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_number_in_the_defined_range_decodes_and_nothing_else() {
        for imm in 0..=255u8 {
            let defined = Hypercall::from_imm(imm).is_some();
            assert_eq!(defined, (0x60..=0x70).contains(&imm), "imm {imm:#x}");
            if defined {
                assert!(is_hypercall(imm));
            }
        }
        assert!(is_hypercall(0x7f) && !is_hypercall(0x5f) && !is_hypercall(0x10));
    }

    #[test]
    fn error_codes_match_the_abi_document() {
        assert_eq!(HcError::NoSys.to_r0(), 0xffff_ffff);
        assert_eq!(HcError::Arg.to_r0() as i32, -6);
        assert_eq!(HcError::Vcpu.index(), 1);
        assert_eq!(HcError::Arg.index(), ERROR_KINDS - 1);
    }
}

#[cfg(test)]
mod numbering {
    use super::*;

    /// `index` is the immediate less `FIRST`, for every defined number,
    /// and nothing past `DEFINED` is defined.
    #[test]
    fn every_defined_hypercall_has_its_immediates_place() {
        for imm in FIRST..=LAST {
            match Hypercall::from_imm(imm) {
                Some(h) => assert_eq!(h.index(), (imm - FIRST) as usize, "{}", h.name()),
                None => assert!((imm - FIRST) as usize >= DEFINED, "{imm:#x}"),
            }
        }
        assert_eq!(Hypercall::from_imm(FIRST + DEFINED as u8 - 1).map(Hypercall::name), Some("TIMER_AT"));
    }
}
