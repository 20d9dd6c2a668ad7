//! The "world builder" for scenario tests: a temporary directory holding a pinned root, a
//! pool of deterministic keys, signed releases and roots, and mirrors (directories, or the
//! same directories behind a real loopback HTTP server), then one call that runs
//! `mirrorproof::run::check` over all of it.
//!
//! Everything goes through the library's own publisher API (`publish::root_envelope`,
//! `publish::release_envelope`, `Envelope::sign`, `publish::build_mirror`), so the tests
//! exercise the same bytes a real publisher would produce. Where a test needs a document
//! no honest publisher could make (wrong project, bad artifact name, tampered payload), the
//! payload JSON is edited by hand *before* signing, or the envelope is edited *after* it.
//!
//! Time is fixed (`World::now`), so no test depends on the wall clock; keys come from
//! fixed seeds, so failures are reproducible.
#![allow(dead_code)]

pub mod binary;
pub mod chromium;
pub mod ecosystems;
pub mod faulty;
pub mod globalping;
pub mod history;
pub mod http;
pub mod outside;
pub mod proxy;
pub mod tor;
pub mod vantages;

use std::collections::BTreeMap;
use std::ops::Deref;
use std::path::{Path, PathBuf};
use std::time::Duration;

use mirrorproof::envelope::{DEFAULT_MAX_BYTES, Envelope, RELEASE_TYPE};
use mirrorproof::fetch::{ArtifactMode, FetchConfig};
use mirrorproof::keys::SecretKey;
use mirrorproof::profile::Mirror;
use mirrorproof::publish::{self, ReleaseSpec, RootSpec};
use mirrorproof::report::{MirrorReport, Report};
use mirrorproof::run::{self, CheckError, CheckOptions};
use mirrorproof::schemes::native::{self, Native};
use mirrorproof::state::{ChannelState, StateStore};
use mirrorproof::time::{self, Timestamp};
use serde_json::Value;
use sha2::{Digest, Sha256};

pub use http::{Behavior, Server};
pub use mirrorproof::report::Status;

pub const PROJECT: &str = "exampleos";
/// The version most scenarios call "latest", the one before it, and their one artifact.
pub const V: u64 = 2026112200;
pub const OLD: u64 = 2026110100;
pub const ZIP: &str = "factory.zip";
pub const CHANNEL: &str = "stable";
/// The instant every check runs at, unless a test moves `World::now`.
pub const NOW: &str = "2026-11-22T14:00:00Z";

pub fn days(n: i64) -> chrono::TimeDelta {
    chrono::TimeDelta::days(n)
}

/// A key from a fixed seed: `pool` keeps the root, release and stranger keys apart.
fn fixed_key(pool: u8, i: usize) -> SecretKey {
    let mut seed = [pool; 32];
    seed[0] = i as u8;
    SecretKey::from_seed(&seed).expect("fixed seed gives a valid key")
}

/// Deterministic artifact bytes, different per name and version, so two releases that
/// list the same name still differ unless a test wants them equal.
pub fn pattern(name: &str, version: u64, len: usize) -> Vec<u8> {
    let seed = Sha256::digest(format!("{name}\0{version}"));
    let mut x = u64::from_le_bytes(seed[..8].try_into().unwrap()) | 1;
    (0..len)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x as u8
        })
        .collect()
}

