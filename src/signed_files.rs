//! `verify --key KEY --sig SIG [FILE...]`: the reference tools' job (signify, minisign,
//! `ssh-keygen -Y verify`, a signed-note reader) in one command, with the same strict
//! policy as everything else. Files are streamed through the digest the signature names
//! where the format signs a digest, so an image of any size is checked in constant memory.

use std::path::{Path, PathBuf};

use crate::fetch::{self, ArtifactMode, ArtifactOutcome};
use crate::release::Artifact;
use crate::schemes::checksums;
use crate::schemes::pinned::{self, Pinned, Signature};
use crate::schemes::{Format, Message, Prehash, SchemeError, note};

/// Formats that sign whole messages (signify, minisign `Ed`) need the file in memory;
/// beyond this size such a file is refused rather than read.
pub const MAX_WHOLE_MESSAGE_BYTES: u64 = 256 * 1024 * 1024;
/// Files a checksum list names have no signed length; this caps what is hashed.
const MAX_LISTED_BYTES: u64 = crate::schemes::files::MAX_LISTED_ARTIFACT_BYTES;
/// Signature files are small; a signed note (which `--sig` names too) at most 1 MiB.
const MAX_SIG_BYTES: u64 = note::MAX_NOTE_BYTES as u64;

#[derive(Debug, thiserror::Error)]
pub enum SignedFilesError {
    /// The pinned key or the arguments are unusable: a configuration problem.
    #[error("{0}")]
    Setup(String),
    /// The signature itself does not verify: nothing it covers can be trusted.
    #[error("{0}")]
    Signature(String),
}

/// One line of the answer: a FILE, or the signed message itself.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Checked {
    pub what: String,
    pub ok: bool,
    pub detail: String,
}

#[derive(Debug, Clone)]
pub struct SignedFiles {
    pub format: Format,
    pub signers: Vec<String>,
    /// Signed text shown to the user: a minisign trusted comment, a note's text.
    pub statement: Option<String>,
    pub results: Vec<Checked>,
}

impl SignedFiles {
    pub fn all_ok(&self) -> bool {
        !self.results.is_empty() && self.results.iter().all(|r| r.ok)
    }
}

fn read(path: &Path, limit: u64, what: &str) -> Result<Vec<u8>, String> {
    crate::fsutil::read_limited(path, limit).map_err(|e| format!("{what} {}: {e}", path.display()))
}

/// What `verify --key/--sig` was asked.
#[derive(Debug, Clone, Copy)]
pub struct Request<'a> {
    pub key: &'a Path,
    pub sig: &'a Path,
    /// `None`: told from the key file (and, where that is unambiguous, the signature).
    pub format: Option<Format>,
    pub identity: Option<&'a str>,
    pub namespace: Option<&'a str>,
    /// `verify --dir DIR`: a checksum list's names are looked up as given and read from
    /// under DIR, as `signify -C` run in DIR would.
    pub base_dir: Option<&'a Path>,
}

