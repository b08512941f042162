"""The var dir's lock: one ``up`` or ``seed`` at a time, released however its holder ends."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest
import typer

from stack import seed as orchestrator
from stack.varlock import VarDirBusy, lock_path, var_dir_lock
from tests.stack.procs import REPO, free_stack_ports, stack_env, wait_for

#: Prints where each open file descriptor of the process points, one per line.
LIST_FDS = """
import os
for fd in os.listdir("/proc/self/fd"):
    try:
        print(os.readlink(f"/proc/self/fd/{fd}"))
    except OSError:  # the listing's own descriptor, closed by now
        pass
"""


def _busy_message(var_dir: Path, pid: int) -> str:
    return f"{var_dir}/ is in use by another lienthong up or seed (pid {pid}); stop it first"


def test_a_second_holder_is_refused_with_the_first_holders_pid(tmp_path: Path) -> None:
    var_dir = tmp_path / "new" / "var"
    with var_dir_lock(var_dir):
        assert var_dir.is_dir()  # created on demand
        assert lock_path(var_dir).read_text() == f"{os.getpid()}\n"
        with pytest.raises(VarDirBusy) as busy, var_dir_lock(var_dir):
            pytest.fail("the lock was taken twice")
        assert busy.value.pid == os.getpid()
        assert str(busy.value) == _busy_message(var_dir, os.getpid())
    with var_dir_lock(var_dir):  # released on exit: free again
        pass


def test_the_lock_is_released_when_its_holder_is_sigkilled(tmp_path: Path) -> None:
    var_dir = tmp_path / "var"
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import sys, time\n"
            "from pathlib import Path\n"
            "from stack.varlock import var_dir_lock\n"
            f"with var_dir_lock(Path({str(var_dir)!r})):\n"
            "    print('locked', flush=True)\n"
            "    time.sleep(60)\n",
        ],
        cwd=REPO,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout is not None
        assert holder.stdout.readline() == "locked\n"
        with pytest.raises(VarDirBusy, match=f"pid {holder.pid}"), var_dir_lock(var_dir):
            pass
        holder.kill()
        holder.wait(timeout=10)
        with var_dir_lock(var_dir):  # no stale lock after a SIGKILL
            pass
    finally:
        if holder.poll() is None:
            holder.kill()
            holder.wait()
        assert holder.stdout is not None
        holder.stdout.close()


def test_programs_run_while_the_lock_is_held_do_not_inherit_it(tmp_path: Path) -> None:
    var_dir = tmp_path / "var"
    control = tmp_path / "inherited"
    with var_dir_lock(var_dir), control.open("w") as inheritable:
        os.set_inheritable(inheritable.fileno(), True)
        # Even a child started without close_fds: the lock's descriptor is close-on-exec.
        listing = subprocess.run(
            [sys.executable, "-c", LIST_FDS],
            close_fds=False, capture_output=True, text=True, check=True, timeout=30,
        )  # fmt: skip
    open_in_child = listing.stdout.splitlines()
    assert str(control) in open_in_child  # the listing does see what a child inherits
    assert str(lock_path(var_dir)) not in open_in_child


def test_seed_commands_refuse_a_locked_var_dir_in_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    with var_dir_lock(tmp_path):
        with pytest.raises(typer.Exit) as refused:
            orchestrator.seed_command(persons=20, seed=1, var_dir=tmp_path, force=True)
        assert refused.value.exit_code == 1
        assert capsys.readouterr().out.splitlines() == [
            "error: " + _busy_message(tmp_path, os.getpid())
        ]
        with pytest.raises(typer.Exit) as refused:
            orchestrator.seed_if_empty_command(persons=20, seed=1, var_dir=tmp_path)
        assert refused.value.exit_code == 1
        assert capsys.readouterr().out.splitlines() == [
            "error: " + _busy_message(tmp_path, os.getpid())
        ]
    assert not (tmp_path / "db").exists()
    orchestrator.seed_if_empty_command(persons=20, seed=1, var_dir=tmp_path)
    assert capsys.readouterr().out.splitlines()[-1] == "seeded"


def test_up_refuses_a_locked_var_dir_in_one_line_before_checking_ports(tmp_path: Path) -> None:
    var_dir = tmp_path / "var"
    ports = free_stack_ports()
    with var_dir_lock(var_dir):
        done = subprocess.run(
            [sys.executable, "-m", "stack", "up", "--var-dir", str(var_dir)],
            cwd=tmp_path, env=stack_env(ports), stdin=subprocess.DEVNULL,
            capture_output=True, text=True, timeout=60,
        )  # fmt: skip
    assert done.returncode == 1
    assert done.stderr.splitlines() == ["error: " + _busy_message(var_dir, os.getpid())]
    assert done.stdout == ""
    assert not (var_dir / "db").exists()


def test_a_lock_holder_that_writes_no_pid_yet_is_reported_without_one(tmp_path: Path) -> None:
    with var_dir_lock(tmp_path):
        lock_path(tmp_path).write_text("")  # as if the holder had not written it yet
        with pytest.raises(VarDirBusy) as busy, var_dir_lock(tmp_path):
            pass
    assert busy.value.pid is None
    assert "(pid" not in str(busy.value)


def test_signals_during_the_block_raise_stopped_once_and_handlers_come_back() -> None:
    from stack.process import Stopped, signals_raise

    before = signal.getsignal(signal.SIGTERM)
    with pytest.raises(Stopped) as stopped, signals_raise():
        os.kill(os.getpid(), signal.SIGHUP)
        wait_for("the signal", lambda: False, timeout=5)
    assert stopped.value.signum == signal.SIGHUP and stopped.value.exit_code == 129
    assert signal.getsignal(signal.SIGTERM) is before
    with signals_raise():  # a second signal while cleaning up is noted, not raised
        with pytest.raises(Stopped):
            os.kill(os.getpid(), signal.SIGTERM)
            wait_for("the signal", lambda: False, timeout=5)
        os.kill(os.getpid(), signal.SIGTERM)
        os.kill(os.getpid(), signal.SIGHUP)
    assert signal.getsignal(signal.SIGTERM) is before
