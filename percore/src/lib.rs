//! spumone-percore: one hypervisor instance per physical core.
//!
//! Owns (as it grows): the per-core instance, its boot, the inter-core
//! interrupt (ICI) dispatch, and the hardware-access trait through which the
//! instance reaches its core. On the board that trait is the SH-4A entry stub
//! and inline assembly; here the simulator implements it.
//!
//! Must not touch: another instance's state (nothing but bytes in shared
//! memory and an ICI crosses between cores), the simulator's types, the heap.
//!
//! Status: the crate exists so the layout and the `no_std` rule hold from
//! the first commit; the instance itself is built under issue 3.
#![no_std]
#![forbid(unsafe_code)]
