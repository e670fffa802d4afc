//! The board image itself (issue 9, docs/board-image.md): it builds from
//! nothing to the same bytes; every byte of an instance's state is in its
//! core's URAM, as the image's own symbols say; and a guest on another
//! core cannot reach a core's URAM, directly (the RP1 refuses it) or
//! through a hypercall (the hypervisor does). Booting the image with `rp1
//! run` alone and refusing bad boot blocks is cli/tests/board_boot.rs;
//! the simulator's refusal of another core's URAM access, sim/src/bus.rs.
//!
//! Owns: these checks. Must not touch: the build script, the image's
//! sources, the guests.

use object::{Object, ObjectSection, ObjectSymbol, SectionFlags};
use rp1::hvguests::build_guest;
use rp1::lhp::{Scenario, RTOS_BASE};
use rp1_sim::bus::{URAM_BASE, URAM_SIZE};
use rp1_sim::machine::Exit;
use spumone_hosting::description::{self, Policy};
use spumone_hosting::runner::{self, RunOptions};
use spumone_percore::bootblock::BLOCK_PHYS;
use spumone_percore::tracebuf::URAM_TRACE;
use std::path::PathBuf;
use std::process::Command;

fn image() -> PathBuf {
    rp1::board::image().expect("the board image builds")
}

/// Run machine description `toml` on the board image for at most
/// `max_cycles`.
fn run_on_the_board(toml: &str, max_cycles: u64) -> runner::RunResult {
    let desc = description::parse(toml, std::path::Path::new(".")).expect("a valid description");
    let mut s = Scenario::new(Policy::None);
    s.hosted = false;
    let mode = s.mode().unwrap();
    runner::run(&desc, RunOptions { max_cycles, keep_events: false, mode }, |_| {}).unwrap()
}

#[test]
fn the_board_image_builds_from_nothing_to_the_same_bytes() {
    let first = std::fs::read(image()).unwrap();
    // A second build from a copy of the sources in another directory, as
    // another clone would be, into a directory of its own with its own
    // cargo target directory: Rust, wasm2c, gcc and the link all run again.
    // (Built in place, the crates' symbol hashes came from their absolute
    // paths, and a clone elsewhere, CI's, got other code: scripts/build-hv.sh.)
    let dir = rp1::programs::target_dir().join("board-repro");
    let _ = std::fs::remove_dir_all(&dir);
    let tree = dir.join("another-clone");
    std::fs::create_dir_all(&tree).unwrap();
    let top = rp1::programs::workspace_dir();
    for part in ["scripts", "board", "kernel", "percore", "migration"] {
        let o = Command::new("cp").arg("-r").arg(top.join(part)).arg(&tree).output().unwrap();
        assert!(o.status.success(), "copying {part}: {}", String::from_utf8_lossy(&o.stderr));
    }
    let out = dir.join("out");
    let o = Command::new("bash").arg(tree.join("scripts/build-hv.sh")).args(["--quiet", "--out"]).arg(&out).output().unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let second = std::fs::read(out.join("spumone.elf")).unwrap();
    assert!(first == second, "two builds differ ({} and {} bytes)", first.len(), second.len());
    let _ = std::fs::remove_dir_all(&dir);
}

/// Tests build the image from several threads at once; on a fresh clone
/// they all met in scripts/fix-sh4-cc1.sh, and one read a cc1 copy another
/// was still writing ("unexpected byte  at 0xab998e", CI run 13). Four
/// runs on one fresh directory must all give the corrected compiler.
#[test]
fn overlapping_compiler_fixes_all_succeed() {
    let dir = rp1::programs::target_dir().join("gccfix-race");
    let _ = std::fs::remove_dir_all(&dir);
    let script = rp1::programs::workspace_dir().join("scripts/fix-sh4-cc1.sh");
    let runs: Vec<_> = (0..4)
        .map(|_| Command::new("bash").arg(&script).arg("--out").arg(&dir).stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped()).spawn().unwrap())
        .collect();
    for run in runs {
        let o = run.wait_with_output().unwrap();
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
        assert_eq!(String::from_utf8_lossy(&o.stdout).trim(), dir.to_str().unwrap());
    }
    let fixed = std::fs::read(dir.join("cc1")).unwrap();
    let installed = std::fs::read(rp1::programs::workspace_dir().join("build/gccfix/cc1"));
    if let Ok(installed) = installed {
        assert!(fixed == installed, "the raced copy differs from build/gccfix/cc1");
    }
    let _ = std::fs::remove_dir_all(&dir);
}

