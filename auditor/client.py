"""The HTTP client of the gateway's auditor API (``/audit/*``), as the auditor identity.

The gateway answers only the auditor's member certificate (``VN/GOV/KTNN/audit``) on its
members' listener, over mutual TLS; the server certificate must chain to the CA the auditor
pinned. Nothing the client returns is trusted: ``auditor.verify`` checks all of it.

``AuditClient(http)`` wraps any ``httpx.AsyncClient`` (tests pass one over
``httpx.ASGITransport``); ``AuditClient.connect(url, ca=, cert=, key=)`` makes the mTLS one.
Every error answer becomes ``LogApiError`` with the gateway's error ``type`` and ``detail``;
a connection that fails is ``LogUnreachable``.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from types import TracebackType
from typing import Any
from urllib.parse import quote

import httpx

from core.tls import client_context

#: The gateway's members' listener, where the auditor API lives.
DEFAULT_GATEWAY_URL = "https://127.0.0.1:8443"
#: The most entries or checkpoints the API gives per request.
PAGE_SIZE = 1000
DEFAULT_TIMEOUT = 60.0


class LogApiError(Exception):
    """The auditor API answered with an error."""

    def __init__(self, status: int, type_: str, message: str, detail: Any = None) -> None:
        super().__init__(f"HTTP {status} {type_}: {message}" if status else message)
        self.status = status
        self.type = type_
        self.detail = detail

    @property
    def log_size(self) -> int | None:
        """The log size an answer about a range beyond the log names (``detail.size``)."""
        if isinstance(self.detail, dict):
            size = self.detail.get("size")
            if isinstance(size, int) and not isinstance(size, bool):
                return size
        return None


class LogUnreachable(LogApiError):
    """The gateway could not be reached (or the TLS handshake failed)."""


def _hashes(values: object, what: str) -> list[bytes]:
    if not isinstance(values, list):
        raise LogApiError(200, "client.malformed_answer", f"the {what} is not a list")
    try:
        return [bytes.fromhex(v) for v in values]
    except (TypeError, ValueError) as e:
        raise LogApiError(200, "client.malformed_answer", f"the {what} is not hex") from e


class AuditClient:
    """Calls of the auditor API; pages over entries and checkpoints."""

    def __init__(self, http: httpx.AsyncClient) -> None:
        self.http = http

    @classmethod
    def connect(
        cls,
        url: str = DEFAULT_GATEWAY_URL,
        *,
        ca: Path,
        cert: Path,
        key: Path,
        timeout: float = DEFAULT_TIMEOUT,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> AuditClient:
        """A client over mTLS as the auditor (``transport`` replaces the network in tests)."""
        if transport is not None:
            return cls(httpx.AsyncClient(transport=transport, base_url=url, timeout=timeout))
        for path, what in ((cert, "auditor certificate"), (key, "auditor key"), (ca, "CA")):
            if not path.exists():
                raise FileNotFoundError(f"no {what} at {path}; run `lienthong certs init`")
        context = client_context(ca=ca, cert=cert, key=key)
        return cls(httpx.AsyncClient(base_url=url, verify=context, timeout=timeout))

    async def aclose(self) -> None:
        await self.http.aclose()

    async def __aenter__(self) -> AuditClient:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()

    # -- transport -------------------------------------------------------------------------
    async def _get(self, path: str, params: dict[str, Any] | None = None) -> httpx.Response:
        try:
            response = await self.http.get(path, params=params)
        except httpx.TransportError as e:
            raise LogUnreachable(
                0, "client.unreachable", f"cannot reach {self.http.base_url} ({e})"
            ) from e
        if response.status_code != 200:
            raise _error(response)
        return response

    async def _json(self, path: str, params: dict[str, Any] | None = None) -> dict[str, Any]:
        response = await self._get(path, params)
        try:
            body = response.json()
        except ValueError as e:
            raise LogApiError(200, "client.malformed_answer", f"{path} is not JSON") from e
        if not isinstance(body, dict):
            raise LogApiError(200, "client.malformed_answer", f"{path} is not a JSON object")
        return body

    # -- calls -----------------------------------------------------------------------------
    async def log_key(self) -> dict[str, Any]:
        """``{"origin", "vkey"}`` as the gateway states them (informative only)."""
        return await self._json("/audit/log-key")

    async def checkpoint(self) -> dict[str, Any] | None:
        """The latest checkpoint object; None when the log has none yet."""
        try:
            return await self._json("/audit/checkpoint")
        except LogApiError as e:
            if e.status == 404:
                return None
            raise

    async def checkpoints(self, *, after: int = -1, upto: int | None = None) -> list[Any]:
        """Every checkpoint object with a size above ``after`` (and at most ``upto``)."""
        found: list[Any] = []
        async for page in self._checkpoint_pages(after):
            for cp in page:
                size = cp.get("size") if isinstance(cp, dict) else None
                if upto is not None and isinstance(size, int) and size > upto:
                    return found
                found.append(cp)
        return found

    async def _checkpoint_pages(self, after: int) -> AsyncIterator[list[Any]]:
        while True:
            body = await self._json("/audit/checkpoints", {"after": after, "limit": PAGE_SIZE})
            page = body.get("checkpoints")
            if not isinstance(page, list) or not page:
                return
            yield page
            last = page[-1].get("size") if isinstance(page[-1], dict) else None
            if not isinstance(last, int) or last <= after:
                return  # a server that does not advance would loop forever
            after = last

    async def entries_raw(self, start: int, end: int) -> bytes:
        """``GET /audit/entries`` as served: the bytes, for ``RecordChecks.page``."""
        response = await self._get("/audit/entries", {"start": start, "end": end})
        return response.content

    async def entries(self, start: int, end: int) -> dict[str, Any]:
        return await self._json("/audit/entries", {"start": start, "end": end})

    async def inclusion(self, index: int, size: int) -> list[bytes]:
        body = await self._json("/audit/proof/inclusion", {"index": index, "size": size})
        return _hashes(body.get("proof"), "inclusion proof")

    async def consistency(self, size1: int, size2: int) -> list[bytes]:
        body = await self._json("/audit/proof/consistency", {"from": size1, "to": size2})
        return _hashes(body.get("proof"), "consistency proof")

    async def exchange(self, x_road_id: str) -> dict[str, Any]:
        """One exchange's records, proofs, checkpoint and signatures."""
        return await self._json(f"/audit/exchanges/{quote(x_road_id, safe='')}")


def _error(response: httpx.Response) -> LogApiError:
    try:
        body = response.json()
    except ValueError:
        body = None
    if isinstance(body, dict) and isinstance(body.get("type"), str):
        return LogApiError(
            response.status_code, body["type"], str(body.get("message", "")), body.get("detail")
        )
    return LogApiError(response.status_code, "server.unknown", response.reason_phrase)
