//! `mirrorproof merge DIR...`: join evidence bundles into one report, every signed byte
//! verified again here (the library decides; see `evidence::merge`).

use std::path::PathBuf;

use clap::Args;

use mirrorproof::evidence::merge;
use mirrorproof::fetch::{ArtifactMode, FetchConfig};
use mirrorproof::profile::Profile;
use mirrorproof::run::{CheckError, CheckOptions, ProfileCheck};
use mirrorproof::vantage::Vantages;

use super::output::{self, OutputArgs};
use super::{EXIT_OK, EXIT_PROBLEM, Fail, path, problem, usage};

/// What a first merge needs to know beyond the options.
pub(crate) const AFTER_HELP: &str = "\
Each DIR is a directory that check --evidence DIR wrote (not its profile.toml), from this \
machine or another. Only release documents are kept and verified again; artifact verdicts \
are shown as the bundle's claim. A vantage name found in several bundles becomes \
NAME@BUNDLE, after each bundle's directory name. Exit codes are those of check: 0 every \
deciding entry ok, 1 a problem or a targeted mirror, 2 a bundle refused (other pinned trust, \
not a bundle).";

#[derive(Args)]
pub(crate) struct MergeArgs {
    /// Evidence bundles (`check --evidence DIR`), one or more vantages each.
    #[arg(required = true, value_name = "DIR")]
    dirs: Vec<PathBuf>,
    #[command(flatten)]
    output: OutputArgs,
    /// Your own profile: bundles must be pinned to its root or key, byte for byte
    /// (without it, they must agree with each other).
    #[arg(long, value_name = "PROFILE")]
    profile: Option<PathBuf>,
}

pub(crate) fn run(args: MergeArgs) -> Result<i32, Fail> {
    args.output.validate()?;
    bundles_as_given(&args.dirs)?;
    let pin = args
        .profile
        .as_deref()
        .map(Profile::load)
        .transpose()
        .map_err(usage)?;
    let merged = merge::load(&args.dirs, pin.as_ref()).map_err(usage)?;
    let opts = CheckOptions {
        channel: merged.profile.channel.clone(),
        artifacts: ArtifactMode::None,
        fetch: FetchConfig {
            max_metadata_bytes: merged.profile.default_max_metadata_bytes(),
            ..FetchConfig::default()
        },
        state: None,
        now: mirrorproof::time::now(),
        vantages: Vantages {
            specs: merged.vantages.clone(),
            ..Vantages::default()
        },
        hooks: Default::default(),
    };
    let outcome = ProfileCheck::load(&merged.profile, opts)
        .map_err(usage)?
        .keep_documents(args.output.history().is_some())
        .run(merged.profile.mirrors.clone(), None)
        .map_err(|e| match e {
            CheckError::RootExpired { .. } => problem(e),
            other => usage(other),
        })?;
    output::finish(&outcome, &args.output)?;
    Ok(if outcome.report.ok {
        EXIT_OK
    } else {
        EXIT_PROBLEM
    })
}

/// What a user types wrong before any bundle is read: a bundle's `profile.toml` for the
/// bundle (the file `check` takes), a directory that is not there, or one bundle twice (a
/// shell glob and a name, `ev-a` and `ev-a/`), which would be merged as two machines'
/// runs, each mirror counted twice, the second renamed `NAME@ev-a-2`.
fn bundles_as_given(dirs: &[PathBuf]) -> Result<(), Fail> {
    let mut seen: Vec<(PathBuf, &PathBuf)> = Vec::with_capacity(dirs.len());
    for d in dirs {
        match std::fs::metadata(d) {
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                return Err(usage(format!("bundle {}: no such directory", path(d))));
            }
            Ok(m) if m.is_file() => {
                let dir = d
                    .parent()
                    .filter(|p| !p.as_os_str().is_empty())
                    .unwrap_or(std::path::Path::new("."));
                return Err(usage(format!(
                    "bundle {} is a file: give the bundle's directory ({}), the DIR that check --evidence DIR wrote",
                    path(d),
                    path(dir)
                )));
            }
            // Anything else is for the library to judge (and name).
            _ => {}
        }
        if let Ok(real) = std::fs::canonicalize(d) {
            if let Some((_, first)) = seen.iter().find(|(r, _)| *r == real) {
                return Err(usage(format!(
                    "bundles {} and {} are one directory: give each bundle once",
                    path(first),
                    path(d)
                )));
            }
            seen.push((real, d));
        }
    }
    Ok(())
}
