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
use std::sync::Arc;

use super::TufError;
use super::cache::{self, VerifyCache};
use super::metadata::{
    ROOT, Root, SNAPSHOT, Signed, Snapshot, TARGETS, TIMESTAMP, Targets, TimestampDoc, Unverified,
};
use crate::time::Timestamp;

/// A verified document with the exact bytes it came from.
#[derive(Debug, Clone)]
pub struct Trusted<T> {
    /// Shared with other mirrors' sets when a [`VerifyCache`] verified it once for all.
    pub signed: Arc<T>,
    pub bytes: Vec<u8>,
    /// SHA-256 of `bytes`: what the documents it delegates to are cached under.
    pub sha256: [u8; 32],
    /// SHA-256 of the canonical `signed` part, taken when it was verified.
    pub signed_sha256: [u8; 32],
}

/// What the client accepted of one document, without its bytes: what identifies it (the
/// bytes served, the content signed) and what orders and ends it. Taken from the verified
/// document, so nothing is parsed twice.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Accepted {
    pub role: String,
    pub version: u64,
    /// As written in the document (`YYYY-MM-DDTHH:MM:SSZ`).
    pub expires: String,
    pub expires_at: Timestamp,
    pub sha256: [u8; 32],
    /// SHA-256 of the canonical bytes of `signed`, what the keys signed: two mirrors
    /// serving one signed document with other signature encodings (ECDSA signatures are
    /// malleable, and high S is accepted) or other whitespace hold the same document.
    pub signed_sha256: [u8; 32],
}

impl<T: Signed> Trusted<T> {
    pub fn accepted(&self, role: &str) -> Accepted {
        let c = self.signed.common();
        Accepted {
            role: role.to_owned(),
            version: c.version,
            expires: c.expires.clone(),
            expires_at: c.expires_at(),
            sha256: self.sha256,
            signed_sha256: self.signed_sha256,
        }
    }
}

/// A verified document, the SHA-256 of its bytes and of its canonical signed part.
type Verified<T> = (Arc<T>, [u8; 32], [u8; 32]);

