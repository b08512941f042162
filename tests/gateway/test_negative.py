"""The negative protocol suite: every way a query can be wrong, and what the gateway answers.

Each case is (id, how the request is made, expected status, expected error type). Every
refusal must carry ``X-Road-Error`` equal to the body's ``type`` and an ``X-Road-Id``, and
must leave a record in the gateway's database under that X-Road-Id — ``refused`` when the
query never got past the checks, ``answered`` (after ``accepted``) when it failed at the
provider — in which no personal id appears in clear.
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import hmac
import json
import re
import shutil
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives import serialization

from certs.authority import issue, make_ca, make_crl, new_key
from core.pki import load_certificate, load_private_key, x5c_entry
from core.signing import (
    TYP_FORWARD,
    TYP_REQUEST,
    TYP_RESPONSE,
    Signer,
    b64url,
    sha256_b64url,
    timestamp,
    verify,
)
from gateway.policy import DEFAULT_POLICY_DIR
from tests.fixtures.gateway import DROP, OFFICIAL, BuildExchange
from tests.fixtures.pki import PkiFiles
from tests.fixtures.world import LinkedWorld
from tests.gateway.support import (
    ADMIN,
    BANK_KYC,
    BUSINESS,
    HBR,
    IDENTITY,
    KYC,
    LAND,
    LAND_OFFICE,
    LAND_TRANSFER,
    ONE_STOP,
    PERSONS,
    POPULATION,
    POPULATION_URL,
    Gateway,
    Reply,
    asgi_call,
    assert_canonical,
    citizen_token,
    member_certificate,
    record_json,
    resigned,
    response_fault,
    slow_registry,
)

pytestmark = pytest.mark.anyio

XROAD_ID = re.compile(r"[A-Za-z0-9._:-]{1,128}")
SECOND = dt.timedelta(seconds=1)
SKEW = 60  # the gateway's default clock skew (GATEWAY_CLOCK_SKEW_SECONDS)


@dataclass
class Ctx:
    """What a case needs: the gateway, the PKI and two people of the linked world."""

    gw: Gateway
    pki: PkiFiles
    pid: str
    other_pid: str
    revoked: Signer | None = None

    @property
    def person(self) -> str:
        return f"{PERSONS}/{self.pid}"

    def now(self) -> dt.datetime:
        return self.gw.now()

    async def consent(
        self,
        pid: str | None = None,
        *,
        client: str = KYC,
        purpose: str = BANK_KYC,
        services: dict[str, list[str]] | None = None,
        valid_until: dt.datetime | None = None,
    ) -> str:
        """A consent the citizen ``pid`` gives through the consent API; its id."""
        body: dict[str, Any] = {
            "client": client,
            "purpose": purpose,
            "services": services or {f"{POPULATION}/persons": ["full_name", "date_of_birth"]},
        }
        if valid_until is not None:
            body["valid_until"] = valid_until.isoformat()
        token = citizen_token(self.pki, pid or self.pid, self.now())
        r = await asgi_call(
            self.gw.ex.gateway,
            method="POST",
            raw_path=b"/consents",
            headers=[
                (b"authorization", f"Bearer {token}".encode()),
                (b"content-type", b"application/json"),
            ],
            body=json.dumps(body).encode(),
        )
        assert r.status == 201, r.text
        consent_id: str = r.json()["id"]
        return consent_id

    async def revoke(self, consent_id: str, pid: str | None = None) -> None:
        token = citizen_token(self.pki, pid or self.pid, self.now())
        r = await asgi_call(
            self.gw.ex.gateway,
            method="DELETE",
            raw_path=f"/consents/{consent_id}".encode(),
            headers=[(b"authorization", f"Bearer {token}".encode())],
        )
        assert r.status == 200, r.text

    async def kyc(
        self, consent: str | None, query: str = "fields=full_name,date_of_birth"
    ) -> Reply:
        return await self.gw.request(
            path=self.person, query=query, member=KYC, purpose=BANK_KYC, consent=consent
        )


Make = Callable[[Ctx], Awaitable[Reply]]


@dataclass(frozen=True)
class Case:
    id: str
    make: Make
    status: int
    error: str
    #: The record the refusal leaves: "refused", "answered" (after "accepted"), or None for
    #: a refusal made by the HTTP layer before the gateway reads the request.
    record: str | None = "refused"
    #: Which gateway: "dev", or one with a revoked certificate, a tiny rate limit, ...
    env: str = "dev"
    detail: dict[str, Any] = field(default_factory=dict)
    headers: dict[str, str] = field(default_factory=dict)
    #: The precise reason the refused record keeps (the caller sees only ``detail.check``).
    reason: str | None = None


def get(path: str = "{person}", query: str = "", **kw: Any) -> Make:
    """A GET of ``path`` (``{person}``, ``{pid}``, ``{other}``, ``{persons}`` filled in)."""

    return call("GET", path, query, **kw)


def call(method: str, path: str = "{person}", query: str = "", **kw: Any) -> Make:
    async def make(ctx: Ctx) -> Reply:
        options: dict[str, Any] = {k: fill(ctx, v) if k == "htu" else v for k, v in kw.items()}
        return await ctx.gw.request(method, fill(ctx, path), fill(ctx, query), **options)

    return make


def claim(name: str, value: Any, **kw: Any) -> Make:
    """A GET whose signed claim ``name`` is ``value`` (the header stays as it was)."""
    return get(claims={name: value}, **kw)


def fill(ctx: Ctx, text: str) -> str:
    return text.format(person=ctx.person, pid=ctx.pid, other=ctx.other_pid, persons=PERSONS)


def with_ctx(fn: Callable[[Ctx], dict[str, Any]], path: str = "{person}", query: str = "") -> Make:
    """A GET whose request options depend on the case's context (its clock, its people)."""

    async def make(ctx: Ctx) -> Reply:
        return await ctx.gw.request("GET", fill(ctx, path), fill(ctx, query), **fn(ctx))

    return make


