//! `peluit desk`: starts the offline casework page on loopback and prints
//! its address (with the run's token) once.
//!
//! Never prints the token anywhere else, and never listens beyond loopback.

use std::io::Write;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;

use anyhow::{Context, Result};

use peluit::desk::{self, Desk};

/// `peluit desk --cases DIR --key KEYDIR... [--listen 127.0.0.1:PORT]`.
pub fn desk(cases: PathBuf, key_dirs: Vec<PathBuf>, listen: &str) -> Result<()> {
    let addr: SocketAddr =
        listen.parse().with_context(|| format!("{listen}: not an address such as 127.0.0.1:8090"))?;
    if !addr.ip().is_loopback() {
        return Err(desk::DeskError::NotLoopback(addr).into());
    }
    let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build()?;
    rt.block_on(async move {
        let listener = tokio::net::TcpListener::bind(addr).await.with_context(|| format!("cannot listen on {addr}"))?;
        let bound = listener.local_addr()?;
        let d = Arc::new(Desk::new(&cases, &key_dirs, bound)?);
        // Handlers installed before the address is printed: a Ctrl-C right
        // after it still stops the desk cleanly.
        use tokio::signal::unix::{signal, SignalKind};
        let (mut int, mut term) = (signal(SignalKind::interrupt())?, signal(SignalKind::terminate())?);
        let shutdown = async move {
            tokio::select! {
                _ = int.recv() => {}
                _ = term.recv() => {}
            }
        };
        for p in d.people().list() {
            let state = if p.open { "keys open" } else { "passphrase needed: open the keys in the page" };
            println!("Investigator {}: {state}", peluit::safe_text::line(&p.name));
        }
        println!("Cases folder: {}; outgoing actions: {}", cases.display(), d.outgoing().display());
        println!("Open this address in a browser on this machine (it holds this run's token; do not share it):");
        println!("  {}", d.address());
        println!("Stop with Ctrl-C.");
        desk::run(listener, d, shutdown).await?;
        // stdout may be gone by now (a closed pipe); stopping is not an error.
        let _ = writeln!(std::io::stdout(), "Desk stopped.");
        Ok(())
    })
}
