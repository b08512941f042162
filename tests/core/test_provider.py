"""core.provider: only the pinned gateway gets in, its forward header binds the request, and
every answer to a forwarded request is signed by the provider.

The guard runs in a small app built on ``core.http`` (so ``RequestContextMiddleware`` is
around it, as in a registry). The TLS layer is simulated by putting the client certificate
in the ASGI scope exactly as ``core.tls.PeerCertHttpToolsProtocol`` does; the real-TLS path
is tested in ``tests/registries/test_gateway_only.py``.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import logging
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Annotated, Any

import httpx
import pytest
from fastapi import FastAPI, Query, Request
from fastapi.responses import StreamingResponse
from pydantic import ValidationError
from starlette.types import ASGIApp, Receive, Scope, Send

from certs.authority import issue, make_ca, new_key
from certs.dev import CONSUMERS, GATEWAY_ID, PROVIDERS
from core.errors import NotFound
from core.fields import parse_fields
from core.http import JsonFormatter, create_service_app
from core.ids.xroad import parse_client_id
from core.pki import TrustStore, certificate_pem, load_certificate, load_private_key
from core.provider import (
    FORWARD_HEADER,
    RESPONSE_SIGNATURE_HEADER,
    GatewayGuard,
    ProviderSettings,
    gateway_guard,
    requested_fields,
)
from core.settings import service_config
from core.signing import (
    TYP_FORWARD,
    TYP_REQUEST,
    TYP_RESPONSE,
    Signer,
    sha256_b64url,
    timestamp,
    verify,
)
from tests.fixtures.pki import PkiFiles

PROVIDER = PROVIDERS["population"]
CONSUMER = CONSUMERS["one-stop"]
PERSONAL_ID = "001085012345"
THING_FIELDS = ("full_name", "date_of_birth", "sex")
SKEW = dt.timedelta(seconds=60)


# -- the app under test ------------------------------------------------------------------------


def demo_app(guard: GatewayGuard, *, access_log: bool = False) -> FastAPI:
    """A provider with a few routes, behind ``guard``."""
    app = create_service_app(
        service="demo", title="Demo provider", description="d", access_log=access_log
    )

    @app.get("/persons/{personal_id}")
    def person(
        personal_id: str, fields: Annotated[list[str] | None, Query()] = None
    ) -> dict[str, Any]:
        if personal_id != PERSONAL_ID:
            raise NotFound("no such person")
        record = {"full_name": "Nguyễn Văn An", "date_of_birth": "1985-04-17", "sex": "male"}
        selected = parse_fields(fields, THING_FIELDS)
        return {k: v for k, v in record.items() if k in selected}

    @app.post("/verifications/identity")
    async def identity(request: Request) -> dict[str, Any]:
        body = await request.body()
        forward = request.state.forward
        return {"length": len(body), "client": forward["client"], "jti": forward["jti"]}

    @app.get("/boom")
    def boom() -> None:
        raise RuntimeError("a bug")

    @app.get("/half")
    def half() -> StreamingResponse:
        def chunks() -> Iterator[bytes]:
            yield b'{"partial": '
            raise RuntimeError("a bug mid-answer")

        return StreamingResponse(chunks(), media_type="application/json")

    guard.install(app)
    return app


def with_peer(app: ASGIApp, pem: str | None) -> ASGIApp:
    """``app`` as reached over TLS with client certificate ``pem`` (None: plain HTTP)."""

    async def asgi(scope: Scope, receive: Receive, send: Send) -> None:
        if pem is not None and scope["type"] == "http":
            scope = {**scope, "extensions": {"tls": {"client_cert_chain": [pem]}}}
        await app(scope, receive, send)

    return asgi


@dataclasses.dataclass
class Provider:
    """The guarded app, the PKI it trusts and the time it lives at."""

    app: FastAPI
    pki: PkiFiles
    store: TrustStore
    now: dt.datetime

    def client(self, peer: str | None = GATEWAY_ID, *, pem: str | None = None) -> httpx.AsyncClient:
        """A client of the app whose TLS certificate is member ``peer``'s (or ``pem``)."""
        if pem is None and peer is not None:
            pem = self.pki.pem(peer)
        transport = httpx.ASGITransport(app=with_peer(self.app, pem))
        return httpx.AsyncClient(transport=transport, base_url="https://provider")

    def forward(
        self,
        target: str,
        *,
        method: str = "GET",
        body: bytes = b"",
        signer: Signer | None = None,
        fields: list[str] | None = None,
        **overrides: Any,
    ) -> tuple[str, dict[str, Any]]:
        """A forward header for ``method target`` as the gateway makes it, and its claims."""
        claims: dict[str, Any] = {
            "iss": GATEWAY_ID,
            "aud": PROVIDER,
            "jti": str(uuid.uuid4()),
            "client": CONSUMER,
            "service": f"{PROVIDER}/persons",
            "purpose": "household-business-registration",
            "fields": fields,
            "htm": method,
            "htu": target,
            "iat": timestamp(self.now),
            "request_hash": sha256_b64url(b"the client's JWS"),
            "body_sha256": sha256_b64url(body),
        }
        claims.update(overrides)
        claims = {k: v for k, v in claims.items() if v is not _DROP}
        token = (signer or self.pki.signer(GATEWAY_ID)).sign(claims, typ=TYP_FORWARD)
        return token, claims

    async def call(
        self,
        target: str,
        *,
        method: str = "GET",
        body: bytes = b"",
        peer: str | None = GATEWAY_ID,
        token: str | None = None,
        claims: dict[str, Any] | None = None,
        headers: dict[str, str] | None = None,
        **forward: Any,
    ) -> httpx.Response:
        """Send ``method target`` as the gateway forwards it (override any part)."""
        if token is None:
            token, claims = self.forward(target, method=method, body=body, **forward)
        sent = {FORWARD_HEADER: token, "X-Road-Client": CONSUMER}
        if claims is not None and isinstance(claims.get("jti"), str):
            sent["X-Road-Id"] = claims["jti"]
        sent.update(headers or {})
        async with self.client(peer) as client:
            return await client.request(method, target, content=body, headers=sent)


