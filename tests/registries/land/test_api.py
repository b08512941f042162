"""The land registry's HTTP API, driven in-process against a freshly seeded database."""

from __future__ import annotations

from collections import defaultdict
from datetime import date
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import update

from core.db import bulk_insert
from core.ids.parcel import make_parcel_id
from registries.land import vocabulary as v
from registries.land.models import Certificate, Parcel, RightsHolder
from registries.land.service import HOLDING_FIELDS, PARCEL_FIELDS
from tests.registries.land.conftest import World
from tests.registries.land.factories import rows

pytestmark = pytest.mark.anyio

UNKNOWN_PARCEL = "w7er8u0evss2"  # Hoàn Kiếm, Hà Nội: valid, and not in the seed


def holders_by_parcel(world: World) -> dict[str, list[dict[str, Any]]]:
    out: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for h in rows(world.land, "land_rights_holder"):
        out[h["parcel_id"]].append(h)
    return out


def couple_parcel(world: World) -> tuple[str, list[dict[str, Any]]]:
    return next(
        (pid, hs)
        for pid, hs in holders_by_parcel(world).items()
        if len(hs) == 2 and hs[0]["marital_property"]
    )


def mortgaged_parcel(world: World) -> dict[str, Any]:
    return next(m for m in rows(world.land, "land_encumbrance") if m["status"] == v.ACTIVE)


def certificate(world: World, status: str) -> dict[str, Any]:
    return next(c for c in rows(world.land, "land_certificate") if c["status"] == status)


def assert_error(response: httpx.Response, status: int, type_: str) -> dict[str, Any]:
    assert response.status_code == status, response.text
    body: dict[str, Any] = response.json()
    assert body["type"] == type_
    assert response.headers["X-Road-Error"] == type_
    return body


# -- GET /parcels/{parcel_id} ------------------------------------------------------------


async def test_parcel_by_national_id_has_every_field(
    client: httpx.AsyncClient, world: World
) -> None:
    parcel_id, holders = couple_parcel(world)
    r = await client.get(f"/parcels/{parcel_id}")
    assert r.status_code == 200
    body = r.json()
    assert list(body) == list(PARCEL_FIELDS)
    assert body["parcel_id"] == parcel_id
    assert body["purpose_name"] == v.PURPOSES[body["purpose_code"]]
    assert body["cadastral_number"] == (
        f"{body['commune_code']}-{body['map_sheet']}-{body['parcel_number']}"
    )
    assert {h["id"] for h in body["rights_holders"]} == {h["holder_id"] for h in holders}
    assert all(h["marital_property"] and h["share"] == 0.5 for h in body["rights_holders"])
    assert body["certificate"]["status"] in (v.CERT_VALID, v.CERT_REVOKED)
    assert body["transactions"][0]["kind"] in (v.TX_INITIAL,)
    dates = [t["registered_on"] for t in body["transactions"]]
    assert dates == sorted(dates)


async def test_parcel_by_cadastral_number_is_the_same_record(
    client: httpx.AsyncClient, world: World
) -> None:
    parcel_id = world.land.parcels[0][0]
    by_id = (await client.get(f"/parcels/{parcel_id}")).json()
    r = await client.get(f"/parcels/{by_id['cadastral_number']}")
    assert r.status_code == 200
    assert r.json() == by_id


async def test_mortgaged_parcel_shows_the_active_mortgage(
    client: httpx.AsyncClient, world: World
) -> None:
    m = mortgaged_parcel(world)
    body = (await client.get(f"/parcels/{m['parcel_id']}?fields=encumbrances")).json()
    active = [e for e in body["encumbrances"] if e["status"] == "active"]
    assert active == [
        {
            "kind": "mortgage",
            "creditor_code": m["creditor_code"],
            "creditor_name": m["creditor_name"],
            "amount_vnd": m["amount_vnd"],
            "registered_on": m["registered_on"].isoformat(),
            "status": "active",
            "released_on": None,
        }
    ]


