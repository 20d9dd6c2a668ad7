//! Local rollback state (FORMAT.md section 6): the highest verified version and its payload
//! hash, written only after a run found a valid, unequivocated latest. It turns "every
//! mirror shows an old release" into `rollback`, and "same version, other bytes" into
//! equivocation; a damaged state file stops the run rather than being reset.

mod common;

use common::*;
use mirrorproof::run::CheckError;
use mirrorproof::state::{ChannelState, StateError, StateStore};

fn release(w: &World, version: u64) -> Release {
    w.release(version)
        .signed_by(&[0, 1])
        .artifact(ZIP, 256)
        .build()
}

#[test]
fn state_is_written_after_a_valid_latest_and_moves_only_forward() {
    let mut w = World::new();
    w.enable_state();
    let v = release(&w, V);
    w.mirror("fr", "FR").serves(&v);
    w.mirror("de", "DE").serves(&v);
    assert!(w.read_state().is_none());
    let run = w.check();
    assert!(run.ok);
    assert!(run.state_written);
    let st = w.read_state().expect("state written");
    assert_eq!(st.version, V);
    assert_eq!(st.payload_sha256, v.payload_sha256());
    assert_eq!(st.updated, NOW);
    assert!(
        w.state_path()
            .ends_with(format!("state/{PROJECT}/{CHANNEL}.json"))
    );

    // Same release again: nothing new to record.
    let before = std::fs::read(w.state_path()).unwrap();
    assert!(!w.check().state_written);
    assert_eq!(std::fs::read(w.state_path()).unwrap(), before);

    // A newer release moves it forward.
    w.now += days(2);
    let next = release(&w, V + 1);
    w.on("fr").serves(&next);
    w.on("de").serves(&next);
    assert!(w.check().state_written);
    let st = w.read_state().unwrap();
    assert_eq!(
        (st.version, st.payload_sha256),
        (V + 1, next.payload_sha256())
    );
}

#[test]
fn state_is_not_written_when_the_latest_is_equivocated() {
    let mut w = World::new();
    w.enable_state();
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
    w.mirror("b", "DE").serves(&b);
    let run = w.check();
    run.expect("a", Status::Equivocating);
    assert!(!run.state_written);
    assert!(!w.state_path().exists(), "neither history may be recorded");

    // Nor does an equivocated newer version replace an existing record.
    let mut w = World::new();
    w.enable_state();
    let old = release(&w, OLD);
    w.mirror("a", "FR").serves(&old);
    w.mirror("b", "DE").serves(&old);
    assert!(w.check().state_written);
    w.on("a").serves(&a);
    w.on("b").serves(&b);
    let run = w.check();
    assert!(!run.state_written);
    assert_eq!(w.read_state().unwrap().version, OLD);
}

#[test]
fn every_mirror_serving_an_older_version_is_rollback_with_no_latest() {
    let mut w = World::new();
    w.enable_state();
    let (old, new) = (release(&w, OLD), release(&w, V));
    w.mirror("fr", "FR").serves(&new);
    w.mirror("de", "DE").serves(&new).over_http();
    assert!(w.check().state_written);
    let recorded = std::fs::read(w.state_path()).unwrap();

    // Later, every mirror shows an older (validly signed, unexpired) release.
    w.on("fr").serves(&old);
    w.on("de").serves(&old);
    let run = w.check();
    for m in ["fr", "de"] {
        let r = run.expect(m, Status::Rollback);
        assert_eq!(r.version, Some(OLD));
    }
    assert!(
        run.latest.is_none(),
        "nothing at or above the recorded version"
    );
    assert!(!run.ok);
    assert!(!run.independent);
    assert!(!run.state_written);
    assert_eq!(std::fs::read(w.state_path()).unwrap(), recorded);

    // Without the state, the same mirrors look fine: the state is what catches it.
    w.state = None;
    let run = w.check();
    run.expect("fr", Status::Ok);
    run.expect("de", Status::Ok);
}

#[test]
fn an_expired_older_release_is_expired_not_rollback() {
    let mut w = World::new();
    w.enable_state();
    let new = release(&w, V);
    w.mirror("fr", "FR").serves(&new);
    w.check();
    let frozen_old = w
        .release(OLD)
        .signed_by(&[0, 1])
        .artifact(ZIP, 16)
        .expired()
        .build();
    w.mirror("frozen", "DE").serves(&frozen_old);
    let run = w.check();
    run.expect("fr", Status::Ok);
    run.expect("frozen", Status::Expired);
}

