//! The same verdicts over real loopback HTTP servers, including servers that misbehave:
//! one that never answers, one that streams forever, one that lost a file. A hostile or
//! broken mirror must cost at most its own timeout and never change another mirror's verdict.

mod common;

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::Duration;

use common::*;
use mirrorproof::fetch::ArtifactMode;

fn genuine(w: &World) -> Release {
    w.release(V).signed_by(&[0, 1]).artifact(ZIP, 8192).build()
}

fn older(w: &World) -> Release {
    w.release(OLD)
        .published(w.now - days(21))
        .signed_by(&[1, 2])
        .artifact(ZIP, 8192)
        .build()
}

/// A plain GET outside mirrorproof: proves a server still answers after a run.
fn http_get_status(server: &Server, path: &str) -> u16 {
    let mut s = TcpStream::connect(server.addr()).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    write!(s, "GET {path} HTTP/1.1\r\nHost: x\r\n\r\n").unwrap();
    let mut head = [0u8; 12];
    s.read_exact(&mut head).unwrap();
    std::str::from_utf8(&head[9..12]).unwrap().parse().unwrap()
}

#[test]
fn a_dead_mirror_times_out_while_the_others_are_judged_correctly() {
    let mut w = World::new();
    w.fetch.timeout = Duration::from_secs(1);
    let (old, new) = (older(&w), genuine(&w));
    w.mirror("ok", "FR").serves(&new).over_http();
    w.mirror("stale", "DE").serves(&old).over_http();
    w.mirror("corrupt", "NL")
        .serves(&new)
        .tamper_artifact(ZIP)
        .over_http();
    w.mirror("dead", "US")
        .serves(&new)
        .http(Behavior::NeverAnswer);
    let run = w.check();
    run.expect("ok", Status::Ok);
    run.expect("stale", Status::Stale);
    run.expect("corrupt", Status::Corrupt);
    let dead = run.expect("dead", Status::Unreachable);
    assert!(run.error("dead").contains("timed out"), "{:?}", dead.error);
    assert_eq!(dead.version, None);
    // The dead server accepted connections but was never sent a parsed request.
    assert_eq!(w.server("dead").requests(), 0);
    assert_eq!(run.latest.as_ref().unwrap().version, V);
}

#[test]
fn a_mirror_whose_server_is_gone_is_unreachable() {
    let mut w = World::new();
    let new = genuine(&w);
    w.mirror("ok", "FR").serves(&new).over_http();
    w.mirror("gone", "DE").serves(&new).over_http().stop_http();
    let run = w.check();
    run.expect("ok", Status::Ok);
    let m = run.expect("gone", Status::Unreachable);
    assert!(m.error.is_some());
    assert_eq!(m.version, None);
    assert!(
        run.independent,
        "a country with nothing reachable does not count"
    );
}

#[test]
fn a_dead_mirror_does_not_stop_the_root_walk_on_the_others() {
    let mut w = World::new();
    w.fetch.timeout = Duration::from_secs(1);
    let v2 = w
        .root(2)
        .root_keys(&[1])
        .release_keys(&[3, 4, 5])
        .signed_by(&[0, 1])
        .build();
    let v3 = w
        .root(3)
        .root_keys(&[2])
        .release_keys(&[3, 4, 5])
        .signed_by(&[1, 2])
        .build();
    let new = w.release(V).signed_by(&[4, 5]).artifact(ZIP, 64).build();
    w.mirror("dead", "US")
        .serves(&new)
        .serves_root(&v2)
        .http(Behavior::NeverAnswer);
    w.mirror("a", "FR")
        .serves(&new)
        .serves_root(&v2)
        .over_http();
    w.mirror("b", "DE")
        .serves(&new)
        .serves_root(&v3)
        .over_http();
    let run = w.check();
    assert_eq!(run.root.as_ref().unwrap().version, 3);
    run.expect("dead", Status::Unreachable);
    run.expect("a", Status::Ok);
    run.expect("b", Status::Ok);
}

