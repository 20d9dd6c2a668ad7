//! Attacks from the adversarial review of the field-hardening changes: each test mounts one
//! attack for real against the built binary (or the library where the binary cannot reach
//! the spot from loopback) and asserts what must hold.

mod common;

use std::process::Command;

use mirrorproof::text::{is_unsafe, shown};

const BIN: &str = env!("CARGO_BIN_EXE_mirrorproof");

/// Window title, one-byte CSI, carriage return and bidi controls.
const HOSTILE: &str = "\u{1b}]0;pwned\u{7}\u{9b}31m\r\u{202e}\u{2066}";

#[track_caller]
fn assert_no_raw_controls(what: &str, text: &str) {
    if let Some((i, c)) = text
        .char_indices()
        .find(|&(_, c)| is_unsafe(c) && c != '\n')
    {
        panic!(
            "{what}: U+{:04X} raw at byte {i}: {}",
            c as u32,
            shown(text)
        );
    }
}

/// clap quotes an argument it does not understand. Arguments come from file names too
/// (`mirrorproof verify p.toml *` in a download directory holding a file named
/// `--<ESC>]0;...`), so the quote must be escaped like every other message.
#[test]
fn argument_errors_do_not_echo_controls_raw() {
    let dir = tempfile::tempdir().unwrap();
    for args in [
        vec![format!("--x{HOSTILE}")],
        vec!["check".into(), format!("--x{HOSTILE}")],
        vec![
            "check".into(),
            "p.toml".into(),
            "--artifacts".into(),
            HOSTILE.into(),
        ],
        vec![format!("sub{HOSTILE}")],
        vec!["verify".into(), "p.toml".into(), format!("--{HOSTILE}.zip")],
    ] {
        let out = Command::new(BIN)
            .args(&args)
            .current_dir(dir.path())
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(2), "{args:?}");
        let stderr = String::from_utf8(out.stderr).unwrap();
        assert!(stderr.starts_with("error:"), "{}", shown(&stderr));
        assert_no_raw_controls(&format!("{args:?}"), &stderr);
        assert_no_raw_controls(&format!("{args:?}"), &String::from_utf8_lossy(&out.stdout));
    }
}
