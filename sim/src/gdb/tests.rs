//! Tests of the GDB stub: a raw remote-protocol client against `serve`,
//! and (when installed) the real `gdb-multiarch` in batch mode.

use super::arch::{self, regnum, Sh4Regs, G_PACKET_BYTES, NUM_REGS};
use super::{serve, serve_listener, GdbError, GdbOutcome};
use crate::machine::{Config, Machine};
use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::thread;
use std::time::Duration;

/// The test program, at DRAM offset 0 (P1 0x88000000):
///
/// ```text
/// 00  e001  mov   #1,r0
/// 02  7001  add   #1,r0
/// 04  7001  add   #1,r0
/// 06  0009  nop
/// 08  affe  bra   08
/// 0a  0009  nop             (delay slot)
/// 0c  2102  mov.l r0,@r1    (r1 = SIMCTL EXIT: the guest exits with r0)
/// 0e  affe  bra   0e
/// 10  0009  nop
/// ```
const PROGRAM: [u16; 9] = [0xE001, 0x7001, 0x7001, 0x0009, 0xAFFE, 0x0009, 0x2102, 0xAFFE, 0x0009];
const ENTRY: u32 = 0x8800_0000;

fn program_bytes() -> Vec<u8> {
    PROGRAM.iter().flat_map(|w| w.to_le_bytes()).collect()
}

/// A two-core machine with the test program loaded and core 0 at ENTRY;
/// core 1 stays held in reset.
fn test_machine() -> Machine {
    let config = Config { cores: 2, dram_size: 1 << 20, quantum: 1000, trace: false, tier: None, jit_hot: None, jit_background: None, ici_latency: None, fuse_rounds: None };
    let mut m = Machine::new(config).expect("valid config");
    m.bus.load(0, crate::bus::DRAM_BASE, &program_bytes()).expect("DRAM");
    let cpu = &mut m.cpus[0];
    cpu.pc = ENTRY;
    cpu.r[1] = 0x1234_5678;
    cpu.r[15] = 0x8801_0000;
    cpu.r_bank[0] = 0xCAFE_BABE;
    cpu.fr[3] = 0x3F80_0000;
    cpu.expevt = 0x1E0;
    m
}

/// What `serve` left behind, reported from the server thread.
#[derive(Debug)]
struct ServerEnd {
    outcome: Result<GdbOutcome, String>,
    breakpoints_left: usize,
    pcs: Vec<u32>,
}

/// Start `serve_listener` on an ephemeral loopback port in a thread.
fn start_server() -> (u16, thread::JoinHandle<ServerEnd>) {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind loopback");
    let port = listener.local_addr().unwrap().port();
    let handle = thread::spawn(move || {
        let mut m = test_machine();
        let outcome = serve_listener(&mut m, listener, &mut |_: &[u8]| {}).map_err(|e| e.to_string());
        ServerEnd {
            outcome,
            breakpoints_left: m.cpus.iter().map(|c| c.breakpoints.len()).sum(),
            pcs: m.cpus.iter().map(|c| c.pc).collect(),
        }
    });
    (port, handle)
}

/// A minimal GDB remote-protocol client.
struct Client {
    stream: TcpStream,
}

impl Client {
    fn connect(port: u16) -> Client {
        let stream = TcpStream::connect(("127.0.0.1", port)).expect("connect to the stub");
        stream.set_read_timeout(Some(Duration::from_secs(20))).unwrap();
        stream.set_nodelay(true).unwrap();
        Client { stream }
    }

    fn byte(&mut self) -> u8 {
        let mut b = [0u8];
        self.stream.read_exact(&mut b).expect("read from the stub");
        b[0]
    }

    /// Send one packet and wait for its acknowledgement.
    fn send(&mut self, payload: &str) {
        let sum = payload.bytes().fold(0u8, |a, b| a.wrapping_add(b));
        let packet = format!("${payload}#{sum:02x}");
        self.stream.write_all(packet.as_bytes()).unwrap();
        let ack = self.byte();
        assert_eq!(ack, b'+', "stub did not acknowledge {payload:?}");
    }

