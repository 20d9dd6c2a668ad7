//! An end user's check of downloaded files against a verified release: what a run may
//! hand on to be checked against (never a version the mirrors disagree on), which files can
//! be checked at all, and the release read from disk when offline.

use std::path::{Path, PathBuf};

use crate::fetch::{ArtifactMode, ArtifactOutcome, check_local};
use crate::release::{Artifact, Release};
use crate::report::Report;
use crate::root::TrustedRoot;
use crate::run::{Latest, ProfileOutcome};
use crate::schemes::files::LatestSigned;
use crate::schemes::native::ReleaseObservation as Observation;
use crate::schemes::pinned::Pinned;
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
    /// Mirrors served two signed contents for one version (or two roots): taking either
    /// would let the mirror a user happens to reach decide what is genuine.
    #[error(
        "mirrors serve conflicting signed {what} (equivocation); refusing to pick one. Run `check` for details"
    )]
    Equivocation { what: &'static str },
    /// No mirror served a native release that verified.
    #[error("no mirror served a valid release: {summary}")]
    NoRelease { summary: String },
    /// No signed content could be taken; the run's notices say why (e.g. mirrors
    /// disagreeing on the signature of the newest version).
    #[error("no signed content can be taken from the mirrors: {summary} ({notices})")]
    NoSignedContent { summary: String, notices: String },
    /// A scheme whose runs keep no file list to match local files against (TUF: the
    /// client downloads and verifies targets itself).
    #[error(
        "verify PROFILE FILE does not take {scheme} profiles; `mirrorproof tuf-client ... download` fetches and verifies TUF targets"
    )]
    Unsupported { scheme: &'static str },
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

/// What local files are checked against, as a run over the mirrors found it.
#[derive(Debug, Clone, Copy)]
pub enum Reference<'a> {
    Release(&'a Release),
    Signed {
        pinned: &'a Pinned,
        latest: &'a LatestSigned,
    },
}

/// The latest content of a run, for checking local files against, refused when the
/// mirrors equivocate (on the content or, for native profiles, on the root) or when no
/// mirror served any that verified.
pub fn reference(outcome: &ProfileOutcome) -> Result<Reference<'_>, VerifyError> {
    let r = &outcome.report;
    let split = !r.equivocations.is_empty() || !r.root_equivocations.is_empty();
    match &outcome.latest {
        Latest::Native(latest) => {
            if split {
                return Err(VerifyError::Equivocation { what: "releases" });
            }
            latest
                .release
                .as_ref()
                .map(Reference::Release)
                .ok_or_else(|| VerifyError::NoRelease {
                    summary: r.summary(),
                })
        }
        Latest::Tuf(_) => Err(VerifyError::Unsupported { scheme: "tuf" }),
        Latest::Files { pinned, latest } => {
            if split {
                return Err(VerifyError::Equivocation { what: "versions" });
            }
            let latest = latest
                .as_ref()
                .ok_or_else(|| VerifyError::NoSignedContent {
                    summary: r.summary(),
                    notices: r.notices.join("; "),
                })?;
            Ok(Reference::Signed { pinned, latest })
        }
    }
}

/// How many mirrors of a run serve its latest content (none when there is no latest).
pub fn agreeing(report: &Report) -> usize {
    let Some(latest) = &report.latest else {
        return 0;
    };
    report
        .mirrors
        .iter()
        .filter(|m| m.payload_sha256.as_deref() == Some(latest.payload_sha256.as_str()))
        .count()
}

/// Why a FILE cannot be checked at all: said plainly rather than as a name mismatch.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum Unusable {
    #[error("No such file")]
    Missing,
    #[error("is a directory")]
    Directory,
}

/// The FILEs to check, split into those that can be checked and those that cannot.
#[derive(Debug, Default)]
pub struct Sorted {
    /// As given (relative to the base directory, if any).
    pub usable: Vec<PathBuf>,
    /// As found on disk (joined to the base directory), in the order given.
    pub unusable: Vec<(PathBuf, Unusable)>,
}

