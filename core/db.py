"""Database plumbing shared by every service: engines, sessions, bulk loads.

SQLite files under ``var/db`` by default, PostgreSQL by URL (``postgresql+psycopg://...``);
the same code runs on both. SQLite is opened in WAL mode with foreign keys on.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, MetaData, Table, create_engine, event, insert, inspect, text
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session, sessionmaker
from sqlalchemy.pool import StaticPool


def make_engine(url: str, *, synchronous: str = "NORMAL", echo: bool = False) -> Engine:
    """An engine for ``url``; SQLite gets WAL, foreign keys, and its parent folder created.

    ``sqlite://`` (no path) is an in-memory database shared by every connection of the
    engine, which is what in-process tests want.
    """
    parsed = make_url(url)
    # Bound parameters are personal ids: never let them into exception text and logs.
    if parsed.get_backend_name() != "sqlite":
        return create_engine(
            url,
            echo=echo,
            hide_parameters=True,
            pool_pre_ping=True,
            pool_size=10,
            max_overflow=20,
        )

    database = parsed.database
    kwargs: dict[str, Any] = {
        "echo": echo,
        "hide_parameters": True,
        "connect_args": {"check_same_thread": False},
    }
    if not database or database == ":memory:":
        kwargs["poolclass"] = StaticPool
    else:
        Path(database).parent.mkdir(parents=True, exist_ok=True)
    engine = create_engine(url, **kwargs)

    @event.listens_for(engine, "connect")
    def _sqlite_pragmas(dbapi_conn: Any, _record: Any) -> None:
        cur = dbapi_conn.cursor()
        if database and database != ":memory:":
            cur.execute("PRAGMA journal_mode=WAL")
        cur.execute(f"PRAGMA synchronous={synchronous}")
        cur.execute("PRAGMA foreign_keys=ON")
        cur.execute("PRAGMA busy_timeout=5000")
        cur.close()

    return engine


def session_factory(engine: Engine) -> sessionmaker[Session]:
    return sessionmaker(engine, expire_on_commit=False, autoflush=False)


@contextmanager
def session_scope(factory: sessionmaker[Session]) -> Iterator[Session]:
    """A session that commits on success and rolls back on error."""
    session = factory()
    try:
        yield session
        session.commit()
    except BaseException:
        session.rollback()
        raise
    finally:
        session.close()


def ping(engine: Engine) -> None:
    """Raise if the database does not answer a trivial query (for ``/readyz``)."""
    with engine.connect() as conn:
        conn.execute(text("SELECT 1"))


def sqlite_path(url: str) -> Path | None:
    """The file of a SQLite URL; None for other databases and in-memory SQLite."""
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite" and parsed.database not in (None, "", ":memory:"):
        return Path(str(parsed.database))
    return None


def database_is_empty(url: str) -> bool:
    """True when the database does not exist, has no tables, or no table holds a row."""
    path = sqlite_path(url)
    if path is not None and not path.exists():
        return True
    engine = make_engine(url)
    try:
        with engine.connect() as conn:
            for name in inspect(conn).get_table_names():
                query = text(f'SELECT 1 FROM "{name}" LIMIT 1')  # noqa: S608 - reflected name
                if conn.execute(query).first() is not None:
                    return False
        return True
    finally:
        engine.dispose()


def reset_database(url: str) -> None:
    """Delete a SQLite file (and its WAL/SHM) or drop every table of another database."""
    path = sqlite_path(url)
    if path is not None:
        for suffix in ("", "-wal", "-shm", "-journal"):
            Path(f"{path}{suffix}").unlink(missing_ok=True)
        return
    engine = make_engine(url)
    try:
        meta = MetaData()
        meta.reflect(engine)
        meta.drop_all(engine)
    finally:
        engine.dispose()


def bulk_insert(
    engine: Engine,
    table: Table,
    rows: Iterable[Sequence[Any] | dict[str, Any]],
    *,
    batch: int = 20_000,
) -> int:
    """Insert many rows fast (executemany in batches, one transaction per batch).

    Rows may be dicts keyed by column name or tuples in the table's column order.
    Returns the number of rows inserted.
    """
    names = [c.name for c in table.columns]
    stmt = insert(table)
    total = 0
    buf: list[dict[str, Any]] = []
    with engine.begin() as conn:
        for row in rows:
            buf.append(row if isinstance(row, dict) else dict(zip(names, row, strict=True)))
            if len(buf) >= batch:
                conn.execute(stmt, buf)
                total += len(buf)
                buf = []
        if buf:
            conn.execute(stmt, buf)
            total += len(buf)
    return total


def create_all(engine: Engine, metadata: MetaData) -> None:
    metadata.create_all(engine)
