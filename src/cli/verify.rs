//! `mirrorproof verify`: downloaded files against the latest verified release (PROFILE
//! FILE..., online or with --release offline), or against a signature (--key/--sig). One
//! `OK`/`FAILED` line per file.

use std::path::{Path, PathBuf};

use clap::Args;

use mirrorproof::fetch::{ArtifactMode, ArtifactOutcome};
use mirrorproof::profile::Profile;
use mirrorproof::release::Release;
use mirrorproof::report::Report;
use mirrorproof::schemes::Format;
use mirrorproof::schemes::files::LatestSigned;
use mirrorproof::schemes::native::load_pinned_root;
use mirrorproof::schemes::pinned::Pinned;
use mirrorproof::signed_files::{self, SignedFilesError};
use mirrorproof::verify::{Reference, VerifyError};
use mirrorproof::{time, verify};

use super::run::{self, RunArgs};
use super::{
    EXIT_OK, EXIT_PROBLEM, Fail, line, path, plural_mirrors, problem, unrecorded_message, usage,
};

// No doc comment here: the variant's in `Command` is the command's help.
#[derive(Args)]
pub(crate) struct VerifyArgs {
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
}

/// Which of the three forms was asked for, and whether the options fit it.
pub(crate) fn run(a: VerifyArgs) -> Result<i32, Fail> {
    let format = a
        .format
        .map(|f| {
            Format::from_scheme(&f).ok_or_else(|| {
                usage(format!(
                    "--format {f:?}: expected signify, minisign, sshsig or note"
                ))
            })
        })
        .transpose()?;
    if a.key.is_some() || a.sig.is_some() {
        let (Some(key), Some(sig)) = (a.key, a.sig) else {
            return Err(usage("--key and --sig go together"));
        };
        if a.release.is_some() {
            return Err(usage("--release is for native profiles, not --key/--sig"));
        }
        if let Some(d) = &a.dir
            && !d.is_dir()
        {
            let what = if d.exists() {
                "not a directory"
            } else {
                "does not exist"
            };
            return Err(usage(format!("--dir {}: {what}", d.display())));
        }
        let req = signed_files::Request {
            key: &key,
            sig: &sig,
            format,
            identity: a.identity.as_deref(),
            namespace: a.namespace.as_deref(),
            base_dir: a.dir.as_deref(),
        };
        return against_signature(req, &a.args);
    }
    if format.is_some() {
        return Err(usage("--format goes with --key/--sig"));
    }
    if a.identity.is_some() || a.namespace.is_some() {
        return Err(usage("--identity and --namespace go with --key/--sig"));
    }
    let (profile, files) = a.args.split_first().ok_or_else(|| {
        usage("verify needs a PROFILE and at least one FILE (verify PROFILE FILE...)")
    })?;
    if files.is_empty() {
        return Err(usage(
            "verify needs at least one FILE after the PROFILE (verify PROFILE FILE...)",
        ));
    }
    against_profile(profile, files, a.release.as_deref(), &a.roots, &a.run)
}

/// The files that can be checked at all; each one that cannot (missing, a directory) gets
/// its `FAILED` line here. The flag is false when any was left out.
fn usable_files(files: &[PathBuf], base_dir: Option<&Path>) -> (Vec<PathBuf>, bool) {
    let sorted = verify::usable_files(files, base_dir);
    for (on_disk, why) in &sorted.unusable {
        println!("FAILED  {}  {why}", path(on_disk));
    }
    (sorted.usable, sorted.unusable.is_empty())
}

