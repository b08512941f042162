"""A lean HTTP/1.1 client for the forwarding hop: the gateway's ``Forwarder`` without aiohttp.

Profiling the stack at 64 clients showed the gateway spending ~30 % of its CPU in the aiohttp
forwarder this replaces (ADR 0005, 0008): aiohttp builds a request object, header multidicts, a
``ClientTimeout`` with its timer contexts and a stream writer for every query. The gateway
only ever sends small, already-signed requests to a handful of providers, so this module
speaks HTTP/1.1 itself, the way ``bench.load`` does (and servers do):

- one ``asyncio.Protocol`` per connection, fed by callbacks; answers are parsed by
  ``httptools`` (llhttp, the parser uvicorn uses), which validates what it reads;
- a request is serialized to its bytes in one pass: request line, ``Host``, the caller's
  headers, ``Content-Length``, body. The target (path and query) goes out **byte for byte
  as given**: it is covered by the signed forward header's ``htu``, so it is never
  re-encoded, only checked to be a single ASCII token (no request splitting);
- per origin (scheme, host, port) a pool: idle connections reused last-in first-out, at
  most ``limit_per_origin`` open, callers beyond that wait (within their timeout) for a
  connection or a free slot, handed over in arrival order;
- one sweep timer per forwarder, not one per request, enforces every deadline and closes
  connections idle for longer than ``idle_timeout_s``.

Behaviour matches the aiohttp forwarder it replaced: no ``User-Agent``, no
``Accept-Encoding`` (no decompression), response headers as a dict of lower-case names
(a repeated header: the last value wins, as ``dict(resp.headers.items())`` keeps), a request
on a reused connection that fails before any answer byte (the provider closed it while it
was idle) is retried once on a fresh one, and errors map the same way:

- cannot connect (refused, DNS, TLS handshake) → ``ProviderUnavailable()``;
- the connection dropped, or a malformed answer → ``ProviderUnavailable`` "the provider
  dropped the connection"; an answer over ``max_body_bytes`` (64 MiB) is refused too;
- the exchange (waiting for a connection, connecting — itself at most 2 s —, sending and
  reading) over ``timeout`` → ``ProviderTimeout()``; that connection is closed.

Nothing here logs: URLs and bodies carry personal ids.
"""

from __future__ import annotations

import asyncio
import contextlib
import re
import ssl
from collections import deque
from typing import cast
from urllib.parse import urlsplit

import httptools

from gateway.errors import ProviderTimeout, ProviderUnavailable
from gateway.proxy import Upstream

#: Largest answer body accepted from a provider.
MAX_BODY_BYTES = 64 * 1024 * 1024

#: Connecting (TCP and TLS handshake) takes at most this long, as with aiohttp's forwarder.
CONNECT_TIMEOUT_S = 2.0

#: How often deadlines and idle connections are checked while there are any.
TICK_S = 0.05

DROPPED = "the provider dropped the connection"

#: Methods whose body, even empty, is announced with ``Content-Length``.
_BODY_METHODS = frozenset({"POST", "PUT", "PATCH"})

#: What a request target may not hold: controls, space, DEL, anything outside ASCII.
_BAD_TARGET = re.compile(r"[^\x21-\x7e]")

#: Bodies up to this size are written with the head in one TLS record write.
_COALESCE_BYTES = 16 * 1024


class _Stale(Exception):
    """A reused connection failed before any byte of the answer: the request may be resent."""


