//! The `peluit` command: parses arguments and runs one function per
//! subcommand. Only this file prints to the terminal or exits.

mod cli;

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Result;
use clap::{Parser, Subcommand};

use cli::{data, demo, investigator, reporter, serve};

/// mimalloc instead of glibc's malloc, which took about a fifth of the CPU of
/// a status check on a store of a million reports (docs/PERFORMANCE.md).
/// `no_thp`: transparent huge pages would add about 20 MiB of resident memory.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

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
    /// Make an investigator's keys (on the offline machine).
    Keygen {
        /// Folder for the secret key files (created 0700).
        #[arg(long)]
        out: PathBuf,
        /// The investigator's name in investigators.txt and the audit log
        /// (default: the name of the --out folder).
        #[arg(long)]
        name: Option<String>,
        /// The folder of files for the server's keys/ folder: add this
        /// investigator's public lines to its recipients.txt and
        /// investigators.txt (a name already there is refused).
        #[arg(long)]
        server_keys: Option<PathBuf>,
        /// Protect the key files with a passphrase (asked for, or PELUIT_PASSPHRASE).
        #[arg(long)]
        passphrase: bool,
    },
    /// Run the server.
    Serve(ServeArgs),
    /// Try peluit: throwaway keys and a server on 127.0.0.1:8080.
    Demo {
        /// Address to listen on (choose another port if 8080 is taken).
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
        /// The deployment secret, to include the replies and status notes
        /// (sealed at rest with it), e.g. /etc/peluit/deployment.secret.
        #[arg(long)]
        secret: Option<PathBuf>,
        /// The server's keys folder, where the server key that signs the bundle is.
        #[arg(long, default_value = "keys")]
        keys: PathBuf,
        /// The server key, if not KEYS/server.key.
        #[arg(long)]
        server_key: Option<PathBuf>,
    },
    /// Sign an action on a decrypted case (on the offline machine).
    Case(CaseArgs),
    /// List decrypted cases with their deadlines, overdue first.
    Cases {
        /// The folder written by `decrypt`.
        #[arg(long)]
        dir: PathBuf,
    },
    /// The offline casework as a local web page (loopback only, with a per-run token).
    Desk {
        /// The cases folder (made if missing; pinned by its first bundle or `peluit trust`).
        #[arg(long)]
        cases: PathBuf,
        /// An investigator's key folder from `peluit keygen` (repeat for each investigator).
        #[arg(long = "key", required = true)]
        keys: Vec<PathBuf>,
        /// Loopback address to listen on (port 0: a free port).
        #[arg(long, default_value = "127.0.0.1:0")]
        listen: String,
    },
    /// Apply a signed actions file to a stopped server's data folder.
    Apply {
        /// The server's data folder.
        #[arg(long)]
        data: PathBuf,
        /// The server's keys folder (investigators.txt, deployment.secret).
        #[arg(long)]
        keys: PathBuf,
        /// The deployment secret, if not KEYS/deployment.secret.
        #[arg(long)]
        secret: Option<PathBuf>,
        /// Oldest action accepted, in days.
        #[arg(long, default_value_t = 14)]
        max_age_days: u64,
        /// The actions file.
        file: PathBuf,
    },
    /// Send a signed actions file to a server (transfer key).
    Push {
        /// Where and how to connect.
        #[command(flatten)]
        remote: RemoteArgs,
        /// The actions file.
        file: PathBuf,
    },
    /// Download a bundle of ciphertext from a server (transfer key).
    Pull {
        /// Where and how to connect.
        #[command(flatten)]
        remote: RemoteArgs,
        /// The bundle to write (must not exist).
        #[arg(long)]
        out: PathBuf,
        /// Only items after this cursor.
        #[arg(long, default_value_t = 0)]
        since: u64,
    },
    /// Check the tamper-evident log of applied actions in a bundle.
    VerifyLog {
        /// A bundle from `pull` or `export`.
        bundle: PathBuf,
        /// investigators.txt, or the keys folder holding it, to check every signature.
        #[arg(long)]
        keys: PathBuf,
        /// A head hash printed by an earlier check, which must still be in the log.
        #[arg(long)]
        after: Option<String>,
    },
    /// Sign the key set that the server publishes for client-side encryption (offline).
    Keys {
        /// What to do with keys.
        #[command(subcommand)]
        action: KeysAction,
    },
    /// Send a tip encrypted on this machine (for reporters who can use a terminal).
    Submit(SubmitArgs),
    /// Check a report (--server: the receipt is asked for, never an argument),
    /// or check a stopped server's database (--data).
    Check(CheckArgs),
    /// Rewrite a stopped server's database into a new folder, leaving deleted
    /// data behind (and moving a folder of an older layout to the current one).
    Compact {
        /// The server's data folder.
        #[arg(long)]
        data: PathBuf,
        /// A new, empty folder for the compacted database.
        #[arg(long)]
        out: PathBuf,
        /// Where to move the deployment secret of a folder that still holds
        /// it (e.g. /etc/peluit/keys/deployment.secret; must not exist).
        #[arg(long)]
        secret: Option<PathBuf>,
    },
    /// Print what a copy of a data folder reveals: counts, days, sizes, and the
    /// finest time found in any file time or stored value.
    AuditDisk {
        /// The data folder (or a copy of it).
        #[arg(long)]
        data: PathBuf,
    },
    /// Pin a cases folder to a key set signed offline: the deployment and the recipients replies are sealed to.
    #[command(after_help = "Run it before the first `decrypt` (otherwise the first bundle pins the folder), and \
        again with each new key set (a higher version) when the investigators' recipients change. A bundle \
        that names another deployment or other recipients than the pin is refused.")]
    Trust {
        /// The cases folder (made if missing).
        #[arg(long)]
        cases: PathBuf,
        /// The key set signed with `peluit keys sign` on this offline machine.
        #[arg(long)]
        keyset: PathBuf,
        /// The signing key's fingerprint, optionally with a version floor (`FINGERPRINT:vN`), as `keys sign` printed it.
        #[arg(long)]
        pin: String,
    },
    /// Decrypt a bundle from `pull` or `export` into case folders (on the offline machine).
    #[command(after_help = "Exit status: 0 every submission written (or already there); 3 done with problems: \
        the others were written, but some submissions could not be opened (wrong key, damaged, over a limit) \
        and were set aside, each with a reason in CASE/quarantine/; 1 failed: the bundle is damaged or could \
        not be read, or writing failed (what was complete is kept, and running it again finishes the job).")]
    Decrypt {
        /// The bundle made by `pull` (remotely, transfer key) or `export` (on the stopped server).
        bundle: PathBuf,
        /// The investigator's age identity file.
        #[arg(long)]
        identity: PathBuf,
        /// Folder for the case folders.
        #[arg(long)]
        out: PathBuf,
    },
}

