//! A first-time user's trial, as a new user would run it: the binary on real files, real
//! loopback mirrors and the reference `signify`. Each test is one finding from that trial:
//! what the user typed and what the tool must answer.

mod common;

use std::path::Path;
use std::process::Command;

use common::{Server, World};
use mirrorproof::text::toml_string;

use common::binary::{BIN, run_in};

/// A world with one honest local mirror serving the genuine release (valid now), and a
/// profile naming it.
fn one_honest_mirror() -> (World, String) {
    let mut w = World::new();
    w.now = mirrorproof::time::now();
    let rel = common::genuine(&w);
    w.mirror("fr", "FR").serves(&rel);
    let p = profile(&w, &[(&w.url_of("fr"), "FR", "fr")]);
    (w, p)
}

/// A URL on loopback where nothing listens (a server was there a moment ago).
fn dead_url(w: &World, path: &str) -> String {
    let s = Server::serve_dir(w.path());
    let url = format!("{}{path}", s.url());
    drop(s);
    url
}

fn profile(w: &World, mirrors: &[(&str, &str, &str)]) -> String {
    let mut text = format!(
        "name = \"exampleos\"\nroot = {}\nchannel = \"stable\"\n",
        toml_string(&w.pinned_path().display().to_string())
    );
    for (url, cc, name) in mirrors {
        text.push_str(&format!(
            "[[mirrors]]\nurl = {}\ncountry = \"{cc}\"\nname = \"{name}\"\n",
            toml_string(url)
        ));
    }
    let p = w.path().join("p.toml");
    std::fs::write(&p, text).unwrap();
    p.display().to_string()
}

#[test]
fn all_mirrors_refusing_connections_says_this_machine_seems_offline() {
    let w = World::new();
    let p = profile(
        &w,
        &[
            (&dead_url(&w, "a/"), "FR", "fr"),
            (&dead_url(&w, "b/"), "DE", "de"),
        ],
    );
    let out = run_in(w.path(), &["check", &p, "--no-state"]);
    assert_eq!(out.code, Some(1), "{}", out.describe());
    let last = out.stdout.lines().last().unwrap_or("");
    assert!(
        last.contains("No mirror of 2 mirrors"),
        "{}",
        out.describe()
    );
    assert!(last.contains("seems to be offline"), "{}", out.describe());

    // One mirror: "The only mirror" (not "No mirror of 1 mirror"), and one local
    // directory that is missing is not "offline".
    let p = profile(&w, &[(&dead_url(&w, "a/"), "FR", "fr")]);
    let out = run_in(w.path(), &["check", &p, "--no-state"]);
    let last = out.stdout.lines().last().unwrap_or("");
    assert!(
        last.contains("The only mirror does not serve a valid release"),
        "{}",
        out.describe()
    );
    let missing = w.path().join("no-such-mirror").display().to_string();
    let p = profile(
        &w,
        &[(&dead_url(&w, "a/"), "FR", "fr"), (&missing, "DE", "local")],
    );
    let out = run_in(w.path(), &["check", &p, "--no-state"]);
    assert!(!out.stdout.contains("offline"), "{}", out.describe());
}

