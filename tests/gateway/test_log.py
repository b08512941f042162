"""The gateway's evidence log: the stored tree is the tree of the records, checkpoints are
signed C2SP notes that stock openssl accepts, timestamps come from the RFC 3161 TSA, a TSA
outage fails closed after the grace period, start-up refuses a tampered log, and every
answer carries a signed log receipt.

Everything runs in process with real crypto: the exchange of ``tests/fixtures/gateway.py``
(the checkpointer does not run on its own there: tests call ``checkpointer.tick()``) and
the TSA app of ``stack/tsa`` behind an ``httpx.ASGITransport``. Each tree claim is checked
against ``core.merkle`` over the stored records, never against the gateway's own view.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import subprocess
import threading
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from fastapi import FastAPI
from sqlalchemy import delete, select, update
from sqlalchemy.engine import Connection

from certs.dev import GATEWAY_ID
from core import merkle
from core.checkpoint import open_checkpoint, openssl_verify_material
from core.db import make_engine
from core.pki import load_certificate
from core.signing import TYP_RECEIPT, verify
from core.timestamp import (
    QUERY_CONTENT_TYPE,
    TimestampUnavailable,
    timestamp_request,
    token_from_reply,
    verify_timestamp,
)
from gateway.app import create_app as create_gateway_app
from gateway.log import Checkpointer, LogCorrupted, LogStore, StoredCheckpoint
from gateway.models import checkpoint as checkpoint_table
from gateway.models import exchange_record, merkle_node, metadata
from gateway.records import Appended, PendingRecord, RecordWriter
from stack.tsa.app import create_app as create_tsa_app
from stack.tsa.settings import DEV_TSA_POLICY, TsaSettings
from tests.fixtures.gateway import BuildExchange, InProcessExchange
from tests.fixtures.pki import PkiFiles
from tests.fixtures.world import LinkedWorld
from tests.gateway.support import (
    BANK_KYC,
    KYC,
    PERSONS,
    POPULATION,
    POPULATION_URL,
    Gateway,
    Reply,
    citizen_token,
    response_fault,
)

pytestmark = pytest.mark.anyio

ORIGIN = "lienthong.local/evidence-log"
NOBODY = "001090999999"  # a well-formed personal id nobody has
GRACE = dt.timedelta(hours=4)  # tsa_grace_hours by default (X-Road's)


@pytest.fixture
def pid(linked_world: LinkedWorld) -> str:
    return next(p for p in linked_world.population.people if p.date_of_death is None).personal_id


# -- helpers ---------------------------------------------------------------------------------


def state(ex: InProcessExchange) -> Any:
    return ex.gateway.state


def log_of(ex: InProcessExchange) -> LogStore:
    log: LogStore = state(ex).log
    return log


def checkpointer_of(ex: InProcessExchange) -> Checkpointer:
    checkpointer: Checkpointer = state(ex).checkpointer
    return checkpointer


async def grant_consent(ex: InProcessExchange, pki: PkiFiles, pid: str) -> str:
    """A citizen's consent for the bank (a ``consent`` record), over the citizens' listener."""
    token = citizen_token(pki, pid, ex.clock())
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=ex.gateway), base_url="https://citizens.test"
    ) as citizens:
        r = await citizens.post(
            "/consents",
            json={
                "client": KYC,
                "purpose": BANK_KYC,
                "services": {f"{POPULATION}/persons": ["full_name", "date_of_birth"]},
            },
            headers={"Authorization": f"Bearer {token}"},
        )
    assert r.status_code == 201, r.text
    consent: str = r.json()["id"]
    return consent


async def traffic(gw: Gateway, pid: str) -> dict[str, Reply]:
    """One of each: answered, refused by policy, refused unsigned, provider 404, a consent,
    and a consented query by the bank."""
    replies = {
        "answered": await gw.request(path=f"{PERSONS}/{pid}"),
        "refused": await gw.request(path=f"{PERSONS}/{pid}", purpose=BANK_KYC),
        "unsigned": await gw.request(path=f"{PERSONS}/{pid}", sign=False),
        "not_found": await gw.request(path=f"{PERSONS}/{NOBODY}"),
    }
    consent = await grant_consent(gw.ex, gw.pki, pid)
    replies["consented"] = await gw.request(
        path=f"{PERSONS}/{pid}",
        query="fields=full_name",
        member=KYC,
        purpose=BANK_KYC,
        consent=consent,
    )
    expected = {"answered": 200, "refused": 403, "unsigned": 401, "not_found": 404}
    expected["consented"] = 200
    assert {k: r.status for k, r in replies.items()} == expected, {
        k: r.text for k, r in replies.items()
    }
    return replies


#: Records ``traffic`` leaves: three answered exchanges (two each), two refusals, a consent.
TRAFFIC = 9


def stored_leaves(log: LogStore) -> list[bytes]:
    """The leaf hashes of every stored record, after checking seqs are 0, 1, 2, ..."""
    size = log.size()
    rows = log.entries(0, size)
    assert [seq for seq, _ in rows] == list(range(size))
    return [merkle.leaf_hash(record) for _, record in rows]


def assert_tree_is_the_records(log: LogStore) -> list[bytes]:
    """Every root, inclusion and consistency proof the store gives, against ``core.merkle``."""
    leaves = stored_leaves(log)
    roots = [merkle.root(leaves[:n]) for n in range(len(leaves) + 1)]
    for n in range(1, len(leaves) + 1):
        assert log.root(n) == roots[n], f"root at size {n}"
        for i in range(n):
            proof = log.inclusion(i, n)
            assert proof == merkle.inclusion_proof(i, leaves[:n])
            # A store with a cold cache fetches the proof's nodes in one query: same proof.
            assert LogStore(log.engine).inclusion(i, n) == proof
            assert merkle.verify_inclusion(i, n, leaves[i], proof, roots[n])
        for m in range(1, n + 1):
            proof = log.consistency(m, n)
            assert merkle.verify_consistency(m, n, roots[m], roots[n], proof), (m, n)
            assert LogStore(log.engine).consistency(m, n) == proof
        assert log.consistency(0, n) == []
    return leaves


def kinds(log: LogStore) -> list[str]:
    return [json.loads(record)["kind"] for _, record in log.entries(0, log.size())]


async def metric(ex: InProcessExchange, name: str) -> float:
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=ex.gateway), base_url="https://gateway.test"
    ) as client:
        text = (await client.get("/metrics")).text
    for line in text.splitlines():
        if line.startswith(name + " "):
            return float(line.split()[1])
    raise AssertionError(f"no metric {name} in /metrics")


async def readyz(ex: InProcessExchange) -> int:
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=ex.gateway), base_url="https://gateway.test"
    ) as client:
        return (await client.get("/readyz")).status_code


def openssl(*args: str | Path, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["openssl", *map(str, args)],
        cwd=cwd,
        capture_output=True,
        text=True,
        check=False,
    )


# -- 1. the tree is the records --------------------------------------------------------------


async def test_stored_tree_is_the_tree_of_the_records_at_every_size(gw: Gateway, pid: str) -> None:
    await traffic(gw, pid)
    log = log_of(gw.ex)
    leaves = assert_tree_is_the_records(log)
    assert len(leaves) == log.size() == TRAFFIC
    assert kinds(log) == [
        *("accepted", "answered"),
        "refused",
        "refused",
        *("accepted", "answered"),
        "consent",
        *("accepted", "answered"),
    ]
    assert [log.leaf(i) for i in range(TRAFFIC)] == leaves


async def test_concurrent_exchanges_keep_the_tree_right_and_accepted_first(
    gw: Gateway, pid: str
) -> None:
    replies = await asyncio.gather(
        *(
            gw.request(path=f"{PERSONS}/{pid if i % 3 else NOBODY}", purpose=None)
            if i % 5 == 4
            else gw.request(path=f"{PERSONS}/{pid if i % 3 else NOBODY}")
            for i in range(24)
        )
    )
    assert sorted({r.status for r in replies}) == [200, 400, 404]
    log = log_of(gw.ex)
    assert_tree_is_the_records(log)
    for reply in replies:
        seqs = {row.kind: row.seq for row in gw.records(reply.headers["x-road-id"])}
        if "answered" in seqs:
            assert seqs["accepted"] < seqs["answered"]


async def test_proofs_for_sizes_beyond_the_log_are_refused(gw: Gateway, pid: str) -> None:
    await gw.request(path=f"{PERSONS}/{pid}")
    log = log_of(gw.ex)
    assert log.size() == 2
    with pytest.raises(LookupError):
        log.root(3)
    with pytest.raises(ValueError, match="not in a tree"):
        log.inclusion(2, 2)
    assert log.root(0) == merkle.EMPTY_ROOT


async def test_stopping_the_writer_answers_every_waiting_append(tmp_path: Path) -> None:
    """At shutdown no request waits forever: the batch in flight and those queued fail."""

    class SlowWriter(RecordWriter):
        release = threading.Event()

        def _write(self, batch: list[list[PendingRecord]]) -> list[Appended]:
            self.release.wait(10)
            return super()._write(batch)

    engine = make_engine(f"sqlite:///{tmp_path / 'log.sqlite3'}")
    metadata.create_all(engine)
    writer = SlowWriter(engine, window_s=0, max_batch=1)
    try:
        await writer.start()
        now = dt.datetime.now(dt.UTC)
        records = [PendingRecord(f"x-{i}", "grant", now, None, None, {"i": i}) for i in range(3)]
        in_flight = writer.submit(records[:1])
        queued = [writer.submit([r]) for r in records[1:]]
        await asyncio.sleep(0.05)  # the first batch is in its thread, the others queued
        await writer.stop()
        for fut in (in_flight, *queued):
            with pytest.raises(RuntimeError, match="record writer stopped"):
                await asyncio.wait_for(fut, 5)  # never a wait without end
        with pytest.raises(RuntimeError, match="not running"):
            writer.submit(records[:1])
    finally:
        SlowWriter.release.set()
        for _ in range(100):  # let the released thread finish before the engine goes
            if LogStore(engine).size() == 1:
                break
            await asyncio.sleep(0.02)
        engine.dispose()


async def test_appends_arriving_during_a_commit_share_the_next_one(tmp_path: Path) -> None:
    """Group commit without a window: a lone append is written at once; the appends that
    arrive while it commits are written together, in the order they were submitted."""

    class GatedWriter(RecordWriter):
        gate = threading.Event()
        batches: list[int] = []  # noqa: RUF012 - one test, one writer

        def _write(self, batch: list[list[PendingRecord]]) -> list[Appended]:
            self.gate.wait(10)
            self.batches.append(sum(len(r) for r in batch))
            return super()._write(batch)

    engine = make_engine(f"sqlite:///{tmp_path / 'log.sqlite3'}")
    metadata.create_all(engine)
    writer = GatedWriter(engine)  # the default: no window
    try:
        await writer.start()
        now = dt.datetime.now(dt.UTC)
        records = [PendingRecord(f"x-{i}", "grant", now, None, None, {"i": i}) for i in range(9)]
        first = writer.submit(records[:1])
        await asyncio.sleep(0.05)  # the first append is being committed, alone
        rest = [writer.submit([r]) for r in records[1:]]
        GatedWriter.gate.set()
        appended = [(await first)[0], *[(await f)[0] for f in rest]]
        assert GatedWriter.batches == [1, 8]
        assert [a.seq for a in appended] == list(range(9))
        assert writer.commits == 2
    finally:
        GatedWriter.gate.set()
        await writer.stop()
        engine.dispose()


# -- 2. checkpoints --------------------------------------------------------------------------


async def test_checkpoint_made_when_the_log_grew_and_only_then(gw: Gateway, pid: str) -> None:
    ex = gw.ex
    log, checkpointer = log_of(ex), checkpointer_of(ex)
    assert await checkpointer.tick() is None  # an empty log has nothing to sign
    assert log.latest() is None

    await traffic(gw, pid)
    first = await checkpointer.tick()
    assert first is not None
    assert first.size == log.size() == TRAFFIC
    assert first.root == merkle.root(stored_leaves(log))
    assert first.timestamp is None  # no TSA in this exchange
    assert await checkpointer.tick() is None
    assert await checkpointer.tick() is None
    assert log.history() == [first] == [log.latest()]

    gw.clock.advance(2)
    await gw.request(path=f"{PERSONS}/{pid}")
    second = await checkpointer.tick()
    assert second is not None
    assert (second.size, second.root) == (TRAFFIC + 2, merkle.root(stored_leaves(log)))
    assert second.signed_at > first.signed_at
    assert log.history() == [first, second]
    assert log.history(after=first.size) == [second]
    assert log.history(limit=1) == [first]
    proof = log.consistency(first.size, second.size)
    assert merkle.verify_consistency(first.size, second.size, first.root, second.root, proof)
    assert await metric(ex, "lienthong_log_checkpoint_size") == TRAFFIC + 2
    assert await metric(ex, "lienthong_log_size") == TRAFFIC + 2


async def test_checkpoint_note_opens_with_the_logs_pinned_key(
    gw: Gateway, pid: str, dev_pki: Path
) -> None:
    await traffic(gw, pid)
    made = await checkpointer_of(gw.ex).tick()
    assert made is not None
    verifier = state(gw.ex).note_verifier
    assert verifier.vkey == (dev_pki / "log" / "note.vkey").read_text().strip()
    opened = open_checkpoint(made.note, verifier, origin=ORIGIN)
    assert (opened.origin, opened.size, opened.root) == (ORIGIN, made.size, made.root)
    assert made.note.startswith(f"{ORIGIN}\n{made.size}\n")
    assert f"\n\n\u2014 {ORIGIN} " in made.note


async def test_openssl_verifies_the_checkpoint_signature(
    gw: Gateway, pid: str, tmp_path: Path
) -> None:
    await traffic(gw, pid)
    made = await checkpointer_of(gw.ex).tick()
    assert made is not None
    verifier = state(gw.ex).note_verifier
    pem = Ed25519PublicKey.from_public_bytes(verifier.public_key).public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    message, signature = openssl_verify_material(made.note, verifier.public_key)
    (tmp_path / "log.pem").write_bytes(pem)
    (tmp_path / "msg").write_bytes(message)
    (tmp_path / "sig").write_bytes(signature)
    (tmp_path / "forged").write_bytes(message.replace(f"\n{made.size}\n".encode(), b"\n1\n"))
    command = ("pkeyutl", "-verify", "-pubin", "-inkey", "log.pem", "-rawin", "-sigfile", "sig")

    accepted = openssl(*command, "-in", "msg", cwd=tmp_path)
    assert accepted.returncode == 0, accepted.stdout + accepted.stderr
    assert "Signature Verified Successfully" in accepted.stdout
    forged = openssl(*command, "-in", "forged", cwd=tmp_path)
    assert forged.returncode != 0
    assert "Signature Verified Successfully" not in forged.stdout


async def test_checkpoint_store_is_compare_and_swap(gw: Gateway, pid: str) -> None:
    await gw.request(path=f"{PERSONS}/{pid}")
    log = log_of(gw.ex)
    made = await checkpointer_of(gw.ex).tick()
    assert made is not None

    again = StoredCheckpoint(made.size, made.root, "another note", gw.now(), None)
    assert log.add_checkpoint(again) == made  # same root: the stored one, note and all
    other_root = bytes(32)
    with pytest.raises(LogCorrupted, match="two roots for size 2"):
        log.add_checkpoint(StoredCheckpoint(made.size, other_root, made.note, gw.now(), None))
    assert log.history() == [made]

    # A second checkpointer (another process on the same store) signs nothing new.
    twin = Checkpointer(
        log,
        signer=checkpointer_of(gw.ex).signer,
        origin=ORIGIN,
        timestamper=None,
        clock=gw.clock,
    )
    assert twin.checkpoint_now() is None
    assert log.history() == [made]


# -- 3. timestamps ---------------------------------------------------------------------------


@dataclass
class Tsa:
    """A timestamper calling the in-process TSA app; ``up = False`` makes it fail."""

    client: httpx.AsyncClient
    up: bool = True
    calls: int = 0

    async def __call__(self, data: bytes) -> bytes:
        self.calls += 1
        if not self.up:
            raise TimestampUnavailable("unreachable", "the TSA did not answer (test)")
        r = await self.client.post(
            "/", content=timestamp_request(data), headers={"Content-Type": QUERY_CONTENT_TYPE}
        )
        r.raise_for_status()
        return token_from_reply(r.content)


@pytest.fixture
async def tsa(dev_pki: Path) -> AsyncIterator[Tsa]:
    app = create_tsa_app(TsaSettings(pki_dir=dev_pki, access_log=False, environment="test"))
    async with (
        app.router.lifespan_context(app),
        httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app), base_url="http://tsa.test"
        ) as client,
    ):
        yield Tsa(client)


async def test_checkpoints_timestamped_and_openssl_accepts_the_token(
    build_exchange: BuildExchange,
    tsa: Tsa,
    pki_files: PkiFiles,
    pid: str,
    tmp_path: Path,
) -> None:
    ex = await build_exchange(timestamper=tsa)
    gw = Gateway(ex, pki_files)
    await traffic(gw, pid)
    made = await checkpointer_of(ex).tick()
    assert made is not None
    stored = log_of(ex).at(made.size)
    assert stored is not None
    assert stored.timestamp is not None
    assert log_of(ex).untimestamped() == []

    ca = load_certificate(pki_files.ca_path)
    note = stored.note.encode("utf-8")
    info = verify_timestamp(stored.timestamp, note, ca_certificates=[ca])
    assert info.policy == DEV_TSA_POLICY
    assert info.certificate is not None

    (tmp_path / "note.txt").write_bytes(note)
    (tmp_path / "token.tst").write_bytes(stored.timestamp)
    (tmp_path / "other.txt").write_bytes(note.replace(b"\n%d\n" % made.size, b"\n1\n", 1))
    verify_args = ("-in", "token.tst", "-token_in", "-CAfile", pki_files.ca_path)
    ok = openssl("ts", "-verify", "-data", "note.txt", *verify_args, cwd=tmp_path)
    assert ok.returncode == 0, ok.stdout + ok.stderr
    assert "Verification: OK" in ok.stdout
    other = openssl("ts", "-verify", "-data", "other.txt", *verify_args, cwd=tmp_path)
    assert other.returncode != 0
    assert "Verification: OK" not in other.stdout

    assert await metric(ex, "lienthong_tsa_failures") == 0
    assert await metric(ex, "lienthong_tsa_last_success_timestamp_seconds") > 0
    assert tsa.calls == 1
    assert await checkpointer_of(ex).tick() is None
    assert tsa.calls == 1  # nothing left to timestamp


async def test_tsa_outage_is_served_through_the_grace_period_then_fails_closed(
    build_exchange: BuildExchange, tsa: Tsa, pki_files: PkiFiles, pid: str
) -> None:
    # A 36-second window: the registries check the forward header's iat against their own
    # (real) clock, so the gateway's clock may run only so far ahead for a data exchange.
    grace = dt.timedelta(seconds=36)
    tsa.up = False
    ex = await build_exchange(timestamper=tsa, tsa_grace_hours=grace.total_seconds() / 3600)
    gw = Gateway(ex, pki_files)
    log, checkpointer = log_of(ex), checkpointer_of(ex)
    assert (await gw.request(path=f"{PERSONS}/{pid}")).status == 200
    first = await checkpointer.tick()
    assert first is not None
    assert log.at(first.size).timestamp is None  # type: ignore[union-attr]
    assert await metric(ex, "lienthong_tsa_failures") > 0
    assert await metric(ex, "lienthong_log_fail_closed") == 0
    assert (await gw.request(path=f"{PERSONS}/{pid}")).status == 200
    assert await readyz(ex) == 200

    # A later checkpoint, untimestamped as well, does not restart the window.
    gw.clock.advance(30)
    assert (await gw.request(path=f"{PERSONS}/{pid}")).status == 200
    second = await checkpointer.tick()
    assert second is not None
    assert [c.size for c in log.untimestamped()] == [first.size, second.size]

    gw.clock.advance(6)  # exactly the grace period since the first checkpoint
    assert gw.now() - first.signed_at.replace(tzinfo=dt.UTC) == grace
    assert (await gw.request(path=f"{PERSONS}/{pid}")).status == 200
    assert await readyz(ex) == 200

    gw.clock.advance(1)  # one second beyond
    refused = await gw.request(path=f"{PERSONS}/{pid}")
    assert refused.status == 503
    assert refused.json()["type"] == "server.evidence_log_unavailable"
    assert refused.headers["x-road-error"] == "server.evidence_log_unavailable"
    check_receipt(gw, refused, "refused")  # the refusal itself is logged
    assert await readyz(ex) == 503
    assert await metric(ex, "lienthong_log_fail_closed") == 1
    failures = await metric(ex, "lienthong_tsa_failures")
    assert await checkpointer.tick() is not None  # the refusal grew the log
    assert await metric(ex, "lienthong_tsa_failures") > failures
    assert (await gw.request(path=f"{PERSONS}/{pid}")).status == 503

    tsa.up = True
    await checkpointer.tick()
    assert log.untimestamped() == []
    assert all(c.timestamp is not None for c in log.history())
    assert (await gw.request(path=f"{PERSONS}/{pid}")).status == 200
    assert await readyz(ex) == 200
    assert await metric(ex, "lienthong_log_fail_closed") == 0


async def list_clients(gw: Gateway) -> Reply:
    """A metaservice call: answered by the gateway alone, after the fail-closed check."""
    return await gw.request(path="/r1/listClients", purpose=None, user_id=None)


async def test_default_grace_is_four_hours_to_the_second(
    build_exchange: BuildExchange, tsa: Tsa, pki_files: PkiFiles, pid: str
) -> None:
    tsa.up = False
    ex = await build_exchange(timestamper=tsa)
    gw = Gateway(ex, pki_files)
    assert (await gw.request(path=f"{PERSONS}/{pid}")).status == 200
    assert await checkpointer_of(ex).tick() is not None
    gw.clock.advance(GRACE.total_seconds())
    assert (await list_clients(gw)).status == 200
    gw.clock.advance(1)
    refused = await list_clients(gw)
    assert refused.status == 503
    assert refused.json()["type"] == "server.evidence_log_unavailable"


async def test_a_partly_timestamped_backlog_counts_from_the_oldest_left(
    build_exchange: BuildExchange, tsa: Tsa, pki_files: PkiFiles, pid: str
) -> None:
    """The TSA answers once then fails: the window runs from the checkpoint still waiting."""
    tsa.up = False
    ex = await build_exchange(timestamper=tsa)
    gw = Gateway(ex, pki_files)
    checkpointer = checkpointer_of(ex)
    assert (await gw.request(path=f"{PERSONS}/{pid}")).status == 200
    first = await checkpointer.tick()
    gw.clock.advance(3600)
    refused = await gw.request(path=f"{PERSONS}/{pid}", sign=False)
    assert refused.status == 401  # a refusal is recorded: the log grew
    second = await checkpointer.tick()
    assert first is not None
    assert second is not None

    answered = 0
    real = Tsa.__call__

    async def once(data: bytes) -> bytes:
        nonlocal answered
        answered += 1
        if answered > 1:
            raise TimestampUnavailable("unreachable", "down again (test)")
        tsa.up = True
        try:
            return await real(tsa, data)
        finally:
            tsa.up = False

    checkpointer.timestamper = once
    await checkpointer.timestamp_pending()
    assert [c.size for c in log_of(ex).untimestamped()] == [second.size]
    # 1 h since the second checkpoint would leave 3 h; 5 h since the first is beyond.
    gw.clock.advance(GRACE.total_seconds() - 1)
    assert (await list_clients(gw)).status == 200
    gw.clock.advance(1)
    assert (await list_clients(gw)).status == 200
    gw.clock.advance(1)
    assert (await list_clients(gw)).status == 503


async def test_without_a_tsa_configured_the_gateway_never_fails_closed(
    gw: Gateway, pid: str
) -> None:
    """``tsa_url`` empty means checkpoints are not timestamped: no outage to fail on."""
    assert (await gw.request(path=f"{PERSONS}/{pid}")).status == 200
    assert await checkpointer_of(gw.ex).tick() is not None
    gw.clock.advance(GRACE.total_seconds() + 3600)
    await checkpointer_of(gw.ex).tick()
    assert (await list_clients(gw)).status == 200
    assert await readyz(gw.ex) == 200
    assert await metric(gw.ex, "lienthong_log_fail_closed") == 0


# -- 4. start-up verification ----------------------------------------------------------------


@asynccontextmanager
async def restarted(ex: InProcessExchange) -> AsyncIterator[FastAPI]:
    """A new gateway app on the same settings (database, keys), its lifespan entered."""
    app = create_gateway_app(
        state(ex).settings,
        forwarder=ex.forwarder,
        clock=ex.clock,
        load_catalogues=False,
        run_checkpointer=False,
    )
    try:
        async with app.router.lifespan_context(app):
            yield app
    finally:
        app.state.engine.dispose()


Tamper = Callable[[Connection, StoredCheckpoint, int], None]


def _flip_record(seq: int) -> Callable[[Connection], None]:
    def run(conn: Connection) -> None:
        raw = bytearray(
            conn.execute(
                select(exchange_record.c.record).where(exchange_record.c.seq == seq)
            ).scalar_one()
        )
        at = raw.index(b'"kind":"') + 8
        raw[at] ^= 0x01  # one byte: "accepted" → "`ccepted", "answered" → "`nswered"...
        conn.execute(
            update(exchange_record).where(exchange_record.c.seq == seq).values(record=bytes(raw))
        )

    return run


def _delete_record(seq: int) -> Callable[[Connection], None]:
    def run(conn: Connection) -> None:
        conn.execute(delete(exchange_record).where(exchange_record.c.seq == seq))

    return run


def _set_node(level: int, idx: int, value: bytes | None) -> Callable[[Connection], None]:
    def run(conn: Connection) -> None:
        where = (merkle_node.c.level == level, merkle_node.c.idx == idx)
        if value is None:
            done = conn.execute(delete(merkle_node).where(*where))
        else:
            done = conn.execute(update(merkle_node).where(*where).values(hash=value))
        assert done.rowcount == 1

    return run


def _checkpoint_root(conn: Connection) -> None:
    conn.execute(update(checkpoint_table).values(root=bytes(32)))


def _checkpoint_signature(conn: Connection) -> None:
    note = conn.execute(select(checkpoint_table.c.note)).scalar_one()
    body, _, line = note.rpartition("\u2014 ")
    name, sig = line.rstrip("\n").split(" ")
    flipped = sig[:10] + ("A" if sig[10] != "A" else "B") + sig[11:]
    conn.execute(update(checkpoint_table).values(note=f"{body}\u2014 {name} {flipped}\n"))


# The log in these tests: 8 records under the checkpoint, 2 more after it.
CHECKPOINTED, TOTAL = 8, 10

TAMPERS: dict[str, Callable[[Connection], None]] = {
    "record-byte-changed": _flip_record(3),
    "first-record-changed": _flip_record(0),
    "record-deleted": _delete_record(5),
    "last-checkpointed-record-deleted": _delete_record(CHECKPOINTED - 1),
    "record-after-the-checkpoint-changed": _flip_record(TOTAL - 1),
    "last-record-deleted": _delete_record(TOTAL - 1),
    "root-node-changed": _set_node(3, 0, bytes(32)),
    "leaf-node-changed": _set_node(0, 2, bytes(32)),
    "inner-node-changed": _set_node(1, 3, bytes(32)),
    "node-after-the-checkpoint-changed": _set_node(1, 4, bytes(32)),
    "leaf-node-deleted": _set_node(0, 6, None),
    "checkpoint-root-changed": _checkpoint_root,
    "checkpoint-signature-changed": _checkpoint_signature,
}


async def _checkpointed_log(gw: Gateway, pid: str) -> StoredCheckpoint:
    """Eight records and a checkpoint over them, then two records more."""
    for _ in range(CHECKPOINTED // 2):
        assert (await gw.request(path=f"{PERSONS}/{pid}")).status == 200
    made = await checkpointer_of(gw.ex).tick()
    assert made is not None
    assert made.size == CHECKPOINTED
    assert (await gw.request(path=f"{PERSONS}/{pid}")).status == 200
    assert log_of(gw.ex).size() == TOTAL
    return made


@pytest.mark.parametrize("tamper", list(TAMPERS), ids=list(TAMPERS))
async def test_gateway_refuses_to_start_on_a_tampered_log(
    gw: Gateway, pid: str, tamper: str
) -> None:
    await _checkpointed_log(gw, pid)
    with state(gw.ex).engine.begin() as conn:
        TAMPERS[tamper](conn)
    with pytest.raises(LogCorrupted):
        async with restarted(gw.ex):
            pytest.fail("the gateway started on a tampered log")


async def test_gateway_refuses_to_start_on_tampered_records_without_a_checkpoint(
    gw: Gateway, pid: str
) -> None:
    assert (await gw.request(path=f"{PERSONS}/{pid}")).status == 200
    with state(gw.ex).engine.begin() as conn:
        _flip_record(1)(conn)
    with pytest.raises(LogCorrupted):
        async with restarted(gw.ex):
            pytest.fail("the gateway started on a tampered log")


async def test_untampered_log_restarts_and_continues_the_sequence(
    gw: Gateway, build_exchange: BuildExchange, pki_files: PkiFiles, pid: str
) -> None:
    before = await _checkpointed_log(gw, pid)
    async with restarted(gw.ex) as app:  # an empty restart: starts, stops, nothing written
        assert app.state.writer.size == TOTAL
    assert log_of(gw.ex).size() == TOTAL

    again = await build_exchange(var_dir=state(gw.ex).settings.var_dir)
    assert state(again).settings.db_url == state(gw.ex).settings.db_url
    second = Gateway(again, pki_files)
    reply = await second.request(path=f"{PERSONS}/{pid}")
    assert reply.status == 200, reply.text
    assert [r.seq for r in second.records(reply.headers["x-road-id"])] == [TOTAL, TOTAL + 1]
    log = log_of(again)
    assert_tree_is_the_records(log)
    after = await checkpointer_of(again).tick()
    assert after is not None
    assert after.size == TOTAL + 2
    assert log.history() == [before, after]
    proof = log.consistency(before.size, after.size)
    assert merkle.verify_consistency(before.size, after.size, before.root, after.root, proof)


# -- 5. receipts -----------------------------------------------------------------------------


def check_receipt(gw: Gateway, reply: Reply, kind: str) -> dict[str, Any]:
    """The reply's ``X-Road-Log-Receipt``, verified and matched to its stored record."""
    token = reply.headers["x-road-log-receipt"]
    verified = verify(token, store=gw.pki.store(), now=gw.now(), typ=TYP_RECEIPT)
    claims = verified.claims
    assert str(verified.signer) == claims["iss"] == GATEWAY_ID
    assert claims["jti"] == reply.headers["x-road-id"]
    assert claims["origin"] == ORIGIN
    rows = {row.kind: row for row in gw.records(claims["jti"])}
    record = rows[kind]
    assert claims["index"] == record.seq
    assert claims["leaf_hash"] == merkle.leaf_hash(bytes(record.record)).hex()
    if kind == "answered":
        accepted = rows["accepted"]
        assert claims["accepted_index"] == accepted.seq < claims["index"]
        assert claims["accepted_leaf_hash"] == merkle.leaf_hash(bytes(accepted.record)).hex()
    else:
        assert set(rows) == {"refused"}
        assert "accepted_index" not in claims
    return claims


