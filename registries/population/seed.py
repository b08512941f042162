"""Synthetic population: persons and households (owned by the population registry).

The cross-registry contract: ``generate`` returns a ``PopulationSeed`` whose ``people`` are
the ``PersonRef``s that the business and land seeds draw from, so every person they name
exists here. ``residence_commune``/``residence_address`` are the person's *permanent*
residence (their household's registered address), with a 2025 commune code.

The rules that make the families plausible live in ``families.py``; names and ethnic groups
in ``names.py``; provinces, communes and address lines in ``places.py``.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import date
from operator import attrgetter, itemgetter
from typing import Any

from sqlalchemy import Connection, Engine, Index, Table, inspect
from sqlalchemy.schema import CreateTable

from registries.population.families import (
    BIRTH,
    CADDR,
    CCOMM,
    DOB,
    DOD,
    ETHN,
    FATHER,
    HH,
    HOMETOWN,
    MARITAL,
    MOTHER,
    NAME,
    PADDR,
    PCOMM,
    PID,
    REL,
    SEX,
    SPOUSE,
    FamilyBuilder,
)
from registries.population.models import HOUSEHOLD_COLUMNS, PERSON_COLUMNS, Base


@dataclass(frozen=True, slots=True)
class PersonRef:
    """What other registries' seeds need to know about a person."""

    personal_id: str
    full_name: str
    date_of_birth: date
    sex: str  # "male" | "female"
    date_of_death: date | None
    residence_commune: str  # current (2025) commune code, 5 digits
    residence_address: str  # street-level address line, without commune/province names
    spouse_id: str | None
    household_id: str

    @property
    def alive(self) -> bool:
        return self.date_of_death is None

    def age_on(self, day: date) -> int:
        years = day.year - self.date_of_birth.year
        if (day.month, day.day) < (self.date_of_birth.month, self.date_of_birth.day):
            years -= 1
        return years


@dataclass(slots=True)
class PopulationSeed:
    """A generated population: the people other seeds draw from, and the rows to load.

    ``persons`` and ``households`` are tuples in the column order of ``models.PERSON_COLUMNS``
    and ``models.HOUSEHOLD_COLUMNS``, dates as ISO strings: ready for ``executemany``.
    """

    people: list[PersonRef] = field(default_factory=list)
    persons: list[tuple[Any, ...]] = field(default_factory=list)
    households: list[tuple[Any, ...]] = field(default_factory=list)

    def tables(self) -> list[tuple[Table, list[tuple[Any, ...]]]]:
        """Each table with its rows, parents before children (as the other seeds have it)."""
        t = Base.metadata.tables
        return [(t["household"], self.households), (t["person"], self.persons)]

    @property
    def row_count(self) -> int:
        """Rows ``write`` inserts (the sum of its progress calls)."""
        return len(self.persons) + len(self.households)


#: Below this many persons still to make, only one-person households are built, so the
#: population has exactly the size asked for (the largest household has 9 members).
_TAIL = 10


def generate(
    rng: random.Random,
    n_persons: int,
    *,
    today: date,
    progress: Callable[[int], None] | None = None,
) -> PopulationSeed:
    """Exactly ``n_persons`` people in households, deterministic for a given ``rng`` state.

    ``people`` is sorted by personal id; ``persons`` rows are in household order.

    ``progress(persons_made)`` is called every few thousand persons.
    """
    builder = FamilyBuilder(rng, today)
    out = PopulationSeed()
    people, persons, households = out.people, out.persons, out.households
    reported = 0
    while builder.count < n_persons:
        if n_persons - builder.count < _TAIL:
            home = builder.lone_household()
        else:
            home = builder.household()
        head_id = ""
        for m in home.members:
            dob: date = m[DOB]
            dod: date | None = m[DOD]
            if m[REL] == "head":
                head_id = m[PID]
            persons.append(
                (m[PID], m[NAME], dob.isoformat(), m[SEX], m[BIRTH], m[HOMETOWN], m[ETHN], "VN",
                 m[PADDR], m[PCOMM], m[CADDR], m[CCOMM], m[HH], m[REL], m[FATHER], m[MOTHER],
                 m[SPOUSE], m[MARITAL], dod.isoformat() if dod else None)
            )  # fmt: skip
            people.append(
                PersonRef(m[PID], m[NAME], dob, m[SEX], dod, m[PCOMM], m[PADDR], m[SPOUSE], m[HH])
            )
        households.append((home.household_id, head_id, home.address, home.place.commune_code))
        if progress is not None and builder.count - reported >= 10_000:
            progress(builder.count)
            reported = builder.count
    if progress is not None:
        progress(builder.count)
    # In id order, the order ``load_people`` reads them back in: the business and land
    # seeds then come out the same whether the population was just made or loaded.
    people.sort(key=attrgetter("personal_id"))
    return out


