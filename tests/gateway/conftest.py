"""Fixtures of the gateway tests: in-process exchanges with settings of the test's choosing.

``exchange`` (tests/fixtures/gateway.py) is the dev exchange; ``build_exchange(**settings)``
makes another one (its own database, and optionally its own PKI directory or policy), for
the tests that need a tiny rate limit, a short provider timeout or a revoked certificate.
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest
from fastapi import FastAPI
from starlette.types import ASGIApp

from certs.dev import GATEWAY_ID
from core.catalogue import Catalogue as ProviderCatalogue
from core.pki import certificate_pem, load_certificate
from gateway.app import create_app
from gateway.settings import GatewaySettings
from tests.fixtures.gateway import ASGIForwarder, Clock, InProcessExchange
from tests.fixtures.pki import PkiFiles
from tests.gateway.support import Gateway

BuildExchange = Callable[..., Awaitable[InProcessExchange]]


@pytest.fixture
async def build_exchange(
    tmp_path: Path, dev_pki: Path, registry_apps: Callable[[Path], dict[str, FastAPI]]
) -> AsyncIterator[BuildExchange]:
    """``await build_exchange(pki=..., **gateway_settings)``: a gateway and its registries."""
    async with contextlib.AsyncExitStack() as stack:
        count = 0

        async def build(*, pki: Path | None = None, **overrides: Any) -> InProcessExchange:
            nonlocal count
            count += 1
            pki = pki or dev_pki
            registries = registry_apps(pki)
            options: dict[str, Any] = {
                "var_dir": tmp_path / f"gateway-{count}",
                "pki_dir": pki,
                "access_log": False,
                "environment": "test",
                "commit_window_ms": 0,
                "provider_timeout_seconds": 2,
                **overrides,
            }
            settings = GatewaySettings(**options)
            urls = settings.providers
            apps: dict[str, ASGIApp] = {
                urls[a.state.settings.member_id]: a for a in registries.values()
            }
            gateway_pem = certificate_pem(
                load_certificate(pki / "members" / f"{GATEWAY_ID}.crt")
            ).decode()
            forwarder = ASGIForwarder(apps, gateway_pem)
            catalogues = []
            for url in apps:
                cat = await forwarder.send("GET", url + "/catalogue", {}, b"", 5.0)
                api = await forwarder.send("GET", url + "/openapi.json", {}, b"", 5.0)
                catalogues.append(
                    (ProviderCatalogue.model_validate_json(cat.body), json.loads(api.body))
                )
            forwarder.sent.clear()
            clock = Clock()
            app = create_app(
                settings,
                forwarder=forwarder,
                catalogues=catalogues,
                clock=clock,
                load_catalogues=False,
            )
            ex = InProcessExchange(app, registries, forwarder, pki, clock)
            await stack.enter_async_context(app.router.lifespan_context(app))
            stack.push_async_callback(ex.aclose)
            return ex

        yield build


@pytest.fixture
def gw(exchange: InProcessExchange, pki_files: PkiFiles) -> Gateway:
    """The dev exchange, driven byte by byte."""
    return Gateway(exchange, pki_files)
