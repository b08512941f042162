"""Evidence bundles: one exchange as a self-contained file that verifies offline.

A bundle is JSON::

    {"format": "lienthong-evidence-bundle/1",
     "x_road_id": "...",
     "origin": "lienthong.local/evidence-log",
     "log_key": "<the log's note verifier key>",
     "checkpoint": {"size", "root", "note", "timestamp", "signed_at"},
     "records": [{"index", "record", "leaf_hash", "proof": [hex, ...]}],
     "signatures": {"<digest>": "<compact JWS>"},
     "certificates": {"ca": "<PEM>"}}

The records are the exchange's log entries (accepted, answered, or refused) exactly as
logged, each with its inclusion proof against the checkpoint; the checkpoint carries its
RFC 3161 token; the JWS carry their signers' certificates (``x5c``) and the token its TSA's.
The CA certificate and the log key are embedded for convenience only: ``check_bundle``
verifies against what the auditor pins, and says which key and CA it used otherwise.

``extract_bundle`` writes the parts as files for stock tools (docs/audit.md).
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from auditor.verify import (
    CheckpointInvalid,
    Problem,
    RecordChecks,
    RecordInvalid,
    Trust,
    TrustError,
    VerifiedCheckpoint,
    check_checkpoint,
    first_problem,
    served_size,
)
from core.checkpoint import openssl_verify_material
from core.merkle import leaf_hash, verify_inclusion
from core.pki import certificate_pem

BUNDLE_FORMAT = "lienthong-evidence-bundle/1"


class BundleError(Exception):
    """A bundle cannot be made or read; the message says why."""


class BundleNotReady(BundleError):
    """The exchange is not yet under a timestamped checkpoint (try again in a few seconds)."""


def not_ready(exchange: Mapping[str, Any]) -> str | None:
    """Why the auditor API's answer for an exchange cannot be bundled yet, if it cannot."""
    checkpoint = exchange.get("checkpoint")
    if not isinstance(checkpoint, dict):
        return "the log has no checkpoint yet"
    if not checkpoint.get("timestamp"):
        return f"checkpoint {checkpoint.get('size')} has no timestamp token yet"
    records = exchange.get("records")
    if not isinstance(records, list) or not records:
        return "the exchange has no records"
    for r in records:
        if not isinstance(r, dict) or r.get("proof") is None:
            index = r.get("index") if isinstance(r, dict) else "?"
            return f"record {index} is not under a checkpoint yet"
    return None


def make_bundle(exchange: Mapping[str, Any], *, trust: Trust) -> dict[str, Any]:
    """The bundle of an exchange as ``GET /audit/exchanges/<id>`` gives it."""
    why = not_ready(exchange)
    if why is not None:
        raise BundleNotReady(why)
    return {
        "format": BUNDLE_FORMAT,
        "x_road_id": exchange.get("x_road_id"),
        "origin": trust.origin,
        "log_key": trust.log_key.vkey,
        "checkpoint": exchange["checkpoint"],
        "records": exchange["records"],
        "signatures": exchange.get("signatures") or {},
        "certificates": {"ca": b"".join(certificate_pem(c) for c in trust.cas).decode("ascii")},
    }


def load_bundle(path: Path) -> dict[str, Any]:
    try:
        bundle = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as e:
        raise BundleError(f"{path} is not a bundle: {e}") from e
    if not isinstance(bundle, dict) or bundle.get("format") != BUNDLE_FORMAT:
        raise BundleError(f"{path} is not a {BUNDLE_FORMAT} file")
    return bundle


def embedded_trust(bundle: Mapping[str, Any]) -> Trust:
    """The CA and log key the bundle carries (to be compared with what the auditor trusts)."""
    certificates = bundle.get("certificates")
    ca = certificates.get("ca") if isinstance(certificates, dict) else None
    vkey = bundle.get("log_key")
    if not isinstance(ca, str) or not isinstance(vkey, str):
        raise BundleError("the bundle carries no CA certificate or log key; pin your own")
    try:
        return Trust.from_material(ca.encode("ascii"), vkey)
    except (TrustError, UnicodeEncodeError) as e:
        raise BundleError(f"the bundle's own CA or log key is unusable: {e}") from e


@dataclass
class BundleReport:
    """What checking a bundle showed."""

    x_road_id: str | None
    checkpoint: VerifiedCheckpoint | None = None
    records: list[tuple[int, str]] = field(default_factory=list)
    signatures: int = 0
    problems: list[Problem] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems

    @property
    def first(self) -> Problem | None:
        return first_problem(self.problems)


