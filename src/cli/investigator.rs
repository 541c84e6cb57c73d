//! The investigators' commands: keys, offline case work, export, decrypt,
//! apply, pull, push and the audit-log check.

use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};

use peluit::casework::{self, Casebook};
use peluit::client::Remote;
use peluit::crypto::Identities;
use peluit::investigators::{Investigators, Role};
use peluit::model::Status;
use peluit::safe_text::line;
use peluit::store::Store;
use peluit::{actions, decrypt, export, keys};

use super::{load_key, new_passphrase, now, passphrase};
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
        let p = new_passphrase()?;
        if p.len() < 12 {
            bail!("use a passphrase of at least 12 characters (several words are easier to remember)");
        }
        Some(p)
    } else {
        None
    };
    let k = keys::keygen(out, &peluit::clock::today(), pass.as_deref().map(|p| p.as_str()))?;
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
    println!(
        "Signing key fingerprint (if it signs the key set, `peluit keys sign` prints the pin to publish): {}",
        k.signing.fingerprint()
    );
    Ok(())
}

/// `peluit case`.
pub fn case(a: CaseArgs) -> Result<()> {
    let key = load_key(&a.key, Role::Sign)?;
    let file = a.actions.unwrap_or_else(|| a.cases.join(casework::ACTIONS_FILE));
    let book = Casebook::open(&a.cases)?.outgoing(&file);
    let id = match &a.action {
        CaseAction::Status { id, .. } | CaseAction::Reply { id } | CaseAction::Delete { id } => id.clone(),
    };
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
    // After signing, so that a wrong status or key is named first.
    let stale = book.record(&id, &line)?;
    if stale > 0 {
        println!(
            "Set aside {stale} line(s) for {id} that the server would refuse (signed before what you have pulled \
             since, or after a refused line) into {}.",
            casework::stale_file(&file).display()
        );
    }
    println!("Signed {}; appended to {}.", peluit::safe_text::line(&what), file.display());
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
    let on_path = |name: &str| {
        std::env::var_os("PATH").is_some_and(|p| std::env::split_paths(&p).any(|d| d.join(name).is_file()))
    };
    let editor = choose_editor(|v| std::env::var(v).ok(), on_path).context(
        "no text editor found: set EDITOR, or type the text into standard input (e.g. `peluit case ... < reply.txt`)",
    )?;
    let dir = tempfile_dir()?;
    let path = dir.join("reply.txt");
    keys::write_private(&path, b"")?;
    // `EDITOR="code -w"` and the like: a program and its arguments.
    let mut words = editor.split_whitespace();
    let program = words.next().unwrap_or("vi");
    let status = std::process::Command::new(program).args(words).arg(&path).status();
    let read = std::fs::read_to_string(&path);
    let _ = std::fs::remove_file(&path);
    let _ = std::fs::remove_dir(&dir);
    if !status.map(|s| s.success()).unwrap_or(false) {
        bail!("the editor {editor} failed");
    }
    text.push_str(&read?);
    Ok(text)
}

/// The editor for a reply: `$VISUAL`, `$EDITOR`, then the first of Debian's
/// `editor`, `vi` and `nano` that is installed (a bare offline machine often
/// sets no variable).
fn choose_editor(var: impl Fn(&str) -> Option<String>, on_path: impl Fn(&str) -> bool) -> Option<String> {
    ["VISUAL", "EDITOR"]
        .iter()
        .filter_map(|v| var(v))
        .find(|e| !e.trim().is_empty())
        .or_else(|| ["editor", "vi", "nano"].iter().find(|e| on_path(e)).map(|e| e.to_string()))
}

/// A private folder for the editor's file (offline machine only).
pub fn tempfile_dir() -> Result<PathBuf> {
    use std::os::unix::fs::DirBuilderExt;
    let dir = std::env::temp_dir().join(format!("peluit-{}", peluit::crypto::hex(&peluit::crypto::random_id()[..6])));
    std::fs::DirBuilder::new().mode(0o700).create(&dir)?;
    Ok(dir)
}

