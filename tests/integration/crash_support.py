"""The machinery of the gateway crash test: real processes, load from the SDK, a log audit.

- ``CrashStack`` runs services as ``python -m stack serve <name>`` in a temporary var dir,
  each in its own session (and told to die with the test process), and leaves none
  running: ``close`` SIGKILLs every process group it started and waits for each.
- ``drive_load`` keeps several ``AsyncGatewayClient``s busy with one-stop person lookups
  until told to stop, and keeps every answer that arrived whole (``Received``).
- ``LogAudit`` opens the gateway's SQLite file read-only and checks the log from the
  records up: records append-only and numbered from 0; the stored tree nodes exactly those
  the records make; every received answer's records at the indices its signed receipt
  names, with the same leaf hashes (and, for a relayed answer, the body and registry
  signature digests); every checkpoint signed by the log key, over the root
  ``core.merkle.root`` computes from the records (the plain RFC 9162 function, not the
  stored-node path the gateway uses), consistent with the previous checkpoint; and, once
  the log has settled, every checkpoint timestamped by the TSA.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import functools
import json
import os
import random
import signal
import sqlite3
import subprocess
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, NamedTuple

import anyio
import httpx

from certs.dev import CONSUMERS, GATEWAY_ID, PROVIDERS, ensure_dev_pki
from consumers.sdk import AsyncGatewayClient, GatewayError, GatewayResponse, TransportFailed
from core import merkle
from core.checkpoint import open_checkpoint
from core.note import NoteVerifier
from core.pki import TrustStore
from core.signing import TYP_RECEIPT, sha256_b64url, verify
from core.timestamp import verify_timestamp
from stack.process import die_with_parent
from stack.up import probe_context
from tests.stack.procs import Proc, descendants, still_running

ONE_STOP = CONSUMERS["one-stop"]
PURPOSE = "household-business-registration"
FIELDS = ("full_name", "date_of_birth")
RECEIPT_HEADER = "X-Road-Log-Receipt"
LOG_ORIGIN = "lienthong.local/evidence-log"
#: How long a service may take from exec to a healthy ``/healthz`` on a loaded machine.
START_TIMEOUT_S = 30.0


def log_tail(path: Path, lines: int = 25) -> str:
    """The end of a service's log, readable: JSON lines as ``level logger: message``, a
    traceback logged as one message cut to its last lines (where the exception is)."""
    try:
        text = path.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return f"({path.name}: no log)"
    return "\n".join(f"  {path.stem} | {_readable(line)}" for line in text.splitlines()[-lines:])


def _readable(line: str) -> str:
    try:
        entry = json.loads(line)
        message = str(entry["msg"]).rstrip().splitlines()
        return f"{entry['level']} {entry['logger']}: " + "\n    ".join(message[-3:])
    except (ValueError, KeyError, TypeError):
        return line


def log_faults(path: Path) -> list[str]:
    """Lines of a service's JSON log at level error or critical, or not JSON at all (a
    traceback on stderr); the test's own banners excepted."""
    faults: list[str] = []
    for line in path.read_text(encoding="utf-8", errors="replace").splitlines():
        if not line.strip() or line.startswith("----- "):
            continue
        try:
            level = json.loads(line).get("level")
        except (ValueError, AttributeError):
            level = None
        if level not in ("debug", "info", "warning"):
            faults.append(line)
    return faults


# -- processes -------------------------------------------------------------------------------


@dataclass
class Service:
    name: str
    proc: subprocess.Popen[bytes]
    log_path: Path
    url: str


