"""Exchange records, written durably before a response leaves the gateway.

A record is canonical JSON (RFC 8785) of what happened — never personal data in clear: the
data subject and the official are HMAC-SHA256 pseudonyms under the gateway's subject key,
bodies appear as SHA-256 digests, signed statements as digests of the JWS (the JWS themselves
are kept sealed with AES-256-GCM in ``exchange_signature``, for auditors).

``RecordWriter`` is the single writer: appends from concurrent requests are collected while
the previous batch commits (or, with a window set, for a few milliseconds more; at most a
full batch), written in one transaction (SQLite WAL with
``synchronous=FULL``, or a PostgreSQL commit), and only then is every waiter released with
its record's sequence number. Numbers are contiguous and assigned by the writer alone, which
is what the Merkle log built on these records needs.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import functools
import hashlib
import hmac
import logging
import os
import secrets
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from sqlalchemy import Insert, func, insert, select, text
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection, Dialect, Engine

from core import merkle
from core.canonical import canonical_json
from core.signing import sha256_b64url
from gateway.models import exchange_record, exchange_signature, merkle_node

logger = logging.getLogger("lienthong.gateway.records")

RECORD_VERSION = 1


def _read_or_create_key(path: Path, size: int = 32) -> bytes:
    if path.exists():
        data = path.read_bytes()
        if len(data) != size:
            raise ValueError(f"{path} must hold {size} bytes; delete it to make a new key")
        return data
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    key = secrets.token_bytes(size)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as f:
        f.write(key)
    return key


@dataclass(frozen=True)
class EvidenceKeys:
    """The gateway's secret keys: subject pseudonyms (HMAC) and sealed signatures (AES-GCM)."""

    subject_key: bytes
    evidence_key: bytes

    @classmethod
    def load_or_create(cls, directory: Path) -> EvidenceKeys:
        return cls(
            _read_or_create_key(directory / "subject.key"),
            _read_or_create_key(directory / "evidence.key"),
        )

    def pseudonym(self, personal_id: str | None) -> str | None:
        """HMAC-SHA256 of a personal id, hex: how people appear in records."""
        return None if personal_id is None else self.subject_pseudonym(personal_id)

    def subject_pseudonym(self, personal_id: str) -> str:
        """HMAC-SHA256 of a personal id that is certainly there, hex."""
        return hmac.new(self.subject_key, personal_id.encode(), hashlib.sha256).hexdigest()

    def seal(self, jws: str) -> tuple[str, bytes]:
        """(digest of the JWS, nonce ‖ AES-GCM ciphertext bound to that digest)."""
        digest = sha256_b64url(jws.encode("ascii"))
        nonce = secrets.token_bytes(12)
        sealed = nonce + self._aead.encrypt(nonce, jws.encode("ascii"), digest.encode())
        return digest, sealed

    def unseal(self, digest: str, sealed: bytes) -> str:
        return self._aead.decrypt(sealed[:12], sealed[12:], digest.encode()).decode("ascii")

    @functools.cached_property
    def _aead(self) -> AESGCM:
        """The AES-GCM cipher of the evidence key, made once (two seals per exchange)."""
        return AESGCM(self.evidence_key)


def utc_iso(t: dt.datetime) -> str:
    return t.astimezone(dt.UTC).isoformat(timespec="microseconds").replace("+00:00", "Z")


@dataclass
class PendingRecord:
    """One record waiting for its sequence number."""

    x_road_id: str
    kind: str  # accepted | answered | refused | grant | consent
    recorded_at: dt.datetime
    client: str | None
    subject: str | None
    body: dict[str, Any]
    signatures: Sequence[tuple[str, bytes]] = ()

    def canonical(self) -> bytes:
        return canonical_json(
            {
                "v": RECORD_VERSION,
                "kind": self.kind,
                "time": utc_iso(self.recorded_at),
                "x_road_id": self.x_road_id,
                **self.body,
            }
        )


@dataclass(frozen=True)
class Appended:
    """A record made durable: its index in the log and its leaf hash."""

    seq: int
    leaf_hash: bytes


#: The PostgreSQL advisory lock key of the log's sequencer ("lientho" in ASCII).
SEQUENCER_LOCK = 0x6C69656E74686F


