"""The business registry's rules: what an enterprise record looks like, who holds which
role, when facts about an enterprise match.

Every read takes the set of fields the caller may receive as a parameter rather than
deciding it here: today the endpoint passes what ``fields=`` asked for; behind the security
gateway it will be the intersection with the fields the gateway's signed grant allows. Parts
of a record that were not asked for are not even queried. The returnable field names are
module constants so a service catalogue can read them.
"""

from __future__ import annotations

from collections.abc import Collection
from datetime import date
from typing import Any

from sqlalchemy.orm import Session

from core.errors import NotFound
from core.fields import select
from core.ids.units import unit_names
from core.names import normalize_name
from registries.business import repository
from registries.business.models import Enterprise, HouseholdBusiness
from registries.business.vocabulary import (
    ENTERPRISE_STATUSES,
    ENTERPRISE_TYPES,
    HOUSEHOLD_STATUSES,
    ROLES,
)
from registries.business.vsic import industry

#: Every field of an enterprise record, in the order they are returned.
ENTERPRISE_FIELDS: tuple[str, ...] = (
    "enterprise_code",
    "name_vi",
    "name_en",
    "short_name",
    "type",
    "type_name_vi",
    "status",
    "status_name_vi",
    "status_date",
    "founded_on",
    "head_office",
    "charter_capital",
    "main_industry",
    "secondary_industries",
    "legal_representatives",
    "owners",
)

#: Every field of the business summary in a person's roles.
ROLE_BUSINESS_FIELDS: tuple[str, ...] = (
    "code",
    "name",
    "type",
    "status",
    "status_date",
    "founded_on",
    "commune_code",
)

#: Every field of a household business record.
HOUSEHOLD_BUSINESS_FIELDS: tuple[str, ...] = (
    "registration_number",
    "name",
    "tax_code",
    "owner",
    "location",
    "sector",
    "capital",
    "status",
    "status_name_vi",
    "status_date",
    "registered_on",
)


class EnterpriseNotFound(NotFound):
    """No enterprise (or branch) with this code is registered."""

    type = "client.enterprise_not_found"
    default_message = "no enterprise is registered with this code"


class HouseholdBusinessNotFound(NotFound):
    """No household business with this registration number is registered."""

    type = "client.household_business_not_found"
    default_message = "no household business is registered with this number"


# -- enterprises ---------------------------------------------------------------------------


def get_enterprise(session: Session, code: str, fields: Collection[str]) -> dict[str, Any]:
    """The enterprise record with only ``fields``; ``EnterpriseNotFound`` when unknown.

    ``code`` is a parsed enterprise code or branch code. Branches are not kept in this
    register (head offices only), so a branch code is answered with a 404 that says so
    and names the parent enterprise when it exists.
    """
    e = _enterprise(session, code)
    record: dict[str, Any] = {
        "enterprise_code": e.code,
        "name_vi": e.name_vi,
        "name_en": e.name_en,
        "short_name": e.short_name,
        "type": e.type,
        "type_name_vi": ENTERPRISE_TYPES[e.type],
        "status": e.status,
        "status_name_vi": ENTERPRISE_STATUSES[e.status],
        "status_date": e.status_date.isoformat(),
        "founded_on": e.founded_on.isoformat(),
        "head_office": _address(e.street, e.commune_code),
        "charter_capital": e.charter_capital,
        "main_industry": industry(e.main_industry),
    }
    if "secondary_industries" in fields:
        record["secondary_industries"] = [
            industry(c) for c in repository.secondary_industries(session, e.code)
        ]
    if "legal_representatives" in fields:
        record["legal_representatives"] = [
            {
                "personal_id": r.personal_id,
                "full_name": r.full_name,
                "title": r.title,
                "since": r.since.isoformat(),
            }
            for r in repository.representatives(session, e.code)
        ]
    if "owners" in fields:
        record["owners"] = [
            {
                "kind": o.owner_kind,
                "id": o.owner_id,
                "name": o.owner_name,
                "role": o.role,
                "share_percent": o.share_bp / 100,
                "capital_contribution": o.capital_contribution,
                "since": o.since.isoformat(),
            }
            for o in repository.owners(session, e.code)
        ]
    return {name: record[name] for name in ENTERPRISE_FIELDS if name in fields}


