//! The `peluit` command: parses arguments and runs one function per
//! subcommand. Only this file prints to the terminal or exits.

mod cli;

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Result;
use clap::{Parser, Subcommand};

use cli::args::{CaseArgs, CheckArgs, KeysAction, RemoteArgs, ServeArgs, SubmitArgs};
use cli::{bundles, data, demo, investigator, reporter, serve};

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
            } else if e.downcast_ref::<bundles::SetAside>().is_some() {
                ExitCode::from(bundles::SetAside::EXIT)
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
        Command::Pull { remote, out, since } => bundles::pull(&remote, &out, since),
        Command::VerifyLog { bundle, keys, after } => bundles::verify_log(&bundle, &keys, after.as_deref()),
        Command::Serve(args) => serve::serve(args),
        Command::Demo { listen } => demo::demo(&listen),
        Command::Export { data, out, since, secret, keys, server_key } => {
            let server_key = server_key.unwrap_or_else(|| keys.join(peluit::server_key::SERVER_KEY_FILE));
            bundles::export_cmd(&data, &out, since, secret.as_deref(), &server_key)
        }
        Command::Trust { cases, keyset, pin } => cli::trust::trust(&cases, &keyset, &pin),
        Command::Decrypt { bundle, identity, out } => bundles::decrypt_cmd(&bundle, &identity, &out),
    }
}
