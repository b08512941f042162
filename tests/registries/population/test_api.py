"""The population registry over HTTP: every endpoint and every error case."""

from __future__ import annotations

import unicodedata

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import text

from registries.population.seed import PopulationSeed
from registries.population.service import MEMBER_FIELDS, PERSON_FIELDS

from .conftest import first, first_deceased, rows

pytestmark = pytest.mark.anyio

UNKNOWN_ID = "001099999999"  # structurally valid, not in the test world


# -- GET /persons/{id} -------------------------------------------------------------------------


async def test_person_by_id_returns_every_field(
    client: httpx.AsyncClient, world: PopulationSeed
) -> None:
    p = first(world, relation_to_head="spouse")
    r = await client.get(f"/persons/{p['personal_id']}")
    assert r.status_code == 200
    body = r.json()
    assert list(body) == list(PERSON_FIELDS)
    assert body["full_name"] == p["full_name"]
    assert body["date_of_birth"] == p["date_of_birth"]
    assert body["spouse_id"] == p["spouse_id"]
    assert body["nationality"] == "VN"
    assert body["status"] == "alive"
    assert body["birth_registration_place"]["province_code"] == p["personal_id"][:3]
    residence = body["permanent_residence"]
    assert residence["address_line"] == p["permanent_address"]
    assert residence["commune_code"] == p["permanent_commune"]
    assert residence["commune_name"].startswith(("Phường", "Xã", "Đặc khu"))
    assert len(residence["province_code"]) == 2
    assert residence["province_name"]


async def test_fields_returns_only_the_fields_asked_for(
    client: httpx.AsyncClient, world: PopulationSeed
) -> None:
    p = first(world, relation_to_head="head")
    r = await client.get(f"/persons/{p['personal_id']}", params={"fields": "full_name, sex"})
    assert r.status_code == 200
    assert r.json() == {"full_name": p["full_name"], "sex": p["sex"]}


async def test_unknown_field_is_400_listing_it(
    client: httpx.AsyncClient, world: PopulationSeed
) -> None:
    p = first(world, relation_to_head="head")
    r = await client.get(f"/persons/{p['personal_id']}", params={"fields": "full_name,salary"})
    assert r.status_code == 400
    assert r.json()["type"] == "client.bad_request"
    assert r.json()["detail"]["unknown"] == ["salary"]
    assert "salary" in r.json()["message"]


async def test_unknown_province_in_id_is_400_naming_the_province(
    client: httpx.AsyncClient,
) -> None:
    r = await client.get("/persons/999085012345")
    assert r.status_code == 400
    assert r.headers["X-Road-Error"] == "client.bad_request"
    assert r.json()["detail"]["part"] == "province"
    assert "999" in r.json()["message"]


@pytest.mark.parametrize("bad", ["00108501234", "0010850123456", "00108501234x"])
async def test_malformed_id_is_400_saying_what_is_wrong(
    client: httpx.AsyncClient, bad: str
) -> None:
    r = await client.get(f"/persons/{bad}")
    assert r.status_code == 400
    assert r.json()["detail"]["part"] == "personal_id"
    assert "12 digits" in r.json()["message"]


async def test_unknown_person_is_404_person_not_found(client: httpx.AsyncClient) -> None:
    r = await client.get(f"/persons/{UNKNOWN_ID}")
    assert r.status_code == 404
    assert r.json()["type"] == "client.person_not_found"
    assert r.headers["X-Road-Error"] == "client.person_not_found"


async def test_deceased_person_has_status_and_date_of_death(
    client: httpx.AsyncClient, world: PopulationSeed
) -> None:
    dead = first_deceased(world)
    r = await client.get(
        f"/persons/{dead['personal_id']}", params={"fields": "status,date_of_death"}
    )
    assert r.json() == {"status": "deceased", "date_of_death": dead["date_of_death"]}


# -- GET /persons/{id}/household ---------------------------------------------------------------


async def test_household_lists_living_members_head_first(
    client: httpx.AsyncClient, world: PopulationSeed
) -> None:
    child = first(world, relation_to_head="child", date_of_death=None)
    r = await client.get(f"/persons/{child['personal_id']}/household")
    assert r.status_code == 200
    body = r.json()
    assert body["household_id"] == child["household_id"]
    assert body["address"]["address_line"] == child["permanent_address"]
    members = body["members"]
    assert members[0]["personal_id"] == body["head_id"]
    assert members[0]["relation_to_head"] == "head"
    assert list(members[0]) == list(MEMBER_FIELDS)
    expected = {
        r["personal_id"]
        for r in rows(world)
        if r["household_id"] == child["household_id"] and r["date_of_death"] is None
    }
    assert {m["personal_id"] for m in members} == expected


