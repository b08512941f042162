"""HTTP routes of the population registry: thin — parse, call the service, return JSON."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Request, Response
from fastapi.responses import JSONResponse

from core.data_service import (
    FieldsParam,
    PersonalIdPath,
    SessionDep,
    fast_reader,
    fields_query,
)
from core.errors import InvalidIdentifier, UnknownFields, error_response_doc
from core.fields import parse_fields
from core.http import json_response
from core.ids.personal import validate_personal_id
from registries.population import service
from registries.population.schemas import HouseholdOut, IdentityMatch, IdentityQuery, PersonOut
from registries.population.service import MEMBER_FIELDS, PERSON_FIELDS, PersonNotFound

router = APIRouter()


@router.get(
    "/persons/{personal_id}",
    tags=["persons"],
    summary="A person by personal id",
    description="The person's record from the National Population Database. "
    f"`fields` selects top-level fields: {', '.join(PERSON_FIELDS)}.",
    response_model=PersonOut,
    responses=error_response_doc(InvalidIdentifier, UnknownFields, PersonNotFound),
)
async def get_person(
    personal_id: PersonalIdPath,
    request: Request,
    fields: Annotated[FieldsParam, fields_query("fields", PERSON_FIELDS)] = None,
) -> Response:
    pid = validate_personal_id(personal_id)
    selected = parse_fields(fields, PERSON_FIELDS)
    return json_response(service.get_person(fast_reader(request), pid, selected))


@router.get(
    "/persons/{personal_id}/household",
    tags=["households"],
    summary="The household of a person",
    description="The household the person is registered in: its id, registered address, "
    "head, and living members (head first, then oldest first). `fields` selects the member "
    f"fields: {', '.join(MEMBER_FIELDS)}.",
    response_model=HouseholdOut,
    responses=error_response_doc(InvalidIdentifier, UnknownFields, PersonNotFound),
)
def get_household(
    personal_id: PersonalIdPath,
    session: SessionDep,
    fields: Annotated[FieldsParam, fields_query("member fields", MEMBER_FIELDS)] = None,
) -> JSONResponse:
    pid = validate_personal_id(personal_id)
    selected = parse_fields(fields, MEMBER_FIELDS)
    return JSONResponse(service.get_household(session, pid, selected))


@router.post(
    "/verifications/identity",
    tags=["verifications"],
    summary="Do this id, name and date of birth belong together?",
    description='Answers `{"match": false}` — for an unknown id as for a wrong name or '
    'date — or `{"match": true, "alive": true|false}`. Nothing else about the person '
    "is disclosed. Names are compared ignoring Unicode form, case, extra whitespace and "
    "tone-mark placement (Hòa = Hoà); every letter and mark counts. POST, so the personal "
    "data stays out of URLs and "
    "logs.",
    response_model=IdentityMatch,
    responses=error_response_doc(InvalidIdentifier),
)
def verify_identity(query: IdentityQuery, session: SessionDep) -> JSONResponse:
    pid = validate_personal_id(query.personal_id)
    return JSONResponse(service.verify_identity(session, pid, query.full_name, query.date_of_birth))