/// `peluit keys sign`.
pub fn keys_sign(req: &keys::KeySetRequest<'_>, key: &Path, out: &Path) -> Result<()> {
    let key = load_key(key, Role::Sign)?;
    let p = keys::sign_keyset(req, &key, now(), out)?;
    let until = peluit::clock::day_of(p.expires);
    println!(
        "Signed key set version {} for deployment {}: {} recipient(s), {} signing key(s), valid until {until}, into {}.",
        p.version,
        p.deployment,
        p.recipients.len(),
        p.signers.len(),
        out.display()
    );
    match peluit::crypto::ed25519::PublicKey::parse(&p.server) {
        Some(k) => println!(
            "It names the server key with fingerprint {}: check that the server printed that at start; `peluit trust` \
             pins it, and bundles signed by any other key are refused.",
            k.fingerprint()
        ),
        None => println!(
            "It names no server key: give --server-key with the `ed25519:…` the server printed at start, or the \
             first bundle's key is pinned unchecked."
        ),
    }
    println!("Put it in the server's keys folder as {} and restart the server.", keys::KEYSET_FILE);
    println!("Sign it again before {until} (the server warns two weeks ahead); clients refuse it after.");
    println!(
        "Whenever a recipient or signing key was removed, publish the new pin: clients holding it refuse every older set."
    );
    let pin = peluit::published::Pin { fingerprint: key.public().fingerprint(), min_version: p.version };
    println!("Publish this pin where reporters can check it: {}", pin.to_text());
    Ok(())
}

/// `peluit cases`.
pub fn cases(dir: &Path) -> Result<()> {
    let book = Casebook::open(dir)?;
    let today = time::OffsetDateTime::now_utc().date();
    let rows = casework::table(&book.cases()?, &book.new_in_last_run(), |id| book.set_aside(id), today);
    println!(
        "{:<32}  {:<13}  {:<10}  {:>4}  {:<14}  {:<14}  note",
        "case", "status", "created", "days", "ack due", "feedback due"
    );
    for r in rows {
        let mark = |done: bool, day: &str| if done { format!("{day} ok") } else { day.to_string() };
        let set_aside = format!("{} set aside", r.set_aside);
        let unverified = format!("{} unverified follow-up(s): NOT from the receipt holder", r.unverified);
        let deleted = format!("deleted on the server {}", line(r.deleted.as_deref().unwrap_or("")));
        let note = [
            (r.overdue, "OVERDUE"),
            (r.new, "new"),
            (r.set_aside > 0, set_aside.as_str()),
            (r.unverified > 0, unverified.as_str()),
            (r.deleted.is_some(), &deleted),
        ]
        .iter()
        .filter(|(b, _)| *b)
        .map(|(_, s)| *s)
        .collect::<Vec<_>>();
        // A deleted case has no deadline left to show.
        let (ack, feedback) = match r.deleted {
            Some(_) => ("-".to_string(), "-".to_string()),
            None => (mark(r.acknowledged, &r.ack_due), mark(r.feedback_given, &r.feedback_due)),
        };
        println!(
            "{:<32}  {:<13}  {:<10}  {:>4}  {:<14}  {:<14}  {}",
            line(&r.id),
            if r.deleted.is_some() { "deleted" } else { r.status.id() },
            line(&r.created),
            r.age_days,
            ack,
            feedback,
            note.join(" ")
        );
    }
    for (id, n) in book.unreadable()? {
        println!("{:<32}  (its entry could not be read)  {n} set aside", line(&id));
    }
    Ok(())
}

/// `peluit apply`.
pub fn apply(data: &Path, keys_dir: &Path, secret: &Path, max_age_days: u64, file: &Path) -> Result<()> {
    let keyset = keys::load_investigators(keys_dir)?;
    let text = std::fs::read_to_string(file).with_context(|| format!("cannot read {}", file.display()))?;
    has_actions(file, &text)?;
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
    let a = store.apply_blocking(&verified, &peluit::clock::today()).context("nothing was applied")?;
    println!("{}", applied_message(a.actions, a.skipped, a.deleted, &a.head));
    move_out_pushed(file, &text)
}

/// What a push or an apply did, in one line.
fn applied_message(applied: usize, skipped: usize, deleted: usize, head: &str) -> String {
    let skipped = match skipped {
        0 => String::new(),
        n => format!(" ({n} applied before, skipped)"),
    };
    format!("Applied {applied} action(s){skipped}; {deleted} report(s) purged. Audit log head: {head}")
}

/// Refuses an outgoing file with no action before anything is sent.
fn has_actions(file: &Path, text: &str) -> Result<()> {
    if text.lines().all(|l| l.trim().is_empty()) {
        bail!(
            "{} holds no action to carry: sign one with `peluit case` (lines pushed before are in {})",
            file.display(),
            casework::applied_file(file).display()
        );
    }
    Ok(())
}

