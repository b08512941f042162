"""HTTP routes of the land registry: thin — parse, call the service, return JSON."""

from __future__ import annotations

import re
from typing import Annotated

from fastapi import APIRouter, Path
from fastapi.responses import JSONResponse

from core.data_service import FieldsParam, PersonalIdPath, SessionDep, fields_query
from core.errors import InvalidIdentifier, UnknownFields, error_response_doc
from core.fields import parse_fields
from core.ids import is_ascii_digits
from core.ids.enterprise import parse_enterprise_code
from core.ids.parcel import ParcelNumber, parse_parcel_id, parse_parcel_number
from core.ids.personal import validate_personal_id
from registries.land import service
from registries.land.schemas import (
    CertificateVerification,
    CertificateVerificationQuery,
    EnterpriseParcelsOut,
    ParcelOut,
    PersonParcelsOut,
)
from registries.land.service import (
    HOLDING_FIELDS,
    PARCEL_FIELDS,
    CertificateNotFound,
    ParcelNotFound,
)

_CERTIFICATE_NUMBER = re.compile(r"^[A-Z0-9][A-Z0-9 ./-]{0,31}$")


router = APIRouter()


ParcelFields = Annotated[FieldsParam, fields_query("fields", PARCEL_FIELDS)]
HoldingFields = Annotated[FieldsParam, fields_query("fields of each parcel", HOLDING_FIELDS)]


def parse_parcel_ref(s: str) -> str | ParcelNumber:
    """A national parcel id (``w7er8u0evss2``) or a cadastral number (``00070-12-345``).

    The two cannot be confused: the GeoHash alphabet has no ``-``.
    """
    return parse_parcel_number(s) if "-" in s else parse_parcel_id(s)


def parse_holder_id(s: str) -> str:
    """A 12-digit personal id or an enterprise code, whichever ``s`` looks like."""
    if len(s) == 12 and is_ascii_digits(s):
        return validate_personal_id(s)
    if len(s) in (10, 14):
        return parse_enterprise_code(s)
    raise InvalidIdentifier(
        "holder_id must be a 12-digit personal id or a 10-digit enterprise code",
        detail={"part": "holder_id"},
    )


def normalise_certificate_number(s: str) -> str:
    """Certificate serials are compared upper-case with single spaces (``bk  123456``)."""
    number = " ".join(s.split())
    # Check before upper-casing: str.upper() turns some letters into ASCII ("ß" → "SS").
    if not number.isascii() or not _CERTIFICATE_NUMBER.match(number.upper()):
        raise InvalidIdentifier(
            "certificate_number may hold only letters, digits, spaces, '.', '/' and '-'",
            detail={"part": "certificate_number"},
        )
    return number.upper()


@router.get(
    "/parcels/{parcel_id}",
    tags=["parcels"],
    summary="A parcel by national parcel id or cadastral number",
    description="The parcel record: location, area, land use purpose and term, origin, the "
    "certificate in force, the current rights holders with their shares, mortgages and the "
    "history of registered transactions. The parcel may be named by its national id (the "
    "12-character GeoHash, `w7er8u0evss2`) or by its cadastral number, commune code-map "
    "sheet-parcel number (`00070-12-345`); the answer always carries both. "
    f"`fields` selects top-level fields: {', '.join(PARCEL_FIELDS)}; nested parts not "
    "asked for are not read.",
    response_model=ParcelOut,
    responses=error_response_doc(InvalidIdentifier, UnknownFields, ParcelNotFound),
)
def get_parcel(
    parcel_id: Annotated[
        str,
        Path(
            description="National parcel id (12 GeoHash characters) or cadastral number "
            "COMMUNE-SHEET-PARCEL",
            examples=["w7er8u0evss2", "00070-12-345"],
        ),
    ],
    session: SessionDep,
    fields: ParcelFields = None,
) -> JSONResponse:
    ref = parse_parcel_ref(parcel_id)
    selected = parse_fields(fields, PARCEL_FIELDS)
    return JSONResponse(service.get_parcel(session, ref, selected))


@router.get(
    "/persons/{personal_id}/parcels",
    tags=["holders"],
    summary="Parcels where a person holds a land use right",
    description="Every parcel the person currently holds a right to, alone or with others "
    "(a spouse, co-heirs), with their share, oldest acquisition first. The land register "
    "knows people only as holders, so a person it does not know gets an empty list, never "
    "a 404; that says nothing about whether the person exists. "
    f"`fields` selects the fields of each parcel: {', '.join(HOLDING_FIELDS)}.",
    response_model=PersonParcelsOut,
    responses=error_response_doc(InvalidIdentifier, UnknownFields),
)
def get_person_parcels(
    personal_id: PersonalIdPath,
    session: SessionDep,
    fields: HoldingFields = None,
) -> JSONResponse:
    pid = validate_personal_id(personal_id)
    selected = parse_fields(fields, HOLDING_FIELDS)
    return JSONResponse(service.parcels_of_person(session, pid, selected))


@router.get(
    "/enterprises/{enterprise_code}/parcels",
    tags=["holders"],
    summary="Parcels where an enterprise holds a land use right",
    description="Like the persons' list, for an enterprise (leased or transferred land). An "
    "enterprise the land register does not know gets an empty list. "
    f"`fields` selects the fields of each parcel: {', '.join(HOLDING_FIELDS)}.",
    response_model=EnterpriseParcelsOut,
    responses=error_response_doc(InvalidIdentifier, UnknownFields),
)
def get_enterprise_parcels(
    enterprise_code: Annotated[
        str,
        Path(
            description="10-digit enterprise code with a valid check digit",
            examples=["0100112437"],
        ),
    ],
    session: SessionDep,
    fields: HoldingFields = None,
) -> JSONResponse:
    code = parse_enterprise_code(enterprise_code)
    selected = parse_fields(fields, HOLDING_FIELDS)
    return JSONResponse(service.parcels_of_enterprise(session, code, selected))


@router.post(
    "/verifications/certificate",
    tags=["verifications"],
    summary="Is this certificate in force, for this parcel and holder?",
    description='Answers `{"valid", "status", "match"}`: whether the certificate is the one '
    "in force (`status` valid, revoked or replaced) and whether every fact given holds — "
    "the national parcel id is the certificate's, the holder (personal id or enterprise "
    "code) is named on it. Nothing else is disclosed. An unknown certificate number is a "
    "404. POST, so the personal id stays out of URLs and logs.",
    response_model=CertificateVerification,
    responses=error_response_doc(InvalidIdentifier, CertificateNotFound),
)
def verify_certificate(query: CertificateVerificationQuery, session: SessionDep) -> JSONResponse:
    number = normalise_certificate_number(query.certificate_number)
    parcel_id = parse_parcel_id(query.parcel_id) if query.parcel_id is not None else None
    holder_id = parse_holder_id(query.holder_id) if query.holder_id is not None else None
    return JSONResponse(service.verify_certificate(session, number, parcel_id, holder_id))
