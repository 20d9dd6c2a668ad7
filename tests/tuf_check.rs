//! `check` with `scheme = "tuf"`: every mirror's chain verified from the pinned root over
//! real loopback HTTP, the mirrors judged together. Each scenario is one threat: a stale
//! mirror, a frozen one, keys that signed two snapshots of one version, a tampered
//! target, a rollback against the recorded state, garbage, a hidden root rotation, and
//! Sigstore's real (expired) metadata with the clock set back.

#[path = "common/http.rs"]
mod http;
#[path = "common/tuf.rs"]
mod repo;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Arc;
use std::time::Duration;

use http::{Behavior, Server};
use mirrorproof::evidence::EvidenceDir;
use mirrorproof::fetch::{ArtifactMode, FetchConfig};
use mirrorproof::profile::Profile;
use mirrorproof::report::{Report, Status};
use mirrorproof::run::{self, CheckOptions, Latest};
use mirrorproof::schemes::tuf::scheme;
use mirrorproof::state::StateStore;
use mirrorproof::time::{self, Timestamp};
use repo::{ByName, Repo};
use serde_json::json;
use sha2::{Digest, Sha256};

const BIN: &str = env!("CARGO_BIN_EXE_mirrorproof");

/// A mirror: its own copy of the repository as it was when copied, served over HTTP.
struct Mirror {
    name: String,
    dir: tempfile::TempDir,
    server: Server,
}

impl Mirror {
    fn path(&self) -> &Path {
        self.dir.path()
    }
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for e in std::fs::read_dir(from).unwrap() {
        let e = e.unwrap();
        let dst = to.join(e.file_name());
        if e.file_type().unwrap().is_dir() {
            copy_dir(&e.path(), &dst);
        } else {
            std::fs::copy(e.path(), dst).unwrap();
        }
    }
}

/// A mirror serving a copy of `from` as it is now.
fn mirror_of(name: &str, from: &Path) -> Mirror {
    let dir = tempfile::tempdir().unwrap();
    copy_dir(from, dir.path());
    let server = Server::start(dir.path().to_path_buf(), Behavior::Normal);
    Mirror {
        name: name.into(),
        dir,
        server,
    }
}

fn mirror(name: &str, repo: &Repo) -> Mirror {
    mirror_of(name, repo.path())
}

/// A profile pinning `root`, naming the mirrors (metadata under `metadata/`, targets
/// under `targets/`) and `targets`.
struct Setup {
    dir: tempfile::TempDir,
    profile: Profile,
}

fn setup(root: &[u8], mirrors: &[&Mirror], targets: &[&str]) -> Setup {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("root.json"), root).unwrap();
    let mut text = String::from("name = \"repo\"\nscheme = \"tuf\"\nroot = \"root.json\"\n");
    if !targets.is_empty() {
        text.push_str(&format!("targets = {}\n", json!(targets)));
    }
    for m in mirrors {
        text.push_str(&format!(
            "\n[[mirrors]]\nname = \"{}\"\nurl = \"{}metadata/\"\ntargets_url = \"{}targets/\"\n",
            m.name,
            m.server.url(),
            m.server.url()
        ));
    }
    let path = dir.path().join("profile.toml");
    std::fs::write(&path, text).unwrap();
    let profile = Profile::load(&path).unwrap();
    Setup { dir, profile }
}

impl Setup {
    fn path(&self) -> PathBuf {
        self.dir.path().join("profile.toml")
    }

    fn state(&self) -> PathBuf {
        self.dir.path().join("state")
    }

    fn run_at(&self, now: Timestamp, state: bool, evidence: Option<&Path>) -> Ran {
        let opts = CheckOptions {
            channel: self.profile.channel.clone(),
            artifacts: ArtifactMode::Full,
            fetch: FetchConfig {
                timeout: Duration::from_secs(5),
                ..FetchConfig::default()
            },
            state: state.then(|| StateStore::new(self.state())),
            now,
            vantages: Default::default(),
            hooks: Default::default(),
        };
        let ev = evidence.map(|p| Arc::new(EvidenceDir::create(p).unwrap()));
        let out = run::check_profile(
            &self.profile,
            self.profile.mirrors.clone(),
            opts,
            ev.clone(),
        )
        .unwrap();
        if let Some(ev) = ev {
            out.finish_evidence(&ev, &self.profile).unwrap();
        }
        let Latest::Tuf(latest) = &out.latest else {
            panic!("a tuf profile runs the tuf scheme");
        };
        Ran {
            snapshot_recorded: latest.snapshot_recorded,
            report: out.report,
            state_written: out.state_written,
        }
    }

