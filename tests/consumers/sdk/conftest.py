"""A fake gateway for the SDK: respx answers as the gateway would, with real signatures.

The dev PKI is made once per session with ``certs.dev.ensure_dev_pki``; registry answers
are signed with the providers' own member keys, so the SDK's verification runs on real
crypto. ``FakeGateway`` records every request and answers from a queue of replies (the
last one repeats); ``gateway.signed(...)`` builds a registry-signed answer and
``gateway.error(...)`` an error of the gateway's own; ``gateway.with_receipt(reply)`` adds
the gateway's signed ``X-Road-Log-Receipt`` to any of them.
"""

from __future__ import annotations

import datetime as dt
import json
import random
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest
import respx

from certs.authority import Authority
from certs.dev import CONSUMERS, PROVIDERS, ensure_dev_pki
from consumers.sdk import AsyncGatewayClient, GatewayClient
from core.pki import TrustStore
from core.signing import TYP_RECEIPT, TYP_RESPONSE, Signer, sha256_b64url, timestamp

GATEWAY_URL = "https://127.0.0.1:8443"
ONE_STOP = CONSUMERS["one-stop"]
OFFICIAL = "001080000001"
PID = "001090012345"

Reply = Callable[[httpx.Request], httpx.Response]

LOG_ORIGIN = "lienthong.local/evidence-log"
RECEIPT_INDEX = 41
LEAF = "ab" * 32
ACCEPTED_LEAF = "cd" * 32
DROP: Any = object()  # a receipt claim override that leaves the claim out


