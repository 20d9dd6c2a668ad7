//! Nothing from a mirror reaches a terminal raw.
//!
//! The attack: a mirror operator (or whoever writes a mirror list, a signature comment or a
//! log's name) puts terminal control sequences into text that mirrorproof shows: ESC
//! sequences that retitle the window (`ESC ] 0 ; ... BEL`) or clear the screen (`ESC [ 2 J`),
//! the one-byte CSI U+009B, DEL, and the bidi controls that make `exampleos-4-<U+202E>gpj.zip`
//! display as `exampleos-4-piz.jpg`. Each test mounts one path for real (mirror trees on
//! disk, a loopback HTTP mirror, the reference `minisign`, signed notes, files on disk) and
//! runs the real binary; stdout and stderr, human and `--json`, must carry none of these
//! characters raw, and the escaped form (`\u{1b}`, `\u{202e}`) must be visible so the
//! person sees that something odd was there. JSON keeps the very same values (a JSON reader
//! gets the original text back).

mod common;

use std::path::{Path, PathBuf};

use common::{PROJECT, Server, V, World};
use mirrorproof::text::{is_unsafe, shown, toml_string};

use common::binary::{Out, run_in};

/// Window title, clear screen, one-byte CSI, DEL, and every kind of bidi control.
const HOSTILE: &str =
    "\u{1b}]0;pwned\u{7}\u{1b}[2J\u{9b}31m\u{7f}\u{85}\u{202e}\u{2066}\u{200f}\u{61c}";
/// A file name that displays as `exampleos-4-piz.jpg`.
const BIDI_ZIP: &str = "exampleos-4-\u{202e}gpj.zip";

macro_rules! args {
    ($($a:expr),* $(,)?) => { &[$(std::ffi::OsStr::new($a)),*] };
}

/// No unsafe character anywhere on either stream, except the newlines that end lines.
#[track_caller]
fn assert_terminal_safe(what: &str, out: &Out) {
    for (stream, text) in [("stdout", &out.stdout), ("stderr", &out.stderr)] {
        if let Some((i, c)) = text
            .char_indices()
            .find(|&(_, c)| is_unsafe(c) && c != '\n')
        {
            panic!(
                "{what}: {stream} carries U+{:04X} raw at byte {i}:\n{}",
                c as u32,
                out.describe()
            );
        }
    }
    assert!(
        !out.stderr.contains("panicked"),
        "{what}: panic\n{}",
        out.describe()
    );
}

/// A profile written with `text::toml_string`, so any name is valid TOML.
fn write_profile(w: &World, name: &str, mirrors: &[(String, &str, Option<String>)]) -> PathBuf {
    let mut text = format!(
        "name = {}\nroot = {}\nchannel = \"stable\"\n",
        toml_string(name),
        toml_string(&w.pinned_path().display().to_string())
    );
    for (url, country, label) in mirrors {
        text.push_str(&format!(
            "[[mirrors]]\nurl = {}\ncountry = {}\n",
            toml_string(url),
            toml_string(country)
        ));
        if let Some(l) = label {
            text.push_str(&format!("name = {}\n", toml_string(l)));
        }
    }
    let p = w.path().join("hostile.toml");
    std::fs::write(&p, text).unwrap();
    p
}

/// Mirrors whose names, URLs, artifact names and reasons carry control sequences.
struct Hostile {
    w: World,
    profile: PathBuf,
    _server: Server,
}

