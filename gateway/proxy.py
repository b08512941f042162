"""Forwarding a query to its provider over mTLS, and checking what comes back.

The forwarding client is ``gateway.forwarder.LeanForwarder`` (ADR 0005 chose aiohttp over
``httpx`` for this hot path, ADR 0008 a lean HTTP/1.1 client over aiohttp, at a third of its
CPU per request). A provider that refuses the connection is
``server.provider_unavailable`` at once; one slower than the timeout is
``server.provider_timeout``. The provider's answer must carry its signature over the body,
the request hash and the X-Road-Id, and a successful answer must hold no field outside the
allowed set — otherwise the consumer gets a 502, never the data.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any, Protocol

from core.ids.xroad import ClientId
from core.pki import TrustStore
from core.signing import TYP_RESPONSE, SignatureRejected, sha256_b64url, verify
from gateway.errors import (
    ProviderResponseInvalid,
    ProviderSignatureInvalid,
    ProviderTimeout,
    ProviderUnavailable,
)

RESPONSE_SIGNATURE = "x-road-response-signature"


@dataclass(frozen=True)
class Upstream:
    """A provider's answer as received."""

    status: int
    headers: Mapping[str, str]  # lower-case names
    body: bytes


class Forwarder(Protocol):
    async def send(
        self, method: str, url: str, headers: dict[str, str], body: bytes, timeout: float
    ) -> Upstream: ...

    async def close(self) -> None: ...


def verify_provider_response(
    upstream: Upstream,
    *,
    provider: ClientId,
    x_road_id: str,
    request_hash: str,
    store: TrustStore,
    now: dt.datetime,
) -> str:
    """Check the provider's response signature; return the JWS to relay."""
    token = upstream.headers.get(RESPONSE_SIGNATURE)
    if not token:
        raise ProviderSignatureInvalid("the provider's response is not signed")
    try:
        verified = verify(token, store=store, now=now, typ=TYP_RESPONSE)
    except SignatureRejected as e:
        raise ProviderSignatureInvalid(detail={"check": e.reason}) from e
    c = verified.claims
    checks = (
        ("signer", verified.signer == provider and c.get("iss") == str(provider)),
        ("jti", c.get("jti") == x_road_id),
        ("request_hash", c.get("request_hash") == request_hash),
        ("status", c.get("status") == upstream.status),
        ("body", c.get("body_sha256") == sha256_b64url(upstream.body)),
    )
    for check, ok in checks:
        if not ok:
            raise ProviderSignatureInvalid(detail={"check": check})
    return token


def _objects_at(value: Any, path: Iterable[str]) -> Iterable[Any]:
    """Every object found by walking ``path`` (lists are traversed implicitly)."""
    items = [value]
    for key in path:
        nxt: list[Any] = []
        for item in items:
            if isinstance(item, list):
                item_list: list[Any] = item
            else:
                item_list = [item]
            for it in item_list:
                if isinstance(it, dict) and key in it:
                    nxt.append(it[key])
        items = nxt
    for item in items:
        if isinstance(item, list):
            yield from item
        else:
            yield item


def check_fields(body: bytes, *, fields_at: str | None, allowed: Iterable[str]) -> Any:
    """Parse a successful JSON body and refuse it if it holds a field outside ``allowed``."""
    try:
        data = json.loads(body)
    except ValueError as e:
        raise ProviderResponseInvalid("the provider's answer is not JSON") from e
    if fields_at is None:
        return data
    allowed_set = set(allowed)
    path = [p for p in fields_at.split(".") if p]
    extra: set[str] = set()
    for obj in _objects_at(data, path):
        if not isinstance(obj, dict):
            raise ProviderResponseInvalid("the provider's answer has an unexpected shape")
        extra |= set(obj) - allowed_set
    if extra:
        raise ProviderResponseInvalid(
            "the provider returned fields outside the allowed set",
            detail={"fields": sorted(extra)},
        )
    return data


async def probe(forwarder: Forwarder, url: str, timeout: float = 2.0) -> bool:
    """Whether a provider answers its readiness probe."""
    try:
        up = await forwarder.send("GET", url.rstrip("/") + "/readyz", {}, b"", timeout)
    except (ProviderUnavailable, ProviderTimeout, asyncio.CancelledError):
        return False
    return up.status == 200
