//! The loads and stores a translation does inline, decoded from their
//! mnemonics: where each finds its address, what it reads or writes, and
//! what must hold for it to go inline (`Access`); and the runs of them off
//! one base register that a translation does as one (`base_run`).
//!
//! Why runs: a function's prologue pushes its saved registers one word at
//! a time, its epilogue pops them, and the hypervisor's entry and exit
//! stubs save and restore a whole context (`board/rt/entry.S`: 60 pushes,
//! 60 pops). Alone, each word tests its address against the direct
//! memories, its block's store mark and the cycle limit; a run tests its
//! whole span and the limit at its last word once (`Emitter::base_run`).
//! A stretch (`stretch`) does the same for loads and stores mixed with
//! register-only words, off registers that are copies of one register
//! moved by constants: unoptimised C reaches every local variable that
//! way (`mov r14,r1; add #-32,r1; mov.l @(56,r1),r2`).
//!
//! Owns: decoding only, no IR (`translate.rs` emits). Must not touch:
//! what the instructions do (the handlers in `ops/`; the translation's
//! forms are checked against them word by word in the tests).

use crate::cpu::decode::{disp4, imm8, rm, rn, simm8};
use crate::cpu::Cpu;
use std::mem::offset_of;

/// Offsets of the `Cpu`'s system registers these accesses read or write
/// (`Data::Field`), as `translate.rs` addresses every field.
const SR: i32 = offset_of!(Cpu, sr) as i32;
const PR: i32 = offset_of!(Cpu, pr) as i32;
const GBR: i32 = offset_of!(Cpu, gbr) as i32;
const MACL: i32 = offset_of!(Cpu, macl) as i32;
const MACH: i32 = offset_of!(Cpu, mach) as i32;
const FPUL: i32 = offset_of!(Cpu, fpul) as i32;
const FPSCR: i32 = offset_of!(Cpu, fpscr) as i32;

/// Where a load or store finds its address.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Address {
    /// @Rn.
    At(usize),
    /// @-Rn: Rn less the size, written back to Rn after the store.
    PreDec(usize),
    /// @Rn+: Rn, and Rn plus the size written back before the loaded
    /// value (when the value's register is Rn too, the value wins).
    PostInc(usize),
    /// @(disp,Rn), the displacement in bytes.
    Disp(usize, u32),
    /// @(R0,Rn).
    Indexed(usize),
    /// @(disp,GBR), in bytes.
    Gbr(u32),
    /// @(disp,PC): an address known when the word is translated.
    Fixed(u32),
}

impl Address {
    /// The general register the address is relative to, if any, and the
    /// access's byte offset from its value before the word.
    fn from_base(self, size: u32) -> Option<(usize, i32)> {
        match self {
            Address::At(n) | Address::PostInc(n) => Some((n, 0)),
            Address::PreDec(n) => Some((n, -(size as i32))),
            Address::Disp(n, d) => Some((n, d as i32)),
            Address::Indexed(_) | Address::Gbr(_) | Address::Fixed(_) => None,
        }
    }

    /// The general register the address is relative to, if any, and for
    /// @(R0,Rn) R0 as well (either may be the pointer).
    pub(super) fn base(self) -> Option<(usize, Option<usize>)> {
        match self {
            Address::At(n) | Address::PostInc(n) | Address::PreDec(n) | Address::Disp(n, _) => Some((n, None)),
            Address::Indexed(n) => Some((n, Some(0))),
            Address::Gbr(_) | Address::Fixed(_) => None,
        }
    }

    /// What the word adds to its base register.
    pub(super) fn step(self, size: u32) -> i32 {
        match self {
            Address::PreDec(_) => -(size as i32),
            Address::PostInc(_) => size as i32,
            _ => 0,
        }
    }
}

/// The register a store reads, or a load writes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Data {
    /// A general register.
    Reg(usize),
    /// Another 32-bit `Cpu` field, by offset (SR, PR, GBR, a bank
    /// register, ...).
    Field(i32),
    /// FRn of the current bank.
    Fr(usize),
}

