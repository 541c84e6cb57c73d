//! `peluit demo`: a taken port is found before anything is made and the
//! message names `--listen`; the printed `submit` line works against the
//! demo's signed key set; the throwaway folder (it holds secret keys) is gone
//! after every way out.
#![allow(clippy::unwrap_used)]

mod common;

use std::fs;
use std::io::Read;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use common::{bin, ok, run_with_stdin};

/// The demo folders in `tmp`.
fn demo_folders(tmp: &Path) -> Vec<String> {
    fs::read_dir(tmp)
        .unwrap()
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n.starts_with("peluit-demo-"))
        .collect()
}

#[test]
fn a_taken_port_is_named_with_the_way_out_and_leaves_nothing_behind() {
    let tmp = tempfile::tempdir().unwrap();
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = taken.local_addr().unwrap().to_string();
    let o = Command::new(bin()).args(["demo", "--listen", &addr]).env("TMPDIR", tmp.path()).output().unwrap();
    let (out, err) = (String::from_utf8_lossy(&o.stdout), String::from_utf8_lossy(&o.stderr));
    assert!(!o.status.success());
    assert!(err.contains(&format!("cannot listen on {addr}")) && err.contains("--listen"), "{err}");
    assert!(!out.contains("Open http"), "no next steps for a demo that cannot start: {out}");
    assert_eq!(demo_folders(tmp.path()), Vec::<String>::new(), "no keys left behind");
}

