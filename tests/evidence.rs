//! Auditors keep evidence that others can re-check offline, and end users verify downloads
//! offline: both must reach the same verdicts from the saved bytes alone.

mod common;

use std::path::Path;
use std::process::{Command, Output};

use common::*;

fn bin(args: &[&str], cwd: &Path) -> Output {
    Command::new(env!("CARGO_BIN_EXE_mirrorproof"))
        .args(args)
        .current_dir(cwd)
        .env("HOME", cwd)
        .env_remove("XDG_DATA_HOME")
        .output()
        .unwrap()
}

fn json(out: &Output) -> serde_json::Value {
    serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("{e}: {}", String::from_utf8_lossy(&out.stderr)))
}

/// A release that is current by the wall clock, which the binary judges with.
fn current(w: &World, version: u64, signers: &[usize], bytes: &[u8]) -> Release {
    let now = mirrorproof::time::now();
    w.release(version)
        .published(now - days(1))
        .expires(now + days(30))
        .signed_by(signers)
        .artifact_bytes(ZIP, bytes)
        .build()
}

#[test]
fn evidence_reproduces_the_metadata_verdicts_offline() {
    let mut w = World::new();
    let public = current(&w, V, &[0, 1], b"the public image");
    let targeted = current(&w, V, &[1, 2], b"a targeted image");
    let forged = current(&w, V + 1, &[2], b"forged");
    w.mirror("fr", "FR").serves(&public).over_http();
    w.mirror("cn", "CN").serves(&targeted);
    w.mirror("ru", "RU").serves(&forged);
    w.mirror("gone", "US");
    let profile = w.write_profile("profile.toml");
    let ev = w.path().join("evidence");
    let out = bin(
        &[
            "check",
            profile.to_str().unwrap(),
            "--no-state",
            "--json",
            "--evidence",
            ev.to_str().unwrap(),
        ],
        w.path(),
    );
    assert_eq!(out.status.code(), Some(1));
    let live = json(&out);
    let statuses = |r: &serde_json::Value| -> Vec<String> {
        r["mirrors"]
            .as_array()
            .unwrap()
            .iter()
            .map(|m| format!("{}={}", m["country"], m["status"]))
            .collect()
    };
    assert_eq!(
        statuses(&live),
        [
            "\"FR\"=\"equivocating\"",
            "\"CN\"=\"equivocating\"",
            "\"RU\"=\"invalid\"",
            "\"US\"=\"unreachable\""
        ]
    );

    // The saved bytes are exactly what each mirror served.
    assert_eq!(
        std::fs::read(ev.join("mirrors/0000/stable/release.json")).unwrap(),
        public.bytes()
    );
    assert_eq!(
        std::fs::read(ev.join("mirrors/0001/stable/release.json")).unwrap(),
        targeted.bytes()
    );
    assert!(!ev.join("mirrors/0003").exists(), "nothing was served");
    let saved: serde_json::Value =
        serde_json::from_slice(&std::fs::read(ev.join("report.json")).unwrap()).unwrap();
    assert_eq!(statuses(&saved), statuses(&live));

    // Anyone can re-judge the evidence offline: the equivocation is reproduced from the
    // saved envelopes alone, with the same payload hashes.
    let again = bin(
        &[
            "check",
            ev.join("profile.toml").to_str().unwrap(),
            "--no-state",
            "--json",
            "--artifacts",
            "none",
        ],
        w.path(),
    );
    let offline = json(&again);
    // The mirror that served nothing is listed too, unreachable with the run's reason.
    assert_eq!(statuses(&offline), statuses(&live));
    assert!(
        offline["mirrors"][3]["error"]
            .as_str()
            .unwrap()
            .contains("served nothing when the evidence was taken"),
        "{}",
        offline["mirrors"][3]
    );
    assert_eq!(
        offline["equivocations"][0]["payload_sha256"],
        live["equivocations"][0]["payload_sha256"]
    );
}

#[test]
fn evidence_carries_the_rotated_root_chain() {
    let mut w = World::new();
    let v2 = rotated_v2(&w);
    let now = mirrorproof::time::now();
    let rel = w
        .release(V)
        .published(now - days(1))
        .expires(now + days(30))
        .signed_by(&[3, 4])
        .artifact(ZIP, 1000)
        .build();
    w.mirror("a", "FR").serves(&rel).serves_root(&v2);
    w.mirror("b", "DE").serves(&rel);
    let profile = w.write_profile("profile.toml");
    let ev = w.path().join("ev");
    let out = bin(
        &[
            "check",
            profile.to_str().unwrap(),
            "--no-state",
            "--evidence",
            ev.to_str().unwrap(),
        ],
        w.path(),
    );
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
    assert!(ev.join("mirrors/0001/root/2.json").exists());
    let again = bin(
        &[
            "check",
            ev.join("profile.toml").to_str().unwrap(),
            "--no-state",
            "--artifacts",
            "none",
        ],
        w.path(),
    );
    assert_eq!(
        again.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&again.stdout)
    );
}

