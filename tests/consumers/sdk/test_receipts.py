"""Log receipts: the SDK checks the gateway's ``X-Road-Log-Receipt`` on every answer.

A receipt, when there is one, must be a JWS (``xroad-receipt+jwt``) by the gateway the
client is configured for, trusted by the CA, for this request's X-Road-Id, naming a place
in the log. Its claims end up on the answer (``GatewayResponse.receipt``) or on the error
(``GatewayError.receipt``); a bad one is ``ResponseVerificationFailed`` with check
``receipt``. A gateway older than the evidence log sends none: accepted, ``receipt`` None.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import pytest

from certs.authority import issue, make_ca, new_key
from consumers.sdk import (
    AccessDenied,
    AsyncGatewayClient,
    GatewayClient,
    GatewayError,
    NotFound,
    ProviderUnavailable,
    ResponseVerificationFailed,
    ServerError,
)
from core.signing import TYP_RESPONSE, Signer
from tests.consumers.sdk.conftest import (
    ACCEPTED_LEAF,
    DROP,
    LEAF,
    LOG_ORIGIN,
    PID,
    RECEIPT_INDEX,
    FakeGateway,
)

GATEWAY = "VN/GOV/LIENTHONG/gateway"


def _expected(gateway: FakeGateway, **claims: Any) -> dict[str, Any]:
    return gateway.receipt_claims(gateway.last, **claims)


def test_answer_carries_the_verified_receipt(client: GatewayClient, gateway: FakeGateway) -> None:
    gateway.answer(gateway.with_receipt(gateway.signed({"full_name": "An"})))
    response = client.population.person(PID, purpose="land-transfer")
    assert response.receipt == _expected(gateway)
    assert response.receipt is not None
    assert response.receipt["jti"] == response.x_road_id == gateway.last.headers["X-Road-Id"]
    assert (response.receipt["index"], response.receipt["leaf_hash"]) == (RECEIPT_INDEX, LEAF)
    assert response.receipt["accepted_leaf_hash"] == ACCEPTED_LEAF
    assert response.receipt["origin"] == LOG_ORIGIN


def test_answer_without_a_receipt_is_accepted_from_an_older_gateway(
    client: GatewayClient, gateway: FakeGateway
) -> None:
    gateway.answer(gateway.signed({"full_name": "An"}))
    response = client.population.person(PID, purpose="land-transfer")
    assert response.receipt is None
    assert response.data == {"full_name": "An"}


def test_refusal_carries_its_receipt(client: GatewayClient, gateway: FakeGateway) -> None:
    """A refusal is logged too: one ``refused`` record, no accepted one."""
    refusal = gateway.error(403, "client.access_denied", "no grant")
    gateway.answer(gateway.with_receipt(refusal, accepted_index=DROP, accepted_leaf_hash=DROP))
    with pytest.raises(AccessDenied) as caught:
        client.population.person(PID, purpose="land-transfer")
    assert caught.value.receipt == _expected(gateway, accepted_index=DROP, accepted_leaf_hash=DROP)


def test_refusal_without_a_receipt_has_none(client: GatewayClient, gateway: FakeGateway) -> None:
    gateway.answer(gateway.error(403, "client.access_denied", "no grant"))
    with pytest.raises(AccessDenied) as caught:
        client.population.person(PID, purpose="land-transfer")
    assert caught.value.receipt is None


def test_registry_refusal_carries_the_receipt_on_the_error_and_its_response(
    client: GatewayClient, gateway: FakeGateway
) -> None:
    not_found = gateway.signed({"type": "client.person_not_found"}, status=404)
    gateway.answer(gateway.with_receipt(not_found))
    with pytest.raises(NotFound) as caught:
        client.population.person(PID, purpose="land-transfer")
    assert caught.value.receipt == _expected(gateway)
    assert caught.value.response is not None
    assert caught.value.response.receipt == caught.value.receipt


def test_server_error_carries_its_receipt(client: GatewayClient, gateway: FakeGateway) -> None:
    gateway.answer(
        gateway.with_receipt(gateway.error(502, "server.provider_response_invalid", "bad"))
    )
    with pytest.raises(ServerError) as caught:
        client.population.person(PID, purpose="land-transfer")
    assert caught.value.receipt == _expected(gateway)


def test_each_retry_is_checked_against_its_own_x_road_id(
    client: GatewayClient, gateway: FakeGateway
) -> None:
    gateway.answer(
        gateway.with_receipt(gateway.error(503, "server.provider_unavailable", "later")),
        gateway.with_receipt(gateway.signed({"full_name": "An"})),
    )
    response = client.population.person(PID, purpose="land-transfer")
    first, second = gateway.requests
    assert first.headers["X-Road-Id"] != second.headers["X-Road-Id"]
    assert response.receipt is not None
    assert response.receipt["jti"] == second.headers["X-Road-Id"]


def test_exhausted_retries_keep_the_last_receipt(
    client: GatewayClient, gateway: FakeGateway
) -> None:
    gateway.answer(gateway.with_receipt(gateway.error(503, "server.provider_unavailable", "x")))
    with pytest.raises(ProviderUnavailable) as caught:
        client.population.person(PID, purpose="land-transfer")
    assert caught.value.receipt is not None
    assert caught.value.receipt["jti"] == gateway.last.headers["X-Road-Id"]


# -- bad receipts ----------------------------------------------------------------------------


@pytest.fixture(scope="module")
def foreign_gateway() -> Signer:
    """A certificate naming the gateway, from a CA nobody trusts."""
    now = dt.datetime.now(dt.UTC)
    ca_key, key = new_key(), new_key()
    ca = make_ca(ca_key, now=now)
    cert = issue(
        ca_cert=ca,
        ca_key=ca_key,
        subject=GATEWAY,
        public_key=key.public_key(),
        not_before=now - dt.timedelta(days=1),
        not_after=now + dt.timedelta(days=1),
    )
    return Signer(key, cert)


BAD_RECEIPTS: dict[str, tuple[dict[str, Any], str]] = {
    "signed-by-a-registry": ({"by": "population"}, "wrong_signer"),
    "signed-by-a-consumer-as-the-gateway": ({"by": "one-stop", "iss": GATEWAY}, "wrong_signer"),
    "iss-another-gateway": ({"iss": "VN/GOV/LIENTHONG/other"}, "iss"),
    "iss-missing": ({"iss": DROP}, "iss"),
    "jti-another-exchange": ({"jti": "another-exchange"}, "jti"),
    "jti-missing": ({"jti": DROP}, "jti"),
    "a-response-signature-as-receipt": ({"typ": TYP_RESPONSE}, "typ"),
    "not-a-jws": ({"token": "not.a.jws"}, "malformed"),
    "empty": ({"token": ""}, "malformed"),
    "index-missing": ({"index": DROP}, "index"),
    "index-negative": ({"index": -1}, "index"),
    "index-a-string": ({"index": "41"}, "index"),
    "index-a-bool": ({"index": True}, "index"),
    "leaf-hash-missing": ({"leaf_hash": DROP}, "leaf_hash"),
    "leaf-hash-not-hex": ({"leaf_hash": "zz" * 32}, "leaf_hash"),
    "leaf-hash-short": ({"leaf_hash": "ab" * 31}, "leaf_hash"),
    "accepted-after-answered": ({"accepted_index": RECEIPT_INDEX}, "accepted_index"),
    "accepted-negative": ({"accepted_index": -1}, "accepted_index"),
    "accepted-leaf-missing": ({"accepted_leaf_hash": DROP}, "accepted_leaf_hash"),
}


@pytest.mark.parametrize("case", list(BAD_RECEIPTS), ids=list(BAD_RECEIPTS))
@pytest.mark.parametrize("answer", ["data", "refusal"])
def test_bad_receipt_is_refused(
    client: GatewayClient, gateway: FakeGateway, case: str, answer: str
) -> None:
    options, reason = BAD_RECEIPTS[case]
    reply = (
        gateway.signed({"full_name": "An"})
        if answer == "data"
        else gateway.error(403, "client.access_denied", "no grant")
    )
    gateway.answer(gateway.with_receipt(reply, **options))
    with pytest.raises(ResponseVerificationFailed) as caught:
        client.population.person(PID, purpose="land-transfer")
    assert caught.value.check == "receipt"
    assert caught.value.detail == {"check": "receipt", "reason": reason}
    assert caught.value.x_road_id == gateway.last.headers["X-Road-Id"]
    assert caught.value.receipt is None
    assert "receipt" in caught.value.message


def test_receipt_tampered_after_signing_is_refused(
    client: GatewayClient, gateway: FakeGateway
) -> None:
    def tampered(request: Any) -> Any:
        response = gateway.with_receipt(gateway.signed({"full_name": "An"}))(request)
        head, payload, sig = response.headers["X-Road-Log-Receipt"].split(".")
        flipped = sig[:10] + ("A" if sig[10] != "A" else "B") + sig[11:]
        response.headers["X-Road-Log-Receipt"] = f"{head}.{payload}.{flipped}"
        return response

    gateway.answer(tampered)
    with pytest.raises(ResponseVerificationFailed) as caught:
        client.population.person(PID, purpose="land-transfer")
    assert caught.value.detail == {"check": "receipt", "reason": "bad_signature"}


def test_receipt_from_an_untrusted_ca_is_refused(
    client: GatewayClient, gateway: FakeGateway, foreign_gateway: Signer
) -> None:
    gateway.answer(gateway.with_receipt(gateway.signed({"a": 1}), signer=foreign_gateway))
    with pytest.raises(ResponseVerificationFailed) as caught:
        client.population.person(PID, purpose="land-transfer")
    assert caught.value.check == "receipt"
    assert caught.value.detail["reason"] not in (None, "wrong_signer")


def test_receipt_is_checked_against_the_configured_gateway_id(
    pki: Path, now: dt.datetime, gateway: FakeGateway
) -> None:
    """A client of another gateway id refuses this gateway's receipt."""
    gateway.answer(gateway.with_receipt(gateway.signed({"full_name": "An"})))
    with (
        GatewayClient.from_pki(
            pki,
            "VN/GOV/UBND-HN/one-stop",
            user_id="001080000001",
            gateway_id="VN/GOV/LIENTHONG/gateway2",
            clock=lambda: now,
        ) as other,
        pytest.raises(ResponseVerificationFailed) as caught,
    ):
        other.population.person(PID, purpose="land-transfer")
    assert caught.value.detail == {"check": "receipt", "reason": "wrong_signer"}


