"""Fixtures shared by the whole suite. Per-part fixtures live beside their tests."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest
from fastapi import FastAPI


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
pytest_plugins = ["tests.fixtures.postgres"]
