//! Deterministic fault injection: a plan of faults the machine applies to
//! itself while it runs, for testing what software (the hypervisor)
//! guarantees when the hardware misbehaves.
//!
//! Owns: the plan ([`Faults`]: lost and late inter-core interrupts, cores
//! that stop, CSM words that flip), its validation, the seeded choice of
//! which ICIs are lost, and the count of what was injected ([`Injected`]).
//! The machine applies stalls and flips (`machine.rs`); the INTC applies
//! the ICI faults at the write that requests an ICI (`devices/intc.rs`).
//! Must not touch: anything outside the machine.
//!
//! Determinism: everything is decided by simulated time, the order of
//! ICI requests (itself deterministic) and the plan's seed, never by the
//! host; the same image, plan and seed give the same run, cycle for cycle.
//! A machine without a plan (or with an empty one) runs exactly as it did
//! before faults existed: nothing is consulted, no round is cut.

use crate::bus::CSM_SIZE;

/// Simulated cycles per millisecond (the cores run at 600 MHz).
pub const CYCLES_PER_MS: u64 = 600_000;

/// What happens to the ICIs requested for one core.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum IciFault {
    /// Each request for `core` is dropped with probability `percent` %
    /// (drawn from the plan's seeded generator, one draw per request).
    LosePercent { core: usize, percent: u8 },
    /// The `nth` request for `core` (1 = the first) is dropped.
    LoseNth { core: usize, nth: u64 },
    /// Every request for `core` becomes visible to it `cycles` late.
    Delay { core: usize, cycles: u64 },
}

impl IciFault {
    fn core(&self) -> usize {
        match *self {
            IciFault::LosePercent { core, .. } | IciFault::LoseNth { core, .. } | IciFault::Delay { core, .. } => core,
        }
    }
}

/// A core that stops executing at cycle `at` for `cycles` cycles (`None`:
/// for good). Meanwhile it runs no instruction and takes no interrupt;
/// interrupts requested for it stay pending and are taken after.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Stall {
    pub core: usize,
    pub at: u64,
    pub cycles: Option<u64>,
}

/// At cycle `at`, the 32-bit CSM word at byte `offset` (from the CSM's
/// base, 4-aligned) is XORed with `mask` (the word as the little-endian
/// cores read it).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Flip {
    pub at: u64,
    pub offset: u32,
    pub mask: u32,
}

/// A fault plan. Empty by default: no fault.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Faults {
    /// Seeds the choice of lost ICIs (`IciFault::LosePercent`).
    pub seed: u64,
    pub ici: Vec<IciFault>,
    pub stalls: Vec<Stall>,
    pub flips: Vec<Flip>,
}

/// A plan the machine cannot apply.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum FaultError {
    #[error("fault on core {core}: the machine has cores 0 to {last}", last = .cores - 1)]
    Core { core: usize, cores: usize },
    #[error("ICI loss on core {core}: the percentage must be 0 to 100, not {percent}")]
    Percent { core: usize, percent: u8 },
    #[error("ICI loss on core {core}: the n-th ICI counts from 1, not 0")]
    Nth { core: usize },
    #[error("ICI delay on core {core}: the delay must be at least one cycle")]
    Delay { core: usize },
    #[error("stall of core {core}: a stall lasts at least one cycle")]
    StallLength { core: usize },
    #[error("stalls of core {core} overlap (one from cycle {first}, one from cycle {second})")]
    StallOverlap { core: usize, first: u64, second: u64 },
    #[error("CSM flip at offset {offset:#x}: the offset must be 4-byte aligned and below {size:#x}", size = CSM_SIZE)]
    FlipOffset { offset: u32 },
    #[error("CSM flip at offset {offset:#x}: a zero mask flips nothing")]
    FlipMask { offset: u32 },
}

impl Faults {
    /// Whether the plan injects nothing.
    pub fn is_empty(&self) -> bool {
        self.ici.is_empty() && self.stalls.is_empty() && self.flips.is_empty()
    }

