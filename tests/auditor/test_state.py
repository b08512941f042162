"""The state of the last run: saved atomically, its leaves file bound to its root."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pytest

from auditor.state import AuditState, StateError
from core.merkle import leaf_hash, root

ORIGIN = "lienthong.local/evidence-log"


def state_of(n: int) -> AuditState:
    leaves = [leaf_hash(str(i).encode()) for i in range(n)]
    return AuditState(ORIGIN, n, root(leaves), b"".join(leaves))


def test_state_round_trips_with_its_leaves(tmp_path: Path) -> None:
    path = tmp_path / "state.json"
    state_of(7).save(path, checkpoint="note", now=dt.datetime(2026, 1, 2, tzinfo=dt.UTC))
    saved = json.loads(path.read_text())
    assert saved["leaves"] == "state.json.leaves" and saved["verified_at"] == "2026-01-02T00:00:00Z"
    assert AuditState.load(path) == state_of(7)


def test_leaves_that_are_not_the_state_tree_are_ignored_and_said_so(tmp_path: Path) -> None:
    path = tmp_path / "state.json"
    state_of(7).save(path, checkpoint=None, now=dt.datetime.now(dt.UTC))
    leaves = tmp_path / "state.json.leaves"
    data = bytearray(leaves.read_bytes())
    data[40] ^= 1
    leaves.write_bytes(bytes(data))
    loaded = AuditState.load(path)
    assert loaded.leaves is None
    assert loaded.leaves_problem is not None and "is not the state's tree" in loaded.leaves_problem
    assert (loaded.origin, loaded.size, loaded.root) == (ORIGIN, 7, state_of(7).root)


def test_leaves_file_is_read_only_beside_the_state(tmp_path: Path) -> None:
    path = tmp_path / "state.json"
    state_of(2).save(path, checkpoint=None, now=dt.datetime.now(dt.UTC))
    data = json.loads(path.read_text())
    data["leaves"] = "../../etc/passwd"
    path.write_text(json.dumps(data))
    assert AuditState.load(path).leaves_problem is not None


@pytest.mark.parametrize("text", ["", "[]", '{"origin": "x", "size": -1, "root": "00"}'])
def test_unusable_state_file_is_an_error(tmp_path: Path, text: str) -> None:
    path = tmp_path / "state.json"
    path.write_text(text)
    with pytest.raises(StateError, match="is not an audit state"):
        AuditState.load(path)
