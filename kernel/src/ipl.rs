//! Interrupt priority levels and their split between the two guest classes.
//!
//! SH-4A has 16 interrupt levels (0 = none, 15 = highest). The hypervisor
//! gives the real-time guest levels 8-15 and the general-purpose guest 1-7,
//! so that a GPOS that "disables interrupts" (raises its own IMASK to its
//! ceiling) still lets every RTOS interrupt through.

/// The class of a guest, which decides which interrupt levels it owns.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum GuestClass {
    /// The real-time OS: owns levels 8-15.
    RealTime,
    /// The general-purpose OS: owns levels 1-7.
    GeneralPurpose,
}

impl GuestClass {
    /// The lowest and highest level this class owns.
    pub const fn levels(self) -> (u8, u8) {
        match self {
            GuestClass::RealTime => (8, 15),
            GuestClass::GeneralPurpose => (1, 7),
        }
    }

    /// Whether `level` (1-15) belongs to this class.
    pub const fn owns(self, level: u8) -> bool {
        let (lo, hi) = self.levels();
        level >= lo && level <= hi
    }

    /// The physical IMASK that implements the guest's requested mask
    /// `guest_imask` (0-15) without ever blocking the other class's levels
    /// that lie above this class. A GPOS asking for IMASK 15 ("all off")
    /// gets its own ceiling, 7; the RTOS keeps full control of 8-15 and, when
    /// it masks everything, also masks the GPOS levels below it.
    pub const fn physical_imask(self, guest_imask: u8) -> u8 {
        let (_, hi) = self.levels();
        let m = if guest_imask > 15 { 15 } else { guest_imask };
        if m > hi {
            hi
        } else {
            m
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn classes_partition_levels_1_to_15() {
        for level in 1..=15u8 {
            let rt = GuestClass::RealTime.owns(level);
            let gp = GuestClass::GeneralPurpose.owns(level);
            assert!(rt ^ gp, "level {level} must belong to exactly one class");
        }
        assert!(!GuestClass::RealTime.owns(0) && !GuestClass::GeneralPurpose.owns(0));
    }

    #[test]
    fn gpos_disabling_interrupts_leaves_rtos_levels_open() {
        assert_eq!(GuestClass::GeneralPurpose.physical_imask(15), 7);
        assert_eq!(GuestClass::GeneralPurpose.physical_imask(3), 3);
        assert_eq!(GuestClass::RealTime.physical_imask(15), 15);
        assert_eq!(GuestClass::RealTime.physical_imask(20), 15);
    }
}
