"""The admin API: runtime access rights, for the administrator identity only."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.fixtures.gateway import BuildExchange, InProcessExchange
from tests.fixtures.pki import PkiFiles
from tests.fixtures.world import LinkedWorld
from tests.gateway.support import (
    ADMIN,
    BUSINESS,
    HBR,
    LAND_OFFICE,
    LAND_TRANSFER,
    ONE_STOP,
    POPULATION,
    Gateway,
    record_json,
)

pytestmark = pytest.mark.anyio

HOUSEHOLD_GRANT: dict[str, Any] = {
    "client": LAND_OFFICE,
    "service": f"{POPULATION}/persons",
    "methods": ["GET"],
    "paths": ["/{personal_id}/household"],
    "purposes": [LAND_TRANSFER],
    "fields": ["personal_id", "full_name"],
}


@pytest.fixture
def pid(linked_world: LinkedWorld) -> str:
    return next(p for p in linked_world.population.people if p.date_of_death is None).personal_id


def _admin(exchange: InProcessExchange) -> httpx.AsyncClient:
    return exchange.member(ADMIN).http


async def _household(exchange: InProcessExchange, pid: str) -> httpx.Response:
    return await exchange.member(LAND_OFFICE).call(
        "GET", f"/r1/{POPULATION}/persons/{pid}/household", purpose=LAND_TRANSFER
    )


async def test_admin_lists_the_grants_in_force(exchange: InProcessExchange) -> None:
    r = await _admin(exchange).get("/admin/grants")
    assert r.status_code == 200, r.text
    grants = r.json()["grants"]
    assert len(grants) == 15
    assert all(g["source"] == "file" and g["id"].startswith("file-") for g in grants)
    one_stop = await _admin(exchange).get("/admin/grants", params={"client": ONE_STOP})
    assert {g["client"] for g in one_stop.json()["grants"]} == {ONE_STOP}
    assert len(one_stop.json()["grants"]) == 6


async def test_runtime_grant_opens_the_query_and_its_revocation_closes_it(
    exchange: InProcessExchange, pid: str
) -> None:
    before = await _household(exchange, pid)
    assert before.status_code == 403
    assert before.json()["type"] == "client.access_denied"

    added = await _admin(exchange).post("/admin/grants", json=HOUSEHOLD_GRANT)
    assert added.status_code == 201, added.text
    grant = added.json()
    assert grant["source"] == "runtime"

    allowed = await _household(exchange, pid)
    assert allowed.status_code == 200, allowed.text
    for member in allowed.json()["members"]:
        assert set(member) == {"personal_id", "full_name"}

    revoked = await _admin(exchange).delete(f"/admin/grants/{grant['id']}")
    assert revoked.status_code == 200, revoked.text
    assert "revoked_at" in revoked.json()
    after = await _household(exchange, pid)
    assert after.status_code == 403
    assert after.json()["type"] == "client.access_denied"


async def test_file_grant_revoked_at_runtime(exchange: InProcessExchange) -> None:
    listed = await _admin(exchange).get("/admin/grants", params={"client": ONE_STOP})
    enterprises = next(
        g for g in listed.json()["grants"] if g["service"] == f"{BUSINESS}/enterprises"
    )
    one_stop = exchange.member(ONE_STOP)
    path = f"/r1/{BUSINESS}/enterprises/0101234565"
    assert (await one_stop.call("GET", path, purpose=HBR)).status_code == 200

    r = await _admin(exchange).delete(f"/admin/grants/{enterprises['id']}")
    assert r.status_code == 200, r.text
    refused = await one_stop.call("GET", path, purpose=HBR)
    assert refused.status_code == 403
    assert refused.json()["type"] == "client.access_denied"
    again = await _admin(exchange).delete(f"/admin/grants/{enterprises['id']}")
    assert again.status_code == 404
    assert again.json()["type"] == "client.grant_not_found"


async def test_runtime_changes_survive_a_restart(
    build_exchange: BuildExchange, tmp_path: Path, pid: str
) -> None:
    first = await build_exchange(var_dir=tmp_path / "shared")
    added = (await _admin(first).post("/admin/grants", json=HOUSEHOLD_GRANT)).json()
    grants = (await _admin(first).get("/admin/grants", params={"client": ONE_STOP})).json()
    file_grant = grants["grants"][0]
    assert (await _admin(first).delete(f"/admin/grants/{file_grant['id']}")).status_code == 200

    second = await build_exchange(var_dir=tmp_path / "shared")
    ids = {g["id"] for g in (await _admin(second).get("/admin/grants")).json()["grants"]}
    assert added["id"] in ids
    assert file_grant["id"] not in ids
    assert (await _household(second, pid)).status_code == 200


async def test_non_admin_member_is_refused(exchange: InProcessExchange) -> None:
    one_stop = exchange.member(ONE_STOP).http
    for r in (
        await one_stop.get("/admin/grants"),
        await one_stop.post("/admin/grants", json=HOUSEHOLD_GRANT),
        await one_stop.delete("/admin/grants/whatever"),
    ):
        assert r.status_code == 403, r.text
        assert r.json()["type"] == "client.access_denied"
        assert r.headers["x-road-error"] == "client.access_denied"
    # No grant was added by the refused call.
    listed = await _admin(exchange).get("/admin/grants", params={"client": LAND_OFFICE})
    assert all(g["source"] == "file" for g in listed.json()["grants"])


async def test_admin_api_needs_a_client_certificate(exchange: InProcessExchange) -> None:
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=exchange.gateway), base_url="https://citizens.test"
    ) as anonymous:
        r = await anonymous.get("/admin/grants")
    assert r.status_code == 403
    assert r.json()["type"] == "client.access_denied"


@pytest.mark.parametrize(
    "change",
    [
        {"client": "not a client"},
        {"client": None},
        {"service": f"{POPULATION}"},
        {"methods": ["FETCH"]},
        {"methods": []},
        {"methods": "GET"},
        {"paths": ["relative"]},
        {"paths": []},
        {"purposes": ["no-such-purpose"]},
        {"fields": "all"},
        {"fields": [1, 2]},
        {"unexpected": True},
    ],
    ids=[
        "client-malformed",
        "client-missing",
        "service-without-code",
        "method-unknown",
        "methods-empty",
        "methods-not-a-list",
        "path-relative",
        "paths-empty",
        "purpose-unknown",
        "fields-not-a-list",
        "fields-not-strings",
        "unknown-key",
    ],
)
async def test_bad_grant_is_refused(exchange: InProcessExchange, change: dict[str, Any]) -> None:
    body = {**HOUSEHOLD_GRANT, **change}
    r = await _admin(exchange).post("/admin/grants", json=body)
    assert r.status_code == 400, r.text
    assert r.json()["type"] == "client.bad_request"
    listed = await _admin(exchange).get("/admin/grants", params={"client": LAND_OFFICE})
    assert all(g["source"] == "file" for g in listed.json()["grants"])


@pytest.mark.parametrize("body", [b"not json", b"[1, 2]", b""], ids=["not-json", "list", "empty"])
async def test_grant_body_must_be_a_json_object(exchange: InProcessExchange, body: bytes) -> None:
    r = await _admin(exchange).post(
        "/admin/grants", content=body, headers={"Content-Type": "application/json"}
    )
    assert r.status_code == 400, r.text
    assert r.json()["type"] == "client.bad_request"


async def test_grant_changes_leave_grant_records(
    exchange: InProcessExchange, pki_files: PkiFiles
) -> None:
    added = (await _admin(exchange).post("/admin/grants", json=HOUSEHOLD_GRANT)).json()
    await _admin(exchange).delete(f"/admin/grants/{added['id']}")
    rows = [r for r in Gateway(exchange, pki_files).records() if r.kind == "grant"]
    assert [record_json(r)["action"] for r in rows] == ["add", "revoke"]
    for row in rows:
        assert row.x_road_id == added["id"]
        assert row.client == ADMIN
        body = record_json(row)
        assert body["by"] == ADMIN
        assert body["grant"]["id"] == added["id"]
        assert body["grant"]["client"] == LAND_OFFICE
