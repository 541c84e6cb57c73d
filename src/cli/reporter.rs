//! The reporters' commands: `submit` and `check --server`. The receipt is
//! read without echo or from stdin, never from the command line.

use anyhow::{bail, Context, Result};

use peluit::model::Manifest;
use peluit::receipt::Receipt;
use peluit::reporter::ReporterClient;
use peluit::safe_text::line;

use crate::{CheckArgs, SubmitArgs};

/// The template `submit --template` reads.
pub const TEMPLATE: &str = r#"{
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
pub fn submit(a: SubmitArgs) -> Result<()> {
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
    println!("    {}", line(receipt.as_str()));
    println!();
    println!("Check it later with: peluit check --server {server_url} (the code is asked for, never typed on the command line)");
    Ok(())
}

/// Reads the simple template (fields at the top level).
pub fn template_manifest(raw: &[u8]) -> Result<Manifest> {
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
pub fn ask_manifest() -> Result<Manifest> {
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
pub fn progress_bar() -> peluit::reporter::Progress {
    std::sync::Arc::new(|name: &str, done: u64, total: u64| {
        if let Some(pct) = done.saturating_mul(100).checked_div(total) {
            let bar = "#".repeat(usize::try_from(pct / 5).unwrap_or(0));
            eprint!("\r{name:<24.24} [{bar:<20}] {pct:>3}%");
        }
    })
}

/// Reads the receipt: without echo at a terminal, else the first line of stdin.
pub fn read_receipt() -> Result<Receipt> {
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

/// `peluit check --server`.
pub fn check(a: CheckArgs) -> Result<()> {
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
    // Everything below came from the server (replies from investigators,
    // through it): shown escaped, never obeyed by the terminal.
    println!("Status: {}   (submitted {})", line(&c.status), line(&c.created));
    println!("Timeline:");
    for (day, status, note) in &c.timeline {
        let note = if note.is_empty() { String::new() } else { format!(": {}", line(note)) };
        println!("  {}  {}{note}", line(day), line(status));
    }
    if c.replies.is_empty() {
        println!("No replies yet.");
    }
    for (day, text) in &c.replies {
        println!("Reply, {}:", line(day));
        for l in text.lines() {
            println!("  {}", line(l));
        }
    }
    Ok(())
}
