"""The National Business Registration Database service (BTC) as a FastAPI app."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI

from core.db import make_engine, ping, session_factory
from core.http import create_service_app
from registries.business.endpoints import router
from registries.business.models import Base
from registries.business.settings import BusinessSettings

DESCRIPTION = """\
The National Business Registration Database (Cơ sở dữ liệu quốc gia về đăng ký doanh
nghiệp — BTC) as a data-owner service of the exchange: an enterprise by enterprise code
(tax code), the roles a person holds in enterprises and household businesses, a household
business by registration number, and verification of facts about an enterprise.

Every read takes `fields=` (comma-separated) to return only what the caller needs; an
unknown field name is a 400. Malformed codes are a 400 naming the wrong part (for example
a wrong check digit). Errors use the X-Road error body `{"type", "message", "detail"}` with
the `X-Road-Error` header. Industry codes are VSIC 2018 classes.
"""

TAGS = [
    {"name": "enterprises", "description": "Enterprises (doanh nghiệp) by enterprise code."},
    {"name": "persons", "description": "The roles a person holds in businesses."},
    {"name": "household businesses", "description": "Household businesses (hộ kinh doanh)."},
    {"name": "verifications", "description": "Yes/no checks that disclose nothing else."},
    {"name": "operations", "description": "Health, readiness and metrics."},
]


def create_app(settings: BusinessSettings | None = None) -> FastAPI:
    """Build the app for ``settings`` (read from ``BUSINESS_*`` env vars when omitted)."""
    settings = settings or BusinessSettings()
    engine = make_engine(settings.db_url)
    Base.metadata.create_all(engine)

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        yield
        engine.dispose()

    app = create_service_app(
        service=settings.service_name,
        title="National Business Registration Database (BTC)",
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
