"""The National Population Database service (BCA) as a FastAPI app."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI

from core.db import make_engine, ping, session_factory
from core.http import create_service_app
from registries.population.endpoints import router
from registries.population.models import Base
from registries.population.settings import PopulationSettings

DESCRIPTION = """\
The National Population Database (Cơ sở dữ liệu quốc gia về dân cư, Ministry of Public
Security — BCA) as a data-owner service of the exchange: a person by personal id, the
household of a person, and identity verification (id + name + date of birth → match).

Every read takes `fields=` (comma-separated) to return only what the caller needs; an
unknown field name is a 400. Errors use the X-Road error body
`{"type", "message", "detail"}` with the `X-Road-Error` header.
"""

TAGS = [
    {"name": "persons", "description": "Person records."},
    {"name": "households", "description": "Households (hộ gia đình) and their members."},
    {"name": "verifications", "description": "Yes/no checks that disclose nothing else."},
    {"name": "operations", "description": "Health, readiness and metrics."},
]


def create_app(settings: PopulationSettings | None = None) -> FastAPI:
    """Build the app for ``settings`` (read from ``POPULATION_*`` env vars when omitted)."""
    settings = settings or PopulationSettings()
    engine = make_engine(settings.db_url)
    Base.metadata.create_all(engine)

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        yield
        engine.dispose()

    app = create_service_app(
        service=settings.service_name,
        title="National Population Database (BCA)",
        description=DESCRIPTION,
        readiness=[lambda: ping(engine)],
        access_log=settings.access_log,
        openapi_tags=TAGS,
        lifespan=lifespan,
    )
    app.state.settings = settings
    app.state.engine = engine
    app.state.session_factory = session_factory(engine)
    app.include_router(router)
    return app
