"""A load generator that is never the bottleneck: pre-built requests, N in flight, latencies kept.

At the target rate (1,500 exchanges/s on a 2-core machine) every process of the exchange
together has about 1.3 ms of CPU per request, and the generator shares the machine with
them, so it must cost a small fraction of that. aiohttp costs 0.3–0.5 ms per request (a
task, a future, a response object, header multidicts, a timer), so this module speaks
HTTP/1.1 itself, the way a server does: one ``asyncio.Protocol`` per connection on uvloop,
driven by callbacks, with no coroutine, future or timer per request.

- Every request is serialized to its bytes (request line, headers, ``Host``,
  ``Content-Length``, body) before a connection opens; gateway requests are signed before
  that (``bench.gateway``), so the measured part only sends.
- ``concurrency`` workers, one keep-alive (m)TLS connection each, all opened (handshakes
  done) before the first request. A worker that gets an answer sends its next request from
  the answer's callback.
- Answers are parsed by ``httptools`` (llhttp, the parser uvicorn uses): Content-Length,
  chunked and close-delimited bodies. It measured ~0.9 µs per small answer against ~1.2 µs
  for a hand-written head scan that did less, and it validates what it reads.
- An answer with ``Connection: close`` counts with its status, then the worker reconnects;
  a connection that drops, a malformed answer, or no answer within ``timeout`` counts the
  request in flight as an error with status 0, and the worker reconnects. A worker that
  cannot reconnect fails its next request (status 0) per attempt, so a dead server ends the
  run quickly instead of hanging it. One sweep timer checks every deadline.
- The process's own CPU time (``RUSAGE_SELF``, every thread) is reported around the
  measured part, so a reader can see the generator was not the bottleneck.

``python -m bench.load`` measures both against one minimal mTLS provider: at 64 connections
this generator costs 35–50 µs of CPU per request (aiohttp 170–260 µs, 5–7x more), also at
~1,400 requests/s, where fewer answers share each wake-up.

``run`` always runs on uvloop: awaited from another event loop, it runs on a uvloop loop
of its own in a worker thread while the caller's loop waits (idle). ``run_aiohttp`` is the
previous aiohttp generator, kept as the reference ``python -m bench.load`` compares against.
"""

from __future__ import annotations

import asyncio
import os
import resource
import socket
import ssl
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated, Any, cast
from urllib.parse import urlsplit

import httptools
import typer
import uvloop

#: Methods whose body, even empty, is announced with ``Content-Length``.
_BODY_METHODS = frozenset({"POST", "PUT", "PATCH"})

#: Called with (index of the request in ``requests``, status, body) for every request.
ResponseHook = Callable[[int, int, bytes], None]


@dataclass(frozen=True)
class Prepared:
    method: str
    url: str
    headers: dict[str, str]
    body: bytes = b""


@dataclass
class Outcome:
    """What the measured part did: one latency and one status per request."""

    concurrency: int = 0
    requests: int = 0
    errors: int = 0
    seconds: float = 0.0
    cpu_seconds: float = 0.0
    latencies_ms: list[float] = field(default_factory=list)
    statuses: dict[int, int] = field(default_factory=dict)
    #: Connections opened over the whole run (warm-up and reconnections included).
    connections: int = 0

    @property
    def rps(self) -> float:
        return self.requests / self.seconds if self.seconds else 0.0

    def percentile(self, q: float) -> float:
        if not self.latencies_ms:
            return 0.0
        ordered = sorted(self.latencies_ms)
        return ordered[min(len(ordered) - 1, int(q * len(ordered)))]

    @property
    def cpu_ms_per_req(self) -> float:
        return self.cpu_seconds / self.requests * 1000 if self.requests else 0.0


def _cpu() -> float:
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime


# -- requests as bytes -----------------------------------------------------------------------


@dataclass(frozen=True)
class _Origin:
    host: str
    port: int
    tls: bool