    /// Receive one packet (checksum verified, run-length encoding expanded)
    /// and acknowledge it.
    fn recv(&mut self) -> String {
        loop {
            match self.byte() {
                b'$' => break,
                b'+' => continue,
                other => panic!("unexpected byte {other:#04x} before a packet"),
            }
        }
        let mut raw = Vec::new();
        loop {
            match self.byte() {
                b'#' => break,
                b => raw.push(b),
            }
        }
        let sum_text = [self.byte(), self.byte()];
        let sum = u8::from_str_radix(std::str::from_utf8(&sum_text).unwrap(), 16).unwrap();
        assert_eq!(raw.iter().fold(0u8, |a, &b| a.wrapping_add(b)), sum, "bad checksum");
        self.stream.write_all(b"+").unwrap();
        // Expand run-length encoding: "c*N" repeats c (N - 29) more times.
        let mut out = Vec::new();
        let mut i = 0;
        while i < raw.len() {
            if raw[i] == b'*' && i + 1 < raw.len() {
                let prev = *out.last().expect("run without a character");
                for _ in 0..(raw[i + 1] - 29) {
                    out.push(prev);
                }
                i += 2;
            } else {
                out.push(raw[i]);
                i += 1;
            }
        }
        String::from_utf8(out).unwrap()
    }

    fn cmd(&mut self, payload: &str) -> String {
        self.send(payload);
        self.recv()
    }
}

fn hex_le(v: u32) -> String {
    v.to_le_bytes().iter().map(|b| format!("{b:02x}")).collect()
}

/// The 'g' reply for these register values (None = unavailable).
fn g_reply(values: &[Option<u32>; NUM_REGS]) -> String {
    values.iter().map(|v| v.map(hex_le).unwrap_or_else(|| "xxxxxxxx".into())).collect()
}

