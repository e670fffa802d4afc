//! A vCPU as the hypervisor holds it: the guest-visible register state
//! ([`VcpuContext`]: everything saved when a vCPU leaves a core and
//! restored when it comes back, and what the migration engine ships to
//! another core) and the record of a vCPU resident on a core ([`Vcpu`]:
//! that context plus its run state, pending virtual interrupts, virtual
//! timer, why it is away from home, and its migration epoch).
//!
//! The record lives here, below both `spumone-percore` (which schedules
//! resident vCPUs and delivers their interrupts) and `spumone-migration`
//! (which ships them between cores), so neither imports the other's types.
//! Owns: the fields and their meaning. Must not touch: what the fields are
//! used for (scheduling, delivery, migration are the crates above), any
//! hardware.
//!
//! Invariant: a vCPU's [`VcpuContext`] is the complete architectural state
//! its guest can observe (general, banked, control, system, FPU, exception
//! and MMU registers it uses). Restoring it on any core must make the
//! guest's next instruction behave exactly as if it had never left.

use crate::guest::GuestSpec;
use crate::hypercall::sr;

/// Number of 32-bit words in a [`VcpuContext`] (its wire size / 4).
pub const CONTEXT_WORDS: usize = 8 + 8 + 8 + 13 + 2 + 32 + 3 + 5;
/// Where `virtual_imask` is in the wire order (`to_words`).
pub const CONTEXT_VIRTUAL_IMASK: usize = 8 + 8 + 8 + 13;

/// The register state of one vCPU.
///
/// Banks are stored by bank number, not by "current/other": `bank0[n]` is
/// R`n`_BANK0 whatever the vCPU's SR.RB says, so a context is meaningful
/// without decoding its SR.
///
/// Memory layout: `#[repr(C)]`, in the order the board image's entry stub
/// saves a core's registers (`board/rt/entry.S` pushes from the end
/// downwards and its exit pops from the start), so that saving and
/// restoring a vCPU is one block copy. [`CONTEXT_LAYOUT`] checks the
/// offsets the stub uses. The wire order (`to_words`) is independent of it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
#[repr(C)]
pub struct VcpuContext {
    /// Exception-entry registers the guest's handler may still read.
    pub expevt: u32,
    pub intevt: u32,
    pub tra: u32,
    pub tea: u32,
    /// MMU registers a guest may use (PTEH carries the ASID).
    pub pteh: u32,
    pub ptel: u32,
    pub ttb: u32,
    /// The MMU's control (translation on, SV, SQMD; URC as it was). It is
    /// per core on the SH-4A, but a guest sets it for itself: a vCPU that
    /// enabled translation on one core must find it on the next.
    pub mmucr: u32,
    /// FR0-FR15 of FPU bank 0 and of bank 1 (XF0-XF15), by bank number.
    pub fpr_bank0: [u32; 16],
    pub fpr_bank1: [u32; 16],
    pub fpul: u32,
    pub fpscr: u32,
    pub pr: u32,
    pub mach: u32,
    pub macl: u32,
    pub gbr: u32,
    pub ssr: u32,
    pub spc: u32,
    /// The vCPU's status register (MD, RB, BL, FD, IMASK, M, Q, S, T) as
    /// the guest sees it.
    pub sr: u32,
    pub sgr: u32,
    pub dbr: u32,
    /// The guest's own vector base (registered by `SET_VECTOR`); the
    /// physical VBR always belongs to the hypervisor.
    pub vbr: u32,
    /// The guest's virtual interrupt level (0-15): what it asked for
    /// with `IRQ_DISABLE`/`IRQ_RESTORE`, before IPL separation clips it.
    pub virtual_imask: u32,
    /// Whether the vCPU is inside a critical section the hypervisor must
    /// not preempt (its last `PREEMPT_COUNT`, 0 = preemptible).
    pub preempt_count: u32,
    /// R0-R7 of bank 0.
    pub bank0: [u32; 8],
    /// R8-R15 (not banked).
    pub r8_15: [u32; 8],
    /// R0-R7 of bank 1.
    pub bank1: [u32; 8],
    /// Program counter: the next instruction the vCPU executes.
    pub pc: u32,
}

