//! The reporter's whole journey in a real browser: headless Chromium with
//! JavaScript disabled, driven by `tests/browser/journey.mjs` (playwright-core)
//! against the real server. Runs when `PELUIT_BROWSER_TESTS=1`, and then fails
//! on anything missing; without the variable it says it was skipped. It must
//! never pass silently without a browser.
#![allow(clippy::unwrap_used)]

mod common;

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::Command;

use common::{Env, Server};

/// Debian's chromium (`apt-get install -y chromium`).
const CHROMIUM: &str = "/usr/bin/chromium";

/// Every screenshot the journey takes, at each width.
const SHOTS: [&str; 10] = [
    "home",
    "submit",
    "submit-refused",
    "receipt",
    "status",
    "status-report",
    "status-followup",
    "about",
    "submit-en",
    "error",
];

/// The widths the journey runs at: a small phone and a desktop.
const WIDTHS: [u32; 2] = [360, 1280];

fn browser_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests").join("browser")
}

/// Stops with a clear message when something the test needs is missing.
fn require_tools() {
    let dir = browser_dir();
    assert!(Path::new(CHROMIUM).exists(), "{CHROMIUM} is missing: apt-get install -y chromium");
    let modules = dir.join("node_modules").join("playwright-core");
    assert!(modules.is_dir(), "{} is missing: cd tests/browser && npm ci", modules.display());
    let node = Command::new("node").arg("--version").output();
    assert!(node.is_ok_and(|o| o.status.success()), "node is missing: Node.js 20 or later is needed (playwright-core)");
}

#[test]
fn reporter_journey_in_chromium_without_javascript() {
    if std::env::var("PELUIT_BROWSER_TESTS").as_deref() != Ok("1") {
        // Straight to stderr: the test harness captures println!, and this
        // line must be seen.
        let _ = writeln!(
            std::io::stderr(),
            "browser test skipped: set PELUIT_BROWSER_TESTS=1 to run it \
             (needs Node.js 20+, apt-get install -y chromium, then cd tests/browser && npm ci)"
        );
        return;
    }
    require_tools();
    let env = Env::new();
    // Default limits: the screenshots show what a reporter sees. The journey
    // reads the file limit off the form and sends one file more.
    let server = Server::start(&env, &[]);
    let shots = std::env::var_os("PELUIT_SCREENSHOTS").map_or_else(|| env.path("screenshots"), PathBuf::from);
    let out = Command::new("node")
        .arg(browser_dir().join("journey.mjs"))
        .arg(&server.base)
        .arg(&shots)
        .current_dir(browser_dir())
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success() && stdout.contains("journey ok"), "journey failed:\n{stdout}\n{stderr}");
    for width in WIDTHS {
        for name in SHOTS {
            let png = std::fs::read(shots.join(format!("{name}-{width}.png"))).unwrap_or_default();
            assert!(png.starts_with(b"\x89PNG\r\n\x1a\n"), "no screenshot {name}-{width}.png");
        }
    }
    // The codes the browser read must appear in no log line.
    let log = server.stop();
    let codes: Vec<&str> = stdout.lines().filter_map(|l| l.strip_prefix("receipt ")).collect();
    assert_eq!(codes.len(), WIDTHS.len(), "{stdout}");
    for code in codes {
        assert!(!log.contains(code), "the server logged a receipt code");
    }
}
