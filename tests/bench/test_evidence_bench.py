"""The evidence benchmark scenarios run end to end at a small size (behaviour, never speed).

The log scenario appends every record it made; a kept log is built once and reused; the
audit scenario gets a real ``lienthong audit verify`` to accept the whole log, signatures
and timestamps included; the proof scenario answers every request. The sequencer prototype
(``bench.sequencer``) must write exactly the bytes the gateway's writer writes, or its
figures mean nothing.
"""

from __future__ import annotations

import asyncio
import sqlite3
from pathlib import Path
from typing import Any

import pytest

from bench.evidence import audit_scenario, evidence_gateway, log_scenario, proofs_scenario
from bench.logdata import ensure_log, make_exchanges
from bench.sequencer import PatchedRecordWriter
from certs.dev import ensure_dev_pki
from core.db import make_engine
from gateway.models import metadata
from gateway.records import EvidenceKeys, RecordWriter

LOG_KEYS = {
    "appends",
    "appends_per_s",
    "commits",
    "mean_batch",
    "cpu_s",
    "p50_ms",
    "p99_ms",
    "meets_target",
}


@pytest.mark.parametrize("prototype", [False, True])
def test_log_scenario_makes_every_append_durable(tmp_path: Path, prototype: bool) -> None:
    result = log_scenario(appends=2000, submitters=64, var_root=tmp_path, prototype=prototype)

    assert result.keys() >= LOG_KEYS
    assert result["appends"] == 2000
    assert 1 <= result["commits"] <= 2000
    assert result["mean_batch"] == pytest.approx(2000 / result["commits"], rel=0.01)
    assert result["appends_per_s"] > 0
    assert result["cpu_s"] > 0
    assert 0 < result["p50_ms"] <= result["p99_ms"]
    assert list(tmp_path.iterdir()) == []  # the scratch database is gone


def _table_rows(path: Path) -> dict[str, list[tuple[Any, ...]]]:
    db = sqlite3.connect(path)
    try:
        return {
            table: db.execute(f"SELECT * FROM {table} ORDER BY 1, 2").fetchall()  # noqa: S608
            for table in ("exchange_record", "exchange_signature", "merkle_node")
        }
    finally:
        db.close()


def test_prototype_writer_stores_what_the_gateway_writer_stores(tmp_path: Path) -> None:
    ensure_dev_pki(tmp_path / "pki")
    keys = EvidenceKeys.load_or_create(tmp_path / "keys")
    records = make_exchanges(tmp_path / "pki", keys, 300, workers=1)
    stored = []
    for kind in (RecordWriter, PatchedRecordWriter):
        path = tmp_path / f"{kind.__name__}.sqlite3"
        engine = make_engine(f"sqlite:///{path}", synchronous="FULL")
        metadata.create_all(engine)

        async def write(writer: RecordWriter) -> None:
            await writer.start()
            try:
                for i in range(0, len(records), 128):  # several batches: the edge carries over
                    await writer.append(records[i : i + 128])
            finally:
                await writer.stop()

        asyncio.run(write(kind(engine)))
        engine.dispose()
        stored.append(_table_rows(path))

    assert len(stored[0]["exchange_record"]) == 600
    assert stored[0] == stored[1]


def test_kept_log_is_reused_and_an_unfinished_one_rebuilt(tmp_path: Path) -> None:
    first = ensure_log(40, tmp_path, workers=1, checkpoint_every=16)
    again = ensure_log(40, tmp_path, workers=1)

    assert first.built and not again.built
    assert again.stamp == first.stamp
    assert first.records == 40 and first.checkpoints >= 3

    (first.var_dir / "complete.json").unlink()  # as if the build had been interrupted
    rebuilt = ensure_log(40, tmp_path, workers=1, checkpoint_every=16)
    assert rebuilt.built


@pytest.mark.stack
def test_audit_and_proofs_run_against_a_served_log(tmp_path: Path) -> None:
    with evidence_gateway(2000, tmp_path) as gw:
        audit = audit_scenario(gw)
        proofs = proofs_scenario(gw, requests=60, concurrencies=(1, 4), in_process=200)
    assert gw.proc.returncode is not None  # the gateway was stopped

    assert audit["records"] == 2000
    assert audit["signatures"] == 2000  # one client JWS per accepted, one response per answered
    assert audit["checkpoints"] == gw.log.checkpoints >= 1
    assert audit["records_per_s"] > 0
    assert set(audit["cpu_s"]) == {"auditor", "gateway"}
    assert audit["cpu_s"]["auditor"] > 0

    assert proofs["size"] == 2000
    for run in ("c1", "c4"):
        assert proofs[run]["requests"] == 60
        assert proofs[run]["errors"] == 0
        assert 0 < proofs[run]["p50_ms"] <= proofs[run]["p95_ms"] <= proofs[run]["p99_ms"]
    assert proofs["in_process"]["calls"] == 200
    assert proofs["p99_ms"] == proofs["c1"]["p99_ms"]
