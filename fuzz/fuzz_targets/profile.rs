//! `Profile::parse` (TOML) and `Mirror::from_arg` on arbitrary text.
//!
//! Invariants besides "never panics": every mirror's country is two uppercase ASCII letters
//! and every http(s) mirror URL ends in `/`.
#![no_main]

use std::path::Path;

use libfuzzer_sys::fuzz_target;
use mirrorproof::profile::{Location, Mirror, Profile};

fn check(m: &Mirror) {
    assert_eq!(m.country.len(), 2);
    assert!(m.country.bytes().all(|b| b.is_ascii_uppercase()));
    if let Location::Http(u) = &m.location {
        assert!(u.path().ends_with('/'), "{u}");
    }
}

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    if let Ok(p) = Profile::parse(text, Path::new("/base")) {
        assert!(!p.name.is_empty() && !p.channel.is_empty());
        p.mirrors.iter().for_each(check);
    }
    // Command-line mirrors, one per line (short inputs only: it is the same URL parser).
    for line in text.lines().take(8) {
        if let Ok(m) = Mirror::from_arg(line, Path::new("/base")) {
            check(&m);
        }
    }
});