@dataclass
class CrashStack:
    """Services of one var dir as real processes on the ports of ``env``."""

    root: Path
    var_dir: Path
    ports: dict[str, int]
    env: dict[str, str]
    started: list[Service] = field(default_factory=list)
    #: Every process started, with its start time, to prove none is left behind.
    seen: list[Proc] = field(default_factory=list)
    _logs: list[IO[bytes]] = field(default_factory=list)

    @property
    def gateway_url(self) -> str:
        return f"https://127.0.0.1:{self.ports['gateway']}"

    def start(self, name: str, *, banner: str = "") -> Service:
        log_path = self.var_dir / "log" / f"{name}.log"
        log_path.parent.mkdir(parents=True, exist_ok=True)
        log = log_path.open("ab")
        self._logs.append(log)
        if banner:
            log.write(f"----- {banner} -----\n".encode())
            log.flush()
        proc = subprocess.Popen(
            [sys.executable, "-m", "stack", "serve", name],
            cwd=self.root,
            env=self.env,
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
            # If the test process dies (even by SIGKILL), the kernel stops the service.
            preexec_fn=functools.partial(die_with_parent, os.getpid()),
        )
        self.seen.extend(p for p in descendants(os.getpid()) if p.pid == proc.pid)
        service = Service(name, proc, log_path, f"https://127.0.0.1:{self.ports[name]}")
        self.started.append(service)
        return service

    async def wait_healthy(self, service: Service, timeout: float = START_TIMEOUT_S) -> None:
        """Poll ``/healthz`` over TLS (the operator's context); fail with the log's tail if
        the process exits first (e.g. the gateway refusing a log that fails verification)."""
        deadline = time.monotonic() + timeout
        async with httpx.AsyncClient(
            verify=probe_context(self.var_dir), trust_env=False, timeout=1.0
        ) as client:
            while True:
                code = service.proc.poll()
                if code is not None:
                    raise AssertionError(
                        f"{service.name} exited while starting (code {code}):\n"
                        + log_tail(service.log_path)
                    )
                with contextlib.suppress(httpx.HTTPError):
                    if (await client.get(service.url + "/healthz")).status_code == 200:
                        return
                if time.monotonic() > deadline:
                    raise AssertionError(
                        f"{service.name} did not answer /healthz within {timeout:.0f}s:\n"
                        + log_tail(service.log_path)
                    )
                await anyio.sleep(0.02)

    def close(self) -> None:
        """SIGKILL every process group started and reap it; assert none is left running."""
        for service in self.started:
            if service.proc.poll() is None:
                with contextlib.suppress(ProcessLookupError, PermissionError):
                    os.killpg(service.proc.pid, signal.SIGKILL)
            service.proc.wait()
        for log in self._logs:
            log.close()
        self._logs.clear()
        left = [p for p in self.seen if still_running(p)]
        for p in left:
            os.kill(p.pid, signal.SIGKILL)
        assert not left, f"processes left running: {left}"


def stack_settings_env(
    base: dict[str, str], ports: dict[str, int], var_dir: Path, *, checkpoint_interval: float
) -> dict[str, str]:
    """``base`` (``tests.stack.procs.stack_env``) plus what ``lienthong up`` would link:
    each service's var dir, the gateway's providers and TSA; quiet access logs."""
    env = dict(base)
    for prefix in ("GATEWAY_", "POPULATION_", "BUSINESS_", "LAND_", "TSA_"):
        env[f"{prefix}VAR_DIR"] = str(var_dir)
        env[f"{prefix}ACCESS_LOG"] = "false"
    env["GATEWAY_PROVIDERS"] = json.dumps(
        {pid: f"https://127.0.0.1:{ports[name]}" for name, pid in PROVIDERS.items()}
    )
    env["GATEWAY_TSA_URL"] = f"https://127.0.0.1:{ports['tsa']}/"
    env["GATEWAY_CHECKPOINT_INTERVAL_SECONDS"] = str(checkpoint_interval)
    env["PYTHONUNBUFFERED"] = "1"
    return env