    fn run(&self) -> Ran {
        self.run_at(time::now(), false, None)
    }
}

struct Ran {
    report: Report,
    state_written: bool,
    snapshot_recorded: bool,
}

impl std::ops::Deref for Ran {
    type Target = Report;
    fn deref(&self) -> &Report {
        &self.report
    }
}

fn past() -> String {
    repo::expiry(chrono::Utc::now() - chrono::TimeDelta::days(1))
}

fn future() -> String {
    repo::expiry(chrono::Utc::now() + chrono::TimeDelta::days(30))
}

#[test]
fn honest_mirrors_are_ok_and_the_command_exits_0() {
    let repo = Repo::with_target();
    let (a, b, c) = (mirror("a", &repo), mirror("b", &repo), mirror("c", &repo));
    let s = setup(&repo.root_bytes(1), &[&a, &b, &c], &["pkg.tar"]);
    let r = s.run();
    assert!(r.report.ok, "{}", r.table());
    for m in ["a", "b", "c"] {
        let m = r.expect(m, Status::Ok);
        assert_eq!(m.version, Some(repo.version("timestamp")));
        assert_eq!(m.artifacts.len(), 1);
        assert_eq!(m.artifacts[0].status, "ok");
        assert_eq!(m.documents["root"], 1);
        assert_eq!(m.documents["snapshot"], repo.version("snapshot"));
        assert_eq!(m.documents["targets"], 2);
    }
    assert_eq!(r.report.scheme, Some("tuf"));
    assert_eq!(r.report.root.as_ref().unwrap().version, 1);
    let json: serde_json::Value = serde_json::from_str(&r.report.to_json()).unwrap();
    assert_eq!(json["schema"], "mirrorproof.report/1");
    assert_eq!(json["mirrors"][0]["documents"]["targets"], 2);

    // The command line: the same verdict, exit 0, the JSON report, and the evidence.
    let ev = s.dir.path().join("cli-evidence");
    let out = Command::new(BIN)
        .args(["check", "--no-state", "--json", "--evidence"])
        .arg(&ev)
        .arg(s.path())
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(json["ok"], true);
    assert_eq!(json["scheme"], "tuf");
    assert_eq!(
        std::fs::read(ev.join("pinned-root-1.json")).unwrap(),
        repo.root_bytes(1)
    );
    for i in 0..3 {
        let kept = std::fs::read(ev.join(format!("mirrors/000{i}/timestamp.json"))).unwrap();
        assert_eq!(
            kept,
            std::fs::read(repo.path().join("metadata/timestamp.json")).unwrap()
        );
    }
    let text = std::fs::read_to_string(ev.join("profile.toml")).unwrap();
    assert!(text.contains("scheme = \"tuf\"") && text.contains("targets = [\"pkg.tar\"]"));
    assert!(ev.join("report.json").exists());
}

#[test]
fn a_mirror_that_missed_the_last_publication_is_stale() {
    let mut repo = Repo::with_target();
    let behind = mirror("behind", &repo);
    repo.update_snapshot();
    let (a, b) = (mirror("a", &repo), mirror("b", &repo));
    let s = setup(&repo.root_bytes(1), &[&a, &behind, &b], &["pkg.tar"]);
    let r = s.run();
    r.expect("a", Status::Ok);
    r.expect("b", Status::Ok);
    let m = r.expect("behind", Status::Stale);
    assert_eq!(m.version, Some(repo.version("timestamp") - 1));
    assert!(
        r.error("behind").starts_with("serves timestamp "),
        "{}",
        r.table()
    );
    assert_eq!(m.documents["snapshot"], repo.version("snapshot") - 1);
    assert!(!r.report.ok);
}

#[test]
fn a_frozen_mirror_serving_an_expired_timestamp_is_expired() {
    let mut repo = Repo::with_target();
    repo.md.get_mut("timestamp").unwrap()["expires"] = json!(past());
    repo.publish("timestamp");
    let frozen = mirror("frozen", &repo);
    repo.md.get_mut("timestamp").unwrap()["expires"] = json!(future());
    repo.publish("timestamp");
    let a = mirror("a", &repo);
    let s = setup(&repo.root_bytes(1), &[&a, &frozen], &["pkg.tar"]);
    let r = s.run();
    r.expect("a", Status::Ok);
    r.expect("frozen", Status::Expired);
    assert!(
        r.error("frozen").starts_with("timestamp "),
        "{}",
        r.error("frozen")
    );
}

