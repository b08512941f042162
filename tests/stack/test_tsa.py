"""The time-stamping authority: RFC 3161 over HTTP, checked with stock openssl.

Every token here is verified twice: by ``core.timestamp.verify_timestamp`` and by
``openssl ts -verify`` against the dev CA, with the exact commands ``docs/audit.md`` gives.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import subprocess
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import uvicorn
from asn1crypto import cms, tsp  # type: ignore[import-untyped]
from fastapi import FastAPI
from hypothesis import given
from hypothesis import strategies as st
from pydantic import ValidationError

from core.pki import certificate_pem
from core.timestamp import (
    QUERY_CONTENT_TYPE,
    REPLY_CONTENT_TYPE,
    TimestampInvalid,
    TimeStampResp,
    build_request,
    fetch_timestamp,
    token_from_reply,
    verify_timestamp,
)
from core.tls import client_context
from stack.tsa.app import MAX_QUERY_BYTES, create_app
from stack.tsa.authority import TimeStampingUnit
from stack.tsa.settings import DEV_TSA_POLICY, TsaSettings
from tests.fixtures.pki_world import DevPki
from tests.stack.procs import free_ports

pytestmark = pytest.mark.anyio

DATA = b"lienthong.dev/evidence\n7\nmJ8vH1Hq2f0Yl3QyC9Qk1mY9t3lJm3w2qX0Yc3v6b1E=\n"
QUERY_HEADERS = {"Content-Type": QUERY_CONTENT_TYPE}


@pytest.fixture(scope="module")
def unit(pki: DevPki) -> TimeStampingUnit:
    cert, key = pki.paths("tsa", "tsa")
    return TimeStampingUnit.from_files(
        cert, key, policy=DEV_TSA_POLICY, accuracy=dt.timedelta(seconds=1)
    )


@pytest.fixture(scope="module")
def now(pki: DevPki) -> dt.datetime:
    """The TSA's clock in these tests."""
    return pki.made_at + dt.timedelta(hours=2, microseconds=987_654)


def _settings(pki: DevPki, **overrides: Any) -> TsaSettings:
    return TsaSettings(pki_dir=pki.root, environment="test", access_log=False, **overrides)


@pytest.fixture
async def app(pki: DevPki, now: dt.datetime) -> AsyncIterator[FastAPI]:
    application = create_app(_settings(pki), clock=lambda: now)
    async with application.router.lifespan_context(application):
        yield application


@pytest.fixture
def work(tmp_path: Path) -> Path:
    """A directory with the data to timestamp in ``data.txt``."""
    (tmp_path / "data.txt").write_bytes(DATA)
    (tmp_path / "other.txt").write_bytes(DATA + b"!")
    return tmp_path


def openssl(*args: str | Path, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["openssl", *map(str, args)], cwd=cwd, capture_output=True, text=True, check=False
    )


def ts_verify(work: Path, ca: Path, *what: str | Path) -> bool:
    """``openssl ts -verify <what> -CAfile <ca>`` in ``work``: True for "Verification: OK"."""
    result = openssl("ts", "-verify", *what, "-CAfile", ca, cwd=work)
    ok = result.returncode == 0 and "Verification: OK" in result.stdout
    failed = result.returncode != 0 and "Verification: FAILED" in result.stdout
    assert ok or failed, result.stdout + result.stderr
    return ok


def _openssl_query(work: Path, *options: str) -> bytes:
    done = openssl("ts", "-query", "-data", "data.txt", *options, "-out", "query.tsq", cwd=work)
    assert done.returncode == 0, done.stderr
    return (work / "query.tsq").read_bytes()


async def _ask(client: httpx.AsyncClient, query: bytes, path: str = "/") -> httpx.Response:
    return await client.post(path, content=query, headers=QUERY_HEADERS)


def _status(reply: bytes) -> tuple[int, set[str] | None]:
    info = TimeStampResp.load(reply, strict=True)["status"]
    return int(info["status"]), info["fail_info"].native


# -- tokens openssl accepts ------------------------------------------------------------------


