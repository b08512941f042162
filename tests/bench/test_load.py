"""The load generator (``bench.load``) against real mTLS servers on loopback.

A real uvicorn in a subprocess (``tests.bench.servers``) checks statuses and bodies,
keep-alive reuse, chunked answers, ``Connection: close`` and timeouts; a raw TLS server in a
thread checks what uvicorn never does (dropped connections, bodies ended by closing,
``100 Continue``, garbage, an answer a byte at a time). Behaviour only: speed is measured by
``python -m bench.load``, never here.
"""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
import uvloop

from bench import load
from bench.load import Prepared
from certs.authority import Authority
from certs.dev import GATEWAY_ID
from core.tls import client_context, server_context
from tests.bench.servers import RawServer, uvicorn_server
from tests.stack.procs import REPO, free_ports

Answers = dict[int, tuple[int, bytes]]


@pytest.fixture(scope="module")
def client_ssl(dev_pki: Path) -> object:
    """The gateway's mTLS client context, as the bench sends direct requests with."""
    authority = Authority(dev_pki)
    cert, key = authority.member_paths(GATEWAY_ID)
    return client_context(ca=authority.ca_cert_path, cert=cert, key=key)


@pytest.fixture(scope="module")
def server(dev_pki: Path) -> Iterator[str]:
    """The base URL of the uvicorn test server (population's certificate, mTLS)."""
    with uvicorn_server(dev_pki) as url:
        yield url


@pytest.fixture
def raw(dev_pki: Path) -> Iterator[RawServer]:
    authority = Authority(dev_pki)
    cert, key = authority.server_paths("population")
    with RawServer(server_context(cert=cert, key=key, ca=authority.ca_cert_path)) as srv:
        yield srv


def _run(requests: list[Prepared], ctx: object, **kw: object) -> tuple[load.Outcome, Answers]:
    """``asyncio.run(load.run(...))`` as the bench calls it, keeping every answer."""
    answers: Answers = {}

    def seen(index: int, status: int, body: bytes) -> None:
        assert index not in answers, "a request resolved twice"
        answers[index] = (status, body)

    outcome = asyncio.run(
        load.run(requests, ssl_context=ctx, on_response=seen, **kw)  # type: ignore[arg-type]
    )
    assert sorted(answers) == list(range(len(requests))), "a request never resolved"
    return outcome, answers


def _get(base: str, path: str) -> Prepared:
    return Prepared("GET", base + path, {"X-Road-Client": "VN/GOV/000000001/one-stop"})


# -- answers -----------------------------------------------------------------------------------


def test_each_request_gets_its_own_status_and_body(server: str, client_ssl: object) -> None:
    requests = []
    for i in range(60):
        if i % 3 == 0:
            requests.append(_get(server, f"/status/{404 if i % 2 else 503}"))
        elif i % 3 == 1:
            requests.append(_get(server, f"/echo/{i}?fields=a,b&x=%2F"))
        else:
            requests.append(Prepared("POST", f"{server}/echo/{i}", {}, f'{{"n": {i}}}'.encode()))

    outcome, answers = _run(requests, client_ssl, concurrency=8)

    for i, (status, body) in answers.items():
        if i % 3 == 0:
            assert (status, body) == (404 if i % 2 else 503, f"status {status}".encode())
            continue
        echo = json.loads(body)
        assert status == 200
        assert echo["path"] == f"/echo/{i}"
        if i % 3 == 1:
            assert (echo["method"], echo["query"], echo["body"]) == ("GET", "fields=a,b&x=%2F", "")
        else:
            assert (echo["method"], echo["body"]) == ("POST", f'{{"n": {i}}}')
    assert outcome.requests == 60 and len(outcome.latencies_ms) == 60
    assert outcome.statuses == {200: 40, 404: 10, 503: 10}
    assert outcome.errors == 20


def test_other_statuses_count_as_ok_when_asked(server: str, client_ssl: object) -> None:
    requests = [_get(server, "/status/404")] * 5
    outcome, _ = _run(requests, client_ssl, concurrency=2, ok_statuses=frozenset({404}))
    assert (outcome.statuses, outcome.errors) == ({404: 5}, 0)


def test_one_keep_alive_connection_per_worker(server: str, client_ssl: object) -> None:
    requests = [_get(server, f"/echo/{i}") for i in range(200)]

    outcome, answers = _run(requests, client_ssl, concurrency=4, warmup=20)

    ports = {json.loads(body)["port"] for _, body in answers.values()}
    assert len(ports) == 4
    assert outcome.connections == 4
    assert outcome.concurrency == 4


