//! Turning the event log of a hosted run into a Chrome-trace [`Timeline`]
//! (Perfetto, chrome://tracing).
//!
//! The run must have been made with `RunOptions { keep_events: true }`;
//! the log's `(core, cycle, TraceEvent)` entries become, on each core:
//!
//! - `Dispatch`/`Undispatch` of the same (guest, vCPU) on the same core:
//!   one run slice; a slice still open when the run ended closes at
//!   `RunResult::cycles`;
//! - `MigrateOut` then `MigrateIn` of the same (guest, vCPU), paired in
//!   log order: one migration with both halves (each half ends at its
//!   event's cycle and lasted the event's `cycles`);
//! - `Inject`: an interrupt instant on the target vCPU's thread (INTEVT;
//!   the level only when a description says it, else 0);
//! - `Sample` of kind 0 (dispatch latency) and `GuestExit`: marks.
//!
//! Everything is handed to the timeline in order of its start cycle, so a
//! timeline with a size limit keeps the beginning of the run, and each
//! vCPU's thread on a core is numbered by when it first appears. Events
//! that do not pair (an `Undispatch` with no open slice, a
//! migration half whose partner is missing) are kept where that makes
//! sense and counted in the trace's `otherData.unpaired`.
//!
//! Owns: this translation only. Must not touch: the run, the log, the
//! instances, or the timeline's format (timeline.rs).

use crate::description::{Description, InterruptSource};
use crate::runner::RunResult;
use crate::timeline::{cycles_to_us, MigrationEvent, MigrationKind, Timeline};
use spumone_kernel::hypercall::SAMPLE_DISPATCH_LATENCY;
use spumone_percore::hw::TraceEvent;
use std::collections::{BTreeMap, VecDeque};

/// INTEVT of a vCPU's virtual timer (docs/hypercall-abi.md).
const TIMER_INTEVT: u16 = 0x400;
/// INTEVTs of the virtual IPIs, 0xf00 + 0x20 m for m in 0-7.
const IPI_INTEVTS: std::ops::RangeInclusive<u16> = 0xf00..=0xfe0;

/// How to export.
#[derive(Clone, Copy, Debug, Default)]
pub struct Options<'a> {
    /// The description the run was made from: gives interrupt levels (the
    /// level its guest's source has) and the policy for the metadata.
    pub description: Option<&'a Description>,
    /// Keep at most this many trace events (the rest are counted as
    /// dropped in `otherData.dropped_events`).
    pub max_events: Option<usize>,
}

/// Events of the log that had no partner.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Unpaired {
    /// `Undispatch` with no open slice of that vCPU on that core (ignored).
    pub undispatch: u64,
    /// `Dispatch` of a vCPU whose slice on that core was already open
    /// (ignored: the open slice goes on).
    pub dispatch: u64,
    /// `MigrateOut` never followed by a `MigrateIn` (the vCPU was in flight
    /// when the run ended): its source half alone is drawn.
    pub migrate_out: u64,
    /// `MigrateIn` with no earlier `MigrateOut`: its destination half
    /// alone is drawn.
    pub migrate_in: u64,
}

/// The timeline of `result`, without interrupt levels (0) and without a
/// limit on its size.
pub fn timeline(result: &RunResult) -> Timeline {
    timeline_with(result, Options::default())
}

/// The timeline of `result` with `options`.
pub fn timeline_with(result: &RunResult, options: Options<'_>) -> Timeline {
    export(result, options).0
}

/// A source half waiting for its destination half.
#[derive(Clone, Copy)]
struct Out {
    core: u8,
    cycle: u64,
    cycles: u32,
    to: u8,
    departure: bool,
}

fn kind(departure: bool) -> MigrationKind {
    if departure {
        MigrationKind::Departure
    } else {
        MigrationKind::Return
    }
}

