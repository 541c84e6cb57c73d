//! The `peluit` command: parses arguments and runs one function per
//! subcommand. Only this file prints to the terminal or exits.

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;

use anyhow::{bail, Context, Result};
use clap::{Parser, Subcommand};

use peluit::casework::{self, Casebook};
use peluit::client::Remote;
use peluit::crypto::ed25519::SecretKey;
use peluit::crypto::Identities;
use peluit::keyset::KeySet;
use peluit::model::{Manifest, Status};
use peluit::receipt::Receipt;
use peluit::reporter::ReporterClient;
use peluit::server::{self, App, Limits, Listener, Site};
use peluit::store::Store;
use peluit::{actions, decrypt, export, keys};

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
        /// Protect the key files with a passphrase (asked for, or PELUIT_PASSPHRASE).
        #[arg(long)]
        passphrase: bool,
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
    /// Sign an action on a decrypted case (on the offline machine).
    Case(CaseArgs),
    /// List decrypted cases with their deadlines, overdue first.
    Cases {
        /// The folder written by `decrypt`.
        #[arg(long)]
        dir: PathBuf,
    },
    /// Apply a signed actions file to a stopped server's data folder.
    Apply {
        /// The server's data folder.
        #[arg(long)]
        data: PathBuf,
        /// The server's keys folder (investigators.txt).
        #[arg(long)]
        keys: PathBuf,
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
        /// A bundle from `export` or `pull`.
        bundle: PathBuf,
        /// investigators.txt, to check every signature.
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
    /// Rewrite a stopped server's database into a new folder, leaving deleted data behind.
    Compact {
        /// The server's data folder.
        #[arg(long)]
        data: PathBuf,
        /// A new, empty folder for the compacted database.
        #[arg(long)]
        out: PathBuf,
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
    /// Sign keys/recipients.txt for GET /api/v1/keys; put the output in the server's keys folder as keyset.json.
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
        /// Where to write the signed key set.
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
    /// Fingerprint of the organisation's signing key, as it publishes it.
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
    /// Needed with --add: fingerprint of the organisation's signing key.
    #[arg(long, required_if_eq("add", "true"))]
    pin: Option<String>,
    /// A file to attach with --add (repeat for several).
    #[arg(long = "file")]
    files: Vec<PathBuf>,
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
    /// Seconds a request body may stay silent.
    #[arg(long, default_value_t = 60)]
    body_idle_timeout: u64,
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
    /// Requests handled at once; more are answered 503 at once.
    #[arg(long, default_value_t = 512)]
    max_in_flight: usize,
    /// Days after closing when a report is purged (0: never).
    #[arg(long, default_value_t = 365)]
    retention_days: u32,
    /// Oldest signed action accepted, in days.
    #[arg(long, default_value_t = 14)]
    action_max_age_days: u64,
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
        Command::Keygen { out, passphrase } => keygen(&out, passphrase),
        Command::Case(args) => case(args),
        Command::Keys { action: KeysAction::Sign { recipients, deployment, key, out } } => {
            keys_sign(&recipients, &deployment, &key, &out)
        }
        Command::Submit(args) => submit(args),
        Command::Check(CheckArgs { data: Some(data), .. }) => check_data(&data),
        Command::Check(args) => check(args),
        Command::Compact { data, out } => compact(&data, &out),
        Command::Cases { dir } => cases(&dir),
        Command::Apply { data, keys, max_age_days, file } => apply(&data, &keys, max_age_days, &file),
        Command::Push { remote, file } => push(&remote, &file),
        Command::Pull { remote, out, since } => pull(&remote, &out, since),
        Command::VerifyLog { bundle, keys, after } => verify_log(&bundle, &keys, after.as_deref()),
        Command::Serve(args) => serve(args),
        Command::Demo { listen } => demo(&listen),
        Command::Export { data, out, since } => export_cmd(&data, &out, since),
        Command::Decrypt { bundle, identity, out } => decrypt_cmd(&bundle, &identity, &out),
    }
}

