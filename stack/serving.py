"""Serving one service over TLS: its listeners, certificates and graceful stop.

Every service presents its server certificate (``<pki>/servers/<name>.crt``). Members'
listeners require a client certificate from the CA (non-members fail the handshake); the
protocol class puts that certificate in the ASGI scope (``core.tls``). A service with a
``public_port_setting`` (the gateway) also listens on a server-TLS-only port for citizens,
from the same app and the same process: the lifespan runs once, on the members' listener.
"""

from __future__ import annotations

import asyncio
import contextlib
from typing import Any

import uvicorn
import uvloop

from core.settings import ServiceSettings
from core.tls import PeerCertHttpToolsProtocol, server_context
from stack.services import ServiceSpec


def _config(app: Any, host: str, port: int, **kw: Any) -> uvicorn.Config:
    return uvicorn.Config(
        app,
        host=host,
        port=port,
        log_config=None,
        access_log=False,
        server_header=False,
        timeout_graceful_shutdown=5,
        **kw,
    )


def serve(spec: ServiceSpec, settings: ServiceSettings) -> None:
    """Run ``spec``'s app for ``settings`` until SIGINT/SIGTERM."""
    app = spec.create_app(settings)
    port = settings.port or spec.default_port
    if not settings.tls:
        uvicorn.Server(_config(app, settings.host, port)).run()  # loop="auto": uvloop
        return
    pki = settings.pki
    cert, key, ca = (
        pki / "servers" / f"{spec.name}.crt",
        pki / "servers" / f"{spec.name}.key",
        pki / "ca.crt",
    )
    main_ctx = server_context(cert=cert, key=key, ca=ca, require_client_cert=spec.client_certs)
    main = uvicorn.Server(
        _config(
            app,
            settings.host,
            port,
            ssl_context_factory=lambda *_: main_ctx,
            http=PeerCertHttpToolsProtocol,
        )
    )
    public: uvicorn.Server | None = None
    if spec.public_port_setting is not None:
        public_ctx = server_context(cert=cert, key=key, ca=ca, require_client_cert=False)
        public = uvicorn.Server(
            _config(
                app,
                settings.host,
                int(getattr(settings, spec.public_port_setting)),
                ssl_context_factory=lambda *_: public_ctx,
                http=PeerCertHttpToolsProtocol,
                lifespan="off",
            )
        )
        # Signals stop the main server; it then stops this one.
        public.capture_signals = contextlib.nullcontext  # type: ignore[method-assign,assignment]
    # uvloop, as uvicorn's loop="auto" would pick (we run the servers ourselves): the event
    # loop, TLS and transports in C roughly halve the per-request CPU time (ADR 0008).
    with asyncio.Runner(loop_factory=uvloop.new_event_loop) as runner:
        runner.run(_serve_all(main, public))


async def _serve_all(main: uvicorn.Server, public: uvicorn.Server | None) -> None:
    if public is None:
        await main.serve()
        return
    # The citizens' listener opens only once the app has started (its lifespan verified the
    # evidence log and started the record writer); a failed start never opens it.
    main_task = asyncio.create_task(main.serve())
    while not main.started:
        if main_task.done():
            await main_task
            return
        await asyncio.sleep(0.01)
    public_task = asyncio.create_task(public.serve())
    try:
        await main_task
    finally:
        public.should_exit = True
        await public_task
