"""Property-based API fuzzing: no caller mistake gets a 500, every error has the X-Road shape.

Each registry's own OpenAPI document drives schemathesis through every operation with valid
*and* invalid data (``generation.mode = all``): the examples phase (the documented
examples), the coverage phase (boundary and schema-violating values for every parameter and
body property, derived deterministically from the schema) and the fuzzing phase (random
data, ``FUZZ_EXAMPLES`` per operation). Every response must be

- below 500, and without a stack trace in it;
- if 4xx, the X-Road error: a JSON object with exactly ``type``, ``message``, ``detail``,
  ``type`` a ``client.*`` code repeated in ``X-Road-Error``, and ``X-Road-Id`` set;
- if 2xx, what the schema documents (schemathesis's response, status-code, content-type
  and header conformance checks).

Random ids almost never exist, so the fuzzers mostly see 4xx. ``test_real_records_...``
therefore asks for records that do exist — ids drawn from the seeded world, with a random
subset of ``fields=`` — so the 2xx schemas are checked against real data too.

Deterministic: hypothesis is derandomized and schemathesis's generation is deterministic,
so a run finds the same cases every time (no flakiness, and a failure always reproduces).
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Callable, Mapping, MutableMapping, Sequence
from typing import Any

import httpx
import hypothesis
import pytest
import schemathesis
from fastapi import FastAPI
from hypothesis import strategies as st
from schemathesis import Case, Response

from registries.business.service import (
    ENTERPRISE_FIELDS,
    HOUSEHOLD_BUSINESS_FIELDS,
    ROLE_BUSINESS_FIELDS,
)
from registries.land.service import HOLDING_FIELDS, PARCEL_FIELDS
from registries.population.service import MEMBER_FIELDS, PERSON_FIELDS
from tests.fixtures.world import LinkedWorld
from tests.registries.conftest import blank_app

#: Random examples per operation in the fuzzing phase (on top of the documented examples
#: and the coverage phase's boundary cases, whose number the schema decides).
FUZZ_EXAMPLES = 25
#: Real records asked for per operation in the positive test.
REAL_EXAMPLES = 25

SETTINGS = hypothesis.settings(
    deadline=None,
    derandomize=True,
    database=None,
    # The seeded app is a per-test fixture reused by every example: the registries only
    # read, so no example can change what the next one sees.
    suppress_health_check=[hypothesis.HealthCheck.function_scoped_fixture],
)

CONFIG: dict[str, Any] = {
    "generation": {"mode": "all", "max-examples": FUZZ_EXAMPLES, "deterministic": True},
    "phases": {
        "examples": {"enabled": True},
        "coverage": {"enabled": True},
        "fuzzing": {"enabled": True},
        "stateful": {"enabled": False},
    },
    "checks": {
        # "Schema-valid request rejected": our ids are plain strings in OpenAPI, but the
        # registries check them for real (12 digits with an existing province code, a
        # valid tax-code check digit, the GeoHash alphabet...), which no JSON Schema says.
        # A 400 naming the bad part is the documented answer to that; this check would
        # call it a failure.
        "positive_data_acceptance": {"enabled": False},
    },
}


def registry_schema(name: str) -> schemathesis.BaseSchema:
    """The OpenAPI of registry ``name``, from an app on an empty database (no seeding)."""
    app = blank_app(name)
    try:
        raw = app.openapi()
    finally:
        app.state.engine.dispose()
    return schemathesis.openapi.from_dict(raw, config=schemathesis.Config.from_dict(CONFIG))


population_schema = registry_schema("population")
business_schema = registry_schema("business")
land_schema = registry_schema("land")


# -- the contract every response keeps ---------------------------------------------------------


def header(response: Response, name: str) -> str | None:
    """One header of a schemathesis response, looked up case-insensitively."""
    for key, values in response.headers.items():
        if key.lower() == name.lower():
            return values[0] if values else ""
    return None


def assert_xroad_contract(response: Response) -> None:
    """No 5xx, no stack trace, and every error the X-Road error body with its headers."""
    status = response.status_code
    text = response.content.decode("utf-8", "replace")
    assert status < 500, f"{status}: {text[:500]}"
    assert "Traceback" not in text
    assert header(response, "X-Road-Id"), "X-Road-Id missing"
    if status >= 400:
        body = json.loads(response.content)
        assert isinstance(body, dict) and set(body) == {"type", "message", "detail"}, body
        assert isinstance(body["type"], str) and body["type"].startswith("client."), body
        assert isinstance(body["message"], str) and body["message"], body
        assert header(response, "X-Road-Error") == body["type"]


def check(case: Case[Any], app: FastAPI) -> Response:
    """Send ``case`` to ``app`` in-process; assert our contract, then schemathesis's checks."""
    response = case.call(app=app)
    assert_xroad_contract(response)
    case.validate_response(response)
    return response


