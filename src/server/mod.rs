//! The HTTP server: thin axum handlers around the core, served through
//! hyper-util so that slow clients meet a header-read timeout.
//!
//! Never logs request metadata: no address, user agent, receipt or content.

mod body;
mod error;
mod guard;
mod investigators;
mod limit;
mod pages;
mod parts;
mod reports;
mod respond;
mod routes;
mod status;

use std::collections::HashMap;
use std::future::Future;
use std::io;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use hyper_util::server::conn::auto;
use hyper_util::service::TowerToHyperService;
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::{TcpListener, UnixListener};
use tokio::sync::Semaphore;

use crate::clock::Clock;
use crate::crypto::Recipients;
use crate::i18n::Catalog;
use crate::intake::PartLimits;
use crate::investigators::Investigators;
use crate::published::SignedKeySet;
use crate::store::Store;

pub use crate::config::Site;
pub use error::HttpError;
pub use guard::strict_headers;
pub use routes::router;

/// Limits at the edge. Defaults protect a small machine; all are flags.
#[derive(Clone, Copy, Debug)]
pub struct Limits {
    /// Largest request body in bytes (all files together).
    pub max_body: u64,
    /// Most attachments in one submission.
    pub max_files: usize,
    /// Most bytes in one text field.
    pub max_field: usize,
    /// Time allowed to send the request headers.
    pub header_timeout: Duration,
    /// Time allowed for a whole request, body included.
    pub request_deadline: Duration,
    /// Longest silence allowed while a request body arrives, and the window
    /// over which its rate is averaged.
    pub body_idle_timeout: Duration,
    /// Bytes per second a request body must average over each window
    /// (0: only the silence counts).
    pub min_upload_rate: u64,
    /// Submissions per second, all clients together (0: unlimited).
    pub submit_rate: u32,
    /// Burst of submissions allowed above the rate.
    pub submit_burst: u32,
    /// Receipt lookups per second, all clients together (0: unlimited).
    pub lookup_rate: u32,
    /// Burst of lookups allowed above the rate.
    pub lookup_burst: u32,
    /// Transfer-key requests (`POST /api/v1/actions`) per second (0: unlimited).
    pub transfer_rate: u32,
    /// Burst of transfer-key requests allowed above the rate.
    pub transfer_burst: u32,
    /// Pages, lookups and small tips handled at once; more get 503 at once.
    pub max_in_flight: usize,
    /// Uploads (bodies over the text limit, or of undeclared size) handled
    /// at once, in a pool of their own; more get 503 at once.
    pub max_uploads: usize,
    /// Most follow-ups one report may receive.
    pub max_followups: u32,
    /// Most open connections; more are closed at once (load shedding).
    pub max_connections: usize,
    /// Oldest signed action accepted (older ones are stale).
    pub action_max_age: Duration,
    /// Clock window for transfer-key requests and future-dated actions.
    pub transfer_window: Duration,
    /// Days after closing when a report is purged (0: never).
    pub retention_days: u32,
    /// Free bytes kept on the data folder's disk: submissions that would
    /// leave less are refused with 503 (0: no reserve).
    pub keep_free: u64,
    /// Bytes of memory for sled's page cache (see `Store::open_with_cache`).
    pub cache: u64,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_body: 256 * 1024 * 1024,
            max_files: 20,
            max_field: 100 * 1024,
            header_timeout: Duration::from_secs(10),
            request_deadline: Duration::from_secs(30 * 60),
            body_idle_timeout: Duration::from_secs(60),
            min_upload_rate: 4 * 1024,
            submit_rate: 2000,
            submit_burst: 4000,
            lookup_rate: 10_000,
            lookup_burst: 20_000,
            transfer_rate: 10,
            transfer_burst: 20,
            max_in_flight: 512,
            max_uploads: 128,
            max_followups: crate::store::MAX_FOLLOWUPS,
            max_connections: 1024,
            action_max_age: Duration::from_secs(14 * 24 * 3600),
            transfer_window: Duration::from_secs(300),
            retention_days: 365,
            keep_free: crate::store::DEFAULT_KEEP_FREE,
            cache: 64 * 1024 * 1024,
        }
    }
}

impl Limits {
    /// The part of the limits the intake enforces.
    pub fn parts(&self) -> PartLimits {
        PartLimits { max_files: self.max_files, max_field: self.max_field }
    }

    /// The largest JSON tip: every text field at its limit, and room for the
    /// JSON around them. A body no larger is a small tip, served from the
    /// pages pool.
    pub fn text_body(&self) -> u64 {
        (self.max_field as u64).saturating_mul(8).saturating_add(16 * 1024)
    }
}

