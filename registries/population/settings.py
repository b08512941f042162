"""Settings of the population registry (env prefix ``POPULATION_``)."""

from __future__ import annotations

from typing import ClassVar

from core.settings import ServiceSettings, service_config


class PopulationSettings(ServiceSettings):
    """Where the National Population Database service listens and keeps its data."""

    model_config = service_config("POPULATION_")

    service_name: ClassVar[str] = "population"

    port: int = 9101
