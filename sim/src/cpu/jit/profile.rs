//! What host tools can learn of each translation: its guest address in
//! `perf`'s map of JIT code, and a listing of its IR and host code.
//!
//! Why: translated code is most of a run's host time (about 60 % on the
//! latency job's steady state, docs/benchmarks.md), and a profiler sees
//! it only as nameless code. Named by the guest PC its run starts at, a
//! `perf report` of any `rp1` command says which guest code the time
//! went to; the listing shows what that code became.
//!
//! - **perf:** `perf record` gives the programs it runs `PERF_BUILDID_DIR`,
//!   and where it is set Cranelift writes `/tmp/perf-<pid>.map` with each
//!   function's name; translations are then declared with a name
//!   (`sh4@<pc>+<words>w#<n>`) instead of anonymously.
//! - **Listing:** `RP1_JIT_LISTING=<file>` appends, for every
//!   translation, its PC, words, effort, Cranelift IR and host code.
//!   Compiling then also disassembles, so it is for looking, not timing;
//!   one machine at a time (every machine of the process appends).
//!
//! Neither changes what a translation does: only its name and what is
//! written beside it.
//!
//! Owns: the names and the listing file. Must not touch: translations'
//! code (`translate`), the tier's bookkeeping (`mod.rs`).

use std::fs::File;
use std::io::Write;

/// The environment variable naming the listing file.
pub const LISTING_VAR: &str = "RP1_JIT_LISTING";
/// Set by `perf record` (and `perf trace`) for the command it runs:
/// Cranelift writes its perf map only where it is set.
const PERF_VAR: &str = "PERF_BUILDID_DIR";

/// What one compiler (`translate::Translator`) tells host tools.
#[derive(Default)]
pub(super) struct Profiling {
    /// Translations get names (perf is running us).
    named: bool,
    /// Where listings go, if asked for; `None` also after a write failed
    /// (reported once on stderr: the run goes on).
    listing: Option<File>,
    /// Translations named so far: names must be unique in a module, and a
    /// run at one PC may be compiled again (after a store or a flush).
    count: u64,
}

impl Profiling {
    /// As the environment asks. A listing file that cannot be opened is
    /// reported on stderr, and the run goes on without it.
    pub fn from_env() -> Profiling {
        let listing = std::env::var_os(LISTING_VAR).and_then(|path| {
            File::options()
                .create(true)
                .append(true)
                .open(&path)
                .map_err(|e| eprintln!("rp1: {LISTING_VAR}={}: {e}; no listing", path.to_string_lossy()))
                .ok()
        });
        Profiling { named: std::env::var_os(PERF_VAR).is_some(), listing, count: 0 }
    }

    /// With a listing going to `file` (tests).
    #[cfg(test)]
    pub fn listing_to(file: File) -> Profiling {
        Profiling { named: false, listing: Some(file), count: 0 }
    }

    /// Naming translations, as under perf (tests).
    #[cfg(test)]
    pub fn named() -> Profiling {
        Profiling { named: true, listing: None, count: 0 }
    }

    /// The name for the translation of `words` words from guest `pc`, if
    /// translations are named.
    pub fn name(&mut self, pc: u32, words: usize) -> Option<String> {
        self.named.then(|| {
            self.count += 1;
            translation_name(pc, words, self.count)
        })
    }

    /// Whether the compiler should keep the host code's disassembly.
    pub fn wants_disassembly(&self) -> bool {
        self.listing.is_some()
    }

    /// Append one translation's listing: `ir` before compiling, `host`
    /// the disassembly after.
    pub fn list(&mut self, pc: u32, words: usize, effort: &str, bytes: usize, ir: &str, host: &str) {
        let Some(file) = &mut self.listing else { return };
        let text = format!(
            "=== translation at {pc:#010x}: {words} words, effort {effort}, {bytes} bytes of host code\n{ir}--- host code\n{host}\n"
        );
        if let Err(e) = file.write_all(text.as_bytes()) {
            eprintln!("rp1: {LISTING_VAR}: {e}; no more listing");
            self.listing = None;
        }
    }
}

/// `sh4@<pc>+<words>w#<n>`: the guest PC the run starts at, its length
/// in words and the translation's number, which keeps names unique.
fn translation_name(pc: u32, words: usize, n: u64) -> String {
    format!("sh4@{pc:08x}+{words}w#{n}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_carry_the_guest_pc_and_length_and_differ_per_translation() {
        let mut p = Profiling::named();
        assert_eq!(p.name(0x8800_1fc6, 29).as_deref(), Some("sh4@88001fc6+29w#1"));
        assert_eq!(p.name(0x8800_1fc6, 29).as_deref(), Some("sh4@88001fc6+29w#2"));
        let mut quiet = Profiling::default();
        assert_eq!(quiet.name(0x8800_1fc6, 29), None);
        assert!(!quiet.wants_disassembly());
    }
}
