//! rp1-sim: a deterministic simulator of the RP1 board (quad-core SH-4A,
//! the SH-X3 prototype Linux supports as CONFIG_SH_X3PROTO).
//!
//! Layout: `cpu` (one SH-4A core: state, decode table, instruction groups,
//! MMU, exceptions), `devices` (one module per peripheral), `bus` (the
//! physical address map that joins them), `machine` (four cores, simulated
//! time, the round-robin scheduler), `loader` (ELF images), `gdb` (remote
//! stub), `trace`. The hypervisor crates never depend on this one.

pub mod cpu;
pub mod devices;
pub mod bus;
pub mod loader;
pub mod linux_boot;
pub mod machine;
pub mod gdb;
pub mod report;
pub mod trace;
pub mod hosting;
