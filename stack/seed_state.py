"""What "this database is seeded" means: a completion row written when its seed finished.

A seed writes rows table by table; stopped half-way (a signal, a crash, a full disk) it
leaves a database that holds rows and is not a seeded world. So the last thing written
to each database, after its rows and indexes, is the single row of ``lienthong_seed``:
the seed, the person count, the time (UTC). A database is seeded exactly when that row
exists, and the row says which world it belongs to, so a registry rebuilt next to kept
ones is rebuilt from the same seed and people.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TypeVar

from sqlalchemy import Column, Engine, Integer, MetaData, String, Table, inspect
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DBAPIError

from core.db import make_engine, sqlite_path


class SeedError(Exception):
    """A refusal or an unreadable database: one line, exit code 1."""


#: One row, written last: its presence is what "this database is seeded" means.
SEED_TABLE = Table(
    "lienthong_seed",
    MetaData(),
    Column("seed", Integer, nullable=False),
    Column("persons", Integer, nullable=False),
    Column("finished_at", String(40), nullable=False),  # ISO 8601, UTC
)


@dataclass(frozen=True)
class Stamp:
    """What a finished seed recorded in its database."""

    seed: int
    persons: int
    finished_at: str


def seed_stamp(url: str) -> Stamp | None:
    """The completion record of the database at ``url``; None when no seed finished there."""
    path = sqlite_path(url)
    if path is not None and not path.exists():
        return None
    engine = make_engine(url)
    try:
        with engine.connect() as conn:
            if not inspect(conn).has_table(SEED_TABLE.name):
                return None
            row = conn.execute(SEED_TABLE.select().limit(1)).first()
    finally:
        engine.dispose()
    return None if row is None else Stamp(int(row.seed), int(row.persons), str(row.finished_at))


def stamp_seeded(engine: Engine, *, seed: int, persons: int) -> None:
    """Record that the seed of this database finished (call after rows and indexes)."""
    finished = datetime.now(UTC).isoformat(timespec="seconds")
    with engine.begin() as conn:
        SEED_TABLE.create(conn, checkfirst=True)
        conn.execute(SEED_TABLE.delete())
        conn.execute(
            SEED_TABLE.insert(), {"seed": seed, "persons": persons, "finished_at": finished}
        )


T = TypeVar("T")


def read_database(name: str, url: str, read: Callable[[str], T]) -> T:
    """``read(url)``; a database that cannot be read becomes a ``SeedError`` naming it."""
    try:
        return read(url)
    except DBAPIError as e:
        path = sqlite_path(url)
        where = str(path) if path else make_url(url).render_as_string(hide_password=True)
        raise SeedError(
            f"cannot read the {name} database {where}: {e.orig}; "
            "run `lienthong seed --force` to replace it"
        ) from e