@pytest.mark.parametrize("path", ["/", "/timestamp"])
async def test_token_for_an_openssl_query_verifies_with_openssl_and_here(
    client: httpx.AsyncClient, work: Path, pki: DevPki, now: dt.datetime, path: str
) -> None:
    response = await _ask(client, _openssl_query(work, "-sha256", "-cert"), path)
    assert response.status_code == 200
    assert response.headers["content-type"] == REPLY_CONTENT_TYPE
    assert response.headers["cache-control"] == "no-store"
    (work / "reply.tsr").write_bytes(response.content)

    # The whole reply against the data, and against the query (nonce and imprint too).
    assert ts_verify(work, pki.ca_path, "-data", "data.txt", "-in", "reply.tsr")
    assert ts_verify(work, pki.ca_path, "-queryfile", "query.tsq", "-in", "reply.tsr")
    # The token alone, as the evidence log keeps it.
    token = token_from_reply(response.content)
    (work / "token.tst").write_bytes(token)
    assert ts_verify(work, pki.ca_path, "-data", "data.txt", "-in", "token.tst", "-token_in")
    info = verify_timestamp(token, DATA, ca_certificates=[pki.ca], now=now)
    assert info.policy == DEV_TSA_POLICY


async def test_gen_time_comes_from_the_injected_clock_to_the_millisecond(
    client: httpx.AsyncClient, pki: DevPki, now: dt.datetime, work: Path
) -> None:
    response = await _ask(client, build_request(DATA, nonce=1))
    info = verify_timestamp(
        token_from_reply(response.content), DATA, ca_certificates=[pki.ca], now=now
    )
    assert info.gen_time == now.replace(microsecond=987_000)
    (work / "reply.tsr").write_bytes(response.content)
    text = openssl("ts", "-reply", "-in", "reply.tsr", "-text", cwd=work).stdout
    # openssl pads the day with a space: "Time stamp: Nov  3 18:56:48.987 2026 GMT".
    assert f"Time stamp: {now:%b} {now.day:2d} {now:%H:%M:%S}.987 {now.year} GMT" in text
    assert "Accuracy: 0x01 seconds" in text


async def test_accuracy_comes_from_the_settings(pki: DevPki, now: dt.datetime) -> None:
    app = create_app(_settings(pki, accuracy_ms=250), clock=lambda: now)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://tsa") as client:
            response = await _ask(client, build_request(DATA, nonce=1))
    info = verify_timestamp(
        token_from_reply(response.content), DATA, ca_certificates=[pki.ca], now=now
    )
    assert info.accuracy == dt.timedelta(milliseconds=250)


async def test_token_for_other_data_fails_openssl_and_here(
    client: httpx.AsyncClient, work: Path, pki: DevPki, now: dt.datetime
) -> None:
    response = await _ask(client, _openssl_query(work, "-cert"))
    (work / "reply.tsr").write_bytes(response.content)
    assert not ts_verify(work, pki.ca_path, "-data", "other.txt", "-in", "reply.tsr")
    with pytest.raises(TimestampInvalid) as caught:
        verify_timestamp(
            token_from_reply(response.content), DATA + b"!", ca_certificates=[pki.ca], now=now
        )
    assert caught.value.reason == "imprint_mismatch"


@pytest.mark.parametrize("where", ["signature", "tst_info"])
async def test_tampered_token_fails_openssl_and_here(
    client: httpx.AsyncClient, work: Path, pki: DevPki, now: dt.datetime, where: str
) -> None:
    response = await _ask(client, _openssl_query(work, "-cert"))
    token = bytearray(token_from_reply(response.content))
    if where == "signature":
        token[-1] ^= 0x01
    else:
        # A byte of the serial number inside the signed TSTInfo.
        serial = _tst_info(response.content)["serial_number"].contents
        at = bytes(token).index(serial)
        token[at + 5] ^= 0x01
    (work / "token.tst").write_bytes(bytes(token))
    assert not ts_verify(work, pki.ca_path, "-data", "data.txt", "-in", "token.tst", "-token_in")
    with pytest.raises(TimestampInvalid):
        verify_timestamp(bytes(token), DATA, ca_certificates=[pki.ca], now=now)


