"""The HTTP kit every lienthong service is built on (no routes of its own but health).

``create_service_app`` returns a FastAPI app that:

- renders every error as the X-Road error body (``core.errors``), including FastAPI's own
  validation errors (400 ``client.bad_request``), unknown routes (404 ``client.not_found``)
  and unexpected exceptions (a logged 500 ``server.internal_error``, never a stack trace);
- carries the ``X-Road-Id`` of the request (generated when absent) on every response and
  every log line;
- writes one structured JSON log line per request;
- serves ``/healthz`` (the process is up), ``/readyz`` (its dependencies answer) and
  Prometheus ``/metrics`` (a registry per app, so tests can build many apps).
"""

from __future__ import annotations

import contextvars
import json
import logging
import re
import sys
import time
import uuid
from collections.abc import Callable, Sequence
from typing import Any

import orjson
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.openapi.utils import get_openapi
from fastapi.responses import JSONResponse, PlainTextResponse, Response
from fastapi_offline import FastAPIOffline
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Histogram,
    generate_latest,
)
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from core.errors import (
    BadRequest,
    ErrorBody,
    LienthongError,
    MethodNotAllowed,
    NotFound,
    PayloadTooLarge,
    ServerError,
    ServiceUnavailable,
)

XROAD_ID_HEADER = "X-Road-Id"
XROAD_ERROR_HEADER = "X-Road-Error"
_XROAD_ID_RE = re.compile(r"^[A-Za-z0-9._:-]{1,128}$")

#: The X-Road-Id of the request being handled, for log lines.
current_xroad_id: contextvars.ContextVar[str] = contextvars.ContextVar(
    "current_xroad_id", default="-"
)

ReadinessCheck = Callable[[], None]


# -- logging ---------------------------------------------------------------------------------


class JsonFormatter(logging.Formatter):
    """One JSON object per line, with the X-Road-Id of the request in flight."""

    def __init__(self, service: str) -> None:
        super().__init__()
        self.service = service

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "ts": time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(record.created))
            + f".{int(record.msecs):03d}Z",
            "level": record.levelname.lower(),
            "service": self.service,
            "logger": record.name,
            "xroad_id": current_xroad_id.get(),
            "msg": record.getMessage(),
        }
        extra = getattr(record, "fields", None)
        if isinstance(extra, dict):
            entry.update(extra)
        if record.exc_info:
            entry["exc"] = self.formatException(record.exc_info)
        return json.dumps(entry, ensure_ascii=False, default=str)


def configure_logging(service: str, level: str = "info") -> None:
    """Route the root logger (and uvicorn's) to stderr as JSON lines."""
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonFormatter(service))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    for name in ("uvicorn", "uvicorn.error"):
        logging.getLogger(name).handlers[:] = []
        logging.getLogger(name).propagate = True
    logging.getLogger("uvicorn.access").disabled = True
    # HTTP clients log every URL at INFO, and our URLs carry personal ids: warnings only.
    for name in ("httpx", "httpcore"):
        logging.getLogger(name).setLevel(logging.WARNING)


# -- errors ----------------------------------------------------------------------------------


def json_response(content: Any, status_code: int = 200) -> Response:
    """A JSON answer serialised by orjson: what ``JSONResponse`` writes (compact, UTF-8 kept
    as is), several times faster, for the answers on hot paths."""
    return Response(orjson.dumps(content), status_code, media_type="application/json")


def error_response(err: LienthongError, xroad_id: str | None = None) -> JSONResponse:
    headers = {XROAD_ERROR_HEADER: err.type, **err.headers}
    if xroad_id:
        headers[XROAD_ID_HEADER] = xroad_id
    return JSONResponse(err.body(), status_code=err.status, headers=headers)


def _describe_validation_error(exc: RequestValidationError) -> tuple[str, list[dict[str, Any]]]:
    problems: list[dict[str, Any]] = []
    for e in exc.errors():
        loc = [str(p) for p in e.get("loc", ())]
        where = loc[0] if loc else "request"
        name = ".".join(loc[1:]) or where
        # ``input`` may be personal data or huge; callers know what they sent.
        problems.append({"in": where, "name": name, "problem": e.get("msg", "invalid")})
    first = problems[0] if problems else {"name": "request", "problem": "invalid"}
    return f"{first['in']} '{first['name']}': {first['problem']}", problems


def _shorten(text: str, limit: int = 200) -> str:
    """Echo at most ``limit`` characters of what the caller sent."""
    return text if len(text) <= limit else text[:limit] + "…"


