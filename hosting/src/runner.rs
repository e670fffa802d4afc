//! Running a machine description: load each guest into its partition,
//! boot the hypervisor on every core, run, and collect what happened.
//!
//! Owns: the translation from the host's [`Description`] to the
//! hypervisor's fixed-size boot configuration (a `Config` for the hosted
//! model, a boot block for the board image), guest image loading and
//! parameter patching, and the run loop of either ([`Mode`]). Must not touch: the hypervisor's
//! decisions (it only reads the instances' counters afterwards).

use crate::description::{self, Description, InterruptMask, InterruptSource, PreemptCount};
use crate::hypervisor::{GuestFault, Hypervisor, Log};
use crate::native::{self, CoreFigures};
use crate::profile::{ImageCode, RunCode};
use rp1_sim::profile::PcProfile;
use rp1_sim::cpu::{Exception, ExceptionRecord};
use rp1_sim::machine::{Config as MachineConfig, Exit, Machine};
use spumone_kernel::guest::{GuestSpec, Partition, MAX_GUESTS, MAX_VCPUS};
use spumone_kernel::hypercall::Hypercall;
use spumone_kernel::ipl::GuestClass;
use spumone_percore::config::{Config, Costs, DeviceRoute, Policy, MAX_DEVICES};
use spumone_percore::instance::{Stats, StubCounts};
use spumone_percore::bootblock::{self, BootConfig};
use spumone_migration::mailbox::MailboxStats;
use spumone_migration::outbox::OutboxCounters;
use spumone_percore::post::PostStats;
use spumone_percore::tracebuf;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

/// Why a description could not be run.
#[derive(Debug, thiserror::Error)]
pub enum RunError {
    #[error("guest `{guest}`: {path}: {error}")]
    Image { guest: String, path: PathBuf, error: String },
    #[error("guest `{guest}`: parameter `{symbol}`: {error}")]
    Param { guest: String, symbol: String, error: String },
    #[error("the machine: {0}")]
    Machine(String),
    #[error("{0}")]
    Description(String),
    #[error("the board image: {0}")]
    Board(String),
}

/// Which hypervisor runs the description.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Mode {
    /// The board image (`scripts/build-hv.sh`): SH-4A code in each core's
    /// URAM, booted by the machine like any program. Every figure is
    /// measured: the cycles the hypervisor's code took.
    Native { image: PathBuf },
    /// The hypervisor crates as host Rust beside the simulator, entered
    /// where the board's stubs would be, charging simulated time from the
    /// description's cost table: a fast model for tests and what-if runs.
    Hosted,
}

impl Mode {
    /// How a report qualifies the hypervisor's costs.
    pub fn costs_are(&self) -> &'static str {
        match self {
            Mode::Native { .. } => "measured",
            Mode::Hosted => "charged from the cost table",
        }
    }
}

/// How long and how to run.
#[derive(Clone, Debug)]
pub struct RunOptions {
    /// Stop after this many cycles even if guests are still running.
    pub max_cycles: u64,
    /// Keep every scheduling event (for a timeline).
    pub keep_events: bool,
    pub mode: Mode,
}

/// What a run produced.
#[derive(Debug)]
pub struct RunResult {
    pub exit: Exit,
    /// Simulated cycles when the run ended.
    pub cycles: u64,
    pub host: Duration,
    pub instructions: u64,
    pub log: Log,
    /// Per core: the instance's counters and its mailbox's.
    pub stats: Vec<Stats>,
    pub mailbox: Vec<PostStats>,
    /// Guest names, by guest number.
    pub guests: Vec<String>,
    /// Size of one instance's state in bytes (must fit core-local memory).
    pub instance_bytes: usize,
    /// Virtual interrupts still pending on resident vCPUs when the run
    /// ended (for the accounting: raised = injected + coalesced +
    /// cancelled + pending).
    pub pending_virqs_at_end: u64,
    /// Cores that were inside a hypervisor entry when the run was cut off
    /// by the cycle limit (the board image only), stopped there for good
    /// by a fault or caught by the limit. Such a core's counters are those
    /// its last finished entry published, while the IPI words show what
    /// the unfinished one did: an IPI it had set in a word but not counted,
    /// or taken from a word but not yet made pending. So the accounting
    /// (raised = injected + coalesced + cancelled + pending) holds exactly
    /// only when this is empty. (A run that ends otherwise ends where the
    /// hypervisor chose, at a power off once every guest has exited, with
    /// no IPI in flight, or asleep.)
    pub inside_entry_at_end: Vec<usize>,
    /// Which hypervisor ran (its costs measured or charged).
    pub mode: Mode,
    /// The board image's per-core figures (empty when hosted).
    pub board: Vec<CoreFigures>,
    /// What the machine's console (SCIF0) showed: the board image's own
    /// messages (boot, refusals, panics).
    pub machine_console: String,
    /// What the description's `[faults]` injected (all zero without).
    pub injected: rp1_sim::faults::Injected,
    /// The translating tier's counters, when the machine ran on it.
    pub jit: Option<rp1_sim::cpu::jit::JitStats>,
}