async def test_fields_select_only_those_fields(client: httpx.AsyncClient, world: World) -> None:
    parcel_id = world.land.parcels[1][0]
    r = await client.get(f"/parcels/{parcel_id}", params={"fields": "area_m2, rights_holders"})
    assert r.status_code == 200
    assert set(r.json()) == {"area_m2", "rights_holders"}


async def test_unknown_fields_are_400_listing_them(client: httpx.AsyncClient, world: World) -> None:
    r = await client.get(f"/parcels/{world.land.parcels[0][0]}?fields=area_m2,owner,price")
    body = assert_error(r, 400, "client.bad_request")
    assert body["detail"]["unknown"] == ["owner", "price"]


@pytest.mark.parametrize(
    ("ref", "names"),
    [
        ("w7er8u0ev", "12 GeoHash characters"),
        ("w7er8u0evssa", "character 12"),
        ("000000000000", "outside Vietnam"),
        ("99999-1-2", "commune code 99999"),
        ("00070-0-2", "map sheet"),
        ("00070-1-x", "parcel number"),
    ],
)
async def test_malformed_parcel_ids_are_400_naming_the_problem(
    client: httpx.AsyncClient, ref: str, names: str
) -> None:
    body = assert_error(await client.get(f"/parcels/{ref}"), 400, "client.bad_request")
    assert names in body["message"]


async def test_unknown_parcel_is_404_parcel_not_found(client: httpx.AsyncClient) -> None:
    assert_error(await client.get(f"/parcels/{UNKNOWN_PARCEL}"), 404, "client.parcel_not_found")
    r = await client.get("/parcels/00070-9999-999999")
    assert_error(r, 404, "client.parcel_not_found")


# -- GET /persons/{id}/parcels and /enterprises/{code}/parcels -----------------------------


async def test_both_spouses_list_their_marital_property(
    client: httpx.AsyncClient, world: World
) -> None:
    parcel_id, holders = couple_parcel(world)
    for h in holders:
        r = await client.get(f"/persons/{h['holder_id']}/parcels")
        assert r.status_code == 200
        body = r.json()
        assert body["personal_id"] == h["holder_id"]
        mine = next(p for p in body["parcels"] if p["parcel_id"] == parcel_id)
        assert list(mine) == list(HOLDING_FIELDS)
        assert mine["share"] == 0.5
        assert mine["marital_property"] is True


async def test_person_parcels_flag_the_active_mortgage(
    client: httpx.AsyncClient, world: World
) -> None:
    m = mortgaged_parcel(world)
    holder = holders_by_parcel(world)[m["parcel_id"]][0]
    path = f"/{holder['holder_kind']}s/{holder['holder_id']}/parcels"
    r = await client.get(path, params={"fields": "parcel_id,has_active_mortgage"})
    assert {"parcel_id": m["parcel_id"], "has_active_mortgage": True} in r.json()["parcels"]


async def test_unknown_person_has_an_empty_list(client: httpx.AsyncClient) -> None:
    r = await client.get("/persons/001099999999/parcels")
    assert r.status_code == 200
    assert r.json() == {"personal_id": "001099999999", "parcels": []}


async def test_malformed_personal_id_is_400_naming_the_province(
    client: httpx.AsyncClient,
) -> None:
    body = assert_error(
        await client.get("/persons/999099000001/parcels"), 400, "client.bad_request"
    )
    assert "province" in body["message"]
    assert_error(await client.get("/persons/12345/parcels"), 400, "client.bad_request")


async def test_person_parcels_reject_unknown_fields(
    client: httpx.AsyncClient, world: World
) -> None:
    pid = world.people[0].personal_id
    body = assert_error(
        await client.get(f"/persons/{pid}/parcels?fields=certificate"), 400, "client.bad_request"
    )
    assert body["detail"]["unknown"] == ["certificate"]