fn hostile_world() -> Hostile {
    let mut w = World::new();
    // The binary judges at wall-clock time.
    w.now = mirrorproof::time::now();
    // A validly signed release one of whose artifact names carries U+202E: release names
    // may hold any printable character, and bidi controls are printable.
    let rel = w
        .release(V)
        .signed_by(&[0, 1])
        .artifact("factory.zip", 1000)
        .artifact(BIDI_ZIP, 1000)
        .build();
    // 1. An honest mirror whose profile name is hostile (as an imported list could make it).
    w.mirror("fr", "FR").serves(&rel);
    // 2. An HTTP mirror whose URL path is hostile and that lacks the bidi-named artifact:
    //    the URL is its label, and the artifact's name is in its reason.
    let dir_name = format!("m{HOSTILE}");
    w.mirror(&dir_name, "DE")
        .serves(&rel)
        .delete_artifact(BIDI_ZIP);
    let server = Server::serve_dir(w.path().join("mirrors"));
    let http_url = format!("{}{}/", server.url(), dir_name);
    // 3. An HTTP mirror serving garbage whose parse error quotes it.
    w.mirror("junk", "NL")
        .serves_bytes(format!("{{\"payloadType\": 7, \"{HOSTILE}\": \"{HOSTILE}\"}}").as_bytes());
    // 4. A dead HTTP mirror with a hostile URL.
    let dead = {
        let s = Server::serve_dir(w.path());
        let url = format!("{}{HOSTILE}/", s.url());
        drop(s);
        url
    };
    let profile = write_profile(
        &w,
        &format!("exampleos{HOSTILE}"),
        &[
            (w.url_of("fr"), "FR", Some(format!("fr-paris{HOSTILE}"))),
            (http_url, "DE", None),
            (
                format!("{}junk/", server.url()),
                "NL",
                Some(format!("junk{HOSTILE}")),
            ),
            (dead, "JP", None),
        ],
    );
    Hostile {
        w,
        profile,
        _server: server,
    }
}

#[test]
fn human_report_escapes_names_urls_artifacts_and_reasons() {
    let h = hostile_world();
    let out = run_in(
        h.w.path(),
        args![
            "check",
            h.profile.as_os_str(),
            "--no-state",
            "--timeout",
            "10"
        ],
    );
    assert_eq!(out.code, Some(1), "{}", out.describe());
    assert_terminal_safe("human report", &out);
    let escaped = shown(HOSTILE).into_owned();
    assert!(escaped.contains("\\u{1b}]0;pwned\\u{7}"), "{escaped}");
    // The profile name, the mirror name, the hostile URL (label of an unnamed mirror).
    assert!(
        out.stdout.contains(&format!("exampleos{escaped}")),
        "{}",
        out.describe()
    );
    assert!(
        out.stdout.contains(&format!("fr-paris{escaped}")),
        "{}",
        out.describe()
    );
    assert!(
        out.stdout.contains(&format!("/m{escaped}/")),
        "{}",
        out.describe()
    );
    // The artifact's name in the incomplete mirror's reason, shown as written.
    assert!(
        out.stdout.contains("exampleos-4-\\u{202e}gpj.zip"),
        "{}",
        out.describe()
    );
    assert!(out.stdout.contains("incomplete"), "{}", out.describe());
}

#[test]
fn json_report_keeps_values_and_escapes_what_terminals_obey() {
    let h = hostile_world();
    let out = run_in(
        h.w.path(),
        args![
            "check",
            h.profile.as_os_str(),
            "--no-state",
            "--json",
            "--timeout",
            "10"
        ],
    );
    assert_eq!(out.code, Some(1), "{}", out.describe());
    assert_terminal_safe("JSON report", &out);
    // Escaped as JSON escapes: a JSON reader gets the very same text back.
    assert!(out.stdout.contains("\\u202e"), "{}", out.describe());
    assert!(out.stdout.contains("\\u009b"), "{}", out.describe());
    assert!(out.stdout.contains("\\u007f"), "{}", out.describe());
    let v: serde_json::Value = serde_json::from_str(&out.stdout).unwrap();
    assert_eq!(v["profile"], format!("exampleos{HOSTILE}"));
    let mirrors = v["mirrors"].as_array().unwrap();
    assert!(
        mirrors
            .iter()
            .any(|m| m["name"] == format!("fr-paris{HOSTILE}") && m["status"] == "ok"),
        "{}",
        out.describe()
    );
    let de = mirrors
        .iter()
        .find(|m| {
            m["url"]
                .as_str()
                .unwrap()
                .contains(&format!("/m{HOSTILE}/"))
        })
        .expect("the hostile URL comes back whole");
    assert_eq!(de["status"], "incomplete");
    assert!(
        de["error"].as_str().unwrap().contains(BIDI_ZIP),
        "{}",
        out.describe()
    );
    assert!(
        de["artifacts"]
            .as_array()
            .unwrap()
            .iter()
            .any(|a| a["name"] == BIDI_ZIP),
        "{}",
        out.describe()
    );
}

