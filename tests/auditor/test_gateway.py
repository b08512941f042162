"""The auditor against the real gateway (in process): its log verifies, a byte changed in its
records table is named, and its bundles check with the documented openssl commands.

The auditor connects with its member certificate as the TLS peer (``exchange.member``) and
pins the dev CA and the log's ``note.vkey``; it imports nothing from ``gateway/`` (the test
does, to tamper with the database the way an intruder would).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path

import httpx
import pytest
from sqlalchemy import select, update

from auditor.bundle import check_bundle, extract_bundle, make_bundle
from auditor.client import AuditClient
from auditor.runner import Report, verify_log
from auditor.verify import Trust
from certs.dev import AUDITOR_ID
from core.timestamp import QUERY_CONTENT_TYPE, timestamp_request, token_from_reply
from gateway.log import Checkpointer
from gateway.models import exchange_record
from stack.tsa.app import create_app as create_tsa_app
from stack.tsa.settings import TsaSettings
from tests.auditor.test_bundle import doc_block, run_sh
from tests.fixtures.gateway import BuildExchange, InProcessExchange
from tests.fixtures.pki import PkiFiles
from tests.fixtures.world import LinkedWorld
from tests.gateway.support import BANK_KYC, PERSONS, Gateway

pytestmark = pytest.mark.anyio

Timestamper = Callable[[bytes], Awaitable[bytes]]


@pytest.fixture
async def timestamper(dev_pki: Path) -> AsyncIterator[Timestamper]:
    """The dev TSA, in process."""
    app = create_tsa_app(TsaSettings(pki_dir=dev_pki, access_log=False, environment="test"))
    transport = httpx.ASGITransport(app=app)
    async with (
        app.router.lifespan_context(app),
        httpx.AsyncClient(transport=transport, base_url="http://tsa.test") as client,
    ):

        async def stamp(data: bytes) -> bytes:
            headers = {"Content-Type": QUERY_CONTENT_TYPE}
            r = await client.post("/", content=timestamp_request(data), headers=headers)
            return token_from_reply(r.content)

        yield stamp


@pytest.fixture
async def gw(
    build_exchange: BuildExchange, timestamper: Timestamper, pki_files: PkiFiles
) -> Gateway:
    return Gateway(await build_exchange(timestamper=timestamper), pki_files)


@pytest.fixture
def pid(linked_world: LinkedWorld) -> str:
    return next(p for p in linked_world.population.people if p.date_of_death is None).personal_id


@pytest.fixture
def trust(dev_pki: Path) -> Trust:
    """What the auditor pins: the dev CA and the log's verifier key."""
    return Trust.load(ca=dev_pki / "ca.crt", log_key=dev_pki / "log" / "note.vkey")


async def tick(ex: InProcessExchange) -> None:
    checkpointer: Checkpointer = ex.gateway.state.checkpointer
    assert await checkpointer.tick() is not None


async def traffic(gw: Gateway, pid: str) -> str:
    """Answered, refused after and before the signature held, a registry's 404; two
    checkpoints. Returns the answered exchange's X-Road-Id."""
    answered = await gw.request(path=f"{PERSONS}/{pid}")
    assert answered.status == 200
    assert (await gw.request(path=f"{PERSONS}/{pid}", purpose=BANK_KYC)).status == 403
    await tick(gw.ex)
    gw.clock.advance(2)
    assert (await gw.request(path=f"{PERSONS}/{pid}", sign=False)).status == 401
    assert (await gw.request(path=f"{PERSONS}/001090999999")).status == 404
    await tick(gw.ex)
    return answered.headers["x-road-id"]


async def audit(gw: Gateway, trust: Trust) -> Report:
    client = AuditClient(gw.ex.member(AUDITOR_ID).http)
    return await verify_log(client, trust, now=dt.datetime.now(dt.UTC))


async def test_real_gateway_log_verifies(gw: Gateway, pid: str, trust: Trust) -> None:
    await traffic(gw, pid)
    report = await audit(gw, trust)
    assert report.ok, report.problems
    assert (report.records, report.checkpoints, report.pending_timestamps) == (6, 2, 0)
    assert report.signatures == 5  # 2 accepted, 1 refused after its signature held, 2 answers


async def test_byte_changed_in_the_records_table_is_named(
    gw: Gateway, pid: str, trust: Trust
) -> None:
    await traffic(gw, pid)
    seq = 4  # the second accepted query (a registry 404), under the second checkpoint
    with gw.ex.gateway.state.engine.begin() as conn:
        raw = bytearray(
            conn.execute(
                select(exchange_record.c.record).where(exchange_record.c.seq == seq)
            ).scalar_one()
        )
        at = raw.index(b'"subject":"') + 12
        raw[at] = ord("0") if raw[at] != ord("0") else ord("1")
        conn.execute(
            update(exchange_record).where(exchange_record.c.seq == seq).values(record=bytes(raw))
        )
    report = await audit(gw, trust)
    assert report.first is not None
    assert str(report.first).startswith(f"index {seq}: the record is not the one checkpoint ")


async def test_real_bundle_checks_offline_and_with_openssl(
    gw: Gateway, pid: str, trust: Trust, tmp_path: Path
) -> None:
    x_road_id = await traffic(gw, pid)
    client = AuditClient(gw.ex.member(AUDITOR_ID).http)
    bundle = make_bundle(await client.exchange(x_road_id), trust=trust)
    report = check_bundle(bundle, trust, now=dt.datetime.now(dt.UTC))
    assert report.ok, report.problems
    assert [kind for _, kind in report.records] == ["accepted", "answered"]
    extract_bundle(bundle, tmp_path, trust)
    result = run_sh(doc_block("sh audit-openssl"), tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "Verification: OK" in result.stdout
