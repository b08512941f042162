"""The auditor API: only the State Audit Office's identity reads the log, and what it reads
checks out with ``core.merkle`` and the log's key alone.

The auditor calls over the members' listener with its member certificate (in process: the
TLS peer in the ASGI scope), no request signature. Every proof is verified against a
checkpoint the API itself served, the way ``auditor/`` does it.
"""

from __future__ import annotations

import base64
import datetime as dt
import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from certs.dev import ADMIN_ID, AUDITOR_ID
from core import merkle
from core.checkpoint import open_checkpoint
from core.note import parse_verifier_key
from core.pki import load_certificate
from core.signing import TYP_REQUEST, TYP_RESPONSE, sha256_b64url, verify
from core.timestamp import (
    QUERY_CONTENT_TYPE,
    timestamp_request,
    token_from_reply,
    verify_timestamp,
)
from gateway.log import Checkpointer, LogStore, StoredCheckpoint
from stack.tsa.app import create_app as create_tsa_app
from stack.tsa.settings import TsaSettings
from tests.fixtures.gateway import BuildExchange, InProcessExchange
from tests.fixtures.pki import PkiFiles
from tests.fixtures.world import LinkedWorld
from tests.gateway.support import BANK_KYC, ONE_STOP, PERSONS, Gateway, Reply

pytestmark = pytest.mark.anyio

ORIGIN = "lienthong.local/evidence-log"
NOBODY = "001090999999"


@pytest.fixture
def pid(linked_world: LinkedWorld) -> str:
    return next(p for p in linked_world.population.people if p.date_of_death is None).personal_id


@pytest.fixture
def auditor(exchange: InProcessExchange) -> httpx.AsyncClient:
    """The auditor's connection: its member certificate at the TLS layer."""
    return exchange.member(AUDITOR_ID).http


def log_of(ex: InProcessExchange) -> LogStore:
    log: LogStore = ex.gateway.state.log
    return log


async def tick(ex: InProcessExchange) -> StoredCheckpoint:
    checkpointer: Checkpointer = ex.gateway.state.checkpointer
    made = await checkpointer.tick()
    assert made is not None
    return made


async def some_exchanges(gw: Gateway, pid: str) -> list[Reply]:
    """Answered, refused (signed and unsigned) and provider 404: 6 records."""
    replies = [
        await gw.request(path=f"{PERSONS}/{pid}"),
        await gw.request(path=f"{PERSONS}/{pid}", purpose=BANK_KYC),
        await gw.request(path=f"{PERSONS}/{pid}", sign=False),
        await gw.request(path=f"{PERSONS}/{NOBODY}"),
    ]
    assert [r.status for r in replies] == [200, 403, 401, 404]
    return replies


def ok(r: httpx.Response) -> Any:
    assert r.status_code == 200, r.text
    return r.json()


def refused(r: httpx.Response, status: int, type_: str) -> dict[str, Any]:
    assert r.status_code == status, r.text
    body: dict[str, Any] = r.json()
    assert body["type"] == type_
    assert r.headers["x-road-error"] == type_
    return body


def referenced(records: list[str]) -> set[str]:
    """The JWS digests the records point to."""
    digests: set[str] = set()
    for text in records:
        body = json.loads(text)
        for key in ("client_jws_sha256", "response_jws_sha256"):
            if body.get(key) is not None:
                digests.add(body[key])
    return digests


def check_signatures(signatures: dict[str, str], records: list[str], pki: PkiFiles) -> None:
    """Exactly the JWS the records reference, each the one its digest names, each valid."""
    assert set(signatures) == referenced(records)
    for digest, jws in signatures.items():
        assert sha256_b64url(jws.encode()) == digest
    store = pki.store()
    for text in records:
        body = json.loads(text)
        when = dt.datetime.fromisoformat(body["time"].replace("Z", "+00:00"))
        if body.get("client_jws_sha256"):
            verify(signatures[body["client_jws_sha256"]], store=store, now=when, typ=TYP_REQUEST)
        if body.get("response_jws_sha256"):
            verify(signatures[body["response_jws_sha256"]], store=store, now=when, typ=TYP_RESPONSE)


# -- who may read ----------------------------------------------------------------------------

ENDPOINTS = [
    "/audit/log-key",
    "/audit/checkpoint",
    "/audit/checkpoints",
    "/audit/entries?start=0&end=1",
    "/audit/proof/inclusion?index=0&size=1",
    "/audit/proof/consistency?from=0&to=1",
    "/audit/exchanges/some-id",
]


