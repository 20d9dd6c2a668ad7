//! Vantage points: the network paths through which a run reaches the mirrors, each standing
//! for the users behind it (a country's ISPs through a proxy, a Tor exit, a measurement
//! probe). A vantage only decides how bytes travel; what they prove is decided, as always,
//! by the pinned keys, so a hostile vantage can hide a mirror or show it in a bad light,
//! never make a forged release pass.
//!
//! A run with vantages is the same pipeline over a wider matrix ([`plan`]): every mirror
//! through every vantage (and, with `--each-address`, every address its name resolves
//! to) is one entry, judged like a mirror against the latest release seen through any of
//! them. [`verdicts`] then says which vantages are `degraded` (broken paths, not broken
//! mirrors) and which mirrors are `targeted` (served differently depending on who asks).

pub mod globalping;
pub mod plan;
pub mod start;
pub mod tor;
pub mod verdicts;

use serde::{Deserialize, Serialize};

use crate::profile::{UNKNOWN_COUNTRY, check_country_hinted};

pub use plan::{Matrix, plan};
pub use start::{EntryRoute, Vantage, describe, start};

/// How a vantage reaches the mirrors.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Kind {
    /// This machine's own network.
    Direct,
    /// A SOCKS5 (`socks5h`, `socks5`) or HTTP(S) proxy: a VPS in a country, an SSH tunnel.
    Proxy,
    /// A Tor client that mirrorproof starts, with exits in one country.
    Tor,
    /// Globalping's probes in one country: release documents only, first 10 KB of a body.
    Globalping,
}

impl Kind {
    pub fn as_str(self) -> &'static str {
        match self {
            Kind::Direct => "direct",
            Kind::Proxy => "proxy",
            Kind::Tor => "tor",
            Kind::Globalping => "globalping",
        }
    }
}

/// Where a vantage's country claim comes from: a report says it, because a claim from a
/// configuration file is only as good as whoever wrote it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum CountrySource {
    /// The profile or the command line says so.
    Configuration,
    /// Tor's GeoIP database places the exit relays there.
    TorGeoip,
    /// The measurement probe reported its own location.
    Probe,
    /// Nobody said (a `direct` vantage without a country).
    Unknown,
}

/// A run's vantages and how the managed ones start: part of [`crate::run::CheckOptions`].
#[derive(Debug, Clone, Default)]
pub struct Vantages {
    pub specs: Vec<VantageSpec>,
    /// `--each-address`: every address of each mirror's host name is its own entry.
    pub each_address: bool,
    /// How managed Tor clients (`tor:CC`) start.
    pub tor: tor::TorOptions,
    /// Globalping's API (default `https://api.globalping.io`) and an optional token.
    pub globalping_api: Option<String>,
    pub globalping_token: Option<String>,
}

impl Vantages {
    /// Whether the report carries the vantage additions.
    pub fn in_use(&self) -> bool {
        !self.specs.is_empty() || self.each_address
    }
}

/// Who carried an entry's requests, when not this machine's own network: recorded so that
/// a report says which relay or probe a country's view rests on.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "by", rename_all = "lowercase")]
pub enum Carrier {
    /// Tor exit relays, from the managed client's control port (usually one per entry:
    /// its streams are isolated on their own circuit).
    Tor { exits: Vec<tor::ExitRelay> },
    /// Globalping probes: a third party's measurement, not a first-hand observation.
    Globalping {
        probes: Vec<globalping::Probe>,
        first_hand: bool,
    },
}

/// One vantage as a profile or the command line names it.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct VantageSpec {
    pub name: String,
    pub kind: Kind,
    /// For [`Kind::Proxy`]: the proxy URL (socks5h, socks5, http, https).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub proxy: Option<String>,
    /// ISO 3166-1 alpha-2, or [`UNKNOWN_COUNTRY`].
    pub country: String,
}

/// Written by hand so that a library user logging a vantage with `{:?}` does not log its
/// proxy's password.
impl std::fmt::Debug for VantageSpec {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("VantageSpec")
            .field("name", &self.name)
            .field("kind", &self.kind)
            .field("proxy", &self.proxy.as_deref().map(hide_password))
            .field("country", &self.country)
            .finish()
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum VantageError {
    #[error("vantage {spec:?}: {reason}")]
    Spec { spec: String, reason: String },
    /// Names left out are made from the kind and the country, so two proxies in one
    /// country collide without the user having named either: the message says how to part
    /// them.
    #[error(
        "two vantages are named {0:?}: names must be unique (a vantage without name= is named after its kind and country; give each its own name=NAME, or drop the repeated one)"
    )]
    Duplicate(String),
    #[error("more than {MAX_VANTAGES} vantages")]
    TooMany,
}

