"""RFC 3161 time-stamp tokens: asking a time-stamping authority (TSA) for one, checking one.

The gateway timestamps every checkpoint of its evidence log: it sends a ``TimeStampReq``
(the SHA-256 of the checkpoint text, a random 64-bit nonce, ``certReq`` true) over HTTP(S)
as RFC 3161 §3.4 says (``application/timestamp-query`` in, ``application/timestamp-reply``
out) and keeps the **token**: the CMS ``ContentInfo`` of the reply, a ``SignedData`` over a
``TSTInfo``. The token alone is the evidence; it verifies offline, here or with stock
openssl (``openssl ts -verify -data <file> -in <token> -token_in -CAfile ca.crt``).

- ``timestamp_request(data)``: the DER query for ``data``.
- ``fetch_timestamp(data, url, ssl_context=..., timeout=...)``: ask a TSA, return the token
  (DER). ``TimestampUnavailable`` when the TSA cannot be reached (connection refused,
  timeout, a 5xx); ``TimestampInvalid`` when it answers something that is not a token for
  this query (a rejection, a wrong imprint or nonce, garbage).
- ``verify_timestamp(token, data, ca_certificates=...)``: check a token offline and return
  what it says (``TimestampInfo``). It checks the message imprint against ``data``, the
  CMS structure (content type, message digest), the signature with the signer's key, that
  the signer's certificate was issued by one of the CAs and valid at ``genTime``, that it
  is a time-stamping certificate (RFC 3161 §2.3: extended key usage ``timeStamping`` only,
  critical), and that the ESS signing-certificate attribute (RFC 2634 v1 or RFC 5816 v2)
  names exactly that certificate. Revocation is not checked (a CRL is ``TrustStore``'s
  business, at the time a caller chooses). Every failure raises ``TimestampInvalid`` with
  a machine-readable ``reason`` for the logs.

Parsing and DER come from ``asn1crypto``; the signature check and certificates from
``cryptography``.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import secrets
import ssl
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import httpx
from asn1crypto import cms, core, tsp  # type: ignore[import-untyped]
from asn1crypto import x509 as asn1_x509
from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
from cryptography.x509.oid import ExtendedKeyUsageOID

from core.pki import certificate_der, verify_signed_by

QUERY_CONTENT_TYPE = "application/timestamp-query"
REPLY_CONTENT_TYPE = "application/timestamp-reply"

#: Digests a message imprint may use (RFC 3161 leaves it open; SHA-1 and MD5 are refused).
IMPRINT_DIGESTS: dict[str, int] = {"sha256": 32, "sha384": 48, "sha512": 64}

#: How far a token's ``genTime`` may be ahead of the verifier's clock.
MAX_CLOCK_SKEW = dt.timedelta(minutes=5)

#: A reply larger than this is not a time-stamp reply (ours are about 1 KiB).
MAX_REPLY_BYTES = 64 * 1024

_OID_SIGNED_DATA = "1.2.840.113549.1.7.2"
_OID_TST_INFO = "1.2.840.113549.1.9.16.1.4"  # id-ct-TSTInfo

#: What asn1crypto raises on malformed DER (it parses lazily, so also on first access).
_ASN1_ERRORS = (ValueError, TypeError, KeyError, IndexError, OverflowError, AttributeError)

_HASHES: dict[str, type[hashes.HashAlgorithm]] = {
    "sha1": hashes.SHA1,  # only for ESS signing-certificate v1, never for imprints
    "sha256": hashes.SHA256,
    "sha384": hashes.SHA384,
    "sha512": hashes.SHA512,
}


class TimestampError(Exception):
    """A time-stamp could not be had or does not hold; ``reason`` says why (for logs)."""

    def __init__(self, reason: str, message: str) -> None:
        super().__init__(message)
        self.reason = reason


class TimestampUnavailable(TimestampError):
    """The TSA could not be reached or is down (worth retrying later)."""


class TimestampInvalid(TimestampError):
    """A reply or token is malformed, rejected, for other data, or does not verify."""


@dataclass(frozen=True)
class TimestampInfo:
    """What a verified token says."""

    #: When the TSA says the data existed (``TSTInfo.genTime``), UTC.
    gen_time: dt.datetime
    #: The token's serial number, unique per TSA.
    serial: int
    #: The TSA policy the token was issued under (dotted OID).
    policy: str
    #: The signing certificate's subject (RFC 4514).
    tsa_subject: str
    #: The nonce of the query, echoed (None when the query had none).
    nonce: int | None = None
    #: How far ``gen_time`` may be off, as the TSA declares it (None if it does not).
    accuracy: dt.timedelta | None = None
    #: The certificate that signed the token.
    certificate: x509.Certificate | None = None


# -- queries ---------------------------------------------------------------------------------


def new_nonce() -> int:
    """A random 64-bit nonce (RFC 3161 §2.4.1: large enough to be unique)."""
    return secrets.randbits(64)


def build_request(
    data: bytes, *, nonce: int | None, digest: str = "sha256", cert_req: bool = True
) -> bytes:
    """The DER ``TimeStampReq`` for ``data`` (its ``digest`` hash), with ``nonce`` if given."""
    if digest not in IMPRINT_DIGESTS:
        raise ValueError(f"digest must be one of {', '.join(IMPRINT_DIGESTS)}")
    fields: dict[str, Any] = {
        "version": "v1",
        "message_imprint": {
            "hash_algorithm": {"algorithm": digest},
            "hashed_message": hashlib.new(digest, data).digest(),
        },
        "cert_req": cert_req,
    }
    if nonce is not None:
        fields["nonce"] = nonce
    der: bytes = tsp.TimeStampReq(fields).dump()
    return der


def timestamp_request(data: bytes, *, nonce: bool = True) -> bytes:
    """A DER ``TimeStampReq`` for ``data``: SHA-256 imprint, ``certReq`` true, a random nonce."""
    return build_request(data, nonce=new_nonce() if nonce else None)


# -- replies and tokens ----------------------------------------------------------------------


class TimeStampResp(core.Sequence):  # type: ignore[misc]
    """``TimeStampResp`` with the token optional, as RFC 3161 §2.4.2 has it.

    (asn1crypto's ``tsp.TimeStampResp`` requires the token, so it cannot read a rejection.)
    """

    _fields = [  # noqa: RUF012 - asn1crypto's schema declaration
        ("status", tsp.PKIStatusInfo),
        ("time_stamp_token", cms.ContentInfo, {"optional": True}),
    ]


@dataclass(frozen=True)
class _Token:
    signed_data: Any  # cms.SignedData
    tst_info: Any  # tsp.TSTInfo
    content: bytes  # the eContent octets (the DER of the TSTInfo, as signed)


def _parse_token(token: bytes) -> _Token:
    """The parts of a token, fully parsed; ``TimestampInvalid`` if it is not one."""
    try:
        info = cms.ContentInfo.load(token, strict=True)
        if info["content_type"].dotted != _OID_SIGNED_DATA:
            raise TimestampInvalid("not_signed_data", "the token is not a CMS SignedData")
        signed = info["content"]
        encap = signed["encap_content_info"]
        if encap["content_type"].dotted != _OID_TST_INFO:
            raise TimestampInvalid("not_tst_info", "the token does not carry a TSTInfo")
        octets = encap["content"]
        if not isinstance(octets, core.ParsableOctetString):
            raise TimestampInvalid("no_content", "the token has no encapsulated TSTInfo")
        content = bytes(octets)
        tst_info = tsp.TSTInfo.load(content, strict=True)
        tst_info.native  # noqa: B018 - parse every field now, not on first use
        signed.native  # noqa: B018
    except TimestampInvalid:
        raise
    except _ASN1_ERRORS as e:
        raise TimestampInvalid("malformed", "the token is not valid DER") from e
    return _Token(signed_data=signed, tst_info=tst_info, content=content)


def token_from_reply(reply: bytes) -> bytes:
    """The token of a DER ``TimeStampResp``; ``TimestampInvalid`` if it grants none."""
    try:
        status = TimeStampResp.load(reply, strict=True)
        pki_status = status["status"]["status"].native
        texts = status["status"]["status_string"].native or []
        fail_info = status["status"]["fail_info"].native
        token = status["time_stamp_token"]
        token_der: bytes | None = None if isinstance(token, core.Void) else token.dump()
    except _ASN1_ERRORS as e:
        raise TimestampInvalid("malformed_reply", "the reply is not a DER TimeStampResp") from e
    if pki_status not in ("granted", "granted_with_mods"):
        failures = ", ".join(sorted(fail_info)) if fail_info else "none given"
        said = "; ".join(str(t) for t in texts)[:200] or "no reason given"
        raise TimestampInvalid(
            "rejected",
            f"the TSA answered {pki_status} (failure: {failures}): {said}",
        )
    if token_der is None:
        raise TimestampInvalid("no_token", "the TSA granted the request but sent no token")
    return token_der


def _imprint_matches(tst_info: Any, data: bytes) -> bool:
    imprint = tst_info["message_imprint"]
    algorithm = imprint["hash_algorithm"]
    name = algorithm["algorithm"].native
    if name not in IMPRINT_DIGESTS or algorithm["parameters"].native is not None:
        raise TimestampInvalid("imprint_algorithm", f"the token's imprint uses {name}, not SHA-2")
    expected = hashlib.new(name, data).digest()
    return hmac.compare_digest(imprint["hashed_message"].native, expected)


async def fetch_timestamp(
    data: bytes,
    url: str,
    *,
    ssl_context: ssl.SSLContext | None = None,
    timeout: float = 10.0,
    client: httpx.AsyncClient | None = None,
) -> bytes:
    """Ask the TSA at ``url`` to timestamp ``data``; return the token (DER).

    The query is SHA-256 with a fresh nonce and ``certReq``; the reply must grant a token
    whose imprint is ``data``'s and whose nonce is the query's. The token's signature is
    not checked here (``verify_timestamp`` does that, against the CAs a caller trusts).
    ``client`` (an ``httpx.AsyncClient`` the caller owns) is used when given, otherwise a
    client is made for this one call with ``ssl_context`` (system CAs when None).
    """
    nonce = new_nonce()
    query = build_request(data, nonce=nonce)
    headers = {"Content-Type": QUERY_CONTENT_TYPE, "Accept": REPLY_CONTENT_TYPE}
    try:
        if client is not None:
            response = await client.post(url, content=query, headers=headers, timeout=timeout)
        else:
            verify: ssl.SSLContext | bool = ssl_context if ssl_context is not None else True
            async with httpx.AsyncClient(verify=verify, timeout=timeout) as own:
                response = await own.post(url, content=query, headers=headers)
    except httpx.TransportError as e:
        raise TimestampUnavailable(
            "unreachable", f"the TSA did not answer ({type(e).__name__})"
        ) from e
    if response.status_code >= 500:
        raise TimestampUnavailable("tsa_error", f"the TSA answered HTTP {response.status_code}")
    if response.status_code != 200:
        raise TimestampInvalid("http_status", f"the TSA answered HTTP {response.status_code}")
    media_type = response.headers.get("content-type", "").split(";")[0].strip().lower()
    if media_type != REPLY_CONTENT_TYPE:
        raise TimestampInvalid(
            "content_type", f"the TSA answered {media_type or 'no content type'}"
        )
    if len(response.content) > MAX_REPLY_BYTES:
        raise TimestampInvalid("too_large", "the TSA's reply is too large to be a time-stamp reply")
    token = token_from_reply(response.content)
    parsed = _parse_token(token)
    if not _imprint_matches(parsed.tst_info, data):
        raise TimestampInvalid("imprint_mismatch", "the TSA timestamped other data")
    if parsed.tst_info["nonce"].native != nonce:
        raise TimestampInvalid("nonce_mismatch", "the TSA's reply does not echo the query's nonce")
    return token


# -- verification ----------------------------------------------------------------------------


def verify_timestamp(
    token: bytes,
    data: bytes,
    *,
    ca_certificates: Iterable[x509.Certificate],
    now: dt.datetime | None = None,
    tsa_certificates: Sequence[x509.Certificate] = (),
) -> TimestampInfo:
    """Check that ``token`` is a valid time-stamp of ``data`` by a TSA the CAs certify.

    ``tsa_certificates`` are candidates for the signer when the token carries no
    certificate (a query without ``certReq``). ``now`` (default: the current time) only
    bounds ``genTime`` from above, with ``MAX_CLOCK_SKEW``; the signer's certificate must
    be valid at ``genTime``. Raises ``TimestampInvalid``.
    """
    now = now or dt.datetime.now(dt.UTC)
    parsed = _parse_token(token)
    tst = parsed.tst_info
    if tst["version"].native != "v1":
        raise TimestampInvalid("tst_version", "the TSTInfo is not version 1")
    if not _imprint_matches(tst, data):
        raise TimestampInvalid("imprint_mismatch", "the token is for other data")
    gen_time = tst["gen_time"].native
    if not isinstance(gen_time, dt.datetime) or gen_time.utcoffset() != dt.timedelta(0):
        raise TimestampInvalid("gen_time", "the token's genTime is not a UTC time")
    if gen_time > now + MAX_CLOCK_SKEW:
        raise TimestampInvalid("from_the_future", "the token's genTime is ahead of the clock")

    signer_infos = parsed.signed_data["signer_infos"]
    if len(signer_infos) != 1:
        raise TimestampInvalid("signer_count", "a time-stamp token has exactly one signer")
    signer_info = signer_infos[0]
    embedded = _embedded_certificates(parsed.signed_data)
    signer = _find_signer(signer_info, [*embedded, *tsa_certificates])
    digest_name = _check_signed_attributes(signer_info, parsed.content, signer)
    _check_signature(signer_info, signer, digest_name)
    _check_certificate(signer, list(ca_certificates), gen_time)
    _check_tsa_name(tst, signer)

    accuracy = tst["accuracy"]
    return TimestampInfo(
        gen_time=gen_time,
        serial=tst["serial_number"].native,
        policy=tst["policy"].dotted,
        tsa_subject=signer.subject.rfc4514_string(),
        nonce=tst["nonce"].native,
        accuracy=None if isinstance(accuracy, core.Void) else _accuracy(accuracy),
        certificate=signer,
    )


def _accuracy(accuracy: Any) -> dt.timedelta:
    seconds = accuracy["seconds"].native or 0
    millis = accuracy["millis"].native or 0
    micros = accuracy["micros"].native or 0
    return dt.timedelta(seconds=seconds, milliseconds=millis, microseconds=micros)


def _embedded_certificates(signed_data: Any) -> list[x509.Certificate]:
    found: list[x509.Certificate] = []
    certificates = signed_data["certificates"]
    if isinstance(certificates, core.Void):
        return found
    for choice in certificates:
        if choice.name != "certificate":
            continue  # attribute certificates and others are no signers
        try:
            # RFC 5280 §4.1.2.2 (and cryptography, which warns before it refuses).
            if choice.chosen["tbs_certificate"]["serial_number"].native <= 0:
                raise ValueError("serial number not positive")
            found.append(x509.load_der_x509_certificate(choice.chosen.dump()))
        except (*_ASN1_ERRORS, x509.InvalidVersion) as e:
            raise TimestampInvalid(
                "bad_certificate", "the token carries a malformed certificate"
            ) from e
    return found


def _find_signer(signer_info: Any, candidates: Sequence[x509.Certificate]) -> x509.Certificate:
    sid = signer_info["sid"]
    for cert in candidates:
        if sid.name == "issuer_and_serial_number":
            wanted = sid.chosen
            issuer = asn1_x509.Name.load(cert.issuer.public_bytes())
            if cert.serial_number == wanted["serial_number"].native and issuer == wanted["issuer"]:
                return cert
        elif sid.name == "subject_key_identifier":
            try:
                ski = cert.extensions.get_extension_for_class(x509.SubjectKeyIdentifier)
            except x509.ExtensionNotFound:
                continue
            if ski.value.digest == sid.chosen.native:
                return cert
    raise TimestampInvalid("signer_unknown", "the token's signer certificate is not in the token")


def _signed_attributes(signer_info: Any) -> dict[str, Any]:
    """The signed attributes by name, each with exactly one value (RFC 5652 §11)."""
    attrs = signer_info["signed_attrs"]
    if isinstance(attrs, core.Void) or len(attrs) == 0:
        raise TimestampInvalid("no_signed_attributes", "the token has no signed attributes")
    out: dict[str, Any] = {}
    for attr in attrs:
        name = attr["type"].native
        values = attr["values"]
        if name in out or len(values) != 1:
            raise TimestampInvalid(
                "signed_attribute_repeated", f"signed attribute {name} is repeated"
            )
        out[name] = values[0]
    return out


def _hash(name: str, data: bytes) -> bytes:
    digest = hashes.Hash(_HASHES[name]())
    digest.update(data)
    return digest.finalize()


def _check_signed_attributes(signer_info: Any, content: bytes, signer: x509.Certificate) -> str:
    """Content type, message digest and the ESS certificate binding; the digest's name."""
    digest_name = signer_info["digest_algorithm"]["algorithm"].native
    if digest_name not in IMPRINT_DIGESTS:
        raise TimestampInvalid("digest_algorithm", f"the token is signed over {digest_name}")
    attrs = _signed_attributes(signer_info)
    content_type = attrs.get("content_type")
    if content_type is None or content_type.dotted != _OID_TST_INFO:
        raise TimestampInvalid("content_type_attribute", "the signed content type is not TSTInfo")
    message_digest = attrs.get("message_digest")
    if message_digest is None or not hmac.compare_digest(
        message_digest.native, _hash(digest_name, content)
    ):
        raise TimestampInvalid(
            "message_digest", "the signed message digest does not match the TSTInfo"
        )
    _check_ess(attrs, signer)
    return str(digest_name)


def _check_ess(attrs: dict[str, Any], signer: x509.Certificate) -> None:
    """The first ESS cert id names ``signer`` (RFC 3161 §2.4.2, RFC 5816 §2.2.1)."""
    if "signing_certificate_v2" in attrs:
        cert_ids = attrs["signing_certificate_v2"]["certs"]
    elif "signing_certificate" in attrs:
        cert_ids = attrs["signing_certificate"]["certs"]
    else:
        raise TimestampInvalid("no_ess", "the token has no ESS signing-certificate attribute")
    if len(cert_ids) == 0:
        raise TimestampInvalid(
            "no_ess", "the ESS signing-certificate attribute names no certificate"
        )
    first = cert_ids[0]
    algorithm = first["hash_algorithm"]["algorithm"].native if "hash_algorithm" in first else "sha1"
    if algorithm not in _HASHES:
        raise TimestampInvalid("ess_algorithm", f"the ESS certificate hash uses {algorithm}")
    if not hmac.compare_digest(
        first["cert_hash"].native, _hash(algorithm, certificate_der(signer))
    ):
        raise TimestampInvalid("ess_mismatch", "the ESS attribute names another certificate")
    issuer_serial = first["issuer_serial"]
    if isinstance(issuer_serial, core.Void):
        return
    issuer = asn1_x509.Name.load(signer.issuer.public_bytes())
    names = [n.chosen for n in issuer_serial["issuer"] if n.name == "directory_name"]
    if issuer_serial["serial_number"].native != signer.serial_number or issuer not in names:
        raise TimestampInvalid("ess_mismatch", "the ESS attribute names another certificate")


def _check_signature(signer_info: Any, signer: x509.Certificate, digest_name: str) -> None:
    # RFC 5652 §5.4: the signature covers the DER of the signed attributes as a SET OF.
    signed = bytearray(signer_info["signed_attrs"].dump())
    signed[0] = 0x31
    algorithm = signer_info["signature_algorithm"]
    try:
        scheme = algorithm.signature_algo
        stated_hash = algorithm["algorithm"].native.partition("_")[0]
    except _ASN1_ERRORS as e:
        raise TimestampInvalid(
            "signature_algorithm", "the token's signature algorithm is unknown"
        ) from e
    if stated_hash in _HASHES and stated_hash != digest_name:
        raise TimestampInvalid(
            "signature_algorithm", "the signature and digest algorithms disagree"
        )
    signature = signer_info["signature"].native
    hash_algorithm = _HASHES[digest_name]()
    key = signer.public_key()
    try:
        if scheme == "ecdsa" and isinstance(key, ec.EllipticCurvePublicKey):
            key.verify(signature, bytes(signed), ec.ECDSA(hash_algorithm))
        elif scheme == "rsassa_pkcs1v15" and isinstance(key, rsa.RSAPublicKey):
            key.verify(signature, bytes(signed), padding.PKCS1v15(), hash_algorithm)
        else:
            raise TimestampInvalid(
                "signature_algorithm", f"a {scheme} signature does not fit the key"
            )
    except InvalidSignature as e:
        raise TimestampInvalid("signature", "the token's signature does not verify") from e


def _check_certificate(
    signer: x509.Certificate, cas: Sequence[x509.Certificate], gen_time: dt.datetime
) -> None:
    """Issued by one of ``cas``, both valid at ``gen_time``, a time-stamping certificate."""
    issuer = next((ca for ca in cas if verify_signed_by(signer, ca)), None)
    if issuer is None:
        raise TimestampInvalid("untrusted", "the token's signer is not certified by a trusted CA")
    for cert in (signer, issuer):
        if not cert.not_valid_before_utc <= gen_time <= cert.not_valid_after_utc:
            raise TimestampInvalid(
                "not_valid_at_gen_time", "a certificate was not valid at genTime"
            )
    try:
        eku = signer.extensions.get_extension_for_class(x509.ExtendedKeyUsage)
    except x509.ExtensionNotFound as e:
        raise TimestampInvalid(
            "not_a_tsa", "the signer's certificate is not for time-stamping"
        ) from e
    if not eku.critical or list(eku.value) != [ExtendedKeyUsageOID.TIME_STAMPING]:
        raise TimestampInvalid(
            "not_a_tsa", "the signer's certificate is not for time-stamping only"
        )
    try:
        usage = signer.extensions.get_extension_for_class(x509.KeyUsage).value
    except x509.ExtensionNotFound:
        return
    if not (usage.digital_signature or usage.content_commitment):
        raise TimestampInvalid("not_a_tsa", "the signer's key may not sign")


def _check_tsa_name(tst: Any, signer: x509.Certificate) -> None:
    """A ``tsa`` name in the TSTInfo, if any, must name the signer (as openssl checks)."""
    name = tst["tsa"]
    if isinstance(name, core.Void):
        return
    subject = asn1_x509.Name.load(signer.subject.public_bytes())
    if name.name != "directory_name" or name.chosen != subject:
        raise TimestampInvalid("tsa_name", "the token's TSA name is not its signer's")
