"""Worker processes check a large log as the main process would, and as fast as asked.

These tests are synchronous on purpose: the pool forks, and forking must come before any
event loop or thread, exactly as ``lienthong audit verify`` does it.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from auditor.runner import INLINE_BELOW, Report, WorkerPool, start_pool, verify_log
from auditor.verify import Trust
from tests.auditor.conftest import client_for
from tests.auditor.fakelog import FakeLog
from tests.fixtures.pki import PkiFiles


@pytest.fixture(scope="module")
def big_log(pki_files: PkiFiles) -> FakeLog:
    """Some 2,600 records: above the size where checks go to the workers."""
    log = FakeLog.create(pki_files)
    log.fill(1200, checkpoint_every=700)
    log.checkpoint()
    assert len(log.records) > INLINE_BELOW
    return log


@pytest.fixture(scope="module")
def big_trust(big_log: FakeLog, pki_files: PkiFiles) -> Trust:
    return Trust.from_material(pki_files.ca_path.read_bytes(), big_log.vkey)


@pytest.fixture(scope="module")
def pool(big_trust: Trust) -> Iterator[WorkerPool]:
    made = start_pool(big_trust, 2)
    assert made is not None
    with made:
        yield made


def run(log: FakeLog, trust: Trust, pool: WorkerPool | None) -> Report:
    async def go() -> Report:
        async with client_for(log) as client:
            return await verify_log(client, trust, now=dt.datetime.now(dt.UTC), pool=pool)

    return asyncio.run(go())


def test_one_worker_means_no_pool(big_trust: Trust) -> None:
    assert start_pool(big_trust, 1) is None


def test_workers_find_what_the_main_process_finds(
    big_log: FakeLog, big_trust: Trust, pool: WorkerPool
) -> None:
    alone, shared = run(big_log, big_trust, None), run(big_log, big_trust, pool)
    assert alone.ok and shared.ok
    assert (shared.records, shared.signatures, shared.checkpoints) == (
        alone.records,
        alone.signatures,
        alone.checkpoints,
    )
    assert shared.tree.leaves == alone.tree.leaves


def test_workers_name_the_first_bad_record(
    big_log: FakeLog, big_trust: Trust, pool: WorkerPool, tmp_path: Path
) -> None:
    kept = list(big_log.records)
    try:
        big_log.records[1733], big_log.records[1734] = kept[1734], kept[1733]
        big_log.records[2101] = kept[2101].replace(b'"v":1', b'"v":2')
        report = run(big_log, big_trust, pool)
    finally:
        big_log.records[:] = kept
    assert str(report.first).startswith("index 1733: ")
    assert any(str(p).startswith("index 2101: ") for p in report.problems)


def test_workers_check_a_few_thousand_records_a_second(
    big_log: FakeLog, big_trust: Trust, pool: WorkerPool
) -> None:
    """A floor far below the benchmark's 10,000/s (bench/ measures; a busy CI box varies)."""
    started = time.perf_counter()
    report = run(big_log, big_trust, pool)
    rate = report.records / (time.perf_counter() - started)
    assert report.ok and rate > 1000, f"{rate:.0f} records/s"