@pytest.mark.parametrize("path", ENDPOINTS)
async def test_only_the_auditor_reads_the_log(
    gw: Gateway, auditor: httpx.AsyncClient, pid: str, path: str
) -> None:
    await gw.request(path=f"{PERSONS}/{pid}")
    await tick(gw.ex)
    for member in (ONE_STOP, ADMIN_ID):
        r = await gw.ex.member(member).http.get(path)
        body = refused(r, 403, "client.access_denied")
        assert "VN/GOV/KTNN/audit" in body["message"]
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=gw.ex.gateway), base_url="https://gateway.test"
    ) as anonymous:
        refused(await anonymous.get(path), 403, "client.access_denied")

    r = await auditor.get(path)
    if path.startswith("/audit/exchanges/"):
        refused(r, 404, "client.exchange_not_found")
    else:
        ok(r)


async def test_the_auditors_certificate_on_another_members_connection_is_not_enough(
    gw: Gateway,
) -> None:
    """The identity is the TLS peer's: a consumer cannot borrow the auditor's id by header."""
    r = await gw.ex.member(ONE_STOP).http.get(
        "/audit/log-key", headers={"X-Road-Client": AUDITOR_ID}
    )
    refused(r, 403, "client.access_denied")


# -- key and checkpoints ---------------------------------------------------------------------


async def test_log_key_is_the_pinned_note_key(auditor: httpx.AsyncClient, dev_pki: Path) -> None:
    body = ok(await auditor.get("/audit/log-key"))
    assert body == {
        "origin": ORIGIN,
        "vkey": (dev_pki / "log" / "note.vkey").read_text().strip(),
    }
    assert parse_verifier_key(body["vkey"]).name == ORIGIN


async def test_no_checkpoint_before_the_first_one(
    gw: Gateway, auditor: httpx.AsyncClient, pid: str
) -> None:
    refused(await auditor.get("/audit/checkpoint"), 404, "client.no_checkpoint")
    assert ok(await auditor.get("/audit/checkpoints")) == {"checkpoints": []}
    await gw.request(path=f"{PERSONS}/{pid}")
    refused(await auditor.get("/audit/checkpoint"), 404, "client.no_checkpoint")
    refused(
        await auditor.get("/audit/proof/inclusion", params={"index": 0, "size": 1}),
        404,
        "client.no_checkpoint",
    )
    refused(
        await auditor.get("/audit/proof/consistency", params={"from": 0, "to": 1}),
        404,
        "client.no_checkpoint",
    )
    # Entries need no checkpoint; an exchange's records come without proofs.
    entries = ok(await auditor.get("/audit/entries", params={"start": 0, "end": 2}))
    assert [e["index"] for e in entries["entries"]] == [0, 1]
    x_road_id = json.loads(entries["entries"][0]["record"])["x_road_id"]
    one = ok(await auditor.get(f"/audit/exchanges/{x_road_id}"))
    assert one["checkpoint"] is None
    assert [r["proof"] for r in one["records"]] == [None, None]


async def test_checkpoints_served_latest_and_by_size(
    gw: Gateway, auditor: httpx.AsyncClient, pid: str
) -> None:
    await some_exchanges(gw, pid)
    first = await tick(gw.ex)
    gw.clock.advance(2)
    await gw.request(path=f"{PERSONS}/{pid}")
    second = await tick(gw.ex)
    assert (first.size, second.size) == (6, 8)

    latest = ok(await auditor.get("/audit/checkpoint"))
    assert latest == second.public()
    assert set(latest) == {"size", "root", "note", "timestamp", "signed_at"}
    assert latest["timestamp"] is None  # no TSA in this exchange
    assert latest["signed_at"].endswith("Z")
    assert dt.datetime.fromisoformat(latest["signed_at"].replace("Z", "+00:00")) == gw.now()
    vkey = ok(await auditor.get("/audit/log-key"))["vkey"]
    opened = open_checkpoint(latest["note"], parse_verifier_key(vkey), origin=ORIGIN)
    assert (opened.size, opened.root.hex()) == (latest["size"], latest["root"])
    assert opened.root == merkle.root([merkle.leaf_hash(r) for _, r in log_of(gw.ex).entries(0, 8)])

    history = ok(await auditor.get("/audit/checkpoints"))["checkpoints"]
    assert history == [first.public(), second.public()]
    after = await auditor.get("/audit/checkpoints", params={"after": first.size})
    assert ok(after)["checkpoints"] == [second.public()]
    last = await auditor.get("/audit/checkpoints", params={"after": second.size})
    assert ok(last)["checkpoints"] == []
    one = await auditor.get("/audit/checkpoints", params={"limit": 1})
    assert ok(one)["checkpoints"] == [first.public()]
    for bad in ({"limit": 1001}, {"limit": 0}, {"after": -2}, {"after": "x"}):
        refused(await auditor.get("/audit/checkpoints", params=bad), 400, "client.bad_request")


