//! From a decoded block to Cranelift IR to host code: one straight run of
//! words, each either inlined or a handler call (see the contract in
//! `mod.rs`).
//!
//! The shape of a translation: the run is cut into segments, each a string
//! of pure words (`INLINED`: one cycle each, no way out; and loads of a
//! literal, `literal`, whose value and latency are known now) ended by one
//! other word (a branch, a load or store, a handler call). A segment
//! starts an IR block with one test of the cycle limit, which passes
//! exactly when the interpreter's tests before each of its words would
//! (`segment_test`; where it fails, the words before the limit run one
//! by one, each tested, `limit_ladder`); then each word is done and
//! counted (one cycle and
//! one retired instruction; a memory access adds its latency, known at
//! compile time for the memories it reaches inline, `jit::Latencies`). Branches
//! whose target lies inside the run jump to that word's IR block (targets
//! start segments), so a loop runs without leaving the function. Every
//! way out stores the PC, the cycle count and the retired count; a way out
//! to a word with a translation of its own tail-calls it (a hand-over).
//!
//! The cycle and retired counts live in SSA variables and are stored to
//! the CPU before each handler call and at each exit; the clock as its
//! distance from the limit (`Emitter::past`), so that a test of the limit
//! is one compare with a constant. What the words add to them at fixed
//! amounts is carried at compile time (`Emitter::lazy`) and added where
//! the code joins other code entered with other amounts (a loop's jump
//! back, an exit), so a loop adds to each once a pass. Every other write
//! goes to the `Cpu` at once, so a handler and the loop always see the
//! current state; but the values of the fields the inlined words both
//! write and read (of `HELD`: R0-R15, SR, PR, GBR, MACH/MACL; a first pass
//! over the run finds them) are also kept in SSA variables, read from
//! there, and loaded on entry and after each handler call (which may
//! change any), in runs whose words all have an inline or fast-path form.
//! Why: read back from the `Cpu`, every value one instruction wrote and
//! the next one read waited for the host to forward the store; and only
//! reads need the variables, so no way out has to store a field the run
//! held, which would keep every written field live across the whole run.
//! A field the run only reads is read from the `Cpu` where it is used:
//! loading every field at entry cost more than the reads (translations
//! are short, about a dozen words between hand-overs on Linux), and the
//! variables spilled.

use super::access::{self, Access, Address, Data, Guard, Run, Stretch, Word};
use super::profile::Profiling;
use super::{Latencies, MemoryHints};
use super::{
    exec, exec_memory, exec_slot, BlockCode, Direct, Frame, Jit, Memory, Trampoline, Translated, EXIT_CONTINUE,
    EXIT_EXCEPTION, JIT_SLOTS, MAX_WORDS,
};
use crate::cpu::code_cache::{Block, BLOCK_BYTES, BLOCK_OPS};
use crate::cpu::decode::{imm8, rm, rn, sdisp12, simm8, OpTable};
use crate::cpu::{sr, Bus, Cpu};
use cranelift_codegen::ir::condcodes::IntCC;
use cranelift_codegen::entity::SecondaryMap;
use cranelift_codegen::ir::{types, AbiParam, BlockArg, Block as IrBlock, InstBuilder, MemFlagsData, Signature, Type, Value};
use cranelift_codegen::isa::CallConv;
use cranelift_codegen::settings::{self, Configurable};
use cranelift_codegen::Context;
use cranelift_frontend::{FunctionBuilder, FunctionBuilderContext, Variable};
use cranelift_jit::{JITBuilder, JITModule};
use cranelift_module::Module;
use std::mem::offset_of;

/// A finished translation.
pub(super) struct Done {
    pub code: Translated,
    /// Host code bytes.
    pub bytes: usize,
    /// Guest words covered.
    pub words: usize,
}

/// The compiler and the memory its code lives in.
pub(super) struct Translator {
    module: Option<JITModule>,
    /// The ISA at `Effort::Speed`, for runs that loop.
    loop_isa: cranelift_codegen::isa::OwnedTargetIsa,
    /// Holds the trampoline, which outlives every flush.
    _trampoline_module: JITModule,
    trampoline: Trampoline,
    ctx: Context,
    fctx: FunctionBuilderContext,
    /// Names for perf and the listing (`profile`).
    profiling: Profiling,
}

/// The signature of a translation: `(frame) -> EXIT_*`, `tail` convention.
fn translation_signature(ptr: Type) -> Signature {
    let mut sig = Signature::new(CallConv::Tail);
    sig.params.push(AbiParam::new(ptr));
    sig.returns.push(AbiParam::new(types::I32));
    sig
}

/// Compile `enter`'s trampoline into `module`: `(frame, code) ->
/// code(frame)`, called from Rust, calling the `tail` convention.
fn compile_trampoline(module: &mut JITModule, fctx: &mut FunctionBuilderContext) -> Result<Trampoline, String> {
    let ptr = module.target_config().pointer_type();
    let mut ctx = module.make_context();
    ctx.func.signature.params.extend([AbiParam::new(ptr), AbiParam::new(ptr)]);
    ctx.func.signature.returns.push(AbiParam::new(types::I32));
    let mut b = FunctionBuilder::new(&mut ctx.func, fctx);
    let start = b.create_block();
    b.append_block_params_for_function_params(start);
    b.switch_to_block(start);
    let (frame, code) = (b.block_params(start)[0], b.block_params(start)[1]);
    let sig = b.import_signature(translation_signature(ptr));
    let call = b.ins().call_indirect(sig, code, &[frame]);
    let exit = b.inst_results(call)[0];
    b.ins().return_(&[exit]);
    b.seal_all_blocks();
    b.finalize(module.target_config());
    let id = module.declare_anonymous_function(&ctx.func.signature).map_err(|e| e.to_string())?;
    module.define_function(id, &mut ctx).map_err(|e| e.to_string())?;
    module.finalize_definitions().map_err(|e| e.to_string())?;
    // SAFETY: the function was built with exactly this signature, in the
    // host's default convention.
    Ok(unsafe { std::mem::transmute::<*const u8, Trampoline>(module.get_finalized_function(id)) })
}

/// How hard Cranelift works on a translation (`opt_level`).
///
/// A run that loops (a branch back inside it) is compiled with the
/// mid-end (`Speed`: the e-graph and alias analysis), everything else
/// without (`None`). Why two: most translations are straight runs of a
/// dozen words between hand-overs (Linux), where the e-graph pass cost a
/// quarter of each compile and the code ran no faster, while a loop
/// runs its code many times an entry, and the CRC loop of `rp1 bench`
/// took 1.05x the time compiled without it (though 1.8 % fewer host
/// instructions). Measured by cachegrind and `farm-bench`
/// (docs/benchmarks.md, 2026-12-07, twentieth session).
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Effort {
    None,
    Speed,
}

/// The host's ISA with our flags at `effort`.
fn host_isa(effort: Effort) -> Result<cranelift_codegen::isa::OwnedTargetIsa, String> {
    let mut flags = settings::builder();
    // The verifier checks Cranelift's own work: our IR is small and
    // regular, and compile time is what a translating tier pays for.
    let settings = [
        ("opt_level", if effort == Effort::Speed { "speed" } else { "none" }),
        ("enable_verifier", "false"),
        ("regalloc_algorithm", "backtracking"),
        ("is_pic", "false"),
        ("use_colocated_libcalls", "false"),
        // Cranelift's tail calls (hand-overs) need frame pointers.
        ("preserve_frame_pointers", "true"),
    ];
    for (name, value) in settings {
        flags.set(name, value).map_err(|e| format!("cranelift flag {name}: {e}"))?;
    }
    cranelift_native::builder()
        .map_err(|e| format!("no Cranelift backend for this host: {e}"))?
        .finish(settings::Flags::new(flags))
        .map_err(|e| format!("cranelift: {e}"))
}

/// A module whose own ISA compiles at `Effort::None` (runs that loop are
/// compiled with `Translator::loop_isa` and given to it as bytes).
fn new_module() -> Result<JITModule, String> {
    let mut builder = JITBuilder::with_isa(host_isa(Effort::None)?, cranelift_module::default_libcall_names());
    if let Some(packed) = super::code_memory::PackedCode::reserve(super::CODE_RESERVE) {
        builder.memory_provider(Box::new(packed));
    }
    Ok(JITModule::new(builder))
}

impl Translator {
    pub fn new() -> Result<Translator, String> {
        let module = new_module()?;
        let ctx = module.make_context();
        let mut fctx = FunctionBuilderContext::new();
        let mut trampoline_module = new_module()?;
        let trampoline = compile_trampoline(&mut trampoline_module, &mut fctx)?;
        let loop_isa = host_isa(Effort::Speed)?;
        Ok(Translator {
            module: Some(module),
            loop_isa,
            _trampoline_module: trampoline_module,
            trampoline,
            ctx,
            fctx,
            profiling: Profiling::from_env(),
        })
    }

    /// The same, telling host tools what `profiling` asks (tests).
    #[cfg(test)]
    pub fn with_profiling(profiling: Profiling) -> Result<Translator, String> {
        Ok(Translator { profiling, ..Translator::new()? })
    }

    /// What calls a translation from Rust (`jit::enter`).
    pub fn trampoline(&self) -> Trampoline {
        self.trampoline
    }

    /// Free all compiled code (every `Translated` handed out dies).
    pub fn reset(&mut self) {
        if let Some(old) = self.module.take() {
            // SAFETY: the caller has dropped every translation of this
            // module (`Jit::flush`), and none is running.
            unsafe { old.free_memory() };
        }
        self.module = new_module().ok();
    }

    /// Translate the run of `block` (at virtual `vbase`) that starts at
    /// word `entry`, testing accesses off each register against the
    /// memory of `hints` first.
    pub fn translate<B: Bus>(
        &mut self,
        block: &Block<B>,
        table: &OpTable<B>,
        vbase: u32,
        entry: usize,
        hints: &MemoryHints,
        latencies: &Latencies,
    ) -> Result<Done, String> {
        let end = run_end(block, table, entry);
        if end == entry {
            return Err("nothing to translate here".into());
        }
        let module = self.module.as_mut().ok_or("no code memory")?;
        let config = module.target_config();
        let ptr = config.pointer_type();
        // The first pass finds the held fields the run both reads and
        // writes, and whether it calls handlers other than behind a memory
        // fast path. Only a run that does not is emitted again, holding
        // those fields in variables: after each such call every held
        // field would be loaded again, and holding them there too was no
        // faster (paired on the Linux hackbench run: 1.06x the time,
        // spread 0.92-1.16).
        let mut plan = None;
        loop {
            module.clear_context(&mut self.ctx);
            self.ctx.func.signature = translation_signature(ptr);
            let b = FunctionBuilder::new(&mut self.ctx.func, &mut self.fctx);
            let host = Host { ptr, conv: module.isa().default_call_conv() };
            let (used, calls) = Emitter::<B>::new(b, host, block, table, (vbase, entry, end), (hints, latencies), plan).emit(config);
            if plan.is_some() || calls || used == 0 {
                break;
            }
            plan = Some(used);
        }
        // The context is cleared whatever happens: the next translation
        // starts from an empty function.
        let effort = if loops_back(block, table, vbase, entry, end) { Effort::Speed } else { Effort::None };
        let (pc, words) = (vbase.wrapping_add(2 * entry as u32), end - entry);
        let ir = self.profiling.wants_disassembly().then(|| {
            self.ctx.set_disasm(true);
            self.ctx.func.display().to_string()
        });
        let declared = match self.profiling.name(pc, words) {
            Some(name) => module.declare_function(&name, cranelift_module::Linkage::Local, &self.ctx.func.signature),
            None => module.declare_anonymous_function(&self.ctx.func.signature),
        };
        let defined = match declared {
            Ok(id) if effort == Effort::None => module.define_function(id, &mut self.ctx).map(|()| id).map_err(|e| e.to_string()),
            Ok(id) => define_with(module, &*self.loop_isa, id, &mut self.ctx).map(|()| id),
            Err(e) => Err(e.to_string()),
        };
        let bytes = self.ctx.compiled_code().map_or(0, |c| c.code_info().total_size as usize);
        if let Some(ir) = ir {
            let host = self.ctx.compiled_code().and_then(|c| c.vcode.as_deref()).unwrap_or("(not compiled)\n");
            self.profiling.list(pc, words, &format!("{effort:?}"), bytes, &ir, host);
        }
        module.clear_context(&mut self.ctx);
        let id = defined?;
        module.finalize_definitions().map_err(|e| e.to_string())?;
        let raw = module.get_finalized_function(id);
        let code = Translated(std::ptr::NonNull::new(raw as *mut u8).ok_or("no code address")?);
        Ok(Done { code, bytes, words: end - entry })
    }
}

/// Compile `ctx`'s function with `isa` (another than the module's) and
/// define it in `module` as `id`, as `JITModule::define_function` does
/// with the module's own.
fn define_with(module: &mut JITModule, isa: &dyn cranelift_codegen::isa::TargetIsa, id: cranelift_module::FuncId, ctx: &mut Context) -> Result<(), String> {
    let mut control = cranelift_codegen::control::ControlPlane::default();
    ctx.compile(isa, &mut control).map_err(|e| format!("{:?}", e.inner))?;
    let compiled = ctx.compiled_code().ok_or("no compiled code")?;
    let alignment = compiled.buffer.alignment as u64;
    let relocs: Vec<_> =
        compiled.buffer.relocs().iter().map(|r| cranelift_module::ModuleReloc::from_mach_reloc(r, &ctx.func, id)).collect();
    let bytes = compiled.code_buffer();
    module.define_function_bytes(id, alignment, bytes, &relocs).map_err(|e| e.to_string())
}

