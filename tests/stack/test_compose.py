"""docker-compose.yml, the Dockerfile and the README agree with the code, without Docker.

The compose file is documentation that runs; these tests keep it from drifting: every
command it gives the image (and every ``lienthong`` command in its header) is a real
``lienthong`` command with valid arguments; the PKI is made before anything starts; every
service's ports, TLS health check, host binding and database match ``stack/services.py``;
the gateway reaches the registries by their compose names. Health checks are executed here
with ``ssl`` and ``urllib`` replaced by recorders, so what they open and which certificates
they present is checked, not grepped.
"""

from __future__ import annotations

import importlib
import json
import re
import shlex
import ssl
import subprocess
import sys
import tomllib
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
import typer
import yaml

from certs.dev import DEV_MEMBERS, DEV_SERVERS
from core.provider import ProviderSettings
from core.settings import ServiceSettings
from gateway.settings import DEFAULT_PROVIDERS
from stack import cli
from stack.services import SERVICES, ServiceSpec

REPO = Path(__file__).resolve().parents[2]
LIENTHONG_IMAGE = "lienthong:dev"
#: The `var` volume inside the containers; the PKI is under it.
VAR = "/app/var"
PKI = f"{VAR}/pki"


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


def settings_class(spec: ServiceSpec) -> type[ServiceSettings]:
    module, _, attr = spec.settings_class.partition(":")
    cls: type[ServiceSettings] = getattr(importlib.import_module(module), attr)
    return cls


def default_of(spec: ServiceSpec, setting: str) -> Any:
    """A setting's default from the class (the environment of the test run cannot leak in)."""
    return settings_class(spec).model_fields[setting].default


def has_database(spec: ServiceSpec) -> bool:
    return spec.has_database


def is_provider(spec: ServiceSpec) -> bool:
    """A registry behind the gateway: it answers the gateway's certificate alone."""
    return issubclass(settings_class(spec), ProviderSettings)


def ports_of(spec: ServiceSpec) -> list[int]:
    """The members' (or only) port, then the public one if the service has a second."""
    ports = [spec.default_port]
    if spec.public_port_setting is not None:
        ports.append(int(default_of(spec, spec.public_port_setting)))
    return ports


def seconds(duration: str) -> float:
    match = re.fullmatch(r"(\d+(?:\.\d+)?)s", duration)
    assert match, f"durations here are in seconds, e.g. 3s, not {duration!r}"
    return float(match.group(1))


def parse_strictly(args: list[str]) -> None:
    """Parse ``lienthong <args>`` with the real CLI without running it.

    ``--help`` alone would not catch a wrong argument: Click answers help before it
    validates the other parameters (``serve nosuchservice --help`` exits 0). Groups
    (``lienthong certs init``) are walked down to the command.
    """
    command: Any = typer.main.get_command(cli.app)
    parent = None
    name = "lienthong"
    while hasattr(command, "get_command"):
        assert args, f"`{name}` needs a subcommand"
        ctx = command.make_context(name, list(args), parent=parent, resilient_parsing=True)
        sub = command.get_command(ctx, args[0])
        assert sub is not None, f"`lienthong {args[0]}` is not a command"
        parent, name, command, args = ctx, args[0], sub, args[1:]
    command.make_context(name, list(args), parent=parent)


def test_parse_strictly_rejects_what_help_would_let_through() -> None:
    with pytest.raises(typer.BadParameter):
        parse_strictly(["serve", "nosuchservice"])
    with pytest.raises(AssertionError):
        parse_strictly(["nosuchcommand"])
    with pytest.raises(AssertionError):
        parse_strictly(["certs", "nosuchcommand"])
    with pytest.raises(typer.BadParameter):
        parse_strictly(["certs", "issue", "VN/GOV/X/y", "--kind", "nosuchkind"])
    parse_strictly(["certs", "init", "--pki", PKI])


# --- the services -------------------------------------------------------------------------


def test_compose_runs_every_service_of_the_stack_a_pki_and_a_seed() -> None:
    services = lienthong_services()
    assert set(SERVICES) | {"pki", "seed"} == set(services)
    assert services["seed"]["command"][0] == "seed"
    assert services["seed"]["restart"] == "no"


