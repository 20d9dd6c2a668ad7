//! `check` of a native profile, as callers knew it before the one pipeline ([`crate::run`]):
//! a thin front to [`run::check`] with [`Native`], kept so the command line and tests need
//! no change. New callers use [`crate::run`] directly.

use std::sync::Arc;

use crate::envelope::Envelope;
use crate::evidence::EvidenceDir;
use crate::profile::Mirror;
use crate::release::Release;
use crate::report::Report;
use crate::root::TrustedRoot;
use crate::run;
use crate::schemes::native::Native;
use crate::state::StateError;

pub use crate::run::{CheckError, CheckOptions};
pub use crate::schemes::native::{load_pinned_root, observe_release};

/// What a run produced: the report, and the latest release for callers that go on to use
/// it (such as `verify`).
#[derive(Debug)]
pub struct Outcome {
    pub report: Report,
    pub latest: Option<Release>,
    /// Set when the run recorded a new version in the local state.
    pub state_written: bool,
    /// Set when the run should have recorded a new version but could not write the state:
    /// the report is whole all the same, and the caller says so after showing it.
    pub state_error: Option<StateError>,
    /// The bytes behind the verdicts, for auditors who keep them.
    pub evidence: Evidence,
}

/// Exactly what the run judged: the pinned root, the rotations it accepted, and whether
/// each mirror served a release document. The documents themselves went to the evidence
/// directory as they arrived (see [`run_with_evidence`]); none is kept in memory.
#[derive(Debug)]
pub struct Evidence {
    pub pinned: Envelope,
    pub pinned_version: u64,
    pub rotations: Vec<(u64, Envelope)>,
    pub served: Vec<(Mirror, bool)>,
}

/// Runs a whole check; blocking.
pub fn run(
    scheme: &str,
    profile_name: &str,
    pinned: TrustedRoot,
    mirrors: Vec<Mirror>,
    opts: CheckOptions,
) -> Result<Outcome, CheckError> {
    run_with_evidence(scheme, profile_name, pinned, mirrors, opts, None)
}

/// [`run()`], writing each mirror's release document into `evidence` as it arrives; the
/// caller completes the bundle with [`EvidenceDir::finish_native`].
pub fn run_with_evidence(
    scheme: &str,
    profile_name: &str,
    pinned: TrustedRoot,
    mirrors: Vec<Mirror>,
    opts: CheckOptions,
    evidence: Option<Arc<EvidenceDir>>,
) -> Result<Outcome, CheckError> {
    if scheme != "native" {
        return Err(CheckError::Scheme(scheme.to_owned()));
    }
    let native = Native::new(pinned, &opts);
    let out = run::check(native, profile_name, mirrors, opts, evidence)?;
    Ok(Outcome {
        report: out.report,
        latest: out.latest.release,
        state_written: out.state_written,
        state_error: out.state_error,
        evidence: Evidence {
            pinned: out.latest.pinned,
            pinned_version: out.latest.pinned_version,
            rotations: out.latest.rotations,
            served: out.served,
        },
    })
}
