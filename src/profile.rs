//! Profiles: one release stream and the mirrors that carry it, as TOML.

use std::net::IpAddr;
use std::path::{Path, PathBuf};

use serde::Deserialize;
use url::Url;

use crate::schemes::Format;
use crate::vantage::{VantageDoc, VantageSpec};

/// Profiles are small; anything bigger is a mistake or an attack on the parser.
pub const MAX_PROFILE_BYTES: u64 = 1024 * 1024;
/// Country label for mirrors added without one (ISO 3166 "user-assigned" range).
pub const UNKNOWN_COUNTRY: &str = "ZZ";

#[derive(Debug, thiserror::Error)]
pub enum ProfileError {
    #[error("cannot read profile {path}: {reason}")]
    Read { path: String, reason: String },
    #[error("profile {path} is not valid: {reason}")]
    Parse { path: String, reason: String },
    #[error("mirror {url:?}: {reason}")]
    Mirror { url: String, reason: String },
    /// A `scheme = "tuf"` profile that cannot be checked; `path` is empty until
    /// [`Profile::load`] names the file.
    #[error("{}{error}", named(.path))]
    Tuf {
        path: String,
        error: TufProfileError,
    },
}

fn named(path: &str) -> String {
    if path.is_empty() {
        String::new()
    } else {
        format!("profile {path} is not valid: ")
    }
}

/// What is wrong with a `scheme = "tuf"` profile (or with TUF fields elsewhere).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TufProfileError {
    #[error("scheme \"tuf\" needs root (the pinned initial root.json)")]
    NoRoot,
    #[error("{0} is not used by scheme \"tuf\" (it takes root, targets and mirrors' targets_url)")]
    Unused(&'static str),
    #[error("{0} is only used by scheme \"tuf\"")]
    OnlyTuf(&'static str),
    #[error("target {name:?}: {reason}")]
    Target { name: String, reason: &'static str },
    #[error("mirror {url:?}: targets_url: {reason}")]
    TargetsUrl { url: String, reason: String },
    #[error("more than {MAX_TARGETS} targets")]
    TooManyTargets,
}

/// Targets one TUF profile names at most: each is looked up through the delegations and
/// fetched from every mirror, so the list is bounded like everything else.
pub const MAX_TARGETS: usize = 256;

/// The channel a TUF profile records its state under when it names none: TUF has no
/// channels (one repository is one stream), and the profile's name already keeps two
/// repositories apart in the state.
pub const TUF_DEFAULT_CHANNEL: &str = "default";

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ProfileDoc {
    name: String,
    #[serde(default = "native")]
    scheme: String,
    #[serde(default)]
    root: Option<String>,
    #[serde(default)]
    key: Option<String>,
    #[serde(default)]
    channel: Option<String>,
    #[serde(default)]
    targets: Option<Vec<String>>,
    #[serde(default)]
    file: Option<String>,
    #[serde(default)]
    signature: Option<String>,
    #[serde(default)]
    identity: Option<String>,
    #[serde(default)]
    namespace: Option<String>,
    #[serde(default)]
    version_file: Option<String>,
    #[serde(default)]
    origin: Option<String>,
    #[serde(default)]
    required_entries: Vec<String>,
    #[serde(default)]
    mirrors: Vec<MirrorDoc>,
    #[serde(default)]
    vantages: Vec<VantageDoc>,
}

fn native() -> String {
    "native".into()
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct MirrorDoc {
    url: String,
    #[serde(default)]
    country: Option<String>,
    #[serde(default)]
    name: Option<String>,
    #[serde(default)]
    proxy: Option<String>,
    /// TUF only: where the mirror serves targets (default: `url` + `targets/`).
    #[serde(default)]
    targets_url: Option<String>,
    /// The vantage this mirror's documents were seen through, as a label only: evidence
    /// bundles name it for each of their directories, which are then not asked through
    /// the run's vantages again.
    #[serde(default)]
    vantage: Option<String>,
    /// With the vantage: the address the documents came from (`--each-address`).
    #[serde(default)]
    address: Option<std::net::IpAddr>,
    /// The mirror's URL as the run that took the evidence named it: reports name the entry
    /// so, while its files are read from `url`.
    #[serde(default)]
    source: Option<String>,
    /// With the vantage: the entry served nothing when the evidence was taken, and why (as
    /// that run recorded it): it is shown unreachable, and nothing is read.
    #[serde(default)]
    unreached: Option<String>,
    /// `corrupt: reason` or `incomplete: reason`: what the run that took the evidence found
    /// of the entry's artifacts, which a bundle does not keep (its claim, shown as such).
    #[serde(default)]
    artifacts_failed: Option<String>,
}

/// Where a mirror's files are read from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Location {
    Http(Url),
    Dir(PathBuf),
}

#[derive(Clone)]
pub struct Mirror {
    /// The URL as the user wrote it: reports name mirrors this way.
    pub url: String,
    pub location: Location,
    pub country: String,
    pub name: Option<String>,
    pub proxy: Option<String>,
    /// The vantage this entry is reached through, in a run with vantages (see
    /// [`crate::vantage`]); a label given by a profile for evidence it already holds.
    pub vantage: Option<String>,
    /// With `--each-address`: the one address this entry's host name is pinned to, with
    /// the same Host header and TLS name as the mirror's URL.
    pub address: Option<IpAddr>,
    /// How this entry's requests travel when not by this machine's HTTP client.
    pub route: Route,
    /// From an evidence bundle: what the run that took it found of this entry's artifacts.
    pub artifacts_claim: Option<ArtifactsClaim>,
}

/// Written by hand so that `{:?}` of a mirror (or a profile) does not show its proxy's
/// password: an entry through a proxy vantage carries that proxy's URL.
impl std::fmt::Debug for Mirror {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Mirror")
            .field("url", &self.url)
            .field("location", &self.location)
            .field("country", &self.country)
            .field("name", &self.name)
            .field(
                "proxy",
                &self.proxy.as_deref().map(crate::vantage::hide_password),
            )
            .field("vantage", &self.vantage)
            .field("address", &self.address)
            .field("route", &self.route)
            .field("artifacts_claim", &self.artifacts_claim)
            .finish()
    }
}

/// An evidence bundle's word on an entry's artifacts, which it does not keep: a re-check
/// that reads no artifact shows the entry as that run judged it, naming the claim.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ArtifactsClaim {
    /// `corrupt` rather than `incomplete`.
    pub corrupt: bool,
    pub reason: String,
}

