//! `rp1 hv`: the built binary's exit codes and messages.
//!
//! Bad input (a description that cannot be read or is invalid, an image
//! that is missing or does not fit, a bad option or timeline path) must end
//! with status 2 and one precise message; a run ends with 0 only when every
//! guest exited with 0. Real guests need the SH-4 cross compiler and are
//! run by rp1-systests' tests, so the runs here use three-instruction
//! guests assembled by hand below.
//!
//! Owns: these tests and their scratch directories. Must not touch: the
//! repository's files (everything is written under the system's temp dir).

mod common;

use common::{rp1, scratch, sh_elf, stderr, stdout};
use serde_json::Value;
use std::path::{Path, PathBuf};

/// A one-guest description: `image` at 0x08800000 (8 MiB), one vCPU on
/// core 0, `extra` appended to the guest's table.
fn description(dir: &Path, image: &str, extra: &str) -> PathBuf {
    let text = format!(
        "[hypervisor]\npolicy = \"none\"\n\n[[guest]]\nname = \"g\"\nclass = \"rtos\"\npriority = 10\n\
         image = \"{image}\"\npartition = {{ base = 0x08800000, size = 0x00800000 }}\nvcpus = [{{ core = 0 }}]\n{extra}"
    );
    let path = dir.join("machine.toml");
    std::fs::write(&path, text).unwrap();
    path
}

/// `mov #status, r4; trapa #0x6e` (EXIT), then `bra .; nop`.
fn exit_guest(status: u8) -> Vec<u16> {
    assert!(status < 0x80);
    vec![0xe400 | status as u16, 0xc36e, 0xaffe, 0x0009]
}

/// `bra .; nop`: never exits.
fn spinning_guest() -> Vec<u16> {
    vec![0xaffe, 0x0009]
}

fn write_image(dir: &Path, name: &str, vaddr: u32, code: &[u16]) {
    std::fs::write(dir.join(name), sh_elf(vaddr, code, &[])).unwrap();
}

