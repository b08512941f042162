"""Tables of the National Land Database: parcels and what hangs off them.

One parcel (thửa đất) has certificates over time (the one in force plus the ones it
superseded), its current rights holders (persons or enterprises, with shares), its
encumbrances (mortgages) and the history of registered transactions.

Holders are keyed by ``(holder_kind, holder_id)``: a personal id and an enterprise code
cannot collide (12 digits vs 10 or 13 characters) but the kind keeps the meaning explicit.
Every lookup the services make has an index; the seed creates the secondary indexes after
the bulk load, which is much faster than maintaining them row by row.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from sqlalchemy import JSON, BigInteger, Date, Float, ForeignKey, Index, String, Table
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column


class Base(DeclarativeBase):
    """Declarative base of the land registry's own database."""


class Parcel(Base):
    """A land parcel, named by its national id and by its cadastral triple."""

    __tablename__ = "land_parcel"

    parcel_id: Mapped[str] = mapped_column(String(12), primary_key=True)
    commune_code: Mapped[str] = mapped_column(String(5))
    map_sheet: Mapped[int]
    parcel_number: Mapped[int]
    area_m2: Mapped[float] = mapped_column(Float)
    purpose_code: Mapped[str] = mapped_column(String(3))
    #: None: long-term use (lâu dài); otherwise the last day of the term.
    use_until: Mapped[date | None] = mapped_column(Date)
    origin: Mapped[str] = mapped_column(String(120))
    address: Mapped[str] = mapped_column(String(300))

    __table_args__ = (
        Index(
            "ux_land_parcel_cadastral", "commune_code", "map_sheet", "parcel_number", unique=True
        ),
    )


class Certificate(Base):
    """A land use right certificate (giấy chứng nhận); the number is an opaque string."""

    __tablename__ = "land_certificate"

    certificate_number: Mapped[str] = mapped_column(String(24), primary_key=True)
    parcel_id: Mapped[str] = mapped_column(ForeignKey("land_parcel.parcel_id"))
    issued_on: Mapped[date] = mapped_column(Date)
    issued_by: Mapped[str] = mapped_column(String(160))
    status: Mapped[str] = mapped_column(String(10))
    #: When the certificate was replaced or revoked (None while valid).
    status_changed_on: Mapped[date | None] = mapped_column(Date)
    replaced_by: Mapped[str | None] = mapped_column(String(24))
    #: Ids of the holders named on this certificate, comma-separated. Only ever compared
    #: (certificate verification), never returned: a replaced certificate names former
    #: holders, whose link to the parcel is history, not a current right.
    holder_ids: Mapped[str] = mapped_column(String(400))

    __table_args__ = (Index("ix_land_certificate_parcel", "parcel_id"),)


class RightsHolder(Base):
    """A current holder of the land use right of a parcel, with their share."""

    __tablename__ = "land_rights_holder"

    id: Mapped[int] = mapped_column(primary_key=True)
    parcel_id: Mapped[str] = mapped_column(ForeignKey("land_parcel.parcel_id"))
    holder_kind: Mapped[str] = mapped_column(String(10))
    holder_id: Mapped[str] = mapped_column(String(14))
    name: Mapped[str] = mapped_column(String(200))
    share: Mapped[float] = mapped_column(Float)
    #: Common property of a married couple (tài sản chung của vợ chồng): both spouses are
    #: listed, and a transfer needs both signatures.
    marital_property: Mapped[bool]
    acquired_on: Mapped[date] = mapped_column(Date)

    __table_args__ = (
        Index("ix_land_rights_holder_parcel", "parcel_id"),
        Index("ix_land_rights_holder_holder", "holder_kind", "holder_id"),
    )


class Encumbrance(Base):
    """A registered security over the parcel: a mortgage to a bank."""

    __tablename__ = "land_encumbrance"

    id: Mapped[int] = mapped_column(primary_key=True)
    parcel_id: Mapped[str] = mapped_column(ForeignKey("land_parcel.parcel_id"))
    kind: Mapped[str] = mapped_column(String(16))
    creditor_code: Mapped[str] = mapped_column(String(14))
    creditor_name: Mapped[str] = mapped_column(String(300))
    amount_vnd: Mapped[int] = mapped_column(BigInteger)
    registered_on: Mapped[date] = mapped_column(Date)
    status: Mapped[str] = mapped_column(String(10))
    released_on: Mapped[date | None] = mapped_column(Date)

    __table_args__ = (Index("ix_land_encumbrance_parcel", "parcel_id"),)


class Transaction(Base):
    """A registered change (biến động): transfer, inheritance, mortgage, ..."""

    __tablename__ = "land_transaction"

    id: Mapped[int] = mapped_column(primary_key=True)
    parcel_id: Mapped[str] = mapped_column(ForeignKey("land_parcel.parcel_id"))
    kind: Mapped[str] = mapped_column(String(32))
    registered_on: Mapped[date] = mapped_column(Date)
    #: The certificate issued by this transaction, if one was.
    certificate_number: Mapped[str | None] = mapped_column(String(24))
    #: ``[{"role", "kind", "id", "name"}, ...]`` — a small list read only with its parcel.
    parties: Mapped[list[dict[str, Any]]] = mapped_column(JSON)

    __table_args__ = (Index("ix_land_transaction_parcel", "parcel_id"),)


#: Tables in foreign-key order (parents first), for loading.
TABLES: tuple[Table, ...] = tuple(
    Base.metadata.tables[m.__tablename__]
    for m in (Parcel, Certificate, RightsHolder, Encumbrance, Transaction)
)