/// After the server took a file, moves the lines it took out of the file,
/// so that actions added later can be pushed without editing anything.
fn move_out_pushed(file: &Path, sent: &str) -> Result<()> {
    let sent: std::collections::HashSet<&str> = sent.lines().map(str::trim).collect();
    let n = casework::move_applied(file, |l| sent.contains(l))
        .with_context(|| format!("the actions were applied, but {} could not be rewritten", file.display()))?;
    if n > 0 {
        println!(
            "Moved the {n} applied line(s) out of {} into {}; new actions go into {0} as before.",
            file.display(),
            casework::applied_file(file).display()
        );
    }
    Ok(())
}

/// `peluit push`.
pub fn push(r: &RemoteArgs, file: &Path) -> Result<()> {
    let (server_url, proxy) = (&r.server, r.proxy.as_deref());
    let key = load_key(&r.key, Role::Transfer)?;
    let text = std::fs::read_to_string(file).with_context(|| format!("cannot read {}", file.display()))?;
    has_actions(file, &text)?;
    let a =
        Remote::new(server_url, proxy)?.push(&key, text.clone().into_bytes(), now()).context("nothing was applied")?;
    println!("{}", applied_message(a.applied, a.skipped, a.deleted, &line(&a.head)));
    move_out_pushed(file, &text)
}

/// `peluit pull`.
pub fn pull(r: &RemoteArgs, out: &Path, since: u64) -> Result<()> {
    let (server_url, proxy) = (&r.server, r.proxy.as_deref());
    if out.exists() {
        bail!("{} exists already: give --out a new file name (a bundle is never overwritten)", out.display());
    }
    let key = load_key(&r.key, Role::Transfer)?;
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
        keys::load_investigators(keys_file)?
    } else {
        let text =
            std::fs::read_to_string(keys_file).with_context(|| format!("cannot read {}", keys_file.display()))?;
        Investigators::parse(&text).with_context(|| format!("{}", keys_file.display()))?
    };
    let mut file = std::io::BufReader::new(std::fs::File::open(bundle)?);
    let server = peluit::decrypt::check_bundle_signature(&mut file)?;
    let log = peluit::decrypt::verify_bundle_log(file, Some(&keyset), after)?;
    println!(
        "The bundle is signed by the server key with fingerprint {} (compare it with the pinned one).",
        server.fingerprint()
    );
    println!("The log of {} applied action(s) is intact; every signature verifies.", log.entries);
    println!("Head: {}", log.head);
    println!("Next time, check that the log only grew with: --after {}", log.head);
    Ok(())
}

/// `peluit export`.
pub fn export_cmd(data: &Path, out: &Path, since: u64, secret: Option<&Path>, server_key: &Path) -> Result<()> {
    if !data.is_dir() {
        bail!("{} is not a data folder", data.display());
    }
    let key = peluit::server_key::load(server_key).with_context(|| {
        "the server key signs every bundle (the offline machine refuses an unsigned one): give the server's keys \
         folder with --keys, or the key with --server-key"
    })?;
    let mut store = Store::open(data).with_context(|| {
        format!("cannot open {} (to fetch a bundle while the server runs, use `peluit pull`)", data.display())
    })?;
    if let Some(path) = secret {
        store = store.with_secret(keys::load_or_create_secret(path, false)?)?;
    }
    let file = peluit::private_fs::create_new(out)
        .with_context(|| format!("cannot create {} (it must not exist)", out.display()))?;
    let mut w = std::io::BufWriter::new(file);
    let s = match export::export(&store, since, &key, &mut w) {
        Ok(s) => s,
        Err(e) => {
            drop(w);
            let _ = std::fs::remove_file(out);
            return Err(e.into());
        }
    };
    w.into_inner().map_err(|e| e.into_error())?.sync_all()?;
    println!("Exported {} report(s), {} encrypted file(s) to {}.", s.reports, s.blobs, out.display());
    if s.messages_left_out {
        println!(
            "Replies and status notes were left out: they are sealed at rest with the deployment secret; \
             give --secret FILE to include them (a running server's `peluit pull` always does)."
        );
    }
    println!("Next time, export only what is new with: --since {}", s.cursor);
    Ok(())
}

/// `decrypt` finished but set submissions aside: "done with problems",
/// exit status [`SetAside::EXIT`], apart from a failure (1).
#[derive(Debug)]
pub struct SetAside {
    /// How many were set aside.
    pub n: usize,
    /// True when nothing opened at all: most likely the wrong identity.
    pub none_opened: bool,
}