/// `wasm-objdump -x`'s value of the linker global `name` (`__heap_base`:
/// where the Rust statics end in linear memory).
fn wasm_global(dump: &str, name: &str) -> u32 {
    let line = dump.lines().find(|l| l.contains(&format!("<{name}>"))).unwrap_or_else(|| panic!("no {name}"));
    line.rsplit("i32=").next().unwrap().trim().parse().unwrap()
}

#[test]
fn every_byte_of_an_instance_is_in_its_cores_uram_by_the_images_symbols() {
    let elf_path = image();
    let bytes = std::fs::read(&elf_path).unwrap();
    let elf = object::File::parse(&*bytes).unwrap();
    let sym = |name: &str| elf.symbols().find(|s| s.name() == Ok(name)).unwrap_or_else(|| panic!("no symbol {name}"));

    // In DRAM: code, read-only data and nothing an instance writes. The
    // only writable bytes are the C runtime's function-type table (filled
    // by core 0 at boot, before the other cores start, read-only after)
    // and the GOT libgcc's helpers address through.
    let mut writable = Vec::new();
    for s in elf.sections().filter(|s| s.size() > 0) {
        let SectionFlags::Elf { sh_flags } = s.flags() else { unreachable!() };
        if sh_flags & u64::from(object::elf::SHF_ALLOC) == 0 {
            continue;
        }
        let (start, end) = (s.address() as u32, (s.address() + s.size()) as u32);
        assert!(start >= 0x8800_0000 && end <= 0x8000_0000 | BLOCK_PHYS, "{:?} at {start:#x}..{end:#x}", s.name());
        if sh_flags & u64::from(object::elf::SHF_WRITE) != 0 {
            for y in elf.symbols().filter(|y| y.address() >= start as u64 && y.address() < end as u64 && y.size() > 0) {
                writable.push(y.name().unwrap().to_string());
            }
        }
    }
    writable.sort();
    assert_eq!(writable, ["func_type_count", "func_types", "func_types"], "writable DRAM symbols");

    // Each core's C stack tops its own URAM; the stub's per-core block is
    // in the core's own OL memory (the same address on every core).
    let tops = sym("hv_c_stack_tops");
    let section = elf.section_by_index(tops.section_index().unwrap()).unwrap();
    let data = section.data().unwrap();
    let at = (tops.address() - section.address()) as usize;
    for core in 0..4 {
        let top = u32::from_le_bytes(data[at + 4 * core..at + 4 * core + 4].try_into().unwrap());
        assert_eq!(top, 0x8000_0000 | (URAM_BASE[core] + URAM_SIZE), "core {core}'s C stack");
    }
    assert_eq!(sym("percore").address(), 0xe500_0000);

    // The Rust side: its linear memory is exactly one URAM, and its
    // statics end below the trace ring.
    let wasm = elf_path.with_file_name("spumone.wasm");
    let dump = Command::new("wasm-objdump").arg("-x").arg(&wasm).output().expect("wasm-objdump (wabt)");
    let dump = String::from_utf8_lossy(&dump.stdout);
    assert!(dump.contains("pages: initial=2 max=2"), "linear memory is not 128 KiB");
    let heap_base = wasm_global(&dump, "__heap_base");
    assert!(heap_base <= URAM_TRACE, "statics end at {heap_base:#x}, past the trace ring at {URAM_TRACE:#x}");
    assert!(wasm_global(&dump, "__data_end") <= heap_base);
    println!("statics end at {heap_base:#x} of {URAM_SIZE:#x}; the trace ring starts at {URAM_TRACE:#x}");
}

