"""Fixtures of the population registry tests: a small seeded world, a fresh app per test."""

from __future__ import annotations

import random
from datetime import date
from typing import Any

import pytest
from fastapi import FastAPI

from registries.population.app import create_app
from registries.population.models import PERSON_COLUMNS
from registries.population.seed import PopulationSeed, generate, write
from registries.population.settings import PopulationSettings

TODAY = date(2026, 1, 1)


@pytest.fixture(scope="session")
def world() -> PopulationSeed:
    """600 persons, generated once (pure data); every test loads it into its own database."""
    return generate(random.Random("tests:population"), 600, today=TODAY)


@pytest.fixture
def app(world: PopulationSeed) -> FastAPI:
    settings = PopulationSettings(
        database_url="sqlite://", access_log=False, environment="test", require_gateway=False
    )
    application = create_app(settings)
    write(application.state.engine, world)
    return application


def rows(world: PopulationSeed) -> list[dict[str, Any]]:
    """The generated person rows as dicts keyed by column name."""
    return [dict(zip(PERSON_COLUMNS, r, strict=True)) for r in world.persons]


def first(world: PopulationSeed, **where: Any) -> dict[str, Any]:
    """The first generated person whose columns equal ``where`` (``None`` allowed)."""
    for r in rows(world):
        if all(r[k] == v for k, v in where.items()):
            return r
    raise LookupError(f"no person with {where} in the test world")


def first_deceased(world: PopulationSeed) -> dict[str, Any]:
    return next(r for r in rows(world) if r["date_of_death"] is not None)