impl RunResult {
    /// A guest's console output as text.
    pub fn console(&self, guest: usize) -> String {
        String::from_utf8_lossy(self.log.consoles.get(guest).map_or(&[][..], |c| c)).into_owned()
    }

    /// The fault the hypervisor stopped `guest` for, if it did.
    pub fn fault(&self, guest: usize) -> Option<&GuestFault> {
        self.log.faults.iter().find(|f| f.guest as usize == guest)
    }

    /// Values of SAMPLEs of `kind` from `guest`, in order.
    pub fn samples(&self, guest: u8, kind: u32) -> Vec<u32> {
        self.log.samples.iter().filter(|s| s.guest == guest && s.kind == kind).map(|s| s.value).collect()
    }
}

/// The hypervisor's boot configuration for `desc`, with each guest's boot
/// entry point (from its image unless the description overrides it).
pub fn boot_config(desc: &Description, entries: &[u32]) -> Config {
    let h = &desc.hypervisor;
    let c = &desc.costs;
    let us = |v: u32| v.saturating_mul(description::CYCLES_PER_US as u32);
    let cyc = |v: u64| v.min(u32::MAX as u64) as u32;
    let mut guests: [Option<GuestSpec>; MAX_GUESTS] = [None; MAX_GUESTS];
    for (g, guest) in desc.guests.iter().enumerate().take(MAX_GUESTS) {
        let class = match guest.class {
            description::GuestClass::Rtos => GuestClass::RealTime,
            description::GuestClass::Gpos => GuestClass::GeneralPurpose,
        };
        // Sources the description does not give have level 0: never
        // delivered.
        let level = |s| guest.level(s).unwrap_or(0);
        let mut home = [0u8; MAX_VCPUS];
        for (v, spec) in guest.vcpus.iter().enumerate().take(MAX_VCPUS) {
            home[v] = spec.core;
        }
        guests[g] = Some(GuestSpec {
            class,
            priority: guest.priority,
            partition: Partition { base: guest.partition.base, size: guest.partition.size },
            vcpus: guest.vcpus.len().min(MAX_VCPUS) as u8,
            home,
            entry: guest.vcpus.first().and_then(|v| v.entry).unwrap_or(entries[g]),
            timer_level: level(InterruptSource::Timer),
            ipi_level: level(InterruptSource::Ipi),
            sr_imask: guest.interrupt_mask == InterruptMask::Sr,
            mmu: guest.mmu,
            direct_exceptions: guest.direct_exceptions,
            thread_info_preempt_count: guest.preempt_count == PreemptCount::ThreadInfo,
        });
    }
    // The interrupt destination table: every device source, in the order
    // the guests list them.
    let mut devices: [Option<DeviceRoute>; MAX_DEVICES] = [None; MAX_DEVICES];
    let routes = desc.guests.iter().enumerate().flat_map(|(g, guest)| {
        guest.interrupts.iter().filter_map(move |i| match i.source {
            InterruptSource::Device(src) => {
                Some(DeviceRoute { intevt: src.intevt(), guest: g as u8, vcpu: i.vcpu, level: i.level })
            }
            _ => None,
        })
    });
    for (row, route) in devices.iter_mut().zip(routes) {
        *row = Some(route);
    }
    Config {
        cores: description::CORES,
        guests,
        policy: match h.policy {
            description::Policy::None => Policy::None,
            description::Policy::DelayedPreemption => Policy::DelayedPreemption,
            description::Policy::TrapMigration => Policy::TrapMigration,
            description::Policy::OnDemandMigration => Policy::OnDemandMigration,
        },
        spin_yield: h.spin_yield,
        ipl_separation: h.ipl_separation,
        time_slice: us(h.time_slice_us),
        delay_bound: h.delayed_preemption_bound_us.map(us),
        dispatch_first: h.dispatch_first,
        departure_defer: us(h.departure_defer_us),
        hypervisor_level: 15,
        costs: Costs {
            entry_exit: cyc(c.entry_exit),
            hypercall: cyc(c.hypercall),
            vcpu_switch: cyc(c.vcpu_switch),
            inject: cyc(c.interrupt_injection),
            mailbox_send: cyc(c.mailbox_message + c.ici_send),
            mailbox_receive: cyc(c.mailbox_message + c.ici_latency),
            departure_source: cyc(c.departure_source),
            departure_destination: cyc(c.departure_destination),
            return_source: cyc(c.return_source),
            return_destination: cyc(c.return_destination),
        },
        devices,
    }
}

