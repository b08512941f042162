"""The National Population Database service (BCA) as a FastAPI app."""

from __future__ import annotations

from fastapi import FastAPI

from core.catalogue import install_catalogue
from core.data_service import create_data_service_app
from core.provider import gateway_guard
from registries.population.catalogue import catalogue
from registries.population.endpoints import router
from registries.population.models import Base
from registries.population.settings import PopulationSettings

TITLE = "National Population Database (BCA)"

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
    """Build the app for ``settings`` (read from ``POPULATION_*`` env vars when omitted).

    Unless ``require_gateway`` is off, the app answers only the gateway and signs every
    answer (``core.provider``), with the CA, CRL and member key under ``settings.pki``.
    """
    settings = settings or PopulationSettings()
    app = create_data_service_app(
        settings,
        title=TITLE,
        description=DESCRIPTION,
        metadata=Base.metadata,
        router=router,
        openapi_tags=TAGS,
        guard=gateway_guard(settings),
    )
    install_catalogue(app, catalogue(settings.member_id), router=router)
    return app