# -- fuzzing every operation of every registry -------------------------------------------------


@population_schema.parametrize()
@SETTINGS
def test_population_answers_fuzzed_requests_without_5xx_in_xroad_shape(
    case: Case[Any], seeded_app: Callable[[str], FastAPI]
) -> None:
    check(case, seeded_app("population"))


@business_schema.parametrize()
@SETTINGS
def test_business_answers_fuzzed_requests_without_5xx_in_xroad_shape(
    case: Case[Any], seeded_app: Callable[[str], FastAPI]
) -> None:
    check(case, seeded_app("business"))


@land_schema.parametrize()
@SETTINGS
def test_land_answers_fuzzed_requests_without_5xx_in_xroad_shape(
    case: Case[Any], seeded_app: Callable[[str], FastAPI]
) -> None:
    check(case, seeded_app("land"))


# -- real records, random field selections: the 2xx schemas -----------------------------------


def rows(seed: Any, table: str) -> list[dict[str, Any]]:
    """The generated rows of ``table`` in a registry's seed, as dicts."""
    for t, data in seed.tables():
        if t.name == table:
            names = list(t.columns.keys())
            return [dict(zip(names, r, strict=True)) for r in data]
    raise LookupError(table)


def person_ids(w: LinkedWorld) -> list[str]:
    return [p.personal_id for p in w.population.people]


def holder_ids(w: LinkedWorld) -> list[str]:
    return sorted({r["holder_id"] for r in rows(w.land, "land_rights_holder")})


def parcel_refs(w: LinkedWorld) -> list[str]:
    parcels = rows(w.land, "land_parcel")
    numbers = [f"{p['commune_code']}-{p['map_sheet']}-{p['parcel_number']}" for p in parcels]
    return [p["parcel_id"] for p in parcels] + numbers


def identity_bodies(w: LinkedWorld) -> list[dict[str, Any]]:
    return [
        {"personal_id": p.personal_id, "full_name": n, "date_of_birth": p.date_of_birth.isoformat()}
        for p in w.population.people
        for n in (p.full_name, p.full_name.upper(), "Nguyễn Văn Không Có")
    ]


def enterprise_bodies(w: LinkedWorld) -> list[dict[str, Any]]:
    representatives = rows(w.business, "legal_representatives")
    reps = {r["enterprise_code"]: r["personal_id"] for r in representatives}
    return [
        {"enterprise_code": e.code, "name": e.name, "legal_representative_id": reps.get(e.code)}
        for e in w.business.enterprises
    ] + [{"enterprise_code": e.code} for e in w.business.enterprises]


def certificate_bodies(w: LinkedWorld) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    for c in rows(w.land, "land_certificate"):
        holder = c["holder_ids"].split(",")[0]
        out += [
            {"certificate_number": c["certificate_number"]},
            {"certificate_number": c["certificate_number"], "parcel_id": c["parcel_id"]},
            {"certificate_number": c["certificate_number"].lower(), "holder_id": holder},
        ]
    return out