# -- hand-made signatures ------------------------------------------------------------------


def _claims(ctx: Ctx, **extra: Any) -> dict[str, Any]:
    return {
        "iss": ONE_STOP,
        "aud": "VN/GOV/LIENTHONG/gateway",
        "htm": "GET",
        "htu": ctx.person,
        "iat": timestamp(ctx.now()),
        "jti": str(uuid.uuid4()),
        "purpose": HBR,
        "consent": None,
        "uid": OFFICIAL,
        "issue": None,
        "body_sha256": sha256_b64url(b""),
        **extra,
    }


def _compact(header: dict[str, Any], claims: dict[str, Any], signature: bytes) -> str:
    enc = [
        b64url(json.dumps(header, separators=(",", ":")).encode()),
        b64url(json.dumps(claims, separators=(",", ":")).encode()),
    ]
    return ".".join([*enc, b64url(signature)])


def alg_none(ctx: Ctx) -> dict[str, Any]:
    cert = ctx.gw.signer(ONE_STOP).certificate
    header = {"alg": "none", "typ": TYP_REQUEST, "x5c": [x5c_entry(cert)]}
    return {"jws": _compact(header, _claims(ctx), b""), "xroad_id": None}


def alg_hs256(ctx: Ctx) -> dict[str, Any]:
    """HS256 keyed with the member's public key: the classic algorithm-confusion forgery."""
    cert = ctx.gw.signer(ONE_STOP).certificate
    header = {"alg": "HS256", "typ": TYP_REQUEST, "x5c": [x5c_entry(cert)]}
    key = cert.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    h = b64url(json.dumps(header, separators=(",", ":")).encode())
    c = b64url(json.dumps(_claims(ctx), separators=(",", ":")).encode())
    mac = hmac.new(key, f"{h}.{c}".encode(), hashlib.sha256).digest()
    return {"jws": f"{h}.{c}.{b64url(mac)}", "xroad_id": None}


def no_x5c(ctx: Ctx) -> dict[str, Any]:
    import jwt

    signer = ctx.gw.signer(ONE_STOP)
    token = jwt.PyJWS().encode(
        json.dumps(_claims(ctx)).encode(),
        signer.key,
        algorithm="ES256",
        headers={"typ": TYP_REQUEST},
    )
    return {"jws": token, "xroad_id": None}


def typ_forward(ctx: Ctx) -> dict[str, Any]:
    return {"jws": ctx.gw.signer(ONE_STOP).sign(_claims(ctx), typ=TYP_FORWARD), "xroad_id": None}


def typ_plain_jwt(ctx: Ctx) -> dict[str, Any]:
    return {"jws": ctx.gw.signer(ONE_STOP).sign(_claims(ctx), typ="JWT"), "xroad_id": None}


def bad_signature(ctx: Ctx) -> dict[str, Any]:
    token = ctx.gw.signer(ONE_STOP).sign(_claims(ctx), typ=TYP_REQUEST)
    head, payload, sig = token.split(".")
    raw = bytearray(base64.urlsafe_b64decode(sig + "=" * (-len(sig) % 4)))
    raw[5] ^= 0xFF
    return {"jws": f"{head}.{payload}.{b64url(bytes(raw))}", "xroad_id": None}


def foreign_ca_signer(ctx: Ctx) -> Signer:
    """A certificate naming one-stop from a CA nobody trusts."""
    now = ctx.now()
    ca_key = new_key()
    ca = make_ca(ca_key, now=now - dt.timedelta(days=1))
    key = new_key()
    cert = issue(
        ca_cert=ca,
        ca_key=ca_key,
        subject=ONE_STOP,
        public_key=key.public_key(),
        not_before=now - dt.timedelta(days=1),
        not_after=now + dt.timedelta(days=1),
    )
    return Signer(key, cert)


def short_lived(ctx: Ctx, *, before: int, after: int) -> Signer:
    """A one-stop certificate valid from now+``before`` s to now+``after`` s."""
    now = ctx.now()
    return member_certificate(
        ctx.pki,
        ONE_STOP,
        not_before=now + before * SECOND,
        not_after=now + after * SECOND,
    )


def pem(signer: Signer) -> str:
    return signer.certificate.public_bytes(serialization.Encoding.PEM).decode()


# -- cases made of several requests --------------------------------------------------------


async def replayed(ctx: Ctx) -> Reply:
    jws, claims = _signed(ctx, ctx.gw.signer(ONE_STOP))
    first = await ctx.gw.request(path=ctx.person, jws=jws, xroad_id=claims["jti"])
    assert first.status == 200, first.text
    return await ctx.gw.request(path=ctx.person, jws=jws, xroad_id=claims["jti"])


def _signed(ctx: Ctx, signer: Signer) -> tuple[str, dict[str, Any]]:
    claims = _claims(ctx)
    return signer.sign(claims, typ=TYP_REQUEST), claims


async def rate_limited(ctx: Ctx) -> Reply:
    first = await ctx.gw.request(path=ctx.person)
    assert first.status == 200, first.text
    return await ctx.gw.request(path=ctx.person)


async def oversize_declared(ctx: Ctx) -> Reply:
    body = json.dumps({"personal_id": ctx.pid, "pad": "x" * 1100}).encode()
    return await ctx.gw.request("POST", IDENTITY, body=body)


async def oversize_chunked(ctx: Ctx) -> Reply:
    body = json.dumps({"personal_id": ctx.pid, "pad": "x" * 1100}).encode()
    return await ctx.gw.request("POST", IDENTITY, body=body, chunked=True)


async def consent_expired(ctx: Ctx) -> Reply:
    consent = await ctx.consent(valid_until=ctx.now() + 60 * SECOND)
    ctx.gw.clock.advance(61)
    return await ctx.kyc(consent)