/// The timeline and what did not pair.
pub fn export(result: &RunResult, options: Options<'_>) -> (Timeline, Unpaired) {
    let names = &result.guests;
    let name = |g: u8| -> String { names.get(g as usize).cloned().unwrap_or_else(|| format!("guest{g}")) };
    let level = |g: u8, intevt: u16| -> u8 {
        let Some(guest) = options.description.and_then(|d| d.guests.get(g as usize)) else { return 0 };
        let source = if intevt == TIMER_INTEVT {
            InterruptSource::Timer
        } else if IPI_INTEVTS.contains(&intevt) && intevt % 0x20 == 0 {
            InterruptSource::Ipi
        } else {
            // A device the guest owns, seen under its own INTEVT.
            let device = guest.interrupts.iter().find(|i| matches!(i.source, InterruptSource::Device(s) if s.intevt() == intevt));
            return device.map_or(0, |i| i.level);
        };
        guest.level(source).unwrap_or(0)
    };

    let mut unpaired = Unpaired::default();
    let mut items: Vec<Item> = Vec::new();
    // (core, guest, vcpu) -> start cycle of the open run slice
    let mut open: BTreeMap<(u8, u8, u8), u64> = BTreeMap::new();
    // (guest, vcpu) -> source halves not yet received, oldest first
    let mut outs: BTreeMap<(u8, u8), VecDeque<Out>> = BTreeMap::new();

    for &(core, cycle, event) in &result.log.events {
        let core = core as u8;
        match event {
            TraceEvent::Dispatch { guest, vcpu } => {
                if open.contains_key(&(core, guest, vcpu)) {
                    unpaired.dispatch += 1;
                } else {
                    open.insert((core, guest, vcpu), cycle);
                }
            }
            TraceEvent::Undispatch { guest, vcpu } => match open.remove(&(core, guest, vcpu)) {
                Some(start) => items.push(Item::Run { core, guest, vcpu, start, end: cycle }),
                None => unpaired.undispatch += 1,
            },
            TraceEvent::Inject { guest, vcpu, intevt } => {
                items.push(Item::Interrupt { core, guest, vcpu, at: cycle, intevt, level: level(guest, intevt) });
            }
            TraceEvent::MigrateOut { guest, vcpu, to, departure, cycles } => {
                outs.entry((guest, vcpu)).or_default().push_back(Out { core, cycle, cycles, to, departure });
            }
            TraceEvent::MigrateIn { guest, vcpu, from, departure, cycles } => {
                match outs.get_mut(&(guest, vcpu)).and_then(|q| q.pop_front()) {
                    Some(out) => items.push(Item::Migration {
                        guest,
                        vcpu,
                        departure: out.departure,
                        source_core: out.core,
                        destination_core: core,
                        source: (out.cycle.saturating_sub(out.cycles as u64), out.cycle),
                        destination: (cycle.saturating_sub(cycles as u64), cycle),
                    }),
                    None => {
                        unpaired.migrate_in += 1;
                        let label = format!(
                            "{} {}/vcpu{vcpu}: destination half (from core {from}; no source half recorded)",
                            kind(departure).name(),
                            name(guest)
                        );
                        items.push(Item::Hypervisor { core, label, start: cycle.saturating_sub(cycles as u64), end: cycle });
                    }
                }
            }
            TraceEvent::Sample { guest, vcpu, kind: k, value } if k == SAMPLE_DISPATCH_LATENCY => {
                let label =
                    format!("{}/vcpu{vcpu} dispatch latency {:.3} us", name(guest), cycles_to_us(value as u64));
                items.push(Item::Mark { core, label, at: cycle });
            }
            TraceEvent::Sample { .. } => {}
            TraceEvent::GuestExit { guest, status } => {
                items.push(Item::Mark { core, label: format!("{} exits (status {status})", name(guest)), at: cycle });
            }
        }
    }
    // Slices still open run to the end of the run.
    for ((core, guest, vcpu), start) in open {
        items.push(Item::Run { core, guest, vcpu, start, end: result.cycles });
    }
    // vCPUs in flight at the end: only their source half happened.
    for ((guest, vcpu), queue) in outs {
        for out in queue {
            unpaired.migrate_out += 1;
            let label = format!(
                "{} {}/vcpu{vcpu}: source half (to core {}; not received before the end)",
                kind(out.departure).name(),
                name(guest),
                out.to
            );
            items.push(Item::Hypervisor {
                core: out.core,
                label,
                start: out.cycle.saturating_sub(out.cycles as u64),
                end: out.cycle,
            });
        }
    }

    // In order of simulated time (stable: ties keep log order), so that a
    // limited timeline keeps the beginning of the run and each vCPU's
    // thread is numbered by when it first appears.
    items.sort_by_key(Item::start);
    let mut t = match options.max_events {
        Some(max) => Timeline::with_limit(max),
        None => Timeline::new(),
    };
    for item in items {
        match item {
            Item::Run { core, guest, vcpu, start, end } => t.run_slice(core, &name(guest), vcpu as u32, start, end),
            Item::Interrupt { core, guest, vcpu, at, intevt, level } => {
                t.interrupt(core, at, intevt, level, Some((&name(guest), vcpu as u32)))
            }
            Item::Migration { guest, vcpu, departure, source_core, destination_core, source, destination } => {
                t.migration(&MigrationEvent {
                    guest: &name(guest),
                    vcpu: vcpu as u32,
                    kind: kind(departure),
                    source_core,
                    destination_core,
                    source_start_cycles: source.0,
                    source_end_cycles: source.1,
                    destination_start_cycles: destination.0,
                    destination_end_cycles: destination.1,
                })
            }
            Item::Hypervisor { core, label, start, end } => t.hypervisor_slice(core, &label, start, end),
            Item::Mark { core, label, at } => t.mark(core, &label, at),
        }
    }

    t.set_info("run_cycles", result.cycles);
    t.set_info("run_end", format!("{:?}", result.exit));
    t.set_info("guests", result.guests.clone());
    t.set_info("log_events", result.log.events.len());
    t.set_info(
        "unpaired",
        serde_json::json!({
            "undispatch": unpaired.undispatch,
            "dispatch": unpaired.dispatch,
            "migrate_out": unpaired.migrate_out,
            "migrate_in": unpaired.migrate_in,
        }),
    );
    t.set_info("interrupt_levels", if options.description.is_some() { "from the description" } else { "unknown (0)" });
    if let Some(d) = options.description {
        t.set_info("policy", d.hypervisor.policy.name());
        t.set_info("ipl_separation", d.hypervisor.ipl_separation);
        t.set_info("spin_yield", d.hypervisor.spin_yield);
        t.set_info("dispatch_first", d.hypervisor.dispatch_first);
        t.set_info("costs", d.costs.to_table_string());
    }
    (t, unpaired)
}