/// The word a branch of the run at `w` jumps to, if it is a fixed target
/// inside the run `entry..end`.
fn target_in_run<B: Bus>(block: &Block<B>, table: &OpTable<B>, vbase: u32, entry: usize, end: usize, w: usize) -> Option<usize> {
    let op = block.ops[w];
    let pc = vbase.wrapping_add(2 * w as u32);
    let target = match table.mnemonic(op) {
        "BF label" | "BT label" | "BF/S label" | "BT/S label" => pc.wrapping_add(4).wrapping_add(simm8(op) << 1),
        "BRA label" | "BSR label" => pc.wrapping_add(4).wrapping_add(sdisp12(op) << 1),
        _ => return None,
    };
    let off = target.wrapping_sub(vbase);
    (off % 2 == 0 && off < BLOCK_BYTES && (entry..end).contains(&((off / 2) as usize))).then_some((off / 2) as usize)
}

/// Whether the run `entry..end` loops: a branch of it goes back to a word
/// at or before its own.
pub(super) fn loops_back<B: Bus>(block: &Block<B>, table: &OpTable<B>, vbase: u32, entry: usize, end: usize) -> bool {
    (entry..end).any(|w| target_in_run(block, table, vbase, entry, end, w).is_some_and(|t| t <= w))
}

/// The segment (`addr >> 29`) of `addr` if it is P1 or P2, whose
/// translation to physical addresses is fixed (`addr & 0x1FFF_FFFF`) for
/// privileged code, the only code that runs there.
fn fixed_segment(addr: u32) -> Option<u32> {
    matches!(addr >> 29, 4 | 5).then_some(addr >> 29)
}

/// The delayed branches, and whether each is conditional.
fn delayed(mnemonic: &str) -> Option<bool> {
    match mnemonic {
        "BF/S label" | "BT/S label" => Some(true),
        "BRA label" | "BRAF Rn" | "BSR label" | "BSRF Rn" | "JMP @Rn" | "JSR @Rn" | "RTS" | "RTE" => Some(false),
        _ => None,
    }
}

/// Where the run from `entry` ends (exclusive): after an unconditional
/// delayed branch and its slot, before a delayed branch whose slot is
/// not in this block or cannot stand in a slot (the loop runs those), at
/// the block's end, or after `MAX_WORDS`.
fn run_end<B: Bus>(block: &Block<B>, table: &OpTable<B>, entry: usize) -> usize {
    let mut end = entry;
    while end < BLOCK_OPS && end - entry < MAX_WORDS {
        let m = table.mnemonic(block.ops[end]);
        if m == "RTE" {
            // A handler call that flags its slot: the loop runs the slot.
            return end + 1;
        }
        match delayed(m) {
            None => end += 1,
            Some(conditional) => {
                if end + 1 >= BLOCK_OPS || block.slot_illegal[end + 1] {
                    return end;
                }
                end += 2;
                if !conditional {
                    return end;
                }
            }
        }
    }
    end
}

/// The value the PC-relative load `op` at `pc` of `block` (at `vbase`)
/// reads, if it is known when the word is translated: a `MOV.L` or
/// `MOV.W @(disp,PC),Rn` of code in P1 or P2 whose literal lies in the
/// word's own block. Why it is known: there the core is privileged and
/// the load's address translates to the physical address of the block's
/// own bytes, which are the decoded words (`Block::ops`); and a store to
/// them, by any core, the store queue or the loader, ends the block's
/// translations as a store to its code does (`code_cache`). What the load
/// costs is known too: the plain RAM's read latency (code blocks are
/// plain RAM, `Bus::code_block`), which every frame holds to
/// (`Frame::latencies_hold`). Compilers put a function's constants and
/// addresses after its code: one instruction in seven of the
/// hypervisor's `w2c_hv_enter` is such a load, each an address test and
/// a load before.
pub(super) fn literal<B: Bus>(block: &Block<B>, table: &OpTable<B>, vbase: u32, pc: u32, op: u16) -> Option<u32> {
    fixed_segment(vbase)?;
    let Access { size, address: Address::Fixed(addr), .. } = access::access(table.mnemonic(op), op, pc)? else { return None };
    let off = addr.wrapping_sub(vbase);
    if off.checked_add(size)? > BLOCK_BYTES {
        return None;
    }
    let i = (off / 2) as usize;
    // Both aligned (`vbase` is a block's), and the words little-endian.
    Some(match size {
        4 => block.ops[i] as u32 | (block.ops[i + 1] as u32) << 16,
        _ => block.ops[i] as i16 as i32 as u32,
    })
}

/// For the run `entry..end`: which words are pure (one of `INLINED`, or a
/// `literal` load: no way out, and a cost known now, `Emitter::cost`),
/// which are targets of its branches, and which start a segment (the
/// entry, a target, or the word after an impure one).
fn segments<B: Bus>(block: &Block<B>, table: &OpTable<B>, vbase: u32, entry: usize, end: usize) -> (Vec<bool>, Vec<bool>, Vec<bool>) {
    let pure: Vec<bool> = (entry..end)
        .map(|w| {
            let op = block.ops[w];
            INLINED.contains(&table.mnemonic(op)) || literal(block, table, vbase, vbase.wrapping_add(2 * w as u32), op).is_some()
        })
        .collect();
    let mut targets = vec![false; end - entry];
    for w in entry..end {
        if let Some(t) = target_in_run(block, table, vbase, entry, end, w) {
            targets[t - entry] = true;
        }
    }
    let starts = (entry..end).map(|w| w == entry || !pure[w - 1 - entry] || targets[w - entry]).collect();
    (pure, targets, starts)
}

const TRUSTED: MemFlagsData = MemFlagsData::trusted();

/// Offsets of the `Cpu` fields compiled code reads and writes.
const fn reg_offset(n: usize) -> i32 {
    (offset_of!(Cpu, r) + 4 * n) as i32
}
const SR: i32 = offset_of!(Cpu, sr) as i32;
const PC: i32 = offset_of!(Cpu, pc) as i32;
const PR: i32 = offset_of!(Cpu, pr) as i32;
const GBR: i32 = offset_of!(Cpu, gbr) as i32;
const MACL: i32 = offset_of!(Cpu, macl) as i32;
const MACH: i32 = offset_of!(Cpu, mach) as i32;
const CYCLES: i32 = offset_of!(Cpu, cycles) as i32;
const LIMIT: i32 = offset_of!(Cpu, jit_limit) as i32;
const HORIZON: i32 = offset_of!(Cpu, jit_horizon) as i32;
const QUANTUM: i32 = offset_of!(Cpu, jit_quantum) as i32;
const CODE_VBASE: i32 = offset_of!(Cpu, code_vbase) as i32;
const FPSCR: i32 = offset_of!(Cpu, fpscr) as i32;
const BRANCH_PC: i32 = offset_of!(Cpu, branch_pc) as i32;
const BRANCH_TARGET: i32 = offset_of!(Cpu, branch_target) as i32;

/// Offset of FRn (of the current bank) in the `Cpu`.
fn fr_offset(n: usize) -> i32 {
    (offset_of!(Cpu, fr) + 4 * n) as i32
}

/// Offset in the `Cpu` of field `name` (an `offset_of!(Direct, ..)`) of
/// direct range `at` (`Direct::at`).
fn direct_field(at: usize, name: usize) -> i32 {
    (offset_of!(Cpu, jit_direct) + at * std::mem::size_of::<Direct>() + name) as i32
}

/// The 32-bit `Cpu` fields a translation holds in SSA variables while it
/// runs (see the module's header): only handlers change them otherwise.
const HELD: [i32; 21] = {
    let mut held = [0; 21];
    let mut n = 0;
    while n < 16 {
        held[n] = reg_offset(n);
        n += 1;
    }
    let rest = [SR, PR, GBR, MACL, MACH];
    let mut i = 0;
    while i < rest.len() {
        held[16 + i] = rest[i];
        i += 1;
    }
    held
};

/// Which `HELD` fields (bit i: `HELD[i]`) a run reads or writes.
type Held = u32;

/// The index in `HELD` of the `Cpu` field at `offset`, if it is held.
fn held_index(offset: i32) -> Option<usize> {
    HELD.iter().position(|&h| h == offset)
}

/// A branch target: known now, or computed by the guest.
#[derive(Clone, Copy)]
enum Target {
    Fixed(u32),
    Computed(Value),
}

struct Emitter<'a, B: Bus> {
    b: FunctionBuilder<'a>,
    ptr: Type,
    block: &'a Block<B>,
    table: &'a OpTable<B>,
    vbase: u32,
    entry: usize,
    end: usize,
    frame: Value,
    cpu: Value,
    /// The CPU's clock less the limit (`Cpu::jit_limit`): negative until
    /// the limit, signed (`JIT_LIMIT_MAX` keeps it in range). The clock is
    /// the limit plus this wherever it is stored. Why not the clock: a
    /// test of the limit was then a load of it, an add and a compare; of
    /// this it is a compare with a constant.
    past: Variable,
    retired: Variable,
    /// Cycles and retired instructions known here but not yet added to
    /// `past` and `retired` (the value of either is its variable plus
    /// this). Why: a translation counted each segment as it ended, an
    /// add to each variable, which a loop then paid at every segment it
    /// passed; carried along instead, the counts of a loop's segments
    /// are added once a pass, where it jumps back (docs/benchmarks.md).
    lazy: Lazy,
    /// The `lazy` counts each IR block is entered with, fixed by the
    /// first branch to it (the exits' at nought): a later branch from
    /// where the counts differ adds the difference to the variables
    /// first (`jump`, `brif`).
    entry_lazy: SecondaryMap<IrBlock, Option<Lazy>>,
    /// IR block of each word of the run that starts a segment (index:
    /// word - entry); the other words continue their predecessor's block.
    words: Vec<Option<IrBlock>>,
    /// Per word of the run: it never leaves, and costs what is known now
    /// (`INLINED`, one cycle; a `literal` load, `cost`).
    pure: Vec<bool>,
    /// Per word of the run: it starts a segment (the entry, a branch
    /// target inside the run, or the word after one that is not pure).
    starts: Vec<bool>,
    /// Exit storing the PC given as its parameter.
    exit_at: IrBlock,
    /// Way out to a word of this block outside the run (parameters: its
    /// PC, and its byte offset in the entry table): a hand-over to its
    /// translation if it has one (a hand-over), else `exit_at`.
    chain_exit: IrBlock,
    /// Way out to a word of another block of the same fixed segment
    /// (parameters: its PC, the byte offset of its block's entry in
    /// `Frame::blocks`, the block's physical address and virtual base,
    /// and the word's byte offset in the block's entry table): a
    /// hand-over to its translation if the table has it, else `exit_at`.
    cross_exit: IrBlock,
    /// Exit with the PC a handler left in the CPU.
    exit_as_is: IrBlock,
    /// Exit with an exception parked in the frame (PC already stored).
    exit_exception: IrBlock,
    handler_sig: cranelift_codegen::ir::SigRef,
    /// A translation's, for hand-overs.
    translation_sig: cranelift_codegen::ir::SigRef,
    /// The `HELD` fields this run reads, and writes, as found so far.
    read: Held,
    written: Held,
    /// The fields held in variables (the second pass: the first pass's
    /// fields both read and written; none in the first).
    held: Held,
    /// In the second pass, the variables of the `HELD` fields (only the
    /// `held` ones are defined); in the first, `None`: fields are read
    /// from the `Cpu`, and `read` and `written` record which.
    vars: Option<[Variable; HELD.len()]>,
    /// A word of the run is done by a handler call alone (no fast path).
    calls: bool,
    /// The memory each register points into, as far as the words emitted
    /// so far tell: where it pointed when the run was asked for
    /// (`jit::memory_hints`), followed through copies and additions, and
    /// nothing once a word writes it otherwise (`memory_order`).
    hints: MemoryHints,
    /// The value each general register holds, where the words emitted so
    /// far make it known now: set by a constant (`MOV #imm`, `MOVA`, a
    /// `literal` load), copied and moved on by a constant (`MOV Rm,Rn`,
    /// `ADD #imm`), nothing once written otherwise or by a handler, and
    /// nothing at all at a word other words of the run branch to
    /// (`targets`). Words emitted out of their order (a limit ladder, a
    /// slot on a branch's taken way, a run's way) leave it as it was.
    /// What it is for: `ccn_field`.
    known: [Option<u32>; 16],
    /// Per word of the run: a branch of the run goes to it.
    targets: Vec<bool>,
    /// What each direct range's accesses cost (`jit::Latencies`), counted
    /// at compile time.
    latencies: Latencies,
    /// Inside a stretch's one way (`stretch_run`), the values of the
    /// `HELD` fields its words wrote, not yet stored to the `Cpu`: nothing
    /// leaves that way and no handler runs on it, so only each field's
    /// last value needs its store, where the way ends. `None` elsewhere.
    unstored: Option<[Option<Value>; HELD.len()]>,
}

/// Counts a translation knows at compile time and has not yet added to
/// its variables (`Emitter::lazy`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
struct Lazy {
    cycles: i64,
    retired: i64,
}

/// What a translation's code depends on in the host: its pointer type,
/// and the calling convention of the Rust functions it calls (handlers).
#[derive(Clone, Copy)]
struct Host {
    ptr: Type,
    conv: CallConv,
}

