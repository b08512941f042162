"""Process plumbing shared by ``up`` and ``seed``: dying with the parent, signals as exceptions.

Both commands start children (``up`` its services, a large ``seed`` a forked writer) and
both must leave nothing behind however they end. Two tools serve that:

- ``die_with_parent`` asks the kernel to SIGTERM the calling process when its parent dies,
  even by SIGKILL, when no clean-up code of ours can run (``PR_SET_PDEATHSIG``, Linux);
- ``signals_raise`` turns SIGTERM and SIGHUP into a ``Stopped`` exception for the duration
  of a block, so the ``except``/``finally`` clean-up that already runs on Ctrl-C
  (``KeyboardInterrupt``) also runs when a supervisor, ``kill`` or a closing terminal
  stops us. Python's default for those signals is to die on the spot, mid-write.
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import signal
import threading
from collections.abc import Iterator
from types import FrameType
from typing import Any

_PR_SET_PDEATHSIG = 1  # from <linux/prctl.h>

#: The signals that ask a process to stop; SIGINT already raises ``KeyboardInterrupt``.
STOP_SIGNALS = (signal.SIGTERM, signal.SIGHUP)


class Stopped(BaseException):
    """A stop signal arrived; raised where the main thread was, like ``KeyboardInterrupt``.

    A ``BaseException`` for the same reason ``KeyboardInterrupt`` is one: an ``except
    Exception`` somewhere in the work must not swallow a request to stop.
    """

    def __init__(self, signum: int) -> None:
        self.signum = signum
        self.signame = signal.Signals(signum).name
        super().__init__(f"received {self.signame}")

    @property
    def exit_code(self) -> int:
        """The shell's convention for "ended by signal N": 128 + N."""
        return 128 + self.signum


def die_with_parent(parent_pid: int | None = None) -> None:  # pragma: no cover - in children
    """Have the kernel SIGTERM this process when its parent dies, however the parent dies.

    Call it in the child (a ``preexec_fn``, or first thing in a forked worker), passing the
    parent's pid read *before* the fork: if the parent died in between, the child is
    already an orphan, nobody would ever signal it, so it exits at once.
    """
    expected = os.getppid() if parent_pid is None else parent_pid
    with contextlib.suppress(OSError, AttributeError):
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(_PR_SET_PDEATHSIG, signal.SIGTERM, 0, 0, 0)
    if os.getppid() != expected:
        os._exit(1)


@contextlib.contextmanager
def signals_raise(signals: tuple[signal.Signals, ...] = STOP_SIGNALS) -> Iterator[None]:
    """Within the block, the first of ``signals`` raises ``Stopped`` in the main thread.

    Later signals are only noted, so a second ``kill`` cannot interrupt the clean-up the
    first one started. The previous handlers come back on exit. Outside the main thread
    (where Python cannot install handlers) this does nothing.
    """
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    raised = False

    def handler(signum: int, _frame: FrameType | None) -> None:
        nonlocal raised
        if not raised:
            raised = True
            raise Stopped(signum)

    previous: dict[signal.Signals, Any] = {}
    try:
        for sig in signals:
            previous[sig] = signal.signal(sig, handler)
        yield
    finally:
        for sig, old in previous.items():
            signal.signal(sig, old)


def default_signals(signals: tuple[signal.Signals, ...] = STOP_SIGNALS) -> None:
    """Back to the default action (die) for ``signals``: for a forked worker.

    A fork inherits the parent's Python handlers; a worker whose parent cleans up after it
    should rather die at once when told to than raise and report.
    """
    for sig in signals:
        signal.signal(sig, signal.SIG_DFL)
