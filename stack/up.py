"""``lienthong up``: the whole local stack as plain processes on 127.0.0.1.

Why plain processes and not one process with many apps: each service is then exactly what
it will be in production (its own interpreter, its own port, its own log, its own database),
and the stack needs nothing but Python — Docker is optional (DESIGN §1, §9).

The lifecycle, in order:

0. the var dir's lock is taken (``stack.varlock``) and held until ``up`` ends, so a second
   ``up`` or a ``seed`` cannot rewrite the databases under the running services;
1. every port must be free, or one line says which port and which variable moves it, and
   nothing is started (checked before seeding, so the mistake costs no time);
2. the databases under ``var/db`` are seeded unless their seed finished
   (``stack.seed.ensure_seeded``); SIGTERM/SIGHUP/Ctrl-C during it delete the partly
   written databases and end ``up`` (exit 0: a requested stop);
3. each service in ``stack.services.SERVICES`` starts as
   ``python -m stack serve <name>``, its output going to ``var/log/<name>.log``;
4. each ``/healthz`` must answer over HTTP in time, else the stack is stopped and the
   service and its log are named;
5. a table of URLs is printed and the supervisor waits: Ctrl-C / SIGTERM / SIGHUP stop
   everything (exit 0); a service dying on its own stops the rest (exit 1).

No process is left behind: children run in their own session (a terminal's Ctrl-C reaches
only this supervisor, which then stops them in order) and ask the kernel to SIGTERM them
if the supervisor dies, even by SIGKILL (``PR_SET_PDEATHSIG``).

Every failure the user can fix (a port, a setting, a busy or unwritable var dir, a
database that cannot be read) is one line on stderr and exit code 1, never a traceback.
"""

from __future__ import annotations

import contextlib
import errno
import functools
import json
import os
import signal
import socket
import ssl
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from types import FrameType
from typing import IO, NoReturn

import httpx
from pydantic import ValidationError
from rich.console import Console
from rich.table import Table
from sqlalchemy.exc import DBAPIError

from core.tls import client_context
from stack.process import Stopped, die_with_parent
from stack.services import SERVICES, ServiceSpec
from stack.varlock import VarDirBusy, var_dir_lock

#: How long every service together may take to answer ``/healthz``.
HEALTH_TIMEOUT_S = 60.0
#: How long a service may take to stop after SIGTERM before it is killed.
STOP_GRACE_S = 5.0
_POLL_S = 0.1


@dataclass(frozen=True)
class Planned:
    """One service as this run will start it."""

    spec: ServiceSpec
    host: str
    port: int
    log_path: Path
    #: The second, server-TLS-only listener (the gateway's citizens' port), if any.
    public_port: int | None = None

    def url_for(self, port: int) -> str:
        # A wildcard bind is reachable on loopback; print the address people can paste.
        host = "127.0.0.1" if self.host in ("0.0.0.0", "", "::") else self.host  # noqa: S104
        if ":" in host:  # an IPv6 address goes in brackets (RFC 3986)
            host = f"[{host}]"
        return f"https://{host}:{port}"

    @property
    def url(self) -> str:
        return self.url_for(self.port)

    @property
    def port_variable(self) -> str:
        return f"{self.spec.env_prefix}PORT"

    def ports(self) -> list[tuple[int, str]]:
        """Every port this service listens on, with the variable that moves it."""
        out = [(self.port, self.port_variable)]
        if self.public_port is not None and self.spec.public_port_setting is not None:
            out.append(
                (self.public_port, f"{self.spec.env_prefix}{self.spec.public_port_setting.upper()}")
            )
        return out


class StackError(Exception):
    """A failure that ends ``up`` with one line on stderr and exit code 1."""