impl ArtifactsClaim {
    fn parse(text: &str) -> Option<ArtifactsClaim> {
        let (status, reason) = text.split_once(':')?;
        let corrupt = match status.trim() {
            "corrupt" => true,
            "incomplete" => false,
            _ => return None,
        };
        Some(ArtifactsClaim {
            corrupt,
            reason: reason.trim().to_owned(),
        })
    }
}

/// How a mirror entry's bytes travel.
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash)]
pub enum Route {
    /// This machine's HTTP client, directly or through `proxy`; local directories.
    #[default]
    Http,
    /// Another way of getting documents (Globalping's probes), for matrix entry `entry`.
    Via(Via),
    /// The vantage could not be set up (a Tor client that did not start): every request
    /// fails with this reason, rather than going out by another path.
    Unavailable(String),
}

/// A [`Transport`] carrying one matrix entry's requests. Two are the same route when they
/// are the same transport for the same entry.
#[derive(Clone)]
pub struct Via {
    pub transport: std::sync::Arc<dyn crate::fetch::Transport>,
    pub entry: usize,
}

impl std::fmt::Debug for Via {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Via({}, entry {})", self.transport.name(), self.entry)
    }
}

impl PartialEq for Via {
    fn eq(&self, other: &Via) -> bool {
        std::sync::Arc::ptr_eq(&self.transport, &other.transport) && self.entry == other.entry
    }
}

impl Eq for Via {}

impl std::hash::Hash for Via {
    fn hash<H: std::hash::Hasher>(&self, h: &mut H) {
        self.transport.name().hash(h);
        self.entry.hash(h);
    }
}

#[derive(Debug, Clone)]
pub struct Profile {
    pub name: String,
    pub scheme: String,
    /// The pinned trust: the root envelope (native) or the scheme's key file.
    pub root: PathBuf,
    pub channel: String,
    pub mirrors: Vec<Mirror>,
    /// Where the signed file lives on each mirror, for schemes other than native.
    pub signed: Option<SignedSource>,
    /// For `scheme = "tuf"`: the targets to check and where mirrors serve targets.
    pub tuf: Option<TufSource>,
    /// The `[[vantages]]` every mirror is checked through (none: this machine only).
    pub vantages: Vec<VantageSpec>,
}

/// A TUF repository as a profile names it: `root` (in [`Profile::root`]) is the pinned
/// initial root.json, each mirror's URL is its metadata URL.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct TufSource {
    /// Target paths checked on every mirror (through the delegations).
    pub targets: Vec<String>,
    /// Mirrors (by their URL as written) that serve targets elsewhere than below
    /// `URL/targets/`.
    pub targets_at: Vec<(String, Location)>,
}

