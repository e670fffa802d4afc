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
use crate::cpu::jit::Tier;
use crate::cpu::{Cpu, OpTable, Rounds, Stop, TraceEvent};
use std::io::Write as _;
use std::sync::Arc;

/// The largest round-robin quantum, in cycles (1/600 of a simulated
/// second). A core runs at most this long before the next core gets its
/// turn, and a run stopped by [`Machine::run`]'s limit passes it by less
/// than a quantum, so the cap bounds both.
pub const MAX_QUANTUM: u64 = 1_000_000;

/// SCIF1-3 output the machine keeps by default: at least the last this
/// many bytes of each port (see [`Machine::serial_limit`]).
pub const SERIAL_KEEP: usize = 64 * 1024;

/// Machine configuration (what the CLI and tests choose).
#[derive(Clone, Debug)]
pub struct Config {
    /// Cores present, 1 to 4.
    pub cores: usize,
    /// DRAM size in bytes (at physical 0x08000000), up to 128 MiB.
    pub dram_size: u32,
    /// Round-robin quantum in cycles, 1 to [`MAX_QUANTUM`].
    pub quantum: u64,
    /// Collect an instruction/exception/interrupt trace.
    pub trace: bool,
    /// The execution tier (`cpu::jit`): `None` takes the environment
    /// variable `RP1_TIER` (`interp` or `jit`), else the translating tier
    /// (or the interpreter, on a host Cranelift has no backend for). The
    /// tiers give the same machine, cycle for cycle; only host speed
    /// differs.
    pub tier: Option<Tier>,
    /// The translating tier's hot threshold (visits of a word, arrivals
    /// there, before it is translated): `None` takes `RP1_JIT_HOT`, else
    /// `jit::BACKGROUND_HOT` compiling in the background, `jit::HOT_THRESHOLD`
    /// otherwise. Low values translate nearly everything (the
    /// tier tests use 2); the result is the same machine either way.
    pub jit_hot: Option<u32>,
    /// Compile translations on a host thread of their own (`true`) or on
    /// the simulating thread when a word turns hot: `None` takes
    /// `RP1_JIT_BACKGROUND` (`1` or `0`), else `true`. The simulated
    /// machine is the same either way; the tier's own counters
    /// (translations, instructions run translated) vary from run to run
    /// in the background, and are the same every run otherwise.
    pub jit_background: Option<bool>,
    /// Cycles from an inter-core interrupt's request to the first clock
    /// reading of its receiver that can take it, 0 to [`MAX_ICI_LATENCY`]:
    /// `None` takes `RP1_ICI_LATENCY`, else 0 (the receiver can take it
    /// from the sender's clock on). A model parameter of the interconnect,
    /// for experiments on how IPI latency moves a guest's behaviour
    /// (docs/linux-guest.md); every figure of the tests is at 0.
    pub ici_latency: Option<u64>,
    /// Let a core that runs alone run through the ends of rounds at which
    /// the machine would find nothing to do (`cpu::Rounds`): `None` takes
    /// `RP1_FUSE_ROUNDS` (`1` or `0`), else `true`. The machine is the
    /// same either way, cycle for cycle; `false` stops every core at every
    /// round's end, the reference the tests compare with.
    pub fuse_rounds: Option<bool>,
}

/// The largest ICI latency, in cycles (a simulated millisecond).
pub const MAX_ICI_LATENCY: u64 = 600_000;

impl Default for Config {
    fn default() -> Self {
        Config { cores: 4, dram_size: 128 << 20, quantum: 1000, trace: false, tier: None, jit_hot: None, jit_background: None, ici_latency: None, fuse_rounds: None }
    }
}

/// The ICI latency `Config::ici_latency` names, or `RP1_ICI_LATENCY`
/// says (cycles, 0 to [`MAX_ICI_LATENCY`]); 0 if neither does.
pub fn resolve_ici_latency(latency: Option<u64>) -> Result<u64, ConfigError> {
    let latency = number_setting(latency, "RP1_ICI_LATENCY", ConfigError::IciLatencyVariable)?.unwrap_or(0);
    if latency <= MAX_ICI_LATENCY {
        Ok(latency)
    } else {
        Err(ConfigError::IciLatency(latency))
    }
}

