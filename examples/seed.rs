//! Fills a stopped server's data folder with many small sealed tips through
//! the library's `Store` API, for the load tests in `benches/load.sh`.
//!
//! Each tip is sealed to `keys/recipients.txt` exactly as the server seals a
//! JSON tip (a padded manifest, a record, a lookup key), so `peluit export` and
//! `peluit decrypt` treat them like real ones. The text is synthetic. Receipt
//! codes are written only to the `--receipts` file (mode 0600), never printed.
//!
//! ```text
//! cargo run --release --example seed -- --data DIR --keys DIR --count 100000 \
//!     --receipts DIR/receipts.txt
//! ```

use std::fs::OpenOptions;
use std::io::Write;
use std::os::unix::fs::OpenOptionsExt;
use std::path::PathBuf;
use std::sync::Mutex;
use std::time::Instant;

use anyhow::{Context, Result};
use clap::Parser;

use peluit::crypto::{self, Pad, Recipients};
use peluit::model::{Manifest, SealedBy, Submission, SubmissionKind, MANIFEST_FORMAT};
use peluit::store::Store;

/// Seeds a data folder with sealed tips.
#[derive(Parser)]
struct Args {
    /// The data folder (the server must be stopped).
    #[arg(long)]
    data: PathBuf,
    /// The keys folder holding recipients.txt.
    #[arg(long)]
    keys: PathBuf,
    /// How many tips to add.
    #[arg(long, default_value_t = 100_000)]
    count: u64,
    /// Worker threads (sealing is the CPU cost).
    #[arg(long, default_value_t = 2)]
    threads: u64,
    /// Where to write a sample of receipt codes (mode 0600), for lookups.
    #[arg(long)]
    receipts: Option<PathBuf>,
    /// How many receipt codes to sample into `--receipts`.
    #[arg(long, default_value_t = 1000)]
    samples: u64,
    /// Bytes of free text in each tip.
    #[arg(long, default_value_t = 600)]
    text_bytes: usize,
}

fn main() -> Result<()> {
    let a = Args::parse();
    // Like `peluit` itself: nothing it creates is readable by other users.
    rustix::process::umask(rustix::fs::Mode::from_raw_mode(0o077));
    let recipients = peluit::keys::load_recipients(&a.keys)?;
    let store = Store::open(&a.data).with_context(|| format!("open {}", a.data.display()))?;
    let secret_file = a.keys.join(peluit::keys::SECRET_FILE);
    let secret = peluit::keys::load_or_create_secret(&secret_file, store.is_empty()?)?;
    let store = store.with_secret(secret)?;
    store.set_recipients(&recipients.to_strings())?;
    let receipts = match &a.receipts {
        Some(p) => Some(Mutex::new(
            OpenOptions::new()
                .create(true)
                .append(true)
                .mode(0o600)
                .open(p)
                .with_context(|| format!("open {}", p.display()))?,
        )),
        None => None,
    };
    let every = (a.count / a.samples.max(1)).max(1);
    let start = Instant::now();
    let threads = a.threads.max(1);
    std::thread::scope(|s| -> Result<()> {
        let mut handles = Vec::new();
        for t in 0..threads {
            let (store, recipients, receipts) = (&store, &recipients, &receipts);
            let text = "x".repeat(a.text_bytes);
            let (count, start) = (a.count, start);
            handles.push(s.spawn(move || -> Result<()> {
                let mut i = t;
                while i < count {
                    let receipt = seed_one(store, recipients, &text)?;
                    if i.is_multiple_of(every) {
                        if let Some(f) = receipts {
                            let mut f = f.lock().map_err(|_| anyhow::anyhow!("poisoned"))?;
                            writeln!(f, "{}", receipt.as_str())?;
                        }
                    }
                    if t == 0 && i.is_multiple_of(50_000) && i > 0 {
                        let secs = start.elapsed().as_secs_f64();
                        eprintln!("seed: {i} of {count} after {secs:.0} s");
                    }
                    i += threads;
                }
                Ok(())
            }));
        }
        for h in handles {
            h.join().map_err(|_| anyhow::anyhow!("a worker panicked"))??;
        }
        Ok(())
    })?;
    store.durable_blocking()?;
    let secs = start.elapsed().as_secs_f64();
    println!("seeded {} tips in {secs:.1} s ({:.0} per second)", a.count, a.count as f64 / secs);
    Ok(())
}

/// Seals and stores one tip; returns its receipt code in grouped form.
fn seed_one(store: &Store, recipients: &Recipients, text: &str) -> Result<zeroize::Zeroizing<String>> {
    // Manifest and Fields zeroize on drop, so they are filled in place.
    let mut manifest = Manifest::default();
    manifest.format = MANIFEST_FORMAT.into();
    manifest.kind = "tip".into();
    manifest.category = "lainnya".into();
    manifest.text = text.into();
    manifest.fields.what = "seeded load-test tip".into();
    let json = zeroize::Zeroizing::new(serde_json::to_vec(&manifest)?);
    let sealed = crypto::seal_bytes(recipients, &json, Pad::Spaces)?;
    let blob = store.put_blob(&sealed)?;
    let sub = Submission {
        seq: store.next_seq()?,
        day: peluit::clock::today(),
        kind: SubmissionKind::Tip,
        sealed_by: SealedBy::Server,
        manifest: blob,
        attachments: Vec::new(),
        tags: Vec::new(),
    };
    let (receipt, id) = peluit::lifecycle::draw(&mut rand::rand_core::UnwrapErr(rand::rngs::SysRng));
    store.open_report(&receipt, id, sub)?;
    Ok(receipt.grouped())
}
