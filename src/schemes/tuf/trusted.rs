//! The set of metadata a client trusts, and the rules for replacing each piece: the
//! specification's detailed client workflow (5.3 to 5.6), in the order and with the
//! intermediate states python-tuf's `TrustedMetadataSet` uses, since the conformance
//! suite observes them (what is kept on disk after each kind of failure).
//!
//! Metadata is loaded strictly in order root, timestamp, snapshot, targets, delegated
//! targets. A timestamp or snapshot is kept as *intermediate* even when it is expired (or,
//! for snapshot, not the version timestamp names): it still serves as the floor for
//! rollback checks of a newer one, but nothing after it can be loaded until a valid one
//! replaces it. Pure: no I/O, the clock is a parameter.

use std::collections::BTreeMap;

use super::TufError;
use super::metadata::{
    ROOT, Root, SNAPSHOT, Snapshot, TARGETS, TIMESTAMP, Targets, TimestampDoc, Unverified,
};
use crate::time::Timestamp;

/// A verified document with the exact bytes it came from.
#[derive(Debug, Clone)]
pub struct Trusted<T> {
    pub signed: T,
    pub bytes: Vec<u8>,
}

#[derive(Debug, Clone)]
pub struct TrustedSet {
    now: Timestamp,
    root: Trusted<Root>,
    timestamp: Option<Trusted<TimestampDoc>>,
    snapshot: Option<Trusted<Snapshot>>,
    /// The top-level targets role and delegated roles, by role name.
    targets: BTreeMap<String, Trusted<Targets>>,
}

/// What `update_timestamp` did with a good timestamp.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TimestampUpdate {
    /// A newer version is now trusted.
    New,
    /// Same version as the trusted one: the trusted one stays.
    Same,
}

impl TrustedSet {
    /// Trusts `root` because the caller does (a pinned or stored root), after checking it
    /// is signed by a threshold of its own root keys. Its expiry is checked only after
    /// the last rotation, as the specification says.
    pub fn new(root: Vec<u8>, now: Timestamp) -> Result<TrustedSet, TufError> {
        let doc = Unverified::parse(ROOT, &root)?;
        let signed = self_signed_root(&doc)?;
        Ok(TrustedSet {
            now,
            root: Trusted {
                signed,
                bytes: root,
            },
            timestamp: None,
            snapshot: None,
            targets: BTreeMap::new(),
        })
    }

    pub fn now(&self) -> Timestamp {
        self.now
    }

    pub fn root(&self) -> &Trusted<Root> {
        &self.root
    }

    pub fn timestamp(&self) -> Option<&Trusted<TimestampDoc>> {
        self.timestamp.as_ref()
    }

    pub fn snapshot(&self) -> Option<&Trusted<Snapshot>> {
        self.snapshot.as_ref()
    }

    pub fn targets(&self, role: &str) -> Option<&Trusted<Targets>> {
        self.targets.get(role)
    }

    /// Every targets role loaded so far, by name.
    pub fn all_targets(&self) -> &BTreeMap<String, Trusted<Targets>> {
        &self.targets
    }

    /// 5.3.4 to 5.3.8: root N+1 must be signed by a threshold of root N's root keys and
    /// of its own, and be version N+1 exactly. Its expiry is not checked here.
    pub fn update_root(&mut self, bytes: Vec<u8>) -> Result<(), TufError> {
        if self.timestamp.is_some() {
            return Err(TufError::Order("root after timestamp"));
        }
        let doc = Unverified::parse(ROOT, &bytes)?;
        let old = &self.root.signed;
        let role = old
            .role(ROOT)
            .ok_or(TufError::Order("root without a root role"))?;
        doc.verify(&old.keys, &role.keyids, role.threshold)?;
        let new: Root = doc.typed()?;
        let want = old.common.version.saturating_add(1);
        if new.common.version != want {
            return Err(TufError::BadVersion {
                role: ROOT.into(),
                expected: want,
                found: new.common.version,
            });
        }
        let new = self_signed_root(&doc)?;
        self.root = Trusted { signed: new, bytes };
        Ok(())
    }

    /// 5.4: a timestamp signed by the root's timestamp keys, no older than the trusted
    /// one and naming no older snapshot. Kept even when expired (then the error says so).
    pub fn update_timestamp(&mut self, bytes: Vec<u8>) -> Result<TimestampUpdate, TufError> {
        if self.snapshot.is_some() {
            return Err(TufError::Order("timestamp after snapshot"));
        }
        // 5.3.10: the final root must not be expired.
        let root = &self.root.signed;
        if root.common.is_expired(self.now) {
            return Err(TufError::Expired {
                role: ROOT.into(),
                expires: root.common.expires.clone(),
            });
        }
        let doc = Unverified::parse(TIMESTAMP, &bytes)?;
        let role = root
            .role(TIMESTAMP)
            .ok_or(TufError::Order("root without a timestamp role"))?;
        doc.verify(&root.keys, &role.keyids, role.threshold)?;
        let new: TimestampDoc = doc.typed()?;
        if let Some(old) = &self.timestamp {
            let (old_v, new_v) = (old.signed.common.version, new.common.version);
            if new_v < old_v {
                return Err(TufError::Rollback {
                    role: TIMESTAMP.into(),
                    trusted: old_v,
                    found: new_v,
                });
            }
            if new_v == old_v {
                return Ok(TimestampUpdate::Same);
            }
            let (old_s, new_s) = (
                old.signed.snapshot_meta().version,
                new.snapshot_meta().version,
            );
            if new_s < old_s {
                return Err(TufError::Rollback {
                    role: SNAPSHOT.into(),
                    trusted: old_s,
                    found: new_s,
                });
            }
        }
        self.timestamp = Some(Trusted { signed: new, bytes });
        self.check_final_timestamp()?;
        Ok(TimestampUpdate::New)
    }

