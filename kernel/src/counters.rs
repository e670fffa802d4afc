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
    /// A fingerprint of the layout: for a struct, its fields' names, word
    /// counts and layouts in order. A reader that finds a different value
    /// beside the words knows it would decode them wrongly (an image built
    /// from other sources than the host reading it).
    const LAYOUT: u32;
    /// Decode from the first [`Words::WORDS`] of `w` (missing words read 0).
    fn from_words(w: &[u64]) -> Self;
    /// Encode into the first [`Words::WORDS`] of `out`.
    fn to_words(&self, out: &mut [u64]);
}

impl Words for u64 {
    const WORDS: usize = 1;
    const LAYOUT: u32 = fnv1a(FNV_OFFSET, b"u64");
    fn from_words(w: &[u64]) -> u64 {
        w.first().copied().unwrap_or(0)
    }
    fn to_words(&self, out: &mut [u64]) {
        out[0] = *self;
    }
}

impl<const N: usize> Words for [u64; N] {
    const WORDS: usize = N;
    const LAYOUT: u32 = fnv1a(fnv1a(FNV_OFFSET, b"[u64]"), &(N as u32).to_le_bytes());
    fn from_words(w: &[u64]) -> [u64; N] {
        core::array::from_fn(|i| w.get(i).copied().unwrap_or(0))
    }
    fn to_words(&self, out: &mut [u64]) {
        out[..N].copy_from_slice(self);
    }
}

/// FNV-1a's starting value (32-bit).
pub const FNV_OFFSET: u32 = 0x811c_9dc5;

/// FNV-1a over `bytes`, continuing from `hash`: small, and computable in a
/// `const` on both sides of the memory.
pub const fn fnv1a(mut hash: u32, bytes: &[u8]) -> u32 {
    let mut i = 0;
    while i < bytes.len() {
        hash ^= bytes[i] as u32;
        hash = hash.wrapping_mul(0x0100_0193);
        i += 1;
    }
    hash
}

/// Implement [`Words`] for a `#[repr(C)]` struct whose fields (listed in
/// declaration order with their types) are all [`Words`]: its size must be
/// exactly the words, so the memory layout is the word order.
#[macro_export]
macro_rules! word_counters {
    ($ty:ty { $($field:ident : $fty:ty),* $(,)? }) => {
        impl $crate::counters::Words for $ty {
            const WORDS: usize = 0 $(+ <$fty as $crate::counters::Words>::WORDS)*;
            const LAYOUT: u32 = {
                let hash = $crate::counters::FNV_OFFSET;
                $(
                    let hash = $crate::counters::fnv1a(hash, stringify!($field).as_bytes());
                    let hash = $crate::counters::fnv1a(hash, &<$fty as $crate::counters::Words>::LAYOUT.to_le_bytes());
                )*
                hash
            };
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

#[cfg(test)]
mod tests {
    use super::Words;

    #[repr(C)]
    struct Before {
        a: u64,
        b: [u64; 3],
    }
    word_counters!(Before { a: u64, b: [u64; 3] });

    #[repr(C)]
    struct Same {
        a: u64,
        b: [u64; 3],
    }
    word_counters!(Same { a: u64, b: [u64; 3] });

    #[repr(C)]
    struct Added {
        a: u64,
        c: u64,
        b: [u64; 3],
    }
    word_counters!(Added { a: u64, c: u64, b: [u64; 3] });

    #[repr(C)]
    struct Renamed {
        x: u64,
        b: [u64; 3],
    }
    word_counters!(Renamed { x: u64, b: [u64; 3] });

    #[repr(C)]
    struct Longer {
        a: u64,
        b: [u64; 4],
    }
    word_counters!(Longer { a: u64, b: [u64; 4] });

    #[repr(C)]
    struct Nested {
        a: u64,
        inner: Before,
    }
    word_counters!(Nested { a: u64, inner: Before });

    #[repr(C)]
    struct NestedChanged {
        a: u64,
        inner: Added,
    }
    word_counters!(NestedChanged { a: u64, inner: Added });

    #[test]
    fn the_layout_fingerprint_follows_names_order_sizes_and_nesting() {
        assert_eq!(Before::LAYOUT, Same::LAYOUT, "the same fields, the same fingerprint");
        for (what, other) in [("a field added", Added::LAYOUT), ("a field renamed", Renamed::LAYOUT), ("an array longer", Longer::LAYOUT)] {
            assert_ne!(Before::LAYOUT, other, "{what}");
        }
        // Renaming a nested struct's type alone changes nothing; changing
        // its fields does.
        assert_ne!(Nested::LAYOUT, NestedChanged::LAYOUT);
        assert_eq!(Nested::WORDS, 5);
    }

    #[test]
    fn counters_round_trip_through_words() {
        let v = Added { a: 1, c: 2, b: [3, 4, 5] };
        let mut w = [0u64; 5];
        v.to_words(&mut w);
        assert_eq!(w, [1, 2, 3, 4, 5]);
        let back = Added::from_words(&w);
        assert_eq!((back.a, back.c, back.b), (1, 2, [3, 4, 5]));
    }
}
