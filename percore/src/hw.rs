//! The hardware-access trait: everything an instance may do to its core.
//!
//! On the board this is the SH-4A entry stub (which saves the interrupted
//! registers) and a handful of inline-assembly and MMIO helpers; hosted on
//! the simulator, `rp1_sim::hosting` implements it on one simulated core.
//! The instance never sees another core's registers, memory it does not
//! own, or any simulator type: only this trait.
//!
//! Timing: nothing here advances simulated time by itself except what the
//! device accesses would cost; the instance charges its own work with
//! [`CoreHardware::charge`] from the cost table.
//!
//! The migration engine (`spumone_migration::engine`) gets only a slice of
//! this trait, its `MigrationHardware`; [`EnginePort`] adapts one to the
//! other.

use spumone_kernel::hypercall::sr;
use spumone_kernel::vcpu::VcpuContext;
use spumone_migration::port::{MigrationEvent, MigrationHardware};

/// Why the core entered the hypervisor (what the hardware wrote to
/// EXPEVT/INTEVT/TRA/TEA on the way in).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Entry {
    /// A synchronous exception or trap of the code that was running.
    Exception { expevt: u32, tra: u32, tea: u32 },
    /// An interrupt.
    Interrupt { intevt: u32 },
}

/// Events an instance reports for traces and experiments. On the board they
/// would go to a trace buffer in the core's local memory.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TraceEvent {
    /// A vCPU starts running on this core.
    Dispatch { guest: u8, vcpu: u8 },
    /// The running vCPU stops running (switched out, idle, migrated).
    Undispatch { guest: u8, vcpu: u8 },
    /// A virtual interrupt was injected into a vCPU.
    Inject { guest: u8, vcpu: u8, intevt: u16 },
    /// The source half of a migration finished (`cycles` it cost).
    MigrateOut { guest: u8, vcpu: u8, to: u8, departure: bool, cycles: u32 },
    /// The destination half finished.
    MigrateIn { guest: u8, vcpu: u8, from: u8, departure: bool, cycles: u32 },
    /// `SAMPLE` from a guest.
    Sample { guest: u8, vcpu: u8, kind: u32, value: u32 },
    /// A guest called `EXIT`.
    GuestExit { guest: u8, status: u32 },
}

/// One core's hardware, as its hypervisor instance sees it.
pub trait CoreHardware {
    /// This core's number (CPIDR).
    fn core_id(&self) -> usize;
    /// This core's clock, in CPU cycles.
    fn now(&self) -> u64;
    /// Spend `cycles` of hypervisor work.
    fn charge(&mut self, cycles: u64);

    /// Why the core entered the hypervisor this time.
    fn entry(&self) -> Entry;
    /// The interrupted code's SR (what the entry saved in SSR).
    fn entry_sr(&self) -> u32;
    /// The interrupted code's registers, as they were before the entry
    /// (PC from SPC, SR from SSR, R15 from SGR, banks by number). The
    /// context's `vbr`, `virtual_imask` and `preempt_count` are not
    /// hardware state and are left as they are. On an interrupt entry
    /// INTEVT holds the accepted interrupt's code, not the interrupted
    /// code's: the instance puts the vCPU's own back.
    fn save_context(&self, ctx: &mut VcpuContext);
    /// Leave the hypervisor into `ctx`: load every register and resume at
    /// `ctx.pc` with `ctx.sr`, whose IMASK field is replaced by
    /// `physical_imask` (IPL separation decides it, not the guest).
    fn resume(&mut self, ctx: &VcpuContext, physical_imask: u8);
    /// Nothing to run: sleep until the next interrupt (with every level
    /// open), which enters the hypervisor again.
    fn idle(&mut self);

    // The quick ways out of an entry that changed nothing but a result
    // register or the vCPU's position in its own handler: they leave the
    // interrupted registers where the entry put them, so an implementation
    // (the board's) need not copy a whole context twice. Each is defined
    // as what the save/modify/resume it replaces does; the defaults do
    // exactly that.

