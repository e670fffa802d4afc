//! spumone-percore: one hypervisor instance per physical core.
//!
//! Owns (as it grows): the per-core instance, its boot, the inter-core
//! interrupt (ICI) dispatch, and the hardware-access trait through which the
//! instance reaches its core. On the board that trait is the SH-4A entry stub
//! and inline assembly; here the simulator implements it.
//!
//! Must not touch: another instance's state (nothing but bytes in shared
//! memory and an ICI crosses between cores), the simulator's types, the heap.
#![no_std]
#![forbid(unsafe_code)]

pub mod bootblock;
pub mod config;
pub mod hw;
pub mod instance;
pub mod post;
pub mod rp1;
pub mod tracebuf;
