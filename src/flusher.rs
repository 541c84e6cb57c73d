//! Group commit: one blocking thread makes sled durable for every waiter at once.
//!
//! sled 0.34's `flush_async` deadlocks under concurrent callers (sled #1308),
//! and its background flush runs only every 500 ms, so neither may stand
//! between a tip and its receipt. A waiter sends a reply slot; the thread takes
//! every slot that is waiting, calls `flush()` once, and answers them all. A
//! write made before `wait` is called is always covered, because the flush
//! that answers it starts after the slot arrived.

use std::sync::{mpsc, Arc};
use std::thread;

use tokio::sync::oneshot;

/// A reply slot: the flush result, as a message (sled errors are not `Clone`).
type Waiter = oneshot::Sender<Result<(), String>>;

/// Handle to the flusher thread. Cloning shares the one thread; when the last
/// handle goes, the thread is stopped and joined, so the database it holds is
/// closed (and its lock released) by the time the drop returns.
#[derive(Clone)]
pub struct Flusher {
    /// The shared channel and thread.
    inner: Arc<Inner>,
}

/// What the handles share.
struct Inner {
    /// Where waiters send their reply slots (taken on drop to stop the thread).
    tx: Option<mpsc::Sender<Waiter>>,
    /// The thread, joined on drop.
    handle: Option<thread::JoinHandle<()>>,
}

impl Drop for Inner {
    fn drop(&mut self) {
        drop(self.tx.take());
        if let Some(h) = self.handle.take() {
            let _ = h.join();
        }
    }
}

impl Flusher {
    /// Starts the flusher thread for `db`. It ends when every handle is dropped.
    pub fn start(db: sled::Db) -> std::io::Result<Flusher> {
        let (tx, rx) = mpsc::channel::<Waiter>();
        let handle = thread::Builder::new().name("peluit-flusher".into()).spawn(move || {
            while let Ok(first) = rx.recv() {
                let mut batch = vec![first];
                batch.extend(rx.try_iter());
                let result = db.flush().map(drop).map_err(|e| e.to_string());
                for w in batch {
                    let _ = w.send(result.clone());
                }
            }
        })?;
        Ok(Flusher { inner: Arc::new(Inner { tx: Some(tx), handle: Some(handle) }) })
    }

    /// Hands a reply slot to the thread.
    fn send(&self, w: Waiter) -> Result<(), String> {
        self.inner.tx.as_ref().ok_or("flusher stopped")?.send(w).map_err(|_| "flusher stopped".to_string())
    }

    /// Waits until everything written before this call is on disk.
    pub async fn wait(&self) -> Result<(), String> {
        let (tx, rx) = oneshot::channel();
        self.send(tx)?;
        rx.await.map_err(|_| "flusher stopped".to_string())?
    }

    /// The same, for command-line tools outside the async runtime.
    pub fn wait_blocking(&self) -> Result<(), String> {
        let (tx, rx) = oneshot::channel();
        self.send(tx)?;
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