pub fn sha256_hex(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

/// One test's universe. Root v1 is pinned: one root key (`root_keys[0]`, threshold 1) and
/// three release keys (`release_keys[0..3]`, threshold 2). More keys wait in the pools for
/// rotations: `root_keys[1..4]`, `release_keys[3..6]`.
pub struct World {
    dir: tempfile::TempDir,
    pub now: Timestamp,
    pub channel: String,
    pub root_keys: Vec<SecretKey>,
    pub release_keys: Vec<SecretKey>,
    /// Trusted by nobody.
    pub stranger: SecretKey,
    pub artifacts: ArtifactMode,
    pub fetch: FetchConfig,
    /// `None` is `--no-state`; see [`World::enable_state`].
    pub state: Option<StateStore>,
    mirrors: Vec<MirrorEntry>,
}

struct MirrorEntry {
    name: String,
    country: String,
    dir: PathBuf,
    url: String,
    proxy: Option<String>,
    server: Option<Server>,
}

impl Default for World {
    fn default() -> Self {
        World::new()
    }
}

impl World {
    pub fn new() -> World {
        let dir = tempfile::tempdir().expect("tempdir");
        let w = World {
            dir,
            now: time::parse(NOW).unwrap(),
            channel: CHANNEL.into(),
            root_keys: (0..4).map(|i| fixed_key(0x52, i)).collect(),
            release_keys: (0..6).map(|i| fixed_key(0x53, i)).collect(),
            stranger: fixed_key(0x58, 0),
            artifacts: ArtifactMode::Full,
            // Loopback and local disks answer at once; tests that want a timeout lower it.
            fetch: FetchConfig {
                timeout: Duration::from_secs(5),
                artifact_timeout: Duration::from_secs(5),
                ..FetchConfig::default()
            },
            state: None,
            mirrors: Vec::new(),
        };
        let v1 = w.root(1).build();
        w.pin(&v1);
        w
    }

    pub fn path(&self) -> &Path {
        self.dir.path()
    }

    pub fn pinned_path(&self) -> PathBuf {
        self.path().join("pinned-root.json")
    }

    /// Replaces the root the user pinned (the file `check` loads before each run).
    pub fn pin(&self, root: &Root) {
        std::fs::write(self.pinned_path(), root.bytes()).unwrap();
    }

    pub fn release_key_id(&self, i: usize) -> String {
        self.release_keys[i].public().id().to_string()
    }

    /// Keeps rollback state in `<world>/state`, as `--state DIR` would.
    pub fn enable_state(&mut self) -> &mut Self {
        self.state = Some(StateStore::new(self.path().join("state")));
        self
    }

    pub fn state_path(&self) -> PathBuf {
        StateStore::new(self.path().join("state"))
            .path(PROJECT, &self.channel)
            .unwrap()
    }

    /// The state file as written, parsed; `None` when there is none.
    pub fn read_state(&self) -> Option<ChannelState> {
        let bytes = std::fs::read(self.state_path()).ok()?;
        Some(serde_json::from_slice(&bytes).expect("state file is JSON"))
    }

    /// Starts a root document; defaults repeat v1's keys and thresholds, signed by its own
    /// root keys, expiring a year after `now`.
    pub fn root(&self, version: u64) -> RootBuilder<'_> {
        RootBuilder {
            w: self,
            version,
            root_keys: vec![0],
            root_threshold: 1,
            release_keys: vec![0, 1, 2],
            release_threshold: 2,
            // Far ahead: the few tests that run the binary judge at wall-clock time.
            expires: self.now + days(3650),
            signers: None,
        }
    }

    /// Starts a release: published a day before `now`, expiring 30 days after it, no
    /// artifacts and no signatures until the test asks.
    pub fn release(&self, version: u64) -> ReleaseBuilder<'_> {
        ReleaseBuilder {
            w: self,
            version,
            published: self.now - days(1),
            expires: self.now + days(30),
            files: BTreeMap::new(),
            signers: Vec::new(),
            payload_type: RELEASE_TYPE.into(),
            edits: Vec::new(),
            payload: None,
            sha256: true,
            sha512: true,
        }
    }

    /// Adds a mirror. Until it serves something it has no directory at all, which is what
    /// a mirror that vanished looks like.
    pub fn mirror(&mut self, name: &str, country: &str) -> MirrorHandle<'_> {
        assert!(
            self.mirrors.iter().all(|m| m.name != name),
            "mirror {name} exists; use World::on"
        );
        let dir = self.path().join("mirrors").join(name);
        self.mirrors.push(MirrorEntry {
            name: name.into(),
            country: country.into(),
            url: dir.display().to_string(),
            dir,
            proxy: None,
            server: None,
        });
        let i = self.mirrors.len() - 1;
        MirrorHandle { w: self, i }
    }

    /// Reopens an existing mirror, to change what it serves between runs.
    pub fn on(&mut self, name: &str) -> MirrorHandle<'_> {
        let i = self
            .mirrors
            .iter()
            .position(|m| m.name == name)
            .unwrap_or_else(|| panic!("no mirror {name}"));
        MirrorHandle { w: self, i }
    }

    /// Writes a profile listing every mirror (in the order added) for tests that drive the
    /// binary, and returns its path.
    pub fn write_profile(&self, file: &str) -> PathBuf {
        let mut text = format!(
            "name = \"{PROJECT}\"\nroot = {:?}\nchannel = {:?}\n",
            self.pinned_path().display().to_string(),
            self.channel
        );
        for m in &self.mirrors {
            text.push_str(&format!(
                "[[mirrors]]\nurl = {:?}\ncountry = {:?}\nname = {:?}\n",
                m.url, m.country, m.name
            ));
        }
        let p = self.path().join(file);
        std::fs::write(&p, text).unwrap();
        p
    }

    pub fn url_of(&self, name: &str) -> String {
        self.entry(name).url.clone()
    }

    pub fn server(&self, name: &str) -> &Server {
        self.entry(name)
            .server
            .as_ref()
            .unwrap_or_else(|| panic!("mirror {name} is not served over HTTP"))
    }

    fn entry(&self, name: &str) -> &MirrorEntry {
        self.mirrors
            .iter()
            .find(|m| m.name == name)
            .unwrap_or_else(|| panic!("no mirror {name}"))
    }

    /// Runs the check the way `mirrorproof check` does: load the pinned root, then
    /// `run::check` over every mirror in the order they were added.
    pub fn try_check(&self) -> Result<Run, CheckError> {
        let pinned = native::load_pinned_root(&self.pinned_path(), DEFAULT_MAX_BYTES)?;
        let mirrors = self
            .mirrors
            .iter()
            .map(|m| {
                Mirror::new(
                    &m.url,
                    &m.country,
                    Some(m.name.clone()),
                    m.proxy.clone(),
                    self.path(),
                )
                .expect("mirror URL")
            })
            .collect();
        let opts = CheckOptions {
            channel: self.channel.clone(),
            artifacts: self.artifacts,
            fetch: self.fetch.clone(),
            state: self.state.clone(),
            now: self.now,
            vantages: Default::default(),
            hooks: Default::default(),
        };
        let outcome = run::check(Native::new(pinned, &opts), PROJECT, mirrors, opts, None)?;
        Ok(Run {
            report: outcome.report,
            state_written: outcome.state_written,
            state_error: outcome.state_error.map(|e| e.to_string()),
        })
    }

    pub fn check(&self) -> Run {
        self.try_check()
            .unwrap_or_else(|e| panic!("check failed: {e}"))
    }
}