async def consent_revoked(ctx: Ctx) -> Reply:
    consent = await ctx.consent()
    await ctx.revoke(consent)
    return await ctx.kyc(consent)


async def consent_unknown(ctx: Ctx) -> Reply:
    return await ctx.kyc(str(uuid.uuid4()))


async def consent_missing(ctx: Ctx) -> Reply:
    return await ctx.kyc(None)


async def consent_other_citizen(ctx: Ctx) -> Reply:
    return await ctx.kyc(await ctx.consent(ctx.other_pid))


async def consent_other_client(ctx: Ctx) -> Reply:
    return await ctx.kyc(await ctx.consent(client=LAND_OFFICE))


async def consent_other_purpose(ctx: Ctx) -> Reply:
    return await ctx.kyc(await ctx.consent(purpose="bank-credit"))


async def consent_field_not_covered(ctx: Ctx) -> Reply:
    consent = await ctx.consent(services={f"{POPULATION}/persons": ["full_name"]})
    return await ctx.kyc(consent)


async def consent_covering_no_granted_field(ctx: Ctx) -> Reply:
    # fields= absent: the query means "what the grant and the consent both allow" — here
    # nothing (the consent names only a field the bank's grant does not cover).
    consent = await ctx.consent(services={f"{POPULATION}/persons": ["spouse_id"]})
    return await ctx.kyc(consent, query="")


async def consent_other_service(ctx: Ctx) -> Reply:
    consent = await ctx.consent(services={f"{POPULATION}/verifications": []})
    return await ctx.kyc(consent)


# -- registry faults -----------------------------------------------------------------------


def fault(wrapper: Callable[[Ctx], Any], path: str = "{person}", query: str = "") -> Make:
    async def make(ctx: Ctx) -> Reply:
        ctx.gw.ex.fault(POPULATION_URL, wrapper(ctx))
        return await ctx.gw.request("GET", fill(ctx, path), fill(ctx, query))

    return make


def _population(ctx: Ctx) -> Signer:
    return ctx.pki.signer(POPULATION)


def extra_field(ctx: Ctx) -> Any:
    def edit(status: int, headers: dict[str, str], body: bytes) -> Any:
        data = json.loads(body)
        data["father_id"] = "001060000001"
        new = json.dumps(data).encode()
        return status, resigned(_population(ctx), status, headers, new), new

    return response_fault(edit)


def extra_member_field(ctx: Ctx) -> Any:
    def edit(status: int, headers: dict[str, str], body: bytes) -> Any:
        data = json.loads(body)
        for m in data["members"]:
            m["sex"] = "male"
        new = json.dumps(data).encode()
        return status, resigned(_population(ctx), status, headers, new), new

    return response_fault(edit)


def not_json(ctx: Ctx) -> Any:
    def edit(status: int, headers: dict[str, str], body: bytes) -> Any:
        new = b"<html>hello</html>"
        return status, resigned(_population(ctx), status, headers, new), new

    return response_fault(edit)


def body_changed(ctx: Ctx) -> Any:
    def edit(status: int, headers: dict[str, str], body: bytes) -> Any:
        return status, headers, body.replace(b"}", b', "x": 1}', 1)

    return response_fault(edit)


def signature_corrupted(ctx: Ctx) -> Any:
    def edit(status: int, headers: dict[str, str], body: bytes) -> Any:
        token = headers["x-road-response-signature"]
        head, payload, sig = token.split(".")
        flipped = sig[:10] + ("A" if sig[10] != "A" else "B") + sig[11:]
        return status, {**headers, "x-road-response-signature": f"{head}.{payload}.{flipped}"}, body

    return response_fault(edit)


def signature_missing(ctx: Ctx) -> Any:
    def edit(status: int, headers: dict[str, str], body: bytes) -> Any:
        return status, {k: v for k, v in headers.items() if k != "x-road-response-signature"}, body

    return response_fault(edit)


def signed_by(member: str, **claims: Any) -> Callable[[Ctx], Any]:
    def wrapper(ctx: Ctx) -> Any:
        def edit(status: int, headers: dict[str, str], body: bytes) -> Any:
            return status, resigned(ctx.pki.signer(member), status, headers, body, **claims), body

        return response_fault(edit)

    return wrapper


def wrong_typ(ctx: Ctx) -> Any:
    def edit(status: int, headers: dict[str, str], body: bytes) -> Any:
        from core.signing import unverified_claims

        claims = unverified_claims(headers["x-road-response-signature"])
        token = _population(ctx).sign(claims, typ=TYP_FORWARD)
        return status, {**headers, "x-road-response-signature": token}, body

    return response_fault(edit)


def answers(new_status: int, new_body: bytes = b'{"type": "x"}') -> Callable[[Ctx], Any]:
    """A registry that answers ``new_status`` (correctly signed)."""

    def wrapper(ctx: Ctx) -> Any:
        def edit(status: int, headers: dict[str, str], body: bytes) -> Any:
            return new_status, resigned(_population(ctx), new_status, headers, new_body), new_body

        return response_fault(edit)

    return wrapper


async def provider_down(ctx: Ctx) -> Reply:
    ctx.gw.ex.fault(POPULATION_URL, None)
    return await ctx.gw.request(path=ctx.person)


async def provider_timeout(ctx: Ctx) -> Reply:
    ctx.gw.ex.fault(POPULATION_URL, slow_registry(5.0))
    return await ctx.gw.request(path=ctx.person)


# -- the table -----------------------------------------------------------------------------

BAD = "client.bad_request"
SIG = "client.signature_invalid"
DENIED = "client.access_denied"
CERT = {"check": "certificate"}
PERSONS_OF = f"{POPULATION}/persons"
VERIFY_BODY = {"personal_id": "001090012345", "full_name": "A", "date_of_birth": "1990-01-01"}


def _iat(offset: int) -> Callable[[Ctx], dict[str, Any]]:
    return lambda c: {"iat": timestamp(c.now()) + offset}


