//! spumone-kernel: the guest-facing core of the hypervisor.
//!
//! Owns (as it grows): vCPU state (the register context and the record of
//! a resident vCPU, which both the per-core instance and the migration
//! engine use), guest specs, virtual interrupt levels with IPL separation
//! (RTOS levels 8-15, GPOS 1-7), and the hypercall ABI. It knows nothing about which core it runs on or how the
//! hardware is reached: that is `spumone-percore`'s hardware-access trait.
//!
//! Must not touch: the simulator (it is built for a board as well), the heap
//! (`no_std`, no `alloc`), or any other core's state.
#![no_std]
#![forbid(unsafe_code)]

pub mod counters;
pub mod guest;
pub mod hypercall;
pub mod ipl;
pub mod vcpu;
