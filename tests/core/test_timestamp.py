"""RFC 3161 tokens: requested, fetched and verified; every way a token can fail to verify.

Tokens come from the real time-stamping unit of ``stack.tsa`` with the dev PKI's
time-stamping certificate (real crypto); the TSA's own HTTP behaviour and the openssl
cross-checks are in ``tests/stack/test_tsa.py``.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import subprocess
from collections.abc import Callable
from pathlib import Path

import httpx
import pytest
from asn1crypto import cms, tsp  # type: ignore[import-untyped]
from asn1crypto import x509 as asn1_x509
from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import ec
from hypothesis import given, settings
from hypothesis import strategies as st

from certs.authority import issue, new_key
from core.pki import certificate_der, load_private_key
from core.timestamp import (
    MAX_CLOCK_SKEW,
    QUERY_CONTENT_TYPE,
    REPLY_CONTENT_TYPE,
    TimestampInfo,
    TimestampInvalid,
    TimestampUnavailable,
    build_request,
    fetch_timestamp,
    timestamp_request,
    token_from_reply,
    verify_timestamp,
)
from stack.tsa.authority import TimeStampingUnit, parse_query
from stack.tsa.settings import DEV_TSA_POLICY
from tests.fixtures.pki_world import DevPki, ForeignCa
from tests.stack.procs import free_ports

pytestmark = pytest.mark.anyio

DATA = b"lienthong.dev/evidence\n42\nq5mB0bZ3Q3gH0Q2d1m1Y3w0vVh6yQ9nq0m0ZxkYwI0A=\n"
MS = dt.timedelta(milliseconds=1)


@pytest.fixture(scope="module")
def unit(pki: DevPki) -> TimeStampingUnit:
    cert_path, key_path = pki.paths("tsa", "tsa")
    return TimeStampingUnit.from_files(
        cert_path, key_path, policy=DEV_TSA_POLICY, accuracy=dt.timedelta(seconds=1)
    )


@pytest.fixture(scope="module")
def now(pki: DevPki) -> dt.datetime:
    """The TSA's clock in these tests: an hour and a bit after the PKI was made."""
    return pki.made_at + dt.timedelta(hours=1, microseconds=123_456)


@pytest.fixture(scope="module")
def cas(pki: DevPki) -> list[x509.Certificate]:
    return [pki.ca]


def _token(unit: TimeStampingUnit, data: bytes, now: dt.datetime, **kw: object) -> bytes:
    query = build_request(data, nonce=kw.pop("nonce", 42), **kw)  # type: ignore[arg-type]
    return token_from_reply(unit.respond(query, now=now).der)


@pytest.fixture(scope="module")
def token(unit: TimeStampingUnit, now: dt.datetime) -> bytes:
    return _token(unit, DATA, now)


def _verify(
    token: bytes, cas: list[x509.Certificate], now: dt.datetime, **kw: object
) -> TimestampInfo:
    return verify_timestamp(token, DATA, ca_certificates=cas, now=now, **kw)  # type: ignore[arg-type]


def _reason(call: Callable[[], object]) -> str:
    with pytest.raises(TimestampInvalid) as caught:
        call()
    return caught.value.reason


# -- queries ---------------------------------------------------------------------------------


def test_request_is_sha256_with_cert_req_and_a_fresh_nonce() -> None:
    first = tsp.TimeStampReq.load(timestamp_request(DATA))
    second = tsp.TimeStampReq.load(timestamp_request(DATA))
    assert first["version"].native == "v1"
    assert first["message_imprint"]["hash_algorithm"]["algorithm"].native == "sha256"
    assert first["message_imprint"]["hashed_message"].native == hashlib.sha256(DATA).digest()
    assert first["cert_req"].native is True
    assert first["nonce"].native != second["nonce"].native


def test_request_without_nonce_has_none() -> None:
    assert tsp.TimeStampReq.load(timestamp_request(DATA, nonce=False))["nonce"].native is None


def test_request_refuses_a_digest_other_than_sha2() -> None:
    with pytest.raises(ValueError, match="digest"):
        build_request(DATA, nonce=None, digest="sha1")


# -- verification ----------------------------------------------------------------------------


def test_token_verifies_and_says_what_the_tsa_said(
    token: bytes, cas: list[x509.Certificate], now: dt.datetime, unit: TimeStampingUnit
) -> None:
    info = _verify(token, cas, now)
    assert info.gen_time == now.replace(microsecond=123_000)
    assert info.policy == DEV_TSA_POLICY
    assert info.nonce == 42
    assert info.serial.bit_length() == 128
    assert info.tsa_subject == unit.certificate.subject.rfc4514_string()
    assert info.accuracy == dt.timedelta(seconds=1)
    assert info.certificate == unit.certificate