#[test]
fn two_snapshots_signed_under_one_version_are_equivocation_with_both_kept_as_evidence() {
    let mut repo = Repo::with_target();
    let (a, b) = (mirror("a", &repo), mirror("b", &repo));
    // The snapshot key signs another snapshot under the same version (naming a targets
    // role the other mirrors never saw); the timestamp, which names only the version,
    // is the same.
    repo.add_target("targets", "evil.tar", b"evil");
    repo.publish("targets");
    repo.write("snapshot");
    let split = mirror("split", &repo);
    let s = setup(&repo.root_bytes(1), &[&a, &b, &split], &["pkg.tar"]);
    let ev = s.dir.path().join("evidence");
    let r = s.run_at(time::now(), false, Some(&ev));
    for m in ["a", "b", "split"] {
        r.expect(m, Status::Equivocating);
    }
    let sv = repo.version("snapshot");
    assert!(r.error("split").contains(&format!("snapshot {sv}")));
    let e = &r.report.equivocations[0];
    assert_eq!(e.kind.as_deref(), Some("snapshot"));
    assert_eq!(e.version, sv);
    assert_eq!(e.payload_sha256.len(), 2);
    assert_eq!(e.mirrors.len(), 3);
    assert!(!r.report.ok);
    // Both signed snapshots are in the bundle, as each mirror served them.
    let name = format!("{sv}.snapshot.json");
    let honest = std::fs::read(ev.join("mirrors/0000").join(&name)).unwrap();
    let other = std::fs::read(ev.join("mirrors/0002").join(&name)).unwrap();
    assert_ne!(honest, other);
    assert_eq!(
        honest,
        std::fs::read(a.path().join("metadata").join(&name)).unwrap()
    );
    assert_eq!(
        other,
        std::fs::read(split.path().join("metadata").join(&name)).unwrap()
    );
    // The bundle re-checks offline to the same verdict.
    let offline = Profile::load(&ev.join("profile.toml")).unwrap();
    assert_eq!(offline.scheme, "tuf");
    let opts = CheckOptions {
        channel: offline.channel.clone(),
        artifacts: ArtifactMode::None,
        fetch: FetchConfig::default(),
        state: None,
        now: time::now(),
        vantages: Default::default(),
        hooks: Default::default(),
    };
    let again = run::check_profile(&offline, offline.mirrors.clone(), opts, None).unwrap();
    let statuses: Vec<Status> = again.report.mirrors.iter().map(|m| m.status).collect();
    assert_eq!(statuses, vec![Status::Equivocating; 3]);
    assert_eq!(again.report.equivocations.len(), 1);
}

#[test]
fn a_tampered_target_makes_its_mirror_corrupt() {
    let repo = Repo::with_target();
    let (a, bad) = (mirror("a", &repo), mirror("bad", &repo));
    let h = hex::encode(Sha256::digest(b"package bytes"));
    // Consistent snapshots: the target is fetched as HASH.NAME.
    std::fs::write(
        bad.path().join(format!("targets/{h}.pkg.tar")),
        b"package bytez",
    )
    .unwrap();
    let s = setup(&repo.root_bytes(1), &[&a, &bad], &["pkg.tar"]);
    let r = s.run();
    r.expect("a", Status::Ok);
    let m = r.expect("bad", Status::Corrupt);
    assert_eq!(m.artifacts[0].status, "corrupt");
}

#[test]
fn mirrors_older_than_the_recorded_state_are_rollback() {
    let mut repo = Repo::with_target();
    let old = mirror("old", &repo);
    repo.update_snapshot();
    let new = mirror("new", &repo);
    let first = setup(&repo.root_bytes(1), &[&new], &["pkg.tar"]);
    let r = first.run_at(time::now(), true, None);
    r.expect("new", Status::Ok);
    assert!(r.state_written && r.snapshot_recorded);
    let recorded = StateStore::new(first.state())
        .load(&scheme::state_key("repo"), "default")
        .unwrap()
        .unwrap();
    assert_eq!(recorded.version, repo.version("timestamp"));
    let snap = StateStore::new(first.state())
        .load(&scheme::state_key("repo"), "default.snapshot")
        .unwrap()
        .unwrap();
    assert_eq!(snap.version, repo.version("snapshot"));

    // The next run sees only a mirror serving the publication before.
    let second = setup(&repo.root_bytes(1), &[&old], &["pkg.tar"]);
    copy_dir(&first.state(), &second.state());
    let r = second.run_at(time::now(), true, None);
    r.expect("old", Status::Rollback);
    assert!(r.report.latest.is_none());
}

