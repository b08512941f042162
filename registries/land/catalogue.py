"""What the land registry offers through the gateway (served at ``GET /catalogue``).

Built from the field constants of ``service.py``, so a field added there is offered here.
"""

from __future__ import annotations

from core.catalogue import Catalogue, CatalogueService, Operation, Title
from registries.land.service import HOLDING_FIELDS, PARCEL_FIELDS

SERVICES: tuple[CatalogueService, ...] = (
    CatalogueService(
        code="parcels",
        title=Title(vi="Thông tin thửa đất", en="Land parcels"),
        operations=(
            Operation(
                method="GET",
                path="/{parcel_id}",
                summary="A parcel by national parcel id or cadastral number",
                fields=PARCEL_FIELDS,
                fields_at="",
                # A parcel id names land, not a person; rights_holders, transactions and
                # encumbrances name the people who hold or traded it.
                subject=None,
                personal_data=True,
            ),
        ),
    ),
    CatalogueService(
        code="persons",
        title=Title(vi="Thửa đất của cá nhân", en="Parcels held by a person"),
        operations=(
            Operation(
                method="GET",
                path="/{personal_id}/parcels",
                summary="Parcels where a person holds a land use right",
                fields=HOLDING_FIELDS,
                fields_at="parcels",  # the keys of each parcel in the list
                subject="path:personal_id",
                personal_data=True,
            ),
        ),
    ),
    CatalogueService(
        code="enterprises",
        title=Title(vi="Thửa đất của doanh nghiệp", en="Parcels held by an enterprise"),
        operations=(
            Operation(
                method="GET",
                path="/{enterprise_code}/parcels",
                summary="Parcels where an enterprise holds a land use right",
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
    ),
    CatalogueService(
        code="verifications",
        title=Title(
            vi="Xác thực giấy chứng nhận quyền sử dụng đất",
            en="Land use right certificate verification",
        ),
        operations=(
            Operation(
                method="POST",
                path="/certificate",
                summary="Is this certificate in force, for this parcel and holder?",
                fields=(),
                fields_at=None,
                # holder_id is a personal id or an enterprise code; with a person it
                # confirms that they hold the right (the subject is a person only when
                # holder_id is a 12-digit personal id).
                subject="body:holder_id",
                personal_data=True,
            ),
        ),
    ),
)


def catalogue(provider: str) -> Catalogue:
    """The catalogue of the land registry running as ``provider``."""
    return Catalogue(provider=provider, services=SERVICES)
