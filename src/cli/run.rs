//! The options of every command that asks mirrors (`check`, `verify`), and the one way such
//! a command starts a run: the library decides; this turns options into its inputs and its
//! errors into exit codes.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use clap::Args;

use mirrorproof::evidence::EvidenceDir;
use mirrorproof::fetch::{ArtifactMode, FetchConfig};
use mirrorproof::profile::{Location, Mirror, Profile};
use mirrorproof::run::{CheckError, CheckOptions, ProfileCheck, ProfileOutcome, RunHooks};
use mirrorproof::state::{NotRecorded, StatePlan, StateSetting, StateStore};
use mirrorproof::time;
use mirrorproof::vantage::{Kind, VantageSpec, Vantages};

use super::{Fail, problem, usage};

/// More requests in flight than this only exhausts file descriptors.
const MAX_CONCURRENCY: usize = 4096;

#[derive(Args)]
pub(crate) struct RunArgs {
    /// Add a mirror: an http(s) URL or an existing directory, optionally with its ISO
    /// country code: URL=CC (repeatable). For a tuf profile URL is the metadata URL, and
    /// targets are looked for in URL/targets/ (a profile's targets_url says otherwise).
    #[arg(long = "mirror", value_name = "URL[=CC]")]
    mirrors: Vec<String>,
    /// Check only the --mirror mirrors, not the profile's.
    #[arg(long)]
    only_cli_mirrors: bool,
    /// Channel other than the profile's.
    #[arg(long)]
    channel: Option<String>,
    /// Per-request limit in seconds for metadata, connect plus the whole body.
    #[arg(long, default_value_t = 30.0, value_name = "SECS")]
    timeout: f64,
    /// Per-request limit in seconds for one artifact download.
    #[arg(long, default_value_t = 600.0, value_name = "SECS")]
    artifact_timeout: f64,
    /// Artifact transfers in flight at most (small metadata requests: up to 16 times as
    /// many, fewer if the open-file limit is lower).
    #[arg(long, default_value_t = 64)]
    concurrency: usize,
    /// Largest metadata document accepted, in bytes [default: 1048576; for tuf profiles
    /// 5000000, TUF's own limit for targets metadata]
    #[arg(long, value_name = "MAX_METADATA_BYTES")]
    pub(crate) max_metadata_bytes: Option<u64>,
    /// Extra PEM CA certificate to trust for HTTPS mirrors (repeatable).
    #[arg(long = "ca-cert", value_name = "PEM")]
    ca_certs: Vec<PathBuf>,
    /// Where rollback state is kept (default: the user's data directory).
    #[arg(long, value_name = "DIR")]
    state: Option<PathBuf>,
    /// Neither read nor write state.
    #[arg(long, conflicts_with = "state")]
    no_state: bool,
    /// Check every mirror through this vantage point (repeatable; replaces the profile's
    /// [[vantages]]): direct, direct=CC, tor:CC (a Tor client with exits in CC, started
    /// and stopped by mirrorproof), globalping:CC (Globalping's probes in CC; release
    /// documents only), or name=NAME,proxy=URL,country=CC (socks5h, socks5, http, https).
    #[arg(long = "vantage", value_name = "SPEC")]
    vantages: Vec<String>,
    /// Check every address each mirror's host name resolves to as its own mirror (same
    /// Host header and TLS name): GeoDNS and anycast hosts serve different machines.
    #[arg(long)]
    each_address: bool,
    #[command(flatten)]
    tor: super::vantages::TorClientArgs,
    /// Globalping's API for globalping:CC vantages [default: https://api.globalping.io;
    /// also MIRRORPROOF_GLOBALPING_API]. A token, if any, is read from GLOBALPING_TOKEN.
    #[arg(long, value_name = "URL")]
    globalping_api: Option<String>,
}

impl RunArgs {
    /// `--channel`, else the profile's.
    pub(crate) fn channel(&self, profile: &Profile) -> String {
        self.channel.clone().unwrap_or(profile.channel.clone())
    }

    fn state_setting(&self) -> StateSetting {
        StateSetting::from_options(self.state.clone(), self.no_state)
    }

    /// The state store for reading only (offline verify).
    pub(crate) fn read_only_state(&self) -> Result<Option<StateStore>, Fail> {
        self.state_setting().read_only_store().map_err(usage)
    }

