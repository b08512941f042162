"""core.settings: env prefixes per service, defaults under var/, frozen settings."""

from __future__ import annotations

from pathlib import Path
from typing import ClassVar

import pytest
from pydantic import ValidationError
from sqlalchemy.engine import make_url

from core.settings import ServiceSettings, service_config


class DemoSettings(ServiceSettings):
    model_config = service_config("DEMO_")
    service_name: ClassVar[str] = "demo"
    port: int = 9999


def test_env_prefix_sets_fields(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DEMO_PORT", "9123")
    monkeypatch.setenv("DEMO_VAR_DIR", "/srv/lienthong")
    monkeypatch.setenv("OTHER_PORT", "1")
    settings = DemoSettings()
    assert settings.port == 9123
    assert settings.var_dir == Path("/srv/lienthong")


def test_default_database_is_a_sqlite_file_named_after_the_service() -> None:
    settings = DemoSettings(var_dir=Path("somewhere"))
    assert settings.db_url == "sqlite:///somewhere/db/demo.sqlite3"


def test_a_var_dir_with_url_characters_keeps_its_own_file() -> None:
    for odd in ("q?x=1", "pct%41x", "with space#1"):
        url = DemoSettings(var_dir=Path("/tmp") / odd).db_url
        assert make_url(url).database == f"/tmp/{odd}/db/demo.sqlite3"


def test_database_url_overrides_the_default() -> None:
    url = "postgresql+psycopg://u@127.0.0.1:5432/demo"
    assert DemoSettings(database_url=url).db_url == url


def test_port_out_of_range_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DEMO_PORT", "70000")
    with pytest.raises(ValidationError):
        DemoSettings()


def test_settings_are_frozen() -> None:
    settings = DemoSettings()
    with pytest.raises(ValidationError):
        settings.port = 1
