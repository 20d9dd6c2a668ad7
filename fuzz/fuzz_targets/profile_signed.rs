//! Profiles of the signed-file schemes (signify, minisign, sshsig, note): `Profile::parse`
//! on arbitrary TOML, checked against the rules `signed_source` promises for `key`, `file`,
//! `signature`, `identity`, `namespace`, `version_file`, `origin` and `required_entries`.
//!
//! Invariants besides "never panics":
//! - errors are one line;
//! - `native` profiles carry no signed source; every other accepted scheme names a format
//!   whose name is the scheme;
//! - `file`, `signature` and `version_file` are safe relative paths for any version
//!   (`paths_for` with 1 and u64::MAX), and `{version}` appears only with `version_file`;
//! - minisign and sshsig have a signature, notes have none; sshsig has a non-empty
//!   namespace and identity and only sshsig has them at all; `version_file` is sshsig-only;
//!   `origin` is non-empty and note-only; `required_entries` is for embedded signify lists.
#![no_main]

#[path = "common/schemes.rs"]
mod schemes;

use std::path::Path;

use libfuzzer_sys::fuzz_target;
use mirrorproof::profile::Profile;
use mirrorproof::release::check_artifact_name;
use mirrorproof::schemes::Format;
use schemes::one_line;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let p = match Profile::parse(text, Path::new("/base")) {
        Ok(p) => p,
        Err(e) => {
            one_line(&e);
            return;
        }
    };
    assert!(!p.name.is_empty() && !p.channel.is_empty());
    assert!(p.root.starts_with("/base") || p.root.is_absolute());
    let Some(s) = &p.signed else {
        assert_eq!(p.scheme, "native");
        return;
    };
    assert_eq!(s.format.as_str(), p.scheme);
    assert_eq!(Format::from_scheme(&p.scheme), Some(s.format));

    for v in [Some(1), Some(u64::MAX)] {
        let (file, sig) = s.paths_for(v);
        assert!(check_artifact_name(&file).is_ok(), "unsafe file {file:?}");
        assert!(!file.contains("{version}"));
        if let Some(sig) = &sig {
            assert!(check_artifact_name(sig).is_ok(), "unsafe signature path {sig:?}");
        }
    }
    if let Some(vf) = &s.version_file {
        assert!(check_artifact_name(&vf.replace("{version}", "1")).is_ok(), "{vf:?}");
    }
    let templated = s.file.contains("{version}")
        || s.signature.as_deref().is_some_and(|x| x.contains("{version}"));
    assert!(!templated || s.version_file.is_some());
    assert_eq!(s.paths_for(None), (s.file.clone(), s.signature.clone()));

    match s.format {
        Format::Minisign => assert!(s.signature.is_some()),
        Format::Sshsig => {
            assert!(s.signature.is_some());
            assert!(s.namespace.as_deref().is_some_and(|n| !n.is_empty()));
            assert!(s.identity.as_deref().is_some_and(|n| !n.is_empty()));
        }
        Format::Note => assert!(s.signature.is_none()),
        Format::Signify => {}
    }
    if s.format != Format::Sshsig {
        assert!(s.identity.is_none() && s.namespace.is_none() && s.version_file.is_none());
    }
    if let Some(o) = &s.origin {
        assert!(!o.is_empty() && s.format == Format::Note);
    }
    if !s.required_entries.is_empty() {
        assert!(s.format == Format::Signify && s.signature.is_none());
    }
});
