//! The run's report: the one value every renderer reads. [`Render`] turns it into the JSON
//! schema `mirrorproof.report/1` that scripts consume ([`Json`]), the table people read
//! ([`Human`]), JUnit XML for CI ([`Junit`]), Prometheus metrics for monitoring
//! ([`Prometheus`]) or one self-contained page ([`Html`]); a new format is one more
//! renderer.

mod html;
mod human;
mod json;
mod junit;
mod lag;
mod prometheus;

pub use html::Html;
pub use human::{DEFAULT_COLUMNS, Human};
pub use json::Json;
pub use junit::Junit;
pub use lag::{LagPoint, LagSeries};
pub use prometheus::Prometheus;

use std::collections::{BTreeMap, BTreeSet, HashMap};

use serde::Serialize;

pub use crate::run::Status;

pub const SCHEMA: &str = "mirrorproof.report/1";

#[derive(Debug, Clone, Serialize)]
pub struct Report {
    pub schema: &'static str,
    pub profile: String,
    pub channel: String,
    pub checked_at: String,
    pub ok: bool,
    pub independent: bool,
    pub latest: Option<LatestReport>,
    pub mirrors: Vec<MirrorReport>,
    pub countries: BTreeMap<String, CountryReport>,
    pub equivocations: Vec<EquivocationReport>,
    /// Extension: the signature scheme, for profiles not in the native format.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub scheme: Option<&'static str>,
    /// Extension: what this run could not judge and why (formats without versions,
    /// unsigned metadata); shown to people as well.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub notices: Vec<String>,
    /// Extension: the root that judged every mirror in this run (native scheme only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub root: Option<RootReport>,
    /// Extension: two different valid roots with the same version (root keys misbehaving).
    pub root_equivocations: Vec<EquivocationReport>,
    /// Extension: root rotation candidates that failed verification and were ignored.
    pub root_rejected: Vec<RejectedRoot>,
    /// Extension: how artifacts were checked (none, size, full).
    pub artifacts_mode: &'static str,
    /// The vantage points of the run (contract: present whenever vantages or
    /// `--each-address` are used), each `ok` or `degraded`.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub vantages: Vec<VantageReport>,
    /// Mirrors whose status differs between non-degraded vantages (or addresses);
    /// present with `vantages`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub targeted: Option<Vec<TargetedReport>>,
}

