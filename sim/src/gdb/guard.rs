//! A guard between GDB's connection and `gdbstub`: it frames the packets
//! itself and answers, with an error reply, every packet `gdbstub` would
//! end the session over, so a hostile or mistaken packet costs one `E`
//! reply, never the session.
//!
//! `gdbstub` 0.7 treats many inputs as fatal errors before the target sees
//! them: a bad checksum, a NAK (`-`), a command it cannot parse, thread id
//! 0 or -1 where it wants one thread (`T0`, `Hg-1`, `vCont;s:0`), a
//! `qXfer:features:read` annex other than `target.xml`, an address wider
//! than 32 bits, a packet longer than its buffer. The guard therefore
//! checks each complete packet against the grammar `gdbstub` parses, for
//! exactly the commands this target enables, in `gdbstub`'s own prefix
//! order, and passes on only packets `gdbstub` handles without a fatal
//! error; a packet for a command this target does not know passes too
//! (`gdbstub` answers it with the empty "unsupported" reply). It also
//! knows the cores: a thread id that is not one (thread N+1 is core N) is
//! refused with `E03` rather than acted on. Beyond the protocol it does
//! what the remote protocol asks of a stub and `gdbstub` does not: a
//! packet with a bad checksum is answered with `-` (GDB sends it again),
//! and a `-` from GDB makes the guard send its last packet again.
//!
//! Replies: `E16` (EINVAL) for a malformed or unsupported packet, `E03`
//! (ESRCH) for a thread that is no core, `E07` (E2BIG) for a packet longer
//! than the packet buffer or a memory read longer than a packet can carry.
//!
//! Owns: the framing and the checks. Must not touch: the machine (it
//! knows the number of cores, nothing else).

use gdbstub::conn::{Connection, ConnectionExt};
use std::collections::VecDeque;

/// Longest memory read (`m`) answered: GDB asks for at most what a reply
/// of its packet size can carry.
pub const MAX_READ: usize = 2048;

/// Register bytes `G` may carry (`arch::Sh4Regs::gdb_deserialize`).
const G_MIN: usize = super::arch::regnum::PLACEHOLDER * 4;
const G_MAX: usize = super::arch::G_PACKET_BYTES;

const EINVAL: &str = "E16";
const ESRCH: &str = "E03";
const E2BIG: &str = "E07";

/// What to do with one packet.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Verdict {
    /// `gdbstub` handles it.
    Pass,
    /// The guard answers it with this reply.
    Reply(&'static str),
}

/// The session state the checks need.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Session {
    /// Cores of the machine: thread ids 1..=cores.
    pub cores: usize,
    /// The last `Hc` named every thread (`Hc-1`): `gdbstub` would take a
    /// following `s` as a step of all threads, which it cannot do.
    pub resume_all: bool,
    /// `QStartNoAckMode` was accepted: no `+`/`-` any more.
    pub no_ack: bool,
}

impl Session {
    pub fn new(cores: usize) -> Session {
        Session { cores, resume_all: false, no_ack: false }
    }