/// A signed root envelope.
#[derive(Clone, Debug)]
pub struct Root {
    pub version: u64,
    pub envelope: Envelope,
}

impl Root {
    pub fn bytes(&self) -> Vec<u8> {
        self.envelope.to_json_bytes()
    }

    pub fn payload_sha256(&self) -> String {
        sha256_hex(&self.envelope.payload_bytes().unwrap())
    }
}

pub struct RootBuilder<'w> {
    w: &'w World,
    version: u64,
    root_keys: Vec<usize>,
    root_threshold: u64,
    release_keys: Vec<usize>,
    release_threshold: u64,
    expires: Timestamp,
    signers: Option<Vec<usize>>,
}

impl RootBuilder<'_> {
    /// Indexes into `World::root_keys`.
    pub fn root_keys(mut self, keys: &[usize]) -> Self {
        self.root_keys = keys.to_vec();
        self
    }
    pub fn root_threshold(mut self, n: u64) -> Self {
        self.root_threshold = n;
        self
    }
    /// Indexes into `World::release_keys`.
    pub fn release_keys(mut self, keys: &[usize]) -> Self {
        self.release_keys = keys.to_vec();
        self
    }
    pub fn release_threshold(mut self, n: u64) -> Self {
        self.release_threshold = n;
        self
    }
    pub fn expires(mut self, t: Timestamp) -> Self {
        self.expires = t;
        self
    }
    /// Which root keys sign (indexes into `World::root_keys`); default: its own root keys.
    pub fn signed_by(mut self, keys: &[usize]) -> Self {
        self.signers = Some(keys.to_vec());
        self
    }

    pub fn build(self) -> Root {
        let w = self.w;
        let spec = RootSpec {
            project: PROJECT.into(),
            version: self.version,
            expires: self.expires,
            root_keys: self
                .root_keys
                .iter()
                .map(|&i| w.root_keys[i].public().clone())
                .collect(),
            root_threshold: self.root_threshold,
            release_keys: self
                .release_keys
                .iter()
                .map(|&i| w.release_keys[i].public().clone())
                .collect(),
            release_threshold: self.release_threshold,
        };
        let mut envelope = publish::root_envelope(&spec).expect("root document");
        for &i in self.signers.as_ref().unwrap_or(&self.root_keys) {
            envelope.sign(&w.root_keys[i]).unwrap();
        }
        Root {
            version: self.version,
            envelope,
        }
    }
}

