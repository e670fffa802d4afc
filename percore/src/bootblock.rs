//! The boot configuration block: how a boot loader tells the board image of
//! the hypervisor what to run (guests, vCPUs, policy, IPL separation,
//! interrupt routes), as bytes it places in memory.
//!
//! Owns: the block's wire format (`docs/boot-block.md` is the prose
//! version: change both together), its encoder (used by the host tools
//! that write a block for `rp1 run`) and its decoder, which refuses a block
//! that is corrupt, truncated or inconsistent with a precise
//! [`BootBlockError`]. Must not touch: memory (callers hand it words), the
//! cost table (the board image charges nothing: its costs are measured).
//!
//! The block is little-endian 32-bit words:
//!
//! | word | contents |
//! | --- | --- |
//! | 0 | [`MAGIC`] ("SPBC") |
//! | 1 | [`VERSION`] |
//! | 2 | length of the whole block in bytes |
//! | 3 | CRC-32 (IEEE) of words 4 .. end, each as 4 little-endian bytes |
//! | 4 | cores in use (1-4) |
//! | 5 | policy: 0 none, 1 delayed preemption, 2 trap-based, 3 on-demand |
//! | 6 | flags: bit 0 spin-yield, 1 IPL separation, 2 dispatch-first, 3 a delay bound is set |
//! | 7 | round-robin time slice, cycles (> 0) |
//! | 8 | delay bound, cycles (bit 3 of the flags says whether it is used) |
//! | 9 | the hypervisor's own interrupt level (1-15) |
//! | 10 | guests G (1-4), devices D (0-8), secondaries S (0-12), one byte each from bit 0; bits 31:24 zero |
//! | 11 | dispatch-first departure deferral, cycles |
//! | 12 .. | G guest records of [`GUEST_WORDS`] words, D device records of 2 words, S secondary records of 2 words |
//!
//! Guest record: class (0 RTOS, 1 GPOS) | priority << 8 | vCPUs << 16;
//! partition base; partition size; home cores (vCPU n in byte n); boot
//! entry; timer level | IPI level << 8.
//! Device record: INTEVT | guest << 16 | vCPU << 24; level.
//! Secondary record: guest | vCPU << 8; entry.

use crate::config::{Config, Costs, DeviceRoute, Policy, MAX_DEVICES};
use core::fmt;
use spumone_kernel::guest::{GuestSpec, Partition, MAX_GUESTS, MAX_VCPUS};
use spumone_kernel::ipl::GuestClass;
use spumone_migration::crc::Crc32;

/// Word 0: ASCII "SPBC" read as a big-endian number.
pub const MAGIC: u32 = 0x5350_4243;
pub const VERSION: u32 = 1;
/// Words before the first record.
pub const HEADER_WORDS: usize = 12;
pub const GUEST_WORDS: usize = 6;
pub const DEVICE_WORDS: usize = 2;
pub const SECONDARY_WORDS: usize = 2;
/// Secondary vCPUs started at boot: every vCPU but each guest's first.
pub const MAX_SECONDARIES: usize = MAX_GUESTS * (MAX_VCPUS - 1);
/// The largest block, in words.
pub const MAX_WORDS: usize =
    HEADER_WORDS + MAX_GUESTS * GUEST_WORDS + MAX_DEVICES * DEVICE_WORDS + MAX_SECONDARIES * SECONDARY_WORDS;

/// Where the board image reads the block: the last 64 KiB of the
/// hypervisor's own 8 MiB at the start of DRAM (docs/boot-block.md).
pub const BLOCK_PHYS: u32 = 0x087f_0000;
/// Physical memory the hypervisor keeps for itself (code, boot block):
/// no guest partition may overlap it.
pub const RESERVED_PHYS: (u32, u32) = (0x0800_0000, 0x0080_0000);
/// The RP1's DRAM (physical), where partitions must lie.
pub const DRAM_PHYS: (u32, u32) = (0x0800_0000, 0x0800_0000);

/// A secondary vCPU started at boot: (guest, vCPU, entry).
pub type Secondary = (u8, u8, u32);

/// What the block says, decoded and checked.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct BootConfig {
    pub config: Config,
    pub secondaries: [Option<Secondary>; MAX_SECONDARIES],
}

