//! The two verdicts only a run with several vantages can give: a vantage that could not
//! reach most of what the others reached is `degraded` (the path is broken, not the
//! mirrors, so what it could not reach blames no mirror), and a mirror whose status
//! differs between the vantages is `targeted` (what it serves depends on who asks).
//!
//! A degraded vantage's failures to reach decide nothing, and nothing else about it is
//! forgiven: what it did deliver is bytes, judged by the pinned keys like any others. A
//! broken path cannot make validly signed old bytes, so a network that blocks most
//! mirrors (to be called broken) and serves the rest a frozen release is still caught.

use std::collections::{BTreeMap, BTreeSet};

use crate::report::{Report, Status, TargetedReport, VantageStatus};

/// A vantage is degraded when it missed more than this share of the mirrors (and
/// addresses) that another vantage reached (the contract's 70 %).
pub const DEGRADED_PERCENT: usize = 70;

/// Gives every vantage of `report` its status and fills `targeted`; returns, per entry of
/// `report.mirrors`, whether it may decide `ok`, `independent` and `targeted` (false for
/// the entries a degraded vantage could not reach, and for those out of any vantage's
/// reach). Without vantages, every entry decides.
pub fn judge(report: &mut Report) -> Vec<bool> {
    if report.vantages.is_empty() {
        return vec![true; report.mirrors.len()];
    }
    // Per mirror, the vantages that reached it and at which address (`None`: by name).
    let mut reached_by: BTreeMap<&str, BTreeSet<(&str, Option<&str>)>> = BTreeMap::new();
    for m in &report.mirrors {
        if let (true, Some(v)) = (m.status != Status::Unreachable, &m.vantage) {
            reached_by
                .entry(m.url.as_str())
                .or_default()
                .insert((v.as_str(), m.address.as_deref()));
        }
    }
    // Whether a vantage other than `name` reached what `m` asked for: the same address,
    // or the mirror at all when either side went by name. A vantage that resolves names
    // on its own side (socks5h, Tor, Globalping) has no address under `--each-address`;
    // compared by address only, it would be compared with nothing and never found broken,
    // and its failures would make every mirror look targeted.
    let reached_elsewhere = |m: &crate::report::MirrorReport, name: &str| {
        reached_by.get(m.url.as_str()).is_some_and(|by| {
            by.iter().any(|(b, a)| {
                *b != name && (m.address.is_none() || a.is_none() || *a == m.address.as_deref())
            })
        })
    };
    // Each vantage's entries, gathered once: a merge may hold thousands of vantages and
    // a hundred thousand entries, and a search of all entries per vantage multiplies them.
    let mut by_vantage: BTreeMap<&str, Vec<&crate::report::MirrorReport>> = BTreeMap::new();
    for m in &report.mirrors {
        if let Some(v) = &m.vantage {
            by_vantage.entry(v.as_str()).or_default().push(m);
        }
    }
    let mut degraded = BTreeSet::new();
    let mut updates = Vec::new();
    for (vi, v) in report.vantages.iter().enumerate() {
        let mine: &[&crate::report::MirrorReport] =
            by_vantage.get(v.name.as_str()).map_or(&[], Vec::as_slice);
        let reached = mine
            .iter()
            .filter(|m| m.status != Status::Unreachable)
            .count();
        // The entries of this vantage whose mirror (and address) another one reached.
        let others: Vec<_> = mine
            .iter()
            .filter(|m| reached_elsewhere(m, &v.name))
            .collect();
        let missed = others
            .iter()
            .filter(|m| m.status == Status::Unreachable)
            .count();
        let is_degraded = !others.is_empty() && missed * 100 > DEGRADED_PERCENT * others.len();
        let reason = is_degraded.then(|| {
            format!(
                "could not reach {missed} of the {} mirrors other vantages reached; what it could not reach decides nothing",
                others.len()
            )
        });
        if is_degraded {
            degraded.insert(v.name.clone());
        }
        updates.push((vi, mine.len(), reached, is_degraded, reason));
    }
    for (vi, entries, reached, is_degraded, reason) in updates {
        let v = &mut report.vantages[vi];
        v.entries = entries;
        v.reached = reached;
        if is_degraded {
            v.status = VantageStatus::Degraded;
            v.reason = reason;
        }
    }
    // Only what the path failed to carry is forgiven: an entry it did carry shows bytes,
    // and a vantage that made itself degraded by blocking most mirrors must not take the
    // stale or forged answers it gave the rest with it.
    let relied: Vec<bool> = report
        .mirrors
        .iter()
        .map(|m| {
            // What a vantage could not look at (a document larger than Globalping returns,
            // its API out of credit) says nothing about the mirror, through any vantage.
            if m.out_of_reach {
                return false;
            }
            m.status != Status::Unreachable
                || m.vantage.as_ref().is_none_or(|v| !degraded.contains(v))
        })
        .collect();

    // Statuses per mirror URL over the vantages (and addresses) that decide.
    let mut by_url: BTreeMap<&str, BTreeMap<String, Status>> = BTreeMap::new();
    for (m, relied) in report.mirrors.iter().zip(&relied) {
        if !relied || m.out_of_reach {
            continue;
        }
        let column = match (&m.vantage, &m.address) {
            (Some(v), Some(a)) => format!("{v}/{a}"),
            (Some(v), None) => v.clone(),
            (None, Some(a)) => a.clone(),
            (None, None) => crate::report::DIRECT.to_owned(),
        };
        by_url
            .entry(m.url.as_str())
            .or_default()
            .insert(column, m.status);
    }
    let targeted = by_url
        .into_iter()
        .filter(|(_, statuses)| statuses.values().collect::<BTreeSet<_>>().len() > 1)
        .map(|(url, statuses)| TargetedReport {
            url: url.to_owned(),
            statuses,
        })
        .collect();
    report.targeted = Some(targeted);
    relied
}