/// Vantages one run uses at most: each multiplies the requests of the whole run.
pub const MAX_VANTAGES: usize = 64;

/// The `[[vantages]]` table of a profile, field for field.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct VantageDoc {
    #[serde(default)]
    pub name: Option<String>,
    #[serde(default)]
    pub proxy: Option<String>,
    #[serde(default)]
    pub country: Option<String>,
    #[serde(default)]
    pub kind: Option<String>,
}

/// The proxy schemes reqwest speaks; anything else would silently go direct or fail late.
const PROXY_SCHEMES: [&str; 4] = ["socks5h", "socks5", "http", "https"];

impl VantageSpec {
    /// `--vantage SPEC`: `direct`, `direct=CC`, `tor:CC`, `globalping:CC`, or a
    /// comma-separated `key=value` list with the profile's keys.
    pub fn parse_arg(spec: &str) -> Result<VantageSpec, VantageError> {
        // The spec is echoed in the error, which goes to a terminal or a CI log: without
        // its proxy's password.
        let bad = |reason: String| VantageError::Spec {
            spec: shown(&hide_password(spec)),
            reason,
        };
        let doc = if spec == "direct" {
            VantageDoc::kind("direct", None)
        } else if let Some(cc) = spec.strip_prefix("direct=") {
            VantageDoc::kind("direct", Some(cc))
        } else if let Some(cc) = spec.strip_prefix("tor:") {
            VantageDoc::kind("tor", Some(cc))
        } else if let Some(cc) = spec.strip_prefix("globalping:") {
            VantageDoc::kind("globalping", Some(cc))
        } else if spec.contains('=') {
            let mut doc = VantageDoc {
                name: None,
                proxy: None,
                country: None,
                kind: None,
            };
            for part in spec.split(',') {
                let (k, v) = part
                    .split_once('=')
                    .ok_or_else(|| bad(format!("{:?} is not key=value", shown(part))))?;
                let slot = match k.trim() {
                    "name" => &mut doc.name,
                    "proxy" => &mut doc.proxy,
                    "country" => &mut doc.country,
                    "kind" => &mut doc.kind,
                    // `tor=FR`, `globalping=JP`: the shorthand with the wrong separator.
                    short @ ("tor" | "globalping") => {
                        return Err(bad(format!(
                            "unknown key {:?} (keys: name, proxy, country, kind): did you mean {short}:{}?",
                            shown(short),
                            shown(v.trim())
                        )));
                    }
                    other => {
                        return Err(bad(format!(
                            "unknown key {:?} (keys: name, proxy, country, kind)",
                            shown(other)
                        )));
                    }
                };
                if slot.replace(v.trim().to_owned()).is_some() {
                    return Err(bad(format!("{} given twice", k.trim())));
                }
            }
            doc
        } else if spec.contains("://") {
            // A proxy URL on its own: the country is what a vantage is for, so ask for it.
            return Err(bad(format!(
                "a proxy vantage is written name=NAME,proxy=URL,country=CC: did you mean proxy={},country=CC?",
                shown(spec)
            )));
        } else {
            return Err(bad(
                "expected direct, direct=CC, tor:CC, globalping:CC or name=...,proxy=URL,country=CC"
                    .into(),
            ));
        };
        doc.into_spec().map_err(bad)
    }
}

fn shown(s: &str) -> String {
    crate::text::shown(s).into_owned()
}

impl VantageDoc {
    fn kind(kind: &str, country: Option<&str>) -> VantageDoc {
        VantageDoc {
            name: None,
            proxy: None,
            country: country.map(str::to_owned),
            kind: Some(kind.to_owned()),
        }
    }

