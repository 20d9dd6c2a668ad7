//! Root rotation (FORMAT.md section 3): trust moves from the pinned root one version at a
//! time, each step signed by the old AND the new root keys. Roots are location-independent
//! (one mirror is enough), refused candidates are reported and ignored, two valid roots of
//! one version are equivocation, and one final root judges every mirror.

mod common;

use common::*;
use mirrorproof::run::CheckError;

/// Root v2 as an honest rotation makes it: new root key 1, new release keys 3, 4, 5,
/// signed by the outgoing root key 0 and the incoming root key 1.
#[test]
fn a_rotation_served_by_one_mirror_is_accepted_and_judges_every_mirror() {
    let mut w = World::new();
    let v2 = rotated_v2(&w);
    let new_keys = w.release(V).signed_by(&[3, 4]).artifact(ZIP, 256).build();
    // Signed by the rotated-out release keys, and newer: must not win.
    let old_keys = w
        .release(V + 1)
        .signed_by(&[0, 1])
        .artifact(ZIP, 256)
        .build();
    w.mirror("has-root", "FR")
        .serves(&new_keys)
        .serves_root(&v2);
    w.mirror("dir", "DE").serves(&new_keys);
    w.mirror("http", "NL").serves(&new_keys).over_http();
    w.mirror("old-keys", "US").serves(&old_keys);
    let run = w.check();
    assert_eq!(run.root.as_ref().unwrap().version, 2);
    assert_eq!(
        run.root.as_ref().unwrap().payload_sha256,
        v2.payload_sha256()
    );
    assert!(run.root_rejected.is_empty(), "{:?}", run.root_rejected);
    assert!(run.root_equivocations.is_empty());
    for m in ["has-root", "dir", "http"] {
        run.expect(m, Status::Ok);
    }
    run.expect("old-keys", Status::Invalid);
    assert!(run.error("old-keys").contains("threshold not met: 0 valid"));
    assert_eq!(run.latest.as_ref().unwrap().version, V);
    assert_eq!(run.latest.as_ref().unwrap().release_keys, 3);
}

#[test]
fn without_the_rotation_the_new_keys_are_strangers() {
    // Control for the test above: the same releases with no root v2 anywhere.
    let mut w = World::new();
    let new_keys = w.release(V).signed_by(&[3, 4]).artifact(ZIP, 256).build();
    w.mirror("m", "FR").serves(&new_keys);
    let run = w.check();
    assert_eq!(run.root.as_ref().unwrap().version, 1);
    run.expect("m", Status::Invalid);
}

#[test]
fn refused_root_candidates_are_reported_and_ignored() {
    let w0 = World::new();
    let cases: Vec<(&str, Root, u64, &str)> = vec![
        (
            "only the new key signed",
            w0.root(2)
                .root_keys(&[1])
                .release_keys(&[3, 4, 5])
                .signed_by(&[1])
                .build(),
            2,
            "not signed by the previous root",
        ),
        (
            "only the old key signed",
            w0.root(2)
                .root_keys(&[1])
                .release_keys(&[3, 4, 5])
                .signed_by(&[0])
                .build(),
            2,
            "not signed by its own root keys",
        ),
        (
            "new threshold 2 of 2, one new key signed",
            w0.root(2)
                .root_keys(&[1, 2])
                .release_keys(&[3, 4, 5])
                .root_threshold(2)
                .signed_by(&[0, 1])
                .build(),
            2,
            "not signed by its own root keys",
        ),
        (
            "v3 offered where v2 is expected",
            w0.root(3)
                .root_keys(&[1])
                .release_keys(&[3, 4, 5])
                .signed_by(&[0, 1])
                .build(),
            2,
            "root version 3 where 2 was expected",
        ),
        (
            "v1 replayed as v2",
            w0.root(1).build(),
            2,
            "root version 1 where 2 was expected",
        ),
    ];
    for (what, candidate, file_version, why) in cases {
        let mut w = World::new();
        let v1_release = w.release(V).signed_by(&[0, 1]).artifact(ZIP, 64).build();
        let v2_release = w
            .release(V + 1)
            .signed_by(&[3, 4])
            .artifact(ZIP, 64)
            .build();
        w.mirror("evil", "FR")
            .serves(&v2_release)
            .serves_root_as(file_version, &candidate);
        w.mirror("honest", "DE").serves(&v1_release);
        let run = w.check();
        assert_eq!(run.root.as_ref().unwrap().version, 1, "{what}");
        assert_eq!(run.root_rejected.len(), 1, "{what}");
        let r = &run.root_rejected[0];
        assert_eq!(r.version, 2, "{what}");
        assert_eq!(r.mirror, w.url_of("evil"), "{what}");
        assert!(r.error.contains(why), "{what}: {}", r.error);
        // Ignored, never trusted: the keys it would have brought in sign nothing here.
        run.expect("evil", Status::Invalid);
        run.expect("honest", Status::Ok);
        assert!(run.root_equivocations.is_empty(), "{what}");
    }
}

