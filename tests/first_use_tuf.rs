//! A first-time user's trial of the TUF features, run the way a newcomer runs them: the
//! binary, in a directory of its own, against repositories served over real loopback HTTP
//! (and `file:` URLs and local directories). What a newcomer needs from every answer: exit
//! codes as docs/CLI.md gives them (`check` and `verify` 0/1/2, `tuf-client` 0/1), one line
//! that says what went wrong, no panic, and nothing a mirror or a user typed reaching the
//! terminal raw.
//!
//! Tests marked `#[ignore = "finding N"]` assert what the user should have seen where the
//! trial found otherwise; N is the finding's number in the h-user report.

#[path = "common/binary.rs"]
mod binary;
#[path = "common/http.rs"]
mod http;
#[path = "common/tuf.rs"]
mod repo;

use std::path::{Path, PathBuf};

use binary::{Out, run_in};
use http::Server;
use mirrorproof::text::toml_string;
use repo::Repo;
use serde_json::Value;

const HELLO: &[u8] = b"hello world\n";

/// No control character but a line end, and no bidi override or isolate, anywhere.
#[track_caller]
fn assert_terminal_safe(out: &Out) {
    for (stream, text) in [("stdout", &out.stdout), ("stderr", &out.stderr)] {
        let bad = text.chars().find(|&c| {
            (c.is_control() && c != '\n')
                || matches!(c, '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}')
        });
        assert!(bad.is_none(), "raw {bad:?} on {stream}\n{}", out.describe());
    }
}

/// Never a panic or a backtrace, whatever the input.
#[track_caller]
fn assert_no_panic(out: &Out) {
    assert!(
        !out.stderr.contains("panicked") && !out.stderr.contains("RUST_BACKTRACE"),
        "{}",
        out.describe()
    );
    assert_terminal_safe(out);
}

/// A `tuf-client` failure: exit 1 and exactly one line on stderr, with the client's prefix.
#[track_caller]
fn client_fails(out: &Out) -> String {
    assert_no_panic(out);
    assert_eq!(out.code, Some(1), "{}", out.describe());
    let lines: Vec<&str> = out.stderr.lines().collect();
    assert_eq!(lines.len(), 1, "one line on stderr\n{}", out.describe());
    assert!(
        lines[0].starts_with("mirrorproof tuf-client: "),
        "{}",
        out.describe()
    );
    lines[0].to_owned()
}

/// A `check`/`verify` configuration error: exit 2 and one line on stderr.
#[track_caller]
fn usage_error(out: &Out) -> String {
    assert_no_panic(out);
    assert_eq!(out.code, Some(2), "{}", out.describe());
    let lines: Vec<&str> = out.stderr.lines().collect();
    assert_eq!(lines.len(), 1, "one line on stderr\n{}", out.describe());
    assert!(lines[0].starts_with("mirrorproof: "), "{}", out.describe());
    lines[0].to_owned()
}

/// A repository with one top-level target, `hello.txt`, published honestly.
fn repository() -> Repo {
    let mut r = Repo::new();
    r.add_target("targets", "hello.txt", HELLO);
    r.update_targets();
    r
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for e in std::fs::read_dir(from).unwrap() {
        let e = e.unwrap();
        let dst = to.join(e.file_name());
        if e.file_type().unwrap().is_dir() {
            copy_dir(&e.path(), &dst);
        } else {
            std::fs::copy(e.path(), dst).unwrap();
        }
    }
}

/// A user's working directory, with the repository's first root saved as `root.json`.
fn workdir(repo: &Repo) -> tempfile::TempDir {
    let d = tempfile::tempdir().unwrap();
    std::fs::write(d.path().join("root.json"), repo.root_bytes(1)).unwrap();
    d
}

/// A TUF profile in `dir` pinning `root.json`, naming `hello.txt`, one `[[mirrors]]` per
/// (metadata url, targets url or none, country, name).
fn tuf_profile(dir: &Path, mirrors: &[(&str, Option<&str>, &str, &str)]) -> PathBuf {
    let mut text = String::from(
        "name = \"first-tuf\"\nscheme = \"tuf\"\nroot = \"root.json\"\ntargets = [\"hello.txt\"]\n",
    );
    for (url, targets, cc, name) in mirrors {
        text.push_str(&format!(
            "[[mirrors]]\nurl = {}\ncountry = \"{cc}\"\nname = \"{name}\"\n",
            toml_string(url)
        ));
        if let Some(t) = targets {
            text.push_str(&format!("targets_url = {}\n", toml_string(t)));
        }
    }
    let p = dir.join("tuf.toml");
    std::fs::write(&p, text).unwrap();
    p
}

