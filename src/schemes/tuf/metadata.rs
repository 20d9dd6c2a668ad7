//! TUF metadata documents: the envelope, signature thresholds, and the typed fields of the
//! four top-level roles and of delegated targets roles.
//!
//! Signatures are checked before any field is believed. [`Unverified::parse`] reads a
//! document only far enough to get the canonical bytes of `signed` and the signature
//! list; [`Unverified::verify`] checks a threshold of distinct keys over them; only then
//! does [`Unverified::typed`] read the role's fields. The typed read parses the original
//! bytes again (strictly: a repeated key anywhere is refused), which keeps the order in
//! which a target lists its hashes, the order python-tuf uses to pick the hash that
//! prefixes a consistent-snapshot target name.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;

use chrono::NaiveDateTime;
use serde::de::{self, DeserializeOwned, MapAccess, Visitor};
use serde::{Deserialize, Deserializer};
use serde_json::Value;
use sha2::{Digest, Sha224, Sha256, Sha384};

use crate::schemes::{Prehash, Prehasher};

use super::TufError;
use super::canonical;
use crate::time::Timestamp;

pub const ROOT: &str = "root";
pub const TIMESTAMP: &str = "timestamp";
pub const SNAPSHOT: &str = "snapshot";
pub const TARGETS: &str = "targets";
pub const TOP_LEVEL: [&str; 4] = [ROOT, TIMESTAMP, SNAPSHOT, TARGETS];

/// The specification major version this client reads.
const SPEC_MAJOR: &str = "1";
/// More signature entries than this on one document is refused: real documents carry a
/// handful, and each entry under a listed key costs one verification.
pub const MAX_SIGNATURES: usize = 1024;

/// A document whose signatures have not been checked.
pub struct Unverified<'a> {
    role: String,
    bytes: &'a [u8],
    canonical: Vec<u8>,
    /// keyid -> signature bytes (hex-decoded; `None` when the hex was invalid).
    signatures: BTreeMap<String, Option<Vec<u8>>>,
    /// `signed._type`, read only to give a better error for a document of the wrong role
    /// once the signatures are known to be good.
    declared_type: Option<String>,
}

impl<'a> Unverified<'a> {
    /// SHA-256 of the canonical `signed` part: what identifies the signed content across
    /// encodings (mirrors are compared by it), computed from the bytes verification used.
    pub fn signed_sha256(&self) -> [u8; 32] {
        use sha2::Digest;
        sha2::Sha256::digest(&self.canonical).into()
    }