/// One thing to draw, before it goes into the timeline.
enum Item {
    Run { core: u8, guest: u8, vcpu: u8, start: u64, end: u64 },
    Interrupt { core: u8, guest: u8, vcpu: u8, at: u64, intevt: u16, level: u8 },
    Migration {
        guest: u8,
        vcpu: u8,
        departure: bool,
        source_core: u8,
        destination_core: u8,
        /// (start, end) cycles of each half
        source: (u64, u64),
        destination: (u64, u64),
    },
    Hypervisor { core: u8, label: String, start: u64, end: u64 },
    Mark { core: u8, label: String, at: u64 },
}

impl Item {
    fn start(&self) -> u64 {
        match *self {
            Item::Run { start, .. } | Item::Hypervisor { start, .. } => start,
            Item::Interrupt { at, .. } | Item::Mark { at, .. } => at,
            Item::Migration { source, .. } => source.0,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::hypervisor::Log;
    use rp1_sim::machine::Exit;
    use serde_json::Value;
    use std::time::Duration;

    fn result(events: Vec<(usize, u64, TraceEvent)>, cycles: u64) -> RunResult {
        RunResult {
            exit: Exit::CycleLimit,
            cycles,
            host: Duration::ZERO,
            instructions: 0,
            log: Log { events, keep_events: true, ..Log::default() },
            stats: Vec::new(),
            mailbox: Vec::new(),
            guests: vec!["rtos".into(), "gpos".into()],
            instance_bytes: 0,
            pending_virqs_at_end: 0,
            inside_entry_at_end: Vec::new(),
            mode: crate::runner::Mode::Hosted,
            board: Vec::new(),
            machine_console: String::new(),
            injected: Default::default(),
            jit: None,
        }
    }

    fn json(t: &Timeline) -> Value {
        let mut out = Vec::new();
        t.write_to(&mut out).unwrap();
        serde_json::from_slice(&out).expect("the timeline parses back as JSON")
    }

    fn with_cat<'a>(v: &'a Value, ph: &str, cat: &str) -> Vec<&'a Value> {
        v["traceEvents"].as_array().unwrap().iter().filter(|e| e["ph"] == ph && e["cat"] == cat).collect()
    }

