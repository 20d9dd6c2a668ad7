//! Argument parsing and printing. Everything that decides anything lives in the library;
//! this module turns library errors into one-line messages and the documented exit codes.

use std::path::{Path, PathBuf};
use std::time::Duration;

use clap::{Args, Parser, Subcommand, ValueEnum};

mod tuf_client;

use mirrorproof::check::{self, CheckError, CheckOptions};
use mirrorproof::fetch::{ArtifactMode, FetchConfig};
use mirrorproof::keys::{self, SecretKey};
use mirrorproof::profile::{Mirror, Profile};
use mirrorproof::publish::{self, ReleaseSpec, RootSpec};
use mirrorproof::state::StateStore;
use mirrorproof::text::shown;
use mirrorproof::{import, time, verify};

pub const EXIT_OK: i32 = 0;
pub const EXIT_PROBLEM: i32 = 1;
pub const EXIT_USAGE: i32 = 2;
/// More requests in flight than this only exhausts file descriptors.
const MAX_CONCURRENCY: usize = 4096;

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

#[derive(Subcommand)]
enum Command {
    /// Fetch the release from every mirror, verify, compare mirrors and countries, report.
    Check {
        /// Profile (TOML) naming the pinned root or key, the channel and the mirrors.
        profile: PathBuf,
        #[command(flatten)]
        run: RunArgs,
        /// How artifacts are checked: none, size (lengths only) or full (every byte hashed).
        #[arg(long, value_enum, default_value = "full")]
        artifacts: ArtifactsArg,
        /// Print the report as JSON (schema mirrorproof.report/1).
        #[arg(long)]
        json: bool,
        /// Keep what every mirror served, the root chain and the report in DIR, with a
        /// profile that re-checks them offline.
        #[arg(long, value_name = "DIR")]
        evidence: Option<PathBuf>,
    },
    /// Check downloaded files against the latest verified release (by file name).
    #[command(
        override_usage = "mirrorproof verify [OPTIONS] PROFILE FILE...\n       mirrorproof verify [OPTIONS] --key KEY --sig SIG [--dir DIR] [FILE...]",
        after_help = "With a PROFILE, the PROFILE comes first, then the FILEs. With --key and --sig there is no PROFILE: a checksum list's names are matched exactly as written in the list (as `signify -C`), relative to the current directory or to --dir DIR."
    )]
    Verify {
        /// PROFILE, then the FILEs to check (with --key/--sig: only FILEs).
        #[arg(value_name = "PROFILE FILE")]
        args: Vec<PathBuf>,
        /// Use this release envelope from disk instead of fetching (offline).
        #[arg(long, value_name = "ENVELOPE")]
        release: Option<PathBuf>,
        /// With --release: rotated root envelopes to walk from the pinned root (repeatable).
        #[arg(long = "root", value_name = "ENVELOPE", requires = "release")]
        roots: Vec<PathBuf>,
        /// Signed-file formats (signify, minisign, sshsig, note): public key file.
        #[arg(long, value_name = "KEY")]
        key: Option<PathBuf>,
        /// Signed-file formats: signature file.
        #[arg(long, value_name = "SIG")]
        sig: Option<PathBuf>,
        /// With --key/--sig and a checksum list: read the FILEs the list names from DIR
        /// (like running `signify -C` in DIR).
        #[arg(long, value_name = "DIR", requires = "key")]
        dir: Option<PathBuf>,
        /// Signed-file formats: the signer identity (e.g. an allowed_signers principal).
        #[arg(long)]
        identity: Option<String>,
        /// Signed-file formats: the signature namespace (OpenSSH signatures).
        #[arg(long)]
        namespace: Option<String>,
        /// Signed-file formats: signify, minisign, sshsig or note, when the key file alone
        /// does not tell.
        #[arg(long, value_name = "FORMAT")]
        format: Option<String>,
        #[command(flatten)]
        run: RunArgs,
    },
    /// Generate an Ed25519 key pair: PREFIX.key (secret, mode 0600) and PREFIX.pub.
    Keygen {
        /// Path prefix of the two key files (refuses to overwrite).
        #[arg(long, value_name = "PREFIX")]
        out: PathBuf,
    },
    /// Root documents.
    #[command(subcommand)]
    Root(RootCmd),
    /// Release documents.
    #[command(subcommand)]
    Release(ReleaseCmd),
    /// Add your signature to a root or release envelope (threshold signing).
    Sign {
        /// Secret key file from `keygen`.
        #[arg(long)]
        key: PathBuf,
        /// Envelope to sign; updated in place unless --out is given.
        envelope: PathBuf,
        /// Write the signed envelope here instead of updating ENVELOPE.
        #[arg(long)]
        out: Option<PathBuf>,
    },
    /// Mirror directory trees.
    #[command(subcommand)]
    Mirror(MirrorCmd),
    /// Mirror lists for profiles.
    #[command(subcommand)]
    Mirrors(MirrorsCmd),
    /// Print a shell completion script for SHELL (bash, zsh, fish, elvish, powershell).
    Completions {
        /// The shell to complete for.
        #[arg(value_enum)]
        shell: clap_complete::Shell,
    },
    /// Print the manual page (roff), e.g. `mirrorproof man | man -l -`.
    Man,
    /// A TUF client with the command line of the TUF conformance suite.
    TufClient(tuf_client::TufClientArgs),
}