class _Refused(Exception):
    """Raised inside a parser callback: the answer is not acceptable (see ``message``)."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class _Connection(asyncio.Protocol):
    """One keep-alive connection to a provider: one request at a time, its answer parsed.

    ``request`` returns a future the answer (an ``Upstream``) or the failure is set on,
    exactly once; afterwards the connection goes back to its pool or is closed.
    """

    transport: asyncio.Transport

    def __init__(self, pool: _Pool) -> None:
        self.pool = pool
        self.parser = httptools.HttpResponseParser(self)
        self.waiter: asyncio.Future[Upstream] | None = None
        self.deadline = 0.0
        self.is_head = False
        #: Requests answered on this connection: a failure on a reused one may be retried.
        self.served = 0
        self.received = False
        self.head_done = False
        self.until_close = False
        self.status = 0
        self.headers: dict[str, str] = {}
        self.parts: list[bytes] = []
        self.size = 0
        self.idle = False
        self.idle_since = 0.0
        self.gone = pool.loop.create_future()

    # -- the pool's side

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = cast(asyncio.Transport, transport)

    def request(
        self, head: bytes, body: bytes, deadline: float, is_head: bool
    ) -> asyncio.Future[Upstream]:
        """Send a request; the returned future gets its answer or its failure."""
        waiter = self.waiter = self.pool.loop.create_future()
        self.deadline = deadline
        self.is_head = is_head
        self.received = self.head_done = False
        if self.gone.done() or self.transport.is_closing():
            # Lost between leaving the pool and this request: as if the server closed it.
            self.waiter = None
            waiter.set_exception(_Stale() if self.served else ProviderUnavailable(DROPPED))
            return waiter
        self.pool.forwarder.track(self)
        if len(body) <= _COALESCE_BYTES:
            self.transport.write(head + body if body else head)
        else:
            self.transport.write(head)
            self.transport.write(body)
        return waiter

    def settle(self) -> asyncio.Future[Upstream] | None:
        """The pending request's future, taken: whoever takes it resolves it, exactly once."""
        waiter, self.waiter = self.waiter, None
        if waiter is not None:
            self.pool.forwarder.untrack(self)
            if waiter.done():  # the caller gave up (cancelled)
                return None
        return waiter

    def fail(self, error: BaseException) -> None:
        """End the request in flight with ``error`` and drop the connection."""
        waiter = self.settle()
        if waiter is not None:
            waiter.set_exception(error)
        self.transport.abort()

    # -- the transport's side

    def data_received(self, data: bytes) -> None:
        if self.waiter is None:  # bytes nobody asked for: the connection cannot be trusted
            self.transport.abort()
            return
        self.received = True
        try:
            self.parser.feed_data(data)
        except httptools.HttpParserCallbackError as e:
            cause = e.__context__
            self.fail(
                ProviderUnavailable(cause.message if isinstance(cause, _Refused) else DROPPED)
            )
        except (httptools.HttpParserError, httptools.HttpParserUpgrade):
            self.fail(ProviderUnavailable(DROPPED))

    def connection_lost(self, exc: Exception | None) -> None:
        waiter = self.settle()
        if waiter is not None:
            if self.head_done and self.until_close:
                # A body without length or chunks ends when the server closes: complete.
                waiter.set_result(self._answer())
            elif not self.received and self.served:
                waiter.set_exception(_Stale())
            else:
                waiter.set_exception(ProviderUnavailable(DROPPED))
        self.gone.set_result(None)
        self.pool.discard(self)

    # -- httptools callbacks

    def on_message_begin(self) -> None:
        if self.waiter is None:
            raise _Refused(DROPPED)  # a second answer to one request
        self.headers = {}
        self.parts = []
        self.size = 0

    def on_header(self, name: bytes, value: bytes) -> None:
        self.headers[name.decode("utf-8", "surrogateescape").lower()] = value.decode(
            "utf-8", "surrogateescape"
        )

    def on_headers_complete(self) -> None:
        status = self.parser.get_status_code()
        if status < 200:  # 1xx: the answer follows
            return
        self.status = status
        self.head_done = True
        headers = self.headers
        self.until_close = (
            "content-length" not in headers
            and "chunked" not in headers.get("transfer-encoding", "").lower()
            and status not in (204, 304)
        )
        if self.is_head:
            # An answer to HEAD announces a body it does not send, which llhttp cannot know:
            # take the head as the whole answer and do not reuse the connection (HEAD is
            # not a method the gateway forwards, so this is never the hot path).
            self._finish(keep_alive=False)
            return
        length = headers.get("content-length")
        if length is not None and length.isdigit() and int(length) > self.pool.max_body:
            raise _Refused(f"the provider's answer is larger than {self.pool.max_body} bytes")

    def on_body(self, body: bytes) -> None:
        self.size += len(body)
        if self.size > self.pool.max_body:
            raise _Refused(f"the provider's answer is larger than {self.pool.max_body} bytes")
        self.parts.append(body)

    def on_message_complete(self) -> None:
        if self.parser.get_status_code() < 200 or self.waiter is None:
            return
        self._finish(keep_alive=self.parser.should_keep_alive())

    def _answer(self) -> Upstream:
        parts = self.parts
        body = parts[0] if len(parts) == 1 else b"".join(parts)
        self.parts = []
        return Upstream(self.status, self.headers, body)

    def _finish(self, *, keep_alive: bool) -> None:
        waiter = self.settle()
        if waiter is None:  # the caller gave up (cancelled): the connection is not reusable
            self.transport.abort()
            return
        waiter.set_result(self._answer())
        self.served += 1
        self.pool.release(self, keep_alive=keep_alive)


