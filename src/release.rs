//! The release document: what a channel's latest release is and the exact bytes of each
//! artifact. Parsed only from a payload whose signatures already met the release threshold.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::time::{self, Timestamp};

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum ReleaseError {
    #[error("release payload is not valid JSON for a release document: {0}")]
    Json(String),
    #[error("release document: {0}")]
    Invalid(String),
    #[error("release is for project {found:?}, not {expected:?}")]
    Project { expected: String, found: String },
    #[error("release is for channel {found:?}, not {expected:?}")]
    Channel { expected: String, found: String },
    #[error("artifact name {0:?} is not a safe relative path")]
    ArtifactName(String),
    #[error("artifact {name:?}: {reason}")]
    Artifact { name: String, reason: String },
}

#[derive(Serialize, Deserialize)]
pub struct ReleaseDoc {
    #[serde(rename = "type")]
    pub kind: String,
    pub spec_version: u64,
    pub project: String,
    pub channel: String,
    pub version: u64,
    pub published: String,
    pub expires: String,
    pub artifacts: BTreeMap<String, ArtifactDoc>,
}

#[derive(Serialize, Deserialize, Clone)]
pub struct ArtifactDoc {
    pub length: u64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sha256: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sha512: Option<String>,
}

/// One digest the signed document lists for an artifact.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Expected {
    Sha256([u8; 32]),
    Sha512([u8; 64]),
}