#[derive(Debug, Clone)]
pub struct TrustedSet {
    now: Timestamp,
    root: Trusted<Root>,
    timestamp: Option<Trusted<TimestampDoc>>,
    snapshot: Option<Trusted<Snapshot>>,
    /// The top-level targets role and delegated roles, by role name.
    targets: BTreeMap<String, Trusted<Targets>>,
    /// Verifications shared with other walks of the same run, if any.
    cache: Option<Arc<VerifyCache>>,
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
        let signed = Arc::new(self_signed_root(&doc)?);
        let signed_sha256 = doc.signed_sha256();
        let sha256 = cache::digest(&root);
        Ok(TrustedSet {
            now,
            root: Trusted {
                signed,
                bytes: root,
                sha256,
                signed_sha256,
            },
            timestamp: None,
            snapshot: None,
            targets: BTreeMap::new(),
            cache: None,
        })
    }

    /// Shares the verification of every document from now on with the other sets using
    /// `cache` (the walks of one run): only checks that are a pure function of the
    /// document's bytes, its delegator's bytes and its role name are shared.
    pub fn share_verifications(&mut self, cache: Arc<VerifyCache>) {
        self.cache = Some(cache);
    }

    /// `verify`'s result for `bytes` of `role` under the delegator whose bytes hash to
    /// `delegator`: through the cache when there is one. The digest of `bytes` comes too.
    fn verified<T: Send + Sync + 'static>(
        &self,
        role: &str,
        delegator: [u8; 32],
        bytes: &[u8],
        verify: impl FnOnce() -> Result<(T, [u8; 32]), TufError>,
    ) -> Result<Verified<T>, TufError> {
        let sha256 = cache::digest(bytes);
        let verify = || verify().map(|(doc, signed)| (Arc::new(doc), signed));
        let (doc, signed_sha256) = match &self.cache {
            Some(c) => {
                let key = cache::Key {
                    delegator,
                    document: sha256,
                    role: role.to_owned(),
                };
                c.verified(key, bytes.len(), verify)?.as_ref().clone()
            }
            None => verify()?,
        };
        Ok((doc, sha256, signed_sha256))
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
        let old = &self.root.signed;
        let want = old.common.version.saturating_add(1);
        let (new, sha256, signed_sha256) = self.verified(ROOT, self.root.sha256, &bytes, || {
            let doc = Unverified::parse(ROOT, &bytes)?;
            let role = old
                .role(ROOT)
                .ok_or(TufError::Order("root without a root role"))?;
            doc.verify(&old.keys, &role.keyids, role.threshold)?;
            let new: Root = doc.typed()?;
            check_version(ROOT, want, new.common.version)?;
            Ok((self_signed_root(&doc)?, doc.signed_sha256()))
        })?;
        // The version follows from the old root, part of the key; checked again all
        // the same, as every check against the chain is.
        check_version(ROOT, want, new.common.version)?;
        self.root = Trusted {
            signed: new,
            bytes,
            sha256,
            signed_sha256,
        };
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
        let (new, sha256, signed_sha256) =
            self.verified(TIMESTAMP, self.root.sha256, &bytes, || {
                let doc = Unverified::parse(TIMESTAMP, &bytes)?;
                let role = root
                    .role(TIMESTAMP)
                    .ok_or(TufError::Order("root without a timestamp role"))?;
                doc.verify(&root.keys, &role.keyids, role.threshold)?;
                Ok((doc.typed::<TimestampDoc>()?, doc.signed_sha256()))
            })?;
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
        self.timestamp = Some(Trusted {
            signed: new,
            bytes,
            sha256,
            signed_sha256,
        });
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
        let (new, sha256, signed_sha256) =
            self.verified(SNAPSHOT, self.root.sha256, &bytes, || {
                let doc = Unverified::parse(SNAPSHOT, &bytes)?;
                let role = root
                    .role(SNAPSHOT)
                    .ok_or(TufError::Order("root without a snapshot role"))?;
                doc.verify(&root.keys, &role.keyids, role.threshold)?;
                Ok((doc.typed::<Snapshot>()?, doc.signed_sha256()))
            })?;
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
        self.snapshot = Some(Trusted {
            signed: new,
            bytes,
            sha256,
            signed_sha256,
        });
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
        let parent = if delegator == ROOT {
            None
        } else {
            Some(
                self.targets
                    .get(delegator)
                    .ok_or(TufError::Order("delegated role before its delegator"))?,
            )
        };
        let delegator_sha256 = parent.map_or(self.root.sha256, |p| p.sha256);
        let (new, sha256, signed_sha256) = self.verified(role, delegator_sha256, &bytes, || {
            let doc = Unverified::parse(role, &bytes)?;
            match parent {
                None => {
                    let root = &self.root.signed;
                    let keys = root
                        .role(TARGETS)
                        .ok_or(TufError::Order("root without a targets role"))?;
                    doc.verify(&root.keys, &keys.keyids, keys.threshold)?;
                }
                Some(parent) => {
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
            }
            Ok((doc.typed::<Targets>()?, doc.signed_sha256()))
        })?;
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
        self.targets.insert(
            role.to_owned(),
            Trusted {
                signed: new,
                bytes,
                sha256,
                signed_sha256,
            },
        );
        Ok(())
    }
}

