"""The citizens' API: consents (grant, list, revoke), authenticated by a citizen token.

Served on both listeners; citizens use the public one (server TLS, no client certificate).
The token comes from the citizen identity service (``Authorization: Bearer …``); in the dev
stack that is a development stand-in for VNeID.
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field

from core.citizen import CitizenIdentity, CitizenTokenInvalid, verify_citizen_token
from core.errors import BadRequest, NotFound, error_response_doc
from core.ids.xroad import parse_client_id, parse_service_id
from gateway.consents import ConsentStore
from gateway.policy import Policy
from gateway.records import EvidenceKeys, PendingRecord


class ConsentNotFound(NotFound):
    type = "client.consent_not_found"
    default_message = "you have no such consent"


def current_citizen(request: Request) -> CitizenIdentity:
    state = request.app.state
    auth = request.headers.get("authorization", "")
    scheme, _, token = auth.partition(" ")
    if scheme.lower() != "bearer" or not token:
        raise CitizenTokenInvalid("missing", "sign in: Authorization: Bearer <citizen token>")
    return verify_citizen_token(
        token.strip(),
        store=state.store,
        now=state.clock(),
        audience=state.settings.gateway_id,
        issuer=parse_client_id(state.settings.citizen_issuer_id),
    )


CitizenDep = Annotated[CitizenIdentity, Depends(current_citizen)]

router = APIRouter(tags=["citizens"])


class ConsentIn(BaseModel):
    client: str = Field(description="The client subsystem that may receive the data")
    purpose: str = Field(description="A purpose code that needs consent (e.g. bank-kyc)")
    services: dict[str, list[str]] = Field(
        description="Service id → the fields the client may receive from it"
    )
    valid_until: dt.datetime | None = Field(
        default=None, description="End of validity (default: 90 days; at most the maximum)"
    )


async def _record(request: Request, action: str, subject: str, consent: dict[str, Any]) -> None:
    state = request.app.state
    await state.writer.append(
        [
            PendingRecord(
                x_road_id=consent["id"],
                kind="consent",
                recorded_at=state.clock(),
                client=consent["client"],
                subject=subject,
                body={"action": action, "consent": {**consent, "subject": subject}},
            )
        ]
    )


@router.get("/purposes", summary="The registered purposes, with their legal bases")
def purposes(request: Request) -> JSONResponse:
    policy: Policy = request.app.state.policy
    return JSONResponse({"purposes": [p.public() for p in policy.purposes.values()]})


@router.post(
    "/consents",
    status_code=201,
    summary="Give a consent",
    responses=error_response_doc(CitizenTokenInvalid, BadRequest),
)
async def grant_consent(request: Request, citizen: CitizenDep, body: ConsentIn) -> JSONResponse:
    state = request.app.state
    policy: Policy = state.policy
    keys: EvidenceKeys = state.keys
    now: dt.datetime = state.clock()
    client = parse_client_id(body.client)
    purpose = policy.purposes.get(body.purpose)
    if purpose is None:
        raise BadRequest(f"unknown purpose {body.purpose!r}", detail={"purpose": body.purpose})
    if not purpose.consent:
        raise BadRequest(
            f"purpose {purpose.code} does not rest on consent; nothing to consent to",
            detail={"purpose": purpose.code},
        )
    if not body.services:
        raise BadRequest("name at least one service and its fields")
    services: dict[str, list[str]] = {}
    for sid_text, fields in body.services.items():
        sid = parse_service_id(sid_text)
        offered = {f for op in state.catalogue.operations(sid) for f in op.fields}
        unknown = sorted(set(fields) - offered) if offered else []
        if unknown:
            raise BadRequest(
                f"{sid} offers no fields {', '.join(unknown)}", detail={"fields": unknown}
            )
        services[str(sid)] = sorted(set(fields))
    max_until = now + dt.timedelta(days=state.settings.max_consent_days)
    until = body.valid_until or now + dt.timedelta(days=90)
    if until.tzinfo is None:
        until = until.replace(tzinfo=dt.UTC)
    if not now < until <= max_until:
        raise BadRequest(
            f"valid_until must be in the future and within {state.settings.max_consent_days} days"
        )
    store: ConsentStore = state.consents
    subject = keys.subject_pseudonym(citizen.personal_id)
    consent = store.grant(
        subject=subject,
        client=client,
        purpose=purpose.code,
        services=services,
        valid_from=now,
        valid_until=until,
        now=now,
    )
    public = consent.public(now)
    await _record(request, "grant", subject, public)
    return JSONResponse(public, status_code=201)


@router.get(
    "/consents",
    summary="My consents",
    responses=error_response_doc(CitizenTokenInvalid),
)
def list_consents(request: Request, citizen: CitizenDep) -> JSONResponse:
    state = request.app.state
    now = state.clock()
    subject = state.keys.pseudonym(citizen.personal_id)
    return JSONResponse({"consents": [c.public(now) for c in state.consents.of_subject(subject)]})


@router.delete(
    "/consents/{consent_id}",
    summary="Revoke a consent",
    responses=error_response_doc(CitizenTokenInvalid, ConsentNotFound),
)
async def revoke_consent(request: Request, citizen: CitizenDep, consent_id: str) -> JSONResponse:
    state = request.app.state
    now = state.clock()
    subject = state.keys.pseudonym(citizen.personal_id)
    consent = state.consents.revoke(consent_id, subject=subject, now=now)
    if consent is None:
        raise ConsentNotFound()
    public = consent.public(now)
    await _record(request, "revoke", subject, public)
    return JSONResponse(public)
