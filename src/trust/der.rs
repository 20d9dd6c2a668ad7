//! The little PEM and DER that TUF public keys need, read strictly.
//!
//! A TUF key value is text a publisher pasted into signed metadata, so the reader refuses
//! anything a second reader might see differently: one `PUBLIC KEY` block and nothing around
//! it but one optional line end, canonical base64, and DER whose every length is minimal and
//! whose outer structure uses up every byte. It is small enough to read in one sitting,
//! which is why it is written here rather than pulled in with a general ASN.1 crate: only two
//! fixed algorithm identifiers are ever accepted, compared byte for byte.

use base64::Engine;
use base64::engine::general_purpose::STANDARD;

use super::KeyError;

const BEGIN: &str = "-----BEGIN PUBLIC KEY-----";
const END: &str = "-----END PUBLIC KEY-----";

/// AlgorithmIdentifier { id-ecPublicKey, prime256v1 } (RFC 5480), as DER.
pub(crate) const ALG_EC_P256: &[u8] = &[
    0x30, 0x13, 0x06, 0x07, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x02, 0x01, 0x06, 0x08, 0x2a, 0x86, 0x48,
    0xce, 0x3d, 0x03, 0x01, 0x07,
];

/// AlgorithmIdentifier { rsaEncryption, NULL } (RFC 3279), as DER. The NULL is required
/// there and every encoder in use writes it.
pub(crate) const ALG_RSA: &[u8] = &[
    0x30, 0x0d, 0x06, 0x09, 0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x01, 0x05, 0x00,
];

const TAG_INTEGER: u8 = 0x02;
const TAG_BIT_STRING: u8 = 0x03;
const TAG_SEQUENCE: u8 = 0x30;

/// The DER inside a single `PUBLIC KEY` PEM block (a SubjectPublicKeyInfo).
///
/// `cryptography`'s loader also skips text before the block and after it; mirrorproof does
/// not, because a key value that carries more than a key is not what its keyid was made of.
pub(crate) fn pem_public_key(text: &str) -> Result<Vec<u8>, KeyError> {
    let body = text
        .strip_suffix("\r\n")
        .or_else(|| text.strip_suffix('\n'))
        .unwrap_or(text);
    let mut lines = body.split('\n').map(|l| l.strip_suffix('\r').unwrap_or(l));
    let first = lines.next().unwrap_or_default();
    if first != BEGIN {
        return Err(if first.starts_with("-----BEGIN ") {
            KeyError::MalformedKey("PEM label is not PUBLIC KEY")
        } else {
            KeyError::MalformedKey("text before the PEM block")
        });
    }
    let mut b64 = String::with_capacity(body.len());
    let mut ended = false;
    for line in lines {
        if ended {
            return Err(KeyError::MalformedKey("text after the PEM block"));
        }
        if line == END {
            ended = true;
            continue;
        }
        if line.is_empty()
            || !line
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"+/=".contains(&b))
        {
            return Err(KeyError::MalformedKey("PEM body is not base64"));
        }
        b64.push_str(line);
    }
    if !ended {
        return Err(KeyError::MalformedKey("PEM block has no END line"));
    }
    STANDARD
        .decode(b64.as_bytes())
        .map_err(|_| KeyError::MalformedKey("PEM body is not canonical base64"))
}

/// One DER element: its tag, its contents, and what follows it.
fn element(input: &[u8]) -> Result<(u8, &[u8], &[u8]), KeyError> {
    const BAD: KeyError = KeyError::MalformedKey("DER length is not minimal or runs past the end");
    let (&tag, rest) = input.split_first().ok_or(BAD)?;
    let (&first, rest) = rest.split_first().ok_or(BAD)?;
    let (len, rest) = match first {
        0..=0x7f => (usize::from(first), rest),
        0x81 => {
            let (&b, rest) = rest.split_first().ok_or(BAD)?;
            if b < 0x80 {
                return Err(BAD);
            }
            (usize::from(b), rest)
        }
        0x82 => {
            let [hi, lo, rest @ ..] = rest else {
                return Err(BAD);
            };
            let len = usize::from(*hi) << 8 | usize::from(*lo);
            if len < 0x100 {
                return Err(BAD);
            }
            (len, rest)
        }
        // Indefinite lengths (BER) and anything over 64 KiB: no key here is that big.
        _ => return Err(BAD),
    };
    if rest.len() < len {
        return Err(BAD);
    }
    let (contents, after) = rest.split_at(len);
    Ok((tag, contents, after))
}

/// Exactly one element with `tag` filling all of `input`.
fn only(input: &[u8], tag: u8) -> Result<&[u8], KeyError> {
    let (t, contents, after) = element(input)?;
    if t != tag {
        return Err(KeyError::MalformedKey("unexpected DER element"));
    }
    if !after.is_empty() {
        return Err(KeyError::MalformedKey("bytes after the DER structure"));
    }
    Ok(contents)
}