/// Byte offsets of a [`VcpuContext`]'s fields that the board image's entry
/// and exit stubs rely on (they are in `board/rt/entry.S` as numbers).
pub mod layout {
    pub const FPR_BANK0: usize = 32;
    pub const FPUL: usize = 160;
    pub const SSR: usize = 184;
    pub const SR: usize = 192;
    pub const VBR: usize = 204;
    pub const BANK0: usize = 216;
    pub const R8_15: usize = 248;
    pub const BANK1: usize = 280;
    pub const PC: usize = 312;
    pub const BYTES: usize = 316;
}

// The layout the stubs rely on, checked at compile time.
const _: () = {
    use core::mem::{offset_of, size_of};
    assert!(offset_of!(VcpuContext, fpr_bank0) == layout::FPR_BANK0);
    assert!(offset_of!(VcpuContext, fpul) == layout::FPUL);
    assert!(offset_of!(VcpuContext, ssr) == layout::SSR);
    assert!(offset_of!(VcpuContext, sr) == layout::SR);
    assert!(offset_of!(VcpuContext, vbr) == layout::VBR);
    assert!(offset_of!(VcpuContext, bank0) == layout::BANK0);
    assert!(offset_of!(VcpuContext, r8_15) == layout::R8_15);
    assert!(offset_of!(VcpuContext, bank1) == layout::BANK1);
    assert!(offset_of!(VcpuContext, pc) == layout::PC);
    assert!(size_of::<VcpuContext>() == layout::BYTES && layout::BYTES == 4 * CONTEXT_WORDS);
};

impl VcpuContext {
    /// General register `n` as the vCPU's code sees it (R0-R7 through the
    /// bank its SR.RB selects).
    pub fn reg(&self, n: usize) -> u32 {
        match n {
            0..=7 if self.sr & sr::RB != 0 => self.bank1[n],
            0..=7 => self.bank0[n],
            _ => self.r8_15[n - 8],
        }
    }

    pub fn set_reg(&mut self, n: usize, value: u32) {
        match n {
            0..=7 if self.sr & sr::RB != 0 => self.bank1[n] = value,
            0..=7 => self.bank0[n] = value,
            _ => self.r8_15[n - 8] = value,
        }
    }

    /// What the SH-4A does on an exception or interrupt, done to a saved
    /// context: SPC, SSR and SGR keep where it was, SR gets MD, RB and BL,
    /// and execution continues at `vector` (the guest's VBR + 0x100,
    /// 0x400 or 0x600).
    pub fn enter_vector(&mut self, vector: u32) {
        self.spc = self.pc;
        self.ssr = self.sr;
        self.sgr = self.r8_15[7];
        self.sr |= sr::MD | sr::RB | sr::BL;
        self.pc = vector;
    }

    /// The context as words in a fixed order (the order of the fields
    /// above), for the mailbox. [`VcpuContext::from_words`] inverts it.
    pub fn to_words(&self) -> [u32; CONTEXT_WORDS] {
        let mut w = [0u32; CONTEXT_WORDS];
        let mut i = 0;
        let mut put = |v: u32| {
            w[i] = v;
            i += 1;
        };
        self.bank0.iter().for_each(|&v| put(v));
        self.bank1.iter().for_each(|&v| put(v));
        self.r8_15.iter().for_each(|&v| put(v));
        for v in [
            self.pc, self.sr, self.gbr, self.vbr, self.ssr, self.spc, self.sgr, self.dbr, self.mach, self.macl,
            self.pr, self.fpscr, self.fpul, self.virtual_imask, self.preempt_count,
        ] {
            put(v);
        }
        self.fpr_bank0.iter().for_each(|&v| put(v));
        self.fpr_bank1.iter().for_each(|&v| put(v));
        for v in [self.expevt, self.intevt, self.tra, self.pteh, self.ptel, self.ttb, self.mmucr, self.tea] {
            put(v);
        }
        w
    }

    /// Rebuild a context from [`VcpuContext::to_words`]'s output.
    pub fn from_words(w: &[u32; CONTEXT_WORDS]) -> VcpuContext {
        let mut it = w.iter().copied();
        let mut next = || it.next().expect("CONTEXT_WORDS covers every field");
        let mut c = VcpuContext::default();
        c.bank0.iter_mut().for_each(|v| *v = next());
        c.bank1.iter_mut().for_each(|v| *v = next());
        c.r8_15.iter_mut().for_each(|v| *v = next());
        for f in [
            &mut c.pc, &mut c.sr, &mut c.gbr, &mut c.vbr, &mut c.ssr, &mut c.spc, &mut c.sgr, &mut c.dbr,
            &mut c.mach, &mut c.macl, &mut c.pr, &mut c.fpscr, &mut c.fpul, &mut c.virtual_imask,
            &mut c.preempt_count,
        ] {
            *f = next();
        }
        c.fpr_bank0.iter_mut().for_each(|v| *v = next());
        c.fpr_bank1.iter_mut().for_each(|v| *v = next());
        for f in [&mut c.expevt, &mut c.intevt, &mut c.tra, &mut c.pteh, &mut c.ptel, &mut c.ttb, &mut c.mmucr, &mut c.tea] {
            *f = next();
        }
        c
    }
}

