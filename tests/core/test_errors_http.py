"""The service kit: X-Road error rendering, X-Road-Id, health, readiness and metrics."""

from __future__ import annotations

import logging
import re
import uuid
from collections.abc import AsyncIterator, Callable

import httpx
import pytest
from fastapi import FastAPI, Query
from pydantic import BaseModel

from core.errors import (
    ErrorBody,
    InvalidIdentifier,
    NotFound,
    ServiceUnavailable,
    error_response_doc,
)
from core.http import XROAD_ERROR_HEADER, XROAD_ID_HEADER, create_service_app
from core.ids.personal import parse_personal_id


class PersonNotFound(NotFound):
    type = "client.person_not_found"


class Echo(BaseModel):
    text: str


def build_app(
    readiness: list[Callable[[], None]] | None = None, *, max_body: int = 1 << 20
) -> FastAPI:
    app = create_service_app(
        service="test",
        title="Test",
        description="A service for the kit's tests.",
        readiness=readiness or [],
        max_body=max_body,
    )

    @app.get(
        "/persons/{personal_id}",
        responses=error_response_doc(InvalidIdentifier, PersonNotFound),
    )
    def person(personal_id: str) -> dict[str, str]:
        parse_personal_id(personal_id)
        raise PersonNotFound(f"no person with id {personal_id}")

    @app.get("/count")
    def count(n: int = Query(..., ge=0)) -> dict[str, int]:
        return {"n": n}

    @app.post("/echo")
    def echo(body: Echo) -> Echo:
        return body

    @app.get("/boom")
    def boom() -> None:
        raise RuntimeError("secret connection string postgresql://u:p@db")

    return app


@pytest.fixture
async def client() -> AsyncIterator[httpx.AsyncClient]:
    async with _client(build_app()) as c:
        yield c


def _client(app: FastAPI) -> httpx.AsyncClient:
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://test")


def _is_uuid(value: str) -> bool:
    try:
        uuid.UUID(value)
    except ValueError:
        return False
    return True


@pytest.mark.anyio
async def test_a_named_error_renders_the_xroad_body_and_header(client: httpx.AsyncClient) -> None:
    r = await client.get("/persons/001090012345")
    assert r.status_code == 404
    assert r.headers[XROAD_ERROR_HEADER] == "client.person_not_found"
    assert r.json() == {
        "type": "client.person_not_found",
        "message": "no person with id 001090012345",
        "detail": None,
    }


@pytest.mark.anyio
async def test_a_malformed_identifier_is_400_naming_the_part(client: httpx.AsyncClient) -> None:
    r = await client.get("/persons/999090012345")
    assert r.status_code == 400
    assert r.headers[XROAD_ERROR_HEADER] == "client.bad_request"
    assert r.json()["message"].startswith("province code 999 does not exist")
    assert r.json()["detail"] == {"part": "province", "value": "999"}


@pytest.mark.anyio
async def test_the_xroad_id_is_generated_when_absent(client: httpx.AsyncClient) -> None:
    first = await client.get("/healthz")
    second = await client.get("/healthz")
    assert _is_uuid(first.headers[XROAD_ID_HEADER])
    assert first.headers[XROAD_ID_HEADER] != second.headers[XROAD_ID_HEADER]


@pytest.mark.anyio
async def test_the_xroad_id_is_propagated_on_success_and_error(client: httpx.AsyncClient) -> None:
    for path in ("/healthz", "/persons/001090012345", "/nowhere"):
        r = await client.get(path, headers={XROAD_ID_HEADER: "req-42.a:b"})
        assert r.headers[XROAD_ID_HEADER] == "req-42.a:b"


@pytest.mark.parametrize("bad", ["has space", "x" * 129, "semi;colon", "ünï"])
@pytest.mark.anyio
async def test_a_malformed_xroad_id_is_replaced(client: httpx.AsyncClient, bad: str) -> None:
    r = await client.get("/healthz", headers={XROAD_ID_HEADER.encode(): bad.encode("utf-8")})
    assert _is_uuid(r.headers[XROAD_ID_HEADER])


