//! One instance's outgoing mail and its conversion to and from the wire.
//!
//! Owns: this core's [`Mailbox`] end, the queue of [`Post`]s waiting for
//! room in a ring (nothing is dropped when a ring is full: a post waits
//! here and goes with the next flush), their counters ([`PostStats`]), and
//! the conversion between posts,
//! vCPU records and the mailbox's wire [`Message`] (the `Migrate` reason
//! byte and the engine's word). Must not touch: the wire format itself
//! (`message`), the in-flight copies of migrating vCPUs (the engine's: a
//! queued `Migrate` post only names one, and [`Outbox::flush`] asks the
//! engine for it when its turn comes), any other core's bookkeeping.
//!
//! Posts are small on purpose: a whole vCPU (352 bytes) is kept once, in
//! the engine's in-flight table, not once per queued copy.

use crate::mailbox::{Mailbox, MailboxStats};
use crate::message::Message;
use crate::port::{MigrationHardware, Shared};
use crate::MAX_CORES;
use heapless::Deque;
use spumone_kernel::vcpu::{AwayReason, RunState, Vcpu, VirtualTimer};

/// Posts waiting for room in a ring, per destination
/// core. Enough for every vCPU of the machine to be migrating to, started
/// on, and asked back from one core at once: 3 x 16.
pub const OUTBOX: usize = 48;

// The outbox holds 4 x 48 posts: keep each a few words, never a vCPU.
static_assertions::const_assert!(core::mem::size_of::<Post>() <= 12);

/// What one instance tells another about one vCPU.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Post {
    /// A vCPU moves: departure (home -> away) or return (away -> home).
    /// The vCPU itself is the engine's in-flight copy of this `epoch`,
    /// read when the post is sent.
    Migrate { guest: u8, vcpu: u8, epoch: u16, departure: bool },
    VirtualIpi { guest: u8, vcpu: u8, message: u8 },
    StartVcpu { guest: u8, vcpu: u8, entry: u32, arg: u32 },
    /// Send this vCPU home (its RTOS went idle).
    ReturnRequest { guest: u8, vcpu: u8 },
    /// The destination has this vCPU, of this migration epoch (its source
    /// may forget its copy).
    MigrateAck { guest: u8, vcpu: u8, epoch: u16 },
    /// The destination read this migration after it expired and did not
    /// take the vCPU (its source takes it back).
    MigrateDeclined { guest: u8, vcpu: u8, epoch: u16 },
    /// Guest `guest` exited with `status` (vCPU 0 names it).
    GuestExit { guest: u8, vcpu: u8, status: u32 },
}

impl Post {
    /// The vCPU the post is about.
    pub fn target(&self) -> (u8, u8) {
        match *self {
            Post::Migrate { guest, vcpu, .. }
            | Post::VirtualIpi { guest, vcpu, .. }
            | Post::StartVcpu { guest, vcpu, .. }
            | Post::ReturnRequest { guest, vcpu }
            | Post::GuestExit { guest, vcpu, .. }
            | Post::MigrateAck { guest, vcpu, .. }
            | Post::MigrateDeclined { guest, vcpu, .. } => (guest, vcpu),
        }
    }
}

/// A valid message received from another core.
// Lives only on the stack between the ring and the instance (and there is
// no heap to box the vCPU in).
#[allow(clippy::large_enum_variant)]
#[derive(Clone, Copy, Debug)]
pub enum Incoming {
    /// A vCPU arrives (the destination half takes it, unless the sender's
    /// clock has passed `expires`).
    Migrate { vcpu: Vcpu, departure: bool, expires: u64 },
    /// Anything else (never a [`Post::Migrate`]).
    Post(Post),
}

/// Counters of the mailbox and of this queue.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct PostStats {
    pub mailbox: MailboxStats,
    /// Posts that waited because a ring was full.
    pub waited: u64,
    /// Posts that could not even be queued (the queue was full too); the
    /// instance keeps them in its own state and retries.
    pub queue_full: u64,
    /// Posts the mailbox refused as invalid (a bug, never expected).
    pub refused: u64,
    /// `Migrate` posts whose copy was no longer in flight when their turn
    /// came (acknowledged, or the vCPU came back, while the post waited
    /// for room): nothing left to send, and nothing lost.
    pub withdrawn: u64,
    /// ICIs raised again for a ring still unread after [`ICI_RECHECK`].
    pub icis_repeated: u64,
}

