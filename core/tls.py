"""Mutual TLS for every service: contexts, and the client certificate in the ASGI scope.

Servers require a client certificate from the exchange CA (``server_context``), so a
non-member fails the handshake. Uvicorn does not put the peer certificate in the ASGI scope,
so ``PeerCertHttpToolsProtocol`` adds the ASGI TLS extension
(``scope["extensions"]["tls"]["client_cert_chain"]``, PEM, leaf first) from the connection's
``SSLObject``; ``peer_certificate(scope)`` reads it back as an ``x509.Certificate``. That lets
the gateway check that the certificate which opened the connection is the one that signed
the request, and lets registries pin the gateway (ADR 0004).
"""

from __future__ import annotations

import asyncio
import ssl
from functools import lru_cache
from pathlib import Path
from typing import Any

from cryptography import x509
from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol


def server_context(
    *, cert: Path, key: Path, ca: Path, require_client_cert: bool = True
) -> ssl.SSLContext:
    """A TLS 1.2+ server context presenting ``cert`` and requiring a client cert from ``ca``."""
    for path in (cert, key, ca):
        if not path.exists():
            raise FileNotFoundError(f"{path} is missing; run `lienthong certs init`")
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.minimum_version = ssl.TLSVersion.TLSv1_2
    ctx.load_cert_chain(certfile=str(cert), keyfile=str(key))
    ctx.load_verify_locations(cafile=str(ca))
    # Citizens have no certificate: a server-only listener does not even ask for one.
    ctx.verify_mode = ssl.CERT_REQUIRED if require_client_cert else ssl.CERT_NONE
    return ctx


def client_context(
    *, ca: Path, cert: Path | None = None, key: Path | None = None
) -> ssl.SSLContext:
    """A client context trusting ``ca`` only, presenting ``cert`` when given."""
    ctx = ssl.create_default_context(ssl.Purpose.SERVER_AUTH, cafile=str(ca))
    ctx.minimum_version = ssl.TLSVersion.TLSv1_2
    if cert is not None:
        ctx.load_cert_chain(certfile=str(cert), keyfile=str(key) if key else None)
    return ctx


class PeerCertHttpToolsProtocol(HttpToolsProtocol):
    """Uvicorn's httptools protocol, plus the ASGI TLS extension carrying the client cert."""

    #: The ASGI TLS extension of this connection (typed as uvicorn's scope wants it).
    _tls: dict[object, object] | None = None

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        ssl_object = transport.get_extra_info("ssl_object")
        if ssl_object is None:
            self._tls = None
            return
        der = ssl_object.getpeercert(binary_form=True)
        cipher = ssl_object.cipher()
        self._tls = {
            "client_cert_chain": [ssl.DER_cert_to_PEM_cert(der)] if der else [],
            "tls_version": ssl_object.version(),
            "cipher_suite": cipher[0] if cipher else None,
        }

    def on_message_begin(self) -> None:
        super().on_message_begin()
        if self._tls is not None:
            self.scope["extensions"] = {"tls": self._tls}


def peer_certificate(scope: Any) -> x509.Certificate | None:
    """The client certificate of the TLS connection a request came on, if any."""
    tls = scope.get("extensions", {}).get("tls")
    if not tls:
        return None
    chain = tls.get("client_cert_chain") or []
    return _load_pem(chain[0]) if chain else None


@lru_cache(maxsize=1024)
def _load_pem(pem: str) -> x509.Certificate:
    return x509.load_pem_x509_certificate(pem.encode("ascii"))


def uvicorn_tls_options(*, cert: Path, key: Path, ca: Path) -> dict[str, Any]:
    """Keyword arguments for ``uvicorn.run``/``Config``: mTLS and the peer-cert protocol."""
    ctx = server_context(cert=cert, key=key, ca=ca)
    return {
        "ssl_context_factory": lambda *_a, **_k: ctx,
        "http": PeerCertHttpToolsProtocol,
    }