/// What must hold before the access may go inline; where it does not,
/// the word's handler runs it (and raises, or moves a pair).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Guard {
    None,
    /// The core is privileged (SR.MD): a privileged register's store.
    Privileged,
    /// An FMOV.S is a plain 32-bit move now: SR.FD and FPSCR.SZ clear.
    FpuSingle,
    /// The FPU is enabled (SR.FD clear): FPUL or FPSCR pushed, FPUL
    /// popped.
    Fpu,
}

impl Guard {
    /// Every guard but `None`, in the order a run tests them.
    pub(super) const TESTED: [Guard; 3] = [Guard::Privileged, Guard::FpuSingle, Guard::Fpu];
}

/// A load or store with an inline fast path.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) struct Access {
    /// Bytes: 1, 2 or 4 (loads of 1 and 2 sign-extend).
    pub size: u32,
    pub store: bool,
    pub address: Address,
    pub data: Data,
    pub guard: Guard,
    /// MOVUA.L: four bytes at any alignment.
    pub unaligned: bool,
}

/// The offset in the `Cpu` of control register `name` as STC and STC.L
/// read it, and LDC and LDC.L write it (`Rm_BANK` or `Rn_BANK`: the bank
/// not in use, `Cpu::r_bank`, numbered by bits 4-6 of `op`, the m field's
/// low three, in either form).
pub(super) fn control_offset(name: &str, op: u16) -> Option<i32> {
    let offset = match name {
        "SR" => return Some(SR),
        "VBR" => offset_of!(Cpu, vbr),
        "SSR" => offset_of!(Cpu, ssr),
        "SPC" => offset_of!(Cpu, spc),
        "SGR" => offset_of!(Cpu, sgr),
        "DBR" => offset_of!(Cpu, dbr),
        "Rm_BANK" | "Rn_BANK" => offset_of!(Cpu, r_bank) + 4 * (rm(op) & 7),
        _ => return None,
    };
    Some(offset as i32)
}

