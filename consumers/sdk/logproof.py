"""Proving later that an exchange is in the gateway's evidence log.

Every answer carries a log receipt (the gateway's signed promise: log index and leaf hash).
Once a checkpoint covers it, ``client.meta.log_proof(x_road_id)`` fetches the inclusion
proofs of the member's own records, and ``verify_log_proof`` checks them — against the
receipt's leaf hashes and a checkpoint signed by the log key the member pins (the
gateway's ``var/pki/log/note.vkey``), not against anything the gateway says now.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from core.checkpoint import Checkpoint, open_checkpoint
from core.merkle import verify_inclusion
from core.note import NoteError, NoteVerifier, parse_verifier_key


class LogProofInvalid(Exception):
    """The proof does not show the receipt's records under a pinned, signed checkpoint."""


@dataclass(frozen=True)
class LogProof:
    """What a verified proof establishes: the records are in the log at this checkpoint."""

    x_road_id: str
    checkpoint: Checkpoint
    indices: tuple[int, ...]


def load_log_key(path: Path | str) -> NoteVerifier:
    """The log's verifier key (``<name>+<id>+<key>``), e.g. ``var/pki/log/note.vkey``."""
    return parse_verifier_key(Path(path).read_text().strip())


def verify_log_proof(
    proof: Mapping[str, Any], *, receipt: Mapping[str, Any], log_key: NoteVerifier
) -> LogProof:
    """Check a ``logProof`` answer against the receipt the member kept and the pinned key.

    Every record the receipt names (``index``, and ``accepted_index`` if any) must be in the
    proof with the receipt's leaf hash, and its inclusion proof must lead to the root of a
    checkpoint signed by ``log_key``. Raises ``LogProofInvalid`` naming what failed.
    """
    if proof.get("x_road_id") != receipt.get("jti"):
        raise LogProofInvalid("the proof is for another exchange than the receipt")
    cp = proof.get("checkpoint")
    if not isinstance(cp, Mapping) or not isinstance(cp.get("note"), str):
        raise LogProofInvalid("no checkpoint covers the exchange yet; ask again later")
    try:
        checkpoint = open_checkpoint(cp["note"], log_key, origin=receipt.get("origin"))
    except NoteError as e:
        raise LogProofInvalid(f"the checkpoint does not verify with the pinned key: {e}") from e
    wanted = {receipt.get("index"): receipt.get("leaf_hash")}
    if "accepted_index" in receipt:
        wanted[receipt.get("accepted_index")] = receipt.get("accepted_leaf_hash")
    given = {r.get("index"): r for r in proof.get("records", []) if isinstance(r, Mapping)}
    for index, leaf_hex in wanted.items():
        record = given.get(index)
        if record is None or record.get("proof") is None:
            raise LogProofInvalid(f"record {index} is not under the checkpoint")
        try:
            leaf = bytes.fromhex(str(leaf_hex))
            path = [bytes.fromhex(h) for h in record["proof"]]
        except (ValueError, TypeError) as e:
            raise LogProofInvalid(f"record {index}: malformed hashes") from e
        if not isinstance(index, int) or not verify_inclusion(
            index, checkpoint.size, leaf, path, checkpoint.root
        ):
            raise LogProofInvalid(f"record {index} is not in the log as the receipt says")
    return LogProof(str(receipt.get("jti")), checkpoint, tuple(sorted(wanted)))  # type: ignore[arg-type]
