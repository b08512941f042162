"""What the land registry offers through the gateway (served at ``GET /catalogue``).

Built from the field constants of ``service.py``, so a field added there is offered here.
"""

from __future__ import annotations

from core.catalogue import Catalogue, CatalogueService, Title, check, read, service
from registries.land.service import HOLDING_FIELDS, PARCEL_FIELDS

SERVICES: tuple[CatalogueService, ...] = (
    service(
        "parcels",
        Title(vi="Thông tin thửa đất", en="Land parcels"),
        read(
            "/{parcel_id}",
            "A parcel by national parcel id or cadastral number",
            fields=PARCEL_FIELDS,
            # A parcel id names land, not a person; rights_holders, transactions and
            # encumbrances name the people who hold or traded it.
            subject=None,
        ),
    ),
    service(
        "persons",
        Title(vi="Thửa đất của cá nhân", en="Parcels held by a person"),
        read(
            "/{personal_id}/parcels",
            "Parcels where a person holds a land use right",
            fields=HOLDING_FIELDS,
            fields_at="parcels",  # the keys of each parcel in the list
            subject="path:personal_id",
        ),
    ),
    service(
        "enterprises",
        Title(vi="Thửa đất của doanh nghiệp", en="Parcels held by an enterprise"),
        read(
            "/{enterprise_code}/parcels",
            "Parcels where an enterprise holds a land use right",
            fields=HOLDING_FIELDS,
            fields_at="parcels",
            subject=None,
            # The holder is an enterprise (the path takes a 10-digit enterprise code,
            # never a personal id) and the answer names nobody: parcel data, the
            # enterprise's share, certificate and mortgage flags. A private enterprise
            # (doanh nghiệp tư nhân) belongs to one person, but its land is registered
            # as the enterprise's; grants still decide who may ask.
            personal_data=False,
        ),
    ),
    service(
        "verifications",
        Title(
            vi="Xác thực giấy chứng nhận quyền sử dụng đất",
            en="Land use right certificate verification",
        ),
        check(
            "/certificate",
            "Is this certificate in force, for this parcel and holder?",
            # holder_id is a personal id or an enterprise code; with a person it
            # confirms that they hold the right (the subject is a person only when
            # holder_id is a 12-digit personal id).
            subject="body:holder_id",
        ),
    ),
)


def catalogue(provider: str) -> Catalogue:
    """The catalogue of the land registry running as ``provider``."""
    return Catalogue(provider=provider, services=SERVICES)
