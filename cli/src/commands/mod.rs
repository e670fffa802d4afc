//! The `rp1` subcommands, one module each: `Args` (its options, parsed by
//! clap) and `main` (runs it, prints, returns the exit status). Part of
//! the binary, not of the `rp1` library.

pub mod bench;
pub mod demo;
pub mod hv;
pub mod lhp;
pub mod linux;
pub mod output;
pub mod run;
