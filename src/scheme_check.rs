//! `check` for the formats that sign files directly (signify, minisign, OpenSSH signatures,
//! signed notes): fetch the signed file from every mirror at once, verify it against the
//! pinned key before reading it, compare what the mirrors serve, check the files a signed
//! checksum list names, and report in the same schema as the native format.
//!
//! These formats say less than a native release: signify, minisign and SSHSIG carry no
//! version and no expiry, so the only freshness check is the comparison between mirrors,
//! and the report says so. Signed tlog checkpoints carry a tree size, which orders them
//! and makes a split view provable. GrapheneOS-style update metadata names a version but
//! is unsigned; its version orders mirrors, and only the image signature is proof.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;
use std::time::Instant;

use sha2::{Digest, Sha256};

use crate::audit::Status;
use crate::check::{
    self, ArtifactResults, CheckError, CheckOptions, artifact_report, artifact_status, is_dead,
};
use crate::evidence::{EvidenceDir, mirror_dir};
use crate::fetch::{ArtifactMode, FetchError, Fetcher};
use crate::profile::{Mirror, Profile, SignedSource};
use crate::release::{Artifact, Expected};
use crate::report::{EquivocationReport, LatestReport, MirrorReport, Report, SCHEMA};
use crate::schemes::checksums::{self, Digest as ListDigest};
use crate::schemes::pinned::{self, Pinned, Signature};
use crate::schemes::{Format, Message, Prehash, SchemeError, note};
use crate::state::ChannelState;
use crate::time;

/// Artifacts named by a checksum list have no signed length; this caps what is read.
pub const MAX_LISTED_ARTIFACT_BYTES: u64 = 64 * 1024 * 1024 * 1024;
/// Signature files are small in every format.
const MAX_SIGNATURE_BYTES: u64 = crate::schemes::MAX_SIGNATURE_FILE_BYTES;

/// What one mirror served, after its signature was checked.
#[derive(Debug, Clone)]
enum Seen {
    Unreachable(String),
    Invalid(String),
    Signed(Box<Signed>),
}

#[derive(Debug, Clone)]
struct Signed {
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
    /// metadata are only verified in a second phase. Unverified content never decides
    /// what is latest and never makes a split view.
    verified: bool,
    /// For version_file sources: why the image did not verify (`None`: not checked).
    image: Option<ImageError>,
}

#[derive(Debug, Clone)]
struct Pending {
    path: String,
    signature: Signature,
    signature_sha256: String,
}

