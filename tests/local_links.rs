//! Local-directory mirrors are someone else's tree on this machine's disk. A symbolic link
//! planted in one could hand a private file of this machine to the report and to the
//! evidence bundle (which is meant to be shared), and a FIFO could hold a reader forever.
//! Every file of a local mirror is read only as a regular file reached without following a
//! link below the mirror's root; anything else is refused and never read.

#![cfg(unix)]

mod common;

use std::os::unix::fs::symlink;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use common::ecosystems::Signify;
use common::*;
use mirrorproof::fetch::ArtifactOutcome;
use mirrorproof::release::Release as Parsed;

fn bin(args: &[&str], cwd: &Path) -> Output {
    Command::new(env!("CARGO_BIN_EXE_mirrorproof"))
        .args(args)
        .current_dir(cwd)
        .env("HOME", cwd)
        .env_remove("XDG_DATA_HOME")
        .output()
        .unwrap()
}

/// A release that is current by the wall clock, which the binary judges with.
fn current(w: &World, name: &str, bytes: &[u8]) -> Release {
    let now = mirrorproof::time::now();
    w.release(V)
        .published(now - days(1))
        .expires(now + days(30))
        .signed_by(&[0, 1])
        .artifact_bytes(name, bytes)
        .build()
}

/// Every regular file below `dir`, with its bytes.
fn files_below(dir: &Path) -> Vec<(PathBuf, Vec<u8>)> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).unwrap() {
            let p = e.unwrap().path();
            let meta = std::fs::symlink_metadata(&p).unwrap();
            if meta.is_dir() {
                stack.push(p);
            } else if meta.is_file() {
                let bytes = std::fs::read(&p).unwrap();
                out.push((p, bytes));
            }
        }
    }
    out
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle)
}