    /// Splits the envelope. `role` names the document in errors.
    pub fn parse(role: &str, bytes: &'a [u8]) -> Result<Unverified<'a>, TufError> {
        let bad = |reason: String| TufError::Malformed {
            role: role.to_owned(),
            reason,
        };
        let value: Value = crate::json::from_slice_strict(bytes).map_err(bad)?;
        let Value::Object(mut top) = value else {
            return Err(bad("not a JSON object".into()));
        };
        let signed = top
            .remove("signed")
            .ok_or_else(|| bad("no \"signed\" field".into()))?;
        if !signed.is_object() {
            return Err(bad("\"signed\" is not an object".into()));
        }
        let Some(Value::Array(sigs)) = top.remove("signatures") else {
            return Err(bad("no \"signatures\" list".into()));
        };
        if sigs.len() > MAX_SIGNATURES {
            return Err(bad(format!(
                "{} signatures, over the limit of {MAX_SIGNATURES}",
                sigs.len()
            )));
        }
        let mut signatures = BTreeMap::new();
        for s in sigs {
            let (Some(Value::String(keyid)), Some(Value::String(sig))) =
                (s.get("keyid"), s.get("sig"))
            else {
                return Err(bad("a signature lacks a string keyid or sig".into()));
            };
            // Two signatures claiming one key would let a threshold be met twice, or make
            // clients disagree on which one counts: python-tuf refuses them too.
            if signatures
                .insert(keyid.clone(), hex::decode(sig).ok())
                .is_some()
            {
                return Err(bad("two signatures name the same keyid".into()));
            }
        }
        let declared_type = signed
            .get("_type")
            .and_then(Value::as_str)
            .map(str::to_owned);
        let canonical = canonical::encode(&signed).map_err(|e| bad(e.to_string()))?;
        Ok(Unverified {
            role: role.to_owned(),
            bytes,
            canonical,
            signatures,
            declared_type,
        })
    }

    /// Checks that `threshold` distinct keys among `keyids` (looked up in `keys`) signed
    /// the canonical bytes.
    ///
    /// Distinct means distinct key material: two keyids that name the same public key
    /// count once. python-tuf counts keyids, so a delegator listing one key under two ids
    /// lets one signature count twice there; here it does not. Keys of a type this build
    /// cannot use are skipped (they cannot contribute), as are signatures by keys the role
    /// does not list.
    pub fn verify(
        &self,
        keys: &BTreeMap<String, Key>,
        keyids: &[String],
        threshold: u64,
    ) -> Result<(), TufError> {
        let mut valid: BTreeSet<(String, String)> = BTreeSet::new();
        for keyid in keyids {
            let (Some(key), Some(Some(sig))) = (keys.get(keyid), self.signatures.get(keyid)) else {
                continue;
            };
            let Some(Ok(public)) = key
                .keyval
                .public
                .as_deref()
                .map(|p| crate::trust::PublicKey::from_tuf(&key.keytype, &key.scheme, p))
            else {
                continue;
            };
            if public.verify(&self.canonical, sig).is_ok() {
                valid.insert(key.identity());
            }
        }
        if (valid.len() as u64) < threshold {
            return Err(TufError::Threshold {
                role: self.role.clone(),
                valid: valid.len(),
                threshold,
            });
        }
        Ok(())
    }

    /// Reads the signed fields as `T`; call only after [`Unverified::verify`].
    pub fn typed<T: Signed>(&self) -> Result<T, TufError> {
        let bad = |reason: String| TufError::Malformed {
            role: self.role.clone(),
            reason,
        };
        if let Some(t) = &self.declared_type
            && t != T::TYPE
        {
            return Err(bad(format!(
                "a {} document where {} was expected",
                crate::text::shown(&t.chars().take(64).collect::<String>()),
                T::TYPE
            )));
        }
        #[derive(Deserialize)]
        struct Envelope<T> {
            signed: T,
        }
        let env: Envelope<T> =
            serde_json::from_slice(self.bytes).map_err(|e| bad(crate::envelope::one_line(&e)))?;
        env.signed.check().map_err(bad)?;
        Ok(env.signed)
    }
}

/// What every role's signed part has in common, checked as python-tuf checks it.
#[derive(Debug, Clone, Deserialize)]
pub struct Common {
    #[serde(rename = "_type")]
    pub kind: String,
    pub spec_version: String,
    pub version: u64,
    pub expires: String,
}

impl Common {
    fn check(&self, kind: &str) -> Result<(), String> {
        if self.kind != kind {
            return Err(format!("_type is not {kind}"));
        }
        let parts: Vec<&str> = self.spec_version.split('.').collect();
        if !(2..=3).contains(&parts.len())
            || parts
                .iter()
                .any(|p| p.is_empty() || !p.bytes().all(|b| b.is_ascii_digit()))
        {
            return Err("spec_version is not a version number".into());
        }
        if parts[0] != SPEC_MAJOR {
            return Err(format!(
                "spec_version {} is not {SPEC_MAJOR}.x",
                crate::text::shown(&self.spec_version.chars().take(20).collect::<String>())
            ));
        }
        if self.version == 0 {
            return Err("version 0 (versions start at 1)".into());
        }
        parse_expires(&self.expires)?;
        Ok(())
    }

    /// The expiry instant; checked well-formed by [`Signed::check`].
    pub fn expires_at(&self) -> Timestamp {
        parse_expires(&self.expires).unwrap_or_default()
    }