fn json(out: &Out) -> Value {
    serde_json::from_str(&out.stdout).unwrap_or_else(|e| panic!("{e}\n{}", out.describe()))
}

fn mirror_by_name<'a>(report: &'a Value, name: &str) -> &'a Value {
    report["mirrors"]
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["name"] == name)
        .unwrap_or_else(|| panic!("no mirror {name} in {report}"))
}

// ---------------------------------------------------------------------------------------------
// tuf-client
// ---------------------------------------------------------------------------------------------

#[test]
fn tuf_client_help_exits_0_and_names_the_three_commands() {
    let d = tempfile::tempdir().unwrap();
    let out = run_in(d.path(), &["tuf-client", "--help"]);
    assert_no_panic(&out);
    assert_eq!(out.code, Some(0), "{}", out.describe());
    for word in [
        "init",
        "refresh",
        "download",
        "--metadata-dir",
        "--metadata-url",
    ] {
        assert!(out.stdout.contains(word), "{word}\n{}", out.describe());
    }
    // finding 7: where options go, and which each command needs.
    for words in [
        "Options come before the command",
        "download needs those and --target-name",
        "Exit codes: 0 success; 1 any failure",
    ] {
        assert!(out.stdout.contains(words), "{words}\n{}", out.describe());
    }
}

#[test]
fn tuf_client_command_lines_that_cannot_be_parsed_exit_1_not_2() {
    let d = tempfile::tempdir().unwrap();
    for args in [
        &["tuf-client"][..],
        &["tuf-client", "init", "root.json"],
        &["tuf-client", "--metadata-dir", "md"],
        &["tuf-client", "--metadata-dir", "md", "bogus"],
        &["tuf-client", "--metadata-dir", "md", "--bogus", "init", "x"],
        &[
            "tuf-client",
            "--metadata-dir",
            "md",
            "init",
            "root.json",
            "--metadata-url",
            "x",
        ],
        &[
            "tuf-client",
            "--metadata-dir",
            "md",
            "--timeout",
            "abc",
            "refresh",
        ],
    ] {
        let out = run_in(d.path(), args);
        assert_no_panic(&out);
        assert_eq!(out.code, Some(1), "{args:?}\n{}", out.describe());
        assert!(!out.stderr.is_empty(), "{args:?}\n{}", out.describe());
    }
}

#[test]
fn tuf_client_missing_options_are_named_in_one_line() {
    let repo = repository();
    let d = workdir(&repo);
    let md = d.path().join("md");
    let md = md.to_str().unwrap();
    assert_eq!(
        run_in(
            d.path(),
            &["tuf-client", "--metadata-dir", md, "init", "root.json"]
        )
        .code,
        Some(0)
    );
    let cases: [(&[&str], &str); 4] = [
        (&["refresh"], "--metadata-url"),
        (
            &["--metadata-url", "http://127.0.0.1:9/", "download"],
            "--target-",
        ),
        (
            &[
                "--metadata-url",
                "http://127.0.0.1:9/",
                "--target-name",
                "a",
                "download",
            ],
            "--target-",
        ),
        (
            &[
                "--metadata-url",
                "http://127.0.0.1:9/",
                "--target-name",
                "a",
                "--target-dir",
                "t",
                "download",
            ],
            "--target-base-url",
        ),
    ];
    for (rest, named) in cases {
        let mut args = vec!["tuf-client", "--metadata-dir", md];
        args.extend_from_slice(rest);
        let line = client_fails(&run_in(d.path(), &args));
        assert!(line.contains(named), "{rest:?}: {line}");
    }
}

#[test]
fn init_refuses_what_is_not_a_self_signed_tuf_root_in_one_line() {
    let repo = repository();
    let d = workdir(&repo);
    std::fs::write(d.path().join("notes.toml"), "name = \"x\"\n").unwrap();
    std::fs::copy(
        repo.path().join("metadata/timestamp.json"),
        d.path().join("timestamp.json"),
    )
    .unwrap();
    // A mirrorproof (DSSE) root, the kind README's first pages are about.
    std::fs::write(
        d.path().join("native.root.json"),
        br#"{"payloadType":"application/vnd.mirrorproof.root+json","payload":"e30=","signatures":[]}"#,
    )
    .unwrap();
    let mut tampered: Value = serde_json::from_slice(&repo.root_bytes(1)).unwrap();
    tampered["signed"]["version"] = 7.into();
    std::fs::write(d.path().join("tampered.json"), tampered.to_string()).unwrap();
    for file in [
        "notes.toml",
        "timestamp.json",
        "native.root.json",
        "tampered.json",
        "absent.json",
    ] {
        let out = run_in(
            d.path(),
            &["tuf-client", "--metadata-dir", "md", "init", file],
        );
        client_fails(&out);
        assert!(
            !d.path().join("md/root.json").exists(),
            "{file} was trusted"
        );
    }
}