impl BootConfig {
    /// The secondaries as a list.
    pub fn secondary_list(&self) -> impl Iterator<Item = Secondary> + '_ {
        self.secondaries.iter().flatten().copied()
    }
}

/// Why a block was refused. Every variant names what was wrong and where.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BootBlockError {
    /// Fewer words than a header, or than the length word says.
    Truncated { have_bytes: u32, need_bytes: u32 },
    BadMagic { found: u32 },
    BadVersion { found: u32 },
    /// The length word is not a multiple of 4, too large, or does not
    /// match the counts.
    BadLength { length: u32, expected: u32 },
    BadChecksum { computed: u32, stored: u32 },
    BadCores { cores: u32 },
    BadPolicy { code: u32 },
    ReservedBits { word: u8, value: u32 },
    ZeroTimeSlice,
    BadHypervisorLevel { level: u32 },
    BadCount { what: &'static str, count: u32, max: u32 },
    BadClass { guest: u8, code: u32 },
    BadVcpus { guest: u8, vcpus: u32 },
    BadHome { guest: u8, vcpu: u8, core: u8, cores: u8 },
    /// A partition outside DRAM, inside the hypervisor's own memory, or
    /// overlapping another guest's.
    BadPartition { guest: u8, base: u32, size: u32, why: &'static str },
    /// An entry point outside the guest's partition (P1/P2 alias), or odd.
    BadEntry { guest: u8, vcpu: u8, entry: u32 },
    /// An interrupt level outside the guest's class.
    BadLevel { guest: u8, what: &'static str, level: u32 },
    /// No RTOS guest may share a priority with or rank below a GPOS.
    BadPriority { guest: u8, priority: u32 },
    BadDevice { row: u8, why: &'static str },
    BadSecondary { index: u8, why: &'static str },
}

impl fmt::Display for BootBlockError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        use BootBlockError::*;
        match *self {
            Truncated { have_bytes, need_bytes } => {
                write!(f, "truncated: {have_bytes} bytes, the block needs {need_bytes}")
            }
            BadMagic { found } => write!(f, "no boot block (word 0 is {found:#010x}, not {MAGIC:#010x} \"SPBC\")"),
            BadVersion { found } => write!(f, "version {found}, this hypervisor reads version {VERSION}"),
            BadLength { length, expected } => write!(f, "length word {length} bytes, expected {expected}"),
            BadChecksum { computed, stored } => {
                write!(f, "corrupt: CRC-32 is {computed:#010x}, the block says {stored:#010x}")
            }
            BadCores { cores } => write!(f, "cores {cores}, must be 1-4"),
            BadPolicy { code } => write!(f, "policy code {code}, must be 0-3"),
            ReservedBits { word, value } => write!(f, "word {word} ({value:#x}) has reserved bits set"),
            ZeroTimeSlice => write!(f, "time slice 0"),
            BadHypervisorLevel { level } => write!(f, "hypervisor level {level}, must be 1-15"),
            BadCount { what, count, max } => write!(f, "{count} {what}, at most {max}"),
            BadClass { guest, code } => write!(f, "guest {guest}: class code {code}, must be 0 (RTOS) or 1 (GPOS)"),
            BadVcpus { guest, vcpus } => write!(f, "guest {guest}: {vcpus} vCPUs, must be 1-{MAX_VCPUS}"),
            BadHome { guest, vcpu, core, cores } => {
                write!(f, "guest {guest} vCPU {vcpu}: home core {core}, only {cores} cores in use")
            }
            BadPartition { guest, base, size, why } => {
                write!(f, "guest {guest}: partition {base:#010x}+{size:#x} {why}")
            }
            BadEntry { guest, vcpu, entry } => {
                write!(f, "guest {guest} vCPU {vcpu}: entry {entry:#010x} is not in its partition (P1/P2, even)")
            }
            BadLevel { guest, what, level } => {
                write!(f, "guest {guest}: {what} level {level} is outside its class's levels")
            }
            BadPriority { guest, priority } => {
                write!(f, "guest {guest}: priority {priority} puts an RTOS at or below a GPOS")
            }
            BadDevice { row, why } => write!(f, "interrupt route {row}: {why}"),
            BadSecondary { index, why } => write!(f, "secondary vCPU {index}: {why}"),
        }
    }
}

fn policy_code(p: Policy) -> u32 {
    match p {
        Policy::None => 0,
        Policy::DelayedPreemption => 1,
        Policy::TrapMigration => 2,
        Policy::OnDemandMigration => 3,
    }
}

/// Encode `boot` into `out` (at least [`MAX_WORDS`] words); returns how
/// many words the block has. Guests must be listed from slot 0 without
/// gaps, devices likewise.
pub fn encode(boot: &BootConfig, out: &mut [u32; MAX_WORDS]) -> usize {
    let c = &boot.config;
    let guests: usize = c.guests.iter().take_while(|g| g.is_some()).count();
    let devices: usize = c.devices.iter().take_while(|d| d.is_some()).count();
    let secondaries: usize = boot.secondaries.iter().take_while(|s| s.is_some()).count();
    *out = [0; MAX_WORDS];
    out[0] = MAGIC;
    out[1] = VERSION;
    out[4] = c.cores as u32;
    out[5] = policy_code(c.policy);
    out[6] = c.spin_yield as u32
        | (c.ipl_separation as u32) << 1
        | (c.dispatch_first as u32) << 2
        | (c.delay_bound.is_some() as u32) << 3;
    out[7] = c.time_slice;
    out[8] = c.delay_bound.unwrap_or(0);
    out[9] = c.hypervisor_level as u32;
    out[10] = guests as u32 | (devices as u32) << 8 | (secondaries as u32) << 16;
    out[11] = c.departure_defer;
    let mut at = HEADER_WORDS;
    for g in c.guests.iter().flatten().take(guests) {
        let class = match g.class {
            GuestClass::RealTime => 0,
            GuestClass::GeneralPurpose => 1,
        };
        out[at] = class | (g.priority as u32) << 8 | (g.vcpus as u32) << 16;
        out[at + 1] = g.partition.base;
        out[at + 2] = g.partition.size;
        out[at + 3] = u32::from_le_bytes(g.home);
        out[at + 4] = g.entry;
        out[at + 5] = g.timer_level as u32 | (g.ipi_level as u32) << 8 | (g.sr_imask as u32) << 16 | (g.mmu as u32) << 17 | (g.direct_exceptions as u32) << 18
            | (g.thread_info_preempt_count as u32) << 19;
        at += GUEST_WORDS;
    }
    for d in c.devices.iter().flatten().take(devices) {
        out[at] = d.intevt as u32 | (d.guest as u32) << 16 | (d.vcpu as u32) << 24;
        out[at + 1] = d.level as u32;
        at += DEVICE_WORDS;
    }
    for &(guest, vcpu, entry) in boot.secondaries.iter().flatten().take(secondaries) {
        out[at] = guest as u32 | (vcpu as u32) << 8;
        out[at + 1] = entry;
        at += SECONDARY_WORDS;
    }
    out[2] = (at * 4) as u32;
    out[3] = Crc32::new().update_words(&out[4..at]).finish();
    at
}

/// Decode and check a block. `words` may be longer than the block (the
/// length word says where it ends) but not shorter.
pub fn decode(words: &[u32]) -> Result<BootConfig, BootBlockError> {
    use BootBlockError::*;
    let have_bytes = (words.len() * 4) as u32;
    if words.len() < 4 {
        return Err(Truncated { have_bytes, need_bytes: (HEADER_WORDS * 4) as u32 });
    }
    if words[0] != MAGIC {
        return Err(BadMagic { found: words[0] });
    }
    if words[1] != VERSION {
        return Err(BadVersion { found: words[1] });
    }
    let length = words[2];
    if length % 4 != 0 || length < (HEADER_WORDS * 4) as u32 || length > (MAX_WORDS * 4) as u32 {
        return Err(BadLength { length, expected: (HEADER_WORDS * 4) as u32 });
    }
    let n = (length / 4) as usize;
    if words.len() < n {
        return Err(Truncated { have_bytes, need_bytes: length });
    }
    let computed = Crc32::new().update_words(&words[4..n]).finish();
    if computed != words[3] {
        return Err(BadChecksum { computed, stored: words[3] });
    }
    let w = &words[..n];
    let cores = w[4];
    if !(1..=4).contains(&cores) {
        return Err(BadCores { cores });
    }
    let cores = cores as u8;
    let policy = match w[5] {
        0 => Policy::None,
        1 => Policy::DelayedPreemption,
        2 => Policy::TrapMigration,
        3 => Policy::OnDemandMigration,
        code => return Err(BadPolicy { code }),
    };
    let flags = w[6];
    if flags & !0xf != 0 {
        return Err(ReservedBits { word: 6, value: flags });
    }
    if w[7] == 0 {
        return Err(ZeroTimeSlice);
    }
    if !(1..=15).contains(&w[9]) {
        return Err(BadHypervisorLevel { level: w[9] });
    }
    if w[10] >> 24 != 0 {
        return Err(ReservedBits { word: 10, value: w[10] });
    }
    let (g_count, d_count, s_count) = (w[10] & 0xff, (w[10] >> 8) & 0xff, (w[10] >> 16) & 0xff);
    if g_count == 0 || g_count as usize > MAX_GUESTS {
        return Err(BadCount { what: "guests", count: g_count, max: MAX_GUESTS as u32 });
    }
    if d_count as usize > MAX_DEVICES {
        return Err(BadCount { what: "interrupt routes", count: d_count, max: MAX_DEVICES as u32 });
    }
    if s_count as usize > MAX_SECONDARIES {
        return Err(BadCount { what: "secondary vCPUs", count: s_count, max: MAX_SECONDARIES as u32 });
    }
    let expected = (HEADER_WORDS
        + g_count as usize * GUEST_WORDS
        + d_count as usize * DEVICE_WORDS
        + s_count as usize * SECONDARY_WORDS) as u32
        * 4;
    if length != expected {
        return Err(BadLength { length, expected });
    }
    let mut config = Config {
        cores,
        guests: [None; MAX_GUESTS],
        policy,
        spin_yield: flags & 1 != 0,
        ipl_separation: flags & 2 != 0,
        time_slice: w[7],
        delay_bound: (flags & 8 != 0).then_some(w[8]),
        dispatch_first: flags & 4 != 0,
        departure_defer: w[11],
        hypervisor_level: w[9] as u8,
        costs: Costs::ZERO,
        devices: [None; MAX_DEVICES],
    };
    let mut at = HEADER_WORDS;
    for g in 0..g_count as usize {
        let gi = g as u8;
        let r = &w[at..at + GUEST_WORDS];
        at += GUEST_WORDS;
        if r[0] >> 24 != 0 {
            return Err(ReservedBits { word: at as u8 - GUEST_WORDS as u8, value: r[0] });
        }
        let class = match r[0] & 0xff {
            0 => GuestClass::RealTime,
            1 => GuestClass::GeneralPurpose,
            code => return Err(BadClass { guest: gi, code }),
        };
        let vcpus = (r[0] >> 16) & 0xff;
        if vcpus == 0 || vcpus as usize > MAX_VCPUS {
            return Err(BadVcpus { guest: gi, vcpus });
        }
        let (base, size) = (r[1], r[2]);
        check_partition(gi, base, size)?;
        for (other, spec) in config.guests.iter().enumerate().take(g) {
            if let Some(o) = spec {
                if base < o.partition.base.wrapping_add(o.partition.size) && o.partition.base < base.wrapping_add(size) {
                    let _ = other;
                    return Err(BadPartition { guest: gi, base, size, why: "overlaps another guest's" });
                }
            }
        }
        let home = r[3].to_le_bytes();
        for (v, &core) in home.iter().enumerate() {
            if v < vcpus as usize && core >= cores {
                return Err(BadHome { guest: gi, vcpu: v as u8, core, cores });
            }
            if v >= vcpus as usize && core != 0 {
                return Err(ReservedBits { word: (at - GUEST_WORDS + 3) as u8, value: r[3] });
            }
        }
        let partition = Partition { base, size };
        if partition.check(r[4], 2, 2).is_none() {
            return Err(BadEntry { guest: gi, vcpu: 0, entry: r[4] });
        }
        if r[5] >> 20 != 0 {
            return Err(ReservedBits { word: (at - 1) as u8, value: r[5] });
        }
        let (timer_level, ipi_level) = ((r[5] & 0xff) as u8, ((r[5] >> 8) & 0xff) as u8);
        // Level 0: the source is never delivered (the guest does not use it).
        for (what, level) in [("timer", timer_level), ("IPI", ipi_level)] {
            if level != 0 && !class.owns(level) {
                return Err(BadLevel { guest: gi, what, level: level as u32 });
            }
        }
        config.guests[g] = Some(GuestSpec {
            class,
            priority: ((r[0] >> 8) & 0xff) as u8,
            partition,
            vcpus: vcpus as u8,
            home,
            entry: r[4],
            timer_level,
            ipi_level,
            sr_imask: r[5] & 1 << 16 != 0,
            mmu: r[5] & 1 << 17 != 0,
            direct_exceptions: r[5] & 1 << 18 != 0,
            thread_info_preempt_count: r[5] & 1 << 19 != 0,
        });
    }
    // Fixed priority puts the RTOS first: an RTOS at or below a GPOS would
    // undo IPL separation's point.
    let specs = config.guests;
    for (g, spec) in specs.iter().enumerate() {
        let Some(s) = spec else { continue };
        if s.class == GuestClass::RealTime
            && specs.iter().flatten().any(|o| o.class == GuestClass::GeneralPurpose && o.priority >= s.priority)
        {
            return Err(BadPriority { guest: g as u8, priority: s.priority as u32 });
        }
    }
    let mut per_vcpu = [[0u8; MAX_VCPUS]; MAX_GUESTS];
    for d in 0..d_count as usize {
        let row = d as u8;
        let (a, level) = (w[at], w[at + 1]);
        at += DEVICE_WORDS;
        let (intevt, guest, vcpu) = ((a & 0xffff) as u16, ((a >> 16) & 0xff) as u8, (a >> 24) as u8);
        let Some(spec) = specs.get(guest as usize).copied().flatten() else {
            return Err(BadDevice { row, why: "names no guest" });
        };
        if vcpu >= spec.vcpus {
            return Err(BadDevice { row, why: "names a vCPU its guest does not have" });
        }
        if level > 15 || !spec.class.owns(level as u8) {
            return Err(BadDevice { row, why: "level outside its guest's class" });
        }
        if !device_intevt_allowed(intevt) {
            return Err(BadDevice { row, why: "source cannot be given to a guest (TMU4, TMU5 and SCIF lines only)" });
        }
        if config.devices.iter().flatten().any(|r| r.intevt == intevt) {
            return Err(BadDevice { row, why: "source routed twice" });
        }
        per_vcpu[guest as usize][vcpu as usize] += 1;
        if per_vcpu[guest as usize][vcpu as usize] as usize > crate::config::MAX_DEVICES_PER_VCPU {
            return Err(BadDevice { row, why: "more sources than one vCPU can own (7)" });
        }
        config.devices[d] = Some(DeviceRoute { intevt, guest, vcpu, level: level as u8 });
    }
    let mut secondaries = [None; MAX_SECONDARIES];
    for s in 0..s_count as usize {
        let index = s as u8;
        let (a, entry) = (w[at], w[at + 1]);
        at += SECONDARY_WORDS;
        if a >> 16 != 0 {
            return Err(BadSecondary { index, why: "reserved bits set" });
        }
        let (guest, vcpu) = ((a & 0xff) as u8, ((a >> 8) & 0xff) as u8);
        let Some(spec) = specs.get(guest as usize).copied().flatten() else {
            return Err(BadSecondary { index, why: "names no guest" });
        };
        if vcpu == 0 || vcpu >= spec.vcpus {
            return Err(BadSecondary { index, why: "names vCPU 0 or a vCPU its guest does not have" });
        }
        if spec.partition.check(entry, 2, 2).is_none() {
            return Err(BadEntry { guest, vcpu, entry });
        }
        if secondaries.iter().flatten().any(|&(g, v, _)| (g, v) == (guest, vcpu)) {
            return Err(BadSecondary { index, why: "starts a vCPU twice" });
        }
        secondaries[s] = Some((guest, vcpu, entry));
    }
    Ok(BootConfig { config, secondaries })
}

fn check_partition(guest: u8, base: u32, size: u32) -> Result<(), BootBlockError> {
    let bad = |why| Err(BootBlockError::BadPartition { guest, base, size, why });
    let Some(end) = base.checked_add(size) else { return bad("wraps around") };
    if size == 0 || base % 4096 != 0 || size % 4096 != 0 {
        return bad("is empty or not 4 KiB aligned");
    }
    if base < DRAM_PHYS.0 || end > DRAM_PHYS.0 + DRAM_PHYS.1 {
        return bad("is not inside DRAM (0x08000000-0x0fffffff)");
    }
    if base < RESERVED_PHYS.0 + RESERVED_PHYS.1 && RESERVED_PHYS.0 < end {
        return bad("overlaps the hypervisor's own memory (0x08000000-0x087fffff)");
    }
    Ok(())
}

/// The physical interrupt sources a guest may own: TMU channels 4 and 5
/// (INTEVT 0x480, 0x4a0) and the SCIF ports' lines (0x700-0x8e0). The
/// others are the hypervisor's (TMU0-3, ICIs) or have no per-core mask.
pub const fn device_intevt_allowed(intevt: u16) -> bool {
    matches!(intevt, 0x480 | 0x4a0) || (intevt >= 0x700 && intevt <= 0x8e0 && intevt % 0x20 == 0)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> BootConfig {
        let rtos = GuestSpec {
            class: GuestClass::RealTime,
            priority: 10,
            partition: Partition { base: 0x0880_0000, size: 0x80_0000 },
            vcpus: 1,
            home: [0; 4],
            entry: 0x8880_0000,
            timer_level: 12,
            ipi_level: 0,
            sr_imask: false,
            mmu: false,
            direct_exceptions: false,
            thread_info_preempt_count: false,
        };
        let gpos = GuestSpec {
            class: GuestClass::GeneralPurpose,
            priority: 1,
            partition: Partition { base: 0x0900_0000, size: 0x100_0000 },
            vcpus: 4,
            home: [0, 1, 2, 3],
            entry: 0x8900_0000,
            timer_level: 5,
            ipi_level: 6,
            sr_imask: true,
            mmu: true,
            direct_exceptions: true,
            thread_info_preempt_count: true,
        };
        let mut config = Config::EMPTY;
        config.costs = Costs::ZERO;
        config.cores = 4;
        config.guests[0] = Some(rtos);
        config.guests[1] = Some(gpos);
        config.policy = Policy::OnDemandMigration;
        config.delay_bound = Some(6000);
        config.devices[0] = Some(DeviceRoute { intevt: 0x480, guest: 0, vcpu: 0, level: 13 });
        let mut secondaries = [None; MAX_SECONDARIES];
        secondaries[0] = Some((1, 1, 0x8900_0100));
        secondaries[1] = Some((1, 3, 0xa900_0200));
        BootConfig { config, secondaries }
    }

    fn encoded(b: &BootConfig) -> ([u32; MAX_WORDS], usize) {
        let mut w = [0; MAX_WORDS];
        let n = encode(b, &mut w);
        (w, n)
    }

    /// Re-seal a block after editing a field, so the edit is what is refused.
    fn reseal(w: &mut [u32], n: usize) {
        w[3] = Crc32::new().update_words(&w[4..n]).finish();
    }

    #[test]
    fn a_block_decodes_to_what_was_encoded() {
        let b = sample();
        let (w, n) = encoded(&b);
        assert_eq!(n, HEADER_WORDS + 2 * GUEST_WORDS + DEVICE_WORDS + 2 * SECONDARY_WORDS);
        assert_eq!(w[2], (n * 4) as u32);
        let d = decode(&w[..n]).expect("valid");
        assert_eq!(d, b);
        // Trailing words past the length are ignored.
        assert_eq!(decode(&w).expect("valid with padding"), b);
    }

    #[test]
    fn corrupt_truncated_and_inconsistent_blocks_are_refused_precisely() {
        let b = sample();
        let (w, n) = encoded(&b);
        assert!(matches!(decode(&w[..3]), Err(BootBlockError::Truncated { .. })));
        assert_eq!(
            decode(&w[..n - 1]),
            Err(BootBlockError::Truncated { have_bytes: (n as u32 - 1) * 4, need_bytes: n as u32 * 4 })
        );
        let mut bad = w;
        bad[0] = 0;
        assert_eq!(decode(&bad[..n]), Err(BootBlockError::BadMagic { found: 0 }));
        let mut bad = w;
        bad[HEADER_WORDS + 1] ^= 0x1000; // a flipped bit in guest 0's base
        assert!(matches!(decode(&bad[..n]), Err(BootBlockError::BadChecksum { .. })));
        // Inconsistent but well sealed.
        let mut bad = w;
        bad[4] = 5;
        reseal(&mut bad, n);
        assert_eq!(decode(&bad[..n]), Err(BootBlockError::BadCores { cores: 5 }));
        let mut bad = w;
        bad[4] = 2; // the GPOS has vCPUs homed on cores 2 and 3
        reseal(&mut bad, n);
        assert_eq!(decode(&bad[..n]), Err(BootBlockError::BadHome { guest: 1, vcpu: 2, core: 2, cores: 2 }));
        let mut bad = w;
        bad[HEADER_WORDS + GUEST_WORDS + 1] = 0x0880_0000 + 0x40_0000; // GPOS inside the RTOS's partition
        reseal(&mut bad, n);
        assert!(matches!(decode(&bad[..n]), Err(BootBlockError::BadPartition { guest: 1, .. })));
        let mut bad = w;
        bad[HEADER_WORDS + 1] = 0x0800_0000; // the hypervisor's own memory
        bad[HEADER_WORDS + 4] = 0x8800_0000;
        reseal(&mut bad, n);
        assert!(matches!(decode(&bad[..n]), Err(BootBlockError::BadPartition { guest: 0, .. })));
        let mut bad = w;
        bad[HEADER_WORDS + 4] = 0x8900_0000; // RTOS entry in the GPOS's partition
        reseal(&mut bad, n);
        assert_eq!(decode(&bad[..n]), Err(BootBlockError::BadEntry { guest: 0, vcpu: 0, entry: 0x8900_0000 }));
        let mut bad = w;
        bad[HEADER_WORDS + GUEST_WORDS + 5] = 12 | 6 << 8; // GPOS timer at an RTOS level
        reseal(&mut bad, n);
        assert_eq!(decode(&bad[..n]), Err(BootBlockError::BadLevel { guest: 1, what: "timer", level: 12 }));
        let mut bad = w;
        bad[HEADER_WORDS + 2 * GUEST_WORDS] = 0x400; // TMU0 is the hypervisor's
        reseal(&mut bad, n);
        assert!(matches!(decode(&bad[..n]), Err(BootBlockError::BadDevice { row: 0, .. })));
        let mut bad = w;
        bad[n - 2] = 1 | 1 << 8; // vCPU 1 started twice
        reseal(&mut bad, n);
        assert!(matches!(decode(&bad[..n]), Err(BootBlockError::BadSecondary { index: 1, .. })));
        let mut bad = w;
        bad[10] += 1; // one more guest than the length holds
        reseal(&mut bad, n);
        assert!(matches!(decode(&bad[..n]), Err(BootBlockError::BadLength { .. } | BootBlockError::BadCount { .. })));
        let mut bad = w;
        bad[HEADER_WORDS] = 1 << 8 | 1 << 16; // RTOS at priority 1, like the GPOS
        reseal(&mut bad, n);
        assert_eq!(decode(&bad[..n]), Err(BootBlockError::BadPriority { guest: 0, priority: 1 }));
    }

    #[test]
    fn every_error_says_something() {
        extern crate std;
        use std::string::ToString;
        let e = BootBlockError::BadPartition { guest: 2, base: 0x0800_0000, size: 0x1000, why: "overlaps" };
        assert_eq!(e.to_string(), "guest 2: partition 0x08000000+0x1000 overlaps");
    }
}
