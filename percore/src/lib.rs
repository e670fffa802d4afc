//! spumone-percore: one hypervisor instance per physical core.
//!
//! Owns (as it grows): the per-core instance (entry, hypercalls,
//! scheduling, virtual interrupt delivery, device routes, timers), its
//! in-place boot, its boot configuration, and the hardware-access trait
//! through which the instance reaches its core. On the board that trait is
//! the SH-4A entry stub and inline assembly; here the simulator implements
//! it. The instance calls `spumone-migration` for the LHP policies'
//! decisions and to move vCPUs between cores (the migration engine and the
//! mailbox under it).
//!
//! Must not touch: another instance's state (nothing but bytes in shared
//! memory and an ICI crosses between cores), the engine's protocol state,
//! the simulator's types, the heap.
#![no_std]
#![forbid(unsafe_code)]

pub mod bootblock;
pub mod config;
pub mod hw;
pub mod instance;
pub mod post;
pub mod rp1;
pub mod tracebuf;
