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
    servers/gateway.crt|.key                a TLS server (SAN 127.0.0.1, localhost)
"""

from __future__ import annotations

import datetime as dt
import ipaddress
import json
import os
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Literal

from cryptography import x509
from cryptography.hazmat.primitives import hashes
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
        .sign(key, _hash_for(key))  # type: ignore[arg-type]
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
    certificates carry SAN 127.0.0.1 and localhost; a ``tsa`` certificate is for RFC 3161
    time-stamping only (critical EKU, as RFC 3161 §2.3 requires).
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
    return builder.sign(ca_key, _hash_for(ca_key))  # type: ignore[arg-type]


def make_crl(
    *,
    ca_cert: x509.Certificate,
    ca_key: PrivateKey,
    revoked: Sequence[tuple[int, dt.datetime]],
    now: dt.datetime,
    next_update_days: int = 7,
) -> x509.CertificateRevocationList:
    builder = (
        x509.CertificateRevocationListBuilder()
        .issuer_name(ca_cert.subject)
        .last_update(now)
        .next_update(now + dt.timedelta(days=next_update_days))
    )
    for serial, when in revoked:
        builder = builder.add_revoked_certificate(
            x509.RevokedCertificateBuilder().serial_number(serial).revocation_date(when).build()
        )
    return builder.sign(ca_key, _hash_for(ca_key))  # type: ignore[arg-type]


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


def _utcnow() -> dt.datetime:
    return dt.datetime.now(dt.UTC).replace(microsecond=0)


def _write_text(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(path.suffix + ".tmp")
    tmp.write_bytes(data)
    os.replace(tmp, path)


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
        base = self.root / "members" / str(parse_client_id(str(member)))
        return base.with_suffix(".crt"), base.with_suffix(".key")

    def server_paths(self, name: str) -> tuple[Path, Path]:
        base = self.root / "servers" / name
        return base.with_suffix(".crt"), base.with_suffix(".key")

    def paths_for(self, subject: str, kind: Kind) -> tuple[Path, Path]:
        return self.member_paths(subject) if kind == "member" else self.server_paths(subject)

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

    # -- operations ----------------------------------------------------------------------
    def init_ca(self, *, now: dt.datetime | None = None, algorithm: Algorithm = "p256") -> bool:
        """Create the CA and an empty CRL unless they exist. True if it was created."""
        if self.exists():
            return False
        now = now or _utcnow()
        key = new_key(algorithm)
        cert = make_ca(key, now=now)
        write_private_key(self.ca_key_path, key)
        _write_text(self.ca_cert_path, certificate_pem(cert))
        self._save([])
        self.write_crl(now=now)
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
        """Issue (or re-issue) the certificate of ``subject`` and write its key and cert."""
        ca_cert, ca_key = self._ca()
        now = now or _utcnow()
        key = new_key(algorithm)
        cert = issue(
            ca_cert=ca_cert,
            ca_key=ca_key,
            subject=subject,
            public_key=key.public_key(),
            not_before=now - dt.timedelta(minutes=5),
            not_after=now + dt.timedelta(days=days),
            kind=kind,
        )
        cert_path, key_path = self.paths_for(subject, kind)
        write_private_key(key_path, key)
        _write_text(cert_path, certificate_pem(cert))
        entry = IssuedEntry(
            serial=format(cert.serial_number, "x"),
            subject=subject,
            kind=kind,
            not_before=cert.not_valid_before_utc.isoformat(),
            not_after=cert.not_valid_after_utc.isoformat(),
            file=str(cert_path.relative_to(self.root).with_suffix("")),
            algorithm=algorithm,
        )
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
        self, subject_or_serial: str, *, reason: str = "unspecified", now: dt.datetime | None = None
    ) -> list[IssuedEntry]:
        """Revoke every live certificate of a subject (or the one with that serial)."""
        now = now or _utcnow()
        entries = self.entries()
        hit = [
            e
            for e in entries
            if e.revoked_at is None
            and (e.subject == subject_or_serial or e.serial == subject_or_serial.lower())
        ]
        if not hit:
            raise LookupError(f"no live certificate for {subject_or_serial}")
        for e in hit:
            e.revoked_at = now.isoformat()
            e.reason = reason
        self._save(entries)
        self.write_crl(now=now)
        return hit

    def write_crl(self, *, now: dt.datetime | None = None) -> None:
        ca_cert, ca_key = self._ca()
        now = now or _utcnow()
        revoked = [
            (int(e.serial, 16), dt.datetime.fromisoformat(e.revoked_at))
            for e in self.entries()
            if e.revoked_at is not None
        ]
        crl = make_crl(ca_cert=ca_cert, ca_key=ca_key, revoked=revoked, now=now)
        from cryptography.hazmat.primitives import serialization

        _write_text(self.crl_path, crl.public_bytes(serialization.Encoding.PEM))
