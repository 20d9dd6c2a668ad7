//! One scenario per mirror status (FORMAT.md section 6), each mounted for real on disk or
//! over loopback HTTP, then the order in which statuses win, the artifact modes, and the
//! per-country aggregate with its `independent` verdict.

mod common;

use common::*;
use mirrorproof::envelope::ROOT_TYPE;
use mirrorproof::fetch::ArtifactMode;
use serde_json::json;

#[test]
fn ok_when_the_mirror_serves_the_genuine_latest_release() {
    let mut w = World::new();
    let good = genuine(&w);
    w.mirror("fr", "FR").serves(&good);
    w.mirror("de", "DE").serves(&good).over_http();
    let run = w.check();
    for name in ["fr", "de"] {
        let m = run.expect(name, Status::Ok);
        assert_eq!(m.version, Some(V));
        assert_eq!(
            m.payload_sha256.as_deref(),
            Some(good.payload_sha256().as_str())
        );
        let mut signers = vec![w.release_key_id(0), w.release_key_id(1)];
        signers.sort();
        assert_eq!(m.signers, signers);
        assert_eq!(m.error, None);
        assert_eq!(run.artifact_status(name, ZIP), "ok");
    }
    let latest = run.latest.as_ref().expect("latest");
    assert_eq!(latest.version, V);
    assert_eq!(latest.payload_sha256, good.payload_sha256());
    assert!(!latest.equivocated);
    assert!(run.ok);
    assert!(run.independent);
    assert!(run.equivocations.is_empty());
}

#[test]
fn unreachable_when_the_directory_is_missing_or_http_says_503() {
    let mut w = World::new();
    let good = genuine(&w);
    w.mirror("fr", "FR").serves(&good);
    w.mirror("vanished", "DE"); // never served anything: no directory at all
    w.mirror("down", "NL")
        .serves(&good)
        .http(Behavior::Status(503));
    let run = w.check();
    run.expect("fr", Status::Ok);
    let gone = run.expect("vanished", Status::Unreachable);
    assert!(run.error("vanished").contains("does not exist"), "{gone:?}");
    assert_eq!(gone.version, None);
    assert_eq!(gone.payload_sha256, None);
    assert!(gone.signers.is_empty());
    run.expect("down", Status::Unreachable);
    assert!(run.error("down").contains("503"), "{}", run.error("down"));
    assert!(!run.ok);
}

#[test]
fn invalid_for_every_way_a_document_can_fail_verification() {
    let mut w = World::new();
    let good = genuine(&w);
    // Each bad document claims a NEWER version than the genuine one: none of them may
    // become `latest`, so the honest mirror must stay ok.
    let next = V + 1;
    let cases: Vec<(&str, Release, &str)> = vec![
        (
            "stranger",
            w.release(next)
                .signed_by_stranger()
                .artifact(ZIP, 64)
                .build(),
            "threshold not met: 0 valid",
        ),
        (
            "one-of-two",
            w.release(next).signed_by(&[2]).artifact(ZIP, 64).build(),
            "threshold not met: 1 valid",
        ),
        (
            "unsigned",
            w.release(next).artifact(ZIP, 64).build(),
            "threshold not met",
        ),
        (
            "other-project",
            w.release(next)
                .edit(|d| d["project"] = json!("otheros"))
                .signed_by(&[0, 1])
                .build(),
            "project",
        ),
        (
            "other-channel",
            w.release(next)
                .edit(|d| d["channel"] = json!("beta"))
                .signed_by(&[0, 1])
                .build(),
            "channel",
        ),
        (
            "root-type",
            w.release(next)
                .payload_type(ROOT_TYPE)
                .signed_by(&[0, 1])
                .build(),
            "payload type",
        ),
        (
            "json-type",
            w.release(next)
                .payload_type("application/json")
                .signed_by(&[0, 1])
                .build(),
            "payload type",
        ),
        (
            "not-a-release",
            w.release(next)
                .edit(|d| d["type"] = json!("root"))
                .signed_by(&[0, 1])
                .build(),
            "type",
        ),
        (
            "no-expiry",
            w.release(next)
                .edit(|d| {
                    d.as_object_mut().unwrap().remove("expires");
                })
                .signed_by(&[0, 1])
                .build(),
            "expires",
        ),
        (
            "signed-garbage",
            w.release(next)
                .payload(b"not json at all")
                .signed_by(&[0, 1])
                .build(),
            "not valid JSON",
        ),
    ];
    w.mirror("good", "FR").serves(&good);
    w.mirror("garbage", "FR")
        .serves_bytes(b"\x00\xffGET / HTTP/1.0\r\n");
    for (name, release, _) in &cases {
        w.mirror(name, "DE").serves(release);
    }
    let run = w.check();
    run.expect("good", Status::Ok);
    run.expect("garbage", Status::Invalid);
    assert!(run.error("garbage").contains("not a DSSE envelope"));
    for (name, _, why) in &cases {
        let m = run.expect(name, Status::Invalid);
        assert!(run.error(name).contains(why), "{name}: {:?}", m.error);
        assert_eq!(
            m.version, None,
            "{name}: an invalid document has no version"
        );
        assert!(m.signers.is_empty(), "{name}");
    }
    assert_eq!(run.latest.as_ref().unwrap().version, V);
}

