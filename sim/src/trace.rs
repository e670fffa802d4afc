//! Text form of trace events (`rp1 run --trace FILE`). Tracing is off by
//! default and then costs one branch per instruction.

use crate::cpu::{OpTable, TraceEvent};

pub fn format_event<B: crate::cpu::Bus>(ev: &TraceEvent, table: &OpTable<B>) -> String {
    match *ev {
        TraceEvent::Instruction { core, cycle, pc, opcode } => {
            format!("{cycle:>12} c{core} {pc:08x}  {opcode:04x}  {}", table.mnemonic(opcode))
        }
        TraceEvent::Exception { core, cycle, pc, expevt } => {
            format!("{cycle:>12} c{core} {pc:08x}  exception EXPEVT={expevt:#05x}")
        }
        TraceEvent::Interrupt { core, cycle, pc, intevt, level } => {
            format!("{cycle:>12} c{core} {pc:08x}  interrupt INTEVT={intevt:#05x} level {level}")
        }
    }
}
