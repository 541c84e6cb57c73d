//! The reporters' commands: `submit` and `check --server`, in Bahasa
//! Indonesia first (`--lang en`), with the same Fluent messages as the pages.
//! The receipt is read without echo or from stdin, never from the command line.

use std::io::BufRead;

use anyhow::{anyhow, bail, Context, Result};

use peluit::i18n::{Catalog, Lang, Tr};
use peluit::model::Status;
use peluit::model::{fields, tip_category, FieldKind, Manifest, DEFAULT_CATEGORIES, FIELDS};
use peluit::receipt::Receipt;
use peluit::reporter::{CheckResult, ReporterClient, ReporterError};
use peluit::safe_text::line;

use super::args::{CheckArgs, SubmitArgs};

/// The template `submit --template` reads: every field of the table, empty
/// but for the category.
pub fn template() -> String {
    // Written by hand to keep the table's order (a JSON map would sort it).
    let lines: Vec<String> = FIELDS
        .iter()
        .map(|f| {
            let value = if f.kind == FieldKind::Category { "lainnya" } else { "" };
            format!("  \"{}\": \"{value}\"", f.name)
        })
        .collect();
    format!("{{\n{}\n}}\n", lines.join(",\n"))
}

/// The message catalogue, in the language chosen with `--lang`.
fn catalog() -> Result<Catalog> {
    Catalog::load().map_err(|e| anyhow!("{e}"))
}

/// The `--lang` value as a language (clap allows only `id` and `en`).
fn lang(code: &str) -> Lang {
    Lang::negotiate(Some(code), None)
}

/// A client for `--server`, with a plain message for a URL without a scheme.
fn client(t: Tr<'_>, server: &str, proxy: Option<&str>) -> Result<ReporterClient> {
    ReporterClient::new(server, proxy).map_err(|e| match e {
        ReporterError::Url(_) => anyhow!("{}", t.arg("cli-bad-server", "url", server)),
        e => e.into(),
    })
}

/// `peluit submit`.
pub fn submit(a: SubmitArgs) -> Result<()> {
    if a.print_template {
        print!("{}", template());
        return Ok(());
    }
    let cat = catalog()?;
    let t = cat.tr(lang(&a.lang));
    let (Some(server_url), Some(pin)) = (a.server, a.pin) else { bail!("--server and --pin are needed") };
    let client = client(t, &server_url, a.proxy.as_deref())?;
    let recipients = client.recipients(&pin, a.deployment.as_deref()).with_context(|| t.get("cli-keyset-refused"))?;
    let mut manifest = match &a.template {
        Some(path) => {
            let raw = zeroize::Zeroizing::new(
                std::fs::read(path).with_context(|| format!("cannot read {}", path.display()))?,
            );
            template_manifest(&raw)?
        }
        None => ask_manifest(t)?,
    };
    manifest.category = category(t, &manifest.category)?;
    if manifest.is_empty() && manifest.identity.trim().is_empty() && a.files.is_empty() {
        bail!("{}", t.get("error-empty"));
    }
    if a.template.is_none() && !review(t, &manifest, &a.files)? {
        println!("{}", t.get("cli-cancelled"));
        return Ok(());
    }
    let receipt = client.submit(&recipients, manifest, &a.files, progress_bar()).context(t.get("cli-not-sent"))?;
    eprintln!();
    println!("{}", t.get("cli-sent"));
    println!("{}", t.get("receipt-code-label"));
    println!();
    println!("    {}", line(receipt.as_str()));
    println!();
    println!("{}", t.get("receipt-write-down"));
    let lang_flag = if t.lang == Lang::En { " --lang en" } else { "" };
    let command = format!("peluit check --server {server_url} --pin {}{lang_flag}", line(&pin));
    println!("{}", t.arg("cli-check-later", "command", &command));
    Ok(())
}

