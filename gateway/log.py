"""The evidence log: an RFC 9162 Merkle tree over the exchange records, with checkpoints.

Leaf ``i`` is record ``i``'s canonical JSON (``exchange_record.record``, ``seq = i``). The
tree is kept as its *perfect subtrees* (``merkle_node``: level, index, hash), written by the
record writer in the same transaction as the records that complete them, so every proof is
O(log n) reads and nothing is ever rehashed (``core.merkle.*_from``).

Checkpoints (``checkpoint``: size, root, C2SP signed note, RFC 3161 token) are made by the
``Checkpointer`` every few seconds when the log grew, only over committed records, and at
most one per size (the size is the primary key: compare-and-swap). Each checkpoint's note is
timestamped by the TSA; if the TSA cannot be reached the gateway keeps serving, says so in
``/readyz`` details and metrics, and refuses exchanges once the oldest untimestamped
checkpoint is older than the configured window (X-Road's default: 4 hours).

``verify_on_start`` recomputes the tree from the records and refuses to start if it
disagrees with the last checkpoint.
"""

from __future__ import annotations

import asyncio
import base64
import datetime as dt
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, TypeVar

from sqlalchemy import and_, func, insert, or_, select, update
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.exc import IntegrityError

from core.checkpoint import Checkpoint, open_checkpoint, sign_checkpoint
from core.merkle import (
    MemoryTree,
    consistency_proof_from,
    inclusion_proof_from,
    leaf_hash,
    root_from,
)
from core.note import Ed25519NoteSigner, NoteError, NoteVerifier
from gateway.models import checkpoint as checkpoint_table
from gateway.models import exchange_record, merkle_node

logger = logging.getLogger("lienthong.gateway.log")

#: A timestamping function: the data → a DER RFC 3161 token (raises on failure).
Timestamper = Callable[[bytes], Awaitable[bytes]]
NodeGetter = Callable[[int, int], bytes]
_T = TypeVar("_T")
#: What a node not yet fetched reads as during ``LogStore._with_nodes``'s dry run.
_PLACEHOLDER = bytes(32)


class LogCorrupted(RuntimeError):
    """The stored log disagrees with its own checkpoint: the gateway must not start."""


@dataclass(frozen=True)
class StoredCheckpoint:
    size: int
    root: bytes
    note: str
    signed_at: dt.datetime
    timestamp: bytes | None

    def public(self) -> dict[str, Any]:
        return {
            "size": self.size,
            "root": self.root.hex(),
            "note": self.note,
            "timestamp": base64.b64encode(self.timestamp).decode() if self.timestamp else None,
            "signed_at": _utc(self.signed_at).isoformat().replace("+00:00", "Z"),
        }


def _utc(t: dt.datetime) -> dt.datetime:
    return t.replace(tzinfo=dt.UTC) if t.tzinfo is None else t.astimezone(dt.UTC)


def _row(r: Any) -> StoredCheckpoint:
    return StoredCheckpoint(int(r.size), bytes(r.root), r.note, r.signed_at, r.tsa_token)


