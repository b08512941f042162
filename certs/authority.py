"""The certificate authority: issuing member and server certificates, revoking, the CRL.

Pure functions over keys and certificates (``issue``, ``make_ca``, ``make_crl``), used by
tests to build chains in memory, and ``Authority``: the same over a directory (``var/pki``)
with an index of everything issued, as ``lienthong certs`` uses it.

Layout of the directory::

    ca.crt  ca.key                          the root CA (key 0600)
    crl.pem                                 revoked serials, signed by the CA
    index.json                              every certificate issued: serial, subject, kind,
                                            validity, file, revoked_at, reason
    members/VN/GOV/BCA/population.crt|.key  a member subsystem (client auth, signing)
    servers/gateway.crt|.key                a TLS server (SAN 127.0.0.1, localhost, its name)
    tsa/tsa.crt|.key                        an RFC 3161 time-stamping unit

Private keys are 0600 and every directory of the PKI is 0700. Changes to ``index.json`` and
``crl.pem`` happen under an exclusive lock on ``.lock``, so two ``lienthong certs``
commands (or ``certs`` and ``up``) never lose each other's entries.
"""

from __future__ import annotations

import datetime as dt
import fcntl
import ipaddress
import json
import os
import re
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Literal

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from core.ids.xroad import ClientId, parse_client_id
from core.pki import (
    XROAD_URI_SCHEME,
    PrivateKey,
    certificate_pem,
    load_certificate,
    load_private_key,
    write_private_key,
)

Algorithm = Literal["p256", "ed25519"]
Kind = Literal["member", "server", "tsa"]
Status = Literal["valid", "expired", "not_yet_valid", "revoked"]

ALGORITHMS: tuple[Algorithm, ...] = ("p256", "ed25519")
KINDS: tuple[Kind, ...] = ("member", "server", "tsa")

#: CRL reason codes (RFC 5280 §5.3.1) a revocation may give; "unspecified" is left out of
#: the CRL entry, as RFC 5280 recommends.
REVOCATION_REASONS: dict[str, x509.ReasonFlags] = {
    flag.value: flag
    for flag in (
        x509.ReasonFlags.unspecified,
        x509.ReasonFlags.key_compromise,
        x509.ReasonFlags.affiliation_changed,
        x509.ReasonFlags.superseded,
        x509.ReasonFlags.cessation_of_operation,
        x509.ReasonFlags.privilege_withdrawn,
    )
}

#: A server's or time-stamping unit's name: it becomes a file name.
_NAME_RE = re.compile(r"[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?")

CA_NAME = "lienthong dev root CA"
CA_DAYS = 3650
DEFAULT_DAYS = 365
SERVER_SANS = ("127.0.0.1", "localhost")


def new_key(algorithm: Algorithm = "p256") -> PrivateKey:
    if algorithm == "ed25519":
        return ed25519.Ed25519PrivateKey.generate()
    return ec.generate_private_key(ec.SECP256R1())


def _hash_for(key: PrivateKey) -> hashes.SHA256 | None:
    # Ed25519 signs without a separate digest.
    return None if isinstance(key, ed25519.Ed25519PrivateKey) else hashes.SHA256()


def make_ca(
    key: PrivateKey, *, now: dt.datetime, days: int = CA_DAYS, name: str = CA_NAME
) -> x509.Certificate:
    subject = x509.Name(
        [
            x509.NameAttribute(NameOID.COUNTRY_NAME, "VN"),
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, "lienthong (development)"),
            x509.NameAttribute(NameOID.COMMON_NAME, name),
        ]
    )
    public = key.public_key()
    return (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(subject)
        .public_key(public)
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=days))
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=False,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=True,
                crl_sign=True,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(public), critical=False)
        .sign(key, _hash_for(key))
    )


