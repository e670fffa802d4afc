//! The trace ring: how an instance on the board reports what it does
//! (scheduling events, migrations, samples, guest console output) to
//! whoever reads its core's local memory, as a debugger would on a board.
//!
//! Owns: the ring's layout in core-local memory (a header, then fixed-size
//! records), the record encoding of [`TraceEvent`] and console bytes, and
//! the decoder the host uses to read records back. `docs/trace-ring.md`
//! is the prose version; change both together. Must not touch: how the
//! memory is reached (the board writes words through a slice, the host
//! reads the simulated URAM), what a reader does with the events.
//!
//! Protocol: the instance is the only writer of `head` and `dropped`, the
//! reader the only writer of `tail`. Records `tail .. head` (free-running
//! counts, slot = count % capacity) are valid. A record is written before
//! `head` moves past it. When the ring is full the new record is dropped
//! and counted: nothing already in the ring is overwritten.

use crate::hw::TraceEvent;

/// A core's URAM as the board image uses it (byte offsets from its base,
/// which is also the base of the instance's wasm linear memory): the Rust
/// stack from 0, then statics, then this ring, then the C runtime's stack.
pub const URAM_BYTES: u32 = 0x2_0000;
/// The ring: its header, then 2048 records (a power of two, so a slot is
/// a mask, not a division, on a CPU without a divide instruction).
pub const URAM_TRACE: u32 = 0x1_6000 - (HEADER_WORDS as u32 * 4);
pub const URAM_TRACE_BYTES: u32 = HEADER_WORDS as u32 * 4 + 2048 * RECORD_WORDS as u32 * 4;
/// The C stack: from here to the end of URAM, growing down.
pub const URAM_C_STACK: u32 = URAM_TRACE + URAM_TRACE_BYTES;
const _: () = assert!(URAM_C_STACK == 0x1_e000);
/// What unused stack holds (both stacks are filled at boot), so a reader
/// can find the deepest either has been.
pub const STACK_PATTERN: u32 = 0x5354_4b21;

/// Header word 0: ASCII "SPTR" read as a big-endian number.
pub const MAGIC: u32 = 0x5350_5452;
pub const VERSION: u32 = 1;
/// Header size in words; records follow it.
pub const HEADER_WORDS: usize = 16;
/// Words per record.
pub const RECORD_WORDS: usize = 4;

/// Header word indices.
pub mod header {
    pub const MAGIC: usize = 0;
    pub const VERSION: usize = 1;
    /// Records the ring holds.
    pub const CAPACITY: usize = 2;
    /// Records written so far (the instance's).
    pub const HEAD: usize = 3;
    /// Records consumed so far (the reader's).
    pub const TAIL: usize = 4;
    /// Records dropped because the ring was full.
    pub const DROPPED: usize = 5;
    /// The core the instance runs on.
    pub const CORE: usize = 6;
    /// Where, in the instance's local memory, its counters are (byte
    /// offsets from the memory's base): the instance's `Stats`, the
    /// mailbox's `MailboxStats`, the outbox's `OutboxCounters`, each as
    /// 64-bit words (`spumone_kernel::counters`).
    pub const STATS_OFFSET: usize = 7;
    pub const MAILBOX_STATS_OFFSET: usize = 8;
    pub const OUTBOX_COUNTERS_OFFSET: usize = 10;
    /// Bytes of the instance's state (`size_of::<Instance>()` on the board).
    pub const INSTANCE_BYTES: usize = 9;
    /// Virtual interrupts pending on vCPUs resident here, as of the last
    /// exit (for the accounting raised = delivered + coalesced + cancelled
    /// + pending).
    pub const PENDING_VIRQS: usize = 11;
    /// Set once the boot configuration was accepted (1) or refused (2).
    pub const BOOT_STATE: usize = 12;
    /// Byte offset of the board's [`super::EntryCosts`] (0: none kept).
    pub const ENTRY_COSTS_OFFSET: usize = 13;
    /// [`super::COUNTERS_LAYOUT`] as the instance was built with it.
    pub const COUNTERS_LAYOUT: usize = 14;
}

