"""The security gateway as an app: wiring of the protocol, policy, proxy and records.

One app, served on two listeners by ``lienthong serve gateway``: the members' listener
(mTLS, a member certificate is required at the handshake) and the citizens' listener
(server TLS only). ``/r1/...`` and ``/admin/...`` need a member certificate, so on the
citizens' listener they answer ``client.access_denied``; ``/consents`` needs a citizen token.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import json
import logging
from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from fastapi import FastAPI
from prometheus_client import Gauge
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.routing import BaseRoute
from starlette.types import ASGIApp, Receive, Scope, Send

from core.catalogue import Catalogue as ProviderCatalogue
from core.db import make_engine, ping
from core.http import create_service_app
from core.note import Ed25519NoteSigner, parse_signer_key
from core.pki import TrustStore
from core.signing import Signer
from core.timestamp import fetch_timestamp, verify_timestamp
from core.tls import client_context
from gateway import admin, audit, citizens
from gateway.catalogue import Catalogue, ProviderEntry
from gateway.consents import ConsentStore
from gateway.exchange import Exchange
from gateway.forwarder import LeanForwarder
from gateway.log import Checkpointer, LogStore, Timestamper, verify_on_start
from gateway.metaservices import Metaservices
from gateway.models import metadata
from gateway.policy import Policy
from gateway.protocol import ReplayCache
from gateway.proxy import Forwarder
from gateway.ratelimit import TokenBuckets
from gateway.records import EvidenceKeys, RecordWriter
from gateway.settings import GatewaySettings

logger = logging.getLogger("lienthong.gateway")

TITLE = "lienthong security gateway"
DESCRIPTION = """\
The security gateway of the exchange. Members call `/r1/{INSTANCE}/{CLASS}/{MEMBER}/
{SUBSYSTEM}/{SERVICE}/{path}` with a member certificate and a signed request
(`X-Road-Signature`); the gateway checks the access right for the client, purpose and
fields (and the citizen's consent where the purpose needs it), forwards the query to the
provider over mTLS, checks the provider's signed answer, records the exchange durably, and
relays the answer with its signature. The full contract is in docs/protocol.md.
"""

METHODS = ["GET", "POST", "PUT", "PATCH", "DELETE"]


def utcnow() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def create_app(
    settings: GatewaySettings | None = None,
    *,
    forwarder: Forwarder | None = None,
    catalogues: Sequence[tuple[ProviderCatalogue, dict[str, Any] | None]] = (),
    clock: Callable[[], dt.datetime] = utcnow,
    load_catalogues: bool = True,
    timestamper: Timestamper | None = None,
    run_checkpointer: bool = True,
) -> FastAPI:
    """The gateway for ``settings``.

    Tests inject ``forwarder`` (e.g. one that calls registry apps in-process), provider
    ``catalogues`` (skipping the network fetch) and ``clock``.
    """
    settings = settings or GatewaySettings()
    pki = settings.pki
    store = TrustStore.from_files(pki / "ca.crt", pki / "crl.pem")
    gateway_cert = pki / "members" / f"{settings.gateway_id}.crt"
    gateway_key = pki / "members" / f"{settings.gateway_id}.key"
    signer = Signer.from_files(gateway_cert, gateway_key)
    engine = make_engine(settings.db_url, synchronous="FULL")
    metadata.create_all(engine)
    policy = Policy.from_dir(settings.policy_dir)
    admin.load_runtime_grants(engine, policy)
    catalogue = Catalogue.of(settings.providers)
    for cat, openapi in catalogues:
        catalogue.install(cat, openapi)
    keys = EvidenceKeys.load_or_create(settings.keys_dir)
    writer = RecordWriter(engine, window_s=settings.commit_window_ms / 1000)
    log = LogStore(engine)
    note_signer = load_note_signer(pki, settings.log_origin)
    if timestamper is None and settings.tsa_url:
        tsa_context = client_context(ca=pki / "ca.crt")
        url = settings.tsa_url

        async def timestamper(data: bytes) -> bytes:
            token = await fetch_timestamp(data, url, ssl_context=tsa_context, timeout=5.0)
            # Keep only what an auditor will accept: signed by a TSA of our CA, over data.
            verify_timestamp(token, data, ca_certificates=store.cas, now=clock())
            return token

    checkpointer = Checkpointer(
        log,
        signer=note_signer,
        origin=settings.log_origin,
        timestamper=timestamper,
        clock=clock,
        interval_s=settings.checkpoint_interval_seconds,
        fail_closed_after=dt.timedelta(hours=settings.tsa_grace_hours),
    )
    if forwarder is None:
        forwarder = LeanForwarder(
            client_context(ca=pki / "ca.crt", cert=gateway_cert, key=gateway_key)
        )
    exchange = Exchange(
        gateway_id=settings.gateway_id,
        store=store,
        signer=signer,
        policy=policy,
        catalogue=catalogue,
        forwarder=forwarder,
        writer=writer,
        keys=keys,
        consents=ConsentStore(engine),
        replay=ReplayCache(
            window_s=settings.clock_skew_seconds, max_entries=settings.replay_cache_size
        ),
        buckets=TokenBuckets(rate=settings.rate_limit_per_second, burst=settings.rate_limit_burst),
        skew_s=settings.clock_skew_seconds,
        provider_timeout_s=settings.provider_timeout_seconds,
        clock=clock,
        log_origin=settings.log_origin,
        fail_closed=checkpointer.fail_closed,
    )
    exchange.metaservices = Metaservices(catalogue, policy, log)

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        # Refuse to start on a log that disagrees with its own last checkpoint.
        try:
            await asyncio.to_thread(
                verify_on_start, log, note_signer.verifier(), origin=settings.log_origin
            )
        except BaseException:
            engine.dispose()
            raise
        await writer.start()
        checkpoints = (
            asyncio.create_task(checkpointer.run(), name="checkpointer")
            if run_checkpointer
            else None
        )
        loader = (
            asyncio.create_task(_keep_catalogues(catalogue, forwarder)) if load_catalogues else None
        )
        try:
            yield
        finally:
            for task in (loader, checkpoints):
                if task is not None:
                    task.cancel()
                    with contextlib.suppress(asyncio.CancelledError):
                        await task
            await writer.stop()
            await forwarder.close()
            engine.dispose()

    app = create_service_app(
        service="gateway",
        title=TITLE,
        description=DESCRIPTION,
        readiness=[lambda: ping(engine), lambda: _log_ready(checkpointer)],
        access_log=settings.access_log,
        max_body=settings.max_body_bytes,
        body_refused_in_app=("/r1/",),
        lifespan=lifespan,
        openapi_tags=[
            {"name": "citizens", "description": "Consents, with a citizen token."},
            {"name": "admin", "description": "Runtime access rights (administrator only)."},
            {"name": "operations", "description": "Health, readiness and metrics."},
        ],
    )
    state = app.state
    state.settings, state.store, state.policy, state.catalogue = settings, store, policy, catalogue
    state.engine, state.writer, state.keys, state.clock = engine, writer, keys, clock
    state.consents, state.exchange = exchange.consents, exchange
    state.log, state.checkpointer, state.note_verifier = log, checkpointer, note_signer.verifier()
    _log_metrics(app, writer, checkpointer)
    app.add_route("/r1/{path:path}", exchange.handle, methods=METHODS, include_in_schema=False)
    route = next(r for r in app.router.routes if getattr(r, "path", None) == "/r1/{path:path}")
    # Just inside RequestContextMiddleware (X-Road-Id, access log, metrics, body cap).
    app.user_middleware.append(Middleware(ExchangeShortcut, exchange=exchange, route=route))
    app.include_router(citizens.router)
    app.include_router(admin.router)
    app.include_router(audit.router)
    return app


def load_note_signer(pki: Path, origin: str) -> Ed25519NoteSigner:
    """The log's note signing key from ``<pki>/log/note.key`` (made by ``certs init``)."""
    path = pki / "log" / "note.key"
    if not path.exists():
        raise FileNotFoundError(f"{path} is missing; run `lienthong certs init`")
    signer = parse_signer_key(path.read_text().strip())
    if signer.name != origin:
        raise ValueError(f"{path} is the key of {signer.name!r}, not of the log {origin!r}")
    return signer


def _log_ready(checkpointer: Checkpointer) -> None:
    if checkpointer.fail_closed():
        raise RuntimeError("checkpoints have not been timestamped within the grace period")


def _log_metrics(app: FastAPI, writer: RecordWriter, checkpointer: Checkpointer) -> None:
    """Gauges of the evidence log in the app's Prometheus registry."""
    registry = app.state.telemetry.registry
    Gauge(
        "lienthong_log_size", "Records durable in the evidence log", registry=registry
    ).set_function(lambda: writer.size)
    Gauge(
        "lienthong_log_checkpoint_size", "Size of the latest checkpoint", registry=registry
    ).set_function(lambda: checkpointer.latest.size if checkpointer.latest else 0)
    Gauge(
        "lienthong_tsa_failures", "Timestamp requests that failed", registry=registry
    ).set_function(lambda: checkpointer.tsa_failures)
    Gauge(
        "lienthong_tsa_last_success_timestamp_seconds",
        "When a checkpoint was last timestamped (Unix time; 0: never)",
        registry=registry,
    ).set_function(
        lambda: checkpointer.tsa_last_success.timestamp() if checkpointer.tsa_last_success else 0
    )
    Gauge(
        "lienthong_log_fail_closed",
        "1 while exchanges are refused because checkpoints cannot be timestamped",
        registry=registry,
    ).set_function(lambda: 1.0 if checkpointer.fail_closed() else 0.0)


class ExchangeShortcut:
    """``/r1/...`` straight to the exchange, past the router and the exception middleware.

    They cost ~15 % of the gateway's CPU per exchange (py-spy, ADR 0008) and do nothing
    for it: the exchange answers every error itself in the X-Road error format, and what it
    does not catch is answered 500 by ``RequestContextMiddleware`` as before. The route
    stays registered for every other method (405 with ``Allow``) and names the metrics.
    """

    def __init__(self, app: ASGIApp, *, exchange: Exchange, route: BaseRoute) -> None:
        self.app = app
        self.exchange = exchange
        self.route = route

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if (
            scope["type"] == "http"
            and scope["path"].startswith("/r1/")
            and scope["method"] in METHODS
        ):
            scope["route"] = self.route
            response = await self.exchange.handle(Request(scope, receive))
            await response(scope, receive, send)
            return
        await self.app(scope, receive, send)


async def _keep_catalogues(catalogue: Catalogue, forwarder: Forwarder) -> None:
    """Fetch missing providers' catalogues (every second), then refresh every minute."""
    while True:
        for entry in list(catalogue.providers.values()):
            if entry.catalogue is not None and not _due(entry):
                continue
            try:
                up = await forwarder.send("GET", entry.url + "/catalogue", {}, b"", 5.0)
                api = await forwarder.send("GET", entry.url + "/openapi.json", {}, b"", 5.0)
                if up.status != 200:
                    raise ValueError(f"catalogue answered {up.status}")
                cat = ProviderCatalogue.model_validate_json(up.body)
                openapi = json.loads(api.body) if api.status == 200 else None
                catalogue.install(cat, openapi)
                entry.loaded_at = asyncio.get_running_loop().time()
                logger.info("catalogue loaded", extra={"fields": {"provider": str(entry.provider)}})
            except Exception as e:  # keep trying: the provider may start later
                logger.warning(
                    "catalogue not loaded",
                    extra={"fields": {"provider": str(entry.provider), "error": type(e).__name__}},
                )
        await asyncio.sleep(1.0 if catalogue.missing() else 60.0)


def _due(entry: ProviderEntry) -> bool:
    loaded = entry.loaded_at
    return loaded is None or asyncio.get_running_loop().time() - loaded > 60.0
