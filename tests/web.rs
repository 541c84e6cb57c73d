//! The reporter's pages over plain HTTP against the real server: complete in
//! both languages, typed input shown as text, no script and nothing loaded
//! from elsewhere, a label on every field, small pages, no cookie.
//! These tests only read pages; they never depend on a browser.
#![allow(clippy::unwrap_used)]

mod common;

use common::{api_status, client, receipt_from_html, Env, Server};
use peluit::i18n::{Catalog, Lang};
use reqwest::blocking::multipart::{Form, Part};
use reqwest::blocking::Response;

/// Largest page a reporter on a slow link should have to load.
const MAX_PAGE: usize = 30 * 1024;

/// One rendered page.
struct Page {
    /// What it is, for failure messages.
    name: String,
    /// The language it was asked in.
    lang: Lang,
    /// The HTML.
    html: String,
}

/// One start tag: its name and attributes (values unescaped as written).
struct Tag {
    name: String,
    attrs: Vec<(String, String)>,
}

impl Tag {
    fn attr(&self, name: &str) -> Option<&str> {
        self.attrs.iter().find(|(n, _)| n == name).map(|(_, v)| v.as_str())
    }
}

/// The start tags of a page. Enough for server-rendered pages whose
/// attribute values are escaped (no raw `>` inside them).
fn tags(html: &str) -> Vec<Tag> {
    html.split('<')
        .skip(1)
        .filter(|t| t.starts_with(|c: char| c.is_ascii_alphabetic()))
        .filter_map(|t| t.split('>').next())
        .map(parse_tag)
        .collect()
}

fn parse_tag(inner: &str) -> Tag {
    let inner = inner.trim_end_matches('/');
    let (name, mut rest) = inner.split_once(char::is_whitespace).unwrap_or((inner, ""));
    let mut attrs = Vec::new();
    loop {
        rest = rest.trim_start();
        if rest.is_empty() {
            break;
        }
        let end = rest.find(|c: char| c == '=' || c.is_whitespace()).unwrap_or(rest.len());
        let key = rest[..end].to_ascii_lowercase();
        rest = &rest[end..];
        let value = if let Some(after) = rest.strip_prefix('=') {
            let (v, r) = attr_value(after);
            rest = r;
            v
        } else {
            String::new()
        };
        attrs.push((key, value));
    }
    Tag { name: name.to_ascii_lowercase(), attrs }
}

/// A quoted or bare attribute value and what follows it.
fn attr_value(s: &str) -> (String, &str) {
    match s.chars().next() {
        Some(q @ ('"' | '\'')) => {
            let body = &s[1..];
            let end = body.find(q).unwrap_or(body.len());
            (body[..end].to_string(), body.get(end + 1..).unwrap_or(""))
        }
        _ => {
            let end = s.find(char::is_whitespace).unwrap_or(s.len());
            (s[..end].to_string(), &s[end..])
        }
    }
}

/// The page text with the entities askama writes turned back into characters.
fn unescape(html: &str) -> String {
    [("&#60;", "<"), ("&#62;", ">"), ("&#34;", "\""), ("&#39;", "'"), ("&lt;", "<"), ("&gt;", ">"), ("&quot;", "\"")]
        .iter()
        .fold(html.to_string(), |s, (from, to)| s.replace(from, to))
        .replace("&#38;", "&")
        .replace("&amp;", "&")
}

fn lang_query(lang: Lang) -> String {
    format!("lang={}", lang.code())
}

fn get(s: &Server, path: &str, lang: Lang) -> Response {
    client().get(s.url(&format!("{path}?{}", lang_query(lang)))).send().unwrap()
}

/// The body of a response, after checking that it sets no cookie.
fn text(r: Response) -> String {
    assert!(r.headers().get("set-cookie").is_none(), "a page set a cookie");
    r.text().unwrap()
}

/// A valid tip sent through the form; returns the receipt page.
fn send_tip(s: &Server, lang: Lang, form: Form) -> String {
    let r = client().post(s.url(&format!("/submit?{}", lang_query(lang)))).multipart(form).send().unwrap();
    assert_eq!(r.status().as_u16(), 200);
    text(r)
}

/// The status page for a code typed into the status form.
fn status_of(s: &Server, lang: Lang, code: &str) -> String {
    let r = client().post(s.url(&format!("/status?{}", lang_query(lang)))).form(&[("receipt", code)]).send().unwrap();
    text(r)
}

