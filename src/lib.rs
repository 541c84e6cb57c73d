//! peluit: an anonymous whistleblower reporting service.
//!
//! Module map (pure core first, I/O at the edges):
//! - [`receipt`]: receipt codes (generate, parse, check symbol).
//! - [`padding`]: Padmé lengths.
//! - [`crypto`]: the only caller of age, ring and the OS random source.
pub mod actions;
pub mod casework;
pub mod client;
pub mod crypto;
pub mod decrypt;
pub mod export;
pub mod flusher;
pub mod i18n;
pub mod intake;
pub mod keys;
pub mod keyset;
pub mod model;
pub mod padding;
pub mod published;
pub mod receipt;
pub mod reporter;
pub mod server;
pub mod store;
pub mod transfer;
