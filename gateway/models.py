"""The gateway's tables: exchange records, their signatures, runtime grants, consents.

``exchange_record`` is the evidence log's leaf store: one row per record, ``seq`` assigned
contiguously by the single writer (``gateway.records``), ``record`` the canonical JSON bytes
that the Merkle tree hashes (issue: the evidence log). It holds no personal data in clear.
The signed statements the records point to by digest (the client's request JWS, the
registry's response JWS) can carry personal ids (a path like ``/persons/0010…``), so they
live in ``exchange_signature`` encrypted (AES-256-GCM under the gateway's evidence key).
"""

from __future__ import annotations

from sqlalchemy import (
    JSON,
    BigInteger,
    Column,
    DateTime,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Table,
    Text,
)

metadata = MetaData()

#: Log positions: 64-bit in PostgreSQL; SQLite's INTEGER is 64-bit already.
LogIndex = BigInteger().with_variant(Integer, "sqlite")

exchange_record = Table(
    "exchange_record",
    metadata,
    Column("seq", LogIndex, primary_key=True, autoincrement=False),
    Column("x_road_id", String(128), nullable=False),
    Column("kind", String(16), nullable=False),
    Column("recorded_at", DateTime(timezone=True), nullable=False),
    Column("client", String(300)),
    Column("subject", String(64)),  # HMAC of the data subject's personal id, or NULL
    Column("record", LargeBinary, nullable=False),  # canonical JSON (RFC 8785)
)
Index("ix_exchange_record_x_road_id", exchange_record.c.x_road_id)
Index("ix_exchange_record_subject", exchange_record.c.subject)

exchange_signature = Table(
    "exchange_signature",
    metadata,
    Column("digest", String(64), primary_key=True),  # sha256_b64url of the JWS
    Column("sealed", LargeBinary, nullable=False),  # nonce ‖ AES-GCM(JWS)
)

access_grant = Table(
    "access_grant",
    metadata,
    Column("id", String(36), primary_key=True),
    Column("client", String(300), nullable=False),
    Column("service", String(400), nullable=False),
    Column("grant", JSON, nullable=False),  # the grant as in the policy files
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("created_by", String(300), nullable=False),
    Column("revoked_at", DateTime(timezone=True)),
    Column("revoked_by", String(300)),
)

consent = Table(
    "consent",
    metadata,
    Column("id", String(36), primary_key=True),
    Column("subject", String(64), nullable=False),  # HMAC of the citizen's personal id
    Column("client", String(300), nullable=False),
    Column("purpose", String(64), nullable=False),
    Column("fields", JSON, nullable=False),  # {"<service id>": ["field", ...]}
    Column("valid_from", DateTime(timezone=True), nullable=False),
    Column("valid_until", DateTime(timezone=True), nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("revoked_at", DateTime(timezone=True)),
    Column("note", Text),
)
Index("ix_consent_subject", consent.c.subject)

#: The Merkle tree over ``exchange_record`` as its perfect subtrees: node (level, idx) is the
#: root of leaves [idx * 2**level, (idx + 1) * 2**level). Written with the records that
#: complete them; never updated.
merkle_node = Table(
    "merkle_node",
    metadata,
    Column("level", Integer, primary_key=True, autoincrement=False),
    Column(
        "idx", BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=False
    ),
    Column("hash", LargeBinary(32), nullable=False),
)

#: Signed checkpoints of the log: one per size at most (the primary key is the CAS).
checkpoint = Table(
    "checkpoint",
    metadata,
    Column(
        "size", BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=False
    ),
    Column("root", LargeBinary(32), nullable=False),
    Column("note", Text, nullable=False),  # the C2SP signed note
    Column("signed_at", DateTime(timezone=True), nullable=False),
    Column("tsa_token", LargeBinary),  # RFC 3161 token (DER) over the note, once obtained
)