/// The fingerprint of the counters' layouts (`Stats`, `MailboxStats`,
/// `OutboxCounters`, [`EntryCosts`]; see `spumone_kernel::counters`). The
/// instance writes it into its ring's header; a reader built from other
/// sources finds another value and refuses to decode the counters rather
/// than print nonsense.
pub const COUNTERS_LAYOUT: u32 = {
    use spumone_kernel::counters::{fnv1a, Words, FNV_OFFSET};
    let hash = fnv1a(FNV_OFFSET, &crate::instance::Stats::LAYOUT.to_le_bytes());
    let hash = fnv1a(hash, &spumone_migration::mailbox::MailboxStats::LAYOUT.to_le_bytes());
    let hash = fnv1a(hash, &spumone_migration::outbox::OutboxCounters::LAYOUT.to_le_bytes());
    fnv1a(hash, &EntryCosts::LAYOUT.to_le_bytes())
};

/// What made a core enter the hypervisor: the rows of [`EntryCosts`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum EntryClass {
    /// A `TRAPA` in the hypercall range from the running vCPU.
    Hypercall = 0,
    /// This core's hypervisor timer (virtual timers, slices, bounds).
    Timer = 1,
    /// An inter-core interrupt: mail from another instance, or virtual
    /// IPIs in the IPI words (`spumone_migration::ipi`).
    Ici = 2,
    /// A physical device interrupt routed to a guest.
    Device = 3,
    /// Any other exception (forwarded to the guest, or a fault).
    Exception = 4,
    /// An interrupt nothing claims.
    Other = 5,
}

/// How an entry ended: the columns of [`EntryCosts`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum EntryOutcome {
    /// A quick exit: the interrupted vCPU goes on with its registers left
    /// where the entry put them (a result in R0/R1, or its own handler).
    Quick = 0,
    /// The same vCPU resumed through a full context load.
    Resumed = 1,
    /// Another vCPU (or the same one, moved to its handler after another
    /// had run) was loaded: a vCPU switch.
    Switched = 2,
    /// Nothing to run: the core sleeps.
    Idle = 3,
}

impl EntryClass {
    pub const ALL: [EntryClass; ENTRY_CLASSES] = [
        EntryClass::Hypercall,
        EntryClass::Timer,
        EntryClass::Ici,
        EntryClass::Device,
        EntryClass::Exception,
        EntryClass::Other,
    ];

    pub fn name(self) -> &'static str {
        match self {
            EntryClass::Hypercall => "hypercall",
            EntryClass::Timer => "timer",
            EntryClass::Ici => "ICI (mail, IPIs)",
            EntryClass::Device => "device interrupt",
            EntryClass::Exception => "exception",
            EntryClass::Other => "other interrupt",
        }
    }
}

impl EntryOutcome {
    pub const ALL: [EntryOutcome; ENTRY_OUTCOMES] =
        [EntryOutcome::Quick, EntryOutcome::Resumed, EntryOutcome::Switched, EntryOutcome::Idle];

    pub fn name(self) -> &'static str {
        match self {
            EntryOutcome::Quick => "quick exit",
            EntryOutcome::Resumed => "same vCPU",
            EntryOutcome::Switched => "vCPU switch",
            EntryOutcome::Idle => "idle",
        }
    }
}

pub const ENTRY_CLASSES: usize = 6;
pub const ENTRY_OUTCOMES: usize = 4;
const ENTRY_CELLS: usize = ENTRY_CLASSES * ENTRY_OUTCOMES;

/// The time the board's hypervisor spends per entry, by why it entered and
/// how it left, measured on the core's own cycle counter from the Rust
/// entry (`hv_enter`) to its return into the exit stub. Not in it: the
/// stubs' register save and restore (a fixed instruction sequence, the
/// same for every entry; docs/board-image.md gives its cost). Published
/// in URAM like the instance's counters (header word 13).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[repr(C)]
pub struct EntryCosts {
    /// Entries, cycles in all and the longest, per cell
    /// (`class * ENTRY_OUTCOMES + outcome`).
    pub count: [u64; ENTRY_CELLS],
    pub cycles: [u64; ENTRY_CELLS],
    pub max: [u64; ENTRY_CELLS],
}
spumone_kernel::word_counters!(EntryCosts { count: [u64; ENTRY_CELLS], cycles: [u64; ENTRY_CELLS], max: [u64; ENTRY_CELLS] });

