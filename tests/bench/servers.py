"""The servers ``tests/bench/test_load.py`` drives the load generator against, both mTLS.

- ``python -m tests.bench.servers PKI PORT``: uvicorn (the stack's TLS options and HTTP
  protocol) serving ``app``, a real server run in a subprocess as the stack runs services.
- ``RawServer``: a TLS server in a thread of the test process that writes answers byte for
  byte, for what uvicorn never does: drop a connection without answering, end a body by
  closing, send ``100 Continue`` first, answer garbage, trickle an answer a byte at a time.

``app`` routes (any method):

- ``/echo/...``: 200, JSON of the method, path, query, body and the client's port
  (which connection the request came on);
- ``/status/<code>``: that status, body ``status <code>``;
- ``/chunked/<n>``: 200 in ``n`` body messages (uvicorn sends it chunked):
  ``part-0;part-1;…``;
- ``/close``: 200 with ``Connection: close``, body ``closing``;
- ``/slow``: answers when the client goes away, or after a minute (a request the
  generator times out).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import socket
import subprocess
import sys
import threading
from collections.abc import Awaitable, Callable, Iterator, MutableMapping
from pathlib import Path
from typing import Any, Self

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]


async def app(
    scope: Scope,
    receive: Callable[[], Awaitable[Message]],
    send: Callable[[Message], Awaitable[None]],
) -> None:
    if scope["type"] != "http":
        return
    body, more = b"", True
    while more:
        message = await receive()
        body += message.get("body", b"")
        more = message.get("more_body", False)
    path: str = scope["path"]
    status, headers, parts = 200, [(b"content-type", b"text/plain")], [b""]
    if path.startswith("/status/"):
        status = int(path.rsplit("/", 1)[1])
        parts = [f"status {status}".encode()]
    elif path.startswith("/chunked/"):
        parts = [f"part-{i};".encode() for i in range(int(path.rsplit("/", 1)[1]))]
    elif path == "/close":
        headers.append((b"connection", b"close"))
        parts = [b"closing"]
    elif path == "/slow":
        # Until the client gives up (uvicorn then reports a disconnect), a minute at most.
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(receive(), 60)
    else:
        answer = {
            "method": scope["method"],
            "path": path,
            "query": scope["query_string"].decode(),
            "body": body.decode(),
            "port": scope["client"][1],
        }
        parts = [json.dumps(answer).encode()]
    if not path.startswith("/chunked/"):
        headers.append((b"content-length", str(len(parts[0])).encode()))
    await send({"type": "http.response.start", "status": status, "headers": headers})
    for i, part in enumerate(parts):
        await send({"type": "http.response.body", "body": part, "more_body": i < len(parts) - 1})


#: What ``RawServer`` writes for a request path (``None``: close without answering).
RAW_ANSWERS: dict[str, list[bytes] | None] = {
    "/drop": None,
    "/eof": [b"HTTP/1.1 200 OK\r\ncontent-type: text/plain\r\n\r\nbody until close"],
    "/continue": [b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\nok"],
    "/garbage": [b"NOT HTTP AT ALL\r\n\r\n"],
    "/ok": [b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\nok"],
    # Chunk extensions and a trailer, one byte per write.
    "/trickle": [
        bytes([b])
        for b in b"HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n"
        b"5;ext=1\r\nhello\r\n6\r\n world\r\n0\r\nx-trailer: yes\r\n\r\n"
    ],
}


class ThreadedTlsServer:
    """A TLS server on 127.0.0.1 with an event loop in a thread of its own; a subclass
    answers each connection in ``_client`` and may tidy up at shutdown in ``_stopping``."""

    def __init__(self, ssl_context: Any) -> None:
        self.ssl_context = ssl_context
        self.loop = asyncio.new_event_loop()
        self.port = 0
        self.connections = 0
        self._ready = threading.Event()
        self._thread = threading.Thread(target=self._serve, daemon=True)

    def __enter__(self) -> Self:
        self._thread.start()
        self._ready.wait(10)
        return self

    def __exit__(self, *exc: object) -> None:
        self.loop.call_soon_threadsafe(self.loop.stop)
        self._thread.join(10)

    @property
    def url(self) -> str:
        return f"https://127.0.0.1:{self.port}"

    async def _client(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        raise NotImplementedError

    def _stopping(self, server: asyncio.Server) -> None:
        """Called on the server's loop once it stopped, before the loop closes."""
        self.loop.run_until_complete(server.wait_closed())

    def _serve(self) -> None:
        asyncio.set_event_loop(self.loop)
        server = self.loop.run_until_complete(
            asyncio.start_server(self._client, "127.0.0.1", 0, ssl=self.ssl_context)
        )
        self.port = server.sockets[0].getsockname()[1]
        self._ready.set()
        try:
            self.loop.run_forever()
        finally:
            server.close()
            self._stopping(server)
            self.loop.close()


class RawServer(ThreadedTlsServer):
    """A TLS server on 127.0.0.1 in a thread of its own, answering from ``RAW_ANSWERS``.

    Requests must have no body. After an answer the connection stays open for the next
    request, unless the answer ends by closing (``/eof``) or there was none (``/drop``).
    """

    async def _client(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.connections += 1
        try:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                path = head.split(b" ", 2)[1].decode()
                answer = RAW_ANSWERS[path.split("?", 1)[0]]
                if answer is None:
                    break
                for piece in answer:
                    writer.write(piece)
                    await writer.drain()
                if path == "/eof":
                    break
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        finally:
            writer.close()


def main() -> None:
    import uvicorn

    from core.tls import uvicorn_tls_options

    pki, port = Path(sys.argv[1]), int(sys.argv[2])
    uvicorn.run(
        app,
        host="127.0.0.1",
        port=port,
        log_level="warning",
        lifespan="off",
        timeout_graceful_shutdown=1,
        **uvicorn_tls_options(
            cert=pki / "servers/population.crt",
            key=pki / "servers/population.key",
            ca=pki / "ca.crt",
        ),
    )


@contextlib.contextmanager
def uvicorn_server(pki: Path) -> Iterator[str]:
    """This module's uvicorn server in a subprocess (population's certificate, mTLS):
    yields its base URL once it listens; stopped afterwards."""
    from tests.stack.procs import REPO, free_ports, wait_for

    (port,) = free_ports(1)
    proc = subprocess.Popen(
        [sys.executable, "-m", "tests.bench.servers", str(pki), str(port)], cwd=REPO
    )
    try:
        wait_for("the test server", lambda: _listening(port) or proc.poll() is not None, 30)
        if proc.poll() is not None:
            raise RuntimeError("the test server exited")
        yield f"https://127.0.0.1:{port}"
    finally:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def _listening(port: int) -> bool:
    try:
        socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
    except OSError:
        return False
    return True


if __name__ == "__main__":
    main()
