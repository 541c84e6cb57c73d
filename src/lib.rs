//! peluit: an anonymous whistleblower reporting service.
//!
//! Module map (pure core first, I/O at the edges):
//! - [`receipt`], [`padding`], [`model`], [`clock`]: receipt codes, Padmé
//!   lengths, the report model, days. Pure (the clock aside).
//! - [`lifecycle`]: every rule of a case's life (opening, status, replies,
//!   notes, deletion, retention). Pure: the store persists what it decides.
//! - [`actions`], [`investigators`], [`transfer`], [`published`]: signed actions and
//!   the audit chain, investigators' keys, transfer-key requests, the signed
//!   key set. Pure.
//! - [`crypto`]: the only caller of age, ring and the OS random source.
//! - [`store`], [`flusher`]: sled behind one module; the group-commit thread.
//! - [`intake`]: a submission's parts streamed into sealed blobs.
//! - [`api`]: the JSON API's bodies, shared by the server and the clients.
//! - [`server`]: axum handlers, limits and pages; [`i18n`], [`config`].
//! - [`export`], [`decrypt`], [`casework`]: bundles, offline case folders and
//!   signed case actions.
//! - [`keys`], [`server_key`], [`client`], [`reporter`]: key files, the server's bundle key; the investigators' and the
//!   reporters' networked clients.
//! - [`safe_text`]: outside text made safe for a terminal or `report.md`. Pure.
//! - [`text_file`]: the entries of a line-oriented key file. Pure.
pub mod actions;
pub mod api;
pub mod casework;
pub mod client;
pub mod clock;
pub mod config;
pub mod crypto;
pub mod decrypt;
pub mod desk;
pub mod export;
pub mod flusher;
pub mod i18n;
pub mod intake;
pub mod investigators;
pub mod keys;
pub mod lifecycle;
pub mod model;
pub mod padding;
pub mod private_fs;
pub mod published;
pub mod receipt;
pub mod reporter;
pub mod safe_text;
pub mod server;
pub mod server_key;
pub mod store;
pub mod text_file;
pub mod transfer;