def _signer(fn: Callable[[Ctx], Signer], *, tls: bool = False) -> Callable[[Ctx], dict[str, Any]]:
    """Sign with ``fn(ctx)`` (and present it as the TLS certificate too, if ``tls``)."""

    def options(c: Ctx) -> dict[str, Any]:
        s = fn(c)
        return {"signer": s, "tls_pem": pem(s)} if tls else {"signer": s}

    return options


def _tls(fn: Callable[[Ctx], Signer]) -> Callable[[Ctx], dict[str, Any]]:
    """Present ``fn(ctx)``'s certificate at TLS, sign with the member's usual key."""
    return lambda c: {"tls_pem": pem(fn(c))}


CASES = [
    # -- X-Road-Client
    Case("client-missing", get(client=None), 400, BAD, detail={"header": "X-Road-Client"}),
    Case("client-garbled", get(client="not a client id"), 400, BAD),
    Case("client-wrong-member-class", get(client="VN/XYZ/UBND-HN/one-stop"), 400, BAD),
    Case("client-lower-case-instance", get(client="vn/GOV/UBND-HN/one-stop"), 400, BAD),
    Case("client-three-segments", get(client="VN/GOV/UBND-HN"), 400, BAD),
    Case("client-five-segments", get(client="VN/GOV/UBND-HN/one-stop/x"), 400, BAD),
    Case("client-dotdot-segment", get(client="VN/GOV/../one-stop"), 400, BAD),
    Case("client-repeated", get(extra_headers=[(b"x-road-client", ONE_STOP.encode())]), 400, BAD),
    Case(
        "client-non-ascii",
        get(client=None, extra_headers=[(b"x-road-client", "VN/GOV/UBND-HN/một".encode())]),
        400,
        BAD,
    ),
    Case("client-names-another-member", get(client=LAND_OFFICE), 401, SIG),
    # -- X-Road-Id
    Case("id-malformed", get(xroad_id="id with spaces"), 400, BAD),
    Case("id-too-long", get(xroad_id="a" * 129), 400, BAD),
    Case("id-repeated", get(extra_headers=[(b"x-road-id", b"another-id")]), 400, BAD),
    Case("id-differs-from-jti", get(jti="some-other-id"), 401, SIG, detail={"check": "jti"}),
    # -- X-Road-UserId
    Case("userid-too-short", get(user_id="12345"), 400, BAD),
    Case("userid-letters", get(user_id="00108000000A"), 400, BAD),
    Case("userid-unknown-province", get(user_id="999080000001"), 400, BAD),
    Case(
        "userid-missing-for-personal-data",
        get(user_id=None),
        400,
        BAD,
        detail={"header": "X-Road-UserId"},
    ),
    # -- X-Road-Issue
    Case("issue-too-long", get(issue="x" * 129), 400, BAD),
    Case("issue-control-character", get(issue="case\t1"), 400, BAD),
    Case("issue-non-ascii", get(extra_headers=[(b"x-road-issue", "hồ sơ 1".encode())]), 400, BAD),
    # -- X-Road-Purpose
    Case("purpose-upper-case", get(purpose="Household-Business"), 400, BAD),
    Case("purpose-underscore", get(purpose="bank_kyc"), 400, BAD),
    Case("purpose-too-long", get(purpose="a" * 65), 400, BAD),
    # -- X-Road-Consent
    Case("consent-header-malformed", get(consent="not a consent!"), 400, BAD),
    Case("consent-header-too-long", get(consent="a" * 65), 400, BAD),
    # -- X-Road-Signature
    Case("signature-missing", get(sign=False), 401, SIG, detail={"check": "missing"}),
    Case("signature-repeated", get(extra_headers=[(b"x-road-signature", b"a.b.c")]), 400, BAD),
    Case(
        "signature-non-ascii",
        get(sign=False, extra_headers=[(b"x-road-signature", "ä.b.c".encode())]),
        400,
        BAD,
    ),
    # -- the path: traversal and encoded separators never reach matching
    Case("path-dotdot", get("{persons}/../persons/{pid}"), 400, BAD),
    Case(
        "path-dotdot-to-other-provider",
        get(f"/r1/{BUSINESS}/../../BCA/population/persons/{{pid}}"),
        400,
        BAD,
    ),
    Case("path-dot-segment", get("{persons}/./{pid}"), 400, BAD),
    Case("path-pct-2e2e", get("{persons}/%2e%2e/persons/{pid}"), 400, BAD),
    Case("path-pct-2E2e", get("{persons}/%2E%2e/persons/{pid}"), 400, BAD),
    Case("path-dot-pct-2e", get("{persons}/.%2e/persons/{pid}"), 400, BAD),
    Case("path-pct-2f", get("{persons}%2f{pid}"), 400, BAD),
    Case("path-pct-2F", get("{persons}%2F{pid}"), 400, BAD),
    Case("path-pct-5c", get("{persons}%5c{pid}"), 400, BAD),
    Case("path-backslash", get("{persons}\\{pid}"), 400, BAD),
    Case("path-double-slash", get(f"/r1/{POPULATION}//persons/{{pid}}"), 400, BAD),
    Case("path-trailing-dot", get("{person}/."), 400, BAD),
    Case("path-trailing-slash", get("{person}/"), 400, BAD),
    Case("path-encoded-nul", get("{person}%00"), 400, BAD),
    Case("path-encoded-newline", get("{person}%0a"), 400, BAD),
    Case("path-encoded-del", get("{person}%7F"), 400, BAD),
    Case("path-raw-non-ascii", get("{persons}/" + "nguyễn".encode().decode("latin-1")), 400, BAD),
    Case("path-too-short", get(f"/r1/{POPULATION}"), 400, BAD),
    Case("path-bad-service-code", get(f"/r1/{POPULATION}/per$ons/{{pid}}"), 400, BAD),
    # -- routing: provider, service, operation, method
    Case(
        "unknown-provider",
        get("/r1/VN/GOV/XYZ/nothing/persons/{pid}"),
        404,
        "client.service_unknown",
    ),
    Case(
        "unknown-service-code",
        get(f"/r1/{POPULATION}/pets/{{pid}}"),
        404,
        "client.service_unknown",
    ),
    Case("unknown-operation", get("{person}/pets"), 404, "client.operation_unknown"),
    Case("unknown-operation-without-id", get("{persons}"), 404, "client.operation_unknown"),
    Case(
        "wrong-method-post",
        call("POST", json_body={"x": 1}),
        405,
        "client.method_not_allowed",
        headers={"allow": "GET"},
    ),
    Case(
        "wrong-method-delete",
        call("DELETE"),
        405,
        "client.method_not_allowed",
        headers={"allow": "GET"},
    ),
    Case(
        "wrong-method-get-on-post-operation",
        get(IDENTITY),
        405,
        "client.method_not_allowed",
        headers={"allow": "POST"},
    ),
    Case(
        "fields-on-operation-without-fields",
        call("POST", IDENTITY, "fields=full_name", json_body=VERIFY_BODY),
        400,
        BAD,
    ),
    # -- metaservices
    Case(
        "listmethods-unknown-provider",
        get("/r1/VN/GOV/XYZ/nothing/listMethods"),
        404,
        "client.service_unknown",
    ),
    Case(
        "getopenapi-without-servicecode",
        get(f"/r1/{POPULATION}/getOpenAPI"),
        400,
        BAD,
        detail={"parameter": "serviceCode"},
    ),
    Case(
        "getopenapi-empty-servicecode",
        get(f"/r1/{POPULATION}/getOpenAPI", "serviceCode="),
        400,
        BAD,
    ),
    Case(
        "getopenapi-unknown-servicecode",
        get(f"/r1/{POPULATION}/getOpenAPI", "serviceCode=pets"),
        404,
        "client.service_unknown",
    ),
    # -- the request signature
    Case("jws-garbled", get(jws="abc.def.ghi"), 401, SIG, detail={"check": "format"}),
    Case("jws-not-compact", get(jws="not-a-jws"), 401, SIG, detail={"check": "format"}),
    Case(
        "jws-alg-none",
        with_ctx(alg_none),
        401,
        SIG,
        detail={"check": "algorithm"},
        reason="algorithm",
    ),
    Case("jws-alg-hs256", with_ctx(alg_hs256), 401, SIG, detail={"check": "algorithm"}),
    Case("jws-without-x5c", with_ctx(no_x5c), 401, SIG, detail=CERT),
    Case("jws-typ-forward", with_ctx(typ_forward), 401, SIG, detail={"check": "format"}),
    Case("jws-typ-jwt", with_ctx(typ_plain_jwt), 401, SIG, detail={"check": "format"}),
    Case("jws-bad-signature", with_ctx(bad_signature), 401, SIG, detail={"check": "signature"}),
    Case(
        "jws-untrusted-ca",
        with_ctx(_signer(foreign_ca_signer)),
        401,
        SIG,
        detail=CERT,
        reason="untrusted",
    ),
    Case(
        "jws-signed-by-another-member",
        with_ctx(_signer(lambda c: c.gw.signer(LAND_OFFICE))),
        401,
        SIG,
        detail={"check": "signer"},
    ),
    Case("jws-iss-differs", get(iss=LAND_OFFICE), 401, SIG, detail={"check": "signer"}),
    Case("tls-of-another-member", get(tls=LAND_OFFICE), 401, SIG, detail={"check": "signer"}),
    Case(
        "tls-and-jws-of-another-member-than-client",
        get(member=LAND_OFFICE, client=ONE_STOP),
        401,
        SIG,
        detail={"check": "signer"},
    ),
    Case(
        "jws-aud-differs", get(aud="VN/GOV/LIENTHONG/other"), 401, SIG, detail={"check": "audience"}
    ),
    Case("jws-aud-missing", get(aud=DROP), 401, SIG, detail={"check": "audience"}),
    Case("jws-htm-differs", get(htm="POST"), 401, SIG, detail={"check": "target"}),
    Case(
        "jws-htu-other-person",
        get(htu="{persons}/{other}"),
        401,
        SIG,
        detail={"check": "target"},
    ),
    Case(
        "jws-htu-without-query",
        get(query="fields=full_name", htu="{person}"),
        401,
        SIG,
        detail={"check": "target"},
    ),
    Case(
        "jws-htu-decoded-path",
        get("{persons}/%30{pid}", htu="{persons}/0{pid}"),
        401,
        SIG,
        detail={"check": "target"},
    ),
    Case(
        "jws-body-digest-differs",
        call("POST", IDENTITY, json_body=VERIFY_BODY, body_sha256=sha256_b64url(b"{}")),
        401,
        SIG,
        detail={"check": "body"},
    ),
    Case(
        "jws-body-digest-missing",
        call("POST", IDENTITY, json_body=VERIFY_BODY, body_sha256=DROP),
        401,
        SIG,
        detail={"check": "body"},
    ),
    Case(
        "jws-purpose-differs",
        claim("purpose", LAND_TRANSFER),
        401,
        SIG,
        detail={"check": "headers"},
    ),
    Case("jws-purpose-without-header", claim("purpose", HBR, purpose=None), 401, SIG),
    Case("jws-consent-differs", claim("consent", "c-1", consent="c-2"), 401, SIG),
    Case("jws-uid-differs", claim("uid", "001080000002"), 401, SIG, detail={"check": "headers"}),
    Case("jws-issue-differs", claim("issue", "HS-2", issue="HS-1"), 401, SIG),
    Case("jws-issue-without-header", claim("issue", "HS-1"), 401, SIG),
    Case(
        "jws-jti-malformed", get(xroad_id=None, jti="bad jti!"), 401, SIG, detail={"check": "jti"}
    ),
    Case(
        "jws-jti-non-ascii", get(xroad_id=None, jti="mã-số-ưu"), 401, SIG, detail={"check": "jti"}
    ),
    Case("jws-jti-missing", get(xroad_id=None, jti=DROP), 401, SIG, detail={"check": "jti"}),
    Case("jws-iat-missing", get(iat=DROP), 401, SIG, detail={"check": "clock"}),
    Case("jws-iat-string", with_ctx(lambda c: {"iat": str(timestamp(c.now()))}), 401, SIG),
    Case("jws-iat-boolean", get(iat=True), 401, SIG, detail={"check": "clock"}),
    Case("jws-iat-stale", with_ctx(_iat(-SKEW - 1)), 401, SIG, detail={"check": "clock"}),
    Case("jws-iat-future", with_ctx(_iat(SKEW + 1)), 401, SIG, detail={"check": "clock"}),
    Case("jws-replayed-jti", replayed, 401, SIG, detail={"check": "replay"}),
    # -- certificates (±1 s around the validity period; the boundary itself is accepted:
    #    test_certificate_accepted_exactly_at_its_boundary)
    Case(
        "jws-cert-expired-1s-ago",
        with_ctx(_signer(lambda c: short_lived(c, before=-3600, after=-1))),
        401,
        SIG,
        detail=CERT,
        reason="expired",
    ),
    Case(
        "jws-cert-valid-in-1s",
        with_ctx(_signer(lambda c: short_lived(c, before=1, after=3600))),
        401,
        SIG,
        detail=CERT,
        reason="not_yet_valid",
    ),
    Case(
        "jws-cert-revoked",
        with_ctx(lambda c: {"signer": c.revoked}),
        401,
        SIG,
        env="revoked",
        detail=CERT,
        reason="revoked",
    ),
    Case(
        "tls-cert-expired-1s-ago",
        with_ctx(_signer(lambda c: short_lived(c, before=-3600, after=-1), tls=True)),
        403,
        DENIED,
    ),
    Case(
        "tls-cert-valid-in-1s",
        with_ctx(_tls(lambda c: short_lived(c, before=1, after=3600))),
        403,
        DENIED,
    ),
    Case(
        "tls-cert-revoked",
        with_ctx(lambda c: {"signer": c.revoked, "tls_pem": pem(c.revoked)}),  # type: ignore[arg-type]
        403,
        DENIED,
        env="revoked",
    ),
    Case("tls-cert-untrusted-ca", with_ctx(_tls(foreign_ca_signer)), 403, DENIED),
    Case("tls-no-client-certificate", get(tls=None), 403, DENIED),
    # -- purposes, access rights, fields
    Case("purpose-missing", get(purpose=None), 400, "client.purpose_required"),
    Case(
        "purpose-unknown",
        get(purpose="no-such-purpose"),
        400,
        "client.purpose_unknown",
        detail={"purpose": "no-such-purpose"},
    ),
    Case("purpose-not-granted", get(purpose=LAND_TRANSFER), 403, "client.purpose_not_allowed"),
    Case("purpose-of-another-client", get(purpose=BANK_KYC), 403, "client.purpose_not_allowed"),
    Case(
        "fields-not-allowed",
        get(query="fields=full_name,father_id,mother_id"),
        403,
        "client.fields_not_allowed",
        detail={"fields": ["father_id", "mother_id"]},
    ),
    Case(
        "fields-not-allowed-one",
        get(query="fields=ethnicity"),
        403,
        "client.fields_not_allowed",
        detail={"fields": ["ethnicity"]},
    ),
    Case(
        "fields-not-allowed-repeated-parameter",
        get(query="fields=full_name&fields=hometown"),
        403,
        "client.fields_not_allowed",
        detail={"fields": ["hometown"]},
    ),
    Case("field-unknown", get(query="fields=shoe_size"), 400, BAD),
    Case("field-unknown-among-known", get(query="fields=full_name,shoe_size"), 400, BAD),
    Case(
        "no-grant-for-operation",
        get("{person}/household", member=LAND_OFFICE, purpose=LAND_TRANSFER),
        403,
        DENIED,
    ),
    Case(
        "no-grant-for-service",
        get(f"/r1/{LAND}/parcels/w3ep307wt8gz", member=KYC, purpose=BANK_KYC),
        403,
        DENIED,
    ),
    Case("no-grant-at-all", get(member=ADMIN, purpose=HBR), 403, DENIED),
    Case(
        "no-grant-for-method",
        call("POST", f"/r1/{LAND}/verifications/certificate", json_body={"holder_id": "1"}),
        403,
        DENIED,
    ),
    # -- consent (the bank's KYC purpose needs it)
    Case("consent-missing", consent_missing, 403, "client.consent_required"),
    Case(
        "consent-unknown",
        consent_unknown,
        403,
        "client.consent_invalid",
        detail={"check": "unknown"},
    ),
    Case(
        "consent-expired",
        consent_expired,
        403,
        "client.consent_invalid",
        detail={"check": "expired"},
    ),
    Case(
        "consent-revoked",
        consent_revoked,
        403,
        "client.consent_invalid",
        detail={"check": "revoked"},
    ),
    Case(
        "consent-of-another-citizen",
        consent_other_citizen,
        403,
        "client.consent_invalid",
        detail={"check": "subject"},
    ),
    Case(
        "consent-for-another-client",
        consent_other_client,
        403,
        "client.consent_invalid",
        detail={"check": "client"},
    ),
    Case(
        "consent-for-another-purpose",
        consent_other_purpose,
        403,
        "client.consent_invalid",
        env="two-consent-purposes",
        detail={"check": "purpose"},
    ),
    Case(
        "consent-not-covering-a-field",
        consent_field_not_covered,
        403,
        "client.consent_invalid",
        detail={"check": "fields", "fields": ["date_of_birth"]},
    ),
    Case(
        "consent-covering-no-granted-field",
        consent_covering_no_granted_field,
        403,
        "client.consent_invalid",
    ),
    Case(
        "consent-for-another-service",
        consent_other_service,
        403,
        "client.consent_invalid",
        detail={"check": "service"},
    ),
    # -- the provider's answer (after acceptance: the refusal is the "answered" record)
    Case(
        "provider-extra-field-resigned",
        fault(extra_field, query="fields=full_name"),
        502,
        "server.provider_response_invalid",
        record="answered",
        detail={"fields": ["father_id"]},
    ),
    Case(
        "provider-extra-field-in-household-members",
        fault(extra_member_field, path="{person}/household"),
        502,
        "server.provider_response_invalid",
        record="answered",
        detail={"fields": ["sex"]},
    ),
    Case(
        "provider-body-not-json",
        fault(not_json),
        502,
        "server.provider_response_invalid",
        record="answered",
    ),
    Case(
        "provider-5xx",
        fault(answers(500)),
        502,
        "server.provider_response_invalid",
        record="answered",
    ),
    Case(
        "provider-3xx",
        fault(answers(302)),
        502,
        "server.provider_response_invalid",
        record="answered",
    ),
    Case(
        "provider-503",
        fault(answers(503)),
        503,
        "server.provider_unavailable",
        record="answered",
    ),
    Case(
        "provider-body-changed",
        fault(body_changed),
        502,
        "server.provider_signature_invalid",
        record="answered",
        detail={"check": "body"},
    ),
    Case(
        "provider-signature-corrupted",
        fault(signature_corrupted),
        502,
        "server.provider_signature_invalid",
        record="answered",
    ),
    Case(
        "provider-signature-missing",
        fault(signature_missing),
        502,
        "server.provider_signature_invalid",
        record="answered",
    ),
    Case(
        "provider-signed-by-another-registry",
        fault(signed_by(BUSINESS)),
        502,
        "server.provider_signature_invalid",
        record="answered",
        detail={"check": "signer"},
    ),
    Case(
        "provider-signed-by-a-client",
        fault(signed_by(ONE_STOP)),
        502,
        "server.provider_signature_invalid",
        record="answered",
    ),
    Case(
        "provider-signature-other-jti",
        fault(signed_by(POPULATION, jti="another-exchange")),
        502,
        "server.provider_signature_invalid",
        record="answered",
        detail={"check": "jti"},
    ),
    Case(
        "provider-signature-other-request",
        fault(signed_by(POPULATION, request_hash=sha256_b64url(b"another request"))),
        502,
        "server.provider_signature_invalid",
        record="answered",
        detail={"check": "request_hash"},
    ),
    Case(
        "provider-signature-other-status",
        fault(signed_by(POPULATION, status=404)),
        502,
        "server.provider_signature_invalid",
        record="answered",
        detail={"check": "status"},
    ),
    Case(
        "provider-signature-wrong-typ",
        fault(wrong_typ),
        502,
        "server.provider_signature_invalid",
        record="answered",
    ),
    Case("provider-down", provider_down, 503, "server.provider_unavailable", record="answered"),
    Case(
        "provider-timeout",
        provider_timeout,
        504,
        "server.provider_timeout",
        record="answered",
        env="short-timeout",
    ),
    # -- limits
    Case(
        "payload-too-large-declared",
        oversize_declared,
        413,
        "client.payload_too_large",
        env="small-body",
    ),
    Case(
        "payload-too-large-chunked",
        oversize_chunked,
        413,
        "client.payload_too_large",
        env="small-body",
    ),
    Case("rate-limited", rate_limited, 429, "client.rate_limited", env="tiny-bucket"),
]


