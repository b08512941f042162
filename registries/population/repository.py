"""The population registry's SQL, and nothing else."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import bindparam, select
from sqlalchemy.engine import Connection
from sqlalchemy.orm import Session

from core.db import FastReader
from registries.population.models import Household, Person

#: A ``person`` row: the columns of ``Person`` as attributes (a SQLAlchemy ``Row``, or the
#: named tuple of ``core.db.FastReader``, whose rows have no static type).
PersonRow = Any


#: A person's row by id: SQLAlchemy Core, not ``session.get``. Reads never change a person,
#: and building an ORM object cost ~5x the query itself (ADR 0008).
_PERSON_BY_ID = select(*Person.__table__.c).where(
    Person.__table__.c.personal_id == bindparam("pid")
)


def person_by_id(db: Session | Connection | FastReader, personal_id: str) -> PersonRow | None:
    row: PersonRow | None = db.execute(_PERSON_BY_ID, {"pid": personal_id}).first()
    return row


def household_by_id(session: Session, household_id: str) -> Household | None:
    return session.get(Household, household_id)


def living_members(session: Session, household_id: str) -> Sequence[Person]:
    """The living members of a household, oldest first (uses ``ix_person_household_id``)."""
    stmt = (
        select(Person)
        .where(Person.household_id == household_id, Person.date_of_death.is_(None))
        .order_by(Person.date_of_birth, Person.personal_id)
    )
    return session.scalars(stmt).all()