#[test]
fn raw_protocol_session() {
    let (port, server) = start_server();
    let mut c = Client::connect(port);

    let features = c.cmd("qSupported:multiprocess-;swbreak+;hwbreak+;vContSupported+");
    assert!(features.contains("PacketSize="), "{features}");
    assert!(features.contains("qXfer:features:read+"), "{features}");
    assert!(features.contains("swbreak+"), "{features}");
    assert_eq!(c.cmd("qXfer:features:read:target.xml:0,ffb"), format!("m{}", arch::TARGET_XML));
    let end = format!("qXfer:features:read:target.xml:{:x},ffb", arch::TARGET_XML.len());
    assert_eq!(c.cmd(&end), "l");
    assert_eq!(c.cmd("vCont?"), "vCont;c;C;s;S");
    assert_eq!(c.cmd("?"), "T05thread:01;");
    assert_eq!(c.cmd("qfThreadInfo"), "m01,02");
    assert_eq!(c.cmd("qsThreadInfo"), "l");
    let extra: String = "core 1, held in reset".bytes().map(|b| format!("{b:02x}")).collect();
    assert_eq!(c.cmd("qThreadExtraInfo,2"), extra);

    // All registers of core 0, in GDB's sh4 order.
    let mut regs = [Some(0u32); NUM_REGS];
    regs[1] = Some(0x1234_5678);
    regs[15] = Some(0x8801_0000);
    regs[regnum::PC] = Some(ENTRY);
    regs[regnum::SR] = Some(0x7000_00F0);
    regs[regnum::FPSCR] = Some(0x0004_0001);
    regs[regnum::FR0 + 3] = Some(0x3F80_0000);
    regs[regnum::R0B0] = Some(0xCAFE_BABE); // SR.MD=RB=1: bank 0 is the other bank
    regs[regnum::R0B1 + 1] = Some(0x1234_5678); // bank 1 is r0-r7
    for r in regs.iter_mut().skip(regnum::PLACEHOLDER) {
        *r = None;
    }
    assert_eq!(c.cmd("Hg1"), "OK");
    let g = c.cmd("g");
    assert_eq!(g.len(), 2 * G_PACKET_BYTES);
    assert_eq!(g, g_reply(&regs));
    assert_eq!(c.cmd("p10"), hex_le(ENTRY));
    assert_eq!(c.cmd("p2b"), hex_le(0xCAFE_BABE)); // r0b0
    assert_eq!(c.cmd("p3b"), "xxxxxxxx"); // placeholder 59

    // Core 1 (held in reset) has its own registers.
    assert_eq!(c.cmd("Hg2"), "OK");
    assert_eq!(c.cmd("p10"), hex_le(0xA000_0000));
    assert_eq!(c.cmd("Hg1"), "OK");

    // Memory through core 0's view.
    assert_eq!(c.cmd("m88000000,12"), "01e0017001700900feaf09000221feaf0900");
    assert_eq!(c.cmd("ma8000002,2"), "0170"); // the same DRAM through P2
    assert_eq!(c.cmd("mff000024,4"), "e0010000"); // EXPEVT
    assert_eq!(c.cmd("mff000030,4"), hex_le(crate::cpu::p4::PVR)); // PVR
    assert_eq!(c.cmd("m00000000,4"), "E0e"); // nothing at physical 0
    assert_eq!(c.cmd("mffe00000,4"), "E0e"); // a device register: refused
    assert_eq!(c.cmd("M88000100,4:deadbeef"), "OK");
    assert_eq!(c.cmd("m88000100,4"), "deadbeef");
    assert_eq!(c.cmd("M00000000,1:00"), "E0e");

    // Breakpoint, continue.
    assert_eq!(c.cmd("Z0,88000006,2"), "OK");
    assert_eq!(c.cmd("vCont;c"), "T05thread:01;swbreak:;");
    assert_eq!(c.cmd("p10"), hex_le(0x8800_0006));
    assert_eq!(c.cmd("p0"), hex_le(3));
    assert_eq!(c.cmd("z0,88000006,2"), "OK");

    // Single steps: the nop, the bra, its delay slot.
    assert_eq!(c.cmd("vCont;s:1"), "T05thread:01;");
    assert_eq!(c.cmd("p10"), hex_le(0x8800_0008));
    assert_eq!(c.cmd("vCont;s:1;c"), "T05thread:01;");
    assert_eq!(c.cmd("p10"), hex_le(0x8800_000A));
    assert_eq!(c.cmd("s"), "T05thread:01;");
    assert_eq!(c.cmd("p10"), hex_le(0x8800_0008));

    // Continue into the endless loop, then interrupt it.
    c.send("vCont;c");
    thread::sleep(Duration::from_millis(50));
    c.stream.write_all(&[0x03]).unwrap();
    assert_eq!(c.recv(), "T02thread:01;");
    let pc = c.cmd("p10");
    assert!(pc == hex_le(0x8800_0008) || pc == hex_le(0x8800_000A), "{pc}");

    // Point core 0 at the exit store and let the guest exit with 42.
    assert_eq!(c.cmd("P10=0c000088"), "OK");
    assert_eq!(c.cmd("P1=0000ffbb"), "OK");
    assert_eq!(c.cmd("P0=2a000000"), "OK");
    assert_eq!(c.cmd("Z0,88000006,2"), "OK"); // left in place: removed by the stub at exit
    assert_eq!(c.cmd("vCont;c"), "W2a");

    let end = server.join().expect("server thread");
    assert_eq!(end.outcome, Ok(GdbOutcome::GuestExited(42)));
    assert_eq!(end.breakpoints_left, 0);
    assert_eq!(end.pcs[1], 0xA000_0000);
}

#[test]
fn detach_and_kill_end_the_session() {
    let (port, server) = start_server();
    let mut c = Client::connect(port);
    assert_eq!(c.cmd("Z0,88000006,2"), "OK");
    assert_eq!(c.cmd("D"), "OK");
    let end = server.join().unwrap();
    assert_eq!(end.outcome, Ok(GdbOutcome::Detached));
    assert_eq!(end.breakpoints_left, 0);

    let (port, server) = start_server();
    let mut c = Client::connect(port);
    c.send("vKill;1");
    let end = server.join().unwrap();
    assert_eq!(end.outcome, Ok(GdbOutcome::Killed));

    let (port, server) = start_server();
    let c = Client::connect(port);
    drop(c);
    let end = server.join().unwrap();
    assert_eq!(end.outcome, Ok(GdbOutcome::ConnectionClosed));
    assert_eq!(end.pcs[0], ENTRY);
}

