//! A timeline of a hosted run in the Chrome trace event format (JSON), which
//! opens in Perfetto (ui.perfetto.dev) and in chrome://tracing.
//!
//! Layout of the trace: one process per physical core ("core N"); in each,
//! one thread for the core's hypervisor instance ("hypervisor") and one per
//! vCPU that ran there ("guest/vcpuN"), so a vCPU that migrates shows up
//! under each core it ran on. Events: vCPU run slices and hypercalls
//! (complete events, "X"), hypervisor work such as the two halves of a
//! migration ("X" on the hypervisor thread, joined by a flow arrow from the
//! source core to the destination core), interrupts and marks (instant
//! events, "i"). Timestamps are simulated time in microseconds (cycles at
//! 600 MHz divided by 600, as an f64), which is what the format expects.
//!
//! Owns: recording events and writing the JSON file. Must not touch: the
//! simulation or the hypervisor; callers report what happened, in cycles.

use serde::Serialize;
use serde_json::{json, Value};
use std::collections::{BTreeMap, BTreeSet};
use std::io::{self, BufWriter, Write};
use std::path::Path;

/// Cycles per microsecond of the simulated CPU clock (600 MHz).
pub const CYCLES_PER_US: f64 = 600.0;

/// Microseconds of simulated time for a cycle count (`cycles / 600` in f64).
pub fn cycles_to_us(cycles: u64) -> f64 {
    cycles as f64 / CYCLES_PER_US
}

/// Which way a vCPU migrates.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MigrationKind {
    /// Away from its home core (the RTOS needs that core).
    Departure,
    /// Back to its home core.
    Return,
}

impl MigrationKind {
    pub fn name(self) -> &'static str {
        match self {
            MigrationKind::Departure => "departure",
            MigrationKind::Return => "return",
        }
    }
}

/// One migration of a vCPU: the source core's half (`spm_cpu_migrate`) and
/// the destination core's half (`accept_immigrant`), in cycles.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MigrationEvent<'a> {
    pub guest: &'a str,
    pub vcpu: u32,
    pub kind: MigrationKind,
    pub source_core: u8,
    pub destination_core: u8,
    pub source_start_cycles: u64,
    pub source_end_cycles: u64,
    pub destination_start_cycles: u64,
    pub destination_end_cycles: u64,
}

/// One hypercall, from the `trapa` to the guest's resumption, in cycles.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HypercallEvent<'a> {
    pub core: u8,
    pub guest: &'a str,
    pub vcpu: u32,
    /// The `trapa` immediate (0x60-0x7f).
    pub number: u8,
    /// Its name in docs/hypercall-abi.md, e.g. "SET_VECTOR".
    pub name: &'a str,
    pub start_cycles: u64,
    pub end_cycles: u64,
    /// What the guest got in r0.
    pub result: i32,
}

/// Thread key: (core, slot) where slot 0 is the hypervisor and slot k > 0
/// the k-th vCPU (in order of first appearance anywhere).
type ThreadKey = (u8, u32);

