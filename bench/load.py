"""A small, fast HTTP load generator: pre-built requests, N in flight, latencies kept.

Requests are built (and, for the gateway, signed) before the clock starts, so the generator
spends its time sending, not signing; it runs on aiohttp over keep-alive mTLS connections and
reports its own CPU time so a reader can see it was not the bottleneck.
"""

from __future__ import annotations

import asyncio
import resource
import ssl
import time
from collections.abc import Sequence
from dataclasses import dataclass, field

import aiohttp


@dataclass(frozen=True)
class Prepared:
    method: str
    url: str
    headers: dict[str, str]
    body: bytes = b""


@dataclass
class Outcome:
    requests: int = 0
    errors: int = 0
    seconds: float = 0.0
    cpu_seconds: float = 0.0
    latencies_ms: list[float] = field(default_factory=list)
    statuses: dict[int, int] = field(default_factory=dict)

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


async def run(
    requests: Sequence[Prepared],
    *,
    concurrency: int,
    ssl_context: ssl.SSLContext,
    warmup: int = 0,
    ok_statuses: frozenset[int] = frozenset({200}),
) -> Outcome:
    """Send every request (the first ``warmup`` unmeasured), ``concurrency`` at a time."""
    connector = aiohttp.TCPConnector(ssl=ssl_context, limit=concurrency, keepalive_timeout=60)
    outcome = Outcome()
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

        if warmup:
            await asyncio.gather(*(worker(False, [warmup]) for _ in range(1)))
            budget = [warmup]
            await asyncio.gather(*(worker(False, budget) for _ in range(concurrency)))
        cpu0, t0 = _cpu(), time.perf_counter()
        budget = [len(queue)]
        await asyncio.gather(*(worker(True, budget) for _ in range(concurrency)))
        outcome.seconds = time.perf_counter() - t0
        outcome.cpu_seconds = _cpu() - cpu0
    return outcome
