"""The citizen identity stand-in and its tokens: issued, verified, and every way they fail."""

from __future__ import annotations

import base64
import datetime as dt
import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from pydantic import ValidationError
from typer.testing import CliRunner

from certs.dev import CITIZEN_ID_SERVICE_ID, CONSUMERS, GATEWAY_ID, PROVIDERS
from core.citizen import (
    CLOCK_SKEW,
    MAX_TTL,
    CitizenTokenInvalid,
    issue_citizen_token,
    verify_citizen_token,
)
from core.errors import InvalidIdentifier, Unauthorized
from core.ids.xroad import parse_client_id
from core.pki import TrustStore, certificate_pem, fingerprint
from core.signing import TYP_CITIZEN, TYP_REQUEST, Signer, b64url
from stack.citizen_id.app import NOTICE, STAND_IN_HEADER, EnvironmentRefused, create_app
from stack.citizen_id.cli import app as citizen_cli
from stack.citizen_id.settings import CitizenIdSettings
from tests.fixtures.pki_world import DevPki, ForeignCa, utc_now

pytestmark = pytest.mark.anyio

ISSUER = parse_client_id(CITIZEN_ID_SERVICE_ID)
PERSON = "001090012345"
SECOND = dt.timedelta(seconds=1)


@pytest.fixture(scope="module")
def store(pki: DevPki) -> TrustStore:
    return pki.store()


@pytest.fixture(scope="module")
def signer(pki: DevPki) -> Signer:
    return pki.signer(CITIZEN_ID_SERVICE_ID)


@pytest.fixture
def now(pki: DevPki) -> dt.datetime:
    """The stand-in's clock in these tests: an hour after the PKI was made."""
    return pki.made_at + dt.timedelta(hours=1)


def _settings(pki: DevPki, **overrides: Any) -> CitizenIdSettings:
    return CitizenIdSettings(pki_dir=pki.root, environment="test", access_log=False, **overrides)


@pytest.fixture
async def app(pki: DevPki, now: dt.datetime) -> AsyncIterator[FastAPI]:
    application = create_app(_settings(pki), clock=lambda: now)
    async with application.router.lifespan_context(application):
        yield application


def _verify(token: str, store: TrustStore, now: dt.datetime, **kw: object) -> str:
    identity = verify_citizen_token(
        token,
        store=store,
        now=now,
        audience=str(kw.get("audience", GATEWAY_ID)),
        issuer=kw.get("issuer", ISSUER),  # type: ignore[arg-type]
    )
    return identity.personal_id


def _check(token: str, store: TrustStore, now: dt.datetime, **kw: object) -> str:
    """The failed check of a token that must be refused."""
    with pytest.raises(CitizenTokenInvalid) as caught:
        _verify(token, store, now, **kw)
    assert caught.value.status == 401
    assert caught.value.type == "client.citizen_token_invalid"
    return caught.value.check


# -- the app ---------------------------------------------------------------------------------


async def test_a_token_from_the_stand_in_verifies_as_the_citizen(
    client: httpx.AsyncClient, store: TrustStore, now: dt.datetime
) -> None:
    answer = await client.post("/token", json={"personal_id": PERSON})
    assert answer.status_code == 200
    body = answer.json()
    assert body["token_type"] == "Bearer"
    assert body["expires_in"] == 3600
    assert body["audience"] == GATEWAY_ID
    assert answer.headers["cache-control"] == "no-store"
    identity = verify_citizen_token(
        body["access_token"], store=store, now=now, audience=GATEWAY_ID, issuer=ISSUER
    )
    assert identity.personal_id == PERSON
    assert identity.expires_at == now.replace(microsecond=0) + dt.timedelta(hours=1)
    assert len(identity.token_id) == 36


async def test_each_token_has_its_own_id(client: httpx.AsyncClient, store: TrustStore) -> None:
    tokens = [
        (await client.post("/token", json={"personal_id": PERSON})).json()["access_token"]
        for _ in range(2)
    ]
    claims = [json.loads(_b64decode(t.split(".")[1])) for t in tokens]
    assert claims[0]["jti"] != claims[1]["jti"]


async def test_a_token_from_the_stand_in_is_refused_one_second_after_it_expires(
    client: httpx.AsyncClient, store: TrustStore, now: dt.datetime
) -> None:
    token = (await client.post("/token", json={"personal_id": PERSON})).json()["access_token"]
    expires = now.replace(microsecond=0) + dt.timedelta(hours=1)
    assert _verify(token, store, expires - SECOND) == PERSON
    assert _check(token, store, expires) == "expired"
    assert _check(token, store, expires + SECOND) == "expired"