#[test]
fn a_guest_cannot_reach_a_cores_uram_from_another_core_or_through_a_hypercall() {
    let probe = build_guest("rtos_probe", RTOS_BASE).unwrap();
    let poke = build_guest("uram_poke", 0x8900_0000).unwrap();
    let toml = format!(
        "[hypervisor]\npolicy = \"none\"\n\n\
         [[guest]]\nname = \"rtos_probe\"\nclass = \"rtos\"\npriority = 10\nimage = \"{}\"\n\
         partition = {{ base = 0x08800000, size = 0x800000 }}\nvcpus = [{{ core = 0 }}]\n\
         interrupts = [{{ source = \"timer\", level = 12 }}]\nparams = [{{ symbol = \"probe_params\", words = [30, 0, 1000, 500, 0] }}]\n\n\
         [[guest]]\nname = \"uram_poke\"\nclass = \"gpos\"\npriority = 1\nimage = \"{}\"\n\
         partition = {{ base = 0x09000000, size = 0x1000000 }}\nvcpus = [{{ core = 1 }}]\n",
        probe.display(),
        poke.display()
    );
    let r = run_on_the_board(&toml, 60_000_000);
    let console = r.console(1);
    println!("{console}");
    assert_eq!(r.exit, Exit::Guest(0), "{console}\n{}", r.machine_console);
    assert_eq!(console.matches(": refused (").count(), 6, "{console}");
    assert!(!console.contains("NOT REFUSED"), "{console}");
    assert!(console.contains("uram_poke: 3 faults taken, 0 not refused"), "{console}");
    // The instance on core 0 was not disturbed: the RTOS beside it took
    // every sample, the ring lost nothing, nothing panicked.
    assert!(r.console(0).contains("samples=30 ") && r.console(0).contains(" lost=0 "), "{}", r.console(0));
    assert!(r.board.iter().all(|f| f.dropped == 0));
    assert!(!r.machine_console.contains("panic"), "{}", r.machine_console);
    assert_eq!(r.stats[1].forwarded_exceptions, 3, "the address errors went to the guest's own handler");
    assert_eq!(r.stats.iter().map(|s| s.hypercall_errors[2]).sum::<u64>(), 3, "three E_ADDR");
}