def issue(
    *,
    ca_cert: x509.Certificate,
    ca_key: PrivateKey,
    subject: str,
    public_key: ec.EllipticCurvePublicKey | ed25519.Ed25519PublicKey,
    not_before: dt.datetime,
    not_after: dt.datetime,
    kind: Kind = "member",
    serial: int | None = None,
) -> x509.Certificate:
    """A certificate for ``subject`` (an X-Road id, or a server's name) signed by the CA.

    Member certificates name the X-Road id in CN and as a ``xroad:`` SAN URI; server
    certificates carry SAN 127.0.0.1, localhost and their own name (a compose host name); a
    ``tsa`` certificate is for RFC 3161 time-stamping only (critical EKU, RFC 3161 §2.3).
    """
    name = [x509.NameAttribute(NameOID.COUNTRY_NAME, "VN")]
    sans: list[x509.GeneralName] = []
    if kind == "member":
        member = parse_client_id(subject)
        name.append(x509.NameAttribute(NameOID.ORGANIZATION_NAME, member.member))
        sans.append(x509.UniformResourceIdentifier(XROAD_URI_SCHEME + str(member)))
        usages = [ExtendedKeyUsageOID.CLIENT_AUTH]
    elif kind == "server":
        sans += [x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]
        if subject != "localhost":
            # The service's own name too: how containers reach it on a compose network.
            sans.append(x509.DNSName(subject))
        usages = [ExtendedKeyUsageOID.SERVER_AUTH]
    else:
        usages = [ExtendedKeyUsageOID.TIME_STAMPING]
    name.append(x509.NameAttribute(NameOID.COMMON_NAME, subject))
    builder = (
        x509.CertificateBuilder()
        .subject_name(x509.Name(name))
        .issuer_name(ca_cert.subject)
        .public_key(public_key)
        .serial_number(serial or x509.random_serial_number())
        .not_valid_before(not_before)
        .not_valid_after(not_after)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                content_commitment=kind == "tsa",
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=False,
                crl_sign=False,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(x509.ExtendedKeyUsage(usages), critical=kind == "tsa")
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(public_key), critical=False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_cert.public_key()),  # type: ignore[arg-type]
            critical=False,
        )
    )
    if sans:
        builder = builder.add_extension(x509.SubjectAlternativeName(sans), critical=False)
    return builder.sign(ca_key, _hash_for(ca_key))


def check_name(name: str) -> str:
    """``name`` if it is a valid server or time-stamping unit name (a file name: ``gateway``)."""
    if not isinstance(name, str) or not _NAME_RE.fullmatch(name):
        raise ValueError(
            f"{name!r} is not a server name: use 1-63 lower-case letters, digits and '-'"
        )
    return name


def make_crl(
    *,
    ca_cert: x509.Certificate,
    ca_key: PrivateKey,
    revoked: Sequence[tuple[int, dt.datetime] | tuple[int, dt.datetime, str | None]],
    now: dt.datetime,
    next_update_days: int = 7,
) -> x509.CertificateRevocationList:
    """A CRL of ``(serial, revoked_at[, reason])`` signed by the CA."""
    builder = (
        x509.CertificateRevocationListBuilder()
        .issuer_name(ca_cert.subject)
        .last_update(now)
        .next_update(now + dt.timedelta(days=next_update_days))
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_cert.public_key()),  # type: ignore[arg-type]
            critical=False,
        )
    )
    for serial, when, *rest in revoked:
        entry = x509.RevokedCertificateBuilder().serial_number(serial).revocation_date(when)
        flag = REVOCATION_REASONS.get(rest[0] or "") if rest else None
        if flag is not None and flag is not x509.ReasonFlags.unspecified:
            entry = entry.add_extension(x509.CRLReason(flag), critical=False)
        builder = builder.add_revoked_certificate(entry.build())
    return builder.sign(ca_key, _hash_for(ca_key))


@dataclass
class IssuedEntry:
    """One line of ``index.json``."""

    serial: str  # hex
    subject: str
    kind: str
    not_before: str
    not_after: str
    file: str  # relative to the PKI directory, without extension
    algorithm: str
    revoked_at: str | None = None
    reason: str | None = None

    def status(self, now: dt.datetime) -> Status:
        """Revoked, expired, not yet valid or valid at ``now`` (validity ends inclusive)."""
        if self.revoked_at is not None:
            return "revoked"
        if now < dt.datetime.fromisoformat(self.not_before):
            return "not_yet_valid"
        if now > dt.datetime.fromisoformat(self.not_after):
            return "expired"
        return "valid"


def _utcnow() -> dt.datetime:
    return dt.datetime.now(dt.UTC).replace(microsecond=0)


def _write_text(path: Path, data: bytes) -> None:
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_bytes(data)
    os.replace(tmp, path)


