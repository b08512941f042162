"""The catalogue: every service of every provider, as the providers describe themselves.

Each registry serves ``GET /catalogue`` (services, operations, fields, where the data subject
is) and ``GET /openapi.json``; the gateway pulls both over mTLS at start-up and keeps trying
for providers that are not up yet (a query to a provider whose catalogue is unknown gets
``server.provider_unavailable``). ``Catalogue.match`` maps a request onto one operation.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from core.catalogue import Catalogue as ProviderCatalogue
from core.catalogue import Operation
from core.ids.xroad import ClientId, ServiceId, parse_client_id
from gateway.errors import (
    OperationMethodNotAllowed,
    OperationUnknown,
    ProviderUnavailable,
    ServiceUnknown,
)


@dataclass(frozen=True)
class CompiledOperation:
    service: ServiceId
    operation: Operation

    @property
    def method(self) -> str:
        return self.operation.method

    @property
    def path(self) -> str:
        return self.operation.path

    @property
    def fields(self) -> tuple[str, ...]:
        return tuple(self.operation.fields)

    def subject(self, params: dict[str, str], body: Any) -> str | None:
        """The data subject's personal id in this request, if the operation names one."""
        where = self.operation.subject
        if not where:
            return None
        kind, _, name = where.partition(":")
        if kind == "path":
            return params.get(name)
        if kind == "body" and isinstance(body, dict):
            value = body.get(name)
            return value if isinstance(value, str) else None
        return None


@dataclass
class ProviderEntry:
    provider: ClientId
    url: str
    catalogue: ProviderCatalogue | None = None
    openapi: dict[str, Any] | None = None
    loaded_at: float | None = None  # event-loop time of the last successful fetch


@dataclass
class Catalogue:
    """Every loaded provider's services, indexed for matching."""

    providers: dict[ClientId, ProviderEntry] = field(default_factory=dict)
    _services: dict[ServiceId, list[CompiledOperation]] = field(default_factory=dict)

    @classmethod
    def of(cls, urls: dict[str, str]) -> Catalogue:
        cat = cls()
        for provider, url in urls.items():
            pid = parse_client_id(provider)
            cat.providers[pid] = ProviderEntry(pid, url.rstrip("/"))
        return cat

    def install(self, catalogue: ProviderCatalogue, openapi: dict[str, Any] | None = None) -> None:
        """Install (or replace) one provider's self-description."""
        provider = parse_client_id(catalogue.provider)
        entry = self.providers.get(provider)
        if entry is None:
            raise ValueError(f"{provider} is not a configured provider")
        entry.catalogue, entry.openapi = catalogue, openapi
        for sid in [s for s in self._services if s.client == provider]:
            del self._services[sid]
        for svc in catalogue.services:
            sid = provider.service(svc.code)
            self._services[sid] = [CompiledOperation(sid, op) for op in svc.operations]

    def missing(self) -> list[ProviderEntry]:
        return [e for e in self.providers.values() if e.catalogue is None]

    def services(self) -> Iterable[tuple[ServiceId, list[CompiledOperation]]]:
        return self._services.items()

    def operations(self, service: ServiceId) -> list[CompiledOperation]:
        return self._services.get(service, [])

    def match(
        self, service: ServiceId, method: str, rest: str
    ) -> tuple[CompiledOperation, dict[str, str]]:
        """The operation of ``service`` that ``method rest`` addresses, with its path params."""
        ops = self._services.get(service)
        if ops is None:
            entry = self.providers.get(service.client)
            if entry is not None and entry.catalogue is None:
                raise ProviderUnavailable(
                    f"{service.client} has not described its services yet",
                    detail={"provider": str(service.client)},
                )
            raise ServiceUnknown(f"no service {service}", detail={"service": str(service)})
        allowed: list[str] = []
        for op in ops:
            params = op.operation.match_path(rest)
            if params is None:
                continue
            if op.method == method:
                return op, params
            allowed.append(op.method)
        if allowed:
            raise OperationMethodNotAllowed(
                f"{method} is not allowed here; allowed: {', '.join(sorted(set(allowed)))}",
                headers={"Allow": ", ".join(sorted(set(allowed)))},
            )
        raise OperationUnknown(
            f"{service} has no operation at this path", detail={"service": str(service)}
        )

    def describe(self, provider: ClientId) -> list[dict[str, Any]]:
        """``listMethods``: the provider's services and their operations."""
        out = []
        for sid, ops in self._services.items():
            if sid.client != provider:
                continue
            out.append(
                {
                    "service": str(sid),
                    "service_code": sid.service_code,
                    "operations": [
                        {"method": o.method, "path": o.path, "fields": list(o.fields)} for o in ops
                    ],
                }
            )
        return out
