//! `mirrorproof check PROFILE`: run, record evidence, print the report.

use std::path::PathBuf;
use std::sync::Arc;

use clap::{Args, ValueEnum};

use mirrorproof::evidence::EvidenceDir;
use mirrorproof::fetch::ArtifactMode;
use mirrorproof::profile::Profile;
use mirrorproof::run::RunHooks;

use super::output::{self, OutputArgs};
use super::progress::Bar;
use super::run::{self, RunArgs};
use super::{EXIT_OK, EXIT_PROBLEM, Fail, unrecorded_message, usage};

/// What `--vantage` alone does not say: how the report judges vantages, and where the
/// runs of several machines meet. Long help and the manual page only; `-h` stays short.
pub(crate) const AFTER_LONG_HELP: &str = "\
Vantage points (--vantage, or [[vantages]] in the profile): every mirror is checked through \
every vantage, and the report labels each entry MIRROR [VANTAGE]. A vantage that could not \
reach more than 70 % of the mirrors another vantage reached is DEGRADED: the path is broken \
(a proxy or tunnel that is down, Tor without an exit in its country), not the mirrors, and \
its entries decide nothing. A mirror whose status differs between vantages that are not \
degraded is TARGETED, which fails the run (exit 1). Local directory mirrors are read on this \
machine, so only direct vantages check them. Runs on several machines: check --evidence DIR \
on each, then mirrorproof merge DIR... Recipes (a CI matrix, Tor, ssh -D to a VPS) are in \
docs/VANTAGES.md.";

// No doc comment here: the variant's in `Command` is the command's help.
#[derive(Args)]
pub(crate) struct CheckArgs {
    /// Profile (TOML) naming the pinned root or key, the channel and the mirrors.
    profile: PathBuf,
    #[command(flatten)]
    run: RunArgs,
    /// How artifacts are checked: none, size (lengths only) or full (every byte hashed).
    #[arg(long, value_enum, default_value = "full")]
    artifacts: ArtifactsArg,
    #[command(flatten)]
    output: OutputArgs,
    /// Keep what every mirror served, the root chain and the report in DIR, with a
    /// profile that re-checks them offline.
    #[arg(long, value_name = "DIR")]
    evidence: Option<PathBuf>,
}

#[derive(Clone, Copy, ValueEnum)]
pub(crate) enum ArtifactsArg {
    /// Do not look at artifacts.
    None,
    /// Compare lengths only (HEAD requests).
    Size,
    /// Download and hash every byte.
    Full,
}

impl From<ArtifactsArg> for ArtifactMode {
    fn from(a: ArtifactsArg) -> ArtifactMode {
        match a {
            ArtifactsArg::None => ArtifactMode::None,
            ArtifactsArg::Size => ArtifactMode::Size,
            ArtifactsArg::Full => ArtifactMode::Full,
        }
    }
}

pub(crate) fn run(args: CheckArgs) -> Result<i32, Fail> {
    let CheckArgs {
        profile,
        run,
        artifacts,
        output,
        evidence,
    } = args;
    output.validate()?;
    let mode = ArtifactMode::from(artifacts);
    let loaded = Profile::load(&profile).map_err(usage)?;
    // Created before the run: each document is written as it arrives.
    let evidence = evidence
        .as_deref()
        .map(EvidenceDir::create)
        .transpose()
        .map_err(usage)?
        .map(Arc::new);
    // Cleared (dropped) before the report: stdout and stderr may share a terminal.
    let bar = Bar::for_stderr(output.bar_color());
    let hooks = RunHooks {
        progress: bar.as_ref().map(Bar::progress),
        stop: None,
    };
    let ran = run::prepare(&loaded, &run, mode, hooks)
        .and_then(|r| r.run(evidence.clone(), output.history().is_some()));
    drop(bar);
    let (outcome, unrecorded) = ran?;
    if let Some(ev) = &evidence {
        outcome.finish_evidence(ev, &loaded).map_err(usage)?;
    }
    output::finish(&outcome, &output)?;
    // The report is out; only then the state that could not be recorded.
    if let Some(why) = unrecorded {
        return Err(usage(unrecorded_message(&why, "the report above is")));
    }
    Ok(if outcome.report.ok {
        EXIT_OK
    } else {
        EXIT_PROBLEM
    })
}