    /// Check `body` (between `$` and `#`, checksum verified).
    pub fn check(&self, body: &[u8]) -> Verdict {
        // gdbstub's prefixes for the commands this target enables, in the
        // order it tries them: the first that matches decides.
        type Check = fn(&Session, &[u8]) -> Result<(), &'static str>;
        const TABLE: &[(&str, Check)] = &[
            ("?", |_, b| empty(b)),
            ("D", |_, b| if b.is_empty() { Ok(()) } else { pid(b.strip_prefix(b";").ok_or(EINVAL)?) }),
            ("g", |_, b| empty(b)),
            ("G", |_, b| {
                let n = hex_bytes(b)?;
                if (G_MIN..=G_MAX).contains(&n) && n % 4 == 0 {
                    Ok(())
                } else {
                    Err(EINVAL)
                }
            }),
            ("H", Session::check_h),
            ("k", |_, b| empty(b)),
            ("m", |_, b| {
                let (addr, len) = split2(b, b',')?;
                address(addr)?;
                if number(len, 8)? as usize > MAX_READ {
                    return Err(E2BIG);
                }
                Ok(())
            }),
            ("M", |_, b| {
                let (addr, rest) = split2(b, b',')?;
                let (len, data) = split2(rest, b':')?;
                address(addr)?;
                number(len, 8)?;
                hex_bytes(data).map(drop)
            }),
            ("qAttached", |_, b| if b.is_empty() { Ok(()) } else { pid(b.strip_prefix(b":").ok_or(EINVAL)?) }),
            ("qfThreadInfo", |_, b| empty(b)),
            ("qsThreadInfo", |_, b| empty(b)),
            ("qSupported", |_, b| {
                let features = b.strip_prefix(b":").ok_or(EINVAL)?;
                if features.split(|&c| c == b';').any(|f| f.is_empty()) {
                    return Err(EINVAL);
                }
                Ok(())
            }),
            // gdbstub asks the target whether one thread is alive; 0 and
            // -1 name no one thread.
            ("T", |_, b| match thread(b)? {
                Thread { pid: None | Some(Id::Any | Id::One(_)), tid: Id::One(_) } => Ok(()),
                _ => Err(EINVAL),
            }),
            ("vKill", |_, b| pid(b.strip_prefix(b";").ok_or(EINVAL)?)),
            ("qXfer:features:read", |_, b| {
                let rest = b.strip_prefix(b":").ok_or(EINVAL)?;
                let (annex, range) = split2(rest, b':')?;
                if annex.is_empty() {
                    return Err(EINVAL);
                }
                let (offset, length) = split2(range, b',')?;
                number(offset, 16)?;
                number(length, 8).map(drop)
            }),
            ("c", |_, b| if b.is_empty() { Ok(()) } else { address(b) }),
            ("s", |s, b| {
                if !b.is_empty() {
                    address(b)?;
                }
                if s.resume_all {
                    Err(EINVAL)
                } else {
                    Ok(())
                }
            }),
            ("vCont", Session::check_vcont),
            ("X", |_, b| {
                let (addr, rest) = split2(b, b',')?;
                let colon = rest.iter().position(|&c| c == b':').ok_or(EINVAL)?;
                address(addr)?;
                number(&rest[..colon], 8)?;
                binary(&rest[colon + 1..])
            }),
            ("QStartNoAckMode", |_, b| empty(b)),
            ("p", |_, b| number(b, 8).map(drop)),
            ("P", |_, b| {
                let (reg, value) = split2(b, b'=')?;
                number(reg, 8)?;
                hex_bytes(value).map(drop)
            }),
            ("qRcmd", |_, b| if b.is_empty() { Ok(()) } else { hex_bytes(b.strip_prefix(b",").ok_or(EINVAL)?).map(drop) }),
            ("qThreadExtraInfo", |s, b| {
                let t = thread(b.strip_prefix(b",").ok_or(EINVAL)?)?;
                match t {
                    Thread { pid: None | Some(Id::One(_)), tid: Id::One(tid) } => s.core(tid),
                    _ => Err(EINVAL),
                }
            }),
            ("z", |_, b| breakpoint(b)),
            ("Z", |_, b| breakpoint(b)),
        ];
        for (prefix, check) in TABLE {
            if let Some(rest) = body.strip_prefix(prefix.as_bytes()) {
                return match check(self, rest) {
                    Ok(()) => Verdict::Pass,
                    Err(e) => Verdict::Reply(e),
                };
            }
        }
        // Unknown to this target: gdbstub answers with the empty reply.
        Verdict::Pass
    }

