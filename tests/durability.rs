//! Durability against the real binary: a receipt that was shown survives a
//! SIGKILL at any moment and decrypts afterwards, and a full disk answers 503
//! without a receipt, keeps lookups working, and takes tips again once space
//! is back (after a restart: see `a_freed_disk_takes_tips_again_without_restart`).
//!
//! The crash test runs a few rounds in `cargo test`; `PELUIT_LONG_CRASH=1`
//! runs at least 50 (`PELUIT_CRASH_ROUNDS=N` sets the count, and
//! `PELUIT_CRASH_SEED=N` replays the kill timings of an earlier run).
#![allow(clippy::unwrap_used)]

mod common;

use std::collections::HashMap;
use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use common::{Env, Server};
use reqwest::blocking::multipart::{Form, Part};

/// SplitMix64: small, seedable, good enough for timings and sizes.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    /// Uniform in `lo..hi`.
    fn range(&mut self, lo: u64, hi: u64) -> u64 {
        lo + self.next() % (hi - lo).max(1)
    }
}

/// A client with a short timeout: a hung server must fail the test, not stall it.
fn http() -> reqwest::blocking::Client {
    reqwest::blocking::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .timeout(Duration::from_secs(20))
        .build()
        .unwrap()
}

/// The bytes of the attachment that carries `marker`: its length and content
/// follow from the marker, so the decrypted file can be checked exactly.
fn attachment(marker: &str, max: u64) -> Vec<u8> {
    let seed = marker.bytes().fold(0xcbf2_9ce4_8422_2325u64, |h, b| (h ^ u64::from(b)).wrapping_mul(0x100_0000_01b3));
    let mut rng = Rng(seed);
    let len = rng.range(1, max) as usize;
    let mut out = Vec::with_capacity(len + 8);
    while out.len() < len {
        out.extend_from_slice(&rng.next().to_le_bytes());
    }
    out.truncate(len);
    out
}

/// What one acknowledged submission was.
#[derive(Clone)]
struct Acked {
    /// The receipt code from the 201 answer.
    receipt: String,
    /// The unique text in its `what` field.
    marker: String,
    /// Largest attachment size used, if it carried a file.
    file_max: Option<u64>,
}

/// Submits one tip; `Ok(Some(receipt))` only for a 201 with a receipt.
/// `Err` is an answer that no healthy server should give.
fn submit(
    c: &reqwest::blocking::Client,
    base: &str,
    marker: &str,
    file_max: Option<u64>,
) -> Result<Option<String>, String> {
    let url = format!("{base}/api/v1/reports");
    let sent = match file_max {
        None => c.post(&url).json(&serde_json::json!({ "what": marker, "text": "crash test" })).send(),
        Some(max) => {
            let part = Part::bytes(attachment(marker, max)).file_name(format!("{marker}.bin"));
            let form = Form::new().text("what", marker.to_string()).part("file", part);
            c.post(&url).multipart(form).send()
        }
    };
    // A transport error is the kill cutting the connection: not acknowledged.
    let Ok(r) = sent else { return Ok(None) };
    let code = r.status().as_u16();
    let Ok(v) = r.json::<serde_json::Value>() else {
        return Ok(None);
    };
    match (code, v["receipt"].as_str()) {
        (201, Some(receipt)) => Ok(Some(receipt.to_string())),
        _ => Err(format!("unexpected answer {code}: {v}")),
    }
}

/// The status a receipt resolves to, or what went wrong.
fn status_of(c: &reqwest::blocking::Client, s: &Server, receipt: &str) -> String {
    match c.post(s.url("/api/v1/status")).json(&serde_json::json!({ "receipt": receipt })).send() {
        Ok(r) => {
            let code = r.status().as_u16();
            let v: serde_json::Value = r.json().unwrap_or_default();
            match (code, v["status"].as_str()) {
                (200, Some(st)) => st.to_string(),
                _ => format!("HTTP {code} {v}"),
            }
        }
        Err(e) => format!("transport error {e}"),
    }
}

