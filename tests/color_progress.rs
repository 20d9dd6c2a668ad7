//! Colour in the human report and the progress bar, from the real binary: through pipes,
//! and under a real pseudo-terminal (util-linux `script`, as a user's shell would run it).
//!
//! - `--color never`, `NO_COLOR=1` on a terminal and a pipe give the plain report, byte for
//!   byte; `--color always` and a terminal give the same text with our colour sequences
//!   around status words and the verdict, and nothing else: a mirror name carrying escape
//!   sequences is still shown escaped, and the columns still line up.
//! - The bar is drawn on stderr when it is a terminal, never into a pipe, never into the
//!   report, and in colour only when colour is allowed.

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;

use common::binary::{BIN, run_in};
use common::{World, genuine, older};
use mirrorproof::text::{shown, toml_string};

/// A name that would turn a raw terminal red and retitle its window.
const HOSTILE: &str = "evil\u{1b}[31mRED\u{1b}]0;owned\u{7}";

/// Three mirrors, one of each colour and a hostile name: `a` ok, `b` stale, `evil` ok.
fn world() -> (World, PathBuf) {
    let mut w = World::new();
    w.now = mirrorproof::time::now();
    let (rel, old) = (genuine(&w), older(&w));
    w.mirror("a", "DE").serves(&rel).over_http();
    w.mirror("b", "FR").serves(&old).over_http();
    w.mirror("evil", "NL").serves(&rel).over_http();
    let mut text = format!(
        "name = \"exampleos\"\nroot = {}\nchannel = \"stable\"\n",
        toml_string(&w.pinned_path().display().to_string())
    );
    for (name, label, cc) in [("a", "a", "DE"), ("b", "b", "FR"), ("evil", HOSTILE, "NL")] {
        text.push_str(&format!(
            "[[mirrors]]\nurl = {}\ncountry = \"{cc}\"\nname = {}\n",
            toml_string(&w.url_of(name)),
            toml_string(label)
        ));
    }
    let profile = w.path().join("p.toml");
    std::fs::write(&profile, text).unwrap();
    (w, profile)
}

/// The report without its first line, which carries the time of the run.
fn body(report: &str) -> String {
    report
        .split_once('\n')
        .map_or("", |(_, rest)| rest)
        .to_owned()
}

/// The text with our SGR sequences taken out; fails on any escape character that does not
/// start one of them.
fn strip_ours(s: &str) -> String {
    const OURS: [&str; 5] = ["32", "33", "1;31", "35", "0"];
    let mut out = String::new();
    let mut rest = s;
    while let Some(at) = rest.find('\u{1b}') {
        out.push_str(&rest[..at]);
        let seq = &rest[at..];
        let end = seq
            .find('m')
            .unwrap_or_else(|| panic!("unended escape: {seq:?}"));
        assert!(
            seq.starts_with("\u{1b}["),
            "not an SGR sequence: {:?}",
            &seq[..end]
        );
        assert!(
            OURS.contains(&&seq[2..end]),
            "not one of ours: {:?}",
            &seq[..end]
        );
        rest = &seq[end + 1..];
    }
    out.push_str(rest);
    out
}

/// `command` run by `sh` under a pseudo-terminal (`script`): what the terminal showed
/// (line ends as the terminal got them, `\r\n`) and the exit code. `None` when `script` is
/// missing, which fails the test under CI.
fn in_terminal(dir: &Path, command: &str, env: &[(&str, &str)]) -> Option<(Option<i32>, String)> {
    let mut cmd = Command::new("script");
    cmd.args(["-qec", command, "/dev/null"])
        .current_dir(dir)
        .env("HOME", dir)
        .env("SHELL", "/bin/sh")
        .env("TERM", "xterm")
        .env_remove("NO_COLOR")
        .env_remove("CLICOLOR")
        .env_remove("CLICOLOR_FORCE")
        .env_remove("COLUMNS")
        .env_remove("XDG_DATA_HOME")
        .env("RUST_BACKTRACE", "0")
        .stdin(std::process::Stdio::null());
    for (k, v) in env {
        cmd.env(k, v);
    }
    match cmd.output() {
        Ok(out) => Some((
            out.status.code(),
            String::from_utf8(out.stdout).expect("the terminal got UTF-8"),
        )),
        Err(e) => {
            assert!(
                std::env::var("CI").as_deref() != Ok("true"),
                "util-linux `script` is needed for the terminal tests under CI: {e}"
            );
            eprintln!("color_progress: `script` cannot run ({e}); the terminal half is skipped");
            None
        }
    }
}

fn check_line(profile: &Path, extra: &str) -> String {
    format!("'{BIN}' check '{}' --no-state {extra}", profile.display())
}

