//! The evidence directory is written while mirrors answer, possibly where others can write:
//! nothing planted in it may redirect a write. `--evidence DIR` takes a new or empty
//! directory only, creates every file new and never follows a symbolic link, so a link
//! planted at a path the run will write is refused and its target stays untouched.

mod common;

use std::path::Path;
use std::process::{Command, Output};

use common::*;

fn check_with_evidence(w: &World, dir: &Path) -> Output {
    Command::new(env!("CARGO_BIN_EXE_mirrorproof"))
        .arg("check")
        .arg(w.write_profile("profile.toml"))
        .args(["--no-state", "--json", "--evidence"])
        .arg(dir)
        .output()
        .unwrap()
}

fn world() -> World {
    let mut w = World::new();
    let now = mirrorproof::time::now();
    let r = w
        .release(V)
        .published(now - days(1))
        .expires(now + days(30))
        .signed_by(&[0, 1])
        .artifact(ZIP, 1024)
        .build();
    w.mirror("fr", "FR").serves(&r).over_http();
    w
}

#[track_caller]
fn assert_refused(out: &Output, why: &str) {
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert_eq!(stderr.lines().count(), 1, "one line: {stderr}");
    assert!(stderr.contains("cannot write evidence to"), "{stderr}");
    assert!(stderr.contains(why), "{stderr}");
    assert!(out.stdout.is_empty(), "no report for a refused run");
}

#[test]
fn links_planted_in_the_evidence_directory_are_refused_and_their_targets_untouched() {
    let w = world();
    let outside = w.path().join("outside.txt");
    std::fs::write(&outside, b"precious").unwrap();
    for planted in ["mirrors/0000/stable/release.json", "report.json"] {
        let ev = w.path().join(format!("ev-{}", planted.replace('/', "-")));
        let at = ev.join(planted);
        std::fs::create_dir_all(at.parent().unwrap()).unwrap();
        std::os::unix::fs::symlink(&outside, &at).unwrap();
        let out = check_with_evidence(&w, &ev);
        assert_refused(&out, "not empty");
        assert_eq!(std::fs::read(&outside).unwrap(), b"precious", "{planted}");
        assert!(std::fs::symlink_metadata(&at).unwrap().is_symlink());
    }
}

#[test]
fn a_link_as_the_evidence_directory_is_refused() {
    let w = world();
    let elsewhere = w.path().join("elsewhere");
    std::fs::create_dir(&elsewhere).unwrap();
    let ev = w.path().join("ev-link");
    std::os::unix::fs::symlink(&elsewhere, &ev).unwrap();
    assert_refused(&check_with_evidence(&w, &ev), "symbolic link");
    assert_eq!(std::fs::read_dir(&elsewhere).unwrap().count(), 0);
}

#[test]
fn a_new_or_empty_directory_receives_the_bundle() {
    let w = world();
    let fresh = w.path().join("fresh");
    let empty = w.path().join("empty");
    std::fs::create_dir(&empty).unwrap();
    for ev in [&fresh, &empty] {
        let out = check_with_evidence(&w, ev);
        assert_eq!(
            out.status.code(),
            Some(0),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let kept = std::fs::read(ev.join("mirrors/0000/stable/release.json")).unwrap();
        let served = std::fs::read(w.path().join("mirrors/fr/stable/release.json")).unwrap();
        assert_eq!(kept, served);
        assert!(ev.join("report.json").is_file());
        assert!(ev.join("profile.toml").is_file());
    }
    // Running again into the same (now full) directory never mixes two bundles.
    assert_refused(&check_with_evidence(&w, &fresh), "not empty");
}