/// The word `op` (mnemonic `mnemonic`, at `pc`) as a load or store with
/// an inline fast path, or `None`.
pub(super) fn access(mnemonic: &str, op: u16, pc: u32) -> Option<Access> {
    let (n, m) = (rn(op), rm(op));
    let (head, operands) = mnemonic.split_once(' ')?;
    let size: u32 = match head {
        "MOV.B" => 1,
        "MOV.W" => 2,
        "MOV.L" | "STS.L" | "STC.L" | "LDS.L" | "LDC.L" | "FMOV.S" | "MOVCA.L" | "MOVUA.L" => 4,
        _ => return None,
    };
    let plain = |store, address, data| Some(Access { size, store, address, data, guard: Guard::None, unaligned: false });
    let fpu = |store, address, n| Some(Access { size, store, address, data: Data::Fr(n), guard: Guard::FpuSingle, unaligned: false });
    let fpu_register =
        |store, address, field| Some(Access { size, store, address, data: Data::Field(field), guard: Guard::Fpu, unaligned: false });
    match operands {
        // Stores.
        // A privileged register pushed.
        "SR,@-Rn" | "VBR,@-Rn" | "SSR,@-Rn" | "SPC,@-Rn" | "SGR,@-Rn" | "DBR,@-Rn" | "Rm_BANK,@-Rn" => {
            let field = control_offset(operands.trim_end_matches(",@-Rn"), op)?;
            Some(Access { size, store: true, address: Address::PreDec(n), data: Data::Field(field), guard: Guard::Privileged, unaligned: false })
        }
        "FRm,@Rn" => fpu(true, Address::At(n), m),
        "FRm,@-Rn" => fpu(true, Address::PreDec(n), m),
        "FRm,@(R0,Rn)" => fpu(true, Address::Indexed(n), m),
        // An unprivileged system register pushed.
        "PR,@-Rn" => plain(true, Address::PreDec(n), Data::Field(PR)),
        "MACH,@-Rn" => plain(true, Address::PreDec(n), Data::Field(MACH)),
        "MACL,@-Rn" => plain(true, Address::PreDec(n), Data::Field(MACL)),
        "GBR,@-Rn" => plain(true, Address::PreDec(n), Data::Field(GBR)),
        // FPU system registers pushed (the hypervisor's save of a
        // context: `board/rt/entry.S`).
        "FPUL,@-Rn" => fpu_register(true, Address::PreDec(n), FPUL),
        "FPSCR,@-Rn" => fpu_register(true, Address::PreDec(n), FPSCR),
        "Rm,@Rn" => plain(true, Address::At(n), Data::Reg(m)),
        // MOVCA.L: with no cache modelled, `MOV.L R0,@Rn` (Linux's copy
        // and clear loops use it).
        "R0,@Rn" => plain(true, Address::At(n), Data::Reg(0)),
        "Rm,@-Rn" => plain(true, Address::PreDec(n), Data::Reg(m)),
        // MOV.B and MOV.W's form keeps its base in the m field.
        "R0,@(disp,Rn)" => plain(true, Address::Disp(m, disp4(op) * size), Data::Reg(0)),
        "Rm,@(disp,Rn)" => plain(true, Address::Disp(n, disp4(op) * 4), Data::Reg(m)),
        "Rm,@(R0,Rn)" => plain(true, Address::Indexed(n), Data::Reg(m)),
        "R0,@(disp,GBR)" => plain(true, Address::Gbr(imm8(op) * size), Data::Reg(0)),
        // Loads. LDS.L, LDC.L and MOVUA.L keep their address register in
        // the n field.
        "@Rm+,PR" => plain(false, Address::PostInc(n), Data::Field(PR)),
        "@Rm+,MACH" => plain(false, Address::PostInc(n), Data::Field(MACH)),
        "@Rm+,MACL" => plain(false, Address::PostInc(n), Data::Field(MACL)),
        "@Rm+,GBR" if head == "LDC.L" => plain(false, Address::PostInc(n), Data::Field(GBR)),
        // A privileged register popped, but SR (whose write changes the
        // mode, the bank, the interrupt mask: the handler's).
        "@Rm+,VBR" | "@Rm+,SSR" | "@Rm+,SPC" | "@Rm+,SGR" | "@Rm+,DBR" | "@Rm+,Rn_BANK" if head == "LDC.L" => {
            let field = control_offset(operands.trim_start_matches("@Rm+,"), op)?;
            Some(Access { size, store: false, address: Address::PostInc(n), data: Data::Field(field), guard: Guard::Privileged, unaligned: false })
        }
        // FPUL popped (not FPSCR, whose write may change the FPU's modes
        // and swap the FR banks: the handler's).
        "@Rm+,FPUL" => fpu_register(false, Address::PostInc(n), FPUL),
        "@Rm,FRn" => fpu(false, Address::At(m), n),
        "@(R0,Rm),FRn" => fpu(false, Address::Indexed(m), n),
        "@Rm+,FRn" => fpu(false, Address::PostInc(m), n),
        "@Rm,R0" | "@Rm+,R0" if head == "MOVUA.L" => {
            let address = if operands == "@Rm,R0" { Address::At(n) } else { Address::PostInc(n) };
            Some(Access { size, store: false, address, data: Data::Reg(0), guard: Guard::None, unaligned: true })
        }
        "@Rm,Rn" => plain(false, Address::At(m), Data::Reg(n)),
        "@Rm+,Rn" => plain(false, Address::PostInc(m), Data::Reg(n)),
        "@(disp,Rm),R0" => plain(false, Address::Disp(m, disp4(op) * size), Data::Reg(0)),
        "@(disp,Rm),Rn" => plain(false, Address::Disp(m, disp4(op) * 4), Data::Reg(n)),
        "@(R0,Rm),Rn" => plain(false, Address::Indexed(m), Data::Reg(n)),
        "@(disp,GBR),R0" => plain(false, Address::Gbr(imm8(op) * size), Data::Reg(0)),
        "@(disp,PC),Rn" => {
            let a = if size == 4 { pc & !3 } else { pc };
            plain(false, Address::Fixed(a.wrapping_add(4).wrapping_add(imm8(op) * size)), Data::Reg(n))
        }
        _ => None,
    }
}

/// A run of words that are 4-byte accesses off one base register, all
/// loads or all stores, done as one (`Emitter::base_run`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub(super) struct Run {
    pub base: usize,
    pub store: bool,
    /// Each word's access and its byte offset from the base register's
    /// value before the run, in order.
    pub accesses: Vec<(Access, i32)>,
    /// The bytes the run reaches, from the base register's value before
    /// it: `low..high`.
    pub low: i32,
    pub high: i32,
    /// What the run adds to the base register.
    pub step: i32,
}

