"""The consumer side of the wire protocol, without I/O: sign a request, check its answer.

``ClientCore`` holds what a member system needs to talk to the gateway — its signer, the
trust store, the gateway's address and id, a clock — and turns a ``Call`` (method, target,
parameters, body, purpose...) into a signed ``httpx.Request`` (``prepare``) and the
gateway's answer into a verified ``GatewayResponse`` or a typed exception (``finish``).
The sync and async clients only add the sending, the retry loop and the sleeping.

A request carries ``X-Road-Client``, a fresh ``X-Road-Id`` (uuid4), the purpose, consent,
official and case headers, and ``X-Road-Signature``: a JWS (``xroad-request+jwt``) over::

    iss aud htm htu iat jti purpose consent uid issue body_sha256

where ``htu`` is the path and query exactly as they go on the wire, read back from the
built request rather than re-encoded. An answer to a service call is accepted only if
``X-Road-Request-Hash`` is the hash of that JWS and ``X-Road-Response-Signature`` is a JWS
(``xroad-response+jwt``) by the service's provider, trusted by the CA at ``now``, naming
the same ``jti``, request hash, HTTP status and body digest. Errors the gateway itself
raises (``X-Road-Error``, 5xx, or 4xx without a registry signature) are not signed by a
registry and are raised as they are.

Every answer the gateway recorded in its evidence log carries ``X-Road-Log-Receipt``: a
JWS (``xroad-receipt+jwt``) by the gateway naming this exchange (``jti``) and its record's
place in the log (``index``, ``leaf_hash``; for a forwarded query also the ``accepted``
record's). When present it must be signed by the gateway this client is configured for,
trusted by the CA, for this X-Road-Id; its claims are kept on the answer or the error
(``receipt``) as the client's evidence that the exchange was logged. Gateways older than
the evidence log send none: ``receipt`` is then ``None``.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import random
import re
import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, TypedDict
from urllib.parse import quote, urlencode

import httpx

from consumers.sdk.errors import (
    GatewayError,
    GatewayTimeout,
    ResponseVerificationFailed,
    TransportFailed,
    error_from,
    parse_retry_after,
)
from core.errors import InvalidIdentifier
from core.ids.personal import validate_personal_id
from core.ids.xroad import ClientId, ServiceId, parse_client_id, parse_service_id
from core.pki import TrustStore
from core.signing import (
    TYP_RECEIPT,
    TYP_REQUEST,
    TYP_RESPONSE,
    SignatureRejected,
    Signer,
    sha256_b64url,
    timestamp,
    verify,
)

logger = logging.getLogger("lienthong.sdk")
# A library logs through its user's handlers, never straight to stderr (logging HOWTO).
logger.addHandler(logging.NullHandler())

DEFAULT_GATEWAY_URL = "https://127.0.0.1:8443"
DEFAULT_GATEWAY_ID = "VN/GOV/LIENTHONG/gateway"

H_CLIENT = "X-Road-Client"
H_ID = "X-Road-Id"
H_USER = "X-Road-UserId"
H_ISSUE = "X-Road-Issue"
H_PURPOSE = "X-Road-Purpose"
H_CONSENT = "X-Road-Consent"
H_SIGNATURE = "X-Road-Signature"
H_SERVICE = "X-Road-Service"
H_REQUEST_HASH = "X-Road-Request-Hash"
H_RESPONSE_SIGNATURE = "X-Road-Response-Signature"
H_ERROR = "X-Road-Error"
H_RECEIPT = "X-Road-Log-Receipt"

#: The metaservice the gateway answers at ``/r1/listClients``.
LIST_CLIENTS = "listClients"
#: The metaservices the gateway answers at ``/r1/{provider}/<name>``.
PROVIDER_METASERVICES = frozenset({"listMethods", "allowedMethods", "getOpenAPI", "logProof"})
IDEMPOTENT_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})

MAX_HEADER_VALUE = 128

_HEX64 = re.compile(r"[0-9a-f]{64}")

Params = Mapping[str, str | Sequence[str] | None]
Clock = Callable[[], dt.datetime]


def utcnow() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


@dataclass(frozen=True)
class Call:
    """One exchange to make: what to ask, of which service, in which context."""

    method: str
    #: The path after ``/r1/``: ``VN/GOV/BCA/population/persons/0010...`` or ``listClients``.
    target: str
    #: The service called; ``None`` for a metaservice (answered by the gateway itself).
    service: ServiceId | None
    params: tuple[tuple[str, str], ...] = ()
    body: bytes | None = None
    purpose: str | None = None
    consent: str | None = None
    issue: str | None = None
    user_id: str | None = None
    idempotent: bool = True

    @property
    def provider(self) -> ClientId | None:
        return self.service.client if self.service is not None else None


@dataclass(frozen=True)
class Prepared:
    """A signed request, ready to send (one attempt: a retry is prepared anew)."""

    call: Call
    request: httpx.Request
    x_road_id: str
    signature: str
    request_hash: str
    claims: dict[str, Any]


@dataclass(frozen=True)
class GatewayResponse:
    """A verified answer: its data, and the evidence that its owner signed it."""

    status: int
    #: The parsed JSON body (``None`` if the body is empty or not JSON).
    data: Any
    headers: httpx.Headers
    x_road_id: str
    #: ``sha256_b64url`` of this client's request JWS, as the gateway and registry saw it.
    request_hash: str
    #: The registry's ``X-Road-Response-Signature`` (``None`` for gateway metaservices).
    response_signature: str | None
    #: The member that signed the answer, verified (``None`` for unsigned metaservices).
    provider: ClientId | None
    #: The exact body bytes the signature covers.
    body: bytes
    service: ServiceId | None = None
    #: This client's own request JWS (kept as evidence of what was asked).
    request_signature: str = ""
    response_claims: dict[str, Any] = field(default_factory=dict)
    #: The verified claims of the gateway's ``X-Road-Log-Receipt``: where the exchange is
    #: in the evidence log (``index``, ``leaf_hash``, ``accepted_index``...). ``None`` when
    #: the gateway sent none (metaservices, gateways older than the evidence log).
    receipt: dict[str, Any] | None = None

    @property
    def ok(self) -> bool:
        return 200 <= self.status < 300


# -- targets ---------------------------------------------------------------------------------


def split_target(r1_path: str) -> tuple[str, ServiceId | None]:
    """Classify a path below ``/r1/``: (target, service called, or ``None`` for metaservices).

    ``VN/GOV/BCA/population/persons/0010...`` calls service ``VN/GOV/BCA/population/persons``;
    ``listClients`` and ``VN/GOV/BCA/population/listMethods`` (``allowedMethods``,
    ``getOpenAPI?serviceCode=persons``) are metaservices. Raises ``ValueError`` otherwise.
    """
    target = r1_path.strip()
    target = target.removeprefix("/").removeprefix("r1/")
    path, _, _query = target.partition("?")
    segments = path.split("/")
    if segments == [LIST_CLIENTS]:
        return target, None
    if len(segments) < 5:
        raise ValueError(
            f"{path!r} is not a service path: expected INSTANCE/CLASS/MEMBER/SUBSYSTEM/"
            f"SERVICE[/...] (e.g. VN/GOV/BCA/population/persons/001090012345) or {LIST_CLIENTS}"
        )
    try:
        if len(segments) == 5 and segments[4] in PROVIDER_METASERVICES:
            parse_client_id("/".join(segments[:4]))
            return target, None
        return target, parse_service_id("/".join(segments[:5]))
    except InvalidIdentifier as e:
        raise ValueError(str(e)) from e


def _check_header(name: str, value: str | None) -> str | None:
    if value is None:
        return None
    if not value or len(value) > MAX_HEADER_VALUE or not value.isascii():
        raise ValueError(f"{name} must be 1-{MAX_HEADER_VALUE} printable ASCII characters")
    if not value.isprintable():
        raise ValueError(f"{name} must be printable ASCII, without control characters")
    return value


def _check_user_id(value: str | None) -> str | None:
    if value is None:
        return None
    try:
        return validate_personal_id(value)
    except InvalidIdentifier as e:
        raise ValueError(f"user_id (X-Road-UserId) must be a 12-digit personal id: {e}") from e


def _normalise_params(params: Params | None) -> tuple[tuple[str, str], ...]:
    out: list[tuple[str, str]] = []
    for key, value in (params or {}).items():
        if value is None:
            continue
        out.append((key, value if isinstance(value, str) else ",".join(value)))
    return tuple(out)


def json_body(obj: Any) -> bytes:
    """The bytes the SDK sends (and signs) for a JSON body: compact UTF-8."""
    return json.dumps(obj, separators=(",", ":"), ensure_ascii=False).encode()


class CallContext(TypedDict, total=False):
    """The exchange's context a call takes as keywords (each optional)."""

    purpose: str | None  # X-Road-Purpose
    consent: str | None  # X-Road-Consent
    issue: str | None  # X-Road-Issue, the case number
    user_id: str | None  # X-Road-UserId; None or absent: the client's


