//! Prometheus' text exposition format (`--format prometheus`), for node_exporter's textfile
//! collector: a monitoring system that already scrapes node_exporter alerts on a mirror
//! that stops being `ok` without a new exporter to run.
//!
//! The contract's families (CLI.md "Report formats and history") come first, then the
//! extensions. Every family is one gauge: the file is a snapshot of one run, rewritten by
//! the next, so nothing here counts up. No sample carries a timestamp, because the textfile
//! collector refuses files that do; `mirrorproof_check_timestamp_seconds` says when the run
//! was, which is what an alert on a check that stopped running needs.
//!
//! Label values are text from outside (mirror names and URLs from a profile, or from other
//! machines' evidence bundles in `merge`): they go through [`crate::text::shown`] first, so
//! a `.prom` file shown in a terminal cannot move the cursor or reorder text, then through
//! the format's own escapes (backslash, double quote, line feed).

use std::fmt::Write as _;

use super::{DIRECT, MirrorReport, Render, Report, Status, VantageStatus};
use crate::text::shown;

/// Every status a mirror can have, in the order `mirrorproof_mirror_status` lists them.
const STATUSES: [Status; 9] = [
    Status::Ok,
    Status::Stale,
    Status::Rollback,
    Status::Expired,
    Status::Equivocating,
    Status::Invalid,
    Status::Corrupt,
    Status::Incomplete,
    Status::Unreachable,
];

/// The report as Prometheus text exposition format (version 0.0.4).
#[derive(Debug, Clone, Copy)]
pub struct Prometheus;

impl Render for Prometheus {
    fn render(&self, report: &Report, out: &mut dyn std::io::Write) -> std::io::Result<()> {
        out.write_all(exposition(report).as_bytes())
    }
}

/// A label value: shown safely, then escaped as the exposition format requires.
fn label_value(s: &str) -> String {
    let s = shown(s);
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '"' => out.push_str("\\\""),
            '\n' => out.push_str("\\n"),
            c => out.push(c),
        }
    }
    out
}

/// One metric family being written: its `# HELP` and `# TYPE` lines, then its samples.
struct Family<'o> {
    out: &'o mut String,
    name: &'static str,
}

impl<'o> Family<'o> {
    fn start(out: &'o mut String, name: &'static str, help: &str) -> Family<'o> {
        // HELP texts are ours: no backslash or line feed to escape.
        let _ = writeln!(out, "# HELP {name} {help}");
        let _ = writeln!(out, "# TYPE {name} gauge");
        Family { out, name }
    }

    fn sample(&mut self, labels: &[(&str, &str)], value: impl std::fmt::Display) {
        self.out.push_str(self.name);
        self.out.push('{');
        for (i, (k, v)) in labels.iter().enumerate() {
            if i > 0 {
                self.out.push(',');
            }
            let _ = write!(self.out, "{k}=\"{}\"", label_value(v));
        }
        let _ = writeln!(self.out, "}} {value}");
    }
}

fn flag(b: bool) -> u8 {
    u8::from(b)
}

