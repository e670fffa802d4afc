//! The translating tier against the interpreter: instruction by
//! instruction (every inlined mnemonic, through a translation of one
//! word), and whole programs (random ones, self-modifying ones, a flush),
//! compared on everything the machine shows.

use super::translate::{literal, loops_back, Translator, INLINED, MEMORY_FAST};
use super::*;
use crate::bus::{Rp1Bus, OLRAM_BASE, OLRAM_SIZE, URAM_BASE};
use crate::cpu::code_cache::CodeCache;
use crate::cpu::{sr, OpTable};
use crate::machine::{Config, Exit, Machine};
use proptest::prelude::*;

/// A simple xorshift generator, for reproducible values.
fn rng(seed: &mut u64) -> u32 {
    *seed ^= *seed << 13;
    *seed ^= *seed >> 7;
    *seed ^= *seed << 17;
    (*seed >> 16) as u32
}

/// Everything an instruction can change in the CPU, for comparison. The
/// pending branch (`branch_pc`, `branch_target`) only while a slot is
/// pending: nothing reads it after, and translated code leaves it unset
/// where the slot cannot raise.
fn cpu_state(c: &Cpu) -> String {
    let branch = if c.slot_pending { format!("{:x}->{:x}", c.branch_pc, c.branch_target) } else { String::new() };
    format!(
        "{:x?} {:x?} sr={:x} gbr={:x} vbr={:x} ssr={:x} spc={:x} sgr={:x} dbr={:x} mach={:x} macl={:x} pr={:x} pc={:x} \
         cyc={} slot={} {branch} y={} {:?} fr={:x?} fpscr={:x} fpul={:x}",
        c.r, c.r_bank, c.sr(), c.gbr, c.vbr, c.ssr, c.spc, c.sgr, c.dbr, c.mach, c.macl, c.pr, c.pc, c.cycles,
        c.slot_pending, c.yield_now, c.stats, c.fr, c.fpscr(), c.fpul
    )
}

/// Code and data live at physical 0x0C000000 (P1 0x8C000000).
const CODE: u32 = 0x0C00_0000;
const P1: u32 = 0x8000_0000;

/// Every word of every inlined mnemonic (a sample of each, from several
/// states), and the loads with an inline fast path: a translation of that
/// one word, run to the next word, leaves exactly the state the opcode
/// table's handler leaves (plus the cycle the loop adds).
#[test]
fn inlined_words_do_what_their_handlers_do() {
    let table = OpTable::<Rp1Bus>::new();
    // Loads and stores (inlined with a fast path, the handler behind it).
    let memory: Vec<&str> = (0..=0xFFFFu16)
        .map(|op| table.mnemonic(op))
        .filter(|m| (m.starts_with("MOV.") && m.contains('@')) || MEMORY_FAST.contains(m))
        .collect();
    let mut seed = 0x2545_F491_4F6C_DD1Du64;
    let mut translator = Translator::new().expect("a Cranelift backend");
    let mut checked = 0;
    let mut first_seen = std::collections::HashSet::new();
    for op in 0..=0xFFFFu16 {
        let m = table.mnemonic(op);
        if !INLINED.contains(&m) && !memory.contains(&m) && !matches!(m, "BF label" | "BT label") {
            continue;
        }
        // A sample of each mnemonic's words, and its first word always
        // (every word of the few other loads and stores).
        if !rng(&mut seed).is_multiple_of(16) && !first_seen.insert(m) && !MEMORY_FAST.contains(&m) {
            continue;
        }
        first_seen.insert(m);
        // Word 1 is a branch target (of the BF at word 2), so word 0 is a
        // segment of its own: run to the limit one cycle on, the
        // translation runs exactly word 0.
        let mut code = vec![0x0009u16; 512];
        code[0] = op;
        code[2] = 0x8BFD; // bf (word 1)
        let bytes: Vec<u8> = code.iter().flat_map(|w| w.to_le_bytes()).collect();
        // Two identical buses with the code decoded (so marked as code).
        // Data the loads read: no two neighbouring bytes alike, so a load
        // from the wrong address or of the wrong width shows.
        let pattern: Vec<u8> = (0..0x6000u32).map(|i| (i * 7 + 3 + (i >> 8)) as u8).collect();
        let new_bus = || {
            let mut bus = Rp1Bus::new(1, 128 << 20);
            bus.load(0, CODE, &bytes).expect("code fits");
            bus.load(0, CODE + 0x2000, &pattern).expect("data fits");
            bus.load(0, URAM_BASE[0] + 0x2000, &pattern).expect("data fits");
            bus.load(0, OLRAM_BASE, &pattern[..OLRAM_SIZE as usize]).expect("data fits");
            let mut cache = CodeCache::<Rp1Bus>::new();
            cache.block(&mut bus, &table, CODE).expect("DRAM is cacheable");
            (bus, cache)
        };
        let (_, mut cache) = new_bus();
        let mut scratch = Rp1Bus::new(1, 128 << 20);
        scratch.load(0, CODE, &bytes).expect("code fits");
        let block = cache.block(&mut scratch, &table, CODE).expect("DRAM is cacheable");
        // Hints of every kind (`memory_hints`), right or wrong for the
        // rounds below: the order of the memory tests changes no result.
        let kinds = [None, Some(Memory::Local), Some(Memory::P4), Some(Memory::Plain)];
        let hints: MemoryHints = std::array::from_fn(|n| kinds[(n + op as usize) % 4]);
        // The latencies it counts: the bus's, as the tier's first request
        // found them (`Jit::latencies`).
        let assumed = latencies(&mut scratch, 0);
        let done = translator.translate(block, &table, P1 | CODE, 0, &hints, &assumed).expect("translates");
        // A load of a literal of the block is its value, counted at the
        // plain RAM's latency: only privileged code reaches P1 (a fetch
        // there in user mode raises), so round 8 is not its case.
        let folded = literal(block, &table, P1 | CODE, P1 | CODE, op).is_some();
        // Rounds 4 and 5 point the registers and GBR into the core's
        // URAM (the bus's local RAM) rather than DRAM; rounds 6 and 7
        // into its OL memory (the bus's P4 RAM), round 7 with SR.BL set
        // (where stores there go inline, `p4::write` not yielding for
        // them), round 8 in user mode (where P4 raises an address error). Rounds 9 and 10 are DRAM's
        // again with the FPU in other modes: FMOV.S then moves pairs, or
        // raises. In round 11 local memory has another latency than the
        // translation counts: the frame gives it no range of it, and its
        // accesses take the handlers. (Where DRAM's changed, the loop
        // enters no translation: `a_change_of_latency_starts_the_tier_again`.)
        for round in 0..12 {
            if round == 8 && folded {
                continue;
            }
            let (mut bus, _) = new_bus();
            let (mut bus2, _) = new_bus();
            if round == 11 {
                for b in [&mut bus, &mut bus2] {
                    b.latency.local = 2;
                }
            }
            let mut c = Cpu::new(0);
            c.reset(P1 | CODE);
            c.set_sr(match round {
                8 => 0,
                7 => sr::MD | sr::T | sr::BL,
                10 => sr::MD | sr::FD,
                _ if round % 2 == 0 => sr::MD,
                _ => sr::MD | sr::T,
            });
            if round == 9 {
                c.set_fpscr(c.fpscr() | crate::cpu::fpscr::SZ);
            }
            for fr in c.fr.iter_mut() {
                *fr = rng(&mut seed);
            }
            for r in c.r_bank.iter_mut() {
                *r = rng(&mut seed);
            }
            (c.vbr, c.ssr, c.spc, c.sgr, c.dbr) =
                (rng(&mut seed), rng(&mut seed), rng(&mut seed), rng(&mut seed), rng(&mut seed));
            // Where the registers point: P1 views of DRAM or URAM, or P4.
            let (data, span) = match round {
                4 | 5 => (P1 | URAM_BASE[0] | 0x4000, 0x3FFF),
                6..=8 => (OLRAM_BASE, OLRAM_SIZE - 1),
                _ => (P1 | 0x0C00_4000, 0x3FFF),
            };
            for r in 0..16 {
                c.r[r] = match rng(&mut seed) % 5 {
                    0 => data | (rng(&mut seed) & span & !3),
                    // At any alignment (MOVUA.L; the rest raise).
                    1 => data | (rng(&mut seed) & span),
                    2 => rng(&mut seed) & 0xFF,
                    _ => rng(&mut seed),
                };
            }
            c.r[0] &= if round < 2 { 0xFF } else { 0xFFFF_FFFF };
            c.gbr = if (6..=8).contains(&round) { OLRAM_BASE | 0x1000 } else { (data & !0x7FFF) | 0x2000 };
            c.pr = 0x8C00_1234;
            c.mach = rng(&mut seed);
            c.macl = rng(&mut seed);
            // A read and a write fill the windows, so loads and stores
            // take the fast path (the same write on both buses); not in
            // user mode, where P1 raises.
            if round >= 1 && round != 8 {
                c.read32(&mut bus, P1 | 0x0C00_0000).expect("DRAM reads");
                c.write32(&mut bus, P1 | 0x0C00_1000, 5).expect("DRAM writes");
                bus2.load(0, 0x0C00_1000, &5u32.to_le_bytes()).expect("DRAM");
            }
            c.code_vbase = P1 | CODE;
            let mut c2 = c.clone();
            // The interpreter's way: the handler, then the loop's cycle.
            let r1 = table.get(op)(&mut c, &mut bus, op);
            c.cycles += 1;
            let limit = c2.cycles + 1;
            let mut frame = Frame::new(&mut c2, &mut bus2, limit, &assumed);
            assert!(frame.latencies_hold());
            // SAFETY: entered as the contract asks (block base set, no slot).
            let exit = unsafe { enter(translator.trampoline(), done.code, &mut frame) };
            let (retired, exception) = (frame.retired, frame.exception);
            assert_eq!(retired, 1, "{op:#06x} {m}");
            match r1 {
                Ok(()) => assert_eq!(exit, EXIT_CONTINUE, "{op:#06x} {m}"),
                Err(e) => {
                    assert_eq!(exit, EXIT_EXCEPTION, "{op:#06x} {m}");
                    assert_eq!(exception, Some(e), "{op:#06x} {m}");
                }
            }
            assert_eq!(cpu_state(&c), cpu_state(&c2), "{op:#06x} {m} round {round}");
            assert_eq!(c.code_vbase, c2.code_vbase, "{op:#06x} {m} round {round}");
            for (at, len) in [(0x0C00_0000, 0x8000), (URAM_BASE[0], 0x8000), (OLRAM_BASE, OLRAM_SIZE as usize)] {
                let (mut mem, mut mem2) = (vec![0u8; len], vec![0u8; len]);
                assert!(bus.read_memory(0, at, &mut mem) && bus2.read_memory(0, at, &mut mem2));
                assert!(mem == mem2, "{op:#06x} {m} round {round}: memory at {at:#x} differs");
            }
            checked += 1;
        }
    }
    assert!(checked > 3000, "{checked}");
    for m in INLINED.iter().chain(&memory) {
        assert!(first_seen.contains(m), "{m} was not checked");
    }
}

