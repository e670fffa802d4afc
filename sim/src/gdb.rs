//! GDB remote stub: `gdb-multiarch` attaches over TCP (loopback only) to
//! the running simulated machine, with the `gdbstub` crate doing the
//! protocol.
//!
//! Each core is a thread (thread id = core + 1). Registers follow GDB's
//! own SH-4 layout (`arch`). Memory is read and written through the
//! selected core's view of it: its MMU (without side effects), its private
//! local memories, and its CPU-internal P4 registers (CCN registers such as
//! EXPEVT at 0xFF000024, the store queues, the TLB arrays); device
//! registers are refused, since reading one could change it.
//!
//! Execution: `continue` runs the whole machine (`Machine::run`) in slices,
//! looking for GDB's Ctrl-C between slices; the core that reaches a
//! breakpoint is reported as the stopped thread. `stepi` executes exactly
//! one instruction on the selected core only, with no interrupt taken
//! (like QEMU's default); a core asleep or held in reset does not move.
//! Breakpoints go into every core's `Cpu::breakpoints`, and are removed
//! again when the session ends, however it ends.
//!
//! Every packet passes `guard` before `gdbstub` sees it: a packet
//! `gdbstub` would end the session over (or, with a thread id that is no
//! core, act on wrongly) gets an error reply instead.
//!
//! Owns: the debugging session. Must not touch: anything of the machine
//! but its public state and `Machine::run`.

/// A status line for the person at the debugger, on standard error. A
/// standard error that cannot be written loses the line but must not end
/// the session (the `rp1` command reports its own failures to write).
macro_rules! note {
    ($($arg:tt)*) => {{
        let _ = writeln!(std::io::stderr(), $($arg)*);
    }};
}

pub mod arch;
pub mod guard;
#[cfg(test)]
mod tests;

use crate::bus::Rp1Bus;
use crate::cpu::{p4, Cpu, OpTable};
use crate::devices::Size;
use crate::machine::{Exit, Machine};
use arch::{Sh4, Sh4RegId, Sh4Regs};
use guard::Guarded;
use gdbstub::common::{Signal, Tid};
use gdbstub::conn::{Connection, ConnectionExt};
use gdbstub::stub::{run_blocking, DisconnectReason, GdbStub, GdbStubError, MultiThreadStopReason};
use gdbstub::target::ext::base::multithread::{
    MultiThreadBase, MultiThreadResume, MultiThreadResumeOps, MultiThreadSchedulerLocking,
    MultiThreadSchedulerLockingOps, MultiThreadSingleStep, MultiThreadSingleStepOps,
};
use gdbstub::target::ext::base::single_register_access::{SingleRegisterAccess, SingleRegisterAccessOps};
use gdbstub::target::ext::base::BaseOps;
use gdbstub::target::ext::breakpoints::{
    Breakpoints, BreakpointsOps, HwBreakpoint, HwBreakpointOps, SwBreakpoint, SwBreakpointOps,
};
use gdbstub::target::ext::monitor_cmd::{outputln, ConsoleOutput, MonitorCmd, MonitorCmdOps};
use gdbstub::target::ext::target_description_xml_override::{
    TargetDescriptionXmlOverride, TargetDescriptionXmlOverrideOps,
};
use gdbstub::target::ext::thread_extra_info::{ThreadExtraInfo, ThreadExtraInfoOps};
use gdbstub::target::{Target, TargetError, TargetResult};
use std::collections::BTreeMap;
use std::io::Write;
use std::marker::PhantomData;
use std::net::{SocketAddr, TcpListener, TcpStream, ToSocketAddrs};
use std::num::NonZeroUsize;

/// Cycles of global time run between two looks at the connection while
/// the machine runs (a Ctrl-C is noticed within one slice).
pub const SLICE_CYCLES: u64 = 100_000;

/// Size of the packet buffer; GDB is told it may send packets this long.
const PACKET_BUFFER: usize = 4096;