/// A follow-up sent with the receipt as the first part, as the page does.
fn follow_up(s: &Server, lang: Lang, code: &str, message: &str, file: Option<(&str, &[u8])>) -> String {
    let mut form = Form::new().text("receipt", code.to_string()).text("text", message.to_string());
    if let Some((name, bytes)) = file {
        form = form.part("file", Part::bytes(bytes.to_vec()).file_name(name.to_string()));
    }
    let r = client().post(s.url(&format!("/status/add?{}", lang_query(lang)))).multipart(form).send().unwrap();
    text(r)
}

/// Every page a reporter can reach, in one language.
fn pages_in(s: &Server, lang: Lang) -> Vec<Page> {
    let mut out = Vec::new();
    let mut add = |name: &str, html: String| out.push(Page { name: format!("{name} ({})", lang.code()), lang, html });
    for path in ["/", "/submit", "/status", "/about", "/no-such-page"] {
        add(path, text(get(s, path, lang)));
    }
    let refused = client().post(s.url(&format!("/submit?{}", lang_query(lang)))).multipart(Form::new()).send();
    add("refused form", text(refused.unwrap()));
    let tip = Form::new().text("category", "suap").text("what", "Petugas minta uang").text("identity", "Budi");
    let receipt_page = send_tip(s, lang, tip.part("file", Part::bytes(b"x".to_vec()).file_name("bukti.txt")));
    let code = receipt_from_html(&receipt_page);
    add("receipt", receipt_page);
    add("status", status_of(s, lang, &code));
    add("status typo", status_of(s, lang, "not a code"));
    add("follow-up sent", follow_up(s, lang, &code, "Ada kuitansi baru", Some(("k.jpg", b"y"))));
    add("follow-up empty", follow_up(s, lang, &code, " ", None));
    out
}

fn all_pages(s: &Server) -> Vec<Page> {
    Lang::ALL.into_iter().flat_map(|l| pages_in(s, l)).collect()
}

/// Pieces of a message's text long enough to be recognised on a page
/// (placeholders like `{ $org }` split a message into pieces).
fn pieces(value: &str) -> Vec<String> {
    value.split(['{', '}']).step_by(2).map(str::trim).filter(|p| p.len() >= 4).map(str::to_string).collect()
}

/// Message text that belongs to one language only: (id pieces, en pieces).
fn one_language_texts() -> (Vec<String>, Vec<String>) {
    let c = Catalog::load().unwrap();
    let (mut id, mut en) = (Vec::new(), Vec::new());
    // The language link is written in the other language on purpose.
    for key in c.ids(Lang::Id).iter().filter(|k| !k.starts_with("lang-")) {
        let (i, e) = (c.tr(Lang::Id).get(key), c.tr(Lang::En).get(key));
        if i != e {
            id.extend(pieces(&i));
            en.extend(pieces(&e));
        }
    }
    (id, en)
}

#[test]
fn every_page_is_complete_in_its_language() {
    let env = Env::new();
    let s = Server::start(&env, &[]);
    let (id_texts, en_texts) = one_language_texts();
    assert!(id_texts.len() > 100 && en_texts.len() > 100);
    for p in all_pages(&s) {
        assert!(p.html.contains(&format!("<html lang=\"{}\">", p.lang.code())), "{}: lang attribute", p.name);
        assert!(!p.html.contains('⟦'), "{}: a message is missing:\n{}", p.name, p.html);
        let plain = unescape(&p.html);
        let foreign = if p.lang == Lang::En { &id_texts } else { &en_texts };
        if let Some(t) = foreign.iter().find(|t| plain.contains(t.as_str())) {
            panic!("{}: text of the other language: {t:?}\n{}", p.name, p.html);
        }
    }
}

