"""Land parcel ids: the 12-character GeoHash national id and commune-sheet-parcel numbers."""

from __future__ import annotations

import contextlib

import pygeohash
import pytest
from hypothesis import given
from hypothesis import strategies as st

from core.errors import InvalidIdentifier
from core.ids.parcel import (
    GEOHASH_ALPHABET,
    MAX_LAT,
    MAX_LON,
    MIN_LAT,
    MIN_LON,
    NationalParcelId,
    ParcelNumber,
    is_parcel_id,
    make_parcel_id,
    make_parcel_number,
    parse_national_parcel_id,
    parse_parcel_id,
    parse_parcel_number,
)
from core.ids.units import communes

HOAN_KIEM = (21.0285, 105.8542)

lats = st.floats(min_value=MIN_LAT, max_value=MAX_LAT)
lons = st.floats(min_value=MIN_LON, max_value=MAX_LON)


def test_a_point_in_hanoi_makes_a_12_character_id_that_decodes_near_it() -> None:
    pid = make_parcel_id(*HOAN_KIEM)
    assert pid == pygeohash.encode(*HOAN_KIEM, precision=12)
    assert len(pid) == 12 and set(pid) <= set(GEOHASH_ALPHABET)
    parsed = parse_national_parcel_id(pid)
    assert isinstance(parsed, NationalParcelId) and str(parsed) == pid
    assert abs(parsed.latitude - HOAN_KIEM[0]) < 1e-6
    assert abs(parsed.longitude - HOAN_KIEM[1]) < 1e-6
    assert parse_parcel_id(pid) == pid


def test_the_island_special_zones_are_inside_the_box() -> None:
    assert is_parcel_id(make_parcel_id(16.5, 112.0))  # Hoàng Sa
    assert is_parcel_id(make_parcel_id(8.65, 111.92))  # Trường Sa


@pytest.mark.parametrize(
    ("lat", "lon"),
    [(13.7563, 100.5018), (0.0, 0.0), (25.0, 105.0), (14.6, 121.0), (3.14, 101.69)],
)
def test_a_point_outside_vietnam_is_rejected(lat: float, lon: float) -> None:
    outside = pygeohash.encode(lat, lon, precision=12)
    with pytest.raises(InvalidIdentifier, match=f"national parcel id {outside} points outside"):
        parse_parcel_id(outside)
    with pytest.raises(ValueError, match="outside Vietnam"):
        make_parcel_id(lat, lon)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("w7er8u0evss", "exactly 12 GeoHash characters"),
        ("w7er8u0evss2a", "exactly 12 GeoHash characters"),
        ("W7ER8U0EVSS2", "character 1 is not in the GeoHash alphabet"),
        ("w7er8u0evssa", "character 12 is not in the GeoHash alphabet"),
        ("w7er8u0evssi", "character 12"),
        ("w7er8u0evssl", "character 12"),
        ("w7er8u0evsso", "character 12"),
        ("w7er8u0ev s2", "character 10"),
    ],
)
def test_malformed_national_ids_are_rejected(text: str, message: str) -> None:
    with pytest.raises(InvalidIdentifier, match=message):
        parse_parcel_id(text)


def test_parcel_number_parses_and_formats() -> None:
    number = parse_parcel_number("00070-12-345")
    assert number == ParcelNumber("00070", 12, 345)
    assert str(number) == "00070-12-345"
    assert number.commune.name == "Phường Hoàn Kiếm"
    assert make_parcel_number("00070", 12, 345) == "00070-12-345"


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("00070-12", "must look like 00070-12-345"),
        ("00070-12-345-1", "must look like 00070-12-345"),
        ("99999-12-345", "commune code 99999 does not exist"),
        ("0070-12-345", "commune code must be exactly 5 digits"),
        ("00070-012-345", "map sheet .* without leading zeros"),
        ("00070-0-345", "map sheet"),
        ("00070-10000-345", "map sheet .* from 1 to 9999"),
        ("00070-12-0345", "parcel number in parcel number"),
        ("00070-12-", "parcel number in parcel number"),
        ("00070-12-+5", "parcel number in parcel number"),
        ("00070-12-١٢", "parcel number in parcel number"),
        ("00070-12-1234567", "must look like|parcel number"),
    ],
)
def test_malformed_parcel_numbers_are_rejected_naming_the_part(text: str, message: str) -> None:
    with pytest.raises(InvalidIdentifier, match=message):
        parse_parcel_number(text)


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("99999", 1, 1), "commune code 99999"),
        (("00070", 0, 1), "map sheet"),
        (("00070", 1, 0), "parcel number"),
        (("00070", 1, 1_000_000), "parcel number"),
    ],
)
def test_make_parcel_number_refuses_impossible_parts(
    args: tuple[str, int, int], message: str
) -> None:
    with pytest.raises(ValueError, match=message):
        make_parcel_number(*args)


@given(lats, lons)
def test_every_made_national_id_parses_back(lat: float, lon: float) -> None:
    pid = make_parcel_id(lat, lon)
    parsed = parse_national_parcel_id(pid)
    assert parsed.value == pid
    assert abs(parsed.latitude - lat) < 1e-6 and abs(parsed.longitude - lon) < 1e-6


@given(
    st.sampled_from([c.code for c in communes()]),
    st.integers(min_value=1, max_value=9999),
    st.integers(min_value=1, max_value=999_999),
)
def test_every_made_parcel_number_parses_back(commune: str, sheet: int, number: int) -> None:
    text = make_parcel_number(commune, sheet, number)
    assert parse_parcel_number(text) == ParcelNumber(commune, sheet, number)


@given(st.text(max_size=20))
def test_arbitrary_text_raises_nothing_but_invalid_identifier(text: str) -> None:
    with contextlib.suppress(InvalidIdentifier):
        assert parse_parcel_id(text) == text
    with contextlib.suppress(InvalidIdentifier):
        assert str(parse_parcel_number(text)) == text


@given(st.text(alphabet=GEOHASH_ALPHABET, min_size=12, max_size=12))
def test_any_geohash_is_accepted_exactly_when_it_points_into_vietnam(text: str) -> None:
    lat, lon = pygeohash.decode(text)
    slack = 1e-6  # a cell centre just over the edge still belongs to a point on it
    inside = MIN_LAT <= lat <= MAX_LAT and MIN_LON <= lon <= MAX_LON
    outside = not (MIN_LAT - slack <= lat <= MAX_LAT + slack) or not (
        MIN_LON - slack <= lon <= MAX_LON + slack
    )
    if inside:
        assert is_parcel_id(text)
    if outside:
        assert not is_parcel_id(text)