/// The category as the form would file it: an id from the form's list, or
/// empty for "other"; anything else is refused with the list.
pub fn category(t: Tr<'_>, chosen: &str) -> Result<String> {
    let chosen = chosen.trim();
    match tip_category(chosen, &DEFAULT_CATEGORIES) {
        Some(id) => Ok(id.to_string()),
        None => {
            bail!("{}", t.args("cli-category-unknown", &[("got", chosen), ("list", &DEFAULT_CATEGORIES.join(", "))]))
        }
    }
}

/// Reads the simple template (fields at the top level).
pub fn template_manifest(raw: &[u8]) -> Result<Manifest> {
    let v: serde_json::Value = serde_json::from_slice(raw).context("the template is not valid JSON")?;
    let mut m = Manifest::default();
    for f in FIELDS {
        if let (Some(slot), Some(text)) = (m.field_mut(f.name), v[f.name].as_str()) {
            *slot = text.to_string();
        }
    }
    Ok(m)
}

/// One answer from the terminal (or the next line of stdin).
fn ask(question: &str) -> Result<String> {
    eprint!("{question}: ");
    let mut line = String::new();
    std::io::stdin().lock().read_line(&mut line)?;
    Ok(line.trim_end().to_string())
}

/// A yes in either language.
fn yes(answer: &str) -> bool {
    matches!(answer.trim().to_lowercase().as_str(), "y" | "ya" | "yes")
}

/// Asks for each field as the form does, the identity section last and
/// off unless the reporter asks for it, with the form's warning.
pub fn ask_manifest(t: Tr<'_>) -> Result<Manifest> {
    let mut m = Manifest::default();
    eprintln!("{}", t.get("submit-intro"));
    eprintln!("{}", t.get("field-category"));
    for (i, id) in DEFAULT_CATEGORIES.iter().enumerate() {
        eprintln!("  {:>2}. {}  ({id})", i + 1, t.get(&format!("category-{id}")));
    }
    // Asked again until it is on the list; an empty answer (or the end of
    // stdin) is "other", so this ends.
    m.category = loop {
        let answer = ask(&t.get("cli-category-ask"))?;
        // The list on screen is numbered; a number picks from it.
        let picked = answer.trim().parse::<usize>().ok().and_then(|n| DEFAULT_CATEGORIES.get(n.wrapping_sub(1)));
        match category(t, picked.copied().unwrap_or(&answer)) {
            Ok(id) => break id,
            Err(e) => eprintln!("{e}"),
        }
    };
    for f in fields::typed() {
        let answer = ask(&t.get(&f.label_id()))?;
        if let Some(slot) = m.field_mut(f.name) {
            *slot = answer;
        }
    }
    eprintln!();
    eprintln!("{}", t.get("identity-summary"));
    eprintln!("{}", t.get("identity-warning"));
    if yes(&ask(&t.get("cli-identity-ask"))?) {
        m.identity = ask(&t.get("field-identity"))?;
    }
    Ok(m)
}

