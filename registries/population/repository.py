"""The population registry's SQL, and nothing else."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import select
from sqlalchemy.orm import Session

from registries.population.models import Household, Person


def person_by_id(session: Session, personal_id: str) -> Person | None:
    return session.get(Person, personal_id)


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
