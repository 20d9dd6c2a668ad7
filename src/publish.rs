//! The publisher's side, so that anyone can produce the native format offline: key
//! generation, root and release documents, threshold signing, and mirror trees.

use std::collections::BTreeMap;
use std::io::Read;
use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256, Sha512};

use crate::envelope::{Envelope, EnvelopeError, RELEASE_TYPE, ROOT_TYPE};
use crate::fsutil;
use crate::keys::{KeyError, PublicKey, SecretKey};
use crate::release::{ArtifactDoc, ReleaseDoc, check_artifact_name, check_channel_name};
use crate::root::{KeyDoc, RoleDoc, RootDoc};
use crate::time::Timestamp;

#[derive(Debug, thiserror::Error)]
pub enum PublishError {
    #[error(transparent)]
    Key(#[from] KeyError),
    #[error(transparent)]
    Envelope(#[from] EnvelopeError),
    #[error("{path}: {reason}")]
    Io { path: String, reason: String },
    #[error("{0}")]
    Invalid(String),
}

fn io_err(path: &Path) -> impl Fn(std::io::Error) -> PublishError + '_ {
    move |e| PublishError::Io {
        path: path.display().to_string(),
        reason: e.to_string(),
    }
}

/// Writes `PREFIX.key` (mode 0600, never printed) and `PREFIX.pub`; refuses to overwrite.
pub fn keygen(prefix: &Path) -> Result<(PathBuf, PathBuf, SecretKey), PublishError> {
    let key = SecretKey::generate()?;
    let secret = with_suffix(prefix, "key");
    let public = with_suffix(prefix, "pub");
    for p in [&secret, &public] {
        if p.exists() {
            return Err(PublishError::Invalid(format!(
                "{} already exists; not overwriting a key",
                p.display()
            )));
        }
    }
    if let Some(dir) = secret.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).map_err(io_err(dir))?;
    }
    // The check above gives the plain message; `write_new` makes it hold in a race too
    // (another keygen on the same prefix between the check and the write).
    fsutil::write_new(&secret, &key.to_file_bytes(), 0o600).map_err(exists_or(&secret))?;
    let mut pubbytes = serde_json::to_vec_pretty(&key.public_file()).unwrap_or_default();
    pubbytes.push(b'\n');
    if let Err(e) = fsutil::write_new(&public, &pubbytes, 0o644) {
        // The secret key just written is ours and useless without its public half.
        let _ = std::fs::remove_file(&secret);
        return Err(exists_or(&public)(e));
    }
    Ok((secret, public, key))
}

fn exists_or(path: &Path) -> impl Fn(std::io::Error) -> PublishError + '_ {
    move |e| {
        if e.kind() == std::io::ErrorKind::AlreadyExists {
            PublishError::Invalid(format!(
                "{} already exists; not overwriting a key",
                path.display()
            ))
        } else {
            io_err(path)(e)
        }
    }
}

fn with_suffix(prefix: &Path, ext: &str) -> PathBuf {
    let mut s = prefix.as_os_str().to_owned();
    s.push(".");
    s.push(ext);
    PathBuf::from(s)
}

pub struct RootSpec {
    pub project: String,
    pub version: u64,
    pub expires: Timestamp,
    pub root_keys: Vec<PublicKey>,
    pub root_threshold: u64,
    pub release_keys: Vec<PublicKey>,
    pub release_threshold: u64,
}

/// Builds an unsigned root envelope; its root keys then sign it with [`sign_file`].
pub fn root_envelope(spec: &RootSpec) -> Result<Envelope, PublishError> {
    let mut keys = BTreeMap::new();
    for k in spec.root_keys.iter().chain(&spec.release_keys) {
        keys.insert(
            k.id().to_string(),
            KeyDoc {
                keytype: "ed25519".into(),
                public: k.to_hex(),
            },
        );
    }
    let role = |ks: &[PublicKey], threshold: u64| {
        let mut keyids: Vec<String> = ks.iter().map(|k| k.id().to_string()).collect();
        keyids.sort();
        keyids.dedup();
        RoleDoc { keyids, threshold }
    };
    let mut roles = BTreeMap::new();
    roles.insert("root".into(), role(&spec.root_keys, spec.root_threshold));
    roles.insert(
        "release".into(),
        role(&spec.release_keys, spec.release_threshold),
    );
    let doc = RootDoc {
        kind: "root".into(),
        spec_version: 1,
        project: spec.project.clone(),
        version: spec.version,
        expires: crate::time::format(&spec.expires),
        keys,
        roles,
    };
    let payload = to_payload(&doc);
    // Refuse to produce a document that verifiers would reject.
    crate::root::Root::parse(&payload).map_err(|e| PublishError::Invalid(e.to_string()))?;
    Ok(Envelope::unsigned(ROOT_TYPE, &payload))
}