    /// The mirrors to ask (profile and command line) and the fetch limits.
    /// `--max-metadata-bytes`, or the limit the profile's scheme needs.
    pub(crate) fn metadata_limit(&self, profile: &Profile) -> u64 {
        self.max_metadata_bytes
            .unwrap_or_else(|| profile.default_max_metadata_bytes())
    }

    fn mirrors_and_fetch(&self, profile: &Profile) -> Result<(Vec<Mirror>, FetchConfig), Fail> {
        let mut mirrors = if self.only_cli_mirrors {
            Vec::new()
        } else {
            profile.mirrors.clone()
        };
        if self.only_cli_mirrors && self.mirrors.is_empty() {
            return Err(usage(
                "--only-cli-mirrors leaves no mirrors to check: add at least one --mirror URL[=CC]",
            ));
        }
        let cwd = Path::new(".");
        for m in &self.mirrors {
            mirrors.push(Mirror::from_arg(m, cwd).map_err(|e| usage(format!("--mirror: {e}")))?);
        }
        let mut extra_roots = Vec::new();
        for p in &self.ca_certs {
            extra_roots.push(
                mirrorproof::fsutil::read_limited(p, 1024 * 1024)
                    .map_err(|e| usage(format!("{}: {e}", p.display())))?,
            );
        }
        if self.concurrency == 0 || self.concurrency > MAX_CONCURRENCY {
            return Err(usage(format!(
                "--concurrency must be between 1 and {MAX_CONCURRENCY}"
            )));
        }
        let fetch = FetchConfig {
            timeout: seconds(self.timeout, "--timeout")?,
            artifact_timeout: seconds(self.artifact_timeout, "--artifact-timeout")?,
            max_metadata_bytes: self.metadata_limit(profile),
            concurrency: self.concurrency,
            extra_roots,
        };
        Ok((mirrors, fetch))
    }

    /// `--vantage` (else the profile's), `--each-address` and how managed vantages start.
    fn vantages(&self, profile: &Profile) -> Result<Vantages, Fail> {
        let specs = if self.vantages.is_empty() {
            profile.vantages.clone()
        } else {
            self.vantages
                .iter()
                .map(|s| VantageSpec::parse_arg(s).map_err(|e| usage(format!("--vantage: {e}"))))
                .collect::<Result<Vec<_>, _>>()?
        };
        mirrorproof::vantage::check_all(&specs).map_err(|e| usage(format!("--vantage: {e}")))?;
        Ok(Vantages {
            specs,
            each_address: self.each_address,
            tor: self.tor.options()?,
            globalping_api: self
                .globalping_api
                .clone()
                .or_else(|| std::env::var("MIRRORPROOF_GLOBALPING_API").ok()),
            globalping_token: std::env::var("GLOBALPING_TOKEN")
                .ok()
                .filter(|t| !t.is_empty()),
        })
    }

    /// Where this run keeps state, recording under `key`/`channel`.
    fn state_plan(&self, key: &str, channel: &str) -> Result<StatePlan, Fail> {
        StatePlan::for_run(&self.state_setting(), key, channel).map_err(usage)
    }
}

/// A local directory is read on this machine whatever the vantage, so it is checked through
/// `direct` vantages only: with none, a list of directories (the demo, say) would be a run
/// over no mirror at all, which reads like "no mirror serves a valid release" (exit 1) when
/// nothing was asked. Entries of an evidence bundle carry their vantage and are kept.
fn nothing_through_vantages(mirrors: &[Mirror], vantages: &Vantages) -> Result<(), Fail> {
    let any_direct = vantages.specs.iter().any(|v| v.kind == Kind::Direct);
    let all_local = mirrors
        .iter()
        .all(|m| m.vantage.is_none() && matches!(m.location, Location::Dir(_)));
    if vantages.specs.is_empty() || any_direct || mirrors.is_empty() || !all_local {
        return Ok(());
    }
    Err(usage(format!(
        "every mirror is a local directory, read on this machine whatever the vantage, and no vantage is direct ({}): nothing would be checked; add --vantage direct, or serve the mirrors over HTTP",
        vantages
            .specs
            .iter()
            .map(|v| v.name.as_str())
            .collect::<Vec<_>>()
            .join(", ")
    )))
}