#[derive(Subcommand)]
enum RootCmd {
    /// Write an unsigned root envelope; the root keys then `sign` it.
    New {
        /// Project name; every release must carry it.
        #[arg(long)]
        project: String,
        /// Root version: 1 for the first root, one more for each rotation.
        #[arg(long, default_value_t = 1)]
        version: u64,
        /// RFC 3339 UTC time, or an offset such as +365d.
        #[arg(long)]
        expires: String,
        /// Public key file of a root key (repeatable).
        #[arg(long = "root-key", required = true)]
        root_keys: Vec<PathBuf>,
        /// How many root keys must sign the next root.
        #[arg(long, default_value_t = 1)]
        root_threshold: u64,
        /// Public key file of a release key (repeatable).
        #[arg(long = "release-key", required = true)]
        release_keys: Vec<PathBuf>,
        /// How many release keys must sign a release.
        #[arg(long, default_value_t = 1)]
        release_threshold: u64,
        /// Where to write the unsigned root envelope.
        #[arg(long)]
        out: PathBuf,
    },
}

#[derive(Subcommand)]
enum ReleaseCmd {
    /// Write an unsigned release envelope listing every file in a directory.
    New {
        /// Project name, as in the root.
        #[arg(long)]
        project: String,
        /// Channel the release belongs to (e.g. stable).
        #[arg(long)]
        channel: String,
        /// Release version: a number larger than every earlier release's.
        #[arg(long)]
        version: u64,
        /// RFC 3339 UTC time or offset; default now.
        #[arg(long)]
        published: Option<String>,
        /// RFC 3339 UTC time, or an offset from now such as +30d.
        #[arg(long)]
        expires: String,
        /// Directory whose files (recursively) are the artifacts.
        #[arg(long)]
        artifacts: PathBuf,
        /// Hashes to list: sha256, sha512 or both (comma-separated).
        #[arg(long, default_value = "sha256,sha512", value_delimiter = ',')]
        hash: Vec<String>,
        /// Where to write the unsigned release envelope.
        #[arg(long)]
        out: PathBuf,
    },
}

#[derive(Subcommand)]
enum MirrorCmd {
    /// Lay out a mirror: root/N.json, CHANNEL/release.json, artifacts/NAME.
    Build {
        /// Directory to lay the mirror out in.
        #[arg(long)]
        out: PathBuf,
        /// The signed release envelope to publish.
        #[arg(long)]
        release: PathBuf,
        /// Directory holding the artifacts to copy.
        #[arg(long)]
        artifacts: Option<PathBuf>,
        /// Root envelopes to publish as root/N.json (repeatable).
        #[arg(long = "root")]
        roots: Vec<PathBuf>,
    },
}

#[derive(Subcommand)]
enum MirrorsCmd {
    /// Print another project's mirror list as profile `[[mirrors]]` entries, or put them
    /// into a profile with --into.
    Import {
        /// The list's format: OpenBSD mirror records, Debian Mirrors.masterlist, pacman
        /// mirrorlist, or CRAN_mirrors.csv.
        #[arg(long, value_enum)]
        format: ImportFormat,
        /// The mirror list file to read.
        file: PathBuf,
        /// Replace the mirror list of this existing profile (everything else in it is kept)
        /// instead of printing the entries.
        #[arg(long, value_name = "PROFILE")]
        into: Option<PathBuf>,
    },
}

#[derive(Clone, Copy, ValueEnum)]
enum ImportFormat {
    /// OpenBSD's mirror records (ftplist).
    Openbsd,
    /// Debian's Mirrors.masterlist.
    Debian,
    /// Arch Linux's pacman mirrorlist.
    Arch,
    /// CRAN's CRAN_mirrors.csv.
    Cran,
}