#[test]
fn a_newer_timestamp_over_an_older_snapshot_than_recorded_is_rollback() {
    let mut repo = Repo::with_target();
    repo.update_snapshot();
    let new = mirror("new", &repo);
    let s = setup(&repo.root_bytes(1), &[&new], &["pkg.tar"]);
    assert!(s.run_at(time::now(), true, None).snapshot_recorded);
    // The timestamp key alone signs a newer timestamp naming the older snapshot.
    let sv = repo.version("snapshot");
    repo.md.get_mut("timestamp").unwrap()["meta"]["snapshot.json"] = json!({"version": sv - 1});
    let v = repo.version("timestamp") + 1;
    repo.md.get_mut("timestamp").unwrap()["version"] = json!(v);
    let keys: Vec<_> = repo.signers["timestamp"].iter().collect();
    let bytes = repo::sign(&repo.md["timestamp"], &keys);
    std::fs::write(new.path().join("metadata/timestamp.json"), bytes).unwrap();
    let r = s.run_at(time::now(), true, None);
    let m = r.expect("new", Status::Rollback);
    assert!(
        m.error.as_deref().unwrap().contains("snapshot"),
        "{}",
        r.table()
    );
}

#[test]
fn garbage_and_foreign_signatures_are_invalid() {
    let mut repo = Repo::with_target();
    let (a, garbage, forged) = (
        mirror("a", &repo),
        mirror("garbage", &repo),
        mirror("forged", &repo),
    );
    std::fs::write(
        garbage.path().join("metadata/timestamp.json"),
        b"\x00{not json",
    )
    .unwrap();
    // A stranger's key signs a newer timestamp.
    let stranger = repo.new_key();
    let v = repo.version("timestamp") + 1;
    repo.md.get_mut("timestamp").unwrap()["version"] = json!(v);
    let bytes = repo::sign(&repo.md["timestamp"], &[&stranger]);
    std::fs::write(forged.path().join("metadata/timestamp.json"), bytes).unwrap();
    let failing = Mirror {
        name: "failing".into(),
        server: Server::start(a.path().to_path_buf(), Behavior::Status(503)),
        dir: tempfile::tempdir().unwrap(),
    };
    let s = setup(
        &repo.root_bytes(1),
        &[&a, &garbage, &forged, &failing],
        &["pkg.tar"],
    );
    let r = s.run();
    r.expect("a", Status::Ok);
    r.expect("failing", Status::Unreachable);
    r.expect("garbage", Status::Invalid);
    let m = r.expect("forged", Status::Invalid);
    assert!(
        m.error.as_deref().unwrap().contains("threshold"),
        "{}",
        r.table()
    );
}