#[test]
fn verify_escapes_file_and_artifact_names() {
    let h = hostile_world();
    let dl = h.w.path().join("downloads");
    std::fs::create_dir_all(&dl).unwrap();
    // The genuine bidi-named artifact, downloaded: OK, shown escaped.
    let genuine =
        h.w.url_of("fr")
            .parse::<PathBuf>()
            .unwrap()
            .join("artifacts")
            .join(BIDI_ZIP);
    std::fs::copy(&genuine, dl.join(BIDI_ZIP)).unwrap();
    // A file whose own name is hostile, a missing one, and a directory.
    let evil_file = dl.join(format!("factory{HOSTILE}.zip"));
    std::fs::write(&evil_file, b"x").unwrap();
    let missing = dl.join(format!("gone{HOSTILE}.zip"));
    let a_dir = dl.join(format!("dir{HOSTILE}"));
    std::fs::create_dir_all(&a_dir).unwrap();
    let only_fr = write_profile(
        &h.w,
        "exampleos",
        &[(h.w.url_of("fr"), "FR", Some(format!("fr{HOSTILE}")))],
    );
    let out = run_in(
        h.w.path(),
        args![
            "verify",
            only_fr.as_os_str(),
            dl.join(BIDI_ZIP).as_os_str(),
            evil_file.as_os_str(),
            missing.as_os_str(),
            a_dir.as_os_str(),
            "--no-state"
        ],
    );
    assert_eq!(out.code, Some(1), "{}", out.describe());
    assert_terminal_safe("verify", &out);
    let escaped = shown(HOSTILE).into_owned();
    assert!(
        out.stdout
            .lines()
            .any(|l| l.starts_with("OK") && l.contains("exampleos-4-\\u{202e}gpj.zip")),
        "{}",
        out.describe()
    );
    assert!(
        out.stdout
            .lines()
            .any(|l| l.contains(&format!("gone{escaped}.zip")) && l.ends_with("No such file")),
        "{}",
        out.describe()
    );
    assert!(
        out.stdout
            .lines()
            .any(|l| l.contains(&format!("dir{escaped}")) && l.ends_with("is a directory")),
        "{}",
        out.describe()
    );
    assert!(
        out.stdout.contains(&format!("factory{escaped}.zip")),
        "{}",
        out.describe()
    );
}

#[test]
fn errors_on_stderr_are_escaped() {
    let dir = tempfile::tempdir().unwrap();
    let profile = dir.path().join(format!("p{HOSTILE}.toml"));
    let out = run_in(dir.path(), args!["check", profile.as_os_str()]);
    assert_eq!(out.code, Some(2), "{}", out.describe());
    assert_terminal_safe("missing profile", &out);
    assert!(
        out.stderr.contains(&format!("p{}.toml", shown(HOSTILE))),
        "{}",
        out.describe()
    );
    // A --mirror argument quoted back in an error.
    std::fs::write(
        dir.path().join("p.toml"),
        "name = \"x\"\nroot = \"r.json\"\nchannel = \"s\"\n",
    )
    .unwrap();
    let arg = format!("mirror.example.nl/{HOSTILE}/=NL");
    let out = run_in(dir.path(), args!["check", "p.toml", "--mirror", &arg]);
    assert_eq!(out.code, Some(2), "{}", out.describe());
    assert_terminal_safe("--mirror error", &out);
    assert!(
        out.stderr
            .contains("did you mean https://mirror.example.nl/")
    );
}