#[test]
fn download_over_http_and_from_a_file_url_stores_the_verified_target() {
    let repo = repository();
    let server = Server::serve_dir(repo.path());
    let d = workdir(&repo);
    let file_meta = format!("file://{}/metadata/", repo.path().display());
    let file_targets = format!("file://{}/targets/", repo.path().display());
    let http_meta = format!("{}metadata/", server.url());
    let http_targets = format!("{}targets/", server.url());
    for (md, meta, targets) in [
        ("a", &http_meta, &http_targets),
        ("b", &file_meta, &file_targets),
    ] {
        let out = run_in(
            d.path(),
            &["tuf-client", "--metadata-dir", md, "init", "root.json"],
        );
        assert_eq!(out.code, Some(0), "{}", out.describe());
        let t = format!("{md}-targets");
        let out = run_in(
            d.path(),
            &[
                "tuf-client",
                "--metadata-dir",
                md,
                "--metadata-url",
                meta,
                "--target-name",
                "hello.txt",
                "--target-dir",
                &t,
                "--target-base-url",
                targets,
                "download",
            ],
        );
        assert_no_panic(&out);
        assert_eq!(out.code, Some(0), "{meta}\n{}", out.describe());
        assert_eq!(
            std::fs::read(d.path().join(&t).join("hello.txt")).unwrap(),
            HELLO
        );
    }
}

#[test]
fn metadata_urls_a_newcomer_mistypes_fail_in_one_line_naming_the_option() {
    let repo = repository();
    let d = workdir(&repo);
    assert_eq!(
        run_in(
            d.path(),
            &["tuf-client", "--metadata-dir", "md", "init", "root.json"]
        )
        .code,
        Some(0)
    );
    for url in [
        "htp://127.0.0.1:9/metadata/",
        "ftp://127.0.0.1/metadata/",
        "127.0.0.1:9/metadata/",
        "metadata/",
        "http://[::1",
    ] {
        let line = client_fails(&run_in(
            d.path(),
            &[
                "tuf-client",
                "--metadata-dir",
                "md",
                "--metadata-url",
                url,
                "refresh",
            ],
        ));
        assert!(line.contains("--metadata-url"), "{url}: {line}");
    }
}

#[test]
fn a_metadata_url_that_is_not_the_metadata_directory_fails_naming_timestamp_json() {
    let repo = repository();
    let server = Server::serve_dir(repo.path());
    let d = workdir(&repo);
    assert_eq!(
        run_in(
            d.path(),
            &["tuf-client", "--metadata-dir", "md", "init", "root.json"]
        )
        .code,
        Some(0)
    );
    // The repository's top, not its metadata directory: N.root.json answers 404 (no new
    // root), so the first real failure is the timestamp.
    let line = client_fails(&run_in(
        d.path(),
        &[
            "tuf-client",
            "--metadata-dir",
            "md",
            "--metadata-url",
            &server.url(),
            "refresh",
        ],
    ));
    assert!(
        line.contains("timestamp.json") && line.contains("404"),
        "{line}"
    );
}

#[test]
fn names_a_user_types_or_a_repository_serves_never_reach_the_terminal_raw() {
    let repo = repository();
    let server = Server::serve_dir(repo.path());
    let d = workdir(&repo);
    assert_eq!(
        run_in(
            d.path(),
            &["tuf-client", "--metadata-dir", "md", "init", "root.json"]
        )
        .code,
        Some(0)
    );
    let meta = format!("{}metadata/", server.url());
    let targets = format!("{}targets/", server.url());
    let line = client_fails(&run_in(
        d.path(),
        &[
            "tuf-client",
            "--metadata-dir",
            "md",
            "--metadata-url",
            &meta,
            "--target-name",
            "evil\u{1b}[2J\u{7}name\u{202e}",
            "--target-dir",
            "t",
            "--target-base-url",
            &targets,
            "download",
        ],
    ));
    assert!(line.contains("evil"), "{line}");
    // A root whose _type a hostile publisher filled with escape sequences.
    let mut evil: Value = serde_json::from_slice(&repo.root_bytes(1)).unwrap();
    evil["signed"]["_type"] = "\u{1b}]0;owned\u{7}root\u{202e}".into();
    std::fs::write(d.path().join("evil.json"), evil.to_string()).unwrap();
    client_fails(&run_in(
        d.path(),
        &["tuf-client", "--metadata-dir", "md2", "init", "evil.json"],
    ));
}

