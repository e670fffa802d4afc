//! The machine description: which guests run on the hypervisor, and
//! how (TOML, read with `serde` and `toml`; the format is documented in
//! docs/machine-description.md, with examples under examples/machines/).
//!
//! Owns: the description's types, its parser and every validation rule
//! (partitions in DRAM and disjoint, vCPU cores, interrupt levels per guest
//! class, the LHP policy and its options, the hypervisor cost table), the
//! error type that names the offending field with its line and column, and
//! the cost table's printout (`Costs::to_table_string`).
//!
//! Must not touch: the simulated machine, the hypervisor instances or the
//! guests' memory. This module only reads text (and, in `check_images`,
//! ELF files); loading images, patching `params` into them and charging
//! costs belong to the hosting code that uses these types.

use rp1_sim::devices::intc::Source;
use serde::de::{self, Deserializer, Visitor};
use serde::Deserialize;
use std::fmt;
use std::ops::Range;
use std::path::{Path, PathBuf};
use toml::de::{DeTable, DeValue};
use toml::Spanned;

/// The RP1's CPU clock (SH-X3 at 600 MHz): the unit of every cost.
pub const CPU_HZ: u64 = 600_000_000;
/// Cycles per microsecond at `CPU_HZ`.
pub const CYCLES_PER_US: u64 = 600;
/// First byte of the RP1's DRAM (physical).
pub const DRAM_BASE: u32 = 0x0800_0000;
/// One past the last byte of DRAM (physical): DRAM is 0x08000000-0x0FFFFFFF.
pub const DRAM_END: u32 = 0x1000_0000;
/// Partition alignment and size granule (4 KiB, the smallest MMU page).
pub const PARTITION_ALIGN: u32 = 0x1000;
/// Physical cores of the RP1.
pub const CORES: u8 = 4;
/// Most vCPUs one guest may have.
pub const MAX_VCPUS: usize = 4;
/// Most guests one description may have.
pub const MAX_GUESTS: usize = 4;
/// Most device sources the machine's guests may own, and one vCPU may own
/// (the hypervisor's destination table and pending bits).
pub const MAX_DEVICES: usize = spumone_percore::config::MAX_DEVICES;
pub const MAX_DEVICES_PER_VCPU: usize = spumone_percore::config::MAX_DEVICES_PER_VCPU;
/// Largest time slice and delayed-preemption bound, in microseconds (1 s).
pub const MAX_INTERVAL_US: u32 = 1_000_000;
/// Largest single cost (1 s of CPU time), in cycles.
pub const MAX_COST_CYCLES: u64 = CPU_HZ;
/// The largest description file read (1 MiB: a real one is a few KiB).
pub const MAX_DESCRIPTION_BYTES: u64 = 1 << 20;

/// Microseconds for `cycles` at 600 MHz (exact to f64 precision).
pub fn cycles_to_us(cycles: u64) -> f64 {
    cycles as f64 / CYCLES_PER_US as f64
}

// ---------------------------------------------------------------------------
// The validated description
// ---------------------------------------------------------------------------

/// A validated machine description.
#[derive(Debug, Clone, PartialEq)]
pub struct Description {
    pub hypervisor: Hypervisor,
    pub costs: Costs,
    /// In file order; a guest's index here is its guest number.
    pub guests: Vec<Guest>,
    /// The directory image paths were resolved against.
    pub base_dir: PathBuf,
    /// The `[faults]` table: what the machine injects (empty: nothing).
    pub faults: rp1_sim::faults::Faults,
}

/// The `[hypervisor]` section.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Hypervisor {
    pub policy: Policy,
    /// Spin-yield alongside the policy (SPIN_YIELD hypercalls yield the vCPU).
    pub spin_yield: bool,
    /// IPL separation (RTOS 8-15, GPOS 1-7); off only for the comparison.
    pub ipl_separation: bool,
    /// Round-robin time slice among equal priorities on one core.
    pub time_slice_us: u32,
    /// Delayed preemption only: past this bound, migrate instead of waiting.
    pub delayed_preemption_bound_us: Option<u32>,
    /// On-demand migration only: dispatch the RTOS first, ship the departing
    /// vCPU's context afterwards.
    pub dispatch_first: bool,
    /// With `dispatch_first`: how long the departure waits for the RTOS
    /// to finish (it is withdrawn if it does) before its message goes.
    pub departure_defer_us: u32,
}

impl Hypervisor {
    /// Default round-robin time slice (10 ms, as a GPOS tick-based scheduler).
    pub const DEFAULT_TIME_SLICE_US: u32 = 10_000;
    /// Default departure deferral of dispatch-first on-demand migration.
    /// It must outlast the RTOS's usual activation (the probe's tick takes
    /// about 21 us on the board image): a deferral that ends inside the
    /// activation does the departure's source half there, on the RTOS's
    /// time. With 20 us, 5 of 300 ticks paid it and the p99 dispatch
    /// latency rose from 19.5 to 52.6 us (docs/experiments.md).
    pub const DEFAULT_DEPARTURE_DEFER_US: u32 = 100;
}

/// The lock-holder-preemption policy.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Policy {
    None,
    DelayedPreemption,
    TrapMigration,
    OnDemandMigration,
}

impl Policy {
    pub const ALL: [Policy; 4] =
        [Policy::None, Policy::DelayedPreemption, Policy::TrapMigration, Policy::OnDemandMigration];

    /// The name used in description files and reports.
    pub fn name(self) -> &'static str {
        match self {
            Policy::None => "none",
            Policy::DelayedPreemption => "delayed-preemption",
            Policy::TrapMigration => "trap-migration",
            Policy::OnDemandMigration => "on-demand-migration",
        }
    }

    /// The policy named `name` (as in description files).
    pub fn from_name(name: &str) -> Option<Policy> {
        Policy::ALL.into_iter().find(|p| p.name() == name)
    }
}

impl fmt::Display for Policy {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// How a guest masks its interrupts (docs/hypercall-abi.md).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum InterruptMask {
    /// With `IRQ_DISABLE`/`IRQ_RESTORE`: the hypervisor keeps the level.
    #[default]
    Hypercall,
    /// By writing SR.IMASK itself (a paravirtualized Linux); the
    /// hypervisor reads the level from SR at each entry.
    Sr,
}

/// Where the hypervisor learns a guest's preempt count (delayed
/// preemption; docs/hypercall-abi.md).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PreemptCount {
    /// From `PREEMPT_COUNT` hypercalls.
    #[default]
    Hypercall,
    /// From the guest's memory: Linux/SH's `thread_info.preempt_count`,
    /// through bank-1 R7, read when delayed preemption decides.
    ThreadInfo,
}

/// Boot parameters for a Linux/SH image: what a boot loader leaves in the
/// kernel's `empty_zero_page` (`rp1_sim::linux_boot`), with the initramfs
/// placed after the kernel inside the guest's partition.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LinuxBoot {
    pub initrd: Option<PathBuf>,
    pub cmdline: String,
}

/// A guest's class, which fixes the interrupt levels it owns.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum GuestClass {
    /// Real-time OS: levels 8-15.
    Rtos,
    /// General-purpose OS: levels 1-7.
    Gpos,
}

impl GuestClass {
    /// Lowest and highest interrupt level of the class.
    pub fn levels(self) -> (u8, u8) {
        match self {
            GuestClass::Rtos => (8, 15),
            GuestClass::Gpos => (1, 7),
        }
    }

    pub fn owns(self, level: u8) -> bool {
        let (lo, hi) = self.levels();
        (lo..=hi).contains(&level)
    }

    pub fn name(self) -> &'static str {
        match self {
            GuestClass::Rtos => "rtos",
            GuestClass::Gpos => "gpos",
        }
    }

    fn upper(self) -> &'static str {
        match self {
            GuestClass::Rtos => "RTOS",
            GuestClass::Gpos => "GPOS",
        }
    }
}

impl fmt::Display for GuestClass {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// One `[[guest]]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Guest {
    pub name: String,
    pub class: GuestClass,
    /// Fixed priority; higher runs first. Every RTOS guest is above every GPOS guest.
    pub priority: u8,
    /// ELF images, resolved against the description's directory; the first
    /// one's entry point is the boot vCPU's default entry.
    pub images: Vec<PathBuf>,
    pub partition: Partition,
    /// vCPU n of the guest is `vcpus[n]`.
    pub vcpus: Vec<VcpuSpec>,
    pub interrupts: Vec<InterruptSpec>,
    pub params: Vec<ParamPatch>,
    pub interrupt_mask: InterruptMask,
    /// The guest uses the MMU (its vCPUs' TLB entries are flushed when
    /// another vCPU takes a core).
    pub mmu: bool,
    /// Its exceptions other than hypercalls go straight to its handler.
    pub direct_exceptions: bool,
    pub preempt_count: PreemptCount,
    /// Linux boot parameters for the first image, if it is a Linux kernel.
    pub linux: Option<LinuxBoot>,
}

impl Guest {
    /// The level the description gives `source`, if the guest owns it.
    pub fn level(&self, source: InterruptSource) -> Option<u8> {
        self.interrupts.iter().find(|i| i.source == source).map(|i| i.level)
    }
}

/// A guest's physical memory partition, inside DRAM.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Partition {
    pub base: u32,
    pub size: u32,
}

impl Partition {
    /// Last byte (inclusive).
    pub fn last(&self) -> u32 {
        self.base + (self.size - 1)
    }

    /// Whether the physical range `addr..addr+len` lies inside.
    pub fn contains_range(&self, addr: u32, len: u32) -> bool {
        let (a, l) = (addr as u64, len as u64);
        a >= self.base as u64 && a + l <= self.base as u64 + self.size as u64
    }

    pub fn contains(&self, addr: u32) -> bool {
        self.contains_range(addr, 1)
    }

    pub fn overlaps(&self, other: &Partition) -> bool {
        (self.base as u64) < other.base as u64 + other.size as u64
            && (other.base as u64) < self.base as u64 + self.size as u64
    }
}

impl fmt::Display for Partition {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:#010x}-{:#010x}", self.base, self.last())
    }
}

/// One vCPU of a guest.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct VcpuSpec {
    /// Physical core it starts on (0-3).
    pub core: u8,
    /// Entry point. For vCPU 0, overrides the first image's ELF entry; for
    /// another vCPU, starts it at boot at this address (without one it waits
    /// for the guest's START_VCPU hypercall).
    pub entry: Option<u32>,
}

/// An interrupt source a guest owns.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum InterruptSource {
    /// The vCPU's virtual timer (TIMER_SET), INTEVT 0x400.
    Timer,
    /// Virtual IPIs between the guest's vCPUs (SEND_IPI), INTEVT 0xf00 + 0x20 m.
    Ipi,
    /// A physical device's interrupt, routed through the hypervisor's
    /// destination table to one vCPU; the guest sees the device's own
    /// INTEVT code.
    Device(Source),
}

/// The physical sources a guest may own, by their description names:
/// TMU channels 4 and 5 (channels 0-3 are the hypervisor's per-core
/// timers) and the four SCIF ports' lines.
pub const DEVICE_SOURCES: [(&str, Source); 18] = [
    ("tmu4", Source::Tmu4),
    ("tmu5", Source::Tmu5),
    ("scif0-eri", Source::Scif0Eri),
    ("scif0-rxi", Source::Scif0Rxi),
    ("scif0-bri", Source::Scif0Bri),
    ("scif0-txi", Source::Scif0Txi),
    ("scif1-eri", Source::Scif1Eri),
    ("scif1-rxi", Source::Scif1Rxi),
    ("scif1-bri", Source::Scif1Bri),
    ("scif1-txi", Source::Scif1Txi),
    ("scif2-eri", Source::Scif2Eri),
    ("scif2-rxi", Source::Scif2Rxi),
    ("scif2-bri", Source::Scif2Bri),
    ("scif2-txi", Source::Scif2Txi),
    ("scif3-eri", Source::Scif3Eri),
    ("scif3-rxi", Source::Scif3Rxi),
    ("scif3-bri", Source::Scif3Bri),
    ("scif3-txi", Source::Scif3Txi),
];

impl InterruptSource {
    pub fn name(self) -> &'static str {
        match self {
            InterruptSource::Timer => "timer",
            InterruptSource::Ipi => "ipi",
            InterruptSource::Device(src) => {
                DEVICE_SOURCES.iter().find(|(_, s)| *s == src).map_or("device", |(name, _)| name)
            }
        }
    }

    pub fn from_name(name: &str) -> Option<InterruptSource> {
        match name {
            "timer" => Some(InterruptSource::Timer),
            "ipi" => Some(InterruptSource::Ipi),
            _ => DEVICE_SOURCES.iter().find(|(n, _)| *n == name).map(|&(_, s)| InterruptSource::Device(s)),
        }
    }
}

impl<'de> Deserialize<'de> for InterruptSource {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let name = String::deserialize(d)?;
        InterruptSource::from_name(&name).ok_or_else(|| {
            let why = if matches!(name.as_str(), "tmu0" | "tmu1" | "tmu2" | "tmu3") {
                " (TMU channels 0-3 are the hypervisor's own timers)"
            } else {
                ""
            };
            de::Error::custom(format!(
                "unknown interrupt source \"{}\"{why}: expected \"timer\", \"ipi\", \"tmu4\", \"tmu5\" or \"scifN-eri|rxi|bri|txi\" (N = 0-3)",
                name.escape_debug()
            ))
        })
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct InterruptSpec {
    pub source: InterruptSource,
    /// 8-15 for an RTOS, 1-7 for a GPOS.
    pub level: u8,
    /// The vCPU a device source is delivered to (0 for the timer and IPIs,
    /// which every vCPU has).
    pub vcpu: u8,
}

/// Words to write over an image's symbol before the guest starts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParamPatch {
    pub symbol: String,
    /// 32-bit words, in the guest's (little-endian) byte order. Negative
    /// numbers in the file are stored as two's complement.
    pub words: Vec<u32>,
}

// ---------------------------------------------------------------------------
// Costs
// ---------------------------------------------------------------------------