    /// Checks the fields together; the reason is one line without the spec (the caller
    /// names where it came from).
    pub fn into_spec(self) -> Result<VantageSpec, String> {
        let kind = match (self.kind.as_deref(), &self.proxy) {
            (None, Some(_)) | (Some("proxy"), _) => Kind::Proxy,
            (None, None) | (Some("direct"), _) => Kind::Direct,
            (Some("tor"), _) => Kind::Tor,
            (Some("globalping"), _) => Kind::Globalping,
            (Some(other), _) => {
                return Err(format!(
                    "kind {:?} is not one of proxy, direct, tor, globalping",
                    shown(other)
                ));
            }
        };
        let country = match &self.country {
            Some(c) if !c.is_empty() => check_country_hinted(c)?,
            _ => UNKNOWN_COUNTRY.to_owned(),
        };
        match (kind, &self.proxy) {
            (Kind::Proxy, None) => return Err("a proxy vantage needs proxy = URL".into()),
            (Kind::Proxy, Some(p)) => check_proxy(p)?,
            (_, Some(_)) => {
                return Err(format!(
                    "proxy is only for kind \"proxy\" (this one is {})",
                    kind.as_str()
                ));
            }
            _ => {}
        }
        if matches!(kind, Kind::Tor | Kind::Globalping) && country == UNKNOWN_COUNTRY {
            return Err(format!(
                "a {} vantage needs a country (e.g. {}:FR)",
                kind.as_str(),
                kind.as_str()
            ));
        }
        let name = match self.name {
            Some(n) => {
                check_name(&n)?;
                n
            }
            None => default_name(kind, &country),
        };
        Ok(VantageSpec {
            name,
            kind,
            proxy: self.proxy,
            country,
        })
    }
}

/// `tor-fr`, `globalping-de`, `direct`, `proxy-fr`: short, and what a user would type.
fn default_name(kind: Kind, country: &str) -> String {
    if country == UNKNOWN_COUNTRY {
        kind.as_str().to_owned()
    } else {
        format!("{}-{}", kind.as_str(), country.to_ascii_lowercase())
    }
}

/// Names appear in reports, evidence paths and Tor's SOCKS usernames: keep them plain.
pub(crate) fn check_name(n: &str) -> Result<(), String> {
    let ok = !n.is_empty()
        && n.len() <= 64
        && n.bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'@'));
    if ok {
        Ok(())
    } else {
        Err(format!(
            "name {:?} must be 1 to 64 letters, digits, '-', '_', '.' or '@'",
            shown(n)
        ))
    }
}

fn check_proxy(p: &str) -> Result<(), String> {
    let named = shown(&hide_password(p));
    // `127.0.0.1:1080` is no URL ("relative URL without a base") and `localhost:1080`
    // parses with the scheme "localhost": what was meant is a SOCKS proxy on that port,
    // which `ssh -D` and Tor give, so say it rather than the parser's words.
    if !p.contains("://") {
        return Err(format!(
            "proxy {named:?} has no scheme: did you mean socks5h://{named}? (socks5h, socks5, http or https)"
        ));
    }
    let url = url::Url::parse(p).map_err(|e| format!("proxy {named:?}: {e}"))?;
    if !PROXY_SCHEMES.contains(&url.scheme()) {
        let hint = match url.scheme() {
            "socks4" | "socks4a" => {
                " (SOCKS4 cannot be used: most SOCKS servers, ssh -D and Tor included, also speak socks5h)"
            }
            "socks" | "socks5a" => " (socks5h:// is SOCKS5 with names resolved by the proxy)",
            _ => "",
        };
        return Err(format!(
            "proxy {named:?}: scheme must be socks5h, socks5, http or https{hint}"
        ));
    }
    if url.host_str().is_none() {
        return Err(format!("proxy {named:?}: no host"));
    }
    Ok(())
}

/// `text` (a proxy URL, or a `--vantage` spec holding one) with the password of every
/// `scheme://user:password@` in it replaced by `REDACTED`, by the text alone: for messages
/// about a URL that may not even parse.
pub(crate) fn hide_password(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(at) = rest.find("://") {
        let (head, tail) = rest.split_at(at + 3);
        out.push_str(head);
        // The authority ends at the first '/', '?' or '#', its userinfo at the last '@'
        // in it (as URL parsers take it). In a spec that may run past the URL into the
        // next keys: then more is hidden than needed, never less.
        let end = tail.find(['/', '?', '#']).unwrap_or(tail.len());
        let authority = &tail[..end];
        match authority.rfind('@') {
            Some(userinfo_end) => {
                let userinfo = &authority[..userinfo_end];
                match userinfo.split_once(':') {
                    Some((user, _)) => {
                        out.push_str(user);
                        out.push_str(":REDACTED");
                    }
                    None => out.push_str(userinfo),
                }
                out.push_str(&authority[userinfo_end..]);
            }
            None => out.push_str(authority),
        }
        rest = &tail[end..];
    }
    out.push_str(rest);
    out
}

