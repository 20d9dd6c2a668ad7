//! The formats that sign files directly (signify, minisign, OpenSSH signatures, signed
//! notes) as one [`Scheme`]: fetch the signed file from every mirror, verify it against the
//! pinned key before reading it, and turn it into an observation the one judge compares.
//! The format modules ([`crate::schemes::signify`] and its siblings) decide the bytes; this
//! module decides what to fetch.
//!
//! These formats say less than a native release: signify, minisign and SSHSIG carry no
//! version and no expiry, so their content is [`Order::Unordered`] and only the comparison
//! between mirrors judges freshness, as the report says. Signed tlog checkpoints carry a
//! tree size ([`Order::TreeSize`]), which orders them and makes a split view provable.
//! GrapheneOS-style update metadata names a version but is unsigned ([`Order::Claimed`]);
//! its image is streamed in a second round and only its signature is proof.

use std::sync::Mutex;

use futures_util::future::BoxFuture;
use sha2::{Digest, Sha256};

use crate::fetch::{ArtifactMode, FetchError};
use crate::profile::{Profile, SignedSource};
use crate::release::{Artifact, Expected};
use crate::report::Report;
use crate::run::{
    Audit, CheckError, CheckOptions, Keep, Observation, Order, Proof, Scheme, Signed, Visit,
    is_dead,
};
use crate::schemes::checksums::{self, Digest as ListDigest};
use crate::schemes::pinned::{self, Pinned, Signature};
use crate::schemes::{Format, Message, Prehash, SchemeError, note};

/// Artifacts named by a checksum list have no signed length; this caps what is read.
pub const MAX_LISTED_ARTIFACT_BYTES: u64 = 64 * 1024 * 1024 * 1024;
/// Signature files are small in every format.
const MAX_SIGNATURE_BYTES: u64 = crate::schemes::MAX_SIGNATURE_FILE_BYTES;

/// What one mirror served, after its signature was checked.
#[derive(Debug, Clone)]
pub enum Seen {
    Unreachable(String),
    Invalid(String),
    Signed(Box<Found>),
}

/// Signed content one mirror served.
#[derive(Debug, Clone)]
pub struct Found {
    /// Tree size (checkpoints) or the unsigned version (version_file); `None` otherwise.
    version: Option<u64>,
    /// What mirrors are compared by (64 hex): the root hash of a checkpoint, else SHA-256
    /// of the signed message; for images named by unsigned metadata, SHA-256 of the digest
    /// the signature covers once verified (before that, of the signature file).
    content: String,
    signers: Vec<String>,
    /// Files a signed checksum list names, with their paths on the mirror.
    artifacts: Vec<(String, Artifact)>,
    /// The signed note, kept as evidence of a split view.
    note: Option<String>,
    /// For version_file sources: the image still to be streamed and verified.
    pending: Option<Pending>,
    /// False until the signature is known to cover the content: images named by unsigned
    /// metadata are only verified in a second round. Unverified content never decides
    /// what is latest and never makes a split view.
    verified: bool,
    /// For version_file sources: why the image did not verify (`None`: not checked).
    image: Option<ImageError>,
}

/// An image named by unsigned metadata, and the signature it must verify under.
#[derive(Debug, Clone)]
pub struct Pending {
    path: String,
    signature: Signature,
    signature_sha256: String,
}

/// The latest signed content in a form that local files can be checked against.
#[derive(Debug, Clone)]
pub struct LatestSigned {
    /// The signed file's name on the mirrors (for images, the latest version's).
    pub file: String,
    /// SHA-256 of the signed file's bytes, verified on the mirrors (detached signatures
    /// over files fetched whole).
    pub file_sha256: Option<String>,
    /// Files a signed checksum list names.
    pub listed: Vec<Artifact>,
    /// An image's signature, to verify a downloaded image against (unsigned versions).
    pub image_signature: Option<Signature>,
}

