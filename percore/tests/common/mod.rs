//! Shared by the instance tests: a fake core that implements the hardware
//! trait with plain fields (the "registers", a clock, the armed timer, the
//! ICIs raised) and one `Vec` as the shared mailbox memory behind every
//! fake core, so two instances really exchange bytes; the guest specs and
//! configuration the tests use; a seeded random generator; and (in
//! `world`) a multi-core world that drives instances with scripted guests
//! and checks every context an instance resumes.
#![allow(dead_code)]

pub mod world;

use spumone_kernel::guest::{GuestSpec, Partition, MAX_GUESTS};
use spumone_kernel::hypercall::sr;
use spumone_kernel::ipl::GuestClass;
use spumone_kernel::vcpu::VcpuContext;
use spumone_percore::config::{Config, Costs, Policy};
use spumone_percore::hw::{CoreHardware, Entry, TraceEvent};
use spumone_percore::instance::{set_reg, Instance, QuickCalls};
use std::cell::RefCell;
use std::rc::Rc;

pub const RT_BASE: u32 = 0x0880_0000;
pub const GP_BASE: u32 = 0x0900_0000;
pub const RT_ENTRY: u32 = 0x8880_0000;
pub const GP_ENTRY: u32 = 0x8900_0000;
pub const RT_VBR: u32 = 0x8880_1000;
pub const GP_VBR: u32 = 0x8900_1000;

/// What the fake core did last.
#[derive(Clone, Debug, PartialEq)]
pub enum Leave {
    Resumed { ctx: VcpuContext, imask: u8 },
    Idle,
}

pub type SharedMem = Rc<RefCell<Vec<u32>>>;

pub struct FakeCore {
    pub core: usize,
    pub now: u64,
    pub entry: Entry,
    /// The "registers": what the running code had when it entered.
    pub regs: VcpuContext,
    pub left: Option<Leave>,
    /// The last exit was a quick one (`resume_interrupted`,
    /// `resume_into_handler`): the instance's copy of the vCPU's registers
    /// was not brought up to date.
    pub quick: bool,
    /// The status the instance powered the machine off with.
    pub powered_off: Option<u32>,
    pub shared: SharedMem,
    pub icis_sent: Vec<usize>,
    /// Cores this one raised the IPI ICI (message 2) on.
    pub ipi_icis_sent: Vec<usize>,
    /// The senders' bits of the IPI ICI the next entry takes.
    pub ipi_ici_senders: u8,
    /// The level the instance last set its mailbox ICI to (0: closed).
    pub ici_level: u8,
    /// The IPI ICI's level (message 2).
    pub ipi_ici_level: u8,
    /// The doorbell's level (0: not raised) and the TLB flushes asked for.
    pub doorbell: u8,
    pub tlb_flushes: u32,
    /// Where the vCPU's exceptions go straight to (0: the hypervisor).
    pub direct_vbr: u32,
    /// What the instance last said of `TIME_NOW` (`set_quick_calls`).
    pub quick_calls: Option<QuickCalls>,
    pub timer: Option<u64>,
    /// Physical sources unmasked on this core, and the priorities set.
    pub devices_enabled: std::collections::BTreeSet<u32>,
    pub device_levels: Vec<(u32, u8)>,
    pub console: Vec<u8>,
    pub events: Vec<TraceEvent>,
    /// Guest memory the test wrote (physical address -> byte); every other
    /// byte reads as the low byte of its address.
    pub guest_memory: std::collections::BTreeMap<u32, u8>,
    /// Bytes the instance read from guest memory.
    pub guest_reads: usize,
}

impl FakeCore {
    /// Write a little-endian word of guest memory at physical `phys`.
    pub fn poke_guest(&mut self, phys: u32, value: u32) {
        for (i, b) in value.to_le_bytes().into_iter().enumerate() {
            self.guest_memory.insert(phys + i as u32, b);
        }
    }

    pub fn new(core: usize, shared: &SharedMem) -> FakeCore {
        FakeCore {
            core,
            now: 0,
            entry: Entry::Interrupt { intevt: 0 },
            regs: VcpuContext::default(),
            left: None,
            quick: false,
            powered_off: None,
            shared: Rc::clone(shared),
            icis_sent: Vec::new(),
            ipi_icis_sent: Vec::new(),
            ipi_ici_senders: 0,
            ici_level: 15,
            ipi_ici_level: 15,
            doorbell: 0,
            tlb_flushes: 0,
            direct_vbr: 0,
            quick_calls: None,
            timer: None,
            devices_enabled: Default::default(),
            device_levels: Vec::new(),
            console: Vec::new(),
            events: Vec::new(),
            guest_memory: Default::default(),
            guest_reads: 0,
        }
    }

