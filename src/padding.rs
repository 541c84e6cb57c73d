//! Padmé padding (Nikitin et al., "Reducing Metadata Leakage from Encrypted
//! Files and Communication with PURBs", PETS 2019).
//!
//! Every plaintext is padded to `padded_len(L)` before it is encrypted, so a
//! seized disk learns only O(log log L) bits of each length. The true length is
//! kept inside the encrypted manifest, never beside the ciphertext. Pure code.

/// Nothing is stored shorter than this: a one-line tip and a two-page tip look
/// the same on disk.
pub const FLOOR: u64 = 1024;

/// The Padmé length for a plaintext of `len` bytes (never less than [`FLOOR`]).
pub fn padded_len(len: u64) -> u64 {
    if len <= FLOOR {
        return FLOOR;
    }
    // E = floor(log2 L), S = floor(log2 E) + 1, mask = 2^(E-S) - 1.
    let e = 63 - u64::from(len.leading_zeros());
    let s = 63 - u64::from(e.leading_zeros()) + 1;
    let mask = (1u64 << (e - s)) - 1;
    // len + mask cannot overflow for the sizes a request can carry (< 2^62).
    len.saturating_add(mask) & !mask
}

/// How many padding bytes follow `len` bytes of plaintext.
pub fn padding_for(len: u64) -> u64 {
    padded_len(len) - len
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn floor_for_small_inputs() {
        assert_eq!(padded_len(0), FLOOR);
        assert_eq!(padded_len(1), FLOOR);
        assert_eq!(padded_len(1024), 1024);
    }

    #[test]
    fn paper_vectors() {
        // L = 1025: E = 10, S = 4, mask = 63 -> 1088.
        assert_eq!(padded_len(1025), 1088);
        // L = 9000: E = 13, S = 4, mask = 511 -> 9216.
        assert_eq!(padded_len(9000), 9216);
        // L = 100 MiB: E = 26, S = 5, mask = 2^21 - 1: already a multiple.
        assert_eq!(padded_len(100 << 20), 100 << 20);
        assert_eq!(padded_len((100 << 20) + 1), (100 << 20) + (1 << 21));
    }

    proptest! {
        #[test]
        fn never_shorter_and_at_most_12_percent_longer(len in 0u64..(1u64 << 40)) {
            let p = padded_len(len);
            prop_assert!(p >= len);
            prop_assert!(p >= FLOOR);
            if len > FLOOR {
                prop_assert!((p - len) as f64 <= 0.12 * len as f64 + 1.0);
            }
            // Idempotent: a padded length pads to itself.
            prop_assert_eq!(padded_len(p), p);
        }
    }
}
