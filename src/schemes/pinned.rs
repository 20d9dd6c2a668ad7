//! One face for the four formats: a pinned key of any scheme, a parsed signature of any
//! scheme, and one `verify`. `check` and `verify --key/--sig` both go through here, so a
//! signature is judged the same way whichever command reads it.

use super::{Format, Message, Prehash, SchemeError, minisign, note, signify, sshsig};

/// The trust a user pinned, in the scheme's own key format.
#[derive(Debug, Clone)]
pub enum Pinned {
    Signify(signify::SignifyKey),
    Minisign(minisign::MinisignKey),
    Sshsig {
        signers: Vec<sshsig::AllowedSigner>,
        /// `None`: any principal of a matching allowed_signers line is accepted.
        identity: Option<String>,
        namespace: String,
    },
    Note(Vec<note::Verifier>),
}

impl Pinned {
    pub fn load(
        format: Format,
        key: &[u8],
        identity: Option<&str>,
        namespace: Option<&str>,
    ) -> Result<Pinned, SchemeError> {
        if format != Format::Sshsig && (identity.is_some() || namespace.is_some()) {
            return Err(SchemeError::Policy(format!(
                "identity and namespace apply to OpenSSH signatures, not {}",
                format.as_str()
            )));
        }
        Ok(match format {
            Format::Signify => Pinned::Signify(signify::SignifyKey::parse(key)?),
            Format::Minisign => Pinned::Minisign(minisign::MinisignKey::parse(key)?),
            Format::Note => Pinned::Note(note::parse_verifiers(key)?),
            Format::Sshsig => {
                let namespace = namespace.filter(|n| !n.is_empty()).ok_or_else(|| {
                    SchemeError::Policy(
                        "OpenSSH signatures need a namespace (--namespace); a signature made for another purpose must not pass".into(),
                    )
                })?;
                Pinned::Sshsig {
                    signers: sshsig::parse_allowed_signers(key)?,
                    identity: identity.map(str::to_owned),
                    namespace: namespace.to_owned(),
                }
            }
        })
    }

    /// How many keys are pinned (allowed_signers lines, note verifiers), for reports.
    pub fn key_count(&self) -> usize {
        match self {
            Pinned::Signify(_) | Pinned::Minisign(_) => 1,
            Pinned::Sshsig { signers, .. } => signers.len(),
            Pinned::Note(v) => v.len(),
        }
    }

    pub fn format(&self) -> Format {
        match self {
            Pinned::Signify(_) => Format::Signify,
            Pinned::Minisign(_) => Format::Minisign,
            Pinned::Sshsig { .. } => Format::Sshsig,
            Pinned::Note(_) => Format::Note,
        }
    }
}

/// A parsed signature file. Signify may carry its message (an embedded checksum list).
#[derive(Debug, Clone)]
pub enum Signature {
    Signify {
        sig: signify::SignifySignature,
        embedded: Vec<u8>,
    },
    Minisign(minisign::MinisignSignature),
    Sshsig(sshsig::SshSignature),
}

impl Signature {
    pub fn parse(format: Format, bytes: &[u8]) -> Result<Signature, SchemeError> {
        match format {
            Format::Signify => {
                let (sig, embedded) = signify::parse_signature(bytes)?;
                Ok(Signature::Signify {
                    sig,
                    embedded: embedded.to_vec(),
                })
            }
            Format::Minisign => Ok(Signature::Minisign(minisign::parse_signature(bytes)?)),
            Format::Sshsig => Ok(Signature::Sshsig(sshsig::parse_signature(bytes)?)),
            Format::Note => Err(SchemeError::Policy(
                "signed notes carry their signatures inside the note".into(),
            )),
        }
    }

    /// A signature file that sits beside the file it signs: for signify, nothing may follow
    /// the two signature lines (an embedded message there would be ignored otherwise).
    pub fn parse_detached(format: Format, bytes: &[u8]) -> Result<Signature, SchemeError> {
        match format {
            Format::Signify => Ok(Signature::Signify {
                sig: signify::parse_detached(bytes)?,
                embedded: Vec::new(),
            }),
            other => Signature::parse(other, bytes),
        }
    }

    /// What the signed file must be streamed through, if the format signs a digest.
    pub fn prehash(&self) -> Prehash {
        match self {
            Signature::Signify { .. } => Prehash::None,
            Signature::Minisign(s) => minisign::prehash(s),
            Signature::Sshsig(s) => sshsig::prehash(s),
        }
    }

