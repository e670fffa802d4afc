//! The register frame: where the entry stub (`rt/entry.S`) saves the
//! interrupted code's registers and from where the exit stub loads the
//! ones to resume. Its layout is the stub's push order; the offsets the
//! stub uses are checked here at compile time.
//!
//! Owns: the frame layout and the conversion between it and a vCPU's
//! `VcpuContext`. Must not touch: anything the stub does not save (the
//! exception registers and MMU registers are read through MMIO).

use spumone_kernel::hypercall::sr;
use spumone_kernel::vcpu::VcpuContext;

/// How the exit stub leaves into the frame (word `mode`).
pub const MODE_RTE: u32 = 0;
/// Jump into a guest handler with SR.BL set: SSR and SPC hold the guest's
/// own values, the stub loads SR and jumps to `jump_pc`.
pub const MODE_JUMP: u32 = 1;

/// Words in push order from the frame's base (lowest address): the stub
/// pushes from the end downwards on entry and pops from the base on exit.
#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Frame {
    /// FR0-FR15 of FPU bank 0, then of bank 1 (by number, whatever
    /// FPSCR.FR was).
    pub fpr: [[u32; 16]; 2],
    pub fpul: u32,
    pub fpscr: u32,
    pub pr: u32,
    pub mach: u32,
    pub macl: u32,
    pub gbr: u32,
    /// On entry the interrupted SR and PC (the hardware's SSR/SPC); on exit
    /// what the stub loads into SSR/SPC.
    pub ssr: u32,
    pub spc: u32,
    pub bank0: [u32; 8],
    pub r8_14: [u32; 7],
    /// On entry the interrupted R15 (from SGR).
    pub r15: u32,
    pub jump_pc: u32,
    pub jump_sr: u32,
    pub mode: u32,
    pub bank1: [u32; 8],
}

/// Bytes the stub saves; `rt/entry.S` has the same number.
pub const FRAME_BYTES: usize = 268;
static_assertions::const_assert_eq!(core::mem::size_of::<Frame>(), FRAME_BYTES);
// The offsets rt/entry.S uses (r15 = base + 220 after the control
// registers are popped; the tail is reached with @(disp, r15)).
static_assertions::const_assert_eq!(core::mem::offset_of!(Frame, fpul), 128);
static_assertions::const_assert_eq!(core::mem::offset_of!(Frame, ssr), 152);
static_assertions::const_assert_eq!(core::mem::offset_of!(Frame, bank0), 160);
static_assertions::const_assert_eq!(core::mem::offset_of!(Frame, r15), 220);
static_assertions::const_assert_eq!(core::mem::offset_of!(Frame, jump_pc), 224);
static_assertions::const_assert_eq!(core::mem::offset_of!(Frame, jump_sr), 228);
static_assertions::const_assert_eq!(core::mem::offset_of!(Frame, mode), 232);
static_assertions::const_assert_eq!(core::mem::offset_of!(Frame, bank1), 236);

impl Frame {
    pub const ZERO: Frame = Frame {
        fpr: [[0; 16]; 2],
        fpul: 0,
        fpscr: 0,
        pr: 0,
        mach: 0,
        macl: 0,
        gbr: 0,
        ssr: 0,
        spc: 0,
        bank0: [0; 8],
        r8_14: [0; 7],
        r15: 0,
        jump_pc: 0,
        jump_sr: 0,
        mode: 0,
        bank1: [0; 8],
    };

    /// The registers the stub saved, into `ctx` (PC from SPC, SR from SSR,
    /// R15 from SGR, banks by number, as the hosted model saves them).
    pub fn save_into(&self, ctx: &mut VcpuContext) {
        ctx.bank0 = self.bank0;
        ctx.bank1 = self.bank1;
        ctx.r8_15[..7].copy_from_slice(&self.r8_14);
        ctx.r8_15[7] = self.r15;
        ctx.pc = self.spc;
        ctx.sr = self.ssr;
        ctx.ssr = self.ssr;
        ctx.spc = self.spc;
        ctx.sgr = self.r15;
        ctx.gbr = self.gbr;
        ctx.mach = self.mach;
        ctx.macl = self.macl;
        ctx.pr = self.pr;
        ctx.fpscr = self.fpscr;
        ctx.fpul = self.fpul;
        ctx.fpr_bank0 = self.fpr[0];
        ctx.fpr_bank1 = self.fpr[1];
    }

    /// Load `ctx` to be resumed with SR's IMASK replaced by
    /// `physical_imask`. A context in an exception handler's entry (SR.BL
    /// set: an emulated entry the instance just made) must see its own
    /// SSR and SPC, so it is entered by a jump; any other by RTE, its SSR
    /// and SPC being dead (an exception could overwrite them at any time).
    pub fn load_from(&mut self, ctx: &VcpuContext, physical_imask: u8) {
        let sr = (ctx.sr & !sr::IMASK) | ((physical_imask as u32 & 0xf) << sr::IMASK_SHIFT);
        self.bank0 = ctx.bank0;
        self.bank1 = ctx.bank1;
        self.r8_14.copy_from_slice(&ctx.r8_15[..7]);
        self.r15 = ctx.r8_15[7];
        self.gbr = ctx.gbr;
        self.mach = ctx.mach;
        self.macl = ctx.macl;
        self.pr = ctx.pr;
        self.fpscr = ctx.fpscr;
        self.fpul = ctx.fpul;
        self.fpr[0] = ctx.fpr_bank0;
        self.fpr[1] = ctx.fpr_bank1;
        // The jump keeps register bank 1 current throughout (the stub's
        // last loads go to bank 1), which an emulated entry always selects.
        if sr & sr::BL != 0 && sr & sr::RB != 0 && sr & sr::MD != 0 {
            self.mode = MODE_JUMP;
            self.ssr = ctx.ssr;
            self.spc = ctx.spc;
            self.jump_pc = ctx.pc;
            self.jump_sr = sr;
        } else {
            self.mode = MODE_RTE;
            self.ssr = sr;
            self.spc = ctx.pc;
        }
    }
}
