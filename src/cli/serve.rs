//! `serve`: open the keys and the database, then run the server until
//! Ctrl-C or SIGTERM (the demo runs it the same way).

use std::path::{Path, PathBuf};
use std::sync::Arc;

use anyhow::{bail, Context, Result};

use peluit::keys;
use peluit::server::{self, App, Limits, Listener, Site};
use peluit::store::Store;

use super::args::ServeArgs;

/// `peluit serve`.
pub fn serve(a: ServeArgs) -> Result<()> {
    let limits = Limits {
        max_body: a.max_body_mib.saturating_mul(1024 * 1024),
        max_files: usize::from(a.max_files),
        max_field: Limits::default().max_field,
        header_timeout: std::time::Duration::from_secs(a.header_timeout),
        request_deadline: std::time::Duration::from_secs(a.request_deadline),
        max_connections: a.max_connections,
        action_max_age: std::time::Duration::from_secs(a.action_max_age_days * 86_400),
        body_idle_timeout: std::time::Duration::from_secs(a.body_idle_timeout),
        min_upload_rate: a.min_upload_kib.saturating_mul(1024),
        transfer_rate: a.transfer_rate,
        transfer_burst: a.transfer_burst,
        max_uploads: a.max_uploads.unwrap_or(a.max_in_flight / 4).max(1),
        max_followups: a.max_followups,
        submit_rate: a.submit_rate,
        submit_burst: a.submit_burst,
        lookup_rate: a.lookup_rate,
        lookup_burst: a.lookup_burst,
        max_in_flight: a.max_in_flight,
        retention_days: a.retention_days,
        keep_free: a.keep_free_mib.saturating_mul(1024 * 1024),
        cache: a.cache_mib.saturating_mul(1024 * 1024),
        ..Limits::default()
    };
    let site = match a.config.as_deref() {
        Some(path) => peluit::config::load(path)?,
        None => Site { org: a.org, onion: a.onion, feedback_days: a.feedback_days, ..Site::default() },
    };
    let target = match (a.listen, a.unix) {
        (Some(addr), None) => Target::Tcp(addr),
        (None, Some(path)) => Target::Unix(path),
        _ => bail!("give exactly one of --listen ADDR or --unix PATH"),
    };
    let secret = a.secret.unwrap_or_else(|| a.keys.join(keys::SECRET_FILE));
    let server_key = a.server_key.unwrap_or_else(|| a.keys.join(peluit::server_key::SERVER_KEY_FILE));
    let folder = DataFolder { data: a.data, secret, server_key, blur: std::time::Duration::from_secs(a.blur_secs) };
    start(target, &folder, &a.keys, limits, site)
}

/// The data folder, its secret, and how often its file times are reset.
pub struct DataFolder {
    /// The sled database.
    pub data: PathBuf,
    /// The deployment secret's file (outside `data`).
    pub secret: PathBuf,
    /// The server key's file, which signs bundles (outside `data`, made when missing).
    pub server_key: PathBuf,
    /// Period of [`peluit::store::layout::blur`].
    pub blur: std::time::Duration,
}

/// Opens the data folder with its secret: refuses a folder of the older
/// layout (secret inside), makes the secret on a new deployment.
fn open_store(f: &DataFolder, cache: u64) -> Result<Store> {
    let store = Store::open_with_cache(&f.data, cache)
        .with_context(|| format!("cannot open the data folder {}", f.data.display()))?;
    if store.legacy_secret()?.is_some() {
        bail!(
            "{} keeps the deployment secret inside it (an older layout). With the server stopped, run\n  \
             peluit compact --data {} --out NEW --secret {}\nthen put NEW in its place and destroy the old folder (SECURITY.md)",
            f.data.display(),
            f.data.display(),
            f.secret.display()
        );
    }
    let secret = keys::load_or_create_secret(&f.secret, store.is_empty()?)?;
    Ok(store.with_secret(secret)?)
}

/// Where to listen.
pub enum Target {
    /// TCP address.
    Tcp(String),
    /// A TCP port bound already (the demo checks its port before anything else).
    Bound(std::net::TcpListener),
    /// Unix socket path.
    Unix(PathBuf),
}

