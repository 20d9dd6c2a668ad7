//! Genuine key and signature files of the four signature formats, made with the real tools
//! (signify-openbsd 31, minisign 0.11, OpenSSH 9.2p1 `ssh-keygen -Y sign`) and Go's
//! signed-note test vectors, shared by the scheme fuzz targets (`signify`, `minisign`,
//! `sshsig`, `note`, `detect`, `checksums`) and by `examples/make_seeds.rs`, which writes
//! them out as seeds.
//!
//! The targets pin these keys and check the no-forgery invariant: whenever a fuzzed input
//! verifies under a pinned key, the accepted signature (and the message or digest it was
//! checked over) must be one the key holder really made. The fuzzer cannot sign, so any
//! other outcome is an acceptance bug. Every "genuine" claim here is itself checked once,
//! when the fixture is built.
#![allow(dead_code)]

use std::sync::LazyLock;

use mirrorproof::keys::{PublicKey, SecretKey};
use mirrorproof::schemes::minisign::{self, MinisignKey, MinisignSignature};
use mirrorproof::schemes::note::{self, Verifier};
use mirrorproof::schemes::signify::{self, SignifyKey, SignifySignature};
use mirrorproof::schemes::sshsig::{self, AllowedSigner, HashAlg, SshSignature};
use mirrorproof::schemes::{Message, SchemeError};
use sha2::{Digest, Sha256, Sha512};

/// The message every tool signed (`msg.txt`).
pub const MSG: &[u8] = b"mirrorproof fuzz message\n";
/// `now` for OpenSSH validity windows: inside SSH_ALLOWED_OPTS's 2020..2099.
pub const NOW: i64 = 1_700_000_000;
pub const SSH_IDENTITY: &str = "fuzz@mirrorproof.example";
pub const SSH_NAMESPACE: &str = "file";

// ---------------------------------------------------------------------------------------
// Files made with the real tools (in a scratch directory; the secret halves are throwaway
// keys that exist only for fuzzing).