/// Write `words` (in the image's byte order) over the start of the object
/// `symbol` in an ELF image (its file bytes, so they load with the image),
/// e.g. a guest's `probe_params`. Fails unless the symbol exists, is 4-byte
/// aligned, has file bytes (not .bss) and, if the symbol table gives its
/// size, is at least `words.len()` words long.
pub fn patch_words(image: &mut [u8], symbol: &str, words: &[u32]) -> Result<(), String> {
    let (offset, little) = param_offset(image, symbol, words.len())?;
    for (i, w) in words.iter().enumerate() {
        let bytes = if little { w.to_le_bytes() } else { w.to_be_bytes() };
        image[offset + 4 * i..offset + 4 * i + 4].copy_from_slice(&bytes);
    }
    Ok(())
}

/// Read the first `count` words of `symbol` as [`patch_words`] writes them.
pub fn read_words(image: &[u8], symbol: &str, count: usize) -> Result<Vec<u32>, String> {
    let (offset, little) = param_offset(image, symbol, count)?;
    Ok((0..count)
        .map(|i| {
            let b: [u8; 4] = image[offset + 4 * i..offset + 4 * i + 4].try_into().expect("4 bytes");
            if little { u32::from_le_bytes(b) } else { u32::from_be_bytes(b) }
        })
        .collect())
}

/// The file offset of `symbol`'s first byte, checked to hold `count`
/// words, and whether the image is little-endian.
fn param_offset(image: &[u8], symbol: &str, count: usize) -> Result<(usize, bool), String> {
    use object::{Object, ObjectSection, ObjectSymbol};
    let file = object::File::parse(image).map_err(|e| format!("not an ELF image: {e}"))?;
    let sym = file
        .symbols()
        .find(|s| s.name() == Ok(symbol))
        .ok_or_else(|| format!("no symbol `{symbol}` in the image"))?;
    let addr = sym.address();
    let len = 4 * count as u64;
    if addr % 4 != 0 {
        return Err(format!("`{symbol}` at {addr:#x} is not 4-byte aligned"));
    }
    if sym.size() != 0 && len > sym.size() {
        return Err(format!("`{symbol}` is {} bytes, too small for {count} words", sym.size()));
    }
    let index = sym.section_index().ok_or_else(|| format!("`{symbol}` is not defined in a section"))?;
    let section = file.section_by_index(index).map_err(|e| format!("`{symbol}`'s section: {e}"))?;
    let (file_start, file_size) =
        section.file_range().ok_or_else(|| format!("`{symbol}` is in a section without file bytes (.bss?)"))?;
    let start = addr
        .checked_sub(section.address())
        .filter(|o| o + len <= file_size)
        .ok_or_else(|| format!("`{symbol}` at {addr:#x} with {count} words does not fit its section's file bytes"))?;
    let offset = file_start + start;
    if offset + len > image.len() as u64 {
        return Err(format!("`{symbol}` lies past the end of the image"));
    }
    Ok((offset as usize, file.is_little_endian()))
}

/// A fresh machine for `desc`.
/// Virtual IPIs raised for a vCPU on another core that were still in
/// their IPI words (`spumone_migration::ipi`) when the run ended: pending,
/// but on no core yet.
fn ipis_left_in_words(machine: &mut Machine) -> u64 {
    let cores = description::CORES as usize;
    let mut left = 0;
    for guest in 0..MAX_GUESTS {
        for vcpu in 0..MAX_VCPUS {
            let Some(at) = spumone_migration::layout::ipi_offset(cores, guest, vcpu) else { continue };
            let mut word = [0u8; 4];
            if machine.bus.read_memory(0, rp1_sim::bus::CSM_BASE + at, &mut word) {
                left += (u32::from_le_bytes(word) & spumone_migration::ipi::MESSAGE_BITS).count_ones() as u64;
            }
        }
    }
    left
}

