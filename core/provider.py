"""The provider side of the gateway protocol: a registry answers the gateway, and only it.

``ProviderGuard`` is a plain ASGI middleware every registry runs behind (``GatewayGuard``
installs it from the registry's settings). For each request it checks, in this order:

1. **The TLS peer.** The connection must carry a client certificate (``core.tls``) that the
   trust store accepts now (chain, validity, CRL) and that names the pinned gateway.
   Anything else is ``403 client.access_denied`` on every path, health and metrics
   included: the operator probes with the gateway's certificate.
2. **The forward header** (every path but ``OPEN_PATHS``): ``X-Road-Forward``, a JWS of
   typ ``xroad-forward+jwt`` signed by the pinned gateway with the very certificate that
   opened the connection, addressed to this registry (``aud``), for this method and this
   exact path and query (``htm``, ``htu``), fresh (``iat`` within the skew), over this body
   (``body_sha256``), and, when it names the fields the gateway allowed, asking for no
   others (``403 client.fields_not_allowed``). A failure is ``401 client.signature_invalid``
   with a generic message and ``detail.check`` naming the check; the precise reason goes to
   the log, which never holds a path (paths carry personal ids).
3. **The response signature.** Every response to a request whose forward header verified —
   errors included — gets ``X-Road-Response-Signature``: a JWS of typ ``xroad-response+jwt``
   by the registry's member key over its id, the ``jti`` and ``request_hash`` of the forward
   header, the HTTP status and the SHA-256 of the exact body bytes. A request whose forward
   header does not verify is not bound to any exchange, so its 401 is not signed.

The verified claims are left in ``scope["state"]["forward"]`` (``request.state.forward``)
for endpoints that want them.

The guard must sit inside ``core.http.RequestContextMiddleware`` (``GatewayGuard.install``
puts it there): that middleware sets the X-Road-Id of log lines, writes the access log and
caps the body, which the guard buffers to check its digest.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl

from cryptography import x509
from fastapi import FastAPI
from pydantic import Field, field_validator, model_validator
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.middleware import Middleware
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from core.errors import (
    FieldsNotAllowed,
    Forbidden,
    InvalidIdentifier,
    LienthongError,
    PayloadTooLarge,
    ServerError,
    SignatureInvalid,
)
from core.http import XROAD_ID_HEADER, current_xroad_id, error_response
from core.ids.xroad import ClientId, parse_client_id
from core.pki import CertificateRejected, TrustStore, fingerprint, member_id_of
from core.settings import ServiceSettings
from core.signing import (
    TYP_FORWARD,
    TYP_RESPONSE,
    SignatureRejected,
    Signer,
    sha256_b64url,
    timestamp,
    verify,
)
from core.tls import peer_certificate

FORWARD_HEADER = "X-Road-Forward"
RESPONSE_SIGNATURE_HEADER = "X-Road-Response-Signature"

#: The X-Road id of the security gateway of the dev stack (``certs.dev.GATEWAY_ID``).
DEFAULT_GATEWAY_ID = "VN/GOV/LIENTHONG/gateway"

#: Paths the gateway's certificate alone opens (no forward header, no response signature):
#: operations, the catalogue and the OpenAPI the gateway loads, the docs an operator reads.
OPEN_PATHS: frozenset[str] = frozenset(
    {"/healthz", "/readyz", "/metrics", "/catalogue", "/openapi.json", "/docs", "/redoc"}
)
OPEN_PREFIXES: tuple[str, ...] = ("/docs/", "/static-offline-docs/")

_FORWARD = FORWARD_HEADER.lower().encode("latin-1")
_XROAD_ID = XROAD_ID_HEADER.lower().encode("latin-1")
_RESPONSE_SIGNATURE = RESPONSE_SIGNATURE_HEADER.lower().encode("latin-1")
_CONTENT_LENGTH = b"content-length"
#: What ``core.http`` accepts as an X-Road-Id; the ``jti`` must be one, so logs, the
#: response header and the signature all carry the same id.
_MAX_ID = 128
_ID_CHARS = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789._:-")
_STRING_CLAIMS = ("client", "service", "body_sha256")


class ForwardHeaderInvalid(SignatureInvalid):
    """The forward header is missing or does not verify (``detail.check`` says which)."""

    default_message = "the forward header is missing or not valid"


GATEWAY_ONLY = "only the gateway may call this registry"


def _utcnow() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


@lru_cache(maxsize=256)
def _identity(cert: x509.Certificate) -> tuple[str, ClientId | None]:
    """A certificate's fingerprint and the member it names (None if none): parsed once."""
    try:
        member: ClientId | None = member_id_of(cert)
    except CertificateRejected:
        member = None
    return fingerprint(cert), member


