"""``verify_log``: the whole log checked against pinned trust, every failure placed in the log.

The log is built as the gateway builds it (tests/auditor/fakelog.py) and served in-process;
each test breaks one thing and expects the first problem to name it.
"""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from auditor.client import AuditClient
from auditor.runner import Report, verify_log
from auditor.state import AuditState
from auditor.verify import Problem, Trust, TrustError
from core.canonical import canonical_json
from core.checkpoint import Checkpoint, sign_checkpoint
from core.note import Ed25519NoteSigner
from core.signing import TYP_REQUEST, sha256_b64url
from tests.auditor.conftest import Pinned, client_for
from tests.auditor.fakelog import CLIENT, ORIGIN, FakeLog
from tests.fixtures.pki import PkiFiles

pytestmark = pytest.mark.anyio


async def run(
    log: FakeLog, trust: Trust, now: dt.datetime, *, state: AuditState | None = None, **kw: Any
) -> Report:
    async with client_for(log) as client:
        return await verify_log(client, trust, now=now, state=state, **kw)


def first(report: Report) -> str:
    assert report.first is not None, "the log verified"
    return str(report.first)


def rewrite(log: FakeLog, index: int, **changes: Any) -> None:
    """Change fields of record ``index`` and keep it canonical (an edit of the table)."""
    body = json.loads(log.records[index])
    body.update(changes)
    log.records[index] = canonical_json(body)


def kind_at(log: FakeLog, kind: str, nth: int = 0) -> int:
    found = [i for i, r in enumerate(log.records) if json.loads(r)["kind"] == kind]
    return found[nth]


# -- a log that holds --------------------------------------------------------------------------


async def test_untouched_log_verifies_every_record_signature_and_checkpoint(
    log: FakeLog, trust: Trust, now: dt.datetime
) -> None:
    report = await run(log, trust, now)
    assert report.ok, report.problems
    assert report.records == report.size == len(log.records)
    assert report.checkpoints == len(log.checkpoints)
    accepted_or_answered = sum(
        json.loads(r)["kind"] in ("accepted", "answered") for r in log.records
    )
    verified_refusals = sum(b'"client_cert":"' in r and b'"refused"' in r for r in log.records)
    assert report.signatures == accepted_or_answered + verified_refusals
    assert report.latest is not None and report.latest.root == log.tree.root()


async def test_records_after_the_latest_checkpoint_wait_for_the_next(
    log: FakeLog, trust: Trust, now: dt.datetime
) -> None:
    size = len(log.records)
    log.exchange()
    report = await run(log, trust, now)
    assert report.ok and report.size == size


async def test_empty_log_without_checkpoint_verifies(pki_files: PkiFiles, now: dt.datetime) -> None:
    empty = FakeLog.create(pki_files)
    trust = Trust.from_material(pki_files.ca_path.read_bytes(), empty.vkey)
    report = await run(empty, trust, now)
    assert report.ok and report.size == 0


async def test_log_without_checkpoint_fails_when_the_last_run_saw_records(
    pki_files: PkiFiles, now: dt.datetime
) -> None:
    empty = FakeLog.create(pki_files)
    trust = Trust.from_material(pki_files.ca_path.read_bytes(), empty.vkey)
    state = AuditState(ORIGIN, 3, b"\0" * 32)
    assert first(await run(empty, trust, now, state=state)) == (
        "the log has no checkpoint, but the last run saw 3 records"
    )


# -- records -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("field", "value", "why"),
    [
        ("purpose", "bank-kyc", "the client's JWS's purpose is not the record's purpose"),
        ("method", "POST", "the client's JWS's htm is not the record's method"),
        ("client", "VN/GOV/VPDK-HN/land-office", "not the record's client"),
        ("client_cert", "ab" * 32, "the client's JWS is not by the record's client_cert"),
        ("v", 2, "record version 2 is not 1"),
        ("kind", "forgotten", "unknown kind 'forgotten'"),
        ("time", "2026-01-01T00:00:00Z", "time is not RFC 3339 UTC with microseconds"),
    ],
)
async def test_accepted_record_must_agree_with_the_signed_request(
    log: FakeLog, trust: Trust, now: dt.datetime, field: str, value: Any, why: str
) -> None:
    index = kind_at(log, "accepted", 3)
    rewrite(log, index, **{field: value})
    log.rewrite_history()  # the tree agrees: only the record checks can tell
    problem = first(await run(log, trust, now))
    assert problem.startswith(f"index {index}: ") and why in problem