/// The pinned key of a signed-file profile, read under the key-file size limit and
/// parsed in the profile's scheme (with its identity and namespace for SSHSIG).
pub fn load_pinned(profile: &Profile) -> Result<(Pinned, SignedSource), CheckError> {
    let source = profile
        .signed
        .clone()
        .ok_or_else(|| CheckError::Setup("not a signed-file profile".into()))?;
    let shown = profile.root.display().to_string();
    let bad = |reason: String| CheckError::PinnedKey {
        path: shown.clone(),
        reason,
    };
    let key = crate::fsutil::read_limited(&profile.root, crate::schemes::MAX_KEY_FILE_BYTES)
        .map_err(|e| bad(e.to_string()))?;
    let pinned = Pinned::load(
        source.format,
        &key,
        source.identity.as_deref(),
        source.namespace.as_deref(),
    )
    .map_err(|e| bad(e.to_string()))?;
    Ok((pinned, source))
}

/// A signed-file profile for one run.
pub struct Files {
    pinned: Pinned,
    source: SignedSource,
    profile: String,
    artifacts: ArtifactMode,
    now: i64,
    /// Whether the image round was asked for.
    imaged: Mutex<bool>,
}

impl Files {
    pub fn new(pinned: Pinned, source: SignedSource, profile: &str, opts: &CheckOptions) -> Files {
        Files {
            pinned,
            source,
            profile: profile.to_owned(),
            artifacts: opts.artifacts,
            now: opts.now.timestamp(),
            imaged: Mutex::new(false),
        }
    }

    /// Fetches and verifies what one mirror serves; each file goes to the evidence bundle
    /// (if any) as it arrives and is dropped once judged.
    async fn first_round(&self, visit: &Visit) -> Seen {
        let (pinned, source, now) = (&self.pinned, &self.source, self.now);
        let unreachable = |path: &str, e: FetchError| -> Seen {
            if is_dead(&e) || matches!(e, FetchError::NotFound(_) | FetchError::Status(_)) {
                Seen::Unreachable(format!("{path}: {e}"))
            } else {
                Seen::Invalid(format!("{path}: {e}"))
            }
        };

        let mut version = None;
        if let Some(vf) = &source.version_file {
            let bytes = match visit.get(vf, Keep::Add).await {
                Ok(b) => b,
                Err(e) => return unreachable(vf, e),
            };
            match parse_update_metadata(&bytes, vf) {
                Ok(v) => version = Some(v),
                Err(why) => return Seen::Invalid(format!("{vf}: {why}")),
            }
        }
        let (file, sig_path) = source.paths_for(version);

        let signature = match &sig_path {
            Some(p) => {
                let bytes = match visit.get(p, Keep::No).await {
                    Ok(b) if b.len() as u64 > MAX_SIGNATURE_BYTES => {
                        return Seen::Invalid(format!(
                            "{p}: larger than {MAX_SIGNATURE_BYTES} bytes"
                        ));
                    }
                    Ok(b) => b,
                    Err(e) => return unreachable(p, e),
                };
                visit.keep(p, &bytes).await;
                match Signature::parse_detached(pinned.format(), &bytes) {
                    Ok(s) => Some((s, Sha256::digest(&bytes))),
                    Err(e) => return Seen::Invalid(format!("{p}: {e}")),
                }
            }
            None => None,
        };

        // Images named by unsigned metadata are verified in a second round, and only on
        // the mirrors that matter; here the signature must at least be by a pinned, allowed
        // key.
        if version.is_some()
            && let Some((sig, sig_sha)) = &signature
            && sig.prehash() != Prehash::None
        {
            if let Err(e) = signer_allowed(pinned, sig, now) {
                return Seen::Invalid(format!("{}: {e}", sig_path.unwrap_or_default()));
            }
            return Seen::Signed(Box::new(Found {
                version,
                content: hex::encode(sig_sha),
                signers: Vec::new(),
                artifacts: Vec::new(),
                note: None,
                pending: Some(Pending {
                    path: file,
                    signature: sig.clone(),
                    signature_sha256: hex::encode(sig_sha),
                }),
                verified: false,
                image: None,
            }));
        }

        let bytes = match visit.get(&file, Keep::Add).await {
            Ok(b) => b,
            Err(e) => return unreachable(&file, e),
        };
        match judge_signed_file(pinned, source, signature.map(|s| s.0), &file, &bytes, now) {
            Ok(mut s) => {
                if s.version.is_none() {
                    s.version = version;
                }
                Seen::Signed(Box::new(s))
            }
            Err(e) => Seen::Invalid(format!("{file}: {e}")),
        }
    }
}