pub fn verify(
    req: Request<'_>,
    files: &[PathBuf],
    now: i64,
) -> Result<SignedFiles, SignedFilesError> {
    let (key_path, sig_path, identity, namespace) = (req.key, req.sig, req.identity, req.namespace);
    let setup = SignedFilesError::Setup;
    let key = read(key_path, crate::schemes::MAX_KEY_FILE_BYTES, "key").map_err(setup)?;
    let sig_bytes =
        read(sig_path, MAX_SIG_BYTES, "signature").map_err(SignedFilesError::Signature)?;
    let format = match req.format {
        Some(f) => f,
        None => pinned::detect(&key, Some(&sig_bytes)).map_err(|e| setup(e.to_string()))?,
    };
    let pinned = Pinned::load(format, &key, identity, namespace)
        .map_err(|e| setup(format!("{}: {e}", key_path.display())))?;
    // The CLI names the signature file on the same line.
    let bad_sig = |e: SchemeError| SignedFilesError::Signature(e.to_string());

    if let Pinned::Note(verifiers) = &pinned {
        if !files.is_empty() {
            return Err(setup(
                "a signed note is verified on its own: give it as --sig and no FILE".into(),
            ));
        }
        let opened = note::open(&sig_bytes, verifiers).map_err(bad_sig)?;
        let detail = match note::parse_checkpoint(&opened.text) {
            Ok(c) => format!(
                "checkpoint {} tree size {} root {}",
                c.origin,
                c.size,
                hex::encode(c.root_hash)
            ),
            Err(_) => "signed note".into(),
        };
        return Ok(SignedFiles {
            format,
            signers: opened.signers,
            statement: Some(opened.text),
            results: vec![Checked {
                what: sig_path.display().to_string(),
                ok: true,
                detail,
            }],
        });
    }

    let signature = Signature::parse(format, &sig_bytes).map_err(bad_sig)?;
    let statement = match &signature {
        Signature::Minisign(s) => Some(s.trusted_comment.clone()),
        _ => None,
    };

    if let Some(embedded) = signature.embedded() {
        let signers =
            pinned::verify(&pinned, &signature, Message::Bytes(embedded), now).map_err(bad_sig)?;
        let mut results = vec![Checked {
            what: sig_path.display().to_string(),
            ok: true,
            detail: "embedded message verified".into(),
        }];
        if !files.is_empty() {
            let entries = checksums::parse(embedded).map_err(|e| {
                SignedFilesError::Signature(format!(
                    "{}: the signed message is not a checksum list: {e}",
                    sig_path.display()
                ))
            })?;
            results = files
                .iter()
                .map(|f| check_listed(&entries, f, req.base_dir))
                .collect();
        }
        return Ok(SignedFiles {
            format,
            signers,
            statement,
            results,
        });
    }

    if files.is_empty() {
        return Err(setup(format!(
            "{} is a detached signature: name the FILE it signs",
            sig_path.display()
        )));
    }
    let mut signers = Vec::new();
    let mut results = Vec::new();
    for f in files {
        let outcome = match signature.prehash() {
            Prehash::None => read(f, MAX_WHOLE_MESSAGE_BYTES, "file").and_then(|bytes| {
                pinned::verify(&pinned, &signature, Message::Bytes(&bytes), now)
                    .map_err(|e| e.to_string())
            }),
            p => fetch::digest_local(f, MAX_LISTED_BYTES, p)
                .map_err(|e| format!("file {}: {e}", f.display()))
                .and_then(|d| {
                    pinned::verify(&pinned, &signature, Message::Digest(&d), now)
                        .map_err(|e| e.to_string())
                }),
        };
        match outcome {
            Ok(s) => {
                signers = s;
                results.push(Checked {
                    what: f.display().to_string(),
                    ok: true,
                    detail: "signature verified".into(),
                });
            }
            Err(why) => results.push(Checked {
                what: f.display().to_string(),
                ok: false,
                detail: why,
            }),
        }
    }
    Ok(SignedFiles {
        format,
        signers,
        statement,
        results,
    })
}

/// Checks a file against a verified checksum list, as `signify -C` does: by the path
/// exactly as given (`sub/a.bin` is not the list's `a.bin`), read from under `base_dir`
/// when one is given.
fn check_listed(entries: &[checksums::Entry], file: &Path, base_dir: Option<&Path>) -> Checked {
    let what = file.display().to_string();
    let digests: Vec<&checksums::Digest> = checksums::lookup(entries, &what)
        .into_iter()
        .map(|e| &e.digest)
        .collect();
    let on_disk = match base_dir {
        Some(dir) => dir.join(file),
        None => file.to_path_buf(),
    };
    let verdict = if digests.is_empty() {
        Err(not_listed_hint(entries, file))
    } else {
        let listed = crate::schemes::files::listed_artifact(&what, &digests);
        matches_listed(&on_disk, &listed, "the signed list")
    };
    match verdict {
        Ok(detail) => Checked {
            what,
            ok: true,
            detail,
        },
        Err(detail) => Checked {
            what,
            ok: false,
            detail,
        },
    }
}

