"""The time-stamping authority as a FastAPI app: RFC 3161 over HTTP (§3.4).

``POST /`` (or ``POST /timestamp``) with ``Content-Type: application/timestamp-query`` and
a DER ``TimeStampReq`` answers ``200`` with ``Content-Type: application/timestamp-reply``
and a DER ``TimeStampResp``: a token, or a rejection (PKIStatus 2) with its failure info
for a query the TSA will not answer. Problems of the HTTP request itself are X-Road errors:
another content type is ``415 client.unsupported_media_type``, a body over 16 KiB ``413``.

``GET /certificate`` gives the TSA certificate (PEM), for tokens made without ``certReq``.

DEVELOPMENT TSA: its clock is the host's, nobody audits it, and its policy says so
(``stack.tsa.settings.DEV_TSA_POLICY``). The key and certificate are read from
``tsa/<unit>.crt|.key`` in ``settings.pki`` when the app starts. The app does not assume
TLS: ``lienthong serve tsa`` puts it behind HTTPS (server certificate ``servers/tsa``, no
client certificate).
"""

from __future__ import annotations

import datetime as dt
import logging
from typing import Annotated

from fastapi import APIRouter, Depends, FastAPI, Request, Response
from prometheus_client import Counter

from certs.authority import Authority
from core.errors import ClientError, error_response_doc
from core.http import create_service_app
from core.pki import certificate_pem
from core.timestamp import QUERY_CONTENT_TYPE, REPLY_CONTENT_TYPE
from stack.service_keys import Clock, NowDep, load_at_start, loaded, utc_now
from stack.tsa.authority import SYSTEM_FAILURE, TimeStampingUnit
from stack.tsa.settings import TsaSettings

logger = logging.getLogger("lienthong.tsa")

TITLE = "Time-stamping authority (RFC 3161, development)"

DESCRIPTION = f"""\
An RFC 3161 time-stamping authority for the local stack: the gateway timestamps every
checkpoint of its evidence log here. `POST /` with `Content-Type: {QUERY_CONTENT_TYPE}` and
a DER `TimeStampReq`; the answer is `{REPLY_CONTENT_TYPE}`, a DER `TimeStampResp` (a
token signed with the TSA's time-stamping certificate, or a rejection with its reason).

```
openssl ts -query -data file.txt -sha256 -cert -out query.tsq
curl --cacert ca.crt -H 'Content-Type: {QUERY_CONTENT_TYPE}' --data-binary @query.tsq \\
     https://127.0.0.1:9120/ -o reply.tsr
openssl ts -verify -data file.txt -in reply.tsr -CAfile ca.crt
```

**Development only**: the clock is the host's and nobody audits this TSA.
"""

#: A ``TimeStampReq`` is about 100 bytes; nothing legitimate comes near this.
MAX_QUERY_BYTES = 16 * 1024

TAGS = [
    {"name": "time-stamping", "description": "RFC 3161 time-stamp queries and replies."},
    {"name": "operations", "description": "Health, readiness and metrics."},
]


class UnsupportedMediaType(ClientError):
    status = 415
    type = "client.unsupported_media_type"
    default_message = f"send a DER TimeStampReq as {QUERY_CONTENT_TYPE}"


_unit = loaded("unit", TimeStampingUnit, missing="the TSA has not started (no time-stamping unit)")
UnitDep = Annotated[TimeStampingUnit, Depends(_unit)]

router = APIRouter()

_QUERY_BODY = {
    "requestBody": {
        "required": True,
        "content": {QUERY_CONTENT_TYPE: {"schema": {"type": "string", "format": "binary"}}},
    }
}
_REPLY = {
    200: {
        "description": "A DER TimeStampResp: a token (PKIStatus 0) or a rejection (PKIStatus 2)",
        "content": {REPLY_CONTENT_TYPE: {"schema": {"type": "string", "format": "binary"}}},
    },
    **error_response_doc(UnsupportedMediaType),
}


async def timestamp(request: Request, unit: UnitDep, now: NowDep) -> Response:
    media_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if media_type != QUERY_CONTENT_TYPE:
        raise UnsupportedMediaType()
    reply = unit.respond(await request.body(), now=now)
    replies: Counter = request.app.state.replies
    replies.labels("granted" if reply.granted else "rejection", reply.fail_info or "").inc()
    if reply.fail_info == SYSTEM_FAILURE:
        logger.error("time-stamping certificate not valid now; renew it (lienthong certs init)")
    elif not reply.granted:
        logger.info("query rejected", extra={"fields": {"fail_info": reply.fail_info}})
    return Response(reply.der, media_type=REPLY_CONTENT_TYPE, headers={"Cache-Control": "no-store"})


# One operation at two paths: RFC 3161 clients POST to whatever URL they are configured with.
for _path, _summary in (
    ("/", "Timestamp a message imprint (RFC 3161 §3.4)"),
    ("/timestamp", "Timestamp a message imprint (the same as POST /)"),
):
    router.add_api_route(
        _path,
        timestamp,
        methods=["POST"],
        tags=["time-stamping"],
        summary=_summary,
        response_class=Response,
        responses=_REPLY,
        openapi_extra=_QUERY_BODY,
    )


@router.get(
    "/certificate",
    tags=["time-stamping"],
    summary="The TSA's time-stamping certificate (PEM)",
    response_class=Response,
    responses={200: {"content": {"application/pem-certificate-chain": {}}}},
)
def certificate(unit: UnitDep) -> Response:
    return Response(
        certificate_pem(unit.certificate), media_type="application/pem-certificate-chain"
    )


def load_unit(settings: TsaSettings) -> TimeStampingUnit:
    """The time-stamping unit ``settings.unit`` from the PKI directory."""
    cert_path, key_path = Authority(settings.pki).tsa_paths(settings.unit)
    return TimeStampingUnit.from_files(
        cert_path,
        key_path,
        policy=settings.policy,
        accuracy=dt.timedelta(milliseconds=settings.accuracy_ms),
    )


def create_app(settings: TsaSettings | None = None, *, clock: Clock | None = None) -> FastAPI:
    """Build the TSA for ``settings`` (from ``TSA_*`` env vars when omitted).

    The key and certificate are read when the app starts (its lifespan), not here.
    ``clock`` gives ``genTime`` (tests pass their own).
    """
    settings = settings or TsaSettings()

    app = create_service_app(
        service=settings.service_name,
        title=TITLE,
        description=DESCRIPTION,
        readiness=[lambda: _ready(app)],
        access_log=settings.access_log,
        openapi_tags=TAGS,
        lifespan=load_at_start("unit", lambda: load_unit(settings)),
        max_body=MAX_QUERY_BYTES,
    )
    app.state.settings = settings
    app.state.clock = clock or utc_now
    app.state.unit = None
    app.state.replies = Counter(
        "lienthong_tsa_replies",
        "Time-stamp replies by PKIStatus and failure",
        ["status", "fail_info"],
        registry=app.state.telemetry.registry,
    )
    app.include_router(router)
    return app


def _ready(app: FastAPI) -> None:
    unit: TimeStampingUnit | None = app.state.unit
    if unit is None:
        raise RuntimeError("no time-stamping unit loaded")
    if not unit.certificate_valid(app.state.clock()):
        raise RuntimeError("the time-stamping certificate is not valid now")