/// This core's outgoing mail.
pub struct Outbox {
    mailbox: Mailbox,
    queues: [Deque<Post, OUTBOX>; MAX_CORES],
    /// Bit `to`: some post waits in `queues[to]` (kept with them, so an
    /// idle entry need not look).
    queued_rings: u8,
    /// Flushes that found nothing for each core, for the republishing rule.
    idle_flushes: [u32; MAX_CORES],
    /// Per destination core: when to look whether it has read the
    /// messages before ring position `.1`, sent with an ICI (ICIs are not
    /// acknowledged, and one can be lost: [`ICI_RECHECK`]).
    recheck_at: [Option<(u64, u32)>; MAX_CORES],
    /// Per destination core whose ring refused mail: since when its
    /// receiver's tail index has read `stuck_tail` (the receiver has read
    /// nothing since). Mail waiting for such a ring is tried again after
    /// half that time, at least [`MAIL_RETRY`] and at most
    /// [`MAIL_RETRY_MAX`]: a receiver that does not read (busy with an
    /// RTOS, stalled, dead) would otherwise cost the sender's core, which
    /// may be the RTOS's, an entry every 10 us that cannot succeed, while
    /// one that reads, however slowly, keeps its senders at the first gap.
    stuck_since: [Option<u64>; MAX_CORES],
    stuck_tail: [u32; MAX_CORES],
    /// Something was queued since the last flush: it has not been tried
    /// yet, so it goes now (mail that was tried and found no room waits
    /// for its retry time instead).
    untried: bool,
    counters: OutboxCounters,
}

/// An idle ring's head index is written again every this many flushes
/// (each entry of the instance flushes).
pub const REPUBLISH_EVERY: u32 = 16;

/// How long after raising a core's ICI a sender looks whether that core
/// has read its ring (1 ms), and again every 1 ms while it has not: each
/// time the ICI is raised again. The hardware does not acknowledge an
/// ICI, and mail whose ICI was lost would otherwise wait for the next
/// one, for ever if none comes. The gap does not grow: an ICI raised again
/// can be lost too, and a receiver waiting on a doubling gap was stranded
/// for tens of ms (`tests/faults.rs`, 90 % lost). A look costs two reads
/// at the next entry that falls due; the sender's timer is armed for it
/// only when nothing else would wake its core.
pub const ICI_RECHECK: u64 = 600_000;

/// How long mail that could not be sent (a full or not-ready ring) waits
/// at least before the next try (10 us), and at most (1.3 ms, once its
/// receiver has read nothing for 2.6 ms).
pub const MAIL_RETRY: u64 = 6_000;
pub const MAIL_RETRY_MAX: u64 = 128 * MAIL_RETRY;

/// The outbox's own counters (64-bit words in this order in core-local
/// memory: `spumone_kernel::counters`); [`PostStats`] has the same fields.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[repr(C)]
pub struct OutboxCounters {
    pub waited: u64,
    pub queue_full: u64,
    pub refused: u64,
    pub withdrawn: u64,
    /// ICIs raised again because their ring was still unread
    /// [`ICI_RECHECK`] after the last one.
    pub icis_repeated: u64,
}
spumone_kernel::word_counters!(OutboxCounters { waited: u64, queue_full: u64, refused: u64, withdrawn: u64, icis_repeated: u64 });

impl OutboxCounters {
    pub const ZERO: OutboxCounters =
        OutboxCounters { waited: 0, queue_full: 0, refused: 0, withdrawn: 0, icis_repeated: 0 };
}

impl PostStats {
    /// The counters a reader found in an instance's memory, put together.
    pub fn from_parts(mailbox: MailboxStats, c: OutboxCounters) -> PostStats {
        PostStats {
            mailbox,
            waited: c.waited,
            queue_full: c.queue_full,
            refused: c.refused,
            withdrawn: c.withdrawn,
            icis_repeated: c.icis_repeated,
        }
    }
}