/// How a debugging session ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum GdbOutcome {
    /// GDB detached (`detach`, or `quit` answered with detach): the machine
    /// may go on running without the debugger.
    Detached,
    /// GDB killed the target (`kill`, or `quit` of a session it started).
    Killed,
    /// The guest wrote this exit code to SIMCTL while GDB was attached.
    GuestExited(u32),
    /// GDB closed the connection without detaching.
    ConnectionClosed,
}

/// Why the stub could not serve a session.
#[derive(Debug, thiserror::Error)]
pub enum GdbError {
    #[error("cannot resolve the GDB address {addr:?}: {source}")]
    Address { addr: String, source: std::io::Error },
    #[error("the GDB stub listens on loopback addresses only (127.0.0.1, [::1], localhost), not {0:?}")]
    NotLoopback(String),
    #[error("cannot listen for GDB on {addr}: {source}")]
    Bind { addr: String, source: std::io::Error },
    #[error("accepting the GDB connection failed: {0}")]
    Accept(std::io::Error),
    #[error("GDB connection error: {0}")]
    Connection(std::io::Error),
    #[error("GDB protocol error: {0}")]
    Protocol(String),
}

/// Where the guest's console output produced during a session goes, as it
/// appears (`machine.console` keeps all of it as well).
pub type ConsoleSink<'a> = &'a mut dyn FnMut(&[u8]);

/// Listen on `addr` (a loopback address such as `127.0.0.1:1234`; port 0
/// picks a free port), accept one GDB connection and serve it until GDB
/// detaches or kills, the guest exits, or the connection closes. Prints
/// `gdb: listening on ADDR:PORT` to stderr once listening. The guest's
/// console output produced during the session is copied to stdout as it
/// appears.
pub fn serve(machine: &mut Machine, addr: &str) -> Result<GdbOutcome, GdbError> {
    serve_with(machine, addr, &mut |bytes: &[u8]| {
        let mut out = std::io::stdout().lock();
        let _ = out.write_all(bytes);
        let _ = out.flush();
    })
}

/// Like [`serve`], handing the session's console output to `console`.
pub fn serve_with(machine: &mut Machine, addr: &str, console: ConsoleSink<'_>) -> Result<GdbOutcome, GdbError> {
    let addrs: Vec<SocketAddr> =
        addr.to_socket_addrs().map_err(|source| GdbError::Address { addr: addr.to_string(), source })?.collect();
    if addrs.is_empty() || addrs.iter().any(|a| !a.ip().is_loopback()) {
        return Err(GdbError::NotLoopback(addr.to_string()));
    }
    let listener = TcpListener::bind(&addrs[..]).map_err(|source| GdbError::Bind { addr: addr.to_string(), source })?;
    serve_listener(machine, listener, console)
}

/// Like [`serve_with`], on a listener the caller bound (tests bind port 0
/// and read the port first).
pub fn serve_listener(
    machine: &mut Machine,
    listener: TcpListener,
    console: ConsoleSink<'_>,
) -> Result<GdbOutcome, GdbError> {
    let local = listener.local_addr().map_err(GdbError::Accept)?;
    note!("gdb: listening on {local}");
    let (stream, peer) = listener.accept().map_err(GdbError::Accept)?;
    note!("gdb: connected from {peer}");
    serve_connection(machine, stream, console)
}