#[test]
fn a_missing_image_is_named_with_its_field_and_path() {
    let dir = scratch("missing-image");
    let desc = description(&dir, "nothing-here.elf", "");
    let o = rp1(&["hv", desc.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert_eq!(
        stderr(&o),
        format!(
            "rp1: {}: guest[0].image: cannot read {}: No such file or directory (os error 2)\n",
            desc.display(),
            dir.join("nothing-here.elf").display()
        )
    );
    assert_eq!(stdout(&o), "");
}

#[test]
fn a_bad_field_gives_file_line_column_and_the_source_line() {
    let dir = scratch("bad-field");
    write_image(&dir, "g.elf", 0x8880_0000, &exit_guest(0));
    let desc = description(&dir, "g.elf", "interrupts = [{ source = \"timer\", level = 5 }]\n");
    let o = rp1(&["hv", desc.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(2));
    let err = stderr(&o);
    let mut lines = err.lines();
    assert_eq!(
        lines.next().unwrap(),
        format!("rp1: {}:11:43: guest[0].interrupts[0].level: 5 is not an RTOS level (8-15)", desc.display())
    );
    assert_eq!(lines.next().unwrap().trim(), "|");
    assert_eq!(lines.next().unwrap(), "11 | interrupts = [{ source = \"timer\", level = 5 }]");
    assert!(lines.next().unwrap().ends_with('^'));

    // an unknown key names itself
    let desc = description(&dir, "g.elf", "colour = \"blue\"\n");
    let o = rp1(&["hv", desc.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(2));
    let first = stderr(&o).lines().next().unwrap().to_string();
    assert!(
        first.starts_with(&format!("rp1: {}:11:1: guest[0].colour: unknown field `colour`", desc.display())),
        "{first}"
    );
}

#[test]
fn an_unreadable_description_and_bad_options_are_bad_input() {
    let dir = scratch("unreadable");
    let missing = dir.join("absent.toml");
    let o = rp1(&["hv", missing.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(2));
    assert_eq!(
        stderr(&o),
        format!("rp1: {}: cannot read the description: No such file or directory (os error 2)\n", missing.display())
    );
    let desc = description(&dir, "g.elf", "");
    for bad in [&["--max-ms", "0"][..], &["--max-ms", "ten"], &["--frobnicate"]] {
        let mut args = vec!["hv", desc.to_str().unwrap()];
        args.extend_from_slice(bad);
        let o = rp1(&args);
        assert_eq!(o.status.code(), Some(2), "{bad:?}: {}", stderr(&o));
    }
    let o = rp1(&["hv"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("<DESCRIPTION>"), "{}", stderr(&o));
    // An endless or huge description: at most 1 MiB is read (once a bug:
    // `rp1 hv /dev/zero` read until memory ran out).
    let huge = dir.join("huge.toml");
    std::fs::File::create(&huge).unwrap().set_len(2 << 30).unwrap();
    for path in [Path::new("/dev/zero"), huge.as_path()] {
        let o = rp1(&["hv", path.to_str().unwrap()]);
        assert_eq!(o.status.code(), Some(2));
        assert_eq!(stderr(&o), format!("rp1: {}: the description is larger than 1048576 bytes\n", path.display()));
    }
    std::fs::write(&huge, b"\xff\xfe[hypervisor]").unwrap();
    let o = rp1(&["hv", huge.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).starts_with(&format!("rp1: {}: the description is not UTF-8 text: ", huge.display())), "{}", stderr(&o));
}

#[test]
fn images_that_do_not_fit_the_description_are_bad_input() {
    let dir = scratch("bad-images");
    // not an ELF file
    std::fs::write(dir.join("text.elf"), "hello").unwrap();
    let desc = description(&dir, "text.elf", "");
    let o = rp1(&["hv", desc.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(2));
    let want = format!("rp1: {}: guest[0].image: {}: not a valid ELF file: ", desc.display(), dir.join("text.elf").display());
    assert!(stderr(&o).starts_with(&want), "{}", stderr(&o));

    // endless, or huge: the header is read first, the size checked before
    // the rest is read (once a bug: `rp1 hv` read the whole file first)
    let desc = description(&dir, "/dev/zero", "");
    let o = rp1(&["hv", desc.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(2));
    let want = format!("rp1: {}: guest[0].image: /dev/zero: not a valid ELF file: ", desc.display());
    assert!(stderr(&o).starts_with(&want), "{}", stderr(&o));
    write_image(&dir, "huge.elf", 0x8880_0000, &exit_guest(0));
    std::fs::File::options().write(true).open(dir.join("huge.elf")).unwrap().set_len(300 << 20).unwrap();
    let desc = description(&dir, "huge.elf", "");
    let o = rp1(&["hv", desc.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(2));
    assert_eq!(
        stderr(&o),
        format!(
            "rp1: {}: guest[0].image: {}: the file is 314572800 bytes; an image file may have at most 268435456 bytes (256 MiB)\n",
            desc.display(),
            dir.join("huge.elf").display()
        )
    );

    // linked for another guest's partition
    write_image(&dir, "far.elf", 0x8900_0000, &exit_guest(0));
    let desc = description(&dir, "far.elf", "");
    let o = rp1(&["hv", desc.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(2));
    assert_eq!(
        stderr(&o),
        format!(
            "rp1: {}: guest[0].image: segment 0 of {} (0x8 bytes at physical 0x09000000) is outside the partition \
             (0x08800000-0x08ffffff)\n",
            desc.display(),
            dir.join("far.elf").display()
        )
    );

    // a parameter symbol the image does not define
    write_image(&dir, "g.elf", 0x8880_0000, &exit_guest(0));
    let desc = description(&dir, "g.elf", "params = [{ symbol = \"probe_params\", words = [1] }]\n");
    let o = rp1(&["hv", desc.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(2));
    assert_eq!(
        stderr(&o),
        format!(
            "rp1: {}: guest[0].params[0].symbol: \"probe_params\" is not defined in {}\n",
            desc.display(),
            dir.join("g.elf").display()
        )
    );
}

#[test]
fn a_timeline_path_that_cannot_be_created_is_bad_input() {
    let dir = scratch("bad-timeline");
    write_image(&dir, "g.elf", 0x8880_0000, &exit_guest(0));
    let desc = description(&dir, "g.elf", "");
    let o = rp1(&["hv", desc.to_str().unwrap(), "--timeline", "/nonexistent-rp1-dir/t.json"]);
    assert_eq!(o.status.code(), Some(2));
    assert_eq!(stderr(&o), "rp1: --timeline /nonexistent-rp1-dir/t.json: No such file or directory (os error 2)\n");
    assert_eq!(stdout(&o), "");
}

#[test]
fn a_guest_exiting_0_exits_0_and_writes_a_timeline() {
    let dir = scratch("exit-0");
    write_image(&dir, "g.elf", 0x8880_0000, &exit_guest(0));
    let desc = description(&dir, "g.elf", "");
    let timeline = dir.join("t.json");
    let o = rp1(&["hv", desc.to_str().unwrap(), "--timeline", timeline.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert_eq!(stderr(&o), "");
    let out = stdout(&o);
    assert!(out.starts_with("policy none, IPL separation on, spin-yield off\nrun ended: guest exit code 0 (every guest's exit status ORed) after "), "{out}");
    let line = out.lines().find(|l| l.starts_with("guest 0 `g` (exited 0 at ")).unwrap_or_else(|| panic!("{out}"));
    assert!(line.ends_with(" ms simulated):"), "{line}");
    assert!(out.contains("the board image") && out.contains("every cost below is measured"), "{out}");
    assert!(out.contains("(not started: the configuration does not use it)"), "{out}");
    assert!(!out.contains("hypervisor cost table"), "the cost table is no input of a native run: {out}");
    assert!(out.contains(&format!(" events written to {}", timeline.display())), "{out}");
    let v: Value = serde_json::from_str(&std::fs::read_to_string(&timeline).unwrap()).expect("the timeline is JSON");
    let events = v["traceEvents"].as_array().unwrap();
    let runs: Vec<&Value> = events.iter().filter(|e| e["cat"] == "run").collect();
    assert_eq!(runs.len(), 1);
    assert_eq!((runs[0]["name"].as_str(), runs[0]["pid"].as_u64()), (Some("g/vcpu0"), Some(1)));
    assert!(events.iter().any(|e| e["cat"] == "mark" && e["name"] == "g exits (status 0)"));
    assert_eq!(v["otherData"]["policy"], "none");

    // --quiet prints nothing; the same run without a timeline
    let o = rp1(&["hv", desc.to_str().unwrap(), "--quiet"]);
    assert_eq!(o.status.code(), Some(0));
    assert_eq!((stdout(&o), stderr(&o)), (String::new(), String::new()));
}

#[test]
fn a_guest_exiting_non_zero_or_the_time_limit_exits_1() {
    let dir = scratch("exit-1");
    write_image(&dir, "g.elf", 0x8880_0000, &exit_guest(3));
    let desc = description(&dir, "g.elf", "");
    let o = rp1(&["hv", desc.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(1));
    assert_eq!(stderr(&o), "rp1: guest `g` exited with status 3 (0x3)\n");
    assert!(stdout(&o).contains("guest 0 `g` (exited 3 at "), "{}", stdout(&o));

    write_image(&dir, "g.elf", 0x8880_0000, &spinning_guest());
    let o = rp1(&["hv", desc.to_str().unwrap(), "--max-ms", "2"]);
    assert_eq!(o.status.code(), Some(1));
    assert_eq!(stderr(&o), "rp1: stopped at --max-ms 2 (1200000 cycles) with `g` still running\n");
    assert!(stdout(&o).contains("guest 0 `g` (still running):"));
}

/// `rp1 hv` with an output that is one of its inputs: refused before
/// anything is written, the input left as it was.
#[test]
fn an_output_that_is_an_input_is_refused_and_left_alone() {
    let dir = scratch("output-is-input");
    write_image(&dir, "g.elf", 0x8880_0000, &exit_guest(0));
    let image = dir.join("g.elf");
    let original = std::fs::read(&image).unwrap();
    let desc = description(&dir, "g.elf", "");
    let desc_text = std::fs::read(&desc).unwrap();
    let cases = [
        (image.clone(), "guest `g`'s image", image.clone(), &["--hosted"][..]),
        (desc.clone(), "the description", desc.clone(), &["--hosted"][..]),
        (image.clone(), "the board image", image.clone(), &["--image", image.to_str().unwrap()][..]),
    ];
    for (out, what, input, extra) in cases {
        let mut args = vec!["hv", desc.to_str().unwrap(), "--timeline", out.to_str().unwrap()];
        args.extend_from_slice(extra);
        let o = rp1(&args);
        assert_eq!(o.status.code(), Some(2), "{args:?}: {}", stderr(&o));
        // The board image case names the guest's image first: it is the
        // same file.
        let first = if what == "the board image" { "guest `g`'s image" } else { what };
        assert_eq!(
            stderr(&o),
            format!(
                "rp1: --timeline {} is the same file as {first} {}: refusing to overwrite it; choose another path\n",
                out.display(),
                input.display()
            )
        );
        assert_eq!(std::fs::read(&image).unwrap(), original, "{args:?}");
        assert_eq!(std::fs::read(&desc).unwrap(), desc_text, "{args:?}");
    }
    // A board image that is no guest's image is named as such.
    let board = dir.join("board.elf");
    std::fs::write(&board, b"not an image").unwrap();
    let o = rp1(&["hv", desc.to_str().unwrap(), "--image", board.to_str().unwrap(), "--timeline", board.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("is the same file as the board image"), "{}", stderr(&o));
    assert_eq!(std::fs::read(&board).unwrap(), b"not an image");

    // --write-boot into the guests' own directory would write g.elf over
    // guest g's image.
    let o = rp1(&["hv", desc.to_str().unwrap(), "--image", board.to_str().unwrap(), "--write-boot", dir.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert_eq!(
        stderr(&o),
        format!(
            "rp1: --write-boot {} is the same file as guest `g`'s image {}: refusing to overwrite it; choose another path\n",
            image.display(),
            image.display()
        )
    );
    assert_eq!(std::fs::read(&image).unwrap(), original);
    assert!(!dir.join("boot.elf").exists(), "nothing was written");
}

/// A run that fails after the timeline was opened leaves a file that was
/// there before as it was, and removes only one it created.
#[test]
fn a_failed_run_deletes_no_file_it_did_not_create() {
    let dir = scratch("failed-run");
    write_image(&dir, "g.elf", 0x8880_0000, &exit_guest(0));
    let desc = description(&dir, "g.elf", "");
    let board = dir.join("board.elf");
    std::fs::write(&board, b"not an image").unwrap();
    let existing = dir.join("existing.json");
    std::fs::write(&existing, b"keep me").unwrap();
    let fresh = dir.join("fresh.json");
    for timeline in [&existing, &fresh] {
        let o = rp1(&[
            "hv",
            desc.to_str().unwrap(),
            "--image",
            board.to_str().unwrap(),
            "--timeline",
            timeline.to_str().unwrap(),
        ]);
        assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
        assert!(stderr(&o).starts_with(&format!("rp1: {}: the board image: ", desc.display())), "{}", stderr(&o));
    }
    assert_eq!(std::fs::read(&existing).unwrap(), b"keep me");
    assert!(!fresh.exists(), "the timeline the run created is removed");
}

/// A guest status that does not fit in 8 bits is still a failure, printed
/// whole, as `rp1 run` prints its guest's.
#[test]
fn a_guest_status_of_256_is_a_failure() {
    let dir = scratch("status-256");
    // mov #1,r4; shll8 r4; trapa #0x6e (EXIT 256); bra .; nop
    write_image(&dir, "g.elf", 0x8880_0000, &[0xe401, 0x4418, 0xc36e, 0xaffe, 0x0009]);
    let desc = description(&dir, "g.elf", "");
    let o = rp1(&["hv", desc.to_str().unwrap(), "--hosted", "--quiet"]);
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    assert_eq!(stderr(&o), "rp1: guest `g` exited with status 256 (0x100)\n");
}

/// `[faults]` runs on the board image and the report says what was
/// injected; the hosted model and --write-boot refuse it.
#[test]
fn faults_are_reported_on_the_board_image_and_refused_elsewhere() {
    let dir = scratch("faults");
    write_image(&dir, "g.elf", 0x8880_0000, &exit_guest(0));
    let desc = description(&dir, "g.elf", "\n[faults]\nseed = 3\nstall = [{ core = 2, at_ms = 0 }]\n");
    let o = rp1(&["hv", desc.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let out = stdout(&o);
    let line = out.lines().find(|l| l.starts_with("faults injected (seed 3): ")).unwrap_or_else(|| panic!("{out}"));
    assert!(line.starts_with("faults injected (seed 3): 0 ICIs lost, 0 ICIs delayed, ") && line.ends_with(" ms), 0 CSM words flipped"), "{line}");

    let o = rp1(&["hv", desc.to_str().unwrap(), "--hosted"]);
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert!(stderr(&o).contains("fault injection needs the board image (rp1 hv without --hosted)"), "{}", stderr(&o));

    let boot = dir.join("boot");
    let o = rp1(&["hv", desc.to_str().unwrap(), "--write-boot", boot.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert_eq!(
        stderr(&o),
        format!("rp1: {}: --write-boot writes no [faults]: the machine applies them only under `rp1 hv`\n", desc.display())
    );
    assert!(!boot.exists(), "nothing was written");
}
