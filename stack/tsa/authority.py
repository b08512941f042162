"""The time-stamping unit: RFC 3161 replies to RFC 3161 queries, signed with the TSA key.

``TimeStampingUnit.respond(query, now=...)`` takes a DER ``TimeStampReq`` and always
returns a DER ``TimeStampResp`` (never raises for what a caller sent):

- granted: a token, i.e. a CMS ``SignedData`` (RFC 5652) over a ``TSTInfo``: version 1,
  the unit's policy, the query's message imprint and nonce echoed, a fresh serial number,
  ``genTime`` from the injected clock to the millisecond with the declared ``accuracy``,
  and the TSA's name (the certificate's subject). The signer is identified by issuer and
  serial number; the signed attributes are content type (``id-ct-TSTInfo``), signing time,
  message digest and ESS signing-certificate-v2 (RFC 5816: SHA-256 of the certificate with
  its issuer and serial), which ``openssl ts -verify`` requires. The TSA certificate is in
  the token when the query asks for it (``certReq``).
- rejected (``status`` 2) with a ``failInfo`` (RFC 3161 §2.4.2): ``badDataFormat`` for
  anything that is not a DER ``TimeStampReq`` version 1 or whose imprint has the wrong
  length, ``badAlg`` for an imprint that is not SHA-256, SHA-384 or SHA-512,
  ``unacceptedPolicy`` for another policy than the unit's, ``unacceptedExtension`` for any
  extension (none is supported), ``systemFailure`` while the TSA's own certificate is
  not valid (a token it does not cover would never verify).

Serial numbers are 128 bits: the top bit set and 127 random bits, so they are unique
without state shared between processes and all of one length.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import re
import secrets
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from asn1crypto import algos, cms, core, tsp  # type: ignore[import-untyped]
from asn1crypto import x509 as asn1_x509
from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID

from core.pki import certificate_der, load_certificate, load_private_key
from core.timestamp import IMPRINT_DIGESTS, TimeStampResp

#: An OID is dotted decimal with at least two arcs.
_OID_RE = re.compile(r"[0-2](\.(0|[1-9][0-9]*))+")

#: asn1crypto's names of the failures a rejection may give (RFC 3161 ``PKIFailureInfo``).
BAD_ALG = "bad_alg"
BAD_REQUEST = "bad_request"
BAD_DATA_FORMAT = "bad_data_format"
UNACCEPTED_POLICY = "unaccepted_policy"
UNACCEPTED_EXTENSION = "unaccepted_extensions"
SYSTEM_FAILURE = "system_failure"

#: The signature digest for each curve: as strong as the key.
_CURVE_DIGESTS: dict[str, tuple[str, hashes.HashAlgorithm]] = {
    "secp256r1": ("sha256", hashes.SHA256()),
    "secp384r1": ("sha384", hashes.SHA384()),
    "secp521r1": ("sha512", hashes.SHA512()),
}

_ASN1_ERRORS = (ValueError, TypeError, KeyError, IndexError, OverflowError, AttributeError)


def check_oid(oid: str) -> str:
    if not _OID_RE.fullmatch(oid):
        raise ValueError(f"{oid!r} is not a dotted OID such as 1.2.3.4")
    return oid


class QueryRejected(Exception):
    """A query the unit will not timestamp; ``fail_info`` is the RFC 3161 failure."""

    def __init__(self, fail_info: str, message: str) -> None:
        super().__init__(message)
        self.fail_info = fail_info


@dataclass(frozen=True)
class Reply:
    """A DER ``TimeStampResp`` and what it says, for metrics and logs."""

    der: bytes
    granted: bool
    fail_info: str | None = None
    serial: int | None = None


def new_serial() -> int:
    """A 128-bit serial number: the top bit set, 127 random bits."""
    return (1 << 127) | secrets.randbits(127)


def rejection(fail_info: str, message: str) -> bytes:
    """A DER ``TimeStampResp`` with status rejection, ``fail_info`` and ``message``."""
    status = tsp.PKIStatusInfo(
        {
            "status": "rejection",
            "status_string": [message],
            "fail_info": {fail_info},
        }
    )
    der: bytes = TimeStampResp({"status": status}).dump()
    return der


def parse_query(query: bytes, *, policy: str) -> Any:
    """The ``TimeStampReq`` in ``query``; ``QueryRejected`` unless the unit can answer it."""
    try:
        request = tsp.TimeStampReq.load(query, strict=True)
        request.native  # noqa: B018 - parse every field now, not on first use
        version = request["version"].native
        imprint = request["message_imprint"]
        algorithm = imprint["hash_algorithm"]
        digest = algorithm["algorithm"].native
        parameters = algorithm["parameters"].native
        hashed = imprint["hashed_message"].native
        req_policy = request["req_policy"]
        extensions = request["extensions"]
    except _ASN1_ERRORS as e:
        raise QueryRejected(BAD_DATA_FORMAT, "the query is not a DER TimeStampReq") from e
    if version != "v1":
        raise QueryRejected(BAD_DATA_FORMAT, "only TimeStampReq version 1 is supported")
    if digest not in IMPRINT_DIGESTS or parameters is not None:
        raise QueryRejected(BAD_ALG, "the message imprint must be SHA-256, SHA-384 or SHA-512")
    if len(hashed) != IMPRINT_DIGESTS[digest]:
        raise QueryRejected(
            BAD_DATA_FORMAT, f"a {digest} imprint is {IMPRINT_DIGESTS[digest]} bytes"
        )
    if not isinstance(req_policy, core.Void) and req_policy.dotted != policy:
        raise QueryRejected(UNACCEPTED_POLICY, f"this TSA issues tokens under policy {policy} only")
    if not isinstance(extensions, core.Void):
        raise QueryRejected(UNACCEPTED_EXTENSION, "this TSA supports no request extensions")
    return request


def _digest_algorithm(name: str) -> Any:
    """``AlgorithmIdentifier`` of a SHA-2 digest with absent parameters (RFC 5754 §2).

    Loaded from DER: asn1crypto would add NULL parameters to one it builds.
    """
    oid: bytes = algos.DigestAlgorithmId(name).dump()
    return algos.DigestAlgorithm.load(bytes([0x30, len(oid)]) + oid)


def _accuracy(accuracy: dt.timedelta) -> dict[str, int]:
    millis_total = round(accuracy.total_seconds() * 1000)
    seconds, millis = divmod(millis_total, 1000)
    out: dict[str, int] = {}
    if seconds:
        out["seconds"] = seconds
    if millis:
        out["millis"] = millis
    return out


@dataclass(frozen=True)
class TimeStampingUnit:
    """A TSA key and certificate, the policy its tokens are under, its declared accuracy."""

    certificate: x509.Certificate
    key: ec.EllipticCurvePrivateKey
    policy: str
    accuracy: dt.timedelta = dt.timedelta(seconds=1)

    def __post_init__(self) -> None:
        check_oid(self.policy)
        if not isinstance(self.key, ec.EllipticCurvePrivateKey):
            raise ValueError("the time-stamping key must be an ECDSA key")
        if self.key.curve.name not in _CURVE_DIGESTS:
            raise ValueError(f"the time-stamping key's curve {self.key.curve.name} is unsupported")
        if self.key.public_key() != self.certificate.public_key():
            raise ValueError("the time-stamping key does not belong to its certificate")
        try:
            eku = self.certificate.extensions.get_extension_for_class(x509.ExtendedKeyUsage)
        except x509.ExtensionNotFound:
            eku = None
        if (
            eku is None
            or not eku.critical
            or list(eku.value) != [ExtendedKeyUsageOID.TIME_STAMPING]
        ):
            raise ValueError(
                "the certificate is not a time-stamping certificate (RFC 3161 §2.3: critical "
                "extended key usage timeStamping only); issue one with "
                "`lienthong certs issue tsa --kind tsa`"
            )
        if not dt.timedelta(milliseconds=1) <= self.accuracy <= dt.timedelta(hours=1):
            raise ValueError("the accuracy must be between 1 ms and 1 hour")

    @classmethod
    def from_files(
        cls, cert_path: Path, key_path: Path, *, policy: str, accuracy: dt.timedelta
    ) -> TimeStampingUnit:
        for path in (cert_path, key_path):
            if not path.exists():
                raise FileNotFoundError(
                    f"no time-stamping certificate or key at {path}; run `lienthong certs init`"
                )
        key = load_private_key(key_path)
        if not isinstance(key, ec.EllipticCurvePrivateKey):
            raise ValueError(f"{key_path}: the time-stamping key must be an ECDSA key")
        return cls(load_certificate(cert_path), key, policy, accuracy)

    def certificate_valid(self, now: dt.datetime) -> bool:
        """Whether the certificate covers a token made at ``now`` (both ends inclusive)."""
        cert = self.certificate
        return cert.not_valid_before_utc <= now <= cert.not_valid_after_utc

    # -- replies ---------------------------------------------------------------------------
    def respond(self, query: bytes, *, now: dt.datetime, serial: int | None = None) -> Reply:
        """A DER ``TimeStampResp`` to ``query``: a token, or a rejection saying why."""
        try:
            request = parse_query(query, policy=self.policy)
            if not self.certificate_valid(now):
                # A token the certificate does not cover would never verify.
                raise QueryRejected(
                    SYSTEM_FAILURE, "the TSA's certificate is not valid now; try again later"
                )
        except QueryRejected as e:
            return Reply(rejection(e.fail_info, str(e)), granted=False, fail_info=e.fail_info)
        serial = serial if serial is not None else new_serial()
        token = self.token(request, now=now, serial=serial)
        status = tsp.PKIStatusInfo({"status": "granted"})
        der: bytes = TimeStampResp({"status": status, "time_stamp_token": token}).dump()
        return Reply(der, granted=True, serial=serial)

    def token(self, request: Any, *, now: dt.datetime, serial: int) -> Any:
        """The token (a ``cms.ContentInfo``) for a parsed, accepted ``request``."""
        gen_time = now.astimezone(dt.UTC)
        gen_time = gen_time.replace(microsecond=gen_time.microsecond // 1000 * 1000)
        tst_fields: dict[str, Any] = {
            "version": "v1",
            "policy": self.policy,
            "message_imprint": request["message_imprint"],
            "serial_number": serial,
            "gen_time": gen_time,
            "accuracy": _accuracy(self.accuracy),
            "tsa": asn1_x509.GeneralName(
                name="directory_name",
                value=asn1_x509.Name.load(self.certificate.subject.public_bytes()),
            ),
        }
        if not isinstance(request["nonce"], core.Void):
            tst_fields["nonce"] = request["nonce"].native
        content: bytes = tsp.TSTInfo(tst_fields).dump()
        return self._signed(content, gen_time, include_certificate=bool(request["cert_req"].native))

    def _signed(self, content: bytes, gen_time: dt.datetime, *, include_certificate: bool) -> Any:
        digest_name, hash_algorithm = _CURVE_DIGESTS[self.key.curve.name]
        cert_der = certificate_der(self.certificate)
        cert = asn1_x509.Certificate.load(cert_der)
        ess = tsp.SigningCertificateV2(
            {
                "certs": [
                    {
                        "cert_hash": hashlib.sha256(cert_der).digest(),
                        "issuer_serial": {
                            "issuer": [
                                asn1_x509.GeneralName(name="directory_name", value=cert.issuer)
                            ],
                            "serial_number": cert.serial_number,
                        },
                    }
                ]
            }
        )
        signed_attrs = cms.CMSAttributes(
            [
                {"type": "content_type", "values": ["tst_info"]},
                {"type": "signing_time", "values": [cms.Time(name="utc_time", value=gen_time)]},
                {
                    "type": "message_digest",
                    "values": [hashlib.new(digest_name, content).digest()],
                },
                {"type": "signing_certificate_v2", "values": [ess]},
            ]
        )
        # RFC 5652 §5.4: sign the DER of the attributes as a SET OF (asn1crypto sorts it).
        signature = self.key.sign(signed_attrs.dump(), ec.ECDSA(hash_algorithm))
        signer_info = cms.SignerInfo(
            {
                "version": "v1",
                "sid": cms.SignerIdentifier(
                    name="issuer_and_serial_number",
                    value={"issuer": cert.issuer, "serial_number": cert.serial_number},
                ),
                "digest_algorithm": _digest_algorithm(digest_name),
                "signed_attrs": signed_attrs,
                "signature_algorithm": algos.SignedDigestAlgorithm(
                    {"algorithm": f"{digest_name}_ecdsa"}
                ),
                "signature": signature,
            }
        )
        signed_data: dict[str, Any] = {
            "version": "v3",
            "digest_algorithms": [_digest_algorithm(digest_name)],
            "encap_content_info": {
                "content_type": "tst_info",
                "content": tsp.TSTInfo.load(content),
            },
            "signer_infos": [signer_info],
        }
        if include_certificate:
            signed_data["certificates"] = [cert]
        return cms.ContentInfo({"content_type": "signed_data", "content": signed_data})
