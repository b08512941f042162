"""The dev CA: what ``ensure_dev_pki`` makes, and that stock openssl agrees with it."""

from __future__ import annotations

import datetime as dt
import hashlib
import ipaddress
import json
import re
import stat
import subprocess
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from certs.authority import Authority, make_crl, new_key, normalize_serial
from certs.dev import (
    CITIZEN_ID_SERVICE_ID,
    DEV_MEMBERS,
    DEV_SERVERS,
    DEV_TSAS,
    LOG_ORIGIN,
    PROVIDERS,
    ensure_dev_pki,
    log_key_paths,
)
from core.errors import InvalidIdentifier
from core.note import parse_signer_key, parse_verifier_key
from core.pki import load_certificate
from tests.fixtures.pki_world import DevPki, utc_now


def _snapshot(root: Path) -> dict[str, tuple[str, int]]:
    """Every file under ``root``: content digest and modification time."""
    return {
        str(p.relative_to(root)): (hashlib.sha256(p.read_bytes()).hexdigest(), p.stat().st_mtime_ns)
        for p in sorted(root.rglob("*"))
        if p.is_file()
    }


def _all_certificates(pki: DevPki) -> list[Path]:
    return sorted(p for p in pki.root.rglob("*.crt") if p.name != "ca.crt")


def _openssl(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["openssl", *args], capture_output=True, text=True, check=False)


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


# -- ensure_dev_pki --------------------------------------------------------------------------


def test_second_run_issues_nothing_and_changes_no_file(tmp_path: Path) -> None:
    root = tmp_path / "pki"
    first = ensure_dev_pki(root)
    expected = len(DEV_MEMBERS) + len(DEV_SERVERS) + len(DEV_TSAS)
    assert len(first) == expected
    before = _snapshot(root)
    assert ensure_dev_pki(root) == []
    assert _snapshot(root) == before


def test_every_key_is_0600_and_every_directory_0700(pki: DevPki) -> None:
    keys = list(pki.root.rglob("*.key"))
    # + the CA's key and the evidence log's note key
    assert len(keys) == len(DEV_MEMBERS) + len(DEV_SERVERS) + len(DEV_TSAS) + 2
    assert {_mode(k) for k in keys} == {0o600}
    directories = [pki.root, *(p for p in pki.root.rglob("*") if p.is_dir())]
    assert {_mode(d) for d in directories} == {0o700}


def test_loose_permissions_are_tightened_on_the_next_run(tmp_path: Path) -> None:
    root = tmp_path / "pki"
    ensure_dev_pki(root)
    key = Authority(root).member_paths(PROVIDERS["population"])[1]
    key.chmod(0o644)
    key.parent.chmod(0o755)
    assert ensure_dev_pki(root) == []
    assert _mode(key) == 0o600
    assert _mode(key.parent) == 0o700


def test_every_member_certificate_names_its_xroad_id(pki: DevPki) -> None:
    for member in DEV_MEMBERS:
        cert = pki.certificate(member)
        cn = cert.subject.get_attributes_for_oid(NameOID.COMMON_NAME)[0].value
        assert cn == member
        sans = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
        assert sans.get_values_for_type(x509.UniformResourceIdentifier) == [f"xroad:{member}"]
        usages = cert.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value
        assert list(usages) == [ExtendedKeyUsageOID.CLIENT_AUTH]


def test_server_certificates_are_for_loopback_and_their_compose_host_name(pki: DevPki) -> None:
    for name in DEV_SERVERS:
        cert = pki.certificate(name, "server")
        sans = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
        assert sans.get_values_for_type(x509.IPAddress) == [ipaddress.ip_address("127.0.0.1")]
        assert sans.get_values_for_type(x509.DNSName) == ["localhost", name]
        usages = cert.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value
        assert list(usages) == [ExtendedKeyUsageOID.SERVER_AUTH]


def test_the_time_stamping_certificate_is_apart_from_the_tsa_server_certificate(
    pki: DevPki,
) -> None:
    tsa_cert_path, _ = pki.paths("tsa", "tsa")
    server_cert_path, _ = pki.paths("tsa", "server")
    assert tsa_cert_path != server_cert_path
    usage = pki.certificate("tsa", "tsa").extensions.get_extension_for_class(x509.ExtendedKeyUsage)
    # RFC 3161 §2.3: exactly one, critical, extended key usage: timeStamping.
    assert usage.critical
    assert list(usage.value) == [ExtendedKeyUsageOID.TIME_STAMPING]


def test_openssl_verifies_every_certificate_against_the_ca(pki: DevPki) -> None:
    certs = _all_certificates(pki)
    assert len(certs) == len(DEV_MEMBERS) + len(DEV_SERVERS) + len(DEV_TSAS)
    done = _openssl("verify", "-CAfile", str(pki.ca_path), *map(str, certs))
    assert done.returncode == 0, done.stderr + done.stdout
    assert done.stdout.count(": OK") == len(certs)


