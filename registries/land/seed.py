"""Synthetic National Land Database, linked to the population and business seeds.

About 0.3 parcels per person. Every holder is a ``PersonRef`` from the population seed or
an enterprise from the business seed, and was adult (or founded) and alive on the day they
acquired the right. The cases the once-only flows must meet are all there:

- married couples co-holding their home as marital property (both spouses listed — a
  transfer needs the other spouse's consent);
- holders who died with the parcel still in their name (inheritance not yet registered),
  and parcels already inherited by a household member;
- active mortgages to banks (enterprises with VSIC 6419) on about 15% of parcels, and
  released ones;
- certificates replaced by newer ones, and a few revoked.

``generate`` builds plain tuples (no ORM objects) and ``write`` bulk-inserts them, creating
the secondary indexes only after the load: the 1,000,000-person world has ~300,000 parcels
and must seed in seconds, not minutes.
"""

from __future__ import annotations

import gc
import random
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any

import orjson
from sqlalchemy import JSON, Boolean, Date, Engine, Table, inspect
from sqlalchemy.schema import CreateTable

from core.db import bulk_insert
from registries.land import vocabulary as v
from registries.land.models import TABLES
from registries.land.seed_history import Bank, ParcelHistory, Row, Rows
from registries.land.seed_world import EnterpriseLike, World
from registries.population.seed import PersonRef

__all__ = ["EnterpriseLike", "LandSeed", "generate", "write"]

PARCELS_PER_PERSON = 0.3
#: Enterprise statuses meaning "no longer trading": such an enterprise gets no new land.
CLOSED_STATUSES = frozenset(
    {"dissolved", "bankrupt", "revoked", "deregistered", "closed", "giải thể", "phá sản"}
)

BATCH = 20_000


@dataclass(slots=True)
class LandSeed:
    """The rows of every land table, as tuples in column order (see ``models.py``)."""

    parcels: list[Row]
    certificates: list[Row]
    rights_holders: list[Row]
    encumbrances: list[Row]
    transactions: list[Row]

    def tables(self) -> list[tuple[Table, list[Row]]]:
        """(table, rows) in foreign-key order."""
        return list(
            zip(
                TABLES,
                (
                    self.parcels,
                    self.certificates,
                    self.rights_holders,
                    self.encumbrances,
                    self.transactions,
                ),
                strict=True,
            )
        )

    @property
    def row_count(self) -> int:
        return sum(len(rows) for _, rows in self.tables())


def generate(
    rng: random.Random,
    people: Sequence[PersonRef],
    enterprises: Sequence[EnterpriseLike],
    *,
    today: date,
) -> LandSeed:
    """The land registry of a world of ``people`` and ``enterprises``, as of ``today``."""
    # Millions of small tuples and no cycles: the cyclic GC would rescan the growing heap
    # over and over for nothing, doubling the run time. Switch it off while we build.
    gc_was_enabled = gc.isenabled()
    gc.disable()
    try:
        return _generate(rng, people, enterprises, today=today)
    finally:
        if gc_was_enabled:
            gc.enable()


def _generate(
    rng: random.Random,
    people: Sequence[PersonRef],
    enterprises: Sequence[EnterpriseLike],
    *,
    today: date,
) -> LandSeed:
    operating = [e for e in enterprises if e.status.lower() not in CLOSED_STATUSES]
    banks = [
        Bank(e.code, e.name, e.founded_on) for e in operating if e.main_industry == v.BANK_INDUSTRY
    ]
    rows = Rows()
    world = World(rng, today, people, ParcelHistory(rng, today, banks, rows))
    world.enterprise_parcels(operating)
    world.person_parcels(round(PARCELS_PER_PERSON * len(people)) - len(rows.parcels))
    rows.parcels.sort()  # primary-key order: the fastest way into a B-tree
    rows.certificates.sort()
    return LandSeed(
        rows.parcels, rows.certificates, rows.rights_holders, rows.encumbrances, rows.transactions
    )


def write(engine: Engine, seed: LandSeed, *, progress: Callable[[int], None] | None = None) -> None:
    """Create the tables, bulk-insert the seed, then build the secondary indexes.

    On SQLite the rows go straight to the driver's ``executemany`` after a column-wise
    conversion to what SQLAlchemy would have stored (ISO dates, JSON text, 0/1) — twice as
    fast as the per-row type processing of ``insert()``. Other databases take the portable
    ``core.db.bulk_insert`` path.
    """
    existing = set(inspect(engine).get_table_names())
    with engine.begin() as conn:
        for table in TABLES:
            if table.name not in existing:
                conn.execute(CreateTable(table))
    sqlite = engine.dialect.name == "sqlite"
    for table, rows in seed.tables():
        if sqlite:
            _write_sqlite(engine, table, rows, progress)
            continue
        for start in range(0, len(rows), BATCH):
            chunk = rows[start : start + BATCH]
            bulk_insert(engine, table, chunk, batch=BATCH)
            if progress is not None:
                progress(len(chunk))
    with engine.begin() as conn:
        for table in TABLES:
            for index in table.indexes:
                index.create(conn, checkfirst=True)


def _write_sqlite(
    engine: Engine, table: Table, rows: list[Row], progress: Callable[[int], None] | None
) -> None:
    if not rows:
        return
    columns: list[list[Any]] = [list(c) for c in zip(*rows, strict=True)]
    for i, column in enumerate(table.columns):
        values = columns[i]
        if isinstance(column.type, Date):
            columns[i] = [d.isoformat() if d is not None else None for d in values]
        elif isinstance(column.type, JSON):
            columns[i] = [orjson.dumps(x).decode() for x in values]
        elif isinstance(column.type, Boolean):
            columns[i] = [int(x) for x in values]
    wire = list(zip(*columns, strict=True))
    names = ", ".join(c.name for c in table.columns)
    marks = ", ".join("?" for _ in table.columns)
    sql = f"INSERT INTO {table.name} ({names}) VALUES ({marks})"  # noqa: S608 - our names
    with engine.begin() as conn:
        for start in range(0, len(wire), BATCH):
            chunk = wire[start : start + BATCH]
            conn.exec_driver_sql(sql, chunk)
            if progress is not None:
                progress(len(chunk))
