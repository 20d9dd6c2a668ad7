//! Vantages once started for a run, behind one trait: how each matrix entry of a vantage
//! travels, what its country claim rests on, and who carried each entry. A new kind of
//! vantage is one more implementation of [`Vantage`] (and, if it does not go through this
//! machine's HTTP client, of [`crate::fetch::Transport`]).

use std::sync::Arc;

use crate::profile::Route;

use super::{Carrier, CountrySource, Kind, VantageSpec, Vantages};

/// How one matrix entry is reached through a vantage.
#[derive(Debug, Clone, Default)]
pub struct EntryRoute {
    /// A proxy URL for this machine's HTTP client (`None`: the mirror's own setting).
    pub proxy: Option<String>,
    pub route: Route,
}

/// A vantage ready for a run.
pub trait Vantage: Send + Sync {
    fn spec(&self) -> &VantageSpec;
    /// How matrix entry `entry` (a mirror through this vantage) is reached.
    fn route(&self, entry: usize, mirror_proxy: Option<&str>) -> EntryRoute;
    /// Whether an address resolved on this machine can be pinned for its entries
    /// (`--each-address`); vantages that resolve names on their side cannot.
    fn pins_addresses(&self) -> bool;
    fn country_source(&self) -> CountrySource {
        source_of(self.spec())
    }
    /// `Err(why)` when artifacts cannot be checked through this vantage at all.
    fn artifacts(&self) -> Result<(), &'static str> {
        Ok(())
    }
    /// Who carried `entry`'s requests, once they are done.
    fn carried_by(&self, _entry: usize) -> Option<Carrier> {
        None
    }
}

/// Where a vantage's country claim comes from, by kind.
pub fn source_of(spec: &VantageSpec) -> CountrySource {
    match spec.kind {
        Kind::Tor => CountrySource::TorGeoip,
        Kind::Globalping => CountrySource::Probe,
        _ if spec.country == crate::profile::UNKNOWN_COUNTRY => CountrySource::Unknown,
        _ => CountrySource::Configuration,
    }
}

/// The vantage in a few words for people. A hosting network, an exit or a probe is not
/// "users in FR", so it is never called that.
pub fn describe(spec: &VantageSpec) -> String {
    let cc = &spec.country;
    match spec.kind {
        Kind::Direct if source_of(spec) == CountrySource::Unknown => {
            "this machine's own network".to_owned()
        }
        Kind::Direct => format!("this machine's own network, in {cc} as configured"),
        Kind::Proxy => format!(
            "through proxy {}, leaving in {cc} as configured",
            spec.proxy
                .as_deref()
                .map(super::redacted_proxy)
                .unwrap_or_default()
        ),
        Kind::Tor => format!("through Tor, via an exit in {cc} (by Tor's GeoIP)"),
        Kind::Globalping => format!(
            "Globalping probes in {cc} (as the probes report; a third party's view, not first hand)"
        ),
    }
}

/// This machine's own network.
struct Direct(VantageSpec);

impl Vantage for Direct {
    fn spec(&self) -> &VantageSpec {
        &self.0
    }
    fn route(&self, _entry: usize, mirror_proxy: Option<&str>) -> EntryRoute {
        EntryRoute {
            proxy: mirror_proxy.map(str::to_owned),
            route: Route::Http,
        }
    }
    fn pins_addresses(&self) -> bool {
        true
    }
}

/// A proxy the user runs or rents (SOCKS5, HTTP): it replaces the mirror's own proxy, as
/// one connection cannot go through two.
struct Proxy(VantageSpec);

impl Vantage for Proxy {
    fn spec(&self) -> &VantageSpec {
        &self.0
    }
    fn route(&self, _entry: usize, _mirror_proxy: Option<&str>) -> EntryRoute {
        EntryRoute {
            proxy: self.0.proxy.clone(),
            route: Route::Http,
        }
    }
    fn pins_addresses(&self) -> bool {
        // socks5 is handed addresses resolved here; socks5h and HTTP proxies resolve names
        // on their side, which is the point of them.
        self.0
            .proxy
            .as_deref()
            .is_some_and(|p| p.starts_with("socks5://"))
    }
}

/// A vantage named only as a label (evidence being re-checked or merged): nothing is
/// started, and an entry that would need it is refused rather than sent another way.
struct Label(VantageSpec);

impl Vantage for Label {
    fn spec(&self) -> &VantageSpec {
        &self.0
    }
    fn route(&self, _entry: usize, _mirror_proxy: Option<&str>) -> EntryRoute {
        EntryRoute {
            proxy: None,
            route: Route::Unavailable(format!("vantage {} was not started", self.0.name)),
        }
    }
    fn pins_addresses(&self) -> bool {
        false
    }
}

