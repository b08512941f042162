"""The typed methods call the registries' real routes, with their parameters and bodies."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from typing import Any

import pytest

from consumers.sdk import GatewayClient
from tests.consumers.sdk.conftest import PID, FakeGateway
from tests.registries.conftest import blank_app

CODE = "0101234565"
CTX = {"purpose": "land-transfer", "issue": "HS-1"}

# (provider short name, call, method, path below /r1/, query, JSON body)
CASES: list[tuple[str, Callable[[GatewayClient], Any], str, str, str, Any]] = [
    (
        "population",
        lambda c: c.population.person(PID, fields=["full_name", "sex"], **CTX),
        "GET",
        f"VN/GOV/BCA/population/persons/{PID}",
        "fields=full_name,sex",
        None,
    ),
    (
        "population",
        lambda c: c.population.household(PID, **CTX),
        "GET",
        f"VN/GOV/BCA/population/persons/{PID}/household",
        "",
        None,
    ),
    (
        "population",
        lambda c: c.population.verify_identity(PID, "Trần Thị Bình", "1985-01-02", **CTX),
        "POST",
        "VN/GOV/BCA/population/verifications/identity",
        "",
        {"personal_id": PID, "full_name": "Trần Thị Bình", "date_of_birth": "1985-01-02"},
    ),
    (
        "business",
        lambda c: c.business.enterprise(CODE, fields="name_vi", **CTX),
        "GET",
        f"VN/GOV/BTC/business/enterprises/{CODE}",
        "fields=name_vi",
        None,
    ),
    (
        "business",
        lambda c: c.business.roles(PID, **CTX),
        "GET",
        f"VN/GOV/BTC/business/persons/{PID}/roles",
        "",
        None,
    ),
    (
        "business",
        lambda c: c.business.household_business("01A8012345", **CTX),
        "GET",
        "VN/GOV/BTC/business/household-businesses/01A8012345",
        "",
        None,
    ),
    (
        "business",
        lambda c: c.business.verify_enterprise(CODE, legal_representative_id=PID, **CTX),
        "POST",
        "VN/GOV/BTC/business/verifications/enterprise",
        "",
        {"enterprise_code": CODE, "legal_representative_id": PID},
    ),
    (
        "land",
        lambda c: c.land.parcel("w7er8u0evss2", **CTX),
        "GET",
        "VN/GOV/BNNMT/land/parcels/w7er8u0evss2",
        "",
        None,
    ),
    (
        "land",
        lambda c: c.land.parcels_of_person(PID, fields=["parcel_id"], **CTX),
        "GET",
        f"VN/GOV/BNNMT/land/persons/{PID}/parcels",
        "fields=parcel_id",
        None,
    ),
    (
        "land",
        lambda c: c.land.parcels_of_enterprise(CODE, **CTX),
        "GET",
        f"VN/GOV/BNNMT/land/enterprises/{CODE}/parcels",
        "",
        None,
    ),
    (
        "land",
        lambda c: c.land.verify_certificate("BK 123456", holder_id=PID, **CTX),
        "POST",
        "VN/GOV/BNNMT/land/verifications/certificate",
        "",
        {"certificate_number": "BK 123456", "holder_id": PID},
    ),
]


@pytest.mark.parametrize(
    ("provider", "make_call", "method", "target", "query", "body"),
    CASES,
    ids=[case[3].split("/", 4)[4] for case in CASES],
)
def test_typed_method_sends_its_request(
    client: GatewayClient,
    gateway: FakeGateway,
    provider: str,
    make_call: Callable[[GatewayClient], Any],
    method: str,
    target: str,
    query: str,
    body: Any,
) -> None:
    gateway.answer(gateway.signed({"ok": True}, by=provider))
    response = make_call(client)
    sent = gateway.last
    assert sent.method == method
    assert sent.url.path == f"/r1/{target}"
    assert sent.url.query.decode() == query
    assert sent.headers["X-Road-Purpose"] == "land-transfer"
    assert sent.headers["X-Road-Issue"] == "HS-1"
    assert (json.loads(sent.content) if sent.content else None) == body
    assert response.data == {"ok": True}


@pytest.mark.parametrize(
    ("provider", "target", "method"),
    [(case[0], case[3], case[2]) for case in CASES],
    ids=[case[3].split("/", 4)[4] for case in CASES],
)
def test_typed_method_reaches_a_route_of_its_registry(
    provider: str, target: str, method: str
) -> None:
    forwarded = "/" + "/".join(target.split("/")[4:])
    paths = blank_app(provider).openapi()["paths"]
    assert any(
        re.fullmatch(re.sub(r"\{[^}/]+\}", "[^/]+", template), forwarded)
        and method.lower() in operations
        for template, operations in paths.items()
    ), f"{method} {forwarded} is not a route of the {provider} registry"


@pytest.mark.parametrize(
    ("make_call", "url"),
    [
        (lambda c: c.list_clients(), "/r1/listClients"),
        (
            lambda c: c.list_methods("VN/GOV/BCA/population"),
            "/r1/VN/GOV/BCA/population/listMethods",
        ),
        (
            lambda c: c.allowed_methods("VN/GOV/BTC/business"),
            "/r1/VN/GOV/BTC/business/allowedMethods",
        ),
        (
            lambda c: c.get_openapi("VN/GOV/BNNMT/land", "parcels"),
            "/r1/VN/GOV/BNNMT/land/getOpenAPI?serviceCode=parcels",
        ),
    ],
)
def test_metaservice_calls_their_gateway_path(
    client: GatewayClient,
    gateway: FakeGateway,
    make_call: Callable[[GatewayClient], Any],
    url: str,
) -> None:
    gateway.answer(gateway.unsigned({"ok": True}))
    assert make_call(client).data == {"ok": True}
    assert gateway.last.method == "GET"
    assert gateway.last.url.raw_path.decode() == url


def test_metaservice_refuses_a_malformed_provider(
    client: GatewayClient, gateway: FakeGateway
) -> None:
    with pytest.raises(ValueError):
        client.list_methods("VN/GOV/../population")
    assert gateway.requests == []


def test_request_reaches_any_service_path(client: GatewayClient, gateway: FakeGateway) -> None:
    gateway.answer(gateway.signed(by="land"))
    client.request(
        "GET",
        "VN/GOV/BNNMT/land/parcels",
        "/00070-12-345",
        params={"fields": ["area", "holders"]},
        purpose="land-transfer",
    )
    assert gateway.last.url.raw_path.decode() == (
        "/r1/VN/GOV/BNNMT/land/parcels/00070-12-345?fields=area,holders"
    )


def test_request_refuses_a_path_not_below_the_service(client: GatewayClient) -> None:
    with pytest.raises(ValueError, match="must start with '/'"):
        client.request("GET", "VN/GOV/BNNMT/land/parcels", "00070-12-345")