#[test]
fn colour_is_ours_only_and_never_or_no_color_is_the_plain_report() {
    let (w, profile) = world();
    let p = profile.display().to_string();
    let never = run_in(w.path(), &["check", &p, "--no-state", "--color", "never"]);
    assert_eq!(never.code, Some(1), "{}", never.describe());
    let plain = body(&never.stdout);
    assert!(!never.stdout.contains('\u{1b}'), "{}", never.describe());
    assert!(
        plain.contains("evil\\u{1b}[31mRED\\u{1b}]0;owned\\u{7}"),
        "{plain}"
    );
    assert!(plain.contains("  stale        b"), "{plain}");

    // A pipe, with colour left to decide: plain.
    let auto = run_in(w.path(), &["check", &p, "--no-state"]);
    assert_eq!(body(&auto.stdout), plain);

    // Always: the same text once our sequences are out (so the same columns), coloured.
    let always = run_in(w.path(), &["check", &p, "--no-state", "--color", "always"]);
    assert_eq!(always.code, Some(1));
    let coloured = body(&always.stdout);
    assert_eq!(strip_ours(&coloured), plain);
    assert!(
        coloured.contains("  \u{1b}[32mok\u{1b}[0m           a"),
        "{coloured:?}"
    );
    assert!(
        coloured.contains("  \u{1b}[33mstale\u{1b}[0m        b"),
        "{coloured:?}"
    );
    let verdict = coloured.lines().last().unwrap();
    assert!(verdict.starts_with("\u{1b}[1;31m"), "{verdict:?}");
    // The hostile name's escape characters are still written out, never sent raw.
    assert!(coloured.contains("evil\\u{1b}[31mRED\\u{1b}]0;owned\\u{7}"));

    // On a terminal: coloured unless NO_COLOR (any non-empty value) or --color never.
    let run = |extra: &str, env: &[(&str, &str)]| {
        // stderr (the bar) elsewhere: the terminal shows the report alone.
        let cmd = format!("{} 2>/dev/null", check_line(&profile, extra));
        in_terminal(w.path(), &cmd, env).map(|(code, shown)| {
            assert_eq!(code, Some(1), "{}", shown);
            body(&shown.replace("\r\n", "\n"))
        })
    };
    let Some(tty_auto) = run("", &[]) else { return };
    assert_eq!(strip_ours(&tty_auto), plain);
    assert!(
        tty_auto.contains("\u{1b}[32mok\u{1b}[0m"),
        "{}",
        shown(&tty_auto)
    );
    assert_eq!(run("", &[("NO_COLOR", "1")]).unwrap(), plain);
    assert_eq!(run("--color never", &[]).unwrap(), plain);
    // An empty NO_COLOR is not set (no-color.org).
    assert_eq!(run("", &[("NO_COLOR", "")]).unwrap(), tty_auto);
}

#[test]
fn progress_is_drawn_on_a_terminal_only_and_never_in_the_report() {
    let (w, profile) = world();
    let p = profile.display().to_string();
    // A pipe: nothing on stderr at all.
    let piped = run_in(w.path(), &["check", &p, "--no-state", "--color", "never"]);
    assert_eq!(piped.code, Some(1), "{}", piped.describe());
    assert_eq!(piped.stderr, "", "{}", piped.describe());
    let plain = body(&piped.stdout);

    // stderr on a terminal, the report to a file: the bar is drawn, the report is whole
    // and untouched by it, the run ends as it does without a terminal.
    let report = w.path().join("report.txt");
    let bar = |extra: &str, env: &[(&str, &str)]| {
        let cmd = format!("{} > '{}'", check_line(&profile, extra), report.display());
        in_terminal(w.path(), &cmd, env).map(|(code, drawn)| {
            assert_eq!(code, Some(1), "{}", shown(&drawn));
            assert!(drawn.contains("/3 answered"), "{}", shown(&drawn));
            assert!(drawn.contains("3/3 answered"), "{}", shown(&drawn));
            let written = std::fs::read_to_string(&report).unwrap();
            assert_eq!(body(&written), plain, "{}", shown(&written));
            drawn
        })
    };
    let Some(coloured) = bar("", &[]) else { return };
    // indicatif's cyan and blue (spinner, bar): colour is allowed here.
    assert!(coloured.contains("\u{1b}[36m"), "{}", shown(&coloured));
    for (extra, env) in [("--color never", vec![]), ("", vec![("NO_COLOR", "1")])] {
        let drawn = bar(extra, &env).unwrap();
        assert!(
            !drawn.contains("\u{1b}[36m") && !drawn.contains("\u{1b}[34m"),
            "{extra} {env:?}: {}",
            shown(&drawn)
        );
    }
}
