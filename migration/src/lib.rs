//! spumone-migration: the mailbox protocol between per-core instances, the
//! vCPU migration engine (departure and return, source and destination
//! halves) and the lock-holder-preemption policies.
//!
//! Must not touch: any Rust value of another instance. Everything that moves
//! between cores is bytes in simulated shared memory plus an inter-core
//! interrupt. No heap.
//!
//! Status: the mailbox is built and tested: the shared-memory layout
//! ([`layout`]), the message formats and their validation ([`message`],
//! [`crc`]), the self-checking ring indices ([`index`]) and each instance's
//! end of the rings with its recovery rules ([`mailbox`]); the protocol is
//! described in `docs/mailbox.md`. The migration engine and the policies
//! that use it are still to come (issue 3); the per-core instance
//! (`spumone-percore`) calls the mailbox.
#![no_std]
#![forbid(unsafe_code)]

pub mod crc;
pub mod index;
pub mod layout;
pub mod mailbox;
pub mod message;

pub use layout::{region_size, ring_offset, MAX_CORES, SLOTS_PER_RING};
pub use mailbox::{Mailbox, MailboxStats, RecvError, SendError, SharedMemory};
pub use message::{Message, MessageKind, Rejection};