#[test]
fn serve_refuses_non_loopback_addresses() {
    let mut m = test_machine();
    match serve(&mut m, "0.0.0.0:0") {
        Err(GdbError::NotLoopback(a)) => assert_eq!(a, "0.0.0.0:0"),
        other => panic!("expected NotLoopback, got {other:?}"),
    }
}

#[test]
fn halted_machine_stops_with_sigstop() {
    // Core 0 sleeps with every interrupt masked: the machine halts.
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let server = thread::spawn(move || {
        let mut m = test_machine();
        m.bus.load(0, crate::bus::DRAM_BASE, &0x001Bu16.to_le_bytes()).unwrap(); // sleep
        serve_listener(&mut m, listener, &mut |_: &[u8]| {}).map_err(|e| e.to_string())
    });
    let mut c = Client::connect(port);
    assert_eq!(c.cmd("vCont;c"), "T11thread:01;"); // GDB's SIGSTOP is 17
                                                   // Stepping a sleeping core leaves it where it is.
    assert_eq!(c.cmd("vCont;s:1"), "T05thread:01;");
    assert_eq!(c.cmd("p10"), hex_le(ENTRY + 2));
    assert_eq!(c.cmd("D"), "OK");
    assert_eq!(server.join().unwrap(), Ok(GdbOutcome::Detached));
}

#[test]
fn register_banks_follow_sr() {
    let mut m = test_machine();
    let cpu = &mut m.cpus[0];
    // Reset SR: MD=1, RB=1, bank 1 current.
    cpu.r[0] = 0x11;
    cpu.r_bank[0] = 0x22;
    assert_eq!(arch::read_reg(cpu, regnum::R0B1), Some(0x11));
    assert_eq!(arch::read_reg(cpu, regnum::R0B0), Some(0x22));
    // Switch to bank 0 through GDB's SR: the physical banks stay put.
    assert!(arch::write_reg(cpu, regnum::SR, 0x4000_00F0));
    assert_eq!(cpu.r[0], 0x22);
    assert_eq!(arch::read_reg(cpu, regnum::R0), Some(0x22));
    assert_eq!(arch::read_reg(cpu, regnum::R0B0), Some(0x22));
    assert_eq!(arch::read_reg(cpu, regnum::R0B1), Some(0x11));
    // Writing a bank register writes the right storage.
    assert!(arch::write_reg(cpu, regnum::R0B1 + 2, 0x33));
    assert_eq!(cpu.r_bank[2], 0x33);
    assert!(arch::write_reg(cpu, regnum::R0B0 + 2, 0x44));
    assert_eq!(cpu.r[2], 0x44);
    assert!(!arch::write_reg(cpu, regnum::PLACEHOLDER, 1));
    assert_eq!(arch::read_reg(cpu, 66), None);

    // A 'G' write changing SR (to bank 1) and r0 keeps both banks right.
    let mut regs = Sh4Regs::from_cpu(cpu);
    regs.values[regnum::SR] = 0x7000_00F0;
    regs.values[regnum::R0 + 5] = 0x55;
    regs.write_to_cpu(cpu);
    assert_eq!(cpu.sr(), 0x7000_00F0);
    assert_eq!(cpu.r[0], 0x11); // bank 1 now current
    assert_eq!(cpu.r_bank[0], 0x22);
    assert_eq!(cpu.r[5], 0x55);
    // FPSCR.FR swaps the FR banks.
    cpu.fr[0] = 1;
    cpu.fr[16] = 2;
    assert!(arch::write_reg(cpu, regnum::FPSCR, 0x0024_0001));
    assert_eq!(arch::read_reg(cpu, regnum::FR0), Some(2));
}