fn to_payload<T: serde::Serialize>(doc: &T) -> Vec<u8> {
    let mut v = serde_json::to_vec_pretty(doc).unwrap_or_default();
    v.push(b'\n');
    v
}

pub struct ReleaseSpec {
    pub project: String,
    pub channel: String,
    pub version: u64,
    pub published: Timestamp,
    pub expires: Timestamp,
    pub sha256: bool,
    pub sha512: bool,
}

/// Builds an unsigned release envelope listing every file under `dir` (recursively), with
/// lengths and hashes computed in one streaming pass per file.
pub fn release_envelope(spec: &ReleaseSpec, dir: &Path) -> Result<Envelope, PublishError> {
    check_channel_name(&spec.channel).map_err(|e| PublishError::Invalid(e.to_string()))?;
    if !spec.sha256 && !spec.sha512 {
        return Err(PublishError::Invalid("choose at least one hash".into()));
    }
    let mut artifacts = BTreeMap::new();
    for (name, path) in list_files(dir)? {
        check_artifact_name(&name).map_err(|e| PublishError::Invalid(e.to_string()))?;
        artifacts.insert(name, hash_file(&path, spec.sha256, spec.sha512)?);
    }
    let doc = ReleaseDoc {
        kind: "release".into(),
        spec_version: 1,
        project: spec.project.clone(),
        channel: spec.channel.clone(),
        version: spec.version,
        published: crate::time::format(&spec.published),
        expires: crate::time::format(&spec.expires),
        artifacts,
    };
    Ok(Envelope::unsigned(RELEASE_TYPE, &to_payload(&doc)))
}

/// Relative names (with `/`) and paths of every regular file below `dir`, sorted.
pub fn list_files(dir: &Path) -> Result<Vec<(String, PathBuf)>, PublishError> {
    let mut out = Vec::new();
    let mut stack = vec![(dir.to_path_buf(), String::new())];
    while let Some((d, prefix)) = stack.pop() {
        for entry in std::fs::read_dir(&d).map_err(io_err(&d))? {
            let entry = entry.map_err(io_err(&d))?;
            let path = entry.path();
            let name = entry
                .file_name()
                .to_str()
                .map(str::to_owned)
                .ok_or_else(|| {
                    PublishError::Invalid(format!("{} is not a UTF-8 name", path.display()))
                })?;
            let rel = if prefix.is_empty() {
                name
            } else {
                format!("{prefix}/{name}")
            };
            let ft = entry.file_type().map_err(io_err(&path))?;
            if ft.is_dir() {
                stack.push((path, rel));
            } else if ft.is_file() {
                out.push((rel, path));
            }
        }
    }
    out.sort();
    Ok(out)
}

fn hash_file(path: &Path, sha256: bool, sha512: bool) -> Result<ArtifactDoc, PublishError> {
    let mut f = std::fs::File::open(path).map_err(io_err(path))?;
    let mut h256 = Sha256::new();
    let mut h512 = Sha512::new();
    let mut buf = vec![0u8; 256 * 1024];
    let mut length = 0u64;
    loop {
        let n = f.read(&mut buf).map_err(io_err(path))?;
        if n == 0 {
            break;
        }
        length += n as u64;
        if sha256 {
            h256.update(&buf[..n]);
        }
        if sha512 {
            h512.update(&buf[..n]);
        }
    }
    Ok(ArtifactDoc {
        length,
        sha256: sha256.then(|| hex::encode(h256.finalize())),
        sha512: sha512.then(|| hex::encode(h512.finalize())),
    })
}

/// Adds one key holder's signature to an envelope file, in place and atomically.
pub fn sign_file(envelope: &Path, key: &SecretKey, out: Option<&Path>) -> Result<(), PublishError> {
    let bytes = fsutil::read_limited(envelope, crate::envelope::DEFAULT_MAX_BYTES)
        .map_err(io_err(envelope))?;
    let mut env = Envelope::parse(&bytes, crate::envelope::DEFAULT_MAX_BYTES)?;
    if env.payload_type != ROOT_TYPE && env.payload_type != RELEASE_TYPE {
        return Err(PublishError::Invalid(format!(
            "unknown payload type {:?}",
            env.payload_type
        )));
    }
    env.sign(key)?;
    let target = out.unwrap_or(envelope);
    fsutil::atomic_write(target, &env.to_json_bytes(), 0o644).map_err(io_err(target))
}