_DROP = object()


@pytest.fixture
def provider(pki_files: PkiFiles) -> Provider:
    return provider_with(pki_files)


def provider_with(
    pki_files: PkiFiles, *, store: TrustStore | None = None, access_log: bool = False
) -> Provider:
    now = dt.datetime.now(dt.UTC).replace(microsecond=0)
    trust = store or pki_files.store()
    guard = GatewayGuard(
        store=trust,
        signer=pki_files.signer(PROVIDER),
        identity=parse_client_id(PROVIDER),
        gateway=parse_client_id(GATEWAY_ID),
        clock=lambda: now,
        skew=SKEW,
    )
    return Provider(demo_app(guard, access_log=access_log), pki_files, trust, now)


def response_claims(provider: Provider, response: httpx.Response) -> dict[str, Any]:
    """The response signature's claims, after checking it as the gateway will."""
    token = response.headers[RESPONSE_SIGNATURE_HEADER]
    verified = verify(token, store=provider.store, now=provider.now, typ=TYP_RESPONSE)
    assert str(verified.signer) == PROVIDER
    return verified.claims


def assert_signed_for(
    provider: Provider, response: httpx.Response, claims: dict[str, Any]
) -> dict[str, Any]:
    """The answer is signed by the provider, for this exchange, over these exact bytes."""
    signed = response_claims(provider, response)
    assert signed["iss"] == PROVIDER
    assert signed["jti"] == claims["jti"]
    assert signed["request_hash"] == claims["request_hash"]
    assert signed["status"] == response.status_code
    assert signed["body_sha256"] == sha256_b64url(response.content)
    assert signed["iat"] == timestamp(provider.now)
    assert response.headers["X-Road-Id"] == claims["jti"]
    assert int(response.headers["content-length"]) == len(response.content)
    return signed


def assert_refused(response: httpx.Response, status: int, error: str) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["X-Road-Error"] == error
    body: dict[str, Any] = response.json()
    assert body["type"] == error
    return body


# -- 1. only the gateway, over TLS -----------------------------------------------------------


@pytest.mark.anyio
@pytest.mark.parametrize("path", ["/persons/" + PERSONAL_ID, "/healthz", "/catalogue", "/metrics"])
async def test_a_request_without_tls_is_refused_on_every_path(
    provider: Provider, path: str
) -> None:
    async with provider.client(None) as client:
        response = await client.get(path)
    body = assert_refused(response, 403, "client.access_denied")
    assert body["message"] == "only the gateway may call this registry"
    assert RESPONSE_SIGNATURE_HEADER not in response.headers