/// Shows what will be sent and asks before sending.
fn review(t: Tr<'_>, m: &Manifest, files: &[std::path::PathBuf]) -> Result<bool> {
    let none = t.get("cli-review-blank");
    let shown = |v: &str| if v.trim().is_empty() { none.clone() } else { v.to_string() };
    eprintln!();
    eprintln!("{}", t.get("cli-review-title"));
    eprintln!("  {}: {}", t.get("field-category"), t.get(&format!("category-{}", m.category)));
    for f in fields::typed() {
        eprintln!("  {} {}", t.get(&f.label_id()), shown(m.field(f.name).unwrap_or_default()));
    }
    let identity = if m.identity.trim().is_empty() { t.get("cli-review-anonymous") } else { m.identity.clone() };
    eprintln!("  {}: {identity}", t.get("field-identity"));
    for f in files {
        eprintln!("  {}: {}", t.get("cli-review-file"), f.display());
    }
    Ok(yes(&ask(&t.get("cli-review-ask"))?))
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
pub fn read_receipt(t: Tr<'_>) -> Result<Receipt> {
    use std::io::IsTerminal;
    let typed = zeroize::Zeroizing::new(if std::io::stdin().is_terminal() {
        rpassword::prompt_password(format!("{}: ", t.get("field-receipt")))?
    } else {
        let mut line = String::new();
        std::io::stdin().read_line(&mut line)?;
        line
    });
    Receipt::parse(&typed).map_err(|_| anyhow!("{}", t.get("error-typo")))
}

/// `peluit check --server`.
pub fn check(a: CheckArgs) -> Result<()> {
    let cat = catalog()?;
    let t = cat.tr(lang(&a.lang));
    let server_url = a.server.context("give --server URL, or --data DIR")?;
    let client = client(t, &server_url, a.proxy.as_deref())?;
    let receipt = read_receipt(t)?;
    // The key set the replies are checked against. Sealing a follow-up needs
    // it; only looking does not, and then nothing counts as signed.
    let keys = match a.pin.as_deref() {
        Some(pin) if a.add => Some(client.keyset(pin, None).with_context(|| t.get("cli-keyset-refused"))?),
        Some(pin) => client.keyset(pin, None).map_err(|e| eprintln!("{} {e}", t.get("cli-keyset-unchecked"))).ok(),
        None => None,
    };
    if a.add {
        let recipients = keys.as_ref().context("--pin is needed with --add")?.recipients.join("\n");
        let recipients = peluit::crypto::Recipients::parse(&recipients)?;
        eprintln!("{}", t.get("cli-message-ask"));
        let mut text = zeroize::Zeroizing::new(String::new());
        std::io::Read::read_to_string(&mut std::io::stdin(), &mut text)?;
        if text.trim().is_empty() && a.files.is_empty() {
            bail!("{}", t.get("error-empty-followup"));
        }
        client.add(&receipt, &recipients, text.trim_end(), &a.files, progress_bar()).context(t.get("cli-not-sent"))?;
        eprintln!();
        println!("{}", t.get("followup-sent"));
    }
    let c = client.check(&receipt, keys.as_ref()).context(t.get("cli-check-failed"))?;
    show(t, &c, a.pin.is_none());
    Ok(())
}

/// Prints a report's status. Everything here came from the server (replies
/// from investigators, through it): shown escaped, never obeyed by the
/// terminal, and marked unless an investigator of the pinned key set signed
/// it. A status id this version does not know is shown as the server sent it.
fn show(t: Tr<'_>, c: &CheckResult, no_pin: bool) {
    let label =
        |id: &str| Status::from_id(id).map_or_else(|| line(id).into_owned(), |s| t.get(&format!("status-{}", s.id())));
    let mark = |signed: Option<bool>| match signed {
        Some(true) => format!(" {}", t.get("cli-verified")),
        Some(false) => format!(" {}", t.get("cli-unverified")),
        None => String::new(),
    };
    // The current status is as trustworthy as the last change it repeats.
    let current = match c.timeline.last() {
        Some(e) if e.status == c.status => e.signed,
        _ => Some(false),
    };
    println!(
        "{}: {}{}   ({} {})",
        t.get("status-current"),
        label(&c.status),
        mark(current),
        t.get("status-submitted"),
        line(&c.created)
    );
    println!("{}:", t.get("status-timeline"));
    for e in &c.timeline {
        let note = if e.text.is_empty() { String::new() } else { format!(": {}", line(&e.text)) };
        println!("  {}  {}{}{note}", line(&e.day), label(&e.status), mark(e.signed));
    }
    println!("{}:", t.get("status-replies"));
    if c.replies.is_empty() {
        println!("  {}", t.get("status-no-replies"));
    }
    for r in &c.replies {
        println!("  {}:{}", line(&r.day), mark(r.signed));
        for l in r.text.lines() {
            println!("    {}", line(l));
        }
    }
    if current == Some(false) || c.timeline.iter().chain(&c.replies).any(|i| i.signed == Some(false)) {
        println!();
        println!("{}", t.get("cli-unverified-why"));
        if no_pin {
            println!("{}", t.get("cli-no-pin"));
        }
    }
}
