"""Fixtures of the auditor tests: a log built as the gateway builds it, served in-process.

``log`` is a fresh ``FakeLog`` (tests/auditor/fakelog.py) per test: tamper with it freely.
``pinned``/``trust`` are the dev CA and the log's note key, as an auditor's ``--ca`` and
``--log-key`` files; ``audit_client`` calls the auditor API over ``httpx.ASGITransport``;
``served`` is the same API over real mutual TLS (for the command line).
"""

from __future__ import annotations

import contextlib
import datetime as dt
import shutil
import threading
import time
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
import uvicorn
from fastapi import FastAPI

from auditor.client import AuditClient
from auditor.verify import Trust
from core.tls import uvicorn_tls_options
from tests.auditor.fakelog import FakeLog, log_app
from tests.fixtures.pki import PkiFiles
from tests.stack.procs import free_ports

AUDITOR = "VN/GOV/KTNN/audit"


@dataclass(frozen=True)
class Pinned:
    """The files an auditor pins: the CA certificate and the log's verifier key."""

    ca: Path
    log_key: Path

    def trust(self) -> Trust:
        return Trust.load(ca=self.ca, log_key=self.log_key)


@pytest.fixture
def log(pki_files: PkiFiles) -> FakeLog:
    """A log of 40 exchanges with refusals and a grant, checkpointed every 20 records."""
    fake = FakeLog.create(pki_files)
    fake.fill(40, checkpoint_every=20)
    fake.checkpoint()
    return fake


@pytest.fixture
def pinned(tmp_path: Path, pki_files: PkiFiles, log: FakeLog) -> Pinned:
    directory = tmp_path / "pinned"
    directory.mkdir()
    ca = directory / "ca.crt"
    shutil.copyfile(pki_files.ca_path, ca)
    return Pinned(ca, log.write_vkey(directory))


@pytest.fixture
def trust(pinned: Pinned) -> Trust:
    return pinned.trust()


@pytest.fixture
def now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def client_for(log: FakeLog) -> AuditClient:
    transport = httpx.ASGITransport(app=log_app(log))
    return AuditClient(httpx.AsyncClient(transport=transport, base_url="https://gateway.test"))


@pytest.fixture
async def audit_client(log: FakeLog) -> AsyncIterator[AuditClient]:
    async with client_for(log) as client:
        yield client


@contextlib.contextmanager
def serve_tls(app: FastAPI, pki: PkiFiles) -> Iterator[str]:
    """Serve ``app`` over mutual TLS on a free port (the gateway's server certificate), in a
    thread; yields the base URL."""
    (port,) = free_ports(1)
    cert, key = pki.server_paths("gateway")
    config = uvicorn.Config(
        app,
        host="127.0.0.1",
        port=port,
        log_config=None,
        access_log=False,
        lifespan="off",
        **uvicorn_tls_options(cert=cert, key=key, ca=pki.ca_path),
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, name="audit-api", daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        assert thread.is_alive() and time.monotonic() < deadline, "the API did not start"
        time.sleep(0.01)
    try:
        yield f"https://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(10)


@pytest.fixture
def served(log: FakeLog, pki_files: PkiFiles) -> Iterator[str]:
    """``log``'s auditor API over real mTLS, answering the auditor identity only."""
    with serve_tls(log_app(log, auditor=pki_files.certificate(AUDITOR)), pki_files) as url:
        yield url