#[test]
fn refresh_before_init_says_to_run_init() {
    let d = tempfile::tempdir().unwrap();
    let line = client_fails(&run_in(
        d.path(),
        &[
            "tuf-client",
            "--metadata-dir",
            "md",
            "--metadata-url",
            "http://127.0.0.1:9/",
            "refresh",
        ],
    ));
    assert!(line.contains("init"), "{line}");
}

#[test]
fn an_option_after_the_command_is_explained_not_turned_into_a_misleading_tip() {
    let d = tempfile::tempdir().unwrap();
    let out = run_in(
        d.path(),
        &["tuf-client", "init", "root.json", "--metadata-dir", "md"],
    );
    assert_eq!(out.code, Some(1), "{}", out.describe());
    assert!(
        !out.stderr.contains("use '-- --metadata-dir'"),
        "{}",
        out.describe()
    );
    assert!(
        out.stderr.contains("before"),
        "say that options come before the command\n{}",
        out.describe()
    );
    assert_eq!(out.stderr.lines().count(), 1, "{}", out.describe());
}

#[test]
fn a_path_given_as_metadata_url_is_answered_with_a_file_url_hint() {
    let repo = repository();
    let d = workdir(&repo);
    assert_eq!(
        run_in(
            d.path(),
            &["tuf-client", "--metadata-dir", "md", "init", "root.json"]
        )
        .code,
        Some(0)
    );
    let dir = format!("{}/metadata/", repo.path().display());
    let line = client_fails(&run_in(
        d.path(),
        &[
            "tuf-client",
            "--metadata-dir",
            "md",
            "--metadata-url",
            &dir,
            "refresh",
        ],
    ));
    assert!(
        !line.contains("relative URL"),
        "an absolute path is not a relative URL: {line}"
    );
    assert!(line.contains("file://"), "{line}");
}

#[test]
fn a_target_that_answers_404_names_the_url_that_was_asked() {
    let repo = repository();
    let server = Server::serve_dir(repo.path());
    let d = workdir(&repo);
    assert_eq!(
        run_in(
            d.path(),
            &["tuf-client", "--metadata-dir", "md", "init", "root.json"]
        )
        .code,
        Some(0)
    );
    let meta = format!("{}metadata/", server.url());
    // The metadata URL given as the targets URL: a newcomer's slip.
    let line = client_fails(&run_in(
        d.path(),
        &[
            "tuf-client",
            "--metadata-dir",
            "md",
            "--metadata-url",
            &meta,
            "--target-name",
            "hello.txt",
            "--target-dir",
            "t",
            "--target-base-url",
            &meta,
            "download",
        ],
    ));
    assert!(line.contains("404"), "{line}");
    assert!(
        line.contains(&server.url()),
        "which URL answered 404? {line}"
    );
}

#[test]
fn init_over_a_directory_that_trusts_a_newer_root_refuses_to_roll_back() {
    // finding 12
    let mut repo = repository();
    repo.publish("root");
    let server = Server::serve_dir(repo.path());
    let d = workdir(&repo);
    std::fs::write(d.path().join("root2.json"), repo.root_bytes(2)).unwrap();
    let init = |root: &str| {
        run_in(
            d.path(),
            &["tuf-client", "--metadata-dir", "md", "init", root],
        )
    };
    assert_eq!(init("root.json").code, Some(0));
    let out = run_in(
        d.path(),
        &[
            "tuf-client",
            "--metadata-dir",
            "md",
            "--metadata-url",
            &format!("{}metadata/", server.url()),
            "refresh",
        ],
    );
    assert_eq!(out.code, Some(0), "{}", out.describe());
    let trusted = std::fs::read(d.path().join("md/root.json")).unwrap();
    assert_eq!(trusted, repo.root_bytes(2), "refresh rotated to root 2");
    // Root 1 over a directory that trusts root 2: refused, nothing written.
    let line = client_fails(&init("root.json"));
    assert!(line.contains("roll back") && line.contains('2'), "{line}");
    assert!(line.contains("root.json"), "{line}");
    assert_eq!(
        std::fs::read(d.path().join("md/root.json")).unwrap(),
        trusted
    );
    // The same version is taken as today.
    assert_eq!(init("root2.json").code, Some(0));
}