def _two_consent_purposes(tmp_path: Path) -> Path:
    """The dev policy plus a second consent purpose the bank holds a grant for."""
    policy = tmp_path / "policy"
    policy.mkdir()
    purposes = (DEFAULT_POLICY_DIR / "purposes.yaml").read_text(encoding="utf-8")
    grants = (DEFAULT_POLICY_DIR / "grants.yaml").read_text(encoding="utf-8")
    (policy / "purposes.yaml").write_text(
        purposes
        + "\n- code: bank-credit\n  title: {vi: Tín dụng, en: Credit}\n"
        + "  legal_basis: dpv:Consent\n  consent: true\n",
        encoding="utf-8",
    )
    (policy / "grants.yaml").write_text(
        grants
        + f"\n- client: {KYC}\n  service: {PERSONS_OF}\n  methods: [GET]\n"
        + '  paths: ["/{personal_id}"]\n  purposes: [bank-credit]\n'
        + "  fields: [full_name, date_of_birth]\n",
        encoding="utf-8",
    )
    return policy


def _revoked_pki(tmp_path: Path, dev_pki: Path, pki_files: PkiFiles) -> tuple[Path, Signer]:
    """A copy of the dev PKI whose CRL revokes a fresh one-stop certificate."""
    root = tmp_path / "pki"
    shutil.copytree(dev_pki, root)
    now = dt.datetime.now(dt.UTC)
    signer = member_certificate(
        pki_files,
        ONE_STOP,
        not_before=now - dt.timedelta(hours=1),
        not_after=now + dt.timedelta(days=1),
    )
    authority = PkiFiles(root).authority
    crl = make_crl(
        ca_cert=load_certificate(authority.ca_cert_path),
        ca_key=load_private_key(authority.ca_key_path),
        revoked=[(signer.certificate.serial_number, now - dt.timedelta(minutes=1))],
        now=now,
    )
    authority.crl_path.write_bytes(crl.public_bytes(serialization.Encoding.PEM))
    return root, signer


