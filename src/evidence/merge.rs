//! `mirrorproof merge`: evidence bundles written on several machines (CI runners in several
//! regions, auditors in several countries), each one or more vantages, joined into one run.
//!
//! Nothing a bundle says about verdicts is read: its `report.json` is ignored, and every
//! document its mirrors served is verified again, here, under the pinned trust, by the same
//! pipeline as `check` (each bundle's directories become entries labelled with their
//! vantage). What a bundle can only claim (which mirror and vantage served a file, that an
//! entry served nothing) is taken as its claim and shown as such; it can hide a mirror or
//! show one in a bad light, never make a forged document pass. Bundles must pin the same
//! trust, byte for byte, and describe the same stream: anything else is refused.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use crate::envelope::Envelope;
use crate::fsutil::read_below;
use crate::profile::{Location, MAX_PROFILE_BYTES, Profile, ProfileError};
use crate::report::DIRECT;
use crate::vantage::{Kind, MAX_VANTAGES, VantageSpec};

/// Bundles one merge joins at most.
pub const MAX_BUNDLES: usize = 256;
/// Entries one merge judges at most, over all bundles: what a merge holds in memory
/// follows this, not what bundles choose to list.
pub const MAX_ENTRIES: usize = 100_000;
/// The pinned trust files are small (a root, a key); this bounds reading them.
const MAX_TRUST_BYTES: u64 = 8 * 1024 * 1024;

#[derive(Debug, thiserror::Error)]
pub enum MergeError {
    #[error("no evidence bundles to merge")]
    Empty,
    #[error("more than {MAX_BUNDLES} bundles")]
    TooMany,
    #[error("the bundles list more than {MAX_ENTRIES} entries together")]
    TooManyEntries,
    #[error("bundle {dir}: {reason}")]
    Bundle { dir: String, reason: String },
    #[error(
        "bundles {first} and {second} both have a vantage named {name} once merged: refusing to mix their observations (rename the vantage)"
    )]
    VantageClash {
        name: String,
        first: String,
        second: String,
    },
    #[error("cannot read the pinned trust {path} of --profile: {reason}")]
    PinnedTrust { path: String, reason: String },
    #[error("bundle {dir} is pinned to other trust than {first} ({what}): refusing to merge")]
    DifferentTrust {
        dir: String,
        first: String,
        what: String,
    },
}

/// The bundles as one profile: their pinned trust (the same in all), every entry of every
/// bundle labelled with its vantage, and those vantages.
#[derive(Debug, Clone)]
pub struct Merged {
    pub profile: Profile,
    /// The vantages of all bundles, renamed `NAME@BUNDLE` where two bundles use one name
    /// (two machines' `direct` are two vantages).
    pub vantages: Vec<VantageSpec>,
}

struct Bundle {
    dir: PathBuf,
    label: String,
    profile: Profile,
    trust: Vec<u8>,
    /// The vantage names its entries use (see [`bundle_vantage_names`]), found once: each
    /// search goes over every entry, and a bundle may list tens of thousands.
    names: Vec<String>,
}

