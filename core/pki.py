"""Certificates of the exchange: who a certificate names, and whether to trust it.

Every member subsystem, server and signing service of the exchange holds a certificate from
one root CA (the dev CA lives in ``var/pki``, made by ``lienthong certs init``). A member
certificate names its X-Road id in the subject's common name (``CN=VN/GOV/BCA/population``)
and, for tools that read SANs, as the URI ``xroad:VN/GOV/BCA/population``.

``TrustStore.verify(cert, now=...)`` is the one check every part uses (the gateway for
signed requests, registries for the forward header, the SDK and auditors for signed
responses): issued by a CA of the store, inside its validity period at ``now`` (both ends
inclusive, as RFC 5280 says), not on the CRL. It raises ``CertificateRejected`` with a
machine-readable ``reason``; callers turn that into their own error type, so the precise
reason reaches logs while the caller sees a generic message.
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import os
import threading
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519
from cryptography.x509.oid import NameOID

from core.errors import InvalidIdentifier
from core.ids.xroad import ClientId, parse_client_id

#: Private keys the exchange signs with: ECDSA P-256 (ES256) or Ed25519 (EdDSA).
PrivateKey = ec.EllipticCurvePrivateKey | ed25519.Ed25519PrivateKey
PublicKey = ec.EllipticCurvePublicKey | ed25519.Ed25519PublicKey

_SHA256 = hashes.SHA256()

#: The SAN URI scheme that carries a member's X-Road id.
XROAD_URI_SCHEME = "xroad:"


class CertificateRejected(Exception):
    """A certificate is not trusted; ``reason`` says why (for logs, not for callers)."""

    def __init__(self, reason: str, message: str) -> None:
        super().__init__(message)
        self.reason = reason


def load_certificate(path: Path) -> x509.Certificate:
    return x509.load_pem_x509_certificate(path.read_bytes())


def load_certificates(path: Path) -> list[x509.Certificate]:
    return x509.load_pem_x509_certificates(path.read_bytes())


def load_private_key(path: Path) -> PrivateKey:
    key = serialization.load_pem_private_key(path.read_bytes(), password=None)
    if not isinstance(key, ec.EllipticCurvePrivateKey | ed25519.Ed25519PrivateKey):
        raise ValueError(f"{path}: only ECDSA P-256 and Ed25519 keys are used here")
    return key


def write_private_key(path: Path, key: PrivateKey) -> None:
    """Write ``key`` as unencrypted PKCS#8 PEM, readable by its owner only (0600)."""
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    data = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as f:
        f.write(data)
    os.chmod(path, 0o600)


def certificate_pem(cert: x509.Certificate) -> bytes:
    return cert.public_bytes(serialization.Encoding.PEM)


def certificate_der(cert: x509.Certificate) -> bytes:
    return cert.public_bytes(serialization.Encoding.DER)


def x5c_entry(cert: x509.Certificate) -> str:
    """The certificate as a JWS ``x5c`` entry: standard base64 of its DER (RFC 7515 §4.1.6)."""
    return base64.b64encode(certificate_der(cert)).decode("ascii")


#: ``fingerprint`` answers by certificate object (kept, so its id stays its own).
_FINGERPRINT_BY_OBJ: dict[int, tuple[x509.Certificate, str]] = {}


def fingerprint(cert: x509.Certificate) -> str:
    """SHA-256 of the DER, lower-case hex: how certificates are named in logs and bundles.

    Computed once per certificate object: the gateway names the signer's certificate in
    every record, and the verifiers hand in the same cached objects each time.
    """
    same = _FINGERPRINT_BY_OBJ.get(id(cert))
    if same is not None and same[0] is cert:
        return same[1]
    value = hashlib.sha256(certificate_der(cert)).hexdigest()
    if len(_FINGERPRINT_BY_OBJ) > 10_000:
        _FINGERPRINT_BY_OBJ.clear()
    _FINGERPRINT_BY_OBJ[id(cert)] = (cert, value)
    return value


def common_name(cert: x509.Certificate) -> str | None:
    names = cert.subject.get_attributes_for_oid(NameOID.COMMON_NAME)
    if not names:
        return None
    value = names[0].value
    return value if isinstance(value, str) else value.decode()


#: ``member_id_of`` answers by certificate object (kept, so its id stays its own).
_MEMBER_BY_OBJ: dict[int, tuple[x509.Certificate, ClientId]] = {}


def member_id_of(cert: x509.Certificate) -> ClientId:
    """The X-Road id a member certificate names (its subject CN).

    Raises ``CertificateRejected("not_a_member", ...)`` for a certificate that names none.
    Parsed once per certificate object: verifiers see the same objects on every request.
    """
    same = _MEMBER_BY_OBJ.get(id(cert))
    if same is not None and same[0] is cert:
        return same[1]
    member = _parse_member_id(cert)
    if len(_MEMBER_BY_OBJ) > 10_000:
        _MEMBER_BY_OBJ.clear()
    _MEMBER_BY_OBJ[id(cert)] = (cert, member)
    return member


def _parse_member_id(cert: x509.Certificate) -> ClientId:
    cn = common_name(cert)
    try:
        if cn is None:
            raise InvalidIdentifier("no common name")
        return parse_client_id(cn)
    except InvalidIdentifier as e:
        raise CertificateRejected(
            "not_a_member", "the certificate does not name an X-Road member"
        ) from e


