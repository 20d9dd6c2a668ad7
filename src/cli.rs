//! Argument parsing and printing. Everything that decides anything lives in the library;
//! this module turns library errors into one-line messages and the documented exit codes.

use std::path::{Path, PathBuf};
use std::time::Duration;

use clap::{Args, Parser, Subcommand, ValueEnum};

use mirrorproof::check::{self, CheckError, CheckOptions};
use mirrorproof::fetch::{ArtifactMode, FetchConfig};
use mirrorproof::keys::{self, SecretKey};
use mirrorproof::profile::{Mirror, Profile};
use mirrorproof::publish::{self, ReleaseSpec, RootSpec};
use mirrorproof::state::StateStore;
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
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Fetch the release from every mirror, verify, compare mirrors and countries, report.
    Check {
        /// Profile (TOML) naming the pinned root, channel and mirrors.
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
    Verify {
        /// PROFILE followed by the FILEs to check (with --key/--sig: only FILEs).
        args: Vec<PathBuf>,
        /// Use this release envelope from disk instead of fetching (offline).
        #[arg(long, value_name = "ENVELOPE")]
        release: Option<PathBuf>,
        /// With --release: rotated root envelopes to walk from the pinned root (repeatable).
        #[arg(long = "root", value_name = "ENVELOPE", requires = "release")]
        roots: Vec<PathBuf>,
        /// Signed-file formats (signify, minisign, sshsig, note): public key file.
        #[arg(long)]
        key: Option<PathBuf>,
        /// Signed-file formats: signature file.
        #[arg(long)]
        sig: Option<PathBuf>,
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
        #[arg(long)]
        out: Option<PathBuf>,
    },
    /// Mirror directory trees.
    #[command(subcommand)]
    Mirror(MirrorCmd),
    /// Mirror lists for profiles.
    #[command(subcommand)]
    Mirrors(MirrorsCmd),
}

#[derive(Subcommand)]
enum RootCmd {
    /// Write an unsigned root envelope; the root keys then `sign` it.
    New {
        #[arg(long)]
        project: String,
        #[arg(long, default_value_t = 1)]
        version: u64,
        /// RFC 3339 UTC time, or an offset such as +365d.
        #[arg(long)]
        expires: String,
        /// Public key file of a root key (repeatable).
        #[arg(long = "root-key", required = true)]
        root_keys: Vec<PathBuf>,
        #[arg(long, default_value_t = 1)]
        root_threshold: u64,
        /// Public key file of a release key (repeatable).
        #[arg(long = "release-key", required = true)]
        release_keys: Vec<PathBuf>,
        #[arg(long, default_value_t = 1)]
        release_threshold: u64,
        #[arg(long)]
        out: PathBuf,
    },
}

#[derive(Subcommand)]
enum ReleaseCmd {
    /// Write an unsigned release envelope listing every file in a directory.
    New {
        #[arg(long)]
        project: String,
        #[arg(long)]
        channel: String,
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
        #[arg(long)]
        out: PathBuf,
    },
}

