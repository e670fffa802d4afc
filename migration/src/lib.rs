//! spumone-migration: the mailbox protocol between per-core instances, the
//! vCPU migration engine (departure and return, source and destination
//! halves) and the lock-holder-preemption policies.
//!
//! Must not touch: any Rust value of another instance. Everything that moves
//! between cores is bytes in simulated shared memory plus an inter-core
//! interrupt. No heap.
//!
//! Status: the crate exists so the layout and the `no_std` rule hold from
//! the first commit; the engine is built under issue 3.
#![no_std]
#![forbid(unsafe_code)]