@pytest.mark.parametrize("personal_id", ["12345", "999090012345", "00109001234x", ""])
async def test_a_malformed_personal_id_is_a_400_in_the_error_format(
    client: httpx.AsyncClient, personal_id: str
) -> None:
    answer = await client.post("/token", json={"personal_id": personal_id})
    assert answer.status_code == 400
    assert answer.headers["x-road-error"] == "client.bad_request"
    body = answer.json()
    assert set(body) == {"type", "message", "detail"}
    assert body["type"] == "client.bad_request"
    assert "personal id" in body["message"] or "province" in body["message"]


async def test_a_request_without_a_personal_id_is_a_400(client: httpx.AsyncClient) -> None:
    answer = await client.post("/token", json={})
    assert answer.status_code == 400
    assert answer.json()["type"] == "client.bad_request"


async def test_an_audience_the_stand_in_does_not_serve_is_a_400(
    client: httpx.AsyncClient,
) -> None:
    answer = await client.post("/token", json={"personal_id": PERSON, "audience": CONSUMERS["kyc"]})
    assert answer.status_code == 400
    assert answer.json()["detail"] == {"audiences": [GATEWAY_ID]}


async def test_a_configured_second_audience_can_be_asked_for(
    pki: DevPki, store: TrustStore, now: dt.datetime
) -> None:
    portal = CONSUMERS["one-stop"]
    application = create_app(_settings(pki, audiences=[GATEWAY_ID, portal]), clock=lambda: now)
    async with (
        application.router.lifespan_context(application),
        httpx.AsyncClient(
            transport=httpx.ASGITransport(app=application), base_url="http://test"
        ) as client,
    ):
        answer = await client.post("/token", json={"personal_id": PERSON, "audience": portal})
    token = answer.json()["access_token"]
    assert _verify(token, store, now, audience=portal) == PERSON
    assert _check(token, store, now) == "wrong_audience"


async def test_the_discovery_document_names_issuer_audience_and_certificate(
    client: httpx.AsyncClient, pki: DevPki
) -> None:
    answer = await client.get("/.well-known/citizen-id")
    assert answer.status_code == 200
    body = answer.json()
    cert = pki.certificate(CITIZEN_ID_SERVICE_ID)
    assert body["issuer"] == CITIZEN_ID_SERVICE_ID
    assert body["audiences"] == [GATEWAY_ID]
    assert body["token_type"] == TYP_CITIZEN
    assert body["algorithm"] == "ES256"
    assert body["certificate"] == certificate_pem(cert).decode()
    assert body["certificate_sha256"] == fingerprint(cert)
    assert body["token_endpoint"] == "/token"


async def test_the_app_says_it_is_a_development_stand_in_everywhere(
    client: httpx.AsyncClient,
) -> None:
    openapi = (await client.get("/openapi.json")).json()
    assert "DEVELOPMENT STAND-IN" in openapi["info"]["title"]
    assert "VNeID" in openapi["info"]["title"]
    assert "authenticates nobody" in openapi["info"]["description"]
    page = await client.get("/")
    assert page.status_code == 200
    assert page.headers["content-type"].startswith("text/html")
    assert "Development stand-in for VNeID" in page.text
    assert 'id="personal_id"' in page.text
    for answer in (
        await client.post("/token", json={"personal_id": PERSON}),
        await client.post("/token", json={"personal_id": "bad"}),
        await client.get("/.well-known/citizen-id"),
        await client.get("/healthz"),
        page,
    ):
        assert answer.headers[STAND_IN_HEADER] == "VNeID"
    token_body = (await client.post("/token", json={"personal_id": PERSON})).json()
    assert token_body["development_stand_in"] is True
    assert token_body["notice"] == NOTICE


async def test_the_openapi_documents_a_400_not_a_422(client: httpx.AsyncClient) -> None:
    responses = (await client.get("/openapi.json")).json()["paths"]["/token"]["post"]["responses"]
    assert "422" not in responses
    assert "client.bad_request" in responses["400"]["description"]


async def test_the_stand_in_is_ready_once_started(client: httpx.AsyncClient) -> None:
    assert (await client.get("/readyz")).json()["status"] == "ready"


