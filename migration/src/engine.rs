//! The vCPU migration engine: departure and return migration, each with
//! its source half (SPUMONE's `spm_cpu_migrate()`) and destination half
//! (`accept_immigrant()`), and the protocol that makes them survive a
//! damaged mailbox.
//!
//! Owns, for one core:
//! - the migrations this core has sent and not yet seen acknowledged (the
//!   in-flight table: the one copy of each departing vCPU, resent after
//!   [`RESEND_AFTER`] without word, taken back if its destination declines
//!   it or has not taken it by the time it expires, which the vCPU's claim
//!   word settles: `crate::claim`), and the per-vCPU epochs that let a
//!   destination take a resent copy once only;
//! - the cores a migration timed out on (nothing is shipped to them until
//!   they are heard from again);
//! - where this core's home vCPUs are while away, why, and when their
//!   return was last asked for (asked again after [`RESEND_AFTER`]);
//! - the source-half work dispatch-first still owes;
//! - the outgoing mail ([`crate::outbox`]) and this core's end of the
//!   mailbox under it.
//!
//! Must not touch: the run queue (the per-core instance takes a vCPU off
//! its core before [`Engine::depart`] or [`Engine::return_home`], and puts
//! an [`Arrival`] on it), virtual interrupts, the policies (they decide
//! who moves and when: `crate::policy`; the engine moves whom it is given),
//! any other core's state, and any hardware but [`MigrationHardware`].
//!
//! Migration is always between a vCPU's home core and one other core:
//! departure (home -> away) and return (away -> home). So a home core
//! always knows where its vCPUs are, and mail for a vCPU goes to its home,
//! which forwards it while the vCPU is away ([`Engine::forward_to`]).

use crate::claim::Claim;
use crate::ipi::{self, Raised};
use crate::layout::{claim_offset, ipi_offset, location_core, location_offset, location_word};
use crate::message::Message;
use crate::outbox::{migrate_message, Incoming, Outbox, Post, PostStats};
use crate::port::{MigrationEvent, MigrationHardware};
use heapless::Vec;
use spumone_kernel::guest::{MAX_GUESTS, MAX_VCPUS};
use spumone_kernel::vcpu::{AwayReason, Vcpu};

/// Migrations one core can have in flight: every vCPU of the machine.
pub const MAX_IN_FLIGHT: usize = MAX_GUESTS * MAX_VCPUS;

/// How long a migration or a return request waits for its answer before
/// it is sent again (1 ms).
pub const RESEND_AFTER: u64 = 600_000;

/// How long a destination has to take a migrated vCPU (3 ms): a copy it
/// reads later it declines ([`Arrival::Expired`]), and its source takes
/// the vCPU back. A source that has heard nothing settles the migration
/// [`CLOCK_SKEW`] after that, by the vCPU's claim word.
pub const MIGRATION_LEASE: u64 = 1_800_000;

/// How far apart two cores' clocks can be, with room to spare (2 ms): on
/// the simulated RP1 every core reads the machine's cycle count, and a
/// core runs at most one quantum (at most 1,000,000 cycles) ahead of
/// another. A source settles a migration it has heard nothing of only
/// this long after it expired, so that a destination reading it from then
/// on finds it expired by its own clock too and declines it without
/// racing the source for its claim word.
pub const CLOCK_SKEW: u64 = 1_200_000;

/// What the engine's work costs, in CPU cycles (the instance's cost table
/// gives them at boot).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct MigrationCosts {
    /// Writing one mailbox message and raising the ICI.
    pub mailbox_send: u32,
    /// Reading and validating one mailbox message.
    pub mailbox_receive: u32,
    pub departure_source: u32,
    pub departure_destination: u32,
    pub return_source: u32,
    pub return_destination: u32,
}

impl MigrationCosts {
    pub const ZERO: MigrationCosts = MigrationCosts {
        mailbox_send: 0,
        mailbox_receive: 0,
        departure_source: 0,
        departure_destination: 0,
        return_source: 0,
        return_destination: 0,
    };
}