@pytest.fixture
async def tsa_timestamper(dev_pki: Path) -> AsyncIterator[Any]:
    app = create_tsa_app(TsaSettings(pki_dir=dev_pki, access_log=False, environment="test"))
    async with (
        app.router.lifespan_context(app),
        httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app), base_url="http://tsa.test"
        ) as client,
    ):

        async def timestamper(data: bytes) -> bytes:
            r = await client.post(
                "/",
                content=timestamp_request(data),
                headers={"Content-Type": QUERY_CONTENT_TYPE},
            )
            return token_from_reply(r.content)

        yield timestamper


async def test_checkpoint_carries_its_timestamp_token(
    build_exchange: BuildExchange, tsa_timestamper: Any, pki_files: PkiFiles, pid: str
) -> None:
    ex = await build_exchange(timestamper=tsa_timestamper)
    await Gateway(ex, pki_files).request(path=f"{PERSONS}/{pid}")
    await tick(ex)
    latest = ok(await ex.member(AUDITOR_ID).http.get("/audit/checkpoint"))
    token = base64.b64decode(latest["timestamp"], validate=True)
    ca = load_certificate(pki_files.ca_path)
    verify_timestamp(token, latest["note"].encode("utf-8"), ca_certificates=[ca])
    listed = ok(await ex.member(AUDITOR_ID).http.get("/audit/checkpoints"))
    assert listed["checkpoints"] == [latest]


# -- entries ---------------------------------------------------------------------------------


async def test_entries_are_the_records_with_their_signatures(
    gw: Gateway, auditor: httpx.AsyncClient, pid: str, pki_files: PkiFiles
) -> None:
    await some_exchanges(gw, pid)
    stored = log_of(gw.ex).entries(0, 6)

    page = ok(await auditor.get("/audit/entries", params={"start": 0, "end": 6}))
    assert set(page) == {"entries", "signatures"}
    assert [e["index"] for e in page["entries"]] == list(range(6))
    assert [e["record"].encode() for e in page["entries"]] == [r for _, r in stored]
    for e in page["entries"]:
        assert e["leaf_hash"] == merkle.leaf_hash(e["record"].encode()).hex()
    records = [e["record"] for e in page["entries"]]
    check_signatures(page["signatures"], records, pki_files)
    assert len(page["signatures"]) == 5  # 2 requests accepted + 1 refused signed, 2 answers

    part = ok(await auditor.get("/audit/entries", params={"start": 2, "end": 4}))
    assert [e["index"] for e in part["entries"]] == [2, 3]
    check_signatures(part["signatures"], [e["record"] for e in part["entries"]], pki_files)
    assert len(part["signatures"]) == 1  # the refused request's; the unsigned one has none

    unsigned_only = ok(await auditor.get("/audit/entries", params={"start": 3, "end": 4}))
    assert unsigned_only["signatures"] == {}


async def test_entries_paging_limits(gw: Gateway, auditor: httpx.AsyncClient, pid: str) -> None:
    await some_exchanges(gw, pid)
    size = log_of(gw.ex).size()
    assert size == 6
    beyond = await auditor.get("/audit/entries", params={"start": 0, "end": size + 1})
    assert refused(beyond, 400, "client.bad_request")["detail"] == {"size": size}
    bad: list[dict[str, int | str]] = [
        {"start": 0, "end": 1001},  # more than 1000 entries a page
        {"start": 3, "end": 3},  # start ≥ end
        {"start": 4, "end": 2},
        {"start": -1, "end": 2},
        {"start": 0, "end": 0},
        {"start": 0},
        {"end": 2},
        {"start": "a", "end": 2},
    ]
    for params in bad:
        refused(await auditor.get("/audit/entries", params=params), 400, "client.bad_request")
    last = ok(await auditor.get("/audit/entries", params={"start": size - 1, "end": size}))
    assert [e["index"] for e in last["entries"]] == [size - 1]


# -- proofs ----------------------------------------------------------------------------------


async def test_inclusion_proofs_verify_against_served_checkpoints(
    gw: Gateway, auditor: httpx.AsyncClient, pid: str
) -> None:
    await some_exchanges(gw, pid)
    first = await tick(gw.ex)
    await gw.request(path=f"{PERSONS}/{pid}")
    await tick(gw.ex)
    await gw.request(path=f"{PERSONS}/{pid}")  # two records after the last checkpoint
    latest = ok(await auditor.get("/audit/checkpoint"))
    entries = ok(await auditor.get("/audit/entries", params={"start": 0, "end": 10}))["entries"]

    for checkpoint in (first.public(), latest):
        size, root = checkpoint["size"], bytes.fromhex(checkpoint["root"])
        for index in range(size):
            got = ok(
                await auditor.get("/audit/proof/inclusion", params={"index": index, "size": size})
            )
            assert (got["index"], got["size"], got["root"]) == (index, size, checkpoint["root"])
            assert got["leaf_hash"] == entries[index]["leaf_hash"]
            proof = [bytes.fromhex(p) for p in got["proof"]]
            leaf = bytes.fromhex(got["leaf_hash"])
            assert merkle.verify_inclusion(index, size, leaf, proof, root)

    size = latest["size"]
    for params in (
        {"index": 0, "size": size + 1},  # beyond the latest checkpoint
        {"index": size, "size": size},  # index ≥ size
        {"index": -1, "size": size},
        {"index": 0, "size": 0},
        {"index": 0},
    ):
        refused(
            await auditor.get("/audit/proof/inclusion", params=params), 400, "client.bad_request"
        )