    /// The embedded message of a signify signature, if it has one.
    pub fn embedded(&self) -> Option<&[u8]> {
        match self {
            Signature::Signify { embedded, .. } if !embedded.is_empty() => Some(embedded),
            _ => None,
        }
    }
}

/// Verifies `message` against a signature under the pinned key; returns who signed, as the
/// format names signers (key number, key id, principal).
pub fn verify(
    pinned: &Pinned,
    signature: &Signature,
    message: Message<'_>,
    now: i64,
) -> Result<Vec<String>, SchemeError> {
    match (pinned, signature) {
        (Pinned::Signify(key), Signature::Signify { sig, .. }) => {
            let Message::Bytes(m) = message else {
                return Err(SchemeError::Policy(
                    "signify signs whole messages, not digests".into(),
                ));
            };
            signify::verify(key, sig, m)?;
            Ok(vec![format!(
                "signify key {}",
                signify::keynum_hex(&key.keynum)
            )])
        }
        (Pinned::Minisign(key), Signature::Minisign(sig)) => {
            minisign::verify(key, sig, message)?;
            Ok(vec![format!(
                "minisign key {}",
                minisign::key_id_hex(&key.key_id)
            )])
        }
        (
            Pinned::Sshsig {
                signers,
                identity,
                namespace,
            },
            Signature::Sshsig(sig),
        ) => {
            // Without an identity, the principals are looked up for this namespace: a
            // signature made for another one found none, and was reported as a key that
            // allowed_signers does not permit.
            sshsig::check_namespace(sig, namespace)?;
            let principals = match identity {
                Some(id) => vec![id.clone()],
                None => sshsig::find_principals(signers, sig, namespace, now),
            };
            if principals.is_empty() {
                return Err(SchemeError::Policy(
                    "the signing key is not allowed for this namespace in allowed_signers".into(),
                ));
            }
            let mut last = None;
            for p in &principals {
                match sshsig::verify(signers, p, namespace, sig, message, now) {
                    Ok(()) => return Ok(vec![format!("principal {p}")]),
                    Err(e) => last = Some(e),
                }
            }
            Err(last.unwrap_or(SchemeError::BadSignature(String::new())))
        }
        (p, _) => Err(SchemeError::Policy(format!(
            "the signature is not a {} signature",
            p.format().as_str()
        ))),
    }
}

