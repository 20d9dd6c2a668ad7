//! OpenSSH signatures: `parse_allowed_signers`, `parse_signature`, `principal_matches`,
//! `find_principals` and `verify`, on an input split at NUL bytes into
//! `allowed_signers \0 signature \0 identity \0 namespace` (missing parts take the fixed
//! defaults: the genuine sha512 signature, `fuzz@mirrorproof.example`, `file`). Keys and
//! signatures were made with OpenSSH 9.2p1 (`common/schemes.rs`).
//!
//! Invariants besides "never panics":
//! - every error renders as one line;
//! - `principal_matches` agrees with OpenSSH's `match_pattern_list` (transcribed from
//!   match.c, with a dynamic-programming `match_pattern`) on the input's pattern lists;
//! - an accepted allowed_signers line has non-empty principals, non-empty namespace
//!   entries, and `valid-after` < `valid-before`, both after 1970; line numbers increase;
//! - no forgery: a signature accepted under the fixed or the fuzzed allowed_signers is a
//!   genuine `ssh-keygen -Y sign` signature over its genuine message, in the namespace it
//!   was made for, and some line with its key allows the identity, the namespace and `now`;
//! - verifying the message and verifying its digest give the same answer;
//! - every principal `find_principals` returns is a positive pattern of a line with the
//!   signing key that matches itself there.
#![no_main]

#[path = "common/schemes.rs"]
mod schemes;

use libfuzzer_sys::fuzz_target;
use mirrorproof::schemes::Message;
use mirrorproof::schemes::sshsig::{self, AllowedSigner, SshSignature};
use schemes::{
    MSG, NOW, SSH_IDENTITY, SSH_NAMESPACE, SSHSIG_512, assert_genuine_ssh, check_err, fixture,
    parts, ref_match_list, sha,
};

/// Patterns times identity bytes beyond which the reference matcher is skipped.
const REF_BUDGET: usize = 1 << 20;

fn matches_ref(patterns: &str, identity: &str) {
    if patterns.len().saturating_mul(identity.len() + 1) > REF_BUDGET {
        return;
    }
    assert_eq!(
        sshsig::principal_matches(patterns, identity),
        ref_match_list(identity.as_bytes(), patterns.as_bytes()),
        "principal_matches({patterns:?}, {identity:?}) differs from OpenSSH match_pattern_list"
    );
}

fn line_allows(s: &AllowedSigner, sig: &SshSignature, identity: &str, ns: &str, now: i64) -> bool {
    s.key == sig.key
        && ref_match_list(identity.as_bytes(), s.principals.as_bytes())
        && s
            .namespaces
            .as_ref()
            .is_none_or(|l| ref_match_list(ns.as_bytes(), l.join(",").as_bytes()))
        && s.valid_after.is_none_or(|t| now >= t)
        && s.valid_before.is_none_or(|t| now <= t)
}

fn check_verify(signers: &[AllowedSigner], sig: &SshSignature, identity: &str, ns: &str, now: i64) {
    for msg in [MSG, b"".as_slice()] {
        let by_bytes = sshsig::verify(signers, identity, ns, sig, Message::Bytes(msg), now);
        check_err(&by_bytes);
        // The digest path once per call (each verification costs an Ed25519 check).
        if msg == MSG {
            let digest = sha(sig.hash, msg);
            let by_digest =
                sshsig::verify(signers, identity, ns, sig, Message::Digest(&digest), now);
            assert_eq!(by_bytes, by_digest, "bytes and digest verdicts differ");
        }
        if by_bytes.is_ok() {
            assert_genuine_ssh(sig, ns, Message::Bytes(msg));
            assert!(
                signers.iter().any(|s| line_allows(s, sig, identity, ns, now)),
                "accepted, but no line allows {identity:?} in {ns:?} at {now}"
            );
        }
    }
}

fuzz_target!(|data: &[u8]| {
    let f = fixture();
    let p = parts(data, 4);
    let allowed = p[0];
    let sig_bytes = p.get(1).copied().unwrap_or(SSHSIG_512.as_bytes());
    let identity = p
        .get(2)
        .map(|b| String::from_utf8_lossy(b).into_owned())
        .unwrap_or_else(|| SSH_IDENTITY.to_owned());
    let namespace = p
        .get(3)
        .map(|b| String::from_utf8_lossy(b).into_owned())
        .unwrap_or_else(|| SSH_NAMESPACE.to_owned());

    // Pattern lists straight from the input.
    if let Ok(text) = std::str::from_utf8(allowed) {
        matches_ref(text, &identity);
        if let Some(first) = text.lines().next() {
            matches_ref(first, &identity);
            matches_ref(&identity, first);
        }
    }

    let signers = sshsig::parse_allowed_signers(allowed);
    check_err(&signers);
    if let Ok(list) = &signers {
        assert!(!list.is_empty());
        let mut last = 0;
        for s in list {
            assert!(s.line > last, "line numbers out of order");
            last = s.line;
            assert!(!s.principals.is_empty());
            if let Some(ns) = &s.namespaces {
                assert!(ns.iter().all(|n| !n.is_empty() && n != "!"), "{ns:?}");
            }
            assert!(s.valid_after.is_none_or(|t| t > 0) && s.valid_before.is_none_or(|t| t > 0));
            if let (Some(a), Some(b)) = (s.valid_after, s.valid_before) {
                assert!(a < b, "valid-after {a} not before valid-before {b}");
            }
            matches_ref(&s.principals, &identity);
        }
    }

    // The first part as a signature too, so single-part inputs reach the armour parser.
    check_err(&sshsig::parse_signature(allowed));
    let sig = sshsig::parse_signature(sig_bytes);
    check_err(&sig);
    let Ok(sig) = sig else {
        return;
    };
    assert!(!sig.namespace.is_empty() && !sig.namespace.contains('\0'));

    let extreme = if data.len() % 2 == 0 { i64::MIN } else { i64::MAX };
    let mut lists: Vec<&[AllowedSigner]> = vec![&f.ssh_signers];
    if let Ok(list) = &signers {
        lists.push(list);
    }
    for list in lists {
        check_verify(list, &sig, &identity, &namespace, NOW);
        check_verify(list, &sig, &identity, &namespace, extreme);
        let found = sshsig::find_principals(list, &sig, &namespace, NOW);
        for pr in found.iter().take(4) {
            assert!(!pr.is_empty() && !pr.starts_with('!'));
            assert!(
                list.iter().any(|s| s.key == sig.key
                    && s.principals.split(',').any(|x| x == pr)
                    && ref_match_list(pr.as_bytes(), s.principals.as_bytes())),
                "find_principals returned {pr:?}"
            );
            check_verify(list, &sig, pr, &namespace, NOW);
        }
    }
});
