"""core.db: engines on SQLite files and in memory, bulk loads, emptiness checks."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import Column, Integer, MetaData, String, Table, select, text

from core.db import bulk_insert, is_empty, make_engine, ping, session_factory, session_scope

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


def test_is_empty_for_missing_table_empty_table_and_filled_table() -> None:
    engine = make_engine("sqlite://")
    assert is_empty(engine, "things")
    metadata.create_all(engine)
    assert is_empty(engine, "things")
    bulk_insert(engine, things, [(1, "a")])
    assert not is_empty(engine, "things")


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