/// Shared state of all handlers.
pub struct App {
    /// The database.
    pub store: Store,
    /// Who every blob is sealed to.
    pub recipients: Recipients,
    /// Edge limits.
    pub limits: Limits,
    /// Page settings.
    pub site: Site,
    /// Messages in both languages.
    pub catalog: Catalog,
    /// Investigators' signing and transfer keys.
    pub keys: Investigators,
    /// The signed key set published for client-side encryption, if any.
    pub published: Option<SignedKeySet>,
    /// The server key that signs every bundle (`pull` is refused without one).
    pub bundle_key: Option<Arc<crate::crypto::ed25519::SecretKey>>,
    /// Transfer nonces seen within the time window (replay protection).
    pub seen_transfers: Mutex<HashMap<String, u64>>,
    /// Where the time comes from (the system clock but in tests).
    pub clock: Clock,
    /// Unix second the server started: transfer requests signed before it
    /// are refused (their nonces were in the last run's memory only).
    pub started: u64,
    /// Global submission rate limit.
    pub submit_bucket: limit::Bucket,
    /// Global lookup rate limit.
    pub lookup_bucket: limit::Bucket,
    /// Global transfer-request rate limit.
    pub transfer_bucket: limit::Bucket,
    /// Pages, lookups and small tips in flight (load shedding).
    pub pages: Arc<Semaphore>,
    /// Uploads in flight, apart so they cannot take the pages' slots.
    pub uploads: Arc<Semaphore>,
}

impl App {
    /// Assembles the state; records the recipients for exports.
    /// `clock` is where the time comes from: [`Clock::System`] but in tests.
    pub fn new(
        store: Store,
        recipients: Recipients,
        keys: Investigators,
        limits: Limits,
        site: Site,
        clock: Clock,
    ) -> io::Result<App> {
        store.set_recipients(&recipients.to_strings()).map_err(io::Error::other)?;
        store.set_keep_free(limits.keep_free);
        let catalog = Catalog::load().map_err(io::Error::other)?;
        let now = std::time::Instant::now();
        Ok(App {
            store,
            recipients,
            site,
            catalog,
            keys,
            published: None,
            bundle_key: None,
            seen_transfers: Mutex::new(HashMap::new()),
            clock,
            started: clock.now(),
            submit_bucket: limit::Bucket::new(limits.submit_rate, limits.submit_burst, now),
            lookup_bucket: limit::Bucket::new(limits.lookup_rate, limits.lookup_burst, now),
            transfer_bucket: limit::Bucket::new(limits.transfer_rate, limits.transfer_burst, now),
            pages: Arc::new(Semaphore::new(limits.max_in_flight)),
            uploads: Arc::new(Semaphore::new(limits.max_uploads)),
            limits,
        })
    }

    /// The bucket a route draws from.
    fn bucket(&self, kind: routes::BucketKind) -> &limit::Bucket {
        match kind {
            routes::BucketKind::Submit => &self.submit_bucket,
            routes::BucketKind::Lookup => &self.lookup_bucket,
            routes::BucketKind::Transfer => &self.transfer_bucket,
        }
    }
}

/// Where the server listens.
pub enum Listener {
    /// A TCP address (development, or behind a reverse proxy).
    Tcp(TcpListener),
    /// A Unix socket (for Tor: no TCP port at all).
    Unix(UnixListener),
}

/// Serves until `shutdown` completes, then lets open requests finish. Ends
/// with [`StorageFailed`] (in the `io::Error`) when the database fails for
/// good while the disk has room: the caller exits with [`EXIT_STORAGE`].
pub async fn run(listener: Listener, app: Arc<App>, shutdown: impl Future<Output = ()>) -> io::Result<()> {
    let limits = app.limits;
    if limits.retention_days > 0 {
        tokio::spawn(retention(app.clone()));
    }
    let watch = storage_watch(app.clone());
    let router = router(app);
    let mut builder = auto::Builder::new(TokioExecutor::new()).http1_only();
    builder
        .http1()
        .timer(TokioTimer::new())
        .header_read_timeout(limits.header_timeout)
        .auto_date_header(false)
        .max_buf_size(64 * 1024);
    let builder = Arc::new(builder);
    let graceful = hyper_util::server::graceful::GracefulShutdown::new();
    let slots = Arc::new(Semaphore::new(limits.max_connections));
    tokio::pin!(shutdown);
    tokio::pin!(watch);
    let mut failed = None;
    loop {
        let accepted = tokio::select! {
            () = &mut shutdown => break,
            f = &mut watch => {
                failed = Some(f);
                break;
            }
            a = accept(&listener) => a,
        };
        let stream = match accepted {
            Ok(s) => s,
            Err(e) => {
                // EMFILE and friends: back off instead of spinning.
                tracing::warn!(error = %e, "accept failed");
                tokio::time::sleep(Duration::from_millis(50)).await;
                continue;
            }
        };
        // Over the connection cap the connection is closed at once: shedding
        // beats an unbounded queue.
        let Ok(permit) = slots.clone().try_acquire_owned() else {
            continue;
        };
        let svc = TowerToHyperService::new(router.clone());
        let builder = builder.clone();
        let watcher = graceful.watcher();
        tokio::spawn(async move {
            let _permit = permit;
            match stream {
                Stream::Tcp(s) => serve_one(&builder, watcher, s, svc).await,
                Stream::Unix(s) => serve_one(&builder, watcher, s, svc).await,
            }
        });
    }
    // A failed database gets no grace: what it would serve is refused anyway.
    if let Some(f) = failed {
        return Err(io::Error::other(f));
    }
    tokio::select! {
        () = graceful.shutdown() => {}
        () = tokio::time::sleep(Duration::from_secs(10)) => {}
    }
    Ok(())
}

