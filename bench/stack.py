"""The stack the exchange scenarios run against: ``lienthong up`` in a subprocess.

The benchmark starts the same stack an operator starts (``python -m stack up``), on free
ports of 127.0.0.1, in its own var dir (``var/bench/<persons>``, seeded once and kept, so a
second run does not pay for the seed again). Each service's process is found by its command
line, so its CPU time can be read from ``/proc`` before and after a scenario.
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from stack.services import SERVICES

READY_LINE = "Ctrl-C stops every service."
START_TIMEOUT_S = 600.0
_TICKS = os.sysconf("SC_CLK_TCK")


def free_ports(n: int) -> list[int]:
    socks = [socket.socket() for _ in range(n)]
    try:
        for s in socks:
            s.bind(("127.0.0.1", 0))
        return [s.getsockname()[1] for s in socks]
    finally:
        for s in socks:
            s.close()


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of ``pid`` and of its reaped children, from ``/proc``."""
    raw = Path(f"/proc/{pid}/stat").read_text()
    after = raw.rsplit(")", 1)[1].split()
    # Fields 14-17 of stat(5): utime stime cutime cstime (after[11:15] once pid and comm go).
    return sum(int(v) for v in after[11:15]) / _TICKS


def _children(root: int) -> dict[int, str]:
    """pid → command line of every live descendant of ``root``."""
    parent_of: dict[int, int] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        with contextlib.suppress(OSError):
            raw = (entry / "stat").read_text()
            parent_of[int(entry.name)] = int(raw.rsplit(")", 1)[1].split()[1])
    found: dict[int, str] = {}
    frontier = {root}
    while frontier:
        frontier = {pid for pid, ppid in parent_of.items() if ppid in frontier}
        for pid in frontier:
            with contextlib.suppress(OSError):
                cmd = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ")
                found[pid] = cmd.decode().strip()
    return found


@dataclass
class BenchStack:
    """A running stack: its ports, var dir and the pids of its services' processes."""

    proc: subprocess.Popen[str]
    ports: dict[str, int]
    var_dir: Path
    output: list[str] = field(default_factory=list)
    #: service name → pids (a service may run several worker processes).
    pids: dict[str, list[int]] = field(default_factory=dict)

    def url(self, name: str) -> str:
        return f"https://127.0.0.1:{self.ports[name]}"

    @property
    def pki(self) -> Path:
        return self.var_dir / "pki"

    def find_processes(self) -> None:
        self.pids = {}
        for pid, cmd in _children(self.proc.pid).items():
            for name in SERVICES:
                if cmd.endswith(f"stack serve {name}") or f"stack serve {name} " in cmd:
                    self.pids.setdefault(name, []).append(pid)

    def cpu(self, names: tuple[str, ...]) -> dict[str, float]:
        """CPU seconds so far of each named service (all its processes together)."""
        out: dict[str, float] = {}
        for name in names:
            total = 0.0
            for pid in self.pids.get(name, []):
                with contextlib.suppress(OSError):
                    total += cpu_seconds(pid)
            out[name] = total
        return out


#: The key of a ports dict for the gateway's second (citizens') listener.
GATEWAY_PUBLIC = "gateway-public"


def stack_env(ports: dict[str, int]) -> dict[str, str]:
    """This process's environment minus anything that would point the stack elsewhere,
    with every service on 127.0.0.1 at its port of ``ports``."""
    env = {
        k: v
        for k, v in os.environ.items()
        if not any(k.startswith(spec.env_prefix) for spec in SERVICES.values())
    }
    for name, spec in SERVICES.items():
        env[f"{spec.env_prefix}PORT"] = str(ports[name])
        env[f"{spec.env_prefix}HOST"] = "127.0.0.1"
    if GATEWAY_PUBLIC in ports:
        env["GATEWAY_PUBLIC_PORT"] = str(ports[GATEWAY_PUBLIC])
    return env


@contextlib.contextmanager
def running(
    persons: int, var_root: Path, extra_env: dict[str, str] | None = None
) -> Iterator[BenchStack]:
    """Start ``lienthong up`` with ``persons`` persons; stop it (and every child) after."""
    var_dir = var_root / f"{persons}"
    names = [*SERVICES, GATEWAY_PUBLIC]
    ports = dict(zip(names, free_ports(len(names)), strict=True))
    proc = subprocess.Popen(
        [sys.executable, "-m", "stack", "up", "--persons", str(persons), "--var-dir", str(var_dir)],
        env={**stack_env(ports), **(extra_env or {})},
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    stack = BenchStack(proc, ports, var_dir)
    stream = proc.stdout
    if stream is None:  # pragma: no cover - stdout=PIPE always gives one
        raise RuntimeError("no output pipe")
    reader = threading.Thread(target=lambda: stack.output.extend(stream), daemon=True)
    reader.start()
    try:
        deadline = time.monotonic() + START_TIMEOUT_S
        while READY_LINE not in "".join(stack.output):
            if proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError("the stack did not start:\n" + "".join(stack.output)[-3000:])
            time.sleep(0.1)
        stack.find_processes()
        yield stack
    finally:
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        reader.join(timeout=5)