#[test]
fn io_and_connection_failures_name_the_path_and_one_cause() {
    // finding 14
    let repo = repository();
    let d = workdir(&repo);
    std::fs::write(d.path().join("a-plain-file"), b"").unwrap();
    let line = client_fails(&run_in(
        d.path(),
        &[
            "tuf-client",
            "--metadata-dir",
            "a-plain-file",
            "init",
            "root.json",
        ],
    ));
    assert!(line.contains("a-plain-file"), "which path? {line}");
    // A port nobody listens on (bound, then closed).
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    assert_eq!(
        run_in(
            d.path(),
            &["tuf-client", "--metadata-dir", "md", "init", "root.json"]
        )
        .code,
        Some(0)
    );
    let url = format!("http://127.0.0.1:{port}/metadata/");
    let line = client_fails(&run_in(
        d.path(),
        &[
            "tuf-client",
            "--metadata-dir",
            "md",
            "--metadata-url",
            &url,
            "refresh",
        ],
    ));
    assert!(line.contains(&url), "which URL? {line}");
    assert!(line.ends_with(": connection refused"), "{line}");
}

// ---------------------------------------------------------------------------------------------
// check with scheme = "tuf"
// ---------------------------------------------------------------------------------------------

#[test]
fn check_exit_codes_follow_cli_md_for_tuf_profiles() {
    let repo = repository();
    let good = Server::serve_dir(repo.path());
    let d = workdir(&repo);
    let meta = format!("{}metadata/", good.url());
    let targets = format!("{}targets/", good.url());
    // 0: every mirror ok, over HTTP, a file: URL and a local directory.
    let file_meta = format!("file://{}/metadata/", repo.path().display());
    let file_targets = format!("file://{}/targets/", repo.path().display());
    let dir_meta = repo.path().join("metadata").display().to_string();
    let dir_targets = repo.path().join("targets").display().to_string();
    let p = tuf_profile(
        d.path(),
        &[
            (&meta, Some(&targets), "FR", "http"),
            (&file_meta, Some(&file_targets), "DE", "file"),
            (&dir_meta, Some(&dir_targets), "NL", "dir"),
        ],
    );
    let out = run_in(d.path(), &["check", p.to_str().unwrap(), "--no-state"]);
    assert_no_panic(&out);
    assert_eq!(out.code, Some(0), "{}", out.describe());

    // 1: one mirror swapped the target's bytes.
    let bad = tempfile::tempdir().unwrap();
    copy_dir(repo.path(), bad.path());
    for e in std::fs::read_dir(bad.path().join("targets")).unwrap() {
        let e = e.unwrap();
        if e.file_name().to_string_lossy().ends_with("hello.txt") {
            std::fs::write(e.path(), b"HELLO WORLD\n").unwrap();
        }
    }
    let bad_server = Server::serve_dir(bad.path());
    let bad_meta = format!("{}metadata/", bad_server.url());
    let bad_targets = format!("{}targets/", bad_server.url());
    let p = tuf_profile(
        d.path(),
        &[
            (&meta, Some(&targets), "FR", "fr"),
            (&bad_meta, Some(&bad_targets), "DE", "de"),
        ],
    );
    let out = run_in(
        d.path(),
        &["check", p.to_str().unwrap(), "--no-state", "--json"],
    );
    assert_no_panic(&out);
    assert_eq!(out.code, Some(1), "{}", out.describe());
    let r = json(&out);
    assert_eq!(mirror_by_name(&r, "fr")["status"], "ok");
    assert_eq!(mirror_by_name(&r, "de")["status"], "corrupt");

    // 2: the pinned root is not a TUF root.
    std::fs::write(
        d.path().join("root.json"),
        b"{\"payloadType\":\"x\",\"payload\":\"\",\"signatures\":[]}",
    )
    .unwrap();
    let p = tuf_profile(d.path(), &[(&meta, Some(&targets), "FR", "fr")]);
    let line = usage_error(&run_in(
        d.path(),
        &["check", p.to_str().unwrap(), "--no-state"],
    ));
    assert!(line.contains("root.json"), "{line}");
}