async def test_request_signed_for_another_exchange_is_caught(
    log: FakeLog, trust: Trust, now: dt.datetime
) -> None:
    index = kind_at(log, "accepted", 2)
    other = log.request_jws("another-exchange")
    digest = sha256_b64url(other.encode())
    log.signatures[digest] = other
    rewrite(log, index, client_jws_sha256=digest, request_hash=digest)
    log.rewrite_history()
    assert first(await run(log, trust, now)) == (
        f"index {index}: the client's JWS's jti is not the record's x_road_id"
    )


async def test_answer_must_be_signed_by_the_provider_of_the_service(
    log: FakeLog, trust: Trust, now: dt.datetime
) -> None:
    index = kind_at(log, "answered", 5)
    rewrite(log, index, service="VN/GOV/BTC/business/enterprises")
    log.rewrite_history()
    assert first(await run(log, trust, now)) == (
        f"index {index}: the response JWS is by VN/GOV/BCA/population, not the provider "
        "VN/GOV/BTC/business"
    )


@pytest.mark.parametrize(
    ("field", "value"),
    [("provider_status", 404), ("response_sha256", "x"), ("request_hash", "y")],
)
async def test_answer_must_agree_with_the_registry_signature(
    log: FakeLog, trust: Trust, now: dt.datetime, field: str, value: Any
) -> None:
    index = kind_at(log, "answered", 1)
    rewrite(log, index, **{field: value})
    log.rewrite_history()
    problem = first(await run(log, trust, now))
    assert problem.startswith(f"index {index}: the response JWS's ")
    assert problem.endswith(f"is not the record's {field}")


async def test_signature_missing_from_the_log_is_caught(
    log: FakeLog, trust: Trust, now: dt.datetime
) -> None:
    index = kind_at(log, "answered", 0)
    digest = json.loads(log.records[index])["response_jws_sha256"]
    del log.signatures[digest]
    problem = first(await run(log, trust, now))
    assert problem == (
        f"index {index}: the response JWS ({digest}) is not among the log's signatures"
    )


async def test_signature_swapped_for_another_is_caught_by_its_digest(
    log: FakeLog, trust: Trust, now: dt.datetime
) -> None:
    index = kind_at(log, "accepted", 0)
    digest = json.loads(log.records[index])["client_jws_sha256"]
    log.signatures[digest] = log.request_jws(json.loads(log.records[index])["x_road_id"])
    assert first(await run(log, trust, now)) == (
        f"index {index}: the client's JWS does not match its digest {digest}"
    )


async def test_signature_by_a_certificate_not_valid_at_the_record_time_is_caught(
    log: FakeLog, trust: Trust, now: dt.datetime
) -> None:
    index = kind_at(log, "accepted", 1)
    rewrite(log, index, time="2001-01-01T00:00:00.000000Z")
    log.rewrite_history()
    assert first(await run(log, trust, now)) == (
        f"index {index}: the client's JWS does not verify at the record's time (not_yet_valid)"
    )


async def test_signature_by_a_certificate_revoked_before_the_record_is_caught(
    log: FakeLog, trust: Trust, now: dt.datetime
) -> None:
    serial = log.client.certificate.serial_number
    revoked = Trust(trust.cas, trust.log_key, {serial: log.start - dt.timedelta(seconds=1)})
    problem = first(await run(log, revoked, now))
    assert problem.startswith(f"index {kind_at(log, 'accepted')}: the client's JWS is by a ")
    later = Trust(trust.cas, trust.log_key, {serial: now})  # revoked after: still evidence
    assert (await run(log, later, now)).ok


async def test_refusal_of_a_garbled_signature_is_not_a_problem_but_its_digest_is(
    log: FakeLog, trust: Trust, now: dt.datetime
) -> None:
    index = next(
        i for i, r in enumerate(log.records) if b'"refused"' in r and b'"client_cert":null' in r
    )
    assert (await run(log, trust, now)).ok
    digest = json.loads(log.records[index])["client_jws_sha256"]
    log.signatures[digest] = "something.else.entirely"
    assert first(await run(log, trust, now)) == (
        f"index {index}: the client's JWS does not match its digest {digest}"
    )