def test_chunked_answers_are_decoded(server: str, client_ssl: object) -> None:
    requests = [_get(server, f"/chunked/{i % 5 + 1}") for i in range(40)]

    outcome, answers = _run(requests, client_ssl, concurrency=3)

    for i, (status, body) in answers.items():
        assert status == 200
        assert body == b"".join(f"part-{k};".encode() for k in range(i % 5 + 1))
    # Chunked answers keep the connection: no reconnection was needed.
    assert (outcome.errors, outcome.connections) == (0, 3)


def test_connection_close_answer_counts_and_the_worker_reconnects(
    server: str, client_ssl: object
) -> None:
    requests = [_get(server, "/close" if i % 4 == 0 else f"/echo/{i}") for i in range(40)]

    outcome, answers = _run(requests, client_ssl, concurrency=2)

    assert all(status == 200 for status, _ in answers.values())
    assert all(answers[i][1] == b"closing" for i in range(0, 40, 4))
    assert outcome.errors == 0
    assert outcome.connections > 2


def test_unanswered_request_times_out_as_status_0(server: str, client_ssl: object) -> None:
    requests = [_get(server, "/slow" if i == 1 else f"/echo/{i}") for i in range(6)]

    outcome, answers = _run(requests, client_ssl, concurrency=1, timeout=2.0)

    assert answers[1] == (0, b"")
    assert all(answers[i][0] == 200 for i in answers if i != 1)
    assert (outcome.statuses, outcome.errors) == ({200: 5, 0: 1}, 1)
    assert outcome.connections == 2  # the timed-out connection was replaced


def test_warmup_is_unmeasured_and_on_start_runs_in_between(server: str, client_ssl: object) -> None:
    requests = [_get(server, f"/echo/{i}") for i in range(30)]
    answered_at_start: list[int] = []
    answers: Answers = {}

    def started() -> None:
        answered_at_start.append(len(answers))

    outcome = asyncio.run(
        load.run(
            requests,
            concurrency=4,
            ssl_context=client_ssl,  # type: ignore[arg-type]
            warmup=10,
            on_start=started,
            on_response=lambda i, s, b: answers.update({i: (s, b)}),
        )
    )

    assert answered_at_start == [10]
    assert outcome.requests == 20 and outcome.statuses == {200: 20}
    assert outcome.seconds > 0 and outcome.rps > 0 and outcome.cpu_seconds >= 0


def test_runs_directly_on_a_uvloop_loop(server: str, client_ssl: object) -> None:
    requests = [_get(server, f"/echo/{i}") for i in range(20)]
    outcome = uvloop.run(load.run(requests, concurrency=4, ssl_context=client_ssl))  # type: ignore[arg-type]
    assert outcome.statuses == {200: 20}


def test_aiohttp_reference_sees_the_same_answers(server: str, client_ssl: object) -> None:
    requests = [_get(server, f"/status/{200 if i % 2 else 404}") for i in range(20)]
    outcome = asyncio.run(
        load.run_aiohttp(requests, concurrency=4, ssl_context=client_ssl, warmup=4)  # type: ignore[arg-type]
    )
    assert outcome.statuses == {200: 8, 404: 8}


def test_response_hook_error_ends_the_run(server: str, client_ssl: object) -> None:
    def broken(index: int, status: int, body: bytes) -> None:
        raise RuntimeError("hook failed")

    with pytest.raises(RuntimeError, match="hook failed"):
        asyncio.run(
            load.run(
                [_get(server, "/echo/1")] * 4,
                concurrency=2,
                ssl_context=client_ssl,  # type: ignore[arg-type]
                on_response=broken,
            )
        )


# -- what uvicorn never sends ------------------------------------------------------------------


def test_dropped_connection_counts_an_error_and_the_worker_reconnects(
    raw: RawServer, client_ssl: object
) -> None:
    base = f"https://127.0.0.1:{raw.port}"
    requests = [_get(base, "/drop" if i % 5 == 2 else "/ok") for i in range(20)]

    outcome, answers = _run(requests, client_ssl, concurrency=1)

    assert {i for i, (status, _) in answers.items() if status == 0} == {2, 7, 12, 17}
    assert all(answers[i] == (200, b"ok") for i in answers if i % 5 != 2)
    assert (outcome.errors, outcome.connections) == (4, 5)


