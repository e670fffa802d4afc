//! spumone-hosting: the hypervisor hosted on the simulated RP1, and the
//! host-side (std) tools around a hosted run.
//!
//! Owns: hosting the `spumone-percore` instances on the machine
//! (`hypervisor`: one instance per core, entered through the machine's
//! `Host` hook at the hypervisor's vector base; `core_hw`: `SimCore`, the
//! instance's `CoreHardware` on one simulated core), machine descriptions
//! (`description`), running one (`runner`), and what a run produces: the
//! text report (`report`), SVG charts (`charts`), Chrome-trace timelines
//! (`timeline`, `trace_export`), where the board image's time goes
//! (`profile`).
//!
//! Must not touch: the machine's insides (it uses `rp1-sim`'s public API
//! only: the bus, the cores' registers, the `Host` hook, the loader), or an
//! instance's decisions (the hypervisor crates' public API only). It builds
//! no guests and runs no external tools: the guest builders and the
//! experiments are the `rp1` crate's (cli/).

pub mod description;
pub mod charts;
pub mod timeline;
pub mod core_hw;
pub mod hypervisor;
pub mod native;
pub mod profile;
pub mod report;
pub mod runner;
pub mod trace_export;
