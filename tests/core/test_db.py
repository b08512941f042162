"""core.db: engines on SQLite files and in memory, bulk loads, emptiness checks."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import Column, Integer, MetaData, String, Table, select, text

from core.db import (
    bulk_insert,
    database_is_empty,
    make_engine,
    ping,
    reset_database,
    session_factory,
    session_scope,
    sqlite_path,
)

metadata = MetaData()
things = Table(
    "things",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("name", String(20), nullable=False),
)


def test_sqlite_file_engine_creates_parent_folder_and_uses_wal(tmp_path: Path) -> None:
    db = tmp_path / "nested" / "deeper" / "x.sqlite3"
    engine = make_engine(f"sqlite:///{db}")
    with engine.connect() as conn:
        mode = conn.execute(text("PRAGMA journal_mode")).scalar_one()
        fks = conn.execute(text("PRAGMA foreign_keys")).scalar_one()
    assert db.parent.is_dir()
    assert mode == "wal"
    assert fks == 1


def test_in_memory_engine_is_shared_by_every_connection() -> None:
    engine = make_engine("sqlite://")
    metadata.create_all(engine)
    with engine.begin() as conn:
        conn.execute(things.insert().values(id=1, name="a"))
    with engine.connect() as other:
        assert other.execute(select(things.c.name)).scalar_one() == "a"


def test_bulk_insert_accepts_tuples_and_dicts_across_batches() -> None:
    engine = make_engine("sqlite://")
    metadata.create_all(engine)
    rows: list[tuple[int, str] | dict[str, object]] = [(i, f"n{i}") for i in range(1, 8)]
    rows.append({"id": 8, "name": "dict"})
    assert bulk_insert(engine, things, rows, batch=3) == 8
    with engine.connect() as conn:
        assert conn.execute(select(things.c.name).where(things.c.id == 8)).scalar_one() == "dict"
        assert len(conn.execute(select(things)).all()) == 8


def test_bulk_insert_rejects_tuples_of_the_wrong_width() -> None:
    engine = make_engine("sqlite://")
    metadata.create_all(engine)
    with pytest.raises(ValueError):
        bulk_insert(engine, things, [(1, "a", "extra")])


def test_database_is_empty_until_a_table_holds_a_row(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'x.sqlite3'}"
    assert database_is_empty(url)  # no file at all
    engine = make_engine(url)
    metadata.create_all(engine)
    assert database_is_empty(url)  # tables, no rows
    bulk_insert(engine, things, [(1, "a")])
    assert not database_is_empty(url)
    engine.dispose()


def test_reset_database_deletes_a_sqlite_file_with_its_wal(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'x.sqlite3'}"
    engine = make_engine(url)
    metadata.create_all(engine)
    bulk_insert(engine, things, [(1, "a")])
    engine.dispose()
    reset_database(url)
    assert not list(tmp_path.iterdir())
    assert database_is_empty(url)


def test_sqlite_path_only_for_sqlite_files() -> None:
    assert sqlite_path("sqlite:///var/db/x.sqlite3") == Path("var/db/x.sqlite3")
    assert sqlite_path("sqlite://") is None
    assert sqlite_path("postgresql+psycopg://u@127.0.0.1/x") is None


def test_session_scope_commits_on_success_and_rolls_back_on_error() -> None:
    engine = make_engine("sqlite://")
    metadata.create_all(engine)
    factory = session_factory(engine)
    with session_scope(factory) as s:
        s.execute(things.insert().values(id=1, name="kept"))
    with pytest.raises(RuntimeError), session_scope(factory) as s:
        s.execute(things.insert().values(id=2, name="lost"))
        raise RuntimeError("boom")
    with engine.connect() as conn:
        assert conn.execute(select(things.c.name)).scalars().all() == ["kept"]


def test_ping_raises_when_the_database_cannot_be_opened(tmp_path: Path) -> None:
    ping(make_engine("sqlite://"))
    unreachable = tmp_path / "a-file"
    unreachable.write_text("not a folder")
    with pytest.raises(Exception):  # noqa: B017 - any driver error will do
        ping(make_engine(f"sqlite:///{unreachable}/db.sqlite3"))


def test_a_failing_query_does_not_put_its_parameters_in_the_error() -> None:
    engine = make_engine("sqlite://")
    with pytest.raises(Exception) as caught, engine.connect() as conn:
        conn.execute(text("SELECT * FROM missing WHERE id = :pid"), {"pid": "001085012345"})
    assert "001085012345" not in str(caught.value)
