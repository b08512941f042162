"""The verification engine: pure checks over what the evidence log serves, usable offline.

Nothing here talks to the network or trusts the gateway. Trust comes from ``Trust``: the CA
certificate and the log's note verifier key the auditor pinned (and, optionally, the CA's
CRL, read for revocation *dates*). The checks:

- **a record** (``RecordChecks.record``): canonical JSON in the documented shape; for a
  record whose client signature the gateway verified (``accepted``, or ``refused`` with a
  ``client_cert``), the request JWS is in the log's signatures, matches its digest,
  verifies against the CA at the record's ``time``, is by the record's ``client`` with that
  certificate, and its ``jti``, purpose, consent, issue, method and body digest are the
  record's; for an ``answered`` record with a ``response_jws_sha256``, the registry's JWS is
  there, matches, verifies at the record's time, is by the provider of the record's
  ``service`` (the service id minus its last segment) and names the record's X-Road-Id,
  ``request_hash``, provider status and response digest. A ``refused`` record without a
  ``client_cert`` was refused before its signature held: only the digest of its JWS, if kept,
  is checked.
- **a page of entries** (``RecordChecks.page``): every index there, in order; each leaf hash
  recomputed from the record bytes (the server's own ``leaf_hash`` must agree); each record.
- **a checkpoint** (``check_checkpoint``): the note opens with the pinned key and names the
  pinned origin, the served size and root are the signed ones, and the RFC 3161 token
  verifies against the CA and covers the note's bytes.
- **the tree** (``LogTree``, ``first_mismatch``, ``locate``): roots recomputed from the leaves
  at every checkpoint's size. Checkpoints that match the recomputed tree are consistent
  with one another by construction (one list of leaves). For the first that does not,
  ``locate`` names the first leaf that breaks it by binary search over consistency proofs
  against that checkpoint's signed root: a proof from size ``m`` verifies for our root of
  the first ``m`` leaves only if those leaves are the ones the checkpoint commits to, so a
  server that lies can only make the search stop *earlier*, never hide a bad leaf.
- **the last run** (``compare_state``): the tree must extend the state the auditor saved;
  where it does not, the state's own leaf hashes name the first record that changed.

Every failure is a ``Problem`` placed in the log (a record index, or a checkpoint's size);
the first one is what ``lienthong audit verify`` reports.
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import re
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import orjson
from cryptography import x509

from core.canonical import canonical_json
from core.checkpoint import open_checkpoint
from core.merkle import HASH_SIZE, MemoryTree, leaf_hash, verify_consistency
from core.note import NoteError, NoteSignatureInvalid, NoteUnverified, NoteVerifier
from core.note import parse_verifier_key as parse_note_key
from core.pki import TrustStore, certificate_pem, fingerprint
from core.signing import (
    TYP_REQUEST,
    TYP_RESPONSE,
    SignatureRejected,
    Verified,
    sha256_b64url,
    verify,
)
from core.timestamp import TimestampInvalid, verify_timestamp

#: The record format this auditor knows (``v``); a newer one is refused, not guessed at.
RECORD_VERSION = 1
RECORD_KINDS = frozenset({"accepted", "answered", "refused", "grant", "consent"})
_TIME = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}\.[0-9]{6}Z")
_HEX_HASH = re.compile(r"[0-9a-f]{64}")

#: How long a checkpoint may go without its timestamp token: the gateway's fail-closed window.
DEFAULT_TIMESTAMP_GRACE = dt.timedelta(hours=4)


# -- problems ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Problem:
    """Something that does not hold, and where: record ``index`` N, checkpoint N, or the log."""

    where: Literal["index", "checkpoint", "log"]
    position: int
    reason: str

    @classmethod
    def record(cls, index: int, reason: str) -> Problem:
        return cls("index", index, reason)

    @classmethod
    def checkpoint(cls, size: int, reason: str) -> Problem:
        return cls("checkpoint", size, reason)

    @classmethod
    def log(cls, reason: str) -> Problem:
        return cls("log", -1, reason)

    @property
    def sort_key(self) -> tuple[int, int]:
        """Log order: a checkpoint of size N sits after record N - 1 and before record N."""
        return (self.position, 1 if self.where == "index" else 0)

    def __str__(self) -> str:
        if self.where == "log":
            return self.reason
        return f"{self.where} {self.position}: {self.reason}"


def first_problem(problems: Sequence[Problem]) -> Problem | None:
    """The problem earliest in the log (ties: the one found first)."""
    return min(problems, key=lambda p: p.sort_key, default=None)


# -- trust ---------------------------------------------------------------------------------


class TrustError(Exception):
    """The pinned trust material is missing or unusable; the message says how to fix it."""


@dataclass(frozen=True)
class Trust:
    """What the auditor pins: the CA, the log's note key, revocations (serial → date)."""

    cas: tuple[x509.Certificate, ...]
    log_key: NoteVerifier
    revoked: Mapping[int, dt.datetime] = field(default_factory=dict)

    @property
    def origin(self) -> str:
        """The log's origin: the name of its note key (and its checkpoints' first line)."""
        return self.log_key.name

    @classmethod
    def from_material(cls, ca_pem: bytes, vkey: str, crl_pem: bytes | None = None) -> Trust:
        cas = _certificates(ca_pem)
        revoked = _revocations(crl_pem, cas) if crl_pem else {}
        return cls(cas, _log_key(vkey), revoked)

    @classmethod
    def load(cls, *, ca: Path, log_key: Path, crl: Path | None = None) -> Trust:
        """The pinned files; a ``crl`` that does not exist is no CRL."""
        cas, revoked = load_ca(ca, crl)
        return cls(cas, load_log_key(log_key), revoked)

    def material(self) -> tuple[bytes, str, dict[int, dt.datetime]]:
        """``(CA PEM, verifier key, revocations)``: picklable, for worker processes."""
        pem = b"".join(certificate_pem(c) for c in self.cas)
        return pem, self.log_key.vkey, dict(self.revoked)

    @classmethod
    def from_portable(cls, material: tuple[bytes, str, dict[int, dt.datetime]]) -> Trust:
        pem, vkey, revoked = material
        trust = cls.from_material(pem, vkey)
        return cls(trust.cas, trust.log_key, revoked)

    def describe(self) -> list[str]:
        """What this trust is, for the auditor to compare with what they expect."""
        lines = [f"CA sha256:{fingerprint(c)} {c.subject.rfc4514_string()}" for c in self.cas]
        lines.append(f"log key {self.log_key.vkey}")
        return lines


