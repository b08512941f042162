"""Settings of the population registry (env prefix ``POPULATION_``)."""

from __future__ import annotations

from typing import ClassVar

from core.provider import ProviderSettings
from core.settings import service_config


class PopulationSettings(ProviderSettings):
    """Where the National Population Database service listens and keeps its data."""

    model_config = service_config("POPULATION_")

    service_name: ClassVar[str] = "population"

    port: int = 9101
    #: The registry's X-Road subsystem id (its member certificate and signing key).
    member_id: str = "VN/GOV/BCA/population"
