//! Linux 6.1 SMP on the simulated RP1, booted from the initramfs built by
//! `scripts/build-linux.sh`: four CPUs come up, `/init` runs, hackbench
//! runs and reports a time, and the kernel halts the machine. Two boots of
//! the same images are identical to the cycle.

use rp1::linux::{boot, boot_with, build, Boot, LinuxImages};
use rp1_sim::cpu::jit::Tier;
use rp1_sim::machine::{Config, Exit};
use std::sync::OnceLock;

/// Far more than a boot and a short hackbench need (about 0.1 s).
const MAX_CYCLES: u64 = 600_000_000 * 5;

fn images() -> &'static LinuxImages {
    static IMAGES: OnceLock<LinuxImages> = OnceLock::new();
    IMAGES.get_or_init(|| build().unwrap_or_else(|e| panic!("building Linux for the RP1: {e}")))
}

fn boot_ok(cmdline: &str) -> Boot {
    let b = boot(images(), cmdline, MAX_CYCLES).expect("boot");
    assert_eq!(b.exit, Exit::Halted, "the kernel should halt the machine; console:\n{}", b.console);
    b
}

fn assert_lines_in_order(console: &str, lines: &[&str]) {
    let mut rest = console;
    for want in lines {
        match rest.find(want) {
            Some(at) => rest = &rest[at + want.len()..],
            None => panic!("console lacks {want:?} (in this order); console:\n{console}"),
        }
    }
}

#[test]
fn four_cpus_come_up_init_runs_hackbench_and_the_machine_halts() {
    let b = boot_ok("hackbench=1,10");
    assert_lines_in_order(
        &b.console,
        &[
            "Linux version 6.1",
            "CPU: SH-X3",
            "smp: Brought up 1 node, 4 CPUs",
            "printk: console [ttySC0] enabled",
            "Run /init as init process",
            "rp1-init: user space up, 4 CPUs online (0-3)",
            "Running in process mode with 1 groups using 40 file descriptors each (== 40 tasks)",
            "Each sender will pass 10 messages of 100 bytes",
            "Time: ",
            "rp1-init: hackbench exit status 0",
            "rp1-init: context switches during hackbench ",
            "rp1-init: halting",
            "reboot: System halted",
        ],
    );
    assert_eq!(b.cpus_online(), Some(4));
    // Each of hackbench's 40 tasks was switched to at least once.
    let switches = rp1::linux_guest::context_switches(&b.console).expect("/init counts the context switches");
    assert!(switches >= 40, "{switches} context switches");
    let t = b.hackbench_seconds().expect("hackbench time");
    assert!(t > 0.0 && t < 1.0, "hackbench took {t} s of simulated time");
    for bad in ["Oops", "BUG:", "Kernel panic", "Unable to handle", "unexpected IRQ"] {
        assert!(!b.console.contains(bad), "console contains {bad:?}:\n{}", b.console);
    }
    // One warning is expected and comes from the kernel's own tables, not
    // from the machine: setup-shx3.c gives vector 0xb00 to both VIN0 and
    // VCORE0, so registering the INTC maps irq 88 twice.
    assert_eq!(b.console.matches("WARNING:").count(), 1, "{}", b.console);
    assert_lines_in_order(&b.console, &["error: virq88 is already associated", "WARNING: CPU: 0 PID: 0 at kernel/irq/irqdomain.c"]);
    // Every core ran kernel code and went to sleep in the end.
    assert!(b.per_core.iter().all(|&(insns, _)| insns > 1_000_000), "{:?}", b.per_core);
    assert!(b.boot_cycles.unwrap() < b.cycles);
}

#[test]
fn maxcpus_1_brings_up_one_cpu_and_hackbench_still_runs() {
    let b = boot_ok("maxcpus=1 hackbench=1,10");
    assert_lines_in_order(
        &b.console,
        &["smp: Brought up 1 node, 1 CPU", "rp1-init: user space up, 1 CPUs online (0)", "rp1-init: hackbench exit status 0"],
    );
    // Cores 1-3 were never started.
    assert!(b.per_core[1..].iter().all(|&(insns, _)| insns == 0), "{:?}", b.per_core);
}

#[test]
fn two_boots_of_the_same_images_are_identical() {
    let a = boot_ok("hackbench=1,10");
    let b = boot_ok("hackbench=1,10");
    assert_eq!(a.console, b.console);
    assert_eq!((a.boot_cycles, a.boot_instructions), (b.boot_cycles, b.boot_instructions));
    assert_eq!(a.per_core, b.per_core);
    assert_eq!(a.cycles, b.cycles);
}

/// The translating tier boots the same Linux, cycle for cycle: the
/// console, when `/init` started, and every core's instructions and
/// cycles. Translating at the 64th arrival puts most of the boot and of
/// hackbench in translated code (counted, so this cannot pass by running
/// the interpreter twice); compiled in the background, too. The
/// reference is the interpreter stopping every core at every round's end;
/// the translating tier runs as the default machine does, a lone core
/// running through round ends with nothing to do (`cpu::Rounds`; the
/// boot runs on one core for its first part, and idle cores sleep).
#[test]
fn linux_boots_and_runs_hackbench_the_same_on_both_tiers() {
    let on = |tier, jit_hot, background, fuse| {
        let config = Config {
            cores: 4,
            tier: Some(tier),
            jit_hot,
            jit_background: Some(background),
            fuse_rounds: Some(fuse),
            ..Config::default()
        };
        let b = boot_with(images(), "hackbench=1,10", MAX_CYCLES, config).expect("boot");
        assert_eq!(b.exit, Exit::Halted, "{tier}: the kernel should halt the machine; console:\n{}", b.console);
        b
    };
    let interp = on(Tier::Interp, None, false, false);
    assert!(interp.jit.is_none());
    assert_eq!(interp.rounds.passed, 0);
    // Compiled on the simulating thread (so the count below is the same
    // every run), then in the background (translations come in whenever
    // the compiler thread has them).
    for background in [false, true] {
        let jit = on(Tier::Jit, Some(64), background, true);
        assert_eq!(jit.rounds.looked + jit.rounds.passed, interp.rounds.looked);
        assert!(jit.rounds.passed > interp.rounds.looked / 10, "{:?} of {:?}", jit.rounds, interp.rounds);
        assert_eq!(interp.console, jit.console);
        assert_eq!((interp.boot_cycles, interp.boot_instructions), (jit.boot_cycles, jit.boot_instructions));
        assert_eq!(interp.per_core, jit.per_core);
        assert_eq!((interp.cycles, interp.instructions), (jit.cycles, jit.instructions));
        let stats = jit.jit.expect("the translating tier's counters");
        assert_eq!(stats.background, background);
        if !background {
            assert!(stats.retired > jit.instructions / 2, "{stats:?} of {} instructions", jit.instructions);
        }
    }
}

#[test]
fn bad_hackbench_arguments_are_reported_and_init_still_halts() {
    let b = boot_ok("hackbench=x");
    assert!(b.console.contains("rp1-init: bad hackbench= value (want GROUPS,LOOPS)"), "{}", b.console);
    assert!(!b.console.contains("Running in process mode"));
    assert!(b.console.contains("rp1-init: halting"));
}