async def test_token_without_certificate_needs_the_tsa_certificate_given_to_openssl(
    client: httpx.AsyncClient, work: Path, pki: DevPki
) -> None:
    response = await _ask(client, _openssl_query(work))  # no -cert: certReq false
    token = tsp.TimeStampResp.load(response.content)["time_stamp_token"]
    assert not token["content"]["certificates"]
    (work / "reply.tsr").write_bytes(response.content)
    tsa_crt = pki.paths("tsa", "tsa")[0]
    assert not ts_verify(work, pki.ca_path, "-data", "data.txt", "-in", "reply.tsr")
    assert ts_verify(
        work, pki.ca_path, "-data", "data.txt", "-in", "reply.tsr", "-untrusted", tsa_crt
    )


async def test_nonce_is_echoed_and_absent_when_not_asked(
    client: httpx.AsyncClient, work: Path
) -> None:
    query = _openssl_query(work, "-cert")
    asked = tsp.TimeStampReq.load(query)["nonce"].native
    assert asked is not None
    tst = _tst_info((await _ask(client, query)).content)
    assert tst["nonce"].native == asked

    tst = _tst_info((await _ask(client, _openssl_query(work, "-cert", "-no_nonce"))).content)
    assert tst["nonce"].native is None


def _tst_info(reply: bytes) -> Any:
    token = token_from_reply(reply)
    return cms.ContentInfo.load(token)["content"]["encap_content_info"]["content"].parsed


async def test_serial_numbers_are_unique(client: httpx.AsyncClient) -> None:
    query = build_request(DATA, nonce=None)
    serials = [
        _tst_info((await _ask(client, query)).content)["serial_number"].native for _ in range(40)
    ]
    assert len(set(serials)) == len(serials)
    assert all(s.bit_length() == 128 for s in serials)


async def test_query_for_the_tsa_policy_is_granted(client: httpx.AsyncClient, work: Path) -> None:
    reply = (await _ask(client, _openssl_query(work, "-cert", "-tspolicy", DEV_TSA_POLICY))).content
    assert _tst_info(reply)["policy"].dotted == DEV_TSA_POLICY


# -- rejections ------------------------------------------------------------------------------


async def test_garbage_query_gets_a_rejection_openssl_can_read(
    client: httpx.AsyncClient, work: Path
) -> None:
    response = await _ask(client, b"this is not a TimeStampReq")
    assert response.status_code == 200
    assert response.headers["content-type"] == REPLY_CONTENT_TYPE
    assert _status(response.content) == (2, {"bad_data_format"})
    (work / "reply.tsr").write_bytes(response.content)
    shown = openssl("ts", "-reply", "-in", "reply.tsr", "-text", cwd=work)
    assert shown.returncode == 0, shown.stderr
    assert "Status: Rejected." in shown.stdout
    assert "the data submitted has the wrong format" in shown.stdout
    assert "TST info:\nNot included." in shown.stdout


@pytest.mark.parametrize(
    ("options", "fail_info"),
    [
        (("-sha1",), "bad_alg"),
        (("-md5",), "bad_alg"),
        (("-tspolicy", "1.2.3.4"), "unaccepted_policy"),
    ],
)
async def test_query_the_tsa_will_not_answer_is_rejected_with_the_reason(
    client: httpx.AsyncClient, work: Path, options: tuple[str, ...], fail_info: str
) -> None:
    response = await _ask(client, _openssl_query(work, *options))
    assert response.status_code == 200
    assert _status(response.content) == (2, {fail_info})


@pytest.mark.parametrize(
    ("query", "fail_info"),
    [
        # SHA-256 named, 31 bytes given.
        (lambda: _with_imprint(b"\x00" * 31), "bad_data_format"),
        # Version 2.
        (
            lambda: _replace(build_request(DATA, nonce=1), b"\x02\x01\x01", b"\x02\x01\x02"),
            "bad_data_format",
        ),
        # One trailing byte.
        (lambda: build_request(DATA, nonce=1) + b"\x00", "bad_data_format"),
    ],
)
async def test_malformed_query_is_rejected(
    client: httpx.AsyncClient, query: Any, fail_info: str
) -> None:
    assert _status((await _ask(client, query())).content) == (2, {fail_info})


