"""The land registry's rules: what a parcel record is, who may be told what.

Every function takes the set of fields to return, so the caller — today the endpoint parsing
``fields=``, tomorrow the security gateway passing the fields a client is allowed — decides
the shape, and nested parts the caller did not ask for are never even read. The lists of
returnable fields are module constants, for the gateway's catalogue.

Results are JSON-ready dicts (dates as ISO strings).
"""

from __future__ import annotations

from collections.abc import Collection
from datetime import date
from typing import Any

from sqlalchemy.orm import Session

from core.errors import NotFound
from core.fields import select
from core.ids.parcel import ParcelNumber
from registries.land import repository as repo
from registries.land.models import Certificate, Parcel, RightsHolder
from registries.land.vocabulary import (
    CERT_VALID,
    ENTERPRISE,
    LIMITED_TERM,
    LONG_TERM,
    PERSON,
    PURPOSES,
)

#: Top-level fields of a parcel record (``GET /parcels/{parcel_id}``).
PARCEL_FIELDS: tuple[str, ...] = (
    "parcel_id",
    "cadastral_number",
    "commune_code",
    "map_sheet",
    "parcel_number",
    "area_m2",
    "purpose_code",
    "purpose_name",
    "use_term",
    "use_until",
    "origin",
    "address",
    "certificate",
    "rights_holders",
    "encumbrances",
    "transactions",
)

#: Fields of each parcel in a holder's list (``GET /persons/{id}/parcels`` and enterprises).
HOLDING_FIELDS: tuple[str, ...] = (
    "parcel_id",
    "cadastral_number",
    "commune_code",
    "map_sheet",
    "parcel_number",
    "area_m2",
    "purpose_code",
    "purpose_name",
    "address",
    "share",
    "marital_property",
    "acquired_on",
    "certificate_number",
    "certificate_status",
    "has_active_mortgage",
)


class ParcelNotFound(NotFound):
    type = "client.parcel_not_found"
    default_message = "no parcel with this id"


class CertificateNotFound(NotFound):
    type = "client.certificate_not_found"
    default_message = "no certificate with this number"


def _iso(day: date | None) -> str | None:
    return day.isoformat() if day is not None else None


def _cadastral(p: Parcel) -> str:
    return str(ParcelNumber(p.commune_code, p.map_sheet, p.parcel_number))


def _certificate(c: Certificate | None) -> dict[str, Any] | None:
    if c is None:
        return None
    return {
        "certificate_number": c.certificate_number,
        "issued_on": c.issued_on.isoformat(),
        "issued_by": c.issued_by,
        "status": c.status,
        "status_changed_on": _iso(c.status_changed_on),
    }


def _holder(h: RightsHolder) -> dict[str, Any]:
    return {
        "kind": h.holder_kind,
        "id": h.holder_id,
        "name": h.name,
        "share": h.share,
        "marital_property": h.marital_property,
        "acquired_on": h.acquired_on.isoformat(),
    }


def _find(session: Session, ref: str | ParcelNumber) -> Parcel:
    if isinstance(ref, ParcelNumber):
        found = repo.parcel_by_number(session, ref.commune_code, ref.map_sheet, ref.parcel_number)
    else:
        found = repo.parcel(session, ref)
    if found is None:
        raise ParcelNotFound(f"no parcel {ref} in the land register")
    return found


