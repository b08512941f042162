"""The ``lienthong`` command line (Typer + Rich)."""

from __future__ import annotations

from enum import Enum
from pathlib import Path
from typing import Annotated

import typer

from core.http import configure_logging
from stack.services import SERVICES

app = typer.Typer(
    name="lienthong",
    help="lienthong — a once-only data exchange for a digital government.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)

ServiceName = Enum("ServiceName", {name: name for name in SERVICES}, type=str)  # type: ignore[misc]


@app.command()
def serve(
    service: Annotated[ServiceName, typer.Argument(help="Which service to run.")],
    port: Annotated[int | None, typer.Option(help="Port (default: the service's own).")] = None,
    host: Annotated[str | None, typer.Option(help="Interface (default 127.0.0.1).")] = None,
) -> None:
    """Run one service of the stack in the foreground (settings from its env prefix)."""
    from stack.serving import serve as serve_spec

    spec = SERVICES[service.value]
    overrides: dict[str, object] = {}
    if port is not None:
        overrides["port"] = port
    if host is not None:
        overrides["host"] = host
    settings = spec.settings(**overrides)
    configure_logging(spec.name, settings.log_level)
    try:
        serve_spec(spec, settings)
    except FileNotFoundError as e:
        typer.echo(f"error: {e}", err=True)
        raise typer.Exit(1) from None


@app.command()
def seed(
    persons: Annotated[int, typer.Option(min=10, help="How many persons to create.")] = 20_000,
    seed: Annotated[
        int, typer.Option(help="Random seed: the same seed gives the same data.")
    ] = 749,
    var_dir: Annotated[Path, typer.Option(help="Where the SQLite databases go.")] = Path("var"),
    force: Annotated[bool, typer.Option(help="Replace databases that already hold data.")] = False,
    if_empty: Annotated[
        bool, typer.Option(help="Seed only the databases that are empty; never an error.")
    ] = False,
) -> None:
    """Create realistic, cross-linked synthetic data in the three registries."""
    from stack.seed import seed_command, seed_if_empty_command

    if force and if_empty:
        raise typer.BadParameter("--force and --if-empty contradict each other")
    if if_empty:
        seed_if_empty_command(persons=persons, seed=seed, var_dir=var_dir)
        return
    seed_command(persons=persons, seed=seed, var_dir=var_dir, force=force)


@app.command()
def up(
    persons: Annotated[
        int, typer.Option(min=10, help="Persons to seed when the databases are empty.")
    ] = 20_000,
    var_dir: Annotated[Path, typer.Option(help="Databases, keys and logs.")] = Path("var"),
) -> None:
    """Run the whole local stack on 127.0.0.1 until Ctrl-C (seeds first if needed)."""
    from stack.up import up_command

    up_command(persons=persons, var_dir=var_dir)


def _register_subcommands() -> None:
    """The other parts' commands: imported here so each part keeps its own CLI module."""
    from auditor.cli import app as audit_app
    from bench.__main__ import main as bench_main
    from certs.cli import app as certs_app
    from consumers.sdk.cli import call
    from gateway.cli import app as grants_app
    from stack.citizen_id.cli import app as citizen_app

    app.add_typer(certs_app, name="certs")
    app.add_typer(grants_app, name="grants")
    app.add_typer(citizen_app, name="citizen")
    app.add_typer(audit_app, name="audit")
    app.command("call")(call)
    app.command("bench", help="Run the benchmarks (bench/README.md); same as `make bench`.")(
        bench_main
    )


_register_subcommands()


def main() -> None:
    app()