impl Scheme for Files {
    type Mirror = Seen;
    type Detail = Option<Pending>;
    type Latest = Option<LatestSigned>;

    fn state_key(&self) -> String {
        format!("{}:{}", self.pinned.format().as_str(), self.profile)
    }

    fn visit<'a>(&'a self, visit: &'a Visit) -> BoxFuture<'a, Seen> {
        Box::pin(self.first_round(visit))
    }

    /// Images named by unsigned metadata: every mirror's image is streamed at once (one
    /// deadline each, so the round costs about one artifact timeout), with
    /// `--artifacts full` only.
    fn settle(&self, mirrors: &mut [Option<Seen>]) -> Result<Vec<usize>, CheckError> {
        let mut imaged = self.imaged.lock().unwrap_or_else(|e| e.into_inner());
        if *imaged || self.source.version_file.is_none() || self.artifacts != ArtifactMode::Full {
            return Ok(Vec::new());
        }
        *imaged = true;
        Ok(mirrors
            .iter()
            .enumerate()
            .filter(|(_, m)| matches!(m, Some(Seen::Signed(x)) if x.pending.is_some()))
            .map(|(i, _)| i)
            .collect())
    }

    fn revisit<'a>(&'a self, mirror: &'a mut Seen, visit: &'a Visit) -> BoxFuture<'a, ()> {
        Box::pin(async move {
            let Seen::Signed(x) = mirror else {
                return;
            };
            let Some(pending) = x.pending.clone() else {
                return;
            };
            match verify_image(visit, &self.pinned, &pending, self.now).await {
                Ok((digest, signers)) => {
                    // 64 hex like every other content id (state keeps SHA-256 hex).
                    x.content = hex::encode(Sha256::digest(&digest));
                    x.signers = signers;
                    x.verified = true;
                }
                Err(e) => x.image = Some(e),
            }
        })
    }

    fn observe(&self, mirror: Seen) -> Observation<Option<Pending>> {
        let x = match mirror {
            Seen::Unreachable(why) => return Observation::Unreachable(why),
            Seen::Invalid(why) => return Observation::Invalid(why),
            Seen::Signed(x) => x,
        };
        let order = match (x.version, self.source.version_file.is_some()) {
            (Some(v), true) => Order::Claimed(v),
            (Some(v), false) => Order::TreeSize(v),
            (None, _) => Order::Unordered,
        };
        let proof = match (x.verified, x.image) {
            (true, _) => Proof::Verified,
            (false, None) => Proof::NotChecked,
            (false, Some(ImageError::Fetch(e))) => Proof::Unfetched(e),
            (false, Some(ImageError::Signature(e))) => Proof::Refused(e),
        };
        Observation::Signed(Box::new(Signed {
            content: x.content,
            order,
            expires: None,
            published: None,
            signers: x.signers,
            artifacts: x.artifacts,
            evidence: x.note,
            documents: Vec::new(),
            proof,
            detail: x.pending,
        }))
    }

    fn key_count(&self) -> usize {
        self.pinned.key_count()
    }

    fn describe(
        &self,
        observations: &[Observation<Option<Pending>>],
        opts: &CheckOptions,
        report: &mut Report,
    ) {
        let format = self.pinned.format();
        let versioned = observations
            .iter()
            .filter_map(Observation::signed)
            .any(|s| s.order.number().is_some());
        report.scheme = Some(format.as_str());
        let notices = &mut report.notices;
        match (format, versioned, &self.source.version_file) {
            (_, _, Some(vf)) => {
                notices.push(format!(
                    "{vf} is unsigned: a mirror can claim any version in it. Versions and the downgrade check rest on it; the signature covers the image bytes only",
                ));
                notices.push(if opts.artifacts == ArtifactMode::Full {
                    "no mirror is ok unless its image verified".into()
                } else {
                    "with --artifacts other than full no image was verified, so no mirror can be ok"
                        .into()
                });
            }
            (Format::Note, _, _) if versioned || self.source.origin.is_some() => notices.push(
                "checkpoints are ordered by tree size; a smaller tree is reported stale even if it is only seconds behind. Consistency proofs between tree sizes are not checked".into(),
            ),
            _ => notices.push(format!(
                "{} signatures carry no version and no expiry: freshness is judged only by comparing mirrors. The content most mirrors serve counts as latest, so whoever runs most mirrors decides it, and a copy frozen on every mirror cannot be detected",
                format.as_str()
            )),
        }
    }

    /// For unsigned versions the mirrors on the chosen version must agree on its signature
    /// (OpenSSH Ed25519 signatures are deterministic: one image, one signature file), or a
    /// download cannot be checked against "the" signature.
    fn conclude(
        &self,
        observations: &[Observation<Option<Pending>>],
        audit: &Audit,
        report: &mut Report,
    ) -> Option<LatestSigned> {
        let latest = audit
            .latest
            .as_ref()
            .and_then(|l| observations[l.example].signed());
        let sig_sha =
            |s: &Signed<Option<Pending>>| s.detail.as_ref().map(|p| p.signature_sha256.clone());
        let agreed = latest.filter(|x| {
            self.source.version_file.is_none()
                || observations
                    .iter()
                    .filter_map(Observation::signed)
                    .filter(|y| y.order.number() == x.order.number())
                    .all(|y| sig_sha(y) == sig_sha(x))
        });
        if latest.is_some() && agreed.is_none() {
            report.notices.push(
                "mirrors that serve the newest version disagree on its signature file: no signature is taken as the latest".into(),
            );
        }
        agreed.map(|x| LatestSigned {
            file: match &x.detail {
                Some(p) => p.path.clone(),
                None => self.source.paths_for(x.order.number()).0,
            },
            file_sha256: (self.source.signature.is_some() && self.source.version_file.is_none())
                .then(|| x.content.clone()),
            listed: x.artifacts.iter().map(|(_, a)| a.clone()).collect(),
            image_signature: x.detail.as_ref().map(|p| p.signature.clone()),
        })
    }
}

