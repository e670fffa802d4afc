//! The RP1 machine: up to four SH-4A cores on one bus, run by one host
//! thread in a fixed-quantum round robin over simulated time.
//!
//! Time: every core has a cycle counter at 600 MHz. A round advances all
//! running cores to the same cycle, `round_end`, which is the earlier of
//! the quantum boundary and the next device event (a timer underflow), so
//! interrupts are raised at their exact cycle. Within a round, core 0 runs
//! first, then core 1, and so on; a core stops early when it writes to a
//! device or changes SR, so that interrupts and core starts are seen by the
//! next instruction. The order never depends on the host: the same image
//! and configuration give the same result.
//!
//! Owns: the cores, the bus, the opcode table, the console capture.

use crate::bus::Rp1Bus;
use crate::cpu::{Cpu, OpTable, Stop, TraceEvent};
use std::io::Write as _;
use std::sync::Arc;

/// Machine configuration (what the CLI and tests choose).
#[derive(Clone, Debug)]
pub struct Config {
    /// Cores present, 1 to 4.
    pub cores: usize,
    /// DRAM size in bytes (at physical 0x08000000), up to 128 MiB.
    pub dram_size: u32,
    /// Round-robin quantum in cycles.
    pub quantum: u64,
    /// Collect an instruction/exception/interrupt trace.
    pub trace: bool,
}

impl Default for Config {
    fn default() -> Self {
        Config { cores: 4, dram_size: 128 << 20, quantum: 1000, trace: false }
    }
}

/// A configuration the machine cannot be built with.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ConfigError {
    #[error("cores must be 1 to 4, not {0}")]
    Cores(usize),
    #[error("DRAM size must be a non-zero multiple of 4 KiB up to 128 MiB, not {0:#x}")]
    DramSize(u32),
    #[error("the quantum must be at least 1 cycle")]
    Quantum,
}

/// A hypervisor hosted on the machine: Rust code that stands in for the
/// handlers at a core's vector base (see `Cpu::host_vbr`). It sees the
/// core and the bus only for the duration of one entry.
pub trait Host {
    /// Core `core` took an exception or interrupt into its host vector
    /// base; the hardware entry (SPC, SSR, SGR, EXPEVT/INTEVT, SR.MD/RB/BL)
    /// is done. On return the core resumes wherever `cpu` now says.
    fn enter(&mut self, core: usize, cpu: &mut Cpu, bus: &mut Rp1Bus);
}

/// No hypervisor: cores never set a host vector base.
pub struct NoHost;

impl Host for NoHost {
    fn enter(&mut self, core: usize, _cpu: &mut Cpu, _bus: &mut Rp1Bus) {
        unreachable!("core {core} entered a host vector base, but the machine runs without a hypervisor")
    }
}

/// Why `Machine::run` returned.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Exit {
    /// A guest wrote an exit code to SIMCTL.
    Guest(u32),
    /// The cycle limit was reached.
    CycleLimit,
    /// Every core is asleep or held in reset and nothing can wake one:
    /// the machine has halted.
    Halted,
    /// A debugger breakpoint was hit on this core.
    Breakpoint(usize),
    /// A core took an exception while SR.BL was set (or a TLB multiple
    /// hit), which resets it: software has lost control of that core.
    DoubleFault { core: usize, fault: crate::cpu::DoubleFault },
}

/// How a run ended, in the words `rp1 run`'s summary uses (addresses and
/// codes in hex); every report of a run's end prints this, never `Debug`.
impl std::fmt::Display for Exit {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Exit::Guest(code) => write!(f, "guest exit code {code}"),
            Exit::Halted => f.write_str("machine halted (all cores asleep, nothing can wake them)"),
            Exit::CycleLimit => f.write_str("cycle limit"),
            Exit::Breakpoint(core) => write!(f, "breakpoint on core {core}"),
            Exit::DoubleFault { core, fault } => {
                write!(f, "core {core} faulted: {fault}; software has lost control of the core")
            }
        }
    }
}

pub struct Machine {
    pub config: Config,
    pub cpus: Vec<Cpu>,
    pub bus: Rp1Bus,
    table: Arc<OpTable<Rp1Bus>>,
    /// Global simulated time: the end of the last completed round.
    pub now: u64,
    /// Everything the guest wrote to SCIF0.
    pub console: Vec<u8>,
    /// Output of the other SCIF ports.
    pub other_serial: [Vec<u8>; 4],
    /// Collected trace events (when enabled and no writer was given with
    /// `trace_to`; the caller drains it).
    pub trace: Vec<TraceEvent>,
    /// Set to stop at the end of the current step (debugger interrupt).
    pub stop_requested: bool,
    /// Where the trace goes as it is produced (`trace_to`), if anywhere.
    trace_out: Option<TraceOut>,
}

