//! An end user's check of downloaded files against a verified release.

use std::path::{Path, PathBuf};

use crate::fetch::{ArtifactMode, ArtifactOutcome, check_local};
use crate::release::{Artifact, Release};
use crate::root::TrustedRoot;
use crate::schemes::native::ReleaseObservation as Observation;
use crate::state::ChannelState;
use crate::time::Timestamp;

#[derive(Debug, thiserror::Error)]
pub enum VerifyError {
    #[error("release {path}: {reason}")]
    Release { path: String, reason: String },
    /// A `--root` envelope that does not lead from the pinned root.
    #[error("root file {path}: {reason}")]
    Root { path: String, reason: String },
    /// A `--release` or `--root` file the user named could not be read: bad local input
    /// (exit 2, like an unreadable profile or pinned root), not a verification result.
    #[error("cannot read {what} file {path}: {reason}")]
    Unreadable {
        what: &'static str,
        path: String,
        reason: String,
    },
}

impl VerifyError {
    fn unreadable(what: &'static str, path: &Path, e: &std::io::Error) -> VerifyError {
        VerifyError::Unreadable {
            what,
            path: path.display().to_string(),
            reason: e.to_string(),
        }
    }
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

/// Verifies a release envelope read from disk against the trusted root, offline, and
/// against the local state when there is one (an old or rewritten release is refused).
pub fn release_from_file(
    path: &Path,
    root: &TrustedRoot,
    channel: &str,
    now: Timestamp,
    limit: u64,
    state: Option<&ChannelState>,
) -> Result<Release, VerifyError> {
    let err = |reason: String| VerifyError::Release {
        path: path.display().to_string(),
        reason,
    };
    let bytes = crate::fsutil::read_limited(path, limit).map_err(|e| match e.kind() {
        // Over the limit is a property of the envelope, judged like its contents.
        std::io::ErrorKind::InvalidData => err(e.to_string()),
        _ => VerifyError::unreadable("release", path, &e),
    })?;
    let keys = root.root.role_keys(&root.root.release_role);
    let signed = match crate::schemes::native::observe_release(
        &bytes,
        &keys,
        root.root.release_role.threshold,
        &root.root.project,
        channel,
        limit,
    ) {
        Observation::Signed(s) => s,
        Observation::Invalid(e) | Observation::Unreachable(e) => return Err(err(e)),
    };
    let v = signed.release.version;
    if signed.release.is_expired(now) {
        return Err(err(format!(
            "release {v} expired at {}",
            crate::time::format(&signed.release.expires)
        )));
    }
    if let Some(st) = state {
        if v < st.version {
            return Err(err(format!(
                "rollback: release {v} is older than {}, already verified here",
                st.version
            )));
        }
        if v == st.version && signed.payload_sha256 != st.payload_sha256 {
            return Err(err(format!(
                "equivocation: release {v} differs from the one verified here before"
            )));
        }
    }
    Ok(signed.release)
}

/// Walks rotated roots given as files (N+1, N+2, ... in any order), offline, with the same
/// rules as online: two different valid roots of one version are equivocation, and a file
/// that never joins the chain is an error rather than silently ignored.
pub fn walk_root_files(
    pinned: TrustedRoot,
    files: &[PathBuf],
    limit: u64,
) -> Result<TrustedRoot, VerifyError> {
    let mut blobs = Vec::new();
    for f in files {
        let b = crate::fsutil::read_limited(f, limit).map_err(|e| match e.kind() {
            std::io::ErrorKind::InvalidData => VerifyError::Root {
                path: f.display().to_string(),
                reason: e.to_string(),
            },
            _ => VerifyError::unreadable("root", f, &e),
        })?;
        blobs.push((f, b, false));
    }
    let mut current = pinned;
    loop {
        let mut next: Option<TrustedRoot> = None;
        for (f, b, used) in blobs.iter_mut() {
            let Ok(r) = current.rotate(b, limit) else {
                continue;
            };
            *used = true;
            match &next {
                Some(n) if n.payload_sha256 != r.payload_sha256 => {
                    return Err(VerifyError::Root {
                        path: f.display().to_string(),
                        reason: format!(
                            "root equivocation: two different valid roots for version {}",
                            r.root.version
                        ),
                    });
                }
                Some(_) => {}
                None => next = Some(r),
            }
        }
        match next {
            Some(r) => current = r,
            None => break,
        }
    }
    for (f, b, used) in &blobs {
        if *used {
            continue;
        }
        let reason = match current.rotate(b, limit) {
            Err(e) => e.to_string(),
            Ok(_) => "not reachable from the pinned root".into(),
        };
        return Err(VerifyError::Root {
            path: f.display().to_string(),
            reason: format!("not accepted into the chain: {reason}"),
        });
    }
    Ok(current)
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