async def test_non_canonical_record_is_caught(log: FakeLog, trust: Trust, now: dt.datetime) -> None:
    log.records[4] = json.dumps(json.loads(log.records[4]), indent=1).encode()
    log.rewrite_history()
    assert first(await run(log, trust, now)) == "index 4: not canonical JSON (RFC 8785)"


async def test_server_leaf_hash_must_be_the_record_hash(
    log: FakeLog, trust: Trust, now: dt.datetime
) -> None:
    log.records[6] = log.records[6].replace(b'"v":1', b'"v":1 ')
    problem = first(await run(log, trust, now))
    assert problem.startswith("index 6: ")


async def test_record_the_log_leaves_out_is_named_missing(
    log: FakeLog, trust: Trust, now: dt.datetime
) -> None:
    log.hidden = {23, 24, 50}
    report = await run(log, trust, now)
    assert first(report) == "index 23: missing: the log does not serve it"
    assert report.tree.size == 23  # the tree stops at the gap; later pages are still checked
    assert report.records == len(log.records) - 3


async def test_log_shorter_than_its_checkpoint_is_named_missing(
    log: FakeLog, trust: Trust, now: dt.datetime
) -> None:
    size = len(log.records)
    del log.records[size - 2 :]
    problem = first(await run(log, trust, now))
    assert problem == f"index {size - 2}: missing: the log does not serve it (client.bad_request)"


# -- checkpoints -------------------------------------------------------------------------------


async def test_checkpoint_signed_by_another_key_is_caught(
    log: FakeLog, trust: Trust, now: dt.datetime
) -> None:
    cp = log.checkpoints[1]
    impostor = Ed25519NoteSigner(ORIGIN, Ed25519PrivateKey.generate())
    cp["note"] = sign_checkpoint(
        Checkpoint(ORIGIN, cp["size"], bytes.fromhex(cp["root"])), impostor
    )
    assert first(await run(log, trust, now)) == (
        f"checkpoint {cp['size']}: the note is not signed by the pinned log key"
    )


async def test_checkpoint_whose_served_root_is_not_the_signed_one_is_caught(
    log: FakeLog, trust: Trust, now: dt.datetime
) -> None:
    cp = log.checkpoints[0]
    cp["root"] = "00" * 32
    assert first(await run(log, trust, now)) == (
        f"checkpoint {cp['size']}: the served size or root is not the signed one"
    )


async def test_timestamp_of_another_checkpoint_is_caught(
    log: FakeLog, trust: Trust, now: dt.datetime
) -> None:
    first_cp, second_cp = log.checkpoints[0], log.checkpoints[1]
    second_cp["timestamp"] = first_cp["timestamp"]
    problem = first(await run(log, trust, now))
    assert problem.startswith(f"checkpoint {second_cp['size']}: the timestamp token does not ")
    assert "(imprint_mismatch)" in problem


async def test_checkpoint_may_wait_for_its_token_within_the_grace_window(
    log: FakeLog, trust: Trust, now: dt.datetime
) -> None:
    log.exchange()
    log.checkpoint(stamp=False)
    report = await run(log, trust, now)
    assert report.ok and report.pending_timestamps == 1
    late = await run(log, trust, now + dt.timedelta(hours=5))
    assert first(late).startswith(f"checkpoint {len(log.records)}: no timestamp token, ")
    strict = await run(log, trust, now, grace=None)
    assert first(strict) == f"checkpoint {len(log.records)}: no timestamp token"


async def test_checkpoint_of_another_log_is_caught(
    log: FakeLog, pki_files: PkiFiles, now: dt.datetime
) -> None:
    other = FakeLog.create(pki_files)
    trust = Trust.from_material(pki_files.ca_path.read_bytes(), other.vkey)
    problem = first(await run(log, trust, now))
    assert (
        problem
        == f"checkpoint {log.checkpoints[0]['size']}: the note is not signed by the pinned log key"
    )


# -- the tree ----------------------------------------------------------------------------------