/// Which memory a register's value points into, for the order of the
/// tests: DRAM and the core's own URAM through P1 or P2, its OL memory at
/// its P4 address; nothing through the MMU's segments, another core's
/// URAM or past a memory's end.
#[test]
fn memory_hints_name_the_memory_a_pointer_reaches() {
    let mut bus = Rp1Bus::new(2, 128 << 20);
    let mut r = [0u32; 16];
    r[0] = P1 | 0x0C00_0000; // DRAM
    r[1] = 0xA800_0000; // DRAM's first byte, through P2
    r[2] = P1 | URAM_BASE[1]; // core 1's URAM
    r[3] = P1 | (URAM_BASE[1] + 0x1_FFFC);
    r[4] = OLRAM_BASE + OLRAM_SIZE - 4; // OL memory
    r[5] = OLRAM_BASE + OLRAM_SIZE; // just past it
    r[6] = 0x0C00_0000; // P0: the MMU's
    r[7] = P1 | URAM_BASE[0]; // core 0's URAM
    r[8] = P1 | (0x0800_0000 + (128 << 20)); // just past DRAM
    let hints = memory_hints(&r, &mut bus, 1);
    use Memory::*;
    let expected = [Some(Plain), Some(Plain), Some(Local), Some(Local), Some(P4), None, None, None, None];
    assert_eq!(hints[..9], expected);
    assert!(hints[9..].iter().all(Option::is_none), "{hints:?}");
}

// ----- whole programs -----

/// Machine-code words for the programs below.
mod asm {
    pub fn mov_imm(n: u16, imm: i8) -> u16 {
        0xE000 | n << 8 | (imm as u8 as u16)
    }
    pub fn mov_l_pc(n: u16, disp: u16) -> u16 {
        0xD000 | n << 8 | disp
    }
    pub const NOP: u16 = 0x0009;
    pub fn dt(n: u16) -> u16 {
        0x4010 | n << 8
    }
    pub fn bf(disp: i8) -> u16 {
        0x8B00 | disp as u8 as u16
    }
    pub fn ldc_vbr(m: u16) -> u16 {
        0x402E | m << 8
    }
    pub fn mov_l_store(m: u16, n: u16) -> u16 {
        0x2002 | n << 8 | m << 4
    }
    pub fn bra(disp: i16) -> u16 {
        0xA000 | (disp as u16 & 0xFFF)
    }
}

/// A program's outcome on one tier: everything compared.
fn outcome(m: &mut Machine, exit: Exit) -> String {
    let mut s = format!("{exit:?} now={} console={:?}\n", m.now, m.console_text());
    for c in &m.cpus {
        s += &cpu_state(c);
        s.push('\n');
    }
    let data: Vec<u8> = (0..0x200u32).map(|a| m.bus.peek(0, 0x0C00_8000 + a).unwrap_or(0)).collect();
    s += &format!("{data:x?}");
    s
}

/// Run `words` (at P1 0x8C000000) on one core on `tier` for at most
/// `cycles`, with quantum `quantum`.
fn run_program(words: &[u16], tier: Tier, quantum: u64, cycles: u64, code_cap: Option<usize>) -> (String, Option<JitStats>) {
    run_program_with(words, tier, quantum, cycles, code_cap, None, tier == Tier::Jit)
}

/// `run_program`, and with `settle_every`, on the translating tier
/// compiling in the background: the run stops every `settle_every`
/// cycles (which changes nothing in it, `Machine::run`) to wait for the
/// translations asked for and install them, and installs them nowhere
/// else, so that they come in at points that are the same every run
/// (counters included), between which the words asked for and not yet
/// answered run interpreted, their blocks may be written, and a flush
/// may come. A lone core runs through round ends (`cpu::Rounds`) if
/// `fuse`: `run_program` has the interpreter, the reference, stop at
/// every round's end, and the translating tier run through them.
fn run_program_with(
    words: &[u16],
    tier: Tier,
    quantum: u64,
    cycles: u64,
    code_cap: Option<usize>,
    settle_every: Option<u64>,
    fuse: bool,
) -> (String, Option<JitStats>) {
    // Translate at the second visit: nearly everything runs translated.
    let background = Some(settle_every.is_some());
    let fuse_rounds = Some(fuse);
    let config =
        Config { cores: 1, quantum, tier: Some(tier), jit_hot: Some(2), jit_background: background, fuse_rounds, ..Config::default() };
    let mut m = Machine::new(config).expect("machine");
    if let Some(cap) = code_cap {
        m.bus.set_jit_code_cap(cap);
    }
    let bytes: Vec<u8> = words.iter().flat_map(|w| w.to_le_bytes()).collect();
    m.bus.load(0, CODE, &bytes).expect("program fits");
    m.cpus[0].reset(P1 | CODE);
    m.bus.set_jit_answers_at_settle_only(settle_every.is_some());
    let exit = match settle_every {
        None => m.run(cycles),
        Some(step) => {
            let mut at = 0;
            loop {
                at = (at + step).min(cycles);
                let exit = m.run(at);
                m.bus.jit_settle();
                if exit != Exit::CycleLimit || at == cycles {
                    break exit;
                }
            }
        }
    };
    let stats = m.bus.jit_stats();
    (outcome(&mut m, exit), stats)
}

/// `program` run to its end in slices of `quantum` cycles on both tiers:
/// the same outcome, a clean exit, and the translating tier's counters.
fn translated_run(program: &[u16], quantum: u64) -> JitStats {
    translated_run_with(program, quantum, true)
}

/// `translated_run`, the translating tier running through round ends
/// only if `fuse`.
fn translated_run_with(program: &[u16], quantum: u64, fuse: bool) -> JitStats {
    let (interp, _) = run_program(program, Tier::Interp, quantum, 1_000_000, None);
    let (jit, stats) = run_program_with(program, Tier::Jit, quantum, 1_000_000, None, None, fuse);
    assert_eq!(interp, jit);
    assert!(interp.starts_with("Guest(0)"), "{interp}");
    stats.expect("jit")
}

/// The frame every random program sits in: VBR at an exception handler
/// that ends the run (SIMCTL exit with EXPEVT), data pointers in r12
/// (0x8C008000) and r13 (0x8C008100), a loop counter in r14 around
/// `body` (which starts at word 14), then an exit with status 0.
fn framed(body: &[u16], loops: i8) -> Vec<u16> {
    use asm::*;
    let mut w = vec![
        mov_l_pc(1, 3),     // 0x00: r1 = VBR (literal at 0x10)
        ldc_vbr(1),         // 0x02
        mov_l_pc(12, 3),    // 0x04: r12 = data (0x14)
        mov_l_pc(13, 4),    // 0x06: r13 = data + 0x100 (0x18)
        mov_imm(14, loops), // 0x08
        bra(7),             // 0x0a: to 0x1c, word 14
        NOP,                // slot
        NOP,
        0x0000, 0x8C01, // 0x10: VBR 0x8C010000
        0x8000, 0x8C00, // 0x14: data
        0x8100, 0x8C00, // 0x18: data + 0x100
    ];
    let start = w.len();
    w.extend_from_slice(body);
    w.push(dt(14));
    let back = start as i64 - (w.len() as i64 + 2);
    if back >= i8::MIN as i64 {
        w.push(bf(back as i8));
    } else {
        // Too far for BF: BT over a BRA back (and its slot).
        w.push(0x8900 | 1); // bt +1: past the bra and its slot
        let back = start as i64 - (w.len() as i64 + 2);
        w.push(bra(back as i16));
        w.push(NOP);
    }
    // Exit 0 through SIMCTL (0xBBFF0000), its address at the next
    // 4-aligned literal after the code.
    let e = w.len();
    let lit = (2 * (e + 5)).next_multiple_of(4);
    w.extend_from_slice(&[0, mov_imm(0, 0), mov_l_store(0, 3), bra(-2), NOP]);
    w[e] = mov_l_pc(3, ((lit - (((2 * e) & !3) + 4)) / 4) as u16);
    while 2 * w.len() < lit {
        w.push(NOP);
    }
    w.extend_from_slice(&[0x0000, 0xBBFF]);
    // The exception handler at VBR + 0x100: exit with EXPEVT.
    while w.len() < 0x10100 / 2 {
        w.push(0);
    }
    w.extend_from_slice(&[
        mov_l_pc(1, 2), // r1 = EXPEVT's address (+12)
        0x6012,         // mov.l @r1,r0
        mov_l_pc(3, 2), // r3 = SIMCTL (+16)
        mov_l_store(0, 3),
        bra(-2),
        NOP,
        0x0024, 0xFF00,
        0x0000, 0xBBFF,
    ]);
    w
}

