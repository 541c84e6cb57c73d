//! Key files: made 0600, read back, protected with a passphrase, and the examples in keys/ parsed.

use super::*;
use std::os::unix::fs::PermissionsExt;

#[test]
fn keygen_writes_0600_and_refuses_to_overwrite() {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let keys = keygen(dir.path(), "2026-11-26", None).unwrap_or_else(|e| panic!("{e}"));
    for f in [IDENTITY_FILE, SIGNING_FILE, TRANSFER_FILE] {
        let mode = fs::metadata(dir.path().join(f)).map(|m| m.permissions().mode() & 0o777).unwrap_or(0);
        assert_eq!(mode, 0o600, "{f}");
    }
    assert!(keys.recipient.starts_with("age1"));
    assert_ne!(keys.signing, keys.transfer);
    assert!(matches!(keygen(dir.path(), "x", None), Err(KeyError::Exists(_))));
    let server = dir.path().join("server-keys");
    check_new_name(&server, "ani").unwrap_or_else(|e| panic!("{e}"));
    add_to_server_keys(&server, &keys, "ani").unwrap_or_else(|e| panic!("{e}"));
    assert!(load_recipients(&server).is_ok());
    assert_eq!(load_investigators(&server).map(|s| s.all().len()).unwrap_or(0), 2);
    for taken in ["ani", "ani-transfer"] {
        assert!(matches!(check_new_name(&server, taken), Err(KeyError::NameTaken(_, _))), "{taken}");
    }
    check_new_name(&server, "budi").unwrap_or_else(|e| panic!("{e}"));
    for bad in ["", "ani rahma", "a#b"] {
        assert!(matches!(check_new_name(&server, bad), Err(KeyError::BadName(_))), "{bad:?}");
    }
    let signing = read_secret_text(&dir.path().join(SIGNING_FILE), || None).unwrap_or_default();
    assert_eq!(SecretKey::parse(&signing).map(|k| k.public()).ok(), Some(keys.signing));
    assert_eq!(key_role(&signing), Some(crate::investigators::Role::Sign));
    let transfer = read_secret_text(&dir.path().join(TRANSFER_FILE), || None).unwrap_or_default();
    assert_eq!(key_role(&transfer), Some(crate::investigators::Role::Transfer));
    assert_eq!(key_role("PELUIT-ED25519-SECRET-1:AAAA"), None);
    let text = fs::read_to_string(&keys.identity).unwrap_or_default();
    assert!(crypto::Identities::parse(&text).is_ok());
}

/// The `keys/*.example` files document the formats; they must parse with
/// the same code the server uses, and agree with each other.
#[test]
fn the_example_key_files_parse_and_agree() {
    let recipients = include_str!("../../keys/recipients.txt.example");
    let investigators = include_str!("../../keys/investigators.txt.example");
    let keyset = include_str!("../../keys/keyset.json.example");
    let parsed = Recipients::parse(recipients).unwrap_or_else(|e| panic!("recipients example: {e}"));
    assert_eq!(parsed.to_strings().len(), 2);
    let people = Investigators::parse(investigators).unwrap_or_else(|e| panic!("investigators example: {e}"));
    let ani = people.all().iter().find(|i| i.name == "ani").unwrap_or_else(|| panic!("no ani"));
    let set: crate::published::SignedKeySet =
        serde_json::from_str(keyset).unwrap_or_else(|e| panic!("keyset example: {e}"));
    let signed_at = crate::published::peek(&set).map_or(0, |p| p.time);
    let pin = crate::published::Pin::parse(&ani.key.fingerprint()).unwrap_or_else(|e| panic!("{e}"));
    let payload = crate::published::verify(&set, &pin, "00112233445566778899aabbccddeeff", signed_at)
        .unwrap_or_else(|e| panic!("keyset example: {e}"));
    assert_eq!(payload.recipients, parsed.to_strings());
    let signers = people.signers();
    assert_eq!(payload.signers, signers);
}

#[test]
fn each_signing_raises_the_version_and_never_lowers_it() {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let keys = keygen(&dir.path().join("ani"), "x", None).unwrap_or_else(|e| panic!("{e}"));
    let server = dir.path().join("server");
    add_to_server_keys(&server, &keys, "ani").unwrap_or_else(|e| panic!("{e}"));
    let key =
        SecretKey::parse(&read_secret_text(&dir.path().join("ani").join(SIGNING_FILE), || None).unwrap_or_default())
            .unwrap_or_else(|e| panic!("{e}"));
    let (recipients, investigators) = (server.join(RECIPIENTS_FILE), server.join(INVESTIGATORS_FILE));
    let req = |valid_days, version| KeySetRequest {
        recipients: &recipients,
        investigators: &investigators,
        deployment: "d",
        valid_days,
        version,
        server: None,
    };
    let out = server.join(KEYSET_FILE);
    let sign = |r: KeySetRequest<'_>| sign_keyset(&r, &key, 1000, &out);
    let first = sign(req(90, None)).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!((first.version, first.expires, first.signers.len()), (1, 1000 + 90 * 86_400, 1));
    assert_eq!(sign(req(90, None)).map(|p| p.version).ok(), Some(2));
    assert!(matches!(sign(req(90, Some(2))), Err(KeyError::VersionNotAbove(_, 2))));
    assert_eq!(sign(req(90, Some(7))).map(|p| p.version).ok(), Some(7));
    assert!(matches!(sign(req(0, None)), Err(KeyError::ValidDays(0))));
    assert!(matches!(sign(req(367, None)), Err(KeyError::ValidDays(367))));
    fs::write(&investigators, format!("{} transfer t\n", keys.transfer.to_text())).unwrap_or_default();
    assert!(matches!(sign(req(90, None)), Err(KeyError::NoSigners(_))));
}

#[test]
fn recipients_file_errors_are_clear() {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    assert!(matches!(load_recipients(dir.path()), Err(KeyError::Read(..))));
    fs::write(dir.path().join(RECIPIENTS_FILE), "# nobody\n").unwrap_or_else(|e| panic!("{e}"));
    let err = load_recipients(dir.path()).err().map(|e| e.to_string()).unwrap_or_default();
    assert!(err.contains("no recipient"), "{err}");
}
