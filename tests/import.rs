//! `mirrors import`: each sample list becomes exactly the expected mirrors, and the printed
//! TOML is accepted back by the profile parser it is meant to be pasted into.

use std::path::{Path, PathBuf};
use std::process::Command;

use mirrorproof::import::{self, Entry, Format};
use mirrorproof::profile::Profile;
use proptest::prelude::*;

const BIN: &str = env!("CARGO_BIN_EXE_mirrorproof");
const HEADER: &str = "name = \"x\"\nroot = \"r.json\"\nchannel = \"stable\"\n";

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("fixtures/mirrorlists")
        .join(name)
}

/// Imports a sample, round-trips it through the profile parser, returns (url, country, name).
fn round_trip(file: &str, format: Format) -> Vec<(String, String, Option<String>)> {
    let entries = import::import_file(&fixture(file), format).unwrap();
    let text = format!("{HEADER}{}", import::to_toml(&entries));
    let profile = Profile::parse(&text, Path::new("."))
        .unwrap_or_else(|e| panic!("output does not parse as a profile ({e}):\n{text}"));
    profile
        .mirrors
        .into_iter()
        .map(|m| (m.url, m.country, m.name))
        .collect()
}

fn urls(got: &[(String, String, Option<String>)]) -> Vec<(&str, &str)> {
    got.iter()
        .map(|(u, c, _)| (u.as_str(), c.as_str()))
        .collect()
}

#[test]
fn openbsd_sample() {
    let got = round_trip("openbsd.txt", Format::Openbsd);
    assert_eq!(
        urls(&got),
        [
            ("https://ftp.example.de/pub/OpenBSD/", "DE"),
            ("http://ftp.example.jp/OpenBSD/", "JP"),
            ("https://miroir.example.fr/openbsd/", "FR"),
            ("https://mirror2.example.de/OpenBSD/", "ZZ"),
            ("http://mirror.example.com/OpenBSD/", "US"),
        ]
    );
    assert!(got.iter().all(|(_, _, n)| n.is_none()));
}

#[test]
fn debian_sample() {
    let got = round_trip("debian.masterlist", Format::Debian);
    assert_eq!(
        urls(&got),
        [
            ("http://ftp.de.example.org/debian/", "DE"),
            ("https://mirror.example.ch/debian/", "CH"),
            ("https://deb.example.is/debian/", "ZZ"),
            ("http://lower.example.jp/pub/debian/", "JP"),
        ]
    );
    assert_eq!(got[0].2.as_deref(), Some("ftp.de.example.org"));
}

#[test]
fn arch_sample() {
    let got = round_trip("arch.mirrorlist", Format::Arch);
    assert_eq!(
        urls(&got),
        [
            ("https://geo.mirror.example.com/", "ZZ"),
            ("https://mirror.example.de/archlinux/", "DE"),
            ("http://ftp.example.de/pub/archlinux/", "DE"),
            ("https://us.example.com/archlinux/", "US"),
            ("https://arch.example.net/", "US"),
            ("https://kr.example.kr/archlinux/", "KR"),
            ("https://atlantis.example/arch/", "ZZ"),
        ]
    );
}

#[test]
fn cran_sample() {
    let got = round_trip("cran.csv", Format::Cran);
    assert_eq!(
        urls(&got),
        [
            ("https://cloud.example.org/", "US"),
            ("https://cran.example.at/", "AT"),
            ("http://cran.example.de/", "DE"),
            ("https://cran.example.jp/", "JP"),
            ("https://cran.example.zz/", "ZZ"),
        ]
    );
    let names: Vec<_> = got.iter().map(|(_, _, n)| n.as_deref()).collect();
    assert_eq!(
        names,
        [
            Some("0-Cloud [https]"),
            Some("Austria [https]"),
            Some("Old, \"Quoted\" Mirror"),
            Some("Multi Line"),
            Some("Bad code"),
        ]
    );
}

#[test]
fn names_with_quotes_backslashes_and_control_characters_stay_valid_toml() {
    let entries = vec![Entry {
        url: "https://m.example/".into(),
        country: "DE".into(),
        name: Some("a\"b\\c\u{7f}d\u{1}e\u{85}f ü".into()),
    }];
    let text = format!("{HEADER}{}", import::to_toml(&entries));
    let p = Profile::parse(&text, Path::new(".")).unwrap();
    assert_eq!(p.mirrors[0].name, entries[0].name);
}

proptest! {
    #[test]
    fn any_text_parses_without_panic_and_round_trips(text in "(?s).{0,400}", f in 0..4usize) {
        let format = [Format::Openbsd, Format::Debian, Format::Arch, Format::Cran][f];
        let entries = import::parse(&text, format);
        let toml = format!("{HEADER}{}", import::to_toml(&entries));
        let p = Profile::parse(&toml, Path::new("."));
        prop_assert!(p.is_ok(), "{:?}\n{}", p.err(), toml);
    }

    #[test]
    fn arch_lines_from_hostile_pieces(lines in proptest::collection::vec(
        prop_oneof![
            Just("## Germany".to_string()),
            Just("#Server = https://a.example/$repo/os/$arch".to_string()),
            "[#=$/ a-z:\"\\\\]{0,30}".prop_map(|s| s),
            "Server = https?://[a-z\\.\"\\\\$/ ]{0,20}".prop_map(|s| s),
        ], 0..12)) {
        let entries = import::parse(&lines.join("\n"), Format::Arch);
        let toml = format!("{HEADER}{}", import::to_toml(&entries));
        prop_assert!(Profile::parse(&toml, Path::new(".")).is_ok(), "{}", toml);
    }
}

fn run(args: &[&str]) -> (i32, String, String) {
    let out = Command::new(BIN).args(args).output().unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn binary_prints_the_library_output() {
    let file = fixture("cran.csv");
    let (code, stdout, stderr) = run(&[
        "mirrors",
        "import",
        "--format",
        "cran",
        file.to_str().unwrap(),
    ]);
    assert_eq!(code, 0, "{stderr}");
    let expected = import::to_toml(&import::import_file(&file, Format::Cran).unwrap());
    assert_eq!(stdout, expected);
    assert!(Profile::parse(&format!("{HEADER}{stdout}"), Path::new(".")).is_ok());
}

#[track_caller]
fn assert_usage_error(args: &[&str]) -> String {
    let (code, stdout, stderr) = run(args);
    assert_eq!(code, 2, "stdout:\n{stdout}\nstderr:\n{stderr}");
    assert!(stdout.is_empty(), "{stdout}");
    assert!(!stderr.contains("panicked"), "{stderr}");
    stderr
}

#[test]
fn missing_file_is_one_line_usage_error() {
    let err = assert_usage_error(&["mirrors", "import", "--format", "arch", "/nonexistent/list"]);
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(
        err.starts_with("mirrorproof: cannot read /nonexistent/list"),
        "{err}"
    );
}

#[test]
fn unknown_format_is_usage_error() {
    let file = fixture("arch.mirrorlist");
    assert_usage_error(&[
        "mirrors",
        "import",
        "--format",
        "gentoo",
        file.to_str().unwrap(),
    ]);
}

#[test]
fn wrong_format_finding_nothing_is_usage_error() {
    let file = fixture("debian.masterlist");
    let err = assert_usage_error(&[
        "mirrors",
        "import",
        "--format",
        "cran",
        file.to_str().unwrap(),
    ]);
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(err.contains("--format"), "{err}");
}
