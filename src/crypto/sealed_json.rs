//! Sealed JSON, the one format of every sealed document (a manifest, a reply,
//! a status note): serialised into one zeroized buffer, sealed, and padded
//! with spaces to its Padmé length so that the padded plaintext is still
//! JSON; opened within a size bound, unpadded and parsed.
//!
//! Must never leave an unzeroized copy of the plaintext behind.

use std::io::{Read, Write};

use serde::de::DeserializeOwned;
use serde::Serialize;
use zeroize::Zeroizing;

use super::{CryptoError, Pad, Recipients, Sealer};

/// The largest sealed reply or status note anyone opens (they are short
/// texts, padded).
pub const MAX_MESSAGE: u64 = 4 * 1024 * 1024;

/// Why a sealed document could not be read. Nothing of its plaintext is in it.
#[derive(Debug, thiserror::Error)]
pub enum OpenError {
    /// Decryption failed part way: the file is damaged.
    #[error("{0}: the file is damaged")]
    Damaged(std::io::Error),
    /// More plaintext than the bound allows.
    #[error("more than the {0} bytes allowed")]
    TooLarge(u64),
    /// The plaintext is not UTF-8.
    #[error("not UTF-8")]
    NotUtf8,
    /// The plaintext is not the expected JSON.
    #[error("{0}")]
    Json(#[from] serde_json::Error),
}

/// `value` as JSON in one zeroized buffer of its exact length.
pub fn to_json<T: Serialize + ?Sized>(value: &T) -> Result<Zeroizing<Vec<u8>>, CryptoError> {
    crate::model::secret_json(value).map_err(|e| CryptoError::Io(std::io::Error::other(e)))
}

/// Seals `json` (from [`to_json`]) to `recipients` into `out`, padded with
/// spaces. Returns the sink.
pub fn seal_to<W: Write>(recipients: &Recipients, out: W, json: &[u8]) -> Result<W, CryptoError> {
    let mut sealer = Sealer::new(recipients, out)?;
    sealer.write_all(json)?;
    Ok(sealer.finish(Pad::Spaces)?.0)
}

/// Seals `value` to `recipients` in memory.
pub fn seal<T: Serialize + ?Sized>(recipients: &Recipients, value: &T) -> Result<Vec<u8>, CryptoError> {
    let json = to_json(value)?;
    seal_to(recipients, Vec::with_capacity(json.len() + 512), &json)
}

/// Reads the plaintext that `opened` (a decrypting reader) yields, at most
/// `max` bytes, strips the padding and parses it.
pub fn open<T: DeserializeOwned>(opened: impl Read, max: u64) -> Result<T, OpenError> {
    let mut plain = Zeroizing::new(Vec::new());
    opened.take(max + 1).read_to_end(&mut plain).map_err(OpenError::Damaged)?;
    if plain.len() as u64 > max {
        return Err(OpenError::TooLarge(max));
    }
    let text = std::str::from_utf8(&plain).map_err(|_| OpenError::NotUtf8)?;
    // Spaces are the padding; zero bytes were the padding of early files.
    Ok(serde_json::from_str(text.trim_end_matches([' ', '\0']))?)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{ReplyText, REPLY_FORMAT};

    fn team() -> (crate::crypto::Identities, Recipients) {
        let (secret, public) = crate::crypto::new_identity();
        let ids = crate::crypto::Identities::parse(&secret).unwrap_or_else(|e| panic!("{e}"));
        (ids, Recipients::parse(&public).unwrap_or_else(|e| panic!("{e}")))
    }

    #[test]
    fn a_sealed_document_is_padded_with_spaces_and_opens_to_itself() {
        let (ids, recipients) = team();
        let reply = ReplyText { format: REPLY_FORMAT.into(), text: "Terima kasih".into() };
        let sealed = seal(&recipients, &reply).unwrap_or_else(|e| panic!("{e}"));
        // The padded plaintext: the JSON, then only spaces.
        let mut plain = Vec::new();
        ids.open(&sealed[..]).and_then(|mut r| Ok(r.read_to_end(&mut plain)?)).unwrap_or_else(|e| panic!("{e}"));
        let json = serde_json::to_vec(&reply).unwrap_or_default();
        assert!(plain.len() > json.len() && plain.starts_with(&json));
        assert!(plain[json.len()..].iter().all(|&b| b == b' '));
        let opened: ReplyText = open(ids.open(&sealed[..]).unwrap_or_else(|e| panic!("{e}")), MAX_MESSAGE)
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(opened, reply);
    }

    #[test]
    fn a_document_over_the_bound_or_not_json_is_refused() {
        let (ids, recipients) = team();
        let big = ReplyText { format: REPLY_FORMAT.into(), text: "x".repeat(5000) };
        let sealed = seal(&recipients, &big).unwrap_or_else(|e| panic!("{e}"));
        let opened = open::<ReplyText>(ids.open(&sealed[..]).unwrap_or_else(|e| panic!("{e}")), 1000);
        assert!(matches!(opened, Err(OpenError::TooLarge(1000))));
        let sealed = seal(&recipients, "just a string").unwrap_or_else(|e| panic!("{e}"));
        let opened = open::<ReplyText>(ids.open(&sealed[..]).unwrap_or_else(|e| panic!("{e}")), MAX_MESSAGE);
        assert!(matches!(opened, Err(OpenError::Json(_))));
    }
}