#[derive(Subcommand)]
enum MirrorCmd {
    /// Lay out a mirror: root/N.json, CHANNEL/release.json, artifacts/NAME.
    Build {
        #[arg(long)]
        out: PathBuf,
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
    /// Print another project's mirror list as profile `[[mirrors]]` entries.
    Import {
        /// The list's format: OpenBSD mirror records, Debian Mirrors.masterlist, pacman
        /// mirrorlist, or CRAN_mirrors.csv.
        #[arg(long, value_enum)]
        format: ImportFormat,
        file: PathBuf,
    },
}

#[derive(Clone, Copy, ValueEnum)]
enum ImportFormat {
    Openbsd,
    Debian,
    Arch,
    Cran,
}

#[derive(Args)]
struct RunArgs {
    /// Add a mirror URL or directory, optionally with its country: URL=CC (repeatable).
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
    /// Artifact transfers in flight at most (small metadata requests: 4 times as many).
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
    None,
    Size,
    Full,
}

/// A failure to report as one line on stderr with an exit code.
struct Fail(i32, String);

fn usage(msg: impl std::fmt::Display) -> Fail {
    Fail(EXIT_USAGE, msg.to_string())
}

pub fn main() -> i32 {
    let cli = match Cli::try_parse() {
        Ok(c) => c,
        Err(e) => {
            let code = if e.use_stderr() { EXIT_USAGE } else { EXIT_OK };
            let _ = e.print();
            return code;
        }
    };
    match dispatch(cli.command) {
        Ok(code) => code,
        Err(Fail(code, msg)) => {
            eprintln!("mirrorproof: {}", printable_line(&msg));
            code
        }
    }
}

/// Errors are one line whatever they quote: control characters from paths, key IDs or
/// documents are escaped, and very long messages are cut.
fn printable_line(msg: &str) -> String {
    let mut out = String::with_capacity(msg.len());
    for c in msg.chars() {
        if out.chars().count() >= 600 {
            out.push('…');
            break;
        }
        if c.is_control() {
            out.extend(c.escape_default());
        } else {
            out.push(c);
        }
    }
    out
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
            let report = if loaded.signed.is_some() {
                let outcome = run_scheme_check(&loaded, &run, mode, evidence.clone())?;
                if let Some(ev) = &evidence {
                    ev.finish_signed(&outcome.report, &loaded, &outcome.served)
                        .map_err(usage)?;
                }
                outcome.report
            } else {
                let outcome = run_check(&profile, &run, mode, evidence.clone())?;
                if let Some(ev) = &evidence {
                    ev.finish_native(&outcome.report, &outcome.evidence)
                        .map_err(usage)?;
                }
                outcome.report
            };
            if json {
                println!("{}", report.to_json());
            } else {
                print!("{}", report.render_human());
            }
            Ok(if report.ok { EXIT_OK } else { EXIT_PROBLEM })
        }
        Command::Verify {
            args,
            release,
            roots,
            key,
            sig,
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
                let req = mirrorproof::signed_files::Request {
                    key: &key,
                    sig: &sig,
                    format,
                    identity: identity.as_deref(),
                    namespace: namespace.as_deref(),
                };
                return cmd_verify_signed(req, &args);
            }
            if format.is_some() {
                return Err(usage("--format goes with --key/--sig"));
            }
            if identity.is_some() || namespace.is_some() {
                return Err(usage("--identity and --namespace go with --key/--sig"));
            }
            let (profile, files) = args
                .split_first()
                .ok_or_else(|| usage("verify needs a PROFILE and at least one FILE"))?;
            if files.is_empty() {
                return Err(usage("verify needs at least one FILE after the PROFILE"));
            }
            cmd_verify(profile, files, release.as_deref(), &roots, &run)
        }
        Command::Keygen { out } => {
            let (secret, public, key) = publish::keygen(&out).map_err(usage)?;
            println!(
                "key id {}\nsecret key: {} (mode 0600; keep it offline)\npublic key: {}",
                key.public().id(),
                secret.display(),
                public.display()
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
                expires: time::parse_relative(&expires, time::now()).map_err(usage)?,
                root_keys: load(&root_keys).map_err(usage)?,
                root_threshold,
                release_keys: load(&release_keys).map_err(usage)?,
                release_threshold,
            };
            let env = publish::root_envelope(&spec).map_err(usage)?;
            publish::write_envelope(&out, &env).map_err(usage)?;
            println!("wrote unsigned root v{version} to {}", out.display());
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
                Some(p) => time::parse_relative(&p, now).map_err(usage)?,
                None => now,
            };
            let spec = ReleaseSpec {
                project,
                channel,
                version,
                published,
                expires: time::parse_relative(&expires, now).map_err(usage)?,
                sha256: hash.iter().any(|h| h == "sha256"),
                sha512: hash.iter().any(|h| h == "sha512"),
            };
            let env = publish::release_envelope(&spec, &artifacts).map_err(usage)?;
            publish::write_envelope(&out, &env).map_err(usage)?;
            println!("wrote unsigned release {version} to {}", out.display());
            Ok(EXIT_OK)
        }
        Command::Sign { key, envelope, out } => {
            let key = SecretKey::load(&key).map_err(usage)?;
            publish::sign_file(&envelope, &key, out.as_deref()).map_err(usage)?;
            println!(
                "signed {} with key {}",
                out.as_deref().unwrap_or(&envelope).display(),
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
            println!("wrote mirror tree {}", out.display());
            Ok(EXIT_OK)
        }
        Command::Mirrors(MirrorsCmd::Import { format, file }) => {
            let format = match format {
                ImportFormat::Openbsd => import::Format::Openbsd,
                ImportFormat::Debian => import::Format::Debian,
                ImportFormat::Arch => import::Format::Arch,
                ImportFormat::Cran => import::Format::Cran,
            };
            let entries = import::import_file(&file, format).map_err(usage)?;
            // An empty result is almost always the wrong --format; say so rather than
            // print nothing and succeed.
            if entries.is_empty() {
                return Err(usage(format!(
                    "{}: no mirror with a usable http(s) URL found (is --format right?)",
                    file.display()
                )));
            }
            print!("{}", import::to_toml(&entries));
            Ok(EXIT_OK)
        }
    }
}

