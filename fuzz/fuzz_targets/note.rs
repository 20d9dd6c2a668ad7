//! Signed notes and checkpoints (c2sp.org/signed-note, tlog-checkpoint): the input as a
//! verifier key list (`parse_verifiers`, `Verifier::parse`), as a note opened with the
//! pinned verifiers (Go's test keys, sum.golang.org and a fixed log key of our own), as
//! checkpoint text (`parse_checkpoint`), and, split at the first NUL, as
//! `verifier list \0 note` (`open` under the fuzzed keys).
//!
//! Invariants besides "never panics":
//! - every error renders as one line;
//! - one spelling: an accepted vkey is exactly `note::key_line` of its name and key; every
//!   verifier of an accepted list round-trips through `key_line`; an accepted checkpoint is
//!   exactly `origin\nsize\nbase64(hash)\n` plus its extension lines;
//! - no forgery: a note opened under the pinned or the fuzzed keys carries the text of a
//!   genuinely signed note (Go's vectors, real sum.golang.org tree heads, our own), which is
//!   a prefix of the note followed by the blank line;
//! - signers are pinned names, at most 16 lines are counted, no (name, hash) twice.
#![no_main]

#[path = "common/schemes.rs"]
mod schemes;

use std::collections::BTreeSet;

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use libfuzzer_sys::fuzz_target;
use mirrorproof::schemes::note::{self, MAX_SIGNATURE_LINES, Verifier};
use schemes::{assert_genuine_note_text, check_err, fixture, parts};

fn check_checkpoint(text: &str) {
    let r = note::parse_checkpoint(text);
    check_err(&r);
    if let Ok(cp) = r {
        assert!(!cp.origin.is_empty());
        let mut again = format!("{}\n{}\n{}\n", cp.origin, cp.size, STANDARD.encode(cp.root_hash));
        for e in &cp.extensions {
            assert!(!e.is_empty());
            again.push_str(e);
            again.push('\n');
        }
        assert_eq!(again, text, "a checkpoint with a second spelling");
    }
}

fn check_open(n: &[u8], verifiers: &[Verifier]) {
    let r = note::open(n, verifiers);
    check_err(&r);
    let Ok(v) = r else {
        return;
    };
    assert_genuine_note_text(&v.text);
    assert!(v.text.ends_with('\n'));
    assert!(n.starts_with(v.text.as_bytes()) && n.get(v.text.len()) == Some(&b'\n'));
    assert!(!v.signers.is_empty());
    assert!(v.signers.len() + v.unknown <= MAX_SIGNATURE_LINES);
    for s in &v.signers {
        assert!(verifiers.iter().any(|x| &x.name == s), "signer {s:?} not pinned");
    }
    check_checkpoint(&v.text);
}

fn check_verifier_list(text: &[u8]) -> Option<Vec<Verifier>> {
    let r = note::parse_verifiers(text);
    check_err(&r);
    let list = r.ok()?;
    assert!(!list.is_empty());
    let distinct: BTreeSet<(&str, u32)> = list.iter().map(|v| (v.name.as_str(), v.hash)).collect();
    assert_eq!(distinct.len(), list.len(), "a (name, hash) pinned twice");
    for v in &list {
        let line = note::key_line(&v.name, &v.key);
        assert_eq!(Verifier::parse(&line).as_ref(), Ok(v));
    }
    Some(list)
}

fuzz_target!(|data: &[u8]| {
    let f = fixture();

    if let Ok(text) = std::str::from_utf8(data) {
        let v = Verifier::parse(text);
        check_err(&v);
        if let Ok(v) = v {
            assert_eq!(note::key_line(&v.name, &v.key), text, "a vkey with a second spelling");
        }
        check_checkpoint(text);
    }
    check_verifier_list(data);
    check_open(data, &f.note_verifiers);

    let p = parts(data, 2);
    if let [keys, n] = p[..] {
        if let Some(list) = check_verifier_list(keys) {
            check_open(n, &list);
        }
        check_open(n, &f.note_verifiers);
    }
});
