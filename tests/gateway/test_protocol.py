"""The wire protocol's parsers and the gateway's bounded state: paths, headers, replay, rate."""

from __future__ import annotations

import contextlib
from urllib.parse import quote

import pytest
from hypothesis import given
from hypothesis import strategies as st

from core.errors import BadRequest, ServiceUnavailable
from core.ids.xroad import MEMBER_CLASSES
from gateway.protocol import (
    ReplayCache,
    Target,
    is_xroad_id,
    parse_target,
    read_headers,
)
from gateway.ratelimit import TokenBuckets

SERVICE = "VN/GOV/BCA/population/persons"

# -- parse_target --------------------------------------------------------------------------

segment_chars = st.sampled_from("abcdefghijklmnopqrstuvwxyz0123456789-_")
safe_segment = st.text(segment_chars, min_size=1, max_size=12)
instance = st.from_regex(r"[A-Z][A-Z0-9]{0,5}", fullmatch=True)
member_class = st.sampled_from(sorted(MEMBER_CLASSES))
code = st.from_regex(r"[A-Za-z0-9][A-Za-z0-9_-]{0,10}", fullmatch=True)
rest_segments = st.lists(
    st.text(st.sampled_from("abcdefghijklmnopqrstuvwxyz0123456789-_~:@"), min_size=1, max_size=12),
    max_size=4,
)


@given(instance, member_class, code, code, code, rest_segments)
def test_valid_service_paths_round_trip(
    inst: str, cls: str, member: str, subsystem: str, service: str, rest: list[str]
) -> None:
    sid = f"{inst}/{cls}/{member}/{subsystem}/{service}"
    path = "/r1/" + sid + "".join("/" + quote(s, safe="") for s in rest)
    target = parse_target(path.encode())
    assert target.kind == "service"
    assert str(target.service) == sid
    assert str(target.provider) == f"{inst}/{cls}/{member}/{subsystem}"
    assert target.rest == "".join("/" + s for s in rest)


DOT_SEGMENTS = st.sampled_from(
    [".", "..", "%2e", "%2E", "%2e%2e", "%2E%2e", ".%2e", "%2e.", "%2E%2E"]
)


@given(st.lists(safe_segment, max_size=6), DOT_SEGMENTS, st.lists(safe_segment, max_size=6))
def test_any_dot_segment_is_rejected(before: list[str], dots: str, after: list[str]) -> None:
    path = "/".join(["", "r1", *SERVICE.split("/"), *before, dots, *after])
    with pytest.raises(BadRequest):
        parse_target(path.encode())


@given(
    st.text(segment_chars, max_size=20),
    st.sampled_from(["%2f", "%2F", "%5c", "%5C", "%2e", "%2E", "%00", "%0a", "%1f", "%7f"]),
    st.text(segment_chars, max_size=20),
)
def test_any_encoded_dot_slash_or_control_is_rejected(head: str, enc: str, tail: str) -> None:
    path = f"/r1/{SERVICE}/{head}{enc}{tail}"
    with pytest.raises(BadRequest):
        parse_target(path.encode())


@given(st.text(max_size=40))
def test_parse_target_accepts_or_raises_bad_request_only(text: str) -> None:
    raw = ("/r1/" + text).encode("utf-8")
    try:
        target = parse_target(raw)
    except BadRequest:
        return
    assert target.kind in {"service", "listClients", "listMethods", "allowedMethods", "getOpenAPI"}
    assert ".." not in target.rest.split("/")
    assert "\\" not in target.rest and "//" not in target.rest


@pytest.mark.parametrize(
    "path",
    [
        f"/r1/{SERVICE}//x",
        f"/r1/{SERVICE}/x/",
        f"/r1/{SERVICE}/x\\y",
        f"/r1/{SERVICE}/x/..",
        f"/r1/{SERVICE}/x/.",
        "/r2/" + SERVICE,
        "/r1/VN/GOV/BCA",
        "/r1/VN/GOV/BCA/population",
        "/r1/VN/GOV/BCA/population/",
        "/r1/VN/XXX/BCA/population/persons",
        "/r1/VN/GOV/BCA/population/per%20sons",
        "/r1/VN/GOV/BCA/population/persons/%ff",
    ],
)
def test_malformed_paths_rejected(path: str) -> None:
    with pytest.raises(BadRequest):
        parse_target(path.encode())


def test_non_ascii_raw_path_rejected() -> None:
    with pytest.raises(BadRequest):
        parse_target(f"/r1/{SERVICE}/nguyễn".encode())


def test_metaservice_targets() -> None:
    assert parse_target(b"/r1/listClients") == Target("listClients", None, None, "")
    for name in ("listMethods", "allowedMethods", "getOpenAPI"):
        target = parse_target(f"/r1/VN/GOV/BCA/population/{name}".encode())
        assert (target.kind, str(target.provider), target.service) == (
            name,
            "VN/GOV/BCA/population",
            None,
        )


def test_percent_encoded_value_is_decoded_once() -> None:
    target = parse_target(f"/r1/{SERVICE}/a%20b%252e".encode())
    assert target.rest == "/a b%2e"


# -- headers ---------------------------------------------------------------------------------

GOOD = [
    (b"x-road-client", b"VN/GOV/UBND-HN/one-stop"),
    (b"x-road-id", b"abc-1.2:3_4"),
    (b"x-road-userid", b"001080000001"),
    (b"x-road-issue", b"HKD 2025/1"),
    (b"x-road-purpose", b"bank-kyc"),
    (b"x-road-consent", b"2b0c9bd2-5d35-4c5e-9d0e-0e8f4f0a8f11"),
    (b"x-road-signature", b"a.b.c"),
    (b"accept", b"application/json"),
]


