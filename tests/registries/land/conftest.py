"""Fixtures of the land registry tests: a small linked world, a fresh app per test.

People and enterprises come from the real population and business generators, so the land
seed is tested against the world it will meet in the stack.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import date

import pytest
from fastapi import FastAPI

from registries.business.seed import EnterpriseRef
from registries.business.seed import generate as generate_business
from registries.land.app import create_app
from registries.land.seed import LandSeed, generate, write
from registries.land.settings import LandSettings
from registries.population.seed import PersonRef
from registries.population.seed import generate as generate_population

TODAY = date(2026, 1, 1)


@dataclass(frozen=True)
class World:
    people: list[PersonRef]
    enterprises: list[EnterpriseRef]
    land: LandSeed


@pytest.fixture(scope="session")
def world() -> World:
    """700 persons, ten times the national density of enterprises, their land (pure data,
    generated once; every test loads it into its own database)."""
    people = generate_population(random.Random("tests:land:people"), 700, today=TODAY).people
    enterprises = generate_business(
        random.Random("tests:land:business"),
        people,
        today=TODAY,
        enterprise_rate=0.1,
        household_rate=0.0,
    ).enterprises
    land = generate(random.Random("tests:land"), people, enterprises, today=TODAY)
    return World(people, enterprises, land)


@pytest.fixture
def app(world: World) -> FastAPI:
    settings = LandSettings(
        database_url="sqlite://", access_log=False, environment="test", require_gateway=False
    )
    application = create_app(settings)
    write(application.state.engine, world.land)
    return application
