//! Receipt codes: the reporter's only credential (DESIGN.md, "Receipt code").
//!
//! 100 bits from the caller's CSPRNG, written as 20 Crockford base32 symbols and
//! one Luhn mod 32 check symbol. Pure: no I/O, no clock, no hidden randomness.
//! A `Receipt` never implements `Debug` or `Display` by accident: the text form
//! is only produced by [`Receipt::grouped`] for the one page that shows it.

use rand::{CryptoRng, Rng};
use zeroize::{Zeroize, ZeroizeOnDrop, Zeroizing};

/// Crockford's base32 alphabet (no I, L, O, U).
const ALPHABET: &[u8; 32] = b"0123456789ABCDEFGHJKMNPQRSTVWXYZ";
/// Symbols that carry entropy: 20 × 5 bits = 100 bits.
pub const DATA_SYMBOLS: usize = 20;
/// Data symbols plus the check symbol.
pub const CODE_LEN: usize = DATA_SYMBOLS + 1;

/// A receipt code, held as its 21 canonical ASCII symbols (check symbol last).
#[derive(Clone, PartialEq, Eq, Zeroize, ZeroizeOnDrop)]
pub struct Receipt {
    /// Canonical upper-case symbols, check symbol included.
    symbols: [u8; CODE_LEN],
}

/// Why a typed code is not a receipt. All of these are shown to the reporter
/// as "check the code": they are typos, found before any lookup.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum ReceiptError {
    /// Too few or too many symbols once spaces and hyphens are removed.
    #[error("a receipt code has 21 characters")]
    Length,
    /// A character that is not in the alphabet.
    #[error("the receipt code holds a character that cannot be in it")]
    Character,
    /// The check symbol does not match: almost surely a typo.
    #[error("the receipt code's check character does not match")]
    Check,
}

impl Receipt {
    /// Draws a fresh receipt: 100 uniformly random bits.
    pub fn generate<R: Rng + CryptoRng + ?Sized>(rng: &mut R) -> Receipt {
        let mut values = Zeroizing::new([0u8; CODE_LEN]);
        // One byte per symbol, masked to 5 bits: uniform because 256 is a
        // multiple of 32.
        rng.fill_bytes(&mut values[..DATA_SYMBOLS]);
        for v in values[..DATA_SYMBOLS].iter_mut() {
            *v &= 0x1f;
        }
        values[DATA_SYMBOLS] = check_value(&values[..DATA_SYMBOLS]);
        let mut symbols = [0u8; CODE_LEN];
        for (s, v) in symbols.iter_mut().zip(values.iter()) {
            *s = ALPHABET[usize::from(*v)];
        }
        Receipt { symbols }
    }

    /// Reads what a person typed: case-insensitive, spaces and hyphens ignored,
    /// I and L read as 1, O read as 0.
    pub fn parse(input: &str) -> Result<Receipt, ReceiptError> {
        let mut values = Zeroizing::new([0u8; CODE_LEN]);
        let mut n = 0usize;
        for c in input.chars() {
            if c.is_whitespace() || c == '-' {
                continue;
            }
            let v = symbol_value(c).ok_or(ReceiptError::Character)?;
            if n == CODE_LEN {
                return Err(ReceiptError::Length);
            }
            values[n] = v;
            n += 1;
        }
        if n != CODE_LEN {
            return Err(ReceiptError::Length);
        }
        if check_value(&values[..DATA_SYMBOLS]) != values[DATA_SYMBOLS] {
            return Err(ReceiptError::Check);
        }
        let mut symbols = [0u8; CODE_LEN];
        for (s, v) in symbols.iter_mut().zip(values.iter()) {
            *s = ALPHABET[usize::from(*v)];
        }
        Ok(Receipt { symbols })
    }

    /// The canonical bytes that every derivation uses (21 ASCII symbols).
    pub fn canonical(&self) -> &[u8; CODE_LEN] {
        &self.symbols
    }

    /// The form shown to people: `K7QF-3MZX-9PDA-W2RT-HX4C7`.
    pub fn grouped(&self) -> Zeroizing<String> {
        let mut out = Zeroizing::new(String::with_capacity(CODE_LEN + 4));
        for (i, s) in self.symbols.iter().enumerate() {
            if i > 0 && i % 4 == 0 && i < DATA_SYMBOLS {
                out.push('-');
            }
            out.push(char::from(*s));
        }
        out
    }
}