/// Checks receipts from a few threads; returns the ones that do not resolve
/// to `received`, with what they gave instead.
fn unresolved(s: &Server, acked: &[Acked]) -> Vec<String> {
    let bad = Mutex::new(Vec::new());
    std::thread::scope(|scope| {
        for part in acked.chunks(acked.len().div_ceil(4).max(1)) {
            let bad = &bad;
            scope.spawn(move || {
                let c = http();
                for a in part {
                    let st = status_of(&c, s, &a.receipt);
                    if st != "received" {
                        bad.lock().unwrap().push(format!("{}: {st}", a.marker));
                    }
                }
            });
        }
    });
    bad.into_inner().unwrap()
}

/// Runs concurrent submitters against `s` for `run_for`, then kills the server
/// with SIGKILL while they are still sending. Returns what was acknowledged.
fn round(s: Server, round: usize, run_for: Duration) -> Vec<Acked> {
    const JSON_CLIENTS: usize = 8;
    const FILE_CLIENTS: usize = 4;
    let stop = Arc::new(AtomicBool::new(false));
    let acked = Arc::new(Mutex::new(Vec::new()));
    let wrong = Arc::new(Mutex::new(Vec::new()));
    let mut threads = Vec::new();
    for t in 0..JSON_CLIENTS + FILE_CLIENTS {
        let (stop, acked, wrong, base) = (stop.clone(), acked.clone(), wrong.clone(), s.base.clone());
        threads.push(std::thread::spawn(move || {
            let c = http();
            let started = Instant::now();
            let mut i = 0u64;
            // Bounded in count and time, whatever the server does.
            while !stop.load(Ordering::Relaxed) && i < 100_000 && started.elapsed() < Duration::from_secs(120) {
                let marker = format!("crash-r{round}-t{t}-n{i}");
                // The file clients alternate small and up to 1.5 MB files, so a
                // kill often lands while chunks are being written.
                let file_max = (t >= JSON_CLIENTS).then_some(if i.is_multiple_of(2) { 20_000 } else { 1_500_000 });
                match submit(&c, &base, &marker, file_max) {
                    Ok(Some(receipt)) => acked.lock().unwrap().push(Acked { receipt, marker, file_max }),
                    Ok(None) => {
                        if stop.load(Ordering::Relaxed) {
                            break;
                        }
                    }
                    Err(e) => wrong.lock().unwrap().push(e),
                }
                i += 1;
            }
        }));
    }
    std::thread::sleep(run_for);
    // Dropping the server sends SIGKILL (std's Child::kill) and reaps it:
    // no shutdown handler runs, in-flight requests are cut mid-way.
    drop(s);
    stop.store(true, Ordering::Relaxed);
    for t in threads {
        t.join().unwrap();
    }
    let wrong = wrong.lock().unwrap();
    assert!(wrong.is_empty(), "round {round}: the server gave wrong answers: {wrong:?}");
    let acked = acked.lock().unwrap();
    acked.clone()
}

/// Every case folder's tips: `what` marker → the submission folder.
fn decrypted_tips(cases: &Path) -> HashMap<String, PathBuf> {
    let mut out = HashMap::new();
    // The top level also holds deployment.json and last-run.json.
    for case in fs::read_dir(cases).unwrap().flatten().filter(|e| e.path().is_dir()) {
        for sub in fs::read_dir(case.path()).unwrap().flatten() {
            let p = sub.path();
            if !p.is_dir() {
                continue;
            }
            let name = p.file_name().unwrap().to_string_lossy().to_string();
            assert!(!name.ends_with(".partial"), "half-written folder {}", p.display());
            let m: serde_json::Value = serde_json::from_slice(&fs::read(p.join("report.json")).unwrap()).unwrap();
            let what = m["fields"]["what"].as_str().unwrap_or_default().to_string();
            out.insert(what, p);
        }
    }
    out
}

