//! What keeps a copy of the data folder from confirming a receipt: the
//! deployment secret lives outside it ([`Store::with_secret`]), each report's
//! reply recipient is stored sealed to the investigators, and replies and
//! notes (which the key derived from a receipt opens) are sealed once more to
//! the at-rest key derived from the secret. Never stores the secret.

use std::path::Path;
use std::sync::Arc;

use super::{Store, StoreError};
use crate::crypto::at_rest::{self, AtRestKey};
use crate::crypto::reply_lock::{self, ReplyLock};
use crate::crypto::{self, DeploymentSecret, Recipients};
use crate::model::BlobRef;

/// Blurs the data folder's times once the last handle to the store is gone
/// (see [`super::layout::blur`]).
pub(super) struct Closing(pub(super) Arc<Path>);

impl Drop for Closing {
    fn drop(&mut self) {
        if let Err(e) = super::layout::blur(&self.0) {
            tracing::warn!(error = %e, "could not reset the data folder's file times");
        }
    }
}

impl Store {
    /// Sets the deployment secret (read from its credential file). The first
    /// secret given to a data folder is remembered by a fingerprint; another
    /// one is refused, since every receipt would then be unknown.
    pub fn with_secret(mut self, secret: DeploymentSecret) -> Result<Store, StoreError> {
        let check = at_rest::secret_check(&secret);
        match self.meta.get("secret_check")? {
            Some(v) if v.as_ref() != check => {
                return Err(StoreError::Exposed(
                    "the deployment secret file does not belong to this data folder: restore the right one".into(),
                ))
            }
            Some(_) => {}
            None => {
                self.meta.insert("secret_check", &check[..])?;
                self.db.flush()?;
            }
        }
        self.at_rest = Some(Arc::new(AtRestKey::derive(&secret)));
        self.secret = secret;
        Ok(self)
    }

    /// The secret, or an error for a store opened without it.
    pub(super) fn secret_for_receipts(&self) -> Result<&DeploymentSecret, StoreError> {
        match self.at_rest {
            Some(_) => Ok(&self.secret),
            None => Err(StoreError::Db("no deployment secret was given: receipts cannot be issued or found".into())),
        }
    }

    /// The secret an older peluit kept in the database, if any: such a
    /// folder must be rewritten by `peluit compact` before it is served.
    pub fn legacy_secret(&self) -> Result<Option<DeploymentSecret>, StoreError> {
        Ok(self.meta.get("secret")?.and_then(|v| DeploymentSecret::from_bytes(&v)))
    }

    /// Whether the database holds no report yet (a new deployment).
    pub fn is_empty(&self) -> Result<bool, StoreError> {
        Ok(self.reports.is_empty() && self.meta.get("secret_check")?.is_none())
    }

    /// Makes this run's reply-lock key, sealed to `recipients`, and records
    /// the sealed key in `meta` (exports carry it to the investigators).
    pub(super) fn new_reply_lock(&self, recipients: &Recipients) -> Result<(), StoreError> {
        let lock = ReplyLock::new(recipients).map_err(|e| StoreError::Db(e.to_string()))?;
        self.meta.insert(format!("reply_key/{}", lock.id()), lock.sealed().as_bytes())?;
        *self.reply_lock.write().unwrap_or_else(std::sync::PoisonError::into_inner) = Some(Arc::new(lock));
        Ok(())
    }

    /// Locks a report's reply recipient for the investigators: the server
    /// never needs it, and the offline machine opens it to seal replies.
    pub(super) fn seal_reply_recipient(&self, recipient: &str) -> Result<String, StoreError> {
        let guard = self.reply_lock.read().unwrap_or_else(std::sync::PoisonError::into_inner);
        let lock = guard.as_ref().ok_or_else(|| StoreError::Db("no recipients recorded to seal to".into()))?;
        lock.lock(recipient).map_err(|e| StoreError::Db(e.to_string()))
    }

    /// Whether this store was given the deployment secret, so that it can
    /// read the replies and notes it keeps sealed at rest.
    pub fn holds_secret(&self) -> bool {
        self.at_rest.is_some()
    }

    /// The sealed key that a locked reply recipient names, for a bundle.
    pub fn reply_key(&self, locked: &str) -> Result<String, StoreError> {
        let id = reply_lock::key_id(locked).ok_or_else(|| StoreError::Corrupt("reply recipient".into()))?;
        let v =
            self.meta.get(format!("reply_key/{id}"))?.ok_or_else(|| StoreError::Corrupt(format!("reply key {id}")))?;
        String::from_utf8(v.to_vec()).map_err(|_| StoreError::Corrupt(format!("reply key {id}")))
    }

    /// Stores a reply or note (an age file the receipt's key opens) sealed
    /// again to the at-rest key, as blob `id`; returns its reference, whose
    /// length is the inner file's.
    pub(super) fn put_wrapped(&self, inner: &[u8]) -> Result<BlobRef, StoreError> {
        let key = self.at_rest.as_ref().ok_or_else(|| StoreError::Db("no deployment secret was given".into()))?;
        self.ensure_room(inner.len() as u64)?;
        let outer = key.seal(inner).map_err(|e| StoreError::Db(e.to_string()))?;
        let id = crypto::random_id();
        self.wrapped.insert(id, outer)?;
        Ok(BlobRef { id: crypto::hex(&id), len: inner.len() as u64 })
    }

    /// The inner age file of a wrapped blob, if `id` is one.
    pub(super) fn read_wrapped(&self, id: &[u8; 16]) -> Result<Option<Vec<u8>>, StoreError> {
        let Some(outer) = self.wrapped.get(id)? else { return Ok(None) };
        let key = self.at_rest.as_ref().ok_or_else(|| StoreError::Db("no deployment secret was given".into()))?;
        key.open(&outer).map(Some).map_err(|_| StoreError::Corrupt(format!("reply {} does not open", crypto::hex(id))))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_store_keeps_to_its_secret_and_issues_no_receipt_without_one() {
        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
        let data = dir.path().join("data");
        let secret = DeploymentSecret::generate();
        let store = Store::open(&data).unwrap_or_else(|e| panic!("{e}"));
        assert!(store.is_empty().unwrap_or(false));
        assert!(store.secret_for_receipts().is_err(), "no receipt without the secret");
        assert!(store.put_wrapped(b"x").is_err(), "nothing sealed at rest without it");
        let store = store.with_secret(secret.clone()).unwrap_or_else(|e| panic!("{e}"));
        assert!(!store.is_empty().unwrap_or(true), "the folder now belongs to a secret");
        drop(store);
        let again = Store::open(&data).unwrap_or_else(|e| panic!("{e}"));
        assert!(matches!(again.with_secret(DeploymentSecret::generate()), Err(StoreError::Exposed(_))));
        let again = Store::open(&data).and_then(|s| s.with_secret(secret)).unwrap_or_else(|e| panic!("{e}"));
        assert!(again.legacy_secret().ok().flatten().is_none());
    }
}
