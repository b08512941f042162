"""Fixtures of the business registry tests: a small seeded world, a fresh app per test.

The people come from the real population generator, so the business seed is tested against
the population it will meet in the stack.
"""

from __future__ import annotations

import random
from datetime import date

import pytest
from fastapi import FastAPI

from registries.business.app import create_app
from registries.business.seed import BusinessSeed, generate, write
from registries.business.settings import BusinessSettings
from registries.population.seed import PersonRef
from registries.population.seed import generate as generate_population

TODAY = date(2026, 1, 1)


@pytest.fixture(scope="session")
def people() -> list[PersonRef]:
    """800 persons, generated once (pure data, never mutated)."""
    return generate_population(random.Random("tests:business:people"), 800, today=TODAY).people


@pytest.fixture(scope="session")
def world(people: list[PersonRef]) -> BusinessSeed:
    """The business register of ``people``, with ten times the national density of
    enterprises so a few hundred persons give every case (about 80 enterprises)."""
    return generate(
        random.Random("tests:business"),
        people,
        today=TODAY,
        enterprise_rate=0.1,
        household_rate=0.1,
    )


@pytest.fixture
def app(world: BusinessSeed) -> FastAPI:
    settings = BusinessSettings(
        database_url="sqlite://", access_log=False, environment="test", require_gateway=False
    )
    application = create_app(settings)
    write(application.state.engine, world)
    return application