impl<'a, B: Bus> Emitter<'a, B> {
    fn new(
        mut b: FunctionBuilder<'a>,
        Host { ptr, conv }: Host,
        block: &'a Block<B>,
        table: &'a OpTable<B>,
        (vbase, entry, end): (u32, usize, usize),
        (hints, latencies): (&MemoryHints, &Latencies),
        plan: Option<Held>,
    ) -> Self {
        let start = b.create_block();
        b.append_block_params_for_function_params(start);
        b.switch_to_block(start);
        let frame = b.block_params(start)[0];
        let cpu = b.ins().load(ptr, TRUSTED, frame, offset_of!(Frame<B>, cpu) as i32);
        let past = b.declare_var(types::I64);
        let retired = b.declare_var(types::I64);
        let c0 = b.ins().load(types::I64, TRUSTED, cpu, CYCLES);
        let limit = b.ins().load(types::I64, TRUSTED, cpu, LIMIT);
        let p0 = b.ins().isub(c0, limit);
        b.def_var(past, p0);
        let zero = b.ins().iconst(types::I64, 0);
        b.def_var(retired, zero);
        let (pure, targets, starts) = segments(block, table, vbase, entry, end);
        let words: Vec<Option<IrBlock>> = starts.iter().map(|&s| s.then(|| b.create_block())).collect();
        let exit_at = b.create_block();
        b.append_block_param(exit_at, types::I32);
        let chain_exit = b.create_block();
        b.append_block_param(chain_exit, types::I32);
        b.append_block_param(chain_exit, ptr);
        let cross_exit = b.create_block();
        for ty in [types::I32, ptr, types::I32, types::I32, ptr] {
            b.append_block_param(cross_exit, ty);
        }
        let exit_as_is = b.create_block();
        let exit_exception = b.create_block();
        let mut sig = Signature::new(conv);
        sig.params.extend([AbiParam::new(ptr), AbiParam::new(ptr), AbiParam::new(types::I32)]);
        sig.returns.push(AbiParam::new(types::I32));
        let handler_sig = b.import_signature(sig);
        let translation_sig = b.import_signature(translation_signature(ptr));
        let vars = plan.map(|_| HELD.map(|_| b.declare_var(types::I32)));
        let mut emitter = Emitter {
            b,
            ptr,
            block,
            table,
            vbase,
            entry,
            end,
            frame,
            cpu,
            past,
            retired,
            lazy: Lazy::default(),
            entry_lazy: SecondaryMap::new(),
            words,
            pure,
            starts,
            exit_at,
            chain_exit,
            cross_exit,
            exit_as_is,
            exit_exception,
            handler_sig,
            translation_sig,
            read: 0,
            written: 0,
            held: plan.unwrap_or_default(),
            vars,
            calls: false,
            hints: *hints,
            known: [None; 16],
            targets,
            latencies: *latencies,
            unstored: None,
        };
        for exit in [exit_at, chain_exit, cross_exit, exit_as_is, exit_exception] {
            emitter.entry_lazy[exit] = Some(Lazy::default());
        }
        emitter.load_held();
        emitter.jump(emitter.words[0].expect("the entry starts a segment"), &[]);
        emitter
    }

    fn pc_of(&self, word: usize) -> u32 {
        self.vbase.wrapping_add(2 * word as u32)
    }

    /// Emit the run; the `HELD` fields it both reads and writes (those
    /// worth holding: a field it only reads is read from the `Cpu`, where
    /// no store of the run waits to be forwarded), and whether it calls a
    /// handler other than behind a memory fast path.
    fn emit(mut self, config: cranelift_codegen::isa::TargetFrontendConfig) -> (Held, bool) {
        // Words before this are in a run already tried as one.
        let mut run_to = self.entry;
        for word in self.entry..self.end {
            if self.targets[word - self.entry] {
                // Reached from elsewhere in the run too.
                self.known = [None; 16];
            }
            if let Some(ir) = self.words[word - self.entry] {
                self.switch_to(ir);
                if word < run_to {
                    // Reached when the run's way failed (or by a branch).
                    self.b.set_cold_block(ir);
                }
                self.segment_test(word);
            }
            if word >= run_to {
                let (known, hints) = (self.known, self.hints);
                if let Some(run) = self.run_at(word) {
                    run_to = word + run.accesses.len();
                    self.base_run(word, &run);
                } else if let Some((stretch, memory)) = self.stretch_at(word) {
                    run_to = word + stretch.words.len();
                    self.stretch_run(word, &stretch, memory);
                }
                (self.known, self.hints) = (known, hints);
            }
            self.instruction(word);
        }
        self.exits();
        self.b.seal_all_blocks();
        self.b.finalize(config);
        (self.read & self.written, self.calls)
    }

    /// At the start of a segment of `k` words: the interpreter tests the
    /// limit before each, and all but the last are pure, each costing
    /// what `cost` says (mostly one cycle), so the k tests pass exactly
    /// when the clock plus the first k - 1 costs is below the limit. If not, the
    /// words the limit leaves room for run one by one, each tested
    /// (`limit_ladder`), and the translation leaves with the PC at the
    /// first word not run (one that ran nothing hands the loop the
    /// instruction at its PC).
    fn segment_test(&mut self, start: usize) {
        let mut last = start;
        while last + 1 < self.end && self.pure[last - self.entry] && !self.starts[last + 1 - self.entry] {
            last += 1;
        }
        let head = self.b.current_block().expect("a segment starts a block");
        // The clock at `last`, the words before it on, reaches the limit.
        let before_last: u64 = (start..last).map(|w| self.cost(w)).sum();
        let past = self.b.use_var(self.past);
        let over = self.b.ins().icmp_imm_s(IntCC::SignedGreaterThanOrEqual, past, -(before_last as i64) - self.lazy.cycles);
        let go = self.b.create_block();
        let cold = self.b.create_block();
        self.brif(over, cold, &[], go, &[]);
        self.b.set_cold_block(cold);
        self.switch_to(cold);
        let stop = self.b.create_block();
        self.b.set_cold_block(stop);
        self.pass_round(head, stop);
        self.switch_to(stop);
        if last == start {
            let pc = self.const32(self.pc_of(start));
            self.jump(self.exit_at, &[pc.into()]);
        } else {
            self.limit_ladder(start, last);
        }
        self.switch_to(go);
    }

    /// The limit (`Cpu::jit_limit`, the end of the round), read where it
    /// is needed: a round may end further on in the same call
    /// (`pass_round`).
    fn limit(&mut self) -> Value {
        self.b.ins().load(types::I64, TRUSTED, self.cpu, LIMIT)
    }

    /// The CPU's clock: the limit plus `past`.
    fn clock(&mut self) -> Value {
        let limit = self.limit();
        let past = self.b.use_var(self.past);
        let clock = self.b.ins().iadd(limit, past);
        match self.lazy.cycles {
            0 => clock,
            n => self.b.ins().iadd_imm_s(clock, n),
        }
    }

    /// `past` from the CPU's clock (after a handler, which may have added
    /// to it).
    fn reload_clock(&mut self) {
        let c = self.b.ins().load(types::I64, TRUSTED, self.cpu, CYCLES);
        let limit = self.limit();
        let past = self.b.ins().isub(c, limit);
        self.b.def_var(self.past, past);
        self.lazy.cycles = 0;
    }

    /// Where a segment's test failed against the limit: the first of its
    /// words to start at or past the limit (the round's end) is pure or
    /// its last, and only pure words run before it, which reach no device.
    /// So whether the core would run on into the next round there
    /// (`Rounds::pass`) is known now: if the limit is below the horizon
    /// (`Cpu::jit_horizon`, which a device access brings back to the
    /// limit), the limit moves on a round (`Cpu::jit_quantum`) and the
    /// segment is tested again from `head` (again and again, a round at a
    /// time, if one instruction passed several ends); if not, on to
    /// `stop`, where the core stops at the limit as before. Ten host
    /// instructions or so, in a cold block: with the division, the count
    /// and a test of the device flag here as well, host code grew a third
    /// on the Linux run, and its host time with it.
    fn pass_round(&mut self, head: IrBlock, stop: IrBlock) {
        let limit = self.limit();
        let horizon = self.b.ins().load(types::I64, TRUSTED, self.cpu, HORIZON);
        let last = self.b.ins().icmp(IntCC::UnsignedGreaterThanOrEqual, limit, horizon);
        let passed = self.b.create_block();
        self.brif(last, stop, &[], passed, &[]);
        self.b.set_cold_block(passed);
        self.switch_to(passed);
        // Below the horizon, the limit is a multiple of the quantum.
        let q = self.b.ins().load(types::I64, TRUSTED, self.cpu, QUANTUM);
        let end = self.b.ins().iadd(limit, q);
        let end = self.b.ins().umin(end, horizon);
        self.b.ins().store(TRUSTED, end, self.cpu, LIMIT);
        let moved = self.b.ins().isub(end, limit);
        let past = self.b.use_var(self.past);
        let past = self.b.ins().isub(past, moved);
        self.b.def_var(self.past, past);
        self.jump(head, &[]);
    }

    /// The cycles pure word `word` costs: one, and for a `literal` load
    /// the plain RAM's read latency.
    fn cost(&self, word: usize) -> u64 {
        let op = self.block.ops[word];
        match literal(self.block, self.table, self.vbase, self.pc_of(word), op) {
            Some(_) => 1 + self.latencies[Direct::at(false, Memory::Plain)],
            None => 1,
        }
    }

    /// Where a segment's test failed (`segment_test`): its words up to the
    /// limit, each tested first as the interpreter tests it, then out with
    /// the PC at the first word not run. Only pure words can run here
    /// (the test failed, so the limit falls before `last`, the one word
    /// that may not be pure), so each is its inline form again.
    /// Why: leaving at the segment's start handed those words to the
    /// loop, which entered the next translation only to have its first
    /// test fail the same way and then interpreted them, at every round
    /// that ended in a run of pure words (on `rp1 bench`'s one-core run,
    /// 1.30 M interpreted instructions before, 0.29 M after; 0.98x its
    /// host time, docs/benchmarks.md).
    fn limit_ladder(&mut self, start: usize, last: usize) {
        let known = self.known;
        for word in start..last {
            let past = self.b.use_var(self.past);
            let done = self.b.ins().icmp_imm_s(IntCC::SignedGreaterThanOrEqual, past, -self.lazy.cycles);
            let pc = self.const32(self.pc_of(word));
            let run = self.b.create_block();
            self.brif(done, self.exit_at, &[pc.into()], run, &[]);
            self.b.set_cold_block(run);
            self.switch_to(run);
            let inlined = self.inline(self.block.ops[word], self.pc_of(word));
            debug_assert!(inlined, "a segment's words before its last are pure");
            self.count();
        }
        let pc = self.const32(self.pc_of(last));
        self.jump(self.exit_at, &[pc.into()]);
        self.known = known;
    }

    /// After a pure word: on to `word` in the same IR block if it does not
    /// start a segment, else a jump (or the exit past the run's end).
    fn fall_to(&mut self, word: usize) {
        if word < self.end && !self.starts[word - self.entry] {
            return;
        }
        self.goto(Target::Fixed(self.pc_of(word)));
    }

    fn exits(&mut self) {
        self.switch_to(self.chain_exit);
        let (pc, at) = (self.b.block_params(self.chain_exit)[0], self.b.block_params(self.chain_exit)[1]);
        let chain = self.frame_pointer(offset_of!(Frame<B>, chain));
        let next = self.pointer_or_exit(chain, at, pc);
        self.hand_over(next, pc);
        self.switch_to(self.cross_exit);
        let p = self.b.block_params(self.cross_exit).to_vec();
        let (pc, slot_at, phys, vbase, word_at) = (p[0], p[1], p[2], p[3], p[4]);
        let blocks = self.frame_pointer(offset_of!(Frame<B>, blocks));
        let code = self.pointer_or_exit(blocks, slot_at, pc);
        let its_phys = self.b.ins().load(types::I32, TRUSTED, code, offset_of!(BlockCode, phys) as i32);
        let its_vbase = self.b.ins().load(types::I32, TRUSTED, code, offset_of!(BlockCode, vbase) as i32);
        let same_phys = self.b.ins().icmp(IntCC::Equal, its_phys, phys);
        let same_vbase = self.b.ins().icmp(IntCC::Equal, its_vbase, vbase);
        let same = self.b.ins().band(same_phys, same_vbase);
        let get = self.b.create_block();
        self.brif(same, get, &[], self.exit_at, &[pc.into()]);
        self.switch_to(get);
        let table = self.b.ins().iadd_imm_s(code, offset_of!(BlockCode, entry) as i64);
        let next = self.pointer_or_exit(table, word_at, pc);
        self.b.ins().store(TRUSTED, table, self.frame, offset_of!(Frame<B>, chain) as i32);
        let one = self.b.ins().iconst(types::I8, 1);
        self.b.ins().store(TRUSTED, one, self.frame, offset_of!(Frame<B>, crossed) as i32);
        // What the loop's outer path would set on finding that block.
        self.b.ins().store(TRUSTED, vbase, self.cpu, CODE_VBASE);
        self.hand_over(next, pc);
        self.switch_to(self.exit_at);
        let pc = self.b.block_params(self.exit_at)[0];
        self.b.ins().store(TRUSTED, pc, self.cpu, PC);
        self.leave(EXIT_CONTINUE);
        self.switch_to(self.exit_as_is);
        self.leave(EXIT_CONTINUE);
        self.switch_to(self.exit_exception);
        self.leave(EXIT_EXCEPTION);
    }

    /// The pointer field of the frame at `offset`, loaded where it is
    /// used: the frame's pointers held from entry to every way out kept
    /// registers busy for the whole translation, and the values a run
    /// does use spilled to the stack.
    fn frame_pointer(&mut self, offset: usize) -> Value {
        self.b.ins().load(self.ptr, TRUSTED, self.frame, offset as i32)
    }