#[test]
fn tuf_profile_mistakes_are_configuration_errors_in_one_line() {
    let repo = repository();
    let d = workdir(&repo);
    let base = "scheme = \"tuf\"\nroot = \"root.json\"\n";
    let mirror = "[[mirrors]]\nurl = \"http://127.0.0.1:9/metadata/\"\n";
    let cases = [
        // A typo in a URL scheme.
        (
            format!("name = \"a\"\n{base}[[mirrors]]\nurl = \"htps://127.0.0.1:9/m/\"\n"),
            "htps",
        ),
        // A typo in targets_url's scheme.
        (
            format!("name = \"a\"\n{base}{mirror}targets_url = \"htps://x/\"\n"),
            "targets_url",
        ),
        // A host name without a scheme.
        (
            format!("name = \"a\"\n{base}[[mirrors]]\nurl = \"127.0.0.1:9/m/\"\n"),
            "did you mean",
        ),
        // key instead of root.
        (
            format!("name = \"a\"\nscheme = \"tuf\"\nkey = \"root.json\"\n{mirror}"),
            "key",
        ),
        // A target that leaves the targets URL.
        (
            format!("name = \"a\"\n{base}targets = [\"../x\"]\n{mirror}"),
            "../x",
        ),
        // targets_url in a native profile (scheme forgotten).
        (
            format!(
                "name = \"a\"\nroot = \"root.json\"\nchannel = \"c\"\n{mirror}targets_url = \"http://x/\"\n"
            ),
            "tuf",
        ),
        // A scheme typo in a profile that has a channel.
        (
            format!(
                "name = \"a\"\nscheme = \"tuff\"\nroot = \"root.json\"\nchannel = \"c\"\n{mirror}"
            ),
            "tuff",
        ),
        // A timestamp pinned where the root belongs.
        (
            format!("name = \"a\"\nscheme = \"tuf\"\nroot = \"ts.json\"\n{mirror}"),
            "ts.json",
        ),
    ];
    std::fs::copy(
        repo.path().join("metadata/timestamp.json"),
        d.path().join("ts.json"),
    )
    .unwrap();
    for (text, named) in cases {
        let p = d.path().join("bad.toml");
        std::fs::write(&p, &text).unwrap();
        let line = usage_error(&run_in(d.path(), &["check", "bad.toml", "--no-state"]));
        assert!(line.contains(named), "{text}\n=> {line}");
    }
}

#[test]
fn json_report_of_a_tuf_run_says_what_the_version_is_of() {
    let mut repo = repository();
    let old = tempfile::tempdir().unwrap();
    copy_dir(repo.path(), old.path());
    repo.publish("timestamp");
    let new = Server::serve_dir(repo.path());
    let stale = Server::serve_dir(old.path());
    let d = workdir(&repo);
    let p = tuf_profile(
        d.path(),
        &[
            (
                &format!("{}metadata/", new.url()),
                Some(&format!("{}targets/", new.url())),
                "FR",
                "fr",
            ),
            (
                &format!("{}metadata/", stale.url()),
                Some(&format!("{}targets/", stale.url())),
                "JP",
                "jp",
            ),
        ],
    );
    let out = run_in(
        d.path(),
        &["check", p.to_str().unwrap(), "--no-state", "--json"],
    );
    assert_no_panic(&out);
    assert_eq!(out.code, Some(1), "{}", out.describe());
    let r = json(&out);
    assert_eq!(r["scheme"], "tuf");
    let ts = repo.version("timestamp");
    assert_eq!(r["latest"]["version"], ts);
    assert_eq!(r["root"]["version"], 1);
    let fr = mirror_by_name(&r, "fr");
    assert_eq!(fr["status"], "ok");
    assert_eq!(fr["documents"]["targets"], repo.version("targets"));
    assert_eq!(fr["artifacts"][0]["name"], "hello.txt");
    assert_eq!(fr["artifacts"][0]["status"], "ok");
    let jp = mirror_by_name(&r, "jp");
    assert_eq!(jp["status"], "stale");
    assert_eq!(jp["version"], ts - 1);
    let why = jp["error"].as_str().unwrap();
    assert!(why.contains("timestamp"), "{why}");
}