    /// R4-R7 of the interrupted code as it sees them (a hypercall's
    /// arguments).
    fn args(&self) -> [u32; 4] {
        let mut ctx = VcpuContext::default();
        self.save_context(&mut ctx);
        [ctx.reg(4), ctx.reg(5), ctx.reg(6), ctx.reg(7)]
    }
    /// Resume the interrupted code where it was, with R0 (and R1, if
    /// given) replaced and the physical IMASK given.
    fn resume_interrupted(&mut self, r0: u32, r1: Option<u32>, physical_imask: u8) {
        let mut ctx = VcpuContext::default();
        self.save_context(&mut ctx);
        ctx.set_reg(0, r0);
        if let Some(r1) = r1 {
            ctx.set_reg(1, r1);
        }
        self.resume(&ctx, physical_imask);
    }
    /// Resume the interrupted code in its own handler at `vector`, as the
    /// SH-4A enters an exception (`VcpuContext::enter_vector`), with EXPEVT
    /// and TRA set for the handler to read.
    fn resume_into_handler(&mut self, vector: u32, expevt: u32, tra: u32, physical_imask: u8) {
        let mut ctx = VcpuContext::default();
        self.save_context(&mut ctx);
        ctx.enter_vector(vector);
        ctx.expevt = expevt;
        ctx.tra = tra;
        self.resume(&ctx, physical_imask);
    }
    /// Resume the interrupted code in its interrupt handler at `vector`, as
    /// the hypervisor emulates an interrupt entry (`Instance::inject`): its
    /// SR's IMASK field becomes `ssr_imask` (what SSR keeps), then
    /// `VcpuContext::enter_vector`, with INTEVT = `intevt` for the handler
    /// to read, and SR's IMASK `physical_imask`.
    fn resume_into_interrupt(&mut self, vector: u32, intevt: u32, ssr_imask: u8, physical_imask: u8) {
        let mut ctx = VcpuContext::default();
        self.save_context(&mut ctx);
        ctx.sr = (ctx.sr & !sr::IMASK) | ((ssr_imask as u32 & 0xf) << sr::IMASK_SHIFT);
        ctx.enter_vector(vector);
        ctx.intevt = intevt;
        self.resume(&ctx, physical_imask);
    }
    /// Resume the interrupted code where it was, with INTEVT = `intevt`
    /// (the vCPU's own: an interrupt entry of the hypervisor's overwrote
    /// it) and the physical IMASK given.
    fn resume_with_intevt(&mut self, intevt: u32, physical_imask: u8) {
        let mut ctx = VcpuContext::default();
        self.save_context(&mut ctx);
        ctx.intevt = intevt;
        self.resume(&ctx, physical_imask);
    }

    /// Copy guest memory at physical address `phys` (already checked to be
    /// inside the guest's partition) into `buf`.
    fn read_guest(&mut self, phys: u32, buf: &mut [u8]);
    /// The shared mailbox region: read and write one word at `offset`.
    fn shared_read(&mut self, offset: u32) -> u32;
    fn shared_write(&mut self, offset: u32, value: u32);
    /// Atomically replace the word at `offset` by `new` if it holds
    /// `expected`; returns the word found (`MigrationHardware` has the
    /// contract).
    fn shared_compare_exchange(&mut self, offset: u32, expected: u32, new: u32) -> u32;
    /// Consecutive words of the mailbox region (a block copy where the
    /// hardware has one; word by word by default).
    fn shared_read_block(&mut self, offset: u32, words: &mut [u32]) {
        for (i, w) in words.iter_mut().enumerate() {
            *w = self.shared_read(offset + 4 * i as u32);
        }
    }
    fn shared_write_block(&mut self, offset: u32, words: &[u32]) {
        for (i, &w) in words.iter().enumerate() {
            self.shared_write(offset + 4 * i as u32, w);
        }
    }
    /// An ordering point for shared memory: every access before it is
    /// done, for every core, before any after it (`synco`; the simulated
    /// machine is sequentially consistent, so the default does nothing).
    fn barrier(&mut self) {}