    /// The context the instance resumed, as the guest will run it.
    pub fn resumed(&self) -> (VcpuContext, u8) {
        match self.left.clone() {
            Some(Leave::Resumed { ctx, imask }) => (ctx, imask),
            other => panic!("expected a resume, got {other:?}"),
        }
    }

    /// Run the resumed guest "until" it executes `trapa #imm` at the
    /// resumed PC with `args` in r4.. (SPC = the next instruction).
    pub fn trap(&mut self, inst: &mut Instance, imm: u8, args: &[u32]) -> VcpuContext {
        let (mut ctx, _) = self.resumed();
        for (i, a) in args.iter().enumerate() {
            set_reg(&mut ctx, 4 + i, *a);
        }
        ctx.pc += 2;
        self.regs = ctx;
        self.entry = Entry::Exception { expevt: 0x160, tra: (imm as u32) << 2, tea: 0 };
        inst.enter(self);
        self.check_quick_calls(inst);
        self.settle(inst);
        // What runs next (an all-zero context when the core went idle).
        match &self.left {
            Some(Leave::Resumed { ctx, .. }) => *ctx,
            _ => VcpuContext::default(),
        }
    }

    /// The guest's interrupt handler for the entry just resumed, as
    /// tests/hvguests does it: BL cleared, `IRQ_RESTORE(SSR.IMASK)` (the
    /// level it had before the interrupt raised it), then `rte`. Returns
    /// the context it returns to (now in `left`).
    pub fn return_from_interrupt(&mut self, inst: &mut Instance) -> VcpuContext {
        let (entered, imask) = self.resumed();
        assert_ne!(entered.sr & sr::BL, 0, "not in an emulated entry");
        let mut handler = entered;
        handler.sr &= !sr::BL;
        handler.pc = entered.vbr + 0x640;
        self.left = Some(Leave::Resumed { ctx: handler, imask });
        self.trap(inst, 0x62, &[(entered.ssr & sr::IMASK) >> sr::IMASK_SHIFT]);
        let (now, imask) = self.resumed();
        if now.sr & sr::BL != 0 {
            // The restore let a pending interrupt in: it nests inside this
            // handler, and the caller sees it next (the outer return is
            // not modelled further).
            return now;
        }
        let mut back = entered;
        back.pc = entered.spc;
        back.sr = entered.ssr;
        self.left = Some(Leave::Resumed { ctx: back, imask });
        back
    }

    /// Take the core's timer interrupts armed before `t` (the instance's
    /// own work: a look at a ring whose ICI may have been lost, a mail
    /// retry), the guest going on after each, then set the clock to `t`.
    pub fn timer_entries_before(&mut self, inst: &mut Instance, t: u64) {
        while let Some(due) = self.timer.filter(|&d| d < t) {
            self.now = self.now.max(due);
            self.interrupt(inst, spumone_percore::hw::timer_intevt(self.core_id()));
        }
        self.now = self.now.max(t);
    }

    pub fn interrupt(&mut self, inst: &mut Instance, intevt: u32) {
        if let Some(Leave::Resumed { ctx, .. }) = self.left.clone() {
            self.regs = ctx;
        }
        // As on the SH-4A, accepting the interrupt writes its code to
        // INTEVT: the interrupted code's INTEVT is gone from the hardware.
        self.regs.intevt = intevt;
        self.entry = Entry::Interrupt { intevt };
        inst.enter(self);
        self.check_quick_calls(inst);
        self.settle(inst);
    }

    /// What the instance last told the hardware of `TIME_NOW` is what it
    /// works out now: every entry that changes what that depends on tells
    /// the hardware at its exit (the board's entry stub answers by it).
    pub fn check_quick_calls(&self, inst: &Instance) {
        assert_eq!(self.quick_calls, inst.quick_calls(), "core {}: TIME_NOW's quick window is stale", self.core);
        // The routes are kept from the last vCPU that came or went: they
        // must be what the vCPUs resident now make them.
        if let (Some(window), Some(v)) = (self.quick_calls, inst.current_vcpu()) {
            assert_eq!(window.send_ipi, inst.quick_send_ipi(v.guest), "core {}: SEND_IPI's routes are stale", self.core);
            // And the IPI ICI's, kept likewise.
            let running = inst.resident().iter().position(|r| (r.guest, r.id) == (v.guest, v.id));
            let fresh = inst.ipi_ici_candidate().filter(|&(i, _)| Some(i as usize) == running).map(|(_, q)| q);
            assert_eq!(inst.quick_ipi_ici(), fresh.filter(|_| !inst.awaits_news()), "core {}: the IPI ICI's window is stale", self.core);
        } else {
            assert_eq!(inst.quick_ipi_ici(), None, "core {}: an IPI ICI's window without a quick window", self.core);
        }
    }

