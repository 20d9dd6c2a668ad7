//! The root document: which keys may sign what, and how trust moves from one root to the
//! next. Trust starts at the root the user pinned and only ever moves forward one version at
//! a time, each step signed by both the old and the new root keys.

use std::collections::{BTreeMap, BTreeSet};

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::envelope::{Envelope, EnvelopeError, ROOT_TYPE};
use crate::keys::{KeyError, KeyId, PublicKey};
use crate::time::{self, Timestamp};

#[derive(Debug, thiserror::Error)]
pub enum RootError {
    #[error(transparent)]
    Envelope(#[from] EnvelopeError),
    #[error("root payload is not valid JSON for a root document: {0}")]
    Json(String),
    #[error("root document: {0}")]
    Invalid(String),
    #[error("root key {keyid}: {source}")]
    Key {
        keyid: String,
        #[source]
        source: KeyError,
    },
    #[error("root version {found} where {expected} was expected")]
    Version { expected: u64, found: u64 },
    #[error("root for project {found:?} where {expected:?} was expected")]
    Project { expected: String, found: String },
    #[error("not signed by the previous root: {0}")]
    PreviousThreshold(EnvelopeError),
    #[error("not signed by its own root keys: {0}")]
    OwnThreshold(EnvelopeError),
}

#[derive(Serialize, Deserialize)]
pub struct RootDoc {
    #[serde(rename = "type")]
    pub kind: String,
    pub spec_version: u64,
    pub project: String,
    pub version: u64,
    pub expires: String,
    pub keys: BTreeMap<String, KeyDoc>,
    pub roles: BTreeMap<String, RoleDoc>,
}

#[derive(Serialize, Deserialize)]
pub struct KeyDoc {
    pub keytype: String,
    pub public: String,
}

#[derive(Serialize, Deserialize)]
pub struct RoleDoc {
    pub keyids: Vec<String>,
    pub threshold: u64,
}

#[derive(Debug, Clone)]
pub struct Role {
    pub keyids: Vec<KeyId>,
    pub threshold: usize,
}

/// A root document whose structure was validated (signatures are checked by the callers
/// that produce a [`TrustedRoot`]).
#[derive(Debug, Clone)]
pub struct Root {
    pub project: String,
    pub version: u64,
    pub expires: Timestamp,
    pub keys: BTreeMap<KeyId, PublicKey>,
    pub root_role: Role,
    pub release_role: Role,
}

/// A root that the chain of trust reached: the pinned one, or a verified rotation of it.
#[derive(Debug, Clone)]
pub struct TrustedRoot {
    pub root: Root,
    pub payload_sha256: String,
    pub envelope: Envelope,
}

impl Root {
    pub fn parse(payload: &[u8]) -> Result<Root, RootError> {
        let doc: RootDoc = crate::json::from_slice_strict(payload).map_err(RootError::Json)?;
        Root::from_doc(doc)
    }