@pytest.mark.parametrize("digest", ["sha256", "sha384", "sha512"])
def test_token_for_each_sha2_imprint_verifies(
    unit: TimeStampingUnit, cas: list[x509.Certificate], now: dt.datetime, digest: str
) -> None:
    assert _verify(_token(unit, DATA, now, digest=digest), cas, now).nonce == 42


def test_token_for_other_data_is_refused(
    unit: TimeStampingUnit, cas: list[x509.Certificate], now: dt.datetime
) -> None:
    other = _token(unit, DATA + b"x", now)
    assert _reason(lambda: _verify(other, cas, now)) == "imprint_mismatch"


def test_token_with_a_flipped_signature_bit_is_refused(
    token: bytes, cas: list[x509.Certificate], now: dt.datetime
) -> None:
    tampered = bytearray(token)
    tampered[-1] ^= 0x01
    assert _reason(lambda: _verify(bytes(tampered), cas, now)) in {"signature", "malformed"}


def test_token_whose_tst_info_was_changed_is_refused(
    token: bytes, cas: list[x509.Certificate], now: dt.datetime
) -> None:
    info = cms.ContentInfo.load(token)
    tst = info["content"]["encap_content_info"]["content"].parsed
    tst["serial_number"] = 1
    info["content"]["encap_content_info"]["content"] = tst
    forged = info.dump(force=True)
    assert _reason(lambda: _verify(forged, cas, now)) == "message_digest"


def test_token_from_a_tsa_of_another_ca_is_refused(
    foreign_ca: ForeignCa, cas: list[x509.Certificate], now: dt.datetime
) -> None:
    cert, key = foreign_ca.issue("tsa", kind="tsa")
    assert isinstance(key, ec.EllipticCurvePrivateKey)
    foreign = TimeStampingUnit(cert, key, DEV_TSA_POLICY)
    token = _token(foreign, DATA, foreign_ca.made_at + dt.timedelta(hours=1))
    assert _reason(lambda: _verify(token, cas, now)) == "untrusted"
    assert _verify(token, [foreign_ca.cert], now).nonce == 42


def _ca_issued(
    pki: DevPki, public_key: ec.EllipticCurvePublicKey, kind: str, now: dt.datetime
) -> x509.Certificate:
    return issue(
        ca_cert=pki.ca,
        ca_key=load_private_key(pki.authority.ca_key_path),
        subject="tsa",
        public_key=public_key,
        not_before=now - dt.timedelta(days=1),
        not_after=now + dt.timedelta(days=1),
        kind=kind,  # type: ignore[arg-type]
    )


class _UncheckedUnit(TimeStampingUnit):
    """A unit that signs with any certificate: to make tokens a real TSA never would."""

    def __post_init__(self) -> None:
        pass


def test_token_signed_with_a_certificate_that_is_not_for_time_stamping_is_refused(
    pki: DevPki, cas: list[x509.Certificate], now: dt.datetime
) -> None:
    key = new_key()
    assert isinstance(key, ec.EllipticCurvePrivateKey)
    server_cert = _ca_issued(pki, key.public_key(), "server", now)
    token = _token(_UncheckedUnit(server_cert, key, DEV_TSA_POLICY), DATA, now)
    assert _reason(lambda: _verify(token, cas, now)) == "not_a_tsa"


def _swap_signer(token: bytes, cert: x509.Certificate) -> bytes:
    """The token with ``cert`` embedded and named as the signer (the sid is not signed)."""
    info = cms.ContentInfo.load(token)
    signed = info["content"]
    swapped = asn1_x509.Certificate.load(certificate_der(cert))
    signed["certificates"] = [swapped]
    signed["signer_infos"][0]["sid"] = cms.SignerIdentifier(
        name="issuer_and_serial_number",
        value={"issuer": swapped.issuer, "serial_number": swapped.serial_number},
    )
    forged: bytes = info.dump(force=True)
    return forged


def test_token_whose_signer_was_swapped_for_another_certificate_of_the_same_key_is_refused(
    pki: DevPki,
    unit: TimeStampingUnit,
    token: bytes,
    cas: list[x509.Certificate],
    now: dt.datetime,
    tmp_path: Path,
) -> None:
    # The same key, certified again: the signature still holds, only the ESS binding
    # (signing-certificate-v2, signed) says which certificate the TSA meant.
    twin = _ca_issued(pki, unit.key.public_key(), "tsa", now)
    forged = _swap_signer(token, twin)
    assert _reason(lambda: _verify(forged, cas, now)) == "ess_mismatch"
    # openssl checks the binding too (and accepts the untouched token).
    (tmp_path / "data.txt").write_bytes(DATA)
    for name, der in (("token.tst", token), ("forged.tst", forged)):
        (tmp_path / name).write_bytes(der)
    verify = [
        "openssl",
        "ts",
        "-verify",
        "-data",
        "data.txt",
        "-token_in",
        "-CAfile",
        str(pki.ca_path),
    ]
    genuine = subprocess.run(
        [*verify, "-in", "token.tst"], cwd=tmp_path, capture_output=True, text=True
    )
    assert genuine.returncode == 0 and "Verification: OK" in genuine.stdout, genuine.stderr
    refused = subprocess.run(
        [*verify, "-in", "forged.tst"], cwd=tmp_path, capture_output=True, text=True
    )
    assert refused.returncode == 1 and "Verification: FAILED" in refused.stdout
    assert "ess cert id not found" in refused.stderr


