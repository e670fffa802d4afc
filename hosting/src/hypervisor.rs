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
use rp1_sim::cpu::{Bus, Cpu};
use rp1_sim::devices::{simctl, Size};
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

/// Everything the instances reported.
#[derive(Clone, Debug, Default)]
pub struct Log {
    /// Console output per guest.
    pub consoles: Vec<Vec<u8>>,
    pub samples: Vec<Sample>,
    /// (core, cycle, event) for timelines; kept only when asked for.
    pub events: Vec<(usize, u64, TraceEvent)>,
    pub keep_events: bool,
    /// Exit status per guest, once it has called `EXIT`.
    pub exits: Vec<Option<u32>>,
}

impl Log {
    fn guests_running(&self) -> usize {
        self.exits.iter().filter(|e| e.is_none()).count()
    }
}

impl Sink for Log {
    fn console(&mut self, _core: usize, guest: u8, bytes: &[u8]) {
        if let Some(c) = self.consoles.get_mut(guest as usize) {
            c.extend_from_slice(bytes);
        }
    }

    fn trace(&mut self, core: usize, cycle: u64, event: TraceEvent) {
        match event {
            TraceEvent::Sample { guest, vcpu, kind, value } => {
                self.samples.push(Sample { cycle, core, guest, vcpu, kind, value });
            }
            TraceEvent::GuestExit { guest, status } => {
                if let Some(e) = self.exits.get_mut(guest as usize) {
                    e.get_or_insert(status);
                }
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
        let running_before = self.log.guests_running();
        let mut hw = SimCore { core, cpu, bus, sink: &mut self.log };
        self.instances[core].enter(&mut hw);
        if running_before > 0 && self.log.guests_running() == 0 {
            // Every guest has exited: the run is over. On the board the
            // hypervisor would power off; here it tells the simulator.
            let status = self.log.exits.iter().flatten().fold(0, |acc, &s| acc | s);
            bus.write(core, &mut cpu.cycles, simctl::BASE, Size::Long, status).expect("SIMCTL exit");
        }
    }
}
