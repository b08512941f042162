"""Fixtures shared by the whole suite. Per-part fixtures live beside their tests."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator

import httpx
import pytest
from fastapi import FastAPI
from hypothesis import HealthCheck, settings

# Property tests check behaviour, never speed (speed is bench/'s job): no per-example
# deadline and no "too slow" health check, both wall-clock checks that fail on a busy
# 2-core machine. In CI the examples are derandomized, so a run is reproducible.
settings.register_profile(
    "lienthong",
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
    derandomize=bool(os.environ.get("CI")),
)
settings.load_profile("lienthong")


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture
async def client(app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    """An in-process HTTP client of the ``app`` fixture the test's package defines."""
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as c:
        yield c


# Fixtures that several test packages use live in tests/fixtures/ and load as plugins.
pytest_plugins = [
    "tests.fixtures.postgres",
    "tests.fixtures.pki",
    "tests.fixtures.world",
    "tests.fixtures.gateway",
    "tests.stack.running",
]
