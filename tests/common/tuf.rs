//! A small TUF repository for tests, in the spirit of tuf-conformance's
//! RepositorySimulator: the signed part of every role is a JSON value the test may edit,
//! `publish` signs it (canonical JSON, Ed25519 keys from fixed seeds) and lays it out the
//! way a repository serves it: `metadata/N.root.json`, `metadata/timestamp.json`,
//! `metadata/V.ROLE.json` (consistent snapshots) and `metadata/ROLE.json`, and
//! `targets/PATH` plus `targets/DIR/HASH.NAME`. A [`super::Server`] serves the directory.
#![allow(dead_code)]

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use mirrorproof::keys::SecretKey;
use mirrorproof::report::{MirrorReport, Report, Status};
use mirrorproof::schemes::tuf::canonical;
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

pub const ROLES: [&str; 4] = ["root", "timestamp", "snapshot", "targets"];

pub fn key(i: u8) -> SecretKey {
    let mut seed = [0x54u8; 32];
    seed[0] = i;
    SecretKey::from_seed(&seed).unwrap()
}

/// The TUF key object of `k`.
pub fn key_json(k: &SecretKey) -> Value {
    json!({"keytype": "ed25519", "scheme": "ed25519", "keyval": {"public": k.public().to_hex()}})
}

/// The keyid TUF gives `k`: SHA-256 of its canonical key object.
pub fn keyid(k: &SecretKey) -> String {
    hex::encode(Sha256::digest(canonical::encode(&key_json(k)).unwrap()))
}

pub fn expiry(t: chrono::DateTime<chrono::Utc>) -> String {
    t.format("%Y-%m-%dT%H:%M:%SZ").to_string()
}

/// Signs `signed` with `keys` into a metadata file.
pub fn sign(signed: &Value, keys: &[&SecretKey]) -> Vec<u8> {
    let msg = canonical::encode(signed).unwrap();
    let sigs: Vec<Value> = keys
        .iter()
        .map(|k| json!({"keyid": keyid(k), "sig": hex::encode(k.sign(&msg))}))
        .collect();
    serde_json::to_vec_pretty(&json!({"signed": signed, "signatures": sigs})).unwrap()
}

pub struct Repo {
    pub dir: tempfile::TempDir,
    /// Signed parts, by role name (top-level and delegated).
    pub md: BTreeMap<String, Value>,
    /// Keys each role is signed with when published.
    pub signers: BTreeMap<String, Vec<SecretKey>>,
    /// Every root published, by version.
    pub roots: Vec<Vec<u8>>,
    /// Whether snapshot and timestamp list lengths and hashes of what they name.
    pub hashes_in_meta: bool,
    next_key: u8,
}

impl Repo {
    /// Root v1 (consistent snapshots) and targets, snapshot and timestamp v1, one key per
    /// role, everything expiring in 30 days.
    pub fn new() -> Repo {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(dir.path().join("metadata")).unwrap();
        std::fs::create_dir_all(dir.path().join("targets")).unwrap();
        let expires = expiry(chrono::Utc::now() + chrono::TimeDelta::days(30));
        let mut r = Repo {
            dir,
            md: BTreeMap::new(),
            signers: BTreeMap::new(),
            roots: Vec::new(),
            hashes_in_meta: false,
            next_key: 0,
        };
        let mut keys = serde_json::Map::new();
        let mut roles = serde_json::Map::new();
        for role in ROLES {
            let k = r.new_key();
            keys.insert(keyid(&k), key_json(&k));
            roles.insert(role.into(), json!({"keyids": [keyid(&k)], "threshold": 1}));
            r.signers.insert(role.into(), vec![k]);
        }
        r.md.insert(
            "root".into(),
            json!({"_type": "root", "spec_version": "1.0.31", "version": 1, "expires": expires,
                   "consistent_snapshot": true, "keys": keys, "roles": roles}),
        );
        r.md.insert(
            "targets".into(),
            json!({"_type": "targets", "spec_version": "1.0.31", "version": 1, "expires": expires, "targets": {}}),
        );
        r.md.insert(
            "snapshot".into(),
            json!({"_type": "snapshot", "spec_version": "1.0.31", "version": 1, "expires": expires, "meta": {}}),
        );
        r.md.insert(
            "timestamp".into(),
            json!({"_type": "timestamp", "spec_version": "1.0.31", "version": 1, "expires": expires, "meta": {}}),
        );
        r.write_root();
        r.write("targets");
        r.write("snapshot");
        r.write("timestamp");
        r
    }

