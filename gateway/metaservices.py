"""X-Road metaservices: who is on the exchange, what a provider offers, what I may call.

``listClients`` (every provider and client subsystem the gateway knows), ``listMethods``
(a provider's services and operations), ``allowedMethods`` (those the calling client has an
access right for), ``getOpenAPI?serviceCode=`` (the provider's OpenAPI, narrowed to one
service), and (+) ``logProof?xRoadId=`` on the caller's own subsystem: inclusion proofs of
its own exchange's records in the evidence log. They are signed requests like any other,
but read only the catalogue, the policy and the log.
"""

from __future__ import annotations

import asyncio
import json
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse

from core.errors import BadRequest
from core.ids.xroad import ClientId
from gateway.audit import ExchangeNotFound
from gateway.catalogue import Catalogue
from gateway.errors import AccessDenied, ServiceUnknown
from gateway.log import LogStore
from gateway.policy import Policy
from gateway.protocol import Target


class Metaservices:
    def __init__(self, catalogue: Catalogue, policy: Policy, log: LogStore | None = None) -> None:
        self.catalogue = catalogue
        self.policy = policy
        self.log = log

    async def answer(self, target: Target, client: ClientId, request: Request) -> JSONResponse:
        if target.kind == "listClients":
            return JSONResponse({"clients": self.list_clients()})
        if target.kind == "logProof":
            return JSONResponse(await self.log_proof(target, client, request))
        provider = target.provider
        if provider is None or provider not in self.catalogue.providers:
            raise ServiceUnknown(f"{provider} provides no services here")
        if target.kind == "listMethods":
            return JSONResponse(
                {"provider": str(provider), "services": self.catalogue.describe(provider)}
            )
        if target.kind == "allowedMethods":
            return JSONResponse(
                {"provider": str(provider), "services": self.allowed(provider, client)}
            )
        code = request.query_params.get("serviceCode")
        if not code:
            raise BadRequest("getOpenAPI needs ?serviceCode=", detail={"parameter": "serviceCode"})
        return JSONResponse(self.openapi(provider, code))

    async def log_proof(self, target: Target, client: ClientId, request: Request) -> dict[str, Any]:
        """``GET /r1/{own subsystem}/logProof?xRoadId=``: where a member's own exchange is in
        the evidence log — each record's index and leaf hash, its inclusion proof, and the
        signed checkpoint the proofs lead to (to check against the pinned log key)."""
        if target.provider != client:
            raise AccessDenied("logProof answers for the calling subsystem's own exchanges")
        x_road_id = request.query_params.get("xRoadId")
        if not x_road_id:
            raise BadRequest("logProof needs ?xRoadId=", detail={"parameter": "xRoadId"})
        if self.log is None:  # pragma: no cover - the app always wires the log
            raise ServiceUnknown("this gateway keeps no evidence log")
        log = self.log
        rows = await asyncio.to_thread(log.records_of, x_road_id)
        own = [(i, data) for i, data in rows if json.loads(data).get("client") == str(client)]
        if not own:
            raise ExchangeNotFound()
        latest, proven = await asyncio.to_thread(log.proven, own)
        # Members get positions and proofs; the record bytes are the auditors' to read.
        records = [{k: r[k] for k in ("index", "leaf_hash", "proof")} for r in proven]
        return {
            "x_road_id": x_road_id,
            "checkpoint": latest.public() if latest else None,
            "records": records,
        }

    def list_clients(self) -> list[dict[str, Any]]:
        roles: dict[ClientId, set[str]] = {}
        for p in self.catalogue.providers:
            roles.setdefault(p, set()).add("provider")
        for c in self.policy.clients():
            roles.setdefault(c, set()).add("client")
        return [
            {
                "id": str(cid),
                "instance": cid.instance,
                "member_class": cid.member_class,
                "member_code": cid.member_code,
                "subsystem": cid.subsystem,
                "roles": sorted(r),
            }
            for cid, r in sorted(roles.items(), key=lambda kv: str(kv[0]))
        ]

    def allowed(self, provider: ClientId, client: ClientId) -> list[dict[str, Any]]:
        out = []
        grants = [g for g in self.policy.grants(client) if g.service.client == provider]
        for sid, ops in self.catalogue.services():
            if sid.client != provider:
                continue
            allowed_ops = []
            for op in ops:
                gs = [g for g in grants if g.service == sid and g.covers(op.method, op.path)]
                if not gs:
                    continue
                fields: set[str] = set()
                for g in gs:
                    fields |= set(op.fields) if g.fields is None else set(g.fields) & set(op.fields)
                allowed_ops.append(
                    {
                        "method": op.method,
                        "path": op.path,
                        "purposes": sorted({p for g in gs for p in g.purposes}),
                        "fields": [f for f in op.fields if f in fields],
                    }
                )
            if allowed_ops:
                out.append(
                    {
                        "service": str(sid),
                        "service_code": sid.service_code,
                        "operations": allowed_ops,
                    }
                )
        return out

    def openapi(self, provider: ClientId, code: str) -> dict[str, Any]:
        entry = self.catalogue.providers[provider]
        if provider.service(code) not in dict(self.catalogue.services()):
            raise ServiceUnknown(f"no service {provider}/{code}")
        doc = entry.openapi or {}
        prefix = "/" + code
        paths = {
            p: v
            for p, v in doc.get("paths", {}).items()
            if p == prefix or p.startswith(prefix + "/")
        }
        return {
            **{k: v for k, v in doc.items() if k != "paths"},
            "servers": [{"url": f"/r1/{provider}"}],
            "paths": paths,
        }
