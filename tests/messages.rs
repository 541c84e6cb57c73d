//! Messages that tell a person what is true and what to do next: the status
//! page keeps a mistyped code, empty forms say they are empty, and the
//! investigators' and operators' commands name the file, the value or the
//! flag that is wrong.
#![allow(clippy::unwrap_used)]

mod common;

use std::fs;

use common::{client, ok, receipt_from_html, run_with_stdin, Env, Server};
use peluit::crypto::ed25519::SecretKey;
use peluit::i18n::{Catalog, Lang};
use reqwest::blocking::multipart::{Form, Part};

/// A message of the catalogue.
fn msg(lang: Lang, key: &str) -> String {
    Catalog::load().unwrap().tr(lang).get(key)
}

/// `&`, `<`, `>` and `"` written back as characters.
fn unescape(html: &str) -> String {
    html.replace("&#34;", "\"").replace("&#39;", "'").replace("&#60;", "<").replace("&#62;", ">").replace("&#38;", "&")
}

/// The value of the status form's code field.
fn code_field(page: &str) -> String {
    let field = page.split("<input id=\"receipt\"").nth(1).expect("no code field");
    let value = field.split("value=\"").nth(1).unwrap().split('"').next().unwrap();
    unescape(value)
}

/// Posts the status form with `code` typed in.
fn status_form(s: &Server, lang: Lang, code: &str) -> (u16, String) {
    let r = client().post(s.url(&format!("/status?lang={}", lang.code()))).form(&[("receipt", code)]).send().unwrap();
    (r.status().as_u16(), r.text().unwrap())
}

#[test]
fn a_mistyped_code_comes_back_in_the_field_and_an_empty_one_is_asked_for() {
    let env = Env::new();
    let s = Server::start(&env, &[]);
    let page = client().post(s.url("/submit")).multipart(Form::new().text("what", "x")).send().unwrap();
    let good = receipt_from_html(&page.text().unwrap());
    let mut typo: Vec<char> = good.chars().collect();
    typo[0] = if typo[0] == 'A' { 'B' } else { 'A' };
    let typo: String = typo.into_iter().collect();
    for lang in Lang::ALL {
        let (code, page) = status_form(&s, lang, &typo);
        assert_eq!(code, 400);
        assert!(unescape(&page).contains(&msg(lang, "error-typo")), "{page}");
        assert_eq!(code_field(&page), typo, "the reporter corrects the code instead of typing it again");

        let (code, page) = status_form(&s, lang, "   ");
        assert_eq!(code, 400);
        assert!(unescape(&page).contains(&msg(lang, "error-receipt-empty")), "{page}");
        assert!(!unescape(&page).contains(&msg(lang, "error-typo")), "an empty field is not a typo");
        assert_eq!(code_field(&page), "");
    }
    // What comes back is text in an attribute, never markup.
    let (_, page) = status_form(&s, Lang::Id, "\"><b>x</b>");
    assert!(!page.contains("<b>x"), "{page}");
    assert_eq!(code_field(&page), "\"><b>x</b>");
    // Something far longer than a code is not sent back.
    let (_, page) = status_form(&s, Lang::Id, &"A".repeat(500));
    assert_eq!(code_field(&page), "");
    // Never stored or logged: not in the log, not in the data folder.
    let log = s.stop();
    assert!(!log.contains(&typo), "{log}");
    assert_eq!(common::found_under(&env.data, typo.as_bytes()), None);
}