/// Where a home vCPU is while away.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Away {
    core: u8,
    reason: AwayReason,
    /// When its return was last asked for (asked again after
    /// `RESEND_AFTER` if it has not come back: the request may have been
    /// destroyed in the mailbox).
    return_requested: Option<u64>,
}

/// A migration sent and not yet acknowledged: its copy, kept until the
/// destination says it has the vCPU (or the vCPU comes back), and sent
/// again if no word comes.
#[derive(Clone, Copy, Debug)]
struct InFlight {
    vcpu: Vcpu,
    to: u8,
    departure: bool,
    resend_at: u64,
    /// The source half's own work so far (cycles): taking the vCPU off and
    /// recording it. The send adds its part when the message goes.
    work: u64,
    /// Its source half has been reported (a resend is not a new half).
    reported: bool,
    /// After this (this core's clock) the destination declines every copy.
    expires: u64,
    /// Its claim word was found damaged when the migration was settled:
    /// nothing says whether the destination took it, so only an answer
    /// settles it now (a copy is sent every `RESEND_AFTER` to get one).
    doubtful: bool,
    /// The destination declined it: it comes back here.
    declined: bool,
    /// For a return: why the vCPU was away, should it stay here after all.
    away_before: Option<AwayReason>,
}

impl InFlight {
    /// When the source must next act on it: now if it was declined; its
    /// next resend; or, while it may still be settled by its claim, the
    /// end of its lease and the clocks' skew.
    fn due(&self, now: u64) -> u64 {
        if self.declined {
            now
        } else if self.doubtful {
            self.resend_at
        } else {
            self.resend_at.min(self.expires + CLOCK_SKEW)
        }
    }

    /// The claim word its source wrote when it shipped it.
    fn claim(&self) -> Claim {
        Claim::InFlight { epoch: self.vcpu.epoch, core: self.to }
    }
}

/// What the destination half made of an arriving vCPU.
// Lives only on the stack for the moment it takes to hand the vCPU over
// (and there is no heap to box it in).
#[allow(clippy::large_enum_variant)]
#[derive(Clone, Copy, Debug)]
pub enum Arrival {
    /// It names a vCPU that cannot exist (dropped, acknowledged).
    Misrouted,
    /// A copy this core has already taken (dropped, acknowledged).
    Stale,
    /// Read after its migration expired, or after its source took it back
    /// (dropped, declined: its source takes it back).
    Expired,
    /// Taken: the instance puts it on its core.
    Arrived(Vcpu),
}

/// One core's migration engine.
pub struct Engine {
    core: u8,
    cores: u8,
    costs: MigrationCosts,
    outbox: Outbox,
    /// Migrations sent and not yet acknowledged.
    in_flight: Vec<InFlight, MAX_IN_FLIGHT>,
    /// For this core's home vCPUs: the core each is on while away, why,
    /// and whether its return has been asked for.
    away: [[Option<Away>; MAX_VCPUS]; MAX_GUESTS],
    /// How many entries of `away` are set: every scheduling pass asks for
    /// returns, and with none away (always, without migration) it need not
    /// look at the table.
    away_count: u8,
    /// The epoch of the last migration this core accepted, per vCPU.
    accepted_epoch: [[Option<u16>; MAX_VCPUS]; MAX_GUESTS],
    /// When the message being received started to be read (the start of a
    /// migration's destination half).
    receive_started: u64,
    /// Bit `c`: a migration to core `c` timed out unread, and nothing has
    /// come from it since; nothing is shipped there.
    unresponsive: u8,
}