    /// Expired at `now` (the instant of expiry itself counts as expired, as in python-tuf).
    pub fn is_expired(&self, now: Timestamp) -> bool {
        now >= self.expires_at()
    }
}

/// `YYYY-MM-DDTHH:MM:SSZ` exactly, the only form the specification allows.
fn parse_expires(s: &str) -> Result<Timestamp, String> {
    if s.len() != 20 || !s.ends_with('Z') {
        return Err("expires is not YYYY-MM-DDTHH:MM:SSZ".into());
    }
    NaiveDateTime::parse_from_str(s, "%Y-%m-%dT%H:%M:%SZ")
        .map(|t| t.and_utc())
        .map_err(|_| "expires is not YYYY-MM-DDTHH:MM:SSZ".into())
}

/// A role's signed part.
pub trait Signed: DeserializeOwned {
    const TYPE: &'static str;
    fn common(&self) -> &Common;
    /// Rules serde cannot say (python-tuf's constructor checks).
    fn check(&self) -> Result<(), String>;
}

#[derive(Debug, Clone, Deserialize)]
pub struct Key {
    pub keytype: String,
    pub scheme: String,
    pub keyval: KeyVal,
}

/// Only `public` is read; keys without one (Sigstore identities: `identity` and
/// `issuer`) are kept and simply never verify anything here.
#[derive(Debug, Clone, Deserialize)]
pub struct KeyVal {
    #[serde(default)]
    pub public: Option<String>,
}

impl Key {
    /// What makes two key entries the same key: type and public value, the latter without
    /// whitespace and, for hex-encoded types, without case.
    fn identity(&self) -> (String, String) {
        let mut public: String = self
            .keyval
            .public
            .as_deref()
            .unwrap_or_default()
            .chars()
            .filter(|c| !c.is_whitespace())
            .collect();
        if !public.contains("-----") {
            public.make_ascii_lowercase();
        }
        (self.keytype.clone(), public)
    }
}

#[derive(Debug, Clone, Deserialize)]
pub struct RoleKeys {
    pub keyids: Vec<String>,
    pub threshold: u64,
}

fn check_keys(keyids: &[String], threshold: u64) -> Result<(), String> {
    if threshold < 1 {
        return Err("a role's threshold is below 1".into());
    }
    let unique: BTreeSet<&String> = keyids.iter().collect();
    if unique.len() != keyids.len() {
        return Err("a role lists one keyid twice".into());
    }
    Ok(())
}

#[derive(Debug, Clone, Deserialize)]
pub struct Root {
    #[serde(flatten)]
    pub common: Common,
    #[serde(default)]
    pub consistent_snapshot: Option<bool>,
    pub keys: BTreeMap<String, Key>,
    pub roles: BTreeMap<String, RoleKeys>,
}

impl Root {
    pub fn role(&self, name: &str) -> Option<&RoleKeys> {
        self.roles.get(name)
    }

    pub fn consistent(&self) -> bool {
        self.consistent_snapshot == Some(true)
    }

    /// The keys (by identity) and threshold of a role, for noticing rotations.
    pub fn role_fingerprint(&self, name: &str) -> Option<(BTreeSet<(String, String)>, u64)> {
        let role = self.role(name)?;
        let keys = role
            .keyids
            .iter()
            .filter_map(|id| self.keys.get(id).map(Key::identity))
            .collect();
        Some((keys, role.threshold))
    }
}

impl Signed for Root {
    const TYPE: &'static str = ROOT;
    fn common(&self) -> &Common {
        &self.common
    }
    fn check(&self) -> Result<(), String> {
        self.common.check(ROOT)?;
        let names: BTreeSet<&str> = self.roles.keys().map(String::as_str).collect();
        if names != TOP_LEVEL.into_iter().collect() {
            return Err("roles are not exactly root, timestamp, snapshot and targets".into());
        }
        for r in self.roles.values() {
            check_keys(&r.keyids, r.threshold)?;
        }
        Ok(())
    }
}

/// Hashes in the order the document lists them.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Hashes(pub Vec<(String, String)>);

impl<'de> Deserialize<'de> for Hashes {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Hashes, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Hashes;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("an object of hash algorithm to hex digest")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Hashes, A::Error> {
                let mut out: Vec<(String, String)> = Vec::new();
                while let Some((k, v)) = map.next_entry::<String, String>()? {
                    if out.iter().any(|(a, _)| *a == k) {
                        return Err(de::Error::custom("a hash algorithm is listed twice"));
                    }
                    out.push((k, v));
                }
                Ok(Hashes(out))
            }
        }
        d.deserialize_map(V)
    }
}

impl Hashes {
    /// Whether `data` matches every listed digest. An algorithm this client cannot
    /// compute is a mismatch, as in python-tuf: a digest nobody checks protects nothing.
    pub fn check(&self, data: &[u8]) -> Result<(), String> {
        let mut hashers = self.hashers()?;
        for h in &mut hashers {
            h.update(data);
        }
        self.compare(hashers)
    }