def test_token_without_certificate_verifies_when_the_tsa_certificate_is_given(
    unit: TimeStampingUnit, cas: list[x509.Certificate], now: dt.datetime
) -> None:
    bare = _token(unit, DATA, now, cert_req=False)
    assert not cms.ContentInfo.load(bare)["content"]["certificates"]
    assert _reason(lambda: _verify(bare, cas, now)) == "signer_unknown"
    assert _verify(bare, cas, now, tsa_certificates=[unit.certificate]).nonce == 42


def test_token_from_the_future_is_refused_past_the_allowed_skew(
    token: bytes, cas: list[x509.Certificate], now: dt.datetime
) -> None:
    gen_time = now.replace(microsecond=123_000)
    assert _verify(token, cas, gen_time - MAX_CLOCK_SKEW).serial
    early = gen_time - MAX_CLOCK_SKEW - MS
    assert _reason(lambda: _verify(token, cas, early)) == "from_the_future"


def _token_anyway(unit: TimeStampingUnit, now: dt.datetime) -> bytes:
    """A token made at ``now`` even outside the certificate's validity (the TSA refuses)."""
    assert not unit.certificate_valid(now)
    request = parse_query(build_request(DATA, nonce=42), policy=unit.policy)
    token: bytes = unit.token(request, now=now, serial=1).dump()
    return token


def test_token_made_after_the_tsa_certificate_expired_is_refused(
    unit: TimeStampingUnit, cas: list[x509.Certificate]
) -> None:
    expiry = unit.certificate.not_valid_after_utc
    last = _token(unit, DATA, expiry)
    assert _verify(last, cas, expiry).gen_time == expiry
    late = _token_anyway(unit, expiry + MS)
    assert _reason(lambda: _verify(late, cas, expiry + MS)) == "not_valid_at_gen_time"


def test_token_made_before_the_tsa_certificate_was_valid_is_refused(
    unit: TimeStampingUnit, cas: list[x509.Certificate]
) -> None:
    start = unit.certificate.not_valid_before_utc
    assert _verify(_token(unit, DATA, start), cas, start).gen_time == start
    early = _token_anyway(unit, start - MS)
    assert _reason(lambda: _verify(early, cas, start)) == "not_valid_at_gen_time"


@pytest.mark.parametrize(
    "garbage", [b"", b"\x00", b"\x30\x00", b"not a token", b"\x30\x82\xff\xff" + b"\x00" * 8]
)
def test_garbage_is_refused_as_malformed(
    garbage: bytes, cas: list[x509.Certificate], now: dt.datetime
) -> None:
    assert _reason(lambda: _verify(garbage, cas, now)) == "malformed"


def test_a_whole_reply_is_not_a_token(
    unit: TimeStampingUnit, cas: list[x509.Certificate], now: dt.datetime
) -> None:
    reply = unit.respond(build_request(DATA, nonce=1), now=now).der
    assert _reason(lambda: _verify(reply, cas, now)) == "malformed"


@settings(max_examples=300)
@given(st.data())
def test_a_mutated_token_is_refused_or_still_says_exactly_the_same(
    token: bytes, cas: list[x509.Certificate], now: dt.datetime, data: st.DataObject
) -> None:
    original = _verify(token, cas, now)
    position = data.draw(st.integers(0, len(token) - 1), label="position")
    flip = data.draw(st.integers(1, 255), label="xor")
    mutated = bytearray(token)
    mutated[position] ^= flip
    try:
        info = _verify(bytes(mutated), cas, now)
    except TimestampInvalid:
        return
    # Only unsigned bytes can change (e.g. SignedData's version): the statement cannot.
    assert info == original


# -- replies ---------------------------------------------------------------------------------


def test_rejection_reply_has_no_token(unit: TimeStampingUnit, now: dt.datetime) -> None:
    reply = unit.respond(b"not a query", now=now).der
    with pytest.raises(TimestampInvalid, match="bad_data_format") as caught:
        token_from_reply(reply)
    assert caught.value.reason == "rejected"


