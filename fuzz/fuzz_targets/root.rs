//! Root documents: `Root::parse` on arbitrary payload bytes, `TrustedRoot::from_pinned` and
//! `TrustedRoot::rotate` on arbitrary envelope bytes, and `rotate` on the input taken as a
//! root payload and SIGNED by the fixed root keys, so the rotation checks behind valid
//! signatures (version, project, own threshold) are reached too.
//!
//! Invariants besides "never panics": an accepted root has roles whose thresholds are in
//! 1..=|keyids|, whose key IDs are distinct and pinned, and whose keys hash to their IDs; a
//! pinned root verifies under its own root role; an accepted rotation is version + 1 of the
//! same project.
#![no_main]

use std::collections::BTreeSet;

use libfuzzer_sys::fuzz_target;
use mirrorproof::envelope::ROOT_TYPE;
use mirrorproof::keys::{KeyId, SecretKey};
use mirrorproof::root::{Root, TrustedRoot};
use mirrorproof_fuzz::{LIMIT, fixture, signed};

fn check_root(r: &Root) {
    for role in [&r.root_role, &r.release_role] {
        assert!(role.threshold >= 1 && role.threshold <= role.keyids.len());
        let distinct: BTreeSet<_> = role.keyids.iter().collect();
        assert_eq!(distinct.len(), role.keyids.len());
        assert_eq!(r.role_keys(role).len(), role.keyids.len());
    }
    for (id, k) in &r.keys {
        assert_eq!(id, k.id());
        let raw: [u8; 32] = hex::decode(k.to_hex()).unwrap().try_into().unwrap();
        assert_eq!(&KeyId::of(&raw), id);
    }
    assert!(r.version >= 1);
}

fn check_rotation(from: &TrustedRoot, to: &TrustedRoot) {
    check_root(&to.root);
    assert_eq!(Some(to.root.version), from.root.version.checked_add(1));
    assert_eq!(to.root.project, from.root.project);
    assert!(to.root.verify_as_root(&to.envelope).is_ok());
    assert!(from.root.verify_as_root(&to.envelope).is_ok());
}

fuzz_target!(|data: &[u8]| {
    let f = fixture();

    // The input as an envelope.
    if let Ok(pinned) = TrustedRoot::from_pinned(data, LIMIT) {
        check_root(&pinned.root);
        assert!(pinned.root.verify_as_root(&pinned.envelope).is_ok());
        // Whatever version a pinned root claims, walking on from it must not panic.
        if let Ok(next) = pinned.rotate(&f.root2_bytes, LIMIT) {
            check_rotation(&pinned, &next);
        }
    }
    if let Ok(next) = f.root.rotate(data, LIMIT) {
        check_rotation(&f.root, &next);
    }

    // The input as a root payload.
    let Ok(root) = Root::parse(data) else {
        return;
    };
    check_root(&root);
    let old: Vec<&SecretKey> = f.root_keys.iter().collect();
    let bytes = signed(ROOT_TYPE, data, &old).to_json_bytes();
    if let Ok(next) = f.root.rotate(&bytes, LIMIT) {
        check_rotation(&f.root, &next);
        assert!(root.version == 2 && root.project == f.root.root.project);
    }
    if let Ok(pinned) = TrustedRoot::from_pinned(&bytes, LIMIT) {
        check_root(&pinned.root);
        if let Ok(next) = pinned.rotate(&f.root2_bytes, LIMIT) {
            check_rotation(&pinned, &next);
        }
    }
});
