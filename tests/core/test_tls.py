"""Mutual TLS on a real uvicorn server on 127.0.0.1: who gets through, and what the app sees."""

from __future__ import annotations

import datetime as dt
import json
import socket
import ssl
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest
import uvicorn

from certs.authority import issue, new_key
from certs.dev import CONSUMERS, GATEWAY_ID
from core.pki import certificate_pem, load_private_key, member_id_of, write_private_key
from core.tls import client_context, peer_certificate, uvicorn_tls_options
from tests.fixtures.pki_world import DevPki, ForeignCa

MEMBER = CONSUMERS["land-office"]

#: Members whose requests reached the app, in order (the server is shared by the module).
reached: list[str | None] = []


async def echo_peer(scope: Any, receive: Any, send: Any) -> None:
    """Answers with the member id of the client certificate the connection came with."""
    assert scope["type"] == "http"
    cert = peer_certificate(scope)
    tls = scope.get("extensions", {}).get("tls", {})
    member = str(member_id_of(cert)) if cert is not None else None
    reached.append(member)
    body = json.dumps({"member": member, "tls_version": tls.get("tls_version")}).encode()
    headers = [
        (b"content-type", b"application/json"),
        (b"content-length", str(len(body)).encode()),
    ]
    await send({"type": "http.response.start", "status": 200, "headers": headers})
    await send({"type": "http.response.body", "body": body})


