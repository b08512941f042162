"""The citizens' consent API: grant, list, revoke — and what a consent lets the bank read."""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

import httpx
import pytest

from certs.dev import GATEWAY_ID
from core.citizen import issue_citizen_token
from tests.fixtures.gateway import Clock, InProcessExchange
from tests.fixtures.pki import PkiFiles
from tests.fixtures.world import LinkedWorld
from tests.gateway.support import (
    BANK_KYC,
    CITIZEN_ID,
    HBR,
    KYC,
    ONE_STOP,
    POPULATION,
    Gateway,
    citizen_token,
    record_json,
)

pytestmark = pytest.mark.anyio

PERSONS_SERVICE = f"{POPULATION}/persons"


@pytest.fixture
def pid(linked_world: LinkedWorld) -> str:
    return next(p for p in linked_world.population.people if p.date_of_death is None).personal_id


@pytest.fixture
async def citizens(exchange: InProcessExchange) -> Any:
    """The citizens' listener: no client certificate, a citizen token instead."""
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=exchange.gateway), base_url="https://citizens.test"
    ) as client:
        yield client


def _auth(pki: PkiFiles, pid: str, exchange: InProcessExchange) -> dict[str, str]:
    return {"Authorization": f"Bearer {citizen_token(pki, pid, exchange.clock())}"}


def _clock(exchange: InProcessExchange) -> Clock:
    assert isinstance(exchange.clock, Clock)
    return exchange.clock


def _consent(**overrides: Any) -> dict[str, Any]:
    return {
        "client": KYC,
        "purpose": BANK_KYC,
        "services": {PERSONS_SERVICE: ["full_name", "date_of_birth"]},
        **overrides,
    }


async def _bank_reads(
    exchange: InProcessExchange, pid: str, consent: str | None, fields: str
) -> httpx.Response:
    return await exchange.member(KYC).call(
        "GET",
        f"/r1/{PERSONS_SERVICE}/{pid}" + (f"?fields={fields}" if fields else ""),
        purpose=BANK_KYC,
        consent=consent,
    )


async def test_consent_granted_listed_and_revoked(
    exchange: InProcessExchange, citizens: httpx.AsyncClient, pki_files: PkiFiles, pid: str
) -> None:
    auth = _auth(pki_files, pid, exchange)
    granted = await citizens.post("/consents", json=_consent(), headers=auth)
    assert granted.status_code == 201, granted.text
    consent = granted.json()
    assert consent["status"] == "active"
    assert (consent["client"], consent["purpose"]) == (KYC, BANK_KYC)
    assert consent["services"] == {PERSONS_SERVICE: ["date_of_birth", "full_name"]}
    assert pid not in granted.text

    listed = await citizens.get("/consents", headers=auth)
    assert [c["id"] for c in listed.json()["consents"]] == [consent["id"]]

    revoked = await citizens.delete(f"/consents/{consent['id']}", headers=auth)
    assert revoked.status_code == 200, revoked.text
    assert revoked.json()["status"] == "revoked"
    listed = await citizens.get("/consents", headers=auth)
    assert [c["status"] for c in listed.json()["consents"]] == ["revoked"]


async def test_consent_lets_the_bank_read_exactly_the_consented_fields(
    exchange: InProcessExchange, citizens: httpx.AsyncClient, pki_files: PkiFiles, pid: str
) -> None:
    auth = _auth(pki_files, pid, exchange)
    consent = (await citizens.post("/consents", json=_consent(), headers=auth)).json()["id"]

    r = await _bank_reads(exchange, pid, consent, "full_name,date_of_birth")
    assert r.status_code == 200, r.text
    assert set(r.json()) == {"full_name", "date_of_birth"}

    beyond = await _bank_reads(exchange, pid, consent, "full_name,sex")
    assert beyond.status_code == 403
    assert beyond.json()["detail"] == {"check": "fields", "fields": ["sex"]}

    await citizens.delete(f"/consents/{consent}", headers=auth)
    after = await _bank_reads(exchange, pid, consent, "full_name,date_of_birth")
    assert after.status_code == 403
    assert after.json()["type"] == "client.consent_invalid"
    assert after.json()["detail"] == {"check": "revoked"}


