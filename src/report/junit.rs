//! JUnit XML (`--format junit`) for CI systems: one test case per mirror (per vantage), one
//! test suite per country, a failure with the status and reason for every status other
//! than `ok`, so that a CI job that publishes the file shows which mirror failed and why.
//!
//! What the contract leaves open is decided here, and in docs/REPORTS.md:
//! - An entry that decides nothing (its vantage could not look at it, or it is unreachable
//!   through a degraded vantage) is `<skipped>`, with its status and why it is not counted:
//!   a broken path is not a broken mirror, and the run's verdict does not count it either.
//! - The run's own verdict is a test suite `run` whose test cases fail when the run fails,
//!   whatever the entries say: `latest release` (no mirror served a valid release),
//!   `no equivocation` (conflicting signed contents), `no targeted mirror` (runs with
//!   vantages), one `vantage NAME` per vantage (skipped when degraded) and `verdict`, which
//!   fails exactly when the run exits 1. A CI system that reads only the XML fails the job
//!   whenever mirrorproof does.
//!
//! Every string from outside (names, URLs, reasons, countries from a bundle) goes through
//! [`crate::text::shown`], and the two characters XML 1.0 cannot carry that it leaves
//! (U+FFFE, U+FFFF) are escaped the same way, so the file stays well-formed and shows
//! nothing raw.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::time::Duration;

use quick_junit::{NonSuccessKind, Property, TestCase, TestCaseStatus, TestSuite};

use super::{DIRECT, MirrorReport, Render, Report, Status, VantageStatus, count};
use crate::text::shown;

/// How many items (artifacts, mirrors, digests) a failure's description lists before it
/// says how many more there are: the file stays readable, and its size follows the number
/// of entries, not the length of a hostile list.
const LIST_LIMIT: usize = 20;

/// The name of the test suite that holds the run's own verdict (a country is two letters).
const RUN_SUITE: &str = "run";

/// The report as JUnit XML.
#[derive(Debug, Clone, Copy)]
pub struct Junit;

impl Render for Junit {
    fn render(&self, report: &Report, out: &mut dyn std::io::Write) -> std::io::Result<()> {
        let xml = junit(report)
            .to_string()
            .map_err(|e| std::io::Error::other(e.to_string()))?;
        out.write_all(xml.as_bytes())
    }
}

/// Text from outside, as XML 1.0 can carry it and a terminal can show it.
fn xml(s: &str) -> String {
    let shown = shown(s);
    if !shown.contains(['\u{fffe}', '\u{ffff}']) {
        return shown.into_owned();
    }
    shown
        .replace('\u{fffe}', "\\u{fffe}")
        .replace('\u{ffff}', "\\u{ffff}")
}

/// `items` one per line, at most [`LIST_LIMIT`] of them.
fn bounded_list<'a>(items: impl ExactSizeIterator<Item = &'a str>) -> String {
    let total = items.len();
    let mut out = String::new();
    for item in items.take(LIST_LIMIT) {
        let _ = writeln!(out, "  {}", xml(item));
    }
    if total > LIST_LIMIT {
        let _ = writeln!(out, "  ... and {} more", total - LIST_LIMIT);
    }
    out
}

fn failure(ty: &str, message: &str, description: &str) -> TestCaseStatus {
    let mut status = TestCaseStatus::non_success(NonSuccessKind::Failure);
    status.set_type(ty).set_message(message);
    if !description.is_empty() {
        status.set_description(description);
    }
    status
}

fn skipped(message: &str) -> TestCaseStatus {
    let mut status = TestCaseStatus::skipped();
    status.set_message(message);
    status
}

/// The whole JUnit document: the `run` suite first (what failed the run), then one suite
/// per country in alphabetical order.
pub(super) fn junit(report: &Report) -> quick_junit::Report {
    let profile = xml(&report.profile);
    let mut doc = quick_junit::Report::new(format!("mirrorproof {profile}"));
    let at = crate::time::parse(&report.checked_at)
        .ok()
        .map(|t| t.fixed_offset());
    if let Some(at) = at {
        doc.set_timestamp(at);
    }
    let mut run = run_suite(report, &profile);
    if let Some(at) = at {
        run.set_timestamp(at);
    }
    doc.add_test_suite(run);

    let names = report.entry_names();
    let decisive = report.decisive();
    let mut countries: BTreeMap<String, TestSuite> = BTreeMap::new();
    for ((m, name), decisive) in report.mirrors.iter().zip(&names).zip(decisive) {
        let country = xml(&m.country);
        let suite = countries.entry(country.clone()).or_insert_with(|| {
            let mut s = TestSuite::new(country.as_str());
            if let Some(at) = at {
                s.set_timestamp(at);
            }
            s
        });
        let mut case = TestCase::new(
            case_name(report, m, name),
            entry_status(report, m, decisive),
        );
        case.set_classname(format!("{profile}.{country}"))
            .set_time(Duration::from_millis(m.elapsed_ms))
            .add_property(Property::new("url", xml(&m.url)))
            .add_property(Property::new("status", m.status.as_str()))
            .add_property(Property::new(
                "vantage",
                xml(m.vantage.as_deref().unwrap_or(DIRECT)),
            ));
        if let Some(v) = m.version {
            case.add_property(Property::new("version", v.to_string()));
        }
        suite.add_test_case(case);
    }
    doc.add_test_suites(countries.into_values());
    doc
}