impl TufSource {
    /// Where `mirror` serves targets: its own `targets_url`, else `targets/` below it.
    pub fn targets_location(&self, mirror: &Mirror) -> Location {
        if let Some((_, at)) = self.targets_at.iter().find(|(u, _)| *u == mirror.url) {
            return at.clone();
        }
        match &mirror.location {
            Location::Http(u) => Location::Http(u.join("targets/").unwrap_or_else(|_| u.clone())),
            Location::Dir(d) => Location::Dir(d.join("targets")),
        }
    }
}

/// A signed file in one of the [`crate::schemes`] formats, as laid out on every mirror.
/// Paths are relative to each mirror's URL; `{version}` in `file` and `signature` is
/// replaced by the version read from `version_file`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SignedSource {
    pub format: Format,
    pub file: String,
    /// Detached signature; `None` for embedded signify lists and signed notes.
    pub signature: Option<String>,
    pub identity: Option<String>,
    pub namespace: Option<String>,
    /// Unsigned update metadata naming the current version (GrapheneOS `DEVICE-CHANNEL`).
    pub version_file: Option<String>,
    /// Signed notes: the checkpoint origin (log name) the note must carry. A key that
    /// signs several logs must not let one log's checkpoint pass for another's.
    pub origin: Option<String>,
    /// Signed checksum lists: names the list must include. One key often signs a list per
    /// architecture; these bind the list to the one this profile is about.
    pub required_entries: Vec<String>,
}

impl SignedSource {
    /// `file` and `signature` for one version.
    pub fn paths_for(&self, version: Option<u64>) -> (String, Option<String>) {
        let fill = |s: &str| match version {
            Some(v) => s.replace("{version}", &v.to_string()),
            None => s.to_owned(),
        };
        (fill(&self.file), self.signature.as_deref().map(fill))
    }
}

impl Profile {
    /// The largest metadata document a run of this profile accepts when the user sets no
    /// limit: a native release or signed file is small, but a TUF repository's targets
    /// metadata may lawfully reach TUF's own bound (each role is still held to its own
    /// limit, or to the length the signed metadata above it gives).
    pub fn default_max_metadata_bytes(&self) -> u64 {
        if self.tuf.is_some() {
            let tuf = crate::schemes::tuf::Config::default();
            tuf.targets_max_bytes
                .max(tuf.snapshot_max_bytes)
                .max(tuf.root_max_bytes)
        } else {
            crate::envelope::DEFAULT_MAX_BYTES
        }
    }

    pub fn load(path: &Path) -> Result<Profile, ProfileError> {
        let shown = path.display().to_string();
        let bytes = crate::fsutil::read_limited(path, MAX_PROFILE_BYTES).map_err(|e| {
            ProfileError::Read {
                path: shown.clone(),
                reason: e.to_string(),
            }
        })?;
        let text = std::str::from_utf8(&bytes).map_err(|_| ProfileError::Parse {
            path: shown.clone(),
            reason: "not UTF-8".into(),
        })?;
        let base = path.parent().unwrap_or(Path::new("."));
        // Every error names the file: a user with several profiles must know which to fix.
        Profile::parse(text, base).map_err(|e| match e {
            ProfileError::Parse { reason, .. } => ProfileError::Parse {
                path: shown,
                reason,
            },
            ProfileError::Mirror { url, reason } => ProfileError::Parse {
                path: shown,
                reason: format!("mirror {url:?}: {reason}"),
            },
            ProfileError::Tuf { error, .. } => ProfileError::Tuf { path: shown, error },
            other => other,
        })
    }

