"""The forwarding hop alone: aiohttp vs httpx vs our lean client as the gateway's mTLS client.

``python -m bench.forwarding`` starts a minimal provider (uvicorn, mTLS with the dev PKI, a
small JSON answer) in a subprocess, then drives it from this process with each client at the
same concurrency over keep-alive connections, and prints requests/s and the client's CPU
time per request. Only the client differs, so the ratio between them is what matters on a
shared machine. ``lean`` is ``gateway.forwarder.LeanForwarder`` (HTTP/1.1 spoken directly on
an ``asyncio.Protocol``, ADR 0005's successor candidate), called through the gateway's
``Forwarder.send`` exactly as the exchange calls it. ``--loop uvloop`` runs every client on
uvloop, the gateway's loop.
"""

from __future__ import annotations

import asyncio
import os
import resource
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Annotated

import typer
import uvloop

from certs.authority import Authority
from certs.dev import GATEWAY_ID, ensure_dev_pki
from core.tls import client_context

PROVIDER = """
import json, sys, uvicorn
from core.tls import uvicorn_tls_options
from pathlib import Path
body = json.dumps({"full_name": "Nguyễn Văn An", "date_of_birth": "1990-01-01"}).encode()
async def app(scope, receive, send):
    if scope["type"] != "http":
        return
    await send({"type": "http.response.start", "status": 200,
                "headers": [(b"content-type", b"application/json")]})
    await send({"type": "http.response.body", "body": body})
pki = Path(sys.argv[1])
uvicorn.run(app, host="127.0.0.1", port=int(sys.argv[2]), log_level="warning",
            **uvicorn_tls_options(cert=pki / "servers/population.crt",
                                  key=pki / "servers/population.key", ca=pki / "ca.crt"))
"""


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _cpu() -> float:
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime


async def _drive(
    call: Callable[[], Awaitable[None]], *, concurrency: int, seconds: float
) -> tuple[int, float, float]:
    for _ in range(50):  # warm-up: connections and TLS sessions
        await call()
    done = 0
    stop = time.perf_counter() + seconds

    async def worker() -> None:
        nonlocal done
        while time.perf_counter() < stop:
            await call()
            done += 1

    cpu0, t0 = _cpu(), time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(concurrency)))
    return done, time.perf_counter() - t0, _cpu() - cpu0


async def _aiohttp(
    url: str, pki: Path, concurrency: int, seconds: float
) -> tuple[int, float, float]:
    import aiohttp

    auth = Authority(pki)
    cert, key = auth.member_paths(GATEWAY_ID)
    ctx = client_context(ca=auth.ca_cert_path, cert=cert, key=key)
    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(ssl=ctx, limit=256)) as s:

        async def call() -> None:
            async with s.get(url) as r:
                await r.read()

        return await _drive(call, concurrency=concurrency, seconds=seconds)


async def _httpx(url: str, pki: Path, concurrency: int, seconds: float) -> tuple[int, float, float]:
    import httpx

    auth = Authority(pki)
    cert, key = auth.member_paths(GATEWAY_ID)
    ctx = client_context(ca=auth.ca_cert_path, cert=cert, key=key)
    limits = httpx.Limits(max_connections=256, max_keepalive_connections=256)
    async with httpx.AsyncClient(verify=ctx, limits=limits, trust_env=False) as c:

        async def call() -> None:
            r = await c.get(url)
            r.read()

        return await _drive(call, concurrency=concurrency, seconds=seconds)


async def _lean(url: str, pki: Path, concurrency: int, seconds: float) -> tuple[int, float, float]:
    from gateway.forwarder import LeanForwarder

    auth = Authority(pki)
    cert, key = auth.member_paths(GATEWAY_ID)
    forwarder = LeanForwarder(client_context(ca=auth.ca_cert_path, cert=cert, key=key))
    headers = {"X-Road-Client": "VN/GOV/000000001/one-stop"}
    try:

        async def call() -> None:
            await forwarder.send("GET", url, headers, b"", 10.0)

        return await _drive(call, concurrency=concurrency, seconds=seconds)
    finally:
        await forwarder.close()


def main(
    concurrency: Annotated[int, typer.Option(help="Requests in flight.")] = 32,
    seconds: Annotated[float, typer.Option(help="Measured seconds per client.")] = 5.0,
    loop: Annotated[str, typer.Option(help="Event loop: asyncio or uvloop.")] = "asyncio",
) -> None:
    """Measure both clients against one provider and print the figures."""
    with tempfile.TemporaryDirectory() as tmp:
        pki = Path(tmp) / "pki"
        ensure_dev_pki(pki)
        port = _free_port()
        env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[1])}
        provider = subprocess.Popen([sys.executable, "-c", PROVIDER, str(pki), str(port)], env=env)
        try:
            url = f"https://127.0.0.1:{port}/persons/1"
            deadline = time.monotonic() + 20
            while True:
                try:
                    socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
                    break
                except OSError:
                    if time.monotonic() > deadline:
                        raise
                    time.sleep(0.1)
            runners = (("aiohttp", _aiohttp), ("httpx", _httpx), ("lean", _lean))
            for name, runner in runners:
                coro = runner(url, pki, concurrency, seconds)
                n, wall, cpu = uvloop.run(coro) if loop == "uvloop" else asyncio.run(coro)
                print(
                    f"{name:8} {n / wall:8.0f} req/s   client CPU {cpu / n * 1e6:6.0f} µs/req"
                    f"   ({n} requests, concurrency {concurrency})"
                )
        finally:
            provider.terminate()
            provider.wait()


if __name__ == "__main__":
    typer.run(main)
