"""Positive exchanges: each kind of query an allowed client makes, end to end in process.

Every answer is checked the way a consumer and an auditor would: the relayed registry
signature binds this request and this body, the forward header carried exactly the allowed
fields, and the exchange left one ``accepted`` and one ``answered`` record — canonical JSON,
the data subject as an HMAC, the client's JWS sealed for auditors.
"""

from __future__ import annotations

import asyncio
import json
import re
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
from sqlalchemy import select

from certs.dev import GATEWAY_ID
from core.canonical import canonical_json
from core.signing import (
    TYP_FORWARD,
    TYP_REQUEST,
    TYP_RESPONSE,
    sha256_b64url,
    unverified_claims,
    verify,
)
from gateway.models import exchange_signature
from gateway.policy import DEFAULT_POLICY_DIR, Policy
from tests.fixtures.gateway import OFFICIAL, InProcessExchange
from tests.fixtures.pki import PkiFiles
from tests.fixtures.world import LinkedWorld
from tests.gateway.support import (
    BUSINESS,
    HBR,
    LAND,
    LAND_OFFICE,
    LAND_TRANSFER,
    ONE_STOP,
    POPULATION,
    record_json,
)

pytestmark = pytest.mark.anyio

HEX64 = re.compile(r"[0-9a-f]{64}")


@dataclass(frozen=True)
class Query:
    """One positive exchange: who asks what, and the personal id it is about (if any)."""

    id: str
    client: str
    purpose: str
    method: str
    path: str  # with {pid}, {code}, {registration}, {parcel}, {holder} placeholders
    provider: str
    subject: str | None  # which placeholder is the data subject's personal id
    body: str | None = None  # "identity": the identity verification body


def _world_values(world: LinkedWorld) -> dict[str, str]:
    alive = [p for p in world.population.people if p.date_of_death is None]
    representative = world.business.representative_rows[0][1]
    return {
        "pid": alive[0].personal_id,
        "code": world.business.enterprises[0].code,
        "representative": representative,
        "registration": world.business.household_rows[0][0],
        "parcel": world.land.parcels[0][0],
        "holder": next(r[3] for r in world.land.rights_holders if r[2] == "person"),
    }


QUERIES = [
    Query("person", ONE_STOP, HBR, "GET", "persons/{pid}", POPULATION, "pid"),
    Query("household", ONE_STOP, HBR, "GET", "persons/{pid}/household", POPULATION, "pid"),
    Query("enterprise", ONE_STOP, HBR, "GET", "enterprises/{code}", BUSINESS, None),
    Query(
        "roles", ONE_STOP, HBR, "GET", "persons/{representative}/roles", BUSINESS, "representative"
    ),
    Query(
        "household-business",
        ONE_STOP,
        HBR,
        "GET",
        "household-businesses/{registration}",
        BUSINESS,
        None,
    ),
    Query("parcel", LAND_OFFICE, LAND_TRANSFER, "GET", "parcels/{parcel}", LAND, None),
    Query(
        "parcels-of-a-person",
        LAND_OFFICE,
        LAND_TRANSFER,
        "GET",
        "persons/{holder}/parcels",
        LAND,
        "holder",
    ),
    Query(
        "identity-verification",
        ONE_STOP,
        HBR,
        "POST",
        "verifications/identity",
        POPULATION,
        "pid",
        body="identity",
    ),
]


def _granted(client: str, service: str, path: str) -> set[str] | None:
    """The fields the dev policy file grants ``client`` on one operation (None: every one)."""
    policy = Policy.from_dir(DEFAULT_POLICY_DIR)
    out: set[str] = set()
    for g in policy.grants():
        if str(g.client) == client and str(g.service) == service and g.covers("GET", path):
            if g.fields is None:
                return None
            out |= g.fields
    return out


async def _run(
    exchange: InProcessExchange, world: LinkedWorld, q: Query
) -> tuple[httpx.Response, dict[str, str]]:
    values = _world_values(world)
    member = exchange.member(q.client)
    body: Any = None
    if q.body == "identity":
        person = next(p for p in world.population.people if p.personal_id == values["pid"])
        body = {
            "personal_id": person.personal_id,
            "full_name": person.full_name,
            "date_of_birth": person.date_of_birth.isoformat(),
        }
    path = f"/r1/{q.provider}/" + q.path.format(**values)
    r = await member.call(q.method, path, purpose=q.purpose, json=body)
    return r, values


