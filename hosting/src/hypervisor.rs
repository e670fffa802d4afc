//! Hosting the hypervisor on the simulated RP1: one `spumone-percore`
//! instance per core, each entered whenever its core takes an exception or
//! interrupt into the hypervisor's vector base.
//!
//! Owns: the instances (as opaque values: this file never looks inside
//! one), booting them, and the log of what they report (guest consoles,
//! samples, scheduling events). Must not touch: an instance's state, or
//! another core's registers on an instance's behalf: each entry lends the
//! instance exactly its own core through [`SimCore`].

use crate::core_hw::{Sink, SimCore, HOST_VBR};
use rp1_sim::bus::Rp1Bus;
use rp1_sim::cpu::{Cpu, ExceptionRecord};
use rp1_sim::machine::{Host, Machine};
use spumone_kernel::guest::MAX_GUESTS;
use spumone_percore::config::Config;
use spumone_percore::hw::TraceEvent;
use spumone_percore::instance::Instance;

/// A `SAMPLE` a guest reported.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Sample {
    pub cycle: u64,
    pub core: usize,
    pub guest: u8,
    pub vcpu: u8,
    pub kind: u32,
    pub value: u32,
}

/// The exit status the hypervisor gives a guest it stops after an
/// exception it cannot deliver (the guest set no vector base): see
/// `forward_exception` in percore/src/instance.rs.
pub const FAULT_STATUS: u32 = 0xdead;

/// A guest the hypervisor stopped after a fault, and what is known of it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct GuestFault {
    pub guest: u8,
    /// The vCPU the core was running (the last one dispatched there).
    pub vcpu: Option<u8>,
    pub core: usize,
    /// When the hypervisor stopped the guest.
    pub cycle: u64,
    /// The exception, from the core's exception log: the last one the core
    /// took before the hypervisor stopped the guest (the runner fills it in).
    pub exception: Option<ExceptionRecord>,
}

/// "vCPU 0 on core 1 faulted at pc 0x00000000: instruction address error
/// (EXPEVT 0x0e0, address 0x00000000)".
impl std::fmt::Display for GuestFault {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.vcpu {
            Some(v) => write!(f, "vCPU {v} on core {}", self.core)?,
            None => write!(f, "a vCPU on core {}", self.core)?,
        }
        match self.exception {
            Some(e) => write!(f, " faulted at pc {:#010x}: {}", e.pc, e.exception),
            None => f.write_str(" faulted (the exception was not seen)"),
        }
    }
}

/// Everything the instances reported.
#[derive(Clone, Debug, Default)]
pub struct Log {
    /// Console output per guest.
    pub consoles: Vec<Vec<u8>>,
    pub samples: Vec<Sample>,
    /// (core, cycle, event) for timelines; kept only when asked for.
    pub events: Vec<(usize, u64, TraceEvent)>,
    pub keep_events: bool,
    /// Exit status per guest, once it has called `EXIT`, and when
    /// (the cycle of the first exit event).
    pub exits: Vec<Option<u32>>,
    pub exit_cycles: Vec<Option<u64>>,
    /// Guests stopped with `FAULT_STATUS`, in the order they were.
    pub faults: Vec<GuestFault>,
    /// Per core, the vCPU (guest, vCPU) dispatched there, if any.
    pub dispatched: Vec<Option<(u8, u8)>>,
    /// Per (guest, core): the start of a console line that core has not
    /// finished yet ([`Log::console_from`]).
    pub partial_lines: std::collections::BTreeMap<(u8, usize), Vec<u8>>,
}

/// The longest unfinished console line kept back (longer ones go out as
/// they are).
pub const MAX_PARTIAL_LINE: usize = 4096;

impl Sink for Log {
    fn console(&mut self, core: usize, guest: u8, bytes: &[u8]) {
        self.console_from(core, guest, bytes);
    }

    fn trace(&mut self, core: usize, cycle: u64, event: TraceEvent) {
        self.event(core, cycle, event);
    }
}

impl Log {
    /// Console bytes guest `guest` wrote on core `core`. Whole lines go
    /// to the guest's console as they are finished; the start of a line
    /// waits for its end from the same core. A host reads the cores' trace
    /// rings one after the other, so two vCPUs printing in the same
    /// millisecond used to interleave mid-line ("reboot: System hTime:
    /// 0.019"); now lines can only come out of order, not mixed.
    pub fn console_from(&mut self, core: usize, guest: u8, bytes: &[u8]) {
        let Some(out) = self.consoles.get_mut(guest as usize) else { return };
        let line = self.partial_lines.entry((guest, core)).or_default();
        for &b in bytes {
            line.push(b);
            if b == b'\n' || line.len() >= MAX_PARTIAL_LINE {
                out.append(line);
            }
        }
    }

    /// At the end of a run: every unfinished line goes to its console.
    pub fn finish_console(&mut self) {
        for ((guest, _), line) in std::mem::take(&mut self.partial_lines) {
            if let Some(out) = self.consoles.get_mut(guest as usize) {
                out.extend_from_slice(&line);
            }
        }
    }