/// The longest run (`Run`) the accesses given start, if it has two words
/// or more. A word joins while it is a 4-byte access of the first's kind
/// (load or store), off the same base register (@Rn, @-Rn, @Rn+ or
/// @(disp,Rn)), and neither stores the base register nor loads into it:
/// then every word's address is the base's value before the run plus a
/// constant, and no value a store reads changes in the run.
pub(super) fn base_run(accesses: impl IntoIterator<Item = Option<Access>>) -> Option<Run> {
    let mut run: Option<Run> = None;
    let mut step = 0;
    for access in accesses {
        let Some(a) = access.filter(|a| a.size == 4 && !a.unaligned) else { break };
        let Some((base, offset)) = a.address.from_base(a.size) else { break };
        if a.data == Data::Reg(base) || run.as_ref().is_some_and(|r| r.base != base || r.store != a.store) {
            break;
        }
        let at = step + offset;
        let r = run.get_or_insert(Run { base, store: a.store, accesses: Vec::new(), low: at, high: at + 4, step: 0 });
        r.low = r.low.min(at);
        r.high = r.high.max(at + 4);
        r.accesses.push((a, at));
        step += a.address.step(a.size);
        r.step = step;
    }
    run.filter(|r| r.accesses.len() >= 2)
}

/// A word as a stretch (`stretch`) sees it.
#[derive(Clone, Copy, Debug)]
pub(super) enum Word<'a> {
    /// A word with no way out whose cost is known now (the translation's
    /// pure words), by mnemonic.
    Pure(&'a str, u16),
    /// A load or store with an inline fast path.
    Access(Access),
    /// Anything else: it ends a stretch.
    Other,
}

/// Loads and stores mixed with pure words, all 4-byte accesses at
/// addresses that are one register's value before the stretch (`root`)
/// plus a constant, done as one (`Emitter::stretch_run`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub(super) struct Stretch {
    pub root: usize,
    /// Each word in order: pure (`None`), or an access and its byte
    /// offset from the root's value before the stretch. The last is an
    /// access.
    pub words: Vec<Option<(Access, i32)>>,
    /// The bytes the loads reach, `low..high` from the root's value, if
    /// there are loads; and the stores'.
    pub loads: Option<(i32, i32)>,
    pub stores: Option<(i32, i32)>,
}

/// What a pure word leaves in a register, as a stretch follows it: a
/// register's value before the stretch plus a constant, or not known.
type Symbolic = Option<(usize, i32)>;

/// Follow pure word `mnemonic` (`op`) through `regs`: a copy or a move
/// by a constant keeps what is known; any other word forgets the
/// registers it may write (its n field and R0, which the forms with an
/// immediate or MOVA write), but the ones that write none.
fn follow(regs: &mut [Symbolic; 16], mnemonic: &str, op: u16) {
    let (n, m) = (rn(op), rm(op));
    match mnemonic {
        "MOV Rm,Rn" => regs[n] = regs[m],
        "ADD #imm,Rn" => regs[n] = regs[n].map(|(root, at)| (root, at.wrapping_add(simm8(op) as i32))),
        "NOP" | "CLRT" | "SETT" | "SYNCO" | "TST Rm,Rn" | "TST #imm,R0" | "MUL.L Rm,Rn" | "MULU.W Rm,Rn"
        | "MULS.W Rm,Rn" | "LDS Rm,PR" | "LDS Rm,MACL" | "LDC Rm,GBR" => {}
        _ if mnemonic.starts_with("CMP/") => {}
        _ => {
            regs[n] = None;
            regs[0] = None;
        }
    }
}

