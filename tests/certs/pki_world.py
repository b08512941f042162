"""PKIs for tests, made with our own ``certs`` code: the dev PKI and a CA nobody trusts.

``make_dev_pki`` runs ``ensure_dev_pki`` into a directory at a given time, so validity
boundaries are known to the second. ``ForeignCa`` is a second, untrusted CA with the same
names as ours: what it issues must be refused everywhere (TLS, signatures, CRLs).

The session's dev PKI itself comes from ``tests/fixtures/pki.py`` (``dev_pki_root``);
``dev_pki_at`` puts this module's views on it. Used by the fixtures of ``tests/certs``,
``tests/core`` and ``tests/stack/test_citizen_id.py``.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives.serialization import Encoding

from certs.authority import Algorithm, Authority, Kind, issue, make_ca, make_crl, new_key
from certs.dev import ensure_dev_pki
from core.pki import (
    PrivateKey,
    TrustStore,
    certificate_pem,
    load_certificate,
    write_private_key,
)
from core.signing import Signer

#: How far ``make_ca`` backdates the CA's ``not_before`` from the time it was made.
CA_BACKDATE = dt.timedelta(minutes=5)


def utc_now() -> dt.datetime:
    """The current time to the second (certificates carry whole seconds)."""
    return dt.datetime.now(dt.UTC).replace(microsecond=0)


@dataclass(frozen=True)
class DevPki:
    """A dev PKI directory (CA, every dev certificate, CRL) made at ``made_at``."""

    root: Path
    made_at: dt.datetime

    @property
    def authority(self) -> Authority:
        return Authority(self.root)

    @property
    def ca_path(self) -> Path:
        return self.authority.ca_cert_path

    @property
    def crl_path(self) -> Path:
        return self.authority.crl_path

    @property
    def ca(self) -> x509.Certificate:
        return load_certificate(self.ca_path)

    def store(self, *, crl: bool = True) -> TrustStore:
        return TrustStore.from_files(self.ca_path, self.crl_path if crl else None)

    def paths(self, subject: str, kind: Kind = "member") -> tuple[Path, Path]:
        return self.authority.paths_for(subject, kind)

    def certificate(self, subject: str, kind: Kind = "member") -> x509.Certificate:
        return load_certificate(self.paths(subject, kind)[0])

    def signer(self, member: str) -> Signer:
        return Signer.from_files(*self.paths(member))


def make_dev_pki(root: Path, *, now: dt.datetime) -> DevPki:
    ensure_dev_pki(root, now=now)
    return DevPki(root=root, made_at=now)


def dev_pki_at(root: Path) -> DevPki:
    """The dev PKI ``ensure_dev_pki`` made in ``root`` (``made_at`` read from its CA)."""
    ca = load_certificate(Authority(root).ca_cert_path)
    return DevPki(root=root, made_at=ca.not_valid_before_utc + CA_BACKDATE)


@dataclass(frozen=True)
class ForeignCa:
    """A CA of the same name as ours that nobody here trusts."""

    cert: x509.Certificate
    key: PrivateKey
    made_at: dt.datetime

    @classmethod
    def create(cls, *, now: dt.datetime) -> ForeignCa:
        key = new_key()
        return cls(make_ca(key, now=now), key, now)

    def issue(
        self, subject: str, *, kind: Kind = "member", algorithm: Algorithm = "p256"
    ) -> tuple[x509.Certificate, PrivateKey]:
        key = new_key(algorithm)
        cert = issue(
            ca_cert=self.cert,
            ca_key=self.key,
            subject=subject,
            public_key=key.public_key(),
            not_before=self.made_at - dt.timedelta(minutes=5),
            not_after=self.made_at + dt.timedelta(days=30),
            kind=kind,
        )
        return cert, key

    def signer(self, member: str) -> Signer:
        cert, key = self.issue(member)
        return Signer(key, cert)

    def write(self, directory: Path, subject: str, kind: Kind = "member") -> tuple[Path, Path]:
        """Issue a certificate for ``subject`` and write it and its key into ``directory``."""
        cert, key = self.issue(subject, kind=kind)
        name = subject.replace("/", "_")
        cert_path, key_path = directory / f"{name}.crt", directory / f"{name}.key"
        cert_path.write_bytes(certificate_pem(cert))
        write_private_key(key_path, key)
        return cert_path, key_path

    def crl_pem(self, revoked: list[int]) -> bytes:
        crl = make_crl(
            ca_cert=self.cert,
            ca_key=self.key,
            revoked=[(serial, self.made_at) for serial in revoked],
            now=self.made_at,
        )
        return crl.public_bytes(Encoding.PEM)