@pytest.mark.anyio
@pytest.mark.parametrize("path", ["/persons/" + PERSONAL_ID, "/healthz", "/openapi.json"])
async def test_another_members_certificate_is_refused_even_with_a_gateway_forward_header(
    provider: Provider, path: str
) -> None:
    response = await provider.call(path, peer=CONSUMER)
    assert_refused(response, 403, "client.access_denied")
    assert RESPONSE_SIGNATURE_HEADER not in response.headers


@pytest.mark.anyio
async def test_a_revoked_gateway_certificate_is_refused(pki_files: PkiFiles) -> None:
    gateway_serial = pki_files.certificate(GATEWAY_ID).serial_number
    store = pki_files.store()
    revoked = TrustStore(cas=store.cas, revoked=frozenset({gateway_serial}))
    provider = provider_with(pki_files, store=revoked)
    assert_refused(await provider.call("/healthz"), 403, "client.access_denied")
    assert_refused(await provider.call(f"/persons/{PERSONAL_ID}"), 403, "client.access_denied")


@pytest.mark.anyio
async def test_a_gateway_certificate_from_another_ca_is_refused(provider: Provider) -> None:
    now = provider.now
    rogue_key = new_key()
    rogue_ca_cert = make_ca(rogue_key, now=now, name="rogue CA")
    cert = issue(
        ca_cert=rogue_ca_cert,
        ca_key=rogue_key,
        subject=GATEWAY_ID,
        public_key=new_key().public_key(),
        not_before=now - dt.timedelta(minutes=5),
        not_after=now + dt.timedelta(days=1),
    )
    async with provider.client(pem=certificate_pem(cert).decode()) as client:
        assert_refused(await client.get("/healthz"), 403, "client.access_denied")


@pytest.mark.anyio
async def test_the_gateway_opens_health_metrics_catalogue_and_openapi_without_forward_header(
    provider: Provider,
) -> None:
    async with provider.client() as client:
        for path in ("/healthz", "/readyz", "/metrics", "/openapi.json", "/docs"):
            response = await client.get(path)
            assert response.status_code == 200, path
            assert RESPONSE_SIGNATURE_HEADER not in response.headers


# -- 2. the forward header -----------------------------------------------------------------


@pytest.mark.anyio
async def test_a_forwarded_read_is_answered_with_only_the_signed_fields_and_signed(
    provider: Provider,
) -> None:
    target = f"/persons/{PERSONAL_ID}?fields=full_name,date_of_birth"
    token, claims = provider.forward(target, fields=["full_name", "date_of_birth", "sex"])
    response = await provider.call(target, token=token, claims=claims)
    assert response.status_code == 200, response.text
    assert response.json() == {"full_name": "Nguyễn Văn An", "date_of_birth": "1985-04-17"}
    assert_signed_for(provider, response, claims)


@pytest.mark.anyio
async def test_the_verified_claims_reach_the_endpoint_and_the_body_arrives_whole(
    provider: Provider,
) -> None:
    body = json.dumps({"personal_id": PERSONAL_ID, "full_name": "Nguyễn Văn An"}).encode()
    token, claims = provider.forward("/verifications/identity", method="POST", body=body)
    response = await provider.call(
        "/verifications/identity", method="POST", body=body, token=token, claims=claims
    )
    assert response.status_code == 200, response.text
    assert response.json() == {"length": len(body), "client": CONSUMER, "jti": claims["jti"]}
    assert_signed_for(provider, response, claims)


@pytest.mark.anyio
async def test_forward_header_missing_is_refused_unsigned(provider: Provider) -> None:
    async with provider.client() as client:
        response = await client.get(f"/persons/{PERSONAL_ID}")
    body = assert_refused(response, 401, "client.signature_invalid")
    assert body["detail"] == {"check": "missing"}
    assert RESPONSE_SIGNATURE_HEADER not in response.headers


@pytest.mark.anyio
@pytest.mark.parametrize("garbage", ["", "abc", "a.b.c", "x" * 40_000, "é.é.é"])
async def test_a_garbled_forward_header_is_refused(provider: Provider, garbage: str) -> None:
    headers = {FORWARD_HEADER.encode(): garbage.encode()}
    async with provider.client() as client:
        response = await client.get(f"/persons/{PERSONAL_ID}", headers=headers)
    body = assert_refused(response, 401, "client.signature_invalid")
    assert body["detail"] in ({"check": "signature"}, {"check": "missing"})
    assert RESPONSE_SIGNATURE_HEADER not in response.headers


