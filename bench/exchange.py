"""The exchange scenarios (direct, gateway, latency) against a running bench stack.

Requests are built and signed before the clock starts (``bench.gateway``), sent by the load
generator (``bench.load``) over keep-alive mTLS, and each service's CPU time is read from
``/proc`` around the measured part, so every figure comes with the CPU it cost per request.
"""

from __future__ import annotations

import asyncio
import random
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from sqlalchemy import select

from bench import gateway as reqs
from bench import load
from bench.stack import BenchStack
from certs.dev import GATEWAY_ID
from core.db import make_engine

#: The processes whose CPU time is reported per request (the load generator is added).
PROCESSES = ("gateway", "population")


def sample_ids(var_dir: Path, n: int, seed: int = 5) -> list[str]:
    """``n`` personal ids of living persons from the seeded register (repeats allowed)."""
    from registries.population.models import Person

    engine = make_engine(f"sqlite:///{var_dir / 'db' / 'population.sqlite3'}")
    try:
        with engine.connect() as conn:
            living = select(Person.personal_id).where(Person.date_of_death.is_(None))
            ids = [str(v) for v in conn.execute(living.limit(50_000)).scalars()]
    finally:
        engine.dispose()
    rng = random.Random(seed)
    return [rng.choice(ids) for _ in range(n)]


def figures(outcome: load.Outcome, cpu: dict[str, float]) -> dict[str, Any]:
    """The JSON of one scenario: rps, latency percentiles, errors, CPU ms per request."""
    n = outcome.requests or 1
    return {
        "requests": outcome.requests,
        "concurrency": outcome.concurrency,
        "seconds": round(outcome.seconds, 3),
        "rps": round(outcome.rps, 1),
        "p50_ms": round(outcome.percentile(0.50), 3),
        "p95_ms": round(outcome.percentile(0.95), 3),
        "p99_ms": round(outcome.percentile(0.99), 3),
        "errors": outcome.errors,
        "statuses": {str(k): v for k, v in sorted(outcome.statuses.items())},
        "cpu_ms_per_req": {
            **{name: round(s * 1000 / n, 3) for name, s in cpu.items()},
            "load-generator": round(outcome.cpu_ms_per_req, 3),
        },
    }


def _measure(
    stack: BenchStack,
    requests: list[load.Prepared],
    ctx: Any,
    *,
    concurrency: int,
    warmup: int,
) -> dict[str, Any]:
    before: dict[str, float] = {}

    def started() -> None:
        before.update(stack.cpu(PROCESSES))

    outcome = asyncio.run(
        load.run(
            requests, concurrency=concurrency, ssl_context=ctx, warmup=warmup, on_start=started
        )
    )
    after = stack.cpu(PROCESSES)
    return figures(outcome, {k: after[k] - before[k] for k in PROCESSES})


def direct(
    stack: BenchStack, ids: Sequence[str], *, concurrency: int, warmup: int
) -> dict[str, Any]:
    """The population registry called straight, with the gateway's certificate."""
    requests = reqs.direct_requests(stack.pki, stack.url("population"), ids)
    ctx = reqs.member_context(stack.pki, GATEWAY_ID)
    return _measure(stack, requests, ctx, concurrency=concurrency, warmup=warmup)


def through_gateway(
    stack: BenchStack, ids: Sequence[str], *, concurrency: int, warmup: int
) -> dict[str, Any]:
    """The same lookups through the gateway, signed by the one-stop portal."""
    requests = reqs.gateway_requests(stack.pki, stack.url("gateway"), ids)
    ctx = reqs.member_context(stack.pki, reqs.ONE_STOP)
    return _measure(stack, requests, ctx, concurrency=concurrency, warmup=warmup)