@pytest.fixture(scope="session")
def pki(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("pki")
    ensure_dev_pki(root)
    return root


@pytest.fixture(scope="session")
def now() -> dt.datetime:
    return dt.datetime.now(dt.UTC).replace(microsecond=0)


@pytest.fixture(scope="session")
def store(pki: Path) -> TrustStore:
    authority = Authority(pki)
    return TrustStore.from_files(authority.ca_cert_path, authority.crl_path)


@pytest.fixture(scope="session")
def signers(pki: Path) -> dict[str, Signer]:
    """Member signers by short name (``population``, ``one-stop``...)."""
    authority = Authority(pki)
    ids = {**PROVIDERS, **CONSUMERS, "gateway": "VN/GOV/LIENTHONG/gateway"}
    return {
        name: Signer.from_files(*authority.member_paths(member)) for name, member in ids.items()
    }


@dataclass
class FakeGateway:
    """Answers every request to the gateway's address from ``replies`` (the last repeats)."""

    signers: dict[str, Signer]
    now: dt.datetime
    requests: list[httpx.Request] = field(default_factory=list)
    replies: list[Reply] = field(default_factory=list)

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        reply = self.replies.pop(0) if len(self.replies) > 1 else self.replies[0]
        return reply(request)

    def answer(self, *replies: Reply) -> None:
        self.replies = list(replies)

    @property
    def last(self) -> httpx.Request:
        return self.requests[-1]

    def signed(
        self,
        body: Any = None,
        *,
        status: int = 200,
        by: str = "population",
        claims: dict[str, Any] | None = None,
        content: bytes | None = None,
        headers: dict[str, str] | None = None,
        service: str | None = None,
    ) -> Reply:
        """A registry's answer relayed by the gateway, signed by member ``by``.

        ``claims`` override the signed claims, ``content`` replaces the body after
        signing, ``headers`` override the gateway's headers: each makes one kind of bad
        answer.
        """

        def reply(request: httpx.Request) -> httpx.Response:
            signature = request.headers["X-Road-Signature"]
            request_hash = sha256_b64url(signature.encode("ascii"))
            payload = json.dumps({"ok": True} if body is None else body).encode()
            signed_claims: dict[str, Any] = {
                "iss": str(self.signers[by].member_id),
                "jti": request.headers["X-Road-Id"],
                "request_hash": request_hash,
                "status": status,
                "body_sha256": sha256_b64url(payload),
                "iat": timestamp(self.now),
                **(claims or {}),
            }
            target = request.url.path.removeprefix("/r1/")
            out = {
                "Content-Type": "application/json",
                "X-Road-Id": request.headers["X-Road-Id"],
                "X-Road-Client": request.headers["X-Road-Client"],
                "X-Road-Service": service or "/".join(target.split("/")[:5]),
                "X-Road-Request-Hash": request_hash,
                "X-Road-Response-Signature": self.signers[by].sign(signed_claims, typ=TYP_RESPONSE),
                **(headers or {}),
            }
            return httpx.Response(
                status, content=payload if content is None else content, headers=out
            )

        return reply

    def error(
        self,
        status: int,
        type_: str,
        message: str = "refused",
        detail: Any = None,
        *,
        headers: dict[str, str] | None = None,
    ) -> Reply:
        """An error of the gateway's own: ``X-Road-Error``, not signed by a registry."""

        def reply(request: httpx.Request) -> httpx.Response:
            out = {
                "X-Road-Error": type_,
                "X-Road-Id": request.headers.get("X-Road-Id", "-"),
                **(headers or {}),
            }
            body = {"type": type_, "message": message, "detail": detail}
            return httpx.Response(status, json=body, headers=out)

        return reply

    def receipt_claims(self, request: httpx.Request, **claims: Any) -> dict[str, Any]:
        """The claims of the gateway's receipt for ``request`` (any overridden or DROPped)."""
        out: dict[str, Any] = {
            "iss": str(self.signers["gateway"].member_id),
            "jti": request.headers["X-Road-Id"],
            "origin": LOG_ORIGIN,
            "index": RECEIPT_INDEX,
            "leaf_hash": LEAF,
            "iat": timestamp(self.now),
            "accepted_index": RECEIPT_INDEX - 1,
            "accepted_leaf_hash": ACCEPTED_LEAF,
        }
        out.update(claims)
        return {k: v for k, v in out.items() if v is not DROP}

    def with_receipt(
        self,
        reply: Reply,
        *,
        by: str = "gateway",
        typ: str = TYP_RECEIPT,
        token: str | None = None,
        signer: Signer | None = None,
        **claims: Any,
    ) -> Reply:
        """``reply`` with ``X-Road-Log-Receipt``: signed by member ``by`` (or ``signer``) over
        ``receipt_claims``, or exactly ``token``."""

        def wrapped(request: httpx.Request) -> httpx.Response:
            response = reply(request)
            value = token
            if value is None:
                sign_with = signer or self.signers[by]
                value = sign_with.sign(self.receipt_claims(request, **claims), typ=typ)
            response.headers["X-Road-Log-Receipt"] = value
            return response

        return wrapped

    def unsigned(self, body: Any, status: int = 200) -> Reply:
        """A metaservice answer from the gateway itself (no registry signature)."""

        def reply(request: httpx.Request) -> httpx.Response:
            request_hash = sha256_b64url(request.headers["X-Road-Signature"].encode("ascii"))
            return httpx.Response(
                status,
                json=body,
                headers={
                    "X-Road-Id": request.headers["X-Road-Id"],
                    "X-Road-Request-Hash": request_hash,
                },
            )

        return reply


@pytest.fixture
def gateway(
    respx_mock: respx.MockRouter, signers: dict[str, Signer], now: dt.datetime
) -> FakeGateway:
    fake = FakeGateway(signers, now)
    fake.answer(fake.signed())
    respx_mock.route(host="127.0.0.1", port=8443).mock(side_effect=fake)
    return fake


@pytest.fixture
def sleeps() -> list[float]:
    """The delays the client slept for (its ``sleep`` is ``sleeps.append``: no waiting)."""
    return []


@pytest.fixture
def client(pki: Path, now: dt.datetime, sleeps: list[float]) -> Iterator[GatewayClient]:
    with GatewayClient.from_pki(
        pki,
        ONE_STOP,
        user_id=OFFICIAL,
        clock=lambda: now,
        sleep=sleeps.append,
        rng=random.Random(7),
    ) as c:
        yield c


@pytest.fixture
async def async_client(pki: Path, now: dt.datetime, sleeps: list[float]) -> Any:
    async def sleep(delay: float) -> None:
        sleeps.append(delay)

    async with AsyncGatewayClient.from_pki(
        pki,
        ONE_STOP,
        user_id=OFFICIAL,
        clock=lambda: now,
        sleep=sleep,
        rng=random.Random(7),
    ) as c:
        yield c