#[test]
fn reasons_keep_the_cause_and_do_not_repeat_the_url() {
    let mut w = World::new();
    w.now = mirrorproof::time::now();
    let rel = common::genuine(&w);
    w.mirror("ok", "FR").serves(&rel);
    // A long URL path: it used to fill the 200 characters before the cause was reached.
    let long = format!("{}/", "exampleos-mirror-path-segment/".repeat(8));
    let dead = dead_url(&w, &long);
    let p = profile(&w, &[(&w.url_of("ok"), "FR", "ok"), (&dead, "DE", "dead")]);
    let out = run_in(w.path(), &["check", &p, "--no-state", "--json"]);
    assert_eq!(out.code, Some(1), "{}", out.describe());
    let v: serde_json::Value = serde_json::from_str(&out.stdout).unwrap();
    let dead_report = v["mirrors"]
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["name"] == "dead")
        .unwrap();
    let reason = dead_report["error"].as_str().unwrap();
    assert!(reason.contains("Connection refused"), "{reason}");
    assert!(
        !reason.contains("exampleos-mirror-path-segment"),
        "{reason}"
    );
    assert!(!reason.contains('\n'), "{reason}");

    // The table wraps the reason at word boundaries within 100 columns and loses nothing.
    let out = run_in(w.path(), &["check", &p, "--no-state"]);
    let lines: Vec<&str> = out.stdout.lines().collect();
    let start = lines
        .iter()
        .position(|l| l.contains("unreachable"))
        .unwrap_or_else(|| panic!("{}", out.describe()));
    let mut shown = String::new();
    for l in &lines[start..] {
        if l.trim().is_empty() {
            break;
        }
        assert!(l.chars().count() <= 100, "over 100 columns: {l:?}");
        shown.push(' ');
        shown.push_str(l.trim());
    }
    let words: Vec<&str> = shown.split_whitespace().collect();
    let joined = words.join(" ");
    assert!(joined.contains(reason), "{joined}\n---\n{reason}");
    // Narrow terminals get narrower lines.
    let narrow = Command::new(BIN)
        .args(["check", &p, "--no-state"])
        .env("COLUMNS", "70")
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&narrow.stdout);
    let reason_lines: Vec<&str> = text
        .lines()
        .skip_while(|l| !l.contains("unreachable"))
        .take_while(|l| !l.trim().is_empty())
        .collect();
    assert!(reason_lines.len() > 1, "{text}");
    assert!(
        reason_lines.iter().all(|l| l.chars().count() <= 70),
        "{text}"
    );
}

#[test]
fn mirror_arguments_that_are_typos_are_refused_with_a_hint() {
    let w = World::new();
    let p = profile(&w, &[]);
    let out = run_in(
        w.path(),
        &["check", &p, "--mirror", "mirror.example.nl/exampleos/=NL"],
    );
    assert_eq!(out.code, Some(2), "{}", out.describe());
    assert!(
        out.stderr
            .contains("did you mean https://mirror.example.nl/exampleos/?"),
        "{}",
        out.describe()
    );
    let out = run_in(
        w.path(),
        &["check", &p, "--mirror", "mirrors/jp-tokyo=Japan"],
    );
    assert_eq!(out.code, Some(2), "{}", out.describe());
    assert!(
        out.stderr.contains("\"Japan\"") && out.stderr.contains("JP"),
        "{}",
        out.describe()
    );
    assert_eq!(out.stderr.lines().count(), 1, "{}", out.describe());
    // An existing directory whose name looks like a host is still a directory.
    std::fs::create_dir_all(w.path().join("mirror.example.nl")).unwrap();
    let out = run_in(
        w.path(),
        &[
            "check",
            &p,
            "--no-state",
            "--mirror",
            "mirror.example.nl=NL",
            "--artifacts",
            "none",
        ],
    );
    assert_eq!(out.code, Some(1), "{}", out.describe());
    assert!(
        out.stdout.contains("mirror.example.nl"),
        "{}",
        out.describe()
    );
}

#[test]
fn toml_errors_name_the_line_and_column() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("p.toml"),
        "name = \"x\"\nchannel = \"stable\"\nroot = \"r.json\"\n[[mirrors]]\nurl = https://m.example/\n",
    )
    .unwrap();
    let out = run_in(dir.path(), &["check", "p.toml"]);
    assert_eq!(out.code, Some(2), "{}", out.describe());
    assert!(
        out.stderr.contains("line 5, column 7"),
        "{}",
        out.describe()
    );
}

