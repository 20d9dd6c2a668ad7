//! A mirror's lag over time, as the history computes it and charts show it: the one value
//! the history hands to renderers (the HTML report's lag chart).

use serde::Serialize;

/// One mirror (through one vantage) over the runs that observed it.
#[derive(Debug, Clone, Serialize)]
pub struct LagSeries {
    pub url: String,
    pub name: Option<String>,
    pub country: String,
    pub vantage: String,
    /// Oldest first.
    pub points: Vec<LagPoint>,
}

/// One observation of a mirror: how far behind the newest release known at that moment it
/// was.
#[derive(Debug, Clone, Serialize)]
pub struct LagPoint {
    /// Unix seconds of the run.
    pub at: i64,
    /// The newest valid version observed anywhere up to this run.
    pub latest_version: u64,
    /// What the mirror served (None when it served nothing valid).
    pub serving_version: Option<u64>,
    /// Seconds since `latest_version` was first seen anywhere, while this mirror did not
    /// serve it; at the first observation that finds it serving it, how long it took (as
    /// `history lag` reports it); 0 at later ones.
    pub lag_seconds: u64,
}