async def test_without_fields_the_bank_gets_what_both_grant_and_consent_allow(
    exchange: InProcessExchange, citizens: httpx.AsyncClient, pki_files: PkiFiles, pid: str
) -> None:
    auth = _auth(pki_files, pid, exchange)
    # The consent names sex too, but the bank's grant does not cover spouse_id.
    body = _consent(services={PERSONS_SERVICE: ["full_name", "sex", "spouse_id"]})
    consent = (await citizens.post("/consents", json=body, headers=auth)).json()["id"]

    r = await _bank_reads(exchange, pid, consent, "")
    assert r.status_code == 200, r.text
    assert set(r.json()) == {"full_name", "sex"}
    forwarded = exchange.forwarder.sent[-1][1]
    assert forwarded.endswith("?fields=full_name,sex")


async def test_consent_of_one_citizen_does_not_open_another(
    exchange: InProcessExchange,
    citizens: httpx.AsyncClient,
    pki_files: PkiFiles,
    linked_world: LinkedWorld,
    pid: str,
) -> None:
    other = [p for p in linked_world.population.people if p.date_of_death is None][1].personal_id
    auth = _auth(pki_files, pid, exchange)
    consent = (await citizens.post("/consents", json=_consent(), headers=auth)).json()["id"]
    r = await _bank_reads(exchange, other, consent, "full_name")
    assert r.status_code == 403
    assert r.json()["detail"] == {"check": "subject"}


@pytest.mark.parametrize(
    "authorization",
    [
        None,
        "Bearer",
        "Basic dXNlcjpwYXNz",
        "Bearer not-a-token",
        "Bearer a.b.c",
    ],
    ids=["missing", "empty-bearer", "basic", "garbled", "not-a-jws"],
)
async def test_consent_api_refuses_without_a_valid_citizen_token(
    citizens: httpx.AsyncClient, authorization: str | None
) -> None:
    headers = {"Authorization": authorization} if authorization else {}
    for r in (
        await citizens.get("/consents", headers=headers),
        await citizens.post("/consents", json=_consent(), headers=headers),
        await citizens.delete("/consents/some-id", headers=headers),
    ):
        assert r.status_code == 401, r.text
        assert r.json()["type"] == "client.citizen_token_invalid"
        assert r.headers["x-road-error"] == "client.citizen_token_invalid"
        assert r.headers["www-authenticate"] == "Bearer"


@pytest.mark.parametrize("problem", ["other-audience", "not-the-issuer", "expired"])
async def test_citizen_token_must_be_for_the_gateway_from_the_issuer_and_live(
    exchange: InProcessExchange,
    citizens: httpx.AsyncClient,
    pki_files: PkiFiles,
    pid: str,
    problem: str,
) -> None:
    now = exchange.clock()
    signer = pki_files.signer(ONE_STOP if problem == "not-the-issuer" else CITIZEN_ID)
    token = issue_citizen_token(
        signer,
        pid,
        now=now - dt.timedelta(hours=2) if problem == "expired" else now,
        audience="VN/GOV/BCA/population" if problem == "other-audience" else GATEWAY_ID,
    )
    r = await citizens.get("/consents", headers={"Authorization": f"Bearer {token}"})
    assert r.status_code == 401
    assert r.json()["type"] == "client.citizen_token_invalid"


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"purpose": HBR}, "does not rest on consent"),
        ({"purpose": "no-such-purpose"}, "unknown purpose"),
        ({"services": {}}, "at least one service"),
        ({"services": {PERSONS_SERVICE: ["shoe_size"]}}, "offers no fields"),
        ({"services": {"VN/GOV/BCA/../persons": ["full_name"]}}, ""),
        ({"client": "not a client"}, ""),
        ({"valid_until": "2000-01-01T00:00:00Z"}, "valid_until"),
        ({"valid_until": "2999-01-01T00:00:00Z"}, "valid_until"),
        ({"valid_until": "tomorrow"}, ""),
    ],
    ids=[
        "purpose-without-consent",
        "purpose-unknown",
        "no-service",
        "field-unknown",
        "service-id-malformed",
        "client-id-malformed",
        "valid-until-past",
        "valid-until-beyond-maximum",
        "valid-until-not-a-date",
    ],
)
async def test_consent_refused_when_it_cannot_be_given(
    exchange: InProcessExchange,
    citizens: httpx.AsyncClient,
    pki_files: PkiFiles,
    pid: str,
    change: dict[str, Any],
    message: str,
) -> None:
    r = await citizens.post(
        "/consents", json=_consent(**change), headers=_auth(pki_files, pid, exchange)
    )
    assert r.status_code == 400, r.text
    assert r.json()["type"] == "client.bad_request"
    assert message in r.json()["message"]
    listed = await citizens.get("/consents", headers=_auth(pki_files, pid, exchange))
    assert listed.json()["consents"] == []


