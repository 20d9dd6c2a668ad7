//! Argument parsing and printing. Everything that decides anything lives in the library;
//! this module holds the command line's top level and the edge every command shares:
//! library errors become one-line messages and the documented exit codes, and text from
//! outside reaches the terminal only through [`line`] (that is, `text::shown`).
//!
//! One file per command: a new command is one variant of [`Command`] that delegates to its
//! own `cli/<command>.rs`.

use std::fmt::Display;
use std::path::Path;

use clap::{Parser, Subcommand};

use mirrorproof::text::shown;

mod check;
mod docs;
mod history;
mod merge;
mod mirrors;
mod output;
mod progress;
mod publish;
mod run;
mod tuf_client;
mod vantages;
mod verify;
mod watch;

pub const EXIT_OK: i32 = 0;
pub const EXIT_PROBLEM: i32 = 1;
pub const EXIT_USAGE: i32 = 2;

#[derive(Parser)]
#[command(
    name = "mirrorproof",
    version,
    about = "Check that every mirror, in every country, serves the genuine latest release signed by pinned offline keys",
    after_help = "Exit codes: 0 all mirrors ok / all files match; 1 a verification problem; 2 usage or configuration error."
)]
pub(crate) struct Cli {
    #[command(subcommand)]
    command: Command,
}

/// One variant per command; each delegates to its own module.
#[derive(Subcommand)]
enum Command {
    /// Fetch the release from every mirror, verify, compare mirrors and countries, report.
    #[command(after_long_help = check::AFTER_LONG_HELP)]
    Check(check::CheckArgs),
    /// Check downloaded files against the latest verified release (by file name).
    #[command(
        override_usage = "mirrorproof verify [OPTIONS] PROFILE FILE...\n       mirrorproof verify [OPTIONS] --key KEY --sig SIG [--dir DIR] [FILE...]",
        after_help = "With a PROFILE, the PROFILE comes first, then the FILEs. With --key and --sig there is no PROFILE: a checksum list's names are matched exactly as written in the list (as `signify -C`), relative to the current directory or to --dir DIR."
    )]
    Verify(verify::VerifyArgs),
    /// Join evidence bundles from several machines or vantages into one report, every
    /// signed document verified again; bundles pinned to different trust are refused.
    #[command(after_help = merge::AFTER_HELP)]
    Merge(merge::MergeArgs),
    /// Generate an Ed25519 key pair: PREFIX.key (secret, mode 0600) and PREFIX.pub.
    Keygen(publish::KeygenArgs),
    /// Root documents.
    #[command(subcommand)]
    Root(publish::RootCmd),
    /// Release documents.
    #[command(subcommand)]
    Release(publish::ReleaseCmd),
    /// Add your signature to a root or release envelope (threshold signing).
    Sign(publish::SignArgs),
    /// Mirror directory trees.
    #[command(subcommand)]
    Mirror(publish::MirrorCmd),
    /// Mirror lists for profiles.
    #[command(subcommand)]
    Mirrors(mirrors::MirrorsCmd),
    /// The history that check --history DB keeps: how far behind each mirror is, and
    /// for how long.
    #[command(subcommand)]
    History(history::HistoryCmd),
    /// Check on a schedule (--every 10m), recording each run in the history and rewriting
    /// the Prometheus, HTML, JUnit and JSON outputs atomically; SIGTERM stops it cleanly.
    Watch(watch::WatchArgs),
    /// Vantage points: which countries a tor:CC vantage can use now.
    #[command(subcommand)]
    Vantages(vantages::VantagesCmd),
    /// Print a shell completion script for SHELL (bash, zsh, fish, elvish, powershell).
    Completions(docs::CompletionsArgs),
    /// Print the manual page (roff), e.g. `mirrorproof man | man -l -`.
    Man,
    /// A TUF client with the command line of the TUF conformance suite.
    #[command(
        override_usage = tuf_client::USAGE,
        after_help = tuf_client::AFTER_HELP
    )]
    TufClient(tuf_client::TufClientArgs),
}

fn dispatch(cmd: Command) -> Result<i32, Fail> {
    match cmd {
        Command::Check(a) => check::run(a),
        Command::Verify(a) => verify::run(a),
        Command::Merge(a) => merge::run(a),
        Command::Keygen(a) => publish::keygen(a),
        Command::Root(c) => publish::root(c),
        Command::Release(c) => publish::release(c),
        Command::Sign(a) => publish::sign(a),
        Command::Mirror(c) => publish::mirror(c),
        Command::Mirrors(c) => mirrors::run(c),
        Command::History(c) => history::run(c),
        Command::Watch(a) => watch::run(a),
        Command::Vantages(c) => vantages::run(c),
        Command::Completions(a) => docs::completions(a),
        Command::Man => docs::man(),
        Command::TufClient(args) => Ok(tuf_client::run(args)),
    }
}