/// The hypervisor cost table, in cycles of the 600 MHz CPU clock. Every
/// hypervisor path is charged from it; every report prints it
/// (`to_table_string`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Costs {
    /// Entering the instance from a guest (trap, interrupt or exception) and
    /// returning to a guest: save/restore of the scratch state, the dispatch.
    pub entry_exit: u64,
    /// Handling one hypercall, on top of `entry_exit`.
    pub hypercall: u64,
    /// Switching a core from one vCPU to another (full context save/restore).
    pub vcpu_switch: u64,
    /// Emulating an interrupt entry into a guest (SPC/SSR/SGR/INTEVT/SR, PC).
    pub interrupt_injection: u64,
    /// Raising an inter-core interrupt (the sender's work).
    pub ici_send: u64,
    /// From an ICI's send to the receiving core taking it.
    pub ici_latency: u64,
    /// Writing or reading-and-validating one mailbox message.
    pub mailbox_message: u64,
    /// Departure migration, the source core's half (`spm_cpu_migrate`).
    pub departure_source: u64,
    /// Departure migration, the destination core's half (`accept_immigrant`).
    pub departure_destination: u64,
    /// Return migration, the source core's half.
    pub return_source: u64,
    /// Return migration, the destination core's half.
    pub return_destination: u64,
}

/// Where a default cost comes from.
const MEASURED: &str = "RP1 measurement (papers)";
const ESTIMATE: &str = "estimate";

impl Default for Costs {
    fn default() -> Self {
        Costs {
            entry_exit: 180,               // 0.30 us
            hypercall: 120,                // 0.20 us
            vcpu_switch: 600,              // 1.00 us
            interrupt_injection: 150,      // 0.25 us
            ici_send: 60,                  // 0.10 us
            ici_latency: 300,              // 0.50 us
            mailbox_message: 240,          // 0.40 us
            departure_source: 14_940,      // 24.9 us
            departure_destination: 16_800, // 28.0 us
            return_source: 22_860,         // 38.1 us
            return_destination: 7_200,     // 12.0 us
        }
    }
}

impl Costs {
    /// (field name, cycles, where the default comes from) for every cost, in table order.
    pub fn rows(&self) -> [(&'static str, u64, &'static str); 11] {
        [
            ("entry_exit", self.entry_exit, ESTIMATE),
            ("hypercall", self.hypercall, ESTIMATE),
            ("vcpu_switch", self.vcpu_switch, ESTIMATE),
            ("interrupt_injection", self.interrupt_injection, ESTIMATE),
            ("ici_send", self.ici_send, ESTIMATE),
            ("ici_latency", self.ici_latency, ESTIMATE),
            ("mailbox_message", self.mailbox_message, ESTIMATE),
            ("departure_source", self.departure_source, MEASURED),
            ("departure_destination", self.departure_destination, MEASURED),
            ("return_source", self.return_source, MEASURED),
            ("return_destination", self.return_destination, MEASURED),
        ]
    }

    /// The cost table as text: every cost in cycles and in microseconds at
    /// 600 MHz, and whether it is the default (measured or estimated) or was
    /// set by the description.
    pub fn to_table_string(&self) -> String {
        let defaults = Costs::default().rows();
        let mut out = String::from("hypervisor cost table (CPU clock 600 MHz)\n");
        out.push_str(&format!("  {:<22} {:>10} {:>10}  {}\n", "cost", "cycles", "us", "source"));
        for ((name, cycles, origin), (_, default, _)) in self.rows().into_iter().zip(defaults) {
            let source = if cycles == default { origin } else { "set in the description" };
            out.push_str(&format!("  {:<22} {:>10} {:>10.3}  {}\n", name, cycles, cycles_to_us(cycles), source));
        }
        out
    }

    fn slot(&mut self, name: &str) -> Option<&mut u64> {
        Some(match name {
            "entry_exit" => &mut self.entry_exit,
            "hypercall" => &mut self.hypercall,
            "vcpu_switch" => &mut self.vcpu_switch,
            "interrupt_injection" => &mut self.interrupt_injection,
            "ici_send" => &mut self.ici_send,
            "ici_latency" => &mut self.ici_latency,
            "mailbox_message" => &mut self.mailbox_message,
            "departure_source" => &mut self.departure_source,
            "departure_destination" => &mut self.departure_destination,
            "return_source" => &mut self.return_source,
            "return_destination" => &mut self.return_destination,
            _ => return None,
        })
    }
}

// ---------------------------------------------------------------------------
// Errors
// ---------------------------------------------------------------------------

/// Line and column (both from 1; the column counts characters).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Location {
    pub line: usize,
    pub column: usize,
}

/// Why a description was rejected.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DescriptionError {
    /// The description file, when it came from `load`.
    pub file: Option<PathBuf>,
    /// The field, e.g. `guest[1].partition.base`; empty for a TOML syntax
    /// error or an unreadable file.
    pub field: String,
    pub message: String,
    /// Where in the text, when known.
    pub location: Option<Location>,
    /// The offending source line with a caret under the span, when known.
    pub snippet: Option<String>,
}

impl DescriptionError {
    /// The field and message are cut to a readable length ([`shorten`]):
    /// a 10 MB value is not echoed back.
    fn new(field: impl Into<String>, message: impl Into<String>) -> Self {
        DescriptionError {
            file: None,
            field: shorten_field(&field.into()),
            message: shorten(&message.into(), MAX_MESSAGE_CHARS),
            location: None,
            snippet: None,
        }
    }

    /// "field: message" (or just the message when no field applies).
    pub fn summary(&self) -> String {
        if self.field.is_empty() {
            self.message.clone()
        } else {
            format!("{}: {}", self.field, self.message)
        }
    }

    fn locate(mut self, text: &str, span: Option<Range<usize>>) -> Self {
        if let Some(span) = span {
            let (location, snippet) = location_of(text, span);
            self.location = Some(location);
            self.snippet = snippet;
        }
        self
    }
}

impl fmt::Display for DescriptionError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match (&self.file, self.location) {
            (Some(file), Some(l)) => write!(f, "{}:{}:{}: ", file.display(), l.line, l.column)?,
            (Some(file), None) => write!(f, "{}: ", file.display())?,
            (None, Some(l)) => write!(f, "line {}, column {}: ", l.line, l.column)?,
            (None, None) => {}
        }
        f.write_str(&self.summary())?;
        if let Some(snippet) = &self.snippet {
            write!(f, "\n{snippet}")?;
        }
        Ok(())
    }
}

impl std::error::Error for DescriptionError {}

/// Line/column of `span.start` and a one-line snippet with carets (none
/// when that line is blank). A long line is shown as a window of
/// `SNIPPET_CHARS` characters around the column, with `…` where it is cut.
fn location_of(text: &str, span: Range<usize>) -> (Location, Option<String>) {
    let mut start = span.start.min(text.len());
    while !text.is_char_boundary(start) {
        start -= 1;
    }
    let line_start = text[..start].rfind('\n').map_or(0, |i| i + 1);
    let line = text[..line_start].matches('\n').count() + 1;
    let line_text: &str = text[line_start..].split('\n').next().unwrap_or("").trim_end_matches('\r');
    let column = text[line_start..start].chars().count() + 1;
    if line_text.trim().is_empty() {
        return (Location { line, column }, None);
    }
    let span_chars = text
        .get(start..span.end.max(start).min(text.len()))
        .map(|s| s.split('\n').next().unwrap_or("").chars().count())
        .unwrap_or(1)
        .max(1);
    // A long line is shown as a window from a little before the column.
    let len = line_text.chars().count();
    let first = if len <= SNIPPET_CHARS { 0 } else { (column - 1).saturating_sub(SNIPPET_CHARS / 4).min(len - SNIPPET_CHARS) };
    let shown: String = line_text.chars().skip(first).take(SNIPPET_CHARS).collect();
    let cut_left = first > 0;
    let cut_right = line_text.chars().skip(first).nth(SNIPPET_CHARS).is_some();
    let before = if cut_left { "…" } else { "" };
    let after = if cut_right { "…" } else { "" };
    let caret_at = column - 1 - first + usize::from(cut_left);
    let carets = span_chars.min(shown.chars().count().saturating_sub(column - 1 - first).max(1));
    let gutter = line.to_string().len();
    let snippet = format!(
        "{:gutter$} |\n{} | {before}{shown}{after}\n{:gutter$} | {}{}",
        "",
        line,
        "",
        " ".repeat(caret_at),
        "^".repeat(carets),
    );
    (Location { line, column }, Some(snippet))
}

/// Most characters of a field path, of a message, of a source line shown
/// in an error; most characters kept of one value quoted in a message.
const MAX_FIELD_CHARS: usize = 120;
const MAX_MESSAGE_CHARS: usize = 600;
const SNIPPET_CHARS: usize = 100;
const VALUE_CHARS: usize = 64;
/// An unquoted word (a path, say) is cut only past this many characters.
const WORD_CHARS: usize = 256;

/// A field path with every key longer than `VALUE_CHARS` characters cut
/// to its start and `…`, and the whole to `MAX_FIELD_CHARS`.
fn shorten_field(field: &str) -> String {
    let keys: Vec<String> = field
        .split('.')
        .map(|key| if key.chars().count() > VALUE_CHARS { key.chars().take(VALUE_CHARS).collect::<String>() + "…" } else { key.to_string() })
        .collect();
    let out = keys.join(".");
    if out.chars().count() > MAX_FIELD_CHARS {
        out.chars().take(MAX_FIELD_CHARS).collect::<String>() + "…"
    } else {
        out
    }
}

/// `s` with every quoted value (`"..."`, `` `...` ``) longer than
/// `VALUE_CHARS` characters and every unquoted word longer than
/// `WORD_CHARS` cut to its first `VALUE_CHARS` characters and `…`, its
/// length in characters noted after it, and the whole cut to `max`
/// characters.
fn shorten(s: &str, max: usize) -> String {
    let chars: Vec<char> = s.chars().collect();
    let mut out = String::new();
    let mut i = 0;
    let cut = |out: &mut String, run: &[char]| {
        out.extend(&run[..VALUE_CHARS]);
        out.push('…');
    };
    while i < chars.len() {
        let c = chars[i];
        if c == '"' || c == '`' {
            // The quoted run, `\` escapes included, to its closing quote.
            let mut j = i + 1;
            while j < chars.len() && chars[j] != c {
                j += if chars[j] == '\\' { 2 } else { 1 };
            }
            let end = j.min(chars.len());
            let inner = &chars[i + 1..end];
            out.push(c);
            if inner.len() > VALUE_CHARS {
                cut(&mut out, inner);
                out.push(c);
                out.push_str(&format!(" ({} characters)", inner.len()));
            } else {
                out.extend(inner);
                if end < chars.len() {
                    out.push(c);
                }
            }
            i = end + 1;
        } else if !c.is_whitespace() {
            let mut j = i;
            while j < chars.len() && !chars[j].is_whitespace() && chars[j] != '"' && chars[j] != '`' {
                j += 1;
            }
            // A word's closing punctuation is not part of it.
            let end = if j > i + 1 && matches!(chars[j - 1], ':' | ',' | ';' | '.') { j - 1 } else { j };
            let word = &chars[i..end];
            if word.len() > WORD_CHARS {
                cut(&mut out, word);
                out.push_str(&format!(" ({} characters)", word.len()));
            } else {
                out.extend(word);
            }
            out.extend(&chars[end..j]);
            i = j;
        } else {
            out.push(c);
            i += 1;
        }
    }
    if out.chars().count() > max {
        out = out.chars().take(max).collect::<String>() + "…";
    }
    out
}

// ---------------------------------------------------------------------------
// Field paths <-> spans, through toml's spanned document tree
// ---------------------------------------------------------------------------

#[derive(Debug, Clone, PartialEq, Eq)]
enum Seg {
    Key(String),
    Index(usize),
}

fn render_path(segs: &[Seg]) -> String {
    let mut s = String::new();
    for seg in segs {
        match seg {
            Seg::Key(k) => {
                if !s.is_empty() {
                    s.push('.');
                }
                s.push_str(k);
            }
            Seg::Index(i) => s.push_str(&format!("[{i}]")),
        }
    }
    s
}

fn parse_path(path: &str) -> Vec<Seg> {
    let mut segs = Vec::new();
    for part in path.split('.') {
        let mut rest = part;
        if let Some(b) = rest.find('[') {
            segs.push(Seg::Key(rest[..b].to_string()));
            rest = &rest[b..];
            while let Some(stripped) = rest.strip_prefix('[') {
                let end = stripped.find(']').unwrap_or(stripped.len());
                if let Ok(i) = stripped[..end].parse() {
                    segs.push(Seg::Index(i));
                }
                rest = stripped.get(end + 1..).unwrap_or("");
            }
        } else if !rest.is_empty() {
            segs.push(Seg::Key(rest.to_string()));
        }
    }
    segs
}

fn span_contains(span: &Range<usize>, off: usize) -> bool {
    span.start <= off && off < span.end.max(span.start + 1)
}

/// The deepest field whose key or value covers byte `off`.
fn path_at_table(table: &DeTable<'_>, off: usize) -> Option<Vec<Seg>> {
    let mut shallow = None;
    for (k, v) in table.iter() {
        if let Some(mut sub) = path_at_value(v, off) {
            sub.insert(0, Seg::Key(k.get_ref().to_string()));
            return Some(sub);
        }
        if shallow.is_none() && (span_contains(&k.span(), off) || span_contains(&v.span(), off)) {
            shallow = Some(vec![Seg::Key(k.get_ref().to_string())]);
        }
    }
    shallow
}

fn path_at_value(v: &Spanned<DeValue<'_>>, off: usize) -> Option<Vec<Seg>> {
    match v.get_ref() {
        DeValue::Table(t) => path_at_table(t, off),
        DeValue::Array(a) => {
            let mut shallow = None;
            for (i, item) in a.iter().enumerate() {
                if let Some(mut sub) = path_at_value(item, off) {
                    sub.insert(0, Seg::Index(i));
                    return Some(sub);
                }
                if shallow.is_none() && span_contains(&item.span(), off) {
                    shallow = Some(vec![Seg::Index(i)]);
                }
            }
            shallow
        }
        _ => None,
    }
}

/// How deep values may nest, in steps of a field path: a description
/// needs 6 (`guest[0].params[0].words[0]`); anything deeper is refused
/// before it is read.
pub const MAX_NESTING: usize = 8;

fn too_deep() -> String {
    format!(
        "arrays and tables nested more than {MAX_NESTING} levels deep; a description needs at most 6 \
         (guest[0].params[0].words[0])"
    )
}

