//! What `rp1 run` and `rp1 hv` tell a user about hostile input: a trace
//! that streams with bounded memory, guest images refused before boot,
//! guest faults and double faults reported in words with hex addresses,
//! description errors that stay short.
//!
//! The guests are a few instructions assembled by hand below, so these
//! tests need no cross compiler; the `rp1 hv` ones without `--hosted` need
//! the board image (`scripts/build-hv.sh`, built on demand).
//!
//! Owns: these tests and their scratch directories (under the system's
//! temp dir). Must not touch: the repository's files.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// A fresh scratch directory for one test, removed when it ends.
struct Scratch(PathBuf);

impl std::ops::Deref for Scratch {
    type Target = Path;
    fn deref(&self) -> &Path {
        &self.0
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn scratch(test: &str) -> Scratch {
    let dir = std::env::temp_dir().join(format!("rp1-diag-{}-{test}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    Scratch(dir)
}

const RP1: &str = env!("CARGO_BIN_EXE_rp1");

fn rp1(args: &[&str]) -> Output {
    Command::new(RP1).args(args).output().expect("run rp1")
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// A little-endian SuperH ELF32 executable: one loadable segment holding
/// `code` (16-bit words) at virtual `vaddr` (physical `vaddr & 0x1fffffff`),
/// entered at `entry`.
fn sh_elf(vaddr: u32, entry: u32, code: &[u16]) -> Vec<u8> {
    let bytes: Vec<u8> = code.iter().flat_map(|w| w.to_le_bytes()).collect();
    let mut f = vec![0x7f, b'E', b'L', b'F', 1, 1, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0];
    for half in [2u16, 42] {
        f.extend_from_slice(&half.to_le_bytes()); // ET_EXEC, EM_SH
    }
    for word in [1u32, entry, 52, 0, 0] {
        f.extend_from_slice(&word.to_le_bytes()); // version, entry, phoff, shoff, flags
    }
    for half in [52u16, 32, 1, 40, 0, 0] {
        f.extend_from_slice(&half.to_le_bytes());
    }
    let len = bytes.len() as u32;
    for word in [1u32, 84, vaddr, vaddr & 0x1fff_ffff, len, len, 5, 4] {
        f.extend_from_slice(&word.to_le_bytes()); // PT_LOAD at file offset 84
    }
    f.extend_from_slice(&bytes);
    f
}

// ----- rp1 run --trace -----

/// `bra .; nop` at P1 0x88000000.
fn spin_image(dir: &Path) -> PathBuf {
    let path = dir.join("spin.elf");
    std::fs::write(&path, sh_elf(0x8800_0000, 0x8800_0000, &[0xaffe, 0x0009])).unwrap();
    path
}

/// The trace used to be collected for a whole 20-million-cycle slice
/// before any of it was written: 32 bytes an instruction, 630 MB for one
/// busy core, and `rp1 run` aborted when memory ran out. It is streamed
/// now: 4 million traced instructions run in 64 MiB of address space.
#[test]
fn the_trace_streams_in_bounded_memory() {
    let dir = scratch("trace-memory");
    let image = spin_image(&dir);
    let cmd = format!(
        "ulimit -v 65536 && exec '{RP1}' run --cores 1 --mem 1 --max-cycles 4000000 --trace /dev/null --quiet '{}'",
        image.display()
    );
    let o = Command::new("sh").arg("-c").arg(&cmd).output().expect("sh");
    assert_eq!(o.status.code(), Some(124), "{}", stderr(&o));
    assert_eq!(stderr(&o), "rp1: stopped at the cycle limit (4000000 cycles)\n");
}

/// What is streamed is the trace, every instruction in order, and tracing
/// changes nothing that is simulated.
#[test]
fn the_streamed_trace_has_every_instruction() {
    let dir = scratch("trace-content");
    let image = spin_image(&dir);
    let trace = dir.join("t.txt");
    let args = ["run", "--cores", "1", "--mem", "1", "--max-cycles", "20000", "--quantum", "5000"];
    let o = rp1(&[&args[..], &["--trace", trace.to_str().unwrap(), image.to_str().unwrap()]].concat());
    assert_eq!(o.status.code(), Some(124), "{}", stderr(&o));
    let text = std::fs::read_to_string(&trace).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines[0].split_whitespace().collect::<Vec<_>>(), ["0", "c0", "88000000", "affe", "BRA", "label"]);
    assert_eq!(lines[1].split_whitespace().collect::<Vec<_>>(), ["1", "c0", "88000002", "0009", "NOP"]);
    for pair in lines.windows(2) {
        let cycle = |l: &str| l.split_whitespace().next().unwrap().parse::<u64>().unwrap();
        assert!(cycle(pair[0]) < cycle(pair[1]), "{pair:?}");
    }
    // The summary's instruction count is the number of trace lines, and
    // the same run without a trace has the same counts.
    let summary = |o: &Output| stderr(o).lines().find(|l| l.trim_start().starts_with("0  running")).map(str::to_string);
    let untraced = rp1(&[&args[..], &[image.to_str().unwrap()]].concat());
    assert_eq!(summary(&o), summary(&untraced));
    let row = summary(&o).unwrap_or_else(|| panic!("{}", stderr(&o)));
    assert_eq!(row.split_whitespace().nth(2), Some(lines.len().to_string().as_str()), "{row}");
}

/// A trace that cannot be written ends the run as bad output, with the
/// file named, not silently.
#[test]
fn a_trace_that_cannot_be_written_is_an_error() {
    if !Path::new("/dev/full").exists() {
        eprintln!("note: no /dev/full here; skipping");
        return;
    }
    let dir = scratch("trace-full");
    let image = spin_image(&dir);
    let o = rp1(&["run", "--cores", "1", "--mem", "1", "--max-cycles", "100000", "--trace", "/dev/full", image.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert_eq!(stderr(&o), "rp1: --trace /dev/full: No space left on device (os error 28)\n");
}