#[derive(Args)]
struct RunArgs {
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
    max_metadata_bytes: u64,
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

#[derive(Clone, Copy, ValueEnum)]
enum ArtifactsArg {
    /// Do not look at artifacts.
    None,
    /// Compare lengths only (HEAD requests).
    Size,
    /// Download and hash every byte.
    Full,
}

/// A failure to report as one line on stderr with an exit code.
struct Fail(i32, String);

fn usage(msg: impl std::fmt::Display) -> Fail {
    Fail(EXIT_USAGE, msg.to_string())
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
    let s = shown(msg);
    match s.char_indices().nth(MAX_LINE_CHARS) {
        Some((cut, _)) => format!("{}…", s.get(..cut).unwrap_or_default()),
        None => s.into_owned(),
    }
}

/// A path as the user (or a hostile archive) named it, safe to print.
fn path(p: &Path) -> String {
    line(&p.display().to_string())
}

/// The terminal's width when the shell says it, else the report's default.
fn columns() -> usize {
    std::env::var("COLUMNS")
        .ok()
        .and_then(|c| c.trim().parse::<usize>().ok())
        .filter(|c| *c > 0)
        .unwrap_or(mirrorproof::report::DEFAULT_COLUMNS)
}

fn dispatch(cmd: Command) -> Result<i32, Fail> {
    match cmd {
        Command::Check {
            profile,
            run,
            artifacts,
            json,
            evidence,
        } => {
            let mode = match artifacts {
                ArtifactsArg::None => ArtifactMode::None,
                ArtifactsArg::Size => ArtifactMode::Size,
                ArtifactsArg::Full => ArtifactMode::Full,
            };
            let loaded = Profile::load(&profile).map_err(usage)?;
            // Created before the run: each document is written as it arrives.
            let evidence = evidence
                .as_deref()
                .map(mirrorproof::evidence::EvidenceDir::create)
                .transpose()
                .map_err(usage)?
                .map(std::sync::Arc::new);
            let (report, unrecorded) = if loaded.signed.is_some() {
                let (outcome, unrecorded) =
                    run_scheme_check(&loaded, &run, mode, evidence.clone())?;
                if let Some(ev) = &evidence {
                    ev.finish_signed(&outcome.report, &loaded, &outcome.served)
                        .map_err(usage)?;
                }
                (outcome.report, unrecorded)
            } else {
                let (outcome, unrecorded) = run_check(&profile, &run, mode, evidence.clone())?;
                if let Some(ev) = &evidence {
                    ev.finish_native(&outcome.report, &outcome.evidence)
                        .map_err(usage)?;
                }
                (outcome.report, unrecorded)
            };
            if json {
                println!("{}", report.to_json());
            } else {
                print!("{}", report.render_human_at(columns()));
            }
            // The report is out; only then the state that could not be recorded.
            if let Some(why) = unrecorded {
                return Err(usage(unrecorded_message(&why, "the report above is")));
            }
            Ok(if report.ok { EXIT_OK } else { EXIT_PROBLEM })
        }
        Command::Verify {
            args,
            release,
            roots,
            key,
            sig,
            dir,
            identity,
            namespace,
            format,
            run,
        } => {
            let format = format
                .map(|f| {
                    mirrorproof::schemes::Format::from_scheme(&f).ok_or_else(|| {
                        usage(format!(
                            "--format {f:?}: expected signify, minisign, sshsig or note"
                        ))
                    })
                })
                .transpose()?;
            if key.is_some() || sig.is_some() {
                let (Some(key), Some(sig)) = (key, sig) else {
                    return Err(usage("--key and --sig go together"));
                };
                if release.is_some() {
                    return Err(usage("--release is for native profiles, not --key/--sig"));
                }
                if let Some(d) = &dir
                    && !d.is_dir()
                {
                    let what = if d.exists() {
                        "not a directory"
                    } else {
                        "does not exist"
                    };
                    return Err(usage(format!("--dir {}: {what}", d.display())));
                }
                let req = mirrorproof::signed_files::Request {
                    key: &key,
                    sig: &sig,
                    format,
                    identity: identity.as_deref(),
                    namespace: namespace.as_deref(),
                    base_dir: dir.as_deref(),
                };
                return cmd_verify_signed(req, &args);
            }
            if format.is_some() {
                return Err(usage("--format goes with --key/--sig"));
            }
            if identity.is_some() || namespace.is_some() {
                return Err(usage("--identity and --namespace go with --key/--sig"));
            }
            let (profile, files) = args.split_first().ok_or_else(|| {
                usage("verify needs a PROFILE and at least one FILE (verify PROFILE FILE...)")
            })?;
            if files.is_empty() {
                return Err(usage(
                    "verify needs at least one FILE after the PROFILE (verify PROFILE FILE...)",
                ));
            }
            cmd_verify(profile, files, release.as_deref(), &roots, &run)
        }
        Command::Keygen { out } => {
            let (secret, public, key) = publish::keygen(&out).map_err(usage)?;
            println!(
                "key id {}\nsecret key: {} (mode 0600; keep it offline)\npublic key: {}",
                key.public().id(),
                path(&secret),
                path(&public)
            );
            Ok(EXIT_OK)
        }
        Command::Root(RootCmd::New {
            project,
            version,
            expires,
            root_keys,
            root_threshold,
            release_keys,
            release_threshold,
            out,
        }) => {
            let load = |ps: &[PathBuf]| {
                ps.iter()
                    .map(|p| keys::load_public(p))
                    .collect::<Result<Vec<_>, _>>()
            };
            let spec = RootSpec {
                project,
                version,
                expires: when("--expires", &expires, time::now())?,
                root_keys: load(&root_keys).map_err(usage)?,
                root_threshold,
                release_keys: load(&release_keys).map_err(usage)?,
                release_threshold,
            };
            let env = publish::root_envelope(&spec).map_err(usage)?;
            publish::write_envelope(&out, &env).map_err(usage)?;
            println!("wrote unsigned root v{version} to {}", path(&out));
            Ok(EXIT_OK)
        }
        Command::Release(ReleaseCmd::New {
            project,
            channel,
            version,
            published,
            expires,
            artifacts,
            hash,
            out,
        }) => {
            let now = time::now();
            for h in &hash {
                if h != "sha256" && h != "sha512" {
                    return Err(usage(format!("unknown hash {h:?} (sha256, sha512)")));
                }
            }
            let published = match published {
                Some(p) => when("--published", &p, now)?,
                None => now,
            };
            let spec = ReleaseSpec {
                project,
                channel,
                version,
                published,
                expires: when("--expires", &expires, now)?,
                sha256: hash.iter().any(|h| h == "sha256"),
                sha512: hash.iter().any(|h| h == "sha512"),
            };
            let env = publish::release_envelope(&spec, &artifacts).map_err(usage)?;
            publish::write_envelope(&out, &env).map_err(usage)?;
            println!("wrote unsigned release {version} to {}", path(&out));
            Ok(EXIT_OK)
        }
        Command::Sign { key, envelope, out } => {
            let key = SecretKey::load(&key).map_err(usage)?;
            publish::sign_file(&envelope, &key, out.as_deref()).map_err(usage)?;
            println!(
                "signed {} with key {}",
                path(out.as_deref().unwrap_or(&envelope)),
                key.public().id()
            );
            Ok(EXIT_OK)
        }
        Command::Mirror(MirrorCmd::Build {
            out,
            release,
            artifacts,
            roots,
        }) => {
            publish::build_mirror(&out, &release, artifacts.as_deref(), &roots).map_err(usage)?;
            println!("wrote mirror tree {}", path(&out));
            Ok(EXIT_OK)
        }
        Command::Mirrors(MirrorsCmd::Import { format, file, into }) => {
            let format = match format {
                ImportFormat::Openbsd => import::Format::Openbsd,
                ImportFormat::Debian => import::Format::Debian,
                ImportFormat::Arch => import::Format::Arch,
                ImportFormat::Cran => import::Format::Cran,
            };
            // The profile is checked first: a typo'd --into fails before the list's
            // warnings scroll past, not after.
            let target = match &into {
                Some(profile) => Some(profile_for_import(profile)?),
                None => None,
            };
            let imported = import::read_list(&file, format).map_err(usage)?;
            // Already terminal-safe and one line each (the importer escapes what it quotes).
            for w in &imported.warnings {
                eprintln!("mirrorproof: warning: {}", line(w));
            }
            let entries = imported.entries;
            // An empty result is almost always the wrong --format; say so rather than
            // print nothing and succeed.
            if entries.is_empty() {
                return Err(usage(format!(
                    "{}: no mirror with a usable http(s) URL found (is --format right?)",
                    file.display()
                )));
            }
            match (into, target) {
                (Some(profile), Some(text)) => {
                    let n = import_into(&profile, &text, &entries)?;
                    println!(
                        "{}: mirror list replaced with {n} {} from {}",
                        path(&profile),
                        if n == 1 { "mirror" } else { "mirrors" },
                        path(&file)
                    );
                }
                _ => print!("{}", import::to_toml(&entries)),
            }
            Ok(EXIT_OK)
        }
        Command::Completions { shell } => {
            let mut cmd = <Cli as clap::CommandFactory>::command();
            clap_complete::generate(shell, &mut cmd, "mirrorproof", &mut std::io::stdout());
            Ok(EXIT_OK)
        }
        Command::TufClient(args) => Ok(tuf_client::run(args)),
        Command::Man => {
            let cmd = <Cli as clap::CommandFactory>::command();
            let mut out = Vec::new();
            clap_mangen::Man::new(cmd.clone())
                .render(&mut out)
                .map_err(|e| usage(format!("cannot render the manual page: {e}")))?;
            // One page: the subcommands follow the main page as sections.
            for sub in cmd.get_subcommands().filter(|s| !s.is_hide_set()) {
                render_sub_man(&mut out, sub, "mirrorproof")?;
            }
            use std::io::Write as _;
            std::io::stdout()
                .write_all(&out)
                .map_err(|e| usage(format!("cannot write the manual page: {e}")))?;
            Ok(EXIT_OK)
        }
    }
}

/// A subcommand's section of the manual page: its name, synopsis, description and options.
fn render_sub_man(out: &mut Vec<u8>, sub: &clap::Command, parent: &str) -> Result<(), Fail> {
    let name = format!("{parent} {}", sub.get_name());
    let fail = |e: std::io::Error| usage(format!("cannot render the manual page: {e}"));
    out.extend_from_slice(format!(".SH \"{}\"\n", name.to_uppercase()).as_bytes());
    let man = clap_mangen::Man::new(sub.clone().bin_name(name.clone()));
    man.render_synopsis_section(out).map_err(fail)?;
    man.render_description_section(out).map_err(fail)?;
    if sub.get_arguments().any(|a| !a.is_hide_set()) {
        man.render_options_section(out).map_err(fail)?;
    }
    for s in sub.get_subcommands().filter(|s| !s.is_hide_set()) {
        render_sub_man(out, s, &name)?;
    }
    Ok(())
}

/// The text of the profile `mirrors import --into` will rewrite. It must be a profile
/// before it is changed: --into never turns a typo'd path or another file into one.
fn profile_for_import(profile: &Path) -> Result<String, Fail> {
    let bytes = mirrorproof::fsutil::read_limited(profile, mirrorproof::profile::MAX_PROFILE_BYTES)
        .map_err(|e| usage(format!("cannot read profile {}: {e}", profile.display())))?;
    let text = String::from_utf8(bytes)
        .map_err(|_| usage(format!("profile {} is not UTF-8", profile.display())))?;
    let base = profile.parent().unwrap_or(Path::new("."));
    Profile::parse(&text, base).map_err(|e| usage(format!("{}: {e}", profile.display())))?;
    Ok(text)
}

/// `mirrors import --into PROFILE`: the profile's mirror list is replaced and everything
/// else kept; the new text must load as a profile before it replaces the old one, which is
/// written atomically (a reader sees the old profile or the new one).
fn import_into(profile: &Path, text: &str, entries: &[import::Entry]) -> Result<usize, Fail> {
    let base = profile.parent().unwrap_or(Path::new("."));
    let new = import::replace_mirrors(text, entries).map_err(usage)?;
    let loaded = Profile::parse(&new, base)
        .map_err(|e| usage(format!("the new {} would not load: {e}", profile.display())))?;
    let mode = file_mode(profile);
    mirrorproof::fsutil::atomic_write(profile, new.as_bytes(), mode)
        .map_err(|e| usage(format!("cannot write profile {}: {e}", profile.display())))?;
    Ok(loaded.mirrors.len())
}

/// The profile keeps its permissions when it is rewritten.
fn file_mode(p: &Path) -> u32 {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        if let Ok(m) = std::fs::metadata(p) {
            return m.permissions().mode() & 0o7777;
        }
    }
    let _ = p;
    0o644
}

