"""Tampering with the log is caught by ``lienthong audit verify``, naming the right index.

The log's auditor API runs over real mutual TLS (the gateway's server certificate, the
auditor's client certificate); the command runs as an auditor runs it. Each test tampers with
the stored records the way someone with write access to the records table would (the tree
and checkpoints the gateway committed stay as they were), or rewrites the whole history under
new, validly signed and timestamped checkpoints, which only the state of the last run can
expose.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner, Result

from auditor.cli import app
from tests.auditor.conftest import Pinned
from tests.auditor.fakelog import FakeLog
from tests.fixtures.pki import PkiFiles

#: The record tampered with: inside the second checkpoint, not on any page boundary.
K = 37


def verify(url: str, pki: PkiFiles, pinned: Pinned, state: Path | None = None) -> Result:
    args = ["verify", "--url", url, "--pki", str(pki.root), "--log-key", str(pinned.log_key)]
    args += ["--workers", "1"]  # the API runs in a thread here: no fork beside it
    if state is not None:
        args += ["--state", str(state)]
    return CliRunner().invoke(app, args)


def error_line(result: Result) -> str:
    assert result.exit_code == 1, result.output
    lines = [line for line in result.stderr.splitlines() if line.startswith("error: ")]
    assert len(lines) == 1, result.stderr
    return lines[0]


@pytest.fixture
def state(tmp_path: Path) -> Path:
    return tmp_path / "audit" / "state.json"


def test_untouched_log_verifies_and_the_state_is_written(
    served: str, pki_files: PkiFiles, pinned: Pinned, log: FakeLog, state: Path
) -> None:
    result = verify(served, pki_files, pinned, state)
    assert result.exit_code == 0, result.output
    size = len(log.records)
    assert result.stdout.startswith(f"ok: {size} records, ")
    saved = json.loads(state.read_text())
    assert (saved["origin"], saved["size"], saved["root"]) == (
        "lienthong.local/evidence-log",
        size,
        log.tree.root().hex(),
    )
    assert (state.parent / saved["leaves"]).stat().st_size == 32 * size
    assert verify(served, pki_files, pinned, state).exit_code == 0  # and again, with the state


def test_changed_byte_names_its_record(
    served: str, pki_files: PkiFiles, pinned: Pinned, log: FakeLog
) -> None:
    record = log.records[K]
    at = record.index(b'"x_road_id":"') + len(b'"x_road_id":"') + 3
    log.records[K] = record[:at] + bytes([record[at] ^ 0x01]) + record[at + 1 :]
    assert error_line(verify(served, pki_files, pinned)).startswith(f"error: index {K}: ")


def test_changed_field_that_no_signature_covers_names_its_record(
    served: str, pki_files: PkiFiles, pinned: Pinned, log: FakeLog
) -> None:
    log.records[K] = log.records[K].replace(b'"subject":"', b'"subject":"0', 1)
    assert error_line(verify(served, pki_files, pinned)) == (
        f"error: index {K}: the record is not the one checkpoint {log.checkpoints[1]['size']} "
        "commits to (its leaf is the first that breaks the checkpoint's root)"
    )


def test_deleted_record_names_its_index(
    served: str, pki_files: PkiFiles, pinned: Pinned, log: FakeLog
) -> None:
    del log.records[K]
    assert error_line(verify(served, pki_files, pinned)).startswith(f"error: index {K}: ")


def test_swapped_records_name_the_first(
    served: str, pki_files: PkiFiles, pinned: Pinned, log: FakeLog
) -> None:
    log.records[K], log.records[K + 1] = log.records[K + 1], log.records[K]
    assert error_line(verify(served, pki_files, pinned)).startswith(f"error: index {K}: ")


def test_inserted_record_names_its_index(
    served: str, pki_files: PkiFiles, pinned: Pinned, log: FakeLog
) -> None:
    forged = FakeLog.create(pki_files)
    forged.refusal(verified=True)  # a well-formed, validly signed record of a refusal
    log.records.insert(K, forged.records[0])
    log.signatures.update(forged.signatures)
    assert error_line(verify(served, pki_files, pinned)).startswith(f"error: index {K}: ")


def test_rewritten_history_under_new_checkpoints_names_the_first_changed_record(
    served: str, pki_files: PkiFiles, pinned: Pinned, log: FakeLog, state: Path
) -> None:
    assert verify(served, pki_files, pinned, state).exit_code == 0
    log.records[K] = log.records[K].replace(b'"subject":"', b'"subject":"0', 1)
    log.rewrite_history()  # new tree, every checkpoint signed and timestamped anew
    for _ in range(3):
        log.exchange()
    log.checkpoint()
    assert verify(served, pki_files, pinned).exit_code == 0  # without a state: consistent
    assert error_line(verify(served, pki_files, pinned, state)) == (
        f"error: index {K}: changed since the last run: not the record verified then"
    )


def test_rewritten_history_that_drops_records_names_the_first_missing(
    served: str, pki_files: PkiFiles, pinned: Pinned, log: FakeLog, state: Path
) -> None:
    assert verify(served, pki_files, pinned, state).exit_code == 0
    size = len(log.records)
    del log.records[size - 5 :]
    log.rewrite_history()
    assert error_line(verify(served, pki_files, pinned, state)).startswith(
        f"error: index {size - 5}: missing: the last run saw {size} records"
    )