impl std::fmt::Display for SetAside {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if self.none_opened {
            write!(f, "cannot decrypt any of the {} submission(s) with this identity: is it the right one? ", self.n)?;
        } else {
            write!(f, "{} submission(s) could not be opened. ", self.n)?;
        }
        write!(f, "Set aside, with the reason in quarantine/*.txt of their case folders")
    }
}

impl std::error::Error for SetAside {}

impl SetAside {
    /// The exit status of a decrypt that is done with problems.
    pub const EXIT: u8 = 3;
}

/// `peluit decrypt`.
pub fn decrypt_cmd(bundle: &Path, identity: &Path, out: &Path) -> Result<()> {
    let text = keys::read_secret_text(identity, || passphrase().map(|p| p.to_string()))?;
    let ids = Identities::parse(&text).with_context(|| format!("{}", identity.display()))?;
    let f = std::fs::File::open(bundle).with_context(|| format!("cannot open {}", bundle.display()))?;
    let before = decrypt::pin::load(out)?;
    // What a first bundle pinned is shown even when the run then fails.
    let pinned = || -> Result<()> {
        match (decrypt::pin::load(out)?, &before) {
            (Some(p), None) => println!("{}", first_contact(&p, out)),
            (Some(p), Some(b)) if b.server_key.is_empty() && !p.server_key.is_empty() => {
                println!("{}", server_first_seen(&p, out));
            }
            _ => {}
        }
        Ok(())
    };
    let s = match decrypt::decrypt(std::io::BufReader::new(f), &ids, out) {
        Ok(s) => s,
        Err(e) => return pinned().and(Err(e.into())),
    };
    println!(
        "{} case(s), {} new submission(s), {} file(s) written under {}{}; {} set aside.",
        s.cases,
        s.submissions,
        s.files,
        out.display(),
        if s.skipped > 0 { format!(" ({} already there, skipped)", s.skipped) } else { String::new() },
        s.set_aside
    );
    if s.messages > 0 || s.deleted > 0 {
        println!(
            "{} reply(ies) and status note(s) added to the conversations; {} case(s) deleted on the server, marked so.",
            s.messages, s.deleted
        );
    }
    pinned()?;
    if s.set_aside > 0 {
        return Err(SetAside { n: s.set_aside, none_opened: s.submissions + s.skipped == 0 }.into());
    }
    Ok(())
}

/// What a folder's first bundle pinned, to compare with what the
/// investigators hold offline.
fn first_contact(p: &decrypt::pin::Pinned, out: &Path) -> String {
    format!(
        "First bundle in {}: pinned deployment {} and its recipients\n  {}\nCompare them with your own \
         recipients.txt now. Later bundles that differ are refused; pin from a key set signed offline with \
         `peluit trust` to change them.\n{}",
        out.display(),
        p.deployment_id,
        p.recipients.iter().map(|r| peluit::safe_text::line(r)).collect::<Vec<_>>().join("\n  "),
        server_first_seen(p, out)
    )
}

/// The server key a bundle pinned unchecked (a folder with no key set
/// naming one): its fingerprint, to compare with what the server printed.
fn server_first_seen(p: &decrypt::pin::Pinned, out: &Path) -> String {
    format!(
        "{} pinned the server key that signed this bundle, fingerprint {}: compare it with the fingerprint the \
         server printed at start. Bundles signed by any other key are refused.",
        out.display(),
        p.server_fingerprint().unwrap_or_default()
    )
}

#[cfg(test)]
mod tests {
    use super::choose_editor;

    #[test]
    fn the_editor_falls_back_to_what_is_installed() {
        let none = |_: &str| None;
        assert_eq!(choose_editor(none, |e| e == "vi"), Some("vi".into()));
        assert_eq!(choose_editor(none, |e| e == "editor" || e == "vi"), Some("editor".into()));
        assert_eq!(choose_editor(none, |_| false), None);
        let vars = |v: &str| (v == "EDITOR").then(|| "emacs".to_string());
        assert_eq!(choose_editor(vars, |_| true), Some("emacs".into()));
        let both = |v: &str| Some(if v == "VISUAL" { "code -w" } else { "emacs" }.to_string());
        assert_eq!(choose_editor(both, |_| true), Some("code -w".into()));
    }
}