def up_command(persons: int, var_dir: Path) -> None:
    """Run the stack until a signal; exit code 0 on a requested stop, 1 on any failure."""
    from certs.dev import ensure_dev_pki
    from stack.seed import describe_failure, ensure_seeded
    from stack.seed_state import SeedError

    try:
        # The lock first: a second `up` is told the var dir is in use, not that ports are.
        with var_dir_lock(var_dir):
            plan = plan_services(var_dir)
            check_ports_free(plan)
            (var_dir / "log").mkdir(parents=True, exist_ok=True)
            made = ensure_dev_pki(var_dir / "pki")
            if made:
                print(f"made {len(made)} certificates under {var_dir / 'pki'}", flush=True)
            try:
                ensure_seeded(var_dir, persons)
            except (KeyboardInterrupt, Stopped) as e:
                name = e.signame if isinstance(e, Stopped) else "SIGINT"
                _note(f"received {name} while seeding; removed the partly written databases")
                raise SystemExit(0) from None
            code = Supervisor(plan, var_dir).run()
    except (StackError, VarDirBusy, SeedError) as e:
        _fail(str(e))
    except (OSError, DBAPIError) as e:
        _fail(describe_failure(e))
    raise SystemExit(code)


def plan_services(var_dir: Path) -> list[Planned]:
    """Where each service will listen: its settings (env / ``.env``) or its default port."""
    plan: list[Planned] = []
    for spec in SERVICES.values():
        try:
            settings = spec.settings(var_dir=var_dir)
        except ValidationError as e:
            first = e.errors()[0]
            field = str(first["loc"][0]).upper() if first["loc"] else "?"
            raise StackError(
                f"invalid setting {spec.env_prefix}{field} for {spec.name}: {first['msg']}"
            ) from e
        public = (
            int(getattr(settings, spec.public_port_setting))
            if spec.public_port_setting is not None
            else None
        )
        plan.append(
            Planned(
                spec=spec,
                host=settings.host,
                port=settings.port or spec.default_port,
                log_path=var_dir / "log" / f"{spec.name}.log",
                public_port=public,
            )
        )
    return plan


def check_ports_free(plan: list[Planned]) -> None:
    """Raise ``StackError`` naming the first port that another process already holds."""
    seen: dict[int, Planned] = {}
    for item in plan:
        for port, variable in item.ports():
            if port in seen:
                other = seen[port]
                raise StackError(
                    f"port {port} is set for both {other.spec.name} and {item.spec.name}; "
                    f"set {variable} to move one"
                )
            seen[port] = item
            if port_in_use(item.host, port):
                raise StackError(
                    f"port {port} ({item.spec.name}) is already in use; set {variable} to move it"
                )


def port_in_use(host: str, port: int) -> bool:
    """True when binding ``host:port`` fails the way uvicorn's bind would.

    ``SO_REUSEADDR`` as uvicorn sets it: connections of a previous run lingering in
    TIME_WAIT do not count as "in use", a listening socket does.
    """
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((host, port))
        except OSError as e:
            if e.errno in (errno.EADDRINUSE, errno.EACCES):
                return True
            raise
    return False


