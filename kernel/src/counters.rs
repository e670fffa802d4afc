//! Counters as 64-bit words: how an instance's statistics are laid out in
//! its core-local memory so that a reader of that memory (a debug probe on
//! a board, the host's trace reader on the simulator) can decode them
//! without sharing a Rust value with the instance.
//!
//! Owns: the [`Words`] trait and the [`word_counters!`] macro that
//! implements it for a `#[repr(C)]` struct of `u64` counters (and arrays
//! and structs of them), checking at compile time that the struct is
//! exactly its words in declaration order. Must not touch: what the
//! counters count.

/// A value stored as consecutive 64-bit words.
pub trait Words: Sized {
    const WORDS: usize;
    /// Decode from the first [`Words::WORDS`] of `w` (missing words read 0).
    fn from_words(w: &[u64]) -> Self;
    /// Encode into the first [`Words::WORDS`] of `out`.
    fn to_words(&self, out: &mut [u64]);
}

impl Words for u64 {
    const WORDS: usize = 1;
    fn from_words(w: &[u64]) -> u64 {
        w.first().copied().unwrap_or(0)
    }
    fn to_words(&self, out: &mut [u64]) {
        out[0] = *self;
    }
}

impl<const N: usize> Words for [u64; N] {
    const WORDS: usize = N;
    fn from_words(w: &[u64]) -> [u64; N] {
        core::array::from_fn(|i| w.get(i).copied().unwrap_or(0))
    }
    fn to_words(&self, out: &mut [u64]) {
        out[..N].copy_from_slice(self);
    }
}

/// Implement [`Words`] for a `#[repr(C)]` struct whose fields (listed in
/// declaration order with their types) are all [`Words`]: its size must be
/// exactly the words, so the memory layout is the word order.
#[macro_export]
macro_rules! word_counters {
    ($ty:ty { $($field:ident : $fty:ty),* $(,)? }) => {
        impl $crate::counters::Words for $ty {
            const WORDS: usize = 0 $(+ <$fty as $crate::counters::Words>::WORDS)*;
            fn from_words(w: &[u64]) -> Self {
                let mut at = 0usize;
                $(
                    let $field = <$fty as $crate::counters::Words>::from_words(w.get(at..).unwrap_or(&[]));
                    at += <$fty as $crate::counters::Words>::WORDS;
                )*
                let _ = at;
                Self { $($field),* }
            }
            fn to_words(&self, out: &mut [u64]) {
                let mut at = 0usize;
                $(
                    $crate::counters::Words::to_words(&self.$field, &mut out[at..]);
                    at += <$fty as $crate::counters::Words>::WORDS;
                )*
                let _ = at;
            }
        }
        const _: () = {
            assert!(
                core::mem::size_of::<$ty>() == 8 * <$ty as $crate::counters::Words>::WORDS,
                "a counters struct must be exactly its 64-bit words (#[repr(C)], every field listed)"
            );
            // Listed in declaration order: each field where the words say.
            let mut at = 0usize;
            $(
                assert!(core::mem::offset_of!($ty, $field) == 8 * at, "fields listed out of order");
                at += <$fty as $crate::counters::Words>::WORDS;
            )*
            let _ = at;
        };
    };
}
