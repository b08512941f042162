"""Synthetic business register: enterprises, their people, and household businesses.

The cross-registry contract (see ``registries/population/seed.py``): every person named here
is a ``PersonRef`` of the population seed, and ``BusinessSeed.enterprises`` are the
``EnterpriseRef``s the land seed draws rights holders and mortgagees (banks) from.

Rules the data keeps, because the once-only flows depend on them:

- every enterprise code has a valid check digit; codes rise with the founding date within
  each tax prefix, as real codes do; household registration numbers likewise;
- legal representatives, owners and members were adults (≥ 18) and alive on the founding
  date; those of active and suspended enterprises are alive today;
- LLC and partnership shares sum to exactly 100 % (basis points sum to 10,000); a joint
  stock company lists its founding shareholders (together at least 20 %);
- a handful of banks (VSIC 6419) always exist, ``DEV_BANK_CODE`` among them;
- some enterprises are suspended, dissolved, bankrupt or revoked, some household
  businesses have ceased (a deceased owner's business always has);
- one person owns at most one household business (Decree 01/2021/NĐ-CP, art. 80).

Everything is drawn from the ``rng`` passed in, so the same seed and ``today`` give the same
rows. Rows are plain tuples in table column order, written with executemany batches.
"""

from __future__ import annotations

import gc
import random
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from sqlalchemy import Connection, Engine, Index, Table, inspect
from sqlalchemy.schema import CreateTable

from registries.business.generator import (
    ENTERPRISE_RATE,
    HOUSEHOLD_RATE,
    Generator,
)
from registries.business.models import (
    Enterprise,
    EnterpriseIndustry,
    EnterpriseOwner,
    HouseholdBusiness,
    LegalRepresentative,
)
from registries.business.seed_data import DEV_BANK_CODE
from registries.population.seed import PersonRef

__all__ = ["DEV_BANK_CODE", "BusinessSeed", "EnterpriseRef", "generate", "write"]

WRITE_BATCH = 10_000


@dataclass(frozen=True, slots=True)
class EnterpriseRef:
    """What other registries' seeds need to know about an enterprise."""

    code: str
    name: str
    status: str
    commune_code: str
    founded_on: date
    main_industry: str  # VSIC 2018 class; banks are "6419"


Row = tuple[Any, ...]


@dataclass(slots=True)
class BusinessSeed:
    """The generated register: ``enterprises`` for other seeds, rows for ``write``."""

    enterprises: list[EnterpriseRef] = field(default_factory=list)
    enterprise_rows: list[Row] = field(default_factory=list)
    industry_rows: list[Row] = field(default_factory=list)
    representative_rows: list[Row] = field(default_factory=list)
    owner_rows: list[Row] = field(default_factory=list)
    household_rows: list[Row] = field(default_factory=list)

    def tables(self) -> list[tuple[Table, list[Row]]]:
        """Each table with its rows, parents before children."""
        return [
            (Enterprise.__table__, self.enterprise_rows),  # type: ignore[list-item]
            (EnterpriseIndustry.__table__, self.industry_rows),  # type: ignore[list-item]
            (LegalRepresentative.__table__, self.representative_rows),  # type: ignore[list-item]
            (EnterpriseOwner.__table__, self.owner_rows),  # type: ignore[list-item]
            (HouseholdBusiness.__table__, self.household_rows),  # type: ignore[list-item]
        ]

    @property
    def row_count(self) -> int:
        """Rows ``write`` inserts (the sum of its progress calls)."""
        return sum(len(rows) for _, rows in self.tables())


def generate(
    rng: random.Random,
    people: Sequence[PersonRef],
    *,
    today: date,
    enterprise_rate: float = ENTERPRISE_RATE,
    household_rate: float = HOUSEHOLD_RATE,
) -> BusinessSeed:
    """The business register of ``people`` as of ``today``, deterministic in ``rng``.

    ``enterprise_rate`` and ``household_rate`` (per person) default to the national ratios;
    tests raise them to get many enterprises from a few hundred people. The banks come on
    top of the ordinary enterprises.
    """
    # The generator makes ~10^6 small objects and no reference cycles; with a million
    # PersonRefs on the heap, every full collection would walk them all (and, in the
    # orchestrator's forked child, copy their pages). So the cycle collector sits this out.
    collecting = gc.isenabled()
    gc.disable()
    try:
        gen = Generator(rng, people, today)
        gen.add_banks()
        gen.add_enterprises(round(len(people) * enterprise_rate))
        gen.add_households(round(len(people) * household_rate))
        rows = gen.finish()
    finally:
        if collecting:
            gc.enable()
    return BusinessSeed(
        enterprises=[EnterpriseRef(*ref) for ref in rows.enterprise_refs],
        enterprise_rows=rows.enterprises,
        industry_rows=rows.industries,
        representative_rows=rows.representatives,
        owner_rows=rows.owners,
        household_rows=rows.households,
    )


def write(
    engine: Engine, seed: BusinessSeed, *, progress: Callable[[int], None] | None = None
) -> None:
    """Create the tables and bulk-load ``seed``; ``progress(n)`` after each batch of n rows.

    Rows go in sorted by primary key and the secondary indexes are built afterwards, which
    is faster than maintaining them row by row. Plain ``executemany`` on the driver, dates
    as ISO strings, so it runs the same on SQLite and PostgreSQL.
    """
    with engine.connect() as conn:
        deferred: list[Index] = []
        for table, _ in seed.tables():
            if not inspect(conn).has_table(table.name):
                conn.execute(CreateTable(table))
                deferred.extend(table.indexes)
        conn.commit()
        for table, rows in seed.tables():
            key = len(table.primary_key.columns)
            _load(conn, table, sorted(rows, key=lambda r: r[:key]), progress)
        for index in deferred:
            index.create(conn)
        conn.commit()


def _load(
    conn: Connection,
    table: Table,
    rows: Sequence[Row],
    progress: Callable[[int], None] | None,
) -> None:
    mark = "?" if conn.dialect.paramstyle == "qmark" else "%s"
    names = [c.name for c in table.columns]
    sql = (
        f"INSERT INTO {table.name} ({', '.join(names)}) "  # noqa: S608 - names from our models
        f"VALUES ({', '.join([mark] * len(names))})"
    )
    for start in range(0, len(rows), WRITE_BATCH):
        chunk = [
            tuple(v.isoformat() if isinstance(v, date) else v for v in row)
            for row in rows[start : start + WRITE_BATCH]
        ]
        conn.exec_driver_sql(sql, chunk)
        if progress is not None:
            progress(len(chunk))
