"""The business registry's HTTP API, driven in-process against a freshly seeded database."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import text

from registries.business.seed import DEV_BANK_CODE, BusinessSeed
from registries.business.service import (
    ENTERPRISE_FIELDS,
    HOUSEHOLD_BUSINESS_FIELDS,
    ROLE_BUSINESS_FIELDS,
)

pytestmark = pytest.mark.anyio

UNKNOWN_CODE = "0109999982"  # valid check digit, not in any seed (prefix 01 serials start lower)


def wrong_check_digit(code: str) -> str:
    return code[:9] + str((int(code[9]) + 1) % 10)


def enterprise_with(world: BusinessSeed, status: str) -> str:
    return next(e.code for e in world.enterprises if e.status == status)


def rep_of(world: BusinessSeed, code: str) -> tuple[str, str]:
    row = next(r for r in world.representative_rows if r[0] == code)
    return row[1], row[2]


def assert_error(r: httpx.Response, status: int, type_: str) -> dict[str, Any]:
    assert r.status_code == status, r.text
    body: dict[str, Any] = r.json()
    assert body["type"] == type_
    assert r.headers["X-Road-Error"] == type_
    return body


# -- GET /enterprises/{code} ---------------------------------------------------------------


async def test_enterprise_by_code_returns_every_field(client: httpx.AsyncClient) -> None:
    r = await client.get(f"/enterprises/{DEV_BANK_CODE}")
    assert r.status_code == 200
    body = r.json()
    assert list(body) == list(ENTERPRISE_FIELDS)
    assert body["enterprise_code"] == DEV_BANK_CODE
    assert body["name_vi"] == "NGÂN HÀNG THƯƠNG MẠI CỔ PHẦN LIÊN THÔNG VIỆT NAM"
    assert body["type"] == "joint_stock"
    assert body["type_name_vi"] == "Công ty cổ phần"
    assert body["status"] == "active"
    assert body["main_industry"] == {"code": "6419", "name_vi": "Hoạt động trung gian tiền tệ khác"}
    assert body["head_office"]["province_code"] == "01"
    assert body["head_office"]["province_name"] == "Thành phố Hà Nội"
    titles = {r["title"] for r in body["legal_representatives"]}
    assert titles == {"Chủ tịch Hội đồng quản trị", "Tổng giám đốc"}
    assert all(o["role"] == "founding_shareholder" for o in body["owners"])


async def test_enterprise_owners_and_representatives_match_the_seed(
    client: httpx.AsyncClient, world: BusinessSeed
) -> None:
    code = next(r[0] for r in world.enterprise_rows if r[4] == "llc_multi_member")
    body = (await client.get(f"/enterprises/{code}")).json()
    assert sum(o["share_percent"] for o in body["owners"]) == pytest.approx(100)
    seeded = {r[1] for r in world.owner_rows if r[0] == code}
    assert {o["id"] for o in body["owners"]} == seeded
    reps = {r[1] for r in world.representative_rows if r[0] == code}
    assert {r["personal_id"] for r in body["legal_representatives"]} == reps
    seeded_secondary = {r[1] for r in world.industry_rows if r[0] == code}
    assert {i["code"] for i in body["secondary_industries"]} == seeded_secondary


async def test_fields_selects_top_level_fields(client: httpx.AsyncClient) -> None:
    r = await client.get(f"/enterprises/{DEV_BANK_CODE}", params={"fields": "status,name_vi"})
    assert r.json() == {
        "name_vi": "NGÂN HÀNG THƯƠNG MẠI CỔ PHẦN LIÊN THÔNG VIỆT NAM",
        "status": "active",
    }


async def test_unknown_enterprise_field_is_400_listing_it(client: httpx.AsyncClient) -> None:
    r = await client.get(f"/enterprises/{DEV_BANK_CODE}", params={"fields": "status,ceo,x"})
    body = assert_error(r, 400, "client.bad_request")
    assert body["detail"]["unknown"] == ["ceo", "x"]
    assert "ceo" in body["message"]


async def test_wrong_check_digit_is_400_naming_the_check_digit(client: httpx.AsyncClient) -> None:
    r = await client.get(f"/enterprises/{wrong_check_digit(DEV_BANK_CODE)}")
    body = assert_error(r, 400, "client.bad_request")
    assert "check digit" in body["message"]
    assert body["detail"]["part"] == "check_digit"


@pytest.mark.parametrize("code", ["010123456", "01012345650", "01012345AB", "0101234565-0001"])
async def test_malformed_enterprise_code_is_400(client: httpx.AsyncClient, code: str) -> None:
    r = await client.get(f"/enterprises/{code}")
    body = assert_error(r, 400, "client.bad_request")
    assert "enterprise code" in body["message"] or "branch" in body["message"]


async def test_unknown_enterprise_is_404_enterprise_not_found(client: httpx.AsyncClient) -> None:
    r = await client.get(f"/enterprises/{UNKNOWN_CODE}")
    body = assert_error(r, 404, "client.enterprise_not_found")
    assert UNKNOWN_CODE in body["message"]


async def test_branch_of_a_known_enterprise_is_404_naming_the_parent(
    client: httpx.AsyncClient,
) -> None:
    r = await client.get(f"/enterprises/{DEV_BANK_CODE}-001")
    body = assert_error(r, 404, "client.enterprise_not_found")
    assert "head offices only" in body["message"]
    assert body["detail"] == {"enterprise_code": DEV_BANK_CODE, "branch": "001"}


async def test_branch_of_an_unknown_enterprise_is_404(client: httpx.AsyncClient) -> None:
    r = await client.get(f"/enterprises/{UNKNOWN_CODE}-002")
    body = assert_error(r, 404, "client.enterprise_not_found")
    assert body["detail"] == {"enterprise_code": UNKNOWN_CODE}


# -- GET /persons/{id}/roles ---------------------------------------------------------------


async def test_roles_list_every_role_of_a_person(
    client: httpx.AsyncClient, world: BusinessSeed
) -> None:
    rep_id, _ = rep_of(world, DEV_BANK_CODE)
    r = await client.get(f"/persons/{rep_id}/roles")
    assert r.status_code == 200
    body = r.json()
    assert body["personal_id"] == rep_id
    expected = {(x[0], "legal_representative") for x in world.representative_rows if x[1] == rep_id}
    expected |= {(x[0], x[4]) for x in world.owner_rows if x[1] == rep_id}
    expected |= {(h[0], "household_business_owner") for h in world.household_rows if h[2] == rep_id}
    assert {(x["business"]["code"], x["role"]) for x in body["roles"]} == expected
    bank = next(
        x
        for x in body["roles"]
        if x["business"]["code"] == DEV_BANK_CODE and x["role"] == "legal_representative"
    )
    assert bank["title"] == "Chủ tịch Hội đồng quản trị"
    assert bank["role_name_vi"] == "Người đại diện theo pháp luật"
    assert bank["business_kind"] == "enterprise"
    assert bank["business"]["status"] == "active"
    assert list(bank["business"]) == list(ROLE_BUSINESS_FIELDS)
    assert [x["since"] for x in body["roles"]] == sorted(x["since"] for x in body["roles"])


async def test_roles_include_household_businesses_and_shares(
    client: httpx.AsyncClient, world: BusinessSeed
) -> None:
    hh = world.household_rows[0]
    body = (await client.get(f"/persons/{hh[2]}/roles")).json()
    mine = [x for x in body["roles"] if x["role"] == "household_business_owner"]
    assert [x["business"]["code"] for x in mine] == [hh[0]]
    assert mine[0]["business_kind"] == "household_business"
    assert mine[0]["business"]["type"] == "household_business"
    owner = next(o for o in world.owner_rows if o[2] == "person")
    body = (await client.get(f"/persons/{owner[1]}/roles")).json()
    held = next(
        x for x in body["roles"] if x["business"]["code"] == owner[0] and x["role"] == owner[4]
    )
    assert held["share_percent"] == owner[5] / 100


async def test_roles_fields_select_business_summary_fields(
    client: httpx.AsyncClient, world: BusinessSeed
) -> None:
    rep_id, _ = rep_of(world, DEV_BANK_CODE)
    r = await client.get(f"/persons/{rep_id}/roles", params={"fields": "code,status"})
    roles = r.json()["roles"]
    assert roles
    assert all(set(x["business"]) == {"code", "status"} for x in roles)


async def test_unknown_person_has_no_roles(client: httpx.AsyncClient) -> None:
    r = await client.get("/persons/001099999999/roles")
    assert r.status_code == 200
    assert r.json() == {"personal_id": "001099999999", "roles": []}


async def test_malformed_personal_id_is_400_naming_the_province(client: httpx.AsyncClient) -> None:
    r = await client.get("/persons/999085012345/roles")
    body = assert_error(r, 400, "client.bad_request")
    assert "province code 999" in body["message"]


async def test_unknown_roles_field_is_400(client: httpx.AsyncClient) -> None:
    r = await client.get("/persons/001099999999/roles", params={"fields": "code,salary"})
    body = assert_error(r, 400, "client.bad_request")
    assert body["detail"]["unknown"] == ["salary"]


# -- GET /household-businesses/{number} ----------------------------------------------------


async def test_household_business_by_number(client: httpx.AsyncClient, world: BusinessSeed) -> None:
    hh = world.household_rows[0]
    r = await client.get(f"/household-businesses/{hh[0]}")
    assert r.status_code == 200
    body = r.json()
    assert list(body) == list(HOUSEHOLD_BUSINESS_FIELDS)
    assert body["registration_number"] == hh[0]
    assert body["name"] == hh[1]
    assert body["tax_code"] == body["owner"]["personal_id"] == hh[2]
    assert body["owner"]["full_name"] == hh[3]
    assert body["location"]["commune_code"] == hh[5]
    assert body["sector"]["code"] == hh[6]
    assert body["status"] == hh[8]


async def test_household_business_fields(client: httpx.AsyncClient, world: BusinessSeed) -> None:
    hh = world.household_rows[0]
    r = await client.get(f"/household-businesses/{hh[0]}", params={"fields": "status"})
    assert r.json() == {"status": hh[8]}
    r = await client.get(f"/household-businesses/{hh[0]}", params={"fields": "revenue"})
    assert_error(r, 400, "client.bad_request")


async def test_unknown_household_business_is_404(client: httpx.AsyncClient) -> None:
    r = await client.get("/household-businesses/01Z8999999")
    assert_error(r, 404, "client.household_business_not_found")


@pytest.mark.parametrize(
    ("number", "part"),
    [
        ("01A801234", "registration_number"),
        ("99A8012345", "province_code"),
        ("01a8012345", "office"),
        ("01A7012345", "series"),
        ("01A80123X5", "serial"),
    ],
)
async def test_malformed_registration_number_is_400_naming_the_part(
    client: httpx.AsyncClient, number: str, part: str
) -> None:
    body = assert_error(
        await client.get(f"/household-businesses/{number}"), 400, "client.bad_request"
    )
    assert body["detail"]["part"] == part


# -- POST /verifications/enterprise --------------------------------------------------------


async def test_verification_matches_name_ignoring_case_and_spacing(
    client: httpx.AsyncClient,
) -> None:
    for name in (
        "ngân hàng thương mại  cổ phần Liên Thông Việt Nam",
        "Vietnam Lien Thong Commercial Joint Stock Bank",
    ):
        r = await client.post(
            "/verifications/enterprise", json={"enterprise_code": DEV_BANK_CODE, "name": name}
        )
        assert r.json() == {"match": True, "status": "active"}


async def test_verification_of_a_wrong_name_or_representative_does_not_match(
    client: httpx.AsyncClient, world: BusinessSeed
) -> None:
    rep_id, _ = rep_of(world, DEV_BANK_CODE)
    cases = [
        {"name": "NGAN HANG THUONG MAI CO PHAN LIEN THONG VIET NAM"},  # diacritics count
        {"legal_representative_id": "001099999999"},
        {"name": "Ngân hàng khác", "legal_representative_id": rep_id},
    ]
    for facts in cases:
        r = await client.post(
            "/verifications/enterprise", json={"enterprise_code": DEV_BANK_CODE, **facts}
        )
        assert r.json() == {"match": False, "status": "active"}, facts


async def test_verification_with_name_and_representative(
    client: httpx.AsyncClient, world: BusinessSeed
) -> None:
    code = enterprise_with(world, "dissolved")
    rep_id, _ = rep_of(world, code)
    name = next(e.name for e in world.enterprises if e.code == code)
    r = await client.post(
        "/verifications/enterprise",
        json={"enterprise_code": code, "name": name, "legal_representative_id": rep_id},
    )
    assert r.json() == {"match": True, "status": "dissolved"}


async def test_verification_of_code_alone_says_it_exists(client: httpx.AsyncClient) -> None:
    r = await client.post("/verifications/enterprise", json={"enterprise_code": DEV_BANK_CODE})
    assert r.json() == {"match": True, "status": "active"}


async def test_verification_of_unknown_enterprise_is_404(client: httpx.AsyncClient) -> None:
    r = await client.post("/verifications/enterprise", json={"enterprise_code": UNKNOWN_CODE})
    assert_error(r, 404, "client.enterprise_not_found")


@pytest.mark.parametrize(
    "body",
    [
        {"enterprise_code": wrong_check_digit(DEV_BANK_CODE)},
        {"enterprise_code": DEV_BANK_CODE, "legal_representative_id": "12345"},
        {"enterprise_code": DEV_BANK_CODE, "ceo": "x"},
        {"name": "x"},
        {"enterprise_code": DEV_BANK_CODE, "name": ""},
    ],
)
async def test_malformed_verification_is_400(
    client: httpx.AsyncClient, body: dict[str, str]
) -> None:
    assert_error(
        await client.post("/verifications/enterprise", json=body), 400, "client.bad_request"
    )


# -- service and OpenAPI -------------------------------------------------------------------


async def test_health_and_readiness(client: httpx.AsyncClient) -> None:
    assert (await client.get("/healthz")).json() == {"status": "ok", "service": "business"}
    assert (await client.get("/readyz")).json() == {"status": "ready", "service": "business"}


async def test_openapi_documents_every_route_with_errors_and_examples(
    client: httpx.AsyncClient,
) -> None:
    spec = (await client.get("/openapi.json")).json()
    paths = spec["paths"]
    routes = {
        ("/enterprises/{enterprise_code}", "get"): {"200", "400", "404"},
        ("/persons/{personal_id}/roles", "get"): {"200", "400"},
        ("/household-businesses/{registration_number}", "get"): {"200", "400", "404"},
        ("/verifications/enterprise", "post"): {"200", "400", "404"},
    }
    for (path, method), codes in routes.items():
        op = paths[path][method]
        assert op["summary"] and op["description"]
        assert codes <= set(op["responses"]), path
    schemas = spec["components"]["schemas"]
    ours = {n for n in schemas if n not in ("HTTPValidationError", "ValidationError")}
    assert {"EnterpriseOut", "PersonRolesOut", "HouseholdBusinessOut"} <= ours
    assert {"EnterpriseVerificationQuery", "EnterpriseVerification", "OwnerOut"} <= ours
    assert [n for n in sorted(ours) if not schemas[n].get("examples")] == []
    assert "client.enterprise_not_found" in str(
        paths["/enterprises/{enterprise_code}"]["get"]["responses"]["404"]
    )


@pytest.mark.anyio
async def test_an_industry_class_outside_the_list_is_served_without_a_name(
    client: httpx.AsyncClient, app: FastAPI
) -> None:
    with app.state.engine.begin() as conn:
        conn.execute(
            text("UPDATE enterprises SET main_industry = '0111' WHERE code = :c"),
            {"c": DEV_BANK_CODE},
        )
    r = await client.get(f"/enterprises/{DEV_BANK_CODE}", params={"fields": "main_industry"})
    assert r.status_code == 200
    assert r.json() == {"main_industry": {"code": "0111", "name_vi": None}}
