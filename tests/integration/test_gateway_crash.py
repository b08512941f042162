"""The evidence log survives a gateway killed at random moments under load.

The registries and the TSA run as real processes for the whole test; the gateway is started
(``python -m stack serve gateway``, always on the same var dir, so the same SQLite log),
loaded by several SDK clients, and SIGKILLed at a random moment, ``ROUNDS`` times.

After every kill, read from the log file as an auditor reads it: every answer a client
received whole has its records at the indices its signed receipt names, with the same leaf
hashes; records were only ever appended; the stored tree is the one the records make; every
checkpoint is signed by the log key, over the records' root, and consistent with the one
before. Every restart must pass the gateway's own start-up verification (it refuses a log
that disagrees with its last checkpoint). A last, clean run must sign a checkpoint over the
whole log and get every checkpoint timestamped, with no error logged in any round; the
same audit, run afresh, then passes on that log and fails on a copy with one record changed.

The seed is printed; ``CRASH_SEED=<seed>`` replays the same kill moments.
"""

from __future__ import annotations

import os
import random
import signal
import time
from collections.abc import Sequence
from pathlib import Path

import anyio
import pytest

from core.note import parse_verifier_key
from core.pki import TrustStore
from tests.integration.crash_support import (
    CrashStack,
    LoadResult,
    LogAudit,
    copy_with_record_changed,
    drive_load,
    living_person_ids,
    log_faults,
    log_tail,
    member_client,
    prepare_var_dir,
    read_log,
    stack_settings_env,
    until_exchanges_flow,
)
from tests.stack.procs import free_stack_ports, stack_env

pytestmark = [pytest.mark.stack, pytest.mark.anyio]

#: Kills per run (the issue asks for at least 20 in CI).
ROUNDS = 20
#: How long the load runs before the kill, seconds (uniform).
KILL_AFTER = (0.05, 0.6)
#: SDK clients, each with two lookups in flight.
CLIENTS = 3
#: A checkpoint every 0.2 s, so most rounds sign some between kills.
CHECKPOINT_INTERVAL_S = 0.2


def _seed() -> int:
    chosen = os.environ.get("CRASH_SEED")
    return int(chosen) if chosen else random.SystemRandom().randrange(1 << 32)


async def test_log_keeps_every_acknowledged_exchange_when_the_gateway_is_killed(
    tmp_path: Path,
) -> None:
    seed = _seed()
    print(f"\ngateway crash test: seed {seed} (CRASH_SEED={seed} replays it)")
    rng = random.Random(seed)
    kill_times = [rng.uniform(*KILL_AFTER) for _ in range(ROUNDS)]
    started_at = time.monotonic()
    var_dir = tmp_path / "var"
    ports = free_stack_ports()
    env = stack_settings_env(
        stack_env(ports), ports, var_dir, checkpoint_interval=CHECKPOINT_INTERVAL_S
    )
    prepare_var_dir(tmp_path, var_dir, env)
    persons = living_person_ids(var_dir)
    pki = var_dir / "pki"
    audit = LogAudit(
        var_dir / "db" / "gateway.sqlite3",
        verifier=parse_verifier_key((pki / "log" / "note.vkey").read_text().strip()),
        store=TrustStore.from_files(pki / "ca.crt", pki / "crl.pem"),
    )
    stack = CrashStack(tmp_path, var_dir, ports, env)
    result = LoadResult()
    try:
        backends = [stack.start(name) for name in ("population", "business", "land", "tsa")]
        for service in backends:
            await stack.wait_healthy(service)
        for round_no, kill_after in enumerate(kill_times, start=1):
            await _crash_round(stack, round_no, kill_after, persons, rng, result)
            assert not result.problems, f"seed {seed}: {result.problems}"
            summary = audit.check([r for r in result.received if r.round == round_no])
            print(
                f"round {round_no:2d}: killed after {kill_after:.2f}s; {summary}; "
                f"{len(result.received)} answers, {result.lost} lost in flight"
            )
        await _settle(stack)
    finally:
        stack.close()

    # From scratch: one fresh audit of the whole log and of every answer of every round.
    fresh = LogAudit(audit.db_path, verifier=audit.verifier, store=audit.store)
    summary = fresh.check(result.received, settled=True)
    answered = sum(1 for r in result.received if r.status == 200)
    print(
        f"settled: {summary}; {len(result.received)} answers checked ({answered} OK), "
        f"{result.lost} lost in flight; {time.monotonic() - started_at:.1f}s"
    )
    assert answered >= ROUNDS, "too few exchanges to mean anything"
    # The audit is not vacuous: a record rewritten after the fact is noticed.
    fresh.db_path = tmp_path / "tampered.sqlite3"
    copy_with_record_changed(audit.db_path, fresh.db_path, len(fresh.leaves) // 2)
    with pytest.raises(AssertionError, match="a record checked before changed"):
        fresh.check([])


async def _crash_round(
    stack: CrashStack,
    round_no: int,
    kill_after: float,
    persons: Sequence[str],
    rng: random.Random,
    result: LoadResult,
) -> None:
    """Start the gateway (its start-up verification must pass), load it once exchanges
    flow, and SIGKILL it ``kill_after`` seconds later."""
    gateway = stack.start("gateway", banner=f"round {round_no}")
    await stack.wait_healthy(gateway)
    clients = [member_client(stack) for _ in range(CLIENTS)]
    try:
        await until_exchanges_flow(clients[0], persons, round_no, result)
        killed = anyio.Event()
        async with anyio.create_task_group() as tg:
            tg.start_soon(drive_load, clients, persons, rng, round_no, result, killed)
            await anyio.sleep(kill_after)
            assert gateway.proc.poll() is None, (
                f"round {round_no}: the gateway died before the kill:\n"
                + log_tail(gateway.log_path)
            )
            killed.set()
            os.kill(gateway.proc.pid, signal.SIGKILL)
    finally:
        for client in clients:
            await client.aclose()
    assert gateway.proc.wait(timeout=10) == -signal.SIGKILL


async def _settle(stack: CrashStack) -> None:
    """A last, clean run: the restart verifies the log the last crash left, a checkpoint
    covers every record, every checkpoint gets its token; then a graceful stop, and no
    error in the gateway's log of all rounds."""
    gateway = stack.start("gateway", banner="settle")
    await stack.wait_healthy(gateway)
    db_path = stack.var_dir / "db" / "gateway.sqlite3"
    with anyio.fail_after(30):
        while not read_log(db_path).settled:
            await anyio.sleep(0.1)
    gateway.proc.send_signal(signal.SIGTERM)
    # uvicorn re-raises the signal it handled once shut down: -SIGTERM is a clean stop.
    assert gateway.proc.wait(timeout=15) in (0, -signal.SIGTERM)
    assert "Application shutdown complete" in gateway.log_path.read_text(), log_tail(
        gateway.log_path
    )
    faults = log_faults(gateway.log_path)
    assert not faults, "the gateway logged errors:\n" + "\n".join(faults[:20])
