//! A machine of 1-4 fake cores, one instance each, driven by scripted
//! guests, that checks every context an instance resumes.
//!
//! Time: each core has its own clock (its `FakeCore::now`); the world
//! always advances the core whose next event is earliest, and a running
//! guest advances at most `QUANTUM` cycles per step, so the clocks stay
//! within a quantum of each other and an ICI reaches its target within a
//! quantum. The hypervisor's own interrupts (its timer, the mailbox ICI)
//! are at `Config::hypervisor_level`: a core takes them only while the
//! running code's physical IMASK is below it, or when it sleeps.
//!
//! Guests: a [`Guests`] implementation says what a vCPU does when it runs
//! (compute for a while, `trapa #imm` with r4-r7, take an exception). The
//! world keeps, per vCPU, a model of what the instance must give back:
//!
//! - the registers exactly as the vCPU had them when it last entered the
//!   hypervisor (except r0, and r1 for `TIME_NOW`, of the current bank
//!   after a hypercall, and SPC/SSR/SGR/INTEVT/EXPEVT/TRA after an emulated
//!   entry), whichever core resumes it, however often it migrated;
//! - an emulated entry exactly as the SH-4A does it: SPC = where it was,
//!   SSR = its SR (for an interrupt with IMASK = the level it ran at),
//!   SGR = its R15, SR = SSR | MD|RB|BL, PC = its own VBR + 0x600
//!   (interrupts: INTEVT 0x400 or 0xf00 + 0x20 m, only at a level above
//!   its virtual level) or + 0x100/0x400 (a forwarded exception, with its
//!   EXPEVT and TRA);
//! - the hypercall's result in r0, computed independently from the ABI
//!   (docs/hypercall-abi.md) at call time;
//! - its virtual level, VBR and preempt count as the ABI defines them, and
//!   the physical IMASK IPL separation makes of the level;
//! - a first resume at an entry point it was given (boot, or a
//!   `START_VCPU` of its guest) with the ABI's start state.
//!
//! So a resume that leaks another vCPU's register, resumes a vCPU outside
//! its partition or at an address that is not its own, loses a result, or
//! injects without the SH-4A's entry semantics fails at once.
//!
//! Handlers: an interrupt entry raises the vCPU's virtual level to the
//! interrupt's (SH-4A INTMU semantics) and SSR.IMASK keeps the level it
//! had. The world runs every guest's interrupt handler as
//! tests/hvguests/common/vectors.S and guest.c do: save SPC/SSR and the
//! registers, clear BL, `IRQ_RESTORE(SSR.IMASK)` (a real hypercall, which
//! may itself be interrupted and nest another handler), then restore
//! everything and `rte` (PC = SPC, SR = SSR). A forwarded exception's
//! handler returns at once (`rte`). The guests' own `act` only runs
//! outside handlers.

use super::{FakeCore, Leave, SharedMem};
use spumone_kernel::guest::GuestSpec;
use spumone_kernel::hypercall::{sr, HcError, ERROR_KINDS};
use spumone_kernel::ipl::GuestClass;
use spumone_kernel::vcpu::VcpuContext;
use spumone_percore::config::Config;
use spumone_percore::hw::{timer_intevt, Entry, TraceEvent, ICI_INTEVT, IPI_ICI_INTEVT};
use spumone_percore::instance::{reg, set_reg, AwayReason, Instance, RunState, Vcpu};
use std::collections::BTreeMap;

/// Most guest cycles a running core advances in one step (10 us).
pub const QUANTUM: u64 = 6_000;

/// A vCPU: (guest, number in its guest).
pub type Vid = (u8, u8);

/// The value the harness keeps in R8 of every vCPU (a guest never
/// changes it), so a register leaking between vCPUs shows.
pub fn tag(v: Vid) -> u32 {
    0x7a90_0000 | (v.0 as u32) << 8 | v.1 as u32
}

/// What a running vCPU does next.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Act {
    /// Compute for `cycles` (interrupts may come meanwhile).
    Run(u64),
    /// Compute for `cycles`, then `trapa #imm` with `args` in r4-r7.
    Trap { cycles: u64, imm: u8, args: [u32; 4] },
    /// Compute for `cycles`, then take exception `expevt` at the PC.
    Fault { cycles: u64, expevt: u32 },
}