/// Where this run keeps rollback state.
struct StatePlan {
    store: Option<StateStore>,
    /// Why nothing this run learns can be recorded, when the state directory cannot be
    /// written; the run then reads a private copy of the recorded state, so rollbacks are
    /// still caught and the report is still printed.
    unwritable: Option<String>,
    shadow: Option<PathBuf>,
}

impl Drop for StatePlan {
    fn drop(&mut self) {
        if let Some(d) = &self.shadow {
            let _ = std::fs::remove_dir_all(d);
        }
    }
}

impl StatePlan {
    /// Why a run that would have recorded a new version could not (the directory was not
    /// writable, or a write failed during the run); the command turns it into its one-line
    /// error with [`unrecorded_message`].
    fn unrecorded(
        &self,
        written: bool,
        failed: Option<&mirrorproof::state::StateError>,
    ) -> Option<String> {
        match failed {
            Some(e) => Some(e.to_string()),
            None => self.unwritable.clone().filter(|_| written),
        }
    }
}

/// The one-line error for a run whose new version could not be recorded, after its output:
/// `printed` says what that output was (check prints a report, verify one line per file).
fn unrecorded_message(why: &str, printed: &str) -> String {
    format!(
        "{why}; {printed} complete, but the latest version was not recorded (give --state DIR for a writable directory, or --no-state)"
    )
}

