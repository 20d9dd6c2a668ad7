#!/usr/bin/env python3
"""Regenerates fixtures/trust/vectors.json: TUF key objects, messages and signatures made by
the reference tools (pyca/cryptography and securesystemslib), each with the verdict
mirrorproof must give (`expected`) and the verdict securesystemslib gives (`securesystemslib`),
so tests/trust_keys.rs can check both the answers and every place the two differ.

    python3 -m venv /tmp/pyvenv
    /tmp/pyvenv/bin/pip install 'securesystemslib[crypto]' cryptography
    /tmp/pyvenv/bin/python scripts/gen-trust-vectors.py > fixtures/trust/vectors.json

Keys are generated afresh on each run, so the output differs every time; the cases do not.
"""

import json
import sys
import warnings

import cryptography
import securesystemslib
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, padding, rsa
from cryptography.hazmat.primitives.asymmetric.utils import (
    decode_dss_signature,
    encode_dss_signature,
)
from securesystemslib.signer import CryptoSigner, Signature, SSlibKey

warnings.simplefilter("ignore", DeprecationWarning)

# The order of the P-256 group and of the Ed25519 base point.
P256_N = 0xFFFFFFFF00000000FFFFFFFFFFFFFFFFBCE6FAADA7179E84F3B9CAC2FC632551
ED25519_L = 2**252 + 27742317777372353535851937790883648493

MSG = b'{"signed":{"_type":"root","version":1}}'
OTHER = b'{"signed":{"_type":"root","version":2}}'


def pem(public_key):
    return public_key.public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    ).decode()


def key_obj(keytype, scheme, public):
    return {"keytype": keytype, "scheme": scheme, "keyval": {"public": public}}


def sslib_verdict(key, message, sig):
    """What securesystemslib says: ok, bad (UnverifiedSignatureError), or an error class."""
    try:
        k = SSlibKey.from_dict("id", json.loads(json.dumps(key)))
    except Exception as e:  # noqa: BLE001
        return "unsupported" if "Unsupported" in str(e) else "error"
    try:
        k.verify_signature(Signature("id", sig.hex()), message)
        return "ok"
    except securesystemslib.exceptions.VerificationError:
        # A key that does not load or a scheme it cannot run (a subclass of the next one).
        return "error"
    except securesystemslib.exceptions.UnverifiedSignatureError:
        return "bad"


cases = []


def case(name, key, message, sig, expected):
    cases.append(
        {
            "name": name,
            "key": key,
            "message_hex": message.hex(),
            "signature_hex": sig.hex(),
            "expected": expected,
            "securesystemslib": sslib_verdict(key, message, sig),
        }
    )


# ---- Ed25519 --------------------------------------------------------------------------------
ed_a = ed25519.Ed25519PrivateKey.generate()
ed_b = ed25519.Ed25519PrivateKey.generate()
signer = CryptoSigner(ed_a)
ed_key = signer.public_key.to_dict()
ed_sig = bytes.fromhex(signer.sign(MSG).signature)
raw = lambda k: k.public_key().public_bytes(  # noqa: E731
    serialization.Encoding.Raw, serialization.PublicFormat.Raw
).hex()
case("ed25519 good", ed_key, MSG, ed_sig, "ok")
case("ed25519 wrong message", ed_key, OTHER, ed_sig, "bad_signature")
case("ed25519 wrong key", key_obj("ed25519", "ed25519", raw(ed_b)), MSG, ed_sig, "bad_signature")
case("ed25519 truncated signature", ed_key, MSG, ed_sig[:63], "malformed_signature")
s = int.from_bytes(ed_sig[32:], "little") + ED25519_L
case(
    "ed25519 non-canonical S (S + L)",
    ed_key,
    MSG,
    ed_sig[:32] + s.to_bytes(32, "little"),
    "bad_signature",
)
# The identity point as key, with R = identity and S = 0: the cofactorless equation holds
# for every message, so a verifier that takes small-order keys accepts this "signature".
identity = (1).to_bytes(32, "little")
case(
    "ed25519 small-order key (identity) with a universal signature",
    key_obj("ed25519", "ed25519", identity.hex()),
    MSG,
    identity + bytes(32),
    "weak_key",
)
# A good key with a small-order R (the identity) and S = 0 cannot verify; a point of order
# 8 as R is refused by verify_strict before any arithmetic.
order8 = bytes.fromhex("c7176a703d4dd84fba3c0b760d10670f2a2053fa2c39ccc64ec7fd7792ac037a")
case("ed25519 small-order R", ed_key, MSG, order8 + bytes(32), "bad_signature")
case("ed25519 key of 31 bytes", key_obj("ed25519", "ed25519", raw(ed_a)[:62]), MSG, ed_sig, "malformed_key")