#[test]
fn an_endless_release_document_is_unreachable_over_the_size_limit() {
    let mut w = World::new();
    let new = genuine(&w);
    w.mirror("ok", "FR").serves(&new).over_http();
    w.mirror("endless", "DE")
        .serves(&new)
        .http(Behavior::EndlessOn("release.json".into()));
    let run = w.check();
    run.expect("ok", Status::Ok);
    let m = run.expect("endless", Status::Unreachable);
    assert!(
        run.error("endless").contains("size limit of 1048576 bytes"),
        "{:?}",
        m.error
    );
    // The server is still serving other paths: the client hung up, it did not hang.
    assert_eq!(
        http_get_status(w.server("endless"), &format!("/artifacts/{ZIP}")),
        200
    );
}

#[test]
fn an_endless_artifact_is_corrupt_and_the_reader_stops_at_length_plus_one() {
    let mut w = World::new();
    // Were the reader to keep going, the artifact deadline would end it and the verdict
    // would be `incomplete` (not fetched), not `corrupt`.
    w.fetch.artifact_timeout = Duration::from_secs(20);
    let new = genuine(&w);
    w.mirror("ok", "FR").serves(&new).over_http();
    w.mirror("endless", "DE")
        .serves(&new)
        .http(Behavior::EndlessOn(ZIP.into()));
    let run = w.check();
    run.expect("ok", Status::Ok);
    run.expect("endless", Status::Corrupt);
    assert!(
        run.error("endless")
            .contains("longer than the signed 8192 bytes"),
        "{}",
        run.error("endless")
    );
    assert_eq!(run.artifact_status("endless", ZIP), "corrupt");
    let server = w.server("endless");
    let before = server.requests();
    assert_eq!(http_get_status(server, "/stable/release.json"), 200);
    assert_eq!(server.requests(), before + 1);
    // And a second full run against the same server still works.
    w.check().expect("endless", Status::Corrupt);
}

#[test]
fn a_mirror_that_trickles_an_artifact_is_cut_off_by_the_artifact_deadline() {
    // Slowloris: every byte arrives, one per millisecond. The deadline covers the whole
    // body, so the artifact is "not fetched" (incomplete) instead of being waited for.
    let mut w = World::new();
    w.fetch.timeout = Duration::from_secs(15); // the ~1 KB release document gets through
    w.fetch.artifact_timeout = Duration::from_secs(1);
    let new = w
        .release(V)
        .signed_by(&[0, 1])
        .hashes(true, false)
        .artifact(ZIP, 64 * 1024)
        .build();
    w.mirror("ok", "FR").serves(&new).over_http();
    w.mirror("trickle", "DE")
        .serves(&new)
        .http(Behavior::SlowDrip(Duration::from_millis(1)));
    let run = w.check();
    run.expect("ok", Status::Ok);
    // The release itself was read and verified, byte by byte.
    let m = run.expect("trickle", Status::Incomplete);
    assert_eq!(m.version, Some(V));
    assert_eq!(run.artifact_status("trickle", ZIP), "error");
    assert!(
        run.error("trickle").contains("timed out"),
        "{}",
        run.error("trickle")
    );
}

#[test]
fn a_404_artifact_is_incomplete() {
    let mut w = World::new();
    let new = w
        .release(V)
        .signed_by(&[0, 1])
        .artifact(ZIP, 1024)
        .artifact("SHA256SUMS", 100)
        .build();
    w.mirror("ok", "FR").serves(&new).over_http();
    w.mirror("lost", "DE")
        .serves(&new)
        .delete_artifact(ZIP)
        .over_http();
    let run = w.check();
    run.expect("ok", Status::Ok);
    run.expect("lost", Status::Incomplete);
    assert_eq!(run.artifact_status("lost", ZIP), "missing");
    assert_eq!(run.artifact_status("lost", "SHA256SUMS"), "ok");
}