pub fn write_envelope(path: &Path, env: &Envelope) -> Result<(), PublishError> {
    fsutil::atomic_write(path, &env.to_json_bytes(), 0o644).map_err(io_err(path))
}

/// Lays out a mirror directory: `root/N.json`, `C/release.json`, `artifacts/NAME`.
/// Artifacts are copied from `artifacts_dir`; only names the release lists are copied.
pub fn build_mirror(
    out: &Path,
    release: &Path,
    artifacts_dir: Option<&Path>,
    roots: &[PathBuf],
) -> Result<(), PublishError> {
    let bytes = fsutil::read_limited(release, crate::envelope::DEFAULT_MAX_BYTES)
        .map_err(io_err(release))?;
    let env = Envelope::parse(&bytes, crate::envelope::DEFAULT_MAX_BYTES)?;
    if env.payload_type != RELEASE_TYPE {
        return Err(PublishError::Invalid(format!(
            "{} is not a release envelope",
            release.display()
        )));
    }
    let doc: ReleaseDoc = serde_json::from_slice(&env.payload_bytes()?)
        .map_err(|e| PublishError::Invalid(format!("release payload: {e}")))?;
    check_channel_name(&doc.channel).map_err(|e| PublishError::Invalid(e.to_string()))?;
    let chan = out.join(&doc.channel);
    std::fs::create_dir_all(&chan).map_err(io_err(&chan))?;
    fsutil::atomic_write(&chan.join("release.json"), &bytes, 0o644).map_err(io_err(&chan))?;
    if let Some(src) = artifacts_dir {
        for name in doc.artifacts.keys() {
            check_artifact_name(name).map_err(|e| PublishError::Invalid(e.to_string()))?;
            let from = src.join(name);
            let to = out.join("artifacts").join(name);
            if let Some(p) = to.parent() {
                std::fs::create_dir_all(p).map_err(io_err(p))?;
            }
            std::fs::copy(&from, &to).map_err(io_err(&from))?;
        }
    }
    for r in roots {
        let rb = fsutil::read_limited(r, crate::envelope::DEFAULT_MAX_BYTES).map_err(io_err(r))?;
        let renv = Envelope::parse(&rb, crate::envelope::DEFAULT_MAX_BYTES)?;
        let doc: RootDoc = serde_json::from_slice(&renv.payload_bytes()?)
            .map_err(|e| PublishError::Invalid(format!("root payload: {e}")))?;
        let dir = out.join("root");
        std::fs::create_dir_all(&dir).map_err(io_err(&dir))?;
        let target = dir.join(format!("{}.json", doc.version));
        fsutil::atomic_write(&target, &rb, 0o644).map_err(io_err(&target))?;
    }
    Ok(())
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    /// Several keygens on one prefix at once: exactly one wins, and the files on disk are
    /// its key. With `exists()` then rename, several passed the check and the last rename
    /// replaced a key another run had already reported as written.
    #[test]
    fn keygen_never_overwrites_a_key_even_in_a_race() {
        let dir = tempfile::tempdir().unwrap();
        let prefix = dir.path().join("k");
        for _round in 0..5 {
            let _ = std::fs::remove_file(with_suffix(&prefix, "key"));
            let _ = std::fs::remove_file(with_suffix(&prefix, "pub"));
            let barrier = std::sync::Arc::new(std::sync::Barrier::new(8));
            let handles: Vec<_> = (0..8)
                .map(|_| {
                    let (prefix, barrier) = (prefix.clone(), barrier.clone());
                    std::thread::spawn(move || {
                        barrier.wait();
                        keygen(&prefix).map(|(_, _, k)| k.to_file_bytes())
                    })
                })
                .collect();
            let results: Vec<_> = handles.into_iter().map(|h| h.join().unwrap()).collect();
            let won: Vec<_> = results.iter().filter_map(|r| r.as_ref().ok()).collect();
            assert_eq!(won.len(), 1, "{} keygens reported success", won.len());
            assert_eq!(
                &std::fs::read(with_suffix(&prefix, "key")).unwrap(),
                won[0],
                "the key on disk is not the one reported written"
            );
            for r in &results {
                if let Err(e) = r {
                    assert!(e.to_string().contains("already exists"), "{e}");
                }
            }
        }
    }
}