/// The trace writer and the first error it returned.
struct TraceOut {
    writer: Box<dyn std::io::Write + Send>,
    error: Option<std::io::Error>,
}

impl TraceOut {
    fn write(&mut self, events: &[TraceEvent], table: &OpTable<Rp1Bus>) {
        if self.error.is_some() {
            return;
        }
        for ev in events {
            if let Err(e) = writeln!(self.writer, "{}", crate::trace::format_event(ev, table)) {
                self.error = Some(e);
                return;
            }
        }
    }
}

impl Machine {
    pub fn new(config: Config) -> Result<Machine, ConfigError> {
        if !(1..=4).contains(&config.cores) {
            return Err(ConfigError::Cores(config.cores));
        }
        if config.dram_size == 0 || config.dram_size > crate::bus::DRAM_MAX || config.dram_size % 4096 != 0 {
            return Err(ConfigError::DramSize(config.dram_size));
        }
        if config.quantum == 0 {
            return Err(ConfigError::Quantum);
        }
        let mut cpus: Vec<Cpu> = (0..config.cores).map(Cpu::new).collect();
        for (i, cpu) in cpus.iter_mut().enumerate() {
            // Secondary cores are held in reset until core 0 starts them.
            cpu.halted = i != 0;
            if config.trace {
                // Room for a full chunk and the few events one step can
                // add past it: the buffer never grows.
                cpu.trace = Some(Vec::with_capacity(crate::cpu::TRACE_CHUNK + 16));
            }
        }
        let mut bus = Rp1Bus::new(config.cores, config.dram_size);
        // The board's boot monitor leaves SCIF0 set up as the console
        // (transmitter and receiver enabled) before it starts a program;
        // Linux's early console and bare-metal programs rely on that.
        use crate::devices::{scif, Access, Mmio, Size};
        bus.scif[0]
            .write(Access { core: 0, now: 0 }, 0x08, Size::Word, (scif::SCSCR_TE | scif::SCSCR_RE) as u32)
            .expect("SCSCR accepts a word write");
        Ok(Machine {
            bus,
            cpus,
            table: Arc::new(OpTable::new()),
            now: 0,
            console: Vec::new(),
            other_serial: Default::default(),
            trace: Vec::new(),
            stop_requested: false,
            trace_out: None,
            config,
        })
    }

    /// The decoded opcode table (shared by all cores).
    pub fn table(&self) -> &OpTable<Rp1Bus> {
        &self.table
    }

    /// Run until a guest exits, the machine halts, a breakpoint is hit, or
    /// global time reaches `limit` cycles (at the end of the round that
    /// reaches it: up to a quantum later). Running to `a` then to `b` gives
    /// exactly the machine state of running to `b` directly.
    pub fn run(&mut self, limit: u64) -> Exit {
        self.run_hosted(&mut NoHost, limit)
    }

    /// [`Machine::run`] with a hosted hypervisor: whenever a core enters
    /// its host vector base (`Cpu::host_vbr`), `host` runs for that core
    /// before the core executes another instruction.
    pub fn run_hosted<H: Host>(&mut self, host: &mut H, limit: u64) -> Exit {
        loop {
            if let Some(code) = self.bus.simctl.exit_code {
                return Exit::Guest(code);
            }
            if self.now >= limit {
                return Exit::CycleLimit;
            }
            if self.halted() {
                return Exit::Halted;
            }
            // Rounds end on multiples of the quantum or at device events,
            // never at `limit`: where a caller slices a run must not change
            // how the cores interleave, so the last round may pass `limit`
            // by less than a quantum.
            let q = self.config.quantum;
            let mut round_end = (self.now / q + 1) * q;
            if let Some(event) = self.bus.next_event(self.now) {
                round_end = round_end.min(event.max(self.now + 1));
            }
            if let Some(exit) = self.run_round(host, round_end) {
                return exit;
            }
            self.now = round_end;
            self.after_round();
        }
    }

