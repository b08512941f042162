"""``lienthong certs`` from the command line: init, issue, revoke, list, and one-line errors."""

from __future__ import annotations

import datetime as dt
import hashlib
import stat
import subprocess
from pathlib import Path

from cryptography import x509
from typer.testing import CliRunner

from certs.authority import REVOCATION_REASONS, Authority
from certs.cli import ReasonChoice, app
from certs.dev import DEV_MEMBERS, DEV_SERVERS, DEV_TSAS, PROVIDERS
from core.pki import load_certificate

runner = CliRunner()


def _run(*args: str) -> tuple[int, str]:
    result = runner.invoke(app, list(args))
    return result.exit_code, result.output


def _init(pki: Path) -> None:
    code, out = _run("init", "--pki", str(pki))
    assert code == 0, out


def _files(root: Path) -> dict[str, str]:
    return {
        str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(root.rglob("*"))
        if p.is_file()
    }


def _row(out: str, subject: str) -> list[str]:
    """The cells of the table row about ``subject`` (Rich draws them between │)."""
    for line in out.splitlines():
        cells = [c.strip() for c in line.strip("│ ").split("│")]
        if cells and cells[0] == subject:
            return cells
    raise AssertionError(f"no row for {subject} in:\n{out}")


def test_init_lists_what_it_made_then_has_nothing_to_do(tmp_path: Path) -> None:
    pki = tmp_path / "pki"
    code, out = _run("init", "--pki", str(pki))
    assert code == 0, out
    for subject in (*DEV_MEMBERS, *DEV_SERVERS, *DEV_TSAS):
        assert subject in out
    assert _row(out, PROVIDERS["population"])[1:2] == ["member"]
    before = _files(pki)
    code, out = _run("init", "--pki", str(pki))
    assert code == 0
    assert out.startswith("nothing to do")
    assert _files(pki) == before


def test_issue_writes_a_0600_key_and_a_certificate_for_the_member(tmp_path: Path) -> None:
    pki = tmp_path / "pki"
    _init(pki)
    code, out = _run("issue", "VN/GOV/BYT/health", "--days", "30", "--pki", str(pki))
    assert code == 0, out
    cert_path, key_path = Authority(pki).member_paths("VN/GOV/BYT/health")
    assert stat.S_IMODE(key_path.stat().st_mode) == 0o600
    assert stat.S_IMODE(key_path.parent.stat().st_mode) == 0o700
    cert = load_certificate(cert_path)
    lifetime = cert.not_valid_after_utc - cert.not_valid_before_utc
    assert lifetime == dt.timedelta(days=30, minutes=5)
    assert _row(out, "VN/GOV/BYT/health")[-1] == "valid"
    assert str(key_path) in out


def test_issue_an_ed25519_server_certificate(tmp_path: Path) -> None:
    pki = tmp_path / "pki"
    _init(pki)
    code, out = _run(
        "issue", "tracker", "--kind", "server", "--algorithm", "ed25519", "--pki", str(pki)
    )
    assert code == 0, out
    cert = load_certificate(Authority(pki).server_paths("tracker")[0])
    assert cert.public_key().__class__.__name__.startswith("Ed25519")


def test_revoke_writes_a_crl_with_the_serial_that_openssl_verifies(tmp_path: Path) -> None:
    pki = tmp_path / "pki"
    _init(pki)
    member = PROVIDERS["land"]
    serial = load_certificate(Authority(pki).member_paths(member)[0]).serial_number
    code, out = _run("revoke", member, "--reason", "keyCompromise", "--pki", str(pki))
    assert code == 0, out
    assert _row(out, member)[-1] == "revoked"
    crl = x509.load_pem_x509_crl((pki / "crl.pem").read_bytes())
    assert crl.get_revoked_certificate_by_serial_number(serial) is not None
    text = subprocess.run(
        ["openssl", "crl", "-in", str(pki / "crl.pem"), "-noout", "-text"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert format(serial, "X") in text
    done = subprocess.run(
        ["openssl", "crl", "-in", str(pki / "crl.pem"), "-CAfile", str(pki / "ca.crt"), "-noout"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert "verify OK" in done.stdout + done.stderr


def test_list_shows_valid_expired_and_revoked(tmp_path: Path) -> None:
    pki = tmp_path / "pki"
    _init(pki)
    authority = Authority(pki)
    long_ago = dt.datetime.now(dt.UTC) - dt.timedelta(days=10)
    authority.issue("VN/GOV/BYT/old", days=1, now=long_ago)
    _run("revoke", PROVIDERS["business"], "--pki", str(pki))
    code, out = _run("list", "--pki", str(pki))
    assert code == 0, out
    assert _row(out, "VN/GOV/BYT/old")[-1] == "expired"
    assert _row(out, PROVIDERS["business"])[-1] == "revoked"
    assert _row(out, PROVIDERS["population"])[-1] == "valid"
    serial = load_certificate(authority.member_paths(PROVIDERS["population"])[0]).serial_number
    assert _row(out, PROVIDERS["population"])[2] == format(serial, "x")


def test_every_command_without_a_ca_says_how_to_make_one(tmp_path: Path) -> None:
    pki = tmp_path / "empty"
    for args in (["list"], ["issue", "VN/GOV/BCA/x"], ["revoke", "VN/GOV/BCA/x"]):
        code, out = _run(*args, "--pki", str(pki))
        assert code == 1
        assert out == f"error: no CA in {pki}; run `lienthong certs init`\n"


def test_an_invalid_xroad_id_is_one_line_naming_the_problem(tmp_path: Path) -> None:
    pki = tmp_path / "pki"
    _init(pki)
    code, out = _run("issue", "VN/GOV/BCA/pop..x", "--pki", str(pki))
    assert code == 1
    assert out == "error: X-Road client id: subsystem must not be '.' or contain '..'\n"
    code, out = _run("issue", "not-an-id", "--pki", str(pki))
    assert code == 1
    assert out.startswith("error: X-Road client id") and out.count("\n") == 1


def test_a_bad_server_name_is_one_line(tmp_path: Path) -> None:
    pki = tmp_path / "pki"
    _init(pki)
    code, out = _run("issue", "../../x", "--kind", "server", "--pki", str(pki))
    assert code == 1
    assert out.startswith("error: '../../x' is not a server name") and out.count("\n") == 1


def test_revoking_an_unknown_subject_is_one_line(tmp_path: Path) -> None:
    pki = tmp_path / "pki"
    _init(pki)
    code, out = _run("revoke", "VN/GOV/BCA/nobody", "--pki", str(pki))
    assert code == 1
    assert out == (
        "error: no unrevoked certificate with subject or serial 'VN/GOV/BCA/nobody'; "
        "see `lienthong certs list`\n"
    )


def test_too_many_days_is_one_line(tmp_path: Path) -> None:
    pki = tmp_path / "pki"
    _init(pki)
    code, out = _run("issue", "VN/GOV/BCA/x", "--days", "9999", "--pki", str(pki))
    assert code == 1
    assert out.startswith("error: the certificate would outlive the CA")
    assert out.count("\n") == 1


def test_the_reason_choices_are_the_reasons_the_authority_accepts() -> None:
    assert {r.value for r in ReasonChoice} == set(REVOCATION_REASONS)