def test_reply_that_is_not_der_is_refused() -> None:
    assert _reason(lambda: token_from_reply(b"<html>")) == "malformed_reply"


# -- fetching --------------------------------------------------------------------------------


def _tsa_transport(
    unit: TimeStampingUnit, now: dt.datetime, *, rewrite: Callable[[bytes], bytes] | None = None
) -> httpx.MockTransport:
    """A TSA over a mock transport; ``rewrite`` changes the query before it is answered."""

    def handler(request: httpx.Request) -> httpx.Response:
        assert request.headers["content-type"] == QUERY_CONTENT_TYPE
        query = rewrite(request.content) if rewrite else request.content
        reply = unit.respond(query, now=now).der
        return httpx.Response(200, content=reply, headers={"content-type": REPLY_CONTENT_TYPE})

    return httpx.MockTransport(handler)


async def test_fetched_token_verifies(
    unit: TimeStampingUnit, cas: list[x509.Certificate], now: dt.datetime
) -> None:
    async with httpx.AsyncClient(transport=_tsa_transport(unit, now)) as client:
        token = await fetch_timestamp(DATA, "https://tsa.test/", client=client)
    assert _verify(token, cas, now).policy == DEV_TSA_POLICY


async def test_fetch_refuses_a_token_for_other_data(
    unit: TimeStampingUnit, now: dt.datetime
) -> None:
    def other_imprint(query: bytes) -> bytes:
        request = tsp.TimeStampReq.load(query)
        forged = build_request(b"something else", nonce=request["nonce"].native)
        return forged

    transport = _tsa_transport(unit, now, rewrite=other_imprint)
    async with httpx.AsyncClient(transport=transport) as client:
        with pytest.raises(TimestampInvalid) as caught:
            await fetch_timestamp(DATA, "https://tsa.test/", client=client)
    assert caught.value.reason == "imprint_mismatch"


async def test_fetch_refuses_a_reply_that_does_not_echo_the_nonce(
    unit: TimeStampingUnit, now: dt.datetime
) -> None:
    transport = _tsa_transport(unit, now, rewrite=lambda _: build_request(DATA, nonce=7))
    async with httpx.AsyncClient(transport=transport) as client:
        with pytest.raises(TimestampInvalid) as caught:
            await fetch_timestamp(DATA, "https://tsa.test/", client=client)
    assert caught.value.reason == "nonce_mismatch"


async def test_fetch_reports_a_rejection_as_invalid(
    unit: TimeStampingUnit, now: dt.datetime
) -> None:
    transport = _tsa_transport(unit, now, rewrite=lambda _: b"garbage")
    async with httpx.AsyncClient(transport=transport) as client:
        with pytest.raises(TimestampInvalid, match="rejection") as caught:
            await fetch_timestamp(DATA, "https://tsa.test/", client=client)
    assert caught.value.reason == "rejected"


@pytest.mark.parametrize(
    ("response", "error", "reason"),
    [
        (httpx.Response(503), TimestampUnavailable, "tsa_error"),
        (httpx.Response(500), TimestampUnavailable, "tsa_error"),
        (httpx.Response(404), TimestampInvalid, "http_status"),
        (
            httpx.Response(200, content=b"{}", headers={"content-type": "application/json"}),
            TimestampInvalid,
            "content_type",
        ),
        (
            httpx.Response(200, content=b"\x30\x00", headers={"content-type": REPLY_CONTENT_TYPE}),
            TimestampInvalid,
            "malformed_reply",
        ),
    ],
)
async def test_fetch_classifies_bad_answers(
    response: httpx.Response, error: type[Exception], reason: str
) -> None:
    transport = httpx.MockTransport(lambda _: response)
    async with httpx.AsyncClient(transport=transport) as client:
        with pytest.raises(error) as caught:
            await fetch_timestamp(DATA, "https://tsa.test/", client=client)
    assert getattr(caught.value, "reason", None) == reason


@pytest.mark.parametrize(
    "failure",
    [httpx.ConnectError("refused"), httpx.ReadTimeout("slow"), httpx.RemoteProtocolError("eof")],
)
async def test_fetch_reports_network_failures_as_unavailable(failure: Exception) -> None:
    def fail(_: httpx.Request) -> httpx.Response:
        raise failure

    async with httpx.AsyncClient(transport=httpx.MockTransport(fail)) as client:
        with pytest.raises(TimestampUnavailable) as caught:
            await fetch_timestamp(DATA, "https://tsa.test/", client=client)
    assert caught.value.reason == "unreachable"


async def test_fetch_from_a_port_nobody_listens_on_is_unavailable() -> None:
    (port,) = free_ports(1)
    with pytest.raises(TimestampUnavailable):
        await fetch_timestamp(DATA, f"http://127.0.0.1:{port}/", timeout=2.0)
