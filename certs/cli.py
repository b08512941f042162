"""``lienthong certs``: the dev PKI from the command line (init, issue, revoke, list).

Every command works on one PKI directory (``--pki``, default ``var/pki``, git-ignored).
Mistakes are reported in one line on stderr with exit code 1, never a traceback::

    $ lienthong certs list --pki /tmp/empty
    error: no CA in /tmp/empty; run `lienthong certs init`
"""

from __future__ import annotations

import datetime as dt
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from enum import StrEnum
from pathlib import Path
from typing import Annotated, NoReturn

import typer
from rich.console import Console
from rich.table import Table

from certs.authority import (
    DEFAULT_DAYS,
    Authority,
    IssuedEntry,
    Kind,
    Status,
)
from certs.dev import ensure_dev_pki
from core.errors import InvalidIdentifier

app = typer.Typer(
    name="certs",
    help="The development PKI: a root CA, member and server certificates, the CRL.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)

DEFAULT_PKI = Path("var/pki")

PkiOption = Annotated[Path, typer.Option("--pki", help="The PKI directory.")]


class KindChoice(StrEnum):
    member = "member"
    server = "server"
    tsa = "tsa"


class AlgorithmChoice(StrEnum):
    p256 = "p256"
    ed25519 = "ed25519"


class ReasonChoice(StrEnum):
    """The CRL reason codes of RFC 5280 §5.3.1 a revocation may give."""

    unspecified = "unspecified"
    key_compromise = "keyCompromise"
    affiliation_changed = "affiliationChanged"
    superseded = "superseded"
    cessation_of_operation = "cessationOfOperation"
    privilege_withdrawn = "privilegeWithdrawn"


_STATUS_STYLE: dict[Status, str] = {
    "valid": "green",
    "expired": "yellow",
    "not_yet_valid": "yellow",
    "revoked": "red",
}


def _console() -> Console:
    console = Console()
    if not console.is_terminal:
        # Piped to a file or a test: do not squeeze the table into 80 columns.
        console = Console(width=200)
    return console


def _fail(message: str) -> NoReturn:
    # Plain print, not Rich: one line that never wraps, whatever the terminal width.
    print(f"error: {message}", file=sys.stderr, flush=True)
    raise typer.Exit(1)


@contextmanager
def _one_line_errors() -> Iterator[None]:
    """Turn the mistakes a user can fix into one ``error:`` line and exit code 1."""
    try:
        yield
    except InvalidIdentifier as e:
        _fail(e.message)
    except FileNotFoundError as e:
        _fail(str(e) if e.filename is None else f"{e.filename}: {e.strerror}")
    except PermissionError as e:
        _fail(f"{e.filename}: {e.strerror}; check the permissions of the PKI directory")
    except (LookupError, ValueError) as e:
        # str() of a KeyError quotes its message: take the message itself.
        _fail(str(e.args[0]) if e.args else type(e).__name__)


def _require_ca(authority: Authority) -> None:
    if not authority.exists():
        raise FileNotFoundError(f"no CA in {authority.root}; run `lienthong certs init`")


def _entries_table(title: str, entries: list[IssuedEntry], *, now: dt.datetime) -> Table:
    table = Table(title=title, title_justify="left")
    table.add_column("subject", style="bold")
    table.add_column("kind")
    table.add_column("serial", no_wrap=True)
    table.add_column("not after", no_wrap=True)
    table.add_column("status")
    for e in entries:
        status = e.status(now)
        table.add_row(
            e.subject,
            e.kind,
            e.serial,
            e.not_after,
            f"[{_STATUS_STYLE[status]}]{status}[/]",
        )
    return table


@app.command()
def init(pki: PkiOption = DEFAULT_PKI) -> None:
    """Create the CA and every dev certificate that is missing, revoked or expiring."""
    with _one_line_errors():
        made = ensure_dev_pki(pki)
    console = _console()
    if not made:
        console.print(f"nothing to do: every dev certificate in {pki} is in place")
        return
    now = dt.datetime.now(dt.UTC)
    console.print(_entries_table(f"issued in {pki}", [m.entry for m in made], now=now))


@app.command("issue")
def issue_command(
    subject: Annotated[
        str,
        typer.Argument(help="An X-Road id (member: VN/GOV/BCA/population) or a server name."),
    ],
    kind: Annotated[KindChoice, typer.Option(help="What the certificate is for.")] = (
        KindChoice.member
    ),
    days: Annotated[int, typer.Option(min=1, help="Days of validity.")] = DEFAULT_DAYS,
    algorithm: Annotated[
        AlgorithmChoice, typer.Option(help="Key type: ECDSA P-256 or Ed25519.")
    ] = AlgorithmChoice.p256,
    pki: PkiOption = DEFAULT_PKI,
) -> None:
    """Issue (or re-issue) a certificate and its key (0600)."""
    authority = Authority(pki)
    kind_value: Kind = kind.value
    with _one_line_errors():
        _require_ca(authority)
        entry = authority.issue(subject, kind=kind_value, days=days, algorithm=algorithm.value)
        cert_path, key_path = authority.paths_for(subject, kind_value)
    console = _console()
    now = dt.datetime.now(dt.UTC)
    console.print(_entries_table(f"issued in {pki}", [entry], now=now))
    console.print(f"certificate {cert_path}\nkey         {key_path}", highlight=False)


@app.command()
def revoke(
    subject_or_serial: Annotated[
        str, typer.Argument(help="A subject (all its certificates) or one serial (hex).")
    ],
    reason: Annotated[
        ReasonChoice, typer.Option(help="The CRL reason code.")
    ] = ReasonChoice.unspecified,
    kind: Annotated[KindChoice | None, typer.Option(help="Only certificates of this kind.")] = None,
    pki: PkiOption = DEFAULT_PKI,
) -> None:
    """Revoke certificates and write a new CRL (running services re-read it within 1 s)."""
    authority = Authority(pki)
    with _one_line_errors():
        _require_ca(authority)
        revoked = authority.revoke(
            subject_or_serial, reason=reason.value, kind=kind.value if kind else None
        )
    console = _console()
    now = dt.datetime.now(dt.UTC)
    console.print(_entries_table("revoked", revoked, now=now))
    console.print(f"new CRL: {authority.crl_path}", highlight=False)


@app.command("list")
def list_command(pki: PkiOption = DEFAULT_PKI) -> None:
    """Every certificate issued, with its status now (valid, expired, revoked)."""
    authority = Authority(pki)
    with _one_line_errors():
        _require_ca(authority)
        entries = authority.entries()
    now = dt.datetime.now(dt.UTC)
    _console().print(_entries_table(f"certificates in {pki}", entries, now=now))
