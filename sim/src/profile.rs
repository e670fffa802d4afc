//! A statistical profile of where the cores spend simulated time: at the
//! end of every round (a quantum, or earlier at a device event) each core's
//! PC is taken as one sample, of the code in a chosen address range (the
//! hypervisor's, say), of code elsewhere (the guests', kept by core and
//! PC too), or of a core asleep.
//!
//! Owns: the sample counts. Must not touch: the cores or the bus (the
//! machine hands it each core's PC and state), or what the addresses mean
//! (whoever asked for the profile names them from its own symbols).
//!
//! Sampling at round ends is cheap (four lookups per round) and does not
//! change the run: the same run with and without a profile executes the
//! same instructions at the same cycles.

use std::collections::HashMap;

/// Samples of one run.
#[derive(Clone, Debug, Default)]
pub struct PcProfile {
    /// The address range profiled, `[start, end)`.
    pub start: u32,
    pub end: u32,
    /// Samples in the range, by PC (all cores together).
    pub hits: HashMap<u32, u64>,
    /// Samples of running code outside the range, by PC and core.
    pub outside_hits: HashMap<(u32, u8), u64>,
    /// Per core: samples in the range, elsewhere (running other code), and
    /// asleep (SLEEP, wherever it is).
    pub inside: Vec<u64>,
    pub outside: Vec<u64>,
    pub asleep: Vec<u64>,
}

impl PcProfile {
    pub fn new(start: u32, end: u32, cores: usize) -> PcProfile {
        PcProfile {
            start,
            end,
            hits: HashMap::new(),
            outside_hits: HashMap::new(),
            inside: vec![0; cores],
            outside: vec![0; cores],
            asleep: vec![0; cores],
        }
    }

    /// One sample of core `core`.
    pub fn sample(&mut self, core: usize, pc: u32, sleeping: bool) {
        if core >= self.inside.len() {
            return;
        }
        if sleeping {
            self.asleep[core] += 1;
        } else if (self.start..self.end).contains(&pc) {
            self.inside[core] += 1;
            *self.hits.entry(pc).or_insert(0) += 1;
        } else {
            self.outside[core] += 1;
            *self.outside_hits.entry((pc, core as u8)).or_insert(0) += 1;
        }
    }

    /// Samples of every kind, all cores.
    pub fn total(&self) -> u64 {
        self.inside.iter().chain(&self.outside).chain(&self.asleep).sum()
    }

    /// The range's samples grouped by `name_of(pc)` (a function's name,
    /// say), most first; ties by name.
    pub fn by<F: Fn(u32) -> String>(&self, name_of: F) -> Vec<(String, u64)> {
        let mut groups: HashMap<String, u64> = HashMap::new();
        for (&pc, &n) in &self.hits {
            *groups.entry(name_of(pc)).or_insert(0) += n;
        }
        let mut v: Vec<(String, u64)> = groups.into_iter().collect();
        v.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
        v
    }

    /// The samples outside the range grouped by `name_of(pc)`, with their
    /// count on each core, most (all cores together) first; ties by name.
    pub fn outside_by<F: Fn(u32) -> String>(&self, name_of: F) -> Vec<(String, Vec<u64>)> {
        let cores = self.outside.len();
        let mut groups: HashMap<String, Vec<u64>> = HashMap::new();
        for (&(pc, core), &n) in &self.outside_hits {
            groups.entry(name_of(pc)).or_insert_with(|| vec![0; cores])[core as usize] += n;
        }
        let mut v: Vec<(String, Vec<u64>)> = groups.into_iter().collect();
        let sum = |c: &[u64]| c.iter().sum::<u64>();
        v.sort_by(|a, b| sum(&b.1).cmp(&sum(&a.1)).then_with(|| a.0.cmp(&b.0)));
        v
    }
}

#[cfg(test)]
mod tests {
    use super::PcProfile;

    #[test]
    fn samples_are_sorted_into_the_range_elsewhere_and_asleep_per_core() {
        let mut p = PcProfile::new(0x1000, 0x2000, 2);
        p.sample(0, 0x1000, false);
        p.sample(0, 0x1ffe, false);
        p.sample(0, 0x2000, false);
        p.sample(1, 0x1000, true);
        p.sample(1, 0x0ffe, false);
        p.sample(7, 0x1000, false); // no such core: ignored
        assert_eq!((&p.inside, &p.outside, &p.asleep), (&vec![2, 0], &vec![1, 1], &vec![0, 1]));
        assert_eq!(p.hits.len(), 2);
        // Running code outside the range is kept by PC and core; sleep is not.
        assert_eq!(p.outside_hits.len(), 2);
        assert_eq!((p.outside_hits[&(0x2000, 0)], p.outside_hits[&(0x0ffe, 1)]), (1, 1));
        let outside = p.outside_by(|pc| if pc < 0x1000 { "low".into() } else { "high".into() });
        assert_eq!(outside, [("high".to_string(), vec![1, 0]), ("low".to_string(), vec![0, 1])]);
        let mut p = PcProfile::new(0x1000, 0x2000, 1);
        for pc in [0x1000, 0x1002, 0x1800, 0x1802, 0x1804] {
            p.sample(0, pc, false);
        }
        let by = p.by(|pc| if pc < 0x1800 { "a".into() } else { "b".into() });
        assert_eq!(by, [("b".to_string(), 3), ("a".to_string(), 2)]);
        assert_eq!(p.total(), 5);
    }
}
