//! Receipt derivations, sealing, padding and identities against their specification.

use super::*;

fn receipt() -> Receipt {
    Receipt::parse("0000-0000-0000-0000-0001Y").unwrap_or_else(|_| unreachable!())
}

#[test]
fn lookup_key_vector() {
    // Fixed vector: secret = 32 × 0x42, code = 0000 0000 0000 0000 0001Y.
    let secret = DeploymentSecret([0x42; 32]);
    let k = lookup_key(&secret, &receipt());
    assert_eq!(hex(&k.0), LOOKUP_VECTOR);
    // A different secret gives a different key.
    let other = lookup_key(&DeploymentSecret([0x43; 32]), &receipt());
    assert_ne!(k.0, other.0);
}

#[test]
fn reply_identity_vector_and_roundtrip() {
    let id = reply_identity(&receipt());
    assert_eq!(id.recipient().to_string(), REPLY_VECTOR);
    let recips = Recipients::from_list(vec![id.recipient()]).unwrap_or_else(|_| unreachable!());
    let sealed = seal_bytes(&recips, b"balasan", Pad::Zeros).unwrap_or_default();
    let ids = Identities::parse(&id.to_age_string()).unwrap_or_else(|_| unreachable!());
    let mut out = Vec::new();
    ids.open(&sealed[..]).and_then(|mut r| Ok(r.read_to_end(&mut out)?)).unwrap_or_default();
    assert_eq!(out.len() as u64, padding::FLOOR);
    assert_eq!(&out[..7], b"balasan");
}

#[test]
fn sealed_blob_has_padme_length_and_age_header() {
    let (secret, public) = new_identity();
    let recips = Recipients::parse(&format!("# c\n\n{public}\n")).unwrap_or_else(|_| unreachable!());
    let sealed = seal_bytes(&recips, &[7u8; 1025], Pad::Zeros).unwrap_or_default();
    assert!(check_age_header(&sealed).is_ok());
    let ids = Identities::parse(&secret).unwrap_or_else(|_| unreachable!());
    let mut out = Vec::new();
    ids.open(&sealed[..]).and_then(|mut r| Ok(r.read_to_end(&mut out)?)).unwrap_or_default();
    assert_eq!(out.len(), 1088);
    assert!(out[..1025].iter().all(|b| *b == 7) && out[1025..].iter().all(|b| *b == 0));
}

#[test]
fn rejects_non_age_and_bad_recipients() {
    assert!(matches!(check_age_header(b"hello world"), Err(CryptoError::NotAge)));
    assert!(matches!(Recipients::parse("# only a comment\n"), Err(CryptoError::NoRecipients)));
    assert!(matches!(Recipients::parse("age1nope\n"), Err(CryptoError::BadRecipient { line: 1 })));
}

#[test]
fn hex_roundtrip() {
    let id = random_id();
    assert_eq!(unhex::<16>(&hex(&id)), Some(id));
    assert_eq!(unhex::<2>("zz00"), None);
}

// Computed independently (Python hmac; RFC 5869 HKDF, bech32, then `age-keygen -y`).
const LOOKUP_VECTOR: &str = "3c96520dab688b913a7e4877fa1a8c532a488dcf73b888842b6a73d936cc9df1";
const REPLY_VECTOR: &str = "age1d0m65d57wzwfz6tgyfrgtnr40t0qaqhx4x8z22j0l5ky0xkfldpsz6rgg0";
