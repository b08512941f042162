"""X-Road metaservices: listClients, listMethods, allowedMethods, getOpenAPI."""

from __future__ import annotations

import pytest

from tests.fixtures.gateway import InProcessExchange
from tests.gateway.support import (
    ADMIN,
    BUSINESS,
    KYC,
    LAND,
    LAND_OFFICE,
    ONE_STOP,
    POPULATION,
)

pytestmark = pytest.mark.anyio


async def _get(exchange: InProcessExchange, member: str, path: str) -> dict[str, object]:
    r = await exchange.member(member).call("GET", path)
    assert r.status_code == 200, r.text
    assert "x-road-error" not in r.headers
    assert r.headers["x-road-id"]
    body: dict[str, object] = r.json()
    return body


async def test_list_clients_names_providers_and_clients(exchange: InProcessExchange) -> None:
    body = await _get(exchange, ONE_STOP, "/r1/listClients")
    roles = {c["id"]: c["roles"] for c in body["clients"]}  # type: ignore[attr-defined]
    assert roles[POPULATION] == roles[BUSINESS] == roles[LAND] == ["provider"]
    assert roles[ONE_STOP] == roles[LAND_OFFICE] == roles[KYC] == ["client"]
    one_stop = next(c for c in body["clients"] if c["id"] == ONE_STOP)  # type: ignore[attr-defined]
    assert one_stop["member_class"] == "GOV"
    assert one_stop["subsystem"] == "one-stop"


async def test_list_methods_describes_every_operation_of_a_provider(
    exchange: InProcessExchange,
) -> None:
    body = await _get(exchange, KYC, f"/r1/{POPULATION}/listMethods")
    services = {s["service_code"]: s for s in body["services"]}  # type: ignore[attr-defined]
    assert set(services) == {"persons", "verifications"}
    persons = {(o["method"], o["path"]) for o in services["persons"]["operations"]}
    assert persons == {("GET", "/{personal_id}"), ("GET", "/{personal_id}/household")}
    verifications = services["verifications"]["operations"]
    assert verifications == [{"method": "POST", "path": "/identity", "fields": []}]


async def test_allowed_methods_shows_only_what_the_caller_is_granted(
    exchange: InProcessExchange,
) -> None:
    body = await _get(exchange, KYC, f"/r1/{POPULATION}/allowedMethods")
    services = {s["service_code"]: s for s in body["services"]}  # type: ignore[attr-defined]
    assert set(services) == {"persons", "verifications"}
    [person] = services["persons"]["operations"]
    assert (person["method"], person["path"]) == ("GET", "/{personal_id}")
    assert person["purposes"] == ["bank-kyc"]
    assert set(person["fields"]) == {
        "personal_id",
        "full_name",
        "date_of_birth",
        "sex",
        "nationality",
        "permanent_residence",
        "current_residence",
        "status",
    }

    land_office = await _get(exchange, LAND_OFFICE, f"/r1/{POPULATION}/allowedMethods")
    paths = [o["path"] for s in land_office["services"] for o in s["operations"]]  # type: ignore[attr-defined]
    assert "/{personal_id}/household" not in paths

    nothing = await _get(exchange, KYC, f"/r1/{LAND}/allowedMethods")
    assert nothing["services"] == []
    admin = await _get(exchange, ADMIN, f"/r1/{BUSINESS}/allowedMethods")
    assert admin["services"] == []


async def test_allowed_methods_lists_every_field_of_a_wildcard_grant(
    exchange: InProcessExchange,
) -> None:
    body = await _get(exchange, LAND_OFFICE, f"/r1/{LAND}/allowedMethods")
    services = {s["service_code"]: s for s in body["services"]}  # type: ignore[attr-defined]
    [parcel] = services["parcels"]["operations"]
    assert "rights_holders" in parcel["fields"]
    assert "encumbrances" in parcel["fields"]


async def test_get_openapi_holds_only_the_paths_of_one_service(
    exchange: InProcessExchange,
) -> None:
    body = await _get(exchange, ONE_STOP, f"/r1/{POPULATION}/getOpenAPI?serviceCode=persons")
    paths = list(body["paths"])  # type: ignore[call-overload]
    assert paths
    assert all(p == "/persons" or p.startswith("/persons/") for p in paths)
    assert body["servers"] == [{"url": f"/r1/{POPULATION}"}]
    assert "openapi" in body


async def test_metaservices_need_a_signed_request(exchange: InProcessExchange) -> None:
    r = await exchange.member(ONE_STOP).call("GET", "/r1/listClients", sign=False)
    assert r.status_code == 401
    assert r.headers["x-road-error"] == "client.signature_invalid"
