//! Test harness: runs the real `peluit` binary on an ephemeral port with a
//! temporary data folder, and captures everything it prints.
#![allow(dead_code, clippy::unwrap_used)]

pub mod team;

use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

/// The binary under test.
pub fn bin() -> &'static str {
    env!("CARGO_BIN_EXE_peluit")
}

/// Folders of one test: keys, data, an investigator identity.
pub struct Env {
    /// Keeps the temporary folder alive.
    pub root: tempfile::TempDir,
    /// The server's keys folder.
    pub keys: PathBuf,
    /// The server's data folder.
    pub data: PathBuf,
    /// The investigator's identity file.
    pub identity: PathBuf,
}

impl Env {
    /// Keys made with `peluit keygen`.
    pub fn new() -> Env {
        let root = tempfile::tempdir().unwrap();
        let keys = root.path().join("keys");
        fs::create_dir_all(&keys).unwrap();
        let inv = root.path().join("investigator");
        let out = Command::new(bin()).args(["keygen", "--out"]).arg(&inv).output().unwrap();
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        let stdout = String::from_utf8(out.stdout).unwrap();
        let recipient = stdout.lines().find(|l| l.starts_with("age1")).unwrap();
        fs::write(keys.join("recipients.txt"), format!("# test\n{recipient}\n")).unwrap();
        Env { data: root.path().join("data"), keys, identity: inv.join("identity.txt"), root }
    }

    /// Keys made with the reference `age-keygen` (Debian package `age`).
    pub fn with_age_keygen() -> Env {
        let root = tempfile::tempdir().unwrap();
        let keys = root.path().join("keys");
        fs::create_dir_all(&keys).unwrap();
        let identity = root.path().join("age-identity.txt");
        let st = Command::new("age-keygen").arg("-o").arg(&identity).stderr(Stdio::null()).status();
        assert!(st.map(|s| s.success()).unwrap_or(false), "age-keygen (Debian package age) is needed");
        let public = Command::new("age-keygen").arg("-y").arg(&identity).output().unwrap();
        fs::write(keys.join("recipients.txt"), &public.stdout).unwrap();
        Env { data: root.path().join("data"), keys, identity, root }
    }

    /// A path inside the temporary folder.
    pub fn path(&self, name: &str) -> PathBuf {
        self.root.path().join(name)
    }

    /// Exports the (stopped) server's data into `bundle`, signed with the
    /// server key in `keys/`.
    pub fn export(&self, bundle: &Path) -> Output {
        let (keys, data) = (self.keys.to_str().unwrap(), self.data.to_str().unwrap());
        self.run(&["export", "--keys", keys, "--data", data, "--out", bundle.to_str().unwrap()])
    }

    /// Exports the (stopped) server's data and decrypts the bundle with
    /// `identity` into a new folder named `name`; returns that folder.
    pub fn export_and_decrypt(&self, identity: &Path, name: &str) -> PathBuf {
        let bundle = self.path(&format!("{name}.tar"));
        let out = self.export(&bundle);
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        let mode = std::os::unix::fs::PermissionsExt::mode(&fs::metadata(&bundle).unwrap().permissions());
        assert_eq!(mode & 0o777, 0o600, "a bundle is readable by its owner only");
        let cases = self.path(name);
        let out = decrypt(&bundle, identity, &cases);
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        cases
    }

    /// Runs a peluit subcommand to completion from the test's folder, where
    /// `keys/` is, as an operator runs them from /etc/peluit (so `export`
    /// finds the server key by its default `--keys keys`).
    pub fn run(&self, args: &[&str]) -> std::process::Output {
        Command::new(bin()).args(args).current_dir(self.root.path()).output().unwrap()
    }
}

/// Runs `peluit decrypt BUNDLE --identity IDENTITY --out OUT` to completion.
pub fn decrypt(bundle: &Path, identity: &Path, out: &Path) -> std::process::Output {
    let args =
        ["decrypt", bundle.to_str().unwrap(), "--identity", identity.to_str().unwrap(), "--out", out.to_str().unwrap()];
    Command::new(bin()).args(args).output().unwrap()
}

/// A running server.
pub struct Server {
    /// The child process.
    child: Child,
    /// `http://127.0.0.1:PORT`.
    pub base: String,
    /// Where its stdout and stderr go.
    pub log: PathBuf,
}