/// `peluit keygen`.
fn keygen(out: &Path, protect: bool) -> Result<()> {
    let pass = if protect {
        let p = passphrase().context("a passphrase is needed (PELUIT_PASSPHRASE or a terminal)")?;
        if p.len() < 12 {
            bail!("use a passphrase of at least 12 characters (several words are easier to remember)");
        }
        Some(p)
    } else {
        None
    };
    let k = keys::keygen(out, &server::today(), pass.as_deref().map(|p| p.as_str()))?;
    println!("Keys written to {} (mode 0600). Keep this folder on the offline machine;", out.display());
    println!("copy transfer.key to the machine that runs `peluit pull` and `peluit push`.");
    println!();
    println!("Add this line to the server's keys/recipients.txt:");
    println!("{}", k.recipient);
    println!();
    println!("Add these lines to the server's keys/investigators.txt (name them as you like):");
    println!("{} sign investigator", k.signing.to_text());
    println!("{} transfer investigator-transfer", k.transfer.to_text());
    println!();
    println!("Signing key fingerprint (publish it for `peluit submit --pin`): {}", k.signing.fingerprint());
    Ok(())
}

/// The passphrase for key files: `PELUIT_PASSPHRASE`, or asked at the terminal
/// without echo. Never an argument, so it never shows in `ps`.
fn passphrase() -> Option<zeroize::Zeroizing<String>> {
    if let Ok(p) = std::env::var("PELUIT_PASSPHRASE") {
        return Some(zeroize::Zeroizing::new(p));
    }
    rpassword::prompt_password("Passphrase: ").ok().map(zeroize::Zeroizing::new)
}

/// Reads a signing or transfer key file.
fn load_key(path: &Path) -> Result<SecretKey> {
    let text = keys::read_secret_text(path, || passphrase().map(|p| p.to_string()))?;
    SecretKey::parse(&text).with_context(|| format!("{}: not a peluit key file", path.display()))
}

/// Unix seconds now.
fn now() -> u64 {
    server::now_unix()
}