def test_body_ended_by_closing_is_complete(raw: RawServer, client_ssl: object) -> None:
    base = f"https://127.0.0.1:{raw.port}"
    outcome, answers = _run([_get(base, "/eof")] * 3, client_ssl, concurrency=1)
    assert all(answer == (200, b"body until close") for answer in answers.values())
    assert outcome.errors == 0


def test_informational_answer_is_skipped(raw: RawServer, client_ssl: object) -> None:
    base = f"https://127.0.0.1:{raw.port}"
    _, answers = _run([_get(base, "/continue")] * 3, client_ssl, concurrency=1)
    assert all(answer == (200, b"ok") for answer in answers.values())


def test_answer_one_byte_at_a_time_is_parsed(raw: RawServer, client_ssl: object) -> None:
    base = f"https://127.0.0.1:{raw.port}"
    _, answers = _run([_get(base, "/trickle")] * 3, client_ssl, concurrency=1)
    assert all(answer == (200, b"hello world") for answer in answers.values())


def test_malformed_answer_counts_an_error(raw: RawServer, client_ssl: object) -> None:
    base = f"https://127.0.0.1:{raw.port}"
    requests = [_get(base, "/garbage" if i == 1 else "/ok") for i in range(4)]
    outcome, answers = _run(requests, client_ssl, concurrency=1)
    assert answers[1] == (0, b"")
    assert outcome.statuses == {200: 3, 0: 1}


def test_unreachable_server_is_refused_before_any_request(client_ssl: object) -> None:
    (port,) = free_ports(1)
    with pytest.raises(ConnectionError, match=f"127.0.0.1:{port}"):
        asyncio.run(
            load.run(
                [_get(f"https://127.0.0.1:{port}", "/ok")],
                concurrency=2,
                ssl_context=client_ssl,  # type: ignore[arg-type]
            )
        )


# -- requests as bytes -------------------------------------------------------------------------


def test_request_is_serialized_as_written() -> None:
    origin, wire = load.serialize(
        Prepared("GET", "https://127.0.0.1:8443/r1/x/persons/1?fields=a,b", {"X-Road-Id": "7"})
    )
    assert (origin.host, origin.port, origin.tls) == ("127.0.0.1", 8443, True)
    assert wire == (
        b"GET /r1/x/persons/1?fields=a,b HTTP/1.1\r\nHost: 127.0.0.1:8443\r\nX-Road-Id: 7\r\n\r\n"
    )


def test_body_gets_a_content_length_once() -> None:
    _, wire = load.serialize(Prepared("POST", "http://h/p", {}, b"{}"))
    assert wire == b"POST /p HTTP/1.1\r\nHost: h\r\nContent-Length: 2\r\n\r\n{}"
    _, empty = load.serialize(Prepared("PUT", "http://h/p", {"content-length": "0"}))
    assert empty == b"PUT /p HTTP/1.1\r\nHost: h\r\ncontent-length: 0\r\n\r\n"


@pytest.mark.parametrize(
    "request_",
    [
        Prepared("GET", "http://h/p", {"X-A": "1\r\nX-B: 2"}),
        Prepared("HEAD", "http://h/p", {}),
        Prepared("GET", "http://h/ngườ", {}),
        Prepared("GET", "/relative", {}),
    ],
    ids=["header-injection", "head", "non-ascii-path", "relative-url"],
)
def test_unsendable_request_is_refused(request_: Prepared) -> None:
    with pytest.raises(ValueError):
        load.serialize(request_)


def test_requests_to_two_origins_are_refused(client_ssl: object) -> None:
    requests = [_get("https://127.0.0.1:1", "/a"), _get("https://127.0.0.1:2", "/a")]
    with pytest.raises(ValueError, match="one origin"):
        asyncio.run(load.run(requests, concurrency=1, ssl_context=client_ssl))  # type: ignore[arg-type]


# -- python -m bench.load ------------------------------------------------------------------------


SMALL_RUN = "--requests 200 --warmup 20 --rounds 1 --concurrency 4"


def test_cli_compares_both_generators() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "bench.load", *SMALL_RUN.split()],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=300,
        check=True,
    )
    assert "lean" in done.stdout and "aiohttp" in done.stdout
    assert "errors 0" in done.stdout
