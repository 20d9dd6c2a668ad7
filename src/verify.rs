//! An end user's check of downloaded files against a verified release.

use std::path::{Path, PathBuf};

use crate::audit::Observation;
use crate::fetch::{ArtifactMode, ArtifactOutcome, check_local};
use crate::release::{Artifact, Release};
use crate::root::TrustedRoot;
use crate::time::Timestamp;

#[derive(Debug, thiserror::Error)]
pub enum VerifyError {
    #[error("release {path}: {reason}")]
    Release { path: String, reason: String },
}

#[derive(Debug, Clone)]
pub struct FileResult {
    pub path: PathBuf,
    pub artifact: Option<String>,
    pub outcome: ArtifactOutcome,
    /// Why the file could not be matched to an artifact, when it could not.
    pub note: Option<String>,
}

impl FileResult {
    pub fn ok(&self) -> bool {
        self.outcome == ArtifactOutcome::Ok
    }
}

/// Verifies a release envelope read from disk against the pinned root, offline.
pub fn release_from_file(
    path: &Path,
    root: &TrustedRoot,
    channel: &str,
    now: Timestamp,
) -> Result<Release, VerifyError> {
    let err = |reason: String| VerifyError::Release {
        path: path.display().to_string(),
        reason,
    };
    let limit = crate::envelope::DEFAULT_MAX_BYTES;
    let bytes = crate::fsutil::read_limited(path, limit).map_err(|e| err(e.to_string()))?;
    let keys = root.root.role_keys(&root.root.release_role);
    match crate::check::observe_release(
        &bytes,
        &keys,
        root.root.release_role.threshold,
        &root.root.project,
        channel,
        limit,
    ) {
        Observation::Signed(s) if s.release.is_expired(now) => Err(err(format!(
            "release {} expired at {}",
            s.release.version,
            crate::time::format(&s.release.expires)
        ))),
        Observation::Signed(s) => Ok(s.release),
        Observation::Invalid(e) | Observation::Unreachable(e) => Err(err(e)),
    }
}

/// Hashes each file and matches it by file name to an artifact of `release`.
pub fn verify_files(release: &Release, files: &[PathBuf]) -> Vec<FileResult> {
    files
        .iter()
        .map(|path| {
            let base = path.file_name().and_then(|n| n.to_str()).unwrap_or("");
            let matches: Vec<&Artifact> = release
                .artifacts
                .iter()
                .filter(|a| a.name == base || a.name.rsplit('/').next() == Some(base))
                .collect();
            match matches.as_slice() {
                [a] => FileResult {
                    path: path.clone(),
                    artifact: Some(a.name.clone()),
                    outcome: check_local(path, a, ArtifactMode::Full),
                    note: None,
                },
                [] => FileResult {
                    path: path.clone(),
                    artifact: None,
                    outcome: ArtifactOutcome::Error("no artifact of that name".into()),
                    note: Some(format!(
                        "release {} lists no artifact named {base:?}",
                        release.version
                    )),
                },
                many => FileResult {
                    path: path.clone(),
                    artifact: None,
                    outcome: ArtifactOutcome::Error("ambiguous name".into()),
                    note: Some(format!(
                        "{} artifacts end in {base:?}; cannot tell which one this is",
                        many.len()
                    )),
                },
            }
        })
        .collect()
}
