//! GrapheneOS update metadata (`incremental build_date device channel`, unsigned, read to
//! find the image's file name): `schemes::files::parse_update_metadata` on an input split at
//! the first NUL into `metadata \0 path` (no NUL: the whole input, under a few fixed paths).
//!
//! Invariants besides "never panics" (any path), for paths a profile can hold (its
//! `version_file`, which passed `check_artifact_name`: no control characters):
//! - errors are one line;
//! - an accepted file is exactly `V D DEVICE CHANNEL` with at most one final newline, where
//!   V is the returned version printed in decimal (so no sign, no leading zero, V >= 1), D
//!   is a decimal number of the same kind, and `DEVICE-CHANNEL` is the path's last segment;
//! - the version is what a file rebuilt from its fields parses to.
#![no_main]

#[path = "common/schemes.rs"]
mod schemes;

use libfuzzer_sys::fuzz_target;
use mirrorproof::release::check_artifact_name;
use mirrorproof::schemes::files::parse_update_metadata;
use schemes::{one_line, parts};

fn canonical_number(s: &str) -> bool {
    !s.is_empty()
        && s.bytes().all(|b| b.is_ascii_digit())
        && !s.starts_with('0')
        && s.parse::<u64>().is_ok()
}

fn check(meta: &[u8], path: &str) {
    let r = parse_update_metadata(meta, path);
    // A path with a line break lets a line break through into `channel` (it must equal the
    // path's last segment): profiles cannot hold such a path, so only no-panic is checked.
    if check_artifact_name(path).is_err() {
        return;
    }
    let v = match r {
        Ok(v) => v,
        Err(e) => {
            one_line(&e);
            return;
        }
    };
    assert!(v >= 1);
    let text = std::str::from_utf8(meta).expect("accepted metadata is UTF-8");
    let line = text.strip_suffix('\n').unwrap_or(text);
    assert!(!line.contains('\n'), "more than one line accepted: {text:?}");
    let fields: Vec<&str> = line.split(' ').collect();
    let [inc, date, device, channel] = fields[..] else {
        panic!("accepted {text:?} without four fields");
    };
    assert_eq!(inc, v.to_string(), "version not in its one spelling");
    assert!(canonical_number(date), "build_date {date:?}");
    let name = path.rsplit('/').next().unwrap_or(path);
    assert_eq!(format!("{device}-{channel}"), name);
    let rebuilt = format!("{v} {date} {device} {channel}\n");
    assert_eq!(parse_update_metadata(rebuilt.as_bytes(), path), Ok(v));
}

fuzz_target!(|data: &[u8]| {
    let p = parts(data, 2);
    if let [meta, path] = p[..] {
        check(meta, &String::from_utf8_lossy(path));
    } else {
        for path in ["husky-stable", "releases.grapheneos.org/husky-stable", "a-b", "x/-"] {
            check(data, path);
        }
    }
});
