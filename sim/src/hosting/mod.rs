//! Host-side (std) support for running the hypervisor hosted on the simulator.

pub mod description;
pub mod charts;
pub mod timeline;
pub mod core_hw;
pub mod hypervisor;
pub mod report;
pub mod runner;
pub mod trace_export;