#[test]
fn pages_load_nothing_from_elsewhere_and_run_no_script() {
    let env = Env::new();
    let s = Server::start(&env, &[]);
    for p in all_pages(&s) {
        assert!(p.html.len() < MAX_PAGE, "{}: {} bytes", p.name, p.html.len());
        let lower = p.html.to_ascii_lowercase();
        assert!(!lower.contains("<script") && !lower.contains("javascript:"), "{}: script", p.name);
        assert!(!lower.contains("<style") && !lower.contains("<iframe") && !lower.contains("<object"), "{}", p.name);
        assert!(!lower.contains("http://") && !lower.contains("https://"), "{}: an absolute URL", p.name);
        for tag in tags(&p.html) {
            for (name, value) in &tag.attrs {
                // CSP style-src 'self' would block inline styles anyway.
                assert!(!name.starts_with("on") && name != "style", "{}: <{} {name}>", p.name, tag.name);
                if ["src", "href", "action", "formaction", "srcset", "poster", "data"].contains(&name.as_str()) {
                    let local = (value.starts_with('/') && !value.starts_with("//")) || value.starts_with('#');
                    assert!(local, "{}: <{} {name}=\"{value}\"> is not on this server", p.name, tag.name);
                }
            }
        }
    }
    let css = client().get(s.url("/style.css")).send().unwrap();
    assert_eq!(css.headers()["content-type"], "text/css; charset=utf-8");
    // Comments may say what the sheet avoids; only the rules are checked.
    let css: String = text(css).split("/*").map(|part| part.split_once("*/").map_or(part, |(_, rule)| rule)).collect();
    assert!(css.len() < 8 * 1024, "one small stylesheet");
    for banned in ["url(", "@import", "@font-face", "//"] {
        assert!(!css.contains(banned), "style.css contains {banned}");
    }
}

#[test]
fn every_field_has_a_label() {
    let env = Env::new();
    let s = Server::start(&env, &[]);
    for p in all_pages(&s) {
        let tags = tags(&p.html);
        let labels: Vec<&str> = tags.iter().filter(|t| t.name == "label").filter_map(|t| t.attr("for")).collect();
        let ids: Vec<&str> = tags.iter().filter_map(|t| t.attr("id")).collect();
        for (i, id) in ids.iter().enumerate() {
            assert!(!ids[..i].contains(id), "{}: id {id} used twice", p.name);
        }
        let fields = tags.iter().filter(|t| ["input", "select", "textarea"].contains(&t.name.as_str()));
        for f in fields.filter(|f| !matches!(f.attr("type"), Some("hidden" | "submit"))) {
            let id = f.attr("id").unwrap_or_else(|| panic!("{}: a <{}> without id", p.name, f.name));
            assert!(labels.contains(&id), "{}: no <label for=\"{id}\">", p.name);
        }
        for hint in tags.iter().filter_map(|t| t.attr("aria-describedby")) {
            assert!(ids.contains(&hint), "{}: aria-describedby={hint} points nowhere", p.name);
        }
    }
}

#[test]
fn language_comes_from_the_link_or_the_browser_never_a_cookie() {
    let env = Env::new();
    let s = Server::start(&env, &[]);
    let plain = text(client().get(s.url("/")).send().unwrap());
    assert!(plain.contains("<html lang=\"id\">"), "Indonesian by default");
    assert!(plain.contains("href=\"/?lang=en\" hreflang=\"en\""), "a visible link to English");
    let browser = client().get(s.url("/submit")).header("accept-language", "en-GB,en;q=0.9,id;q=0.5").send().unwrap();
    let browser = text(browser);
    assert!(browser.contains("<html lang=\"en\">") && browser.contains("action=\"/submit?lang=en\""));
    let chosen = text(client().get(s.url("/about?lang=id")).header("accept-language", "en").send().unwrap());
    assert!(chosen.contains("<html lang=\"id\">") && chosen.contains("href=\"/about?lang=en\""), "the link wins");
    for html in [&plain, &browser, &chosen] {
        let hrefs: Vec<String> = tags(html).iter().filter_map(|t| t.attr("href").map(str::to_string)).collect();
        assert!(hrefs
            .iter()
            .filter(|h| h.starts_with("/submit") || h.starts_with("/status"))
            .all(|h| h.contains("lang=")));
    }
}

/// Markup a reporter might paste, in every field and a file name.
const INJECTED: &str = "<script>alert(1)</script><img src=x onerror=alert(2)>\"'";

fn injected_form(category: &str) -> Form {
    let mut form = Form::new().text("category", category.to_string());
    for field in ["what", "who", "where", "when", "how", "text", "identity"] {
        form = form.text(field, format!("{field}: {INJECTED}"));
    }
    form.part("file", Part::bytes(b"z".to_vec()).file_name(format!("f{INJECTED}.pdf")))
}