#[test]
fn a_root_rotation_on_one_mirror_holds_for_all_and_revoked_keys_vouch_for_nothing() {
    let mut repo = Repo::with_target();
    // Keys come from fixed seeds in creation order: root 1, timestamp 2.
    let old_timestamp_key = repo::key(2);
    assert_eq!(
        repo::keyid(&old_timestamp_key),
        repo::keyid(&repo.signers["timestamp"][0])
    );
    let behind = mirror("behind", &repo);
    let hiding = mirror("hiding", &repo);
    // Root 2 rotates the timestamp key; a new timestamp is signed with the new one.
    repo.rotate_keys("timestamp", 1);
    repo.publish("root");
    repo.update_snapshot();
    let rotated = mirror("rotated", &repo);
    // A mirror that hides root 2 and serves a newer timestamp under the revoked key.
    let mut ts = repo.md["timestamp"].clone();
    ts["version"] = json!(repo.version("timestamp") + 5);
    std::fs::write(
        hiding.path().join("metadata/timestamp.json"),
        repo::sign(&ts, &[&old_timestamp_key]),
    )
    .unwrap();
    // (It serves the snapshot the new timestamp names, so only the key is wrong.)
    let name = format!("{}.snapshot.json", repo.version("snapshot"));
    std::fs::copy(
        rotated.path().join("metadata").join(&name),
        hiding.path().join("metadata").join(&name),
    )
    .unwrap();
    let s = setup(
        &repo.root_bytes(1),
        &[&rotated, &behind, &hiding],
        &["pkg.tar"],
    );
    let ev = s.dir.path().join("evidence");
    let r = s.run_at(time::now(), false, Some(&ev));
    let m = r.expect("rotated", Status::Ok);
    assert_eq!(m.documents["root"], 2);
    // Behind: its timestamp verifies only under root 1, and it is older: stale.
    let m = r.expect("behind", Status::Stale);
    assert_eq!(m.documents["root"], 1);
    // Hiding: newer than anything root 2's keys signed, signed by a revoked key.
    r.expect("hiding", Status::Invalid);
    assert!(r.error("hiding").contains("root 2"), "{}", r.table());
    assert_eq!(r.report.root.as_ref().unwrap().version, 2);
    assert_eq!(
        r.report.latest.as_ref().unwrap().version,
        repo.version("timestamp")
    );
    // Offline, the bundle holds what each mirror served (root 2 only on the mirror that
    // served it) and reaches the same verdicts through the same rounds.
    assert!(ev.join("mirrors/0000/2.root.json").exists());
    assert!(!ev.join("mirrors/0001/2.root.json").exists());
    let offline = Profile::load(&ev.join("profile.toml")).unwrap();
    let opts = CheckOptions {
        channel: offline.channel.clone(),
        artifacts: ArtifactMode::None,
        fetch: FetchConfig::default(),
        state: None,
        now: time::now(),
        vantages: Default::default(),
        hooks: Default::default(),
    };
    let again = run::check_profile(&offline, offline.mirrors.clone(), opts, None).unwrap();
    let statuses: Vec<Status> = again.report.mirrors.iter().map(|m| m.status).collect();
    assert_eq!(statuses, [Status::Ok, Status::Stale, Status::Invalid]);
}

#[test]
fn a_mirror_behind_a_rotation_of_root_keys_only_is_judged_under_the_new_root() {
    let mut repo = Repo::with_target();
    let behind = mirror("behind", &repo);
    repo.rotate_keys("root", 1);
    // Root 2 is signed by the old and the new root key.
    repo.signers.get_mut("root").unwrap().push(repo::key(1));
    repo.publish("root");
    let rotated = mirror("rotated", &repo);
    let s = setup(&repo.root_bytes(1), &[&rotated, &behind], &["pkg.tar"]);
    let r = s.run();
    r.expect("rotated", Status::Ok);
    // Same timestamp, still signed by a key root 2 keeps; but its clients never learn
    // root 2, which revoked a root key: behind.
    r.expect("behind", Status::Stale);
    assert!(r.error("behind").contains("root 2"), "{}", r.table());
    assert!(
        r.report.notices.iter().any(|n| n.contains("root 2")),
        "{}",
        r.table()
    );
}

#[test]
fn consistent_snapshots_fetch_versioned_metadata_and_hash_prefixed_targets() {
    let repo = Repo::with_target();
    assert!(repo.consistent());
    let a = mirror("a", &repo);
    // Only the hash-prefixed target and versioned metadata are needed.
    std::fs::remove_file(a.path().join("targets/pkg.tar")).unwrap();
    let s = setup(&repo.root_bytes(1), &[&a], &["pkg.tar"]);
    let r = s.run();
    r.expect("a", Status::Ok);
    let sv = repo.version("snapshot");
    assert_eq!(
        a.server
            .requests_for("GET", &format!("/metadata/{sv}.snapshot.json")),
        1
    );
    assert_eq!(a.server.requests_for("GET", "/metadata/2.targets.json"), 1);
    let h = hex::encode(Sha256::digest(b"package bytes"));
    assert_eq!(
        a.server
            .requests_for("GET", &format!("/targets/{h}.pkg.tar")),
        1
    );
}

#[test]
fn without_consistent_snapshots_targets_are_fetched_by_name() {
    let mut repo = Repo::with_target();
    repo.md.get_mut("root").unwrap()["consistent_snapshot"] = json!(false);
    repo.publish("root");
    repo.update_snapshot();
    let a = mirror("a", &repo);
    let s = setup(&repo.root_bytes(1), &[&a], &["pkg.tar"]);
    let r = s.run();
    r.expect("a", Status::Ok);
    assert_eq!(a.server.requests_for("GET", "/metadata/snapshot.json"), 1);
    assert_eq!(a.server.requests_for("GET", "/targets/pkg.tar"), 1);
}