def normalize_serial(serial: str) -> str:
    """A serial as ``index.json`` writes it: lower-case hex, no ``0x``, colons or zeros ahead.

    Accepts what openssl prints (``1A:2B:...``) and what ``lienthong certs list`` shows.
    """
    s = serial.strip().lower().removeprefix("0x").replace(":", "")
    return s.lstrip("0") or "0"


class Authority:
    """The dev CA over a directory: issue, revoke, list, with ``index.json`` and ``crl.pem``."""

    def __init__(self, root: Path) -> None:
        self.root = root

    # -- paths ---------------------------------------------------------------------------
    @property
    def ca_cert_path(self) -> Path:
        return self.root / "ca.crt"

    @property
    def ca_key_path(self) -> Path:
        return self.root / "ca.key"

    @property
    def crl_path(self) -> Path:
        return self.root / "crl.pem"

    @property
    def index_path(self) -> Path:
        return self.root / "index.json"

    def member_paths(self, member: ClientId | str) -> tuple[Path, Path]:
        return _pair(self.root / "members" / str(parse_client_id(str(member))))

    def server_paths(self, name: str) -> tuple[Path, Path]:
        return _pair(self.root / "servers" / check_name(name))

    def tsa_paths(self, name: str) -> tuple[Path, Path]:
        return _pair(self.root / "tsa" / check_name(name))

    def paths_for(self, subject: str, kind: Kind) -> tuple[Path, Path]:
        if kind == "member":
            return self.member_paths(subject)
        if kind == "server":
            return self.server_paths(subject)
        return self.tsa_paths(subject)

    @contextmanager
    def _locked(self) -> Iterator[None]:
        """Exclusive use of the directory (other processes wait) while state changes."""
        self._private_dir(self.root)
        fd = os.open(self.root / ".lock", os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            yield
        finally:
            os.close(fd)

    def _private_dir(self, path: Path) -> None:
        """Make ``path`` and every directory between it and the root 0700."""
        path.mkdir(mode=0o700, parents=True, exist_ok=True)
        root = self.root.resolve()
        here = path.resolve()
        while True:
            here.chmod(0o700)
            if here == root or root not in here.parents:
                break
            here = here.parent

    # -- state ---------------------------------------------------------------------------
    def exists(self) -> bool:
        return self.ca_cert_path.exists() and self.ca_key_path.exists()

    def entries(self) -> list[IssuedEntry]:
        if not self.index_path.exists():
            return []
        return [IssuedEntry(**e) for e in json.loads(self.index_path.read_text())]

    def _save(self, entries: list[IssuedEntry]) -> None:
        data = json.dumps([asdict(e) for e in entries], indent=2, ensure_ascii=False) + "\n"
        _write_text(self.index_path, data.encode())

    def _ca(self) -> tuple[x509.Certificate, PrivateKey]:
        if not self.exists():
            raise FileNotFoundError(f"no CA in {self.root}; run `lienthong certs init`")
        return load_certificate(self.ca_cert_path), load_private_key(self.ca_key_path)

    def _write_key(self, path: Path, key: PrivateKey) -> None:
        self._private_dir(path.parent)
        write_private_key(path, key)

    # -- operations ----------------------------------------------------------------------
    def init_ca(self, *, now: dt.datetime | None = None, algorithm: Algorithm = "p256") -> bool:
        """Create the CA and an empty CRL unless they exist. True if it was created."""
        if self.exists():
            return False
        with self._locked():
            if self.exists():
                return False
            now = now or _utcnow()
            key = new_key(algorithm)
            cert = make_ca(key, now=now)
            self._write_key(self.ca_key_path, key)
            _write_text(self.ca_cert_path, certificate_pem(cert))
            self._save([])
            self._write_crl(now=now)
        return True

    def issue(
        self,
        subject: str,
        *,
        kind: Kind = "member",
        days: int = DEFAULT_DAYS,
        algorithm: Algorithm = "p256",
        now: dt.datetime | None = None,
    ) -> IssuedEntry:
        """Issue (or re-issue) the certificate of ``subject`` and write its key and cert.

        A member's subject is its X-Road id (``InvalidIdentifier`` if it is not one); a
        server's or time-stamping unit's is a plain name (``ValueError`` if it is not one).
        A re-issued subject's earlier certificate stays valid until it expires or is revoked.
        """
        if kind not in KINDS:
            raise ValueError(f"kind must be one of {', '.join(KINDS)}")
        if algorithm not in ALGORITHMS:
            raise ValueError(f"algorithm must be one of {', '.join(ALGORITHMS)}")
        if days < 1:
            raise ValueError("a certificate is valid for at least 1 day")
        cert_path, key_path = self.paths_for(subject, kind)  # validates the subject
        ca_cert, ca_key = self._ca()
        now = now or _utcnow()
        not_after = now + dt.timedelta(days=days)
        if not_after > ca_cert.not_valid_after_utc:
            raise ValueError(
                f"the certificate would outlive the CA (valid until "
                f"{ca_cert.not_valid_after_utc:%Y-%m-%d}); ask for fewer --days"
            )
        key = new_key(algorithm)
        cert = issue(
            ca_cert=ca_cert,
            ca_key=ca_key,
            subject=subject,
            public_key=key.public_key(),
            not_before=now - dt.timedelta(minutes=5),
            not_after=not_after,
            kind=kind,
        )
        entry = IssuedEntry(
            serial=format(cert.serial_number, "x"),
            subject=subject,
            kind=kind,
            not_before=cert.not_valid_before_utc.isoformat(),
            not_after=cert.not_valid_after_utc.isoformat(),
            file=str(cert_path.relative_to(self.root).with_name(cert_path.stem)),
            algorithm=algorithm,
        )
        with self._locked():
            self._write_key(key_path, key)
            _write_text(cert_path, certificate_pem(cert))
            self._save([*self.entries(), entry])
        return entry

    def current(self, subject: str, kind: Kind) -> IssuedEntry | None:
        """The newest unrevoked certificate of ``subject`` whose files are in place."""
        cert_path, key_path = self.paths_for(subject, kind)
        if not (cert_path.exists() and key_path.exists()):
            return None
        serial = format(load_certificate(cert_path).serial_number, "x")
        for entry in self.entries():
            if entry.serial == serial and entry.revoked_at is None:
                return entry
        return None

    def revoke(
        self,
        subject_or_serial: str,
        *,
        reason: str = "unspecified",
        kind: Kind | None = None,
        now: dt.datetime | None = None,
    ) -> list[IssuedEntry]:
        """Revoke every unrevoked certificate of a subject (of ``kind``, if given), or the
        one with that serial, and write the new CRL. ``LookupError`` if there is none.
        """
        if reason not in REVOCATION_REASONS:
            raise ValueError(f"reason must be one of {', '.join(REVOCATION_REASONS)}")
        self._ca()
        now = now or _utcnow()
        serial = normalize_serial(subject_or_serial)
        with self._locked():
            entries = self.entries()
            hit = [
                e
                for e in entries
                if e.revoked_at is None
                and (kind is None or e.kind == kind)
                and (e.subject == subject_or_serial or e.serial == serial)
            ]
            if not hit:
                raise LookupError(
                    f"no unrevoked certificate with subject or serial {subject_or_serial!r}; "
                    "see `lienthong certs list`"
                )
            for e in hit:
                e.revoked_at = now.isoformat()
                e.reason = reason
            self._save(entries)
            self._write_crl(now=now)
        return hit

    def write_crl(self, *, now: dt.datetime | None = None) -> None:
        """Sign and write ``crl.pem`` afresh from ``index.json``."""
        with self._locked():
            self._write_crl(now=now)

    def _write_crl(self, *, now: dt.datetime | None = None) -> None:
        ca_cert, ca_key = self._ca()
        now = now or _utcnow()
        revoked = [
            (int(e.serial, 16), dt.datetime.fromisoformat(e.revoked_at), e.reason)
            for e in self.entries()
            if e.revoked_at is not None
        ]
        crl = make_crl(ca_cert=ca_cert, ca_key=ca_key, revoked=revoked, now=now)
        _write_text(self.crl_path, crl.public_bytes(serialization.Encoding.PEM))

    def crl_next_update(self) -> dt.datetime | None:
        """When the CRL on disk says the next one is due (None if there is no CRL)."""
        if not self.crl_path.exists():
            return None
        return x509.load_pem_x509_crl(self.crl_path.read_bytes()).next_update_utc


def _pair(base: Path) -> tuple[Path, Path]:
    # Not ``with_suffix``: a subsystem "pop.v2" must not become "pop.crt".
    return base.with_name(base.name + ".crt"), base.with_name(base.name + ".key")
