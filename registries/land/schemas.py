"""Request and response shapes of the land registry, with OpenAPI examples.

Responses are documented here, not validated on the way out: the service builds JSON-ready
dicts and ``fields=`` may leave any field out, so every response field is optional.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field
from pydantic.config import JsonDict

_HOLDER_A: JsonDict = {
    "kind": "person",
    "id": "001078012345",
    "name": "Nguyễn Văn An",
    "share": 0.5,
    "marital_property": True,
    "acquired_on": "2012-05-14",
}
_HOLDER_B: JsonDict = {**_HOLDER_A, "id": "001180054321", "name": "Trần Thị Hoa"}
_BANK: JsonDict = {
    "role": "mortgagee",
    "kind": "enterprise",
    "id": "0100112437",
    "name": "Ngân hàng TMCP",
}

CERTIFICATE_EXAMPLE: JsonDict = {
    "certificate_number": "BK 123456",
    "issued_on": "2012-06-20",
    "issued_by": "Sở Tài nguyên và Môi trường Thành phố Hà Nội",
    "status": "valid",
    "status_changed_on": None,
}
ENCUMBRANCE_EXAMPLE: JsonDict = {
    "kind": "mortgage",
    "creditor_code": "0100112437",
    "creditor_name": "Ngân hàng TMCP",
    "amount_vnd": 2_500_000_000,
    "registered_on": "2021-03-02",
    "status": "active",
    "released_on": None,
}
TRANSACTION_EXAMPLE: JsonDict = {
    "kind": "transfer",
    "registered_on": "2012-05-14",
    "certificate_number": "BK 123456",
    "parties": [
        {"role": "transferor", "kind": "person", "id": "001065000111", "name": "Lê Văn Bình"},
        {"role": "transferee", "kind": "person", "id": "001078012345", "name": "Nguyễn Văn An"},
    ],
}
PARCEL_EXAMPLE: JsonDict = {
    "parcel_id": "w7er8u0evss2",
    "cadastral_number": "00070-12-345",
    "commune_code": "00070",
    "map_sheet": 12,
    "parcel_number": 345,
    "area_m2": 86.4,
    "purpose_code": "ODT",
    "purpose_name": "Đất ở tại đô thị",
    "use_term": "long-term",
    "use_until": None,
    "origin": "Nhận chuyển nhượng quyền sử dụng đất",
    "address": "Số 12, Tổ 5, Phường Hoàn Kiếm, Thành phố Hà Nội",
    "certificate": CERTIFICATE_EXAMPLE,
    "rights_holders": [_HOLDER_A, _HOLDER_B],
    "encumbrances": [ENCUMBRANCE_EXAMPLE],
    "transactions": [
        TRANSACTION_EXAMPLE,
        {
            "kind": "mortgage_registration",
            "registered_on": "2021-03-02",
            "certificate_number": None,
            "parties": [
                {**_HOLDER_A, "role": "mortgagor"},
                {**_HOLDER_B, "role": "mortgagor"},
                _BANK,
            ],
        },
    ],
}
HOLDING_EXAMPLE: JsonDict = {
    "parcel_id": "w7er8u0evss2",
    "cadastral_number": "00070-12-345",
    "commune_code": "00070",
    "map_sheet": 12,
    "parcel_number": 345,
    "area_m2": 86.4,
    "purpose_code": "ODT",
    "purpose_name": "Đất ở tại đô thị",
    "address": "Số 12, Tổ 5, Phường Hoàn Kiếm, Thành phố Hà Nội",
    "share": 0.5,
    "marital_property": True,
    "acquired_on": "2012-05-14",
    "certificate_number": "BK 123456",
    "certificate_status": "valid",
    "has_active_mortgage": True,
}


def _examples(example: JsonDict) -> ConfigDict:
    return ConfigDict(json_schema_extra={"examples": [example]})


class CertificateOut(BaseModel):
    """The certificate in force for the parcel (or the last one, if it was revoked)."""

    model_config = _examples(CERTIFICATE_EXAMPLE)

    certificate_number: str | None = Field(None, description="Opaque serial, e.g. 'BK 123456'")
    issued_on: str | None = None
    issued_by: str | None = None
    status: Literal["valid", "revoked", "replaced"] | None = None
    status_changed_on: str | None = Field(None, description="When it was revoked")


class RightsHolderOut(BaseModel):
    """A current holder of the land use right."""

    model_config = _examples(_HOLDER_A)

    kind: Literal["person", "enterprise"] | None = None
    id: str | None = Field(None, description="Personal id (12 digits) or enterprise code")
    name: str | None = None
    share: float | None = Field(None, description="Fraction of the right, 0-1")
    marital_property: bool | None = Field(
        None, description="Common property of a married couple: both spouses must consent"
    )
    acquired_on: str | None = None


class EncumbranceOut(BaseModel):
    """A mortgage registered over the parcel."""

    model_config = _examples(ENCUMBRANCE_EXAMPLE)

    kind: Literal["mortgage"] | None = None
    creditor_code: str | None = Field(None, description="Enterprise code of the bank")
    creditor_name: str | None = None
    amount_vnd: int | None = None
    registered_on: str | None = None
    status: Literal["active", "released"] | None = None
    released_on: str | None = None


class PartyOut(BaseModel):
    role: str
    kind: Literal["person", "enterprise"]
    id: str
    name: str


class TransactionOut(BaseModel):
    """A registered change, oldest first."""

    model_config = _examples(TRANSACTION_EXAMPLE)

    kind: (
        Literal[
            "initial_registration",
            "transfer",
            "inheritance",
            "gift",
            "certificate_reissue",
            "certificate_revocation",
            "mortgage_registration",
            "mortgage_release",
        ]
        | None
    ) = None
    registered_on: str | None = None
    certificate_number: str | None = Field(None, description="Certificate it issued, if any")
    parties: list[PartyOut] | None = None


class ParcelOut(BaseModel):
    """A land parcel (thửa đất). Fields absent from ``fields=`` are left out."""

    model_config = _examples(PARCEL_EXAMPLE)

    parcel_id: str | None = Field(None, description="National parcel id: 12-character GeoHash")
    cadastral_number: str | None = Field(None, description="Commune-map sheet-parcel number")
    commune_code: str | None = Field(None, description="Current (2025) commune code")
    map_sheet: int | None = Field(None, description="Map sheet number (tờ bản đồ)")
    parcel_number: int | None = Field(None, description="Parcel number on the sheet (thửa)")
    area_m2: float | None = None
    purpose_code: str | None = Field(None, description="Land use purpose code (ODT, LUC, ...)")
    purpose_name: str | None = None
    use_term: Literal["long-term", "limited"] | None = None
    use_until: str | None = Field(None, description="Last day of a limited term")
    origin: str | None = Field(None, description="Origin of the right (nguồn gốc sử dụng)")
    address: str | None = None
    certificate: CertificateOut | None = None
    rights_holders: list[RightsHolderOut] | None = None
    encumbrances: list[EncumbranceOut] | None = None
    transactions: list[TransactionOut] | None = None


class HoldingOut(BaseModel):
    """One parcel in a holder's list, with the holder's share."""

    model_config = _examples(HOLDING_EXAMPLE)

    parcel_id: str | None = None
    cadastral_number: str | None = None
    commune_code: str | None = None
    map_sheet: int | None = None
    parcel_number: int | None = None
    area_m2: float | None = None
    purpose_code: str | None = None
    purpose_name: str | None = None
    address: str | None = None
    share: float | None = None
    marital_property: bool | None = None
    acquired_on: str | None = None
    certificate_number: str | None = None
    certificate_status: Literal["valid", "revoked", "replaced"] | None = None
    has_active_mortgage: bool | None = None


class PersonParcelsOut(BaseModel):
    model_config = _examples({"personal_id": "001078012345", "parcels": [HOLDING_EXAMPLE]})

    personal_id: str
    parcels: list[HoldingOut]


class EnterpriseParcelsOut(BaseModel):
    model_config = _examples(
        {"enterprise_code": "0100112437", "parcels": [{**HOLDING_EXAMPLE, "share": 1.0}]}
    )

    enterprise_code: str
    parcels: list[HoldingOut]


class CertificateVerificationQuery(BaseModel):
    """Facts to check against a certificate; only the certificate number is required."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "certificate_number": "BK 123456",
                    "parcel_id": "w7er8u0evss2",
                    "holder_id": "001078012345",
                }
            ]
        },
    )

    certificate_number: str = Field(
        min_length=1, max_length=32, description="As printed; case and spacing are ignored"
    )
    parcel_id: str | None = Field(None, description="National parcel id the certificate is for")
    holder_id: str | None = Field(
        None, description="Personal id or enterprise code of a holder named on it"
    )


class CertificateVerification(BaseModel):
    """The answer: in force or not, and whether every given fact holds — nothing else."""

    model_config = _examples({"valid": True, "status": "valid", "match": True})

    valid: bool
    status: Literal["valid", "revoked", "replaced"]
    match: bool