fn new_machine() -> Result<Machine, RunError> {
    Machine::new(MachineConfig { cores: description::CORES as usize, ..MachineConfig::default() })
        .map_err(|e| RunError::Machine(e.to_string()))
}

/// Where a core's entry stub keeps its own counts, in its OL memory
/// (`struct percore`, board/rt/runtime.c, which asserts these offsets):
/// the exceptions it sent straight to a guest (+20), of its `SEND_IPI`s
/// those already raised (+44), the hypercalls it answered (+48), of those
/// the `SEND_IPI`s (+60), the IPI ICIs it delivered (+64) and the `IDLE`s
/// it slept in place (+76).
const STUB_DIRECT_COUNT: u32 = 0xe500_0014;
const STUB_IPI_COALESCED: u32 = 0xe500_002c;
const STUB_HYPERCALL_COUNT: u32 = 0xe500_0030;
const STUB_SEND_IPI_COUNT: u32 = 0xe500_003c;
const STUB_IPI_ICI_COUNT: u32 = 0xe500_0040;
const STUB_IDLE_COUNT: u32 = 0xe500_004c;

/// The entry stub's counts of `core` ([`StubCounts`]); a word that cannot
/// be read counts 0.
fn stub_counts(machine: &mut Machine, core: usize) -> StubCounts {
    let mut word = |addr: u32| {
        let mut bytes = [0u8; 4];
        if machine.bus.read_memory(core, addr, &mut bytes) { u32::from_le_bytes(bytes) } else { 0 }
    };
    StubCounts {
        direct: word(STUB_DIRECT_COUNT),
        calls: word(STUB_HYPERCALL_COUNT),
        send_ipis: word(STUB_SEND_IPI_COUNT),
        coalesced: word(STUB_IPI_COALESCED),
        idles: word(STUB_IDLE_COUNT),
        ipi_icis: word(STUB_IPI_ICI_COUNT),
    }
}

/// Load every guest image of `desc` (parameters patched) into `machine`;
/// returns each guest's entry point (its first image's).
pub fn load_guests(desc: &Description, machine: &mut Machine) -> Result<Vec<u32>, RunError> {
    // Every image's segments in its partition, every `params` symbol
    // present and big enough: the description's own check, once.
    desc.check_images().map_err(|e| RunError::Description(e.to_string()))?;
    let mut entries = Vec::new();
    for guest in &desc.guests {
        let mut entry = None;
        for (n, path) in guest.images.iter().enumerate() {
            let image = patched_image(desc, guest, path)?;
            let err = |error: String| RunError::Image { guest: guest.name.clone(), path: path.clone(), error };
            let loaded = machine.load_elf(&image).map_err(|e| err(e.to_string()))?;
            entry.get_or_insert(loaded.entry);
            if let (0, Some(linux)) = (n, &guest.linux) {
                let initrd = match &linux.initrd {
                    Some(p) => {
                        let err = |error: String| RunError::Image { guest: guest.name.clone(), path: p.clone(), error };
                        let limit = guest.partition.size as u64;
                        let bytes = rp1_sim::loader::read_at_most(p, limit).map_err(|e| err(e.to_string()))?;
                        Some(bytes.ok_or_else(|| err(format!("the initramfs is larger than the partition ({limit} bytes)")))?)
                    }
                    None => None,
                };
                let ram = (guest.partition.base, guest.partition.size);
                rp1_sim::linux_boot::set_boot_params_in(&mut machine.bus, &image, &linux.cmdline, initrd.as_deref(), ram)
                    .map_err(|e| err(format!("boot parameters: {e}")))?;
            }
        }
        entries.push(entry.unwrap_or(0));
    }
    Ok(entries)
}

/// The bytes of one of `guest`'s images with its parameters patched in.
pub fn patched_image(_desc: &Description, guest: &description::Guest, path: &Path) -> Result<Vec<u8>, RunError> {
    let err = |error: String| RunError::Image { guest: guest.name.clone(), path: path.to_path_buf(), error };
    let mut image = rp1_sim::loader::read_image(path).map_err(|e| err(e.to_string()))?;
    for p in &guest.params {
        patch_words(&mut image, &p.symbol, &p.words).map_err(|error| RunError::Param {
            guest: guest.name.clone(),
            symbol: p.symbol.clone(),
            error,
        })?;
    }
    Ok(image)
}

