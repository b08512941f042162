"""Settings of the business registry (env prefix ``BUSINESS_``)."""

from __future__ import annotations

from typing import ClassVar

from core.settings import ServiceSettings, service_config


class BusinessSettings(ServiceSettings):
    """Where the National Business Registration Database service listens and keeps data."""

    model_config = service_config("BUSINESS_")

    service_name: ClassVar[str] = "business"

    port: int = 9102