impl Outbox {
    /// An empty outbox of no core (every send fails until
    /// [`Outbox::reset`] names one).
    pub const fn new() -> Outbox {
        Outbox {
            mailbox: Mailbox::new(0, 0),
            queues: [const { Deque::new() }; MAX_CORES],
            queued_rings: 0,
            idle_flushes: [0; MAX_CORES],
            recheck_at: [None; MAX_CORES],
            stuck_since: [None; MAX_CORES],
            stuck_tail: [0; MAX_CORES],
            untried: false,
            counters: OutboxCounters::ZERO,
        }
    }

    /// Empty it in place for core `core` of `cores`.
    pub fn reset(&mut self, core: u8, cores: u8) {
        self.mailbox = Mailbox::new(core as usize, cores as usize);
        self.queues.iter_mut().for_each(Deque::clear);
        self.queued_rings = 0;
        self.idle_flushes = [0; MAX_CORES];
        self.recheck_at = [None; MAX_CORES];
        self.stuck_since = [None; MAX_CORES];
        self.stuck_tail = [0; MAX_CORES];
        self.untried = false;
        self.counters = OutboxCounters::ZERO;
    }

    /// Set up the rings this core receives on.
    pub fn init<H: MigrationHardware>(&mut self, hw: &mut H) {
        self.mailbox.init(&mut Shared(hw));
    }

    /// Where the counters are (a board publishes their location).
    pub fn counters_ref(&self) -> (&MailboxStats, &OutboxCounters) {
        (self.mailbox.stats_ref(), &self.counters)
    }

    pub fn stats(&self) -> PostStats {
        PostStats {
            mailbox: self.mailbox.stats(),
            waited: self.counters.waited,
            queue_full: self.counters.queue_full,
            refused: self.counters.refused,
            withdrawn: self.counters.withdrawn,
            icis_repeated: self.counters.icis_repeated,
        }
    }

    /// When this outbox next needs its core to try again mail that waits
    /// for room: `now` plus the current retry gap.
    pub fn next_deadline(&self, now: u64) -> Option<u64> {
        let stuck = self.stuck_since.iter().flatten().map(|&t| now.saturating_sub(t)).min().unwrap_or(0);
        let gap = (stuck / 2).clamp(MAIL_RETRY, MAIL_RETRY_MAX);
        self.has_waiting().then_some(now + gap)
    }

    /// When a ring whose ICI may have been lost is next to be looked at
    /// ([`ICI_RECHECK`]): any flush from then on does it, so a core that
    /// enters anyway needs no timer of its own for it.
    pub fn next_recheck(&self) -> Option<u64> {
        self.recheck_at.iter().flatten().map(|&(t, _)| t).min()
    }

    /// Whether posts are waiting for room.
    pub fn has_waiting(&self) -> bool {
        self.queued_rings != 0
    }

    /// Whether mail is due to be tried at the next entry at `now`:
    /// something was queued since the last flush, or a ring refused mail
    /// and its receiver has read nothing for less than [`MAIL_RETRY`]
    /// (tried again at every entry, as a ring is often full only for a
    /// moment). Mail for a ring stuck longer waits for its retry time
    /// ([`Outbox::next_deadline`]).
    pub fn mail_due(&self, now: u64) -> bool {
        self.untried || self.stuck_since.iter().flatten().any(|&t| now < t + MAIL_RETRY)
    }

    /// From when mail stays not due (`mail_due` false) until something is
    /// queued or a ring refuses mail again: None while something is
    /// untried; else once every stuck ring has waited [`MAIL_RETRY`].
    pub fn mail_quiet_from(&self) -> Option<u64> {
        if self.untried {
            return None;
        }
        Some(self.stuck_since.iter().flatten().map(|&t| t + MAIL_RETRY).max().unwrap_or(0))
    }

    /// Keep `queued_rings` right after posts to core `to` left its queue.
    fn note_queue(&mut self, to: usize) {
        if self.queues[to].is_empty() {
            self.queued_rings &= !(1 << to);
        }
    }

