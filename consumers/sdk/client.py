"""``GatewayClient`` and ``AsyncGatewayClient``: a member system's connection to the gateway.

Both present the member certificate over mutual TLS, sign every request afresh, verify
every answer against the CA and raise typed errors (``consumers.sdk.errors``). They share
everything but the sending (``consumers.sdk.protocol.ClientCore``)::

    with GatewayClient.from_pki("var/pki", "VN/GOV/UBND-HN/one-stop",
                                user_id="001080000001") as gw:
        person = gw.population.person("001090012345", fields=["full_name"],
                                      purpose="household-business-registration",
                                      issue="HS-2025-000123").data

A 503 of an idempotent call (GET/HEAD, the verification POSTs) is retried up to
``retries`` times with exponential backoff and jitter, each time as a new signed request
with a new X-Road-Id; nothing else is retried.
"""

from __future__ import annotations

import random
import time
from collections.abc import Awaitable, Callable, Coroutine
from pathlib import Path
from types import TracebackType
from typing import Any, NamedTuple, Self, Unpack

import anyio
import httpx

from certs.authority import Authority
from consumers.sdk.protocol import (
    DEFAULT_GATEWAY_ID,
    DEFAULT_GATEWAY_URL,
    Call,
    ClientCore,
    Clock,
    GatewayResponse,
    Prepared,
    RequestOptions,
)
from consumers.sdk.services import Business, Land, Metaservices, Population
from core.ids.xroad import ClientId
from core.pki import TrustStore
from core.signing import Signer
from core.tls import client_context

DEFAULT_TIMEOUT = 10.0


class MemberFiles(NamedTuple):
    """A member's certificate and key, the CA, and the CRL if there is one."""

    cert: Path
    key: Path
    ca: Path
    crl: Path | None


def member_files(pki_dir: Path | str, member_id: str | ClientId) -> MemberFiles:
    """The files of ``member_id`` in a PKI directory laid out like ``var/pki``."""
    authority = Authority(Path(pki_dir))
    cert, key = authority.member_paths(str(member_id))
    for path in (cert, key, authority.ca_cert_path):
        if not path.exists():
            raise FileNotFoundError(
                f"{path} is missing; run `lienthong certs init` (or pass cert/key/ca)"
            )
    crl = authority.crl_path
    return MemberFiles(cert, key, authority.ca_cert_path, crl if crl.exists() else None)


class _ClientBase:
    """Construction shared by both clients: files, core, TLS context."""

    _core: ClientCore

    def __init__(
        self,
        member_id: str | ClientId,
        cert: Path | str,
        key: Path | str,
        ca: Path | str,
        *,
        crl: Path | str | None = None,
        base_url: str = DEFAULT_GATEWAY_URL,
        gateway_id: str | ClientId = DEFAULT_GATEWAY_ID,
        user_id: str | None = None,
        timeout: float | httpx.Timeout = DEFAULT_TIMEOUT,
        retries: int = 3,
        backoff: float = 0.5,
        max_backoff: float = 30.0,
        clock: Clock | None = None,
        rng: random.Random | None = None,
    ) -> None:
        self._cert, self._key, self._ca = Path(cert), Path(key), Path(ca)
        self._timeout = timeout
        self._core = ClientCore(
            member_id=member_id,
            signer=Signer.from_files(self._cert, self._key),
            store=TrustStore.from_files(self._ca, Path(crl) if crl is not None else None),
            base_url=base_url,
            gateway_id=gateway_id,
            user_id=user_id,
            retries=retries,
            backoff=backoff,
            max_backoff=max_backoff,
            clock=clock,
            rng=rng,
        )

    @classmethod
    def from_pki(cls, pki_dir: Path | str, member_id: str | ClientId, **kw: Any) -> Self:
        """A client for ``member_id`` with its certificate, key, CA and CRL from ``pki_dir``."""
        files = member_files(pki_dir, member_id)
        kw.setdefault("crl", files.crl)
        return cls(member_id, files.cert, files.key, files.ca, **kw)

    @property
    def core(self) -> ClientCore:
        return self._core

    @property
    def member_id(self) -> ClientId:
        return self._core.member_id

    def _http_options(self, transport: object) -> dict[str, Any]:
        """The httpx client settings of both clients (mTLS unless a test transport is given)."""
        return {
            "verify": (
                client_context(ca=self._ca, cert=self._cert, key=self._key)
                if transport is None
                else True
            ),
            "timeout": self._timeout,
            "follow_redirects": False,
            "trust_env": False,
        }