/// `rp1 hv --profile`: sampling the cores' PCs does not change the run
/// (the same cycles, events and counters), every round of every core is
/// one sample, and the hypervisor's samples fall in its own functions, by
/// the image's symbols.
#[test]
fn a_profiled_run_is_the_same_run_and_names_the_hypervisors_functions() {
    let mut s = Scenario::new(Policy::OnDemandMigration);
    s.hosted = false;
    s.samples = 50;
    s.gpos_ms = 50;
    s.rtos_util = 30;
    let desc = s.description().unwrap();
    let opts = || RunOptions { max_cycles: 600_000_000, keep_events: true, mode: s.mode().unwrap() };
    let plain = runner::run(&desc, opts(), |_| {}).unwrap();
    let (profiled, profile, code) = runner::run_profiled(&desc, opts(), |_| {}).unwrap();
    assert_eq!(plain.exit, Exit::Guest(0));
    assert_eq!((profiled.exit, profiled.cycles), (plain.exit, plain.cycles));
    assert_eq!(profiled.log.events, plain.log.events);
    assert_eq!(profiled.stats, plain.stats);
    // One sample per core per round: at least one per quantum of the run.
    let cores = profile.inside.len();
    assert_eq!(cores, 4);
    for core in 0..cores {
        let all = profile.inside[core] + profile.outside[core] + profile.asleep[core];
        assert_eq!(all, profile.total() / 4, "core {core}");
        assert!(all >= plain.cycles / 1000, "core {core}: {all} samples in {} cycles", plain.cycles);
    }
    // Core 0 runs the probe and the hypervisor under on-demand migration:
    // both show, and so does the instance's entry.
    assert!(profile.inside[0] > 0 && profile.outside[0] > 0, "{:?} {:?}", profile.inside, profile.outside);
    let by = profile.by(|pc| code.image.name_of(pc));
    assert!(by.iter().any(|(name, _)| name == "w2c_hv_enter"), "{:?}", &by[..by.len().min(10)]);
    assert_eq!(by.iter().map(|(_, n)| n).sum::<u64>(), profile.inside.iter().sum::<u64>());
    // The guests' samples, named by their images' symbols core by core:
    // the probe's only on core 0 (its vCPU never leaves), the GPOS's on
    // every core; every sample outside the image is in the table once.
    let guests = profile.outside_by(|pc| code.guest_name_of(pc));
    let per_core = |prefix: &str| {
        guests.iter().filter(|(name, _)| name.starts_with(prefix)).fold(vec![0u64; 4], |mut sum, (_, n)| {
            sum.iter_mut().zip(n).for_each(|(s, n)| *s += n);
            sum
        })
    };
    let (probe, gpos) = (per_core("rtos_probe: "), per_core("smp_load: "));
    assert!(probe[0] > 0 && probe[1..] == [0, 0, 0], "{probe:?}");
    assert!(gpos.iter().all(|&n| n > 0), "{gpos:?}");
    assert!(guests.iter().any(|(name, _)| name == "rtos_probe: burner_task"), "{:?}", &guests[..guests.len().min(10)]);
    let all: Vec<u64> = (0..4).map(|c| guests.iter().map(|(_, n)| n[c]).sum()).collect();
    assert_eq!(all, profile.outside);
    let text = spumone_hosting::profile::render(&profile, &code, 5);
    assert!(text.starts_with("where the cores' time went (measured: "), "{text}");
    let mut tables = text.split("  samples  share  function\n").skip(1);
    let functions = tables.next().expect("the function table");
    assert_eq!(functions.lines().take_while(|l| !l.is_empty()).count(), 5, "{text}");
    let guest_functions = tables.next().expect("the guests' function table");
    assert_eq!(guest_functions.lines().count(), 5, "{text}");
    // The hosted model has no code on the cores to sample.
    let hosted = RunOptions { max_cycles: 1000, keep_events: false, mode: runner::Mode::Hosted };
    let err = runner::run_profiled(&desc, hosted, |_| {}).map(|_| ()).unwrap_err().to_string();
    assert!(err.contains("a profile samples the board image's code"), "{err}");
}

/// What an instance publishes of its pending interrupts (the trace ring's
/// header, read at the end of a run) is right after a quick exit too. An
/// IPI reaches a vCPU that masked itself and spins: its core takes the IPI
/// ICI by the quick path, which raises the IPI and delivers nothing, and
/// never enters again. The image of 1981593 published only after entries
/// that were not quick, so the run ended with the IPI raised and 0
/// pending, and the accounting one short.
#[test]
fn an_ipi_left_pending_behind_a_mask_is_published_at_the_end() {
    let guest = build_guest("masked_ipi", 0x8900_0000).unwrap();
    let toml = format!(
        "[hypervisor]\npolicy = \"none\"\n\n\
         [[guest]]\nname = \"masked_ipi\"\nclass = \"gpos\"\npriority = 1\nimage = \"{}\"\n\
         partition = {{ base = 0x09000000, size = 0x1000000 }}\nvcpus = [{{ core = 1 }}, {{ core = 2 }}]\n\
         interrupts = [{{ source = \"ipi\", level = 6 }}]\n",
        guest.display()
    );
    let r = run_on_the_board(&toml, 60_000_000);
    let console = r.console(0);
    assert_eq!(r.exit, Exit::Guest(0), "{console}\n{}", r.machine_console);
    assert!(console.contains("masked_ipi: IPI 3 sent to the masked vCPU 1"), "{console}");
    assert!(r.inside_entry_at_end.is_empty(), "{:?}", r.inside_entry_at_end);
    // The one IPI (counted as raised by its sender), taken by core 2's
    // IPI ICI quick path, not delivered.
    assert_eq!(r.stats[1].virqs_raised, 1);
    assert_eq!(rp1_systests::runs::sum(&r, |s| s.injections), 0);
    assert_eq!(r.stats[2].ipi_icis, 1);
    assert_eq!(r.pending_virqs_at_end, 1);
    assert_eq!(rp1_systests::runs::check_interrupt_accounting(&r, "masked IPI"), 1);
}