/// `tor:CC`: a tor process of its own (one per country, as tor's `ExitNodes` is per
/// process), each entry on circuits of its own (a SOCKS username per entry), each entry's
/// exit read back from tor's control port.
struct Tor {
    spec: VantageSpec,
    /// The client, or why it did not start: its entries then fail with that reason and
    /// the vantage is degraded, rather than their requests going out another way.
    tor: Result<super::tor::ManagedTor, String>,
}

impl Vantage for Tor {
    fn spec(&self) -> &VantageSpec {
        &self.spec
    }
    fn route(&self, entry: usize, _mirror_proxy: Option<&str>) -> EntryRoute {
        let proxy = self.tor.as_ref().map_err(Clone::clone).and_then(|t| {
            t.proxy_url(&self.spec.country, &isolation(entry))
                .ok_or_else(|| format!("no tor for {}", self.spec.country))
        });
        match proxy {
            Ok(p) => EntryRoute {
                proxy: Some(p),
                route: Route::Http,
            },
            Err(why) => EntryRoute {
                proxy: None,
                route: Route::Unavailable(why),
            },
        }
    }
    fn pins_addresses(&self) -> bool {
        false
    }
    fn carried_by(&self, entry: usize) -> Option<Carrier> {
        let tor = self.tor.as_ref().ok()?;
        Some(Carrier::Tor {
            exits: tor.exits(&self.spec.country, &isolation(entry)),
        })
    }
}

/// The SOCKS username isolating one entry's streams: the entry's place in the matrix,
/// nothing a mirror could choose.
fn isolation(entry: usize) -> String {
    format!("mirrorproof-{entry}")
}

/// Starts one tor per entry of `countries`, all at once (each bootstrap waits up to the
/// deadline), so that a country without a usable exit fails alone; the results are in the
/// order of `countries`.
fn start_tors(
    countries: &[String],
    opts: &Vantages,
) -> Vec<Result<super::tor::ManagedTor, String>> {
    let tor = &opts.tor;
    std::thread::scope(|scope| {
        let running: Vec<_> = countries
            .iter()
            .map(|cc| {
                scope.spawn(move || {
                    super::tor::ManagedTor::start(std::slice::from_ref(cc), tor)
                        .map_err(|e| e.to_string())
                })
            })
            .collect();
        running
            .into_iter()
            .map(|h| {
                h.join()
                    .unwrap_or_else(|_| Err("the tor starter failed".to_owned()))
            })
            .collect()
    })
}

/// What a run's vantages need started, and the reason one could not be.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    #[error("{0}")]
    Globalping(String),
}

/// Starts the run's vantages. With `needed` false (no mirror is left to ask over the network
/// through them: every entry of evidence names its vantage already, and directories are read
/// here), no tor is started and no API asked: managed vantages are labels. Direct and proxy
/// vantages cost nothing to set up and are always ready. A managed vantage that fails to
/// start is not an error of the run: its entries are unreachable with the reason, and the
/// vantage is then degraded by the judge like any broken path.
pub fn start(opts: &Vantages, needed: bool) -> Result<Vec<Arc<dyn Vantage>>, StartError> {
    let mut out: Vec<Arc<dyn Vantage>> = Vec::new();
    let mut specs = opts.specs.clone();
    if specs.is_empty() && opts.each_address {
        // Addresses are columns of the report like vantages; they need one to sit in.
        specs.push(VantageSpec {
            name: "direct".into(),
            kind: Kind::Direct,
            proxy: None,
            country: crate::profile::UNKNOWN_COUNTRY.into(),
        });
    }
    let globalping = if needed && specs.iter().any(|s| s.kind == Kind::Globalping) {
        Some(Arc::new(
            super::globalping::client(opts).map_err(StartError::Globalping)?,
        ))
    } else {
        None
    };
    // One tor per tor vantage, in their order, all started at once: two vantages for one
    // country share nothing but the country, and each waits out its own bootstrap.
    let countries: Vec<String> = if needed {
        specs
            .iter()
            .filter(|s| s.kind == Kind::Tor)
            .map(|s| s.country.clone())
            .collect()
    } else {
        Vec::new()
    };
    let mut tors = start_tors(&countries, opts).into_iter();
    for spec in specs {
        let v: Arc<dyn Vantage> = match (spec.kind, needed) {
            (Kind::Direct, _) => Arc::new(Direct(spec)),
            (Kind::Proxy, _) => Arc::new(Proxy(spec)),
            (_, false) => Arc::new(Label(spec)),
            (Kind::Globalping, true) => match &globalping {
                Some(g) => Arc::new(super::globalping::GlobalpingVantage::new(spec, g.clone())),
                None => Arc::new(Label(spec)),
            },
            (Kind::Tor, true) => {
                let tor = tors
                    .next()
                    .unwrap_or_else(|| Err("tor did not start".to_owned()));
                Arc::new(Tor { spec, tor })
            }
        };
        out.push(v);
    }
    Ok(out)
}
