"""HTTP routes of the business registry: thin — parse, call the service, return JSON."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path
from fastapi.responses import JSONResponse

from core.data_service import FieldsParam, PersonalIdPath, SessionDep, fields_query
from core.errors import InvalidIdentifier, UnknownFields, error_response_doc
from core.fields import parse_fields
from core.ids.enterprise import parse_enterprise_code
from core.ids.personal import validate_personal_id
from registries.business import service
from registries.business.identifiers import parse_registration_number
from registries.business.schemas import (
    EnterpriseOut,
    EnterpriseVerification,
    EnterpriseVerificationQuery,
    HouseholdBusinessOut,
    PersonRolesOut,
)
from registries.business.service import (
    ENTERPRISE_FIELDS,
    HOUSEHOLD_BUSINESS_FIELDS,
    ROLE_BUSINESS_FIELDS,
    EnterpriseNotFound,
    HouseholdBusinessNotFound,
)

router = APIRouter()


EnterpriseFields = Annotated[FieldsParam, fields_query("fields", ENTERPRISE_FIELDS)]
BusinessFields = Annotated[
    FieldsParam, fields_query("business summary fields", ROLE_BUSINESS_FIELDS)
]
HouseholdFields = Annotated[FieldsParam, fields_query("fields", HOUSEHOLD_BUSINESS_FIELDS)]


@router.get(
    "/enterprises/{enterprise_code}",
    tags=["enterprises"],
    summary="An enterprise by enterprise code (tax code)",
    description="The enterprise's registration record: names, type, legal status, head "
    "office, charter capital, VSIC 2018 industries, legal representatives and owners. "
    "Branch codes (`0101234565-001`) are valid input, but branches are not kept in this "
    "register: they answer 404 naming the parent enterprise. "
    f"`fields` selects top-level fields: {', '.join(ENTERPRISE_FIELDS)}.",
    response_model=EnterpriseOut,
    responses=error_response_doc(InvalidIdentifier, UnknownFields, EnterpriseNotFound),
)
def get_enterprise(
    enterprise_code: Annotated[
        str,
        Path(
            description="10-digit enterprise code with a valid check digit "
            "(mã số doanh nghiệp), or a 14-character branch code",
            examples=["0101234565"],
        ),
    ],
    session: SessionDep,
    fields: EnterpriseFields = None,
) -> JSONResponse:
    code = parse_enterprise_code(enterprise_code)
    selected = parse_fields(fields, ENTERPRISE_FIELDS)
    return JSONResponse(service.get_enterprise(session, code, selected))


@router.get(
    "/persons/{personal_id}/roles",
    tags=["persons"],
    summary="Enterprises and household businesses where a person has a role",
    description="Every role the person holds or held — legal representative, owner, "
    "member, founding shareholder, general partner, household business owner — oldest "
    "first, each with a summary of the business (its status shows whether it still "
    "operates). The business register knows only the people who hold a role, so a person "
    "it does not know gets an empty list, never a 404; that says nothing about whether the "
    "person exists (ask the population registry). `fields` selects the business summary "
    f"fields: {', '.join(ROLE_BUSINESS_FIELDS)}.",
    response_model=PersonRolesOut,
    responses=error_response_doc(InvalidIdentifier, UnknownFields),
)
def get_person_roles(
    personal_id: PersonalIdPath,
    session: SessionDep,
    fields: BusinessFields = None,
) -> JSONResponse:
    pid = validate_personal_id(personal_id)
    selected = parse_fields(fields, ROLE_BUSINESS_FIELDS)
    return JSONResponse(service.roles_of_person(session, pid, selected))


@router.get(
    "/household-businesses/{registration_number}",
    tags=["household businesses"],
    summary="A household business by registration number",
    description="The household business (hộ kinh doanh): name, owner, location, sector, "
    "capital and status. Its tax code is the owner's personal id (since 1 July 2025). "
    f"`fields` selects top-level fields: {', '.join(HOUSEHOLD_BUSINESS_FIELDS)}.",
    response_model=HouseholdBusinessOut,
    responses=error_response_doc(InvalidIdentifier, UnknownFields, HouseholdBusinessNotFound),
)
def get_household_business(
    registration_number: Annotated[
        str,
        Path(
            description="Registration number: 2-digit province code, office letter, '8', "
            "6-digit serial",
            examples=["01A8012345"],
        ),
    ],
    session: SessionDep,
    fields: HouseholdFields = None,
) -> JSONResponse:
    number = parse_registration_number(registration_number)
    selected = parse_fields(fields, HOUSEHOLD_BUSINESS_FIELDS)
    return JSONResponse(service.get_household_business(session, number, selected))


@router.post(
    "/verifications/enterprise",
    tags=["verifications"],
    summary="Do these facts about an enterprise hold?",
    description='Answers `{"match": true|false, "status": "..."}`: whether every given '
    "fact holds — the name (registered Vietnamese or English name, compared ignoring "
    "Unicode form, case, extra whitespace and tone-mark placement) and a current legal "
    "representative's personal id — and the enterprise's legal status. Nothing else is "
    "disclosed. An unknown enterprise code is a 404 (the register of enterprises is "
    "public). POST, so the personal id stays out of URLs and logs.",
    response_model=EnterpriseVerification,
    responses=error_response_doc(InvalidIdentifier, EnterpriseNotFound),
)
def verify_enterprise(query: EnterpriseVerificationQuery, session: SessionDep) -> JSONResponse:
    code = parse_enterprise_code(query.enterprise_code)
    rep = query.legal_representative_id
    if rep is not None:
        rep = validate_personal_id(rep)
    return JSONResponse(service.verify_enterprise(session, code, query.name, rep))
