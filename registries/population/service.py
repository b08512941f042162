"""The population registry's rules: what a person record looks like, who is in a household,
when an identity matches.

Every function takes the set of fields the caller may receive as a parameter rather than
deciding it here: today the endpoint passes what ``fields=`` asked for; behind the security
gateway it will be the intersection with the fields the gateway's signed grant allows.
The returnable field names are module constants so a service catalogue can read them.
"""

from __future__ import annotations

from collections.abc import Collection
from datetime import date
from typing import Any

from sqlalchemy.engine import Connection
from sqlalchemy.orm import Session

from core.db import FastReader
from core.errors import NotFound
from core.fields import select
from core.ids.personal import LEGACY_PROVINCES
from core.ids.units import unit_names
from core.names import normalize_name
from registries.population import repository
from registries.population.models import Household, Person
from registries.population.repository import PersonRow

#: Every field of a person record, in the order they are returned.
PERSON_FIELDS: tuple[str, ...] = (
    "personal_id",
    "full_name",
    "date_of_birth",
    "sex",
    "birth_registration_place",
    "hometown",
    "ethnicity",
    "nationality",
    "permanent_residence",
    "current_residence",
    "household_id",
    "relation_to_head",
    "father_id",
    "mother_id",
    "spouse_id",
    "marital_status",
    "status",
    "date_of_death",
)

#: Every field of a household member as listed by the household service.
MEMBER_FIELDS: tuple[str, ...] = ("personal_id", "full_name", "relation_to_head", "date_of_birth")

#: Relation-to-head codes and the Vietnamese terms of the residence register.
RELATIONS: dict[str, str] = {
    "head": "chủ hộ",
    "spouse": "vợ / chồng",
    "child": "con",
    "child_in_law": "con dâu / con rể",
    "grandchild": "cháu",
    "parent": "cha / mẹ",
    "parent_in_law": "cha / mẹ vợ hoặc chồng",
}

MARITAL_STATUSES: tuple[str, ...] = ("single", "married", "divorced", "widowed")


class PersonNotFound(NotFound):
    """No person with this personal id is registered."""

    type = "client.person_not_found"
    default_message = "no person is registered with this personal id"


def get_person(
    db: Session | Connection | FastReader, personal_id: str, fields: Collection[str]
) -> dict[str, Any]:
    """The person's record, restricted to ``fields``; ``PersonNotFound`` if unknown."""
    person = repository.person_by_id(db, personal_id)
    if person is None:
        raise PersonNotFound()
    return select(person_record(person), fields)


def get_household(
    session: Session, personal_id: str, member_fields: Collection[str]
) -> dict[str, Any]:
    """The household the person is registered in and its living members (head first).

    A deceased person's record keeps the household they last belonged to; they are no
    longer listed among its members.
    """
    person = repository.person_by_id(session, personal_id)
    if person is None:
        raise PersonNotFound()
    household = repository.household_by_id(session, person.household_id)
    if household is None:  # a person row without its household is a broken register
        raise RuntimeError("person references a household that does not exist")
    members = repository.living_members(session, household.household_id)
    ordered = sorted(members, key=lambda m: m.personal_id != household.head_id)
    return {
        "household_id": household.household_id,
        "address": _household_address(household),
        "head_id": household.head_id,
        "members": [select(_member(m), member_fields) for m in ordered],
    }


def verify_identity(
    session: Session, personal_id: str, full_name: str, date_of_birth: date
) -> dict[str, bool]:
    """Whether id, name and date of birth belong together: ``{"match": false}`` or
    ``{"match": true, "alive": ...}``.

    An unknown id and a wrong name or date answer the same ``{"match": false}``, so the
    service cannot be used to find out which ids exist or to look anybody up. Only a caller
    who already holds all three facts learns one more: whether the person is alive — a
    relying party must not accept the identity of a deceased person (identity theft from the
    dead is the classic fraud this check exists to stop). Names are compared with
    ``core.names.normalize_name``: Unicode form, case, extra whitespace and the placement of
    the tone mark ("Hòa"/"Hoà") do not matter; every letter and mark does ("Nguyen Van An"
    does not match "Nguyễn Văn An").
    """
    person = repository.person_by_id(session, personal_id)
    if (
        person is None
        or person.date_of_birth != date_of_birth
        or normalize_name(person.full_name) != normalize_name(full_name)
    ):
        return {"match": False}
    return {"match": True, "alive": person.date_of_death is None}


def person_record(p: Person | PersonRow) -> dict[str, Any]:
    """The full JSON-ready record of a person (every field of ``PERSON_FIELDS``)."""
    return {
        "personal_id": p.personal_id,
        "full_name": p.full_name,
        "date_of_birth": p.date_of_birth.isoformat(),
        "sex": p.sex,
        "birth_registration_place": {
            "province_code": p.birth_province,
            "province_name": LEGACY_PROVINCES.get(p.birth_province, ""),
        },
        "hometown": _unit(p.hometown_commune),
        "ethnicity": p.ethnicity,
        "nationality": p.nationality,
        "permanent_residence": _address(p.permanent_address, p.permanent_commune),
        "current_residence": _address(p.current_address, p.current_commune),
        "household_id": p.household_id,
        "relation_to_head": p.relation_to_head,
        "father_id": p.father_id,
        "mother_id": p.mother_id,
        "spouse_id": p.spouse_id,
        "marital_status": p.marital_status,
        "status": "alive" if p.date_of_death is None else "deceased",
        "date_of_death": p.date_of_death.isoformat() if p.date_of_death else None,
    }


def _member(p: Person) -> dict[str, Any]:
    return {
        "personal_id": p.personal_id,
        "full_name": p.full_name,
        "relation_to_head": p.relation_to_head,
        "date_of_birth": p.date_of_birth.isoformat(),
    }


def _unit(commune_code: str) -> dict[str, str | None]:
    return unit_names(commune_code)


def _address(line: str, commune_code: str) -> dict[str, str | None]:
    return {"address_line": line, **_unit(commune_code)}


def _household_address(h: Household) -> dict[str, str | None]:
    return _address(h.address_line, h.commune_code)