#: (registry, method, path) → (path parameter name or None, its values or the request
#: bodies, the field names ``fields=`` may select).
Source = Callable[[LinkedWorld], Sequence[Any]]
REAL: dict[tuple[str, str, str], tuple[str | None, Source, Sequence[str]]] = {
    ("population", "GET", "/persons/{personal_id}"): ("personal_id", person_ids, PERSON_FIELDS),
    ("population", "GET", "/persons/{personal_id}/household"): (
        "personal_id",
        person_ids,
        MEMBER_FIELDS,
    ),
    ("population", "POST", "/verifications/identity"): (None, identity_bodies, ()),
    ("business", "GET", "/enterprises/{enterprise_code}"): (
        "enterprise_code",
        lambda w: [e.code for e in w.business.enterprises],
        ENTERPRISE_FIELDS,
    ),
    ("business", "GET", "/persons/{personal_id}/roles"): (
        "personal_id",
        lambda w: sorted({r["personal_id"] for r in rows(w.business, "legal_representatives")}),
        ROLE_BUSINESS_FIELDS,
    ),
    ("business", "GET", "/household-businesses/{registration_number}"): (
        "registration_number",
        lambda w: [r["registration_number"] for r in rows(w.business, "household_businesses")],
        HOUSEHOLD_BUSINESS_FIELDS,
    ),
    ("business", "POST", "/verifications/enterprise"): (None, enterprise_bodies, ()),
    ("land", "GET", "/parcels/{parcel_id}"): ("parcel_id", parcel_refs, PARCEL_FIELDS),
    ("land", "GET", "/persons/{personal_id}/parcels"): (
        "personal_id",
        lambda w: [h for h in holder_ids(w) if len(h) == 12],
        HOLDING_FIELDS,
    ),
    ("land", "GET", "/enterprises/{enterprise_code}/parcels"): (
        "enterprise_code",
        lambda w: [h for h in holder_ids(w) if len(h) != 12],
        HOLDING_FIELDS,
    ),
    ("land", "POST", "/verifications/certificate"): (None, certificate_bodies, ()),
}
SCHEMAS: Mapping[str, schemathesis.BaseSchema] = {
    "population": population_schema,
    "business": business_schema,
    "land": land_schema,
}


def test_every_registry_operation_has_real_records_to_ask_for() -> None:
    """The positive test covers every data operation the schemas declare."""
    declared = {
        (name, method.upper(), path)
        for name, schema in SCHEMAS.items()
        for path, methods in schema.raw_schema["paths"].items()
        for method in methods
        if path not in ("/healthz", "/readyz", "/metrics")
    }
    assert declared == set(REAL)


@pytest.mark.parametrize("key", list(REAL), ids=[f"{r} {m} {p}" for r, m, p in REAL])
def test_real_records_answer_2xx_matching_the_documented_schema(
    key: tuple[str, str, str],
    linked_world: LinkedWorld,
    seeded_app: Callable[[str], FastAPI],
) -> None:
    registry, method, path = key
    param, source, fields = REAL[key]
    values = source(linked_world)
    assert values, f"the test world has nothing to ask {method} {path} for"
    operation = SCHEMAS[registry][path][method]
    app = seeded_app(registry)

    # Defined here, not decorated at module level, so hypothesis never prints the world.
    @hypothesis.settings(SETTINGS, max_examples=REAL_EXAMPLES)
    @hypothesis.given(data=st.data())
    def ask(data: st.DataObject) -> None:
        value = data.draw(st.sampled_from(values), label=param or "body")
        if param is None:
            case = operation.Case(body=value, media_type="application/json")
        else:
            names = st.lists(st.sampled_from(sorted(fields)), unique=True)
            chosen = data.draw(names, label="fields")
            query = {"fields": ",".join(chosen)} if chosen else {}
            case = operation.Case(path_parameters={param: value}, query=query)
        response = check(case, app)
        if path != "/persons/{personal_id}/household":
            # Every record asked for exists (a deceased person's household may be gone).
            assert response.status_code == 200, response.content[:300]

    ask()


# -- hostile input, by hand --------------------------------------------------------------------