def verify_signed_by(cert: x509.Certificate, issuer: x509.Certificate) -> bool:
    """Whether ``issuer`` issued ``cert`` (names match and the signature holds)."""
    try:
        cert.verify_directly_issued_by(issuer)
    except (ValueError, TypeError, InvalidSignature):
        return False
    return True


@dataclass
class TrustStore:
    """The CA certificates and revoked serial numbers a verifier trusts.

    ``crl_path``, when given, is re-read when its content changes (checked at most once a
    second), so a revocation reaches running services without a restart. A CRL that does
    not parse or is not signed by a CA of the store fails closed: every ``verify`` raises
    ``CertificateRejected("crl_invalid")`` until a valid CRL is back in place.
    """

    cas: list[x509.Certificate]
    revoked: frozenset[int] = frozenset()
    crl_path: Path | None = None
    _crl_digest: bytes = field(default=b"", repr=False)
    _crl_checked: float = field(default=0.0, repr=False)
    _crl_error: CertificateRejected | None = field(default=None, repr=False)
    _issuer_ok: dict[bytes, x509.Certificate] = field(default_factory=dict, repr=False)
    #: The same answers by object identity (the certificate kept, so its id stays its own):
    #: the verifiers hand in the same parsed objects request after request (cached x5c
    #: headers, cached peer certificates), and a fingerprint costs a DER encoding and a hash.
    _issuer_by_obj: dict[int, tuple[x509.Certificate, x509.Certificate]] = field(
        default_factory=dict, repr=False
    )
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)
    _crl_lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    @classmethod
    def from_files(cls, ca_path: Path, crl_path: Path | None = None) -> TrustStore:
        if not ca_path.exists():
            raise FileNotFoundError(f"no CA certificate at {ca_path}; run `lienthong certs init`")
        store = cls(cas=load_certificates(ca_path), crl_path=crl_path)
        store.refresh_crl(force=True)
        if store._crl_error is not None:
            raise store._crl_error
        return store

    def refresh_crl(self, *, force: bool = False, clock: float | None = None) -> None:
        """Re-read the CRL file if its content changed since the last read.

        ``clock`` is a ``time.monotonic()`` reading (tests pass their own); without
        ``force`` the file is looked at no more than once a second. A CRL file that
        disappears leaves the last revocations in force.
        """
        if self.crl_path is None:
            return
        now = time.monotonic() if clock is None else clock
        if not force and now - self._crl_checked < 1.0:
            return
        # One reader at a time; the others go on with the revocations they have.
        if not self._crl_lock.acquire(blocking=force):
            return
        try:
            self._crl_checked = now
            try:
                data = self.crl_path.read_bytes()
            except FileNotFoundError:
                return
            # By content, not mtime: two writes within one filesystem tick share an mtime.
            digest = hashlib.sha256(data).digest()
            if digest == self._crl_digest and not force:
                return
            self._crl_digest = digest
            try:
                self.revoked = self._revoked_serials(data)
                self._crl_error = None
            except CertificateRejected as e:
                self._crl_error = e
        finally:
            self._crl_lock.release()

    def _revoked_serials(self, data: bytes) -> frozenset[int]:
        try:
            crl = x509.load_pem_x509_crl(data)
        except ValueError as e:
            raise CertificateRejected("crl_invalid", f"{self.crl_path} is not a PEM CRL") from e
        signed = any(
            crl.issuer == ca.subject and crl.is_signature_valid(ca.public_key())  # type: ignore[arg-type]
            for ca in self.cas
        )
        if not signed:
            raise CertificateRejected("crl_invalid", f"{self.crl_path} is not signed by the CA")
        return frozenset(r.serial_number for r in crl)

    def issuer_of(self, cert: x509.Certificate) -> x509.Certificate | None:
        same = self._issuer_by_obj.get(id(cert))
        if same is not None and same[0] is cert:
            return same[1]
        key = cert.fingerprint(_SHA256)
        hit = self._issuer_ok.get(key)
        if hit is None:
            hit = next((ca for ca in self.cas if verify_signed_by(cert, ca)), None)
            if hit is None:
                return None
        with self._lock:
            if len(self._issuer_ok) > 10_000:
                self._issuer_ok.clear()
            if len(self._issuer_by_obj) > 10_000:
                self._issuer_by_obj.clear()
            self._issuer_ok[key] = hit
            self._issuer_by_obj[id(cert)] = (cert, hit)
        return hit

    def verify(self, cert: x509.Certificate, *, now: dt.datetime) -> None:
        """Raise ``CertificateRejected`` unless ``cert`` is trusted at ``now``."""
        self.refresh_crl()
        if self._crl_error is not None:
            raise CertificateRejected(self._crl_error.reason, str(self._crl_error))
        if self.issuer_of(cert) is None:
            raise CertificateRejected("untrusted", "the certificate is not issued by the CA")
        if now < cert.not_valid_before_utc:
            raise CertificateRejected("not_yet_valid", "the certificate is not valid yet")
        if now > cert.not_valid_after_utc:
            raise CertificateRejected("expired", "the certificate has expired")
        if cert.serial_number in self.revoked:
            raise CertificateRejected("revoked", "the certificate has been revoked")

    def verify_member(
        self, cert: x509.Certificate, *, now: dt.datetime, expected: Iterable[ClientId] = ()
    ) -> ClientId:
        """Verify ``cert`` and return the member it names (one of ``expected`` if given)."""
        self.verify(cert, now=now)
        member = member_id_of(cert)
        allowed = list(expected)
        if allowed and member not in allowed:
            raise CertificateRejected("wrong_member", f"the certificate names {member}")
        return member
