//! Random ids, with the randomness supplied by the caller.
//!
//! The core never reads a clock or a random source itself: the shell implements [`Entropy`]
//! (with `crypto.getRandomValues`, or a weaker fallback when crypto is missing) and tests use a
//! seeded one.

/// A source of random 64-bit words.
pub trait Entropy {
    /// The next random word.
    fn next_u64(&mut self) -> u64;
}

/// A deterministic [`Entropy`] (SplitMix64) for tests and as the shell's last-resort fallback.
///
/// ```
/// use funnelcake_core::id::{Entropy, SplitMix64};
/// let mut a = SplitMix64(7);
/// let mut b = SplitMix64(7);
/// assert_eq!(a.next_u64(), b.next_u64());
/// ```
#[derive(Debug, Clone)]
pub struct SplitMix64(pub u64);

impl Entropy for SplitMix64 {
    fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
}

/// A new random 128-bit id as 32 lowercase hex characters.
///
/// ```
/// use funnelcake_core::id::{new_id, SplitMix64};
/// let id = new_id(&mut SplitMix64(1));
/// assert!(funnelcake_core::wire::is_event_id(&id));
/// ```
pub fn new_id(rng: &mut dyn Entropy) -> String {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    let mut s = String::with_capacity(32);
    for word in [rng.next_u64(), rng.next_u64()] {
        for shift in (0..16).rev() {
            s.push(HEX[((word >> (shift * 4)) & 15) as usize] as char);
        }
    }
    s
}