    /// An event an instance reported (hosted, or read from a board
    /// image's trace ring): samples and exits are kept, and every event if
    /// asked for.
    pub fn event(&mut self, core: usize, cycle: u64, event: TraceEvent) {
        match event {
            TraceEvent::Sample { guest, vcpu, kind, value } => {
                self.samples.push(Sample { cycle, core, guest, vcpu, kind, value });
            }
            TraceEvent::Dispatch { guest, vcpu } => {
                if self.dispatched.len() <= core {
                    self.dispatched.resize(core + 1, None);
                }
                self.dispatched[core] = Some((guest, vcpu));
            }
            TraceEvent::Undispatch { guest, vcpu } => {
                if self.dispatched.get(core) == Some(&Some((guest, vcpu))) {
                    self.dispatched[core] = None;
                }
            }
            TraceEvent::GuestExit { guest, status } => {
                let first = self.exits.get(guest as usize).is_some_and(Option::is_none);
                if first && status == FAULT_STATUS {
                    let vcpu = self.dispatched.get(core).copied().flatten().filter(|&(g, _)| g == guest).map(|(_, v)| v);
                    self.faults.push(GuestFault { guest, vcpu, core, cycle, exception: None });
                }
                if let Some(e) = self.exits.get_mut(guest as usize) {
                    e.get_or_insert(status);
                }
                if self.exit_cycles.len() <= guest as usize {
                    self.exit_cycles.resize(guest as usize + 1, None);
                }
                self.exit_cycles[guest as usize].get_or_insert(cycle);
            }
            _ => {}
        }
        if self.keep_events {
            self.events.push((core, cycle, event));
        }
    }
}

/// The hypervisor of a whole machine: one instance per core.
pub struct Hypervisor {
    instances: Vec<Instance>,
    pub log: Log,
}

impl Hypervisor {
    /// Boot one instance on each of the machine's cores (guests must
    /// already be loaded in their partitions). Every core leaves reset
    /// with its VBR at the hypervisor's vectors.
    pub fn boot(machine: &mut Machine, config: Config, keep_events: bool) -> Hypervisor {
        Hypervisor::boot_with(machine, config, &[], keep_events)
    }

    /// [`Hypervisor::boot`], with secondary vCPUs started at boot:
    /// (guest, vCPU, entry) each.
    pub fn boot_with(machine: &mut Machine, config: Config, secondaries: &[(u8, u8, u32)], keep_events: bool) -> Hypervisor {
        let guests = config.guests.iter().take(MAX_GUESTS).filter(|g| g.is_some()).count();
        let mut log = Log {
            consoles: vec![Vec::new(); guests],
            exits: vec![None; guests],
            keep_events,
            ..Log::default()
        };
        let mut instances = Vec::new();
        for core in 0..config.cores as usize {
            let cpu = &mut machine.cpus[core];
            cpu.reset(HOST_VBR + 0x800);
            cpu.halted = false;
            cpu.vbr = HOST_VBR;
            cpu.host_vbr = Some(HOST_VBR);
            let mut hw = SimCore { core, cpu, bus: &mut machine.bus, sink: &mut log };
            instances.push(Instance::boot_with(&mut hw, config, secondaries));
        }
        Hypervisor { instances, log }
    }

    /// The instances, by core (for reports and tests).
    pub fn instances(&self) -> &[Instance] {
        &self.instances
    }
}

impl Host for Hypervisor {
    fn enter(&mut self, core: usize, cpu: &mut Cpu, bus: &mut Rp1Bus) {
        // When every guest has exited, the instance that learns it last
        // powers the machine off itself (CoreHardware::power_off).
        let mut hw = SimCore { core, cpu, bus, sink: &mut self.log };
        self.instances[core].enter(&mut hw);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Two cores' bytes read ring after ring (as `native::TraceReader`
    /// does) come out as whole lines, never mixed mid-line; an unfinished
    /// line comes out at the end of the run.
    #[test]
    fn console_lines_of_two_cores_never_mix() {
        let mut log = Log { consoles: vec![Vec::new(); 2], ..Log::default() };
        log.console_from(0, 1, b"reboot: System h");
        log.console_from(2, 1, b"Time: 0.019\nrp1-init: halt");
        log.console_from(0, 1, b"alted\n");
        log.console_from(2, 1, b"ing\n");
        log.console_from(3, 1, b"no newline");
        log.console_from(1, 0, b"other guest\n");
        assert_eq!(log.consoles[1], b"Time: 0.019\nreboot: System halted\nrp1-init: halting\n");
        log.finish_console();
        assert_eq!(log.consoles[1], b"Time: 0.019\nreboot: System halted\nrp1-init: halting\nno newline");
        assert_eq!(log.consoles[0], b"other guest\n");
        // A line longer than MAX_PARTIAL_LINE is not held back for ever.
        log.console_from(0, 0, &[b'x'; MAX_PARTIAL_LINE + 10]);
        assert_eq!(log.consoles[0].len(), b"other guest\n".len() + MAX_PARTIAL_LINE);
    }
}