    /// Thread `tid` is a core.
    fn core(&self, tid: usize) -> Result<(), &'static str> {
        if (1..=self.cores).contains(&tid) {
            Ok(())
        } else {
            Err(ESRCH)
        }
    }

    /// `Hg<thread>` (registers and memory) or `Hc<thread>` (resumption).
    fn check_h(&self, b: &[u8]) -> Result<(), &'static str> {
        let (&op, rest) = b.split_first().ok_or(EINVAL)?;
        let t = thread(rest)?;
        match (op, t.tid) {
            // gdbstub cannot read registers of "all threads".
            (b'g', Id::All) => Err(EINVAL),
            (b'g' | b'c', Id::One(tid)) => self.core(tid),
            (b'g' | b'c', _) => Ok(()),
            _ => Err(EINVAL),
        }
    }

    /// `vCont?` or `vCont;ACTION[:THREAD]...` with actions c, C, s, S.
    fn check_vcont(&self, b: &[u8]) -> Result<(), &'static str> {
        if b == b"?" {
            return Ok(());
        }
        let actions = b.strip_prefix(b";").ok_or(EINVAL)?;
        for action in actions.split(|&c| c == b';') {
            let mut parts = action.splitn(2, |&c| c == b':');
            let kind = parts.next().unwrap_or_default();
            let step = match kind {
                b"c" => false,
                b"s" => true,
                [b'C', sig @ ..] => {
                    number(sig, 2)?;
                    false
                }
                [b'S', sig @ ..] => {
                    number(sig, 2)?;
                    true
                }
                // t (stop: non-stop mode only), r (range step: not
                // offered) and anything else.
                _ => return Err(EINVAL),
            };
            let tid = match parts.next() {
                None => Id::All,
                Some(t) => {
                    let t = thread(t)?;
                    if t.pid == Some(Id::Any) {
                        return Err(EINVAL);
                    }
                    // gdbstub reads thread 0 ("any") as every thread here.
                    if t.tid == Id::Any {
                        Id::All
                    } else {
                        t.tid
                    }
                }
            };
            match tid {
                Id::One(tid) => self.core(tid)?,
                // A step must name its one thread.
                _ if step => return Err(EINVAL),
                _ => {}
            }
        }
        Ok(())
    }

    /// Note a packet passed on, for the state later checks depend on.
    fn passed(&mut self, body: &[u8]) {
        if body == b"QStartNoAckMode" {
            self.no_ack = true;
        }
        if let Some(rest) = body.strip_prefix(b"Hc") {
            if let Ok(t) = thread(rest) {
                self.resume_all = t.tid == Id::All;
            }
        }
    }
}

// ----- the grammar's pieces (as strict as gdbstub's parsers or stricter) -----

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Id {
    All,
    Any,
    One(usize),
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Thread {
    pid: Option<Id>,
    tid: Id,
}

fn empty(b: &[u8]) -> Result<(), &'static str> {
    if b.is_empty() {
        Ok(())
    } else {
        Err(EINVAL)
    }
}

/// `b` split at the first `sep`.
fn split2(b: &[u8], sep: u8) -> Result<(&[u8], &[u8]), &'static str> {
    let at = b.iter().position(|&c| c == sep).ok_or(EINVAL)?;
    Ok((&b[..at], &b[at + 1..]))
}

/// 1 to `digits` hex digits.
fn number(b: &[u8], digits: usize) -> Result<u64, &'static str> {
    if b.is_empty() || b.len() > digits || !b.iter().all(u8::is_ascii_hexdigit) {
        return Err(EINVAL);
    }
    let text = std::str::from_utf8(b).map_err(|_| EINVAL)?;
    u64::from_str_radix(text, 16).map_err(|_| EINVAL)
}

/// A 32-bit address: 1 to 8 hex digits.
fn address(b: &[u8]) -> Result<(), &'static str> {
    number(b, 8).map(drop)
}

/// Hex-encoded bytes (an even number of digits); how many bytes.
fn hex_bytes(b: &[u8]) -> Result<usize, &'static str> {
    if !b.len().is_multiple_of(2) || !b.iter().all(u8::is_ascii_hexdigit) {
        return Err(EINVAL);
    }
    Ok(b.len() / 2)
}

