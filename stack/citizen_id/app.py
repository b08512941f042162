"""The citizen identity stand-in (for VNeID) as a FastAPI app: citizen tokens on request.

DEVELOPMENT ONLY. The real VNeID authenticates a citizen (password, chip-based ID card,
biometrics) before vouching for them; this stand-in asks nothing and signs a token for any
well-formed personal id, so the local stack can show the citizen pages (data tracker,
consents) without a national identity system. It says so in its OpenAPI, its HTML page, a
``X-Development-Stand-In`` header and a ``notice`` in every JSON answer, and refuses to
start when ``CITIZEN_ID_ENVIRONMENT=prod``.

Tokens are ``core.citizen`` citizen tokens signed with the member certificate
``members/VN/GOV/BCA/citizen-id`` of ``settings.pki``; relying parties verify them with
``core.citizen.verify_citizen_token`` against the exchange CA. The app does not assume TLS:
``lienthong serve`` puts it behind HTTPS (server certificate ``servers/citizen-id``, no
client certificate, since citizens have none).
"""

from __future__ import annotations

import datetime as dt
import html
from typing import Annotated, Literal

from fastapi import APIRouter, Depends, FastAPI, Request, Response
from fastapi.responses import HTMLResponse
from pydantic import BaseModel, Field
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from certs.authority import Authority
from core.citizen import issue_citizen_token
from core.errors import BadRequest, InvalidIdentifier, error_response_doc
from core.http import create_service_app
from core.ids.xroad import parse_client_id
from core.pki import certificate_pem, fingerprint
from core.signing import TYP_CITIZEN, Signer
from stack.citizen_id.settings import CitizenIdSettings
from stack.service_keys import Clock, NowDep, load_at_start, loaded, utc_now

TITLE = "Citizen identity — DEVELOPMENT STAND-IN for VNeID"

NOTICE = (
    "development stand-in for VNeID: it authenticates nobody and signs a token for any "
    "personal id; never use it for real citizens"
)

DESCRIPTION = f"""\
**{NOTICE}.**

A stand-in for VNeID (Vietnam's national electronic identity, run by the Ministry of Public
Security) for the local stack: `POST /token` with a personal id returns a **citizen token**
(a compact JWS of typ `{TYP_CITIZEN}`, signed with the member certificate of the issuer and
carrying it in `x5c`) for the gateway's citizen pages. There is no password or any other
check: it is not an identity provider. `GET /.well-known/citizen-id` describes the issuer,
the audiences and the signing certificate, so relying parties know what to verify.

Errors use the X-Road error body `{{"type", "message", "detail"}}` with the `X-Road-Error`
header.
"""

STAND_IN_HEADER = "X-Development-Stand-In"

TAGS = [
    {"name": "tokens", "description": "Citizen tokens (no authentication: a stand-in)."},
    {"name": "discovery", "description": "What relying parties need to verify tokens."},
    {"name": "pages", "description": "A minimal page to get a token by hand."},
    {"name": "operations", "description": "Health, readiness and metrics."},
]


class EnvironmentRefused(RuntimeError):
    """The stand-in was asked to run in production."""


# -- schemas ---------------------------------------------------------------------------------


class TokenRequest(BaseModel):
    personal_id: str = Field(
        max_length=64,
        description="The citizen's 12-digit personal id (số định danh cá nhân).",
        examples=["001090012345"],
    )
    audience: str | None = Field(
        default=None,
        max_length=300,
        description="Who the token is for (one of the service's audiences; default the first).",
    )


class TokenResponse(BaseModel):
    access_token: str
    token_type: Literal["Bearer"] = "Bearer"  # noqa: S105 - a token type, not a secret
    expires_in: int = Field(description="Seconds until the token expires.")
    issuer: str
    audience: str
    development_stand_in: Literal[True] = True
    notice: str = NOTICE


class Discovery(BaseModel):
    issuer: str = Field(description="The X-Road member id in the tokens' `iss` and certificate.")
    audiences: list[str]
    token_endpoint: str
    token_type: str = Field(description="The JWS `typ` of citizen tokens.")
    algorithm: str = Field(description="The JWS `alg` of citizen tokens.")
    certificate: str = Field(description="The signing certificate, PEM.")
    certificate_sha256: str = Field(description="SHA-256 of the certificate's DER, hex.")
    development_stand_in: Literal[True] = True
    notice: str = NOTICE


# -- dependencies ----------------------------------------------------------------------------


def _settings(request: Request) -> CitizenIdSettings:
    settings: CitizenIdSettings = request.app.state.settings
    return settings


SettingsDep = Annotated[CitizenIdSettings, Depends(_settings)]
_signer = loaded(
    "signer", Signer, missing="the citizen identity stand-in has not started (no signer)"
)
SignerDep = Annotated[Signer, Depends(_signer)]

router = APIRouter()


