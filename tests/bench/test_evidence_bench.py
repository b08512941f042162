"""The evidence benchmark scenarios run end to end at a small size (behaviour, never speed).

The log scenario appends every record it made; a kept log is built once and reused; the
audit scenario gets a real ``lienthong audit verify`` to accept the whole log, signatures
and timestamps included; the proof scenario answers every request.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from bench.evidence import audit_scenario, evidence_gateway, log_scenario, proofs_scenario
from bench.logdata import ensure_log

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


def test_log_scenario_makes_every_append_durable(tmp_path: Path) -> None:
    result = log_scenario(appends=2000, submitters=64, var_root=tmp_path)

    assert result.keys() >= LOG_KEYS
    assert result["appends"] == 2000
    assert 1 <= result["commits"] <= 2000
    assert result["mean_batch"] == pytest.approx(2000 / result["commits"], rel=0.01)
    assert result["appends_per_s"] > 0
    assert result["cpu_s"] > 0
    assert 0 < result["p50_ms"] <= result["p99_ms"]
    assert list(tmp_path.iterdir()) == []  # the scratch database is gone


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
