"""Helpers of the gateway tests: raw requests, signed requests with any part wrong, records.

``Gateway`` wraps an ``InProcessExchange`` and sends requests through the raw ASGI
interface, so that a test controls every byte: the raw path (httpx would normalise ``..``
away before the gateway ever saw it), repeated or non-ASCII headers, the TLS peer
certificate and the request signature with any claim overridden.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import unquote

import httpx
from cryptography import x509
from sqlalchemy import select
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from certs.authority import issue, new_key
from certs.dev import CONSUMERS, GATEWAY_ID, PROVIDERS
from core.canonical import canonical_json
from core.citizen import issue_citizen_token
from core.pki import certificate_pem, load_certificate, load_private_key
from core.signing import TYP_RESPONSE, Signer, sha256_b64url, unverified_claims
from gateway.models import exchange_record
from tests.fixtures.gateway import OFFICIAL, Clock, Fault, InProcessExchange, sign_request
from tests.fixtures.pki import PkiFiles

ONE_STOP = CONSUMERS["one-stop"]
LAND_OFFICE = CONSUMERS["land-office"]
KYC = CONSUMERS["kyc"]
ADMIN = "VN/GOV/LIENTHONG/admin"
CITIZEN_ID = "VN/GOV/BCA/citizen-id"
POPULATION = PROVIDERS["population"]
BUSINESS = PROVIDERS["business"]
LAND = PROVIDERS["land"]

HBR = "household-business-registration"
LAND_TRANSFER = "land-transfer"
BANK_KYC = "bank-kyc"

PERSONS = f"/r1/{POPULATION}/persons"
IDENTITY = f"/r1/{POPULATION}/verifications/identity"

POPULATION_URL = "https://127.0.0.1:9101"
BUSINESS_URL = "https://127.0.0.1:9102"
LAND_URL = "https://127.0.0.1:9103"

_AUTO: Any = object()


@dataclass
class Reply:
    """A response as the ASGI app sent it."""

    status: int
    headers: httpx.Headers
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)

    @property
    def text(self) -> str:
        return self.body.decode("utf-8", "replace")


async def asgi_call(
    app: ASGIApp,
    *,
    method: str,
    raw_path: bytes,
    query: bytes = b"",
    headers: list[tuple[bytes, bytes]] | None = None,
    body: bytes = b"",
    peer_pem: str | None = None,
    chunked: bool = False,
) -> Reply:
    """One request straight into ``app`` with exactly these bytes (no URL normalisation)."""
    raw_headers = [(b"host", b"gateway.test"), *(headers or [])]
    if body and not chunked:
        raw_headers.append((b"content-length", str(len(body)).encode()))
    scope: Scope = {
        "type": "http",
        "asgi": {"version": "3.0", "spec_version": "2.3"},
        "http_version": "1.1",
        "method": method,
        "scheme": "https",
        "path": unquote(raw_path.decode("latin-1")),
        "raw_path": raw_path,
        "query_string": query,
        "root_path": "",
        "headers": raw_headers,
        "client": ("127.0.0.1", 50000),
        "server": ("gateway.test", 443),
        "extensions": {"tls": {"client_cert_chain": [peer_pem]}} if peer_pem else {},
    }
    done = asyncio.Event()
    chunks = [body[i : i + 65536] for i in range(0, len(body), 65536)] or [b""]

    async def receive() -> Message:
        if chunks:
            chunk = chunks.pop(0)
            return {"type": "http.request", "body": chunk, "more_body": bool(chunks)}
        await done.wait()
        return {"type": "http.disconnect"}

    status = 0
    out_headers: list[tuple[bytes, bytes]] = []
    out_body: list[bytes] = []

    async def send(message: Message) -> None:
        nonlocal status
        if message["type"] == "http.response.start":
            status = message["status"]
            out_headers.extend(message.get("headers", []))
        elif message["type"] == "http.response.body":
            out_body.append(message.get("body", b""))
            if not message.get("more_body", False):
                done.set()

    await app(scope, receive, send)
    done.set()
    return Reply(status, httpx.Headers(out_headers), b"".join(out_body))


@dataclass
class Gateway:
    """Send requests to an in-process gateway as any member, with any part wrong."""

    ex: InProcessExchange
    pki: PkiFiles
    signers: dict[str, Signer] = field(default_factory=dict)

    def signer(self, member: str) -> Signer:
        if member not in self.signers:
            members = self.ex.pki / "members"
            self.signers[member] = Signer.from_files(
                members / f"{member}.crt", members / f"{member}.key"
            )
        return self.signers[member]

    def pem(self, member: str) -> str:
        return certificate_pem(self.signer(member).certificate).decode("ascii")

    def now(self) -> dt.datetime:
        return self.ex.clock()

    @property
    def clock(self) -> Clock:
        assert isinstance(self.ex.clock, Clock)
        return self.ex.clock

    async def request(
        self,
        method: str = "GET",
        path: str | bytes = "",
        query: str | bytes = b"",
        *,
        member: str = ONE_STOP,
        signer: Signer | None = None,
        tls: str | None = _AUTO,
        tls_pem: str | None = None,
        purpose: str | None = HBR,
        consent: str | None = None,
        user_id: str | None = OFFICIAL,
        issue: str | None = None,
        xroad_id: str | None = _AUTO,
        client: str | None = _AUTO,
        headers: dict[str, str | None] | None = None,
        extra_headers: list[tuple[bytes, bytes]] | None = None,
        body: bytes = b"",
        json_body: Any = None,
        sign: bool = True,
        jws: str | None = None,
        htu: str | None = None,
        chunked: bool = False,
        claims: dict[str, Any] | None = None,
        **claim_overrides: Any,
    ) -> Reply:
        """A signed request; every header and claim can be overridden or left out."""
        raw_path = path.encode("latin-1") if isinstance(path, str) else path
        raw_query = query.encode("latin-1") if isinstance(query, str) else query
        if json_body is not None:
            body = json.dumps(json_body).encode()
        h: dict[str, str | None] = {
            "X-Road-Client": member if client is _AUTO else client,
            "X-Road-Id": str(uuid.uuid4()) if xroad_id is _AUTO else xroad_id,
            "X-Road-Purpose": purpose,
            "X-Road-Consent": consent,
            "X-Road-UserId": user_id,
            "X-Road-Issue": issue,
        }
        if body:
            h["Content-Type"] = "application/json"
        h.update(headers or {})
        sent = {k: v for k, v in h.items() if v is not None}
        if jws is None and sign:
            target = htu
            if target is None:
                target = raw_path.decode("latin-1") + (
                    "?" + raw_query.decode("latin-1") if raw_query else ""
                )
            jws, _ = sign_request(
                signer or self.signer(member),
                method=method,
                htu=target,
                body=body,
                now=self.now(),
                headers=sent,
                **{**(claims or {}), **claim_overrides},
            )
        if jws is not None:
            sent["X-Road-Signature"] = jws
        raw_headers = [(k.lower().encode(), v.encode("latin-1")) for k, v in sent.items()]
        raw_headers += extra_headers or []
        if tls_pem is None and tls is not None:
            tls_pem = self.pem(member if tls is _AUTO else tls)
        return await asgi_call(
            self.ex.gateway,
            method=method,
            raw_path=raw_path,
            query=raw_query,
            headers=raw_headers,
            body=body,
            peer_pem=tls_pem,
            chunked=chunked,
        )

    # -- records -------------------------------------------------------------------------
    def records(self, x_road_id: str | None = None) -> list[Any]:
        """Exchange records (optionally of one X-Road-Id), in sequence order."""
        q = select(exchange_record).order_by(exchange_record.c.seq)
        if x_road_id is not None:
            q = q.where(exchange_record.c.x_road_id == x_road_id)
        with self.ex.gateway.state.engine.connect() as conn:
            return list(conn.execute(q).all())


def record_json(row: Any) -> dict[str, Any]:
    data: dict[str, Any] = json.loads(bytes(row.record))
    return data


def assert_canonical(row: Any) -> None:
    raw = bytes(row.record)
    assert raw == canonical_json(json.loads(raw))


# -- certificates --------------------------------------------------------------------------


def member_certificate(
    pki: PkiFiles,
    member: str,
    *,
    not_before: dt.datetime,
    not_after: dt.datetime,
    serial: int | None = None,
) -> Signer:
    """A fresh key and certificate for ``member`` from the session CA (kept in memory)."""
    authority = pki.authority
    ca_cert = load_certificate(authority.ca_cert_path)
    ca_key = load_private_key(authority.ca_key_path)
    key = new_key()
    cert: x509.Certificate = issue(
        ca_cert=ca_cert,
        ca_key=ca_key,
        subject=member,
        public_key=key.public_key(),
        not_before=not_before,
        not_after=not_after,
        serial=serial,
    )
    return Signer(key, cert)


def citizen_token(pki: PkiFiles, personal_id: str, now: dt.datetime) -> str:
    return issue_citizen_token(pki.signer(CITIZEN_ID), personal_id, now=now, audience=GATEWAY_ID)


# -- registry faults -----------------------------------------------------------------------

Edit = Callable[[int, dict[str, str], bytes], tuple[int, dict[str, str], bytes]]


def response_fault(edit: Edit) -> Fault:
    """A registry whose answers pass through ``edit(status, headers, body)`` first."""

    def wrap(app: ASGIApp) -> ASGIApp:
        async def faulty(scope: Scope, receive: Receive, send: Send) -> None:
            if scope["type"] != "http":
                await app(scope, receive, send)
                return
            start: dict[str, Any] = {}
            chunks: list[bytes] = []

            async def capture(message: Message) -> None:
                if message["type"] == "http.response.start":
                    start.update(message)
                elif message["type"] == "http.response.body":
                    chunks.append(message.get("body", b""))

            await app(scope, receive, capture)
            headers = {k.decode().lower(): v.decode() for k, v in start["headers"]}
            status, headers, body = edit(start["status"], headers, b"".join(chunks))
            headers["content-length"] = str(len(body))
            await send(
                {
                    "type": "http.response.start",
                    "status": status,
                    "headers": [(k.encode(), v.encode()) for k, v in headers.items()],
                }
            )
            await send({"type": "http.response.body", "body": body})

        return faulty

    return wrap


def resigned(
    signer: Signer, code: int, headers: dict[str, str], body: bytes, **claims: Any
) -> dict[str, str]:
    """``headers`` with the response signature re-made by ``signer`` over ``code``, ``body``
    (and any other claim overridden)."""
    old = unverified_claims(headers["x-road-response-signature"])
    new = {**old, "status": code, "body_sha256": sha256_b64url(body), **claims}
    return {**headers, "x-road-response-signature": signer.sign(new, typ=TYP_RESPONSE)}


def slow_registry(seconds: float) -> Fault:
    def wrap(app: ASGIApp) -> ASGIApp:
        async def slow(scope: Scope, receive: Receive, send: Send) -> None:
            if scope["type"] == "http":
                await asyncio.sleep(seconds)
            await app(scope, receive, send)

        return slow

    return wrap
