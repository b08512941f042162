"""What the auditor keeps between runs: the tree it verified last time.

``--state FILE`` is JSON::

    {"origin": "lienthong.local/evidence-log", "size": 10000, "root": "<hex>",
     "leaves": "FILE.leaves", "checkpoint": "<the signed note verified>",
     "verified_at": "2026-11-23T10:00:00Z"}

``origin``, ``size`` and ``root`` are all a later run needs to demand that the log extends
what was seen. The *leaves file* next to it (the 32-byte leaf hashes of those ``size``
records, in order) lets a later run name the first record that changed when the log was
rewritten, even under new, validly signed checkpoints. It is the auditor's own copy, bound
to the state by the root: a leaves file whose tree is not ``root`` is ignored (and said so).
Both files are replaced atomically.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from core.merkle import HASH_SIZE, root


class StateError(Exception):
    """The state file cannot be used; the message says how to fix it."""


@dataclass(frozen=True)
class AuditState:
    """The tree verified last time: origin, size, root, and (if kept) its leaf hashes."""

    origin: str
    size: int
    root: bytes
    leaves: bytes | None = None
    #: Why the leaves file was not used, if there is one that was not.
    leaves_problem: str | None = None

    @classmethod
    def load(cls, path: Path) -> AuditState:
        try:
            data: Any = json.loads(path.read_text(encoding="utf-8"))
            origin, size, root_hex = data["origin"], data["size"], data["root"]
            if not isinstance(origin, str) or not isinstance(size, int) or size < 0:
                raise TypeError("origin is a string, size a count")
            digest = bytes.fromhex(root_hex)
            if len(digest) != HASH_SIZE:
                raise ValueError("the root is a SHA-256 hash")
        except (OSError, ValueError, KeyError, TypeError) as e:
            raise StateError(
                f"{path} is not an audit state ({e}); remove it to start afresh"
            ) from e
        leaves, problem = _load_leaves(path, data.get("leaves"), size, digest)
        return cls(origin, size, digest, leaves, problem)

    def save(self, path: Path, *, checkpoint: str | None, now: dt.datetime) -> None:
        """Write the state and its leaves file (each atomically: a crash leaves the old one)."""
        leaves_path = _leaves_path(path)
        if self.leaves is not None:
            _write_atomic(leaves_path, self.leaves)
        data = {
            "origin": self.origin,
            "size": self.size,
            "root": self.root.hex(),
            "leaves": leaves_path.name if self.leaves is not None else None,
            "checkpoint": checkpoint,
            "verified_at": now.astimezone(dt.UTC).isoformat().replace("+00:00", "Z"),
        }
        _write_atomic(path, (json.dumps(data, indent=2) + "\n").encode("utf-8"))


def _leaves_path(path: Path) -> Path:
    return path.with_name(path.name + ".leaves")


def _load_leaves(
    path: Path, name: object, size: int, digest: bytes
) -> tuple[bytes | None, str | None]:
    if not isinstance(name, str) or not name:
        return None, None
    leaves_path = path.with_name(Path(name).name)  # only beside the state, never elsewhere
    try:
        leaves = leaves_path.read_bytes()
    except OSError as e:
        return None, f"the leaves file {leaves_path} cannot be read ({e.strerror})"
    if len(leaves) != size * HASH_SIZE:
        return None, f"the leaves file {leaves_path} does not hold {size} leaf hashes"
    hashes = [leaves[i : i + HASH_SIZE] for i in range(0, len(leaves), HASH_SIZE)]
    if root(hashes) != digest:
        return None, f"the leaves file {leaves_path} is not the state's tree"
    return leaves, None


def _write_atomic(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