/// Binary data with `}` escapes: every `}` followed by a byte.
fn binary(b: &[u8]) -> Result<(), &'static str> {
    let mut i = 0;
    while i < b.len() {
        i += if b[i] == b'}' { 2 } else { 1 };
    }
    if i == b.len() {
        Ok(())
    } else {
        Err(EINVAL)
    }
}

/// A process id: non-zero hex.
fn pid(b: &[u8]) -> Result<(), &'static str> {
    match number(b, 8)? {
        0 => Err(EINVAL),
        _ => Ok(()),
    }
}

fn id(b: &[u8]) -> Result<Id, &'static str> {
    match b {
        b"-1" => Ok(Id::All),
        b"0" => Ok(Id::Any),
        _ => match number(b, 8)? {
            0 => Err(EINVAL),
            n => Ok(Id::One(n as usize)),
        },
    }
}

/// `TID` or `pPID[.TID]` (a missing TID is every thread).
fn thread(b: &[u8]) -> Result<Thread, &'static str> {
    match b.strip_prefix(b"p") {
        Some(rest) => {
            let mut parts = rest.split(|&c| c == b'.');
            let pid = id(parts.next().unwrap_or_default())?;
            let tid = match parts.next() {
                Some(t) => id(t)?,
                None => Id::All,
            };
            if parts.next().is_some() {
                return Err(EINVAL);
            }
            Ok(Thread { pid: Some(pid), tid })
        }
        None => Ok(Thread { pid: None, tid: id(b)? }),
    }
}

/// `TYPE,ADDR,KIND` of `z`/`Z`.
fn breakpoint(b: &[u8]) -> Result<(), &'static str> {
    let (kind, rest) = split2(b, b',')?;
    let (addr, size) = split2(rest, b',')?;
    number(kind, 2)?;
    address(addr)?;
    number(size, 8).map(drop)
}

// ----- the connection -----

/// Where the receiver is in a packet.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Rx {
    /// Between packets.
    Idle,
    /// After `$`.
    Body,
    /// After `#`, and after the first checksum digit.
    Sum1,
    Sum2(u8),
}

/// The connection `gdbstub` sees: GDB's, with the guard in between.
pub struct Guarded<C> {
    conn: C,
    pub session: Session,
    /// Checked packets (and interrupts) for gdbstub.
    ready: VecDeque<u8>,
    rx: Rx,
    /// The body being received; longer than the packet buffer allows and
    /// it is only counted (`overflow`).
    body: Vec<u8>,
    overflow: bool,
    /// The packet being sent (from its `$`), and the last one sent whole.
    sending: Option<Vec<u8>>,
    last_sent: Vec<u8>,
    /// Longest body passed on: gdbstub's packet buffer less `$`, `#` and
    /// the checksum.
    max_body: usize,
}

impl<C: ConnectionExt> Guarded<C> {
    pub fn new(conn: C, cores: usize, packet_buffer: usize) -> Guarded<C> {
        Guarded {
            conn,
            session: Session::new(cores),
            ready: VecDeque::new(),
            rx: Rx::Idle,
            body: Vec::new(),
            overflow: false,
            sending: None,
            last_sent: Vec::new(),
            max_body: packet_buffer.saturating_sub(4),
        }
    }

    /// Take one byte from GDB.
    fn feed(&mut self, byte: u8) -> Result<(), C::Error> {
        match self.rx {
            Rx::Idle => match byte {
                b'$' => {
                    self.body.clear();
                    self.overflow = false;
                    self.rx = Rx::Body;
                }
                // GDB rejected our last packet: send it again.
                b'-' if !self.last_sent.is_empty() && !self.session.no_ack => {
                    let again = self.last_sent.clone();
                    self.conn.write_all(&again)?;
                    self.conn.flush()?;
                }
                // Ctrl-C.
                0x03 => self.ready.push_back(byte),
                // Acknowledgements, and noise between packets.
                _ => {}
            },
            Rx::Body => match byte {
                b'#' => self.rx = Rx::Sum1,
                // A new packet before this one ended: this one is lost.
                b'$' => {
                    self.body.clear();
                    self.overflow = false;
                }
                _ if self.body.len() >= self.max_body => self.overflow = true,
                _ => self.body.push(byte),
            },
            Rx::Sum1 => self.rx = Rx::Sum2(byte),
            Rx::Sum2(first) => {
                self.rx = Rx::Idle;
                self.packet([first, byte])?;
            }
        }
        Ok(())
    }