/// One vantage point of a run, and whether it could be relied on.
#[derive(Debug, Clone, Serialize)]
pub struct VantageReport {
    pub name: String,
    pub kind: crate::vantage::Kind,
    pub country: String,
    /// Extension: where the country claim comes from (configuration, tor-geoip, probe).
    pub country_source: crate::vantage::CountrySource,
    /// `ok`, or `degraded` when it could not reach most mirrors other vantages reached.
    pub status: VantageStatus,
    pub reason: Option<String>,
    /// Extension: the proxy, without its password.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub proxy: Option<String>,
    /// Extension: entries checked through it, and how many of them answered.
    pub entries: usize,
    pub reached: usize,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum VantageStatus {
    Ok,
    Degraded,
}

/// A mirror served differently depending on the vantage (or address) that asked.
#[derive(Debug, Clone, Serialize)]
pub struct TargetedReport {
    pub url: String,
    /// Status per vantage (`VANTAGE` or, with `--each-address`, `VANTAGE/ADDRESS`).
    pub statuses: BTreeMap<String, Status>,
}

#[derive(Debug, Clone, Serialize)]
pub struct LatestReport {
    pub version: u64,
    pub payload_sha256: String,
    /// Extension: publication time of the latest release (native scheme only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub published: Option<String>,
    /// Extension: how many of the release role's pinned keys signed it, and how many it has.
    pub signers: Vec<String>,
    pub release_keys: usize,
    /// Extension: true when this version was signed with more than one content, so
    /// `payload_sha256` is only one of them and no mirror serving it can be `ok`.
    pub equivocated: bool,
}

#[derive(Debug, Clone, Serialize)]
pub struct MirrorReport {
    pub url: String,
    pub country: String,
    /// Extension: the optional label from the profile.
    pub name: Option<String>,
    pub status: Status,
    pub version: Option<u64>,
    pub payload_sha256: Option<String>,
    pub signers: Vec<String>,
    /// Extension: publication time of the release this mirror serves.
    pub published: Option<String>,
    /// Extension: the newest verified version of each signed document behind the content
    /// (a TUF repository's roles: root, timestamp, snapshot, targets, delegated roles).
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub documents: BTreeMap<String, u64>,
    pub artifacts: Vec<ArtifactReport>,
    pub elapsed_ms: u64,
    pub error: Option<String>,
    /// The vantage this entry was checked through (runs with vantages).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub vantage: Option<String>,
    /// With `--each-address`: the address this entry was checked at.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub address: Option<String>,
    /// Extension: who carried this entry's requests when not this machine: the Tor exit
    /// relays (from Tor's control port), or the Globalping probe (a third party's view,
    /// not first hand).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub carried_by: Option<crate::vantage::Carrier>,
    /// Extension: the vantage could not look at what this entry asks for (a document
    /// larger than Globalping returns): its status says nothing about the mirror, and it
    /// takes no part in `targeted`.
    #[serde(skip_serializing_if = "is_false")]
    pub out_of_reach: bool,
}

#[derive(Debug, Clone, Serialize)]
pub struct ArtifactReport {
    pub name: String,
    pub status: &'static str,
    /// Extension: why it is not ok.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

#[derive(Debug, Clone, Default, Serialize)]
pub struct CountryReport {
    pub mirrors: usize,
    pub ok: usize,
    pub statuses: BTreeMap<Status, usize>,
}

#[derive(Debug, Clone, Serialize)]
pub struct EquivocationReport {
    /// Extension: the kind of signed document (a TUF role) when it is not the content
    /// mirrors are compared by.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub kind: Option<String>,
    pub version: u64,
    pub payload_sha256: Vec<String>,
    pub mirrors: Vec<String>,
    /// Extension: true when the local state holds one of the conflicting payloads.
    pub with_state: bool,
    /// Extension: the conflicting signed documents themselves (signed notes), so anyone
    /// can check the proof offline.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub evidence: Vec<String>,
    /// Extension: which mirrors serve which of the conflicting copies, one entry per
    /// digest in `payload_sha256` (absent where that is not known).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub copies: Vec<EquivocationCopy>,
    /// The vantages through which the conflicting copies were seen (runs with vantages):
    /// a country served its own signed release shows here.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub vantages: Vec<String>,
}

/// One of the conflicting copies of an equivocation, and who holds it.
#[derive(Debug, Clone, Serialize)]
pub struct EquivocationCopy {
    pub digest: String,
    /// The mirrors serving it (empty when only the local state holds it).
    pub mirrors: Vec<String>,
    /// True when the local state holds it.
    #[serde(skip_serializing_if = "is_false")]
    pub state: bool,
    /// The vantages through which this copy was seen (runs with vantages).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub vantages: Vec<String>,
}

fn is_false(b: &bool) -> bool {
    !*b
}

#[derive(Debug, Clone, Serialize)]
pub struct RootReport {
    pub version: u64,
    pub payload_sha256: String,
    pub expires: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct RejectedRoot {
    pub version: u64,
    pub mirror: String,
    pub error: String,
}

impl Report {
    /// A report with nothing in it yet (no latest release, no mirrors, not ok), for callers
    /// that fill it in themselves: other front ends, benchmarks and tests, which then name
    /// only the fields they mean.
    pub fn new(
        profile: impl Into<String>,
        channel: impl Into<String>,
        checked_at: impl Into<String>,
    ) -> Report {
        Report {
            schema: SCHEMA,
            profile: profile.into(),
            channel: channel.into(),
            checked_at: checked_at.into(),
            ok: false,
            independent: false,
            latest: None,
            mirrors: Vec::new(),
            countries: BTreeMap::new(),
            equivocations: Vec::new(),
            scheme: None,
            notices: Vec::new(),
            root: None,
            root_equivocations: Vec::new(),
            root_rejected: Vec::new(),
            artifacts_mode: "none",
            vantages: Vec::new(),
            targeted: None,
        }
    }