    /// Parses profile text; relative paths are resolved against `base`.
    pub fn parse(text: &str, base: &Path) -> Result<Profile, ProfileError> {
        let doc: ProfileDoc = toml::from_str(text).map_err(|e| {
            let message = crate::envelope::one_line(&e.message());
            ProfileError::Parse {
                path: String::new(),
                // People fix TOML in an editor: say where.
                reason: match e.span() {
                    Some(span) => {
                        let (line, col) = line_col(text, span.start);
                        format!("line {line}, column {col}: {message}")
                    }
                    None => message,
                },
            }
        })?;
        let bad = |reason: String| ProfileError::Parse {
            path: String::new(),
            reason,
        };
        if doc.name.is_empty() {
            return Err(bad("name is empty".into()));
        }
        // The scheme decides which fields are required, so a typo in it must be named
        // before any complaint about a field that only the misspelt scheme would need.
        check_scheme(&doc.scheme).map_err(bad)?;
        let is_tuf = doc.scheme == "tuf";
        let channel = match (&doc.channel, is_tuf) {
            (Some(c), _) => c.clone(),
            (None, true) => TUF_DEFAULT_CHANNEL.to_owned(),
            (None, false) => return Err(bad("missing field `channel`".into())),
        };
        if channel.is_empty() {
            return Err(bad("channel is empty".into()));
        }
        let tuf_error = |error| ProfileError::Tuf {
            path: String::new(),
            error,
        };
        let (root, signed, mut tuf) = if is_tuf {
            let (root, tuf) = tuf_source(&doc).map_err(tuf_error)?;
            (root, None, Some(tuf))
        } else {
            if doc.targets.is_some() {
                return Err(tuf_error(TufProfileError::OnlyTuf("targets")));
            }
            if doc.mirrors.iter().any(|m| m.targets_url.is_some()) {
                return Err(tuf_error(TufProfileError::OnlyTuf("targets_url")));
            }
            let (root, signed) = signed_source(&doc).map_err(bad)?;
            (root, signed, None)
        };
        for m in &doc.mirrors {
            if let (Some(t), Some(tuf)) = (&m.targets_url, tuf.as_mut()) {
                let named = m.source.as_ref().unwrap_or(&m.url);
                let at = Mirror::new(t, UNKNOWN_COUNTRY, None, None, base).map_err(|e| {
                    tuf_error(TufProfileError::TargetsUrl {
                        url: m.url.clone(),
                        reason: match e {
                            ProfileError::Mirror { reason, .. } => reason,
                            other => other.to_string(),
                        },
                    })
                })?;
                tuf.targets_at.push((named.clone(), at.location));
            }
        }
        let mirrors = doc
            .mirrors
            .into_iter()
            .map(|m| {
                let country = match m.country {
                    Some(c) => check_country_hinted(&c).map_err(|reason| ProfileError::Mirror {
                        url: m.url.clone(),
                        reason,
                    })?,
                    None => UNKNOWN_COUNTRY.into(),
                };
                // The same mistakes as on the command line: `mirror.example.org/x/` would
                // otherwise be a local directory that can only fail.
                refuse_bare_host(&m.url, base)?;
                let mut mirror = Mirror::new(&m.url, &country, m.name, m.proxy, base)?;
                if m.address.is_some() && m.vantage.is_none() {
                    return Err(ProfileError::Mirror {
                        url: m.url.clone(),
                        reason: "address is only given with vantage (evidence bundles)".into(),
                    });
                }
                if let Some(claim) = &m.artifacts_failed {
                    mirror.artifacts_claim =
                        Some(ArtifactsClaim::parse(claim).ok_or_else(|| ProfileError::Mirror {
                            url: m.url.clone(),
                            reason: "artifacts_failed must be \"corrupt: REASON\" or \"incomplete: REASON\""
                                .into(),
                        })?);
                }
                if let Some(v) = &m.vantage {
                    crate::vantage::check_name(v).map_err(|reason| ProfileError::Mirror {
                        url: m.url.clone(),
                        reason: format!("vantage: {reason}"),
                    })?;
                    // A label says through which vantage the files *held here* were seen.
                    // On a URL it would be fetched from this machine's own network and
                    // reported as seen through that vantage (Tor, a country's proxy).
                    if !matches!(mirror.location, Location::Dir(_)) {
                        return Err(ProfileError::Mirror {
                            url: m.url.clone(),
                            reason: "a vantage label is for evidence a bundle holds: this entry would be fetched from here, not from a directory inside the bundle".into(),
                        });
                    }
                }
                mirror.vantage = m.vantage;
                mirror.address = m.address;
                if let Some(why) = m.unreached {
                    mirror.route = Route::Unavailable(format!(
                        "served nothing when the evidence was taken ({why})"
                    ));
                }
                if let Some(source) = m.source {
                    mirror.url = source;
                }
                Ok(mirror)
            })
            .collect::<Result<Vec<_>, _>>()?;
        let vantages = doc
            .vantages
            .into_iter()
            .enumerate()
            .map(|(i, v)| {
                v.into_spec()
                    .map_err(|reason| bad(format!("vantage {}: {reason}", i + 1)))
            })
            .collect::<Result<Vec<_>, _>>()?;
        crate::vantage::check_all(&vantages).map_err(|e| bad(e.to_string()))?;
        Ok(Profile {
            name: doc.name,
            scheme: doc.scheme,
            root: base.join(root),
            channel,
            mirrors,
            signed,
            tuf,
            vantages,
        })
    }
}