    /// A whole packet arrived, with checksum digits `sum`.
    fn packet(&mut self, sum: [u8; 2]) -> Result<(), C::Error> {
        let expected = self.body.iter().fold(0u8, |a, &b| a.wrapping_add(b));
        let sum_ok = std::str::from_utf8(&sum).ok().and_then(|s| u8::from_str_radix(s, 16).ok()) == Some(expected)
            && sum.iter().all(u8::is_ascii_hexdigit);
        if !sum_ok && !self.overflow {
            if self.session.no_ack {
                // GDB will not send it again: say it failed.
                return self.reply(EINVAL);
            }
            self.conn.write(b'-')?;
            return self.conn.flush();
        }
        if self.overflow {
            return self.reply(E2BIG);
        }
        match self.session.check(&self.body) {
            Verdict::Pass => {
                self.session.passed(&self.body);
                self.ready.push_back(b'$');
                self.ready.extend(self.body.iter().copied());
                self.ready.push_back(b'#');
                self.ready.extend(sum);
                Ok(())
            }
            Verdict::Reply(reply) => self.reply(reply),
        }
    }

    /// Acknowledge the packet received and answer it with `reply`.
    fn reply(&mut self, reply: &str) -> Result<(), C::Error> {
        if !self.session.no_ack {
            self.conn.write(b'+')?;
        }
        let sum = reply.bytes().fold(0u8, |a, b| a.wrapping_add(b));
        let packet = format!("${reply}#{sum:02x}");
        self.write_all(packet.as_bytes())?;
        self.conn.flush()
    }

    /// Keep a copy of a packet being sent, for a retransmission.
    fn note_sent(&mut self, byte: u8) {
        match (&mut self.sending, byte) {
            (None, b'$') => self.sending = Some(vec![byte]),
            (None, _) => {}
            (Some(p), _) => {
                p.push(byte);
                let n = p.len();
                if n >= 4 && p[n - 3] == b'#' {
                    self.last_sent = self.sending.take().unwrap_or_default();
                }
            }
        }
    }
}

impl<C: ConnectionExt> Connection for Guarded<C> {
    type Error = C::Error;

    fn write(&mut self, byte: u8) -> Result<(), C::Error> {
        self.note_sent(byte);
        self.conn.write(byte)
    }

    fn write_all(&mut self, buf: &[u8]) -> Result<(), C::Error> {
        for &b in buf {
            self.note_sent(b);
        }
        self.conn.write_all(buf)
    }

    fn flush(&mut self) -> Result<(), C::Error> {
        self.conn.flush()
    }

    fn on_session_start(&mut self) -> Result<(), C::Error> {
        self.conn.on_session_start()
    }
}

impl<C: ConnectionExt> ConnectionExt for Guarded<C> {
    fn read(&mut self) -> Result<u8, C::Error> {
        loop {
            if let Some(b) = self.ready.pop_front() {
                return Ok(b);
            }
            let b = self.conn.read()?;
            self.feed(b)?;
        }
    }