# ---- ECDSA P-256 ----------------------------------------------------------------------------
ec_a = ec.generate_private_key(ec.SECP256R1())
ec_b = ec.generate_private_key(ec.SECP256R1())
ec_signer = CryptoSigner(ec_a)
ec_key = ec_signer.public_key.to_dict()
assert ec_key["keytype"] == "ecdsa" and ec_key["scheme"] == "ecdsa-sha2-nistp256"
ec_sig = bytes.fromhex(ec_signer.sign(MSG).signature)
r, s = decode_dss_signature(ec_sig)
low_s = encode_dss_signature(r, min(s, P256_N - s))
high_s = encode_dss_signature(r, max(s, P256_N - s))
sec1 = ec_a.public_key().public_bytes(
    serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint
).hex()
case("ecdsa good (keytype ecdsa, PEM)", ec_key, MSG, ec_sig, "ok")
case(
    "ecdsa good (keytype ecdsa-sha2-nistp256, PEM)",
    dict(ec_key, keytype="ecdsa-sha2-nistp256"),
    MSG,
    ec_sig,
    "ok",
)
case(
    "ecdsa good (hex SEC1 point, as Sigstore's first roots)",
    key_obj("ecdsa-sha2-nistp256", "ecdsa-sha2-nistp256", sec1),
    MSG,
    ec_sig,
    "ok",
)
case("ecdsa low S", ec_key, MSG, low_s, "ok")
case("ecdsa high S (accepted, as OpenSSL does)", ec_key, MSG, high_s, "ok")
case("ecdsa wrong message", ec_key, OTHER, ec_sig, "bad_signature")
case(
    "ecdsa wrong key",
    key_obj("ecdsa", "ecdsa-sha2-nistp256", pem(ec_b.public_key())),
    MSG,
    ec_sig,
    "bad_signature",
)
case("ecdsa truncated signature", ec_key, MSG, ec_sig[:-1], "bad_signature")
case("ecdsa DER with a trailing byte", ec_key, MSG, ec_sig + b"\x00", "bad_signature")
case(
    "ecdsa raw r||s instead of DER",
    ec_key,
    MSG,
    r.to_bytes(32, "big") + s.to_bytes(32, "big"),
    "bad_signature",
)