impl Act {
    pub fn call(imm: u8, args: [u32; 4]) -> Act {
        Act::Trap { cycles: 40, imm, args }
    }
    fn cycles(&self) -> u64 {
        match *self {
            Act::Run(c) | Act::Trap { cycles: c, .. } | Act::Fault { cycles: c, .. } => c,
        }
    }
    fn with_cycles(self, c: u64) -> Act {
        match self {
            Act::Run(_) => Act::Run(c),
            Act::Trap { imm, args, .. } => Act::Trap { cycles: c, imm, args },
            Act::Fault { expevt, .. } => Act::Fault { cycles: c, expevt },
        }
    }
}

/// Why a core entered its instance.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Cause {
    Boot,
    Interrupt(u32),
    Trap { imm: u8, args: [u32; 4] },
    Fault(u32),
}

/// A hypercall's expected result.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Expect {
    Exact(u32),
    /// `TIME_NOW`: r1:r0 is a time within the entry.
    Time { lo: u64, hi: u64 },
    /// Not checked (a known, separately tested defect).
    Any,
}

/// What the world knows about one vCPU.
#[derive(Clone, Debug, Default)]
pub struct Model {
    /// Resumed at least once.
    pub started: bool,
    /// Its registers when it last entered the hypervisor.
    pub shadow: VcpuContext,
    pub vbr: u32,
    pub imask: u32,
    pub preempt: u32,
    /// The hypercall whose result it has not seen yet.
    pub call: Option<(u8, Expect)>,
    /// A forwarded exception it must resume into: (EXPEVT, TRA, offset).
    pub forward: Option<(u32, u32, u32)>,
    /// Its guest stopped on the core it was on.
    pub exited: bool,
    /// Entry points (and r4) it may first start at.
    pub starts: Vec<(u32, u32)>,
    pub resumes: u64,
    /// Where it was last resumed.
    pub last_core: Option<usize>,
    /// Interrupt handlers it is in, innermost last.
    pub frames: Vec<Frame>,
}

/// An interrupt handler in progress: the context it entered with (what
/// its `rte` restores) and whether it has made its `IRQ_RESTORE`.
#[derive(Clone, Copy, Debug, Default)]
pub struct Frame {
    pub entered: VcpuContext,
    pub restore_issued: bool,
}

/// Where the world's interrupt handlers run (offset from the VBR): inside
/// the 0x604 bytes `SET_VECTOR` checks are in the partition (at 0x640 a
/// table at the partition's very end put the handler outside it).
pub const HANDLER_PC: u32 = 0x200;

/// What a resume turned out to be.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Resume {
    pub vcpu: Vid,
    pub first: bool,
    /// An emulated interrupt entry with this INTEVT.
    pub injected: Option<u16>,
    /// A forwarded exception (EXPEVT).
    pub forwarded: Option<u32>,
    /// The result of the hypercall it had made, seen now: (imm, r0).
    pub result: Option<(u8, u32)>,
}

/// One entry, for the guests' bookkeeping.
#[derive(Clone, Debug)]
pub struct EntryInfo {
    pub core: usize,
    pub cause: Cause,
    /// The vCPU that was running when the core entered.
    pub vcpu: Option<Vid>,
    pub start: u64,
    pub end: u64,
    /// Trace events the instance reported during the entry.
    pub events: Vec<TraceEvent>,
    pub resumed: Option<Resume>,
}

pub trait Guests {
    /// What vCPU `v`, running on `core`, does next. It may change its
    /// registers in `ctx` first (R8, SR.BL and the hypervisor's fields are
    /// kept; the PC must stay in its partition).
    fn act(&mut self, w: &World, core: usize, v: Vid, ctx: &mut VcpuContext) -> Act;
    /// Called just before the core enters its instance.
    fn before_entry(&mut self, _w: &World, _core: usize, _cause: &Cause) {}
    /// Called after every entry.
    fn after_entry(&mut self, _w: &World, _info: &EntryInfo) {}
}

