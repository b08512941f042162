"""The auditor API: checkpoints, entries, proofs and one exchange's evidence.

Only the auditor identity (its member certificate on the members' listener) may call it.
Everything here is what an auditor needs to check the log *without trusting the gateway*:
the records themselves (leaf hashes are recomputed by the auditor), proofs from the stored
tree, signed checkpoints with their RFC 3161 tokens, and the signed statements the records
point to by digest, unsealed for the auditor (ADR 0006). The contract is in docs/audit.md;
``auditor/`` verifies it and imports nothing from here.
"""

from __future__ import annotations

import asyncio
from typing import Annotated

import orjson
from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import JSONResponse, Response
from sqlalchemy import select

from core.errors import BadRequest, NotFound, error_response_doc
from core.http import json_response
from core.ids.xroad import ClientId
from core.merkle import leaf_hash
from core.pki import CertificateRejected
from core.tls import peer_certificate
from gateway.errors import AccessDenied
from gateway.log import LogStore
from gateway.models import exchange_signature
from gateway.records import EvidenceKeys

MAX_PAGE = 1000


class NoCheckpoint(NotFound):
    type = "client.no_checkpoint"
    default_message = "the log has no checkpoint yet"


class ExchangeNotFound(NotFound):
    type = "client.exchange_not_found"
    default_message = "no records for this X-Road-Id"


def require_identity(request: Request, allowed: str, what: str) -> ClientId:
    """The member whose certificate opened the connection, if it is ``allowed``."""
    state = request.app.state
    cert = peer_certificate(request.scope)
    if cert is None:
        raise AccessDenied(f"the {what} needs its member certificate")
    try:
        member = state.store.verify_member(cert, now=state.clock())
    except CertificateRejected as e:
        raise AccessDenied("the TLS client certificate is not acceptable") from e
    if str(member) != allowed:
        raise AccessDenied(f"only {allowed} may use the {what}")
    return ClientId(member.instance, member.member_class, member.member_code, member.subsystem)


def current_auditor(request: Request) -> ClientId:
    return require_identity(request, request.app.state.settings.auditor_id, "auditor API")


AuditorDep = Annotated[ClientId, Depends(current_auditor)]

router = APIRouter(prefix="/audit", tags=["auditors"])
DOC = error_response_doc(AccessDenied, BadRequest)


def _log(request: Request) -> LogStore:
    log: LogStore = request.app.state.log
    return log


def _signatures(request: Request, records: list[bytes]) -> dict[str, str]:
    """The JWS the records point to, unsealed for the auditor."""
    digests: set[str] = set()
    for record in records:
        body = orjson.loads(record)
        for key in ("client_jws_sha256", "response_jws_sha256"):
            if isinstance(body.get(key), str):
                digests.add(body[key])
    if not digests:
        return {}
    keys: EvidenceKeys = request.app.state.keys
    with request.app.state.engine.connect() as conn:
        rows = conn.execute(
            select(exchange_signature).where(exchange_signature.c.digest.in_(sorted(digests)))
        ).all()
    return {r.digest: keys.unseal(r.digest, bytes(r.sealed)) for r in rows}


async def _latest_size(request: Request) -> int:
    latest = await asyncio.to_thread(_log(request).latest)
    if latest is None:
        raise NoCheckpoint()
    return latest.size


@router.get("/log-key", summary="The log's origin and note verifier key", responses=DOC)
def log_key(request: Request, _auditor: AuditorDep) -> JSONResponse:
    s = request.app.state
    return JSONResponse({"origin": s.settings.log_origin, "vkey": s.note_verifier.vkey})


@router.get("/checkpoint", summary="The latest checkpoint", responses=DOC)
async def latest_checkpoint(request: Request, _auditor: AuditorDep) -> JSONResponse:
    latest = await asyncio.to_thread(_log(request).latest)
    if latest is None:
        raise NoCheckpoint()
    return JSONResponse(latest.public())