/// How `push` and `pull` reach the server.
#[derive(clap::Args)]
struct RemoteArgs {
    /// The server, e.g. http://xyz.onion.
    #[arg(long)]
    server: String,
    /// The transfer key file.
    #[arg(long)]
    key: PathBuf,
    /// A SOCKS5 proxy, e.g. socks5h://127.0.0.1:9050 for Tor.
    #[arg(long)]
    proxy: Option<String>,
}

/// `peluit keys …`.
#[derive(Subcommand)]
enum KeysAction {
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
struct SubmitArgs {
    /// The server, e.g. http://xyz.onion.
    #[arg(long, required_unless_present = "print_template")]
    server: Option<String>,
    /// The organisation's pin as it publishes it: FINGERPRINT:vN (or a bare FINGERPRINT).
    #[arg(long, required_unless_present = "print_template")]
    pin: Option<String>,
    /// The deployment id, if the organisation publishes it too.
    #[arg(long)]
    deployment: Option<String>,
    /// A SOCKS5 proxy, e.g. socks5h://127.0.0.1:9050 for Tor.
    #[arg(long)]
    proxy: Option<String>,
    /// A filled-in template (see --print-template) instead of questions.
    #[arg(long)]
    template: Option<PathBuf>,
    /// A file to attach (repeat for several).
    #[arg(long = "file")]
    files: Vec<PathBuf>,
    /// Print an empty template and stop.
    #[arg(long)]
    print_template: bool,
    /// Language of the questions and messages: id (Bahasa Indonesia) or en.
    #[arg(long, default_value = "id", value_parser = ["id", "en"])]
    lang: String,
}

/// Options of `check`.
#[derive(clap::Args)]
struct CheckArgs {
    /// The server, e.g. http://xyz.onion.
    #[arg(long, conflicts_with = "data", required_unless_present = "data")]
    server: Option<String>,
    /// Instead: verify every record and blob of a stopped server's data folder.
    #[arg(long)]
    data: Option<PathBuf>,
    /// A SOCKS5 proxy, e.g. socks5h://127.0.0.1:9050 for Tor.
    #[arg(long)]
    proxy: Option<String>,
    /// Add information: a message (asked for, or the rest of stdin) and any --file.
    #[arg(long)]
    add: bool,
    /// The organisation's pin (FINGERPRINT or FINGERPRINT:vN): needed with --add, and
    /// without it no reply can be verified as the investigators'.
    #[arg(long, required_if_eq("add", "true"))]
    pin: Option<String>,
    /// A file to attach with --add (repeat for several).
    #[arg(long = "file")]
    files: Vec<PathBuf>,
    /// Language of the messages: id (Bahasa Indonesia) or en.
    #[arg(long, default_value = "id", value_parser = ["id", "en"])]
    lang: String,
}

/// Options of `case`.
#[derive(clap::Args)]
struct CaseArgs {
    /// The folder written by `decrypt`.
    #[arg(long)]
    cases: PathBuf,
    /// The signing key file.
    #[arg(long)]
    key: PathBuf,
    /// The actions file to append to (default: CASES/actions.jsonl).
    #[arg(long)]
    actions: Option<PathBuf>,
    /// What to do.
    #[command(subcommand)]
    action: CaseAction,
}

/// Actions on one case.
#[derive(Subcommand)]
enum CaseAction {
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
struct ServeArgs {
    /// TCP address, e.g. 127.0.0.1:8080 (or --unix).
    #[arg(long, group = "address")]
    listen: Option<String>,
    /// Unix socket path, for Tor (or --listen).
    #[arg(long, group = "address")]
    unix: Option<PathBuf>,
    /// Data folder (the sled database).
    #[arg(long)]
    data: PathBuf,
    /// Keys folder holding recipients.txt, investigators.txt and keyset.json (see keys/README.md).
    #[arg(long, default_value = "keys")]
    keys: PathBuf,
    /// The deployment secret (made on first start when missing); default
    /// KEYS/deployment.secret. Never inside the data folder.
    #[arg(long)]
    secret: Option<PathBuf>,
    /// The server key that signs bundles (made on first start when missing);
    /// default KEYS/server.key. Never inside the data folder.
    #[arg(long)]
    server_key: Option<PathBuf>,
    /// Seconds between resets of the data folder's file times to the start
    /// of the day (SECURITY.md: what a copy of the disk shows).
    #[arg(long, default_value_t = 10, value_parser = clap::value_parser!(u64).range(1..=3600))]
    blur_secs: u64,
    /// Page settings file (JSON: org, categories, feedback_days, onion; see docs/WEB.md).
    #[arg(long, conflicts_with_all = ["org", "onion", "feedback_days"])]
    config: Option<PathBuf>,
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
    /// Most attachments per submission (at most 100).
    #[arg(long, default_value_t = 20, value_parser = clap::value_parser!(u16).range(1..=100))]
    max_files: u16,
    /// Seconds allowed for request headers.
    #[arg(long, default_value_t = 10)]
    header_timeout: u64,
    /// Seconds allowed for a whole request.
    #[arg(long, default_value_t = 1800)]
    request_deadline: u64,
    /// Most open connections.
    #[arg(long, default_value_t = 1024)]
    max_connections: usize,
    /// Seconds a request body may stay silent; also the window over which
    /// its rate is averaged.
    #[arg(long, default_value_t = 60, value_parser = clap::value_parser!(u64).range(1..))]
    body_idle_timeout: u64,
    /// KiB per second a request body must average over each window; a
    /// slower upload is cut (0: only silence counts).
    #[arg(long, default_value_t = 4)]
    min_upload_kib: u64,
    /// Submissions per second, all clients together (0: unlimited).
    #[arg(long, default_value_t = 2000)]
    submit_rate: u32,
    /// Burst of submissions above the rate.
    #[arg(long, default_value_t = 4000)]
    submit_burst: u32,
    /// Receipt lookups per second, all clients together (0: unlimited).
    #[arg(long, default_value_t = 10000)]
    lookup_rate: u32,
    /// Burst of lookups above the rate.
    #[arg(long, default_value_t = 20000)]
    lookup_burst: u32,
    /// Transfer-key pushes per second, all investigators together (0: unlimited).
    #[arg(long, default_value_t = 10)]
    transfer_rate: u32,
    /// Burst of transfer-key pushes above the rate.
    #[arg(long, default_value_t = 20)]
    transfer_burst: u32,
    /// Pages, lookups and small tips handled at once; more are answered 503 at once.
    #[arg(long, default_value_t = 512)]
    max_in_flight: usize,
    /// Uploads handled at once, in a pool apart from pages (default: a
    /// quarter of --max-in-flight); more are answered 503 at once.
    #[arg(long)]
    max_uploads: Option<usize>,
    /// Most follow-ups one report may receive.
    #[arg(long, default_value_t = peluit::store::MAX_FOLLOWUPS)]
    max_followups: u32,
    /// Days after closing when a report is purged (0: never).
    #[arg(long, default_value_t = 365)]
    retention_days: u32,
    /// Oldest signed action accepted, in days.
    #[arg(long, default_value_t = 14)]
    action_max_age_days: u64,
    /// MiB to keep free on the data folder's disk: submissions that would
    /// leave less are refused with 503 until space is freed (0: no reserve).
    #[arg(long, default_value_t = 64)]
    keep_free_mib: u64,
    /// MiB of memory for the database's page cache (records and receipts'
    /// lookup keys; attachments bypass it). More keeps lookups fast on a
    /// large store.
    #[arg(long, default_value_t = 64)]
    cache_mib: u64,
}

fn main() -> ExitCode {
    // Whoever runs it (serve, compact, export, apply), nothing peluit
    // creates is readable by other users: sled's files, bundles, case
    // folders. The one exception, the Unix socket tor connects to, is
    // opened up explicitly (cli/serve.rs).
    rustix::process::umask(rustix::fs::Mode::from_raw_mode(0o077));
    let cli = cli::help::parse::<Cli>();
    match run(cli.command) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            // Errors can carry text from a bundle or a server: never raw.
            eprintln!("peluit: {}", peluit::safe_text::line(&format!("{e:#}")));
            let storage = e
                .downcast_ref::<std::io::Error>()
                .and_then(|io| io.get_ref())
                .is_some_and(|inner| inner.is::<peluit::server::StorageFailed>());
            if storage {
                ExitCode::from(peluit::server::EXIT_STORAGE)
            } else if e.downcast_ref::<investigator::SetAside>().is_some() {
                ExitCode::from(investigator::SetAside::EXIT)
            } else {
                ExitCode::FAILURE
            }
        }
    }
}

