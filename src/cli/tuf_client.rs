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

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use clap::error::{ContextKind, ContextValue, ErrorKind};
use clap::{Args, Subcommand};

use mirrorproof::fetch::{FetchConfig, Fetcher};
use mirrorproof::profile::bare_host_hint;
use mirrorproof::report::network_cause;
use mirrorproof::schemes::tuf::metadata::ROOT;
use mirrorproof::schemes::tuf::updater::{self, Updater};
use mirrorproof::schemes::tuf::{Config, FetcherSource, SourceError, TufError};
use mirrorproof::text::shown;

/// The exit code of every failure, parse errors included.
pub(crate) const EXIT_FAILURE: i32 = 1;

/// The help's usage: the three command lines, options before the command.
pub(crate) const USAGE: &str = "mirrorproof tuf-client --metadata-dir DIR init ROOT
       mirrorproof tuf-client --metadata-dir DIR --metadata-url URL refresh
       mirrorproof tuf-client --metadata-dir DIR --metadata-url URL --target-name PATH [--target-name PATH ...] --target-dir DIR --target-base-url URL download";

/// The help's closing words: what each command needs, where options go, exit codes.
pub(crate) const AFTER_HELP: &str = "Options come before the command, as the TUF conformance suite gives them. init needs --metadata-dir; refresh needs --metadata-dir and --metadata-url; download needs those and --target-name (one or more), --target-dir and --target-base-url. Run init once, before refresh or download. A repository on local disk is given as a file: URL (file:///abs/path/metadata/).

Exit codes: 0 success; 1 any failure, a command line that does not parse included (one line on stderr).";

/// Every option of `tuf-client`, to tell an option given after the command from one that
/// does not exist.
const OPTIONS: &[&str] = &[
    "--metadata-dir",
    "--metadata-url",
    "--target-name",
    "--target-dir",
    "--target-base-url",
    "--timeout",
];

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
    #[command(
        after_help = "Needs --metadata-dir, given before `init`. Refused if the directory already trusts a newer root."
    )]
    Init {
        /// The initial trusted root.json.
        root: PathBuf,
    },
    /// Update root, timestamp, snapshot and targets from the repository.
    #[command(
        after_help = "Needs --metadata-dir and --metadata-url, given before `refresh`, and a directory set up by `init`."
    )]
    Refresh,
    /// Refresh, then download and verify each --target-name into --target-dir.
    #[command(
        after_help = "Needs --metadata-dir, --metadata-url, --target-name (one or more), --target-dir and --target-base-url, given before `download`, and a directory set up by `init`."
    )]
    Download,
}

/// The one-line message for a command line clap could not parse, when the command is
/// `tuf-client` (`None` for every other command). Such a failure exits 1, because the
/// conformance harness reads every code but 0 and 1 as a broken client, not a refusal.
///
/// An option after the command is the likely slip (most tools take options anywhere),
/// and clap's own answer, a tip to pass it as a value with `--`, would lead further
/// astray: it is answered with where options go.
pub(crate) fn parse_error(e: &clap::Error) -> Option<String> {
    if std::env::args_os().nth(1).as_deref() != Some(std::ffi::OsStr::new("tuf-client")) {
        return None;
    }
    let see = "see `mirrorproof tuf-client --help`";
    if let (ErrorKind::UnknownArgument, Some(ContextValue::String(arg))) =
        (e.kind(), e.get(ContextKind::InvalidArg))
    {
        let option = arg.split('=').next().unwrap_or(arg);
        if OPTIONS.contains(&option) {
            return Some(format!(
                "{option} after the command: options come before the command, as in `mirrorproof tuf-client --metadata-dir DIR init ROOT` ({see})"
            ));
        }
    }
    if matches!(
        e.kind(),
        ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand | ErrorKind::MissingSubcommand
    ) {
        return Some(format!(
            "no command: give init, refresh or download after the options ({see})"
        ));
    }
    // clap's message, up to its usage block, on one line.
    let rendered = e.render().to_string();
    let text: Vec<&str> = rendered
        .lines()
        .map(str::trim)
        .take_while(|l| !l.is_empty() && !l.starts_with("Usage:"))
        .filter(|l| !l.starts_with("For more information"))
        .collect();
    let text = text.join(" ");
    let text = text.strip_prefix("error: ").unwrap_or(&text);
    Some(format!("{text} (options come before the command; {see})"))
}

pub(crate) fn run(args: TufClientArgs) -> i32 {
    match run_inner(args) {
        Ok(()) => 0,
        Err(msg) => {
            let msg: String = msg.chars().take(600).collect();
            eprintln!("mirrorproof tuf-client: {}", shown(&msg));
            EXIT_FAILURE
        }
    }
}

/// The error's one line. A network failure keeps only its readable cause (as `check`'s
/// offline note reads it), after the URL that was asked.
fn tuf(e: TufError) -> String {
    match e {
        TufError::Fetch {
            what,
            error: SourceError::Network(reason),
        } => format!("fetching {what}: {}", network_cause(&reason)),
        e => e.to_string(),
    }
}

/// An http, https or file URL from the option `--NAME`. The two usual slips get the URL
/// that was meant: a host name without its scheme (worded as `check` words it), and a
/// local directory given as a path (a `file:` URL).
fn url_arg(name: &str, value: Option<&String>) -> Result<url::Url, String> {
    let v = value.ok_or_else(|| format!("--{name} is required for this command"))?;
    let parsed = url::Url::parse(v);
    if let Ok(u) = &parsed
        && matches!(u.scheme(), "http" | "https" | "file")
    {
        return Ok(u.clone());
    }
    if !v.contains("://") {
        if let Some(hint) = bare_host_hint(v, Path::new(".")) {
            return Err(format!("--{name} {v}: {hint}"));
        }
        let relative = matches!(parsed, Err(url::ParseError::RelativeUrlWithoutBase));
        if relative || Path::new(v).exists() {
            return Err(format!(
                "--{name} {v}: a URL is needed; a local directory is given as a file: URL ({})",
                file_url(v)
            ));
        }
    }
    match parsed {
        Err(e) => Err(format!("--{name} {v}: {e}")),
        Ok(_) => Err(format!("--{name} {v}: only http, https and file URLs")),
    }
}

/// `path` as the `file:` URL of a directory (absolute, with a trailing slash).
fn file_url(path: &str) -> String {
    std::path::absolute(path)
        .ok()
        .and_then(|p| url::Url::from_directory_path(p).ok())
        .map_or_else(|| "file:///abs/path/".to_owned(), |u| u.to_string())
}

fn run_inner(args: TufClientArgs) -> Result<(), String> {
    let now = mirrorproof::time::now();
    if let Action::Init { root } = &args.action {
        let max = Config::default().root_max_bytes;
        let bytes = mirrorproof::fsutil::read_limited(root, max)
            .map_err(|e| format!("{}: {e}", root.display()))?;
        return updater::init(&args.metadata_dir, &bytes, now).map_err(tuf);
    }
    // Before anything else: without a trusted root nothing can be checked, and init is
    // the step a newcomer has not met yet.
    let root = updater::metadata_file(&args.metadata_dir, ROOT);
    if std::fs::symlink_metadata(&root).is_err_and(|e| e.kind() == std::io::ErrorKind::NotFound) {
        let dir = args.metadata_dir.display();
        return Err(format!(
            "no trusted root in {dir}: run `mirrorproof tuf-client --metadata-dir {dir} init ROOT` first"
        ));
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