def prepare_var_dir(root: Path, var_dir: Path, env: dict[str, str], persons: int = 50) -> None:
    """The dev PKI (with the log's note key) and small seeded registries, as ``up`` makes."""
    ensure_dev_pki(var_dir / "pki")
    command = ["seed", "--persons", str(persons), "--var-dir", str(var_dir)]
    seeded = subprocess.run(
        [sys.executable, "-m", "stack", *command],
        cwd=root,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert seeded.returncode == 0, seeded.stderr


def living_person_ids(var_dir: Path, limit: int = 40) -> list[str]:
    with contextlib.closing(open_read_only(var_dir / "db" / "population.sqlite3")) as db:
        rows = db.execute(
            "SELECT personal_id FROM person WHERE date_of_death IS NULL ORDER BY personal_id "
            "LIMIT ?",
            (limit,),
        ).fetchall()
    assert rows, "the population registry was not seeded"
    return [str(r[0]) for r in rows]


# -- load ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Received:
    """An answer the client received whole: what the log must hold for it."""

    round: int
    x_road_id: str
    status: int
    receipt: str
    #: ``sha256_b64url`` of the body and of the registry's signature, for a relayed answer.
    body_sha256: str | None = None
    response_jws_sha256: str | None = None


@dataclass
class LoadResult:
    received: list[Received] = field(default_factory=list)
    #: Requests that got no (whole) answer: the ones in flight when the gateway died.
    lost: int = 0
    #: Transport failures before the kill, and answers that broke the contract.
    problems: list[str] = field(default_factory=list)


def member_client(stack: CrashStack, *, timeout: float = 10.0) -> AsyncGatewayClient:
    return AsyncGatewayClient.from_pki(
        stack.var_dir / "pki",
        ONE_STOP,
        base_url=stack.gateway_url,
        user_id="001080000001",
        timeout=timeout,
        retries=0,  # every attempt is an answer to check; nothing is retried behind our back
    )


async def ask(
    client: AsyncGatewayClient,
    person: str,
    round_no: int,
    result: LoadResult,
    killed: anyio.Event,
) -> Received | None:
    """One lookup; its answer kept in ``result`` (``None`` when none arrived whole)."""
    try:
        answer: GatewayResponse = await client.population.person(
            person, fields=list(FIELDS), purpose=PURPOSE
        )
    except TransportFailed as e:
        result.lost += 1
        if not killed.is_set():
            result.problems.append(f"round {round_no}: transport failure before the kill: {e}")
        return None
    except GatewayError as e:  # an error answer: the gateway records and receipts it too
        receipt = e.headers.get(RECEIPT_HEADER)
        if e.status is None or receipt is None:
            result.problems.append(f"round {round_no}: an answer without a receipt: {e!r}")
            return None
        got = Received(round_no, e.x_road_id or "", e.status, receipt)
    else:
        receipt = answer.headers.get(RECEIPT_HEADER)
        if receipt is None or answer.response_signature is None:
            result.problems.append(f"round {round_no}: {answer.x_road_id} came without a receipt")
            return None
        got = Received(
            round_no,
            answer.x_road_id,
            answer.status,
            receipt,
            body_sha256=sha256_b64url(answer.body),
            response_jws_sha256=sha256_b64url(answer.response_signature.encode()),
        )
    result.received.append(got)
    return got


async def until_exchanges_flow(
    client: AsyncGatewayClient,
    person_ids: Sequence[str],
    round_no: int,
    result: LoadResult,
    timeout: float = START_TIMEOUT_S,
) -> None:
    """Ask until an exchange succeeds: the gateway has loaded the registries' catalogues."""
    deadline = time.monotonic() + timeout
    while True:
        got = await ask(client, person_ids[0], round_no, result, anyio.Event())
        if got is not None and got.status == 200:
            return
        if time.monotonic() > deadline or result.problems:
            raise AssertionError(f"no exchange succeeded in {timeout:.0f}s: {result.problems}")
        await anyio.sleep(0.05)


async def drive_load(
    clients: Sequence[AsyncGatewayClient],
    person_ids: Sequence[str],
    rng: random.Random,
    round_no: int,
    result: LoadResult,
    killed: anyio.Event,
    *,
    per_client: int = 2,
) -> None:
    """Keep ``per_client`` lookups in flight on each client until ``killed`` is set."""

    async def worker(client: AsyncGatewayClient) -> None:
        while not killed.is_set():
            await ask(client, rng.choice(person_ids), round_no, result, killed)

    async with anyio.create_task_group() as tg:
        for client in clients:
            for _ in range(per_client):
                tg.start_soon(worker, client)


# -- the audit -------------------------------------------------------------------------------


def open_read_only(path: Path) -> sqlite3.Connection:
    return sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True)


