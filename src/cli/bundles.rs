//! Bundles on the investigators' side: `pull` one from a server, `export`
//! one on a stopped server, `decrypt` one on the offline machine (the first
//! contact pins the folder), and `verify-log`.

use std::path::Path;

use anyhow::{bail, Context, Result};

use peluit::client::Remote;
use peluit::crypto::Identities;
use peluit::investigators::{Investigators, Role};
use peluit::store::Store;
use peluit::{decrypt, export, keys};

use super::args::RemoteArgs;
use super::{load_key, now, passphrase};

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