/// The fields of a TUF profile: `root`, optional `targets`; none of the signed-file
/// fields (a TUF repository names its own files).
fn tuf_source(doc: &ProfileDoc) -> Result<(String, TufSource), TufProfileError> {
    let unused = [
        ("key", doc.key.is_some()),
        ("file", doc.file.is_some()),
        ("signature", doc.signature.is_some()),
        ("identity", doc.identity.is_some()),
        ("namespace", doc.namespace.is_some()),
        ("version_file", doc.version_file.is_some()),
        ("origin", doc.origin.is_some()),
        ("required_entries", !doc.required_entries.is_empty()),
    ];
    if let Some((field, _)) = unused.iter().find(|(_, set)| *set) {
        return Err(TufProfileError::Unused(field));
    }
    let root = doc.root.clone().ok_or(TufProfileError::NoRoot)?;
    let targets = doc.targets.clone().unwrap_or_default();
    if targets.len() > MAX_TARGETS {
        return Err(TufProfileError::TooManyTargets);
    }
    for t in &targets {
        check_target_path(t).map_err(|reason| TufProfileError::Target {
            name: t.clone(),
            reason,
        })?;
    }
    Ok((
        root,
        TufSource {
            targets,
            targets_at: Vec::new(),
        },
    ))
}

/// A target path the checker may ask every mirror for: relative, `/`-separated, without
/// empty, `.` or `..` segments (URL resolution would fetch another file than the one
/// named) and without control characters.
pub fn check_target_path(path: &str) -> Result<(), &'static str> {
    if path.is_empty() {
        return Err("empty");
    }
    if path.len() > 1024 {
        return Err("longer than 1024 bytes");
    }
    if path.chars().any(char::is_control) {
        return Err("has control characters");
    }
    if path
        .split('/')
        .any(|s| s.is_empty() || s == "." || s == "..")
    {
        return Err(
            "has an empty, . or .. segment (a relative path below the targets URL is needed)",
        );
    }
    Ok(())
}

/// Every value `scheme` may take.
const KNOWN_SCHEMES: &str = "native, signify, minisign, sshsig, note, tuf";

fn check_scheme(scheme: &str) -> Result<(), String> {
    if scheme == "native" || scheme == "tuf" || Format::from_scheme(scheme).is_some() {
        return Ok(());
    }
    Err(unknown_scheme(scheme))
}

/// Names are matched exactly (a profile is a contract, and `TUF` is not a spelling any
/// other tool would accept either), so a known name in other case gets a pointer to it.
fn unknown_scheme(scheme: &str) -> String {
    let lower = scheme.to_ascii_lowercase();
    let hint = if lower != scheme && check_scheme(&lower).is_ok() {
        format!("; scheme names are lowercase: {lower:?}")
    } else {
        String::new()
    };
    format!("unknown scheme {scheme:?} (known: {KNOWN_SCHEMES}){hint}")
}

