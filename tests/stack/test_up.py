"""``lienthong up`` as a user runs it: a real subprocess, real ports, real signals.

"No process left behind" is checked from the outside (``tests.stack.procs``): before
stopping the stack the test records every descendant of the ``up`` process; afterwards
none of them may still be running.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from stack.services import SERVICES
from stack.up import (
    Planned,
    StackError,
    check_ports_free,
    plan_services,
    port_in_use,
    up_command,
)
from tests.stack.procs import (
    REPO,
    Proc,
    descendants,
    free_stack_ports,
    open_files,
    stack_env,
    still_running,
    wait_all_gone,
)
from tests.stack.running import RunningStack, operator_client, wait_until_ready

pytestmark = pytest.mark.stack


def test_up_serves_every_service_and_sigterm_leaves_no_process(stack: RunningStack) -> None:
    wait_until_ready(stack)
    children = stack.children()
    for name in SERVICES:
        assert any(f"stack serve {name}" in p.cmdline for p in children), children
    out = stack.output()
    for port in stack.ports.values():
        assert f"https://127.0.0.1:{port}/docs" in out
    for name in SERVICES:
        assert str(stack.var_dir / "log" / f"{name}.log") in out
    assert "lienthong call VN/GOV/BCA/population/persons/" in out

    # The var dir's lock is up's alone: no service inherited it (it would outlive up).
    lock = str((stack.var_dir / ".lienthong.lock").resolve())
    assert lock in open_files(stack.proc.pid)
    for child in children:
        assert lock not in open_files(child.pid), child.cmdline
    # A second `up`, or `seed --force`, is refused in one line and touches nothing.
    db = stack.var_dir / "db" / "population.sqlite3"
    before = db.stat().st_mtime_ns
    for args in (["up"], ["seed", "--force", "--persons", "10"]):
        done = subprocess.run(
            [sys.executable, "-m", "stack", *args, "--var-dir", str(stack.var_dir)],
            cwd=stack.var_dir.parent,
            env=stack_env(stack.ports),
            stdin=subprocess.DEVNULL,
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert done.returncode == 1, args
        assert (done.stdout + done.stderr).strip().splitlines() == [
            f"error: {stack.var_dir}/ is in use by another lienthong up or seed "
            f"(pid {stack.proc.pid}); stop it first"
        ]
    assert db.stat().st_mtime_ns == before
    with operator_client(stack) as client:
        for port in stack.ports.values():
            assert client.get(f"https://127.0.0.1:{port}/healthz").status_code == 200

    stack.proc.send_signal(signal.SIGTERM)
    assert stack.proc.wait(timeout=30) == 0
    # `up` waited for its children before exiting: nothing may remain, not even briefly.
    assert [p for p in children if still_running(p)] == []
    for port in stack.ports.values():
        assert not port_in_use("127.0.0.1", port)
    for name in SERVICES:
        assert (stack.var_dir / "log" / f"{name}.log").stat().st_size > 0


def test_a_service_dying_stops_the_stack_with_exit_code_1(stack: RunningStack) -> None:
    wait_until_ready(stack)
    children = stack.children()
    victim = next(p for p in children if "stack serve business" in p.cmdline)

    os.kill(victim.pid, signal.SIGKILL)

    assert stack.proc.wait(timeout=30) == 1
    assert "error: business exited unexpectedly" in stack.output()
    assert [p for p in children if still_running(p)] == []


def test_a_service_failing_to_start_names_it_and_its_log_and_stops_the_rest(
    tmp_path: Path,
) -> None:
    ports = free_stack_ports()
    env = stack_env(ports)
    env["POPULATION_LOG_LEVEL"] = "no-such-level"  # the service dies configuring its logs
    done = subprocess.run(
        [sys.executable, "-m", "stack", "up", "--persons", "300", "--var-dir", "var"],
        cwd=tmp_path,
        env=env,
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 1
    assert (
        "error: population exited while starting (exit code 1); see var/log/population.log"
        in done.stderr.splitlines()
    )
    assert "Unknown level" in (tmp_path / "var" / "log" / "population.log").read_text()
    for port in ports.values():  # the others were stopped, not left holding their ports
        assert not port_in_use("127.0.0.1", port)


def test_services_die_with_up_even_when_it_is_sigkilled(tmp_path: Path) -> None:
    """The kernel's parent-death signal, as ``up`` arms it in every child it starts.

    A stand-in for ``up`` (cheaper than a whole stack) starts a child exactly as
    ``Supervisor`` does, then is SIGKILLed: no cleanup code of ours can run.
    """
    pid_file = tmp_path / "child.pid"
    parent = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import subprocess, sys, time\n"
            "import functools, os\n"
            "from stack.process import die_with_parent\n"
            "child = subprocess.Popen([sys.executable, '-c', 'import time; time.sleep(60)'],"
            " start_new_session=True,"
            " preexec_fn=functools.partial(die_with_parent, os.getpid()))\n"
            f"open({str(pid_file)!r}, 'w').write(str(child.pid))\n"
            "time.sleep(60)\n",
        ],
        cwd=REPO,
    )
    child: Proc | None = None
    try:
        deadline = time.monotonic() + 30
        while not pid_file.exists() or not pid_file.read_text():
            assert parent.poll() is None and time.monotonic() < deadline
            time.sleep(0.02)
        child = next(p for p in descendants(parent.pid) if p.pid == int(pid_file.read_text()))
        parent.kill()
        parent.wait()
        assert wait_all_gone([child], timeout=10) == []
    finally:
        if parent.poll() is None:
            parent.kill()
            parent.wait()
        if child is not None and still_running(child):
            os.kill(child.pid, signal.SIGKILL)


def test_port_in_use_exits_1_with_one_line_and_starts_nothing(tmp_path: Path) -> None:
    ports = free_stack_ports()
    with socket.socket() as squatter:
        squatter.bind(("127.0.0.1", ports["business"]))
        squatter.listen()
        done = subprocess.run(
            [sys.executable, "-m", "stack", "up", "--var-dir", str(tmp_path / "var")],
            cwd=tmp_path,
            env=stack_env(ports),
            stdin=subprocess.DEVNULL,
            capture_output=True,
            text=True,
            timeout=60,
        )
    assert done.returncode == 1
    assert done.stderr.strip().splitlines() == [
        f"error: port {ports['business']} (business) is already in use; "
        "set BUSINESS_PORT to move it"
    ]
    assert done.stdout == ""
    assert not (tmp_path / "var" / "db").exists()  # nothing seeded, nothing started


@pytest.mark.parametrize("busy", list(SERVICES))
def test_port_in_use_names_the_port_and_the_variable_that_moves_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, busy: str
) -> None:
    ports = free_stack_ports()
    for name, value in stack_env(ports).items():
        monkeypatch.setenv(name, value)
    with socket.socket() as squatter:
        squatter.bind(("127.0.0.1", ports[busy]))
        squatter.listen()
        with pytest.raises(StackError) as caught:
            check_ports_free(plan_services(tmp_path / "var"))
    prefix = SERVICES[busy].env_prefix
    assert str(caught.value) == (
        f"port {ports[busy]} ({busy}) is already in use; set {prefix}PORT to move it"
    )


def test_two_services_on_one_port_is_refused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Every port set explicitly: the defaults may be taken by a developer's running stack.
    ports = free_stack_ports()
    ports["land"] = ports["population"]
    for name, value in stack_env(ports).items():
        monkeypatch.setenv(name, value)
    shared = ports["population"]
    with pytest.raises(StackError, match=f"port {shared} is set for both population and land"):
        check_ports_free(plan_services(tmp_path / "var"))


def test_an_ipv6_host_is_shown_and_polled_in_brackets(tmp_path: Path) -> None:
    spec = SERVICES["population"]
    planned = Planned(spec=spec, host="::1", port=9101, log_path=tmp_path / "p.log")
    assert planned.url == "https://[::1]:9101"
    assert Planned(spec, "127.0.0.1", 9101, tmp_path / "p.log").url == "https://127.0.0.1:9101"


def _up_in_process(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], var_dir: Path
) -> tuple[int, list[str]]:
    """``up_command`` on free ports; its exit code and stderr lines (it must fail early)."""
    ports = free_stack_ports()
    for name, value in stack_env(ports).items():
        monkeypatch.setenv(name, value)
    with pytest.raises(SystemExit) as exit_info:
        up_command(persons=50, var_dir=var_dir)
    code = exit_info.value.code
    assert isinstance(code, int)
    return code, capsys.readouterr().err.strip().splitlines()


def test_a_corrupt_database_is_one_line_naming_the_file_and_the_fix(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    var_dir = tmp_path / "var"
    (var_dir / "db").mkdir(parents=True)
    (var_dir / "db" / "business.sqlite3").write_bytes(b"this is not a database\n" * 200)
    code, lines = _up_in_process(monkeypatch, capsys, var_dir)
    assert code == 1
    assert lines == [
        f"error: cannot read the business database {var_dir / 'db' / 'business.sqlite3'}: "
        "file is not a database; run `lienthong seed --force` to replace it"
    ]


def test_a_var_dir_that_cannot_be_created_is_one_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("")
    code, lines = _up_in_process(monkeypatch, capsys, blocker / "var")
    assert code == 1
    assert len(lines) == 1
    assert lines[0].startswith(f"error: cannot use {blocker / 'var'}: Not a directory;")
    assert "--var-dir" in lines[0]