def serialize(request: Prepared) -> tuple[_Origin, bytes]:
    """Where the request goes, and its bytes: request line, headers, ``Host``, length, body.

    The target is sent exactly as written in the URL (no re-quoting), so a signature over the
    path and query still matches; it must be ASCII (percent-encode the rest). ``Host`` and
    ``Content-Length`` are added unless the request carries them.
    """
    if request.method == "HEAD":
        # An answer to HEAD announces a body it does not send; the parser cannot know.
        raise ValueError("HEAD requests are not supported by the load generator")
    parts = urlsplit(request.url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValueError(f"{request.url!r}: an absolute http:// or https:// URL is needed")
    tls = parts.scheme == "https"
    origin = _Origin(parts.hostname, parts.port or (443 if tls else 80), tls)
    target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    names = {name.lower() for name in request.headers}
    lines = [f"{request.method} {target} HTTP/1.1"]
    if "host" not in names:
        lines.append(f"Host: {parts.netloc.rpartition('@')[2]}")
    lines += [f"{name}: {value}" for name, value in request.headers.items()]
    if (
        (request.body or request.method in _BODY_METHODS)
        and "content-length" not in names
        and "transfer-encoding" not in names
    ):
        lines.append(f"Content-Length: {len(request.body)}")
    if any("\n" in line or "\r" in line for line in lines):
        raise ValueError(f"{request.method} {request.url}: line breaks in a header or the URL")
    try:
        target.encode("ascii")
    except UnicodeEncodeError as e:
        raise ValueError(f"{request.url!r}: percent-encode the path and query") from e
    return origin, ("\r\n".join(lines) + "\r\n\r\n").encode() + request.body


# -- one connection ----------------------------------------------------------------------------


class _Connection(asyncio.Protocol):
    """One keep-alive connection of one worker: sends a request, parses its answer.

    ``httptools`` calls ``on_headers_complete`` and ``on_message_complete`` (and
    ``on_body`` on ``_BodyConnection`` only: without a response hook the body is never
    copied out of the parser).
    """

    #: Set by ``connection_made``, before the connection reaches ``_Run``.
    transport: asyncio.Transport

    def __init__(self, run: _Run, slot: int) -> None:
        self.run = run
        self.slot = slot
        self.parser = httptools.HttpResponseParser(self)
        #: Index of the request in flight, -1 when idle (or when its outcome is counted).
        self.index = -1
        self.started = 0.0
        self.head_done = False
        self.keep_alive = True
        self.gone: asyncio.Future[None] = asyncio.get_running_loop().create_future()

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = cast(asyncio.Transport, transport)

    def send(self, index: int, wire: bytes) -> None:
        self.index = index
        self.head_done = False
        self.started = time.perf_counter()
        self.transport.write(wire)

    def data_received(self, data: bytes) -> None:
        try:
            self.parser.feed_data(data)
        except httptools.HttpParserCallbackError as e:
            # Our callback (or the response hook under it) raised: that ends the run.
            self.run.crash(e.__context__ or e)
        except (httptools.HttpParserError, httptools.HttpParserUpgrade):
            self.run.failed(self)

    def on_headers_complete(self) -> None:
        self.head_done = True
        self.keep_alive = self.parser.should_keep_alive()

    def on_message_complete(self) -> None:
        status = self.parser.get_status_code()
        if status < 200 or self.index < 0:  # 1xx: the answer follows; or nothing asked
            return
        self.keep_alive = self.parser.should_keep_alive()
        self.run.answered(self, status, self.body())

    def body(self) -> bytes:
        return b""

    def connection_lost(self, exc: Exception | None) -> None:
        if self.index >= 0 and self.head_done and not self.keep_alive:
            # A body that ends when the server closes (no length, not chunked) is complete
            # now. llhttp cannot tell it from a Content-Length body cut short on a
            # ``Connection: close`` answer, so that rare case counts with its status too.
            self.run.answered(self, self.parser.get_status_code(), self.body())
        self.gone.set_result(None)
        self.run.lost(self)


class _BodyConnection(_Connection):
    """A connection that keeps each answer's body, for a response hook."""

    def __init__(self, run: _Run, slot: int) -> None:
        super().__init__(run, slot)
        self.parts: list[bytes] = []

    def on_body(self, body: bytes) -> None:
        self.parts.append(body)

    def body(self) -> bytes:
        body = b"".join(self.parts)
        self.parts = []
        return body


# -- the run -----------------------------------------------------------------------------------


class _Run:
    """The workers of one ``run``: who sends what next, and what came back.

    A phase (warm-up, then the measured part) hands out the requests ``[next, stop)`` one
    at a time; it ends when every one of them is resolved (answered or failed), each
    exactly once: whoever resolves a request first sets its connection's ``index`` to -1.
    """

    def __init__(
        self,
        wires: list[bytes],
        origin: _Origin,
        *,
        concurrency: int,
        ssl_context: ssl.SSLContext | None,
        timeout: float,
        ok_statuses: frozenset[int],
        on_response: ResponseHook | None,
    ) -> None:
        self.loop = asyncio.get_running_loop()
        self.wires = wires
        self.origin = origin
        self.ssl = ssl_context if origin.tls else None
        self.timeout = timeout
        self.ok = ok_statuses
        self.on_response = on_response
        self.protocol = _BodyConnection if on_response is not None else _Connection
        self.outcome = Outcome(concurrency=concurrency)
        self.slots: list[_Connection | None] = [None] * concurrency
        self.opening: set[int] = set()
        self.tasks: set[asyncio.Task[None]] = set()
        self.connections: list[_Connection] = []
        self.next = self.stop = self.resolved = self.expected = 0
        self.measured = False
        self.done: asyncio.Future[None] | None = None
        self.sweeper: asyncio.TimerHandle | None = None
        self.last_error: BaseException | None = None
        #: Set once the run ends early (a hook raised) or closes: nothing new is sent.
        self.stopping = False

    async def go(self, warmup: int, on_start: Callable[[], None] | None) -> Outcome:
        opened = await asyncio.gather(*(self.open(slot) for slot in range(len(self.slots))))
        if not any(opened):
            where = f"{self.origin.host}:{self.origin.port}"
            raise ConnectionError(f"cannot connect to {where}: {self.last_error}")
        self.sweeper = self.loop.call_later(self.tick, self.sweep)
        try:
            await self.phase(0, min(warmup, len(self.wires)), measured=False)
            if on_start is not None:
                on_start()
            cpu0, t0 = _cpu(), time.perf_counter()
            await self.phase(min(warmup, len(self.wires)), len(self.wires), measured=True)
            self.outcome.seconds = time.perf_counter() - t0
            self.outcome.cpu_seconds = _cpu() - cpu0
        finally:
            self.sweeper.cancel()
            await self.close()
        return self.outcome

    # -- phases

    async def phase(self, start: int, stop: int, *, measured: bool) -> None:
        self.next, self.stop, self.measured = start, stop, measured
        self.resolved, self.expected = 0, stop - start
        if not self.expected:
            return
        self.done = self.loop.create_future()
        for slot, conn in enumerate(self.slots):
            if conn is not None:
                self.take(conn)
            else:
                self.reopen(slot)
        await self.done

    def take(self, conn: _Connection) -> None:
        """Give an idle connection the next request, if any is left."""
        i = self.next
        if i < self.stop and not self.stopping:
            self.next = i + 1
            conn.send(i, self.wires[i])

    def record(self, index: int, status: int, latency_s: float, body: bytes) -> None:
        if self.measured:
            outcome = self.outcome
            outcome.requests += 1
            outcome.latencies_ms.append(latency_s * 1000)
            outcome.statuses[status] = outcome.statuses.get(status, 0) + 1
            if status not in self.ok:
                outcome.errors += 1
        if self.on_response is not None:
            try:
                self.on_response(index, status, body)
            except Exception as e:
                self.crash(e)
        self.resolved += 1
        if self.resolved == self.expected and self.done is not None and not self.done.done():
            self.done.set_result(None)

    def crash(self, error: BaseException) -> None:
        """End the phase with ``error`` (a response hook raised): ``run`` re-raises it."""
        self.stopping = True
        if self.done is not None and not self.done.done():
            self.done.set_exception(error)

    # -- what a connection reports

    def answered(self, conn: _Connection, status: int, body: bytes) -> None:
        index, conn.index = conn.index, -1
        self.record(index, status, time.perf_counter() - conn.started, body)
        if conn.keep_alive:
            self.take(conn)
        else:
            self.retire(conn, abort=False)

    def failed(self, conn: _Connection) -> None:
        """The request in flight failed (timeout, malformed answer): drop the connection."""
        if conn.index >= 0:
            index, conn.index = conn.index, -1
            self.record(index, 0, time.perf_counter() - conn.started, b"")
        self.retire(conn, abort=True)

    def lost(self, conn: _Connection) -> None:
        if conn.index >= 0:
            index, conn.index = conn.index, -1
            self.record(index, 0, time.perf_counter() - conn.started, b"")
        if self.slots[conn.slot] is conn:
            self.slots[conn.slot] = None
            self.reopen(conn.slot)

    def retire(self, conn: _Connection, *, abort: bool) -> None:
        if self.slots[conn.slot] is conn:
            self.slots[conn.slot] = None
            self.reopen(conn.slot)
        if abort:
            conn.transport.abort()
        else:
            conn.transport.close()

    # -- connections

    async def open(self, slot: int) -> bool:
        host, port = self.origin.host, self.origin.port
        try:
            _, conn = await asyncio.wait_for(
                self.loop.create_connection(
                    lambda: self.protocol(self, slot),
                    host,
                    port,
                    ssl=self.ssl,
                    server_hostname=host if self.ssl is not None else None,
                ),
                self.timeout,
            )
        except (OSError, TimeoutError) as e:  # ssl.SSLError is an OSError
            self.last_error = e
            return False
        self.outcome.connections += 1
        self.connections.append(conn)
        if self.stopping:  # opened while the run ended: not to be used, closed with the rest
            return False
        self.slots[slot] = conn
        return True

    def reopen(self, slot: int) -> None:
        """Reconnect a worker in the background while its phase has requests left."""
        if self.next >= self.stop or slot in self.opening or self.stopping:
            return
        self.opening.add(slot)
        task = self.loop.create_task(self.keep_busy(slot))
        self.tasks.add(task)
        task.add_done_callback(self.tasks.discard)

    async def keep_busy(self, slot: int) -> None:
        try:
            while self.next < self.stop:
                started = time.perf_counter()
                if await self.open(slot):
                    conn = self.slots[slot]
                    if conn is not None:
                        self.take(conn)
                    return
                if self.next >= self.stop or self.stopping:
                    return  # the others took the last requests while this one connected
                # No connection: the worker's next request fails rather than wait for one.
                i, self.next = self.next, self.next + 1
                self.record(i, 0, time.perf_counter() - started, b"")
        except Exception as e:  # nobody awaits this task: end the run rather than hang it
            self.crash(e)
        finally:
            self.opening.discard(slot)

    @property
    def tick(self) -> float:
        return min(max(self.timeout / 10, 0.01), 1.0)

    def sweep(self) -> None:
        """Fail every request older than ``timeout``; called every ``tick`` seconds."""
        oldest = time.perf_counter() - self.timeout
        for conn in self.slots:
            if conn is not None and conn.index >= 0 and conn.started < oldest:
                self.failed(conn)
        self.sweeper = self.loop.call_later(self.tick, self.sweep)

    async def close(self) -> None:
        self.stopping = True
        for task in list(self.tasks):
            task.cancel()
        await asyncio.gather(*self.tasks, return_exceptions=True)
        for conn in self.connections:
            if not conn.gone.done():
                conn.transport.close()
        pending = [conn.gone for conn in self.connections if not conn.gone.done()]
        if pending:
            await asyncio.wait(pending, timeout=1.0)
        for conn in self.connections:
            if not conn.gone.done():
                conn.transport.abort()


async def run(
    requests: Sequence[Prepared],
    *,
    concurrency: int,
    ssl_context: ssl.SSLContext,
    warmup: int = 0,
    ok_statuses: frozenset[int] = frozenset({200}),
    on_start: Callable[[], None] | None = None,
    timeout: float = 30.0,
    on_response: ResponseHook | None = None,
) -> Outcome:
    """Send every request (the first ``warmup`` unmeasured), ``concurrency`` at a time.

    All requests go to one origin (scheme, host, port), over ``concurrency`` keep-alive
    connections opened before the first request. ``on_start`` is called between the
    warm-up and the measured part (from the generator's thread when the caller's loop is not
    uvloop). A request unanswered after ``timeout`` seconds counts as status 0.
    ``on_response`` sees every answer, warm-up included, with its body; it costs a copy of
    each body, so leave it out when measuring.
    """
    if concurrency < 1:
        raise ValueError("concurrency must be at least 1")
    serialized = [serialize(r) for r in requests]
    origins = {origin for origin, _ in serialized}
    if len(origins) > 1:
        raise ValueError(f"one origin (scheme, host, port) per run, got {len(origins)}")
    if not origins:
        return Outcome(concurrency=concurrency)
    (origin,) = origins
    wires = [wire for _, wire in serialized]

    async def go() -> Outcome:
        state = _Run(
            wires,
            origin,
            concurrency=concurrency,
            ssl_context=ssl_context,
            timeout=timeout,
            ok_statuses=ok_statuses,
            on_response=on_response,
        )
        return await state.go(warmup, on_start)

    if isinstance(asyncio.get_running_loop(), uvloop.Loop):
        return await go()
    return await asyncio.to_thread(uvloop.run, go())


# -- the reference: aiohttp --------------------------------------------------------------------


async def run_aiohttp(
    requests: Sequence[Prepared],
    *,
    concurrency: int,
    ssl_context: ssl.SSLContext,
    warmup: int = 0,
    ok_statuses: frozenset[int] = frozenset({200}),
    on_start: Callable[[], None] | None = None,
) -> Outcome:
    """The same job on aiohttp (the generator's previous engine), for comparison only."""
    import aiohttp

    connector = aiohttp.TCPConnector(ssl=ssl_context, limit=concurrency, keepalive_timeout=60)
    outcome = Outcome(concurrency=concurrency)
    async with aiohttp.ClientSession(
        connector=connector, skip_auto_headers=("User-Agent",), auto_decompress=False
    ) as session:
        queue = list(reversed(requests))

        async def one(req: Prepared, measured: bool) -> None:
            started = time.perf_counter()
            try:
                async with session.request(
                    req.method, req.url, headers=req.headers, data=req.body or None
                ) as resp:
                    await resp.read()
                    status = resp.status
            except (aiohttp.ClientError, TimeoutError):
                status = 0
            if measured:
                outcome.latencies_ms.append((time.perf_counter() - started) * 1000)
                outcome.statuses[status] = outcome.statuses.get(status, 0) + 1
                outcome.requests += 1
                if status not in ok_statuses:
                    outcome.errors += 1

        async def worker(measured: bool, budget: list[int]) -> None:
            while queue and budget[0] > 0:
                budget[0] -= 1
                await one(queue.pop(), measured)

        budget = [min(warmup, len(queue))]
        await asyncio.gather(*(worker(False, budget) for _ in range(concurrency)))
        if on_start is not None:
            on_start()
        cpu0, t0 = _cpu(), time.perf_counter()
        budget = [len(queue)]
        await asyncio.gather(*(worker(True, budget) for _ in range(concurrency)))
        outcome.seconds = time.perf_counter() - t0
        outcome.cpu_seconds = _cpu() - cpu0
    outcome.connections = concurrency  # at most: aiohttp does not say how many it opened
    return outcome


# -- python -m bench.load: both generators against a minimal provider ---------------------------

#: A minimal mTLS provider (uvicorn, the dev PKI's population server certificate) answering
#: every request with a small JSON body, with Content-Length (as FastAPI answers) or chunked,
#: after an optional wait (a slower service, without the CPU one would cost).
PROVIDER = """
import asyncio, json, sys, uvicorn
from core.tls import uvicorn_tls_options
from pathlib import Path
body = json.dumps({"full_name": "Nguyễn Văn An", "date_of_birth": "1990-01-01"}).encode()
headers = [(b"content-type", b"application/json")]
if sys.argv[3] == "length":
    headers.append((b"content-length", str(len(body)).encode()))
delay = float(sys.argv[4])
async def app(scope, receive, send):
    if scope["type"] != "http":
        return
    if delay:
        await asyncio.sleep(delay)
    await send({"type": "http.response.start", "status": 200, "headers": headers})
    await send({"type": "http.response.body", "body": body})
pki = Path(sys.argv[1])
uvicorn.run(app, host="127.0.0.1", port=int(sys.argv[2]), log_level="warning",
            timeout_keep_alive=60,
            **uvicorn_tls_options(cert=pki / "servers/population.crt",
                                  key=pki / "servers/population.key", ca=pki / "ca.crt"))
"""

Engine = Callable[..., Any]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _wait_listening(port: int, provider: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + 30
    while True:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            return
        except OSError:
            if provider.poll() is not None or time.monotonic() > deadline:
                raise
            time.sleep(0.1)


def compare(
    concurrency: Annotated[
        int, typer.Option(help="Requests in flight (one connection each).")
    ] = 64,
    requests: Annotated[
        int, typer.Option(help="Measured requests per generator and round.")
    ] = 20_000,
    warmup: Annotated[
        int, typer.Option(help="Unmeasured requests before each measurement.")
    ] = 1_000,
    rounds: Annotated[
        int, typer.Option(min=1, help="Rounds (alternating order); medians shown.")
    ] = 3,
    chunked: Annotated[bool, typer.Option(help="The provider answers chunked.")] = False,
    answer_ms: Annotated[
        float, typer.Option(help="The provider waits this long before answering.")
    ] = 0.0,
) -> None:
    """Run this generator and aiohttp against one minimal mTLS provider; print rps and CPU."""
    from bench.stack import cpu_seconds
    from certs.authority import Authority
    from certs.dev import GATEWAY_ID, ensure_dev_pki
    from core.tls import client_context

    engines: dict[str, Engine] = {"lean": run, "aiohttp": run_aiohttp}
    figures: dict[str, list[tuple[float, float, float]]] = {name: [] for name in engines}
    with tempfile.TemporaryDirectory() as tmp:
        pki = Path(tmp) / "pki"
        ensure_dev_pki(pki)
        authority = Authority(pki)
        cert, key = authority.member_paths(GATEWAY_ID)
        ctx = client_context(ca=authority.ca_cert_path, cert=cert, key=key)
        port = _free_port()
        env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[1])}
        framing = "chunked" if chunked else "length"
        provider = subprocess.Popen(
            [sys.executable, "-c", PROVIDER, str(pki), str(port), framing, str(answer_ms / 1000)],
            env=env,
        )
        try:
            _wait_listening(port, provider)
            url = f"https://127.0.0.1:{port}/persons/"
            headers = {"X-Road-Client": "VN/GOV/000000001/one-stop", "Accept": "application/json"}
            batch = [Prepared("GET", f"{url}{i:012d}", headers) for i in range(warmup + requests)]
            print(
                f"{framing} answers after {answer_ms:g} ms, concurrency {concurrency}, "
                f"{requests:,} requests x{rounds}"
            )
            for r in range(rounds):
                order = list(engines) if r % 2 == 0 else list(reversed(engines))
                for name in order:
                    server0 = cpu_seconds(provider.pid)
                    outcome: Outcome = asyncio.run(
                        engines[name](
                            batch, concurrency=concurrency, ssl_context=ctx, warmup=warmup
                        )
                    )
                    server = (cpu_seconds(provider.pid) - server0) / (warmup + requests)
                    figures[name].append((outcome.rps, outcome.cpu_ms_per_req * 1000, server * 1e6))
                    print(
                        f"  round {r + 1} {name:8} {outcome.rps:7.0f} req/s   generator CPU "
                        f"{outcome.cpu_ms_per_req * 1000:5.0f} µs/req   provider CPU "
                        f"{server * 1e6:5.0f} µs/req   errors {outcome.errors}"
                    )
        finally:
            provider.terminate()
            provider.wait()
    medians = {
        name: tuple(statistics.median(run[k] for run in runs) for k in range(3))
        for name, runs in figures.items()
    }
    print("median:")
    for name, (rps, cpu, server) in medians.items():
        print(
            f"  {name:8} {rps:7.0f} req/s   generator CPU {cpu:5.0f} µs/req"
            f"   provider CPU {server:5.0f} µs/req"
        )
    print(f"aiohttp / lean generator CPU: {medians['aiohttp'][1] / medians['lean'][1]:.1f}x")


if __name__ == "__main__":
    typer.run(compare)
