//! `pull` and `push` through a SOCKS5 proxy with remote name resolution
//! (`socks5h://`), as they run over Tor. The proxy is a small one in the test
//! that counts the connections it relays and the host names it was asked for.
#![allow(clippy::unwrap_used)]

mod common;

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::{Arc, Mutex};
use std::thread;

use common::{client, Env, Server};

/// Starts a SOCKS5 proxy (no authentication, CONNECT only) on 127.0.0.1.
/// Returns its port and the list of targets it connected to.
fn socks5_proxy() -> (u16, Arc<Mutex<Vec<String>>>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let seen = Arc::new(Mutex::new(Vec::new()));
    let log = seen.clone();
    thread::spawn(move || {
        for conn in listener.incoming().take(20) {
            let Ok(c) = conn else { continue };
            let log = log.clone();
            thread::spawn(move || {
                let _ = relay(c, &log);
            });
        }
    });
    (port, seen)
}

/// One SOCKS5 session: greeting, CONNECT, then bytes both ways.
fn relay(mut c: TcpStream, log: &Mutex<Vec<String>>) -> std::io::Result<()> {
    let mut head = [0u8; 2];
    c.read_exact(&mut head)?;
    let mut methods = vec![0u8; usize::from(head[1])];
    c.read_exact(&mut methods)?;
    c.write_all(&[5, 0])?;
    let mut req = [0u8; 4];
    c.read_exact(&mut req)?;
    let host = match req[3] {
        1 => {
            let mut a = [0u8; 4];
            c.read_exact(&mut a)?;
            format!("{}.{}.{}.{}", a[0], a[1], a[2], a[3])
        }
        3 => {
            let mut n = [0u8; 1];
            c.read_exact(&mut n)?;
            let mut name = vec![0u8; usize::from(n[0])];
            c.read_exact(&mut name)?;
            String::from_utf8_lossy(&name).into_owned()
        }
        _ => return Ok(()),
    };
    let mut p = [0u8; 2];
    c.read_exact(&mut p)?;
    let port = u16::from_be_bytes(p);
    log.lock().unwrap().push(format!("{host}:{port}"));
    // The test's "onion" name resolves to the local server, as Tor would.
    let target = if host == "peluittest.onion" { "127.0.0.1".to_string() } else { host };
    let upstream = TcpStream::connect((target.as_str(), port))?;
    c.write_all(&[5, 0, 0, 1, 0, 0, 0, 0, 0, 0])?;
    let (mut a, mut b) = (c.try_clone()?, upstream.try_clone()?);
    let t = thread::spawn(move || std::io::copy(&mut a, &mut b).map(|_| ()));
    let mut up = upstream;
    let _ = std::io::copy(&mut up, &mut c);
    let _ = t.join();
    Ok(())
}

#[test]
fn pull_and_push_go_through_socks5_with_remote_resolution() {
    let env = Env::new();
    let inv = env.identity.parent().unwrap().to_path_buf();
    // Register the harness investigator's transfer key.
    let transfer =
        peluit::crypto::ed25519::SecretKey::parse(&std::fs::read_to_string(inv.join("transfer.key")).unwrap()).unwrap();
    std::fs::write(env.keys.join("investigators.txt"), format!("{} transfer t\n", transfer.public().to_text()))
        .unwrap();
    let s = Server::start(&env, &[]);
    let r = client().post(s.url("/api/v1/reports")).json(&serde_json::json!({"what": "via tor"})).send().unwrap();
    assert_eq!(r.status().as_u16(), 201);
    let (port, seen) = socks5_proxy();
    let server_port = s.addr().split(':').nth(1).unwrap().to_string();
    let onion = format!("http://peluittest.onion:{server_port}");
    let proxy = format!("socks5h://127.0.0.1:{port}");
    let bundle = env.path("b.tar");
    let key = inv.join("transfer.key");
    let o = env.run(&[
        "pull",
        "--server",
        &onion,
        "--key",
        key.to_str().unwrap(),
        "--proxy",
        &proxy,
        "--out",
        bundle.to_str().unwrap(),
    ]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    assert!(String::from_utf8_lossy(&o.stdout).contains("1 report(s)"));
    // An (empty-handed) push is refused by the server, proving it got there.
    std::fs::write(env.path("a.jsonl"), "not an action\n").unwrap();
    let o = env.run(&[
        "push",
        "--server",
        &onion,
        "--key",
        key.to_str().unwrap(),
        "--proxy",
        &proxy,
        env.path("a.jsonl").to_str().unwrap(),
    ]);
    assert!(
        String::from_utf8_lossy(&o.stderr).contains("not a peluit action"),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    let seen = seen.lock().unwrap().clone();
    assert_eq!(seen.len(), 2, "{seen:?}");
    assert!(seen.iter().all(|t| t.starts_with("peluittest.onion:")), "the name was resolved by the proxy: {seen:?}");
}