#[test]
fn a_mirror_answering_500_is_unreachable() {
    let mut w = World::new();
    let new = genuine(&w);
    w.mirror("ok", "FR").serves(&new).over_http();
    // The files are all there, but the server fails every request.
    w.mirror("flaky", "DE")
        .serves(&new)
        .http(Behavior::Status(500));
    let run = w.check();
    run.expect("ok", Status::Ok);
    run.expect("flaky", Status::Unreachable);
    assert!(run.error("flaky").contains("500"));
}

#[test]
fn http_and_directory_mirrors_in_one_run() {
    let mut w = World::new();
    let (old, new) = (older(&w), genuine(&w));
    w.mirror("http-ok", "FR").serves(&new).over_http();
    w.mirror("dir-ok", "FR").serves(&new);
    w.mirror("http-stale", "DE").serves(&old).over_http();
    w.mirror("dir-corrupt", "DE")
        .serves(&new)
        .extend_artifact(ZIP, 3);
    w.mirror("http-missing", "NL")
        .serves(&new)
        .delete_artifact(ZIP)
        .over_http();
    w.mirror("dir-gone", "NL");
    let run = w.check();
    run.expect("http-ok", Status::Ok);
    run.expect("dir-ok", Status::Ok);
    run.expect("http-stale", Status::Stale);
    run.expect("dir-corrupt", Status::Corrupt);
    run.expect("http-missing", Status::Incomplete);
    run.expect("dir-gone", Status::Unreachable);
    // Transport never changes the verdict's inputs: same payload, same signers.
    assert_eq!(
        run.mirror("http-ok").payload_sha256,
        run.mirror("dir-ok").payload_sha256
    );
    assert_eq!(run.mirror("http-ok").signers, run.mirror("dir-ok").signers);
    assert!(w.url_of("http-ok").starts_with("http://127.0.0.1:"));
    assert!(run.mirror("http-ok").url.starts_with("http://127.0.0.1:"));
}

#[test]
fn equivocation_is_seen_across_http_and_directory_mirrors() {
    let mut w = World::new();
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
    w.mirror("http", "FR").serves(&a).over_http();
    w.mirror("dir", "DE").serves(&b);
    let run = w.check();
    run.expect("http", Status::Equivocating);
    run.expect("dir", Status::Equivocating);
    assert_eq!(run.equivocations[0].mirrors.len(), 2);
}

#[test]
fn size_mode_over_http_uses_the_length_the_server_announces() {
    let mut w = World::new();
    let new = genuine(&w);
    w.mirror("ok", "FR").serves(&new).over_http();
    w.mirror("flipped", "FR")
        .serves(&new)
        .tamper_artifact(ZIP)
        .over_http();
    w.mirror("longer", "DE")
        .serves(&new)
        .extend_artifact(ZIP, 1)
        .over_http();
    w.mirror("shorter", "DE")
        .serves(&new)
        .truncate_artifact(ZIP, 1)
        .over_http();
    w.artifacts = ArtifactMode::Size;
    let run = w.check();
    run.expect("ok", Status::Ok);
    run.expect("flipped", Status::Ok); // same length: `size` cannot tell
    run.expect("longer", Status::Corrupt);
    run.expect("shorter", Status::Corrupt);
}

#[test]
fn size_mode_over_an_endless_artifact_still_stops() {
    let mut w = World::new();
    let new = genuine(&w);
    w.mirror("endless", "DE")
        .serves(&new)
        .http(Behavior::EndlessOn(ZIP.into()));
    w.artifacts = ArtifactMode::Size;
    let run = w.check();
    // HEAD announces no length here, so the body itself is measured, up to length + 1.
    run.expect("endless", Status::Corrupt);
    assert!(
        run.error("endless")
            .contains("longer than the signed 8192 bytes"),
        "{}",
        run.error("endless")
    );
}
