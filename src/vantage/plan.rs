//! The matrix of a run with vantages: one entry per mirror, vantage and (with
//! `--each-address`) address. Each entry is an ordinary [`Mirror`] to the rest of the
//! pipeline, whose requests travel the vantage's way: so the fetch limits, the judge, the
//! artifacts stage and the evidence bundle need no second code path for vantages.

use std::collections::{BTreeSet, HashMap};
use std::net::IpAddr;
use std::time::Duration;

use crate::profile::{Location, Mirror};

use std::sync::Arc;

use super::Kind;
use super::start::Vantage;

/// Addresses one host name is checked at, at most: a name resolving to hundreds of
/// addresses must not multiply the run by hundreds.
pub const MAX_ADDRESSES: usize = 16;

/// The entries of one run and, for each, where it came from.
pub struct Matrix {
    pub entries: Vec<Mirror>,
    /// The run's vantages; empty for a run without any (then entries are the mirrors).
    pub vantages: Vec<Arc<dyn Vantage>>,
    /// Per entry, the index of its vantage in `vantages` (`None`: a labelled entry from
    /// an evidence bundle, or a run without vantages).
    pub cells: Vec<Option<usize>>,
    /// What the plan could not do as asked, for the report.
    pub notices: Vec<String>,
}

/// Builds the matrix: every mirror through every vantage and, with `each_address`, every
/// address its host name resolves to from here (resolved once, within `timeout`).
/// Mirrors a profile already labels with a vantage (evidence being re-checked or merged)
/// stay as they are.
pub async fn plan(
    mirrors: Vec<Mirror>,
    vantages: Vec<Arc<dyn Vantage>>,
    each_address: bool,
    timeout: Duration,
) -> Matrix {
    let mut m = Matrix {
        entries: Vec::new(),
        vantages,
        cells: Vec::new(),
        notices: Vec::new(),
    };
    if m.vantages.is_empty() {
        m.cells = vec![None; mirrors.len()];
        m.entries = mirrors;
        return m;
    }
    // Every name to pin, resolved before the matrix is laid out: all at once (a few at a
    // time) under one deadline, so a list of names whose DNS never answers costs one
    // `timeout`, not one per name.
    let resolved = if each_address && m.vantages.iter().any(|v| v.pins_addresses()) {
        let names: BTreeSet<(String, u16)> = mirrors
            .iter()
            .filter(|mirror| mirror.vantage.is_none())
            .filter_map(host_of)
            .collect();
        resolve_all(names, timeout, lookup).await
    } else {
        HashMap::new()
    };
    let mut unresolvable_notice = BTreeSet::new();
    // A name with more addresses than are checked: the report must not read as if every
    // machine behind it had been looked at.
    let mut many_notice = BTreeSet::new();
    let mut local_skipped = false;
    let vantages = m.vantages.clone();
    for mirror in mirrors {
        if mirror.vantage.is_some() {
            m.cells.push(None);
            m.entries.push(mirror);
            continue;
        }
        // The addresses this mirror is checked at through a vantage that pins them: found
        // once per mirror, not once per vantage.
        let mut pinned: &[Option<IpAddr>] = &[None];
        if !resolved.is_empty()
            && let Some(key) = host_of(&mirror)
        {
            let host = &key.0;
            match resolved.get(&key) {
                Some(Ok((a, all))) => {
                    if *all > a.len() {
                        many_notice.insert(format!(
                            "--each-address: {} resolves to {all} addresses; only the first {} are checked",
                            crate::text::shown(host),
                            a.len()
                        ));
                    }
                    pinned = a;
                }
                Some(Err(why)) => {
                    unresolvable_notice.insert(format!(
                        "--each-address: {} did not resolve ({why}); checked by name",
                        crate::text::shown(host)
                    ));
                }
                None => {}
            }
        }
        for (vi, v) in vantages.iter().enumerate() {
            if matches!(mirror.location, Location::Dir(_)) && v.spec().kind != Kind::Direct {
                // A directory is read here whatever the vantage: an entry through a proxy,
                // Tor or a probe would claim a view it never had.
                local_skipped = true;
                continue;
            }
            let addresses: &[Option<IpAddr>] = if v.pins_addresses() { pinned } else { &[None] };
            for &address in addresses {
                let index = m.entries.len();
                let mut entry = mirror.clone();
                entry.vantage = Some(v.spec().name.clone());
                entry.address = address;
                let r = v.route(index, mirror.proxy.as_deref());
                entry.proxy = r.proxy;
                entry.route = r.route;
                m.cells.push(Some(vi));
                m.entries.push(entry);
            }
        }
    }
    if each_address {
        for v in &vantages {
            if !v.pins_addresses() {
                m.notices.push(format!(
                    "--each-address: vantage {} resolves names on its own side, so its entries are checked by name",
                    v.spec().name
                ));
            }
        }
    }
    if local_skipped {
        m.notices.push(
            "local directory mirrors are read on this machine, so they are checked through direct vantages only"
                .to_owned(),
        );
    }
    m.notices.extend(many_notice);
    m.notices.extend(unresolvable_notice);
    m
}