    /// Fills `countries`, `ok` and `independent` from the mirror list.
    pub fn summarise(&mut self) {
        let relied = crate::vantage::verdicts::judge(self);
        let mut countries: BTreeMap<String, CountryReport> = BTreeMap::new();
        for m in &self.mirrors {
            let c = countries.entry(m.country.clone()).or_default();
            c.mirrors += 1;
            if m.status == Status::Ok {
                c.ok += 1;
            }
            *c.statuses.entry(m.status).or_default() += 1;
        }
        let no_equivocation = self.equivocations.is_empty() && self.root_equivocations.is_empty();
        let targeted = self.targeted.as_ref().is_some_and(|t| !t.is_empty());
        // Entries seen through a degraded vantage, or that their vantage could not look at
        // (out of its reach), are shown, but decide neither verdict.
        let decisive = || {
            self.mirrors
                .iter()
                .zip(&relied)
                .filter(|(m, r)| **r && !m.out_of_reach)
                .map(|(m, _)| m)
        };
        self.ok = no_equivocation
            && !targeted
            && self.latest.is_some()
            && decisive().next().is_some()
            && decisive().all(|m| m.status == Status::Ok);
        let mut decided: BTreeMap<&str, CountryReport> = BTreeMap::new();
        for m in decisive() {
            let c = decided.entry(m.country.as_str()).or_default();
            c.mirrors += 1;
            if m.status == Status::Ok {
                c.ok += 1;
            }
            *c.statuses.entry(m.status).or_default() += 1;
        }
        let reachable_countries: Vec<&CountryReport> = decided
            .values()
            .filter(|c| c.statuses.get(&Status::Unreachable).copied().unwrap_or(0) < c.mirrors)
            .collect();
        self.independent = no_equivocation
            && !targeted
            && self.latest.is_some()
            && !reachable_countries.is_empty()
            && reachable_countries.iter().all(|c| c.ok > 0);
        self.countries = countries;
    }

    /// The JSON report (see [`Json`]).
    pub fn to_json(&self) -> String {
        Json.show(self)
    }

    /// The human report at 100 columns.
    pub fn render_human(&self) -> String {
        self.render_human_at(DEFAULT_COLUMNS)
    }

    /// The human report at `columns` (see [`Human`]).
    pub fn render_human_at(&self, columns: usize) -> String {
        Human {
            columns,
            color: false,
        }
        .show(self)
    }