def test_openssl_verifies_the_crl_signature(pki: DevPki) -> None:
    done = _openssl("crl", "-in", str(pki.crl_path), "-CAfile", str(pki.ca_path), "-noout")
    assert done.returncode == 0, done.stderr
    assert "verify OK" in done.stderr + done.stdout


def test_openssl_refuses_a_crl_signed_by_another_key(pki: DevPki, tmp_path: Path) -> None:
    from cryptography.hazmat.primitives.serialization import Encoding

    forged = make_crl(ca_cert=pki.ca, ca_key=new_key(), revoked=[], now=utc_now())
    path = tmp_path / "forged.pem"
    path.write_bytes(forged.public_bytes(Encoding.PEM))
    done = _openssl("crl", "-in", str(path), "-CAfile", str(pki.ca_path), "-noout")
    assert "verify OK" not in done.stderr + done.stdout


def test_a_certificate_expiring_within_a_day_is_reissued(tmp_path: Path) -> None:
    made_at = utc_now()
    root = tmp_path / "pki"
    ensure_dev_pki(root, now=made_at)
    member = PROVIDERS["land"]
    not_after = load_certificate(Authority(root).member_paths(member)[0]).not_valid_after_utc
    renew_at = not_after - dt.timedelta(days=1)
    assert ensure_dev_pki(root, now=renew_at - dt.timedelta(seconds=1)) == []
    reissued = ensure_dev_pki(root, now=renew_at)
    assert {m.subject for m in reissued} >= {member}
    fresh = load_certificate(Authority(root).member_paths(member)[0])
    assert fresh.not_valid_after_utc > not_after


def test_a_revoked_dev_certificate_is_reissued(fresh_pki: DevPki) -> None:
    old_serial = fresh_pki.certificate(CITIZEN_ID_SERVICE_ID).serial_number
    fresh_pki.authority.revoke(CITIZEN_ID_SERVICE_ID, reason="keyCompromise")
    made = ensure_dev_pki(fresh_pki.root)
    assert [(m.subject, m.kind) for m in made] == [(CITIZEN_ID_SERVICE_ID, "member")]
    assert fresh_pki.certificate(CITIZEN_ID_SERVICE_ID).serial_number != old_serial


# -- Authority -------------------------------------------------------------------------------


def test_revoking_puts_the_serial_and_reason_in_the_crl(fresh_pki: DevPki) -> None:
    authority = fresh_pki.authority
    serial = fresh_pki.certificate(PROVIDERS["business"]).serial_number
    (entry,) = authority.revoke(PROVIDERS["business"], reason="keyCompromise")
    assert entry.serial == format(serial, "x")
    crl = x509.load_pem_x509_crl(fresh_pki.crl_path.read_bytes())
    revoked = crl.get_revoked_certificate_by_serial_number(serial)
    assert revoked is not None
    assert revoked.extensions.get_extension_for_class(x509.CRLReason).value.reason == (
        x509.ReasonFlags.key_compromise
    )
    text = _openssl("crl", "-in", str(fresh_pki.crl_path), "-noout", "-text").stdout
    assert [int(s, 16) for s in re.findall(r"Serial Number: ([0-9A-F]+)", text)] == [serial]
    assert "Key Compromise" in text
    done = _openssl(
        "crl", "-in", str(fresh_pki.crl_path), "-CAfile", str(fresh_pki.ca_path), "-noout"
    )
    assert "verify OK" in done.stderr + done.stdout


def test_a_revoked_certificate_fails_openssl_verify_with_the_crl(fresh_pki: DevPki) -> None:
    cert_path, _ = fresh_pki.paths(PROVIDERS["land"])
    fresh_pki.authority.revoke(PROVIDERS["land"])
    done = _openssl(
        "verify",
        "-crl_check",
        "-CAfile",
        str(fresh_pki.ca_path),
        "-CRLfile",
        str(fresh_pki.crl_path),
        str(cert_path),
    )
    assert done.returncode != 0
    assert "certificate revoked" in done.stdout + done.stderr


def test_revoking_by_serial_as_openssl_prints_it(fresh_pki: DevPki) -> None:
    serial = fresh_pki.certificate(PROVIDERS["land"]).serial_number
    hex_serial = format(serial, "X")
    colons = ":".join(hex_serial[i : i + 2] for i in range(0, len(hex_serial), 2))
    (entry,) = fresh_pki.authority.revoke(colons)
    assert entry.subject == PROVIDERS["land"]


def test_revoking_only_one_kind_leaves_the_other(fresh_pki: DevPki) -> None:
    revoked = fresh_pki.authority.revoke("tsa", kind="server")
    assert [e.kind for e in revoked] == ["server"]
    assert fresh_pki.authority.current("tsa", "tsa") is not None


