//! The arguments of the subcommands that take more than a few options
//! (clap derive); `main.rs` keeps the command list itself.

use std::path::PathBuf;

use clap::Subcommand;

/// How `push` and `pull` reach the server.
#[derive(clap::Args)]
pub struct RemoteArgs {
    /// The server, e.g. http://xyz.onion.
    #[arg(long)]
    pub server: String,
    /// The transfer key file.
    #[arg(long)]
    pub key: PathBuf,
    /// A SOCKS5 proxy, e.g. socks5h://127.0.0.1:9050 for Tor.
    #[arg(long)]
    pub proxy: Option<String>,
}

/// `peluit keys …`.
#[derive(Subcommand)]
pub enum KeysAction {
    /// Sign keys/recipients.txt and the sign keys of investigators.txt for GET /api/v1/keys, with a version and an
    /// expiry; put the output in the server's keys folder as keyset.json and publish the printed pin.
    Sign {
        /// The recipients file to publish.
        #[arg(long)]
        recipients: PathBuf,
        /// The deployment id (printed by the server at start, and in every bundle).
        #[arg(long)]
        deployment: String,
        /// The signing key file.
        #[arg(long)]
        key: PathBuf,
        /// Where to write the signed key set; a set already there is superseded (next version).
        #[arg(long)]
        out: PathBuf,
        /// The investigators file whose `sign` keys reporters' clients check replies against
        /// (default: investigators.txt beside --recipients).
        #[arg(long)]
        investigators: Option<PathBuf>,
        /// Days until the key set expires; sign it again before then.
        #[arg(long, default_value_t = peluit::published::DEFAULT_VALID_DAYS)]
        valid_days: u64,
        /// The version to give the set (default: one above the set at --out, or 1).
        #[arg(long)]
        set_version: Option<u64>,
        /// The server key that signs bundles, `ed25519:…` as the server printed it at start (default: the one in
        /// the set at --out); `peluit trust` pins it, so bundles signed by any other key are refused.
        #[arg(long)]
        server_key: Option<String>,
    },
    /// Make the server key that signs bundles (on the server, before its first start under systemd), or show the
    /// one there: its public key and fingerprint, to carry to the offline machine.
    ServerKey {
        /// The key file, beside the deployment secret (e.g. /etc/peluit/server.key); made 0600 when missing.
        #[arg(long)]
        out: PathBuf,
    },
}

/// Options of `submit`.
#[derive(clap::Args)]
pub struct SubmitArgs {
    /// The server, e.g. http://xyz.onion.
    #[arg(long, required_unless_present = "print_template")]
    pub server: Option<String>,
    /// The organisation's pin as it publishes it: FINGERPRINT:vN (or a bare FINGERPRINT).
    #[arg(long, required_unless_present = "print_template")]
    pub pin: Option<String>,
    /// The deployment id, if the organisation publishes it too.
    #[arg(long)]
    pub deployment: Option<String>,
    /// A SOCKS5 proxy, e.g. socks5h://127.0.0.1:9050 for Tor.
    #[arg(long)]
    pub proxy: Option<String>,
    /// A filled-in template (see --print-template) instead of questions.
    #[arg(long)]
    pub template: Option<PathBuf>,
    /// A file to attach (repeat for several).
    #[arg(long = "file")]
    pub files: Vec<PathBuf>,
    /// Print an empty template and stop.
    #[arg(long)]
    pub print_template: bool,
    /// Language of the questions and messages: id (Bahasa Indonesia) or en.
    #[arg(long, default_value = "id", value_parser = ["id", "en"])]
    pub lang: String,
}

/// Options of `check`.
#[derive(clap::Args)]
pub struct CheckArgs {
    /// The server, e.g. http://xyz.onion.
    #[arg(long, conflicts_with = "data", required_unless_present = "data")]
    pub server: Option<String>,
    /// Instead: verify every record and blob of a stopped server's data folder.
    #[arg(long)]
    pub data: Option<PathBuf>,
    /// A SOCKS5 proxy, e.g. socks5h://127.0.0.1:9050 for Tor.
    #[arg(long)]
    pub proxy: Option<String>,
    /// Add information: a message (asked for, or the rest of stdin) and any --file.
    #[arg(long)]
    pub add: bool,
    /// The organisation's pin (FINGERPRINT or FINGERPRINT:vN): needed with --add, and
    /// without it no reply can be verified as the investigators'.
    #[arg(long, required_if_eq("add", "true"))]
    pub pin: Option<String>,
    /// A file to attach with --add (repeat for several).
    #[arg(long = "file")]
    pub files: Vec<PathBuf>,
    /// Language of the messages: id (Bahasa Indonesia) or en.
    #[arg(long, default_value = "id", value_parser = ["id", "en"])]
    pub lang: String,
}

/// Options of `case`.
#[derive(clap::Args)]
pub struct CaseArgs {
    /// The folder written by `decrypt`.
    #[arg(long)]
    pub cases: PathBuf,
    /// The signing key file.
    #[arg(long)]
    pub key: PathBuf,
    /// The actions file to append to (default: CASES/actions.jsonl).
    #[arg(long)]
    pub actions: Option<PathBuf>,
    /// What to do.
    #[command(subcommand)]
    pub action: CaseAction,
}