class LogStore:
    """Reads of the stored tree and checkpoints (sync: call from a thread on the loop)."""

    def __init__(self, engine: Engine, *, cache_size: int = 65536) -> None:
        self.engine = engine
        self._cache: dict[tuple[int, int], bytes] = {}
        self._cache_size = cache_size

    # -- tree ----------------------------------------------------------------------------
    def size(self) -> int:
        """How many records are committed (the log's size)."""
        with self.engine.connect() as conn:
            top = conn.execute(select(func.max(exchange_record.c.seq))).scalar()
        return 0 if top is None else int(top) + 1

    def _getter(self, conn: Connection) -> Callable[[int, int], bytes]:
        def get(level: int, index: int) -> bytes:
            key = (level, index)
            hit = self._cache.get(key)
            if hit is not None:
                return hit
            h = conn.execute(
                select(merkle_node.c.hash).where(
                    merkle_node.c.level == level, merkle_node.c.idx == index
                )
            ).scalar()
            if h is None:
                raise LookupError(f"no stored node at level {level}, index {index}")
            value = bytes(h)
            if len(self._cache) >= self._cache_size:
                self._cache.clear()
            self._cache[key] = value  # perfect nodes never change
            return value

        return get

    def _with_nodes(self, conn: Connection, compute: Callable[[NodeGetter], _T]) -> _T:
        """``compute`` over the stored nodes, fetched in one query rather than one each.

        Which nodes a root or proof reads depends on the sizes and indices alone, never on
        the hashes: a dry run with placeholder hashes lists the nodes missing from the
        cache, one ``SELECT`` brings them all (~20 at a million entries), then the real run
        finds every one cached (ADR 0008).
        """
        missing: list[tuple[int, int]] = []

        def note(level: int, index: int) -> bytes:
            hit = self._cache.get((level, index))
            if hit is None:
                missing.append((level, index))
                return _PLACEHOLDER
            return hit

        compute(note)
        if missing:
            # OR'ed (level, idx) pairs: SQLite answers each from the primary key, where
            # a row-value IN (VALUES ...) would scan the table.
            wanted = or_(
                *(and_(merkle_node.c.level == lv, merkle_node.c.idx == ix) for lv, ix in missing)
            )
            rows = conn.execute(
                select(merkle_node.c.level, merkle_node.c.idx, merkle_node.c.hash).where(wanted)
            ).all()
            if len(self._cache) + len(rows) > self._cache_size:
                self._cache.clear()
            for r in rows:
                self._cache[(int(r.level), int(r.idx))] = bytes(r.hash)
        return compute(self._getter(conn))

    def root(self, size: int) -> bytes:
        with self.engine.connect() as conn:
            return self._with_nodes(conn, lambda get: root_from(size, get))

    def inclusion(self, index: int, size: int) -> list[bytes]:
        with self.engine.connect() as conn:
            return self._with_nodes(conn, lambda get: inclusion_proof_from(index, size, get))

    def inclusion_proven(self, index: int, size: int) -> tuple[bytes, list[bytes], bytes]:
        """(leaf hash, inclusion proof, root) of entry ``index`` in the tree of ``size``:
        every node they need fetched in one query."""
        with self.engine.connect() as conn:
            return self._with_nodes(
                conn,
                lambda get: (
                    get(0, index),
                    inclusion_proof_from(index, size, get),
                    root_from(size, get),
                ),
            )

    def consistency(self, size1: int, size2: int) -> list[bytes]:
        if size1 == 0:  # from the empty tree: nothing to prove (RFC 9162 §2.1.4)
            return []
        with self.engine.connect() as conn:
            return self._with_nodes(conn, lambda get: consistency_proof_from(size1, size2, get))

    def leaf(self, index: int) -> bytes:
        with self.engine.connect() as conn:
            return self._getter(conn)(0, index)

    def nodes_page(
        self, after: tuple[int, int] | None = None, limit: int = 10_000
    ) -> list[tuple[int, int, bytes]]:
        """Stored nodes ``(level, index, hash)`` in (level, index) order, after ``after``."""
        q = select(merkle_node.c.level, merkle_node.c.idx, merkle_node.c.hash)
        if after is not None:
            level, idx = after
            q = q.where(
                or_(
                    merkle_node.c.level > level,
                    and_(merkle_node.c.level == level, merkle_node.c.idx > idx),
                )
            )
        with self.engine.connect() as conn:
            rows = conn.execute(
                q.order_by(merkle_node.c.level, merkle_node.c.idx).limit(limit)
            ).all()
        return [(int(r.level), int(r.idx), bytes(r.hash)) for r in rows]

    # -- checkpoints ---------------------------------------------------------------------
    def latest(self) -> StoredCheckpoint | None:
        with self.engine.connect() as conn:
            r = conn.execute(
                select(checkpoint_table).order_by(checkpoint_table.c.size.desc()).limit(1)
            ).first()
        return _row(r) if r else None

    def at(self, size: int) -> StoredCheckpoint | None:
        with self.engine.connect() as conn:
            r = conn.execute(
                select(checkpoint_table).where(checkpoint_table.c.size == size)
            ).first()
        return _row(r) if r else None

    def history(self, *, after: int = -1, limit: int = 1000) -> list[StoredCheckpoint]:
        with self.engine.connect() as conn:
            rows = conn.execute(
                select(checkpoint_table)
                .where(checkpoint_table.c.size > after)
                .order_by(checkpoint_table.c.size)
                .limit(limit)
            ).all()
        return [_row(r) for r in rows]

    def untimestamped(self, limit: int = 10) -> list[StoredCheckpoint]:
        with self.engine.connect() as conn:
            rows = conn.execute(
                select(checkpoint_table)
                .where(checkpoint_table.c.tsa_token.is_(None))
                .order_by(checkpoint_table.c.size)
                .limit(limit)
            ).all()
        return [_row(r) for r in rows]

    def add_checkpoint(self, cp: StoredCheckpoint) -> StoredCheckpoint:
        """Store ``cp`` unless one exists for its size; return the one stored (CAS)."""
        try:
            with self.engine.begin() as conn:
                conn.execute(
                    insert(checkpoint_table),
                    [
                        {
                            "size": cp.size,
                            "root": cp.root,
                            "note": cp.note,
                            "signed_at": cp.signed_at,
                            "tsa_token": None,
                        }
                    ],
                )
        except IntegrityError:
            pass
        stored = self.at(cp.size)
        if stored is None:  # pragma: no cover - the row was just there
            raise LogCorrupted(f"the checkpoint for size {cp.size} vanished")
        if stored.root != cp.root:
            raise LogCorrupted(
                f"two roots for size {cp.size}: stored {stored.root.hex()}, "
                f"computed {cp.root.hex()}"
            )
        return stored

    def set_timestamp(self, size: int, token: bytes) -> None:
        with self.engine.begin() as conn:
            conn.execute(
                update(checkpoint_table)
                .where(checkpoint_table.c.size == size, checkpoint_table.c.tsa_token.is_(None))
                .values(tsa_token=token)
            )

    # -- entries -------------------------------------------------------------------------
    def entries(self, start: int, end: int) -> list[tuple[int, bytes]]:
        with self.engine.connect() as conn:
            rows = conn.execute(
                select(exchange_record.c.seq, exchange_record.c.record)
                .where(exchange_record.c.seq >= start, exchange_record.c.seq < end)
                .order_by(exchange_record.c.seq)
            ).all()
        return [(int(r.seq), bytes(r.record)) for r in rows]

    def proven(
        self, rows: list[tuple[int, bytes]]
    ) -> tuple[StoredCheckpoint | None, list[dict[str, Any]]]:
        """The latest checkpoint, and for each ``(index, record)`` its leaf hash and inclusion
        proof under it (``None`` for a record the checkpoint does not cover yet)."""
        latest = self.latest()
        out = []
        for i, data in rows:
            covered = latest is not None and i < latest.size
            proof = self.inclusion(i, latest.size) if covered and latest else None
            out.append(
                {
                    "index": i,
                    "record": data.decode("utf-8"),
                    "leaf_hash": leaf_hash(data).hex(),
                    "proof": [p.hex() for p in proof] if proof is not None else None,
                }
            )
        return latest, out

    def records_of(self, x_road_id: str) -> list[tuple[int, bytes]]:
        with self.engine.connect() as conn:
            rows = conn.execute(
                select(exchange_record.c.seq, exchange_record.c.record)
                .where(exchange_record.c.x_road_id == x_road_id)
                .order_by(exchange_record.c.seq)
            ).all()
        return [(int(r.seq), bytes(r.record)) for r in rows]