/// A signed release envelope plus the artifact bytes it describes.
#[derive(Clone, Debug)]
pub struct Release {
    pub version: u64,
    pub envelope: Envelope,
    pub files: BTreeMap<String, Vec<u8>>,
    /// True for documents `publish::build_mirror` would refuse to lay out (hand-edited
    /// payloads, other payload types, tampered envelopes); those are written by hand.
    pub hand_made: bool,
}

impl Release {
    pub fn bytes(&self) -> Vec<u8> {
        self.envelope.to_json_bytes()
    }

    pub fn payload_sha256(&self) -> String {
        sha256_hex(&self.envelope.payload_bytes().unwrap())
    }

    /// A copy whose envelope was changed after signing, as a hostile mirror could.
    pub fn tampered(&self, f: impl FnOnce(&mut Envelope)) -> Release {
        let mut r = self.clone();
        f(&mut r.envelope);
        r.hand_made = true;
        r
    }
}

enum Signer {
    Release(usize),
    Root(usize),
    Stranger,
}

type Edit<'w> = Box<dyn FnOnce(&mut Value) + 'w>;

pub struct ReleaseBuilder<'w> {
    w: &'w World,
    version: u64,
    published: Timestamp,
    expires: Timestamp,
    files: BTreeMap<String, Vec<u8>>,
    signers: Vec<Signer>,
    payload_type: String,
    edits: Vec<Edit<'w>>,
    payload: Option<Vec<u8>>,
    sha256: bool,
    sha512: bool,
}

impl<'w> ReleaseBuilder<'w> {
    /// Signatures by these release keys (indexes into `World::release_keys`), in order.
    pub fn signed_by(mut self, keys: &[usize]) -> Self {
        self.signers
            .extend(keys.iter().map(|&i| Signer::Release(i)));
        self
    }
    /// A signature by a root key: trusted, but not for releases.
    pub fn signed_by_root_key(mut self, i: usize) -> Self {
        self.signers.push(Signer::Root(i));
        self
    }
    /// A signature by a key that no root lists.
    pub fn signed_by_stranger(mut self) -> Self {
        self.signers.push(Signer::Stranger);
        self
    }
    /// An artifact of `len` deterministic bytes.
    pub fn artifact(self, name: &str, len: usize) -> Self {
        let bytes = pattern(name, self.version, len);
        self.artifact_bytes(name, &bytes)
    }
    pub fn artifact_bytes(mut self, name: &str, bytes: &[u8]) -> Self {
        self.files.insert(name.into(), bytes.to_vec());
        self
    }
    pub fn published(mut self, t: Timestamp) -> Self {
        self.published = t;
        self
    }
    pub fn expires(mut self, t: Timestamp) -> Self {
        self.expires = t;
        self
    }
    /// Validly signed, but its `expires` is a day before `now`: a frozen mirror.
    pub fn expired(self) -> Self {
        let now = self.w.now;
        self.published(now - days(31)).expires(now - days(1))
    }
    /// Which hashes the publisher lists (at least one, or the publisher refuses).
    pub fn hashes(mut self, sha256: bool, sha512: bool) -> Self {
        self.sha256 = sha256;
        self.sha512 = sha512;
        self
    }
    pub fn payload_type(mut self, t: &str) -> Self {
        self.payload_type = t.into();
        self
    }
    /// Edits the payload JSON before it is signed: the publisher itself made this document.
    pub fn edit(mut self, f: impl FnOnce(&mut Value) + 'w) -> Self {
        self.edits.push(Box::new(f));
        self
    }
    /// Signs these exact payload bytes instead of a generated document.
    pub fn payload(mut self, bytes: &[u8]) -> Self {
        self.payload = Some(bytes.to_vec());
        self
    }

