"""X-Road client and service ids: strict segments, exact round trip."""

from __future__ import annotations

import contextlib

import pytest
from hypothesis import given
from hypothesis import strategies as st

from core.errors import InvalidIdentifier
from core.ids import xroad
from core.ids.xroad import ClientId, ServiceId, parse_client_id, parse_service_id

SEGMENT_CHARS = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789._-"

segments = st.text(alphabet=SEGMENT_CHARS, min_size=1, max_size=64).filter(
    lambda s: s != "." and ".." not in s
)
instances = st.from_regex(r"\A[A-Z][A-Z0-9-]{0,15}\Z")
classes = st.sampled_from(sorted(xroad.MEMBER_CLASSES))
clients = st.builds(ClientId, instances, classes, segments, segments)


@pytest.mark.parametrize(
    "text", ["VN/GOV/BCA/population", "VN/GOV/UBND-HN/one-stop", "VN/COM/0101234567/kyc"]
)
def test_design_examples_parse_and_format_back(text: str) -> None:
    assert str(parse_client_id(text)) == text


def test_parts_are_named() -> None:
    client = parse_client_id("VN/COM/0101234567/kyc")
    assert client == ClientId("VN", "COM", "0101234567", "kyc")
    assert client.member == "VN/COM/0101234567"
    service = parse_service_id("VN/GOV/BCA/population/persons")
    assert service == ServiceId(ClientId("VN", "GOV", "BCA", "population"), "persons")
    assert service.client.subsystem == "population"
    assert str(service) == "VN/GOV/BCA/population/persons"
    assert ClientId("VN", "GOV", "BCA", "population").service("persons") == service


@pytest.mark.parametrize(
    ("text", "part"),
    [
        ("VN/GOV//population", "member_code"),
        ("/GOV/BCA/population", "instance"),
        ("VN/GOV/BCA/", "subsystem"),
        ("VN/GOV/../population", "member_code"),
        ("VN/GOV/./population", "member_code"),
        ("VN/GOV/BCA/pop..ulation", "subsystem"),
        ("VN/GOV/BCA%2Fx/population", "member_code"),
        ("VN/GOV/BCA/population%2F..", "subsystem"),
        ("VN/GOV/BCA/popu\x00lation", "subsystem"),
        ("VN/GOV/BCA/population\n", "subsystem"),
        ("VN/GOV/B CA/population", "member_code"),
        ("VN/GOV/BCA/\tpopulation", "subsystem"),
        ("VN/GOV/BCÁ/population", "member_code"),
        ("VN/GOV/BCA/populati\u043en", "subsystem"),  # Cyrillic o
        ("VN/GOV/BCA/" + "x" * 65, "subsystem"),
        ("vn/GOV/BCA/population", "instance"),
        ("1VN/GOV/BCA/population", "instance"),
        ("VN/gov/BCA/population", "member_class"),
        ("VN/EDU/BCA/population", "member_class"),
    ],
)
def test_bad_segments_are_rejected_naming_the_segment(text: str, part: str) -> None:
    with pytest.raises(InvalidIdentifier) as e:
        parse_client_id(text)
    assert e.value.detail["part"] == part
    assert part.replace("_", " ") in e.value.message


@pytest.mark.parametrize(
    "text",
    ["VN/GOV/BCA", "VN/GOV/BCA/population/persons", "", "VN", "VN\\GOV\\BCA\\population"],
)
def test_a_client_id_needs_exactly_four_segments(text: str) -> None:
    with pytest.raises(InvalidIdentifier, match="4 segments"):
        parse_client_id(text)


@pytest.mark.parametrize(
    ("text", "part"),
    [
        ("VN/GOV/BCA/population", "service_id"),
        ("VN/GOV/BCA/population/", "service_code"),
        ("VN/GOV/BCA/population/..", "service_code"),
        ("VN/GOV/BCA/population/per%2Fsons", "service_code"),
        ("VN/GOV/BCA/population/persons/x", "service_id"),
        ("VN/XXX/BCA/population/persons", "member_class"),
    ],
)
def test_bad_service_ids_are_rejected_naming_the_part(text: str, part: str) -> None:
    with pytest.raises(InvalidIdentifier) as e:
        parse_service_id(text)
    assert e.value.detail["part"] == part
    assert e.value.message.startswith("X-Road service id")


def test_a_huge_input_is_rejected_before_splitting() -> None:
    with pytest.raises(InvalidIdentifier, match="must look like"):
        parse_client_id("VN/GOV/BCA/" + "x/" * 10_000)


def test_constructing_an_invalid_id_directly_is_refused() -> None:
    with pytest.raises(InvalidIdentifier, match="member code"):
        ClientId("VN", "GOV", "a/b", "x")
    with pytest.raises(InvalidIdentifier, match="service code"):
        ServiceId(ClientId("VN", "GOV", "BCA", "population"), "")


def test_member_classes_are_configurable(monkeypatch: pytest.MonkeyPatch) -> None:
    with pytest.raises(InvalidIdentifier, match="member class EDU"):
        parse_client_id("VN/EDU/HUST/portal")
    monkeypatch.setattr(xroad, "MEMBER_CLASSES", xroad.MEMBER_CLASSES | {"EDU"})
    assert parse_client_id("VN/EDU/HUST/portal").member_class == "EDU"


@given(clients)
def test_every_client_id_round_trips(client: ClientId) -> None:
    assert parse_client_id(str(client)) == client


@given(clients, segments)
def test_every_service_id_round_trips(client: ClientId, code: str) -> None:
    service = ServiceId(client, code)
    assert parse_service_id(str(service)) == service


@given(st.text(max_size=80))
def test_arbitrary_text_raises_nothing_but_invalid_identifier(text: str) -> None:
    with contextlib.suppress(InvalidIdentifier):
        assert str(parse_client_id(text)) == text
    with contextlib.suppress(InvalidIdentifier):
        assert str(parse_service_id(text)) == text


@given(clients, st.sampled_from(["/", "%", " ", "\x00", "\n", "é", "..", "%2F"]))
def test_a_forbidden_character_anywhere_in_the_subsystem_is_rejected(
    client: ClientId, bad: str
) -> None:
    text = f"{client.member}/{client.subsystem[:1]}{bad}{client.subsystem[1:]}"
    with pytest.raises(InvalidIdentifier):
        parse_client_id(text)
