//! `time::parse` (document timestamps) and `time::parse_relative` (publisher `--expires`
//! and `--published` arguments) on arbitrary text.
//!
//! Invariants besides "never panics": an accepted document time ends in `Z`, and formatting
//! then parsing again gives the same instant up to the second.
#![no_main]

use libfuzzer_sys::fuzz_target;
use mirrorproof::time;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let base = time::parse("2026-11-22T00:00:00Z").unwrap();
    if let Ok(t) = time::parse(text) {
        assert!(text.ends_with('Z'));
        let again = time::parse(&time::format(&t)).expect("formatted time parses");
        assert_eq!(again.timestamp(), t.timestamp());
    }
    let _ = time::parse_relative(text, base);
});