impl Engine {
    /// The engine of no core: nothing moves until [`Engine::reset`].
    pub const fn new() -> Engine {
        Engine {
            core: 0,
            cores: 0,
            costs: MigrationCosts::ZERO,
            outbox: Outbox::new(),
            in_flight: Vec::new(),
            away: [[None; MAX_VCPUS]; MAX_GUESTS],
            away_count: 0,
            accepted_epoch: [[None; MAX_VCPUS]; MAX_GUESTS],
            receive_started: 0,
            unresponsive: 0,
        }
    }

    /// Make it, in place, the empty engine of core `core` of `cores`.
    pub fn reset(&mut self, core: u8, cores: u8, costs: MigrationCosts) {
        self.core = core;
        self.cores = cores;
        self.costs = costs;
        self.outbox.reset(core, cores);
        self.in_flight.clear();
        self.away = [[None; MAX_VCPUS]; MAX_GUESTS];
        self.away_count = 0;
        self.accepted_epoch = [[None; MAX_VCPUS]; MAX_GUESTS];
        self.receive_started = 0;
        self.unresponsive = 0;
    }

    /// Set up the mailbox rings this core receives on (once, at boot).
    pub fn init<H: MigrationHardware>(&mut self, hw: &mut H) {
        self.outbox.init(hw);
        if self.core == 0 {
            // Nothing is away yet, nothing claimed, no IPI raised. (A word written before
            // this by a core that booted faster would only cost an IPI one
            // hop; nothing is shipped before every core has booted.)
            for g in 0..MAX_GUESTS {
                for id in 0..MAX_VCPUS {
                    for offset in [location_offset, claim_offset, ipi_offset] {
                        if let Some(at) = offset(self.cores as usize, g, id) {
                            hw.shared_write(at, 0);
                        }
                    }
                }
            }
        }
    }

    /// The mailbox's and the outbox's counters.
    /// Whether mail waits to be sent (a full or not-ready ring).
    pub fn has_waiting(&self) -> bool {
        self.outbox.has_waiting()
    }

    /// Whether mail is to be tried at the next entry at `now` (queued since
    /// the last try, or refused by a ring whose receiver read something
    /// less than 10 us ago: [`Outbox::mail_due`]).
    pub fn mail_due(&self, now: u64) -> bool {
        self.outbox.mail_due(now)
    }

    /// From when mail stays not due until the outbox changes
    /// ([`Outbox::mail_quiet_from`]).
    pub fn mail_quiet_from(&self) -> Option<u64> {
        self.outbox.mail_quiet_from()
    }

    pub fn stats(&self) -> PostStats {
        self.outbox.stats()
    }

    /// Where the mailbox's and the outbox's counters are.
    pub fn counters_ref(&self) -> (&crate::mailbox::MailboxStats, &crate::outbox::OutboxCounters) {
        self.outbox.counters_ref()
    }

    // ----- source halves -----

    /// Where vCPUs displaced from this core go: the next core.
    pub fn destination(&self) -> Option<u8> {
        (self.cores > 1).then(|| (self.core + 1) % self.cores)
    }

    /// Whether a vCPU can be shipped to core `to` now: room for its post
    /// and for its in-flight copy, and `to` has not let a migration time
    /// out since it was last heard from. A vCPU that cannot stays where it
    /// is and goes at a later entry, rather than risk losing it.
    pub fn can_ship(&self, to: u8) -> bool {
        self.outbox.has_room(to) && !self.in_flight.is_full() && !self.is_unresponsive(to)
    }

    /// The cores in `cores` (bit `c` for core `c`) were heard from other
    /// than by mail (they raised this core's IPI ICI): they are alive.
    /// Without this a core whose guest only sends IPIs here would stay
    /// unresponsive after one migration to it timed out. Returns whether
    /// that changed anything.
    pub fn heard_from(&mut self, cores: u8) -> bool {
        let before = self.unresponsive;
        self.unresponsive &= !cores;
        self.unresponsive != before
    }

    /// Whether some core is taken to be unresponsive (`heard_from` would
    /// change something).
    pub fn awaits_news(&self) -> bool {
        self.unresponsive != 0
    }

