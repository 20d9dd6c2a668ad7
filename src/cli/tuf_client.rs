//! `mirrorproof tuf-client`: a TUF client with exactly the command line the TUF project's
//! client conformance suite drives (tuf-conformance, CLIENT-CLI.md), options before the
//! command:
//!
//! ```text
//! tuf-client --metadata-dir D init ROOT
//! tuf-client --metadata-url U --metadata-dir D refresh
//! tuf-client --metadata-url U --metadata-dir D --target-name T [--target-name T2 ...]
//!            --target-dir TD --target-base-url TU download
//! ```
//!
//! Exit 0 on success, 1 on any failure with one line on stderr, a command line that does
//! not parse included. Every request has a
//! deadline covering the whole body, so no repository can make a run hang.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use clap::{Args, Subcommand};

use mirrorproof::fetch::{FetchConfig, Fetcher};
use mirrorproof::schemes::tuf::updater::{self, Updater};
use mirrorproof::schemes::tuf::{Config, FetcherSource, TufError};
use mirrorproof::text::shown;

#[derive(Args)]
pub(crate) struct TufClientArgs {
    /// Directory of trusted metadata (root.json, timestamp.json, ...).
    #[arg(long, value_name = "DIR")]
    metadata_dir: PathBuf,
    /// Base URL of the repository's metadata.
    #[arg(long, value_name = "URL")]
    metadata_url: Option<String>,
    /// Target path to download (repeatable). May start with `-`: it is a name.
    #[arg(long = "target-name", value_name = "PATH", allow_hyphen_values = true)]
    target_names: Vec<String>,
    /// Directory to store verified targets in.
    #[arg(long, value_name = "DIR")]
    target_dir: Option<PathBuf>,
    /// Base URL of the repository's targets.
    #[arg(long, value_name = "URL")]
    target_base_url: Option<String>,
    /// Deadline for each request, connect and whole body, in seconds.
    #[arg(long, value_name = "SECS", default_value_t = 30)]
    timeout: u64,
    #[command(subcommand)]
    action: Action,
}

#[derive(Subcommand)]
enum Action {
    /// Start trusting ROOT (checked to be a root signed by its own keys). No request.
    Init {
        /// The initial trusted root.json.
        root: PathBuf,
    },
    /// Update root, timestamp, snapshot and targets from the repository.
    Refresh,
    /// Refresh, then download and verify each --target-name into --target-dir.
    Download,
}

/// The exit code for a command line clap could not parse, when the command is
/// `tuf-client`: 1, because the conformance harness reads every code but 0 and 1 as a
/// broken client, not as a refusal. `None` for every other command (they exit 2).
pub(crate) fn usage_exit_code() -> Option<i32> {
    (std::env::args_os().nth(1).as_deref() == Some(std::ffi::OsStr::new("tuf-client"))).then_some(1)
}

pub(crate) fn run(args: TufClientArgs) -> i32 {
    match run_inner(args) {
        Ok(()) => 0,
        Err(msg) => {
            let msg: String = msg.chars().take(600).collect();
            eprintln!("mirrorproof tuf-client: {}", shown(&msg));
            1
        }
    }
}

fn tuf(e: TufError) -> String {
    e.to_string()
}

fn url_arg(name: &str, value: Option<&String>) -> Result<url::Url, String> {
    let v = value.ok_or_else(|| format!("--{name} is required for this command"))?;
    let u = url::Url::parse(v).map_err(|e| format!("--{name}: {e}"))?;
    if !matches!(u.scheme(), "http" | "https" | "file") {
        return Err(format!("--{name}: only http, https and file URLs"));
    }
    Ok(u)
}

fn run_inner(args: TufClientArgs) -> Result<(), String> {
    let now = mirrorproof::time::now();
    if let Action::Init { root } = &args.action {
        let max = Config::default().root_max_bytes;
        let bytes = mirrorproof::fsutil::read_limited(root, max)
            .map_err(|e| format!("{}: {e}", root.display()))?;
        return updater::init(&args.metadata_dir, &bytes, now).map_err(tuf);
    }
    let metadata_url = url_arg("metadata-url", args.metadata_url.as_ref())?;
    let timeout = Duration::from_secs(args.timeout.max(1));
    let fetch = FetchConfig {
        timeout,
        artifact_timeout: timeout,
        concurrency: 4,
        ..FetchConfig::default()
    };
    let fetcher = Fetcher::new(fetch, &[]).map_err(|e| e.to_string())?;
    let source = FetcherSource::new(Arc::new(fetcher));
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| format!("cannot start the async runtime: {e}"))?;
    rt.block_on(async {
        let mut up = Updater::new(
            &args.metadata_dir,
            metadata_url,
            source,
            Config::default(),
            now,
        )
        .map_err(tuf)?;
        match args.action {
            Action::Init { .. } => Ok(()),
            Action::Refresh => up.refresh().await.map_err(tuf),
            Action::Download => {
                let target_dir = args
                    .target_dir
                    .as_ref()
                    .ok_or("--target-dir is required for download")?;
                let base = url_arg("target-base-url", args.target_base_url.as_ref())?;
                if args.target_names.is_empty() {
                    return Err("--target-name is required for download".into());
                }
                up.refresh().await.map_err(tuf)?;
                for name in &args.target_names {
                    let info = up
                        .target_info(name)
                        .await
                        .map_err(tuf)?
                        .ok_or_else(|| tuf(TufError::TargetNotFound(name.clone())))?;
                    if up.cached_target(name, &info, target_dir).is_some() {
                        continue;
                    }
                    up.download_target(name, &info, target_dir, &base)
                        .await
                        .map_err(tuf)?;
                }
                Ok(())
            }
        }
    })
}