/// A random instruction for the loop body, with registers r0-r11 free and
/// r12/r13 data pointers: ALU, loads and stores through the pointers,
/// PC-relative loads, short forward branches with and without slots (a
/// PC-relative load among them then loads from the slot's PC on), and
/// now and then a word
/// that faults (an illegal one, or a load through a random register).
fn random_word(x: u32) -> u16 {
    let n = ((x >> 8) % 12) as u16;
    let m = ((x >> 12) % 12) as u16;
    let d = ((x >> 16) & 0xF) as u16;
    match x % 32 {
        0 => 0x300C | n << 8 | m << 4,  // add
        1 => 0x7000 | n << 8 | (x >> 20) as u16 & 0xFF, // add #imm
        2 => 0x3008 | n << 8 | m << 4,  // sub
        3 => 0x2009 | n << 8 | m << 4,  // and
        4 => 0x200A | n << 8 | m << 4,  // xor
        5 => 0x4000 | n << 8,          // shll
        6 => 0x4001 | n << 8,          // shlr
        7 => 0x4024 | n << 8,          // rotcl
        8 => 0x3000 | n << 8 | m << 4,  // cmp/eq
        9 => 0x3007 | n << 8 | m << 4,  // cmp/gt
        10 => 0x2008 | n << 8 | m << 4, // tst
        11 => 0x6003 | n << 8 | m << 4, // mov
        12 => 0x5000 | n << 8 | 12 << 4 | d, // mov.l @(disp,r12),rn
        13 => 0x1000 | 13 << 8 | m << 4 | d, // mov.l rm,@(disp,r13)
        14 => 0x8400 | 12 << 4 | d,          // mov.b @(disp,r12),r0
        15 => 0x0029 | n << 8,               // movt
        16 => 0x8B00 | ((x >> 20) as u16 % 4),  // bf +0..3
        17 => 0x8D00 | ((x >> 20) as u16 % 4),  // bt/s +0..3
        18 => 0x8F00 | ((x >> 20) as u16 % 4),  // bf/s +0..3
        19 => 0xA000 | ((x >> 20) as u16 % 4),  // bra +0..3
        20 => 0x300E | n << 8 | m << 4, // addc
        21 => 0x0007 | n << 8 | m << 4, // mul.l
        22 => 0x001A | n << 8,          // sts macl
        23 => 0x6004 | n << 8 | 12 << 4, // mov.b @r12+,rn ... r12 moves
        24 => 0x2006 | 13 << 8 | m << 4, // mov.l rm,@-r13
        25 => 0x600E | n << 8 | m << 4,  // exts.b
        26 => {
            if (x >> 20).is_multiple_of(8) {
                0xFFFD // an undefined word
            } else {
                0x6002 | n << 8 | m << 4 // mov.l @rm,rn: often faults
            }
        }
        27 => 0x4010 | n << 8,          // dt
        28 => 0x0009,                  // nop
        29 => 0x400C | n << 8 | m << 4,  // shad
        // PC-relative loads: of the loop's own words, the exit's, or
        // past them (the literals of the block or of the next).
        30 => 0xD000 | n << 8 | (x >> 20) as u16 & 0xFF, // mov.l @(disp,pc),rn
        _ => 0x9000 | n << 8 | (x >> 20) as u16 & 0xFF,  // mov.w @(disp,pc),rn
    }
}

/// A random word for loop bodies made of runs of accesses off one base
/// register (`access::base_run`): mostly 4-byte stores off r13 and loads
/// off r12 in each of their forms (registers, PR, a bank register, FPUL,
/// FPSCR, FPU registers, SSR; @-Rn, @Rn, @(disp,Rn), @Rn+), now and then
/// a word that ends a run (the base as the data, a byte access, another
/// base) or any word of `random_word`.
fn random_run_word(x: u32) -> u16 {
    let n = ((x >> 8) % 12) as u16;
    let d = ((x >> 16) & 0xF) as u16;
    match x % 25 {
        20 => 0x4C87 | (n & 7) << 4,        // ldc.l @r12+,rn_bank
        21 => 0x4D52,                       // sts.l fpul,@-r13
        22 => 0x4D62,                       // sts.l fpscr,@-r13
        23 => 0x4C56,                       // lds.l @r12+,fpul
        24 => 0x4C37,                       // ldc.l @r12+,ssr
        0..=3 => 0x2D06 | n << 4,           // mov.l rn,@-r13
        4 => 0x2D02 | n << 4,               // mov.l rn,@r13
        5 => 0x1D00 | n << 4 | d,           // mov.l rn,@(disp,r13)
        6 => 0x4D22,                        // sts.l pr,@-r13
        7 => 0x4D83 | (n & 7) << 4,         // stc.l rn_bank,@-r13
        8 => 0xFD0B | n << 4,               // fmov.s frn,@-r13
        9..=11 => 0x60C6 | n << 8,          // mov.l @r12+,rn
        12 => 0x50C0 | n << 8 | d,          // mov.l @(disp,r12),rn
        13 => 0x60C2 | n << 8,              // mov.l @r12,rn
        14 => 0x4C26,                       // lds.l @r12+,pr
        15 => 0xF0C9 | n << 8,              // fmov.s @r12+,frn
        16 => 0x2DD6,                       // mov.l r13,@-r13
        17 => 0x2D04 | n << 4,              // mov.b rn,@-r13
        18 => 0x2C16,                       // mov.l r1,@-r12
        _ => random_word(x >> 5),
    }
}

/// The loop of `words` (`framed`), run on the interpreter and on the
/// translating tier with `quantum`: the same outcome. Returns the program
/// and the interpreter's outcome.
fn random_loop_on_both_tiers(words: &[u16], quantum: u64, loops: i8) -> Result<(Vec<u16>, String), TestCaseError> {
    let program = framed(words, loops);
    let (interp, _) = run_program(&program, Tier::Interp, quantum, 200_000, None);
    let (jit, stats) = run_program(&program, Tier::Jit, quantum, 200_000, None);
    prop_assert_eq!(&interp, &jit);
    prop_assert!(stats.is_some());
    Ok((program, interp))
}