/// Verifies a signed file already in memory: a note, an embedded signify list, or a file
/// with a detached signature. Signatures are checked before any content is parsed.
fn judge_signed_file(
    pinned: &Pinned,
    source: &SignedSource,
    signature: Option<Signature>,
    file: &str,
    bytes: &[u8],
    now: i64,
) -> Result<Found, SchemeError> {
    if let Pinned::Note(verifiers) = pinned {
        let opened = note::open(bytes, verifiers)?;
        let checkpoint = note::parse_checkpoint(&opened.text).ok();
        if let Some(origin) = &source.origin {
            let found = checkpoint.as_ref().map(|c| c.origin.as_str());
            if found != Some(origin.as_str()) {
                return Err(SchemeError::Content(match found {
                    Some(f) => format!(
                        "checkpoint of log {:?}, not {origin:?}",
                        f.chars().take(80).collect::<String>()
                    ),
                    None => format!("not a checkpoint (expected log {origin:?})"),
                }));
            }
        }
        return Ok(Found {
            version: checkpoint.as_ref().map(|c| c.size),
            content: match &checkpoint {
                Some(c) => hex::encode(c.root_hash),
                None => hex::encode(Sha256::digest(opened.text.as_bytes())),
            },
            signers: opened.signers,
            artifacts: Vec::new(),
            // Not `bytes`: ignored signature lines can pad those to the size limit, and
            // this is kept per mirror until the end of the run.
            note: Some(opened.pinned_note),
            pending: None,
            verified: true,
            image: None,
        });
    }
    let (signature, message): (Signature, &[u8]) = match signature {
        Some(s) => (s, bytes),
        None => {
            let s = Signature::parse(pinned.format(), bytes)?;
            let embedded = s.embedded().map(<[u8]>::to_vec).ok_or_else(|| {
                SchemeError::Policy(
                    "no embedded message: a detached signature needs `signature` in the profile"
                        .into(),
                )
            })?;
            let signers = pinned::verify(pinned, &s, Message::Bytes(&embedded), now)?;
            let list = signed_list(signers, file, &embedded)?;
            for required in &source.required_entries {
                if !list.artifacts.iter().any(|(_, a)| &a.name == required) {
                    return Err(SchemeError::Content(format!(
                        "the signed list does not name {required:?}: a list for another release or architecture"
                    )));
                }
            }
            return Ok(list);
        }
    };
    let signers = pinned::verify(pinned, &signature, Message::Bytes(message), now)?;
    // minisign's trusted comment is signed: its `file:` names what was signed. Its
    // `timestamp:` is not used to order mirrors: one key signs many files (DNSCrypt signs
    // v2/ and v3/ lists of the same name), so a newer timestamp does not mean a newer
    // version of this file, and one mirror could otherwise outrank all the others.
    if let Signature::Minisign(m) = &signature {
        let fields = trusted_fields(&m.trusted_comment);
        let served = file.rsplit('/').next().unwrap_or(file);
        if let Some(signed_as) = fields.file
            && signed_as != served
        {
            return Err(SchemeError::Content(format!(
                "signed as file {:?}, served as {served:?}",
                signed_as.chars().take(80).collect::<String>()
            )));
        }
    }
    Ok(Found {
        version: None,
        content: hex::encode(Sha256::digest(message)),
        signers,
        artifacts: Vec::new(),
        note: None,
        pending: None,
        verified: true,
        image: None,
    })
}