#[test]
fn bad_tuf_profiles_are_refused_with_the_reason() {
    let dir = tempfile::tempdir().unwrap();
    let load = |body: &str| {
        let p = dir.path().join("p.toml");
        std::fs::write(&p, format!("name = \"x\"\nscheme = \"tuf\"\n{body}")).unwrap();
        Profile::load(&p).map(|_| ()).unwrap_err().to_string()
    };
    assert!(load("").contains("needs root"));
    assert!(load("root = \"r.json\"\nkey = \"k\"\n").contains("key is not used"));
    let e = load("root = \"r.json\"\ntargets = [\"../etc/passwd\"]\n");
    assert!(e.contains("p.toml") && e.contains("../etc/passwd"), "{e}");
    let e = load(
        "root = \"r.json\"\n[[mirrors]]\nurl = \"https://m.example/\"\ntargets_url = \"ftp://x/\"\n",
    );
    assert!(e.contains("targets_url"), "{e}");
    // No channel: TUF has none; the state is kept under "default".
    let p = dir.path().join("ok.toml");
    std::fs::write(&p, "name = \"x\"\nscheme = \"tuf\"\nroot = \"r.json\"\n").unwrap();
    assert_eq!(Profile::load(&p).unwrap().channel, "default");
    // targets belong to TUF only.
    std::fs::write(
        &p,
        "name = \"x\"\nroot = \"r.json\"\nchannel = \"s\"\ntargets = [\"a\"]\n",
    )
    .unwrap();
    assert!(
        Profile::load(&p)
            .unwrap_err()
            .to_string()
            .contains("only used by scheme \"tuf\"")
    );
}

/// Sigstore's April 2023 publication (fixtures/sigstore-tuf/): real keys (YubiKeys, KMS,
/// ECDSA with high S), every file expired by now, so the clock is set to 2023-04-24.
fn sigstore_mirror(name: &str) -> Mirror {
    let dir = tempfile::tempdir().unwrap();
    let fixture = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("fixtures/sigstore-tuf/metadata");
    let meta = dir.path().join("metadata");
    std::fs::create_dir_all(&meta).unwrap();
    for f in [
        "6.root.json",
        "timestamp.json",
        "80.snapshot.json",
        "7.targets.json",
    ] {
        std::fs::copy(fixture.join(f), meta.join(f)).unwrap();
    }
    let server = Server::start(dir.path().to_path_buf(), Behavior::Normal);
    Mirror {
        name: name.into(),
        dir,
        server,
    }
}

fn sigstore_root() -> Vec<u8> {
    std::fs::read(
        PathBuf::from(env!("CARGO_MANIFEST_DIR"))
            .join("fixtures/sigstore-tuf/metadata/6.root.json"),
    )
    .unwrap()
}

fn april_2023() -> Timestamp {
    time::parse("2023-04-24T00:00:00Z").unwrap()
}

#[test]
fn sigstores_real_publication_on_three_mirrors_is_ok() {
    let ms = [
        sigstore_mirror("cdn"),
        sigstore_mirror("gcs"),
        sigstore_mirror("github"),
    ];
    let s = setup(&sigstore_root(), &[&ms[0], &ms[1], &ms[2]], &[]);
    let r = s.run_at(april_2023(), false, None);
    assert!(r.report.ok, "{}", r.table());
    for m in ["cdn", "gcs", "github"] {
        let m = r.expect(m, Status::Ok);
        assert_eq!(m.version, Some(80));
        assert_eq!(m.documents["root"], 6);
        assert_eq!(m.documents["snapshot"], 80);
        assert_eq!(m.documents["targets"], 7);
    }
    // A day after the timestamp expired, every mirror is frozen in the past.
    let r = s.run_at(time::parse("2023-04-26T00:00:00Z").unwrap(), false, None);
    r.expect("cdn", Status::Expired);
}

#[test]
fn one_altered_byte_in_sigstores_targets_makes_that_mirror_invalid() {
    let ms = [
        sigstore_mirror("cdn"),
        sigstore_mirror("gcs"),
        sigstore_mirror("github"),
    ];
    let t = ms[1].path().join("metadata/7.targets.json");
    let mut bytes = std::fs::read(&t).unwrap();
    let at = bytes.len() / 2;
    bytes[at] = if bytes[at] == b'a' { b'b' } else { b'a' };
    std::fs::write(&t, bytes).unwrap();
    let s = setup(&sigstore_root(), &[&ms[0], &ms[1], &ms[2]], &[]);
    let r = s.run_at(april_2023(), false, None);
    r.expect("cdn", Status::Ok);
    r.expect("github", Status::Ok);
    r.expect("gcs", Status::Invalid);
    assert!(r.error("gcs").contains("targets"), "{}", r.table());
}