#[test]
fn evidence_of_a_tuf_run_rechecks_offline_to_the_same_metadata_verdicts() {
    let mut repo = repository();
    let old = tempfile::tempdir().unwrap();
    copy_dir(repo.path(), old.path());
    repo.publish("timestamp");
    let new = Server::serve_dir(repo.path());
    let stale = Server::serve_dir(old.path());
    let d = workdir(&repo);
    let p = tuf_profile(
        d.path(),
        &[
            (
                &format!("{}metadata/", new.url()),
                Some(&format!("{}targets/", new.url())),
                "FR",
                "fr",
            ),
            (
                &format!("{}metadata/", stale.url()),
                Some(&format!("{}targets/", stale.url())),
                "JP",
                "jp",
            ),
        ],
    );
    let out = run_in(
        d.path(),
        &[
            "check",
            p.to_str().unwrap(),
            "--no-state",
            "--evidence",
            "ev",
        ],
    );
    assert_eq!(out.code, Some(1), "{}", out.describe());
    drop(new);
    drop(stale);
    let ev = d.path().join("ev");
    assert!(ev.join("report.json").is_file());
    assert!(ev.join("pinned-root-1.json").is_file());
    let out = run_in(
        &ev,
        &[
            "check",
            "profile.toml",
            "--artifacts",
            "none",
            "--no-state",
            "--json",
        ],
    );
    assert_no_panic(&out);
    assert_eq!(out.code, Some(1), "{}", out.describe());
    let r = json(&out);
    assert_eq!(mirror_by_name(&r, "fr")["status"], "ok");
    assert_eq!(mirror_by_name(&r, "jp")["status"], "stale");
}

#[test]
fn an_equivocation_says_which_mirror_served_which_copy() {
    // finding 10
    let mut repo = repository();
    let honest = tempfile::tempdir().unwrap();
    copy_dir(repo.path(), honest.path());
    // The snapshot key signs another snapshot under the same version.
    repo.add_target("targets", "evil.txt", b"evil");
    repo.publish("targets");
    repo.write("snapshot");
    let (a, split) = (
        Server::serve_dir(honest.path()),
        Server::serve_dir(repo.path()),
    );
    let d = workdir(&repo);
    let p = tuf_profile(
        d.path(),
        &[
            (&format!("{}metadata/", a.url()), None, "FR", "fr"),
            (&format!("{}metadata/", split.url()), None, "JP", "jp"),
        ],
    );
    let args = [
        "check",
        p.to_str().unwrap(),
        "--no-state",
        "--artifacts",
        "none",
    ];
    let out = run_in(d.path(), &[&args[..], &["--json"]].concat());
    assert_eq!(out.code, Some(1), "{}", out.describe());
    let r = json(&out);
    let e = &r["equivocations"][0];
    assert_eq!(e["kind"], "snapshot");
    let copies = e["copies"].as_array().unwrap();
    assert_eq!(copies.len(), 2, "{e}");
    let by_mirror = |url: String| {
        copies
            .iter()
            .find(|c| c["mirrors"] == serde_json::json!([url]))
            .unwrap_or_else(|| panic!("no copy served by {url} alone: {e}"))["digest"]
            .as_str()
            .unwrap()
            .to_owned()
    };
    let (da, ds) = (
        by_mirror(format!("{}metadata/", a.url())),
        by_mirror(format!("{}metadata/", split.url())),
    );
    assert_ne!(da, ds);
    let listed: Vec<&str> = e["payload_sha256"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d.as_str().unwrap())
        .collect();
    assert!(listed.contains(&da.as_str()) && listed.contains(&ds.as_str()));
    // Human: one line per copy, naming its digest and its mirror.
    let out = run_in(d.path(), &args);
    assert_no_panic(&out);
    for (digest, server) in [(&da, &a), (&ds, &split)] {
        let line = out
            .stdout
            .lines()
            .find(|l| l.contains(&format!("copy sha256 {}", &digest[..16])))
            .unwrap_or_else(|| panic!("no line for copy {digest}\n{}", out.describe()));
        assert!(line.contains(&server.url()), "{line}");
    }
}

#[test]
fn mirror_and_profile_labels_with_escapes_are_shown_escaped() {
    let repo = repository();
    let server = Server::serve_dir(repo.path());
    let d = workdir(&repo);
    let text = format!(
        "name = \"x\\u001b[31mred\"\nscheme = \"tuf\"\nroot = \"root.json\"\n[[mirrors]]\nname = \"m\\u001b]0;title\\u0007\\u202e\"\nurl = {}\ntargets_url = {}\n",
        toml_string(&format!("{}metadata/", server.url())),
        toml_string(&format!("{}targets/", server.url())),
    );
    std::fs::write(d.path().join("esc.toml"), text).unwrap();
    let out = run_in(d.path(), &["check", "esc.toml", "--no-state"]);
    assert_eq!(out.code, Some(0), "{}", out.describe());
    assert_terminal_safe(&out);
}

