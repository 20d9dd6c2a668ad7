//! Managed Tor vantages (`tor:CC`): placeholder until the manager lands (issue 10).

/// The exit relay that carried an entry's streams.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct ExitRelay {
    pub fingerprint: String,
    pub nickname: String,
    pub address: String,
    pub country: Option<String>,
}