/// Managed tor clients connect before the run starts, which can take up to the bootstrap
/// deadline (two minutes by default) with nothing on the screen: without a network, or
/// where Tor is blocked, the run looked hung. One line on stderr says what it waits for;
/// stdout stays the report alone. Evidence being re-checked starts nothing, and says
/// nothing.
fn say_tor_is_starting(mirrors: &[Mirror], vantages: &Vantages) {
    let tors: Vec<String> = vantages
        .specs
        .iter()
        .filter(|v| v.kind == Kind::Tor)
        .map(|v| format!("tor:{}", v.country))
        .collect();
    if tors.is_empty() || mirrors.iter().all(|m| m.vantage.is_some()) {
        return;
    }
    let secs = vantages.tor.bootstrap_timeout.as_secs_f64();
    eprintln!(
        "mirrorproof: starting tor for {}; connecting to the Tor network may take up to {secs} s (--tor-bootstrap-timeout)",
        tors.join(", ")
    );
}

fn seconds(s: f64, what: &str) -> Result<Duration, Fail> {
    Duration::try_from_secs_f64(s)
        .ok()
        .filter(|d| !d.is_zero())
        .ok_or_else(|| usage(format!("{what} must be a positive number of seconds")))
}

/// Runs the check of a loaded profile, whatever its scheme (the library picks it); the
/// second value is why the run could not record the version it learned, to print after
/// the output.
pub(crate) fn start(
    profile: &Profile,
    run: &RunArgs,
    mode: ArtifactMode,
    evidence: Option<Arc<EvidenceDir>>,
) -> Result<(ProfileOutcome, Option<NotRecorded>), Fail> {
    prepare(profile, run, mode, RunHooks::default())?.run(evidence, false)
}

/// A run whose options and pinned trust were read and found usable, not started yet: what
/// fails here is the configuration (exit 2), and what fails in [`Prepared::run`] may be
/// the world (`watch` goes on after it).
pub(crate) struct Prepared {
    check: ProfileCheck,
    plan: StatePlan,
    mirrors: Vec<Mirror>,
    vantages: Vantages,
}

/// Reads and checks everything a run needs before any mirror is asked; `hooks` follow
/// (and may stop) the run.
pub(crate) fn prepare(
    profile: &Profile,
    run: &RunArgs,
    mode: ArtifactMode,
    hooks: RunHooks,
) -> Result<Prepared, Fail> {
    let (mirrors, fetch) = run.mirrors_and_fetch(profile)?;
    let channel = run.channel(profile);
    // Checked again by the run; here it is a configuration error before anything starts.
    mirrorproof::release::check_channel_name(&channel).map_err(usage)?;
    let vantages = run.vantages(profile)?;
    nothing_through_vantages(&mirrors, &vantages)?;
    let opts = CheckOptions {
        channel: channel.clone(),
        artifacts: mode,
        fetch,
        state: None,
        now: time::now(),
        vantages: vantages.clone(),
        hooks,
    };
    let check = ProfileCheck::load(profile, opts).map_err(usage)?;
    let plan = run.state_plan(&check.state_key(), &channel)?;
    Ok(Prepared {
        check,
        plan,
        mirrors,
        vantages,
    })
}

impl Prepared {
    /// Runs the check; the second value is why the run could not record the version it
    /// learned, to print after the output. `keep_documents` keeps the signed documents
    /// each entry served, in memory and bounded (`run::documents`), for `--history`.
    pub(crate) fn run(
        self,
        evidence: Option<Arc<EvidenceDir>>,
        keep_documents: bool,
    ) -> Result<(ProfileOutcome, Option<NotRecorded>), Fail> {
        let Prepared {
            check,
            plan,
            mirrors,
            vantages,
        } = self;
        say_tor_is_starting(&mirrors, &vantages);
        let outcome = check
            .with_state(plan.store().cloned())
            .keep_documents(keep_documents)
            .run(mirrors, evidence)
            .map_err(|e| match e {
                CheckError::RootExpired { .. } => problem(e),
                other => usage(other),
            })?;
        let unrecorded = plan.unrecorded(outcome.state_written, outcome.state_error.as_ref());
        Ok((outcome, unrecorded))
    }
}
