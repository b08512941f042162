"""Runtime policy changes: the admin API behind ``lienthong grants list|add|revoke``.

Only the administrator identity (its member certificate on the mTLS listener) may call it.
Grants added here live in the gateway's database next to the policy files' grants; a file
grant can be revoked at runtime (an emergency cut-off) and stays revoked until the policy
file changes its content. Every change is a record in the evidence log.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Body, Depends, Request
from fastapi.responses import JSONResponse
from sqlalchemy import insert, select, update
from sqlalchemy.engine import Engine

from core.errors import BadRequest, NotFound, error_response_doc
from core.ids.xroad import ClientId
from gateway.audit import require_identity
from gateway.errors import AccessDenied
from gateway.models import access_grant
from gateway.policy import Grant, Policy, PolicyError, parse_grant
from gateway.records import PendingRecord


class GrantNotFound(NotFound):
    type = "client.grant_not_found"
    default_message = "no such live grant"


def load_runtime_grants(engine: Engine, policy: Policy) -> None:
    """Apply the database's grants to ``policy``: runtime grants added, revocations removed."""
    with engine.connect() as conn:
        rows = conn.execute(select(access_grant)).all()
    for r in rows:
        if r.revoked_at is not None:
            policy.remove(r.id)
        elif policy.get(r.id) is None:
            try:
                policy.add(
                    parse_grant(
                        {**r.grant, "id": r.id},
                        f"grant {r.id}",
                        purposes=policy.purposes,
                        source="runtime",
                    )
                )
            except PolicyError:
                continue  # a purpose removed from the files since: the grant lapses


def current_admin(request: Request) -> ClientId:
    return require_identity(request, request.app.state.settings.admin_id, "admin API")


AdminDep = Annotated[ClientId, Depends(current_admin)]

router = APIRouter(prefix="/admin", tags=["admin"])


async def _record(request: Request, admin: ClientId, action: str, grant: Grant) -> None:
    state = request.app.state
    now = state.clock()
    await state.writer.append(
        [
            PendingRecord(
                x_road_id=grant.id,
                kind="grant",
                recorded_at=now,
                client=str(admin),
                subject=None,
                body={"action": action, "by": str(admin), "grant": grant.to_dict()},
            )
        ]
    )


@router.get(
    "/grants",
    summary="Access rights in force",
    responses=error_response_doc(AccessDenied),
)
def list_grants(request: Request, _admin: AdminDep, client: str | None = None) -> JSONResponse:
    policy: Policy = request.app.state.policy
    grants = [g.to_dict() for g in policy.grants() if client is None or str(g.client) == client]
    return JSONResponse({"grants": grants})


@router.post(
    "/grants",
    status_code=201,
    summary="Add an access right",
    responses=error_response_doc(AccessDenied, BadRequest),
)
async def add_grant(
    request: Request, admin: AdminDep, entry: Annotated[dict[str, Any], Body()]
) -> JSONResponse:
    state = request.app.state
    policy: Policy = state.policy
    try:
        grant = parse_grant(
            {k: v for k, v in entry.items() if k != "id"},
            "grant",
            purposes=policy.purposes,
            source="runtime",
        )
    except PolicyError as e:
        raise BadRequest(str(e)) from e
    now = state.clock()
    row = grant.to_dict()
    stored = {k: row[k] for k in ("client", "service", "methods", "paths", "purposes", "fields")}
    with state.engine.begin() as conn:
        conn.execute(
            insert(access_grant),
            [
                {
                    "id": grant.id,
                    "client": row["client"],
                    "service": row["service"],
                    "grant": stored,
                    "created_at": now,
                    "created_by": str(admin),
                }
            ],
        )
    policy.add(grant)
    await _record(request, admin, "add", grant)
    return JSONResponse(grant.to_dict(), status_code=201)


@router.delete(
    "/grants/{grant_id}",
    summary="Revoke an access right (runtime or from the policy files)",
    responses=error_response_doc(AccessDenied, GrantNotFound),
)
async def revoke_grant(request: Request, admin: AdminDep, grant_id: str) -> JSONResponse:
    state = request.app.state
    policy: Policy = state.policy
    grant = policy.get(grant_id)
    if grant is None:
        raise GrantNotFound(f"no live grant {grant_id}")
    now = state.clock()
    with state.engine.begin() as conn:
        if grant.source == "runtime":
            conn.execute(
                update(access_grant)
                .where(access_grant.c.id == grant_id)
                .values(revoked_at=now, revoked_by=str(admin))
            )
        else:
            d = grant.to_dict()
            conn.execute(
                insert(access_grant),
                [
                    {
                        "id": grant_id,
                        "client": d["client"],
                        "service": d["service"],
                        "grant": d,
                        "created_at": now,
                        "created_by": "file",
                        "revoked_at": now,
                        "revoked_by": str(admin),
                    }
                ],
            )
    policy.remove(grant_id)
    await _record(request, admin, "revoke", grant)
    return JSONResponse({**grant.to_dict(), "revoked_at": now.isoformat()})
