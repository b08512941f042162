"""What the stack's key-holding stand-ins (citizen identity, TSA) share.

Each reads its key and certificate when the app starts (its lifespan), not when it is
built, keeps it in ``app.state``, and reads the time from an injectable clock kept in
``app.state.clock`` (tests pass their own).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from typing import Annotated, TypeVar, cast

from fastapi import Depends, FastAPI, Request

T = TypeVar("T")

Clock = Callable[[], dt.datetime]


def utc_now() -> dt.datetime:
    """The host's clock, the default of every stand-in."""
    return dt.datetime.now(dt.UTC)


def load_at_start(
    name: str, load: Callable[[], object]
) -> Callable[[FastAPI], AbstractAsyncContextManager[None]]:
    """A lifespan that puts ``load()`` in ``app.state.<name>`` when the app starts."""

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        setattr(app.state, name, load())
        yield

    return lifespan


def loaded(name: str, kind: type[T], *, missing: str) -> Callable[[Request], T]:
    """A dependency giving ``app.state.<name>`` (a ``kind``), loaded by ``load_at_start``;
    ``RuntimeError(missing)`` if the app has not started."""

    def dependency(request: Request) -> T:
        value = getattr(request.app.state, name, None)
        if value is None:
            raise RuntimeError(missing)
        return cast(T, value)

    dependency.__name__ = f"_{name}"
    return dependency


def _now(request: Request) -> dt.datetime:
    clock: Clock = request.app.state.clock
    return clock()


#: The app clock's time for one request.
NowDep = Annotated[dt.datetime, Depends(_now)]