/// Which fields a scheme needs: `root` for native, `key` and `file` for the others, and
/// for OpenSSH signatures the identity and namespace the signature must be bound to.
fn signed_source(doc: &ProfileDoc) -> Result<(String, Option<SignedSource>), String> {
    let extras = [
        ("file", &doc.file),
        ("signature", &doc.signature),
        ("identity", &doc.identity),
        ("namespace", &doc.namespace),
        ("version_file", &doc.version_file),
        ("key", &doc.key),
        ("origin", &doc.origin),
    ];
    if doc.scheme == "native" {
        if let Some((field, _)) = extras.iter().find(|(_, v)| v.is_some()) {
            return Err(format!(
                "{field} is not used by scheme \"native\" (it takes root)"
            ));
        }
        if !doc.required_entries.is_empty() {
            return Err("required_entries is not used by scheme \"native\"".into());
        }
        let root = doc.root.clone().ok_or("scheme \"native\" needs root")?;
        return Ok((root, None));
    }
    let format = Format::from_scheme(&doc.scheme).ok_or_else(|| unknown_scheme(&doc.scheme))?;
    let scheme = format.as_str();
    if doc.root.is_some() {
        return Err(format!("scheme {scheme:?} takes key, not root"));
    }
    let key = doc
        .key
        .clone()
        .ok_or(format!("scheme {scheme:?} needs key"))?;
    let file = doc
        .file
        .clone()
        .ok_or(format!("scheme {scheme:?} needs file"))?;
    let paths = [
        Some(&file),
        doc.signature.as_ref(),
        doc.version_file.as_ref(),
    ];
    for p in paths.into_iter().flatten() {
        let filled = p.replace("{version}", "1");
        crate::release::check_artifact_name(&filled)
            .map_err(|_| format!("{p:?} is not a safe relative path under the mirror URL"))?;
    }
    match format {
        Format::Minisign if doc.signature.is_none() => {
            return Err("scheme \"minisign\" needs signature (the .minisig path)".into());
        }
        Format::Sshsig if doc.signature.is_none() => {
            return Err("scheme \"sshsig\" needs signature (the .sig path)".into());
        }
        Format::Sshsig if doc.namespace.as_deref().is_none_or(str::is_empty) => {
            return Err("scheme \"sshsig\" needs namespace: an OpenSSH signature is only meaningful for the namespace it was made for".into());
        }
        Format::Sshsig if doc.identity.as_deref().is_none_or(str::is_empty) => {
            return Err("scheme \"sshsig\" needs identity (the allowed_signers principal)".into());
        }
        Format::Note if doc.origin.is_none() => {
            return Err("scheme \"note\" needs origin (the log's name, line one of its checkpoints): a key may sign notes for several logs".into());
        }
        Format::Note if doc.signature.is_some() => {
            return Err(
                "scheme \"note\" takes no signature: the signatures are in the note".into(),
            );
        }
        _ => {}
    }
    if doc.version_file.is_some() && format != Format::Sshsig {
        return Err("version_file works with scheme \"sshsig\" only: the image must be streamed through the digest its signature names".into());
    }
    if doc.origin.as_deref().is_some_and(str::is_empty) {
        return Err("origin is empty".into());
    }
    if doc.origin.is_some() && format != Format::Note {
        return Err("origin is only used by scheme \"note\"".into());
    }
    if !doc.required_entries.is_empty() && (format != Format::Signify || doc.signature.is_some()) {
        return Err(
            "required_entries is only used by scheme \"signify\" with an embedded checksum list"
                .into(),
        );
    }
    if format != Format::Sshsig && (doc.identity.is_some() || doc.namespace.is_some()) {
        return Err("identity and namespace are only used by scheme \"sshsig\"".into());
    }
    let templated = file.contains("{version}")
        || doc
            .signature
            .as_deref()
            .is_some_and(|s| s.contains("{version}"));
    if templated && doc.version_file.is_none() {
        return Err("{version} in file or signature needs version_file".into());
    }
    Ok((
        key,
        Some(SignedSource {
            format,
            file,
            signature: doc.signature.clone(),
            identity: doc.identity.clone(),
            namespace: doc.namespace.clone(),
            version_file: doc.version_file.clone(),
            origin: doc.origin.clone(),
            required_entries: doc.required_entries.clone(),
        }),
    ))
}

/// An assigned ISO 3166-1 alpha-2 code (or `ZZ`, unknown), stored uppercase. A profile is
/// explicit, so a ccTLD spelling such as `UK` is refused with a hint rather than silently
/// rewritten: the report then shows exactly the code the profile says, and one country can
/// never appear under two codes. Unassigned codes (`EU`, `XK`, typos) are refused because a
/// report grouped by them would name a country no one can look up.
pub fn check_country(c: &str) -> Result<String, String> {
    let shown = crate::text::shown(c);
    let upper = c.to_ascii_uppercase();
    match crate::country::iso_code(c) {
        Some(iso) if iso == upper => Ok(upper),
        Some(iso) => Err(format!(
            "country \"{shown}\" is not how ISO 3166-1 writes it: did you mean {iso}?"
        )),
        None => Err(format!(
            "country \"{shown}\" is not an assigned ISO 3166-1 alpha-2 code (ZZ means unknown)"
        )),
    }
}

/// [`check_country`], with the code for a country written out (`France`: did you mean FR?),
/// for the command line and profiles alike.
pub fn check_country_hinted(c: &str) -> Result<String, String> {
    check_country(c).map_err(|reason| match crate::country::code_for_name(c) {
        Some(code) if !reason.contains("did you mean") => format!("{reason}; did you mean {code}?"),
        _ => reason,
    })
}