/// The whole exposition: a dozen lines per report entry (nine of them the status family,
/// which says 1 or 0 for each status), and a few for the run.
pub(super) fn exposition(report: &Report) -> String {
    let names = report.entry_names();
    let decisive = report.decisive();
    let mut out = String::with_capacity(256 + report.mirrors.len() * 1200);
    let profile = report.profile.as_str();
    // The labels of each entry, in the contract's order; `address` (an extension) only
    // with `--each-address`.
    let entries: Vec<(Vec<(&str, &str)>, &MirrorReport)> = report
        .mirrors
        .iter()
        .zip(&names)
        .map(|(m, name)| {
            let mut labels = vec![
                ("profile", profile),
                ("mirror", name.as_str()),
                ("country", m.country.as_str()),
                ("vantage", m.vantage.as_deref().unwrap_or(DIRECT)),
            ];
            if let Some(a) = m.address.as_deref() {
                labels.push(("address", a));
            }
            (labels, m)
        })
        .collect();
    let run = [("profile", profile)];

    let mut f = Family::start(
        &mut out,
        "mirrorproof_mirror_ok",
        "1 when the mirror served the latest release, intact, through this vantage; 0 otherwise.",
    );
    for (labels, m) in &entries {
        f.sample(labels, flag(m.status == Status::Ok));
    }

    let mut f = Family::start(
        &mut out,
        "mirrorproof_mirror_status",
        "1 for the mirror's status through this vantage, 0 for each other status.",
    );
    for (labels, m) in &entries {
        for status in STATUSES {
            let mut l = labels.clone();
            l.push(("status", status.as_str()));
            f.sample(&l, flag(m.status == status));
        }
    }

    if let Some(latest) = &report.latest {
        let mut f = Family::start(
            &mut out,
            "mirrorproof_latest_version",
            "The newest validly signed version any mirror served.",
        );
        f.sample(&run, latest.version);
    }

    let mut f = Family::start(
        &mut out,
        "mirrorproof_independent",
        "1 when a user in every reachable country gets the same verified release.",
    );
    f.sample(&run, flag(report.independent));

    if let Ok(at) = crate::time::parse(&report.checked_at) {
        let mut f = Family::start(
            &mut out,
            "mirrorproof_check_timestamp_seconds",
            "When the check ran, in Unix seconds.",
        );
        f.sample(&run, at.timestamp());
    }

    // Extensions.
    let mut f = Family::start(
        &mut out,
        "mirrorproof_ok",
        "Extension: 1 when the run passed (exit code 0), 0 when it failed (exit code 1).",
    );
    f.sample(&run, flag(report.ok));

    let mut f = Family::start(
        &mut out,
        "mirrorproof_mirror_decisive",
        "Extension: 1 when the entry takes part in the verdict; 0 when its vantage could not look at it or is degraded and could not reach it.",
    );
    for ((labels, _), decisive) in entries.iter().zip(&decisive) {
        f.sample(labels, flag(*decisive));
    }

    if entries.iter().any(|(_, m)| m.version.is_some()) {
        let mut f = Family::start(
            &mut out,
            "mirrorproof_mirror_version",
            "Extension: the validly signed version the mirror served through this vantage (absent when none).",
        );
        for (labels, m) in &entries {
            if let Some(v) = m.version {
                f.sample(labels, v);
            }
        }
    }

    let mut f = Family::start(
        &mut out,
        "mirrorproof_equivocations",
        "Extension: how many versions were signed with conflicting contents (releases and roots).",
    );
    f.sample(
        &run,
        report.equivocations.len() + report.root_equivocations.len(),
    );

    if let Some(targeted) = &report.targeted {
        let mut f = Family::start(
            &mut out,
            "mirrorproof_targeted_mirrors",
            "Extension: mirrors whose status differs between vantages that are not degraded.",
        );
        f.sample(&run, targeted.len());
    }

    if !report.vantages.is_empty() {
        let mut f = Family::start(
            &mut out,
            "mirrorproof_vantage_degraded",
            "Extension: 1 when the vantage could not reach most mirrors other vantages reached.",
        );
        for v in &report.vantages {
            f.sample(
                &[("profile", profile), ("vantage", v.name.as_str())],
                flag(v.status == VantageStatus::Degraded),
            );
        }
    }
    out
}

#[cfg(test)]
pub(super) mod tests {
    use super::*;
    use crate::report::{LatestReport, VantageReport};
    use crate::vantage::{CountrySource, Kind};

    pub(in crate::report) fn entry(
        url: &str,
        vantage: &str,
        address: Option<&str>,
        status: Status,
    ) -> MirrorReport {
        MirrorReport {
            url: url.into(),
            country: "FR".into(),
            name: Some("m".into()),
            status,
            version: (status == Status::Ok).then_some(7),
            payload_sha256: None,
            signers: Vec::new(),
            published: None,
            documents: Default::default(),
            artifacts: Vec::new(),
            elapsed_ms: 3,
            error: (status != Status::Ok).then(|| "why".to_owned()),
            vantage: Some(vantage.into()),
            address: address.map(Into::into),
            carried_by: None,
            out_of_reach: false,
        }
    }