/// A random word for loop bodies made of stretches (`access::stretch`),
/// after words that point r1-r3 at the data: copies of the data pointers
/// r12 and r13 into the base registers r1-r3,
/// moves of them by small constants (now and then by one, which leaves
/// them unaligned), 4-byte loads and stores off them (@(disp,Rn), @Rn+,
/// @-Rn) of r0-r11, register words between (some of them writing a base
/// register), and now and then any word of `random_word`.
fn random_stretch_word(x: u32) -> u16 {
    let n = ((x >> 8) % 12) as u16;
    let base = 1 + ((x >> 12) % 3) as u16;
    let d = ((x >> 16) & 0xF) as u16;
    let imm = [-8i8, -4, 4, 8, 12, 1][((x >> 20) % 6) as usize];
    match x % 16 {
        0 | 1 => 0x6003 | base << 8 | (12 + (x >> 24) as u16 % 2) << 4, // mov r12/r13,base
        2 => 0x7000 | base << 8 | imm as u8 as u16,                      // add #imm,base
        3 => 0x6003 | base << 8 | (1 + (x >> 24) as u16 % 3) << 4,       // mov base',base
        4..=6 => 0x5000 | n << 8 | base << 4 | d,                        // mov.l @(disp,base),rn
        7 | 8 => 0x1000 | base << 8 | n << 4 | d,                        // mov.l rn,@(disp,base)
        9 => 0x6006 | n << 8 | base << 4,                                // mov.l @base+,rn
        10 => 0x2006 | base << 8 | n << 4,                               // mov.l rn,@-base
        11 => 0x300C | n << 8 | (x >> 24) as u16 % 12 << 4,              // add rm,rn
        12 => 0x4009 | n << 8,                                           // shlr2 rn
        13 => 0x8800 | (x >> 20) as u16 & 0xFF,                          // cmp/eq #imm,r0
        _ => random_word(x >> 4),
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 48, ..ProptestConfig::default() })]

    /// Random loop bodies, run under both tiers with a random quantum (so
    /// slices end mid-translation): the same exit, cycles, registers,
    /// counters, memory and console.
    #[test]
    fn random_programs_run_identically(body in prop::collection::vec(any::<u32>(), 4..48), quantum in 1u64..200, loops in 10i8..60) {
        let words: Vec<u16> = body.iter().map(|&x| random_word(x)).collect();
        let (program, interp) = random_loop_on_both_tiers(&words, quantum, loops)?;
        let (background, _) = run_program_with(&program, Tier::Jit, quantum, 200_000, None, Some(997), true);
        prop_assert_eq!(interp, background);
    }

    /// The same with bodies of 2 to 11 words, so that the whole loop is
    /// one short translation that jumps back into itself, with its counts
    /// carried from word to word and settled at the jump back
    /// (`Emitter::lazy`): every way out of it (a round's end, a fault, a
    /// load or store the direct ranges miss) must leave the interpreter's
    /// state and counts.
    #[test]
    fn short_random_loops_run_identically(body in prop::collection::vec(any::<u32>(), 2..12), quantum in 1u64..120, loops in 10i8..60) {
        let words: Vec<u16> = body.iter().map(|&x| random_word(x)).collect();
        random_loop_on_both_tiers(&words, quantum, loops)?;
    }

    /// Bodies made mostly of stretches (`random_stretch_word`), with a
    /// random quantum (so the limit falls inside them): each done as one
    /// where its tests pass, and word by word where not (the limit before
    /// its last word, a span leaving DRAM or unaligned, code in a block
    /// it stores to), the same outcome.
    #[test]
    fn random_stretches_run_identically(body in prop::collection::vec(any::<u32>(), 2..40), quantum in 1u64..160, loops in 10i8..60) {
        // The bases point at the data first: mov r12,r1; mov r13,r2; mov r12,r3.
        let words: Vec<u16> = [0x61C3, 0x62D3, 0x63C3].into_iter().chain(body.iter().map(|&x| random_stretch_word(x))).collect();
        random_loop_on_both_tiers(&words, quantum, loops)?;
    }

    /// Bodies made mostly of runs of pushes and pops (`random_run_word`),
    /// with a random quantum (so the limit falls inside runs): each run
    /// done as one where its tests pass, and word by word where not (the
    /// limit before its last word, its span leaving DRAM, a reservation
    /// or code in a block it stores to), the same outcome.
    #[test]
    fn random_runs_of_pushes_and_pops_run_identically(body in prop::collection::vec(any::<u32>(), 2..40), quantum in 1u64..160, loops in 10i8..60) {
        let words: Vec<u16> = body.iter().map(|&x| random_run_word(x)).collect();
        random_loop_on_both_tiers(&words, quantum, loops)?;
    }
}

/// A loop that rewrites, every iteration, the instruction of a
/// subroutine it then calls twice (`add #k,r5` with k = the loop count); with
/// `evict`, it also calls a subroutine 1 MiB further on, whose block takes
/// the first one's slot in the decoded-code cache, so the store lands on a
/// block that is translated but no longer decoded. The program's result
/// is its exit status.
fn self_modifying_program(evict: bool) -> Vec<u16> {
    use asm::*;
    let mut v = vec![
        mov_l_pc(6, 3),  // 0x00: r6 = 0x8C000400, the subroutine (0x10)
        0x6263,          // 0x02: mov r6,r2
        mov_l_pc(3, 3),  // 0x04: r3 = 0x7500, add #0,r5 (0x14)
        mov_l_pc(7, 4),  // 0x06: r7 = 0x8C100400, the evictor (0x18)
        mov_imm(14, 40), // 0x08
        bra(7),          // 0x0a: to word 14
        NOP,
        NOP,
        0x0400, 0x8C00, // 0x10
        0x7500, 0x0000, // 0x14
        0x0400, 0x8C10, // 0x18
        // word 14: the loop
        0x6433, // mov r3,r4
        0x34EC, // add r14,r4: add #r14,r5
        0x2241, // mov.w r4,@r2
        0x460B, // jsr @r6 (twice: the second call runs translated)
        NOP,    // slot
        0x460B, // jsr @r6
        NOP,    // slot
        if evict { 0x470B } else { NOP }, // jsr @r7
        NOP,    // slot
        dt(14),
        bf(-12), // to word 14
        // word 25: exit with r5
        mov_l_pc(1, 2), // SIMCTL (0x3c)
        0x6053,         // mov r5,r0
        0x2102,         // mov.l r0,@r1
        bra(-2),
        NOP,
        0x0000, 0xBBFF, // 0x3c
    ];
    v.resize(0x200, NOP);
    v.extend_from_slice(&[0x7500, 0x000B, NOP]); // add #?,r5; rts; nop
    if evict {
        v.resize(0x80200, 0);
        v.extend_from_slice(&[NOP, 0x000B, NOP]); // nop; rts; nop
    }
    v
}

/// The new instruction runs each time, on both tiers, with the same
/// cycles, while the loop itself runs translated; also when the rewritten
/// block has been pushed out of the decoded-code cache between its
/// translation and the store (translations are keyed by physical block,
/// and the store still ends them).
#[test]
fn self_modifying_code_runs_the_new_code() {
    for evict in [false, true] {
        let v = self_modifying_program(evict);
        let (interp, _) = run_program(&v, Tier::Interp, 1000, 1_000_000, None);
        let (jit, stats) = run_program(&v, Tier::Jit, 1000, 1_000_000, None);
        assert_eq!(interp, jit, "evict {evict}");
        // 2 x (40 + 39 + ... + 1): each add runs just after its store.
        assert!(interp.starts_with("Guest(1640)"), "{interp}");
        assert!(stats.expect("jit").translations > 0);
    }
}

/// The same compiling in the background, answers taken every 50 cycles
/// (the loop's 40 iterations take about 2,000): translations of the
/// rewritten block that come back after the next store to it are not
/// installed (counted stale); the machine is the interpreter's.
#[test]
fn self_modifying_code_runs_the_new_code_when_compiled_in_the_background() {
    for evict in [false, true] {
        let v = self_modifying_program(evict);
        let (interp, _) = run_program(&v, Tier::Interp, 50, 1_000_000, None);
        let (jit, stats) = run_program_with(&v, Tier::Jit, 50, 1_000_000, None, Some(50), true);
        assert_eq!(interp, jit, "evict {evict}");
        let stats = stats.expect("jit");
        assert!(stats.translations > 0 && stats.stale > 0, "{stats:?}");
    }
}

/// A loop that adds a PC-relative literal to r5 eight times, then stores
/// the literal plus one back in its place (at P1 0x8C000000 + `literal`),
/// 10 times over; then exits with r5: 8 x (1 + 2 + ... + 10) = 440.
fn literal_rewriting_program(literal: u32) -> Vec<u16> {
    use asm::*;
    let mut v = vec![
        mov_l_pc(6, 2),  // 0x00: r6 = the literal's address (0x0c)
        mov_imm(5, 0),   // 0x02
        mov_imm(14, 10), // 0x04
        bra(3),          // 0x06: to 0x10
        NOP,
        NOP,
        literal as u16, 0x8C00 | (literal >> 16) as u16, // 0x0c
        mov_imm(13, 8), // 0x10: the outer loop
        mov_l_pc(1, ((literal - 0x14) / 4) as u16), // 0x12: the inner loop
        0x351C,            // add r1,r5
        dt(13),
        bf(-5),            // to 0x12
        0x7101,            // add #1,r1
        mov_l_store(1, 6), // the literal, one more
        dt(14),
        bf(-10), // to 0x10
        // 0x22: exit with r5
        mov_l_pc(1, 9), // SIMCTL (0x48)
        0x6053,         // mov r5,r0
        0x2102,         // mov.l r0,@r1
        bra(-2),
        NOP,
    ];
    v.resize(0x48 / 2, NOP);
    v.extend_from_slice(&[0x0000, 0xBBFF]);
    v.resize(0x800 / 2, NOP);
    v[literal as usize / 2] = 1;
    v[literal as usize / 2 + 1] = 0;
    v
}

/// A load of a literal of its own block is compiled as the literal's
/// value (`translate::literal`); a store to the literal ends the block's
/// translations as a store to its code does, so the next load reads the
/// new value, with the same cycles as the interpreter's. With the literal
/// the block's last word, and the first of the next block (a load the
/// translation does through the memory, since a store there does not end
/// this block's translations).
#[test]
fn a_literal_rewritten_is_read_anew() {
    for literal in [0x40, 0x3FC, 0x400] {
        let v = literal_rewriting_program(literal);
        let (interp, _) = run_program(&v, Tier::Interp, 1000, 1_000_000, None);
        let (jit, stats) = run_program(&v, Tier::Jit, 1000, 1_000_000, None);
        assert_eq!(interp, jit, "literal at {literal:#x}");
        assert!(interp.starts_with("Guest(440)"), "{interp}");
        let stats = stats.expect("jit");
        assert!(stats.translations > 0 && stats.retired > 0, "{stats:?}");
    }
}