/// `NAME` without vantages, `NAME [VANTAGE]` with them (`[VANTAGE/ADDRESS]` with
/// `--each-address`), as the human report labels entries.
fn case_name(report: &Report, m: &MirrorReport, name: &str) -> String {
    let name = xml(name);
    match (&m.vantage, &m.address) {
        (Some(v), Some(a)) => format!("{name} [{}/{}]", xml(v), xml(a)),
        (Some(v), None) => format!("{name} [{}]", xml(v)),
        (None, Some(a)) => format!("{name} [{}]", xml(a)),
        (None, None) if !report.vantages.is_empty() => format!("{name} [{DIRECT}]"),
        (None, None) => name,
    }
}

/// A test case's status; `decisive` is the entry's [`Report::decisive`].
fn entry_status(report: &Report, m: &MirrorReport, decisive: bool) -> TestCaseStatus {
    let reason = m.error.as_deref().map(xml);
    if !decisive {
        let why = if m.out_of_reach {
            "its vantage could not look at what it asks for".to_owned()
        } else {
            format!(
                "vantage {} is degraded",
                xml(m.vantage.as_deref().unwrap_or(DIRECT))
            )
        };
        let mut message = format!("{} (decides nothing: {why})", m.status.as_str());
        if let Some(r) = &reason {
            let _ = write!(message, ": {r}");
        }
        return skipped(&message);
    }
    if m.status == Status::Ok {
        return TestCaseStatus::success();
    }
    let message = format!(
        "{}: {}",
        m.status.as_str(),
        reason.as_deref().unwrap_or("no reason given")
    );
    let mut description = format!("url: {}\n", xml(&m.url));
    let _ = writeln!(description, "country: {}", xml(&m.country));
    if let Some(v) = &m.vantage {
        let _ = writeln!(description, "vantage: {}", xml(v));
    }
    if let Some(a) = &m.address {
        let _ = writeln!(description, "address: {}", xml(a));
    }
    match m.version {
        Some(v) => {
            let _ = writeln!(description, "served version: {v}");
        }
        None => description.push_str("served version: none valid\n"),
    }
    if let Some(latest) = &report.latest {
        let _ = writeln!(description, "latest version: {}", latest.version);
    }
    let bad: Vec<String> = m
        .artifacts
        .iter()
        .filter(|a| a.status != "ok" && a.status != "skipped")
        .map(|a| match &a.error {
            Some(e) => format!("{}: {}: {e}", a.name, a.status),
            None => format!("{}: {}", a.name, a.status),
        })
        .collect();
    if !bad.is_empty() {
        description.push_str("artifacts:\n");
        description.push_str(&bounded_list(bad.iter().map(String::as_str)));
    }
    failure(m.status.as_str(), &message, &description)
}