async def _context(
    env: str,
    *,
    tmp_path: Path,
    dev_pki: Path,
    pki_files: PkiFiles,
    build_exchange: BuildExchange,
    linked_world: LinkedWorld,
) -> Ctx:
    revoked: Signer | None = None
    options: dict[str, Any] = {}
    if env == "revoked":
        options["pki"], revoked = _revoked_pki(tmp_path, dev_pki, pki_files)
    elif env == "two-consent-purposes":
        options["policy_dir"] = _two_consent_purposes(tmp_path)
    elif env == "short-timeout":
        options["provider_timeout_seconds"] = 0.2
    elif env == "small-body":
        options["max_body_bytes"] = 1024
    elif env == "tiny-bucket":
        options.update(rate_limit_burst=1, rate_limit_per_second=0.001)
    ex = await build_exchange(**options)
    alive = [p for p in linked_world.population.people if p.date_of_death is None]
    return Ctx(
        Gateway(ex, pki_files),
        pki_files,
        pid=alive[0].personal_id,
        other_pid=alive[1].personal_id,
        revoked=revoked,
    )


def test_the_suite_has_at_least_seventy_cases() -> None:
    assert len(CASES) >= 70
    assert len({c.id for c in CASES}) == len(CASES)


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
async def test_refused(
    case: Case,
    tmp_path: Path,
    dev_pki: Path,
    pki_files: PkiFiles,
    build_exchange: BuildExchange,
    linked_world: LinkedWorld,
) -> None:
    ctx = await _context(
        case.env,
        tmp_path=tmp_path,
        dev_pki=dev_pki,
        pki_files=pki_files,
        build_exchange=build_exchange,
        linked_world=linked_world,
    )
    reply = await case.make(ctx)

    assert reply.status == case.status, reply.text
    body = reply.json()
    assert body["type"] == case.error, body
    assert set(body) == {"type", "message", "detail"}
    assert reply.headers.get_list("x-road-error") == [body["type"]]
    x_road_id = reply.headers.get("x-road-id")
    assert x_road_id is not None and XROAD_ID.fullmatch(x_road_id)
    for key, value in case.detail.items():
        assert body["detail"][key] == value, body
    for name, value in case.headers.items():
        assert reply.headers.get(name) == value
    if case.status == 429:
        assert int(reply.headers["retry-after"]) >= 1

    if case.record is not None:
        rows = ctx.gw.records(x_road_id)
        kinds = [r.kind for r in rows]
        assert case.record in kinds, kinds
        record = record_json(next(r for r in rows if r.kind == case.record))
        if case.record == "refused":
            assert (record["error"], record["status"]) == (case.error, case.status)
            if case.reason is not None:
                assert record["reason"] == case.reason
        else:
            assert kinds[kinds.index(case.record) - 1] == "accepted"
            assert (record["outcome"], record["status"]) == (case.error, case.status)
    # No personal id in clear in any record: not the data subject, not the official.
    for row in ctx.gw.records():
        assert_canonical(row)
        data = bytes(row.record)
        for pid in (ctx.pid, ctx.other_pid, OFFICIAL):
            assert pid.encode() not in data


