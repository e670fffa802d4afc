//! The instance's side of the mailbox: what it sends other cores, queued
//! until the ring to that core has room, and what it receives, already
//! validated by `spumone-migration`.
//!
//! Owns: the outgoing queue (nothing is dropped when a ring is full: it
//! waits here and goes with the next flush) and the conversion between the
//! instance's [`Post`] and the mailbox's wire [`Message`]. Must not touch:
//! the wire format itself (that is `spumone-migration`'s), any other
//! core's bookkeeping.

use crate::hw::CoreHardware;
use crate::instance::{AwayReason, RunState, VirtualTimer, Vcpu};
use heapless::Deque;
use spumone_kernel::guest::{MAX_GUESTS, MAX_VCPUS};
use spumone_migration::mailbox::{Mailbox, MailboxStats, SharedMemory};
use spumone_migration::message::Message;

/// Messages other than IPIs waiting for room in a ring, per destination
/// core. Enough for every vCPU of the machine to be migrating to, started
/// on, and asked back from one core at once: 3 x 16.
const OUTBOX: usize = 48;

/// What one instance tells another about one vCPU.
#[derive(Clone, Copy, Debug)]
pub enum Post {
    /// A vCPU moves: departure (home -> away) or return (away -> home).
    Migrate { vcpu: Vcpu, departure: bool },
    VirtualIpi { guest: u8, vcpu: u8, message: u8 },
    StartVcpu { guest: u8, vcpu: u8, entry: u32, arg: u32 },
    /// Send this vCPU home (its RTOS went idle).
    ReturnRequest { guest: u8, vcpu: u8 },
    /// The destination has this vCPU (its source may forget its copy).
    MigrateAck { guest: u8, vcpu: u8 },
}

impl Post {
    /// The vCPU the post is about.
    pub fn target(&self) -> (u8, u8) {
        match *self {
            Post::Migrate { vcpu, .. } => (vcpu.guest, vcpu.id),
            Post::VirtualIpi { guest, vcpu, .. }
            | Post::StartVcpu { guest, vcpu, .. }
            | Post::ReturnRequest { guest, vcpu }
            | Post::MigrateAck { guest, vcpu } => (guest, vcpu),
        }
    }
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
}

/// The hardware's shared-memory access, as the mailbox wants it.
struct Shared<'a, H: CoreHardware>(&'a mut H);

impl<H: CoreHardware> SharedMemory for Shared<'_, H> {
    fn read_u32(&mut self, offset: u32) -> u32 {
        self.0.shared_read(offset)
    }
    fn write_u32(&mut self, offset: u32, value: u32) {
        self.0.shared_write(offset, value)
    }
}

pub struct PostOffice {
    mailbox: Mailbox,
    outbox: [Deque<Post, OUTBOX>; 4],
    /// Virtual IPIs waiting to be sent, per destination core, guest and
    /// vCPU: a bit per message. An IPI is a pending bit at its target, so
    /// two not yet sent are one: they wait here without bound on count and
    /// go after the queued posts (a forwarded IPI never overtakes the vCPU
    /// it follows).
    ipis: [[[u8; MAX_VCPUS]; MAX_GUESTS]; 4],
    waited: u64,
    queue_full: u64,
    refused: u64,
}

impl PostOffice {
    pub fn new(core: u8, cores: u8) -> PostOffice {
        PostOffice {
            mailbox: Mailbox::new(core as usize, cores as usize),
            outbox: Default::default(),
            ipis: [[[0; MAX_VCPUS]; MAX_GUESTS]; 4],
            waited: 0,
            queue_full: 0,
            refused: 0,
        }
    }

    /// Set up the rings this core receives on.
    pub fn init<H: CoreHardware>(&mut self, hw: &mut H) {
        self.mailbox.init(&mut Shared(hw));
    }

    pub fn stats(&self) -> PostStats {
        PostStats { mailbox: self.mailbox.stats(), waited: self.waited, queue_full: self.queue_full, refused: self.refused }
    }

    /// Whether posts are waiting for room.
    pub fn has_waiting(&self) -> bool {
        self.outbox.iter().any(|q| !q.is_empty()) || self.ipis.iter().flatten().flatten().any(|&m| m != 0)
    }

    /// Whether a post for core `to` can be queued now.
    pub fn has_room(&self, to: u8) -> bool {
        self.outbox.get(to as usize).is_some_and(|q| !q.is_full())
    }

    /// Queue `post` for core `to`; [`PostOffice::flush`] sends it.
    /// Returns false (counted) if the queue is full: callers check
    /// [`PostOffice::has_room`] first for anything they cannot keep.
    /// Virtual IPIs always fit.
    pub fn queue(&mut self, to: u8, post: Post) -> bool {
        if let Post::VirtualIpi { guest, vcpu, message } = post {
            return self.queue_ipi(to, guest, vcpu, message).is_some();
        }
        match self.outbox.get_mut(to as usize) {
            Some(q) => {
                let ok = q.push_back(post).is_ok();
                if !ok {
                    self.queue_full += 1;
                }
                ok
            }
            None => false,
        }
    }