pub struct World {
    pub cfg: Config,
    pub mem: SharedMem,
    pub hw: Vec<FakeCore>,
    pub inst: Vec<Instance>,
    pub models: BTreeMap<Vid, Model>,
    /// The vCPU each core runs (None: the core sleeps).
    pub running: Vec<Option<Vid>>,
    /// Its registers as it runs now.
    pub live: Vec<VcpuContext>,
    /// The physical IMASK it runs with.
    pub imask: Vec<u8>,
    /// An ICI waiting for each core, and since when.
    pub ici: Vec<Option<u64>>,
    /// When each core's IPI ICI (message 2) was raised, if it is pending,
    /// and by which cores (bit c for core c).
    pub ipi_ici: Vec<Option<u64>>,
    pub ipi_ici_from: Vec<u8>,
    /// Interrupted work, continued when the vCPU runs again (by handler
    /// depth: 0 is the guest's own code).
    pub postponed: BTreeMap<(Vid, usize), Act>,
    seen: Vec<usize>,
    /// What each instance's counters must say, as the world counted it.
    pub errors: Vec<[u64; ERROR_KINDS]>,
    pub hypercalls: Vec<u64>,
    pub forwarded: Vec<u64>,
    pub stopped: Vec<u64>,
    pub entries: u64,
    pub steps: u64,
    /// Accept any r0 from `KERNEL_EXIT` by a vCPU away for a kernel entry
    /// (the instance does not set it; see hostile_hypercalls.rs).
    pub tolerate_kernel_exit_r0: bool,
}

impl World {
    /// Boot `cfg.cores` instances, core 0 first.
    pub fn boot(cfg: Config, mem: SharedMem, g: &mut dyn Guests) -> World {
        let n = cfg.cores as usize;
        let mut models = BTreeMap::new();
        for (gi, spec) in cfg.guests.iter().enumerate() {
            if let Some(spec) = spec {
                for id in 0..spec.vcpus {
                    let mut m = Model::default();
                    if id == 0 {
                        m.starts.push((spec.entry, 0));
                    }
                    models.insert((gi as u8, id), m);
                }
            }
        }
        let mut w = World {
            cfg,
            mem: mem.clone(),
            hw: Vec::new(),
            inst: Vec::new(),
            models,
            running: vec![None; n],
            live: vec![VcpuContext::default(); n],
            imask: vec![15; n],
            ici: vec![None; n],
            ipi_ici: vec![None; n],
            ipi_ici_from: vec![0; n],
            postponed: BTreeMap::new(),
            seen: vec![0; n],
            errors: vec![[0; ERROR_KINDS]; n],
            hypercalls: vec![0; n],
            forwarded: vec![0; n],
            stopped: vec![0; n],
            entries: 0,
            steps: 0,
            tolerate_kernel_exit_r0: false,
        };
        for c in 0..n {
            let mut hw = FakeCore::new(c, &mem);
            let inst = Instance::boot_with(&mut hw, cfg, &[]);
            w.hw.push(hw);
            w.inst.push(inst);
        }
        for c in 0..n {
            let info = w.observe(c, Cause::Boot, None, 0);
            g.after_entry(&w, &info);
        }
        w
    }

    pub fn spec(&self, guest: u8) -> GuestSpec {
        self.cfg.guests[guest as usize].expect("a configured guest")
    }

    /// Where `v` is resident now, with its instance's record of it.
    pub fn find(&self, v: Vid) -> Option<(usize, &Vcpu)> {
        (0..self.inst.len())
            .find_map(|c| self.inst[c].resident().iter().find(|x| (x.guest, x.id) == v).map(|x| (c, x)))
    }

    /// The earliest hypervisor interrupt core `c` would take by time `by`.
    fn due(&self, c: usize, by: u64) -> Option<(u64, u32)> {
        if self.running[c].is_some() && self.imask[c] >= self.cfg.hypervisor_level {
            return None;
        }
        let mut best = self.hw[c].timer.map(|t| (t, timer_intevt(c)));
        for (raised, intevt) in [(self.ici[c], ICI_INTEVT), (self.ipi_ici[c], IPI_ICI_INTEVT)] {
            if let Some(t) = raised {
                if best.is_none_or(|(b, _)| t < b) {
                    best = Some((t, intevt));
                }
            }
        }
        best.filter(|&(t, _)| t <= by)
    }