/// Serve one GDB session on an accepted connection.
pub fn serve_connection(
    machine: &mut Machine,
    stream: TcpStream,
    console: ConsoleSink<'_>,
) -> Result<GdbOutcome, GdbError> {
    let cores = machine.cpus.len();
    let mut target = SimTarget::new(machine, console);
    let mut buffer = vec![0u8; PACKET_BUFFER];
    // Every packet passes the guard first: gdbstub would end the session
    // over many a malformed one (guard.rs).
    let conn = Guarded::new(stream, cores, PACKET_BUFFER);
    let stub = GdbStub::<SimTarget<'_>, Guarded<TcpStream>>::builder(conn)
        .with_packet_buffer(&mut buffer)
        .build()
        .map_err(|e| GdbError::Protocol(e.to_string()))?;
    let result = stub.run_blocking::<EventLoop<'_>>(&mut target);
    target.remove_all_breakpoints();
    target.echo_new_console();
    let outcome = match result {
        Ok(DisconnectReason::Disconnect) => GdbOutcome::Detached,
        Ok(DisconnectReason::Kill) => GdbOutcome::Killed,
        Ok(DisconnectReason::TargetExited(code)) => GdbOutcome::GuestExited(target.exit_code.unwrap_or(code as u32)),
        // The stub never reports a termination by signal.
        Ok(DisconnectReason::TargetTerminated(_)) => GdbOutcome::Killed,
        Err(e) => {
            if e.is_connection_error() {
                let (err, _kind) = e.into_connection_error().expect("checked above");
                if is_closed(&err) {
                    GdbOutcome::ConnectionClosed
                } else {
                    return Err(GdbError::Connection(err));
                }
            } else {
                return Err(GdbError::Protocol(protocol_error_text(e)));
            }
        }
    };
    note!("gdb: session ended: {outcome:?}");
    Ok(outcome)
}

fn protocol_error_text(e: GdbStubError<TargetFatal, std::io::Error>) -> String {
    if e.is_target_error() {
        return format!("target error: {}", e.into_target_error().expect("checked above"));
    }
    // The guard answers every packet gdbstub cannot take; should one get
    // through all the same, say so without gdbstub's plea to file an issue.
    let text = e.to_string();
    match text.split_once(" This should never happen!") {
        Some((first, _)) => format!("{first} (the stub's packet guard let it through)"),
        None => text,
    }
}

fn is_closed(err: &std::io::Error) -> bool {
    use std::io::ErrorKind::*;
    matches!(err.kind(), UnexpectedEof | ConnectionReset | ConnectionAborted | BrokenPipe)
}

/// The thread id of a core.
pub fn core_tid(core: usize) -> Tid {
    NonZeroUsize::new(core + 1).expect("core + 1 is never zero")
}

/// The core of a thread id.
pub fn tid_core(tid: Tid) -> usize {
    tid.get() - 1
}

/// A fatal target error: ends the session.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct TargetFatal(pub String);

/// What GDB asked a core to do at the next resume.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Action {
    Stay,
    Continue,
    Step,
}

/// The machine as a `gdbstub` target.
struct SimTarget<'m> {
    machine: &'m mut Machine,
    /// Our own copy of the opcode table: stepping one core needs the table
    /// and the machine's cores and bus borrowed at once.
    table: OpTable<Rp1Bus>,
    actions: Vec<Action>,
    /// Breakpoints GDB inserted (address → insertions), software and
    /// hardware ones kept apart only to report the right kind.
    sw_breaks: BTreeMap<u32, usize>,
    hw_breaks: BTreeMap<u32, usize>,
    /// The core reported in the last stop (Ctrl-C reports it again).
    last_core: usize,
    console: ConsoleSink<'m>,
    /// SCIF0 bytes echoed so far (`Machine::console_bytes` space).
    console_echoed: u64,
    exit_code: Option<u32>,
}

