//! The publisher's commands: `keygen`, `root new`, `release new`, `sign`, `mirror build`.

use std::path::PathBuf;

use clap::{Args, Subcommand};

use mirrorproof::keys::{self, SecretKey};
use mirrorproof::publish::{self, ReleaseSpec, RootSpec};
use mirrorproof::time;

use super::{EXIT_OK, Fail, path, usage};

// No doc comments on the argument structs: the variants' in `Command` are the help.
#[derive(Args)]
pub(crate) struct KeygenArgs {
    /// Path prefix of the two key files (refuses to overwrite).
    #[arg(long, value_name = "PREFIX")]
    out: PathBuf,
}

#[derive(Subcommand)]
pub(crate) enum RootCmd {
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
pub(crate) enum ReleaseCmd {
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

#[derive(Args)]
pub(crate) struct SignArgs {
    /// Secret key file from `keygen`.
    #[arg(long)]
    key: PathBuf,
    /// Envelope to sign; updated in place unless --out is given.
    envelope: PathBuf,
    /// Write the signed envelope here instead of updating ENVELOPE.
    #[arg(long)]
    out: Option<PathBuf>,
}

#[derive(Subcommand)]
pub(crate) enum MirrorCmd {
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

pub(crate) fn keygen(a: KeygenArgs) -> Result<i32, Fail> {
    let (secret, public, key) = publish::keygen(&a.out).map_err(usage)?;
    println!(
        "key id {}\nsecret key: {} (mode 0600; keep it offline)\npublic key: {}",
        key.public().id(),
        path(&secret),
        path(&public)
    );
    Ok(EXIT_OK)
}

pub(crate) fn root(c: RootCmd) -> Result<i32, Fail> {
    let RootCmd::New {
        project,
        version,
        expires,
        root_keys,
        root_threshold,
        release_keys,
        release_threshold,
        out,
    } = c;
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

pub(crate) fn release(c: ReleaseCmd) -> Result<i32, Fail> {
    let ReleaseCmd::New {
        project,
        channel,
        version,
        published,
        expires,
        artifacts,
        hash,
        out,
    } = c;
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

pub(crate) fn sign(a: SignArgs) -> Result<i32, Fail> {
    let key = SecretKey::load(&a.key).map_err(usage)?;
    publish::sign_file(&a.envelope, &key, a.out.as_deref()).map_err(usage)?;
    println!(
        "signed {} with key {}",
        path(a.out.as_deref().unwrap_or(&a.envelope)),
        key.public().id()
    );
    Ok(EXIT_OK)
}

pub(crate) fn mirror(c: MirrorCmd) -> Result<i32, Fail> {
    let MirrorCmd::Build {
        out,
        release,
        artifacts,
        roots,
    } = c;
    publish::build_mirror(&out, &release, artifacts.as_deref(), &roots).map_err(usage)?;
    println!("wrote mirror tree {}", path(&out));
    Ok(EXIT_OK)
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