struct TrustedFields<'a> {
    file: Option<&'a str>,
}

/// A file a signed checksum list names, as an artifact: every digest the list gives for
/// it (all must match, over one download), and (no length being signed) a cap on what is
/// read instead of a length.
pub fn listed_artifact(name: &str, digests: &[&ListDigest]) -> Artifact {
    Artifact {
        name: name.to_owned(),
        length: MAX_LISTED_ARTIFACT_BYTES,
        length_signed: false,
        digests: digests
            .iter()
            .map(|d| match d {
                ListDigest::Sha256(d) => Expected::Sha256(*d),
                ListDigest::Sha512(d) => Expected::Sha512(*d),
            })
            .collect(),
    }
}

/// The `file:` field of the tab-separated `key:value` fields minisign writes into its
/// trusted comment by default (`timestamp:1764000000\tfile:name\thashed`).
fn trusted_fields(comment: &str) -> TrustedFields<'_> {
    let mut out = TrustedFields { file: None };
    for field in comment.split('\t') {
        if let Some(f) = field.strip_prefix("file:") {
            out.file = Some(f);
        }
    }
    out
}

/// A verified embedded message: if it is a checksum list, its entries become artifacts
/// next to the signature file.
fn signed_list(signers: Vec<String>, file: &str, message: &[u8]) -> Result<Found, SchemeError> {
    let dir = file.rsplit_once('/').map(|(d, _)| d).unwrap_or("");
    let entries = checksums::parse(message)?;
    // Every listed line must match (stricter than `signify -C`, which stops at the first
    // line naming a file): a list that names a file with both SHA256 and SHA512 vouches
    // for both. The file is fetched once for all its lines.
    let mut artifacts = Vec::new();
    for (name, digests) in checksums::by_name(&entries) {
        crate::release::check_artifact_name(name)
            .map_err(|_| SchemeError::Content(format!("{name:?} is not a safe relative path")))?;
        let rel = if dir.is_empty() {
            name.to_owned()
        } else {
            format!("{dir}/{name}")
        };
        artifacts.push((rel, listed_artifact(name, &digests)));
    }
    Ok(Found {
        version: None,
        content: hex::encode(Sha256::digest(message)),
        signers,
        artifacts,
        note: None,
        pending: None,
        verified: true,
        image: None,
    })
}

