//! The reporter's command-line client: fetches the pinned key set, seals the
//! tip and its files on the reporter's machine, and uploads only ciphertext;
//! checks a report and opens the replies locally with the key derived from
//! the receipt. The server never sees a word of a tip sent this way.

use std::fs::File;
use std::io::{self, Read, Write};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use reqwest::blocking::multipart::{Form, Part};
use zeroize::Zeroizing;

use crate::actions::Line;
use crate::api;
use crate::client::answer;
use crate::crypto::ed25519::unb64;
use crate::crypto::{self, followup_tag, sealed_json, sha256, Pad, Recipients, Sealer};
use crate::model::{AttachmentInfo, Manifest, ReplyText, Status, MANIFEST_FORMAT};
use crate::published::{self, KeySetError, KeySetPayload, Pin, Shown};
use crate::receipt::Receipt;

/// Errors of the reporter's client.
#[derive(Debug, thiserror::Error)]
pub enum ReporterError {
    /// The HTTP exchange failed.
    #[error("cannot reach the server: {0}")]
    Http(#[from] reqwest::Error),
    /// The server refused.
    #[error(transparent)]
    Refused(#[from] crate::client::Refused),
    /// The key set is not trustworthy.
    #[error(transparent)]
    KeySet(#[from] KeySetError),
    /// Sealing failed.
    #[error("sealing: {0}")]
    Crypto(#[from] crypto::CryptoError),
    /// A file could not be read, or changed while it was read.
    #[error("{0}")]
    Io(#[from] io::Error),
    /// `--server` is not an http(s) URL.
    #[error(transparent)]
    Url(#[from] crate::client::BadServerUrl),
}

/// Reports progress: (file name, bytes done, bytes in all).
pub type Progress = Arc<dyn Fn(&str, u64, u64) + Send + Sync>;

/// A server seen from a reporter's machine.
pub struct ReporterClient {
    /// Base URL without a trailing slash.
    base: String,
    /// No cookies, no redirects, a generic user agent.
    http: reqwest::blocking::Client,
}

/// What `check` shows.
pub struct CheckResult {
    /// Status id.
    pub status: String,
    /// Day submitted.
    pub created: String,
    /// Status changes, oldest first (`text`: the note).
    pub timeline: Vec<Item>,
    /// Replies, oldest first (`status` empty).
    pub replies: Vec<Item>,
}

/// One status change or reply as the server gave it, opened locally.
pub struct Item {
    /// Day, as the server says.
    pub day: String,
    /// Status id (status changes only).
    pub status: String,
    /// The opened text (a note or a reply), or empty.
    pub text: String,
    /// Whether an investigator of the pinned key set signed it: `None` for
    /// the acknowledgement the server itself makes at submission.
    pub signed: Option<bool>,
}

impl ReporterClient {
    /// A client for `server`, through `proxy` (e.g. `socks5h://127.0.0.1:9050`).
    pub fn new(server: &str, proxy: Option<&str>) -> Result<ReporterClient, ReporterError> {
        Ok(ReporterClient { base: crate::client::server_base(server)?, http: crate::client::http_client(proxy)? })
    }

    /// Fetches the key set and checks it against the pin (fingerprint and
    /// version floor), this computer's clock, and the deployment when the
    /// reporter knows it.
    pub fn keyset(&self, pin: &str, deployment: Option<&str>) -> Result<KeySetPayload, ReporterError> {
        let pin = Pin::parse(pin)?;
        let r = self.http.get(format!("{}/api/v1/keys", self.base)).send()?;
        let keys = answer::<api::Keys, ReporterError>(r, 200).map_err(|e| match e {
            ReporterError::Http(e) if e.is_decode() => KeySetError::Malformed.into(),
            e => e,
        })?;
        let claimed = keys.deployment_id.as_str();
        let expected = deployment.unwrap_or(claimed);
        if claimed != expected {
            return Err(KeySetError::OtherDeployment(claimed.to_string()).into());
        }
        let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_secs());
        Ok(published::verify(&keys.keyset, &pin, expected, now)?)
    }

    /// The recipients of a verified key set.
    pub fn recipients(&self, pin: &str, deployment: Option<&str>) -> Result<Recipients, ReporterError> {
        Ok(Recipients::parse(&self.keyset(pin, deployment)?.recipients.join("\n"))?)
    }

    /// Seals and sends a tip; returns the receipt code.
    pub fn submit(
        &self,
        recipients: &Recipients,
        manifest: Manifest,
        files: &[PathBuf],
        progress: Progress,
    ) -> Result<Zeroizing<String>, ReporterError> {
        let form = sealed_form(Form::new(), recipients, manifest, "tip", files, (progress, None))?;
        let r = self.http.post(format!("{}/api/v1/reports", self.base)).multipart(form).send()?;
        let created = answer::<api::Created, ReporterError>(r, 201)?;
        Ok(Zeroizing::new(created.receipt.clone()))
    }

    /// Adds a sealed follow-up to the report of `receipt`.
    pub fn add(
        &self,
        receipt: &Receipt,
        recipients: &Recipients,
        text: &str,
        files: &[PathBuf],
        progress: Progress,
    ) -> Result<(), ReporterError> {
        let mut manifest = Manifest::default();
        manifest.text = text.to_string();
        let first = Form::new().text("receipt", receipt.grouped().to_string());
        // Tagged for the investigators: proof, offline, that the receipt holder sent it.
        let form = sealed_form(first, recipients, manifest, "followup", files, (progress, Some(receipt)))?;
        let r = self.http.post(format!("{}/api/v1/followups", self.base)).multipart(form).send()?;
        answer::<api::FollowupAdded, ReporterError>(r, 201)?;
        Ok(())
    }

    /// The status of a report, with replies and notes opened locally and
    /// each checked against the signing keys of `keys` (the pinned key set;
    /// without it nothing counts as signed).
    pub fn check(&self, receipt: &Receipt, keys: Option<&KeySetPayload>) -> Result<CheckResult, ReporterError> {
        let body = api::StatusQuery { receipt: receipt.grouped().to_string(), sealed: true };
        let r = self.http.post(format!("{}/api/v1/status", self.base)).json(&body).send()?;
        let v = answer::<api::SealedStatus, ReporterError>(r, 200)?;
        let id = crypto::reply_identity(receipt);
        let signed = |line: Option<&Line>, shown: Shown<'_>| {
            keys.is_some_and(|k| published::check_signed(line, k, &v.report, shown).is_ok())
        };
        let timeline = v
            .timeline
            .iter()
            .enumerate()
            .map(|(i, e)| {
                let note = Some(&e.note_sealed).filter(|b| !b.is_empty()).map(|b| unb64(b).unwrap_or_default());
                // The acknowledgement at submission is the server's own: no
                // investigator signs it.
                let acknowledgement = i == 0 && e.status == Status::Received.id() && note.is_none() && e.line.is_none();
                let verified = Status::from_id(&e.status)
                    .is_some_and(|st| signed(e.line.as_ref(), Shown::Status(st, note.as_deref())));
                let text = note.as_deref().map(|n| open(&id, n)).unwrap_or_default();
                Item {
                    day: e.day.clone(),
                    status: e.status.clone(),
                    text,
                    signed: (!acknowledgement).then_some(verified),
                }
            })
            .collect();
        let replies = v
            .replies
            .iter()
            .map(|e| {
                let sealed = unb64(&e.sealed).unwrap_or_default();
                let verified = signed(e.line.as_ref(), Shown::Reply(&sealed));
                Item { day: e.day.clone(), status: String::new(), text: open(&id, &sealed), signed: Some(verified) }
            })
            .collect();
        Ok(CheckResult { status: v.status.clone(), created: v.created.clone(), timeline, replies })
    }
}

/// Opens a reply or note sealed to the reporter's reply key.
fn open(id: &crypto::ReplyIdentity, sealed: &[u8]) -> String {
    let opened = (|| {
        let t: ReplyText = sealed_json::open(id.open(sealed).ok()?, sealed_json::MAX_MESSAGE).ok()?;
        Some(t.text.clone())
    })();
    opened.unwrap_or_else(|| "(could not be opened)".into())
}

/// Adds the sealed manifest and files to a form. Files are sealed as they are
/// uploaded (a thread writes ciphertext into a pipe the upload reads), so a
/// large file never sits in memory, and only ciphertext leaves the machine.
fn sealed_form(
    mut form: Form,
    recipients: &Recipients,
    mut manifest: Manifest,
    kind: &str,
    files: &[PathBuf],
    (progress, tagged): (Progress, Option<&Receipt>),
) -> Result<Form, ReporterError> {
    let mut sizes = Vec::new();
    for f in files {
        let size = std::fs::metadata(f)?.len();
        let name = f.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
        manifest.attachments.push(AttachmentInfo { name, size, content_type: String::new() });
        sizes.push(size);
    }
    manifest.format = MANIFEST_FORMAT.into();
    manifest.kind = kind.into();
    let sealed = sealed_json::seal(recipients, &manifest)?;
    let manifest_hash = sha256::of(&sealed);
    form = form.part("sealed_manifest", Part::bytes(sealed).file_name("manifest.age"));
    let mut sealing = Vec::new();
    for (f, size) in files.iter().zip(sizes) {
        let (reader, writer) = io::pipe()?;
        let (path, recipients, progress) = (f.clone(), recipients.clone(), progress.clone());
        sealing.push(std::thread::spawn(move || seal_file(&path, size, &recipients, writer, &progress)));
        form = form.part("sealed_file", Part::reader(reader).file_name("file.age"));
    }
    let Some(receipt) = tagged else { return Ok(form) };
    // The tags cover every blob's ciphertext, so they go last: by the time
    // the upload reads this part, every file has been sealed and hashed.
    let (reader, mut writer) = io::pipe()?;
    let (receipt, recipients) = (receipt.clone(), recipients.to_strings());
    std::thread::spawn(move || {
        let files: Option<Vec<[u8; 32]>> = sealing.into_iter().map(|t| t.join().ok().flatten()).collect();
        // A file that failed ends its part early, which fails the upload.
        let Some(files) = files else { return };
        let reply = crypto::reply_identity(&receipt).recipient().to_string();
        let hashes: Vec<[u8; 32]> = std::iter::once(manifest_hash).chain(files).collect();
        let tags = followup_tag::tags(&receipt, &recipients, &followup_tag::digest(&reply, &hashes));
        let _ = serde_json::to_writer(&mut writer, &tags);
    });
    Ok(form.part("tags", Part::reader(reader)))
}

/// Seals one file into the pipe; a file that changes size while being read
/// ends the pipe early, which fails the upload (nothing is stored then).
/// Returns the SHA-256 of the ciphertext, for the follow-up's tags.
fn seal_file(
    path: &Path,
    size: u64,
    recipients: &Recipients,
    out: io::PipeWriter,
    progress: &Progress,
) -> Option<[u8; 32]> {
    let name = path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    let result = (|| -> Result<[u8; 32], ReporterError> {
        let mut input = File::open(path)?;
        let mut sealer = Sealer::new(recipients, sha256::Hashing::new(out))?;
        let mut buf = Zeroizing::new(vec![0u8; 64 * 1024]);
        let mut done = 0u64;
        loop {
            let n = input.read(&mut buf)?;
            if n == 0 {
                break;
            }
            sealer.write_all(&buf[..n])?;
            done += n as u64;
            progress(&name, done, size);
        }
        if done != size {
            return Err(io::Error::other("the file changed while it was read").into());
        }
        let (out, _) = sealer.finish(Pad::Zeros)?;
        Ok(out.digest())
    })();
    if result.is_err() {
        progress(&name, 0, 0);
    }
    result.ok()
}