#[test]
fn minisign_trusted_comment_is_escaped() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let (public, secret) = common::ecosystems::Minisign::keygen(d, "k");
    let file = d.join("SHA256SUMS");
    std::fs::write(&file, b"release notes\n").unwrap();
    let verify = |sig: &Path| {
        run_in(
            d,
            args![
                "verify",
                "--key",
                public.as_os_str(),
                "--sig",
                sig.as_os_str(),
                file.as_os_str()
            ],
        )
    };
    // Control characters in a trusted comment are refused outright; bidi controls are
    // printable and verify, so they are what reaches the "signed:" line.
    let bidi = "\u{202e}\u{2066}\u{200f}\u{61c}";
    let comment = format!("timestamp:1 file:SHA256SUMS {bidi}txt.exe");
    let sig = common::ecosystems::Minisign::sign(&secret, &file, false, &comment);
    let out = verify(&sig);
    assert_eq!(out.code, Some(0), "{}", out.describe());
    assert_terminal_safe("minisign comment", &out);
    assert!(
        out.stdout.lines().any(|l| l.starts_with("  signed: ")
            && l.contains("\\u{202e}\\u{2066}\\u{200f}\\u{61c}txt.exe")),
        "{}",
        out.describe()
    );
    // The reference tool signs ESC, CSI and DEL too: the refusal quotes them safely.
    let comment = format!("timestamp:1 file:SHA256SUMS {HOSTILE}");
    let sig = common::ecosystems::Minisign::sign(&secret, &file, false, &comment);
    let out = verify(&sig);
    assert_eq!(out.code, Some(1), "{}", out.describe());
    assert_terminal_safe("minisign comment with controls", &out);
    assert!(out.stdout.starts_with("FAILED"), "{}", out.describe());
}

#[test]
fn signed_note_origin_and_text_are_escaped() {
    use mirrorproof::keys::SecretKey;
    use mirrorproof::schemes::note;
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let key = SecretKey::from_seed(&[0x4e; 32]).unwrap();
    // Note names and texts refuse control characters; the bidi controls are what a log
    // operator can still put in its name and its text.
    let bidi = "\u{202e}\u{2066}\u{200f}\u{61c}";
    let origin = format!("log.example{bidi}org");
    let text = format!(
        "{origin}\n77\n{}\nextension {bidi}txt.exe\n",
        "A".repeat(43) + "="
    );
    let signed = note::sign(&text, &origin, &key).expect("the note format accepts bidi text");
    std::fs::write(d.join("checkpoint"), signed).unwrap();
    std::fs::write(
        d.join("log.vkey"),
        format!("{}\n", note::key_line(&origin, key.public())),
    )
    .unwrap();
    let out = run_in(
        d,
        args!["verify", "--key", "log.vkey", "--sig", "checkpoint"],
    );
    assert_eq!(out.code, Some(0), "{}", out.describe());
    assert_terminal_safe("signed note", &out);
    assert!(
        out.stdout
            .contains("log.example\\u{202e}\\u{2066}\\u{200f}\\u{61c}org"),
        "{}",
        out.describe()
    );
    assert!(out.stdout.contains("  signed: "), "{}", out.describe());
}

#[test]
fn imported_mirror_lists_print_safe_toml_and_warnings() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    // A pacman mirrorlist whose country heading carries control sequences: the mirror is
    // kept (country unknown) and the warning quotes the heading.
    std::fs::write(
        d.join("mirrorlist"),
        format!(
            "## Germany{HOSTILE}\nServer = https://mirror.example.de/arch/$repo/os/$arch\n## France\nServer = https://mirror.example.fr/arch/$repo/os/$arch\n"
        ),
    )
    .unwrap();
    let out = run_in(
        d,
        args!["mirrors", "import", "--format", "arch", "mirrorlist"],
    );
    assert_eq!(out.code, Some(0), "{}", out.describe());
    assert_terminal_safe("mirrors import", &out);
    assert!(
        out.stderr.contains(&format!("Germany{}", shown(HOSTILE))),
        "{}",
        out.describe()
    );
    let parsed: toml::Table = toml::from_str(&out.stdout)
        .unwrap_or_else(|e| panic!("not TOML ({e}):\n{}", out.describe()));
    assert_eq!(parsed["mirrors"].as_array().unwrap().len(), 2);
}

