//! Attacks named in docs/THREATS.md that are not a single status: each mounted for real by a
//! mirror that holds what a real attacker would hold.

mod common;

use common::*;

/// Mix-and-match: the newest signed metadata next to the previous release's artifacts (each
/// piece genuinely signed at some point). The combination was never signed, so it fails.
#[test]
fn mix_and_match_new_metadata_with_old_artifacts_is_corrupt() {
    let mut w = World::new();
    let (old, new) = (older(&w), genuine(&w));
    w.mirror("honest", "FR").serves(&new);
    w.mirror("mixed", "DE")
        .serves(&old)
        .serves_bytes(&new.bytes());
    let run = w.check();
    run.expect("honest", Status::Ok);
    run.expect("mixed", Status::Corrupt);
    assert_eq!(run.artifact_status("mixed", ZIP), "corrupt");
    assert!(!run.ok);
}

/// The reverse mix: old metadata next to new artifacts is simply an old release.
#[test]
fn mix_and_match_old_metadata_with_new_artifacts_is_stale() {
    let mut w = World::new();
    let (old, new) = (older(&w), genuine(&w));
    w.mirror("honest", "FR").serves(&new);
    w.mirror("mixed", "DE")
        .serves(&new)
        .serves_bytes(&old.bytes());
    let run = w.check();
    run.expect("mixed", Status::Stale);
    assert_eq!(run.latest.as_ref().map(|l| l.version), Some(V));
}

/// Arbitrary artifact: the mirror swaps the whole file for one of its own making, same
/// name and same length, under the genuine signed release.
#[test]
fn an_arbitrary_artifact_of_the_right_length_is_corrupt() {
    let mut w = World::new();
    let new = genuine(&w);
    w.mirror("honest", "FR").serves(&new);
    let evil = w.mirror("evil", "US").serves(&new).dir();
    std::fs::write(evil.join("artifacts").join(ZIP), vec![0x90u8; 4096]).unwrap();
    let run = w.check();
    run.expect("honest", Status::Ok);
    run.expect("evil", Status::Corrupt);
    assert!(
        run.error("evil").contains("sha256"),
        "{}",
        run.error("evil")
    );
}

/// Single-key compromise under a threshold of 2: the thief of release key 2 signs a
/// "newer" release alone, repeats its own signature, and adds a stranger's. None of it
/// reaches the threshold, so the forgery is invalid and never becomes `latest`.
#[test]
fn one_stolen_release_key_cannot_sign_a_release_alone() {
    let mut w = World::new();
    let new = genuine(&w);
    let forged = w
        .release(V + 1)
        .signed_by(&[2])
        .artifact(ZIP, 4096)
        .build()
        .tampered(|env| {
            let copy = env.signatures[0].clone();
            env.signatures.push(copy);
        });
    let with_stranger = w
        .release(V + 1)
        .signed_by(&[2])
        .signed_by_stranger()
        .artifact(ZIP, 4096)
        .build();
    w.mirror("honest", "FR").serves(&new);
    w.mirror("thief", "RU").serves(&forged);
    w.mirror("thief2", "BY").serves(&with_stranger);
    let run = w.check();
    run.expect("honest", Status::Ok);
    run.expect("thief", Status::Invalid);
    run.expect("thief2", Status::Invalid);
    assert!(
        run.error("thief").contains("threshold"),
        "{}",
        run.error("thief")
    );
    assert_eq!(run.latest.as_ref().map(|l| l.version), Some(V));
}

/// Two stolen keys do meet the threshold; what still protects users then is the
/// cross-mirror comparison: a targeted release that differs from the public one under the
/// same version is equivocation, visible to anyone who compares countries.
#[test]
fn a_threshold_of_stolen_keys_signing_a_targeted_release_is_caught_as_equivocation() {
    let mut w = World::new();
    let public = genuine(&w);
    let targeted = w
        .release(V)
        .signed_by(&[1, 2])
        .artifact_bytes(ZIP, b"backdoored image")
        .build();
    w.mirror("public", "FR").serves(&public);
    w.mirror("targeted", "CN").serves(&targeted);
    let run = w.check();
    run.expect("public", Status::Equivocating);
    run.expect("targeted", Status::Equivocating);
    assert_eq!(run.equivocations.len(), 1);
    assert!(!run.independent);
}
