//! Decrypt's reading of a client-sealed manifest: the reporter chooses every
//! byte of the plaintext. Opening it never panics, and whatever opens makes a
//! `report.md` with one `Status:` line, nothing hidden, and file names that
//! stay one harmless path component.
#![no_main]
use libfuzzer_sys::fuzz_target;
use peluit::crypto::{self, Identities, Pad, Recipients};
use peluit::decrypt::{markdown, read_manifest, safe_name};
use peluit::export::{IndexReport, IndexSubmission};
use peluit::model::{SealedBy, Status, SubmissionKind};
use peluit::safe_text::is_hidden;

thread_local! {
    /// An investigator's identity and recipient (an identity is not `Sync`).
    static KEYS: (Identities, Recipients) = {
        let (secret, public) = crypto::new_identity();
        (Identities::parse(&secret).expect("identity"), Recipients::parse(&public).expect("recipient"))
    };
}

fuzz_target!(|data: &[u8]| KEYS.with(|(ids, r)| {
    let sealed = crypto::seal_bytes(r, data, Pad::Spaces).expect("seal");
    let Ok(m) = read_manifest(ids, &mut sealed.as_slice(), "blobs/x.age") else { return };
    let sub = IndexSubmission {
        seq: 1,
        day: "2026-11-26".into(),
        kind: SubmissionKind::Tip,
        sealed_by: SealedBy::Client,
        manifest: "blobs/x.age".into(),
        attachments: Vec::new(),
    };
    let report = IndexReport {
        id: "a".repeat(32),
        created: "2026-11-26".into(),
        status: Status::Received,
        timeline: Vec::new(),
        reply_recipient: String::new(),
        submissions: Vec::new(),
    };
    let md = markdown(&report, &sub, &m);
    assert_eq!(md.lines().filter(|l| l.starts_with("- Status:")).count(), 1, "{md}");
    assert!(!md.chars().any(|c| is_hidden(c) && c != '\n' && c != '\t'), "{md}");
    for (i, a) in m.attachments.iter().enumerate() {
        let name = safe_name(&a.name, i + 1);
        assert!(!name.contains(['/', '\\']) && !name.starts_with(['.', '-']), "{name}");
    }
}));
