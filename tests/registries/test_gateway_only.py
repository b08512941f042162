"""The registries as deployed: only the gateway gets in, and every answer is signed.

In-process first (the TLS peer certificate put in the ASGI scope, as ``core.tls`` does),
then once over real TLS: a registry served by uvicorn with ``core.tls.uvicorn_tls_options``
on a free loopback port, called with the gateway's certificate, a consumer's, and none.
The guard itself is tested in depth in ``tests/core/test_provider.py``.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import socket
import threading
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest
import uvicorn
from fastapi import FastAPI
from starlette.types import ASGIApp, Receive, Scope, Send

from certs.dev import CONSUMERS, GATEWAY_ID, PROVIDERS
from core.catalogue import Catalogue
from core.provider import FORWARD_HEADER, RESPONSE_SIGNATURE_HEADER
from core.signing import TYP_FORWARD, TYP_RESPONSE, sha256_b64url, timestamp, verify
from core.tls import client_context, uvicorn_tls_options
from registries.business import seed as business
from registries.land import seed as land
from registries.population import seed as population
from tests.fixtures.pki import PkiFiles
from tests.fixtures.world import REGISTRY_APPS, LinkedWorld

CONSUMER = CONSUMERS["one-stop"]


def guarded_app(name: str, pki: Path, world: LinkedWorld | None = None) -> FastAPI:
    """Registry ``name`` as deployed (``require_gateway`` on), on an in-memory database."""
    factory, settings_class = REGISTRY_APPS[name]
    settings = settings_class(
        database_url="sqlite://", access_log=False, environment="test", pki_dir=pki
    )
    app = factory(settings)
    if world is not None:
        writers: dict[str, Callable[[], None]] = {
            "population": lambda: population.write(app.state.engine, world.population),
            "business": lambda: business.write(app.state.engine, world.business),
            "land": lambda: land.write(app.state.engine, world.land),
        }
        writers[name]()
    return app


@pytest.fixture
def registries(pki_files: PkiFiles, linked_world: LinkedWorld) -> Iterator[dict[str, FastAPI]]:
    built = {name: guarded_app(name, pki_files.root, linked_world) for name in REGISTRY_APPS}
    yield built
    for app in built.values():
        app.state.engine.dispose()


def with_peer(app: ASGIApp, pem: str | None) -> ASGIApp:
    async def asgi(scope: Scope, receive: Receive, send: Send) -> None:
        if pem is not None and scope["type"] == "http":
            scope = {**scope, "extensions": {"tls": {"client_cert_chain": [pem]}}}
        await app(scope, receive, send)

    return asgi


def forward_headers(
    pki: PkiFiles, provider: str, method: str, target: str, *, fields: list[str] | None
) -> tuple[dict[str, str], dict[str, Any]]:
    """The headers the gateway forwards ``method target`` with, and its forward claims."""
    jti = str(uuid.uuid4())
    claims = {
        "iss": GATEWAY_ID,
        "aud": provider,
        "jti": jti,
        "client": CONSUMER,
        "service": f"{provider}/{target.split('/')[1]}",
        "purpose": "household-business-registration",
        "fields": fields,
        "htm": method,
        "htu": target,
        "iat": timestamp(dt.datetime.now(dt.UTC)),
        "request_hash": sha256_b64url(jti.encode()),
        "body_sha256": sha256_b64url(b""),
    }
    token = pki.signer(GATEWAY_ID).sign(claims, typ=TYP_FORWARD)
    headers = {FORWARD_HEADER: token, "X-Road-Id": jti, "X-Road-Client": CONSUMER}
    return headers, claims


def assert_signed_by(
    pki: PkiFiles, provider: str, response: httpx.Response, claims: dict[str, Any]
) -> None:
    token = response.headers[RESPONSE_SIGNATURE_HEADER]
    verified = verify(token, store=pki.store(), now=dt.datetime.now(dt.UTC), typ=TYP_RESPONSE)
    assert str(verified.signer) == provider
    assert verified.claims["jti"] == claims["jti"] == response.headers["X-Road-Id"]
    assert verified.claims["request_hash"] == claims["request_hash"]
    assert verified.claims["status"] == response.status_code
    assert verified.claims["body_sha256"] == sha256_b64url(response.content)


# -- in process ------------------------------------------------------------------------------


@pytest.mark.anyio
@pytest.mark.parametrize("name", list(REGISTRY_APPS))
async def test_a_registry_answers_only_the_gateway(
    registries: dict[str, FastAPI], pki_files: PkiFiles, name: str
) -> None:
    app = registries[name]
    for pem in (None, pki_files.pem(CONSUMER), pki_files.pem(PROVIDERS["land"])):
        transport = httpx.ASGITransport(app=with_peer(app, pem))
        async with httpx.AsyncClient(transport=transport, base_url="https://r") as client:
            for path in ("/healthz", "/catalogue", "/openapi.json"):
                response = await client.get(path)
                assert response.status_code == 403
                assert response.headers["X-Road-Error"] == "client.access_denied"

    transport = httpx.ASGITransport(app=with_peer(app, pki_files.pem(GATEWAY_ID)))
    async with httpx.AsyncClient(transport=transport, base_url="https://r") as client:
        assert (await client.get("/healthz")).status_code == 200
        assert (await client.get("/readyz")).status_code == 200
        catalogue = Catalogue.model_validate_json((await client.get("/catalogue")).content)
        assert catalogue.provider == PROVIDERS[name]
        read = catalogue.services[0].operations[0]
        unsigned = await client.get(f"/{catalogue.services[0].code}/x")
        assert unsigned.status_code == 401
        assert unsigned.headers["X-Road-Error"] == "client.signature_invalid"
        assert read.fields  # the first operation of each registry is a read


@pytest.mark.anyio
async def test_a_forwarded_person_read_returns_the_allowed_fields_signed(
    registries: dict[str, FastAPI], pki_files: PkiFiles, linked_world: LinkedWorld
) -> None:
    provider = PROVIDERS["population"]
    person = linked_world.population.people[0].personal_id
    target = f"/persons/{person}?fields=full_name,date_of_birth"
    headers, claims = forward_headers(
        pki_files, provider, "GET", target, fields=["full_name", "date_of_birth", "sex"]
    )
    app = with_peer(registries["population"], pki_files.pem(GATEWAY_ID))
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="https://r"
    ) as client:
        response = await client.get(target, headers=headers)
        assert response.status_code == 200, response.text
        assert set(response.json()) == {"full_name", "date_of_birth"}
        assert_signed_by(pki_files, provider, response, claims)

        wider = f"/persons/{person}?fields=full_name,spouse_id"
        headers, claims = forward_headers(pki_files, provider, "GET", wider, fields=["full_name"])
        refused = await client.get(wider, headers=headers)
        assert refused.status_code == 403
        assert refused.json()["detail"]["fields"] == ["spouse_id"]
        assert_signed_by(pki_files, provider, refused, claims)


@pytest.mark.anyio
async def test_a_registry_error_is_relayable_signed(
    registries: dict[str, FastAPI], pki_files: PkiFiles
) -> None:
    provider = PROVIDERS["land"]
    target = "/parcels/w7er8u0evss2?fields=area_m2"
    headers, claims = forward_headers(pki_files, provider, "GET", target, fields=["area_m2"])
    app = with_peer(registries["land"], pki_files.pem(GATEWAY_ID))
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="https://r"
    ) as client:
        response = await client.get(target, headers=headers)
    assert response.status_code == 404
    assert response.headers["X-Road-Error"] == "client.parcel_not_found"
    assert_signed_by(pki_files, provider, response, claims)


@pytest.mark.parametrize("name", list(REGISTRY_APPS))
def test_a_registry_without_its_pki_refuses_to_start_and_says_how_to_fix_it(
    tmp_path: Path, name: str
) -> None:
    with pytest.raises(FileNotFoundError, match="run `lienthong certs init`"):
        guarded_app(name, tmp_path / "pki")


# -- over real TLS ---------------------------------------------------------------------------


@contextmanager
def served_over_tls(app: FastAPI, pki: PkiFiles, server_name: str) -> Iterator[str]:
    """``app`` served by uvicorn with mTLS on a free loopback port; yields its base URL."""
    cert, key = pki.server_paths(server_name)
    config = uvicorn.Config(
        app,
        log_config=None,
        access_log=False,
        lifespan="on",
        **uvicorn_tls_options(cert=cert, key=key, ca=pki.ca_path),
    )
    server = uvicorn.Server(config)
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    thread = threading.Thread(target=lambda: asyncio.run(server.serve(sockets=[sock])))
    thread.start()
    try:
        for _ in range(500):
            if server.started or not thread.is_alive():
                break
            threading.Event().wait(0.01)
        assert server.started, "uvicorn did not start"
        yield f"https://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)
        sock.close()


def tls_client(pki: PkiFiles, member: str | None) -> httpx.Client:
    cert, key = pki.member_paths(member) if member else (None, None)
    return httpx.Client(verify=client_context(ca=pki.ca_path, cert=cert, key=key), timeout=10)


def test_over_real_tls_only_the_gateways_certificate_gets_an_answer(
    pki_files: PkiFiles, linked_world: LinkedWorld
) -> None:
    app = guarded_app("population", pki_files.root, linked_world)
    provider = PROVIDERS["population"]
    person = linked_world.population.people[0].personal_id
    target = f"/persons/{person}?fields=full_name"
    try:
        with served_over_tls(app, pki_files, "population") as url:
            with tls_client(pki_files, GATEWAY_ID) as gateway:
                assert gateway.get(url + "/healthz").status_code == 200
                headers, claims = forward_headers(
                    pki_files, provider, "GET", target, fields=["full_name"]
                )
                response = gateway.get(url + target, headers=headers)
                assert response.status_code == 200, response.text
                assert set(response.json()) == {"full_name"}
                assert_signed_by(pki_files, provider, response, claims)

            with tls_client(pki_files, CONSUMER) as consumer:
                refused = consumer.get(url + "/healthz")
                assert refused.status_code == 403
                assert refused.headers["X-Road-Error"] == "client.access_denied"
                headers, _ = forward_headers(
                    pki_files, provider, "GET", target, fields=["full_name"]
                )
                assert consumer.get(url + target, headers=headers).status_code == 403

            with tls_client(pki_files, None) as stranger, pytest.raises(httpx.TransportError):
                stranger.get(url + "/healthz")
    finally:
        app.state.engine.dispose()