/// Translations count the plain RAM's read latency as it was when the
/// first was asked for; where the bus's changes, the loop enters none of
/// them, and the tier starts again (a flush) from the new latencies. The
/// same machine as the interpreter's, a loop of PC-relative loads with
/// DRAM's latency changed in its middle.
#[test]
fn a_change_of_latency_starts_the_tier_again() {
    let run = |tier: Tier| {
        let config =
            Config { cores: 1, quantum: 20, tier: Some(tier), jit_hot: Some(2), jit_background: Some(false), ..Config::default() };
        let mut m = Machine::new(config).expect("machine");
        // r1 += the literal at 0x24 (the loop's own words), 100 times.
        let program = framed(&[0xD201, 0x312C], 100);
        let bytes: Vec<u8> = program.iter().flat_map(|w| w.to_le_bytes()).collect();
        m.bus.load(0, CODE, &bytes).expect("program fits");
        m.cpus[0].reset(P1 | CODE);
        let first = m.run(300);
        m.bus.latency.dram += 2;
        let exit = m.run(1_000_000);
        (format!("{first:?} {}", outcome(&mut m, exit)), m.bus.jit_stats())
    };
    let (interp, _) = run(Tier::Interp);
    let (jit, stats) = run(Tier::Jit);
    assert_eq!(interp, jit);
    let stats = stats.expect("jit");
    assert!(interp.starts_with("CycleLimit Guest(0)"), "{interp}");
    assert!(stats.flushes == 1 && stats.translations >= 2, "{stats:?}");
}

/// A loop that reads the CCN's TTB through base registers loaded from
/// literals (as the hypervisor's exception entry reads PTEH, TTB, TEA and
/// the rest): translated, such a read loads the `Cpu`'s field
/// (`Emitter::ccn_field`), where the base's value is known. Two traps
/// for what "known" may mean: the inner loop's head is reached with the
/// base a literal made the CCN's the first time and a DRAM pointer after
/// (a branch target forgets what the words before it made known), and
/// an ADD that the run compiles twice: in a delayed branch's slot (on
/// the taken way, and as the next word on the other) and at a segment's
/// start (in its limit ladder, and on its way). Exits with r5: 100 x
/// (3 x TTB + 2 x 7).
fn ccn_reading_program() -> Vec<u16> {
    use asm::*;
    let mut v = vec![
        mov_l_pc(1, 16), // 0x00: r1 = 0xFF000000 (0x44)
        mov_l_pc(2, 17), // 0x02: r2 = TTB's value (0x48)
        0x1122,          // 0x04: mov.l r2,@(8,r1): TTB
        mov_l_pc(2, 17), // 0x06: r2 = TEA's value (0x4c)
        0x1123,          // 0x08: mov.l r2,@(12,r1): TEA
        mov_imm(14, 100), // 0x0a
        mov_imm(5, 0),   // 0x0c
        NOP,             // 0x0e
        mov_l_pc(6, 12), // 0x10: the outer loop; r6 = 0xFF000000
        mov_imm(13, 3),  // 0x12
        0x5062,          // 0x14: the inner loop; mov.l @(8,r6),r0
        0x350C,          // 0x16: add r0,r5
        mov_l_pc(6, 13), // 0x18: r6 = a DRAM pointer (0x50)
        0x4D10,          // 0x1a: dt r13
        bf(-6),          // 0x1c: to 0x14
        mov_l_pc(7, 13), // 0x1e: r7 = 0xFF000004 (0x54)
        0x6962,          // 0x20: mov.l @r6,r9 (ends a segment)
        0x7704,          // 0x22: add #4,r7 (its limit ladder has it too)
        0x6072,          // 0x24: mov.l @r7,r0: TTB
        0x350C,          // 0x26: add r0,r5
        mov_l_pc(7, 10), // 0x28: r7 = 0xFF000004 (0x54)
        0x0008,          // 0x2a: clrt
        0x8D02,          // 0x2c: bt/s 0x34 (never taken)
        0x7704,          // 0x2e: add #4,r7 (the slot)
        0x6072,          // 0x30: mov.l @r7,r0: TTB
        0x350C,          // 0x32: add r0,r5
        0x4E10,          // 0x34: dt r14
        bf(-21),         // 0x36: to 0x10
        mov_l_pc(1, 7),  // 0x38: SIMCTL (0x58)
        0x6053,          // 0x3a: mov r5,r0
        0x2102,          // 0x3c: mov.l r0,@r1
        bra(-2),
        NOP,
        NOP,
        0x0000, 0xFF00, // 0x44
        0x0100, 0x0000, // 0x48: TTB
        0x5678, 0x0000, // 0x4c: TEA
        0x07F8, 0x8C00, // 0x50: the DRAM pointer, 8 before 0x8C000800
        0x0004, 0xFF00, // 0x54
        0x0000, 0xBBFF, // 0x58
    ];
    v.resize(0x800 / 2, NOP);
    v.extend_from_slice(&[7, 0]);
    v
}

#[test]
fn ccn_registers_read_through_known_addresses() {
    let v = ccn_reading_program();
    let (interp, _) = run_program(&v, Tier::Interp, 1000, 1_000_000, None);
    let (jit, stats) = run_program(&v, Tier::Jit, 1000, 1_000_000, None);
    assert_eq!(interp, jit);
    assert!(interp.starts_with(&format!("Guest({})", 100 * (3 * 0x100 + 2 * 7))), "{interp}");
    let stats = stats.expect("jit");
    assert!(stats.retired > 2000, "{stats:?}");
}

/// With a code cap smaller than the program's translations, the tier
/// flushes again and again; the machine does not notice.
#[test]
fn a_full_translation_cache_is_flushed_and_nothing_changes() {
    let mut seed = 77u64;
    // No word that may fault (23 and 26 load through moving or random
    // pointers) or leave the loop (16 to 19: a forward branch among its
    // last words skips its DT and BF), so it runs all its iterations.
    let words: Vec<u16> = (0..40)
        .map(|_| loop {
            let x = rng(&mut seed);
            if !matches!(x % 32, 16..=19 | 23 | 26) {
                break random_word(x);
            }
        })
        .collect();
    let program = framed(&words, 50);
    // Every round's end: a core that runs through them stays in its
    // translations, and asks for fewer.
    let (interp, _) = run_program(&program, Tier::Interp, 37, 400_000, None);
    let (jit, stats) = run_program_with(&program, Tier::Jit, 37, 400_000, Some(1), None, false);
    assert_eq!(interp, jit);
    let stats = stats.expect("jit");
    assert!(stats.flushes > 1, "{stats:?}");
    assert!(stats.code_bytes < 64 << 10, "{stats:?}");
    // In the background a flush may come with translations still being
    // compiled: those come back stale, freed with the rest.
    let (background, stats) = run_program_with(&program, Tier::Jit, 37, 400_000, Some(1), Some(500), false);
    assert_eq!(interp, background);
    let stats = stats.expect("jit");
    assert!(stats.flushes > 1, "{stats:?}");
}

/// Words are translated where control arrives, not where it falls
/// through: a loop of 40 straight words (longer than one translation)
/// gets exactly two translations, one at its head (entered from the back
/// branch) and one where the first ends, however often the interpreter
/// ran the loop's other words one by one. (When every word the loop ran
/// was a visit, this program made 32.)
#[test]
fn only_arrival_points_become_translations() {
    let add_one_to_r2 = 0x7201;
    let program = framed(&[add_one_to_r2; 40], 50);
    // Slices of 200 cycles: each ends somewhere in the loop, and the
    // words before the end that a translation cannot fit run one by one.
    let stats = translated_run(&program, 200);
    assert_eq!(stats.translations, 2, "{stats:?}");
    // Of the 2,100 instructions of the loop (50 x 40 adds, DT and BF),
    // most run translated: all but the first iteration and the words
    // before each slice's end.
    assert!(stats.retired > 2100 * 3 / 4, "{stats:?}");
}

/// A slice that ends inside a run of pure words: the translation runs
/// them up to the limit itself, each tested as the interpreter tests it
/// (`limit_ladder`), and leaves at the first word it may not start. The
/// loop of 40 adds above in rounds of 200 cycles, stopping at each round's
/// end: the same run as the interpreter's, with 1,821 instructions
/// translated in 13 entries from the loop. (When a failed segment test
/// left at the segment's start, the loop entered the next translation only
/// to see its first test fail too, then interpreted up to the limit: 1,695
/// translated in 23 entries.)
#[test]
fn a_slice_that_ends_among_pure_words_runs_them_translated() {
    let stats = translated_run_with(&framed(&[0x7201; 40], 50), 200, false);
    assert_eq!((stats.translations, stats.retired, stats.calls), (2, 1821, 13), "{stats:?}");
}

/// The same loop with the core let run through round ends (`cpu::Rounds`,
/// one core, nothing else on the machine): the translation goes on at
/// each end itself (`pass_or_exit`) instead of leaving to the loop. The
/// same run, with 2,051 instructions translated in 3 entries: all but the
/// loop's first pass (interpreted while its words turn hot) and the exit.
#[test]
fn a_translation_runs_on_through_round_ends() {
    let stats = translated_run_with(&framed(&[0x7201; 40], 50), 200, true);
    assert_eq!((stats.translations, stats.retired, stats.calls), (2, 2051, 3), "{stats:?}");
}

/// A translation hands over to the translation of another word of its
/// block without going back to the loop. The 40-word loop above, in one
/// slice: iteration 1 is interpreted; in 2 the loop enters the head's new
/// translation, which ends at word 32 of the loop (interpreted: one
/// visit); in 3 the loop enters the head again, then word 32's new
/// translation. From iteration 4 to 50 each is two hand-overs: to word
/// 32's translation, and back to the head's.
#[test]
fn a_loop_across_two_translations_runs_by_hand_overs() {
    let stats = translated_run(&framed(&[0x7201; 40], 50), 1_000_000);
    assert_eq!((stats.translations, stats.calls, stats.chained), (2, 3, 47 * 2), "{stats:?}");
}