/// A vCPU's run state on the core where it is resident.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RunState {
    Runnable,
    /// Called `IDLE`: waits for a virtual interrupt.
    Idle,
    /// Its guest exited.
    Exited,
}

/// A vCPU's virtual timer. Deadlines are absolute, in cycles, so they
/// mean the same on every core.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct VirtualTimer {
    /// Period in cycles, 0 = stopped.
    pub period: u64,
    pub next: u64,
    pub oneshot: bool,
}

/// Why a vCPU is away from its home core (which lock-holder-preemption
/// policy sent it).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AwayReason {
    /// On-demand: the RTOS on its home core is active.
    RtosActive,
    /// Trap-based: it is running its kernel.
    KernelEntry,
    /// Delayed preemption ran past its bound.
    DelayBound,
}

impl AwayReason {
    /// Its 2-bit code in a `Migrate` message's reason byte (3 is "going
    /// home", see `spumone_migration::outbox`).
    pub const fn code(self) -> u8 {
        match self {
            AwayReason::RtosActive => 0,
            AwayReason::KernelEntry => 1,
            AwayReason::DelayBound => 2,
        }
    }
    pub const fn from_code(c: u8) -> Option<AwayReason> {
        match c {
            0 => Some(AwayReason::RtosActive),
            1 => Some(AwayReason::KernelEntry),
            2 => Some(AwayReason::DelayBound),
            _ => None,
        }
    }
}

/// A vCPU resident on a core (and, while it migrates, the copy its source
/// keeps until the destination has it).
#[derive(Clone, Copy, Debug)]
pub struct Vcpu {
    pub guest: u8,
    pub id: u8,
    pub state: RunState,
    pub ctx: VcpuContext,
    /// Pending virtual interrupts, a bit per source (the instance's
    /// numbering: bit 0 the timer, 1-7 device sources, 8 + m IPI m).
    pub pending: u16,
    pub timer: VirtualTimer,
    /// Set while the vCPU is away from home, with why.
    pub away: Option<AwayReason>,
    /// Its home asked for it back and the way home was full: retried at
    /// every entry (local bookkeeping, not shipped).
    pub return_wanted: bool,
    /// How many times it has migrated (wrapping): a destination accepts a
    /// `Migrate` only if it is newer than the last it accepted for this
    /// vCPU, so a resent copy is never taken twice.
    pub epoch: u16,
}

impl Vcpu {
    /// A vCPU of `spec` (guest `guest`, number `id`) about to run its first
    /// instruction at `entry` with `arg` in r4: privileged, its class's
    /// levels masked until the guest is ready for them.
    pub fn fresh(guest: u8, id: u8, spec: &GuestSpec, entry: u32, arg: u32) -> Vcpu {
        let mut bank0 = [0; 8];
        bank0[4] = arg;
        let ctx = VcpuContext {
            bank0,
            pc: entry,
            sr: sr::MD,
            virtual_imask: spec.class.levels().1 as u32,
            fpscr: 0x0004_0001,
            ..VcpuContext::default()
        };
        Vcpu {
            guest,
            id,
            state: RunState::Runnable,
            ctx,
            pending: 0,
            timer: VirtualTimer::default(),
            away: None,
            return_wanted: false,
            epoch: 0,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn words_round_trip_every_field() {
        // Give every word a distinct value so a swapped or dropped field
        // shows up.
        let mut w = [0u32; CONTEXT_WORDS];
        for (i, v) in w.iter_mut().enumerate() {
            *v = 0x1000_0000 + i as u32 * 0x0101;
        }
        let c = VcpuContext::from_words(&w);
        assert_eq!(c.to_words(), w);
        assert_eq!(c.bank0[0], w[0]);
        assert_eq!(c.pc, w[24]);
        assert_eq!(c.tea, w[CONTEXT_WORDS - 1]);
        assert_eq!(c.virtual_imask, w[CONTEXT_VIRTUAL_IMASK]);
    }
}