class RecordWriter:
    """The single writer of ``exchange_record``: group commit, contiguous sequence numbers,
    and the Merkle tree's new nodes in the same transaction as the records.

    With several gateway processes on one PostgreSQL database, each batch takes the
    sequencer's transaction-level advisory lock first, so exactly one process sequences at a
    time; a writer that finds records it did not write reloads the tree's right edge.
    """

    def __init__(self, engine: Engine, *, window_s: float = 0.0, max_batch: int = 4096) -> None:
        self.engine = engine
        self.window_s = window_s
        self.max_batch = max_batch
        self._queue: asyncio.Queue[tuple[list[PendingRecord], asyncio.Future[list[Appended]]]] = (
            asyncio.Queue()
        )
        self._task: asyncio.Task[None] | None = None
        self._next_seq = 0
        #: The tree's right edge: the last perfect node of each level (level → (idx, hash)).
        self._edge: dict[int, tuple[int, bytes]] = {}
        self.commits = 0
        self.appended = 0

    async def start(self) -> None:
        await asyncio.to_thread(self._load_edge)
        self._task = asyncio.create_task(self._run(), name="record-writer")

    def _load_edge(self, conn: Connection | None = None) -> None:
        with contextlib.ExitStack() as stack:
            if conn is None:
                conn = stack.enter_context(self.engine.connect())
            top = conn.execute(select(func.max(exchange_record.c.seq))).scalar()
            self._next_seq = 0 if top is None else int(top) + 1
            last = (
                select(merkle_node.c.level, func.max(merkle_node.c.idx).label("idx"))
                .group_by(merkle_node.c.level)
                .subquery()
            )
            rows = conn.execute(
                select(merkle_node.c.level, merkle_node.c.idx, merkle_node.c.hash).join(
                    last,
                    (merkle_node.c.level == last.c.level) & (merkle_node.c.idx == last.c.idx),
                )
            ).all()
        self._edge = {int(r.level): (int(r.idx), bytes(r.hash)) for r in rows}

    async def stop(self) -> None:
        """Stop writing; appends still waiting get an error rather than wait forever."""
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
        while not self._queue.empty():
            _records, fut = self._queue.get_nowait()
            _fail(fut, "the record writer stopped before writing this record")

    @property
    def size(self) -> int:
        """How many records are durable (as this process last saw the log)."""
        return self._next_seq

    async def append(self, records: list[PendingRecord]) -> list[Appended]:
        """Make ``records`` durable; return their indices and leaf hashes (in order)."""
        return await self.submit(records)

    def submit(self, records: list[PendingRecord]) -> asyncio.Future[list[Appended]]:
        """Queue ``records`` now; the future resolves once they are durable.

        The queueing happens before this returns, so records submitted one after the other
        are sequenced in that order, whatever the caller awaits in between (an exchange's
        ``accepted`` record precedes its ``answered`` one even when forwarding fails at once).
        """
        if self._task is None or self._task.done():
            raise RuntimeError("the record writer is not running")
        fut: asyncio.Future[list[Appended]] = asyncio.get_running_loop().create_future()
        self._queue.put_nowait((records, fut))  # unbounded: never blocks
        return fut

    async def _run(self) -> None:
        while True:
            batch: list[tuple[list[PendingRecord], asyncio.Future[list[Appended]]]] = []
            try:
                await self._collect(batch)
                results = await asyncio.to_thread(self._write, [r for r, _ in batch])
            except asyncio.CancelledError:
                # Stopped: whatever was taken off the queue gets an answer (the write may
                # still commit in its thread, but nobody would be told).
                for _records, fut in batch:
                    _fail(fut, "the record writer stopped before confirming this record")
                raise
            except Exception as e:
                logger.exception("record batch failed; %d waiters get an error", len(batch))
                for _records, fut in batch:
                    if not fut.done():
                        fut.set_exception(e)
                continue
            pos = 0
            for records, fut in batch:
                if not fut.done():
                    fut.set_result(results[pos : pos + len(records)])
                pos += len(records)
            self.commits += 1
            self.appended += len(results)

    async def _collect(
        self, batch: list[tuple[list[PendingRecord], asyncio.Future[list[Appended]]]]
    ) -> None:
        """Fill ``batch``: the next append, whatever else is queued, and — only with a
        window set — more for ``window_s`` or until the batch is full.

        Without a window (the default) nothing waits: a lone exchange is committed at once
        (its latency is one commit), and under load the appends that arrive while a commit
        is in flight form the next batch, so batches grow with the load by themselves.
        """
        batch.append(await self._queue.get())
        count = len(batch[0][0])
        if self.window_s > 0:
            loop = asyncio.get_running_loop()
            deadline = loop.time() + self.window_s
            while count < self.max_batch:
                timeout = deadline - loop.time()
                if timeout <= 0:
                    break
                try:
                    item = await asyncio.wait_for(self._queue.get(), timeout)
                except TimeoutError:
                    break
                batch.append(item)
                count += len(item[0])
        while count < self.max_batch and not self._queue.empty():
            item = self._queue.get_nowait()
            batch.append(item)
            count += len(item[0])

    def _write(self, batch: list[list[PendingRecord]]) -> list[Appended]:
        """One transaction: sequence the batch, write records, signatures and tree nodes."""
        with self.engine.begin() as conn:
            if conn.dialect.name == "postgresql":
                conn.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": SEQUENCER_LOCK})
                top = conn.execute(select(func.max(exchange_record.c.seq))).scalar()
                if (0 if top is None else int(top) + 1) != self._next_seq:
                    self._load_edge(conn)  # another gateway process appended meanwhile
            seq = self._next_seq
            edge = dict(self._edge)

            def get(level: int, index: int) -> bytes:
                idx, h = edge[level]
                if idx != index:  # pragma: no cover - the right edge is always the sibling
                    raise LookupError(f"right edge at level {level} is {idx}, not {index}")
                return h

            inserts = _inserts(conn.dialect)
            when = inserts.recorded_at
            rows: list[tuple[Any, ...]] = []
            nodes: list[tuple[Any, ...]] = []
            sigs: dict[str, bytes] = {}
            results: list[Appended] = []
            for records in batch:
                for r in records:
                    data = r.canonical()
                    h = merkle.leaf_hash(data)
                    for level, idx, node in merkle.nodes_completed_by(seq, h, get):
                        edge[level] = (idx, node)
                        nodes.append((level, idx, node))
                    at = when(r.recorded_at) if when is not None else r.recorded_at
                    rows.append((seq, r.x_road_id, r.kind, at, r.client, r.subject, data))
                    for digest, sealed in r.signatures:
                        sigs[digest] = sealed
                    results.append(Appended(seq, h))
                    seq += 1
            # A JWS already kept (the same statement in a refusal and a retry) stays as it
            # is: ON CONFLICT DO NOTHING, no read of what exists first.
            inserts.signatures.execute(conn, list(sigs.items()))
            inserts.records.execute(conn, rows)
            inserts.nodes.execute(conn, nodes)
        # Only once committed does this process's view move on.
        self._next_seq, self._edge = seq, edge
        return results