/// Hand-overs cross blocks in a fixed segment (the programs run in P1): a
/// loop of 600 words runs from its first 1 KiB block into the next and
/// branches back. Each of its 20 entries is entered from the loop at its
/// first arrivals, before the translation before it can hand over; then
/// every iteration is 20 hand-overs and no entry from the loop. (Without
/// hand-overs across blocks, the loop entered translations 116 times:
/// twice an iteration, into the second block and back.)
#[test]
fn hand_overs_cross_into_the_next_block_and_back() {
    let stats = translated_run(&framed(&[0x7201; 600], 50), 1_000_000);
    // Words 14 to 494 of the first block, 32 apart, and 512 to 608 of the
    // second (the run from 608 holds DT, BT and BRA back).
    assert_eq!(stats.translations, 20, "{stats:?}");
    assert!(stats.calls < 2 * 20, "{stats:?}");
    assert!(stats.chained > 25 * 20, "{stats:?}");
}

/// Computed targets hand over too (in P1): each iteration calls a
/// subroutine in another block (JSR @r12, where r12 points 32 KiB on)
/// and returns (RTS). After the first iterations the loop never enters
/// translations again: a hand-over to the subroutine, one back to the
/// word after the call, and one to the loop's head, each iteration.
/// (With hand-overs inside a block only, the loop entered translations
/// 99 times.)
#[test]
fn calls_and_returns_hand_over_across_blocks() {
    let jsr_at_r12 = 0x4C0B;
    let mut program = framed(&[jsr_at_r12, asm::NOP, 0x7201], 50);
    // The subroutine at 0x8C008000 (r12): r3 += 1, return.
    program[0x4000..0x4003].copy_from_slice(&[0x7301, 0x000B, asm::NOP]);
    let stats = translated_run(&program, 1_000_000);
    // The head (JSR and slot), the subroutine, the word after the call.
    assert_eq!(stats.translations, 3, "{stats:?}");
    assert!(stats.calls < 10, "{stats:?}");
    assert!(stats.chained >= 3 * 45, "{stats:?}");
}

/// Registers and T a handler changes in the middle of a translation are
/// what the inlined words after it read: translations hold the fields
/// they use in variables, and load them again after each handler call,
/// in a delay slot too. (ADDC is not inlined; with either load left out,
/// the sums stored below differ from the interpreter's.)
#[test]
fn inlined_words_read_what_a_handler_wrote() {
    use asm::*;
    let body = [
        mov_imm(1, -3),
        0x6313, // mov r1,r3
        0x321E, // addc r1,r2: a handler writes r2 and T
        0x332C, // add r2,r3
        0x0429, // movt r4
        0x343C, // add r3,r4
        0x1D40, // mov.l r4,@(0,r13)
        0x1D21, // mov.l r2,@(4,r13)
        0x8D01, // bt/s (taken: T is ADDC's carry, set once r2 wraps)
        0x351E, // addc r1,r5, in the slot
        NOP,
        0x365C, // add r5,r6: the branch's target
        0x1D62, // mov.l r6,@(8,r13)
    ];
    let stats = translated_run(&framed(&body, 30), 100_000);
    assert!(stats.retired > 250, "{stats:?}");
}

/// Loads and stores that move the data windows between two views of the
/// same DRAM (P1 and its uncached P2 alias) inside one translation: each
/// move lands in a slow path that gives the frame the new window's range
/// while it keeps the other's (`Frame::refresh`), and every access still
/// reads and writes what the interpreter's do.
#[test]
fn windows_moving_between_views_of_memory_inside_a_translation() {
    use asm::*;
    let body = [
        mov_imm(10, 32),
        0x4A28, // shll16 r10
        0x4A18, // shll8 r10: 0x20000000
        0x6BA3, // mov r10,r11
        0x3ACC, // add r12,r10: r12's data through P2
        0x3BDC, // add r13,r11: r13's data through P2
        0x60C2, // mov.l @r12,r0 (P1)
        0x51A1, // mov.l @(4,r10),r1 (P2)
        0x301C, // add r1,r0
        0x7001, // add #1,r0
        0x2B02, // mov.l r0,@r11 (P2)
        0x62D2, // mov.l @r13,r2 (P1: what P2 wrote)
        0x1C21, // mov.l r2,@(4,r12) (P1: what P2 reads next time)
    ];
    let stats = translated_run(&framed(&body, 40), 100_000);
    assert!(stats.retired > 400, "{stats:?}");
}

/// Core 1 takes a MOVLI.L reservation of a line and waits; meanwhile core
/// 0's translated loop stores to a line of another 1 KiB block and then
/// once to `last`: the reserved line, another line of its block, or a
/// line of another block. Core 1's MOVCO.L then fails, or succeeds, and
/// it exits with T. Both tiers must agree, cycle for cycle, on every
/// outcome: a store the translation does while a reservation is held
/// must break exactly what the interpreter's would. (Compiled stores go
/// to the handler in a block holding a reserved line, and inline
/// elsewhere: `Rp1Bus::store_marks`.)
fn reservation_run(tier: Tier, last: u32) -> (String, Option<JitStats>) {
    use asm::*;
    let core0: Vec<u16> = vec![
        mov_l_pc(1, 5),      // 0x00: r1 = 0x8C009100 (another block)
        mov_l_pc(2, 6),      // 0x02: r2 = the last store's address
        mov_imm(3, 127),     // 0x04
        0x4308,              // 0x06: shll2 r3
        0x4308,              // 0x08: shll2 r3 (2032 stores)
        mov_l_store(3, 1),   // 0x0a: mov.l r3,@r1
        dt(3),               // 0x0c
        bf(-4),              // 0x0e: to 0x0a
        mov_l_store(3, 2),   // 0x10: mov.l r3,@r2
        bra(-2),             // 0x12: bra . (0x12)
        NOP,                 // 0x14
        NOP,                 // 0x16
        0x9100, 0x8C00,      // 0x18
        last as u16, (last >> 16) as u16, // 0x1c
    ];
    let core1: Vec<u16> = vec![
        mov_l_pc(1, 6),      // 0x00: r1 = 0x8C008000 (the reserved line)
        0x0163,              // 0x02: movli.l @r1,r0
        mov_imm(3, 127),     // 0x04
        0x4308,              // 0x06: shll2 r3
        0x4308,              // 0x08: shll2 r3
        0x4308,              // 0x0a: shll2 r3 (8128 turns)
        dt(3),               // 0x0c
        bf(-3),              // 0x0e: to 0x0c
        0x0173,              // 0x10: movco.l r0,@r1
        0x0429,              // 0x12: movt r4
        mov_l_pc(5, 2),      // 0x14: r5 = SIMCTL
        mov_l_store(4, 5),   // 0x16: exit with T
        bra(-2),             // 0x18: bra .
        NOP,                 // 0x1a
        0x8000, 0x8C00,      // 0x1c
        0x0000, 0xBBFF,      // 0x20
    ];
    let config = Config { cores: 2, quantum: 500, tier: Some(tier), jit_hot: Some(2), jit_background: Some(false), ..Config::default() };
    let mut m = Machine::new(config).expect("machine");
    for (at, words) in [(CODE, &core0), (CODE + 0x2000, &core1)] {
        let bytes: Vec<u8> = words.iter().flat_map(|w| w.to_le_bytes()).collect();
        m.bus.load(0, at, &bytes).expect("program fits");
    }
    m.cpus[0].reset(P1 | CODE);
    m.cpus[1].reset(P1 | CODE + 0x2000);
    m.cpus[1].halted = false;
    let exit = m.run(200_000);
    let stats = m.bus.jit_stats();
    (outcome(&mut m, exit), stats)
}

#[test]
fn stores_beside_a_reservation_break_exactly_the_reserved_line() {
    // The reserved line, another line of its block, another block.
    for (last, t) in [(0x8C00_8008, 0), (0x8C00_8048, 1), (0x8C00_9048, 1)] {
        let (interp, _) = reservation_run(Tier::Interp, last);
        let (jit, stats) = reservation_run(Tier::Jit, last);
        assert_eq!(interp, jit);
        assert!(interp.starts_with(&format!("Guest({t})")), "{interp}");
        let stats = stats.expect("jit");
        assert!(stats.retired > 4000, "the store loop ran translated: {stats:?}");
    }
}

/// A core run with no limit (`Cpu::run` to `u64::MAX`, one round) runs its
/// loop translated and stops where the interpreter does. Compiled code
/// counts the clock against the limit in signed 64 bits; the limit it is
/// given is `JIT_LIMIT_MAX` at most, else every limit test of a
/// translation failed at once and the loop ran interpreted.
#[test]
fn a_run_with_no_limit_runs_translated() {
    let program = framed(&[0x7201; 8], 100);
    let run = |tier: Tier| {
        let config = Config { cores: 1, tier: Some(tier), jit_hot: Some(2), jit_background: Some(false), ..Config::default() };
        let mut m = Machine::new(config).expect("machine");
        let bytes: Vec<u8> = program.iter().flat_map(|w| w.to_le_bytes()).collect();
        m.bus.load(0, CODE, &bytes).expect("program fits");
        m.cpus[0].reset(P1 | CODE);
        let table = OpTable::new();
        let stop = m.cpus[0].run(&mut m.bus, &table, u64::MAX);
        (format!("{stop:?} {}", cpu_state(&m.cpus[0])), m.bus.jit_stats())
    };
    let (interp, _) = run(Tier::Interp);
    let (jit, stats) = run(Tier::Jit);
    assert_eq!(interp, jit);
    let stats = stats.expect("jit");
    // 100 passes of 10 words; the first two are interpreted.
    assert!(stats.retired >= 98 * 10, "{stats:?}");
}