def load_ca(
    ca: Path, crl: Path | None = None
) -> tuple[tuple[x509.Certificate, ...], dict[int, dt.datetime]]:
    """The pinned CA certificates, and the revocations of the CRL if ``crl`` exists."""
    cas = _certificates(_read(ca, "CA certificate"))
    crl_pem = crl.read_bytes() if crl is not None and crl.exists() else None
    return cas, _revocations(crl_pem, cas) if crl_pem else {}


def load_log_key(path: Path) -> NoteVerifier:
    """The pinned note verifier key of the log (``<origin>+<key id>+<base64 key>``)."""
    return _log_key(_read(path, "log key").decode("utf-8", "replace"))


def _read(path: Path, what: str) -> bytes:
    try:
        return path.read_bytes()
    except OSError as e:
        raise TrustError(
            f"no {what} at {path} ({e.strerror}); pin the auditor's own copy, or run "
            "`lienthong certs init` for the dev stack"
        ) from e


def _certificates(pem: bytes) -> tuple[x509.Certificate, ...]:
    try:
        return tuple(x509.load_pem_x509_certificates(pem))
    except ValueError as e:
        raise TrustError("the CA file holds no PEM certificate") from e


def _log_key(vkey: str) -> NoteVerifier:
    try:
        return parse_note_key(vkey.strip())
    except NoteError as e:
        raise TrustError(f"the log key is not a note verifier key: {e}") from e


