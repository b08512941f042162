"""The National Land Database service (BNNMT) as a FastAPI app."""

from __future__ import annotations

from fastapi import FastAPI

from core.catalogue import install_catalogue
from core.data_service import create_data_service_app
from core.provider import gateway_guard
from registries.land.catalogue import catalogue
from registries.land.endpoints import router
from registries.land.models import Base
from registries.land.settings import LandSettings

TITLE = "National Land Database (BNNMT)"

DESCRIPTION = """\
The National Land Database (Cơ sở dữ liệu quốc gia về đất đai — Bộ Nông nghiệp và Môi
trường) as a data-owner service of the exchange: a land parcel by its national parcel id
(12-character GeoHash) or its cadastral number (commune-map sheet-parcel), the parcels a
person or an enterprise holds, and verification of a land use right certificate.

A parcel record carries the certificate in force, the current rights holders and their
shares (a married couple's common property lists both spouses), mortgages, and the history
of registered transactions. Land use purposes are the codes of the cadastral legend (ODT,
ONT, LUC, CLN, ...), each answered with its Vietnamese name.

Every read takes `fields=` (comma-separated) to return only what the caller needs; an
unknown field name is a 400. Malformed identifiers are a 400 naming the wrong part. Errors
use the X-Road error body `{"type", "message", "detail"}` with the `X-Road-Error` header.
"""

TAGS = [
    {
        "name": "parcels",
        "description": "Land parcels (thửa đất) and everything registered on them.",
    },
    {"name": "holders", "description": "The parcels a person or an enterprise holds."},
    {"name": "verifications", "description": "Yes/no checks that disclose nothing else."},
    {"name": "operations", "description": "Health, readiness and metrics."},
]


def create_app(settings: LandSettings | None = None) -> FastAPI:
    """Build the app for ``settings`` (read from ``LAND_*`` env vars when omitted).

    Unless ``require_gateway`` is off, the app answers only the gateway and signs every
    answer (``core.provider``), with the CA, CRL and member key under ``settings.pki``.
    """
    settings = settings or LandSettings()
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