fn check_version(role: &str, expected: u64, found: u64) -> Result<(), TufError> {
    if found != expected {
        return Err(TufError::BadVersion {
            role: role.to_owned(),
            expected,
            found,
        });
    }
    Ok(())
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::keys::SecretKey;
    use crate::schemes::tuf::canonical;
    use serde_json::{Value, json};

    fn key(i: u8) -> SecretKey {
        SecretKey::from_seed(&[i; 32]).unwrap()
    }

    fn key_json(k: &SecretKey) -> Value {
        json!({"keytype": "ed25519", "scheme": "ed25519", "keyval": {"public": k.public().to_hex()}})
    }

    /// Signs with (keyid, key) pairs, so a test can sign under any keyid.
    fn sign(signed: &Value, by: &[(&str, &SecretKey)]) -> Vec<u8> {
        let msg = canonical::encode(signed).unwrap();
        let sigs: Vec<Value> = by
            .iter()
            .map(|(id, k)| json!({"keyid": id, "sig": hex::encode(k.sign(&msg))}))
            .collect();
        serde_json::to_vec(&json!({"signed": signed, "signatures": sigs})).unwrap()
    }

    fn root(keys: Value, root_keyids: Value, threshold: u64) -> Value {
        json!({"_type": "root", "spec_version": "1.0.0", "version": 1,
               "expires": "2100-01-01T00:00:00Z", "keys": keys,
               "roles": {"root": {"keyids": root_keyids, "threshold": threshold},
                         "timestamp": {"keyids": [], "threshold": 1},
                         "snapshot": {"keyids": [], "threshold": 1},
                         "targets": {"keyids": [], "threshold": 1}}})
    }

    fn now() -> Timestamp {
        crate::time::parse("2030-01-01T00:00:00Z").unwrap()
    }

    #[test]
    fn one_key_under_two_keyids_counts_once() {
        let k = key(1);
        let keys = json!({"id1": key_json(&k), "id2": key_json(&k)});
        let r = root(keys, json!(["id1", "id2"]), 2);
        let bytes = sign(&r, &[("id1", &k), ("id2", &k)]);
        let e = TrustedSet::new(bytes, now()).unwrap_err();
        assert!(
            matches!(
                e,
                TufError::Threshold {
                    valid: 1,
                    threshold: 2,
                    ..
                }
            ),
            "{e}"
        );
        // Two distinct keys meet the same threshold.
        let k2 = key(2);
        let keys = json!({"id1": key_json(&k), "id2": key_json(&k2)});
        let r = root(keys, json!(["id1", "id2"]), 2);
        assert!(TrustedSet::new(sign(&r, &[("id1", &k), ("id2", &k2)]), now()).is_ok());
    }

    #[test]
    fn a_keyid_listed_twice_or_signed_twice_is_refused() {
        let k = key(1);
        let r = root(json!({"id1": key_json(&k)}), json!(["id1", "id1"]), 1);
        let e = TrustedSet::new(sign(&r, &[("id1", &k)]), now()).unwrap_err();
        assert!(e.to_string().contains("lists one keyid twice"), "{e}");
        let r = root(json!({"id1": key_json(&k)}), json!(["id1"]), 1);
        let e = TrustedSet::new(sign(&r, &[("id1", &k), ("id1", &k)]), now()).unwrap_err();
        assert!(
            e.to_string().contains("two signatures name the same keyid"),
            "{e}"
        );
    }

    #[test]
    fn unknown_key_types_are_skipped_not_fatal() {
        let k = key(1);
        let keys = json!({
            "id1": key_json(&k),
            "other": {"keytype": "sphincs", "scheme": "sphincs-shake-128s", "keyval": {"public": "00"}},
        });
        let r = root(keys, json!(["id1", "other"]), 1);
        assert!(TrustedSet::new(sign(&r, &[("id1", &k), ("other", &k)]), now()).is_ok());
        // ... but they cannot help meet a threshold.
        let keys = json!({
            "id1": key_json(&k),
            "other": {"keytype": "sphincs", "scheme": "sphincs-shake-128s", "keyval": {"public": "00"}},
        });
        let r = root(keys, json!(["id1", "other"]), 2);
        assert!(TrustedSet::new(sign(&r, &[("id1", &k), ("other", &k)]), now()).is_err());
    }

    #[test]
    fn signatures_are_over_the_canonical_form_and_fields_are_read_after() {
        let k = key(1);
        let r = root(json!({"id1": key_json(&k)}), json!(["id1"]), 1);
        let good = sign(&r, &[("id1", &k)]);
        // Reformatting (whitespace, key order) keeps the canonical bytes: still valid.
        let v: Value = serde_json::from_slice(&good).unwrap();
        let pretty = serde_json::to_vec_pretty(&v).unwrap();
        assert!(TrustedSet::new(pretty, now()).is_ok());
        // Any change to a signed value is not.
        let mut v2 = v.clone();
        v2["signed"]["version"] = json!(2);
        let e = TrustedSet::new(serde_json::to_vec(&v2).unwrap(), now()).unwrap_err();
        assert!(matches!(e, TufError::Threshold { .. }), "{e}");
        // A signed document of another type, validly signed, is refused as such.
        let mut t = r.clone();
        t["_type"] = json!("targets");
        let e = TrustedSet::new(sign(&t, &[("id1", &k)]), now()).unwrap_err();
        assert!(e.to_string().contains("where root was expected"), "{e}");
        // Floats cannot be canonicalized: never verifies.
        let mut f = r.clone();
        f["x"] = json!(1.5);
        assert!(TrustedSet::new(sign_raw(&f), now()).is_err());
    }

    fn sign_raw(signed: &Value) -> Vec<u8> {
        serde_json::to_vec(&json!({"signed": signed, "signatures": []})).unwrap()
    }

    #[test]
    fn an_expired_trusted_root_still_loads_but_stops_the_timestamp() {
        let k = key(1);
        let mut r = root(json!({"id1": key_json(&k)}), json!(["id1"]), 1);
        r["expires"] = json!("2020-01-01T00:00:00Z");
        let mut set = TrustedSet::new(sign(&r, &[("id1", &k)]), now()).unwrap();
        let e = set.update_timestamp(b"{}".to_vec()).unwrap_err();
        assert!(
            matches!(e, TufError::Expired { ref role, .. } if role == "root"),
            "{e}"
        );
    }
}
