"""The National Business Registration Database service (BTC) as a FastAPI app."""

from __future__ import annotations

from fastapi import FastAPI

from core.catalogue import install_catalogue
from core.data_service import create_data_service_app
from core.provider import gateway_guard
from registries.business.catalogue import catalogue
from registries.business.endpoints import router
from registries.business.models import Base
from registries.business.settings import BusinessSettings

TITLE = "National Business Registration Database (BTC)"

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
    """Build the app for ``settings`` (read from ``BUSINESS_*`` env vars when omitted).

    Unless ``require_gateway`` is off, the app answers only the gateway and signs every
    answer (``core.provider``), with the CA, CRL and member key under ``settings.pki``.
    """
    settings = settings or BusinessSettings()
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
