"""A real ``lienthong up`` in a subprocess, for tests that need the whole stack running.

``stack`` (a fixture) starts it on free ports in a temporary var dir and leaves nothing
running afterwards; ``wait_until_ready`` waits for the summary table and every
``/healthz`` over real TLS; ``operator_client`` speaks HTTPS as the operator does (the
stack's CA, the gateway's certificate).
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import pytest

from stack.up import probe_context
from tests.stack.procs import (
    Proc,
    descendants,
    free_stack_ports,
    stack_env,
    still_running,
)

READY_LINE = "Ctrl-C stops every service."
START_TIMEOUT_S = 90.0


@dataclass
class RunningStack:
    proc: subprocess.Popen[str]
    ports: dict[str, int]
    var_dir: Path
    stdout: list[str] = field(default_factory=list)
    reader: threading.Thread | None = None
    #: Every descendant ever seen, so the fixture can clean up after a failed test.
    seen: list[Proc] = field(default_factory=list)

    def children(self) -> list[Proc]:
        found = descendants(self.proc.pid)
        self.seen.extend(found)
        return found

    def output(self) -> str:
        return "".join(self.stdout)


def start_up(tmp_path: Path, ports: dict[str, int], persons: int = 300) -> RunningStack:
    var_dir = tmp_path / "var"
    proc = subprocess.Popen(
        [sys.executable, "-m", "stack", "up", "--persons", str(persons), "--var-dir", str(var_dir)],
        cwd=tmp_path,
        env=stack_env(ports),
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    running = RunningStack(proc, ports, var_dir)
    assert proc.stdout is not None
    stream = proc.stdout
    running.reader = threading.Thread(target=lambda: running.stdout.extend(stream), daemon=True)
    running.reader.start()
    return running


def wait_until_ready(stack: RunningStack) -> None:
    """Bounded wait for the table, then every /healthz over real HTTP."""
    deadline = time.monotonic() + START_TIMEOUT_S
    while READY_LINE not in stack.output():
        if stack.proc.poll() is not None or time.monotonic() > deadline:
            stack.proc.kill()
            pytest.fail(f"`lienthong up` did not get ready:\n{stack.output()}")
        time.sleep(0.05)
    with operator_client(stack) as client:
        for name, port in stack.ports.items():
            response = client.get(f"https://127.0.0.1:{port}/healthz")
            assert response.status_code == 200, (name, response.text)


def operator_client(stack: RunningStack) -> httpx.Client:
    """HTTPS as the operator probes: the stack's CA and the gateway's certificate."""
    return httpx.Client(timeout=5, trust_env=False, verify=probe_context(stack.var_dir))


@pytest.fixture
def stack(tmp_path: Path) -> Iterator[RunningStack]:
    ports = free_stack_ports()
    running = start_up(tmp_path, ports)
    try:
        yield running
    finally:
        # Whatever the test did, leave nothing running.
        if running.proc.poll() is None:
            running.children()
            running.proc.kill()
            running.proc.wait()
        for p in running.seen:
            if still_running(p):
                os.kill(p.pid, signal.SIGKILL)
        if running.reader is not None:
            running.reader.join(timeout=10)
        assert running.proc.stdout is not None
        running.proc.stdout.close()
