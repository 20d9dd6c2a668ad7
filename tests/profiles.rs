//! The ready-made profiles in `profiles/` and the published keys in `keys/`: every profile
//! loads with its pinned key, and the keys verify real signatures their projects published
//! (quoted below with their sources), through the same code `check` and `verify` use.

use std::path::{Path, PathBuf};
use std::process::Command;

use mirrorproof::profile::Profile;
use mirrorproof::schemes::pinned::Pinned;

fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn bin() -> Command {
    Command::new(env!("CARGO_BIN_EXE_mirrorproof"))
}

/// `sum.golang.org/latest` as retrieved on 2024-09-23, quoted in sigsum/sigsum-go
/// `pkg/checkpoint/checkpoint_test.go`.
const SUMDB_CHECKPOINT: &str = "go.sum database tree\n30055305\nmXfgRcJ0bG0j3CPdKwgGWtUzBUbX67saZGRmFuJGGsM=\n\n\u{2014} sum.golang.org Az3grpgEild5qw7+5dtV13Kf1C2Xurm8q4fhdxvcsDHnqNTaxL2AFjBY+2TyGKevucFcAAlWFJJYle3EJlDCrQ+y3A8=\n";

/// Signatures of the message `test` by the DNSCrypt resolver-list key, published as test
/// vectors of jedisct1/minisign-verify (MIT): legacy `Ed` and prehashed `ED`.
const DNSCRYPT_LEGACY_SIG: &str = "untrusted comment: signature from minisign secret key\nRWQf6LRCGA9i59SLOFxz6NxvASXDJeRtuZykwQepbDEGt87ig1BNpWaVWuNrm73YiIiJbq71Wi+dP9eKL8OC351vwIasSSbXxwA=\ntrusted comment: timestamp:1555779966\tfile:test\nQtKMXWyYcwdpZAlPF7tE2ENJkRd1ujvKjlj1m9RtHTBnZPa5WKU5uWRs5GoP5M/VqE81QFuMKI5k/SfNQUaOAA==\n";
const DNSCRYPT_PREHASHED_SIG: &str = "untrusted comment: signature from minisign secret key\nRUQf6LRCGA9i559r3g7V1qNyJDApGip8MfqcadIgT9CuhV3EMhHoN1mGTkUidF/z7SrlQgXdy8ofjb7bNJJylDOocrCo8KLzZwo=\ntrusted comment: timestamp:1556193335\tfile:test\ny/rUw2y8/hOUYjZU71eHp/Wo1KZ40fGy2VJEDl34XMJM+TX48Ss/17u3IvIfbVR1FkZZSNCisQbuQY+bHwhEBg==\n";

#[test]
fn every_ready_profile_loads_with_its_pinned_key() {
    let mut seen = Vec::new();
    for entry in std::fs::read_dir(repo().join("profiles")).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().and_then(|e| e.to_str()) != Some("toml") {
            continue;
        }
        let profile = Profile::load(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        if let Some(tuf) = &profile.tuf {
            // A TUF profile pins a root that verifies itself, and names where each mirror
            // serves metadata and targets.
            let (_, version) = mirrorproof::schemes::tuf::scheme::load_pinned(
                &profile.root,
                &mirrorproof::schemes::tuf::Config::default(),
            )
            .unwrap_or_else(|e| panic!("{}: {e}", path.display()));
            assert!(version >= 1);
            assert!(profile.signed.is_none());
            assert!(!tuf.targets.is_empty(), "{}", path.display());
            assert!(!profile.mirrors.is_empty(), "{}", path.display());
            for m in &profile.mirrors {
                assert!(
                    m.url.starts_with("https://"),
                    "{}: {}",
                    path.display(),
                    m.url
                );
                match tuf.targets_location(m) {
                    mirrorproof::profile::Location::Http(u) => {
                        assert_eq!(u.scheme(), "https", "{}", path.display())
                    }
                    other => panic!("{}: targets at {other:?}", path.display()),
                }
            }
            seen.push("tuf");
            continue;
        }
        let source = profile
            .signed
            .clone()
            .unwrap_or_else(|| panic!("{}: not a signed-file profile", path.display()));
        let key = std::fs::read(&profile.root)
            .unwrap_or_else(|e| panic!("{}: key {}: {e}", path.display(), profile.root.display()));
        Pinned::load(
            source.format,
            &key,
            source.identity.as_deref(),
            source.namespace.as_deref(),
        )
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        assert!(!profile.mirrors.is_empty(), "{}", path.display());
        for m in &profile.mirrors {
            assert!(
                m.url.starts_with("https://"),
                "{}: {}",
                path.display(),
                m.url
            );
            assert_eq!(m.country.len(), 2);
        }
        seen.push(source.format.as_str());
    }
    seen.sort();
    seen.dedup();
    assert_eq!(seen, ["minisign", "note", "signify", "sshsig", "tuf"]);
}