#[test]
fn an_empty_report_and_an_empty_follow_up_say_what_is_true() {
    let env = Env::new();
    let s = Server::start(&env, &["--max-files", "1"]);
    for lang in Lang::ALL {
        // What a browser sends for the untouched form: every field empty, and
        // a file part with no name and no bytes.
        let mut empty = Form::new().text("category", "lainnya");
        for field in ["what", "who", "where", "when", "how", "text", "identity"] {
            empty = empty.text(field, "");
        }
        let empty = empty.part("file", Part::bytes(Vec::new()).file_name(""));
        let r = client().post(s.url(&format!("/submit?lang={}", lang.code()))).multipart(empty).send().unwrap();
        assert_eq!(r.status().as_u16(), 400);
        let page = unescape(&r.text().unwrap());
        assert!(page.contains(&msg(lang, "error-empty")), "{page}");
        for untrue in ["form-kept", "files-again"] {
            assert!(!page.contains(&msg(lang, untrue)), "nothing was typed or chosen: {untrue}");
        }
        // A typed form refused for its files still says both.
        let file = |name: &str| Part::bytes(b"1".to_vec()).file_name(name.to_string());
        let form = Form::new().text("what", "x").part("file", file("a.pdf")).part("file", file("b.pdf"));
        let r = client().post(s.url(&format!("/submit?lang={}", lang.code()))).multipart(form).send().unwrap();
        let page = unescape(&r.text().unwrap());
        assert!(page.contains(&msg(lang, "form-kept")) && page.contains(&msg(lang, "files-again")), "{page}");

        let code = receipt_from_html(
            &client().post(s.url("/submit")).multipart(Form::new().text("what", "x")).send().unwrap().text().unwrap(),
        );
        let form = Form::new().text("receipt", code).text("text", " ");
        let r = client().post(s.url(&format!("/status/add?lang={}", lang.code()))).multipart(form).send().unwrap();
        assert_eq!(r.status().as_u16(), 400);
        let page = unescape(&r.text().unwrap());
        assert!(page.contains(&msg(lang, "error-empty-followup")), "{page}");
        assert!(!page.contains(&msg(lang, "error-empty")), "the follow-up form has one field, not several");
    }
}

#[test]
fn a_needs_info_note_is_where_the_status_help_says_it_is() {
    let env = Env::new();
    let signing = env.identity.parent().unwrap().join("signing.key");
    let sign = SecretKey::parse(&fs::read_to_string(&signing).unwrap()).unwrap();
    fs::write(env.keys.join("investigators.txt"), format!("{} sign ani\n", sign.public().to_text())).unwrap();
    let s = Server::start(&env, &[]);
    let page = client().post(s.url("/submit")).multipart(Form::new().text("what", "x")).send().unwrap();
    let code = receipt_from_html(&page.text().unwrap());
    s.stop();
    let cases = env.export_and_decrypt(&env.identity, "cases");
    let id = fs::read_dir(&cases).unwrap().flatten().find(|e| e.path().is_dir()).unwrap().file_name();
    let note = "Kapan persisnya kejadian itu?";
    let (c, k) = (cases.to_str().unwrap(), signing.to_str().unwrap());
    ok(&run_with_stdin(
        &["case", "--cases", c, "--key", k, "status", id.to_str().unwrap(), "needs_info", "--note"],
        note,
    ));
    let (data, keys) = (env.data.to_str().unwrap(), env.keys.to_str().unwrap());
    ok(&env.run(&["apply", "--data", data, "--keys", keys, cases.join("actions.jsonl").to_str().unwrap()]));
    let s = Server::start(&env, &[]);
    for lang in Lang::ALL {
        let page = unescape(&status_form(&s, lang, &code).1);
        let help = msg(lang, "status-help-needs_info");
        assert!(page.contains(&help) && page.contains(note), "{page}");
        let history = msg(lang, "status-timeline").to_lowercase();
        assert!(help.to_lowercase().contains(&history), "the help points at the {history}, where the note is");
    }
}

/// Runs peluit, which must fail; returns what it printed on stderr.
fn fails(env: &Env, args: &[&str]) -> String {
    let o = env.run(args);
    assert!(!o.status.success(), "{args:?} should fail");
    String::from_utf8_lossy(&o.stderr).into_owned()
}

