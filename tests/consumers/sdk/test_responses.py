"""Answers are used only when their owner signed them for this very request."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

from certs.authority import issue, make_ca, new_key
from consumers.sdk import AccessDenied, GatewayClient, NotFound, ResponseVerificationFailed
from core.signing import TYP_RESPONSE, Signer, sha256_b64url, timestamp
from tests.consumers.sdk.conftest import PID, FakeGateway

PERSON = {"personal_id": PID, "full_name": "Nguyễn Văn An"}


def test_signed_answer_is_returned_with_its_evidence(
    client: GatewayClient, gateway: FakeGateway
) -> None:
    gateway.answer(gateway.signed(PERSON))
    response = client.population.person(PID, purpose="land-transfer")
    sent = gateway.last
    assert response.status == 200
    assert response.data == PERSON
    assert str(response.provider) == "VN/GOV/BCA/population"
    assert str(response.service) == "VN/GOV/BCA/population/persons"
    assert response.x_road_id == sent.headers["X-Road-Id"]
    assert response.request_signature == sent.headers["X-Road-Signature"]
    assert response.request_hash == sha256_b64url(sent.headers["X-Road-Signature"].encode())
    assert response.response_signature == response.headers["X-Road-Response-Signature"]
    assert response.response_claims["body_sha256"] == sha256_b64url(response.body)


def test_registry_refusal_is_verified_then_raised(
    client: GatewayClient, gateway: FakeGateway
) -> None:
    body = {"type": "client.person_not_found", "message": "no such person", "detail": None}
    gateway.answer(gateway.signed(body, status=404))
    with pytest.raises(NotFound) as caught:
        client.population.person(PID, purpose="land-transfer")
    err = caught.value
    assert (err.status, err.type, err.message) == (404, "client.person_not_found", "no such person")
    assert err.x_road_id == gateway.last.headers["X-Road-Id"]
    assert err.response is not None
    assert str(err.response.provider) == "VN/GOV/BCA/population"


def _tampered_signature(gateway: FakeGateway) -> Any:
    good = gateway.signed(PERSON)

    def reply(request: Any) -> Any:
        response = good(request)
        token = response.headers["X-Road-Response-Signature"]
        head, claims, sig = token.split(".")
        flipped = sig[:10] + ("A" if sig[10] != "A" else "B") + sig[11:]
        response.headers["X-Road-Response-Signature"] = f"{head}.{claims}.{flipped}"
        return response

    return reply


@pytest.mark.parametrize(
    ("make_reply", "check"),
    [
        (_tampered_signature, "bad_signature"),
        (lambda g: g.signed(PERSON, by="business"), "wrong_signer"),
        (lambda g: g.signed(PERSON, by="gateway"), "wrong_signer"),
        (lambda g: g.signed(PERSON, claims={"iss": "VN/GOV/BTC/business"}), "iss"),
        (lambda g: g.signed(PERSON, claims={"request_hash": sha256_b64url(b"x")}), "request_hash"),
        (
            lambda g: g.signed(PERSON, headers={"X-Road-Request-Hash": sha256_b64url(b"x")}),
            "request_hash_header",
        ),
        (lambda g: g.signed(PERSON, claims={"jti": "another-id"}), "jti"),
        (lambda g: g.signed(PERSON, claims={"status": 404}), "status"),
        (lambda g: g.signed(PERSON, claims={"status": "200"}), "status"),
        (lambda g: g.signed(PERSON, content=b'{"personal_id":"001090099999"}'), "body_sha256"),
        (lambda g: g.signed(PERSON, headers={"X-Road-Id": "another-id"}), "x_road_id"),
        (
            lambda g: g.signed(PERSON, headers={"X-Road-Service": "VN/GOV/BCA/population/x"}),
            "service",
        ),
        (lambda g: g.signed(PERSON, headers={"X-Road-Response-Signature": "a.b"}), "malformed"),
        (lambda g: g.unsigned(PERSON), "signature_missing"),
    ],
)
def test_answer_that_does_not_verify_is_refused(
    client: GatewayClient, gateway: FakeGateway, make_reply: Any, check: str
) -> None:
    gateway.answer(make_reply(gateway))
    with pytest.raises(ResponseVerificationFailed) as caught:
        client.population.person(PID, purpose="land-transfer")
    assert caught.value.check == check
    assert caught.value.x_road_id == gateway.last.headers["X-Road-Id"]


def test_registry_refusal_with_a_bad_signature_is_refused(
    client: GatewayClient, gateway: FakeGateway
) -> None:
    body = {"type": "client.person_not_found", "message": "no such person", "detail": None}
    gateway.answer(gateway.signed(body, status=404, claims={"status": 200}))
    with pytest.raises(ResponseVerificationFailed):
        client.population.person(PID, purpose="land-transfer")


def test_answer_signed_under_another_ca_is_refused(
    client: GatewayClient, gateway: FakeGateway, now: dt.datetime
) -> None:
    rogue_ca_key = new_key()
    rogue_ca = make_ca(rogue_ca_key, now=now, name="rogue CA")
    key = new_key()
    cert = issue(
        ca_cert=rogue_ca,
        ca_key=rogue_ca_key,
        subject="VN/GOV/BCA/population",
        public_key=key.public_key(),
        not_before=now - dt.timedelta(days=1),
        not_after=now + dt.timedelta(days=1),
    )
    rogue = Signer(key, cert)

    def reply(request: Any) -> Any:
        response = gateway.signed(PERSON)(request)
        claims = {
            "iss": "VN/GOV/BCA/population",
            "jti": request.headers["X-Road-Id"],
            "request_hash": response.headers["X-Road-Request-Hash"],
            "status": 200,
            "body_sha256": sha256_b64url(response.content),
            "iat": timestamp(now),
        }
        response.headers["X-Road-Response-Signature"] = rogue.sign(claims, typ=TYP_RESPONSE)
        return response

    gateway.answer(reply)
    with pytest.raises(ResponseVerificationFailed) as caught:
        client.population.person(PID, purpose="land-transfer")
    assert caught.value.check == "untrusted"


def test_answer_signed_by_an_expired_certificate_is_refused(
    pki: Any, gateway: FakeGateway, now: dt.datetime
) -> None:
    later = now + dt.timedelta(days=400)
    gateway.answer(gateway.signed(PERSON))
    with (
        GatewayClient.from_pki(pki, "VN/GOV/UBND-HN/one-stop", clock=lambda: later) as client,
        pytest.raises(ResponseVerificationFailed) as caught,
    ):
        client.population.person(PID, purpose="land-transfer")
    assert caught.value.check == "expired"


def test_metaservice_answer_from_the_gateway_needs_no_registry_signature(
    client: GatewayClient, gateway: FakeGateway
) -> None:
    gateway.answer(gateway.unsigned([{"id": "VN/GOV/BCA/population"}]))
    response = client.list_clients()
    assert response.data == [{"id": "VN/GOV/BCA/population"}]
    assert response.provider is None


def test_metaservice_answer_bound_to_another_request_is_refused(
    client: GatewayClient, gateway: FakeGateway
) -> None:
    def reply(request: Any) -> Any:
        response = gateway.unsigned([])(request)
        response.headers["X-Road-Request-Hash"] = sha256_b64url(b"another request")
        return response

    gateway.answer(reply)
    with pytest.raises(ResponseVerificationFailed) as caught:
        client.list_methods("VN/GOV/BCA/population")
    assert caught.value.check == "request_hash_header"


def test_metaservice_answer_signed_by_the_gateway_verifies(
    client: GatewayClient, gateway: FakeGateway
) -> None:
    gateway.answer(gateway.signed({"service": []}, by="gateway"))
    response = client.allowed_methods("VN/GOV/BCA/population")
    assert str(response.provider) == "VN/GOV/LIENTHONG/gateway"


def test_gateway_refusal_with_an_empty_signature_header_is_the_gateways_error(
    client: GatewayClient, gateway: FakeGateway
) -> None:
    gateway.answer(
        gateway.error(403, "client.access_denied", headers={"X-Road-Response-Signature": ""})
    )
    with pytest.raises(AccessDenied):
        client.population.person(PID, purpose="land-transfer")