/// Secondary vCPUs the description gives an entry: started at boot.
pub fn secondaries(desc: &Description) -> Vec<(u8, u8, u32)> {
    desc.guests
        .iter()
        .enumerate()
        .flat_map(|(g, guest)| {
            guest.vcpus.iter().enumerate().skip(1).filter_map(move |(v, spec)| spec.entry.map(|e| (g as u8, v as u8, e)))
        })
        .collect()
}

/// The boot configuration of `desc` as the board image reads it (no cost
/// table: the board charges nothing).
pub fn boot_configuration(desc: &Description, entries: &[u32]) -> BootConfig {
    let mut config = boot_config(desc, entries);
    config.costs = Costs::ZERO;
    let mut list = [None; bootblock::MAX_SECONDARIES];
    for (slot, s) in list.iter_mut().zip(secondaries(desc)) {
        *slot = Some(s);
    }
    BootConfig { config, secondaries: list }
}

/// Load every guest of `desc` into a fresh machine and boot the hosted
/// hypervisor.
pub fn prepare(desc: &Description, keep_events: bool) -> Result<(Machine, Hypervisor), RunError> {
    let mut machine = new_machine()?;
    let entries = load_guests(desc, &mut machine)?;
    let config = boot_config(desc, &entries);
    let hv = Hypervisor::boot_with(&mut machine, config, &secondaries(desc), keep_events);
    Ok((machine, hv))
}

/// Load the board image at `image`, the boot block of `desc` and its
/// guests into a fresh machine, with core 0 at the image's entry, as a
/// boot loader would.
pub fn prepare_native(desc: &Description, image: &Path) -> Result<Machine, RunError> {
    let mut machine = new_machine()?;
    let entries = load_guests(desc, &mut machine)?;
    let bytes = rp1_sim::loader::read_image(image).map_err(|e| RunError::Board(format!("{}: {e}", image.display())))?;
    let hv = machine.load_elf(&bytes).map_err(|e| RunError::Board(format!("{}: {e}", image.display())))?;
    let block = native::boot_block(&boot_configuration(desc, &entries));
    native::load_boot_block(&mut machine.bus, &block).map_err(RunError::Board)?;
    machine.cpus[0].reset(hv.entry);
    machine.set_faults(&desc.faults).map_err(|e| RunError::Description(format!("faults: {e}")))?;
    Ok(machine)
}

/// Run `desc` until every guest has exited or `opts.max_cycles` pass,
/// calling `progress(now)` every few simulated milliseconds.
pub fn run(desc: &Description, opts: RunOptions, progress: impl FnMut(u64)) -> Result<RunResult, RunError> {
    match &opts.mode {
        Mode::Hosted => run_hosted(desc, &opts, progress),
        Mode::Native { image } => run_native(desc, &opts, image, progress, None, None).map(|(r, _)| r),
    }
}

/// [`run`] on the board image, sampling each core's PC at the end of
/// every round (`crate::profile`): the run itself is the same, cycle for
/// cycle. The hosted model has no code of its own on the cores to sample.
/// The guests' samples are named by their images' symbols.
pub fn run_profiled(
    desc: &Description,
    opts: RunOptions,
    progress: impl FnMut(u64),
) -> Result<(RunResult, PcProfile, RunCode), RunError> {
    run_profiled_until(desc, opts, progress, None)
}

/// [`run_profiled`], sampling only until guest `guest` (its index in the
/// description) has exited: the samples of the simulated millisecond in
/// which it exited are in, none after (the run goes on to its end as
/// ever). For a figure of one guest's run beside another that outlives it.
pub fn run_profiled_until_exit(
    desc: &Description,
    opts: RunOptions,
    progress: impl FnMut(u64),
    guest: usize,
) -> Result<(RunResult, PcProfile, RunCode), RunError> {
    run_profiled_until(desc, opts, progress, Some(guest))
}