async def test_citizen_cannot_revoke_or_see_another_citizens_consent(
    exchange: InProcessExchange,
    citizens: httpx.AsyncClient,
    pki_files: PkiFiles,
    linked_world: LinkedWorld,
    pid: str,
) -> None:
    other = [p for p in linked_world.population.people if p.date_of_death is None][1].personal_id
    mine = _auth(pki_files, pid, exchange)
    theirs = _auth(pki_files, other, exchange)
    consent = (await citizens.post("/consents", json=_consent(), headers=mine)).json()["id"]
    assert (await citizens.get("/consents", headers=theirs)).json()["consents"] == []
    r = await citizens.delete(f"/consents/{consent}", headers=theirs)
    assert r.status_code == 404
    assert r.json()["type"] == "client.consent_not_found"
    r = await citizens.delete("/consents/no-such-consent", headers=mine)
    assert r.status_code == 404
    still = await _bank_reads(exchange, pid, consent, "full_name")
    assert still.status_code == 200, still.text


async def test_revoking_twice_answers_the_revoked_consent(
    exchange: InProcessExchange, citizens: httpx.AsyncClient, pki_files: PkiFiles, pid: str
) -> None:
    auth = _auth(pki_files, pid, exchange)
    consent = (await citizens.post("/consents", json=_consent(), headers=auth)).json()["id"]
    first = await citizens.delete(f"/consents/{consent}", headers=auth)
    _clock(exchange).advance(10)
    second = await citizens.delete(f"/consents/{consent}", headers=auth)
    assert second.status_code == 200
    assert second.json()["revoked_at"] == first.json()["revoked_at"]


async def test_consent_expires_at_its_valid_until(
    exchange: InProcessExchange, citizens: httpx.AsyncClient, pki_files: PkiFiles, pid: str
) -> None:
    until = exchange.clock() + dt.timedelta(seconds=2)
    auth = _auth(pki_files, pid, exchange)
    consent = (
        await citizens.post("/consents", json=_consent(valid_until=until.isoformat()), headers=auth)
    ).json()["id"]
    _clock(exchange).advance(2)  # exactly at valid_until: still live
    assert (await _bank_reads(exchange, pid, consent, "full_name")).status_code == 200
    _clock(exchange).advance(1)
    r = await _bank_reads(exchange, pid, consent, "full_name")
    assert (r.status_code, r.json()["detail"]) == (403, {"check": "expired"})


async def test_consent_changes_leave_consent_records(
    exchange: InProcessExchange, citizens: httpx.AsyncClient, pki_files: PkiFiles, pid: str
) -> None:
    gw = Gateway(exchange, pki_files)
    auth = _auth(pki_files, pid, exchange)
    consent = (await citizens.post("/consents", json=_consent(), headers=auth)).json()
    await citizens.delete(f"/consents/{consent['id']}", headers=auth)
    rows = [r for r in gw.records() if r.kind == "consent"]
    assert [record_json(r)["action"] for r in rows] == ["grant", "revoke"]
    subject = exchange.gateway.state.keys.subject_pseudonym(pid)
    for row in rows:
        assert row.x_road_id == consent["id"]
        assert row.subject == subject
        assert row.client == KYC
        body = record_json(row)
        assert body["consent"]["subject"] == subject
        assert body["consent"]["purpose"] == BANK_KYC
        assert pid.encode() not in bytes(row.record)
    assert json.loads(bytes(rows[1].record))["consent"]["status"] == "revoked"


async def test_purposes_are_listed_with_their_legal_basis(citizens: httpx.AsyncClient) -> None:
    r = await citizens.get("/purposes")
    purposes = {p["code"]: p for p in r.json()["purposes"]}
    assert purposes[BANK_KYC]["consent"] is True
    assert purposes[BANK_KYC]["legal_basis_iri"] == "https://w3id.org/dpv#Consent"
    assert purposes[HBR]["consent"] is False
