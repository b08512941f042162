"""Settings of the land registry (env prefix ``LAND_``)."""

from __future__ import annotations

from typing import ClassVar

from core.settings import ServiceSettings, service_config


class LandSettings(ServiceSettings):
    """Where the National Land Database service listens and keeps its data."""

    model_config = service_config("LAND_")

    service_name: ClassVar[str] = "land"

    port: int = 9103
