//! Micro-benchmarks of the core: receipt codes, the two derivations, Padmé,
//! age sealing, and the store's insert-and-commit. Run with `cargo bench`;
//! `benches/load.sh` measures the whole server. See docs/PERFORMANCE.md.
#![allow(clippy::unwrap_used)]

use std::hint::black_box;
use std::io::Write;
use std::time::Duration;

use criterion::{criterion_group, criterion_main, BatchSize, Criterion, Throughput};

use peluit::crypto::{self, Pad, Recipients, Sealer};
use peluit::model::{Report, SealedBy, Submission, SubmissionKind};
use peluit::padding;
use peluit::receipt::Receipt;
use peluit::store::Store;

/// The OS random source, as the server uses it.
fn os_rng() -> rand::rand_core::UnwrapErr<rand::rngs::SysRng> {
    rand::rand_core::UnwrapErr(rand::rngs::SysRng)
}

/// A recipients set of `n` fresh investigator keys, parsed from file lines.
fn recipients(n: usize) -> Recipients {
    let text: String = (0..n).map(|_| format!("{}\n", crypto::new_identity().1)).collect();
    Recipients::parse(&format!("# bench\n{text}")).unwrap()
}

fn receipts(c: &mut Criterion) {
    let mut g = c.benchmark_group("receipt");
    g.bench_function("generate", |b| {
        let mut rng = os_rng();
        b.iter(|| black_box(Receipt::generate(&mut rng)));
    });
    let typed = Receipt::generate(&mut os_rng()).grouped();
    let sloppy = typed.to_lowercase().replace('-', " ");
    g.bench_function("parse_grouped", |b| {
        b.iter(|| black_box(Receipt::parse(black_box(typed.as_str())).is_ok()));
    });
    g.bench_function("parse_lowercase_spaced", |b| {
        b.iter(|| black_box(Receipt::parse(black_box(&sloppy)).is_ok()));
    });
    g.finish();
}

fn derivations(c: &mut Criterion) {
    let mut g = c.benchmark_group("derive");
    let secret = crypto::DeploymentSecret::generate();
    let receipt = Receipt::generate(&mut os_rng());
    g.bench_function("lookup_key", |b| {
        b.iter(|| black_box(crypto::lookup_key(&secret, black_box(&receipt)).0));
    });
    g.bench_function("reply_identity", |b| {
        b.iter(|| black_box(crypto::reply_identity(black_box(&receipt))));
    });
    // What a submission does with it: the public half as text.
    g.bench_function("reply_identity_recipient_string", |b| {
        b.iter(|| black_box(crypto::reply_identity(&receipt).recipient().to_string()));
    });
    g.finish();
}

fn padme(c: &mut Criterion) {
    let lens: Vec<u64> = (0..1024u64).map(|i| i * i * 977 + i).collect();
    let mut g = c.benchmark_group("padding");
    g.throughput(Throughput::Elements(lens.len() as u64));
    g.bench_function("padded_len_x1024", |b| {
        b.iter(|| {
            let mut acc = 0u64;
            for l in &lens {
                acc = acc.wrapping_add(padding::padded_len(black_box(*l)));
            }
            acc
        });
    });
    g.finish();
}

fn sealing(c: &mut Criterion) {
    let mut g = c.benchmark_group("seal");
    for size in [4usize << 10, 1 << 20] {
        let plain = vec![0x5au8; size];
        for n in [1usize, 3] {
            let recips = recipients(n);
            g.throughput(Throughput::Bytes(size as u64));
            if size > 64 << 10 {
                g.sample_size(20);
                g.measurement_time(Duration::from_secs(6));
            }
            let label = format!("{}KiB_to_{n}", size >> 10);
            g.bench_function(format!("seal_bytes/{label}"), |b| {
                b.iter(|| black_box(crypto::seal_bytes(&recips, &plain, Pad::Zeros).unwrap()));
            });
            // The streaming path the server takes for files: 16 KiB writes.
            g.bench_function(format!("sealer_stream/{label}"), |b| {
                b.iter(|| {
                    let mut s = Sealer::new(&recips, Vec::with_capacity(size + 4096)).unwrap();
                    for piece in plain.chunks(16 << 10) {
                        s.write_all(piece).unwrap();
                    }
                    black_box(s.finish(Pad::Zeros).unwrap().0.len())
                });
            });
        }
    }
    g.finish();
}

