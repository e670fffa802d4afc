//! What an instance is told at boot: the machine's guests, the LHP policy
//! and the cost table. Every instance gets the same copy (on the board it
//! is part of the boot image); nothing in it changes while running.
//!
//! [`Policy`] itself is `spumone_migration::policy`'s (re-exported here):
//! the policies' decisions live there.

use spumone_kernel::guest::{GuestSpec, MAX_GUESTS};
use spumone_migration::engine::MigrationCosts;
use spumone_migration::policy::Lhp;

pub use spumone_migration::policy::Policy;

/// What each hypervisor path costs, in CPU cycles (600 MHz). Charged to
/// the core that does the work.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Costs {
    /// Entering and leaving the hypervisor (the entry stub, register save
    /// and restore), once per entry.
    pub entry_exit: u32,
    /// Decoding and carrying out a hypercall, on top of the entry.
    pub hypercall: u32,
    /// Switching the core from one vCPU to another.
    pub vcpu_switch: u32,
    /// Emulating an interrupt or exception entry into a guest.
    pub inject: u32,
    /// Writing one mailbox message and raising the ICI.
    pub mailbox_send: u32,
    /// Reading and validating one mailbox message.
    pub mailbox_receive: u32,
    /// Departure migration: source half (`spm_cpu_migrate`) and
    /// destination half (`accept_immigrant`).
    pub departure_source: u32,
    pub departure_destination: u32,
    /// Return migration halves.
    pub return_source: u32,
    pub return_destination: u32,
}

impl Costs {
    /// Nothing charged: the board image, whose costs are what its code
    /// takes to run.
    pub const ZERO: Costs = Costs {
        entry_exit: 0,
        hypercall: 0,
        vcpu_switch: 0,
        inject: 0,
        mailbox_send: 0,
        mailbox_receive: 0,
        departure_source: 0,
        departure_destination: 0,
        return_source: 0,
        return_destination: 0,
    };

    /// The RP1 measurements of the SPUMONE paper for migration (24.9 +
    /// 28.0 us departure, 38.1 + 12.0 us return) and estimates for the
    /// rest: the machine description's defaults
    /// (`sim/src/hosting/description.rs`, `docs/machine-description.md`),
    /// with its ICI send and latency folded into the mailbox costs as the
    /// runner folds them.
    pub const RP1: Costs = Costs {
        entry_exit: 180,
        hypercall: 120,
        vcpu_switch: 600,
        inject: 150,
        mailbox_send: 240 + 60,
        mailbox_receive: 240 + 300,
        departure_source: 14_940,
        departure_destination: 16_800,
        return_source: 22_860,
        return_destination: 7_200,
    };

    /// The migration engine's part of the table.
    pub const fn migration(&self) -> MigrationCosts {
        MigrationCosts {
            mailbox_send: self.mailbox_send,
            mailbox_receive: self.mailbox_receive,
            departure_source: self.departure_source,
            departure_destination: self.departure_destination,
            return_source: self.return_source,
            return_destination: self.return_destination,
        }
    }
}

/// Rows the interrupt destination table has room for.
pub const MAX_DEVICES: usize = 8;
/// Physical interrupt sources one vCPU may own (its pending bits 1-7).
pub const MAX_DEVICES_PER_VCPU: usize = 7;

/// A row of the interrupt destination table: a physical interrupt source
/// (a device's request line at the INTC) and the vCPU that owns it.
///
/// The source is offered to whichever core the vCPU is on (the instance
/// there unmasks it for its own core; the one it left masks it), so the
/// interrupt follows the vCPU as its virtual timer and IPIs do. It is
/// masked from its arrival until the guest's handler has lowered the
/// vCPU's level below `level` again, as the SH-4A's INTC would hold a
/// level-triggered request the CPU's mask blocks.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct DeviceRoute {
    /// The INTEVT code the core reads when it takes the interrupt; the
    /// guest sees the same code.
    pub intevt: u16,
    pub guest: u8,
    pub vcpu: u8,
    /// Its interrupt level, in the owner's class (the INTC priority).
    pub level: u8,
}

/// The whole boot configuration.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Config {
    /// Physical cores in use (1-4).
    pub cores: u8,
    pub guests: [Option<GuestSpec>; MAX_GUESTS],
    pub policy: Policy,
    /// Spinning vCPUs may give their core away (`SPIN_YIELD`).
    pub spin_yield: bool,
    /// RTOS levels 8-15 stay open while the GPOS masks its own (on), or a
    /// GPOS mask blocks every level (off).
    pub ipl_separation: bool,
    /// Round-robin slice among vCPUs of equal priority, in cycles.
    pub time_slice: u32,
    /// Delayed preemption with a bound: past this many cycles of waiting
    /// the GPOS vCPU is migrated away instead.
    pub delay_bound: Option<u32>,
    /// On-demand migration that dispatches the RTOS first and ships the
    /// departing vCPU's context afterwards.
    pub dispatch_first: bool,
    /// Dispatch-first: the longest a departure's message waits for the
    /// RTOS to finish (it is withdrawn if the RTOS idles first), in cycles.
    pub departure_defer: u32,
    /// Level of the hypervisor's own interrupts (its timer and mailbox ICI).
    pub hypervisor_level: u8,
    pub costs: Costs,
    /// The interrupt destination table for physical interrupts (the
    /// virtual timer and IPIs need none: they are always their vCPU's).
    pub devices: [Option<DeviceRoute>; MAX_DEVICES],
}

impl Config {
    /// No guests, one core, no policy: what an instance holds before it
    /// boots (usable in a `static`), and a starting point to fill in.
    pub const EMPTY: Config = Config {
        cores: 1,
        guests: [None; MAX_GUESTS],
        policy: Policy::None,
        spin_yield: false,
        ipl_separation: true,
        time_slice: 6_000_000,
        delay_bound: None,
        dispatch_first: false,
        departure_defer: 60_000,
        hypervisor_level: 15,
        costs: Costs::RP1,
        devices: [None; MAX_DEVICES],
    };

    /// The lock-holder-preemption policy this configuration chooses.
    pub const fn lhp(&self) -> Lhp {
        Lhp::new(self.policy, self.spin_yield, self.delay_bound, self.dispatch_first)
    }
}