impl Mirror {
    pub fn new(
        url: &str,
        country: &str,
        name: Option<String>,
        proxy: Option<String>,
        base: &Path,
    ) -> Result<Mirror, ProfileError> {
        let bad = |reason: &str| ProfileError::Mirror {
            url: url.to_owned(),
            reason: reason.to_owned(),
        };
        let lower = url.to_ascii_lowercase();
        let location = if lower.starts_with("http://") || lower.starts_with("https://") {
            let mut u = Url::parse(url).map_err(|e| bad(&e.to_string()))?;
            if !u.path().ends_with('/') {
                let p = format!("{}/", u.path());
                u.set_path(&p);
            }
            Location::Http(u)
        } else if lower.starts_with("file://") {
            let u = Url::parse(url).map_err(|e| bad(&e.to_string()))?;
            Location::Dir(u.to_file_path().map_err(|_| bad("not a local file URL"))?)
        } else if lower.contains("://") {
            return Err(bad(
                "only http, https, file URLs and local directories are supported",
            ));
        } else {
            Location::Dir(base.join(url))
        };
        if let Some(p) = &proxy {
            Url::parse(p).map_err(|e| bad(&format!("proxy: {e}")))?;
        }
        Ok(Mirror {
            url: url.to_owned(),
            location,
            country: country.to_owned(),
            name,
            proxy,
            vantage: None,
            address: None,
            route: Route::Http,
            artifacts_claim: None,
        })
    }

    /// Parses the command line's `URL[=CC]`. Typing mistakes a user makes here are refused
    /// rather than turned into a mirror that can only fail: a country that is not an ISO
    /// code, and a host name without a scheme (which would be read as a local directory).
    pub fn from_arg(arg: &str, base: &Path) -> Result<Mirror, ProfileError> {
        let (url, country) = match arg.rsplit_once('=') {
            Some((url, cc)) if !url.contains('?') && looks_like_country(cc) => {
                let country = check_country_hinted(cc).map_err(|reason| ProfileError::Mirror {
                    url: url.to_owned(),
                    reason,
                })?;
                (url, country)
            }
            _ => (arg, UNKNOWN_COUNTRY.to_owned()),
        };
        refuse_bare_host(url, base)?;
        Mirror::new(url, &country, None, None, base)
    }

    pub fn label(&self) -> &str {
        self.name.as_deref().unwrap_or(&self.url)
    }
}

/// The text after the last `=` is meant as a country when it is a word (`DE`, `Japan`),
/// not the end of a URL or path.
fn looks_like_country(s: &str) -> bool {
    (2..=60).contains(&s.len())
        && s.chars()
            .all(|c| c.is_alphabetic() || c == ' ' || c == '-' || c == '\'')
}

/// A string with no scheme that names no existing path but starts with something like a
/// host (`mirror.example.nl/...`, `localhost:8080/...`) is a URL missing its scheme.
fn refuse_bare_host(url: &str, base: &Path) -> Result<(), ProfileError> {
    match bare_host_hint(url, base) {
        None => Ok(()),
        Some(reason) => Err(ProfileError::Mirror {
            url: url.to_owned(),
            reason,
        }),
    }
}

/// What [`refuse_bare_host`] says of `url`: `None` when it is not a host name missing its
/// scheme, else the reason with the `https://` URL it probably means. Every place that
/// takes a URL from a user words this mistake the same way.
pub fn bare_host_hint(url: &str, base: &Path) -> Option<String> {
    if url.contains("://") || base.join(url).exists() {
        return None;
    }
    let first = url.split('/').next().unwrap_or("");
    let (host, port) = match first.rsplit_once(':') {
        Some((h, p)) if !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit()) => (h, true),
        _ => (first, false),
    };
    let hostlike = !host.is_empty()
        && !host.starts_with('.')
        && !host.ends_with('.')
        && host
            .chars()
            .all(|c| c.is_alphanumeric() || c == '.' || c == '-')
        && (port || host.contains('.'));
    if !hostlike {
        return None;
    }
    let suggestion = if url.ends_with('/') {
        format!("https://{url}")
    } else {
        format!("https://{url}/")
    };
    Some(format!(
        "not an existing directory, and it looks like a host name: did you mean {}?",
        crate::text::shown(&suggestion)
    ))
}