#[test]
fn one_signed_timestamp_in_two_encodings_is_the_same_content() {
    let repo = Repo::with_target();
    let (a, b) = (mirror("a", &repo), mirror("b", &repo));
    // Mirror b re-encodes the file (compact JSON): other bytes, the same signed content.
    let path = b.path().join("metadata/timestamp.json");
    let value: serde_json::Value = serde_json::from_slice(&std::fs::read(&path).unwrap()).unwrap();
    let compact = serde_json::to_vec(&value).unwrap();
    assert_ne!(
        compact,
        std::fs::read(a.path().join("metadata/timestamp.json")).unwrap()
    );
    std::fs::write(&path, compact).unwrap();
    let s = setup(&repo.root_bytes(1), &[&a, &b], &["pkg.tar"]);
    let r = s.run();
    r.expect("a", Status::Ok);
    r.expect("b", Status::Ok);
    assert!(r.report.equivocations.is_empty(), "{}", r.table());
    assert_eq!(r.mirror("a").payload_sha256, r.mirror("b").payload_sha256);
}

#[test]
fn a_targets_metadata_larger_than_a_native_release_is_within_tufs_own_limit() {
    // Real repositories list thousands of targets: 12,000 entries make targets.json about
    // 1.5 MB, over the 1 MiB a native release document may weigh, under TUF's 5,000,000.
    let mut repo = Repo::with_target();
    for i in 0..12_000 {
        repo.md.get_mut("targets").unwrap()["targets"][format!("pkgs/p{i:05}.tar")] = json!({
            "length": 1000 + i,
            "hashes": {"sha256": hex::encode(Sha256::digest(i.to_string()))}
        });
    }
    repo.update_targets();
    let name = format!("metadata/{}.targets.json", repo.version("targets"));
    let size = std::fs::metadata(repo.path().join(name)).unwrap().len();
    assert!(size > 1 << 20, "targets.json is {size} bytes");
    let a = mirror("a", &repo);
    let s = setup(&repo.root_bytes(1), &[&a], &["pkg.tar"]);
    let check = |extra: &[&str]| {
        Command::new(BIN)
            .args(["check", "--no-state", "--json"])
            .args(extra)
            .arg(s.path())
            .output()
            .unwrap()
    };
    let out = check(&[]);
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(out.status.code(), Some(0), "{json}");
    assert_eq!(json["mirrors"][0]["status"], "ok");
    // A limit the user sets still holds.
    let out = check(&["--max-metadata-bytes", "1048576"]);
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(out.status.code(), Some(1), "{json}");
    assert_ne!(json["mirrors"][0]["status"], "ok");
}

/// The one walk `check` does on a mirror, through a verification cache the test holds.
fn observe_through(
    cache: &Arc<mirrorproof::schemes::tuf::cache::VerifyCache>,
    root: &[u8],
    m: &Mirror,
) -> mirrorproof::schemes::tuf::audit::MirrorView {
    use mirrorproof::fetch::Fetcher;
    use mirrorproof::schemes::tuf::{Config, FetcherSource, audit};
    let fetch = FetchConfig {
        timeout: Duration::from_secs(5),
        ..FetchConfig::default()
    };
    let source = FetcherSource::new(Arc::new(Fetcher::new(fetch, &[]).unwrap()));
    let meta = url::Url::parse(&format!("{}metadata/", m.server.url())).unwrap();
    let tgts = url::Url::parse(&format!("{}targets/", m.server.url())).unwrap();
    // Multi-threaded, as `check` runs: large documents are verified off the workers.
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap()
        .block_on(audit::observe_mirror_shared(
            root,
            &source,
            &meta,
            &tgts,
            &["pkg.tar".to_owned()],
            ArtifactMode::Full,
            &Config::default(),
            time::now(),
            Some(cache),
        ))
}