#[test]
fn a_refused_candidate_does_not_block_a_valid_one_elsewhere() {
    let mut w = World::new();
    let v2 = rotated_v2(&w);
    let forged = w.root(2).root_keys(&[2]).signed_by(&[2]).build();
    let r = w.release(V).signed_by(&[4, 5]).artifact(ZIP, 64).build();
    w.mirror("forger", "FR").serves(&r).serves_root(&forged);
    w.mirror("honest", "DE")
        .serves(&r)
        .serves_root(&v2)
        .over_http();
    let run = w.check();
    assert_eq!(run.root.as_ref().unwrap().version, 2);
    assert_eq!(
        run.root.as_ref().unwrap().payload_sha256,
        v2.payload_sha256()
    );
    assert_eq!(run.root_rejected.len(), 1);
    assert_eq!(run.root_rejected[0].mirror, w.url_of("forger"));
    run.expect("forger", Status::Ok);
    run.expect("honest", Status::Ok);
    assert!(run.ok, "a rejected candidate is reported, not a failure");
}

#[test]
fn a_version_beyond_a_gap_is_never_looked_at() {
    // v3 without v2: the walk stops at the first version no mirror has.
    let mut w = World::new();
    let v3 = w.root(3).root_keys(&[1]).signed_by(&[0, 1]).build();
    let r = w.release(V).signed_by(&[0, 1]).artifact(ZIP, 64).build();
    w.mirror("m", "FR").serves(&r).serves_root(&v3);
    let run = w.check();
    assert_eq!(run.root.as_ref().unwrap().version, 1);
    assert!(run.root_rejected.is_empty());
    run.expect("m", Status::Ok);
}

#[test]
fn two_different_valid_roots_of_one_version_are_root_equivocation() {
    let mut w = World::new();
    let v2a = rotated_v2(&w);
    let v2b = w
        .root(2)
        .root_keys(&[2])
        .release_keys(&[3, 4, 5])
        .signed_by(&[0, 2])
        .build();
    assert_ne!(v2a.payload_sha256(), v2b.payload_sha256());
    let r = w.release(V).signed_by(&[0, 1]).artifact(ZIP, 64).build();
    w.mirror("a", "FR").serves(&r).serves_root(&v2a);
    w.mirror("b", "DE").serves(&r).serves_root(&v2b);
    let run = w.check();
    assert_eq!(run.root_equivocations.len(), 1);
    let e = &run.root_equivocations[0];
    assert_eq!(e.version, 2);
    let mut hashes = vec![v2a.payload_sha256(), v2b.payload_sha256()];
    hashes.sort();
    let mut seen = e.payload_sha256.clone();
    seen.sort();
    assert_eq!(seen, hashes);
    let mut mirrors = e.mirrors.clone();
    mirrors.sort();
    let mut want = vec![w.url_of("a"), w.url_of("b")];
    want.sort();
    assert_eq!(mirrors, want);
    // Neither is trusted; the run fails even though every release verified under v1.
    assert_eq!(run.root.as_ref().unwrap().version, 1);
    assert!(!run.ok);
    assert!(!run.independent);
    // Which release keys are current cannot be decided, so no release is judged valid
    // (a revoked key must not make a mirror `ok`) and the state cannot move.
    run.expect("a", Status::Invalid);
    run.expect("b", Status::Invalid);
    assert!(run.error("a").contains("root version 2 is equivocated"));
    assert!(run.latest.is_none());
}

#[test]
fn a_root_equivocation_never_moves_the_state() {
    let mut w = World::new();
    w.enable_state();
    let v2a = rotated_v2(&w);
    let v2b = w
        .root(2)
        .root_keys(&[2])
        .release_keys(&[3, 4, 5])
        .signed_by(&[0, 2])
        .build();
    // The attacker holds v1's keys, which the genuine v2 revoked, and signs a huge version.
    let hostile = w
        .release(u64::MAX - 1)
        .signed_by(&[0, 1])
        .artifact(ZIP, 64)
        .build();
    let genuine = w.release(V).signed_by(&[3, 4]).artifact(ZIP, 64).build();
    w.mirror("genuine", "FR").serves(&genuine).serves_root(&v2a);
    w.mirror("hostile", "RU").serves(&hostile).serves_root(&v2b);
    let run = w.check();
    assert_eq!(run.root_equivocations.len(), 1);
    run.expect("hostile", Status::Invalid);
    assert!(!run.state_written);
    assert_eq!(w.read_state(), None);
}

#[test]
fn the_same_root_served_by_several_mirrors_is_not_equivocation() {
    let mut w = World::new();
    let v2 = rotated_v2(&w);
    // Same payload, different signature order: one root, not two.
    let reordered = {
        let mut r = v2.clone();
        r.envelope.signatures.reverse();
        r
    };
    let r = w.release(V).signed_by(&[3, 5]).artifact(ZIP, 64).build();
    w.mirror("a", "FR").serves(&r).serves_root(&v2);
    w.mirror("b", "DE").serves(&r).serves_root(&reordered);
    let run = w.check();
    assert_eq!(run.root.as_ref().unwrap().version, 2);
    assert!(run.root_equivocations.is_empty());
    assert!(run.ok);
}