    /// The pointer at `table + at`, with the builder where neither it nor
    /// `table` is null; else out with the PC `pc`.
    fn pointer_or_exit(&mut self, table: Value, at: Value, pc: Value) -> Value {
        let look = self.b.create_block();
        self.brif(table, look, &[], self.exit_at, &[pc.into()]);
        self.switch_to(look);
        let slot = self.b.ins().iadd(table, at);
        let found = self.b.ins().load(self.ptr, TRUSTED, slot, 0);
        let on = self.b.create_block();
        self.brif(found, on, &[], self.exit_at, &[pc.into()]);
        self.switch_to(on);
        found
    }

    /// Hand over to the translation `next`, at `pc`: a tail call, with the
    /// state the loop would have there (`jit::enter`).
    fn hand_over(&mut self, next: Value, pc: Value) {
        self.b.ins().store(TRUSTED, pc, self.cpu, PC);
        self.store_counts();
        let at = offset_of!(Frame<B>, chained) as i32;
        let chained = self.b.ins().load(types::I64, TRUSTED, self.frame, at);
        let chained = self.b.ins().iadd_imm_s(chained, 1);
        self.b.ins().store(TRUSTED, chained, self.frame, at);
        self.b.ins().return_call_indirect(self.translation_sig, next, &[self.frame]);
    }

    /// Store the counts and return `code`.
    fn leave(&mut self, code: u32) {
        self.store_counts();
        let v = self.b.ins().iconst(types::I32, code as i64);
        self.b.ins().return_(&[v]);
    }

    /// Store the counts (the retired count adds to the frame's: the
    /// translations of one call share it).
    fn store_counts(&mut self) {
        let c = self.clock();
        self.b.ins().store(TRUSTED, c, self.cpu, CYCLES);
        debug_assert_eq!(self.lazy.retired, 0, "the exits are entered with no count outstanding");
        let r = self.b.use_var(self.retired);
        let at = offset_of!(Frame<B>, retired) as i32;
        let before = self.b.ins().load(types::I64, TRUSTED, self.frame, at);
        let r = self.b.ins().iadd(before, r);
        self.b.ins().store(TRUSTED, r, self.frame, at);
    }

    fn const32(&mut self, v: u32) -> Value {
        self.b.ins().iconst(types::I32, v as i32 as i64)
    }

    /// One more instruction: a cycle, and one retired.
    fn count(&mut self) {
        self.lazy.cycles += 1;
        self.lazy.retired += 1;
    }

    /// Add `self.lazy` less `to` to the variables, leaving `to` outstanding.
    fn settle(&mut self, to: Lazy) {
        for (var, by) in [(self.past, self.lazy.cycles - to.cycles), (self.retired, self.lazy.retired - to.retired)] {
            if by != 0 {
                let v = self.b.use_var(var);
                let v = self.b.ins().iadd_imm_s(v, by);
                self.b.def_var(var, v);
            }
        }
        self.lazy = to;
    }

    /// The counts `block` is entered with: the first branch to it fixes
    /// them as the counts outstanding there (or, for a block switched to
    /// before any branch reaches it, the counts outstanding at that
    /// switch: any amounts will do, as long as every later branch to it
    /// settles to them).
    fn entry_counts(&mut self, block: IrBlock) -> Lazy {
        *self.entry_lazy[block].get_or_insert(self.lazy)
    }

    /// Continue in `block`, with the counts it is entered with.
    fn switch_to(&mut self, block: IrBlock) {
        self.b.switch_to_block(block);
        self.lazy = self.entry_counts(block);
    }

    /// Jump to `block`, the counts settled to the ones it is entered with.
    fn jump(&mut self, block: IrBlock, args: &[BlockArg]) {
        let to = self.entry_counts(block);
        self.settle(to);
        self.b.ins().jump(block, args);
    }

    /// Branch to `yes` if `cond`, else to `no`. A side whose block is
    /// entered with other counts than the ones outstanding here goes
    /// through a cold block of its own that settles them (in practice
    /// the exits, entered with none).
    fn brif(&mut self, cond: Value, yes: IrBlock, yes_args: &[BlockArg], no: IrBlock, no_args: &[BlockArg]) {
        let here = self.lazy;
        let side = |e: &mut Self, block: IrBlock| {
            if e.entry_counts(block) == here {
                None
            } else {
                let settle = e.b.create_block();
                e.entry_lazy[settle] = Some(here);
                Some(settle)
            }
        };
        let (yes_settle, no_settle) = (side(self, yes), side(self, no));
        self.b.ins().brif(
            cond,
            yes_settle.unwrap_or(yes),
            if yes_settle.is_some() { &[] } else { yes_args },
            no_settle.unwrap_or(no),
            if no_settle.is_some() { &[] } else { no_args },
        );
        for (settle, block, args) in [(yes_settle, yes, yes_args), (no_settle, no, no_args)] {
            if let Some(settle) = settle {
                self.b.set_cold_block(settle);
                self.switch_to(settle);
                self.jump(block, args);
            }
        }
    }

    /// A memory access's latency (64 bits) on the clock.
    fn add_latency(&mut self, latency: Value) {
        let past = self.b.use_var(self.past);
        let past = self.b.ins().iadd(past, latency);
        self.b.def_var(self.past, past);
    }

    /// Go on at `target`: the word's IR block if it is in this run, else
    /// out with the PC there.
    fn goto(&mut self, target: Target) {
        match target {
            Target::Fixed(pc) => match self.word_of(pc) {
                Some(w) => {
                    let ir = self.words[w - self.entry].expect("jumps go to segment starts");
                    self.jump(ir, &[]);
                }
                None => {
                    let v = self.const32(pc);
                    let off = pc.wrapping_sub(self.vbase);
                    let entry_size = std::mem::size_of::<Option<Translated>>() as i64;
                    if off.is_multiple_of(2) && off < BLOCK_BYTES {
                        // Another word of this block.
                        let at = self.b.ins().iconst(self.ptr, (off / 2) as i64 * entry_size);
                        self.jump(self.chain_exit, &[v.into(), at.into()]);
                    } else if pc.is_multiple_of(2) && fixed_segment(pc).is_some() && fixed_segment(pc) == fixed_segment(self.vbase) {
                        // A word of another block of the same fixed
                        // segment (P1 or P2, where the core is privileged
                        // while this runs): its physical address is known
                        // now, as the fetch would find it.
                        let vbase = pc & !(BLOCK_BYTES - 1);
                        let phys = vbase & 0x1FFF_FFFF;
                        let slot_size = std::mem::size_of::<Option<Box<BlockCode>>>() as i64;
                        let slot_at = self.b.ins().iconst(self.ptr, Jit::<B>::index(phys) as i64 * slot_size);
                        let phys = self.const32(phys);
                        let vbase = self.const32(vbase);
                        let word_at = (pc.wrapping_sub(pc & !(BLOCK_BYTES - 1)) / 2) as i64 * entry_size;
                        let word_at = self.b.ins().iconst(self.ptr, word_at);
                        let args = [v.into(), slot_at.into(), phys.into(), vbase.into(), word_at.into()];
                        self.jump(self.cross_exit, &args);
                    } else {
                        self.jump(self.exit_at, &[v.into()]);
                    }
                }
            },
            Target::Computed(v) => match fixed_segment(self.vbase) {
                // Computed in P1 or P2 (a return, a call through a
                // register): the same hand-over, found at run time, if
                // the target is a word of the same segment.
                Some(segment) => {
                    let seg = self.b.ins().ushr_imm_u(v, 29);
                    let same_segment = self.b.ins().icmp_imm_s(IntCC::Equal, seg, segment as i64);
                    let odd = self.b.ins().band_imm_s(v, 1);
                    let even = self.b.ins().icmp_imm_s(IntCC::Equal, odd, 0);
                    let ok = self.b.ins().band(same_segment, even);
                    let found = self.b.create_block();
                    self.brif(ok, found, &[], self.exit_at, &[v.into()]);
                    self.switch_to(found);
                    let vbase = self.b.ins().band_imm_s(v, !(BLOCK_BYTES - 1) as i32 as i64);
                    let phys = self.b.ins().band_imm_s(vbase, 0x1FFF_FFFF);
                    let index = self.b.ins().ushr_imm_u(phys, BLOCK_BYTES.trailing_zeros() as i64);
                    let index = self.b.ins().band_imm_s(index, (JIT_SLOTS - 1) as i64);
                    let index = self.b.ins().uextend(self.ptr, index);
                    let slot_at = self.b.ins().imul_imm_s(index, std::mem::size_of::<Option<Box<BlockCode>>>() as i64);
                    let word = self.b.ins().band_imm_s(v, (BLOCK_BYTES - 1) as i64);
                    let word = self.b.ins().ushr_imm_u(word, 1);
                    let word = self.b.ins().uextend(self.ptr, word);
                    let word_at = self.b.ins().imul_imm_s(word, std::mem::size_of::<Option<Translated>>() as i64);
                    let args = [v.into(), slot_at.into(), phys.into(), vbase.into(), word_at.into()];
                    self.jump(self.cross_exit, &args);
                }
                None => {
                    self.jump(self.exit_at, &[v.into()]);
                }
            },
        }
    }

    /// The word of this run at `pc`, if any.
    fn word_of(&self, pc: u32) -> Option<usize> {
        let off = pc.wrapping_sub(self.vbase);
        if !off.is_multiple_of(2) || off >= BLOCK_BYTES {
            return None;
        }
        let w = (off / 2) as usize;
        (self.entry..self.end).contains(&w).then_some(w)
    }

    // ----- state access -----

    fn reg(&mut self, n: usize) -> Value {
        self.field(reg_offset(n))
    }
    fn set_reg(&mut self, n: usize, v: Value) {
        self.hints[n] = None;
        self.known[n] = None;
        self.set_field(reg_offset(n), v)
    }
    /// `set_reg` for an access's address register moved on (@-Rn, @Rn+):
    /// it still points where it did (`memory_order`).
    fn set_address_reg(&mut self, n: usize, v: Value) {
        self.known[n] = None;
        self.set_field(reg_offset(n), v)
    }
    /// A 32-bit field of the `Cpu`: its variable if it is held (or its
    /// value not yet stored, `unstored`).
    fn field(&mut self, offset: i32) -> Value {
        if let Some(i) = held_index(offset) {
            self.read |= 1 << i;
            if let Some(v) = self.unstored.and_then(|u| u[i]) {
                return v;
            }
            if let Some(vars) = self.vars.filter(|_| self.held & 1 << i != 0) {
                return self.b.use_var(vars[i]);
            }
        }
        self.b.ins().load(types::I32, TRUSTED, self.cpu, offset)
    }
    /// Store `v` to a 32-bit field of the `Cpu` (where a stretch's way
    /// ends, inside one: `unstored`), and to its variable if it is held.
    fn set_field(&mut self, offset: i32, v: Value) {
        if let Some(i) = held_index(offset) {
            self.written |= 1 << i;
            if let Some(vars) = self.vars.filter(|_| self.held & 1 << i != 0) {
                self.b.def_var(vars[i], v);
            }
            if let Some(unstored) = self.unstored.as_mut() {
                unstored[i] = Some(v);
                return;
            }
        }
        self.b.ins().store(TRUSTED, v, self.cpu, offset);
    }
    /// Store the fields a stretch's way left `unstored`, and stop
    /// deferring.
    fn store_unstored(&mut self) {
        let Some(unstored) = self.unstored.take() else { return };
        for (&offset, v) in HELD.iter().zip(unstored) {
            if let Some(v) = v {
                self.b.ins().store(TRUSTED, v, self.cpu, offset);
            }
        }
    }
    /// Load the held fields into their variables: on entry,
    /// and where the translation goes on after a handler call (which may
    /// have changed any).
    fn load_held(&mut self) {
        let Some(vars) = self.vars else { return };
        for (i, &offset) in HELD.iter().enumerate().filter(|&(i, _)| self.held & 1 << i != 0) {
            let v = self.b.ins().load(types::I32, TRUSTED, self.cpu, offset);
            self.b.def_var(vars[i], v);
        }
    }
    /// T as 0 or 1 (i32).
    fn t(&mut self) -> Value {
        let s = self.field(SR);
        self.b.ins().band_imm_s(s, sr::T as i64)
    }
    /// T from a comparison result (i8 0/1).
    fn set_t(&mut self, cond: Value) {
        let bit = self.b.ins().uextend(types::I32, cond);
        self.set_t_bit(bit);
    }
    /// T from an i32 that is 0 or 1.
    fn set_t_bit(&mut self, bit: Value) {
        let s = self.field(SR);
        let s = self.b.ins().band_imm_s(s, !sr::T as i32 as i64);
        let s = self.b.ins().bor(s, bit);
        self.set_field(SR, s);
    }

    // ----- instructions -----