def verify_on_start(store: LogStore, verifier: NoteVerifier, *, origin: str) -> int:
    """Recompute the tree from every record; raise ``LogCorrupted`` unless the records are
    contiguous from 0, the last checkpoint verifies (its signature, its root) and every
    stored tree node is the one the records make. Returns the records checked.

    The stored nodes are all compared, not only those a root is made of: the nodes inside
    the perfect subtrees answer inclusion proofs, and those after the last checkpoint are
    the right edge the next records (and the next checkpoint) are hashed onto.
    """
    latest = store.latest()
    cp: Checkpoint | None = None
    if latest is not None:
        try:
            cp = open_checkpoint(latest.note, verifier, origin=origin)
        except NoteError as e:
            raise LogCorrupted(
                f"the last checkpoint (size {latest.size}) does not verify: {e}"
            ) from e
        if (cp.size, cp.root) != (latest.size, latest.root):
            raise LogCorrupted(f"the last checkpoint's note and row disagree (size {latest.size})")
    tree = MemoryTree()
    step = 10_000
    while rows := store.entries(tree.size, tree.size + step):
        for seq, record in rows:
            if seq != tree.size:
                raise LogCorrupted(f"record {tree.size} is missing from the log")
            tree.append(leaf_hash(record))
    if cp is not None:
        if tree.size < cp.size:
            raise LogCorrupted(f"the log holds {tree.size} records, its checkpoint {cp.size}")
        if tree.root(cp.size) != cp.root:
            raise LogCorrupted(
                f"the records do not hash to the last checkpoint's root (size {cp.size}); "
                "refusing to start — run `lienthong audit verify` to find the first bad record"
            )
    _check_stored_nodes(store, tree)
    return tree.size


