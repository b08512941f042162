"""Tables of the population registry: ``person`` and ``household``.

Addresses are stored as a street-level line plus a 2025 commune code; names of communes and
provinces are looked up from ``core.ids.units`` when a record is read, because codes, not
names, are the keys (a code can be renamed, a name can be ambiguous). Relations between
people (parents, spouse) are plain id columns, not foreign keys: a parent may be recorded
in another household or not at all, and the seed loads rows in id order, not family order.
"""

from __future__ import annotations

from datetime import date

from sqlalchemy import Date, ForeignKey, Index, String
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column


class Base(DeclarativeBase):
    """The population registry's own metadata (each registry has its own database)."""


class Household(Base):
    """A household (hộ gia đình): the unit of residence registration."""

    __tablename__ = "household"

    household_id: Mapped[str] = mapped_column(String(16), primary_key=True)
    head_id: Mapped[str] = mapped_column(String(12))
    address_line: Mapped[str] = mapped_column(String(200))
    commune_code: Mapped[str] = mapped_column(String(5))


class Person(Base):
    """A person registered in the National Population Database."""

    __tablename__ = "person"

    personal_id: Mapped[str] = mapped_column(String(12), primary_key=True)
    full_name: Mapped[str] = mapped_column(String(120))
    date_of_birth: Mapped[date] = mapped_column(Date)
    sex: Mapped[str] = mapped_column(String(6))
    #: Legacy 3-digit province code of birth registration (the first digits of the id).
    birth_province: Mapped[str] = mapped_column(String(3))
    #: Quê quán: commune code of the family's place of origin.
    hometown_commune: Mapped[str] = mapped_column(String(5))
    ethnicity: Mapped[str] = mapped_column(String(40))
    nationality: Mapped[str] = mapped_column(String(2))
    permanent_address: Mapped[str] = mapped_column(String(200))
    permanent_commune: Mapped[str] = mapped_column(String(5))
    current_address: Mapped[str] = mapped_column(String(200))
    current_commune: Mapped[str] = mapped_column(String(5))
    household_id: Mapped[str] = mapped_column(String(16), ForeignKey("household.household_id"))
    relation_to_head: Mapped[str] = mapped_column(String(16))
    father_id: Mapped[str | None] = mapped_column(String(12))
    mother_id: Mapped[str | None] = mapped_column(String(12))
    spouse_id: Mapped[str | None] = mapped_column(String(12))
    marital_status: Mapped[str] = mapped_column(String(10))
    date_of_death: Mapped[date | None] = mapped_column(Date)

    __table_args__ = (Index("ix_person_household_id", "household_id"),)


#: Column order of the rows the seed generates (``seed.PopulationSeed.persons``).
PERSON_COLUMNS: tuple[str, ...] = tuple(c.name for c in Person.__table__.columns)
HOUSEHOLD_COLUMNS: tuple[str, ...] = tuple(c.name for c in Household.__table__.columns)