    /// The word's instruction, counted, and the jump to what follows.
    fn instruction(&mut self, word: usize) {
        let op = self.block.ops[word];
        let pc = self.pc_of(word);
        let m = self.table.mnemonic(op);
        let next = Target::Fixed(pc.wrapping_add(2));
        if let Some(conditional) = delayed(m).filter(|_| m != "RTE") {
            // The slot is emitted on the taken way first; the not-taken
            // way runs it as the next word.
            let known = self.known;
            self.delayed_branch(word, m, conditional);
            self.known = known;
            return;
        }
        match m {
            "BF label" | "BT label" => {
                let t = self.t();
                let taken = if m == "BT label" {
                    self.b.ins().icmp_imm_s(IntCC::NotEqual, t, 0)
                } else {
                    self.b.ins().icmp_imm_s(IntCC::Equal, t, 0)
                };
                self.count();
                let target = pc.wrapping_add(4).wrapping_add(simm8(op) << 1);
                let (yes, no) = (self.b.create_block(), self.b.create_block());
                self.brif(taken, yes, &[], no, &[]);
                self.switch_to(yes);
                self.goto(Target::Fixed(target));
                self.switch_to(no);
                self.goto(next);
            }
            _ if self.inline(op, pc) => {
                self.count();
                self.fall_to(word + 1);
            }
            _ => {
                let memory = match self.memory_fast(op, pc) {
                    Some(slow) => {
                        self.count();
                        self.goto(next);
                        // Laid out after the function's hot code (the
                        // handler call and its checks behind it too): the
                        // fast paths of a run then lie together in the
                        // host's instruction cache.
                        self.b.set_cold_block(slow);
                        self.switch_to(slow);
                        true
                    }
                    None => {
                        self.calls = true;
                        // Whatever the handler writes.
                        self.known = [None; 16];
                        false
                    }
                };
                self.handler_call(word, memory)
            }
        }
    }

    /// A call of the word's handler (for a load or store that missed the
    /// direct ranges, `memory`: one that then brings them up to date),
    /// then: an exception leaves; a handler that went anywhere but the
    /// next word, or flagged `code_vbase`, leaves with the PC it set;
    /// otherwise on to the next word.
    fn handler_call(&mut self, word: usize, memory: bool) {
        let pc = self.pc_of(word);
        let helper = if memory { exec_memory::<B> as *const () } else { exec::<B> as *const () };
        let rc = self.call(helper, word, pc);
        let ok = self.b.create_block();
        self.brif(rc, self.exit_exception, &[], ok, &[]);
        if memory {
            self.b.set_cold_block(ok);
        }
        self.switch_to(ok);
        let vb = self.field(CODE_VBASE);
        let same_block = self.b.ins().icmp_imm_s(IntCC::Equal, vb, self.vbase as i32 as i64);
        let npc = self.field(PC);
        let next_pc = self.b.ins().icmp_imm_s(IntCC::Equal, npc, pc.wrapping_add(2) as i32 as i64);
        let stay = self.b.ins().band(same_block, next_pc);
        let on = self.b.create_block();
        self.brif(stay, on, &[], self.exit_as_is, &[]);
        if memory {
            self.b.set_cold_block(on);
        }
        self.switch_to(on);
        self.load_held();
        self.goto(Target::Fixed(pc.wrapping_add(2)));
    }

    /// Store the PC and cycles, call `helper(frame, handler, op)`, reload
    /// the cycles (the handler's memory latency) and count the
    /// instruction. Returns the helper's result. The held fields are the
    /// caller's to load again where the translation goes on (no way out
    /// reads them).
    fn call(&mut self, helper: *const (), word: usize, pc: u32) -> Value {
        let pcv = self.const32(pc);
        self.set_field(PC, pcv);
        let c = self.clock();
        self.b.ins().store(TRUSTED, c, self.cpu, CYCLES);
        let callee = self.b.ins().iconst(self.ptr, helper as usize as i64);
        let handler = self.b.ins().iconst(self.ptr, self.block.handlers[word] as *const () as usize as i64);
        let op = self.b.ins().iconst(types::I32, self.block.ops[word] as i64);
        let call = self.b.ins().call_indirect(self.handler_sig, callee, &[self.frame, handler, op]);
        let rc = self.b.inst_results(call)[0];
        self.reload_clock();
        self.count();
        // The ways out after a handler are entered with nothing
        // outstanding, and a handler call costs far more than the adds.
        self.settle(Lazy::default());
        rc
    }

    /// A delayed branch and its slot (the run always holds the slot).
    fn delayed_branch(&mut self, word: usize, m: &str, conditional: bool) {
        let op = self.block.ops[word];
        let pc = self.pc_of(word);
        let disp8 = pc.wrapping_add(4).wrapping_add(simm8(op) << 1);
        let disp12 = pc.wrapping_add(4).wrapping_add(sdisp12(op) << 1);
        if conditional {
            let t = self.t();
            let taken = if m == "BT/S label" {
                self.b.ins().icmp_imm_s(IntCC::NotEqual, t, 0)
            } else {
                self.b.ins().icmp_imm_s(IntCC::Equal, t, 0)
            };
            let (yes, no) = (self.b.create_block(), self.b.create_block());
            self.brif(taken, yes, &[], no, &[]);
            // Not taken: the next word runs as an ordinary instruction.
            self.switch_to(no);
            self.count();
            self.goto(Target::Fixed(pc.wrapping_add(2)));
            self.switch_to(yes);
        }
        let target = match m {
            "BF/S label" | "BT/S label" => Target::Fixed(disp8),
            "BRA label" | "BSR label" => Target::Fixed(disp12),
            "BRAF Rn" | "BSRF Rn" => {
                let r = self.reg(rn(op));
                Target::Computed(self.b.ins().iadd_imm_s(r, pc.wrapping_add(4) as i32 as i64))
            }
            "JMP @Rn" | "JSR @Rn" => Target::Computed(self.reg(rn(op))),
            "RTS" => Target::Computed(self.field(PR)),
            _ => unreachable!("{m} is not a delayed branch"),
        };
        if matches!(m, "BSR label" | "BSRF Rn" | "JSR @Rn") {
            let ret = self.const32(pc.wrapping_add(4));
            self.set_field(PR, ret);
        }
        let bpc = self.const32(pc);
        let tv = match target {
            Target::Fixed(t) => self.const32(t),
            Target::Computed(v) => v,
        };
        self.count();
        // The slot: runs whatever the limit says. `branch_pc` and
        // `branch_target` are read only by the interpreter's run of a
        // pending slot (`Cpu::step_slot` and its kin), and translated code
        // never leaves one pending: only the handler's way stores them, as
        // `Cpu::delayed_branch` would. Stored at every branch, they were
        // two stores a loop pass (docs/benchmarks.md).
        let slot = word + 1;
        let slot_pc = pc.wrapping_add(2);
        if self.inline(self.block.ops[slot], slot_pc) {
            self.count();
            self.goto(target);
            return;
        }
        match self.memory_fast(self.block.ops[slot], slot_pc) {
            Some(slow) => {
                self.count();
                self.goto(target);
                self.switch_to(slow);
            }
            None => self.calls = true,
        }
        // What `Cpu::delayed_branch` leaves for the slot's handler.
        self.set_field(BRANCH_PC, bpc);
        self.set_field(BRANCH_TARGET, tv);
        let rc = self.call(exec_slot::<B> as *const (), slot, slot_pc);
        let failed = self.b.create_block();
        let ok = self.b.create_block();
        self.brif(rc, failed, &[], ok, &[]);
        // The branch is re-executed after the handler returns.
        self.switch_to(failed);
        self.set_field(PC, bpc);
        self.jump(self.exit_exception, &[]);
        self.switch_to(ok);
        let vb = self.field(CODE_VBASE);
        let same_block = self.b.ins().icmp_imm_s(IntCC::Equal, vb, self.vbase as i32 as i64);
        let on = self.b.create_block();
        self.brif(same_block, on, &[], self.exit_at, &[tv.into()]);
        self.switch_to(on);
        self.load_held();
        self.goto(target);
    }