@pytest.mark.anyio
async def test_a_validation_error_is_400_naming_the_parameter(client: httpx.AsyncClient) -> None:
    r = await client.get("/count", params={"n": "many"})
    assert r.status_code == 400
    assert r.headers[XROAD_ERROR_HEADER] == "client.bad_request"
    body = r.json()
    assert body["type"] == "client.bad_request"
    assert body["message"].startswith("query 'n':")
    assert body["detail"][0]["in"] == "query" and body["detail"][0]["name"] == "n"


@pytest.mark.anyio
async def test_a_bad_json_body_is_400_without_echoing_the_input(
    client: httpx.AsyncClient,
) -> None:
    r = await client.post("/echo", json={"text": 12345678901})
    assert r.status_code == 400
    assert r.json()["type"] == "client.bad_request"
    assert "12345678901" not in r.text


@pytest.mark.anyio
async def test_an_unknown_route_is_404_client_not_found(client: httpx.AsyncClient) -> None:
    r = await client.get("/nowhere")
    assert r.status_code == 404
    assert r.headers[XROAD_ERROR_HEADER] == "client.not_found"
    assert r.json()["type"] == "client.not_found"


@pytest.mark.anyio
async def test_a_wrong_method_is_405(client: httpx.AsyncClient) -> None:
    r = await client.delete("/count")
    assert r.status_code == 405
    assert r.json()["type"] == "client.method_not_allowed"


@pytest.mark.anyio
async def test_an_unexpected_exception_is_a_logged_500_without_a_trace(
    client: httpx.AsyncClient, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.ERROR, logger="lienthong.test"):
        r = await client.get("/boom", headers={XROAD_ID_HEADER: "trace-me"})
    assert r.status_code == 500
    assert r.headers[XROAD_ERROR_HEADER] == "server.internal_error"
    assert r.headers[XROAD_ID_HEADER] == "trace-me"
    assert r.json() == {
        "type": "server.internal_error",
        "message": "internal error",
        "detail": None,
    }
    assert "Traceback" not in r.text and "postgresql" not in r.text
    logged = [rec for rec in caplog.records if rec.exc_info]
    assert logged and isinstance(logged[0].exc_info[1], RuntimeError)  # type: ignore[index]


@pytest.mark.anyio
async def test_an_oversize_declared_body_is_413() -> None:
    async with _client(build_app(max_body=64)) as c:
        r = await c.post("/echo", json={"text": "x" * 100})
        assert r.status_code == 413
        assert r.headers[XROAD_ERROR_HEADER] == "client.payload_too_large"
        assert _is_uuid(r.headers[XROAD_ID_HEADER])
        ok = await c.post("/echo", json={"text": "short"})
        assert ok.status_code == 200 and ok.json() == {"text": "short"}


@pytest.mark.anyio
async def test_an_oversize_chunked_body_without_length_is_413() -> None:
    async def chunks() -> AsyncIterator[bytes]:
        yield b'{"text": "'
        for _ in range(10):
            yield b"x" * 100
        yield b'"}'

    async with _client(build_app(max_body=64)) as c:
        r = await c.post("/echo", content=chunks(), headers={"Content-Type": "application/json"})
        assert "content-length" not in r.request.headers
        assert r.status_code == 413
        assert r.headers[XROAD_ERROR_HEADER] == "client.payload_too_large"


@pytest.mark.anyio
async def test_healthz_answers_ok(client: httpx.AsyncClient) -> None:
    r = await client.get("/healthz")
    assert r.status_code == 200
    assert r.json() == {"status": "ok", "service": "test"}


@pytest.mark.anyio
async def test_readyz_runs_every_check() -> None:
    calls: list[str] = []
    app = build_app([lambda: calls.append("db"), lambda: calls.append("cache")])
    async with _client(app) as c:
        r = await c.get("/readyz")
    assert r.status_code == 200
    assert r.json() == {"status": "ready", "service": "test"}
    assert calls == ["db", "cache"]


