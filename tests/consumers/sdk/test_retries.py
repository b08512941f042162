"""Only a 503 of an idempotent call is retried, each time as a new signed request."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from consumers.sdk import (
    GatewayClient,
    ProviderTimeout,
    ProviderUnavailable,
    ServiceUnavailable,
)
from core.pki import TrustStore
from core.signing import TYP_REQUEST, verify
from tests.consumers.sdk.conftest import PID, FakeGateway


def test_503_is_retried_with_a_new_signed_request_each_time(
    client: GatewayClient,
    gateway: FakeGateway,
    sleeps: list[float],
    store: TrustStore,
    now: dt.datetime,
) -> None:
    unavailable = gateway.error(503, "server.provider_unavailable")
    gateway.answer(unavailable, unavailable, gateway.signed({"full_name": "An"}))
    response = client.population.person(PID, purpose="land-transfer")
    assert response.data == {"full_name": "An"}
    assert len(gateway.requests) == 3
    ids = [r.headers["X-Road-Id"] for r in gateway.requests]
    assert len(set(ids)) == 3
    signatures = {r.headers["X-Road-Signature"] for r in gateway.requests}
    assert len(signatures) == 3
    for request in gateway.requests:
        claims = verify(
            request.headers["X-Road-Signature"], store=store, now=now, typ=TYP_REQUEST
        ).claims
        assert claims["jti"] == request.headers["X-Road-Id"]
    assert response.x_road_id == ids[-1]
    assert len(sleeps) == 2


def test_backoff_grows_exponentially_with_jitter(
    client: GatewayClient, gateway: FakeGateway, sleeps: list[float]
) -> None:
    gateway.answer(gateway.error(503, "server.provider_unavailable"))
    with pytest.raises(ProviderUnavailable):
        client.population.person(PID, purpose="land-transfer")
    assert len(gateway.requests) == 4  # the call and its 3 retries
    base = 0.5
    for attempt, delay in enumerate(sleeps):
        step = base * 2**attempt
        assert step / 2 <= delay <= step
    assert sleeps[2] > sleeps[0]


def test_backoff_waits_at_least_retry_after(
    client: GatewayClient, gateway: FakeGateway, sleeps: list[float]
) -> None:
    gateway.answer(
        gateway.error(503, "server.unavailable", headers={"Retry-After": "2"}),
        gateway.signed(),
    )
    client.population.person(PID, purpose="land-transfer")
    assert sleeps == [2.0]


def test_verification_post_is_retried(
    client: GatewayClient, gateway: FakeGateway, sleeps: list[float]
) -> None:
    gateway.answer(
        gateway.error(503, "server.provider_unavailable"), gateway.signed({"match": True})
    )
    response = client.population.verify_identity(
        PID, "Nguyễn Văn An", "1990-05-17", purpose="bank-kyc", consent="c-1"
    )
    assert response.data == {"match": True}
    assert len(gateway.requests) == 2


def test_plain_post_is_never_retried(
    client: GatewayClient, gateway: FakeGateway, sleeps: list[float]
) -> None:
    gateway.answer(gateway.error(503, "server.provider_unavailable"))
    with pytest.raises(ProviderUnavailable):
        client.request("POST", "VN/GOV/BCA/population/verifications", "/identity", json={"a": 1})
    assert len(gateway.requests) == 1
    assert sleeps == []


def test_post_marked_idempotent_is_retried(
    client: GatewayClient, gateway: FakeGateway, sleeps: list[float]
) -> None:
    gateway.answer(gateway.error(503, "server.provider_unavailable"), gateway.signed())
    client.request(
        "POST", "VN/GOV/BCA/population/verifications", "/identity", json={}, idempotent=True
    )
    assert len(gateway.requests) == 2


def test_504_is_never_retried(
    client: GatewayClient, gateway: FakeGateway, sleeps: list[float]
) -> None:
    gateway.answer(gateway.error(504, "server.provider_timeout"))
    with pytest.raises(ProviderTimeout):
        client.population.person(PID, purpose="land-transfer")
    assert len(gateway.requests) == 1
    assert sleeps == []


@pytest.mark.parametrize(
    ("status", "type_"),
    [
        (400, "client.purpose_required"),
        (403, "client.access_denied"),
        (429, "client.rate_limited"),
        (500, "server.internal_error"),
        (502, "server.provider_signature_invalid"),
    ],
)
def test_other_errors_are_never_retried(
    client: GatewayClient, gateway: FakeGateway, sleeps: list[float], status: int, type_: str
) -> None:
    gateway.answer(gateway.error(status, type_))
    with pytest.raises(Exception, match=type_):
        client.population.person(PID, purpose="land-transfer")
    assert len(gateway.requests) == 1
    assert sleeps == []


def test_retries_zero_means_one_attempt(
    pki: Path, gateway: FakeGateway, sleeps: list[float]
) -> None:
    gateway.answer(gateway.error(503, "server.unavailable"))
    with (
        GatewayClient.from_pki(pki, "VN/GOV/UBND-HN/one-stop", retries=0, sleep=sleeps.append) as c,
        pytest.raises(ServiceUnavailable),
    ):
        c.population.person(PID, purpose="land-transfer")
    assert len(gateway.requests) == 1
    assert sleeps == []
