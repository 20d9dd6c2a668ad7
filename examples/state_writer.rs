//! A tiny writer used by `tests/state_crash.rs`: it records ever higher versions in a state
//! directory through the library's own `StateStore`, as fast as it can, until it is killed
//! or has written `COUNT` versions.
//!
//! ```text
//! state_writer STATE_DIR [save|advance] [COUNT]
//! ```
//!
//! Version `n` is always recorded with `payload_sha256 = sha256(n as decimal text)`, so a
//! reader can tell a consistent state (hash matches version) from a damaged or mixed one.
//! The writer starts one above the version already recorded, so a series of writers that
//! are killed and restarted moves forward. `save` writes unconditionally; `advance` writes
//! only if newer than what is on disk (re-read under the store's lock).
//!
//! It prints `start N` (the version it found) before writing. Exit codes: 0 after COUNT versions; 3 if the existing state cannot be loaded; 4 if a
//! write fails; 5 on bad arguments.

use std::process::exit;

use mirrorproof::state::{ChannelState, StateStore};
use sha2::{Digest, Sha256};

pub const PROJECT: &str = "exampleos";
pub const CHANNEL: &str = "stable";

/// The one consistent state for version `n`.
pub fn state_for(n: u64) -> ChannelState {
    ChannelState {
        version: n,
        payload_sha256: hex::encode(Sha256::digest(n.to_string().as_bytes())),
        updated: "2026-11-22T14:00:00Z".into(),
    }
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let Some(dir) = args.first() else {
        eprintln!("usage: state_writer STATE_DIR [save|advance] [COUNT]");
        exit(5);
    };
    let advance = match args.get(1).map(String::as_str) {
        None | Some("save") => false,
        Some("advance") => true,
        Some(other) => {
            eprintln!("state_writer: unknown mode {other:?} (save, advance)");
            exit(5);
        }
    };
    let count: u64 = match args.get(2) {
        None => u64::MAX,
        Some(c) => c.parse().unwrap_or_else(|_| {
            eprintln!("state_writer: COUNT {c:?} is not a number");
            exit(5);
        }),
    };
    let store = StateStore::new(dir);
    let start = match store.load(PROJECT, CHANNEL) {
        Ok(Some(s)) => s.version,
        Ok(None) => 0,
        Err(e) => {
            eprintln!("state_writer: {e}");
            exit(3);
        }
    };
    // Tells a watching test where this writer starts.
    println!("start {start}");
    for n in (start + 1..).take(usize::try_from(count).unwrap_or(usize::MAX)) {
        let state = state_for(n);
        let result = if advance {
            store.advance(PROJECT, CHANNEL, &state).map(|_| ())
        } else {
            store.save(PROJECT, CHANNEL, &state)
        };
        if let Err(e) = result {
            eprintln!("state_writer: {e}");
            exit(4);
        }
    }
}