def check_bundle(bundle: Mapping[str, Any], trust: Trust, *, now: dt.datetime) -> BundleReport:
    """Verify a bundle offline against ``trust``: the checkpoint's signature and token, each
    record's leaf hash and inclusion proof, each record's signatures."""
    x_road_id = bundle.get("x_road_id")
    report = BundleReport(x_road_id if isinstance(x_road_id, str) else None)
    if report.x_road_id is None:
        report.problems.append(Problem.log("the bundle names no X-Road-Id"))
    obj = bundle.get("checkpoint")
    try:
        report.checkpoint = check_checkpoint(obj, trust, now=now, grace=None)
    except CheckpointInvalid as e:
        report.problems.append(Problem.checkpoint(served_size(obj) or 0, str(e)))
        return report
    records = bundle.get("records")
    signatures = bundle.get("signatures")
    if not isinstance(records, list) or not records or not isinstance(signatures, dict):
        report.problems.append(Problem.log("the bundle has no records or no signatures"))
        return report
    checks = RecordChecks(trust)
    for entry in records:
        problem = _check_entry(entry, report, checks, signatures, report.checkpoint)
        if problem is not None:
            report.problems.append(problem)
    return report


def _check_entry(
    entry: object,
    report: BundleReport,
    checks: RecordChecks,
    signatures: Mapping[str, str],
    checkpoint: VerifiedCheckpoint,
) -> Problem | None:
    if not isinstance(entry, dict) or not isinstance(entry.get("index"), int):
        return Problem.log("a record of the bundle has no index")
    index: int = entry["index"]
    record = entry.get("record")
    if not isinstance(record, str):
        return Problem.record(index, "the record is not a string")
    data = record.encode("utf-8")
    leaf = leaf_hash(data)
    if entry.get("leaf_hash") != leaf.hex():
        return Problem.record(index, "the bundle's leaf hash is not the record's")
    try:
        proof = [bytes.fromhex(h) for h in entry.get("proof") or []]
    except (TypeError, ValueError):
        return Problem.record(index, "the inclusion proof is not a list of hex hashes")
    if not verify_inclusion(index, checkpoint.size, leaf, proof, checkpoint.root):
        return Problem.record(
            index, f"the inclusion proof does not lead to checkpoint {checkpoint.size}'s root"
        )
    try:
        report.signatures += checks.record(data, signatures)
    except RecordInvalid as e:
        return Problem.record(index, str(e))
    body = json.loads(data)
    if body.get("x_road_id") != report.x_road_id:
        return Problem.record(index, "the record is of another exchange")
    report.records.append((index, str(body.get("kind"))))
    return None


# -- files for stock tools ---------------------------------------------------------------------


def extract_bundle(bundle: Mapping[str, Any], directory: Path, trust: Trust) -> list[Path]:
    """Write the bundle's parts as files (see docs/audit.md); the CA and log key written
    are ``trust``'s (pinned ones, or the bundle's own). Returns the files written."""
    checkpoint = bundle.get("checkpoint")
    if not isinstance(checkpoint, dict) or not isinstance(checkpoint.get("note"), str):
        raise BundleError("the bundle has no checkpoint note")
    note: str = checkpoint["note"]
    try:
        token = base64.b64decode(checkpoint.get("timestamp") or "", validate=True)
    except (binascii.Error, ValueError) as e:
        raise BundleError("the bundle's timestamp token is not base64") from e
    try:
        message, signature = openssl_verify_material(note, trust.log_key.public_key)
    except ValueError as e:
        raise BundleError(f"the checkpoint has no signature by the log key: {e}") from e
    public_key = Ed25519PublicKey.from_public_bytes(trust.log_key.public_key)
    files: dict[str, bytes] = {
        "checkpoint.note": note.encode("utf-8"),
        "checkpoint.txt": message,
        "checkpoint.sig": signature,
        "checkpoint.tsr": token,
        "log-key.pem": public_key.public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        ),
        "ca.pem": b"".join(certificate_pem(c) for c in trust.cas),
    }
    for entry in bundle.get("records") or []:
        if not isinstance(entry, dict) or not isinstance(entry.get("index"), int):
            raise BundleError("a record of the bundle has no index")
        name = f"record-{entry['index']}"
        files[f"{name}.json"] = str(entry.get("record", "")).encode("utf-8")
        files[f"{name}.proof"] = "".join(f"{h}\n" for h in entry.get("proof") or []).encode()
    signatures = bundle.get("signatures")
    for digest, jws in (signatures if isinstance(signatures, dict) else {}).items():
        if isinstance(digest, str) and digest.replace("-", "").replace("_", "").isalnum():
            files[f"jws-{digest}.txt"] = str(jws).encode("ascii", "replace")
    directory.mkdir(parents=True, exist_ok=True)
    written = []
    for name, data in files.items():
        path = directory / name
        path.write_bytes(data)
        written.append(path)
    return written