# -- the other side of each boundary: accepted ---------------------------------------------


def _alive(linked_world: LinkedWorld) -> str:
    return next(p for p in linked_world.population.people if p.date_of_death is None).personal_id


@pytest.mark.parametrize("offset", [-SKEW, SKEW], ids=["iat-skew-seconds-old", "iat-skew-ahead"])
async def test_iat_accepted_at_the_edge_of_the_clock_skew(
    gw: Gateway, linked_world: LinkedWorld, offset: int
) -> None:
    reply = await gw.request(
        path=f"{PERSONS}/{_alive(linked_world)}", iat=timestamp(gw.now()) + offset
    )
    assert reply.status == 200, reply.text


@pytest.mark.parametrize("edge", ["not_before", "not_after"])
async def test_certificate_accepted_exactly_at_its_boundary(
    gw: Gateway, pki_files: PkiFiles, linked_world: LinkedWorld, edge: str
) -> None:
    now = gw.now()
    hour = dt.timedelta(hours=1)
    validity = {"not_before": now - hour, "not_after": now + hour, edge: now}
    signer = member_certificate(
        pki_files, ONE_STOP, not_before=validity["not_before"], not_after=validity["not_after"]
    )
    reply = await gw.request(
        path=f"{PERSONS}/{_alive(linked_world)}", signer=signer, tls_pem=pem(signer)
    )
    assert reply.status == 200, reply.text


