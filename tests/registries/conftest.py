"""Fixtures shared by the cross-registry tests: one small linked world, three seeded apps.

The three registries are seeded the way ``stack.seed`` seeds them — population first, its
``PersonRef``s feeding business, both feeding land, on the fixed ``SEED_TODAY`` — but with
200 persons and ten times the national density of enterprises, so a few hundred rows give
every kind of record (deceased persons, banks, dissolved enterprises, household
businesses, mortgaged parcels) in a fraction of a second. The world is generated once per
session; each test gets its own seeded apps. The per-registry packages keep their own
fixtures (``app``, ``world``); the names here do not collide with them.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Iterator
from dataclasses import dataclass

import pytest
from fastapi import FastAPI
from sqlalchemy import Engine

from core.provider import ProviderSettings
from registries.business import seed as business
from registries.business.app import create_app as create_business_app
from registries.business.settings import BusinessSettings
from registries.land import seed as land
from registries.land.app import create_app as create_land_app
from registries.land.settings import LandSettings
from registries.population import seed as population
from registries.population.app import create_app as create_population_app
from registries.population.settings import PopulationSettings
from stack.seed import SEED_TODAY

PERSONS = 200


@dataclass(frozen=True)
class LinkedWorld:
    """The three registries' seeds, linked as in the stack."""

    population: population.PopulationSeed
    business: business.BusinessSeed
    land: land.LandSeed


REGISTRY_APPS: dict[str, tuple[Callable[..., FastAPI], type[ProviderSettings]]] = {
    "population": (create_population_app, PopulationSettings),
    "business": (create_business_app, BusinessSettings),
    "land": (create_land_app, LandSettings),
}


def blank_app(name: str) -> FastAPI:
    """The app of registry ``name`` on an empty in-memory database (for its OpenAPI)."""
    factory, settings_class = REGISTRY_APPS[name]
    return factory(
        settings_class(
            database_url="sqlite://", access_log=False, environment="test", require_gateway=False
        )
    )


@pytest.fixture(scope="session")
def linked_world() -> LinkedWorld:
    """200 persons, their enterprises and household businesses, their land."""
    people_seed = population.generate(
        random.Random("tests:fuzz:population"), PERSONS, today=SEED_TODAY
    )
    register = business.generate(
        random.Random("tests:fuzz:business"),
        people_seed.people,
        today=SEED_TODAY,
        enterprise_rate=0.1,
        household_rate=0.1,
    )
    parcels = land.generate(
        random.Random("tests:fuzz:land"),
        people_seed.people,
        register.enterprises,
        today=SEED_TODAY,
    )
    return LinkedWorld(people_seed, register, parcels)


@pytest.fixture
def seeded_app(linked_world: LinkedWorld) -> Iterator[Callable[[str], FastAPI]]:
    """``seeded_app(name)``: registry ``name``'s app on a fresh in-memory database holding
    the world, built on first use in a test (then the same app) and disposed after it.

    Per test, not per session: schemathesis ends an ASGI app's lifespan when the test that
    started it ends, and the lifespan's shutdown disposes the engine — which, for an
    in-memory database, drops it. Loading a few hundred rows costs a few milliseconds.
    """
    writers: dict[str, Callable[[Engine], None]] = {
        "population": lambda engine: population.write(engine, linked_world.population),
        "business": lambda engine: business.write(engine, linked_world.business),
        "land": lambda engine: land.write(engine, linked_world.land),
    }
    built: dict[str, FastAPI] = {}

    def build(name: str) -> FastAPI:
        if name not in built:
            built[name] = blank_app(name)
            writers[name](built[name].state.engine)
        return built[name]

    yield build
    for app in built.values():
        app.state.engine.dispose()