class RequestOptions(CallContext, total=False):
    """The keywords of ``GatewayClient.request``: a body or query and the context."""

    params: Params | None
    json: Any
    content: bytes | None  # raw body; give json or content, not both
    idempotent: bool | None  # None: by method (GET, HEAD, ... are)


# -- the core --------------------------------------------------------------------------------


class ClientCore:
    """Everything a client does that is not I/O: build, sign, verify, decide to retry."""

    def __init__(
        self,
        *,
        member_id: str | ClientId,
        signer: Signer,
        store: TrustStore,
        base_url: str = DEFAULT_GATEWAY_URL,
        gateway_id: str | ClientId = DEFAULT_GATEWAY_ID,
        user_id: str | None = None,
        retries: int = 3,
        backoff: float = 0.5,
        max_backoff: float = 30.0,
        clock: Clock | None = None,
        rng: random.Random | None = None,
    ) -> None:
        self.member_id = parse_client_id(str(member_id))
        if signer.member_id != self.member_id:
            raise ValueError(
                f"the certificate names {signer.member_id}, not {self.member_id}: "
                "use the member's own certificate and key"
            )
        if retries < 0 or backoff < 0:
            raise ValueError("retries and backoff must not be negative")
        self.signer = signer
        self.store = store
        self.base_url = base_url.rstrip("/")
        self.gateway_id = parse_client_id(str(gateway_id))
        self.user_id = _check_user_id(user_id)
        self.retries = retries
        self.backoff = backoff
        self.max_backoff = max_backoff
        self.clock: Clock = clock or utcnow
        self.rng = rng or random.SystemRandom()

    # -- building calls ----------------------------------------------------------------------

    def call(
        self,
        method: str,
        target: str,
        service: ServiceId | None,
        *,
        params: Params | None = None,
        json: Any = None,
        content: bytes | None = None,
        purpose: str | None = None,
        consent: str | None = None,
        issue: str | None = None,
        user_id: str | None = None,
        idempotent: bool | None = None,
    ) -> Call:
        if json is not None and content is not None:
            raise ValueError("give json or content, not both")
        method = method.upper()
        body = json_body(json) if json is not None else content
        return Call(
            method=method,
            target=target,
            service=service,
            params=_normalise_params(params),
            body=body,
            purpose=_check_header(H_PURPOSE, purpose),
            consent=_check_header(H_CONSENT, consent),
            issue=_check_header(H_ISSUE, issue),
            user_id=_check_user_id(user_id) if user_id is not None else self.user_id,
            idempotent=method in IDEMPOTENT_METHODS if idempotent is None else idempotent,
        )

    def service_call(self, method: str, service: str | ServiceId, path: str, **kw: Any) -> Call:
        """A call of ``path`` (relative to the service, e.g. ``/001090012345``) of ``service``."""
        sid = service if isinstance(service, ServiceId) else _parse_service(service)
        if path and not path.startswith(("/", "?")):
            raise ValueError(f"path must start with '/' (relative to {sid}), got {path!r}")
        return self.call(method, f"{sid}{path}", sid, **kw)

    def path_call(self, method: str, r1_path: str, **kw: Any) -> Call:
        """A call of any path below ``/r1/`` (services and metaservices)."""
        target, service = split_target(r1_path)
        return self.call(method, target, service, **kw)

    # -- signing -----------------------------------------------------------------------------

    def prepare(self, call: Call) -> Prepared:
        """The signed request for one attempt of ``call``: new X-Road-Id, new signature."""
        x_road_id = str(uuid.uuid4())
        headers: dict[str, str] = {
            "Accept": "application/json",
            H_CLIENT: str(self.member_id),
            H_ID: x_road_id,
        }
        for name, value in (
            (H_USER, call.user_id),
            (H_ISSUE, call.issue),
            (H_PURPOSE, call.purpose),
            (H_CONSENT, call.consent),
        ):
            if value is not None:
                headers[name] = value
        if call.body is not None:
            headers["Content-Type"] = "application/json"
        url = f"{self.base_url}/r1/{call.target}"
        if call.params:
            # Commas stay literal (fields=full_name,sex), as the protocol's examples write it.
            query = urlencode(call.params, quote_via=quote, safe=",")
            url += ("&" if "?" in call.target else "?") + query
        request = httpx.Request(call.method, url, content=call.body, headers=headers)
        claims: dict[str, Any] = {
            "iss": str(self.member_id),
            "aud": str(self.gateway_id),
            "htm": call.method,
            "htu": request.url.raw_path.decode("ascii"),
            "iat": timestamp(self.clock()),
            "jti": x_road_id,
            "purpose": call.purpose,
            "consent": call.consent,
            "uid": call.user_id,
            "issue": call.issue,
            "body_sha256": sha256_b64url(call.body or b""),
        }
        signature = self.signer.sign(claims, typ=TYP_REQUEST)
        request.headers[H_SIGNATURE] = signature
        return Prepared(
            call=call,
            request=request,
            x_road_id=x_road_id,
            signature=signature,
            request_hash=sha256_b64url(signature.encode("ascii")),
            claims=claims,
        )

    # -- answers -----------------------------------------------------------------------------

    def retry_delay(
        self, prepared: Prepared, status: int, headers: Mapping[str, str], attempt: int
    ) -> float | None:
        """Seconds to wait before retrying after attempt ``attempt`` (0-based), or ``None``.

        Only a 503 of an idempotent call is retried (a 504 or a broken connection may hide
        a provider that acted), at most ``retries`` times, with exponential backoff and
        jitter: ``backoff * 2**attempt``, the upper half of it random, at least the
        server's ``Retry-After``, at most ``max_backoff``.
        """
        if status != 503 or not prepared.call.idempotent or attempt >= self.retries:
            return None
        base = self.backoff * 2.0**attempt
        delay = base / 2 + self.rng.uniform(0, base / 2)
        retry_after = parse_retry_after(headers.get("Retry-After"), now=self.clock())
        if retry_after is not None:
            delay = max(delay, retry_after)
        return min(delay, self.max_backoff)

    def transport_failed(self, prepared: Prepared, exc: httpx.TransportError) -> GatewayError:
        cls = GatewayTimeout if isinstance(exc, httpx.TimeoutException) else TransportFailed
        what = "did not answer in time" if cls is GatewayTimeout else "could not be reached"
        return cls(
            None,
            cls.error_type,
            f"the gateway at {self.base_url} {what} ({type(exc).__name__})",
            None,
            prepared.x_road_id,
        )

    def finish(
        self, prepared: Prepared, status: int, headers: httpx.Headers, body: bytes
    ) -> GatewayResponse:
        """The verified answer to ``prepared``, or the exception it stands for."""
        now = self.clock()
        receipt = self._receipt(prepared, status, headers, now)
        token = headers.get(H_RESPONSE_SIGNATURE) or None  # an empty header is no signature
        if status >= 500 or (status >= 300 and token is None):
            # The gateway's own error: not signed by a registry, nothing to verify.
            raise error_from(
                status, headers, body, x_road_id=prepared.x_road_id, now=now, receipt=receipt
            )
        call = prepared.call
        claims: dict[str, Any] = {}
        signer: ClientId | None = None
        if token is not None:
            signer, claims = self._verify(prepared, status, headers, body, token, now, receipt)
        elif call.service is not None:
            raise self._rejected(prepared, status, "signature_missing", receipt=receipt)
        else:
            # A metaservice, answered by the gateway over the TLS connection it authenticated.
            sent = headers.get(H_REQUEST_HASH)
            if sent is not None and sent != prepared.request_hash:
                raise self._rejected(prepared, status, "request_hash_header", receipt=receipt)
        response = GatewayResponse(
            status=status,
            data=_parse_json(body),
            headers=headers,
            x_road_id=prepared.x_road_id,
            request_hash=prepared.request_hash,
            response_signature=token,
            provider=signer,
            body=body,
            service=call.service,
            request_signature=prepared.signature,
            response_claims=claims,
            receipt=receipt,
        )
        if status >= 300:
            # A registry's own refusal (e.g. client.person_not_found), signed and verified.
            raise error_from(
                status,
                headers,
                body,
                x_road_id=prepared.x_road_id,
                now=now,
                response=response,
                receipt=receipt,
            )
        return response

    def _receipt(
        self, prepared: Prepared, status: int, headers: httpx.Headers, now: dt.datetime
    ) -> dict[str, Any] | None:
        """The verified claims of ``X-Road-Log-Receipt``; ``None`` if the gateway sent none.

        A receipt must be the configured gateway's (signer and ``iss``), trusted by the CA
        at ``now``, for this exchange (``jti``), and name a place in the log (``index``,
        ``leaf_hash``; an ``accepted_index`` before it). Anything else is a
        ``ResponseVerificationFailed`` with check ``receipt``.
        """
        token = headers.get(H_RECEIPT)
        if token is None:
            return None  # a gateway older than the evidence log
        try:
            verified = verify(token, store=self.store, now=now, typ=TYP_RECEIPT)
        except SignatureRejected as e:
            raise self._rejected(prepared, status, "receipt", reason=e.reason) from e
        claims = verified.claims
        problem = None
        if verified.signer != self.gateway_id:
            problem = "wrong_signer"
        elif claims.get("iss") != str(self.gateway_id):
            problem = "iss"
        elif claims.get("jti") != prepared.x_road_id:
            problem = "jti"
        else:
            problem = _log_position_problem(claims)
        if problem is not None:
            raise self._rejected(prepared, status, "receipt", reason=problem)
        return claims

    def _verify(
        self,
        prepared: Prepared,
        status: int,
        headers: httpx.Headers,
        body: bytes,
        token: str,
        now: dt.datetime,
        receipt: dict[str, Any] | None = None,
    ) -> tuple[ClientId, dict[str, Any]]:
        call = prepared.call
        expected = call.provider or self.gateway_id
        if headers.get(H_REQUEST_HASH) != prepared.request_hash:
            raise self._rejected(prepared, status, "request_hash_header", receipt=receipt)
        answered_id = headers.get(H_ID)
        if answered_id is not None and answered_id != prepared.x_road_id:
            raise self._rejected(prepared, status, "x_road_id", receipt=receipt)
        answered_service = headers.get(H_SERVICE)
        if call.service is not None and answered_service not in (None, str(call.service)):
            raise self._rejected(prepared, status, "service", receipt=receipt)
        try:
            verified = verify(token, store=self.store, now=now, typ=TYP_RESPONSE)
        except SignatureRejected as e:
            raise self._rejected(prepared, status, e.reason, receipt=receipt) from e
        claims = verified.claims
        problem = None
        if verified.signer != expected:
            problem = "wrong_signer"
        elif claims.get("iss") != str(expected):
            problem = "iss"
        elif claims.get("jti") != prepared.x_road_id:
            problem = "jti"
        elif claims.get("request_hash") != prepared.request_hash:
            problem = "request_hash"
        elif type(claims.get("status")) is not int or claims["status"] != status:
            problem = "status"
        elif claims.get("body_sha256") != sha256_b64url(body):
            problem = "body_sha256"
        if problem is not None:
            raise self._rejected(prepared, status, problem, receipt=receipt)
        return verified.signer, claims

    def _rejected(
        self,
        prepared: Prepared,
        status: int,
        check: str,
        *,
        reason: str | None = None,
        receipt: dict[str, Any] | None = None,
    ) -> ResponseVerificationFailed:
        fields = {"check": check, "xroad_id": prepared.x_road_id}
        detail: dict[str, Any] = {"check": check}
        if reason is not None:
            fields["reason"] = detail["reason"] = reason
        logger.warning("response verification failed", extra={"fields": fields})
        message = (
            "the gateway's log receipt does not verify for this request; do not rely on this answer"
            if check == "receipt"
            else "the response is not signed by the service's provider for this request; "
            "do not use its data"
        )
        return ResponseVerificationFailed(
            status,
            ResponseVerificationFailed.error_type,
            message,
            detail,
            prepared.x_road_id,
            receipt=receipt,
        )


def _is_index(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value >= 0


def _log_position_problem(claims: Mapping[str, Any]) -> str | None:
    """What is wrong with a receipt's place in the log, if anything."""
    index = claims.get("index")
    if not _is_index(index):
        return "index"
    if not isinstance(claims.get("leaf_hash"), str) or not _HEX64.fullmatch(claims["leaf_hash"]):
        return "leaf_hash"
    if "accepted_index" in claims:
        accepted = claims["accepted_index"]
        if not _is_index(accepted) or accepted >= index:
            return "accepted_index"
        digest = claims.get("accepted_leaf_hash")
        if not isinstance(digest, str) or not _HEX64.fullmatch(digest):
            return "accepted_leaf_hash"
    return None


def _parse_service(service: str) -> ServiceId:
    try:
        return parse_service_id(service)
    except InvalidIdentifier as e:
        raise ValueError(str(e)) from e


def _parse_json(body: bytes) -> Any:
    if not body:
        return None
    try:
        return json.loads(body)
    except ValueError:
        return None