/// One cell of [`EntryCosts`], read back.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct EntryCost {
    pub count: u64,
    pub cycles: u64,
    pub max: u64,
}

impl EntryCosts {
    pub const ZERO: EntryCosts = EntryCosts { count: [0; ENTRY_CELLS], cycles: [0; ENTRY_CELLS], max: [0; ENTRY_CELLS] };

    /// Count one entry that took `cycles`.
    pub fn add(&mut self, class: EntryClass, outcome: EntryOutcome, cycles: u64) {
        let i = class as usize * ENTRY_OUTCOMES + outcome as usize;
        self.count[i] += 1;
        self.cycles[i] += cycles;
        self.max[i] = self.max[i].max(cycles);
    }

    pub fn get(&self, class: EntryClass, outcome: EntryOutcome) -> EntryCost {
        let i = class as usize * ENTRY_OUTCOMES + outcome as usize;
        EntryCost { count: self.count[i], cycles: self.cycles[i], max: self.max[i] }
    }

    /// The sum of two cores' tables (max of the maxima).
    pub fn merged(&self, other: &EntryCosts) -> EntryCosts {
        EntryCosts {
            count: core::array::from_fn(|i| self.count[i] + other.count[i]),
            cycles: core::array::from_fn(|i| self.cycles[i] + other.cycles[i]),
            max: core::array::from_fn(|i| self.max[i].max(other.max[i])),
        }
    }
}

/// Record kinds (bits 7:0 of word 0).
pub mod kind {
    pub const DISPATCH: u8 = 1;
    pub const UNDISPATCH: u8 = 2;
    pub const INJECT: u8 = 3;
    pub const MIGRATE_OUT: u8 = 4;
    pub const MIGRATE_IN: u8 = 5;
    pub const SAMPLE: u8 = 6;
    pub const GUEST_EXIT: u8 = 7;
    pub const CONSOLE: u8 = 8;
}

/// Bytes of console text one record carries.
pub const CONSOLE_BYTES: usize = 12;
/// A `SAMPLE` kind at or above this is recorded as this value.
pub const SAMPLE_KIND_OTHER: u8 = 255;

/// One decoded record.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Record {
    Event { cycle: u64, event: TraceEvent },
    Console { guest: u8, len: u8, bytes: [u8; CONSOLE_BYTES] },
}

fn pack(kind: u8, a: u8, b: u8, c: u8) -> u32 {
    kind as u32 | (a as u32) << 8 | (b as u32) << 16 | (c as u32) << 24
}

/// The first word of an `Inject` record for (`guest`, `vcpu`): the board's
/// entry stub writes such records itself (board/rt/entry.S), with this
/// word from its window, then the INTEVT and the cycle.
pub fn inject_head(guest: u8, vcpu: u8) -> u32 {
    pack(kind::INJECT, guest, vcpu, 0)
}

/// The record words of `event` at `cycle`.
pub fn encode_event(cycle: u64, event: &TraceEvent) -> [u32; RECORD_WORDS] {
    let flag = |departure: bool, cycles: u32| (cycles & 0x7fff_ffff) | (departure as u32) << 31;
    let (w0, w1) = match *event {
        TraceEvent::Dispatch { guest, vcpu } => (pack(kind::DISPATCH, guest, vcpu, 0), 0),
        TraceEvent::Undispatch { guest, vcpu } => (pack(kind::UNDISPATCH, guest, vcpu, 0), 0),
        TraceEvent::Inject { guest, vcpu, intevt } => (inject_head(guest, vcpu), intevt as u32),
        TraceEvent::MigrateOut { guest, vcpu, to, departure, cycles } => {
            (pack(kind::MIGRATE_OUT, guest, vcpu, to), flag(departure, cycles))
        }
        TraceEvent::MigrateIn { guest, vcpu, from, departure, cycles } => {
            (pack(kind::MIGRATE_IN, guest, vcpu, from), flag(departure, cycles))
        }
        TraceEvent::Sample { guest, vcpu, kind: k, value } => {
            (pack(kind::SAMPLE, guest, vcpu, k.min(SAMPLE_KIND_OTHER as u32) as u8), value)
        }
        TraceEvent::GuestExit { guest, status } => (pack(kind::GUEST_EXIT, guest, 0, 0), status),
    };
    [w0, w1, cycle as u32, (cycle >> 32) as u32]
}

