//! rp1-sim: a deterministic simulator of the RP1 board (quad-core SH-4A,
//! the SH-X3 prototype Linux supports as CONFIG_SH_X3PROTO).
//!
//! Layout: `cpu` (one SH-4A core: state, decode table, instruction groups,
//! MMU, exceptions), `devices` (one module per peripheral), `bus` (the
//! physical address map that joins them), `machine` (four cores, simulated
//! time, the round-robin scheduler), `loader` (ELF images), `linux_boot`
//! (what a boot loader writes for Linux), `gdb` (remote stub), `report`
//! (the per-core run summary), `trace`, `profile` (where the cores'
//! time goes, sampled), `faults` (deterministic fault injection).
//!
//! Owns: the machine alone. Must not touch: the hypervisor. This crate
//! knows nothing of it and depends on no `spumone-*` crate; the only hook
//! for host code is `machine::Host` (Rust standing in for the handlers at
//! a vector base, `Cpu::host_vbr`), which spumone-hosting uses. The
//! hypervisor crates never depend on this one; spumone-hosting (hosting/)
//! and the `rp1` command (cli/) do.

pub mod cpu;
pub mod devices;
pub mod bus;
pub mod loader;
pub mod linux_boot;
pub mod machine;
pub mod gdb;
pub mod report;
pub mod trace;
pub mod profile;
pub mod faults;