    /// Whether a migration to core `to` timed out unread and nothing has
    /// come from `to` since.
    pub fn is_unresponsive(&self, to: u8) -> bool {
        to < 8 && self.unresponsive & (1 << to) != 0
    }

    /// Departure migration, source half: ship `v`, which the instance has
    /// taken off this core (its home), to core `to`, where it stays until
    /// asked back for `reason`. The caller checked [`Engine::can_ship`].
    pub fn depart<H: MigrationHardware>(
        &mut self,
        hw: &mut H,
        mut v: Vcpu,
        to: u8,
        reason: AwayReason,
    ) {
        let start = hw.now();
        let costs = self.costs;
        // The hosted model charges the half from the cost table (the send's
        // part when the message goes); on the board nothing is charged and
        // the half is what the code takes.
        hw.charge(costs.departure_source.saturating_sub(costs.mailbox_send) as u64);
        v.away = Some(reason);
        v.epoch = v.epoch.wrapping_add(1);
        if let Some(a) = self.away_entry(v.guest, v.id) {
            let was_home = a.is_none();
            *a = Some(Away { core: to, reason, return_requested: None });
            self.away_count += was_home as u8;
        }
        self.ship(hw, v, to, true, start, None);
    }

    /// Return migration, source half: send `v` (away from its home, taken
    /// off this core by the instance) back to core `home`. The caller
    /// checked [`Engine::can_ship`].
    pub fn return_home<H: MigrationHardware>(&mut self, hw: &mut H, mut v: Vcpu, home: u8) {
        let start = hw.now();
        let costs = self.costs;
        hw.charge(costs.return_source.saturating_sub(costs.mailbox_send) as u64);
        let away_before = v.away;
        v.away = None;
        v.epoch = v.epoch.wrapping_add(1);
        self.publish_location(hw, v.guest, v.id, home);
        self.ship(hw, v, home, false, start, away_before);
    }

    /// An arrived vCPU this core has no room for goes back to its home as
    /// it came (no half charged). Returns false if it cannot be shipped
    /// either.
    pub fn send_back<H: MigrationHardware>(&mut self, hw: &mut H, v: Vcpu, home: u8) -> bool {
        if home == self.core || !self.can_ship(home) {
            return false;
        }
        let start = hw.now();
        self.publish_location(hw, v.guest, v.id, home);
        let away_before = v.away;
        self.ship(hw, v, home, false, start, away_before);
        true
    }

    /// Keep `v`'s copy until it is acknowledged, claim it for `to` and
    /// queue its migration there (the post names the copy; `away_before`:
    /// for a return, why it was away). The caller has checked there is
    /// room for both.
    fn ship<H: MigrationHardware>(
        &mut self,
        hw: &mut H,
        v: Vcpu,
        to: u8,
        departure: bool,
        start: u64,
        away_before: Option<AwayReason>,
    ) {
        let post = Post::Migrate { guest: v.guest, vcpu: v.id, epoch: v.epoch, departure };
        let now = hw.now();
        let f = InFlight {
            vcpu: v,
            to,
            departure,
            resend_at: now + RESEND_AFTER,
            work: now - start,
            reported: false,
            expires: now + MIGRATION_LEASE,
            doubtful: false,
            declined: false,
            away_before,
        };
        // This core runs it (or it was just taken here): the plain write
        // of a claim's owner. The message follows it into shared memory.
        if let Some(at) = claim_offset(self.cores as usize, v.guest as usize, v.id as usize) {
            hw.shared_write(at, f.claim().encode());
        }
        let _ = self.in_flight.push(f);
        self.outbox.queue(to, post);
    }