/// What a run produced: the report, and whether each mirror served any file (the files
/// themselves went to the evidence directory as they arrived, see [`run_with_evidence`]).
#[derive(Debug)]
pub struct SchemeOutcome {
    pub report: Report,
    pub state_written: bool,
    /// As [`crate::check::Outcome::state_error`].
    pub state_error: Option<crate::state::StateError>,
    pub served: Vec<(Mirror, bool)>,
    /// What the latest signed content vouches for, for `verify PROFILE FILE...`.
    pub latest: Option<LatestSigned>,
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

/// Runs a whole check for a signed-file profile; blocking wrapper like [`check::run`].
pub fn run(
    profile_name: &str,
    pinned: Pinned,
    source: SignedSource,
    mirrors: Vec<Mirror>,
    opts: CheckOptions,
) -> Result<SchemeOutcome, CheckError> {
    run_with_evidence(profile_name, pinned, source, mirrors, opts, None)
}

/// [`run`], writing every file each mirror serves into `evidence` as it arrives, under the
/// mirror's directory; the caller completes the bundle with
/// [`EvidenceDir::finish_signed`].
pub fn run_with_evidence(
    profile_name: &str,
    pinned: Pinned,
    source: SignedSource,
    mirrors: Vec<Mirror>,
    opts: CheckOptions,
    evidence: Option<Arc<EvidenceDir>>,
) -> Result<SchemeOutcome, CheckError> {
    crate::check::preflight(&mirrors, &opts)?;
    crate::check::block_on(run_async(
        profile_name,
        pinned,
        source,
        mirrors,
        opts,
        evidence,
    ))
}

async fn run_async(
    profile_name: &str,
    pinned: Pinned,
    source: SignedSource,
    mirrors: Vec<Mirror>,
    opts: CheckOptions,
    evidence: Option<Arc<EvidenceDir>>,
) -> Result<SchemeOutcome, CheckError> {
    let format = pinned.format();
    let project = format!("{}:{}", format.as_str(), profile_name);
    let state = match &opts.state {
        Some(store) => store.load(&project, &opts.channel)?,
        None => None,
    };
    let fetcher = Arc::new(
        Fetcher::new(opts.fetch.clone(), &mirrors).map_err(|e| CheckError::Setup(e.to_string()))?,
    );
    let mirrors: Vec<Arc<Mirror>> = mirrors.into_iter().map(Arc::new).collect();
    let pinned = Arc::new(pinned);
    let source = Arc::new(source);
    let now = opts.now.timestamp();

    let tasks: Vec<_> = mirrors
        .iter()
        .enumerate()
        .map(|(i, m)| {
            let (f, m, p, s) = (fetcher.clone(), m.clone(), pinned.clone(), source.clone());
            let keep = evidence.clone().map(|ev| Keep { ev, index: i });
            tokio::spawn(async move {
                let start = Instant::now();
                let (seen, served) = observe(&f, &m, &p, &s, now, keep.as_ref()).await;
                (seen, served, start.elapsed().as_millis() as u64)
            })
        })
        .collect();
    let mut seen = Vec::with_capacity(tasks.len());
    let mut served = Vec::with_capacity(tasks.len());
    let mut elapsed = Vec::with_capacity(tasks.len());
    for t in tasks {
        let (s, b, ms) = t
            .await
            .unwrap_or_else(|e| (Seen::Unreachable(format!("task failed: {e}")), false, 0));
        seen.push(s);
        served.push(b);
        elapsed.push(ms);
    }

    // Images named by unsigned metadata: every mirror's image is streamed at once (one
    // deadline each, so the phase costs about one artifact timeout) and only images whose
    // signature verifies take part in deciding what is latest.
    if source.version_file.is_some() && opts.artifacts == ArtifactMode::Full {
        let checks: Vec<_> = seen
            .iter()
            .enumerate()
            .filter_map(|(i, s)| match s {
                Seen::Signed(x) => x.pending.clone().map(|pd| (i, pd)),
                _ => None,
            })
            .map(|(i, pd)| {
                let (f, m, p) = (fetcher.clone(), mirrors[i].clone(), pinned.clone());
                (
                    i,
                    tokio::spawn(async move { verify_image(&f, &m, &p, &pd, now).await }),
                )
            })
            .collect();
        for (i, h) in checks {
            let r = h
                .await
                .unwrap_or_else(|e| Err(ImageError::Fetch(format!("task failed: {e}"))));
            if let Seen::Signed(x) = &mut seen[i] {
                match r {
                    Ok((digest, signers)) => {
                        // 64 hex like every other content id (state keeps SHA-256 hex).
                        x.content = hex::encode(Sha256::digest(&digest));
                        x.signers = signers;
                        x.verified = true;
                    }
                    Err(e) => x.image = Some(e),
                }
            }
        }
    }

    // The signature binds an image's bytes, not its version: the same signed image under
    // two version names means someone renamed it. The name most mirrors give the image is
    // taken as its version and the others are invalid; on a tie the oldest name is (a
    // replay under a newer name is the attack that gains a downgrade). Either way the
    // state does not move in this run.
    let verified_before_replays: Vec<u64> = seen
        .iter()
        .filter_map(|s| match s {
            Seen::Signed(x) if x.verified => x.version,
            _ => None,
        })
        .collect();
    let mut renamed = false;
    if source.version_file.is_some() {
        let mut names: BTreeMap<String, BTreeMap<u64, usize>> = BTreeMap::new();
        for s in &seen {
            if let Seen::Signed(x) = s
                && x.verified
                && let Some(v) = x.version
            {
                *names
                    .entry(x.content.clone())
                    .or_default()
                    .entry(v)
                    .or_default() += 1;
            }
        }
        for (content, by_name) in &names {
            if by_name.len() < 2 {
                continue;
            }
            renamed = true;
            let top = by_name.values().copied().max().unwrap_or(0);
            let Some(real) = by_name.iter().find(|(_, n)| **n == top).map(|(v, _)| *v) else {
                continue;
            };
            for s in seen.iter_mut() {
                if let Seen::Signed(x) = s
                    && x.verified
                    && &x.content == content
                    && let Some(v) = x.version
                    && v != real
                {
                    *s = Seen::Invalid(format!(
                        "serves the image that {top} mirror(s) serve as version {real} under the name of version {v} (renamed: a replay)"
                    ));
                }
            }
        }
    }

    let versioned = seen
        .iter()
        .any(|s| matches!(s, Seen::Signed(x) if x.version.is_some()));
    let verdict = if versioned {
        judge_versioned(&seen, state.as_ref(), source.version_file.is_some())
    } else {
        judge_by_majority(&seen)
    };

    // Checksum-list artifacts, for the mirrors that serve the latest list.
    let jobs = verdict
        .latest_mirrors()
        .filter_map(|i| match &seen[i] {
            Seen::Signed(x) if !x.artifacts.is_empty() => Some((i, x.artifacts.clone())),
            _ => None,
        })
        .collect();
    let mut artifact_results: ArtifactResults =
        check::check_artifacts(&fetcher, &mirrors, jobs, opts.artifacts).await;

    let mut notices = Vec::new();
    match (format, versioned, source.version_file.is_some()) {
        (_, _, true) => {
            notices.push(format!(
                "{} is unsigned: a mirror can claim any version in it. Versions and the downgrade check rest on it; the signature covers the image bytes only",
                source.version_file.as_deref().unwrap_or("")
            ));
            notices.push(if opts.artifacts == ArtifactMode::Full {
                "no mirror is ok unless its image verified".into()
            } else {
                "with --artifacts other than full no image was verified, so no mirror can be ok"
                    .into()
            });
        }
        (Format::Note, _, _) if versioned || source.origin.is_some() => notices.push(
            "checkpoints are ordered by tree size; a smaller tree is reported stale even if it is only seconds behind. Consistency proofs between tree sizes are not checked".into(),
        ),
        _ => notices.push(format!(
            "{} signatures carry no version and no expiry: freshness is judged only by comparing mirrors. The content most mirrors serve counts as latest, so whoever runs most mirrors decides it, and a copy frozen on every mirror cannot be detected",
            format.as_str()
        )),
    }

    let mut reports = Vec::with_capacity(mirrors.len());
    for (i, m) in mirrors.iter().enumerate() {
        let signed = match &seen[i] {
            Seen::Signed(x) => Some(x),
            _ => None,
        };
        let (status, error, artifacts, extra_ms) = match &verdict.judgements[i] {
            Verdict::Final(st, why) => (*st, Some(why.clone()), Vec::new(), 0),
            Verdict::Latest => {
                let (results, ms) = artifact_results.remove(&i).unwrap_or_default();
                let (mut st, mut why) = artifact_status(&results);
                if source.version_file.is_some()
                    && let Some(x) = signed
                    && !x.verified
                {
                    (st, why) = match &x.image {
                        Some(ImageError::Signature(e)) => {
                            (Status::Corrupt, Some(format!("image: {e}")))
                        }
                        Some(ImageError::Fetch(e)) => {
                            (Status::Incomplete, Some(format!("image not fetched: {e}")))
                        }
                        None => (
                            Status::Incomplete,
                            Some(format!(
                                "image signature not checked (--artifacts {}): it covers the image bytes",
                                mode_name(opts.artifacts)
                            )),
                        ),
                    };
                }
                let arts = results
                    .into_iter()
                    .map(|(name, o)| artifact_report(name, o))
                    .collect();
                (st, why, arts, ms)
            }
        };
        reports.push(MirrorReport {
            url: m.url.clone(),
            country: m.country.clone(),
            name: m.name.clone(),
            status,
            version: signed.and_then(|s| s.version),
            payload_sha256: signed.map(|s| s.content.clone()),
            signers: signed.map(|s| s.signers.clone()).unwrap_or_default(),
            published: None,
            artifacts,
            elapsed_ms: elapsed[i] + extra_ms,
            error,
        });
    }

    let latest_signed = verdict.latest.and_then(|i| match &seen[i] {
        Seen::Signed(x) => Some(x),
        _ => None,
    });
    let url_of = |i: &usize| mirrors[*i].url.clone();
    let mut report = Report {
        schema: SCHEMA,
        profile: profile_name.to_owned(),
        channel: opts.channel.clone(),
        checked_at: time::format(&opts.now),
        ok: false,
        independent: false,
        latest: latest_signed.map(|s| LatestReport {
            version: s.version.unwrap_or(0),
            payload_sha256: s.content.clone(),
            published: None,
            signers: s.signers.clone(),
            release_keys: pinned.key_count(),
            equivocated: verdict.latest_equivocated,
        }),
        mirrors: reports,
        countries: BTreeMap::new(),
        equivocations: verdict
            .equivocations
            .iter()
            .map(|e| EquivocationReport {
                version: e.version,
                payload_sha256: e.contents.clone(),
                mirrors: e.mirrors.iter().map(url_of).collect(),
                with_state: e.with_state,
                evidence: e.evidence(&seen),
            })
            .collect(),
        scheme: Some(format.as_str()),
        notices,
        root: None,
        root_equivocations: Vec::new(),
        root_rejected: Vec::new(),
        artifacts_mode: mode_name(opts.artifacts),
    };
    report.summarise();

    // Only ordered formats have state, and it moves only to a latest that is not split and,
    // for unsigned versions, whose image verified somewhere in this run.
    let mut state_written = false;
    let mut state_error = None;
    // Unsigned versions move the state only when most mirrors whose image verified agree on
    // the version: one mirror replaying an old image under a new name must not be able to
    // poison the state and make every honest mirror a "rollback" from then on.
    let verified_versions = &verified_before_replays;
    let on_latest = latest_signed.and_then(|l| l.version).map_or(0, |lv| {
        verified_versions.iter().filter(|v| **v == lv).count()
    });
    let backed =
        source.version_file.is_none() || (!renamed && on_latest * 2 > verified_versions.len());
    if source.version_file.is_some() && renamed {
        report.notices.push(
            "state not advanced: a signed image was served under more than one version name".into(),
        );
    } else if source.version_file.is_some() && !backed && !verified_versions.is_empty() {
        report.notices.push(format!(
            "state not advanced: only {on_latest} of {} mirrors with verified images claim the newest version (the version is unsigned, so a majority must agree)",
            verified_versions.len()
        ));
    }
    if let (Some(store), Some(latest)) = (&opts.state, latest_signed)
        && let Some(version) = latest.version
        && !verdict.latest_equivocated
        && backed
        && state.as_ref().is_none_or(|s| version > s.version)
    {
        match crate::check::record_latest(
            store,
            &project,
            &opts.channel,
            version,
            &latest.content,
            opts.now,
            &mut report,
        ) {
            Ok(written) => state_written = written,
            Err(e) => state_error = Some(e),
        }
    }

    // For unsigned versions the mirrors on the chosen version must agree on its signature
    // (OpenSSH Ed25519 signatures are deterministic: one image, one signature file), or a
    // download cannot be checked against "the" signature.
    let agreed = latest_signed.filter(|x| {
        source.version_file.is_none()
            || seen.iter().all(|s| match s {
                Seen::Signed(y) if y.version == x.version => {
                    y.pending.as_ref().map(|p| &p.signature_sha256)
                        == x.pending.as_ref().map(|p| &p.signature_sha256)
                }
                _ => true,
            })
    });
    if latest_signed.is_some() && agreed.is_none() {
        report.notices.push(
            "mirrors that serve the newest version disagree on its signature file: no signature is taken as the latest".into(),
        );
    }
    let latest = agreed.map(|x| LatestSigned {
        file: match &x.pending {
            Some(p) => p.path.clone(),
            None => source.paths_for(x.version).0,
        },
        file_sha256: (source.signature.is_some() && source.version_file.is_none())
            .then(|| x.content.clone()),
        listed: x.artifacts.iter().map(|(_, a)| a.clone()).collect(),
        image_signature: x.pending.as_ref().map(|p| p.signature.clone()),
    });
    Ok(SchemeOutcome {
        report,
        state_written,
        state_error,
        latest,
        served: mirrors
            .iter()
            .zip(served)
            .map(|(m, any)| ((**m).clone(), any))
            .collect(),
    })
}

fn mode_name(m: ArtifactMode) -> &'static str {
    match m {
        ArtifactMode::None => "none",
        ArtifactMode::Size => "size",
        ArtifactMode::Full => "full",
    }
}