    /// Emit `op` (at `pc`) inline if it is one of the instructions that
    /// touch only registers, or a load of a `literal`: returns false,
    /// emitting nothing, otherwise.
    fn inline(&mut self, op: u16, pc: u32) -> bool {
        let (n, m) = (rn(op), rm(op));
        let mnemonic = self.table.mnemonic(op);
        if let Some(value) = literal(self.block, self.table, self.vbase, pc, op) {
            // What the handler's read adds (`Bus::read_fast`).
            self.lazy.cycles += self.latencies[Direct::at(false, Memory::Plain)] as i64;
            let v = self.const32(value);
            self.set_reg(n, v);
            self.known[n] = Some(value);
            return true;
        }
        if !INLINED.contains(&mnemonic) {
            return false;
        }
        let hints_before = self.hints;
        let known_before = self.known;
        match mnemonic {
            "NOP" => {}
            "MOV #imm,Rn" => {
                let v = self.const32(simm8(op));
                self.set_reg(n, v);
            }
            "MOV Rm,Rn" => {
                let v = self.reg(m);
                self.set_reg(n, v);
            }
            "MOVA @(disp,PC),R0" => {
                let at = (pc & !3).wrapping_add(4).wrapping_add(imm8(op) << 2);
                let v = self.const32(at);
                self.set_reg(0, v);
                self.known[0] = Some(at);
            }
            "MOVT Rn" => {
                let t = self.t();
                self.set_reg(n, t);
            }
            "CLRT" | "SETT" => {
                let bit = self.const32((self.table.mnemonic(op) == "SETT") as u32);
                self.set_t_bit(bit);
            }
            "ADD Rm,Rn" => self.binary(n, m, |b, x, y| b.ins().iadd(x, y)),
            "SUB Rm,Rn" => self.binary(n, m, |b, x, y| b.ins().isub(x, y)),
            "AND Rm,Rn" => self.binary(n, m, |b, x, y| b.ins().band(x, y)),
            "OR Rm,Rn" => self.binary(n, m, |b, x, y| b.ins().bor(x, y)),
            "XOR Rm,Rn" => self.binary(n, m, |b, x, y| b.ins().bxor(x, y)),
            "XTRCT Rm,Rn" => self.binary(n, m, |b, x, y| {
                let hi = b.ins().ishl_imm_u(y, 16);
                let lo = b.ins().ushr_imm_u(x, 16);
                b.ins().bor(hi, lo)
            }),
            "ADD #imm,Rn" => self.unary(n, n, |b, x| b.ins().iadd_imm_s(x, simm8(op) as i32 as i64)),
            "AND #imm,R0" => self.unary(0, 0, |b, x| b.ins().band_imm_s(x, imm8(op) as i64)),
            "OR #imm,R0" => self.unary(0, 0, |b, x| b.ins().bor_imm_s(x, imm8(op) as i64)),
            "XOR #imm,R0" => self.unary(0, 0, |b, x| b.ins().bxor_imm_s(x, imm8(op) as i64)),
            "NOT Rm,Rn" => self.unary(n, m, |b, x| b.ins().bnot(x)),
            "NEG Rm,Rn" => self.unary(n, m, |b, x| b.ins().ineg(x)),
            "EXTS.B Rm,Rn" => self.unary(n, m, |b, x| {
                let v = b.ins().ireduce(types::I8, x);
                b.ins().sextend(types::I32, v)
            }),
            "EXTS.W Rm,Rn" => self.unary(n, m, |b, x| {
                let v = b.ins().ireduce(types::I16, x);
                b.ins().sextend(types::I32, v)
            }),
            "EXTU.B Rm,Rn" => self.unary(n, m, |b, x| b.ins().band_imm_s(x, 0xFF)),
            "EXTU.W Rm,Rn" => self.unary(n, m, |b, x| b.ins().band_imm_s(x, 0xFFFF)),
            "SWAP.W Rm,Rn" => self.unary(n, m, |b, x| b.ins().rotl_imm_u(x, 16)),
            "SWAP.B Rm,Rn" => self.unary(n, m, |b, x| {
                let high = b.ins().band_imm_s(x, 0xFFFF_0000u32 as i32 as i64);
                let lo = b.ins().band_imm_s(x, 0xFF);
                let lo = b.ins().ishl_imm_u(lo, 8);
                let hi = b.ins().ushr_imm_u(x, 8);
                let hi = b.ins().band_imm_s(hi, 0xFF);
                let v = b.ins().bor(high, lo);
                b.ins().bor(v, hi)
            }),
            "SHLL2 Rn" => self.unary(n, n, |b, x| b.ins().ishl_imm_u(x, 2)),
            "SHLR2 Rn" => self.unary(n, n, |b, x| b.ins().ushr_imm_u(x, 2)),
            "SHLL8 Rn" => self.unary(n, n, |b, x| b.ins().ishl_imm_u(x, 8)),
            "SHLR8 Rn" => self.unary(n, n, |b, x| b.ins().ushr_imm_u(x, 8)),
            "SHLL16 Rn" => self.unary(n, n, |b, x| b.ins().ishl_imm_u(x, 16)),
            "SHLR16 Rn" => self.unary(n, n, |b, x| b.ins().ushr_imm_u(x, 16)),
            "SHLL Rn" | "SHAL Rn" => self.shift_t(n, |b, x, _| (b.ins().ishl_imm_u(x, 1), b.ins().ushr_imm_u(x, 31))),
            "SHLR Rn" => self.shift_t(n, |b, x, _| (b.ins().ushr_imm_u(x, 1), b.ins().band_imm_s(x, 1))),
            "SHAR Rn" => self.shift_t(n, |b, x, _| (b.ins().sshr_imm_u(x, 1), b.ins().band_imm_s(x, 1))),
            "ROTL Rn" => self.shift_t(n, |b, x, _| (b.ins().rotl_imm_u(x, 1), b.ins().ushr_imm_u(x, 31))),
            "ROTR Rn" => self.shift_t(n, |b, x, _| (b.ins().rotr_imm_u(x, 1), b.ins().band_imm_s(x, 1))),
            "ROTCL Rn" => self.shift_t(n, |b, x, t| {
                let v = b.ins().ishl_imm_u(x, 1);
                (b.ins().bor(v, t), b.ins().ushr_imm_u(x, 31))
            }),
            "ROTCR Rn" => self.shift_t(n, |b, x, t| {
                let v = b.ins().ushr_imm_u(x, 1);
                let t = b.ins().ishl_imm_u(t, 31);
                (b.ins().bor(v, t), b.ins().band_imm_s(x, 1))
            }),
            "SYNCO" => {}
            "SHLD Rm,Rn" | "SHAD Rm,Rn" => {
                let arithmetic = mnemonic == "SHAD Rm,Rn";
                let (v, amount) = (self.reg(n), self.reg(m));
                // Cranelift takes a 32-bit shift's amount modulo 32. Left
                // by `amount & 31` for an amount >= 0; else right by 32 -
                // (amount & 31), 1 to 32, done as right by 1 then by
                // !amount & 31 (a right shift by 32 gives 0, or the sign).
                let left = self.b.ins().ishl(v, amount);
                let inverse = self.b.ins().bnot(amount);
                let right = if arithmetic {
                    let half = self.b.ins().sshr_imm_u(v, 1);
                    self.b.ins().sshr(half, inverse)
                } else {
                    let half = self.b.ins().ushr_imm_u(v, 1);
                    self.b.ins().ushr(half, inverse)
                };
                let negative = self.b.ins().icmp_imm_s(IntCC::SignedLessThan, amount, 0);
                let result = self.b.ins().select(negative, right, left);
                self.set_reg(n, result);
            }
            "ADDC Rm,Rn" | "SUBC Rm,Rn" => {
                let add = mnemonic == "ADDC Rm,Rn";
                let (a, b, t) = (self.reg(n), self.reg(m), self.t());
                // The carry (borrow) out of either step.
                let (result, carry1, carry2) = if add {
                    let first = self.b.ins().iadd(a, b);
                    let carry1 = self.b.ins().icmp(IntCC::UnsignedLessThan, first, a);
                    let result = self.b.ins().iadd(first, t);
                    (result, carry1, self.b.ins().icmp(IntCC::UnsignedLessThan, result, first))
                } else {
                    let first = self.b.ins().isub(a, b);
                    let borrow1 = self.b.ins().icmp(IntCC::UnsignedLessThan, a, b);
                    let result = self.b.ins().isub(first, t);
                    (result, borrow1, self.b.ins().icmp(IntCC::UnsignedLessThan, first, t))
                };
                self.set_reg(n, result);
                let carry = self.b.ins().bor(carry1, carry2);
                self.set_t(carry);
            }
            "NEGC Rm,Rn" => {
                let (x, t) = (self.reg(m), self.t());
                let zero = self.const32(0);
                let negated = self.b.ins().isub(zero, x);
                let result = self.b.ins().isub(negated, t);
                self.set_reg(n, result);
                let borrow1 = self.b.ins().icmp_imm_s(IntCC::NotEqual, negated, 0);
                let borrow2 = self.b.ins().icmp(IntCC::UnsignedLessThan, negated, result);
                let borrow = self.b.ins().bor(borrow1, borrow2);
                self.set_t(borrow);
            }
            "DT Rn" => {
                let x = self.reg(n);
                let v = self.b.ins().iadd_imm_s(x, -1);
                self.set_reg(n, v);
                let z = self.b.ins().icmp_imm_s(IntCC::Equal, v, 0);
                self.set_t(z);
            }
            "CMP/EQ Rm,Rn" => self.compare(n, m, IntCC::Equal),
            "CMP/HS Rm,Rn" => self.compare(n, m, IntCC::UnsignedGreaterThanOrEqual),
            "CMP/GE Rm,Rn" => self.compare(n, m, IntCC::SignedGreaterThanOrEqual),
            "CMP/HI Rm,Rn" => self.compare(n, m, IntCC::UnsignedGreaterThan),
            "CMP/GT Rm,Rn" => self.compare(n, m, IntCC::SignedGreaterThan),
            "TST Rm,Rn" => {
                let (x, y) = (self.reg(n), self.reg(m));
                let v = self.b.ins().band(x, y);
                let z = self.b.ins().icmp_imm_s(IntCC::Equal, v, 0);
                self.set_t(z);
            }
            "CMP/PZ Rn" => self.compare_imm(n, IntCC::SignedGreaterThanOrEqual, 0),
            "CMP/PL Rn" => self.compare_imm(n, IntCC::SignedGreaterThan, 0),
            "CMP/EQ #imm,R0" => self.compare_imm(0, IntCC::Equal, simm8(op) as i32 as i64),
            "TST #imm,R0" => {
                let x = self.reg(0);
                let v = self.b.ins().band_imm_s(x, imm8(op) as i64);
                let z = self.b.ins().icmp_imm_s(IntCC::Equal, v, 0);
                self.set_t(z);
            }
            "MUL.L Rm,Rn" => self.product_to(MACL, n, m, |b, x, y| b.ins().imul(x, y)),
            "MULU.W Rm,Rn" => self.product_to(MACL, n, m, |b, x, y| {
                let x = b.ins().band_imm_s(x, 0xFFFF);
                let y = b.ins().band_imm_s(y, 0xFFFF);
                b.ins().imul(x, y)
            }),
            "MULS.W Rm,Rn" => self.product_to(MACL, n, m, |b, x, y| {
                let x = b.ins().ireduce(types::I16, x);
                let x = b.ins().sextend(types::I32, x);
                let y = b.ins().ireduce(types::I16, y);
                let y = b.ins().sextend(types::I32, y);
                b.ins().imul(x, y)
            }),
            "STS PR,Rn" => self.copy_field_to_reg(PR, n),
            "STS MACL,Rn" => self.copy_field_to_reg(MACL, n),
            "STS MACH,Rn" => self.copy_field_to_reg(MACH, n),
            "STC GBR,Rn" => self.copy_field_to_reg(GBR, n),
            "LDS Rm,PR" => self.copy_reg_to_field(PR, n),
            "LDS Rm,MACL" => self.copy_reg_to_field(MACL, n),
            "LDC Rm,GBR" => self.copy_reg_to_field(GBR, n),
            // The tests translate a word of every listed mnemonic.
            other => unreachable!("{other} is listed in INLINED but has no inline form"),
        }
        // A pointer copied, or moved on by an offset, still points where
        // it did (`memory_order`).
        match mnemonic {
            "MOV Rm,Rn" => self.hints[n] = hints_before[m],
            "ADD #imm,Rn" => self.hints[n] = hints_before[n],
            "ADD Rm,Rn" => self.hints[n] = hints_before[n].or(hints_before[m]),
            _ => {}
        }
        // Values known now (`known`; `set_reg` forgot the register's).
        match mnemonic {
            "MOV #imm,Rn" => self.known[n] = Some(simm8(op)),
            "MOV Rm,Rn" => self.known[n] = known_before[m],
            "ADD #imm,Rn" => self.known[n] = known_before[n].map(|v| v.wrapping_add(simm8(op))),
            _ => {}
        }
        true
    }

    /// A load or store with an inline fast path (`access_fast`), or an
    /// STC with one (`privileged_move`); `None`, having emitted nothing,
    /// for any other word.
    fn memory_fast(&mut self, op: u16, pc: u32) -> Option<IrBlock> {
        match access::access(self.table.mnemonic(op), op, pc) {
            Some(a) => Some(self.access_fast(a)),
            None => self.privileged_move(op),
        }
    }

    /// STC of a privileged register to Rn, or LDC of Rm to one (but SR,
    /// whose write changes the mode: the handler's), inline when the core
    /// is privileged; else (`None`, nothing emitted) not one of those. The
    /// returned block is where user mode goes: the handler, which raises.
    fn privileged_move(&mut self, op: u16) -> Option<IrBlock> {
        let m = self.table.mnemonic(op);
        // LDC keeps its source register in the n field.
        let (field, load) = if let Some(source) = m.strip_prefix("STC ").and_then(|o| o.strip_suffix(",Rn")) {
            (access::control_offset(source, op)?, false)
        } else {
            let target = m.strip_prefix("LDC Rm,").filter(|&t| t != "SR")?;
            (access::control_offset(target, op)?, true)
        };
        let slow = self.b.create_block();
        self.privileged_guard(slow);
        if load {
            self.copy_reg_to_field(field, rn(op));
        } else {
            self.copy_field_to_reg(field, rn(op));
        }
        Some(slow)
    }

    /// On to `slow` unless the core is privileged (SR.MD).
    fn privileged_guard(&mut self, slow: IrBlock) {
        self.sr_guard(sr::MD, true, slow);
    }

    /// On to `slow` unless SR's `bit` is set (`set`) or clear.
    fn sr_guard(&mut self, bit: u32, set: bool, slow: IrBlock) {
        let sr = self.field(SR);
        let value = self.b.ins().band_imm_s(sr, bit as i64);
        let ok = self.b.create_block();
        if set {
            self.brif(value, ok, &[], slow, &[]);
        } else {
            self.brif(value, slow, &[], ok, &[]);
        }
        self.switch_to(ok);
    }

    /// The tests that `size` bytes at virtual `addr` lie in one of the
    /// call's direct ranges (`Cpu::jit_direct`) for loads (or stores):
    /// the plain RAM's (`Bus::plain_ram`, DRAM) first, then the core's
    /// local RAM's (`Bus::local_ram`, its URAM). Returns the host address of the
    /// access, with the builder in the block where a test passed and its
    /// latency counted (`Lazy`; the memory tested first's, and another's
    /// settled where its hit joins); a miss goes to `slow`. For a store, also what
    /// `Bus::write_fast` needs to be the whole story (`PlainRam`'s
    /// contract), else on to `slow`: in the plain RAM, a clear store mark
    /// for its 1 KiB block (an aligned access stays in one: no decoded
    /// code there and no reserved line); in the others, no reservation
    /// held anywhere.
    fn plain_ram_address(&mut self, addr: Value, size: u32, store: bool, order: [Memory; 3], slow: IrBlock) -> Value {
        self.first_memory_hit(&order, slow, |e, memory, miss| {
            let at = Direct::at(store, memory);
            let (off, host) = e.direct_test(addr, size, at, miss);
            if store {
                // An aligned access stays in one block.
                e.store_tests(memory, at, off, None, slow);
            }
            e.lazy.cycles += e.latencies[at] as i64;
            (host, None)
        })
        .0
    }

    /// For a store of the bytes from offset `first` (64 bits) of direct
    /// range `at` of `memory` up to offset `last` if given (else in
    /// `first`'s block; at most the next block), what `Bus::write_fast`
    /// needs to be the whole story, else on to `slow`: in the plain RAM,
    /// clear store marks for their blocks; in the others, no reservation
    /// held anywhere.
    fn store_tests(&mut self, memory: Memory, at: usize, first: Value, last: Option<Value>, slow: IrBlock) {
        if memory != Memory::Plain {
            self.no_reservation_test(slow);
            return;
        }
        let base = self.direct_load(types::I64, at, offset_of!(Direct, offset));
        let in_memory = self.b.ins().iadd(base, first);
        self.store_mark_test(in_memory, slow);
        if let Some(last) = last {
            let in_memory = self.b.ins().iadd(base, last);
            self.store_mark_test(in_memory, slow);
        }
    }

    /// On to `slow` if any core holds a reservation.
    fn no_reservation_test(&mut self, slow: IrBlock) {
        let reservations = self.frame_pointer(offset_of!(Frame<B>, ram_reservations));
        let held = self.b.ins().load(types::I8, TRUSTED, reservations, 0);
        let free = self.b.create_block();
        self.brif(held, slow, &[], free, &[]);
        self.switch_to(free);
    }

    /// `plain_ram_address` for a read of 4 bytes at any alignment
    /// (MOVUA.L): all four must lie in one direct range for loads, which
    /// makes each of the byte reads `Cpu::read32_unaligned` does a read of
    /// that memory through the window. Its latency comes back as a value
    /// (always `Some`): four byte reads cost four times one.
    fn unaligned_ram_address(&mut self, addr: Value, order: [Memory; 3], slow: IrBlock) -> (Value, Option<Value>) {
        self.first_memory_hit(&order, slow, |e, memory, miss| {
            let at = Direct::at(false, memory);
            let off = e.offset_in(addr, at);
            let off = e.b.ins().uextend(types::I64, off);
            e.end_test(off, 4, at, miss);
            let host = e.direct_host(at, off);
            (host, Some(e.latency_of(at)))
        })
    }

    /// `plain_ram_address` for `bytes` at 4-aligned virtual `addr` (a
    /// run's span, `base_run`), in one of `memories`, tested in that
    /// order: all must lie in its direct range, with, for stores to the
    /// plain RAM, the store marks of the blocks of its first and last
    /// byte clear (a span is at most a block long: `MAX_WORDS` words, each
    /// at most 60 bytes on from the base), and to the others no
    /// reservation held. With the host address, the memory's latency as a
    /// value where more than one was tested (with one, it is known now).
    fn span_address(&mut self, addr: Value, bytes: u32, store: bool, memories: &[Memory], slow: IrBlock) -> (Value, Option<Value>) {
        debug_assert!(bytes <= BLOCK_BYTES);
        let several = memories.len() > 1;
        self.first_memory_hit(memories, slow, |e, memory, miss| {
            let at = Direct::at(store, memory);
            // Its first word aligned and inside, then its end inside.
            let (off, host) = e.direct_test(addr, 4, at, miss);
            e.end_test(off, bytes, at, miss);
            if store {
                let last = e.b.ins().iadd_imm_s(off, bytes as i64 - 1);
                e.store_tests(memory, at, off, Some(last), slow);
            }
            (host, several.then(|| e.latency_of(at)))
        })
    }

    /// `addr`'s offset (32 bits, wrapping) from the start of direct range
    /// `at`.
    fn offset_in(&mut self, addr: Value, at: usize) -> Value {
        let minus_vlo = self.direct_load(types::I32, at, offset_of!(Direct, minus_vlo));
        self.b.ins().iadd(addr, minus_vlo)
    }