#[test]
fn verify_says_no_such_file_and_is_a_directory() {
    let (w, p) = one_honest_mirror();
    std::fs::create_dir_all(w.path().join("dl/factory.zip")).unwrap();
    let out = run_in(
        w.path(),
        &[
            "verify",
            &p,
            "missing/factory.zip",
            "dl/factory.zip",
            "--no-state",
        ],
    );
    assert_eq!(out.code, Some(1), "{}", out.describe());
    assert!(
        out.stdout
            .contains("FAILED  missing/factory.zip  No such file"),
        "{}",
        out.describe()
    );
    assert!(
        out.stdout
            .contains("FAILED  dl/factory.zip  is a directory"),
        "{}",
        out.describe()
    );
    assert!(
        !out.stdout.contains("lists no artifact"),
        "{}",
        out.describe()
    );
}

#[test]
fn verify_key_names_what_the_list_names_and_dir_matches_it() {
    use common::ecosystems::Signify;
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let (public, secret) = Signify::keygen(d, "k");
    let rel = d.join("release");
    std::fs::create_dir_all(&rel).unwrap();
    std::fs::write(rel.join("a.bin"), b"the image").unwrap();
    std::fs::write(
        rel.join("SHA256"),
        format!("SHA256 (a.bin) = {}\n", common::sha256_hex(b"the image")),
    )
    .unwrap();
    Signify::sign_embedded(&secret, &rel.join("SHA256"), &rel.join("SHA256.sig"));
    let key = public.display().to_string();
    // The user downloads into release/ and checks from the parent directory.
    let out = run_in(
        d,
        &[
            "verify",
            "--key",
            &key,
            "--sig",
            "release/SHA256.sig",
            "release/a.bin",
        ],
    );
    assert_eq!(out.code, Some(1), "{}", out.describe());
    assert!(
        out.stdout.contains("the list names \"a.bin\"") && out.stdout.contains("--dir DIR"),
        "{}",
        out.describe()
    );
    // As signify -C run in release/: names relative to --dir.
    let out = run_in(
        d,
        &[
            "verify",
            "--key",
            &key,
            "--sig",
            "release/SHA256.sig",
            "--dir",
            "release",
            "a.bin",
        ],
    );
    assert_eq!(out.code, Some(0), "{}", out.describe());
    assert!(out.stdout.starts_with("OK  a.bin"), "{}", out.describe());
    // --dir reads the bytes from DIR: a tampered copy there fails.
    std::fs::write(rel.join("a.bin"), b"the imagE").unwrap();
    let out = run_in(
        d,
        &[
            "verify",
            "--key",
            &key,
            "--sig",
            "release/SHA256.sig",
            "--dir",
            "release",
            "a.bin",
        ],
    );
    assert_eq!(out.code, Some(1), "{}", out.describe());
}

#[test]
fn completions_and_man_page_come_from_the_same_definitions() {
    let dir = tempfile::tempdir().unwrap();
    let out = run_in(dir.path(), &["completions", "bash"]);
    assert_eq!(out.code, Some(0), "{}", out.describe());
    assert!(out.stdout.contains("check"), "{}", out.describe());
    assert!(
        out.stdout.contains("--only-cli-mirrors"),
        "{}",
        out.describe()
    );
    let out = run_in(dir.path(), &["completions", "zsh"]);
    assert_eq!(out.code, Some(0), "{}", out.describe());
    let out = run_in(dir.path(), &["man"]);
    assert_eq!(out.code, Some(0), "{}", out.describe());
    assert!(out.stdout.contains(".TH"), "{}", out.describe());
    for sub in [
        "check",
        "verify",
        "keygen",
        "root new",
        "release new",
        "sign",
        "mirror build",
        "mirrors import",
        "completions",
        "man",
    ] {
        assert!(
            out.stdout
                .contains(&format!(".SH \"MIRRORPROOF {}\"", sub.to_uppercase())),
            "no section for {sub}"
        );
    }
    // Options appear with their help text.
    assert!(out.stdout.contains("Check only the \\-\\-mirror mirrors"));
    // `verify --help` shows that PROFILE comes first.
    let out = run_in(dir.path(), &["verify", "--help"]);
    assert!(
        out.stdout
            .contains("mirrorproof verify [OPTIONS] PROFILE FILE..."),
        "{}",
        out.describe()
    );
}

