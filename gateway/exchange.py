"""One exchange, end to end: ``/r1/...`` → checks → record → provider → checks → record → reply.

The order of the checks is the order a request's claims become trustworthy:

1. the TLS client certificate names a member (rate limit keyed by it, so nobody can spend
   another member's budget);
2. the X-Road headers are well-formed and the path is clean (no traversal, no encoded
   separators);
3. the request signature: chain, validity, revocation, signer = X-Road-Client = TLS peer,
   audience, method and path, clock skew, body digest, headers, jti never seen;
4. the catalogue knows the service and operation; the asked fields exist;
5. the access rights (client, service, method, path, purpose, fields) and, for purposes that
   need it, the citizen's consent.

Then the accepted record is made, the query forwarded with a signed forward header carrying
the allowed fields, the provider's signed answer checked, and the accepted and answered
records made durable together, in one commit, before the reply leaves. Every refusal is
recorded too (with the precise reason the caller does not see).
"""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import Any
from urllib.parse import parse_qsl, quote, urlencode

from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.requests import Request
from starlette.responses import Response

from core.errors import BadRequest, LienthongError, PayloadTooLarge, UnknownFields
from core.http import XROAD_ID_HEADER, current_xroad_id, error_response
from core.ids.xroad import ClientId, ServiceId
from core.pki import CertificateRejected, TrustStore, fingerprint
from core.signing import (
    TYP_FORWARD,
    TYP_RECEIPT,
    Signer,
    sha256_b64url,
    timestamp,
    unverified_claims,
)
from core.tls import peer_certificate
from gateway.catalogue import Catalogue, CompiledOperation
from gateway.consents import ConsentStore, check_consent
from gateway.errors import (
    AccessDenied,
    ConsentInvalid,
    EvidenceLogUnavailable,
    FieldsNotAllowed,
    ProviderResponseInvalid,
    ProviderUnavailable,
    RateLimited,
)
from gateway.policy import Decision, Policy
from gateway.protocol import (
    ReplayCache,
    RequestFacts,
    Target,
    XRoadHeaders,
    is_xroad_id,
    parse_client,
    parse_target,
    read_headers,
    verify_request,
)
from gateway.proxy import Forwarder, check_fields, verify_provider_response
from gateway.ratelimit import TokenBuckets
from gateway.records import Appended, EvidenceKeys, PendingRecord, RecordWriter

RECEIPT_HEADER = "X-Road-Log-Receipt"


@dataclass
class Trail:
    """What is known about one exchange so far; becomes its records."""

    x_road_id: str
    started: float
    method: str
    client: ClientId | None = None
    service: ServiceId | None = None
    operation: CompiledOperation | None = None
    headers: XRoadHeaders = field(default_factory=XRoadHeaders)
    body_sha256: str | None = None
    client_jws: str | None = None
    client_cert: str | None = None
    decision: Decision | None = None
    subject: str | None = None  # pseudonym
    #: Whether the accepted record is queued for writing (with the answered one, or alone).
    accepted_queued: bool = False

    def base(self, keys: EvidenceKeys) -> dict[str, Any]:
        h = self.headers
        return {
            # Only a client id that parsed: a malformed header is the caller's text, not ours
            # to keep (its digest is in the client JWS, if any).
            "client": str(self.client) if self.client else None,
            "service": str(self.service) if self.service else None,
            "method": self.method,
            "path_template": self.operation.path if self.operation else None,
            "purpose": h.purpose,
            "consent": h.consent,
            "issue": h.issue,
            "user": keys.pseudonym(h.user_id),
            "subject": self.subject,
            "request_sha256": self.body_sha256,
            "client_jws_sha256": sha256_b64url(self.client_jws.encode())
            if self.client_jws
            else None,
            "client_cert": self.client_cert,
        }


