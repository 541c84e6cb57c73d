//! The `peluit` command: parses arguments and runs one function per
//! subcommand. Only this file prints to the terminal or exits.

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;

use anyhow::{bail, Context, Result};
use clap::{Parser, Subcommand};

use peluit::crypto::Identities;
use peluit::i18n::Catalog;
use peluit::server::{self, App, Limits, Listener, Site};
use peluit::store::Store;
use peluit::{decrypt, export, keys};

/// An anonymous whistleblower reporting service.
#[derive(Parser)]
#[command(name = "peluit", version, about)]
struct Cli {
    /// What to do.
    #[command(subcommand)]
    command: Command,
}

/// Subcommands.
#[derive(Subcommand)]
enum Command {
    /// Make an investigator's age identity (on the offline machine).
    Keygen {
        /// Folder for the secret key files (created 0700).
        #[arg(long)]
        out: PathBuf,
    },
    /// Run the server.
    Serve(ServeArgs),
    /// Try peluit: throwaway keys and a server on 127.0.0.1:8080.
    Demo {
        /// Address to listen on.
        #[arg(long, default_value = "127.0.0.1:8080")]
        listen: String,
    },
    /// Write the ciphertext of new reports into a bundle (server stopped).
    Export {
        /// The server's data folder.
        #[arg(long)]
        data: PathBuf,
        /// The bundle to write (a tar file; must not exist).
        #[arg(long)]
        out: PathBuf,
        /// Only items after this cursor (printed by the previous export).
        #[arg(long, default_value_t = 0)]
        since: u64,
    },
    /// Decrypt a bundle into case folders (on the offline machine).
    Decrypt {
        /// The bundle made by `export`.
        bundle: PathBuf,
        /// The investigator's age identity file.
        #[arg(long)]
        identity: PathBuf,
        /// Folder for the case folders.
        #[arg(long)]
        out: PathBuf,
    },
}

/// Options of `serve`.
#[derive(clap::Args)]
struct ServeArgs {
    /// TCP address, e.g. 127.0.0.1:8080.
    #[arg(long, conflicts_with = "unix", required_unless_present = "unix")]
    listen: Option<String>,
    /// Unix socket path (for Tor).
    #[arg(long)]
    unix: Option<PathBuf>,
    /// Data folder (the sled database).
    #[arg(long)]
    data: PathBuf,
    /// Keys folder holding recipients.txt.
    #[arg(long)]
    keys: PathBuf,
    /// The organisation's name, shown on every page.
    #[arg(long, default_value = "Peluit")]
    org: String,
    /// The onion address, shown in the safety advice.
    #[arg(long, default_value = "")]
    onion: String,
    /// Days within which feedback is promised.
    #[arg(long, default_value_t = 90)]
    feedback_days: u32,
    /// Largest request body, in MiB.
    #[arg(long, default_value_t = 256)]
    max_body_mib: u64,
    /// Most attachments per submission.
    #[arg(long, default_value_t = 20)]
    max_files: usize,
    /// Seconds allowed for request headers.
    #[arg(long, default_value_t = 10)]
    header_timeout: u64,
    /// Seconds allowed for a whole request.
    #[arg(long, default_value_t = 1800)]
    request_deadline: u64,
    /// Most open connections.
    #[arg(long, default_value_t = 1024)]
    max_connections: usize,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match run(cli.command) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("peluit: {e:#}");
            ExitCode::FAILURE
        }
    }
}

/// Dispatches one subcommand.
fn run(cmd: Command) -> Result<()> {
    match cmd {
        Command::Keygen { out } => keygen(&out),
        Command::Serve(args) => serve(args),
        Command::Demo { listen } => demo(&listen),
        Command::Export { data, out, since } => export_cmd(&data, &out, since),
        Command::Decrypt {
            bundle,
            identity,
            out,
        } => decrypt_cmd(&bundle, &identity, &out),
    }
}

/// `peluit keygen`.
fn keygen(out: &Path) -> Result<()> {
    let k = keys::keygen(out, &server::today())?;
    println!(
        "Secret identity written to {} (mode 0600). Keep it on the offline machine.",
        k.identity.display()
    );
    println!("Add this line to the server's keys/recipients.txt:");
    println!("{}", k.recipient);
    Ok(())
}

/// `peluit serve`.
fn serve(a: ServeArgs) -> Result<()> {
    let limits = Limits {
        max_body: a.max_body_mib.saturating_mul(1024 * 1024),
        max_files: a.max_files,
        max_field: Limits::default().max_field,
        header_timeout: std::time::Duration::from_secs(a.header_timeout),
        request_deadline: std::time::Duration::from_secs(a.request_deadline),
        max_connections: a.max_connections,
    };
    let site = Site {
        org: a.org,
        onion: a.onion,
        feedback_days: a.feedback_days,
        ..Site::default()
    };
    let target = match (a.listen, a.unix) {
        (Some(addr), None) => Target::Tcp(addr),
        (None, Some(path)) => Target::Unix(path),
        _ => bail!("give exactly one of --listen ADDR or --unix PATH"),
    };
    start(target, &a.data, &a.keys, limits, site)
}

/// Where to listen.
enum Target {
    /// TCP address.
    Tcp(String),
    /// Unix socket path.
    Unix(PathBuf),
}