#[test]
fn offline_verify_walks_rotated_roots_and_refuses_a_rollback_recorded_in_state() {
    let mut w = World::new();
    let v2 = rotated_v2(&w);
    let image = b"image bytes v2".to_vec();
    let rel = current(&w, V, &[3, 4], &image);
    w.mirror("a", "FR").serves(&rel).serves_root(&v2);
    let profile = w.write_profile("profile.toml");
    let dl = w.path().join("dl");
    std::fs::create_dir_all(&dl).unwrap();
    std::fs::write(dl.join(ZIP), &image).unwrap();
    let env_path = w.path().join("release.json");
    std::fs::write(&env_path, rel.bytes()).unwrap();
    let root2 = w.path().join("root2.json");
    std::fs::write(&root2, v2.bytes()).unwrap();
    let (p, e, f, r) = (
        profile.to_str().unwrap(),
        env_path.to_str().unwrap(),
        dl.join(ZIP),
        root2.to_str().unwrap(),
    );
    let f = f.to_str().unwrap();

    // Signed by the rotated release keys: the pinned root alone does not trust them.
    let without = bin(&["verify", p, "--release", e, "--no-state", f], w.path());
    assert_eq!(without.status.code(), Some(1));
    let with = bin(
        &["verify", p, "--release", e, "--root", r, "--no-state", f],
        w.path(),
    );
    assert_eq!(
        with.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&with.stderr)
    );
    assert!(String::from_utf8_lossy(&with.stdout).starts_with("OK"));

    // Once a newer version was verified here, the old envelope is a rollback.
    let state = w.path().join("state");
    let st = state.join("exampleos");
    std::fs::create_dir_all(&st).unwrap();
    std::fs::write(
        st.join("stable.json"),
        format!(
            "{{\"version\": {}, \"payload_sha256\": \"{}\", \"updated\": \"2026-11-22T00:00:00Z\"}}",
            V + 1,
            "0".repeat(64)
        ),
    )
    .unwrap();
    let rolled = bin(
        &[
            "verify",
            p,
            "--release",
            e,
            "--root",
            r,
            "--state",
            state.to_str().unwrap(),
            f,
        ],
        w.path(),
    );
    assert_eq!(rolled.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&rolled.stderr).contains("rollback"));
}

#[test]
fn offline_verify_refuses_competing_or_unusable_root_files() {
    let mut w = World::new();
    let v2a = rotated_v2(&w);
    let v2b = w
        .root(2)
        .root_keys(&[2])
        .release_keys(&[3, 4, 5])
        .signed_by(&[0, 2])
        .build();
    let stranger_v2 = w.root(2).root_keys(&[3]).signed_by(&[3]).build();
    let image = b"image".to_vec();
    let rel = current(&w, V, &[3, 4], &image);
    w.mirror("a", "FR").serves(&rel);
    let profile = w.write_profile("profile.toml");
    let env_path = w.path().join("release.json");
    std::fs::write(&env_path, rel.bytes()).unwrap();
    let file = w.path().join(ZIP);
    std::fs::write(&file, &image).unwrap();
    let mut paths = Vec::new();
    for (name, root) in [("a.json", &v2a), ("b.json", &v2b), ("s.json", &stranger_v2)] {
        let p = w.path().join(name);
        std::fs::write(&p, root.bytes()).unwrap();
        paths.push(p.to_str().unwrap().to_owned());
    }
    let base = |roots: &[&str]| {
        let mut args = vec![
            "verify",
            profile.to_str().unwrap(),
            "--no-state",
            "--release",
            env_path.to_str().unwrap(),
        ];
        for r in roots {
            args.extend(["--root", r]);
        }
        args.push(file.to_str().unwrap());
        bin(&args, w.path())
    };
    let ok = base(&[&paths[0]]);
    assert_eq!(
        ok.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&ok.stderr)
    );
    for order in [[&paths[0], &paths[1]], [&paths[1], &paths[0]]] {
        let out = base(&[order[0], order[1]]);
        assert_eq!(out.status.code(), Some(2));
        assert!(String::from_utf8_lossy(&out.stderr).contains("root equivocation"));
    }
    let out = base(&[&paths[0], &paths[2]]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("root file")
            && String::from_utf8_lossy(&out.stderr).contains("not accepted into the chain")
    );
}
