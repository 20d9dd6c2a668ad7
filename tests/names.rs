//! Artifact names become paths on mirrors and on users' disks (FORMAT.md section 4). A
//! single unsafe name rejects the WHOLE signed release, even when the release keys signed
//! it; safe names with subdirectories and URL-special characters work end to end.

mod common;

use common::*;
use serde_json::json;

/// A release payload written out by hand: a correct artifact plus one named `bad`, so the
/// only thing wrong with the document is that one name.
fn payload_with_artifact_named(w: &World, bad: &str) -> Vec<u8> {
    let body = b"payload";
    let entry = json!({ "length": body.len(), "sha256": sha256_hex(body) });
    let doc = json!({
        "type": "release",
        "spec_version": 1,
        "project": PROJECT,
        "channel": CHANNEL,
        "version": V + 1,
        "published": mirrorproof::time::format(&(w.now - days(1))),
        "expires": mirrorproof::time::format(&(w.now + days(30))),
        "artifacts": {
            "factory.zip": entry.clone(),
            bad: entry,
        }
    });
    serde_json::to_vec_pretty(&doc).unwrap()
}

#[test]
fn every_unsafe_artifact_name_rejects_the_whole_signed_release() {
    let unsafe_names = [
        ("empty-name", ""),
        ("empty-segment", "images//factory.zip"),
        ("trailing-slash", "images/"),
        ("dot", "."),
        ("dot-segment", "images/./factory.zip"),
        ("dotdot", ".."),
        ("dotdot-escape", "../../etc/passwd"),
        ("dotdot-inside", "images/../../factory.zip"),
        ("leading-slash", "/etc/passwd"),
        ("backslash", "images\\factory.zip"),
        ("backslash-escape", "..\\..\\boot.ini"),
        ("nul", "factory.zip\0.txt"),
        ("bell", "factory\u{7}.zip"),
        ("newline", "factory.zip\nSHA256SUMS"),
        ("escape", "\u{1b}[2Jfactory.zip"),
        ("delete", "factory\u{7f}.zip"),
        ("c1-control", "factory\u{85}.zip"),
    ];
    let mut w = World::new();
    let good = w
        .release(V)
        .signed_by(&[0, 1])
        .artifact("factory.zip", 64)
        .build();
    w.mirror("honest", "FR").serves(&good);
    let mut releases = Vec::new();
    for (label, name) in unsafe_names {
        let payload = payload_with_artifact_named(&w, name);
        // Sanity: the document is otherwise fine JSON that names this exact string.
        let doc: serde_json::Value = serde_json::from_slice(&payload).unwrap();
        assert!(doc["artifacts"].get(name).is_some(), "{label}");
        releases.push((
            label,
            w.release(V + 1)
                .payload(&payload)
                .signed_by(&[0, 1])
                .build(),
        ));
    }
    for (label, r) in &releases {
        w.mirror(label, "DE").serves(r);
    }
    let run = w.check();
    for (label, _) in &releases {
        let m = run.expect(label, Status::Invalid);
        assert!(
            run.error(label).contains("artifact name"),
            "{label}: {:?}",
            m.error
        );
        assert_eq!(
            m.version, None,
            "{label}: nothing of the document is trusted"
        );
        assert!(m.artifacts.is_empty(), "{label}: no artifact was fetched");
    }
    // The signed-but-unsafe V+1 never became latest.
    run.expect("honest", Status::Ok);
    assert_eq!(run.latest.as_ref().unwrap().version, V);
}

#[test]
fn the_same_handwritten_payload_with_a_safe_name_is_accepted() {
    // Control for the test above: the hand-written document is valid when its name is.
    let mut w = World::new();
    let payload = payload_with_artifact_named(&w, "images/factory.img");
    let r = w
        .release(V + 1)
        .payload(&payload)
        .signed_by(&[0, 2])
        .build();
    w.mirror("m", "FR").serves(&r);
    w.artifacts = mirrorproof::fetch::ArtifactMode::None;
    let run = w.check();
    let m = run.expect("m", Status::Ok);
    assert_eq!(m.version, Some(V + 1));
    assert_eq!(m.artifacts.len(), 2);
}