#[test]
fn the_printed_submit_line_works_and_ctrl_c_removes_the_folder() {
    let tmp = tempfile::tempdir().unwrap();
    let mut demo = Command::new(bin())
        .args(["demo", "--listen", "127.0.0.1:0"])
        .env("TMPDIR", tmp.path())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut stdout = demo.stdout.take().unwrap();
    let mut printed = String::new();
    let start = Instant::now();
    while !printed.contains("blobs/ID.age") {
        let mut buf = [0u8; 4096];
        let n = stdout.read(&mut buf).unwrap();
        assert!(n > 0 && start.elapsed() < Duration::from_secs(30), "the demo stopped: {printed}");
        printed.push_str(&String::from_utf8_lossy(&buf[..n]));
    }
    assert_eq!(demo_folders(tmp.path()).len(), 1);
    // The submit line, with its pin, as printed.
    let line = printed.lines().map(str::trim).find(|l| l.contains(" submit --server ")).unwrap();
    let args: Vec<&str> = line.split_whitespace().skip(1).collect();
    let url = args[args.iter().position(|a| *a == "--server").unwrap() + 1].to_string();
    let template = tmp.path().join("tip.json");
    fs::write(&template, r#"{"category": "suap", "what": "demo"}"#).unwrap();
    let sent = ok(&run_with_stdin(&[&args[..], &["--template", template.to_str().unwrap()]].concat(), ""));
    let receipt = sent.lines().map(str::trim).find(|l| l.len() == 25).unwrap();
    // The demo's server took it.
    let shown = ok(&run_with_stdin(&["check", "--server", &url, "--lang", "en"], &format!("{receipt}\n")));
    assert!(shown.contains("Received"), "{shown}");
    // pull and export write to different files, so both alternatives work.
    let pull = printed.lines().find(|l| l.contains(" pull --server ")).unwrap();
    let export = printed.lines().find(|l| l.contains(" export --data ")).unwrap();
    let out_of = |l: &str| l.split("--out ").nth(1).unwrap().split([' ', ',']).next().unwrap().to_string();
    assert_ne!(out_of(pull), out_of(export));
    // The printed investigator loop, twice, as printed: pull, decrypt, act,
    // push; then pull only what changed since, decrypt, act, push the same file.
    let run = |l: &str, case: &str, cursor: &str| {
        let args: Vec<String> =
            l.split_whitespace().skip(1).map(|a| a.replace("CASE_ID", case).replace("CURSOR", cursor)).collect();
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        ok(&run_with_stdin(&args, ""))
    };
    let printed_line = |needle: &str, nth: usize| printed.lines().filter(|l| l.contains(needle)).nth(nth).unwrap();
    let pulled = run(pull, "", "");
    let cursor = pulled.split("--since ").nth(1).unwrap().trim().to_string();
    let trusted = run(printed_line(" trust --cases ", 0), "", "");
    assert!(trusted.contains("pinned to key set version"), "{trusted}");
    // The server key the demo printed is the one pinned, so its bundles are taken.
    let fingerprint = printed.split("(fingerprint ").nth(1).unwrap().split(')').next().unwrap();
    assert!(trusted.contains(&format!("server key with fingerprint {fingerprint}")), "{trusted}");
    run(printed_line(" decrypt ", 0), "", "");
    let cases = printed_line(" cases --dir ", 0).split("--dir ").nth(1).unwrap().trim().to_string();
    let case = fs::read_dir(&cases).unwrap().flatten().find(|e| e.path().is_dir()).unwrap().file_name();
    let case = case.to_str().unwrap().to_string();
    desk_lists(printed_line(" desk --cases ", 0), &case);
    run(printed_line(" status CASE_ID investigating", 0), &case, "");
    assert!(run(printed_line(" push --server ", 0), "", "").contains("Applied 1 action(s)"));
    run(printed_line(" pull --server ", 1), "", &cursor);
    run(printed_line(" decrypt ", 1), "", "");
    let talk = fs::read_to_string(Path::new(&cases).join(&case).join("conversation.md")).unwrap();
    assert!(talk.contains("investigating"), "the first round's status reached the case folder:\n{talk}");
    // Signed by the investigator whose key the demo's key set pinned: proven
    // by the bundle's audit log, so nothing is marked unsigned.
    let pin: serde_json::Value =
        serde_json::from_slice(&fs::read(Path::new(&cases).join("deployment.json")).unwrap()).unwrap();
    assert!(pin["signers"].as_array().is_some_and(|s| !s.is_empty()), "the check had keys to check with: {pin}");
    assert!(!talk.contains("NOT signed by a pinned investigator"), "{talk}");
    let listed = run(printed_line(" cases --dir ", 0), "", "");
    assert!(!listed.contains("NOT signed"), "{listed}");
    run(printed_line(" status CASE_ID closed", 0), &case, "");
    assert!(run(printed_line(" push --server ", 1), "", "").contains("Applied 1 action(s)"));
    // The printed check line verifies both status changes as the investigator's.
    let check = printed_line(" check --server ", 0).split(": ").nth(1).unwrap();
    let check: Vec<&str> = check.split_whitespace().skip(1).chain(["--lang", "en"]).collect();
    let shown = ok(&run_with_stdin(&check, &format!("{receipt}\n")));
    assert!(shown.contains("Closed [signed by an investigator]"), "{shown}");
    assert!(
        shown.contains("Under investigation [signed by an investigator]") && !shown.contains("NOT VERIFIED"),
        "{shown}"
    );
    // Ctrl-C: the server stops and the folder goes with it.
    let _ = Command::new("kill").args(["-INT", &demo.id().to_string()]).status();
    let status = demo.wait().unwrap();
    assert!(status.success(), "{status:?}");
    assert_eq!(demo_folders(tmp.path()), Vec::<String>::new(), "the keys are gone after Ctrl-C");
}

/// Runs the printed `desk` line: its address (with the token) opens the
/// case list, which shows `case`; the same page without the token is refused.
fn desk_lists(line: &str, case: &str) {
    use std::io::BufRead;
    let args: Vec<&str> = line.split_whitespace().skip(1).collect();
    let mut desk = Command::new(bin()).args(&args).stdout(Stdio::piped()).stderr(Stdio::null()).spawn().unwrap();
    // Kept open while the desk runs: a closed pipe would stop it.
    let mut out = std::io::BufReader::new(desk.stdout.take().unwrap()).lines();
    let address = out.by_ref().map_while(Result::ok).find_map(|l| l.trim().strip_prefix("http://").map(str::to_string));
    let address = format!("http://{}", address.expect("the desk printed no address"));
    let origin = address.split("/?").next().unwrap().to_string();
    let entered = common::client().get(&address).send().unwrap();
    assert_eq!(entered.status().as_u16(), 303);
    let cookie = entered.headers()["set-cookie"].to_str().unwrap().split(';').next().unwrap().to_string();
    let list = common::client().get(format!("{origin}/")).header("cookie", &cookie).send().unwrap();
    assert!(list.text().unwrap().contains(&case[..8]), "the desk lists the case");
    assert_eq!(common::client().get(format!("{origin}/")).send().unwrap().status().as_u16(), 403);
    let _ = desk.kill();
    let _ = desk.wait();
}