def _replace(der: bytes, old: bytes, new: bytes) -> bytes:
    assert der.count(old) >= 1
    return der.replace(old, new, 1)


def _with_imprint(hashed: bytes) -> bytes:
    request = tsp.TimeStampReq.load(build_request(DATA, nonce=1))
    request["message_imprint"]["hashed_message"] = hashed
    dumped: bytes = request.dump(force=True)
    return dumped


async def test_query_with_extensions_is_rejected(client: httpx.AsyncClient) -> None:
    request = tsp.TimeStampReq.load(build_request(DATA, nonce=1))
    request["extensions"] = [{"extn_id": "1.2.3.4", "extn_value": b"\x05\x00"}]
    response = await _ask(client, request.dump(force=True))
    assert _status(response.content) == (2, {"unaccepted_extensions"})


@pytest.mark.parametrize("content_type", ["application/octet-stream", "application/json", None])
async def test_query_of_another_content_type_is_refused(
    client: httpx.AsyncClient, content_type: str | None
) -> None:
    headers = {"Content-Type": content_type} if content_type else {}
    response = await client.post("/", content=build_request(DATA, nonce=1), headers=headers)
    assert response.status_code == 415
    assert response.headers["x-road-error"] == "client.unsupported_media_type"


async def test_oversized_query_is_refused(client: httpx.AsyncClient) -> None:
    response = await _ask(client, b"\x30" * (MAX_QUERY_BYTES + 1))
    assert response.status_code == 413


async def test_get_is_not_a_query(client: httpx.AsyncClient) -> None:
    assert (await client.get("/")).status_code == 405


def _flip(query: bytes, at: int, xor: int) -> bytes:
    flipped = bytearray(query)
    flipped[at % len(flipped)] ^= xor
    return bytes(flipped)


_valid_queries = st.builds(lambda n: build_request(DATA, nonce=n), st.integers(0, 2**64))
_queries = (
    st.binary(max_size=200)
    | st.tuples(_valid_queries, st.integers(0, 80)).map(lambda t: t[0][: t[1]])
    | st.tuples(_valid_queries, st.integers(0, 200), st.integers(1, 255)).map(lambda t: _flip(*t))
)


@given(_queries)
def test_any_bytes_get_a_time_stamp_reply_never_an_exception(
    unit: TimeStampingUnit, pki: DevPki, query: bytes
) -> None:
    reply = unit.respond(query, now=pki.made_at + dt.timedelta(hours=1))
    status, fail_info = _status(reply.der)
    assert status == (0 if reply.granted else 2)
    assert reply.granted or fail_info


@pytest.mark.parametrize("edge", ["before", "after"])
async def test_tsa_refuses_to_sign_outside_its_certificate_validity(pki: DevPki, edge: str) -> None:
    cert = pki.certificate("tsa", "tsa")
    ms = dt.timedelta(milliseconds=1)
    when = cert.not_valid_before_utc - ms if edge == "before" else cert.not_valid_after_utc + ms
    app = create_app(_settings(pki), clock=lambda: when)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://tsa") as client:
            response = await _ask(client, build_request(DATA, nonce=1))
            ready = await client.get("/readyz")
    assert _status(response.content) == (2, {"system_failure"})
    assert ready.status_code == 503


# -- the service around it -------------------------------------------------------------------


async def test_certificate_endpoint_gives_the_tsa_certificate(
    client: httpx.AsyncClient, pki: DevPki
) -> None:
    response = await client.get("/certificate")
    assert response.status_code == 200
    assert response.content == certificate_pem(pki.certificate("tsa", "tsa"))