impl<'m> SimTarget<'m> {
    fn new(machine: &'m mut Machine, console: ConsoleSink<'m>) -> SimTarget<'m> {
        let cores = machine.cpus.len();
        let console_echoed = machine.console_bytes;
        SimTarget {
            machine,
            table: OpTable::new(),
            actions: vec![Action::Continue; cores],
            sw_breaks: BTreeMap::new(),
            hw_breaks: BTreeMap::new(),
            last_core: 0,
            console,
            console_echoed,
            exit_code: None,
        }
    }

    fn core(&self, tid: Tid) -> TargetResult<usize, Self> {
        let core = tid_core(tid);
        if core < self.machine.cpus.len() {
            Ok(core)
        } else {
            Err(TargetError::Errno(3)) // ESRCH
        }
    }

    fn echo_new_console(&mut self) {
        let new = self.machine.console_since(self.console_echoed);
        if !new.is_empty() {
            (self.console)(new);
        }
        self.console_echoed = self.machine.console_bytes;
    }

    fn add_break(&mut self, addr: u32, hw: bool) {
        let map = if hw { &mut self.hw_breaks } else { &mut self.sw_breaks };
        *map.entry(addr).or_insert(0) += 1;
        for cpu in &mut self.machine.cpus {
            cpu.breakpoints.push(addr);
        }
    }

    fn remove_break(&mut self, addr: u32, hw: bool) -> bool {
        let map = if hw { &mut self.hw_breaks } else { &mut self.sw_breaks };
        match map.get_mut(&addr) {
            None => return false,
            Some(n) if *n > 1 => *n -= 1,
            Some(_) => {
                map.remove(&addr);
            }
        }
        // Each insertion pushed one entry per core: remove one per core.
        for cpu in &mut self.machine.cpus {
            if let Some(i) = cpu.breakpoints.iter().position(|&a| a == addr) {
                cpu.breakpoints.remove(i);
            }
        }
        true
    }

    fn remove_all_breakpoints(&mut self) {
        let ours: Vec<(u32, bool)> =
            self.sw_breaks.keys().map(|&a| (a, false)).chain(self.hw_breaks.keys().map(|&a| (a, true))).collect();
        for (addr, hw) in ours {
            while self.remove_break(addr, hw) {}
        }
    }

    /// Carry out the resume actions GDB set: step one core, or run the
    /// machine for one slice. `None` means "still running".
    fn run_slice(&mut self) -> Option<MultiThreadStopReason<u32>> {
        if let Some(core) = self.actions.iter().position(|a| *a == Action::Step) {
            self.actions = vec![Action::Continue; self.actions.len()];
            return Some(self.step_core(core));
        }
        let limit = self.machine.now.saturating_add(SLICE_CYCLES);
        let exit = self.machine.run(limit);
        self.echo_new_console();
        match exit {
            Exit::CycleLimit => None,
            Exit::Breakpoint(core) => Some(self.breakpoint_stop(core)),
            Exit::Guest(code) => Some(self.exit_stop(code)),
            Exit::DoubleFault { core, .. } => {
                note!("gdb: {exit}; reported to GDB as SIGSEGV");
                self.last_core = core;
                Some(MultiThreadStopReason::SignalWithThread { tid: core_tid(core), signal: Signal::SIGSEGV })
            }
            Exit::Halted => {
                note!("gdb: the machine has halted (every core asleep or held in reset, nothing can wake one)");
                Some(MultiThreadStopReason::SignalWithThread { tid: core_tid(self.last_core), signal: Signal::SIGSTOP })
            }
            Exit::Deadlocked { core, .. } => {
                note!("gdb: {exit}; reported to GDB as SIGSTOP on that core");
                self.last_core = core;
                Some(MultiThreadStopReason::SignalWithThread { tid: core_tid(core), signal: Signal::SIGSTOP })
            }
            Exit::Stuck => {
                note!("gdb: the machine is stuck (every core asleep, waiting with interrupts open for one that nothing will raise)");
                Some(MultiThreadStopReason::SignalWithThread { tid: core_tid(self.last_core), signal: Signal::SIGSTOP })
            }
        }
    }

    fn breakpoint_stop(&mut self, core: usize) -> MultiThreadStopReason<u32> {
        self.last_core = core;
        let pc = self.machine.cpus[core].pc;
        let tid = core_tid(core);
        if self.hw_breaks.contains_key(&pc) && !self.sw_breaks.contains_key(&pc) {
            MultiThreadStopReason::HwBreak(tid)
        } else {
            MultiThreadStopReason::SwBreak(tid)
        }
    }

    fn exit_stop(&mut self, code: u32) -> MultiThreadStopReason<u32> {
        note!("gdb: the guest exited with code {code}");
        self.exit_code = Some(code);
        MultiThreadStopReason::Exited(code as u8)
    }

    /// Execute one instruction on `core` (none if it is asleep or held in
    /// reset), taking no interrupt.
    fn step_core(&mut self, core: usize) -> MultiThreadStopReason<u32> {
        self.last_core = core;
        let machine = &mut *self.machine;
        let cpu = &mut machine.cpus[core];
        if cpu.halted || cpu.sleeping {
            let state = if cpu.halted { "held in reset" } else { "asleep" };
            note!("gdb: core {core} is {state}; stepping it does nothing (use continue)");
        } else {
            cpu.step(&mut machine.bus, &self.table);
        }
        if let Some(code) = machine.bus.simctl.exit_code {
            return self.exit_stop(code);
        }
        MultiThreadStopReason::SignalWithThread { tid: core_tid(core), signal: Signal::SIGTRAP }
    }
}