@pytest.mark.parametrize("q", QUERIES, ids=[q.id for q in QUERIES])
async def test_query_answered_signed_and_recorded(
    exchange: InProcessExchange, linked_world: LinkedWorld, pki_files: PkiFiles, q: Query
) -> None:
    r, values = await _run(exchange, linked_world, q)
    assert r.status_code == 200, r.text
    jws = r.request.headers["x-road-signature"]
    request_claims = verify(jws, store=pki_files.store(), now=exchange.clock(), typ=TYP_REQUEST)
    jti = request_claims.claims["jti"]
    service = f"{q.provider}/{q.path.split('/')[0]}"
    request_hash = sha256_b64url(jws.encode("ascii"))

    # The response headers bind the answer to this request.
    assert r.headers["x-road-id"] == jti
    assert r.headers["x-road-client"] == q.client
    assert r.headers["x-road-service"] == service
    assert r.headers["x-road-request-hash"] == request_hash
    assert "x-road-error" not in r.headers
    response = verify(
        r.headers["x-road-response-signature"],
        store=pki_files.store(),
        now=exchange.clock(),
        typ=TYP_RESPONSE,
    )
    assert str(response.signer) == q.provider
    assert response.claims["iss"] == q.provider
    assert response.claims["jti"] == jti
    assert response.claims["request_hash"] == request_hash
    assert response.claims["status"] == 200
    assert response.claims["body_sha256"] == sha256_b64url(r.content)

    # The forward header: signed by the gateway, for the provider, this exchange.
    method, url, headers = exchange.forwarder.sent[-1]
    forwarded = verify(
        headers["X-Road-Forward"], store=pki_files.store(), now=exchange.clock(), typ=TYP_FORWARD
    )
    forward = forwarded.claims
    assert str(forwarded.signer) == forward["iss"] == GATEWAY_ID
    assert forward["aud"] == q.provider
    assert (forward["jti"], forward["client"], forward["service"]) == (jti, q.client, service)
    assert (forward["purpose"], forward["request_hash"]) == (q.purpose, request_hash)
    assert forward["htm"] == method == q.method
    assert url.endswith(forward["htu"])
    assert headers["X-Road-Id"] == jti

    # Records: accepted then answered, canonical, pseudonymous, JWS sealed.
    rows = _records(exchange)
    assert [r_.seq for r_ in rows] == list(range(len(rows)))
    mine = [row for row in rows if row.x_road_id == jti]
    assert [row.kind for row in mine] == ["accepted", "answered"]
    for row in mine:
        raw = bytes(row.record)
        assert raw == canonical_json(json.loads(raw))
        for pid in {values["pid"], values["representative"], values["holder"], OFFICIAL}:
            assert pid.encode() not in raw
    accepted, answered = (record_json(row) for row in mine)
    keys = exchange.gateway.state.keys
    if q.subject is None:
        assert mine[0].subject is None
    else:
        assert HEX64.fullmatch(mine[0].subject)
        assert mine[0].subject == keys.subject_pseudonym(values[q.subject])
        assert accepted["subject"] == mine[0].subject
    assert accepted["user"] == keys.subject_pseudonym(OFFICIAL)
    assert accepted["purpose"] == q.purpose
    assert accepted["request_hash"] == answered["request_hash"] == request_hash
    assert (answered["status"], answered["outcome"]) == (200, "ok")
    assert answered["response_sha256"] == sha256_b64url(r.content)
    assert _unsealed(exchange, accepted["client_jws_sha256"]) == jws
    assert (
        _unsealed(exchange, answered["response_jws_sha256"])
        == r.headers["x-road-response-signature"]
    )


