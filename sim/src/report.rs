//! The per-core summary printed after a run: what each core executed, the
//! exceptions and interrupts it took, simulated and host time, and every
//! bus fault (an access nothing answered).

use crate::devices::cpg::CPU_HZ;
use crate::machine::{Exit, Machine};
use std::fmt::Write;
use std::time::Duration;

pub fn summary(m: &Machine, exit: Exit, host: Duration) -> String {
    let mut s = String::new();
    let total: u64 = m.cpus.iter().map(|c| c.stats.instructions).sum();
    let secs = host.as_secs_f64();
    let _ = writeln!(s, "\n--- rp1 summary: {exit}");
    let _ = writeln!(
        s,
        "simulated time {:.6} s ({} cycles at {} MHz); host time {:.3} s; {} instructions, {:.1} MIPS",
        m.now as f64 / CPU_HZ as f64,
        m.now,
        CPU_HZ / 1_000_000,
        secs,
        total,
        if secs > 0.0 { total as f64 / secs / 1e6 } else { 0.0 }
    );
    match m.bus.jit_stats() {
        Some(j) => {
            let _ = writeln!(s, "tier: jit, {j}");
        }
        None => {
            let _ = writeln!(s, "tier: interp");
        }
    }
    let lat = &m.bus.latency;
    let _ = writeln!(
        s,
        "timing: 1 cycle per instruction, extra cycles per access: DRAM +{}, CSM +{}, local memory +{}, devices +{}; quantum {} cycles",
        lat.dram, lat.csm, lat.local, lat.mmio, m.config.quantum
    );
    let rounds = m.rounds;
    let _ = writeln!(
        s,
        "rounds: {}, {} of them passed with no look at their end (one core running alone, or none)",
        rounds.looked + rounds.passed,
        rounds.passed
    );
    let _ = writeln!(s, "core  state     instructions        cycles  exceptions  interrupts  tlb-misses  sleeps  pc");
    for c in &m.cpus {
        let state = if c.halted {
            "reset"
        } else if c.sleeping {
            "asleep"
        } else {
            "running"
        };
        let st = &c.stats;
        let _ = writeln!(
            s,
            "{:>4}  {:<8} {:>13} {:>13} {:>11} {:>11} {:>11} {:>7}  {:#010x}",
            c.id, state, st.instructions, c.cycles, st.exceptions, st.interrupts, st.tlb_misses, st.sleeps, c.pc
        );
    }
    let _ = writeln!(s, "console: {} bytes on SCIF0", m.console_bytes);
    if m.bus.fault_count > 0 {
        let _ = writeln!(s, "bus faults: {} (accesses nothing answered; first ones below)", m.bus.fault_count);
        for f in &m.bus.faults {
            let _ = writeln!(
                s,
                "  core {} cycle {}: {} of {} bytes at {:#010x}",
                f.core,
                f.cycle,
                if f.write { "write" } else { "read" },
                f.size.bytes(),
                f.addr
            );
        }
    }
    s
}