/// The state of a core, for `info threads` and `monitor cores`.
fn core_state(cpu: &Cpu) -> &'static str {
    if cpu.halted {
        "held in reset"
    } else if cpu.sleeping {
        "asleep"
    } else {
        "running"
    }
}

// ----- memory as a core sees it -----

/// Whether `vaddr` (in P4) is a CPU-internal register or array that reads
/// without side effects: the store queues, the cache and TLB arrays, the
/// CCN/CPU registers at 0xFF0000xx, CPUOPM.
fn p4_internal(vaddr: u32) -> bool {
    matches!(vaddr >> 24, 0xE0..=0xE3 | 0xF0..=0xF7)
        || (vaddr >> 24 == 0xFF && vaddr & 0x00FF_FF00 == 0)
        || vaddr & !3 == 0xFF2F_0000
}

/// Whether a P4 CPU-internal register may be written by the debugger
/// (the store queues and CCN/CPU registers, not the arrays).
fn p4_internal_writable(vaddr: u32) -> bool {
    p4_internal(vaddr) && !matches!(vaddr >> 24, 0xF0..=0xF7)
}

/// Read one byte at virtual address `vaddr` as `core` would see it, with
/// no side effect on the machine. `None` if nothing readable is there.
pub fn debug_read_byte(machine: &mut Machine, core: usize, vaddr: u32) -> Option<u8> {
    let Machine { cpus, bus, .. } = machine;
    let cpu = cpus.get_mut(core)?;
    if vaddr >> 29 == 7 {
        // P4: local memories by their P4 address, or CPU-internal state.
        if let Some(b) = bus.peek(core, vaddr) {
            return Some(b);
        }
        if !p4_internal(vaddr) {
            return None;
        }
        let word = p4::read(cpu, bus, vaddr & !3, Size::Long).ok()?;
        return Some((word >> (8 * (vaddr & 3))) as u8);
    }
    let pa = cpu.debug_translate(vaddr)?;
    bus.peek(core, pa)
}

/// Write one byte at virtual address `vaddr` as `core` would see it.
/// Returns false (changing nothing) if no writable memory is there.
pub fn debug_write_byte(machine: &mut Machine, core: usize, vaddr: u32, value: u8) -> bool {
    let Machine { cpus, bus, .. } = machine;
    let Some(cpu) = cpus.get_mut(core) else { return false };
    if vaddr >> 29 == 7 {
        if bus.peek(core, vaddr).is_some() {
            return bus.poke(core, vaddr, value);
        }
        if !p4_internal_writable(vaddr) {
            return false;
        }
        let aligned = vaddr & !3;
        let Ok(word) = p4::read(cpu, bus, aligned, Size::Long) else { return false };
        let shift = 8 * (vaddr & 3);
        let word = (word & !(0xFF << shift)) | ((value as u32) << shift);
        return p4::write(cpu, bus, aligned, Size::Long, word).is_ok();
    }
    match cpu.debug_translate(vaddr) {
        Some(pa) => bus.poke(core, pa, value),
        None => false,
    }
}