def _valid_id(value: object) -> bool:
    return (
        isinstance(value, str) and 0 < len(value) <= _MAX_ID and all(c in _ID_CHARS for c in value)
    )


def requested_fields(query_string: bytes) -> list[str] | None:
    """The names ``fields=`` asks for, joined over repeated parameters, as the endpoints
    read them (``core.fields.parse_fields``); None when there is no ``fields`` parameter."""
    values = [
        v
        for k, v in parse_qsl(query_string.decode("latin-1"), keep_blank_values=True)
        if k == "fields"
    ]
    if not values:
        return None
    return [n for n in (part.strip() for part in ",".join(values).split(",")) if n]


class _Refused(Exception):
    """A check failed: ``error`` is the answer, ``reason`` the precise cause for the log."""

    def __init__(self, error: LienthongError, *, reason: str) -> None:
        super().__init__(error.message)
        self.error = error
        self.reason = reason


def _bad(check: str, reason: str | None = None) -> _Refused:
    return _Refused(ForwardHeaderInvalid(detail={"check": check}), reason=reason or check)


class _SigningSend:
    """Collects a response, then sends it once with its signature and exact length."""

    def __init__(
        self, send: Send, *, sign: Callable[[int, bytes], str], jti: str, head: bool
    ) -> None:
        self._send = send
        self._sign = sign
        self._id = jti.encode("latin-1")
        self._head = head
        self._start: Message | None = None
        self._chunks: list[bytes] = []
        self.sent = False

    async def __call__(self, message: Message) -> None:
        kind = message["type"]
        if kind == "http.response.start":  # a second start (the 500 after a failure) restarts
            self._start = message
            self._chunks = []
        elif kind == "http.response.body":
            self._chunks.append(message.get("body", b""))
            if not message.get("more_body", False):
                await self._flush()
        else:
            await self._send(message)

    async def _flush(self) -> None:
        if self._start is None or self.sent:
            raise RuntimeError("response body without a start, or sent twice")
        body = b"".join(self._chunks)
        status: int = self._start["status"]
        drop = {_RESPONSE_SIGNATURE, _XROAD_ID}
        if not self._head:  # a HEAD answer keeps the length of the body it leaves out
            drop.add(_CONTENT_LENGTH)
        headers = [(k, v) for k, v in self._start.get("headers", []) if k.lower() not in drop]
        if not self._head:
            headers.append((_CONTENT_LENGTH, str(len(body)).encode("latin-1")))
        headers.append((_XROAD_ID, self._id))
        headers.append((_RESPONSE_SIGNATURE, self._sign(status, body).encode("ascii")))
        self.sent = True
        await self._send({**self._start, "headers": headers})
        await self._send({"type": "http.response.body", "body": body, "more_body": False})


