//! `rp1 run` against hostile input: kernels whose boot parameters lie
//! outside RAM, quanta and cycle limits at their extremes, guests that
//! flood the serial ports, image files that never end, output paths that
//! are inputs or cannot be written, every guest exit status, and a
//! machine that can never run again. Each ends with its documented exit
//! status and a precise message, never a panic or an endless run.
//!
//! Owns: these tests and their scratch directories. Must not touch: the
//! repository's files.

mod common;

use common::*;
use proptest::prelude::*;

/// A "kernel": one instruction, with `empty_zero_page` and `_end` where
/// the test says.
fn kernel(dir: &std::path::Path, zero_page: u32, end: u32) -> std::path::PathBuf {
    write(dir, "vmlinux", &sh_elf(BASE, &[0x0009], &[("empty_zero_page", zero_page), ("_end", end)]))
}

#[test]
fn a_zero_page_outside_ram_is_bad_input() {
    let dir = scratch("zero-page");
    let initrd = write(&dir, "initrd", b"initramfs");
    for (zero_page, phys) in [(0x9fff_0000u32, 0x1fff_0000u32), (0, 0), (0x8fff_ff80, 0x0fff_ff80)] {
        let image = kernel(&dir, zero_page, 0x8800_2000);
        for extra in [&["--cmdline", "x"][..], &["--initrd", s(&initrd)]] {
            let mut args = vec!["run"];
            args.extend_from_slice(extra);
            args.push(s(&image));
            let o = rp1(&args);
            assert_eq!(o.status.code(), Some(2), "{args:?}: {}", stderr(&o));
            assert_eq!(
                stderr(&o),
                format!(
                    "rp1: {}: empty_zero_page at {phys:#010x} is not in RAM (0x08000000-0x0fffffff); the boot \
                     parameters need 0x200 bytes there\n",
                    image.display()
                )
            );
        }
    }
}

#[test]
fn an_end_below_ram_is_bad_input() {
    let dir = scratch("end");
    let initrd = write(&dir, "initrd", b"initramfs");
    for (end, phys) in [(0u32, 0u32), (0x0700_0000, 0x0700_0000), (0x8000_0000, 0)] {
        let image = kernel(&dir, 0x8800_0000, end);
        let o = rp1(&["run", "--initrd", s(&initrd), s(&image)]);
        assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
        assert_eq!(
            stderr(&o),
            format!(
                "rp1: {}: the kernel's end (`_end`) at {phys:#010x} is not in RAM (0x08000000-0x0fffffff), so there \
                 is nowhere after it to place the initramfs\n",
                image.display()
            )
        );
    }
}

#[test]
fn the_quantum_is_capped() {
    let dir = scratch("quantum-cap");
    let image = program(&dir, "loop.elf", &spin());
    for q in ["0", "1000001", "10000000000", "18446744073709551615"] {
        let o = rp1(&["run", "--quantum", q, "--max-cycles", "1000", s(&image)]);
        assert_eq!(o.status.code(), Some(2), "--quantum {q}: {}", stderr(&o));
        assert!(stderr(&o).contains(&format!("invalid value '{q}' for '--quantum <QUANTUM>': {q} is not in 1..=1000000")), "{}", stderr(&o));
    }
    let o = rp1(&["run", "--help"]);
    assert!(stdout(&o).contains("1 to 1000000"), "the cap is in --help:\n{}", stdout(&o));
}

/// The summary's "(N cycles at 600 MHz)".
fn simulated_cycles(o: &std::process::Output) -> u64 {
    let err = stderr(o);
    let line = err.lines().find(|l| l.starts_with("simulated time")).unwrap_or_else(|| panic!("{err}"));
    let inside = line.split_once('(').unwrap().1;
    inside.split_whitespace().next().unwrap().parse().unwrap()
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 24, ..ProptestConfig::default() })]
    /// --max-cycles holds exactly, whatever the quantum and however many
    /// cores.
    #[test]
    fn max_cycles_holds_whatever_the_quantum(quantum in prop_oneof![1u64..100, 100u64..=1_000_000, Just(1_000_000u64)],
                                             max in 1u64..3_000_000, cores in 1usize..=4) {
        let dir = scratch("max-cycles");
        let image = program(&dir, "loop.elf", &spin());
        let (q, m, c) = (quantum.to_string(), max.to_string(), cores.to_string());
        let o = rp1(&["run", "--quantum", &q, "--max-cycles", &m, "--cores", &c, s(&image)]);
        prop_assert_eq!(o.status.code(), Some(124), "{}", stderr(&o));
        prop_assert_eq!(simulated_cycles(&o), max);
        let limit_line = format!("rp1: stopped at the cycle limit ({max} cycles)\n");
        prop_assert!(stderr(&o).ends_with(&limit_line), "{}", stderr(&o));
    }
}