    /// (name, pid, tid, start_cycles, end_cycles) of each run slice, sorted.
    fn slices(v: &Value) -> Vec<(String, u64, u64, u64, u64)> {
        let mut s: Vec<_> = with_cat(v, "X", "run")
            .iter()
            .map(|e| {
                let (start, end) = (e["args"]["start_cycles"].as_u64().unwrap(), e["args"]["end_cycles"].as_u64().unwrap());
                assert_eq!(e["ts"].as_f64().unwrap(), cycles_to_us(start));
                assert_eq!(e["dur"].as_f64().unwrap(), cycles_to_us(end) - cycles_to_us(start));
                (e["name"].as_str().unwrap().to_string(), e["pid"].as_u64().unwrap(), e["tid"].as_u64().unwrap(), start, end)
            })
            .collect();
        s.sort_by_key(|x| (x.1, x.3));
        s
    }

    use TraceEvent::*;

    #[test]
    fn dispatch_pairs_become_exact_run_slices_per_core_and_vcpu() {
        let events = vec![
            (0, 100, Dispatch { guest: 1, vcpu: 0 }),
            (1, 150, Dispatch { guest: 1, vcpu: 1 }),
            (0, 700, Undispatch { guest: 1, vcpu: 0 }),
            (0, 1_300, Dispatch { guest: 0, vcpu: 0 }),
            (1, 2_000, Undispatch { guest: 1, vcpu: 1 }),
            (0, 1_900, Undispatch { guest: 0, vcpu: 0 }),
            (0, 2_500, Dispatch { guest: 1, vcpu: 0 }),
            (0, 3_000, Undispatch { guest: 1, vcpu: 0 }),
        ];
        let (t, unpaired) = export(&result(events, 10_000), Options::default());
        assert_eq!(unpaired, Unpaired::default());
        let v = json(&t);
        assert_eq!(
            slices(&v),
            vec![
                ("gpos/vcpu0".into(), 1, 1001, 100, 700),
                ("rtos/vcpu0".into(), 1, 1003, 1_300, 1_900),
                ("gpos/vcpu0".into(), 1, 1001, 2_500, 3_000),
                ("gpos/vcpu1".into(), 2, 2002, 150, 2_000),
            ]
        );
        for e in with_cat(&v, "X", "run") {
            assert!(e["args"]["guest"] == "gpos" || e["args"]["guest"] == "rtos");
        }
    }

    #[test]
    fn an_open_slice_closes_at_the_end_of_the_run_and_strays_are_counted() {
        let events = vec![
            (2, 400, Undispatch { guest: 0, vcpu: 0 }), // nothing open
            (2, 500, Dispatch { guest: 0, vcpu: 0 }),
            (2, 800, Dispatch { guest: 0, vcpu: 0 }), // already open
            (3, 900, Dispatch { guest: 1, vcpu: 3 }),
        ];
        let (t, unpaired) = export(&result(events, 123_456), Options::default());
        assert_eq!(unpaired, Unpaired { undispatch: 1, dispatch: 1, ..Unpaired::default() });
        let v = json(&t);
        assert_eq!(
            slices(&v),
            vec![("rtos/vcpu0".into(), 3, 3001, 500, 123_456), ("gpos/vcpu3".into(), 4, 4002, 900, 123_456)]
        );
        assert_eq!(v["otherData"]["unpaired"]["undispatch"], 1);
        assert_eq!(v["otherData"]["unpaired"]["dispatch"], 1);
        assert_eq!(v["otherData"]["run_cycles"], 123_456);
    }