class ProviderGuard:
    """Only the pinned gateway gets in; its forward header is checked; answers are signed."""

    def __init__(
        self,
        app: ASGIApp,
        *,
        store: TrustStore,
        signer: Signer,
        identity: ClientId,
        gateway: ClientId,
        clock: Callable[[], dt.datetime] = _utcnow,
        skew: dt.timedelta = dt.timedelta(seconds=60),
        logger: logging.Logger | None = None,
        open_paths: Iterable[str] = OPEN_PATHS,
        open_prefixes: Iterable[str] = OPEN_PREFIXES,
    ) -> None:
        if signer.member_id != identity:
            raise ValueError(f"the signing key is {signer.member_id}'s, not {identity}'s")
        self.app = app
        self.store = store
        self.signer = signer
        self.identity = identity
        self.gateway = gateway
        self.clock = clock
        self.skew = skew
        self.logger = logger or logging.getLogger("lienthong.provider")
        self.open_paths = frozenset(open_paths)
        self.open_prefixes = tuple(open_prefixes)
        self._aud = str(identity)
        self._iss = str(gateway)
        self._skew_seconds = skew.total_seconds()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        kind = scope["type"]
        if kind == "lifespan":
            await self.app(scope, receive, send)
            return
        if kind != "http":  # no websockets here: refuse the handshake
            await send({"type": "websocket.close", "code": 1008})
            return
        now = self.clock()
        peer = self._gateway_peer(scope, now)
        if peer is None:
            await error_response(Forbidden(GATEWAY_ONLY), current_xroad_id.get())(
                scope, receive, send
            )
            return
        path: str = scope["path"]
        if path in self.open_paths or path.startswith(self.open_prefixes):
            await self.app(scope, receive, send)
            return
        await self._forwarded(scope, receive, send, peer, now)

    # -- 1. the TLS peer -------------------------------------------------------------------
    def _gateway_peer(self, scope: Scope, now: dt.datetime) -> str | None:
        """The fingerprint of the TLS client certificate if it is the gateway's, else None."""
        try:
            cert = peer_certificate(scope)
        except ValueError:
            cert = None
        if cert is None:
            self._refused("tls", "no_client_certificate")
            return None
        print_of_cert, member = _identity(cert)
        try:
            self.store.verify(cert, now=now)
        except CertificateRejected as e:
            self._refused("tls", e.reason, peer=member)
            return None
        if member != self.gateway:
            self._refused("tls", "not_the_gateway", peer=member)
            return None
        return print_of_cert

    # -- 2. the forward header -------------------------------------------------------------
    async def _forwarded(
        self, scope: Scope, receive: Receive, send: Send, peer: str, now: dt.datetime
    ) -> None:
        try:
            claims = self._verify_header(scope, peer, now)
        except _Refused as refused:
            # Not bound to any exchange the gateway signed for: answered, but not signed.
            await self._refuse(refused, scope, receive, send, current_xroad_id.get())
            return
        jti: str = claims["jti"]
        request_hash: str = claims["request_hash"]
        signing = _SigningSend(
            send,
            sign=lambda status, body: self._sign(jti, request_hash, status, body),
            jti=jti,
            head=scope["method"] == "HEAD",
        )
        try:
            self._check_claims(scope, claims, now)
            try:
                body = await _read_body(receive)
            except StarletteHTTPException as e:
                if e.status_code != 413:
                    raise
                raise _Refused(PayloadTooLarge(), reason="body_too_large") from e
            if body is None:  # the gateway hung up mid-body: nobody to answer
                return
            if claims["body_sha256"] != sha256_b64url(body):
                raise _bad("body_sha256")
            self._check_fields(scope, claims)
        except _Refused as refused:
            await self._refuse(refused, scope, receive, signing, jti)
            return
        scope.setdefault("state", {})["forward"] = claims
        await self._call_signed(scope, receive, signing, body)

    async def _refuse(
        self, refused: _Refused, scope: Scope, receive: Receive, send: Send, xroad_id: str
    ) -> None:
        detail = refused.error.detail
        check = detail.get("check") if isinstance(detail, dict) else None
        self._refused("forward", refused.reason, check=check)
        await error_response(refused.error, xroad_id)(scope, receive, send)

    def _verify_header(self, scope: Scope, peer: str, now: dt.datetime) -> dict[str, Any]:
        """The forward header's claims, if the pinned gateway signed them with the key of
        this connection, with a ``jti`` and ``request_hash`` to bind the answer to."""
        token = header_value(scope, _FORWARD)
        if token is None:
            raise _bad("missing")
        try:
            verified = verify(token, store=self.store, now=now, typ=TYP_FORWARD)
        except SignatureRejected as e:
            raise _bad("signature", e.reason) from e
        if verified.signer != self.gateway:
            raise _bad("signer", "not_the_gateway")
        if _identity(verified.certificate)[0] != peer:
            raise _bad("tls_binding", "not_the_connection_certificate")
        claims = verified.claims
        jti = claims.get("jti")
        if not _valid_id(jti) or header_value(scope, _XROAD_ID) != jti:
            raise _bad("jti")
        if not isinstance(claims.get("request_hash"), str):
            raise _bad("request_hash")
        return claims

    def _check_claims(self, scope: Scope, claims: dict[str, Any], now: dt.datetime) -> None:
        if claims.get("iss") != self._iss:
            raise _bad("iss")
        if claims.get("aud") != self._aud:
            raise _bad("aud")
        if claims.get("htm") != scope["method"]:
            raise _bad("htm")
        if claims.get("htu") != target(scope):
            raise _bad("htu")
        iat = claims.get("iat")
        if (
            not isinstance(iat, int)
            or isinstance(iat, bool)
            or abs(now.timestamp() - iat) > self._skew_seconds
        ):
            raise _bad("iat")
        for name in _STRING_CLAIMS:
            if not isinstance(claims.get(name), str):
                raise _bad(name)
        fields = claims.get("fields")
        if fields is not None and (
            not isinstance(fields, list) or not all(isinstance(f, str) for f in fields)
        ):
            raise _bad("fields")

    def _check_fields(self, scope: Scope, claims: dict[str, Any]) -> None:
        allowed: list[str] | None = claims.get("fields")
        if allowed is None:  # the operation selects no fields
            return
        asked = requested_fields(scope.get("query_string", b""))
        if not asked:
            raise _Refused(
                FieldsNotAllowed(
                    "fields= must name the fields to return, within the allowed set",
                    detail={"fields": [], "allowed": allowed},
                ),
                reason="fields_missing",
            )
        outside = sorted(set(asked) - set(allowed))
        if outside:
            raise _Refused(
                FieldsNotAllowed(
                    "fields outside the allowed set: " + ", ".join(outside),
                    detail={"fields": outside, "allowed": allowed},
                ),
                reason="fields_outside",
            )

    # -- 3. the signed answer --------------------------------------------------------------
    async def _call_signed(
        self, scope: Scope, receive: Receive, signing: _SigningSend, body: bytes
    ) -> None:
        replayed = False

        async def replay() -> Message:
            nonlocal replayed
            if not replayed:
                replayed = True
                return {"type": "http.request", "body": body, "more_body": False}
            return await receive()

        try:
            await self.app(scope, replay, signing)
        except Exception:
            if signing.sent:
                raise
            # The answer is ours to give, and it is signed like any other.
            self.logger.exception("unhandled error", extra={"fields": {"method": scope["method"]}})
            await error_response(ServerError("internal error"), current_xroad_id.get())(
                scope, replay, signing
            )

    def _sign(self, jti: str, request_hash: str, status: int, body: bytes) -> str:
        claims = {
            "iss": self._aud,
            "jti": jti,
            "request_hash": request_hash,
            "status": status,
            "body_sha256": sha256_b64url(body),
            "iat": timestamp(self.clock()),
        }
        return self.signer.sign(claims, typ=TYP_RESPONSE)

    def _refused(
        self, stage: str, reason: str, *, peer: ClientId | None = None, check: str | None = None
    ) -> None:
        # Reason codes and member ids only: never the path or query (personal ids).
        fields: dict[str, Any] = {"stage": stage, "reason": reason}
        if peer is not None:
            fields["peer"] = str(peer)
        if check is not None:
            fields["check"] = check
        self.logger.warning("request refused", extra={"fields": fields})