/// The first value nested more than `max` levels deep (the top table's
/// values are at level 1), with its path. toml refuses nesting past 80
/// levels, which bounds the recursion.
fn deeper_than(table: &DeTable<'_>, max: usize) -> Option<(Vec<Seg>, Range<usize>)> {
    fn value(v: &Spanned<DeValue<'_>>, level: usize, max: usize, path: &mut Vec<Seg>) -> Option<Range<usize>> {
        if level > max {
            return Some(v.span());
        }
        match v.get_ref() {
            DeValue::Table(t) => {
                for (k, item) in t.iter() {
                    path.push(Seg::Key(k.get_ref().to_string()));
                    if let Some(span) = value(item, level + 1, max, path) {
                        return Some(span);
                    }
                    path.pop();
                }
                None
            }
            DeValue::Array(a) => {
                for (i, item) in a.iter().enumerate() {
                    path.push(Seg::Index(i));
                    if let Some(span) = value(item, level + 1, max, path) {
                        return Some(span);
                    }
                    path.pop();
                }
                None
            }
            _ => None,
        }
    }
    let mut path = Vec::new();
    for (k, v) in table.iter() {
        path.push(Seg::Key(k.get_ref().to_string()));
        if let Some(span) = value(v, 1, max, &mut path) {
            return Some((path, span));
        }
        path.pop();
    }
    None
}

/// The field a duplicate key at `span` names: the table it is in (found
/// through the first occurrence, which the recovered document `root`
/// holds) and the key; and where the first occurrence starts.
fn duplicate_key(root: &DeTable<'_>, text: &str, span: Range<usize>) -> Option<(String, Option<usize>)> {
    let written = text.get(span.clone())?;
    let key = match written.as_bytes() {
        [b'"', .., b'"'] | [b'\'', .., b'\''] if written.len() >= 2 => &written[1..written.len() - 1],
        _ => written,
    };
    // Candidates: every key of that name that starts no later, with its
    // path, and whether its table is an inline table holding the
    // duplicate too (then it is the one: the deepest such).
    fn walk(
        t: &DeTable<'_>,
        inline_around: Option<usize>,
        text: &str,
        key: &str,
        off: usize,
        path: &mut Vec<Seg>,
        best: &mut Option<(bool, usize, Vec<Seg>, usize)>,
    ) {
        for (k, v) in t.iter() {
            path.push(Seg::Key(k.get_ref().to_string()));
            if k.get_ref().as_ref() == key && k.span().start <= off {
                // An enclosing inline table beats any table before; of
                // several, the innermost (latest-starting); else the key
                // that starts last.
                let rank = (inline_around.is_some(), inline_around.unwrap_or(k.span().start));
                if best.as_ref().is_none_or(|(i, s, _, _)| rank >= (*i, *s)) {
                    *best = Some((rank.0, rank.1, path.clone(), k.span().start));
                }
            }
            walk_value(v, text, key, off, path, best);
            path.pop();
        }
    }
    fn walk_value(
        v: &Spanned<DeValue<'_>>,
        text: &str,
        key: &str,
        off: usize,
        path: &mut Vec<Seg>,
        best: &mut Option<(bool, usize, Vec<Seg>, usize)>,
    ) {
        match v.get_ref() {
            DeValue::Table(t) => {
                let span = v.span();
                let inline = text.get(span.clone()).is_some_and(|s| s.starts_with('{'));
                if inline && !span_contains(&span, off) {
                    // An inline table that ended before the duplicate.
                    return;
                }
                walk(t, inline.then_some(span.start), text, key, off, path, best);
            }
            DeValue::Array(a) => {
                for (i, item) in a.iter().enumerate() {
                    path.push(Seg::Index(i));
                    walk_value(item, text, key, off, path, best);
                    path.pop();
                }
            }
            _ => {}
        }
    }
    let mut best = None;
    walk(root, None, text, key, span.start, &mut Vec::new(), &mut best);
    // The first occurrence is the duplicate itself when toml kept the
    // second (a table header given twice): then say nothing of it.
    Some(match best {
        Some((_, _, path, first)) => (render_path(&path), (first != span.start).then_some(first)),
        None => (key.to_string(), None),
    })
}

/// The field whose key starts last before byte `off` (for syntax errors the
/// recovered document does not cover, such as a duplicate key).
fn last_key_before(table: &DeTable<'_>, off: usize, path: &mut Vec<Seg>, best: &mut Option<(usize, Vec<Seg>)>) {
    for (k, v) in table.iter() {
        let start = k.span().start;
        path.push(Seg::Key(k.get_ref().to_string()));
        if start < off && best.as_ref().is_none_or(|(b, _)| start >= *b) {
            *best = Some((start, path.clone()));
        }
        last_key_in_value(v, off, path, best);
        path.pop();
    }
}

fn last_key_in_value(v: &Spanned<DeValue<'_>>, off: usize, path: &mut Vec<Seg>, best: &mut Option<(usize, Vec<Seg>)>) {
    match v.get_ref() {
        DeValue::Table(t) => last_key_before(t, off, path, best),
        DeValue::Array(a) => {
            for (i, item) in a.iter().enumerate() {
                path.push(Seg::Index(i));
                last_key_in_value(item, off, path, best);
                path.pop();
            }
        }
        _ => {}
    }
}

/// The span of the value at `path` (a key's span when the value has none).
fn span_of(root: &DeTable<'_>, path: &str) -> Option<Range<usize>> {
    let segs = parse_path(path);
    let mut span: Option<Range<usize>> = None;
    let mut table = Some(root);
    let mut value: Option<&Spanned<DeValue<'_>>> = None;
    for seg in &segs {
        match seg {
            Seg::Key(k) => {
                let t = match (table, value) {
                    (Some(t), None) => t,
                    (_, Some(v)) => v.get_ref().as_table()?,
                    (None, None) => return None,
                };
                let (key, v) = t.get_key_value(k.as_str())?;
                span = Some(if v.span().is_empty() { key.span() } else { v.span() });
                value = Some(v);
                table = None;
            }
            Seg::Index(i) => {
                let v = value?.get_ref().as_array()?.get(*i)?;
                span = Some(v.span());
                value = Some(v);
            }
        }
    }
    span
}

// ---------------------------------------------------------------------------
// The raw file, as serde reads it
// ---------------------------------------------------------------------------

