"""The SDK against the real gateway (in process): every logged answer's receipt verifies and
names the record the gateway stored for it."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest

from certs.dev import CONSUMERS, PROVIDERS
from consumers.sdk import (
    AccessDenied,
    AsyncGatewayClient,
    NotFound,
    ProviderUnavailable,
)
from core import merkle
from core.pki import certificate_pem, load_certificate
from gateway.log import LogStore
from tests.fixtures.gateway import OFFICIAL, InProcessExchange, TLSPeer
from tests.fixtures.world import LinkedWorld

pytestmark = pytest.mark.anyio

ONE_STOP = CONSUMERS["one-stop"]
HBR = "household-business-registration"
POPULATION_URL = "https://127.0.0.1:9101"


@pytest.fixture
async def sdk(exchange: InProcessExchange) -> AsyncIterator[AsyncGatewayClient]:
    """The one-stop shop's SDK client, its TLS peer certificate in the gateway's scope."""
    cert = load_certificate(exchange.pki / "members" / f"{ONE_STOP}.crt")
    pem = certificate_pem(cert).decode("ascii")
    async with AsyncGatewayClient.from_pki(
        exchange.pki,
        ONE_STOP,
        user_id=OFFICIAL,
        transport=httpx.ASGITransport(app=TLSPeer(exchange.gateway, pem)),
        base_url="https://gateway.test",
        clock=exchange.clock,
        retries=0,
    ) as client:
        yield client


@pytest.fixture
def pid(linked_world: LinkedWorld) -> str:
    return next(p for p in linked_world.population.people if p.date_of_death is None).personal_id


def stored(exchange: InProcessExchange, x_road_id: str) -> dict[str, tuple[int, bytes]]:
    """The exchange's records by kind: (index, record bytes)."""
    log: LogStore = exchange.gateway.state.log
    return {json.loads(data)["kind"]: (seq, data) for seq, data in log.records_of(x_road_id)}


def assert_names(receipt: dict[str, Any] | None, record: tuple[int, bytes]) -> None:
    assert receipt is not None
    index, data = record
    assert receipt["index"] == index
    assert receipt["leaf_hash"] == merkle.leaf_hash(data).hex()


async def test_answer_receipt_names_the_answered_and_accepted_records(
    exchange: InProcessExchange, sdk: AsyncGatewayClient, pid: str
) -> None:
    response = await sdk.population.person(pid, fields=["full_name"], purpose=HBR)
    assert response.ok
    records = stored(exchange, response.x_road_id)
    assert set(records) == {"accepted", "answered"}
    assert_names(response.receipt, records["answered"])
    assert response.receipt is not None
    assert response.receipt["jti"] == response.x_road_id
    assert response.receipt["accepted_index"] == records["accepted"][0]
    accepted_leaf = merkle.leaf_hash(records["accepted"][1]).hex()
    assert response.receipt["accepted_leaf_hash"] == accepted_leaf


async def test_refusal_and_failures_carry_receipts(
    exchange: InProcessExchange, sdk: AsyncGatewayClient, pid: str
) -> None:
    with pytest.raises(AccessDenied) as refused:
        await sdk.population.person(pid, purpose="bank-kyc")
    assert refused.value.x_road_id is not None
    records = stored(exchange, refused.value.x_road_id)
    assert set(records) == {"refused"}
    assert_names(refused.value.receipt, records["refused"])

    with pytest.raises(NotFound) as missing:
        await sdk.population.person("001090999999", purpose=HBR)
    assert missing.value.x_road_id is not None
    assert missing.value.response is not None
    assert str(missing.value.response.provider) == PROVIDERS["population"]
    assert_names(missing.value.receipt, stored(exchange, missing.value.x_road_id)["answered"])

    exchange.fault(POPULATION_URL, None)
    with pytest.raises(ProviderUnavailable) as down:
        await sdk.population.person(pid, purpose=HBR)
    assert down.value.x_road_id is not None
    records = stored(exchange, down.value.x_road_id)
    assert_names(down.value.receipt, records["answered"])
    assert down.value.receipt is not None
    assert down.value.receipt["accepted_index"] == records["accepted"][0]


async def test_metaservice_answer_has_no_receipt(sdk: AsyncGatewayClient) -> None:
    clients = await sdk.list_clients()
    assert clients.ok
    assert clients.receipt is None
