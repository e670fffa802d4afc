//! What the hypervisor knows about a guest: its class, priority, memory
//! partition and vCPUs, fixed at boot from the machine description.
//!
//! Invariant: a guest may only name memory inside its partition. Guests
//! run untranslated in P1 (0x80000000 + physical) or P2 (0xa0000000 +
//! physical); [`Partition::check`] accepts either alias and returns the
//! physical address.

use crate::ipl::GuestClass;

/// Most guests a machine runs.
pub const MAX_GUESTS: usize = 4;
/// Most vCPUs one guest has.
pub const MAX_VCPUS: usize = 4;

/// A guest's physical memory.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Partition {
    pub base: u32,
    pub size: u32,
}

impl Partition {
    /// The physical address of the guest address range `[addr, addr+len)`
    /// if all of it lies in the partition (through P1 or P2) and `addr` is
    /// a multiple of `align`.
    pub fn check(&self, addr: u32, len: u32, align: u32) -> Option<u32> {
        if align > 1 && addr % align != 0 {
            return None;
        }
        let phys = match addr >> 29 {
            4 | 5 => addr & 0x1fff_ffff,
            _ => return None,
        };
        let end = phys.checked_add(len)?;
        let part_end = self.base.checked_add(self.size)?;
        (phys >= self.base && end <= part_end).then_some(phys)
    }
}

/// One guest, as every instance knows it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct GuestSpec {
    pub class: GuestClass,
    /// Higher runs first; the RTOS is above every GPOS.
    pub priority: u8,
    pub partition: Partition,
    pub vcpus: u8,
    /// The core each vCPU starts on (its home: it always returns there).
    pub home: [u8; MAX_VCPUS],
    /// Entry point of the boot vCPU (vCPU 0); the others are started by
    /// the guest with `START_VCPU`.
    pub entry: u32,
    /// Levels of the guest's virtual timer and virtual IPIs (in its class).
    pub timer_level: u8,
    pub ipi_level: u8,
    /// The guest masks interrupts by writing SR.IMASK itself (a
    /// paravirtualized Linux: `ldc` to SR costs nothing, a hypercall at
    /// every `local_irq_disable` would cost a microsecond), never with
    /// `IRQ_DISABLE`/`IRQ_RESTORE`. Its virtual level is then the SR.IMASK
    /// the hypervisor finds at each entry, and a virtual interrupt it
    /// masks is held in the core's doorbell (docs/hypercall-abi.md).
    pub sr_imask: bool,
    /// The guest runs with the MMU on (translated addresses, its own TLB
    /// entries): a core's TLB is flushed before one of its vCPUs runs
    /// after another vCPU that uses the MMU, since ASIDs are the guest's
    /// per-vCPU choice and mean nothing across vCPUs.
    pub mmu: bool,
    /// The guest's exceptions other than hypercalls go from the hardware
    /// straight to its handler, not through the hypervisor (the board's
    /// entry stub; bank-1 R0 and R1 are then scratch, as Linux treats
    /// them). The hypervisor still takes them while a policy needs to see
    /// the guest's kernel entries (trap-based migration on an RTOS core).
    pub direct_exceptions: bool,
    /// The guest's preempt count is read from its memory, not reported by
    /// `PREEMPT_COUNT`: the word at bank-1 R7 + [`THREAD_INFO_PREEMPT_COUNT`]
    /// while the vCPU runs privileged (Linux on SH keeps
    /// `current_thread_info()` in bank-1 R7; 0 in user mode). The
    /// hypervisor reads it when delayed preemption has to decide, and
    /// while it holds the RTOS back, again every [`PREEMPT_POLL_CYCLES`].
    pub thread_info_preempt_count: bool,
}

/// Byte offset of `preempt_count` in Linux/SH's `struct thread_info`
/// (task, flags, status, cpu, preempt_count).
pub const THREAD_INFO_PREEMPT_COUNT: u32 = 16;
/// How often delayed preemption looks at a count it reads from memory
/// while the RTOS waits for it to fall (10 us): the guest says nothing when
/// it drops, so the wait ends at the first look after it does.
pub const PREEMPT_POLL_CYCLES: u64 = 6_000;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn partition_accepts_p1_and_p2_aliases_inside_it_only() {
        let p = Partition { base: 0x0880_0000, size: 0x10_0000 };
        assert_eq!(p.check(0x8880_0000, 4, 4), Some(0x0880_0000));
        assert_eq!(p.check(0xa88f_fffc, 4, 4), Some(0x088f_fffc));
        assert_eq!(p.check(0x888f_fffd, 4, 1), None, "runs past the end");
        assert_eq!(p.check(0x887f_fffc, 4, 4), None, "below the base");
        assert_eq!(p.check(0x0880_0000, 4, 4), None, "P0 is not how guests address memory");
        assert_eq!(p.check(0x8880_0002, 4, 4), None, "misaligned");
        assert_eq!(p.check(0x8880_0000, u32::MAX, 1), None, "length overflows");
        assert_eq!(p.check(0xc880_0000, 4, 4), None, "P3");
    }
}