/// `TIME_NOW` is answered in the board's entry stub only where the
/// instance's quick exit would leave the caller as it was
/// (docs/board-image.md). A GPOS that masks by hypercall raises its own
/// SR.IMASK to 15 with `ldc` and reads the clock, over and over, beside
/// the RTOS probe on core 0: each of those calls must take the full entry,
/// whose quick exit puts the vCPU back at its own level (0), so the GPOS
/// never holds the RTOS's levels back. The guest checks SR after every
/// call (a stub that answered at any IMASK fails it, and starves the
/// probe); then it makes 1,000 calls at level 0, which the stub answers.
#[test]
fn time_now_is_answered_in_the_entry_stub_only_where_the_callers_sr_stays_as_it_is() {
    let probe = build_guest("rtos_probe", RTOS_BASE).unwrap();
    let hog = build_guest("imask_hog", 0x8900_0000).unwrap();
    let toml = format!(
        "[hypervisor]\npolicy = \"none\"\n\n\
         [[guest]]\nname = \"rtos_probe\"\nclass = \"rtos\"\npriority = 10\nimage = \"{}\"\n\
         partition = {{ base = {:#x}, size = 0x800000 }}\nvcpus = [{{ core = 0 }}]\n\
         interrupts = [{{ source = \"timer\", level = 12 }}]\n\
         params = [{{ symbol = \"probe_params\", words = [40, 0, 1000, 500, 0] }}]\n\n\
         [[guest]]\nname = \"imask_hog\"\nclass = \"gpos\"\npriority = 1\nimage = \"{}\"\n\
         partition = {{ base = 0x09000000, size = 0x1000000 }}\nvcpus = [{{ core = 0 }}]\n\
         interrupts = [{{ source = \"timer\", level = 5 }}]\n",
        probe.display(),
        RTOS_BASE - 0x8000_0000,
        hog.display()
    );
    let r = run_on_the_board(&toml, 120_000_000);
    let (probe_console, hog_console) = (r.console(0), r.console(1));
    assert_eq!(r.exit, Exit::Guest(0), "{probe_console}\n{hog_console}\n{}", r.machine_console);
    let hogs: u64 = hog_console
        .split("imask_hog: ")
        .nth(1)
        .and_then(|l| l.split(" calls at IMASK 15, each lowered to 0; 1000 at level 0").next())
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("{hog_console}"));
    // 20 ms of calls that each take the full entry: thousands of them.
    assert!(hogs > 1_000, "{hogs} calls at IMASK 15");
    assert!(probe_console.contains("samples=40 ") && probe_console.contains(" lost=0 "), "{probe_console}");
    let worst = r.samples(0, 0).into_iter().max().unwrap() as f64 / 600.0;
    assert!(worst < 50.0, "worst RTOS latency {worst:.1} us");
    // Every call is counted as the instance counts it; the stub answered
    // the level-0 ones (and the probe's), never the hog's at IMASK 15.
    let sum = |f: &dyn Fn(&spumone_percore::instance::Stats) -> u64| rp1_systests::runs::sum(&r, f);
    let time_nows = sum(&|s| s.hypercalls_by_number[spumone_kernel::hypercall::Hypercall::TimeNow.index()]);
    let in_stub = sum(&|s| s.hypercalls_in_stub);
    assert!(in_stub >= 1_000, "{in_stub} answered in the stub");
    assert!(time_nows - in_stub >= hogs, "{time_nows} TIME_NOWs, {in_stub} in the stub, {hogs} at IMASK 15");
    assert_eq!(sum(&|s| s.hypercalls_by_number.iter().sum()), sum(&|s| s.hypercalls), "hypercalls by number");
}

/// One instruction of the image's disassembly: its mnemonic and, for a
/// PC-relative branch, its target.
struct Insn {
    mnemonic: String,
    target: Option<u32>,
}