def test_headers_read() -> None:
    h = read_headers(GOOD)
    assert (h.client, h.id, h.user_id, h.issue) == (
        "VN/GOV/UBND-HN/one-stop",
        "abc-1.2:3_4",
        "001080000001",
        "HKD 2025/1",
    )
    assert (h.purpose, h.consent, h.signature) == (
        "bank-kyc",
        "2b0c9bd2-5d35-4c5e-9d0e-0e8f4f0a8f11",
        "a.b.c",
    )
    assert read_headers([]).client is None


@pytest.mark.parametrize("name", [n for n, _ in GOOD if n.startswith(b"x-road-")])
def test_repeated_header_rejected(name: bytes) -> None:
    with pytest.raises(BadRequest):
        read_headers([*GOOD, (name, dict(GOOD)[name])])


@pytest.mark.parametrize(
    ("name", "value"),
    [
        (b"x-road-id", b""),
        (b"x-road-id", b"a b"),
        (b"x-road-id", b"x" * 129),
        (b"x-road-userid", b"1234"),
        (b"x-road-userid", b"001080000001 "),
        (b"x-road-issue", b""),
        (b"x-road-issue", b"x" * 129),
        (b"x-road-issue", b"a\x7fb"),
        (b"x-road-purpose", b"-kyc"),
        (b"x-road-purpose", b"KYC"),
        (b"x-road-consent", b"a_b"),
        (b"x-road-consent", b""),
        (b"x-road-client", "một".encode()),
    ],
)
def test_malformed_header_rejected(name: bytes, value: bytes) -> None:
    headers = [(n, v) for n, v in GOOD if n != name] + [(name, value)]
    with pytest.raises(BadRequest):
        read_headers(headers)


@given(st.text(max_size=140))
def test_is_xroad_id_is_the_documented_shape(value: str) -> None:
    shape = 1 <= len(value) <= 128 and all(
        c.isascii() and (c.isalnum() or c in "._:-") for c in value
    )
    assert is_xroad_id(value) == shape


def test_is_xroad_id_refuses_non_strings() -> None:
    assert not is_xroad_id(None)
    assert not is_xroad_id(12)


# -- the replay cache --------------------------------------------------------------------------


def test_replay_cache_remembers_within_the_window() -> None:
    cache = ReplayCache(window_s=60, max_entries=10)
    assert cache.check_and_add("a", now=0.0)
    assert not cache.check_and_add("a", now=1.0)
    assert not cache.check_and_add("a", now=119.0)
    assert cache.check_and_add("b", now=1.0)


def test_replay_cache_forgets_after_twice_the_window() -> None:
    cache = ReplayCache(window_s=60, max_entries=10)
    cache.check_and_add("a", now=0.0)
    assert cache.check_and_add("a", now=120.0)  # expired: iat checks refuse it anyway
    assert len(cache) == 1


def test_replay_cache_full_refuses_rather_than_forgetting() -> None:
    cache = ReplayCache(window_s=60, max_entries=2)
    assert cache.check_and_add("a", now=0.0)
    assert cache.check_and_add("b", now=1.0)
    with pytest.raises(ServiceUnavailable) as e:
        cache.check_and_add("c", now=2.0)
    assert e.value.status == 503
    assert not cache.check_and_add("a", now=2.0)  # still remembered
    assert cache.check_and_add("c", now=120.5)  # "a" expired, room again
    assert len(cache) == 2


@given(st.lists(st.text(min_size=1, max_size=3), max_size=50))
def test_replay_cache_stays_bounded(keys: list[str]) -> None:
    cache = ReplayCache(window_s=60, max_entries=5)
    for i, key in enumerate(keys):
        with contextlib.suppress(ServiceUnavailable):
            cache.check_and_add(key, now=float(i))
        assert len(cache) <= 5


# -- token buckets -----------------------------------------------------------------------------


class FakeClock:
    def __init__(self) -> None:
        self.t = 1000.0

    def __call__(self) -> float:
        return self.t


def test_token_bucket_allows_the_burst_then_asks_to_wait() -> None:
    clock = FakeClock()
    buckets = TokenBuckets(rate=0.5, burst=3, clock=clock)
    assert [buckets.take("a") for _ in range(3)] == [None, None, None]
    assert buckets.take("a") == 2  # one token at 0.5/s
    clock.t += 1.0
    assert buckets.take("a") == 1
    clock.t += 1.0
    assert buckets.take("a") is None


def test_token_buckets_are_per_client() -> None:
    buckets = TokenBuckets(rate=1, burst=1, clock=FakeClock())
    assert buckets.take("a") is None
    assert buckets.take("a") is not None
    assert buckets.take("b") is None


def test_token_bucket_refills_up_to_the_burst_only() -> None:
    clock = FakeClock()
    buckets = TokenBuckets(rate=10, burst=2, clock=clock)
    buckets.take("a")
    clock.t += 3600
    assert [buckets.take("a") for _ in range(3)][2] is not None


@given(st.floats(min_value=0.001, max_value=1000), st.integers(min_value=1, max_value=50))
def test_token_bucket_retry_is_at_least_one_second(rate: float, burst: int) -> None:
    buckets = TokenBuckets(rate=rate, burst=burst, clock=FakeClock())
    answers = [buckets.take("a") for _ in range(burst + 1)]
    assert answers[:burst] == [None] * burst
    retry = answers[burst]
    assert retry is not None and retry >= 1