/// The run's verdict as test cases: what fails the run fails one of them.
fn run_suite(report: &Report, profile: &str) -> TestSuite {
    let classname = format!("{profile}.{RUN_SUITE}");
    let mut suite = TestSuite::new(RUN_SUITE);
    suite
        .add_property(Property::new("profile", profile))
        .add_property(Property::new("channel", xml(&report.channel)))
        .add_property(Property::new("checked_at", xml(&report.checked_at)))
        .add_property(Property::new("ok", report.ok.to_string()))
        .add_property(Property::new("independent", report.independent.to_string()));
    if let Some(latest) = &report.latest {
        suite.add_property(Property::new("latest_version", latest.version.to_string()));
    }
    let mut cases = Vec::new();

    let latest = match &report.latest {
        Some(_) => TestCaseStatus::success(),
        None => failure(
            "no-latest",
            &format!(
                "no mirror served a valid release for channel {}",
                xml(&report.channel)
            ),
            "",
        ),
    };
    cases.push(TestCase::new("latest release", latest));

    let equivocations: Vec<String> = report
        .equivocations
        .iter()
        .map(|e| ("release", e))
        .chain(report.root_equivocations.iter().map(|e| ("root", e)))
        .map(|(what, e)| {
            let kind = e.kind.as_deref().map_or(what.to_owned(), xml);
            let mut line = format!(
                "{kind} version {} signed with {} contents ({}), served by {}",
                e.version,
                e.payload_sha256.len(),
                e.payload_sha256
                    .iter()
                    .take(LIST_LIMIT)
                    .map(|d| xml(d))
                    .collect::<Vec<_>>()
                    .join(", "),
                e.mirrors
                    .iter()
                    .take(LIST_LIMIT)
                    .map(|u| xml(u))
                    .collect::<Vec<_>>()
                    .join(", "),
            );
            if e.mirrors.len() > LIST_LIMIT {
                let _ = write!(line, " and {} more", e.mirrors.len() - LIST_LIMIT);
            }
            if !e.vantages.is_empty() {
                let _ = write!(
                    line,
                    " through {}",
                    e.vantages
                        .iter()
                        .take(LIST_LIMIT)
                        .map(|v| xml(v))
                        .collect::<Vec<_>>()
                        .join(", ")
                );
            }
            line
        })
        .collect();
    let equivocation = if equivocations.is_empty() {
        TestCaseStatus::success()
    } else {
        failure(
            "equivocation",
            &format!(
                "{} signed with conflicting contents: the signing keys signed two histories",
                count(equivocations.len(), "version was", "versions were")
            ),
            &bounded_list(equivocations.iter().map(String::as_str)),
        )
    };
    cases.push(TestCase::new("no equivocation", equivocation));

    if let Some(targeted) = &report.targeted {
        let status = if targeted.is_empty() {
            TestCaseStatus::success()
        } else {
            let lines: Vec<String> = targeted
                .iter()
                .map(|t| {
                    let statuses: Vec<String> = t
                        .statuses
                        .iter()
                        .take(LIST_LIMIT)
                        .map(|(v, s)| format!("{}: {}", xml(v), s.as_str()))
                        .collect();
                    format!("{} ({})", xml(&t.url), statuses.join(", "))
                })
                .collect();
            failure(
                "targeted",
                &format!(
                    "{} served differently depending on the vantage that asked",
                    count(targeted.len(), "mirror is", "mirrors are")
                ),
                &bounded_list(lines.iter().map(String::as_str)),
            )
        };
        cases.push(TestCase::new("no targeted mirror", status));
    }

    for v in &report.vantages {
        let status = match v.status {
            VantageStatus::Ok => TestCaseStatus::success(),
            VantageStatus::Degraded => skipped(&format!(
                "degraded: {}",
                v.reason.as_deref().map(xml).unwrap_or_default()
            )),
        };
        cases.push(TestCase::new(format!("vantage {}", xml(&v.name)), status));
    }

    let summary = xml(&report.summary());
    let verdict = if report.ok {
        TestCaseStatus::success()
    } else {
        failure("not-ok", &summary, "")
    };
    cases.push(TestCase::new("verdict", verdict));

    for case in &mut cases {
        case.set_classname(classname.as_str());
    }
    suite.add_test_cases(cases);
    let mut out = summary;
    for notice in &report.notices {
        let _ = write!(out, "\n{}", xml(notice));
    }
    suite.set_system_out(out);
    suite
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn entries_that_decide_nothing_are_skipped_with_why() {
        let doc = junit(&super::super::prometheus::tests::report());
        let xml = doc.to_string().unwrap();
        assert!(
            xml.contains("<testcase name=\"m [here/192.0.2.1]\""),
            "{xml}"
        );
        assert!(
            xml.contains(
                "<skipped message=\"unreachable (decides nothing: vantage broken is degraded): why\"/>"
            ),
            "{xml}"
        );
        assert!(
            xml.contains(
                "<skipped message=\"unreachable (decides nothing: its vantage could not look at what it asks for): why\"/>"
            ),
            "{xml}"
        );
        assert!(xml.contains("<testcase name=\"vantage broken\""), "{xml}");
        // The run passed: nothing failed, three things were skipped.
        assert!(xml.contains("failures=\"0\""), "{xml}");
        assert_eq!(xml.matches("<skipped").count(), 3, "{xml}");
    }

    #[test]
    fn text_for_xml_escapes_what_xml_and_terminals_cannot_take() {
        assert_eq!(xml("plain <&> ünï"), "plain <&> ünï");
        assert_eq!(xml("a\u{0}b\u{1b}c"), "a\\u{0}b\\u{1b}c");
        assert_eq!(xml("\u{fffe}\u{ffff}"), "\\u{fffe}\\u{ffff}");
        assert_eq!(xml("r\u{202e}l"), "r\\u{202e}l");
    }
}
