//! Where the board image's time goes: a run's PC samples (`rp1_sim::profile`)
//! in the image's code, named by the image's own symbols, beside how much
//! of each core's time the hypervisor, the guests and sleep took; and the
//! guests' samples, core by core, named by the guests' images' symbols.
//!
//! Owns: the image's and the guests' code ranges and symbol tables, and the
//! profile's text.
//! Must not touch: the run (`runner::run_profiled` samples it) or the
//! image's build.
//!
//! Every figure is measured: samples of the simulated cores, one per core
//! per round (a quantum of 1,000 cycles, or less at a device event), so a
//! share is exact to about a sample in a thousand of the run, and a
//! function's share of the hypervisor's samples is its share of the
//! hypervisor's time to within the sampling error.

use object::{Object, ObjectSegment, ObjectSymbol, SymbolKind};
use rp1_sim::profile::PcProfile;
use std::fmt::Write as _;
use std::path::Path;

/// The board image's code: where it runs, and its functions by address.
pub struct ImageCode {
    pub start: u32,
    pub end: u32,
    /// (address, name), sorted by address.
    symbols: Vec<(u32, String)>,
}

impl ImageCode {
    /// Read the executable segments and function symbols of `image`. An
    /// error does not name the file: the caller does, as its error wants.
    pub fn read(image: &Path) -> Result<ImageCode, String> {
        let bytes = rp1_sim::loader::read_image(image).map_err(|e| e.to_string())?;
        let elf = object::File::parse(&*bytes).map_err(|e| e.to_string())?;
        let (mut start, mut end) = (u32::MAX, 0u32);
        for seg in elf.segments() {
            let flags = match seg.flags() {
                object::SegmentFlags::Elf { p_flags } => p_flags,
                _ => 0,
            };
            if flags & object::elf::PF_X != 0 && seg.size() > 0 {
                start = start.min(seg.address() as u32);
                end = end.max((seg.address() + seg.size()) as u32);
            }
        }
        if start >= end {
            return Err("no executable segment".to_string());
        }
        // Functions with their sizes, and the labels assembly code gives
        // its entry points without a type or a size (Linux's exception
        // entry, the board's stubs: STT_NOTYPE in a code section), which
        // would otherwise be counted in the function before them.
        let mut symbols: Vec<(u32, String)> = elf
            .symbols()
            .filter(|s| match s.kind() {
                SymbolKind::Text => s.size() > 0,
                SymbolKind::Unknown | SymbolKind::Label => {
                    matches!(s.section(), object::SymbolSection::Section(_)) && (start..end).contains(&(s.address() as u32))
                }
                _ => false,
            })
            .filter_map(|s| Some((s.address() as u32, readable(s.name().ok().filter(|n| !n.is_empty() && !n.starts_with('$'))?))))
            .collect();
        symbols.sort();
        Ok(ImageCode { start, end, symbols })
    }

    /// The function `pc` is in (the nearest symbol at or below it).
    pub fn name_of(&self, pc: u32) -> String {
        match self.symbols.partition_point(|(a, _)| *a <= pc) {
            0 => format!("{pc:#010x}"),
            i => self.symbols[i - 1].1.clone(),
        }
    }

    /// An empty profile of this code for `cores` cores.
    pub fn profile(&self, cores: usize) -> PcProfile {
        PcProfile::new(self.start, self.end, cores)
    }

    fn contains(&self, pc: u32) -> bool {
        (self.start..self.end).contains(&pc)
    }
}

/// The code a profiled run ran: the board image's and each guest's.
pub struct RunCode {
    pub image: ImageCode,
    /// (guest name, its images' code), in the description's order.
    pub guests: Vec<(String, Vec<ImageCode>)>,
}

impl RunCode {
    /// What a guest's sample at `pc` was running: "guest: function" by the
    /// first guest image whose code holds it, else user space (a PC below
    /// P1: a guest's user program, which its images do not name) or code
    /// no image names.
    pub fn guest_name_of(&self, pc: u32) -> String {
        for (guest, images) in &self.guests {
            if let Some(code) = images.iter().find(|c| c.contains(pc)) {
                return format!("{guest}: {}", code.name_of(pc));
            }
        }
        if pc < 0x8000_0000 { "(user space)".to_string() } else { "(no image's code)".to_string() }
    }
}