async def test_a_forwarding_failure_no_answered_record_describes_still_logs_the_accepted_one(
    exchange: InProcessExchange, linked_world: LinkedWorld, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The accepted record is written with the answered one; when forwarding dies of an
    # unexpected error there is no answered record, and the accepted one is written alone.
    async def broken(*_args: Any, **_kwargs: Any) -> Any:
        raise RuntimeError("a bug in the forwarder")

    monkeypatch.setattr(exchange.forwarder, "send", broken)
    r, _ = await _run(exchange, linked_world, QUERIES[0])
    assert r.status_code == 500
    assert r.json()["type"] == "server.internal_error"
    jti = unverified_claims(r.request.headers["x-road-signature"])["jti"]
    assert [row.kind for row in _records(exchange) if row.x_road_id == jti] == ["accepted"]


def _records(exchange: InProcessExchange) -> list[Any]:
    from gateway.models import exchange_record

    with exchange.gateway.state.engine.connect() as conn:
        return list(conn.execute(select(exchange_record).order_by(exchange_record.c.seq)).all())


def _unsealed(exchange: InProcessExchange, digest: str) -> str:
    with exchange.gateway.state.engine.connect() as conn:
        sealed = conn.execute(
            select(exchange_signature.c.sealed).where(exchange_signature.c.digest == digest)
        ).scalar_one()
    unsealed: str = exchange.gateway.state.keys.unseal(digest, bytes(sealed))
    return unsealed


async def test_without_fields_exactly_the_granted_fields_come_back(
    exchange: InProcessExchange, linked_world: LinkedWorld
) -> None:
    r, _ = await _run(exchange, linked_world, QUERIES[0])
    granted = _granted(ONE_STOP, f"{POPULATION}/persons", "/{personal_id}")
    assert granted is not None
    assert set(r.json()) == granted
    _, url, headers = exchange.forwarder.sent[-1]
    forward = verify(
        headers["X-Road-Forward"],
        store=exchange.gateway.state.store,
        now=exchange.clock(),
        typ=TYP_FORWARD,
    ).claims
    assert set(forward["fields"]) == granted
    asked = parse_qs(urlsplit(url).query)["fields"][0].split(",")
    assert asked == forward["fields"]
    assert "?fields=" in forward["htu"]


async def test_household_members_carry_only_granted_fields(
    exchange: InProcessExchange, linked_world: LinkedWorld
) -> None:
    r, _ = await _run(exchange, linked_world, QUERIES[1])
    granted = _granted(ONE_STOP, f"{POPULATION}/persons", "/{personal_id}/household")
    assert r.json()["members"]
    for member in r.json()["members"]:
        assert set(member) == granted


async def test_asked_fields_are_exactly_what_comes_back(
    exchange: InProcessExchange, linked_world: LinkedWorld
) -> None:
    pid = _world_values(linked_world)["pid"]
    one_stop = exchange.member(ONE_STOP)
    r = await one_stop.call(
        "GET", f"/r1/{POPULATION}/persons/{pid}?fields=sex,full_name", purpose=HBR
    )
    assert r.status_code == 200, r.text
    assert set(r.json()) == {"full_name", "sex"}
    _, url, _ = exchange.forwarder.sent[-1]
    assert urlsplit(url).query == "fields=full_name,sex"  # in the operation's order


async def test_every_file_grant_field_is_offered(exchange: InProcessExchange) -> None:
    """The dev policy grants no field the registries do not have (a typo would lock out)."""
    catalogue = exchange.gateway.state.catalogue
    for g in Policy.from_dir(DEFAULT_POLICY_DIR).grants():
        ops = catalogue.operations(g.service)
        assert ops, g.service
        if g.fields is not None:
            offered = {f for op in ops if g.covers(op.method, op.path) for f in op.fields}
            assert g.fields <= offered, (g.service, g.fields - offered)


async def test_forward_has_no_field_selection_for_operations_without_fields(
    exchange: InProcessExchange, linked_world: LinkedWorld
) -> None:
    r, _ = await _run(exchange, linked_world, QUERIES[-1])
    assert r.json()["match"] is True
    _, url, headers = exchange.forwarder.sent[-1]
    forward = verify(
        headers["X-Road-Forward"],
        store=exchange.gateway.state.store,
        now=exchange.clock(),
        typ=TYP_FORWARD,
    ).claims
    assert forward["fields"] is None
    assert "?" not in forward["htu"] and "?" not in url
    assert forward["body_sha256"] == sha256_b64url(r.request.content)


async def test_x_road_id_defaults_to_the_jti(
    exchange: InProcessExchange, linked_world: LinkedWorld
) -> None:
    pid = _world_values(linked_world)["pid"]
    r = await exchange.member(ONE_STOP).call(
        "GET", f"/r1/{POPULATION}/persons/{pid}", purpose=HBR, jti="case-42.a:b_c"
    )
    assert r.status_code == 200, r.text
    assert "x-road-id" not in {k.lower() for k in r.request.headers}
    assert r.headers["x-road-id"] == "case-42.a:b_c"


async def test_issue_is_recorded(exchange: InProcessExchange, linked_world: LinkedWorld) -> None:
    pid = _world_values(linked_world)["pid"]
    r = await exchange.member(ONE_STOP).call(
        "GET",
        f"/r1/{POPULATION}/persons/{pid}",
        purpose=HBR,
        headers={"X-Road-Issue": "HKD-2025/000123"},
    )
    assert r.status_code == 200, r.text
    accepted = record_json(next(row for row in _records(exchange) if row.kind == "accepted"))
    assert accepted["issue"] == "HKD-2025/000123"
    assert accepted["legal_basis"] == "dpv:OfficialAuthority"
    assert accepted["path_template"] == "/{personal_id}"
    assert accepted["grants"]


async def test_concurrent_exchanges_leave_contiguous_paired_records(
    exchange: InProcessExchange, linked_world: LinkedWorld
) -> None:
    alive = [p.personal_id for p in linked_world.population.people if p.date_of_death is None]
    one_stop = exchange.member(ONE_STOP)
    replies = await asyncio.gather(
        *(
            one_stop.call("GET", f"/r1/{POPULATION}/persons/{pid}", purpose=HBR)
            for pid in alive[:16]
        )
    )
    assert [r.status_code for r in replies] == [200] * 16
    rows = _records(exchange)
    assert [row.seq for row in rows] == list(range(32))
    for r in replies:
        mine = [row for row in rows if row.x_road_id == r.headers["x-road-id"]]
        assert [row.kind for row in mine] == ["accepted", "answered"]
        assert mine[0].seq < mine[1].seq
