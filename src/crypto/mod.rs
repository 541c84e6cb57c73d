//! The only module that calls age, ring and the OS random source.
//!
//! Everything stored is a standard age file (X25519 recipients), so the
//! reference `age` tool can open any blob with an investigator identity.
//! Derivations follow DESIGN.md, "Cryptographic decisions". Secrets live in
//! types that zeroize on drop and implement no `Debug`.

use std::io::{self, Read, Write};
use std::str::FromStr;

use age::secrecy::ExposeSecret;
use bech32::ToBase32;
use ring::{hkdf, hmac};
use zeroize::{Zeroize, ZeroizeOnDrop, Zeroizing};

pub mod at_rest;
pub mod bundle_sig;
pub mod ed25519;
pub mod followup_tag;
pub mod reply_lock;
pub mod sealed_json;
pub mod sha256;

use crate::padding;
use crate::receipt::Receipt;

/// Domain separation label of the lookup key (DESIGN.md).
const LOOKUP_LABEL: &[u8] = b"peluit/v1/lookup";
/// HKDF salt of the reply identity (DESIGN.md).
const REPLY_SALT: &[u8] = b"peluit/v1/reply";
/// HKDF info of the reply identity: the key is an X25519 scalar.
const REPLY_INFO: &[u8] = b"x25519";
/// The largest age header we accept in a part sealed by a client. A header
/// carries one ~200-byte stanza per recipient; 64 KiB is far beyond any real one.
pub const MAX_HEADER: usize = 64 * 1024;

/// Errors of the crypto boundary. Deliberately vague where detail would help
/// an attacker (a failed decryption is just `Decrypt`).
#[derive(Debug, thiserror::Error)]
pub enum CryptoError {
    /// A recipients file line that is not an `age1…` X25519 recipient.
    #[error("line {line}: not an age X25519 recipient (age1...)")]
    BadRecipient {
        /// 1-based line number in the file.
        line: usize,
    },
    /// The recipients file holds no recipient at all.
    #[error("no recipient: add at least one age1... line")]
    NoRecipients,
    /// Data that should be an age file is not one.
    #[error("not an age-encrypted file")]
    NotAge,
    /// Passphrase-encrypted age files cannot be read by investigators.
    #[error("passphrase-encrypted age files are not accepted")]
    Passphrase,
    /// No identity could decrypt the file, or the file is damaged.
    #[error("decryption failed")]
    Decrypt,
    /// An identity file that age cannot read.
    #[error("not an age identity file")]
    BadIdentity,
    /// Writing the ciphertext failed.
    #[error("i/o: {0}")]
    Io(#[from] io::Error),
}

/// The investigators' age recipients: every stored blob is sealed to all of them.
#[derive(Clone)]
pub struct Recipients(Vec<age::x25519::Recipient>);

impl Recipients {
    /// Parses a standard age recipients file (`#` comments, blank lines).
    pub fn parse(text: &str) -> Result<Recipients, CryptoError> {
        let mut out = Vec::new();
        for (n, line) in crate::text_file::entries(text) {
            out.push(age::x25519::Recipient::from_str(line).map_err(|_| CryptoError::BadRecipient { line: n })?);
        }
        if out.is_empty() {
            return Err(CryptoError::NoRecipients);
        }
        Ok(Recipients(out))
    }

    /// Builds a set from single recipients (used for replies).
    pub fn from_list(list: Vec<age::x25519::Recipient>) -> Result<Recipients, CryptoError> {
        if list.is_empty() {
            return Err(CryptoError::NoRecipients);
        }
        Ok(Recipients(list))
    }

    /// How many recipients every blob is sealed to.
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// Always false: a set is never empty (checked at construction).
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// The `age1…` strings, for display.
    pub fn to_strings(&self) -> Vec<String> {
        self.0.iter().map(ToString::to_string).collect()
    }
}

/// The deployment's HMAC secret for lookup keys. Zeroized on drop.
#[derive(Clone, Zeroize, ZeroizeOnDrop)]
pub struct DeploymentSecret([u8; 32]);

impl DeploymentSecret {
    /// Fresh secret from the OS random source.
    pub fn generate() -> DeploymentSecret {
        let mut b = [0u8; 32];
        fill_random(&mut b);
        DeploymentSecret(b)
    }

    /// Rebuilds the secret from its stored bytes.
    pub fn from_bytes(bytes: &[u8]) -> Option<DeploymentSecret> {
        let arr: [u8; 32] = bytes.try_into().ok()?;
        Some(DeploymentSecret(arr))
    }