    /// Compares finished hashers (one per listed algorithm, in order) with the digests.
    pub fn compare(&self, hashers: Vec<Hasher>) -> Result<(), String> {
        for ((alg, want), h) in self.0.iter().zip(hashers) {
            if hex::encode(h.finish()) != *want {
                return Err(format!(
                    "{} does not match",
                    crate::text::shown(&alg.chars().take(32).collect::<String>())
                ));
            }
        }
        Ok(())
    }

    /// One hasher per listed algorithm, or the first unsupported one's name.
    pub fn hashers(&self) -> Result<Vec<Hasher>, String> {
        self.0
            .iter()
            .map(|(alg, _)| {
                Hasher::new(alg).ok_or_else(|| {
                    format!(
                        "unsupported hash algorithm {}",
                        crate::text::shown(&alg.chars().take(32).collect::<String>())
                    )
                })
            })
            .collect()
    }

    pub fn get(&self, alg: &str) -> Option<&str> {
        self.0
            .iter()
            .find(|(a, _)| a == alg)
            .map(|(_, v)| v.as_str())
    }
}

/// The digests securesystemslib names that this client computes. SHA-256, SHA-512 and
/// BLAKE2b-512 go through the crate's one streaming hasher ([`Prehasher`]: SHA-NI, aws-lc's
/// SHA-512), so a TUF target hashes as fast as any other artifact; the rarer lengths keep
/// their own.
pub enum Hasher {
    Shared(Box<Prehasher>),
    Sha224(Sha224),
    Sha384(Sha384),
    Blake2b256(Box<blake2b_simd::State>),
}

impl Hasher {
    pub fn new(alg: &str) -> Option<Hasher> {
        let shared = |p| Prehasher::new(p).map(|h| Hasher::Shared(Box::new(h)));
        Some(match alg {
            "sha224" => Hasher::Sha224(Sha224::new()),
            "sha256" => return shared(Prehash::Sha256),
            "sha384" => Hasher::Sha384(Sha384::new()),
            "sha512" => return shared(Prehash::Sha512),
            "blake2b" => return shared(Prehash::Blake2b512),
            "blake2b-256" => Hasher::Blake2b256(Box::new(
                blake2b_simd::Params::new().hash_length(32).to_state(),
            )),
            _ => return None,
        })
    }

    pub fn update(&mut self, data: &[u8]) {
        match self {
            Hasher::Shared(h) => h.update(data),
            Hasher::Sha224(h) => h.update(data),
            Hasher::Sha384(h) => h.update(data),
            Hasher::Blake2b256(h) => {
                h.update(data);
            }
        }
    }

    pub fn finish(self) -> Vec<u8> {
        match self {
            Hasher::Shared(h) => h.finish(),
            Hasher::Sha224(h) => h.finalize().to_vec(),
            Hasher::Sha384(h) => h.finalize().to_vec(),
            Hasher::Blake2b256(h) => h.finalize().as_bytes().to_vec(),
        }
    }
}

/// What timestamp says of snapshot, and snapshot of each targets role.
#[derive(Debug, Clone, Deserialize)]
pub struct MetaFile {
    pub version: u64,
    #[serde(default)]
    pub length: Option<u64>,
    #[serde(default)]
    pub hashes: Option<Hashes>,
}

impl MetaFile {
    fn check(&self) -> Result<(), String> {
        if self.version == 0 {
            return Err("a meta entry has version 0".into());
        }
        if self.hashes.as_ref().is_some_and(|h| h.0.is_empty()) {
            return Err("a meta entry has an empty hashes object".into());
        }
        Ok(())
    }

    /// Checks the length and hashes, where listed.
    pub fn verify(&self, data: &[u8]) -> Result<(), String> {
        if let Some(n) = self.length
            && data.len() as u64 != n
        {
            return Err(format!("{} bytes where {n} were listed", data.len()));
        }
        match &self.hashes {
            Some(h) => h.check(data),
            None => Ok(()),
        }
    }
}

#[derive(Debug, Clone, Deserialize)]
pub struct TimestampDoc {
    #[serde(flatten)]
    pub common: Common,
    pub meta: BTreeMap<String, MetaFile>,
}

