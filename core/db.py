"""Database plumbing shared by every service: engines, sessions, bulk loads.

SQLite files under ``var/db`` by default, PostgreSQL by URL (``postgresql+psycopg://...``);
the same code runs on both. SQLite is opened in WAL mode with foreign keys on.
"""

from __future__ import annotations

from collections import namedtuple
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import (
    Engine,
    MetaData,
    Select,
    Table,
    create_engine,
    event,
    insert,
    inspect,
    text,
)
from sqlalchemy.engine import make_url
from sqlalchemy.engine.interfaces import Compiled
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


# -- hot reads -------------------------------------------------------------------------------

#: Bound values a ``FastReader`` passes to the driver as they are (no type processing needed
#: by sqlite3 or psycopg for these).
_PLAIN_VALUES = (str, int, type(None))


@dataclass(frozen=True)
class _Prepared:
    statement: Select[Any]  # kept so the id() key stays this statement's
    sql: str
    compiled: Compiled
    positional: tuple[str, ...] | None
    row: type[tuple[Any, ...]]
    processors: tuple[Callable[[Any], Any] | None, ...]


class FastReader:
    """Runs a service's hot Core SELECTs straight on a pooled DB-API connection.

    ``Connection.execute`` spends ~50 µs per call building its execution context around a
    query SQLite answers in ~12 µs (ADR 0008). This keeps what matters of it: the SQL is
    SQLAlchemy's, compiled once per statement for the engine's dialect and paramstyle, and
    each column goes through its type's own result processor (a SQLite ``DATE`` comes back
    a ``date``), so rows read exactly as ``Connection.execute`` would return them, with the
    column names as attributes. Only plain bound values (str, int, None) are accepted.
    """

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self._prepared: dict[int, _Prepared] = {}

    def _prepare(self, statement: Select[Any]) -> _Prepared:
        dialect = self.engine.dialect
        compiled = statement.compile(dialect=dialect)
        names = [str(c.key) for c in statement.selected_columns]
        processors = tuple(
            c.type.dialect_impl(dialect).result_processor(dialect, None)
            for c in statement.selected_columns
        )
        prepared = _Prepared(
            statement=statement,
            sql=str(compiled),
            compiled=compiled,
            positional=tuple(compiled.positiontup or ()) if compiled.positional else None,
            row=namedtuple("Row", names, rename=True),
            processors=processors,
        )
        self._prepared[id(statement)] = prepared
        return prepared

    def execute(self, statement: Select[Any], params: dict[str, Any]) -> FastResult:
        prepared = self._prepared.get(id(statement))
        if prepared is None or prepared.statement is not statement:
            prepared = self._prepare(statement)
        for value in params.values():
            if not isinstance(value, _PLAIN_VALUES):
                raise TypeError(f"FastReader binds str, int or None, not {type(value).__name__}")
        bound = prepared.compiled.construct_params(params) or {}
        args: Any = (
            bound if prepared.positional is None else [bound[n] for n in prepared.positional]
        )
        raw = self.engine.raw_connection()
        try:
            cursor = raw.cursor()
            try:
                cursor.execute(prepared.sql, args)
                rows = cursor.fetchall()
            finally:
                cursor.close()
        finally:
            raw.close()
        make, processors = prepared.row, prepared.processors
        return FastResult(
            [
                make(*(v if p is None else p(v) for p, v in zip(processors, r, strict=True)))
                for r in rows
            ]
        )


@dataclass(frozen=True)
class FastResult:
    """The rows of one ``FastReader.execute``."""

    rows: list[tuple[Any, ...]]

    def first(self) -> Any:
        return self.rows[0] if self.rows else None

    def all(self) -> list[tuple[Any, ...]]:
        return self.rows
