"""Settings base: one pydantic-settings class per service, each with its own env prefix.

A service declares ``class PopulationSettings(ServiceSettings)`` with
``model_config = service_config("POPULATION_")``; every field can then be set as
``POPULATION_<FIELD>`` in the environment (or a ``.env`` file). Settings are never built at
import time: ``create_app(settings)`` takes them, so tests pass their own.
"""

from __future__ import annotations

from pathlib import Path
from typing import ClassVar, Literal

from pydantic import Field, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict
from sqlalchemy import URL

#: Where the local stack keeps databases, keys and certificates (git-ignored).
DEFAULT_VAR_DIR = Path("var")

Environment = Literal["dev", "test", "prod"]


def service_config(env_prefix: str) -> SettingsConfigDict:
    """The pydantic-settings config every service uses, with its own prefix."""
    return SettingsConfigDict(
        env_prefix=env_prefix,
        env_file=".env",
        env_file_encoding="utf-8",
        extra="ignore",
        frozen=True,
    )


class ServiceSettings(BaseSettings):
    """What every lienthong HTTP service has: where it listens, its database, its logs."""

    model_config = service_config("LIENTHONG_")

    #: Short name, used for the default database file and in logs and metrics.
    service_name: ClassVar[str] = "service"

    environment: Environment = "dev"
    host: str = "127.0.0.1"
    port: int = Field(default=0, ge=0, le=65535)
    database_url: str = ""
    var_dir: Path = DEFAULT_VAR_DIR
    log_level: str = "info"
    #: Log one JSON line per request (off in tests to keep output readable).
    access_log: bool = True
    #: Where the CA certificate, the CRL and this service's keys live (default ``var/pki``).
    pki_dir: Path | None = None
    #: Serve HTTPS with client certificates (``lienthong serve``); tests drive apps in-process.
    tls: bool = True

    @property
    def pki(self) -> Path:
        """The PKI directory: ``pki_dir`` if set, else ``<var_dir>/pki``."""
        return self.pki_dir if self.pki_dir is not None else self.var_dir / "pki"

    @field_validator("port")
    @classmethod
    def _port_in_range(cls, port: int) -> int:
        # A validator, not only Field bounds: services redeclare ``port`` with their default.
        if not 0 <= port <= 65535:
            raise ValueError(f"port {port} is out of range 0-65535")
        return port

    @property
    def db_url(self) -> str:
        """``database_url`` if set, else a SQLite file ``var/db/<service>.sqlite3``."""
        if self.database_url:
            return self.database_url
        # Built, not formatted: a folder named "q?x=1" or "a%41" must stay that folder.
        path = self.var_dir / "db" / f"{self.service_name}.sqlite3"
        return URL.create("sqlite", database=str(path)).render_as_string(hide_password=False)