    /// The time of the next thing core `c` does, if anything.
    pub fn next_time(&self, c: usize) -> Option<u64> {
        if self.running[c].is_some() {
            Some(self.hw[c].now)
        } else {
            self.due(c, u64::MAX).map(|(t, _)| t.max(self.hw[c].now))
        }
    }

    /// Advance the core with the earliest next event by one step. False
    /// when no core will ever do anything again.
    pub fn step(&mut self, g: &mut dyn Guests) -> bool {
        let mut pick: Option<(u64, usize)> = None;
        for c in 0..self.hw.len() {
            if let Some(t) = self.next_time(c) {
                if pick.is_none_or(|(b, _)| t < b) {
                    pick = Some((t, c));
                }
            }
        }
        let Some((t, c)) = pick else { return false };
        self.steps += 1;
        let Some(v) = self.running[c] else {
            self.hw[c].now = t;
            let (_, intevt) = self.due(c, t).expect("a wake-up source");
            self.enter(c, Cause::Interrupt(intevt), g);
            return true;
        };
        let act = self.next_act(c, v, g);
        let depth = self.models[&v].frames.len();
        let now = self.hw[c].now;
        let chunk = act.cycles().min(QUANTUM);
        if let Some((ti, intevt)) = self.due(c, now + chunk) {
            let at = ti.max(now);
            self.postponed.insert((v, depth), act.with_cycles(act.cycles() - (at - now)));
            self.hw[c].now = at;
            self.enter(c, Cause::Interrupt(intevt), g);
            return true;
        }
        self.hw[c].now = now + chunk;
        if act.cycles() > chunk {
            self.postponed.insert((v, depth), act.with_cycles(act.cycles() - chunk));
            return true;
        }
        match act {
            Act::Run(_) => {}
            Act::Trap { imm, args, .. } => self.trap(c, v, imm, args, g),
            Act::Fault { expevt, .. } => self.fault(c, v, expevt, g),
        }
        true
    }

    /// What vCPU `v` does next: interrupted work first, then its
    /// innermost handler (`IRQ_RESTORE`, then `rte`), then its guest's own
    /// code.
    fn next_act(&mut self, c: usize, v: Vid, g: &mut dyn Guests) -> Act {
        loop {
            let depth = self.models[&v].frames.len();
            if let Some(a) = self.postponed.remove(&(v, depth)) {
                return a;
            }
            if depth == 0 {
                let mut ctx = self.live[c];
                let a = g.act(self, c, v, &mut ctx);
                self.set_live(c, v, ctx);
                return a;
            }
            let vbr = self.models[&v].vbr;
            let m = self.models.get_mut(&v).unwrap();
            let top = m.frames.last_mut().unwrap();
            if !top.restore_issued {
                // Saved everything; BL cleared; back to the level it had.
                top.restore_issued = true;
                let level = (top.entered.ssr & sr::IMASK) >> sr::IMASK_SHIFT;
                let mut ctx = self.live[c];
                ctx.pc = vbr.wrapping_add(HANDLER_PC);
                ctx.sr &= !sr::BL;
                self.live[c] = ctx;
                return Act::Trap { cycles: 30, imm: 0x62, args: [level, 0, 0, 0] };
            }
            // Restore every register, reload SPC/SSR, rte.
            let f = m.frames.pop().unwrap();
            let mut ctx = f.entered;
            ctx.pc = f.entered.spc;
            ctx.sr = f.entered.ssr;
            let imask = ((ctx.sr & sr::IMASK) >> sr::IMASK_SHIFT) as u8;
            assert_eq!(imask, self.imask[c], "{v:?}: rte to an SR.IMASK other than the level the hypervisor runs it at");
            ctx.vbr = self.live[c].vbr;
            ctx.virtual_imask = self.live[c].virtual_imask;
            ctx.preempt_count = self.live[c].preempt_count;
            // Not INTEVT: a handler does not write it back.
            ctx.intevt = self.live[c].intevt;
            self.live[c] = ctx;
        }
    }

