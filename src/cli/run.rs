//! The options of every command that asks mirrors (`check`, `verify`), and the one way such
//! a command starts a run: the library decides; this turns options into its inputs and its
//! errors into exit codes.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use clap::Args;

use mirrorproof::evidence::EvidenceDir;
use mirrorproof::fetch::{ArtifactMode, FetchConfig};
use mirrorproof::profile::{Mirror, Profile};
use mirrorproof::run::{CheckError, CheckOptions, ProfileCheck, ProfileOutcome};
use mirrorproof::state::{NotRecorded, StatePlan, StateSetting, StateStore};
use mirrorproof::time;

use super::{Fail, problem, usage};

/// More requests in flight than this only exhausts file descriptors.
const MAX_CONCURRENCY: usize = 4096;

#[derive(Args)]
pub(crate) struct RunArgs {
    /// Add a mirror: an http(s) URL or an existing directory, optionally with its ISO
    /// country code: URL=CC (repeatable).
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
    /// Largest metadata document accepted, in bytes.
    #[arg(long, default_value_t = mirrorproof::envelope::DEFAULT_MAX_BYTES)]
    pub(crate) max_metadata_bytes: u64,
    /// Extra PEM CA certificate to trust for HTTPS mirrors (repeatable).
    #[arg(long = "ca-cert", value_name = "PEM")]
    ca_certs: Vec<PathBuf>,
    /// Where rollback state is kept (default: the user's data directory).
    #[arg(long, value_name = "DIR")]
    state: Option<PathBuf>,
    /// Neither read nor write state.
    #[arg(long, conflicts_with = "state")]
    no_state: bool,
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
            max_metadata_bytes: self.max_metadata_bytes,
            concurrency: self.concurrency,
            extra_roots,
        };
        Ok((mirrors, fetch))
    }

    /// Where this run keeps state, recording under `key`/`channel`.
    fn state_plan(&self, key: &str, channel: &str) -> Result<StatePlan, Fail> {
        StatePlan::for_run(&self.state_setting(), key, channel).map_err(usage)
    }
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
    let (mirrors, fetch) = run.mirrors_and_fetch(profile)?;
    let channel = run.channel(profile);
    let opts = CheckOptions {
        channel: channel.clone(),
        artifacts: mode,
        fetch,
        state: None,
        now: time::now(),
    };
    let check = ProfileCheck::load(profile, opts).map_err(usage)?;
    let plan = run.state_plan(&check.state_key(), &channel)?;
    let outcome = check
        .with_state(plan.store().cloned())
        .run(mirrors, evidence)
        .map_err(|e| match e {
            CheckError::RootExpired { .. } => problem(e),
            other => usage(other),
        })?;
    let unrecorded = plan.unrecorded(outcome.state_written, outcome.state_error.as_ref());
    Ok((outcome, unrecorded))
}