/// Actions on one case.
#[derive(Subcommand)]
pub enum CaseAction {
    /// Set the status (received, verifying, reviewing, investigating, needs_info, forwarded, closed).
    Status {
        /// The case (report) id.
        id: String,
        /// The new status.
        status: String,
        /// Read a note for the reporter from stdin.
        #[arg(long)]
        note: bool,
    },
    /// Reply to the reporter: the text is read from stdin, or from $EDITOR at a terminal.
    Reply {
        /// The case (report) id.
        id: String,
    },
    /// Purge the case on the server, and its receipt with it.
    Delete {
        /// The case (report) id.
        id: String,
    },
}

/// Options of `serve`.
#[derive(clap::Args)]
#[command(group(clap::ArgGroup::new("address").required(true).multiple(false)))]
pub struct ServeArgs {
    /// TCP address, e.g. 127.0.0.1:8080 (or --unix).
    #[arg(long, group = "address")]
    pub listen: Option<String>,
    /// Unix socket path, for Tor (or --listen).
    #[arg(long, group = "address")]
    pub unix: Option<PathBuf>,
    /// Data folder (the sled database).
    #[arg(long)]
    pub data: PathBuf,
    /// Keys folder holding recipients.txt, investigators.txt and keyset.json (see keys/README.md).
    #[arg(long, default_value = "keys")]
    pub keys: PathBuf,
    /// The deployment secret (made on first start when missing); default
    /// KEYS/deployment.secret. Never inside the data folder.
    #[arg(long)]
    pub secret: Option<PathBuf>,
    /// The server key that signs bundles (made on first start when missing);
    /// default KEYS/server.key. Never inside the data folder.
    #[arg(long)]
    pub server_key: Option<PathBuf>,
    /// Seconds between resets of the data folder's file times to the start
    /// of the day (SECURITY.md: what a copy of the disk shows).
    #[arg(long, default_value_t = 10, value_parser = clap::value_parser!(u64).range(1..=3600))]
    pub blur_secs: u64,
    /// Page settings file (JSON: org, categories, feedback_days, onion; see docs/WEB.md).
    #[arg(long, conflicts_with_all = ["org", "onion", "feedback_days"])]
    pub config: Option<PathBuf>,
    /// The organisation's name, shown on every page.
    #[arg(long, default_value = "Peluit")]
    pub org: String,
    /// The onion address, shown in the safety advice.
    #[arg(long, default_value = "")]
    pub onion: String,
    /// Days within which feedback is promised.
    #[arg(long, default_value_t = 90)]
    pub feedback_days: u32,
    /// Largest request body, in MiB.
    #[arg(long, default_value_t = 256)]
    pub max_body_mib: u64,
    /// Most attachments per submission (at most 100).
    #[arg(long, default_value_t = 20, value_parser = clap::value_parser!(u16).range(1..=100))]
    pub max_files: u16,
    /// Seconds allowed for request headers.
    #[arg(long, default_value_t = 10)]
    pub header_timeout: u64,
    /// Seconds allowed for a whole request.
    #[arg(long, default_value_t = 1800)]
    pub request_deadline: u64,
    /// Most open connections.
    #[arg(long, default_value_t = 1024)]
    pub max_connections: usize,
    /// Seconds a request body may stay silent; also the window over which
    /// its rate is averaged.
    #[arg(long, default_value_t = 60, value_parser = clap::value_parser!(u64).range(1..))]
    pub body_idle_timeout: u64,
    /// KiB per second a request body must average over each window; a
    /// slower upload is cut (0: only silence counts).
    #[arg(long, default_value_t = 4)]
    pub min_upload_kib: u64,
    /// Submissions per second, all clients together (0: unlimited).
    #[arg(long, default_value_t = 2000)]
    pub submit_rate: u32,
    /// Burst of submissions above the rate.
    #[arg(long, default_value_t = 4000)]
    pub submit_burst: u32,
    /// Receipt lookups per second, all clients together (0: unlimited).
    #[arg(long, default_value_t = 10000)]
    pub lookup_rate: u32,
    /// Burst of lookups above the rate.
    #[arg(long, default_value_t = 20000)]
    pub lookup_burst: u32,
    /// Transfer-key pushes per second, all investigators together (0: unlimited).
    #[arg(long, default_value_t = 10)]
    pub transfer_rate: u32,
    /// Burst of transfer-key pushes above the rate.
    #[arg(long, default_value_t = 20)]
    pub transfer_burst: u32,
    /// Pages, lookups and small tips handled at once; more are answered 503 at once.
    #[arg(long, default_value_t = 512)]
    pub max_in_flight: usize,
    /// Uploads handled at once, in a pool apart from pages (default: a
    /// quarter of --max-in-flight); more are answered 503 at once.
    #[arg(long)]
    pub max_uploads: Option<usize>,
    /// Most follow-ups one report may receive.
    #[arg(long, default_value_t = peluit::store::MAX_FOLLOWUPS)]
    pub max_followups: u32,
    /// Days after closing when a report is purged (0: never).
    #[arg(long, default_value_t = 365)]
    pub retention_days: u32,
    /// Oldest signed action accepted, in days.
    #[arg(long, default_value_t = 14)]
    pub action_max_age_days: u64,
    /// MiB to keep free on the data folder's disk: submissions that would
    /// leave less are refused with 503 until space is freed (0: no reserve).
    #[arg(long, default_value_t = 64)]
    pub keep_free_mib: u64,
    /// MiB of memory for the database's page cache (records and receipts'
    /// lookup keys; attachments bypass it). More keeps lookups fast on a
    /// large store.
    #[arg(long, default_value_t = 64)]
    pub cache_mib: u64,
}
