//! Writes the small seed corpora under `fuzz/seeds/<target>/` (deterministic output):
//! `cargo run --manifest-path fuzz/Cargo.toml --example make_seeds [DIR]`.

use std::fs;
use std::path::{Path, PathBuf};

use mirrorproof::envelope::{Envelope, RELEASE_TYPE, ROOT_TYPE};
use mirrorproof_fuzz::{PROFILE, fixture, release_envelope, release_payload, root_payload, signed};

// Genuine signify, minisign, OpenSSH and signed-note files for the scheme targets.
#[path = "../fuzz_targets/common/schemes.rs"]
mod schemes;

fn write(dir: &Path, target: &str, name: &str, bytes: &[u8]) {
    let d = dir.join(target);
    fs::create_dir_all(&d).unwrap();
    fs::write(d.join(name), bytes).unwrap();
}

fn main() {
    let dir = std::env::args_os()
        .nth(1)
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("seeds"));
    let f = fixture();
    let release2 = release_envelope(7, 2);
    let release3 = release_envelope(7, 3);
    let release1 = release_envelope(7, 1);
    let outsider = signed(RELEASE_TYPE, &release_payload(7), &[&f.outsider]).to_json_bytes();
    let mut dup = Envelope::parse(&release2, u64::MAX).unwrap();
    let first = dup.signatures[0].clone();
    dup.signatures.insert(0, first.clone());
    dup.signatures.push(first);
    let dup = dup.to_json_bytes();

    for (name, b) in [
        ("release-2of3.json", &release2),
        ("release-3of3.json", &release3),
        ("release-1of3.json", &release1),
        ("release-outsider.json", &outsider),
        ("release-duplicates.json", &dup),
        ("root-v1.json", &f.root_bytes),
        ("root-v2.json", &f.root2_bytes),
    ] {
        write(&dir, "envelope", name, b);
        write(&dir, "verify_release", name, b);
    }
    write(
        &dir,
        "envelope",
        "unsigned.json",
        &Envelope::unsigned(ROOT_TYPE, b"{}").to_json_bytes(),
    );

    write(&dir, "release", "release.json", &release_payload(7));
    write(&dir, "release", "name.txt", b"dir/a..b/c.zip");
    // verify_release_signed: first byte = signing flags (0x03: release keys 0 and 1).
    for (name, flags) in [("k01.bin", 0x03u8), ("k012-dup-bad.bin", 0xb7)] {
        let mut v = vec![flags];
        v.extend_from_slice(&release_payload(7));
        write(&dir, "verify_release_signed", name, &v);
    }

    write(&dir, "root", "root-v1.json", &f.root_bytes);
    write(&dir, "root", "root-v2.json", &f.root2_bytes);
    write(
        &dir,
        "root",
        "payload-v1.json",
        &root_payload(1, &f.root_keys, &f.release_keys),
    );
    write(
        &dir,
        "root",
        "payload-v2.json",
        &root_payload(2, &f.root_keys, &f.release_keys),
    );

    write(&dir, "profile", "profile.toml", PROFILE.as_bytes());
    write(&dir, "profile", "arg.txt", b"http://127.0.0.1:1/x=de\n");

    for (name, t) in [
        ("abs.txt", "2026-11-22T10:00:00.123Z"),
        ("rel.txt", "+30d"),
        ("neg.txt", "-12h"),
    ] {
        write(&dir, "time", name, t.as_bytes());
    }

    for (target, name, bytes) in schemes::seeds() {
        write(&dir, target, &name, &bytes);
    }
}
