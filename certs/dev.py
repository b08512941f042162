"""The identities of the local stack, and ``ensure_dev_pki``: make whatever is missing.

Providers, consumers, the gateway, the auditor, the administrator and the citizen identity
stand-in each get a member certificate; the gateway, the registries and the other HTTPS
services get a server certificate (SAN 127.0.0.1, localhost); the time-stamping authority
gets a time-stamping certificate (``tsa/tsa.crt``, critical EKU timeStamping) besides its
server certificate.
"""

from __future__ import annotations

import datetime as dt
import os
from dataclasses import dataclass
from pathlib import Path

from certs.authority import Authority, IssuedEntry, Kind
from core.note import generate_key
from core.pki import load_certificate
from registries.business.seed_data import DEV_BANK_CODE

GATEWAY_ID = "VN/GOV/LIENTHONG/gateway"
ADMIN_ID = "VN/GOV/LIENTHONG/admin"
AUDITOR_ID = "VN/GOV/KTNN/audit"
CITIZEN_ID_SERVICE_ID = "VN/GOV/BCA/citizen-id"

PROVIDERS = {
    "population": "VN/GOV/BCA/population",
    "business": "VN/GOV/BTC/business",
    "land": "VN/GOV/BNNMT/land",
}
CONSUMERS = {
    "one-stop": "VN/GOV/UBND-HN/one-stop",
    "land-office": "VN/GOV/VPDK-HN/land-office",
    "kyc": f"VN/COM/{DEV_BANK_CODE}/kyc",
}

#: Every member certificate of the dev stack.
DEV_MEMBERS: tuple[str, ...] = (
    GATEWAY_ID,
    *PROVIDERS.values(),
    *CONSUMERS.values(),
    AUDITOR_ID,
    ADMIN_ID,
    CITIZEN_ID_SERVICE_ID,
)

#: Every TLS server certificate of the dev stack (by service name).
DEV_SERVERS: tuple[str, ...] = ("gateway", *PROVIDERS, "citizen-id", "tsa")

#: Every RFC 3161 time-stamping unit of the dev stack (``Authority.tsa_paths(name)``).
DEV_TSAS: tuple[str, ...] = ("tsa",)

#: Re-issue what expires within this, and re-sign a CRL whose next update is this close.
RENEW_BEFORE = dt.timedelta(days=1)

#: The evidence log's origin (C2SP checkpoint origin line, and its note key's name).
LOG_ORIGIN = "lienthong.local/evidence-log"


def log_key_paths(root: Path) -> tuple[Path, Path]:
    """``(note.key, note.vkey)``: the evidence log's Ed25519 note signer and verifier keys."""
    return root / "log" / "note.key", root / "log" / "note.vkey"


def ensure_log_key(root: Path, origin: str = LOG_ORIGIN) -> bool:
    """Make the log's note key (C2SP signer key text, 0600) and verifier key if missing."""
    skey_path, vkey_path = log_key_paths(root)
    if skey_path.exists() and vkey_path.exists():
        return False
    skey, vkey = generate_key(origin)
    skey_path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    fd = os.open(skey_path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as f:
        f.write(skey + "\n")
    vkey_path.write_text(vkey + "\n")
    return True


@dataclass(frozen=True)
class Made:
    subject: str
    kind: Kind
    entry: IssuedEntry


def _usable(authority: Authority, subject: str, kind: Kind, now: dt.datetime) -> bool:
    entry = authority.current(subject, kind)
    if entry is None:
        return False
    cert_path, _ = authority.paths_for(subject, kind)
    cert = load_certificate(cert_path)
    # Re-issue what expires within a day, so a long-running dev stack keeps working.
    return cert.not_valid_after_utc > now + RENEW_BEFORE


def ensure_dev_pki(root: Path, *, now: dt.datetime | None = None) -> list[Made]:
    """Create the CA and every dev certificate that is missing, revoked or expiring.

    Idempotent: a second run issues nothing and changes no file (it only re-signs a CRL
    whose next update is less than a day away, and tightens loose permissions: keys 0600,
    directories 0700). Returns what it issued.
    """
    authority = Authority(root)
    authority.init_ca(now=now)
    current = now or dt.datetime.now(dt.UTC)
    made: list[Made] = []
    wanted: list[tuple[str, Kind]] = [(m, "member") for m in DEV_MEMBERS]
    wanted += [(s, "server") for s in DEV_SERVERS]
    wanted += [(t, "tsa") for t in DEV_TSAS]
    for subject, kind in wanted:
        if not _usable(authority, subject, kind, current):
            made.append(Made(subject, kind, authority.issue(subject, kind=kind, now=now)))
    ensure_log_key(root)
    next_update = authority.crl_next_update()
    if next_update is None or next_update <= current + RENEW_BEFORE:
        authority.write_crl(now=now)
    _tighten_permissions(root)
    return made


def _tighten_permissions(root: Path) -> None:
    """Keys 0600 and directories 0700, for a PKI made before they were (or copied loosely)."""
    for path in [root, *root.rglob("*")]:
        if path.is_symlink():
            continue
        wanted = 0o700 if path.is_dir() else 0o600 if path.suffix == ".key" else None
        if wanted is not None and path.stat().st_mode & 0o777 != wanted:
            path.chmod(wanted)
