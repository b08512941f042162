"""``lienthong call``: curl for members of the exchange, with signing and verification built in.

    lienthong call VN/GOV/BCA/population/persons/001090012345 \\
        --purpose household-business-registration --fields full_name,date_of_birth
    lienthong call -d '{"personal_id": "001090012345", "full_name": "Nguyễn Văn An",
        "date_of_birth": "1990-05-17"}' VN/GOV/BCA/population/verifications/identity \\
        --purpose bank-kyc --consent c-7f3a... --as VN/COM/0101234565/kyc
    lienthong call listClients
    lienthong call --sign-only VN/GOV/BCA/population/persons/001090012345 > headers.txt

The X-Road response headers go to stderr, the JSON body to stdout (pretty; ``--raw`` for the
bytes as signed). Exit status: 0 on 2xx, 1 on an error answer or a failed verification, 2 on
a usage error. ``--sign-only`` sends nothing: it prints the request headers (one
``Name: value`` per line, for ``curl -H @headers.txt``) and the URL to sign them for.

The lead registers ``call`` on the ``lienthong`` app: ``app.command("call")(call)``.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console

from consumers.sdk.client import DEFAULT_TIMEOUT, GatewayClient
from consumers.sdk.errors import GatewayError, ResponseVerificationFailed, TransportFailed
from consumers.sdk.protocol import DEFAULT_GATEWAY_URL, Call, GatewayResponse

#: The calling system when ``--as`` is not given: the Hà Nội one-stop portal.
DEFAULT_MEMBER = "VN/GOV/UBND-HN/one-stop"
#: DEV DEFAULT ONLY: the personal id sent as the official (``X-Road-UserId``) when
#: ``--user-id`` is not given. Structurally valid (Hà Nội, male, born 1980, serial 1) and of
#: nobody in the dev data; real systems send the signed-in official's own id.
DEV_OFFICIAL_ID = "001080000001"

#: Response headers shown on stderr (besides every ``X-Road-*``).
_SHOWN_HEADERS = ("content-type", "retry-after")
#: How the protocol spells the headers (servers may send them in lower case).
_CANONICAL = {
    name.lower(): name
    for name in (
        "X-Road-Id",
        "X-Road-Client",
        "X-Road-Service",
        "X-Road-UserId",
        "X-Road-Request-Hash",
        "X-Road-Response-Signature",
        "X-Road-Log-Receipt",
        "X-Road-Error",
        "Content-Type",
        "Retry-After",
    )
}
_SHORT = 72


def _read_data(data: str) -> bytes:
    """``--data``: JSON text, ``@file`` or ``@-`` (stdin); sent and signed byte for byte."""
    if data.startswith("@"):
        source = data[1:]
        try:
            raw = sys.stdin.buffer.read() if source == "-" else Path(source).read_bytes()
        except OSError as e:
            raise typer.BadParameter(
                f"cannot read {source}: {e.strerror}", param_hint="--data"
            ) from e
    else:
        raw = data.encode()
    try:
        json.loads(raw)
    except ValueError as e:
        raise typer.BadParameter(f"not JSON: {e}", param_hint="--data") from e
    return raw


def _short(value: str, verbose: bool) -> str:
    return value if verbose or len(value) <= _SHORT else value[: _SHORT - 1] + "…"


def _print_headers(
    err: Console, status: int | None, headers: Mapping[str, str], verbose: bool
) -> None:
    if status is not None:
        err.print(f"HTTP {status}", style="dim")
    for name, value in headers.items():
        lower = name.lower()
        if lower.startswith("x-road-") or lower in _SHOWN_HEADERS:
            shown = _CANONICAL.get(lower) or "-".join(p.capitalize() for p in lower.split("-"))
            err.print(f"{shown}: {_short(value, verbose)}", style="dim")


def _print_body(out: Any, response: GatewayResponse, raw: bool) -> None:
    if raw:
        out.buffer.write(response.body)
        out.flush()
    elif response.data is not None:
        typer.echo(json.dumps(response.data, indent=2, ensure_ascii=False))
    elif response.body:
        typer.echo(response.body.decode("utf-8", "replace"))


def _print_signed_request(call: Call, client: GatewayClient) -> None:
    prepared = client.core.prepare(call)
    err = Console(stderr=True, highlight=False, soft_wrap=True)
    for name in (
        "X-Road-Client",
        "X-Road-Id",
        "X-Road-UserId",
        "X-Road-Issue",
        "X-Road-Purpose",
        "X-Road-Consent",
        "Content-Type",
        "X-Road-Signature",
    ):
        value = prepared.request.headers.get(name)
        if value is not None:
            typer.echo(f"{name}: {value}")
    err.print(f"{prepared.request.method} {prepared.request.url}", style="dim")
    err.print(
        "signed for this method, URL and body only, usable once (its X-Road-Id) and within "
        "the gateway's clock skew (60 s by default); send a body with curl --data-binary",
        style="dim",
    )


def call(
    service_path: Annotated[
        str,
        typer.Argument(
            metavar="SERVICE_PATH",
            help="What to call, below /r1/: VN/GOV/BCA/population/persons/001090012345, "
            "listClients, VN/GOV/BCA/population/listMethods, "
            "'VN/GOV/BCA/population/getOpenAPI?serviceCode=persons'.",
        ),
    ],
    as_member: Annotated[
        str,
        typer.Option("--as", envvar="LIENTHONG_AS", help="The calling member subsystem."),
    ] = DEFAULT_MEMBER,
    pki: Annotated[
        Path,
        typer.Option(
            envvar="LIENTHONG_PKI", help="PKI directory: members/<id>.crt|.key, ca.crt, crl.pem."
        ),
    ] = Path("var/pki"),
    gateway: Annotated[
        str, typer.Option(envvar="LIENTHONG_GATEWAY", help="The gateway's base URL.")
    ] = DEFAULT_GATEWAY_URL,
    method: Annotated[
        str | None,
        typer.Option("-X", "--request", help="HTTP method (default GET, POST with --data)."),
    ] = None,
    purpose: Annotated[
        str | None, typer.Option(help="X-Road-Purpose, e.g. household-business-registration.")
    ] = None,
    consent: Annotated[
        str | None, typer.Option(help="X-Road-Consent: the citizen's consent id.")
    ] = None,
    issue: Annotated[
        str | None, typer.Option(help="X-Road-Issue: the case (dossier) number.")
    ] = None,
    user_id: Annotated[
        str,
        typer.Option(
            envvar="LIENTHONG_USER_ID",
            help="X-Road-UserId: the official's personal id (dev default; '' sends none).",
        ),
    ] = DEV_OFFICIAL_ID,
    fields: Annotated[
        str | None, typer.Option(help="Fields to return, comma-separated: full_name,sex.")
    ] = None,
    data: Annotated[
        str | None,
        typer.Option("--data", "-d", help="JSON body; @file or @- reads it from a file/stdin."),
    ] = None,
    raw: Annotated[bool, typer.Option(help="Print the body exactly as signed.")] = False,
    sign_only: Annotated[
        bool,
        typer.Option(help="Send nothing: print the signed request headers for curl -H @file."),
    ] = False,
    verbose: Annotated[
        bool, typer.Option("--verbose", "-v", help="Show header values in full.")
    ] = False,
    timeout: Annotated[float, typer.Option(help="Seconds to wait for the gateway.")] = (
        DEFAULT_TIMEOUT
    ),
) -> None:
    """Call a service through the gateway as a member: signed, verified, pretty-printed."""
    body = _read_data(data) if data is not None else None
    http_method = (method or ("POST" if body is not None else "GET")).upper()
    try:
        client = GatewayClient.from_pki(
            pki, as_member, base_url=gateway, user_id=user_id or None, timeout=timeout
        )
    except FileNotFoundError as e:
        raise typer.BadParameter(str(e), param_hint="--pki/--as") from e
    except ValueError as e:
        raise typer.BadParameter(str(e)) from e
    with client:
        try:
            request = client.core.path_call(
                http_method,
                service_path,
                params={"fields": fields} if fields is not None else None,
                content=body,
                purpose=purpose,
                consent=consent,
                issue=issue,
            )
        except ValueError as e:
            raise typer.BadParameter(str(e)) from e
        if sign_only:
            _print_signed_request(request, client)
            return
        _send(client, request, raw=raw, verbose=verbose)


def _send(client: GatewayClient, request: Call, *, raw: bool, verbose: bool) -> None:
    err = Console(stderr=True, highlight=False, soft_wrap=True)
    try:
        response = client.send(request)
    except ResponseVerificationFailed as e:
        err.print(f"HTTP {e.status}", style="dim")
        err.print(
            f"error: the response did not verify (check: {e.check}); its data is not "
            f"shown. X-Road-Id {e.x_road_id}",
            style="bold red",
        )
        raise typer.Exit(1) from e
    except TransportFailed as e:
        err.print(f"error: {e.message}", style="bold red")
        raise typer.Exit(1) from e
    except GatewayError as e:
        _print_headers(err, e.status, e.headers, verbose)
        if e.response is not None and e.response.provider is not None:
            err.print(f"verified: signed by {e.response.provider}", style="dim green")
        _print_receipt(err, e.receipt)
        typer.echo(json.dumps(e.body(), indent=2, ensure_ascii=False))
        err.print(f"error: {e.type}: {e.message}", style="bold red")
        raise typer.Exit(1) from e
    _print_headers(err, response.status, response.headers, verbose)
    if response.provider is not None:
        err.print(f"verified: signed by {response.provider}", style="dim green")
    _print_receipt(err, response.receipt)
    _print_body(sys.stdout, response, raw)


def _print_receipt(err: Console, receipt: dict[str, Any] | None) -> None:
    """Where the gateway logged the exchange, from its verified receipt."""
    if receipt is not None:
        err.print(f"logged: evidence log entry {receipt['index']}", style="dim green")


__all__ = ["DEFAULT_MEMBER", "DEV_OFFICIAL_ID", "call"]