    /// Step until `done` says so; panics after `limit` steps.
    pub fn run_until(&mut self, g: &mut dyn Guests, limit: u64, what: &str, mut done: impl FnMut(&World) -> bool) {
        let start = self.steps;
        while !done(self) {
            assert!(self.steps - start < limit, "{what}: not done after {limit} steps (time {:?})", self.hw.iter().map(|h| h.now).collect::<Vec<_>>());
            if !self.step(g) {
                assert!(done(self), "{what}: every core sleeps for ever and the run is not done");
                return;
            }
        }
    }

    /// The guest changed its registers: keep what it may not change.
    fn set_live(&mut self, c: usize, v: Vid, mut ctx: VcpuContext) {
        let old = self.live[c];
        ctx.r8_15[0] = tag(v);
        // Guests change their level only by hypercalls: SR.IMASK is what
        // the hypervisor runs them at.
        // They run privileged (a user program's `trapa #0x60` is its own
        // kernel's business, tested on its own).
        ctx.sr = ctx.sr & !(sr::BL | sr::IMASK) | sr::MD | (self.imask[c] as u32) << sr::IMASK_SHIFT;
        ctx.vbr = old.vbr;
        ctx.virtual_imask = old.virtual_imask;
        ctx.preempt_count = old.preempt_count;
        // Guests read INTEVT, they do not write it: any interrupt would
        // overwrite what they wrote (the hypervisor keeps only the codes
        // it gave them).
        ctx.intevt = old.intevt;
        let spec = self.spec(v.0);
        assert!(
            spec.partition.check(ctx.pc, 2, 2).is_some(),
            "test bug: the guest's PC {:#x} left its partition",
            ctx.pc
        );
        self.live[c] = ctx;
    }

    fn trap(&mut self, c: usize, v: Vid, imm: u8, args: [u32; 4], g: &mut dyn Guests) {
        let mut regs = self.live[c];
        for (i, a) in args.iter().enumerate() {
            set_reg(&mut regs, 4 + i, *a);
        }
        // trapa: SPC is the next instruction.
        regs.pc = regs.pc.wrapping_add(2);
        self.live[c] = regs;
        let now = self.hw[c].now;
        if (0x60..=0x7f).contains(&imm) {
            self.hypercalls[c] += 1;
            let expect = self.oracle(c, v, imm, args, now);
            self.models.get_mut(&v).unwrap().call = Some((imm, expect));
        } else {
            self.expect_exception(c, v, 0x160, (imm as u32) << 2);
        }
        self.enter(c, Cause::Trap { imm, args }, g);
    }

    fn fault(&mut self, c: usize, v: Vid, expevt: u32, g: &mut dyn Guests) {
        self.expect_exception(c, v, expevt, 0);
        self.enter(c, Cause::Fault(expevt), g);
    }

    fn expect_exception(&mut self, c: usize, v: Vid, expevt: u32, tra: u32) {
        let m = self.models.get_mut(&v).unwrap();
        if m.vbr == 0 {
            // No handler: the instance stops the guest (on this core).
            self.stopped[c] += 1;
        } else {
            self.forwarded[c] += 1;
            let offset = if matches!(expevt, 0x040 | 0x060) { 0x400 } else { 0x100 };
            m.forward = Some((expevt, tra, offset));
        }
    }