@pytest.mark.anyio
async def test_a_client_request_signature_is_no_forward_header(provider: Provider) -> None:
    target = f"/persons/{PERSONAL_ID}"
    _, claims = provider.forward(target)
    token = provider.pki.signer(GATEWAY_ID).sign(claims, typ=TYP_REQUEST)
    response = await provider.call(target, token=token, claims=claims)
    assert assert_refused(response, 401, "client.signature_invalid")["detail"] == {
        "check": "signature"
    }


@pytest.mark.anyio
async def test_forward_header_rejected_when_signed_by_another_member(provider: Provider) -> None:
    target = f"/persons/{PERSONAL_ID}"
    token, claims = provider.forward(target, signer=provider.pki.signer(CONSUMER), iss=CONSUMER)
    response = await provider.call(target, token=token, claims=claims)
    assert assert_refused(response, 401, "client.signature_invalid")["detail"] == {
        "check": "signer"
    }
    assert RESPONSE_SIGNATURE_HEADER not in response.headers


@pytest.mark.anyio
async def test_forward_header_rejected_when_its_certificate_is_not_the_connections(
    provider: Provider,
) -> None:
    # A second, equally valid gateway certificate (e.g. another replica's): the header must
    # come from the very certificate that opened the connection.
    pki = provider.pki
    ca_cert, ca_key = load_certificate(pki.ca_path), load_private_key(pki.root / "ca.key")
    key = new_key()
    other = issue(
        ca_cert=ca_cert,
        ca_key=ca_key,
        subject=GATEWAY_ID,
        public_key=key.public_key(),
        not_before=provider.now - dt.timedelta(minutes=5),
        not_after=provider.now + dt.timedelta(days=1),
    )
    target = f"/persons/{PERSONAL_ID}"
    token, claims = provider.forward(target, signer=Signer(key, other))
    response = await provider.call(target, token=token, claims=claims)
    assert assert_refused(response, 401, "client.signature_invalid")["detail"] == {
        "check": "tls_binding"
    }


@pytest.mark.anyio
@pytest.mark.parametrize(
    ("override", "check"),
    [
        ({"aud": PROVIDERS["land"]}, "aud"),
        ({"iss": PROVIDERS["land"]}, "iss"),
        ({"htm": "POST"}, "htm"),
        ({"htu": "/persons/001085099999"}, "htu"),
        ({"htu": f"/persons/{PERSONAL_ID}?fields=full_name"}, "htu"),
        ({"htu": f"/persons/{PERSONAL_ID}?"}, "htu"),
        ({"client": None}, "client"),
        ({"client": _DROP}, "client"),
        ({"service": 7}, "service"),
        ({"body_sha256": sha256_b64url(b"something else")}, "body_sha256"),
        ({"body_sha256": _DROP}, "body_sha256"),
        ({"iat": "now"}, "iat"),
        ({"iat": True}, "iat"),
        ({"fields": "full_name"}, "fields"),
        ({"fields": ["full_name", 3]}, "fields"),
    ],
)
async def test_a_forward_header_for_another_request_is_refused_and_the_refusal_signed(
    provider: Provider, override: dict[str, Any], check: str
) -> None:
    target = f"/persons/{PERSONAL_ID}"
    token, claims = provider.forward(target, **override)
    response = await provider.call(target, token=token, claims=claims)
    body = assert_refused(response, 401, "client.signature_invalid")
    assert body["detail"] == {"check": check}
    assert body["message"] == "the forward header is missing or not valid"
    assert_signed_for(provider, response, claims)


@pytest.mark.anyio
async def test_htu_is_the_raw_target_with_percent_encoding_kept(provider: Provider) -> None:
    encoded = f"/persons/{PERSONAL_ID}?fields=full_name%2Csex"
    token, claims = provider.forward(encoded, fields=list(THING_FIELDS))
    response = await provider.call(encoded, token=token, claims=claims)
    assert response.status_code == 200, response.text
    assert response.json() == {"full_name": "Nguyễn Văn An", "sex": "male"}

    decoded = f"/persons/{PERSONAL_ID}?fields=full_name,sex"
    token, claims = provider.forward(decoded, fields=list(THING_FIELDS))
    response = await provider.call(encoded, token=token, claims=claims)
    assert assert_refused(response, 401, "client.signature_invalid")["detail"] == {"check": "htu"}


