"""The kit of a database-backed data-owner service (each registry is one).

``create_data_service_app`` wires a service's settings, tables and router into the app of
``core.http``: an engine for ``settings.db_url`` (tables created), a session factory on
``app.state``, readiness that pings the database, the engine disposed on shutdown, and —
given a ``core.provider.GatewayGuard`` — the guard that lets only the gateway in and signs
every answer.
Endpoints take a request-scoped session as ``SessionDep`` and describe their ``fields=``
parameter with ``fields_query``, so the three registries stay alike.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from typing import Annotated, Any

from fastapi import APIRouter, Depends, FastAPI, Path, Query, Request
from sqlalchemy import MetaData
from sqlalchemy.orm import Session

from core.db import FastReader, make_engine, ping, session_factory, sqlite_path
from core.http import create_service_app
from core.provider import GatewayGuard
from core.settings import ServiceSettings


def create_data_service_app(
    settings: ServiceSettings,
    *,
    title: str,
    description: str,
    metadata: MetaData,
    router: APIRouter,
    openapi_tags: Sequence[dict[str, Any]] = (),
    guard: GatewayGuard | None = None,
) -> FastAPI:
    """The app of one data-owner service, its database ready for ``router``'s endpoints;
    behind ``guard`` when one is given (``core.provider.gateway_guard(settings)``)."""
    engine = make_engine(settings.db_url)
    metadata.create_all(engine)
    # Disposing an in-memory SQLite engine drops its database: keep it for the app's life.
    in_memory = engine.dialect.name == "sqlite" and sqlite_path(settings.db_url) is None

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        yield
        if not in_memory:
            engine.dispose()

    app = create_service_app(
        service=settings.service_name,
        title=title,
        description=description,
        readiness=[lambda: ping(engine)],
        access_log=settings.access_log,
        openapi_tags=list(openapi_tags),
        lifespan=lifespan,
    )
    app.state.settings = settings
    app.state.engine = engine
    app.state.session_factory = session_factory(engine)
    app.state.reader = FastReader(engine)
    app.include_router(router)
    if guard is not None:
        guard.install(app, logger=logging.getLogger(f"lienthong.{settings.service_name}"))
    return app


async def get_session(request: Request) -> AsyncIterator[Session]:
    """A database session for one request (read-only work: nothing to commit)."""
    with request.app.state.session_factory() as session:
        yield session


SessionDep = Annotated[Session, Depends(get_session)]


def fast_reader(request: Request) -> FastReader:
    """The app's ``FastReader``: hot reads run on the event loop, without an ORM session,
    a dependency or a thread hop (an indexed SQLite read takes less time than handing it
    to a thread; ADR 0008)."""
    reader: FastReader = request.app.state.reader
    return reader


#: ``fields=`` as received: repeated parameters (``fields=a&fields=b``) are all kept, so
#: none is silently dropped; ``core.fields.parse_fields`` joins them.
FieldsParam = list[str] | None


def fields_query(what: str, names: Sequence[str]) -> Any:
    """The ``fields=`` query parameter, documented with the names it accepts."""
    return Query(
        description=f"Comma-separated {what} to return (default: all): {', '.join(names)}. "
        "May be repeated; the lists are joined."
    )


#: A personal id in a path, as every registry documents it (validated by ``core.ids``).
PersonalIdPath = Annotated[
    str,
    Path(
        description="12-digit personal identification number (số định danh cá nhân)",
        examples=["001085012345"],
    ),
]