class _Pool:
    """The connections to one origin: idle ones (LIFO), how many are open, who waits."""

    def __init__(
        self,
        forwarder: LeanForwarder,
        loop: asyncio.AbstractEventLoop,
        host: str,
        port: int,
        ssl_context: ssl.SSLContext | None,
    ) -> None:
        self.forwarder = forwarder
        self.loop = loop
        self.host = host
        self.port = port
        self.ssl = ssl_context
        self.limit = forwarder.limit_per_origin
        self.max_body = forwarder.max_body_bytes
        self.idle: deque[_Connection] = deque()
        #: Connections counted against the limit: connecting, busy or idle.
        self.open = 0
        #: Callers waiting for a connection (set to it) or for a slot to connect in (None).
        self.waiters: deque[asyncio.Future[_Connection | None]] = deque()
        self.connections: set[_Connection] = set()

    def take_idle(self) -> _Connection | None:
        idle = self.idle
        while idle:
            conn = idle.pop()
            conn.idle = False
            if not conn.transport.is_closing():
                return conn
        return None

    async def acquire(self, deadline: float) -> _Connection:
        """A connection of this origin: a fresh one if a slot is free, else the next one freed."""
        while True:
            if self.open < self.limit:
                self.open += 1
                return await self._connect(deadline)
            waiter: asyncio.Future[_Connection | None] = self.loop.create_future()
            self.waiters.append(waiter)
            timer = self.loop.call_at(deadline, _time_out, waiter)
            try:
                conn = await waiter
            except asyncio.CancelledError:
                if waiter.done() and not waiter.cancelled():
                    got = waiter.result()
                    if got is None:
                        self._free_slot()
                    else:
                        self.release(got, keep_alive=True)
                raise
            finally:
                timer.cancel()
                with contextlib.suppress(ValueError):
                    self.waiters.remove(waiter)
            if conn is None:  # a slot was handed over: it is counted already
                return await self._connect(deadline)
            if not conn.transport.is_closing():
                return conn
            # handed a connection that closed meanwhile: its slot comes back via discard

    async def _connect(self, deadline: float) -> _Connection:
        """Open a connection in a slot counted in ``open``; the slot comes back on failure."""
        try:
            remaining = deadline - self.loop.time()
            if remaining <= 0:
                raise ProviderTimeout()
            try:
                _, conn = await asyncio.wait_for(
                    self.loop.create_connection(
                        lambda: _Connection(self),
                        self.host,
                        self.port,
                        ssl=self.ssl,
                        server_hostname=self.host if self.ssl is not None else None,
                    ),
                    min(remaining, CONNECT_TIMEOUT_S),
                )
            except TimeoutError as e:
                raise ProviderTimeout() from e
            except OSError as e:  # refused, DNS, TLS handshake (ssl.SSLError is an OSError)
                raise ProviderUnavailable() from e
        except BaseException:
            self._free_slot()
            raise
        if self.forwarder.closed:  # closed while connecting
            conn.transport.abort()
            raise RuntimeError("the forwarder is closed")
        self.connections.add(conn)
        return conn

    def release(self, conn: _Connection, *, keep_alive: bool) -> None:
        """A connection done with its request: to the next waiter, the idle stack, or closed."""
        if not keep_alive or self.forwarder.closed or conn.transport.is_closing():
            conn.transport.close()  # its slot comes back when the connection is lost
            return
        while self.waiters:
            waiter = self.waiters.popleft()
            if not waiter.done():
                waiter.set_result(conn)
                return
        conn.idle = True
        conn.idle_since = self.loop.time()
        self.idle.append(conn)
        self.forwarder.sweep_soon()

    def discard(self, conn: _Connection) -> None:
        """A connection is lost: forget it and give its slot to a waiter or back."""
        self.connections.discard(conn)
        if conn.idle:
            conn.idle = False
            with contextlib.suppress(ValueError):
                self.idle.remove(conn)
        self._free_slot()

    def _free_slot(self) -> None:
        while self.waiters:
            waiter = self.waiters.popleft()
            if not waiter.done():
                waiter.set_result(None)  # the slot passes to the waiter: ``open`` unchanged
                return
        self.open -= 1

    def expire_idle(self, now: float, idle_timeout: float) -> None:
        """Close idle connections unused for ``idle_timeout`` (the oldest are at the left)."""
        idle = self.idle
        while idle and idle[0].idle_since + idle_timeout <= now:
            conn = idle.popleft()
            conn.idle = False
            conn.transport.close()