#[test]
fn same_version_as_the_state_with_different_bytes_is_equivocation() {
    let mut w = World::new();
    w.enable_state();
    let seen = w
        .release(V)
        .signed_by(&[0, 1])
        .artifact_bytes(ZIP, b"what we saw")
        .build();
    w.mirror("fr", "FR").serves(&seen);
    assert!(w.check().state_written);

    // A targeted user later gets another document under the same version.
    let other = w
        .release(V)
        .signed_by(&[1, 2])
        .artifact_bytes(ZIP, b"what they want us to see")
        .build();
    w.on("fr").serves(&other);
    let run = w.check();
    run.expect("fr", Status::Equivocating);
    assert_eq!(run.equivocations.len(), 1);
    let e = &run.equivocations[0];
    assert_eq!(e.version, V);
    assert!(e.with_state);
    let mut hashes = vec![seen.payload_sha256(), other.payload_sha256()];
    hashes.sort();
    let mut got = e.payload_sha256.clone();
    got.sort();
    assert_eq!(got, hashes);
    assert_eq!(e.mirrors, vec![w.url_of("fr")]);
    assert!(!run.ok);
    assert!(!run.state_written);
    assert_eq!(
        w.read_state().unwrap().payload_sha256,
        seen.payload_sha256()
    );
}

#[test]
fn no_state_neither_reads_nor_writes() {
    let mut w = World::new();
    // A record far in the future: were it read, every mirror would be `rollback`.
    let store = StateStore::new(w.path().join("state"));
    let record = ChannelState {
        version: V + 1000,
        payload_sha256: "ab".repeat(32),
        updated: "2026-01-01T00:00:00Z".into(),
    };
    store.save(PROJECT, CHANNEL, &record).unwrap();
    let before = std::fs::read(w.state_path()).unwrap();

    let v = release(&w, V);
    w.mirror("fr", "FR").serves(&v);
    assert!(w.state.is_none());
    let run = w.check();
    run.expect("fr", Status::Ok);
    assert!(!run.state_written);
    assert_eq!(std::fs::read(w.state_path()).unwrap(), before);

    // And with the state on, the same record is honoured: proof the file was valid.
    w.enable_state();
    w.check().expect("fr", Status::Rollback);

    // A world that never enables state gets no state directory at all.
    let mut fresh = World::new();
    let v = release(&fresh, V);
    fresh.mirror("fr", "FR").serves(&v);
    fresh.check().expect("fr", Status::Ok);
    assert!(!fresh.path().join("state").exists());
}

#[test]
fn a_damaged_state_file_stops_the_run_and_is_left_untouched() {
    let damaged: [(&str, Vec<u8>); 6] = [
        ("garbage", b"{not json".to_vec()),
        ("empty", Vec::new()),
        ("wrong shape", br#"{"version": "ten"}"#.to_vec()),
        (
            "uppercase hash",
            format!(
                r#"{{"version": {V}, "payload_sha256": "{}", "updated": "{NOW}"}}"#,
                "AB".repeat(32)
            )
            .into_bytes(),
        ),
        (
            "short hash",
            format!(r#"{{"version": {V}, "payload_sha256": "abcd", "updated": "{NOW}"}}"#)
                .into_bytes(),
        ),
        ("oversized", vec![b' '; 65 * 1024]),
    ];
    for (what, bytes) in damaged {
        let mut w = World::new();
        w.enable_state();
        let v = release(&w, V);
        w.mirror("fr", "FR").serves(&v);
        let path = w.state_path();
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(&path, &bytes).unwrap();
        match w.try_check() {
            Err(CheckError::State(StateError::Corrupt { reason, .. })) => {
                assert!(!reason.is_empty(), "{what}");
            }
            Err(e) => panic!("{what}: expected a corrupt-state error, got {e}"),
            Ok(run) => panic!("{what}: the run went on:\n{}", run.table()),
        }
        assert_eq!(std::fs::read(&path).unwrap(), bytes, "{what}: file changed");
        let err = w.try_check().err().unwrap().to_string();
        assert!(err.contains("refusing to reset"), "{what}: {err}");
    }
}

/// A state that can be read but not written (here: a directory where the lock file goes).
/// The run is judged exactly as with a writable state, the report is whole, and the failed
/// write is handed back instead of throwing the report away.
#[test]
fn a_state_write_that_fails_during_the_run_keeps_the_report() {
    let mut w = World::new();
    w.enable_state();
    let older = release(&w, V);
    w.mirror("fr", "FR").serves(&older);
    assert!(w.check().state_written);
    let recorded = std::fs::read(w.state_path()).unwrap();
    let lock = w.path().join("state").join(".lock");
    let _ = std::fs::remove_file(&lock);
    std::fs::create_dir(&lock).unwrap();

    let newer = release(&w, V + 1);
    w.mirror("de", "DE").serves(&newer);
    let run = w.check();
    run.expect("de", Status::Ok);
    run.expect("fr", Status::Stale);
    assert!(!run.state_written);
    let why = run
        .state_error
        .as_deref()
        .expect("the failed write is reported");
    assert!(why.contains(".lock") || why.contains("state"), "{why}");
    assert_eq!(std::fs::read(w.state_path()).unwrap(), recorded);

    // Through the binary: the report first, then one line with the hint, exit 2.
    let profile = w.write_profile("p.toml");
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_mirrorproof"))
        .args(["check", "--json", "--state"])
        .arg(w.path().join("state"))
        .arg(&profile)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(report["latest"]["version"], serde_json::json!(V + 1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(err.trim_end().lines().count(), 1, "{err}");
    assert!(
        err.contains("--state DIR") && err.contains("--no-state"),
        "{err}"
    );
    assert_eq!(std::fs::read(w.state_path()).unwrap(), recorded);
}