def verify_enterprise(
    session: Session, code: str, name: str | None, legal_representative_id: str | None
) -> dict[str, Any]:
    """``{"match", "status"}``: whether every given fact is true of the enterprise.

    ``name`` matches the registered Vietnamese or English name as ``core.names`` compares
    names (Unicode form, case, spaces and tone placement aside; diacritics count);
    ``legal_representative_id`` must be one of the current legal representatives. With
    neither, ``match`` only says the code is registered. Nothing else is disclosed: not
    the registered name, not who the representatives are.
    """
    e = _enterprise(session, code)
    match = True
    if name is not None:
        wanted = normalize_name(name)
        match = wanted in (normalize_name(e.name_vi), normalize_name(e.name_en))
    if match and legal_representative_id is not None:
        match = repository.is_representative(session, e.code, legal_representative_id)
    return {"match": match, "status": e.status}


def _enterprise(session: Session, code: str) -> Enterprise:
    head, _, branch = code.partition("-")
    e = repository.enterprise_by_code(session, head)
    if e is None:
        raise EnterpriseNotFound(
            f"no enterprise is registered with code {head}", detail={"enterprise_code": head}
        )
    if branch:
        raise EnterpriseNotFound(
            f"branch {code} is not in this register, which holds head offices only; "
            f"the enterprise itself is {head}",
            detail={"enterprise_code": head, "branch": branch},
        )
    return e


# -- roles of a person ---------------------------------------------------------------------


def roles_of_person(
    session: Session, personal_id: str, business_fields: Collection[str]
) -> dict[str, Any]:
    """Every role the person holds or held, oldest first, each with a business summary.

    The business register only knows people who hold a role, so an unknown person is an
    empty list, not a 404: "no roles" is the answer, and it says nothing about whether the
    person exists.
    """
    roles: list[tuple[str, str, dict[str, Any]]] = []  # (since, tiebreak, role)

    def add(
        role: str,
        kind: str,
        since: date,
        summary: dict[str, Any],
        title: str | None = None,
        share_bp: int | None = None,
    ) -> None:
        item: dict[str, Any] = {
            "role": role,
            "role_name_vi": ROLES[role],
            "business_kind": kind,
            "title": title,
            "share_percent": None if share_bp is None else share_bp / 100,
            "since": since.isoformat(),
            "business": select(summary, business_fields),
        }
        roles.append((since.isoformat(), f"{summary['code']}:{role}", item))

    for rep, e in repository.representations_of(session, personal_id):
        add("legal_representative", "enterprise", rep.since, _summary(e), title=rep.title)
    for holding, e in repository.holdings_of(session, personal_id):
        add(holding.role, "enterprise", holding.since, _summary(e), share_bp=holding.share_bp)
    for h in repository.household_businesses_of(session, personal_id):
        add("household_business_owner", "household_business", h.registered_on, _hh_summary(h))
    roles.sort(key=lambda r: (r[0], r[1]))
    return {"personal_id": personal_id, "roles": [item for _, _, item in roles]}


def _summary(e: Enterprise) -> dict[str, Any]:
    return {
        "code": e.code,
        "name": e.name_vi,
        "type": e.type,
        "status": e.status,
        "status_date": e.status_date.isoformat(),
        "founded_on": e.founded_on.isoformat(),
        "commune_code": e.commune_code,
    }


def _hh_summary(h: HouseholdBusiness) -> dict[str, Any]:
    return {
        "code": h.registration_number,
        "name": h.name,
        "type": "household_business",
        "status": h.status,
        "status_date": h.status_date.isoformat(),
        "founded_on": h.registered_on.isoformat(),
        "commune_code": h.commune_code,
    }


# -- household businesses ------------------------------------------------------------------


def get_household_business(
    session: Session, number: str, fields: Collection[str]
) -> dict[str, Any]:
    """The household business record with only ``fields``; 404 when unknown."""
    h = repository.household_business_by_number(session, number)
    if h is None:
        raise HouseholdBusinessNotFound(
            f"no household business is registered with number {number}",
            detail={"registration_number": number},
        )
    record = {
        "registration_number": h.registration_number,
        "name": h.name,
        "tax_code": h.owner_id,
        "owner": {"personal_id": h.owner_id, "full_name": h.owner_name},
        "location": _address(h.street, h.commune_code),
        "sector": industry(h.sector),
        "capital": h.capital,
        "status": h.status,
        "status_name_vi": HOUSEHOLD_STATUSES[h.status],
        "status_date": h.status_date.isoformat(),
        "registered_on": h.registered_on.isoformat(),
    }
    return select(record, fields)


def _address(line: str, commune_code: str) -> dict[str, str | None]:
    return {"address_line": line, **unit_names(commune_code)}
