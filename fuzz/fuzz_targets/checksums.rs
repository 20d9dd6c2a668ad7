//! BSD-style checksum lists (`SHA256 (name) = hex`): `checksums::parse` and `lookup` on
//! arbitrary bytes, the list a signify `-e` signature embeds.
//!
//! Invariants besides "never panics" (`common/schemes.rs`, `check_checksum_list`): errors
//! render as one line; every line of an accepted list is exactly the one spelling of an
//! entry and every entry is one distinct line; names are non-empty, at most 1023 bytes,
//! relative, free of control characters and `..` components; `lookup` finds each entry,
//! at most once per algorithm.
#![no_main]

#[path = "common/schemes.rs"]
mod schemes;

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    schemes::check_checksum_list(data);
});