class _Insert:
    """One INSERT compiled once for a dialect, sent to the DB-API's ``executemany`` as is.

    Core's ``executemany`` processes every parameter of every row in Python (bind
    processors, parameter dicts) before the driver starts: about a quarter of the
    sequencer's CPU at large batches (``bench/sequencer.py``, ADR 0008). The values here
    need no processing for sqlite3 or psycopg, except ``recorded_at``, which goes through
    its type's own bind processor first (``_Inserts.recorded_at``): the stored bytes are
    those Core would write.
    """

    def __init__(self, statement: Insert, dialect: Dialect, columns: list[str]) -> None:
        compiled = statement.compile(dialect=dialect, column_keys=columns)
        self.sql = str(compiled)
        self.columns = columns
        # Positional paramstyles (sqlite3's qmark) take tuples in the compiled order,
        # named ones (psycopg's pyformat) dicts.
        self.order = list(compiled.positiontup or ()) if compiled.positional else None

    def execute(self, conn: Connection, rows: list[tuple[Any, ...]]) -> None:
        if not rows:
            return
        if self.order is None:
            conn.exec_driver_sql(self.sql, [dict(zip(self.columns, r, strict=True)) for r in rows])
        elif self.order == self.columns:
            conn.exec_driver_sql(self.sql, rows)
        else:  # pragma: no cover - SQLAlchemy renders columns in the order given
            at = [self.columns.index(c) for c in self.order]
            conn.exec_driver_sql(self.sql, [tuple(r[i] for i in at) for r in rows])


@dataclass(frozen=True)
class _Inserts:
    records: _Insert
    signatures: _Insert
    nodes: _Insert
    recorded_at: Callable[[Any], Any] | None


_INSERTS: dict[tuple[str, str, str], _Inserts] = {}


def _inserts(dialect: Dialect) -> _Inserts:
    """The sequencer's three inserts for ``dialect``, compiled once per kind of dialect."""
    key = (dialect.name, dialect.driver, dialect.paramstyle)
    found = _INSERTS.get(key)
    if found is None:
        found = _INSERTS[key] = _compile_inserts(dialect)
    return found


def _compile_inserts(dialect: Dialect) -> _Inserts:
    """Records, signatures (ON CONFLICT DO NOTHING) and Merkle nodes, for ``dialect``."""
    if dialect.name == "postgresql":
        new_signatures: Insert = postgresql.insert(exchange_signature).on_conflict_do_nothing()
    elif dialect.name == "sqlite":
        new_signatures = sqlite.insert(exchange_signature).on_conflict_do_nothing()
    else:
        raise ValueError(f"the evidence log runs on SQLite or PostgreSQL, not {dialect.name}")
    return _Inserts(
        records=_Insert(
            insert(exchange_record),
            dialect,
            ["seq", "x_road_id", "kind", "recorded_at", "client", "subject", "record"],
        ),
        signatures=_Insert(new_signatures, dialect, ["digest", "sealed"]),
        nodes=_Insert(insert(merkle_node), dialect, ["level", "idx", "hash"]),
        recorded_at=exchange_record.c.recorded_at.type.dialect_impl(dialect).bind_processor(
            dialect
        ),
    )


def _fail(fut: asyncio.Future[list[Appended]], why: str) -> None:
    if not fut.done():
        fut.set_exception(RuntimeError(why))