#[test]
fn investigator_commands_name_what_is_wrong() {
    let env = Env::new();
    let inv = env.identity.parent().unwrap().to_path_buf();
    let p = |name: &str| env.path(name).to_str().unwrap().to_string();
    let key = |file: &str| inv.join(file).to_str().unwrap().to_string();

    // pull onto an existing file names the file, before the server is asked.
    fs::write(env.path("b.tar"), b"keep me").unwrap();
    let err =
        fails(&env, &["pull", "--server", "http://127.0.0.1:9", "--key", &key("transfer.key"), "--out", &p("b.tar")]);
    assert!(err.contains(&p("b.tar")) && err.contains("exists already"), "{err}");
    assert_eq!(fs::read(env.path("b.tar")).unwrap(), b"keep me");
    let err = fails(&env, &["pull", "--server", "127.0.0.1:9", "--key", &key("transfer.key"), "--out", &p("n.tar")]);
    assert!(err.contains("must start with http://") && !err.contains("builder error"), "{err}");

    // An empty bundle and its case folder to work on.
    peluit::private_fs::make_dir(&env.data).unwrap();
    // No server ran: the key it would have made to sign bundles, made here.
    ok(&env.run(&["keys", "server-key", "--out", env.keys.join("server.key").to_str().unwrap()]));
    ok(&env.run(&["export", "--data", env.data.to_str().unwrap(), "--out", &p("e.tar")]));
    ok(&common::decrypt(&env.path("e.tar"), &env.identity, &env.path("cases")));

    // verify-log: a mistyped head is a typo, not a rewrite; --keys takes the folder too.
    let err = fails(&env, &["verify-log", &p("e.tar"), "--keys", env.keys.to_str().unwrap(), "--after", "0000-typo"]);
    assert!(err.contains("is not a head") && !err.contains("rewritten"), "{err}");
    ok(&env.run(&["verify-log", &p("e.tar"), "--keys", env.keys.to_str().unwrap()]));

    // An unknown status lists the valid ones.
    let case = ["case", "--cases", &p("cases"), "--key"];
    let err = fails(&env, &[&case[..], &[&key("signing.key"), "status", "abc", "Investigating"]].concat());
    assert!(err.contains("unknown status Investigating") && err.contains("investigating, needs_info"), "{err}");
    // The identity file where a signing key belongs says which file is which.
    let err = fails(&env, &[&case[..], &[&key("identity.txt"), "delete", "abc"]].concat());
    assert!(err.contains("is an age identity") && err.contains("signing.key"), "{err}");
    assert!(!err.contains("not an age identity file"), "{err}");
}

#[test]
fn keygen_names_each_investigator_and_refuses_a_name_in_use() {
    let env = Env::new();
    let server_keys = env.path("server-keys");
    let sk = server_keys.to_str().unwrap();
    let ani = ok(&env.run(&["keygen", "--out", env.path("ani").to_str().unwrap(), "--server-keys", sk]));
    assert!(ani.contains(" sign ani\n") && ani.contains(" transfer ani-transfer\n"), "{ani}");
    assert!(!ani.contains(" sign investigator"), "no name shared by everyone");
    let budi = env.path("budi");
    let o = env.run(&["keygen", "--out", budi.to_str().unwrap(), "--name", "ani", "--server-keys", sk]);
    assert!(!o.status.success());
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(err.contains("ani already names a key") && err.contains("investigators.txt"), "{err}");
    assert!(!budi.exists(), "a refused name leaves no keys behind");
    ok(&env.run(&["keygen", "--out", budi.to_str().unwrap(), "--server-keys", sk]));
    let listed = fs::read_to_string(server_keys.join("investigators.txt")).unwrap();
    assert_eq!(listed.lines().count(), 4, "{listed}");
    let recipients = fs::read_to_string(server_keys.join("recipients.txt")).unwrap();
    assert_eq!(recipients.lines().filter(|l| l.starts_with("age1")).count(), 2, "{recipients}");
}

#[test]
fn operator_commands_name_both_choices_and_the_right_moment() {
    let env = Env::new();
    let (data, keys) = (env.data.to_str().unwrap(), env.keys.to_str().unwrap());
    let err = fails(&env, &["serve", "--data", data, "--keys", keys]);
    assert!(err.contains("--listen") && err.contains("--unix"), "{err}");
    // While the server holds the data folder, only export suggests pull.
    let s = Server::start(&env, &[]);
    fs::write(env.path("a.jsonl"), "{}\n").unwrap();
    let err = fails(&env, &["apply", "--data", data, "--keys", keys, env.path("a.jsonl").to_str().unwrap()]);
    assert!(err.contains("in use") && !err.contains("peluit pull"), "{err}");
    let err = fails(&env, &["check", "--data", data]);
    assert!(err.contains("in use") && !err.contains("peluit pull"), "{err}");
    let err = fails(&env, &["compact", "--data", data, "--out", env.path("c").to_str().unwrap()]);
    assert!(err.contains("in use") && !err.contains("peluit pull"), "{err}");
    let err = fails(&env, &["export", "--data", data, "--out", env.path("x.tar").to_str().unwrap()]);
    assert!(err.contains("in use") && err.contains("peluit pull"), "{err}");
    // The log says how to publish a key set, with this deployment's id.
    let log = s.stop();
    assert!(log.contains("no keys/keyset.json") && log.contains("peluit keys sign"), "{log}");
    let compacted = ok(&env.run(&["compact", "--data", data, "--out", env.path("c").to_str().unwrap()]));
    assert!(compacted.contains("server still stopped") && !compacted.contains("Stop the server"), "{compacted}");
}
