//! Evidence for auditors: the exact bytes each mirror served, the root chain, and the
//! report, laid out so that anyone can re-run the verdict offline with mirrorproof itself
//! (`check DIR/profile.toml --artifacts none --no-state`) or with another implementation.

use std::fmt::Write as _;
use std::path::Path;

use crate::check::Evidence;
use crate::fsutil::atomic_write;
use crate::profile::{Mirror, Profile};
use crate::report::Report;

#[derive(Debug, thiserror::Error)]
#[error("cannot write evidence to {path}: {source}")]
pub struct EvidenceError {
    path: String,
    #[source]
    source: std::io::Error,
}

/// Writes `DIR/profile.toml`, `DIR/report.json`, the pinned root, and one mirror tree per
/// mirror that served a release (`DIR/mirrors/NNNN/`, with the rotated roots beside it so
/// each tree is a complete mirror layout for metadata).
pub fn write(dir: &Path, report: &Report, evidence: &Evidence) -> Result<(), EvidenceError> {
    let put = |rel: &str, bytes: &[u8]| put_file(dir, rel, bytes);
    let pinned_name = format!("pinned-root-{}.json", evidence.pinned_version);
    put(&pinned_name, &evidence.pinned.to_json_bytes())?;
    let mut profile = String::new();
    let _ = writeln!(
        profile,
        "# Evidence from a mirrorproof run at {}. Re-check offline with:\n#   mirrorproof check profile.toml --artifacts none --no-state",
        report.checked_at
    );
    let _ = writeln!(profile, "name = {}", toml_str(&report.profile));
    let _ = writeln!(profile, "root = {}", toml_str(&pinned_name));
    let _ = writeln!(profile, "channel = {}", toml_str(&report.channel));
    for (i, (mirror, bytes)) in evidence.served.iter().enumerate() {
        let Some(bytes) = bytes else { continue };
        let sub = format!("mirrors/{i:04}");
        put(&format!("{sub}/{}/release.json", report.channel), bytes)?;
        for (v, env) in &evidence.rotations {
            put(&format!("{sub}/root/{v}.json"), &env.to_json_bytes())?;
        }
        put(
            &format!("{sub}/SOURCE"),
            format!("{}\n", mirror.url).as_bytes(),
        )?;
        let _ = writeln!(
            profile,
            "\n[[mirrors]]\nurl = {}\ncountry = {}\nname = {}",
            toml_str(&sub),
            toml_str(&mirror.country),
            toml_str(mirror.label())
        );
    }
    put("profile.toml", profile.as_bytes())?;
    put("report.json", report.to_json().as_bytes())?;
    Ok(())
}

/// Writes one evidence file atomically, creating its directories.
fn put_file(dir: &Path, rel: &str, bytes: &[u8]) -> Result<(), EvidenceError> {
    let path = dir.join(rel);
    let err = |source| EvidenceError {
        path: path.display().to_string(),
        source,
    };
    if let Some(p) = path.parent() {
        std::fs::create_dir_all(p).map_err(err)?;
    }
    atomic_write(&path, bytes, 0o644).map_err(err)
}

fn toml_str(s: &str) -> String {
    // A JSON string is a valid TOML basic string.
    serde_json::to_string(s).unwrap_or_else(|_| "\"\"".into())
}

/// Evidence for a signed-file profile: the pinned key, every file each mirror served under
/// its own path, the report, and a profile that re-checks them offline. Large images named
/// by unsigned metadata are not kept (their signatures are).
pub fn write_signed(
    dir: &Path,
    report: &Report,
    profile: &Profile,
    served: &[(Mirror, crate::scheme_check::ServedFiles)],
) -> Result<(), EvidenceError> {
    let put = |rel: &str, bytes: &[u8]| put_file(dir, rel, bytes);
    let Some(source) = &profile.signed else {
        return Ok(());
    };
    let key = crate::fsutil::read_limited(&profile.root, crate::schemes::MAX_KEY_FILE_BYTES)
        .map_err(|source| EvidenceError {
            path: profile.root.display().to_string(),
            source,
        })?;
    put("pinned.key", &key)?;
    let mut text = String::new();
    let _ = writeln!(
        text,
        "# Evidence from a mirrorproof run at {}. Re-check offline with:\n#   mirrorproof check profile.toml --artifacts none --no-state",
        report.checked_at
    );
    let _ = writeln!(text, "name = {}", toml_str(&report.profile));
    let _ = writeln!(text, "scheme = {}", toml_str(source.format.as_str()));
    let _ = writeln!(text, "key = \"pinned.key\"");
    let _ = writeln!(text, "channel = {}", toml_str(&report.channel));
    let _ = writeln!(text, "file = {}", toml_str(&source.file));
    let optional = [
        ("signature", &source.signature),
        ("identity", &source.identity),
        ("namespace", &source.namespace),
        ("version_file", &source.version_file),
        ("origin", &source.origin),
    ];
    for (field, value) in optional {
        if let Some(v) = value {
            let _ = writeln!(text, "{field} = {}", toml_str(v));
        }
    }
    if !source.required_entries.is_empty() {
        let list: Vec<String> = source
            .required_entries
            .iter()
            .map(|e| toml_str(e))
            .collect();
        let _ = writeln!(text, "required_entries = [{}]", list.join(", "));
    }
    for (i, (mirror, files)) in served.iter().enumerate() {
        if files.is_empty() {
            continue;
        }
        let sub = format!("mirrors/{i:04}");
        for (rel, bytes) in files {
            put(&format!("{sub}/{rel}"), bytes)?;
        }
        put(
            &format!("{sub}/SOURCE"),
            format!("{}\n", mirror.url).as_bytes(),
        )?;
        let _ = writeln!(
            text,
            "\n[[mirrors]]\nurl = {}\ncountry = {}\nname = {}",
            toml_str(&sub),
            toml_str(&mirror.country),
            toml_str(mirror.label())
        );
    }
    put("profile.toml", text.as_bytes())?;
    put("report.json", report.to_json().as_bytes())?;
    Ok(())
}