/// Dispatches one subcommand.
fn run(cmd: Command) -> Result<()> {
    match cmd {
        Command::Keygen { out, name, server_keys, passphrase } => {
            investigator::keygen(&out, name.as_deref(), server_keys.as_deref(), passphrase)
        }
        Command::Case(args) => investigator::case(args),
        Command::Keys {
            action:
                KeysAction::Sign { recipients, deployment, key, out, investigators, valid_days, set_version, server_key },
        } => {
            let investigators =
                investigators.unwrap_or_else(|| recipients.with_file_name(peluit::keys::INVESTIGATORS_FILE));
            let req = peluit::keys::KeySetRequest {
                recipients: &recipients,
                investigators: &investigators,
                deployment: &deployment,
                valid_days,
                version: set_version,
                server: server_key.as_deref(),
            };
            investigator::keys_sign(&req, &key, &out)
        }
        Command::Keys { action: KeysAction::ServerKey { out } } => cli::trust::server_key(&out),
        Command::Submit(args) => reporter::submit(args),
        Command::Check(CheckArgs { data: Some(data), .. }) => data::check_data(&data),
        Command::Check(args) => reporter::check(args),
        Command::Compact { data, out, secret } => data::compact(&data, &out, secret.as_deref()),
        Command::AuditDisk { data } => data::audit_disk(&data),
        Command::Cases { dir } => investigator::cases(&dir),
        Command::Desk { cases, keys, listen } => cli::desk::desk(cases, keys, &listen),
        Command::Apply { data, keys, secret, max_age_days, file } => {
            let secret = secret.unwrap_or_else(|| keys.join(peluit::keys::SECRET_FILE));
            investigator::apply(&data, &keys, &secret, max_age_days, &file)
        }
        Command::Push { remote, file } => investigator::push(&remote, &file),
        Command::Pull { remote, out, since } => investigator::pull(&remote, &out, since),
        Command::VerifyLog { bundle, keys, after } => investigator::verify_log(&bundle, &keys, after.as_deref()),
        Command::Serve(args) => serve::serve(args),
        Command::Demo { listen } => demo::demo(&listen),
        Command::Export { data, out, since, secret, keys, server_key } => {
            let server_key = server_key.unwrap_or_else(|| keys.join(peluit::server_key::SERVER_KEY_FILE));
            investigator::export_cmd(&data, &out, since, secret.as_deref(), &server_key)
        }
        Command::Trust { cases, keyset, pin } => cli::trust::trust(&cases, &keyset, &pin),
        Command::Decrypt { bundle, identity, out } => investigator::decrypt_cmd(&bundle, &identity, &out),
    }
}