#[test]
fn acknowledged_tips_survive_sigkill_and_decrypt() {
    let long = std::env::var_os("PELUIT_LONG_CRASH").is_some();
    let rounds: usize =
        std::env::var("PELUIT_CRASH_ROUNDS").ok().and_then(|v| v.parse().ok()).unwrap_or(if long { 60 } else { 5 });
    let seed: u64 = std::env::var("PELUIT_CRASH_SEED").ok().and_then(|v| v.parse().ok()).unwrap_or_else(|| {
        std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_nanos() as u64).unwrap_or(1)
    });
    // Shown with the failure message, to replay the same kill timings.
    eprintln!("crash test: {rounds} rounds, PELUIT_CRASH_SEED={seed}");
    let mut rng = Rng(seed);
    let env = Env::new();
    let started = Instant::now();
    let mut all: Vec<Acked> = Vec::new();
    let mut s = Server::start(&env, &[]);
    for r in 0..rounds {
        // Mostly mid-load, sometimes right after start. The short run keeps
        // rounds brief: decrypting and deleting the case folders is its cost.
        let longest = if long { 900 } else { 300 };
        let ms = if rng.range(0, 5) == 0 { rng.range(0, 60) } else { rng.range(100, longest) };
        let acked = round(s, r, Duration::from_millis(ms));
        s = Server::start(&env, &[]);
        let bad = unresolved(&s, &acked);
        assert!(
            bad.is_empty(),
            "seed {seed}, round {r}: {} of {} acknowledged receipts lost after SIGKILL: {:?}\n{}",
            bad.len(),
            acked.len(),
            &bad[..bad.len().min(5)],
            s.output()
        );
        all.extend(acked);
    }
    // The last restart must still know every receipt of every round.
    let bad = unresolved(&s, &all);
    assert!(bad.is_empty(), "seed {seed}: lost at the end: {:?}", &bad[..bad.len().min(5)]);
    let with_files = all.iter().filter(|a| a.file_max.is_some()).count();
    assert!(
        all.len() >= rounds && with_files > 0,
        "seed {seed}: too little was acknowledged to test anything ({} tips, {with_files} with files)",
        all.len()
    );
    s.stop();

    // Offline: export everything and decrypt the whole bundle.
    let bundle = env.path("crash.tar");
    let cases = env.path("cases");
    let out = env.run(&["export", "--data", env.data.to_str().unwrap(), "--out", bundle.to_str().unwrap()]);
    assert!(out.status.success(), "export: {}", String::from_utf8_lossy(&out.stderr));
    let out = Command::new(common::bin())
        .arg("decrypt")
        .arg(&bundle)
        .arg("--identity")
        .arg(&env.identity)
        .arg("--out")
        .arg(&cases)
        .output()
        .unwrap();
    assert!(out.status.success(), "decrypt: {}", String::from_utf8_lossy(&out.stderr));
    let tips = decrypted_tips(&cases);
    for a in &all {
        let dir = tips
            .get(&a.marker)
            .unwrap_or_else(|| panic!("seed {seed}: {} was acknowledged but is not in the bundle", a.marker));
        if let Some(max) = a.file_max {
            let file = dir.join("files").join(format!("{}.bin", a.marker));
            let got = fs::read(&file).unwrap_or_else(|e| panic!("{}: {e}", file.display()));
            assert!(got == attachment(&a.marker, max), "{}: attachment differs", a.marker);
        }
    }
    eprintln!(
        "crash test: {rounds} SIGKILLs, {} acknowledged tips ({with_files} with files) all resolved and decrypted; {} case folders; {:.1} s",
        all.len(),
        tips.len(),
        started.elapsed().as_secs_f64()
    );
}

/// A tmpfs mounted for the life of the value; unmounted on drop, panics included.
struct Tmpfs {
    /// The mount point.
    dir: PathBuf,
}

impl Tmpfs {
    /// Mounts a tmpfs of `size` (e.g. "16m") at `dir`. Needs root.
    fn mount(dir: &Path, size: &str) -> Result<Tmpfs, String> {
        fs::create_dir_all(dir).map_err(|e| e.to_string())?;
        let out = Command::new("mount")
            .args(["-t", "tmpfs", "-o", &format!("size={size},mode=0700"), "tmpfs"])
            .arg(dir)
            .output()
            .map_err(|e| format!("cannot run mount: {e}"))?;
        if !out.status.success() {
            return Err(String::from_utf8_lossy(&out.stderr).trim().to_string());
        }
        Ok(Tmpfs { dir: dir.to_path_buf() })
    }
}

