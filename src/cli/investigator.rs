//! The investigators' commands: keys, offline case work, export, decrypt,
//! apply, pull, push and the audit-log check.

use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};

use peluit::casework::{self, Casebook};
use peluit::client::Remote;
use peluit::crypto::Identities;
use peluit::keyset::KeySet;
use peluit::model::Status;
use peluit::server;
use peluit::store::Store;
use peluit::{actions, decrypt, export, keys};

use super::{load_key, now, passphrase};
use crate::{CaseAction, CaseArgs, RemoteArgs};

/// `peluit keygen`.
pub fn keygen(out: &Path, protect: bool) -> Result<()> {
    let pass = if protect {
        let p = passphrase().context("a passphrase is needed (PELUIT_PASSPHRASE or a terminal)")?;
        if p.len() < 12 {
            bail!("use a passphrase of at least 12 characters (several words are easier to remember)");
        }
        Some(p)
    } else {
        None
    };
    let k = keys::keygen(out, &server::today(), pass.as_deref().map(|p| p.as_str()))?;
    println!("Keys written to {} (mode 0600). Keep this folder on the offline machine;", out.display());
    println!("copy transfer.key to the machine that runs `peluit pull` and `peluit push`.");
    println!();
    println!("Add this line to the server's keys/recipients.txt:");
    println!("{}", k.recipient);
    println!();
    println!("Add these lines to the server's keys/investigators.txt (name them as you like):");
    println!("{} sign investigator", k.signing.to_text());
    println!("{} transfer investigator-transfer", k.transfer.to_text());
    println!();
    println!("Signing key fingerprint (publish it for `peluit submit --pin`): {}", k.signing.fingerprint());
    Ok(())
}

/// `peluit case`.
pub fn case(a: CaseArgs) -> Result<()> {
    let book = Casebook::open(&a.cases)?;
    let key = load_key(&a.key)?;
    let file = a.actions.unwrap_or_else(|| a.cases.join("actions.jsonl"));
    let (line, what) = match a.action {
        CaseAction::Status { id, status, note } => {
            let s = Status::from_id(&status).with_context(|| format!("unknown status {status}"))?;
            let text = if note { Some(read_text_input()?) } else { None };
            (
                book.status(&key, &id, s, text.as_deref().map(|t| t.as_str()), now())?,
                format!("status {status} for {id}"),
            )
        }
        CaseAction::Reply { id } => {
            let text = read_text_input()?;
            (book.reply(&key, &id, &text, now())?, format!("reply to {id}"))
        }
        CaseAction::Delete { id } => (book.delete(&key, &id, now())?, format!("delete of {id}")),
    };
    casework::append(&file, &line)?;
    println!("Signed {what}; appended to {}.", file.display());
    println!("Carry the file to the server and run `peluit apply` there, or `peluit push`.");
    Ok(())
}

/// Text from stdin, or from $EDITOR when stdin is a terminal.
pub fn read_text_input() -> Result<zeroize::Zeroizing<String>> {
    use std::io::{IsTerminal, Read};
    let mut text = zeroize::Zeroizing::new(String::new());
    if !std::io::stdin().is_terminal() {
        std::io::stdin().read_to_string(&mut text)?;
        return Ok(text);
    }
    let editor = std::env::var("EDITOR").unwrap_or_else(|_| "nano".into());
    let dir = tempfile_dir()?;
    let path = dir.join("reply.txt");
    keys::write_private(&path, b"")?;
    let status = std::process::Command::new(&editor).arg(&path).status();
    let read = std::fs::read_to_string(&path);
    let _ = std::fs::remove_file(&path);
    let _ = std::fs::remove_dir(&dir);
    if !status.map(|s| s.success()).unwrap_or(false) {
        bail!("the editor {editor} failed");
    }
    text.push_str(&read?);
    Ok(text)
}

/// A private folder for the editor's file (offline machine only).
pub fn tempfile_dir() -> Result<PathBuf> {
    use std::os::unix::fs::DirBuilderExt;
    let dir = std::env::temp_dir().join(format!("peluit-{}", peluit::crypto::hex(&peluit::crypto::random_id()[..6])));
    std::fs::DirBuilder::new().mode(0o700).create(&dir)?;
    Ok(dir)
}

/// `peluit keys sign`.
pub fn keys_sign(recipients: &Path, deployment: &str, key: &Path, out: &Path) -> Result<()> {
    let text = std::fs::read_to_string(recipients).with_context(|| format!("cannot read {}", recipients.display()))?;
    let list = peluit::crypto::Recipients::parse(&text)?.to_strings();
    let key = load_key(key)?;
    let payload =
        peluit::published::KeySetPayload { v: 1, deployment: deployment.to_string(), recipients: list, time: now() };
    let set = peluit::published::sign(&key, &payload);
    std::fs::write(out, serde_json::to_vec_pretty(&set)?)?;
    println!("Signed {} recipient(s) for deployment {deployment} into {}.", payload.recipients.len(), out.display());
    println!("Put it in the server's keys folder as {} and restart the server.", keys::KEYSET_FILE);
    println!("Publish this fingerprint where reporters can check it: {}", key.public().fingerprint());
    Ok(())
}

