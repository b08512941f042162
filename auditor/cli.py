"""``lienthong audit``: verify the evidence log, bundle one exchange, check a bundle offline.

    lienthong audit verify --state var/audit/state.json
    lienthong audit bundle 3f6c0a4e-... -o exchange.json
    lienthong audit check exchange.json --pki var/pki
    lienthong audit extract exchange.json -o exchange/

Trust comes from files the auditor pins, never from the gateway: the CA certificate
(``--ca``, default ``<pki>/ca.crt``), the log's note verifier key (``--log-key``, default
``<pki>/log/note.vkey``) and, if present, the CA's CRL (``--crl``, default
``<pki>/crl.pem``). ``verify`` and ``bundle`` call the gateway as the auditor identity
(``--cert``/``--key``, default ``<pki>/members/VN/GOV/KTNN/audit.crt|.key``).

Exit status: 0 when everything holds; 1 when something does not, with one line
``error: index N: <why>`` (or ``error: checkpoint N: <why>``) naming the first bad place in
the log; 2 when the check could not run (files missing, gateway unreachable).

The lead registers the sub-app: ``app.add_typer(audit_app, name="audit")``.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import json
from pathlib import Path
from typing import Annotated, NoReturn

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

from auditor.bundle import (
    BundleError,
    BundleNotReady,
    check_bundle,
    embedded_trust,
    extract_bundle,
    load_bundle,
    make_bundle,
)
from auditor.client import DEFAULT_GATEWAY_URL, AuditClient, LogApiError
from auditor.runner import Report, WorkerPool, start_pool, verify_log
from auditor.state import AuditState, StateError
from auditor.verify import DEFAULT_TIMESTAMP_GRACE, Trust, TrustError, load_ca, load_log_key

#: The auditor identity the gateway's auditor API answers.
AUDITOR_ID = "VN/GOV/KTNN/audit"

app = typer.Typer(
    name="audit",
    help="Verify the evidence log as an auditor: the whole log, or one exchange's bundle.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)

PkiOption = Annotated[
    Path,
    typer.Option(envvar="LIENTHONG_PKI", help="PKI directory the defaults below are read from."),
]
CaOption = Annotated[
    Path | None, typer.Option("--ca", help="The CA certificate you trust [<pki>/ca.crt].")
]
LogKeyOption = Annotated[
    Path | None,
    typer.Option("--log-key", help="The log's note verifier key you trust [<pki>/log/note.vkey]."),
]
CrlOption = Annotated[
    Path | None, typer.Option("--crl", help="The CA's CRL, if any [<pki>/crl.pem].")
]
UrlOption = Annotated[
    str, typer.Option("--url", envvar="LIENTHONG_GATEWAY", help="The gateway's members' URL.")
]
CertOption = Annotated[
    Path | None,
    typer.Option(help=f"The auditor's certificate [<pki>/members/{AUDITOR_ID}.crt]."),
]
KeyOption = Annotated[
    Path | None, typer.Option(help=f"The auditor's key [<pki>/members/{AUDITOR_ID}.key].")
]

_err = Console(stderr=True)


def _fail(message: str, code: int = 1) -> NoReturn:
    typer.echo(f"error: {message}", err=True)
    raise typer.Exit(code)


def _trust(pki: Path, ca: Path | None, log_key: Path | None, crl: Path | None) -> Trust:
    try:
        return Trust.load(
            ca=ca or pki / "ca.crt",
            log_key=log_key or pki / "log" / "note.vkey",
            crl=crl if crl is not None else pki / "crl.pem",
        )
    except (TrustError, ValueError, OSError) as e:
        _fail(str(e), 2)


def _client(
    url: str, pki: Path, ca: Path | None, cert: Path | None, key: Path | None
) -> AuditClient:
    member = pki / "members" / AUDITOR_ID
    try:
        return AuditClient.connect(
            url,
            ca=ca or pki / "ca.crt",
            cert=cert or member.with_name(member.name + ".crt"),
            key=key or member.with_name(member.name + ".key"),
        )
    except (FileNotFoundError, OSError, ValueError) as e:
        _fail(str(e), 2)


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


@app.command()
def verify(
    state: Annotated[
        Path | None,
        typer.Option(
            help="JSON state of the last run: the log must extend it (written on success)."
        ),
    ] = None,
    url: UrlOption = DEFAULT_GATEWAY_URL,
    pki: PkiOption = Path("var/pki"),
    ca: CaOption = None,
    log_key: LogKeyOption = None,
    crl: CrlOption = None,
    cert: CertOption = None,
    key: KeyOption = None,
    workers: Annotated[
        int | None, typer.Option(min=1, help="Processes checking signatures [one per core].")
    ] = None,
    timestamp_grace: Annotated[
        float,
        typer.Option(help="Hours a checkpoint may wait for its timestamp token (0: none)."),
    ] = DEFAULT_TIMESTAMP_GRACE.total_seconds() / 3600,
) -> None:
    """Fetch the whole log, recompute its tree, check every checkpoint, token and signature."""
    trust = _trust(pki, ca, log_key, crl)
    prior: AuditState | None = None
    if state is not None and state.exists():
        try:
            prior = AuditState.load(state)
        except StateError as e:
            _fail(str(e), 2)
    grace = dt.timedelta(hours=timestamp_grace) if timestamp_grace > 0 else None
    pool = start_pool(trust, workers)  # before any thread or event loop: it forks
    try:
        client = _client(url, pki, ca, cert, key)
        report = asyncio.run(_verify(client, trust, prior, grace, pool))
    except LogApiError as e:
        _fail(f"the auditor API failed: {e}", 2)
    finally:
        if pool is not None:
            pool.close()
    for note in report.notes:
        typer.echo(f"note: {note}", err=True)
    if not report.ok:
        _fail(str(report.first))
    if state is not None:
        report.state(trust.origin).save(
            state, checkpoint=report.latest.note if report.latest else None, now=_now()
        )
    root = report.latest.root.hex() if report.latest else "-"
    typer.echo(
        f"ok: {report.records} records, {report.signatures} signatures, "
        f"{report.checkpoints} checkpoints ({report.pending_timestamps} awaiting a timestamp); "
        f"tree size {report.size}, root {root}"
    )
    if state is not None:
        typer.echo(f"state written to {state}")


async def _verify(
    client: AuditClient,
    trust: Trust,
    prior: AuditState | None,
    grace: dt.timedelta | None,
    pool: WorkerPool | None,
) -> Report:
    progress = Progress(
        TextColumn("verifying"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeRemainingColumn(),
        console=_err,
        transient=True,
        disable=not _err.is_terminal,
    )
    task = progress.add_task("records", total=None)

    def advance(done: int, total: int) -> None:
        progress.update(task, completed=done, total=total)

    async with client:
        with progress:
            return await verify_log(
                client,
                trust,
                now=_now(),
                state=prior,
                pool=pool,
                grace=grace,
                progress=advance,
            )


@app.command()
def bundle(
    x_road_id: Annotated[str, typer.Argument(metavar="X-ROAD-ID", help="The exchange's id.")],
    output: Annotated[Path, typer.Option("-o", "--output", help="Where to write the bundle.")],
    url: UrlOption = DEFAULT_GATEWAY_URL,
    pki: PkiOption = Path("var/pki"),
    ca: CaOption = None,
    log_key: LogKeyOption = None,
    crl: CrlOption = None,
    cert: CertOption = None,
    key: KeyOption = None,
    wait: Annotated[
        float, typer.Option(help="Seconds to wait for a timestamped checkpoint over the exchange.")
    ] = 15.0,
) -> None:
    """Write one exchange as a self-contained, verified evidence bundle."""
    trust = _trust(pki, ca, log_key, crl)
    try:
        made = asyncio.run(_fetch_bundle(_client(url, pki, ca, cert, key), x_road_id, trust, wait))
    except BundleNotReady as e:
        _fail(f"not ready after {wait:g} s: {e}", 1)
    except LogApiError as e:
        _fail(f"the auditor API failed: {e}", 2)
    report = check_bundle(made, trust, now=_now())
    if not report.ok:
        _fail(str(report.first))
    output.parent.mkdir(parents=True, exist_ok=True)
    output.write_text(json.dumps(made, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    _echo_bundle(report.records, report.signatures, made, output)


async def _fetch_bundle(
    client: AuditClient, x_road_id: str, trust: Trust, wait: float
) -> dict[str, object]:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + wait
    async with client:
        while True:
            answer = await client.exchange(x_road_id)
            try:
                return make_bundle(answer, trust=trust)
            except BundleNotReady:
                if loop.time() >= deadline:
                    raise
            await asyncio.sleep(min(1.0, max(0.0, deadline - loop.time())))


def _echo_bundle(
    records: list[tuple[int, str]], signatures: int, made: dict[str, object], output: Path
) -> None:
    checkpoint = made.get("checkpoint")
    size = checkpoint.get("size") if isinstance(checkpoint, dict) else "?"
    listed = ", ".join(f"{kind} at index {index}" for index, kind in records)
    typer.echo(
        f"ok: {made.get('x_road_id')}: {listed}; {signatures} signatures; "
        f"under checkpoint {size} -> {output}"
    )


@app.command()
def check(
    file: Annotated[Path, typer.Argument(help="The bundle file.")],
    pki: Annotated[
        Path | None, typer.Option(help="Take --ca, --log-key and --crl from this PKI directory.")
    ] = None,
    ca: CaOption = None,
    log_key: LogKeyOption = None,
    crl: CrlOption = None,
) -> None:
    """Verify a bundle offline (no network), against pinned trust if given."""
    try:
        made = load_bundle(file)
        trust = _bundle_trust(made, pki, ca, log_key, crl)
    except BundleError as e:
        _fail(str(e), 2)
    report = check_bundle(made, trust, now=_now())
    if not report.ok:
        _fail(str(report.first))
    cp = report.checkpoint
    when = cp.gen_time.isoformat() if cp and cp.gen_time else "-"
    listed = ", ".join(f"{kind} at index {index}" for index, kind in report.records)
    typer.echo(
        f"ok: {report.x_road_id}: {listed}; {report.signatures} signatures; "
        f"in checkpoint {cp.size if cp else '?'} timestamped {when}"
    )


def _bundle_trust(
    made: dict[str, object],
    pki: Path | None,
    ca: Path | None,
    log_key: Path | None,
    crl: Path | None,
) -> Trust:
    """Pinned trust where given (each part on its own), the bundle's own otherwise: said so."""
    own = embedded_trust(made)
    if pki is not None:
        ca, log_key = ca or pki / "ca.crt", log_key or pki / "log" / "note.vkey"
        crl = crl if crl is not None else pki / "crl.pem"
    try:
        cas, revoked = load_ca(ca, crl) if ca is not None else (own.cas, {})
        key = load_log_key(log_key) if log_key is not None else own.log_key
    except TrustError as e:
        _fail(str(e), 2)
    trust = Trust(cas, key, revoked)
    described = trust.describe()
    if ca is None:
        for line in described[:-1]:
            typer.echo(f"using the bundle's own {line}: compare it with yours", err=True)
    if log_key is None:
        typer.echo(f"using the bundle's own {described[-1]}: compare it with yours", err=True)
    return trust


@app.command()
def extract(
    file: Annotated[Path, typer.Argument(help="The bundle file.")],
    output: Annotated[
        Path, typer.Option("-o", "--output", help="Directory to write the parts to.")
    ],
    pki: Annotated[
        Path | None, typer.Option(help="Write the CA and log key from this PKI directory.")
    ] = None,
    ca: CaOption = None,
    log_key: LogKeyOption = None,
) -> None:
    """Write a bundle's parts as files for openssl and the standalone check (docs/audit.md)."""
    try:
        made = load_bundle(file)
        trust = _bundle_trust(made, pki, ca, log_key, None)
        written = extract_bundle(made, output, trust)
    except BundleError as e:
        _fail(str(e), 2)
    typer.echo(f"wrote {len(written)} files to {output}: " + " ".join(p.name for p in written))