/// Splits a SubjectPublicKeyInfo into its AlgorithmIdentifier (whole element, tag and length
/// included, for a byte-for-byte comparison) and the key bytes inside the BIT STRING.
pub(crate) fn spki(der: &[u8]) -> Result<(&[u8], &[u8]), KeyError> {
    let inner = only(der, TAG_SEQUENCE)?;
    let (tag, _, rest) = element(inner)?;
    if tag != TAG_SEQUENCE {
        return Err(KeyError::MalformedKey(
            "SubjectPublicKeyInfo has no AlgorithmIdentifier",
        ));
    }
    let alg = &inner[..inner.len() - rest.len()];
    let bits = only(rest, TAG_BIT_STRING)?;
    match bits.split_first() {
        Some((0, key)) => Ok((alg, key)),
        _ => Err(KeyError::MalformedKey(
            "public key BIT STRING has unused bits",
        )),
    }
}

/// A DER INTEGER that must be positive and minimally encoded, without its sign byte.
fn positive_integer(contents: &[u8]) -> Result<&[u8], KeyError> {
    match contents {
        [] => Err(KeyError::MalformedKey("empty DER INTEGER")),
        [b, ..] if *b >= 0x80 => Err(KeyError::MalformedKey("negative DER INTEGER")),
        [0] => Err(KeyError::MalformedKey("zero DER INTEGER")),
        [0, b, ..] if *b < 0x80 => Err(KeyError::MalformedKey("DER INTEGER is not minimal")),
        [0, rest @ ..] => Ok(rest),
        _ => Ok(contents),
    }
}

/// The modulus and public exponent (big-endian, no leading zeros) of a PKCS #1 RSAPublicKey.
pub(crate) fn rsa_public_key(der: &[u8]) -> Result<(&[u8], &[u8]), KeyError> {
    let inner = only(der, TAG_SEQUENCE)?;
    let (tag, n, rest) = element(inner)?;
    if tag != TAG_INTEGER {
        return Err(KeyError::MalformedKey("RSA modulus is not an INTEGER"));
    }
    let e = only(rest, TAG_INTEGER)?;
    Ok((positive_integer(n)?, positive_integer(e)?))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lengths_must_be_minimal_and_inside_the_input() {
        assert!(element(&[0x04, 0x01, 0xaa]).is_ok());
        // Long form for a length that fits the short form.
        assert!(element(&[0x04, 0x81, 0x01, 0xaa]).is_err());
        // Two length bytes for a length under 256.
        let mut two = vec![0x04, 0x82, 0x00, 0x80];
        two.extend([0u8; 0x80]);
        assert!(element(&two).is_err());
        // Indefinite length.
        assert!(element(&[0x30, 0x80, 0x00, 0x00]).is_err());
        // Runs past the end.
        assert!(element(&[0x04, 0x05, 0xaa]).is_err());
        assert!(only(&[0x04, 0x01, 0xaa, 0x00], 0x04).is_err());
    }

    #[test]
    fn integers_must_be_positive_and_minimal() {
        assert_eq!(
            positive_integer(&[0x01, 0x00, 0x01]).ok(),
            Some(&[1u8, 0, 1][..])
        );
        assert_eq!(positive_integer(&[0x00, 0x80]).ok(), Some(&[0x80u8][..]));
        assert!(positive_integer(&[0x00, 0x7f]).is_err());
        assert!(positive_integer(&[0x80]).is_err());
        assert!(positive_integer(&[0x00]).is_err());
        assert!(positive_integer(&[]).is_err());
    }

    #[test]
    fn pem_is_one_block_and_nothing_else() {
        let ok = "-----BEGIN PUBLIC KEY-----\nAAEC\n-----END PUBLIC KEY-----\n";
        assert_eq!(pem_public_key(ok).ok(), Some(vec![0, 1, 2]));
        assert!(pem_public_key(ok.trim_end()).is_ok());
        assert!(pem_public_key(&ok.replace('\n', "\r\n")).is_ok());
        assert!(pem_public_key(&format!("{ok}\n")).is_err());
        assert!(pem_public_key(&format!("{ok}junk")).is_err());
        assert!(pem_public_key(&format!("x\n{ok}")).is_err());
        assert!(pem_public_key(&ok.replace("AAEC", "AA EC")).is_err());
        assert_eq!(
            pem_public_key(&ok.replace("AAEC", "AAE=")).ok(),
            Some(vec![0, 1])
        );
        assert!(
            pem_public_key(&ok.replace("AAEC", "AAF=")).is_err(),
            "non-canonical bits"
        );
        assert!(
            pem_public_key(&ok.replace("AAEC", "AAE")).is_err(),
            "missing padding"
        );
        assert!(pem_public_key(&ok.replace("PUBLIC KEY", "RSA PUBLIC KEY")).is_err());
        assert!(pem_public_key("-----BEGIN PUBLIC KEY-----\nAAEC\n").is_err());
    }
}
