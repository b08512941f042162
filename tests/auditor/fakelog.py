"""An evidence log built the way the gateway builds it, and the auditor API over it.

Real crypto, fake gateway: records are canonical JSON in the documented shape, their request
and response JWS are signed with the dev members' keys (``core.signing.Signer``), checkpoints
are C2SP notes signed with a fresh note key and timestamped by the dev TSA
(``stack.tsa.authority.TimeStampingUnit``), and the tree the proofs come from is the one the
records were committed to (``tree``, as the gateway's stored nodes), so tampering with
``records`` afterwards is what an attacker with write access to the records table does.

``log_app(log)`` serves the auditor API contract (docs/audit.md) over a ``FakeLog``.
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated, Any

from cryptography import x509
from fastapi import FastAPI, Query
from fastapi.responses import JSONResponse
from starlette.requests import Request

from core.canonical import canonical_json
from core.checkpoint import Checkpoint, sign_checkpoint
from core.merkle import MemoryTree, leaf_hash
from core.note import Ed25519NoteSigner, generate_key, parse_signer_key
from core.pki import fingerprint
from core.signing import TYP_REQUEST, TYP_RESPONSE, Signer, sha256_b64url, timestamp
from core.timestamp import timestamp_request, token_from_reply
from core.tls import peer_certificate
from stack.tsa.authority import TimeStampingUnit
from stack.tsa.settings import DEV_TSA_POLICY
from tests.fixtures.pki import PkiFiles

ORIGIN = "lienthong.local/evidence-log"
GATEWAY = "VN/GOV/LIENTHONG/gateway"
CLIENT = "VN/GOV/UBND-HN/one-stop"
PROVIDER = "VN/GOV/BCA/population"
SERVICE = f"{PROVIDER}/persons"
PURPOSE = "household-business-registration"
OFFICIAL = "001080000001"
HTU = "/r1/VN/GOV/BCA/population/persons/001090012345?fields=full_name,date_of_birth"
BODY = b'{"full_name":"Nguyen Van An","date_of_birth":"1990-05-17"}'


def iso(t: dt.datetime) -> str:
    return t.astimezone(dt.UTC).isoformat(timespec="microseconds").replace("+00:00", "Z")


def _pseudonym(value: str) -> str:
    return hashlib.sha256(b"test-subject-key" + value.encode()).hexdigest()


@dataclass
class FakeLog:
    """Records, the JWS they point to, checkpoints, and the committed tree."""

    client: Signer
    provider: Signer
    admin: str
    note_signer: Ed25519NoteSigner
    vkey: str
    unit: TimeStampingUnit
    start: dt.datetime
    records: list[bytes] = field(default_factory=list)
    signatures: dict[str, str] = field(default_factory=dict)
    checkpoints: list[dict[str, Any]] = field(default_factory=list)
    tree: MemoryTree = field(default_factory=MemoryTree)
    tick: int = 0
    #: Indexes the API leaves out of its pages (rows deleted from a table keyed by index).
    hidden: set[int] = field(default_factory=set)

    @classmethod
    def create(cls, pki: PkiFiles, *, start: dt.datetime | None = None) -> FakeLog:
        skey, vkey = generate_key(ORIGIN)
        cert, key = pki.authority.tsa_paths("tsa")
        unit = TimeStampingUnit.from_files(
            cert, key, policy=DEV_TSA_POLICY, accuracy=dt.timedelta(seconds=1)
        )
        return cls(
            client=pki.signer(CLIENT),
            provider=pki.signer(PROVIDER),
            admin="VN/GOV/LIENTHONG/admin",
            note_signer=parse_signer_key(skey),
            vkey=vkey,
            unit=unit,
            start=start or dt.datetime.now(dt.UTC) - dt.timedelta(minutes=1),
        )

    # -- files an auditor pins ---------------------------------------------------------------
    def write_vkey(self, directory: Path) -> Path:
        path = directory / "note.vkey"
        path.write_text(self.vkey + "\n")
        return path

    # -- appending -----------------------------------------------------------------------------
    def now(self) -> dt.datetime:
        self.tick += 1
        return self.start + dt.timedelta(milliseconds=self.tick)

    def append(self, body: dict[str, Any], *jws: str) -> int:
        """Append a record (``body`` without v/time) and the JWS it points to."""
        record = canonical_json({"v": 1, "time": iso(self.now()), **body})
        for token in jws:
            self.signatures[sha256_b64url(token.encode())] = token
        self.records.append(record)
        return self.tree.append(leaf_hash(record))

    def request_jws(self, x_road_id: str, *, purpose: str | None = PURPOSE) -> str:
        claims = {
            "iss": CLIENT,
            "aud": GATEWAY,
            "htm": "GET",
            "htu": HTU,
            "iat": timestamp(self.start),
            "jti": x_road_id,
            "purpose": purpose,
            "consent": None,
            "uid": OFFICIAL,
            "issue": None,
            "body_sha256": sha256_b64url(b""),
        }
        return self.client.sign(claims, typ=TYP_REQUEST)

    def _base(self, x_road_id: str, client_jws: str | None, *, verified: bool) -> dict[str, Any]:
        return {
            "x_road_id": x_road_id,
            "client": CLIENT,
            "service": SERVICE,
            "method": "GET",
            "path_template": "/{personal_id}",
            "purpose": PURPOSE,
            "consent": None,
            "issue": None,
            "user": _pseudonym(OFFICIAL),
            "subject": _pseudonym("001090012345"),
            "request_sha256": sha256_b64url(b""),
            "client_jws_sha256": sha256_b64url(client_jws.encode()) if client_jws else None,
            "client_cert": fingerprint(self.client.certificate) if verified else None,
        }

    def exchange(self, *, ms: float = 12.5) -> str:
        """An accepted query and its answer; returns the X-Road-Id."""
        x_road_id = str(uuid.uuid4())
        request = self.request_jws(x_road_id)
        request_hash = sha256_b64url(request.encode())
        self.append(
            {
                "kind": "accepted",
                **self._base(x_road_id, request, verified=True),
                "legal_basis": "Decree 104/2022/ND-CP",
                "fields": ["date_of_birth", "full_name"],
                "grants": ["g-one-stop-persons"],
                "request_hash": request_hash,
            },
            request,
        )
        response = self.provider.sign(
            {
                "iss": PROVIDER,
                "jti": x_road_id,
                "request_hash": request_hash,
                "status": 200,
                "body_sha256": sha256_b64url(BODY),
                "iat": timestamp(self.start),
            },
            typ=TYP_RESPONSE,
        )
        self.append(
            {
                "kind": "answered",
                "x_road_id": x_road_id,
                "client": CLIENT,
                "service": SERVICE,
                "status": 200,
                "outcome": "ok",
                "provider_status": 200,
                "response_sha256": sha256_b64url(BODY),
                "response_jws_sha256": sha256_b64url(response.encode()),
                "request_hash": request_hash,
                "ms": ms,
            },
            response,
        )
        return x_road_id

    def refusal(self, *, verified: bool) -> str:
        """A refused query: after its signature held (``verified``), or a garbled one."""
        x_road_id = str(uuid.uuid4())
        token = self.request_jws(x_road_id) if verified else "eyJhbGciOiJub25lIn0.e30.bad"
        status, error = (
            (403, "client.access_denied") if verified else (401, "client.signature_invalid")
        )
        self.append(
            {
                "kind": "refused",
                **self._base(x_road_id, token, verified=verified),
                "status": status,
                "error": error,
                "reason": None if verified else "malformed",
            },
            token,
        )
        return x_road_id

    def grant(self) -> str:
        grant_id = f"g-{uuid.uuid4().hex[:12]}"
        self.append(
            {
                "kind": "grant",
                "x_road_id": grant_id,
                "action": "add",
                "by": self.admin,
                "grant": {"id": grant_id, "client": CLIENT, "service": SERVICE},
            }
        )
        return grant_id

    def fill(self, exchanges: int, *, checkpoint_every: int = 0) -> None:
        """``exchanges`` exchanges (two records each) with a refusal and a grant now and
        then, and a checkpoint every ``checkpoint_every`` records."""
        for i in range(exchanges):
            self.exchange(ms=float(i % 7) if i % 3 else 12.345)
            if i % 10 == 3:
                self.refusal(verified=i % 20 == 3)
            if i % 25 == 7:
                self.grant()
            if checkpoint_every and len(self.records) - self.checkpointed >= checkpoint_every:
                self.checkpoint()

    # -- checkpoints ---------------------------------------------------------------------------
    @property
    def checkpointed(self) -> int:
        return self.checkpoints[-1]["size"] if self.checkpoints else 0

    def signed_checkpoint(
        self, size: int, root: bytes, *, stamp: bool = True, when: dt.datetime | None = None
    ) -> dict[str, Any]:
        when = when or self.now()
        note = sign_checkpoint(Checkpoint(ORIGIN, size, root), self.note_signer)
        token = None
        if stamp:
            reply = self.unit.respond(timestamp_request(note.encode()), now=dt.datetime.now(dt.UTC))
            token = base64.b64encode(token_from_reply(reply.der)).decode()
        return {
            "size": size,
            "root": root.hex(),
            "note": note,
            "timestamp": token,
            "signed_at": iso(when),
        }

    def checkpoint(self, *, stamp: bool = True) -> dict[str, Any]:
        """A checkpoint of everything appended so far."""
        cp = self.signed_checkpoint(self.tree.size, self.tree.root(), stamp=stamp)
        self.checkpoints.append(cp)
        return cp

    def rewrite_history(self) -> None:
        """What an attacker with the log's keys does after changing records: recommit the
        tree from the records as they are now and sign every checkpoint anew."""
        self.tree = MemoryTree(leaf_hash(r) for r in self.records)
        sizes = sorted({min(cp["size"], len(self.records)) for cp in self.checkpoints})
        self.checkpoints = [
            self.signed_checkpoint(size, self.tree.root(size)) for size in sizes if size
        ]

    def exchange_records(self, x_road_id: str) -> list[tuple[int, bytes]]:
        return [
            (i, r) for i, r in enumerate(self.records) if f'"x_road_id":"{x_road_id}"'.encode() in r
        ]


def _error(status: int, type_: str, message: str, detail: Any = None) -> JSONResponse:
    return JSONResponse(
        {"type": type_, "message": message, "detail": detail},
        status_code=status,
        headers={"X-Road-Error": type_},
    )


def _signatures_of(log: FakeLog, records: list[bytes]) -> dict[str, str]:
    import json

    out: dict[str, str] = {}
    for record in records:
        try:
            body = json.loads(record)
        except ValueError:
            continue
        for key in ("client_jws_sha256", "response_jws_sha256"):
            digest = body.get(key) if isinstance(body, dict) else None
            if isinstance(digest, str) and digest in log.signatures:
                out[digest] = log.signatures[digest]
    return out


def log_app(log: FakeLog, *, auditor: x509.Certificate | None = None) -> FastAPI:
    """The auditor API contract over ``log`` (only ``auditor`` as TLS peer, if given)."""
    app = FastAPI()

    @app.middleware("http")
    async def only_the_auditor(request: Request, call_next: Any) -> Any:
        if auditor is not None:
            peer = peer_certificate(request.scope)
            if peer is None or fingerprint(peer) != fingerprint(auditor):
                return _error(403, "client.access_denied", "only the auditor")
        return await call_next(request)

    def latest() -> dict[str, Any] | None:
        return log.checkpoints[-1] if log.checkpoints else None

    @app.get("/audit/log-key")
    def log_key() -> dict[str, Any]:
        return {"origin": ORIGIN, "vkey": log.vkey}

    @app.get("/audit/checkpoint")
    def checkpoint() -> Any:
        cp = latest()
        return cp if cp else _error(404, "client.no_checkpoint", "no checkpoint yet")

    @app.get("/audit/checkpoints")
    def checkpoints(
        after: Annotated[int, Query(ge=-1)] = -1,
        limit: Annotated[int, Query(ge=1, le=1000)] = 1000,
    ) -> Any:
        return {"checkpoints": [c for c in log.checkpoints if c["size"] > after][:limit]}

    @app.get("/audit/entries")
    def entries(start: Annotated[int, Query(ge=0)], end: Annotated[int, Query(ge=1)]) -> Any:
        if end <= start or end - start > 1000:
            return _error(400, "client.bad_request", "ask for 1 to 1000 entries")
        if end > len(log.records):
            size = len(log.records)
            return _error(400, "client.bad_request", f"the log holds {size}", {"size": size})
        page = log.records[start:end]
        return {
            "entries": [
                {"index": start + i, "record": r.decode(), "leaf_hash": leaf_hash(r).hex()}
                for i, r in enumerate(page)
                if start + i not in log.hidden
            ],
            "signatures": _signatures_of(log, page),
        }

    @app.get("/audit/proof/inclusion")
    def inclusion(index: int, size: int) -> Any:
        cp = latest()
        if cp is None or not 0 <= index < size <= cp["size"]:
            return _error(400, "client.bad_request", "need index < size ≤ latest")
        return {
            "index": index,
            "size": size,
            "leaf_hash": log.tree.get(0, index).hex(),
            "proof": [p.hex() for p in log.tree.inclusion_proof(index, size)],
            "root": log.tree.root(size).hex(),
        }

    @app.get("/audit/proof/consistency")
    def consistency(
        from_size: Annotated[int, Query(alias="from", ge=0)],
        to_size: Annotated[int, Query(alias="to", ge=1)],
    ) -> Any:
        cp = latest()
        if cp is None or not from_size <= to_size <= cp["size"]:
            return _error(400, "client.bad_request", "need from ≤ to ≤ latest")
        proof = log.tree.consistency_proof(from_size, to_size) if from_size else []
        return {"from": from_size, "to": to_size, "proof": [p.hex() for p in proof]}

    @app.get("/audit/exchanges/{x_road_id}")
    def exchange(x_road_id: str) -> Any:
        rows = log.exchange_records(x_road_id)
        if not rows:
            return _error(404, "client.exchange_not_found", "no records for this X-Road-Id")
        cp = latest()
        size = cp["size"] if cp else 0
        return {
            "x_road_id": x_road_id,
            "checkpoint": cp,
            "records": [
                {
                    "index": i,
                    "record": r.decode(),
                    "leaf_hash": leaf_hash(r).hex(),
                    "proof": [p.hex() for p in log.tree.inclusion_proof(i, size)]
                    if i < size
                    else None,
                }
                for i, r in rows
            ],
            "signatures": _signatures_of(log, [r for _, r in rows]),
        }

    return app