/// How the variables that locate the data directory are set, for a message saying there
/// is none: an empty `HOME=""` is not the same mistake as no `HOME` at all.
fn data_dir_vars() -> String {
    let how = |name: &str| match std::env::var_os(name) {
        None => format!("{name} is not set"),
        Some(v) if v.is_empty() => format!("{name} is empty"),
        Some(_) => format!("{name} is set"),
    };
    format!("{} and {}", how("HOME"), how("XDG_DATA_HOME"))
}

const MAX_STATE_FILE_BYTES: u64 = 64 * 1024;

fn state_plan(run: &RunArgs, project: &str, channel: &str) -> Result<StatePlan, Fail> {
    let mut plan = StatePlan {
        store: None,
        unwritable: None,
        shadow: None,
    };
    if run.no_state {
        return Ok(plan);
    }
    let dir = match run.state.clone().or_else(StateStore::default_dir) {
        Some(d) => d,
        None => {
            // Nothing was recorded (there is nowhere it could be); the run goes on with an
            // empty private state and says so after the report.
            let shadow = make_shadow()
                .map_err(|e| usage(format!("cannot create a temporary state: {e}")))?;
            plan.store = Some(StateStore::new(&shadow));
            plan.shadow = Some(shadow);
            plan.unwritable = Some(format!(
                "no data directory to record the state in ({})",
                data_dir_vars()
            ));
            return Ok(plan);
        }
    };
    let store = StateStore::new(&dir);
    let Ok(file) = store.path(project, channel) else {
        // The library names the problem with the project or channel name.
        plan.store = Some(store);
        return Ok(plan);
    };
    let probe = match file.parent() {
        Some(parent) => probe_writable(parent),
        None => Ok(()),
    };
    let Err(why) = probe else {
        plan.store = Some(store);
        return Ok(plan);
    };
    let recorded = match mirrorproof::fsutil::read_limited(&file, MAX_STATE_FILE_BYTES) {
        Ok(b) => Some(b),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => None,
        Err(_) => {
            // Unreadable or damaged: the library refuses it, with the reason, before any
            // mirror is asked.
            plan.store = Some(store);
            return Ok(plan);
        }
    };
    let Ok(shadow) = make_shadow() else {
        plan.store = Some(store);
        return Ok(plan);
    };
    let shadow_store = StateStore::new(&shadow);
    plan.shadow = Some(shadow);
    if let Some(bytes) = recorded {
        let copied = shadow_store.path(project, channel).and_then(|p| {
            let write = || -> std::io::Result<()> {
                if let Some(d) = p.parent() {
                    std::fs::create_dir_all(d)?;
                }
                std::fs::write(&p, &bytes)
            };
            write().map_err(|source| mirrorproof::state::StateError::Write {
                path: p.display().to_string(),
                source,
            })
        });
        if copied.is_err() {
            plan.store = Some(store);
            return Ok(plan);
        }
    }
    plan.store = Some(shadow_store);
    plan.unwritable = Some(format!("cannot write state in {}: {why}", dir.display()));
    Ok(plan)
}