/// The image's code, disassembled by binutils (`sh4-linux-gnu-objdump`,
/// which the board build needs anyway), by address.
fn disassembly(image: &std::path::Path) -> std::collections::BTreeMap<u32, Insn> {
    let out = Command::new("sh4-linux-gnu-objdump").arg("-d").arg(image).output().expect("sh4-linux-gnu-objdump runs");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let mut code = std::collections::BTreeMap::new();
    for line in String::from_utf8_lossy(&out.stdout).lines() {
        // "88001152:\t0b 89       \tbt\t8800116c <quick_call>"
        let mut fields = line.split('\t');
        let (Some(addr), Some(_bytes), Some(mnemonic)) = (fields.next(), fields.next(), fields.next()) else { continue };
        let Some(addr) = addr.trim().strip_suffix(':').and_then(|a| u32::from_str_radix(a, 16).ok()) else { continue };
        let operands = fields.next().unwrap_or("");
        let target = operands.split_whitespace().next().and_then(|t| u32::from_str_radix(t, 16).ok());
        code.insert(addr, Insn { mnemonic: mnemonic.trim().to_string(), target });
    }
    code
}

/// Whether some path from `start` (just after a MOVLI.L) leaves the code
/// it can follow (a return, a jump or a call through a register, a
/// sleep, code it cannot see) before a MOVCO.L ends the reservation; the
/// first such place, if so.
fn leaves_a_reservation(code: &std::collections::BTreeMap<u32, Insn>, start: u32) -> Option<u32> {
    let is_movco = |at: u32| code.get(&at).map(|i| i.mnemonic == "movco.l");
    let mut todo = vec![start];
    let mut seen = std::collections::HashSet::new();
    while let Some(pc) = todo.pop() {
        if !seen.insert(pc) {
            continue;
        }
        let Some(insn) = code.get(&pc) else { return Some(pc) };
        let next = pc + 2;
        // Where control goes on with the reservation still held, or the
        // place it leaves from. A branch's target must be one objdump
        // resolved; a delayed branch's slot runs first, and a MOVCO.L there
        // ends the reservation on every way out.
        let target = || insn.target.ok_or(pc);
        let slot_ends = || is_movco(next).ok_or(next);
        let onwards: Result<Vec<u32>, u32> = match insn.mnemonic.as_str() {
            "movco.l" => Ok(vec![]),
            "bt" | "bf" => target().map(|t| vec![t, next]),
            "bt.s" | "bf.s" | "bt/s" | "bf/s" => {
                slot_ends().and_then(|ends| if ends { Ok(vec![]) } else { target().map(|t| vec![t, next + 2]) })
            }
            "bra" => slot_ends().and_then(|ends| if ends { Ok(vec![]) } else { target().map(|t| vec![t]) }),
            "rte" | "rts" | "jmp" | "jsr" | "braf" | "bsrf" | "bsr" => {
                if slot_ends() == Ok(true) { Ok(vec![]) } else { Err(pc) }
            }
            "sleep" => Err(pc),
            _ => Ok(vec![next]),
        };
        match onwards {
            Ok(more) => todo.extend(more),
            Err(at) => return Some(at),
        }
    }
    None
}

/// MOVLI.L takes a reservation that only MOVCO.L ends; an exception or
/// interrupt drops the reservation of the code it interrupts, but not
/// one its handler takes, and RTE keeps it. A handler that left one
/// behind would let the MOVCO.L of the code it interrupted (between that
/// code's MOVLI.L and MOVCO.L) succeed after another core wrote the line:
/// the IPI ICI's path in the entry stub did, when it declined a word
/// (empty, or two messages), and a Linux mutex lost its waiters flag to
/// it (a waiter never woken, hackbench hung). So on every path from
/// every MOVLI.L in the image, a MOVCO.L must come before the code
/// leaves (a return, a jump, a call, a sleep).
#[test]
fn no_path_through_the_board_image_leaves_a_reservation_behind() {
    let code = disassembly(&image());
    let movlis: Vec<u32> = code.iter().filter(|(_, i)| i.mnemonic == "movli.l").map(|(&a, _)| a).collect();
    assert!(movlis.len() >= 3, "the IPI ICI's path, SEND_IPI's and hw_cas take reservations: {movlis:x?}");
    for at in movlis {
        if let Some(leak) = leaves_a_reservation(&code, at + 2) {
            panic!("the MOVLI.L at {at:#x} can reach {leak:#x} without a MOVCO.L");
        }
    }
}