    #[test]
    fn migrations_pair_in_order_per_vcpu_with_exact_halves() {
        let events = vec![
            // gpos/vcpu0 departs 0 -> 1 while gpos/vcpu2 departs 2 -> 3
            (0, 20_000, MigrateOut { guest: 1, vcpu: 0, to: 1, departure: true, cycles: 14_940 }),
            (2, 21_000, MigrateOut { guest: 1, vcpu: 2, to: 3, departure: true, cycles: 14_940 }),
            (3, 39_000, MigrateIn { guest: 1, vcpu: 2, from: 2, departure: true, cycles: 16_800 }),
            (1, 40_000, MigrateIn { guest: 1, vcpu: 0, from: 0, departure: true, cycles: 16_800 }),
            // and vcpu0 returns 1 -> 0
            (1, 90_000, MigrateOut { guest: 1, vcpu: 0, to: 0, departure: false, cycles: 22_860 }),
            (0, 100_000, MigrateIn { guest: 1, vcpu: 0, from: 1, departure: false, cycles: 7_200 }),
        ];
        let (t, unpaired) = export(&result(events, 200_000), Options::default());
        assert_eq!(unpaired, Unpaired::default());
        let v = json(&t);
        let halves: Vec<(String, u64, f64, f64, u64, u64)> = with_cat(&v, "X", "migration")
            .iter()
            .map(|e| {
                (
                    e["name"].as_str().unwrap().to_string(),
                    e["pid"].as_u64().unwrap(),
                    e["ts"].as_f64().unwrap(),
                    e["dur"].as_f64().unwrap(),
                    e["args"]["source_half_cycles"].as_u64().unwrap(),
                    e["args"]["destination_half_cycles"].as_u64().unwrap(),
                )
            })
            .collect();
        let us = cycles_to_us;
        assert_eq!(
            halves,
            vec![
                ("departure gpos/vcpu0: source half (to core 1)".into(), 1, us(5_060), us(20_000) - us(5_060), 14_940, 16_800),
                ("departure gpos/vcpu0: destination half (from core 0)".into(), 2, us(23_200), us(40_000) - us(23_200), 14_940, 16_800),
                ("departure gpos/vcpu2: source half (to core 3)".into(), 3, us(6_060), us(21_000) - us(6_060), 14_940, 16_800),
                ("departure gpos/vcpu2: destination half (from core 2)".into(), 4, us(22_200), us(39_000) - us(22_200), 14_940, 16_800),
                ("return gpos/vcpu0: source half (to core 0)".into(), 2, us(67_140), us(90_000) - us(67_140), 22_860, 7_200),
                ("return gpos/vcpu0: destination half (from core 1)".into(), 1, us(92_800), us(100_000) - us(92_800), 22_860, 7_200),
            ]
        );
        // in order of the source half's start; every migration has its flow
        // arrow, source to destination
        let flows = |ph: &str| -> Vec<u64> {
            v["traceEvents"].as_array().unwrap().iter().filter(|e| e["ph"] == ph).map(|e| e["pid"].as_u64().unwrap()).collect()
        };
        assert_eq!((flows("s"), flows("f")), (vec![1, 3, 2], vec![2, 4, 1]));
    }

    #[test]
    fn unpaired_migration_halves_are_drawn_alone_and_counted() {
        let events = vec![
            (1, 5_000, MigrateIn { guest: 1, vcpu: 1, from: 0, departure: false, cycles: 7_200 }),
            (0, 50_000, MigrateOut { guest: 1, vcpu: 0, to: 1, departure: true, cycles: 14_940 }),
        ];
        let (t, unpaired) = export(&result(events, 60_000), Options::default());
        assert_eq!(unpaired, Unpaired { migrate_in: 1, migrate_out: 1, ..Unpaired::default() });
        let v = json(&t);
        let hv = with_cat(&v, "X", "hypervisor");
        assert_eq!(hv.len(), 2);
        assert_eq!(hv[0]["name"], "return gpos/vcpu1: destination half (from core 0; no source half recorded)");
        assert_eq!(hv[0]["pid"], 2);
        assert_eq!(hv[0]["ts"].as_f64().unwrap(), 0.0);
        assert_eq!(hv[1]["name"], "departure gpos/vcpu0: source half (to core 1; not received before the end)");
        assert_eq!(hv[1]["ts"].as_f64().unwrap(), cycles_to_us(35_060));
        assert_eq!(hv[1]["dur"].as_f64().unwrap(), cycles_to_us(50_000) - cycles_to_us(35_060));
        assert!(with_cat(&v, "X", "migration").is_empty());
    }