    /// Send again the migrations whose acknowledgement is overdue (the
    /// message, or its acknowledgement, may have been destroyed by a guest
    /// scribbling on the mailbox): the destination takes a copy once.
    /// Returns how many were queued again.
    pub fn resend_overdue<H: MigrationHardware>(&mut self, hw: &mut H) -> u64 {
        let now = hw.now();
        let mut resent = 0;
        for f in self.in_flight.iter_mut() {
            if now >= f.expires && !f.doubtful {
                // Every copy read from now on is declined; its claim
                // settles it after CLOCK_SKEW.
                f.resend_at = u64::MAX;
                continue;
            }
            if now >= f.resend_at && self.outbox.has_room(f.to) {
                let v = &f.vcpu;
                self.outbox.queue(f.to, Post::Migrate { guest: v.guest, vcpu: v.id, epoch: v.epoch, departure: f.departure });
                f.resend_at = now + RESEND_AFTER;
                resent += 1;
            }
        }
        resent
    }

    /// A vCPU this core sent and now takes back, if any: its destination
    /// declined it (read it after it expired), or it expired
    /// [`CLOCK_SKEW`] ago without an answer and this core's
    /// compare-and-swap of its claim word from in flight to reclaimed
    /// succeeded (so its destination has not taken it and never will). A
    /// migration whose claim the destination took instead is settled
    /// without one: the vCPU is there (its answer was lost, or it stopped
    /// after taking it). A destination that let a migration time out is
    /// taken to be unresponsive: nothing is shipped to it until mail comes
    /// from it. The vCPU is as it left, where it was before
    /// ([`Vcpu::away`] restored, the location table pointing here again);
    /// the instance puts it back on its run queue, and calls this only
    /// while it has room for it.
    pub fn reclaim<H: MigrationHardware>(&mut self, hw: &mut H) -> Option<Vcpu> {
        let now = hw.now();
        let mut back = None;
        let mut k = 0;
        while k < self.in_flight.len() {
            let f = &mut self.in_flight[k];
            if f.declined || (!f.doubtful && now >= f.expires + CLOCK_SKEW) {
                let settled = match claim_offset(self.cores as usize, f.vcpu.guest as usize, f.vcpu.id as usize) {
                    Some(at) => {
                        let (mine, reclaimed) = (f.claim(), Claim::Reclaimed { epoch: f.vcpu.epoch, core: self.core });
                        Some(hw.shared_compare_exchange(at, mine.encode(), reclaimed.encode())).filter(|&w| w != mine.encode())
                    }
                    None => None,
                };
                match settled.map(Claim::decode) {
                    // Reclaimed here (or declined: the destination never
                    // takes a copy it declined, whatever the word says).
                    _ if f.declined => {
                        back = Some(k);
                        break;
                    }
                    None => {
                        self.unresponsive |= 1 << f.to;
                        back = Some(k);
                        break;
                    }
                    // Another valid claim: only the destination moves the
                    // word off this migration's, by taking it.
                    Some(Some(_)) => {
                        self.in_flight.swap_remove(k);
                        continue;
                    }
                    // A damaged word: ask the destination instead.
                    Some(None) => {
                        f.doubtful = true;
                        f.resend_at = now;
                    }
                }
            }
            k += 1;
        }
        let f = self.in_flight.swap_remove(back?);
        let mut v = f.vcpu;
        if f.departure {
            v.away = None;
            if let Some(a) = self.away_entry(v.guest, v.id) {
                let was_away = a.take().is_some();
                self.away_count -= was_away as u8;
            }
        } else {
            v.away = f.away_before;
        }
        self.publish_location(hw, v.guest, v.id, self.core);
        Some(v)
    }

