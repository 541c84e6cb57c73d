//! `peluit desk` as a program: it refuses to listen beyond loopback, and
//! Ctrl-C stops it cleanly.
#![allow(clippy::unwrap_used)]

mod common;

use std::io::BufRead;
use std::process::{Command, Stdio};

use common::{bin, Env};

#[test]
fn an_address_beyond_loopback_is_refused_before_anything_starts() {
    let env = Env::new();
    let keys = env.identity.parent().unwrap().to_str().unwrap().to_string();
    for addr in ["0.0.0.0:0", "192.168.1.10:8090", "[::]:0"] {
        let cases = env.path("cases");
        let o = env.run(&["desk", "--cases", cases.to_str().unwrap(), "--key", &keys, "--listen", addr]);
        let err = String::from_utf8_lossy(&o.stderr);
        assert!(!o.status.success() && err.contains("loopback only"), "{addr}: {err}");
        assert!(!String::from_utf8_lossy(&o.stdout).contains("http://"), "{addr}: an address was printed");
        assert!(!cases.exists(), "{addr}: the cases folder was made");
    }
}

#[test]
fn ctrl_c_stops_the_desk_cleanly() {
    let env = Env::new();
    let keys = env.identity.parent().unwrap();
    let mut desk = Command::new(bin())
        .args(["desk", "--cases", env.path("cases").to_str().unwrap(), "--key", keys.to_str().unwrap()])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut out = std::io::BufReader::new(desk.stdout.take().unwrap()).lines();
    let address = out.by_ref().map_while(Result::ok).find_map(|l| l.trim().strip_prefix("http://").map(str::to_string));
    let address = address.expect("no address printed");
    assert!(address.starts_with("127.0.0.1:") && address.contains("/?t="), "{address}");
    let token = address.split("?t=").nth(1).unwrap();
    assert_eq!(token.len(), 32, "128 bits in hex");
    let _ = Command::new("kill").args(["-INT", &desk.id().to_string()]).status();
    let status = desk.wait().unwrap();
    assert!(status.success(), "{status:?}");
    let rest: Vec<String> = out.map_while(Result::ok).collect();
    assert!(rest.iter().any(|l| l.contains("Desk stopped")), "{rest:?}");
}