    /// Queue virtual IPI `message` for (guest, vcpu) via core `to`:
    /// `Some(true)` if it is new, `Some(false)` if the same IPI was already
    /// waiting (the two are one, as at the target), `None` if the target
    /// does not exist.
    pub fn queue_ipi(&mut self, to: u8, guest: u8, vcpu: u8, message: u8) -> Option<bool> {
        let bits = self.ipis.get_mut(to as usize)?.get_mut(guest as usize)?.get_mut(vcpu as usize)?;
        if message >= 8 {
            return None;
        }
        let new = *bits & (1 << message) == 0;
        *bits |= 1 << message;
        Some(new)
    }

    /// Send what fits; raise one ICI per core that got mail (or whose
    /// full ring needs draining). Returns how many messages went out.
    pub fn flush<H: CoreHardware>(&mut self, hw: &mut H) -> u32 {
        let mut sent = 0;
        for to in 0..self.outbox.len() {
            if to == self.mailbox.me() || to >= self.mailbox.cores() {
                continue;
            }
            // Heal a head index scribbled on since the last send: the
            // receiver would not see messages behind it until our next send.
            self.mailbox.republish(&mut Shared(hw), to);
            let mut kicked = false;
            while let Some(post) = self.outbox[to].front().copied() {
                let message = to_message(&post);
                match self.mailbox.send(&mut Shared(hw), to, &message) {
                    Ok(_) => {
                        self.outbox[to].pop_front();
                        sent += 1;
                        kicked = true;
                    }
                    Err(e) if e.is_retryable() => {
                        // Full or not ready: wait here, and kick the
                        // receiver so it drains its ring.
                        self.waited += 1;
                        kicked = true;
                        break;
                    }
                    Err(_) => {
                        // A message the mailbox refuses outright would block
                        // the queue forever: drop it, counted.
                        self.outbox[to].pop_front();
                        self.refused += 1;
                    }
                }
            }
            // Then the IPIs, once the queue ahead of them has gone.
            if self.outbox[to].is_empty() {
                'ipis: for g in 0..MAX_GUESTS {
                    for v in 0..MAX_VCPUS {
                        while self.ipis[to][g][v] != 0 {
                            let m = self.ipis[to][g][v].trailing_zeros() as u8;
                            let message = Message::VirtualIpi { guest: g as u8, vcpu: v as u8, message: m };
                            match self.mailbox.send(&mut Shared(hw), to, &message) {
                                Ok(_) => {
                                    self.ipis[to][g][v] &= !(1 << m);
                                    sent += 1;
                                    kicked = true;
                                }
                                Err(e) if e.is_retryable() => {
                                    self.waited += 1;
                                    kicked = true;
                                    break 'ipis;
                                }
                                Err(_) => {
                                    self.ipis[to][g][v] &= !(1 << m);
                                    self.refused += 1;
                                }
                            }
                        }
                    }
                }
            }
            if kicked {
                hw.send_ici(to);
            }
        }
        sent
    }

    /// The next valid message from core `from`, if any. Invalid ones are
    /// rejected and counted by the mailbox and skipped here.
    pub fn receive<H: CoreHardware>(&mut self, hw: &mut H, from: u8) -> Option<Post> {
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

fn to_message(post: &Post) -> Message {
    match *post {
        Post::Migrate { vcpu, departure } => Message::Migrate {
            guest: vcpu.guest,
            vcpu: vcpu.id,
            reason: encode_reason(&vcpu, departure),
            context: vcpu.ctx,
            // Low half: the pending bits; high half: the vCPU's migration
            // epoch, which lets a destination tell a resent copy from news.
            pending_virqs: vcpu.pending as u32 | (vcpu.epoch as u32) << 16,
            timer_period: vcpu.timer.period as u32,
            timer_next_deadline: vcpu.timer.next,
            timer_oneshot: vcpu.timer.oneshot,
        },
        Post::VirtualIpi { guest, vcpu, message } => Message::VirtualIpi { guest, vcpu, message },
        Post::StartVcpu { guest, vcpu, entry, arg } => Message::StartVcpu { guest, vcpu, entry, arg },
        Post::ReturnRequest { guest, vcpu } => Message::ReturnRequest { guest, vcpu },
        Post::MigrateAck { guest, vcpu } => Message::MigrateAck { guest, vcpu },
    }
}

fn from_message(m: &Message) -> Option<Post> {
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
            Post::Migrate { vcpu: v, departure }
        }
        Message::VirtualIpi { guest, vcpu, message } => Post::VirtualIpi { guest, vcpu, message },
        Message::StartVcpu { guest, vcpu, entry, arg } => Post::StartVcpu { guest, vcpu, entry, arg },
        Message::ReturnRequest { guest, vcpu } => Post::ReturnRequest { guest, vcpu },
        Message::MigrateAck { guest, vcpu } => Post::MigrateAck { guest, vcpu },
        _ => return None,
    })
}

/// The migration's reason byte: bits 1:0 why the vCPU is away (3 = it is
/// going home), bit 6 departure, bit 7 the vCPU was idle.
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