def _time_out(waiter: asyncio.Future[_Connection | None]) -> None:
    if not waiter.done():
        waiter.set_exception(ProviderTimeout())


class LeanForwarder:
    """Pooled keep-alive mTLS connections to every provider, speaking HTTP/1.1 directly.

    Implements ``gateway.proxy.Forwarder``. Made outside an event loop (``create_app``); it
    binds to the loop of its first ``send`` and serves that loop only.
    """

    def __init__(
        self,
        ssl_context: ssl.SSLContext,
        *,
        limit_per_origin: int = 256,
        idle_timeout_s: float = 30.0,
        max_body_bytes: int = MAX_BODY_BYTES,
    ) -> None:
        if limit_per_origin < 1:
            raise ValueError("limit_per_origin must be at least 1")
        self.ssl_context = ssl_context
        self.limit_per_origin = limit_per_origin
        self.idle_timeout_s = idle_timeout_s
        self.max_body_bytes = max_body_bytes
        self.closed = False
        self._loop: asyncio.AbstractEventLoop | None = None
        #: Pools by the URL's ``scheme://netloc``, with the ``Host`` header to send there.
        self._pools: dict[str, tuple[_Pool, str]] = {}
        self._busy: set[_Connection] = set()
        self._sweeper: asyncio.TimerHandle | None = None

    async def send(
        self, method: str, url: str, headers: dict[str, str], body: bytes, timeout: float
    ) -> Upstream:
        """Send one request and read its whole answer (see the module docstring)."""
        if self.closed:
            raise RuntimeError("the forwarder is closed")
        loop = self._loop
        if loop is None:
            loop = self._loop = asyncio.get_running_loop()
        elif loop is not asyncio.get_running_loop():
            raise RuntimeError("a LeanForwarder serves the event loop it was first used on")
        pool, head = self._serialize(loop, method, url, headers, body)
        deadline = loop.time() + timeout
        conn = pool.take_idle()
        if conn is None:
            conn = await pool.acquire(deadline)
        try:
            return await self._exchange(conn, head, body, deadline, method == "HEAD")
        except _Stale:
            pass
        # The provider closed the reused connection while it was idle: once more, anew.
        conn = await pool.acquire(deadline)
        try:
            return await self._exchange(conn, head, body, deadline, method == "HEAD")
        except _Stale as e:
            raise ProviderUnavailable(DROPPED) from e

    async def _exchange(
        self, conn: _Connection, head: bytes, body: bytes, deadline: float, is_head: bool
    ) -> Upstream:
        if self.closed:  # closed while this request waited for its connection
            conn.transport.close()
            raise RuntimeError("the forwarder is closed")
        waiter = conn.request(head, body, deadline, is_head)
        try:
            return await waiter
        except asyncio.CancelledError:
            if conn.waiter is waiter:  # still in flight: its answer may yet come, never reuse
                conn.fail(ProviderUnavailable(DROPPED))
            raise

    def _serialize(
        self,
        loop: asyncio.AbstractEventLoop,
        method: str,
        url: str,
        headers: dict[str, str],
        body: bytes,
    ) -> tuple[_Pool, bytes]:
        """The origin's pool, and the request head as bytes."""
        scheme_end = url.find("://")
        start = scheme_end + 3
        end = len(url)
        for sep in "/?#":
            i = url.find(sep, start)
            if 0 <= i < end:
                end = i
        origin = url[:end]
        known = self._pools.get(origin)
        if known is None:
            known = self._pools[origin] = self._new_pool(loop, origin)
        pool, host = known
        target = url[end:]
        hash_at = target.find("#")
        if hash_at >= 0:
            target = target[:hash_at]
        if not target or target[0] != "/":
            target = "/" + target
        if _BAD_TARGET.search(target):
            raise ValueError("the request target must be percent-encoded ASCII")
        names = {name.lower() for name in headers}
        lines = [f"{method} {target} HTTP/1.1\r\n"]
        if "host" not in names:
            lines.append(f"Host: {host}\r\n")
        lines.extend(f"{name}: {value}\r\n" for name, value in headers.items())
        if (body or method in _BODY_METHODS) and "content-length" not in names:
            lines.append(f"Content-Length: {len(body)}\r\n")
        if "transfer-encoding" in names:
            raise ValueError("the forwarder sends bodies with Content-Length only")
        lines.append("\r\n")
        text = "".join(lines)
        n = len(lines)
        if text.count("\n") != n or text.count("\r") != n or "\0" in text or not method.isalpha():
            raise ValueError("line breaks in the method, a header or the URL")
        return pool, text.encode()

    def _new_pool(self, loop: asyncio.AbstractEventLoop, origin: str) -> tuple[_Pool, str]:
        parts = urlsplit(origin)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError("an absolute http:// or https:// URL is needed")
        if "@" in parts.netloc:
            raise ValueError("credentials in the URL are not supported")
        tls = parts.scheme == "https"
        default = 443 if tls else 80
        port = parts.port or default
        # ``Host`` as aiohttp sends it: the port only when it is not the scheme's default.
        host = parts.netloc if parts.port is None else parts.netloc.rsplit(":", 1)[0]
        if parts.port not in (None, default):
            host = parts.netloc
        pool = _Pool(self, loop, parts.hostname, port, self.ssl_context if tls else None)
        return pool, host

    # -- deadlines and idle connections

    def track(self, conn: _Connection) -> None:
        """A request is in flight on ``conn``: its deadline is watched until it settles."""
        self._busy.add(conn)
        if self._sweeper is None:
            self.sweep_soon()

    def untrack(self, conn: _Connection) -> None:
        self._busy.discard(conn)

    def sweep_soon(self) -> None:
        if self._sweeper is None and self._loop is not None and not self.closed:
            self._sweeper = self._loop.call_later(TICK_S, self._sweep)

    def _sweep(self) -> None:
        """Fail every request past its deadline; close connections idle for too long."""
        self._sweeper = None
        loop = self._loop
        assert loop is not None  # noqa: S101 - scheduled on it
        now = loop.time()
        for conn in [c for c in self._busy if c.deadline <= now]:
            conn.fail(ProviderTimeout())
        idle = False
        for pool, _ in self._pools.values():
            pool.expire_idle(now, self.idle_timeout_s)
            idle = idle or bool(pool.idle)
        if self._busy or idle:
            self.sweep_soon()

    async def close(self) -> None:
        """Close every connection (requests in flight fail); ``send`` is refused afterwards."""
        self.closed = True
        if self._sweeper is not None:
            self._sweeper.cancel()
            self._sweeper = None
        connections: list[_Connection] = []
        for pool, _ in self._pools.values():
            for waiter in pool.waiters:
                if not waiter.done():
                    waiter.set_exception(RuntimeError("the forwarder is closed"))
            pool.waiters.clear()
            connections.extend(pool.connections)
        for conn in connections:
            if conn.waiter is not None:
                conn.fail(ProviderUnavailable(DROPPED))
            else:
                conn.transport.close()
        pending = [conn.gone for conn in connections if not conn.gone.done()]
        if pending:
            await asyncio.wait(pending, timeout=1.0)
        for conn in connections:
            if not conn.gone.done():
                conn.transport.abort()
        self._pools.clear()
