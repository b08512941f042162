"""Signed statements of the exchange: compact JWS (RFC 7515) carrying the signer's certificate.

Four kinds of statement travel between the parts, all made and checked here:

- the **client's request signature** (``X-Road-Signature``), made by a member system;
- the **forward header** (``X-Road-Forward``), made by the gateway for a registry;
- the **response signature** (``X-Road-Response-Signature``), made by the registry;
- the **citizen token**, made by the citizen identity service.

Each is ``BASE64URL(header).BASE64URL(claims).BASE64URL(signature)`` with header
``{"alg": "ES256"|"EdDSA", "typ": ..., "x5c": [member certificate]}``. A verifier reads the
certificate from ``x5c``, checks it against its ``TrustStore`` at ``now`` and only then
checks the signature with the certificate's key; the algorithm must fit the key (no
``none``, no HMAC, no RSA, no ES256 header on an Ed25519 key). Every failure raises
``SignatureRejected`` with a ``reason`` for the logs.
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import hashlib
import json
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

import jwt
from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, ed25519

from core.ids.xroad import ClientId
from core.pki import (
    CertificateRejected,
    PrivateKey,
    TrustStore,
    load_certificate,
    load_private_key,
    member_id_of,
    x5c_entry,
)

ALGORITHMS = ("ES256", "EdDSA")

#: JWS ``typ`` values, one per kind of statement, so one kind can never pass for another.
TYP_REQUEST = "xroad-request+jwt"
TYP_FORWARD = "xroad-forward+jwt"
TYP_RESPONSE = "xroad-response+jwt"
TYP_CITIZEN = "citizen+jwt"
TYP_RECEIPT = "xroad-receipt+jwt"

_jws = jwt.PyJWS(algorithms=list(ALGORITHMS))
_HASH = hashes.SHA256()


class SignatureRejected(Exception):
    """A signed statement does not verify; ``reason`` says why (for logs, not callers)."""

    def __init__(self, reason: str, message: str) -> None:
        super().__init__(message)
        self.reason = reason


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def sha256_b64url(data: bytes) -> str:
    """The SHA-256 of ``data`` as unpadded base64url: how digests appear in claims."""
    return b64url(hashlib.sha256(data).digest())


def algorithm_for(key: PrivateKey | ec.EllipticCurvePublicKey | ed25519.Ed25519PublicKey) -> str:
    if isinstance(key, ed25519.Ed25519PrivateKey | ed25519.Ed25519PublicKey):
        return "EdDSA"
    if isinstance(key.curve, ec.SECP256R1):
        return "ES256"
    raise ValueError("only P-256 and Ed25519 keys sign here")


@dataclass(frozen=True)
class Signer:
    """A member's private key and certificate: signs statements in its name."""

    key: PrivateKey
    certificate: x509.Certificate

    @classmethod
    def from_files(cls, cert_path: Path, key_path: Path) -> Signer:
        for path in (cert_path, key_path):
            if not path.exists():
                raise FileNotFoundError(f"{path} is missing; run `lienthong certs init`")
        return cls(load_private_key(key_path), load_certificate(cert_path))

    @property
    def member_id(self) -> ClientId:
        return member_id_of(self.certificate)

    @property
    def algorithm(self) -> str:
        return algorithm_for(self.key)

    @property
    def _header(self) -> dict[str, Any]:
        return _header_for(self.certificate)

    def sign(self, claims: dict[str, Any], *, typ: str) -> str:
        """A compact JWS over ``claims`` with this signer's certificate in ``x5c``."""
        payload = json.dumps(claims, separators=(",", ":"), ensure_ascii=False).encode()
        header = {**self._header, "typ": typ}
        return _jws.encode(payload, self.key, algorithm=self.algorithm, headers=header)


@lru_cache(maxsize=64)
def _cached_x5c(cert_der_fingerprint: bytes, cert: x509.Certificate) -> str:
    return x5c_entry(cert)


def _header_for(cert: x509.Certificate) -> dict[str, Any]:
    return {"x5c": [_cached_x5c(cert.fingerprint(_HASH), cert)]}


@dataclass(frozen=True)
class Verified:
    """A statement that verified: its claims, the signer's certificate and member id."""

    claims: dict[str, Any]
    certificate: x509.Certificate
    signer: ClientId
    header: dict[str, Any]


@lru_cache(maxsize=4096)
def _certificate_from_x5c(entry: str) -> x509.Certificate:
    try:
        return x509.load_der_x509_certificate(base64.b64decode(entry, validate=True))
    except (ValueError, binascii.Error) as e:
        raise SignatureRejected("x5c_malformed", "the x5c certificate does not parse") from e


def verify(
    token: str,
    *,
    store: TrustStore,
    now: dt.datetime,
    typ: str,
) -> Verified:
    """Verify a compact JWS of kind ``typ`` whose signer's certificate ``store`` trusts."""
    if not isinstance(token, str) or token.count(".") != 2 or len(token) > 32_768:
        raise SignatureRejected("malformed", "not a compact JWS")
    try:
        header = _jws.get_unverified_header(token)
    except jwt.InvalidTokenError as e:
        raise SignatureRejected("malformed", "the JWS header does not parse") from e
    alg = header.get("alg")
    if alg not in ALGORITHMS:
        raise SignatureRejected("algorithm", "the JWS algorithm must be ES256 or EdDSA")
    if header.get("typ") != typ:
        raise SignatureRejected("typ", f"the JWS typ must be {typ}")
    x5c = header.get("x5c")
    if not isinstance(x5c, list) or not x5c or not isinstance(x5c[0], str):
        raise SignatureRejected("x5c_missing", "the JWS header carries no x5c certificate")
    cert = _certificate_from_x5c(x5c[0])
    try:
        store.verify(cert, now=now)
        signer = member_id_of(cert)
    except CertificateRejected as e:
        raise SignatureRejected(e.reason, str(e)) from e
    key = cert.public_key()
    if not isinstance(key, ec.EllipticCurvePublicKey | ed25519.Ed25519PublicKey):
        raise SignatureRejected("algorithm", "the certificate's key is not P-256 or Ed25519")
    try:
        if algorithm_for(key) != alg:
            raise SignatureRejected("algorithm", "the JWS algorithm does not fit the key")
    except ValueError as e:
        raise SignatureRejected("algorithm", "the certificate's key is not P-256") from e
    try:
        payload = _jws.decode(token, key, algorithms=[alg])
    except jwt.InvalidSignatureError as e:
        raise SignatureRejected("bad_signature", "the JWS signature does not verify") from e
    except jwt.InvalidTokenError as e:
        raise SignatureRejected("malformed", "the JWS does not parse") from e
    try:
        claims = json.loads(payload)
    except ValueError as e:
        raise SignatureRejected("malformed", "the JWS payload is not JSON") from e
    if not isinstance(claims, dict):
        raise SignatureRejected("malformed", "the JWS payload is not a JSON object")
    return Verified(claims=claims, certificate=cert, signer=signer, header=header)


def unverified_claims(token: str) -> dict[str, Any]:
    """The claims of a JWS without checking anything (for logs and error paths only)."""
    try:
        payload = _jws.decode(token, options={"verify_signature": False})
        claims = json.loads(payload)
    except (jwt.InvalidTokenError, ValueError):
        return {}
    return claims if isinstance(claims, dict) else {}


def timestamp(now: dt.datetime) -> int:
    """Seconds since the epoch, as JWT ``iat`` wants them."""
    return int(now.timestamp())