    /// Check the plan against a machine of `cores` cores.
    pub fn check(&self, cores: usize) -> Result<(), FaultError> {
        let core_ok = |core: usize| if core < cores { Ok(()) } else { Err(FaultError::Core { core, cores }) };
        for f in &self.ici {
            core_ok(f.core())?;
            match *f {
                IciFault::LosePercent { core, percent } if percent > 100 => return Err(FaultError::Percent { core, percent }),
                IciFault::LoseNth { core, nth: 0 } => return Err(FaultError::Nth { core }),
                IciFault::Delay { core, cycles: 0 } => return Err(FaultError::Delay { core }),
                _ => {}
            }
        }
        for s in &self.stalls {
            core_ok(s.core)?;
            if s.cycles == Some(0) {
                return Err(FaultError::StallLength { core: s.core });
            }
        }
        for (i, a) in self.stalls.iter().enumerate() {
            for b in &self.stalls[i + 1..] {
                let end = |s: &Stall| s.cycles.map_or(u64::MAX, |c| s.at.saturating_add(c));
                if a.core == b.core && a.at < end(b) && b.at < end(a) {
                    return Err(FaultError::StallOverlap { core: a.core, first: a.at.min(b.at), second: a.at.max(b.at) });
                }
            }
        }
        for f in &self.flips {
            if f.offset % 4 != 0 || f.offset >= CSM_SIZE {
                return Err(FaultError::FlipOffset { offset: f.offset });
            }
            if f.mask == 0 {
                return Err(FaultError::FlipMask { offset: f.offset });
            }
        }
        Ok(())
    }
}

/// What a run injected so far.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Injected {
    /// ICI requests dropped.
    pub ici_lost: u64,
    /// ICI requests delivered late.
    pub ici_delayed: u64,
    /// Cycles cores spent stopped (summed over cores; a stall for good
    /// counts up to the end of the run).
    pub stall_cycles: u64,
    /// CSM words flipped.
    pub words_flipped: u64,
}

impl std::fmt::Display for Injected {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{} ICIs lost, {} ICIs delayed, {} core cycles stalled ({:.3} ms), {} CSM words flipped",
            self.ici_lost,
            self.ici_delayed,
            self.stall_cycles,
            self.stall_cycles as f64 / CYCLES_PER_MS as f64,
            self.words_flipped
        )
    }
}

/// What the INTC does with one ICI request.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum IciVerdict {
    Deliver,
    Lose,
    Late(u64),
}

/// The ICI part of a plan, as the INTC applies it.
#[derive(Clone, Debug)]
pub(crate) struct IciPlan {
    rules: Vec<IciFault>,
    rng: rand_xorshift::XorShiftRng,
    /// Requests seen per core (to find the n-th).
    requests: [u64; 4],
    /// Late requests on their way: (arrival, core, bits), in order of
    /// arrival (equal arrivals in the order they were made).
    late: std::collections::VecDeque<(u64, usize, u32)>,
    pub(crate) lost: u64,
    pub(crate) delayed: u64,
}

impl IciPlan {
    pub(crate) fn new(rules: Vec<IciFault>, seed: u64) -> IciPlan {
        use rand_core::SeedableRng;
        IciPlan { rules, rng: rand_xorshift::XorShiftRng::seed_from_u64(seed), requests: [0; 4], late: Default::default(), lost: 0, delayed: 0 }
    }

    /// Hold a late request (bits `value` for `core`) until `arrival`.
    pub(crate) fn hold(&mut self, arrival: u64, core: usize, value: u32) {
        let at = self.late.partition_point(|l| l.0 <= arrival);
        self.late.insert(at, (arrival, core, value));
    }

    /// The late requests that have arrived by `now`, in order.
    pub(crate) fn take_late(&mut self, now: u64) -> Vec<(u64, usize, u32)> {
        let n = self.late.partition_point(|l| l.0 <= now);
        self.late.drain(..n).collect()
    }

    /// When the next late request arrives.
    pub(crate) fn next_late(&self) -> Option<u64> {
        self.late.front().map(|l| l.0)
    }

    /// Decide one request for `core` (a write setting CnINTICI bits).
    /// Every loss rule for the core is evaluated (one draw per percentage
    /// rule), so the draws do not depend on which rule fired first.
    pub(crate) fn request(&mut self, core: usize) -> IciVerdict {
        use rand_core::Rng;
        let Some(count) = self.requests.get_mut(core) else { return IciVerdict::Deliver };
        *count += 1;
        let n = *count;
        let mut lose = false;
        let mut late = 0u64;
        for rule in &self.rules {
            match *rule {
                IciFault::LosePercent { core: c, percent } if c == core => {
                    let draw = self.rng.next_u32() % 100;
                    lose |= draw < percent as u32;
                }
                IciFault::LoseNth { core: c, nth } if c == core => lose |= nth == n,
                IciFault::Delay { core: c, cycles } if c == core => late = late.max(cycles),
                _ => {}
            }
        }
        if lose {
            self.lost += 1;
            IciVerdict::Lose
        } else if late > 0 {
            self.delayed += 1;
            IciVerdict::Late(late)
        } else {
            IciVerdict::Deliver
        }
    }
}

/// The stall and flip part of a plan, as the machine applies it.
#[derive(Clone, Debug)]
pub(crate) struct MachinePlan {
    stalls: Vec<Stall>,
    /// Sorted by time; `flips[next_flip..]` are still to come.
    flips: Vec<Flip>,
    next_flip: usize,
    pub(crate) stall_cycles: u64,
    pub(crate) words_flipped: u64,
}