impl Matrix {
    /// Adds the vantage part of the report: each vantage (its status is settled later, by
    /// [`super::verdicts::judge`] in `Report::summarise`), who carried each entry, and what
    /// the plan could not do.
    pub fn describe(&self, report: &mut crate::report::Report) {
        report.vantages = self
            .vantages
            .iter()
            .map(|v| {
                let s = v.spec();
                crate::report::VantageReport {
                    name: s.name.clone(),
                    kind: s.kind,
                    country: s.country.clone(),
                    country_source: v.country_source(),
                    status: crate::report::VantageStatus::Ok,
                    reason: None,
                    proxy: s.proxy.as_deref().map(super::redacted_proxy),
                    entries: 0,
                    reached: 0,
                }
            })
            .collect();
        for (i, (m, cell)) in report.mirrors.iter_mut().zip(&self.cells).enumerate() {
            if let Some(v) = cell.and_then(|c| self.vantages.get(c)) {
                m.carried_by = v.carried_by(i);
            }
        }
        for v in &self.vantages {
            if let Err(why) = v.artifacts() {
                report.notices.push(format!(
                    "vantage {}: {why}; its artifacts are skipped",
                    v.spec().name
                ));
            }
        }
        report.notices.extend(self.notices.iter().cloned());
    }
}

/// The host name and port of an HTTP(S) mirror, when it names a host (not an IP literal,
/// which has one address already).
fn host_of(mirror: &Mirror) -> Option<(String, u16)> {
    let Location::Http(url) = &mirror.location else {
        return None;
    };
    match url.host()? {
        url::Host::Domain(d) => Some((d.to_owned(), url.port_or_known_default()?)),
        _ => None,
    }
}

/// Host names looked up at once, at most: each lookup may hold a thread of the runtime's
/// blocking pool until the system resolver gives up, deadline or not.
const RESOLVING_AT_ONCE: usize = 16;

/// The addresses of a name to check (at most [`MAX_ADDRESSES`]), as [`Mirror::address`]
/// holds them, and how many it has; or why there are none.
type Resolved = Result<(Vec<Option<IpAddr>>, usize), String>;

/// Resolves every name, [`RESOLVING_AT_ONCE`] at a time, all within one `timeout`; a name
/// without an answer by then gets an error saying so.
async fn resolve_all<F, Fut>(
    names: BTreeSet<(String, u16)>,
    timeout: Duration,
    lookup: F,
) -> HashMap<(String, u16), Resolved>
where
    F: Fn(String, u16) -> Fut,
    Fut: std::future::Future<Output = Resolved>,
{
    use futures_util::StreamExt;
    let deadline = tokio::time::Instant::now() + timeout;
    let mut out = HashMap::with_capacity(names.len());
    {
        let mut answers = futures_util::stream::iter(names.iter().cloned())
            .map(|(host, port)| {
                let answer = lookup(host.clone(), port);
                async move { ((host, port), answer.await) }
            })
            .buffer_unordered(RESOLVING_AT_ONCE);
        while let Ok(Some((name, answer))) = tokio::time::timeout_at(deadline, answers.next()).await
        {
            out.insert(name, answer);
        }
    }
    for name in names {
        out.entry(name)
            .or_insert_with(|| Err(format!("no answer within {}s", timeout.as_secs_f64())));
    }
    out
}

