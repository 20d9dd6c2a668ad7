//! Evidence for auditors: the exact bytes each mirror served, the root chain, and the
//! report, laid out so that anyone can re-run the verdict offline with mirrorproof itself
//! (`check DIR/profile.toml --artifacts none --no-state`) or with another implementation.

use std::fmt::Write as _;
use std::path::Path;

use crate::check::Evidence;
use crate::fsutil::atomic_write;
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
    let put = |rel: &str, bytes: &[u8]| -> Result<(), EvidenceError> {
        let path = dir.join(rel);
        let err = |source| EvidenceError {
            path: path.display().to_string(),
            source,
        };
        if let Some(p) = path.parent() {
            std::fs::create_dir_all(p).map_err(err)?;
        }
        atomic_write(&path, bytes, 0o644).map_err(err)
    };
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

fn toml_str(s: &str) -> String {
    // A JSON string is a valid TOML basic string.
    serde_json::to_string(s).unwrap_or_else(|_| "\"\"".into())
}