/// Reads every bundle's profile and pinned trust (never following a link out of the
/// bundle), checks that they agree with each other and, when given, with `pin` (the
/// caller's own profile, whose trust then decides), and builds the merged profile.
pub fn load(dirs: &[PathBuf], pin: Option<&Profile>) -> Result<Merged, MergeError> {
    if dirs.is_empty() {
        return Err(MergeError::Empty);
    }
    if dirs.len() > MAX_BUNDLES {
        return Err(MergeError::TooMany);
    }
    let mut bundles = Vec::new();
    let mut labels = BTreeSet::new();
    for dir in dirs {
        let mut b = read_bundle(dir)?;
        // One run has at most MAX_VANTAGES vantages, so its bundle names no more. More
        // names would make a matrix no run could have made, whose judging takes time in
        // the product of vantages and entries.
        let named = b.names.len();
        if named > MAX_VANTAGES {
            return Err(MergeError::Bundle {
                dir: dir.display().to_string(),
                reason: format!(
                    "its entries name {named} vantages; a run has at most {MAX_VANTAGES} vantages"
                ),
            });
        }
        // Unique, short, and plain enough for a vantage name.
        let mut label = b.label.clone();
        let mut n = 2;
        while !labels.insert(label.clone()) {
            label = format!("{}-{n}", b.label);
            n += 1;
        }
        b.label = label;
        bundles.push(b);
    }
    let first = &bundles[0];
    let pinned = match pin {
        Some(p) => {
            let bytes = read_trust_file(&p.root).map_err(|reason| MergeError::PinnedTrust {
                path: p.root.display().to_string(),
                reason,
            })?;
            Some((
                p.clone(),
                as_kept(p, bytes),
                format!("the profile's {}", p.root.display()),
            ))
        }
        None => None,
    };
    let (reference, reference_trust, reference_name) = match &pinned {
        Some((p, bytes, name)) => (p, bytes, name.clone()),
        None => (
            &first.profile,
            &first.trust,
            first.dir.display().to_string(),
        ),
    };
    for b in &bundles {
        let differs = |what: &str| MergeError::DifferentTrust {
            dir: b.dir.display().to_string(),
            first: reference_name.clone(),
            what: what.to_owned(),
        };
        if b.trust != *reference_trust {
            return Err(differs("pinned root or key"));
        }
        if b.profile.scheme != reference.scheme {
            return Err(differs("scheme"));
        }
        if b.profile.signed != reference.signed {
            return Err(differs("signed file settings"));
        }
        if pin.is_none() && b.profile.name != reference.name {
            return Err(differs("profile name"));
        }
        if b.profile.channel != reference.channel {
            return Err(differs("channel"));
        }
        // A TUF run checks the targets its profile names: with others, the merged run
        // would judge this bundle's metadata by the first bundle's list (a target its own
        // run found missing would pass, or the reverse).
        let targets = |p: &Profile| p.tuf.as_ref().map(|t| t.targets.clone());
        if targets(&b.profile) != targets(reference) {
            return Err(differs("TUF targets"));
        }
    }

    // A vantage name used by more than one bundle is two vantages: say whose.
    let mut used_by: BTreeMap<&str, usize> = BTreeMap::new();
    for b in &bundles {
        for name in &b.names {
            *used_by.entry(name.as_str()).or_default() += 1;
        }
    }
    let rename = |b: &Bundle, name: &str| -> String {
        if used_by.get(name).copied().unwrap_or(0) > 1 {
            format!("{name}@{}", b.label)
        } else {
            name.to_owned()
        }
    };
    let mut vantages = Vec::new();
    let mut mirrors = Vec::new();
    // Which bundle each name of the merge belongs to. Renaming alone does not make names
    // unique: a bundle may itself call a vantage `direct@runner-b`, the name another
    // bundle's `direct` gets here, and its entries would then be judged as that runner's
    // (one column holding two machines' views, each mirror twice).
    let mut owner: BTreeMap<String, &Path> = BTreeMap::new();
    for b in &bundles {
        for name in &b.names {
            let mut spec = b
                .profile
                .vantages
                .iter()
                .find(|v| v.name == *name)
                .cloned()
                .unwrap_or_else(|| VantageSpec {
                    name: name.clone(),
                    kind: Kind::Direct,
                    proxy: None,
                    country: crate::profile::UNKNOWN_COUNTRY.into(),
                });
            spec.name = rename(b, name);
            if let Some(other) = owner.insert(spec.name.clone(), &b.dir) {
                return Err(MergeError::VantageClash {
                    name: crate::text::shown(&spec.name).into_owned(),
                    first: other.display().to_string(),
                    second: b.dir.display().to_string(),
                });
            }
            vantages.push(spec);
        }
        for m in &b.profile.mirrors {
            let mut m = m.clone();
            let v = m.vantage.clone().unwrap_or_else(|| DIRECT.to_owned());
            m.vantage = Some(rename(b, &v));
            mirrors.push(m);
            if mirrors.len() > MAX_ENTRIES {
                return Err(MergeError::TooManyEntries);
            }
        }
    }
    let mut profile = first.profile.clone();
    if let Some((p, _, _)) = &pinned {
        profile.name = p.name.clone();
    }
    profile.mirrors = mirrors;
    profile.vantages = vantages.clone();
    Ok(Merged { profile, vantages })
}

/// The vantage names a bundle's entries use, in the order the bundle lists them.
fn bundle_vantage_names(profile: &Profile) -> Vec<String> {
    let mut names: Vec<String> = profile.vantages.iter().map(|v| v.name.clone()).collect();
    // A set beside the list: a bundle may list tens of thousands of entries.
    let mut seen: BTreeSet<&str> = names.iter().map(String::as_str).collect();
    let mut more = Vec::new();
    for m in &profile.mirrors {
        let v = m.vantage.as_deref().unwrap_or(DIRECT);
        if seen.insert(v) {
            more.push(v.to_owned());
        }
    }
    names.extend(more);
    names
}