    fn check_final_timestamp(&self) -> Result<(), TufError> {
        let ts = self
            .timestamp
            .as_ref()
            .ok_or(TufError::Order("no timestamp"))?;
        if ts.signed.common.is_expired(self.now) {
            return Err(TufError::Expired {
                role: TIMESTAMP.into(),
                expires: ts.signed.common.expires.clone(),
            });
        }
        Ok(())
    }

    /// 5.5: a snapshot matching timestamp's length and hashes (unless `stored`: bytes this
    /// client verified before, whose hashes a newer timestamp no longer lists), signed by
    /// the snapshot keys, dropping no targets role and rolling none back. Kept as
    /// intermediate when expired or not the version timestamp names.
    pub fn update_snapshot(&mut self, bytes: Vec<u8>, stored: bool) -> Result<(), TufError> {
        if self.timestamp.is_none() {
            return Err(TufError::Order("snapshot before timestamp"));
        }
        if !self.targets.is_empty() {
            return Err(TufError::Order("snapshot after targets"));
        }
        self.check_final_timestamp()?;
        let meta = self
            .timestamp
            .as_ref()
            .map(|t| t.signed.snapshot_meta().clone())
            .ok_or(TufError::Order("no timestamp"))?;
        if !stored {
            meta.verify(&bytes)
                .map_err(|reason| TufError::LengthOrHash {
                    what: "snapshot.json".into(),
                    reason,
                })?;
        }
        let root = &self.root.signed;
        let doc = Unverified::parse(SNAPSHOT, &bytes)?;
        let role = root
            .role(SNAPSHOT)
            .ok_or(TufError::Order("root without a snapshot role"))?;
        doc.verify(&root.keys, &role.keyids, role.threshold)?;
        let new: Snapshot = doc.typed()?;
        if let Some(old) = &self.snapshot {
            for (name, info) in &old.signed.meta {
                let Some(now) = new.meta.get(name) else {
                    return Err(TufError::Removed { file: name.clone() });
                };
                if now.version < info.version {
                    return Err(TufError::Rollback {
                        role: name.trim_end_matches(".json").to_owned(),
                        trusted: info.version,
                        found: now.version,
                    });
                }
            }
        }
        self.snapshot = Some(Trusted { signed: new, bytes });
        self.check_final_snapshot()
    }

    fn check_final_snapshot(&self) -> Result<(), TufError> {
        let (Some(snap), Some(ts)) = (&self.snapshot, &self.timestamp) else {
            return Err(TufError::Order("no snapshot"));
        };
        if snap.signed.common.is_expired(self.now) {
            return Err(TufError::Expired {
                role: SNAPSHOT.into(),
                expires: snap.signed.common.expires.clone(),
            });
        }
        let want = ts.signed.snapshot_meta().version;
        if snap.signed.common.version != want {
            return Err(TufError::BadVersion {
                role: SNAPSHOT.into(),
                expected: want,
                found: snap.signed.common.version,
            });
        }
        Ok(())
    }

    /// 5.6 and 5.7: a targets role as snapshot lists it (version, and length and hashes
    /// where given), signed by the keys its delegator names, not expired.
    pub fn update_targets(
        &mut self,
        bytes: Vec<u8>,
        role: &str,
        delegator: &str,
    ) -> Result<(), TufError> {
        self.check_final_snapshot()?;
        let meta = self
            .snapshot
            .as_ref()
            .and_then(|s| s.signed.meta.get(&format!("{role}.json")))
            .cloned()
            .ok_or_else(|| TufError::NotInSnapshot(role.to_owned()))?;
        meta.verify(&bytes)
            .map_err(|reason| TufError::LengthOrHash {
                what: format!("{role}.json"),
                reason,
            })?;
        let doc = Unverified::parse(role, &bytes)?;
        if delegator == ROOT {
            let root = &self.root.signed;
            let keys = root
                .role(TARGETS)
                .ok_or(TufError::Order("root without a targets role"))?;
            doc.verify(&root.keys, &keys.keyids, keys.threshold)?;
        } else {
            let parent = self
                .targets
                .get(delegator)
                .ok_or(TufError::Order("delegated role before its delegator"))?;
            let delegations = parent
                .signed
                .delegations
                .as_ref()
                .ok_or(TufError::Order("delegator without delegations"))?;
            let (keyids, threshold) = delegations
                .role_keys(role)
                .ok_or(TufError::Order("role not delegated by its delegator"))?;
            doc.verify(&delegations.keys, keyids, threshold)?;
        }
        let new: Targets = doc.typed()?;
        if new.common.version != meta.version {
            return Err(TufError::BadVersion {
                role: role.to_owned(),
                expected: meta.version,
                found: new.common.version,
            });
        }
        if new.common.is_expired(self.now) {
            return Err(TufError::Expired {
                role: role.to_owned(),
                expires: new.common.expires.clone(),
            });
        }
        self.targets
            .insert(role.to_owned(), Trusted { signed: new, bytes });
        Ok(())
    }
}

/// A root's own threshold of root keys over it.
fn self_signed_root(doc: &Unverified<'_>) -> Result<Root, TufError> {
    // The keys to check with come from the document itself: read them only to verify,
    // and believe nothing else until the threshold is met.
    let root: Root = doc.typed()?;
    let role = root
        .role(ROOT)
        .ok_or(TufError::Order("root without a root role"))?;
    doc.verify(&root.keys, &role.keyids, role.threshold)?;
    Ok(root)
}

/// Whether the keys or threshold of `role` differ between two roots (5.3.11).
pub fn rotated(old: &Root, new: &Root, role: &str) -> bool {
    old.role_fingerprint(role) != new.role_fingerprint(role)
}