    fn vantage(name: &str, status: VantageStatus) -> VantageReport {
        VantageReport {
            name: name.into(),
            kind: Kind::Proxy,
            country: "FR".into(),
            country_source: CountrySource::Configuration,
            status,
            reason: (status == VantageStatus::Degraded).then(|| "could not reach".to_owned()),
            proxy: None,
            entries: 0,
            reached: 0,
        }
    }

    /// One mirror at two addresses through `here`, the same through a degraded vantage
    /// `broken` (unreachable), and one entry out of its vantage's reach.
    pub(in crate::report) fn report() -> Report {
        let mut out_of_reach = entry("https://m/", "probe", None, Status::Unreachable);
        out_of_reach.out_of_reach = true;
        Report {
            ok: true,
            independent: true,
            latest: Some(LatestReport {
                version: 7,
                payload_sha256: "00".into(),
                published: None,
                signers: Vec::new(),
                release_keys: 3,
                equivocated: false,
            }),
            mirrors: vec![
                entry("https://m/", "here", Some("192.0.2.1"), Status::Ok),
                entry("https://m/", "here", Some("2001:db8::1"), Status::Ok),
                entry("https://m/", "broken", None, Status::Unreachable),
                out_of_reach,
            ],
            artifacts_mode: "full",
            vantages: vec![
                vantage("here", VantageStatus::Ok),
                vantage("broken", VantageStatus::Degraded),
                vantage("probe", VantageStatus::Ok),
            ],
            targeted: Some(Vec::new()),
            ..Report::new("p", "stable", "2026-11-22T14:00:00Z")
        }
    }

    #[test]
    fn addresses_are_labels_and_entries_that_decide_nothing_say_so() {
        let text = exposition(&report());
        for line in [
            "mirrorproof_mirror_ok{profile=\"p\",mirror=\"m\",country=\"FR\",vantage=\"here\",address=\"192.0.2.1\"} 1\n",
            "mirrorproof_mirror_ok{profile=\"p\",mirror=\"m\",country=\"FR\",vantage=\"here\",address=\"2001:db8::1\"} 1\n",
            "mirrorproof_mirror_decisive{profile=\"p\",mirror=\"m\",country=\"FR\",vantage=\"here\",address=\"2001:db8::1\"} 1\n",
            "mirrorproof_mirror_decisive{profile=\"p\",mirror=\"m\",country=\"FR\",vantage=\"broken\"} 0\n",
            "mirrorproof_mirror_decisive{profile=\"p\",mirror=\"m\",country=\"FR\",vantage=\"probe\"} 0\n",
            "mirrorproof_vantage_degraded{profile=\"p\",vantage=\"broken\"} 1\n",
            "mirrorproof_vantage_degraded{profile=\"p\",vantage=\"here\"} 0\n",
            "mirrorproof_targeted_mirrors{profile=\"p\"} 0\n",
            "mirrorproof_check_timestamp_seconds{profile=\"p\"} 1795356000\n",
        ] {
            assert!(text.contains(line), "{line} in:\n{text}");
        }
        // Two addresses of one mirror through one vantage are two series, not one label
        // set twice.
        assert_eq!(report().entry_names(), ["m", "m", "m", "m"]);
    }

    #[test]
    fn label_values_are_escaped_and_shown_safely() {
        assert_eq!(label_value("plain"), "plain");
        assert_eq!(label_value(r#"a"b\c"#), r#"a\"b\\c"#);
        // A line feed is shown as `\n` first, whose backslash the format then escapes:
        // the label reads back as the two characters `\n`, never a raw line break.
        assert_eq!(label_value("a\nb"), r"a\\nb");
        assert_eq!(label_value("x\u{202e}y\u{1b}"), r"x\\u{202e}y\\u{1b}");
        assert_eq!(label_value("日本"), "日本");
    }
}
