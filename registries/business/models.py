"""Tables of the National Business Registration Database (its own database, its own Base).

Column order matters: the seed writes plain tuples in declaration order (``core.db.
bulk_insert``), so a new column goes at the end of its table and into the seed's tuples.

Every lookup the services make has an index: enterprise by code (primary key), the
secondary industries, representatives and owners of an enterprise (primary keys lead with
the enterprise code), roles of a person (``personal_id`` / ``owner_id`` indexes), household
business by number (primary key) and by owner.
"""

from __future__ import annotations

from datetime import date

from sqlalchemy import BigInteger, Date, ForeignKey, Index, Integer, String
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column


class Base(DeclarativeBase):
    """The business registry's metadata (never shared with another registry)."""


class Enterprise(Base):
    """An enterprise (doanh nghiệp): one head office, identified by its enterprise code."""

    __tablename__ = "enterprises"

    code: Mapped[str] = mapped_column(String(10), primary_key=True)
    name_vi: Mapped[str] = mapped_column(String(300))
    name_en: Mapped[str] = mapped_column(String(300))
    short_name: Mapped[str | None] = mapped_column(String(100))
    type: Mapped[str] = mapped_column(String(20))  # vocabulary.ENTERPRISE_TYPES
    status: Mapped[str] = mapped_column(String(12))  # vocabulary.ENTERPRISE_STATUSES
    status_date: Mapped[date] = mapped_column(Date)
    founded_on: Mapped[date] = mapped_column(Date)
    street: Mapped[str] = mapped_column(String(200))
    commune_code: Mapped[str] = mapped_column(String(5))
    charter_capital: Mapped[int] = mapped_column(BigInteger)  # VND
    main_industry: Mapped[str] = mapped_column(String(4))  # VSIC 2018 class


class EnterpriseIndustry(Base):
    """A secondary line of business (the main one is ``Enterprise.main_industry``)."""

    __tablename__ = "enterprise_industries"

    enterprise_code: Mapped[str] = mapped_column(ForeignKey("enterprises.code"), primary_key=True)
    vsic_code: Mapped[str] = mapped_column(String(4), primary_key=True)


class LegalRepresentative(Base):
    """A legal representative (người đại diện theo pháp luật) of an enterprise."""

    __tablename__ = "legal_representatives"

    enterprise_code: Mapped[str] = mapped_column(ForeignKey("enterprises.code"), primary_key=True)
    personal_id: Mapped[str] = mapped_column(String(12), primary_key=True)
    full_name: Mapped[str] = mapped_column(String(100))
    title: Mapped[str] = mapped_column(String(100))
    since: Mapped[date] = mapped_column(Date)

    __table_args__ = (Index("ix_legal_representatives_personal_id", "personal_id"),)


class EnterpriseOwner(Base):
    """An owner, member, founding shareholder or general partner: a person or an enterprise.

    ``share_bp`` is the share of charter capital in basis points (1/100 of a percent), so
    the shares of an LLC sum to exactly 10,000.
    """

    __tablename__ = "enterprise_owners"

    enterprise_code: Mapped[str] = mapped_column(ForeignKey("enterprises.code"), primary_key=True)
    owner_id: Mapped[str] = mapped_column(String(12), primary_key=True)
    owner_kind: Mapped[str] = mapped_column(String(10))  # "person" | "enterprise"
    owner_name: Mapped[str] = mapped_column(String(300))
    role: Mapped[str] = mapped_column(String(24))  # vocabulary.OWNER_ROLE_OF_TYPE values
    share_bp: Mapped[int] = mapped_column(Integer)
    capital_contribution: Mapped[int] = mapped_column(BigInteger)  # VND
    since: Mapped[date] = mapped_column(Date)

    __table_args__ = (Index("ix_enterprise_owners_owner_id", "owner_id"),)


class HouseholdBusiness(Base):
    """A household business (hộ kinh doanh); its tax code is the owner's personal id."""

    __tablename__ = "household_businesses"

    registration_number: Mapped[str] = mapped_column(String(10), primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    owner_id: Mapped[str] = mapped_column(String(12))
    owner_name: Mapped[str] = mapped_column(String(100))
    street: Mapped[str] = mapped_column(String(200))
    commune_code: Mapped[str] = mapped_column(String(5))
    sector: Mapped[str] = mapped_column(String(4))  # VSIC 2018 class
    capital: Mapped[int] = mapped_column(BigInteger)  # VND
    status: Mapped[str] = mapped_column(String(12))  # vocabulary.HOUSEHOLD_STATUSES
    status_date: Mapped[date] = mapped_column(Date)
    registered_on: Mapped[date] = mapped_column(Date)

    __table_args__ = (Index("ix_household_businesses_owner_id", "owner_id"),)