#[derive(Debug, Clone)]
enum Record {
    Slice { core: u8, slot: u32, name: String, cat: &'static str, start: u64, end: u64, args: Value },
    Instant { core: u8, slot: u32, name: String, cat: &'static str, at: u64, args: Value },
    Flow { core: u8, slot: u32, phase: &'static str, id: u64, at: u64, name: String },
}

/// The timeline being recorded.
#[derive(Debug, Clone, Default)]
pub struct Timeline {
    records: Vec<Record>,
    /// "guest/vcpuN" -> slot (1-based)
    vcpus: BTreeMap<String, u32>,
    vcpu_names: Vec<String>,
    threads: BTreeSet<ThreadKey>,
    info: BTreeMap<String, Value>,
    limit: Option<usize>,
    dropped: u64,
    next_flow: u64,
}

#[derive(Serialize)]
struct Event<'a> {
    name: &'a str,
    #[serde(skip_serializing_if = "str::is_empty")]
    cat: &'a str,
    ph: &'a str,
    pid: u32,
    tid: u32,
    ts: f64,
    #[serde(skip_serializing_if = "Option::is_none")]
    dur: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    s: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    id: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    bp: Option<&'a str>,
    #[serde(skip_serializing_if = "Value::is_null")]
    args: &'a Value,
}

/// The trace's process id for a core (cores count from 0, pids from 1).
pub fn pid(core: u8) -> u32 {
    core as u32 + 1
}

/// The trace's thread id for a thread slot on a core: unique across the
/// whole trace, so neither viewer merges threads of different cores.
pub fn tid(core: u8, slot: u32) -> u32 {
    (core as u32 + 1) * 1000 + slot
}

impl Timeline {
    pub fn new() -> Self {
        Timeline::default()
    }

    /// A timeline that keeps at most `max_events` events (metadata not
    /// counted) and counts the rest as dropped, for long runs.
    pub fn with_limit(max_events: usize) -> Self {
        Timeline { limit: Some(max_events), ..Timeline::default() }
    }

    /// Events recorded (not counting thread/process names).
    pub fn len(&self) -> usize {
        self.records.len()
    }

    pub fn is_empty(&self) -> bool {
        self.records.is_empty()
    }

    /// Events not recorded because of the limit.
    pub fn dropped(&self) -> u64 {
        self.dropped
    }

    /// A key/value written into the trace's `otherData` (policy, image
    /// names, the cost table...), shown by the viewers as trace metadata.
    pub fn set_info(&mut self, key: &str, value: impl Into<Value>) {
        self.info.insert(key.to_string(), value.into());
    }

    fn room(&mut self, n: usize) -> bool {
        match self.limit {
            Some(max) if self.records.len() + n > max => {
                self.dropped += n as u64;
                false
            }
            _ => true,
        }
    }

    fn vcpu_slot(&mut self, core: u8, guest: &str, vcpu: u32) -> (u32, String) {
        let name = format!("{guest}/vcpu{vcpu}");
        let next = self.vcpus.len() as u32 + 1;
        let slot = *self.vcpus.entry(name.clone()).or_insert_with(|| {
            self.vcpu_names.push(name.clone());
            next
        });
        self.threads.insert((core, slot));
        (slot, name)
    }

    fn hypervisor_thread(&mut self, core: u8) -> u32 {
        self.threads.insert((core, 0));
        0
    }

    /// vCPU `vcpu` of `guest` ran on `core` from `start_cycles` to `end_cycles`.
    pub fn run_slice(&mut self, core: u8, guest: &str, vcpu: u32, start_cycles: u64, end_cycles: u64) {
        if !self.room(1) {
            return;
        }
        let (slot, name) = self.vcpu_slot(core, guest, vcpu);
        let args = json!({ "guest": guest, "vcpu": vcpu, "start_cycles": start_cycles, "end_cycles": end_cycles });
        self.records.push(Record::Slice {
            core,
            slot,
            name,
            cat: "run",
            start: start_cycles,
            end: end_cycles.max(start_cycles),
            args,
        });
    }

    /// A hypercall of a vCPU, drawn inside its run slice.
    pub fn hypercall(&mut self, h: &HypercallEvent<'_>) {
        if !self.room(1) {
            return;
        }
        let (slot, _) = self.vcpu_slot(h.core, h.guest, h.vcpu);
        let args = json!({ "number": format!("{:#04x}", h.number), "result": h.result });
        self.records.push(Record::Slice {
            core: h.core,
            slot,
            name: format!("hypercall {}", h.name),
            cat: "hypercall",
            start: h.start_cycles,
            end: h.end_cycles.max(h.start_cycles),
            args,
        });
    }

    /// Work of a core's hypervisor instance (a vCPU switch, a mailbox
    /// message, an LHP decision...).
    pub fn hypervisor_slice(&mut self, core: u8, name: &str, start_cycles: u64, end_cycles: u64) {
        if !self.room(1) {
            return;
        }
        let slot = self.hypervisor_thread(core);
        self.records.push(Record::Slice {
            core,
            slot,
            name: name.to_string(),
            cat: "hypervisor",
            start: start_cycles,
            end: end_cycles.max(start_cycles),
            args: Value::Null,
        });
    }

    /// A migration: the source half on the source core's hypervisor thread,
    /// the destination half on the destination's, and a flow arrow between.
    pub fn migration(&mut self, m: &MigrationEvent<'_>) {
        if !self.room(4) {
            return;
        }
        let src = self.hypervisor_thread(m.source_core);
        let dst = self.hypervisor_thread(m.destination_core);
        let who = format!("{}/vcpu{}", m.guest, m.vcpu);
        let source_cycles = m.source_end_cycles.saturating_sub(m.source_start_cycles);
        let destination_cycles = m.destination_end_cycles.saturating_sub(m.destination_start_cycles);
        let args = json!({
            "guest": m.guest,
            "vcpu": m.vcpu,
            "kind": m.kind.name(),
            "source_core": m.source_core,
            "destination_core": m.destination_core,
            "source_half_us": cycles_to_us(source_cycles),
            "destination_half_us": cycles_to_us(destination_cycles),
            "source_half_cycles": source_cycles,
            "destination_half_cycles": destination_cycles,
        });
        let kind = m.kind.name();
        self.records.push(Record::Slice {
            core: m.source_core,
            slot: src,
            name: format!("{kind} {who}: source half (to core {})", m.destination_core),
            cat: "migration",
            start: m.source_start_cycles,
            end: m.source_end_cycles.max(m.source_start_cycles),
            args: args.clone(),
        });
        self.records.push(Record::Slice {
            core: m.destination_core,
            slot: dst,
            name: format!("{kind} {who}: destination half (from core {})", m.source_core),
            cat: "migration",
            start: m.destination_start_cycles,
            end: m.destination_end_cycles.max(m.destination_start_cycles),
            args,
        });
        let id = self.next_flow;
        self.next_flow += 1;
        let name = format!("{kind} {who}");
        self.records.push(Record::Flow {
            core: m.source_core,
            slot: src,
            phase: "s",
            id,
            at: m.source_start_cycles,
            name: name.clone(),
        });
        self.records.push(Record::Flow {
            core: m.destination_core,
            slot: dst,
            phase: "f",
            id,
            at: m.destination_start_cycles,
            name,
        });
    }

    /// An interrupt taken on `core` at `at_cycles`: INTEVT code and level,
    /// on the target vCPU's thread when it is known (else the hypervisor's).
    pub fn interrupt(&mut self, core: u8, at_cycles: u64, intevt: u16, level: u8, target: Option<(&str, u32)>) {
        if !self.room(1) {
            return;
        }
        let (slot, args) = match target {
            Some((guest, vcpu)) => {
                let (slot, _) = self.vcpu_slot(core, guest, vcpu);
                (slot, json!({ "intevt": format!("{intevt:#05x}"), "level": level, "guest": guest, "vcpu": vcpu }))
            }
            None => (self.hypervisor_thread(core), json!({ "intevt": format!("{intevt:#05x}"), "level": level })),
        };
        self.records.push(Record::Instant {
            core,
            slot,
            name: format!("interrupt {intevt:#05x}"),
            cat: "interrupt",
            at: at_cycles,
            args,
        });
    }

    /// A named moment on a core's hypervisor thread ("RTOS wakes", ...).
    pub fn mark(&mut self, core: u8, name: &str, at_cycles: u64) {
        if !self.room(1) {
            return;
        }
        let slot = self.hypervisor_thread(core);
        self.records.push(Record::Instant {
            core,
            slot,
            name: name.to_string(),
            cat: "mark",
            at: at_cycles,
            args: Value::Null,
        });
    }

    /// Write the trace to `path`.
    pub fn write(&self, path: &Path) -> io::Result<()> {
        let file = std::fs::File::create(path)?;
        let mut w = BufWriter::new(file);
        self.write_to(&mut w)?;
        w.flush()
    }

    /// Write the trace as JSON (one event per line).
    pub fn write_to<W: Write>(&self, mut w: W) -> io::Result<()> {
        let mut info = serde_json::Map::new();
        info.insert("clock".into(), json!("simulated RP1 CPU clock, 600 MHz; ts/dur in microseconds"));
        info.insert("dropped_events".into(), json!(self.dropped));
        for (k, v) in &self.info {
            info.insert(k.clone(), v.clone());
        }
        w.write_all(b"{\"displayTimeUnit\":\"ns\",\"otherData\":")?;
        serde_json::to_writer(&mut w, &info)?;
        w.write_all(b",\"traceEvents\":[")?;
        let mut first = true;
        let mut emit = |w: &mut W, e: &Event<'_>| -> io::Result<()> {
            w.write_all(if first { b"\n" } else { b",\n" })?;
            first = false;
            serde_json::to_writer(&mut *w, e).map_err(io::Error::from)
        };
        // Names and order of processes and threads.
        let mut cores: Vec<u8> = self.threads.iter().map(|&(c, _)| c).collect();
        cores.dedup();
        for &core in &cores {
            let name = json!({ "name": format!("core {core}") });
            let sort = json!({ "sort_index": core });
            emit(&mut w, &meta("process_name", pid(core), 0, &name))?;
            emit(&mut w, &meta("process_sort_index", pid(core), 0, &sort))?;
        }
        for &(core, slot) in self.threads.iter() {
            let name = if slot == 0 { "hypervisor".to_string() } else { self.vcpu_names[slot as usize - 1].clone() };
            let name = json!({ "name": name });
            let sort = json!({ "sort_index": slot });
            emit(&mut w, &meta("thread_name", pid(core), tid(core, slot), &name))?;
            emit(&mut w, &meta("thread_sort_index", pid(core), tid(core, slot), &sort))?;
        }
        for r in &self.records {
            let e = match r {
                Record::Slice { core, slot, name, cat, start, end, args } => Event {
                    name,
                    cat,
                    ph: "X",
                    pid: pid(*core),
                    tid: tid(*core, *slot),
                    ts: cycles_to_us(*start),
                    dur: Some(cycles_to_us(*end) - cycles_to_us(*start)),
                    s: None,
                    id: None,
                    bp: None,
                    args,
                },
                Record::Instant { core, slot, name, cat, at, args } => Event {
                    name,
                    cat,
                    ph: "i",
                    pid: pid(*core),
                    tid: tid(*core, *slot),
                    ts: cycles_to_us(*at),
                    dur: None,
                    s: Some("t"),
                    id: None,
                    bp: None,
                    args,
                },
                Record::Flow { core, slot, phase, id, at, name } => Event {
                    name,
                    cat: "migration",
                    ph: phase,
                    pid: pid(*core),
                    tid: tid(*core, *slot),
                    ts: cycles_to_us(*at),
                    dur: None,
                    s: None,
                    id: Some(*id),
                    // the arrow ends on the slice that encloses its end point
                    bp: (*phase == "f").then_some("e"),
                    args: &Value::Null,
                },
            };
            emit(&mut w, &e)?;
        }
        w.write_all(b"\n]}\n")
    }
}

fn meta<'a>(name: &'a str, pid: u32, tid: u32, args: &'a Value) -> Event<'a> {
    Event { name, cat: "", ph: "M", pid, tid, ts: 0.0, dur: None, s: None, id: None, bp: None, args }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parsed(t: &Timeline) -> Value {
        let mut out = Vec::new();
        t.write_to(&mut out).unwrap();
        serde_json::from_slice(&out).expect("the trace is JSON")
    }

    fn events<'a>(v: &'a Value, ph: &str) -> Vec<&'a Value> {
        v["traceEvents"].as_array().unwrap().iter().filter(|e| e["ph"] == ph).collect()
    }

    #[test]
    fn run_slices_are_complete_events_in_microseconds() {
        let mut t = Timeline::new();
        // cycles chosen so that the division is not exact in binary
        t.run_slice(0, "probe", 0, 600_001, 1_234_567);
        t.run_slice(2, "smp_load", 3, 0, 599);
        let v = parsed(&t);
        let x = events(&v, "X");
        assert_eq!(x.len(), 2);
        assert_eq!(x[0]["name"], "probe/vcpu0");
        assert_eq!(x[0]["cat"], "run");
        assert_eq!(x[0]["pid"], 1);
        assert_eq!(x[0]["tid"], 1001);
        assert_eq!(x[0]["ts"].as_f64().unwrap(), 600_001f64 / 600.0);
        assert_eq!(x[0]["ts"].as_f64().unwrap(), cycles_to_us(600_001));
        assert_eq!(x[0]["dur"].as_f64().unwrap(), 1_234_567f64 / 600.0 - 600_001f64 / 600.0);
        assert_eq!(x[0]["args"]["start_cycles"], 600_001);
        assert_eq!(x[0]["args"]["end_cycles"], 1_234_567);
        assert_eq!(x[1]["name"], "smp_load/vcpu3");
        assert_eq!((x[1]["pid"].as_u64(), x[1]["tid"].as_u64()), (Some(3), Some(3002)));
        assert_eq!(x[1]["ts"].as_f64().unwrap(), 0.0);
        assert_eq!(x[1]["dur"].as_f64().unwrap(), 599.0 / 600.0);
        // exact for large times too: 10 s of simulated time
        let mut t = Timeline::new();
        t.run_slice(1, "g", 0, 6_000_000_007, 6_000_000_013);
        let v = parsed(&t);
        assert_eq!(events(&v, "X")[0]["ts"].as_f64().unwrap(), 6_000_000_007f64 / 600.0);
    }

    #[test]
    fn processes_are_cores_and_threads_are_vcpus() {
        let mut t = Timeline::new();
        t.run_slice(0, "probe", 0, 0, 10);
        t.run_slice(0, "smp_load", 0, 10, 20);
        t.run_slice(1, "smp_load", 0, 30, 40); // migrated: same name, core 1
        t.mark(3, "idle", 50);
        let v = parsed(&t);
        let m = events(&v, "M");
        let named = |what: &str| -> Vec<(u64, u64, String)> {
            m.iter()
                .filter(|e| e["name"] == what)
                .map(|e| {
                    (
                        e["pid"].as_u64().unwrap(),
                        e["tid"].as_u64().unwrap(),
                        e["args"]["name"].as_str().unwrap().to_string(),
                    )
                })
                .collect()
        };
        assert_eq!(
            named("process_name"),
            vec![(1, 0, "core 0".into()), (2, 0, "core 1".into()), (4, 0, "core 3".into())]
        );
        assert_eq!(
            named("thread_name"),
            vec![
                (1, 1001, "probe/vcpu0".into()),
                (1, 1002, "smp_load/vcpu0".into()),
                (2, 2002, "smp_load/vcpu0".into()),
                (4, 4000, "hypervisor".into()),
            ]
        );
        assert_eq!(m.iter().filter(|e| e["name"] == "thread_sort_index").count(), 4);
        assert_eq!(m.iter().filter(|e| e["name"] == "process_sort_index").count(), 3);
        assert_eq!(v["displayTimeUnit"], "ns");
    }

    #[test]
    fn migrations_have_both_halves_and_a_flow() {
        let mut t = Timeline::new();
        t.migration(&MigrationEvent {
            guest: "smp_load",
            vcpu: 0,
            kind: MigrationKind::Departure,
            source_core: 0,
            destination_core: 2,
            source_start_cycles: 6_000,
            source_end_cycles: 6_000 + 14_940,
            destination_start_cycles: 21_240,
            destination_end_cycles: 21_240 + 16_800,
        });
        let v = parsed(&t);
        let x = events(&v, "X");
        assert_eq!(x.len(), 2);
        assert_eq!(x[0]["name"], "departure smp_load/vcpu0: source half (to core 2)");
        assert_eq!((x[0]["pid"].as_u64(), x[0]["tid"].as_u64()), (Some(1), Some(1000)));
        assert_eq!(x[0]["ts"].as_f64().unwrap(), 10.0);
        assert_eq!(x[0]["dur"].as_f64().unwrap(), 24.9);
        assert_eq!(x[1]["name"], "departure smp_load/vcpu0: destination half (from core 0)");
        assert_eq!((x[1]["pid"].as_u64(), x[1]["tid"].as_u64()), (Some(3), Some(3000)));
        assert_eq!(x[1]["ts"].as_f64().unwrap(), 21_240.0 / 600.0);
        assert_eq!(x[1]["dur"].as_f64().unwrap(), (21_240.0 + 16_800.0) / 600.0 - 21_240.0 / 600.0);
        for e in &x {
            assert_eq!(e["cat"], "migration");
            assert_eq!(e["args"]["kind"], "departure");
            assert_eq!(e["args"]["source_core"], 0);
            assert_eq!(e["args"]["destination_core"], 2);
            assert_eq!(e["args"]["source_half_us"].as_f64().unwrap(), 24.9);
            assert_eq!(e["args"]["destination_half_us"].as_f64().unwrap(), 28.0);
            assert_eq!(e["args"]["source_half_cycles"], 14_940);
        }
        let (s, f) = (events(&v, "s"), events(&v, "f"));
        assert_eq!((s.len(), f.len()), (1, 1));
        assert_eq!(s[0]["id"], f[0]["id"]);
        assert_eq!((s[0]["pid"].as_u64(), f[0]["pid"].as_u64()), (Some(1), Some(3)));
        assert_eq!(s[0]["ts"].as_f64().unwrap(), 10.0);
        assert_eq!(f[0]["ts"].as_f64().unwrap(), 21_240.0 / 600.0);
        assert_eq!(f[0]["bp"], "e");
    }

    #[test]
    fn interrupts_and_hypercalls() {
        let mut t = Timeline::new();
        t.run_slice(0, "probe", 0, 0, 6_000);
        t.interrupt(0, 1_200, 0x400, 12, Some(("probe", 0)));
        t.interrupt(1, 1_800, 0xf20, 6, None);
        t.hypercall(&HypercallEvent {
            core: 0,
            guest: "probe",
            vcpu: 0,
            number: 0x6d,
            name: "SAMPLE",
            start_cycles: 1_500,
            end_cycles: 1_620,
            result: 0,
        });
        let v = parsed(&t);
        let i = events(&v, "i");
        assert_eq!(i.len(), 2);
        assert_eq!(i[0]["name"], "interrupt 0x400");
        assert_eq!(i[0]["s"], "t");
        assert_eq!(i[0]["ts"].as_f64().unwrap(), 2.0);
        assert_eq!(i[0]["args"]["intevt"], "0x400");
        assert_eq!(i[0]["args"]["level"], 12);
        assert_eq!(i[0]["args"]["guest"], "probe");
        assert_eq!(i[0]["tid"], 1001);
        assert_eq!(i[1]["args"]["intevt"], "0xf20");
        assert_eq!(i[1]["tid"], 2000);
        let x = events(&v, "X");
        assert_eq!(x[1]["name"], "hypercall SAMPLE");
        assert_eq!(x[1]["args"]["number"], "0x6d");
        assert_eq!(x[1]["tid"], 1001);
        assert_eq!(x[1]["ts"].as_f64().unwrap(), 2.5);
        assert_eq!(x[1]["dur"].as_f64().unwrap(), 1_620.0 / 600.0 - 2.5);
    }

    #[test]
    fn limit_drops_and_counts_and_info_lands_in_other_data() {
        let mut t = Timeline::with_limit(3);
        for k in 0..5 {
            t.run_slice(0, "g", 0, k * 10, k * 10 + 5);
        }
        t.set_info("policy", "on-demand-migration");
        assert_eq!((t.len(), t.dropped()), (3, 2));
        let v = parsed(&t);
        assert_eq!(events(&v, "X").len(), 3);
        assert_eq!(v["otherData"]["dropped_events"], 2);
        assert_eq!(v["otherData"]["policy"], "on-demand-migration");
    }

    #[test]
    fn write_creates_a_file_that_parses_back() {
        let path = std::env::temp_dir().join(format!("rp1-timeline-{}.json", std::process::id()));
        let mut t = Timeline::new();
        t.run_slice(0, "a \"quoted\" guest", 0, 0, 600);
        t.write(&path).unwrap();
        let v: Value = serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
        assert_eq!(events(&v, "X")[0]["name"], "a \"quoted\" guest/vcpu0");
        std::fs::remove_file(&path).unwrap();
        assert!(Timeline::new().write(Path::new("/nonexistent-dir/t.json")).is_err());
        // an empty timeline is still a valid trace
        let v = parsed(&Timeline::new());
        assert_eq!(v["traceEvents"].as_array().unwrap().len(), 0);
    }
}