class Exchange:
    """The ``/r1`` handler and everything it needs, injected (clock included)."""

    def __init__(
        self,
        *,
        gateway_id: str,
        store: TrustStore,
        signer: Signer,
        policy: Policy,
        catalogue: Catalogue,
        forwarder: Forwarder,
        writer: RecordWriter,
        keys: EvidenceKeys,
        consents: ConsentStore,
        replay: ReplayCache,
        buckets: TokenBuckets,
        skew_s: float,
        provider_timeout_s: float,
        clock: Callable[[], dt.datetime],
        log_origin: str,
        fail_closed: Callable[[], bool] = lambda: False,
    ) -> None:
        self.log_origin = log_origin
        self.fail_closed = fail_closed
        self.gateway_id = gateway_id
        self.store = store
        self.signer = signer
        self.policy = policy
        self.catalogue = catalogue
        self.forwarder = forwarder
        self.writer = writer
        self.keys = keys
        self.consents = consents
        self.replay = replay
        self.buckets = buckets
        self.skew_s = skew_s
        self.provider_timeout_s = provider_timeout_s
        self.clock = clock
        self.metaservices: Any = None  # set by the app: gateway.metaservices.Metaservices

    # -- entry point -----------------------------------------------------------------------
    async def handle(self, request: Request) -> Response:
        scope = request.scope
        raw_path: bytes = scope.get("raw_path") or quote(scope["path"]).encode()
        query: bytes = scope.get("query_string", b"")
        trail = Trail(
            x_road_id=current_xroad_id.get(), started=time.perf_counter(), method=request.method
        )
        try:
            return await self._handle(request, trail, raw_path, query)
        except LienthongError as err:
            receipt = None
            if trail.decision is None:  # refused before acceptance
                receipt = await self._record_refusal(trail, err)
            response = self._error(err, trail)
            if receipt is not None:
                response.headers[RECEIPT_HEADER] = receipt
            return response

    def _error(self, err: LienthongError, trail: Trail) -> Response:
        response = error_response(err, trail.x_road_id)
        if trail.client is not None:
            response.headers["X-Road-Client"] = str(trail.client)
        if trail.service is not None:
            response.headers["X-Road-Service"] = str(trail.service)
        return response

    async def _handle(
        self, request: Request, trail: Trail, raw_path: bytes, query: bytes
    ) -> Response:
        now = self.clock()
        peer = peer_certificate(request.scope)
        if peer is None:
            raise AccessDenied("a member certificate is required on this listener")
        try:
            peer_member = self.store.verify_member(peer, now=now)
        except CertificateRejected as e:
            raise AccessDenied("the TLS client certificate is not acceptable") from e
        retry = self.buckets.take(str(peer_member))
        if retry is not None:
            raise RateLimited(
                headers={"Retry-After": str(int(retry))}, detail={"retry_after": retry}
            )

        if self.fail_closed():
            raise EvidenceLogUnavailable()
        trail.headers = headers = read_headers(request.scope["headers"])
        if headers.signature:
            trail.client_jws = headers.signature
            # Until the signature verifies, its jti only names the refusal, and only if it
            # is a well-formed X-Road-Id (it goes into a response header and the record).
            jti = unverified_claims(headers.signature).get("jti")
            if headers.id is None and is_xroad_id(jti):
                trail.x_road_id = jti
        if headers.id is not None:
            trail.x_road_id = headers.id
        current_xroad_id.set(trail.x_road_id)
        trail.client = parse_client(headers.client)
        try:
            body = await request.body()
        except StarletteHTTPException as e:  # a chunked body over the limit
            if e.status_code != 413:
                raise
            raise PayloadTooLarge() from e
        trail.body_sha256 = sha256_b64url(body)
        target = parse_target(raw_path)
        if target.service is not None:
            trail.service = target.service
        htu = raw_path.decode("ascii") + ("?" + query.decode("latin-1") if query else "")
        verified = verify_request(
            RequestFacts(
                client=trail.client,
                headers=headers,
                method=request.method,
                htu=htu,
                body=body,
                audience=self.gateway_id,
                peer=peer,
            ),
            store=self.store,
            now=now,
            skew_s=self.skew_s,
            replay=self.replay,
        )
        trail.x_road_id = verified.claims["jti"]
        current_xroad_id.set(trail.x_road_id)
        trail.client_cert = fingerprint(verified.certificate)
        if target.kind != "service":
            result: Response = await self.metaservices.answer(target, trail.client, request)
            result.headers[XROAD_ID_HEADER] = trail.x_road_id
            return result
        return await self._exchange(request, trail, target, query, body, now)

    # -- a data exchange -------------------------------------------------------------------
    async def _exchange(
        self,
        request: Request,
        trail: Trail,
        target: Target,
        query: bytes,
        body: bytes,
        now: dt.datetime,
    ) -> Response:
        service, client, headers = target.service, trail.client, trail.headers
        if service is None or client is None:  # pragma: no cover - set by _handle
            raise RuntimeError("an exchange without service or client")
        op, params = self.catalogue.match(service, request.method, target.rest)
        trail.operation = op
        requested, passthrough = _split_query(query, has_fields=bool(op.fields))
        if requested is not None:
            unknown = sorted(set(requested) - set(op.fields))
            if unknown:
                raise UnknownFields(unknown, list(op.fields))
        body_json = (
            _json_body(body)
            if op.operation.subject and op.operation.subject.startswith("body:")
            else None
        )
        subject_id = op.subject(params, body_json)
        trail.subject = self.keys.pseudonym(subject_id)
        decision = self.policy.authorize(
            client=client,
            service=service,
            method=request.method,
            path=op.path,
            personal_data=op.operation.personal_data,
            operation_fields=op.fields,
            purpose_code=headers.purpose,
            requested=requested,
        )
        if decision.fields is not None and not decision.fields:
            raise FieldsNotAllowed("the access right grants no field of this operation")
        if op.operation.personal_data and headers.user_id is None:
            raise BadRequest(
                "this service returns personal data: X-Road-UserId (the personal id of the "
                "official who asks) is required",
                detail={"header": "X-Road-UserId"},
            )
        if decision.purpose is not None and decision.purpose.consent:
            consent = (
                await asyncio.to_thread(self.consents.get, headers.consent)
                if headers.consent
                else None
            )
            checked = check_consent(
                consent,
                consent_id=headers.consent,
                subject=trail.subject,
                client=client,
                purpose=decision.purpose.code,
                service=service,
                fields=None if requested is None else decision.fields,
                now=now,
            )
            if requested is None and decision.fields is not None:
                # No fields= means "all I may receive": with a consent, that is what both
                # the access right and the citizen allow.
                covered = set(checked.services.get(str(service), ()))
                decision = replace(
                    decision, fields=tuple(f for f in decision.fields if f in covered)
                )
                if not decision.fields:
                    raise ConsentInvalid(
                        "the consent covers no field the access right grants",
                        detail={"check": "fields", "fields": []},
                    )
        trail.decision = decision
        request_hash = sha256_b64url(trail.client_jws.encode("ascii"))  # type: ignore[union-attr]

        base = trail.base(self.keys)
        accepted = PendingRecord(
            x_road_id=trail.x_road_id,
            kind="accepted",
            recorded_at=now,
            client=str(client),
            subject=trail.subject,
            body={
                **base,
                "legal_basis": decision.purpose.legal_basis if decision.purpose else None,
                "fields": list(decision.fields) if decision.fields is not None else None,
                "grants": sorted(decision.grants),
                "request_hash": request_hash,
            },
            signatures=[self.keys.seal(trail.client_jws)],  # type: ignore[arg-type]
        )
        # Written with the answered record, just before it, in one commit: the reply waits
        # for one commit, not two (ADR 0008; ADR 0006 never asked for the accepted record
        # to be durable before forwarding). Should forwarding fail in a way no answered
        # record describes, the accepted record is still written, alone.
        try:
            return await self._forward(
                request, trail, target, passthrough, body, decision, request_hash, base, accepted
            )
        finally:
            if not trail.accepted_queued:
                trail.accepted_queued = True
                await asyncio.shield(self.writer.submit([accepted]))

    async def _forward(
        self,
        request: Request,
        trail: Trail,
        target: Target,
        passthrough: list[tuple[str, str]],
        body: bytes,
        decision: Decision,
        request_hash: str,
        base: dict[str, Any],
        accepted: PendingRecord,
    ) -> Response:
        service, op = target.service, trail.operation
        if service is None or op is None:  # pragma: no cover - set by _exchange
            raise RuntimeError("forwarding without service or operation")
        provider = self.catalogue.providers[service.client]
        query_items = list(passthrough)
        if decision.fields is not None:
            query_items.append(("fields", ",".join(decision.fields)))
        upstream_path = "/" + quote(service.service_code) + quote(target.rest)
        htu = upstream_path + ("?" + urlencode(query_items, safe=",") if query_items else "")
        now = self.clock()
        forward = self.signer.sign(
            {
                "iss": self.gateway_id,
                "aud": str(service.client),
                "jti": trail.x_road_id,
                "client": str(trail.client),
                "service": str(service),
                "purpose": trail.headers.purpose,
                "fields": list(decision.fields) if decision.fields is not None else None,
                "htm": request.method,
                "htu": htu,
                "iat": timestamp(now),
                "request_hash": request_hash,
                "body_sha256": sha256_b64url(body),
            },
            typ=TYP_FORWARD,
        )
        out_headers = {
            "X-Road-Forward": forward,
            "X-Road-Id": trail.x_road_id,
            "X-Road-Client": str(trail.client),
        }
        if body:
            out_headers["Content-Type"] = request.headers.get("content-type", "application/json")
        outcome: LienthongError | None = None
        status = 0
        response_jws: str | None = None
        upstream_body = b""
        try:
            upstream = await self.forwarder.send(
                request.method, provider.url + htu, out_headers, body, self.provider_timeout_s
            )
            status, upstream_body = upstream.status, upstream.body
            response_jws = verify_provider_response(
                upstream,
                provider=service.client,
                x_road_id=trail.x_road_id,
                request_hash=request_hash,
                store=self.store,
                now=self.clock(),
            )
            if 200 <= upstream.status < 300:
                check_fields(
                    upstream.body,
                    fields_at=op.operation.fields_at if decision.fields is not None else None,
                    allowed=decision.fields or (),
                )
            elif upstream.status == 503:
                raise ProviderUnavailable("the provider is not ready")
            elif upstream.status >= 500:
                raise ProviderResponseInvalid(
                    "the provider failed to answer the query", detail={"status": upstream.status}
                )
            elif not 400 <= upstream.status < 500:
                raise ProviderResponseInvalid(detail={"status": upstream.status})
        except LienthongError as err:
            outcome = err
        answered = PendingRecord(
            x_road_id=trail.x_road_id,
            kind="answered",
            recorded_at=self.clock(),
            client=str(trail.client),
            subject=trail.subject,
            body={
                "client": base["client"],
                "service": base["service"],
                "status": outcome.status if outcome else status,
                "outcome": outcome.type
                if outcome
                else ("ok" if status < 400 else "provider_error"),
                "provider_status": status or None,
                "response_sha256": sha256_b64url(upstream_body) if status else None,
                "response_jws_sha256": sha256_b64url(response_jws.encode())
                if response_jws
                else None,
                "request_hash": request_hash,
                "ms": round((time.perf_counter() - trail.started) * 1000, 3),
            },
            signatures=[self.keys.seal(response_jws)] if response_jws else [],
        )
        both = self.writer.submit([accepted, answered])
        trail.accepted_queued = True
        accepted_at, answered_at = await both
        receipt = self._receipt(trail, answered_at, accepted_at)
        if outcome is not None:
            response = self._error(outcome, trail)
            response.headers[RECEIPT_HEADER] = receipt
            return response
        headers = {
            "Content-Type": upstream.headers.get("content-type", "application/json"),
            "X-Road-Id": trail.x_road_id,
            "X-Road-Client": str(trail.client),
            "X-Road-Service": str(service),
            "X-Road-Request-Hash": request_hash,
            "X-Road-Response-Signature": response_jws or "",
            RECEIPT_HEADER: receipt,
        }
        return Response(upstream_body, status_code=status, headers=headers)

    def _receipt(self, trail: Trail, record: Appended, accepted: Appended | None = None) -> str:
        """``X-Road-Log-Receipt``: the gateway's signed promise that the exchange is logged."""
        claims: dict[str, Any] = {
            "iss": self.gateway_id,
            "jti": trail.x_road_id,
            "origin": self.log_origin,
            "index": record.seq,
            "leaf_hash": record.leaf_hash.hex(),
            "iat": timestamp(self.clock()),
        }
        if accepted is not None:
            claims["accepted_index"] = accepted.seq
            claims["accepted_leaf_hash"] = accepted.leaf_hash.hex()
        return self.signer.sign(claims, typ=TYP_RECEIPT)

    # -- refusals --------------------------------------------------------------------------
    async def _record_refusal(self, trail: Trail, err: LienthongError) -> str:
        reason = getattr(err, "reason", None) or (
            err.detail.get("check") if isinstance(err.detail, dict) else None
        )
        record = PendingRecord(
            x_road_id=trail.x_road_id,
            kind="refused",
            recorded_at=self.clock(),
            client=str(trail.client) if trail.client else None,
            subject=trail.subject,
            body={
                **trail.base(self.keys),
                "status": err.status,
                "error": err.type,
                "reason": reason,
            },
            signatures=_sealed(self.keys, trail.client_jws),
        )
        (appended,) = await self.writer.append([record])
        return self._receipt(trail, appended)