fn run_profiled_until(
    desc: &Description,
    opts: RunOptions,
    progress: impl FnMut(u64),
    until_exit_of: Option<usize>,
) -> Result<(RunResult, PcProfile, RunCode), RunError> {
    let Mode::Native { image } = &opts.mode else {
        return Err(RunError::Board("a profile samples the board image's code; the hosted model runs none".into()));
    };
    let code = board_image_code(image)?;
    let mut guests = Vec::new();
    for g in &desc.guests {
        let mut images = Vec::new();
        for path in &g.images {
            let code = ImageCode::read(path);
            images.push(code.map_err(|error| RunError::Image { guest: g.name.clone(), path: path.clone(), error })?);
        }
        guests.push((g.name.clone(), images));
    }
    let profile = code.profile(description::CORES as usize);
    let (result, profile) = run_native(desc, &opts, image, progress, Some(profile), until_exit_of)?;
    Ok((result, profile.expect("the profile handed in"), RunCode { image: code, guests }))
}

/// The board image's code and symbols ([`ImageCode`]), or an error that
/// names the image.
fn board_image_code(image: &Path) -> Result<ImageCode, RunError> {
    ImageCode::read(image).map_err(|e| RunError::Board(format!("{}: {e}", image.display())))
}

/// Which exception made the hypervisor stop a guest: each core's
/// exception log is drained after every slice of the run, and a guest
/// stopped with `FAULT_STATUS` gets the last exception its core took up
/// to then (the hypervisor's entry for that exception is what stopped it).
struct FaultFinder {
    /// Per core, the last exception of the slices drained so far.
    last: Vec<Option<ExceptionRecord>>,
}

impl FaultFinder {
    /// Start recording every core's exceptions.
    fn start(machine: &mut Machine) -> FaultFinder {
        for cpu in &mut machine.cpus {
            cpu.exception_log = Some(Vec::new());
        }
        FaultFinder { last: vec![None; machine.cpus.len()] }
    }

    /// Drain the logs into the faults `log` holds.
    fn drain(&mut self, machine: &mut Machine, log: &mut Log) {
        for (core, cpu) in machine.cpus.iter_mut().enumerate() {
            let records = cpu.exception_log.as_mut().map(std::mem::take).unwrap_or_default();
            for fault in log.faults.iter_mut().filter(|f| f.core == core && f.exception.is_none()) {
                let before = |r: &&ExceptionRecord| r.cycle <= fault.cycle;
                fault.exception = records.iter().rev().find(before).or(self.last[core].as_ref().filter(before)).copied();
            }
            if let Some(&r) = records.last() {
                self.last[core] = Some(r);
            }
        }
        // A guest that passed FAULT_STATUS to EXIT itself did not fault.
        log.faults.retain(|f| {
            !matches!(f.exception, Some(ExceptionRecord { exception: Exception::Trap(imm), .. })
                if Hypercall::from_imm(imm) == Some(Hypercall::Exit))
        });
    }
}

fn run_hosted(desc: &Description, opts: &RunOptions, mut progress: impl FnMut(u64)) -> Result<RunResult, RunError> {
    if !desc.faults.is_empty() {
        // The hosted model's instances talk through host memory, not the
        // CSM and the INTC's ICIs: the faults would not mean the same.
        return Err(RunError::Description(
            "faults: fault injection needs the board image (rp1 hv without --hosted); the hosted model sends no ICIs and keeps no mailbox in the CSM".into(),
        ));
    }
    let (mut machine, mut hv) = prepare(desc, opts.keep_events)?;
    let mut faults = FaultFinder::start(&mut machine);
    let started = Instant::now();
    const SLICE: u64 = 6_000_000; // 10 ms
    let exit = loop {
        let exit = machine.run_hosted(&mut hv, (machine.now + SLICE).min(opts.max_cycles));
        faults.drain(&mut machine, &mut hv.log);
        progress(machine.now);
        match exit {
            Exit::CycleLimit if machine.now < opts.max_cycles => continue,
            other => break other,
        }
    };
    let host = started.elapsed();
    hv.log.finish_console();
    Ok(RunResult {
        exit,
        cycles: machine.now,
        host,
        instructions: machine.cpus.iter().map(|c| c.stats.instructions).sum(),
        stats: hv.instances().iter().map(|i| i.stats).collect(),
        mailbox: hv.instances().iter().map(|i| i.mailbox_stats()).collect(),
        guests: desc.guests.iter().map(|g| g.name.clone()).collect(),
        instance_bytes: std::mem::size_of::<spumone_percore::instance::Instance>(),
        pending_virqs_at_end: hv
            .instances()
            .iter()
            .flat_map(|i| i.resident())
            .map(|v| v.pending.count_ones() as u64)
            .sum::<u64>()
            + ipis_left_in_words(&mut machine),
        // Hosted instances run between the cores' instructions: every
        // entry is finished.
        inside_entry_at_end: Vec::new(),
        log: hv.log,
        mode: Mode::Hosted,
        board: Vec::new(),
        machine_console: machine.console_text(),
        injected: machine.injected(),
        jit: machine.bus.jit_stats(),
    })
}