    /// One or two sentences that state the independence verdict.
    pub fn summary(&self) -> String {
        let Some(latest) = &self.latest else {
            let n = self.mirrors.len();
            // "No mirror of 1 mirror" reads like a typo.
            let who = if n == 1 {
                "The only mirror does not serve".to_owned()
            } else {
                format!("No mirror of {n} mirrors serves")
            };
            let mut s = format!(
                "{who} a valid release for {}; nothing can be trusted from this run.",
                self.channel
            );
            if let Some(why) = self.offline() {
                s.push(' ');
                s.push_str(why);
            }
            return s;
        };
        if latest.equivocated {
            return match self.scheme {
                None => format!(
                    "Release {} exists with conflicting signed contents (equivocation by the release keys): no mirror serving it can be trusted. NOT independent.",
                    latest.version
                ),
                Some(_) => format!(
                    "Version {} exists with conflicting signed contents (a split view; for unsigned versions, possibly a replay by a mirror): no mirror serving it can be trusted. NOT independent.",
                    latest.version
                ),
            };
        }
        let ok_countries = self.countries.values().filter(|c| c.ok > 0).count();
        let ok_mirrors = self
            .mirrors
            .iter()
            .filter(|m| m.status == Status::Ok)
            .count();
        // With vantages, each mirror is checked once per vantage (and address): say so.
        let entries = if self.vantages.is_empty() {
            count(self.mirrors.len(), "mirror", "mirrors")
        } else {
            let urls: std::collections::BTreeSet<&str> =
                self.mirrors.iter().map(|m| m.url.as_str()).collect();
            format!(
                "{} ({} through {})",
                count(self.mirrors.len(), "check", "checks"),
                count(urls.len(), "mirror", "mirrors"),
                count(self.vantages.len(), "vantage", "vantages")
            )
        };
        let mut s = match self.scheme {
            None => format!(
                "{ok_mirrors} of {} in {ok_countries} of {} {} the same release {} signed by {} of {} pinned release keys",
                entries,
                count(self.countries.len(), "country", "countries"),
                plural(ok_mirrors, "serves", "serve"),
                latest.version,
                latest.signers.len(),
                latest.release_keys
            ),
            Some(scheme) => format!(
                "{ok_mirrors} of {} in {ok_countries} of {} {} the same {scheme}-signed content {}{} ({})",
                entries,
                count(self.countries.len(), "country", "countries"),
                plural(ok_mirrors, "serves", "serve"),
                latest
                    .payload_sha256
                    .get(..16)
                    .unwrap_or(&latest.payload_sha256),
                if latest.version > 0 {
                    format!(" at version {}", latest.version)
                } else {
                    String::new()
                },
                latest.signers.join(", ")
            ),
        };
        let mut problems = Vec::new();
        for (cc, c) in &self.countries {
            if c.ok > 0 {
                continue;
            }
            let what: Vec<String> = c
                .statuses
                .iter()
                .map(|(st, n)| {
                    if *n == 1 {
                        st.as_str().to_string()
                    } else {
                        format!("{n} {}", st.as_str())
                    }
                })
                .collect();
            let versions: BTreeMap<u64, ()> = self
                .mirrors
                .iter()
                .filter(|m| &m.country == cc)
                .filter_map(|m| m.version.map(|v| (v, ())))
                .collect();
            let served = match versions.keys().next_back() {
                Some(v) if *v < latest.version => format!("serves only {v}"),
                Some(_) => "has no mirror that passes".into(),
                None if self.scheme.is_some() => "has no mirror that passes".into(),
                None => "serves nothing valid".into(),
            };
            problems.push(format!("{cc} {served} ({})", what.join(", ")));
        }
        if !problems.is_empty() {
            s.push_str("; ");
            s.push_str(&problems.join("; "));
        }
        s.push('.');
        let targeted = self.targeted.as_ref().map_or(0, Vec::len);
        if targeted > 0 {
            s.push_str(&format!(
                " {} served differently depending on the vantage that asked (targeted).",
                count(targeted, "mirror is", "mirrors are")
            ));
        }
        let degraded: Vec<&str> = self
            .vantages
            .iter()
            .filter(|v| v.status == VantageStatus::Degraded)
            .map(|v| v.name.as_str())
            .collect();
        if !degraded.is_empty() {
            s.push_str(&format!(
                " Degraded (what it could not reach is not counted): vantage {}.",
                degraded.join(", ")
            ));
        }
        if self.independent {
            s.push_str(
                " Independent: a user in every reachable country gets the same verified release.",
            );
        } else if !self.equivocations.is_empty() || !self.root_equivocations.is_empty() {
            s.push_str(" NOT independent: the signing keys signed conflicting histories.");
        } else {
            s.push_str(" NOT independent: where you are decides what you get.");
        }
        s
    }
}

impl Report {
    /// When every mirror is an HTTP mirror that failed to connect or to resolve its name,
    /// the likely fault is this machine's network, not the mirrors: say so.
    fn offline(&self) -> Option<&'static str> {
        if self.mirrors.is_empty() {
            return None;
        }
        let mut all_dns = true;
        for m in &self.mirrors {
            let url = m.url.to_ascii_lowercase();
            if m.status != Status::Unreachable
                || !(url.starts_with("http://") || url.starts_with("https://"))
            {
                return None;
            }
            let reason = m.error.as_deref().unwrap_or("").to_ascii_lowercase();
            let dns = DNS_FAILURES.iter().any(|w| reason.contains(w));
            if !dns && !CONNECT_FAILURES.iter().any(|w| reason.contains(w)) {
                return None;
            }
            all_dns &= dns;
        }
        Some(if all_dns {
            "No mirror's host name could be resolved: this machine seems to be offline or cannot resolve names (check the network and DNS, or a proxy)."
        } else {
            "Every mirror failed to connect: this machine seems to be offline (check the network, a firewall or a proxy)."
        })
    }
}

/// The one readable cause in a network error's chain (`error sending request: client
/// error (Connect): tcp connect error: Connection refused (os error 111)` is "connection
/// refused"), for messages that have one line to say it in. Classified by the same words
/// as the report's offline note; a reason it does not know (a TLS failure, say) keeps its
/// own words, less the wrappers that say nothing.
pub fn network_cause(reason: &str) -> String {
    let lower = reason.to_ascii_lowercase();
    if DNS_FAILURES.iter().any(|w| lower.contains(w)) {
        return "the host name could not be resolved".into();
    }
    for plain in [
        "connection refused",
        "network is unreachable",
        "no route to host",
    ] {
        if lower.contains(plain) {
            return plain.into();
        }
    }
    let mut rest = reason;
    for wrapper in [
        "error sending request: ",
        "client error (Connect): ",
        "tcp connect error: ",
    ] {
        rest = rest.strip_prefix(wrapper).unwrap_or(rest);
    }
    if rest.trim().is_empty() {
        reason.to_owned()
    } else {
        rest.to_owned()
    }
}

/// Reasons (as reqwest and the OS word them) that mean a name did not resolve.
const DNS_FAILURES: &[&str] = &[
    "dns error",
    "failed to lookup address",
    "name or service not known",
    "temporary failure in name resolution",
    "no address associated",
];
/// Reasons that mean no connection could be made at all.
const CONNECT_FAILURES: &[&str] = &[
    "error trying to connect",
    "connection refused",
    "network is unreachable",
    "no route to host",
    "client error (connect)",
];

fn plural<'a>(n: usize, one: &'a str, many: &'a str) -> &'a str {
    if n == 1 { one } else { many }
}

fn count(n: usize, one: &str, many: &str) -> String {
    format!("{n} {}", plural(n, one, many))
}

impl VantageReport {
    /// The vantage's path in words that say what its country claim rests on (see
    /// [`crate::vantage::describe`]), as the human and HTML reports show it.
    fn path(&self) -> String {
        crate::vantage::describe(&crate::vantage::VantageSpec {
            name: self.name.clone(),
            kind: self.kind,
            proxy: self.proxy.clone(),
            country: self.country.clone(),
        })
    }
}

/// Mirror names by URL, and which vantages served which copy: both looked up per line of
/// the human report's and per row of the HTML report's equivocation and targeted
/// sections, so indexed once per report instead of searched each time.
struct Labels<'a> {
    names: HashMap<&'a str, &'a str>,
    served: HashMap<(&'a str, &'a str), Vec<&'a str>>,
}

impl<'a> Labels<'a> {
    fn new(mirrors: &'a [MirrorReport]) -> Labels<'a> {
        let mut names = HashMap::new();
        let mut served: HashMap<(&str, &str), Vec<&str>> = HashMap::new();
        for m in mirrors {
            if let Some(n) = &m.name {
                names.entry(m.url.as_str()).or_insert(n.as_str());
            }
            if let (Some(d), Some(v)) = (&m.payload_sha256, &m.vantage) {
                let through = served.entry((m.url.as_str(), d.as_str())).or_default();
                if !through.contains(&v.as_str()) {
                    through.push(v.as_str());
                }
            }
        }
        Labels { names, served }
    }

    fn name(&self, url: &str) -> Option<&'a str> {
        self.names.get(url).copied()
    }