def _check_stored_nodes(store: LogStore, tree: MemoryTree) -> None:
    """Every stored node is the recomputed one, and none is missing or extra."""
    expected = sum(tree.size >> level for level in range(tree.size.bit_length()))
    count = 0
    after: tuple[int, int] | None = None
    while page := store.nodes_page(after):
        for level, idx, stored in page:
            try:
                computed = tree.get(level, idx)
            except KeyError:
                raise LogCorrupted(
                    f"the stored tree has a node ({level}, {idx}) that no record makes"
                ) from None
            if stored != computed:
                raise LogCorrupted(
                    f"the stored tree disagrees with the records at node ({level}, {idx})"
                )
        count += len(page)
        after = page[-1][:2]
    if count != expected:
        raise LogCorrupted(f"the stored tree has {count} nodes, the records make {expected}")


class Checkpointer:
    """Signs a checkpoint when the log grew, and gets each one timestamped."""

    def __init__(
        self,
        store: LogStore,
        *,
        signer: Ed25519NoteSigner,
        origin: str,
        timestamper: Timestamper | None,
        clock: Callable[[], dt.datetime],
        interval_s: float = 2.0,
        fail_closed_after: dt.timedelta = dt.timedelta(hours=4),
    ) -> None:
        self.store = store
        self.signer = signer
        self.origin = origin
        self.timestamper = timestamper
        self.clock = clock
        self.interval_s = interval_s
        self.fail_closed_after = fail_closed_after
        self.latest: StoredCheckpoint | None = None
        self.tsa_failures = 0
        self.tsa_last_success: dt.datetime | None = None
        #: Since when a checkpoint has waited for its timestamp (None: none waits).
        self.untimestamped_since: dt.datetime | None = None

    def fail_closed(self) -> bool:
        """Whether exchanges must be refused: timestamps have failed for too long."""
        since = self.untimestamped_since
        return since is not None and self.clock() - since > self.fail_closed_after

    async def run(self) -> None:
        while True:
            try:
                await self.tick()
            except asyncio.CancelledError:
                raise
            except LogCorrupted:
                logger.critical("evidence log corrupted; checkpoints stopped", exc_info=True)
                raise
            except Exception:
                logger.exception("checkpoint round failed; retrying")
            await asyncio.sleep(self.interval_s)

    async def tick(self) -> StoredCheckpoint | None:
        """One round: a new checkpoint if the log grew, then pending timestamps."""
        made = await asyncio.to_thread(self.checkpoint_now)
        await self.timestamp_pending()
        return made

    def checkpoint_now(self) -> StoredCheckpoint | None:
        """Sign a checkpoint over every committed record, unless one exists for that size."""
        size = self.store.size()
        latest = self.latest or self.store.latest()
        if size == 0 or (latest is not None and latest.size >= size):
            self.latest = latest
            return None
        root = self.store.root(size)
        note = sign_checkpoint(Checkpoint(self.origin, size, root), self.signer)
        stored = self.store.add_checkpoint(StoredCheckpoint(size, root, note, self.clock(), None))
        self.latest = stored
        return stored

    async def timestamp_pending(self) -> None:
        """Timestamp the checkpoints still waiting, oldest first, until the TSA fails."""
        if self.timestamper is None:
            # No TSA configured: checkpoints are not timestamped, so no outage to fail on.
            self.untimestamped_since = None
            return
        pending = await asyncio.to_thread(self.store.untimestamped)
        for cp in pending:
            try:
                token = await self.timestamper(cp.note.encode("utf-8"))
            except Exception as e:
                self.tsa_failures += 1
                # Those before it are timestamped now: this one is the oldest waiting.
                self.untimestamped_since = _utc(cp.signed_at)
                logger.warning(
                    "timestamp not obtained",
                    extra={"fields": {"size": cp.size, "error": type(e).__name__}},
                )
                return
            await asyncio.to_thread(self.store.set_timestamp, cp.size, token)
            self.tsa_last_success = self.clock()
        # The TSA answered every request of this round: any backlog left is being worked
        # through, not failing.
        self.untimestamped_since = None