#: Each registry's routes taking an identifier in the path, ``{}`` where it goes.
ID_ROUTES: dict[str, list[str]] = {
    "population": ["/persons/{}", "/persons/{}/household"],
    "business": ["/enterprises/{}", "/persons/{}/roles", "/household-businesses/{}"],
    "land": ["/parcels/{}", "/persons/{}/parcels", "/enterprises/{}/parcels"],
}
#: Each registry's POST route (all take a JSON object).
POST_ROUTES = {
    "population": "/verifications/identity",
    "business": "/verifications/enterprise",
    "land": "/verifications/certificate",
}
#: A valid-looking request per registry, to attach hostile query strings to.
READ_ROUTES = {
    "population": "/persons/001085012345",
    "business": "/enterprises/0101234565",
    "land": "/parcels/w7er8u0evss2",
}
HOSTILE_IDS = [
    "..%2F..%2Fetc",
    "..%2F..%2F..%2Fetc%2Fpasswd",
    "%2e%2e",
    "%00",
    "00108501234%00",
    "%ff%fe",
    "%C3%A9" * 12,
    "1" * 10_240,
    "%E1%BB%85" * 3_500,  # ~10 kB of 'ễ'
    "' OR '1'='1",
    "0101234565-0010",
    "w7er8u0evss2%0A",
]
REGISTRIES = list(ID_ROUTES)


async def send(app: FastAPI, method: str, url: str, **kwargs: Any) -> httpx.Response:
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
        return await client.request(method, url, **kwargs)


async def raw_get(app: FastAPI, path: str, query: bytes) -> httpx.Response:
    """GET ``path?query`` straight through ASGI, the query bytes as a server passes them.

    httpx refuses to send a query that is not ASCII; uvicorn hands such bytes on as-is.
    """
    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "GET",
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "query_string": query,
        "root_path": "",
        "headers": [(b"host", b"test")],
        "client": ("127.0.0.1", 50000),
        "server": ("test", 80),
    }
    sent: list[MutableMapping[str, Any]] = []

    async def receive() -> MutableMapping[str, Any]:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def collect(message: MutableMapping[str, Any]) -> None:
        sent.append(message)

    await app(scope, receive, collect)
    start, *rest = sent
    content = b"".join(m.get("body", b"") for m in rest)
    return httpx.Response(start["status"], headers=start["headers"], content=content)


def assert_client_error(response: httpx.Response, status: int | None = None) -> None:
    """A 4xx (``status`` if given) with the X-Road error body and headers."""
    assert 400 <= response.status_code < 500, (response.status_code, response.text[:300])
    if status is not None:
        assert response.status_code == status, response.text[:300]
    assert "Traceback" not in response.text
    body = response.json()
    assert isinstance(body, dict) and set(body) == {"type", "message", "detail"}, body
    assert body["type"].startswith("client.") and body["message"]
    assert response.headers["X-Road-Error"] == body["type"]
    assert response.headers.get("X-Road-Id")


@pytest.mark.anyio
@pytest.mark.parametrize("registry", REGISTRIES)
async def test_hostile_path_ids_are_4xx_in_xroad_shape(
    registry: str, seeded_app: Callable[[str], FastAPI]
) -> None:
    app = seeded_app(registry)
    for route in [*ID_ROUTES[registry], "/persons/{}"]:
        for raw in HOSTILE_IDS:
            url = "/" + route.format(raw).lstrip("/")
            assert_client_error(await send(app, "GET", url))


@pytest.mark.anyio
@pytest.mark.parametrize("registry", REGISTRIES)
@pytest.mark.parametrize(
    "query",
    [
        pytest.param(b"fields=%ff%fe%fd", id="percent-encoded-non-utf8"),
        pytest.param(b"fields=\xff\xfe\xc3\x28", id="raw-non-utf8"),
        pytest.param(b"fields=" + b",".join(b"f%d" % i for i in range(5_000)), id="5000-fields"),
        pytest.param(b"fields=" + b"," * 5_000, id="5000-commas"),
        pytest.param(b"fields=%00", id="nul"),
        pytest.param(b"fields=a&fields=b&fields=" + b"x" * 10_000, id="repeated-and-long"),
    ],
)
async def test_hostile_query_strings_are_4xx_in_xroad_shape(
    registry: str, query: bytes, seeded_app: Callable[[str], FastAPI]
) -> None:
    response = await raw_get(seeded_app(registry), READ_ROUTES[registry], query)
    # The record asked for does not exist, but the bad query must be what is reported.
    assert_client_error(response, 400)