/// `signify-openbsd -G -n -c "mirrorproof fuzz key" -p s.pub -s s.sec`
pub const SIGNIFY_PUB: &str = "untrusted comment: mirrorproof fuzz key public key\nRWR9Dpg/ZrU1TA+sMrJnXZwyYpoWcIj/2zhycEa3g/z+YD8QaARc5cC+\n";
/// its secret half (a throwaway fuzzing key): a key parser must name it, not read it
pub const SIGNIFY_SEC: &str = "untrusted comment: mirrorproof fuzz key secret key\nRWRCSwAAAAD9kVT/gQlBN+rR4lWNn9l37ZcxkBUpdSt9Dpg/ZrU1TJtqhFvznMVBuMjbm7zyUk4C3ELqXADu6my3+ZveJyKsD6wysmddnDJimhZwiP/bOHJwRreD/P5gPxBoBFzlwL4=\n";
/// `signify-openbsd -G -n -p s2.pub -s s2.sec`
pub const SIGNIFY_PUB2: &str = "untrusted comment: signify public key\nRWR3HaHtjRVQAJfhYA+RYfPlbcgLUH1ccopCiCHJQXfbTKNZbifGCj5r\n";
/// `signify-openbsd -S -s s.sec -m msg.txt -x msg.txt.sig` (msg.txt = MSG)
pub const SIGNIFY_SIG: &str = "untrusted comment: verify with s.pub\nRWR9Dpg/ZrU1TKqLvtO+Qklcug6ci5hnWUQgIbq7Owp/K+Wwwbf5yu+pjTRPPQrdIfOqEC7qQs+2frnxyX+0jejaP+N6DONOYgI=\n";
/// `signify-openbsd -S -s s2.sec -m msg.txt -x msg.txt.k2.sig`
pub const SIGNIFY_SIG_K2: &str = "untrusted comment: verify with s2.pub\nRWR3HaHtjRVQAE/WCVsrdt9JFzAA5kIZrrzgHCBWwnt3XyMdTdtrw6/RVgUXFAtHTcLlwrH2ZTCwAbXY/Vavx+nZ6P8zc4KbcAs=\n";
/// `signify-openbsd -S -s s.sec -m empty -x empty.sig` (an empty file)
pub const SIGNIFY_SIG_EMPTY: &str = "untrusted comment: verify with s.pub\nRWR9Dpg/ZrU1TPrlBbmiRJb7PSQcWgvLfa6rr6HAjlJHhVD4gM7fXi6inqmF63coCjlS2ekECzOefyV5sWkdy5uU9wVP5eZDow8=\n";
/// `sha256sum --tag bsd bsd.rd 'with space.txt'; sha512sum --tag bsd.rd` (GNU coreutils)
pub const SHA256_LIST: &str = "SHA256 (bsd) = 21721ffc9ac62efcdfda3e5f92f0b8ce612881e93722fab8b1002a469b6ebfff\nSHA256 (bsd.rd) = ccb206a0a12faa653eb4871f8ae93127d444838ff41d18bb3c5e3bf0c462783e\nSHA256 (with space.txt) = b8b8f25a5fc711caea1cfebfe02359e3ce2b9a8f9ce02d18fdcb1ba47ff095f1\nSHA512 (bsd.rd) = 42806b4c1f9ca4141ede2a724b5e08879a56a7cb88d9e1b7d097074ab67f535620e32c090048f51d914b7e23a19de180aa1cda7357e985918c6e510b173d2f47\n";
/// `signify-openbsd -S -e -s s.sec -m SHA256 -x SHA256.sig` (`signify -C` accepts it)
pub const SIGNIFY_EMBEDDED: &str = "untrusted comment: verify with s.pub\nRWR9Dpg/ZrU1TLxPyIw2YZ3Q72j9hgXmD1YBkz+r1P5yFWTx53vwRwcetuY4zhZu/noh2jzQ+a1URE/agBeAu12eqSAw5sfPIAo=\nSHA256 (bsd) = 21721ffc9ac62efcdfda3e5f92f0b8ce612881e93722fab8b1002a469b6ebfff\nSHA256 (bsd.rd) = ccb206a0a12faa653eb4871f8ae93127d444838ff41d18bb3c5e3bf0c462783e\nSHA256 (with space.txt) = b8b8f25a5fc711caea1cfebfe02359e3ce2b9a8f9ce02d18fdcb1ba47ff095f1\nSHA512 (bsd.rd) = 42806b4c1f9ca4141ede2a724b5e08879a56a7cb88d9e1b7d097074ab67f535620e32c090048f51d914b7e23a19de180aa1cda7357e985918c6e510b173d2f47\n";
/// minisign 0.11: `minisign -G -W -p m.pub -s m.key`
pub const MINISIGN_PUB: &str = "untrusted comment: minisign public key 4AD796F153E910E5\nRWTlEOlT8ZbXSmb6EVcfebxNhjjJC9zpNoL3h9qHziM3dDrUkBFl8LXH\n";
/// its unencrypted secret half (throwaway): must be refused as a public key
pub const MINISIGN_SEC: &str = "untrusted comment: minisign encrypted secret key\nRWQAAEIyAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA5RDpU/GW10rd0cTvKyZaQMzekeyJt/7wm3pCVs/yCF/5GgB0kPsEeWb6EVcfebxNhjjJC9zpNoL3h9qHziM3dDrUkBFl8LXHAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=\n";
/// `minisign -G -W -p m2.pub -s m2.key`
pub const MINISIGN_PUB2: &str = "untrusted comment: minisign public key AE70120F075C20E7\nRWTnIFwHDxJwrpJWzsXFRALxQJbbiEMjuZoZCWimB/4cQ5ziNEeUDfAe\n";
/// `minisign -S -s m.key -m msg.txt -t "timestamp:1700000000<TAB>file:msg.txt<TAB>hashed"` (ED, prehashed)
pub const MINISIG_ED: &str = "untrusted comment: signature from minisign secret key\nRUTlEOlT8ZbXSp/3/V/0LjO8+r0ZvbVFyhwsbMethzbiGRIn7yxlcPOYNVG7u4JxDsMzmeymLoNHgGmc1BeRQwoi9CMDlvf+hA4=\ntrusted comment: timestamp:1700000000\tfile:msg.txt\thashed\nbsQBOKrW4HF95vljqd3EzvEWFvG0zhWQbtls1eHUIf3/Of+uE6wtpYy4RiSrD7xWM4zpmnD+wI1LMUMr3Z25CA==\n";
/// `minisign -S -l -s m.key -m msg.txt -t "timestamp:1700000000<TAB>file:msg.txt"` (legacy Ed)
pub const MINISIG_LEGACY: &str = "untrusted comment: signature from minisign secret key\nRWTlEOlT8ZbXSgKGcF74/Jp3FAF1PGuQRSl1/ogaOZ+Q6PFzgYssdKX0ozuZafTWwfp9V8MIVcoLo3T2/Ldms6wfX71ghG9yBws=\ntrusted comment: timestamp:1700000000\tfile:msg.txt\nF7Uqvme+afbBmPGVfpysxsi0QfBbyWXRVvsckTvoFsbktupjlqRL71ysdabY7N0D7xcmjBkcgZXVqd7ourSRDw==\n";
/// `minisign -S -s m.key -m empty -t "timestamp:1700000000<TAB>file:empty"`
pub const MINISIG_EMPTY: &str = "untrusted comment: signature from minisign secret key\nRUTlEOlT8ZbXSoxfbHZUqOKVHG1BOgexPxPJ1LeUjAKvzoobPcQx9NZtD7ZADCjwRXphIxFCkjRBp7EklDabIKRVkWGMPZ41KAg=\ntrusted comment: timestamp:1700000000\tfile:empty\nkfsAII3yBgYWsE2s9HdmpT70OInz5WiJnEnegm2nY3TJOdKaK6J+KICzxaMlsG0S9pyFroir6eYZiZUnGoqkDA==\n";
/// `minisign -S -s m2.key -m msg.txt -t "other key"`
pub const MINISIG_K2: &str = "untrusted comment: signature from minisign secret key\nRUTnIFwHDxJwrpUNp3IEhgwzzGqTePxqbAWGlLg6wWCC+rRCBjMTBKh/loquQ9cp8WNr9t180J7YAzWoCSYq7ETOY+nGxZ/2fgo=\ntrusted comment: other key\nqqlDpBUYz7b8RkeQsTB+zxlzXU/Uk42anTxWt+3iC7e+jpnRi5RjdPRKSi52hlUjtFooZjRV5W7jOb/10KE2CQ==\n";
/// OpenSSH 9.2p1: `ssh-keygen -t ed25519 -N "" -C fuzz@mirrorproof.example -f k` (and k2), then the allowed_signers line for k
pub const SSH_ALLOWED: &str = "fuzz@mirrorproof.example ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIE2NdzRn7f74zRSEkt3Pj9qU2ImDNcC0s488BXJYrB7z\n";
/// options, a negated pattern, a cert-authority line, an RSA line and k2 (`ssh-keygen -Y verify` and `-Y find-principals` accept it)
pub const SSH_ALLOWED_OPTS: &str = "# signers\n\"fuzz@mirrorproof.example,*@example.org,!evil@example.org\" namespaces=\"file,factory images\",valid-after=\"20200101Z\",valid-before=\"20991231235959Z\" ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIE2NdzRn7f74zRSEkt3Pj9qU2ImDNcC0s488BXJYrB7z fuzz@mirrorproof.example\nother@example.org cert-authority ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIE5LNnyuQ8ggINNSCxRDQYgWLJhOuwJ26J8DsfVao+3T\nrsa@example.org ssh-rsa AAAAB3NzaC1yc2EAAAADAQABAAAAgQDm0hFb8kRUpRnz6tmvqWQTVC0IVcKXwmBhqEPeDLa+tvoNHmDw712jtUXvlD9lpD74sHv8j7iOZcUafxE1FhH7+dOkWf/QzOfF4//QEdZ9jefwcFgPZHLSP/KhxcOywbalRxcfQXc8B1bHgjNrVtiiONdZ0nYazbh3iik8xy/LhQ==\nk2@example.org ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIE5LNnyuQ8ggINNSCxRDQYgWLJhOuwJ26J8DsfVao+3T\n";
/// `ssh-keygen -Y sign -f k -n file msg.txt`
pub const SSHSIG_512: &str = "-----BEGIN SSH SIGNATURE-----\nU1NIU0lHAAAAAQAAADMAAAALc3NoLWVkMjU1MTkAAAAgTY13NGft/vjNFISS3c+P2pTYiY\nM1wLSzjzwFclisHvMAAAAEZmlsZQAAAAAAAAAGc2hhNTEyAAAAUwAAAAtzc2gtZWQyNTUx\nOQAAAEBlCYNTb+jAZxdj6FbHkq7CH0YlGR98dH5E717V/OVnoOn5cMmKzt1jzViUcC33Dn\nqyB7JJBKPxUgrGh2wGdSMB\n-----END SSH SIGNATURE-----\n";
/// `ssh-keygen -Y sign -f k -n file -O hashalg=sha256 msg.txt`
pub const SSHSIG_256: &str = "-----BEGIN SSH SIGNATURE-----\nU1NIU0lHAAAAAQAAADMAAAALc3NoLWVkMjU1MTkAAAAgTY13NGft/vjNFISS3c+P2pTYiY\nM1wLSzjzwFclisHvMAAAAEZmlsZQAAAAAAAAAGc2hhMjU2AAAAUwAAAAtzc2gtZWQyNTUx\nOQAAAEBOcCNijptyBD0LP/o7nx0f6FpUw31th15gx7b3gySMU9bDaOWz9JdaN/10irnG6e\nV8nj9VR41uvmO2iad+iwEH\n-----END SSH SIGNATURE-----\n";
/// `ssh-keygen -Y sign -f k -n "factory images" msg.txt`
pub const SSHSIG_FACTORY: &str = "-----BEGIN SSH SIGNATURE-----\nU1NIU0lHAAAAAQAAADMAAAALc3NoLWVkMjU1MTkAAAAgTY13NGft/vjNFISS3c+P2pTYiY\nM1wLSzjzwFclisHvMAAAAOZmFjdG9yeSBpbWFnZXMAAAAAAAAABnNoYTUxMgAAAFMAAAAL\nc3NoLWVkMjU1MTkAAABADlj9MRszlq7Wsj5jMVdZU43sifJCpigcKPdCLtDmN+nsKiQ6Ux\nki8AROHWkIWCKjUKsysk+/iOk2okqAusyhDQ==\n-----END SSH SIGNATURE-----\n";
/// `ssh-keygen -Y sign -f k2 -n file msg.txt`
pub const SSHSIG_K2: &str = "-----BEGIN SSH SIGNATURE-----\nU1NIU0lHAAAAAQAAADMAAAALc3NoLWVkMjU1MTkAAAAgTks2fK5DyCAg01ILFENBiBYsmE\n67AnbonwOx9Vqj7dMAAAAEZmlsZQAAAAAAAAAGc2hhNTEyAAAAUwAAAAtzc2gtZWQyNTUx\nOQAAAECiYb5byoYhgYp6/eQWcECPWtdiF5r2wWrhnSnxQ2genpn1Ey3V22fbLsQUzcTmHS\ntzymu73naQz+rR9SUZ9wMB\n-----END SSH SIGNATURE-----\n";
/// `ssh-keygen -Y sign -f k -n file empty`
pub const SSHSIG_EMPTY: &str = "-----BEGIN SSH SIGNATURE-----\nU1NIU0lHAAAAAQAAADMAAAALc3NoLWVkMjU1MTkAAAAgTY13NGft/vjNFISS3c+P2pTYiY\nM1wLSzjzwFclisHvMAAAAEZmlsZQAAAAAAAAAGc2hhNTEyAAAAUwAAAAtzc2gtZWQyNTUx\nOQAAAEBsWz4swHuNJPLLJoqfk5QgGd5R3RlFkn/6aJXygb6JkLHvMnOivMGH1xTYJ30BfI\nsdtaPISX+LDHCl/JouLnwK\n-----END SSH SIGNATURE-----\n";
/// `sha256sum --tag 'x) = y' sub/f.img; sha512sum --tag 'x) = y'`: a name holding `) = `,
/// a path, and no final newline.
pub const CHECKSUMS_AWKWARD: &str = "SHA256 (x) = y) = ca978112ca1bbdcafac231b39a23dc4da786eff8147c4e72b9807785afee48bb\nSHA256 (sub/f.img) = 2e7d2c03a9507ae265ecf5b5356885a53393a2029d241394997265a1a25aefc6\nSHA512 (x) = y) = 1f40fc92da241694750979ee6cf582f2d5d7d28e18335de05abc54d0560e0f5302860c652bf08d560252aa5e74210546f369fbbbce8c12cfc7957b2652fe9a75";