def _sealed(keys: EvidenceKeys, jws: str | None) -> list[tuple[str, bytes]]:
    """The JWS sealed for the record, if it is one worth keeping."""
    if jws is None or not jws.isascii() or len(jws) > 32_768:
        return []
    return [keys.seal(jws)]


def _split_query(
    query: bytes, *, has_fields: bool
) -> tuple[list[str] | None, list[tuple[str, str]]]:
    """(fields asked for or None, the other parameters to pass on)."""
    try:
        pairs = parse_qsl(query.decode("ascii"), keep_blank_values=True, strict_parsing=False)
    except UnicodeDecodeError as e:
        raise BadRequest("the query string must be ASCII (percent-encoded)") from e
    fields: list[str] | None = None
    rest: list[tuple[str, str]] = []
    for k, v in pairs:
        if k == "fields":
            names = [n.strip() for n in v.split(",") if n.strip()]
            fields = (fields or []) + names
        else:
            rest.append((k, v))
    if fields is not None and not has_fields:
        raise BadRequest("this operation takes no fields= parameter")
    if fields == []:
        fields = None  # "fields=" or "fields=,,": nothing narrowed, as the registries read it
    return fields, rest


def _json_body(body: bytes) -> Any:
    try:
        return json.loads(body) if body else None
    except ValueError as e:
        raise BadRequest("the request body is not JSON") from e