impl MachinePlan {
    pub(crate) fn new(stalls: Vec<Stall>, mut flips: Vec<Flip>) -> MachinePlan {
        flips.sort_by_key(|f| f.at); // stable: flips at one cycle keep their order
        MachinePlan { stalls, flips, next_flip: 0, stall_cycles: 0, words_flipped: 0 }
    }

    /// The first cycle after `now` at which a stall starts or ends or a
    /// flip falls due: rounds are cut there.
    pub(crate) fn next_event(&self, now: u64) -> Option<u64> {
        let stall_edges = self.stalls.iter().flat_map(|s| [Some(s.at), s.cycles.map(|c| s.at.saturating_add(c))]).flatten();
        let flips = self.flips[self.next_flip..].iter().map(|f| f.at);
        stall_edges.chain(flips).filter(|&t| t > now).min()
    }

    /// Whether `core` is stopped at cycle `now` (and so, rounds being cut
    /// at every stall edge, for the whole round starting there).
    pub(crate) fn stalled(&self, core: usize, now: u64) -> bool {
        self.stalls
            .iter()
            .any(|s| s.core == core && s.at <= now && s.cycles.is_none_or(|c| now < s.at.saturating_add(c)))
    }

    /// Apply every flip due by `now` to the CSM.
    pub(crate) fn apply_flips(&mut self, now: u64, csm: &mut [u8]) {
        while let Some(f) = self.flips.get(self.next_flip).filter(|f| f.at <= now) {
            let at = f.offset as usize;
            if let Some(bytes) = csm.get_mut(at..at + 4) {
                let word = u32::from_le_bytes(bytes.try_into().expect("4 bytes")) ^ f.mask;
                bytes.copy_from_slice(&word.to_le_bytes());
                self.words_flipped += 1;
            }
            self.next_flip += 1;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plans_are_checked() {
        let ok = Faults {
            seed: 1,
            ici: vec![IciFault::LosePercent { core: 1, percent: 100 }, IciFault::Delay { core: 3, cycles: 5 }],
            stalls: vec![Stall { core: 2, at: 10, cycles: Some(5) }, Stall { core: 2, at: 15, cycles: None }],
            flips: vec![Flip { at: 0, offset: CSM_SIZE - 4, mask: 1 }],
        };
        assert_eq!(ok.check(4), Ok(()));
        assert_eq!(ok.check(3), Err(FaultError::Core { core: 3, cores: 3 }));
        let bad = |f: Faults| f.check(4).unwrap_err().to_string();
        let p = Faults { ici: vec![IciFault::LosePercent { core: 0, percent: 101 }], ..Faults::default() };
        assert_eq!(bad(p), "ICI loss on core 0: the percentage must be 0 to 100, not 101");
        let n = Faults { ici: vec![IciFault::LoseNth { core: 0, nth: 0 }], ..Faults::default() };
        assert_eq!(bad(n), "ICI loss on core 0: the n-th ICI counts from 1, not 0");
        let s = Faults {
            stalls: vec![Stall { core: 1, at: 10, cycles: None }, Stall { core: 1, at: 5, cycles: Some(6) }],
            ..Faults::default()
        };
        assert_eq!(bad(s), "stalls of core 1 overlap (one from cycle 5, one from cycle 10)");
        let f = Faults { flips: vec![Flip { at: 0, offset: 2, mask: 1 }], ..Faults::default() };
        assert_eq!(bad(f), "CSM flip at offset 0x2: the offset must be 4-byte aligned and below 0x20000");
        let z = Faults { flips: vec![Flip { at: 0, offset: 4, mask: 0 }], ..Faults::default() };
        assert_eq!(bad(z), "CSM flip at offset 0x4: a zero mask flips nothing");
    }

    #[test]
    fn the_nth_request_is_lost_and_delays_take_the_longest() {
        let mut p = IciPlan::new(
            vec![
                IciFault::LoseNth { core: 1, nth: 2 },
                IciFault::Delay { core: 1, cycles: 10 },
                IciFault::Delay { core: 1, cycles: 30 },
            ],
            0,
        );
        assert_eq!(p.request(0), IciVerdict::Deliver);
        assert_eq!(p.request(1), IciVerdict::Late(30));
        assert_eq!(p.request(1), IciVerdict::Lose);
        assert_eq!(p.request(1), IciVerdict::Late(30));
        assert_eq!((p.lost, p.delayed), (1, 2));
    }

    /// The seeded loss is a function of the seed alone, and its rate is
    /// near the percentage asked.
    #[test]
    fn percentage_loss_is_seeded() {
        let run = |seed| {
            let mut p = IciPlan::new(vec![IciFault::LosePercent { core: 2, percent: 20 }], seed);
            (0..1000).map(|_| p.request(2) == IciVerdict::Lose).collect::<Vec<_>>()
        };
        assert_eq!(run(7), run(7));
        assert_ne!(run(7), run(8));
        let lost = run(7).iter().filter(|&&l| l).count();
        assert!((150..=250).contains(&lost), "{lost} of 1000 lost at 20 %");
        let mut none = IciPlan::new(vec![IciFault::LosePercent { core: 2, percent: 0 }], 7);
        let mut all = IciPlan::new(vec![IciFault::LosePercent { core: 2, percent: 100 }], 7);
        assert!((0..100).all(|_| none.request(2) == IciVerdict::Deliver && all.request(2) == IciVerdict::Lose));
    }

    #[test]
    fn stalls_and_flips_cut_rounds_at_their_edges() {
        let mut p = MachinePlan::new(
            vec![Stall { core: 1, at: 100, cycles: Some(50) }, Stall { core: 2, at: 400, cycles: None }],
            vec![Flip { at: 300, offset: 8, mask: 0x8000_0001 }, Flip { at: 120, offset: 8, mask: 0x10 }],
        );
        assert_eq!(p.next_event(0), Some(100));
        assert_eq!(p.next_event(100), Some(120));
        assert_eq!(p.next_event(120), Some(150));
        assert_eq!(p.next_event(150), Some(300));
        assert!(!p.stalled(1, 99) && p.stalled(1, 100) && p.stalled(1, 149) && !p.stalled(1, 150));
        assert!(p.stalled(2, u64::MAX) && !p.stalled(2, 399));
        let mut csm = vec![0u8; 16];
        p.apply_flips(120, &mut csm);
        assert_eq!(&csm[8..12], &[0x10, 0, 0, 0]);
        assert_eq!(p.next_event(120), Some(150), "a flip done is no longer an event");
        p.apply_flips(1000, &mut csm);
        assert_eq!(&csm[8..12], &[0x11, 0, 0, 0x80]);
        assert_eq!(p.words_flipped, 2);
        assert_eq!(p.next_event(300), Some(400));
        assert_eq!(p.next_event(400), None);
    }

    /// The INTC drops a lost request (nothing set) and makes a late one
    /// visible `cycles` after the write.
    #[test]
    fn the_intc_applies_ici_faults_at_the_request() {
        use crate::devices::intc::{Intc, Pending, BASE};
        use crate::devices::{Access, Mmio, Size};
        let mut intc = Intc::new(4);
        intc.ici_faults = Some(Box::new(IciPlan::new(
            vec![IciFault::LoseNth { core: 1, nth: 1 }, IciFault::Delay { core: 2, cycles: 700 }],
            0,
        )));
        let w = |intc: &mut Intc, now, reg: u32, v| intc.write(Access { core: 0, now }, reg - BASE, Size::Long, v).unwrap();
        let cicipri = |n: u32| 0xfe41_0090 + 4 * n;
        let cintici = |n: u32| 0xfe41_0070 + 4 * n;
        w(&mut intc, 0, cicipri(1), 0xf);
        w(&mut intc, 0, cicipri(2), 0xff);
        w(&mut intc, 100, cintici(1), 1);
        assert_eq!(intc.pending(1), None, "the first ICI to core 1 is lost");
        w(&mut intc, 200, cintici(1), 1);
        assert_eq!(intc.pending_at(1, 200), Some(Pending { level: 15, intevt: 0xf00 }));
        // Late requests arrive 700 cycles after their writes; a second one
        // on its way does not hold back the first.
        w(&mut intc, 300, cintici(2), 1);
        w(&mut intc, 500, cintici(2), 1 << 4);
        assert_eq!(intc.next_late_ici(), Some(1000));
        intc.deliver_late_icis(999);
        assert_eq!(intc.pending(2), None, "nothing has arrived");
        intc.deliver_late_icis(1000);
        assert_eq!(intc.pending_at(2, 999), None);
        assert_eq!(intc.pending_at(2, 1000), Some(Pending { level: 15, intevt: 0xf00 }));
        assert_eq!(intc.next_late_ici(), Some(1200));
        w(&mut intc, 1000, 0xfe41_0080 + 8, 0xf); // the receiver clears message 0
        intc.deliver_late_icis(1200);
        assert_eq!(intc.pending_at(2, 1200).map(|p| p.intevt), Some(0xf20));
        assert_eq!(intc.next_late_ici(), None);
        let plan = intc.ici_faults.as_ref().unwrap();
        assert_eq!((plan.lost, plan.delayed), (1, 2));
    }
}