#[test]
fn g_packet_round_trips() {
    use gdbstub::arch::Registers;
    let mut regs = Sh4Regs::default();
    for (i, v) in regs.values.iter_mut().enumerate() {
        *v = 0x0101_0101 * i as u32;
    }
    let mut bytes = Vec::new();
    regs.gdb_serialize(|b| bytes.push(b));
    assert_eq!(bytes.len(), G_PACKET_BYTES);
    assert!(bytes[regnum::PLACEHOLDER * 4..].iter().all(Option::is_none));
    let plain: Vec<u8> = bytes.iter().map(|b| b.unwrap_or(0)).collect();
    let mut back = Sh4Regs::default();
    back.gdb_deserialize(&plain).unwrap();
    assert_eq!(back, regs);
    assert!(back.gdb_deserialize(&plain[..10]).is_err());
    assert_eq!(arch::REG_NAMES[regnum::SPC], "spc");
}

// ----- the real gdb-multiarch -----

fn gdb_available() -> bool {
    std::process::Command::new("gdb-multiarch").arg("--version").output().map(|o| o.status.success()).unwrap_or(false)
}

/// Run gdb-multiarch in batch mode against a fresh stub; returns gdb's
/// stdout and stderr and the server's end state.
fn run_gdb(args: &[&str]) -> (String, String, ServerEnd) {
    let (port, server) = start_server();
    let target = format!("target remote 127.0.0.1:{port}");
    let mut cmd = std::process::Command::new("gdb-multiarch");
    cmd.args(["-nx", "-batch", "-ex", "set architecture sh4", "-ex", "set endian little", "-ex", &target]);
    for a in args {
        cmd.args(["-ex", a]);
    }
    let out = cmd.output().expect("run gdb-multiarch");
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    let end = server.join().expect("server thread");
    eprintln!("gdb stdout:\n{stdout}\ngdb stderr:\n{stderr}");
    (stdout, stderr, end)
}

#[test]
fn real_gdb_multiarch_session() {
    if !gdb_available() {
        eprintln!("note: gdb-multiarch not installed; skipping the real-GDB test");
        return;
    }
    let (out, err, end) = run_gdb(&[
        "info registers pc",
        "x/2hx $pc",
        "stepi",
        "info registers pc r0",
        "info threads",
        "break *0x88000006",
        "continue",
        "p/x $r0",
        "p/x $r0b0",
        "p/x $sr",
        "x/wx 0xff000024",
        "thread 2",
        "p/x $pc",
        "monitor cores",
        "detach",
    ]);
    let lines: Vec<&str> = out.lines().map(str::trim_end).collect();
    let has = |want: &str| lines.iter().any(|l| l.split_whitespace().collect::<Vec<_>>().join(" ") == want);
    // GDB types the sh4 pc as a plain int, hence the signed decimal.
    assert!(has("pc 0x88000000 -2013265920"), "{out}");
    assert!(has("0x88000000: 0xe001 0x7001"), "{out}");
    assert!(has("pc 0x88000002 -2013265918"), "{out}");
    assert!(has("r0 0x1 1"), "{out}");
    // `info threads`: "* 1    Thread 1.1 (core 0, running)       0x88000002 in ?? ()".
    let thread = |id: &str, info: &str| {
        lines.iter().any(|l| {
            let l = l.trim_start().trim_start_matches("* ");
            l.starts_with(id) && l.contains(info)
        })
    };
    assert!(thread("1 ", "(core 0, running)"), "{out}");
    assert!(thread("2 ", "(core 1, held in reset) 0xa0000000"), "{out}");
    assert!(lines.iter().any(|l| l.starts_with("Breakpoint 1 at 0x88000006")), "{out}");
    assert!(has("$1 = 0x3"), "{out}");
    assert!(has("$2 = 0xcafebabe"), "{out}");
    assert!(has("$3 = 0x700000f0"), "{out}");
    assert!(has("0xff000024: 0x000001e0"), "{out}");
    assert!(has("$4 = 0xa0000000"), "{out}");
    // Batch-mode GDB prints monitor output on stderr.
    assert!(err.lines().any(|l| l.starts_with("core 1 (held in reset): pc 0xa0000000")), "{err}");
    assert_eq!(end.outcome, Ok(GdbOutcome::Detached));
    assert_eq!(end.breakpoints_left, 0);
    assert_eq!(end.pcs[0], 0x8800_0006);
}

