"""Settings of the land registry (env prefix ``LAND_``)."""

from __future__ import annotations

from typing import ClassVar

from core.provider import ProviderSettings
from core.settings import service_config


class LandSettings(ProviderSettings):
    """Where the National Land Database service listens and keeps its data."""

    model_config = service_config("LAND_")

    service_name: ClassVar[str] = "land"

    port: int = 9103
    #: The registry's X-Road subsystem id (its member certificate and signing key).
    member_id: str = "VN/GOV/BNNMT/land"