fn read_bundle(dir: &Path) -> Result<Bundle, MergeError> {
    let bad = |reason: String| MergeError::Bundle {
        dir: dir.display().to_string(),
        reason,
    };
    let bytes = read_below(dir, "profile.toml", MAX_PROFILE_BYTES)
        .map_err(|e| bad(format!("profile.toml: {e} (is this an evidence bundle?)")))?;
    let text = std::str::from_utf8(&bytes).map_err(|_| bad("profile.toml is not UTF-8".into()))?;
    // The bundle is already named: say what in its profile.toml is wrong, without the
    // empty file name `Profile::parse` leaves for its caller to fill.
    let profile = Profile::parse(text, dir).map_err(|e| {
        bad(match e {
            ProfileError::Parse { reason, .. } => format!("profile.toml: {reason}"),
            ProfileError::Tuf { error, .. } => format!("profile.toml: {error}"),
            other => format!("profile.toml: {other}"),
        })
    })?;
    // The pinned trust must be the bundle's own file, not a path out of it.
    let rel = profile
        .root
        .strip_prefix(dir)
        .ok()
        .and_then(|r| r.to_str())
        .filter(|r| !r.split('/').any(|c| c == ".." || c.is_empty()))
        .ok_or_else(|| {
            bad(format!(
                "its pinned trust {} is not a file inside the bundle",
                crate::text::shown(&profile.root.display().to_string())
            ))
        })?
        .to_owned();
    let trust = read_below(dir, &rel, MAX_TRUST_BYTES).map_err(|e| bad(format!("{rel}: {e}")))?;
    let trust = as_kept(&profile, trust);
    for m in &profile.mirrors {
        let inside = match &m.location {
            Location::Dir(d) if !d.components().any(|c| c == std::path::Component::ParentDir) => {
                d.strip_prefix(dir).ok()
            }
            _ => None,
        };
        let Some(rel) = inside else {
            let at = match &m.location {
                Location::Dir(d) => d.display().to_string(),
                Location::Http(u) => u.to_string(),
            };
            return Err(bad(format!(
                "entry {} is read from {}, not from a directory inside the bundle",
                crate::text::shown(&m.url),
                crate::text::shown(&at)
            )));
        };
        no_link_on_the_way(dir, rel)
            .map_err(|reason| bad(format!("entry {}: {reason}", crate::text::shown(&m.url))))?;
    }
    let label = dir
        .file_name()
        .and_then(|n| n.to_str())
        .map(|n| {
            n.chars()
                .filter(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
                .take(32)
                .collect::<String>()
        })
        .filter(|n| !n.is_empty())
        .unwrap_or_else(|| "bundle".to_owned());
    Ok(Bundle {
        dir: dir.to_path_buf(),
        label,
        names: bundle_vantage_names(&profile),
        profile,
        trust,
    })
}

/// Files below an entry's directory are read without following links (`fsutil::open_below`),
/// but the directory itself is opened as named: a bundle whose `mirrors/0000` is a link
/// would have this machine's own files (a local mirror, anything readable) judged as if a
/// mirror had served them through the bundle's vantage. So every directory from the
/// bundle down to the entry must be a real one. A part that does not exist is left to the
/// run (an entry that served nothing has no directory). Checked once here: a bundle is
/// someone else's files at rest, not a directory another user changes while we merge.
fn no_link_on_the_way(dir: &Path, rel: &Path) -> Result<(), String> {
    let mut at = dir.to_path_buf();
    for part in rel.components() {
        at.push(part);
        match std::fs::symlink_metadata(&at) {
            Ok(meta) if meta.file_type().is_symlink() => {
                return Err(format!(
                    "{} is a symbolic link; a bundle is read only through its own directories",
                    crate::text::shown(&at.display().to_string())
                ));
            }
            Ok(meta) if !meta.is_dir() => {
                return Err(format!(
                    "{} is not a directory",
                    crate::text::shown(&at.display().to_string())
                ));
            }
            Ok(_) => {}
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
            Err(e) => return Err(e.to_string()),
        }
    }
    Ok(())
}

/// The pinned trust as a bundle keeps it, so that the same trust compares equal however its
/// file was written: a native bundle keeps the pinned root re-serialised
/// (`Envelope::to_json_bytes` in `EvidenceDir::finish_native`), so a user's root file in
/// another layout (compact JSON, no final newline, another tool's indentation) would
/// otherwise never match their own bundles. The other schemes keep the file as read, and
/// are compared so. Bytes that do not parse are left as they are (and then differ, or fail
/// when the run loads them).
fn as_kept(profile: &Profile, bytes: Vec<u8>) -> Vec<u8> {
    if profile.scheme == "native"
        && profile.signed.is_none()
        && let Ok(envelope) = Envelope::parse(&bytes, MAX_TRUST_BYTES)
    {
        return envelope.to_json_bytes();
    }
    bytes
}

fn read_trust_file(path: &Path) -> Result<Vec<u8>, String> {
    crate::fsutil::read_limited(path, MAX_TRUST_BYTES).map_err(|e| e.to_string())
}