/// Sorts the FILEs (each read under `base_dir`, if any) by whether they can be checked:
/// a missing file or a directory cannot. Anything else (unreadable, a FIFO) is left to the
/// check itself, which reads it under its limits and says why it failed.
pub fn usable_files(files: &[PathBuf], base_dir: Option<&Path>) -> Sorted {
    let mut sorted = Sorted::default();
    for f in files {
        let on_disk = match base_dir {
            Some(d) => d.join(f),
            None => f.clone(),
        };
        let unusable = match std::fs::metadata(&on_disk) {
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Some(Unusable::Missing),
            Ok(m) if m.is_dir() => Some(Unusable::Directory),
            _ => None,
        };
        match unusable {
            Some(why) => sorted.unusable.push((on_disk, why)),
            None => sorted.usable.push(f.clone()),
        }
    }
    sorted
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fetch::FetchConfig;
    use crate::profile::Profile;
    use crate::report::EquivocationReport;
    use crate::run::{CheckOptions, check_profile};

    const DEMO: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/fixtures/demo");

    /// A real run over the demo's mirror directories, at a fixed time within the demo
    /// root's and releases' validity.
    fn run(profile: &Profile) -> ProfileOutcome {
        let opts = CheckOptions {
            channel: profile.channel.clone(),
            artifacts: ArtifactMode::None,
            fetch: FetchConfig::default(),
            state: None,
            now: crate::time::parse("2030-01-01T00:00:00Z").unwrap(),
            vantages: Default::default(),
            hooks: Default::default(),
        };
        check_profile(profile, profile.mirrors.clone(), opts, None).unwrap()
    }

    fn demo(name: &str) -> Profile {
        Profile::load(&Path::new(DEMO).join(name)).unwrap()
    }

    /// A signify profile (OpenBSD's real key) whose only mirror is an empty directory.
    fn empty_signify(dir: &Path) -> Profile {
        let key = concat!(env!("CARGO_MANIFEST_DIR"), "/keys/openbsd-79-base.pub");
        std::fs::create_dir(dir.join("m")).unwrap();
        let text = format!(
            "name = \"obsd\"\nscheme = \"signify\"\nkey = {key:?}\nchannel = \"c\"\nfile = \"SHA256.sig\"\n[[mirrors]]\nurl = \"m\"\n"
        );
        Profile::parse(&text, dir).unwrap()
    }

    #[test]
    fn the_release_the_mirrors_agree_on_is_the_reference() {
        let out = run(&demo("demo.toml"));
        let Ok(Reference::Release(release)) = reference(&out) else {
            panic!("no release: {:?}", reference(&out).err());
        };
        assert_eq!(release.version, 2026112200);
        let r = &out.report;
        let same_version = r
            .mirrors
            .iter()
            .filter(|m| m.version == Some(release.version))
            .count();
        // The demo has a stale mirror, an invalid one and an expired one.
        assert!(same_version > 0 && same_version < r.mirrors.len());
        assert_eq!(agreeing(r), same_version);
    }

    #[test]
    fn an_equivocated_release_is_refused() {
        let out = run(&demo("equivocation.toml"));
        let e = reference(&out).unwrap_err();
        assert!(matches!(e, VerifyError::Equivocation { what: "releases" }));
        assert_eq!(
            e.to_string(),
            "mirrors serve conflicting signed releases (equivocation); refusing to pick one. Run `check` for details"
        );
    }

    #[test]
    fn no_valid_release_is_refused_with_the_summary() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir(dir.path().join("m")).unwrap();
        let mut profile = demo("demo.toml");
        profile.mirrors = vec![crate::profile::Mirror::from_arg("m", dir.path()).unwrap()];
        let out = run(&profile);
        assert_eq!(agreeing(&out.report), 0);
        match reference(&out) {
            Err(VerifyError::NoRelease { summary }) => {
                assert_eq!(summary, out.report.summary());
                assert!(!summary.is_empty());
            }
            other => panic!("expected NoRelease, got {other:?}"),
        }
    }

    #[test]
    fn no_signed_content_names_the_summary_and_the_notices() {
        let dir = tempfile::tempdir().unwrap();
        let out = run(&empty_signify(dir.path()));
        let r = &out.report;
        assert!(
            !r.notices.is_empty(),
            "signify runs say what they cannot judge"
        );
        let e = reference(&out).unwrap_err();
        let VerifyError::NoSignedContent { summary, notices } = &e else {
            panic!("expected NoSignedContent, got {e:?}");
        };
        assert_eq!(summary, &r.summary());
        assert_eq!(notices, &r.notices.join("; "));
        assert!(
            e.to_string()
                .starts_with("no signed content can be taken from the mirrors: ")
        );
    }

    #[test]
    fn equivocation_is_refused_before_anything_else_for_signed_files() {
        let dir = tempfile::tempdir().unwrap();
        let mut out = run(&empty_signify(dir.path()));
        out.report.equivocations.push(EquivocationReport {
            kind: None,
            version: 0,
            payload_sha256: vec!["a".repeat(64), "b".repeat(64)],
            mirrors: vec!["m".into()],
            with_state: false,
            evidence: Vec::new(),
            copies: Vec::new(),
            vantages: Vec::new(),
        });
        let e = reference(&out).unwrap_err();
        assert!(matches!(e, VerifyError::Equivocation { what: "versions" }));
    }

    #[test]
    fn missing_files_and_directories_cannot_be_checked() {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();
        std::fs::write(d.join("a.bin"), b"x").unwrap();
        std::fs::create_dir(d.join("sub")).unwrap();
        let files: Vec<PathBuf> = ["a.bin", "sub", "gone.bin"]
            .iter()
            .map(PathBuf::from)
            .collect();

        let sorted = usable_files(&files, Some(d));
        assert_eq!(sorted.usable, vec![PathBuf::from("a.bin")]);
        assert_eq!(
            sorted.unusable,
            vec![
                (d.join("sub"), Unusable::Directory),
                (d.join("gone.bin"), Unusable::Missing)
            ]
        );
        assert_eq!(Unusable::Missing.to_string(), "No such file");
        assert_eq!(Unusable::Directory.to_string(), "is a directory");

        // Without a base directory the names are taken as given (here: relative to the
        // test's working directory, where none of them exists).
        let sorted = usable_files(&files, None);
        assert!(sorted.usable.is_empty());
        assert_eq!(sorted.unusable.len(), 3);
        let absolute = vec![d.join("a.bin")];
        assert_eq!(usable_files(&absolute, None).usable, absolute);
    }
}