    /// Whether anything waits for core `to`.
    fn busy(&self, to: usize) -> bool {
        self.queued_rings & (1 << to) != 0
    }

    /// Whether a post for core `to` can be queued now.
    pub fn has_room(&self, to: u8) -> bool {
        self.queues.get(to as usize).is_some_and(|q| !q.is_full())
    }

    /// Queue `post` for core `to`; [`Outbox::flush`] sends it. Returns
    /// false (counted) if the queue is full: callers check
    /// [`Outbox::has_room`] first for anything they cannot keep.
    pub fn queue(&mut self, to: u8, post: Post) -> bool {
        match self.queues.get_mut(to as usize) {
            Some(q) => {
                let ok = q.push_back(post).is_ok();
                if ok {
                    self.queued_rings |= 1 << to;
                    self.untried = true;
                }
                if !ok {
                    self.counters.queue_full += 1;
                }
                ok
            }
            None => false,
        }
    }

    /// Send what fits; raise one ICI per core that got mail (or whose full
    /// ring needs draining). A queued `Migrate` is turned into its message
    /// by `migrating(to, guest, vcpu, epoch, departure)` (from the engine's
    /// in-flight copy; `None`: no copy any more, the post is withdrawn);
    /// each one sent is told to `migrated(guest, vcpu, epoch, clock after
    /// its ICI)`. Returns how many messages went out.
    pub fn flush<H: MigrationHardware>(
        &mut self,
        hw: &mut H,
        mut migrating: impl FnMut(u8, u8, u8, u16, bool) -> Option<Message>,
        mut migrated: impl FnMut(u8, u8, u16, u64),
    ) -> u32 {
        self.untried = false;
        let mut sent = 0;
        for to in 0..self.queues.len() {
            if to == self.mailbox.me() || to >= self.mailbox.cores() {
                continue;
            }
            if let Some((at, before)) = self.recheck_at[to].filter(|&(t, _)| hw.now() >= t) {
                // An ICI raised a while ago: has core `to` read the mail
                // it announced? If not, the ICI may have been lost: raise
                // it again. (Two reads of its tail index.)
                let head = self.mailbox.next_position(to).unwrap_or(before);
                self.recheck_at[to] = match self.mailbox.read_past(&mut Shared(hw), to, before.wrapping_sub(1)) {
                    // Read; look again for what was sent since, if any.
                    Some(true) => (head != before).then_some((hw.now() + ICI_RECHECK, head)),
                    unread => {
                        if unread == Some(false) {
                            self.counters.icis_repeated += 1;
                            hw.send_ici(to);
                        }
                        Some((at.max(hw.now()) + ICI_RECHECK, head))
                    }
                };
            }
            if !self.busy(to) {
                self.stuck_since[to] = None;
                // Nothing to send. Heal, now and then, a head index
                // scribbled on since the last send: the receiver would not
                // see messages behind it until our next send. (Every send
                // republishes it anyway; this bounds the wait when there is
                // none, at the cost of two shared-memory writes every
                // REPUBLISH_EVERY idle flushes rather than every flush.)
                self.idle_flushes[to] = self.idle_flushes[to].wrapping_add(1);
                if self.idle_flushes[to] % REPUBLISH_EVERY == 0 {
                    self.mailbox.republish(&mut Shared(hw), to);
                }
                continue;
            }
            let mut kicked = false;
            // The migrations that went, told once their ICI is out (with
            // the clock then: the end of their source half).
            let mut went: heapless::Vec<(u8, u8, u16), OUTBOX> = heapless::Vec::new();
            while let Some(post) = self.queues[to].front().copied() {
                let message = match post {
                    Post::Migrate { guest, vcpu, epoch, departure } => match migrating(to as u8, guest, vcpu, epoch, departure) {
                        Some(m) => m,
                        None => {
                            self.queues[to].pop_front();
                            self.counters.withdrawn += 1;
                            continue;
                        }
                    },
                    other => small_message(&other),
                };
                match self.mailbox.send(&mut Shared(hw), to, &message) {
                    Ok(_) => {
                        self.queues[to].pop_front();
                        sent += 1;
                        kicked = true;
                        if let Post::Migrate { guest, vcpu, epoch, .. } = post {
                            let _ = went.push((guest, vcpu, epoch));
                        }
                    }
                    Err(e) if e.is_retryable() => {
                        // Full or not ready: wait here, and kick the
                        // receiver so it drains its ring.
                        self.counters.waited += 1;
                        kicked = true;
                        break;
                    }
                    Err(_) => {
                        // A message the mailbox refuses outright would block
                        // the queue forever: drop it, counted.
                        self.queues[to].pop_front();
                        self.counters.refused += 1;
                    }
                }
            }
            self.note_queue(to);
            // Mail left means the ring refused it: note since when the
            // receiver's tail has stayed where this refusal found it.
            if self.busy(to) {
                let tail = self.mailbox.seen_tail(to).unwrap_or(0);
                if self.stuck_since[to].is_none() || tail != self.stuck_tail[to] {
                    self.stuck_since[to] = Some(hw.now());
                    self.stuck_tail[to] = tail;
                }
            } else {
                self.stuck_since[to] = None;
            }
            if kicked {
                hw.send_ici(to);
                let head = self.mailbox.next_position(to).unwrap_or(0);
                self.recheck_at[to].get_or_insert((hw.now() + ICI_RECHECK, head));
            }
            if !went.is_empty() {
                let at = hw.now();
                for (guest, vcpu, epoch) in went {
                    migrated(guest, vcpu, epoch, at);
                }
            }
        }
        sent
    }

