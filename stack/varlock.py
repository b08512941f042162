"""One ``lienthong up`` or ``seed`` per var dir at a time: an exclusive lock on a file in it.

Why: ``up`` seeds and then serves the databases under ``var/``; a second ``up`` or a
``seed --force`` alongside it would reseed under the running services, and its failure
clean-up would delete the first one's files. So every command that writes there takes
``<var_dir>/.lienthong.lock`` first, and a second one stops at once with one line.

``flock`` (not a pid file) because the kernel releases it when the holder dies, however it
dies: no stale lock to clean up after a SIGKILL or a crash. The file stays (deleting it
would let two processes hold locks on two different files of the same name); it holds
the holder's pid, for the error message only. The descriptor is opened ``O_CLOEXEC``, so
the services ``up`` starts never inherit it: the lock cannot outlive ``up`` in them.
A forked seeding worker does share it, rightly: it writes the databases too.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
from collections.abc import Iterator
from pathlib import Path

LOCK_NAME = ".lienthong.lock"


class VarDirBusy(Exception):
    """Another ``lienthong up`` or ``seed`` holds the lock of this var dir."""

    def __init__(self, var_dir: Path, pid: int | None) -> None:
        self.var_dir = var_dir
        self.pid = pid
        holder = f" (pid {pid})" if pid is not None else ""
        super().__init__(
            f"{var_dir}/ is in use by another lienthong up or seed{holder}; stop it first"
        )


def lock_path(var_dir: Path) -> Path:
    return var_dir / LOCK_NAME


@contextlib.contextmanager
def var_dir_lock(var_dir: Path) -> Iterator[None]:
    """Hold the exclusive lock of ``var_dir`` (created if missing) for the block.

    Never waits: raises ``VarDirBusy`` naming the holder's pid when the lock is taken, and
    ``OSError`` when ``var_dir`` cannot be created or written.
    """
    var_dir.mkdir(parents=True, exist_ok=True)
    fd = os.open(lock_path(var_dir), os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o644)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise VarDirBusy(var_dir, _read_pid(fd)) from None
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"{os.getpid()}\n".encode(), 0)
        try:
            yield
        finally:
            # Clear the pid before the lock goes, so nobody reads a stale one.
            with contextlib.suppress(OSError):
                os.ftruncate(fd, 0)
    finally:
        os.close(fd)  # releases the lock


def _read_pid(fd: int) -> int | None:
    """The pid the holder wrote, or None (it may not have written it yet)."""
    try:
        text = os.pread(fd, 32, 0).decode("ascii", errors="replace").strip()
    except OSError:
        return None
    return int(text) if text.isdigit() else None
