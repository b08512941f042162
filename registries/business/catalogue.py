"""What the business registry offers through the gateway (served at ``GET /catalogue``).

Built from the field constants of ``service.py``, so a field added there is offered here.
"""

from __future__ import annotations

from core.catalogue import Catalogue, CatalogueService, Title, check, read, service
from registries.business.service import (
    ENTERPRISE_FIELDS,
    HOUSEHOLD_BUSINESS_FIELDS,
    ROLE_BUSINESS_FIELDS,
)

SERVICES: tuple[CatalogueService, ...] = (
    service(
        "enterprises",
        Title(vi="Thông tin doanh nghiệp", en="Enterprises"),
        read(
            "/{enterprise_code}",
            "An enterprise by enterprise code (tax code)",
            fields=ENTERPRISE_FIELDS,
            subject=None,
            # The register of enterprises is public, but legal_representatives and
            # owners name natural persons with their personal ids.
            personal_data=True,
        ),
    ),
    service(
        "persons",
        Title(
            vi="Vai trò của cá nhân trong doanh nghiệp và hộ kinh doanh",
            en="Roles of a person in businesses",
        ),
        read(
            "/{personal_id}/roles",
            "Enterprises and household businesses where a person has a role",
            fields=ROLE_BUSINESS_FIELDS,
            # fields= selects the keys of each role's business summary; the role itself
            # (role, title, share, since) is always returned.
            fields_at="roles.business",
            subject="path:personal_id",
        ),
    ),
    service(
        "household-businesses",
        Title(vi="Hộ kinh doanh", en="Household businesses"),
        read(
            "/{registration_number}",
            "A household business by registration number",
            fields=HOUSEHOLD_BUSINESS_FIELDS,
            # The path holds a registration number, not a personal id; the owner's id
            # is in the answer (owner, tax_code), so the gateway cannot know it first.
            subject=None,
        ),
    ),
    service(
        "verifications",
        Title(vi="Xác thực thông tin doanh nghiệp", en="Enterprise verification"),
        check(
            "/enterprise",
            "Do these facts about an enterprise hold?",
            # A check of name and status alone concerns a legal person only, but the
            # same operation may name a legal representative by personal id, and then
            # confirms a fact about that person. One flag per operation: true.
            subject="body:legal_representative_id",
            personal_data=True,
        ),
    ),
)


def catalogue(provider: str) -> Catalogue:
    """The catalogue of the business registry running as ``provider``."""
    return Catalogue(provider=provider, services=SERVICES)
