//! The one face of all four formats, as `check` and `verify --key/--sig` use it: the input
//! split at NUL bytes into `key \0 signature \0 message` (no message part: the message the
//! genuine signatures cover). `pinned::detect` on the key (with and without the signature
//! as tie-breaker), `Pinned::load` of the key as every format (OpenSSH with and without
//! identity and namespace), `Signature::parse` and `parse_detached` of the signature as
//! every format, then `pinned::verify` of every loaded key against every parsed signature,
//! over the message and over its digest; for notes, `note::open` under the loaded keys.
//!
//! Invariants besides "never panics":
//! - every error renders as one line; `detect` is deterministic;
//! - the signature file only ever tips `detect` to OpenSSH (its armour), minisign (a
//!   `trusted comment:` third line), or signify (an ambiguous `Ed` key beside a well-formed
//!   signify signature, as `signify -V` reads them); with and without it, the verdicts are
//!   otherwise equal;
//! - identity or namespace given for a non-OpenSSH format, OpenSSH without a namespace,
//!   and `Signature::parse(Note)` are refused as policy errors;
//! - a loaded key reports its own format and at least one key; a signature of one format
//!   never verifies under a key of another (policy error);
//! - `parse_detached` accepts a subset of `parse`, with no embedded message;
//! - verifying the message and verifying the digest `prehash` names give the same answer;
//!   signify refuses digests;
//! - no forgery: whatever verifies is a genuine signature (or a genuinely signed note).
#![no_main]

#[path = "common/schemes.rs"]
mod schemes;

use libfuzzer_sys::fuzz_target;
use mirrorproof::schemes::pinned::{self, Pinned, Signature};
use mirrorproof::schemes::{Format, Message, Prehash, Prehasher, SchemeError, note};
use schemes::{
    MSG, NOW, SSH_IDENTITY, SSH_NAMESPACE, assert_genuine_minisign, assert_genuine_note_text,
    assert_genuine_signify, assert_genuine_ssh, check_err, parts,
};

const FORMATS: [Format; 4] = [Format::Signify, Format::Minisign, Format::Sshsig, Format::Note];

fn sig_format(s: &Signature) -> Format {
    match s {
        Signature::Signify { .. } => Format::Signify,
        Signature::Minisign(_) => Format::Minisign,
        Signature::Sshsig(_) => Format::Sshsig,
    }
}

fn assert_genuine(p: &Pinned, s: &Signature, m: Message<'_>) {
    match (p, s) {
        (Pinned::Signify(_), Signature::Signify { sig, .. }) => match m {
            Message::Bytes(b) => assert_genuine_signify(sig, b),
            Message::Digest(_) => panic!("signify accepted a digest"),
        },
        (Pinned::Minisign(_), Signature::Minisign(sig)) => assert_genuine_minisign(sig, m),
        (Pinned::Sshsig { namespace, .. }, Signature::Sshsig(sig)) => {
            assert_genuine_ssh(sig, namespace, m)
        }
        _ => panic!("verified across formats"),
    }
}

fn digest(p: Prehash, m: &[u8]) -> Option<Vec<u8>> {
    let mut h = Prehasher::new(p)?;
    // In two pieces, as a streamed file arrives.
    let (a, b) = m.split_at(m.len() / 2);
    h.update(a);
    h.update(b);
    Some(h.finish())
}