impl Drop for Tmpfs {
    fn drop(&mut self) {
        let ok = Command::new("umount").arg(&self.dir).status().map(|s| s.success()).unwrap_or(false);
        if !ok {
            // Still busy (a child not yet reaped): detach it instead.
            let _ = Command::new("umount").arg("-l").arg(&self.dir).status();
        }
    }
}

/// Fills the file system holding `path` until a write fails with ENOSPC.
fn fill(path: &Path) -> u64 {
    let mut f = fs::File::create(path).unwrap();
    let mut written = 0u64;
    for block in [1usize << 20, 4096, 512] {
        let buf = vec![0xa5u8; block];
        // 64 MiB at most: the tmpfs is far smaller, so this always ends on ENOSPC.
        while written < 64 << 20 {
            match f.write_all(&buf).and_then(|()| f.sync_all()) {
                Ok(()) => written += block as u64,
                Err(e) => {
                    assert_eq!(e.raw_os_error(), Some(28), "expected ENOSPC, got {e}");
                    break;
                }
            }
        }
    }
    written
}

/// A server whose data folder sits on a full 16 MiB tmpfs, after a tip was
/// refused with 503.
struct FullDisk {
    /// The running server (declared first: it stops before the unmount).
    server: Server,
    /// The filler file that took the last free byte.
    filler: PathBuf,
    /// A receipt acknowledged before the disk filled.
    before: String,
    /// Receipts acknowledged while sled still had room in pages it held
    /// (only possible with the reserve turned off).
    acked_while_full: Vec<String>,
    /// Unmounts last.
    _disk: Tmpfs,
}

/// Mounts the tmpfs, starts the server on it with `--keep-free-mib keep_mib`,
/// fills the disk and checks that a tip is refused with 503 `unavailable` and
/// no receipt, and that lookups keep working.
fn full_disk(env: &mut Env, keep_mib: &str) -> FullDisk {
    let mnt = env.path("small-disk");
    let disk = Tmpfs::mount(&mnt, "16m").unwrap_or_else(|e| {
        panic!(
            "the disk-full test mounts a 16 MiB tmpfs and needs root (or CAP_SYS_ADMIN); \
             `mount -t tmpfs` failed: {e}"
        )
    });
    env.data = disk.dir.join("data");
    let s = Server::start(env, &["--keep-free-mib", keep_mib]);
    let c = http();
    let before = submit(&c, &s.base, "before-full", None).unwrap().expect("a tip before the disk fills");

    let filler = disk.dir.join("filler");
    let filled = fill(&filler);
    assert!(filled > 0, "nothing could be written before the disk was full");

    let mut acked_while_full = Vec::new();
    let mut refusal = None;
    for i in 0..40 {
        let marker = format!("while-full-{i}");
        let r = c
            .post(s.url("/api/v1/reports"))
            .multipart(
                Form::new()
                    .text("what", marker.clone())
                    .part("file", Part::bytes(attachment(&marker, 200_000)).file_name("f.bin")),
            )
            .send();
        let r = r.unwrap_or_else(|e| panic!("the server stopped answering on a full disk: {e}\n{}", s.output()));
        let code = r.status().as_u16();
        let v: serde_json::Value = r.json().unwrap_or_default();
        match code {
            201 => acked_while_full.push(v["receipt"].as_str().unwrap().to_string()),
            503 => {
                refusal = Some(v);
                break;
            }
            other => panic!("unexpected {other} on a full disk: {v}\n{}", s.output()),
        }
    }
    let refusal = refusal.unwrap_or_else(|| panic!("no 503 after 40 tips on a full disk\n{}", s.output()));
    assert_eq!(refusal["error"], "unavailable", "{refusal}");
    assert!(refusal.get("receipt").is_none(), "a refused tip must carry no receipt: {refusal}");
    // A plain JSON tip is refused the same way while the disk stays full.
    let r = c.post(s.url("/api/v1/reports")).json(&serde_json::json!({ "what": "still full" })).send().unwrap();
    let code = r.status().as_u16();
    let v: serde_json::Value = r.json().unwrap_or_default();
    assert_eq!((code, v["error"].as_str()), (503, Some("unavailable")), "{v}");
    assert!(v.get("receipt").is_none(), "{v}");

    // Lookups keep working on a full disk.
    assert_eq!(status_of(&c, &s, &before), "received", "{}", s.output());
    for r in &acked_while_full {
        assert_eq!(status_of(&c, &s, r), "received");
    }
    FullDisk { server: s, filler, before, acked_while_full, _disk: disk }
}