/// Whether a state file could be written in `dir`: the directory made, and a small file
/// created, written, synced and removed (a read-only or full filesystem fails here).
fn probe_writable(dir: &Path) -> std::io::Result<()> {
    use std::io::Write as _;
    std::fs::create_dir_all(dir)?;
    let p = dir.join(format!(".mirrorproof-probe.{}.tmp", random_hex()?));
    let written = (|| {
        let mut f = std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(&p)?;
        f.write_all(&[b'\n'; 256])?;
        f.sync_all()
    })();
    let _ = std::fs::remove_file(&p);
    written
}

fn random_hex() -> std::io::Result<String> {
    let mut rnd = [0u8; 8];
    getrandom::fill(&mut rnd).map_err(|e| std::io::Error::other(e.to_string()))?;
    Ok(hex::encode(rnd))
}

/// A private, empty directory for a state that cannot be kept.
fn make_shadow() -> std::io::Result<PathBuf> {
    let d = std::env::temp_dir().join(format!(
        "mirrorproof-state.{}.{}",
        std::process::id(),
        random_hex()?
    ));
    let mut b = std::fs::DirBuilder::new();
    #[cfg(unix)]
    {
        use std::os::unix::fs::DirBuilderExt;
        b.mode(0o700);
    }
    b.create(&d)?;
    Ok(d)
}

/// The state store for reading only (offline verify).
fn state_store(run: &RunArgs) -> Result<Option<StateStore>, Fail> {
    if run.no_state {
        return Ok(None);
    }
    let dir = match &run.state {
        Some(d) => d.clone(),
        None => StateStore::default_dir().ok_or_else(|| {
            usage(format!(
                "no data directory ({}; set one, or use --state DIR or --no-state)",
                data_dir_vars()
            ))
        })?,
    };
    Ok(Some(StateStore::new(dir)))
}

/// A publisher's time argument: the error names the option and both accepted forms, so
/// `--expires 3650d` or `+10y` is answered with what to type instead.
fn when(option: &str, s: &str, now: time::Timestamp) -> Result<time::Timestamp, Fail> {
    time::parse_relative(s, now).map_err(|e| {
        usage(format!(
            "{option}: {e}, nor +N with s, m, h or d (an RFC 3339 UTC time such as 2027-01-31T00:00:00Z, or +90d)"
        ))
    })
}

fn seconds(s: f64, what: &str) -> Result<Duration, Fail> {
    Duration::try_from_secs_f64(s)
        .ok()
        .filter(|d| !d.is_zero())
        .ok_or_else(|| usage(format!("{what} must be a positive number of seconds")))
}

/// The mirrors to ask (profile and command line) and the fetch limits from the arguments.
fn mirrors_and_fetch(profile: &Profile, run: &RunArgs) -> Result<(Vec<Mirror>, FetchConfig), Fail> {
    let mut mirrors = if run.only_cli_mirrors {
        Vec::new()
    } else {
        profile.mirrors.clone()
    };
    if run.only_cli_mirrors && run.mirrors.is_empty() {
        return Err(usage(
            "--only-cli-mirrors leaves no mirrors to check: add at least one --mirror URL[=CC]",
        ));
    }
    let cwd = Path::new(".");
    for m in &run.mirrors {
        mirrors.push(Mirror::from_arg(m, cwd).map_err(|e| usage(format!("--mirror: {e}")))?);
    }
    let mut extra_roots = Vec::new();
    for p in &run.ca_certs {
        extra_roots.push(
            mirrorproof::fsutil::read_limited(p, 1024 * 1024)
                .map_err(|e| usage(format!("{}: {e}", p.display())))?,
        );
    }
    if run.concurrency == 0 || run.concurrency > MAX_CONCURRENCY {
        return Err(usage(format!(
            "--concurrency must be between 1 and {MAX_CONCURRENCY}"
        )));
    }
    let fetch = FetchConfig {
        timeout: seconds(run.timeout, "--timeout")?,
        artifact_timeout: seconds(run.artifact_timeout, "--artifact-timeout")?,
        max_metadata_bytes: run.max_metadata_bytes,
        concurrency: run.concurrency,
        extra_roots,
    };
    Ok((mirrors, fetch))
}

/// A native check; the second value is the error to print after the output when the run
/// learned a version it could not record.
fn run_check(
    profile_path: &Path,
    run: &RunArgs,
    mode: ArtifactMode,
    evidence: Option<std::sync::Arc<mirrorproof::evidence::EvidenceDir>>,
) -> Result<(check::Outcome, Option<String>), Fail> {
    let profile = Profile::load(profile_path).map_err(usage)?;
    if profile.signed.is_some() {
        return Err(usage(format!(
            "profile {} uses scheme {:?}, which has no native release",
            profile_path.display(),
            profile.scheme
        )));
    }
    let (mirrors, fetch) = mirrors_and_fetch(&profile, run)?;
    let pinned = check::load_pinned_root(&profile.root, fetch.max_metadata_bytes).map_err(usage)?;
    let channel = run.channel.clone().unwrap_or(profile.channel.clone());
    let plan = state_plan(run, &pinned.root.project, &channel)?;
    let opts = CheckOptions {
        channel,
        artifacts: mode,
        fetch,
        state: plan.store.clone(),
        now: time::now(),
    };
    let outcome = check::run_with_evidence(
        &profile.scheme,
        &profile.name,
        pinned,
        mirrors,
        opts,
        evidence,
    )
    .map_err(|e| match e {
        CheckError::RootExpired { .. } => Fail(EXIT_PROBLEM, e.to_string()),
        other => usage(other),
    })?;
    let unrecorded = plan.unrecorded(outcome.state_written, outcome.state_error.as_ref());
    Ok((outcome, unrecorded))
}