async def test_checkpoint_over_another_tree_names_the_first_leaf_it_disowns(
    log: FakeLog, trust: Trust, now: dt.datetime
) -> None:
    """A fork: the log signed a checkpoint over records that are not the ones it serves."""
    forked = list(log.records)
    index = kind_at(log, "answered", 12)
    forked[index] = forked[index].replace(b'"ms":', b'"ms":1')
    assert forked[index] != log.records[index]
    from core.merkle import MemoryTree, leaf_hash

    log.tree = MemoryTree(leaf_hash(r) for r in forked)
    size = log.checkpoints[-1]["size"]
    log.checkpoints[-1] = log.signed_checkpoint(size, log.tree.root(size))
    problem = first(await run(log, trust, now))
    assert problem.startswith(f"index {index}: the record is not the one checkpoint {size} commits")


async def test_lying_proofs_cannot_hide_a_changed_record(
    log: FakeLog, trust: Trust, now: dt.datetime
) -> None:
    """A server whose proofs do not verify makes the search stop early, never pass."""
    index = kind_at(log, "answered", 15)
    log.records[index] = log.records[index].replace(b'"outcome":"ok"', b'"outcome":"OK"')
    async with client_for(log) as client:

        async def garbage(m: int, n: int) -> list[bytes]:
            return [b"\0" * 32] * 3

        client.consistency = garbage  # type: ignore[method-assign,assignment]
        report = await verify_log(client, trust, now=now)
    problem = report.first
    assert problem is not None and problem.where == "index" and problem.position <= index


# -- the last run ------------------------------------------------------------------------------


async def test_state_of_the_last_run_must_be_extended(
    log: FakeLog, trust: Trust, now: dt.datetime
) -> None:
    report = await run(log, trust, now)
    state = report.state(ORIGIN)
    for _ in range(5):
        log.exchange()
    log.checkpoint()
    later = await run(log, trust, now, state=state)
    assert later.ok and later.size == state.size + 10


async def test_state_of_another_log_is_refused(
    log: FakeLog, trust: Trust, now: dt.datetime
) -> None:
    state = AuditState("other.example/log", 1, b"\0" * 32)
    assert first(await run(log, trust, now, state=state)) == (
        f"the state is of log 'other.example/log', not {ORIGIN!r}"
    )


async def test_state_without_leaves_still_detects_a_rewritten_history(
    log: FakeLog, trust: Trust, now: dt.datetime
) -> None:
    state = (await run(log, trust, now)).state(ORIGIN)
    bare = AuditState(state.origin, state.size, state.root)
    rewrite(log, 10, ms=99.5)
    log.rewrite_history()
    problem = first(await run(log, trust, now, state=bare))
    assert problem.startswith(
        f"index 0: the log no longer extends the last run's tree of {state.size}"
    )


async def test_problems_sort_in_log_order() -> None:
    problems = [
        Problem.record(5, "b"),
        Problem.checkpoint(5, "c"),
        Problem.record(4, "a"),
        Problem.log("l"),
    ]
    assert [str(p) for p in sorted(problems, key=lambda p: p.sort_key)] == [
        "l",
        "index 4: a",
        "checkpoint 5: c",
        "index 5: b",
    ]


def test_trust_files_must_exist(tmp_path: Path, pinned: Pinned) -> None:
    with pytest.raises(TrustError, match=r"no log key at .*run `lienthong certs init`"):
        Trust.load(ca=pinned.ca, log_key=tmp_path / "missing.vkey")
    (tmp_path / "bad.vkey").write_text("not a key\n")
    with pytest.raises(TrustError, match="not a note verifier key"):
        Trust.load(ca=pinned.ca, log_key=tmp_path / "bad.vkey")


async def test_client_answers_are_not_trusted_for_the_request_typ(
    log: FakeLog, trust: Trust, now: dt.datetime
) -> None:
    """A response JWS put where the request JWS belongs fails on its typ."""
    index = kind_at(log, "accepted", 0)
    answered = json.loads(log.records[index + 1])
    rewrite(log, index, client_jws_sha256=answered["response_jws_sha256"])
    rewrite(log, index, request_hash=answered["response_jws_sha256"])
    log.rewrite_history()
    assert first(await run(log, trust, now)) == (
        f"index {index}: the client's JWS does not verify at the record's time (typ)"
    )
    assert TYP_REQUEST and CLIENT  # the names the records use


async def test_audit_client_reports_api_errors(audit_client: AuditClient) -> None:
    from auditor.client import LogApiError

    with pytest.raises(LogApiError) as caught:
        await audit_client.exchange("nope")
    assert caught.value.status == 404 and caught.value.type == "client.exchange_not_found"