async def test_the_stand_in_without_its_certificate_says_how_to_make_it(
    tmp_path: Path, now: dt.datetime
) -> None:
    settings = CitizenIdSettings(pki_dir=tmp_path, environment="test", access_log=False)
    application = create_app(settings, clock=lambda: now)
    with pytest.raises(FileNotFoundError, match="lienthong certs init"):
        async with application.router.lifespan_context(application):
            pass


def test_the_stand_in_refuses_to_run_in_prod(pki: DevPki) -> None:
    with pytest.raises(EnvironmentRefused, match="must not run in prod"):
        create_app(CitizenIdSettings(pki_dir=pki.root, environment="prod"))


def test_settings_refuse_an_issuer_that_is_not_an_xroad_id() -> None:
    with pytest.raises(ValidationError, match="X-Road client id"):
        CitizenIdSettings(issuer="citizen-id")


def test_settings_read_the_citizen_id_env_prefix(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CITIZEN_ID_PORT", "9999")
    monkeypatch.setenv("CITIZEN_ID_TOKEN_TTL", "60")
    settings = CitizenIdSettings()
    assert (settings.port, settings.token_ttl) == (9999, 60)
    assert CitizenIdSettings.service_name == "citizen-id"
    monkeypatch.delenv("CITIZEN_ID_PORT")
    assert CitizenIdSettings().port == 9110


# -- the tokens (core.citizen) ---------------------------------------------------------------


def test_a_token_is_accepted_from_issue_until_one_second_before_expiry(
    signer: Signer, store: TrustStore, now: dt.datetime
) -> None:
    token = issue_citizen_token(signer, PERSON, now=now, audience=GATEWAY_ID)
    issued = now.replace(microsecond=0)
    assert _verify(token, store, issued) == PERSON
    assert _verify(token, store, issued + dt.timedelta(hours=1) - SECOND) == PERSON
    assert _check(token, store, issued + dt.timedelta(hours=1) + SECOND) == "expired"


def test_a_token_from_the_future_is_not_valid_yet(
    signer: Signer, store: TrustStore, now: dt.datetime
) -> None:
    token = issue_citizen_token(signer, PERSON, now=now, audience=GATEWAY_ID)
    issued = now.replace(microsecond=0)
    assert _verify(token, store, issued - CLOCK_SKEW) == PERSON
    assert _check(token, store, issued - CLOCK_SKEW - SECOND) == "not_yet_valid"


def test_a_token_for_another_audience_is_refused(
    signer: Signer, store: TrustStore, now: dt.datetime
) -> None:
    token = issue_citizen_token(signer, PERSON, now=now, audience=CONSUMERS["kyc"])
    assert _check(token, store, now) == "wrong_audience"


def test_a_token_signed_by_a_consumer_is_refused_as_from_the_wrong_issuer(
    pki: DevPki, store: TrustStore, now: dt.datetime
) -> None:
    consumer = pki.signer(CONSUMERS["one-stop"])
    token = issue_citizen_token(consumer, PERSON, now=now, audience=GATEWAY_ID)
    assert _check(token, store, now) == "wrong_issuer"


def test_a_token_whose_iss_claim_lies_about_the_signer_is_refused(
    pki: DevPki, store: TrustStore, now: dt.datetime
) -> None:
    consumer = pki.signer(PROVIDERS["population"])
    claims = _claims(now, iss=CITIZEN_ID_SERVICE_ID)
    token = consumer.sign(claims, typ=TYP_CITIZEN)
    assert _check(token, store, now) == "wrong_issuer"


def test_a_token_from_a_certificate_of_another_ca_is_untrusted(
    store: TrustStore, now: dt.datetime
) -> None:
    foreign = ForeignCa.create(now=now).signer(CITIZEN_ID_SERVICE_ID)
    token = issue_citizen_token(foreign, PERSON, now=now, audience=GATEWAY_ID)
    assert _check(token, store, now) == "untrusted"


def test_a_signed_request_cannot_pass_for_a_citizen_token(
    signer: Signer, store: TrustStore, now: dt.datetime
) -> None:
    token = signer.sign(_claims(now), typ=TYP_REQUEST)
    assert _check(token, store, now) == "typ"


def test_a_tampered_subject_is_refused(signer: Signer, store: TrustStore, now: dt.datetime) -> None:
    header, _, signature = issue_citizen_token(signer, PERSON, now=now, audience=GATEWAY_ID).split(
        "."
    )
    forged_claims = b64url(json.dumps(_claims(now, sub="001090099999")).encode())
    assert _check(f"{header}.{forged_claims}.{signature}", store, now) == "bad_signature"


@pytest.mark.parametrize(
    ("changes", "check"),
    [
        ({"sub": "12345"}, "subject"),
        ({"sub": 1090012345}, "subject"),
        ({"sub": None}, "subject"),
        ({"exp": "soon"}, "malformed"),
        ({"iat": True}, "malformed"),
        ({"jti": ""}, "malformed"),
        ({"jti": "x" * 129}, "malformed"),
        ({"aud": [GATEWAY_ID, "other"]}, None),
        ({"aud": None}, "wrong_audience"),
        ({"nbf": "later"}, "malformed"),
        ({"exp_extra": 1, "exp": 10**10}, "lifetime"),
    ],
)
def test_claims_out_of_shape_are_refused(
    changes: dict[str, object],
    check: str | None,
    signer: Signer,
    store: TrustStore,
    now: dt.datetime,
) -> None:
    token = signer.sign(_claims(now, **changes), typ=TYP_CITIZEN)
    if check is None:
        assert _verify(token, store, now) == PERSON
    else:
        assert _check(token, store, now) == check


def test_a_token_not_before_a_future_time_is_not_valid_yet(
    signer: Signer, store: TrustStore, now: dt.datetime
) -> None:
    later = int(now.timestamp()) + 600
    token = signer.sign(_claims(now, nbf=later), typ=TYP_CITIZEN)
    assert _check(token, store, now) == "not_yet_valid"


def test_issuing_refuses_a_malformed_personal_id_and_odd_lifetimes(
    signer: Signer, now: dt.datetime
) -> None:
    with pytest.raises(InvalidIdentifier):
        issue_citizen_token(signer, "0010900123", now=now, audience=GATEWAY_ID)
    for ttl in (dt.timedelta(0), MAX_TTL + SECOND):
        with pytest.raises(ValueError, match="citizen token lives"):
            issue_citizen_token(signer, PERSON, now=now, audience=GATEWAY_ID, ttl=ttl)
    issue_citizen_token(signer, PERSON, now=now, audience=GATEWAY_ID, ttl=MAX_TTL)


def test_citizen_token_invalid_is_a_401_naming_the_check() -> None:
    err = CitizenTokenInvalid("expired")
    assert isinstance(err, Unauthorized)
    assert err.body() == {
        "type": "client.citizen_token_invalid",
        "message": "the citizen token is not valid; sign in again",
        "detail": {"check": "expired"},
    }
    assert err.headers == {"WWW-Authenticate": "Bearer"}


# -- the command line ------------------------------------------------------------------------


def test_the_citizen_token_command_prints_a_token_that_verifies(
    pki: DevPki, store: TrustStore
) -> None:
    result = CliRunner().invoke(
        citizen_cli, ["token", PERSON, "--pki", str(pki.root), "--ttl", "120"]
    )
    assert result.exit_code == 0, result.output
    token = result.output.strip()
    assert "\n" not in token
    identity = verify_citizen_token(
        token, store=store, now=utc_now(), audience=GATEWAY_ID, issuer=ISSUER
    )
    assert identity.personal_id == PERSON
    assert identity.expires_at - utc_now() <= dt.timedelta(seconds=120)


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["token", "12345"], "error: personal id must be exactly 12 digits, got 5 characters\n"),
        (
            ["token", PERSON, "--pki", "{empty}"],
            "error: no CA in {empty}; run `lienthong certs init`\n",
        ),
    ],
)
def test_the_citizen_token_command_fails_in_one_line(
    args: list[str], message: str, pki: DevPki, tmp_path: Path
) -> None:
    empty = str(tmp_path / "empty")
    args = [a.replace("{empty}", empty) for a in args]
    if "--pki" not in args:
        args += ["--pki", str(pki.root)]
    result = CliRunner().invoke(citizen_cli, args)
    assert result.exit_code == 1
    assert result.output == message.replace("{empty}", empty)


# -- helpers ---------------------------------------------------------------------------------


def _claims(now: dt.datetime, **changes: object) -> dict[str, object]:
    issued = int(now.timestamp())
    claims: dict[str, object] = {
        "iss": CITIZEN_ID_SERVICE_ID,
        "sub": PERSON,
        "aud": GATEWAY_ID,
        "iat": issued,
        "exp": issued + 3600,
        "jti": "8c0f8f0e-6f5e-4b7a-9d1e-2f1c3b4a5d6e",
    }
    claims.update(changes)
    return claims


def _b64decode(segment: str) -> bytes:
    return base64.urlsafe_b64decode(segment + "=" * (-len(segment) % 4))
