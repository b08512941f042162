"""C2SP signed notes (https://c2sp.org/signed-note) with Ed25519 signatures.

A signed note is a UTF-8 text ending in a newline, a blank line, then one line per
signature::

    example.com/log\\n            ← the text: what is signed, final newline included
    42\\n
    Y2hlY2twb2ludA==\\n
    \\n                           ← the separator (the *last* blank line of the note)
    — example.com/log Uw2QOk...\\n ← em dash U+2014, space, key name, space,
                                    base64(4-byte key ID || 64-byte Ed25519 signature)

A key is named by its *name* and *key ID*; for Ed25519 (signature type 0x01) the ID is
``SHA-256(name || 0x0A || 0x01 || public key)[:4]``. Keys travel as text:

- verifier key: ``<name>+<key ID hex>+base64(0x01 || 32-byte public key)``
- signer key:   ``PRIVATE+KEY+<name>+<key ID hex>+base64(0x01 || 32-byte seed)``

Opening a note follows the spec (and Go's ``golang.org/x/mod/sumdb/note``): the note must
be valid UTF-8 without control characters other than newline; signatures from keys the
caller does not know (name *and* ID) are ignored; a known key's bad signature rejects the
whole note; and a note without one verified signature is rejected. Every rejection is a
``NoteError`` subclass naming the state.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import re
from collections.abc import Sequence
from dataclasses import dataclass, field

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

#: Signature type byte of Ed25519 in key IDs and encoded keys.
ED25519_TYPE = 0x01
KEY_ID_SIZE = 4
SIGNATURE_SIZE = 64
PUBLIC_KEY_SIZE = 32

#: Opening stops at this many signature lines (the spec asks to accept at least 16).
MAX_SIGNATURES = 100

_DASH = "\u2014 "  # em dash, space: the start of every signature line
# ASCII control characters (below U+0020) other than newline: no note may carry one.
_CONTROL = re.compile(r"[\x00-\x09\x0b-\x1f]")
_KEY_ID_HEX = re.compile(r"[0-9a-fA-F]{8}")


class NoteError(ValueError):
    """A note, or a key, could not be used; the subclass says why."""


class NoteMalformed(NoteError):
    """The note (or key) does not have the signed-note syntax."""


class NoteUnverified(NoteError):
    """No signature in the note is from a key the caller trusts."""


class NoteSignatureInvalid(NoteError):
    """A signature by a key the caller trusts does not verify: the note is rejected."""


def is_valid_name(name: str) -> bool:
    """Whether ``name`` can name a key: non-empty, no Unicode space, no '+'.

    Control characters are refused as well (a note may not carry any).
    """
    return (
        isinstance(name, str)
        and name != ""
        and "+" not in name
        and not any(ch.isspace() for ch in name)
        and not _CONTROL.search(name)
        and _is_utf8(name)
    )


def _is_utf8(text: str) -> bool:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:  # lone surrogates
        return False
    return True


def key_id(name: str, public_key: bytes) -> bytes:
    """The 4-byte key ID of an Ed25519 key: ``SHA-256(name || 0x0A || 0x01 || key)[:4]``."""
    if len(public_key) != PUBLIC_KEY_SIZE:
        raise ValueError(f"an Ed25519 public key is {PUBLIC_KEY_SIZE} bytes")
    material = name.encode("utf-8") + b"\n" + bytes([ED25519_TYPE]) + public_key
    return hashlib.sha256(material).digest()[:KEY_ID_SIZE]


def raw_public_key(key: Ed25519PublicKey | bytes) -> bytes:
    """The 32 raw bytes of an Ed25519 public key (given as a key object or as bytes)."""
    if isinstance(key, bytes):
        if len(key) != PUBLIC_KEY_SIZE:
            raise ValueError(f"an Ed25519 public key is {PUBLIC_KEY_SIZE} bytes")
        return key
    return key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)


@dataclass(frozen=True)
class NoteVerifier:
    """A trusted Ed25519 key: name, key ID and the 32-byte public key."""

    name: str
    key_id: bytes
    public_key: bytes
    _key: Ed25519PublicKey = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        if not is_valid_name(self.name):
            raise NoteMalformed(f"invalid key name {self.name!r}: no spaces or '+' allowed")
        if not isinstance(self.public_key, bytes) or len(self.public_key) != PUBLIC_KEY_SIZE:
            raise NoteMalformed(f"an Ed25519 public key is {PUBLIC_KEY_SIZE} bytes")
        if self.key_id != key_id(self.name, self.public_key):
            raise NoteMalformed(f"key ID does not match key {self.name!r}")
        object.__setattr__(self, "_key", Ed25519PublicKey.from_public_bytes(self.public_key))

    @classmethod
    def for_key(cls, name: str, public_key: Ed25519PublicKey | bytes) -> NoteVerifier:
        """The verifier of ``public_key`` under ``name``, its key ID computed."""
        raw = raw_public_key(public_key)
        return cls(name, key_id(name, raw), raw)

    def verify(self, message: bytes, signature: bytes) -> bool:
        """Whether ``signature`` is this key's Ed25519 signature of ``message``."""
        if len(signature) != SIGNATURE_SIZE:
            return False
        try:
            self._key.verify(signature, message)
        except InvalidSignature:
            return False
        return True

    @property
    def vkey(self) -> str:
        """This key as a verifier key string."""
        return format_verifier_key(self.name, self.public_key)