// ---------------------------------------------------------------------------------------
// Real published keys (the ones the profiles pin).

pub const OPENBSD_79_PUB: &str = include_str!("../../../keys/openbsd-79-base.pub");
pub const DNSCRYPT_PUB: &str = include_str!("../../../keys/dnscrypt-resolvers.pub");
pub const GRAPHENE_ALLOWED: &str = include_str!("../../../keys/grapheneos.allowed_signers");
pub const SUMDB_VKEY_FILE: &str = include_str!("../../../keys/sum.golang.org.vkey");

// ---------------------------------------------------------------------------------------
// Signed notes: golang.org/x/mod sumdb/note/note_test.go vectors, and real sum.golang.org
// tree heads (the same ones src/schemes/note.rs and tests/ use).

pub const PETER_VKEY: &str = "PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW";
pub const ENOCH_VKEY: &str = "EnochRoot+af0cfe78+ATtqJ7zOtqQtYqOo0CpvDXNlMhV3HeJDpjrASKGLWdop";
pub const SUMDB_VKEY: &str = "sum.golang.org+033de0ae+Ac4zctda0e5eza+HJyk9SxEdh+s3Ux18htTTAD8OuAn8";
pub const GO_TEXT: &str = "If you think cryptography is the answer to your problem,\nthen you don't know what your problem is.\n";
pub const PETER_SIG: &str = "\u{2014} PeterNeumann x08go/ZJkuBS9UG/SffcvIAQxVBtiFupLLr8pAcElZInNIuGUgYN1FFYC2pZSNXgKvqfqdngotpRZb6KE6RyyBwJnAM=\n";
pub const ENOCH_SIG: &str = "\u{2014} EnochRoot rwz+eBzmZa0SO3NbfRGzPCpDckykFXSdeX+MNtCOXm2/5n2tiOHp+vAF1aGrQ5ovTG01oOTGwnWLox33WWd1RvMc+QQ=\n";
pub const SUMDB_NOTE_1: &str = "go.sum database tree\n15368405\n/g9am3I6YWNKaZX/jkne1fqd9zEyjss+JXyPXG0WfkY=\n\n\u{2014} sum.golang.org Az3grqJGUaSGukG9p8nI2vKgiFn7qGHxn0W+mrwyI6Gz3F0t1J3LzmWk/p96Ybf295EjwdSwlzgijq5WA9d1Ded7owM=\n";
pub const SUMDB_NOTE_2: &str = "go.sum database tree\n63096908\n8lHrQPRYe4KT4WQ9/Qk8/taKnD6IRHbFgfN7vQE2Y54=\n\n\u{2014} sum.golang.org Az3gri/oVBN1jAhNZ/iS+W31psFAWRT20/GyrhpU6taFwulQGetBkH5S7wpGXdS935jiIGiUUAXBVHzT/P6fYhqAmAk=\n";
/// sum.golang.org/latest on 2024-09-23 (sigsum/sigsum-go pkg/checkpoint/checkpoint_test.go).
pub const SUMDB_NOTE_3: &str = "go.sum database tree\n30055305\nmXfgRcJ0bG0j3CPdKwgGWtUzBUbX67saZGRmFuJGGsM=\n\n\u{2014} sum.golang.org Az3grpgEild5qw7+5dtV13Kf1C2Xurm8q4fhdxvcsDHnqNTaxL2AFjBY+2TyGKevucFcAAlWFJJYle3EJlDCrQ+y3A8=\n";
/// c2sp.org/tlog-checkpoint's example (names changed by the spec: verifies under no key).
pub const SPEC_CHECKPOINT: &str = "example.com/behind-the-sofa\n20852163\nCsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=\n\n\u{2014} example.com/behind-the-sofa Az3grlgtzPICa5OS8npVmf1Myq/5IZniMp+ZJurmRDeOoRDe4URYN7u5/Zhcyv2q1gGzGku9nTo+zyWE+xeMcTOAYQ8=\n";
/// c2sp.org/signed-note's example (its key is not published).
pub const SPEC_NOTE: &str = "Ognuno sta solo sul cuor della terra\ntrafitto da un raggio di sole:\n\ned \u{e8} subito sera.\n\n\u{2014} quasimodo.example/salvatore NnugSzTjtVAewIS+Z/iJhUPeFDkO/5QQ2i5ddnGITLlC+EhfLW9oJKONrMouFSQU0xMcXxj99ihAQwaqP3ZekRwNtIc=\n";

