//! A hostile mirror or document may cost a bounded amount of work, never more: a stalling
//! mirror is not asked for artifact after artifact, a document cannot carry thousands of
//! signatures to try, and a publisher's slip in one listed hash does not fail an artifact
//! that another listed hash proves.

mod common;

use std::time::Duration;

use common::faulty::{Fault, FaultServer, Loopback};
use common::*;
use mirrorproof::envelope::MAX_SIGNATURES;

#[test]
fn a_mirror_that_stalls_on_artifacts_is_not_asked_for_more_after_its_first_timeout() {
    let mut w = World::new();
    w.fetch.artifact_timeout = Duration::from_secs(1);
    let mut b = w.release(V).signed_by(&[0, 1]);
    for i in 0..12 {
        b = b.artifact(&format!("part-{i:02}.bin"), 256);
    }
    let r = b.build();
    w.mirror("honest", "FR").serves(&r).over_http();
    let dir = w.mirror("staller", "RU").serves(&r).dir();
    let staller = FaultServer::start(
        Loopback::V4,
        &dir,
        vec![(".bin", Fault::Drip(Duration::from_millis(200)))],
    );
    w.on("staller").at_url(&staller.url());
    let run = w.check();
    run.expect("honest", Status::Ok);
    run.expect("staller", Status::Incomplete);
    let arts = &run.mirror("staller").artifacts;
    assert_eq!(arts.len(), 12);
    let not_asked = arts
        .iter()
        .filter(|a| {
            a.error
                .as_deref()
                .is_some_and(|e| e.contains("earlier artifact on this mirror timed out"))
        })
        .count();
    // At most a handful were in flight when the first timed out; the rest were never asked.
    assert!(not_asked >= 12 - 4, "{arts:?}");
    assert!(arts.iter().all(|a| a.status == "error"));
}

#[test]
fn an_envelope_with_too_many_signatures_is_invalid() {
    let mut w = World::new();
    let good = w
        .release(V)
        .signed_by(&[0, 1])
        .artifact("a.bin", 64)
        .build();
    let stuffed = good.tampered(|env| {
        let junk = env.signatures[0].clone();
        while env.signatures.len() <= MAX_SIGNATURES {
            env.signatures.insert(0, junk.clone());
        }
    });
    w.mirror("honest", "FR").serves(&good);
    w.mirror("stuffed", "RU").serves(&stuffed);
    let run = w.check();
    run.expect("honest", Status::Ok);
    run.expect("stuffed", Status::Invalid);
    assert!(run.error("stuffed").contains("signatures, over the limit"));
}

#[test]
fn every_listed_hash_must_match() {
    let mut w = World::new();
    // The publisher listed a wrong sha256 and a right sha512: one matching hash is not
    // enough, on disk or over HTTP, and the report names the one that failed.
    let r = w
        .release(V)
        .signed_by(&[0, 1])
        .artifact("a.bin", 1000)
        .edit(|json| {
            json["artifacts"]["a.bin"]["sha256"] = "0".repeat(64).into();
        })
        .build();
    w.mirror("m", "FR").serves(&r).over_http();
    w.mirror("d", "DE").serves(&r);
    let run = w.check();
    for m in ["m", "d"] {
        run.expect(m, Status::Corrupt);
        assert!(
            run.error(m).contains("sha256 does not match"),
            "{}",
            run.error(m)
        );
        assert!(!run.error(m).contains("sha512"), "{}", run.error(m));
    }
    // The HTTP mirror was asked for the artifact once: no second pass with the other hash.
    assert_eq!(w.server("m").requests_for("GET", "/artifacts/a.bin"), 1);

    // Neither hash matches: both are named.
    let mut w2 = World::new();
    let r2 = w2
        .release(V)
        .signed_by(&[0, 1])
        .artifact("a.bin", 1000)
        .edit(|json| {
            json["artifacts"]["a.bin"]["sha256"] = "0".repeat(64).into();
            json["artifacts"]["a.bin"]["sha512"] = "0".repeat(128).into();
        })
        .build();
    w2.mirror("m", "FR").serves(&r2);
    let run = w2.check();
    run.expect("m", Status::Corrupt);
    assert!(
        run.error("m").contains("sha256 and sha512 do not match"),
        "{}",
        run.error("m")
    );
}