/// Opens everything, then serves until Ctrl-C or SIGTERM.
fn start(target: Target, data: &Path, keys_dir: &Path, limits: Limits, site: Site) -> Result<()> {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "info".into()),
        )
        .with_writer(std::io::stderr)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .with_target(false)
        .init();
    let recipients = keys::load_recipients(keys_dir)?;
    std::fs::create_dir_all(data)
        .with_context(|| format!("cannot create the data folder {}", data.display()))?;
    let store = Store::open(data)
        .with_context(|| format!("cannot open the data folder {}", data.display()))?;
    let catalog = Catalog::load()?;
    let n = recipients.len();
    let app = Arc::new(App {
        store,
        recipients,
        limits,
        site,
        catalog,
    });
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    rt.block_on(async move {
        let listener = match target {
            Target::Tcp(addr) => {
                let l = tokio::net::TcpListener::bind(&addr)
                    .await
                    .with_context(|| format!("cannot listen on {addr}"))?;
                tracing::info!("listening on http://{}", l.local_addr()?);
                Listener::Tcp(l)
            }
            Target::Unix(path) => {
                remove_stale_socket(&path)?;
                let l = tokio::net::UnixListener::bind(&path)
                    .with_context(|| format!("cannot listen on {}", path.display()))?;
                tracing::info!("listening on unix:{}", path.display());
                Listener::Unix(l)
            }
        };
        tracing::info!(
            recipients = n,
            "sealing every submission to the investigators' keys"
        );
        server::run(listener, app, shutdown_signal()).await?;
        tracing::info!("stopped");
        Ok(())
    })
}

/// Removes a socket file left by an earlier run (never a regular file).
fn remove_stale_socket(path: &Path) -> Result<()> {
    use std::os::unix::fs::FileTypeExt;
    if let Ok(m) = std::fs::symlink_metadata(path) {
        if !m.file_type().is_socket() {
            bail!("{} exists and is not a socket", path.display());
        }
        std::fs::remove_file(path)?;
    }
    Ok(())
}

/// Resolves on Ctrl-C or SIGTERM.
async fn shutdown_signal() {
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    tokio::select! {
        _ = tokio::signal::ctrl_c() => {}
        () = term => {}
    }
}

/// `peluit demo`.
fn demo(listen: &str) -> Result<()> {
    let base = std::env::temp_dir().join(format!(
        "peluit-demo-{}",
        peluit::crypto::hex(&peluit::crypto::random_id()[..4])
    ));
    let key_dir = base.join("investigator");
    let server_keys = base.join("keys");
    let data = base.join("data");
    let k = keys::keygen(&key_dir, &server::today())?;
    std::fs::create_dir_all(&server_keys)?;
    std::fs::write(
        server_keys.join(keys::RECIPIENTS_FILE),
        format!("# demo investigator\n{}\n", k.recipient),
    )?;
    let exe = std::env::current_exe()
        .map(|p| p.display().to_string())
        .unwrap_or_else(|_| "peluit".into());
    let bundle = base.join("bundle.tar");
    let cases = base.join("cases");
    println!("peluit demo: throwaway keys and data in {}", base.display());
    println!();
    println!("  1. Open http://{listen}/ and send a tip (add a file or two).");
    println!("     The receipt code is shown once; check it at http://{listen}/status");
    println!("  2. Stop the server with Ctrl-C (the database allows one process at a time).");
    println!("  3. Export the ciphertext:");
    println!(
        "       {exe} export --data {} --out {}",
        data.display(),
        bundle.display()
    );
    println!("  4. Decrypt it, as an investigator would on an offline machine:");
    println!(
        "       {exe} decrypt {} --identity {} --out {}",
        bundle.display(),
        k.identity.display(),
        cases.display()
    );
    println!("     Any blob also opens with the reference tool:");
    println!(
        "       tar -xf {} -C {} && age -d -i {} {}/blobs/<id>.age",
        bundle.display(),
        base.display(),
        k.identity.display(),
        base.display()
    );
    println!();
    start(
        Target::Tcp(listen.to_string()),
        &data,
        &server_keys,
        Limits::default(),
        Site::default(),
    )
}

/// `peluit export`.
fn export_cmd(data: &Path, out: &Path, since: u64) -> Result<()> {
    if !data.is_dir() {
        bail!("{} is not a data folder", data.display());
    }
    let store = Store::open(data).with_context(|| format!("cannot open {}", data.display()))?;
    let file = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(out)
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
    println!(
        "Exported {} report(s), {} encrypted file(s) to {}.",
        s.reports,
        s.blobs,
        out.display()
    );
    println!(
        "Next time, export only what is new with: --since {}",
        s.cursor
    );
    Ok(())
}

/// `peluit decrypt`.
fn decrypt_cmd(bundle: &Path, identity: &Path, out: &Path) -> Result<()> {
    let text = zeroize::Zeroizing::new(
        std::fs::read_to_string(identity)
            .with_context(|| format!("cannot read {}", identity.display()))?,
    );
    let ids = Identities::parse(&text).with_context(|| format!("{}", identity.display()))?;
    let f =
        std::fs::File::open(bundle).with_context(|| format!("cannot open {}", bundle.display()))?;
    let s = decrypt::decrypt(std::io::BufReader::new(f), &ids, out)?;
    println!(
        "{} case(s), {} new submission(s), {} file(s) written under {}{}.",
        s.cases,
        s.submissions,
        s.files,
        out.display(),
        if s.skipped > 0 {
            format!(" ({} already there, skipped)", s.skipped)
        } else {
            String::new()
        }
    );
    Ok(())
}