async def test_metrics_count_granted_and_rejected_replies(client: httpx.AsyncClient) -> None:
    await _ask(client, build_request(DATA, nonce=1))
    await _ask(client, b"junk")
    metrics = (await client.get("/metrics")).text
    assert 'lienthong_tsa_replies_total{fail_info="",status="granted"} 1.0' in metrics
    assert (
        'lienthong_tsa_replies_total{fail_info="bad_data_format",status="rejection"} 1.0' in metrics
    )


async def test_ready_once_the_key_is_loaded(client: httpx.AsyncClient) -> None:
    assert (await client.get("/readyz")).json()["status"] == "ready"


async def test_openapi_documents_the_rfc3161_media_types(client: httpx.AsyncClient) -> None:
    post = (await client.get("/openapi.json")).json()["paths"]["/"]["post"]
    assert QUERY_CONTENT_TYPE in post["requestBody"]["content"]
    assert REPLY_CONTENT_TYPE in post["responses"]["200"]["content"]
    assert "415" in post["responses"]


async def test_start_without_a_pki_says_how_to_make_one(tmp_path: Path) -> None:
    app = create_app(TsaSettings(pki_dir=tmp_path, access_log=False))
    with pytest.raises(FileNotFoundError, match="lienthong certs init"):
        async with app.router.lifespan_context(app):
            pass


def test_unit_refuses_a_certificate_that_is_not_for_time_stamping(pki: DevPki) -> None:
    cert, key = pki.authority.server_paths("tsa")
    with pytest.raises(ValueError, match="not a time-stamping certificate"):
        TimeStampingUnit.from_files(
            cert, key, policy=DEV_TSA_POLICY, accuracy=dt.timedelta(seconds=1)
        )


def test_unit_refuses_a_key_of_another_certificate(pki: DevPki) -> None:
    cert, _ = pki.paths("tsa", "tsa")
    _, other_key = pki.authority.server_paths("tsa")
    with pytest.raises(ValueError, match="does not belong"):
        TimeStampingUnit.from_files(
            cert, other_key, policy=DEV_TSA_POLICY, accuracy=dt.timedelta(seconds=1)
        )


def test_settings_read_the_tsa_prefix(monkeypatch: pytest.MonkeyPatch) -> None:
    assert TsaSettings().port == 9120
    assert TsaSettings.service_name == "tsa"
    monkeypatch.setenv("TSA_PORT", "9999")
    monkeypatch.setenv("TSA_ACCURACY_MS", "10")
    settings = TsaSettings()
    assert (settings.port, settings.accuracy_ms, settings.policy) == (9999, 10, DEV_TSA_POLICY)


@pytest.mark.parametrize(
    "overrides",
    [{"policy": "not-an-oid"}, {"policy": "3.1"}, {"unit": "../ca"}, {"accuracy_ms": 0}],
)
def test_settings_refuse_bad_values(overrides: dict[str, Any]) -> None:
    with pytest.raises(ValidationError):
        TsaSettings(**overrides)


# -- over real TLS ---------------------------------------------------------------------------


async def test_gateway_client_fetches_a_token_over_tls(
    pki: DevPki, now: dt.datetime, work: Path
) -> None:
    (port,) = free_ports(1)
    cert, key = pki.authority.server_paths("tsa")
    app = create_app(_settings(pki), clock=lambda: now)
    server = uvicorn.Server(
        uvicorn.Config(
            app,
            host="127.0.0.1",
            port=port,
            ssl_certfile=str(cert),
            ssl_keyfile=str(key),
            log_config=None,
            access_log=False,
        )
    )
    serving = asyncio.create_task(server.serve())
    try:
        while not server.started:
            assert not serving.done(), "the TSA did not start"
            await asyncio.sleep(0.01)
        token = await fetch_timestamp(
            DATA,
            f"https://127.0.0.1:{port}/",
            ssl_context=client_context(ca=pki.ca_path),
            timeout=5.0,
        )
    finally:
        server.should_exit = True
        await serving
    assert verify_timestamp(token, DATA, ca_certificates=[pki.ca], now=now).gen_time <= now
    (work / "token.tst").write_bytes(token)
    assert ts_verify(work, pki.ca_path, "-data", "data.txt", "-in", "token.tst", "-token_in")