@pytest.mark.anyio
@pytest.mark.parametrize(("age", "accepted"), [(60, True), (61, False), (-60, True), (-61, False)])
async def test_forward_header_iat_is_accepted_within_the_skew_and_refused_one_second_beyond(
    provider: Provider, age: int, accepted: bool
) -> None:
    target = f"/persons/{PERSONAL_ID}"
    iat = timestamp(provider.now - dt.timedelta(seconds=age))
    token, claims = provider.forward(target, iat=iat)
    response = await provider.call(target, token=token, claims=claims)
    if accepted:
        assert response.status_code == 200, response.text
    else:
        assert assert_refused(response, 401, "client.signature_invalid")["detail"] == {
            "check": "iat"
        }
    assert_signed_for(provider, response, claims)


@pytest.mark.anyio
async def test_a_body_other_than_the_signed_one_is_refused(provider: Provider) -> None:
    signed_body = json.dumps({"personal_id": PERSONAL_ID}).encode()
    token, claims = provider.forward("/verifications/identity", method="POST", body=signed_body)
    response = await provider.call(
        "/verifications/identity",
        method="POST",
        body=signed_body.replace(PERSONAL_ID.encode(), b"001085012346"),
        token=token,
        claims=claims,
    )
    body = assert_refused(response, 401, "client.signature_invalid")
    assert body["detail"] == {"check": "body_sha256"}
    assert_signed_for(provider, response, claims)


@pytest.mark.anyio
@pytest.mark.parametrize(
    ("jti", "header"),
    [("abc", "abd"), ("abc", None), ("has space", "has space"), ("", ""), (7, "7")],
)
async def test_the_jti_must_be_an_x_road_id_and_equal_the_x_road_id_header(
    provider: Provider, jti: Any, header: str | None
) -> None:
    target = f"/persons/{PERSONAL_ID}"
    token, _ = provider.forward(target, jti=jti)
    sent = {FORWARD_HEADER: token}
    if header is not None:
        sent["X-Road-Id"] = header
    async with provider.client() as client:
        response = await client.get(target, headers=sent)
    assert assert_refused(response, 401, "client.signature_invalid")["detail"] == {"check": "jti"}
    assert RESPONSE_SIGNATURE_HEADER not in response.headers


@pytest.mark.anyio
async def test_a_forward_header_without_request_hash_is_refused(provider: Provider) -> None:
    target = f"/persons/{PERSONAL_ID}"
    token, claims = provider.forward(target, request_hash=None)
    response = await provider.call(target, token=token, claims=claims)
    detail = assert_refused(response, 401, "client.signature_invalid")["detail"]
    assert detail == {"check": "request_hash"}


# -- fields ----------------------------------------------------------------------------------


@pytest.mark.anyio
@pytest.mark.parametrize(
    "query",
    ["fields=full_name,sex", "fields=full_name&fields=sex", "fields=%20sex%20,,full_name"],
)
async def test_fields_within_the_signed_set_are_served(provider: Provider, query: str) -> None:
    target = f"/persons/{PERSONAL_ID}?{query}"
    response = await provider.call(target, fields=["full_name", "sex"])
    assert response.status_code == 200, response.text
    assert set(response.json()) == {"full_name", "sex"}


@pytest.mark.anyio
@pytest.mark.parametrize(
    ("query", "outside"),
    [
        ("fields=full_name,date_of_birth", ["date_of_birth"]),
        ("fields=full_name&fields=date_of_birth,sex", ["date_of_birth"]),
        ("fields=nonexistent", ["nonexistent"]),
    ],
)
async def test_fields_outside_the_signed_set_are_refused(
    provider: Provider, query: str, outside: list[str]
) -> None:
    target = f"/persons/{PERSONAL_ID}?{query}"
    token, claims = provider.forward(target, fields=["full_name", "sex"])
    response = await provider.call(target, token=token, claims=claims)
    body = assert_refused(response, 403, "client.fields_not_allowed")
    assert body["detail"] == {"fields": outside, "allowed": ["full_name", "sex"]}
    assert_signed_for(provider, response, claims)