/// `line:column` (both from 1) of a byte offset in `text`.
fn line_col(text: &str, offset: usize) -> (usize, usize) {
    let before = text.get(..offset).unwrap_or(text);
    let line = before.matches('\n').count() + 1;
    let col = before.rsplit('\n').next().unwrap_or("").chars().count() + 1;
    (line, col)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_the_contract_example() {
        let p = Profile::parse(
            r#"
name = "exampleos"
scheme = "native"
root = "keys/exampleos.root.json"
channel = "stable"
[[mirrors]]
url = "https://mirror.example.fr/exampleos"
country = "fr"
[[mirrors]]
url = "mirrors/local"
country = "DE"
name = "local"
"#,
            Path::new("/p"),
        )
        .unwrap();
        assert_eq!(p.root, PathBuf::from("/p/keys/exampleos.root.json"));
        assert_eq!(p.mirrors[0].country, "FR");
        assert_eq!(
            p.mirrors[0].location,
            Location::Http(Url::parse("https://mirror.example.fr/exampleos/").unwrap())
        );
        assert_eq!(
            p.mirrors[1].location,
            Location::Dir(PathBuf::from("/p/mirrors/local"))
        );
    }

    #[test]
    fn mirror_args() {
        let m = Mirror::from_arg("http://127.0.0.1:1/x=de", Path::new(".")).unwrap();
        assert_eq!(m.country, "DE");
        assert_eq!(m.url, "http://127.0.0.1:1/x");
        let m = Mirror::from_arg("http://h/?a=b", Path::new(".")).unwrap();
        assert_eq!(m.country, UNKNOWN_COUNTRY);
        assert!(Mirror::from_arg("ftp://h/", Path::new(".")).is_err());
    }

    #[test]
    fn mirror_args_refuse_bare_hosts_and_non_iso_countries() {
        let err = |a: &str| {
            Mirror::from_arg(a, Path::new("/nonexistent"))
                .unwrap_err()
                .to_string()
        };
        let e = err("mirror.example.nl/exampleos/=NL");
        assert!(
            e.contains("did you mean https://mirror.example.nl/exampleos/?"),
            "{e}"
        );
        assert!(err("localhost:8080/x").contains("https://localhost:8080/x/"));
        let e = err("mirrors/jp-tokyo=Japan");
        assert!(e.contains("\"Japan\"") && e.contains("JP"), "{e}");
        assert!(err("http://h/x=QQ").contains("QQ"));
        // Plain relative directories and URLs with queries are still taken.
        let m = Mirror::from_arg("mirrors/jp-tokyo=JP", Path::new("/p")).unwrap();
        assert_eq!(m.country, "JP");
        assert_eq!(
            m.location,
            Location::Dir(PathBuf::from("/p/mirrors/jp-tokyo"))
        );
        assert!(Mirror::from_arg("http://h/?lang=en", Path::new(".")).is_ok());
    }

    #[test]
    fn profiles_refuse_bare_hosts_and_spelled_out_countries_naming_the_file() {
        let dir = tempfile::tempdir().unwrap();
        let load = |mirror: &str| {
            let p = dir.path().join("p.toml");
            std::fs::write(
                &p,
                format!(
                    "name = \"x\"\nroot = \"r.json\"\nchannel = \"s\"\n[[mirrors]]\n{mirror}\n"
                ),
            )
            .unwrap();
            Profile::load(&p).map(|_| ()).map_err(|e| e.to_string())
        };
        let e = load("url = \"mirror.example.org/x/\"").unwrap_err();
        assert!(e.contains("p.toml"), "{e}");
        assert!(
            e.contains("did you mean https://mirror.example.org/x/?"),
            "{e}"
        );
        let e = load("url = \"https://m.example.org/\"\ncountry = \"France\"").unwrap_err();
        assert!(
            e.contains("p.toml") && e.contains("did you mean FR?"),
            "{e}"
        );
        // An existing directory with a dot in its name is still a local mirror.
        std::fs::create_dir(dir.path().join("mirror.local")).unwrap();
        assert!(load("url = \"mirror.local/\"").is_ok());
    }

    #[test]
    fn an_unknown_scheme_is_named_before_the_fields_it_would_need() {
        let parse = |scheme: &str| {
            Profile::parse(
                &format!("name = \"x\"\nscheme = \"{scheme}\"\nroot = \"r.json\"\n"),
                Path::new("."),
            )
            .unwrap_err()
            .to_string()
        };
        // No channel, as in a TUF profile: the typo is the news, not the missing channel.
        let e = parse("tuff");
        assert!(e.contains("unknown scheme \"tuff\""), "{e}");
        assert!(
            e.contains("native, signify, minisign, sshsig, note, tuf"),
            "{e}"
        );
        let e = parse("TUF");
        assert!(
            e.contains("unknown scheme \"TUF\"") && e.contains("lowercase: \"tuf\""),
            "{e}"
        );
        assert!(!parse("Tufx").contains("lowercase"));
    }

    #[test]
    fn toml_errors_name_line_and_column() {
        let e = Profile::parse(
            "name = \"x\"\nchannel = \"s\"\nroot = [1,\n",
            Path::new("."),
        )
        .unwrap_err()
        .to_string();
        assert!(e.contains("line 3, column"), "{e}");
        let e = Profile::parse("name = \"x\"\n  bogus = 1\n", Path::new("."))
            .unwrap_err()
            .to_string();
        assert!(e.contains("line 2, column 3"), "{e}");
        assert_eq!(line_col("ab\ncdé\nx", 7), (2, 4));
    }
}
