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

/// `peluit keygen`. The name defaults to the key folder's name, so two
/// investigators following the same steps do not both become "investigator".
pub fn keygen(out: &Path, name: Option<&str>, server_keys: Option<&Path>, protect: bool) -> Result<()> {
    let folder = out.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    let name = name.map_or(folder, str::to_string);
    match server_keys {
        Some(dir) => keys::check_new_name(dir, &name)?,
        None => keys::check_name(&name)?,
    }
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
    let (recipient, investigators) = keys::server_lines(&k, &name);
    match server_keys {
        Some(dir) => {
            keys::add_to_server_keys(dir, &k, &name)?;
            println!("Added {name} to {}/{{recipients,investigators}}.txt:", dir.display());
            print!("{recipient}{investigators}");
            println!("Carry those files to the server's keys folder and restart the server.");
        }
        None => {
            println!("Add this line to the server's keys/recipients.txt:");
            print!("{recipient}");
            println!();
            println!("Add these lines to the server's keys/investigators.txt (or use --server-keys DIR next time):");
            print!("{investigators}");
        }
    }
    println!();
    println!("Signing key fingerprint (publish it for `peluit submit --pin`): {}", k.signing.fingerprint());
    Ok(())
}

/// `peluit case`.
pub fn case(a: CaseArgs) -> Result<()> {
    let book = Casebook::open(&a.cases)?;
    let key = load_key(&a.key, keys::SIGNING_FILE)?;
    let file = a.actions.unwrap_or_else(|| a.cases.join("actions.jsonl"));
    let (line, what) = match a.action {
        CaseAction::Status { id, status, note } => {
            let s = Status::from_id(&status).with_context(|| {
                let valid: Vec<_> = Status::ALL.iter().map(|s| s.id()).collect();
                format!("unknown status {status}: use one of {}", valid.join(", "))
            })?;
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
    let key = load_key(key, keys::SIGNING_FILE)?;
    let n = keys::sign_keyset(recipients, deployment, &key, now(), out)?;
    println!("Signed {n} recipient(s) for deployment {deployment} into {}.", out.display());
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
pub fn apply(data: &Path, keys_dir: &Path, max_age_days: u64, file: &Path) -> Result<()> {
    let keyset = keys::load_keyset(keys_dir)?;
    let text = std::fs::read_to_string(file).with_context(|| format!("cannot read {}", file.display()))?;
    let store = Store::open(data).with_context(|| format!("cannot open {}", data.display()))?;
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
    let key = load_key(&r.key, keys::TRANSFER_FILE)?;
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
    if out.exists() {
        bail!("{} exists already: give --out a new file name (a bundle is never overwritten)", out.display());
    }
    let key = load_key(&r.key, keys::TRANSFER_FILE)?;
    let n = Remote::new(server_url, proxy)?
        .pull(&key, since, now(), out)
        .with_context(|| format!("cannot pull into {}", out.display()))?;
    let index = peluit::decrypt::read_bundle_index(std::io::BufReader::new(std::fs::File::open(out)?))?;
    let reports = peluit::decrypt::read_bundle_reports(std::io::BufReader::new(std::fs::File::open(out)?), |_| ())?;
    println!("Pulled {n} bytes into {}: {reports} report(s).", out.display());
    println!("Next time, pull only what is new with: --since {}", index.cursor);
    Ok(())
}

/// `peluit verify-log`.
/// `--keys` takes investigators.txt or the keys folder holding it, like
/// `serve --keys` and `apply --keys`.
pub fn verify_log(bundle: &Path, keys_file: &Path, after: Option<&str>) -> Result<()> {
    let keyset = if keys_file.is_dir() {
        keys::load_keyset(keys_file)?
    } else {
        let text =
            std::fs::read_to_string(keys_file).with_context(|| format!("cannot read {}", keys_file.display()))?;
        KeySet::parse(&text).with_context(|| format!("{}", keys_file.display()))?
    };
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
    let store = Store::open(data).with_context(|| {
        format!("cannot open {} (to fetch a bundle while the server runs, use `peluit pull`)", data.display())
    })?;
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