class GatewayClient(_ClientBase):
    """A synchronous client of the gateway (``httpx.Client``); close it, or use ``with``."""

    def __init__(
        self,
        member_id: str | ClientId,
        cert: Path | str,
        key: Path | str,
        ca: Path | str,
        *,
        transport: httpx.BaseTransport | None = None,
        sleep: Callable[[float], None] = time.sleep,
        **kw: Any,
    ) -> None:
        super().__init__(member_id, cert, key, ca, **kw)
        self._sleep = sleep
        self._http = httpx.Client(transport=transport, **self._http_options(transport))
        self.population: Population[GatewayResponse] = Population(self._core, self.send)
        self.business: Business[GatewayResponse] = Business(self._core, self.send)
        self.land: Land[GatewayResponse] = Land(self._core, self.send)
        self.meta: Metaservices[GatewayResponse] = Metaservices(self._core, self.send)

    def request(
        self, method: str, service: str, path: str = "", **options: Unpack[RequestOptions]
    ) -> GatewayResponse:
        """Call ``path`` (``/001090012345``) of ``service`` (``VN/GOV/BCA/population/persons``)."""
        return self.send(self._core.service_call(method, service, path, **options))

    def send(self, call: Call) -> GatewayResponse:
        """Send ``call``, retrying 503s of idempotent calls; the verified answer."""
        attempt = 0
        while True:
            prepared = self._core.prepare(call)
            status, headers, body = self._exchange(prepared)
            delay = self._core.retry_delay(prepared, status, headers, attempt)
            if delay is None:
                return self._core.finish(prepared, status, headers, body)
            self._sleep(delay)
            attempt += 1

    def _exchange(self, prepared: Prepared) -> tuple[int, httpx.Headers, bytes]:
        try:
            response = self._http.send(prepared.request)
        except httpx.TransportError as e:
            raise self._core.transport_failed(prepared, e) from e
        return response.status_code, response.headers, response.content

    def list_clients(self) -> GatewayResponse:
        return self.meta.list_clients()

    def list_methods(self, provider: str) -> GatewayResponse:
        return self.meta.list_methods(provider)

    def allowed_methods(self, provider: str) -> GatewayResponse:
        return self.meta.allowed_methods(provider)

    def get_openapi(self, provider: str, service_code: str) -> GatewayResponse:
        return self.meta.get_openapi(provider, service_code)

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()


Pending = Coroutine[Any, Any, GatewayResponse]


class AsyncGatewayClient(_ClientBase):
    """The same client for asyncio/anyio (``httpx.AsyncClient``); ``async with`` it."""

    def __init__(
        self,
        member_id: str | ClientId,
        cert: Path | str,
        key: Path | str,
        ca: Path | str,
        *,
        transport: httpx.AsyncBaseTransport | None = None,
        sleep: Callable[[float], Awaitable[None]] = anyio.sleep,
        **kw: Any,
    ) -> None:
        super().__init__(member_id, cert, key, ca, **kw)
        self._sleep = sleep
        self._http = httpx.AsyncClient(transport=transport, **self._http_options(transport))
        self.population: Population[Pending] = Population(self._core, self.send)
        self.business: Business[Pending] = Business(self._core, self.send)
        self.land: Land[Pending] = Land(self._core, self.send)
        self.meta: Metaservices[Pending] = Metaservices(self._core, self.send)

    async def request(
        self, method: str, service: str, path: str = "", **options: Unpack[RequestOptions]
    ) -> GatewayResponse:
        """Call ``path`` of ``service``; see ``GatewayClient.request``."""
        return await self.send(self._core.service_call(method, service, path, **options))

    async def send(self, call: Call) -> GatewayResponse:
        """Send ``call``, retrying 503s of idempotent calls; the verified answer."""
        attempt = 0
        while True:
            prepared = self._core.prepare(call)
            status, headers, body = await self._exchange(prepared)
            delay = self._core.retry_delay(prepared, status, headers, attempt)
            if delay is None:
                return self._core.finish(prepared, status, headers, body)
            await self._sleep(delay)
            attempt += 1

    async def _exchange(self, prepared: Prepared) -> tuple[int, httpx.Headers, bytes]:
        try:
            response = await self._http.send(prepared.request)
        except httpx.TransportError as e:
            raise self._core.transport_failed(prepared, e) from e
        return response.status_code, response.headers, response.content

    async def list_clients(self) -> GatewayResponse:
        return await self.meta.list_clients()

    async def list_methods(self, provider: str) -> GatewayResponse:
        return await self.meta.list_methods(provider)

    async def allowed_methods(self, provider: str) -> GatewayResponse:
        return await self.meta.allowed_methods(provider)

    async def get_openapi(self, provider: str, service_code: str) -> GatewayResponse:
        return await self.meta.get_openapi(provider, service_code)

    async def aclose(self) -> None:
        await self._http.aclose()

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()