class Row(NamedTuple):
    """One record of the log as stored."""

    seq: int
    x_road_id: str
    kind: str
    data: bytes


@dataclass(frozen=True)
class StoredCheckpoint:
    size: int
    root: bytes
    note: str
    tsa_token: bytes | None


@dataclass(frozen=True)
class Snapshot:
    """The log's three tables, read in one transaction."""

    records: list[Row]
    checkpoints: list[StoredCheckpoint]
    nodes: set[tuple[int, int, bytes]]

    @property
    def settled(self) -> bool:
        """The latest checkpoint covers the whole log and every checkpoint has its token."""
        return bool(
            self.checkpoints
            and self.checkpoints[-1].size == len(self.records)
            and all(cp.tsa_token is not None for cp in self.checkpoints)
        )


def read_log(db_path: Path) -> Snapshot:
    with contextlib.closing(open_read_only(db_path)) as db:
        db.execute("BEGIN")  # one read transaction: one snapshot of the three tables
        records = [
            Row(int(seq), str(xid), str(kind), bytes(data))
            for seq, xid, kind, data in db.execute(
                "SELECT seq, x_road_id, kind, record FROM exchange_record ORDER BY seq"
            )
        ]
        checkpoints = [
            StoredCheckpoint(int(size), bytes(root), str(note), None if tok is None else bytes(tok))
            for size, root, note, tok in db.execute(
                "SELECT size, root, note, tsa_token FROM checkpoint ORDER BY size"
            )
        ]
        nodes = {
            (int(level), int(idx), bytes(h))
            for level, idx, h in db.execute("SELECT level, idx, hash FROM merkle_node")
        }
    return Snapshot(records, checkpoints, nodes)