async def test_enterprise_lists_its_parcels(client: httpx.AsyncClient, world: World) -> None:
    held = next(
        h for h in rows(world.land, "land_rights_holder") if h["holder_kind"] == "enterprise"
    )
    r = await client.get(f"/enterprises/{held['holder_id']}/parcels?fields=parcel_id,share")
    assert r.status_code == 200
    assert r.json()["enterprise_code"] == held["holder_id"]
    assert {"parcel_id": held["parcel_id"], "share": 1.0} in r.json()["parcels"]


async def test_unknown_enterprise_has_an_empty_list_and_bad_code_is_400(
    client: httpx.AsyncClient,
) -> None:
    r = await client.get("/enterprises/0100109106/parcels")
    assert r.json() == {"enterprise_code": "0100109106", "parcels": []}
    body = assert_error(
        await client.get("/enterprises/0100109107/parcels"), 400, "client.bad_request"
    )
    assert "0100109107" in body["message"]


# -- POST /verifications/certificate -------------------------------------------------------


async def test_valid_certificate_matches_its_parcel_and_holder(
    client: httpx.AsyncClient, world: World
) -> None:
    cert = certificate(world, v.CERT_VALID)
    holder = cert["holder_ids"].split(",")[0]
    query = {
        "certificate_number": cert["certificate_number"],
        "parcel_id": cert["parcel_id"],
        "holder_id": holder,
    }
    r = await client.post("/verifications/certificate", json=query)
    assert r.status_code == 200
    assert r.json() == {"valid": True, "status": "valid", "match": True}


async def test_certificate_number_ignores_case_and_spacing(
    client: httpx.AsyncClient, world: World
) -> None:
    number = certificate(world, v.CERT_VALID)["certificate_number"]
    sloppy = "  " + number.lower().replace(" ", "   ")
    r = await client.post("/verifications/certificate", json={"certificate_number": sloppy})
    assert r.json() == {"valid": True, "status": "valid", "match": True}


async def test_a_certificate_number_that_only_upper_cases_to_ascii_is_400(
    client: httpx.AsyncClient,
) -> None:
    # "ß".upper() == "SS": non-ASCII must be refused before any case folding.
    r = await client.post("/verifications/certificate", json={"certificate_number": "ßß 123456"})
    assert r.status_code == 400
    assert r.json()["detail"] == {"part": "certificate_number"}


async def test_wrong_holder_or_parcel_does_not_match(
    client: httpx.AsyncClient, world: World
) -> None:
    cert = certificate(world, v.CERT_VALID)
    stranger = next(p.personal_id for p in world.people if p.personal_id not in cert["holder_ids"])
    number = cert["certificate_number"]
    for extra in ({"holder_id": stranger}, {"parcel_id": UNKNOWN_PARCEL}):
        r = await client.post(
            "/verifications/certificate", json={"certificate_number": number, **extra}
        )
        assert r.json() == {"valid": True, "status": "valid", "match": False}


async def test_replaced_certificate_is_not_valid_but_still_names_its_holders(
    client: httpx.AsyncClient, world: World
) -> None:
    cert = certificate(world, v.CERT_REPLACED)
    query = {
        "certificate_number": cert["certificate_number"],
        "holder_id": cert["holder_ids"].split(",")[0],
    }
    r = await client.post("/verifications/certificate", json=query)
    assert r.json() == {"valid": False, "status": "replaced", "match": True}


async def test_revoked_certificate_is_not_valid(
    client: httpx.AsyncClient, app: FastAPI, world: World
) -> None:
    number = certificate(world, v.CERT_VALID)["certificate_number"]
    with app.state.engine.begin() as conn:
        conn.execute(
            update(Certificate)
            .where(Certificate.certificate_number == number)
            .values(status=v.CERT_REVOKED)
        )
    r = await client.post("/verifications/certificate", json={"certificate_number": number})
    assert r.json() == {"valid": False, "status": "revoked", "match": True}


async def test_unknown_certificate_is_404_certificate_not_found(
    client: httpx.AsyncClient,
) -> None:
    r = await client.post("/verifications/certificate", json={"certificate_number": "ZZ 000001"})
    assert_error(r, 404, "client.certificate_not_found")