    fn vantages_serving(&self, url: &str, digest: &str) -> Vec<&'a str> {
        let mut v = self.served.get(&(url, digest)).cloned().unwrap_or_default();
        v.sort_unstable();
        v
    }
}

/// The vantage an entry without one was checked through: this machine's own network, as
/// the contract names it.
pub const DIRECT: &str = "direct";

/// What every renderer that names or counts entries one by one reads from the finished
/// report, defined once here.
impl Report {
    /// What each entry of `mirrors` is called in reports that need one name per entry (a
    /// Prometheus label, a JUnit test case): the profile's name for the mirror when no
    /// other URL in the report carries the same name, else the URL. Entries of one mirror
    /// through several vantages share it; the vantage (and address) tells them apart.
    /// Should a profile list the same URL twice, the second copy is `URL #2` (and so on),
    /// so that no two entries of one vantage share a label set: Prometheus refuses a
    /// scrape with duplicate series.
    fn entry_names(&self) -> Vec<String> {
        let mut urls_of_name: BTreeMap<&str, BTreeSet<&str>> = BTreeMap::new();
        for m in &self.mirrors {
            if let Some(name) = m.name.as_deref().filter(|n| !n.is_empty()) {
                urls_of_name.entry(name).or_default().insert(m.url.as_str());
            }
        }
        let mut seen: BTreeMap<(String, &str, Option<&str>), usize> = BTreeMap::new();
        self.mirrors
            .iter()
            .map(|m| {
                let base = match m.name.as_deref().filter(|n| !n.is_empty()) {
                    Some(name) if urls_of_name.get(name).is_some_and(|u| u.len() == 1) => {
                        name.to_owned()
                    }
                    _ => m.url.clone(),
                };
                let n = seen
                    .entry((
                        base.clone(),
                        m.vantage.as_deref().unwrap_or(DIRECT),
                        m.address.as_deref(),
                    ))
                    .or_default();
                *n += 1;
                if *n == 1 {
                    base
                } else {
                    format!("{base} #{n}")
                }
            })
            .collect()
    }