#[test]
fn a_tampered_copy_is_refused_after_an_honest_copy_was_verified_once_for_all() {
    use mirrorproof::schemes::tuf::audit::Outcome;
    use mirrorproof::schemes::tuf::cache::VerifyCache;
    // Enough targets that targets.json is verified off the runtime's workers.
    let mut repo = Repo::with_target();
    for i in 0..2_000 {
        repo.md.get_mut("targets").unwrap()["targets"][format!("pkgs/p{i:05}.tar")] = json!({
            "length": 1000 + i,
            "hashes": {"sha256": hex::encode(Sha256::digest(i.to_string()))}
        });
    }
    repo.update_targets();
    let name = format!("metadata/{}.targets.json", repo.version("targets"));
    assert!(std::fs::metadata(repo.path().join(&name)).unwrap().len() > 64 * 1024);
    let honest = mirror("honest", &repo);
    let tampered = mirror("tampered", &repo);
    // The same signed part but one signed length changed: valid JSON, other bytes, and
    // (snapshot lists no hashes here) only the signatures can tell.
    let path = tampered.path().join(&name);
    let mut v: serde_json::Value = serde_json::from_slice(&std::fs::read(&path).unwrap()).unwrap();
    v["signed"]["targets"]["pkg.tar"]["length"] = json!(14);
    std::fs::write(&path, serde_json::to_vec(&v).unwrap()).unwrap();
    let root = repo.root_bytes(1);

    let cache = Arc::new(VerifyCache::new());
    let first = observe_through(&cache, &root, &honest);
    assert_eq!(first.outcome, Outcome::Ok, "{first:?}");
    // Timestamp, snapshot, targets (the pinned root is checked by each walk itself).
    assert_eq!(cache.verifications(), 3);
    for round in 0..2 {
        let bad = observe_through(&cache, &root, &tampered);
        let Outcome::Invalid(why) = &bad.outcome else {
            panic!("round {round}: {:?}", bad.outcome);
        };
        assert!(
            why.contains("targets") && why.contains("threshold"),
            "{why}"
        );
        assert!(bad.latest("targets").is_none());
        // The same timestamp and snapshot bytes were not verified again; the tampered
        // targets was, each time: a failure is never kept.
        assert_eq!(cache.verifications(), 4 + round);
        let again = observe_through(&cache, &root, &honest);
        assert_eq!(again.outcome, Outcome::Ok);
        assert_eq!(again.documents, first.documents);
        assert_eq!(cache.verifications(), 4 + round);
    }
    // A fresh cache says the same of the tampered copy first.
    let fresh = Arc::new(VerifyCache::new());
    let bad = observe_through(&fresh, &root, &tampered);
    assert!(matches!(bad.outcome, Outcome::Invalid(_)), "{bad:?}");
}

#[test]
fn three_hundred_mirrors_serving_one_repository_verify_each_document_once() {
    let repo = Repo::with_target();
    // One server, three hundred mirrors below it, each its own copy.
    let dir = tempfile::tempdir().unwrap();
    for i in 0..300 {
        copy_dir(repo.path(), &dir.path().join(format!("m{i:03}")));
    }
    let server = Server::start(dir.path().to_path_buf(), Behavior::Normal);
    let setup_dir = tempfile::tempdir().unwrap();
    std::fs::write(setup_dir.path().join("root.json"), repo.root_bytes(1)).unwrap();
    let mut text = String::from(
        "name = \"repo\"\nscheme = \"tuf\"\nroot = \"root.json\"\ntargets = [\"pkg.tar\"]\n",
    );
    for i in 0..300 {
        text.push_str(&format!(
            "\n[[mirrors]]\nname = \"m{i:03}\"\nurl = \"{u}m{i:03}/metadata/\"\ntargets_url = \"{u}m{i:03}/targets/\"\n",
            u = server.url()
        ));
    }
    let path = setup_dir.path().join("profile.toml");
    std::fs::write(&path, text).unwrap();
    let profile = Profile::load(&path).unwrap();
    let opts = CheckOptions {
        channel: profile.channel.clone(),
        artifacts: ArtifactMode::Size,
        fetch: FetchConfig {
            timeout: Duration::from_secs(20),
            ..FetchConfig::default()
        },
        state: None,
        now: time::now(),
        vantages: Default::default(),
        hooks: Default::default(),
    };
    let out = run::check_profile(&profile, profile.mirrors.clone(), opts, None).unwrap();
    let Latest::Tuf(latest) = &out.latest else {
        panic!("a tuf profile runs the tuf scheme");
    };
    assert_eq!(out.report.mirrors.len(), 300);
    for m in &out.report.mirrors {
        assert_eq!(m.status, Status::Ok, "{:?}: {:?}", m.name, m.error);
    }
    // Timestamp, snapshot and targets, once each, for three hundred copies.
    assert_eq!(latest.verifications, 3);
}
