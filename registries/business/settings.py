"""Settings of the business registry (env prefix ``BUSINESS_``)."""

from __future__ import annotations

from typing import ClassVar

from core.provider import ProviderSettings
from core.settings import service_config


class BusinessSettings(ProviderSettings):
    """Where the National Business Registration Database service listens and keeps data."""

    model_config = service_config("BUSINESS_")

    service_name: ClassVar[str] = "business"

    port: int = 9102
    #: The registry's X-Road subsystem id (its member certificate and signing key).
    member_id: str = "VN/GOV/BTC/business"