#[test]
fn mirrors_import_into_replaces_the_mirror_list_and_keeps_the_rest() {
    let w = World::new();
    let original = format!(
        "# ExampleOS, pinned by hand\nname = \"exampleos\"\nroot = {}\nchannel = \"stable\"\n\n# old mirrors\n[[mirrors]]\nurl = \"https://old.example/\"\ncountry = \"FR\"\n",
        toml_string(&w.pinned_path().display().to_string())
    );
    let p = w.path().join("exampleos.toml");
    std::fs::write(&p, &original).unwrap();
    let list = w.path().join("mirrorlist");
    std::fs::write(
        &list,
        "## Germany\nServer = https://mirror.example.de/arch/$repo/os/$arch\n## Japan\nServer = https://mirror.example.jp/arch/$repo/os/$arch\n",
    )
    .unwrap();
    let ps = p.display().to_string();
    let out = run_in(
        w.path(),
        &[
            "mirrors",
            "import",
            "--format",
            "arch",
            "mirrorlist",
            "--into",
            &ps,
        ],
    );
    assert_eq!(out.code, Some(0), "{}", out.describe());
    assert!(out.stdout.contains("2 mirrors"), "{}", out.describe());
    let new = std::fs::read_to_string(&p).unwrap();
    assert!(
        new.starts_with("# ExampleOS, pinned by hand\nname = \"exampleos\"\n"),
        "{new}"
    );
    assert!(!new.contains("old.example"), "{new}");
    let loaded = mirrorproof::profile::Profile::load(&p).unwrap();
    let countries: Vec<&str> = loaded.mirrors.iter().map(|m| m.country.as_str()).collect();
    assert_eq!(countries, ["DE", "JP"]);
    assert_eq!(loaded.channel, "stable");

    // A file that is not a profile is refused and left as it was.
    let notes = w.path().join("notes.txt");
    std::fs::write(&notes, "shopping list\n").unwrap();
    let out = run_in(
        w.path(),
        &[
            "mirrors",
            "import",
            "--format",
            "arch",
            "mirrorlist",
            "--into",
            &notes.display().to_string(),
        ],
    );
    assert_eq!(out.code, Some(2), "{}", out.describe());
    assert_eq!(std::fs::read_to_string(&notes).unwrap(), "shopping list\n");
    assert!(
        !w.path().read_dir().unwrap().any(|e| e
            .unwrap()
            .file_name()
            .to_string_lossy()
            .ends_with(".tmp"))
    );
}

/// A profile is checked like `--mirror`: a host name without its scheme was silently a
/// local directory (and the mirror then "not found"), a spelled-out country got no hint,
/// and neither error named the profile file. A local mirror whose directory is missing
/// says so instead of "not found".
#[test]
fn profile_mirrors_that_are_typos_are_refused_naming_the_file() {
    let w = World::new();
    let p = profile(&w, &[("mirror.example.org/x/", "FR", "m")]);
    let out = run_in(w.path(), &["check", &p, "--no-state"]);
    assert_eq!(out.code, Some(2), "{}", out.describe());
    assert!(
        out.stderr.contains("p.toml")
            && out
                .stderr
                .contains("did you mean https://mirror.example.org/x/?"),
        "{}",
        out.describe()
    );
    let p = profile(&w, &[("https://m.example.org/", "France", "m")]);
    let out = run_in(w.path(), &["check", &p, "--no-state"]);
    assert_eq!(out.code, Some(2), "{}", out.describe());
    assert!(
        out.stderr.contains("p.toml") && out.stderr.contains("did you mean FR?"),
        "{}",
        out.describe()
    );

    let missing = w.path().join("no-such-mirror");
    let p = profile(&w, &[(&missing.display().to_string(), "DE", "local")]);
    let out = run_in(w.path(), &["check", &p, "--no-state", "--json"]);
    assert_eq!(out.code, Some(1), "{}", out.describe());
    let v: serde_json::Value = serde_json::from_str(&out.stdout).unwrap();
    let reason = v["mirrors"][0]["error"].as_str().unwrap();
    assert!(
        reason.contains(&format!("directory {} does not exist", missing.display())),
        "{reason}"
    );
    assert_eq!(v["mirrors"][0]["status"], "unreachable");
}