def test_good_receipt_stays_on_a_response_that_fails_its_own_checks(
    client: GatewayClient, gateway: FakeGateway
) -> None:
    """The registry's signature is wrong, the gateway's receipt right: the data is refused,
    the receipt kept (evidence that the exchange was logged)."""
    gateway.answer(gateway.with_receipt(gateway.signed({"a": 1}, content=b'{"a":2}')))
    with pytest.raises(ResponseVerificationFailed) as caught:
        client.population.person(PID, purpose="land-transfer")
    assert caught.value.check == "body_sha256"
    assert caught.value.receipt == _expected(gateway)


def test_metaservice_answer_has_no_receipt(client: GatewayClient, gateway: FakeGateway) -> None:
    gateway.answer(gateway.unsigned({"clients": []}))
    assert client.list_clients().receipt is None


# -- async -----------------------------------------------------------------------------------


@pytest.mark.anyio
async def test_async_client_checks_receipts_too(
    async_client: AsyncGatewayClient, gateway: FakeGateway
) -> None:
    gateway.answer(gateway.with_receipt(gateway.signed({"full_name": "An"})))
    response = await async_client.population.person(PID, purpose="land-transfer")
    assert response.receipt == _expected(gateway)

    gateway.answer(gateway.with_receipt(gateway.signed({"full_name": "An"}), jti="other"))
    with pytest.raises(ResponseVerificationFailed) as caught:
        await async_client.population.person(PID, purpose="land-transfer")
    assert caught.value.detail == {"check": "receipt", "reason": "jti"}

    gateway.answer(gateway.with_receipt(gateway.error(403, "client.access_denied")))
    with pytest.raises(GatewayError) as refused:
        await async_client.population.person(PID, purpose="land-transfer")
    assert isinstance(refused.value, AccessDenied)
    assert refused.value.receipt == _expected(gateway)