impl TimestampDoc {
    /// The snapshot entry; present once [`Signed::check`] passed.
    pub fn snapshot_meta(&self) -> &MetaFile {
        static NONE: MetaFile = MetaFile {
            version: 0,
            length: None,
            hashes: None,
        };
        self.meta.get("snapshot.json").unwrap_or(&NONE)
    }
}

impl Signed for TimestampDoc {
    const TYPE: &'static str = TIMESTAMP;
    fn common(&self) -> &Common {
        &self.common
    }
    fn check(&self) -> Result<(), String> {
        self.common.check(TIMESTAMP)?;
        let m = self
            .meta
            .get("snapshot.json")
            .ok_or("meta has no snapshot.json")?;
        // The specification: timestamp's meta "MUST only include a description of the
        // snapshot.json file"; anything else is a document no honest repository signs.
        if self.meta.len() != 1 {
            return Err("meta must describe snapshot.json only".into());
        }
        m.check()
    }
}

#[derive(Debug, Clone, Deserialize)]
pub struct Snapshot {
    #[serde(flatten)]
    pub common: Common,
    pub meta: BTreeMap<String, MetaFile>,
}

impl Signed for Snapshot {
    const TYPE: &'static str = SNAPSHOT;
    fn common(&self) -> &Common {
        &self.common
    }
    fn check(&self) -> Result<(), String> {
        self.common.check(SNAPSHOT)?;
        self.meta.values().try_for_each(MetaFile::check)
    }
}

#[derive(Debug, Clone, Deserialize, PartialEq, Eq)]
pub struct TargetFile {
    pub length: u64,
    pub hashes: Hashes,
}

#[derive(Debug, Clone, Deserialize)]
pub struct Targets {
    #[serde(flatten)]
    pub common: Common,
    pub targets: BTreeMap<String, TargetFile>,
    #[serde(default)]
    pub delegations: Option<Delegations>,
}

impl Signed for Targets {
    const TYPE: &'static str = TARGETS;
    fn common(&self) -> &Common {
        &self.common
    }
    fn check(&self) -> Result<(), String> {
        self.common.check(TARGETS)?;
        if self.targets.values().any(|t| t.hashes.0.is_empty()) {
            return Err("a target lists no hashes".into());
        }
        if let Some(d) = &self.delegations {
            d.check()?;
        }
        Ok(())
    }
}

#[derive(Debug, Clone, Deserialize)]
pub struct Delegations {
    pub keys: BTreeMap<String, Key>,
    #[serde(default)]
    pub roles: Option<Vec<DelegatedRole>>,
    #[serde(default)]
    pub succinct_roles: Option<SuccinctRoles>,
}

#[derive(Debug, Clone, Deserialize)]
pub struct DelegatedRole {
    pub name: String,
    pub keyids: Vec<String>,
    pub threshold: u64,
    #[serde(default)]
    pub terminating: bool,
    #[serde(default)]
    pub paths: Option<Vec<String>>,
    #[serde(default)]
    pub path_hash_prefixes: Option<Vec<String>>,
}

#[derive(Debug, Clone, Deserialize)]
pub struct SuccinctRoles {
    pub keyids: Vec<String>,
    pub threshold: u64,
    pub bit_length: u32,
    pub name_prefix: String,
}

impl Delegations {
    fn check(&self) -> Result<(), String> {
        match (&self.roles, &self.succinct_roles) {
            (Some(roles), None) => {
                let mut names = BTreeSet::new();
                for r in roles {
                    if r.name.is_empty() || TOP_LEVEL.contains(&r.name.as_str()) {
                        return Err(
                            "a delegated role is unnamed or named as a top-level role".into()
                        );
                    }
                    if !names.insert(r.name.as_str()) {
                        return Err("two delegated roles have one name".into());
                    }
                    check_keys(&r.keyids, r.threshold)?;
                    if r.paths.is_some() == r.path_hash_prefixes.is_some() {
                        return Err(
                            "a delegated role must have exactly one of paths and path_hash_prefixes"
                                .into(),
                        );
                    }
                }
                Ok(())
            }
            (None, Some(s)) => {
                check_keys(&s.keyids, s.threshold)?;
                if !(1..=32).contains(&s.bit_length) {
                    return Err("succinct_roles bit_length is not 1 to 32".into());
                }
                Ok(())
            }
            _ => Err("delegations need exactly one of roles and succinct_roles".into()),
        }
    }

