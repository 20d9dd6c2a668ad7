//! Managed Tor vantages (`tor:CC`): mirrorproof starts Debian's `tor` so that a run can see
//! the mirrors as users behind an exit relay in country CC see them.
//!
//! C tor's `ExitNodes` applies to a whole process, so each country gets its own tor, with its
//! own fresh data directory (under one private temporary directory per run, removed at the
//! end), its own SOCKS and control ports (chosen by tor itself, so two runs never collide),
//! `ExitNodes {cc}` and `StrictNodes 1`. All of them start together and are waited for with
//! one deadline: a tor whose `ExitNodes` match no usable exit never finishes bootstrapping and
//! spins at a full core, so only the deadline ends it.
//!
//! Which exit carried an observation is taken from tor's control port, not from anything the
//! mirror sees: every stream group connects with its own SOCKS username (tor isolates streams
//! by SOCKS credentials by default, so groups never share circuits), and the control port's
//! STREAM and CIRC events say which circuit each group's streams succeeded on and what that
//! circuit's last hop was. Its address and country come from the consensus (`ns/id/FP`) and
//! tor's own GeoIP table (`ip-to-country`), which is what a country claim for a Tor vantage
//! rests on (on Debian that table is the `tor-geoipdb` package, which `tor` recommends).
//!
//! Everything read from tor (control-port replies, events, its log) is treated as outside
//! text: lines are bounded, replies are bounded, and only validated fingerprints, nicknames,
//! addresses and country codes leave this module; error messages show the rest escaped.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::fs::{self, File};
use std::io::{self, BufRead, BufReader, Read, Seek, SeekFrom, Write};
use std::net::{IpAddr, Shutdown, SocketAddr, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

use base64::Engine as _;
use sha2::{Digest, Sha256};

use crate::text;

/// How mirrorproof runs tor.
#[derive(Debug, Clone)]
pub struct TorOptions {
    /// The tor executable (`tor` from `PATH` by default).
    pub binary: PathBuf,
    /// The whole start: spawning, the control port appearing, and bootstrap to 100 %, for
    /// every country at once.
    pub bootstrap_timeout: Duration,
    /// A file of torrc lines appended to the configuration of every tor this module starts,
    /// e.g. the `client.torrc` of a private test network (`scripts/tor-testnet.sh`). Read once,
    /// at most [`MAX_EXTRA_CONFIG`] bytes.
    pub extra_config: Option<PathBuf>,
}

impl Default for TorOptions {
    fn default() -> Self {
        TorOptions {
            binary: PathBuf::from("tor"),
            // A first bootstrap on the public network fetches the consensus and descriptors;
            // on a slow link that takes tens of seconds.
            bootstrap_timeout: Duration::from_secs(120),
            extra_config: None,
        }
    }
}

/// The largest `extra_config` file read.
pub const MAX_EXTRA_CONFIG: u64 = 1024 * 1024;

/// An exit relay that carried streams of an isolation group, as tor's control port and its
/// consensus describe it.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, serde::Serialize)]
pub struct ExitRelay {
    /// Upper-case hex of the relay's RSA identity digest (40 characters).
    pub fingerprint: String,
    /// The relay's nickname (1 to 19 ASCII letters and digits), empty when tor gave none.
    pub nickname: String,
    /// The relay's IPv4 or IPv6 address from the consensus, empty when the consensus in use
    /// no longer lists the relay.
    pub address: String,
    /// Upper-case ISO 3166-1 alpha-2 code from tor's GeoIP table, `None` when tor does not
    /// know the address.
    pub country: Option<String>,
}

/// Why managed tor could not be used. One line each; text from tor is shown escaped.
#[derive(Debug, thiserror::Error)]
pub enum TorError {
    #[error("not a country code for a Tor vantage: {0} (expected two ASCII letters, as in tor:FR)")]
    BadCountry(String),
    #[error("cannot prepare tor's private directory: {0}")]
    Dir(io::Error),
    #[error("cannot read the extra tor configuration {}: {source}", text::shown(&path.display().to_string()))]
    ExtraConfig { path: PathBuf, source: io::Error },
    #[error("{vantage}: cannot start {}: {source}", text::shown(&binary.display().to_string()))]
    Spawn {
        binary: PathBuf,
        vantage: String,
        source: io::Error,
    },
    #[error("{vantage}: tor exited before it bootstrapped ({status}){detail}")]
    Exited {
        vantage: String,
        status: String,
        detail: String,
    },
    #[error("{vantage}: tor did not bootstrap within {secs} s (last: {phase}){hint}")]
    Bootstrap {
        vantage: String,
        secs: u64,
        phase: String,
        hint: String,
    },
    #[error("{vantage}: tor's control port: {reason}")]
    Control { vantage: String, reason: String },
}

/// Every tor process of one run, one per country.
///
/// Dropping it stops them all and removes their private directory; [`ManagedTor::stop`] says
/// so at the call site. Each tor also exits by itself when this process dies, through
/// `__OwningControllerProcess` and `TAKEOWNERSHIP` on its control connection.
pub struct ManagedTor {
    // Declared before `dir`: every tor is stopped before its directory is removed.
    tors: BTreeMap<String, Tor>,
    _dir: PrivateDir,
}

impl std::fmt::Debug for ManagedTor {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ManagedTor")
            .field("countries", &self.tors.keys().collect::<Vec<_>>())
            .finish()
    }
}

impl ManagedTor {
    /// Starts one tor per country (duplicates and letter case ignored), all at once, and
    /// returns when every one of them has bootstrapped, or fails naming the first country
    /// that could not within `opts.bootstrap_timeout`. Nothing is left running on failure.
    pub fn start(countries: &[String], opts: &TorOptions) -> Result<ManagedTor, TorError> {
        let mut wanted = BTreeSet::new();
        for cc in countries {
            wanted.insert(country_code(cc)?);
        }
        let extra = read_extra_config(opts)?;
        let dir = PrivateDir::create()?;
        let deadline = Instant::now() + opts.bootstrap_timeout;
        let mut launching = Vec::new();
        for cc in &wanted {
            launching.push(Launch::spawn(&dir, Some(cc), &extra, opts)?);
        }
        let tors = wait_all(launching, deadline, opts.bootstrap_timeout)?;
        Ok(ManagedTor {
            tors: tors.into_iter().map(|t| (t.key.clone(), t)).collect(),
            _dir: dir,
        })
    }

    /// The countries this run has a tor for (upper case).
    pub fn countries(&self) -> Vec<String> {
        self.tors.keys().cloned().collect()
    }

    /// `socks5h://ISOLATION:x@127.0.0.1:PORT` for country `cc`: every stream sent with the same
    /// `isolation` may share circuits, streams of different groups never do. `None` when this
    /// run has no tor for `cc`.
    ///
    /// An isolation label made of ASCII letters, digits, `.`, `_` and `-` (at most 64) is used
    /// as it is; any other label is replaced by a digest of it, so it never needs escaping in
    /// a URL and [`ManagedTor::exits`] finds it again.
    pub fn proxy_url(&self, cc: &str, isolation: &str) -> Option<String> {
        let tor = self.tors.get(&cc.to_ascii_uppercase())?;
        Some(format!(
            "socks5h://{}:x@{}",
            isolation_token(isolation),
            tor.socks
        ))
    }

    /// The exits that carried streams of this isolation group so far (streams that tor
    /// reported as SUCCEEDED), each once, in fingerprint order. Empty for an unknown country
    /// or a group that has not connected yet.
    pub fn exits(&self, cc: &str, isolation: &str) -> Vec<ExitRelay> {
        match self.tors.get(&cc.to_ascii_uppercase()) {
            Some(tor) => tor.exits(&isolation_token(isolation)),
            None => Vec::new(),
        }
    }

    /// The circuits (tor's ids) that streams of this isolation group succeeded on: two groups
    /// never share one.
    pub fn circuits(&self, cc: &str, isolation: &str) -> BTreeSet<u64> {
        match self.tors.get(&cc.to_ascii_uppercase()) {
            Some(tor) => tor.circuits(&isolation_token(isolation)),
            None => BTreeSet::new(),
        }
    }