/// `peluit cases`.
pub fn cases(dir: &Path) -> Result<()> {
    let book = Casebook::open(dir)?;
    let rows = casework::table(&book.cases()?, &book.new_in_last_run(), time::OffsetDateTime::now_utc().date());
    println!(
        "{:<32}  {:<13}  {:<10}  {:>4}  {:<14}  {:<14}  note",
        "case", "status", "created", "days", "ack due", "feedback due"
    );
    for r in rows {
        let mark = |done: bool, day: &str| if done { format!("{day} ok") } else { day.to_string() };
        let note =
            [(r.overdue, "OVERDUE"), (r.new, "new")].iter().filter(|(b, _)| *b).map(|(_, s)| *s).collect::<Vec<_>>();
        println!(
            "{:<32}  {:<13}  {:<10}  {:>4}  {:<14}  {:<14}  {}",
            r.id,
            r.status.id(),
            r.created,
            r.age_days,
            mark(r.acknowledged, &r.ack_due),
            mark(r.feedback_given, &r.feedback_due),
            note.join(" ")
        );
    }
    Ok(())
}

/// `peluit apply`.
pub fn apply(data: &Path, keys_dir: &Path, secret: &Path, max_age_days: u64, file: &Path) -> Result<()> {
    let keyset = keys::load_keyset(keys_dir)?;
    let text = std::fs::read_to_string(file).with_context(|| format!("cannot read {}", file.display()))?;
    let store = Store::open(data).with_context(|| format!("cannot open {}", data.display()))?;
    // Replies are sealed at rest with a key derived from the secret.
    let store = store.with_secret(keys::load_or_create_secret(secret, false)?)?;
    let policy = actions::Policy {
        deployment: store.deployment_id(),
        keys: &keyset,
        now: now(),
        max_age: max_age_days * 86_400,
        max_skew: 300,
    };
    let verified = actions::verify_file(&text, &policy).context("nothing was applied")?;
    let a = store.apply_blocking(&verified, &server::today()).context("nothing was applied")?;
    println!("Applied {} action(s); {} report(s) purged. Audit log head: {}", a.actions, a.deleted, a.head);
    Ok(())
}

/// `peluit push`.
pub fn push(r: &RemoteArgs, file: &Path) -> Result<()> {
    let (server_url, proxy) = (&r.server, r.proxy.as_deref());
    let key = load_key(&r.key)?;
    let body = std::fs::read(file).with_context(|| format!("cannot read {}", file.display()))?;
    let v = Remote::new(server_url, proxy)?.push(&key, body, now()).context("nothing was applied")?;
    println!(
        "Applied {} action(s); {} report(s) purged. Audit log head: {}",
        v["applied"],
        v["deleted"],
        v["head"].as_str().unwrap_or("")
    );
    Ok(())
}

/// `peluit pull`.
pub fn pull(r: &RemoteArgs, out: &Path, since: u64) -> Result<()> {
    let (server_url, proxy) = (&r.server, r.proxy.as_deref());
    let key = load_key(&r.key)?;
    let n = Remote::new(server_url, proxy)?.pull(&key, since, now(), out)?;
    let index = peluit::decrypt::read_bundle_index(std::io::BufReader::new(std::fs::File::open(out)?))?;
    let reports = peluit::decrypt::read_bundle_reports(std::io::BufReader::new(std::fs::File::open(out)?), |_| ())?;
    println!("Pulled {n} bytes into {}: {reports} report(s).", out.display());
    println!("Next time, pull only what is new with: --since {}", index.cursor);
    Ok(())
}

/// `peluit verify-log`.
pub fn verify_log(bundle: &Path, keys_file: &Path, after: Option<&str>) -> Result<()> {
    let keyset = KeySet::parse(&std::fs::read_to_string(keys_file)?)?;
    let entries = peluit::decrypt::read_bundle_audit(std::io::BufReader::new(std::fs::File::open(bundle)?))?;
    let head = actions::verify_chain(&entries, Some(&keyset), after)?;
    println!("The log of {} applied action(s) is intact; every signature verifies.", entries.len());
    println!("Head: {head}");
    println!("Next time, check that the log only grew with: --after {head}");
    Ok(())
}

/// `peluit export`.
pub fn export_cmd(data: &Path, out: &Path, since: u64) -> Result<()> {
    if !data.is_dir() {
        bail!("{} is not a data folder", data.display());
    }
    let store = Store::open(data).with_context(|| format!("cannot open {}", data.display()))?;
    let file = peluit::private_fs::create_new(out)
        .with_context(|| format!("cannot create {} (it must not exist)", out.display()))?;
    let mut w = std::io::BufWriter::new(file);
    let s = match export::export(&store, since, &mut w) {
        Ok(s) => s,
        Err(e) => {
            drop(w);
            let _ = std::fs::remove_file(out);
            return Err(e.into());
        }
    };
    w.into_inner().map_err(|e| e.into_error())?.sync_all()?;
    println!("Exported {} report(s), {} encrypted file(s) to {}.", s.reports, s.blobs, out.display());
    println!("Next time, export only what is new with: --since {}", s.cursor);
    Ok(())
}

/// `peluit decrypt`.
pub fn decrypt_cmd(bundle: &Path, identity: &Path, out: &Path) -> Result<()> {
    let text = keys::read_secret_text(identity, || passphrase().map(|p| p.to_string()))?;
    let ids = Identities::parse(&text).with_context(|| format!("{}", identity.display()))?;
    let f = std::fs::File::open(bundle).with_context(|| format!("cannot open {}", bundle.display()))?;
    let s = decrypt::decrypt(std::io::BufReader::new(f), &ids, out)?;
    println!(
        "{} case(s), {} new submission(s), {} file(s) written under {}{}.",
        s.cases,
        s.submissions,
        s.files,
        out.display(),
        if s.skipped > 0 { format!(" ({} already there, skipped)", s.skipped) } else { String::new() }
    );
    Ok(())
}