/// A failure to report as one line on stderr with an exit code.
pub(crate) struct Fail(pub i32, pub String);

/// A usage or configuration error (exit 2), from any library error or message.
fn usage(msg: impl Display) -> Fail {
    Fail(EXIT_USAGE, msg.to_string())
}

/// A verification problem (exit 1).
fn problem(msg: impl Display) -> Fail {
    Fail(EXIT_PROBLEM, msg.to_string())
}

/// Longest line printed for one message or one quoted value.
const MAX_LINE_CHARS: usize = 600;

pub fn main() -> i32 {
    let cli = match Cli::try_parse() {
        Ok(c) => c,
        Err(e) if !e.use_stderr() => {
            // --help and --version: our own text, nothing from outside.
            let _ = e.print();
            return EXIT_OK;
        }
        Err(e) => {
            if let Some(msg) = tuf_client::parse_error(&e) {
                eprintln!("mirrorproof tuf-client: {}", line(&msg));
                return tuf_client::EXIT_FAILURE;
            }
            // clap quotes the offending argument raw (`unexpected argument '...'`), and
            // arguments come from file names too (`verify p.toml *` in a download
            // directory): plain text, each line through `shown`, as every other message.
            let rendered = e.render().to_string();
            for l in rendered.trim_end().lines() {
                eprintln!("{}", shown(l));
            }
            return EXIT_USAGE;
        }
    };
    match dispatch(cli.command) {
        Ok(code) => code,
        Err(Fail(code, msg)) => {
            eprintln!("mirrorproof: {}", line(&msg));
            code
        }
    }
}

/// Text on its way to a terminal: whatever it quotes (mirror names, URLs, reasons, file
/// names, signed comments) goes through `text::shown`, so it cannot move the cursor,
/// retitle the window or reorder the line, and very long text is cut.
fn line(msg: &str) -> String {
    shown_within(msg, MAX_LINE_CHARS)
}

/// `text::shown`, cut at `max` characters (with …): for lines and table cells alike.
fn shown_within(msg: &str, max: usize) -> String {
    let s = shown(msg);
    match s.char_indices().nth(max) {
        Some((cut, _)) => format!("{}…", s.get(..cut).unwrap_or_default()),
        None => s.into_owned(),
    }
}

/// A path as the user (or a hostile archive) named it, safe to print.
fn path(p: &Path) -> String {
    line(&p.display().to_string())
}

/// "1 mirror", "2 mirrors".
fn plural_mirrors(n: usize) -> String {
    format!("{n} {}", if n == 1 { "mirror" } else { "mirrors" })
}

/// The one-line error for a run whose new version could not be recorded, after its output:
/// `printed` says what that output was (check prints a report, verify one line per file).
fn unrecorded_message(why: &impl Display, printed: &str) -> String {
    format!(
        "{why}; {printed} complete, but the latest version was not recorded (give --state DIR for a writable directory, or --no-state)"
    )
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    /// Every option, argument and subcommand of every command has a help line: the same
    /// definitions feed --help, the completions and the man page.
    #[test]
    fn every_argument_and_subcommand_has_help() {
        fn walk(cmd: &clap::Command, path: &str, missing: &mut Vec<String>) {
            for a in cmd.get_arguments() {
                let id = a.get_id().as_str();
                if id == "help" || id == "version" {
                    continue;
                }
                if a.get_help().is_none_or(|h| h.to_string().trim().is_empty()) {
                    missing.push(format!("{path} {id}"));
                }
            }
            for s in cmd.get_subcommands() {
                let p = format!("{path} {}", s.get_name());
                if s.get_about()
                    .is_none_or(|h| h.to_string().trim().is_empty())
                {
                    missing.push(format!("{p} (about)"));
                }
                walk(s, &p, missing);
            }
        }
        let cmd = Cli::command();
        cmd.clone().debug_assert();
        let mut missing = Vec::new();
        walk(&cmd, "mirrorproof", &mut missing);
        assert!(missing.is_empty(), "no help text: {missing:#?}");
        // The walk sees real arguments (a broken walk would find nothing to miss).
        let verify = cmd.find_subcommand("verify").unwrap();
        assert!(verify.get_arguments().any(|a| a.get_id() == "dir"));
    }

    #[test]
    fn lines_escape_and_stay_bounded() {
        assert_eq!(line("a\u{1b}]0;x\u{7}b"), "a\\u{1b}]0;x\\u{7}b");
        assert_eq!(line("x-\u{202e}gpj.zip"), "x-\\u{202e}gpj.zip");
        let long = line(&"ab ".repeat(1000));
        assert_eq!(long.chars().count(), MAX_LINE_CHARS + 1);
        assert!(long.ends_with('…'));
    }
}