    /// Stops every tor and removes their data.
    pub fn stop(self) {
        drop(self);
    }
}

/// For `mirrorproof vantages tor`: starts one tor (no `ExitNodes`), bootstraps it, and lists
/// the usable exits (Running, Valid, Exit, not BadExit) of its consensus per country (upper
/// case) by tor's GeoIP table. Exits tor cannot place in a country are left out: no `tor:CC`
/// could select them.
pub fn exit_countries(opts: &TorOptions) -> Result<BTreeMap<String, Vec<ExitRelay>>, TorError> {
    let extra = read_extra_config(opts)?;
    let dir = PrivateDir::create()?;
    let deadline = Instant::now() + opts.bootstrap_timeout;
    let launch = Launch::spawn(&dir, None, &extra, opts)?;
    let mut tors = wait_all(vec![launch], deadline, opts.bootstrap_timeout)?;
    let tor = tors.pop().ok_or_else(|| TorError::Control {
        vantage: EXIT_LISTING.into(),
        reason: "no tor started".into(),
    })?;
    let control_err = |reason: String| TorError::Control {
        vantage: EXIT_LISTING.into(),
        reason,
    };
    let relays = {
        let mut control = lock(&tor.control);
        let reply = control
            .command(
                "GETINFO ns/all",
                MAX_CONSENSUS,
                Instant::now() + CONSENSUS_TIMEOUT,
            )
            .map_err(control_err)?;
        let consensus = reply.value("ns/all").unwrap_or_default();
        parse_ns(consensus)
            .into_iter()
            .filter(NsEntry::usable_exit)
            .collect::<Vec<_>>()
    };
    let mut countries: HashMap<IpAddr, Option<String>> = HashMap::new();
    let addresses: Vec<IpAddr> = relays
        .iter()
        .map(|r| r.address)
        .collect::<BTreeSet<_>>()
        .into_iter()
        .collect();
    for chunk in addresses.chunks(64) {
        let keys: Vec<String> = chunk
            .iter()
            .map(|ip| format!("ip-to-country/{ip}"))
            .collect();
        let reply = lock(&tor.control)
            .command(
                &format!("GETINFO {}", keys.join(" ")),
                MAX_REPLY,
                Instant::now() + CONTROL_TIMEOUT,
            )
            .map_err(control_err)?;
        for (ip, key) in chunk.iter().zip(&keys) {
            countries.insert(*ip, reply.value(key).and_then(geoip_country));
        }
    }
    let mut out: BTreeMap<String, Vec<ExitRelay>> = BTreeMap::new();
    for relay in relays {
        if let Some(Some(cc)) = countries.get(&relay.address) {
            out.entry(cc.clone()).or_default().push(ExitRelay {
                fingerprint: relay.fingerprint,
                nickname: relay.nickname,
                address: relay.address.to_string(),
                country: Some(cc.clone()),
            });
        }
    }
    for list in out.values_mut() {
        list.sort();
    }
    drop(tor);
    drop(dir);
    Ok(out)
}

/// The label of the one tor [`exit_countries`] starts, in errors.
const EXIT_LISTING: &str = "the exit listing";
/// Longest line read from tor's control port; longer lines are errors (replies) or skipped
/// (events). Tor's own lines are far shorter.
const MAX_LINE: usize = 16 * 1024;
/// Largest ordinary control-port reply.
const MAX_REPLY: usize = 1024 * 1024;
/// Largest `GETINFO ns/all` reply: for the public network's consensus it is about 3 MiB.
const MAX_CONSENSUS: usize = 16 * 1024 * 1024;
/// Any one control-port command after bootstrap.
const CONTROL_TIMEOUT: Duration = Duration::from_secs(10);
const CONSENSUS_TIMEOUT: Duration = Duration::from_secs(60);
/// How long [`Tor::sync`] waits for tor's answer on the event connection.
const SYNC_TIMEOUT: Duration = Duration::from_secs(5);
/// How often the start loop looks at every tor.
const POLL: Duration = Duration::from_millis(100);
/// Bounds on what the event reader remembers, whatever tor sends.
const MAX_GROUPS: usize = 65_536;
const MAX_OPEN_CIRCUITS: usize = 65_536;
const MAX_PER_GROUP: usize = 1024;

/// Upper-case two-letter code, or an error that shows what was given.
fn country_code(cc: &str) -> Result<String, TorError> {
    if cc.len() == 2 && cc.bytes().all(|b| b.is_ascii_alphabetic()) {
        Ok(cc.to_ascii_uppercase())
    } else {
        Err(TorError::BadCountry(format!("{:?}", text::shown(cc))))
    }
}

/// The SOCKS username for an isolation label (see [`ManagedTor::proxy_url`]).
fn isolation_token(isolation: &str) -> String {
    let plain = !isolation.is_empty()
        && isolation.len() <= 64
        && isolation
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-'));
    if plain {
        isolation.to_string()
    } else {
        let digest = Sha256::digest(isolation.as_bytes());
        format!("iso-{}", &hex::encode(digest)[..32])
    }
}

