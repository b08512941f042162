"""Each registry's catalogue says what its endpoints really do.

Every catalogue operation is a documented route and every data route is in the catalogue;
the fields an operation lists are exactly the names its ``fields=`` accepts; each of them,
asked alone, comes back alone exactly where ``fields_at`` says; the subject is where the
request carries the personal id. The catalogue model refuses inconsistent descriptions.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from pydantic import ValidationError

from core.catalogue import (
    Catalogue,
    CatalogueService,
    Operation,
    Title,
    catalogue_problems,
    documented_routes,
    install_catalogue,
)
from registries.business.service import (
    ENTERPRISE_FIELDS,
    HOUSEHOLD_BUSINESS_FIELDS,
    ROLE_BUSINESS_FIELDS,
)
from registries.land.service import HOLDING_FIELDS, PARCEL_FIELDS
from registries.population.endpoints import router as population_router
from registries.population.service import MEMBER_FIELDS, PERSON_FIELDS
from tests.fixtures.world import REGISTRY_APPS, LinkedWorld
from tests.registries.conftest import blank_app

REGISTRIES = list(REGISTRY_APPS)

#: The provider ids and service codes the protocol fixes.
PROVIDERS = {
    "population": "VN/GOV/BCA/population",
    "business": "VN/GOV/BTC/business",
    "land": "VN/GOV/BNNMT/land",
}
CODES = {
    "population": ["persons", "verifications"],
    "business": ["enterprises", "persons", "household-businesses", "verifications"],
    "land": ["parcels", "persons", "enterprises", "verifications"],
}

#: Each data operation's selectable fields, from the service constants (the source the
#: catalogue must follow) and where they sit in the answer.
EXPECTED: dict[tuple[str, str, str], tuple[tuple[str, ...], str | None]] = {
    ("population", "GET", "/persons/{personal_id}"): (PERSON_FIELDS, ""),
    ("population", "GET", "/persons/{personal_id}/household"): (MEMBER_FIELDS, "members"),
    ("population", "POST", "/verifications/identity"): ((), None),
    ("business", "GET", "/enterprises/{enterprise_code}"): (ENTERPRISE_FIELDS, ""),
    ("business", "GET", "/persons/{personal_id}/roles"): (ROLE_BUSINESS_FIELDS, "roles.business"),
    ("business", "GET", "/household-businesses/{registration_number}"): (
        HOUSEHOLD_BUSINESS_FIELDS,
        "",
    ),
    ("business", "POST", "/verifications/enterprise"): ((), None),
    ("land", "GET", "/parcels/{parcel_id}"): (PARCEL_FIELDS, ""),
    ("land", "GET", "/persons/{personal_id}/parcels"): (HOLDING_FIELDS, "parcels"),
    ("land", "GET", "/enterprises/{enterprise_code}/parcels"): (HOLDING_FIELDS, "parcels"),
    ("land", "POST", "/verifications/certificate"): ((), None),
}


def operations(catalogue: Catalogue) -> Iterator[tuple[str, Operation]]:
    """``(route path, operation)`` of every operation in ``catalogue``."""
    for service in catalogue.services:
        for op in service.operations:
            yield f"/{service.code}{op.path}", op


@pytest.fixture(scope="module")
def apps() -> Iterator[dict[str, FastAPI]]:
    built = {name: blank_app(name) for name in REGISTRIES}
    yield built
    for app in built.values():
        app.state.engine.dispose()


# -- the catalogue and the routes ------------------------------------------------------------


@pytest.mark.parametrize("name", REGISTRIES)
def test_every_operation_is_a_documented_route_and_every_data_route_an_operation(
    apps: dict[str, FastAPI], name: str
) -> None:
    app = apps[name]
    assert catalogue_problems(documented_routes(app), app.state.catalogue) == []


@pytest.mark.parametrize("name", REGISTRIES)
def test_provider_and_service_codes_are_the_protocols(apps: dict[str, FastAPI], name: str) -> None:
    catalogue: Catalogue = apps[name].state.catalogue
    assert catalogue.provider == PROVIDERS[name] == apps[name].state.settings.member_id
    assert [s.code for s in catalogue.services] == CODES[name]
    for service in catalogue.services:
        assert service.title.vi and service.title.en and service.title.vi != service.title.en


def test_every_operation_lists_the_fields_of_its_service_constants_where_they_are() -> None:
    found = {
        (name, op.method, path): (op.fields, op.fields_at)
        for name in REGISTRIES
        for path, op in operations(blank_catalogue(name))
    }
    assert found == EXPECTED


def blank_catalogue(name: str) -> Catalogue:
    app = blank_app(name)
    try:
        catalogue: Catalogue = app.state.catalogue
    finally:
        app.state.engine.dispose()
    return catalogue


@pytest.mark.parametrize("name", REGISTRIES)
def test_a_subject_is_where_the_request_carries_the_personal_id(
    apps: dict[str, FastAPI], name: str
) -> None:
    schema = apps[name].openapi()
    for path, op in operations(apps[name].state.catalogue):
        if op.subject is None:
            continue
        assert op.personal_data, f"{op.method} {path} names a subject but no personal data"
        kind, _, key = op.subject.partition(":")
        operation = schema["paths"][path][op.method.lower()]
        if kind == "path":
            params = [p["name"] for p in operation["parameters"] if p["in"] == "path"]
            assert key in params
        else:
            ref = operation["requestBody"]["content"]["application/json"]["schema"]["$ref"]
            body = schema["components"]["schemas"][ref.rsplit("/", 1)[1]]
            assert key in body["properties"]


@pytest.mark.parametrize("name", REGISTRIES)
@pytest.mark.anyio
async def test_the_catalogue_is_served_as_json_and_left_out_of_the_openapi(
    apps: dict[str, FastAPI], name: str
) -> None:
    app = apps[name]
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://registry") as client:
        response = await client.get("/catalogue")
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/json"
    assert Catalogue.model_validate_json(response.content) == app.state.catalogue
    assert "/catalogue" not in app.openapi()["paths"]


# -- every listed field is selectable, and sits at fields_at --------------------------------


def objects_at(data: Any, fields_at: str) -> list[dict[str, Any]]:
    """The objects whose keys ``fields_at`` names (lists walked implicitly)."""
    items = [data]
    for key in filter(None, fields_at.split(".")):
        items = [item[key] for item in items]
        items = [x for item in items for x in (item if isinstance(item, list) else [item])]
    assert all(isinstance(item, dict) for item in items)
    return items


def rows(seed: Any, table: str) -> list[dict[str, Any]]:
    for t, data in seed.tables():
        if t.name == table:
            return [dict(zip(t.columns.keys(), r, strict=True)) for r in data]
    raise LookupError(table)


def holders(w: LinkedWorld) -> list[str]:
    return sorted({r["holder_id"] for r in rows(w.land, "land_rights_holder")})


#: Records to ask each read for: path parameter values from the seeded world.
RECORDS: dict[str, Callable[[LinkedWorld], list[str]]] = {
    "/persons/{personal_id}": lambda w: [p.personal_id for p in w.population.people],
    "/persons/{personal_id}/household": lambda w: [p.personal_id for p in w.population.people],
    "/enterprises/{enterprise_code}": lambda w: [e.code for e in w.business.enterprises],
    "/persons/{personal_id}/roles": lambda w: sorted(
        {r["personal_id"] for r in rows(w.business, "legal_representatives")}
    ),
    "/household-businesses/{registration_number}": lambda w: [
        r["registration_number"] for r in rows(w.business, "household_businesses")
    ],
    "/parcels/{parcel_id}": lambda w: [r["parcel_id"] for r in rows(w.land, "land_parcel")],
    "/persons/{personal_id}/parcels": lambda w: [h for h in holders(w) if len(h) == 12],
    "/enterprises/{enterprise_code}/parcels": lambda w: [h for h in holders(w) if len(h) != 12],
}
READS = [(name, method, path) for (name, method, path), (f, _) in EXPECTED.items() if f]


@pytest.mark.parametrize(("name", "method", "path"), READS, ids=[f"{n} {p}" for n, _, p in READS])
@pytest.mark.anyio
async def test_each_listed_field_asked_alone_comes_back_alone_at_fields_at(
    name: str,
    method: str,
    path: str,
    linked_world: LinkedWorld,
    seeded_app: Callable[[str], FastAPI],
) -> None:
    app = seeded_app(name)
    code, rest = path[1:].split("/", 1)
    op = app.state.catalogue.operation(code, method, "/" + rest)
    assert op is not None and op.fields_at is not None
    param = op.path_params[0]
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://registry") as client:
        # A record whose answer has objects at fields_at (a holder with parcels, ...).
        for value in RECORDS[path](linked_world)[:50]:
            url = path.replace("{" + param + "}", value)
            everything = await client.get(url)
            assert everything.status_code == 200, everything.text
            found = objects_at(everything.json(), op.fields_at)
            if found:
                break
        else:
            pytest.fail(f"no record in the test world has anything at {op.fields_at!r}")
        assert all(set(obj) == set(op.fields) for obj in found)

        for field in op.fields:
            one = await client.get(url, params={"fields": field})
            assert one.status_code == 200, one.text
            objects = objects_at(one.json(), op.fields_at)
            assert objects and all(set(obj) == {field} for obj in objects), field

        unknown = await client.get(url, params={"fields": "no_such_field"})
        assert unknown.status_code == 400
        assert unknown.json()["detail"]["available"] == sorted(op.fields)


# -- the model -------------------------------------------------------------------------------


def an_operation(**overrides: Any) -> dict[str, Any]:
    op: dict[str, Any] = {
        "method": "GET",
        "path": "/{personal_id}",
        "summary": "A person",
        "fields": ["full_name"],
        "fields_at": "",
        "subject": "path:personal_id",
        "personal_data": True,
    }
    op.update(overrides)
    return op


@pytest.mark.parametrize(
    "overrides",
    [
        {"fields": [], "fields_at": ""},  # no fields, yet a place for them
        {"fields": ["full_name"], "fields_at": None},  # fields, but nowhere
        {"fields": ["full_name", "full_name"]},
        {"fields": ["Full Name"]},
        {"fields_at": "members..x"},
        {"subject": "path:parcel_id"},  # no such path parameter
        {"subject": "body:personal_id"},  # a GET has no body
        {"subject": "query:personal_id"},
        {"path": "persons"},
        {"path": "/../x"},
        {"path": "/{personal id}"},
        {"method": "get"},
        {"method": "TRACE"},
        {"surprise": 1},
    ],
)
def test_an_inconsistent_operation_is_refused(overrides: dict[str, Any]) -> None:
    with pytest.raises(ValidationError):
        Operation.model_validate(an_operation(**overrides))


def test_a_valid_operation_matches_its_paths_only() -> None:
    op = Operation.model_validate(an_operation())
    assert op.match("GET", "/001085012345") == {"personal_id": "001085012345"}
    assert op.match("GET", "/001085012345/household") is None
    assert op.match("GET", "/") is None
    assert op.match("POST", "/001085012345") is None


@pytest.mark.parametrize(
    "catalogue",
    [
        {"provider": "VN/GOV/../population", "services": []},
        {"provider": "VN/GOV/BCA/population", "services": []},
        {
            "provider": "VN/GOV/BCA/population",
            "services": [
                {"code": "persons", "title": {"vi": "a", "en": "b"}, "operations": [op]}
                for op in (an_operation(), an_operation())
            ],
        },
        {
            "provider": "VN/GOV/BCA/population",
            "services": [
                {
                    "code": "persons",
                    "title": {"vi": "a", "en": "b"},
                    "operations": [an_operation(), an_operation(path="/{id}", subject=None)],
                }
            ],
        },
        {
            "provider": "VN/GOV/BCA/population",
            "services": [
                {
                    "code": "per/sons",
                    "title": {"vi": "a", "en": "b"},
                    "operations": [an_operation()],
                }
            ],
        },
    ],
    ids=["bad provider", "no services", "code twice", "same path twice", "bad code"],
)
def test_an_inconsistent_catalogue_is_refused(catalogue: dict[str, Any]) -> None:
    with pytest.raises(ValidationError):
        Catalogue.model_validate(catalogue)


def test_a_catalogue_that_disagrees_with_the_routes_is_not_installed() -> None:
    wrong = Catalogue(
        provider="VN/GOV/BCA/population",
        services=(
            CatalogueService(
                code="persons",
                title=Title(vi="Công dân", en="Persons"),
                operations=(Operation.model_validate(an_operation()),),
            ),
        ),
    )
    with pytest.raises(ValueError, match="is a route but not in the catalogue") as raised:
        install_catalogue(FastAPI(), wrong, router=population_router)
    assert "/verifications/identity" in str(raised.value)
    assert "/persons/{personal_id}/household" in str(raised.value)