/// A call's direct ranges are made again when the data windows moved
/// since the last call made them (`DirectInputs`), and kept when nothing
/// did: a core that remaps a page (LDTLB, which leaves the translation
/// without touching the ranges) must not read the old frame through the
/// range the last call made.
#[test]
fn a_frame_makes_its_ranges_again_after_the_windows_moved() {
    let mut m = Machine::new(Config { cores: 1, ..Config::default() }).expect("machine");
    let (cpu, bus) = (&mut m.cpus[0], &mut m.bus);
    cpu.reset(P1 | CODE);
    let loads = Direct::at(false, Memory::Plain);
    let page = 0x0040_0000u32;
    // The 1 KiB block at `page` mapped to the physical frame `frame`.
    let mapped = |frame: u32| crate::cpu::Window { mask: crate::cpu::Window::BLOCK, base: page, delta: frame.wrapping_sub(page) };
    let host_of = |bus: &mut Rp1Bus, frame: u32| bus.plain_ram().map(|r| r.host.wrapping_add((frame - r.phys) as usize)).expect("DRAM");

    let assumed = latencies(bus, 0);
    cpu.read_window = mapped(0x0C00_6000);
    let _ = Frame::new(cpu, bus, 1000, &assumed);
    let first = cpu.jit_direct[loads];
    assert_eq!((first.minus_vlo, first.len(), first.host), (page.wrapping_neg(), 1024, host_of(bus, 0x0C00_6000)));
    // The same inputs: the same ranges.
    let _ = Frame::new(cpu, bus, 2000, &assumed);
    assert_eq!(cpu.jit_direct[loads], first);
    // The page remapped to another frame: that frame's range.
    cpu.read_window = mapped(0x0C00_7000);
    let _ = Frame::new(cpu, bus, 3000, &assumed);
    let second = cpu.jit_direct[loads];
    assert_eq!((second.minus_vlo, second.len(), second.host), (page.wrapping_neg(), 1024, host_of(bus, 0x0C00_7000)));
    // Unmapped (the empty window): no range.
    cpu.read_window = crate::cpu::Window::EMPTY;
    let _ = Frame::new(cpu, bus, 4000, &assumed);
    assert_eq!(cpu.jit_direct[loads].len(), 0);
}

/// Which runs count as loops (and are compiled with Cranelift's mid-end,
/// `translate::Effort`): a branch back to a word of the run, its own
/// included; not a branch forward, nor one back to before the run's entry.
#[test]
fn a_run_loops_when_a_branch_goes_back_into_it() {
    use asm::*;
    let table = OpTable::<Rp1Bus>::new();
    let loops = |words: &[u16], entry: usize, end: usize| {
        let mut code = vec![NOP; 512];
        code[..words.len()].copy_from_slice(words);
        let bytes: Vec<u8> = code.iter().flat_map(|w| w.to_le_bytes()).collect();
        let mut bus = Rp1Bus::new(1, 128 << 20);
        bus.load(0, CODE, &bytes).expect("code fits");
        let mut cache = CodeCache::<Rp1Bus>::new();
        let block = cache.block(&mut bus, &table, CODE).expect("DRAM is cacheable");
        loops_back(block, &table, P1 | CODE, entry, end)
    };
    // dt r1; bf to word 0: a loop.
    assert!(loops(&[NOP, dt(1), bf(-4)], 0, 3));
    // The same entered at word 1: its branch goes back before the entry.
    assert!(!loops(&[NOP, dt(1), bf(-4)], 1, 3));
    // bf to itself.
    assert!(loops(&[NOP, bf(-2)], 0, 2));
    // Forward, over a word.
    assert!(!loops(&[dt(1), bf(0), NOP, NOP], 0, 4));
    // bra back over its slot to the entry.
    assert!(loops(&[dt(1), NOP, bra(-4), NOP], 0, 4));
}

/// A translated loop that calls a handler at every pass: each pass
/// writes a byte to the SCIF through the store's handler (a device:
/// never the fast path), the byte a register the inlined words just
/// wrote, and another that T fed. The handler must see those values: a
/// translation that kept them in its variables past the call (a store
/// deferred, as tried in the twenty-first session, docs/benchmarks.md)
/// would print other bytes than the interpreter.
#[test]
fn a_looping_run_stores_its_registers_before_each_handler() {
    use asm::*;
    let body = [
        mov_imm(9, -61), // r9 = 0xFFFFFFC3
        0x4928,          // shll16 r9: SCIF0, 0xFFC30000
        mov_imm(0, 32),
        0x8194, // mov.w r0,@(8,r9): SCSCR = TE
        0x790C, // add #12,r9: SCFTDR
        0x7501, // add #1,r5
        0x2950, // mov.b r5,@r9
        0x6053, // mov r5,r0
        0x8803, // cmp/eq #3,r0
        0x0729, // movt r7
        0x387C, // add r7,r8
        0x7801, // add #1,r8
        0x2980, // mov.b r8,@r9
    ];
    let program = framed(&body, 20);
    let (interp, _) = run_program(&program, Tier::Interp, 100_000, 1_000_000, None);
    let stats = translated_run(&program, 100_000);
    assert!(stats.retired > 200, "{stats:?}");
    // Two bytes a pass: r5 (1 to 20), then r8 (1 a pass, and 1 more
    // from the third pass on, where T was set).
    let console: String = (1..=20u8).flat_map(|i| [i, i + u8::from(i >= 3)]).map(char::from).collect();
    assert!(interp.contains(&format!("console={console:?}")), "{interp}");
}

/// A loop whose run of two pushes (`mov.l r1,@-r13; mov.l r2,@-r13`)
/// rewrites, every iteration, a subroutine it then calls: one push writes
/// `add #i,r5` twice (i the iteration), the other two NOPs. With
/// `span_top` 0x8C000804 the NOPs land in the block before the
/// subroutine's, which holds no code, so only the run's last bytes are in
/// a block with code; with 0x8C000808 both pushes land in the
/// subroutine's block. The program's result is its exit status.
fn pushes_into_code_program(span_top: u32) -> Vec<u16> {
    use asm::*;
    let mut v = vec![
        mov_l_pc(12, 4), // 0x00: r12 = span_top (0x14)
        mov_l_pc(1, 5),  // 0x02: r1 = 0x75007500, add #0,r5 twice (0x18)
        mov_l_pc(3, 5),  // 0x04: r3 = 0x00010001 (0x1c)
        mov_l_pc(2, 6),  // 0x06: r2 = two NOPs (0x20)
        mov_l_pc(7, 6),  // 0x08: r7 = 0x8C000800, the subroutine (0x24)
        mov_l_pc(6, 7),  // 0x0a: r6 = 0x8C000C00, the loop (0x28)
        mov_imm(14, 40), // 0x0c
        0x462B,          // 0x0e: jmp @r6
        NOP,
        NOP,
        (span_top & 0xFFFF) as u16, (span_top >> 16) as u16, // 0x14
        0x7500, 0x7500, // 0x18
        0x0001, 0x0001, // 0x1c
        NOP, NOP, // 0x20
        0x0800, 0x8C00, // 0x24
        0x0C00, 0x8C00, // 0x28
    ];
    v.resize(0x400, NOP);
    // 0x800: the subroutine, its first four words rewritten.
    v.extend_from_slice(&[NOP, NOP, NOP, NOP, 0x000B, NOP]); // ...; rts; nop
    v.resize(0x600, NOP);
    v.extend_from_slice(&[
        0x6DC3,   // 0xc00: mov r12,r13
        0x313C,   // add r3,r1
        0x2D16,   // mov.l r1,@-r13
        0x2D26,   // mov.l r2,@-r13
        0x470B,   // jsr @r7
        NOP,      // slot
        dt(14),
        bf(-9),   // to 0xc00
        mov_l_pc(1, 2), // 0xc10: SIMCTL (0xc1c)
        0x6053,         // mov r5,r0
        0x2102,         // mov.l r0,@r1
        bra(-2),
        NOP,
        NOP,
        0x0000, 0xBBFF, // 0xc1c
    ]);
    v
}

/// A run of stores that reaches a block with code ends the code's
/// translations and decoded words as the same stores one by one do,
/// whichever of its words lands there: each call runs the words just
/// written.
#[test]
fn a_run_of_pushes_into_code_runs_the_new_code() {
    for span_top in [0x8C00_0804, 0x8C00_0808] {
        let v = pushes_into_code_program(span_top);
        let (interp, _) = run_program(&v, Tier::Interp, 1000, 1_000_000, None);
        let (jit, stats) = run_program(&v, Tier::Jit, 1000, 1_000_000, None);
        assert_eq!(interp, jit, "span top {span_top:#x}");
        // 2 x (1 + 2 + ... + 40).
        assert!(interp.starts_with("Guest(1640)"), "{interp}");
        assert!(stats.expect("jit").translations > 0);
    }
}