fn read_extra_config(opts: &TorOptions) -> Result<String, TorError> {
    let Some(path) = &opts.extra_config else {
        return Ok(String::new());
    };
    let err = |source| TorError::ExtraConfig {
        path: path.clone(),
        source,
    };
    let bytes = crate::fsutil::read_limited(path, MAX_EXTRA_CONFIG).map_err(err)?;
    String::from_utf8(bytes)
        .map_err(|_| err(io::Error::new(io::ErrorKind::InvalidData, "not UTF-8")))
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

/// A directory only this user can enter, removed with everything in it when dropped.
struct PrivateDir(PathBuf);

impl PrivateDir {
    fn create() -> Result<PrivateDir, TorError> {
        let mut rnd = [0u8; 8];
        getrandom::fill(&mut rnd).map_err(|e| TorError::Dir(io::Error::other(e.to_string())))?;
        let path = std::env::temp_dir().join(format!("mirrorproof-tor-{}", hex::encode(rnd)));
        make_private_dir(&path).map_err(TorError::Dir)?;
        Ok(PrivateDir(path))
    }
}

impl Drop for PrivateDir {
    fn drop(&mut self) {
        let _ = fs::remove_dir_all(&self.0);
    }
}

/// Creates `path` (not its parents) with mode 0700: tor refuses a data directory others can
/// read, and the control cookie in it grants control of the tor.
fn make_private_dir(path: &Path) -> io::Result<()> {
    let mut b = fs::DirBuilder::new();
    #[cfg(unix)]
    {
        use std::os::unix::fs::DirBuilderExt;
        b.mode(0o700);
    }
    b.create(path)
}

/// A torrc value: quoted, so spaces in a path are kept; paths tor could not read back the
/// same (quotes, backslashes, controls, not UTF-8) are refused.
fn torrc_path(p: &Path) -> Result<String, TorError> {
    match p.to_str() {
        Some(s) if !s.chars().any(|c| c == '"' || c == '\\' || c.is_control()) => {
            Ok(format!("\"{s}\""))
        }
        _ => Err(TorError::Dir(io::Error::new(
            io::ErrorKind::InvalidInput,
            format!(
                "{} cannot be written in a torrc",
                text::shown(&p.display().to_string())
            ),
        ))),
    }
}

/// A tor child process, killed and reaped when dropped.
struct Process(Child);

impl Drop for Process {
    fn drop(&mut self) {
        // SIGKILL: a client has nothing to save (its data directory is removed next), and a
        // gentle stop could take ShutdownWaitLength.
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// One tor on its way up.
struct Launch {
    key: String,
    country: Option<String>,
    data: PathBuf,
    process: Process,
    control: Option<ControlConn>,
    events: Option<ControlConn>,
    socks: Option<SocketAddr>,
    phase: String,
    /// Bootstrap progress last read, in percent.
    progress: u32,
}

impl Launch {
    fn spawn(
        dir: &PrivateDir,
        country: Option<&str>,
        extra: &str,
        opts: &TorOptions,
    ) -> Result<Launch, TorError> {
        let key = country.unwrap_or("ANY").to_string();
        let data = dir.0.join(format!("tor-{}", key.to_ascii_lowercase()));
        make_private_dir(&data).map_err(TorError::Dir)?;
        let mut torrc = String::new();
        torrc.push_str(&format!("DataDirectory {}\n", torrc_path(&data)?));
        torrc.push_str("SocksPort 127.0.0.1:auto\n");
        torrc.push_str("ControlPort 127.0.0.1:auto\n");
        torrc.push_str(&format!(
            "ControlPortWriteToFile {}\n",
            torrc_path(&data.join("control-port"))?
        ));
        torrc.push_str("CookieAuthentication 1\n");
        // To stdout, which goes to a file: `Log ... file PATH` takes no quoted path.
        torrc.push_str("Log notice stdout\n");
        torrc.push_str(&format!(
            "__OwningControllerProcess {}\n",
            std::process::id()
        ));
        if let Some(cc) = country {
            // `country` passed country_code(): two ASCII letters, nothing else.
            torrc.push_str(&format!(
                "ExitNodes {{{}}}\nStrictNodes 1\n",
                cc.to_ascii_lowercase()
            ));
        }
        torrc.push_str(extra);
        torrc.push('\n');
        let torrc_file = data.join("torrc");
        let defaults = data.join("torrc-defaults");
        fs::write(&torrc_file, torrc).map_err(TorError::Dir)?;
        fs::write(&defaults, "").map_err(TorError::Dir)?;
        let out = File::create(data.join("tor.log")).map_err(TorError::Dir)?;
        let err = out.try_clone().map_err(TorError::Dir)?;
        let vantage = vantage_label(country);
        let child = Command::new(&opts.binary)
            .arg("-f")
            .arg(&torrc_file)
            .arg("--defaults-torrc")
            .arg(&defaults)
            .stdin(Stdio::null())
            .stdout(out)
            .stderr(err)
            .spawn()
            .map_err(|source| TorError::Spawn {
                binary: opts.binary.clone(),
                vantage,
                source,
            })?;
        Ok(Launch {
            key,
            country: country.map(str::to_string),
            data,
            process: Process(child),
            control: None,
            events: None,
            socks: None,
            phase: "starting".into(),
            progress: 0,
        })
    }

    fn vantage(&self) -> String {
        vantage_label(self.country.as_deref())
    }

    /// One step towards a bootstrapped tor; `Ok(true)` once it is.
    fn step(&mut self, deadline: Instant) -> Result<bool, TorError> {
        if let Ok(Some(status)) = self.process.0.try_wait() {
            return Err(TorError::Exited {
                vantage: self.vantage(),
                status: status.to_string(),
                detail: last_complaint(&self.data),
            });
        }
        let op_deadline = deadline.min(Instant::now() + CONTROL_TIMEOUT);
        if self.control.is_none() {
            let Some(addr) = read_control_port(&self.data) else {
                return Ok(false);
            };
            let Some(cookie) = read_cookie(&self.data) else {
                return Ok(false);
            };
            let vantage = self.vantage();
            let control_err = |reason: String| TorError::Control {
                vantage: vantage.clone(),
                reason,
            };
            let mut control = ControlConn::open(addr, &cookie, op_deadline).map_err(control_err)?;
            let mut events = ControlConn::open(addr, &cookie, op_deadline).map_err(control_err)?;
            // Tor exits as soon as this connection closes, i.e. as soon as we stop or die.
            events
                .command("TAKEOWNERSHIP", MAX_REPLY, op_deadline)
                .map_err(control_err)?;
            events
                .command("SETEVENTS STREAM CIRC", MAX_REPLY, op_deadline)
                .map_err(control_err)?;
            let reply = control
                .command("GETINFO net/listeners/socks", MAX_REPLY, op_deadline)
                .map_err(control_err)?;
            let socks = reply
                .value("net/listeners/socks")
                .and_then(parse_socks_listener)
                .ok_or_else(|| control_err("tor reports no SOCKS listener".into()))?;
            self.socks = Some(socks);
            self.control = Some(control);
            self.events = Some(events);
        }
        let Some(control) = self.control.as_mut() else {
            return Ok(false);
        };
        let reply = control
            .command("GETINFO status/bootstrap-phase", MAX_REPLY, op_deadline)
            .map_err(|reason| TorError::Control {
                vantage: vantage_label(self.country.as_deref()),
                reason,
            })?;
        let (progress, summary) = reply
            .value("status/bootstrap-phase")
            .map(parse_bootstrap)
            .unwrap_or((0, String::new()));
        self.phase = format!("{progress} %: {summary}");
        self.progress = progress;
        Ok(progress >= 100)
    }

    fn into_tor(self) -> Result<Tor, TorError> {
        let vantage = self.vantage();
        let missing = || TorError::Control {
            vantage: vantage.clone(),
            reason: "not connected".into(),
        };
        let control = self.control.ok_or_else(missing)?;
        let events = self.events.ok_or_else(missing)?;
        let socks = self.socks.ok_or_else(missing)?;
        let shared = Arc::new(Shared::default());
        let writer = events.stream.try_clone().map_err(|e| TorError::Control {
            vantage: vantage.clone(),
            reason: e.to_string(),
        })?;
        let thread_shared = Arc::clone(&shared);
        let reader = thread::Builder::new()
            .name(format!("tor-events-{}", self.key.to_ascii_lowercase()))
            .spawn(move || read_events(events, &thread_shared))
            .map_err(|e| TorError::Control {
                vantage: vantage.clone(),
                reason: format!("cannot start the event reader: {e}"),
            })?;
        Ok(Tor {
            key: self.key,
            socks,
            control: Mutex::new(control),
            shared,
            relays: Mutex::new(HashMap::new()),
            events: Some((writer, reader)),
            _process: self.process,
        })
    }
}

fn vantage_label(country: Option<&str>) -> String {
    match country {
        Some(cc) => format!("tor:{cc}"),
        None => EXIT_LISTING.to_string(),
    }
}

/// Drives every launch to bootstrap, in parallel, until `deadline`.
fn wait_all(
    mut launching: Vec<Launch>,
    deadline: Instant,
    timeout: Duration,
) -> Result<Vec<Tor>, TorError> {
    let mut ready = vec![false; launching.len()];
    loop {
        for (launch, done) in launching.iter_mut().zip(ready.iter_mut()) {
            if !*done {
                match launch.step(deadline) {
                    Ok(d) => *done = d,
                    // A tor that spins looking for an exit may be too busy to answer before
                    // the deadline: that is a bootstrap that did not finish, reported below.
                    Err(TorError::Control { .. }) if Instant::now() >= deadline => {}
                    Err(e) => return Err(e),
                }
            }
        }
        if ready.iter().all(|d| *d) {
            break;
        }
        if Instant::now() >= deadline {
            // Only reached with at least one launch not ready.
            let stuck = launching
                .iter()
                .zip(&ready)
                .find(|(_, d)| !**d)
                .map(|(l, _)| l);
            let (vantage, phase, hint) = match stuck {
                Some(l) => (
                    l.vantage(),
                    text::shown(&l.phase).into_owned(),
                    match &l.country {
                        // Below the descriptors phase tor never got a directory: no network
                        // (or no bridge), not a missing exit.
                        _ if l.progress < REACHED_NETWORK => "; tor never reached the Tor network: is this machine online? (bridges go in --tor-config)".to_owned(),
                        Some(cc) => format!(
                            "; is there a usable exit relay in {cc}? `mirrorproof vantages tor` lists the countries that have one"
                        ),
                        None => String::new(),
                    },
                ),
                None => (String::new(), String::new(), String::new()),
            };
            return Err(TorError::Bootstrap {
                vantage,
                secs: timeout.as_secs(),
                phase,
                hint,
            });
        }
        thread::sleep(POLL.min(deadline.saturating_duration_since(Instant::now())));
    }
    launching.into_iter().map(Launch::into_tor).collect()
}

/// `PORT=127.0.0.1:NNNN` from the file `ControlPortWriteToFile` names, once tor wrote it.
fn read_control_port(data: &Path) -> Option<SocketAddr> {
    let bytes = crate::fsutil::read_limited(&data.join("control-port"), 256).ok()?;
    let text = std::str::from_utf8(&bytes).ok()?;
    text.lines()
        .find_map(|l| l.trim().strip_prefix("PORT="))
        .and_then(|a| a.parse().ok())
}

fn read_cookie(data: &Path) -> Option<Vec<u8>> {
    let bytes = crate::fsutil::read_limited(&data.join("control_auth_cookie"), 64).ok()?;
    (bytes.len() == 32).then_some(bytes)
}

/// Why tor exited, from its log: the last warning (which says what was wrong; the `[err]`
/// after it only says that tor gives up), else the last error; escaped and shortened.
fn last_complaint(data: &Path) -> String {
    let Some(tail) = read_tail(&data.join("tor.log"), 64 * 1024) else {
        return String::new();
    };
    complaint(&tail).map_or_else(String::new, |c| format!(": {c}"))
}

fn complaint(log: &str) -> Option<String> {
    let lines: Vec<&str> = log.lines().collect();
    let found = lines
        .iter()
        .rev()
        .find(|l| l.contains("[warn]"))
        .or_else(|| lines.iter().rev().find(|l| l.contains("[err]")))?;
    let message = found.split_once("] ").map_or(*found, |(_, rest)| rest);
    let short: String = message.chars().take(300).collect();
    Some(text::shown(&short).into_owned())
}

fn read_tail(path: &Path, max: u64) -> Option<String> {
    let mut f = File::open(path).ok()?;
    let len = f.metadata().ok()?.len();
    f.seek(SeekFrom::Start(len.saturating_sub(max))).ok()?;
    let mut buf = Vec::new();
    f.take(max).read_to_end(&mut buf).ok()?;
    Some(String::from_utf8_lossy(&buf).into_owned())
}

/// One bootstrapped tor.
struct Tor {
    key: String,
    socks: SocketAddr,
    control: Mutex<ControlConn>,
    shared: Arc<Shared>,
    /// Address and country per fingerprint, asked once.
    relays: Mutex<HashMap<String, (String, Option<String>)>>,
    /// The event connection (written to only by [`Tor::sync`]) and its reader thread.
    events: Option<(TcpStream, JoinHandle<()>)>,
    // Last: dropped (killed) after the event connection is shut down.
    _process: Process,
}

impl Drop for Tor {
    fn drop(&mut self) {
        if let Some((stream, reader)) = self.events.take() {
            // Unblocks the reader; with TAKEOWNERSHIP, also tells tor to exit.
            let _ = stream.shutdown(Shutdown::Both);
            let _ = reader.join();
        }
    }
}

impl Tor {
    /// Waits until the event reader has read every event tor sent before now.
    ///
    /// A stream's SUCCEEDED event is queued on the event connection when tor answers the
    /// SOCKS client, but our reader may not have read it yet when the caller asks which exit
    /// carried the stream. A command sent on the same connection is answered after every
    /// event queued before it, so once the reader has seen that answer, it has seen them.
    fn sync(&self) {
        let Some((stream, _)) = &self.events else {
            return;
        };
        let target = {
            let mut tracker = lock(&self.shared.tracker);
            tracker.sent += 1;
            tracker.sent
        };
        let mut writer = stream;
        if writer.write_all(b"GETINFO version\r\n").is_err() {
            return;
        }
        let guard = lock(&self.shared.tracker);
        let _ = self
            .shared
            .synced
            .wait_timeout_while(guard, SYNC_TIMEOUT, |t| t.answered < target && !t.ended);
    }

    fn circuits(&self, token: &str) -> BTreeSet<u64> {
        self.sync();
        lock(&self.shared.tracker)
            .groups
            .get(token)
            .map(|g| g.circuits.clone())
            .unwrap_or_default()
    }

    fn exits(&self, token: &str) -> Vec<ExitRelay> {
        self.sync();
        let (mut hops, pending) = {
            let tracker = lock(&self.shared.tracker);
            match tracker.groups.get(token) {
                Some(g) => (g.exits.clone(), g.pending.clone()),
                None => return Vec::new(),
            }
        };
        if !pending.is_empty() {
            // Circuits built before we subscribed to events: ask for their paths now.
            if let Ok(reply) = lock(&self.control).command(
                "GETINFO circuit-status",
                MAX_REPLY,
                Instant::now() + CONTROL_TIMEOUT,
            ) {
                for line in reply.value("circuit-status").unwrap_or_default().lines() {
                    if let Some(c) = parse_circ_body(line)
                        && pending.contains(&c.id)
                        && c.status == "BUILT"
                        && let Some(hop) = c.path.last()
                    {
                        hops.insert(hop.clone());
                    }
                }
            }
        }
        hops.iter().map(|hop| self.relay(hop)).collect()
    }

    fn relay(&self, hop: &Hop) -> ExitRelay {
        let known = lock(&self.relays).get(&hop.fingerprint).cloned();
        let (address, country) = match known {
            Some(k) => k,
            None => {
                let looked_up = self.look_up(&hop.fingerprint);
                if let Some(found) = &looked_up {
                    lock(&self.relays).insert(hop.fingerprint.clone(), found.clone());
                }
                looked_up.unwrap_or_default()
            }
        };
        ExitRelay {
            fingerprint: hop.fingerprint.clone(),
            nickname: hop.nickname.clone(),
            address,
            country,
        }
    }

    /// The relay's address from the consensus and its country from tor's GeoIP table.
    fn look_up(&self, fingerprint: &str) -> Option<(String, Option<String>)> {
        let mut control = lock(&self.control);
        let key = format!("ns/id/{fingerprint}");
        let reply = control
            .command(
                &format!("GETINFO {key}"),
                MAX_REPLY,
                Instant::now() + CONTROL_TIMEOUT,
            )
            .ok()?;
        let entry = parse_ns(reply.value(&key)?).into_iter().next()?;
        let key = format!("ip-to-country/{}", entry.address);
        let country = control
            .command(
                &format!("GETINFO {key}"),
                MAX_REPLY,
                Instant::now() + CONTROL_TIMEOUT,
            )
            .ok()
            .and_then(|r| r.value(&key).and_then(geoip_country));
        Some((entry.address.to_string(), country))
    }
}

/// The event reader's findings, and a signal for [`Tor::sync`].
#[derive(Debug, Default)]
struct Shared {
    tracker: Mutex<Tracker>,
    synced: Condvar,
}

/// What the event reader learnt: the last hop of every open circuit, and per SOCKS username
/// the circuits its streams succeeded on and their exits.
#[derive(Debug, Default)]
struct Tracker {
    circuits: HashMap<u64, Hop>,
    groups: HashMap<String, Group>,
    /// Commands [`Tor::sync`] sent on the event connection, and answers the reader read.
    sent: u64,
    answered: u64,
    /// The event connection is gone: nothing more will be answered.
    ended: bool,
}

#[derive(Debug, Default, Clone)]
struct Group {
    circuits: BTreeSet<u64>,
    exits: BTreeSet<Hop>,
    /// Circuits whose path we have not seen (built before the subscription).
    pending: BTreeSet<u64>,
}

impl Tracker {
    fn apply(&mut self, event: Event) {
        match event {
            Event::Circ(c) => match c.status.as_str() {
                "BUILT" => {
                    if let Some(hop) = c.path.last()
                        && (self.circuits.len() < MAX_OPEN_CIRCUITS
                            || self.circuits.contains_key(&c.id))
                    {
                        self.circuits.insert(c.id, hop.clone());
                    }
                }
                "CLOSED" | "FAILED" => {
                    self.circuits.remove(&c.id);
                }
                _ => {}
            },
            Event::Stream(s) => {
                let (Some(user), true, true) =
                    (s.username, s.status == "SUCCEEDED", s.circuit != 0)
                else {
                    return;
                };
                if !self.groups.contains_key(&user) && self.groups.len() >= MAX_GROUPS {
                    return;
                }
                let hop = self.circuits.get(&s.circuit).cloned();
                let group = self.groups.entry(user).or_default();
                if group.circuits.len() < MAX_PER_GROUP {
                    group.circuits.insert(s.circuit);
                }
                match hop {
                    Some(hop) if group.exits.len() < MAX_PER_GROUP => {
                        group.exits.insert(hop);
                    }
                    Some(_) => {}
                    None if group.pending.len() < MAX_PER_GROUP => {
                        group.pending.insert(s.circuit);
                    }
                    None => {}
                }
            }
        }
    }
}

/// Reads events until the connection ends (tor stopped, or we shut the socket down).
fn read_events(mut conn: ControlConn, shared: &Shared) {
    let _ = conn.stream.set_read_timeout(None);
    loop {
        match conn.read_line() {
            Ok(Some(line)) => {
                if let Some(event) = parse_event(&line) {
                    lock(&shared.tracker).apply(event);
                } else if line.len() >= 4 && !line.starts_with('6') && line.as_bytes()[3] == b' ' {
                    // The last line of the answer to a sync command.
                    lock(&shared.tracker).answered += 1;
                    shared.synced.notify_all();
                }
            }
            // An overlong line was skipped; anything else ends the connection.
            Err(LineError::TooLong) => {}
            Ok(None) | Err(LineError::Io(_)) => break,
        }
    }
    lock(&shared.tracker).ended = true;
    shared.synced.notify_all();
}

/// A relay on a circuit's path: `$FINGERPRINT~nickname`.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
struct Hop {
    fingerprint: String,
    nickname: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
struct CircEvent {
    id: u64,
    status: String,
    path: Vec<Hop>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
struct StreamEvent {
    id: u64,
    status: String,
    circuit: u64,
    username: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Event {
    Circ(CircEvent),
    Stream(StreamEvent),
}

/// `650 CIRC ...` or `650 STREAM ...`; anything else (other events, malformed lines) is
/// `None`.
fn parse_event(line: &str) -> Option<Event> {
    let rest = line.strip_prefix("650 ")?;
    if let Some(body) = rest.strip_prefix("CIRC ") {
        return parse_circ_body(body).map(Event::Circ);
    }
    let body = rest.strip_prefix("STREAM ")?;
    let tokens = tokenize(body)?;
    let id = tokens.first()?.parse().ok()?;
    let status = status_word(tokens.get(1)?)?;
    let circuit = tokens.get(2)?.parse().ok()?;
    let username = tokens
        .iter()
        .skip(4)
        .find_map(|t| t.strip_prefix("SOCKS_USERNAME="))
        .and_then(unquote);
    Some(Event::Stream(StreamEvent {
        id,
        status,
        circuit,
        username,
    }))
}

/// `ID STATUS [PATH] [KEY=VALUE...]`, as in CIRC events and `GETINFO circuit-status` lines.
fn parse_circ_body(body: &str) -> Option<CircEvent> {
    let tokens = tokenize(body)?;
    let id = tokens.first()?.parse().ok()?;
    let status = status_word(tokens.get(1)?)?;
    let path = match tokens.get(2) {
        Some(p) if p.starts_with('$') => parse_path(p)?,
        _ => Vec::new(),
    };
    Some(CircEvent { id, status, path })
}

fn status_word(s: &str) -> Option<String> {
    (!s.is_empty() && s.len() <= 32 && s.bytes().all(|b| b.is_ascii_uppercase() || b == b'_'))
        .then(|| s.to_string())
}

/// `$FP~nick,$FP=nick,$FP`: every hop must be well formed, or the path is not trusted.
fn parse_path(p: &str) -> Option<Vec<Hop>> {
    p.split(',')
        .map(|hop| {
            let hop = hop.strip_prefix('$')?;
            let (fp, nick) = match hop.find(['~', '=']) {
                Some(i) => (&hop[..i], &hop[i + 1..]),
                None => (hop, ""),
            };
            let fingerprint = fingerprint(fp)?;
            if !nick.is_empty() && !valid_nickname(nick) {
                return None;
            }
            Some(Hop {
                fingerprint,
                nickname: nick.to_string(),
            })
        })
        .collect()
}

fn fingerprint(s: &str) -> Option<String> {
    (s.len() == 40 && s.bytes().all(|b| b.is_ascii_hexdigit())).then(|| s.to_ascii_uppercase())
}

fn valid_nickname(s: &str) -> bool {
    (1..=19).contains(&s.len()) && s.bytes().all(|b| b.is_ascii_alphanumeric())
}

/// Splits on spaces outside double quotes; `None` for an unterminated quote.
fn tokenize(s: &str) -> Option<Vec<&str>> {
    let mut out = Vec::new();
    let mut start = None;
    let mut quoted = false;
    let mut escaped = false;
    for (i, c) in s.char_indices() {
        if quoted {
            if escaped {
                escaped = false;
            } else if c == '\\' {
                escaped = true;
            } else if c == '"' {
                quoted = false;
            }
            continue;
        }
        match c {
            ' ' => {
                if let Some(st) = start.take() {
                    out.push(&s[st..i]);
                }
            }
            _ => {
                if start.is_none() {
                    start = Some(i);
                }
                if c == '"' {
                    quoted = true;
                }
            }
        }
    }
    if quoted {
        return None;
    }
    if let Some(st) = start {
        out.push(&s[st..]);
    }
    Some(out)
}

/// A control-spec QuotedString (`"a\"b"`), or a bare word.
fn unquote(s: &str) -> Option<String> {
    let Some(inner) = s.strip_prefix('"') else {
        return Some(s.to_string());
    };
    let inner = inner.strip_suffix('"')?;
    let mut out = String::with_capacity(inner.len());
    let mut chars = inner.chars();
    while let Some(c) = chars.next() {
        if c == '\\' {
            match chars.next()? {
                'n' => out.push('\n'),
                'r' => out.push('\r'),
                't' => out.push('\t'),
                other => out.push(other),
            }
        } else {
            out.push(c);
        }
    }
    Some(out)
}

/// Bootstrap progress from which tor has a consensus from the network (it is loading relay
/// descriptors): stuck below it, tor never reached the network; stuck above it in a country
/// without an exit, it waits for one forever.
const REACHED_NETWORK: u32 = 45;

/// `NOTICE BOOTSTRAP PROGRESS=85 TAG=ap_conn_done SUMMARY="..."` → (85, summary).
fn parse_bootstrap(value: &str) -> (u32, String) {
    let tokens = tokenize(value).unwrap_or_default();
    let progress = tokens
        .iter()
        .find_map(|t| t.strip_prefix("PROGRESS="))
        .and_then(|p| p.parse().ok())
        .unwrap_or(0);
    let field = |k: &str| {
        tokens
            .iter()
            .find_map(|t| t.strip_prefix(k))
            .and_then(unquote)
    };
    let mut summary = field("SUMMARY=").unwrap_or_default();
    if let Some(warning) = field("WARNING=").filter(|w| !w.eq_ignore_ascii_case("done")) {
        summary.push_str(&format!("; warning: {warning}"));
    }
    let summary: String = summary.chars().take(200).collect();
    (progress.min(100), summary)
}

/// `"127.0.0.1:9050"` (tor may list several; the first IPv4 one is taken).
fn parse_socks_listener(value: &str) -> Option<SocketAddr> {
    let tokens = tokenize(value)?;
    let addrs: Vec<SocketAddr> = tokens
        .iter()
        .filter_map(|t| unquote(t))
        .filter_map(|t| t.parse().ok())
        .collect();
    addrs
        .iter()
        .find(|a| a.is_ipv4())
        .or_else(|| addrs.first())
        .copied()
}

/// `fr` → `FR`; `??` and anything else that is not two letters → `None`.
fn geoip_country(value: &str) -> Option<String> {
    let v = value.trim();
    (v.len() == 2 && v.bytes().all(|b| b.is_ascii_alphabetic())).then(|| v.to_ascii_uppercase())
}

/// One router status entry of a consensus (`r` and `s` lines).
#[derive(Debug, Clone, PartialEq, Eq)]
struct NsEntry {
    nickname: String,
    fingerprint: String,
    address: IpAddr,
    flags: BTreeSet<String>,
}

impl NsEntry {
    fn usable_exit(&self) -> bool {
        ["Running", "Valid", "Exit"]
            .iter()
            .all(|f| self.flags.contains(*f))
            && !self.flags.contains("BadExit")
    }
}

/// Router status entries in the `ns` format (`GETINFO ns/all`, `ns/id/FP`); malformed
/// entries are skipped.
fn parse_ns(text: &str) -> Vec<NsEntry> {
    let mut out: Vec<NsEntry> = Vec::new();
    let mut current: Option<NsEntry> = None;
    for line in text.lines() {
        let mut words = line.split(' ');
        match words.next() {
            Some("r") => {
                out.extend(current.take());
                let w: Vec<&str> = words.collect();
                // r nickname identity digest date time address orport dirport
                if w.len() < 8 || !valid_nickname(w[0]) {
                    continue;
                }
                let Ok(id) = base64::engine::general_purpose::STANDARD_NO_PAD
                    .decode(w[1].trim_end_matches('='))
                else {
                    continue;
                };
                let Ok(address) = w[5].parse::<IpAddr>() else {
                    continue;
                };
                if id.len() != 20 {
                    continue;
                }
                current = Some(NsEntry {
                    nickname: w[0].to_string(),
                    fingerprint: hex::encode_upper(id),
                    address,
                    flags: BTreeSet::new(),
                });
            }
            Some("s") => {
                if let Some(entry) = current.as_mut() {
                    entry.flags = words
                        .filter(|f| !f.is_empty() && f.len() <= 32)
                        .map(str::to_string)
                        .collect();
                }
            }
            _ => {}
        }
    }
    out.extend(current);
    out
}

#[derive(Debug)]
enum LineError {
    TooLong,
    Io(io::Error),
}

/// A reply to one command: `KEY=VALUE` items (values of `+` data replies joined with `\n`).
#[derive(Debug, Default)]
struct Reply {
    items: Vec<(String, String)>,
}

impl Reply {
    fn value(&self, key: &str) -> Option<&str> {
        self.items
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }
}

/// An authenticated control-port connection.
struct ControlConn {
    stream: TcpStream,
    reader: BufReader<TcpStream>,
}

impl ControlConn {
    fn open(addr: SocketAddr, cookie: &[u8], deadline: Instant) -> Result<ControlConn, String> {
        let timeout = remaining(deadline)?;
        let stream = TcpStream::connect_timeout(&addr, timeout).map_err(|e| e.to_string())?;
        let reader = BufReader::new(stream.try_clone().map_err(|e| e.to_string())?);
        let mut conn = ControlConn { stream, reader };
        conn.command(
            &format!("AUTHENTICATE {}", hex::encode(cookie)),
            MAX_REPLY,
            deadline,
        )?;
        Ok(conn)
    }

    /// Sends one command line and reads its reply, skipping asynchronous events, within
    /// `deadline` and `limit` bytes. A reply other than 250 is an error showing tor's text.
    fn command(&mut self, line: &str, limit: usize, deadline: Instant) -> Result<Reply, String> {
        if line.contains(['\r', '\n']) {
            return Err("refused to send a command with a line break".into());
        }
        self.stream
            .set_write_timeout(Some(remaining(deadline)?))
            .map_err(|e| e.to_string())?;
        self.stream
            .write_all(format!("{line}\r\n").as_bytes())
            .map_err(|e| format!("cannot send to tor: {e}"))?;
        let mut reply = Reply::default();
        let mut total = 0usize;
        let mut failure: Option<String> = None;
        loop {
            let line = self.read_reply_line(deadline, &mut total, limit)?;
            let (code, sep, text) = split_reply_line(&line)?;
            if code.starts_with('6') {
                // An asynchronous event between replies: not ours.
                if sep == '+' {
                    self.read_data(deadline, &mut total, limit)?;
                }
                continue;
            }
            let data = if sep == '+' {
                Some(self.read_data(deadline, &mut total, limit)?)
            } else {
                None
            };
            if code != "250" {
                if failure.is_none() {
                    let short: String = text.chars().take(200).collect();
                    failure = Some(format!("tor answered {code} {}", text::shown(&short)));
                }
            } else if let Some((k, v)) = text.split_once('=') {
                let value = match data {
                    Some(d) => d,
                    None => v.to_string(),
                };
                reply.items.push((k.to_string(), value));
            }
            if sep == ' ' {
                return match failure {
                    Some(f) => Err(f),
                    None => Ok(reply),
                };
            }
        }
    }

    /// The lines of a `+` data reply up to the lone `.`, dot-unstuffed.
    fn read_data(
        &mut self,
        deadline: Instant,
        total: &mut usize,
        limit: usize,
    ) -> Result<String, String> {
        let mut out = String::new();
        loop {
            let line = self.read_reply_line(deadline, total, limit)?;
            if line == "." {
                return Ok(out);
            }
            let line = line.strip_prefix('.').unwrap_or(&line);
            if !out.is_empty() {
                out.push('\n');
            }
            out.push_str(line);
        }
    }

    fn read_reply_line(
        &mut self,
        deadline: Instant,
        total: &mut usize,
        limit: usize,
    ) -> Result<String, String> {
        self.stream
            .set_read_timeout(Some(remaining(deadline)?))
            .map_err(|e| e.to_string())?;
        match self.read_line() {
            Ok(Some(line)) => {
                *total += line.len() + 2;
                if *total > limit {
                    return Err(format!("reply larger than {limit} bytes"));
                }
                Ok(line)
            }
            Ok(None) => Err("tor closed the control connection".into()),
            Err(LineError::TooLong) => Err(format!("a reply line longer than {MAX_LINE} bytes")),
            Err(LineError::Io(e))
                if matches!(
                    e.kind(),
                    io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut
                ) =>
            {
                Err("no answer in time".into())
            }
            Err(LineError::Io(e)) => Err(e.to_string()),
        }
    }

    /// One line without its CRLF; `Ok(None)` at end of stream. An overlong line is consumed
    /// to its end and reported as [`LineError::TooLong`], so the next read starts clean.
    fn read_line(&mut self) -> Result<Option<String>, LineError> {
        let mut buf = Vec::new();
        let n = (&mut self.reader)
            .take(MAX_LINE as u64 + 1)
            .read_until(b'\n', &mut buf)
            .map_err(LineError::Io)?;
        if n == 0 {
            return Ok(None);
        }
        if buf.last() != Some(&b'\n') {
            if buf.len() <= MAX_LINE {
                // End of stream in the middle of a line.
                return Ok(None);
            }
            loop {
                let mut skip = Vec::new();
                let n = (&mut self.reader)
                    .take(MAX_LINE as u64)
                    .read_until(b'\n', &mut skip)
                    .map_err(LineError::Io)?;
                if n == 0 || skip.last() == Some(&b'\n') {
                    return Err(LineError::TooLong);
                }
            }
        }
        buf.pop();
        if buf.last() == Some(&b'\r') {
            buf.pop();
        }
        Ok(Some(String::from_utf8_lossy(&buf).into_owned()))
    }
}

/// `250-key=value` → ("250", '-', "key=value").
fn split_reply_line(line: &str) -> Result<(&str, char, &str), String> {
    let bytes = line.as_bytes();
    if bytes.len() < 4
        || !bytes[..3].iter().all(u8::is_ascii_digit)
        || !matches!(bytes[3], b' ' | b'-' | b'+')
    {
        let short: String = line.chars().take(80).collect();
        return Err(format!(
            "not a control-protocol line: {:?}",
            text::shown(&short)
        ));
    }
    Ok((&line[..3], bytes[3] as char, &line[4..]))
}

fn remaining(deadline: Instant) -> Result<Duration, String> {
    let left = deadline.saturating_duration_since(Instant::now());
    if left.is_zero() {
        Err("no answer in time".into())
    } else {
        Ok(left)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const FR: &str = "58BE7B86832088F3DFC9F1965CE521130CF91FFF";
    const AUTH1: &str = "489A8465C1ECBD2A902DE999A9CDFABAC4F44F97";
    const MIDDLE: &str = "1C93ED6B7C1C56604092E3FF81FC803D21E48260";

    fn built(id: u64, exit: &str) -> String {
        format!(
            "650 CIRC {id} BUILT ${AUTH1}~auth1,${MIDDLE}~middle1,${exit}~exitFR \
             BUILD_FLAGS=NEED_CAPACITY,NEED_UPTIME PURPOSE=GENERAL TIME_CREATED=2026-12-02T13:51:31.900567"
        )
    }

    fn stream(id: u64, status: &str, circ: u64, user: &str) -> String {
        format!(
            "650 STREAM {id} {status} {circ} 127.0.0.1:18080 SOCKS_USERNAME=\"{user}\" \
             SOCKS_PASSWORD=\"x\" CLIENT_PROTOCOL=SOCKS5 NYM_EPOCH=0 SESSION_GROUP=-4 \
             ISO_FIELDS=SOCKS_USERNAME,SOCKS_PASSWORD,CLIENTADDR,SESSION_GROUP,NYM_EPOCH"
        )
    }

    #[test]
    fn a_built_circuit_event_gives_its_path_and_last_hop() {
        let Some(Event::Circ(c)) = parse_event(&built(14, FR)) else {
            panic!("not a CIRC event");
        };
        assert_eq!(c.id, 14);
        assert_eq!(c.status, "BUILT");
        assert_eq!(c.path.len(), 3);
        assert_eq!(c.path[2].fingerprint, FR);
        assert_eq!(c.path[2].nickname, "exitFR");
        assert_eq!(c.path[0].nickname, "auth1");
    }

    #[test]
    fn a_launched_circuit_has_no_path_and_bad_paths_are_refused() {
        let Some(Event::Circ(c)) =
            parse_event("650 CIRC 13 LAUNCHED BUILD_FLAGS=NEED_CAPACITY PURPOSE=CONFLUX_UNLINKED")
        else {
            panic!("not a CIRC event");
        };
        assert!(c.path.is_empty());
        // A short fingerprint, a nickname with a control character, a non-hex digit.
        for bad in [
            "650 CIRC 1 BUILT $ABC~x",
            "650 CIRC 1 BUILT $58BE7B86832088F3DFC9F1965CE521130CF91FFF~ex\u{1b}it",
            "650 CIRC 1 BUILT $58BE7B86832088F3DFC9F1965CE521130CF91FFG~exit",
            "650 CIRC x BUILT",
        ] {
            assert_eq!(parse_event(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn hops_may_use_either_separator_or_none() {
        let p = parse_path(&format!("${AUTH1}=auth1,${FR},${MIDDLE}~m")).expect("valid path");
        assert_eq!(p[0].nickname, "auth1");
        assert_eq!(p[1].nickname, "");
        assert_eq!(p[1].fingerprint, FR);
        assert_eq!(p[2].nickname, "m");
        let lower = parse_path(&format!("${}", FR.to_ascii_lowercase())).expect("valid path");
        assert_eq!(lower[0].fingerprint, FR);
    }

    #[test]
    fn a_stream_event_gives_circuit_and_socks_username() {
        let Some(Event::Stream(s)) = parse_event(&stream(16, "SUCCEEDED", 13, "g1")) else {
            panic!("not a STREAM event");
        };
        assert_eq!(
            s,
            StreamEvent {
                id: 16,
                status: "SUCCEEDED".into(),
                circuit: 13,
                username: Some("g1".into()),
            }
        );
        let Some(Event::Stream(s)) =
            parse_event(r#"650 STREAM 3 NEW 0 example.org:443 SOCKS_USERNAME="a \"b\" c""#)
        else {
            panic!("not a STREAM event");
        };
        assert_eq!(s.username.as_deref(), Some("a \"b\" c"));
        assert_eq!(s.circuit, 0);
        assert_eq!(
            parse_event("650 STREAM 3 NEW 0 x SOCKS_USERNAME=\"open"),
            None
        );
        assert_eq!(parse_event("650 BW 10 20"), None);
        assert_eq!(parse_event("250 OK"), None);
    }

    #[test]
    fn the_tracker_credits_each_group_with_the_exit_of_its_circuits() {
        let mut t = Tracker::default();
        let de = "76828BD026FD4DBBBB495C14E6C32A016B82896E";
        for line in [
            built(5, FR),
            built(6, de),
            stream(1, "SENTCONNECT", 5, "g1"),
            stream(1, "SUCCEEDED", 5, "g1"),
            stream(2, "SUCCEEDED", 6, "g2"),
            // Built before we subscribed: path unknown, kept for a circuit-status look-up.
            stream(3, "SUCCEEDED", 99, "g3"),
            // A failed stream credits nothing.
            stream(4, "FAILED", 6, "g1"),
        ] {
            t.apply(parse_event(&line).expect("event"));
        }
        let g1 = &t.groups["g1"];
        assert_eq!(g1.circuits, BTreeSet::from([5]));
        assert_eq!(
            g1.exits
                .iter()
                .map(|h| h.fingerprint.as_str())
                .collect::<Vec<_>>(),
            [FR]
        );
        assert_eq!(
            t.groups["g2"]
                .exits
                .iter()
                .next()
                .map(|h| h.fingerprint.as_str()),
            Some(de)
        );
        assert_eq!(t.groups["g3"].pending, BTreeSet::from([99]));
        assert!(t.groups["g3"].exits.is_empty());
        t.apply(parse_event("650 CIRC 5 CLOSED REASON=FINISHED").expect("event"));
        assert!(!t.circuits.contains_key(&5));
        // What g1 was credited with stays.
        assert_eq!(t.groups["g1"].exits.len(), 1);
    }

    #[test]
    fn an_ns_id_answer_gives_address_fingerprint_and_flags() {
        let text = "r exitFR WL57hoMgiPPfyfGWXOUhEwz5H/8 lrncxxGbfIopuFGfRyZrH+71FDs 2038-01-01 00:00:00 127.0.0.31 21089 0\n\
                    s Exit Fast Guard Running Stable Valid\n\
                    w Bandwidth=5\n\
                    p reject 1-65535";
        let entries = parse_ns(text);
        assert_eq!(entries.len(), 1);
        let e = &entries[0];
        assert_eq!(e.nickname, "exitFR");
        assert_eq!(e.fingerprint, FR);
        assert_eq!(e.address, "127.0.0.31".parse::<IpAddr>().expect("ip"));
        assert!(e.usable_exit());
    }

    #[test]
    fn ns_all_keeps_only_usable_exits_and_skips_malformed_entries() {
        let text = "r middle1 HJPta3wcVmBAkuP/gfyAPSHkgmA tGE2Pib69oMnnH7fOuIN+LskUU8 2038-01-01 00:00:00 127.0.0.21 27756 0\n\
                    s Fast Guard Running Stable Valid\n\
                    r bad1 HJPta3wcVmBAkuP/gfyAPSHkgmA x 2038-01-01 00:00:00 127.0.0.22 1 0\n\
                    s BadExit Exit Running Valid\n\
                    r garbled !!!! x 2038-01-01 00:00:00 127.0.0.23 1 0\n\
                    s Exit Running Valid\n\
                    r noaddr HJPta3wcVmBAkuP/gfyAPSHkgmA x 2038-01-01 00:00:00 nowhere 1 0\n\
                    s Exit Running Valid\n\
                    r exitFR WL57hoMgiPPfyfGWXOUhEwz5H/8 x 2038-01-01 00:00:00 127.0.0.31 21089 0\n\
                    s Exit Running Valid\n\
                    r down WL57hoMgiPPfyfGWXOUhEwz5H/8 x 2038-01-01 00:00:00 127.0.0.32 21089 0\n\
                    s Exit Valid";
        let all = parse_ns(text);
        assert_eq!(
            all.iter().map(|e| e.nickname.as_str()).collect::<Vec<_>>(),
            ["middle1", "bad1", "exitFR", "down"]
        );
        let usable: Vec<_> = all.into_iter().filter(NsEntry::usable_exit).collect();
        assert_eq!(usable.len(), 1);
        assert_eq!(usable[0].nickname, "exitFR");
    }

    #[test]
    fn bootstrap_phase_and_listeners_and_geoip() {
        assert_eq!(
            parse_bootstrap(r#"NOTICE BOOTSTRAP PROGRESS=100 TAG=done SUMMARY="Done""#),
            (100, "Done".to_string())
        );
        let (p, s) = parse_bootstrap(
            r#"WARN BOOTSTRAP PROGRESS=50 TAG=loading_descriptors SUMMARY="Loading relay descriptors" WARNING="no exit" REASON=X"#,
        );
        assert_eq!(p, 50);
        assert_eq!(s, "Loading relay descriptors; warning: no exit");
        assert_eq!(parse_bootstrap("garbage").0, 0);
        assert_eq!(
            parse_socks_listener(r#""[::1]:9050" "127.0.0.1:43417""#),
            Some("127.0.0.1:43417".parse().expect("addr"))
        );
        assert_eq!(parse_socks_listener(""), None);
        assert_eq!(geoip_country("fr"), Some("FR".into()));
        assert_eq!(geoip_country("??"), None);
        assert_eq!(geoip_country("f\u{1b}"), None);
    }

    #[test]
    fn managed_tor_can_be_shared_between_the_run_s_tasks() {
        fn shared<T: Send + Sync>() {}
        shared::<ManagedTor>();
        shared::<TorError>();
    }

    #[test]
    fn country_codes_are_two_letters_and_nothing_else() {
        assert_eq!(country_code("fr").expect("valid"), "FR");
        for bad in ["", "F", "FRA", "f1", "fr}\nExitNodes {de", "é"] {
            assert!(country_code(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn isolation_labels_become_safe_socks_usernames() {
        assert_eq!(isolation_token("mirror-3.fr_x"), "mirror-3.fr_x");
        let odd = isolation_token("https://m.example/ a:b@c");
        assert!(odd.starts_with("iso-") && odd.len() == 36, "{odd}");
        assert_eq!(odd, isolation_token("https://m.example/ a:b@c"));
        assert_ne!(odd, isolation_token("https://m.example/ a:b@d"));
        assert!(isolation_token("").starts_with("iso-"));
    }

    #[test]
    fn reply_lines_are_split_or_refused() {
        assert_eq!(
            split_reply_line("250-ip-to-country/1.2.3.4=??").expect("line"),
            ("250", '-', "ip-to-country/1.2.3.4=??")
        );
        assert_eq!(
            split_reply_line("250 OK").expect("line"),
            ("250", ' ', "OK")
        );
        assert!(split_reply_line("25").is_err());
        assert!(split_reply_line("abc OK").is_err());
        assert!(split_reply_line("250*OK").is_err());
    }

    /// A scripted control port on loopback: the real parser reads real sockets.
    fn scripted(answer: &'static [u8]) -> ControlConn {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
        let addr = listener.local_addr().expect("addr");
        thread::spawn(move || {
            if let Ok((mut s, _)) = listener.accept() {
                let mut line = String::new();
                let mut r = BufReader::new(s.try_clone().expect("clone"));
                let _ = r.read_line(&mut line);
                let _ = s.write_all(answer);
                thread::sleep(Duration::from_millis(200));
            }
        });
        let stream = TcpStream::connect(addr).expect("connect");
        let reader = BufReader::new(stream.try_clone().expect("clone"));
        ControlConn { stream, reader }
    }

    fn soon() -> Instant {
        Instant::now() + Duration::from_secs(5)
    }

    #[test]
    fn a_data_reply_is_unstuffed_and_events_between_are_skipped() {
        let mut c = scripted(
            b"650 STREAM 1 NEW 0 x:1\r\n250+ns/id/X=\r\nr a\r\n..dot\r\n.\r\n250-k=v\r\n250 OK\r\n",
        );
        let r = c
            .command("GETINFO ns/id/X k", MAX_REPLY, soon())
            .expect("reply");
        assert_eq!(r.value("ns/id/X"), Some("r a\n.dot"));
        assert_eq!(r.value("k"), Some("v"));
    }

    #[test]
    fn an_error_reply_is_an_error_with_escaped_text() {
        let mut c = scripted(b"552 Unrecognized key \"\x1b[2J\"\r\n");
        let e = c
            .command("GETINFO x", MAX_REPLY, soon())
            .expect_err("error");
        assert!(e.starts_with("tor answered 552"), "{e}");
        assert!(!e.contains('\u{1b}'), "{e}");
    }

    #[test]
    fn replies_are_bounded_in_size_and_line_length() {
        let mut c = scripted(b"250-a=0123456789\r\n250-b=0123456789\r\n250 OK\r\n");
        let e = c.command("GETINFO a b", 30, soon()).expect_err("too big");
        assert!(e.contains("larger than 30"), "{e}");
        let long: &'static [u8] = Box::leak(
            [
                b"250-a=".as_slice(),
                &vec![b'x'; MAX_LINE + 10],
                b"\r\n250 OK\r\n",
            ]
            .concat()
            .into_boxed_slice(),
        );
        let mut c = scripted(long);
        let e = c
            .command("GETINFO a", usize::MAX, soon())
            .expect_err("too long");
        assert!(e.contains("longer than"), "{e}");
    }

    #[test]
    fn a_silent_tor_is_an_error_at_the_deadline() {
        let mut c = scripted(b"");
        let e = c
            .command(
                "GETINFO a",
                MAX_REPLY,
                Instant::now() + Duration::from_millis(100),
            )
            .expect_err("no answer");
        assert!(e.contains("no answer") || e.contains("closed"), "{e}");
    }

    #[test]
    fn commands_with_line_breaks_are_not_sent() {
        let mut c = scripted(b"250 OK\r\n");
        assert!(
            c.command("GETINFO a\r\nSIGNAL HALT", MAX_REPLY, soon())
                .is_err()
        );
    }

    #[test]
    fn the_complaint_is_the_warning_that_explains_the_exit() {
        let log = "Dec 02 13:59:24.000 [notice] Read configuration file\n\
                   Dec 02 13:59:24.000 [warn] Failed to parse/validate config: Unknown option 'Bogus'\x1b[2J\n\
                   Dec 02 13:59:24.000 [err] Reading config failed--see warnings above.\n";
        assert_eq!(
            complaint(log).as_deref(),
            Some("Failed to parse/validate config: Unknown option 'Bogus'\\u{1b}[2J")
        );
        assert_eq!(
            complaint("x [err] Bug: out of memory\n").as_deref(),
            Some("Bug: out of memory")
        );
        assert_eq!(complaint("x [notice] fine\n"), None);
    }

    #[test]
    fn torrc_paths_are_quoted_or_refused() {
        assert_eq!(
            torrc_path(Path::new("/tmp/a b")).expect("fine"),
            "\"/tmp/a b\""
        );
        assert!(torrc_path(Path::new("/tmp/a\nControlPort 9051")).is_err());
        assert!(torrc_path(Path::new("/tmp/a\"b")).is_err());
    }
}