def get_parcel(
    session: Session, ref: str | ParcelNumber, fields: Collection[str]
) -> dict[str, Any]:
    """The parcel named by its national id or its cadastral number, with ``fields`` only."""
    p = _find(session, ref)
    out: dict[str, Any] = {
        "parcel_id": p.parcel_id,
        "cadastral_number": _cadastral(p),
        "commune_code": p.commune_code,
        "map_sheet": p.map_sheet,
        "parcel_number": p.parcel_number,
        "area_m2": p.area_m2,
        "purpose_code": p.purpose_code,
        "purpose_name": PURPOSES.get(p.purpose_code, p.purpose_code),
        "use_term": LONG_TERM if p.use_until is None else LIMITED_TERM,
        "use_until": _iso(p.use_until),
        "origin": p.origin,
        "address": p.address,
    }
    if "certificate" in fields:
        out["certificate"] = _certificate(
            repo.current_certificates(session, [p.parcel_id]).get(p.parcel_id)
        )
    if "rights_holders" in fields:
        out["rights_holders"] = [_holder(h) for h in repo.rights_holders(session, p.parcel_id)]
    if "encumbrances" in fields:
        out["encumbrances"] = [
            {
                "kind": e.kind,
                "creditor_code": e.creditor_code,
                "creditor_name": e.creditor_name,
                "amount_vnd": e.amount_vnd,
                "registered_on": e.registered_on.isoformat(),
                "status": e.status,
                "released_on": _iso(e.released_on),
            }
            for e in repo.encumbrances(session, p.parcel_id)
        ]
    if "transactions" in fields:
        out["transactions"] = [
            {
                "kind": t.kind,
                "registered_on": t.registered_on.isoformat(),
                "certificate_number": t.certificate_number,
                "parties": t.parties,
            }
            for t in repo.transactions(session, p.parcel_id)
        ]
    return select(out, fields)


def parcels_of_person(
    session: Session, personal_id: str, fields: Collection[str]
) -> dict[str, Any]:
    """The parcels where the person holds a right. Unknown person: an empty list.

    The land register knows people only as holders; "holds nothing" is the answer for
    anyone else, and says nothing about whether the person exists.
    """
    return {"personal_id": personal_id, "parcels": _holdings(session, PERSON, personal_id, fields)}


def parcels_of_enterprise(
    session: Session, enterprise_code: str, fields: Collection[str]
) -> dict[str, Any]:
    """The parcels where the enterprise holds a right. Unknown enterprise: an empty list."""
    return {
        "enterprise_code": enterprise_code,
        "parcels": _holdings(session, ENTERPRISE, enterprise_code, fields),
    }


def _holdings(
    session: Session, kind: str, holder_id: str, fields: Collection[str]
) -> list[dict[str, Any]]:
    rows = repo.holdings(session, kind, holder_id)
    ids = [p.parcel_id for _, p in rows]
    certs = (
        repo.current_certificates(session, ids)
        if {"certificate_number", "certificate_status"} & set(fields)
        else {}
    )
    mortgaged = repo.actively_mortgaged(session, ids) if "has_active_mortgage" in fields else set()
    out = []
    for h, p in rows:
        cert = certs.get(p.parcel_id)
        item = {
            "parcel_id": p.parcel_id,
            "cadastral_number": _cadastral(p),
            "commune_code": p.commune_code,
            "map_sheet": p.map_sheet,
            "parcel_number": p.parcel_number,
            "area_m2": p.area_m2,
            "purpose_code": p.purpose_code,
            "purpose_name": PURPOSES.get(p.purpose_code, p.purpose_code),
            "address": p.address,
            "share": h.share,
            "marital_property": h.marital_property,
            "acquired_on": h.acquired_on.isoformat(),
            "certificate_number": cert.certificate_number if cert else None,
            "certificate_status": cert.status if cert else None,
            "has_active_mortgage": p.parcel_id in mortgaged,
        }
        out.append(select(item, fields))
    return out


def verify_certificate(
    session: Session,
    certificate_number: str,
    parcel_id: str | None = None,
    holder_id: str | None = None,
) -> dict[str, Any]:
    """Is this certificate in force, and does it name this parcel and this holder?

    Discloses only the status and one yes/no: ``match`` is true when every fact given
    holds (the parcel is the certificate's, the holder is named on it); with no fact given
    there is nothing to contradict and it is true.
    """
    cert = repo.certificate(session, certificate_number)
    if cert is None:
        raise CertificateNotFound(f"no certificate {certificate_number} in the land register")
    match = True
    if parcel_id is not None:
        match = match and cert.parcel_id == parcel_id
    if holder_id is not None:
        match = match and holder_id in cert.holder_ids.split(",")
    return {"valid": cert.status == CERT_VALID, "status": cert.status, "match": match}