/// A function's name as a reader wants it: wasm2c names a Rust function
/// `w2c_` + its mangled (v0) symbol, which is demangled without the crate
/// hashes (`<spumone_percore::instance::Instance>::nothing_due`, generics
/// and all); any other name (`w2c_hv_enter`, the C runtime's, the
/// stubs') is kept as it is.
fn readable(name: &str) -> String {
    let Some(mangled) = name.strip_prefix("w2c_").filter(|m| m.starts_with("_R")) else { return name.to_string() };
    match rustc_demangle::try_demangle(mangled) {
        Ok(d) => format!("{d:#}"),
        Err(_) => name.to_string(),
    }
}

/// The profile as text: each core's time in the hypervisor, in guests and
/// asleep, then the hypervisor's `top` functions by samples, then the
/// guests' `top` functions by samples on each core.
pub fn render(profile: &PcProfile, run: &RunCode, top: usize) -> String {
    let code = &run.image;
    let mut out = String::new();
    let pct = |n: u64, of: u64| if of == 0 { 0.0 } else { n as f64 * 100.0 / of as f64 };
    let _ = writeln!(
        out,
        "where the cores' time went (measured: each core's PC sampled at the end of every round, {} samples)",
        profile.total()
    );
    let _ = writeln!(out, "core  hypervisor   guests   asleep");
    for core in 0..profile.inside.len() {
        let all = profile.inside[core] + profile.outside[core] + profile.asleep[core];
        let _ = writeln!(
            out,
            "{core:>4}  {:>9.1} %  {:>5.1} %  {:>5.1} %",
            pct(profile.inside[core], all),
            pct(profile.outside[core], all),
            pct(profile.asleep[core], all)
        );
    }
    let inside: u64 = profile.inside.iter().sum();
    let _ = writeln!(out, "\nhypervisor functions ({inside} samples in the image's code {:#010x}-{:#010x}):", code.start, code.end);
    let _ = writeln!(out, "  samples  share  function");
    for (name, n) in profile.by(|pc| code.name_of(pc)).into_iter().take(top) {
        let _ = writeln!(out, "  {n:>7}  {:>4.1} %  {name}", pct(n, inside));
    }
    let outside: u64 = profile.outside.iter().sum();
    let cores = profile.outside.len();
    let _ = writeln!(out, "\nguest functions ({outside} samples of running guest code; by core, then all cores):");
    let header: String = (0..cores).map(|c| format!("  core {c}")).collect();
    let _ = writeln!(out, "{header}  samples  share  function");
    for (name, per_core) in profile.outside_by(|pc| run.guest_name_of(pc)).into_iter().take(top) {
        let n: u64 = per_core.iter().sum();
        let columns: String = per_core.iter().map(|c| format!("  {c:>6}")).collect();
        let _ = writeln!(out, "{columns}  {n:>7}  {:>4.1} %  {name}", pct(n, outside));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::readable;

    #[test]
    fn wasm2c_names_of_rust_functions_are_demangled_and_others_kept() {
        // As they are in today's image (a method, and a generic one).
        assert_eq!(
            readable("w2c__RNvMs1_NtCs44pPcDfbyCB_15spumone_percore8instanceNtB5_8Instance16forwards_quietly"),
            "<spumone_percore::instance::Instance>::forwards_quietly"
        );
        assert_eq!(
            readable("w2c__RINvMs2_NtCs44pPcDfbyCB_15spumone_percore8instanceNtB6_8Instance9take_ipisNtNtCskMWtRJruGa4_13spumone_board10board_core4LentEB1e_"),
            "<spumone_percore::instance::Instance>::take_ipis::<spumone_board::board_core::Lent>"
        );
        assert_eq!(readable("w2c__RNvNtCs6VDZWQTR7g_4core3fmt5write"), "core::fmt::write");
        for kept in ["w2c_hv_enter", "memcpy", "i64_load.isra.0", "Z_spumoneZ_hv_enter", "w2c__Rnot_a_symbol"] {
            assert_eq!(readable(kept), kept);
        }
    }
}