#[test]
fn equivocating_when_two_mirrors_serve_different_signed_payloads_for_one_version() {
    let mut w = World::new();
    let genuine = w
        .release(V)
        .signed_by(&[0, 1])
        .artifact_bytes(ZIP, b"genuine")
        .build();
    let backdoored = w
        .release(V)
        .signed_by(&[1, 2])
        .artifact_bytes(ZIP, b"backdoor")
        .build();
    w.mirror("fr", "FR").serves(&genuine);
    w.mirror("ru", "RU").serves(&backdoored);
    let run = w.check();
    run.expect("fr", Status::Equivocating);
    run.expect("ru", Status::Equivocating);
    assert_eq!(run.equivocations.len(), 1);
    let e = &run.equivocations[0];
    assert_eq!(e.version, V);
    let mut hashes = vec![genuine.payload_sha256(), backdoored.payload_sha256()];
    hashes.sort();
    let mut seen = e.payload_sha256.clone();
    seen.sort();
    assert_eq!(seen, hashes);
    let mut mirrors = e.mirrors.clone();
    mirrors.sort();
    let mut want = vec![w.url_of("fr"), w.url_of("ru")];
    want.sort();
    assert_eq!(mirrors, want);
    assert!(!e.with_state);
    assert!(!run.ok);
    assert!(!run.independent);
}

#[test]
fn expired_when_a_validly_signed_release_is_past_its_expiry_the_freeze_attack() {
    let mut w = World::new();
    let frozen = w
        .release(V)
        .signed_by(&[0, 1])
        .artifact(ZIP, 128)
        .expired()
        .build();
    w.mirror("frozen", "FR").serves(&frozen);
    let run = w.check();
    let m = run.expect("frozen", Status::Expired);
    // Signatures were valid: the report says who signed, only the date is wrong.
    assert_eq!(m.version, Some(V));
    assert_eq!(m.signers.len(), 2);
    assert!(run.error("frozen").contains("expired"));
    assert!(run.latest.is_none(), "an expired release is never latest");
    assert!(!run.ok);

    // One second earlier it was still fine: expiry is `now >= expires`.
    w.now -= days(1) + chrono::TimeDelta::seconds(1);
    w.check().expect("frozen", Status::Ok);
    w.now += chrono::TimeDelta::seconds(1);
    w.check().expect("frozen", Status::Expired);
}