def _revocations(crl_pem: bytes, cas: Sequence[x509.Certificate]) -> dict[int, dt.datetime]:
    try:
        crl = x509.load_pem_x509_crl(crl_pem)
    except ValueError as e:
        raise TrustError("the CRL file is not a PEM CRL") from e
    if not any(
        crl.issuer == ca.subject and crl.is_signature_valid(ca.public_key())  # type: ignore[arg-type]
        for ca in cas
    ):
        raise TrustError("the CRL is not signed by the pinned CA")
    return {r.serial_number: r.revocation_date_utc for r in crl}


# -- records -------------------------------------------------------------------------------


class RecordInvalid(Exception):
    """A record does not hold; the message says why (it becomes a ``Problem``)."""


def record_time(value: object) -> dt.datetime:
    """A record's ``time``: RFC 3339 UTC with microseconds and ``Z``."""
    if not isinstance(value, str) or not _TIME.fullmatch(value):
        raise RecordInvalid("time is not RFC 3339 UTC with microseconds")
    try:
        return dt.datetime.fromisoformat(value)
    except ValueError as e:
        raise RecordInvalid("time is not a valid date and time") from e


def _is_canonical(data: bytes, obj: Any) -> bool:
    """Whether ``data`` is the RFC 8785 form of ``obj`` (a fast path for the common case)."""
    if orjson.dumps(obj, option=orjson.OPT_SORT_KEYS) == data:
        return True  # keys in code point order, plain numbers: the same bytes JCS gives
    try:
        return canonical_json(obj) == data
    except (TypeError, ValueError):
        return False


def provider_of(service: object) -> str:
    """The provider subsystem of a service id: the id minus its last segment."""
    if not isinstance(service, str) or service.count("/") != 4:
        raise RecordInvalid("service is not an X-Road service id")
    return service.rsplit("/", 1)[0]


@dataclass(frozen=True)
class PageResult:
    """What one page of entries showed: its leaves, in order, and its problems."""

    start: int
    #: Leaf hashes (32 bytes each) of the records from ``start`` on, up to the first gap.
    leaves: bytes
    #: Whether every index of the page was there, in order.
    complete: bool
    records: int
    signatures: int
    problems: list[Problem]