/// A breakpoint on the first instruction of an exception handler: the
/// instruction after an exception (and after any SR change or device
/// write) is where `Cpu::run` used to resume without checking breakpoints.
#[test]
fn breakpoint_on_exception_vector() {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let server = thread::spawn(move || {
        let mut m = test_machine();
        // 0x88000000: trapa #1; the handler at VBR + 0x100 = 0x88000200:
        // nop; bra .; nop.
        m.bus.load(0, crate::bus::DRAM_BASE, &0xC301u16.to_le_bytes()).unwrap();
        let handler: Vec<u8> = [0x0009u16, 0xAFFE, 0x0009].iter().flat_map(|w| w.to_le_bytes()).collect();
        m.bus.load(0, crate::bus::DRAM_BASE + 0x200, &handler).unwrap();
        let cpu = &mut m.cpus[0];
        cpu.vbr = 0x8800_0100;
        cpu.set_sr(0x4000_00F0); // privileged, bank 0, BL clear
        serve_listener(&mut m, listener, &mut |_: &[u8]| {}).map_err(|e| e.to_string())
    });
    let mut c = Client::connect(port);
    assert_eq!(c.cmd("Z0,88000200,2"), "OK");
    assert_eq!(c.cmd("vCont;c"), "T05thread:01;swbreak:;");
    assert_eq!(c.cmd("p10"), hex_le(0x8800_0200));
    assert_eq!(c.cmd("p2a"), hex_le(0x8800_0002)); // SPC: after the TRAPA
    assert_eq!(c.cmd("mff000020,4"), hex_le(1 << 2)); // TRA
    assert_eq!(c.cmd("mff000024,4"), hex_le(0x160)); // EXPEVT: unconditional trap
    assert_eq!(c.cmd("D"), "OK");
    assert_eq!(server.join().unwrap(), Ok(GdbOutcome::Detached));
}

/// Console output the guest produces while GDB has it running reaches the
/// session's console sink.
#[test]
fn console_output_reaches_the_sink() {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let server = thread::spawn(move || {
        let mut m = test_machine();
        // r1 = SCIF0 SCSCR: set TE, write 'A' to SCFTDR, loop.
        let code: Vec<u8> = [
            0xE020u16, // mov   #0x20,r0
            0x2101,    // mov.w r0,@r1
            0x7104,    // add   #4,r1
            0xE041,    // mov   #'A',r0
            0x2100,    // mov.b r0,@r1
            0xAFFE,    // bra   .
            0x0009,    // nop
        ]
        .iter()
        .flat_map(|w| w.to_le_bytes())
        .collect();
        m.bus.load(0, crate::bus::DRAM_BASE, &code).unwrap();
        m.cpus[0].r[1] = crate::devices::scif::SCIF0_BASE + 8;
        let mut seen = Vec::new();
        let outcome = serve_listener(&mut m, listener, &mut |b: &[u8]| seen.extend_from_slice(b));
        (outcome.map_err(|e| e.to_string()), seen, m.console)
    });
    let mut c = Client::connect(port);
    c.send("vCont;c");
    thread::sleep(Duration::from_millis(50));
    std::io::Write::write_all(&mut c.stream, &[0x03]).unwrap();
    assert_eq!(c.recv(), "T02thread:01;");
    assert_eq!(c.cmd("D"), "OK");
    let (outcome, seen, console) = server.join().unwrap();
    assert_eq!(outcome, Ok(GdbOutcome::Detached));
    assert_eq!(seen, b"A");
    assert_eq!(console, b"A");
}

// ----- hostile packets -----

