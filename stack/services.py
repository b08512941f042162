"""The services of the local stack: names, ports, env prefixes, where their code lives.

One table, read by ``lienthong serve``, ``lienthong up``, the README's configuration table
and the docker-compose test, so they cannot drift apart. Later parts (gateway, TSA, citizen
identity) add their row here.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from fastapi import FastAPI

from core.settings import ServiceSettings


@dataclass(frozen=True)
class ServiceSpec:
    name: str
    title: str
    env_prefix: str
    default_port: int
    settings_class: str  # "module:Class"
    app_factory: str  # "module:function", called as factory(settings) -> FastAPI

    def settings(self, **overrides: Any) -> ServiceSettings:
        cls = _load(self.settings_class)
        settings: ServiceSettings = cls(**overrides)
        return settings

    def create_app(self, settings: ServiceSettings) -> FastAPI:
        factory: Callable[[ServiceSettings], FastAPI] = _load(self.app_factory)
        return factory(settings)


def _load(path: str) -> Any:
    module, _, attr = path.partition(":")
    return getattr(importlib.import_module(module), attr)


SERVICES: dict[str, ServiceSpec] = {
    spec.name: spec
    for spec in (
        ServiceSpec(
            name="population",
            title="National Population Database (BCA)",
            env_prefix="POPULATION_",
            default_port=9101,
            settings_class="registries.population.settings:PopulationSettings",
            app_factory="registries.population.app:create_app",
        ),
        ServiceSpec(
            name="business",
            title="National Business Registration Database (BTC)",
            env_prefix="BUSINESS_",
            default_port=9102,
            settings_class="registries.business.settings:BusinessSettings",
            app_factory="registries.business.app:create_app",
        ),
        ServiceSpec(
            name="land",
            title="National Land Database (BNNMT)",
            env_prefix="LAND_",
            default_port=9103,
            settings_class="registries.land.settings:LandSettings",
            app_factory="registries.land.app:create_app",
        ),
    )
}