    /// After a quick exit the recorded context is the interrupted
    /// registers: its non-hardware fields (the guest's VBR, virtual level,
    /// preempt count) are the instance's, taken from the vCPU that went on.
    fn settle(&mut self, inst: &Instance) {
        if !self.quick {
            return;
        }
        if let Some(Leave::Resumed { ctx, .. }) = self.left.as_mut() {
            if let Some(v) = inst.current_vcpu() {
                ctx.vbr = v.ctx.vbr;
                ctx.virtual_imask = v.ctx.virtual_imask;
                ctx.preempt_count = v.ctx.preempt_count;
            }
        }
    }
}

impl CoreHardware for FakeCore {
    fn core_id(&self) -> usize {
        self.core
    }
    fn now(&self) -> u64 {
        self.now
    }
    fn charge(&mut self, cycles: u64) {
        self.now += cycles;
    }
    fn entry(&self) -> Entry {
        self.entry
    }
    fn entry_sr(&self) -> u32 {
        self.regs.sr
    }
    fn set_doorbell(&mut self, level: u8) {
        self.doorbell = level;
    }
    fn flush_tlb(&mut self) {
        self.tlb_flushes += 1;
    }
    fn set_direct_exceptions(&mut self, vbr: u32) {
        self.direct_vbr = vbr;
    }
    fn set_quick_calls(&mut self, quick: Option<QuickCalls>) {
        self.quick_calls = quick;
    }
    fn save_context(&self, ctx: &mut VcpuContext) {
        let (vbr, vmask, pc) = (ctx.vbr, ctx.virtual_imask, ctx.preempt_count);
        *ctx = self.regs;
        ctx.vbr = vbr;
        ctx.virtual_imask = vmask;
        ctx.preempt_count = pc;
    }
    fn resume(&mut self, ctx: &VcpuContext, physical_imask: u8) {
        self.left = Some(Leave::Resumed { ctx: *ctx, imask: physical_imask });
        self.quick = false;
    }
    // The quick exits resume the interrupted registers themselves (the
    // instance's copy of them is not brought up to date): recorded as a
    // resume of exactly what the SH-4A would run, and marked as quick.
    fn resume_interrupted(&mut self, r0: u32, r1: Option<u32>, physical_imask: u8) {
        let mut ctx = self.regs;
        ctx.set_reg(0, r0);
        if let Some(r1) = r1 {
            ctx.set_reg(1, r1);
        }
        self.left = Some(Leave::Resumed { ctx, imask: physical_imask });
        self.quick = true;
    }
    fn resume_into_handler(&mut self, vector: u32, expevt: u32, tra: u32, physical_imask: u8) {
        let mut ctx = self.regs;
        ctx.enter_vector(vector);
        ctx.expevt = expevt;
        ctx.tra = tra;
        self.left = Some(Leave::Resumed { ctx, imask: physical_imask });
        self.quick = true;
    }
    fn resume_into_interrupt(&mut self, vector: u32, intevt: u32, ssr_imask: u8, physical_imask: u8) {
        let mut ctx = self.regs;
        ctx.sr = (ctx.sr & !sr::IMASK) | ((ssr_imask as u32) << sr::IMASK_SHIFT);
        ctx.enter_vector(vector);
        ctx.intevt = intevt;
        self.left = Some(Leave::Resumed { ctx, imask: physical_imask });
        self.quick = true;
    }
    fn resume_with_intevt(&mut self, intevt: u32, physical_imask: u8) {
        let mut ctx = self.regs;
        ctx.intevt = intevt;
        self.left = Some(Leave::Resumed { ctx, imask: physical_imask });
        self.quick = true;
    }
    fn idle(&mut self) {
        self.left = Some(Leave::Idle);
        self.quick = false;
    }
    fn read_guest(&mut self, phys: u32, buf: &mut [u8]) {
        self.guest_reads += buf.len();
        for (i, b) in buf.iter_mut().enumerate() {
            let at = phys + i as u32;
            *b = self.guest_memory.get(&at).copied().unwrap_or(at as u8);
        }
    }
    fn shared_read(&mut self, offset: u32) -> u32 {
        self.shared.borrow()[offset as usize / 4]
    }
    fn shared_write(&mut self, offset: u32, value: u32) {
        self.shared.borrow_mut()[offset as usize / 4] = value;
    }
    fn shared_compare_exchange(&mut self, offset: u32, expected: u32, new: u32) -> u32 {
        let mut shared = self.shared.borrow_mut();
        let found = shared[offset as usize / 4];
        if found == expected {
            shared[offset as usize / 4] = new;
        }
        found
    }
    fn init_interrupts(&mut self, _level: u8) {}
    fn init_device_interrupt(&mut self, intevt: u32, level: u8) {
        self.device_levels.push((intevt, level));
        self.devices_enabled.remove(&intevt);
    }
    fn enable_device_interrupt(&mut self, intevt: u32, enabled: bool) {
        assert_ne!(self.devices_enabled.contains(&intevt), enabled, "0x{intevt:x}: enabled twice or disabled twice");
        if enabled {
            self.devices_enabled.insert(intevt);
        } else {
            self.devices_enabled.remove(&intevt);
        }
    }
    fn send_ici(&mut self, target: usize) {
        self.icis_sent.push(target);
    }
    fn clear_ici(&mut self) {}
    fn send_ipi_ici(&mut self, target: usize) {
        self.ipi_icis_sent.push(target);
    }
    fn take_ipi_ici(&mut self) -> u8 {
        std::mem::take(&mut self.ipi_ici_senders)
    }
    fn set_ici_levels(&mut self, mail: u8, ipi: u8) {
        (self.ici_level, self.ipi_ici_level) = (mail, ipi);
    }
    fn arm_timer(&mut self, deadline: Option<u64>) {
        self.timer = deadline;
    }
    fn clear_timer(&mut self) {}
    fn power_off(&mut self, status: u32) {
        self.powered_off = Some(status);
    }
    fn console(&mut self, _guest: u8, bytes: &[u8]) {
        self.console.extend_from_slice(bytes);
    }
    fn trace(&mut self, event: TraceEvent) {
        self.events.push(event);
    }
}