fn state_store(run: &RunArgs) -> Result<Option<StateStore>, Fail> {
    if run.no_state {
        return Ok(None);
    }
    let dir = match &run.state {
        Some(d) => d.clone(),
        None => StateStore::default_dir().ok_or_else(|| {
            usage("no data directory (set HOME, XDG_DATA_HOME, or use --state/--no-state)")
        })?,
    };
    Ok(Some(StateStore::new(dir)))
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
    let cwd = Path::new(".");
    for m in &run.mirrors {
        mirrors.push(Mirror::from_arg(m, cwd).map_err(usage)?);
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

fn run_check(
    profile_path: &Path,
    run: &RunArgs,
    mode: ArtifactMode,
    evidence: Option<std::sync::Arc<mirrorproof::evidence::EvidenceDir>>,
) -> Result<check::Outcome, Fail> {
    let profile = Profile::load(profile_path).map_err(usage)?;
    if profile.signed.is_some() {
        return Err(usage(format!(
            "profile {} uses scheme {:?}, which has no native release",
            profile_path.display(),
            profile.scheme
        )));
    }
    let (mirrors, fetch) = mirrors_and_fetch(&profile, run)?;
    let state = state_store(run)?;
    let pinned = check::load_pinned_root(&profile.root, fetch.max_metadata_bytes).map_err(usage)?;
    let opts = CheckOptions {
        channel: run.channel.clone().unwrap_or(profile.channel.clone()),
        artifacts: mode,
        fetch,
        state,
        now: time::now(),
    };
    check::run_with_evidence(
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
    })
}

/// A check of a profile in one of the signed-file schemes (signify, minisign, sshsig, note).
fn run_scheme_check(
    profile: &Profile,
    run: &RunArgs,
    mode: ArtifactMode,
    evidence: Option<std::sync::Arc<mirrorproof::evidence::EvidenceDir>>,
) -> Result<mirrorproof::scheme_check::SchemeOutcome, Fail> {
    let (pinned, source) = mirrorproof::scheme_check::load_pinned(profile).map_err(usage)?;
    let (mirrors, fetch) = mirrors_and_fetch(profile, run)?;
    let opts = CheckOptions {
        channel: run.channel.clone().unwrap_or(profile.channel.clone()),
        artifacts: mode,
        fetch,
        state: state_store(run)?,
        now: time::now(),
    };
    mirrorproof::scheme_check::run_with_evidence(
        &profile.name,
        pinned,
        source,
        mirrors,
        opts,
        evidence,
    )
    .map_err(usage)
}

fn cmd_verify_signed(
    req: mirrorproof::signed_files::Request<'_>,
    files: &[PathBuf],
) -> Result<i32, Fail> {
    use mirrorproof::signed_files::{self, SignedFilesError};
    let sig = req.sig;
    let out = match signed_files::verify(req, files, time::now().timestamp()) {
        Ok(out) => out,
        Err(SignedFilesError::Setup(msg)) => return Err(usage(msg)),
        Err(SignedFilesError::Signature(msg)) => {
            println!("FAILED  {}  {}", sig.display(), printable_line(&msg));
            return Ok(EXIT_PROBLEM);
        }
    };
    let signers = out.signers.join(", ");
    for r in &out.results {
        if r.ok {
            println!(
                "OK  {}  {} ({}, {signers})",
                printable_line(&r.what),
                r.detail,
                out.format.as_str()
            );
        } else {
            println!(
                "FAILED  {}  {}",
                printable_line(&r.what),
                printable_line(&r.detail)
            );
        }
    }
    // Signed text is shown only once something verified under the pinned key.
    if let Some(s) = out
        .statement
        .as_ref()
        .filter(|_| out.results.iter().any(|r| r.ok))
    {
        for line in s.lines().take(20) {
            println!("  signed: {}", printable_line(line));
        }
    }
    Ok(if out.all_ok() { EXIT_OK } else { EXIT_PROBLEM })
}

/// `verify PROFILE FILE...` for a signed-file profile: fetch what the mirrors serve, take
/// the latest signed content they agree on, and check each file against it.
fn cmd_verify_with_scheme(
    profile: &Profile,
    files: &[PathBuf],
    run: &RunArgs,
) -> Result<i32, Fail> {
    let outcome = run_scheme_check(profile, run, ArtifactMode::None, None)?;
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
    let results = mirrorproof::signed_files::verify_against_latest(
        &pinned,
        &latest,
        files,
        time::now().timestamp(),
    );
    let agreeing = r
        .mirrors
        .iter()
        .filter(|m| {
            m.payload_sha256.as_deref() == r.latest.as_ref().map(|l| l.payload_sha256.as_str())
        })
        .count();
    let mut all_ok = true;
    for c in &results {
        all_ok &= c.ok;
        if c.ok {
            println!(
                "OK  {}  {} ({} of {} mirrors serve it)",
                printable_line(&c.what),
                c.detail,
                agreeing,
                r.mirrors.len()
            );
        } else {
            println!(
                "FAILED  {}  {}",
                printable_line(&c.what),
                printable_line(&c.detail)
            );
        }
    }
    // check's notices, less the one about --artifacts (verify never hashes on mirrors).
    for n in r.notices.iter().filter(|n| !n.contains("--artifacts")) {
        println!("  note: {}", printable_line(n));
    }
    Ok(if all_ok { EXIT_OK } else { EXIT_PROBLEM })
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
    let release = match release {
        Some(path) => {
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
            verify::release_from_file(path, &root, &channel, now, limit, state.as_ref())
                .map_err(|e| Fail(EXIT_PROBLEM, e.to_string()))?
        }
        None => {
            let outcome = run_check(profile_path, run, ArtifactMode::None, None)?;
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
    let results = verify::verify_files(&release, files);
    let mut all_ok = true;
    for r in &results {
        let name = r.artifact.as_deref().unwrap_or("-");
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
                r.path.display(),
                release.version
            );
        } else {
            println!("{word}  {}  {why}", r.path.display());
        }
    }
    Ok(if all_ok { EXIT_OK } else { EXIT_PROBLEM })
}
