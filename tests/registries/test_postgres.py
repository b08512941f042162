"""PostgreSQL by URL, same code: each registry seeded and read on a real PostgreSQL server.

Everything else in the suite runs the registries on SQLite; here the only change is
``database_url`` — the same ``create_app``, the same seed writers, the same endpoints —
pointed at a fresh database on the throwaway server of ``tests/fixtures/postgres.py``.
"""

from __future__ import annotations

import random
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import date

import httpx
import pytest
from fastapi import FastAPI

from registries.business import seed as business_seed
from registries.business.app import create_app as create_business_app
from registries.business.settings import BusinessSettings
from registries.land import seed as land_seed
from registries.land.app import create_app as create_land_app
from registries.land.settings import LandSettings
from registries.population import seed as population_seed
from registries.population.app import create_app as create_population_app
from registries.population.settings import PopulationSettings
from tests.fixtures import postgres as pg_fixture
from tests.fixtures.postgres import PostgresUrlFactory

TODAY = date(2026, 1, 1)


@dataclass(frozen=True)
class World:
    population: population_seed.PopulationSeed
    business: business_seed.BusinessSeed
    land: land_seed.LandSeed


@pytest.fixture(scope="module")
def world() -> World:
    """A small linked world (pure data, generated once, never mutated)."""
    people = population_seed.generate(random.Random("pg:population"), 300, today=TODAY)
    register = business_seed.generate(
        random.Random("pg:business"), people.people, today=TODAY, enterprise_rate=0.1
    )
    parcels = land_seed.generate(
        random.Random("pg:land"), people.people, register.enterprises, today=TODAY
    )
    return World(people, register, parcels)


@asynccontextmanager
async def serving(app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    """The app in-process, with its lifespan run (so its engine is disposed at the end)."""
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
            yield client


@pytest.mark.postgres
@pytest.mark.anyio
async def test_population_serves_a_person_from_postgresql(
    postgres_url: PostgresUrlFactory, world: World
) -> None:
    settings = PopulationSettings(
        database_url=postgres_url(), access_log=False, require_gateway=False
    )
    app = create_population_app(settings)
    assert app.state.engine.dialect.name == "postgresql"
    population_seed.write(app.state.engine, world.population)
    person = next(p for p in world.population.people if p.spouse_id is not None)

    async with serving(app) as client:
        full = await client.get(f"/persons/{person.personal_id}")
        some = await client.get(
            f"/persons/{person.personal_id}", params={"fields": "full_name,date_of_birth"}
        )
        household = await client.get(f"/persons/{person.personal_id}/household")
        ready = await client.get("/readyz")

    assert full.status_code == 200
    assert full.json()["full_name"] == person.full_name
    assert full.json()["spouse_id"] == person.spouse_id
    assert some.json() == {
        "full_name": person.full_name,
        "date_of_birth": person.date_of_birth.isoformat(),
    }
    assert household.status_code == 200
    assert ready.status_code == 200


@pytest.mark.postgres
@pytest.mark.anyio
async def test_business_serves_an_enterprise_from_postgresql(
    postgres_url: PostgresUrlFactory, world: World
) -> None:
    settings = BusinessSettings(
        database_url=postgres_url(), access_log=False, require_gateway=False
    )
    app = create_business_app(settings)
    assert app.state.engine.dialect.name == "postgresql"
    business_seed.write(app.state.engine, world.business)
    enterprise = next(e for e in world.business.enterprises if e.status == "active")

    async with serving(app) as client:
        found = await client.get(f"/enterprises/{enterprise.code}")
        bank = await client.get(
            f"/enterprises/{business_seed.DEV_BANK_CODE}", params={"fields": "enterprise_code"}
        )

    assert found.status_code == 200
    assert found.json()["name_vi"] == enterprise.name
    assert found.json()["main_industry"]["code"] == enterprise.main_industry
    assert found.json()["founded_on"] == enterprise.founded_on.isoformat()
    assert bank.json() == {"enterprise_code": business_seed.DEV_BANK_CODE}


@pytest.mark.postgres
@pytest.mark.anyio
async def test_land_serves_a_parcel_from_postgresql(
    postgres_url: PostgresUrlFactory, world: World
) -> None:
    settings = LandSettings(database_url=postgres_url(), access_log=False, require_gateway=False)
    app = create_land_app(settings)
    assert app.state.engine.dialect.name == "postgresql"
    land_seed.write(app.state.engine, world.land)
    parcel_id = world.land.parcels[0][0]

    async with serving(app) as client:
        found = await client.get(f"/parcels/{parcel_id}")

    assert found.status_code == 200
    assert found.json()["parcel_id"] == parcel_id


def test_missing_postgresql_binaries_fail_with_the_fix(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(pg_fixture, "PG_BIN_GLOB", "/nonexistent/postgresql/*/bin")

    with pytest.raises(pytest.fail.Exception, match="run scripts/os-deps"):
        pg_fixture.find_pg_bin()