/// Checks that a signature names a pinned key (and, for SSHSIG, an allowed principal and
/// namespace) without the message: enough to refuse a mirror before streaming an image.
fn signer_allowed(pinned: &Pinned, sig: &Signature, now: i64) -> Result<(), SchemeError> {
    use crate::schemes::sshsig;
    match (pinned, sig) {
        (
            Pinned::Sshsig {
                signers,
                identity,
                namespace,
            },
            Signature::Sshsig(s),
        ) => {
            if &s.namespace != namespace {
                return Err(SchemeError::Policy(format!(
                    "signed for namespace {:?}, not {namespace:?}",
                    s.namespace
                )));
            }
            let principals = sshsig::find_principals(signers, s, namespace, now);
            let ok = match identity {
                Some(id) => {
                    principals.iter().any(|p| p == id)
                        || signers
                            .iter()
                            .any(|a| a.key == s.key && sshsig::principal_matches(&a.principals, id))
                }
                None => !principals.is_empty(),
            };
            if ok {
                Ok(())
            } else {
                Err(SchemeError::Policy(
                    "signed by a key that allowed_signers does not allow for this identity and namespace".into(),
                ))
            }
        }
        (Pinned::Minisign(k), Signature::Minisign(s)) if k.key_id != s.key_id => {
            Err(SchemeError::WrongKey {
                expected: crate::schemes::minisign::key_id_hex(&k.key_id),
                found: crate::schemes::minisign::key_id_hex(&s.key_id),
            })
        }
        _ => Ok(()),
    }
}

/// Why an image could not be verified: it could not be read (the mirror is incomplete),
/// or it was read and the signature does not cover it (the mirror is corrupt).
#[derive(Debug, Clone)]
enum ImageError {
    Fetch(String),
    Signature(String),
}

impl std::fmt::Display for ImageError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ImageError::Fetch(e) | ImageError::Signature(e) => f.write_str(e),
        }
    }
}

/// Streams an image through the digest its signature names and verifies the signature.
async fn verify_image(
    visit: &Visit,
    pinned: &Pinned,
    pending: &Pending,
    now: i64,
) -> Result<(Vec<u8>, Vec<String>), ImageError> {
    let digest = visit
        .digest(
            &pending.path,
            MAX_LISTED_ARTIFACT_BYTES,
            pending.signature.prehash(),
        )
        .await
        .map_err(|e| match e {
            // A link or FIFO where the image should be was never read: like an image that
            // does not verify, not like one that could not be fetched.
            FetchError::Refused(_) => ImageError::Signature(format!("{}: {e}", pending.path)),
            _ => ImageError::Fetch(format!("{}: {e}", pending.path)),
        })?;
    let signers = pinned::verify(pinned, &pending.signature, Message::Digest(&digest), now)
        .map_err(|e| ImageError::Signature(format!("{}: {e}", pending.path)))?;
    Ok((digest, signers))
}

/// GrapheneOS update metadata: `incremental build_date device channel`, one line, for the
/// device and channel its file name says.
pub fn parse_update_metadata(bytes: &[u8], path: &str) -> Result<u64, String> {
    let text = std::str::from_utf8(bytes).map_err(|_| "not UTF-8".to_string())?;
    let line = text.strip_suffix('\n').unwrap_or(text);
    if line.chars().any(char::is_control) {
        return Err("expected one line `incremental build_date device channel`".into());
    }
    let fields: Vec<&str> = line.split(' ').collect();
    let [incremental, build_date, device, channel] = fields[..] else {
        return Err("expected one line `incremental build_date device channel`".into());
    };
    let number = |s: &str| {
        (!s.is_empty() && s.bytes().all(|b| b.is_ascii_digit()) && !s.starts_with('0'))
            .then(|| s.parse::<u64>().ok())
            .flatten()
    };
    let version = number(incremental).ok_or("incremental is not a number")?;
    number(build_date).ok_or("build_date is not a number")?;
    let name = path.rsplit('/').next().unwrap_or(path);
    if name != format!("{device}-{channel}") {
        return Err(format!(
            "describes {:?}, not {name:?}",
            format!("{device}-{channel}")
                .chars()
                .take(80)
                .collect::<String>()
        ));
    }
    Ok(version)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn update_metadata_is_read_strictly() {
        assert_eq!(
            parse_update_metadata(b"2026112100 1763700000 husky stable\n", "husky-stable"),
            Ok(2026112100)
        );
        for bad in [
            &b"2026112100 1763700000 husky beta\n"[..],
            b"2026112100 1763700000 husky stable extra\n",
            b"2026112100 1763700000 husky stable\n\n",
            b"2026112100 1763700000 husky stable\r\n",
            b"02026112100 1763700000 husky stable\n",
            b"-1 1763700000 husky stable\n",
            b"",
            b"\xff",
        ] {
            assert!(
                parse_update_metadata(bad, "husky-stable").is_err(),
                "{bad:?}"
            );
        }
    }
}