class RecordChecks:
    """Checks records and pages against one ``Trust`` (one per process)."""

    def __init__(self, trust: Trust) -> None:
        self.trust = trust
        self.store = TrustStore(cas=list(trust.cas))  # revocation: by date, below
        self._fingerprints: dict[x509.Certificate, str] = {}

    def record(self, data: bytes, signatures: Mapping[str, str]) -> int:
        """Check one record; return how many signatures were verified. ``RecordInvalid``."""
        try:
            body = orjson.loads(data)
        except orjson.JSONDecodeError as e:
            raise RecordInvalid("not JSON") from e
        if not isinstance(body, dict):
            raise RecordInvalid("not a JSON object")
        if not _is_canonical(data, body):
            raise RecordInvalid("not canonical JSON (RFC 8785)")
        if body.get("v") != RECORD_VERSION:
            raise RecordInvalid(f"record version {body.get('v')!r} is not {RECORD_VERSION}")
        kind = body.get("kind")
        if kind not in RECORD_KINDS:
            raise RecordInvalid(f"unknown kind {kind!r}")
        when = record_time(body.get("time"))
        x_road_id = body.get("x_road_id")
        if not isinstance(x_road_id, str) or not x_road_id:
            raise RecordInvalid("no x_road_id")
        if kind == "accepted" or (kind == "refused" and body.get("client_cert") is not None):
            if kind == "accepted" and body.get("request_hash") != body.get("client_jws_sha256"):
                raise RecordInvalid("request_hash is not the digest of the client's JWS")
            self._request(body, signatures, when)
            return 1
        if kind == "refused":
            digest = body.get("client_jws_sha256")
            if digest is not None and digest in signatures:
                self._statement(signatures, digest, "client's JWS")
            return 0
        if kind == "answered" and body.get("response_jws_sha256") is not None:
            self._response(body, signatures, when)
            return 1
        return 0

    def _fingerprint(self, cert: x509.Certificate) -> str:
        known = self._fingerprints.get(cert)
        if known is None:
            if len(self._fingerprints) > 4096:
                self._fingerprints.clear()
            known = self._fingerprints[cert] = fingerprint(cert)
        return known

    def _statement(self, signatures: Mapping[str, str], digest: object, what: str) -> str:
        if not isinstance(digest, str):
            raise RecordInvalid(f"the digest of the {what} is missing")
        token = signatures.get(digest)
        if token is None:
            raise RecordInvalid(f"the {what} ({digest}) is not among the log's signatures")
        if not isinstance(token, str) or sha256_b64url(token.encode()) != digest:
            raise RecordInvalid(f"the {what} does not match its digest {digest}")
        return token

    def _verify(self, token: str, when: dt.datetime, typ: str, what: str) -> Verified:
        try:
            verified = verify(token, store=self.store, now=when, typ=typ)
        except SignatureRejected as e:
            raise RecordInvalid(
                f"the {what} does not verify at the record's time ({e.reason})"
            ) from e
        serial = verified.certificate.serial_number
        revoked_at = self.trust.revoked.get(serial)
        if revoked_at is not None and revoked_at <= when:
            raise RecordInvalid(f"the {what} is by a certificate revoked at {revoked_at}")
        return verified

    def _request(
        self, body: dict[str, Any], signatures: Mapping[str, str], when: dt.datetime
    ) -> None:
        what = "client's JWS"
        token = self._statement(signatures, body.get("client_jws_sha256"), what)
        verified = self._verify(token, when, TYP_REQUEST, what)
        claims = verified.claims
        client = body.get("client")
        if str(verified.signer) != client or claims.get("iss") != client:
            raise RecordInvalid(f"the {what} is by {verified.signer}, not the record's client")
        if self._fingerprint(verified.certificate) != body.get("client_cert"):
            raise RecordInvalid(f"the {what} is not by the record's client_cert")
        checks = (
            ("jti", "x_road_id"),
            ("htm", "method"),
            ("purpose", "purpose"),
            ("consent", "consent"),
            ("issue", "issue"),
            ("body_sha256", "request_sha256"),
        )
        for claim, key in checks:
            if claims.get(claim) != body.get(key):
                raise RecordInvalid(f"the {what}'s {claim} is not the record's {key}")

    def _response(
        self, body: dict[str, Any], signatures: Mapping[str, str], when: dt.datetime
    ) -> None:
        what = "response JWS"
        token = self._statement(signatures, body.get("response_jws_sha256"), what)
        verified = self._verify(token, when, TYP_RESPONSE, what)
        claims = verified.claims
        provider = provider_of(body.get("service"))
        if str(verified.signer) != provider or claims.get("iss") != provider:
            raise RecordInvalid(f"the {what} is by {verified.signer}, not the provider {provider}")
        checks = (
            ("jti", "x_road_id"),
            ("request_hash", "request_hash"),
            ("status", "provider_status"),
            ("body_sha256", "response_sha256"),
        )
        for claim, key in checks:
            if claims.get(claim) != body.get(key):
                raise RecordInvalid(f"the {what}'s {claim} is not the record's {key}")

    def page(self, raw: bytes, start: int, end: int) -> PageResult:
        """Check a ``GET /audit/entries?start=&end=`` answer, as served (its raw bytes)."""
        problems: list[Problem] = []
        try:
            page = orjson.loads(raw)
            entries = page["entries"]
            signatures = page.get("signatures") or {}
            if not isinstance(entries, list) or not isinstance(signatures, dict):
                raise TypeError("entries is a list, signatures an object")
        except (ValueError, KeyError, TypeError):
            problems.append(Problem.record(start, f"the log's page [{start}, {end}) is malformed"))
            return PageResult(start, b"", False, 0, 0, problems)
        leaves = bytearray()
        contiguous = True
        expected = start
        records = signed = 0
        for entry in entries:
            index, data, served = _entry_parts(entry)
            if index is None or index < expected or index >= end:
                problems.append(Problem.record(expected, "the log's entries are out of order"))
                contiguous = False
                break
            if index > expected:
                problems.append(Problem.record(expected, "missing: the log does not serve it"))
                contiguous = False
            expected = index + 1
            if data is None:
                problems.append(Problem.record(index, "the record is not a UTF-8 string"))
                contiguous = False
                continue
            h = leaf_hash(data)
            if contiguous:
                leaves += h
            if served != h.hex():
                problems.append(Problem.record(index, "the server's leaf hash is not the record's"))
            records += 1
            try:
                signed += self.record(data, signatures)
            except RecordInvalid as e:
                problems.append(Problem.record(index, str(e)))
        if contiguous and expected < end:
            problems.append(Problem.record(expected, "missing: the log does not serve it"))
            contiguous = False
        return PageResult(start, bytes(leaves), contiguous, records, signed, problems)