pub fn rtos() -> GuestSpec {
    GuestSpec {
        class: GuestClass::RealTime,
        priority: 10,
        partition: Partition { base: RT_BASE, size: 0x10_0000 },
        vcpus: 1,
        home: [0, 0, 0, 0],
        entry: RT_ENTRY,
        timer_level: 14,
        ipi_level: 13,
        sr_imask: false,
        mmu: false,
        direct_exceptions: false,
        thread_info_preempt_count: false,
    }
}

pub fn gpos(vcpus: u8) -> GuestSpec {
    GuestSpec {
        class: GuestClass::GeneralPurpose,
        priority: 1,
        partition: Partition { base: GP_BASE, size: 0x100_0000 },
        vcpus,
        home: [0, 1, 2, 3],
        entry: GP_ENTRY,
        timer_level: 5,
        ipi_level: 4,
        sr_imask: false,
        mmu: false,
        direct_exceptions: false,
        thread_info_preempt_count: false,
    }
}

pub fn config(guests: &[GuestSpec], policy: Policy) -> Config {
    let mut g: [Option<GuestSpec>; MAX_GUESTS] = [None; MAX_GUESTS];
    for (i, s) in guests.iter().enumerate() {
        g[i] = Some(*s);
    }
    Config {
        cores: 2,
        guests: g,
        policy,
        spin_yield: true,
        ipl_separation: true,
        time_slice: 60_000,
        delay_bound: None,
        dispatch_first: false,
        departure_defer: 12_000,
        hypervisor_level: 15,
        costs: Costs::RP1,
        devices: [None; spumone_percore::config::MAX_DEVICES],
    }
}

/// Cores 0 and 1 booted with `cfg` on one shared memory, core 0 first.
pub fn two_cores(cfg: Config) -> (SharedMem, FakeCore, Instance, FakeCore, Instance) {
    let mem = shared();
    let mut hw0 = FakeCore::new(0, &mem);
    let core0 = Instance::boot_with(&mut hw0, cfg, &[]);
    let mut hw1 = FakeCore::new(1, &mem);
    let core1 = Instance::boot_with(&mut hw1, cfg, &[]);
    (mem, hw0, core0, hw1, core1)
}