fn assert_inert(page: &str, what: &str) {
    let lower = page.to_ascii_lowercase();
    assert!(!lower.contains("<script") && !lower.contains("<img"), "{what}: markup got through:\n{page}");
    let handler = tags(page).into_iter().flat_map(|t| t.attrs).find(|(name, _)| name.starts_with("on"));
    assert!(handler.is_none(), "{what}: an event handler got through: {handler:?}");
}

#[test]
fn injected_markup_is_shown_as_text() {
    let env = Env::new();
    let s = Server::start(&env, &[]);
    // Refused (unknown category): everything comes back, as text.
    let r = client().post(s.url("/submit")).multipart(injected_form(INJECTED)).send().unwrap();
    assert_eq!(r.status().as_u16(), 400);
    let page = text(r);
    assert_inert(&page, "refused form");
    let plain = unescape(&page);
    for field in ["what", "who", "where", "when", "how", "text", "identity"] {
        assert!(plain.contains(&format!("{field}: {INJECTED}")), "{field} was not kept");
    }
    assert!(plain.contains(&format!("<li>f{INJECTED}.pdf</li>")), "the file name is listed as text");
    // Accepted: the receipt and status pages stay inert too.
    let receipt = send_tip(&s, Lang::Id, injected_form("suap"));
    assert_inert(&receipt, "receipt");
    let code = receipt_from_html(&receipt);
    assert_inert(&status_of(&s, Lang::En, &code), "status");
    let sent = follow_up(&s, Lang::Id, &code, INJECTED, Some((INJECTED, b"q")));
    assert!(sent.contains("Informasi tambahan Anda sudah diterima"), "{sent}");
    assert_inert(&sent, "follow-up");
    // A refused code comes back only as the value of its own field, as text.
    let typed = status_of(&s, Lang::Id, INJECTED);
    assert_inert(&typed, "a typed code");
    let value = typed.split("<input id=\"receipt\"").nth(1).unwrap().split("value=\"").nth(1).unwrap();
    assert_eq!(unescape(value.split('"').next().unwrap()), INJECTED, "kept for correcting, escaped");
    assert_eq!(unescape(&typed).matches("alert(1)").count(), 1, "and nowhere else on the page");
}

#[test]
fn a_refused_form_comes_back_filled_in_every_field() {
    let env = Env::new();
    let s = Server::start(&env, &["--max-files", "1"]);
    for lang in Lang::ALL {
        let form = Form::new()
            .text("category", "pengadaan")
            .text("what", "\nMark-up laptop & proyektor")
            .text("who", "PPK dinas")
            .text("where", "Kantor \"Bappeda\"")
            .text("when", "Maret 2025")
            .text("how", "Harga dinaikkan 3x")
            .text("text", "Baris satu\nBaris dua")
            .text("identity", "Budi, 0812")
            .part("file", Part::bytes(b"1".to_vec()).file_name("satu.pdf"))
            .part("file", Part::bytes(b"2".to_vec()).file_name("dua.pdf"));
        let r = client().post(s.url(&format!("/submit?{}", lang_query(lang)))).multipart(form).send().unwrap();
        assert_eq!(r.status().as_u16(), 400, "two files over a limit of one");
        let page = text(r);
        let kept = [
            "<option value=\"pengadaan\" selected>",
            "aria-describedby=\"what-hint\">\n\nMark-up laptop &#38; proyektor</textarea>",
            "aria-describedby=\"who-hint\">\nPPK dinas</textarea>",
            "value=\"Kantor &#34;Bappeda&#34;\"",
            "value=\"Maret 2025\"",
            "aria-describedby=\"how-hint\">\nHarga dinaikkan 3x</textarea>",
            "aria-describedby=\"text-hint\">\nBaris satu\nBaris dua</textarea>",
            "<details open>",
            "aria-describedby=\"identity-hint\">\nBudi, 0812</textarea>",
        ];
        for k in kept {
            assert!(page.contains(k), "{}: lost {k:?}\n{page}", lang.code());
        }
        let files_again = Catalog::load().unwrap().tr(lang).get("files-again");
        assert!(unescape(&page).contains(&files_again), "the page says files must be chosen again");
        assert!(!page.contains("hreflang"), "no language link that would drop the text");
    }
    let fresh = text(get(&s, "/submit", Lang::Id));
    // Browsers send parts in page order: files last, so that an error while
    // a file streams in finds every text field already read.
    let names: Vec<String> = tags(&fresh).iter().filter_map(|t| t.attr("name").map(str::to_string)).collect();
    assert_eq!(names.last().map(String::as_str), Some("file"), "{names:?}");
    assert!(unescape(&fresh).contains("Paling banyak 1 berkas"), "the limits are told before sending");
    assert!(fresh.contains("<details>") && fresh.contains("<option value=\"lainnya\" selected>"));
    assert!(fresh.contains("autocomplete=\"off\""), "no form history of what a reporter typed");
}