/// Checks a run's vantages together: unique names, a bounded count.
pub fn check_all(specs: &[VantageSpec]) -> Result<(), VantageError> {
    if specs.len() > MAX_VANTAGES {
        return Err(VantageError::TooMany);
    }
    let mut seen = std::collections::BTreeSet::new();
    for s in specs {
        if !seen.insert(s.name.as_str()) {
            return Err(VantageError::Duplicate(s.name.clone()));
        }
    }
    Ok(())
}

/// A proxy URL as a report may show it: without its password (a SOCKS username is kept,
/// it is a label; Tor's isolation tokens are not shown at all).
pub fn redacted_proxy(p: &str) -> String {
    match url::Url::parse(p) {
        Ok(mut u) => {
            if u.password().is_some() {
                let _ = u.set_password(Some("REDACTED"));
            }
            u.to_string()
        }
        Err(_) => "(unparsable proxy URL)".to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shorthands() {
        let d = VantageSpec::parse_arg("direct").unwrap();
        assert_eq!(
            (d.kind, d.name.as_str(), d.country.as_str()),
            (Kind::Direct, "direct", "ZZ")
        );
        let d = VantageSpec::parse_arg("direct=de").unwrap();
        assert_eq!((d.name.as_str(), d.country.as_str()), ("direct-de", "DE"));
        let t = VantageSpec::parse_arg("tor:FR").unwrap();
        assert_eq!((t.kind, t.name.as_str()), (Kind::Tor, "tor-fr"));
        let g = VantageSpec::parse_arg("globalping:JP").unwrap();
        assert_eq!((g.kind, g.country.as_str()), (Kind::Globalping, "JP"));
    }

    #[test]
    fn key_value_lists() {
        let p = VantageSpec::parse_arg("name=fr-isp,proxy=socks5h://127.0.0.1:9050,country=FR")
            .unwrap();
        assert_eq!(p.kind, Kind::Proxy);
        assert_eq!(p.proxy.as_deref(), Some("socks5h://127.0.0.1:9050"));
        assert_eq!(p.name, "fr-isp");
        let p = VantageSpec::parse_arg("proxy=http://127.0.0.1:3128,country=US").unwrap();
        assert_eq!(p.name, "proxy-us");
    }

    #[test]
    fn mistakes_are_named() {
        for (spec, says) in [
            ("tor:", "needs a country"),
            ("tor:France", "did you mean FR"),
            ("globalping:XX", "not an assigned"),
            ("proxy=ftp://x:1", "socks5h, socks5, http or https"),
            ("kind=proxy,country=FR", "needs proxy"),
            ("name=a,name=b,proxy=socks5://h:1", "given twice"),
            ("colour=red", "unknown key"),
            ("name=a b,proxy=socks5://h:1", "must be 1 to 64"),
            ("kind=tor,proxy=socks5://h:1,country=FR", "only for kind"),
            ("sideways", "expected direct"),
            (
                "proxy=127.0.0.1:1080,country=FR",
                "did you mean socks5h://127.0.0.1:1080?",
            ),
            ("proxy=socks4://h:1,country=FR", "SOCKS4 cannot be used"),
            (
                "socks5h://h:1",
                "did you mean proxy=socks5h://h:1,country=CC?",
            ),
            ("tor=FR", "did you mean tor:FR?"),
        ] {
            let e = VantageSpec::parse_arg(spec).unwrap_err().to_string();
            assert!(e.contains(says), "{spec}: {e}");
        }
    }

    #[test]
    fn duplicates_and_passwords() {
        let a = VantageSpec::parse_arg("tor:FR").unwrap();
        assert!(check_all(&[a.clone(), a]).is_err());
        assert_eq!(
            redacted_proxy("socks5h://alice:secret@127.0.0.1:1080"),
            "socks5h://alice:REDACTED@127.0.0.1:1080"
        );
    }

    #[test]
    fn passwords_are_hidden_in_text_that_does_not_parse() {
        for (text, hidden) in [
            ("socks5h://alice:secret@h:1", "socks5h://alice:REDACTED@h:1"),
            (
                "name=a,proxy=http://u:p@ss:w@h:1/x,country=XX",
                "name=a,proxy=http://u:REDACTED@h:1/x,country=XX",
            ),
            ("socks5h://token@h:1", "socks5h://token@h:1"),
            ("socks5h://h:1", "socks5h://h:1"),
            (
                "socks5h://a:b,c@h,country=FR",
                "socks5h://a:REDACTED@h,country=FR",
            ),
            ("no url at all", "no url at all"),
            ("://", "://"),
        ] {
            assert_eq!(hide_password(text), hidden, "{text}");
        }
    }
}