async def test_every_answer_carries_a_receipt_for_its_record(gw: Gateway, pid: str) -> None:
    replies = await traffic(gw, pid)
    check_receipt(gw, replies["answered"], "answered")
    check_receipt(gw, replies["refused"], "refused")
    check_receipt(gw, replies["unsigned"], "refused")
    check_receipt(gw, replies["not_found"], "answered")
    check_receipt(gw, replies["consented"], "answered")

    no_cert = await gw.request(path=f"{PERSONS}/{pid}", tls=None)
    assert no_cert.status == 403
    check_receipt(gw, no_cert, "refused")


def _broken_body(status: int, headers: dict[str, str], body: bytes) -> Any:
    return status, headers, body.replace(b"}", b', "x": 1}', 1)


async def test_provider_faults_carry_a_receipt_for_the_answered_record(
    gw: Gateway, pid: str
) -> None:
    gw.ex.fault(POPULATION_URL, response_fault(_broken_body))
    invalid = await gw.request(path=f"{PERSONS}/{pid}")
    assert invalid.status == 502, invalid.text
    claims = check_receipt(gw, invalid, "answered")
    answered = json.loads(log_of(gw.ex).entries(claims["index"], claims["index"] + 1)[0][1])
    assert answered["outcome"] == invalid.json()["type"]

    gw.ex.fault(POPULATION_URL, None)  # the registry is down
    down = await gw.request(path=f"{PERSONS}/{pid}")
    assert down.status == 503, down.text
    assert down.json()["type"] == "server.provider_unavailable"
    check_receipt(gw, down, "answered")
    assert_tree_is_the_records(log_of(gw.ex))