#[test]
fn an_expired_final_root_stops_the_run() {
    // The pinned root itself expired, and no rotation is published.
    let mut w = World::new();
    let expired_v1 = w.root(1).expires(w.now - days(1)).build();
    w.pin(&expired_v1);
    let r = w.release(V).signed_by(&[0, 1]).artifact(ZIP, 64).build();
    w.mirror("m", "FR").serves(&r);
    match w.try_check() {
        Err(CheckError::RootExpired { version: 1, .. }) => {}
        Err(e) => panic!("expected RootExpired for v1, got {e}"),
        Ok(run) => panic!("expected RootExpired, got a report:\n{}", run.table()),
    }

    // A rotation to an expired v2 is accepted as a step, but the final root is expired.
    let mut w = World::new();
    let v2 = w
        .root(2)
        .root_keys(&[1])
        .expires(w.now - days(1))
        .signed_by(&[0, 1])
        .build();
    let r = w.release(V).signed_by(&[0, 1]).artifact(ZIP, 64).build();
    w.mirror("m", "FR").serves(&r).serves_root(&v2);
    match w.try_check() {
        Err(CheckError::RootExpired {
            version: 2,
            expires,
        }) => {
            assert_eq!(expires, "2026-11-21T14:00:00Z");
        }
        Err(e) => panic!("expected RootExpired for v2, got {e}"),
        Ok(run) => panic!("expected RootExpired, got a report:\n{}", run.table()),
    }
}

#[test]
fn an_expired_pinned_root_is_fine_when_it_rotates_to_a_current_one() {
    // Only the FINAL root must be current: a user who pinned long ago catches up.
    let mut w = World::new();
    let old_pin = w.root(1).expires(w.now - days(100)).build();
    w.pin(&old_pin);
    let v2 = rotated_v2(&w);
    let r = w.release(V).signed_by(&[3, 4]).artifact(ZIP, 64).build();
    w.mirror("m", "FR").serves(&r).serves_root(&v2);
    let run = w.check();
    assert_eq!(run.root.as_ref().unwrap().version, 2);
    run.expect("m", Status::Ok);
}

#[test]
fn a_chain_v1_v2_v3_is_walked_across_different_mirrors() {
    let mut w = World::new();
    let v2 = rotated_v2(&w);
    // v3: root key 2 replaces 1; release keys 0, 4, 5 with threshold 2.
    let v3 = w
        .root(3)
        .root_keys(&[2])
        .release_keys(&[0, 4, 5])
        .signed_by(&[1, 2])
        .build();
    let r = w.release(V).signed_by(&[0, 5]).artifact(ZIP, 64).build();
    w.mirror("has-v2", "FR").serves(&r).serves_root(&v2);
    w.mirror("has-v3", "DE")
        .serves(&r)
        .serves_root(&v3)
        .over_http();
    w.mirror("has-none", "NL").serves(&r);
    let run = w.check();
    assert_eq!(run.root.as_ref().unwrap().version, 3);
    assert_eq!(
        run.root.as_ref().unwrap().payload_sha256,
        v3.payload_sha256()
    );
    assert!(run.root_rejected.is_empty(), "{:?}", run.root_rejected);
    for m in ["has-v2", "has-v3", "has-none"] {
        run.expect(m, Status::Ok);
    }
}

#[test]
fn each_step_needs_the_previous_roots_keys_not_the_pinned_ones() {
    // v3 signed by v1's root key (0) and its own (2), skipping v2's key (1): refused.
    let mut w = World::new();
    let v2 = rotated_v2(&w);
    let v3 = w.root(3).root_keys(&[2]).signed_by(&[0, 2]).build();
    let r = w.release(V).signed_by(&[3, 4]).artifact(ZIP, 64).build();
    w.mirror("a", "FR").serves(&r).serves_root(&v2);
    w.mirror("b", "DE").serves(&r).serves_root(&v3);
    let run = w.check();
    assert_eq!(run.root.as_ref().unwrap().version, 2);
    assert_eq!(run.root_rejected.len(), 1);
    assert_eq!(run.root_rejected[0].version, 3);
    assert!(
        run.root_rejected[0]
            .error
            .contains("not signed by the previous root")
    );
    run.expect("a", Status::Ok);
    run.expect("b", Status::Ok);
}

#[test]
fn a_mirror_that_serves_only_the_new_root_is_enough() {
    // Roots are location-independent: a mirror with no release at all still carries trust.
    let mut w = World::new();
    let v2 = rotated_v2(&w);
    let r = w.release(V).signed_by(&[3, 4]).artifact(ZIP, 64).build();
    w.mirror("roots-only", "ZZ").serves_root(&v2);
    w.mirror("fr", "FR").serves(&r);
    w.mirror("de", "DE").serves(&r).over_http();
    let run = w.check();
    assert_eq!(run.root.as_ref().unwrap().version, 2);
    run.expect("roots-only", Status::Unreachable);
    run.expect("fr", Status::Ok);
    run.expect("de", Status::Ok);
    assert!(run.independent);
}
