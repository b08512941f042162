"""A member proves later that its exchange is in the evidence log: receipt + logProof,
checked against a checkpoint signed by the pinned log key."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest

from certs.dev import CONSUMERS, log_key_paths
from consumers.sdk import AccessDenied, AsyncGatewayClient, NotFound
from consumers.sdk.logproof import LogProofInvalid, load_log_key, verify_log_proof
from core.note import generate_key, parse_verifier_key
from core.pki import certificate_pem, load_certificate
from tests.fixtures.gateway import OFFICIAL, InProcessExchange, TLSPeer
from tests.fixtures.world import LinkedWorld

pytestmark = pytest.mark.anyio

HBR = "household-business-registration"


def _client(exchange: InProcessExchange, member: str) -> AsyncGatewayClient:
    pem = certificate_pem(load_certificate(exchange.pki / "members" / f"{member}.crt")).decode()
    return AsyncGatewayClient.from_pki(
        exchange.pki,
        member,
        user_id=OFFICIAL,
        transport=httpx.ASGITransport(app=TLSPeer(exchange.gateway, pem)),
        base_url="https://gateway.test",
        clock=exchange.clock,
        retries=0,
    )


@pytest.fixture
async def one_stop(exchange: InProcessExchange) -> AsyncIterator[AsyncGatewayClient]:
    async with _client(exchange, CONSUMERS["one-stop"]) as client:
        yield client


@pytest.fixture
def pid(linked_world: LinkedWorld) -> str:
    return next(p for p in linked_world.population.people if p.date_of_death is None).personal_id


async def test_a_member_proves_its_exchange_is_in_the_log_with_the_pinned_key(
    exchange: InProcessExchange, one_stop: AsyncGatewayClient, pid: str
) -> None:
    answer = await one_stop.population.person(pid, fields=["full_name"], purpose=HBR)
    assert answer.receipt is not None
    pending = await one_stop.meta.log_proof(answer.x_road_id)
    with pytest.raises(LogProofInvalid, match="no checkpoint"):
        verify_log_proof(
            pending.data,
            receipt=answer.receipt,
            log_key=load_log_key(log_key_paths(exchange.pki)[1]),
        )

    await exchange.gateway.state.checkpointer.tick()
    proof = await one_stop.meta.log_proof(answer.x_road_id)
    key = load_log_key(log_key_paths(exchange.pki)[1])
    result = verify_log_proof(proof.data, receipt=answer.receipt, log_key=key)
    assert result.indices == (answer.receipt["accepted_index"], answer.receipt["index"])
    assert result.checkpoint.size >= answer.receipt["index"] + 1

    # Another key (a gateway showing a checkpoint of a forged log) is refused …
    _, other_vkey = generate_key("lienthong.local/evidence-log")
    with pytest.raises(LogProofInvalid, match="pinned key"):
        verify_log_proof(proof.data, receipt=answer.receipt, log_key=parse_verifier_key(other_vkey))
    # … and so is a receipt whose leaf hash the log does not hold.
    forged = {**answer.receipt, "leaf_hash": "00" * 32}
    with pytest.raises(LogProofInvalid, match="not in the log"):
        verify_log_proof(proof.data, receipt=forged, log_key=key)


async def test_log_proofs_are_only_for_the_callers_own_exchanges(
    exchange: InProcessExchange, one_stop: AsyncGatewayClient, pid: str
) -> None:
    answer = await one_stop.population.person(pid, fields=["full_name"], purpose=HBR)
    async with _client(exchange, CONSUMERS["land-office"]) as land_office:
        # The land office asks on its own subsystem: it has no records of that exchange.
        with pytest.raises(NotFound):
            await land_office.meta.log_proof(answer.x_road_id)
        # Asking on another member's subsystem is refused.
        with pytest.raises(AccessDenied):
            await land_office.send(
                land_office.core.path_call(
                    "GET",
                    f"{CONSUMERS['one-stop']}/logProof",
                    params={"xRoadId": answer.x_road_id},
                )
            )
