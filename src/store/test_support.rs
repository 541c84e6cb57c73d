//! Stores as unit tests make them: a private folder, a fresh secret, one
//! recipient, and reports under fresh receipts. Compiled for tests only.

use std::path::Path;

use super::Store;
use crate::crypto::{self, DeploymentSecret, LookupKey};
use crate::lifecycle::Opening;
use crate::model::{Report, Submission};

impl Store {
    /// A store for unit tests: a private folder inside `dir`, a fresh secret
    /// and one recipient.
    pub(crate) fn open_for_tests(dir: &Path) -> Store {
        let store = Store::open(&dir.join("data")).and_then(|s| s.with_secret(DeploymentSecret::generate()));
        let store = store.unwrap_or_else(|e| panic!("{e}"));
        store.set_recipients(&[crypto::new_identity().1]).unwrap_or_else(|e| panic!("{e}"));
        store
    }

    /// A report under a fresh receipt, as unit tests build one (not yet
    /// inserted), with its lookup key.
    pub(crate) fn report_for_tests(&self, first: Submission) -> (LookupKey, Report) {
        self.report_for_tests_under(&crypto::new_receipt(), first)
    }

    /// The same under `receipt`.
    pub(crate) fn report_for_tests_under(
        &self,
        receipt: &crate::receipt::Receipt,
        first: Submission,
    ) -> (LookupKey, Report) {
        // Under the throwaway secret too: some tests open a folder without one.
        let key = crypto::lookup_key(&self.secret, receipt);
        let opening = Opening {
            id: crypto::hex(&crypto::random_id()),
            lookup: crypto::hex(&key.0),
            reply_sealed: "age1x".into(),
        };
        (key, Report::open(opening, first))
    }
}