/// The hot threshold `Config::jit_hot` names, or `RP1_JIT_HOT` says (a
/// number from 1 to 65536); `None` if neither does (the tier's default for
/// where it compiles: `jit::HOT_THRESHOLD` or `jit::BACKGROUND_HOT`).
pub fn resolve_jit_hot(hot: Option<u32>) -> Result<Option<u32>, ConfigError> {
    match number_setting(hot, "RP1_JIT_HOT", ConfigError::JitHotVariable)? {
        Some(h) if !(1..=65536).contains(&h) => Err(ConfigError::JitHot(h)),
        hot => Ok(hot),
    }
}

/// Whether `Config::jit_background` or `RP1_JIT_BACKGROUND` (`1` or `0`)
/// says to compile in the background; by default it does.
pub fn resolve_jit_background(background: Option<bool>) -> Result<bool, ConfigError> {
    switch_setting(background, "RP1_JIT_BACKGROUND", ConfigError::JitBackgroundVariable)
}

/// Whether `Config::fuse_rounds` or `RP1_FUSE_ROUNDS` (`1` or `0`) says
/// to let a lone core run through empty round ends; by default it does.
pub fn resolve_fuse_rounds(fuse: Option<bool>) -> Result<bool, ConfigError> {
    switch_setting(fuse, "RP1_FUSE_ROUNDS", ConfigError::FuseRoundsVariable)
}

/// `value` if the configuration gives it, else the environment variable
/// `name` (`1` or `0`; `bad` makes the error for anything else), else on.
fn switch_setting(value: Option<bool>, name: &str, bad: fn(String) -> ConfigError) -> Result<bool, ConfigError> {
    if let Some(v) = value {
        return Ok(v);
    }
    match env_setting(name).map_err(bad)?.as_deref() {
        None | Some("1") => Ok(true),
        Some("0") => Ok(false),
        Some(other) => Err(bad(other.to_string())),
    }
}

/// The tier `Config::tier` names, or `RP1_TIER` says (`Some`); `None`
/// if neither names one.
pub fn resolve_tier(tier: Option<Tier>) -> Result<Option<Tier>, ConfigError> {
    if let Some(t) = tier {
        return Ok(Some(t));
    }
    match env_setting("RP1_TIER").map_err(ConfigError::TierVariable)? {
        Some(v) => v.parse().map(Some).map_err(|_| ConfigError::TierVariable(v)),
        None => Ok(None),
    }
}

/// `value` if the configuration gives it, else the environment variable
/// `name` read as a number (`bad` makes the error for one that is not);
/// `None` if neither says.
fn number_setting<T: std::str::FromStr>(value: Option<T>, name: &str, bad: fn(String) -> ConfigError) -> Result<Option<T>, ConfigError> {
    if value.is_some() {
        return Ok(value);
    }
    match env_setting(name).map_err(bad)? {
        Some(v) => v.trim().parse().map(Some).map_err(|_| bad(v)),
        None => Ok(None),
    }
}

/// The environment variable `name`: `None` if unset, its value (lossily
/// decoded) as the error if it is not Unicode.
fn env_setting(name: &str) -> Result<Option<String>, String> {
    match std::env::var(name) {
        Ok(v) => Ok(Some(v)),
        Err(std::env::VarError::NotPresent) => Ok(None),
        Err(std::env::VarError::NotUnicode(v)) => Err(v.to_string_lossy().into_owned()),
    }
}

