"""A prototype of a cheaper sequencer batch, to measure the patch proposed for the gateway.

``gateway.records.RecordWriter._write`` was profiled (py-spy) on the log scenario (256
submitters, batches of about 500 records, SQLite WAL with ``synchronous=FULL``). Since the
orjson canonical JSON and ``ON CONFLICT DO NOTHING`` landed, what is left of its CPU is
mostly SQLAlchemy Core's ``executemany`` path for its three ``insert(table)`` statements:
per-row parameter processing (``construct_params``, the ``LargeBinary`` and ``DateTime``
bind processors) before the DB-API's own ``executemany`` starts. The rest is SQLite itself
(the inserts, and the commit: the WAL write and its fsync, the durable part).

The patch prototyped here, without touching the gateway: the three inserts compiled once per
dialect and sent with ``Connection.exec_driver_sql`` (plain tuples for positional
paramstyles, dicts otherwise), with the ``DateTime`` column converted by the dialect's own
bind processor so the stored bytes are unchanged (``tests/bench`` compares the tables
written by both writers). Same rows, same transaction, same commit: only the Python around
them gets cheaper.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Insert, insert
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection, Dialect
from sqlalchemy.sql.compiler import SQLCompiler

from core import merkle
from gateway.models import exchange_record, exchange_signature, merkle_node
from gateway.records import Appended, PendingRecord, RecordWriter


class _Statement:
    """One insert compiled once for a dialect, executed straight by the DBAPI."""

    def __init__(self, stmt: Insert, dialect: Dialect, columns: list[str]) -> None:
        compiled = stmt.compile(dialect=dialect, column_keys=columns)
        if not isinstance(compiled, SQLCompiler):  # pragma: no cover - always for inserts
            raise TypeError("an insert compiles with a SQL compiler")
        self.sql = compiled.string
        self.positional = compiled.positional
        self.order = list(compiled.positiontup or columns) if compiled.positional else columns
        self.columns = columns

    def execute(self, conn: Connection, rows: list[tuple[Any, ...]]) -> None:
        if not rows:
            return
        if self.positional and self.order == self.columns:
            conn.exec_driver_sql(self.sql, rows)
        else:
            params = [dict(zip(self.columns, r, strict=True)) for r in rows]
            if self.positional:
                conn.exec_driver_sql(self.sql, [tuple(p[c] for c in self.order) for p in params])
            else:
                conn.exec_driver_sql(self.sql, params)


class PatchedRecordWriter(RecordWriter):
    """``RecordWriter`` with the proposed ``_write`` (everything else inherited)."""

    _statements: tuple[_Statement, _Statement, _Statement, Any] | None = None

    def _prepared(self, dialect: Dialect) -> tuple[_Statement, _Statement, _Statement, Any]:
        if self._statements is None:
            record_cols = ["seq", "x_road_id", "kind", "recorded_at", "client", "subject", "record"]
            if dialect.name == "postgresql":
                sig: Insert = postgresql.insert(exchange_signature).on_conflict_do_nothing()
            else:
                sig = sqlite.insert(exchange_signature).on_conflict_do_nothing()
            when = exchange_record.c.recorded_at.type.dialect_impl(dialect).bind_processor(dialect)
            self._statements = (
                _Statement(insert(exchange_record), dialect, record_cols),
                _Statement(sig, dialect, ["digest", "sealed"]),
                _Statement(insert(merkle_node), dialect, ["level", "idx", "hash"]),
                when,
            )
        return self._statements

    def _write(self, batch: list[list[PendingRecord]]) -> list[Appended]:
        with self.engine.begin() as conn:
            if conn.dialect.name == "postgresql":  # pragma: no cover - as the gateway does
                raise NotImplementedError("the prototype is measured on SQLite")
            records_sql, sigs_sql, nodes_sql, when = self._prepared(conn.dialect)
            seq = self._next_seq
            edge = dict(self._edge)

            def get(level: int, index: int) -> bytes:
                idx, h = edge[level]
                if idx != index:  # pragma: no cover - the right edge is always the sibling
                    raise LookupError(f"right edge at level {level} is {idx}, not {index}")
                return h

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
                    at = when(r.recorded_at) if when else r.recorded_at
                    rows.append((seq, r.x_road_id, r.kind, at, r.client, r.subject, data))
                    for digest, sealed in r.signatures:
                        sigs[digest] = sealed
                    results.append(Appended(seq, h))
                    seq += 1
            sigs_sql.execute(conn, list(sigs.items()))
            records_sql.execute(conn, rows)
            nodes_sql.execute(conn, nodes)
        self._next_seq, self._edge = seq, edge
        return results
