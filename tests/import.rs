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

type Got = Vec<(String, String, Option<String>)>;

/// Imports a sample, round-trips it through the profile parser, returns (url, country, name)
/// and the importer's warnings.
fn round_trip(file: &str, format: Format) -> (Got, Vec<String>) {
    let imported = import::read_list(&fixture(file), format).unwrap();
    let text = format!("{HEADER}{}", import::to_toml(&imported.entries));
    let profile = Profile::parse(&text, Path::new("."))
        .unwrap_or_else(|e| panic!("output does not parse as a profile ({e}):\n{text}"));
    let got = profile
        .mirrors
        .into_iter()
        .map(|m| (m.url, m.country, m.name))
        .collect();
    (got, imported.warnings)
}

fn urls(got: &[(String, String, Option<String>)]) -> Vec<(&str, &str)> {
    got.iter()
        .map(|(u, c, _)| (u.as_str(), c.as_str()))
        .collect()
}

#[track_caller]
fn assert_warned(warnings: &[String], needle: &str) {
    assert!(
        warnings.iter().any(|w| w.contains(needle)),
        "no warning containing {needle:?} in {warnings:#?}"
    );
}

/// `mirrors.dat` as openbsd/www publishes it: `0` starts a record (blank lines do not), GC is
/// an English name ("The Netherlands", "USA", "CDN"), GZ the ccTLD (`uk`, `net`), UHS wins
/// over UH, and a record without either is an anoncvs host, not a mirror.
#[test]
fn openbsd_mirrors_dat_as_published() {
    let (got, warnings) = round_trip("openbsd.mirrors.dat", Format::Openbsd);
    assert_eq!(
        urls(&got),
        [
            ("https://cdn.example.net/pub/OpenBSD/", "ZZ"),
            // The blank line inside the record did not split it: UHS still found.
            ("https://mirror.example.edu.au/pub/OpenBSD/", "AU"),
            // "#UHS" is a comment: http only.
            ("http://ftp.example.de/pub/OpenBSD/", "DE"),
            ("https://mirror.example.nl/pub/OpenBSD/", "NL"),
            // GC misspelt by the list; GZ "ph" decides.
            ("http://mirror.example.ph/pub/OpenBSD/", "PH"),
            ("https://www.example.org.uk/pub/OpenBSD/", "GB"),
            // No GZ at all: the name alone decides.
            ("http://mirror.example.co.uk/pub/OpenBSD/", "GB"),
            ("https://ftp4.example.com/pub/OpenBSD/", "US"),
            ("https://ftp3.example.com/pub/OpenBSD/", "US"),
            ("http://sunken.example/pub/OpenBSD/", "ZZ"),
        ]
    );
    assert!(got.iter().all(|(_, c, _)| c != "UK" && c != "NE"));
    assert_eq!(warnings.len(), 2, "{warnings:#?}");
    assert_warned(&warnings, "\"Atlantis / at-l\"");
    assert_warned(&warnings, "not a KEY<tab>value field");
}

#[test]
fn debian_masterlist_as_published() {
    let (got, warnings) = round_trip("debian.masterlist", Format::Debian);
    assert_eq!(
        urls(&got),
        [
            ("https://deb.example.org/debian/", "ZZ"),
            ("http://ftp.de.example.org/debian/", "DE"),
            ("https://ftp.uk.example.org/debian/", "GB"),
            ("https://mirror.example.ch/pub/debian/", "CH"),
            // Listed again under UZ: one mirror, counted once, in its first country.
            ("https://mirror.example.ru/mirrors/debian/", "RU"),
            ("http://debian.example.nz/debian/", "NZ"),
            ("http://ftp.example.xk/debian/", "ZZ"),
        ]
    );
    assert_eq!(got[1].2.as_deref(), Some("ftp.de.example.org"));
    assert_eq!(warnings.len(), 2, "{warnings:#?}");
    assert_warned(&warnings, "listed again under UZ; kept once, under RU");
    assert_warned(&warnings, "\"XK Kosovo\"");
}

/// archlinux.org's generated list names each mirror once per protocol: one entry per mirror
/// host, https kept, and no mirror counted twice in its country.
#[test]
fn arch_mirrorlist_one_entry_per_mirror_host() {
    let (got, warnings) = round_trip("arch.mirrorlist", Format::Arch);
    assert_eq!(
        urls(&got),
        [
            ("https://geo.mirror.example.com/", "ZZ"),
            ("https://mirror.cdn.example.com/archlinux/", "ZZ"),
            ("https://mirror.example.cz/archlinux/", "CZ"),
            ("http://ftp.example.de/pub/archlinux/", "DE"),
            ("https://mirror.example.de/archlinux/", "DE"),
            ("https://mirror.example.kr/archlinux/", "KR"),
            ("http://mirror.example.com.tr/archlinux/", "TR"),
            ("https://mirror.example.co.uk/archlinux/", "GB"),
            ("https://mirror.example.us/archlinux/", "US"),
            ("http://mirrors.example.edu/archlinux/", "US"),
            ("https://sunken.example/arch/", "ZZ"),
        ]
    );
    let in_de = got.iter().filter(|(_, c, _)| c == "DE").count();
    assert_eq!(
        in_de, 2,
        "mirror.example.de is listed four times but is one mirror"
    );
    // "Worldwide" is the list's own word for no country: ZZ without a warning.
    assert_eq!(warnings.len(), 1, "{warnings:#?}");
    assert_warned(&warnings, "\"## Atlantis\"");
}