/// A configuration the machine cannot be built with.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ConfigError {
    #[error("cores must be 1 to 4, not {0}")]
    Cores(usize),
    #[error("DRAM size must be a non-zero multiple of 4 KiB up to 128 MiB, not {0:#x}")]
    DramSize(u32),
    #[error("the quantum must be 1 to {max} cycles, not {0}", max = MAX_QUANTUM)]
    Quantum(u64),
    #[error("RP1_TIER must be interp or jit, not {0:?}")]
    TierVariable(String),
    #[error("the translating tier cannot start: {0}")]
    Jit(String),
    #[error("RP1_JIT_HOT must be a number from 1 to 65536, not {0:?}")]
    JitHotVariable(String),
    #[error("the hot threshold must be 1 to 65536 visits, not {0}")]
    JitHot(u32),
    #[error("RP1_JIT_BACKGROUND must be 1 or 0, not {0:?}")]
    JitBackgroundVariable(String),
    #[error("RP1_FUSE_ROUNDS must be 1 or 0, not {0:?}")]
    FuseRoundsVariable(String),
    #[error("RP1_ICI_LATENCY must be a number of cycles from 0 to {max}, not {0:?}", max = MAX_ICI_LATENCY)]
    IciLatencyVariable(String),
    #[error("the ICI latency must be 0 to {max} cycles, not {0}", max = MAX_ICI_LATENCY)]
    IciLatency(u64),
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
    /// Every core is asleep or held in reset and nothing can wake one, and
    /// every core that went to sleep with every maskable interrupt masked
    /// (SR.IMASK = 15) did so inside a halt routine
    /// ([`Machine::halt_routines`]), at least one did, or every core is in
    /// reset: the machine has halted, the way software halts it on
    /// purpose. (Linux's halt sleeps the CPU that halts with interrupts
    /// masked in `stop_this_cpu`; the other CPUs may be left idle.)
    Halted,
    /// Every core is asleep or held in reset and nothing can wake one, and
    /// `core` went to sleep with every maskable interrupt masked, by the
    /// SLEEP at `pc` (its PC is the next word), outside every halt routine of the machine
    /// ([`Machine::halt_routines`]): it can never wake, and did not stop
    /// where its software stops on purpose (a deadlock, a guest that
    /// masked interrupts and waited for one).
    Deadlocked { core: usize, pc: u32 },
    /// Every core is asleep or held in reset, every sleeping core waits
    /// for an interrupt it would take (none has them masked), but none is
    /// pending and no device will raise one: nothing can ever run again,
    /// and no core halted on purpose (a lost wake-up, a timer never
    /// started, cores waiting on each other).
    Stuck,
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
            Exit::Deadlocked { core, pc } => write!(
                f,
                "machine deadlocked (every core asleep or in reset, nothing can wake them; core {core} went to sleep \
                 with interrupts masked at {pc:#010x}, outside every halt routine)"
            ),
            Exit::Stuck => f.write_str(
                "machine stuck (every core asleep or in reset, waiting with interrupts open for one that nothing will raise)",
            ),
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
    /// What the guest wrote to SCIF0 that the machine keeps: everything,
    /// unless [`Machine::console_limit`] is lower or a caller cleared it
    /// (the bytes kept are always the last ones written).
    pub console: Vec<u8>,
    /// Bytes ever written to SCIF0, kept or not.
    pub console_bytes: u64,
    /// Keep at least the last this many bytes of SCIF0 output, and at most
    /// twice as many (the oldest are dropped in bulk); 0 keeps nothing.
    /// Unlimited by default.
    pub console_limit: usize,
    /// Output of the other SCIF ports (index 1-3; 0 stays empty), bounded
    /// as `console` is by [`Machine::serial_limit`].
    pub other_serial: [Vec<u8>; 4],
    /// Bytes ever written to each of SCIF1-3 (index 1-3), kept or not.
    pub serial_bytes: [u64; 4],
    /// Keep at least the last this many bytes of each of SCIF1-3, and at
    /// most twice as many; [`SERIAL_KEEP`] by default.
    pub serial_limit: usize,
    /// A run never passes this cycle: rounds are cut there (see
    /// [`Machine::stop_at`]).
    hard_limit: u64,
    /// Collected trace events (when enabled and no writer was given with
    /// `trace_to`; the caller drains it).
    pub trace: Vec<TraceEvent>,
    /// Set to stop at the end of the current step (debugger interrupt).
    pub stop_requested: bool,
    /// When set, each core's PC is sampled at the end of every round.
    pub profile: Option<crate::profile::PcProfile>,
    /// Where the loaded software stops on purpose: virtual PC ranges
    /// (`loader::halt_routines` finds them in an image). A core asleep
    /// with interrupts masked inside one has halted; anywhere else it is
    /// deadlocked ([`Exit::Deadlocked`]). Empty by default: then every
    /// such sleep is a deadlock.
    pub halt_routines: Vec<std::ops::Range<u32>>,
    /// Where the trace goes as it is produced (`trace_to`), if anywhere.
    trace_out: Option<TraceOut>,
    /// The stalls and flips of the fault plan ([`Machine::set_faults`]),
    /// if it has any; `None` costs nothing.
    faults: Option<Box<crate::faults::MachinePlan>>,
    /// `Config::fuse_rounds` as resolved.
    fuse_rounds: bool,
    /// The rounds run so far.
    pub rounds: RoundCounts,
}