/// GPOS vCPU 0, running on core 0, starts vCPU 1 (r4 = 7) on core 1,
/// which sets its vector table and unmasks: it is running afterwards.
pub fn start_gpos_vcpu_1(hw0: &mut FakeCore, core0: &mut Instance, hw1: &mut FakeCore, core1: &mut Instance) {
    hw0.trap(core0, 0x69, &[1, GP_ENTRY + 0x800, 7]);
    hw0.icis_sent.clear();
    hw1.interrupt(core1, spumone_percore::hw::ICI_INTEVT);
    let (v1, _) = hw1.resumed();
    assert_eq!((v1.pc, v1.bank0[4]), (GP_ENTRY + 0x800, 7), "vCPU 1 starts on core 1");
    hw1.trap(core1, 0x60, &[GP_VBR]);
    hw1.trap(core1, 0x62, &[0]);
}

/// Two cores, GPOS vCPU 0 on core 0 and vCPU 1 started on core 1 (no
/// RTOS, policy None), both with vector tables and interrupts on; core 1
/// idles. Returns the machine.
pub fn two_gpos_vcpus() -> (SharedMem, FakeCore, Instance, FakeCore, Instance) {
    let (mem, mut hw0, mut core0, mut hw1, mut core1) = two_cores(config(&[gpos(2)], Policy::None));
    hw0.trap(&mut core0, 0x60, &[GP_VBR]);
    hw0.trap(&mut core0, 0x62, &[0]);
    start_gpos_vcpu_1(&mut hw0, &mut core0, &mut hw1, &mut core1);
    hw1.trap(&mut core1, 0x63, &[]);
    assert_eq!(hw1.left, Some(Leave::Idle));
    (mem, hw0, core0, hw1, core1)
}

/// When the virtual timer of vCPU `vcpu` of `guest`, resident on `inst`,
/// next falls due.
pub fn vtimer(inst: &Instance, guest: u8, vcpu: u8) -> u64 {
    inst.resident().iter().find(|v| (v.guest, v.id) == (guest, vcpu)).expect("resident").timer.next
}

pub fn shared() -> SharedMem {
    Rc::new(RefCell::new(vec![0; 0x2_0000 / 4]))
}

/// A context with a different value in every word, as a guest in the
/// middle of its work would have.
pub fn busy_context(pc: u32) -> VcpuContext {
    let mut words = [0u32; spumone_kernel::vcpu::CONTEXT_WORDS];
    for (i, w) in words.iter_mut().enumerate() {
        *w = 0x5a00_0000 | (i as u32) << 8 | i as u32;
    }
    let mut c = VcpuContext::from_words(&words);
    c.pc = pc;
    c.sr = sr::MD | 0x0000_0301; // privileged, M/Q/T set, BL and RB clear
    c.vbr = 0;
    c
}

/// A small seeded generator (SplitMix64): the same seed gives the same
/// run, so every randomized test here is reproducible.
#[derive(Clone, Debug)]
pub struct SeededRng(u64);

impl SeededRng {
    pub fn new(seed: u64) -> SeededRng {
        SeededRng(seed)
    }
    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }
    pub fn u32(&mut self) -> u32 {
        (self.next_u64() >> 32) as u32
    }
    /// Uniform in `0..n` (n > 0).
    pub fn below(&mut self, n: u64) -> u64 {
        self.next_u64() % n
    }
    pub fn range(&mut self, lo: u64, hi_inclusive: u64) -> u64 {
        lo + self.below(hi_inclusive - lo + 1)
    }
    /// True with probability `percent` / 100.
    pub fn chance(&mut self, percent: u64) -> bool {
        self.below(100) < percent
    }
}

/// Run `f` on its own thread and fail if it has not finished within
/// `seconds`: an instance entry that never returns shows up as this
/// failure instead of a hung test run.
pub fn with_watchdog<F: FnOnce() + Send + 'static>(seconds: u64, f: F) {
    let (tx, rx) = std::sync::mpsc::channel();
    let handle = std::thread::spawn(move || {
        f();
        let _ = tx.send(());
    });
    match rx.recv_timeout(std::time::Duration::from_secs(seconds)) {
        Ok(()) => handle.join().expect("test thread"),
        Err(std::sync::mpsc::RecvTimeoutError::Disconnected) => {
            // The thread panicked: re-raise its panic here.
            if let Err(p) = handle.join() {
                std::panic::resume_unwind(p);
            }
        }
        Err(std::sync::mpsc::RecvTimeoutError::Timeout) => {
            panic!("no progress within {seconds} s: an instance entry (or the harness) loops forever")
        }
    }
}
