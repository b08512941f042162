"""Fixtures shared by the whole suite. Per-part fixtures live beside their tests."""

from __future__ import annotations

import pytest


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


# Fixtures that several test packages use live in tests/fixtures/ and load as plugins.
pytest_plugins = ["tests.fixtures.postgres"]