def test_the_pki_is_made_once_before_every_other_lienthong_service() -> None:
    services = lienthong_services()
    pki = services.pop("pki")

    assert pki["command"] == ["certs", "init", "--pki", PKI]
    assert pki["restart"] == "no"
    assert f"var:{VAR}" in pki["volumes"]
    assert "depends_on" not in pki
    for name, svc in services.items():
        condition = svc.get("depends_on", {}).get("pki", {}).get("condition")
        assert condition == "service_completed_successfully", f"{name} may start before pki"


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


@pytest.mark.parametrize("name", sorted(SERVICES))
def test_compose_service_matches_the_service_table(name: str) -> None:
    spec = SERVICES[name]
    svc = compose()["services"][name]

    assert svc["command"] == ["serve", name]
    assert svc["ports"] == [f"127.0.0.1:{port}:{port}" for port in ports_of(spec)]
    env = svc["environment"]
    assert env[f"{spec.env_prefix}HOST"] == "0.0.0.0"  # noqa: S104 - inside the container
    assert (f"{spec.env_prefix}DATABASE_URL" in env) == has_database(spec)
    assert f"var:{VAR}" in svc["volumes"]
    # The service's server certificate (SAN: its name) is one the pki service makes.
    assert name in DEV_SERVERS


def test_the_seed_fills_every_registry_before_it_starts() -> None:
    services = compose()["services"]
    seed_env = services["seed"]["environment"]
    for name, spec in SERVICES.items():
        if not is_provider(spec):
            continue
        assert f"{spec.env_prefix}DATABASE_URL" in seed_env, f"seed would miss {name}'s database"
        condition = services[name]["depends_on"]["seed"]["condition"]
        assert condition == "service_completed_successfully"


# --- health checks over TLS ---------------------------------------------------------------


@dataclass
class FakeContext:
    cafile: str | None
    other: dict[str, Any]
    chains: list[tuple[str, str | None]] = field(default_factory=list)
    check_hostname: bool = True
    verify_mode: Any = ssl.CERT_REQUIRED

    def load_cert_chain(self, certfile: str, keyfile: str | None = None) -> None:
        self.chains.append((certfile, keyfile))


@dataclass
class Probe:
    contexts: list[FakeContext] = field(default_factory=list)
    opened: list[tuple[str, FakeContext | None, float | None]] = field(default_factory=list)


def run_health_check(test: list[str], monkeypatch: pytest.MonkeyPatch) -> Probe:
    """Execute a ``python -c`` health check with recorders for ssl contexts and urlopen."""
    assert test[:3] == ["CMD", "python", "-c"], "exec form, the image's own python"
    assert len(test) == 4
    probe = Probe()

    def create_default_context(
        purpose: Any = None, *, cafile: str | None = None, **other: Any
    ) -> FakeContext:
        ctx = FakeContext(cafile=cafile, other=other)
        probe.contexts.append(ctx)
        return ctx

    def urlopen(
        url: str, data: Any = None, timeout: float | None = None, *, context: Any = None
    ) -> object:
        assert data is None, "a health check only reads"
        probe.opened.append((url, context, timeout))
        return object()

    monkeypatch.setattr(ssl, "create_default_context", create_default_context)
    monkeypatch.setattr(urllib.request, "urlopen", urlopen)
    exec(compile(test[3], "<healthcheck>", "exec"), {"__name__": "__main__"})  # noqa: S102
    return probe