class Ed25519NoteSigner:
    """Signs notes with an Ed25519 key under a key name."""

    def __init__(self, name: str, private_key: Ed25519PrivateKey) -> None:
        if not is_valid_name(name):
            raise NoteMalformed(f"invalid key name {name!r}: no spaces or '+' allowed")
        if not isinstance(private_key, Ed25519PrivateKey):
            raise TypeError("a note signer needs an Ed25519 private key")
        self.name = name
        self._key = private_key
        self.public_key = raw_public_key(private_key.public_key())
        self.key_id = key_id(name, self.public_key)

    def sign(self, message: bytes) -> bytes:
        """The 64-byte Ed25519 signature of ``message``."""
        return self._key.sign(message)

    def verifier(self) -> NoteVerifier:
        """The verifier of this signer's key."""
        return NoteVerifier(self.name, self.key_id, self.public_key)

    def __repr__(self) -> str:  # never the key
        return f"Ed25519NoteSigner({self.name!r}, key_id={self.key_id.hex()})"


@dataclass(frozen=True)
class NoteSignature:
    """One signature line: key name, key ID and the signature bytes (key ID stripped)."""

    name: str
    key_id: bytes
    signature: bytes


# --- key strings ---------------------------------------------------------------------------


def format_verifier_key(name: str, public_key: Ed25519PublicKey | bytes) -> str:
    """``<name>+<key ID hex>+base64(0x01 || public key)``."""
    raw = raw_public_key(public_key)
    if not is_valid_name(name):
        raise NoteMalformed(f"invalid key name {name!r}: no spaces or '+' allowed")
    encoded = base64.b64encode(bytes([ED25519_TYPE]) + raw).decode("ascii")
    return f"{name}+{key_id(name, raw).hex()}+{encoded}"


def format_signer_key(name: str, private_key: Ed25519PrivateKey) -> str:
    """``PRIVATE+KEY+<name>+<key ID hex>+base64(0x01 || seed)``: a secret, keep it so."""
    if not is_valid_name(name):
        raise NoteMalformed(f"invalid key name {name!r}: no spaces or '+' allowed")
    seed = private_key.private_bytes(
        serialization.Encoding.Raw,
        serialization.PrivateFormat.Raw,
        serialization.NoEncryption(),
    )
    public = raw_public_key(private_key.public_key())
    encoded = base64.b64encode(bytes([ED25519_TYPE]) + seed).decode("ascii")
    return f"PRIVATE+KEY+{name}+{key_id(name, public).hex()}+{encoded}"


def b64decode_strict(text: str) -> bytes:
    """Strict standard base64: alphabet, padding, and canonical (re-encodes to ``text``)."""
    try:
        raw = base64.b64decode(text.encode("ascii"), validate=True)
    except (binascii.Error, UnicodeEncodeError, ValueError):
        raise NoteMalformed("not standard base64") from None
    if base64.b64encode(raw).decode("ascii") != text:
        raise NoteMalformed("not canonical base64")
    return raw


def generate_key(name: str) -> tuple[str, str]:
    """A fresh Ed25519 key for ``name``: ``(signer key, verifier key)``, as Go's GenerateKey."""
    private_key = Ed25519PrivateKey.generate()
    return format_signer_key(name, private_key), format_verifier_key(name, private_key.public_key())


def _split_key(text: str, *, private: bool) -> tuple[str, bytes, bytes]:
    """``(name, key ID, key material)`` of an encoded Ed25519 key (after the 0x01 byte)."""
    if private:
        if not text.startswith("PRIVATE+KEY+"):
            raise NoteMalformed("a signer key starts with PRIVATE+KEY+")
        text = text.removeprefix("PRIVATE+KEY+")
    parts = text.split("+", 2)  # base64 may contain '+' too: name and ID come first
    if len(parts) != 3:
        raise NoteMalformed("a key is <name>+<key ID>+<base64 key>")
    name, id_hex, encoded = parts
    if not is_valid_name(name) or not _KEY_ID_HEX.fullmatch(id_hex):
        raise NoteMalformed("a key is <name>+<8 hex digits>+<base64 key>")
    material = b64decode_strict(encoded)
    if len(material) != 1 + 32 or material[0] != ED25519_TYPE:
        raise NoteMalformed("only Ed25519 keys (type 0x01, 32 bytes) are supported")
    return name, bytes.fromhex(id_hex), material[1:]


