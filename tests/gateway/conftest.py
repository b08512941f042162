"""Fixtures of the gateway tests: in-process exchanges with settings of the test's choosing.

``exchange`` and ``build_exchange(**settings)`` come from tests/fixtures/gateway.py; the
latter serves the tests that need a tiny rate limit, a short provider timeout or a revoked
certificate. ``gw`` drives the dev exchange byte by byte.
"""

from __future__ import annotations

import pytest

from tests.fixtures.gateway import InProcessExchange
from tests.fixtures.pki import PkiFiles
from tests.gateway.support import Gateway


@pytest.fixture
def gw(exchange: InProcessExchange, pki_files: PkiFiles) -> Gateway:
    """The dev exchange, driven byte by byte."""
    return Gateway(exchange, pki_files)
