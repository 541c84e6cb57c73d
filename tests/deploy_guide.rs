//! deploy/README.md, followed: its commands from "User and folders" to the
//! end-to-end test, in order, in a temporary folder standing in for `/`.
//! systemd and tor are stood in for: the server runs as a plain process with
//! the unit file's own `ExecStart` arguments, on 127.0.0.1 instead of the
//! socket. The test first checks that the guide still holds every command it
//! runs, in the same order, so the two cannot drift apart silently.
#![allow(clippy::unwrap_used)]

mod common;

use std::collections::HashMap;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use common::bin;

/// Which machine a command runs on.
#[derive(Clone, Copy)]
enum On {
    /// The investigators' offline machine (and, in 1.9, the networked one
    /// and the reporter's computer: one working folder stands in for all).
    Offline,
    /// The server, as root in `/root`.
    Server,
}

/// How the test carries out a line of the guide.
#[derive(Clone, Copy)]
enum Do {
    /// Runs the line with `sh`, paths moved into the temporary root.
    Sh,
    /// `systemctl start` or `restart`: (re)starts the server from the unit file.
    Service,
    /// Reads the deployment id from the server's log, as `journalctl` would.
    Journal,
    /// Fills in the reporter's template, as the guide says to.
    FillTemplate,
}

/// The guide's commands that the test runs, in the guide's order.
const STEPS: &[(On, Do, &str)] = &[
    (On::Server, Do::Sh, "install -d -o root -g peluit -m 0750 /etc/peluit /etc/peluit/keys"),
    (On::Offline, Do::Sh, "mkdir server-keys"),
    (On::Offline, Do::Sh, "peluit keygen --out ani-keys --name ani --server-keys server-keys"),
    (On::Offline, Do::Sh, "peluit keygen --out budi-keys --name budi --server-keys server-keys"),
    (On::Server, Do::Sh, "install -o root -g peluit -m 0640 /root/server-keys/recipients.txt /root/server-keys/investigators.txt /etc/peluit/keys/"),
    (On::Server, Do::Sh, "cat /etc/peluit/keys/recipients.txt /etc/peluit/keys/investigators.txt"),
    (On::Server, Do::Sh, "peluit keys server-key --out /etc/peluit/server.key"),
    (On::Server, Do::Service, "systemctl enable --now peluit"),
    (On::Server, Do::Journal, "journalctl -u peluit -o cat | grep -m1 'deployment id'"),
    (On::Offline, Do::Sh, "peluit keys sign --recipients server-keys/recipients.txt --deployment DEPLOYMENT_ID --key ani-keys/signing.key --server-key SERVER_KEY --out server-keys/keyset.json"),
    (On::Server, Do::Sh, "install -o root -g peluit -m 0640 /root/server-keys/keyset.json /etc/peluit/keys/"),
    (On::Server, Do::Service, "systemctl restart peluit"),
    (On::Offline, Do::Sh, "peluit submit --print-template > tip.json"),
    (On::Offline, Do::FillTemplate, "\"what\": \"test tip\""),
    (On::Offline, Do::Sh, "peluit submit --server http://ADDRESS.onion --pin FINGERPRINT --proxy socks5h://127.0.0.1:9050 --template tip.json"),
    (On::Offline, Do::Sh, "peluit pull --server http://ADDRESS.onion --key ani-keys/transfer.key --proxy socks5h://127.0.0.1:9050 --out bundle-1.tar"),
    (On::Offline, Do::Sh, "peluit trust --cases cases --keyset server-keys/keyset.json --pin FINGERPRINT"),
    (On::Offline, Do::Sh, "peluit decrypt bundle-1.tar --identity ani-keys/identity.txt --out cases"),
    (On::Offline, Do::Sh, "peluit cases --dir cases"),
    (On::Offline, Do::Sh, "peluit case --cases cases --key ani-keys/signing.key status CASE_ID verifying"),
    (On::Offline, Do::Sh, "peluit push --server http://ADDRESS.onion --key ani-keys/transfer.key --proxy socks5h://127.0.0.1:9050 cases/actions.jsonl"),
    (On::Offline, Do::Sh, "peluit check --server http://ADDRESS.onion --pin FINGERPRINT --proxy socks5h://127.0.0.1:9050"),
];