/// The attack of the issue: `stable/release.json` of a local mirror is a link to a private
/// file elsewhere on this machine, itself a validly signed release (so reading it would
/// even look fine). The mirror is invalid with a reason, and the evidence bundle holds no
/// byte of the private file: not the file, not its payload.
#[test]
fn a_release_document_linked_to_a_private_file_is_invalid_and_never_copied() {
    let mut w = World::new();
    let public = current(&w, ZIP, b"the public image");
    let private = current(&w, "PRIVATE-do-not-share.bin", b"private");
    let private_path = w.path().join("home/private/notes.json");
    std::fs::create_dir_all(private_path.parent().unwrap()).unwrap();
    std::fs::write(&private_path, private.bytes()).unwrap();

    w.mirror("honest", "FR").serves(&public);
    let linked = w.mirror("linked", "RU").serves(&public).dir();
    let doc = linked.join(CHANNEL).join("release.json");
    std::fs::remove_file(&doc).unwrap();
    symlink(&private_path, &doc).unwrap();

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
    assert_eq!(
        out.status.code(),
        Some(1),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let by_name = |n: &str| {
        report["mirrors"]
            .as_array()
            .unwrap()
            .iter()
            .find(|m| m["name"] == n)
            .unwrap()
            .clone()
    };
    assert_eq!(by_name("honest")["status"], "ok");
    let m = by_name("linked");
    assert_eq!(m["status"], "invalid");
    let why = m["error"].as_str().unwrap();
    assert!(
        why.contains("stable/release.json is a symbolic link"),
        "{why}"
    );

    let saved = files_below(&ev);
    assert!(!saved.is_empty(), "no evidence written");
    let payload = private.envelope.payload.as_bytes();
    for (path, bytes) in &saved {
        assert!(
            !contains(bytes, &private.bytes()) && !contains(bytes, payload),
            "{} holds the private file",
            path.display()
        );
        assert!(
            !contains(bytes, b"PRIVATE-do-not-share"),
            "{} names the private file's contents",
            path.display()
        );
    }
    // The honest mirror's bytes are there, so the scan looked at real evidence.
    assert!(saved.iter().any(|(_, b)| *b == public.bytes()));
}

/// A link anywhere on the path counts, not only the last component: the channel
/// directory itself pointing elsewhere is refused the same way.
#[test]
fn a_linked_channel_directory_is_invalid() {
    let mut w = World::new();
    let new = genuine(&w);
    w.mirror("honest", "FR").serves(&new);
    // A directory outside the mirror holding a perfectly genuine release.
    let elsewhere = w.path().join("elsewhere");
    w.mirror("source", "DE").serves(&new);
    std::fs::rename(w.path().join("mirrors/source").join(CHANNEL), &elsewhere).unwrap();
    let dir = w.mirror("linked", "RU").serves(&new).dir();
    std::fs::remove_dir_all(dir.join(CHANNEL)).unwrap();
    symlink(&elsewhere, dir.join(CHANNEL)).unwrap();
    let run = w.check();
    run.expect("honest", Status::Ok);
    run.expect("source", Status::Unreachable);
    run.expect("linked", Status::Invalid);
    assert!(
        run.error("linked").contains("stable is a symbolic link"),
        "{}",
        run.error("linked")
    );
}

/// An artifact that is a link is corrupt and is not read, even when the link leads to the
/// genuine bytes (so following it would have said ok): the mirror does not serve the signed
/// artifact as a file of its own. A link inside the tree is refused the same way.
#[test]
fn a_linked_artifact_is_corrupt_even_when_its_target_is_genuine() {
    let mut w = World::new();
    let new = genuine(&w);
    let honest = w.mirror("honest", "FR").serves(&new).dir();
    let genuine_file = honest.join("artifacts").join(ZIP);
    let out_of_tree = w.mirror("out", "RU").serves(&new).dir();
    std::fs::remove_file(out_of_tree.join("artifacts").join(ZIP)).unwrap();
    symlink(&genuine_file, out_of_tree.join("artifacts").join(ZIP)).unwrap();
    let in_tree = w.mirror("in", "DE").serves(&new).dir();
    let art = in_tree.join("artifacts");
    std::fs::rename(art.join(ZIP), art.join("real.zip")).unwrap();
    symlink("real.zip", art.join(ZIP)).unwrap();

    let run = w.check();
    run.expect("honest", Status::Ok);
    for m in ["out", "in"] {
        run.expect(m, Status::Corrupt);
        assert_eq!(run.artifact_status(m, ZIP), "corrupt");
        let why = run.error(m);
        assert!(
            why.contains(&format!("refused: artifacts/{ZIP} is a symbolic link")),
            "{why}"
        );
    }
}

/// A FIFO where the release document should be is refused at once instead of waiting for
/// a writer: the mirror is invalid (it answered, wrongly), not unreachable by timeout. A
/// FIFO as an artifact is corrupt the same way.
#[test]
fn a_fifo_as_release_document_or_artifact_is_refused_without_waiting() {
    let mut w = World::new();
    // A generous deadline: reaching it would make the mirror unreachable, not invalid.
    w.fetch.timeout = std::time::Duration::from_secs(30);
    w.fetch.artifact_timeout = std::time::Duration::from_secs(30);
    let new = genuine(&w);
    w.mirror("honest", "FR").serves(&new);
    let fifo_doc = w.mirror("fifo-doc", "RU").serves(&new).dir();
    let doc = fifo_doc.join(CHANNEL).join("release.json");
    std::fs::remove_file(&doc).unwrap();
    mkfifo(&doc);
    let fifo_art = w.mirror("fifo-art", "BY").serves(&new).dir();
    let art = fifo_art.join("artifacts").join(ZIP);
    std::fs::remove_file(&art).unwrap();
    mkfifo(&art);

    let run = w.check();
    run.expect("honest", Status::Ok);
    run.expect("fifo-doc", Status::Invalid);
    assert!(
        run.error("fifo-doc")
            .contains("stable/release.json is a FIFO"),
        "{}",
        run.error("fifo-doc")
    );
    run.expect("fifo-art", Status::Corrupt);
    assert!(
        run.error("fifo-art")
            .contains(&format!("artifacts/{ZIP} is a FIFO")),
        "{}",
        run.error("fifo-art")
    );
}

fn mkfifo(path: &Path) {
    let made = Command::new("mkfifo").arg(path).status().expect("mkfifo");
    assert!(made.success());
}

/// The user names the mirror's root, and that may be a link (a mounted share, a
/// convenience path): only what lies below it must be plain.
#[test]
fn the_mirror_root_itself_may_be_a_link() {
    let mut w = World::new();
    let new = genuine(&w);
    let real = w.mirror("real", "FR").serves(&new).dir();
    let link = w.path().join("link-to-mirror");
    symlink(&real, &link).unwrap();
    w.mirror("via-link", "DE").at_url(link.to_str().unwrap());
    let run = w.check();
    run.expect("real", Status::Ok);
    run.expect("via-link", Status::Ok);
}

/// `verify FILE` checks the user's own download, not a mirror: a link the user names is
/// followed as any program would.
#[test]
fn a_users_own_download_may_be_a_link() {
    let w = World::new();
    let new = genuine(&w);
    let release = Parsed::parse(&new.envelope.payload_bytes().unwrap(), PROJECT, CHANNEL).unwrap();
    let downloads = w.path().join("downloads");
    std::fs::create_dir_all(&downloads).unwrap();
    std::fs::write(downloads.join("real.bin"), &new.files[ZIP]).unwrap();
    let link_dir = w.path().join("links");
    std::fs::create_dir_all(&link_dir).unwrap();
    let link = link_dir.join(ZIP);
    symlink(downloads.join("real.bin"), &link).unwrap();
    let results = mirrorproof::verify::verify_files(&release, &[link]);
    assert_eq!(results.len(), 1);
    assert_eq!(results[0].outcome, ArtifactOutcome::Ok);

    // And the same link with other bytes behind it is caught: the bytes were read.
    std::fs::write(downloads.join("real.bin"), b"something else").unwrap();
    let results = mirrorproof::verify::verify_files(&release, &[link_dir.join(ZIP)]);
    assert!(matches!(results[0].outcome, ArtifactOutcome::Corrupt(_)));
}

/// The same rule for the signed-file schemes: an OpenBSD-style local mirror whose
/// `SHA256.sig` is a link to a private file (here a genuinely signed list of other files)
/// is invalid, and the evidence bundle keeps nothing of it.
#[test]
fn a_linked_signature_file_of_a_signify_mirror_is_invalid_and_never_copied() {
    let tmp = tempfile::tempdir().unwrap();
    let (key, sec) = Signify::keygen(tmp.path(), "k");
    let publish = |dir: &Path, name: &str| {
        std::fs::create_dir_all(dir).unwrap();
        std::fs::write(dir.join(name), b"a file").unwrap();
        let list = format!("SHA256 ({name}) = {}\n", sha256_hex(b"a file"));
        let scratch = tempfile::tempdir().unwrap();
        std::fs::write(scratch.path().join("SHA256"), list).unwrap();
        Signify::sign_embedded(
            &sec,
            &scratch.path().join("SHA256"),
            &dir.join("SHA256.sig"),
        );
    };
    let honest = tmp.path().join("honest");
    let linked = tmp.path().join("linked");
    let private = tmp.path().join("private");
    publish(&honest, "a.bin");
    publish(&linked, "a.bin");
    publish(&private, "PRIVATE-notes.txt");
    std::fs::remove_file(linked.join("SHA256.sig")).unwrap();
    symlink(private.join("SHA256.sig"), linked.join("SHA256.sig")).unwrap();

    let profile = tmp.path().join("p.toml");
    std::fs::write(
        &profile,
        format!(
            "name = \"obsd\"\nscheme = \"signify\"\nkey = {:?}\nchannel = \"c\"\nfile = \"SHA256.sig\"\n\
             [[mirrors]]\nurl = {:?}\ncountry = \"FR\"\nname = \"honest\"\n\
             [[mirrors]]\nurl = {:?}\ncountry = \"RU\"\nname = \"linked\"\n",
            key.display().to_string(),
            honest.display().to_string(),
            linked.display().to_string()
        ),
    )
    .unwrap();
    let ev = tmp.path().join("evidence");
    let out = bin(
        &[
            "check",
            profile.to_str().unwrap(),
            "--no-state",
            "--json",
            "--evidence",
            ev.to_str().unwrap(),
        ],
        tmp.path(),
    );
    let report: serde_json::Value = serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("{e}: {}", String::from_utf8_lossy(&out.stderr)));
    let status = |n: &str| {
        let m = report["mirrors"]
            .as_array()
            .unwrap()
            .iter()
            .find(|m| m["name"] == n)
            .unwrap();
        (m["status"].clone(), m["error"].clone())
    };
    assert_eq!(status("honest").0, "ok");
    let (st, why) = status("linked");
    assert_eq!(st, "invalid");
    assert!(
        why.as_str()
            .unwrap()
            .contains("SHA256.sig is a symbolic link"),
        "{why}"
    );
    let private_sig = std::fs::read(private.join("SHA256.sig")).unwrap();
    let saved = files_below(&ev);
    assert!(
        saved
            .iter()
            .any(|(p, _)| p.ends_with("mirrors/0000/SHA256.sig"))
    );
    for (path, bytes) in &saved {
        assert!(
            !contains(bytes, &private_sig) && !contains(bytes, b"PRIVATE-notes"),
            "{} holds the private file",
            path.display()
        );
    }
    assert!(!ev.join("mirrors/0001").exists());
}

