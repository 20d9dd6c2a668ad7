//! The artifacts stage: every file the latest content vouches for, on every mirror that
//! serves the latest content. One download per artifact, every listed digest over the same
//! bytes ([`Fetcher::check_artifact`]), never a second chance for the mirror.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Instant;

use tokio::sync::Semaphore;

use crate::fetch::{ArtifactMode, ArtifactOutcome, Fetcher};
use crate::profile::Mirror;
use crate::release::Artifact;
use crate::report::ArtifactReport;
use crate::run::judge::Status;
use crate::run::observe::Proof;

/// Artifact requests one mirror may have in flight at once.
const PER_MIRROR_ARTIFACTS: usize = 4;

/// Per mirror: each artifact's outcome, and the longest time one took.
pub(crate) type ArtifactResults = BTreeMap<usize, (Vec<(String, ArtifactOutcome)>, u64)>;

/// Checks artifacts for the mirrors that serve the latest content: one task per artifact
/// per mirror, so hashing spreads over all cores while the fetcher's semaphore bounds the
/// I/O. Each mirror also gets its own small cap, so a slow mirror can hold only a few of
/// the shared slots, and after its first timeout it is not asked for more: a stalling
/// mirror costs about one artifact timeout, never one per artifact.
pub(crate) async fn check(
    fetcher: &Arc<Fetcher>,
    mirrors: &[Arc<Mirror>],
    jobs: Vec<(usize, Vec<(String, Artifact)>)>,
    mode: ArtifactMode,
) -> ArtifactResults {
    let mut handles = Vec::new();
    for (i, list) in jobs {
        let own = Arc::new(Semaphore::new(PER_MIRROR_ARTIFACTS));
        let stalled = Arc::new(AtomicBool::new(false));
        for (rel, a) in list {
            let (f, m) = (fetcher.clone(), mirrors[i].clone());
            let (own, stalled) = (own.clone(), stalled.clone());
            handles.push((
                i,
                a.name.clone(),
                tokio::spawn(async move {
                    let _slot = own.acquire().await;
                    if stalled.load(Ordering::Relaxed) {
                        return (
                            ArtifactOutcome::Error(
                                "not asked: an earlier artifact on this mirror timed out".into(),
                            ),
                            0,
                        );
                    }
                    let start = Instant::now();
                    let out = f.check_artifact(&m, &rel, &a, mode).await;
                    if matches!(out, ArtifactOutcome::TimedOut(_)) {
                        stalled.store(true, Ordering::Relaxed);
                    }
                    (out, start.elapsed().as_millis() as u64)
                }),
            ));
        }
    }
    let mut results = ArtifactResults::new();
    for (i, name, h) in handles {
        let (outcome, ms) = h
            .await
            .unwrap_or_else(|e| (ArtifactOutcome::Error(format!("task failed: {e}")), 0));
        let entry = results.entry(i).or_default();
        entry.0.push((name, outcome));
        entry.1 = entry.1.max(ms);
    }
    results
}

/// A latest mirror's status from its artifacts: any corrupt one makes it corrupt, any
/// missing or unfetched one incomplete.
pub(crate) fn status(results: &[(String, ArtifactOutcome)]) -> (Status, Option<String>) {
    let mut corrupt = Vec::new();
    let mut missing = Vec::new();
    for (name, o) in results {
        match o {
            ArtifactOutcome::Corrupt(why) => corrupt.push(format!("{name}: {why}")),
            ArtifactOutcome::Missing => missing.push(format!("{name}: missing")),
            ArtifactOutcome::Error(why) | ArtifactOutcome::TimedOut(why) => {
                missing.push(format!("{name}: not fetched ({why})"))
            }
            ArtifactOutcome::Ok | ArtifactOutcome::Skipped => {}
        }
    }
    if !corrupt.is_empty() {
        (Status::Corrupt, Some(join_reasons(&corrupt)))
    } else if !missing.is_empty() {
        (Status::Incomplete, Some(join_reasons(&missing)))
    } else {
        (Status::Ok, None)
    }
}

/// A latest mirror whose content is not proven (an image whose signature was not checked
/// against its bytes) is never ok, whatever its artifacts.
pub(crate) fn unproven_status(proof: &Proof, mode: ArtifactMode) -> Option<(Status, String)> {
    match proof {
        Proof::Verified => None,
        Proof::Refused(e) => Some((Status::Corrupt, format!("image: {e}"))),
        Proof::Unfetched(e) => Some((Status::Incomplete, format!("image not fetched: {e}"))),
        Proof::NotChecked => Some((
            Status::Incomplete,
            format!(
                "image signature not checked (--artifacts {}): it covers the image bytes",
                mode_name(mode)
            ),
        )),
    }
}

fn join_reasons(v: &[String]) -> String {
    let mut s = v.iter().take(3).cloned().collect::<Vec<_>>().join("; ");
    if v.len() > 3 {
        s.push_str(&format!("; and {} more", v.len() - 3));
    }
    s
}

pub(crate) fn report(name: String, o: ArtifactOutcome) -> ArtifactReport {
    let (status, error) = match o {
        ArtifactOutcome::Ok => ("ok", None),
        ArtifactOutcome::Missing => ("missing", None),
        ArtifactOutcome::Corrupt(w) => ("corrupt", Some(w)),
        ArtifactOutcome::Error(w) | ArtifactOutcome::TimedOut(w) => ("error", Some(w)),
        ArtifactOutcome::Skipped => ("skipped", None),
    };
    ArtifactReport {
        name,
        status,
        error,
    }
}

pub(crate) fn mode_name(m: ArtifactMode) -> &'static str {
    match m {
        ArtifactMode::None => "none",
        ArtifactMode::Size => "size",
        ArtifactMode::Full => "full",
    }
}
