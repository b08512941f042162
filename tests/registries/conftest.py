"""Fixtures shared by the cross-registry tests: one small linked world, three seeded apps.

The three registries are seeded the way ``stack.seed`` seeds them — population first, its
``PersonRef``s feeding business, both feeding land, on the fixed ``SEED_TODAY`` — but with
200 persons and ten times the national density of enterprises, so a few hundred rows give
every kind of record (deceased persons, banks, dissolved enterprises, household
businesses, mortgaged parcels) in a fraction of a second. The world is generated once per
session (``tests.fixtures.world``); each test gets its own seeded apps. The per-registry
packages keep their own fixtures (``app``, ``world``); the names do not collide.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest
from fastapi import FastAPI

from tests.fixtures.world import REGISTRY_APPS, LinkedWorld


def blank_app(name: str) -> FastAPI:
    """The app of registry ``name`` on an empty in-memory database (for its OpenAPI)."""
    factory, settings_class = REGISTRY_APPS[name]
    return factory(
        settings_class(
            database_url="sqlite://", access_log=False, environment="test", require_gateway=False
        )
    )


@pytest.fixture
def seeded_app(linked_world: LinkedWorld) -> Iterator[Callable[[str], FastAPI]]:
    """``seeded_app(name)``: registry ``name``'s app on a fresh in-memory database holding
    the world, built on first use in a test (then the same app) and disposed after it.

    Per test, not per session: schemathesis ends an ASGI app's lifespan when the test that
    started it ends, and the lifespan's shutdown disposes the engine — which, for an
    in-memory database, drops it. Loading a few hundred rows costs a few milliseconds.
    """
    built: dict[str, FastAPI] = {}

    def build(name: str) -> FastAPI:
        if name not in built:
            built[name] = blank_app(name)
            linked_world.write(name, built[name].state.engine)
        return built[name]

    yield build
    for app in built.values():
        app.state.engine.dispose()