    pub fn build(self) -> Release {
        let w = self.w;
        let hand_made =
            !self.edits.is_empty() || self.payload.is_some() || self.payload_type != RELEASE_TYPE;
        let payload = match self.payload {
            Some(p) => p,
            None => {
                // The publisher's own path: lay the files out, let it hash them.
                let staging = tempfile::tempdir_in(w.path()).unwrap();
                for (name, bytes) in &self.files {
                    let p = staging.path().join(name);
                    std::fs::create_dir_all(p.parent().unwrap()).unwrap();
                    std::fs::write(p, bytes).unwrap();
                }
                let spec = ReleaseSpec {
                    project: PROJECT.into(),
                    channel: w.channel.clone(),
                    version: self.version,
                    published: self.published,
                    expires: self.expires,
                    sha256: self.sha256,
                    sha512: self.sha512,
                };
                let env = publish::release_envelope(&spec, staging.path()).expect("release");
                let mut payload = env.payload_bytes().unwrap();
                if !self.edits.is_empty() {
                    let mut doc: Value = serde_json::from_slice(&payload).unwrap();
                    for f in self.edits {
                        f(&mut doc);
                    }
                    payload = serde_json::to_vec_pretty(&doc).unwrap();
                }
                payload
            }
        };
        let mut envelope = Envelope::unsigned(&self.payload_type, &payload);
        for s in &self.signers {
            let key = match s {
                Signer::Release(i) => &w.release_keys[*i],
                Signer::Root(i) => &w.root_keys[*i],
                Signer::Stranger => &w.stranger,
            };
            envelope.sign(key).unwrap();
        }
        Release {
            version: self.version,
            envelope,
            files: self.files,
            hand_made,
        }
    }
}

/// One mirror of the world, borrowed to change what it serves.
pub struct MirrorHandle<'w> {
    w: &'w mut World,
    i: usize,
}

impl MirrorHandle<'_> {
    pub fn dir(&self) -> PathBuf {
        self.w.mirrors[self.i].dir.clone()
    }

    fn artifact_path(&self, name: &str) -> PathBuf {
        let mut p = self.dir().join("artifacts");
        for seg in name.split('/') {
            p.push(seg);
        }
        p
    }

    /// Serves this release and its artifacts, replacing the release and artifacts served
    /// before (published roots stay).
    /// Honest documents are laid out by `publish::build_mirror`, the publisher's tool.
    pub fn serves(self, r: &Release) -> Self {
        let dir = self.dir();
        let _ = std::fs::remove_dir_all(dir.join("artifacts"));
        if r.hand_made {
            let chan = dir.join(&self.w.channel);
            std::fs::create_dir_all(&chan).unwrap();
            std::fs::write(chan.join("release.json"), r.bytes()).unwrap();
            for (name, bytes) in &r.files {
                if mirrorproof::release::check_artifact_name(name).is_ok() {
                    let p = self.artifact_path(name);
                    std::fs::create_dir_all(p.parent().unwrap()).unwrap();
                    std::fs::write(p, bytes).unwrap();
                }
            }
        } else {
            let staging = tempfile::tempdir_in(self.w.path()).unwrap();
            let release = staging.path().join("release.json");
            publish::write_envelope(&release, &r.envelope).unwrap();
            let files = staging.path().join("files");
            for (name, bytes) in &r.files {
                let p = files.join(name);
                std::fs::create_dir_all(p.parent().unwrap()).unwrap();
                std::fs::write(p, bytes).unwrap();
            }
            publish::build_mirror(&dir, &release, Some(&files), &[]).expect("build_mirror");
        }
        self
    }

    /// Serves these bytes as the channel's release document.
    pub fn serves_bytes(self, bytes: &[u8]) -> Self {
        let chan = self.dir().join(&self.w.channel);
        std::fs::create_dir_all(&chan).unwrap();
        std::fs::write(chan.join("release.json"), bytes).unwrap();
        self
    }

    /// Publishes a root at `root/N.json` for its own version N.
    pub fn serves_root(self, root: &Root) -> Self {
        let v = root.version;
        self.serves_root_as(v, root)
    }

    /// Publishes a root under another version's file name (a skipped or swapped version).
    pub fn serves_root_as(self, file_version: u64, root: &Root) -> Self {
        let dir = self.dir().join("root");
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join(format!("{file_version}.json")), root.bytes()).unwrap();
        self
    }

    /// Flips one bit in the middle of an artifact: same length, different bytes.
    pub fn tamper_artifact(self, name: &str) -> Self {
        let p = self.artifact_path(name);
        let mut b = std::fs::read(&p).unwrap();
        let mid = b.len() / 2;
        b[mid] ^= 0x01;
        std::fs::write(p, b).unwrap();
        self
    }

    /// Appends bytes after the signed length.
    pub fn extend_artifact(self, name: &str, extra: usize) -> Self {
        let p = self.artifact_path(name);
        let mut b = std::fs::read(&p).unwrap();
        b.extend(std::iter::repeat_n(0x41, extra));
        std::fs::write(p, b).unwrap();
        self
    }

    /// Cuts bytes off the end.
    pub fn truncate_artifact(self, name: &str, by: usize) -> Self {
        let p = self.artifact_path(name);
        let mut b = std::fs::read(&p).unwrap();
        b.truncate(b.len() - by);
        std::fs::write(p, b).unwrap();
        self
    }

    pub fn delete_artifact(self, name: &str) -> Self {
        std::fs::remove_file(self.artifact_path(name)).unwrap();
        self
    }

    /// Serves this mirror's directory over a real loopback HTTP server from now on.
    pub fn over_http(self) -> Self {
        self.http(Behavior::Normal)
    }

    /// Stops this mirror's HTTP server but keeps its URL: connections are refused.
    pub fn stop_http(self) -> Self {
        let server = self.w.mirrors[self.i].server.take();
        assert!(server.is_some(), "not served over HTTP");
        drop(server);
        self
    }

    /// Points the mirror at another URL (a redirector, a host only a proxy can reach).
    pub fn at_url(self, url: &str) -> Self {
        self.w.mirrors[self.i].url = url.to_owned();
        self
    }

    /// Fetches this mirror through an HTTP proxy (the profile's per-mirror `proxy`).
    pub fn via_proxy(self, proxy: &str) -> Self {
        self.w.mirrors[self.i].proxy = Some(proxy.to_owned());
        self
    }

    /// Like [`MirrorHandle::over_http`], with a misbehaving server.
    pub fn http(self, behavior: Behavior) -> Self {
        let m = &mut self.w.mirrors[self.i];
        let server = Server::start(m.dir.clone(), behavior);
        m.url = server.url();
        m.server = Some(server);
        self
    }
}