// ----- gdbstub target -----

impl Target for SimTarget<'_> {
    type Arch = Sh4;
    type Error = TargetFatal;

    fn base_ops(&mut self) -> BaseOps<'_, Self::Arch, Self::Error> {
        BaseOps::MultiThread(self)
    }

    fn support_breakpoints(&mut self) -> Option<BreakpointsOps<'_, Self>> {
        Some(self)
    }

    fn support_monitor_cmd(&mut self) -> Option<MonitorCmdOps<'_, Self>> {
        Some(self)
    }

    fn support_target_description_xml_override(&mut self) -> Option<TargetDescriptionXmlOverrideOps<'_, Self>> {
        Some(self)
    }
}

/// The target description, as gdbstub would serve `Sh4`'s, except that an
/// annex other than `target.xml` is an error reply (ENOENT) where gdbstub
/// would end the session.
impl TargetDescriptionXmlOverride for SimTarget<'_> {
    fn target_description_xml(&self, annex: &[u8], offset: u64, length: usize, buf: &mut [u8]) -> TargetResult<usize, Self> {
        if annex != b"target.xml" {
            return Err(TargetError::Errno(2));
        }
        let xml = arch::TARGET_XML.trim().as_bytes();
        let start = usize::try_from(offset).unwrap_or(usize::MAX).min(xml.len());
        let end = start.saturating_add(length).min(xml.len());
        let n = (end - start).min(buf.len());
        buf[..n].copy_from_slice(&xml[start..start + n]);
        Ok(n)
    }
}

impl MultiThreadBase for SimTarget<'_> {
    fn read_registers(&mut self, regs: &mut Sh4Regs, tid: Tid) -> TargetResult<(), Self> {
        let core = self.core(tid)?;
        *regs = Sh4Regs::from_cpu(&self.machine.cpus[core]);
        Ok(())
    }

    fn write_registers(&mut self, regs: &Sh4Regs, tid: Tid) -> TargetResult<(), Self> {
        let core = self.core(tid)?;
        regs.write_to_cpu(&mut self.machine.cpus[core]);
        Ok(())
    }

    fn support_single_register_access(&mut self) -> Option<SingleRegisterAccessOps<'_, Tid, Self>> {
        Some(self)
    }

    fn read_addrs(&mut self, start_addr: u32, data: &mut [u8], tid: Tid) -> TargetResult<usize, Self> {
        let core = self.core(tid)?;
        for (i, byte) in data.iter_mut().enumerate() {
            match debug_read_byte(self.machine, core, start_addr.wrapping_add(i as u32)) {
                Some(b) => *byte = b,
                None if i == 0 => return Err(TargetError::Errno(14)), // EFAULT
                None => return Ok(i),
            }
        }
        Ok(data.len())
    }

    fn write_addrs(&mut self, start_addr: u32, data: &[u8], tid: Tid) -> TargetResult<(), Self> {
        let core = self.core(tid)?;
        for (i, &b) in data.iter().enumerate() {
            if !debug_write_byte(self.machine, core, start_addr.wrapping_add(i as u32), b) {
                return Err(TargetError::Errno(14));
            }
        }
        Ok(())
    }

    fn list_active_threads(&mut self, thread_is_active: &mut dyn FnMut(Tid)) -> Result<(), Self::Error> {
        for core in 0..self.machine.cpus.len() {
            thread_is_active(core_tid(core));
        }
        Ok(())
    }

    fn support_resume(&mut self) -> Option<MultiThreadResumeOps<'_, Self>> {
        Some(self)
    }

    fn support_thread_extra_info(&mut self) -> Option<ThreadExtraInfoOps<'_, Self>> {
        Some(self)
    }
}

