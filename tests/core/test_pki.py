"""The trust store: validity to the second, issuer, the CRL and its re-reading, member ids."""

from __future__ import annotations

import datetime as dt
import hashlib
import os
import time
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives.serialization import Encoding

from certs.dev import CONSUMERS, GATEWAY_ID, PROVIDERS
from core.ids.xroad import parse_client_id
from core.pki import (
    CertificateRejected,
    TrustStore,
    fingerprint,
    load_certificate,
    member_id_of,
)
from tests.fixtures.pki_world import DevPki, ForeignCa

SECOND = dt.timedelta(seconds=1)
POPULATION = PROVIDERS["population"]


def _reason(store: TrustStore, cert: x509.Certificate, now: dt.datetime) -> str:
    """Why ``store`` rejects ``cert`` at ``now`` (failing if it does not)."""
    with pytest.raises(CertificateRejected) as caught:
        store.verify(cert, now=now)
    return caught.value.reason


# -- validity period -------------------------------------------------------------------------


def test_certificate_accepted_at_not_before_exactly(pki: DevPki) -> None:
    cert = pki.certificate(POPULATION)
    pki.store().verify(cert, now=cert.not_valid_before_utc)


def test_certificate_accepted_at_not_after_exactly(pki: DevPki) -> None:
    cert = pki.certificate(POPULATION)
    pki.store().verify(cert, now=cert.not_valid_after_utc)


def test_certificate_rejected_one_second_before_not_before(pki: DevPki) -> None:
    cert = pki.certificate(POPULATION)
    reason = _reason(pki.store(), cert, cert.not_valid_before_utc - SECOND)
    assert reason == "not_yet_valid"


def test_certificate_rejected_one_second_after_expiry(pki: DevPki) -> None:
    cert = pki.certificate(POPULATION)
    assert _reason(pki.store(), cert, cert.not_valid_after_utc + SECOND) == "expired"


# -- issuer ----------------------------------------------------------------------------------


def test_certificate_from_another_ca_with_the_same_name_is_untrusted(
    pki: DevPki, foreign_ca: ForeignCa
) -> None:
    assert foreign_ca.cert.subject == pki.ca.subject
    cert, _ = foreign_ca.issue(POPULATION)
    assert _reason(pki.store(), cert, foreign_ca.made_at) == "untrusted"


def test_a_store_trusting_both_cas_accepts_both(pki: DevPki, foreign_ca: ForeignCa) -> None:
    store = TrustStore(cas=[pki.ca, foreign_ca.cert])
    foreign, _ = foreign_ca.issue(POPULATION)
    store.verify(foreign, now=foreign_ca.made_at)
    store.verify(pki.certificate(POPULATION), now=pki.made_at)


def test_the_ca_certificate_itself_is_not_a_member(pki: DevPki) -> None:
    with pytest.raises(CertificateRejected) as caught:
        pki.store().verify_member(pki.ca, now=pki.made_at)
    assert caught.value.reason == "not_a_member"


# -- revocation ------------------------------------------------------------------------------


def test_certificate_revoked_in_the_crl_file_is_rejected(fresh_pki: DevPki) -> None:
    cert = fresh_pki.certificate(POPULATION)
    fresh_pki.authority.revoke(POPULATION)
    store = fresh_pki.store()
    assert cert.serial_number in store.revoked
    assert _reason(store, cert, fresh_pki.made_at) == "revoked"
    # Revocation is of that certificate only.
    store.verify(fresh_pki.certificate(PROVIDERS["land"]), now=fresh_pki.made_at)


def test_the_store_without_a_crl_does_not_know_of_revocations(fresh_pki: DevPki) -> None:
    cert = fresh_pki.certificate(POPULATION)
    fresh_pki.authority.revoke(POPULATION)
    fresh_pki.store(crl=False).verify(cert, now=fresh_pki.made_at)


def test_a_changed_crl_is_reread_when_forced(fresh_pki: DevPki) -> None:
    cert = fresh_pki.certificate(POPULATION)
    store = fresh_pki.store()
    store.verify(cert, now=fresh_pki.made_at)
    fresh_pki.authority.revoke(POPULATION)
    store.refresh_crl(force=True)
    assert _reason(store, cert, fresh_pki.made_at) == "revoked"


def test_a_changed_crl_is_reread_one_second_later_not_before(fresh_pki: DevPki) -> None:
    cert = fresh_pki.certificate(POPULATION)
    start = time.monotonic()
    store = fresh_pki.store()
    store.refresh_crl(force=True, clock=start)
    fresh_pki.authority.revoke(POPULATION)
    store.refresh_crl(clock=start + 0.999)
    assert cert.serial_number not in store.revoked
    store.refresh_crl(clock=start + 1.0)
    assert cert.serial_number in store.revoked


def test_a_running_store_sees_a_revocation_within_a_second(fresh_pki: DevPki) -> None:
    """What ``lienthong certs revoke`` promises services: no restart, at most a second."""
    cert = fresh_pki.certificate(POPULATION)
    store = fresh_pki.store()
    store.verify(cert, now=fresh_pki.made_at)
    fresh_pki.authority.revoke(POPULATION)
    deadline = time.monotonic() + 1.5
    while True:
        try:
            store.verify(cert, now=fresh_pki.made_at)
        except CertificateRejected as e:
            assert e.reason == "revoked"
            break
        assert time.monotonic() < deadline, "the revocation was not seen within a second"
        time.sleep(0.05)


