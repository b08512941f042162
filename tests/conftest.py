"""Fixtures shared by the whole suite. Per-part fixtures live beside their tests."""

from __future__ import annotations

import pytest


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"