    /// The keys and threshold that sign `name`, if this delegator delegates to it.
    pub fn role_keys(&self, name: &str) -> Option<(&[String], u64)> {
        if let Some(roles) = &self.roles {
            return roles
                .iter()
                .find(|r| r.name == name)
                .map(|r| (r.keyids.as_slice(), r.threshold));
        }
        let s = self.succinct_roles.as_ref()?;
        s.is_bin(name).then_some((s.keyids.as_slice(), s.threshold))
    }

    /// The roles to ask about `path`, in order, each with whether it is terminating.
    /// Succinct hash bins are one terminating role per path (TAP 15).
    pub fn roles_for(&self, path: &str) -> Vec<(String, bool)> {
        if let Some(roles) = &self.roles {
            return roles
                .iter()
                .filter(|r| r.delegates(path))
                .map(|r| (r.name.clone(), r.terminating))
                .collect();
        }
        match &self.succinct_roles {
            Some(s) => vec![(s.bin_for(path), true)],
            None => Vec::new(),
        }
    }
}

impl DelegatedRole {
    /// Whether this role is trusted for `path`.
    pub fn delegates(&self, path: &str) -> bool {
        if let Some(prefixes) = &self.path_hash_prefixes {
            let h = hex::encode(Sha256::digest(path.as_bytes()));
            return prefixes.iter().any(|p| h.starts_with(p.as_str()));
        }
        match &self.paths {
            Some(patterns) => patterns.iter().any(|p| path_matches(path, p)),
            None => false,
        }
    }
}

/// A path pattern matches when it has as many `/`-separated parts as the path and each
/// part matches as by Python's `fnmatch.fnmatchcase`: so `*` never crosses a `/`.
pub fn path_matches(path: &str, pattern: &str) -> bool {
    let parts: Vec<&str> = path.split('/').collect();
    let pats: Vec<&str> = pattern.split('/').collect();
    parts.len() == pats.len() && parts.iter().zip(&pats).all(|(t, p)| fnmatch(t, p))
}

/// Python's `fnmatch.fnmatchcase`: `*`, `?`, `[seq]`, `[!seq]`; a `[` with no closing
/// `]` is a literal. Linear backtracking on the last `*`, so no pattern is slow.
pub fn fnmatch(name: &str, pattern: &str) -> bool {
    let s: Vec<char> = name.chars().collect();
    let p: Vec<char> = pattern.chars().collect();
    let (mut si, mut pi) = (0usize, 0usize);
    let mut star: Option<(usize, usize)> = None;
    while si < s.len() {
        if pi < p.len() {
            match p[pi] {
                '*' => {
                    star = Some((pi, si));
                    pi += 1;
                    continue;
                }
                '?' => {
                    si += 1;
                    pi += 1;
                    continue;
                }
                '[' => {
                    if let Some((matched, next)) = class(&p, pi, s[si]) {
                        if matched {
                            si += 1;
                            pi = next;
                            continue;
                        }
                    } else if s[si] == '[' {
                        si += 1;
                        pi += 1;
                        continue;
                    }
                }
                c => {
                    if c == s[si] {
                        si += 1;
                        pi += 1;
                        continue;
                    }
                }
            }
        }
        match star {
            Some((sp, ss)) => {
                pi = sp + 1;
                si = ss + 1;
                star = Some((sp, ss + 1));
            }
            None => return false,
        }
    }
    p[pi..].iter().all(|&c| c == '*')
}

/// A `[...]` class at `p[start]`: whether `c` is in it and the index after it, or `None`
/// when the bracket is not closed (then it is a literal `[`).
fn class(p: &[char], start: usize, c: char) -> Option<(bool, usize)> {
    let mut i = start + 1;
    let negate = p.get(i) == Some(&'!');
    if negate {
        i += 1;
    }
    let first = i;
    // A `]` first in the class is a member, not the end.
    while i < p.len() && (p[i] != ']' || i == first) {
        i += 1;
    }
    if i >= p.len() {
        return None;
    }
    let members = &p[first..i];
    let mut hit = false;
    let mut j = 0;
    while j < members.len() {
        if j + 2 < members.len() && members[j + 1] == '-' {
            if members[j] <= c && c <= members[j + 2] {
                hit = true;
            }
            j += 3;
        } else {
            if members[j] == c {
                hit = true;
            }
            j += 1;
        }
    }
    Some((hit != negate, i + 1))
}