/// Why a path is not in the list, and how to name it so it is: the list's entry with the
/// same file name, if there is one, and `--dir` to read names relative to a directory.
fn not_listed_hint(entries: &[checksums::Entry], file: &Path) -> String {
    let base = file.file_name().and_then(|n| n.to_str()).unwrap_or("");
    let same_name: Vec<&str> = entries
        .iter()
        .map(|e| e.name.as_str())
        .filter(|n| n.rsplit('/').next() == Some(base))
        .take(3)
        .collect();
    match same_name.first() {
        Some(listed) => format!(
            "not in the signed checksum list as {:?}: the list names {listed:?}; names are matched exactly as listed, so run from the list's directory or add --dir DIR and give {listed:?}",
            file.display().to_string()
        ),
        None => "not in the signed checksum list".into(),
    }
}

/// Hashes a file once through every digest a signed list gives for it; all must match (a
/// list with both SHA256 and SHA512 lines vouches for both).
fn matches_listed(file: &Path, listed: &Artifact, list: &str) -> Result<String, String> {
    let mut algorithms: Vec<String> = Vec::new();
    for d in &listed.digests {
        let a = d.algorithm().to_ascii_uppercase();
        if !algorithms.contains(&a) {
            algorithms.push(a);
        }
    }
    match fetch::check_local(file, listed, ArtifactMode::Full) {
        ArtifactOutcome::Ok | ArtifactOutcome::Skipped => {
            Ok(format!("matches {list} ({})", algorithms.join(", ")))
        }
        ArtifactOutcome::Missing => Err("cannot read the file".into()),
        ArtifactOutcome::Corrupt(why) => Err(mismatch(&why, list)),
        ArtifactOutcome::Error(w) | ArtifactOutcome::TimedOut(w) => Err(w),
    }
}

/// Words a failed check the way the list spells its algorithms (`SHA512 does not match`),
/// keeping any other reason (a file over the size cap) as it is.
fn mismatch(why: &str, list: &str) -> String {
    match why.strip_suffix(" the signed release") {
        Some(which) => format!(
            "{} {list}",
            which
                .replace("sha256", "SHA256")
                .replace("sha512", "SHA512")
        ),
        None => why.to_owned(),
    }
}

/// `verify PROFILE FILE...` for signed-file profiles: each downloaded file is checked
/// against the latest signed content the mirrors agreed on, matched by file name.
pub fn verify_against_latest(
    pinned: &Pinned,
    latest: &crate::schemes::files::LatestSigned,
    files: &[PathBuf],
    now: i64,
) -> Vec<Checked> {
    files
        .iter()
        .map(|f| {
            let what = f.display().to_string();
            let name = f.file_name().and_then(|n| n.to_str()).unwrap_or("");
            let fail = |detail: String| Checked {
                what: what.clone(),
                ok: false,
                detail,
            };
            if let Some(listed) = latest.listed.iter().find(|a| a.name == name) {
                return match matches_listed(f, listed, "the latest signed checksum list") {
                    Ok(detail) => Checked {
                        what,
                        ok: true,
                        detail,
                    },
                    Err(detail) => fail(detail),
                };
            }
            let signed_name = latest.file.rsplit('/').next().unwrap_or(&latest.file);
            if name != signed_name {
                return fail(format!(
                    "not named by the latest signed release (it signs {signed_name:?})"
                ));
            }
            if let Some(want) = &latest.file_sha256 {
                return match fetch::digest_local(f, MAX_LISTED_BYTES, Prehash::Sha256) {
                    Ok(d) if hex::encode(&d) == *want => Checked {
                        what,
                        ok: true,
                        detail: "identical to the signed file the mirrors serve".into(),
                    },
                    Ok(_) => fail("differs from the signed file the mirrors serve".into()),
                    Err(e) => fail(e.to_string()),
                };
            }
            if let Some(sig) = &latest.image_signature {
                let outcome = fetch::digest_local(f, MAX_LISTED_BYTES, sig.prehash())
                    .map_err(|e| e.to_string())
                    .and_then(|d| {
                        pinned::verify(pinned, sig, Message::Digest(&d), now)
                            .map_err(|e| e.to_string())
                    });
                return match outcome {
                    Ok(signers) => Checked {
                        what,
                        ok: true,
                        detail: format!("signature verified ({})", signers.join(", ")),
                    },
                    Err(e) => fail(e),
                };
            }
            fail("the latest signed content names no files".into())
        })
        .collect()
}