    /// On to `miss` unless `bytes` from offset `off` (64 bits) of direct
    /// range `at` lie in it, with the builder where they do.
    fn end_test(&mut self, off: Value, bytes: u32, at: usize, miss: IrBlock) {
        // `limit[0]`: the length in bytes.
        let len = self.direct_load(types::I32, at, offset_of!(Direct, limit));
        // In 64 bits, so neither side wraps: off + bytes <= len.
        let len = self.b.ins().uextend(types::I64, len);
        let end = self.b.ins().iadd_imm_s(off, bytes as i64);
        let inside = self.b.ins().icmp(IntCC::UnsignedLessThanOrEqual, end, len);
        let hit = self.b.create_block();
        self.brif(inside, hit, &[], miss, &[]);
        self.switch_to(hit);
    }

    /// The order to test the direct memories in for an access off general
    /// register `base` (and, for @(R0,Rn), R0): the memory the register
    /// points into as far as the run knows (`hints`) first, then the
    /// others in `Memory::ALL`'s order. Why: a register's value when the
    /// run was asked for is a good guess of where it points each time
    /// (a stack, a linear memory's base), and a copy or an offset of it
    /// too; a value loaded or computed otherwise is not known.
    fn memory_order(&self, base: Option<(usize, Option<usize>)>) -> [Memory; 3] {
        let hint = |n: usize| self.hints[n];
        let first = base.and_then(|(n, other)| hint(n).or_else(|| other.and_then(hint)));
        let mut order = Memory::ALL;
        if let Some(first) = first {
            let at = order.iter().position(|&m| m == first).expect("one of ALL");
            order[..=at].rotate_right(1);
        }
        order
    }

    /// The memories in `order`, each through `test` (which emits its
    /// test, goes on to the block it is given on a miss, and returns the
    /// host address where it passed, and the latency as a value if the
    /// caller counts it at run time, the same for every memory): the
    /// first hit's host address (and latency), with the builder after
    /// them; the last miss goes to `slow`. The order changes only the host
    /// code: an address lies in at most one memory's direct range.
    fn first_memory_hit(
        &mut self,
        order: &[Memory],
        slow: IrBlock,
        mut test: impl FnMut(&mut Self, Memory, IrBlock) -> (Value, Option<Value>),
    ) -> (Value, Option<Value>) {
        let found = self.b.create_block();
        self.b.append_block_param(found, self.ptr);
        for (k, &memory) in order.iter().enumerate() {
            let next = if k + 1 == order.len() { slow } else { self.b.create_block() };
            let (host, latency) = test(self, memory, next);
            if k == 0 && latency.is_some() {
                self.b.append_block_param(found, types::I64);
            }
            debug_assert_eq!(self.b.block_params(found).len(), 1 + latency.is_some() as usize, "every memory's test returns a latency, or none does");
            let args: Vec<BlockArg> = std::iter::once(host).chain(latency).map(BlockArg::from).collect();
            self.jump(found, &args);
            if next != slow {
                self.switch_to(next);
            }
        }
        self.switch_to(found);
        let params = self.b.block_params(found);
        (params[0], params.get(1).copied())
    }

    /// Whether `size` bytes at virtual `addr` lie in the call's direct
    /// range `at` (`Direct`'s one comparison, which also tests the
    /// alignment): their offset in the range (64 bits) and host address,
    /// with the builder where they do; else on to `miss`.
    fn direct_test(&mut self, addr: Value, size: u32, at: usize, miss: IrBlock) -> (Value, Value) {
        let off = self.offset_in(addr, at);
        let k = size.trailing_zeros();
        let limit = self.direct_load(types::I32, at, offset_of!(Direct, limit) + 4 * k as usize);
        let scaled = if k == 0 { off } else { self.b.ins().rotr_imm_u(off, k as i64) };
        let inside = self.b.ins().icmp(IntCC::UnsignedLessThan, scaled, limit);
        let hit = self.b.create_block();
        self.brif(inside, hit, &[], miss, &[]);
        self.switch_to(hit);
        let off = self.b.ins().uextend(types::I64, off);
        let host = self.direct_host(at, off);
        (off, host)
    }

    /// Field `name` (an `offset_of!(Direct, ..)`) of direct range `at`,
    /// loaded from the `Cpu` as a `ty`.
    fn direct_load(&mut self, ty: Type, at: usize, name: usize) -> Value {
        self.b.ins().load(ty, TRUSTED, self.cpu, direct_field(at, name))
    }

    /// For an access at byte `off` (64 bits) of direct range `at` that
    /// its test passed: the host address.
    fn direct_host(&mut self, at: usize, off: Value) -> Value {
        let host = self.direct_load(self.ptr, at, offset_of!(Direct, host));
        self.b.ins().iadd(host, off)
    }

    /// Direct range `at`'s latency, as a value (for what counts it at run
    /// time: a run's, an unaligned read's).
    fn latency_of(&mut self, at: usize) -> Value {
        self.b.ins().iconst(types::I64, self.latencies[at] as i64)
    }

    /// On to `slow` if the plain RAM's block at offset `off` is marked
    /// for stores (`PlainRam::store_marks`: decoded code or a reserved
    /// line there).
    fn store_mark_test(&mut self, off: Value, slow: IrBlock) {
        let block_no = self.b.ins().ushr_imm_u(off, BLOCK_BYTES.trailing_zeros() as i64);
        let marks = self.frame_pointer(offset_of!(Frame<B>, ram_store_marks));
        let mark_at = self.b.ins().iadd(marks, block_no);
        let marked = self.b.ins().load(types::I8, TRUSTED, mark_at, 0);
        let clean = self.b.create_block();
        self.brif(marked, slow, &[], clean, &[]);
        self.switch_to(clean);
    }

    /// A load or store inline (`Cpu::read` or `Cpu::write`'s fast path
    /// with `Bus::read_fast` or `Bus::write_fast`, exactly): the test of
    /// its guard, and that the data window translates its address to a
    /// direct memory (`plain_ram_address`), then the access itself,
    /// leaving the builder after it. Returns the block where a test
    /// failed, for the caller to do the word through its handler.
    fn access_fast(&mut self, a: Access) -> IrBlock {
        let slow = self.b.create_block();
        if let Some(offset) = self.ccn_field(a) {
            // No way to `slow`: the load cannot miss or raise.
            let v = self.b.ins().load(types::I32, TRUSTED, self.cpu, offset);
            self.set_data(a.data, v);
            return slow;
        }
        self.guard(a.guard, slow);
        let addr = match a.address {
            Address::At(n) | Address::PostInc(n) => self.reg(n),
            Address::PreDec(n) => {
                let r = self.reg(n);
                self.b.ins().iadd_imm_s(r, -(a.size as i64))
            }
            Address::Disp(n, d) => {
                let r = self.reg(n);
                self.b.ins().iadd_imm_s(r, d as i64)
            }
            Address::Indexed(n) => {
                let (r, r0) = (self.reg(n), self.reg(0));
                self.b.ins().iadd(r, r0)
            }
            Address::Gbr(d) => {
                let g = self.field(GBR);
                self.b.ins().iadd_imm_s(g, d as i64)
            }
            Address::Fixed(at) => self.const32(at),
        };
        let order = self.memory_order(a.address.base());
        // Only MOVUA.L's latency is counted at run time.
        let (host, latency) = if a.unaligned {
            self.unaligned_ram_address(addr, order, slow)
        } else {
            (self.plain_ram_address(addr, a.size, a.store, order, slow), None)
        };
        let moved = match a.address {
            Address::PreDec(_) => Some(addr),
            Address::PostInc(_) => Some(self.b.ins().iadd_imm_s(addr, a.size as i64)),
            _ => None,
        };
        self.access_at(a, host, 0, moved);
        if let Some(latency) = latency {
            // MOVUA.L reads an aligned word as one access and any other
            // as four byte reads (`Cpu::read32_unaligned`).
            let low = self.b.ins().band_imm_s(addr, 3);
            let aligned = self.b.ins().icmp_imm_s(IntCC::Equal, low, 0);
            let four = self.b.ins().imul_imm_s(latency, 4);
            let latency = self.b.ins().select(aligned, latency, four);
            self.add_latency(latency);
        }
        slow
    }

    /// Access `a` at `host + offset` of guest memory, its tests passed: a
    /// store's value read first, then the access; then the address
    /// register's new value `moved` (@-Rn, @Rn+), where the caller moves
    /// it here; then a load's value, which wins where its register is the
    /// address register too (`MOV.L @Rm+,Rm`).
    fn access_at(&mut self, a: Access, host: Value, offset: i32, moved: Option<Value>) {
        let loaded = if a.store {
            let v = self.data(a.data);
            self.store_sized(a.size, v, host, offset);
            None
        } else {
            Some(self.load_sized(a.size, host, offset))
        };
        if let (Some(v), Address::PreDec(n) | Address::PostInc(n)) = (moved, a.address) {
            self.set_address_reg(n, v);
        }
        if let Some(v) = loaded {
            self.set_data(a.data, v);
        }
    }

    /// The `Cpu` field that load `a` reads, if its address is known now
    /// (`known`) and is one of the CCN's registers that `p4::ccn_read`
    /// answers with a field as it is (`p4::ccn_field_offset`), and the
    /// code runs in P1 or P2, so
    /// privileged (the hypervisor's exception entry reads PTEH, PTEL,
    /// TTB, TEA, TRA, EXPEVT and INTEVT off a base register loaded from a
    /// literal). Such a read is `Cpu::read`'s exactly: no window holds a
    /// P4 address, the address is aligned, and `p4::read` adds no cycles.
    fn ccn_field(&self, a: Access) -> Option<i32> {
        if a.store || a.size != 4 || a.unaligned || a.guard != Guard::None || fixed_segment(self.vbase).is_none() {
            return None;
        }
        let addr = match a.address {
            Address::At(n) => self.known[n]?,
            Address::Disp(n, d) => self.known[n]?.wrapping_add(d),
            _ => return None,
        };
        crate::cpu::p4::ccn_field_offset(addr).map(|at| at as i32)
    }

    /// The run of accesses off one base register that starts at `word`
    /// (`access::base_run`), if any.
    fn run_at(&self, word: usize) -> Option<Run> {
        access::base_run((word..self.end).map(|w| {
            let op = self.block.ops[w];
            access::access(self.table.mnemonic(op), op, self.pc_of(w))
        }))
    }

    /// `run` (starting at `word`) as one, where it can be: its guards,
    /// one test that its whole span lies in one direct memory
    /// (`span_address`: for stores, what `plain_ram_address` tests there,
    /// for the one or two blocks the span touches), and one test that the
    /// interpreter's
    /// limit tests before each of its words would all pass (each word
    /// costs a cycle and the memory's latency, so the last's is enough);
    /// then the accesses, the base register's new value and the counts,
    /// and on to the word after the run. Exact because each of its words
    /// alone would have passed the same tests and done the same. Where a
    /// test fails the builder is left, in a cold block, where the words
    /// go one by one as ever.
    fn base_run(&mut self, word: usize, run: &Run) {
        let k = run.accesses.len() as i64;
        let one_by_one = self.b.create_block();
        self.b.set_cold_block(one_by_one);
        for guard in Guard::TESTED {
            if run.accesses.iter().any(|(a, _)| a.guard == guard) {
                self.guard(guard, one_by_one);
            }
        }
        let base = self.reg(run.base);
        let low = self.b.ins().iadd_imm_s(base, run.low as i64);
        let span = (run.high - run.low) as u32;
        // Only the memory the base is known to point into, or for user
        // code (outside P1 and P2) DRAM: a run elsewhere goes one by one.
        // Testing the others too cost compile time on every run (on a
        // Linux boot, more than the runs saved) for runs that seldom need
        // them; a privileged run off an unknown base tests them all.
        let memories = match self.hints[run.base] {
            Some(memory) => vec![memory],
            None if fixed_segment(self.vbase).is_none() => vec![Memory::Plain],
            None => Memory::ALL.to_vec(),
        };
        let (host, latency) = self.span_address(low, span, run.store, &memories, one_by_one);
        // The clock when the last word starts: past the limit, or not.
        let past = self.b.use_var(self.past);
        let known = self.latencies[Direct::at(run.store, memories[0])] as i64;
        let over = match latency {
            Some(latency) => {
                let before_last = self.b.ins().imul_imm_s(latency, k - 1);
                let at_last = self.b.ins().iadd(past, before_last);
                self.b.ins().icmp_imm_s(IntCC::SignedGreaterThanOrEqual, at_last, -(k - 1) - self.lazy.cycles)
            }
            None => self.b.ins().icmp_imm_s(IntCC::SignedGreaterThanOrEqual, past, -(k - 1) * (1 + known) - self.lazy.cycles),
        };
        let go = self.b.create_block();
        self.brif(over, one_by_one, &[], go, &[]);
        self.switch_to(go);
        for &(a, at) in &run.accesses {
            // The base register moves once, after the run.
            self.access_at(a, host, at - run.low, None);
            self.count();
        }
        match latency {
            Some(latency) => {
                let latency = self.b.ins().imul_imm_s(latency, k);
                self.add_latency(latency);
            }
            None => self.lazy.cycles += k * known,
        }
        if run.step != 0 {
            let moved = self.b.ins().iadd_imm_s(base, run.step as i64);
            self.set_address_reg(run.base, moved);
        }
        self.goto(Target::Fixed(self.pc_of(word + run.accesses.len())));
        self.switch_to(one_by_one);
    }