def test_two_crls_written_in_the_same_instant_are_both_seen(fresh_pki: DevPki) -> None:
    """Files written within one filesystem tick share an mtime; the content still differs."""
    store = fresh_pki.store()
    first = fresh_pki.certificate(POPULATION)
    second = fresh_pki.certificate(PROVIDERS["land"])
    fresh_pki.authority.revoke(POPULATION)
    store.refresh_crl(force=True)
    mtime = fresh_pki.crl_path.stat().st_mtime_ns
    fresh_pki.authority.revoke(PROVIDERS["land"])
    os.utime(fresh_pki.crl_path, ns=(mtime, mtime))
    store.refresh_crl(clock=time.monotonic() + 2)
    assert {first.serial_number, second.serial_number} <= store.revoked


def test_a_crl_signed_by_another_ca_is_refused_at_load(
    fresh_pki: DevPki, foreign_ca: ForeignCa
) -> None:
    fresh_pki.crl_path.write_bytes(foreign_ca.crl_pem([]))
    with pytest.raises(CertificateRejected) as caught:
        fresh_pki.store()
    assert caught.value.reason == "crl_invalid"


def test_a_crl_replaced_by_another_cas_fails_closed_until_a_valid_one_returns(
    fresh_pki: DevPki, foreign_ca: ForeignCa
) -> None:
    cert = fresh_pki.certificate(POPULATION)
    store = fresh_pki.store()
    good = fresh_pki.crl_path.read_bytes()
    fresh_pki.crl_path.write_bytes(foreign_ca.crl_pem([]))
    store.refresh_crl(force=True)
    for _ in range(2):  # every verification, not only the one after the re-read
        assert _reason(store, cert, fresh_pki.made_at) == "crl_invalid"
    fresh_pki.crl_path.write_bytes(good)
    store.refresh_crl(force=True)
    store.verify(cert, now=fresh_pki.made_at)


def test_a_crl_that_is_not_a_crl_fails_closed(fresh_pki: DevPki) -> None:
    fresh_pki.crl_path.write_bytes(b"-----BEGIN X509 CRL-----\ngarbage\n-----END X509 CRL-----\n")
    with pytest.raises(CertificateRejected) as caught:
        fresh_pki.store()
    assert caught.value.reason == "crl_invalid"


def test_a_deleted_crl_keeps_the_revocations_already_known(fresh_pki: DevPki) -> None:
    cert = fresh_pki.certificate(POPULATION)
    fresh_pki.authority.revoke(POPULATION)
    store = fresh_pki.store()
    fresh_pki.crl_path.unlink()
    store.refresh_crl(force=True)
    assert _reason(store, cert, fresh_pki.made_at) == "revoked"


def test_a_missing_ca_file_says_how_to_make_one(tmp_path: Path) -> None:
    missing = tmp_path / "ca.crt"
    with pytest.raises(FileNotFoundError, match="lienthong certs init"):
        TrustStore.from_files(missing)


# -- member ids ------------------------------------------------------------------------------


def test_member_id_of_a_member_certificate_is_its_xroad_id(pki: DevPki) -> None:
    assert member_id_of(pki.certificate(GATEWAY_ID)) == parse_client_id(GATEWAY_ID)


def test_member_id_of_a_server_certificate_is_refused(pki: DevPki) -> None:
    with pytest.raises(CertificateRejected) as caught:
        member_id_of(pki.certificate("gateway", "server"))
    assert caught.value.reason == "not_a_member"


def test_verify_member_returns_the_member_when_it_is_expected(pki: DevPki) -> None:
    cert = pki.certificate(GATEWAY_ID)
    expected = [parse_client_id(GATEWAY_ID), parse_client_id(POPULATION)]
    member = pki.store().verify_member(cert, now=pki.made_at, expected=expected)
    assert member == parse_client_id(GATEWAY_ID)


def test_verify_member_without_expectations_returns_any_member(pki: DevPki) -> None:
    cert = pki.certificate(CONSUMERS["kyc"])
    member = pki.store().verify_member(cert, now=pki.made_at)
    assert str(member) == CONSUMERS["kyc"]


def test_verify_member_refuses_a_member_that_is_not_expected(pki: DevPki) -> None:
    cert = pki.certificate(CONSUMERS["one-stop"])
    with pytest.raises(CertificateRejected) as caught:
        pki.store().verify_member(cert, now=pki.made_at, expected=[parse_client_id(GATEWAY_ID)])
    assert caught.value.reason == "wrong_member"


def test_verify_member_checks_the_certificate_before_the_name(pki: DevPki) -> None:
    cert = pki.certificate(GATEWAY_ID)
    with pytest.raises(CertificateRejected) as caught:
        pki.store().verify_member(
            cert,
            now=cert.not_valid_after_utc + SECOND,
            expected=[parse_client_id(GATEWAY_ID)],
        )
    assert caught.value.reason == "expired"


def test_fingerprint_is_the_sha256_of_the_der_in_hex(pki: DevPki) -> None:
    cert = load_certificate(pki.paths(GATEWAY_ID)[0])
    assert fingerprint(cert) == hashlib.sha256(cert.public_bytes(Encoding.DER)).hexdigest()
