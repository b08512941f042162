"""``lienthong audit verify``: fetch the whole log, check all of it, compare with the last run.

``verify_log`` pages through the log up to its latest checkpoint while worker processes check
the pages (records, their signatures, leaf hashes) and the checkpoints (note signatures,
timestamp tokens); the main process rebuilds the tree from the leaves in order. Then it
compares the tree with every checkpoint (``auditor.verify.first_mismatch``, ``locate``) and
with the state of the last run, and reports every ``Problem`` found; the first in log order
is the one to name.

Signature checks dominate the cost (an ECDSA verification per record), so they run in a
process pool, one worker per core; small logs are checked in-process, where starting the
pool would cost more than it saves.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import os
from collections import deque
from collections.abc import Callable, Sequence
from concurrent.futures import Executor, ProcessPoolExecutor
from dataclasses import dataclass, field
from multiprocessing import get_all_start_methods, get_context
from typing import Any

from auditor.client import PAGE_SIZE, AuditClient, LogApiError
from auditor.state import AuditState
from auditor.verify import (
    DEFAULT_TIMESTAMP_GRACE,
    CheckpointInvalid,
    LogTree,
    PageResult,
    Problem,
    RecordChecks,
    Trust,
    VerifiedCheckpoint,
    check_checkpoint,
    compare_state,
    first_mismatch,
    first_problem,
    locate,
    served_size,
)
from core.merkle import verify_consistency

#: Below this many records the checks run in-process: shipping pages to workers costs more.
INLINE_BELOW = 2000
#: Checkpoints per task sent to a worker.
CHECKPOINT_BATCH = 64

#: ``progress(done, total)``: records checked so far, of how many.
Progress = Callable[[int, int], None]


@dataclass
class Report:
    """What a run found."""

    size: int = 0
    latest: VerifiedCheckpoint | None = None
    records: int = 0
    signatures: int = 0
    checkpoints: int = 0
    pending_timestamps: int = 0
    problems: list[Problem] = field(default_factory=list)
    tree: LogTree = field(default_factory=LogTree)
    notes: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems

    @property
    def first(self) -> Problem | None:
        return first_problem(self.problems)

    def state(self, origin: str) -> AuditState:
        """The state to keep for the next run (only meaningful when ``ok``)."""
        root = self.latest.root if self.latest else self.tree.root(0)
        return AuditState(origin, self.size, root, bytes(self.tree.leaves[: self.size * 32]))


# -- worker processes ------------------------------------------------------------------------

_checks: RecordChecks | None = None


def _init_worker(material: tuple[bytes, str, dict[int, dt.datetime]]) -> None:
    global _checks  # one set of checks per worker process
    _checks = RecordChecks(Trust.from_portable(material))


def _page_task(raw: bytes, start: int, end: int) -> PageResult:
    if _checks is None:  # pragma: no cover - the initializer always ran
        raise RuntimeError("worker not initialized")
    return _checks.page(raw, start, end)


def _checkpoint_task(
    objects: list[Any], now: dt.datetime, grace: dt.timedelta | None
) -> list[VerifiedCheckpoint | Problem]:
    if _checks is None:  # pragma: no cover - the initializer always ran
        raise RuntimeError("worker not initialized")
    return _check_checkpoints(objects, _checks.trust, now, grace)


def _check_checkpoints(
    objects: Sequence[Any], trust: Trust, now: dt.datetime, grace: dt.timedelta | None
) -> list[VerifiedCheckpoint | Problem]:
    out: list[VerifiedCheckpoint | Problem] = []
    for obj in objects:
        try:
            out.append(check_checkpoint(obj, trust, now=now, grace=grace))
        except CheckpointInvalid as e:
            out.append(Problem.checkpoint(served_size(obj) or 0, str(e)))
    return out


@dataclass
class WorkerPool:
    """Worker processes for the checks; close it (or use ``with``) when done."""

    executor: ProcessPoolExecutor
    workers: int

    def close(self) -> None:
        self.executor.shutdown(wait=True, cancel_futures=True)

    def __enter__(self) -> WorkerPool:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def start_pool(trust: Trust, workers: int | None = None) -> WorkerPool | None:
    """A pool of ``workers`` processes (default: one per core) checking against ``trust``;
    None for one worker. Call it *before* an event loop or any thread starts: the workers
    are forked from this process (they inherit its imports, so they start in milliseconds),
    and all of them are made now, while forking is safe."""
    count = workers if workers is not None else (os.cpu_count() or 1)
    if count <= 1:
        return None
    method = "fork" if "fork" in get_all_start_methods() else "spawn"
    pool = ProcessPoolExecutor(
        max_workers=count,
        mp_context=get_context(method),
        initializer=_init_worker,
        initargs=(trust.material(),),
    )
    for _ in range(count):  # start every worker now, before anything else runs
        pool.submit(_ready).result()
    return WorkerPool(pool, count)


def _ready() -> bool:
    return _checks is not None


class _Checker:
    """Runs checks in the pool, or in-process when there is none or the log is small."""

    def __init__(self, trust: Trust, pool: WorkerPool | None) -> None:
        self.trust = trust
        self.pool: Executor | None = pool.executor if pool else None
        self.local = RecordChecks(trust) if pool is None else None

    async def page(self, raw: bytes, start: int, end: int) -> PageResult:
        if self.local is not None:
            return self.local.page(raw, start, end)
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self.pool, _page_task, raw, start, end)

    async def checkpoints(
        self, objects: list[Any], now: dt.datetime, grace: dt.timedelta | None
    ) -> list[VerifiedCheckpoint | Problem]:
        if self.local is not None:
            return _check_checkpoints(objects, self.trust, now, grace)
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self.pool, _checkpoint_task, objects, now, grace)


# -- the run ---------------------------------------------------------------------------------


async def verify_log(
    client: AuditClient,
    trust: Trust,
    *,
    now: dt.datetime,
    state: AuditState | None = None,
    pool: WorkerPool | None = None,
    grace: dt.timedelta | None = DEFAULT_TIMESTAMP_GRACE,
    progress: Progress | None = None,
) -> Report:
    """Verify the whole log as ``client`` serves it, up to its latest checkpoint."""
    report = Report()
    latest_obj = await client.checkpoint()
    if latest_obj is None:
        if state is not None and state.size > 0:
            report.problems.append(
                Problem.log(f"the log has no checkpoint, but the last run saw {state.size} records")
            )
        return report
    target = served_size(latest_obj)
    if target is None:
        report.problems.append(Problem.log("the latest checkpoint has no size"))
        return report
    report.size = target
    history = await client.checkpoints(upto=target)
    if not any(served_size(c) == target for c in history):
        history.append(latest_obj)  # a log that does not list its latest: check it anyway
    if progress is not None:
        progress(0, target)

    checker = _Checker(trust, pool if target >= INLINE_BELOW else None)
    in_flight = 2 * pool.workers + 1 if pool else 1
    checkpoint_jobs = [
        asyncio.ensure_future(checker.checkpoints(history[i : i + CHECKPOINT_BATCH], now, grace))
        for i in range(0, len(history), CHECKPOINT_BATCH)
    ]
    try:
        await _check_entries(client, checker, report, target, in_flight, progress)
        checked = [item for job in checkpoint_jobs for item in await job]
    finally:
        for job in checkpoint_jobs:
            job.cancel()

    verified = _checkpoint_results(history, checked, report)
    report.latest = next((c for c in verified if c.size == target), None)
    await _check_tree(client, report, verified)
    if state is not None:
        await _check_state(client, trust, report, state)
    return report


async def _check_entries(
    client: AuditClient,
    checker: _Checker,
    report: Report,
    target: int,
    in_flight: int,
    progress: Progress | None,
) -> None:
    pending: deque[asyncio.Future[PageResult]] = deque()
    contiguous = True

    def take(result: PageResult) -> None:
        nonlocal contiguous
        report.problems.extend(result.problems)
        report.records += result.records
        report.signatures += result.signatures
        if contiguous and result.start == report.tree.size:
            report.tree.extend(result.leaves)
        contiguous = contiguous and result.complete
        if progress is not None:
            progress(report.records, target)

    try:
        for start in range(0, target, PAGE_SIZE):
            end = min(target, start + PAGE_SIZE)
            try:
                raw = await client.entries_raw(start, end)
            except LogApiError as e:
                if e.status != 400:  # not "beyond the log": the API failed, nothing to judge
                    raise
                held = e.log_size
                if held is not None and start < held < end:
                    raw = await client.entries_raw(start, held)
                    pending.append(asyncio.ensure_future(checker.page(raw, start, held)))
                missing = max(start, held) if held is not None else start
                report.problems.append(
                    Problem.record(missing, f"missing: the log does not serve it ({e.type})")
                )
                break
            pending.append(asyncio.ensure_future(checker.page(raw, start, end)))
            while len(pending) >= in_flight:
                take(await pending.popleft())
        while pending:
            take(await pending.popleft())
    finally:
        for job in pending:
            job.cancel()


def _checkpoint_results(
    history: Sequence[Any], checked: Sequence[VerifiedCheckpoint | Problem], report: Report
) -> list[VerifiedCheckpoint]:
    verified: list[VerifiedCheckpoint] = []
    last = -1
    for obj, result in zip(history, checked, strict=True):
        size = served_size(obj)
        if size is not None and size <= last:
            report.problems.append(Problem.checkpoint(size, "checkpoints are not in size order"))
        last = max(last, size if size is not None else last)
        if isinstance(result, Problem):
            report.problems.append(result)
            continue
        verified.append(result)
        if result.timestamp is None:
            report.pending_timestamps += 1
    report.checkpoints = len(verified)
    return verified


async def _check_tree(
    client: AuditClient, report: Report, verified: Sequence[VerifiedCheckpoint]
) -> None:
    good, bad = first_mismatch(report.tree, verified)
    if bad is None:
        return

    async def prove(m: int, n: int) -> list[bytes] | None:
        try:
            return await client.consistency(m, n)
        except LogApiError:
            return None

    index = await locate(report.tree, bad, prove, known_good=good.size if good else 0)
    report.problems.append(
        Problem.record(
            index,
            f"the record is not the one checkpoint {bad.size} commits to (its leaf "
            "is the first that breaks the checkpoint's root)",
        )
    )


async def _check_state(
    client: AuditClient, trust: Trust, report: Report, state: AuditState
) -> None:
    if state.origin != trust.origin:
        report.problems.append(
            Problem.log(f"the state is of log {state.origin!r}, not {trust.origin!r}")
        )
        return
    if state.leaves_problem:
        report.notes.append(state.leaves_problem)
    problem = compare_state(
        report.tree, size=state.size, root=state.root, leaves=state.leaves, log_size=report.size
    )
    if problem is not None:
        report.problems.append(problem)
    latest = report.latest
    if latest is None or not 0 < state.size <= latest.size:
        return
    try:
        proof = await client.consistency(state.size, latest.size)
    except LogApiError as e:
        report.problems.append(
            Problem.checkpoint(
                latest.size,
                f"no consistency proof from the last run's size {state.size} ({e.type})",
            )
        )
        return
    if not verify_consistency(state.size, latest.size, state.root, latest.root, proof):
        report.problems.append(
            Problem.checkpoint(
                latest.size,
                f"the log's consistency proof from the last run's tree ({state.size} records) "
                "does not verify",
            )
        )
