"""C2SP tlog checkpoints (https://c2sp.org/tlog-checkpoint): the log's signed tree head.

A checkpoint is a signed note (``core.note``) whose text is exactly::

    <origin>\\n          the log's identity, e.g. lienthong.gov.vn/evidence
    <size>\\n            leaves in the tree, decimal, no leading zeros ("0" when empty)
    <base64 root>\\n     the RFC 6962 root hash (32 bytes) at that size
    [<extension>\\n]...  optional, non-empty, opaque lines (not recommended by C2SP)

An auditor checks the log's Ed25519 signature with stock OpenSSL: the signed message is the
text above, final newline included, and the signature is the 64 bytes after the 4-byte key
ID of the log's signature line (``openssl_verify_material``)::

    openssl pkeyutl -verify -pubin -inkey log-key.pem -rawin -in msg -sigfile sig

Parsing is strict, since two spellings of one tree head must not both verify: the size is
canonical decimal below 2**64 and the root canonical base64 of 32 bytes.
"""

from __future__ import annotations

import base64
import re
from dataclasses import dataclass

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from core.merkle import HASH_SIZE
from core.note import (
    Ed25519NoteSigner,
    NoteMalformed,
    NoteUnverified,
    NoteVerifier,
    b64decode_strict,
    key_id,
    open_note,
    raw_public_key,
    sign,
    split_note,
)

#: Tree sizes are unsigned 64-bit, as in every tlog implementation.
MAX_TREE_SIZE = 2**64 - 1

_SIZE = re.compile(r"0|[1-9][0-9]*")
_CONTROL = re.compile(r"[\x00-\x1f]")


class CheckpointMalformed(NoteMalformed):
    """The note's text is not a checkpoint body."""


def _check_line(value: object, what: str) -> None:
    if not isinstance(value, str) or not value or _CONTROL.search(value):
        raise CheckpointMalformed(f"the {what} is a non-empty line without control characters")


@dataclass(frozen=True)
class Checkpoint:
    """A tree head: the log's origin, its size and its root hash (plus extension lines)."""

    origin: str
    size: int
    root: bytes
    extensions: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        _check_line(self.origin, "origin")
        if not isinstance(self.size, int) or isinstance(self.size, bool):
            raise CheckpointMalformed("the tree size is an int")
        if not 0 <= self.size <= MAX_TREE_SIZE:
            raise CheckpointMalformed(f"the tree size is in 0..2**64-1, not {self.size}")
        if not isinstance(self.root, bytes) or len(self.root) != HASH_SIZE:
            raise CheckpointMalformed(f"the root hash is {HASH_SIZE} bytes")
        object.__setattr__(self, "extensions", tuple(self.extensions))
        for line in self.extensions:
            _check_line(line, "extension line")

    def body(self) -> str:
        """The note text: ``origin\\nsize\\nbase64(root)\\n`` and one line per extension."""
        lines = [self.origin, str(self.size), base64.b64encode(self.root).decode("ascii")]
        return "".join(f"{line}\n" for line in [*lines, *self.extensions])

    @classmethod
    def parse(cls, body: str) -> Checkpoint:
        """The checkpoint a note text spells; ``CheckpointMalformed`` unless canonical."""
        if not isinstance(body, str) or not body.endswith("\n"):
            raise CheckpointMalformed("a checkpoint body ends with a newline")
        lines = body[:-1].split("\n")
        if len(lines) < 3:
            raise CheckpointMalformed("a checkpoint has origin, size and root lines")
        origin, size, root, *extensions = lines
        if not _SIZE.fullmatch(size):
            raise CheckpointMalformed("the tree size is decimal without leading zeros")
        try:
            digest = b64decode_strict(root)
        except NoteMalformed:
            raise CheckpointMalformed("the root hash is canonical standard base64") from None
        # Canonical size and root, lines checked by the constructor: body() gives ``body`` back.
        return cls(origin, int(size), digest, tuple(extensions))


def sign_checkpoint(checkpoint: Checkpoint, signer: Ed25519NoteSigner) -> str:
    """The checkpoint as a note signed by ``signer`` (whose name should be the origin)."""
    return sign(checkpoint.body(), [signer])


def open_checkpoint(
    note: str | bytes, verifier: NoteVerifier, *, origin: str | None = None
) -> Checkpoint:
    """The checkpoint in ``note`` once ``verifier``'s signature on it checks out.

    Other signatures (witnesses, rotated keys) are ignored. With ``origin``, the
    checkpoint must also be that log's. Raises ``NoteError`` subclasses.
    """
    text, _ = open_note(note, [verifier])
    checkpoint = Checkpoint.parse(text)
    if origin is not None and checkpoint.origin != origin:
        raise CheckpointMalformed(f"checkpoint of {checkpoint.origin!r}, not of {origin!r}")
    return checkpoint


def openssl_verify_material(
    note: str | bytes, public_key: Ed25519PublicKey | bytes
) -> tuple[bytes, bytes]:
    """``(message, signature)`` to hand ``openssl pkeyutl -verify -rawin`` for ``public_key``.

    The message is the note text (the checkpoint body, final newline included) as UTF-8;
    the signature is the 64 bytes after the key ID on the line signed by ``public_key``
    (found by its key ID, computed from each line's name). Nothing is verified here: that
    is OpenSSL's job. ``NoteUnverified`` if no line is by that key.
    """
    raw = raw_public_key(public_key)
    text, signatures = split_note(note)
    for sig in signatures:
        if sig.key_id == key_id(sig.name, raw):
            return text.encode("utf-8"), sig.signature
    raise NoteUnverified("no signature line in the note is by this key")
