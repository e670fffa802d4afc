//! spumone-migration: the mailbox protocol between per-core instances, the
//! vCPU migration engine (departure and return, source and destination
//! halves) and the lock-holder-preemption policies.
//!
//! Must not touch: any Rust value of another instance. Everything that moves
//! between cores is bytes in simulated shared memory plus an inter-core
//! interrupt. No heap.
//!
//! From the bottom up:
//! - the mailbox: the shared-memory layout ([`layout`]), the message
//!   formats and their validation ([`message`], [`crc`]), the
//!   self-checking ring indices ([`index`]), each instance's end of the
//!   rings with its recovery rules ([`mailbox`]) and the claim words that
//!   settle a migration in doubt ([`claim`]); the protocol is described
//!   in `docs/mailbox.md`;
//! - virtual IPIs, which do not use the rings: a word of bits per vCPU
//!   ([`ipi`]);
//! - what the engine may do to its core ([`port`]);
//! - an instance's outgoing mail and its conversion to and from the wire
//!   ([`outbox`]);
//! - the migration engine: the source and destination halves, the
//!   acknowledgement/resend/epoch protocol, where away vCPUs are, return
//!   requests ([`engine`]);
//! - the lock-holder-preemption policies' decisions ([`policy`]).
//!
//! The per-core instance (`spumone-percore`) schedules the vCPUs, asks
//! [`policy`] what to do and calls [`engine`] to move them. The record of a
//! vCPU both use is `spumone_kernel::vcpu::Vcpu`, below both crates.
#![no_std]
#![forbid(unsafe_code)]

pub mod claim;
pub mod crc;
pub mod engine;
pub mod index;
pub mod ipi;
pub mod layout;
pub mod mailbox;
pub mod message;
pub mod outbox;
pub mod policy;
pub mod port;

pub use engine::{Arrival, Engine, MigrationCosts};
pub use layout::{region_size, ring_offset, MAX_CORES, SLOTS_PER_RING};
pub use mailbox::{Mailbox, MailboxStats, RecvError, SendError, SharedMemory};
pub use message::{Message, MessageKind, Rejection};
pub use outbox::{Incoming, Outbox, Post, PostStats};
pub use policy::{Lhp, Policy};
pub use port::{MigrationEvent, MigrationHardware};