#[test]
fn verify_refuses_a_tuf_profile_with_exit_2_before_asking_any_mirror() {
    let repo = repository();
    let server = Server::serve_dir(repo.path());
    let d = workdir(&repo);
    std::fs::write(d.path().join("hello.txt"), HELLO).unwrap();
    let p = tuf_profile(
        d.path(),
        &[(
            &format!("{}metadata/", server.url()),
            Some(&format!("{}targets/", server.url())),
            "FR",
            "fr",
        )],
    );
    let out = run_in(
        d.path(),
        &["verify", p.to_str().unwrap(), "hello.txt", "--state", "st"],
    );
    // docs/CLI.md section 3: "`verify PROFILE FILE...` does not take TUF profiles (exit 2)".
    let line = usage_error(&out);
    assert!(line.contains("tuf-client"), "{line}");
    assert_eq!(
        server.requests(),
        0,
        "a refused command asked the mirrors anyway"
    );
    assert!(
        !d.path().join("st").exists(),
        "a refused command wrote rollback state"
    );
}

#[test]
fn verify_release_with_a_tuf_profile_says_tuf_not_dsse() {
    let repo = repository();
    let d = workdir(&repo);
    std::fs::write(d.path().join("hello.txt"), HELLO).unwrap();
    std::fs::copy(
        repo.path().join("metadata/timestamp.json"),
        d.path().join("timestamp.json"),
    )
    .unwrap();
    let p = tuf_profile(
        d.path(),
        &[("http://127.0.0.1:9/metadata/", None, "FR", "fr")],
    );
    let line = usage_error(&run_in(
        d.path(),
        &[
            "verify",
            p.to_str().unwrap(),
            "--release",
            "timestamp.json",
            "hello.txt",
        ],
    ));
    assert!(
        !line.contains("DSSE"),
        "the TUF root was read as a native root: {line}"
    );
    assert!(line.contains("tuf"), "{line}");
}

#[test]
fn a_scheme_typo_in_a_tuf_profile_without_channel_names_the_scheme() {
    let repo = repository();
    let d = workdir(&repo);
    // channel is optional for TUF, so a TUF profile usually has none.
    std::fs::write(
        d.path().join("p.toml"),
        "name = \"a\"\nscheme = \"tuff\"\nroot = \"root.json\"\n[[mirrors]]\nurl = \"http://127.0.0.1:9/m/\"\n",
    )
    .unwrap();
    let line = usage_error(&run_in(d.path(), &["check", "p.toml", "--no-state"]));
    assert!(line.contains("unknown scheme \"tuff\""), "{line}");
}

#[test]
fn a_targets_url_left_out_for_a_metadata_dir_layout_says_where_it_looked() {
    // The layout python-tuf writes and docs/ECOSYSTEMS.md's rehearsal serves: metadata/ and
    // targets/ side by side. Without targets_url, check looks in metadata/targets/.
    let repo = repository();
    let server = Server::serve_dir(repo.path());
    let d = workdir(&repo);
    let p = tuf_profile(
        d.path(),
        &[(&format!("{}metadata/", server.url()), None, "FR", "fr")],
    );
    let out = run_in(
        d.path(),
        &["check", p.to_str().unwrap(), "--no-state", "--json"],
    );
    assert_eq!(out.code, Some(1), "{}", out.describe());
    let r = json(&out);
    let why = mirror_by_name(&r, "fr")["error"]
        .as_str()
        .unwrap_or("")
        .to_owned();
    assert!(
        why.contains("metadata/targets/") || why.contains("targets_url"),
        "a newcomer cannot tell where the target was looked for: {why}"
    );
}

#[test]
fn the_header_of_a_tuf_run_names_the_pinned_root_even_when_no_mirror_verified() {
    let repo = repository();
    let d = workdir(&repo);
    let p = tuf_profile(
        d.path(),
        &[("http://127.0.0.1:9/metadata/", None, "FR", "fr")],
    );
    let out = run_in(d.path(), &["check", p.to_str().unwrap(), "--no-state"]);
    assert_eq!(out.code, Some(1), "{}", out.describe());
    let header = out.stdout.lines().next().unwrap_or("");
    assert!(
        !header.contains("tuf key"),
        "a TUF profile pins a root, not a key: {header}"
    );
    assert!(header.contains("root v1"), "{header}");
    // Naming the pinned root must not hide that nothing verified from it.
    assert!(
        out.stdout
            .contains("no mirror served metadata that verifies from the pinned root"),
        "{}",
        out.stdout
    );
}