    /// Run every core up to `round_end`, unless a core hits a breakpoint or
    /// double-faults.
    fn run_round<H: Host>(&mut self, host: &mut H, round_end: u64) -> Option<Exit> {
        let table = Arc::clone(&self.table);
        for i in 0..self.cpus.len() {
            if self.cpus[i].halted {
                self.cpus[i].cycles = round_end;
                continue;
            }
            loop {
                let cpu = &mut self.cpus[i];
                self.bus.sync_interrupts(cpu.cycles);
                if let Some(p) = self.bus.intc.pending_at(i, cpu.cycles) {
                    if cpu.accept_interrupt(&mut self.bus, p.level, p.intevt as u32) {
                        self.bus.intc.accept(i, p.intevt);
                    }
                }
                self.serve_host(host, i);
                let cpu = &mut self.cpus[i];
                if cpu.sleeping {
                    cpu.cycles = cpu.cycles.max(round_end);
                    break;
                }
                // A full trace buffer only hands its events on: the core
                // runs on as if `run` had not returned.
                let stop = loop {
                    let stop = self.cpus[i].run(&mut self.bus, &table, round_end);
                    self.flush_trace(i);
                    if stop != Stop::TraceFull {
                        break stop;
                    }
                };
                self.serve_host(host, i);
                if self.bus.simctl.exit_code.is_some() {
                    return None;
                }
                if let Some(fault) = self.cpus[i].double_fault.take() {
                    self.after_round();
                    return Some(Exit::DoubleFault { core: i, fault });
                }
                self.start_requested_cores(round_end);
                match stop {
                    Stop::Limit => break,
                    Stop::Yield | Stop::Sleep => {
                        if self.cpus[i].cycles >= round_end && !self.cpus[i].sleeping {
                            break;
                        }
                    }
                    Stop::Breakpoint => return Some(Exit::Breakpoint(i)),
                    Stop::TraceFull => continue, // not returned by the loop above
                }
            }
        }
        None
    }

    /// Run the hosted hypervisor for core `i` if the core entered it.
    fn serve_host<H: Host>(&mut self, host: &mut H, i: usize) {
        let cpu = &mut self.cpus[i];
        if cpu.host_entered {
            cpu.host_entered = false;
            host.enter(i, cpu, &mut self.bus);
        }
    }

    fn after_round(&mut self) {
        self.start_requested_cores(self.now);
        self.bus.sync_interrupts(self.now);
        self.console.extend(self.bus.scif[0].take_output());
        for port in 1..4 {
            let out = self.bus.scif[port].take_output();
            self.other_serial[port].extend(out);
        }
        for i in 0..self.cpus.len() {
            self.flush_trace(i);
        }
    }

    /// Hand core `i`'s buffered trace events on: to the trace writer
    /// (`trace_to`) if there is one, else to `self.trace`. Cores are
    /// flushed as each finishes its turn, so the events come in the order
    /// they always did: round by round, core by core.
    fn flush_trace(&mut self, i: usize) {
        let Some(events) = self.cpus[i].trace.as_mut() else { return };
        if events.is_empty() {
            return;
        }
        match self.trace_out.as_mut() {
            None => self.trace.append(events),
            Some(out) => {
                out.write(events, &self.table);
                events.clear();
            }
        }
    }

    /// Write the trace (`Config::trace`) to `out` as it is produced, one
    /// line per event (`trace::format_event`), instead of collecting it in
    /// `self.trace`. Memory then stays bounded however long the run and
    /// whatever the quantum: each core buffers at most
    /// `cpu::TRACE_CHUNK` events before they are written. Writing stops at
    /// the first error (`trace_error`); the run goes on.
    pub fn trace_to(&mut self, out: Box<dyn std::io::Write + Send>) {
        self.trace_out = Some(TraceOut { writer: out, error: None });
    }

    /// The first error writing the trace, if any.
    pub fn trace_error(&self) -> Option<&std::io::Error> {
        self.trace_out.as_ref().and_then(|t| t.error.as_ref())
    }

    /// Write out every event still buffered and flush the trace writer;
    /// the first error writing or flushing it.
    pub fn finish_trace(&mut self) -> std::io::Result<()> {
        for i in 0..self.cpus.len() {
            self.flush_trace(i);
        }
        let Some(out) = self.trace_out.as_mut() else { return Ok(()) };
        if let Some(e) = out.error.take() {
            return Err(e);
        }
        out.writer.flush()
    }

    /// Start the cores the RESET/STBCR registers released.
    fn start_requested_cores(&mut self, now: u64) {
        for (core, entry) in self.bus.rst.take_starts() {
            if let Some(cpu) = self.cpus.get_mut(core) {
                cpu.reset(entry);
                cpu.halted = false;
                cpu.cycles = cpu.cycles.max(now);
            }
        }
    }

    /// No core can make progress and no device event is scheduled.
    fn halted(&mut self) -> bool {
        if !self.cpus.iter().all(|c| c.halted || c.sleeping) {
            return false;
        }
        // Asleep with every maskable interrupt blocked: nothing but an NMI
        // (which the RP1 model has no source for) could wake the machine.
        if self.cpus.iter().all(|c| c.halted || !c.accepts_interrupt(15)) {
            return true;
        }
        if self.bus.next_event(self.now).is_some() {
            return false;
        }
        self.bus.sync_interrupts(self.now);
        for (i, cpu) in self.cpus.iter().enumerate() {
            if cpu.halted {
                continue;
            }
            if let Some(p) = self.bus.intc.pending(i) {
                if cpu.accepts_interrupt(p.level) {
                    return false;
                }
            }
        }
        true
    }

    /// Console output so far, as text (invalid UTF-8 replaced).
    pub fn console_text(&self) -> String {
        String::from_utf8_lossy(&self.console).into_owned()
    }
}