#[test]
fn rollback_when_the_state_records_a_higher_version() {
    let mut w = World::new();
    w.enable_state();
    let (old, new) = (older(&w), genuine(&w));
    w.mirror("fr", "FR").serves(&new);
    w.mirror("de", "DE").serves(&new);
    assert!(w.check().state_written);
    // The attacker can only show old signed releases now; one honest mirror remains.
    w.on("de").serves(&old);
    let run = w.check();
    run.expect("fr", Status::Ok);
    // Older than latest too, but rollback comes first in the order.
    let m = run.expect("de", Status::Rollback);
    assert_eq!(m.version, Some(OLD));
    assert!(run.error("de").contains(&V.to_string()));
}

#[test]
fn stale_when_an_older_signed_release_is_served_while_others_serve_latest() {
    let mut w = World::new();
    let (old, new) = (older(&w), genuine(&w));
    w.mirror("fr", "FR").serves(&new);
    w.mirror("de", "DE").serves(&old);
    let run = w.check();
    run.expect("fr", Status::Ok);
    let m = run.expect("de", Status::Stale);
    assert_eq!(m.version, Some(OLD));
    assert_eq!(
        run.error("de"),
        format!("serves {OLD}; latest is {V}").as_str()
    );
    assert!(
        m.artifacts.is_empty(),
        "artifacts of stale mirrors are not fetched"
    );
}

#[test]
fn corrupt_when_artifact_bytes_change_grow_or_shrink() {
    let mut w = World::new();
    let good = genuine(&w);
    w.mirror("fr", "FR").serves(&good);
    w.mirror("flipped", "DE").serves(&good).tamper_artifact(ZIP);
    w.mirror("longer", "DE")
        .serves(&good)
        .extend_artifact(ZIP, 1);
    w.mirror("shorter", "DE")
        .serves(&good)
        .truncate_artifact(ZIP, 96);
    let run = w.check();
    run.expect("fr", Status::Ok);
    for (name, why) in [
        // Both listed digests are checked over the same bytes, and both are named.
        ("flipped", "sha256 and sha512 do not match"),
        ("longer", "longer than the signed 4096 bytes"),
        ("shorter", "4000 bytes where 4096 were signed"),
    ] {
        run.expect(name, Status::Corrupt);
        assert!(run.error(name).contains(why), "{name}: {}", run.error(name));
        assert_eq!(run.artifact_status(name, ZIP), "corrupt");
    }
}

#[test]
fn incomplete_when_an_artifact_is_missing() {
    let mut w = World::new();
    let good = w
        .release(V)
        .signed_by(&[0, 1])
        .artifact(ZIP, 512)
        .artifact("checksums.txt", 64)
        .build();
    w.mirror("fr", "FR").serves(&good);
    w.mirror("partial", "DE").serves(&good).delete_artifact(ZIP);
    let run = w.check();
    run.expect("fr", Status::Ok);
    run.expect("partial", Status::Incomplete);
    assert_eq!(run.artifact_status("partial", ZIP), "missing");
    assert_eq!(run.artifact_status("partial", "checksums.txt"), "ok");
    assert!(run.error("partial").contains(ZIP));
}

#[test]
fn order_expired_beats_stale() {
    let mut w = World::new();
    let new = genuine(&w);
    let frozen_old = w
        .release(OLD)
        .signed_by(&[0, 1])
        .artifact(ZIP, 64)
        .expired()
        .build();
    w.mirror("fr", "FR").serves(&new);
    w.mirror("frozen", "DE").serves(&frozen_old);
    let run = w.check();
    run.expect("fr", Status::Ok);
    run.expect("frozen", Status::Expired);
}