/// Where one mirror's files go in an evidence bundle.
struct Keep {
    ev: Arc<EvidenceDir>,
    index: usize,
}

/// Fetches and verifies what one mirror serves. Returns the verdict input and whether the
/// mirror served any file; each file goes to the evidence bundle (if any) as it arrives
/// and is dropped once judged.
async fn observe(
    f: &Fetcher,
    m: &Mirror,
    pinned: &Pinned,
    source: &SignedSource,
    now: i64,
    keep: Option<&Keep>,
) -> (Seen, bool) {
    let mut served = false;
    async fn kept(keep: Option<&Keep>, served: &mut bool, path: &str, bytes: &[u8]) {
        *served = true;
        if let Some(k) = keep {
            k.ev.keep(&format!("{}/{path}", mirror_dir(k.index)), bytes)
                .await;
        }
    }
    let unreachable = |path: &str, e: FetchError| -> Seen {
        if is_dead(&e) || matches!(e, FetchError::NotFound(_) | FetchError::Status(_)) {
            Seen::Unreachable(format!("{path}: {e}"))
        } else {
            Seen::Invalid(format!("{path}: {e}"))
        }
    };

    let mut version = None;
    if let Some(vf) = &source.version_file {
        let bytes = match f.get_metadata(m, vf).await {
            Ok(b) => b,
            Err(e) => return (unreachable(vf, e), served),
        };
        kept(keep, &mut served, vf, &bytes).await;
        match parse_update_metadata(&bytes, vf) {
            Ok(v) => version = Some(v),
            Err(why) => return (Seen::Invalid(format!("{vf}: {why}")), served),
        }
    }
    let (file, sig_path) = source.paths_for(version);

    let signature = match &sig_path {
        Some(p) => {
            let bytes = match f.get_metadata(m, p).await {
                Ok(b) if b.len() as u64 > MAX_SIGNATURE_BYTES => {
                    return (
                        Seen::Invalid(format!("{p}: larger than {MAX_SIGNATURE_BYTES} bytes")),
                        served,
                    );
                }
                Ok(b) => b,
                Err(e) => return (unreachable(p, e), served),
            };
            kept(keep, &mut served, p, &bytes).await;
            match Signature::parse_detached(pinned.format(), &bytes) {
                Ok(s) => Some((s, Sha256::digest(&bytes))),
                Err(e) => return (Seen::Invalid(format!("{p}: {e}")), served),
            }
        }
        None => None,
    };

    // Images named by unsigned metadata are verified later, and only on the mirrors that
    // matter; here the signature must at least be by a pinned, allowed key.
    if version.is_some()
        && let Some((sig, sig_sha)) = &signature
        && sig.prehash() != Prehash::None
    {
        if let Err(e) = signer_allowed(pinned, sig, now) {
            return (
                Seen::Invalid(format!("{}: {e}", sig_path.unwrap_or_default())),
                served,
            );
        }
        return (
            Seen::Signed(Box::new(Signed {
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
            })),
            served,
        );
    }

    let bytes = match f.get_metadata(m, &file).await {
        Ok(b) => b,
        Err(e) => return (unreachable(&file, e), served),
    };
    kept(keep, &mut served, &file, &bytes).await;
    let seen = match judge_signed_file(pinned, source, signature.map(|s| s.0), &file, &bytes, now) {
        Ok(mut s) => {
            if s.version.is_none() {
                s.version = version;
            }
            Seen::Signed(Box::new(s))
        }
        Err(e) => Seen::Invalid(format!("{file}: {e}")),
    };
    (seen, served)
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
) -> Result<Signed, SchemeError> {
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
        return Ok(Signed {
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
    Ok(Signed {
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
fn signed_list(signers: Vec<String>, file: &str, message: &[u8]) -> Result<Signed, SchemeError> {
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
    Ok(Signed {
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
    f: &Fetcher,
    m: &Mirror,
    pinned: &Pinned,
    pending: &Pending,
    now: i64,
) -> Result<(Vec<u8>, Vec<String>), ImageError> {
    let digest = f
        .digest(
            m,
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

#[derive(Debug, Clone, PartialEq, Eq)]
enum Verdict {
    Final(Status, String),
    Latest,
}

#[derive(Debug)]
struct Split {
    version: u64,
    contents: Vec<String>,
    mirrors: Vec<usize>,
    with_state: bool,
}

impl Split {
    /// The signed notes behind a split view, one per distinct content.
    fn evidence(&self, seen: &[Seen]) -> Vec<String> {
        let mut by_content = BTreeMap::new();
        for &i in &self.mirrors {
            if let Seen::Signed(s) = &seen[i]
                && let Some(n) = &s.note
            {
                by_content.entry(s.content.clone()).or_insert(n.clone());
            }
        }
        by_content.into_values().collect()
    }
}

#[derive(Debug)]
struct Judged {
    /// A mirror serving the latest content, to describe it.
    latest: Option<usize>,
    latest_equivocated: bool,
    judgements: Vec<Verdict>,
    equivocations: Vec<Split>,
}

impl Judged {
    fn latest_mirrors(&self) -> impl Iterator<Item = usize> + '_ {
        self.judgements
            .iter()
            .enumerate()
            .filter(|(_, j)| **j == Verdict::Latest)
            .map(|(i, _)| i)
    }
}

fn not_signed(s: &Seen) -> Option<Verdict> {
    match s {
        Seen::Unreachable(w) => Some(Verdict::Final(Status::Unreachable, w.clone())),
        Seen::Invalid(w) => Some(Verdict::Final(Status::Invalid, w.clone())),
        Seen::Signed(_) => None,
    }
}

/// Ordered content (tree sizes, signed timestamps, update versions): the same order of
/// statuses as the native format, without expiry. Only verified content decides what is
/// latest and what is a split view; unverified claims are judged against it.
fn judge_versioned(seen: &[Seen], state: Option<&ChannelState>, unsigned: bool) -> Judged {
    let signed = |i: usize| match &seen[i] {
        Seen::Signed(x) => Some(x.as_ref()),
        _ => None,
    };
    let mut by_version: BTreeMap<u64, BTreeSet<&str>> = BTreeMap::new();
    for x in (0..seen.len()).filter_map(signed).filter(|x| x.verified) {
        by_version
            .entry(x.version.unwrap_or(0))
            .or_default()
            .insert(&x.content);
    }
    let mut equivocations = Vec::new();
    for (version, contents) in &by_version {
        let state_conflict = state
            .filter(|st| st.version == *version)
            .is_some_and(|st| contents.iter().any(|c| *c != st.payload_sha256));
        if contents.len() > 1 || state_conflict {
            let mut all: BTreeSet<String> = contents.iter().map(|c| c.to_string()).collect();
            if state_conflict && let Some(st) = state {
                all.insert(st.payload_sha256.clone());
            }
            equivocations.push(Split {
                version: *version,
                contents: all.into_iter().collect(),
                mirrors: (0..seen.len())
                    .filter(|i| {
                        signed(*i).is_some_and(|x| x.verified && x.version.unwrap_or(0) == *version)
                    })
                    .collect(),
                with_state: state_conflict,
            });
        }
    }
    let floor = state.map(|s| s.version).unwrap_or(0);
    // With nothing verified (images not checked), the newest claim is what mirrors are
    // compared with; none of them can then be ok.
    let claimed: BTreeSet<u64> = (0..seen.len())
        .filter_map(signed)
        .map(|x| x.version.unwrap_or(0))
        .collect();
    // Signed order (tree sizes): the newest wins. Unsigned order (version files): any mirror
    // can claim any number, so the version most mirrors claim wins (the newest on a tie),
    // verified images first; newer claims by fewer mirrors stay unconfirmed.
    let count_claims = |verified_only: bool| {
        let mut n: BTreeMap<u64, usize> = BTreeMap::new();
        for x in (0..seen.len()).filter_map(signed) {
            if x.verified || !verified_only {
                *n.entry(x.version.unwrap_or(0)).or_default() += 1;
            }
        }
        n
    };
    let most_claimed = |n: BTreeMap<u64, usize>| {
        n.into_iter()
            .filter(|(v, _)| *v >= floor)
            .max_by_key(|(v, c)| (*c, *v))
            .map(|(v, _)| v)
    };
    let latest_version = if unsigned {
        most_claimed(count_claims(true)).or_else(|| {
            by_version
                .is_empty()
                .then(|| most_claimed(count_claims(false)))
                .flatten()
        })
    } else {
        by_version
            .keys()
            .rev()
            .find(|v| **v >= floor)
            .or_else(|| {
                by_version
                    .is_empty()
                    .then(|| claimed.iter().rev().find(|v| **v >= floor))
                    .flatten()
            })
            .copied()
    };
    let split = |v: u64| equivocations.iter().any(|e| e.version == v);
    let latest_equivocated = latest_version.is_some_and(split);
    let judgements = seen
        .iter()
        .map(|s| {
            if let Some(v) = not_signed(s) {
                return v;
            }
            let Seen::Signed(x) = s else {
                return Verdict::Final(Status::Invalid, "unreachable".into());
            };
            let v = x.version.unwrap_or(0);
            let newest = latest_version.unwrap_or(v);
            if x.verified && split(v) {
                Verdict::Final(
                    Status::Equivocating,
                    if unsigned {
                        format!("version {v} is claimed for different signed images; the version is unsigned, so a mirror may be replaying an older image under this name")
                    } else {
                        format!("version {v} exists with different signed contents (split view)")
                    },
                )
            } else if v < floor {
                Verdict::Final(
                    Status::Rollback,
                    format!("version {v} is older than {floor}, already seen (local state)"),
                )
            } else if v > newest && x.verified {
                // Unsigned versions only: a verified image under a newer name than most
                // mirrors give. It may be a real new release reaching its first mirrors,
                // or an old image renamed; it is not ok until most mirrors agree.
                Verdict::Final(
                    Status::Incomplete,
                    format!("claims version {v} (unsigned), newer than the {newest} most mirrors serve: unconfirmed"),
                )
            } else if v > newest {
                // An unverified claim newer than what the mirrors agree on.
                match &x.image {
                    Some(ImageError::Fetch(e)) => Verdict::Final(
                        Status::Incomplete,
                        format!("claims version {v}, newer than {newest}, but its image could not be fetched: {e}"),
                    ),
                    Some(ImageError::Signature(e)) => Verdict::Final(
                        Status::Invalid,
                        format!("claims version {v}, newer than {newest}, but its image does not verify: {e}"),
                    ),
                    None => Verdict::Final(
                        Status::Incomplete,
                        format!("claims version {v} (unsigned), newer than the {newest} most mirrors claim; its image was not checked: unconfirmed"),
                    ),
                }
            } else if v < newest {
                Verdict::Final(Status::Stale, format!("version {v}, behind {newest}"))
            } else {
                Verdict::Latest
            }
        })
        .collect();
    let latest = latest_version.and_then(|lv| {
        (0..seen.len()).find(|i| {
            signed(*i).is_some_and(|x| {
                x.version.unwrap_or(0) == lv && (x.verified || by_version.is_empty())
            })
        })
    });
    Judged {
        latest,
        latest_equivocated,
        judgements,
        equivocations,
    }
}

/// Unordered content: what most mirrors serve counts as latest; a tie has no latest.
fn judge_by_majority(seen: &[Seen]) -> Judged {
    let mut counts: BTreeMap<&str, usize> = BTreeMap::new();
    for s in seen {
        if let Seen::Signed(x) = s {
            *counts.entry(&x.content).or_default() += 1;
        }
    }
    let total: usize = counts.values().sum();
    let top = counts.values().copied().max().unwrap_or(0);
    let leaders: Vec<&str> = counts
        .iter()
        .filter(|(_, n)| **n == top)
        .map(|(c, _)| *c)
        .collect();
    let winner = (leaders.len() == 1).then(|| leaders[0].to_owned());
    let judgements = seen
        .iter()
        .map(|s| {
            if let Some(v) = not_signed(s) {
                return v;
            }
            let Seen::Signed(x) = s else {
                return Verdict::Final(Status::Invalid, "unreachable".into());
            };
            match &winner {
                Some(w) if *w == x.content => Verdict::Latest,
                Some(_) => Verdict::Final(
                    Status::Stale,
                    format!(
                        "serves other signed content than the {top} of {total} mirrors that agree; the signature carries no version, so this may be older (or newer)"
                    ),
                ),
                None => Verdict::Final(
                    Status::Stale,
                    format!(
                        "mirrors are split evenly between {} signed contents and the signature carries no version: none can be called latest",
                        leaders.len()
                    ),
                ),
            }
        })
        .collect();
    let latest = winner.and_then(|w| {
        seen.iter()
            .position(|s| matches!(s, Seen::Signed(x) if x.content == w))
    });
    Judged {
        latest,
        latest_equivocated: false,
        judgements,
        equivocations: Vec::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn signed(version: Option<u64>, content: &str) -> Seen {
        Seen::Signed(Box::new(Signed {
            version,
            content: content.into(),
            signers: Vec::new(),
            artifacts: Vec::new(),
            note: Some(format!("note {content}")),
            pending: None,
            verified: true,
            image: None,
        }))
    }

    #[test]
    fn majority_decides_without_versions_and_a_tie_has_no_latest() {
        let j = judge_by_majority(&[signed(None, "a"), signed(None, "a"), signed(None, "b")]);
        assert_eq!(j.judgements[0], Verdict::Latest);
        assert!(matches!(j.judgements[2], Verdict::Final(Status::Stale, _)));
        let j = judge_by_majority(&[signed(None, "a"), signed(None, "b")]);
        assert!(j.latest.is_none());
        assert!(j.judgements.iter().all(|v| *v != Verdict::Latest));
    }

    #[test]
    fn tree_sizes_order_split_views_and_state() {
        let seen = [
            signed(Some(10), "r10"),
            signed(Some(12), "r12"),
            signed(Some(12), "x12"),
            signed(Some(11), "r11"),
        ];
        let j = judge_versioned(&seen, None, false);
        assert!(j.latest_equivocated);
        assert_eq!(j.equivocations.len(), 1);
        assert_eq!(j.equivocations[0].evidence(&seen).len(), 2);
        assert!(matches!(
            j.judgements[1],
            Verdict::Final(Status::Equivocating, _)
        ));
        assert!(matches!(j.judgements[0], Verdict::Final(Status::Stale, _)));

        let st = ChannelState {
            version: 11,
            payload_sha256: "r11".into(),
            updated: String::new(),
        };
        let j = judge_versioned(
            &[signed(Some(10), "r10"), signed(Some(11), "r11")],
            Some(&st),
            false,
        );
        assert!(matches!(
            j.judgements[0],
            Verdict::Final(Status::Rollback, _)
        ));
        assert_eq!(j.judgements[1], Verdict::Latest);
        let j = judge_versioned(&[signed(Some(11), "other")], Some(&st), false);
        assert!(j.equivocations[0].with_state);
    }

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
