"""Ed25519 keys for access tokens (cryptography): PEM in and out, JWKs and their thumbprints."""

from __future__ import annotations

import base64
import hashlib
import json
import re
import textwrap
from dataclasses import dataclass

from cryptography.exceptions import UnsupportedAlgorithm
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from jwt.algorithms import OKPAlgorithm

_PEM = re.compile(r"-----BEGIN ([A-Z ]+)-----(.*?)-----END \1-----", re.DOTALL)


@dataclass(frozen=True, slots=True)
class PublicKey:
    """A verifying key and its id: the RFC 7638 thumbprint of its JWK."""

    kid: str
    key: Ed25519PublicKey

    @classmethod
    def of(cls, key: Ed25519PublicKey) -> PublicKey:
        return cls(kid=thumbprint(key), key=key)

    def jwk(self) -> dict[str, str]:
        """The key as a JWK (RFC 8037), with its id and what it is for."""
        return {**_okp_members(self.key), "kid": self.kid, "use": "sig", "alg": "EdDSA"}

    def pem(self) -> str:
        return self.key.public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        ).decode()


def _okp_members(key: Ed25519PublicKey) -> dict[str, str]:
    """The JWK's required members (kty, crv, x), as PyJWT writes them."""
    jwk = OKPAlgorithm.to_jwk(key, as_dict=True)
    return {name: str(jwk[name]) for name in ("crv", "kty", "x")}


def thumbprint(key: Ed25519PublicKey) -> str:
    """RFC 7638: SHA-256 of the required members, sorted, without whitespace; base64url."""
    canonical = json.dumps(_okp_members(key), sort_keys=True, separators=(",", ":"))
    digest = hashlib.sha256(canonical.encode()).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode()


def generate_private_pem() -> str:
    """A new Ed25519 private key, PKCS#8 PEM, unencrypted (the secret store protects it)."""
    return (
        Ed25519PrivateKey.generate()
        .private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
        .decode()
    )


def _pem_blocks(text: str, label: str) -> list[bytes]:
    """The PEM blocks labelled `label`, their bodies wrapped anew: a value that lost its line
    breaks on the way (an env file holds one line: spaces, or `\\n` written out) still loads."""
    blocks: list[bytes] = []
    for found, body in _PEM.findall(text.replace("\\n", "\n")):
        if found == label:
            wrapped = "\n".join(textwrap.wrap("".join(body.split()), 64))
            blocks.append(f"-----BEGIN {label}-----\n{wrapped}\n-----END {label}-----\n".encode())
    return blocks


def load_private_key(
    pem: str, *, setting: str = "CLOUDMALL_TOKEN_SIGNING_KEY"
) -> Ed25519PrivateKey:
    """The Ed25519 private key in `pem`; ValueError naming the setting otherwise (never the
    key's text)."""
    blocks = _pem_blocks(pem, "PRIVATE KEY")  # PKCS#8, unencrypted
    try:
        key = serialization.load_pem_private_key(blocks[0], password=None) if blocks else None
    except (ValueError, TypeError, UnsupportedAlgorithm):
        key = None
    if not isinstance(key, Ed25519PrivateKey):
        raise ValueError(
            f"{setting} is not an unencrypted Ed25519 private key in PEM "
            "(make one with `cloudmall keys generate`)"
        )
    return key


def load_public_keys(text: str, *, setting: str = "CLOUDMALL_TOKEN_VERIFY_KEYS") -> list[PublicKey]:
    """Every Ed25519 public key in `text` (PEM blocks one after another); ValueError if a block
    is not one, or if there is text but no block."""
    blocks = _pem_blocks(text, "PUBLIC KEY")
    if text.strip() and not blocks:
        raise ValueError(f"{setting} holds no PEM public key (-----BEGIN PUBLIC KEY-----)")
    keys = []
    for number, block in enumerate(blocks, start=1):
        try:
            key = serialization.load_pem_public_key(block)
        except (ValueError, UnsupportedAlgorithm):
            key = None
        if not isinstance(key, Ed25519PublicKey):
            raise ValueError(f"{setting}: key {number} is not an Ed25519 public key")
        keys.append(PublicKey.of(key))
    return keys