impl SuccinctRoles {
    fn suffix_len(&self) -> usize {
        // Hex digits of the largest bin number, 2^bit_length - 1.
        let max = (1u64 << self.bit_length) - 1;
        format!("{max:x}").len()
    }

    /// The bin that holds `path`: the top `bit_length` bits of its SHA-256.
    pub fn bin_for(&self, path: &str) -> String {
        let h = Sha256::digest(path.as_bytes());
        let first = u32::from_be_bytes([h[0], h[1], h[2], h[3]]);
        let bin = u64::from(first) >> (32 - self.bit_length);
        format!(
            "{}-{:0width$x}",
            self.name_prefix,
            bin,
            width = self.suffix_len()
        )
    }

    pub fn is_bin(&self, name: &str) -> bool {
        let Some(suffix) = name
            .strip_prefix(self.name_prefix.as_str())
            .and_then(|r| r.strip_prefix('-'))
        else {
            return false;
        };
        if suffix.len() != self.suffix_len() || !suffix.bytes().all(|b| b.is_ascii_hexdigit()) {
            return false;
        }
        u64::from_str_radix(suffix, 16).is_ok_and(|n| n < (1u64 << self.bit_length))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fnmatch_is_pythons() {
        // Each line checked against Python's fnmatch.fnmatchcase.
        let yes = [
            ("a.py", "*.py"),
            ("", "*"),
            ("abc", "a?c"),
            ("abc", "[a-c]bc"),
            ("dbc", "[!a-c]bc"),
            ("]x", "[]]x"),
            ("[x", "[x"),
            ("a*b", "a[*]b"),
            ("aaaab", "*a*b"),
            ("file.tar.gz", "*.gz"),
        ];
        let no = [
            ("a.pyc", "*.py"),
            ("ABC", "abc"),
            ("abc", "a?"),
            ("bbc", "[!a-c]bc"),
            ("x", "[x"),
            ("ab", "a[*]b"),
        ];
        for (n, p) in yes {
            assert!(fnmatch(n, p), "{n} ~ {p}");
        }
        for (n, p) in no {
            assert!(!fnmatch(n, p), "{n} !~ {p}");
        }
    }

    #[test]
    fn star_does_not_cross_a_slash() {
        assert!(path_matches("releases/x/x_v1", "releases/*/*"));
        assert!(!path_matches("releases/x/y/z", "releases/*"));
        assert!(!path_matches("a/b.py", "*.py"));
        assert!(path_matches("README.md", "*.md"));
        assert!(path_matches("dir/", "dir/*"));
    }

    #[test]
    fn succinct_bins_follow_tap15() {
        let s = SuccinctRoles {
            keyids: vec![],
            threshold: 1,
            bit_length: 8,
            name_prefix: "bin".into(),
        };
        assert_eq!(s.suffix_len(), 2);
        // sha256("a") = ca978112...: top 8 bits 0xca.
        assert_eq!(s.bin_for("a"), "bin-ca");
        assert!(s.is_bin("bin-ca") && s.is_bin("bin-00") && s.is_bin("bin-ff"));
        assert!(!s.is_bin("bin-100") && !s.is_bin("bin-g0") && !s.is_bin("bim-00"));
        let s1 = SuccinctRoles {
            bit_length: 1,
            ..s.clone()
        };
        assert_eq!(s1.bin_for("a"), "bin-1");
        let s32 = SuccinctRoles {
            bit_length: 32,
            ..s
        };
        assert_eq!(s32.bin_for("a"), "bin-ca978112");
    }

    #[test]
    fn expires_is_strict() {
        assert!(parse_expires("2030-01-01T00:00:00Z").is_ok());
        for bad in [
            "2030-01-01T00:00:00.5Z",
            "2030-01-01T00:00:00+00:00",
            "2030-01-01 00:00:00Z",
            "2030-13-01T00:00:00Z",
        ] {
            assert!(parse_expires(bad).is_err(), "{bad}");
        }
    }
}