@dataclass
class LogAudit:
    """Checks of the gateway's log, from its SQLite file. It remembers what it checked, so
    each later check also proves that nothing checked before has changed."""

    db_path: Path
    verifier: NoteVerifier
    store: TrustStore
    origin: str = LOG_ORIGIN
    leaves: list[bytes] = field(default_factory=list)
    checkpoints: list[StoredCheckpoint] = field(default_factory=list)

    def check(self, received: Sequence[Received], *, settled: bool = False) -> str:
        """Check the log and the ``received`` answers' records; with ``settled`` (the
        gateway stopped cleanly after a last checkpoint) also that the last checkpoint
        covers the whole log and that every checkpoint carries a valid TSA token."""
        log = read_log(self.db_path)
        records = log.records
        assert [r.seq for r in records] == list(range(len(records))), (
            "record numbers are not contiguous from 0"
        )
        leaves = [merkle.leaf_hash(r.data) for r in records]
        old = len(self.leaves)
        assert len(leaves) >= old, f"the log shrank from {old} to {len(leaves)} records"
        assert leaves[:old] == self.leaves, (
            f"a record checked before changed (first at {_first_difference(leaves, self.leaves)})"
        )
        self.leaves = leaves

        # The stored perfect subtrees are exactly those the records make, no more, no less.
        expected = {(lvl, idx, h) for (lvl, idx), h in merkle.MemoryTree(leaves).nodes().items()}
        assert log.nodes == expected, (
            f"stored tree nodes differ from the records' tree: {len(log.nodes - expected)} "
            f"wrong or extra, {len(expected - log.nodes)} missing"
        )

        for got in received:
            self._check_received(got, records)
        self._check_checkpoints(log.checkpoints, len(records))
        if settled:
            last = log.checkpoints[-1].size if log.checkpoints else 0
            assert last == len(records), (
                f"the last checkpoint ({last}) does not cover the settled log ({len(records)})"
            )
            for cp in log.checkpoints:
                assert cp.tsa_token is not None, f"checkpoint {cp.size} was never timestamped"
                verify_timestamp(
                    cp.tsa_token, cp.note.encode("utf-8"), ca_certificates=self.store.cas
                )
        return f"{len(records)} records, {len(log.checkpoints)} checkpoints"

    def _check_received(self, got: Received, records: list[Row]) -> None:
        where = f"{got.x_road_id} (round {got.round}, HTTP {got.status})"
        claims = verify(
            got.receipt, store=self.store, now=dt.datetime.now(dt.UTC), typ=TYP_RECEIPT
        ).claims
        assert claims["iss"] == GATEWAY_ID and claims["jti"] == got.x_road_id, where
        assert claims["origin"] == self.origin, where
        index = claims["index"]
        assert isinstance(index, int) and 0 <= index < len(records), (
            f"{where}: receipt index {index} is not in the log of {len(records)} records"
        )
        _, xid, kind, data = records[index]
        assert xid == got.x_road_id, f"{where}: record {index} belongs to {xid}"
        assert merkle.leaf_hash(data).hex() == claims["leaf_hash"], (
            f"{where}: record {index} does not hash to the receipt's leaf hash"
        )
        record = json.loads(data)
        assert record["status"] == got.status, f"{where}: record {index} says {record['status']}"
        if "accepted_index" not in claims:
            assert kind == "refused", f"{where}: record {index} is {kind}, not a refusal"
            return
        assert kind == "answered", f"{where}: record {index} is {kind}, not an answer"
        if got.body_sha256 is not None:
            assert record["response_sha256"] == got.body_sha256, f"{where}: another body"
            assert record["response_jws_sha256"] == got.response_jws_sha256, where
        accepted = claims["accepted_index"]
        assert isinstance(accepted, int) and 0 <= accepted < index, (
            f"{where}: accepted index {accepted} does not precede the answer at {index}"
        )
        _, axid, akind, adata = records[accepted]
        assert (axid, akind) == (got.x_road_id, "accepted"), (
            f"{where}: record {accepted} is {akind} of {axid}"
        )
        assert merkle.leaf_hash(adata).hex() == claims["accepted_leaf_hash"], (
            f"{where}: record {accepted} does not hash to the receipt's accepted leaf hash"
        )

    def _check_checkpoints(self, checkpoints: list[StoredCheckpoint], size: int) -> None:
        known = {cp.size: cp for cp in self.checkpoints}
        previous: StoredCheckpoint | None = None
        for cp in checkpoints:
            assert 0 < cp.size <= size, f"checkpoint {cp.size} is beyond the log ({size})"
            if previous is not None:
                assert cp.size > previous.size, "checkpoint sizes are not strictly increasing"
            before = known.get(cp.size)
            if before is not None:
                assert before.root == cp.root and before.note == cp.note, (
                    f"checkpoint {cp.size} changed since it was checked"
                )
            else:
                opened = open_checkpoint(cp.note, self.verifier, origin=self.origin)
                assert (opened.size, opened.root) == (cp.size, cp.root), (
                    f"checkpoint {cp.size}: its signed note and its row disagree"
                )
                assert merkle.root(self.leaves[: cp.size]) == cp.root, (
                    f"checkpoint {cp.size}: the records do not hash to its root"
                )
                if previous is not None:
                    proof = merkle.consistency_proof(previous.size, self.leaves[: cp.size])
                    assert merkle.verify_consistency(
                        previous.size, cp.size, previous.root, cp.root, proof
                    ), f"checkpoint {cp.size} is not consistent with {previous.size}"
            previous = cp
        missing = set(known) - {cp.size for cp in checkpoints}
        assert not missing, f"checkpoints vanished: {sorted(missing)}"
        self.checkpoints = checkpoints


def _first_difference(a: Sequence[bytes], b: Sequence[bytes]) -> int:
    return next(
        (i for i, (x, y) in enumerate(zip(a, b, strict=False)) if x != y), min(len(a), len(b))
    )


def copy_with_record_changed(db_path: Path, dest: Path, seq: int) -> None:
    """A copy of the log in which record ``seq`` was rewritten after the fact."""
    with (
        contextlib.closing(open_read_only(db_path)) as src,
        contextlib.closing(sqlite3.connect(dest)) as dst,
    ):
        src.backup(dst)
        (data,) = dst.execute("SELECT record FROM exchange_record WHERE seq = ?", (seq,)).fetchone()
        changed = bytes(data).replace(b'"v":1', b'"v":2')
        assert changed != data
        dst.execute("UPDATE exchange_record SET record = ? WHERE seq = ?", (changed, seq))
        dst.commit()