/// Opens everything, then serves until Ctrl-C or SIGTERM.
pub fn start(target: Target, folder: &DataFolder, keys_dir: &Path, limits: Limits, site: Site) -> Result<()> {
    tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "info".into()))
        .with_writer(std::io::stderr)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .with_target(false)
        .init();
    let recipients = keys::load_recipients(keys_dir)?;
    let keyset = keys::load_investigators(keys_dir)?;
    if keyset.all().is_empty() {
        tracing::warn!("no keys/investigators.txt: nobody can push actions or pull bundles");
    }
    let store = open_store(folder, limits.cache)?;
    let n = recipients.len();
    let published = keys::load_published(keys_dir)?;
    if published.is_none() {
        tracing::warn!(
            "no keys/keyset.json: `peluit submit` cannot be used. On the offline machine run `peluit keys sign --recipients recipients.txt --deployment {} --key signing.key --out keyset.json`, put keyset.json in the keys folder and restart the server",
            store.deployment_id()
        );
    }
    let (bundle_key, made) = peluit::server_key::load_or_create(&folder.server_key)?;
    let own = bundle_key.public().to_text();
    // The investigators carry this to the offline machine and compare it
    // with what `peluit trust` or their first `decrypt` pins.
    tracing::info!(
        server_key = %own,
        fingerprint = %bundle_key.public().fingerprint(),
        new = made,
        "the server key that signs bundles: give it to `peluit keys sign --server-key` on the offline machine"
    );
    if let Some(p) = published.as_ref().and_then(peluit::published::peek) {
        let signers = keyset.signers();
        if p.deployment != store.deployment_id()
            || p.recipients != recipients.to_strings()
            || p.signers != signers
            || p.server != own
        {
            tracing::warn!(
                "keys/keyset.json does not match this deployment's id, recipients.txt, the sign keys of investigators.txt or the server key: sign it again"
            );
        }
        if let Some(w) = peluit::published::expiry_warning(&p, super::now()) {
            tracing::warn!("{w}");
        }
    }
    tracing::info!(deployment = store.deployment_id(), "deployment id");
    let mut app = App::new(store, recipients, keyset, limits, site, peluit::clock::Clock::System)?;
    if let Err(peluit::store::StoreError::Full) = app.store.ensure_room(0) {
        tracing::warn!(
            keep_free_mib = limits.keep_free >> 20,
            "the data folder's disk has less free space than --keep-free-mib: submissions are refused until space is freed"
        );
    }
    app.published = published;
    app.bundle_key = Some(Arc::new(bundle_key));
    let app = Arc::new(app);
    let rt = tokio::runtime::Builder::new_multi_thread().enable_all().build()?;
    rt.block_on(async move {
        let listener = match target {
            Target::Tcp(addr) => {
                let l =
                    tokio::net::TcpListener::bind(&addr).await.with_context(|| format!("cannot listen on {addr}"))?;
                tracing::info!("listening on http://{}", l.local_addr()?);
                Listener::Tcp(l)
            }
            Target::Bound(l) => {
                l.set_nonblocking(true)?;
                let l = tokio::net::TcpListener::from_std(l)?;
                tracing::info!("listening on http://{}", l.local_addr()?);
                Listener::Tcp(l)
            }
            Target::Unix(path) => {
                remove_stale_socket(&path)?;
                let l = tokio::net::UnixListener::bind(&path)
                    .with_context(|| format!("cannot listen on {}", path.display()))?;
                // The umask made it 0600; tor connects through the group
                // (deploy/peluit.service), and connecting needs write.
                std::fs::set_permissions(
                    &path,
                    <std::fs::Permissions as std::os::unix::fs::PermissionsExt>::from_mode(0o660),
                )?;
                tracing::info!("listening on unix:{}", path.display());
                Listener::Unix(l)
            }
        };
        tracing::info!(recipients = n, "sealing every submission to the investigators' keys");
        tokio::spawn(blur_every(app.store.clone(), folder.blur));
        server::run(listener, app, shutdown_signal()).await?;
        tracing::info!("stopped");
        Ok(())
    })
}

/// Resets the data folder's file times every `period`, whether or not
/// anything was written, so that their change times follow this clock and
/// never a tip's (SECURITY.md); makes the day packs ahead. The store does
/// it once more as it closes.
async fn blur_every(store: Store, period: std::time::Duration) {
    let mut tick = tokio::time::interval(period);
    loop {
        tick.tick().await;
        let store = store.clone();
        if let Ok(Err(e)) = tokio::task::spawn_blocking(move || store.blur()).await {
            tracing::warn!(error = %e, "could not reset the data folder's file times");
        }
    }
}

/// Removes a socket file left by an earlier run (never a regular file).
pub fn remove_stale_socket(path: &Path) -> Result<()> {
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
pub async fn shutdown_signal() {
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