/// The longest stretch (`Stretch`) the words given start, if it holds
/// two accesses or more. A word joins while it is pure, or a 4-byte
/// aligned-form access (@Rn, @-Rn, @Rn+, @(disp,Rn)) whose register
/// holds the root's value before the stretch plus a constant, the root
/// being the first access's. The stretch ends at its last access. Every
/// access's address is then known as the root plus a constant; and each
/// word still reads and writes its registers as it would alone, in
/// order, so a store of a register the stretch moved stores its value
/// there.
pub(super) fn stretch<'a>(words: impl IntoIterator<Item = Word<'a>>) -> Option<Stretch> {
    let mut regs: [Symbolic; 16] = std::array::from_fn(|n| Some((n, 0)));
    let mut root = None;
    let mut items = Vec::new();
    let mut accesses_end = 0;
    for word in words {
        match word {
            Word::Pure(mnemonic, op) => {
                follow(&mut regs, mnemonic, op);
                items.push(None);
            }
            Word::Access(a) => {
                let Some((n, disp)) = a.address.from_base(a.size).filter(|_| a.size == 4 && !a.unaligned) else { break };
                let Some((r, at)) = regs[n] else { break };
                if *root.get_or_insert(r) != r {
                    break;
                }
                items.push(Some((a, at.wrapping_add(disp))));
                accesses_end = items.len();
                regs[n] = regs[n].map(|(r, at)| (r, at.wrapping_add(a.address.step(a.size))));
                if let (false, Data::Reg(d)) = (a.store, a.data) {
                    regs[d] = None;
                }
            }
            Word::Other => break,
        }
    }
    items.truncate(accesses_end);
    let offsets = |store: bool| items.iter().flatten().filter(move |(a, _)| a.store == store).map(|&(_, at)| at);
    let span = |store: bool| Some((offsets(store).min()?, offsets(store).max()? + 4));
    // One alignment test, of the lowest, covers every access of a kind.
    let aligned = |store: bool| span(store).is_none_or(|(low, _)| offsets(store).all(|at| (at - low) % 4 == 0));
    if items.iter().flatten().count() < 2 || !aligned(false) || !aligned(true) {
        return None;
    }
    let (loads, stores) = (span(false), span(true));
    Some(Stretch { root: root.expect("an access"), words: items, loads, stores })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::bus::Rp1Bus;
    use crate::cpu::jit::translate::MEMORY_FAST;
    use crate::cpu::OpTable;

    fn decoded(words: &[u16]) -> Vec<Option<Access>> {
        let table = OpTable::<Rp1Bus>::new();
        words.iter().map(|&op| access(table.mnemonic(op), op, 0x8C00_0000)).collect()
    }

    /// Words as a stretch sees them (pure: the translation's `INLINED`).
    fn stretch_words(words: &[u16]) -> Option<Stretch> {
        let table = OpTable::<Rp1Bus>::new();
        let words: Vec<Word> = words
            .iter()
            .map(|&op| {
                let m = table.mnemonic(op);
                match access(m, op, 0x8C00_0000) {
                    Some(a) => Word::Access(a),
                    None if crate::cpu::jit::translate::INLINED.contains(&m) => Word::Pure(m, op),
                    None => Word::Other,
                }
            })
            .collect();
        stretch(words)
    }

    /// The body of an unoptimised C loop (`for (i = 0; i < n; i++) v =
    /// v * 33 + i;` at -O0, the GPOS load's `kernel_work`): every local
    /// reached off a copy of r14 moved by -32, a stretch of 27 words
    /// that ends at its last access, before the compare and the branch.
    #[test]
    fn a_stretch_follows_copies_of_the_frame_pointer() {
        let body = [
            0x61E3, 0x71E0, 0x521E, 0x6123, 0xE305, 0x413D, 0x321C, 0x61E3, 0x71E0, 0x63E3, 0x73E0, 0x533F,
            0x323C, 0x112E, 0x61E3, 0x71E0, 0x62E3, 0x72E0, 0x522F, 0x7201, 0x112F, 0x62E3, 0x72E0, 0x61E3,
            0x71E0, 0x522F, 0x511C, 0x3212, 0x8BE2,
        ];
        let s = stretch_words(&body).expect("a stretch");
        assert_eq!((s.root, s.words.len(), s.loads, s.stores), (14, 27, Some((16, 32)), Some((24, 32))));
        let offsets: Vec<(bool, i32)> = s.words.iter().flatten().map(|&(a, at)| (a.store, at)).collect();
        assert_eq!(offsets, [(false, 24), (false, 28), (true, 24), (false, 28), (true, 28), (false, 28), (false, 16)]);
        // shld r3,r1 (word 5) forgets r1: a load off it (mov.l
        // @(4,r1),r2 as word 6) ends the stretch before it, with one
        // access (none).
        let mut cut = body;
        cut[6] = 0x5211;
        assert_eq!(stretch_words(&cut), None);
        // mov.l @(4,r1),r2 after the first access instead: two.
        cut[3] = 0x5211;
        assert_eq!(stretch_words(&cut).map(|s| s.words.len()), Some(4));
        // Off two roots: mov r14,r1; mov.l @r1,r2; mov.l @r13,r3 (one
        // access only: none).
        assert_eq!(stretch_words(&[0x61E3, 0x6212, 0x63D2]), None);
        // A load into the base forgets it: mov.l @r1,r1; mov.l @r1,r2.
        assert_eq!(stretch_words(&[0x6112, 0x6212]), None);
        // Offsets not all a multiple of four apart: add #1 between.
        assert_eq!(stretch_words(&[0x6212, 0x7101, 0x6312]), None);
    }

    /// Every word with a fast path, and none other: the `MOV.x` forms
    /// with memory and the other loads and stores the tests list.
    #[test]
    fn the_forms_with_a_fast_path_are_decoded() {
        let table = OpTable::<Rp1Bus>::new();
        for op in 0..=0xFFFFu16 {
            let m = table.mnemonic(op);
            let listed = (m.starts_with("MOV.") && m.contains('@')) || (MEMORY_FAST.contains(&m) && !m.starts_with("STC ") && !m.starts_with("LDC Rm,"));
            assert_eq!(access(m, op, 0x8C00_0000).is_some(), listed, "{op:04x} {m}");
        }
    }

    /// Pushes of the hypervisor's save stub (`board/rt/entry.S`): r6-r0,
    /// then a bank register and SSR; `mov.l r15,@-r15` ends a run (its
    /// value would move under it), as does a word off another register.
    #[test]
    fn a_run_of_pushes_spans_its_words() {
        // mov.l r6,@-r15; mov.l r5,@-r15; stc.l r3_bank,@-r15; stc.l ssr,@-r15; mov.l r15,@-r15
        let run = base_run(decoded(&[0x2F66, 0x2F56, 0x4FB3, 0x4F33, 0x2FF6])).expect("a run");
        assert_eq!((run.base, run.store, run.low, run.high, run.step), (15, true, -16, 0, -16));
        let offsets: Vec<i32> = run.accesses.iter().map(|&(_, at)| at).collect();
        assert_eq!(offsets, [-4, -8, -12, -16]);
        assert_eq!(run.accesses[0].0.data, Data::Reg(6));
        assert_eq!(run.accesses[2].0.guard, Guard::Privileged);
        // mov.l r1,@-r15; mov.l r2,@-r14: another base.
        assert_eq!(base_run(decoded(&[0x2F16, 0x2E26])), None);
        // mov.l r15,@-r15 first: no run.
        assert_eq!(base_run(decoded(&[0x2FF6, 0x2F16])), None);
    }

    /// Pops and displacement loads: the base moves by the pops only, the
    /// span covers every word, and a load into the base ends the run.
    #[test]
    fn a_run_of_pops_and_displacements_spans_its_words() {
        // mov.l @r15+,r8; lds.l @r15+,pr; fmov.s @r15+,fr3; mov.l @(8,r15),r1; mov.l @r15,r2; mov.l @r15+,r15
        let run = base_run(decoded(&[0x68F6, 0x4F26, 0xF3F9, 0x51F2, 0x62F2, 0x6FF6])).expect("a run");
        assert_eq!((run.base, run.store, run.low, run.high, run.step), (15, false, 0, 24, 12));
        let offsets: Vec<i32> = run.accesses.iter().map(|&(_, at)| at).collect();
        assert_eq!(offsets, [0, 4, 8, 20, 12]);
        assert_eq!(run.accesses[1].0.data, Data::Field(PR));
        assert_eq!(run.accesses[2].0.guard, Guard::FpuSingle);
        // A store after loads, a byte load, MOVUA: each ends a run.
        assert_eq!(base_run(decoded(&[0x68F6, 0x2F16])), None);
        assert_eq!(base_run(decoded(&[0x68F6, 0x61F4])), None);
        assert_eq!(base_run(decoded(&[0x68F6, 0x4FA9])), None);
    }
}