    /// Per entry of `mirrors`, whether it takes part in the run's verdict: not when its
    /// vantage could not look at what it asks for (out of reach), nor when it is
    /// unreachable through a vantage that is degraded (the path is broken, not the
    /// mirror). The same rule as the report's own verdict (`vantage::verdicts::judge`),
    /// read back from the finished report; the degraded vantages are gathered once, not
    /// searched per entry (a merge may hold thousands of vantages).
    fn decisive(&self) -> Vec<bool> {
        let degraded: BTreeSet<&str> = self
            .vantages
            .iter()
            .filter(|v| v.status == VantageStatus::Degraded)
            .map(|v| v.name.as_str())
            .collect();
        self.mirrors
            .iter()
            .map(|m| {
                !m.out_of_reach
                    && (m.status != Status::Unreachable
                        || m.vantage.as_deref().is_none_or(|v| !degraded.contains(v)))
            })
            .collect()
    }
}

/// Every format a report can be written in (`--format`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Human,
    Json,
    Junit,
    Prometheus,
    Html,
}

/// One way of showing a report.
pub trait Render {
    fn render(&self, report: &Report, out: &mut dyn std::io::Write) -> std::io::Result<()>;

    /// The rendering as a string; every renderer writes UTF-8.
    fn show(&self, report: &Report) -> String {
        let mut out = Vec::new();
        // Writing into a Vec cannot fail.
        let _ = self.render(report, &mut out);
        String::from_utf8_lossy(&out).into_owned()
    }
}

#[cfg(test)]
mod tests {
    use super::network_cause;

    #[test]
    fn network_causes_are_one_readable_phrase() {
        assert_eq!(
            network_cause(
                "error sending request: client error (Connect): tcp connect error: Connection refused (os error 111)"
            ),
            "connection refused"
        );
        assert_eq!(
            network_cause(
                "error sending request: client error (Connect): dns error: error resolving DNS: failed to lookup address information: Name or service not known"
            ),
            "the host name could not be resolved"
        );
        // Unknown causes keep their words, without the wrappers.
        assert_eq!(
            network_cause(
                "error sending request: client error (Connect): invalid peer certificate: UnknownIssuer"
            ),
            "invalid peer certificate: UnknownIssuer"
        );
        assert_eq!(network_cause("proxy x: bad"), "proxy x: bad");
        assert_eq!(
            network_cause("error sending request: "),
            "error sending request: "
        );
    }
}