fn write_tmp(dir: &Path, name: &str, text: &str) -> PathBuf {
    let p = dir.join(name);
    std::fs::write(&p, text).unwrap();
    p
}

#[test]
fn the_pinned_go_key_verifies_a_real_sum_golang_org_checkpoint() {
    let dir = tempfile::tempdir().unwrap();
    let note = write_tmp(dir.path(), "latest", SUMDB_CHECKPOINT);
    let key = repo().join("keys/sum.golang.org.vkey");
    let out = bin()
        .args(["verify", "--key"])
        .arg(&key)
        .arg("--sig")
        .arg(&note)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{stdout}");
    assert!(stdout.contains("tree size 30055305"), "{stdout}");

    let forged = write_tmp(
        dir.path(),
        "forged",
        &SUMDB_CHECKPOINT.replace("30055305", "30055306"),
    );
    let out = bin()
        .args(["verify", "--key"])
        .arg(&key)
        .arg("--sig")
        .arg(&forged)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));

    // The ready profile, pointed at a local copy of the log: the real note, the real key.
    let mirror = dir.path().join("mirror");
    std::fs::create_dir_all(&mirror).unwrap();
    std::fs::write(mirror.join("latest"), SUMDB_CHECKPOINT).unwrap();
    let out = bin()
        .args(["check"])
        .arg(repo().join("profiles/go-sumdb.toml"))
        .args(["--only-cli-mirrors", "--no-state", "--json", "--mirror"])
        .arg(format!("{}=US", mirror.display()))
        .output()
        .unwrap();
    let report: serde_json::Value = serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("{e}: {}", String::from_utf8_lossy(&out.stderr)));
    assert_eq!(report["mirrors"][0]["status"], "ok", "{report}");
    assert_eq!(report["latest"]["version"], 30055305);
    assert_eq!(out.status.code(), Some(0));
}

#[test]
fn the_pinned_dnscrypt_key_verifies_its_published_signatures() {
    let dir = tempfile::tempdir().unwrap();
    let message = write_tmp(dir.path(), "test", "test");
    let key = repo().join("keys/dnscrypt-resolvers.pub");
    for (name, sig) in [
        ("legacy", DNSCRYPT_LEGACY_SIG),
        ("prehashed", DNSCRYPT_PREHASHED_SIG),
    ] {
        let sig = write_tmp(dir.path(), &format!("{name}.minisig"), sig);
        let run = |file: &Path| {
            bin()
                .args(["verify", "--key"])
                .arg(&key)
                .arg("--sig")
                .arg(&sig)
                .arg(file)
                .output()
                .unwrap()
        };
        let out = run(&message);
        assert_eq!(
            out.status.code(),
            Some(0),
            "{name}: {}",
            String::from_utf8_lossy(&out.stdout)
        );
        let other = write_tmp(dir.path(), "Test", "Test");
        assert_eq!(run(&other).status.code(), Some(1), "{name}");
    }
}

#[test]
fn openbsd_keys_are_signify_keys_and_grapheneos_needs_its_namespace() {
    for v in ["77", "78", "79", "80"] {
        let bytes = std::fs::read(repo().join(format!("keys/openbsd-{v}-base.pub"))).unwrap();
        let k = mirrorproof::schemes::signify::SignifyKey::parse(&bytes)
            .unwrap_or_else(|e| panic!("openbsd-{v}-base.pub: {e}"));
        assert!(
            k.comment
                .contains(&format!("openbsd {}.{} base", &v[..1], &v[1..])),
            "{}",
            k.comment
        );
    }
    let signers = std::fs::read(repo().join("keys/grapheneos.allowed_signers")).unwrap();
    let format = mirrorproof::schemes::Format::Sshsig;
    assert!(Pinned::load(format, &signers, Some("contact@grapheneos.org"), None).is_err());
    assert!(
        Pinned::load(
            format,
            &signers,
            Some("contact@grapheneos.org"),
            Some("factory images")
        )
        .is_ok()
    );
}