    /// The next valid message from core `from`, if any. Invalid ones are
    /// rejected and counted by the mailbox and skipped here.
    pub fn receive<H: MigrationHardware>(&mut self, hw: &mut H, from: u8) -> Option<Incoming> {
        // Bounded: a ring holds few slots; a scribbled ring cannot keep us.
        for _ in 0..64 {
            match self.mailbox.receive(&mut Shared(hw), from as usize) {
                Ok(Some(m)) => match from_message(&m) {
                    Some(p) => return Some(p),
                    None => continue,
                },
                Ok(None) => return None,
                Err(_) => continue,
            }
        }
        None
    }
}

impl Default for Outbox {
    fn default() -> Outbox {
        Outbox::new()
    }
}

/// The message of a post that carries no vCPU.
fn small_message(post: &Post) -> Message {
    match *post {
        Post::VirtualIpi { guest, vcpu, message } => Message::VirtualIpi { guest, vcpu, message },
        Post::StartVcpu { guest, vcpu, entry, arg } => Message::StartVcpu { guest, vcpu, entry, arg },
        Post::ReturnRequest { guest, vcpu } => Message::ReturnRequest { guest, vcpu },
        Post::MigrateAck { guest, vcpu, epoch } => Message::MigrateAck { guest, vcpu, epoch },
        Post::MigrateDeclined { guest, vcpu, epoch } => Message::MigrateDeclined { guest, vcpu, epoch },
        Post::GuestExit { guest, vcpu, status } => Message::GuestExit { guest, vcpu, status },
        Post::Migrate { .. } => unreachable!("a Migrate post is resolved through the in-flight table"),
    }
}

/// The `Migrate` message that moves `v` (departure or return), not to be
/// taken after the sender's clock reads `expires`.
pub fn migrate_message(v: &Vcpu, departure: bool, expires: u64) -> Message {
    Message::Migrate {
        guest: v.guest,
        vcpu: v.id,
        reason: encode_reason(v, departure),
        context: v.ctx,
        // Low half: the pending bits; high half: the vCPU's migration
        // epoch, which lets a destination tell a resent copy from news.
        pending_virqs: v.pending as u32 | (v.epoch as u32) << 16,
        timer_period: v.timer.period as u32,
        timer_next_deadline: v.timer.next,
        timer_oneshot: v.timer.oneshot,
        expires,
    }
}