fn run_native(
    desc: &Description,
    opts: &RunOptions,
    image: &Path,
    mut progress: impl FnMut(u64),
    profile: Option<PcProfile>,
    profile_until_exit_of: Option<usize>,
) -> Result<(RunResult, Option<PcProfile>), RunError> {
    let mut machine = prepare_native(desc, image)?;
    machine.profile = profile;
    // The profile taken out of the machine when that guest has exited.
    let mut profile_done = None;
    let guests = desc.guests.len();
    let mut log = Log {
        consoles: vec![Vec::new(); guests],
        exits: vec![None; guests],
        keep_events: opts.keep_events,
        ..Log::default()
    };
    let cores = description::CORES as usize;
    let mut reader = native::TraceReader::new(cores);
    let mut faults = FaultFinder::start(&mut machine);
    let started = Instant::now();
    // The rings are drained every simulated millisecond: a core writes far
    // fewer records than a ring holds in that time (docs/trace-ring.md).
    const SLICE: u64 = 600_000;
    let exit = loop {
        let exit = machine.run((machine.now + SLICE).min(opts.max_cycles));
        reader.drain(&mut machine, &mut log).map_err(RunError::Board)?;
        faults.drain(&mut machine, &mut log);
        if profile_until_exit_of.is_some_and(|g| log.exit_cycles.get(g).copied().flatten().is_some()) && profile_done.is_none() {
            profile_done = machine.profile.take();
        }
        progress(machine.now);
        match exit {
            Exit::CycleLimit if machine.now < opts.max_cycles => continue,
            other => break other,
        }
    };
    let host = started.elapsed();
    let code = board_image_code(image)?;
    let cut_off = matches!(exit, Exit::CycleLimit);
    let inside_entry_at_end = (0..cores)
        .filter(|&c| {
            let cpu = &machine.cpus[c];
            // The entry stub and the Rust entry run with SR.BL set; idle
            // sleeps with it clear, and a halted core is asleep.
            cut_off && !cpu.sleeping && cpu.sr() & rp1_sim::cpu::sr::BL != 0 && (code.start..code.end).contains(&cpu.pc)
        })
        .collect();
    // The rings are read core by core: put what they held in time order
    // (stable: events of one cycle stay in core order), as a hosted run
    // logs them.
    log.events.sort_by_key(|&(_, cycle, _)| cycle);
    log.samples.sort_by_key(|s| s.cycle);
    log.finish_console();
    reader.measure_stacks(&mut machine);
    let mut stats = Vec::new();
    let mut mailbox = Vec::new();
    for core in 0..cores {
        let mut s = native::TraceReader::counters::<Stats>(&mut machine, core, tracebuf::header::STATS_OFFSET).unwrap_or_default();
        // What the entry stub did without the instance, counted in the
        // core's OL memory, not in the instance's counters.
        s.add_stub_counts(stub_counts(&mut machine, core));
        stats.push(s);
        let m = native::TraceReader::counters::<MailboxStats>(&mut machine, core, tracebuf::header::MAILBOX_STATS_OFFSET);
        let o = native::TraceReader::counters::<OutboxCounters>(&mut machine, core, tracebuf::header::OUTBOX_COUNTERS_OFFSET);
        mailbox.push(PostStats::from_parts(m.unwrap_or_default(), o.unwrap_or_default()));
    }
    let mut figures = reader.figures().to_vec();
    for (core, f) in figures.iter_mut().enumerate() {
        let costs = native::TraceReader::counters(&mut machine, core, tracebuf::header::ENTRY_COSTS_OFFSET);
        f.entry_costs = costs.unwrap_or_default();
    }
    let profile = profile_done.or_else(|| machine.profile.take());
    let result = RunResult {
        exit,
        cycles: machine.now,
        host,
        instructions: machine.cpus.iter().map(|c| c.stats.instructions).sum(),
        stats,
        mailbox,
        guests: desc.guests.iter().map(|g| g.name.clone()).collect(),
        instance_bytes: figures.iter().map(|f| f.instance_bytes as usize).max().unwrap_or(0),
        pending_virqs_at_end: figures.iter().map(|f| f.pending_virqs as u64).sum::<u64>()
            + ipis_left_in_words(&mut machine),
        inside_entry_at_end,
        log,
        mode: opts.mode.clone(),
        board: figures,
        machine_console: machine.console_text(),
        injected: machine.injected(),
        jit: machine.bus.jit_stats(),
    };
    Ok((result, profile))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::hypervisor::FAULT_STATUS;
    use spumone_percore::hw::TraceEvent;

    /// A fault is the last exception its core took up to the exit event,
    /// found in a later slice's drain too; a guest passing FAULT_STATUS to
    /// EXIT did not fault.
    #[test]
    fn the_fault_finder_matches_the_exception_before_the_exit() {
        let mut m = Machine::new(MachineConfig { cores: 2, ..MachineConfig::default() }).unwrap();
        let mut finder = FaultFinder::start(&mut m);
        let mut log = Log { exits: vec![None; 3], ..Log::default() };
        let rec = |cycle, pc, exception| ExceptionRecord { cycle, pc, exception };
        let log1 = m.cpus[1].exception_log.as_mut().unwrap();
        log1.push(rec(10, 0x8880_0000, Exception::Trap(0x6c)));
        log1.push(rec(20, 0x8880_0002, Exception::IllegalInstruction));
        // The exit comes in the next slice's events, after more exceptions.
        finder.drain(&mut m, &mut log);
        log.event(1, 5, TraceEvent::Dispatch { guest: 0, vcpu: 2 });
        log.event(1, 25, TraceEvent::GuestExit { guest: 0, status: FAULT_STATUS });
        m.cpus[1].exception_log.as_mut().unwrap().push(rec(40, 0x8900_0000, Exception::Trap(0x60)));
        // Guest 1 exits with FAULT_STATUS through EXIT on core 0.
        m.cpus[0].exception_log.as_mut().unwrap().push(rec(50, 0x8900_0004, Exception::Trap(0x6e)));
        log.event(0, 52, TraceEvent::GuestExit { guest: 1, status: FAULT_STATUS });
        // Guest 2 exits 0: no fault.
        log.event(0, 60, TraceEvent::GuestExit { guest: 2, status: 0 });
        finder.drain(&mut m, &mut log);
        assert_eq!(log.faults.len(), 1, "{:?}", log.faults);
        assert_eq!(
            log.faults[0].to_string(),
            "vCPU 2 on core 1 faulted at pc 0x88800002: general illegal instruction (EXPEVT 0x180)"
        );
        assert!(m.cpus.iter().all(|c| c.exception_log.as_ref().is_some_and(Vec::is_empty)), "drained");
    }

    /// The hypervisor's built-in cost table and a description's defaults
    /// are one table: a description that sets no cost boots with RP1's.
    #[test]
    fn a_description_without_costs_boots_with_the_rp1_cost_table() {
        let text = "[hypervisor]\npolicy = \"none\"\n[[guest]]\nname = \"g\"\nclass = \"gpos\"\npriority = 1\n\
                    image = \"g.elf\"\npartition = { base = 0x08800000, size = 0x10000 }\nvcpus = [{ core = 0 }]\n";
        let desc = description::parse(text, std::path::Path::new(".")).expect("a minimal description");
        assert_eq!(boot_config(&desc, &[0x8880_0000]).costs, Costs::RP1);
    }

    /// The hosted model refuses `[faults]` (it has no ICIs or CSM mailbox
    /// to inject into), before it loads anything.
    #[test]
    fn the_hosted_model_refuses_faults() {
        let text = "[hypervisor]\npolicy = \"none\"\n[[guest]]\nname = \"g\"\nclass = \"gpos\"\npriority = 1\n\
                    image = \"g.elf\"\npartition = { base = 0x08800000, size = 0x10000 }\nvcpus = [{ core = 0 }]\n\
                    [faults]\nstall = [{ core = 1, at_ms = 1 }]\n";
        let desc = description::parse(text, std::path::Path::new(".")).expect("a description with faults");
        let opts = RunOptions { max_cycles: 1000, keep_events: false, mode: Mode::Hosted };
        let err = run(&desc, opts, |_| {}).unwrap_err();
        assert_eq!(
            err.to_string(),
            "faults: fault injection needs the board image (rp1 hv without --hosted); the hosted model sends no ICIs and keeps no mailbox in the CSM"
        );
    }
}
