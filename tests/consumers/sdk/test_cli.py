"""``lienthong call``: curl for members, signed and verified, against a respx gateway."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import httpx
import pytest
import typer
from typer.testing import CliRunner

from consumers.sdk.cli import DEV_OFFICIAL_ID, call
from core.ids.personal import validate_personal_id
from core.pki import TrustStore
from core.signing import TYP_REQUEST, sha256_b64url, verify
from tests.consumers.sdk.conftest import PID, FakeGateway

PERSON = {"personal_id": PID, "full_name": "Nguyễn Văn An"}


def lienthong() -> typer.Typer:
    """The command as the lead registers it on the ``lienthong`` app."""
    app = typer.Typer()
    app.command("call")(call)

    @app.callback()
    def main() -> None:
        """lienthong (test app)."""

    return app


def run(pki: Path, *args: str, input: str | None = None) -> typer.testing.Result:
    return CliRunner().invoke(lienthong(), ["call", "--pki", str(pki), *args], input=input)


def test_dev_official_id_is_a_valid_personal_id() -> None:
    assert validate_personal_id(DEV_OFFICIAL_ID) == DEV_OFFICIAL_ID


def test_get_prints_the_body_and_the_x_road_headers(pki: Path, gateway: FakeGateway) -> None:
    gateway.answer(gateway.signed(PERSON))
    result = run(
        pki,
        f"VN/GOV/BCA/population/persons/{PID}",
        "--purpose",
        "household-business-registration",
        "--fields",
        "personal_id,full_name",
        "--issue",
        "HS-2025-1",
    )
    assert result.exit_code == 0, result.stderr
    assert json.loads(result.stdout) == PERSON
    assert "Nguyễn Văn An" in result.stdout  # pretty, not \\u-escaped
    assert "HTTP 200" in result.stderr
    assert "X-Road-Request-Hash: " in result.stderr
    assert "verified: signed by VN/GOV/BCA/population" in result.stderr
    sent = gateway.last
    assert sent.url.raw_path.decode() == (
        f"/r1/VN/GOV/BCA/population/persons/{PID}?fields=personal_id,full_name"
    )
    assert sent.headers["X-Road-Client"] == "VN/GOV/UBND-HN/one-stop"
    assert sent.headers["X-Road-UserId"] == DEV_OFFICIAL_ID
    assert sent.headers["X-Road-Purpose"] == "household-business-registration"
    assert sent.headers["X-Road-Issue"] == "HS-2025-1"


def test_as_calls_in_the_name_of_another_member(pki: Path, gateway: FakeGateway) -> None:
    gateway.answer(gateway.signed({"match": True}))
    result = run(
        pki,
        "--as",
        "VN/COM/0101234565/kyc",
        "--purpose",
        "bank-kyc",
        "--consent",
        "c-42",
        "--user-id",
        "079085000123",
        "-d",
        json.dumps(
            {"personal_id": PID, "full_name": "Nguyễn Văn An", "date_of_birth": "1990-05-17"}
        ),
        "VN/GOV/BCA/population/verifications/identity",
    )
    assert result.exit_code == 0, result.stderr
    sent = gateway.last
    assert sent.method == "POST"
    assert sent.headers["X-Road-Client"] == "VN/COM/0101234565/kyc"
    assert sent.headers["X-Road-Consent"] == "c-42"
    assert sent.headers["X-Road-UserId"] == "079085000123"


def test_data_is_sent_and_signed_byte_for_byte(
    pki: Path, gateway: FakeGateway, store: TrustStore
) -> None:
    data = '{ "certificate_number" : "BK 123456" }'
    gateway.answer(gateway.signed({"valid": True}, by="land"))
    result = run(pki, "-X", "post", "--data", data, "VN/GOV/BNNMT/land/verifications/certificate")
    assert result.exit_code == 0, result.stderr
    sent = gateway.last
    assert sent.content == data.encode()
    claims = verify(
        sent.headers["X-Road-Signature"],
        store=store,
        now=dt.datetime.now(dt.UTC),
        typ=TYP_REQUEST,
    ).claims
    assert claims["body_sha256"] == sha256_b64url(data.encode())


def test_data_from_stdin(pki: Path, gateway: FakeGateway) -> None:
    gateway.answer(gateway.signed({"match": False, "status": "active"}, by="business"))
    body = '{"enterprise_code": "0101234565", "name": "Công ty X"}'
    result = run(pki, "-d", "@-", "VN/GOV/BTC/business/verifications/enterprise", input=body)
    assert result.exit_code == 0, result.stderr
    assert gateway.last.content == body.encode()


def test_raw_prints_the_signed_bytes(pki: Path, gateway: FakeGateway) -> None:
    gateway.answer(gateway.signed(PERSON))
    result = run(pki, "--raw", f"VN/GOV/BCA/population/persons/{PID}")
    assert result.exit_code == 0, result.stderr
    assert result.stdout_bytes == json.dumps(PERSON).encode()


def test_metaservice(pki: Path, gateway: FakeGateway) -> None:
    gateway.answer(gateway.unsigned([{"id": "VN/GOV/BCA/population"}]))
    result = run(pki, "--user-id", "", "listClients")
    assert result.exit_code == 0, result.stderr
    assert json.loads(result.stdout) == [{"id": "VN/GOV/BCA/population"}]
    assert gateway.last.url.path == "/r1/listClients"
    assert "X-Road-UserId" not in gateway.last.headers


def test_error_answer_exits_1_with_its_type_and_message(pki: Path, gateway: FakeGateway) -> None:
    gateway.answer(
        gateway.error(403, "client.consent_required", "the purpose bank-kyc needs a consent")
    )
    result = run(pki, "--purpose", "bank-kyc", f"VN/GOV/BCA/population/persons/{PID}")
    assert result.exit_code == 1
    assert "client.consent_required: the purpose bank-kyc needs a consent" in result.stderr
    assert "X-Road-Error: client.consent_required" in result.stderr
    assert json.loads(result.stdout)["type"] == "client.consent_required"


def test_answer_that_does_not_verify_exits_1_without_its_data(
    pki: Path, gateway: FakeGateway
) -> None:
    gateway.answer(gateway.signed(PERSON, by="land"))
    result = run(pki, f"VN/GOV/BCA/population/persons/{PID}")
    assert result.exit_code == 1
    assert "did not verify (check: wrong_signer)" in result.stderr
    assert result.stdout == ""


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["VN/GOV/BCA"], "not a service path"),
        (["-d", "{not json", "VN/GOV/BCA/population/verifications/identity"], "not JSON"),
        (["--as", "VN/GOV/NOBODY/none", "listClients"], "lienthong certs init"),
        (["--user-id", "123", "listClients"], "12-digit"),
        (["--purpose", "bad purpose\u0007", "listClients"], "printable"),
    ],
)
def test_usage_errors_exit_2(pki: Path, args: list[str], message: str) -> None:
    result = run(pki, *args)
    assert result.exit_code == 2
    assert message in " ".join(result.stderr.split())


def test_sign_only_prints_headers_for_curl_and_sends_nothing(pki: Path, store: TrustStore) -> None:
    result = run(
        pki,
        "--sign-only",
        "--purpose",
        "land-transfer",
        "--fields",
        "area",
        "VN/GOV/BNNMT/land/parcels/w7er8u0evss2",
    )
    assert result.exit_code == 0, result.stderr
    headers = dict(line.split(": ", 1) for line in result.stdout.splitlines())
    assert set(headers) == {
        "X-Road-Client",
        "X-Road-Id",
        "X-Road-UserId",
        "X-Road-Purpose",
        "X-Road-Signature",
    }
    url = "https://127.0.0.1:8443/r1/VN/GOV/BNNMT/land/parcels/w7er8u0evss2?fields=area"
    assert f"GET {url}" in result.stderr
    claims = verify(
        headers["X-Road-Signature"], store=store, now=dt.datetime.now(dt.UTC), typ=TYP_REQUEST
    ).claims
    assert claims["htu"] == "/r1/VN/GOV/BNNMT/land/parcels/w7er8u0evss2?fields=area"
    assert claims["jti"] == headers["X-Road-Id"]
    assert claims["purpose"] == headers["X-Road-Purpose"] == "land-transfer"


def test_sign_only_with_a_body_names_its_content_type(pki: Path) -> None:
    result = run(
        pki,
        "--sign-only",
        "-d",
        '{"certificate_number":"BK 1"}',
        "VN/GOV/BNNMT/land/verifications/certificate",
    )
    assert result.exit_code == 0, result.stderr
    assert "Content-Type: application/json" in result.stdout.splitlines()
    assert "POST https://127.0.0.1:8443/r1/VN/GOV/BNNMT/land/verifications/certificate" in (
        result.stderr
    )


def test_unreachable_gateway_exits_1(pki: Path, gateway: FakeGateway) -> None:
    def refuse(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("connection refused", request=request)

    gateway.answer(refuse)
    result = run(pki, "listClients")
    assert result.exit_code == 1
    assert "could not be reached" in result.stderr


def test_data_file_that_cannot_be_read_is_a_usage_error(pki: Path, tmp_path: Path) -> None:
    result = run(pki, "-d", f"@{tmp_path / 'missing.json'}", "VN/GOV/BCA/population/x/y")
    assert result.exit_code == 2
    assert "cannot read" in result.stderr


def test_registry_refusal_is_shown_as_verified(pki: Path, gateway: FakeGateway) -> None:
    body = {"type": "client.person_not_found", "message": "no such person", "detail": None}
    gateway.answer(gateway.signed(body, status=404))
    result = run(pki, "--purpose", "land-transfer", f"VN/GOV/BCA/population/persons/{PID}")
    assert result.exit_code == 1
    assert "verified: signed by VN/GOV/BCA/population" in result.stderr
    assert "client.person_not_found: no such person" in result.stderr
    assert json.loads(result.stdout) == body
