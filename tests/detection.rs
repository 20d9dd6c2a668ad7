//! Telling a signify key from a minisign key when the publisher edited the key's comment
//! (issue item 7). Keys and signatures are made by the reference tools, and each verdict is
//! compared with what `signify-openbsd` itself says.

mod common;

use std::path::Path;
use std::process::Command;

use common::ecosystems::{Minisign, Signify, tool_accepts};
use mirrorproof::schemes::Format;
use mirrorproof::schemes::pinned::detect;

const BIN: &str = env!("CARGO_BIN_EXE_mirrorproof");

/// The comment of Void's published key for chneukirchen/void-aarch64. Its exact bytes were
/// not found, so the key is generated and given this comment, as the publisher did.
const VOID_AARCH64_COMMENT: &str =
    "untrusted comment: signify public key for chneukirchen/void-aarch64";

/// `srcpkgs/void-release-keys/files/void-release-20191109.pub` in void-linux/void-packages:
/// a real, published signify key whose comment ends in neither "public key" nor "minisign".
const VOID_20191109: &str = "untrusted comment: This key is only valid for releases with date 20191109.\nRWSFkPfJ0Jkg3EIuGjZoCn1/GSChINr/WHdJcdAh1s0d5P+C+ejdCC64\n";

fn with_comment(key: &Path, comment: &str) -> String {
    let text = std::fs::read_to_string(key).unwrap();
    let second = text.lines().nth(1).unwrap();
    format!("{comment}\n{second}\n")
}

fn verify(args: &[&str], cwd: &Path) -> (i32, String) {
    let out = Command::new(BIN)
        .arg("verify")
        .args(args)
        .current_dir(cwd)
        .output()
        .unwrap();
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (out.status.code().unwrap_or(-1), text)
}

/// A Void-style release: files, their SHA256 list signed with `signify -S -e` into
/// `SHA256.sig`, and the key renamed `void.pub` with the publisher's comment.
fn void_release(dir: &Path) {
    let (key, sec) = Signify::keygen(dir, "k");
    std::fs::write(
        dir.join("void.pub"),
        with_comment(&key, VOID_AARCH64_COMMENT),
    )
    .unwrap();
    let image = b"void-aarch64-ROOTFS image bytes\n".repeat(100);
    std::fs::write(dir.join("void-aarch64-ROOTFS.tar.xz"), &image).unwrap();
    let digest = common::sha256_hex(&image);
    std::fs::write(
        dir.join("SHA256"),
        format!("SHA256 (void-aarch64-ROOTFS.tar.xz) = {digest}\n"),
    )
    .unwrap();
    Signify::sign_embedded(&sec, &dir.join("SHA256"), &dir.join("SHA256.sig"));
}

#[test]
fn void_aarch64_key_is_accepted_like_signify_does() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    void_release(dir);
    let file = "void-aarch64-ROOTFS.tar.xz";
    assert!(tool_accepts(
        "signify-openbsd",
        &["-C", "-p", "void.pub", "-x", "SHA256.sig", file],
        dir
    ));
    let (code, text) = verify(&["--key", "void.pub", "--sig", "SHA256.sig", file], dir);
    assert_eq!(code, 0, "{text}");
    assert!(text.contains("OK"), "{text}");

    // The same detection still refuses what signify refuses: a tampered file.
    std::fs::write(dir.join(file), b"tampered").unwrap();
    assert!(!tool_accepts(
        "signify-openbsd",
        &["-C", "-p", "void.pub", "-x", "SHA256.sig", file],
        dir
    ));
    let (code, text) = verify(&["--key", "void.pub", "--sig", "SHA256.sig", file], dir);
    assert_eq!(code, 1, "{text}");
}

#[test]
fn a_detached_signify_signature_decides_for_a_neutral_comment() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    let (key, sec) = Signify::keygen(dir, "k");
    std::fs::write(
        dir.join("neutral.pub"),
        with_comment(&key, "untrusted comment: release key 2026"),
    )
    .unwrap();
    std::fs::write(dir.join("msg"), b"signed message\n").unwrap();
    Signify::sign(&sec, &dir.join("msg"), &dir.join("msg.sig"));
    assert!(tool_accepts(
        "signify-openbsd",
        &["-V", "-p", "neutral.pub", "-x", "msg.sig", "-m", "msg"],
        dir
    ));
    let (code, text) = verify(&["--key", "neutral.pub", "--sig", "msg.sig", "msg"], dir);
    assert_eq!(code, 0, "{text}");
}

/// The published Void key itself (not a generated one) is detected as signify beside a
/// signify signature file, and would still be ambiguous with nothing to decide.
#[test]
fn the_published_void_20191109_key_is_signify_beside_a_signify_signature() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    let (_, sec) = Signify::keygen(dir, "k");
    std::fs::write(dir.join("msg"), b"m").unwrap();
    Signify::sign(&sec, &dir.join("msg"), &dir.join("msg.sig"));
    let sig = std::fs::read(dir.join("msg.sig")).unwrap();
    assert_eq!(
        detect(VOID_20191109.as_bytes(), Some(&sig)),
        Ok(Format::Signify)
    );
    assert!(detect(VOID_20191109.as_bytes(), None).is_err());
}

/// What stays ambiguous keeps needing `--format`: a signature file that names minisign
/// (a legacy minisign signature cut to two lines reads as signify bytes) beside a key whose
/// comment names neither. With the format named, each reading does what its tool does.
#[test]
fn the_remaining_ambiguity_still_needs_format() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    let (key, sec) = Minisign::keygen(dir, "m");
    std::fs::write(
        dir.join("neutral.pub"),
        with_comment(&key, "untrusted comment: release key 2026"),
    )
    .unwrap();
    let msg = dir.join("release.tgz");
    std::fs::write(&msg, b"release bytes").unwrap();
    let sig = Minisign::sign(&sec, &msg, true, "timestamp:1700000000\tfile:release.tgz");
    let two: String = std::fs::read_to_string(&sig)
        .unwrap()
        .split_inclusive('\n')
        .take(2)
        .collect();
    std::fs::write(dir.join("stripped.minisig"), two).unwrap();
    let (code, text) = verify(
        &[
            "--key",
            "neutral.pub",
            "--sig",
            "stripped.minisig",
            "release.tgz",
        ],
        dir,
    );
    assert_eq!(code, 2, "{text}");
    assert!(text.contains("--format"), "{text}");

    // The intact minisign signature is told apart by its trusted comment.
    let sig_name = sig.file_name().unwrap().to_str().unwrap();
    let (code, text) = verify(
        &["--key", "neutral.pub", "--sig", sig_name, "release.tgz"],
        dir,
    );
    assert_eq!(code, 0, "{text}");

    // A minisign key that says so is never read as signify, whatever the signature file.
    let (code, text) = verify(
        &["--key", "m.pub", "--sig", "stripped.minisig", "release.tgz"],
        dir,
    );
    assert_eq!(code, 1, "{text}");
}
