"""A provider's catalogue: the services it offers, as the gateway needs to know them.

Each registry describes itself (``registries/<name>/catalogue.py``) and serves the
description at ``GET /catalogue`` (gateway-only, like everything on a registry); the gateway
loads it to match queries onto operations, to know which fields an operation can return and
where they sit in its answer, where the data subject's personal id is, and whether the
operation touches personal data at all::

    {"provider": "VN/GOV/BCA/population",
     "services": [
      {"code": "persons", "title": {"vi": "...", "en": "..."},
       "operations": [
         {"method": "GET", "path": "/{personal_id}", "summary": "...",
          "fields": ["full_name", ...], "fields_at": "",
          "subject": "path:personal_id", "personal_data": true}]}]}

- ``path`` is relative to the service: the registry's route is ``/{code}{path}``.
- ``fields`` are the names ``fields=`` accepts; ``fields_at`` is where they are keys in the
  answer: ``""`` the top-level object, ``"members"`` each object of ``body["members"]``,
  ``"roles.business"`` ``body["roles"][i]["business"]`` (lists are walked implicitly);
  ``None`` exactly when ``fields`` is empty (the operation selects nothing).
- ``subject`` says where the data subject's personal id is: ``path:<param>``,
  ``body:<json key>``, or ``None`` when the request names no person.

``/catalogue`` is left out of the registry's OpenAPI: that document is what the gateway hands
consumers (``getOpenAPI``), and consumers can never reach ``/catalogue`` — it is not a service
but the registry's word to the gateway. The shape is documented here and by
``Catalogue.model_json_schema()``.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from functools import cache
from typing import Literal, get_args

from fastapi import APIRouter, FastAPI
from fastapi.openapi.utils import get_openapi
from fastapi.responses import Response
from fastapi.routing import APIRoute
from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from core.errors import InvalidIdentifier
from core.ids.xroad import SEGMENT_PATTERN, ServiceId, parse_client_id

Method = Literal["GET", "POST", "PUT", "PATCH", "DELETE"]
_METHODS: frozenset[str] = frozenset(get_args(Method))

_PARAM = re.compile(r"\{([A-Za-z_][A-Za-z0-9_]*)\}")
_FIELD = r"[a-z][a-z0-9_]*"
_FIELDS_AT = re.compile(rf"^({_FIELD}(\.{_FIELD})*)?$")
_SUBJECT = re.compile(r"^(path|body):([A-Za-z_][A-Za-z0-9_]*)$")
_PATH = re.compile(r"^(/([A-Za-z0-9._~-]+|\{[A-Za-z_][A-Za-z0-9_]*\}))*$")


class Title(BaseModel):
    """A name in Vietnamese and English."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    vi: str = Field(min_length=1)
    en: str = Field(min_length=1)