    /// Ask the cores holding this core's vCPUs displaced for `reason` to
    /// send them back (once each, again after [`RESEND_AFTER`]).
    pub fn request_returns<H: MigrationHardware>(&mut self, hw: &mut H, reason: AwayReason) {
        if self.away_count == 0 || self.away.iter().flatten().all(|a| a.is_none_or(|a| a.reason != reason)) {
            return;
        }
        let now = hw.now();
        for g in 0..MAX_GUESTS {
            for id in 0..MAX_VCPUS {
                if let Some(a) = self.away[g][id].as_mut() {
                    let due = a.return_requested.is_none_or(|at| now >= at + RESEND_AFTER);
                    if a.reason == reason && due {
                        // Marked only once queued: a full queue retries.
                        if self.outbox.queue(a.core, Post::ReturnRequest { guest: g as u8, vcpu: id as u8 }) {
                            a.return_requested = Some(now);
                        }
                    }
                }
            }
        }
    }


    // ----- destination half and receiving -----

    /// The next message from core `from` for the instance: a vCPU to
    /// [`Engine::accept`], or a post to route. Acknowledgements are the
    /// engine's own and are taken here. Every valid message costs
    /// `mailbox_receive`.
    pub fn receive<H: MigrationHardware>(&mut self, hw: &mut H, from: u8) -> Option<Incoming> {
        loop {
            // A migration's destination half starts with reading its message.
            self.receive_started = hw.now();
            let incoming = self.outbox.receive(hw, from)?;
            hw.charge(self.costs.mailbox_receive as u64);
            // Heard from: it is alive.
            self.unresponsive &= !(1 << from);
            let of = |f: &InFlight, guest: u8, vcpu: u8, epoch: u16| {
                f.to == from && (f.vcpu.guest, f.vcpu.id, f.vcpu.epoch) == (guest, vcpu, epoch)
            };
            match incoming {
                Incoming::Post(Post::MigrateAck { guest, vcpu, epoch }) => {
                    self.in_flight.retain(|f| !of(f, guest, vcpu, epoch));
                }
                Incoming::Post(Post::MigrateDeclined { guest, vcpu, epoch }) => {
                    // Taken back at the next reclaim (unless it already
                    // was: then nothing matches).
                    if let Some(f) = self.in_flight.iter_mut().find(|f| of(f, guest, vcpu, epoch)) {
                        f.declined = true;
                    }
                }
                other => return Some(other),
            }
        }
    }

    /// Destination half of a migration: `v` arrives from core `from`
    /// (`already_here`: the instance has a vCPU of that name resident),
    /// to be taken only while the sender's clock has not passed `expires`.
    pub fn accept<H: MigrationHardware>(
        &mut self,
        hw: &mut H,
        from: u8,
        mut v: Vcpu,
        departure: bool,
        expires: u64,
        already_here: bool,
    ) -> Arrival {
        let (g, id) = (v.guest as usize, v.id as usize);
        let ack = Post::MigrateAck { guest: v.guest, vcpu: v.id, epoch: v.epoch };
        if g >= MAX_GUESTS || id >= MAX_VCPUS {
            self.outbox.queue(from, ack);
            return Arrival::Misrouted;
        }
        let newer = self.accepted_epoch[g][id].is_none_or(|last| (v.epoch.wrapping_sub(last) as i16) > 0);
        if !newer || already_here {
            // A copy sent again after this core had taken the vCPU: tell
            // the sender we have it, so it stops resending.
            self.outbox.queue(from, ack);
            return Arrival::Stale;
        }
        // Read too late, or its sender took it back (its claim word is no
        // longer this migration's): never take it; say so, in case the
        // sender still waits. Taking it is the compare-and-swap of its
        // claim word: its source cannot take it back after that.
        let offered = Claim::InFlight { epoch: v.epoch, core: self.core }.encode();
        let taken = Claim::Taken { epoch: v.epoch, core: self.core }.encode();
        let late = hw.now() > expires;
        let at = claim_offset(self.cores as usize, g, id);
        if late || at.is_some_and(|at| hw.shared_compare_exchange(at, offered, taken) != offered) {
            self.outbox.queue(from, Post::MigrateDeclined { guest: v.guest, vcpu: v.id, epoch: v.epoch });
            return Arrival::Expired;
        }
        self.outbox.queue(from, ack);
        self.accepted_epoch[g][id] = Some(v.epoch);
        // The vCPU itself is the best acknowledgement of an earlier move.
        self.in_flight.retain(|f| (f.vcpu.guest, f.vcpu.id) != (v.guest, v.id));
        let costs = self.costs;
        let cost = if departure { costs.departure_destination } else { costs.return_destination };
        hw.charge(cost.saturating_sub(costs.mailbox_receive) as u64);
        if departure {
            self.publish_location(hw, v.guest, v.id, self.core);
        } else {
            v.away = None;
            self.away_count -= self.away[g][id].take().is_some() as u8;
        }
        // From reading its message to now (the instance then puts it in
        // its run queue): the half as it ran.
        let cycles = hw.now().saturating_sub(self.receive_started).min(u32::MAX as u64) as u32;
        hw.trace(MigrationEvent::In { guest: v.guest, vcpu: v.id, from, departure, cycles });
        Arrival::Arrived(v)
    }