impl Server {
    /// Starts the server on `env` with extra flags, and waits until it listens.
    pub fn start(env: &Env, extra: &[&str]) -> Server {
        Self::start_with(env, extra, &[])
    }

    /// The same, with extra environment variables.
    pub fn start_with(env: &Env, extra: &[&str], vars: &[(&str, &Path)]) -> Server {
        let (data, keys) = (env.data.to_str().unwrap(), env.keys.to_str().unwrap());
        let mut args = vec!["serve", "--listen", "127.0.0.1:0", "--data", data, "--keys", keys];
        args.extend(extra);
        Self::spawn(&args, env.root.path(), vars)
    }

    /// Runs `peluit ARGS` (a `serve` listening on a TCP port), its output in
    /// a new log file in `log_dir`, and waits until it listens.
    // The child is reaped by `Drop for Server` on every path; the lint cannot
    // see through the struct.
    #[allow(clippy::zombie_processes)]
    pub fn spawn(args: &[&str], log_dir: &Path, vars: &[(&str, &Path)]) -> Server {
        let n = fs::read_dir(log_dir).map(|d| d.count()).unwrap_or(0);
        let log = log_dir.join(format!("server-{n}.log"));
        let out = fs::File::create(&log).unwrap();
        let mut cmd = Command::new(bin());
        cmd.args(args).env("RUST_LOG", "debug").stdout(out.try_clone().unwrap()).stderr(out);
        for (k, v) in vars {
            cmd.env(k, v);
        }
        let child = cmd.spawn().unwrap();
        let start = Instant::now();
        loop {
            let text = fs::read_to_string(&log).unwrap_or_default();
            if let Some(rest) = text.split("listening on http://").nth(1) {
                let addr = rest.split_whitespace().next().unwrap().to_string();
                return Server { child, base: format!("http://{addr}"), log };
            }
            assert!(start.elapsed() < Duration::from_secs(20), "server did not start: {text}");
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// A URL on this server.
    pub fn url(&self, path: &str) -> String {
        format!("{}{}", self.base, path)
    }

    /// The server's process id.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// The server's peak resident memory so far, in KiB (VmHWM).
    pub fn peak_rss_kib(&self) -> u64 {
        let status = fs::read_to_string(format!("/proc/{}/status", self.child.id())).unwrap();
        let line = status.lines().find(|l| l.starts_with("VmHWM:")).unwrap();
        line.split_whitespace().nth(1).unwrap().parse().unwrap()
    }

    /// The address without scheme.
    pub fn addr(&self) -> String {
        self.base.trim_start_matches("http://").to_string()
    }

    /// Stops the server with SIGTERM and waits for it.
    pub fn stop(mut self) -> String {
        let _ = Command::new("kill").arg("-TERM").arg(self.child.id().to_string()).status();
        let _ = self.child.wait();
        fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// The exit status if the server ends by itself within `limit`.
    pub fn exit_within(&mut self, limit: Duration) -> Option<std::process::ExitStatus> {
        let start = Instant::now();
        while start.elapsed() < limit {
            if let Ok(Some(status)) = self.child.try_wait() {
                return Some(status);
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        None
    }

    /// Everything the server printed so far.
    pub fn output(&self) -> String {
        fs::read_to_string(&self.log).unwrap_or_default()
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// An HTTP client that follows no redirects and keeps no cookies.
pub fn client() -> reqwest::blocking::Client {
    reqwest::blocking::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .timeout(Duration::from_secs(60))
        .build()
        .unwrap()
}

/// The receipt code shown on a receipt page.
pub fn receipt_from_html(html: &str) -> String {
    let start = html.find("id=\"receipt\">").expect("no receipt on the page") + "id=\"receipt\">".len();
    let end = html[start..].find('<').unwrap() + start;
    html[start..end].to_string()
}

/// Asks the status API; returns (HTTP status, JSON).
pub fn api_status(s: &Server, receipt: &str) -> (u16, serde_json::Value) {
    let r = client().post(s.url("/api/v1/status")).json(&serde_json::json!({ "receipt": receipt })).send().unwrap();
    let code = r.status().as_u16();
    (code, r.json().unwrap())
}

/// Every file under `dir`, recursively.
pub fn files_under(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in fs::read_dir(&d).into_iter().flatten().flatten() {
            let p = e.path();
            if p.is_dir() {
                stack.push(p);
            } else {
                out.push(p);
            }
        }
    }
    out
}

/// True when `needle` occurs in any file under `dir`.
pub fn found_under(dir: &Path, needle: &[u8]) -> Option<PathBuf> {
    files_under(dir)
        .into_iter()
        .find(|p| fs::read(p).map(|b| b.windows(needle.len()).any(|w| w == needle)).unwrap_or(false))
}

/// Runs peluit with `stdin` piped in.
pub fn run_with_stdin(args: &[&str], stdin: &str) -> std::process::Output {
    feed(Command::new(bin()).args(args), stdin)
}

/// Runs `cmd` to completion with `stdin` piped in and its output captured.
pub fn feed(cmd: &mut Command, stdin: &str) -> std::process::Output {
    use std::io::Write;
    let mut c = cmd.stdin(Stdio::piped()).stdout(Stdio::piped()).stderr(Stdio::piped()).spawn().unwrap();
    c.stdin.take().unwrap().write_all(stdin.as_bytes()).unwrap();
    c.wait_with_output().unwrap()
}

/// Asserts that a command succeeded; returns its standard output.
pub fn ok(o: &std::process::Output) -> String {
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    String::from_utf8_lossy(&o.stdout).into_owned()
}

/// A tar of (path, bytes) entries, as export writes them.
pub fn tar<P: AsRef<Path>>(entries: &[(P, Vec<u8>)]) -> Vec<u8> {
    let mut b = tar::Builder::new(Vec::new());
    append_all(&mut b, entries);
    b.into_inner().unwrap()
}

/// Appends `entries` as plain 0600 files.
fn append_all<'a, W: std::io::Write, P: AsRef<Path> + 'a>(
    b: &mut tar::Builder<W>,
    entries: impl IntoIterator<Item = &'a (P, Vec<u8>)>,
) {
    for (path, data) in entries {
        let mut h = tar::Header::new_ustar();
        h.set_size(data.len() as u64);
        h.set_mode(0o600);
        b.append_data(&mut h, path, data.as_slice()).unwrap();
    }
}

/// A tar of `entries` signed as a server signs a bundle, with one key per
/// test process (a cases folder pins the first key it sees).
pub fn signed_tar<P: AsRef<Path>>(entries: &[(P, Vec<u8>)]) -> Vec<u8> {
    static KEY: std::sync::OnceLock<peluit::crypto::ed25519::SecretKey> = std::sync::OnceLock::new();
    signed_tar_by(entries, KEY.get_or_init(|| peluit::crypto::ed25519::SecretKey::generate("test server").unwrap().0))
}

/// A tar of `entries` (any signature entry among them left out) signed
/// with `key`, as a server holding that key would sign it.
pub fn signed_tar_by<P: AsRef<Path>>(entries: &[(P, Vec<u8>)], key: &peluit::crypto::ed25519::SecretKey) -> Vec<u8> {
    let mut b = tar::Builder::new(peluit::crypto::bundle_sig::Hashing::new(Vec::new()));
    append_all(&mut b, entries.iter().filter(|(p, _)| p.as_ref() != Path::new(peluit::export::SIGNATURE_PATH)));
    peluit::export::append_signature(&mut b, key).unwrap();
    b.into_inner().unwrap().into_inner()
}

/// The entries of a bundle: path and bytes, in order.
pub fn untar(bundle: &Path) -> Vec<(String, Vec<u8>)> {
    untar_bytes(&fs::read(bundle).unwrap())
}

/// The entries of a tar in memory: path and bytes, in order.
pub fn untar_bytes(bytes: &[u8]) -> Vec<(String, Vec<u8>)> {
    use std::io::Read;
    let mut a = tar::Archive::new(bytes);
    let mut out = Vec::new();
    for e in a.entries().unwrap() {
        let mut e = e.unwrap();
        let path = e.path().unwrap().to_string_lossy().into_owned();
        let mut data = Vec::new();
        e.read_to_end(&mut data).unwrap();
        out.push((path, data));
    }
    out
}
