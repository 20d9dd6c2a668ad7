//! Globalping vantages (`globalping:CC`): placeholder until the client lands (issue 10).

/// The probe that made a measurement, as it reports itself.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Probe {
    pub country: String,
    pub city: Option<String>,
    pub asn: Option<u64>,
    pub network: Option<String>,
}