    // ----- where vCPUs are, and mail for them -----

    /// Where mail for vCPU (guest, vcpu), whose home is `home` and which is
    /// not resident here, goes: to its home if that is another core; from
    /// its home, to the core it is away on. `None`: it is nowhere yet.
    pub fn forward_to(&self, guest: u8, vcpu: u8, home: u8) -> Option<u8> {
        if home != self.core {
            return Some(home);
        }
        self.away.get(guest as usize)?.get(vcpu as usize)?.map(|a| a.core)
    }

    /// Where this core sends a virtual IPI its own guest raised for vCPU
    /// (guest, vcpu), whose home is `home` and which is not resident here.
    /// From its home: where it is away. Elsewhere: the core the location
    /// table names, which spares the IPI a stop at a home core that may
    /// hold its mail back while its RTOS runs (on-demand migration) and
    /// another trip on. The table is a hint: the core it names delivers the
    /// IPI if the vCPU is there and otherwise sends it home, the way any
    /// mail for a vCPU that has moved on goes (mail that arrived is never
    /// sent by the table, so a stale or scribbled word costs one hop and
    /// cannot make mail circle). `None`: it is nowhere yet.
    pub fn ipi_destination<H: MigrationHardware>(&self, hw: &mut H, guest: u8, vcpu: u8, home: u8) -> Option<u8> {
        if home == self.core {
            return self.forward_to(guest, vcpu, home);
        }
        let hint = location_offset(self.cores as usize, guest as usize, vcpu as usize)
            .and_then(|at| location_core(hw.shared_read(at), self.cores as usize));
        Some(hint.filter(|&c| c != self.core).unwrap_or(home))
    }

    /// Raise virtual IPI `message` for vCPU (guest, vcpu) in its IPI word
    /// (`crate::ipi`); the caller then raises ICI message 2 on the core
    /// [`Engine::ipi_destination`] names, read after this.
    pub fn raise_ipi<H: MigrationHardware>(&self, hw: &mut H, guest: u8, vcpu: u8, message: u8) -> Raised {
        ipi::raise(hw, self.cores as usize, guest, vcpu, message)
    }

    /// Take the IPIs raised for vCPU (guest, vcpu), which this core holds:
    /// (message bits, bits that were not messages).
    pub fn take_ipis<H: MigrationHardware>(&self, hw: &mut H, guest: u8, vcpu: u8) -> (u8, u32) {
        ipi::take(hw, self.cores as usize, guest, vcpu)
    }

    /// Record in the location table that vCPU (guest, vcpu) is on `core`
    /// from now on (its destination half took it, or its return left).
    fn publish_location<H: MigrationHardware>(&self, hw: &mut H, guest: u8, vcpu: u8, core: u8) {
        if let Some(at) = location_offset(self.cores as usize, guest as usize, vcpu as usize) {
            hw.shared_write(at, location_word(core));
        }
    }

