"""core.data_service: the app of a database-backed service, across its lifespans."""

from __future__ import annotations

from pathlib import Path
from typing import ClassVar

import httpx
import pytest
from fastapi import APIRouter, FastAPI
from sqlalchemy import Column, Integer, MetaData, Table, func, insert, select

from core.data_service import SessionDep, create_data_service_app
from core.settings import ServiceSettings, service_config

metadata = MetaData()
counter = Table("counter", metadata, Column("id", Integer, primary_key=True))
router = APIRouter()


@router.post("/count")
def count(session: SessionDep) -> dict[str, int]:
    session.execute(insert(counter))
    session.commit()
    return {"rows": session.scalar(select(func.count()).select_from(counter)) or 0}


class DemoSettings(ServiceSettings):
    model_config = service_config("DEMO_")
    service_name: ClassVar[str] = "demo"


def _app(url: str) -> FastAPI:
    settings = DemoSettings(database_url=url, access_log=False)
    return create_data_service_app(
        settings, title="Demo", description="d", metadata=metadata, router=router
    )


async def _one_lifespan(app: FastAPI) -> tuple[int, int]:
    """Start the app, count once, check readiness, shut it down."""
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://t") as c:
            rows = (await c.post("/count")).json()["rows"]
            ready = (await c.get("/readyz")).status_code
    return rows, ready


@pytest.mark.anyio
async def test_an_in_memory_database_outlives_a_restart_of_the_app() -> None:
    app = _app("sqlite://")
    assert await _one_lifespan(app) == (1, 200)
    assert await _one_lifespan(app) == (2, 200)  # tables and rows survived the shutdown


@pytest.mark.anyio
async def test_a_file_database_is_released_on_shutdown_and_reopened(tmp_path: Path) -> None:
    app = _app(f"sqlite:///{tmp_path / 'demo.sqlite3'}")
    assert await _one_lifespan(app) == (1, 200)
    assert await _one_lifespan(app) == (2, 200)