impl SingleRegisterAccess<Tid> for SimTarget<'_> {
    fn read_register(&mut self, tid: Tid, reg: Sh4RegId, buf: &mut [u8]) -> TargetResult<usize, Self> {
        let core = self.core(tid)?;
        match arch::read_reg(&self.machine.cpus[core], reg.0) {
            Some(v) => {
                buf[..4].copy_from_slice(&v.to_le_bytes());
                Ok(4)
            }
            // A placeholder: valid but unavailable.
            None => Ok(0),
        }
    }

    fn write_register(&mut self, tid: Tid, reg: Sh4RegId, val: &[u8]) -> TargetResult<(), Self> {
        let core = self.core(tid)?;
        let bytes: [u8; 4] = val.try_into().map_err(|_| TargetError::Errno(22))?;
        if arch::write_reg(&mut self.machine.cpus[core], reg.0, u32::from_le_bytes(bytes)) {
            Ok(())
        } else {
            Err(TargetError::Errno(22)) // EINVAL
        }
    }
}

impl MultiThreadResume for SimTarget<'_> {
    fn resume(&mut self) -> Result<(), Self::Error> {
        // The work happens in the event loop's `wait_for_stop_reason`.
        Ok(())
    }

    fn clear_resume_actions(&mut self) -> Result<(), Self::Error> {
        self.actions.iter_mut().for_each(|a| *a = Action::Stay);
        Ok(())
    }

    fn set_resume_action_continue(&mut self, tid: Tid, signal: Option<Signal>) -> Result<(), Self::Error> {
        let _ = signal; // no signals to deliver on bare metal
        if let Some(a) = self.actions.get_mut(tid_core(tid)) {
            *a = Action::Continue;
        }
        Ok(())
    }

    fn support_single_step(&mut self) -> Option<MultiThreadSingleStepOps<'_, Self>> {
        Some(self)
    }

    fn support_scheduler_locking(&mut self) -> Option<MultiThreadSchedulerLockingOps<'_, Self>> {
        Some(self)
    }
}

impl MultiThreadSchedulerLocking for SimTarget<'_> {
    /// A step moves only the stepped core anyway; a continue of some cores
    /// runs the whole machine all the same (the cores share one clock).
    fn set_resume_action_scheduler_lock(&mut self) -> Result<(), Self::Error> {
        Ok(())
    }
}

impl MultiThreadSingleStep for SimTarget<'_> {
    fn set_resume_action_step(&mut self, tid: Tid, signal: Option<Signal>) -> Result<(), Self::Error> {
        let _ = signal;
        if let Some(a) = self.actions.get_mut(tid_core(tid)) {
            *a = Action::Step;
        }
        Ok(())
    }
}

impl ThreadExtraInfo for SimTarget<'_> {
    fn thread_extra_info(&self, tid: Tid, buf: &mut [u8]) -> Result<usize, Self::Error> {
        let core = tid_core(tid);
        let Some(cpu) = self.machine.cpus.get(core) else { return Ok(0) };
        let text = format!("core {core}, {}", core_state(cpu));
        let n = text.len().min(buf.len());
        buf[..n].copy_from_slice(&text.as_bytes()[..n]);
        Ok(n)
    }
}

impl Breakpoints for SimTarget<'_> {
    fn support_sw_breakpoint(&mut self) -> Option<SwBreakpointOps<'_, Self>> {
        Some(self)
    }

    fn support_hw_breakpoint(&mut self) -> Option<HwBreakpointOps<'_, Self>> {
        Some(self)
    }
}