async def test_consistency_proofs_verify_between_served_checkpoints(
    gw: Gateway, auditor: httpx.AsyncClient, pid: str
) -> None:
    await some_exchanges(gw, pid)
    sizes = []
    roots = {}
    for _ in range(3):
        made = await tick(gw.ex)
        sizes.append(made.size)
        roots[made.size] = made.root
        await gw.request(path=f"{PERSONS}/{pid}")
    assert sizes == [6, 8, 10]

    for m in sizes:
        for n in sizes:
            if m > n:
                continue
            got = ok(await auditor.get("/audit/proof/consistency", params={"from": m, "to": n}))
            assert (got["from"], got["to"]) == (m, n)
            proof = [bytes.fromhex(p) for p in got["proof"]]
            assert merkle.verify_consistency(m, n, roots[m], roots[n], proof), (m, n)
            if m == n:
                assert proof == []

    empty = ok(await auditor.get("/audit/proof/consistency", params={"from": 0, "to": 10}))
    assert empty == {"from": 0, "to": 10, "proof": []}
    for params in (
        {"from": 8, "to": 6},  # from > to
        {"from": 6, "to": 11},  # beyond the latest checkpoint (the log holds 12)
        {"from": -1, "to": 6},
        {"from": 0, "to": 0},
        {"to": 6},
    ):
        refused(
            await auditor.get("/audit/proof/consistency", params=params), 400, "client.bad_request"
        )


# -- one exchange ----------------------------------------------------------------------------


async def test_one_exchange_with_its_proofs_and_signatures(
    gw: Gateway, auditor: httpx.AsyncClient, pid: str, pki_files: PkiFiles
) -> None:
    replies = await some_exchanges(gw, pid)
    await tick(gw.ex)
    later = await gw.request(path=f"{PERSONS}/{pid}")
    answered_id = replies[0].headers["x-road-id"]

    got = ok(await auditor.get(f"/audit/exchanges/{answered_id}"))
    latest = ok(await auditor.get("/audit/checkpoint"))
    assert got["x_road_id"] == answered_id
    assert got["checkpoint"] == latest
    size, root = latest["size"], bytes.fromhex(latest["root"])
    assert [json.loads(r["record"])["kind"] for r in got["records"]] == ["accepted", "answered"]
    stored = dict(log_of(gw.ex).records_of(answered_id))
    for r in got["records"]:
        assert r["record"].encode() == stored[r["index"]]
        assert r["leaf_hash"] == merkle.leaf_hash(r["record"].encode()).hex()
        proof = [bytes.fromhex(p) for p in r["proof"]]
        leaf = bytes.fromhex(r["leaf_hash"])
        assert merkle.verify_inclusion(r["index"], size, leaf, proof, root)
    check_signatures(got["signatures"], [r["record"] for r in got["records"]], pki_files)
    accepted, answered = (json.loads(r["record"]) for r in got["records"])
    request = got["signatures"][accepted["client_jws_sha256"]]
    claims = verify(request, store=pki_files.store(), now=gw.now(), typ=TYP_REQUEST).claims
    assert claims["jti"] == answered_id
    response = got["signatures"][answered["response_jws_sha256"]]
    assert response == replies[0].headers["x-road-response-signature"]

    pending = ok(await auditor.get(f"/audit/exchanges/{later.headers['x-road-id']}"))
    assert [r["index"] for r in pending["records"]] == [size, size + 1]
    assert [r["proof"] for r in pending["records"]] == [None, None]
    assert pending["checkpoint"] == latest

    refusal = ok(await auditor.get(f"/audit/exchanges/{replies[1].headers['x-road-id']}"))
    assert [json.loads(r["record"])["kind"] for r in refusal["records"]] == ["refused"]
    check_signatures(refusal["signatures"], [r["record"] for r in refusal["records"]], pki_files)
    unsigned = ok(await auditor.get(f"/audit/exchanges/{replies[2].headers['x-road-id']}"))
    assert unsigned["signatures"] == {}

    refused(await auditor.get("/audit/exchanges/no-such-id"), 404, "client.exchange_not_found")