/// Names that are safe but need care in URLs: spaces, '#', '?', '%', dots, non-ASCII.
const SAFE_NAMES: [&str; 7] = [
    "images/2026/factory image.zip",
    "notes/#1 release notes.txt",
    "odd/100% done?.txt",
    "a..b",
    ".well-known/sig",
    "ünïcödé/ファイル.bin",
    "plus+and&amp=eq;semi.txt",
];

fn release_with_safe_names(w: &World) -> Release {
    let mut b = w.release(V).signed_by(&[0, 1]);
    for (i, name) in SAFE_NAMES.iter().enumerate() {
        b = b.artifact(name, 100 + i);
    }
    b.build()
}

#[test]
fn safe_names_with_subdirectories_work_end_to_end_over_http() {
    let mut w = World::new();
    let r = release_with_safe_names(&w);
    // The publisher listed exactly these names (walking subdirectories).
    assert_eq!(r.files.len(), SAFE_NAMES.len());
    w.mirror("http", "FR").serves(&r).over_http();
    w.mirror("dir", "FR").serves(&r);
    let run = w.check();
    for m in ["http", "dir"] {
        run.expect(m, Status::Ok);
        for name in SAFE_NAMES {
            assert_eq!(run.artifact_status(m, name), "ok", "{m}: {name}");
        }
    }
    // One request per artifact reached the server at its decoded path (a '#' or '?' left
    // unencoded would have cut the path and produced a 404, hence `incomplete`).
    assert!(w.server("http").requests() >= SAFE_NAMES.len());
}

#[test]
fn safe_names_are_fetched_from_their_own_path_over_http() {
    // A changed file behind an encoded name is found and blamed on that name only.
    let mut w = World::new();
    let r = release_with_safe_names(&w);
    w.mirror("tampered", "FR")
        .serves(&r)
        .tamper_artifact("notes/#1 release notes.txt")
        .delete_artifact("odd/100% done?.txt")
        .over_http();
    let run = w.check();
    run.expect("tampered", Status::Corrupt);
    assert_eq!(
        run.artifact_status("tampered", "notes/#1 release notes.txt"),
        "corrupt"
    );
    assert_eq!(
        run.artifact_status("tampered", "odd/100% done?.txt"),
        "missing"
    );
    for name in &SAFE_NAMES[..] {
        if !name.starts_with("notes/") && !name.starts_with("odd/") {
            assert_eq!(run.artifact_status("tampered", name), "ok", "{name}");
        }
    }
}

#[test]
fn a_name_listed_twice_rejects_the_whole_signed_release() {
    // Parsers disagree on repeated keys (first wins, last wins): two verifiers could read
    // different hashes out of one signed document. Spelled plainly, and with an escape
    // that decodes to the same name.
    let good = sha256_hex(&pattern("factory.zip", V, 7));
    let evil = sha256_hex(b"evil!!!");
    let doc = |second_name: &str| {
        format!(
            r#"{{"type":"release","spec_version":1,"project":"{PROJECT}","channel":"{CHANNEL}",
"version":{},"published":"2026-11-21T14:00:00Z","expires":"2026-12-22T14:00:00Z",
"artifacts":{{"factory.zip":{{"length":7,"sha256":"{good}"}},
"{second_name}":{{"length":7,"sha256":"{evil}"}}}}}}"#,
            V + 1
        )
    };
    let plain = doc("factory.zip");
    let escaped = doc(r"factory\u002ezip");
    let mut w = World::new();
    let honest = w
        .release(V)
        .signed_by(&[0, 1])
        .artifact("factory.zip", 7)
        .build();
    let twice = w
        .release(V + 1)
        .payload(plain.as_bytes())
        .signed_by(&[0, 1])
        .build();
    let escaped = w
        .release(V + 1)
        .payload(escaped.as_bytes())
        .signed_by(&[0, 1])
        .build();
    w.mirror("honest", "FR").serves(&honest);
    w.mirror("twice", "DE").serves(&twice);
    w.mirror("escaped", "DE").serves(&escaped);
    let run = w.check();
    run.expect("honest", Status::Ok);
    for m in ["twice", "escaped"] {
        run.expect(m, Status::Invalid);
        assert!(
            run.error(m).contains("duplicate key"),
            "{m}: {}",
            run.error(m)
        );
    }
}