@contextmanager
def serving(cert: Path, key: Path, ca: Path) -> Iterator[int]:
    """``echo_peer`` behind uvicorn with mTLS on a free loopback port, in a thread."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    config = uvicorn.Config(
        echo_peer,
        host="127.0.0.1",
        port=port,
        lifespan="off",
        log_config=None,
        access_log=False,
        **uvicorn_tls_options(cert=cert, key=key, ca=ca),
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        assert thread.is_alive() and time.monotonic() < deadline, "uvicorn did not start"
        time.sleep(0.01)
    try:
        yield port
    finally:
        server.should_exit = True
        thread.join(timeout=10)
        sock.close()


@pytest.fixture(scope="module")
def gateway_port(pki: DevPki) -> Iterator[int]:
    cert, key = pki.paths("gateway", "server")
    with serving(cert, key, pki.ca_path) as port:
        yield port


#: What a client sees when the server refuses its certificate: an alert, or (Python's
#: asyncio drops the alert when it aborts the connection) an EOF in violation of the
#: protocol, or a reset.
REFUSED = (ssl.SSLError, ConnectionResetError, BrokenPipeError)


def _raw_request(port: int, ctx: ssl.SSLContext) -> bytes:
    """One HTTP/1.1 request over a TLS socket; raises what the TLS layer raises."""
    # A TLS 1.3 client finishes the handshake before the server has checked its
    # certificate; it learns of a refusal on its first read, never as a clean EOF.
    with (
        socket.create_connection(("127.0.0.1", port), timeout=5) as raw,
        ctx.wrap_socket(raw, server_hostname="127.0.0.1", suppress_ragged_eofs=False) as tls,
    ):
        tls.sendall(b"GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n")
        chunks = []
        while chunk := tls.recv(65536):
            chunks.append(chunk)
        return b"".join(chunks)


def test_a_member_certificate_gets_through_and_its_id_reaches_the_app(
    pki: DevPki, gateway_port: int
) -> None:
    cert, key = pki.paths(MEMBER)
    ctx = client_context(ca=pki.ca_path, cert=cert, key=key)
    with httpx.Client(verify=ctx, base_url=f"https://127.0.0.1:{gateway_port}") as client:
        first = client.get("/")
        second = client.get("/again")  # the same connection, a new scope
    assert first.status_code == 200
    assert first.json()["member"] == MEMBER
    assert first.json()["tls_version"] in {"TLSv1.2", "TLSv1.3"}
    assert second.json()["member"] == MEMBER


def test_each_connection_carries_its_own_member(pki: DevPki, gateway_port: int) -> None:
    seen = []
    for member in (GATEWAY_ID, CONSUMERS["kyc"]):
        cert, key = pki.paths(member)
        ctx = client_context(ca=pki.ca_path, cert=cert, key=key)
        seen.append(json.loads(_raw_request(gateway_port, ctx).split(b"\r\n\r\n", 1)[1]))
    assert [s["member"] for s in seen] == [GATEWAY_ID, CONSUMERS["kyc"]]


@pytest.mark.parametrize("version", [ssl.TLSVersion.TLSv1_2, ssl.TLSVersion.TLSv1_3])
def test_no_client_certificate_fails_the_handshake(
    pki: DevPki, gateway_port: int, version: ssl.TLSVersion
) -> None:
    ctx = client_context(ca=pki.ca_path)
    ctx.minimum_version = ctx.maximum_version = version
    before = len(reached)
    with pytest.raises(REFUSED):
        _raw_request(gateway_port, ctx)
    assert len(reached) == before, "the request reached the app"


def test_no_client_certificate_gets_no_http_answer(pki: DevPki, gateway_port: int) -> None:
    ctx = client_context(ca=pki.ca_path)
    with (
        httpx.Client(verify=ctx, base_url=f"https://127.0.0.1:{gateway_port}") as client,
        pytest.raises(httpx.TransportError),
    ):
        client.get("/")


def test_a_certificate_from_another_ca_fails_the_handshake(
    pki: DevPki, foreign_ca: ForeignCa, gateway_port: int, tmp_path: Path
) -> None:
    cert, key = foreign_ca.write(tmp_path, MEMBER)
    before = len(reached)
    for version in (ssl.TLSVersion.TLSv1_2, ssl.TLSVersion.TLSv1_3):
        ctx = client_context(ca=pki.ca_path, cert=cert, key=key)
        ctx.minimum_version = ctx.maximum_version = version
        with pytest.raises(REFUSED):
            _raw_request(gateway_port, ctx)
    assert len(reached) == before, "the request reached the app"


def test_a_client_refuses_a_server_from_another_ca(
    pki: DevPki, foreign_ca: ForeignCa, tmp_path: Path
) -> None:
    server_cert, server_key = foreign_ca.write(tmp_path, "gateway", kind="server")
    cert, key = pki.paths(MEMBER)
    ctx = client_context(ca=pki.ca_path, cert=cert, key=key)
    with (
        serving(server_cert, server_key, pki.ca_path) as port,
        pytest.raises(ssl.SSLCertVerificationError),
    ):
        _raw_request(port, ctx)


def test_an_ed25519_member_certificate_gets_through(
    pki: DevPki, gateway_port: int, tmp_path: Path
) -> None:
    member = "VN/GOV/BCA/ed-client"
    key = new_key("ed25519")
    cert = issue(
        ca_cert=pki.ca,
        ca_key=load_private_key(pki.authority.ca_key_path),
        subject=member,
        public_key=key.public_key(),
        not_before=pki.made_at,
        not_after=pki.made_at + dt.timedelta(days=1),
    )
    cert_path, key_path = tmp_path / "ed.crt", tmp_path / "ed.key"
    cert_path.write_bytes(certificate_pem(cert))
    write_private_key(key_path, key)
    ctx = client_context(ca=pki.ca_path, cert=cert_path, key=key_path)
    answer = json.loads(_raw_request(gateway_port, ctx).split(b"\r\n\r\n", 1)[1])
    assert answer["member"] == member


def test_peer_certificate_is_none_without_the_tls_extension() -> None:
    assert peer_certificate({"type": "http"}) is None
    assert peer_certificate({"type": "http", "extensions": {"tls": {}}}) is None
    scope = {"type": "http", "extensions": {"tls": {"client_cert_chain": []}}}
    assert peer_certificate(scope) is None