/// One sealed small tip as the server stores it: a manifest blob and a record.
fn insert_one(store: &Store, recips: &Recipients, manifest: &[u8]) {
    let sealed = crypto::seal_bytes(recips, manifest, Pad::Spaces).unwrap();
    let blob = store.put_blob(&sealed).unwrap();
    let sub = Submission {
        seq: store.next_seq().unwrap(),
        day: "2026-01-01".into(),
        kind: SubmissionKind::Tip,
        sealed_by: SealedBy::Server,
        manifest: blob,
        attachments: Vec::new(),
        tags: Vec::new(),
    };
    let (receipt, id) = peluit::lifecycle::draw(&mut rand::rand_core::UnwrapErr(rand::rngs::SysRng));
    store.open_report(&receipt, id, sub).unwrap();
}

fn store(c: &mut Criterion) {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(&dir.path().join("data"))
        .unwrap()
        .with_secret(peluit::crypto::DeploymentSecret::generate())
        .unwrap();
    let recips = recipients(2);
    store.set_recipients(&recips.to_strings()).unwrap();
    let manifest = vec![b'x'; 3 << 10];
    let mut g = c.benchmark_group("store");
    g.sample_size(30);
    g.measurement_time(Duration::from_secs(8));
    // Seal, insert and wait for the flush: one tip with nobody to share the
    // group commit with (the worst case; the server batches concurrent tips).
    g.bench_function("insert_and_commit_one", |b| {
        b.iter(|| {
            insert_one(&store, &recips, &manifest);
            store.durable_blocking().unwrap();
        });
    });
    // The parts of one tip, without the commit.
    let sealed = crypto::seal_bytes(&recips, &manifest, Pad::Spaces).unwrap();
    g.bench_function("blob_write_sealed_manifest", |b| {
        b.iter(|| black_box(store.put_blob(&sealed).unwrap()));
    });
    g.bench_function("next_seq", |b| b.iter(|| black_box(store.next_seq().unwrap())));
    g.bench_function("insert_report", |b| {
        let blob = store.put_blob(&sealed).unwrap();
        b.iter(|| {
            let sub = Submission {
                seq: 1,
                day: "2026-01-01".into(),
                kind: SubmissionKind::Tip,
                sealed_by: SealedBy::Server,
                manifest: blob.clone(),
                attachments: Vec::new(),
                tags: Vec::new(),
            };
            let key = crypto::LookupKey(crypto::random_id().repeat(2).try_into().unwrap());
            let opening = peluit::lifecycle::Opening {
                id: crypto::hex(&crypto::random_id()),
                lookup: crypto::hex(&key.0),
                reply_sealed: "age1x".into(),
            };
            let report = Report::open(opening, sub);
            store.insert_report(&report, &key).unwrap();
        });
    });
    g.bench_function("insert_one_no_commit", |b| b.iter(|| insert_one(&store, &recips, &manifest)));
    // 64 tips, one commit: what group commit buys under load.
    g.throughput(Throughput::Elements(64));
    g.bench_function("insert_64_then_commit", |b| {
        b.iter_batched(
            || (),
            |()| {
                for _ in 0..64 {
                    insert_one(&store, &recips, &manifest);
                }
                store.durable_blocking().unwrap();
            },
            BatchSize::PerIteration,
        );
    });
    g.finish();
}

criterion_group!(benches, receipts, derivations, padme, sealing, store);
criterion_main!(benches);