/// This machine's resolver (the caller bounds the time): the first [`MAX_ADDRESSES`]
/// addresses in order, and how many there were, so that the report can say what was left.
async fn lookup(host: String, port: u16) -> Resolved {
    let found = tokio::net::lookup_host((host.as_str(), port))
        .await
        .map_err(|e| crate::envelope::one_line(&e.to_string()))?;
    let addresses: BTreeSet<IpAddr> = found.map(|a| a.ip()).collect();
    if addresses.is_empty() {
        return Err("no addresses".into());
    }
    let all = addresses.len();
    Ok((
        addresses
            .into_iter()
            .take(MAX_ADDRESSES)
            .map(Some)
            .collect(),
        all,
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::profile::Route;
    use crate::vantage::{VantageSpec, Vantages};
    use std::path::Path;
    use std::sync::atomic::{AtomicUsize, Ordering::SeqCst};

    fn mirror(url: &str) -> Mirror {
        Mirror::new(url, "FR", None, None, Path::new("/")).unwrap()
    }

    fn run<F: std::future::Future>(f: F) -> F::Output {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap()
            .block_on(f)
    }

    fn started(specs: &[&str], each_address: bool) -> Vec<Arc<dyn Vantage>> {
        let opts = Vantages {
            specs: specs
                .iter()
                .map(|s| VantageSpec::parse_arg(s).unwrap())
                .collect(),
            each_address,
            globalping_api: Some("http://127.0.0.1:9/".into()),
            ..Vantages::default()
        };
        crate::vantage::start::start(&opts, true).unwrap()
    }

    #[test]
    fn every_mirror_through_every_vantage() {
        let vs = started(
            &[
                "direct",
                "name=fr,proxy=socks5h://127.0.0.1:9,country=FR",
                "globalping:JP",
            ],
            false,
        );
        let m = run(plan(
            vec![mirror("http://a.test/"), mirror("http://b.test/")],
            vs,
            false,
            Duration::from_secs(1),
        ));
        assert_eq!(m.entries.len(), 6);
        assert_eq!(m.entries[1].proxy.as_deref(), Some("socks5h://127.0.0.1:9"));
        assert!(matches!(&m.entries[2].route, Route::Via(v) if v.entry == 2));
        assert_eq!(m.entries[3].vantage.as_deref(), Some("direct"));
        assert_eq!(m.entries[3].route, Route::Http);
        assert_eq!(m.cells[5], Some(2));
    }

    /// Lookups in flight now, and at most.
    type Counts = Arc<(AtomicUsize, AtomicUsize)>;

    /// Counts a lookup in flight until dropped (a lookup that never answers is dropped at
    /// the deadline).
    struct InFlight(Counts);
    impl InFlight {
        fn start(c: &Counts) -> InFlight {
            let now = c.0.fetch_add(1, SeqCst) + 1;
            c.1.fetch_max(now, SeqCst);
            InFlight(c.clone())
        }
    }
    impl Drop for InFlight {
        fn drop(&mut self) {
            self.0.0.fetch_sub(1, SeqCst);
        }
    }

    #[test]
    fn names_whose_dns_never_answers_cost_one_deadline_together() {
        let counts: Counts = Arc::default();
        let mut names: BTreeSet<(String, u16)> = (0..100)
            .map(|i| (format!("silent-{i:03}.test"), 80))
            .collect();
        names.insert(("a-answers.test".into(), 80));
        let lookup = |host: String, _port: u16| {
            let guard = InFlight::start(&counts);
            async move {
                let _guard = guard;
                if host == "a-answers.test" {
                    return Ok((vec![Some(IpAddr::from([127, 0, 0, 1]))], 1));
                }
                std::future::pending().await
            }
        };
        let got = run(resolve_all(names, Duration::from_millis(200), lookup));
        assert_eq!(got.len(), 101);
        assert_eq!(
            got[&("a-answers.test".to_owned(), 80)],
            Ok((vec![Some(IpAddr::from([127, 0, 0, 1]))], 1))
        );
        let silent = got
            .values()
            .filter(|r| r.as_ref().is_err_and(|e| e.contains("no answer within")))
            .count();
        assert_eq!(silent, 100);
        // Looked up side by side, a bounded number at a time, and none left running.
        let most = counts.1.load(SeqCst);
        assert!(most > 1 && most <= RESOLVING_AT_ONCE, "{most} at once");
        assert_eq!(counts.0.load(SeqCst), 0);
    }

    #[test]
    fn each_address_pins_what_localhost_resolves_to() {
        let m = run(plan(
            vec![mirror("http://localhost:1/"), mirror("http://127.0.0.1:1/")],
            started(&[], true),
            true,
            Duration::from_secs(5),
        ));
        assert_eq!(m.vantages.len(), 1);
        let local: Vec<_> = m
            .entries
            .iter()
            .filter(|e| e.url.contains("localhost"))
            .collect();
        assert!(!local.is_empty());
        assert!(
            local
                .iter()
                .all(|e| e.address.is_some_and(|a| a.is_loopback()))
        );
        let literal: Vec<_> = m
            .entries
            .iter()
            .filter(|e| e.url.contains("127.0.0.1"))
            .collect();
        assert_eq!(literal.len(), 1);
        assert_eq!(literal[0].address, None);
    }
}
