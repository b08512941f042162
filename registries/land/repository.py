"""The land registry's SQL, and nothing else: each function is one question to the database."""

from __future__ import annotations

from collections.abc import Collection, Iterator, Sequence

from sqlalchemy import select
from sqlalchemy.orm import Session

from registries.land.models import Certificate, Encumbrance, Parcel, RightsHolder, Transaction
from registries.land.vocabulary import ACTIVE, CERT_REPLACED


def parcel(session: Session, parcel_id: str) -> Parcel | None:
    return session.get(Parcel, parcel_id)


def parcel_by_number(
    session: Session, commune_code: str, map_sheet: int, parcel_number: int
) -> Parcel | None:
    stmt = select(Parcel).where(
        Parcel.commune_code == commune_code,
        Parcel.map_sheet == map_sheet,
        Parcel.parcel_number == parcel_number,
    )
    return session.scalars(stmt).first()


#: Ids per ``IN (...)`` list: far below SQLite's and PostgreSQL's bound-parameter limits, so a
#: holder with tens of thousands of parcels (a state company) is a few queries, not an error.
IN_CHUNK = 500


def _chunks(ids: Collection[str]) -> Iterator[list[str]]:
    items = list(ids)
    for start in range(0, len(items), IN_CHUNK):
        yield items[start : start + IN_CHUNK]


def current_certificates(session: Session, parcel_ids: Collection[str]) -> dict[str, Certificate]:
    """The certificate in force (or last revoked) of each parcel: the newest not replaced."""
    out: dict[str, Certificate] = {}
    for chunk in _chunks(parcel_ids):
        stmt = (
            select(Certificate)
            .where(Certificate.parcel_id.in_(chunk), Certificate.status != CERT_REPLACED)
            .order_by(Certificate.issued_on, Certificate.certificate_number)
        )
        out.update({c.parcel_id: c for c in session.scalars(stmt)})  # the newest wins
    return out


def certificate(session: Session, certificate_number: str) -> Certificate | None:
    return session.get(Certificate, certificate_number)


def rights_holders(session: Session, parcel_id: str) -> Sequence[RightsHolder]:
    stmt = select(RightsHolder).where(RightsHolder.parcel_id == parcel_id).order_by(RightsHolder.id)
    return session.scalars(stmt).all()


def encumbrances(session: Session, parcel_id: str) -> Sequence[Encumbrance]:
    stmt = (
        select(Encumbrance)
        .where(Encumbrance.parcel_id == parcel_id)
        .order_by(Encumbrance.registered_on, Encumbrance.id)
    )
    return session.scalars(stmt).all()


def transactions(session: Session, parcel_id: str) -> Sequence[Transaction]:
    stmt = (
        select(Transaction)
        .where(Transaction.parcel_id == parcel_id)
        .order_by(Transaction.registered_on, Transaction.id)
    )
    return session.scalars(stmt).all()


def holdings(
    session: Session, holder_kind: str, holder_id: str
) -> Sequence[tuple[RightsHolder, Parcel]]:
    """Every current right of one holder, with its parcel, oldest acquisition first."""
    stmt = (
        select(RightsHolder, Parcel)
        .join(Parcel, Parcel.parcel_id == RightsHolder.parcel_id)
        .where(RightsHolder.holder_kind == holder_kind, RightsHolder.holder_id == holder_id)
        .order_by(RightsHolder.acquired_on, RightsHolder.parcel_id)
    )
    return [(h, p) for h, p in session.execute(stmt)]


def actively_mortgaged(session: Session, parcel_ids: Collection[str]) -> set[str]:
    """Which of ``parcel_ids`` carry an active mortgage."""
    out: set[str] = set()
    for chunk in _chunks(parcel_ids):
        stmt = select(Encumbrance.parcel_id).where(
            Encumbrance.parcel_id.in_(chunk), Encumbrance.status == ACTIVE
        )
        out.update(session.scalars(stmt))
    return out