#[test]
fn a_flooding_guest_with_console_none_keeps_nothing() {
    let dir = scratch("flood");
    let image = program(&dir, "flood.elf", &flood());
    // One simulated second: the guest writes about 11.5 MB to each port.
    // Without bounds `rp1` kept all of it (it peaked at 104 MB of address
    // space); keeping nothing, it needs about 25 MB with 16 MiB of DRAM.
    let script = format!(
        "ulimit -v 80000 && exec {} run --mem 16 --console none --max-cycles 600000000 {}",
        rp1_bin().display(),
        image.display()
    );
    let o = std::process::Command::new("sh").arg("-c").arg(&script).output().unwrap();
    assert_eq!(o.status.code(), Some(124), "{}", stderr(&o));
    assert_eq!(stdout(&o), "");
    let err = stderr(&o);
    let bytes: u64 = err
        .lines()
        .find_map(|l| l.strip_prefix("console: "))
        .and_then(|l| l.strip_suffix(" bytes on SCIF0"))
        .unwrap_or_else(|| panic!("{err}"))
        .parse()
        .unwrap();
    assert!(bytes > 10_000_000, "the guest wrote {bytes} bytes");
    // The console on stdout streams the same bytes, and the same count.
    let o = rp1(&["run", "--mem", "16", "--max-cycles", "60000000", s(&image)]);
    assert_eq!(o.status.code(), Some(124));
    let shown = o.stdout.len();
    assert!(stderr(&o).contains(&format!("console: {shown} bytes on SCIF0")), "{}", stderr(&o));
}

#[test]
fn image_files_are_read_header_first_and_up_to_256_mib() {
    let started = std::time::Instant::now();
    let o = rp1(&["run", "/dev/zero"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).starts_with("rp1: /dev/zero: not a valid ELF file: "), "{}", stderr(&o));
    assert!(started.elapsed().as_secs() < 10, "{:?}", started.elapsed());

    let dir = scratch("huge-image");
    let big = program(&dir, "big.elf", &spin());
    std::fs::OpenOptions::new().write(true).open(&big).unwrap().set_len(2 << 30).unwrap();
    let o = rp1(&["run", s(&big)]);
    assert_eq!(o.status.code(), Some(2));
    assert_eq!(
        stderr(&o),
        format!(
            "rp1: {}: the file is 2147483648 bytes; an image file may have at most 268435456 bytes (256 MiB)\n",
            big.display()
        )
    );
    // An initramfs larger than RAM is refused without reading it all.
    let image = kernel(&dir, 0x8800_0000, 0x8800_2000);
    let o = rp1(&["run", "--mem", "1", "--initrd", "/dev/zero", s(&image)]);
    assert_eq!(o.status.code(), Some(2));
    assert_eq!(stderr(&o), "rp1: --initrd /dev/zero: the initramfs is larger than the machine's RAM (1048576 bytes)\n");
}