@pytest.mark.anyio
@pytest.mark.parametrize("query", ["", "?fields=", "?fields=,,", "?field=full_name"])
async def test_fields_missing_when_the_set_is_signed_are_refused(
    provider: Provider, query: str
) -> None:
    # Without fields= the endpoint would answer every field: more than the grant.
    target = f"/persons/{PERSONAL_ID}{query}"
    token, claims = provider.forward(target, fields=["full_name"])
    response = await provider.call(target, token=token, claims=claims)
    body = assert_refused(response, 403, "client.fields_not_allowed")
    assert body["detail"] == {"fields": [], "allowed": ["full_name"]}
    assert_signed_for(provider, response, claims)


@pytest.mark.anyio
async def test_no_signed_field_set_means_the_operation_selects_none(provider: Provider) -> None:
    response = await provider.call(f"/persons/{PERSONAL_ID}", fields=None)
    assert response.status_code == 200
    assert set(response.json()) == set(THING_FIELDS)


def test_requested_fields_reads_fields_as_the_endpoints_do() -> None:
    assert requested_fields(b"") is None
    assert requested_fields(b"other=1") is None
    assert requested_fields(b"fields=") == []
    assert requested_fields(b"fields=a,b&fields=c&x=1") == ["a", "b", "c"]
    assert requested_fields(b"fields=+a+,%20b") == ["a", "b"]


# -- 3. every answer to a forwarded request is signed ------------------------------------------


@pytest.mark.anyio
async def test_a_not_found_answer_is_signed(provider: Provider) -> None:
    target = "/persons/001085099999"
    token, claims = provider.forward(target)
    response = await provider.call(target, token=token, claims=claims)
    assert_refused(response, 404, "client.not_found")
    assert_signed_for(provider, response, claims)


@pytest.mark.anyio
async def test_a_bad_request_answer_is_signed(provider: Provider) -> None:
    target = f"/persons/{PERSONAL_ID}?fields=shoe_size"
    token, claims = provider.forward(target, fields=["shoe_size"])
    response = await provider.call(target, token=token, claims=claims)
    assert_refused(response, 400, "client.bad_request")
    assert_signed_for(provider, response, claims)


@pytest.mark.anyio
async def test_an_unknown_route_and_a_wrong_method_are_answered_signed(
    provider: Provider,
) -> None:
    for method, target, status in (("GET", "/nowhere", 404), ("DELETE", "/boom", 405)):
        token, claims = provider.forward(target, method=method)
        response = await provider.call(target, method=method, token=token, claims=claims)
        assert response.status_code == status
        assert_signed_for(provider, response, claims)


@pytest.mark.anyio
async def test_an_unexpected_error_is_a_signed_500_without_a_trace(provider: Provider) -> None:
    token, claims = provider.forward("/boom")
    response = await provider.call("/boom", token=token, claims=claims)
    body = assert_refused(response, 500, "server.internal_error")
    assert "RuntimeError" not in response.text and "a bug" not in response.text
    assert body["message"] == "internal error"
    assert_signed_for(provider, response, claims)


@pytest.mark.anyio
async def test_an_answer_failing_half_way_is_replaced_by_a_whole_signed_500(
    provider: Provider,
) -> None:
    token, claims = provider.forward("/half")
    response = await provider.call("/half", token=token, claims=claims)
    assert_refused(response, 500, "server.internal_error")
    assert b"partial" not in response.content
    assert_signed_for(provider, response, claims)


@pytest.mark.anyio
async def test_a_body_over_the_limit_is_refused_signed(pki_files: PkiFiles) -> None:
    provider = provider_with(pki_files)
    body = b"x" * ((1 << 20) + 1)
    token, claims = provider.forward("/verifications/identity", method="POST", body=body)

    async def chunks() -> AsyncIterator[bytes]:  # no Content-Length: counted as it arrives
        for start in range(0, len(body), 65_536):
            yield body[start : start + 65_536]

    headers = {FORWARD_HEADER: token, "X-Road-Id": claims["jti"]}
    async with provider.client() as client:
        response = await client.post("/verifications/identity", content=chunks(), headers=headers)
    assert_refused(response, 413, "client.payload_too_large")
    assert_signed_for(provider, response, claims)


@pytest.mark.anyio
async def test_a_response_signature_covers_the_exact_bytes(provider: Provider) -> None:
    target = f"/persons/{PERSONAL_ID}"
    token, claims = provider.forward(target)
    response = await provider.call(target, token=token, claims=claims)
    signed = response_claims(provider, response)
    assert signed["body_sha256"] == sha256_b64url(response.content)
    assert signed["body_sha256"] != sha256_b64url(response.content + b" ")