@pytest.mark.parametrize(
    ("query", "names"),
    [
        ({}, "certificate_number"),
        ({"certificate_number": ""}, "certificate_number"),
        ({"certificate_number": "BK 1; DROP"}, "certificate_number"),
        ({"certificate_number": "BK 123456", "parcel_id": "w7er"}, "parcel id"),
        ({"certificate_number": "BK 123456", "holder_id": "12ab"}, "holder_id"),
        ({"certificate_number": "BK 123456", "holder_id": "999099000001"}, "province"),
        ({"certificate_number": "BK 123456", "name": "Nguyễn Văn An"}, "name"),
    ],
)
async def test_malformed_verification_is_400_naming_the_problem(
    client: httpx.AsyncClient, query: dict[str, str], names: str
) -> None:
    r = await client.post("/verifications/certificate", json=query)
    body = assert_error(r, 400, "client.bad_request")
    assert names in body["message"]


# -- the app ---------------------------------------------------------------------------------


async def test_openapi_documents_every_route_with_examples_and_errors(
    client: httpx.AsyncClient,
) -> None:
    spec = (await client.get("/openapi.json")).json()
    paths = spec["paths"]
    assert {
        "/parcels/{parcel_id}",
        "/persons/{personal_id}/parcels",
        "/enterprises/{enterprise_code}/parcels",
        "/verifications/certificate",
    } <= set(paths)
    assert (
        "client.parcel_not_found"
        in paths["/parcels/{parcel_id}"]["get"]["responses"]["404"]["description"]
    )
    verification = paths["/verifications/certificate"]["post"]["responses"]
    assert "client.certificate_not_found" in verification["404"]["description"]
    schemas = spec["components"]["schemas"]
    for name in (
        "ParcelOut",
        "CertificateOut",
        "RightsHolderOut",
        "EncumbranceOut",
        "TransactionOut",
        "HoldingOut",
        "PersonParcelsOut",
        "EnterpriseParcelsOut",
        "CertificateVerificationQuery",
        "CertificateVerification",
    ):
        assert schemas[name].get("examples"), name


async def test_health_and_readiness_answer(client: httpx.AsyncClient) -> None:
    assert (await client.get("/healthz")).json() == {"status": "ok", "service": "land"}
    assert (await client.get("/readyz")).json() == {"status": "ready", "service": "land"}


async def test_an_enterprise_with_thousands_of_parcels_is_listed_whole(
    client: httpx.AsyncClient, app: FastAPI
) -> None:
    """More parcels than one IN (...) chunk; a state company may hold tens of thousands."""
    code, n = "0100109106", 1_234  # three IN (...) chunks
    parcel_ids = sorted({make_parcel_id(10.0 + i * 1e-4, 106.0) for i in range(n)})
    engine = app.state.engine
    bulk_insert(
        engine,
        Parcel.__table__,  # type: ignore[arg-type]
        [
            {
                "parcel_id": pid,
                "commune_code": "26734",
                "map_sheet": 99,
                "parcel_number": i + 1,
                "area_m2": 1000.0,
                "purpose_code": "SKC",
                "use_until": None,
                "origin": "Nhà nước cho thuê đất",
                "address": "Khu công nghiệp",
            }
            for i, pid in enumerate(parcel_ids)
        ],
    )
    bulk_insert(
        engine,
        RightsHolder.__table__,  # type: ignore[arg-type]
        [
            {
                "parcel_id": pid,
                "holder_kind": "enterprise",
                "holder_id": code,
                "name": "X",
                "share": 1.0,
                "marital_property": False,
                "acquired_on": date(2020, 1, 1),
            }
            for pid in parcel_ids
        ],
    )
    r = await client.get(
        f"/enterprises/{code}/parcels",
        params={"fields": "parcel_id,certificate_status,has_active_mortgage"},
    )
    assert r.status_code == 200
    parcels = r.json()["parcels"]
    assert sorted(p["parcel_id"] for p in parcels) == parcel_ids
    assert all(p["has_active_mortgage"] is False for p in parcels)