def write(
    engine: Engine,
    seed: PopulationSeed,
    *,
    progress: Callable[[int], None] | None = None,
    batch: int = 50_000,
) -> None:
    """Create the tables (if missing) and bulk-load ``seed``; ``progress(rows)`` per batch.

    Loads households then persons, each sorted by primary key so the B-tree grows at its
    end, and creates secondary indexes only after the rows are in (much faster than keeping
    them up to date row by row). Works on SQLite and PostgreSQL.
    """
    with engine.connect() as conn:
        deferred: list[Index] = []
        for table in (Base.metadata.tables["household"], Base.metadata.tables["person"]):
            if not inspect(conn).has_table(table.name):
                conn.execute(CreateTable(table))
                deferred.extend(table.indexes)
        if conn.dialect.name == "sqlite":
            # Bigger page cache while loading: sorting index entries stays in memory.
            conn.exec_driver_sql("PRAGMA cache_size=-262144")
        conn.commit()
        _load(conn, "household", HOUSEHOLD_COLUMNS, sorted(seed.households), batch, progress)
        rows = sorted(seed.persons, key=itemgetter(0))
        _load(conn, "person", PERSON_COLUMNS, rows, batch, progress)
        del rows
        for index in deferred:
            index.create(conn)
        conn.commit()


def _load(
    conn: Connection,
    table: str,
    columns: Sequence[str],
    rows: Sequence[tuple[Any, ...]],
    batch: int,
    progress: Callable[[int], None] | None,
) -> None:
    """``executemany`` straight to the driver (no per-row SQLAlchemy processing)."""
    mark = "?" if conn.dialect.paramstyle == "qmark" else "%s"
    sql = (
        f"INSERT INTO {table} ({', '.join(columns)}) "  # noqa: S608 - names from our models
        f"VALUES ({', '.join([mark] * len(columns))})"
    )
    for start in range(0, len(rows), batch):
        chunk = rows[start : start + batch]
        conn.exec_driver_sql(sql, list(chunk))
        if progress is not None:
            progress(len(chunk))


def load_people(engine: Engine) -> list[PersonRef]:
    """The ``PersonRef``s of a population database that is already loaded.

    Lets the business and land seeds be (re)built against an existing population without
    regenerating it.
    """
    cols = (
        "personal_id, full_name, date_of_birth, sex, date_of_death, permanent_commune, "
        "permanent_address, spouse_id, household_id"
    )
    out: list[PersonRef] = []
    with engine.connect() as conn:
        result = conn.exec_driver_sql(f"SELECT {cols} FROM person ORDER BY personal_id")  # noqa: S608
        for pid, name, dob, sex, dod, commune, address, spouse, household in result:
            out.append(
                PersonRef(pid, name, _as_date(dob), sex, _as_date(dod) if dod else None,
                          commune, address, spouse, household)
            )  # fmt: skip
    return out


def _as_date(value: date | str) -> date:
    """SQLite hands back ISO strings from a raw query, PostgreSQL ``date`` objects."""
    return value if isinstance(value, date) else date.fromisoformat(value)