#[test]
fn the_receipt_is_shown_once_large_and_grouped_with_what_happens_next() {
    let env = Env::new();
    let s = Server::start(&env, &[]);
    for lang in Lang::ALL {
        let page = send_tip(&s, lang, Form::new().text("what", "Pungli KTP"));
        let code = receipt_from_html(&page);
        let groups: Vec<&str> = code.split('-').collect();
        assert_eq!(groups.iter().map(|g| g.len()).collect::<Vec<_>>(), [4, 4, 4, 4, 5], "{code}");
        assert_eq!(page.matches(&code).count(), 1, "the code is shown once, and in no link or field");
        assert!(page.contains("class=\"receipt\""));
        let t = Catalog::load().unwrap();
        let t = t.tr(lang);
        for expected in [t.get("receipt-write-down"), t.get("receipt-ack"), t.arg("receipt-next", "days", "90")] {
            assert!(unescape(&page).contains(&expected), "{}: missing {expected}", lang.code());
        }
        assert!(!page.contains("hreflang"), "no language link that would leave the code behind");
        let status = status_of(&s, lang, &code);
        assert!(
            status.contains("data-status=\"received\"") && unescape(&status).contains(&t.get("status-help-received"))
        );
        let hidden = format!("<input type=\"hidden\" name=\"receipt\" value=\"{code}\">");
        let form_at = status.find("action=\"/status/add").unwrap();
        let first_field = status[form_at..].find("<input").map(|i| i + form_at).unwrap();
        assert!(status[first_field..].starts_with(&hidden), "the receipt is the first part of the follow-up");
    }
}

#[test]
fn a_refused_follow_up_keeps_the_report_and_the_typed_message() {
    let env = Env::new();
    let s = Server::start(&env, &["--max-files", "1"]);
    let code = receipt_from_html(&send_tip(&s, Lang::Id, Form::new().text("what", "tip pertama")));
    let form = Form::new()
        .text("receipt", code.clone())
        .text("text", "Pesan <b>penting</b> yang panjang")
        .part("file", Part::bytes(b"1".to_vec()).file_name("a.jpg"))
        .part("file", Part::bytes(b"2".to_vec()).file_name("b.jpg"));
    let r = client().post(s.url("/status/add")).multipart(form).send().unwrap();
    assert_eq!(r.status().as_u16(), 400);
    let page = r.text().unwrap();
    assert!(page.contains("data-status=\"received\""), "the report stays on screen: {page}");
    assert!(
        page.contains("Pesan &#60;b&#62;penting&#60;/b&#62; yang panjang") || page.contains("Pesan &lt;b&gt;penting"),
        "{page}"
    );
    assert!(page.contains("role=\"alert\""));
    // Nothing was added.
    let again = status_of(&s, Lang::En, &code);
    assert!(!again.contains("Pesan"));
}

/// The status page shows the reporter's own follow-ups (the day and the
/// number of files, never the content, which only the investigators can
/// open), so a reporter can see that what they added arrived.
#[test]
fn the_status_page_lists_what_the_reporter_added() {
    let env = Env::new();
    let s = Server::start(&env, &[]);
    let code = receipt_from_html(&send_tip(&s, Lang::Id, Form::new().text("category", "suap").text("what", "x")));
    assert!(!status_of(&s, Lang::Id, &code).contains("Yang Anda tambahkan"), "nothing added yet");
    follow_up(&s, Lang::Id, &code, "Kuitansi kedua dari bendahara", Some(("k.jpg", b"y")));
    let page = status_of(&s, Lang::Id, &code);
    assert!(page.contains("Yang Anda tambahkan") && page.contains("Informasi tambahan, 1 berkas"), "{page}");
    assert!(!page.contains("Kuitansi kedua"), "the content is sealed to the investigators alone");
    let english = status_of(&s, Lang::En, &code);
    assert!(english.contains("What you added") && english.contains("files attached: 1"), "{english}");
    let (_, v) = api_status(&s, &code);
    assert_eq!(v["added"][0]["files"], 1, "{v}");
}