@router.get("/checkpoints", summary="Checkpoint history, by size", responses=DOC)
async def checkpoints(
    request: Request,
    _auditor: AuditorDep,
    after: Annotated[int, Query(ge=-1)] = -1,
    limit: Annotated[int, Query(ge=1, le=MAX_PAGE)] = MAX_PAGE,
) -> JSONResponse:
    rows = await asyncio.to_thread(_log(request).history, after=after, limit=limit)
    return JSONResponse({"checkpoints": [r.public() for r in rows]})


@router.get("/entries", summary="Records by index range [start, end)", responses=DOC)
async def entries(
    request: Request,
    _auditor: AuditorDep,
    start: Annotated[int, Query(ge=0)],
    end: Annotated[int, Query(ge=1)],
) -> Response:
    if end <= start or end - start > MAX_PAGE:
        raise BadRequest(f"ask for 1 to {MAX_PAGE} entries: start < end ≤ start + {MAX_PAGE}")
    log = _log(request)
    size = await asyncio.to_thread(log.size)
    if end > size:
        raise BadRequest(f"the log holds {size} entries", detail={"size": size})
    rows = await asyncio.to_thread(log.entries, start, end)
    out = [
        {"index": i, "record": data.decode("utf-8"), "leaf_hash": leaf_hash(data).hex()}
        for i, data in rows
    ]
    sigs = await asyncio.to_thread(_signatures, request, [d for _, d in rows])
    # A page is ~2.5 MB of JSON: orjson writes it several times faster than json.
    return json_response({"entries": out, "signatures": sigs})


@router.get("/proof/inclusion", summary="Inclusion proof of one entry", responses=DOC)
async def inclusion(
    request: Request,
    _auditor: AuditorDep,
    index: Annotated[int, Query(ge=0)],
    size: Annotated[int, Query(ge=1)],
) -> Response:
    log = _log(request)

    def prove() -> tuple[bytes, list[bytes], bytes]:  # one thread hop, one node query
        latest = log.latest()
        if latest is None:
            raise NoCheckpoint()
        if not index < size <= latest.size:
            raise BadRequest(f"need index < size ≤ {latest.size} (the latest checkpoint)")
        return log.inclusion_proven(index, size)

    leaf, proof, root = await asyncio.to_thread(prove)
    return json_response(
        {
            "index": index,
            "size": size,
            "leaf_hash": leaf.hex(),
            "proof": [p.hex() for p in proof],
            "root": root.hex(),
        }
    )


@router.get("/proof/consistency", summary="Consistency proof between two sizes", responses=DOC)
async def consistency(
    request: Request,
    _auditor: AuditorDep,
    from_size: Annotated[int, Query(alias="from", ge=0)],
    to_size: Annotated[int, Query(alias="to", ge=1)],
) -> JSONResponse:
    latest = await _latest_size(request)
    if not from_size <= to_size <= latest:
        raise BadRequest(f"need from ≤ to ≤ {latest} (the latest checkpoint)")
    proof = await asyncio.to_thread(_log(request).consistency, from_size, to_size)
    return JSONResponse({"from": from_size, "to": to_size, "proof": [p.hex() for p in proof]})


@router.get(
    "/exchanges/{x_road_id}",
    summary="One exchange: its records, their proofs, the checkpoint and signatures",
    responses=error_response_doc(AccessDenied, ExchangeNotFound),
)
async def exchange(request: Request, _auditor: AuditorDep, x_road_id: str) -> JSONResponse:
    log = _log(request)
    rows = await asyncio.to_thread(log.records_of, x_road_id)
    if not rows:
        raise ExchangeNotFound()
    latest, records = await asyncio.to_thread(log.proven, rows)
    sigs = await asyncio.to_thread(_signatures, request, [d for _, d in rows])
    return JSONResponse(
        {
            "x_road_id": x_road_id,
            "checkpoint": latest.public() if latest else None,
            "records": records,
            "signatures": sigs,
        }
    )