/// What one check run produced. Derefs to the [`Report`].
pub struct Run {
    pub report: Report,
    pub state_written: bool,
    /// Why a new version could not be recorded, when the state write failed.
    pub state_error: Option<String>,
}

impl Deref for Run {
    type Target = Report;
    fn deref(&self) -> &Report {
        &self.report
    }
}

impl Run {
    pub fn mirror(&self, name: &str) -> &MirrorReport {
        self.report
            .mirrors
            .iter()
            .find(|m| m.name.as_deref() == Some(name))
            .unwrap_or_else(|| panic!("no mirror {name} in the report:\n{}", self.table()))
    }

    pub fn status(&self, name: &str) -> Status {
        self.mirror(name).status
    }

    /// Asserts a mirror's status, showing every mirror's status and reason if it differs.
    #[track_caller]
    pub fn expect(&self, name: &str, status: Status) -> &MirrorReport {
        let m = self.mirror(name);
        assert_eq!(
            m.status,
            status,
            "mirror {name}: expected {}, got {}\n{}",
            status.as_str(),
            m.status.as_str(),
            self.table()
        );
        m
    }

    /// The mirror's one-line reason, "" when it has none.
    pub fn error(&self, name: &str) -> &str {
        self.mirror(name).error.as_deref().unwrap_or("")
    }

    pub fn artifact_status(&self, mirror: &str, artifact: &str) -> &'static str {
        self.mirror(mirror)
            .artifacts
            .iter()
            .find(|a| a.name == artifact)
            .unwrap_or_else(|| panic!("{mirror} reports no artifact {artifact}"))
            .status
    }

    /// Every mirror's status and reason, for assertion messages.
    pub fn table(&self) -> String {
        self.report
            .mirrors
            .iter()
            .map(|m| {
                format!(
                    "  {:<12} {:<10} {:?} {}\n",
                    m.name.as_deref().unwrap_or(&m.url),
                    m.status.as_str(),
                    m.version,
                    m.error.as_deref().unwrap_or("")
                )
            })
            .collect()
    }
}

/// The genuine latest release: 2 of 3 release keys, one 4 KiB artifact.
pub fn genuine(w: &World) -> Release {
    w.release(V).signed_by(&[0, 1]).artifact(ZIP, 4096).build()
}

/// The genuine previous release, published three weeks earlier.
pub fn older(w: &World) -> Release {
    w.release(OLD)
        .published(w.now - days(21))
        .signed_by(&[0, 1])
        .artifact(ZIP, 4096)
        .build()
}

/// An honest root v2: a new root key (1) and new release keys (3, 4, 5), signed by the old
/// and the new root key.
pub fn rotated_v2(w: &World) -> Root {
    w.root(2)
        .root_keys(&[1])
        .release_keys(&[3, 4, 5])
        .signed_by(&[0, 1])
        .build()
}
