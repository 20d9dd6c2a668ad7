//! Fixed keys, a fixed trusted root and small valid documents shared by the fuzz targets
//! and by the seed generator (`cargo run --example make_seeds`).
//!
//! Everything here is deterministic: keys come from fixed seeds and Ed25519 signing is
//! deterministic, so the seeds are byte-for-byte reproducible.

use std::collections::BTreeMap;
use std::sync::LazyLock;

use mirrorproof::envelope::{Envelope, RELEASE_TYPE, ROOT_TYPE};
use mirrorproof::keys::{KeyId, PublicKey, SecretKey};
use mirrorproof::release::{ArtifactDoc, ReleaseDoc};
use mirrorproof::root::{KeyDoc, RoleDoc, RootDoc, TrustedRoot};

pub const PROJECT: &str = "exampleos";
pub const CHANNEL: &str = "stable";
/// The envelope size limit the targets use (the library default).
pub const LIMIT: u64 = mirrorproof::envelope::DEFAULT_MAX_BYTES;
/// Release role: 2 of the 3 release keys.
pub const RELEASE_THRESHOLD: usize = 2;
/// Root role: 2 of the 3 root keys.
pub const ROOT_THRESHOLD: usize = 2;

pub struct Fixture {
    pub root_keys: Vec<SecretKey>,
    pub release_keys: Vec<SecretKey>,
    /// A valid key that the trusted root does not know.
    pub outsider: SecretKey,
    /// Root version 1, signed by all root keys, accepted through `TrustedRoot::from_pinned`.
    pub root: TrustedRoot,
    pub root_bytes: Vec<u8>,
    /// Root version 2 (same keys), signed by all root keys: a valid rotation of `root`.
    pub root2_bytes: Vec<u8>,
}

fn key(seed: u8) -> SecretKey {
    match SecretKey::from_seed(&[seed; 32]) {
        Ok(k) => k,
        Err(e) => panic!("fixed seed {seed} is not a valid key: {e}"),
    }
}

pub static FIXTURE: LazyLock<Fixture> = LazyLock::new(|| {
    let root_keys: Vec<SecretKey> = (0..3).map(|i| key(0x20 + i)).collect();
    let release_keys: Vec<SecretKey> = (0..3).map(|i| key(0x10 + i)).collect();
    let outsider = key(0x30);
    let root_bytes = signed(
        ROOT_TYPE,
        &root_payload(1, &root_keys, &release_keys),
        &root_keys.iter().collect::<Vec<_>>(),
    )
    .to_json_bytes();
    let root = match TrustedRoot::from_pinned(&root_bytes, LIMIT) {
        Ok(r) => r,
        Err(e) => panic!("fixture root is not accepted: {e}"),
    };
    let root2_bytes = signed(
        ROOT_TYPE,
        &root_payload(2, &root_keys, &release_keys),
        &root_keys.iter().collect::<Vec<_>>(),
    )
    .to_json_bytes();
    Fixture {
        root_keys,
        release_keys,
        outsider,
        root,
        root_bytes,
        root2_bytes,
    }
});

pub fn fixture() -> &'static Fixture {
    &FIXTURE
}

impl Fixture {
    /// The trusted release keys, as `observe_release` receives them from `check`.
    pub fn trusted_release_keys(&self) -> Vec<&PublicKey> {
        self.root.root.role_keys(&self.root.root.release_role)
    }
    pub fn release_threshold(&self) -> usize {
        self.root.root.release_role.threshold
    }
    pub fn release_ids(&self) -> Vec<KeyId> {
        self.release_keys
            .iter()
            .map(|k| k.public().id().clone())
            .collect()
    }
}

/// An envelope over `payload` signed by each of `signers`, in order.
pub fn signed(payload_type: &str, payload: &[u8], signers: &[&SecretKey]) -> Envelope {
    let mut env = Envelope::unsigned(payload_type, payload);
    for k in signers {
        if let Err(e) = env.sign(k) {
            panic!("signing a fresh envelope failed: {e}");
        }
    }
    env
}

pub fn pretty<T: serde::Serialize>(doc: &T) -> Vec<u8> {
    let mut v = serde_json::to_vec_pretty(doc).unwrap_or_default();
    v.push(b'\n');
    v
}

pub fn root_payload(version: u64, root_keys: &[SecretKey], release_keys: &[SecretKey]) -> Vec<u8> {
    let mut keys = BTreeMap::new();
    for k in root_keys.iter().chain(release_keys) {
        keys.insert(
            k.public().id().to_string(),
            KeyDoc {
                keytype: "ed25519".into(),
                public: k.public().to_hex(),
            },
        );
    }
    let role = |ks: &[SecretKey], threshold: usize| RoleDoc {
        keyids: ks.iter().map(|k| k.public().id().to_string()).collect(),
        threshold: threshold as u64,
    };
    let mut roles = BTreeMap::new();
    roles.insert("root".to_owned(), role(root_keys, ROOT_THRESHOLD));
    roles.insert("release".to_owned(), role(release_keys, RELEASE_THRESHOLD));
    pretty(&RootDoc {
        kind: "root".into(),
        spec_version: 1,
        project: PROJECT.into(),
        version,
        expires: "2036-01-01T00:00:00Z".into(),
        keys,
        roles,
    })
}

pub fn release_payload(version: u64) -> Vec<u8> {
    let mut artifacts = BTreeMap::new();
    artifacts.insert(
        "exampleos-factory.img".to_owned(),
        ArtifactDoc {
            length: 5,
            sha256: Some("2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824".into()),
            sha512: None,
        },
    );
    artifacts.insert(
        "ota/exampleos-ota.bin".to_owned(),
        ArtifactDoc {
            length: 0,
            sha256: None,
            sha512: Some("cf83e1357eefb8bdf1542850d66d8007d620e4050b5715dc83f4a921d36ce9ce47d0d13c5d85f2b0ff8318d2877eec2f63b931bd47417a81a538327af927da3e".into()),
        },
    );
    pretty(&ReleaseDoc {
        kind: "release".into(),
        spec_version: 1,
        project: PROJECT.into(),
        channel: CHANNEL.into(),
        version,
        published: "2026-11-22T10:00:00Z".into(),
        expires: "2026-12-22T10:00:00.5Z".into(),
        artifacts,
    })
}

/// A release envelope signed by the first `n` release keys.
pub fn release_envelope(version: u64, n: usize) -> Vec<u8> {
    let f = fixture();
    let signers: Vec<&SecretKey> = f.release_keys.iter().take(n).collect();
    signed(RELEASE_TYPE, &release_payload(version), &signers).to_json_bytes()
}

pub const PROFILE: &str = r#"name = "exampleos"
scheme = "native"
root = "keys/exampleos.root.json"
channel = "stable"

[[mirrors]]
url = "https://mirror.example.fr/exampleos"
country = "fr"
name = "paris"

[[mirrors]]
url = "http://[::1]:8080/x"
country = "DE"
proxy = "socks5h://127.0.0.1:9050"

[[mirrors]]
url = "file:///srv/mirror"

[[mirrors]]
url = "mirrors/local"
country = "zz"
"#;
