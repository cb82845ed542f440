"""SigV4A's asymmetric half: the ECDSA P-256 key pair AWS derives from a secret access key, signature checks
against its public key, and region-set matching. Pure: no I/O, no clock, no caches (the verifier keeps those).

Key derivation follows the SigV4A specification as aws-c-auth (`source/key_derivation.c`, the code awscrt runs)
implements it: NIST SP 800-108 KDF in counter mode with HMAC-SHA256, keyed by "AWS4A" + secret, over the fixed
input 0x00000001 || "AWS4-ECDSA-P256-SHA256" || 0x00 || access key id || counter byte || 0x00000100 (256 bits).
A candidate k0 above n - 2 is rejected and the counter (1..254) advances; the private scalar is k0 + 1.
"""

from __future__ import annotations

import hashlib
import hmac

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec

__all__ = ["derive_public_key", "region_set_includes", "signature_matches"]

ALGORITHM = "AWS4-ECDSA-P256-SHA256"
# The order n of the P-256 group (FIPS 186-4 D.1.2.3); aws-c-auth compares k0 with n - 2.
_P256_ORDER = 0xFFFFFFFF00000000FFFFFFFFFFFFFFFFBCE6FAADA7179E84F3B9CAC2FC632551
_MAX_COUNTER = 254
_ECDSA_SHA256 = ec.ECDSA(hashes.SHA256())


def _fixed_input(access_key: str, counter: int) -> bytes:
    return (
        b"\x00\x00\x00\x01"
        + ALGORITHM.encode()
        + b"\x00"
        + access_key.encode()
        + bytes([counter])
        + b"\x00\x00\x01\x00"
    )


def private_scalar(access_key: str, secret_key: str) -> int:
    """The P-256 private scalar SigV4A signs with for this key pair (aws-c-auth's derivation, see module doc)."""
    kdf_key = b"AWS4A" + secret_key.encode()
    for counter in range(1, _MAX_COUNTER + 1):
        digest = hmac.digest(kdf_key, _fixed_input(access_key, counter), hashlib.sha256)
        candidate = int.from_bytes(digest, "big")
        if candidate <= _P256_ORDER - 2:
            return candidate + 1
    # Probability about 2^(-32*254) (aws-c-auth's own estimate); reaching here means a broken HMAC.
    raise ValueError("no valid SigV4A key after 254 counter values")


def derive_public_key(access_key: str, secret_key: str) -> ec.EllipticCurvePublicKey:
    """The public key that verifies SigV4A signatures made with this access key and secret."""
    return ec.derive_private_key(private_scalar(access_key, secret_key), ec.SECP256R1()).public_key()


def signature_matches(public_key: ec.EllipticCurvePublicKey, signature_hex: str, string_to_sign: bytes) -> bool:
    """Whether `signature_hex` (hex of a DER ECDSA signature over SHA-256 of the string to sign) verifies."""
    # aws-c-auth trims '*' padding from fixed-width SigV4A signatures (chunked payloads); harmless here.
    try:
        der = bytes.fromhex(signature_hex.rstrip("*"))
        public_key.verify(der, string_to_sign, _ECDSA_SHA256)
    except (ValueError, InvalidSignature):
        return False
    return True


def region_set_includes(region_set: str, region: str) -> bool:
    """Whether X-Amz-Region-Set (comma-separated regions, each possibly with '*' wildcards) covers `region`."""
    # IAM UG "AWS Signature Version 4 for API requests": SigV4A signs for a set of regions; "*" is every region.
    for entry in region_set.split(","):
        pattern = entry.strip()
        if pattern == region or ("*" in pattern and _wildcard_match(pattern, region)):
            return True
    return False


def _wildcard_match(pattern: str, text: str) -> bool:
    """'*' matches any run of characters; nothing else is special (unlike fnmatch's '?' and '[...]')."""
    first, *middle, last = pattern.split("*")
    if not text.startswith(first) or not text.endswith(last) or len(first) + len(last) > len(text):
        return False
    position, end = len(first), len(text) - len(last)
    for piece in middle:
        found = text.find(piece, position, end)
        if found < 0:
            return False
        position = found + len(piece)
    return True