async def test_household_leaves_out_deceased_members(
    client: httpx.AsyncClient, world: PopulationSeed
) -> None:
    dead = first_deceased(world)
    r = await client.get(f"/persons/{dead['personal_id']}/household")
    assert r.status_code == 200
    ids = {m["personal_id"] for m in r.json()["members"]}
    assert dead["personal_id"] not in ids
    assert r.json()["head_id"] in ids


async def test_household_fields_select_member_fields(
    client: httpx.AsyncClient, world: PopulationSeed
) -> None:
    p = first(world, relation_to_head="spouse")
    r = await client.get(f"/persons/{p['personal_id']}/household", params={"fields": "personal_id"})
    assert r.status_code == 200
    assert all(list(m) == ["personal_id"] for m in r.json()["members"])


async def test_household_unknown_member_field_is_400(
    client: httpx.AsyncClient, world: PopulationSeed
) -> None:
    p = first(world, relation_to_head="head")
    r = await client.get(f"/persons/{p['personal_id']}/household", params={"fields": "income"})
    assert r.status_code == 400
    assert r.json()["detail"]["unknown"] == ["income"]


async def test_household_of_unknown_person_is_404(client: httpx.AsyncClient) -> None:
    r = await client.get(f"/persons/{UNKNOWN_ID}/household")
    assert r.status_code == 404
    assert r.json()["type"] == "client.person_not_found"


async def test_household_with_malformed_id_is_400(client: httpx.AsyncClient) -> None:
    r = await client.get("/persons/12345/household")
    assert r.status_code == 400
    assert r.json()["detail"]["part"] == "personal_id"


# -- POST /verifications/identity --------------------------------------------------------------


def _query(p: dict[str, str], **override: str) -> dict[str, str]:
    body = {
        "personal_id": p["personal_id"],
        "full_name": p["full_name"],
        "date_of_birth": p["date_of_birth"],
    }
    return {**body, **override}


async def test_identity_matches_a_living_person(
    client: httpx.AsyncClient, world: PopulationSeed
) -> None:
    p = first(world, relation_to_head="head")
    r = await client.post("/verifications/identity", json=_query(p))
    assert r.status_code == 200
    assert r.json() == {"match": True, "alive": True}


async def test_identity_name_ignores_case_spacing_and_unicode_form(
    client: httpx.AsyncClient, world: PopulationSeed
) -> None:
    p = first(world, relation_to_head="head")
    messy = "  " + unicodedata.normalize("NFD", p["full_name"].upper()).replace(" ", "   ")
    r = await client.post("/verifications/identity", json=_query(p, full_name=messy))
    assert r.json() == {"match": True, "alive": True}


async def test_identity_name_without_diacritics_does_not_match(
    client: httpx.AsyncClient, world: PopulationSeed
) -> None:
    p = next(r for r in rows(world) if not r["full_name"].isascii())
    stripped = (
        "".join(
            c for c in unicodedata.normalize("NFD", p["full_name"]) if not unicodedata.combining(c)
        )
        .replace("Đ", "D")
        .replace("đ", "d")
    )
    r = await client.post("/verifications/identity", json=_query(p, full_name=stripped))
    assert r.json() == {"match": False}


async def test_identity_wrong_name_or_date_is_no_match_and_nothing_else(
    client: httpx.AsyncClient, world: PopulationSeed
) -> None:
    p = first(world, relation_to_head="head")
    wrong_name = await client.post("/verifications/identity", json=_query(p, full_name="X Y Z"))
    wrong_dob = await client.post(
        "/verifications/identity", json=_query(p, date_of_birth="1900-01-01")
    )
    assert wrong_name.json() == {"match": False}
    assert wrong_dob.json() == {"match": False}


async def test_identity_unknown_id_answers_exactly_like_a_mismatch(
    client: httpx.AsyncClient, world: PopulationSeed
) -> None:
    p = first(world, relation_to_head="head")
    unknown = await client.post("/verifications/identity", json=_query(p, personal_id=UNKNOWN_ID))
    mismatch = await client.post("/verifications/identity", json=_query(p, full_name="X"))
    assert unknown.status_code == mismatch.status_code == 200
    assert unknown.content == mismatch.content == b'{"match":false}'