/// Eight pushes and eight pops a loop pass, the machine stopped at every
/// cycle of three passes once the loop runs translated: wherever the stop
/// falls in a run, the run goes word by word up to it, as the interpreter
/// does (registers, memory and counts show any word run past it).
#[test]
fn runs_stop_where_the_limit_falls() {
    let pushes: Vec<u16> = (0..8).map(|n| 0x2D06 | n << 4).collect(); // mov.l rn,@-r13
    let pops: Vec<u16> = (0..8).rev().map(|n| 0x60D6 | n << 8).collect(); // mov.l @r13+,rn
    let body: Vec<u16> = pushes.iter().chain(&pops).copied().chain([0x7101]).collect(); // add #1,r1
    stopped_at_every_cycle(&framed(&body, 30), 400..=800);
}

/// `program` stopped at each cycle of `stops` (one round to it: the run
/// ends there exactly) on both tiers: the same outcome, and more than 300
/// instructions translated by the last stop.
fn stopped_at_every_cycle(program: &[u16], stops: std::ops::RangeInclusive<u64>) {
    let mut translated = 0;
    for cycles in stops {
        let (interp, _) = run_program(program, Tier::Interp, cycles, cycles, None);
        let (jit, stats) = run_program(program, Tier::Jit, cycles, cycles, None);
        assert_eq!(interp, jit, "stopped at {cycles}");
        assert!(interp.starts_with("CycleLimit"), "{interp}");
        translated = stats.expect("jit").retired;
    }
    assert!(translated > 300, "{translated} instructions translated");
}

/// A loop pass that is one stretch (`access::stretch`) off copies of r12
/// (D), each word's value depending on the last pass's stores, ending
/// with words a stretch must not follow: a base register set by XOR and
/// ADD (not a copy or a move by a constant), and one loaded from memory.
/// The machine stopped at every cycle of several passes once the loop
/// runs translated: wherever the stop falls, the words go one by one up
/// to it, as the interpreter runs them.
#[test]
fn stretches_stop_where_the_limit_falls() {
    let body = [
        0x61C3, // mov r12,r1
        0x7108, // add #8,r1: D+8
        0x5211, // mov.l @(4,r1),r2: [D+12]
        0x7203, // add #3,r2
        0x63C3, // mov r12,r3
        0x7304, // add #4,r3: D+4
        0x6432, // mov.l @r3,r4: [D+4]
        0x324C, // add r4,r2
        0x1121, // mov.l r2,@(4,r1): [D+12]
        0x13E0, // mov.l r14,@(0,r3): [D+4]
        0x6513, // mov r1,r5
        0x750C, // add #12,r5: D+20
        0x2526, // mov.l r2,@-r5: [D+16]
        0x6636, // mov.l @r3+,r6: [D+4], r3 = D+8
        0x5731, // mov.l @(4,r3),r7: [D+12]
        0x367C, // add r7,r6
        0x2112, // mov.l r1,@r1: [D+8] = D+8
        0x6512, // mov.l @r1,r5: D+8, loaded
        0x15E1, // mov.l r14,@(4,r5): [D+12]
        0x233A, // xor r3,r3
        0x33CC, // add r12,r3: D, not followed
        0x1362, // mov.l r6,@(8,r3): [D+8]
        0x2332, // mov.l r3,@r3: [D] = D
    ];
    let program = framed(&body, 30);
    stopped_at_every_cycle(&program, 300..=700);
    let (interp, _) = run_program(&program, Tier::Interp, 1000, 1_000_000, None);
    let (jit, _) = run_program(&program, Tier::Jit, 1000, 1_000_000, None);
    assert_eq!(interp, jit);
    assert!(interp.starts_with("Guest(0)"), "{interp}");
}

/// Runs of FPU stores and loads (`run`, four words: two pushes off r13,
/// two pops) while the FPU changes mode under a translation: from the
/// fifth-last pass, SR.FD set (the run's first word raises, as alone) or
/// FPSCR.SZ set (each FMOV.S moves a pair, through its handler). `r8`
/// holds the mode's bit, `set` is the word that sets it from r8 and r9.
fn fpu_mode_program(make_r8: &[u16], set: &[u16], run: [u16; 4]) -> Vec<u16> {
    let mut body = make_r8.to_vec();
    body.extend_from_slice(&run);
    body.extend_from_slice(&[
        0x60E3, // mov r14,r0
        0x8805, // cmp/eq #5,r0
        0x8B00 | set.len() as u16 - 1, // bf past the set
    ]);
    body.extend_from_slice(set);
    framed(&body, 20)
}

#[test]
fn runs_of_fpu_moves_follow_the_fpu_mode() {
    // fmov.s fr1,@-r13; fmov.s fr2,@-r13; fmov.s @r13+,fr3; fmov.s @r13+,fr4
    let fmov = [0xFD1B, 0xFD2B, 0xF3D9, 0xF4D9];
    // sts.l fpul,@-r13; sts.l fpscr,@-r13; lds.l @r13+,fpul (twice)
    let fpul = [0x4D52, 0x4D62, 0x4D56, 0x4D56];
    // r8 = 0x8000 (SR.FD): mov #-128,r8; shll8 r8; extu.w r8,r8. Then
    // stc sr,r9; or r8,r9; ldc r9,sr.
    let (make_fd, set_fd) = ([0xE880, 0x4818, 0x688D].as_slice(), [0x0902, 0x298B, 0x490E].as_slice());
    // r8 = 0x100000 (FPSCR.SZ): mov #1,r8; shll16 r8; shll2 r8; shll2 r8. Then lds r8,fpscr.
    let (make_sz, set_sz) = ([0xE801, 0x4828, 0x4808, 0x4808].as_slice(), [0x486A].as_slice());
    for (name, run) in [("FMOV.S", fmov), ("FPUL and FPSCR", fpul)] {
        for (mode, program) in [("FD", fpu_mode_program(make_fd, set_fd, run)), ("SZ", fpu_mode_program(make_sz, set_sz, run))] {
            for quantum in [7, 1000] {
                let (interp, _) = run_program(&program, Tier::Interp, quantum, 1_000_000, None);
                let (jit, stats) = run_program(&program, Tier::Jit, quantum, 1_000_000, None);
                assert_eq!(interp, jit, "{name}, {mode}, quantum {quantum}");
                assert!(stats.expect("jit").translations > 0);
                if mode == "FD" {
                    // The FPU-disabled exception at the run's first word
                    // (0x22), a double fault with SR.BL set from reset.
                    assert!(interp.starts_with("DoubleFault { core: 0, fault: DoubleFault { pc: 2348810274, exception: FpuDisabled"), "{interp}");
                } else {
                    assert!(interp.starts_with("Guest(0)"), "{interp}");
                }
            }
        }
    }
}

/// What host tools are told (`profile`): with a listing asked for, each
/// translation appends its guest PC, length, effort, IR and host code;
/// named for perf, a run compiled again (after a store or a flush) gets
/// a name of its own, where a second definition under the first would
/// be refused and the run left to the interpreter.
#[test]
fn translations_are_listed_and_named_for_host_tools() {
    let table = OpTable::<Rp1Bus>::new();
    // Words 4-7: add #1,r1; dt r2; bf word 4; nop (a loop of its own).
    let mut code = vec![0x0009u16; 512];
    code[4..7].copy_from_slice(&[0x7101, 0x4210, 0x8BFC]);
    let bytes: Vec<u8> = code.iter().flat_map(|w| w.to_le_bytes()).collect();
    let mut bus = Rp1Bus::new(1, 128 << 20);
    bus.load(0, CODE, &bytes).expect("code fits");
    let mut cache = CodeCache::<Rp1Bus>::new();
    let block = cache.block(&mut bus, &table, CODE).expect("DRAM is cacheable");
    let path = std::env::temp_dir().join(format!("rp1-listing-{}.txt", std::process::id()));
    let _ = std::fs::remove_file(&path);
    let file = std::fs::File::options().create(true).append(true).open(&path).expect("a temporary file");
    let mut listed = Translator::with_profiling(profile::Profiling::listing_to(file)).expect("a Cranelift backend");
    let done = listed.translate(block, &table, P1 | CODE, 4, &[None; 16], &latencies(&mut bus, 0)).expect("translates");
    let text = std::fs::read_to_string(&path).expect("the listing");
    let _ = std::fs::remove_file(&path);
    // The run: words 4 to the block's end (nothing ends it sooner but
    // MAX_WORDS), a loop, so compiled with the mid-end.
    let header = format!("=== translation at 0x8c000008: {} words, effort Speed, {} bytes of host code", MAX_WORDS, done.bytes);
    assert_eq!(done.words, MAX_WORDS);
    assert!(text.starts_with(&header), "{}", &text[..text.len().min(200)]);
    assert!(text.contains("function u0:"), "the IR follows the header");
    assert!(text.contains("--- host code\n") && text.contains("ret"), "then the host code");
    assert_eq!(text.matches("=== translation").count(), 1);
    // Named: the same run twice, both compiled.
    let mut named = Translator::with_profiling(profile::Profiling::named()).expect("a Cranelift backend");
    for _ in 0..2 {
        named.translate(block, &table, P1 | CODE, 4, &[None; 16], &latencies(&mut bus, 0)).expect("a second name, a second translation");
    }
}
