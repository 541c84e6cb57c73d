//! `peluit demo`: throwaway keys, a signed key set and a server on a local
//! port, with the next steps printed. The port is checked before anything is
//! made, and the throwaway folder (it holds secret keys) is removed on every
//! way out: a normal stop, Ctrl-C, SIGTERM, an error or a panic.

use std::path::{Path, PathBuf};

use anyhow::{Context, Result};

use peluit::crypto::ed25519::SecretKey;
use peluit::keys;
use peluit::server::{Limits, Site};
use peluit::store::Store;

use super::serve::{start, DataFolder, Target};

/// The demo's folder, removed when dropped.
struct Throwaway(PathBuf);

impl Drop for Throwaway {
    fn drop(&mut self) {
        if std::fs::remove_dir_all(&self.0).is_ok() {
            eprintln!("peluit demo: removed {}", self.0.display());
        }
    }
}

/// Binds the demo's address, or says how to choose another.
fn bind(listen: &str) -> Result<std::net::TcpListener> {
    std::net::TcpListener::bind(listen).with_context(|| {
        format!(
            "cannot listen on {listen}; if another program uses that port, choose another one with \
             `peluit demo --listen 127.0.0.1:8081`"
        )
    })
}

/// `peluit demo`.
pub fn demo(listen: &str) -> Result<()> {
    // Before any key is made: a taken port leaves nothing behind.
    let listener = bind(listen)?;
    let addr = listener.local_addr()?;
    let base = Throwaway(
        std::env::temp_dir().join(format!("peluit-demo-{}", peluit::crypto::hex(&peluit::crypto::random_id()[..4]))),
    );
    let (steps, data, server_keys) = prepare(&base.0, &format!("http://{addr}"))?;
    println!("peluit demo: throwaway keys and data in {} (removed when the demo stops)", base.0.display());
    println!();
    print!("{steps}");
    println!();
    // The secret beside the keys, never in the data folder; file times are
    // reset every 10 seconds, as by default.
    let folder = DataFolder {
        data,
        secret: server_keys.join(keys::SECRET_FILE),
        server_key: server_keys.join(peluit::server_key::SERVER_KEY_FILE),
        blur: std::time::Duration::from_secs(10),
    };
    start(Target::Bound(listener), &folder, &server_keys, Limits::default(), Site::default())
}

/// Makes the keys, the server's keys folder and its signed key set in `base`;
/// returns the next steps to print, the data folder and the keys folder.
fn prepare(base: &Path, url: &str) -> Result<(String, PathBuf, PathBuf)> {
    let key_dir = base.join("investigator");
    let server_keys = base.join("keys");
    let data = base.join("data");
    let k = keys::keygen(&key_dir, &peluit::clock::today(), None)?;
    std::fs::create_dir_all(&server_keys)?;
    keys::add_to_server_keys(&server_keys, &k, "demo")?;
    // The key set names the deployment, which the database makes at its
    // first opening; it is closed again before the server opens it.
    let deployment = Store::open(&data)?.deployment_id().to_string();
    let signing = SecretKey::parse(&std::fs::read_to_string(key_dir.join(keys::SIGNING_FILE))?)?;
    // The server key is made here rather than at the server's start, so the
    // key set names it: the demo walks the offline pin with it.
    let (server, _) = peluit::server_key::load_or_create(&server_keys.join(peluit::server_key::SERVER_KEY_FILE))?;
    let server_text = server.public().to_text();
    let keyset = server_keys.join(keys::KEYSET_FILE);
    let req = keys::KeySetRequest {
        recipients: &server_keys.join(keys::RECIPIENTS_FILE),
        investigators: &server_keys.join(keys::INVESTIGATORS_FILE),
        deployment: &deployment,
        valid_days: peluit::published::DEFAULT_VALID_DAYS,
        version: None,
        server: Some(&server_text),
    };
    let signed = keys::sign_keyset(&req, &signing, super::now(), &keyset)?;
    let pin = peluit::published::Pin { fingerprint: signing.public().fingerprint(), min_version: signed.version };
    let pin = pin.to_text();

    let exe = std::env::current_exe().map(|p| p.display().to_string()).unwrap_or_else(|_| "peluit".into());
    let (bundle, exported, cases) = (base.join("bundle.tar"), base.join("bundle-export.tar"), base.join("cases"));
    let second = base.join("bundle-2.tar");
    let (b, b2, c, kd, id) =
        (bundle.display(), second.display(), cases.display(), key_dir.display(), k.identity.display());
    let lines = [
        format!("  1. Open {url}/ and send a tip (add a file or two)."),
        format!("     The receipt code is shown once; check it at {url}/status"),
        "     Or send one encrypted on this computer, as a reporter with a terminal would:".into(),
        format!("       {exe} submit --server {url} --pin {pin}"),
        "  2. In another terminal, fetch the ciphertext as an investigator would:".into(),
        format!("       {exe} pull --server {url} --key {kd}/transfer.key --out {b}"),
        format!(
            "     (or stop the server and run: {exe} export --data {} --keys {} --out {}, then use that file below)",
            data.display(),
            server_keys.display(),
            exported.display()
        ),
        "  3. On the investigators' offline machine, pin the cases folder to the key set signed there with the".into(),
        format!(
            "     server key the server prints at start (fingerprint {}): replies are sealed only to",
            server.public().fingerprint()
        ),
        "     its recipients, and a bundle signed by another key or naming other recipients is refused. Then decrypt:"
            .into(),
        format!("       {exe} trust --cases {c} --keyset {} --pin {pin}", keyset.display()),
        format!("       {exe} decrypt {b} --identity {id} --out {c}"),
        format!("       {exe} cases --dir {c}"),
        "     Or read and act in a page on this machine instead (import the bundle there, read, reply, set".into(),
        "     a status; it prints its address with a one-time token, and writes the same actions file):".into(),
        format!("       {exe} desk --cases {c} --key {kd}"),
        "  4. Answer the reporter and set a status, then send the signed actions:".into(),
        format!(
            "       echo 'Terima kasih, kami periksa.' | {exe} case --cases {c} --key {kd}/signing.key reply CASE_ID"
        ),
        format!("       {exe} case --cases {c} --key {kd}/signing.key status CASE_ID investigating"),
        format!("       {exe} push --server {url} --key {kd}/transfer.key {c}/actions.jsonl"),
        format!("     The reporter sees both at {url}/status with the receipt code; with a terminal, verified"),
        format!("     against the signing keys of the pinned key set: {exe} check --server {url} --pin {pin}"),
        format!("  5. Round two: add something as the reporter at {url}/status, then bring every change since the"),
        "     first pull (new follow-ups, and the status and reply above) with the cursor that pull printed:".into(),
        format!("       {exe} pull --server {url} --key {kd}/transfer.key --since CURSOR --out {b2}"),
        format!("       {exe} decrypt {b2} --identity {id} --out {c}"),
        format!("     {c}/CASE_ID/conversation.md now shows the whole exchange. Act again and push the same file:"),
        format!("       {exe} case --cases {c} --key {kd}/signing.key status CASE_ID closed"),
        format!("       {exe} push --server {url} --key {kd}/transfer.key {c}/actions.jsonl"),
        "     (each push moves the lines it carried to actions.applied.jsonl, so the file holds only what is new)"
            .into(),
        format!("  Any blob also opens with the reference tool: tar -xf the bundle, then age -d -i {id} blobs/ID.age"),
    ];
    Ok((lines.iter().map(|l| format!("{l}\n")).collect(), data, server_keys))
}