/// Images named by unsigned metadata (GrapheneOS-style, SSHSIG): an image that is a link,
/// here to the genuine image of another mirror, is not read and the mirror is corrupt, as
/// for any artifact.
#[test]
fn a_linked_image_of_an_sshsig_mirror_is_corrupt_and_not_read() {
    use common::ecosystems::{Eco, Ssh, error_of, status_of};
    let mut e = Eco::new();
    let work = e.work();
    let (key, line) = Ssh::keygen(&work, "factory");
    let signers = work.join("allowed_signers");
    let mut parts = line.split_whitespace();
    let (kt, kb) = (parts.next().unwrap(), parts.next().unwrap());
    std::fs::write(&signers, format!("contact@grapheneos.org {kt} {kb}\n")).unwrap();
    e.profile = format!(
        "scheme = \"sshsig\"\nkey = {:?}\nidentity = \"contact@grapheneos.org\"\nnamespace = \"factory images\"\nchannel = \"husky-stable\"\nversion_file = \"husky-stable\"\nfile = \"husky-install-{{version}}.zip\"\nsignature = \"husky-install-{{version}}.zip.sig\"\n",
        signers.display().to_string()
    );
    let v = 2026112400u64;
    let image = vec![7u8; 100_000];
    let zip = format!("husky-install-{v}.zip");
    let publish = |dir: &Path| {
        std::fs::write(
            dir.join("husky-stable"),
            format!("{v} 1764000000 husky stable\n"),
        )
        .unwrap();
        std::fs::write(dir.join(&zip), &image).unwrap();
        Ssh::sign(&key, "factory images", &dir.join(&zip));
    };
    let honest = e.mirror("honest", "CA");
    publish(&honest);
    publish(&e.mirror("honest-2", "DE"));
    let linked = e.mirror("linked", "RU");
    publish(&linked);
    std::fs::remove_file(linked.join(&zip)).unwrap();
    symlink(honest.join(&zip), linked.join(&zip)).unwrap();

    let r = e.run();
    assert_eq!(status_of(&r, "honest"), "ok", "{}", error_of(&r, "honest"));
    assert_eq!(
        status_of(&r, "linked"),
        "corrupt",
        "{}",
        error_of(&r, "linked")
    );
    assert!(
        error_of(&r, "linked").contains(&format!("{zip} is a symbolic link")),
        "{}",
        error_of(&r, "linked")
    );
}
