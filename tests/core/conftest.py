"""Fixtures of the core kit's PKI, signing and TLS tests (views from ``tests/certs/pki_world``).

``pki`` is the session's dev PKI of ``tests/fixtures/pki.py`` (never changed); a test that
revokes or re-issues takes ``fresh_pki``, a PKI of its own.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.certs.pki_world import DevPki, ForeignCa, dev_pki_at, make_dev_pki, utc_now


@pytest.fixture(scope="session")
def pki(dev_pki_root: Path) -> DevPki:
    """The session's dev PKI (read only)."""
    return dev_pki_at(dev_pki_root)


@pytest.fixture
def fresh_pki(tmp_path_factory: pytest.TempPathFactory) -> DevPki:
    """A dev PKI of this test's own, to revoke and re-issue in."""
    return make_dev_pki(tmp_path_factory.mktemp("pki") / "pki", now=utc_now())


@pytest.fixture(scope="session")
def foreign_ca() -> ForeignCa:
    """A CA with our CA's name that nobody trusts."""
    return ForeignCa.create(now=utc_now())