    /// Program the interrupt controller for this core: its timer channel and
    /// ICIs at `level`, everything else masked on this core.
    fn init_interrupts(&mut self, level: u8);
    /// Give the physical interrupt source whose INTEVT is `intevt` its
    /// priority `level` (a machine-wide setting, made once at boot by the
    /// instance on the source's home core) and mask it on this core.
    fn init_device_interrupt(&mut self, intevt: u32, level: u8);
    /// Let the interrupt controller offer source `intevt` to this core
    /// (`true`), or stop it (`false`). Only this core's mask changes.
    fn enable_device_interrupt(&mut self, intevt: u32, enabled: bool);
    /// Raise the mailbox ICI on core `target`.
    fn send_ici(&mut self, target: usize);
    /// Acknowledge this core's mailbox ICI.
    fn clear_ici(&mut self);
    /// Raise the IPI ICI (message 2, INTEVT [`IPI_ICI_INTEVT`]) on core
    /// `target`: IPI words for a vCPU there were set
    /// (`spumone_migration::ipi`). The request bit is the sender's own
    /// within the message's field (bit 8 + this core), so that the
    /// receiver learns who sent it.
    fn send_ipi_ici(&mut self, target: usize);
    /// Acknowledge this core's IPI ICI: clear the requests it finds and
    /// return them, bit `c` for core `c`.
    fn take_ipi_ici(&mut self) -> u8;
    /// Set the levels this core takes its mailbox ICI and its IPI ICI at;
    /// 0 closes one (an ICI raised meanwhile stays pending and is taken
    /// once reopened, or once the running code's SR.IMASK falls below
    /// its level).
    fn set_ici_levels(&mut self, mail: u8, ipi: u8);
    /// Raise this core's doorbell, an interrupt request to itself at
    /// `level` that the hardware takes once the running code's SR.IMASK
    /// falls below it (INTEVT [`DOORBELL_INTEVT`]); 0 withdraws it.
    fn set_doorbell(&mut self, level: u8);
    /// Invalidate every entry of this core's TLB (MMUCR.TI).
    fn flush_tlb(&mut self);
    /// Let the running vCPU's exceptions other than hypercalls go straight
    /// to its handler at `vbr` + 0x100/0x400 (0: through the hypervisor,
    /// [`Entry::Exception`]). The hosted model has no such path: there it
    /// does nothing and the exceptions are forwarded as before.
    fn set_direct_exceptions(&mut self, vbr: u32);
    /// From the next exit on, the running vCPU's `TIME_NOW` may be
    /// answered without entering the instance as `quick` says (None: it
    /// may not): the board's entry stub does so. The hosted model has no
    /// such path and does nothing.
    fn set_quick_calls(&mut self, quick: Option<crate::instance::QuickCalls>);
    /// Make this core's timer interrupt at `deadline` (cycles), or never.
    fn arm_timer(&mut self, deadline: Option<u64>);
    /// Acknowledge this core's timer interrupt.
    fn clear_timer(&mut self);

    /// Every guest has exited: end everything, with `status` (the guests'
    /// exit statuses or'ed together). On the board: the machine's power
    /// switch (the simulator's SIMCTL).
    fn power_off(&mut self, status: u32);

    /// Guest console output.
    fn console(&mut self, guest: u8, bytes: &[u8]);
    /// Report an event (traces, experiment samples).
    fn trace(&mut self, event: TraceEvent);
}

/// INTEVT of this core's timer interrupt: TMU channel `core` (TMU0
/// channels 0-2 are 0x400/0x420/0x440, TMU1 channel 0 is 0x460).
pub const fn timer_intevt(core: usize) -> u32 {
    0x400 + 0x20 * core as u32
}

/// INTEVT of the mailbox ICI (message 0).
pub const ICI_INTEVT: u32 = 0xf00;
/// INTEVT of the doorbell (ICI message 1, a core's request to itself).
pub const DOORBELL_INTEVT: u32 = 0xf20;
/// INTEVT of the IPI ICI (message 2): a virtual IPI in the IPI words.
pub const IPI_ICI_INTEVT: u32 = 0xf40;

/// A core's hardware as the migration engine may use it: its clock, the
/// mailbox's shared words and ICI, charging, and migration trace events.
pub struct EnginePort<'a, H: CoreHardware>(pub &'a mut H);

impl<H: CoreHardware> MigrationHardware for EnginePort<'_, H> {
    fn now(&self) -> u64 {
        self.0.now()
    }
    fn charge(&mut self, cycles: u64) {
        self.0.charge(cycles)
    }
    fn shared_read(&mut self, offset: u32) -> u32 {
        self.0.shared_read(offset)
    }
    fn shared_write(&mut self, offset: u32, value: u32) {
        self.0.shared_write(offset, value)
    }
    fn shared_compare_exchange(&mut self, offset: u32, expected: u32, new: u32) -> u32 {
        self.0.shared_compare_exchange(offset, expected, new)
    }
    fn shared_read_block(&mut self, offset: u32, words: &mut [u32]) {
        self.0.shared_read_block(offset, words)
    }
    fn shared_write_block(&mut self, offset: u32, words: &[u32]) {
        self.0.shared_write_block(offset, words)
    }
    fn barrier(&mut self) {
        self.0.barrier()
    }
    fn send_ici(&mut self, target: usize) {
        self.0.send_ici(target)
    }
    fn trace(&mut self, event: MigrationEvent) {
        self.0.trace(match event {
            MigrationEvent::Out { guest, vcpu, to, departure, cycles } => {
                TraceEvent::MigrateOut { guest, vcpu, to, departure, cycles }
            }
            MigrationEvent::In { guest, vcpu, from, departure, cycles } => {
                TraceEvent::MigrateIn { guest, vcpu, from, departure, cycles }
            }
        })
    }
}
