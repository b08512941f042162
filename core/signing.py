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
import re
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

import orjson
from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, ed25519
from cryptography.hazmat.primitives.asymmetric.utils import (
    decode_dss_signature,
    encode_dss_signature,
)

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

_ECDSA_SHA256 = ec.ECDSA(hashes.SHA256())
_B64URL = re.compile(r"[A-Za-z0-9_-]*")
#: Longest token accepted (a header with one certificate is about 1 kB).
MAX_TOKEN = 32_768


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


def _b64url_decode(segment: str) -> bytes:
    """Strict unpadded base64url (RFC 7515 §2): no padding, no other characters."""
    if not _B64URL.fullmatch(segment) or len(segment) % 4 == 1:
        raise ValueError("not unpadded base64url")
    return base64.urlsafe_b64decode(segment + "=" * (-len(segment) % 4))


def _json_b64(obj: dict[str, Any]) -> str:
    return b64url(orjson.dumps(obj))


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

    def sign(self, claims: dict[str, Any], *, typ: str) -> str:
        """A compact JWS over ``claims`` with this signer's certificate in ``x5c``.

        Made directly with ``cryptography`` (RFC 7515 §5.1, RFC 7518 §3.4: an ES256
        signature is ``R || S``, 32 bytes each); the header of one signer and ``typ`` is
        encoded once.
        """
        signing_input = f"{_header_segment(self, typ)}.{_json_b64(claims)}".encode("ascii")
        key = self.key
        if isinstance(key, ed25519.Ed25519PrivateKey):
            signature = key.sign(signing_input)
        else:
            r, s = decode_dss_signature(key.sign(signing_input, _ECDSA_SHA256))
            signature = r.to_bytes(32, "big") + s.to_bytes(32, "big")
        return f"{signing_input.decode('ascii')}.{b64url(signature)}"


@lru_cache(maxsize=256)
def _header_segment(signer: Signer, typ: str) -> str:
    return _json_b64({"alg": signer.algorithm, "typ": typ, "x5c": [x5c_entry(signer.certificate)]})


@dataclass(frozen=True)
class Verified:
    """A statement that verified: its claims, the signer's certificate and member id."""

    claims: dict[str, Any]
    certificate: x509.Certificate
    signer: ClientId
    header: dict[str, Any]


@dataclass(frozen=True)
class _Header:
    """A parsed protected header and what it names (cached: one per signer and kind)."""

    fields: dict[str, Any]
    alg: str
    typ: Any
    certificate: x509.Certificate | None
    problem: tuple[str, str] | None  # (reason, message) if the header is unusable


@lru_cache(maxsize=4096)
def _parse_header(segment: str) -> _Header:
    try:
        fields = orjson.loads(_b64url_decode(segment))
    except ValueError:
        return _Header({}, "", None, None, ("malformed", "the JWS header does not parse"))
    if not isinstance(fields, dict):
        return _Header({}, "", None, None, ("malformed", "the JWS header is not an object"))
    alg, typ = fields.get("alg"), fields.get("typ")
    if alg not in ALGORITHMS:
        problem = ("algorithm", "the JWS algorithm must be ES256 or EdDSA")
        return _Header(fields, "", typ, None, problem)
    x5c = fields.get("x5c")
    if not isinstance(x5c, list) or not x5c or not isinstance(x5c[0], str):
        problem = ("x5c_missing", "the JWS header carries no x5c certificate")
        return _Header(fields, alg, typ, None, problem)
    try:
        cert = x509.load_der_x509_certificate(base64.b64decode(x5c[0], validate=True))
    except (ValueError, binascii.Error):
        problem = ("x5c_malformed", "the x5c certificate does not parse")
        return _Header(fields, alg, typ, None, problem)
    key = cert.public_key()
    try:
        fits = (
            isinstance(key, ec.EllipticCurvePublicKey | ed25519.Ed25519PublicKey)
            and algorithm_for(key) == alg
        )
    except ValueError:
        fits = False
    if not fits:
        return _Header(
            fields, alg, typ, cert, ("algorithm", "the JWS algorithm does not fit the key")
        )
    return _Header(fields, alg, typ, cert, None)


def verify(
    token: str,
    *,
    store: TrustStore,
    now: dt.datetime,
    typ: str,
) -> Verified:
    """Verify a compact JWS of kind ``typ`` whose signer's certificate ``store`` trusts.

    The order: shape, header (algorithm, ``typ``, ``x5c``, key fits algorithm), the
    certificate against the store at ``now``, the signature, then the payload.
    """
    if not isinstance(token, str) or len(token) > MAX_TOKEN or token.count(".") != 2:
        raise SignatureRejected("malformed", "not a compact JWS")
    head, payload_segment, signature_segment = token.split(".")
    header = _parse_header(head)
    if header.problem is not None and header.problem[0] == "malformed":
        raise SignatureRejected(*header.problem)
    if header.alg == "":
        raise SignatureRejected("algorithm", "the JWS algorithm must be ES256 or EdDSA")
    if header.typ != typ:
        raise SignatureRejected("typ", f"the JWS typ must be {typ}")
    if header.problem is not None:
        raise SignatureRejected(*header.problem)
    cert = header.certificate
    if cert is None:  # pragma: no cover - a header without problem has its certificate
        raise SignatureRejected("x5c_missing", "the JWS header carries no x5c certificate")
    try:
        store.verify(cert, now=now)
        signer = member_id_of(cert)
    except CertificateRejected as e:
        raise SignatureRejected(e.reason, str(e)) from e
    try:
        signature = _b64url_decode(signature_segment)
        payload = _b64url_decode(payload_segment)
    except ValueError as e:
        raise SignatureRejected("malformed", "the JWS does not parse") from e
    signing_input = f"{head}.{payload_segment}".encode("ascii")
    key = cert.public_key()
    try:
        if isinstance(key, ed25519.Ed25519PublicKey):
            key.verify(signature, signing_input)
        elif isinstance(key, ec.EllipticCurvePublicKey) and len(signature) == 64:
            der = encode_dss_signature(
                int.from_bytes(signature[:32], "big"), int.from_bytes(signature[32:], "big")
            )
            key.verify(der, signing_input, _ECDSA_SHA256)
        else:
            raise InvalidSignature()
    except InvalidSignature as e:
        raise SignatureRejected("bad_signature", "the JWS signature does not verify") from e
    try:
        claims = orjson.loads(payload)
    except ValueError as e:
        raise SignatureRejected("malformed", "the JWS payload is not JSON") from e
    if not isinstance(claims, dict):
        raise SignatureRejected("malformed", "the JWS payload is not a JSON object")
    return Verified(claims=claims, certificate=cert, signer=signer, header=header.fields)


def unverified_claims(token: str) -> dict[str, Any]:
    """The claims of a JWS without checking anything (for logs and error paths only)."""
    try:
        claims = orjson.loads(_b64url_decode(token.split(".")[1]))
    except (ValueError, IndexError, AttributeError):
        return {}
    return claims if isinstance(claims, dict) else {}


def timestamp(now: dt.datetime) -> int:
    """Seconds since the epoch, as JWT ``iat`` wants them."""
    return int(now.timestamp())
