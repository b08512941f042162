"""What the population registry offers through the gateway (served at ``GET /catalogue``).

Built from the field constants of ``service.py``, so a field added there is offered here.
"""

from __future__ import annotations

from core.catalogue import Catalogue, CatalogueService, Title, check, read, service
from registries.population.service import MEMBER_FIELDS, PERSON_FIELDS

SERVICES: tuple[CatalogueService, ...] = (
    service(
        "persons",
        Title(vi="Thông tin công dân và hộ gia đình", en="Persons and households"),
        read(
            "/{personal_id}",
            "A person by personal id",
            fields=PERSON_FIELDS,  # the person record's top-level keys
            subject="path:personal_id",
        ),
        read(
            "/{personal_id}/household",
            "The household of a person",
            fields=MEMBER_FIELDS,
            # fields= selects the keys of each member; household_id, address and
            # head_id are always returned.
            fields_at="members",
            subject="path:personal_id",
        ),
    ),
    service(
        "verifications",
        Title(vi="Xác thực thông tin công dân", en="Identity verification"),
        check(
            "/identity",
            "Do this id, name and date of birth belong together?",
            # Discloses only match/alive, but about the person the body names: a
            # confirmed identity (and whether they are alive) is personal data.
            subject="body:personal_id",
        ),
    ),
)


def catalogue(provider: str) -> Catalogue:
    """The catalogue of the population registry running as ``provider``."""
    return Catalogue(provider=provider, services=SERVICES)
