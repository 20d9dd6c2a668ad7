//! Attacks named in docs/THREATS.md that are not a single status: each mounted for real by a
//! mirror that holds what a real attacker would hold.

mod common;

use std::path::Path;

use common::ecosystems::{Signify, error_of, status_of};
use common::faulty::{Fault, FaultServer, Loopback};
use common::*;
use mirrorproof::fetch::{ArtifactMode, FetchConfig};
use mirrorproof::profile::Profile;
use mirrorproof::report::Report;
use mirrorproof::run::{self, CheckOptions};
use mirrorproof::schemes::files::{self, Files};
use sha2::{Digest, Sha256, Sha512};

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

/// The genuine artifact with one bit flipped: same name, same length.
fn flipped(bytes: &[u8]) -> Vec<u8> {
    let mut b = bytes.to_vec();
    let mid = b.len() / 2;
    b[mid] ^= 0x01;
    b
}

/// Retry attack: a mirror serves tampered bytes on the first GET of an artifact and the
/// genuine bytes on every later one, hoping that a verifier which fails the first listed
/// hash downloads again to try the second. The release lists sha256 and sha512; the
/// artifact is fetched once, both digests are computed over those bytes, and it is corrupt.
#[test]
fn tampered_bytes_on_the_first_request_and_genuine_ones_after_are_corrupt() {
    let mut w = World::new();
    let new = genuine(&w);
    let payload: serde_json::Value =
        serde_json::from_slice(&new.envelope.payload_bytes().unwrap()).unwrap();
    assert!(payload["artifacts"][ZIP]["sha256"].is_string());
    assert!(payload["artifacts"][ZIP]["sha512"].is_string());
    w.mirror("honest", "FR").serves(&new).over_http();
    let m = w.mirror("retry", "RU").serves(&new);
    let fault = Fault::tampered_first(&flipped(&new.files[ZIP]));
    let server = FaultServer::start(
        Loopback::V4,
        &m.dir(),
        vec![(&format!("/artifacts/{ZIP}"), fault.clone())],
    );
    m.at_url(&server.url());

    let run = w.check();
    run.expect("honest", Status::Ok);
    run.expect("retry", Status::Corrupt);
    assert!(
        run.error("retry")
            .contains("sha256 and sha512 do not match"),
        "{}",
        run.error("retry")
    );
    assert_eq!(fault.gets(), 1, "the artifact was asked for more than once");

    // The attack is real: whoever asks again gets the genuine bytes, and is satisfied.
    let again = w.check();
    again.expect("retry", Status::Ok);
    assert_eq!(fault.gets(), 2);
}

/// A publisher (or a document edited before signing) lists the right sha256 and a wrong
/// sha512: one matching hash is not enough, so the artifact is corrupt on every mirror,
/// on disk and over HTTP, and the report names sha512 alone.
#[test]
fn a_wrong_sha512_next_to_a_right_sha256_is_corrupt() {
    let mut w = World::new();
    let r = w
        .release(V)
        .signed_by(&[0, 1])
        .artifact(ZIP, 4096)
        .edit(|json| {
            json["artifacts"][ZIP]["sha512"] = "ab".repeat(64).into();
        })
        .build();
    w.mirror("disk", "FR").serves(&r);
    w.mirror("web", "DE").serves(&r).over_http();
    let run = w.check();
    for m in ["disk", "web"] {
        run.expect(m, Status::Corrupt);
        assert_eq!(run.artifact_status(m, ZIP), "corrupt");
        let why = run.error(m);
        assert!(why.contains("sha512 does not match"), "{why}");
        assert!(!why.contains("sha256"), "{why}");
    }
    assert_eq!(
        w.server("web")
            .requests_for("GET", &format!("/artifacts/{ZIP}")),
        1
    );
}

/// An OpenBSD-style mirror: `a.bin`, and `SHA256.sig`, a list signed by the real
/// `signify-openbsd` holding the given lines.
fn signify_mirror(dir: &Path, sec: &Path, bytes: &[u8], lines: &str) {
    std::fs::create_dir_all(dir).unwrap();
    std::fs::write(dir.join("a.bin"), bytes).unwrap();
    let scratch = tempfile::tempdir().unwrap();
    let listing = scratch.path().join("SHA256");
    std::fs::write(&listing, lines).unwrap();
    Signify::sign_embedded(sec, &listing, &dir.join("SHA256.sig"));
}

