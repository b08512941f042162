"""A seed stopped by a signal leaves nothing that looks seeded, and no process behind.

Real subprocesses and real signals. To hit a given stage without a test-only hook in the
product and without guessing with sleeps, the test waits for the stage's database file to
appear, freezes the seed with SIGSTOP (the state it then checks is the state the signal
meets), sends the signal and lets it continue (SIGCONT).
"""

from __future__ import annotations

import contextlib
import os
import signal
import sqlite3
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from stack import seed as orchestrator
from stack import seed_state
from tests.stack.procs import (
    Proc,
    descendants,
    free_stack_ports,
    stack_env,
    still_running,
    wait_all_gone,
    wait_for,
)

pytestmark = pytest.mark.stack

#: Sequential seed (below ``PARALLEL_FROM``), its land write lasting a good fraction of 1 s.
SEQUENTIAL = 20_000


def _tables(db: Path) -> set[str]:
    with contextlib.closing(sqlite3.connect(db)) as conn:
        return {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")}


class Seeding:
    """A ``python -m stack <args>`` subprocess and every descendant it was seen with."""

    def __init__(self, tmp_path: Path, *args: str) -> None:
        self.var_dir = tmp_path / "var"
        self.db = self.var_dir / "db"
        ports = free_stack_ports()
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "stack", *args, "--var-dir", str(self.var_dir)],
            cwd=tmp_path,
            env=stack_env(ports),
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        self.seen: list[Proc] = []

    def freeze_when(self, path: Path, timeout: float = 30) -> None:
        """SIGSTOP the seed as soon as ``path`` exists (the stage writing it has begun)."""
        wait_for(f"{path.name} to appear", lambda: path.exists() or self.proc.poll() is not None,
                 timeout)  # fmt: skip
        self.proc.send_signal(signal.SIGSTOP)
        assert self.proc.poll() is None, "the seed ended before the signal could reach it"
        self.seen = descendants(self.proc.pid)
        for p in self.seen:  # the forked worker too: it must not run on while we look
            os.kill(p.pid, signal.SIGSTOP)

    def signal_and_continue(self, sig: int) -> tuple[int, str]:
        """Send ``sig`` to the frozen seed, let it run; its exit code and whole output."""
        self.proc.send_signal(sig)
        for p in self.seen:
            if still_running(p):
                os.kill(p.pid, signal.SIGCONT)
        self.proc.send_signal(signal.SIGCONT)
        out, err = self.proc.communicate(timeout=30)
        return self.proc.returncode, out + err

    def cleanup(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.communicate()
        for p in self.seen:
            if still_running(p):
                os.kill(p.pid, signal.SIGKILL)


@pytest.fixture
def seeding(tmp_path: Path) -> Iterator[list[Seeding]]:
    started: list[Seeding] = []
    yield started
    for s in started:
        s.cleanup()


def test_sigterm_during_the_land_write_removes_every_partial_database(
    tmp_path: Path, seeding: list[Seeding]
) -> None:
    run = Seeding(tmp_path, "seed", "--persons", str(SEQUENTIAL))
    seeding.append(run)
    run.freeze_when(run.db / "land.sqlite3")
    # Population and business are complete (and marked so); land is being written.
    assert "lienthong_seed" in _tables(run.db / "population.sqlite3")
    assert "lienthong_seed" in _tables(run.db / "business.sqlite3")

    code, out = run.signal_and_continue(signal.SIGTERM)

    assert code == 128 + signal.SIGTERM, out
    assert "interrupted: the partly written databases were removed" in out
    assert "Traceback" not in out
    assert not list(run.db.glob("*.sqlite3*"))
    # Nothing is mistaken for seeded afterwards: the next run seeds all three.
    assert orchestrator.ensure_seeded(run.var_dir, 30, seed=1) is True
    assert all(
        seed_state.seed_stamp(url) for url in orchestrator.database_urls(run.var_dir).values()
    )


def test_sighup_during_up_seeding_removes_the_partial_databases_and_starts_nothing(
    tmp_path: Path, seeding: list[Seeding]
) -> None:
    run = Seeding(tmp_path, "up", "--persons", str(SEQUENTIAL))
    seeding.append(run)
    run.freeze_when(run.db / "land.sqlite3")

    code, out = run.signal_and_continue(signal.SIGHUP)

    assert code == 0, out
    assert "received SIGHUP while seeding; removed the partly written databases" in out
    assert "Traceback" not in out and "Ctrl-C stops every service" not in out
    assert not list(run.db.glob("*.sqlite3*"))
    assert wait_all_gone(run.seen, timeout=5) == []


def test_sigterm_during_a_parallel_seed_also_stops_the_forked_worker(
    tmp_path: Path, seeding: list[Seeding]
) -> None:
    run = Seeding(tmp_path, "seed", "--persons", str(orchestrator.PARALLEL_FROM))
    seeding.append(run)
    # The worker (business, land) is forked just before the parent writes the population.
    run.freeze_when(run.db / "population.sqlite3")
    assert len(run.seen) == 1, run.seen

    code, out = run.signal_and_continue(signal.SIGTERM)

    assert code == 128 + signal.SIGTERM, out
    assert wait_all_gone(run.seen, timeout=5) == []
    assert not list(run.db.glob("*.sqlite3*"))  # nor did the worker write any afterwards
    assert "Traceback" not in out


def test_the_forked_worker_dies_with_a_seed_that_is_sigkilled(
    tmp_path: Path, seeding: list[Seeding]
) -> None:
    run = Seeding(tmp_path, "seed", "--persons", str(orchestrator.PARALLEL_FROM))
    seeding.append(run)
    run.freeze_when(run.db / "population.sqlite3")
    assert len(run.seen) == 1, run.seen

    code, _ = run.signal_and_continue(signal.SIGKILL)

    assert code == -signal.SIGKILL
    assert wait_all_gone(run.seen, timeout=5) == []
    # The worker died when the seed did, long before it could reach the land: an orphan
    # would have gone on to write business and land (about 2 s of work) for nobody.
    assert not (run.db / "land.sqlite3").exists()
    # What the killed seed left is not seeded: the next run replaces it.
    assert seed_state.seed_stamp(orchestrator.database_urls(run.var_dir)["population"]) is None