#[test]
fn an_output_that_is_an_input_is_refused_and_left_alone() {
    let dir = scratch("output-is-input");
    let image = program(&dir, "x.elf", &print_and_exit(b"hi\n", 0));
    let original = std::fs::read(&image).unwrap();
    let link = dir.join("link.elf");
    std::os::unix::fs::symlink(&image, &link).unwrap();
    let hard = dir.join("hard.elf");
    std::fs::hard_link(&image, &hard).unwrap();
    for out in [&image, &link, &hard] {
        for flag in ["--console-file", "--trace"] {
            let o = rp1(&["run", flag, s(out), s(&image)]);
            assert_eq!(o.status.code(), Some(2), "{flag} {}: {}", out.display(), stderr(&o));
            assert_eq!(
                stderr(&o),
                format!(
                    "rp1: {flag} {} is the same file as the image {}: refusing to overwrite it; choose another path\n",
                    out.display(),
                    image.display()
                )
            );
            assert_eq!(std::fs::read(&image).unwrap(), original, "{flag} {}", out.display());
        }
    }
    // The initramfs is an input too, and two outputs may not be one file.
    let kernel = kernel(&dir, 0x8800_0000, 0x8800_2000);
    let initrd = write(&dir, "initrd", b"initramfs");
    let o = rp1(&["run", "--initrd", s(&initrd), "--trace", s(&initrd), s(&kernel)]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("is the same file as the initramfs"), "{}", stderr(&o));
    assert_eq!(std::fs::read(&initrd).unwrap(), b"initramfs");
    let out = dir.join("out.txt");
    let o = rp1(&["run", "--console-file", s(&out), "--trace", s(&out), s(&image)]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains(&format!("--trace {} is the same file as --console-file", out.display())), "{}", stderr(&o));
    // A file that is no input is written as before.
    let o = rp1(&["run", "--console-file", s(&dir.join("console.txt")), "--quiet", s(&image)]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert_eq!(std::fs::read(dir.join("console.txt")).unwrap(), b"hi\n");
}

#[test]
fn output_files_that_cannot_be_written_are_named() {
    let dir = scratch("unwritable");
    let image = program(&dir, "x.elf", &print_and_exit(b"hi\n", 0));
    let o = rp1(&["run", "--console-file", "/proc/version", s(&image)]);
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert_eq!(stderr(&o), "rp1: --console-file /proc/version: Input/output error (os error 5)\n");
    let o = rp1(&["run", "--trace", "/dev/full", s(&image)]);
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert_eq!(stderr(&o), "rp1: --trace /dev/full: No space left on device (os error 28)\n");
    let o = rp1(&["run", "--trace", "/nonexistent-rp1-dir/t.txt", s(&image)]);
    assert_eq!(o.status.code(), Some(2));
    assert_eq!(stderr(&o), "rp1: --trace /nonexistent-rp1-dir/t.txt: No such file or directory (os error 2)\n");
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 24, ..ProptestConfig::default() })]
    /// A guest's status 0 is `rp1`'s 0; any other is 1, with the status
    /// itself on stderr, so that no status can read as success or as one
    /// of `rp1`'s own (2 bad input, 3 double fault, 124 cycle limit, ...).
    #[test]
    fn every_guest_status_maps_to_0_or_1(status in prop_oneof![
        Just(0u32), Just(1), Just(2), Just(3), Just(124), Just(256), Just(0x8000_0000), Just(u32::MAX), any::<u32>()
    ]) {
        let dir = scratch("guest-status");
        let image = program(&dir, "exit.elf", &print_and_exit(b"", status));
        let o = rp1(&["run", "--quiet", s(&image)]);
        if status == 0 {
            prop_assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
            prop_assert_eq!(stderr(&o), "");
        } else {
            prop_assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
            prop_assert_eq!(stderr(&o), format!("rp1: the guest exited with status {status} ({status:#x})\n"));
        }
    }
}

#[test]
fn a_stuck_machine_is_not_a_halt() {
    let dir = scratch("stuck");
    let stuck = program(&dir, "stuck.elf", &sleep_open());
    let o = rp1(&["run", s(&stuck)]);
    assert_eq!(o.status.code(), Some(4), "{}", stderr(&o));
    let err = stderr(&o);
    assert!(
        err.contains(
            "--- rp1 summary: machine stuck (every core asleep or in reset, waiting with interrupts open for one that \
             nothing will raise)"
        ),
        "{err}"
    );
    assert!(
        err.ends_with(
            "rp1: the machine is stuck: every core is asleep or in reset, waiting with interrupts open for an interrupt \
             that nothing will raise; none halted\n"
        ),
        "{err}"
    );
    // Asleep masked in the image's halt routine: the deliberate halt.
    let halted = write(&dir, "halt.elf", &sh_elf(BASE, &sleep_masked(), &[("rp1_halt", BASE)]));
    let o = rp1(&["run", s(&halted)]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert!(stderr(&o).contains("--- rp1 summary: machine halted (all cores asleep, nothing can wake them)"));
}

#[test]
fn asleep_masked_outside_a_halt_routine_is_a_deadlock_not_a_halt() {
    let dir = scratch("deadlock");
    let deadlocked = program(&dir, "deadlock.elf", &sleep_masked());
    let o = rp1(&["run", s(&deadlocked)]);
    assert_eq!(o.status.code(), Some(6), "{}", stderr(&o));
    let err = stderr(&o);
    assert!(
        err.contains(&format!(
            "--- rp1 summary: machine deadlocked (every core asleep or in reset, nothing can wake them; core 0 went \
             to sleep with interrupts masked at {BASE:#010x}, outside every halt routine)"
        )),
        "{err}"
    );
    assert!(
        err.ends_with(&format!(
            "rp1: the machine is deadlocked: every core is asleep or in reset and nothing can wake one; core 0 went \
             to sleep with interrupts masked at {BASE:#010x}, outside every halt routine (rp1_halt, stop_this_cpu)\n"
        )),
        "{err}"
    );
    // A symbol of another name does not make it a halt.
    let named = write(&dir, "named.elf", &sh_elf(BASE, &sleep_masked(), &[("halt", BASE)]));
    assert_eq!(rp1(&["run", s(&named)]).status.code(), Some(6));
}