def _entry_parts(entry: object) -> tuple[int | None, bytes | None, object]:
    if not isinstance(entry, dict):
        return None, None, None
    index = entry.get("index")
    if not isinstance(index, int) or isinstance(index, bool):
        return None, None, None
    record = entry.get("record")
    data = record.encode("utf-8") if isinstance(record, str) else None
    return index, data, entry.get("leaf_hash")


# -- checkpoints ---------------------------------------------------------------------------


class CheckpointInvalid(Exception):
    """A checkpoint does not hold; the message says why."""


@dataclass(frozen=True)
class VerifiedCheckpoint:
    """A checkpoint whose signature (and token, if any) verified."""

    size: int
    root: bytes
    note: str
    timestamp: bytes | None
    gen_time: dt.datetime | None
    signed_at: str | None

    def public(self) -> dict[str, Any]:
        """The checkpoint as the auditor API serves it."""
        return {
            "size": self.size,
            "root": self.root.hex(),
            "note": self.note,
            "timestamp": base64.b64encode(self.timestamp).decode() if self.timestamp else None,
            "signed_at": self.signed_at,
        }


def served_size(obj: object) -> int | None:
    """The ``size`` of a served checkpoint object, if it has a sane one."""
    if not isinstance(obj, dict):
        return None
    size = obj.get("size")
    return size if isinstance(size, int) and not isinstance(size, bool) and size >= 0 else None


def check_checkpoint(
    obj: object,
    trust: Trust,
    *,
    now: dt.datetime,
    grace: dt.timedelta | None = DEFAULT_TIMESTAMP_GRACE,
) -> VerifiedCheckpoint:
    """Check a served checkpoint object. ``grace`` None: a timestamp token is required;
    otherwise a checkpoint signed less than ``grace`` ago may still wait for one."""
    if not isinstance(obj, dict) or not isinstance(obj.get("note"), str):
        raise CheckpointInvalid("not a checkpoint object with a note")
    note: str = obj["note"]
    try:
        cp = open_checkpoint(note, trust.log_key, origin=trust.origin)
    except NoteUnverified as e:
        raise CheckpointInvalid("the note is not signed by the pinned log key") from e
    except NoteSignatureInvalid as e:
        raise CheckpointInvalid(
            "the note's signature does not verify with the pinned log key"
        ) from e
    except NoteError as e:
        raise CheckpointInvalid(f"the note is not a checkpoint of the pinned log: {e}") from e
    if served_size(obj) != cp.size or obj.get("root") != cp.root.hex():
        raise CheckpointInvalid("the served size or root is not the signed one")
    signed_at = obj.get("signed_at") if isinstance(obj.get("signed_at"), str) else None
    encoded = obj.get("timestamp")
    if encoded is None:
        _check_pending(signed_at, now, grace)
        return VerifiedCheckpoint(cp.size, cp.root, note, None, None, signed_at)
    try:
        if not isinstance(encoded, str):
            raise ValueError("not a string")
        token = base64.b64decode(encoded, validate=True)
    except (ValueError, binascii.Error) as e:
        raise CheckpointInvalid("the timestamp token is not base64") from e
    try:
        info = verify_timestamp(token, note.encode("utf-8"), ca_certificates=trust.cas, now=now)
    except TimestampInvalid as e:
        raise CheckpointInvalid(f"the timestamp token does not verify ({e.reason}): {e}") from e
    return VerifiedCheckpoint(cp.size, cp.root, note, token, info.gen_time, signed_at)