/// The guide and the unit file.
fn read(path: &str) -> String {
    fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join(path)).unwrap()
}

#[test]
fn the_guide_holds_every_command_the_test_runs_in_order() {
    let guide = read("deploy/README.md");
    let mut from = 0;
    for (_, _, line) in STEPS {
        let found = guide[from..].find(line).unwrap_or_else(|| {
            panic!("deploy/README.md no longer has, after the previous step, the command:\n  {line}")
        });
        from += found + line.len();
    }
}

/// The temporary root and what the steps learn on the way.
struct Run {
    /// Stands in for `/`.
    root: tempfile::TempDir,
    /// DEPLOYMENT_ID, SERVER_KEY, FINGERPRINT, CASE_ID, the receipt: filled in as found.
    vars: HashMap<&'static str, String>,
    /// The running server.
    server: Option<common::Server>,
}

impl Run {
    /// A folder under the temporary root.
    fn dir(&self, on: On) -> PathBuf {
        let d = self.root.path().join(match on {
            On::Offline => "offline",
            On::Server => "root",
        });
        fs::create_dir_all(&d).unwrap();
        d
    }

    /// A guide line with the root's paths, the server's address, the values
    /// found so far, and without what needs root, systemd or tor.
    fn translate(&self, line: &str) -> String {
        let r = self.root.path().display().to_string();
        let mut out = line.replace(" -o root -g peluit", "").replace(" --proxy socks5h://127.0.0.1:9050", "");
        for dir in ["/etc/peluit", "/var/lib/peluit", "/root/"] {
            out = out.replace(&format!(" {dir}"), &format!(" {r}{dir}"));
        }
        if let Some(s) = &self.server {
            out = out.replace("http://ADDRESS.onion", &s.base);
        }
        for (name, value) in &self.vars {
            out = out.replace(name, value);
        }
        match out.strip_prefix("peluit ") {
            Some(rest) => format!("{} {rest}", bin()),
            None => out,
        }
    }

    /// Runs one step; returns what it printed.
    fn step(&mut self, on: On, what: Do, line: &str) -> String {
        match what {
            Do::Sh => {
                let cmd = self.translate(line);
                let mut child = Command::new("sh")
                    .args(["-c", &cmd])
                    .current_dir(self.dir(on))
                    .stdin(Stdio::piped())
                    .stdout(Stdio::piped())
                    .stderr(Stdio::piped())
                    .spawn()
                    .unwrap();
                // `check` asks for the receipt: typed, never an argument.
                let receipt = self.vars.get("RECEIPT").cloned().unwrap_or_default();
                std::io::Write::write_all(&mut child.stdin.take().unwrap(), format!("{receipt}\n").as_bytes()).unwrap();
                let o = child.wait_with_output().unwrap();
                let out = String::from_utf8_lossy(&o.stdout).into_owned();
                assert!(o.status.success(), "{line}\n  ran as: {cmd}\n{out}{}", String::from_utf8_lossy(&o.stderr));
                out
            }
            Do::Service => {
                let old = self.server.take().map(common::Server::stop).unwrap_or_default();
                assert!(!old.contains("ERROR"), "{old}");
                self.server = Some(self.start_from_unit());
                String::new()
            }
            Do::Journal => {
                let log = self.server.as_ref().unwrap().output();
                let line = log.lines().find(|l| l.contains("deployment id")).unwrap();
                line.split("deployment=\"").nth(1).unwrap().split('"').next().unwrap().to_string()
            }
            Do::FillTemplate => {
                let path = self.dir(on).join("tip.json");
                let filled = fs::read_to_string(&path).unwrap().replace("\"what\": \"\"", line);
                assert!(filled.contains(line), "the template has a \"what\" field");
                fs::write(path, filled).unwrap();
                String::new()
            }
        }
    }