def der_int(v, extra_zero=False):
    b = v.to_bytes((v.bit_length() + 7) // 8, "big")
    if b[0] & 0x80:
        b = b"\x00" + b
    if extra_zero:
        b = b"\x00" + b
    return b"\x02" + bytes([len(b)]) + b


body = der_int(r, extra_zero=True) + der_int(s)
case("ecdsa DER with a non-minimal INTEGER", ec_key, MSG, b"\x30" + bytes([len(body)]) + body, "bad_signature")
body = der_int(r) + der_int(s)
case("ecdsa BER long-form length", ec_key, MSG, b"\x30\x81" + bytes([len(body)]) + body, "bad_signature")
case(
    "ecdsa signature longer than any DER P-256 signature",
    ec_key,
    MSG,
    bytes(73),
    "malformed_signature",
)
case(
    "ecdsa PEM with trailing junk",
    key_obj("ecdsa", "ecdsa-sha2-nistp256", ec_key["keyval"]["public"] + "junk\n"),
    MSG,
    ec_sig,
    "malformed_key",
)
case(
    "ecdsa PEM with text before it",
    key_obj("ecdsa", "ecdsa-sha2-nistp256", "comment\n" + ec_key["keyval"]["public"]),
    MSG,
    ec_sig,
    "malformed_key",
)
p384 = ec.generate_private_key(ec.SECP384R1())
case(
    "ecdsa P-384 PEM under the P-256 scheme",
    key_obj("ecdsa", "ecdsa-sha2-nistp256", pem(p384.public_key())),
    MSG,
    p384.sign(MSG, ec.ECDSA(hashes.SHA256())),
    "malformed_key",
)
case(
    "ecdsa scheme with an Ed25519 PEM",
    key_obj("ecdsa", "ecdsa-sha2-nistp256", pem(ed_a.public_key())),
    MSG,
    ed_sig,
    "malformed_key",
)
case(
    "ecdsa-sha2-nistp384 is unsupported",
    key_obj("ecdsa", "ecdsa-sha2-nistp384", pem(p384.public_key())),
    MSG,
    p384.sign(MSG, ec.ECDSA(hashes.SHA384())),
    "unsupported",
)

# ---- RSA-PSS SHA-256 ------------------------------------------------------------------------
rsa_a = rsa.generate_private_key(65537, 3072)
rsa_b = rsa.generate_private_key(65537, 2048)
rsa_signer = CryptoSigner(rsa_a)
rsa_key = rsa_signer.public_key.to_dict()
assert rsa_key["keytype"] == "rsa" and rsa_key["scheme"] == "rsassa-pss-sha256"
rsa_sig = bytes.fromhex(rsa_signer.sign(MSG).signature)  # securesystemslib: DIGEST_LENGTH


def pss(key, salt, message=MSG):
    return key.sign(
        message, padding.PSS(mgf=padding.MGF1(hashes.SHA256()), salt_length=salt), hashes.SHA256()
    )


case("rsa good (securesystemslib signer, salt = digest length)", rsa_key, MSG, rsa_sig, "ok")
case("rsa good (salt = maximum)", rsa_key, MSG, pss(rsa_a, padding.PSS.MAX_LENGTH), "ok")
case("rsa good (salt = 0)", rsa_key, MSG, pss(rsa_a, 0), "ok")
case("rsa good (salt = 20)", rsa_key, MSG, pss(rsa_a, 20), "ok")
case("rsa wrong message", rsa_key, OTHER, rsa_sig, "bad_signature")
case(
    "rsa wrong key",
    key_obj("rsa", "rsassa-pss-sha256", pem(rsa_b.public_key())),
    MSG,
    rsa_sig,
    "malformed_signature",  # a 3072-bit signature cannot be as long as a 2048-bit modulus
)
case(
    "rsa wrong key of the same size",
    key_obj("rsa", "rsassa-pss-sha256", pem(rsa_b.public_key())),
    MSG,
    pss(rsa.generate_private_key(65537, 2048), 32),
    "bad_signature",
)
case("rsa truncated signature", rsa_key, MSG, rsa_sig[:-1], "malformed_signature")
case("rsa signature with a leading zero byte", rsa_key, MSG, b"\x00" + rsa_sig, "malformed_signature")
# A signature whose first byte is zero, sent without it: OpenSSL pads it back, RFC 8017
# (step 1 of RSASSA-PSS-VERIFY) and mirrorproof do not.
zero_first = next(sig for sig in (pss(rsa_a, 32) for _ in range(5000)) if sig[0] == 0)
case("rsa good signature with its leading zero byte", rsa_key, MSG, zero_first, "ok")
case(
    "rsa signature with its leading zero byte stripped",
    rsa_key,
    MSG,
    zero_first[1:],
    "malformed_signature",
)
rsa_pkcs1v15 = rsa_a.sign(MSG, padding.PKCS1v15(), hashes.SHA256())
case("rsa PKCS #1 v1.5 signature under the PSS scheme", rsa_key, MSG, rsa_pkcs1v15, "bad_signature")
odd = rsa.generate_private_key(65537, 2049)
case(
    "rsa good, 2049-bit modulus (encoded message one byte shorter)",
    key_obj("rsa", "rsassa-pss-sha256", pem(odd.public_key())),
    MSG,
    pss(odd, 32),
    "ok",
)
small = rsa.generate_private_key(65537, 1024)
case(
    "rsa 1024-bit key refused",
    key_obj("rsa", "rsassa-pss-sha256", pem(small.public_key())),
    MSG,
    pss(small, 32),
    "weak_key",
)
case(
    "rsa PEM with trailing junk",
    key_obj("rsa", "rsassa-pss-sha256", rsa_key["keyval"]["public"] + "junk"),
    MSG,
    rsa_sig,
    "malformed_key",
)
pkcs1 = rsa_a.public_key().public_bytes(
    serialization.Encoding.PEM, serialization.PublicFormat.PKCS1
).decode()
case(
    "rsa PKCS #1 'RSA PUBLIC KEY' PEM",
    key_obj("rsa", "rsassa-pss-sha256", pkcs1),
    MSG,
    rsa_sig,
    "malformed_key",
)
case(
    "rsa scheme with an ECDSA PEM",
    key_obj("rsa", "rsassa-pss-sha256", ec_key["keyval"]["public"]),
    MSG,
    ec_sig,
    "malformed_key",
)
rsa_pkcs1v15_key = key_obj("rsa", "rsa-pkcs1v15-sha256", rsa_key["keyval"]["public"])
case("rsa-pkcs1v15-sha256 good (cryptography signer)", rsa_pkcs1v15_key, MSG, rsa_pkcs1v15, "ok")
case("rsa PSS signature under the PKCS #1 v1.5 scheme", rsa_pkcs1v15_key, MSG, rsa_sig, "bad_signature")

json.dump(
    {
        "generated_by": "scripts/gen-trust-vectors.py",
        "cryptography": cryptography.__version__,
        "securesystemslib": securesystemslib.__version__,
        "cases": cases,
    },
    sys.stdout,
    indent=1,
)
sys.stdout.write("\n")