def header_value(scope: Scope, name: bytes) -> str | None:
    """The value of the one request header ``name`` (lower-case bytes); None if absent."""
    for key, value in scope["headers"]:
        if key == name:
            return str(value.decode("latin-1"))
    return None


def target(scope: Scope) -> str:
    """The request target as sent: raw path (percent-encoding kept) and raw query."""
    raw = scope.get("raw_path")
    path = raw.decode("latin-1") if raw else scope["path"]
    query: bytes = scope.get("query_string", b"")
    return f"{path}?{query.decode('latin-1')}" if query else path


async def _read_body(receive: Receive) -> bytes | None:
    """The whole request body; None if the client disconnected first."""
    chunks: list[bytes] = []
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            return None
        chunks.append(message.get("body", b""))
        if not message.get("more_body", False):
            return b"".join(chunks)


# -- wiring ----------------------------------------------------------------------------------


class ProviderSettings(ServiceSettings):
    """Settings of a data provider behind the gateway (each registry's settings extend it)."""

    #: This provider's X-Road subsystem id: the ``aud`` of forward headers, the ``iss`` of
    #: response signatures, the certificate in ``<pki>/members/<member_id>.crt|.key``.
    member_id: str
    #: Accept only the gateway (mTLS + forward header) and sign answers. Off only for
    #: development and in-process tests; refused in production.
    require_gateway: bool = True
    #: The gateway whose certificate is pinned.
    gateway_id: str = DEFAULT_GATEWAY_ID
    #: How far a forward header's ``iat`` may be from this host's clock.
    forward_skew_seconds: int = Field(default=60, ge=1, le=3600)

    @field_validator("member_id", "gateway_id")
    @classmethod
    def _an_xroad_client_id(cls, value: str) -> str:
        try:
            return str(parse_client_id(value))
        except InvalidIdentifier as e:
            raise ValueError(e.message) from e

    @model_validator(mode="after")
    def _gateway_required_in_production(self) -> ProviderSettings:
        if self.environment == "prod" and not self.require_gateway:
            raise ValueError(
                "require_gateway=false is for development only: in production a registry "
                "answers the gateway alone"
            )
        return self


