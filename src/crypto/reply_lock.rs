//! How a report's reply recipient is kept so that only the investigators can
//! read it, at the cost of no public-key operation per tip. Never writes the
//! key in the clear.
//!
//! Sealing each reply recipient with age to every investigator costs two
//! X25519 multiplications per investigator per tip, which took a quarter of
//! the tip rate (docs/PERFORMANCE.md). Instead the server makes one random
//! 256-bit key per start, stores it only as an age file sealed to the
//! investigators (the standard KEM), and locks each reply recipient with
//! ChaCha20-Poly1305 under it (ring's AEAD, a fresh random 96-bit nonce per
//! record, the key's id as associated data). Investigators open the key with
//! their identity offline, then the recipient. A copy of the data folder holds
//! the key only sealed, so it cannot tell which receipt a report belongs to.

use std::collections::HashMap;
use std::io::Read;

use ring::aead::{Aad, LessSafeKey, Nonce, UnboundKey, CHACHA20_POLY1305, NONCE_LEN};
use zeroize::Zeroizing;

use super::ed25519::{b64, unb64};
use super::{at_rest, fill_random, hex, CryptoError, Identities, Recipients};

/// One start's key for locking reply recipients.
pub struct ReplyLock {
    /// A random id (hex), naming the key in records and in `meta`.
    id: String,
    /// The key, in memory only.
    key: LessSafeKey,
    /// The key sealed to the investigators (base64 of an age file).
    sealed: String,
}

impl ReplyLock {
    /// A fresh key, sealed to `recipients`.
    pub fn new(recipients: &Recipients) -> Result<ReplyLock, CryptoError> {
        let mut raw = Zeroizing::new([0u8; 32]);
        fill_random(&mut raw[..]);
        let mut id = [0u8; 8];
        fill_random(&mut id);
        let sealed = b64(&at_rest::seal_bytes_exact(recipients, &raw[..])?);
        let key = UnboundKey::new(&CHACHA20_POLY1305, &raw[..]).map_err(|_| CryptoError::Decrypt)?;
        Ok(ReplyLock { id: hex(&id), key: LessSafeKey::new(key), sealed })
    }

    /// The key's id.
    pub fn id(&self) -> &str {
        &self.id
    }

    /// The key sealed to the investigators (base64).
    pub fn sealed(&self) -> &str {
        &self.sealed
    }

    /// Locks `text`: `ID:` then base64 of the nonce and the ciphertext.
    pub fn lock(&self, text: &str) -> Result<String, CryptoError> {
        let mut nonce = [0u8; NONCE_LEN];
        fill_random(&mut nonce);
        let mut buf = text.as_bytes().to_vec();
        self.key
            .seal_in_place_append_tag(Nonce::assume_unique_for_key(nonce), Aad::from(self.id.as_bytes()), &mut buf)
            .map_err(|_| CryptoError::Decrypt)?;
        Ok(format!("{}:{}", self.id, b64(&[&nonce[..], &buf].concat())))
    }
}

/// The id of the key a locked text names.
pub fn key_id(locked: &str) -> Option<&str> {
    locked.split_once(':').map(|(id, _)| id)
}

/// Opens locked texts with an investigator's identities, opening each
/// sealed key once (a bundle names the same key for every report of a run).
pub struct Unlocker<'a> {
    /// The investigator's identities.
    ids: &'a Identities,
    /// Sealed key (base64) → the key, or `None` if it did not open.
    keys: HashMap<String, Option<LessSafeKey>>,
}

impl<'a> Unlocker<'a> {
    /// An unlocker for `ids`.
    pub fn new(ids: &'a Identities) -> Unlocker<'a> {
        Unlocker { ids, keys: HashMap::new() }
    }

    /// Opens `locked` with the sealed key (base64) that [`key_id`] names.
    pub fn unlock(&mut self, sealed_key: &str, locked: &str) -> Option<String> {
        let (id, rest) = locked.split_once(':')?;
        let ids = self.ids;
        let key = self.keys.entry(sealed_key.to_string()).or_insert_with(|| open_key(ids, sealed_key)).as_ref()?;
        let mut data = unb64(rest)?;
        if data.len() < NONCE_LEN {
            return None;
        }
        let mut body = data.split_off(NONCE_LEN);
        let nonce = Nonce::try_assume_unique_for_key(&data).ok()?;
        let plain = key.open_in_place(nonce, Aad::from(id.as_bytes()), &mut body).ok()?;
        String::from_utf8(plain.to_vec()).ok()
    }
}

/// Opens a sealed key with an investigator's identities.
fn open_key(ids: &Identities, sealed_key: &str) -> Option<LessSafeKey> {
    let mut raw = Zeroizing::new(Vec::new());
    ids.open(unb64(sealed_key)?.as_slice()).ok()?.read_to_end(&mut raw).ok()?;
    Some(LessSafeKey::new(UnboundKey::new(&CHACHA20_POLY1305, &raw).ok()?))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_an_investigator_unlocks_and_nothing_altered_opens() {
        let (secret, public) = super::super::new_identity();
        let ids = Identities::parse(&secret).unwrap_or_else(|_| unreachable!());
        let lock = ReplyLock::new(&Recipients::parse(&public).unwrap_or_else(|_| unreachable!()))
            .unwrap_or_else(|_| unreachable!());
        let locked = lock.lock("age1reply").unwrap_or_default();
        assert_eq!(key_id(&locked), Some(lock.id()));
        let mut u = Unlocker::new(&ids);
        assert_eq!(u.unlock(lock.sealed(), &locked).as_deref(), Some("age1reply"));
        assert_eq!(u.unlock(lock.sealed(), &lock.lock("age1other").unwrap_or_default()).as_deref(), Some("age1other"));
        assert_ne!(lock.lock("age1reply").unwrap_or_default(), locked, "a fresh nonce each time");
        let (other, _) = super::super::new_identity();
        let other = Identities::parse(&other).unwrap_or_else(|_| unreachable!());
        assert_eq!(Unlocker::new(&other).unlock(lock.sealed(), &locked), None);
        let swapped = format!("{}{}", "0".repeat(16), &locked[16..]);
        assert_eq!(u.unlock(lock.sealed(), &swapped), None, "the id is authenticated");
    }
}