class Supervisor:
    """Starts the planned services, watches them, and stops all of them exactly once."""

    def __init__(self, plan: list[Planned], var_dir: Path) -> None:
        self.plan = plan
        self.var_dir = var_dir
        self.children: dict[str, subprocess.Popen[bytes]] = {}
        self._logs: list[IO[bytes]] = []
        self._stop_signal: int | None = None

    def _on_signal(self, signum: int, _frame: FrameType | None) -> None:
        self._stop_signal = signum

    def run(self) -> int:
        for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
            signal.signal(sig, self._on_signal)
        try:
            return self._start_and_watch()
        finally:
            self.stop_all()

    def _start_and_watch(self) -> int:
        for item in self.plan:
            self._start(item)
        if not self._wait_healthy():
            return 0 if self._stop_signal is not None else 1
        print_summary(self.plan, self.var_dir)
        while self._stop_signal is None:
            for item in self.plan:
                code = self.children[item.spec.name].poll()
                if code is not None:
                    _error(
                        f"{item.spec.name} exited unexpectedly ({_describe_exit(code)}); "
                        f"see {item.log_path}"
                    )
                    _show_log_tail(item)
                    return 1
            time.sleep(_POLL_S)
        _note(f"received {signal.Signals(self._stop_signal).name}, stopping the stack")
        return 0

    def _start(self, item: Planned) -> None:
        env = dict(os.environ)
        env[f"{item.spec.env_prefix}VAR_DIR"] = str(self.var_dir.resolve())
        env[item.port_variable] = str(item.port)
        env.update(links(self.plan, item))
        env["PYTHONUNBUFFERED"] = "1"
        log = item.log_path.open("ab")
        self._logs.append(log)
        self.children[item.spec.name] = subprocess.Popen(  # noqa: S603 - our own interpreter
            [sys.executable, "-m", "stack", "serve", item.spec.name],
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            env=env,
            start_new_session=True,
            # Only prctl and getppid: async-signal-safe enough. The supervisor's pid is read
            # here, before the fork, so a supervisor dying in between is noticed.
            preexec_fn=functools.partial(die_with_parent, os.getpid()),
            close_fds=True,  # the default, and it matters: the var dir's lock stays ours
        )

    def _wait_healthy(self) -> bool:
        """True when every ``/healthz`` answered 200; False after reporting why not."""
        deadline = time.monotonic() + HEALTH_TIMEOUT_S
        pending = list(self.plan)
        with httpx.Client(
            timeout=1.0, trust_env=False, verify=probe_context(self.var_dir)
        ) as client:
            while pending:
                if self._stop_signal is not None:
                    return False
                for item in list(pending):
                    code = self.children[item.spec.name].poll()
                    if code is not None:
                        _error(
                            f"{item.spec.name} exited while starting ({_describe_exit(code)}); "
                            f"see {item.log_path}"
                        )
                        _show_log_tail(item)
                        return False
                    with contextlib.suppress(httpx.HTTPError):
                        if client.get(f"{item.url}/healthz").status_code == 200:
                            pending.remove(item)
                if pending and time.monotonic() > deadline:
                    item = pending[0]
                    _error(
                        f"{item.spec.name} did not answer {item.url}/healthz within "
                        f"{HEALTH_TIMEOUT_S:.0f}s; see {item.log_path}"
                    )
                    return False
                if pending:
                    time.sleep(_POLL_S)
        return True

    def stop_all(self) -> None:
        """SIGTERM every child's process group, wait, SIGKILL what remains, reap all."""
        alive = [p for p in self.children.values() if p.poll() is None]
        for proc in alive:
            _signal_group(proc, signal.SIGTERM)
        deadline = time.monotonic() + STOP_GRACE_S
        for proc in alive:
            try:
                proc.wait(timeout=max(0.0, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                _signal_group(proc, signal.SIGKILL)
                proc.wait()
        for proc in self.children.values():
            # A group may hold grandchildren even after its leader exited.
            _signal_group(proc, signal.SIGKILL)
        for log in self._logs:
            log.close()
        self._logs.clear()


def links(plan: list[Planned], item: Planned) -> dict[str, str]:
    """Environment that points ``item`` at the other services where this run put them.

    The gateway finds the registries and the TSA on the ports of this plan (so moving one
    with ``POPULATION_PORT`` just works), unless ``GATEWAY_PROVIDERS`` / ``GATEWAY_TSA_URL``
    are set explicitly.
    """
    if item.spec.name != "gateway":
        return {}
    from certs.dev import PROVIDERS

    ports = {p.spec.name: p for p in plan}
    env: dict[str, str] = {}
    if "GATEWAY_PROVIDERS" not in os.environ:
        providers = {pid: ports[name].url for name, pid in PROVIDERS.items() if name in ports}
        env["GATEWAY_PROVIDERS"] = json.dumps(providers)
    if "GATEWAY_TSA_URL" not in os.environ and "tsa" in ports:
        env["GATEWAY_TSA_URL"] = ports["tsa"].url + "/"
    return env


def probe_context(var_dir: Path) -> ssl.SSLContext:
    """TLS as the operator probes: the dev CA, and the gateway's member certificate (the
    registries answer no one else)."""
    from certs.authority import Authority
    from certs.dev import GATEWAY_ID

    authority = Authority(var_dir / "pki")
    cert, key = authority.member_paths(GATEWAY_ID)
    return client_context(ca=authority.ca_cert_path, cert=cert, key=key)


def _signal_group(proc: subprocess.Popen[bytes], sig: int) -> None:
    # Each child leads its own session and group (``start_new_session``), so pgid == pid.
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(proc.pid, sig)


def sample_personal_id(var_dir: Path) -> str | None:
    """A living person's id from the seeded population database, for the example curl."""
    try:
        from sqlalchemy import select

        from core.db import make_engine
        from registries.population.models import Person

        engine = make_engine(f"sqlite:///{var_dir / 'db' / 'population.sqlite3'}")
        try:
            with engine.connect() as conn:
                living = select(Person.personal_id).where(Person.date_of_death.is_(None))
                found = conn.execute(living.limit(1)).scalar()
        finally:
            engine.dispose()
    except Exception:  # a nicety: the stack runs without it
        return None
    return str(found) if found else None


def print_summary(plan: list[Planned], var_dir: Path) -> None:
    console = Console()
    if not console.is_terminal:
        # Piped to a file or a test: do not squeeze the table into 80 columns.
        console = Console(width=200)
    table = Table(title="lienthong — local stack", title_justify="left")
    table.add_column("service", style="bold")
    table.add_column("URL", style="cyan")
    table.add_column("API docs", style="cyan")
    table.add_column("log")
    for item in plan:
        table.add_row(item.spec.name, item.url, f"{item.url}/docs", str(item.log_path))
        if item.public_port is not None:
            public = item.url_for(item.public_port)
            table.add_row(f"{item.spec.name} (citizens)", public, f"{public}/docs", "")
    console.print(table)
    console.print(
        f"TLS everywhere: the dev CA is {var_dir / 'pki' / 'ca.crt'}; members' certificates "
        f"are under {var_dir / 'pki' / 'members'}.",
        style="dim",
    )
    gateway = next((p for p in plan if p.spec.name == "gateway"), None)
    if gateway is not None:
        pid = sample_personal_id(var_dir) or "<personal id>"
        console.print("Try (as the Hà Nội one-stop portal):", style="bold")
        console.print(
            f"  .venv/bin/lienthong call VN/GOV/BCA/population/persons/{pid} "
            "--purpose household-business-registration --fields full_name,date_of_birth",
            soft_wrap=True,
        )
    console.print("Ctrl-C stops every service.", style="dim")
    sys.stdout.flush()


def _describe_exit(code: int) -> str:
    """``exit code 3`` or, for a negative Popen return code, ``killed by SIGKILL``."""
    if code < 0:
        try:
            return f"killed by {signal.Signals(-code).name}"
        except ValueError:
            return f"killed by signal {-code}"
    return f"exit code {code}"


def _show_log_tail(item: Planned, lines: int = 15) -> None:
    try:
        tail = item.log_path.read_text(encoding="utf-8", errors="replace").splitlines()
    except OSError:
        return
    for line in tail[-lines:]:
        print(f"  {item.spec.name} | {line}", file=sys.stderr)


def _error(message: str) -> None:
    # Plain print, not Rich: one line that never wraps, whatever the terminal width.
    print(f"error: {message}", file=sys.stderr, flush=True)


def _note(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def _fail(message: str) -> NoReturn:
    _error(message)
    raise SystemExit(1)
