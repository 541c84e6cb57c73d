//! Group commit: one blocking thread makes sled durable for every waiter at once.
//!
//! sled 0.34's `flush_async` deadlocks under concurrent callers (sled #1308),
//! and its background flush runs only every 500 ms, so neither may stand
//! between a tip and its receipt. A waiter sends a reply slot; the thread takes
//! every slot that is waiting, calls `flush()` once, and answers them all. A
//! write made before `wait` is called is always covered, because the flush
//! that answers it starts after the slot arrived.

use std::sync::mpsc;
use std::thread;

use tokio::sync::oneshot;

/// A reply slot: the flush result, as a message (sled errors are not `Clone`).
type Waiter = oneshot::Sender<Result<(), String>>;

/// Handle to the flusher thread. Cloning shares the one thread.
#[derive(Clone)]
pub struct Flusher {
    /// Where waiters send their reply slots.
    tx: mpsc::Sender<Waiter>,
}

impl Flusher {
    /// Starts the flusher thread for `db`. It ends when every handle is dropped.
    pub fn start(db: sled::Db) -> std::io::Result<Flusher> {
        let (tx, rx) = mpsc::channel::<Waiter>();
        thread::Builder::new().name("peluit-flusher".into()).spawn(move || {
            while let Ok(first) = rx.recv() {
                let mut batch = vec![first];
                batch.extend(rx.try_iter());
                let result = db.flush().map(drop).map_err(|e| e.to_string());
                for w in batch {
                    let _ = w.send(result.clone());
                }
            }
        })?;
        Ok(Flusher { tx })
    }

    /// Waits until everything written before this call is on disk.
    pub async fn wait(&self) -> Result<(), String> {
        let (tx, rx) = oneshot::channel();
        self.tx.send(tx).map_err(|_| "flusher stopped".to_string())?;
        rx.await.map_err(|_| "flusher stopped".to_string())?
    }

    /// The same, for command-line tools outside the async runtime.
    pub fn wait_blocking(&self) -> Result<(), String> {
        let (tx, rx) = oneshot::channel();
        self.tx.send(tx).map_err(|_| "flusher stopped".to_string())?;
        rx.blocking_recv().map_err(|_| "flusher stopped".to_string())?
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn many_concurrent_waiters_all_return() {
        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
        let db = sled::open(dir.path()).unwrap_or_else(|e| panic!("{e}"));
        let f = Flusher::start(db.clone()).unwrap_or_else(|e| panic!("{e}"));
        let mut tasks = Vec::new();
        for i in 0..200u32 {
            let (f, db) = (f.clone(), db.clone());
            tasks.push(tokio::spawn(async move {
                db.insert(i.to_be_bytes(), &b"x"[..]).map_err(|e| e.to_string())?;
                f.wait().await
            }));
        }
        for t in tasks {
            assert_eq!(t.await.ok(), Some(Ok(())));
        }
        assert_eq!(db.len(), 200);
    }
}