def nested(depth: int) -> bytes:
    return b'{"a":' * depth + b"1" + b"}" * depth


@pytest.mark.anyio
@pytest.mark.parametrize("registry", REGISTRIES)
@pytest.mark.parametrize(
    ("content", "content_type"),
    [
        pytest.param(b"[]", "application/json", id="empty-array"),
        pytest.param(b'[{"personal_id": "001085012345"}]', "application/json", id="array"),
        pytest.param(b'"001085012345"', "application/json", id="string"),
        pytest.param(b"null", "application/json", id="null"),
        pytest.param(b"1e999999", "application/json", id="huge-number"),
        pytest.param(b"[" * 1_000 + b"]" * 1_000, "application/json", id="1000-nested-arrays"),
        pytest.param(nested(1_000), "application/json", id="1000-nested-objects"),
        pytest.param(nested(100_000), "application/json", id="100000-nested-objects"),
        pytest.param(b'{"a": "\\ud800"}', "application/json", id="lone-surrogate"),
        pytest.param(b"\xff\xfe{}", "application/json", id="non-utf8-json"),
        pytest.param(b'{"a": 1', "application/json", id="truncated"),
        pytest.param(b"", "application/json", id="empty"),
        pytest.param(b'{"certificate_number": "x"}', "text/plain", id="text-plain"),
        pytest.param(b"<a/>", "application/xml", id="xml"),
        pytest.param(b"a=1&b=2", "application/x-www-form-urlencoded", id="form"),
        pytest.param(b'{"a": 1}', "multipart/form-data; boundary=x", id="bad-multipart"),
        pytest.param(b'{"a": 1}', "", id="no-content-type"),
    ],
)
async def test_hostile_json_bodies_are_4xx_in_xroad_shape(
    registry: str, content: bytes, content_type: str, seeded_app: Callable[[str], FastAPI]
) -> None:
    headers = {"Content-Type": content_type} if content_type else {}
    response = await send(
        seeded_app(registry), "POST", POST_ROUTES[registry], content=content, headers=headers
    )
    assert_client_error(response)


@pytest.mark.anyio
@pytest.mark.parametrize("registry", REGISTRIES)
async def test_a_2_mb_body_is_413_declared_or_streamed(
    registry: str, seeded_app: Callable[[str], FastAPI]
) -> None:
    app = seeded_app(registry)
    body = b'{"a": "' + b"x" * (2 << 20) + b'"}'
    declared = await send(app, "POST", POST_ROUTES[registry], content=body)
    assert_client_error(declared, 413)

    async def chunks() -> AsyncIterator[bytes]:  # no Content-Length: the cap counts bytes
        for i in range(0, len(body), 64 << 10):
            yield body[i : i + (64 << 10)]

    streamed = await send(
        app,
        "POST",
        POST_ROUTES[registry],
        content=chunks(),
        headers={"Content-Type": "application/json"},
    )
    assert_client_error(streamed, 413)


@pytest.mark.anyio
@pytest.mark.parametrize("registry", REGISTRIES)
async def test_a_wrong_method_is_405_naming_the_allowed_ones(
    registry: str, seeded_app: Callable[[str], FastAPI]
) -> None:
    """Regression: the 405 used to lose Starlette's ``Allow`` header (RFC 9110 requires it)."""
    app = seeded_app(registry)
    read = await send(app, "DELETE", READ_ROUTES[registry])
    assert_client_error(read, 405)
    assert read.headers["Allow"] == "GET"
    verify = await send(app, "GET", POST_ROUTES[registry])
    assert_client_error(verify, 405)
    assert verify.headers["Allow"] == "POST"