/// Evidence from a run whose profile and mirror names hold DEL (and other escapes) must
/// re-check offline: the evidence profile is valid TOML for any name. Depends on
/// `evidence.rs` writing names with `text::toml_string`.
#[test]
fn evidence_with_hostile_names_rechecks_offline() {
    let mut w = World::new();
    w.now = mirrorproof::time::now();
    let rel = common::genuine(&w);
    w.mirror("fr", "FR").serves(&rel);
    w.mirror("de", "DE").serves(&rel);
    let profile = write_profile(
        &w,
        &format!("{PROJECT}\u{7f}{HOSTILE}"),
        &[
            (w.url_of("fr"), "FR", Some(format!("fr\u{7f}{HOSTILE}"))),
            (w.url_of("de"), "DE", Some("de\"\\ quoted".into())),
        ],
    );
    let ev = w.path().join("evidence");
    let first = run_in(
        w.path(),
        args![
            "check",
            profile.as_os_str(),
            "--no-state",
            "--json",
            "--evidence",
            ev.as_os_str()
        ],
    );
    assert_eq!(first.code, Some(0), "{}", first.describe());
    assert_terminal_safe("evidence run", &first);
    let again = run_in(
        &ev,
        args![
            "check",
            "profile.toml",
            "--artifacts",
            "none",
            "--no-state",
            "--json"
        ],
    );
    assert_eq!(again.code, Some(0), "{}", again.describe());
    assert_terminal_safe("evidence re-check", &again);
    let v: serde_json::Value = serde_json::from_str(&again.stdout).unwrap();
    let names: Vec<&str> = v["mirrors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["name"].as_str().unwrap())
        .collect();
    assert!(
        names.contains(&format!("fr\u{7f}{HOSTILE}").as_str()),
        "{names:?}"
    );
    assert!(names.contains(&"de\"\\ quoted"), "{names:?}");
}

#[test]
fn checksum_list_names_are_escaped() {
    use common::ecosystems::Signify;
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let (public, secret) = Signify::keygen(d, "k");
    let dl = d.join("dl");
    std::fs::create_dir_all(&dl).unwrap();
    std::fs::write(dl.join(BIDI_ZIP), b"the zip").unwrap();
    std::fs::write(
        dl.join("SHA256"),
        format!("SHA256 ({BIDI_ZIP}) = {}\n", common::sha256_hex(b"the zip")),
    )
    .unwrap();
    Signify::sign_embedded(&secret, &dl.join("SHA256"), &dl.join("SHA256.sig"));
    let key = public.display().to_string();
    // Matched from the list's directory: OK, the name shown escaped.
    let out = run_in(
        d,
        args![
            "verify",
            "--key",
            &key,
            "--sig",
            "dl/SHA256.sig",
            "--dir",
            "dl",
            BIDI_ZIP
        ],
    );
    assert_eq!(out.code, Some(0), "{}", out.describe());
    assert_terminal_safe("checksum list, OK", &out);
    assert!(
        out.stdout.starts_with("OK  exampleos-4-\\u{202e}gpj.zip"),
        "{}",
        out.describe()
    );
    // Named by its path instead: the hint quotes the list's name, escaped.
    let given = format!("dl/{BIDI_ZIP}");
    let out = run_in(
        d,
        args!["verify", "--key", &key, "--sig", "dl/SHA256.sig", &given],
    );
    assert_eq!(out.code, Some(1), "{}", out.describe());
    assert_terminal_safe("checksum list, hint", &out);
    assert!(out.stdout.contains("--dir DIR"), "{}", out.describe());
}
