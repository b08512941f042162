"""The gateway's lean forwarder (``gateway.forwarder``) against real mTLS servers on loopback.

A real uvicorn in a subprocess (``tests.bench.servers``, the stack's TLS options) checks
statuses, bodies, chunked answers, keep-alive reuse, ``Connection: close`` and timeouts; a
scripted TLS server in a thread of the test process (``Scripted``) checks what uvicorn
never does on demand: the raw request bytes, a connection closed while idle, an answer cut
short, garbage, an oversized body, a rejected client certificate. Every test runs on the
default asyncio loop and on uvloop (the gateway's). Behaviour only: speed is measured by
``python -m bench.forwarding``.
"""

from __future__ import annotations

import asyncio
import json
import ssl
from collections.abc import Awaitable, Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import uvloop

from certs.authority import Authority
from certs.dev import GATEWAY_ID
from core.pki import certificate_pem
from core.tls import client_context, server_context
from gateway.errors import ProviderTimeout, ProviderUnavailable
from gateway.forwarder import DROPPED, LeanForwarder
from gateway.proxy import Upstream
from tests.bench.servers import ThreadedTlsServer, uvicorn_server
from tests.fixtures.pki_world import ForeignCa
from tests.stack.procs import free_ports

pytestmark = pytest.mark.anyio

HEADERS = {"X-Road-Client": "VN/GOV/000000001/one-stop", "X-Road-Id": "id-1"}


@pytest.fixture(
    params=[
        pytest.param("asyncio", id="asyncio"),
        pytest.param(("asyncio", {"loop_factory": uvloop.new_event_loop}), id="uvloop"),
    ]
)
def anyio_backend(request: pytest.FixtureRequest) -> Any:
    return request.param


@pytest.fixture(scope="module")
def client_ssl(dev_pki: Path) -> ssl.SSLContext:
    """The gateway's mTLS client context, as ``create_app`` makes it."""
    authority = Authority(dev_pki)
    cert, key = authority.member_paths(GATEWAY_ID)
    return client_context(ca=authority.ca_cert_path, cert=cert, key=key)


@pytest.fixture(scope="module")
def server_ssl(dev_pki: Path) -> ssl.SSLContext:
    """A provider's server context (population's certificate, client certificate required)."""
    authority = Authority(dev_pki)
    cert, key = authority.server_paths("population")
    return server_context(cert=cert, key=key, ca=authority.ca_cert_path)


@pytest.fixture(scope="module")
def uvicorn_url(dev_pki: Path) -> Iterator[str]:
    """The base URL of the uvicorn test server of ``tests.bench.servers``."""
    with uvicorn_server(dev_pki) as url:
        yield url


# -- a scripted TLS server ---------------------------------------------------------------------


class Peer:
    """The server's side of one connection, for a script."""

    def __init__(
        self, server: Scripted, index: int, reader: asyncio.StreamReader, writer: Any
    ) -> None:
        self.server = server
        self.index = index
        self.reader = reader
        self.writer = writer
        self.served = 0

    async def read_request(self) -> bytes | None:
        """The next request's head and body as received; None when the client closed."""
        try:
            head = await self.reader.readuntil(b"\r\n\r\n")
        except (asyncio.IncompleteReadError, ConnectionError, ssl.SSLError):
            self.server.client_closed.add(self.index)
            return None
        length = 0
        for line in head.split(b"\r\n"):
            name, _, value = line.partition(b":")
            if name.strip().lower() == b"content-length":
                length = int(value)
        body = await self.reader.readexactly(length) if length else b""
        self.server.requests.append((self.index, head + body))
        return head + body

    async def write(self, data: bytes) -> None:
        self.writer.write(data)
        await self.writer.drain()


Script = Callable[[Peer], Awaitable[None]]


