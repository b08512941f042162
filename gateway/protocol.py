"""The consumer-facing protocol: the ``/r1/...`` path, the X-Road headers, the signed request.

Everything here reads the request exactly as it came on the wire (``raw_path``, raw query),
because the client signed those bytes; paths are checked before any decoding so that
``..``, ``%2e%2e``, ``%2f`` and ``//`` never reach matching (DESIGN §2, §4).
"""

from __future__ import annotations

import datetime as dt
import re
import time
from collections import OrderedDict
from dataclasses import dataclass
from typing import TypeGuard
from urllib.parse import unquote

from cryptography import x509

from core.errors import BadRequest, InvalidIdentifier, ServiceUnavailable
from core.ids.personal import validate_personal_id
from core.ids.xroad import ClientId, ServiceId, parse_client_id, parse_service_id
from core.pki import TrustStore
from core.signing import TYP_REQUEST, SignatureRejected, Verified, sha256_b64url, verify
from gateway.errors import SignatureInvalid

METASERVICES = frozenset({"listMethods", "allowedMethods", "getOpenAPI", "logProof"})

_ID_RE = re.compile(r"[A-Za-z0-9._:-]{1,128}")
_PURPOSE_RE = re.compile(r"[a-z0-9][a-z0-9-]{0,63}")
_CONSENT_RE = re.compile(r"[A-Za-z0-9-]{1,64}")
_ISSUE_RE = re.compile(r"[\x20-\x7e]{1,128}")
_BAD_ENCODINGS = re.compile(rb"%(2[eEfF]|5[cC]|[01][0-9a-fA-F]|7[fF])")

XROAD_HEADERS = {
    b"x-road-client": "client",
    b"x-road-id": "id",
    b"x-road-userid": "user_id",
    b"x-road-issue": "issue",
    b"x-road-purpose": "purpose",
    b"x-road-consent": "consent",
    b"x-road-signature": "signature",
}


@dataclass
class XRoadHeaders:
    client: str | None = None
    id: str | None = None
    user_id: str | None = None
    issue: str | None = None
    purpose: str | None = None
    consent: str | None = None
    signature: str | None = None


def read_headers(raw: list[tuple[bytes, bytes]]) -> XRoadHeaders:
    """The X-Road headers, each at most once and well-formed, else ``client.bad_request``."""
    out = XRoadHeaders()
    seen: set[str] = set()
    for name, value in raw:
        attr = XROAD_HEADERS.get(name.lower())
        if attr is None:
            continue
        if attr in seen:
            raise BadRequest(f"header {name.decode()} is repeated", detail={"header": attr})
        seen.add(attr)
        try:
            text = value.decode("ascii")
        except UnicodeDecodeError as e:
            raise BadRequest(
                f"header {name.decode()} must be ASCII", detail={"header": attr}
            ) from e
        setattr(out, attr, text)
    _check(out.id, _ID_RE, "X-Road-Id", "1-128 characters of A-Z a-z 0-9 . _ : -")
    _check(out.purpose, _PURPOSE_RE, "X-Road-Purpose", "a purpose code like bank-kyc")
    _check(out.consent, _CONSENT_RE, "X-Road-Consent", "a consent id")
    _check(out.issue, _ISSUE_RE, "X-Road-Issue", "1-128 printable ASCII characters")
    if out.user_id is not None:
        try:
            validate_personal_id(out.user_id)
        except InvalidIdentifier as e:
            raise BadRequest(
                "X-Road-UserId must be the official's 12-digit personal id",
                detail={"header": "X-Road-UserId"},
            ) from e
    return out


def is_xroad_id(value: object) -> TypeGuard[str]:
    """Whether ``value`` is a well-formed X-Road-Id (``[A-Za-z0-9._:-]{1,128}``)."""
    return isinstance(value, str) and _ID_RE.fullmatch(value) is not None


def _check(value: str | None, pattern: re.Pattern[str], header: str, shape: str) -> None:
    if value is not None and not pattern.fullmatch(value):
        raise BadRequest(f"{header} is malformed: expected {shape}", detail={"header": header})


def parse_client(value: str | None) -> ClientId:
    if value is None:
        raise BadRequest("X-Road-Client is required", detail={"header": "X-Road-Client"})
    try:
        return parse_client_id(value)
    except InvalidIdentifier as e:
        raise BadRequest(f"X-Road-Client: {e.message}", detail={"header": "X-Road-Client"}) from e


@dataclass(frozen=True)
class Target:
    """What a ``/r1/...`` path addresses."""

    kind: str  # "service", "listClients", or a metaservice name
    service: ServiceId | None
    provider: ClientId | None
    rest: str  # the path after the service code, decoded ("" or "/...")