/// A log key of our own (fixed seed), so checkpoints with extension lines and inner blank
/// lines can be signed deterministically with `note::sign`.
pub const OWN_LOG: &str = "example.com/mirrorproof-fuzz-log";
pub const OWN_CHECKPOINT: &str = "example.com/mirrorproof-fuzz-log\n7\nCsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=\n";
pub const OWN_CHECKPOINT_EXT: &str = "example.com/mirrorproof-fuzz-log\n18446744073709551615\nAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=\nwitness extension line\n\u{2014} not a signature\n";
pub const OWN_TEXT_BLANKS: &str = "first paragraph\n\nsecond paragraph\n";

pub fn own_log_key() -> SecretKey {
    match SecretKey::from_seed(&[0x42; 32]) {
        Ok(k) => k,
        Err(e) => panic!("fixed note seed: {e}"),
    }
}

/// Our own notes, signed by the fixed log key (deterministic, Ed25519).
pub fn own_notes() -> Vec<(&'static str, String)> {
    let k = own_log_key();
    [
        ("own-checkpoint.note", OWN_CHECKPOINT),
        ("own-checkpoint-ext.note", OWN_CHECKPOINT_EXT),
        ("own-blank-lines.note", OWN_TEXT_BLANKS),
    ]
    .into_iter()
    .map(|(name, text)| match note::sign(text, OWN_LOG, &k) {
        Ok(n) => (name, n),
        Err(e) => panic!("signing {name}: {e}"),
    })
    .collect()
}

