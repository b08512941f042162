"""The business registry's SQL, and nothing else (rules live in ``service.py``)."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import Row, exists, select
from sqlalchemy.orm import Session

from registries.business.models import (
    Enterprise,
    EnterpriseIndustry,
    EnterpriseOwner,
    HouseholdBusiness,
    LegalRepresentative,
)


def enterprise_by_code(session: Session, code: str) -> Enterprise | None:
    return session.get(Enterprise, code)


def secondary_industries(session: Session, code: str) -> Sequence[str]:
    stmt = (
        select(EnterpriseIndustry.vsic_code)
        .where(EnterpriseIndustry.enterprise_code == code)
        .order_by(EnterpriseIndustry.vsic_code)
    )
    return session.scalars(stmt).all()


def representatives(session: Session, code: str) -> Sequence[LegalRepresentative]:
    stmt = (
        select(LegalRepresentative)
        .where(LegalRepresentative.enterprise_code == code)
        .order_by(LegalRepresentative.since, LegalRepresentative.personal_id)
    )
    return session.scalars(stmt).all()


def owners(session: Session, code: str) -> Sequence[EnterpriseOwner]:
    stmt = (
        select(EnterpriseOwner)
        .where(EnterpriseOwner.enterprise_code == code)
        .order_by(EnterpriseOwner.share_bp.desc(), EnterpriseOwner.owner_id)
    )
    return session.scalars(stmt).all()


def is_representative(session: Session, code: str, personal_id: str) -> bool:
    stmt = select(
        exists().where(
            LegalRepresentative.enterprise_code == code,
            LegalRepresentative.personal_id == personal_id,
        )
    )
    return bool(session.scalar(stmt))


def representations_of(
    session: Session, personal_id: str
) -> Sequence[Row[LegalRepresentative, Enterprise]]:
    stmt = (
        select(LegalRepresentative, Enterprise)
        .join(Enterprise, Enterprise.code == LegalRepresentative.enterprise_code)
        .where(LegalRepresentative.personal_id == personal_id)
    )
    return session.execute(stmt).all()


def holdings_of(session: Session, personal_id: str) -> Sequence[Row[EnterpriseOwner, Enterprise]]:
    stmt = (
        select(EnterpriseOwner, Enterprise)
        .join(Enterprise, Enterprise.code == EnterpriseOwner.enterprise_code)
        .where(EnterpriseOwner.owner_id == personal_id, EnterpriseOwner.owner_kind == "person")
    )
    return session.execute(stmt).all()


def household_business_by_number(session: Session, number: str) -> HouseholdBusiness | None:
    return session.get(HouseholdBusiness, number)


def household_businesses_of(session: Session, personal_id: str) -> Sequence[HouseholdBusiness]:
    stmt = select(HouseholdBusiness).where(HouseholdBusiness.owner_id == personal_id)
    return session.scalars(stmt).all()