    fn from_doc(doc: RootDoc) -> Result<Root, RootError> {
        let invalid = |s: String| RootError::Invalid(s);
        if doc.kind != "root" {
            return Err(invalid(format!("type is {:?}, not \"root\"", doc.kind)));
        }
        if doc.spec_version != 1 {
            return Err(invalid(format!(
                "spec_version {} is not supported",
                doc.spec_version
            )));
        }
        if doc.version < 1 {
            return Err(invalid("version must be at least 1".into()));
        }
        let expires = time::parse(&doc.expires).map_err(|e| invalid(format!("expires: {e}")))?;
        let mut keys = BTreeMap::new();
        for (keyid, k) in &doc.keys {
            if k.keytype != "ed25519" {
                return Err(invalid(format!(
                    "key {keyid}: keytype {:?} is not ed25519",
                    k.keytype
                )));
            }
            let key = PublicKey::from_hex(&k.public).map_err(|source| RootError::Key {
                keyid: keyid.clone(),
                source,
            })?;
            if key.id().as_str() != keyid {
                return Err(RootError::Key {
                    keyid: keyid.clone(),
                    source: KeyError::KeyIdMismatch(keyid.clone()),
                });
            }
            keys.insert(key.id().clone(), key);
        }
        let role = |name: &str| -> Result<Role, RootError> {
            let r = doc
                .roles
                .get(name)
                .ok_or_else(|| invalid(format!("role {name:?} is missing")))?;
            let mut seen = BTreeSet::new();
            for id in &r.keyids {
                if !seen.insert(id) {
                    return Err(invalid(format!("role {name:?} lists key {id} twice")));
                }
                if !keys.contains_key(&KeyId::from_untrusted(id)) {
                    return Err(invalid(format!(
                        "role {name:?} lists key {id}, which is not in keys"
                    )));
                }
            }
            if r.threshold < 1 || r.threshold > r.keyids.len() as u64 {
                return Err(invalid(format!(
                    "role {name:?} has threshold {} for {} key(s)",
                    r.threshold,
                    r.keyids.len()
                )));
            }
            Ok(Role {
                keyids: r.keyids.iter().map(|s| KeyId::from_untrusted(s)).collect(),
                threshold: r.threshold as usize,
            })
        };
        let root_role = role("root")?;
        let release_role = role("release")?;
        Ok(Root {
            project: doc.project,
            version: doc.version,
            expires,
            keys,
            root_role,
            release_role,
        })
    }

    /// The public keys of a role, for envelope verification.
    pub fn role_keys(&self, role: &Role) -> Vec<&PublicKey> {
        role.keyids
            .iter()
            .filter_map(|id| self.keys.get(id))
            .collect()
    }

    pub fn verify_as_root(
        &self,
        env: &Envelope,
    ) -> Result<crate::envelope::Verified, EnvelopeError> {
        env.verify(
            ROOT_TYPE,
            &self.role_keys(&self.root_role),
            self.root_role.threshold,
        )
    }

    pub fn is_expired(&self, now: Timestamp) -> bool {
        now >= self.expires
    }
}

impl TrustedRoot {
    /// Trusts a root the user pinned, after checking it meets its own root threshold.
    pub fn from_pinned(bytes: &[u8], limit: u64) -> Result<TrustedRoot, RootError> {
        let envelope = Envelope::parse(bytes, limit)?;
        if envelope.payload_type != ROOT_TYPE {
            return Err(EnvelopeError::WrongType {
                expected: ROOT_TYPE.into(),
                found: envelope.payload_type.chars().take(80).collect(),
            }
            .into());
        }
        // A pinned root is trusted by the user's choice; its keys are known only from
        // inside the payload, which is why this is the one place a payload is read first.
        let root = Root::parse(&envelope.payload_bytes()?)?;
        let verified = root
            .verify_as_root(&envelope)
            .map_err(RootError::OwnThreshold)?;
        Ok(TrustedRoot {
            root,
            payload_sha256: hex::encode(Sha256::digest(&verified.payload)),
            envelope,
        })
    }

    /// Accepts root N+1 only if root N's root role AND its own root role signed it.
    pub fn rotate(&self, bytes: &[u8], limit: u64) -> Result<TrustedRoot, RootError> {
        let envelope = Envelope::parse(bytes, limit)?;
        let verified = self
            .root
            .verify_as_root(&envelope)
            .map_err(RootError::PreviousThreshold)?;
        let next = Root::parse(&verified.payload)?;
        let expected =
            self.root.version.checked_add(1).ok_or_else(|| {
                RootError::Invalid("no root version can follow the maximum".into())
            })?;
        if next.version != expected {
            return Err(RootError::Version {
                expected,
                found: next.version,
            });
        }
        if next.project != self.root.project {
            return Err(RootError::Project {
                expected: self.root.project.clone(),
                found: next.project,
            });
        }
        next.verify_as_root(&envelope)
            .map_err(RootError::OwnThreshold)?;
        Ok(TrustedRoot {
            root: next,
            payload_sha256: hex::encode(Sha256::digest(&verified.payload)),
            envelope,
        })
    }
}
