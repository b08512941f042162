"""The evidence log on PostgreSQL: several gateway processes, one sequence, one tree.

Two ``RecordWriter``s on two engines stand for two gateway processes sharing a database.
Each batch takes the sequencer's advisory lock, so numbers stay contiguous and unique
across both; a writer that finds records it did not write reloads the tree's right edge
before hashing onto it. The stored tree is checked against ``core.merkle`` over the stored
records and by the gateway's own start-up verification (which compares every stored node).
"""

from __future__ import annotations

import asyncio
import datetime as dt
import itertools
import json
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from sqlalchemy.engine import Engine

from core import merkle
from core.db import make_engine
from gateway.app import load_note_signer
from gateway.log import Checkpointer, LogStore, verify_on_start
from gateway.models import metadata
from gateway.records import Appended, PendingRecord, RecordWriter
from tests.fixtures.gateway import BuildExchange
from tests.fixtures.pki import PkiFiles
from tests.fixtures.postgres import PostgresUrlFactory
from tests.fixtures.world import LinkedWorld
from tests.gateway.support import PERSONS, Gateway

pytestmark = [pytest.mark.anyio, pytest.mark.postgres]

ORIGIN = "lienthong.local/evidence-log"
NOW = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)


@pytest.fixture
async def engines(postgres_url: PostgresUrlFactory) -> AsyncIterator[tuple[Engine, Engine]]:
    """Two engines on one new database: two gateway processes' connection pools."""
    url = postgres_url()
    first, second = make_engine(url), make_engine(url)
    assert first.dialect.name == "postgresql"
    metadata.create_all(first)
    try:
        yield first, second
    finally:
        first.dispose()
        second.dispose()


@pytest.fixture
async def writers(engines: tuple[Engine, Engine]) -> AsyncIterator[tuple[RecordWriter, ...]]:
    started = tuple(RecordWriter(engine, window_s=0.001, max_batch=16) for engine in engines)
    for writer in started:
        await writer.start()
    try:
        yield started
    finally:
        for writer in started:
            await writer.stop()


def record(writer: int, n: int) -> PendingRecord:
    return PendingRecord(
        x_road_id=f"w{writer}-{n}",
        kind="grant",
        recorded_at=NOW + dt.timedelta(microseconds=n),
        client=None,
        subject=None,
        body={"writer": writer, "n": n},
    )


def assert_one_tree(store: LogStore, appended: dict[str, Appended]) -> list[bytes]:
    """Contiguous seqs from 0, the stored root = the records' root, every Appended right."""
    size = store.size()
    rows = store.entries(0, size)
    assert [seq for seq, _ in rows] == list(range(size))
    assert size == len(appended)
    leaves = [merkle.leaf_hash(data) for _, data in rows]
    assert store.root(size) == merkle.root(leaves)
    for seq, data in rows:
        x_road_id = json.loads(data)["x_road_id"]
        assert appended[x_road_id] == Appended(seq, leaves[seq])
    return leaves


async def test_two_writers_on_one_database_keep_one_sequence_and_one_tree(
    engines: tuple[Engine, Engine], writers: tuple[RecordWriter, ...], dev_pki: Path
) -> None:
    a, b = writers
    appended: dict[str, Appended] = {}

    async def append(writer: RecordWriter, which: int, numbers: range) -> None:
        records = [record(which, n) for n in numbers]
        for r, done in zip(records, await writer.append(records), strict=True):
            appended[r.x_road_id] = done

    # Turn by turn first: each writer must pick up the other's records and right edge.
    for turn in range(6):
        await append(a if turn % 2 == 0 else b, turn % 2, range(turn * 10, turn * 10 + 1 + turn))
    # Then both at once, single records and small batches, from many tasks.
    await asyncio.gather(
        *(append(a, 0, range(1000 + 3 * i, 1000 + 3 * i + 1 + i % 3)) for i in range(120)),
        *(append(b, 1, range(1000 + 3 * i, 1000 + 3 * i + 1 + i % 3)) for i in range(120)),
    )

    store = LogStore(engines[0])
    leaves = assert_one_tree(store, appended)
    assert len(leaves) == 21 + 2 * 240
    owners = [json.loads(data)["writer"] for _, data in store.entries(0, len(leaves))]
    switches = sum(1 for x, y in itertools.pairwise(owners) if x != y)
    assert switches >= 6  # the writers really took turns on the sequence
    assert a.size <= len(leaves)
    assert b.size <= len(leaves)
    assert max(a.size, b.size) == len(leaves)

    # Every stored node is the records' (what a restarting gateway checks), from either pool.
    assert verify_on_start(store, load_note_signer(dev_pki, ORIGIN).verifier(), origin=ORIGIN)
    assert LogStore(engines[1]).root(len(leaves)) == merkle.root(leaves)
    for size in (1, 2, 21, 100, 255, 256, len(leaves)):
        assert store.root(size) == merkle.root(leaves[:size])


async def test_two_checkpointers_on_one_database_sign_one_checkpoint_per_size(
    engines: tuple[Engine, Engine], writers: tuple[RecordWriter, ...], dev_pki: Path
) -> None:
    a, b = writers
    await asyncio.gather(a.append([record(0, 1)]), b.append([record(1, 1)]))
    signer = load_note_signer(dev_pki, ORIGIN)
    checkpointers = [
        Checkpointer(LogStore(e), signer=signer, origin=ORIGIN, timestamper=None, clock=lambda: NOW)
        for e in engines
    ]
    made = await asyncio.gather(*(asyncio.to_thread(c.checkpoint_now) for c in checkpointers))
    stored = [m for m in made if m is not None]
    assert stored
    assert {(m.size, m.root) for m in stored} == {(2, LogStore(engines[0]).root(2))}
    assert len(LogStore(engines[1]).history()) == 1
    assert [await c.tick() for c in checkpointers] == [None, None]
    assert verify_on_start(LogStore(engines[1]), signer.verifier(), origin=ORIGIN) == 2


async def test_gateway_log_on_postgresql_survives_a_restart(
    build_exchange: BuildExchange,
    postgres_url: PostgresUrlFactory,
    pki_files: PkiFiles,
    linked_world: LinkedWorld,
) -> None:
    url = postgres_url()
    pid = next(p for p in linked_world.population.people if p.date_of_death is None).personal_id
    first = await build_exchange(database_url=url)
    assert first.gateway.state.engine.dialect.name == "postgresql"
    gw = Gateway(first, pki_files)
    assert (await gw.request(path=f"{PERSONS}/{pid}")).status == 200
    made = await first.gateway.state.checkpointer.tick()
    assert made is not None
    assert made.size == 2

    again = await build_exchange(database_url=url, var_dir=first.gateway.state.settings.var_dir)
    reply = await Gateway(again, pki_files).request(path=f"{PERSONS}/{pid}")
    assert reply.status == 200, reply.text
    log: LogStore = again.gateway.state.log
    assert [seq for seq, _ in log.records_of(reply.headers["x-road-id"])] == [2, 3]
    leaves = [merkle.leaf_hash(data) for _, data in log.entries(0, 4)]
    assert log.root(4) == merkle.root(leaves)
    assert made.root == merkle.root(leaves[:2])