/// A check of a profile in one of the signed-file schemes (signify, minisign, sshsig, note).
fn run_scheme_check(
    profile: &Profile,
    run: &RunArgs,
    mode: ArtifactMode,
    evidence: Option<std::sync::Arc<mirrorproof::evidence::EvidenceDir>>,
) -> Result<(mirrorproof::scheme_check::SchemeOutcome, Option<String>), Fail> {
    let (pinned, source) = mirrorproof::scheme_check::load_pinned(profile).map_err(usage)?;
    let (mirrors, fetch) = mirrors_and_fetch(profile, run)?;
    let channel = run.channel.clone().unwrap_or(profile.channel.clone());
    // The state key scheme_check records under: the format and the profile's name.
    let project = format!("{}:{}", pinned.format().as_str(), profile.name);
    let plan = state_plan(run, &project, &channel)?;
    let opts = CheckOptions {
        channel,
        artifacts: mode,
        fetch,
        state: plan.store.clone(),
        now: time::now(),
    };
    let outcome = mirrorproof::scheme_check::run_with_evidence(
        &profile.name,
        pinned,
        source,
        mirrors,
        opts,
        evidence,
    )
    .map_err(usage)?;
    let unrecorded = plan.unrecorded(outcome.state_written, outcome.state_error.as_ref());
    Ok((outcome, unrecorded))
}

/// A FILE that cannot be checked at all, said plainly rather than as a name mismatch.
fn unusable_file(p: &Path) -> Option<&'static str> {
    match std::fs::metadata(p) {
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Some("No such file"),
        Ok(m) if m.is_dir() => Some("is a directory"),
        _ => None,
    }
}

fn print_unusable(shown_as: &Path, why: &str) {
    println!("FAILED  {}  {why}", path(shown_as));
}

/// The files that can be checked at all; each one that cannot (missing, a directory) gets
/// its `FAILED` line here. The flag is false when any was left out.
fn usable_files(files: &[PathBuf], base_dir: Option<&Path>) -> (Vec<PathBuf>, bool) {
    let mut all_ok = true;
    let mut usable = Vec::new();
    for f in files {
        let on_disk = match base_dir {
            Some(d) => d.join(f),
            None => f.clone(),
        };
        match unusable_file(&on_disk) {
            Some(why) => {
                print_unusable(&on_disk, why);
                all_ok = false;
            }
            None => usable.push(f.clone()),
        }
    }
    (usable, all_ok)
}

fn cmd_verify_signed(
    req: mirrorproof::signed_files::Request<'_>,
    files: &[PathBuf],
) -> Result<i32, Fail> {
    use mirrorproof::signed_files::{self, SignedFilesError};
    let sig = req.sig;
    let (usable, all_ok) = usable_files(files, req.base_dir);
    if usable.is_empty() && !files.is_empty() {
        return Ok(EXIT_PROBLEM);
    }
    let out = match signed_files::verify(req, &usable, time::now().timestamp()) {
        Ok(out) => out,
        Err(SignedFilesError::Setup(msg)) => return Err(usage(msg)),
        Err(SignedFilesError::Signature(msg)) => {
            println!("FAILED  {}  {}", path(sig), line(&msg));
            return Ok(EXIT_PROBLEM);
        }
    };
    let signers = line(&out.signers.join(", "));
    for r in &out.results {
        if r.ok {
            println!(
                "OK  {}  {} ({}, {signers})",
                line(&r.what),
                line(&r.detail),
                out.format.as_str()
            );
        } else {
            println!("FAILED  {}  {}", line(&r.what), line(&r.detail));
        }
    }
    // Signed text is shown only once something verified under the pinned key.
    if let Some(s) = out
        .statement
        .as_ref()
        .filter(|_| out.results.iter().any(|r| r.ok))
    {
        for l in s.lines().take(20) {
            println!("  signed: {}", line(l));
        }
    }
    Ok(if all_ok && out.all_ok() {
        EXIT_OK
    } else {
        EXIT_PROBLEM
    })
}