class Operation(BaseModel):
    """One method on one path template of a service."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    method: Method
    path: str = Field(description="Relative to the service; {name} is a path parameter")
    summary: str = Field(min_length=1)
    fields: tuple[str, ...] = Field(description="The names fields= accepts; empty: no selection")
    fields_at: str | None = Field(
        description='Where the fields are keys in the answer: "" top level, "a.b" nested'
    )
    subject: str | None = Field(
        description="Where the data subject's personal id is: path:<param> or body:<key>"
    )
    personal_data: bool = Field(description="Whether a query or its answer is about a person")

    @field_validator("path")
    @classmethod
    def _a_path_template(cls, path: str) -> str:
        if not _PATH.fullmatch(path):
            raise ValueError(
                f"path {path!r} must be '' or /segments, each literal or a {{parameter}}"
            )
        return path

    @field_validator("fields")
    @classmethod
    def _distinct_names(cls, fields: tuple[str, ...]) -> tuple[str, ...]:
        bad = [f for f in fields if not re.fullmatch(_FIELD, f)]
        if bad:
            raise ValueError(f"field names must be snake_case: {', '.join(bad)}")
        if len(set(fields)) != len(fields):
            raise ValueError("a field is listed twice")
        return fields

    @model_validator(mode="after")
    def _consistent(self) -> Operation:
        if (self.fields_at is None) != (not self.fields):
            raise ValueError("fields_at is null exactly when the operation has no fields")
        if self.fields_at is not None and not _FIELDS_AT.fullmatch(self.fields_at):
            raise ValueError(f"fields_at {self.fields_at!r} must be '' or dotted keys")
        if self.subject is not None:
            where = _SUBJECT.fullmatch(self.subject)
            if where is None:
                raise ValueError(f"subject {self.subject!r} must be path:<param> or body:<key>")
            if where[1] == "path" and where[2] not in self.path_params:
                raise ValueError(f"subject {self.subject!r} names no parameter of {self.path}")
            if where[1] == "body" and self.method == "GET":
                raise ValueError("a GET has no body to hold the subject")
        return self

    @property
    def path_params(self) -> tuple[str, ...]:
        return tuple(_PARAM.findall(self.path))

    def match(self, method: str, path: str) -> dict[str, str] | None:
        """The path parameters if ``method path`` (relative to the service) is this
        operation, else None. A parameter is one non-empty segment."""
        return self.match_path(path) if method == self.method else None

    def match_path(self, path: str) -> dict[str, str] | None:
        """The path parameters if ``path`` (relative to the service) is this operation's."""
        found = _compiled(self.path).fullmatch(path)
        return None if found is None else found.groupdict()


@cache
def _compiled(template: str) -> re.Pattern[str]:
    out, pos = [], 0
    for m in _PARAM.finditer(template):
        out.append(re.escape(template[pos : m.start()]))
        out.append(f"(?P<{m[1]}>[^/]+)")
        pos = m.end()
    out.append(re.escape(template[pos:]))
    return re.compile("".join(out))


class CatalogueService(BaseModel):
    """A service of the provider: a code (the first segment of its routes) and operations."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    code: str = Field(pattern=f"^{SEGMENT_PATTERN}$")
    title: Title
    operations: tuple[Operation, ...] = Field(min_length=1)

    @model_validator(mode="after")
    def _one_operation_per_method_and_path(self) -> CatalogueService:
        seen = [(op.method, _PARAM.sub("{}", op.path)) for op in self.operations]
        if len(set(seen)) != len(seen):
            raise ValueError(f"service {self.code}: two operations share a method and path")
        return self


def service(code: str, title: Title, *operations: Operation) -> CatalogueService:
    """A service with its operations (the shorthand registries describe themselves with,
    with ``read`` and ``check``)."""
    return CatalogueService(code=code, title=title, operations=operations)


def read(
    path: str,
    summary: str,
    *,
    fields: Iterable[str],
    fields_at: str = "",
    subject: str | None,
    personal_data: bool = True,
) -> Operation:
    """A ``GET`` that answers a record whose ``fields`` (keys at ``fields_at``) a query
    may select."""
    return Operation(
        method="GET",
        path=path,
        summary=summary,
        fields=tuple(fields),
        fields_at=fields_at,
        subject=subject,
        personal_data=personal_data,
    )


def check(path: str, summary: str, *, subject: str | None, personal_data: bool = True) -> Operation:
    """A ``POST`` that verifies facts named in its body and selects no fields."""
    return Operation(
        method="POST",
        path=path,
        summary=summary,
        fields=(),
        fields_at=None,
        subject=subject,
        personal_data=personal_data,
    )


class Catalogue(BaseModel):
    """Everything a provider offers through the gateway."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    provider: str = Field(description="The provider's X-Road subsystem id")
    services: tuple[CatalogueService, ...] = Field(min_length=1)

    @field_validator("provider")
    @classmethod
    def _a_client_id(cls, provider: str) -> str:
        try:
            return str(parse_client_id(provider))
        except InvalidIdentifier as e:
            raise ValueError(e.message) from e

    @model_validator(mode="after")
    def _distinct_codes(self) -> Catalogue:
        codes = [s.code for s in self.services]
        if len(set(codes)) != len(codes):
            raise ValueError("two services share a code")
        for code in codes:  # every code must make a valid service id
            try:
                ServiceId(parse_client_id(self.provider), code)
            except InvalidIdentifier as e:
                raise ValueError(e.message) from e
        return self

    def service(self, code: str) -> CatalogueService | None:
        return next((s for s in self.services if s.code == code), None)

    def operation(self, code: str, method: str, path: str) -> Operation | None:
        """The operation ``method path`` (relative to service ``code``) addresses, if any."""
        service = self.service(code)
        if service is None:
            return None
        return next((op for op in service.operations if op.match(method, path) is not None), None)