class Scripted(ThreadedTlsServer):
    """A TLS server on 127.0.0.1 in a thread of its own; each connection runs ``script``.

    It records every request (connection index, raw bytes), how many connections it saw,
    how many were open at most at once, and which ones the client closed (seen by a read).
    The server closes a connection when its script returns.
    """

    def __init__(self, ssl_context: ssl.SSLContext, script: Script) -> None:
        super().__init__(ssl_context)
        self.script = script
        self.open = 0
        self.peak = 0
        self.requests: list[tuple[int, bytes]] = []
        self.client_closed: set[int] = set()
        #: Every connection's writer: aborted at shutdown if its TLS close has not finished.
        self.writers: set[asyncio.StreamWriter] = set()

    def _stopping(self, server: asyncio.Server) -> None:
        for writer in self.writers:
            writer.transport.abort()
        for task in asyncio.all_tasks(self.loop):
            task.cancel()
        self.loop.run_until_complete(asyncio.sleep(0.05))

    async def _client(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        index = self.connections
        self.connections += 1
        self.open += 1
        self.peak = max(self.peak, self.open)
        self.writers.add(writer)
        try:
            await self.script(Peer(self, index, reader, writer))
        except (ConnectionError, ssl.SSLError):
            self.client_closed.add(index)
        finally:
            self.open -= 1
            if not writer.is_closing():  # a second close() would stop a later abort()
                writer.close()


def answer(body: bytes = b"ok", *, status: str = "200 OK", headers: tuple[str, ...] = ()) -> bytes:
    head = [f"HTTP/1.1 {status}", f"content-length: {len(body)}", *headers]
    return ("\r\n".join(head) + "\r\n\r\n").encode() + body


def serving(reply: Callable[[bytes], bytes | None], *, delay: float = 0.0) -> Script:
    """A keep-alive script: ``reply`` to each request; None closes without answering."""

    async def script(peer: Peer) -> None:
        while (request := await peer.read_request()) is not None:
            if delay:
                await asyncio.sleep(delay)
            data = reply(request)
            if data is None:
                return
            await peer.write(data)

    return script


def ok(_request: bytes) -> bytes:
    return answer()


@pytest.fixture
def scripted(server_ssl: ssl.SSLContext) -> Iterator[Callable[[Script], Scripted]]:
    started: list[Scripted] = []

    def start(script: Script) -> Scripted:
        srv = Scripted(server_ssl, script).__enter__()
        started.append(srv)
        return srv

    yield start
    for srv in started:
        srv.__exit__()


@pytest.fixture
async def forwarder(client_ssl: ssl.SSLContext) -> Any:
    fwd = LeanForwarder(client_ssl)
    yield fwd
    await fwd.close()


async def _get(fwd: LeanForwarder, url: str, timeout: float = 10.0) -> Upstream:
    return await fwd.send("GET", url, HEADERS, b"", timeout)


async def _until(check: Callable[[], bool], what: str) -> None:
    for _ in range(500):
        if check():
            return
        await asyncio.sleep(0.01)
    raise AssertionError(f"timed out waiting for {what}")


# -- answers from a real uvicorn ---------------------------------------------------------------


async def test_statuses_headers_and_bodies(forwarder: LeanForwarder, uvicorn_url: str) -> None:
    missing = await _get(forwarder, uvicorn_url + "/status/404")
    echoed = await forwarder.send(
        "POST", uvicorn_url + "/echo/7?fields=a,b", HEADERS, b'{"n": 7}', 10.0
    )

    assert (missing.status, missing.body) == (404, b"status 404")
    assert missing.headers["content-type"] == "text/plain"
    assert missing.headers["content-length"] == "10"
    assert echoed.status == 200
    echo = json.loads(echoed.body)
    assert (echo["method"], echo["path"], echo["query"], echo["body"]) == (
        "POST",
        "/echo/7",
        "fields=a,b",
        '{"n": 7}',
    )


async def test_sequential_requests_share_one_connection(
    forwarder: LeanForwarder, uvicorn_url: str
) -> None:
    ports = {
        json.loads((await _get(forwarder, f"{uvicorn_url}/echo/{i}")).body)["port"]
        for i in range(8)
    }
    assert len(ports) == 1


async def test_chunked_answers_are_read_whole(forwarder: LeanForwarder, uvicorn_url: str) -> None:
    for n in (1, 5, 40):
        up = await _get(forwarder, f"{uvicorn_url}/chunked/{n}")
        assert (up.status, up.body) == (200, b"".join(f"part-{k};".encode() for k in range(n)))
    first = json.loads((await _get(forwarder, uvicorn_url + "/echo/a")).body)["port"]
    second = json.loads((await _get(forwarder, uvicorn_url + "/echo/b")).body)["port"]
    assert first == second  # chunked answers leave the connection reusable


async def test_connection_close_answer_is_not_reused(
    forwarder: LeanForwarder, uvicorn_url: str
) -> None:
    before = json.loads((await _get(forwarder, uvicorn_url + "/echo/a")).body)["port"]
    closing = await _get(forwarder, uvicorn_url + "/close")
    after = json.loads((await _get(forwarder, uvicorn_url + "/echo/b")).body)["port"]

    assert (closing.status, closing.body) == (200, b"closing")
    assert before != after


async def test_slow_provider_times_out_and_its_connection_is_dropped(
    forwarder: LeanForwarder, uvicorn_url: str
) -> None:
    before = json.loads((await _get(forwarder, uvicorn_url + "/echo/a")).body)["port"]
    with pytest.raises(ProviderTimeout):
        await _get(forwarder, uvicorn_url + "/slow", timeout=0.5)
    after = json.loads((await _get(forwarder, uvicorn_url + "/echo/b")).body)["port"]
    assert before != after


# -- the request on the wire -------------------------------------------------------------------


async def test_target_is_sent_byte_for_byte(
    forwarder: LeanForwarder, scripted: Callable[[Script], Scripted]
) -> None:
    srv = scripted(serving(ok))
    target = "/persons/%2F%41b/~x?fields=a,b&x=%2f&y=caf%C3%A9;z=1+2&&q"

    await _get(forwarder, srv.url + target)
    await forwarder.send("POST", srv.url + "/query", {"Content-Type": "a/b"}, b"", 10.0)
    await forwarder.send("DELETE", srv.url + "?only=query", {}, b"{}", 10.0)

    (_, get), (_, post), (_, delete) = srv.requests
    assert (
        get
        == (
            f"GET {target} HTTP/1.1\r\nHost: 127.0.0.1:{srv.port}\r\n"
            "X-Road-Client: VN/GOV/000000001/one-stop\r\nX-Road-Id: id-1\r\n\r\n"
        ).encode()
    )
    assert (
        post
        == (
            f"POST /query HTTP/1.1\r\nHost: 127.0.0.1:{srv.port}\r\n"
            "Content-Type: a/b\r\nContent-Length: 0\r\n\r\n"
        ).encode()
    )
    assert delete.startswith(b"DELETE /?only=query HTTP/1.1\r\n")
    assert delete.endswith(b"Content-Length: 2\r\n\r\n{}")


async def test_no_user_agent_nor_accept_encoding_is_added(
    forwarder: LeanForwarder, scripted: Callable[[Script], Scripted]
) -> None:
    srv = scripted(serving(ok))
    await _get(forwarder, srv.url + "/x")
    head = srv.requests[0][1].lower()
    assert b"user-agent" not in head
    assert b"accept-encoding" not in head


async def test_line_breaks_and_non_ascii_targets_are_refused(forwarder: LeanForwarder) -> None:
    base = "https://127.0.0.1:1"
    for url, headers in (
        (base + "/a b", {}),
        (base + "/café", {}),
        (base + "/a\r\nX: y", {}),
        (base + "/a", {"X-Evil": "a\r\nHost: elsewhere"}),
    ):
        with pytest.raises(ValueError):
            await forwarder.send("GET", url, headers, b"", 1.0)


# -- answers -----------------------------------------------------------------------------------


async def test_repeated_header_keeps_the_last_value(
    forwarder: LeanForwarder, scripted: Callable[[Script], Scripted]
) -> None:
    srv = scripted(serving(lambda _: answer(headers=("X-Thing: one", "x-thing: two"))))
    up = await _get(forwarder, srv.url + "/x")
    assert up.headers["x-thing"] == "two"
    assert "X-Thing" not in up.headers


async def test_body_until_close_and_http10_answers_are_complete_and_not_reused(
    forwarder: LeanForwarder, scripted: Callable[[Script], Scripted]
) -> None:
    answers = {
        b"/eof": b"HTTP/1.1 200 OK\r\ncontent-type: text/plain\r\n\r\nbody until close",
        b"/http10": b"HTTP/1.0 200 OK\r\ncontent-length: 6\r\n\r\nhttp10",
    }

    async def script(peer: Peer) -> None:
        request = await peer.read_request()
        assert request is not None
        await peer.write(answers[request.split(b" ")[1]])
        peer.writer.close()

    srv = scripted(script)
    eof = await _get(forwarder, srv.url + "/eof")
    http10 = await _get(forwarder, srv.url + "/http10")
    again = await _get(forwarder, srv.url + "/eof")

    assert (eof.status, eof.body, again.body) == (200, b"body until close", b"body until close")
    assert (http10.status, http10.body) == (200, b"http10")
    assert srv.connections == 3
    assert [index for index, _ in srv.requests] == [0, 1, 2]  # no request went twice


async def test_informational_answer_is_skipped(
    forwarder: LeanForwarder, scripted: Callable[[Script], Scripted]
) -> None:
    srv = scripted(serving(lambda _: b"HTTP/1.1 100 Continue\r\n\r\n" + answer(b"final")))
    up = await _get(forwarder, srv.url + "/x")
    assert (up.status, up.body) == (200, b"final")


async def test_head_answer_has_no_body(
    forwarder: LeanForwarder, scripted: Callable[[Script], Scripted]
) -> None:
    head_answer = b"HTTP/1.1 200 OK\r\ncontent-length: 1234\r\nx-a: b\r\n\r\n"
    srv = scripted(serving(lambda r: head_answer if r.startswith(b"HEAD") else answer()))
    up = await forwarder.send("HEAD", srv.url + "/x", {}, b"", 10.0)
    after = await _get(forwarder, srv.url + "/y")
    assert (up.status, up.body, up.headers["x-a"]) == (200, b"", "b")
    assert (after.status, after.body) == (200, b"ok")


async def test_answer_over_the_body_cap_is_refused(
    client_ssl: ssl.SSLContext, scripted: Callable[[Script], Scripted]
) -> None:
    # Announced over 64 MiB: refused on the head, before a byte of the body.
    announced = scripted(serving(lambda _: b"HTTP/1.1 200 OK\r\ncontent-length: 67108865\r\n\r\n"))
    chunked = b"".join(b"100\r\n" + b"x" * 256 + b"\r\n" for _ in range(8)) + b"0\r\n\r\n"
    streamed = scripted(
        serving(lambda _: b"HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n" + chunked)
    )
    fwd = LeanForwarder(client_ssl, max_body_bytes=1024)
    default = LeanForwarder(client_ssl)
    try:
        with pytest.raises(ProviderUnavailable, match="larger than"):
            await _get(default, announced.url + "/big")
        with pytest.raises(ProviderUnavailable, match="larger than"):
            await _get(fwd, streamed.url + "/big")
    finally:
        await fwd.close()
        await default.close()


# -- failures ----------------------------------------------------------------------------------


async def test_idle_connection_closed_by_the_provider_is_retried_once(
    forwarder: LeanForwarder, scripted: Callable[[Script], Scripted]
) -> None:
    async def script(peer: Peer) -> None:
        # The first connection answers once, then closes on reading the next request
        # without answering: what a provider closing an idle connection looks like when
        # the request crosses the close.
        while await peer.read_request() is not None:
            if peer.index == 0 and peer.served == 1:
                return
            peer.served += 1
            await peer.write(answer(f"conn {peer.index}".encode()))

    srv = scripted(script)
    first = await forwarder.send("POST", srv.url + "/a", HEADERS, b"1", 10.0)
    second = await forwarder.send("POST", srv.url + "/b", HEADERS, b"2", 10.0)

    assert (first.body, second.body) == (b"conn 0", b"conn 1")
    assert [index for index, _ in srv.requests] == [0, 0, 1]
    assert srv.requests[1][1] == srv.requests[2][1]  # the same request, resent as it was


async def test_idle_connection_closed_meanwhile_is_not_used(
    forwarder: LeanForwarder, scripted: Callable[[Script], Scripted]
) -> None:
    async def script(peer: Peer) -> None:
        await peer.read_request()
        await peer.write(answer())
        peer.writer.close()  # no Connection: close, the client learns it from the EOF

    srv = scripted(script)
    await _get(forwarder, srv.url + "/a")
    await _until(lambda: 0 in srv.client_closed or srv.open == 0, "the server's close")
    await asyncio.sleep(0.05)
    up = await _get(forwarder, srv.url + "/b")
    assert up.status == 200
    assert srv.connections == 2


async def test_no_retry_once_answer_bytes_arrived(
    forwarder: LeanForwarder, scripted: Callable[[Script], Scripted]
) -> None:
    async def script(peer: Peer) -> None:
        while await peer.read_request() is not None:
            if peer.served == 1:
                await peer.write(b"HTTP/1.1 200 OK\r\ncontent-length: 10\r\n\r\nabc")
                return
            peer.served += 1
            await peer.write(answer())

    srv = scripted(script)
    await _get(forwarder, srv.url + "/a")
    with pytest.raises(ProviderUnavailable, match=DROPPED):
        await _get(forwarder, srv.url + "/b")
    assert [index for index, _ in srv.requests] == [0, 0]


async def test_fresh_connection_dropped_without_answer_is_not_retried(
    forwarder: LeanForwarder, scripted: Callable[[Script], Scripted]
) -> None:
    srv = scripted(serving(lambda _: None))
    with pytest.raises(ProviderUnavailable, match=DROPPED):
        await forwarder.send("POST", srv.url + "/a", HEADERS, b"once", 10.0)
    assert len(srv.requests) == 1


async def test_malformed_answer_is_a_dropped_connection(
    forwarder: LeanForwarder, scripted: Callable[[Script], Scripted]
) -> None:
    srv = scripted(serving(lambda _: b"NOT HTTP AT ALL\r\n\r\n"))
    with pytest.raises(ProviderUnavailable, match=DROPPED):
        await _get(forwarder, srv.url + "/a")


async def test_connection_refused_is_provider_unavailable(forwarder: LeanForwarder) -> None:
    (port,) = free_ports(1)
    with pytest.raises(ProviderUnavailable) as caught:
        await _get(forwarder, f"https://127.0.0.1:{port}/a")
    assert caught.value.message == ProviderUnavailable.default_message


async def test_unanswered_request_times_out(
    forwarder: LeanForwarder, scripted: Callable[[Script], Scripted]
) -> None:
    async def script(peer: Peer) -> None:
        while (request := await peer.read_request()) is not None:
            if b"/hang" not in request:
                await peer.write(answer())
        # /hang: never answered; the client closes

    srv = scripted(script)
    await _get(forwarder, srv.url + "/a")
    with pytest.raises(ProviderTimeout):
        await _get(forwarder, srv.url + "/hang", timeout=0.3)
    await _get(forwarder, srv.url + "/b")
    assert [index for index, _ in srv.requests] == [0, 0, 1]
    await _until(lambda: 0 in srv.client_closed, "the timed-out connection to close")


async def test_client_certificate_the_provider_rejects(
    client_ssl: ssl.SSLContext, dev_pki: Path, tmp_path: Path, foreign_ca: ForeignCa
) -> None:
    # The provider trusts another CA only, so it refuses the gateway's certificate.
    ca = tmp_path / "foreign-ca.crt"
    ca.write_bytes(certificate_pem(foreign_ca.cert))
    cert, key = Authority(dev_pki).server_paths("population")
    with Scripted(server_context(cert=cert, key=key, ca=ca), serving(ok)) as srv:
        fwd = LeanForwarder(client_ssl)
        try:
            with pytest.raises(ProviderUnavailable):
                await _get(fwd, srv.url + "/a")
        finally:
            await fwd.close()
    assert srv.requests == []


async def test_provider_certificate_from_another_ca_is_refused(
    dev_pki: Path, tmp_path: Path, foreign_ca: ForeignCa, scripted: Callable[[Script], Scripted]
) -> None:
    srv = scripted(serving(ok))
    ca = tmp_path / "foreign-ca.crt"
    ca.write_bytes(certificate_pem(foreign_ca.cert))
    cert, key = Authority(dev_pki).member_paths(GATEWAY_ID)
    fwd = LeanForwarder(client_context(ca=ca, cert=cert, key=key))
    try:
        with pytest.raises(ProviderUnavailable) as caught:
            await _get(fwd, srv.url + "/a")
    finally:
        await fwd.close()
    assert caught.value.message == ProviderUnavailable.default_message


# -- the pool ----------------------------------------------------------------------------------


async def test_concurrent_requests_stay_within_the_limit(
    client_ssl: ssl.SSLContext, scripted: Callable[[Script], Scripted]
) -> None:
    srv = scripted(serving(lambda r: answer(r.split(b" ")[1]), delay=0.05))
    fwd = LeanForwarder(client_ssl, limit_per_origin=3)
    try:
        ups = await asyncio.gather(*(_get(fwd, f"{srv.url}/{i}") for i in range(12)))
    finally:
        await fwd.close()
    assert [up.body for up in ups] == [f"/{i}".encode() for i in range(12)]
    assert srv.peak <= 3
    assert srv.connections == 3


async def test_waiting_for_a_connection_is_bounded_by_the_timeout(
    client_ssl: ssl.SSLContext, scripted: Callable[[Script], Scripted]
) -> None:
    async def script(peer: Peer) -> None:
        while await peer.read_request() is not None:
            await asyncio.sleep(0.5)
            await peer.write(answer())

    srv = scripted(script)
    fwd = LeanForwarder(client_ssl, limit_per_origin=1)
    try:
        busy = asyncio.create_task(_get(fwd, srv.url + "/slow"))
        await asyncio.sleep(0.1)
        with pytest.raises(ProviderTimeout):
            await _get(fwd, srv.url + "/queued", timeout=0.1)
        assert (await busy).status == 200
        assert (await _get(fwd, srv.url + "/next")).status == 200
    finally:
        await fwd.close()
    assert srv.connections == 1


async def test_idle_connections_close_after_the_idle_timeout(
    client_ssl: ssl.SSLContext, scripted: Callable[[Script], Scripted]
) -> None:
    srv = scripted(serving(ok))
    fwd = LeanForwarder(client_ssl, idle_timeout_s=0.2)
    try:
        await _get(fwd, srv.url + "/a")
        await _until(lambda: 0 in srv.client_closed, "the idle connection to close")
        await _get(fwd, srv.url + "/b")
    finally:
        await fwd.close()
    assert srv.connections == 2


async def test_cancelled_request_does_not_leave_its_connection_in_the_pool(
    forwarder: LeanForwarder, scripted: Callable[[Script], Scripted]
) -> None:
    srv = scripted(serving(ok, delay=0.3))
    task = asyncio.create_task(_get(forwarder, srv.url + "/a"))
    await _until(lambda: len(srv.requests) == 1, "the request")
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert (await _get(forwarder, srv.url + "/b")).body == b"ok"
    assert srv.connections == 2


async def test_close_closes_every_connection_and_refuses_sends(
    client_ssl: ssl.SSLContext, scripted: Callable[[Script], Scripted]
) -> None:
    srv = scripted(serving(ok))
    fwd = LeanForwarder(client_ssl)
    await asyncio.gather(*(_get(fwd, f"{srv.url}/{i}") for i in range(3)))
    opened = srv.connections

    await fwd.close()

    await _until(lambda: len(srv.client_closed) == opened, "every connection to close")
    with pytest.raises(RuntimeError):
        await _get(fwd, srv.url + "/after")
