"""What goes on the wire: the X-Road headers and a request signature the gateway can check."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import httpx
import pytest

from certs.authority import Authority
from consumers.sdk import GatewayClient
from consumers.sdk.protocol import split_target
from core.pki import TrustStore
from core.signing import TYP_REQUEST, SignatureRejected, sha256_b64url, timestamp, verify
from tests.consumers.sdk.conftest import OFFICIAL, ONE_STOP, PID, FakeGateway


def test_get_sets_every_x_road_header(client: GatewayClient, gateway: FakeGateway) -> None:
    client.population.person(
        PID, fields=["full_name", "date_of_birth"], purpose="land-transfer", issue="HS-2025/17"
    )
    sent = gateway.last
    assert sent.method == "GET"
    assert sent.url.path == f"/r1/VN/GOV/BCA/population/persons/{PID}"
    assert sent.url.params["fields"] == "full_name,date_of_birth"
    assert sent.headers["X-Road-Client"] == ONE_STOP
    assert sent.headers["X-Road-UserId"] == OFFICIAL
    assert sent.headers["X-Road-Purpose"] == "land-transfer"
    assert sent.headers["X-Road-Issue"] == "HS-2025/17"
    assert "X-Road-Consent" not in sent.headers
    assert sent.headers["X-Road-Signature"].count(".") == 2


def test_request_signature_verifies_with_the_claims_of_the_protocol(
    client: GatewayClient, gateway: FakeGateway, store: TrustStore, now: dt.datetime
) -> None:
    client.population.person(
        PID, fields="full_name", purpose="bank-kyc", consent="c-123", issue="K-1"
    )
    sent = gateway.last
    verified = verify(sent.headers["X-Road-Signature"], store=store, now=now, typ=TYP_REQUEST)
    assert str(verified.signer) == ONE_STOP
    assert verified.claims == {
        "iss": ONE_STOP,
        "aud": "VN/GOV/LIENTHONG/gateway",
        "htm": "GET",
        "htu": f"/r1/VN/GOV/BCA/population/persons/{PID}?fields=full_name",
        "iat": timestamp(now),
        "jti": sent.headers["X-Road-Id"],
        "purpose": "bank-kyc",
        "consent": "c-123",
        "uid": OFFICIAL,
        "issue": "K-1",
        "body_sha256": sha256_b64url(b""),
    }


def test_request_signature_is_not_a_response_signature(
    client: GatewayClient, gateway: FakeGateway, store: TrustStore, now: dt.datetime
) -> None:
    gateway.answer(gateway.unsigned([]))
    client.list_clients()
    with pytest.raises(SignatureRejected):
        verify(
            gateway.last.headers["X-Road-Signature"], store=store, now=now, typ="xroad-response+jwt"
        )


def test_htu_is_the_path_and_query_exactly_as_sent(
    client: GatewayClient, gateway: FakeGateway, store: TrustStore, now: dt.datetime
) -> None:
    gateway.answer(gateway.signed(by="land"))
    client.land.parcel("00070 12/345", fields=["area", "holders"])
    sent = gateway.last
    claims = verify(sent.headers["X-Road-Signature"], store=store, now=now, typ=TYP_REQUEST).claims
    assert claims["htu"] == sent.url.raw_path.decode("ascii")
    assert claims["htu"] == "/r1/VN/GOV/BNNMT/land/parcels/00070%2012%2F345?fields=area,holders"


def test_post_signs_the_sha256_of_the_exact_body(
    client: GatewayClient, gateway: FakeGateway, store: TrustStore, now: dt.datetime
) -> None:
    client.population.verify_identity(
        PID, "Nguyễn Văn An", dt.date(1990, 5, 17), purpose="bank-kyc", consent="c-1"
    )
    sent = gateway.last
    claims = verify(sent.headers["X-Road-Signature"], store=store, now=now, typ=TYP_REQUEST).claims
    assert sent.method == "POST"
    assert sent.headers["Content-Type"] == "application/json"
    assert claims["htm"] == "POST"
    assert claims["body_sha256"] == sha256_b64url(sent.content)
    assert json.loads(sent.content) == {
        "personal_id": PID,
        "full_name": "Nguyễn Văn An",
        "date_of_birth": "1990-05-17",
    }


def test_every_request_gets_a_fresh_x_road_id_equal_to_its_jti(
    client: GatewayClient, gateway: FakeGateway, store: TrustStore, now: dt.datetime
) -> None:
    for _ in range(3):
        client.population.person(PID, purpose="land-transfer")
    ids = [r.headers["X-Road-Id"] for r in gateway.requests]
    assert len(set(ids)) == 3
    for request in gateway.requests:
        claims = verify(
            request.headers["X-Road-Signature"], store=store, now=now, typ=TYP_REQUEST
        ).claims
        assert claims["jti"] == request.headers["X-Road-Id"]


def test_absent_context_is_null_in_the_claims_and_absent_from_the_headers(
    pki: Path, gateway: FakeGateway, store: TrustStore, now: dt.datetime
) -> None:
    gateway.answer(gateway.unsigned([]))
    with GatewayClient.from_pki(pki, ONE_STOP, clock=lambda: now) as client:
        client.list_clients()
    sent = gateway.last
    claims = verify(sent.headers["X-Road-Signature"], store=store, now=now, typ=TYP_REQUEST).claims
    assert sent.url.path == "/r1/listClients"
    assert {k: claims[k] for k in ("purpose", "consent", "uid", "issue")} == dict.fromkeys(
        ("purpose", "consent", "uid", "issue")
    )
    for header in ("X-Road-UserId", "X-Road-Purpose", "X-Road-Consent", "X-Road-Issue"):
        assert header not in sent.headers


def test_per_call_user_id_overrides_the_clients(
    client: GatewayClient, gateway: FakeGateway
) -> None:
    client.population.person(PID, purpose="land-transfer", user_id="079085000123")
    assert gateway.last.headers["X-Road-UserId"] == "079085000123"


@pytest.mark.parametrize(
    ("kwargs", "problem"),
    [
        ({"user_id": "12345"}, "user_id"),
        ({"purpose": "bad\npurpose"}, "X-Road-Purpose"),
        ({"issue": "x" * 129}, "X-Road-Issue"),
        ({"consent": "đồng-ý"}, "X-Road-Consent"),
    ],
)
def test_malformed_context_is_refused_before_sending(
    client: GatewayClient, gateway: FakeGateway, kwargs: dict[str, str], problem: str
) -> None:
    with pytest.raises(ValueError, match=problem):
        client.population.person(PID, **kwargs)
    assert gateway.requests == []


def test_client_refuses_a_certificate_of_another_member(pki: Path) -> None:
    authority = Authority(pki)
    cert, key = authority.member_paths("VN/GOV/VPDK-HN/land-office")
    with pytest.raises(ValueError, match="names VN/GOV/VPDK-HN/land-office"):
        GatewayClient(ONE_STOP, cert, key, authority.ca_cert_path)


def test_from_pki_explains_a_missing_member(pki: Path) -> None:
    with pytest.raises(FileNotFoundError, match="lienthong certs init"):
        GatewayClient.from_pki(pki, "VN/GOV/NOBODY/none")


def test_injected_transport_carries_the_requests(
    pki: Path, signers: dict[str, object], now: dt.datetime
) -> None:
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(200, json=[], headers={"X-Road-Id": request.headers["X-Road-Id"]})

    with GatewayClient.from_pki(
        pki, ONE_STOP, transport=httpx.MockTransport(handler), base_url="https://gw.example:9443/"
    ) as client:
        assert client.list_clients().data == []
    assert str(seen[0].url) == "https://gw.example:9443/r1/listClients"


@pytest.mark.parametrize(
    ("path", "service"),
    [
        ("VN/GOV/BCA/population/persons/001090012345", "VN/GOV/BCA/population/persons"),
        ("/r1/VN/GOV/BTC/business/enterprises/0101234565", "VN/GOV/BTC/business/enterprises"),
        ("VN/GOV/BNNMT/land/verifications/certificate", "VN/GOV/BNNMT/land/verifications"),
        ("listClients", None),
        ("VN/GOV/BCA/population/listMethods", None),
        ("VN/GOV/BCA/population/getOpenAPI?serviceCode=persons", None),
    ],
)
def test_service_paths_name_their_service(path: str, service: str | None) -> None:
    _, sid = split_target(path)
    assert (str(sid) if sid else None) == service


@pytest.mark.parametrize(
    "path", ["VN/GOV/BCA", "VN/GOV/BCA/population", "VN/XXX/BCA/population/persons", "listStuff"]
)
def test_other_paths_are_usage_errors(path: str) -> None:
    with pytest.raises(ValueError):
        split_target(path)


def test_client_closes_its_connections(pki: Path) -> None:
    transport = httpx.MockTransport(lambda request: httpx.Response(200))
    with GatewayClient.from_pki(pki, ONE_STOP, transport=transport) as client:
        pass
    assert client._http.is_closed