// ---------------------------------------------------------------------------------------
// Parsed fixture and the registry of genuine signatures.

pub struct Fixture {
    /// s.pub, s2.pub.
    pub signify_keys: Vec<SignifyKey>,
    /// m.pub, m2.pub.
    pub minisign_keys: Vec<MinisignKey>,
    /// SSH_ALLOWED_OPTS, parsed.
    pub ssh_signers: Vec<AllowedSigner>,
    /// Peter, Enoch, sum.golang.org and our own log key.
    pub note_verifiers: Vec<Verifier>,
    /// (keynum, signature, message) of every genuine signify signature.
    pub signify_genuine: Vec<([u8; 8], [u8; 64], Vec<u8>)>,
    /// Every genuine minisign signature file, parsed, with its message.
    pub minisign_genuine: Vec<(MinisignSignature, Vec<u8>)>,
    /// Every genuine SSHSIG, parsed, with its message.
    pub ssh_genuine: Vec<(SshSignature, Vec<u8>)>,
    /// The texts of every genuinely signed note.
    pub note_texts: Vec<String>,
}

fn ok<T, E: std::fmt::Display>(r: Result<T, E>, what: &str) -> T {
    match r {
        Ok(v) => v,
        Err(e) => panic!("fixture {what}: {e}"),
    }
}

pub static FIXTURE: LazyLock<Fixture> = LazyLock::new(|| {
    let signify_keys = vec![
        ok(signify::parse(SIGNIFY_PUB.as_bytes()), "s.pub"),
        ok(signify::parse(SIGNIFY_PUB2.as_bytes()), "s2.pub"),
    ];
    let mut signify_genuine = Vec::new();
    for (file, key, msg) in [
        (SIGNIFY_SIG, 0, MSG),
        (SIGNIFY_SIG_K2, 1, MSG),
        (SIGNIFY_SIG_EMPTY, 0, b"".as_slice()),
        (SIGNIFY_EMBEDDED, 0, SHA256_LIST.as_bytes()),
    ] {
        let (sig, embedded) = ok(signify::parse_signature(file.as_bytes()), "signify sig");
        let msg = if embedded.is_empty() { msg } else { embedded };
        ok(signify::verify(&signify_keys[key], &sig, msg), "signify verify");
        signify_genuine.push((sig.keynum, sig.signature, msg.to_vec()));
    }

    let minisign_keys = vec![
        ok(MinisignKey::parse(MINISIGN_PUB.as_bytes()), "m.pub"),
        ok(MinisignKey::parse(MINISIGN_PUB2.as_bytes()), "m2.pub"),
    ];
    let mut minisign_genuine = Vec::new();
    for (file, key, msg) in [
        (MINISIG_ED, 0, MSG),
        (MINISIG_LEGACY, 0, MSG),
        (MINISIG_EMPTY, 0, b"".as_slice()),
        (MINISIG_K2, 1, MSG),
    ] {
        let sig = ok(minisign::parse_signature(file.as_bytes()), "minisig");
        ok(
            minisign::verify(&minisign_keys[key], &sig, Message::Bytes(msg)),
            "minisign verify",
        );
        minisign_genuine.push((sig, msg.to_vec()));
    }

    let ssh_signers = ok(
        sshsig::parse_allowed_signers(SSH_ALLOWED_OPTS.as_bytes()),
        "allowed_signers",
    );
    let mut ssh_genuine = Vec::new();
    for (file, identity, namespace, msg) in [
        (SSHSIG_512, SSH_IDENTITY, "file", MSG),
        (SSHSIG_256, SSH_IDENTITY, "file", MSG),
        (SSHSIG_FACTORY, SSH_IDENTITY, "factory images", MSG),
        (SSHSIG_K2, "k2@example.org", "file", MSG),
        (SSHSIG_EMPTY, SSH_IDENTITY, "file", b"".as_slice()),
    ] {
        let sig = ok(sshsig::parse_signature(file.as_bytes()), "sshsig");
        ok(
            sshsig::verify(&ssh_signers, identity, namespace, &sig, Message::Bytes(msg), NOW),
            "sshsig verify",
        );
        ssh_genuine.push((sig, msg.to_vec()));
    }

    let own = own_log_key();
    let own_vkey = note::key_line(OWN_LOG, own.public());
    let note_verifiers: Vec<Verifier> = [PETER_VKEY, ENOCH_VKEY, SUMDB_VKEY, own_vkey.as_str()]
        .iter()
        .map(|v| ok(Verifier::parse(v), "vkey"))
        .collect();
    let mut note_texts = Vec::new();
    let go = format!("{GO_TEXT}\n{PETER_SIG}{ENOCH_SIG}");
    let own_notes: Vec<String> = own_notes().into_iter().map(|(_, n)| n).collect();
    for n in [go.as_str(), SUMDB_NOTE_1, SUMDB_NOTE_2, SUMDB_NOTE_3]
        .into_iter()
        .chain(own_notes.iter().map(String::as_str))
    {
        let v = ok(note::open(n.as_bytes(), &note_verifiers), "note");
        note_texts.push(v.text);
    }
    Fixture {
        signify_keys,
        minisign_keys,
        ssh_signers,
        note_verifiers,
        signify_genuine,
        minisign_genuine,
        ssh_genuine,
        note_texts,
    }
});

pub fn fixture() -> &'static Fixture {
    &FIXTURE
}