/// Packets gdbstub used to end the whole run over (some with "This should
/// never happen! ... file an issue"), or, for `vCont;s:5`, acted on by
/// running the whole machine: each gets an error reply now, and the
/// session goes on.
#[test]
fn hostile_packets_get_error_replies_and_the_session_goes_on() {
    let (port, server) = start_server();
    let mut c = Client::connect(port);
    let g = c.cmd("g");
    for (packet, reply) in [
        ("T0", "E16"),
        ("T-1", "E16"),
        ("T9", "E01"), // a thread id gdbstub asks the target about: not alive
        ("Hg-1", "E16"),
        ("Hg5", "E03"),
        ("Hc9", "E03"),
        ("vCont;s:0", "E16"),
        ("vCont;s", "E16"),
        ("vCont;s:5", "E03"),
        ("vCont;c:5", "E03"),
        ("vCont;t:1", "E16"),
        ("vCont;r88000000,88000004:1", "E16"),
        ("vCont", "E16"),
        ("qXfer:features:read:foo.xml:0,ffb", "E02"),
        ("qXfer:features:read:target.xml", "E16"),
        ("qThreadExtraInfo,0", "E16"),
        ("qThreadExtraInfo,9", "E03"),
        ("qSupported", "E16"),
        ("m100000000,4", "E16"),
        ("m88000000,100000", "E07"),
        ("M88000000,2:0", "E16"),
        ("G00", "E16"),
        ("Z0,100000000,2", "E16"),
        ("p", "E16"),
        ("D;0", "E16"),
        ("vKill;0", "E16"),
        ("X88000000,1:}", "E16"),
    ] {
        assert_eq!(c.cmd(packet), reply, "{packet}");
        // The session goes on, and nothing ran.
        assert_eq!(c.cmd("?"), "T05thread:01;", "after {packet}");
        assert_eq!(c.cmd("g"), g, "after {packet}");
    }
    // Hc-1 makes a plain `s` a step of every thread, which gdbstub cannot do.
    assert_eq!(c.cmd("Hc-1"), "OK");
    assert_eq!(c.cmd("s"), "E16");
    assert_eq!(c.cmd("Hc1"), "OK");
    assert_eq!(c.cmd("s"), "T05thread:01;");
    assert_eq!(c.cmd("p10"), hex_le(ENTRY + 2));
    // Unknown commands get the empty reply, as before.
    assert_eq!(c.cmd("qTStatus"), "");
    assert_eq!(c.cmd("D"), "OK");
    let end = server.join().unwrap();
    assert_eq!(end.outcome, Ok(GdbOutcome::Detached));
}

/// A packet with a bad checksum is answered with `-` (send it again), a
/// `-` from GDB gets the last reply again, and neither ends the session.
#[test]
fn a_bad_checksum_is_refused_and_a_nak_resends_the_reply() {
    let (port, server) = start_server();
    let mut c = Client::connect(port);
    c.stream.write_all(b"$g#00").unwrap();
    assert_eq!(c.byte(), b'-');
    c.stream.write_all(b"$?#zz").unwrap();
    assert_eq!(c.byte(), b'-');
    assert_eq!(c.cmd("?"), "T05thread:01;");
    c.stream.write_all(b"-").unwrap();
    assert_eq!(c.recv(), "T05thread:01;", "the reply again after a NAK");
    // Noise between packets is ignored; an over-long packet is refused.
    c.stream.write_all(b"xyz\n").unwrap();
    assert_eq!(c.cmd(&format!("qRcmd,{}", "61".repeat(3000))), "E07");
    assert_eq!(c.cmd("p10"), hex_le(ENTRY));
    assert_eq!(c.cmd("D"), "OK");
    assert_eq!(server.join().unwrap().outcome, Ok(GdbOutcome::Detached));
}

/// Reads one reply packet, skipping acknowledgements; None if nothing
/// comes within `wait` (the target is running).
fn recv_within(c: &mut Client, wait: Duration) -> Option<String> {
    c.stream.set_read_timeout(Some(wait)).unwrap();
    let mut b = [0u8];
    let first = loop {
        match c.stream.read(&mut b) {
            Ok(1) if b[0] == b'+' => continue,
            Ok(1) => break b[0],
            Ok(_) => panic!("the stub closed the connection"),
            Err(e) if matches!(e.kind(), std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut) => return None,
            Err(e) => panic!("{e}"),
        }
    };
    c.stream.set_read_timeout(Some(Duration::from_secs(20))).unwrap();
    assert_eq!(first, b'$', "expected a packet");
    let mut body = Vec::new();
    loop {
        match c.byte() {
            b'#' => break,
            x => body.push(x),
        }
    }
    let _sum = [c.byte(), c.byte()];
    c.stream.write_all(b"+").unwrap();
    Some(String::from_utf8_lossy(&body).into_owned())
}