@pytest.mark.parametrize("name", sorted(SERVICES))
def test_health_check_probes_every_listener_over_verified_tls(
    name: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    spec = SERVICES[name]
    check = compose()["services"][name]["healthcheck"]
    probe = run_health_check(check["test"], monkeypatch)

    assert [url for url, _, _ in probe.opened] == [
        f"https://127.0.0.1:{port}/healthz" for port in ports_of(spec)
    ]
    for _, ctx, timeout in probe.opened:
        assert ctx is not None and ctx in probe.contexts, "a context of its own, with the CA"
        assert ctx.cafile == f"{PKI}/ca.crt" and not ctx.other
        assert ctx.check_hostname and ctx.verify_mode == ssl.CERT_REQUIRED
        assert timeout is not None
    assert sum(t or 0 for _, _, t in probe.opened) <= seconds(check["timeout"])


@pytest.mark.parametrize("name", sorted(SERVICES))
def test_health_check_presents_the_certificate_the_service_answers(
    name: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    spec = SERVICES[name]
    probe = run_health_check(compose()["services"][name]["healthcheck"]["test"], monkeypatch)
    chains = {chain for _, ctx, _ in probe.opened if ctx is not None for chain in ctx.chains}

    if not spec.client_certs:
        assert chains == set(), "no client certificate: anyone may call this service"
        return
    ((cert, key),) = chains
    found = re.fullmatch(rf"{PKI}/members/(.+)\.crt", cert)
    assert found is not None, f"{cert} is not a member certificate"
    member = found.group(1)
    assert member in DEV_MEMBERS
    assert key == f"{PKI}/members/{member}.key"
    if is_provider(spec):
        # Registries answer the gateway alone, /healthz included.
        assert member == default_of(spec, "gateway_id")


# --- the gateway and the registries -------------------------------------------------------


def test_gateway_reaches_exactly_the_registries_by_their_compose_names() -> None:
    services = compose()["services"]
    gateway = services["gateway"]
    providers = json.loads(gateway["environment"]["GATEWAY_PROVIDERS"])
    registries = {
        default_of(spec, "member_id"): name for name, spec in SERVICES.items() if is_provider(spec)
    }

    assert set(providers) == set(DEFAULT_PROVIDERS) == set(registries)
    for provider, url in providers.items():
        parts = urlsplit(url)
        assert parts.scheme == "https"
        assert parts.hostname == registries[provider], f"{provider} is served by another"
        assert parts.hostname in DEV_SERVERS, "its server certificate names the host"
        assert parts.port == SERVICES[registries[provider]].default_port
        assert parts.path in ("", "/")
        assert parts.hostname in gateway["depends_on"]


# --- PostgreSQL ---------------------------------------------------------------------------


def test_postgres_is_an_opt_in_profile_with_a_database_per_service_that_has_one() -> None:
    doc = compose()
    postgres = doc["services"]["postgres"]
    assert postgres["image"] == "postgres:16"
    assert postgres["profiles"] == ["postgres"]
    (config,) = postgres["configs"]
    init_sql = doc["configs"][config["source"]]["content"]
    assert config["target"].startswith("/docker-entrypoint-initdb.d/")
    created = set(re.findall(r"^CREATE DATABASE ([a-z_]+);$", init_sql, re.M))
    assert created == {name for name, spec in SERVICES.items() if has_database(spec)}
    header = (REPO / "docker-compose.yml").read_text().split("\nname:")[0]
    for name in created:
        prefix = SERVICES[name].env_prefix
        url = f"{prefix}DATABASE_URL=postgresql+psycopg://lienthong:lienthong@postgres:5432/{name}"
        assert url in header


# --- the commands in the header -----------------------------------------------------------


def header_commands() -> list[tuple[str, list[str]]]:
    """``docker compose exec [-T] <service> lienthong ...`` lines of the header comment."""
    header = []
    for line in (REPO / "docker-compose.yml").read_text().splitlines():
        if not line.startswith("#"):
            break
        header.append(line.removeprefix("#").strip())
    text = re.sub(r"\\\n\s*", " ", "\n".join(header))
    found = []
    for line in text.splitlines():
        if not line.startswith("docker compose exec "):
            continue
        words = shlex.split(line.replace("<id>", "001090012345"))
        if "lienthong" not in words:
            continue
        at = words.index("lienthong")
        service = [w for w in words[3:at] if not w.startswith("-")]
        args = words[at + 1 :]
        found.append((service[0], args[: args.index(">")] if ">" in args else args))
    return found


def test_header_shows_lienthong_commands_that_parse_in_services_that_exist() -> None:
    commands = header_commands()
    services = lienthong_services()

    assert any(args[0] == "call" for _, args in commands)
    for service, args in commands:
        assert service in services
        parse_strictly(args)
        if args[0] == "call":
            assert args[args.index("--pki") + 1] == PKI


# --- the image ----------------------------------------------------------------------------


def test_dockerfile_runs_lienthong_as_a_non_root_user_that_owns_var() -> None:
    dockerfile = (REPO / "Dockerfile").read_text()
    scripts = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]["scripts"]

    assert re.search(r"^FROM python:3\.11-slim$", dockerfile, re.M)
    assert re.search(r'^ENTRYPOINT \["lienthong"\]$', dockerfile, re.M)
    assert "lienthong" in scripts
    assert re.search(r"^WORKDIR /app$", dockerfile, re.M)
    users = re.findall(r"^USER (\S+)$", dockerfile, re.M)
    assert users and users[-1] not in ("root", "0")
    # The volume's mount point is the service user's, so the PKI, databases and keys it
    # writes under /app/var can be written.
    assert re.search(rf"mkdir -p {VAR} && chown {users[-1]}:{users[-1]} {VAR}$", dockerfile, re.M)


def test_dockerfile_exposes_every_listener() -> None:
    dockerfile = (REPO / "Dockerfile").read_text()
    exposed = {
        int(p) for line in re.findall(r"^EXPOSE (.+)$", dockerfile, re.M) for p in line.split()
    }
    assert exposed == {port for spec in SERVICES.values() for port in ports_of(spec)}


def test_nothing_the_image_runs_needs_the_openssl_binary() -> None:
    instructions = [
        line for line in (REPO / "Dockerfile").read_text().splitlines() if not line.startswith("#")
    ]
    assert not [line for line in instructions if "openssl" in line.lower()]
    packages = tomllib.loads((REPO / "pyproject.toml").read_text())["tool"]["setuptools"]
    roots = {p.rstrip("*") for p in packages["packages"]["find"]["include"]}
    calls = [
        str(path.relative_to(REPO))
        for root in roots
        for path in (REPO / root).rglob("*.py")
        if re.search(r"""["']openssl["']""", path.read_text())
    ]
    assert calls == []


def test_dockerignore_keeps_var_and_key_material_out_of_the_image() -> None:
    ignored = (REPO / ".dockerignore").read_text().split()
    assert {"var", ".env", "*.key", "*.pem", "*.crt"} <= set(ignored)


# --- the README ---------------------------------------------------------------------------


def configuration_section() -> str:
    readme = (REPO / "README.md").read_text()
    return readme.split("\n## Configuration\n", 1)[1].split("\n## ", 1)[0]


def tables(section: str) -> list[list[list[str]]]:
    """Markdown tables: rows of cells, without the header's ruler."""
    found: list[list[list[str]]] = []
    current: list[list[str]] = []
    for line in [*section.splitlines(), ""]:
        if line.startswith("|"):
            cells = [c.strip() for c in line.strip().strip("|").split("|")]
            if not all(re.fullmatch(r":?-+:?", c) for c in cells):
                current.append(cells)
        elif current:
            found.append(current)
            current = []
    return found


def services_table() -> dict[str, dict[str, str]]:
    header, *rows = tables(configuration_section())[0]
    assert header == ["service", "what it is", "env prefix", "port(s)", "TLS", "default database"]
    return {row[0]: dict(zip(header, row, strict=True)) for row in rows}


def test_readme_configuration_table_lists_the_services_in_their_order() -> None:
    assert list(services_table()) == list(SERVICES)


@pytest.mark.parametrize("name", sorted(SERVICES))
def test_readme_configuration_table_matches_the_service_table(name: str) -> None:
    spec = SERVICES[name]
    row = services_table()[name]

    assert row["env prefix"] == f"`{spec.env_prefix}`"
    assert [int(p) for p in re.findall(r"\d+", row["port(s)"])] == ports_of(spec)
    expected_db = f"`var/db/{name}.sqlite3`" if has_database(spec) else "none"
    assert row["default database"] == expected_db
    tls = row["TLS"]
    assert ("mTLS" in tls) == spec.client_certs
    assert ("server TLS" in tls) == (not spec.client_certs or spec.public_port_setting is not None)
    assert ("the gateway only" in tls) == is_provider(spec)


def test_readme_names_the_second_ports_and_the_gateways_providers() -> None:
    section = configuration_section()
    for spec in SERVICES.values():
        if spec.public_port_setting is not None:
            variable = f"{spec.env_prefix}{spec.public_port_setting.upper()}"
            assert f"`{variable}` ({ports_of(spec)[1]})" in section
    shown = re.search(r"`(\{\"VN/[^`]+\})`", section)
    assert shown is not None, "the default GATEWAY_PROVIDERS"
    assert json.loads(shown.group(1)) == DEFAULT_PROVIDERS


def test_readme_settings_table_lists_every_common_setting() -> None:
    rows = tables(configuration_section())[1][1:]
    listed = {row[0].strip("`") for row in rows}
    assert listed == {f"POPULATION_{name.upper()}" for name in ServiceSettings.model_fields}
