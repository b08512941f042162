"""``lienthong grants list|add|revoke``: access rights at runtime, through the admin API.

The command authenticates as the administrator identity with its member certificate
(``<pki>/members/VN/GOV/LIENTHONG/admin.crt``) over the gateway's mTLS listener; the gateway
checks the identity, stores the change and records it in the evidence log.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated, Any, NoReturn

import httpx
import typer
from rich.console import Console
from rich.table import Table

from certs.authority import Authority
from certs.dev import ADMIN_ID
from core.tls import client_context

app = typer.Typer(
    name="grants",
    help="Access rights of the gateway: list, add and revoke at runtime (administrator).",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)

PkiOption = Annotated[Path, typer.Option("--pki", help="The PKI directory.")]
GatewayOption = Annotated[str, typer.Option("--gateway", help="The gateway's members' URL.")]
AsOption = Annotated[str, typer.Option("--as", help="The administrator identity.")]
DEFAULT_PKI = Path("var/pki")
DEFAULT_GATEWAY = "https://127.0.0.1:8443"


def _fail(message: str) -> NoReturn:
    typer.echo(f"error: {message}", err=True)
    raise typer.Exit(1)


@contextmanager
def _admin(pki: Path, gateway: str, identity: str) -> Iterator[httpx.Client]:
    authority = Authority(pki)
    cert, key = authority.member_paths(identity)
    for path in (authority.ca_cert_path, cert, key):
        if not path.exists():
            _fail(f"{path} is missing; run `lienthong certs init`")
    ctx = client_context(ca=authority.ca_cert_path, cert=cert, key=key)
    with httpx.Client(base_url=gateway, verify=ctx, timeout=10.0, trust_env=False) as client:
        try:
            yield client
        except httpx.HTTPError as e:
            _fail(
                f"cannot reach the gateway at {gateway}: {type(e).__name__}; is `make up` running?"
            )


def _check(r: httpx.Response) -> Any:
    if r.status_code >= 400:
        try:
            body = r.json()
            _fail(f"{body.get('type')}: {body.get('message')}")
        except ValueError:
            _fail(f"the gateway answered {r.status_code}")
    return r.json()


def _table(grants: list[dict[str, Any]]) -> Table:
    table = Table(title="access rights", title_justify="left")
    for col in ("id", "source", "client", "service", "methods", "paths", "purposes", "fields"):
        table.add_column(col, overflow="fold")
    for g in grants:
        fields = g["fields"] if isinstance(g["fields"], str) else ", ".join(g["fields"])
        table.add_row(
            g["id"],
            g["source"],
            g["client"],
            g["service"],
            ", ".join(g["methods"]),
            ", ".join(g["paths"]),
            ", ".join(g["purposes"]),
            fields or "(none)",
        )
    return table


@app.command("list")
def list_command(
    client: Annotated[str | None, typer.Option(help="Only this client's grants.")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
    pki: PkiOption = DEFAULT_PKI,
    gateway: GatewayOption = DEFAULT_GATEWAY,
    identity: AsOption = ADMIN_ID,
) -> None:
    """The access rights in force (policy files and runtime grants)."""
    with _admin(pki, gateway, identity) as http:
        params = {"client": client} if client else {}
        grants = _check(http.get("/admin/grants", params=params))["grants"]
    if as_json:
        typer.echo(json.dumps(grants, indent=2, ensure_ascii=False))
    else:
        Console(width=200).print(_table(grants))


@app.command("add")
def add_command(
    client: Annotated[str, typer.Option(help="Client subsystem, e.g. VN/GOV/UBND-HN/one-stop")],
    service: Annotated[str, typer.Option(help="Service id, e.g. VN/GOV/BCA/population/persons")],
    purpose: Annotated[list[str], typer.Option(help="Purpose code (repeatable).")],
    fields: Annotated[str, typer.Option(help="Comma-separated fields, or * for all.")],
    method: Annotated[list[str], typer.Option(help="HTTP method (repeatable).")] = ["GET"],  # noqa: B006
    path: Annotated[list[str], typer.Option(help="Operation path template or *.")] = ["*"],  # noqa: B006
    pki: PkiOption = DEFAULT_PKI,
    gateway: GatewayOption = DEFAULT_GATEWAY,
    identity: AsOption = ADMIN_ID,
) -> None:
    """Add an access right; it takes effect at once."""
    entry = {
        "client": client,
        "service": service,
        "methods": [m.upper() for m in method],
        "paths": path,
        "purposes": purpose,
        "fields": "*"
        if fields.strip() == "*"
        else [f.strip() for f in fields.split(",") if f.strip()],
    }
    with _admin(pki, gateway, identity) as http:
        grant = _check(http.post("/admin/grants", json=entry))
    typer.echo(f"added grant {grant['id']}")


@app.command("revoke")
def revoke_command(
    grant_id: Annotated[str, typer.Argument(help="The grant's id (see `grants list`).")],
    pki: PkiOption = DEFAULT_PKI,
    gateway: GatewayOption = DEFAULT_GATEWAY,
    identity: AsOption = ADMIN_ID,
) -> None:
    """Revoke an access right (a runtime grant, or one from the policy files)."""
    with _admin(pki, gateway, identity) as http:
        grant = _check(http.delete(f"/admin/grants/{grant_id}"))
    typer.echo(f"revoked grant {grant['id']} ({grant['client']} → {grant['service']})")