    /// Queue `post` for core `to` (see [`Outbox::queue`]).
    pub fn queue(&mut self, to: u8, post: Post) -> bool {
        self.outbox.queue(to, post)
    }

    /// Send what fits of the outgoing mail, each message costing
    /// `mailbox_send`. A queued migration sends its in-flight copy; one
    /// whose copy is gone (acknowledged meanwhile) is withdrawn.
    pub fn flush<H: MigrationHardware>(&mut self, hw: &mut H) {
        let start = if self.in_flight.iter().any(|f| !f.reported) { hw.now() } else { 0 };
        let in_flight = &self.in_flight;
        let copy = |to: u8, guest: u8, vcpu: u8, epoch: u16, departure: bool| -> Option<Message> {
            in_flight
                .iter()
                .find(|f| {
                    (f.to, f.vcpu.guest, f.vcpu.id, f.vcpu.epoch, f.departure) == (to, guest, vcpu, epoch, departure)
                })
                .map(|f| migrate_message(&f.vcpu, departure, f.expires))
        };
        let mut shipped: heapless::Vec<(u8, u8, u16, u64), MAX_IN_FLIGHT> = heapless::Vec::new();
        let sent = self.outbox.flush(hw, copy, |g, v, e, at| {
            let _ = shipped.push((g, v, e, at));
        });
        // The hosted model charges the sends after the fact: they belong to
        // the halves as if charged before the ICIs (0 on the board).
        let charged = sent as u64 * self.costs.mailbox_send as u64;
        hw.charge(charged);
        if shipped.is_empty() {
            return;
        }
        // Each migration's source half, now its message and ICI are out:
        // its own work before, plus this send up to its ICI (not the
        // flush's work for other cores after it).
        for (g, v, e, at) in shipped {
            if let Some(f) = self.in_flight.iter_mut().find(|f| (f.vcpu.guest, f.vcpu.id, f.vcpu.epoch) == (g, v, e)) {
                if !f.reported {
                    f.reported = true;
                    let cycles = (f.work + at.saturating_sub(start) + charged).min(u32::MAX as u64) as u32;
                    hw.trace(MigrationEvent::Out { guest: g, vcpu: v, to: f.to, departure: f.departure, cycles });
                }
            }
        }
    }

    /// When the engine needs the core's timer: soon if mail waits for room
    /// (later the longer its receiver reads nothing:
    /// [`crate::outbox::MAIL_RETRY`]), when the first in-flight migration
    /// is due to be sent again, and when one may be settled by its claim.
    /// (Looks at rings whose ICI may have been lost are not in it: see
    /// [`Engine::next_recheck`].)
    pub fn next_deadline(&self, now: u64) -> Option<u64> {
        let mut deadline = self.outbox.next_deadline(now);
        for f in &self.in_flight {
            let due = f.due(now);
            deadline = Some(deadline.map_or(due, |d| d.min(due)));
        }
        deadline
    }

    /// When a ring whose ICI may have been lost is next to be looked at.
    /// Any entry that flushes from then on does it; the instance arms its
    /// timer for it only when it has nothing else to wake up for, so a
    /// busy core pays no entry of its own for it.
    pub fn next_recheck(&self) -> Option<u64> {
        self.outbox.next_recheck()
    }

    /// How many migrations this core has sent and not yet settled.
    pub fn in_flight(&self) -> usize {
        self.in_flight.len()
    }

    /// Whether an in-flight migration needs this core now (a resend, or
    /// one to settle by its claim): its answer may already wait in the
    /// ring.
    pub fn in_flight_due(&self, now: u64) -> bool {
        self.in_flight.iter().any(|f| now >= f.due(now))
    }

    fn away_entry(&mut self, guest: u8, vcpu: u8) -> Option<&mut Option<Away>> {
        self.away.get_mut(guest as usize)?.get_mut(vcpu as usize)
    }
}

impl Default for Engine {
    fn default() -> Engine {
        Engine::new()
    }
}
