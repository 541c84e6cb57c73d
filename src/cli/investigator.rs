//! The investigators' commands: keys, offline case work, export, decrypt,
//! apply, pull, push and the audit-log check.

use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};

use peluit::casework::{self, Casebook};
use peluit::client::Remote;
use peluit::investigators::Role;
use peluit::model::Status;
use peluit::safe_text::line;
use peluit::store::Store;
use peluit::{actions, keys};

use super::args::{CaseAction, CaseArgs, RemoteArgs};
use super::{load_key, new_passphrase, now};

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
        let unsigned = format!("{} status change(s) NOT signed by a pinned investigator", r.unsigned);
        let deleted = format!("deleted on the server {}", line(r.deleted.as_deref().unwrap_or("")));
        let note = [
            (r.overdue, "OVERDUE"),
            (r.new, "new"),
            (r.set_aside > 0, set_aside.as_str()),
            (r.unverified > 0, unverified.as_str()),
            (r.unsigned > 0, unsigned.as_str()),
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
