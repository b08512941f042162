"""``lienthong citizen``: citizen tokens minted directly with the stand-in's key.

For demos, curl and tests: no service needs to run. Prints the token alone on stdout, so
``TOKEN=$(lienthong citizen token 001090012345)`` works; mistakes are one ``error:`` line
on stderr with exit code 1.
"""

from __future__ import annotations

import datetime as dt
import sys
from pathlib import Path
from typing import Annotated, NoReturn

import typer

from certs.authority import Authority
from certs.dev import CITIZEN_ID_SERVICE_ID, GATEWAY_ID
from core.citizen import MAX_TTL, issue_citizen_token
from core.errors import InvalidIdentifier
from core.signing import Signer

app = typer.Typer(
    name="citizen",
    help="Citizen tokens from the development stand-in for VNeID (no authentication).",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)


@app.callback()
def citizen() -> None:
    """Citizen tokens from the development stand-in for VNeID (no authentication)."""


def _fail(message: str) -> NoReturn:
    print(f"error: {message}", file=sys.stderr, flush=True)
    raise typer.Exit(1)


@app.command()
def token(
    personal_id: Annotated[str, typer.Argument(help="The citizen's 12-digit personal id.")],
    pki: Annotated[Path, typer.Option(help="The PKI directory.")] = Path("var/pki"),
    ttl: Annotated[
        int,
        typer.Option(min=1, max=int(MAX_TTL.total_seconds()), help="Lifetime in seconds."),
    ] = 3600,
    audience: Annotated[str, typer.Option(help="Who the token is for.")] = GATEWAY_ID,
) -> None:
    """Print a citizen token for PERSONAL_ID, signed with the citizen-id member key."""
    cert_path, key_path = Authority(pki).member_paths(CITIZEN_ID_SERVICE_ID)
    try:
        if not Authority(pki).exists():
            raise FileNotFoundError(f"no CA in {pki}; run `lienthong certs init`")
        signer = Signer.from_files(cert_path, key_path)
        minted = issue_citizen_token(
            signer,
            personal_id,
            now=dt.datetime.now(dt.UTC),
            audience=audience,
            ttl=dt.timedelta(seconds=ttl),
        )
    except InvalidIdentifier as e:
        _fail(e.message)
    except (FileNotFoundError, ValueError) as e:
        _fail(str(e))
    print(minted)