/// Runs `check` over a signify profile whose mirrors are these (name, country, URL).
fn check_signify(dir: &Path, key: &Path, mirrors: &[(&str, &str, String)]) -> Report {
    let mut text = format!(
        "name = \"obsd\"\nscheme = \"signify\"\nkey = {:?}\nchannel = \"c\"\nfile = \"SHA256.sig\"\n",
        key.display().to_string()
    );
    for (name, cc, url) in mirrors {
        text.push_str(&format!(
            "[[mirrors]]\nurl = {url:?}\ncountry = {cc:?}\nname = {name:?}\n"
        ));
    }
    let path = dir.join("profile.toml");
    std::fs::write(&path, text).unwrap();
    let profile = Profile::load(&path).unwrap();
    let (pinned, source) = files::load_pinned(&profile).unwrap();
    let opts = CheckOptions {
        channel: profile.channel.clone(),
        artifacts: ArtifactMode::Full,
        fetch: FetchConfig {
            timeout: std::time::Duration::from_secs(5),
            artifact_timeout: std::time::Duration::from_secs(5),
            ..FetchConfig::default()
        },
        state: None,
        now: mirrorproof::time::now(),
        vantages: Default::default(),
        hooks: Default::default(),
    };
    let files = Files::new(pinned, source, &profile.name, &opts);
    run::check(files, &profile.name, profile.mirrors, opts, None)
        .unwrap()
        .report
}

/// The retry attack on a signed checksum list that names `a.bin` with both SHA256 and
/// SHA512 (signify vouches for both): the file is fetched once for both lines, so the
/// mirror that serves tampered bytes first is corrupt, not ok.
#[test]
fn a_checksum_list_file_is_fetched_once_for_all_its_lines() {
    let tmp = tempfile::tempdir().unwrap();
    let (key, sec) = Signify::keygen(tmp.path(), "k");
    let bytes = pattern("a.bin", 1, 10_000);
    let lines = format!(
        "SHA256 (a.bin) = {}\nSHA512 (a.bin) = {}\n",
        hex::encode(Sha256::digest(&bytes)),
        hex::encode(Sha512::digest(&bytes))
    );
    let honest = tmp.path().join("honest");
    let retry = tmp.path().join("retry");
    signify_mirror(&honest, &sec, &bytes, &lines);
    signify_mirror(&retry, &sec, &bytes, &lines);
    let web = Server::serve_dir(&honest);
    let fault = Fault::tampered_first(&flipped(&bytes));
    let server = FaultServer::start(Loopback::V4, &retry, vec![("/a.bin", fault.clone())]);
    let r = check_signify(
        tmp.path(),
        &key,
        &[("honest", "FR", web.url()), ("retry", "RU", server.url())],
    );
    assert_eq!(status_of(&r, "honest"), "ok", "{}", error_of(&r, "honest"));
    assert_eq!(web.requests_for("GET", "/a.bin"), 1);
    assert_eq!(status_of(&r, "retry"), "corrupt");
    assert!(
        error_of(&r, "retry").contains("sha256 and sha512 do not match"),
        "{}",
        error_of(&r, "retry")
    );
    assert_eq!(fault.gets(), 1, "a.bin was asked for more than once");
}

/// A signed list whose SHA256 line is right and whose SHA512 line is wrong. `signify -C`
/// stops at the first line naming the file and accepts it (`differential.rs` records that);
/// here every line must match, so the mirror is corrupt whichever line comes first.
#[test]
fn a_checksum_list_with_one_wrong_line_for_a_file_is_corrupt() {
    let bytes = pattern("a.bin", 2, 5_000);
    let right256 = hex::encode(Sha256::digest(&bytes));
    let wrong512 = hex::encode(Sha512::digest(b"something else"));
    for lines in [
        format!("SHA256 (a.bin) = {right256}\nSHA512 (a.bin) = {wrong512}\n"),
        format!("SHA512 (a.bin) = {wrong512}\nSHA256 (a.bin) = {right256}\n"),
    ] {
        let tmp = tempfile::tempdir().unwrap();
        let (key, sec) = Signify::keygen(tmp.path(), "k");
        let (disk, served) = (tmp.path().join("disk"), tmp.path().join("web"));
        signify_mirror(&disk, &sec, &bytes, &lines);
        signify_mirror(&served, &sec, &bytes, &lines);
        let web = Server::serve_dir(&served);
        let r = check_signify(
            tmp.path(),
            &key,
            &[
                ("disk", "FR", disk.display().to_string()),
                ("web", "DE", web.url()),
            ],
        );
        for m in ["disk", "web"] {
            assert_eq!(status_of(&r, m), "corrupt", "{m}: {}", error_of(&r, m));
            let why = error_of(&r, m);
            assert!(why.contains("sha512 does not match"), "{why}");
            assert!(!why.contains("sha256"), "{why}");
        }
        assert_eq!(web.requests_for("GET", "/a.bin"), 1);
    }
}
