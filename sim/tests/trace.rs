//! The trace (`Config::trace`): streamed to a writer as it is produced, in
//! bounded memory whatever the quantum, without changing the run.

use rp1_sim::cpu::{OpTable, Stop, TRACE_CHUNK};
use rp1_sim::machine::{Config, Exit, Machine};
use std::io::Write;
use std::sync::{Arc, Mutex};

/// `bra .; nop` at P1 0x88000000, core 0 there.
fn spinning(config: Config) -> Machine {
    let mut m = Machine::new(config).unwrap();
    let code: Vec<u8> = [0xAFFEu16, 0x0009].iter().flat_map(|w| w.to_le_bytes()).collect();
    m.bus.load(0, rp1_sim::bus::DRAM_BASE, &code).unwrap();
    m.cpus[0].reset(0x8800_0000);
    m
}

/// Keeps what is written, and the most bytes one `write` call brought.
#[derive(Clone, Default)]
struct Sink(Arc<Mutex<Vec<u8>>>);

impl Write for Sink {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[test]
fn run_stops_when_the_trace_buffer_is_full_and_resumes_where_it_stopped() {
    let mut m = spinning(Config { cores: 1, trace: true, ..Config::default() });
    let table = OpTable::new();
    let cpu = &mut m.cpus[0];
    assert_eq!(cpu.run(&mut m.bus, &table, 1_000_000), Stop::TraceFull);
    assert_eq!(cpu.trace.as_ref().unwrap().len(), TRACE_CHUNK);
    let at = (cpu.pc, cpu.cycles, cpu.stats.instructions);
    cpu.trace.as_mut().unwrap().clear();
    assert_eq!(cpu.run(&mut m.bus, &table, at.1 + 10), Stop::Limit);
    assert_eq!(cpu.stats.instructions, at.2 + cpu.trace.as_ref().unwrap().len() as u64);
}

/// One core runs a million cycles in one round (quantum 10^6): the trace
/// used to be held for the whole round. Now the core's buffer never grows
/// past `TRACE_CHUNK` events, nothing collects in `Machine::trace`, and
/// the written trace is the one `Machine::trace` collects without a writer.
#[test]
fn a_streamed_trace_needs_bounded_memory_and_is_the_collected_one() {
    let config = Config { cores: 1, quantum: 1_000_000, trace: true, ..Config::default() };
    let mut streamed = spinning(config.clone());
    let sink = Sink::default();
    streamed.trace_to(Box::new(sink.clone()));
    assert_eq!(streamed.run(1_000_000), Exit::CycleLimit);
    streamed.finish_trace().unwrap();
    assert!(streamed.trace.is_empty());
    let capacity = streamed.cpus[0].trace.as_ref().unwrap().capacity();
    assert_eq!(capacity, TRACE_CHUNK + 16, "the core's trace buffer grew to {capacity} events");
    // docs/simulator.md: 32 bytes an event, 128 KiB a core.
    assert_eq!(std::mem::size_of::<rp1_sim::cpu::TraceEvent>(), 32);

    let mut collected = spinning(config);
    assert_eq!(collected.run(1_000_000), Exit::CycleLimit);
    let mut want = String::new();
    for ev in &collected.trace {
        want.push_str(&rp1_sim::trace::format_event(ev, collected.table()));
        want.push('\n');
    }
    let got = String::from_utf8(sink.0.lock().unwrap().clone()).unwrap();
    assert_eq!(got.lines().count() as u64, collected.cpus[0].stats.instructions);
    assert!(got == want, "the streamed trace differs from the collected one");
    assert_eq!(streamed.cpus[0].cycles, collected.cpus[0].cycles);
}

/// A writer that fails: the error is kept (the first one) and writing
/// stops; the run itself goes on.
#[test]
fn a_failing_trace_writer_is_reported_not_fatal() {
    struct Full;
    impl Write for Full {
        fn write(&mut self, _: &[u8]) -> std::io::Result<usize> {
            Err(std::io::Error::new(std::io::ErrorKind::StorageFull, "disk full"))
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }
    let mut m = spinning(Config { cores: 1, trace: true, ..Config::default() });
    m.trace_to(Box::new(Full));
    assert_eq!(m.run(20_000), Exit::CycleLimit);
    assert_eq!(m.trace_error().map(|e| e.to_string()), Some("disk full".to_string()));
    assert_eq!(m.finish_trace().map_err(|e| e.to_string()), Err("disk full".to_string()));
}