async def test_same_jti_from_another_client_is_not_a_replay(
    gw: Gateway, linked_world: LinkedWorld
) -> None:
    """The replay cache is keyed by client and jti: one member cannot burn another's ids."""
    pid = _alive(linked_world)
    first = await gw.request(path=f"{PERSONS}/{pid}", xroad_id="shared-id-1")
    second = await gw.request(
        path=f"{PERSONS}/{pid}", member=LAND_OFFICE, purpose=LAND_TRANSFER, xroad_id="shared-id-1"
    )
    assert (first.status, second.status) == (200, 200), second.text


async def test_provider_not_found_passes_through_signed_without_x_road_error(
    gw: Gateway, pki_files: PkiFiles
) -> None:
    nobody = "001090999999"
    reply = await gw.request(path=f"{PERSONS}/{nobody}")
    assert reply.status == 404
    assert reply.json()["type"] == "client.person_not_found"
    assert "x-road-error" not in reply.headers
    signature = reply.headers["x-road-response-signature"]
    verified = verify(signature, store=pki_files.store(), now=gw.now(), typ=TYP_RESPONSE)
    assert verified.claims["status"] == 404
    assert verified.claims["body_sha256"] == sha256_b64url(reply.body)
    kinds = [r.kind for r in gw.records(reply.headers["x-road-id"])]
    assert kinds == ["accepted", "answered"]
    answered = record_json(gw.records(reply.headers["x-road-id"])[1])
    assert (answered["status"], answered["outcome"]) == (404, "provider_error")
    assert all(nobody.encode() not in bytes(r.record) for r in gw.records())
