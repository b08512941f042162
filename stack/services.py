"""The services of the local stack: names, ports, env prefixes, where their code lives.

One table, read by ``lienthong serve``, ``lienthong up``, the README's configuration table
and the docker-compose test, so they cannot drift apart. Every service is served over TLS
with its server certificate from ``var/pki/servers/``; ``client_certs`` says whether callers
need a member certificate.
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
    #: Whether callers must present a member certificate (mTLS). Citizens' services don't.
    client_certs: bool = True
    #: A second, server-TLS-only listener (its port setting), e.g. the gateway's citizens'.
    public_port_setting: str | None = None
    #: Whether the service keeps a database (``<PREFIX>DATABASE_URL``, ``var/db/<name>.sqlite3``).
    has_database: bool = True

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
            name="gateway",
            title="Security gateway (members: mTLS; citizens: second port)",
            env_prefix="GATEWAY_",
            default_port=8443,
            settings_class="gateway.settings:GatewaySettings",
            app_factory="gateway.app:create_app",
            public_port_setting="public_port",
        ),
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
        ServiceSpec(
            name="citizen-id",
            title="Citizen identity (development stand-in for VNeID)",
            env_prefix="CITIZEN_ID_",
            default_port=9110,
            settings_class="stack.citizen_id.settings:CitizenIdSettings",
            app_factory="stack.citizen_id.app:create_app",
            client_certs=False,
            has_database=False,
        ),
        ServiceSpec(
            name="tsa",
            title="Time-stamping authority (RFC 3161, development)",
            env_prefix="TSA_",
            default_port=9120,
            settings_class="stack.tsa.settings:TsaSettings",
            app_factory="stack.tsa.app:create_app",
            client_certs=False,
            has_database=False,
        ),
    )
}