/// `check --help` said metadata requests were "4 times as many" as `--concurrency` while
/// the code allowed 16 times as many: the help must say what the code does.
#[test]
fn check_help_states_the_metadata_multiple_the_code_uses() {
    let dir = tempfile::tempdir().unwrap();
    let out = run_in(dir.path(), &["check", "--help"]);
    assert_eq!(out.code, Some(0), "{}", out.describe());
    let help = out.stdout.split_whitespace().collect::<Vec<_>>().join(" ");
    let want = format!(
        "up to {} times as many",
        mirrorproof::fetch::METADATA_SLOTS_PER_SLOT
    );
    assert!(help.contains(&want), "{want:?} not in: {help}");
}

/// A signature made for another namespace, checked without `--identity`, was reported as
/// "the signing key is not allowed for this namespace in allowed_signers": the key was
/// allowed, the signature was for something else. The namespace is compared first.
#[test]
fn verify_names_the_namespace_a_signature_was_made_for() {
    use common::ecosystems::Ssh;
    let dir = tempfile::tempdir().unwrap();
    let (key, line) = Ssh::keygen(dir.path(), "k");
    std::fs::write(
        dir.path().join("allowed_signers"),
        format!("release@example.org {line}\n"),
    )
    .unwrap();
    let file = dir.path().join("x");
    std::fs::write(&file, b"factory image\n").unwrap();
    let sig = Ssh::sign(&key, "factory images", &file);
    let out = run_in(
        dir.path(),
        &[
            "verify",
            "--key",
            "allowed_signers",
            "--sig",
            sig.to_str().unwrap(),
            "--namespace",
            "file",
            "x",
        ],
    );
    assert_eq!(out.code, Some(1), "{}", out.describe());
    assert!(
        out.stdout
            .contains(r#"signature namespace is "factory images", not the expected "file""#)
            || out
                .stderr
                .contains(r#"signature namespace is "factory images", not the expected "file""#),
        "{}",
        out.describe()
    );
    assert!(!out.stderr.contains("not allowed"), "{}", out.describe());
}

/// `verify --release R --root missing.json` said "release missing.json: No such file"
/// (exit 2) while a missing `--release` exited 1: the root file is named as a root, and
/// every unreadable file named on the command line is bad local input, exit 2.
#[test]
fn unreadable_release_and_root_files_are_named_and_exit_2() {
    let (w, p) = one_honest_mirror();
    let release = Path::new(&w.url_of("fr"))
        .join("stable/release.json")
        .display()
        .to_string();
    let out = run_in(
        w.path(),
        &[
            "verify",
            &p,
            "--no-state",
            "--release",
            &release,
            "--root",
            "missing.json",
            "x",
        ],
    );
    assert_eq!(out.code, Some(2), "{}", out.describe());
    assert!(
        out.stderr.contains("cannot read root file missing.json"),
        "{}",
        out.describe()
    );
    let out = run_in(
        w.path(),
        &["verify", &p, "--no-state", "--release", "missing.json", "x"],
    );
    assert_eq!(out.code, Some(2), "{}", out.describe());
    assert!(
        out.stderr.contains("cannot read release file missing.json"),
        "{}",
        out.describe()
    );
}

/// Messages from the trial that said something untrue or unhelpful, each as the user met it.
#[test]
fn messages_say_what_is_true_and_what_to_type() {
    let (w, p) = one_honest_mirror();
    let here = w.path();

    // A signify profile whose key is missing: a pinned key, not a pinned root.
    std::fs::write(
        here.join("s.toml"),
        "name = \"x\"\nscheme = \"signify\"\nkey = \"missing.pub\"\nchannel = \"c\"\nfile = \"SHA256.sig\"\n[[mirrors]]\nurl = \"https://m.example.org/\"\n",
    )
    .unwrap();
    let out = run_in(here, &["check", "s.toml", "--no-state"]);
    assert_eq!(out.code, Some(2), "{}", out.describe());
    assert!(
        out.stderr.contains("pinned key") && !out.stderr.contains("pinned root"),
        "{}",
        out.describe()
    );

    // verify with no data directory prints lines, not a report; an empty HOME is empty.
    let artifact = Path::new(&w.url_of("fr"))
        .join("artifacts")
        .join(common::ZIP);
    for (home, says) in [(None, "HOME is not set"), (Some(""), "HOME is empty")] {
        let mut cmd = Command::new(BIN);
        cmd.args(["verify", &p, artifact.to_str().unwrap()])
            .current_dir(here)
            .env_remove("XDG_DATA_HOME")
            .env_remove("HOME");
        if let Some(h) = home {
            cmd.env("HOME", h);
        }
        let out = cmd.output().unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{stderr}");
        assert!(stderr.contains(says), "{stderr}");
        assert!(stderr.contains("the lines above are complete"), "{stderr}");
        assert!(!stderr.contains("report above"), "{stderr}");
    }

    // --evidence under a missing parent names the parent.
    let out = run_in(
        here,
        &[
            "check",
            &p,
            "--no-state",
            "--evidence",
            "/missing/parent/dir",
        ],
    );
    assert_eq!(out.code, Some(2), "{}", out.describe());
    assert!(
        out.stderr
            .contains("parent directory /missing/parent does not exist"),
        "{}",
        out.describe()
    );

    // verify --dir that does not exist says so.
    std::fs::write(here.join("k.pub"), b"x").unwrap();
    std::fs::write(here.join("s.sig"), b"x").unwrap();
    let out = run_in(
        here,
        &[
            "verify", "--key", "k.pub", "--sig", "s.sig", "--dir", "nodir",
        ],
    );
    assert_eq!(out.code, Some(2), "{}", out.describe());
    assert!(
        out.stderr.contains("--dir nodir: does not exist"),
        "{}",
        out.describe()
    );

    // --expires in a form it does not take: the error shows the forms it does.
    std::fs::create_dir_all(here.join("art")).unwrap();
    for bad in ["3650d", "+10y"] {
        let out = run_in(
            here,
            &[
                "release",
                "new",
                "--project",
                "x",
                "--channel",
                "c",
                "--version",
                "1",
                "--expires",
                bad,
                "--artifacts",
                "art",
                "--out",
                "r.json",
            ],
        );
        assert_eq!(out.code, Some(2), "{}", out.describe());
        assert!(
            out.stderr.contains("--expires")
                && out.stderr.contains("+N with s, m, h or d")
                && out.stderr.contains("RFC 3339 UTC"),
            "{}",
            out.describe()
        );
    }

    // --only-cli-mirrors alone points to --mirror.
    let out = run_in(here, &["check", &p, "--no-state", "--only-cli-mirrors"]);
    assert_eq!(out.code, Some(2), "{}", out.describe());
    assert!(out.stderr.contains("--mirror URL"), "{}", out.describe());

    // mirrors import --into a profile that is not there fails before the list's warnings.
    let list = Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/mirrorlists/arch.mirrorlist");
    let out = run_in(
        here,
        &[
            "mirrors",
            "import",
            "--format",
            "arch",
            list.to_str().unwrap(),
            "--into",
            "nothere.toml",
        ],
    );
    assert_eq!(out.code, Some(2), "{}", out.describe());
    assert!(out.stderr.contains("nothere.toml"), "{}", out.describe());
    assert!(!out.stderr.contains("warning"), "{}", out.describe());
}