/// Submits until a tip is accepted or `limit` passes.
fn submit_until_accepted(c: &reqwest::blocking::Client, s: &Server, limit: Duration) -> Option<String> {
    let deadline = Instant::now() + limit;
    while Instant::now() < deadline {
        if let Ok(Some(r)) = submit(c, &s.base, "after-full", None) {
            return Some(r);
        }
        std::thread::sleep(Duration::from_millis(200));
    }
    None
}

/// With the reserve (the default), sled never meets the full disk: tips are
/// refused while it is full and taken again as soon as space returns, with
/// no restart; nothing acknowledged is lost, also across a restart.
#[test]
fn a_full_disk_refuses_tips_keeps_lookups_and_recovers_when_space_returns() {
    let mut env = Env::new();
    let full = full_disk(&mut env, "2");
    assert!(full.acked_while_full.is_empty(), "no tip may be taken inside the reserve");
    // Two submissions were refused; the operator's log says so once a minute.
    let warnings = full.server.output().matches("disk is nearly full").count();
    assert_eq!(warnings, 1, "{}", full.server.output());
    let c = http();
    fs::remove_file(&full.filler).unwrap();
    let s = &full.server;
    let after = submit_until_accepted(&c, s, Duration::from_secs(5)).unwrap_or_else(|| {
        let log = s.output();
        let errors: Vec<&str> = log.lines().filter(|l| l.contains("ERROR") || l.contains("WARN")).take(4).collect();
        panic!("no tip was accepted within 5 s after the disk was freed:\n{}", errors.join("\n"))
    });
    assert_eq!(status_of(&c, s, &after), "received");
    assert_eq!(status_of(&c, s, &full.before), "received");
    let FullDisk { server, before, _disk, .. } = full;
    let log = server.stop();
    assert!(!log.contains("panicked") && !log.contains("ERROR"), "{log}");
    let s = Server::start(&env, &["--keep-free-mib", "2"]);
    for r in [&before, &after] {
        assert_eq!(status_of(&c, &s, r), "received", "{}", s.output());
    }
    let check = env.run(&["check", "--data", env.data.to_str().unwrap()]);
    assert!(!check.status.success(), "check must refuse while the server holds the data folder");
    drop(s);
    let check = env.run(&["check", "--data", env.data.to_str().unwrap()]);
    assert!(check.status.success(), "{}", String::from_utf8_lossy(&check.stderr));
    drop(_disk);
}

/// Without the reserve, sled meets ENOSPC itself and (in 0.34) keeps the
/// error for every later write. The server keeps answering lookups while the
/// disk is full, and once space returns it exits with status 75 so that the
/// service manager restarts it; after the restart every acknowledged tip is
/// there and tips are taken again.
#[test]
fn a_database_that_met_a_full_disk_exits_for_a_restart_once_space_returns() {
    let mut env = Env::new();
    let mut full = full_disk(&mut env, "0");
    let c = http();
    fs::remove_file(&full.filler).unwrap();
    let status = full.server.exit_within(Duration::from_secs(10));
    let log = full.server.output();
    assert_eq!(status.and_then(|s| s.code()), Some(75), "no exit for a restart after sled failed:\n{log}");
    assert!(log.contains("stopping for a restart"), "{log}");
    let s = Server::start(&env, &["--keep-free-mib", "0"]);
    let after = submit_until_accepted(&c, &s, Duration::from_secs(5))
        .unwrap_or_else(|| panic!("no tip accepted after the restart\n{}", s.output()));
    for r in full.acked_while_full.iter().chain([&full.before, &after]) {
        assert_eq!(status_of(&c, &s, r), "received", "{}", s.output());
    }
    drop(s);
    drop(full);
}