/// Maps one typed character to its 5-bit value, with Crockford's aliases.
fn symbol_value(c: char) -> Option<u8> {
    let c = match c.to_ascii_uppercase() {
        'I' | 'L' => '1',
        'O' => '0',
        other => other,
    };
    ALPHABET.iter().position(|&a| char::from(a) == c).and_then(|p| u8::try_from(p).ok())
}

/// Luhn mod 32 check value over the data symbols' values.
fn check_value(values: &[u8]) -> u8 {
    const N: u32 = 32;
    let mut factor = 2u32;
    let mut sum = 0u32;
    for v in values.iter().rev() {
        let addend = factor * u32::from(*v);
        factor = if factor == 2 { 1 } else { 2 };
        sum += addend / N + addend % N;
    }
    // (N - sum % N) % N is always below 32.
    u8::try_from((N - sum % N) % N).unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use rand::SeedableRng;

    fn seeded(seed: u64) -> rand::rngs::StdRng {
        rand::rngs::StdRng::seed_from_u64(seed)
    }

    #[test]
    fn grouped_form_has_four_groups_of_four_and_one_of_five() {
        let r = Receipt::generate(&mut seeded(1));
        let g = r.grouped();
        let parts: Vec<&str> = g.split('-').collect();
        assert_eq!(parts.iter().map(|p| p.len()).collect::<Vec<_>>(), vec![4, 4, 4, 4, 5]);
    }

    #[test]
    fn fixed_vector_check_symbol() {
        // 20 zero symbols: the check symbol is 0 as well.
        assert!(Receipt::parse("0000-0000-0000-0000-00000").is_ok());
        // "0000 ... 0001": Luhn weights the last data symbol by 2, so the
        // check value is 32 - 2 = 30, which is 'Y'.
        assert!(Receipt::parse("0000-0000-0000-0000-0001Y").is_ok());
        assert_eq!(Receipt::parse("0000-0000-0000-0000-0001X").err(), Some(ReceiptError::Check));
    }

    #[test]
    fn reads_aliases_case_and_separators() {
        let r = Receipt::parse("0000-0000-0000-0000-0001Y").ok();
        let typed = Receipt::parse(" ooOO oooo-0000 0000  000lY ").ok();
        assert!(r.is_some());
        assert!(r == typed);
    }

    #[test]
    fn rejects_wrong_length_and_characters() {
        assert_eq!(Receipt::parse("").err(), Some(ReceiptError::Length));
        assert_eq!(Receipt::parse("0000-0000-0000-0000-0000").err(), Some(ReceiptError::Length));
        assert_eq!(Receipt::parse("0000-0000-0000-0000-000000").err(), Some(ReceiptError::Length));
        assert_eq!(Receipt::parse("0000-0000-0000-0000-000U0").err(), Some(ReceiptError::Character));
        assert_eq!(Receipt::parse("0000-0000-0000-0000-000é0").err(), Some(ReceiptError::Character));
    }

    #[test]
    fn generated_codes_differ() {
        let mut rng = seeded(7);
        let a = Receipt::generate(&mut rng);
        let b = Receipt::generate(&mut rng);
        assert!(a != b);
    }

    proptest! {
        #[test]
        fn roundtrip(seed in any::<u64>()) {
            let r = Receipt::generate(&mut seeded(seed));
            let parsed = Receipt::parse(&r.grouped()).ok();
            prop_assert!(parsed == Some(r.clone()));
            let lower = r.grouped().to_lowercase().replace('-', " ");
            prop_assert!(Receipt::parse(&lower).ok() == Some(r));
        }

        #[test]
        fn any_single_substitution_is_caught(seed in any::<u64>(), pos in 0usize..CODE_LEN, delta in 1u8..32) {
            let r = Receipt::generate(&mut seeded(seed));
            let mut s = r.canonical().to_vec();
            let v = symbol_value(char::from(s[pos])).unwrap_or(0);
            s[pos] = ALPHABET[usize::from((v + delta) % 32)];
            let typed = String::from_utf8(s).unwrap_or_default();
            prop_assert_eq!(Receipt::parse(&typed).err(), Some(ReceiptError::Check));
        }

        #[test]
        fn parse_never_panics(s in "\\PC{0,64}") {
            let _ = Receipt::parse(&s);
        }
    }
}
