"""The async client behaves like the sync one: same requests, checks, errors and retries."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import httpx
import pytest

from consumers.sdk import (
    AsyncGatewayClient,
    FieldsNotAllowed,
    NotFound,
    ProviderTimeout,
    ProviderUnavailable,
    ResponseVerificationFailed,
)
from core.pki import TrustStore
from core.signing import TYP_REQUEST, sha256_b64url, timestamp, verify
from tests.consumers.sdk.conftest import OFFICIAL, ONE_STOP, PID, FakeGateway

pytestmark = pytest.mark.anyio


async def test_async_request_is_signed_like_the_sync_one(
    async_client: AsyncGatewayClient, gateway: FakeGateway, store: TrustStore, now: dt.datetime
) -> None:
    gateway.answer(gateway.signed({"full_name": "An"}))
    response = await async_client.population.person(
        PID, fields=["full_name"], purpose="land-transfer", issue="HS-1"
    )
    sent = gateway.last
    claims = verify(sent.headers["X-Road-Signature"], store=store, now=now, typ=TYP_REQUEST).claims
    assert claims == {
        "iss": ONE_STOP,
        "aud": "VN/GOV/LIENTHONG/gateway",
        "htm": "GET",
        "htu": f"/r1/VN/GOV/BCA/population/persons/{PID}?fields=full_name",
        "iat": timestamp(now),
        "jti": sent.headers["X-Road-Id"],
        "purpose": "land-transfer",
        "consent": None,
        "uid": OFFICIAL,
        "issue": "HS-1",
        "body_sha256": sha256_b64url(b""),
    }
    assert response.data == {"full_name": "An"}
    assert str(response.provider) == "VN/GOV/BCA/population"


async def test_async_post_body_digest(
    async_client: AsyncGatewayClient, gateway: FakeGateway, store: TrustStore, now: dt.datetime
) -> None:
    gateway.answer(gateway.signed({"valid": True, "status": "valid", "match": True}, by="land"))
    response = await async_client.land.verify_certificate("BK 123456", purpose="land-transfer")
    sent = gateway.last
    claims = verify(sent.headers["X-Road-Signature"], store=store, now=now, typ=TYP_REQUEST).claims
    assert claims["body_sha256"] == sha256_b64url(sent.content)
    assert response.data["valid"] is True


async def test_async_answer_that_does_not_verify_is_refused(
    async_client: AsyncGatewayClient, gateway: FakeGateway
) -> None:
    gateway.answer(gateway.signed({"full_name": "An"}, content=b'{"full_name":"Binh"}'))
    with pytest.raises(ResponseVerificationFailed) as caught:
        await async_client.population.person(PID, purpose="land-transfer")
    assert caught.value.check == "body_sha256"


async def test_async_wrong_signer_is_refused(
    async_client: AsyncGatewayClient, gateway: FakeGateway
) -> None:
    gateway.answer(gateway.signed({"name_vi": "X"}, by="land"))
    with pytest.raises(ResponseVerificationFailed) as caught:
        await async_client.business.enterprise("0101234565", purpose="land-transfer")
    assert caught.value.check == "wrong_signer"


async def test_async_errors_map_to_the_same_classes(
    async_client: AsyncGatewayClient, gateway: FakeGateway
) -> None:
    gateway.answer(gateway.error(403, "client.fields_not_allowed", detail={"fields": ["sex"]}))
    with pytest.raises(FieldsNotAllowed) as caught:
        await async_client.population.person(PID, fields=["sex"], purpose="land-transfer")
    assert caught.value.fields == ["sex"]

    body = {"type": "client.person_not_found", "message": "no such person", "detail": None}
    gateway.answer(gateway.signed(body, status=404))
    with pytest.raises(NotFound):
        await async_client.population.household(PID, purpose="land-transfer")


async def test_async_503_is_retried_with_fresh_ids(
    async_client: AsyncGatewayClient, gateway: FakeGateway, sleeps: list[float]
) -> None:
    unavailable = gateway.error(503, "server.provider_unavailable")
    gateway.answer(unavailable, gateway.signed({"roles": []}, by="business"))
    response = await async_client.business.roles(PID, purpose="land-transfer")
    assert response.data == {"roles": []}
    assert len({r.headers["X-Road-Id"] for r in gateway.requests}) == 2
    assert len(sleeps) == 1


async def test_async_gives_up_after_the_retries(
    async_client: AsyncGatewayClient, gateway: FakeGateway, sleeps: list[float]
) -> None:
    gateway.answer(gateway.error(503, "server.provider_unavailable"))
    with pytest.raises(ProviderUnavailable):
        await async_client.land.parcel("w7er8u0evss2", purpose="land-transfer")
    assert len(gateway.requests) == 4
    assert len(sleeps) == 3


async def test_async_504_and_plain_post_are_not_retried(
    async_client: AsyncGatewayClient, gateway: FakeGateway, sleeps: list[float]
) -> None:
    gateway.answer(gateway.error(504, "server.provider_timeout"))
    with pytest.raises(ProviderTimeout):
        await async_client.population.person(PID, purpose="land-transfer")
    gateway.answer(gateway.error(503, "server.provider_unavailable"))
    with pytest.raises(ProviderUnavailable):
        await async_client.request(
            "POST", "VN/GOV/BCA/population/verifications", "/identity", json={}
        )
    assert len(gateway.requests) == 2
    assert sleeps == []


async def test_async_metaservices(async_client: AsyncGatewayClient, gateway: FakeGateway) -> None:
    gateway.answer(gateway.unsigned({"openapi": "3.1.0"}))
    response = await async_client.get_openapi("VN/GOV/BCA/population", "persons")
    assert response.data == {"openapi": "3.1.0"}
    assert gateway.last.url.raw_path.decode() == (
        "/r1/VN/GOV/BCA/population/getOpenAPI?serviceCode=persons"
    )
    for call in (
        async_client.list_clients(),
        async_client.list_methods("VN/GOV/BCA/population"),
        async_client.allowed_methods("VN/GOV/BCA/population"),
    ):
        await call
    assert len(gateway.requests) == 4


async def test_async_client_closes_its_connections(pki: Path) -> None:
    handler = httpx.MockTransport(lambda request: httpx.Response(200))
    async with AsyncGatewayClient.from_pki(pki, ONE_STOP, transport=handler) as client:
        pass
    assert client._http.is_closed