# -- on a registry ---------------------------------------------------------------------------

#: Documented routes of every service app that are not data operations (``core.http``).
NOT_OPERATIONS: frozenset[str] = frozenset({"/healthz", "/readyz", "/metrics", "/catalogue"})


@dataclass(frozen=True)
class RouteShape:
    """What the catalogue must agree with about one route: method, path, ``fields=``."""

    method: str
    path: str
    takes_fields: bool


def router_routes(router: APIRouter) -> list[RouteShape]:
    """The documented routes of a registry's router (its data operations)."""
    return [
        RouteShape(
            method, route.path, any(q.name == "fields" for q in route.dependant.query_params)
        )
        for route in router.routes
        if isinstance(route, APIRoute) and route.include_in_schema
        for method in sorted(route.methods or ())
        if method in _METHODS
    ]


def documented_routes(app: FastAPI) -> list[RouteShape]:
    """The data routes of a whole app, read from its OpenAPI document (built afresh).

    Slower than ``router_routes`` (it renders the document): for tests, which check the
    catalogue against what the gateway hands consumers.
    """
    schema = get_openapi(title=app.title, version=app.version, routes=app.routes)
    return [
        RouteShape(
            method.upper(),
            path,
            any(
                p.get("name") == "fields" and p.get("in") == "query"
                for p in operation.get("parameters", [])
            ),
        )
        for path, item in schema.get("paths", {}).items()
        if path not in NOT_OPERATIONS
        for method, operation in item.items()
        if method.upper() in _METHODS
    ]


def catalogue_problems(routes: Iterable[RouteShape], catalogue: Catalogue) -> list[str]:
    """Where ``catalogue`` and ``routes`` disagree (empty when they agree): an operation
    without its route, a route without its operation, ``fields=`` on one side only."""
    by_key = {(r.method, r.path): r for r in routes}
    problems: list[str] = []
    for service in catalogue.services:
        for op in service.operations:
            key = (op.method, f"/{service.code}{op.path}")
            route = by_key.pop(key, None)
            if route is None:
                problems.append(f"{key[0]} {key[1]} is in the catalogue but not a route")
            elif route.takes_fields != bool(op.fields):
                problems.append(
                    f"{key[0]} {key[1]}: the route "
                    f"{'takes' if route.takes_fields else 'has no'} fields= but the catalogue "
                    f"lists {len(op.fields)} fields"
                )
    problems += [f"{m} {p} is a route but not in the catalogue" for m, p in by_key]
    return problems


def install_catalogue(app: FastAPI, catalogue: Catalogue, *, router: APIRouter) -> None:
    """Serve ``catalogue`` at ``GET /catalogue``, refusing one that disagrees with the data
    routes of ``router`` (the registry's router, included in ``app``). The JSON is rendered
    once."""
    problems = catalogue_problems(router_routes(router), catalogue)
    if problems:
        raise ValueError("the catalogue does not match the routes: " + "; ".join(problems))
    body = catalogue.model_dump_json().encode()

    @app.get("/catalogue", include_in_schema=False)
    async def get_catalogue() -> Response:
        return Response(body, media_type="application/json")

    app.state.catalogue = catalogue