    /// What hypercall `imm` must return, from the ABI alone, updating the
    /// model as a successful call changes the vCPU.
    fn oracle(&mut self, c: usize, v: Vid, imm: u8, a: [u32; 4], now: u64) -> Expect {
        let spec = self.spec(v.0);
        let away = self.inst[c].resident().iter().find(|x| (x.guest, x.id) == v).and_then(|x| x.away);
        let rt = spec.class == GuestClass::RealTime;
        let m = self.models.get_mut(&v).unwrap();
        let r: Result<Expect, HcError> = match imm {
            0x60 => match spec.partition.check(a[0], 0x604, 4) {
                Some(_) => {
                    m.vbr = a[0];
                    Ok(Expect::Exact(0))
                }
                None => Err(HcError::Addr),
            },
            0x61 => {
                let old = m.imask;
                m.imask = 15;
                Ok(Expect::Exact(old))
            }
            0x62 => {
                if a[0] <= 15 && (rt || a[0] <= 7 || a[0] == 15) {
                    let old = m.imask;
                    m.imask = a[0];
                    Ok(Expect::Exact(old))
                } else {
                    Err(HcError::Level)
                }
            }
            0x63..=0x65 => Ok(Expect::Exact(0)),
            0x66 => {
                m.preempt = a[0];
                Ok(Expect::Exact(0))
            }
            0x67 => {
                if a[0] >= spec.vcpus as u32 {
                    Err(HcError::Vcpu)
                } else if a[1] >= 8 {
                    Err(HcError::Arg)
                } else {
                    Ok(Expect::Exact(0))
                }
            }
            0x68 => Ok(Expect::Exact(v.1 as u32)),
            0x69 => {
                if a[0] >= spec.vcpus as u32 || a[0] == 0 {
                    Err(HcError::Vcpu)
                } else if spec.partition.check(a[1], 2, 2).is_none() {
                    Err(HcError::Addr)
                } else {
                    if let Some(t) = self.models.get_mut(&(v.0, a[0] as u8)) {
                        t.starts.push((a[1], a[2]));
                    }
                    Ok(Expect::Exact(0))
                }
            }
            0x6a => {
                if a[1] > 256 {
                    Err(HcError::Arg)
                } else if spec.partition.check(a[0], a[1], 1).is_none() {
                    Err(HcError::Addr)
                } else {
                    Ok(Expect::Exact(a[1]))
                }
            }
            0x6b => {
                if a[0] != 0 && a[0] > 7_000_000 {
                    Err(HcError::Arg)
                } else {
                    Ok(Expect::Exact(0))
                }
            }
            0x6c => Ok(Expect::Time { lo: now, hi: u64::MAX }),
            0x70 => {
                if a[2] > 7_000_000 {
                    Err(HcError::Arg)
                } else {
                    Ok(Expect::Exact(0))
                }
            }
            0x6d | 0x6e => Ok(Expect::Exact(0)),
            0x6f => {
                if self.tolerate_kernel_exit_r0 && away == Some(AwayReason::KernelEntry) {
                    Ok(Expect::Any)
                } else {
                    Ok(Expect::Exact(0))
                }
            }
            _ => Err(HcError::NoSys),
        };
        match r {
            Ok(e) => e,
            Err(e) => {
                self.errors[c][e.index()] += 1;
                Expect::Exact(e.to_r0())
            }
        }
    }

    fn enter(&mut self, c: usize, cause: Cause, g: &mut dyn Guests) {
        g.before_entry(self, c, &cause);
        let start = self.hw[c].now;
        let vcpu = self.running[c];
        if let Some(v) = vcpu {
            self.hw[c].regs = self.live[c];
            self.models.get_mut(&v).unwrap().shadow = self.live[c];
        }
        if let Cause::Interrupt(intevt) = cause {
            // Accepting an interrupt writes its code to INTEVT, over the
            // code the interrupted guest may not have read yet.
            self.hw[c].regs.intevt = intevt;
        }
        self.hw[c].entry = match cause {
            Cause::Boot => unreachable!(),
            Cause::Interrupt(intevt) => Entry::Interrupt { intevt },
            Cause::Trap { imm, .. } => Entry::Exception { expevt: 0x160, tra: (imm as u32) << 2, tea: 0 },
            Cause::Fault(expevt) => Entry::Exception { expevt, tra: 0, tea: self.live[c].pc },
        };
        if cause == Cause::Interrupt(ICI_INTEVT) {
            self.ici[c] = None;
        }
        if cause == Cause::Interrupt(IPI_ICI_INTEVT) {
            self.ipi_ici[c] = None;
            self.hw[c].ipi_ici_senders = std::mem::take(&mut self.ipi_ici_from[c]);
        }
        self.hw[c].left = None;
        self.inst[c].enter(&mut self.hw[c]);
        self.hw[c].check_quick_calls(&self.inst[c]);
        self.entries += 1;
        let info = self.observe(c, cause, vcpu, start);
        g.after_entry(self, &info);
    }