    /// The raw bytes, for storing in the database meta tree.
    pub fn as_bytes(&self) -> &[u8; 32] {
        &self.0
    }
}

/// The index under which a report is found from its receipt code.
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct LookupKey(pub [u8; 32]);

/// lookup key = HMAC-SHA256(deployment secret, "peluit/v1/lookup" ‖ code).
pub fn lookup_key(secret: &DeploymentSecret, receipt: &Receipt) -> LookupKey {
    let key = hmac::Key::new(hmac::HMAC_SHA256, secret.as_bytes());
    let mut ctx = hmac::Context::with_key(&key);
    ctx.update(LOOKUP_LABEL);
    ctx.update(receipt.canonical());
    let tag = ctx.sign();
    let mut out = [0u8; 32];
    out.copy_from_slice(tag.as_ref());
    LookupKey(out)
}

/// The reporter's reply identity, derived from the receipt code alone.
pub struct ReplyIdentity(age::x25519::Identity);

impl ReplyIdentity {
    /// The public half, stored with the report so replies can be sealed to it.
    pub fn recipient(&self) -> age::x25519::Recipient {
        self.0.to_public()
    }

    /// The identity in age's text form (`AGE-SECRET-KEY-1…`), for tests and
    /// for the reporter's own tools.
    pub fn to_age_string(&self) -> Zeroizing<String> {
        Zeroizing::new(self.0.to_string().expose_secret().to_string())
    }

    /// Opens an age file sealed to this reply key.
    pub fn open<R: Read>(&self, input: R) -> Result<impl Read, CryptoError> {
        let d = age::Decryptor::new(input).map_err(|_| CryptoError::Decrypt)?;
        d.decrypt(std::iter::once(&self.0 as &dyn age::Identity)).map_err(|_| CryptoError::Decrypt)
    }
}

/// reply identity = X25519 secret from HKDF-SHA256(code, salt "peluit/v1/reply").
pub fn reply_identity(receipt: &Receipt) -> ReplyIdentity {
    ReplyIdentity(x25519_from_hkdf(receipt.canonical(), REPLY_SALT))
}

/// An X25519 identity whose scalar is HKDF-SHA256(ikm, salt, info "x25519").
/// The age crate has no constructor from raw bytes, so the scalar is written
/// as the standard bech32 `AGE-SECRET-KEY-1…` string and parsed; both the
/// bytes and the string are zeroized.
pub(crate) fn x25519_from_hkdf(ikm: &[u8], salt: &[u8]) -> age::x25519::Identity {
    let scalar = hkdf_scalar(ikm, salt);
    let encoded = bech32::encode("age-secret-key-", scalar.to_base32(), bech32::Variant::Bech32)
        .map(|s| Zeroizing::new(Zeroizing::new(s).to_uppercase()));
    encoded
        .ok()
        .and_then(|s| age::x25519::Identity::from_str(&s).ok())
        // Every 32-byte string is a valid X25519 secret and bech32 of 32 bytes
        // cannot fail; this fallback is unreachable but keeps the path panic-free.
        .unwrap_or_else(age::x25519::Identity::generate)
}

/// The X25519 scalar HKDF-SHA256(ikm, salt, info "x25519") (see
/// [`x25519_from_hkdf`]); the reply identity's is also the reporter's half
/// of a follow-up's tag ([`followup_tag`]).
pub(crate) fn hkdf_scalar(ikm: &[u8], salt: &[u8]) -> Zeroizing<[u8; 32]> {
    let salt = hkdf::Salt::new(hkdf::HKDF_SHA256, salt);
    let prk = salt.extract(ikm);
    let mut scalar = Zeroizing::new([0u8; 32]);
    // HKDF_SHA256 as the output type asks for exactly 32 bytes: expand and
    // fill cannot fail for that length.
    if let Ok(okm) = prk.expand(&[REPLY_INFO], hkdf::HKDF_SHA256) {
        let _ = okm.fill(&mut scalar[..]);
    }
    scalar
}

/// The reply identity's X25519 scalar, for a follow-up's tag.
pub(crate) fn reply_scalar(receipt: &Receipt) -> Zeroizing<[u8; 32]> {
    hkdf_scalar(receipt.canonical(), REPLY_SALT)
}

/// Fills `buf` from the OS random source.
pub fn fill_random(buf: &mut [u8]) {
    use rand::Rng;
    rand::rand_core::UnwrapErr(rand::rngs::SysRng).fill_bytes(buf);
}

/// A fresh random 128-bit identifier (report and blob ids are never sequential).
pub fn random_id() -> [u8; 16] {
    let mut b = [0u8; 16];
    fill_random(&mut b);
    b
}

/// A fresh receipt from the OS random source.
pub fn new_receipt() -> Receipt {
    Receipt::generate(&mut rand::rand_core::UnwrapErr(rand::rngs::SysRng))
}

/// What fills the space between the true length and the Padmé length.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Pad {
    /// Zero bytes, for files.
    Zeros,
    /// Spaces, so a padded JSON manifest is still valid JSON.
    Spaces,
}

/// Streams plaintext into an age file sealed to a set of recipients, then pads
/// it with Padmé on [`Sealer::finish`]. Never buffers more than age's 64 KiB
/// chunk of plaintext.
pub struct Sealer<W: Write> {
    /// age's streaming encryptor.
    inner: age::stream::StreamWriter<W>,
    /// Plaintext bytes written so far (the true length).
    written: u64,
}