async def test_identity_of_a_deceased_person_matches_but_says_not_alive(
    client: httpx.AsyncClient, world: PopulationSeed
) -> None:
    dead = first_deceased(world)
    r = await client.post("/verifications/identity", json=_query(dead))
    assert r.json() == {"match": True, "alive": False}


async def test_identity_with_malformed_id_is_400_naming_the_part(
    client: httpx.AsyncClient, world: PopulationSeed
) -> None:
    p = first(world, relation_to_head="head")
    r = await client.post("/verifications/identity", json=_query(p, personal_id="999000000001"))
    assert r.status_code == 400
    assert r.json()["detail"]["part"] == "province"


@pytest.mark.parametrize(
    "body",
    [
        {"personal_id": "001085012345", "full_name": "Nguyễn Văn An"},
        {"personal_id": "001085012345", "full_name": "A", "date_of_birth": "17/04/1985"},
        {"personal_id": "001085012345", "full_name": "", "date_of_birth": "1985-04-17"},
        {"personal_id": "001085012345", "full_name": "A", "date_of_birth": "1985-04-17", "x": 1},
    ],
    ids=["missing-date", "bad-date", "empty-name", "extra-field"],
)
async def test_identity_with_invalid_body_is_400(
    client: httpx.AsyncClient, body: dict[str, object]
) -> None:
    r = await client.post("/verifications/identity", json=body)
    assert r.status_code == 400
    assert r.json()["type"] == "client.bad_request"


async def test_identity_lookup_is_not_a_get(client: httpx.AsyncClient) -> None:
    r = await client.get("/verifications/identity")
    assert r.status_code == 405


# -- operations and documentation --------------------------------------------------------------


async def test_health_and_readiness(client: httpx.AsyncClient) -> None:
    assert (await client.get("/healthz")).json() == {"status": "ok", "service": "population"}
    assert (await client.get("/readyz")).json() == {"status": "ready", "service": "population"}


async def test_openapi_documents_errors_and_examples(client: httpx.AsyncClient) -> None:
    spec = (await client.get("/openapi.json")).json()
    person = spec["paths"]["/persons/{personal_id}"]["get"]
    assert "client.person_not_found" in person["responses"]["404"]["description"]
    assert "400" in person["responses"]
    household = spec["paths"]["/persons/{personal_id}/household"]["get"]
    assert "client.person_not_found" in household["responses"]["404"]["description"]
    verify = spec["paths"]["/verifications/identity"]["post"]
    assert "400" in verify["responses"]
    schemas = spec["components"]["schemas"]
    for name in ("PersonOut", "HouseholdOut", "IdentityQuery", "IdentityMatch", "Address"):
        assert schemas[name].get("examples"), name


@pytest.mark.anyio
async def test_a_stored_commune_code_outside_the_list_is_served_without_names(
    client: httpx.AsyncClient, world: PopulationSeed, app: FastAPI
) -> None:
    """A register's bad data is not the caller's fault: no 400, no 500, the code kept."""
    p = first(world, relation_to_head="head")
    with app.state.engine.begin() as conn:
        conn.execute(
            text("UPDATE person SET hometown_commune = '99999' WHERE personal_id = :pid"),
            {"pid": p["personal_id"]},
        )
    r = await client.get(f"/persons/{p['personal_id']}", params={"fields": "hometown"})
    assert r.status_code == 200
    assert r.json() == {
        "hometown": {
            "commune_code": "99999",
            "commune_name": None,
            "province_code": None,
            "province_name": None,
        }
    }


@pytest.mark.anyio
@pytest.mark.parametrize("dob", [0, "0", "86400", "1985-04-17T00:00:00Z", "17/04/1985", None])
async def test_identity_date_of_birth_must_be_yyyy_mm_dd_text(
    client: httpx.AsyncClient, world: PopulationSeed, dob: object
) -> None:
    p = first(world, relation_to_head="head")
    body = {"personal_id": p["personal_id"], "full_name": p["full_name"], "date_of_birth": dob}
    r = await client.post("/verifications/identity", json=body)
    assert r.status_code == 400
    assert r.json()["type"] == "client.bad_request"
    assert "date_of_birth" in r.json()["message"]


@pytest.mark.anyio
async def test_repeated_fields_parameters_are_all_honoured(
    client: httpx.AsyncClient, world: PopulationSeed
) -> None:
    p = first(world, relation_to_head="head")
    r = await client.get(f"/persons/{p['personal_id']}?fields=full_name&fields=sex")
    assert r.status_code == 200
    assert set(r.json()) == {"full_name", "sex"}