#[test]
fn order_equivocating_beats_expired() {
    let mut w = World::new();
    let new = genuine(&w);
    let a = w
        .release(OLD)
        .signed_by(&[0, 1])
        .artifact_bytes(ZIP, b"one history")
        .expired()
        .build();
    let b = w
        .release(OLD)
        .signed_by(&[0, 1])
        .artifact_bytes(ZIP, b"another history")
        .expired()
        .build();
    w.mirror("fr", "FR").serves(&new);
    w.mirror("a", "DE").serves(&a);
    w.mirror("b", "DE").serves(&b);
    let run = w.check();
    run.expect("fr", Status::Ok);
    run.expect("a", Status::Equivocating);
    run.expect("b", Status::Equivocating);
    assert_eq!(run.equivocations.len(), 1);
    assert_eq!(run.equivocations[0].version, OLD);
    assert!(
        !run.ok,
        "any equivocation fails the run, even on an old version"
    );
}

#[test]
fn order_equivocation_on_the_latest_version_leaves_no_mirror_ok() {
    let mut w = World::new();
    let old = older(&w);
    let a = w
        .release(V)
        .signed_by(&[0, 1])
        .artifact_bytes(ZIP, b"a")
        .build();
    let b = w
        .release(V)
        .signed_by(&[0, 1])
        .artifact_bytes(ZIP, b"b")
        .build();
    w.mirror("a", "FR").serves(&a);
    w.mirror("b", "FR").serves(&b);
    w.mirror("old", "DE").serves(&old);
    let run = w.check();
    run.expect("a", Status::Equivocating);
    run.expect("b", Status::Equivocating);
    run.expect("old", Status::Stale);
    // `latest` names one of the two histories, and says it is contested.
    let latest = run.latest.as_ref().unwrap();
    assert_eq!(latest.version, V);
    assert!(latest.equivocated);
    assert!(!run.ok);
}

#[test]
fn order_corrupt_beats_incomplete() {
    let mut w = World::new();
    let good = w
        .release(V)
        .signed_by(&[0, 1])
        .artifact("a.img", 256)
        .artifact("b.img", 256)
        .build();
    w.mirror("bad", "FR")
        .serves(&good)
        .tamper_artifact("a.img")
        .delete_artifact("b.img");
    let run = w.check();
    run.expect("bad", Status::Corrupt);
    assert_eq!(run.artifact_status("bad", "a.img"), "corrupt");
    assert_eq!(run.artifact_status("bad", "b.img"), "missing");
}

#[test]
fn artifacts_none_skips_every_artifact() {
    let mut w = World::new();
    let good = genuine(&w);
    w.mirror("fr", "FR").serves(&good);
    w.mirror("flipped", "FR").serves(&good).tamper_artifact(ZIP);
    w.mirror("gone", "DE").serves(&good).delete_artifact(ZIP);
    w.artifacts = ArtifactMode::None;
    let run = w.check();
    for name in ["fr", "flipped", "gone"] {
        run.expect(name, Status::Ok);
        assert_eq!(run.artifact_status(name, ZIP), "skipped");
    }
    assert_eq!(run.artifacts_mode, "none");
    assert!(run.ok);
}

#[test]
fn artifacts_size_catches_a_length_change_but_not_a_same_length_flip() {
    let mut w = World::new();
    let good = genuine(&w);
    w.mirror("fr", "FR").serves(&good);
    w.mirror("flipped", "FR").serves(&good).tamper_artifact(ZIP);
    w.mirror("longer", "DE")
        .serves(&good)
        .extend_artifact(ZIP, 10);
    w.mirror("shorter", "DE")
        .serves(&good)
        .truncate_artifact(ZIP, 10);
    w.mirror("gone", "DE").serves(&good).delete_artifact(ZIP);
    w.artifacts = ArtifactMode::Size;
    let run = w.check();
    run.expect("fr", Status::Ok);
    run.expect("flipped", Status::Ok); // the documented blind spot of `size`
    run.expect("longer", Status::Corrupt);
    run.expect("shorter", Status::Corrupt);
    run.expect("gone", Status::Incomplete);
    assert_eq!(run.artifacts_mode, "size");

    w.artifacts = ArtifactMode::Full;
    w.check().expect("flipped", Status::Corrupt);
}

