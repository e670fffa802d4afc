//! The register frame: where the entry stub (`rt/entry.S`) saves the
//! interrupted code's registers and from where the exit stub loads the
//! ones to resume. Its first part is a `VcpuContext`, in that type's
//! memory order (`spumone_kernel::vcpu::layout`), so saving a vCPU is one
//! block copy out of it and resuming one is one block copy into it; the
//! last two words tell the exit stub how to leave.
//!
//! Owns: the frame's layout beyond the context, how an exit is encoded
//! (RTE or a jump into a guest handler), and the quick exits that change
//! the interrupted registers in place. Must not touch: the exception and
//! MMU registers on the way out (the stub does not load them: `board_core`
//! writes those that change, through MMIO).

use spumone_kernel::hypercall::sr;
use spumone_kernel::vcpu::{layout, VcpuContext};

/// How the exit stub leaves (word `mode`): by RTE into `ctx.pc` with SR =
/// `exit_sr`, the guest's SSR/SPC being dead (any exception may overwrite
/// them, so code running with SR.BL clear cannot rely on them).
pub const MODE_RTE: u32 = 0;
/// Into a guest handler the instance has just entered (an emulated
/// exception or interrupt entry: SR.MD, RB and BL set): SSR/SPC get the
/// guest's own `ctx.ssr`/`ctx.spc`, SR is loaded with `exit_sr` and the
/// stub jumps to `ctx.pc`.
pub const MODE_JUMP: u32 = 1;

#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Frame {
    /// On entry the interrupted registers (PC and SPC from SPC, SR and SSR
    /// from SSR, R15 and SGR from SGR, the exception and MMU registers as
    /// the entry left them; `dbr`, `vbr`, `virtual_imask` and
    /// `preempt_count` are not written: they are not hardware the stub
    /// saves). On exit the registers to load.
    pub ctx: VcpuContext,
    /// The SR to leave with (the context's, with the physical IMASK).
    pub exit_sr: u32,
    pub mode: u32,
}

/// Bytes the stub saves; `rt/entry.S` and `rt/runtime.c` have the number.
pub const FRAME_BYTES: usize = 324;
static_assertions::const_assert_eq!(core::mem::size_of::<Frame>(), FRAME_BYTES);
static_assertions::const_assert_eq!(core::mem::offset_of!(Frame, exit_sr), layout::BYTES);
static_assertions::const_assert_eq!(core::mem::offset_of!(Frame, mode), layout::BYTES + 4);

impl Frame {
    pub const ZERO: Frame = Frame {
        ctx: VcpuContext {
            expevt: 0,
            intevt: 0,
            tra: 0,
            tea: 0,
            pteh: 0,
            ptel: 0,
            ttb: 0,
            mmucr: 0,
            fpr_bank0: [0; 16],
            fpr_bank1: [0; 16],
            fpul: 0,
            fpscr: 0,
            pr: 0,
            mach: 0,
            macl: 0,
            gbr: 0,
            ssr: 0,
            spc: 0,
            sr: 0,
            sgr: 0,
            dbr: 0,
            vbr: 0,
            virtual_imask: 0,
            preempt_count: 0,
            bank0: [0; 8],
            r8_15: [0; 8],
            bank1: [0; 8],
            pc: 0,
        },
        exit_sr: 0,
        mode: 0,
    };

    /// The registers the stub saved, into `ctx`: everything but the fields
    /// that are not hardware (`dbr`, the hypervisor's scratch on the
    /// board; `vbr`, `virtual_imask`, `preempt_count`, the instance's).
    pub fn save_into(&self, ctx: &mut VcpuContext) {
        let keep = (ctx.dbr, ctx.vbr, ctx.virtual_imask, ctx.preempt_count);
        *ctx = self.ctx;
        (ctx.dbr, ctx.vbr, ctx.virtual_imask, ctx.preempt_count) = keep;
    }

    /// Load `ctx` to be resumed with SR's IMASK replaced by `physical_imask`.
    pub fn load_from(&mut self, ctx: &VcpuContext, physical_imask: u8) {
        self.ctx = *ctx;
        self.set_exit(physical_imask);
    }

    /// Leave into what `self.ctx` now holds: by a jump if it is in an
    /// emulated entry (SR.MD, RB, BL: register bank 1 current, as the
    /// stub's last loads need), else by RTE.
    fn set_exit(&mut self, physical_imask: u8) {
        let sr = (self.ctx.sr & !sr::IMASK) | ((physical_imask as u32 & 0xf) << sr::IMASK_SHIFT);
        let entered = sr::MD | sr::RB | sr::BL;
        self.exit_sr = sr;
        self.mode = if sr & entered == entered { MODE_JUMP } else { MODE_RTE };
    }

    /// Resume the interrupted code where it was, R0 (and R1) replaced.
    pub fn resume_interrupted(&mut self, r0: u32, r1: Option<u32>, physical_imask: u8) {
        self.ctx.set_reg(0, r0);
        if let Some(r1) = r1 {
            self.ctx.set_reg(1, r1);
        }
        self.set_exit(physical_imask);
    }

    /// Resume the interrupted code in its handler at `vector`, as the
    /// SH-4A enters an exception.
    pub fn resume_into_handler(&mut self, vector: u32, physical_imask: u8) {
        self.ctx.enter_vector(vector);
        self.set_exit(physical_imask);
    }

    /// Resume the interrupted code in its interrupt handler at `vector`
    /// (`CoreHardware::resume_into_interrupt`): SR's IMASK `ssr_imask`
    /// before the entry (what SSR keeps), INTEVT `intevt` (the caller
    /// wrote the register).
    pub fn resume_into_interrupt(&mut self, vector: u32, intevt: u32, ssr_imask: u8, physical_imask: u8) {
        self.ctx.sr = (self.ctx.sr & !sr::IMASK) | ((ssr_imask as u32 & 0xf) << sr::IMASK_SHIFT);
        self.ctx.enter_vector(vector);
        self.ctx.intevt = intevt;
        self.set_exit(physical_imask);
    }

    /// Resume the interrupted code where it was, every register as the
    /// entry saved it, with the physical IMASK given.
    pub fn resume_interrupted_as_is(&mut self, physical_imask: u8) {
        self.set_exit(physical_imask);
    }
}