@pytest.mark.anyio
async def test_readyz_failing_is_503_without_the_exception_text() -> None:
    def database_down() -> None:
        raise ConnectionError("password=hunter2 host=db")

    async with _client(build_app([database_down])) as c:
        r = await c.get("/readyz")
    assert r.status_code == 503
    assert r.headers[XROAD_ERROR_HEADER] == "server.unavailable"
    assert r.json()["message"] == "test is not ready: ConnectionError"
    assert "hunter2" not in r.text


@pytest.mark.anyio
async def test_metrics_count_requests_by_route_template(client: httpx.AsyncClient) -> None:
    await client.get("/persons/001090012345")
    r = await client.get("/metrics")
    assert r.status_code == 200
    assert r.headers["content-type"].startswith("text/plain")
    line = next(
        ln
        for ln in r.text.splitlines()
        if ln.startswith("lienthong_http_requests_total{") and 'status="404"' in ln
    )
    assert 'route="/persons/{personal_id}"' in line
    assert re.search(r"\} 1\.0$", line)
    assert "001090012345" not in r.text


@pytest.mark.anyio
async def test_the_access_log_names_the_route_template_never_the_personal_id(
    client: httpx.AsyncClient, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.INFO, logger="lienthong.test"):
        await client.get("/persons/001090012345")
    access = [rec for rec in caplog.records if rec.getMessage() == "request"]
    assert len(access) == 1
    fields = access[0].fields  # type: ignore[attr-defined]
    assert fields["route"] == "/persons/{personal_id}"
    assert fields["status"] == 404 and fields["method"] == "GET"
    assert all("001090012345" not in str(rec.__dict__) for rec in caplog.records)


def test_error_response_doc_groups_errors_by_status() -> None:
    doc = error_response_doc(InvalidIdentifier, NotFound, PersonNotFound, ServiceUnavailable)
    assert doc[400] == {"description": "client.bad_request", "model": ErrorBody}
    assert doc[404]["description"] == "client.not_found, client.person_not_found"
    assert doc[503]["description"] == "server.unavailable"


@pytest.mark.anyio
async def test_openapi_documents_the_declared_errors(client: httpx.AsyncClient) -> None:
    spec = (await client.get("/openapi.json")).json()
    responses = spec["paths"]["/persons/{personal_id}"]["get"]["responses"]
    assert responses["404"]["description"] == "client.person_not_found"
    assert responses["400"]["description"] == "client.bad_request"


def test_openapi_documents_400_x_road_errors_and_never_422() -> None:
    schema = build_app().openapi()
    operations = [op for item in schema["paths"].values() for op in item.values()]
    assert all("422" not in op["responses"] for op in operations)
    count = schema["paths"]["/count"]["get"]["responses"]
    assert count["400"]["description"] == "client.bad_request"
    assert count["400"]["content"]["application/json"]["schema"] == {
        "$ref": "#/components/schemas/ErrorBody"
    }
    person = schema["paths"]["/persons/{personal_id}"]["get"]["responses"]
    assert person["404"]["description"] == "client.person_not_found"
    assert "HTTPValidationError" not in schema["components"]["schemas"]
    assert "ErrorBody" in schema["components"]["schemas"]


def test_openapi_documents_metrics_as_text() -> None:
    metrics = build_app().openapi()["paths"]["/metrics"]["get"]["responses"]["200"]
    assert list(metrics["content"]) == ["text/plain"]


@pytest.mark.anyio
async def test_unknown_route_message_echoes_at_most_200_characters_of_the_path(
    client: httpx.AsyncClient,
) -> None:
    r = await client.get("/" + "x" * 10_000)
    assert r.status_code == 404
    assert len(r.json()["message"]) < 300


@pytest.mark.anyio
async def test_api_docs_are_served_without_a_cdn(client: httpx.AsyncClient) -> None:
    docs = await client.get("/docs")
    assert docs.status_code == 200
    assert "cdn." not in docs.text and "https://" not in docs.text
    assert "/static-offline-docs/swagger-ui-bundle.js" in docs.text
    bundle = await client.get("/static-offline-docs/swagger-ui-bundle.js")
    assert bundle.status_code == 200
    assert len(bundle.content) > 100_000
    redoc = await client.get("/redoc")
    assert redoc.status_code == 200 and "https://" not in redoc.text