/// How many rounds the machine ran, and through how many ends of them a
/// lone core ran on (`cpu::Rounds`): measured, for the report.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct RoundCounts {
    /// Rounds whose end the machine looked at.
    pub looked: u64,
    /// Rounds a lone core ran through, no look at their end.
    pub passed: u64,
}

/// A round's turns (`Machine::run_round`) as they go.
struct Turns {
    /// The end of the round: moved on when a core runs through rounds.
    end: u64,
    /// How far the round's first run may take its core; `end` once a
    /// core has run.
    horizon: u64,
    /// The core that ran through rounds, if one did.
    alone: Option<usize>,
}

/// How a round's turns (`Machine::turns`) ended.
enum Turned {
    /// Every core had its turn.
    All,
    /// A guest's exit (SIMCTL) cut them short: the machine stops after
    /// this round.
    CutShort,
    /// A core stopped the run (a breakpoint, a double fault).
    Stopped(Exit),
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
        if !(1..=MAX_QUANTUM).contains(&config.quantum) {
            return Err(ConfigError::Quantum(config.quantum));
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
        match resolve_tier(config.tier)? {
            Some(tier) => bus.set_tier(tier).map_err(ConfigError::Jit)?,
            // The default: the translating tier, the faster on every run
            // but the shortest (docs/benchmarks.md), where the host has a
            // Cranelift backend; else the interpreter (it has one already).
            None => bus.set_tier(Tier::Jit).unwrap_or(()),
        }
        bus.set_jit_background(resolve_jit_background(config.jit_background)?).map_err(ConfigError::Jit)?;
        if let Some(hot) = resolve_jit_hot(config.jit_hot)? {
            bus.set_jit_hot(hot);
        }
        bus.intc.ici_latency = resolve_ici_latency(config.ici_latency)?;
        let fuse_rounds = resolve_fuse_rounds(config.fuse_rounds)?;
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
            console_bytes: 0,
            console_limit: usize::MAX,
            other_serial: Default::default(),
            serial_bytes: [0; 4],
            serial_limit: SERIAL_KEEP,
            hard_limit: u64::MAX,
            trace: Vec::new(),
            stop_requested: false,
            profile: None,
            halt_routines: Vec::new(),
            trace_out: None,
            faults: None,
            fuse_rounds,
            rounds: RoundCounts::default(),
            config,
        })
    }

    /// Apply the fault plan `plan` from now on (`crate::faults`), replacing
    /// any earlier one and its counts. Refused, changing nothing, if the
    /// plan does not fit this machine. An empty plan removes faults: the
    /// machine then runs exactly as one that never had a plan.
    pub fn set_faults(&mut self, plan: &crate::faults::Faults) -> Result<(), crate::faults::FaultError> {
        use crate::faults::{IciPlan, MachinePlan};
        plan.check(self.cpus.len())?;
        self.bus.intc.ici_faults = (!plan.ici.is_empty()).then(|| Box::new(IciPlan::new(plan.ici.clone(), plan.seed)));
        self.faults = (!plan.stalls.is_empty() || !plan.flips.is_empty())
            .then(|| Box::new(MachinePlan::new(plan.stalls.clone(), plan.flips.clone())));
        Ok(())
    }

    /// What the fault plan injected so far.
    pub fn injected(&self) -> crate::faults::Injected {
        let mut done = crate::faults::Injected::default();
        if let Some(ici) = &self.bus.intc.ici_faults {
            done.ici_lost = ici.lost;
            done.ici_delayed = ici.delayed;
        }
        if let Some(m) = &self.faults {
            done.stall_cycles = m.stall_cycles;
            done.words_flipped = m.words_flipped;
        }
        done
    }

    /// The decoded opcode table (shared by all cores).
    pub fn table(&self) -> &OpTable<Rp1Bus> {
        &self.table
    }

    /// Run until a guest exits, the machine halts, a breakpoint is hit, or
    /// global time reaches `limit` cycles (at the end of the round that
    /// reaches it: up to a quantum later, but never past [`Machine::stop_at`]).
    /// Running to `a` then to `b` gives exactly the machine state of
    /// running to `b` directly.
    pub fn run(&mut self, limit: u64) -> Exit {
        self.run_hosted(&mut NoHost, limit)
    }

    /// End every run at `cycle` exactly: the round that would pass it is
    /// cut there, every core running up to it, and `run` returns
    /// [`Exit::CycleLimit`] from then on. For a caller's final limit (`rp1
    /// run --max-cycles`): rounds before `cycle` are not changed, so a run
    /// that ends earlier is identical with or without it, and slicing a
    /// run below it still changes nothing.
    pub fn stop_at(&mut self, cycle: u64) {
        self.hard_limit = cycle;
    }

    /// The SCIF0 bytes written after the first `pos` ever written
    /// ([`Machine::console_bytes`] as it was), as far as they are kept.
    pub fn console_since(&self, pos: u64) -> &[u8] {
        let new = self.console_bytes.saturating_sub(pos).min(self.console.len() as u64) as usize;
        &self.console[self.console.len() - new..]
    }

    /// [`Machine::run`] with a hosted hypervisor: whenever a core enters
    /// its host vector base (`Cpu::host_vbr`), `host` runs for that core
    /// before the core executes another instruction.
    pub fn run_hosted<H: Host>(&mut self, host: &mut H, limit: u64) -> Exit {
        let limit = limit.min(self.hard_limit);
        // Shared with the cores for the whole call, not cloned at every
        // round (two atomic operations a round).
        let table = Arc::clone(&self.table);
        loop {
            if let Some(code) = self.bus.simctl.exit_code {
                return Exit::Guest(code);
            }
            if self.now >= limit {
                return Exit::CycleLimit;
            }
            if let Some(end) = self.halted() {
                return end;
            }
            // Rounds end on multiples of the quantum or at device events,
            // never at `limit`: where a caller slices a run must not change
            // how the cores interleave, so the last round may pass `limit`
            // by less than a quantum. Only `stop_at`, the end of the whole
            // run, cuts a round.
            let q = self.config.quantum;
            let mut round_end = (self.now / q + 1).saturating_mul(q);
            let event = self.bus.next_event(self.now);
            if let Some(event) = event {
                round_end = round_end.min(event.max(self.now + 1));
            }
            // Faults fall due at round boundaries: flips now, and rounds
            // are cut where a stall starts or ends or the next flip is due.
            if let Some(plan) = self.faults.as_mut() {
                plan.apply_flips(self.now, &mut self.bus.csm);
                if let Some(event) = plan.next_event(self.now) {
                    round_end = round_end.min(event);
                }
            }
            round_end = round_end.min(self.hard_limit);
            let horizon = self.fused_horizon(limit, round_end, event);
            let (end, exit) = self.run_round(host, &table, round_end, horizon);
            if let Some(exit) = exit {
                return exit;
            }
            self.now = end;
            self.after_round();
        }
    }

    /// How far a core that runs alone may run through rounds (`cpu::Rounds`)
    /// from the round ending at `round_end`: to the first device event
    /// (`event`, the bus's next), the end of the round that reaches
    /// `limit`, or the hard limit, where the loop above would do
    /// something; just `round_end` when fusing is off, or a fault plan or
    /// the profile wants every round's end.
    fn fused_horizon(&self, limit: u64, round_end: u64, event: Option<u64>) -> u64 {
        if !self.fuse_rounds || self.faults.is_some() || self.profile.is_some() {
            return round_end;
        }
        let q = self.config.quantum;
        // The loop returns at the first round end at or past `limit`: with
        // no event before it, the first multiple of the quantum there.
        let mut horizon = limit.div_ceil(q).saturating_mul(q).min(self.hard_limit);
        if let Some(event) = event {
            horizon = horizon.min(event);
        }
        horizon.max(round_end)
    }

    /// Whether core `i` runs alone with nothing to take it out of that:
    /// every other core in reset or asleep with no interrupt it would take,
    /// and none pending for `i` itself (even masked: an SR write could open
    /// it). Then the ends of rounds up to the next device event find
    /// nothing to do as long as `i` leaves the devices alone.
    fn runs_alone(&self, i: usize) -> bool {
        // The cores' states first: with several running (the common case
        // on a multi-core run) no interrupt controller is asked.
        let others_stopped = self.cpus.iter().enumerate().all(|(j, c)| j == i || c.halted || c.sleeping);
        others_stopped
            && self.bus.intc.pending(i).is_none()
            && (0..self.cpus.len()).all(|j| j == i || self.cpus[j].halted || !self.takes_pending(j))
    }

    /// Whether every core is in reset or asleep with no interrupt it would
    /// take.
    fn all_idle(&self) -> bool {
        (0..self.cpus.len()).all(|j| self.cpus[j].halted || (self.cpus[j].sleeping && !self.takes_pending(j)))
    }

    /// Whether core `j` would take the interrupt pending for it now (one
    /// requested for a later clock reading included).
    fn takes_pending(&self, j: usize) -> bool {
        self.bus.intc.pending(j).is_some_and(|p| self.cpus[j].accepts_interrupt(p.level))
    }

    /// Run every core up to `round_end`, unless a core hits a breakpoint or
    /// double-faults. The first core to run in the round may run on
    /// through rounds up to `horizon` if it runs alone (`cpu::Rounds`,
    /// `runs_alone`). Returns the end of the last round run; if the run
    /// stops there (an exit), `self.now` is that round's start.
    fn run_round<H: Host>(
        &mut self,
        host: &mut H,
        table: &OpTable<Rp1Bus>,
        round_end: u64,
        horizon: u64,
    ) -> (u64, Option<Exit>) {
        self.rounds.looked += 1;
        let mut round_end = round_end;
        if horizon > round_end && self.all_idle() {
            // No core runs, and none will before the next device event:
            // every turn to the horizon finds its core asleep.
            let q = self.config.quantum;
            self.rounds.passed += (horizon - 1) / q - self.now / q;
            round_end = horizon;
        }
        let mut turns = Turns { end: round_end, horizon, alone: None };
        let result = self.turns(host, table, &mut turns);
        let end = turns.end;
        if let Some(alone) = turns.alone.filter(|_| end > round_end) {
            // The rounds it ran through, as the machine would have run
            // them one by one: the cores before it had their turn in each
            // (asleep with nothing to wake them, or in reset: their clocks
            // reach the round's end), and so did the cores after it,
            // except in the last round if the run stops in it.
            let q = self.config.quantum;
            let last_start = self.now.max((end - 1) / q * q);
            for (j, cpu) in self.cpus.iter_mut().enumerate() {
                if j < alone {
                    cpu.cycles = cpu.cycles.max(end);
                } else if j > alone && !matches!(result, Turned::All) {
                    cpu.cycles = cpu.cycles.max(last_start);
                }
            }
            if matches!(result, Turned::Stopped(_)) {
                self.now = last_start;
            }
        }
        match result {
            Turned::All | Turned::CutShort => (end, None),
            Turned::Stopped(exit) => {
                if matches!(exit, Exit::DoubleFault { .. }) {
                    self.after_round();
                }
                (end, Some(exit))
            }
        }
    }

    /// The cores' turns of `run_round`, core by core.
    fn turns<H: Host>(&mut self, host: &mut H, table: &OpTable<Rp1Bus>, turns: &mut Turns) -> Turned {
        for i in 0..self.cpus.len() {
            if let Some(plan) = self.faults.as_mut() {
                // A stopped core passes the round untouched: no
                // instruction, no interrupt taken.
                if plan.stalled(i, self.now) {
                    plan.stall_cycles += turns.end - self.now;
                    let cpu = &mut self.cpus[i];
                    cpu.cycles = cpu.cycles.max(turns.end);
                    continue;
                }
            }
            if self.cpus[i].halted {
                self.cpus[i].cycles = turns.end;
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
                    cpu.cycles = cpu.cycles.max(turns.end);
                    break;
                }
                // Only the round's first run may pass the round's end:
                // the horizon holds until some core has run.
                let mut rounds = Rounds { end: turns.end, quantum: self.config.quantum, horizon: turns.end, passed: 0 };
                if turns.horizon > turns.end && self.runs_alone(i) {
                    rounds.horizon = turns.horizon;
                    turns.alone = Some(i);
                }
                turns.horizon = turns.end;
                // A full trace buffer only hands its events on: the core
                // runs on as if `run` had not returned.
                let stop = loop {
                    let stop = self.cpus[i].run_rounds(&mut self.bus, table, &mut rounds);
                    self.flush_trace(i);
                    if stop != Stop::TraceFull {
                        break stop;
                    }
                };
                turns.end = rounds.end;
                self.rounds.passed += rounds.passed;
                self.serve_host(host, i);
                if self.bus.simctl.exit_code.is_some() {
                    return Turned::CutShort;
                }
                if let Some(fault) = self.cpus[i].double_fault.take() {
                    return Turned::Stopped(Exit::DoubleFault { core: i, fault });
                }
                self.start_requested_cores(turns.end);
                match stop {
                    Stop::Limit => break,
                    Stop::Yield | Stop::Sleep => {
                        if self.cpus[i].cycles >= turns.end && !self.cpus[i].sleeping {
                            break;
                        }
                    }
                    Stop::Breakpoint => return Turned::Stopped(Exit::Breakpoint(i)),
                    Stop::TraceFull => continue, // not returned by the loop above
                }
            }
        }
        Turned::All
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
        if let Some(p) = self.profile.as_mut() {
            for (core, cpu) in self.cpus.iter().enumerate() {
                p.sample(core, cpu.pc, cpu.sleeping || cpu.halted);
            }
        }
        self.start_requested_cores(self.now);
        self.bus.sync_interrupts(self.now);
        let out = self.bus.scif[0].take_output();
        self.console_bytes += out.len() as u64;
        keep(&mut self.console, &out, self.console_limit);
        for port in 1..4 {
            let out = self.bus.scif[port].take_output();
            self.serial_bytes[port] += out.len() as u64;
            keep(&mut self.other_serial[port], &out, self.serial_limit);
        }
        for i in 0..self.cpus.len() {
            self.flush_trace(i);
        }
    }

    /// Hand core `i`'s buffered trace events on: to the trace writer
    /// (`trace_to`) if there is one, else to `self.trace`. Cores are
    /// flushed as each finishes its turn, so the events come in the order
    /// they always did: round by round, core by core.
    #[inline]
    fn flush_trace(&mut self, i: usize) {
        // Called for every core at every round; the events are rare.
        if self.cpus[i].trace.as_ref().is_some_and(|events| !events.is_empty()) {
            self.hand_trace_on(i);
        }
    }

    #[cold]
    #[inline(never)]
    fn hand_trace_on(&mut self, i: usize) {
        let Some(events) = self.cpus[i].trace.as_mut() else { return };
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

    /// Start the cores the RESET/STBCR registers released. Called after
    /// every turn of every core, and nearly always with none: the test is
    /// inlined at the callers, the work is not.
    #[inline(always)]
    fn start_requested_cores(&mut self, now: u64) {
        if self.bus.rst.has_starts() {
            self.start_released_cores(now);
        }
    }

    /// `start_requested_cores`' work, where a core was released: reset
    /// and run each from its entry, its clock brought up to `now`.
    #[inline(never)]
    fn start_released_cores(&mut self, now: u64) {
        for (core, entry) in self.bus.rst.take_starts() {
            if let Some(cpu) = self.cpus.get_mut(core) {
                cpu.reset(entry);
                cpu.halted = false;
                cpu.cycles = cpu.cycles.max(now);
            }
        }
    }

    /// Load an ELF image into memory ([`crate::loader::load_elf`]) and
    /// take its halt routines ([`crate::loader::halt_routines`]).
    pub fn load_elf(&mut self, image: &[u8]) -> Result<crate::loader::LoadedImage, crate::loader::LoadError> {
        let loaded = crate::loader::load_elf(&mut self.bus, image)?;
        self.halt_routines.extend(crate::loader::halt_routines(image));
        Ok(loaded)
    }

    /// How the machine ended if no core can make progress again
    /// ([`Exit::Halted`], [`Exit::Deadlocked`] or [`Exit::Stuck`]); `None`
    /// if one still can.
    fn halted(&mut self) -> Option<Exit> {
        if !self.cpus.iter().all(|c| c.halted || c.sleeping) {
            return None;
        }
        // Asleep with every maskable interrupt blocked: nothing but an NMI
        // (which the RP1 model has no source for) could wake the machine.
        if self.cpus.iter().all(|c| c.halted || !c.accepts_interrupt(15)) {
            return Some(self.masked_sleep_end());
        }
        if self.bus.next_event(self.now).is_some() {
            return None;
        }
        self.bus.sync_interrupts(self.now);
        if (0..self.cpus.len()).any(|i| !self.cpus[i].halted && self.takes_pending(i)) {
            return None;
        }
        // Nothing will ever wake a core. One that masked interrupts before
        // it slept stopped, on purpose if it did so in a halt routine:
        // Linux's halt stops the CPU that halts that way and can leave the
        // others idle, waiting with interrupts open. If every core waits
        // with interrupts open, none stopped: they wait for an interrupt
        // that will never come.
        if self.cpus.iter().any(|c| !c.halted && !c.accepts_interrupt(15)) {
            Some(self.masked_sleep_end())
        } else {
            Some(Exit::Stuck)
        }
    }

    /// The end of a machine nothing can wake where some core (or every
    /// core, in reset) sleeps masked: a halt if each such core sleeps in
    /// a halt routine, else a deadlock named by the first that does not.
    fn masked_sleep_end(&self) -> Exit {
        // A sleeping core's PC is the word after its SLEEP (where an
        // interrupt would return to); the SLEEP is what must lie in a
        // routine, which may end with it.
        let slept_at = |c: &Cpu| c.pc.wrapping_sub(2);
        let stray = self.cpus.iter().find(|c| {
            !c.halted && !c.accepts_interrupt(15) && !self.halt_routines.iter().any(|r| r.contains(&slept_at(c)))
        });
        match stray {
            Some(c) => Exit::Deadlocked { core: c.id, pc: slept_at(c) },
            None => Exit::Halted,
        }
    }

    /// The console output kept (all of it unless `console_limit` is lower
    /// or a caller cleared it), as text (invalid UTF-8 replaced).
    pub fn console_text(&self) -> String {
        String::from_utf8_lossy(&self.console).into_owned()
    }
}

/// Append `new` to `kept`, then, if `kept` holds more than twice `limit`
/// bytes, drop the oldest so that it holds the last `limit` (in bulk, so
/// that a port written flat out costs no copy per round).
fn keep(kept: &mut Vec<u8>, new: &[u8], limit: usize) {
    if limit == 0 {
        kept.clear();
        return;
    }
    kept.extend_from_slice(new);
    if kept.len() > limit.saturating_mul(2) {
        kept.drain(..kept.len() - limit);
    }
}