fn from_message(m: &Message) -> Option<Incoming> {
    Some(match *m {
        Message::Migrate {
            guest,
            vcpu,
            reason,
            context,
            pending_virqs,
            timer_period,
            timer_next_deadline,
            timer_oneshot,
            expires,
        } => {
            let (away, departure, state) = decode_reason(reason)?;
            let v = Vcpu {
                guest,
                id: vcpu,
                state,
                ctx: context,
                pending: pending_virqs as u16,
                epoch: (pending_virqs >> 16) as u16,
                timer: VirtualTimer { period: timer_period as u64, next: timer_next_deadline, oneshot: timer_oneshot },
                away,
                return_wanted: false,
            };
            Incoming::Migrate { vcpu: v, departure, expires }
        }
        Message::VirtualIpi { guest, vcpu, message } => Incoming::Post(Post::VirtualIpi { guest, vcpu, message }),
        Message::StartVcpu { guest, vcpu, entry, arg } => Incoming::Post(Post::StartVcpu { guest, vcpu, entry, arg }),
        Message::ReturnRequest { guest, vcpu } => Incoming::Post(Post::ReturnRequest { guest, vcpu }),
        Message::MigrateAck { guest, vcpu, epoch } => Incoming::Post(Post::MigrateAck { guest, vcpu, epoch }),
        Message::MigrateDeclined { guest, vcpu, epoch } => {
            Incoming::Post(Post::MigrateDeclined { guest, vcpu, epoch })
        }
        Message::GuestExit { guest, vcpu, status } => Incoming::Post(Post::GuestExit { guest, vcpu, status }),
        _ => return None,
    })
}

/// The migration's reason byte: bits 1:0 why the vCPU is away (3 = it is
/// going home), bit 5 its guest exited, bit 6 departure, bit 7 the vCPU
/// was idle.
fn encode_reason(v: &Vcpu, departure: bool) -> u8 {
    let away = v.away.map_or(3, |r| r.code());
    let idle = (v.state == RunState::Idle) as u8;
    let exited = (v.state == RunState::Exited) as u8;
    away | (exited << 5) | ((departure as u8) << 6) | (idle << 7)
}

fn decode_reason(r: u8) -> Option<(Option<AwayReason>, bool, RunState)> {
    let away = match r & 3 {
        3 => None,
        c => Some(AwayReason::from_code(c)?),
    };
    let state = match (r >> 7 & 1, r >> 5 & 1) {
        (_, 1) => RunState::Exited,
        (1, _) => RunState::Idle,
        _ => RunState::Runnable,
    };
    Some((away, r & 0x40 != 0, state))
}

#[cfg(test)]
mod tests {
    use super::*;
    use spumone_kernel::vcpu::VcpuContext;

    fn vcpu(state: RunState, away: Option<AwayReason>) -> Vcpu {
        let ctx = VcpuContext { pc: 0x8c00_1000, virtual_imask: 7, ..VcpuContext::default() };
        Vcpu {
            guest: 1,
            id: 2,
            state,
            ctx,
            pending: 0x0103,
            timer: VirtualTimer { period: 600_000, next: 1_234_567_890_123, oneshot: true },
            away,
            return_wanted: true,
            epoch: 0xbeef,
        }
    }

    #[test]
    fn a_migrated_vcpu_arrives_as_it_left_but_for_local_bookkeeping() {
        for state in [RunState::Runnable, RunState::Idle, RunState::Exited] {
            for away in [None, Some(AwayReason::RtosActive), Some(AwayReason::KernelEntry), Some(AwayReason::DelayBound)] {
                for departure in [false, true] {
                    let v = vcpu(state, away);
                    let expires = 0x1234_5678_9abc;
                    let Some(Incoming::Migrate { vcpu: w, departure: d, expires: e }) =
                        from_message(&migrate_message(&v, departure, expires))
                    else {
                        panic!("not a migration")
                    };
                    assert_eq!((d, e), (departure, expires));
                    assert_eq!((w.guest, w.id, w.state, w.ctx, w.pending, w.timer, w.away, w.epoch),
                        (v.guest, v.id, v.state, v.ctx, v.pending, v.timer, v.away, v.epoch));
                    assert!(!w.return_wanted, "not shipped");
                }
            }
        }
    }
}