class StandInHeader:
    """``X-Development-Stand-In: VNeID`` on every response, errors and health included."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_marked(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                headers.append((STAND_IN_HEADER.lower().encode(), b"VNeID"))
                message["headers"] = headers
            await send(message)

        await self.app(scope, receive, send_marked)


# -- endpoints -------------------------------------------------------------------------------


class AudienceNotAllowed(BadRequest):
    default_message = "this service issues no tokens for that audience"


@router.post(
    "/token",
    tags=["tokens"],
    summary="A citizen token for a personal id (development stand-in: no authentication)",
    response_model=TokenResponse,
    responses=error_response_doc(InvalidIdentifier),
)
def token(
    body: TokenRequest,
    response: Response,
    settings: SettingsDep,
    signer: SignerDep,
    now: NowDep,
) -> TokenResponse:
    audience = body.audience or settings.audiences[0]
    if audience not in settings.audiences:
        raise AudienceNotAllowed(
            "this service issues no tokens for that audience",
            detail={"audiences": settings.audiences},
        )
    ttl = dt.timedelta(seconds=settings.token_ttl)
    access_token = issue_citizen_token(
        signer, body.personal_id, now=now, audience=audience, ttl=ttl
    )
    # RFC 6749 §5.1: a token response is never cached.
    response.headers["Cache-Control"] = "no-store"
    response.headers["Pragma"] = "no-cache"
    return TokenResponse(
        access_token=access_token,
        expires_in=settings.token_ttl,
        issuer=settings.issuer,
        audience=audience,
    )


@router.get(
    "/.well-known/citizen-id",
    tags=["discovery"],
    summary="Issuer, audiences and signing certificate of the citizen tokens",
    response_model=Discovery,
)
def discovery(settings: SettingsDep, signer: SignerDep) -> Discovery:
    return Discovery(
        issuer=settings.issuer,
        audiences=settings.audiences,
        token_endpoint="/token",  # noqa: S106 - a path, not a secret
        token_type=TYP_CITIZEN,
        algorithm=signer.algorithm,
        certificate=certificate_pem(signer.certificate).decode("ascii"),
        certificate_sha256=fingerprint(signer.certificate),
    )


@router.get(
    "/",
    tags=["pages"],
    summary="A page to get a citizen token by hand",
    response_class=HTMLResponse,
)
def page() -> HTMLResponse:
    return HTMLResponse(_PAGE.replace("{notice}", html.escape(NOTICE)))


_PAGE = """\
<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Citizen identity — development stand-in for VNeID</title>
<style>
body { font-family: system-ui, sans-serif; max-width: 40rem; margin: 2rem auto; padding: 0 1rem; }
.warning { border: 2px solid #b00; background: #fee; padding: .75rem 1rem; }
textarea { width: 100%; height: 8rem; font-family: monospace; }
</style>
</head>
<body>
<h1>Citizen identity</h1>
<p class="warning" id="stand-in"><strong>Development stand-in for VNeID.</strong>
{notice}.</p>
<form id="token-form">
<label for="personal_id">Personal id (số định danh cá nhân, 12 digits)</label><br>
<input id="personal_id" name="personal_id" inputmode="numeric" maxlength="12"
 pattern="[0-9]{12}" required autocomplete="off">
<button type="submit">Get a citizen token</button>
</form>
<p id="status" role="status"></p>
<textarea id="token" readonly aria-label="citizen token"></textarea>
<script>
document.getElementById("token-form").addEventListener("submit", async (event) => {
  event.preventDefault();
  const status = document.getElementById("status");
  const out = document.getElementById("token");
  out.value = "";
  status.textContent = "…";
  const personalId = document.getElementById("personal_id").value;
  const answer = await fetch("token", {
    method: "POST",
    headers: {"Content-Type": "application/json"},
    body: JSON.stringify({personal_id: personalId}),
  });
  const body = await answer.json();
  if (answer.ok) {
    out.value = body.access_token;
    status.textContent = "Token for " + body.audience + ", valid " + body.expires_in + " s.";
  } else {
    status.textContent = "Refused: " + body.message;
  }
});
</script>
</body>
</html>
"""


# -- the app ---------------------------------------------------------------------------------


def load_signer(settings: CitizenIdSettings) -> Signer:
    """The issuer's key and certificate from the PKI; they must name ``settings.issuer``."""
    cert_path, key_path = Authority(settings.pki).member_paths(settings.issuer)
    signer = Signer.from_files(cert_path, key_path)
    if signer.member_id != parse_client_id(settings.issuer):
        raise ValueError(f"{cert_path} does not name {settings.issuer}")
    return signer


def create_app(settings: CitizenIdSettings | None = None, *, clock: Clock | None = None) -> FastAPI:
    """Build the stand-in for ``settings`` (from ``CITIZEN_ID_*`` env vars when omitted).

    The signing key is read when the app starts (its lifespan), not here. ``clock`` gives
    the time tokens are issued at (tests pass their own).
    """
    settings = settings or CitizenIdSettings()
    if settings.environment == "prod":
        raise EnvironmentRefused(
            "the citizen identity stand-in authenticates nobody and must not run in prod; "
            "use the real VNeID"
        )

    app = create_service_app(
        service=settings.service_name,
        title=TITLE,
        description=DESCRIPTION,
        readiness=[lambda: _ready(app)],
        access_log=settings.access_log,
        openapi_tags=TAGS,
        lifespan=load_at_start("signer", lambda: load_signer(settings)),
    )
    app.state.settings = settings
    app.state.clock = clock or utc_now
    app.state.signer = None
    app.include_router(router)
    app.add_middleware(StandInHeader)
    return app


def _ready(app: FastAPI) -> None:
    if app.state.signer is None:
        raise RuntimeError("no signer loaded")