/// `peluit case`.
fn case(a: CaseArgs) -> Result<()> {
    let book = Casebook::open(&a.cases)?;
    let key = load_key(&a.key)?;
    let file = a.actions.unwrap_or_else(|| a.cases.join("actions.jsonl"));
    let (line, what) = match a.action {
        CaseAction::Status { id, status, note } => {
            let s = Status::from_id(&status).with_context(|| format!("unknown status {status}"))?;
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
    casework::append(&file, &line)?;
    println!("Signed {what}; appended to {}.", file.display());
    println!("Carry the file to the server and run `peluit apply` there, or `peluit push`.");
    Ok(())
}

/// Text from stdin, or from $EDITOR when stdin is a terminal.
fn read_text_input() -> Result<zeroize::Zeroizing<String>> {
    use std::io::{IsTerminal, Read};
    let mut text = zeroize::Zeroizing::new(String::new());
    if !std::io::stdin().is_terminal() {
        std::io::stdin().read_to_string(&mut text)?;
        return Ok(text);
    }
    let editor = std::env::var("EDITOR").unwrap_or_else(|_| "nano".into());
    let dir = tempfile_dir()?;
    let path = dir.join("reply.txt");
    keys::write_private(&path, b"")?;
    let status = std::process::Command::new(&editor).arg(&path).status();
    let read = std::fs::read_to_string(&path);
    let _ = std::fs::remove_file(&path);
    let _ = std::fs::remove_dir(&dir);
    if !status.map(|s| s.success()).unwrap_or(false) {
        bail!("the editor {editor} failed");
    }
    text.push_str(&read?);
    Ok(text)
}

/// A private folder for the editor's file (offline machine only).
fn tempfile_dir() -> Result<PathBuf> {
    use std::os::unix::fs::DirBuilderExt;
    let dir = std::env::temp_dir().join(format!("peluit-{}", peluit::crypto::hex(&peluit::crypto::random_id()[..6])));
    std::fs::DirBuilder::new().mode(0o700).create(&dir)?;
    Ok(dir)
}

/// `peluit keys sign`.
fn keys_sign(recipients: &Path, deployment: &str, key: &Path, out: &Path) -> Result<()> {
    let text = std::fs::read_to_string(recipients).with_context(|| format!("cannot read {}", recipients.display()))?;
    let list = peluit::crypto::Recipients::parse(&text)?.to_strings();
    let key = load_key(key)?;
    let payload =
        peluit::published::KeySetPayload { v: 1, deployment: deployment.to_string(), recipients: list, time: now() };
    let set = peluit::published::sign(&key, &payload);
    std::fs::write(out, serde_json::to_vec_pretty(&set)?)?;
    println!("Signed {} recipient(s) for deployment {deployment} into {}.", payload.recipients.len(), out.display());
    println!("Put it in the server's keys folder as {} and restart the server.", keys::KEYSET_FILE);
    println!("Publish this fingerprint where reporters can check it: {}", key.public().fingerprint());
    Ok(())
}

/// The template `submit --template` reads.
const TEMPLATE: &str = r#"{
  "category": "lainnya",
  "what": "",
  "who": "",
  "where": "",
  "when": "",
  "how": "",
  "text": "",
  "identity": ""
}
"#;

/// `peluit submit`.
fn submit(a: SubmitArgs) -> Result<()> {
    if a.print_template {
        print!("{TEMPLATE}");
        return Ok(());
    }
    let (Some(server_url), Some(pin)) = (a.server, a.pin) else { bail!("--server and --pin are needed") };
    let client = ReporterClient::new(&server_url, a.proxy.as_deref())?;
    let recipients = client.recipients(&pin, a.deployment.as_deref())?;
    let manifest = match &a.template {
        Some(path) => {
            let raw = zeroize::Zeroizing::new(
                std::fs::read(path).with_context(|| format!("cannot read {}", path.display()))?,
            );
            template_manifest(&raw)?
        }
        None => ask_manifest()?,
    };
    if manifest.is_empty() && a.files.is_empty() {
        bail!("the report is empty: fill in at least one field or attach a file");
    }
    let receipt = client.submit(&recipients, manifest, &a.files, progress_bar())?;
    eprintln!();
    println!("Your report was encrypted on this computer and has been received.");
    println!("Receipt code (write it down now; nobody can recover it):");
    println!();
    println!("    {}", receipt.as_str());
    println!();
    println!("Check it later with: peluit check --server {server_url} (the code is asked for, never typed on the command line)");
    Ok(())
}

/// Reads the simple template (fields at the top level).
fn template_manifest(raw: &[u8]) -> Result<Manifest> {
    let v: serde_json::Value = serde_json::from_slice(raw).context("the template is not valid JSON")?;
    let f = |k: &str| v[k].as_str().unwrap_or("").to_string();
    let mut m = Manifest::default();
    m.category = f("category");
    m.fields.what = f("what");
    m.fields.who = f("who");
    m.fields.where_ = f("where");
    m.fields.when = f("when");
    m.fields.how = f("how");
    m.text = f("text");
    m.identity = f("identity");
    Ok(m)
}

/// Asks for each field in the terminal (or reads them, one per line, from stdin).
fn ask_manifest() -> Result<Manifest> {
    let mut m = Manifest::default();
    let ask = |q: &str| -> Result<String> {
        eprint!("{q}: ");
        let mut line = String::new();
        std::io::stdin().read_line(&mut line)?;
        Ok(line.trim_end().to_string())
    };
    m.category = ask("Kategori / Category (pungli, suap, gratifikasi, pemerasan, penggelapan, pengadaan, wewenang, benturan, perizinan, lainnya)")?;
    m.fields.what = ask("Apa yang terjadi? / What happened?")?;
    m.fields.who = ask("Siapa yang terlibat? / Who was involved?")?;
    m.fields.where_ = ask("Di mana? / Where?")?;
    m.fields.when = ask("Kapan? / When?")?;
    m.fields.how = ask("Bagaimana caranya? / How?")?;
    m.text = ask("Keterangan lain / Anything else")?;
    Ok(m)
}

/// A one-line progress display on stderr.
fn progress_bar() -> peluit::reporter::Progress {
    std::sync::Arc::new(|name: &str, done: u64, total: u64| {
        if let Some(pct) = done.saturating_mul(100).checked_div(total) {
            let bar = "#".repeat(usize::try_from(pct / 5).unwrap_or(0));
            eprint!("\r{name:<24.24} [{bar:<20}] {pct:>3}%");
        }
    })
}

/// Reads the receipt: without echo at a terminal, else the first line of stdin.
fn read_receipt() -> Result<Receipt> {
    use std::io::IsTerminal;
    let typed = zeroize::Zeroizing::new(if std::io::stdin().is_terminal() {
        rpassword::prompt_password("Kode tanda terima / Receipt code: ")?
    } else {
        let mut line = String::new();
        std::io::stdin().read_line(&mut line)?;
        line
    });
    Receipt::parse(&typed).map_err(|e| anyhow::anyhow!("{e}: check the code"))
}

/// `peluit check --data`.
fn check_data(data: &Path) -> Result<()> {
    if !data.is_dir() {
        bail!("{} is not a data folder", data.display());
    }
    let store = Store::open(data).with_context(|| format!("cannot open {}", data.display()))?;
    let r = store.check()?;
    print_check(&r);
    if !r.problems.is_empty() {
        bail!("{} problem(s) found", r.problems.len());
    }
    Ok(())
}

/// Prints what `check` found.
fn print_check(r: &peluit::store::CheckReport) {
    println!("{} report(s), {} blob(s), {} bytes of ciphertext read in full.", r.reports, r.blobs, r.bytes);
    if r.orphan_chunks > 0 {
        println!(
            "{} chunk(s) belong to no report (an interrupted upload or a purge): `peluit compact` drops them.",
            r.orphan_chunks
        );
    }
    for p in &r.problems {
        println!("problem: {p}");
    }
    if r.problems.is_empty() {
        println!("Every record and blob is intact and consistent.");
    }
}

/// `peluit compact`.
fn compact(data: &Path, out: &Path) -> Result<()> {
    let store = Store::open(data).with_context(|| format!("cannot open {}", data.display()))?;
    let r = store.compact_into(out)?;
    println!("Compacted into {}:", out.display());
    print_check(&r);
    println!("Stop the server, move {} aside, put {} in its place, start the server,", data.display(), out.display());
    println!("then destroy the old folder (see SECURITY.md: only full-disk encryption truly erases on SSDs).");
    Ok(())
}

/// `peluit check --server`.
fn check(a: CheckArgs) -> Result<()> {
    let server_url = a.server.context("give --server URL, or --data DIR")?;
    let receipt = read_receipt()?;
    let client = ReporterClient::new(&server_url, a.proxy.as_deref())?;
    if a.add {
        let pin = a.pin.as_deref().context("--pin is needed with --add")?;
        let recipients = client.recipients(pin, None)?;
        eprintln!("Pesan / Message (end with Ctrl-D):");
        let mut text = zeroize::Zeroizing::new(String::new());
        std::io::Read::read_to_string(&mut std::io::stdin(), &mut text)?;
        if text.trim().is_empty() && a.files.is_empty() {
            bail!("nothing to add: write a message or attach a file");
        }
        client.add(&receipt, &recipients, text.trim_end(), &a.files, progress_bar())?;
        eprintln!();
        println!("Your additional information was encrypted on this computer and has been received.");
    }
    let c = client.check(&receipt)?;
    println!("Status: {}   (submitted {})", c.status, c.created);
    println!("Timeline:");
    for (day, status, note) in &c.timeline {
        println!("  {day}  {status}{}", if note.is_empty() { String::new() } else { format!(": {note}") });
    }
    if c.replies.is_empty() {
        println!("No replies yet.");
    }
    for (day, text) in &c.replies {
        println!("Reply, {day}:");
        for line in text.lines() {
            println!("  {line}");
        }
    }
    Ok(())
}

/// `peluit cases`.
fn cases(dir: &Path) -> Result<()> {
    let book = Casebook::open(dir)?;
    let rows = casework::table(&book.cases()?, &book.new_in_last_run(), time::OffsetDateTime::now_utc().date());
    println!(
        "{:<32}  {:<13}  {:<10}  {:>4}  {:<14}  {:<14}  note",
        "case", "status", "created", "days", "ack due", "feedback due"
    );
    for r in rows {
        let mark = |done: bool, day: &str| if done { format!("{day} ok") } else { day.to_string() };
        let note =
            [(r.overdue, "OVERDUE"), (r.new, "new")].iter().filter(|(b, _)| *b).map(|(_, s)| *s).collect::<Vec<_>>();
        println!(
            "{:<32}  {:<13}  {:<10}  {:>4}  {:<14}  {:<14}  {}",
            r.id,
            r.status.id(),
            r.created,
            r.age_days,
            mark(r.acknowledged, &r.ack_due),
            mark(r.feedback_given, &r.feedback_due),
            note.join(" ")
        );
    }
    Ok(())
}

/// `peluit apply`.
fn apply(data: &Path, keys_dir: &Path, max_age_days: u64, file: &Path) -> Result<()> {
    let keyset = keys::load_keyset(keys_dir)?;
    let text = std::fs::read_to_string(file).with_context(|| format!("cannot read {}", file.display()))?;
    let store = Store::open(data).with_context(|| format!("cannot open {}", data.display()))?;
    let policy = actions::Policy {
        deployment: store.deployment_id(),
        keys: &keyset,
        now: now(),
        max_age: max_age_days * 86_400,
        max_skew: 300,
    };
    let verified = actions::verify_file(&text, &policy).context("nothing was applied")?;
    let a = store.apply_blocking(&verified, &server::today()).context("nothing was applied")?;
    println!("Applied {} action(s); {} report(s) purged. Audit log head: {}", a.actions, a.deleted, a.head);
    Ok(())
}

/// `peluit push`.
fn push(r: &RemoteArgs, file: &Path) -> Result<()> {
    let (server_url, proxy) = (&r.server, r.proxy.as_deref());
    let key = load_key(&r.key)?;
    let body = std::fs::read(file).with_context(|| format!("cannot read {}", file.display()))?;
    let v = Remote::new(server_url, proxy)?.push(&key, body, now()).context("nothing was applied")?;
    println!(
        "Applied {} action(s); {} report(s) purged. Audit log head: {}",
        v["applied"],
        v["deleted"],
        v["head"].as_str().unwrap_or("")
    );
    Ok(())
}

/// `peluit pull`.
fn pull(r: &RemoteArgs, out: &Path, since: u64) -> Result<()> {
    let (server_url, proxy) = (&r.server, r.proxy.as_deref());
    let key = load_key(&r.key)?;
    let n = Remote::new(server_url, proxy)?.pull(&key, since, now(), out)?;
    let f = std::fs::File::open(out)?;
    let index = peluit::decrypt::read_bundle_index(std::io::BufReader::new(f))?;
    println!("Pulled {n} bytes into {}: {} report(s).", out.display(), index.reports.len());
    println!("Next time, pull only what is new with: --since {}", index.cursor);
    Ok(())
}

/// `peluit verify-log`.
fn verify_log(bundle: &Path, keys_file: &Path, after: Option<&str>) -> Result<()> {
    let keyset = KeySet::parse(&std::fs::read_to_string(keys_file)?)?;
    let entries = peluit::decrypt::read_bundle_audit(std::io::BufReader::new(std::fs::File::open(bundle)?))?;
    let head = actions::verify_chain(&entries, Some(&keyset), after)?;
    println!("The log of {} applied action(s) is intact; every signature verifies.", entries.len());
    println!("Head: {head}");
    println!("Next time, check that the log only grew with: --after {head}");
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
        action_max_age: std::time::Duration::from_secs(a.action_max_age_days * 86_400),
        body_idle_timeout: std::time::Duration::from_secs(a.body_idle_timeout),
        submit_rate: a.submit_rate,
        submit_burst: a.submit_burst,
        lookup_rate: a.lookup_rate,
        lookup_burst: a.lookup_burst,
        max_in_flight: a.max_in_flight,
        retention_days: a.retention_days,
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
        .with_env_filter(tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "info".into()))
        .with_writer(std::io::stderr)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .with_target(false)
        .init();
    let recipients = keys::load_recipients(keys_dir)?;
    let keyset = keys::load_keyset(keys_dir)?;
    if keyset.all().is_empty() {
        tracing::warn!("no keys/investigators.txt: nobody can push actions or pull bundles");
    }
    std::fs::create_dir_all(data).with_context(|| format!("cannot create the data folder {}", data.display()))?;
    let store = Store::open(data).with_context(|| format!("cannot open the data folder {}", data.display()))?;
    let n = recipients.len();
    let published = keys::load_published(keys_dir)?;
    if let Some(p) = published.as_ref().and_then(peluit::published::peek) {
        if p.deployment != store.deployment_id() || p.recipients != recipients.to_strings() {
            tracing::warn!("keys/keyset.json does not match this deployment's id or recipients.txt: sign it again");
        }
    }
    tracing::info!(deployment = store.deployment_id(), "deployment id");
    let mut app = App::new(store, recipients, keyset, limits, site)?;
    app.published = published;
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
            Target::Unix(path) => {
                remove_stale_socket(&path)?;
                let l = tokio::net::UnixListener::bind(&path)
                    .with_context(|| format!("cannot listen on {}", path.display()))?;
                tracing::info!("listening on unix:{}", path.display());
                Listener::Unix(l)
            }
        };
        tracing::info!(recipients = n, "sealing every submission to the investigators' keys");
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
    let base =
        std::env::temp_dir().join(format!("peluit-demo-{}", peluit::crypto::hex(&peluit::crypto::random_id()[..4])));
    let key_dir = base.join("investigator");
    let server_keys = base.join("keys");
    let data = base.join("data");
    let k = keys::keygen(&key_dir, &server::today(), None)?;
    std::fs::create_dir_all(&server_keys)?;
    std::fs::write(server_keys.join(keys::RECIPIENTS_FILE), format!("# demo investigator\n{}\n", k.recipient))?;
    std::fs::write(
        server_keys.join(keys::INVESTIGATORS_FILE),
        format!("{} sign demo\n{} transfer demo-transfer\n", k.signing.to_text(), k.transfer.to_text()),
    )?;
    let exe = std::env::current_exe().map(|p| p.display().to_string()).unwrap_or_else(|_| "peluit".into());
    let bundle = base.join("bundle.tar");
    let cases = base.join("cases");
    let k_dir = key_dir.display();
    let c = cases.display();
    println!("peluit demo: throwaway keys and data in {}", base.display());
    println!();
    println!("  1. Open http://{listen}/ and send a tip (add a file or two).");
    println!("     The receipt code is shown once; check it at http://{listen}/status");
    println!("  2. In another terminal, fetch the ciphertext as an investigator would:");
    println!("       {exe} pull --server http://{listen} --key {k_dir}/transfer.key --out {}", bundle.display());
    println!("     (or stop the server and run: {exe} export --data {} --out {})", data.display(), bundle.display());
    println!("  3. Decrypt it, as on the investigators' offline machine:");
    println!("       {exe} decrypt {} --identity {} --out {c}", bundle.display(), k.identity.display());
    println!("       {exe} cases --dir {c}");
    println!("  4. Answer the reporter and set a status, then send the signed actions:");
    println!(
        "       echo 'Terima kasih, kami periksa.' | {exe} case --cases {c} --key {k_dir}/signing.key reply CASE_ID"
    );
    println!("       {exe} case --cases {c} --key {k_dir}/signing.key status CASE_ID investigating");
    println!("       {exe} push --server http://{listen} --key {k_dir}/transfer.key {c}/actions.jsonl");
    println!("     The reporter sees both at http://{listen}/status with the receipt code.");
    println!(
        "  Any blob also opens with the reference tool: tar -xf the bundle, then age -d -i {} blobs/ID.age",
        k.identity.display()
    );
    println!();
    start(Target::Tcp(listen.to_string()), &data, &server_keys, Limits::default(), Site::default())
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
    println!("Exported {} report(s), {} encrypted file(s) to {}.", s.reports, s.blobs, out.display());
    println!("Next time, export only what is new with: --since {}", s.cursor);
    Ok(())
}

/// `peluit decrypt`.
fn decrypt_cmd(bundle: &Path, identity: &Path, out: &Path) -> Result<()> {
    let text = keys::read_secret_text(identity, || passphrase().map(|p| p.to_string()))?;
    let ids = Identities::parse(&text).with_context(|| format!("{}", identity.display()))?;
    let f = std::fs::File::open(bundle).with_context(|| format!("cannot open {}", bundle.display()))?;
    let s = decrypt::decrypt(std::io::BufReader::new(f), &ids, out)?;
    println!(
        "{} case(s), {} new submission(s), {} file(s) written under {}{}.",
        s.cases,
        s.submissions,
        s.files,
        out.display(),
        if s.skipped > 0 { format!(" ({} already there, skipped)", s.skipped) } else { String::new() }
    );
    Ok(())
}