impl SwBreakpoint for SimTarget<'_> {
    fn add_sw_breakpoint(&mut self, addr: u32, _kind: usize) -> TargetResult<bool, Self> {
        self.add_break(addr, false);
        Ok(true)
    }

    fn remove_sw_breakpoint(&mut self, addr: u32, _kind: usize) -> TargetResult<bool, Self> {
        Ok(self.remove_break(addr, false))
    }
}

impl HwBreakpoint for SimTarget<'_> {
    fn add_hw_breakpoint(&mut self, addr: u32, _kind: usize) -> TargetResult<bool, Self> {
        self.add_break(addr, true);
        Ok(true)
    }

    fn remove_hw_breakpoint(&mut self, addr: u32, _kind: usize) -> TargetResult<bool, Self> {
        Ok(self.remove_break(addr, true))
    }
}

impl MonitorCmd for SimTarget<'_> {
    fn handle_monitor_cmd(&mut self, cmd: &[u8], mut out: ConsoleOutput<'_>) -> Result<(), Self::Error> {
        let cmd = String::from_utf8_lossy(cmd);
        match cmd.trim() {
            "cores" | "" => {
                outputln!(out, "time {} cycles", self.machine.now);
                for cpu in &self.machine.cpus {
                    outputln!(
                        out,
                        "core {} ({}): pc {:#010x} sr {:#010x} spc {:#010x} ssr {:#010x} expevt {:#05x} intevt {:#06x} cycles {}",
                        cpu.id,
                        core_state(cpu),
                        cpu.pc,
                        cpu.sr(),
                        cpu.spc,
                        cpu.ssr,
                        cpu.expevt,
                        cpu.intevt,
                        cpu.cycles
                    );
                }
            }
            "faults" => {
                let bus = &self.machine.bus;
                outputln!(out, "{} bus faults", bus.fault_count);
                for f in &bus.faults {
                    outputln!(
                        out,
                        "core {} cycle {}: {} {:?} at {:#010x}",
                        f.core,
                        f.cycle,
                        if f.write { "write" } else { "read" },
                        f.size,
                        f.addr
                    );
                }
            }
            "help" => {
                outputln!(out, "monitor cores   state, PC, SR, SPC, SSR, EXPEVT, INTEVT of every core");
                outputln!(out, "monitor faults  bus accesses nothing answered");
            }
            other => outputln!(out, "unknown monitor command {other:?}; try 'monitor help'"),
        }
        Ok(())
    }
}

/// The blocking event loop: runs slices until a stop or incoming data.
struct EventLoop<'m>(PhantomData<&'m mut Machine>);

impl<'m> run_blocking::BlockingEventLoop for EventLoop<'m> {
    type Target = SimTarget<'m>;
    type Connection = Guarded<TcpStream>;
    type StopReason = MultiThreadStopReason<u32>;

    #[allow(clippy::type_complexity)]
    fn wait_for_stop_reason(
        target: &mut SimTarget<'m>,
        conn: &mut Guarded<TcpStream>,
    ) -> Result<
        run_blocking::Event<MultiThreadStopReason<u32>>,
        run_blocking::WaitForStopReasonError<TargetFatal, <Guarded<TcpStream> as Connection>::Error>,
    > {
        use run_blocking::{Event, WaitForStopReasonError};
        loop {
            if let Some(stop) = target.run_slice() {
                return Ok(Event::TargetStopped(stop));
            }
            if ConnectionExt::peek(conn).map_err(WaitForStopReasonError::Connection)?.is_some() {
                let byte = ConnectionExt::read(conn).map_err(WaitForStopReasonError::Connection)?;
                return Ok(Event::IncomingData(byte));
            }
        }
    }

    fn on_interrupt(target: &mut SimTarget<'m>) -> Result<Option<MultiThreadStopReason<u32>>, TargetFatal> {
        Ok(Some(MultiThreadStopReason::SignalWithThread { tid: core_tid(target.last_core), signal: Signal::SIGINT }))
    }
}