# -- logs ------------------------------------------------------------------------------------


@pytest.mark.anyio
async def test_log_lines_hold_no_personal_id(
    pki_files: PkiFiles, caplog: pytest.LogCaptureFixture
) -> None:
    provider = provider_with(pki_files, access_log=True)
    target = f"/persons/{PERSONAL_ID}?fields={PERSONAL_ID}"
    with caplog.at_level(logging.INFO):
        await provider.call(target, fields=["full_name"])  # refused: fields
        await provider.call(target, aud=PROVIDERS["land"])  # refused: aud
        await provider.call(target, peer=CONSUMER)  # refused: TLS
        await provider.call(f"/persons/{PERSONAL_ID}")  # served
        await provider.call("/boom")  # a 500
    formatter = JsonFormatter("demo")
    # The provider's own lines (the test's HTTP client logs its URLs: not the provider's).
    lines = [formatter.format(r) for r in caplog.records if r.name.startswith("lienthong")]
    assert any('"msg": "unhandled error"' in line for line in lines)
    assert any('"reason": "fields_outside"' in line for line in lines)
    assert any('"reason": "not_the_gateway"' in line for line in lines)
    assert any('"check": "aud"' in line for line in lines)
    assert not [line for line in lines if PERSONAL_ID in line]


# -- wiring from settings -------------------------------------------------------------------


class DemoProviderSettings(ProviderSettings):
    model_config = service_config("DEMOPROVIDER_")
    member_id: str = PROVIDER


def test_the_guard_loads_the_ca_crl_and_the_providers_own_key(pki_files: PkiFiles) -> None:
    guard = gateway_guard(DemoProviderSettings(pki_dir=pki_files.root))
    assert guard is not None
    assert str(guard.identity) == PROVIDER
    assert str(guard.gateway) == GATEWAY_ID
    assert guard.signer.member_id == guard.identity
    assert guard.skew == SKEW


def test_no_guard_when_the_gateway_is_not_required(tmp_path: Path) -> None:
    assert gateway_guard(DemoProviderSettings(pki_dir=tmp_path, require_gateway=False)) is None


def test_a_missing_pki_names_the_files_and_the_fix(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError) as raised:
        gateway_guard(DemoProviderSettings(pki_dir=tmp_path))
    message = str(raised.value)
    assert "ca.crt" in message and "crl.pem" in message and "population.key" in message
    assert "run `lienthong certs init`" in message
    assert "DEMOPROVIDER_REQUIRE_GATEWAY=false" in message


def test_a_provider_without_its_own_certificate_refuses_to_start(pki_files: PkiFiles) -> None:
    settings = DemoProviderSettings(pki_dir=pki_files.root, member_id="VN/GOV/BCA/nobody")
    with pytest.raises(FileNotFoundError, match=r"nobody\.crt"):
        gateway_guard(settings)


def test_a_key_of_another_member_cannot_sign_for_the_provider(pki_files: PkiFiles) -> None:
    with pytest.raises(ValueError, match="signing key"):
        GatewayGuard(
            store=pki_files.store(),
            signer=pki_files.signer(CONSUMER),
            identity=parse_client_id(PROVIDER),
            gateway=parse_client_id(GATEWAY_ID),
        )


def test_the_gateway_cannot_be_switched_off_in_production() -> None:
    with pytest.raises(ValidationError, match="development only"):
        DemoProviderSettings(environment="prod", require_gateway=False)


@pytest.mark.parametrize("field", ["member_id", "gateway_id"])
def test_ids_in_settings_must_be_x_road_client_ids(field: str) -> None:
    with pytest.raises(ValidationError):
        DemoProviderSettings.model_validate({field: "VN/GOV/../x"})


def test_the_clock_and_skew_come_from_settings(pki_files: PkiFiles) -> None:
    later = dt.datetime.now(dt.UTC) + dt.timedelta(days=30)

    def clock() -> dt.datetime:
        return later

    settings = DemoProviderSettings(pki_dir=pki_files.root, forward_skew_seconds=5)
    guard = gateway_guard(settings, clock=clock)
    assert guard is not None
    assert guard.clock is clock
    assert guard.skew == dt.timedelta(seconds=5)