    /// After core `c`'s instance returned: collect its ICIs and trace
    /// events, and check what it resumed.
    fn observe(&mut self, c: usize, cause: Cause, vcpu: Option<Vid>, start: u64) -> EntryInfo {
        let end = self.hw[c].now;
        let icis: Vec<usize> = self.hw[c].icis_sent.drain(..).collect();
        for t in icis {
            // (An ICI to itself asks for the rest of its mail later.)
            assert!(t < self.hw.len(), "core {c} raised an ICI for core {t}");
            self.ici[t] = Some(self.ici[t].map_or(end, |x| x.min(end)));
        }
        let ipi_icis: Vec<usize> = self.hw[c].ipi_icis_sent.drain(..).collect();
        for t in ipi_icis {
            assert!(t < self.hw.len() && t != c, "core {c} raised an IPI ICI for core {t}");
            self.ipi_ici[t] = Some(self.ipi_ici[t].map_or(end, |x| x.min(end)));
            self.ipi_ici_from[t] |= 1 << c;
        }
        let events = self.hw[c].events[self.seen[c]..].to_vec();
        self.seen[c] = self.hw[c].events.len();
        for x in self.inst[c].resident() {
            if x.state == RunState::Exited {
                self.models.get_mut(&(x.guest, x.id)).unwrap().exited = true;
            }
        }
        let left = self.hw[c].left.clone().expect("every entry leaves by resume or idle");
        let resumed = match left {
            Leave::Idle => {
                self.running[c] = None;
                None
            }
            Leave::Resumed { ctx, imask } => Some(self.check_resume(c, ctx, imask, start, end)),
        };
        EntryInfo { core: c, cause, vcpu, start, end, events, resumed }
    }