// ---------------------------------------------------------------------------------------
// Invariant helpers.

/// Every error must render as one non-empty line (they go straight into a report field).
pub fn one_line(e: &dyn std::fmt::Display) -> String {
    let s = e.to_string();
    assert!(
        !s.contains('\n') && !s.contains('\r'),
        "error message spans several lines: {s:?}"
    );
    assert!(!s.trim().is_empty(), "empty error message");
    s
}

pub fn check_err<T>(r: &Result<T, SchemeError>) {
    if let Err(e) = r {
        one_line(e);
    }
}

/// Splits the input at NUL bytes into at most `n` parts (the last part keeps its NULs).
pub fn parts(data: &[u8], n: usize) -> Vec<&[u8]> {
    data.splitn(n, |&b| b == 0).collect()
}

/// Joins parts with NUL bytes, as `parts` splits them (for seeds).
pub fn join(items: &[&[u8]]) -> Vec<u8> {
    let mut out = Vec::new();
    for (i, p) in items.iter().enumerate() {
        if i > 0 {
            out.push(0);
        }
        out.extend_from_slice(p);
    }
    out
}

/// Whether `message` (bytes or digest) is the genuine message `m`, hashed as `digest` says.
fn same_message(message: Message<'_>, m: &[u8], digest: fn(&[u8]) -> Vec<u8>) -> bool {
    match message {
        Message::Bytes(b) => b == m,
        Message::Digest(d) => d == digest(m).as_slice(),
    }
}

pub fn assert_genuine_signify(sig: &SignifySignature, message: &[u8]) {
    let f = fixture();
    assert!(
        f.signify_genuine
            .iter()
            .any(|(k, s, m)| *k == sig.keynum && *s == sig.signature && m == message),
        "FORGERY: signify accepted keynum {} signature {} over {} message bytes that no key holder made",
        hex::encode(sig.keynum),
        hex::encode(sig.signature),
        message.len()
    );
}

pub fn assert_genuine_minisign(sig: &MinisignSignature, message: Message<'_>) {
    let f = fixture();
    assert!(
        f.minisign_genuine.iter().any(|(g, m)| g == sig
            && same_message(message, m, |b| minisign::blake2b512(b).to_vec())),
        "FORGERY: minisign accepted {sig:?} over {message:?}"
    );
}

pub fn sha(alg: HashAlg, b: &[u8]) -> Vec<u8> {
    match alg {
        HashAlg::Sha256 => Sha256::digest(b).to_vec(),
        HashAlg::Sha512 => Sha512::digest(b).to_vec(),
    }
}

pub fn assert_genuine_ssh(sig: &SshSignature, namespace: &str, message: Message<'_>) {
    let f = fixture();
    let ok = f.ssh_genuine.iter().any(|(g, m)| {
        g == sig
            && g.namespace == namespace
            && match message {
                Message::Bytes(b) => b == m.as_slice(),
                Message::Digest(d) => d == sha(g.hash, m).as_slice(),
            }
    });
    assert!(
        ok,
        "FORGERY: sshsig accepted {sig:?} in namespace {namespace:?} over {message:?}"
    );
}

pub fn assert_genuine_note_text(text: &str) {
    assert!(
        fixture().note_texts.iter().any(|t| t == text),
        "FORGERY: a note with text {text:?} opened under the pinned keys"
    );
}

/// The key a genuine SSH signature was made with, for "a foreign key never verifies".
pub fn genuine_ssh_keys() -> Vec<PublicKey> {
    let mut keys: Vec<PublicKey> = Vec::new();
    for (s, _) in &fixture().ssh_genuine {
        if !keys.contains(&s.key) {
            keys.push(s.key.clone());
        }
    }
    keys
}

/// OpenSSH `match_pattern` (match.c), as a dynamic program over bytes: `*` any run, `?`
/// any one byte, everything else literal. A reference for `sshsig::principal_matches`.
pub fn ref_glob(s: &[u8], p: &[u8]) -> bool {
    let mut dp = vec![false; p.len() + 1];
    dp[0] = true;
    for j in 1..=p.len() {
        dp[j] = dp[j - 1] && p[j - 1] == b'*';
    }
    for &c in s {
        let mut diag = dp[0];
        dp[0] = false;
        for j in 1..=p.len() {
            let up = dp[j];
            dp[j] = match p[j - 1] {
                b'*' => dp[j - 1] || up,
                b'?' => diag,
                x => diag && x == c,
            };
            diag = up;
        }
    }
    dp[p.len()]
}

/// OpenSSH `match_pattern_list(string, pattern, 0)`, transcribed from match.c: sub-patterns
/// are read left to right, a negated match refuses at once, a sub-pattern of 1023 bytes or
/// more refuses at once, otherwise any positive match accepts.
pub fn ref_match_list(s: &[u8], pat: &[u8]) -> bool {
    let mut got_positive = false;
    let mut i = 0;
    while i < pat.len() {
        let negated = pat[i] == b'!';
        if negated {
            i += 1;
        }
        let start = i;
        let mut subi = 0;
        while i < pat.len() && subi < 1023 && pat[i] != b',' {
            i += 1;
            subi += 1;
        }
        if subi >= 1023 {
            return false;
        }
        let sub = &pat[start..i];
        if i < pat.len() && pat[i] == b',' {
            i += 1;
        }
        if ref_glob(s, sub) {
            if negated {
                return false;
            }
            got_positive = true;
        }
    }
    got_positive
}

// ---------------------------------------------------------------------------------------
// Seeds, written by `cargo run --example make_seeds` into seeds/<target>/.

fn b(s: &str) -> Vec<u8> {
    s.as_bytes().to_vec()
}