impl Expected {
    /// The name reports use for the algorithm, as the release document spells it.
    pub fn algorithm(&self) -> &'static str {
        match self {
            Expected::Sha256(_) => "sha256",
            Expected::Sha512(_) => "sha512",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Artifact {
    pub name: String,
    /// The signed length; when `length_signed` is false (checksum lists sign no length) an
    /// upper bound on what is read instead.
    pub length: u64,
    pub length_signed: bool,
    /// Every digest listed for the artifact, never empty, all of them checked over the same
    /// bytes. Accepting any one of them would let a mirror choose which hash judges it, and
    /// a second download to try another would let it serve other bytes the second time.
    pub digests: Vec<Expected>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Release {
    pub project: String,
    pub channel: String,
    pub version: u64,
    pub published: Timestamp,
    pub expires: Timestamp,
    pub artifacts: Vec<Artifact>,
}

impl Release {
    /// Parses a verified payload and checks type, project and channel. Expiry is left to
    /// the caller, because an expired release is a distinct verdict, not a parse failure.
    pub fn parse(payload: &[u8], project: &str, channel: &str) -> Result<Release, ReleaseError> {
        let doc: ReleaseDoc =
            crate::json::from_slice_strict(payload).map_err(ReleaseError::Json)?;
        let invalid = |s: String| ReleaseError::Invalid(s);
        if doc.kind != "release" {
            return Err(invalid(format!(
                "type is {:?}, not \"release\"",
                short(&doc.kind)
            )));
        }
        if doc.spec_version != 1 {
            return Err(invalid(format!(
                "spec_version {} is not supported",
                doc.spec_version
            )));
        }
        if doc.project != project {
            return Err(ReleaseError::Project {
                expected: project.into(),
                found: short(&doc.project),
            });
        }
        if doc.channel != channel {
            return Err(ReleaseError::Channel {
                expected: channel.into(),
                found: short(&doc.channel),
            });
        }
        let published =
            time::parse(&doc.published).map_err(|e| invalid(format!("published: {e}")))?;
        let expires = time::parse(&doc.expires).map_err(|e| invalid(format!("expires: {e}")))?;
        let mut artifacts = Vec::with_capacity(doc.artifacts.len());
        for (name, a) in doc.artifacts {
            check_artifact_name(&name)?;
            let digests = listed_digests(&name, &a)?;
            artifacts.push(Artifact {
                name,
                length: a.length,
                length_signed: true,
                digests,
            });
        }
        Ok(Release {
            project: doc.project,
            channel: doc.channel,
            version: doc.version,
            published,
            expires,
            artifacts,
        })
    }

    pub fn is_expired(&self, now: Timestamp) -> bool {
        now >= self.expires
    }
}

fn short(s: &str) -> String {
    s.chars().take(64).collect()
}

fn listed_digests(name: &str, a: &ArtifactDoc) -> Result<Vec<Expected>, ReleaseError> {
    let bad = |reason: &str| ReleaseError::Artifact {
        name: name.to_owned(),
        reason: reason.to_owned(),
    };
    let sha256 = a
        .sha256
        .as_deref()
        .map(|h| decode_hex::<32>(h).ok_or_else(|| bad("sha256 is not 64 lowercase hex")))
        .transpose()?;
    let sha512 = a
        .sha512
        .as_deref()
        .map(|h| decode_hex::<64>(h).ok_or_else(|| bad("sha512 is not 128 lowercase hex")))
        .transpose()?;
    let digests: Vec<Expected> = sha256
        .map(Expected::Sha256)
        .into_iter()
        .chain(sha512.map(Expected::Sha512))
        .collect();
    if digests.is_empty() {
        return Err(bad("lists neither sha256 nor sha512"));
    }
    Ok(digests)
}

fn decode_hex<const N: usize>(s: &str) -> Option<[u8; N]> {
    if s.len() != 2 * N || s.bytes().any(|b| b.is_ascii_uppercase()) {
        return None;
    }
    hex::decode(s).ok()?.try_into().ok()
}

/// Artifact names become paths on mirrors and on users' disks, so anything that could
/// escape a directory or confuse a filesystem rejects the whole document.
pub fn check_artifact_name(name: &str) -> Result<(), ReleaseError> {
    let bad = || ReleaseError::ArtifactName(name.chars().take(100).collect());
    if name.is_empty() || name.starts_with('/') || name.contains('\\') {
        return Err(bad());
    }
    if name.chars().any(|c| c.is_control()) {
        return Err(bad());
    }
    if name
        .split('/')
        .any(|seg| seg.is_empty() || seg == "." || seg == "..")
    {
        return Err(bad());
    }
    Ok(())
}

/// Channels become a path segment on every mirror (`C/release.json`).
pub fn check_channel_name(channel: &str) -> Result<(), ReleaseError> {
    let ok = !channel.is_empty()
        && channel != "."
        && channel != ".."
        && channel
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'.' || b == b'_' || b == b'-');
    if ok {
        Ok(())
    } else {
        Err(ReleaseError::Invalid(format!(
            "channel {:?} must be letters, digits, '.', '_' or '-'",
            short(channel)
        )))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_listed_digest_is_kept_sha256_first() {
        let doc = |a: &str| {
            format!(
                r#"{{"type":"release","spec_version":1,"project":"p","channel":"c","version":1,
                "published":"2026-11-22T10:00:00Z","expires":"2026-12-22T10:00:00Z",
                "artifacts":{{"a":{a}}}}}"#
            )
        };
        let (h256, h512) = ("1".repeat(64), "2".repeat(128));
        let both = format!(r#"{{"length":1,"sha512":"{h512}","sha256":"{h256}"}}"#);
        let r = Release::parse(doc(&both).as_bytes(), "p", "c").unwrap();
        assert_eq!(
            r.artifacts[0].digests,
            [Expected::Sha256([0x11; 32]), Expected::Sha512([0x22; 64])]
        );
        let one = format!(r#"{{"length":1,"sha512":"{h512}"}}"#);
        let r = Release::parse(doc(&one).as_bytes(), "p", "c").unwrap();
        assert_eq!(r.artifacts[0].digests, [Expected::Sha512([0x22; 64])]);
        assert!(Release::parse(doc(r#"{"length":1}"#).as_bytes(), "p", "c").is_err());
    }

    #[test]
    fn artifact_name_rules() {
        for ok in ["a.zip", "dir/a.zip", "a..b", ".hidden", "x/y/z"] {
            assert!(check_artifact_name(ok).is_ok(), "{ok}");
        }
        for bad in [
            "", "/abs", "a//b", "a/", "./a", "a/./b", "../a", "a/..", "a\\b", "a\0b", "a\nb",
            "a\u{7f}b",
        ] {
            assert!(check_artifact_name(bad).is_err(), "{bad:?}");
        }
    }
}