#[test]
fn arch_score_sorted_list_takes_the_country_after_the_score() {
    let text = "##\n## Arch Linux repository mirrorlist\n## Sorted by mirror score from mirror status page\n## Generated on 2026-11-20\n##\n\n## Score: 0.3, Germany\n#Server = https://a.example.de/arch/$repo/os/$arch\n\n## Score: 0.4, United States\n#Server = https://b.example.com/arch/$repo/os/$arch\n\n## Score: unknown, Worldwide\n#Server = https://c.example.net/$repo/os/$arch\n";
    let imported = import::parse_list(text, Format::Arch);
    let got: Vec<_> = imported
        .entries
        .iter()
        .map(|e| (e.url.as_str(), e.country.as_str()))
        .collect();
    assert_eq!(
        got,
        [
            ("https://a.example.de/arch/", "DE"),
            ("https://b.example.com/arch/", "US"),
            ("https://c.example.net/", "ZZ"),
        ]
    );
    assert!(imported.warnings.is_empty(), "{:#?}", imported.warnings);
}

/// CRAN writes ccTLDs: `uk` is GB. 0-Cloud redirects worldwide (ZZ whatever its code says),
/// OK=0 rows are hidden as R hides them, and the http and https rows of one mirror are one
/// mirror.
#[test]
fn cran_csv_uk_is_gb() {
    let (got, warnings) = round_trip("cran.csv", Format::Cran);
    assert_eq!(
        urls(&got),
        [
            ("https://cloud.example.org/", "ZZ"),
            ("http://mirror.example.edu.ar/CRAN/", "AR"),
            ("https://cran.example.at/", "AT"),
            ("https://cran.example.ir/", "IR"),
            ("https://cran.example.kr/", "KR"),
            ("https://cran.example.nl/", "NL"),
            ("https://www.stats.example.ac.uk/R/", "GB"),
            ("https://cran.example.ac.uk/", "GB"),
            ("https://cran.example.edu/", "US"),
            ("https://cran.example.eu/", "ZZ"),
        ]
    );
    let names: Vec<_> = got.iter().map(|(_, _, n)| n.as_deref()).collect();
    assert_eq!(names[0], Some("0-Cloud [https]"));
    assert_eq!(names[2], Some("Austria [https]"));
    assert_eq!(warnings.len(), 1, "{warnings:#?}");
    assert_warned(&warnings, "\"eu / Worldwide\"");
}

#[test]
fn unassigned_codes_never_reach_a_profile() {
    for (format, text) in [
        (
            Format::Cran,
            "Name,Country,City,URL,Host,Maintainer,OK,CountryCode\nx,Nowhere,y,https://a.example/,h,m,1,qq\n",
        ),
        (
            Format::Debian,
            "Site: a.example\nArchive-https: /d/\nCountry: SU Soviet Union\n",
        ),
        (
            Format::Openbsd,
            "0\nGC\tEurope\nGZ\teu\nUHS\thttps://a.example/\n",
        ),
        (
            Format::Arch,
            "## Europe\nServer = https://a.example/$repo/os/$arch\n",
        ),
    ] {
        let imported = import::parse_list(text, format);
        assert_eq!(imported.entries.len(), 1, "{format:?}");
        assert_eq!(imported.entries[0].country, "ZZ", "{format:?}");
        assert_eq!(
            imported.warnings.len(),
            1,
            "{format:?}: {:#?}",
            imported.warnings
        );
    }
}

/// A hostile list cannot use a warning to drive the terminal: outside text in warnings is
/// escaped.
#[test]
fn warnings_are_terminal_safe() {
    let text =
        "## Evil\u{1b}]0;owned\u{7}\u{202e}land\nServer = https://a.example/$repo/os/$arch\n";
    let imported = import::parse_list(text, Format::Arch);
    assert_eq!(imported.warnings.len(), 1);
    let w = &imported.warnings[0];
    assert!(!w.chars().any(mirrorproof::text::is_unsafe), "{w:?}");
    assert!(w.contains("\\u{1b}") && w.contains("\\u{202e}"), "{w}");
}