    pub fn path(&self) -> &Path {
        self.dir.path()
    }

    /// A fresh key (never used before in this repository).
    pub fn new_key(&mut self) -> SecretKey {
        self.next_key += 1;
        key(self.next_key)
    }

    pub fn consistent(&self) -> bool {
        self.md["root"]["consistent_snapshot"] == json!(true)
    }

    pub fn version(&self, role: &str) -> u64 {
        self.md[role]["version"].as_u64().unwrap()
    }

    pub fn root_bytes(&self, version: u64) -> Vec<u8> {
        self.roots[(version - 1) as usize].clone()
    }

    fn meta_dir(&self) -> PathBuf {
        self.path().join("metadata")
    }

    fn signed_bytes(&self, role: &str) -> Vec<u8> {
        let keys: Vec<&SecretKey> = self.signers[role].iter().collect();
        sign(&self.md[role], &keys)
    }

    /// Signs the current root as is (no version bump) and publishes it as N.root.json.
    pub fn write_root(&mut self) {
        let bytes = self.signed_bytes("root");
        let v = self.version("root");
        std::fs::write(self.meta_dir().join(format!("{v}.root.json")), &bytes).unwrap();
        std::fs::write(self.meta_dir().join("root.json"), &bytes).unwrap();
        self.roots.truncate((v - 1) as usize);
        self.roots.push(bytes);
    }

    /// Signs `role` as is (no version bump), publishes it, and updates what names it:
    /// snapshot's meta for targets roles, timestamp's meta for snapshot (not re-signed).
    pub fn write(&mut self, role: &str) -> Vec<u8> {
        let bytes = self.signed_bytes(role);
        let v = self.version(role);
        let dir = self.meta_dir();
        if role != "timestamp" {
            std::fs::write(dir.join(format!("{v}.{role}.json")), &bytes).unwrap();
        }
        std::fs::write(dir.join(format!("{role}.json")), &bytes).unwrap();
        let mut meta = json!({"version": v});
        if self.hashes_in_meta {
            meta["length"] = json!(bytes.len());
            meta["hashes"] = json!({"sha256": hex::encode(Sha256::digest(&bytes))});
        }
        match role {
            "root" | "timestamp" => {}
            "snapshot" => self.md.get_mut("timestamp").unwrap()["meta"]["snapshot.json"] = meta,
            _ => self.md.get_mut("snapshot").unwrap()["meta"][format!("{role}.json")] = meta,
        }
        bytes
    }

    /// Bumps the version of `role`, then signs and publishes it.
    pub fn publish(&mut self, role: &str) -> Vec<u8> {
        let v = self.version(role) + 1;
        self.md.get_mut(role).unwrap()["version"] = json!(v);
        if role == "root" {
            self.write_root();
            return self.roots.last().unwrap().clone();
        }
        self.write(role)
    }

    /// A new snapshot and timestamp naming the current targets roles.
    pub fn update_snapshot(&mut self) {
        self.publish("snapshot");
        self.publish("timestamp");
    }

    /// New targets, snapshot and timestamp.
    pub fn update_targets(&mut self) {
        self.publish("targets");
        self.update_snapshot();
    }

    /// Lists a target in `role` and serves its bytes (as PATH and DIR/HASH.NAME).
    pub fn add_target(&mut self, role: &str, path: &str, data: &[u8]) {
        let h = hex::encode(Sha256::digest(data));
        self.md.get_mut(role).unwrap()["targets"][path] =
            json!({"length": data.len(), "hashes": {"sha256": h}});
        self.serve_target(path, data);
    }