def parse_target(raw_path: bytes) -> Target:
    """Parse a ``/r1/...`` raw path; reject traversal and encoded separators first."""
    if _BAD_ENCODINGS.search(raw_path):
        raise BadRequest(
            "the path holds an encoded dot, slash, backslash or control character",
            detail={"check": "path"},
        )
    try:
        path = unquote(raw_path.decode("ascii"), errors="strict")
    except (UnicodeDecodeError, ValueError) as e:
        raise BadRequest("the path is not valid percent-encoded UTF-8") from e
    if "//" in path or "\\" in path or any(ord(c) < 0x20 or ord(c) == 0x7F for c in path):
        raise BadRequest("the path has an empty segment or a control character")
    segments = path.split("/")[1:]
    if any(s in (".", "..") for s in segments):
        raise BadRequest("the path must not hold '.' or '..' segments", detail={"check": "path"})
    if not segments or segments[0] != "r1":
        raise BadRequest("gateway paths start with /r1/")
    parts = segments[1:]
    if parts == ["listClients"]:
        return Target("listClients", None, None, "")
    if len(parts) == 5 and parts[4] in METASERVICES:
        try:
            provider = parse_client_id("/".join(parts[:4]))
        except InvalidIdentifier as e:
            raise BadRequest(f"provider id: {e.message}", detail=e.detail) from e
        return Target(parts[4], None, provider, "")
    if len(parts) < 5:
        raise BadRequest(
            "the path must be /r1/INSTANCE/CLASS/MEMBER/SUBSYSTEM/SERVICE[/...]",
            detail={"check": "path"},
        )
    try:
        service = parse_service_id("/".join(parts[:5]))
    except InvalidIdentifier as e:
        raise BadRequest(f"service id: {e.message}", detail=e.detail) from e
    rest = "/" + "/".join(parts[5:]) if len(parts) > 5 else ""
    if path.endswith("/") and rest:
        raise BadRequest("the path must not end with '/'")
    return Target("service", service, service.client, rest)


# -- the signed request ------------------------------------------------------------------------


class ReplayCache:
    """``jti`` values seen within the acceptance window; bounded, oldest evicted first.

    An entry is kept until its ``iat`` leaves the window, after which the clock check
    rejects the request anyway. If the cache is full of entries still inside the window, new
    requests are refused (503) rather than evicting one that could then be replayed.
    """

    def __init__(self, *, window_s: float, max_entries: int = 1_000_000) -> None:
        self.window_s = window_s
        self.max_entries = max_entries
        self._seen: OrderedDict[str, float] = OrderedDict()

    def __len__(self) -> int:
        return len(self._seen)

    def check_and_add(self, key: str, *, now: float | None = None) -> bool:
        """True if ``key`` is new (and remember it); False if it was seen."""
        t = time.monotonic() if now is None else now
        seen = self._seen
        while seen:
            oldest_key, expires = next(iter(seen.items()))
            if expires > t:
                break
            del seen[oldest_key]
        if key in seen:
            return False
        if len(seen) >= self.max_entries:
            raise ServiceUnavailable("the gateway's replay cache is full; retry shortly")
        seen[key] = t + 2 * self.window_s
        return True


@dataclass(frozen=True)
class RequestFacts:
    """What the signature must bind, as the gateway saw the request."""

    client: ClientId
    headers: XRoadHeaders
    method: str
    htu: str
    body: bytes
    audience: str
    peer: x509.Certificate | None


def _reject(check: str, message: str = "the request signature is not valid") -> SignatureInvalid:
    return SignatureInvalid(message, detail={"check": check})


def verify_request(
    facts: RequestFacts,
    *,
    store: TrustStore,
    now: dt.datetime,
    skew_s: float,
    replay: ReplayCache,
) -> Verified:
    """Verify the client's request JWS; raise ``SignatureInvalid`` naming the failed check.

    The reason in detail (``check``) is coarse — which check, not what the gateway
    expected — so the error teaches an integrator without helping a forger.
    """
    h = facts.headers
    if h.signature is None:
        raise _reject("missing", "a signed request is required: X-Road-Signature is missing")
    try:
        verified = verify(h.signature, store=store, now=now, typ=TYP_REQUEST)
    except SignatureRejected as e:
        check = {
            "malformed": "format",
            "x5c_malformed": "certificate",
            "x5c_missing": "certificate",
            "untrusted": "certificate",
            "expired": "certificate",
            "not_yet_valid": "certificate",
            "revoked": "certificate",
            "not_a_member": "certificate",
            "algorithm": "algorithm",
            "typ": "format",
            "bad_signature": "signature",
        }.get(e.reason, "signature")
        err = _reject(check)
        err.reason = e.reason  # type: ignore[attr-defined]
        raise err from e
    c = verified.claims
    if verified.signer != facts.client or c.get("iss") != str(facts.client):
        raise _reject("signer", "the request is not signed by X-Road-Client")
    # Certificates compare by their DER bytes: the same certificate, not just the same member.
    if facts.peer is not None and facts.peer != verified.certificate:
        raise _reject("signer", "the request is not signed with the TLS client certificate")
    if c.get("aud") != facts.audience:
        raise _reject("audience")
    if c.get("htm") != facts.method or c.get("htu") != facts.htu:
        raise _reject("target", "the signature does not cover this method and path")
    iat = c.get("iat")
    if not isinstance(iat, int) or isinstance(iat, bool):
        raise _reject("clock")
    if abs(now.timestamp() - iat) > skew_s:
        raise _reject("clock", "the signature's iat is outside the allowed clock skew")
    jti = c.get("jti")
    if not isinstance(jti, str) or not _ID_RE.fullmatch(jti):
        raise _reject("jti")
    if h.id is not None and h.id != jti:
        raise _reject("jti", "X-Road-Id differs from the signature's jti")
    for claim, header in (
        ("purpose", h.purpose),
        ("consent", h.consent),
        ("uid", h.user_id),
        ("issue", h.issue),
    ):
        if c.get(claim) != header:
            raise _reject("headers", f"the signature's {claim} differs from its header")
    if c.get("body_sha256") != sha256_b64url(facts.body):
        raise _reject("body", "the signature does not cover this body")
    if not replay.check_and_add(f"{facts.client}|{jti}"):
        raise _reject("replay", "this request (its jti) has been seen before")
    return verified