    #[test]
    fn injections_are_interrupts_and_latency_samples_are_marks() {
        let events = vec![
            (0, 600, Inject { guest: 0, vcpu: 0, intevt: 0x400 }),
            (1, 1_200, Inject { guest: 1, vcpu: 1, intevt: 0xf40 }),
            (0, 1_800, Sample { guest: 0, vcpu: 0, kind: 0, value: 1_380 }),
            (1, 1_900, Sample { guest: 1, vcpu: 1, kind: 1, value: 7 }),
            (0, 2_400, GuestExit { guest: 0, status: 0 }),
        ];
        let r = result(events, 3_000);
        let v = json(&timeline(&r));
        let irq = with_cat(&v, "i", "interrupt");
        assert_eq!(irq.len(), 2);
        assert_eq!(irq[0]["name"], "interrupt 0x400");
        assert_eq!(irq[0]["ts"].as_f64().unwrap(), 1.0);
        assert_eq!((irq[0]["pid"].as_u64(), irq[0]["tid"].as_u64()), (Some(1), Some(1001)));
        assert_eq!(irq[0]["args"]["guest"], "rtos");
        assert_eq!(irq[0]["args"]["level"], 0); // not known without the description
        assert_eq!(irq[1]["args"]["intevt"], "0xf40");
        assert_eq!(irq[1]["args"]["vcpu"], 1);
        assert_eq!((irq[1]["pid"].as_u64(), irq[1]["tid"].as_u64()), (Some(2), Some(2002)));
        let marks = with_cat(&v, "i", "mark");
        let names: Vec<&str> = marks.iter().map(|m| m["name"].as_str().unwrap()).collect();
        assert_eq!(names, ["rtos/vcpu0 dispatch latency 2.300 us", "rtos exits (status 0)"]);
        assert_eq!(marks[0]["ts"].as_f64().unwrap(), 3.0);
        assert_eq!(marks[0]["tid"], 1000);
        assert_eq!(v["otherData"]["interrupt_levels"], "unknown (0)");

        // with the description, the levels are the ones it gives
        let text = r#"
            [hypervisor]
            policy = "trap-migration"
            [[guest]]
            name = "rtos"
            class = "rtos"
            priority = 10
            image = "r.elf"
            partition = { base = 0x08800000, size = 0x00800000 }
            vcpus = [{ core = 0 }]
            interrupts = [{ source = "timer", level = 12 }]
            [[guest]]
            name = "gpos"
            class = "gpos"
            priority = 1
            image = "g.elf"
            partition = { base = 0x09000000, size = 0x01000000 }
            vcpus = [{ core = 0 }, { core = 1 }]
            interrupts = [{ source = "timer", level = 5 }, { source = "ipi", level = 6 }]
        "#;
        let d = crate::description::parse(text, std::path::Path::new(".")).unwrap();
        let v = json(&timeline_with(&r, Options { description: Some(&d), max_events: None }));
        let irq = with_cat(&v, "i", "interrupt");
        assert_eq!((irq[0]["args"]["level"].as_u64(), irq[1]["args"]["level"].as_u64()), (Some(12), Some(6)));
        assert_eq!(v["otherData"]["policy"], "trap-migration");
    }

    #[test]
    fn the_written_file_parses_back_and_the_limit_counts_drops() {
        let mut events = Vec::new();
        for k in 0..10u64 {
            events.push((0, k * 1_000, Dispatch { guest: 1, vcpu: 0 }));
            events.push((0, k * 1_000 + 500, Undispatch { guest: 1, vcpu: 0 }));
        }
        let r = result(events, 20_000);
        let path = std::env::temp_dir().join(format!("rp1-trace-export-{}.json", std::process::id()));
        timeline(&r).write(&path).unwrap();
        let v: Value = serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
        std::fs::remove_file(&path).unwrap();
        assert_eq!(slices(&v).len(), 10);
        assert_eq!(v["otherData"]["log_events"], 20);
        let limited = timeline_with(&r, Options { description: None, max_events: Some(4) });
        assert_eq!((limited.len(), limited.dropped()), (4, 6));
        // an empty log is still a valid, empty trace
        let v = json(&timeline(&result(Vec::new(), 0)));
        assert!(v["traceEvents"].as_array().unwrap().is_empty());
    }
}
