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
        if sig_says_minisign || first.contains("minisign") {
            return Ok(Format::Minisign);
        }
        return Ok(Format::Signify);
    }
    if first.starts_with("RW") && !first.contains('+') {
        return Ok(Format::Minisign);
    }
    if first.split('+').count() == 3 {
        return Ok(Format::Note);
    }
    Err(SchemeError::Key(
        "cannot tell the key's format (expected a signify or minisign public key, an OpenSSH allowed_signers file, or a signed-note verifier key)".into(),
    ))
}