def test_revoking_what_is_not_there_names_it(fresh_pki: DevPki) -> None:
    with pytest.raises(LookupError, match="VN/GOV/XX/nobody"):
        fresh_pki.authority.revoke("VN/GOV/XX/nobody")
    fresh_pki.authority.revoke(PROVIDERS["land"])
    with pytest.raises(LookupError):
        fresh_pki.authority.revoke(PROVIDERS["land"])


def test_an_unknown_revocation_reason_is_refused(fresh_pki: DevPki) -> None:
    with pytest.raises(ValueError, match="keyCompromise"):
        fresh_pki.authority.revoke(PROVIDERS["land"], reason="bored")
    assert fresh_pki.authority.current(PROVIDERS["land"], "member") is not None


@pytest.mark.parametrize("name", ["../escape", "/etc/x", "a/b", "", "UPPER", "-x", "x" * 64])
def test_a_server_name_that_is_not_a_plain_file_name_is_refused(
    fresh_pki: DevPki, name: str
) -> None:
    with pytest.raises(ValueError, match="not a server name"):
        fresh_pki.authority.issue(name, kind="server")


def test_a_member_subject_must_be_an_xroad_id(fresh_pki: DevPki) -> None:
    with pytest.raises(InvalidIdentifier, match="member class"):
        fresh_pki.authority.issue("VN/XYZ/BCA/population")


def test_a_subsystem_with_a_dot_keeps_its_whole_name_on_disk(fresh_pki: DevPki) -> None:
    a = fresh_pki.authority.issue("VN/GOV/BCA/pop.v2")
    b = fresh_pki.authority.issue("VN/GOV/BCA/pop.v3")
    assert a.file == "members/VN/GOV/BCA/pop.v2"
    assert b.file == "members/VN/GOV/BCA/pop.v3"
    cert_path, key_path = fresh_pki.paths("VN/GOV/BCA/pop.v2")
    assert cert_path.name == "pop.v2.crt" and key_path.name == "pop.v2.key"
    assert load_certificate(cert_path).serial_number == int(a.serial, 16)


def test_a_certificate_may_not_outlive_the_ca(fresh_pki: DevPki) -> None:
    with pytest.raises(ValueError, match="outlive the CA"):
        fresh_pki.authority.issue("VN/GOV/BCA/long", days=4000)


def test_an_ed25519_member_certificate_verifies_with_openssl(fresh_pki: DevPki) -> None:
    entry = fresh_pki.authority.issue("VN/GOV/BCA/ed", algorithm="ed25519")
    assert entry.algorithm == "ed25519"
    cert_path, _ = fresh_pki.paths("VN/GOV/BCA/ed")
    done = _openssl("verify", "-CAfile", str(fresh_pki.ca_path), str(cert_path))
    assert done.returncode == 0, done.stderr


def test_the_index_lists_every_issued_certificate(pki: DevPki) -> None:
    index = json.loads((pki.root / "index.json").read_text())
    assert len(index) == len(DEV_MEMBERS) + len(DEV_SERVERS) + len(DEV_TSAS)
    for row in index:
        cert = load_certificate(pki.root / f"{row['file']}.crt")
        assert format(cert.serial_number, "x") == row["serial"]
        assert row["revoked_at"] is None


@pytest.mark.parametrize(
    ("given", "expected"),
    [("0x1A2b", "1a2b"), ("1A:2B", "1a2b"), ("001a2b", "1a2b"), (" 1a2b ", "1a2b")],
)
def test_serials_are_normalized_as_the_index_writes_them(given: str, expected: str) -> None:
    assert normalize_serial(given) == expected


def test_entry_status_at_both_ends_of_validity(fresh_pki: DevPki) -> None:
    entry = fresh_pki.authority.issue("VN/GOV/BCA/status", days=1)
    not_before = dt.datetime.fromisoformat(entry.not_before)
    not_after = dt.datetime.fromisoformat(entry.not_after)
    second = dt.timedelta(seconds=1)
    assert entry.status(not_before - second) == "not_yet_valid"
    assert entry.status(not_before) == "valid"
    assert entry.status(not_after) == "valid"
    assert entry.status(not_after + second) == "expired"
    (revoked,) = fresh_pki.authority.revoke("VN/GOV/BCA/status")
    assert revoked.status(not_before) == "revoked"


def test_the_log_note_key_is_made_once_private_and_names_the_log(tmp_path: Path) -> None:
    root = tmp_path / "pki"
    ensure_dev_pki(root)
    skey_path, vkey_path = log_key_paths(root)
    assert _mode(skey_path) == 0o600
    signer = parse_signer_key(skey_path.read_text().strip())
    verifier = parse_verifier_key(vkey_path.read_text().strip())
    assert signer.name == verifier.name == LOG_ORIGIN
    assert verifier.vkey == signer.verifier().vkey
    before = skey_path.read_bytes()
    ensure_dev_pki(root)
    assert skey_path.read_bytes() == before