mod random_packets {
    use super::*;
    use proptest::prelude::*;

    /// A packet body: a command GDB sends (or one that starts like it)
    /// and a random tail of the characters its arguments use. Detach and
    /// kill, which end a session by design, are left out.
    fn body() -> impl Strategy<Value = Vec<u8>> {
        let heads = prop::sample::select(vec![
            "", "?", "g", "G", "H", "Hg", "Hc", "m", "M", "T", "qAttached", "qfThreadInfo", "qsThreadInfo",
            "qSupported", "qSupported:", "qXfer:features:read:", "qXfer:features:read:target.xml:", "c", "s",
            "vCont", "vCont;", "vCont;s:", "vCont;c:", "vCont?", "X", "p", "P", "qRcmd,", "qThreadExtraInfo,", "z",
            "Z", "Z0,", "q", "Q", "v", "qC", "QStartNoAckMode",
        ]);
        let tail = proptest::collection::vec(
            prop_oneof![4 => prop::sample::select(b"0123456789abcdefx-p.,:;=}*$\x03 ".to_vec()), 1 => any::<u8>()],
            0..24,
        );
        (heads, tail).prop_map(|(h, t)| {
            let mut b = h.as_bytes().to_vec();
            b.extend(t);
            b
        })
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 48, ..ProptestConfig::default() })]

        /// Random packets with valid framing never end the session: each
        /// is answered (or, if it resumed the machine, Ctrl-C stops it),
        /// and afterwards `?` and `g` still answer and `D` detaches.
        #[test]
        fn random_packets_never_end_the_session(bodies in proptest::collection::vec(body(), 1..8)) {
            let (port, server) = start_server();
            let mut c = Client::connect(port);
            for b in &bodies {
                // '$' and '#' cannot be in a body unescaped; the rest may.
                let mut b: Vec<u8> = b.iter().map(|&x| if x == b'$' || x == b'#' { b'x' } else { x }).collect();
                // Nor may a random tail detach or kill.
                if b.first().is_some_and(|&x| x == b'D' || x == b'k') || b.starts_with(b"vKill") {
                    b[0] = b'x';
                }
                let sum = b.iter().fold(0u8, |a, &x| a.wrapping_add(x));
                c.stream.write_all(&[&b"$"[..], &b, format!("#{sum:02x}").as_bytes()].concat()).unwrap();
                if recv_within(&mut c, Duration::from_millis(300)).is_none() {
                    c.stream.write_all(&[0x03]).unwrap();
                    let stop = recv_within(&mut c, Duration::from_secs(20)).expect("a stop after Ctrl-C");
                    prop_assert!(stop.starts_with('T'), "{:?}: {stop}", String::from_utf8_lossy(&b));
                }
                // A monitor command's output comes as `O` packets before its `OK`.
                while recv_within(&mut c, Duration::from_millis(30)).is_some() {}
            }
            c.stream.write_all(b"$?#3f").unwrap();
            let stop = recv_within(&mut c, Duration::from_secs(20)).unwrap();
            prop_assert!(stop.starts_with('T'), "{stop}");
            c.stream.write_all(b"$g#67").unwrap();
            let regs = recv_within(&mut c, Duration::from_secs(20)).unwrap();
            prop_assert!(!regs.is_empty() && !regs.starts_with('E'), "{regs}"); // run-length encoded
            c.stream.write_all(b"$D#44").unwrap();
            prop_assert_eq!(recv_within(&mut c, Duration::from_secs(20)), Some("OK".to_string()));
            let end = server.join().unwrap();
            prop_assert_eq!(end.outcome, Ok(GdbOutcome::Detached));
        }
    }
}