/// `verify PROFILE FILE...` for a signed-file profile: fetch what the mirrors serve, take
/// the latest signed content they agree on, and check each file against it.
fn cmd_verify_with_scheme(
    profile: &Profile,
    files: &[PathBuf],
    run: &RunArgs,
) -> Result<i32, Fail> {
    let (outcome, unrecorded) = run_scheme_check(profile, run, ArtifactMode::None, None)?;
    let r = &outcome.report;
    if !r.equivocations.is_empty() {
        return Err(Fail(
            EXIT_PROBLEM,
            "mirrors serve conflicting signed versions (equivocation); refusing to pick one. Run `check` for details".into(),
        ));
    }
    let latest = outcome.latest.ok_or_else(|| {
        // The notices say why nothing could be taken (e.g. mirrors disagreeing on the
        // signature of the newest version).
        let why: Vec<&str> = r.notices.iter().map(String::as_str).collect();
        Fail(
            EXIT_PROBLEM,
            format!(
                "no signed content can be taken from the mirrors: {} ({})",
                r.summary(),
                why.join("; ")
            ),
        )
    })?;
    let (pinned, _) = mirrorproof::scheme_check::load_pinned(profile).map_err(usage)?;
    let (usable, mut all_ok) = usable_files(files, None);
    let results = mirrorproof::signed_files::verify_against_latest(
        &pinned,
        &latest,
        &usable,
        time::now().timestamp(),
    );
    let agreeing = r
        .mirrors
        .iter()
        .filter(|m| {
            m.payload_sha256.as_deref() == r.latest.as_ref().map(|l| l.payload_sha256.as_str())
        })
        .count();
    for c in &results {
        all_ok &= c.ok;
        if c.ok {
            println!(
                "OK  {}  {} ({} of {} serve it)",
                line(&c.what),
                line(&c.detail),
                agreeing,
                plural_mirrors(r.mirrors.len())
            );
        } else {
            println!("FAILED  {}  {}", line(&c.what), line(&c.detail));
        }
    }
    // check's notices, less the one about --artifacts (verify never hashes on mirrors).
    for n in r.notices.iter().filter(|n| !n.contains("--artifacts")) {
        println!("  note: {}", line(n));
    }
    if let Some(why) = unrecorded {
        return Err(usage(unrecorded_message(&why, "the lines above are")));
    }
    Ok(if all_ok { EXIT_OK } else { EXIT_PROBLEM })
}

fn plural_mirrors(n: usize) -> String {
    format!("{n} {}", if n == 1 { "mirror" } else { "mirrors" })
}

fn cmd_verify(
    profile_path: &Path,
    files: &[PathBuf],
    release: Option<&Path>,
    roots: &[PathBuf],
    run: &RunArgs,
) -> Result<i32, Fail> {
    if release.is_none() {
        let profile = Profile::load(profile_path).map_err(usage)?;
        if profile.signed.is_some() {
            return cmd_verify_with_scheme(&profile, files, run);
        }
    }
    let mut unrecorded = None;
    let release = match release {
        Some(release_path) => {
            let profile = Profile::load(profile_path).map_err(usage)?;
            let limit = run.max_metadata_bytes;
            let pinned = check::load_pinned_root(&profile.root, limit).map_err(usage)?;
            let root = verify::walk_root_files(pinned, roots, limit).map_err(usage)?;
            let channel = run.channel.clone().unwrap_or(profile.channel.clone());
            let now = time::now();
            if root.root.is_expired(now) {
                return Err(Fail(
                    EXIT_PROBLEM,
                    format!("trusted root version {} has expired", root.root.version),
                ));
            }
            let state = match state_store(run)? {
                Some(store) => store.load(&root.root.project, &channel).map_err(usage)?,
                None => None,
            };
            verify::release_from_file(release_path, &root, &channel, now, limit, state.as_ref())
                .map_err(|e| match e {
                    verify::VerifyError::Unreadable { .. } => usage(e),
                    e => Fail(EXIT_PROBLEM, e.to_string()),
                })?
        }
        None => {
            let (outcome, why) = run_check(profile_path, run, ArtifactMode::None, None)?;
            unrecorded = why;
            let r = &outcome.report;
            if !r.equivocations.is_empty() || !r.root_equivocations.is_empty() {
                return Err(Fail(
                    EXIT_PROBLEM,
                    "mirrors serve conflicting signed releases (equivocation); refusing to pick one. Run `check` for details".into(),
                ));
            }
            outcome.latest.ok_or_else(|| {
                Fail(
                    EXIT_PROBLEM,
                    format!("no mirror served a valid release: {}", r.summary()),
                )
            })?
        }
    };
    let (usable, mut all_ok) = usable_files(files, None);
    let results = verify::verify_files(&release, &usable);
    for r in &results {
        let name = line(r.artifact.as_deref().unwrap_or("-"));
        let (word, why) = match &r.outcome {
            mirrorproof::fetch::ArtifactOutcome::Ok => ("OK", String::new()),
            mirrorproof::fetch::ArtifactOutcome::Missing => {
                ("FAILED", "cannot read the file".into())
            }
            mirrorproof::fetch::ArtifactOutcome::Corrupt(w) => ("FAILED", w.clone()),
            mirrorproof::fetch::ArtifactOutcome::Error(w)
            | mirrorproof::fetch::ArtifactOutcome::TimedOut(w) => {
                ("FAILED", r.note.clone().unwrap_or_else(|| w.clone()))
            }
            mirrorproof::fetch::ArtifactOutcome::Skipped => ("FAILED", "not checked".into()),
        };
        all_ok &= r.ok();
        if why.is_empty() {
            println!(
                "{word}  {}  (release {} artifact {name})",
                path(&r.path),
                release.version
            );
        } else {
            println!("{word}  {}  {}", path(&r.path), line(&why));
        }
    }
    if let Some(why) = unrecorded {
        return Err(usage(unrecorded_message(&why, "the lines above are")));
    }
    Ok(if all_ok { EXIT_OK } else { EXIT_PROBLEM })
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