impl<W: Write> Sealer<W> {
    /// Starts an age file for `recipients`, writing its header to `out`.
    pub fn new(recipients: &Recipients, out: W) -> Result<Sealer<W>, CryptoError> {
        let list = recipients.0.iter().map(|r| r as &dyn age::Recipient);
        let enc = age::Encryptor::with_recipients(list).map_err(|_| CryptoError::NoRecipients)?;
        Ok(Sealer { inner: enc.wrap_output(out)?, written: 0 })
    }

    /// Plaintext bytes written so far.
    pub fn written(&self) -> u64 {
        self.written
    }

    /// Pads to the Padmé length and finishes the age file. Returns the sink and
    /// the true (unpadded) length.
    pub fn finish(mut self, pad: Pad) -> Result<(W, u64), CryptoError> {
        let len = self.written;
        let fill = match pad {
            Pad::Zeros => 0u8,
            Pad::Spaces => b' ',
        };
        let block = [fill; 8192];
        let mut left = padding::padding_for(len);
        while left > 0 {
            let n = usize::try_from(left.min(block.len() as u64)).unwrap_or(block.len());
            self.inner.write_all(&block[..n])?;
            left -= n as u64;
        }
        Ok((self.inner.finish()?, len))
    }
}

impl<W: Write> Write for Sealer<W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let n = self.inner.write(buf)?;
        self.written += n as u64;
        Ok(n)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.inner.flush()
    }
}

/// Seals a whole in-memory plaintext (a manifest or a reply).
pub fn seal_bytes(recipients: &Recipients, plain: &[u8], pad: Pad) -> Result<Vec<u8>, CryptoError> {
    let mut s = Sealer::new(recipients, Vec::with_capacity(plain.len() + 512))?;
    s.write_all(plain)?;
    Ok(s.finish(pad)?.0)
}

/// Checks that `prefix` (the first bytes of a client-sealed part, up to
/// [`MAX_HEADER`] plus the payload nonce) starts a well-formed age file for
/// X25519-style recipients. Never decrypts anything.
pub fn check_age_header(prefix: &[u8]) -> Result<(), CryptoError> {
    match age::Decryptor::new_buffered(prefix) {
        Ok(d) if d.is_scrypt() => Err(CryptoError::Passphrase),
        Ok(_) => Ok(()),
        Err(_) => Err(CryptoError::NotAge),
    }
}

/// Identities read from a standard age identity file, and their X25519
/// secrets for checking follow-up tags.
pub struct Identities(Vec<Box<dyn age::Identity>>, followup_tag::TagChecker);

impl Identities {
    /// Reads an identity file (`AGE-SECRET-KEY-1…` lines, `#` comments).
    pub fn parse(text: &str) -> Result<Identities, CryptoError> {
        let file = age::IdentityFile::from_buffer(text.as_bytes()).map_err(|_| CryptoError::BadIdentity)?;
        let ids = file.into_identities().map_err(|_| CryptoError::BadIdentity)?;
        if ids.is_empty() {
            return Err(CryptoError::BadIdentity);
        }
        Ok(Identities(ids, followup_tag::TagChecker::from_identity_file(text)))
    }

    /// Checks follow-up tags with these identities.
    pub fn tags(&self) -> &followup_tag::TagChecker {
        &self.1
    }

    /// Opens an age file for reading its plaintext.
    pub fn open<R: Read>(&self, input: R) -> Result<impl Read, CryptoError> {
        let d = age::Decryptor::new(input).map_err(|_| CryptoError::Decrypt)?;
        d.decrypt(self.0.iter().map(|i| i.as_ref() as &dyn age::Identity)).map_err(|_| CryptoError::Decrypt)
    }
}

/// A new investigator identity: the `AGE-SECRET-KEY-1…` text and its recipient.
pub fn new_identity() -> (Zeroizing<String>, String) {
    let id = age::x25519::Identity::generate();
    let secret = Zeroizing::new(id.to_string().expose_secret().to_string());
    (secret, id.to_public().to_string())
}

/// Lower-case hex, for ids in file names and JSON.
pub fn hex(bytes: &[u8]) -> String {
    const D: &[u8; 16] = b"0123456789abcdef";
    let mut s = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        s.push(char::from(D[usize::from(b >> 4)]));
        s.push(char::from(D[usize::from(b & 15)]));
    }
    s
}

/// Parses lower- or upper-case hex of exactly `N` bytes.
pub fn unhex<const N: usize>(s: &str) -> Option<[u8; N]> {
    let b = s.as_bytes();
    if b.len() != 2 * N {
        return None;
    }
    let mut out = [0u8; N];
    for (i, o) in out.iter_mut().enumerate() {
        let hi = char::from(b[2 * i]).to_digit(16)?;
        let lo = char::from(b[2 * i + 1]).to_digit(16)?;
        *o = u8::try_from(hi * 16 + lo).ok()?;
    }
    Some(out)
}

#[cfg(test)]
mod tests;