def _check_pending(signed_at: str | None, now: dt.datetime, grace: dt.timedelta | None) -> None:
    if grace is None:
        raise CheckpointInvalid("no timestamp token")
    try:
        when = dt.datetime.fromisoformat(signed_at or "")
    except ValueError as e:
        raise CheckpointInvalid("no timestamp token (and no signing time)") from e
    if when.tzinfo is None:
        when = when.replace(tzinfo=dt.UTC)
    if now - when > grace:
        raise CheckpointInvalid(f"no timestamp token, {now - when} after signing")


# -- the tree ------------------------------------------------------------------------------


class LogTree:
    """The tree recomputed from the records: leaf hashes, and roots at any size."""

    def __init__(self) -> None:
        self._tree = MemoryTree()
        self.leaves = bytearray()

    @property
    def size(self) -> int:
        return self._tree.size

    def extend(self, leaves: bytes) -> None:
        for i in range(0, len(leaves), HASH_SIZE):
            self._tree.append(leaves[i : i + HASH_SIZE])
        self.leaves += leaves

    def root(self, size: int) -> bytes:
        return self._tree.root(size)

    def leaf(self, index: int) -> bytes:
        return bytes(self.leaves[index * HASH_SIZE : (index + 1) * HASH_SIZE])


def first_mismatch(
    tree: LogTree, checkpoints: Sequence[VerifiedCheckpoint]
) -> tuple[VerifiedCheckpoint | None, VerifiedCheckpoint | None]:
    """``(last checkpoint that matches, first that does not)`` among those the tree reaches."""
    good: VerifiedCheckpoint | None = None
    for cp in sorted(checkpoints, key=lambda c: c.size):
        if cp.size > tree.size:
            break
        if tree.root(cp.size) != cp.root:
            return good, cp
        good = cp
    return good, None


#: Asks the log for a consistency proof from ``m`` to ``n`` leaves (None if it gives none).
ConsistencySource = Callable[[int, int], Awaitable[list[bytes] | None]]


async def locate(
    tree: LogTree,
    checkpoint: VerifiedCheckpoint,
    prove: ConsistencySource,
    *,
    known_good: int = 0,
) -> int:
    """The first index whose leaf breaks ``checkpoint`` (whose root the tree does not match).

    Binary search for the longest prefix of our leaves that ``checkpoint`` extends: prefix
    ``m`` agrees when the log's consistency proof from ``m`` to the checkpoint verifies with
    our root of the first ``m`` leaves (``known_good``, the size of an earlier checkpoint we
    matched, is tried first, in case the log forked there). The first leaf past the longest
    agreeing prefix is the one to blame. O(log n) proofs.
    """
    n = checkpoint.size

    async def agrees(m: int) -> bool:
        if m == 0:
            return True
        proof = await prove(m, n)
        return proof is not None and verify_consistency(m, n, tree.root(m), checkpoint.root, proof)

    lo, hi = 0, n
    if 0 < known_good < n and await agrees(known_good):
        lo = known_good
    while hi - lo > 1:
        mid = (lo + hi) // 2
        if await agrees(mid):
            lo = mid
        else:
            hi = mid
    return lo


# -- the last run --------------------------------------------------------------------------


def compare_state(
    tree: LogTree,
    *,
    size: int,
    root: bytes,
    leaves: bytes | None,
    log_size: int,
) -> Problem | None:
    """Whether the recomputed tree (over ``log_size`` checkpointed records) extends the tree
    the auditor saw last time (``size`` leaves, ``root``; ``leaves`` their hashes if kept)."""
    reachable = min(tree.size, size)
    if leaves is not None:
        for i in range(reachable):
            if leaves[i * HASH_SIZE : (i + 1) * HASH_SIZE] != tree.leaf(i):
                return Problem.record(i, "changed since the last run: not the record verified then")
    if size > log_size:
        return Problem.record(
            log_size, f"missing: the last run saw {size} records, the log now commits to {log_size}"
        )
    if size > tree.size:
        return None  # the tree stops at a gap, reported on its own
    if tree.root(size) != root:
        return Problem.record(
            0,
            f"the log no longer extends the last run's tree of {size} records "
            "(the state has no leaf hashes to name the record that changed)",
        )
    return None