    /// Serves bytes for a target path without changing any metadata.
    pub fn serve_target(&self, path: &str, data: &[u8]) {
        let t = self.path().join("targets");
        let plain = t.join(path);
        std::fs::create_dir_all(plain.parent().unwrap()).unwrap();
        std::fs::write(&plain, data).unwrap();
        let (dir, name) = path.rsplit_once('/').unwrap_or(("", path));
        let listed = self
            .md
            .values()
            .find_map(|m| m["targets"].get(path).cloned());
        if let Some(info) = listed {
            let h = info["hashes"]["sha256"].as_str().unwrap().to_owned();
            let hashed = t.join(dir).join(format!("{h}.{name}"));
            std::fs::write(hashed, data).unwrap();
        }
    }

    /// Replaces `role`'s keys with `n` fresh keys (threshold unchanged) in root (not
    /// published) and as the role's signers.
    pub fn rotate_keys(&mut self, role: &str, n: usize) {
        let fresh: Vec<SecretKey> = (0..n).map(|_| self.new_key()).collect();
        let root = self.md.get_mut("root").unwrap();
        root["roles"][role]["keyids"] = json!(fresh.iter().map(keyid).collect::<Vec<_>>());
        for k in &fresh {
            root["keys"][keyid(k)] = key_json(k);
        }
        self.signers.insert(role.into(), fresh);
    }

    /// Delegates `paths` from `delegator` to a new role `name` with one fresh key.
    pub fn delegate(&mut self, delegator: &str, name: &str, paths: &[&str], terminating: bool) {
        let k = self.new_key();
        let d = self.md.get_mut(delegator).unwrap();
        if d.get("delegations").is_none() {
            d["delegations"] = json!({"keys": {}, "roles": []});
        }
        d["delegations"]["keys"][keyid(&k)] = key_json(&k);
        d["delegations"]["roles"]
            .as_array_mut()
            .unwrap()
            .push(json!({"name": name, "keyids": [keyid(&k)], "threshold": 1,
                         "terminating": terminating, "paths": paths}));
        let expires = self.md["targets"]["expires"].clone();
        self.md.insert(
            name.into(),
            json!({"_type": "targets", "spec_version": "1.0.31", "version": 1, "expires": expires, "targets": {}}),
        );
        self.signers.insert(name.into(), vec![k]);
        self.write(name);
    }
}

impl Repo {
    /// A repository with one target, `pkg.tar`, in targets version 2.
    pub fn with_target() -> Repo {
        let mut repo = Repo::new();
        repo.add_target("targets", "pkg.tar", b"package bytes");
        repo.update_targets();
        repo
    }
}

/// A `check` report read the way the TUF scenarios read it: by mirror name, with the whole
/// report (table and JSON) in every failure message.
pub trait ByName {
    fn mirror(&self, name: &str) -> &MirrorReport;
    #[track_caller]
    fn expect(&self, name: &str, status: Status) -> &MirrorReport;
    fn error(&self, name: &str) -> &str;
    fn table(&self) -> String;
}

impl ByName for Report {
    fn mirror(&self, name: &str) -> &MirrorReport {
        self.mirrors
            .iter()
            .find(|m| m.name.as_deref() == Some(name))
            .unwrap_or_else(|| panic!("no mirror {name}\n{}", self.table()))
    }

    #[track_caller]
    fn expect(&self, name: &str, status: Status) -> &MirrorReport {
        let m = self.mirror(name);
        assert_eq!(m.status, status, "mirror {name}\n{}", self.table());
        m
    }

    fn error(&self, name: &str) -> &str {
        self.mirror(name).error.as_deref().unwrap_or("")
    }

    fn table(&self) -> String {
        let mut s = self.render_human();
        s.push_str(&self.to_json());
        s
    }
}
