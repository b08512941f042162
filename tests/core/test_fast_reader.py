"""core.db.FastReader: the same rows as ``Connection.execute``, on SQLite and PostgreSQL."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from sqlalchemy import Column, Date, Integer, MetaData, String, Table, bindparam, insert, select

from core.db import FastReader, make_engine
from tests.fixtures.postgres import PostgresUrlFactory

metadata = MetaData()
people = Table(
    "people",
    metadata,
    Column("pid", String(12), primary_key=True),
    Column("name", String(40), nullable=False),
    Column("born", Date, nullable=False),
    Column("died", Date),
    Column("household", Integer, nullable=False),
)
BY_ID = select(*people.c).where(people.c.pid == bindparam("pid"))
LIVING_IN = (
    select(people.c.pid, people.c.born)
    .where(people.c.household == bindparam("h"), people.c.died.is_(None))
    .order_by(people.c.born)
)
ROWS = [
    {
        "pid": "001",
        "name": "Nguyễn Văn An",
        "born": dt.date(1950, 1, 2),
        "died": None,
        "household": 1,
    },
    {
        "pid": "002",
        "name": "Trần Thị Bình",
        "born": dt.date(1980, 5, 6),
        "died": None,
        "household": 1,
    },
    {
        "pid": "003",
        "name": "Lê Văn Cường",
        "born": dt.date(1920, 3, 4),
        "died": dt.date(2001, 1, 1),
        "household": 1,
    },
]


def _check(url: str) -> None:
    engine = make_engine(url)
    try:
        metadata.create_all(engine)
        with engine.begin() as conn:
            conn.execute(insert(people), ROWS)
        reader = FastReader(engine)
        for statement, params in ((BY_ID, {"pid": "003"}), (LIVING_IN, {"h": 1})):
            with engine.connect() as conn:
                expected = [tuple(r) for r in conn.execute(statement, params)]
            got = reader.execute(statement, params).all()
            assert [tuple(r) for r in got] == expected
        person = reader.execute(BY_ID, {"pid": "003"}).first()
        # Types as SQLAlchemy converts them (a SQLite DATE is text on disk), names as attributes.
        assert person.born == dt.date(1920, 3, 4) and person.died == dt.date(2001, 1, 1)
        assert person.name == "Lê Văn Cường"
        assert reader.execute(BY_ID, {"pid": "999"}).first() is None
        with pytest.raises(TypeError, match="binds str, int or None"):
            reader.execute(BY_ID, {"pid": dt.date(2000, 1, 1)})
    finally:
        engine.dispose()


def test_rows_match_connection_execute_on_sqlite(tmp_path: Path) -> None:
    _check(f"sqlite:///{tmp_path / 'people.sqlite3'}")


@pytest.mark.postgres
def test_rows_match_connection_execute_on_postgresql(postgres_url: PostgresUrlFactory) -> None:
    _check(postgres_url())