fn yes() -> bool {
    true
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawDescription {
    hypervisor: RawHypervisor,
    #[serde(default)]
    costs: RawCosts,
    #[serde(default)]
    guest: Vec<RawGuest>,
    faults: Option<RawFaults>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawFaults {
    #[serde(default)]
    seed: i64,
    #[serde(default)]
    ici: Vec<RawIciFault>,
    #[serde(default)]
    stall: Vec<RawStall>,
    #[serde(default)]
    flip: Vec<RawFlip>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawIciFault {
    core: i64,
    lost_percent: Option<i64>,
    lost_nth: Option<i64>,
    delay_us: Option<i64>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawStall {
    core: i64,
    at_ms: i64,
    for_ms: Option<i64>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawFlip {
    at_ms: i64,
    offset: i64,
    mask: i64,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawHypervisor {
    policy: Policy,
    #[serde(default)]
    spin_yield: bool,
    #[serde(default = "yes")]
    ipl_separation: bool,
    time_slice_us: Option<i64>,
    delayed_preemption_bound_us: Option<i64>,
    #[serde(default)]
    dispatch_first: bool,
    departure_defer_us: Option<i64>,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct RawCosts {
    entry_exit: Option<CostValue>,
    hypercall: Option<CostValue>,
    vcpu_switch: Option<CostValue>,
    interrupt_injection: Option<CostValue>,
    ici_send: Option<CostValue>,
    ici_latency: Option<CostValue>,
    mailbox_message: Option<CostValue>,
    departure_source: Option<CostValue>,
    departure_destination: Option<CostValue>,
    return_source: Option<CostValue>,
    return_destination: Option<CostValue>,
}

impl RawCosts {
    fn entries(&self) -> [(&'static str, Option<u64>); 11] {
        let c = |v: &Option<CostValue>| v.as_ref().map(|v| v.0);
        [
            ("entry_exit", c(&self.entry_exit)),
            ("hypercall", c(&self.hypercall)),
            ("vcpu_switch", c(&self.vcpu_switch)),
            ("interrupt_injection", c(&self.interrupt_injection)),
            ("ici_send", c(&self.ici_send)),
            ("ici_latency", c(&self.ici_latency)),
            ("mailbox_message", c(&self.mailbox_message)),
            ("departure_source", c(&self.departure_source)),
            ("departure_destination", c(&self.departure_destination)),
            ("return_source", c(&self.return_source)),
            ("return_destination", c(&self.return_destination)),
        ]
    }
}

/// A cost, in cycles: a plain number is microseconds; a string carries its
/// unit ("300 cycles", "250 ns", "24.9 us", "1.5 ms").
struct CostValue(u64);

impl<'de> Deserialize<'de> for CostValue {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(CostVisitor)
    }
}

struct CostVisitor;

fn cost_from_us<E: de::Error>(us: f64, shown: &str) -> Result<CostValue, E> {
    cost_from_scaled(us, CYCLES_PER_US as f64, shown)
}

fn cost_from_scaled<E: de::Error>(value: f64, cycles_per_unit: f64, shown: &str) -> Result<CostValue, E> {
    if !value.is_finite() {
        return Err(E::custom(format!("{shown} is not a finite duration")));
    }
    if value < 0.0 {
        return Err(E::custom(format!("{shown} is negative")));
    }
    let cycles = (value * cycles_per_unit).round();
    if cycles > MAX_COST_CYCLES as f64 {
        return Err(E::custom(format!("{shown} is more than 1 s")));
    }
    Ok(CostValue(cycles as u64))
}

impl<'de> Visitor<'de> for CostVisitor {
    type Value = CostValue;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a duration: a number of microseconds, or a string such as \"300 cycles\" or \"24.9 us\"")
    }

    fn visit_i64<E: de::Error>(self, v: i64) -> Result<CostValue, E> {
        cost_from_us(v as f64, &format!("{v} us"))
    }

    fn visit_u64<E: de::Error>(self, v: u64) -> Result<CostValue, E> {
        cost_from_us(v as f64, &format!("{v} us"))
    }

    fn visit_f64<E: de::Error>(self, v: f64) -> Result<CostValue, E> {
        cost_from_us(v, &format!("{v} us"))
    }

    fn visit_str<E: de::Error>(self, s: &str) -> Result<CostValue, E> {
        let t = s.trim();
        let split =
            t.find(|c: char| !(c.is_ascii_digit() || c == '.' || c == '-' || c == '+' || c == '_')).unwrap_or(t.len());
        let (number, unit) = (t[..split].replace('_', ""), t[split..].trim());
        let per_unit = match unit {
            "cycles" | "cycle" => 1.0,
            "ns" => CYCLES_PER_US as f64 / 1000.0,
            "us" => CYCLES_PER_US as f64,
            "ms" => CYCLES_PER_US as f64 * 1000.0,
            "" => return Err(E::custom(format!("\"{s}\" has no unit (use cycles, ns, us or ms)"))),
            _ => return Err(E::custom(format!("unknown unit \"{unit}\" in \"{s}\" (use cycles, ns, us or ms)"))),
        };
        let value: f64 = number.parse().map_err(|_| E::custom(format!("\"{s}\" does not start with a number")))?;
        if per_unit == 1.0 && value.fract() != 0.0 {
            return Err(E::custom(format!("\"{s}\": a number of cycles must be whole")));
        }
        cost_from_scaled(value, per_unit, &format!("\"{s}\""))
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawGuest {
    name: String,
    class: GuestClass,
    priority: i64,
    image: Images,
    partition: RawPartition,
    vcpus: Vec<RawVcpu>,
    #[serde(default)]
    interrupts: Vec<RawInterrupt>,
    #[serde(default)]
    params: Vec<RawParam>,
    #[serde(default)]
    interrupt_mask: InterruptMask,
    #[serde(default)]
    mmu: bool,
    #[serde(default)]
    direct_exceptions: bool,
    #[serde(default)]
    preempt_count: PreemptCount,
    #[serde(default)]
    linux: Option<RawLinux>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawLinux {
    #[serde(default)]
    initrd: Option<String>,
    #[serde(default)]
    cmdline: String,
}

/// `image = "a.elf"` or `image = ["a.elf", "b.elf"]`.
struct Images(Vec<String>);

impl<'de> Deserialize<'de> for Images {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Images;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a path to an ELF image, or an array of such paths")
            }
            fn visit_str<E: de::Error>(self, s: &str) -> Result<Images, E> {
                Ok(Images(vec![s.to_string()]))
            }
            fn visit_seq<A: de::SeqAccess<'de>>(self, mut seq: A) -> Result<Images, A::Error> {
                let mut v = Vec::new();
                while let Some(s) = seq.next_element::<String>()? {
                    v.push(s);
                }
                Ok(Images(v))
            }
        }
        d.deserialize_any(V)
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawPartition {
    base: i64,
    size: i64,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawVcpu {
    core: i64,
    entry: Option<i64>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawInterrupt {
    source: InterruptSource,
    level: i64,
    vcpu: Option<i64>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawParam {
    symbol: String,
    words: Vec<i64>,
}

// ---------------------------------------------------------------------------
// Parsing and validation
// ---------------------------------------------------------------------------

/// Parse and validate a description. Image paths are resolved against
/// `base_dir` (the description file's directory); the images themselves are
/// not read (see `Description::check_images`).
pub fn parse(text: &str, base_dir: &Path) -> Result<Description, DescriptionError> {
    let field_at = |root: &DeTable<'_>, span: Option<Range<usize>>| {
        span.and_then(|s| path_at_table(root, s.start)).map(|p| render_path(&p)).unwrap_or_default()
    };
    let root = DeTable::parse(text).map_err(|e| {
        // Name the field the syntax error is in where the recovered part of
        // the document shows it (a duplicate key, a bad value).
        let (partial, _) = DeTable::parse_recoverable(text);
        let partial = partial.get_ref();
        if e.message() == "duplicate key" {
            // The error points at the second key; the recovered document
            // holds the first.
            let (field, first) = e.span().and_then(|span| duplicate_key(partial, text, span)).unwrap_or_default();
            let message = match first {
                Some(at) => {
                    let (l, _) = location_of(text, at..at);
                    format!("duplicate key (first given at line {}, column {})", l.line, l.column)
                }
                None => "duplicate key".to_string(),
            };
            return DescriptionError::new(field, message).locate(text, e.span());
        }
        if e.message().contains("recursion") {
            // toml's own limit (80 levels), far beyond ours.
            let mut field = field_at(partial, e.span());
            if let Some(cut) = field.char_indices().filter(|&(_, c)| c == '.' || c == '[').nth(MAX_NESTING) {
                field.truncate(cut.0);
                field.push('…');
            }
            return DescriptionError::new(field, too_deep()).locate(text, e.span());
        }
        let mut field = field_at(partial, e.span());
        if field.is_empty() {
            if let Some(off) = e.span().map(|s| s.start) {
                let mut best = None;
                last_key_before(partial, off, &mut Vec::new(), &mut best);
                field = best.map(|(_, p)| render_path(&p)).unwrap_or_default();
            }
        }
        DescriptionError::new(field, e.message()).locate(text, e.span())
    })?;
    if let Some((path, span)) = deeper_than(root.get_ref(), MAX_NESTING) {
        return Err(DescriptionError::new(render_path(&path), too_deep()).locate(text, Some(span)));
    }
    let raw: RawDescription = toml::from_str(text).map_err(|e| {
        let message = e.message().replace("expected i64", "expected an integer");
        DescriptionError::new(field_at(root.get_ref(), e.span()), message).locate(text, e.span())
    })?;
    validate(raw, base_dir).map_err(|(field, message)| {
        let span = span_of(root.get_ref(), &field);
        DescriptionError::new(field, message).locate(text, span)
    })
}

/// Read and parse the description file at `path`; image paths are resolved
/// against its directory.
pub fn load(path: &Path) -> Result<Description, DescriptionError> {
    let fail = |message: String| {
        let mut err = DescriptionError::new("", message);
        err.file = Some(path.to_path_buf());
        err
    };
    let bytes = rp1_sim::loader::read_at_most(path, MAX_DESCRIPTION_BYTES)
        .map_err(|e| fail(format!("cannot read the description: {e}")))?
        .ok_or_else(|| fail(format!("the description is larger than {MAX_DESCRIPTION_BYTES} bytes")))?;
    let text = String::from_utf8(bytes).map_err(|e| fail(format!("the description is not UTF-8 text: {e}")))?;
    let base_dir = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    };
    parse(&text, &base_dir).map_err(|mut e| {
        e.file = Some(path.to_path_buf());
        e
    })
}

type Invalid = (String, String);

fn bad<T>(field: impl Into<String>, message: impl Into<String>) -> Result<T, Invalid> {
    Err((field.into(), message.into()))
}

fn interval_us(field: &str, v: i64) -> Result<u32, Invalid> {
    if v < 1 || v > MAX_INTERVAL_US as i64 {
        return bad(field, format!("{v} must be between 1 and {MAX_INTERVAL_US}"));
    }
    Ok(v as u32)
}

fn validate(raw: RawDescription, base_dir: &Path) -> Result<Description, Invalid> {
    let h = &raw.hypervisor;
    let time_slice_us = match h.time_slice_us {
        Some(v) => interval_us("hypervisor.time_slice_us", v)?,
        None => Hypervisor::DEFAULT_TIME_SLICE_US,
    };
    let delayed_preemption_bound_us = match h.delayed_preemption_bound_us {
        Some(v) => {
            if h.policy != Policy::DelayedPreemption {
                return bad(
                    "hypervisor.delayed_preemption_bound_us",
                    format!("only meaningful with policy = \"delayed-preemption\" (this file has \"{}\")", h.policy),
                );
            }
            Some(interval_us("hypervisor.delayed_preemption_bound_us", v)?)
        }
        None => None,
    };
    if h.dispatch_first && h.policy != Policy::OnDemandMigration {
        return bad(
            "hypervisor.dispatch_first",
            format!("only meaningful with policy = \"on-demand-migration\" (this file has \"{}\")", h.policy),
        );
    }
    let departure_defer_us = match h.departure_defer_us {
        Some(v) => {
            if !h.dispatch_first {
                return bad("hypervisor.departure_defer_us", "only meaningful with dispatch_first = true".to_string());
            }
            if !(0..=MAX_INTERVAL_US as i64).contains(&v) {
                return bad("hypervisor.departure_defer_us", format!("{v} must be between 0 and {MAX_INTERVAL_US}"));
            }
            v as u32
        }
        None => Hypervisor::DEFAULT_DEPARTURE_DEFER_US,
    };
    let hypervisor = Hypervisor {
        policy: h.policy,
        spin_yield: h.spin_yield,
        ipl_separation: h.ipl_separation,
        time_slice_us,
        delayed_preemption_bound_us,
        dispatch_first: h.dispatch_first,
        departure_defer_us,
    };

    let mut costs = Costs::default();
    for (name, value) in raw.costs.entries() {
        if let Some(v) = value {
            *costs.slot(name).expect("every raw cost has a slot") = v;
        }
    }

    if raw.guest.is_empty() {
        return bad("guest", "the description has no [[guest]]: at least one guest must run");
    }
    if raw.guest.len() > MAX_GUESTS {
        return bad("guest", format!("{} guests, at most {MAX_GUESTS}", raw.guest.len()));
    }
    let mut guests: Vec<Guest> = Vec::new();
    for (gi, g) in raw.guest.iter().enumerate() {
        let guest = validate_guest(gi, g, base_dir)?;
        let p = format!("guest[{gi}]");
        for (oi, other) in guests.iter().enumerate() {
            if other.name == guest.name {
                return bad(format!("{p}.name"), format!("\"{}\" is already the name of guest[{oi}]", guest.name));
            }
            if other.partition.overlaps(&guest.partition) {
                return bad(
                    format!("{p}.partition"),
                    format!("{} overlaps guest[{oi}] \"{}\" ({})", guest.partition, other.name, other.partition),
                );
            }
            let (rtos, gpos, gpos_index) = match (other.class, guest.class) {
                (GuestClass::Rtos, GuestClass::Gpos) => (other, &guest, gi),
                (GuestClass::Gpos, GuestClass::Rtos) => (&guest, other, oi),
                _ => continue,
            };
            if gpos.priority >= rtos.priority {
                let (rtos_index, rtos_name) = if gpos_index == gi { (oi, &other.name) } else { (gi, &guest.name) };
                return bad(
                    format!("{p}.priority"),
                    format!(
                        "a GPOS guest's priority ({}) must be below every RTOS guest's (guest[{rtos_index}] \"{rtos_name}\" has {})",
                        gpos.priority, rtos.priority
                    ),
                );
            }
        }
        check_device_sources(gi, &guest, &guests)?;
        guests.push(guest);
    }
    let faults = match &raw.faults {
        Some(f) => validate_faults(f)?,
        None => rp1_sim::faults::Faults::default(),
    };
    Ok(Description { hypervisor, costs, guests, base_dir: base_dir.to_path_buf(), faults })
}

/// Latest time a fault may be given for, in milliseconds (an hour).
pub const MAX_FAULT_MS: i64 = 3_600_000;

/// The `[faults]` table as the machine's plan.
fn validate_faults(raw: &RawFaults) -> Result<rp1_sim::faults::Faults, Invalid> {
    use rp1_sim::faults::{Faults, Flip, IciFault, Stall, CYCLES_PER_MS};
    let core = |field: String, v: i64| -> Result<usize, Invalid> {
        if (0..CORES as i64).contains(&v) {
            Ok(v as usize)
        } else {
            bad(field, format!("{v} is not a core (0-{})", CORES - 1))
        }
    };
    let ms = |field: String, v: i64, least: i64| -> Result<u64, Invalid> {
        if (least..=MAX_FAULT_MS).contains(&v) {
            Ok(v as u64 * CYCLES_PER_MS)
        } else {
            bad(field, format!("{v} must be between {least} and {MAX_FAULT_MS} (milliseconds)"))
        }
    };
    if raw.seed < 0 {
        return bad("faults.seed", format!("{} must not be negative", raw.seed));
    }
    let mut plan = Faults { seed: raw.seed as u64, ..Faults::default() };
    for (i, f) in raw.ici.iter().enumerate() {
        let p = format!("faults.ici[{i}]");
        let core = core(format!("{p}.core"), f.core)?;
        let fault = match (f.lost_percent, f.lost_nth, f.delay_us) {
            (Some(v), None, None) => {
                if !(0..=100).contains(&v) {
                    return bad(format!("{p}.lost_percent"), format!("{v} must be between 0 and 100"));
                }
                IciFault::LosePercent { core, percent: v as u8 }
            }
            (None, Some(v), None) => {
                if v < 1 {
                    return bad(format!("{p}.lost_nth"), format!("{v}: the ICIs to a core are counted from 1"));
                }
                IciFault::LoseNth { core, nth: v as u64 }
            }
            (None, None, Some(v)) => {
                if !(1..=MAX_INTERVAL_US as i64).contains(&v) {
                    return bad(format!("{p}.delay_us"), format!("{v} must be between 1 and {MAX_INTERVAL_US}"));
                }
                IciFault::Delay { core, cycles: v as u64 * CYCLES_PER_US }
            }
            _ => return bad(p, "give exactly one of lost_percent, lost_nth and delay_us"),
        };
        plan.ici.push(fault);
    }
    for (i, s) in raw.stall.iter().enumerate() {
        let p = format!("faults.stall[{i}]");
        let core = core(format!("{p}.core"), s.core)?;
        let at = ms(format!("{p}.at_ms"), s.at_ms, 0)?;
        let cycles = match s.for_ms {
            Some(v) => Some(ms(format!("{p}.for_ms"), v, 1)?),
            None => None,
        };
        let stall = Stall { core, at, cycles };
        let end = |s: &Stall| s.cycles.map_or(u64::MAX, |c| s.at + c);
        if let Some(j) = plan.stalls.iter().position(|o| o.core == core && o.at < end(&stall) && at < end(o)) {
            return bad(p, format!("overlaps faults.stall[{j}] on core {core}"));
        }
        plan.stalls.push(stall);
    }
    for (i, f) in raw.flip.iter().enumerate() {
        let p = format!("faults.flip[{i}]");
        let at = ms(format!("{p}.at_ms"), f.at_ms, 0)?;
        let size = rp1_sim::bus::CSM_SIZE as i64;
        if !(0..size).contains(&f.offset) || f.offset % 4 != 0 {
            return bad(format!("{p}.offset"), format!("{:#x} is not a 4-byte-aligned offset in the CSM (0 to {:#x})", f.offset, size - 4));
        }
        if !(1..=u32::MAX as i64).contains(&f.mask) {
            return bad(format!("{p}.mask"), format!("{:#x} must be a non-zero 32-bit mask", f.mask));
        }
        plan.flips.push(Flip { at, offset: f.offset as u32, mask: f.mask as u32 });
    }
    // What is left to check the machine checks again; nothing should be.
    if let Err(e) = plan.check(CORES as usize) {
        return bad("faults", e.to_string());
    }
    Ok(plan)
}

/// Physical sources across guests: each has one owner, the whole machine
/// has room for `MAX_DEVICES` of them, and sources that share an INTC
/// priority field (a SCIF port's four lines) share a level.
fn check_device_sources(gi: usize, guest: &Guest, earlier: &[Guest]) -> Result<(), Invalid> {
    let devices = |g: &Guest| -> Vec<(usize, Source, u8)> {
        g.interrupts
            .iter()
            .enumerate()
            .filter_map(|(ii, i)| match i.source {
                InterruptSource::Device(src) => Some((ii, src, i.level)),
                _ => None,
            })
            .collect()
    };
    let mut total: usize = earlier.iter().map(|g| devices(g).len()).sum();
    for (ii, src, level) in devices(guest) {
        let ip = format!("guest[{gi}].interrupts[{ii}]");
        total += 1;
        if total > MAX_DEVICES {
            return bad(format!("{ip}.source"), format!("the machine's guests own more than {MAX_DEVICES} device sources"));
        }
        let others = earlier.iter().enumerate().chain(std::iter::once((gi, guest)));
        for (oi, other) in others {
            for (oii, osrc, olevel) in devices(other) {
                if (oi, oii) >= (gi, ii) {
                    continue;
                }
                let there = format!("guest[{oi}].interrupts[{oii}]");
                if osrc == src && oi != gi {
                    return bad(format!("{ip}.source"), format!("\"{}\" already belongs to guest[{oi}] \"{}\" ({there})", InterruptSource::Device(src).name(), other.name));
                }
                if osrc != src && osrc.priority_field() == src.priority_field() && olevel != level {
                    return bad(
                        format!("{ip}.level"),
                        format!(
                            "{level}: \"{}\" shares its INTC priority field with \"{}\", which has level {olevel} ({there})",
                            InterruptSource::Device(src).name(),
                            InterruptSource::Device(osrc).name()
                        ),
                    );
                }
            }
        }
    }
    Ok(())
}

fn validate_guest(gi: usize, g: &RawGuest, base_dir: &Path) -> Result<Guest, Invalid> {
    let p = format!("guest[{gi}]");
    let name_ok = !g.name.is_empty()
        && g.name.len() <= 32
        && g.name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-');
    if !name_ok {
        return bad(
            format!("{p}.name"),
            format!("\"{}\" is not a name: 1-32 letters, digits, '_' or '-'", g.name.escape_debug()),
        );
    }
    if !(0..=255).contains(&g.priority) {
        return bad(format!("{p}.priority"), format!("{} is not a priority (0-255)", g.priority));
    }
    if g.preempt_count == PreemptCount::ThreadInfo && g.class == GuestClass::Rtos {
        return bad(
            format!("{p}.preempt_count"),
            "only a GPOS is held in its critical sections: an RTOS's count is never read",
        );
    }
    if g.image.0.is_empty() {
        return bad(format!("{p}.image"), "no image: give a path or a non-empty array of paths");
    }
    let mut images = Vec::new();
    for (ii, image) in g.image.0.iter().enumerate() {
        if image.trim().is_empty() {
            let field = if g.image.0.len() == 1 { format!("{p}.image") } else { format!("{p}.image[{ii}]") };
            return bad(field, "an image path cannot be empty");
        }
        images.push(base_dir.join(image));
    }

    let (base, size) = (g.partition.base, g.partition.size);
    let dram = format!("DRAM ({DRAM_BASE:#010x}-{:#010x})", DRAM_END - 1);
    if base < DRAM_BASE as i64 || base >= DRAM_END as i64 {
        return bad(format!("{p}.partition.base"), format!("{} is outside {dram}", hex(base)));
    }
    if base % PARTITION_ALIGN as i64 != 0 {
        return bad(format!("{p}.partition.base"), format!("{} is not 4 KiB aligned", hex(base)));
    }
    if size <= 0 {
        return bad(format!("{p}.partition.size"), format!("{}: a partition cannot be empty", hex(size)));
    }
    if size % PARTITION_ALIGN as i64 != 0 {
        return bad(format!("{p}.partition.size"), format!("{} is not a multiple of 4 KiB", hex(size)));
    }
    if base.saturating_add(size) > DRAM_END as i64 {
        return bad(
            format!("{p}.partition.size"),
            format!("{} at {} runs past the end of DRAM ({:#010x})", hex(size), hex(base), DRAM_END - 1),
        );
    }
    let partition = Partition { base: base as u32, size: size as u32 };

    if g.vcpus.is_empty() {
        return bad(format!("{p}.vcpus"), "empty: a guest needs at least one vCPU");
    }
    if g.vcpus.len() > MAX_VCPUS {
        return bad(format!("{p}.vcpus"), format!("{} vCPUs, at most {MAX_VCPUS}", g.vcpus.len()));
    }
    let mut vcpus = Vec::new();
    for (vi, v) in g.vcpus.iter().enumerate() {
        let vp = format!("{p}.vcpus[{vi}]");
        if !(0..CORES as i64).contains(&v.core) {
            return bad(format!("{vp}.core"), format!("{} is not a core (0-{})", v.core, CORES - 1));
        }
        let entry = match v.entry {
            None => None,
            Some(e) => {
                if !(0..=u32::MAX as i64).contains(&e) {
                    return bad(format!("{vp}.entry"), format!("{e} is not a 32-bit address"));
                }
                let e = e as u32;
                if !e.is_multiple_of(2) {
                    return bad(format!("{vp}.entry"), format!("{e:#010x} is not 2-byte aligned"));
                }
                // P1/P2 addresses map straight to physical memory: they must
                // land in the guest's own partition.
                if (0x8000_0000..0xC000_0000).contains(&e) && !partition.contains(e & 0x1FFF_FFFF) {
                    return bad(
                        format!("{vp}.entry"),
                        format!(
                            "{e:#010x} (physical {:#010x}) is outside the guest's partition ({partition})",
                            e & 0x1FFF_FFFF
                        ),
                    );
                }
                Some(e)
            }
        };
        vcpus.push(VcpuSpec { core: v.core as u8, entry });
    }

    let mut interrupts: Vec<InterruptSpec> = Vec::new();
    for (ii, i) in g.interrupts.iter().enumerate() {
        let ip = format!("{p}.interrupts[{ii}]");
        if let Some(first) = interrupts.iter().position(|o| o.source == i.source) {
            return bad(
                format!("{ip}.source"),
                format!("\"{}\" is given twice (first at {p}.interrupts[{first}])", i.source.name()),
            );
        }
        let (lo, hi) = g.class.levels();
        if !(lo as i64..=hi as i64).contains(&i.level) {
            return bad(
                format!("{ip}.level"),
                format!("{} is not an {} level ({lo}-{hi})", i.level, g.class.upper()).replace("an GPOS", "a GPOS"),
            );
        }
        let vcpu = match (i.source, i.vcpu) {
            (_, None) => 0,
            (InterruptSource::Device(_), Some(v)) if (0..vcpus.len() as i64).contains(&v) => v as u8,
            (InterruptSource::Device(_), Some(v)) => {
                return bad(format!("{ip}.vcpu"), format!("{v} is not one of the guest's vCPUs (0-{})", vcpus.len() - 1));
            }
            (source, Some(_)) => {
                return bad(
                    format!("{ip}.vcpu"),
                    format!("only a device source belongs to one vCPU; every vCPU has its own \"{}\"", source.name()),
                );
            }
        };
        let per_vcpu = interrupts.iter().filter(|o| matches!(o.source, InterruptSource::Device(_)) && o.vcpu == vcpu).count();
        if matches!(i.source, InterruptSource::Device(_)) && per_vcpu == MAX_DEVICES_PER_VCPU {
            return bad(format!("{ip}.source"), format!("vCPU {vcpu} already owns {MAX_DEVICES_PER_VCPU} device sources, the most one vCPU can"));
        }
        interrupts.push(InterruptSpec { source: i.source, level: i.level as u8, vcpu });
    }

    let mut params: Vec<ParamPatch> = Vec::new();
    for (pi, r) in g.params.iter().enumerate() {
        let pp = format!("{p}.params[{pi}]");
        let sym_ok = !r.symbol.is_empty()
            && !r.symbol.starts_with(|c: char| c.is_ascii_digit())
            && r.symbol.chars().all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '.' || c == '$');
        if !sym_ok {
            return bad(format!("{pp}.symbol"), format!("\"{}\" is not a symbol name", r.symbol.escape_debug()));
        }
        if let Some(first) = params.iter().position(|o| o.symbol == r.symbol) {
            return bad(
                format!("{pp}.symbol"),
                format!("\"{}\" is patched twice (first at {p}.params[{first}])", r.symbol),
            );
        }
        if r.words.is_empty() {
            return bad(format!("{pp}.words"), "empty: give at least one 32-bit word");
        }
        let mut words = Vec::new();
        for (wi, &w) in r.words.iter().enumerate() {
            if !(i32::MIN as i64..=u32::MAX as i64).contains(&w) {
                return bad(format!("{pp}.words[{wi}]"), format!("{w} does not fit in 32 bits"));
            }
            words.push(w as u32);
        }
        params.push(ParamPatch { symbol: r.symbol.clone(), words });
    }

    Ok(Guest {
        name: g.name.clone(),
        class: g.class,
        priority: g.priority as u8,
        images,
        partition,
        vcpus,
        interrupts,
        params,
        interrupt_mask: g.interrupt_mask,
        mmu: g.mmu,
        direct_exceptions: g.direct_exceptions,
        preempt_count: g.preempt_count,
        linux: match &g.linux {
            None => None,
            Some(l) => {
                if l.cmdline.len() >= rp1_sim::linux_boot::COMMAND_LINE_SIZE || l.cmdline.contains('\0') {
                    return bad(
                        format!("{p}.linux.cmdline"),
                        format!("{} bytes; Linux/SH takes at most {}, without NUL bytes", l.cmdline.len(), rp1_sim::linux_boot::COMMAND_LINE_SIZE - 1),
                    );
                }
                if l.initrd.as_ref().is_some_and(|i| i.trim().is_empty()) {
                    return bad(format!("{p}.linux.initrd"), "an initramfs path cannot be empty");
                }
                Some(LinuxBoot { initrd: l.initrd.as_ref().map(|i| base_dir.join(i)), cmdline: l.cmdline.clone() })
            }
        },
    })
}

/// 0x-prefixed, at least 8 hex digits; negative numbers as "-0x...".
fn hex(v: i64) -> String {
    if v < 0 {
        format!("-{:#010x}", v.unsigned_abs())
    } else {
        format!("{v:#010x}")
    }
}

// ---------------------------------------------------------------------------
// Checks against the images themselves
// ---------------------------------------------------------------------------

impl Description {
    /// The guest named `name`.
    pub fn guest(&self, name: &str) -> Option<&Guest> {
        self.guests.iter().find(|g| g.name == name)
    }

    /// Read every guest's images and check them against the description:
    /// each is a 32-bit little-endian SuperH executable whose loadable
    /// segments lie in the guest's partition, and each `params` symbol is
    /// defined in one of the guest's images, inside the partition and large
    /// enough for its words (when the symbol table gives a size).
    pub fn check_images(&self) -> Result<(), DescriptionError> {
        use object::read::elf::{ElfFile32, ProgramHeader};
        use object::{Object, ObjectSymbol};

        for (gi, g) in self.guests.iter().enumerate() {
            let mut files = Vec::new();
            for (ii, path) in g.images.iter().enumerate() {
                let field =
                    if g.images.len() == 1 { format!("guest[{gi}].image") } else { format!("guest[{gi}].image[{ii}]") };
                let data = rp1_sim::loader::read_image(path).map_err(|e| {
                    let message = match e {
                        rp1_sim::loader::ReadError::Io(e) => format!("cannot read {}: {e}", path.display()),
                        e => format!("{}: {e}", path.display()),
                    };
                    DescriptionError::new(&field, message)
                })?;
                files.push((field, path, data));
            }
            for (ii, (field, path, data)) in files.iter().enumerate() {
                let elf = ElfFile32::<object::Endianness>::parse(data.as_slice()).map_err(|e| {
                    DescriptionError::new(field, format!("{} is not a 32-bit ELF file: {e}", path.display()))
                })?;
                let endian = elf.endian();
                let header = elf.elf_header();
                if !elf.is_little_endian() || header.e_machine.get(endian) != object::elf::EM_SH {
                    return Err(DescriptionError::new(
                        field,
                        format!("{} is not a little-endian SuperH executable", path.display()),
                    ));
                }
                for (si, ph) in elf.elf_program_headers().iter().enumerate() {
                    if ph.p_type(endian) != object::elf::PT_LOAD || ph.p_memsz(endian) == 0 {
                        continue;
                    }
                    let (addr, len) = (ph.p_paddr(endian) & 0x1FFF_FFFF, ph.p_memsz(endian));
                    if !g.partition.contains_range(addr, len) {
                        return Err(DescriptionError::new(
                            field,
                            format!(
                                "segment {si} of {} ({len:#x} bytes at physical {addr:#010x}) is outside the partition ({})",
                                path.display(),
                                g.partition
                            ),
                        ));
                    }
                }
                // The first image's entry is where vCPU 0 starts, unless the
                // description gives one: it must be an instruction's
                // address in the partition (with the MMU off, as a vCPU
                // starts, P0-P3 addresses are physical in their low 29 bits).
                if ii == 0 && g.vcpus.first().is_some_and(|v| v.entry.is_none()) {
                    let entry = header.e_entry.get(endian);
                    let why = if entry == 0 {
                        Some("is 0: the image names no entry point".to_string())
                    } else if entry % 2 != 0 {
                        Some(format!("{entry:#010x} is not 2-byte aligned (instructions are 16 bits)"))
                    } else if entry >= 0xE000_0000 {
                        Some(format!("{entry:#010x} is in P4 (on-chip registers), not in the partition ({})", g.partition))
                    } else if !g.partition.contains_range(entry & 0x1FFF_FFFF, 2) {
                        Some(format!(
                            "{entry:#010x} (physical {:#010x}) is outside the partition ({})",
                            entry & 0x1FFF_FFFF,
                            g.partition
                        ))
                    } else {
                        None
                    };
                    if let Some(why) = why {
                        return Err(DescriptionError::new(field, format!("the entry point of {} {why}", path.display())));
                    }
                }
            }
            for (pi, param) in g.params.iter().enumerate() {
                let found = files.iter().find_map(|(_, _, data)| {
                    let file = object::File::parse(data.as_slice()).ok()?;
                    let sym = file.symbols().find(|s| s.name() == Ok(param.symbol.as_str()))?;
                    Some((sym.address() as u32, sym.size()))
                });
                let pp = format!("guest[{gi}].params[{pi}]");
                let Some((addr, size)) = found else {
                    let names: Vec<String> = g.images.iter().map(|p| p.display().to_string()).collect();
                    return Err(DescriptionError::new(
                        format!("{pp}.symbol"),
                        format!("\"{}\" is not defined in {}", param.symbol, names.join(", ")),
                    ));
                };
                let bytes = param.words.len() as u64 * 4;
                if size != 0 && bytes > size {
                    return Err(DescriptionError::new(
                        format!("{pp}.words"),
                        format!(
                            "{} words ({bytes} bytes) do not fit in \"{}\" ({size} bytes)",
                            param.words.len(),
                            param.symbol
                        ),
                    ));
                }
                let phys = addr & 0x1FFF_FFFF;
                if !g.partition.contains_range(phys, bytes as u32) {
                    return Err(DescriptionError::new(
                        format!("{pp}.symbol"),
                        format!(
                            "\"{}\" at {addr:#010x} (physical {phys:#010x}) is outside the partition ({})",
                            param.symbol, g.partition
                        ),
                    ));
                }
            }
        }
        Ok(())
    }

    /// A few lines naming the policy and each guest, for run reports.
    pub fn summary(&self) -> String {
        let h = &self.hypervisor;
        let mut out = format!(
            "policy {}{}{}, spin-yield {}, IPL separation {}, time slice {} us\n",
            h.policy,
            match h.delayed_preemption_bound_us {
                Some(b) => format!(" (bound {b} us)"),
                None => String::new(),
            },
            if h.dispatch_first { " (dispatch first)" } else { "" },
            if h.spin_yield { "on" } else { "off" },
            if h.ipl_separation { "on" } else { "off" },
            h.time_slice_us,
        );
        for (gi, g) in self.guests.iter().enumerate() {
            let cores: Vec<String> = g.vcpus.iter().map(|v| v.core.to_string()).collect();
            out.push_str(&format!(
                "guest[{gi}] {} ({}, priority {}): partition {}, {} vCPU(s) on cores [{}]\n",
                g.name,
                g.class,
                g.priority,
                g.partition,
                g.vcpus.len(),
                cores.join(", ")
            ));
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    const GOOD: &str = r#"
# a description using every field
[hypervisor]
policy = "delayed-preemption"
spin_yield = true
ipl_separation = false
time_slice_us = 5000
delayed_preemption_bound_us = 50

[costs]
entry_exit = "200 cycles"
vcpu_switch = 1.5
ici_latency = "500 ns"
departure_source = 25
return_destination = "0.012 ms"

[[guest]]
name = "probe"
class = "rtos"
priority = 10
image = "../guests/rtos_probe.elf"
partition = { base = 0x08800000, size = 0x00800000 }
vcpus = [{ core = 0, entry = 0x88800000 }]
interrupts = [{ source = "timer", level = 12 }, { source = "ipi", level = 9 }]
params = [{ symbol = "probe_params", words = [1000, 30, -1] }]

[[guest]]
name = "smp_load"
class = "gpos"
priority = 1
image = ["load.elf", "extra.elf"]
partition = { base = 0x09000000, size = 0x01000000 }
vcpus = [{ core = 0 }, { core = 1 }, { core = 2 }, { core = 3, entry = 0x89000100 }]
interrupts = [{ source = "ipi", level = 3 }, { source = "timer", level = 5 }]
"#;

    fn err(text: &str) -> DescriptionError {
        match parse(text, Path::new("/m")) {
            Ok(_) => panic!("accepted:\n{text}"),
            Err(e) => e,
        }
    }

    /// GOOD with `from` replaced by `to` (which must occur).
    fn with(from: &str, to: &str) -> String {
        assert!(GOOD.contains(from), "{from}");
        GOOD.replacen(from, to, 1)
    }

    #[test]
    fn a_good_file_parses_to_exact_values() {
        let d = parse(GOOD, Path::new("/m/machines")).unwrap();
        assert_eq!(
            d.hypervisor,
            Hypervisor {
                policy: Policy::DelayedPreemption,
                spin_yield: true,
                ipl_separation: false,
                time_slice_us: 5000,
                delayed_preemption_bound_us: Some(50),
                dispatch_first: false,
                departure_defer_us: Hypervisor::DEFAULT_DEPARTURE_DEFER_US,
            }
        );
        assert_eq!(
            d.costs,
            Costs {
                entry_exit: 200,
                vcpu_switch: 900,
                ici_latency: 300,
                departure_source: 15_000,
                return_destination: 7_200,
                ..Costs::default()
            }
        );
        assert_eq!(d.base_dir, PathBuf::from("/m/machines"));
        assert_eq!(d.guests.len(), 2);
        assert_eq!(
            d.guests[0],
            Guest {
                name: "probe".into(),
                class: GuestClass::Rtos,
                priority: 10,
                images: vec![PathBuf::from("/m/machines/../guests/rtos_probe.elf")],
                partition: Partition { base: 0x0880_0000, size: 0x0080_0000 },
                vcpus: vec![VcpuSpec { core: 0, entry: Some(0x8880_0000) }],
                interrupts: vec![
                    InterruptSpec { source: InterruptSource::Timer, level: 12, vcpu: 0 },
                    InterruptSpec { source: InterruptSource::Ipi, level: 9, vcpu: 0 },
                ],
                params: vec![ParamPatch { symbol: "probe_params".into(), words: vec![1000, 30, 0xFFFF_FFFF] }],
                interrupt_mask: InterruptMask::Hypercall,
                mmu: false,
                direct_exceptions: false,
                preempt_count: PreemptCount::Hypercall,
                linux: None,
            }
        );
        let g = &d.guests[1];
        assert_eq!(g.class, GuestClass::Gpos);
        assert_eq!(g.priority, 1);
        assert_eq!(g.images, vec![PathBuf::from("/m/machines/load.elf"), PathBuf::from("/m/machines/extra.elf")]);
        assert_eq!(g.partition, Partition { base: 0x0900_0000, size: 0x0100_0000 });
        assert_eq!(g.partition.last(), 0x09FF_FFFF);
        let cores: Vec<u8> = g.vcpus.iter().map(|v| v.core).collect();
        assert_eq!(cores, [0, 1, 2, 3]);
        assert_eq!(g.vcpus[3].entry, Some(0x8900_0100));
        assert_eq!(g.level(InterruptSource::Timer), Some(5));
        assert_eq!(g.level(InterruptSource::Ipi), Some(3));
        assert!(g.params.is_empty());
        assert_eq!(d.guest("smp_load"), Some(g));
    }

    #[test]
    fn defaults_fill_a_minimal_file() {
        let text = "[hypervisor]\npolicy = \"on-demand-migration\"\n\n[[guest]]\nname = \"g\"\nclass = \"gpos\"\npriority = 0\nimage = \"g.elf\"\npartition = { base = 0x08000000, size = 0x1000 }\nvcpus = [{ core = 3 }]\n";
        let d = parse(text, Path::new(".")).unwrap();
        assert_eq!(
            d.hypervisor,
            Hypervisor {
                policy: Policy::OnDemandMigration,
                spin_yield: false,
                ipl_separation: true,
                time_slice_us: Hypervisor::DEFAULT_TIME_SLICE_US,
                delayed_preemption_bound_us: None,
                dispatch_first: false,
                departure_defer_us: Hypervisor::DEFAULT_DEPARTURE_DEFER_US,
            }
        );
        assert_eq!(d.costs, Costs::default());
        assert_eq!(d.guests[0].interrupts, []);
        assert_eq!(d.guests[0].vcpus, [VcpuSpec { core: 3, entry: None }]);
        assert_eq!(d.guests[0].level(InterruptSource::Timer), None);
        // A partition may end exactly at the end of DRAM.
        let top = text.replace("base = 0x08000000, size = 0x1000", "base = 0x0ffff000, size = 0x1000");
        assert_eq!(parse(&top, Path::new(".")).unwrap().guests[0].partition.last(), 0x0FFF_FFFF);
    }

    #[test]
    fn arrays_of_tables_work_like_inline_arrays() {
        let text = r#"
[hypervisor]
policy = "trap-migration"

[[guest]]
name = "g"
class = "rtos"
priority = 9
image = "g.elf"
partition.base = 0x08001000
partition.size = 0x2000

[[guest.vcpus]]
core = 1

[[guest.vcpus]]
core = 2
entry = 0x88001000

[[guest.params]]
symbol = "p"
words = [7]

[[guest.interrupts]]
source = "ipi"
level = 4
"#;
        let e = err(text);
        assert_eq!(e.summary(), "guest[0].interrupts[0].level: 4 is not an RTOS level (8-15)");
        let line = text.lines().position(|l| l == "level = 4").unwrap() + 1;
        assert_eq!(e.location, Some(Location { line, column: 9 }));
        let d = parse(&text.replace("level = 4", "level = 8"), Path::new(".")).unwrap();
        let g = &d.guests[0];
        assert_eq!(g.partition, Partition { base: 0x0800_1000, size: 0x2000 });
        assert_eq!(g.vcpus, [VcpuSpec { core: 1, entry: None }, VcpuSpec { core: 2, entry: Some(0x8800_1000) }]);
        assert_eq!(g.params, [ParamPatch { symbol: "p".into(), words: vec![7] }]);
        assert_eq!(g.level(InterruptSource::Ipi), Some(8));
    }

    #[test]
    fn device_sources_parse_with_their_vcpu_and_are_named_back() {
        let text = with("{ source = \"timer\", level = 5 }", "{ source = \"timer\", level = 5 }, { source = \"tmu5\", level = 4, vcpu = 2 }, { source = \"scif2-rxi\", level = 3 }");
        let d = parse(&text, Path::new(".")).unwrap();
        let dev = &d.guests[1].interrupts[2..];
        assert_eq!(dev[0], InterruptSpec { source: InterruptSource::Device(Source::Tmu5), level: 4, vcpu: 2 });
        assert_eq!(dev[1], InterruptSpec { source: InterruptSource::Device(Source::Scif2Rxi), level: 3, vcpu: 0 });
        assert_eq!((dev[0].source.name(), dev[1].source.name()), ("tmu5", "scif2-rxi"));
        for (name, source) in DEVICE_SOURCES {
            assert_eq!(InterruptSource::from_name(name), Some(InterruptSource::Device(source)));
            assert!(crate::core_hw::device_source(source.intevt() as u32) == Some(source), "{name} is routable");
        }
    }

    #[test]
    fn each_bad_field_gets_its_exact_message() {
        let cases: Vec<(String, &str)> = vec![
            // [hypervisor]
            (with("\"delayed-preemption\"", "\"lazy\""),
             "hypervisor.policy: unknown variant `lazy`, expected one of `none`, `delayed-preemption`, `trap-migration`, `on-demand-migration`"),
            (with("policy = \"delayed-preemption\"\n", ""), "hypervisor: missing field `policy`"),
            (with("time_slice_us = 5000", "time_slice_us = 0"), "hypervisor.time_slice_us: 0 must be between 1 and 1000000"),
            (with("delayed_preemption_bound_us = 50", "delayed_preemption_bound_us = 2000000"),
             "hypervisor.delayed_preemption_bound_us: 2000000 must be between 1 and 1000000"),
            (with("\"delayed-preemption\"", "\"trap-migration\""),
             "hypervisor.delayed_preemption_bound_us: only meaningful with policy = \"delayed-preemption\" (this file has \"trap-migration\")"),
            (with("delayed_preemption_bound_us = 50", "dispatch_first = true"),
             "hypervisor.dispatch_first: only meaningful with policy = \"on-demand-migration\" (this file has \"delayed-preemption\")"),
            (with("spin_yield = true", "spin_yield = 1"), "hypervisor.spin_yield: invalid type: integer `1`, expected a boolean"),
            (with("spin_yield = true", "spin_yeld = true"),
             "hypervisor.spin_yeld: unknown field `spin_yeld`, expected one of `policy`, `spin_yield`, `ipl_separation`, `time_slice_us`, `delayed_preemption_bound_us`, `dispatch_first`, `departure_defer_us`"),
            // [costs]
            (with("vcpu_switch = 1.5", "ici_send = -3"), "costs.ici_send: -3 us is negative"),
            (with("vcpu_switch = 1.5", "vcpu_switch = \"3 parsecs\""),
             "costs.vcpu_switch: unknown unit \"parsecs\" in \"3 parsecs\" (use cycles, ns, us or ms)"),
            (with("vcpu_switch = 1.5", "vcpu_switch = \"300\""), "costs.vcpu_switch: \"300\" has no unit (use cycles, ns, us or ms)"),
            (with("vcpu_switch = 1.5", "vcpu_switch = \"2.5 cycles\""), "costs.vcpu_switch: \"2.5 cycles\": a number of cycles must be whole"),
            (with("vcpu_switch = 1.5", "vcpu_switch = 2000000"), "costs.vcpu_switch: 2000000 us is more than 1 s"),
            (with("vcpu_switch = 1.5", "vcpu_switch = nan"), "costs.vcpu_switch: NaN us is not a finite duration"),
            (with("vcpu_switch = 1.5", "vcpu_swtch = 1.5"),
             "costs.vcpu_swtch: unknown field `vcpu_swtch`, expected one of `entry_exit`, `hypercall`, `vcpu_switch`, `interrupt_injection`, `ici_send`, `ici_latency`, `mailbox_message`, `departure_source`, `departure_destination`, `return_source`, `return_destination`"),
            // [[guest]] fields
            (with("name = \"smp_load\"", "name = \"probe\""), "guest[1].name: \"probe\" is already the name of guest[0]"),
            (with("name = \"smp_load\"", "name = \"smp load\""), "guest[1].name: \"smp load\" is not a name: 1-32 letters, digits, '_' or '-'"),
            (with("class = \"rtos\"", "class = \"hard\""), "guest[0].class: unknown variant `hard`, expected `rtos` or `gpos`"),
            (with("priority = 10", "priority = 300"), "guest[0].priority: 300 is not a priority (0-255)"),
            (with("priority = 10", "priority = \"high\""), "guest[0].priority: invalid type: string \"high\", expected an integer"),
            (with("priority = 1\n", "priority = 12\n"),
             "guest[1].priority: a GPOS guest's priority (12) must be below every RTOS guest's (guest[0] \"probe\" has 10)"),
            (with("image = \"../guests/rtos_probe.elf\"", "image = \"\""), "guest[0].image: an image path cannot be empty"),
            (with("image = [\"load.elf\", \"extra.elf\"]", "image = []"), "guest[1].image: no image: give a path or a non-empty array of paths"),
            (with("image = \"../guests/rtos_probe.elf\"\n", ""), "guest[0]: missing field `image`"),
            (with("base = 0x09000000", "base = 0x07f00000"), "guest[1].partition.base: 0x07f00000 is outside DRAM (0x08000000-0x0fffffff)"),
            (with("base = 0x08800000", "base = 0x08800800"), "guest[0].partition.base: 0x08800800 is not 4 KiB aligned"),
            (with("size = 0x00800000", "size = 0"), "guest[0].partition.size: 0x00000000: a partition cannot be empty"),
            (with("size = 0x00800000", "size = 0x00800100"), "guest[0].partition.size: 0x00800100 is not a multiple of 4 KiB"),
            (with("base = 0x09000000, size = 0x01000000", "base = 0x0f800000, size = 0x01000000"),
             "guest[1].partition.size: 0x01000000 at 0x0f800000 runs past the end of DRAM (0x0fffffff)"),
            (with("base = 0x09000000", "base = 0x08800000"),
             "guest[1].partition: 0x08800000-0x097fffff overlaps guest[0] \"probe\" (0x08800000-0x08ffffff)"),
            (with("size = 0x00800000 }", "size = 0x00800000, end = 3 }"),
             "guest[0].partition.end: unknown field `end`, expected `base` or `size`"),
            (with("vcpus = [{ core = 0, entry = 0x88800000 }]", "vcpus = []"), "guest[0].vcpus: empty: a guest needs at least one vCPU"),
            (with("{ core = 3, entry = 0x89000100 }", "{ core = 3 }, { core = 0 }"), "guest[1].vcpus: 5 vCPUs, at most 4"),
            (with("{ core = 1 }", "{ core = 4 }"), "guest[1].vcpus[1].core: 4 is not a core (0-3)"),
            (with("entry = 0x89000100", "entry = 0x89000101"), "guest[1].vcpus[3].entry: 0x89000101 is not 2-byte aligned"),
            (with("entry = 0x88800000", "entry = 0x88002000"),
             "guest[0].vcpus[0].entry: 0x88002000 (physical 0x08002000) is outside the guest's partition (0x08800000-0x08ffffff)"),
            (with("entry = 0x88800000", "entry = 0x100000000"), "guest[0].vcpus[0].entry: 4294967296 is not a 32-bit address"),
            (with("{ source = \"ipi\", level = 9 }", "{ source = \"ipi\", level = 9 }, { source = \"ipi\", level = 5 }"),
             "guest[0].interrupts[2].source: \"ipi\" is given twice (first at guest[0].interrupts[1])"),
            // Device sources.
            (with("{ source = \"ipi\", level = 9 }", "{ source = \"ipi\", level = 9 }, { source = \"tmu0\", level = 9 }"),
             "guest[0].interrupts[2].source: unknown interrupt source \"tmu0\" (TMU channels 0-3 are the hypervisor's own timers): expected \"timer\", \"ipi\", \"tmu4\", \"tmu5\" or \"scifN-eri|rxi|bri|txi\" (N = 0-3)"),
            (with("{ source = \"ipi\", level = 9 }", "{ source = \"ipi\", level = 9 }, { source = \"tmu4\", level = 9, vcpu = 1 }"),
             "guest[0].interrupts[2].vcpu: 1 is not one of the guest's vCPUs (0-0)"),
            (with("{ source = \"ipi\", level = 9 }", "{ source = \"ipi\", level = 9, vcpu = 0 }"),
             "guest[0].interrupts[1].vcpu: only a device source belongs to one vCPU; every vCPU has its own \"ipi\""),
            (with("{ source = \"timer\", level = 5 }", "{ source = \"timer\", level = 5 }, { source = \"tmu4\", level = 4, vcpu = 3 }").replace("{ source = \"ipi\", level = 9 }", "{ source = \"ipi\", level = 9 }, { source = \"tmu4\", level = 9 }"),
             "guest[1].interrupts[2].source: \"tmu4\" already belongs to guest[0] \"probe\" (guest[0].interrupts[2])"),
            (with("{ source = \"timer\", level = 5 }", "{ source = \"timer\", level = 5 }, { source = \"scif1-rxi\", level = 4 }").replace("{ source = \"ipi\", level = 9 }", "{ source = \"ipi\", level = 9 }, { source = \"scif1-txi\", level = 9 }"),
             "guest[1].interrupts[2].level: 4: \"scif1-rxi\" shares its INTC priority field with \"scif1-txi\", which has level 9 (guest[0].interrupts[2])"),
            (with("{ source = \"timer\", level = 5 }", "{ source = \"timer\", level = 5 }, { source = \"tmu5\", level = 8 }"),
             "guest[1].interrupts[2].level: 8 is not a GPOS level (1-7)"),
            (with("{ source = \"ipi\", level = 9 }", "{ source = \"ipi\", level = 5 }"),
             "guest[0].interrupts[1].level: 5 is not an RTOS level (8-15)"),
            (with("{ source = \"timer\", level = 5 }", "{ source = \"timer\", level = 9 }"),
             "guest[1].interrupts[1].level: 9 is not a GPOS level (1-7)"),
            (with("{ source = \"ipi\", level = 3 }", "{ source = \"dma\", level = 3 }"),
             "guest[1].interrupts[0].source: unknown interrupt source \"dma\": expected \"timer\", \"ipi\", \"tmu4\", \"tmu5\" or \"scifN-eri|rxi|bri|txi\" (N = 0-3)"),
            (with("words = [1000, 30, -1]", "words = [1000, 4294967296]"), "guest[0].params[0].words[1]: 4294967296 does not fit in 32 bits"),
            (with("words = [1000, 30, -1]", "words = []"), "guest[0].params[0].words: empty: give at least one 32-bit word"),
            (with("symbol = \"probe_params\"", "symbol = \"9lives\""), "guest[0].params[0].symbol: \"9lives\" is not a symbol name"),
            (with("words = [1000, 30, -1] }", "words = [1] }, { symbol = \"probe_params\", words = [2] }"),
             "guest[0].params[1].symbol: \"probe_params\" is patched twice (first at guest[0].params[0])"),
            (with("interrupts = [{ source = \"ipi\"", "irqs = 1\ninterrupts = [{ source = \"ipi\""),
             "guest[1].irqs: unknown field `irqs`, expected one of `name`, `class`, `priority`, `image`, `partition`, `vcpus`, `interrupts`, `params`, `interrupt_mask`, `mmu`, `direct_exceptions`, `preempt_count`, `linux`"),
            // the document
            ("[hypervisor]\npolicy = \"none\"\n".to_string(), "guest: the description has no [[guest]]: at least one guest must run"),
            (format!("{GOOD}\n[[guest]]\nname = \"x\""), "guest[2]: missing field `class`"),
            (with("[costs]", "[cost]"), "cost: unknown field `cost`, expected one of `hypervisor`, `costs`, `guest`, `faults`"),
        ];
        let mut seen = std::collections::HashSet::new();
        for (text, expected) in &cases {
            let e = err(text);
            assert_eq!(e.summary(), *expected, "\n{text}");
            assert!(seen.insert(*expected), "duplicate case {expected}");
        }
        assert!(cases.len() >= 12);
    }

    /// The line (from 1) of the `n`-th line of `text` that is `line`.
    fn line_of(text: &str, line: &str, n: usize) -> usize {
        text.lines().enumerate().filter(|(_, l)| *l == line).nth(n).unwrap_or_else(|| panic!("{line}")).0 + 1
    }

    /// A duplicate key is named itself, at its second occurrence, with
    /// where the first is; the error used to name whatever key came last
    /// before it (`guest[0].vcpus[0].core` for a second `class` after
    /// `vcpus`).
    #[test]
    fn a_duplicate_key_is_named_where_it_is_given_again() {
        let base = "[hypervisor]\npolicy = \"none\"\n\n[[guest]]\nname = \"g\"\nclass = \"gpos\"\npriority = 1\n\
                    image = \"g.elf\"\npartition = { base = 0x08800000, size = 0x10000 }\nvcpus = [{ core = 0 }]\n";
        let text = format!("{base}class = \"rtos\"\n");
        let e = err(&text);
        let (first, second) = (line_of(&text, "class = \"gpos\"", 0), line_of(&text, "class = \"rtos\"", 0));
        assert_eq!(e.summary(), format!("guest[0].class: duplicate key (first given at line {first}, column 1)"));
        assert_eq!(e.location, Some(Location { line: second, column: 1 }));
        assert_eq!(
            e.to_string(),
            format!(
                "line {second}, column 1: guest[0].class: duplicate key (first given at line {first}, column 1)\n   |\n{second} | class = \"rtos\"\n   | ^^^^^"
            )
        );
        // Right after the first, in an inline table, as a dotted key, in a
        // later guest, quoted, a whole table.
        let field = |text: &str| err(text).field;
        assert_eq!(field(&with("class = \"gpos\"\n", "class = \"gpos\"\nclass = \"rtos\"\n")), "guest[1].class");
        assert_eq!(field(&with("size = 0x00800000 }", "size = 0x00800000, base = 0x08800000 }")), "guest[0].partition.base");
        assert_eq!(field(&base.replace("partition = { base = 0x08800000, size = 0x10000 }", "partition.base = 0x08800000\npartition.size = 0x10000\npartition.base = 0")), "guest[0].partition.base");
        assert_eq!(field(&format!("{base}[[guest]]\nname = \"h\"\nname = \"i\"\n")), "guest[1].name");
        assert_eq!(field(&format!("{base}\"class\" = \"rtos\"\n")), "guest[0].class");
        assert_eq!(field(&base.replace("name = \"g\"", "name = \"g\"\nvcpus = [{ core = 1 }]\nparams = [{ symbol = \"s\", words = [1] }]")), "guest[0].vcpus");
        let e = err(&format!("{base}[hypervisor]\nspin_yield = true\n"));
        assert_eq!(e.summary(), "hypervisor: duplicate key");
        assert_eq!(e.location.map(|l| l.line), Some(line_of(&format!("{base}[hypervisor]"), "[hypervisor]", 1)));
    }

    /// A 10 MB value is not echoed back (it was, three times: in the
    /// message, the source line and a line of carets): values, keys and
    /// the source line are cut to a readable length, with the length said.
    #[test]
    fn long_values_are_cut_in_errors() {
        let long = "x".repeat(10_000_000);
        let e = err(&with("name = \"smp_load\"", &format!("name = \"{long}\"")));
        let text = e.to_string();
        assert!(text.len() < 1000, "{} bytes", text.len());
        let x64 = "x".repeat(64);
        assert!(
            text.contains(&format!("guest[1].name: \"{x64}…\" (10000000 characters) is not a name: 1-32 letters")),
            "{text}"
        );
        let snippet: Vec<&str> = text.lines().skip(1).collect();
        assert_eq!(snippet.len(), 3, "{text}");
        assert!(snippet[1].ends_with(&format!("name = \"{}…", "x".repeat(92))), "{text}");
        assert_eq!(snippet[2].trim_start_matches(|c| c != '^').len(), 93, "{text}");
        // A long key (in the field and serde's message), a long unknown
        // variant, a long image path.
        let e = err(&with("priority = 10", &format!("priority = 10\n{} = 1", "k".repeat(100_000))));
        assert!(e.to_string().len() < 1500, "{}", e.to_string().len());
        assert_eq!(e.field, format!("guest[0].{}…", "k".repeat(64)));
        assert!(e.message.starts_with(&format!("unknown field `{}…` (100000 characters), expected one of `name`", "k".repeat(64))), "{e}");
        let e = err(&with("class = \"rtos\"", &format!("class = \"{}\"", "r".repeat(1_000_000))));
        assert!(e.to_string().len() < 1000, "{e}");
        assert!(e.message.ends_with("(1000000 characters), expected `rtos` or `gpos`"), "{e}");
        let d = parse(&with("\"../guests/rtos_probe.elf\"", &format!("\"{}\"", "p/".repeat(500_000))), Path::new("/m")).unwrap();
        let e = d.check_images().unwrap_err().to_string();
        assert!(e.len() < 1000 && e.contains(&format!("cannot read /m/{}p… (1000003 characters): ", "p/".repeat(30))), "{e}");
    }

    /// Deep nesting is refused with a short error (no stack overflow, no
    /// echo of the nesting): past `MAX_NESTING` levels by the description's
    /// own check, past toml's 80 by toml's, both in the same words.
    #[test]
    fn deep_nesting_is_refused_clearly() {
        let too_deep = too_deep();
        for depth in [9, 100_000] {
            for (open, close) in [("[", "]"), ("{ a = ", " }")] {
                let value = format!("{}1{}", open.repeat(depth), close.repeat(depth));
                let text = with("spin_yield = true", &format!("spin_yield = {value}"));
                let e = err(&text);
                assert_eq!(e.message, too_deep, "{depth} {open}");
                assert!(e.field.starts_with("hypervisor.spin_yield"), "{depth} {open}: {}", e.field);
                assert!(e.to_string().len() < 600, "{depth} {open}: {}", e.to_string().len());
                assert_eq!(e.location.map(|l| l.line), Some(line_of(&text, &format!("spin_yield = {value}"), 0)));
            }
        }
        let e = err(&with("spin_yield = true", &format!("{} = 1", vec!["a"; 100_000].join("."))));
        assert_eq!(e.message, too_deep);
        assert!(e.to_string().len() < 600, "{}", e.to_string().len());
        // Eight levels is still a value serde reads (and rejects by type).
        let e = err(&with("spin_yield = true", &format!("spin_yield = {}1{}", "[".repeat(6), "]".repeat(6))));
        assert_eq!(e.summary(), "hypervisor.spin_yield: invalid type: sequence, expected a boolean");
    }

    #[test]
    fn errors_point_at_the_line_and_column() {
        // a toml syntax error keeps toml's position
        let e = err(&with("priority = 10", "priority = = 10"));
        let line = GOOD.lines().position(|l| l == "priority = 10").unwrap() + 1;
        assert_eq!(e.location, Some(Location { line, column: 12 }));
        assert_eq!(e.field, "guest[0].priority");
        // a serde error points at the value
        let e = err(&with("priority = 10", "priority = \"high\""));
        assert_eq!(e.location, Some(Location { line, column: 12 }));
        // a validation error points at the value it names, and shows it
        let e = err(&with("base = 0x09000000", "base = 0x07f00000"));
        let line = GOOD.lines().position(|l| l.contains("base = 0x09000000")).unwrap() + 1;
        assert_eq!(e.location, Some(Location { line, column: 22 }));
        assert_eq!(
            e.to_string(),
            format!(
                "line {line}, column 22: guest[1].partition.base: 0x07f00000 is outside DRAM (0x08000000-0x0fffffff)\n   |\n{line} | partition = {{ base = 0x07f00000, size = 0x01000000 }}\n   |                      ^^^^^^^^^^"
            )
        );
        // a non-ASCII line still counts its column in characters
        let e = err(&with("name = \"smp_load\"", "name = \"café\""));
        assert_eq!(e.location.unwrap().column, 8);
        assert!(e.to_string().contains("^^^^^^"), "{e}");
    }

    #[test]
    fn load_names_the_file_and_resolves_images_beside_it() {
        let dir = std::env::temp_dir().join(format!("rp1-desc-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("m.toml");
        std::fs::write(&path, GOOD).unwrap();
        let d = load(&path).unwrap();
        assert_eq!(d.guests[1].images[0], dir.join("load.elf"));
        std::fs::write(&path, with("{ core = 1 }", "{ core = 7 }")).unwrap();
        let e = load(&path).unwrap_err();
        assert_eq!(e.file.as_deref(), Some(path.as_path()));
        assert!(e.to_string().starts_with(&format!("{}:", path.display())), "{e}");
        assert!(e.to_string().contains("guest[1].vcpus[1].core: 7 is not a core (0-3)"), "{e}");
        let missing = load(&dir.join("nope.toml")).unwrap_err();
        assert!(missing.message.starts_with("cannot read the description: "), "{missing}");
        // check_images names the image that is not there
        let e = d.check_images().unwrap_err();
        assert_eq!(e.field, "guest[0].image");
        assert!(e.message.starts_with("cannot read "), "{e}");
        std::fs::remove_dir_all(&dir).unwrap();
    }

    /// A minimal little-endian SuperH ET_EXEC: one PT_LOAD of `len` bytes at
    /// physical `load`, and a symbol table with `sym` of `sym_size` bytes at `sym_addr`.
    fn tiny_elf(load: u32, len: u32, sym: &str, sym_addr: u32, sym_size: u32) -> Vec<u8> {
        let le16 = |v: u16| v.to_le_bytes().to_vec();
        let le32 = |v: u32| v.to_le_bytes().to_vec();
        let strtab = [b"\0".as_slice(), sym.as_bytes(), b"\0"].concat();
        let shstrtab = b"\0.symtab\0.strtab\0.shstrtab\0".to_vec();
        let mut symtab = vec![0u8; 16];
        symtab.extend([le32(1), le32(sym_addr), le32(sym_size), vec![0x11, 0], le16(0xfff1)].concat());
        let (ph_off, data_off) = (52u32, 52 + 32);
        let sym_off = data_off + 16;
        let str_off = sym_off + symtab.len() as u32;
        let shstr_off = str_off + strtab.len() as u32;
        let sh_off = (shstr_off + shstrtab.len() as u32 + 3) & !3;
        let mut f = vec![0x7f, b'E', b'L', b'F', 1, 1, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0];
        f.extend([le16(2), le16(42), le32(1), le32(load | 0x8000_0000), le32(ph_off), le32(sh_off)].concat());
        f.extend([le32(0), le16(52), le16(32), le16(1), le16(40), le16(4), le16(3)].concat());
        // PT_LOAD: 16 file bytes, `len` in memory
        f.extend(
            [le32(1), le32(data_off), le32(load | 0x8000_0000), le32(load), le32(16), le32(len), le32(7), le32(4)]
                .concat(),
        );
        f.extend([0u8; 16]);
        f.extend(&symtab);
        f.extend(&strtab);
        f.extend(&shstrtab);
        f.resize(sh_off as usize, 0);
        let sh = |name: u32, kind: u32, off: u32, size: u32, link: u32, entsize: u32| {
            [
                le32(name),
                le32(kind),
                le32(0),
                le32(0),
                le32(off),
                le32(size),
                le32(link),
                le32(1),
                le32(4),
                le32(entsize),
            ]
            .concat()
        };
        f.extend(vec![0u8; 40]);
        f.extend(sh(1, 2, sym_off, symtab.len() as u32, 2, 16));
        f.extend(sh(9, 3, str_off, strtab.len() as u32, 0, 0));
        f.extend(sh(17, 3, shstr_off, shstrtab.len() as u32, 0, 0));
        f
    }

    #[test]
    fn check_images_reads_segments_and_symbols() {
        let dir = std::env::temp_dir().join(format!("rp1-images-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let text = "[hypervisor]\npolicy = \"none\"\n[[guest]]\nname = \"g\"\nclass = \"gpos\"\npriority = 1\nimage = \"g.elf\"\npartition = { base = 0x08800000, size = 0x10000 }\nvcpus = [{ core = 0 }]\nparams = [{ symbol = \"probe_params\", words = [1, 2] }]\n";
        let d = parse(text, &dir).unwrap();
        let check = |elf: Vec<u8>| {
            std::fs::write(dir.join("g.elf"), elf).unwrap();
            d.check_images().map_err(|e| e.summary())
        };
        assert_eq!(check(tiny_elf(0x0880_0000, 0x100, "probe_params", 0x8880_0010, 8)), Ok(()));
        assert_eq!(
            check(tiny_elf(0x0880_0000, 0x100, "probe_params", 0x8880_0010, 4)),
            Err("guest[0].params[0].words: 2 words (8 bytes) do not fit in \"probe_params\" (4 bytes)".to_string())
        );
        assert_eq!(
            check(tiny_elf(0x0880_0000, 0x100, "other", 0x8880_0010, 8)),
            Err(format!(
                "guest[0].params[0].symbol: \"probe_params\" is not defined in {}",
                dir.join("g.elf").display()
            ))
        );
        assert_eq!(
            check(tiny_elf(0x0880_0000, 0x100, "probe_params", 0x8890_0000, 8)),
            Err("guest[0].params[0].symbol: \"probe_params\" at 0x88900000 (physical 0x08900000) is outside the partition (0x08800000-0x0880ffff)".to_string())
        );
        assert_eq!(
            check(tiny_elf(0x0880_0000, 0x20000, "probe_params", 0x8880_0010, 8)),
            Err(format!("guest[0].image: segment 0 of {} (0x20000 bytes at physical 0x08800000) is outside the partition (0x08800000-0x0880ffff)", dir.join("g.elf").display()))
        );
        let e = check(b"not an elf".to_vec()).unwrap_err();
        assert!(e.starts_with("guest[0].image: ") && e.contains("g.elf: not a valid ELF file: "), "{e}");
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn cost_table_prints_cycles_and_microseconds() {
        let c = Costs::default();
        assert_eq!(c.departure_source, 14_940);
        assert_eq!(c.departure_destination, 16_800);
        assert_eq!(c.return_source, 22_860);
        assert_eq!(c.return_destination, 7_200);
        let table = c.to_table_string();
        let lines: Vec<&str> = table.lines().collect();
        assert_eq!(lines.len(), 2 + 11, "{table}");
        assert_eq!(lines[0], "hypervisor cost table (CPU clock 600 MHz)");
        assert_eq!(lines[1], "  cost                       cycles         us  source");
        assert_eq!(lines[7], "  ici_latency                   300      0.500  estimate");
        assert_eq!(lines[9], "  departure_source            14940     24.900  RP1 measurement (papers)");
        assert_eq!(lines[12], "  return_destination           7200     12.000  RP1 measurement (papers)");
        let changed = Costs { vcpu_switch: 900, ..c }.to_table_string();
        assert_eq!(
            changed.lines().nth(4),
            Some("  vcpu_switch                   900      1.500  set in the description")
        );
    }

    #[test]
    fn example_machines_parse() {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../examples/machines");
        let mut names = Vec::new();
        for entry in std::fs::read_dir(&dir).unwrap() {
            let path = entry.unwrap().path();
            if path.extension().is_some_and(|e| e == "toml") {
                let d = load(&path).unwrap_or_else(|e| panic!("{e}"));
                let stem = path.file_stem().unwrap().to_str().unwrap().to_string();
                if let Some(p) = Policy::from_name(&stem) {
                    assert_eq!(d.hypervisor.policy, p, "{stem}");
                }
                names.push(stem);
            }
        }
        names.sort();
        for p in Policy::ALL {
            assert!(names.iter().any(|n| n == p.name()), "no example for {p}: {names:?}");
        }
        let demo = load(&dir.join("demo.toml")).unwrap();
        assert_eq!(demo.hypervisor.policy, Policy::OnDemandMigration);
        let (rtos, gpos) = (&demo.guests[0], &demo.guests[1]);
        assert_eq!(
            (rtos.class, rtos.priority, rtos.partition),
            (GuestClass::Rtos, 10, Partition { base: 0x0880_0000, size: 8 << 20 })
        );
        assert_eq!(rtos.vcpus, [VcpuSpec { core: 0, entry: None }]);
        assert_eq!(
            (gpos.class, gpos.priority, gpos.partition),
            (GuestClass::Gpos, 1, Partition { base: 0x0900_0000, size: 16 << 20 })
        );
        assert_eq!(gpos.vcpus.iter().map(|v| v.core).collect::<Vec<_>>(), [0, 1, 2, 3]);
        assert_eq!((gpos.interrupt_mask, gpos.mmu, &gpos.linux), (InterruptMask::Hypercall, false, &None));
        let linux = load(&dir.join("linux.toml")).unwrap();
        let g = &linux.guests[1];
        assert_eq!((g.interrupt_mask, g.mmu, g.preempt_count), (InterruptMask::Sr, true, PreemptCount::ThreadInfo));
        assert_eq!(
            g.linux,
            Some(LinuxBoot { initrd: Some(dir.join("../../build/linux/initramfs.cpio.gz")), cmdline: "hackbench=1,10".into() })
        );
    }

    #[test]
    fn linux_guest_keys_are_checked() {
        let base = "[hypervisor]\npolicy = \"none\"\n[[guest]]\nname = \"l\"\nclass = \"gpos\"\npriority = 1\nimage = \"v\"\npartition = { base = 0x0c000000, size = 0x1000 }\nvcpus = [{ core = 0 }]\n";
        // The message's first line, without where in the file it is.
        let err = |extra: &str| {
            let e = parse(&format!("{base}{extra}"), Path::new("/m")).unwrap_err().to_string();
            let first = e.lines().next().unwrap_or_default().to_string();
            first.split_once(": ").filter(|(at, _)| at.starts_with("line ")).map_or(first.clone(), |(_, m)| m.to_string())
        };
        assert_eq!(err("interrupt_mask = \"imask\"\n"), "guest[0].interrupt_mask: unknown variant `imask`, expected `hypercall` or `sr`");
        assert_eq!(err("mmu = 1\n"), "guest[0].mmu: invalid type: integer `1`, expected a boolean");
        assert_eq!(
            err("preempt_count = \"memory\"\n"),
            "guest[0].preempt_count: unknown variant `memory`, expected `hypercall` or `thread_info`"
        );
        let rtos = base.replace("class = \"gpos\"", "class = \"rtos\"");
        let e = parse(&format!("{rtos}preempt_count = \"thread_info\"\n"), Path::new("/m")).unwrap_err().to_string();
        assert!(e.contains("guest[0].preempt_count: only a GPOS is held in its critical sections"), "{e}");
        let ok = parse(&format!("{base}preempt_count = \"thread_info\"\n"), Path::new("/m")).unwrap();
        assert_eq!(ok.guests[0].preempt_count, PreemptCount::ThreadInfo);
        let long = "x".repeat(256);
        assert_eq!(
            err(&format!("linux = {{ cmdline = \"{long}\" }}\n")),
            "guest[0].linux.cmdline: 256 bytes; Linux/SH takes at most 255, without NUL bytes"
        );
        assert_eq!(err("linux = { initrd = \" \" }\n"), "guest[0].linux.initrd: an initramfs path cannot be empty");
        assert_eq!(err("linux = { initrd = \"i\", cmd = \"\" }\n"), "guest[0].linux.cmd: unknown field `cmd`, expected `initrd` or `cmdline`");
        let ok = parse(&format!("{base}linux = {{ initrd = \"i.cpio\" }}\n"), Path::new("/m")).unwrap();
        assert_eq!(ok.guests[0].linux, Some(LinuxBoot { initrd: Some(PathBuf::from("/m/i.cpio")), cmdline: String::new() }));
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 2000, ..ProptestConfig::default() })]

        #[test]
        fn arbitrary_text_never_panics(text in "\\PC*") {
            let _ = parse(&text, Path::new("."));
        }

        #[test]
        fn mutated_good_files_never_panic(cut in 0usize..2000, insert in "[\\[\\]{}=\",.#\n a-z0-9x_-]{0,12}") {
            let mut text = GOOD.to_string();
            let mut at = cut % (text.len() + 1);
            while !text.is_char_boundary(at) { at -= 1; }
            text.insert_str(at, &insert);
            if let Err(e) = parse(&text, Path::new(".")) {
                let _ = e.to_string();
            }
        }

        /// Whatever is cut, repeated or nested into a good file, parsing
        /// never panics and an error stays short: at most a message, a
        /// field and a source line's window.
        #[test]
        fn errors_stay_short(cut in 0usize..2000, piece in "[\\[\\]{}=\",.#\n a-z0-9x_-]{1,3}", times in 1usize..40_000) {
            let mut text = GOOD.to_string();
            let mut at = cut % (text.len() + 1);
            while !text.is_char_boundary(at) { at -= 1; }
            text.insert_str(at, &piece.repeat(times));
            if let Err(e) = parse(&text, Path::new(".")) {
                let shown = e.to_string();
                prop_assert!(shown.chars().count() < 1200, "{} characters:\n{}", shown.chars().count(), shown);
            }
        }

        #[test]
        fn any_integer_in_any_numeric_field_never_panics(v in any::<i64>(), field in 0usize..9) {
            let targets = ["priority = 10", "base = 0x08800000", "size = 0x00800000", "core = 0,",
                           "entry = 0x88800000", "level = 12", "time_slice_us = 5000", "vcpu_switch = 1.5", "words = [1000"];
            let t = targets[field];
            let key = t.split(" = ").next().unwrap();
            let tail = if t.ends_with(',') { "," } else { "" };
            let prefix = if key == "words" { "[" } else { "" };
            let text = with(t, &format!("{key} = {prefix}{v}{tail}"));
            if let Err(e) = parse(&text, Path::new(".")) {
                prop_assert!(!e.field.is_empty(), "{e}");
            }
        }
    }

    /// `[faults]` becomes the machine's plan, in cycles; bad values are
    /// refused naming the field.
    #[test]
    fn faults_are_parsed_and_checked() {
        use rp1_sim::faults::{Faults, Flip, IciFault, Stall};
        let text = format!(
            "{GOOD}\n[faults]\nseed = 9\nici = [{{ core = 1, lost_percent = 20 }}, {{ core = 2, lost_nth = 3 }}, {{ core = 3, delay_us = 50 }}]\n\
             stall = [{{ core = 2, at_ms = 50, for_ms = 20 }}, {{ core = 2, at_ms = 70 }}]\nflip = [{{ at_ms = 30, offset = 0x40, mask = 0x80000001 }}]\n"
        );
        let d = parse(&text, Path::new("/m")).unwrap();
        assert_eq!(
            d.faults,
            Faults {
                seed: 9,
                ici: vec![
                    IciFault::LosePercent { core: 1, percent: 20 },
                    IciFault::LoseNth { core: 2, nth: 3 },
                    IciFault::Delay { core: 3, cycles: 30_000 },
                ],
                stalls: vec![
                    Stall { core: 2, at: 30_000_000, cycles: Some(12_000_000) },
                    Stall { core: 2, at: 42_000_000, cycles: None },
                ],
                flips: vec![Flip { at: 18_000_000, offset: 0x40, mask: 0x8000_0001 }],
            }
        );
        assert!(parse(GOOD, Path::new("/m")).unwrap().faults.is_empty());
        let bad = |faults: &str| err(&format!("{GOOD}\n[faults]\n{faults}\n")).summary();
        assert_eq!(bad("ici = [{ core = 4, lost_percent = 1 }]"), "faults.ici[0].core: 4 is not a core (0-3)");
        assert_eq!(bad("ici = [{ core = 1, lost_percent = 101 }]"), "faults.ici[0].lost_percent: 101 must be between 0 and 100");
        assert_eq!(bad("ici = [{ core = 1, lost_nth = 0 }]"), "faults.ici[0].lost_nth: 0: the ICIs to a core are counted from 1");
        assert_eq!(bad("ici = [{ core = 1, delay_us = 0 }]"), "faults.ici[0].delay_us: 0 must be between 1 and 1000000");
        assert_eq!(
            bad("ici = [{ core = 1, lost_nth = 2, delay_us = 5 }]"),
            "faults.ici[0]: give exactly one of lost_percent, lost_nth and delay_us"
        );
        assert_eq!(bad("ici = [{ core = 1 }]"), "faults.ici[0]: give exactly one of lost_percent, lost_nth and delay_us");
        assert_eq!(bad("stall = [{ core = 1, at_ms = -1 }]"), "faults.stall[0].at_ms: -1 must be between 0 and 3600000 (milliseconds)");
        assert_eq!(bad("stall = [{ core = 1, at_ms = 1, for_ms = 0 }]"), "faults.stall[0].for_ms: 0 must be between 1 and 3600000 (milliseconds)");
        assert_eq!(
            bad("stall = [{ core = 1, at_ms = 10 }, { core = 1, at_ms = 5, for_ms = 6 }]"),
            "faults.stall[1]: overlaps faults.stall[0] on core 1"
        );
        assert_eq!(bad("flip = [{ at_ms = 1, offset = 0x42, mask = 1 }]"), "faults.flip[0].offset: 0x42 is not a 4-byte-aligned offset in the CSM (0 to 0x1fffc)");
        assert_eq!(bad("flip = [{ at_ms = 1, offset = 0x20000, mask = 1 }]"), "faults.flip[0].offset: 0x20000 is not a 4-byte-aligned offset in the CSM (0 to 0x1fffc)");
        assert_eq!(bad("flip = [{ at_ms = 1, offset = 0, mask = 0 }]"), "faults.flip[0].mask: 0x0 must be a non-zero 32-bit mask");
        assert_eq!(bad("flip = [{ at_ms = 1, offset = 0, mask = 0x100000000 }]"), "faults.flip[0].mask: 0x100000000 must be a non-zero 32-bit mask");
        assert_eq!(bad("seed = -1"), "faults.seed: -1 must not be negative");
        assert!(bad("lost = 3").contains("unknown field `lost`"), "{}", bad("lost = 3"));
    }
}