/// The record words of up to [`CONSOLE_BYTES`] bytes of `guest`'s console.
pub fn encode_console(guest: u8, bytes: &[u8]) -> [u32; RECORD_WORDS] {
    let len = bytes.len().min(CONSOLE_BYTES);
    let mut text = [0u8; CONSOLE_BYTES];
    text[..len].copy_from_slice(&bytes[..len]);
    let word = |i: usize| u32::from_le_bytes([text[4 * i], text[4 * i + 1], text[4 * i + 2], text[4 * i + 3]]);
    [pack(kind::CONSOLE, guest, len as u8, 0), word(0), word(1), word(2)]
}

/// Why a record could not be decoded.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DecodeError {
    UnknownKind(u8),
    BadLength(u8),
}

/// Decode one record.
pub fn decode(w: &[u32; RECORD_WORDS]) -> Result<Record, DecodeError> {
    let (k, a, b, c) = (w[0] as u8, (w[0] >> 8) as u8, (w[0] >> 16) as u8, (w[0] >> 24) as u8);
    let cycle = w[2] as u64 | (w[3] as u64) << 32;
    let departure = w[1] >> 31 != 0;
    let cycles = w[1] & 0x7fff_ffff;
    let event = match k {
        kind::DISPATCH => TraceEvent::Dispatch { guest: a, vcpu: b },
        kind::UNDISPATCH => TraceEvent::Undispatch { guest: a, vcpu: b },
        kind::INJECT => TraceEvent::Inject { guest: a, vcpu: b, intevt: w[1] as u16 },
        kind::MIGRATE_OUT => TraceEvent::MigrateOut { guest: a, vcpu: b, to: c, departure, cycles },
        kind::MIGRATE_IN => TraceEvent::MigrateIn { guest: a, vcpu: b, from: c, departure, cycles },
        kind::SAMPLE => TraceEvent::Sample { guest: a, vcpu: b, kind: c as u32, value: w[1] },
        kind::GUEST_EXIT => TraceEvent::GuestExit { guest: a, status: w[1] },
        kind::CONSOLE => {
            if b as usize > CONSOLE_BYTES {
                return Err(DecodeError::BadLength(b));
            }
            let mut bytes = [0u8; CONSOLE_BYTES];
            for i in 0..3 {
                bytes[4 * i..4 * i + 4].copy_from_slice(&w[1 + i].to_le_bytes());
            }
            return Ok(Record::Console { guest: a, len: b, bytes });
        }
        other => return Err(DecodeError::UnknownKind(other)),
    };
    Ok(Record::Event { cycle, event })
}

/// The writer's side of a ring laid out in `words` (header then records).
pub struct Writer<'a> {
    words: &'a mut [u32],
}

impl<'a> Writer<'a> {
    /// Records a region of `words` holds: a power of two.
    pub const fn capacity_of(words: usize) -> usize {
        let fit = (words - HEADER_WORDS) / RECORD_WORDS;
        if fit == 0 {
            0
        } else {
            1 << (usize::BITS - 1 - fit.leading_zeros())
        }
    }