def install_error_handlers(app: FastAPI, logger: logging.Logger) -> None:
    @app.exception_handler(LienthongError)
    async def _lienthong_error(request: Request, exc: LienthongError) -> Response:
        if isinstance(exc, ServerError):
            logger.error("%s: %s", exc.type, exc.message)
        return error_response(exc, current_xroad_id.get())

    @app.exception_handler(RequestValidationError)
    async def _validation_error(request: Request, exc: RequestValidationError) -> Response:
        message, problems = _describe_validation_error(exc)
        return error_response(BadRequest(message, detail=problems), current_xroad_id.get())

    @app.exception_handler(StarletteHTTPException)
    async def _http_error(request: Request, exc: StarletteHTTPException) -> Response:
        err: LienthongError
        if exc.status_code == 404:
            err = NotFound(f"no such resource: {request.method} {_shorten(request.url.path)}")
        elif exc.status_code == 405:
            # Keep Starlette's ``Allow`` header: RFC 9110 requires it on a 405.
            err = MethodNotAllowed(
                f"method {request.method} is not allowed here", headers=dict(exc.headers or {})
            )
        elif exc.status_code == 413:
            err = PayloadTooLarge()
        elif exc.status_code < 500:
            err = BadRequest(str(exc.detail))
        else:
            err = ServerError(str(exc.detail))
        return error_response(err, current_xroad_id.get())


# -- middleware ------------------------------------------------------------------------------


class Telemetry:
    """Prometheus metrics of one app, in a registry of its own."""

    def __init__(self, service: str) -> None:
        self.registry = CollectorRegistry()
        self.requests = Counter(
            "lienthong_http_requests",
            "HTTP requests handled",
            ["service", "method", "route", "status"],
            registry=self.registry,
        )
        self.latency = Histogram(
            "lienthong_http_request_seconds",
            "HTTP request latency",
            ["service", "method", "route"],
            registry=self.registry,
            buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5),
        )
        self.service = service
        #: Labelled children by (method, route, status): ``labels()`` costs more than the
        #: increment itself, and a service has few distinct label sets.
        self._children: dict[tuple[str, str, str], tuple[Any, Any]] = {}

    def observe(self, method: str, route: str, status: int, seconds: float) -> None:
        """Count one request and its latency."""
        key = (method, route, str(status))
        children = self._children.get(key)
        if children is None:
            children = self._children[key] = (
                self.requests.labels(self.service, method, route, key[2]),
                self.latency.labels(self.service, method, route),
            )
        children[0].inc()
        children[1].observe(seconds)


class RequestContextMiddleware:
    """X-Road-Id on every response and log line, one access log line, metrics, body cap.

    A plain ASGI middleware (not ``BaseHTTPMiddleware``): it is on every request's path.
    """

    def __init__(
        self,
        app: ASGIApp,
        *,
        telemetry: Telemetry,
        logger: logging.Logger,
        access_log: bool,
        max_body: int,
        body_refused_in_app: tuple[str, ...] = (),
    ) -> None:
        self.app = app
        self.telemetry = telemetry
        self.logger = logger
        self.access_log = access_log
        self.max_body = max_body
        self.body_refused_in_app = body_refused_in_app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        xroad_id = ""
        declared_length = 0
        for name, value in scope["headers"]:
            if name == b"x-road-id":
                xroad_id = value.decode("latin-1")
            elif name == b"content-length" and value.isdigit():
                declared_length = int(value)
        if not _XROAD_ID_RE.match(xroad_id):
            xroad_id = str(uuid.uuid4())
        token = current_xroad_id.set(xroad_id)
        started = time.perf_counter()
        status = 500
        started_response = False
        id_header = (b"x-road-id", xroad_id.encode("latin-1"))

        async def send_with_id(message: Message) -> None:
            nonlocal status, started_response
            if message["type"] == "http.response.start":
                started_response = True
                status = message["status"]
                headers = list(message.get("headers", []))
                # An app that knows the exchange's id better (the gateway takes it from the
                # signed request) sets the header itself; otherwise it is the request's id.
                if not any(h[0] == b"x-road-id" for h in headers):
                    headers.append(id_header)
                message["headers"] = headers
            await send(message)

        received = 0
        # Under these paths the app refuses an oversize body itself (the gateway records the
        # refusal): the declared length is enforced when the app first reads the body.
        in_app = declared_length > self.max_body and scope["path"].startswith(
            self.body_refused_in_app or ("\0",)
        )

        async def capped_receive() -> Message:
            # A chunked body has no Content-Length: count what actually arrives.
            nonlocal received
            if in_app:
                raise StarletteHTTPException(413)
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.max_body:
                    raise StarletteHTTPException(413)
            return message

        try:
            if declared_length > self.max_body and not in_app:
                await error_response(PayloadTooLarge(), xroad_id)(scope, receive, send_with_id)
            else:
                await self.app(scope, capped_receive, send_with_id)
        except Exception:
            # An unexpected error is ours: log it with its trace, answer a plain 500.
            self.logger.exception("unhandled error", extra={"fields": {"method": scope["method"]}})
            if started_response:
                raise
            await error_response(ServerError("internal error"), xroad_id)(
                scope, receive, send_with_id
            )
        finally:
            elapsed = time.perf_counter() - started
            route = scope.get("route")
            template = getattr(route, "path", "unmatched")
            method = scope["method"]
            self.telemetry.observe(method, template, status, elapsed)
            if self.access_log:
                # The route template, never the concrete path: paths carry personal ids.
                self.logger.info(
                    "request",
                    extra={
                        "fields": {
                            "method": method,
                            "route": template,
                            "status": status,
                            "ms": round(elapsed * 1000, 2),
                        }
                    },
                )
            current_xroad_id.reset(token)