@dataclass(frozen=True)
class GatewayGuard:
    """Everything ``ProviderGuard`` needs, loaded once when the app is built."""

    store: TrustStore
    signer: Signer
    identity: ClientId
    gateway: ClientId
    clock: Callable[[], dt.datetime] = _utcnow
    skew: dt.timedelta = dt.timedelta(seconds=60)

    def __post_init__(self) -> None:
        if self.signer.member_id != self.identity:
            raise ValueError(f"the signing key is {self.signer.member_id}'s, not {self.identity}'s")

    def install(self, app: FastAPI, *, logger: logging.Logger | None = None) -> None:
        """Put the guard just inside ``RequestContextMiddleware`` (appended, not
        ``add_middleware``, which would wrap it outside), so refusals are logged with their
        X-Road-Id and counted, and the body cap applies before the guard buffers."""
        app.user_middleware.append(
            Middleware(
                ProviderGuard,
                store=self.store,
                signer=self.signer,
                identity=self.identity,
                gateway=self.gateway,
                clock=self.clock,
                skew=self.skew,
                logger=logger,
            )
        )


def member_files(pki: Path, member: ClientId) -> tuple[Path, Path]:
    """Where a member's certificate and key live (``certs.authority`` layout)."""
    base = pki / "members" / str(member)
    return base.with_suffix(".crt"), base.with_suffix(".key")


def gateway_guard(
    settings: ProviderSettings, *, clock: Callable[[], dt.datetime] = _utcnow
) -> GatewayGuard | None:
    """The guard of a provider from its settings: trust store, member key, pinned gateway.

    None when ``require_gateway`` is off. Missing files are one error naming them and the
    fix; a key that is not the provider's own, or a certificate the store no longer trusts
    (expired, revoked), refuses to start rather than sign answers nobody accepts.
    """
    if not settings.require_gateway:
        return None
    identity = parse_client_id(settings.member_id)
    pki = settings.pki
    ca, crl = pki / "ca.crt", pki / "crl.pem"
    cert, key = member_files(pki, identity)
    missing = [str(p) for p in (ca, crl, cert, key) if not p.exists()]
    if missing:
        prefix = settings.model_config.get("env_prefix", "")
        raise FileNotFoundError(
            f"{settings.service_name}: {', '.join(missing)} missing; run `lienthong certs init` "
            f"(or set {prefix}REQUIRE_GATEWAY=false to run without the gateway in development)"
        )
    store = TrustStore.from_files(ca, crl)
    signer = Signer.from_files(cert, key)
    if signer.member_id != identity:
        raise ValueError(f"{cert} is the certificate of {signer.member_id}, not of {identity}")
    try:
        store.verify(signer.certificate, now=clock())
    except CertificateRejected as e:
        raise ValueError(
            f"{settings.service_name}: its certificate {cert} is not trusted ({e.reason}); "
            "run `lienthong certs init` to issue a new one"
        ) from e
    return GatewayGuard(
        store=store,
        signer=signer,
        identity=identity,
        gateway=parse_client_id(settings.gateway_id),
        clock=clock,
        skew=dt.timedelta(seconds=settings.forward_skew_seconds),
    )
