"""The evidence-log scenarios: the sequencer, ``lienthong audit verify``, inclusion proofs.

Three questions about the evidence log, each answered by the real code path:

- **log**: how many *durable* appends per second does the gateway's sequencer sustain?
  ``RecordWriter`` on a fresh SQLite file opened as the gateway opens it (WAL,
  ``synchronous=FULL``), the gateway's default group-commit window, many concurrent
  submitters appending real ``accepted``/``answered`` records (made beforehand, so only the
  sequencer is measured);
- **audit**: how fast does an auditor verify a large log? The real ``lienthong audit verify``
  as a subprocess against a real gateway (``python -m stack serve gateway``) serving a kept
  log of real records (``bench.logdata``), signatures, checkpoints and timestamps included;
- **proofs**: how long does the auditor API take to prove one entry of that log? The load
  generator sends ``GET /audit/proof/inclusion`` for random indices with the auditor's
  certificate, at concurrency 1 and 16; ``LogStore.inclusion`` alone is timed in-process.

How to call them (from ``bench.__main__``, or ``python -m bench.evidence``)::

    log_scenario(appends=200_000, submitters=256, var_root=DEFAULT_VAR_ROOT) -> dict
    with evidence_gateway(records=1_000_000, var_root=DEFAULT_VAR_ROOT) as gw:
        audit_scenario(gw) -> dict
        proofs_scenario(gw, requests=5_000, concurrencies=(1, 16)) -> dict

``evidence_gateway`` builds the log once (minutes at a million records; kept in
``var/bench/log-<records>/`` and reused) and starts one gateway on it for both scenarios.
Every result is JSON-ready and carries the CPU time next to the wall time: the machine is
shared, so ratios and CPU say more than absolutes.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import functools
import json
import os
import random
import re
import resource
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any

import httpx
import typer
import uvloop

from bench import load
from bench.exchange import figures
from bench.logdata import (
    COMMIT_WINDOW_MS,
    DEFAULT_VAR_ROOT,
    LogDir,
    ensure_log,
    make_exchanges,
)
from bench.stack import cpu_seconds, free_ports
from certs.authority import Authority
from certs.dev import AUDITOR_ID, ensure_dev_pki
from core.db import make_engine
from core.tls import client_context
from gateway.log import LogStore
from gateway.models import metadata
from gateway.records import EvidenceKeys, PendingRecord, RecordWriter
from stack.process import die_with_parent
from stack.services import SERVICES
from stack.up import probe_context

REPO = Path(__file__).resolve().parents[1]

#: Targets on the 2-core bench machine (issue 5).
TARGET_APPENDS_PER_S = 20_000
TARGET_AUDIT_RECORDS_PER_S = 10_000
TARGET_PROOF_P99_MS = 5.0

#: How long a gateway may take to start on a large log (it recomputes the whole tree first).
START_TIMEOUT_S = 600.0
STOP_GRACE_S = 10.0
_OK_LINE = re.compile(r"ok: (\d+) records, (\d+) signatures, (\d+) checkpoints")


def _children_cpu() -> float:
    r = resource.getrusage(resource.RUSAGE_CHILDREN)
    return r.ru_utime + r.ru_stime


def _own_cpu() -> float:
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime


def _ms(seconds: Sequence[float], q: float) -> float:
    ordered = sorted(seconds)
    if not ordered:
        return 0.0
    return round(ordered[min(len(ordered) - 1, int(q * len(ordered)))] * 1000, 3)


# -- 1. the sequencer ------------------------------------------------------------------------


def log_scenario(
    *,
    appends: int = 200_000,
    submitters: int = 256,
    var_root: Path = DEFAULT_VAR_ROOT,
    window_ms: float = COMMIT_WINDOW_MS,
) -> dict[str, Any]:
    """Durable appends per second of ``RecordWriter`` with ``submitters`` concurrent tasks.

    ``appends`` records (half ``accepted``, half ``answered``, each with its sealed JWS) are
    made first on every core; then each submitter takes one exchange at a time, queues its
    ``accepted`` record, appends its ``answered`` record and waits for both to be durable
    (the gateway now submits the two together, which can only make batches larger).
    Latency is from queueing a record to its future resolving.
    The database is a fresh file under ``var_root`` (the disk a gateway would use, not a
    tmpfs that makes fsync free).
    """
    var_root.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="log-scenario-", dir=var_root) as tmp:
        root = Path(tmp)
        pki = root / "pki"
        ensure_dev_pki(pki)
        keys = EvidenceKeys.load_or_create(root / "gateway")
        made = time.perf_counter()
        records = make_exchanges(pki, keys, max(1, appends // 2))
        prepare_s = time.perf_counter() - made
        engine = make_engine(f"sqlite:///{root / 'gateway.sqlite3'}", synchronous="FULL")
        try:
            metadata.create_all(engine)
            writer = RecordWriter(engine, window_s=window_ms / 1000)
            with asyncio.Runner(loop_factory=uvloop.new_event_loop) as runner:
                run = runner.run(_submit_all(writer, records, submitters))
            db_bytes = sum(p.stat().st_size for p in root.glob("gateway.sqlite3*"))
        finally:
            engine.dispose()
    return {
        "writer": "gateway.records",
        "appends": run.appended,
        "submitters": submitters,
        "window_ms": window_ms,
        "seconds": round(run.seconds, 3),
        "appends_per_s": round(run.appended / run.seconds, 1),
        "commits": run.commits,
        "mean_batch": round(run.appended / run.commits, 1) if run.commits else 0.0,
        "cpu_s": round(run.cpu_s, 3),
        "cpu_us_per_append": round(run.cpu_s / run.appended * 1e6, 1),
        "p50_ms": _ms(run.latencies, 0.50),
        "p99_ms": _ms(run.latencies, 0.99),
        "prepare_s": round(prepare_s, 1),
        "db_bytes": db_bytes,
        "target_appends_per_s": TARGET_APPENDS_PER_S,
        "meets_target": run.appended / run.seconds >= TARGET_APPENDS_PER_S,
    }


@dataclass
class _Run:
    appended: int
    commits: int
    seconds: float
    cpu_s: float
    latencies: list[float]


async def _submit_all(
    writer: RecordWriter, records: Sequence[PendingRecord], submitters: int
) -> _Run:
    pairs = [(records[i], records[i + 1]) for i in range(0, len(records) - 1, 2)]
    pairs.reverse()  # popped from the end: taken in order
    latencies: list[float] = []

    def timed(fut: asyncio.Future[Any], t0: float) -> None:
        fut.add_done_callback(lambda _f: latencies.append(time.perf_counter() - t0))

    async def submitter() -> None:
        while pairs:
            accepted, answered = pairs.pop()
            t0 = time.perf_counter()
            queued = writer.submit([accepted])
            timed(queued, t0)
            t1 = time.perf_counter()
            done = writer.submit([answered])
            timed(done, t1)
            await done
            await queued

    await writer.start()
    try:
        cpu0, t0 = _own_cpu(), time.perf_counter()
        await asyncio.gather(*(submitter() for _ in range(submitters)))
        seconds, cpu = time.perf_counter() - t0, _own_cpu() - cpu0
    finally:
        await writer.stop()
    return _Run(writer.appended, writer.commits, seconds, cpu, latencies)


# -- a gateway on a kept log -----------------------------------------------------------------


@dataclass
class EvidenceGateway:
    """A gateway serving a kept log: its URL, process, and the log it serves."""

    log: LogDir
    proc: subprocess.Popen[bytes]
    port: int
    #: Seconds from launch to ``/healthz`` (the start-up check recomputes the whole tree).
    start_s: float

    @property
    def url(self) -> str:
        return f"https://127.0.0.1:{self.port}"

    @property
    def pki(self) -> Path:
        return self.log.pki

    def cpu(self) -> float:
        """CPU seconds the gateway process has used so far."""
        return cpu_seconds(self.proc.pid)


def _gateway_env(log: LogDir, port: int, public_port: int) -> dict[str, str]:
    """The gateway's settings for a kept log: its var dir, free ports, nothing else to call.

    No TSA and no providers: every checkpoint of the log is timestamped already, the log
    does not grow while it is audited, and the catalogue is not needed to serve the auditor.
    """
    prefixes = tuple(spec.env_prefix for spec in SERVICES.values())
    env = {k: v for k, v in os.environ.items() if not k.startswith(prefixes)}
    env.update(
        {
            "GATEWAY_VAR_DIR": str(log.var_dir.resolve()),
            "GATEWAY_PORT": str(port),
            "GATEWAY_PUBLIC_PORT": str(public_port),
            "GATEWAY_TSA_URL": "",
            "GATEWAY_PROVIDERS": "{}",
            "PYTHONUNBUFFERED": "1",
        }
    )
    return env


@contextlib.contextmanager
def evidence_gateway(
    records: int = 1_000_000, var_root: Path = DEFAULT_VAR_ROOT
) -> Iterator[EvidenceGateway]:
    """The kept log of ``records`` records (built if missing) served by a gateway process.

    The gateway is ``python -m stack serve gateway`` with ``GATEWAY_*`` pointing at the
    log's var dir; its output goes to ``<var dir>/log/gateway.log``. Stopped on exit.
    """
    log = ensure_log(records, var_root)
    port, public_port = free_ports(2)
    (log.var_dir / "log").mkdir(exist_ok=True)
    output = (log.var_dir / "log" / "gateway.log").open("ab")
    started = time.perf_counter()
    proc = subprocess.Popen(
        [sys.executable, "-m", "stack", "serve", "gateway"],
        cwd=REPO,
        env=_gateway_env(log, port, public_port),
        stdin=subprocess.DEVNULL,
        stdout=output,
        stderr=subprocess.STDOUT,
        # Only prctl and getppid: async-signal-safe enough (as ``stack.up`` starts services).
        preexec_fn=functools.partial(die_with_parent, os.getpid()),
    )
    try:
        gw = EvidenceGateway(log, proc, port, 0.0)
        _wait_healthy(gw)
        gw.start_s = round(time.perf_counter() - started, 1)
        yield gw
    finally:
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(timeout=STOP_GRACE_S)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        output.close()


def _wait_healthy(gw: EvidenceGateway) -> None:
    deadline = time.monotonic() + START_TIMEOUT_S
    with httpx.Client(timeout=2.0, trust_env=False, verify=probe_context(gw.log.var_dir)) as c:
        while True:
            if gw.proc.poll() is not None:
                log = gw.log.var_dir / "log" / "gateway.log"
                raise RuntimeError(f"the gateway exited while starting; see {log}")
            with contextlib.suppress(httpx.HTTPError):
                if c.get(f"{gw.url}/healthz").status_code == 200:
                    return
            if time.monotonic() > deadline:
                raise RuntimeError(f"the gateway did not start within {START_TIMEOUT_S:.0f} s")
            time.sleep(0.2)


# -- 2. lienthong audit verify ---------------------------------------------------------------


def audit_scenario(gw: EvidenceGateway, *, workers: int | None = None) -> dict[str, Any]:
    """Run ``lienthong audit verify`` against ``gw`` as the auditor; it must exit 0.

    ``workers`` is passed as ``--workers`` (default: the CLI's own, one per core). The
    auditor's CPU is its process tree's (``RUSAGE_CHILDREN``: the CLI and its worker pool),
    the gateway's is read from ``/proc``. A failed verification raises ``RuntimeError``.
    """
    cmd = [sys.executable, "-m", "stack", "audit", "verify", "--url", gw.url, "--pki", str(gw.pki)]
    if workers is not None:
        cmd += ["--workers", str(workers)]
    env = {k: v for k, v in os.environ.items() if not k.startswith("LIENTHONG_")}
    gateway0, auditor0, t0 = gw.cpu(), _children_cpu(), time.perf_counter()
    done = subprocess.run(cmd, cwd=REPO, env=env, capture_output=True, text=True, check=False)
    wall = time.perf_counter() - t0
    auditor_cpu, gateway_cpu = _children_cpu() - auditor0, gw.cpu() - gateway0
    found = _OK_LINE.search(done.stdout)
    if done.returncode != 0 or found is None:
        raise RuntimeError(
            f"`lienthong audit verify` did not verify the log (exit {done.returncode}):\n"
            f"{done.stdout[-2000:]}{done.stderr[-2000:]}"
        )
    verified, signatures, checkpoints = (int(g) for g in found.groups())
    if verified != gw.log.records:
        raise RuntimeError(f"the auditor verified {verified} records of {gw.log.records}")
    return {
        "records": verified,
        "signatures": signatures,
        "checkpoints": checkpoints,
        "seconds": round(wall, 2),
        "records_per_s": round(verified / wall, 1),
        "cpu_s": {"auditor": round(auditor_cpu, 2), "gateway": round(gateway_cpu, 2)},
        "cpu_us_per_record": {
            "auditor": round(auditor_cpu / verified * 1e6, 1),
            "gateway": round(gateway_cpu / verified * 1e6, 1),
        },
        "gateway_start_s": gw.start_s,
        "log": {"built": gw.log.built, **gw.log.stamp},
        "target_records_per_s": TARGET_AUDIT_RECORDS_PER_S,
        "meets_target": verified / wall >= TARGET_AUDIT_RECORDS_PER_S,
    }


# -- 3. inclusion proofs ---------------------------------------------------------------------


def proofs_scenario(
    gw: EvidenceGateway,
    *,
    requests: int = 5_000,
    concurrencies: Sequence[int] = (1, 16),
    in_process: int = 20_000,
    seed: int = 5,
) -> dict[str, Any]:
    """Latency of ``GET /audit/proof/inclusion`` for random indices under the latest
    checkpoint, at each concurrency (``requests`` each, 10% more as warm-up), and of
    ``LogStore.inclusion`` alone in this process (``in_process`` calls, fresh store)."""
    engine = make_engine(gw.log.db_url)
    try:
        latest = LogStore(engine).latest()
        if latest is None:
            raise RuntimeError("the log has no checkpoint")
        size = latest.size
        rng = random.Random(seed)
        local = _inclusion_in_process(LogStore(engine), size, in_process, rng)
    finally:
        engine.dispose()
    cert, key = Authority(gw.pki).member_paths(AUDITOR_ID)
    ctx = client_context(ca=gw.pki / "ca.crt", cert=cert, key=key)
    runs: dict[str, Any] = {}
    for concurrency in concurrencies:
        warmup = max(concurrency, requests // 10)
        prepared = [
            load.Prepared("GET", f"{gw.url}/audit/proof/inclusion?index={i}&size={size}", {})
            for i in (rng.randrange(size) for _ in range(requests + warmup))
        ]
        before: list[float] = []

        def started(before: list[float] = before) -> None:
            before.append(gw.cpu())

        outcome = asyncio.run(
            load.run(
                prepared, concurrency=concurrency, ssl_context=ctx, warmup=warmup, on_start=started
            )
        )
        runs[f"c{concurrency}"] = figures(outcome, {"gateway": gw.cpu() - before[0]})
    headline = runs[f"c{min(concurrencies)}"]["p99_ms"]
    return {
        "size": size,
        **runs,
        "in_process": local,
        "p99_ms": headline,
        "target_p99_ms": TARGET_PROOF_P99_MS,
        "meets_target": {k: v["p99_ms"] <= TARGET_PROOF_P99_MS for k, v in runs.items()},
    }


def _inclusion_in_process(
    store: LogStore, size: int, calls: int, rng: random.Random
) -> dict[str, Any]:
    """``LogStore.inclusion`` for random indices: per-call latency, from a cold cache."""
    times: list[float] = []
    cpu0, t0 = _own_cpu(), time.perf_counter()
    for _ in range(calls):
        index = rng.randrange(size)
        t = time.perf_counter()
        store.inclusion(index, size)
        times.append(time.perf_counter() - t)
    wall, cpu = time.perf_counter() - t0, _own_cpu() - cpu0
    return {
        "calls": calls,
        "calls_per_s": round(calls / wall, 1),
        "p50_ms": _ms(times, 0.50),
        "p99_ms": _ms(times, 0.99),
        "cpu_us_per_call": round(cpu / calls * 1e6, 1),
    }


# -- python -m bench.evidence ----------------------------------------------------------------

cli = typer.Typer(add_completion=False, pretty_exceptions_enable=False)


@cli.command()
def main(
    scenarios: Annotated[
        list[str] | None, typer.Argument(help="log, audit, proofs [all three].")
    ] = None,
    records: Annotated[int, typer.Option(help="Records in the audited log.")] = 1_000_000,
    appends: Annotated[int, typer.Option(help="Appends in the log scenario.")] = 200_000,
    var_root: Annotated[Path, typer.Option(help="Where kept logs live.")] = DEFAULT_VAR_ROOT,
) -> None:
    """Run the evidence scenarios on their own and print their JSON."""
    wanted = scenarios or ["log", "audit", "proofs"]
    out: dict[str, Any] = {"started": dt.datetime.now(dt.UTC).isoformat()}
    if "log" in wanted:
        out["log"] = log_scenario(appends=appends, var_root=var_root)
        print(json.dumps(out["log"], indent=2), flush=True)
    if "audit" in wanted or "proofs" in wanted:
        with evidence_gateway(records, var_root) as gw:
            if "audit" in wanted:
                out["audit"] = audit_scenario(gw)
                print(json.dumps(out["audit"], indent=2), flush=True)
            if "proofs" in wanted:
                out["proofs"] = proofs_scenario(gw)
                print(json.dumps(out["proofs"], indent=2), flush=True)


if __name__ == "__main__":
    cli()