# -- the app ---------------------------------------------------------------------------------


def create_service_app(
    *,
    service: str,
    title: str,
    description: str,
    version: str = "1.0.0",
    readiness: Sequence[ReadinessCheck] = (),
    access_log: bool = True,
    max_body: int = 1 << 20,
    body_refused_in_app: tuple[str, ...] = (),
    **fastapi_kwargs: Any,
) -> FastAPI:
    """A FastAPI app with lienthong's error model, context, health and metrics."""
    logger = logging.getLogger(f"lienthong.{service}")
    # Swagger UI and ReDoc served from the package, not a CDN: government networks are
    # often closed, and the docs must work wherever the service does.
    app = FastAPIOffline(title=title, description=description, version=version, **fastapi_kwargs)
    install_error_handlers(app, logger)
    telemetry = Telemetry(service)
    app.state.telemetry = telemetry
    app.add_middleware(
        RequestContextMiddleware,
        telemetry=telemetry,
        logger=logger,
        access_log=access_log,
        max_body=max_body,
        body_refused_in_app=body_refused_in_app,
    )

    @app.get("/healthz", tags=["operations"], summary="Liveness: the process answers")
    async def healthz() -> dict[str, str]:
        return {"status": "ok", "service": service}

    @app.get(
        "/readyz",
        tags=["operations"],
        summary="Readiness: the service's dependencies answer",
        responses={503: {"description": "server.unavailable"}},
    )
    def readyz() -> dict[str, str]:
        for check in readiness:
            try:
                check()
            except Exception as e:
                raise ServiceUnavailable(f"{service} is not ready: {type(e).__name__}") from e
        return {"status": "ready", "service": service}

    @app.get(
        "/metrics",
        tags=["operations"],
        summary="Prometheus metrics",
        response_class=PlainTextResponse,
    )
    async def metrics() -> Response:
        return Response(generate_latest(telemetry.registry), media_type=CONTENT_TYPE_LATEST)

    install_x_road_openapi(app)
    return app


def install_x_road_openapi(app: FastAPI) -> None:
    """OpenAPI that documents the errors we send: a 400 X-Road body, never FastAPI's 422.

    FastAPI documents a 422 ``HTTPValidationError`` on every route with parameters, but our
    handler answers validation errors with 400 ``client.bad_request``; a client generated
    from the OpenAPI must see what it will get.
    """

    def openapi() -> dict[str, Any]:
        if app.openapi_schema:
            return app.openapi_schema
        schema = get_openapi(
            title=app.title,
            version=app.version,
            description=app.description,
            routes=app.routes,
            tags=app.openapi_tags,
        )
        components = schema.setdefault("components", {}).setdefault("schemas", {})
        components.setdefault(
            "ErrorBody", ErrorBody.model_json_schema(ref_template="#/components/schemas/{model}")
        )
        bad_request = {
            "description": BadRequest.type,
            "content": {"application/json": {"schema": {"$ref": "#/components/schemas/ErrorBody"}}},
        }
        for path_item in schema.get("paths", {}).values():
            for operation in path_item.values():
                responses = operation.get("responses", {})
                if responses.pop("422", None) is None:
                    continue
                documented = responses.setdefault("400", bad_request)
                types = documented.get("description", "").split(", ")
                if BadRequest.type not in types:
                    documented["description"] = ", ".join([BadRequest.type, *filter(None, types)])
        for unused in ("HTTPValidationError", "ValidationError"):
            components.pop(unused, None)
        app.openapi_schema = schema
        return schema

    app.openapi = openapi  # type: ignore[method-assign]
