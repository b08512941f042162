"""Structured logs: one JSON object per line, carrying the X-Road-Id of the request."""

from __future__ import annotations

import json
import logging

import httpx
import pytest

from core.http import JsonFormatter, configure_logging, create_service_app, current_xroad_id


def _record(msg: str, **extra: object) -> logging.LogRecord:
    record = logging.LogRecord("lienthong.test", logging.INFO, __file__, 1, msg, (), None)
    for k, v in extra.items():
        setattr(record, k, v)
    return record


def test_a_line_is_one_json_object_with_service_level_and_xroad_id() -> None:
    token = current_xroad_id.set("req-123")
    try:
        line = JsonFormatter("population").format(_record("hello Hà Nội"))
    finally:
        current_xroad_id.reset(token)
    entry = json.loads(line)
    assert "\n" not in line
    assert entry["service"] == "population"
    assert entry["level"] == "info"
    assert entry["xroad_id"] == "req-123"
    assert entry["msg"] == "hello Hà Nội"
    assert entry["ts"].endswith("Z")


def test_extra_fields_are_merged_and_exceptions_kept() -> None:
    try:
        raise ValueError("bad")
    except ValueError:
        import sys

        record = _record("failed", fields={"route": "/persons/{personal_id}", "status": 500})
        record.exc_info = sys.exc_info()
    entry = json.loads(JsonFormatter("land").format(record))
    assert entry["route"] == "/persons/{personal_id}"
    assert entry["status"] == 500
    assert "ValueError: bad" in entry["exc"]


def test_outside_a_request_the_xroad_id_is_a_dash() -> None:
    assert json.loads(JsonFormatter("x").format(_record("boot")))["xroad_id"] == "-"


@pytest.mark.anyio
async def test_access_log_line_names_route_template_and_request_id(
    capsys: pytest.CaptureFixture[str],
) -> None:
    touched = [logging.getLogger(n) for n in ("", "uvicorn", "uvicorn.error", "httpx", "httpcore")]
    access = logging.getLogger("uvicorn.access")
    saved = [(lg, lg.handlers[:], lg.level, lg.propagate) for lg in touched]
    access_disabled = access.disabled
    try:
        configure_logging("population", "info")
        app = create_service_app(service="population", title="t", description="d")

        @app.get("/persons/{personal_id}")
        def person(personal_id: str) -> dict[str, str]:
            return {"ok": "yes"}

        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://t") as c:
            r = await c.get("/persons/001085012345", headers={"X-Road-Id": "abc-1"})
        assert r.status_code == 200
    finally:
        for lg, handlers, level, propagate in saved:
            lg.handlers[:] = handlers
            lg.setLevel(level)
            lg.propagate = propagate
        access.disabled = access_disabled
    lines = [json.loads(line) for line in capsys.readouterr().err.splitlines() if line]
    requests = [e for e in lines if e["msg"] == "request"]
    assert requests, lines
    assert requests[-1]["route"] == "/persons/{personal_id}"
    assert requests[-1]["xroad_id"] == "abc-1"
    assert requests[-1]["status"] == 200
    assert all("001085012345" not in json.dumps(e) for e in lines)