    /// Lay out an empty ring over `words` for `core`.
    pub fn init(words: &'a mut [u32], core: u8) -> Writer<'a> {
        words[..HEADER_WORDS].fill(0);
        words[header::VERSION] = VERSION;
        words[header::CAPACITY] = Writer::capacity_of(words.len()) as u32;
        words[header::CORE] = core as u32;
        words[header::COUNTERS_LAYOUT] = COUNTERS_LAYOUT;
        // The magic last: a reader that sees it sees a laid-out ring.
        words[header::MAGIC] = MAGIC;
        Writer { words }
    }

    /// A ring [`Writer::init`] laid out earlier.
    pub fn attach(words: &'a mut [u32]) -> Writer<'a> {
        Writer { words }
    }

    /// Set a header word (the counters' locations, sizes, boot state).
    pub fn set_header(&mut self, index: usize, value: u32) {
        if index >= header::CORE && index < HEADER_WORDS {
            self.words[index] = value;
        }
    }

    /// Append one record; a full ring drops it and counts it.
    pub fn push(&mut self, record: &[u32; RECORD_WORDS]) {
        let capacity = self.words[header::CAPACITY];
        let head = self.words[header::HEAD];
        let tail = self.words[header::TAIL];
        if capacity == 0 || head.wrapping_sub(tail) >= capacity {
            self.words[header::DROPPED] = self.words[header::DROPPED].wrapping_add(1);
            return;
        }
        // The capacity is a power of two (capacity_of).
        let at = HEADER_WORDS + (head & (capacity - 1)) as usize * RECORD_WORDS;
        self.words[at..at + RECORD_WORDS].copy_from_slice(record);
        self.words[header::HEAD] = head.wrapping_add(1);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_event_round_trips() {
        let events = [
            TraceEvent::Dispatch { guest: 1, vcpu: 3 },
            TraceEvent::Undispatch { guest: 0, vcpu: 0 },
            TraceEvent::Inject { guest: 1, vcpu: 2, intevt: 0xf20 },
            TraceEvent::MigrateOut { guest: 1, vcpu: 0, to: 1, departure: true, cycles: 12_345 },
            TraceEvent::MigrateIn { guest: 1, vcpu: 0, from: 1, departure: false, cycles: 7 },
            TraceEvent::Sample { guest: 0, vcpu: 0, kind: 1, value: 0xdead_beef },
            TraceEvent::GuestExit { guest: 3, status: 0x8000_0001 },
        ];
        for (i, e) in events.iter().enumerate() {
            let cycle = 0x1_2345_6789 + i as u64;
            assert_eq!(decode(&encode_event(cycle, e)), Ok(Record::Event { cycle, event: *e }));
        }
        let r = decode(&encode_console(2, b"hello, world!")).unwrap();
        assert_eq!(r, Record::Console { guest: 2, len: 12, bytes: *b"hello, world" });
        assert_eq!(decode(&[0x63, 0, 0, 0]), Err(DecodeError::UnknownKind(0x63)));
    }

    #[test]
    fn a_full_ring_drops_new_records_and_counts_them() {
        // Room for 3 records: the ring uses 2 (a power of two).
        let mut mem = [0u32; HEADER_WORDS + 3 * RECORD_WORDS];
        let mut w = Writer::init(&mut mem, 2);
        for i in 0..5u32 {
            w.push(&[i, 0, 0, 0]);
        }
        assert_eq!(mem[header::CAPACITY], 2);
        assert_eq!(mem[header::HEAD], 2);
        assert_eq!(mem[header::DROPPED], 3);
        assert_eq!(mem[HEADER_WORDS], 0, "the oldest record is kept");
        // The reader consumes one; one more fits, in slot 0.
        mem[header::TAIL] = 1;
        let mut w = Writer::attach(&mut mem);
        w.push(&[7, 0, 0, 0]);
        w.push(&[8, 0, 0, 0]);
        assert_eq!(mem[header::HEAD], 3);
        assert_eq!(mem[HEADER_WORDS], 7, "slot 0 is reused for the third record");
        assert_eq!(mem[header::DROPPED], 4);
        assert_eq!(Writer::capacity_of(HEADER_WORDS + 2048 * RECORD_WORDS), 2048);
        assert_eq!(Writer::capacity_of(HEADER_WORDS + 2047 * RECORD_WORDS), 1024);
    }
}