    /// The stretch of loads, stores and pure words that starts at `word`
    /// (`access::stretch`), if any, and the one memory its root register
    /// points into as far as the run knows (`hints`; for user code,
    /// outside P1 and P2, DRAM), if its loads and its stores each span at
    /// most a block (so that the one or two blocks a store span touches
    /// are the ones its tests look at).
    fn stretch_at(&self, word: usize) -> Option<(Stretch, Memory)> {
        let stretch = access::stretch((word..self.end).map(|w| {
            let (op, pc) = (self.block.ops[w], self.pc_of(w));
            let mnemonic = self.table.mnemonic(op);
            if self.pure[w - self.entry] {
                Word::Pure(mnemonic, op)
            } else {
                access::access(mnemonic, op, pc).map_or(Word::Other, Word::Access)
            }
        }))?;
        let memory = match self.hints[stretch.root] {
            Some(memory) => memory,
            None if fixed_segment(self.vbase).is_none() => Memory::Plain,
            None => return None,
        };
        let short = |span: Option<(i32, i32)>| span.is_none_or(|(low, high)| (high - low) as u32 <= BLOCK_BYTES);
        (short(stretch.loads) && short(stretch.stores)).then_some((stretch, memory))
    }

    /// `stretch` (starting at `word`) as one, where it can be: its guards;
    /// one test that its loads' span lies in `memory`'s direct range for
    /// loads, and one that its stores' span lies in the range for stores
    /// (with the store marks or the reservations `span_address` tests);
    /// one test that the interpreter's limit tests before each of its
    /// words would all pass (each word's cost is known now: the last's
    /// is enough). Then the words in order, each reading and writing its
    /// registers as alone, the accesses through the spans' host
    /// addresses, and on to the word after the stretch. Exact because
    /// each word alone would have passed the same tests and done the
    /// same: pure words do not change the guards' bits, and an access's
    /// address is the root's value before the stretch plus its offset.
    /// Where a test fails the builder is left, in a cold block, where the
    /// words go one by one as ever.
    fn stretch_run(&mut self, word: usize, stretch: &Stretch, memory: Memory) {
        let one_by_one = self.b.create_block();
        self.b.set_cold_block(one_by_one);
        for guard in Guard::TESTED {
            if stretch.words.iter().flatten().any(|(a, _)| a.guard == guard) {
                self.guard(guard, one_by_one);
            }
        }
        let root = self.reg(stretch.root);
        let mut host = [None, None];
        for (store, span) in [(false, stretch.loads), (true, stretch.stores)] {
            if let Some((low, high)) = span {
                let addr = self.b.ins().iadd_imm_s(root, low as i64);
                let (at, latency) = self.span_address(addr, (high - low) as u32, store, &[memory], one_by_one);
                debug_assert!(latency.is_none(), "one memory: its latency is known now");
                host[store as usize] = Some((at, low));
            }
        }
        let costs: Vec<u64> = (word..word + stretch.words.len())
            .zip(&stretch.words)
            .map(|(w, item)| match item {
                None => self.cost(w),
                Some((a, _)) => 1 + self.latencies[Direct::at(a.store, memory)],
            })
            .collect();
        let before_last: u64 = costs[..costs.len() - 1].iter().sum();
        let past = self.b.use_var(self.past);
        let over = self.b.ins().icmp_imm_s(IntCC::SignedGreaterThanOrEqual, past, -(before_last as i64) - self.lazy.cycles);
        let go = self.b.create_block();
        self.brif(over, one_by_one, &[], go, &[]);
        self.switch_to(go);
        self.unstored = Some([None; HELD.len()]);
        for (w, (item, cost)) in (word..).zip(stretch.words.iter().zip(costs)) {
            let Some((a, at)) = *item else {
                let inlined = self.inline(self.block.ops[w], self.pc_of(w));
                debug_assert!(inlined, "a stretch's words but its accesses are pure");
                self.count();
                continue;
            };
            let (base, low) = host[a.store as usize].expect("a span for each kind of access");
            let moved = match a.address {
                Address::PreDec(n) | Address::PostInc(n) => {
                    let r = self.reg(n);
                    Some(self.b.ins().iadd_imm_s(r, a.address.step(a.size) as i64))
                }
                _ => None,
            };
            self.access_at(a, base, at - low, moved);
            self.count();
            self.lazy.cycles += cost as i64 - 1;
        }
        self.store_unstored();
        self.goto(Target::Fixed(self.pc_of(word + stretch.words.len())));
        self.switch_to(one_by_one);
    }

    /// On to `slow` unless `guard` holds.
    fn guard(&mut self, guard: Guard, slow: IrBlock) {
        match guard {
            Guard::None => {}
            Guard::Privileged => self.privileged_guard(slow),
            Guard::FpuSingle => self.fpu_single_guard(slow),
            Guard::Fpu => self.fpu_guard(slow),
        }
    }

    /// The value of a store's register.
    fn data(&mut self, data: Data) -> Value {
        match data {
            Data::Reg(n) => self.reg(n),
            Data::Field(offset) => self.field(offset),
            Data::Fr(n) => self.b.ins().load(types::I32, TRUSTED, self.cpu, fr_offset(n)),
        }
    }

    /// A loaded value to its register.
    fn set_data(&mut self, data: Data, v: Value) {
        match data {
            Data::Reg(n) => self.set_reg(n, v),
            Data::Field(offset) => self.set_field(offset, v),
            Data::Fr(n) => {
                self.b.ins().store(TRUSTED, v, self.cpu, fr_offset(n));
            }
        }
    }

    /// `size` bytes at `host + offset` of guest memory (little-endian, as
    /// the bus keeps it), sign-extended to 32 bits.
    fn load_sized(&mut self, size: u32, host: Value, offset: i32) -> Value {
        let flags = TRUSTED.with_endianness(cranelift_codegen::ir::Endianness::Little);
        match size {
            1 => self.b.ins().sload8(types::I32, flags, host, offset),
            2 => self.b.ins().sload16(types::I32, flags, host, offset),
            _ => self.b.ins().load(types::I32, flags, host, offset),
        }
    }

    /// The low `size` bytes of `v` to `host + offset` of guest memory.
    fn store_sized(&mut self, size: u32, v: Value, host: Value, offset: i32) {
        let flags = TRUSTED.with_endianness(cranelift_codegen::ir::Endianness::Little);
        match size {
            1 => self.b.ins().istore8(flags, v, host, offset),
            2 => self.b.ins().istore16(flags, v, host, offset),
            _ => self.b.ins().store(flags, v, host, offset),
        };
    }

    /// On to `slow` unless an FMOV.S with memory is a plain 32-bit move
    /// now: the FPU enabled (SR.FD clear; else the handler raises) and
    /// FPSCR.SZ clear (else it moves a pair).
    fn fpu_single_guard(&mut self, slow: IrBlock) {
        let sr = self.field(SR);
        let fd = self.b.ins().band_imm_s(sr, sr::FD as i64);
        let fpscr = self.b.ins().load(types::I32, TRUSTED, self.cpu, FPSCR);
        let sz = self.b.ins().band_imm_s(fpscr, crate::cpu::fpscr::SZ as i64);
        let other = self.b.ins().bor(fd, sz);
        let plain = self.b.create_block();
        self.brif(other, slow, &[], plain, &[]);
        self.switch_to(plain);
    }

    /// On to `slow` unless the FPU is enabled (SR.FD clear; else the
    /// handler raises).
    fn fpu_guard(&mut self, slow: IrBlock) {
        self.sr_guard(sr::FD, false, slow);
    }

    fn binary(&mut self, n: usize, m: usize, f: impl FnOnce(&mut FunctionBuilder<'a>, Value, Value) -> Value) {
        let (x, y) = (self.reg(n), self.reg(m));
        let v = f(&mut self.b, x, y);
        self.set_reg(n, v);
    }

    fn unary(&mut self, dest: usize, src: usize, f: impl FnOnce(&mut FunctionBuilder<'a>, Value) -> Value) {
        let x = self.reg(src);
        let v = f(&mut self.b, x);
        self.set_reg(dest, v);
    }

    /// A one-bit shift or rotate through T: `f(value, t)` gives (result,
    /// new T as 0/1).
    fn shift_t(&mut self, n: usize, f: impl FnOnce(&mut FunctionBuilder<'a>, Value, Value) -> (Value, Value)) {
        let x = self.reg(n);
        let t = self.t();
        let (v, new_t) = f(&mut self.b, x, t);
        self.set_reg(n, v);
        self.set_t_bit(new_t);
    }

    fn compare(&mut self, n: usize, m: usize, cc: IntCC) {
        let (x, y) = (self.reg(n), self.reg(m));
        let c = self.b.ins().icmp(cc, x, y);
        self.set_t(c);
    }

    fn compare_imm(&mut self, n: usize, cc: IntCC, imm: i64) {
        let x = self.reg(n);
        let c = self.b.ins().icmp_imm_s(cc, x, imm);
        self.set_t(c);
    }

    fn product_to(&mut self, field: i32, n: usize, m: usize, f: impl FnOnce(&mut FunctionBuilder<'a>, Value, Value) -> Value) {
        let (x, y) = (self.reg(n), self.reg(m));
        let v = f(&mut self.b, x, y);
        self.set_field(field, v);
    }

    fn copy_field_to_reg(&mut self, field: i32, n: usize) {
        let v = self.field(field);
        self.set_reg(n, v);
    }

    /// LDS/LDC Rm,reg: the register is in the n field of these encodings.
    fn copy_reg_to_field(&mut self, field: i32, n: usize) {
        let v = self.reg(n);
        self.set_field(field, v);
    }
}

/// The loads and stores other than `MOV.x` with an inline fast path
/// (`access::access`, `access_fast`), and the privileged moves done inline
/// when the core is privileged (`privileged_move`), for the tests.
#[cfg(test)]
pub(super) const MEMORY_FAST: &[&str] = &[
    "STS.L PR,@-Rn", "STS.L MACH,@-Rn", "STS.L MACL,@-Rn", "STC.L GBR,@-Rn", "LDS.L @Rm+,PR", "LDS.L @Rm+,MACH",
    "LDS.L @Rm+,MACL", "LDC.L @Rm+,GBR", "MOVUA.L @Rm,R0", "MOVUA.L @Rm+,R0", "FMOV.S @Rm,FRn", "FMOV.S @Rm+,FRn",
    "FMOV.S @(R0,Rm),FRn", "FMOV.S FRm,@Rn", "FMOV.S FRm,@-Rn", "FMOV.S FRm,@(R0,Rn)", "STC.L SR,@-Rn",
    "STC.L VBR,@-Rn", "STC.L SSR,@-Rn", "STC.L SPC,@-Rn", "STC.L SGR,@-Rn", "STC.L DBR,@-Rn", "STC.L Rm_BANK,@-Rn",
    "STC SR,Rn", "STC VBR,Rn", "STC SSR,Rn", "STC SPC,Rn", "STC SGR,Rn", "STC DBR,Rn", "STC Rm_BANK,Rn",
    "MOVCA.L R0,@Rn", "LDC.L @Rm+,VBR", "LDC.L @Rm+,SSR", "LDC.L @Rm+,SPC", "LDC.L @Rm+,SGR", "LDC.L @Rm+,DBR",
    "LDC.L @Rm+,Rn_BANK", "STS.L FPUL,@-Rn", "STS.L FPSCR,@-Rn", "LDS.L @Rm+,FPUL", "LDC Rm,VBR", "LDC Rm,SSR",
    "LDC Rm,SPC", "LDC Rm,SGR", "LDC Rm,DBR", "LDC Rm,Rn_BANK",
];

/// The mnemonics `Emitter::inline` emits inline, one cycle each and never
/// leaving the translation (the tests check words of each against its
/// handler, and that `inline` takes exactly these).
pub(super) const INLINED: &[&str] = &[
    "NOP", "MOV #imm,Rn", "MOV Rm,Rn", "MOVA @(disp,PC),R0", "MOVT Rn", "CLRT", "SETT", "ADD Rm,Rn", "SUB Rm,Rn",
    "AND Rm,Rn", "OR Rm,Rn", "XOR Rm,Rn", "XTRCT Rm,Rn", "ADD #imm,Rn", "AND #imm,R0", "OR #imm,R0", "XOR #imm,R0",
    "NOT Rm,Rn", "NEG Rm,Rn", "EXTS.B Rm,Rn", "EXTS.W Rm,Rn", "EXTU.B Rm,Rn", "EXTU.W Rm,Rn", "SWAP.W Rm,Rn",
    "SWAP.B Rm,Rn", "SHLL2 Rn", "SHLR2 Rn", "SHLL8 Rn", "SHLR8 Rn", "SHLL16 Rn", "SHLR16 Rn", "SHLL Rn", "SHAL Rn",
    "SHLR Rn", "SHAR Rn", "ROTL Rn", "ROTR Rn", "ROTCL Rn", "ROTCR Rn", "DT Rn", "CMP/EQ Rm,Rn", "CMP/HS Rm,Rn",
    "CMP/GE Rm,Rn", "CMP/HI Rm,Rn", "CMP/GT Rm,Rn", "TST Rm,Rn", "CMP/PZ Rn", "CMP/PL Rn", "CMP/EQ #imm,R0",
    "TST #imm,R0", "MUL.L Rm,Rn", "MULU.W Rm,Rn", "MULS.W Rm,Rn", "STS PR,Rn", "STS MACL,Rn", "STS MACH,Rn",
    "STC GBR,Rn", "LDS Rm,PR", "LDS Rm,MACL", "LDC Rm,GBR", "SYNCO", "SHLD Rm,Rn", "SHAD Rm,Rn", "ADDC Rm,Rn",
    "SUBC Rm,Rn", "NEGC Rm,Rn",
];
