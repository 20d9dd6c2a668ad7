//! The record stage: the local state moves forward to the run's latest, once, and only
//! when the judge found nothing that holds it back ([`Audit::hold`]).

use crate::report::{EquivocationReport, Report};
use crate::run::judge::{Audit, Hold};
use crate::state::{Advance, ChannelState, StateError, StateStore};
use crate::time::{self, Timestamp};

/// What the record stage did.
#[derive(Debug, Default)]
pub(crate) struct Recorded {
    pub written: bool,
    pub error: Option<StateError>,
}

/// Says in the report why the state is held back, then records the latest if it is newer
/// than the state this run started from.
pub(crate) fn record(
    store: Option<&StateStore>,
    key: &str,
    channel: &str,
    state: Option<&ChannelState>,
    audit: &Audit,
    now: Timestamp,
    report: &mut Report,
) -> Recorded {
    if let Some(Hold::Notice(why)) = &audit.hold {
        report.notices.push(why.clone());
    }
    let mut out = Recorded::default();
    if let (Some(store), Some(latest)) = (store, &audit.latest)
        && let Some(version) = latest.version
        && audit.hold.is_none()
        && state.is_none_or(|s| version > s.version)
    {
        match record_latest(
            store,
            key,
            channel,
            version,
            &latest.payload_sha256,
            now,
            report,
        ) {
            Ok(written) => out.written = written,
            Err(e) => out.error = Some(e),
        }
    }
    out
}

/// Records a run's latest version in the state. A version that another run recorded
/// meanwhile with other contents is an equivocation, added to the report; a failed write is
/// returned for the caller to report after the report (which stays whole).
fn record_latest(
    store: &StateStore,
    key: &str,
    channel: &str,
    version: u64,
    payload_sha256: &str,
    now: Timestamp,
    report: &mut Report,
) -> Result<bool, StateError> {
    let advance = store.advance(
        key,
        channel,
        &ChannelState {
            version,
            payload_sha256: payload_sha256.to_owned(),
            updated: time::format(&now),
        },
    )?;
    match advance {
        Advance::Written => Ok(true),
        Advance::NotNewer => Ok(false),
        Advance::Conflict(recorded) => {
            report.equivocations.push(EquivocationReport {
                kind: None,
                version,
                payload_sha256: vec![recorded.payload_sha256, payload_sha256.to_owned()],
                mirrors: Vec::new(),
                with_state: true,
                evidence: Vec::new(),
                copies: Vec::new(),
                vantages: Vec::new(),
            });
            if let Some(l) = report.latest.as_mut() {
                l.equivocated = true;
            }
            report.summarise();
            Ok(false)
        }
    }
}