#[test]
fn countries_aggregate_and_independence_ignores_countries_with_nothing_reachable() {
    let mut w = World::new();
    let (old, new) = (older(&w), genuine(&w));
    w.mirror("fr1", "FR").serves(&new);
    w.mirror("fr2", "FR").serves(&old);
    w.mirror("de1", "DE").serves(&new);
    w.mirror("us1", "US"); // nothing there: unreachable
    let run = w.check();
    let fr = &run.countries["FR"];
    assert_eq!((fr.mirrors, fr.ok), (2, 1));
    assert_eq!(fr.statuses.get(&Status::Ok), Some(&1));
    assert_eq!(fr.statuses.get(&Status::Stale), Some(&1));
    assert_eq!(fr.statuses.len(), 2);
    let de = &run.countries["DE"];
    assert_eq!((de.mirrors, de.ok), (1, 1));
    let us = &run.countries["US"];
    assert_eq!((us.mirrors, us.ok), (1, 0));
    assert_eq!(us.statuses.get(&Status::Unreachable), Some(&1));
    assert_eq!(run.countries.len(), 3);
    // Every country with a reachable mirror has an ok one: independent, though not ok.
    assert!(run.independent);
    assert!(!run.ok);
}

#[test]
fn not_independent_when_one_country_only_has_stale_mirrors() {
    let mut w = World::new();
    let (old, new) = (older(&w), genuine(&w));
    w.mirror("fr", "FR").serves(&new);
    w.mirror("ir1", "IR").serves(&old);
    w.mirror("ir2", "IR").serves(&old).over_http();
    let run = w.check();
    run.expect("ir1", Status::Stale);
    run.expect("ir2", Status::Stale);
    assert_eq!(run.countries["IR"].ok, 0);
    assert_eq!(run.countries["IR"].statuses.get(&Status::Stale), Some(&2));
    assert!(!run.independent);
    assert!(
        run.summary().contains("IR serves only"),
        "{}",
        run.summary()
    );
}

#[test]
fn not_independent_on_equivocation_even_if_every_country_has_an_ok_mirror() {
    let mut w = World::new();
    let new = genuine(&w);
    let a = w
        .release(OLD)
        .signed_by(&[0, 1])
        .artifact_bytes(ZIP, b"a")
        .build();
    let b = w
        .release(OLD)
        .signed_by(&[0, 1])
        .artifact_bytes(ZIP, b"b")
        .build();
    w.mirror("fr", "FR").serves(&new);
    w.mirror("de", "DE").serves(&new);
    w.mirror("fr-old", "FR").serves(&a);
    w.mirror("de-old", "DE").serves(&b);
    let run = w.check();
    run.expect("fr", Status::Ok);
    run.expect("de", Status::Ok);
    run.expect("fr-old", Status::Equivocating);
    assert!(run.countries.values().all(|c| c.ok > 0));
    assert!(!run.equivocations.is_empty());
    assert!(!run.independent);
    assert!(!run.ok);
}

#[test]
fn an_artifact_signed_with_an_absurd_length_is_corrupt_on_every_transport() {
    // The publisher signed length u64::MAX: no mirror can serve that many bytes, so the
    // file on the mirror is shorter than signed. Same verdict over disk and HTTP.
    let mut w = World::new();
    let r = w
        .release(V)
        .artifact(ZIP, 64)
        .edit(|d| d["artifacts"][ZIP]["length"] = json!(u64::MAX))
        .signed_by(&[0, 1])
        .build();
    w.mirror("dir", "FR").serves(&r);
    w.mirror("http", "DE").serves(&r).over_http();
    let run = w.check();
    for m in ["dir", "http"] {
        run.expect(m, Status::Corrupt);
        assert_eq!(run.artifact_status(m, ZIP), "corrupt");
        assert!(
            run.error(m)
                .contains(&format!("64 bytes where {} were signed", u64::MAX)),
            "{m}: {}",
            run.error(m)
        );
    }
}