    /// Starts `peluit serve` with the arguments of deploy/peluit.service's
    /// `ExecStart=`, its `${VAR}`s from the unit's `Environment=` lines.
    fn start_from_unit(&self) -> common::Server {
        let unit = read("deploy/peluit.service");
        let exec = unit.split("\nExecStart=").nth(1).unwrap();
        let mut args = String::new();
        for l in exec.lines() {
            args.push_str(l.trim_end_matches('\\'));
            args.push(' ');
            if !l.ends_with('\\') {
                break;
            }
        }
        let env: HashMap<String, String> = unit
            .lines()
            .filter_map(|l| l.strip_prefix("Environment=\"").or_else(|| l.strip_prefix("Environment=")))
            .filter_map(|l| l.trim_end_matches('"').split_once('='))
            .map(|(k, v)| (format!("${{{k}}}"), v.to_string()))
            // `LoadCredential=NAME:PATH` hands PATH to the service as `%d/NAME`
            // (systemd's credentials folder): here the file is read where it is.
            .chain(unit.lines().filter_map(|l| l.strip_prefix("LoadCredential=")).filter_map(|l| {
                let (name, path) = l.split_once(':')?;
                Some((format!("%d/{name}"), path.to_string()))
            }))
            .collect();
        let mut words: Vec<String> = Vec::new();
        let mut it = args.split_whitespace().skip(1);
        while let Some(w) = it.next() {
            if w == "--unix" {
                it.next();
                words.extend(["--listen".into(), "127.0.0.1:0".into()]);
                continue;
            }
            let mut w = w.to_string();
            for (k, v) in &env {
                w = w.replace(k, v);
            }
            assert!(
                !w.contains("${") && !w.contains("%d"),
                "deploy/peluit.service uses {w}: teach tests/deploy_guide.rs its value"
            );
            words.push(self.translate(&format!("x {w}")).trim_start_matches("x ").to_string());
        }
        let words: Vec<&str> = words.iter().map(String::as_str).collect();
        common::Server::spawn(&words, self.root.path(), &[])
    }
}

#[test]
fn following_the_guide_ends_with_a_tip_pulled_decrypted_and_answered() {
    let mut run = Run { root: tempfile::tempdir().unwrap(), vars: HashMap::new(), server: None };
    for &(on, what, line) in STEPS {
        // The offline machine's server-keys folder is carried to /root.
        if line.starts_with("install -o root -g peluit -m 0640 /root/server-keys/") {
            let from = run.dir(On::Offline).join("server-keys");
            let to = run.dir(On::Server).join("server-keys");
            fs::create_dir_all(&to).unwrap();
            for f in fs::read_dir(&from).unwrap().flatten() {
                fs::copy(f.path(), to.join(f.file_name())).unwrap();
            }
        }
        let out = run.step(on, what, line);
        // What a person reads off the screen and types into a later step.
        let found = match line {
            l if l.starts_with("journalctl") => Some(("DEPLOYMENT_ID", out.clone())),
            l if l.starts_with("peluit keys server-key") => {
                Some(("SERVER_KEY", out.lines().find(|l| l.starts_with("ed25519:")).unwrap().to_string()))
            }
            l if l.starts_with("peluit keys sign") => {
                Some(("FINGERPRINT", out.split("can check it: ").nth(1).unwrap().trim().to_string()))
            }
            l if l.starts_with("peluit submit --server") => {
                Some(("RECEIPT", out.lines().map(str::trim).find(|l| l.len() == 25).unwrap().to_string()))
            }
            l if l.starts_with("peluit cases") => {
                Some(("CASE_ID", out.lines().nth(1).unwrap().split(' ').next().unwrap().to_string()))
            }
            l if l.starts_with("cat ") => {
                assert!(!out.contains("SECRET") && out.contains("ed25519:") && out.contains("age1"), "{out}");
                None
            }
            l if l.starts_with("peluit check") => {
                assert!(
                    out.contains("Verifikasi [ditandatangani pemeriksa]"),
                    "the reporter sees the investigator's status, verified: {out}"
                );
                None
            }
            _ => None,
        };
        if let Some((k, v)) = found {
            run.vars.insert(k, v);
        }
    }
    // The restarted server found every key file it needs, and they match.
    let log = run.server.take().unwrap().stop();
    for warning in ["no keys/investigators.txt", "no keys/keyset.json", "does not match", "keyset.json expire"] {
        assert!(!log.contains(warning), "after the guide, no warning: {warning}\n{log}");
    }
    let keys = run.root.path().join("etc/peluit/keys");
    let mut names: Vec<String> =
        fs::read_dir(keys).unwrap().flatten().map(|e| e.file_name().to_string_lossy().into_owned()).collect();
    names.sort();
    assert_eq!(names, ["investigators.txt", "keyset.json", "recipients.txt"], "public files only on the server");
}