/// An accepted connection.
enum Stream {
    /// From TCP.
    Tcp(tokio::net::TcpStream),
    /// From the Unix socket.
    Unix(tokio::net::UnixStream),
}

/// Accepts one connection; the peer address is dropped unread.
async fn accept(listener: &Listener) -> io::Result<Stream> {
    match listener {
        Listener::Tcp(l) => {
            let (s, _) = l.accept().await?;
            let _ = s.set_nodelay(true);
            Ok(Stream::Tcp(s))
        }
        Listener::Unix(l) => Ok(Stream::Unix(l.accept().await?.0)),
    }
}

/// Serves one connection to completion.
async fn serve_one<S>(
    builder: &auto::Builder<TokioExecutor>,
    watcher: hyper_util::server::graceful::Watcher,
    stream: S,
    svc: TowerToHyperService<axum::Router>,
) where
    S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let conn = builder.serve_connection(TokioIo::new(stream), svc);
    // Connection errors are the client's business (resets, timeouts): they
    // carry no content, and are not logged to keep the log quiet under attack.
    let _ = watcher.watch(conn).await;
}

/// Exit status when the database has failed for good (see [`storage_watch`]).
pub const EXIT_STORAGE: u8 = 75;

/// The database failed and keeps failing while the disk has room again.
#[derive(Debug, thiserror::Error)]
#[error("the database failed and keeps failing ({0}); stopping so that the service manager starts it afresh")]
pub struct StorageFailed(pub String);

/// Watches for the one storage failure the server cannot heal by itself.
/// The reserve keeps sled from ever meeting a full disk, but should it meet
/// one anyway (the reserve turned off, or another process filling the disk
/// at once), sled 0.34 keeps the write error and returns it for every later
/// write, refusing tips for ever. Every few seconds this waits for one group
/// commit; if that fails while the disk has room again, it returns, the
/// server stops and the process exits with [`EXIT_STORAGE`] so that the
/// service manager starts it afresh (`Restart=on-failure` in
/// deploy/peluit.service). Acknowledged tips are durable, so nothing is lost;
/// lookups keep working until then.
async fn storage_watch(app: Arc<App>) -> StorageFailed {
    let mut tick = tokio::time::interval(Duration::from_secs(2));
    let mut reported = false;
    loop {
        tick.tick().await;
        let Err(e) = app.store.durable().await else {
            reported = false;
            continue;
        };
        let room = app.store.free_bytes().is_ok_and(|free| free > app.limits.keep_free.max(4 * 1024 * 1024));
        if room {
            tracing::error!(error = %e, "the database failed and keeps failing; stopping for a restart");
            return StorageFailed(e.to_string());
        }
        if !reported {
            tracing::error!(error = %e, "the database failed (disk full); lookups continue, tips are refused");
            reported = true;
        }
    }
}

/// Purges reports closed longer than the retention period, at start and
/// then hourly; forgets action nonces older than the action window.
async fn retention(app: Arc<App>) {
    let mut tick = tokio::time::interval(Duration::from_secs(3600));
    loop {
        tick.tick().await;
        let app = app.clone();
        let result = tokio::task::spawn_blocking(move || {
            let today = app.clock.today();
            let cutoff = crate::clock::days_before(&today, app.limits.retention_days).unwrap_or_default();
            let nonce_cutoff = app.clock.now().saturating_sub(app.limits.action_max_age.as_secs() + 3600);
            app.store.purge_closed(&cutoff, nonce_cutoff, &today)
        })
        .await;
        match result {
            Ok(Ok(0)) => {}
            Ok(Ok(n)) => tracing::info!(purged = n, "retention: closed reports purged"),
            Ok(Err(e)) => tracing::error!(error = %e, "retention failed"),
            Err(e) => tracing::error!(error = %e, "retention task failed"),
        }
    }
}
