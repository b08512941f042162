"""docker-compose.yml, the Dockerfile and the README agree with the code, without Docker.

The compose file is documentation that runs; these tests keep it from drifting: every
command it gives the image is a real ``lienthong`` command with valid arguments, and every
registry's port, health check and host binding match ``stack/services.py``.
"""

from __future__ import annotations

import re
import subprocess
import sys
import tomllib
from pathlib import Path
from typing import Any

import pytest
import typer
import yaml

from stack import cli
from stack.services import SERVICES

REPO = Path(__file__).resolve().parents[2]
LIENTHONG_IMAGE = "lienthong:dev"


def compose() -> dict[str, Any]:
    loaded: dict[str, Any] = yaml.safe_load((REPO / "docker-compose.yml").read_text())
    return loaded


def lienthong_services() -> dict[str, dict[str, Any]]:
    """Compose services that run the lienthong image (whose entrypoint is ``lienthong``)."""
    return {
        name: svc
        for name, svc in compose()["services"].items()
        if svc.get("image") == LIENTHONG_IMAGE or "build" in svc
    }


def parse_strictly(args: list[str]) -> None:
    """Parse ``lienthong <args>`` with the real CLI without running it.

    ``--help`` alone would not catch a wrong argument: Click answers help before it
    validates the other parameters (``serve nosuchservice --help`` exits 0).
    """
    group = typer.main.get_command(cli.app)
    parent = group.make_context("lienthong", [args[0]])
    command = group.get_command(parent, args[0])  # type: ignore[attr-defined]
    assert command is not None, f"`lienthong {args[0]}` is not a command"
    command.make_context(args[0], list(args[1:]), parent=parent)


def test_compose_runs_every_service_of_the_stack_and_a_seed() -> None:
    services = lienthong_services()
    assert set(SERVICES) <= set(services)
    assert services["seed"]["command"][0] == "seed"
    assert services["seed"]["restart"] == "no"


@pytest.mark.parametrize("name", sorted(lienthong_services()))
def test_compose_command_is_a_real_lienthong_command(name: str) -> None:
    command = lienthong_services()[name]["command"]
    assert isinstance(command, list), "exec form, so no shell rewrites the arguments"

    parse_strictly(command)
    done = subprocess.run(
        [sys.executable, "-m", "stack", *command, "--help"],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    assert "Usage:" in done.stdout


def test_parse_strictly_rejects_what_help_would_let_through() -> None:
    with pytest.raises(typer.BadParameter):
        parse_strictly(["serve", "nosuchservice"])
    with pytest.raises(AssertionError):
        parse_strictly(["nosuchcommand"])


@pytest.mark.parametrize("name", sorted(SERVICES))
def test_compose_registry_matches_the_service_table(name: str) -> None:
    spec = SERVICES[name]
    svc = compose()["services"][name]

    assert svc["command"] == ["serve", name]
    published = [str(p).rsplit(":", 2)[-2:] for p in svc["ports"]]
    assert published == [[str(spec.default_port), str(spec.default_port)]]
    env = svc["environment"]
    assert env[f"{spec.env_prefix}HOST"] == "0.0.0.0"  # noqa: S104 - inside the container
    assert f"{spec.env_prefix}DATABASE_URL" in env
    probe = " ".join(svc["healthcheck"]["test"])
    assert f"127.0.0.1:{spec.default_port}/healthz" in probe
    assert any(v.endswith(":/app/var") for v in svc["volumes"])


def test_postgres_is_an_opt_in_profile_with_a_database_per_registry() -> None:
    doc = compose()
    postgres = doc["services"]["postgres"]
    assert postgres["image"] == "postgres:16"
    assert postgres["profiles"] == ["postgres"]
    init_sql = doc["configs"]["registry-databases"]["content"]
    for name in SERVICES:
        assert f"CREATE DATABASE {name};" in init_sql


def test_dockerfile_runs_lienthong_as_a_non_root_user() -> None:
    dockerfile = (REPO / "Dockerfile").read_text()
    scripts = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]["scripts"]

    assert re.search(r"^FROM python:3\.11-slim$", dockerfile, re.M)
    assert re.search(r'^ENTRYPOINT \["lienthong"\]$', dockerfile, re.M)
    assert "lienthong" in scripts
    users = re.findall(r"^USER (\S+)$", dockerfile, re.M)
    assert users and users[-1] not in ("root", "0")


@pytest.mark.parametrize("name", sorted(SERVICES))
def test_readme_configuration_table_matches_the_service_table(name: str) -> None:
    spec = SERVICES[name]
    rows = [line for line in (REPO / "README.md").read_text().splitlines() if line.startswith("|")]
    row = next((r for r in rows if r.startswith(f"| {name} ")), None)
    assert row is not None, f"README's configuration table has no row for {name}"
    cells = [c.strip() for c in row.strip("|").split("|")]
    assert cells[2:] == [
        f"`{spec.env_prefix}`",
        str(spec.default_port),
        f"`var/db/{name}.sqlite3`",
    ]
