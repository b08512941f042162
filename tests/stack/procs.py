"""Helpers for the tests that run real processes: the process tree seen through ``/proc``,
free ports, and the environment a stack under test runs in.

"No process left behind" is checked from the outside: a test walks ``/proc`` for every
descendant of the process under test (by parent pid) and records each one's start time;
afterwards none of those (pid, start time) pairs may still be running. Zombies count as
gone: they hold no port, no file, no CPU, only a pid until reaped.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from bench.stack import GATEWAY_PUBLIC as GATEWAY_PUBLIC  # re-exported for the tests
from bench.stack import free_ports as free_ports
from bench.stack import stack_env as bench_stack_env
from stack.services import SERVICES

REPO = Path(__file__).resolve().parents[2]


# -- processes seen through /proc ------------------------------------------------------------


@dataclass(frozen=True)
class Proc:
    pid: int
    starttime: str
    cmdline: str


def _stat(pid: int) -> tuple[str, int, str] | None:
    """(state, parent pid, start time) of ``pid``, or None when it does not exist."""
    try:
        raw = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    # "pid (comm) state ppid ..." where comm may itself hold spaces and parentheses.
    after = raw.rsplit(")", 1)[1].split()
    return after[0], int(after[1]), after[19]


def descendants(root: int) -> list[Proc]:
    """Every live process below ``root`` in the process tree."""
    parent_of: dict[int, int] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit() and (st := _stat(int(entry.name))) is not None:
            parent_of[int(entry.name)] = st[1]
    found: list[Proc] = []
    frontier = {root}
    while frontier:
        children = {pid for pid, ppid in parent_of.items() if ppid in frontier}
        for pid in children:
            st = _stat(pid)
            if st is None or st[0] in "ZX":
                continue
            try:
                cmd = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()
            except OSError:
                continue
            found.append(Proc(pid, st[2], cmd.strip()))
        frontier = children
    return found


def still_running(proc: Proc) -> bool:
    st = _stat(proc.pid)
    return st is not None and st[2] == proc.starttime and st[0] not in "ZX"


def wait_all_gone(procs: list[Proc], timeout: float) -> list[Proc]:
    deadline = time.monotonic() + timeout
    while (left := [p for p in procs if still_running(p)]) and time.monotonic() < deadline:
        time.sleep(0.05)
    return left


def open_files(pid: int) -> list[str]:
    """Where every file descriptor of ``pid`` points (empty when it is gone)."""
    fds = Path(f"/proc/{pid}/fd")
    out: list[str] = []
    try:
        entries = list(fds.iterdir())
    except OSError:
        return out
    for fd in entries:
        try:
            out.append(os.readlink(fd))
        except OSError:
            continue
    return out


# -- running the stack -----------------------------------------------------------------------


def free_stack_ports() -> dict[str, int]:
    """A free port for every service, and for the gateway's citizens' listener."""
    names = [*SERVICES, GATEWAY_PUBLIC]
    return dict(zip(names, free_ports(len(names)), strict=True))


def stack_env(ports: dict[str, int]) -> dict[str, str]:
    """The stack's environment of ``bench.stack``, with this checkout on ``PYTHONPATH``
    (the tests run the stack from temporary folders)."""
    env = bench_stack_env(ports)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(REPO), env.get("PYTHONPATH")]))
    return env


def wait_for(what: str, check: Callable[[], bool], timeout: float, *, poll: float = 0.002) -> None:
    """Poll ``check`` until it holds; fail the test naming ``what`` after ``timeout`` s."""
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout:.0f}s waiting for {what}")
        time.sleep(poll)
