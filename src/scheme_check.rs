//! `check` of a signed-file profile (signify, minisign, sshsig, note), as callers knew it
//! before the one pipeline ([`crate::run`]): a thin front to [`run::check`] with
//! [`Files`], kept so the command line and tests need no change.

use std::sync::Arc;

use crate::evidence::EvidenceDir;
use crate::profile::{Mirror, SignedSource};
use crate::report::Report;
use crate::run::{self, CheckError, CheckOptions};
use crate::schemes::files::Files;
use crate::schemes::pinned::Pinned;

pub use crate::schemes::files::{
    LatestSigned, MAX_LISTED_ARTIFACT_BYTES, listed_artifact, load_pinned, parse_update_metadata,
};

/// What a run produced: the report, and whether each mirror served any file (the files
/// themselves went to the evidence directory as they arrived, see [`run_with_evidence`]).
#[derive(Debug)]
pub struct SchemeOutcome {
    pub report: Report,
    pub state_written: bool,
    /// As [`crate::check::Outcome::state_error`].
    pub state_error: Option<crate::state::StateError>,
    pub served: Vec<(Mirror, bool)>,
    /// What the latest signed content vouches for, for `verify PROFILE FILE...`.
    pub latest: Option<LatestSigned>,
}

/// Runs a whole check for a signed-file profile; blocking.
pub fn run(
    profile_name: &str,
    pinned: Pinned,
    source: SignedSource,
    mirrors: Vec<Mirror>,
    opts: CheckOptions,
) -> Result<SchemeOutcome, CheckError> {
    run_with_evidence(profile_name, pinned, source, mirrors, opts, None)
}

/// [`run()`], writing every file each mirror serves into `evidence` as it arrives, under the
/// mirror's directory; the caller completes the bundle with
/// [`EvidenceDir::finish_signed`].
pub fn run_with_evidence(
    profile_name: &str,
    pinned: Pinned,
    source: SignedSource,
    mirrors: Vec<Mirror>,
    opts: CheckOptions,
    evidence: Option<Arc<EvidenceDir>>,
) -> Result<SchemeOutcome, CheckError> {
    let files = Files::new(pinned, source, profile_name, &opts);
    let out = run::check(files, profile_name, mirrors, opts, evidence)?;
    Ok(SchemeOutcome {
        report: out.report,
        state_written: out.state_written,
        state_error: out.state_error,
        served: out.served,
        latest: out.latest,
    })
}