pub fn seeds() -> Vec<(&'static str, String, Vec<u8>)> {
    let mut out: Vec<(&'static str, String, Vec<u8>)> = Vec::new();
    let mut add = |t: &'static str, name: &str, bytes: Vec<u8>| out.push((t, name.to_owned(), bytes));

    // signify: one file, read as key, signature (embedded list) and checksum list.
    for (name, f) in [
        ("s.pub", SIGNIFY_PUB),
        ("s2.pub", SIGNIFY_PUB2),
        ("s.sec", SIGNIFY_SEC),
        ("msg.txt.sig", SIGNIFY_SIG),
        ("msg.txt.k2.sig", SIGNIFY_SIG_K2),
        ("empty.sig", SIGNIFY_SIG_EMPTY),
        ("SHA256.sig", SIGNIFY_EMBEDDED),
        ("openbsd-79-base.pub", OPENBSD_79_PUB),
    ] {
        add("signify", name, b(f));
    }

    // checksums: lists as sha256sum/sha512sum --tag write them.
    add("checksums", "SHA256", b(SHA256_LIST));
    add("checksums", "awkward-names", b(CHECKSUMS_AWKWARD));

    // minisign: one file, read as key and as signature.
    for (name, f) in [
        ("m.pub", MINISIGN_PUB),
        ("m2.pub", MINISIGN_PUB2),
        ("m.key", MINISIGN_SEC),
        ("bare.pub", MINISIGN_PUB.lines().nth(1).unwrap_or_default()),
        ("msg.txt.minisig", MINISIG_ED),
        ("msg.txt.legacy.minisig", MINISIG_LEGACY),
        ("empty.minisig", MINISIG_EMPTY),
        ("msg.txt.k2.minisig", MINISIG_K2),
        ("dnscrypt-resolvers.pub", DNSCRYPT_PUB),
    ] {
        add("minisign", name, b(f));
    }

    // sshsig: allowed_signers \0 signature \0 identity \0 namespace (missing parts default).
    let ssh: [(&str, &str, &str, &str, &str); 8] = [
        ("opts-512", SSH_ALLOWED_OPTS, SSHSIG_512, SSH_IDENTITY, "file"),
        ("opts-256", SSH_ALLOWED_OPTS, SSHSIG_256, "a@example.org", "file"),
        ("opts-factory", SSH_ALLOWED_OPTS, SSHSIG_FACTORY, SSH_IDENTITY, "factory images"),
        ("opts-k2", SSH_ALLOWED_OPTS, SSHSIG_K2, "k2@example.org", "file"),
        ("plain-empty", SSH_ALLOWED, SSHSIG_EMPTY, SSH_IDENTITY, "file"),
        ("negated", SSH_ALLOWED_OPTS, SSHSIG_512, "evil@example.org", "file"),
        ("graphene", GRAPHENE_ALLOWED, SSHSIG_FACTORY, "contact@grapheneos.org", "factory images"),
        ("patterns", "*@example.org,!evil@*,fuzz@mirrorproof.exampl?", SSHSIG_512, "x@example.org", "file"),
    ];
    for (name, a, s, i, n) in ssh {
        add("sshsig", name, join(&[a.as_bytes(), s.as_bytes(), i.as_bytes(), n.as_bytes()]));
    }
    add("sshsig", "allowed-only", b(SSH_ALLOWED_OPTS));

    // note: one file, read as verifier list, note and checkpoint; or vkeys \0 note.
    let go = format!("{GO_TEXT}\n{PETER_SIG}{ENOCH_SIG}");
    let notes: Vec<(String, String)> = [
        ("go-peter-enoch.note", go.clone()),
        ("sumdb-1.note", SUMDB_NOTE_1.into()),
        ("sumdb-2.note", SUMDB_NOTE_2.into()),
        ("sumdb-3.note", SUMDB_NOTE_3.into()),
        ("spec-checkpoint.note", SPEC_CHECKPOINT.into()),
        ("spec-note.note", SPEC_NOTE.into()),
    ]
    .into_iter()
    .map(|(n, t)| (n.to_owned(), t))
    .chain(own_notes().into_iter().map(|(n, t)| (n.to_owned(), t)))
    .collect();
    for (name, n) in &notes {
        add("note", name, b(n));
    }
    add("note", "sum.golang.org.vkey", b(SUMDB_VKEY_FILE));
    add(
        "note",
        "vkeys.txt",
        b(&format!("# Go's test keys\n{PETER_VKEY}\n\t{ENOCH_VKEY} \n\n{SUMDB_VKEY}\n")),
    );
    add("note", "checkpoint.txt", b(OWN_CHECKPOINT_EXT));
    add(
        "note",
        "vkeys-then-note",
        join(&[format!("{PETER_VKEY}\n{ENOCH_VKEY}\n").as_bytes(), go.as_bytes()]),
    );

    // detect: key \0 signature \0 message.
    let own = note::key_line(OWN_LOG, own_log_key().public());
    let own_note = notes
        .iter()
        .find(|(n, _)| n == "own-checkpoint.note")
        .map(|(_, t)| t.clone())
        .unwrap_or_default();
    let detect: Vec<(&str, Vec<u8>)> = vec![
        ("signify", join(&[SIGNIFY_PUB.as_bytes(), SIGNIFY_SIG.as_bytes()])),
        ("signify-empty", join(&[SIGNIFY_PUB.as_bytes(), SIGNIFY_SIG_EMPTY.as_bytes(), b""])),
        ("signify-embedded", join(&[SIGNIFY_PUB.as_bytes(), SIGNIFY_EMBEDDED.as_bytes()])),
        ("signify-k2", join(&[SIGNIFY_PUB2.as_bytes(), SIGNIFY_SIG_K2.as_bytes()])),
        ("minisign-ed", join(&[MINISIGN_PUB.as_bytes(), MINISIG_ED.as_bytes()])),
        ("minisign-legacy", join(&[MINISIGN_PUB.as_bytes(), MINISIG_LEGACY.as_bytes()])),
        (
            "minisign-bare-empty",
            join(&[MINISIGN_PUB.lines().nth(1).unwrap_or_default().as_bytes(), MINISIG_EMPTY.as_bytes(), b""]),
        ),
        ("sshsig", join(&[SSH_ALLOWED_OPTS.as_bytes(), SSHSIG_512.as_bytes()])),
        ("sshsig-256", join(&[SSH_ALLOWED.as_bytes(), SSHSIG_256.as_bytes()])),
        ("note-own", join(&[own.as_bytes(), own_note.as_bytes()])),
        ("note-go", join(&[format!("{PETER_VKEY}\n{ENOCH_VKEY}\n").as_bytes(), go.as_bytes()])),
        ("openbsd-key", b(OPENBSD_79_PUB)),
        ("dnscrypt-key", b(DNSCRYPT_PUB)),
        ("graphene-key", b(GRAPHENE_ALLOWED)),
        ("sumdb-key", b(SUMDB_VKEY_FILE)),
        (
            "ambiguous-comment",
            join(&[SIGNIFY_PUB.replace("mirrorproof fuzz key public key", "x").as_bytes(), MINISIG_ED.as_bytes()]),
        ),
    ];
    for (name, bytes) in detect {
        add("detect", name, bytes);
    }

    // update_metadata: metadata \0 path.
    for (name, meta, path) in [
        ("husky", "2024122200 1734899135 husky stable\n", "husky-stable"),
        ("nested", "2025010100 1735689600 shiba beta", "releases/shiba-beta"),
        ("mismatch", "2024122200 1734899135 husky stable\n", "husky-beta"),
        ("leading-zero", "02024122200 1734899135 husky stable\n", "husky-stable"),
        ("u64-max", "18446744073709551615 1 a b\n", "a-b"),
        // Found by this target: a line break in the path lets one into `channel`.
        ("newline-path", "2 89600 shiba be\na", "shiba-be\na"),
    ] {
        add("update_metadata", name, join(&[meta.as_bytes(), path.as_bytes()]));
    }

    // profile_signed: the real profiles of every scheme.
    for (name, text) in [
        ("dnscrypt-public-resolvers.toml", include_str!("../../../profiles/dnscrypt-public-resolvers.toml")),
        ("go-sumdb.toml", include_str!("../../../profiles/go-sumdb.toml")),
        ("grapheneos-husky-stable.toml", include_str!("../../../profiles/grapheneos-husky-stable.toml")),
        ("openbsd-7.8-amd64.toml", include_str!("../../../profiles/openbsd-7.8-amd64.toml")),
    ] {
        add("profile_signed", name, b(text));
    }
    add(
        "profile_signed",
        "signify-detached.toml",
        b("name = \"x\"\nscheme = \"signify\"\nkey = \"k.pub\"\nchannel = \"c\"\nfile = \"a/{version}/f\"\nsignature = \"a/{version}/f.sig\"\nversion_file = \"v\"\n"),
    );
    out
}

// ---------------------------------------------------------------------------------------
// Checksum lists (used by `checksums` and by `signify` on embedded lists).

/// `checksums::parse` on `text`, with its invariants: one spelling per line (every line is
/// exactly the rendering of one entry, and every entry renders to a line of the input),
/// one entry per distinct line, safe names, and `lookup` finding each entry once.
pub fn check_checksum_list(text: &[u8]) {
    use mirrorproof::schemes::checksums::{self, Digest as D};
    use std::collections::BTreeSet;

    let r = checksums::parse(text);
    check_err(&r);
    let Ok(entries) = r else {
        return;
    };
    assert!(!entries.is_empty() && entries.len() <= checksums::MAX_ENTRIES);
    let body = text.strip_suffix(b"\n").unwrap_or(text);
    let lines: BTreeSet<&[u8]> = body.split(|&c| c == b'\n').collect();
    let rendered: BTreeSet<Vec<u8>> = entries
        .iter()
        .map(|e| {
            format!("{} ({}) = {}", e.digest.algorithm(), e.name, e.digest.to_hex()).into_bytes()
        })
        .collect();
    assert_eq!(rendered.len(), entries.len(), "an entry is kept twice");
    assert_eq!(
        lines.len(),
        rendered.len(),
        "distinct lines and entries differ in number"
    );
    for l in &lines {
        assert!(
            rendered.contains(*l),
            "line {:?} is not the one spelling of any entry",
            String::from_utf8_lossy(l)
        );
    }
    for e in &entries {
        let n = &e.name;
        assert!(!n.is_empty() && n.len() <= checksums::MAX_NAME_BYTES);
        assert!(!n.chars().any(char::is_control), "control char in {n:?}");
        assert!(!n.starts_with('/'), "absolute name {n:?}");
        assert!(!n.split('/').any(|c| c == ".."), "dot-dot name {n:?}");
        match &e.digest {
            D::Sha256(d) => assert_eq!(e.digest.as_bytes(), d.as_slice()),
            D::Sha512(d) => assert_eq!(e.digest.as_bytes(), d.as_slice()),
        }
        let found = checksums::lookup(&entries, n);
        assert!(found.iter().any(|x| *x == e));
        let algs: BTreeSet<&str> = found.iter().map(|x| x.digest.algorithm()).collect();
        assert_eq!(algs.len(), found.len(), "{n:?} listed twice for one algorithm");
    }
}
