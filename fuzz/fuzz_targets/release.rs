//! `Release::parse` on arbitrary payload bytes (the parser that sits behind the release
//! threshold), plus `check_artifact_name` and `check_channel_name` on the input as text.
//!
//! Invariants besides "never panics": every artifact of an accepted release has a safe name
//! (no empty, `.` or `..` segment, not absolute, no backslash, no control character), names
//! are unique, project and channel are the requested ones, and every artifact carries one
//! or two digests (sha256 before sha512), all of which a verifier checks.
#![no_main]

use std::collections::BTreeSet;

use libfuzzer_sys::fuzz_target;
use mirrorproof::release::{Expected, Release, check_artifact_name, check_channel_name};
use mirrorproof_fuzz::{CHANNEL, PROJECT};

fn safe_name(name: &str) -> bool {
    !name.is_empty()
        && !name.starts_with('/')
        && !name.contains('\\')
        && !name.chars().any(char::is_control)
        && name
            .split('/')
            .all(|s| !s.is_empty() && s != "." && s != "..")
}

fn safe_channel(c: &str) -> bool {
    !c.is_empty()
        && c != "."
        && c != ".."
        && c.bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-'))
}

fuzz_target!(|data: &[u8]| {
    if let Ok(text) = std::str::from_utf8(data) {
        assert_eq!(check_artifact_name(text).is_ok(), safe_name(text));
        assert_eq!(check_channel_name(text).is_ok(), safe_channel(text));
    }
    let Ok(release) = Release::parse(data, PROJECT, CHANNEL) else {
        return;
    };
    assert_eq!(release.project, PROJECT);
    assert_eq!(release.channel, CHANNEL);
    let mut names = BTreeSet::new();
    for a in &release.artifacts {
        assert!(safe_name(&a.name), "unsafe artifact name {:?}", a.name);
        assert!(names.insert(a.name.as_str()), "artifact {:?} twice", a.name);
        match a.digests.as_slice() {
            [Expected::Sha256(_)] | [Expected::Sha512(_)] => {}
            [Expected::Sha256(_), Expected::Sha512(_)] => {}
            other => panic!("listed digests {other:?}"),
        }
    }
    let _ = release.is_expired(release.published);
});
