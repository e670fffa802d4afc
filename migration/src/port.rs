//! What the migration engine may do to its core: the small hardware trait
//! it reaches everything through.
//!
//! Owns: [`MigrationHardware`] (shared-memory words and a compare-and-swap
//! on them, the mailbox ICI, the core's clock, charging hypervisor work,
//! reporting a finished migration half) and the [`MigrationEvent`]s it
//! reports. Must not touch: anything
//! else of the core. The per-core instance adapts its own, larger
//! hardware trait to this one (`spumone_percore::hw`), so the engine never
//! sees registers, interrupt controllers or guest memory.

use crate::mailbox::SharedMemory;

/// A migration half finished, for traces and experiments.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MigrationEvent {
    /// The source half (`spm_cpu_migrate`) shipped a vCPU to core `to`;
    /// it cost `cycles`.
    Out { guest: u8, vcpu: u8, to: u8, departure: bool, cycles: u32 },
    /// The destination half (`accept_immigrant`) took a vCPU from core
    /// `from`; it cost `cycles`.
    In { guest: u8, vcpu: u8, from: u8, departure: bool, cycles: u32 },
}

/// One core's hardware as the migration engine sees it.
pub trait MigrationHardware {
    /// This core's clock, in CPU cycles.
    fn now(&self) -> u64;
    /// Spend `cycles` of hypervisor work.
    fn charge(&mut self, cycles: u64);
    /// The mailbox region in shared memory: one word at byte `offset`.
    fn shared_read(&mut self, offset: u32) -> u32;
    fn shared_write(&mut self, offset: u32, value: u32);
    /// Consecutive words from byte `offset` (a block copy where the
    /// hardware has one; word by word otherwise).
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
    /// Atomically: if the word at byte `offset` holds `expected`, write
    /// `new`. Returns the word found (equal to `expected` if it was
    /// written). `movli.l`/`movco.l` on the SH-4A, with `synco` after; on
    /// the hosted model, whose instances run one at a time, a read and a
    /// write. The one operation between cores that is not a plain load or
    /// store: the engine uses it only on claim words (`crate::claim`).
    fn shared_compare_exchange(&mut self, offset: u32, expected: u32, new: u32) -> u32;
    /// An ordering point for shared memory (`synco` on the SH-4A; the
    /// simulated machine is sequentially consistent).
    fn barrier(&mut self) {}
    /// Raise the mailbox ICI on core `target`.
    fn send_ici(&mut self, target: usize);
    /// Report a finished migration half.
    fn trace(&mut self, event: MigrationEvent);
}

/// The hardware's shared-memory words, as the mailbox wants them.
pub(crate) struct Shared<'a, H: MigrationHardware>(pub(crate) &'a mut H);

impl<H: MigrationHardware> SharedMemory for Shared<'_, H> {
    fn read_u32(&mut self, offset: u32) -> u32 {
        self.0.shared_read(offset)
    }
    fn write_u32(&mut self, offset: u32, value: u32) {
        self.0.shared_write(offset, value)
    }
    fn read_block(&mut self, offset: u32, words: &mut [u32]) {
        self.0.shared_read_block(offset, words)
    }
    fn write_block(&mut self, offset: u32, words: &[u32]) {
        self.0.shared_write_block(offset, words)
    }
    fn barrier(&mut self) {
        self.0.barrier()
    }
}