    fn check_resume(&mut self, c: usize, mut ctx: VcpuContext, imask: u8, start: u64, end: u64) -> Resume {
        let x = if self.hw[c].quick {
            // A quick exit resumes the vCPU that was running, from its
            // registers as the entry left them: the instance's copy is
            // older, and only its non-hardware fields are its own.
            let v = self.running[c].expect("a quick exit resumes the vCPU that entered");
            let x = self.inst[c].resident().iter().find(|x| (x.guest, x.id) == v).expect("it is still resident");
            ctx.vbr = x.ctx.vbr;
            ctx.virtual_imask = x.ctx.virtual_imask;
            ctx.preempt_count = x.ctx.preempt_count;
            x
        } else {
            let hits: Vec<&Vcpu> = self.inst[c].resident().iter().filter(|x| x.ctx == ctx).collect();
            assert_eq!(hits.len(), 1, "core {c} resumed a context that is not exactly one resident vCPU's: {ctx:x?}");
            hits[0]
        };
        let v = (x.guest, x.id);
        assert_eq!(x.state, RunState::Runnable, "core {c} resumed {v:?}, which is {:?}", x.state);
        let spec = self.spec(v.0);
        assert!(spec.partition.check(ctx.pc, 2, 2).is_some(), "core {c} resumed {v:?} at {:#x}, outside its partition", ctx.pc);
        let sep = self.cfg.ipl_separation;
        let class = spec.class;
        let phys = |level: u32| -> u8 {
            let l = level.min(15) as u8;
            if sep {
                class.physical_imask(l)
            } else {
                l
            }
        };
        let m = self.models.get_mut(&v).unwrap();
        assert!(!m.exited, "core {c} resumed {v:?} after its guest stopped");
        let mut out = Resume { vcpu: v, first: !m.started, injected: None, forwarded: None, result: None };
        let mut guest = ctx;
        if !m.started {
            let (_, hi) = class.levels();
            let mut fresh = VcpuContext::default();
            fresh.pc = ctx.pc;
            fresh.sr = sr::MD;
            fresh.virtual_imask = hi as u32;
            fresh.fpscr = 0x0004_0001;
            fresh.bank0[4] = ctx.bank0[4];
            fresh.vbr = ctx.vbr;
            assert_eq!(ctx, fresh, "{v:?}'s first resume is not the ABI's start state");
            assert!(
                m.starts.contains(&(ctx.pc, ctx.bank0[4])),
                "{v:?} starts at {:#x} r4={:#x}, which nobody asked for (asked: {:x?})",
                ctx.pc,
                ctx.bank0[4],
                m.starts
            );
            assert!(
                ctx.vbr == 0 || spec.partition.check(ctx.vbr, 0x604, 4).is_some(),
                "{v:?} starts with a VBR outside its partition"
            );
            m.started = true;
            m.vbr = ctx.vbr;
            m.imask = hi as u32;
            m.preempt = 0;
            m.call = None;
            m.forward = None;
            guest.r8_15[0] = tag(v);
        } else {
            let s = m.shadow;
            let mut want = s;
            want.vbr = m.vbr;
            want.preempt_count = m.preempt;
            // The result of its hypercall, in the bank it called from.
            if let Some((imm, expect)) = m.call.take() {
                let r0 = reg_as(&ctx, 0, s.sr);
                match expect {
                    Expect::Exact(e) => assert_eq!(
                        r0 as i32, e as i32,
                        "{v:?}: hypercall {imm:#x} (args {:x?}) returned {r0:#x}, the ABI says {e:#x}",
                        [reg(&s, 4), reg(&s, 5), reg(&s, 6), reg(&s, 7)]
                    ),
                    Expect::Time { lo, .. } => {
                        let r1 = reg_as(&ctx, 1, s.sr);
                        let t = (r1 as u64) << 32 | r0 as u64;
                        assert!(t >= lo && t <= end, "{v:?}: TIME_NOW {t} outside the call [{lo}, {end}]");
                        set_reg(&mut want, 1, r1);
                    }
                    Expect::Any => {}
                }
                set_reg(&mut want, 0, r0);
                out.result = Some((imm, r0));
            }
            if ctx.sr & sr::BL != 0 {
                // An emulated entry, as the SH-4A makes it.
                want.spc = s.pc;
                want.sgr = s.r8_15[7];
                if let Some((expevt, tra, offset)) = m.forward.take() {
                    want.ssr = s.sr;
                    want.pc = m.vbr.wrapping_add(offset);
                    want.expevt = expevt;
                    want.tra = tra;
                    out.forwarded = Some(expevt);
                } else {
                    let i = ctx.intevt;
                    assert!(i == 0x400 || (0xf00..=0xfe0).contains(&i) && i % 0x20 == 0, "{v:?}: INTEVT {i:#x}");
                    let level = if i == 0x400 { spec.timer_level } else { spec.ipi_level } as u32;
                    assert!(level > m.imask, "{v:?}: INTEVT {i:#x} (level {level}) injected at virtual level {}", m.imask);
                    // SSR.IMASK: the level it ran at; its level rises to
                    // the interrupt's.
                    want.ssr = s.sr & !sr::IMASK | (phys(m.imask) as u32) << sr::IMASK_SHIFT;
                    want.pc = m.vbr.wrapping_add(0x600);
                    want.intevt = i;
                    m.imask = m.imask.max(level);
                    out.injected = Some(i as u16);
                }
                want.sr = want.ssr | sr::MD | sr::RB | sr::BL;
            } else {
                assert!(m.forward.is_none(), "{v:?} resumed without its forwarded exception");
            }
            want.virtual_imask = m.imask;
            assert_eq!(ctx, want, "{v:?} resumed on core {c} with registers it did not have (entry {start}..{end})");
            if out.forwarded.is_some() {
                // Its exception handler returns at once.
                guest.pc = ctx.spc;
                guest.sr = ctx.ssr;
            }
            if out.injected.is_some() {
                m.frames.push(Frame { entered: ctx, restore_issued: false });
            }
        }
        assert_eq!(imask, phys(m.imask), "{v:?}: physical IMASK for virtual level {}", m.imask);
        m.resumes += 1;
        m.last_core = Some(c);
        // The hardware runs it with SR.IMASK = the physical mask.
        guest.sr = guest.sr & !sr::IMASK | (imask as u32) << sr::IMASK_SHIFT;
        self.running[c] = Some(v);
        self.live[c] = guest;
        self.imask[c] = imask;
        out
    }
}

/// General register `n` of `ctx` through the bank `sr` selects.
pub fn reg_as(ctx: &VcpuContext, n: usize, sr: u32) -> u32 {
    let mut c = *ctx;
    c.sr = sr;
    reg(&c, n)
}