    fn peek(&mut self) -> Result<Option<u8>, C::Error> {
        loop {
            if let Some(&b) = self.ready.front() {
                return Ok(Some(b));
            }
            if self.conn.peek()?.is_none() {
                return Ok(None);
            }
            let b = self.conn.read()?;
            self.feed(b)?;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(body: &str) -> Verdict {
        Session::new(2).check(body.as_bytes())
    }

    #[test]
    fn the_grammar_passes_what_gdb_sends_and_refuses_what_gdbstub_cannot_take() {
        for ok in [
            "?", "g", "Hg0", "Hg1", "Hgp1.2", "Hc-1", "Hc0", "Hc2", "m88000000,4", "M88000100,4:deadbeef",
            "qSupported:multiprocess-;swbreak+;hwbreak+;vContSupported+", "qXfer:features:read:target.xml:0,ffb",
            "qXfer:features:read:other.xml:0,ffb", "vCont?", "vCont;c", "vCont;s:1;c", "vCont;C05:2", "vCont;c:-1",
            "vCont;c:0", "T1", "Tp1.2", "T9", "qThreadExtraInfo,2", "Z0,88000006,2", "z1,88000006,2", "p10",
            "P10=0c000088", "qRcmd,636f726573", "qRcmd", "X88000000,2:a}]", "s", "c", "c88000000", "D", "D;1",
            "vKill;1", "k", "QStartNoAckMode", "qAttached:1", "qTStatus", "vMustReplyEmpty", "qC",
        ] {
            assert_eq!(check(ok), Verdict::Pass, "{ok}");
        }
        for (bad, reply) in [
            ("T0", EINVAL), ("T-1", EINVAL), ("Tp1", EINVAL), ("T", EINVAL), ("Hg-1", EINVAL), ("Hx1", EINVAL),
            ("Hg3", ESRCH), ("Hc9", ESRCH), ("vCont;s:0", EINVAL), ("vCont;s", EINVAL), ("vCont;s:-1", EINVAL),
            ("vCont;s:5", ESRCH), ("vCont;c:5", ESRCH), ("vCont;t", EINVAL), ("vCont;r0,4:1", EINVAL),
            ("vCont", EINVAL), ("vCont;", EINVAL), ("vCont;c:", EINVAL), ("vCont;c:p0.1", EINVAL),
            ("vContX", EINVAL), ("qThreadExtraInfo,0", EINVAL), ("qThreadExtraInfo,3", ESRCH),
            ("qThreadExtraInfo", EINVAL), ("m0,1000000000", EINVAL), ("m100000000,4", EINVAL),
            ("m88000000,801", E2BIG), ("m,4", EINVAL), ("m88000000", EINVAL), ("Mx,1:00", EINVAL),
            ("M0,1:0", EINVAL), ("G00", EINVAL), ("g1", EINVAL), ("?x", EINVAL), ("qSupported", EINVAL),
            ("qSupported:a;;b", EINVAL), ("qXfer:features:read:target.xml:0", EINVAL),
            ("qXfer:features:read::0,10", EINVAL), ("qXfer:features:readX", EINVAL), ("D;0", EINVAL),
            ("Dx", EINVAL), ("vKill", EINVAL), ("vKill;0", EINVAL), ("Z0,100000000,2", EINVAL),
            ("Z0,88000000", EINVAL), ("z,1,2", EINVAL), ("p", EINVAL), ("pxyz", EINVAL), ("P10", EINVAL),
            ("P10=1", EINVAL), ("qRcmd,6", EINVAL), ("X0,1:}", EINVAL), ("k1", EINVAL), ("qfThreadInfo1", EINVAL),
            ("QStartNoAckMode1", EINVAL), ("s1x", EINVAL), ("qAttached:0", EINVAL),
        ] {
            assert_eq!(check(bad), Verdict::Reply(reply), "{bad}");
        }
        let all = Session { resume_all: true, ..Session::new(2) };
        assert_eq!(all.check(b"s"), Verdict::Reply(EINVAL));
        assert_eq!(all.check(b"c"), Verdict::Pass);
    }

    #[test]
    fn the_session_follows_hc_and_no_ack_mode() {
        let mut s = Session::new(4);
        s.passed(b"Hc-1");
        assert!(s.resume_all);
        s.passed(b"Hc3");
        assert!(!s.resume_all);
        s.passed(b"QStartNoAckMode");
        assert!(s.no_ack);
    }
}