fuzz_target!(|data: &[u8]| {
    let p = parts(data, 3);
    let key = p[0];
    let sig = p.get(1).copied();
    let msg = p.get(2).copied();

    let with_sig = pinned::detect(key, sig);
    check_err(&with_sig);
    assert_eq!(pinned::detect(key, sig), with_sig, "detect is not deterministic");
    let alone = pinned::detect(key, None);
    check_err(&alone);
    let tipped_to_signify = with_sig == Ok(Format::Signify)
        && matches!(alone, Err(SchemeError::Key(_)))
        && sig.is_some_and(|s| Signature::parse(Format::Signify, s).is_ok());
    assert!(
        with_sig == alone
            || with_sig == Ok(Format::Sshsig)
            || with_sig == Ok(Format::Minisign)
            || tipped_to_signify,
        "the signature file turned {alone:?} into {with_sig:?}"
    );
    if sig.is_some_and(|s| {
        String::from_utf8_lossy(&s[..s.len().min(4096)])
            .trim_start()
            .starts_with("-----BEGIN SSH SIGNATURE-----")
    }) {
        assert_eq!(with_sig, Ok(Format::Sshsig));
    }

    // The key as every format.
    let mut keys: Vec<Pinned> = Vec::new();
    for f in FORMATS {
        let attempts: &[(Option<&str>, Option<&str>)] = if f == Format::Sshsig {
            &[(None, None), (None, Some(SSH_NAMESPACE)), (Some(SSH_IDENTITY), Some(SSH_NAMESPACE))]
        } else {
            &[(None, None), (None, Some(SSH_NAMESPACE))]
        };
        for &(identity, namespace) in attempts {
            let r = Pinned::load(f, key, identity, namespace);
            check_err(&r);
            let must_refuse = (f != Format::Sshsig && namespace.is_some())
                || (f == Format::Sshsig && namespace.is_none());
            if must_refuse {
                assert!(matches!(r, Err(SchemeError::Policy(_))), "{f:?} {namespace:?}: {r:?}");
            }
            if let Ok(k) = r {
                assert_eq!(k.format(), f);
                assert!(k.key_count() >= 1);
                keys.push(k);
            }
        }
    }
    let Some(sig) = sig else {
        return;
    };

    // The signature as every format.
    let mut sigs: Vec<Signature> = Vec::new();
    for f in FORMATS {
        let r = Signature::parse(f, sig);
        check_err(&r);
        let d = Signature::parse_detached(f, sig);
        check_err(&d);
        if f == Format::Note {
            assert!(matches!(r, Err(SchemeError::Policy(_))));
        }
        if let Ok(d) = &d {
            assert!(d.embedded().is_none());
            assert!(r.is_ok(), "parse_detached accepts what parse refuses");
        }
        if let Ok(s) = r {
            assert_eq!(sig_format(&s), f);
            if let (Signature::Signify { embedded, .. }, Some(e)) = (&s, s.embedded()) {
                assert!(!e.is_empty() && e == embedded.as_slice());
            }
            sigs.push(s);
        }
    }

    // Notes carry their signatures inside: open them under every loaded note key list.
    for k in &keys {
        if let Pinned::Note(verifiers) = k {
            let r = note::open(sig, verifiers);
            check_err(&r);
            if let Ok(v) = r {
                assert_genuine_note_text(&v.text);
            }
        }
    }

    for k in &keys {
        for s in &sigs {
            let m = match (msg, s.embedded()) {
                (Some(m), _) => m,
                (None, Some(e)) => e,
                (None, None) => MSG,
            };
            let by_bytes = pinned::verify(k, s, Message::Bytes(m), NOW);
            check_err(&by_bytes);
            if k.format() != sig_format(s) {
                assert!(matches!(by_bytes, Err(SchemeError::Policy(_))));
                continue;
            }
            if let Ok(who) = &by_bytes {
                assert!(!who.is_empty());
                assert_genuine(k, s, Message::Bytes(m));
            }
            match digest(s.prehash(), m) {
                Some(d) => {
                    let by_digest = pinned::verify(k, s, Message::Digest(&d), NOW);
                    assert_eq!(by_bytes, by_digest, "bytes and digest verdicts differ");
                }
                None => {
                    let by_digest = pinned::verify(k, s, Message::Digest(m), NOW);
                    check_err(&by_digest);
                    assert!(by_digest.is_err(), "a whole-message format accepted a digest");
                }
            }
        }
    }
});