/// Tells a key file's format from its bytes, with the signature file as a tie-breaker
/// (signify and minisign public keys have the same layout).
pub fn detect(key: &[u8], sig: Option<&[u8]>) -> Result<Format, SchemeError> {
    let text = String::from_utf8_lossy(key.get(..key.len().min(4096)).unwrap_or(key));
    let first = text
        .lines()
        .map(str::trim)
        .find(|l| !l.is_empty() && !l.starts_with('#'))
        .unwrap_or("");
    let sig_text = sig.map(|s| String::from_utf8_lossy(s.get(..s.len().min(4096)).unwrap_or(s)));
    if sig_text
        .as_deref()
        .is_some_and(|s| s.trim_start().starts_with("-----BEGIN SSH SIGNATURE-----"))
        || first.contains("ssh-ed25519 ")
        || first.contains("ssh-rsa ")
        || first.contains("ecdsa-sha2-")
    {
        return Ok(Format::Sshsig);
    }
    if first.starts_with("untrusted comment:") {
        let sig_says_minisign = sig_text.as_deref().is_some_and(|s| {
            s.lines()
                .nth(2)
                .is_some_and(|l| l.starts_with("trusted comment:"))
        });
        if sig_says_minisign || first.to_ascii_lowercase().contains("minisign") {
            return Ok(Format::Minisign);
        }
        // signify writes "<comment> public key".
        if first.ends_with("public key") {
            return Ok(Format::Signify);
        }
        // Publishers edit that comment ("signify public key for chneukirchen/void-aarch64",
        // "This key is only valid for releases with date 20191109."). An `Ed` key whose
        // comment does not name minisign, beside a signature file that is a well-formed
        // signify signature (an `Ed` signature, no trusted comment), is what `signify -V`
        // accepts: read it as signify. What that accepts is exactly what `signify -V`
        // accepts with this key. A signature file that names minisign in its own comment
        // ("signature from minisign secret key") is a minisign signature stripped of its
        // trusted comment, not a signify one: that stays ambiguous, so whoever relies on
        // minisign's trusted comment is told to pin the format.
        let sig_is_signify = sig.is_some_and(|s| {
            !sig_says_minisign
                && signify::parse_signature(s).is_ok()
                && !s.split(|&b| b == b'\n').next().is_some_and(|l| {
                    String::from_utf8_lossy(l)
                        .to_ascii_lowercase()
                        .contains("minisign")
                })
        });
        if sig_is_signify && signify::SignifyKey::parse(key).is_ok() {
            return Ok(Format::Signify);
        }
        return Err(SchemeError::Key(
            "the key could be a signify or a minisign key (its comment says neither, and the signature file does not decide): name the format with --format".into(),
        ));
    }
    // One bare line: a signed-note verifier key or a minisign key as `minisign -P` takes
    // it; each parser decides for itself.
    if note::Verifier::parse(first).is_ok() {
        return Ok(Format::Note);
    }
    if minisign::MinisignKey::parse(first.as_bytes()).is_ok() {
        return Ok(Format::Minisign);
    }
    Err(SchemeError::Key(
        "cannot tell the key's format (expected a signify or minisign public key, an OpenSSH allowed_signers file, or a signed-note verifier key)".into(),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    const OPENBSD: &str = include_str!("../../keys/openbsd-79-base.pub");
    const DNSCRYPT: &str = include_str!("../../keys/dnscrypt-resolvers.pub");
    const GO: &str = include_str!("../../keys/sum.golang.org.vkey");
    const GRAPHENE: &str = include_str!("../../keys/grapheneos.allowed_signers");

    #[test]
    fn formats_are_told_apart_by_their_own_parsers() {
        let d = |k: &str, s: Option<&str>| detect(k.as_bytes(), s.map(str::as_bytes));
        assert_eq!(d(OPENBSD, None), Ok(Format::Signify));
        assert_eq!(d(DNSCRYPT, None), Ok(Format::Minisign));
        // The bare form `minisign -P` takes, which contains '+' like a note key might.
        let bare = DNSCRYPT.lines().nth(1).unwrap();
        assert_eq!(d(bare, None), Ok(Format::Minisign));
        assert!(
            GO.contains("+Ac4zctda0e5eza+"),
            "a '+' inside the base64 part"
        );
        assert_eq!(d(GO, None), Ok(Format::Note));
        assert_eq!(d(GRAPHENE, None), Ok(Format::Sshsig));
        // signify and minisign keys share a layout: a minisign signature file decides.
        let minisig = "untrusted comment: x\nRWQ...\ntrusted comment: t\nAAAA\n";
        assert_eq!(
            d(&OPENBSD.replace("openbsd 7.9 base", "x"), Some(minisig)),
            Ok(Format::Minisign)
        );
        assert!(d("hello world\n", None).is_err());
        assert!(d("", None).is_err());
    }

    #[test]
    fn a_key_of_one_format_never_verifies_a_signature_of_another() {
        let pinned = Pinned::load(Format::Signify, OPENBSD.as_bytes(), None, None).unwrap();
        let sig = Signature::Minisign(
            minisign::parse_signature(
                b"untrusted comment: signature from minisign secret key\nRWQf6LRCGA9i59SLOFxz6NxvASXDJeRtuZykwQepbDEGt87ig1BNpWaVWuNrm73YiIiJbq71Wi+dP9eKL8OC351vwIasSSbXxwA=\ntrusted comment: timestamp:1555779966\tfile:test\nQtKMXWyYcwdpZAlPF7tE2ENJkRd1ujvKjlj1m9RtHTBnZPa5WKU5uWRs5GoP5M/VqE81QFuMKI5k/SfNQUaOAA==\n",
            )
            .unwrap(),
        );
        assert!(verify(&pinned, &sig, Message::Bytes(b"test"), 0).is_err());
        let minisign = Pinned::load(Format::Minisign, DNSCRYPT.as_bytes(), None, None).unwrap();
        assert!(verify(&minisign, &sig, Message::Bytes(b"test"), 0).is_ok());
        assert!(verify(&minisign, &sig, Message::Bytes(b"tesT"), 0).is_err());
    }

    #[test]
    fn ssh_signatures_need_a_namespace_and_others_refuse_one() {
        assert!(Pinned::load(Format::Sshsig, GRAPHENE.as_bytes(), None, None).is_err());
        assert!(Pinned::load(Format::Sshsig, GRAPHENE.as_bytes(), None, Some("")).is_err());
        assert!(Pinned::load(Format::Signify, OPENBSD.as_bytes(), None, Some("file")).is_err());
    }
}