#[test]
fn warnings_are_capped() {
    let text: String = (0..500)
        .map(|i| format!("## Nowhere{i}\nServer = https://m{i}.example/$repo/os/$arch\n"))
        .collect();
    let imported = import::parse_list(&text, Format::Arch);
    assert_eq!(imported.entries.len(), 500);
    assert_eq!(imported.warnings.len(), import::MAX_WARNINGS + 1);
    assert!(imported.warnings.last().unwrap().contains("450 more"));
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
    assert!(expected.contains("country = \"GB\""), "{expected}");
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

fn entry(url: &str, country: &str, name: Option<&str>) -> Entry {
    Entry {
        url: url.into(),
        country: country.into(),
        name: name.map(Into::into),
    }
}

/// `mirrors import --into`: every ready-made profile keeps its header, comments and keys
/// byte for byte, and only its mirrors change.
#[test]
fn replace_mirrors_keeps_everything_but_the_mirrors_of_real_profiles() {
    let new = [
        entry("https://a.example/pub/", "GB", Some("a \"quoted\" name")),
        entry("http://b.example/", "ZZ", None),
    ];
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("profiles");
    let mut seen = 0;
    for item in std::fs::read_dir(&dir).unwrap() {
        let path = item.unwrap().path();
        if path.extension().and_then(|e| e.to_str()) != Some("toml") {
            continue;
        }
        seen += 1;
        let text = std::fs::read_to_string(&path).unwrap();
        let out = import::replace_mirrors(&text, &new)
            .unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        let head = &text[..text.find("[[mirrors]]").unwrap()];
        assert!(out.starts_with(head), "{}: header changed", path.display());
        assert_eq!(out.matches("[[mirrors]]").count(), 2, "{out}");
        let before = Profile::parse(&text, &dir).unwrap();
        let after = Profile::parse(&out, &dir).unwrap();
        assert_eq!(
            (
                &after.name,
                &after.scheme,
                &after.root,
                &after.channel,
                &after.signed
            ),
            (
                &before.name,
                &before.scheme,
                &before.root,
                &before.channel,
                &before.signed
            )
        );
        let got: Vec<_> = after
            .mirrors
            .iter()
            .map(|m| (m.url.as_str(), m.country.as_str(), m.name.as_deref()))
            .collect();
        assert_eq!(
            got,
            [
                ("https://a.example/pub/", "GB", Some("a \"quoted\" name")),
                ("http://b.example/", "ZZ", None),
            ]
        );
    }
    assert!(seen >= 3, "only {seen} profiles");
}

#[test]
fn replace_mirrors_keeps_comments_between_and_after_and_ignores_look_alikes_in_strings() {
    let text = "# my profile\nname = \"\"\"x\n[[mirrors]]\nurl = \"https://in-a-string.example/\"\n\"\"\"\n\
        scheme = \"signify\"\nkey = \"k.pub\"\nfile = \"SHA256.sig\"\nchannel = \"stable\"\n\
        required_entries = [\n  \"a\",\n]\n\n# the mirrors\n[[mirrors]]\nurl = \"https://old1.example/\"\n\
        # a comment inside a mirror\ncountry = \"DE\"\n\n[[\"mirrors\"]]\nurl = \"https://old2.example/\"\n";
    let out = import::replace_mirrors(text, &[entry("https://new.example/", "FR", None)]).unwrap();
    assert!(out.starts_with("# my profile\nname = \"\"\"x\n"), "{out}");
    assert!(out.contains("https://in-a-string.example/"), "{out}");
    assert!(
        out.contains("# the mirrors\n[[mirrors]]\nurl = \"https://new.example/\""),
        "{out}"
    );
    assert!(!out.contains("old1") && !out.contains("old2"), "{out}");
    assert!(!out.contains("a comment inside a mirror"), "{out}");
    let p = Profile::parse(&out, Path::new(".")).unwrap();
    assert_eq!(p.mirrors.len(), 1);
    assert_eq!(p.mirrors[0].country, "FR");
}

#[test]
fn replace_mirrors_appends_to_a_profile_without_mirrors() {
    let text = "name = \"x\"\nroot = \"r.json\"\nchannel = \"stable\"  # no newline at end";
    let out = import::replace_mirrors(text, &[entry("https://new.example/", "NL", None)]).unwrap();
    assert!(out.starts_with(text), "{out}");
    assert_eq!(
        Profile::parse(&out, Path::new(".")).unwrap().mirrors.len(),
        1
    );
}

#[test]
fn replace_mirrors_refuses_what_it_cannot_rewrite_safely() {
    let inline = format!("{HEADER}mirrors = [{{ url = \"https://old.example/\" }}]\n");
    let err = import::replace_mirrors(&inline, &[entry("https://n.example/", "FR", None)])
        .unwrap_err()
        .to_string();
    assert!(err.contains("not written as [[mirrors]] tables"), "{err}");

    let broken = format!("{HEADER}[[mirrors]\nurl = 1\n");
    assert!(import::replace_mirrors(&broken, &[]).is_err());

    // A profile that is TOML but not a profile is not silently "fixed".
    let not_profile = "name = \"x\"\nchannel = \"s\"\nroot = \"r\"\nbogus = 1\n";
    assert!(import::replace_mirrors(not_profile, &[]).is_err());

    // Entries the profile would refuse make the result refused, not written.
    let err = import::replace_mirrors(HEADER, &[entry("https://n.example/", "UK", None)])
        .unwrap_err()
        .to_string();
    assert!(err.contains("did you mean GB?"), "{err}");
}