def parse_verifier_key(vkey: str) -> NoteVerifier:
    """The verifier of a ``<name>+<hex>+<base64>`` key; ``NoteMalformed`` if it is not one
    or its key ID does not match its name and key."""
    name, kid, public = _split_key(vkey, private=False)
    return NoteVerifier(name, kid, public)


def parse_signer_key(skey: str) -> Ed25519NoteSigner:
    """The signer of a ``PRIVATE+KEY+<name>+<hex>+<base64 seed>`` key; checks the key ID."""
    name, kid, seed = _split_key(skey, private=True)
    signer = Ed25519NoteSigner(name, Ed25519PrivateKey.from_private_bytes(seed))
    if signer.key_id != kid:
        raise NoteMalformed(f"key ID does not match signer key {name!r}")
    return signer


# --- notes ---------------------------------------------------------------------------------


def _check_text(text: str) -> None:
    if not isinstance(text, str) or not text.endswith("\n"):
        raise NoteMalformed("note text must end with a newline")
    if _CONTROL.search(text) or not _is_utf8(text):
        raise NoteMalformed("note text must be UTF-8 without control characters")


def sign(text: str, signers: Sequence[Ed25519NoteSigner]) -> str:
    """The signed note of ``text``: text, a blank line, one signature line per signer.

    Each signer signs the UTF-8 text, final newline included.
    """
    _check_text(text)
    if not signers:
        raise ValueError("a signed note needs at least one signer")
    message = text.encode("utf-8")
    lines = []
    for signer in signers:
        encoded = base64.b64encode(signer.key_id + signer.sign(message)).decode("ascii")
        lines.append(f"{_DASH}{signer.name} {encoded}\n")
    return text + "\n" + "".join(lines)


def split_note(note: str | bytes) -> tuple[str, list[NoteSignature]]:
    """The text and every signature line of ``note``, nothing verified.

    Checks the syntax only: UTF-8, no control characters but newline, the text separated
    from the signatures by the last blank line, each signature line well formed.
    """
    if isinstance(note, bytes):
        try:
            note = note.decode("utf-8")
        except UnicodeDecodeError:
            raise NoteMalformed("a note is UTF-8") from None
    if not isinstance(note, str):
        raise NoteMalformed("a note is text")
    if _CONTROL.search(note) or not _is_utf8(note):
        raise NoteMalformed("a note may not contain control characters other than newline")
    split = note.rfind("\n\n")
    if split < 0:
        raise NoteMalformed("a note has a blank line between its text and its signatures")
    text, block = note[: split + 1], note[split + 2 :]
    if not block.endswith("\n"):
        raise NoteMalformed("a note ends with a signature line and a newline")
    lines = block[:-1].split("\n")
    if len(lines) > MAX_SIGNATURES:
        raise NoteMalformed(f"a note has at most {MAX_SIGNATURES} signatures")
    signatures = []
    for line in lines:
        if not line.startswith(_DASH):
            raise NoteMalformed("a signature line starts with an em dash and a space")
        name, space, encoded = line[len(_DASH) :].partition(" ")
        if not space or not is_valid_name(name) or not encoded:
            raise NoteMalformed("a signature line is '— <name> <base64>'")
        raw = b64decode_strict(encoded)
        if len(raw) <= KEY_ID_SIZE:
            raise NoteMalformed("a signature is a key ID and at least one byte")
        signatures.append(NoteSignature(name, raw[:KEY_ID_SIZE], raw[KEY_ID_SIZE:]))
    return text, signatures


def open_note(
    note: str | bytes, verifiers: Sequence[NoteVerifier]
) -> tuple[str, list[NoteSignature]]:
    """The text of ``note`` and its signatures verified by ``verifiers``.

    Signatures from unknown keys (name and key ID not both matching a verifier) are
    ignored, repeated ones counted once. Raises ``NoteMalformed`` for bad syntax,
    ``NoteSignatureInvalid`` if a known key's signature fails, ``NoteUnverified`` if no
    known key signed.
    """
    text, signatures = split_note(note)
    known: dict[tuple[str, bytes], NoteVerifier] = {}
    for verifier in verifiers:
        slot = (verifier.name, verifier.key_id)
        if slot in known and known[slot].public_key != verifier.public_key:
            raise NoteError(f"two trusted keys are named {verifier.name}+{verifier.key_id.hex()}")
        known[slot] = verifier
    message = text.encode("utf-8")
    verified: list[NoteSignature] = []
    seen: set[tuple[str, bytes]] = set()
    for sig in signatures:
        slot = (sig.name, sig.key_id)
        if slot not in known or slot in seen:
            continue
        seen.add(slot)
        if not known[slot].verify(message, sig.signature):
            raise NoteSignatureInvalid(f"invalid signature for key {sig.name}+{sig.key_id.hex()}")
        verified.append(sig)
    if not verified:
        raise NoteUnverified("note has no signature from a trusted key")
    return text, verified