/// `verify --key KEY --sig SIG [FILE...]`: no mirror, no state; the signature decides.
fn against_signature(req: signed_files::Request<'_>, files: &[PathBuf]) -> Result<i32, Fail> {
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

/// `verify PROFILE FILE...`: the latest content the mirrors agree on (as `check` takes
/// it) or the release in `--release` on disk, then each file checked against it.
fn against_profile(
    profile_path: &Path,
    files: &[PathBuf],
    release: Option<&Path>,
    roots: &[PathBuf],
    run: &RunArgs,
) -> Result<i32, Fail> {
    let profile = Profile::load(profile_path).map_err(usage)?;
    if let Some(release_path) = release {
        let release = release_from_disk(&profile, release_path, roots, run)?;
        let all_ok = against_release(&release, files);
        return Ok(if all_ok { EXIT_OK } else { EXIT_PROBLEM });
    }
    let (outcome, unrecorded) = run::start(&profile, run, ArtifactMode::None, None)?;
    let all_ok = match verify::reference(&outcome).map_err(problem)? {
        Reference::Release(release) => against_release(release, files),
        Reference::Signed { pinned, latest } => {
            against_signed(&outcome.report, pinned, latest, files)
        }
    };
    if let Some(why) = unrecorded {
        return Err(usage(unrecorded_message(&why, "the lines above are")));
    }
    Ok(if all_ok { EXIT_OK } else { EXIT_PROBLEM })
}

/// `--release` (and `--root`): the release verified offline under the pinned root, and
/// against the recorded state when there is one.
fn release_from_disk(
    profile: &Profile,
    release_path: &Path,
    roots: &[PathBuf],
    run: &RunArgs,
) -> Result<Release, Fail> {
    let limit = run.max_metadata_bytes;
    let pinned = load_pinned_root(&profile.root, limit).map_err(usage)?;
    let root = verify::walk_root_files(pinned, roots, limit).map_err(usage)?;
    let channel = run.channel(profile);
    let now = time::now();
    if root.root.is_expired(now) {
        return Err(problem(format!(
            "trusted root version {} has expired",
            root.root.version
        )));
    }
    let state = match run.read_only_state()? {
        Some(store) => store.load(&root.root.project, &channel).map_err(usage)?,
        None => None,
    };
    verify::release_from_file(release_path, &root, &channel, now, limit, state.as_ref()).map_err(
        |e| match e {
            VerifyError::Unreadable { .. } => usage(e),
            e => problem(e),
        },
    )
}

/// Each file matched by name to an artifact of a native release, one line each; true when
/// every file matched.
fn against_release(release: &Release, files: &[PathBuf]) -> bool {
    let (usable, mut all_ok) = usable_files(files, None);
    let results = verify::verify_files(release, &usable);
    for r in &results {
        let name = line(r.artifact.as_deref().unwrap_or("-"));
        let (word, why) = match &r.outcome {
            ArtifactOutcome::Ok => ("OK", String::new()),
            ArtifactOutcome::Missing => ("FAILED", "cannot read the file".into()),
            ArtifactOutcome::Corrupt(w) => ("FAILED", w.clone()),
            ArtifactOutcome::Error(w) | ArtifactOutcome::TimedOut(w) => {
                ("FAILED", r.note.clone().unwrap_or_else(|| w.clone()))
            }
            ArtifactOutcome::Skipped => ("FAILED", "not checked".into()),
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
    all_ok
}

/// Each file checked against the latest signed content of a signed-file profile, with how
/// many mirrors serve it, then the run's notices; true when every file verified.
fn against_signed(
    report: &Report,
    pinned: &Pinned,
    latest: &LatestSigned,
    files: &[PathBuf],
) -> bool {
    let (usable, mut all_ok) = usable_files(files, None);
    let results =
        signed_files::verify_against_latest(pinned, latest, &usable, time::now().timestamp());
    let agreeing = verify::agreeing(report);
    for c in &results {
        all_ok &= c.ok;
        if c.ok {
            println!(
                "OK  {}  {} ({} of {} serve it)",
                line(&c.what),
                line(&c.detail),
                agreeing,
                plural_mirrors(report.mirrors.len())
            );
        } else {
            println!("FAILED  {}  {}", line(&c.what), line(&c.detail));
        }
    }
    // check's notices, less the one about --artifacts (verify never hashes on mirrors).
    for n in report.notices.iter().filter(|n| !n.contains("--artifacts")) {
        println!("  note: {}", line(n));
    }
    all_ok
}
