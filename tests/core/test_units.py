"""Administrative units: the 2025 two-level system, legacy provinces, validity by date."""

from __future__ import annotations

import contextlib
from datetime import date

import pytest
from hypothesis import given
from hypothesis import strategies as st

from core.errors import InvalidIdentifier
from core.ids import units
from core.ids.personal import LEGACY_PROVINCES
from core.ids.units import (
    LEGACY_TO_CURRENT,
    LEGACY_VALID_UNTIL,
    VALID_FROM,
    Commune,
    commune,
    communes,
    communes_of,
    current_province_of_legacy,
    is_commune_code,
    legacy_provinces,
    parse_commune_code,
    province,
    province_on,
    provinces,
)


def test_there_are_34_provinces_and_3321_communes_with_padded_codes() -> None:
    ps, cs = provinces(), communes()
    assert len(ps) == 34
    assert len(cs) == 3321
    assert all(len(p.code) == 2 and p.code.isdigit() for p in ps)
    assert all(len(c.code) == 5 and c.code.isdigit() for c in cs)
    assert len({p.code for p in ps}) == 34
    assert len({c.code for c in cs}) == 3321
    assert [p.code for p in ps] == sorted(p.code for p in ps)


def test_province_and_commune_carry_names_and_types() -> None:
    assert province("01").name == "Thành phố Hà Nội"
    assert province("01").division_type == "thành phố trung ương"
    assert province("01").valid_from == VALID_FROM
    assert province("01").valid_until is None
    assert commune("00070") == Commune("00070", "Phường Hoàn Kiếm", "phường", "01")


def test_every_commune_belongs_to_a_current_province() -> None:
    codes = {p.code for p in provinces()}
    assert {c.province_code for c in communes()} == codes
    assert sum(len(communes_of(code)) for code in codes) == 3321
    assert all(c.province_code == "01" for c in communes_of("01"))


def test_legacy_to_current_covers_all_63_codes_and_targets_the_34_provinces() -> None:
    assert set(LEGACY_TO_CURRENT) == set(LEGACY_PROVINCES)
    current = {p.code for p in provinces()}
    assert set(LEGACY_TO_CURRENT.values()) == current


@pytest.mark.parametrize(
    ("legacy", "current_name"),
    [
        ("001", "Thành phố Hà Nội"),
        ("024", "Bắc Ninh"),  # Bắc Giang merged into Bắc Ninh, which kept code 24
        ("027", "Bắc Ninh"),
        ("030", "Thành phố Hải Phòng"),
        ("074", "Thành phố Hồ Chí Minh"),
        ("062", "Quảng Ngãi"),
        ("091", "An Giang"),
    ],
)
def test_legacy_provinces_map_to_the_province_that_absorbed_them(
    legacy: str, current_name: str
) -> None:
    assert current_province_of_legacy(legacy).name == current_name


def test_an_unknown_legacy_code_is_invalid_identifier() -> None:
    with pytest.raises(InvalidIdentifier, match="province code 003 does not exist"):
        current_province_of_legacy("003")


def test_there_are_63_legacy_provinces_ending_on_30_june_2025() -> None:
    legacy = legacy_provinces()
    assert len(legacy) == 63
    assert all(p.valid_until == LEGACY_VALID_UNTIL == date(2025, 6, 30) for p in legacy)
    assert {p.code for p in legacy} == {c[1:] for c in LEGACY_PROVINCES}


def test_code_24_names_bac_giang_before_and_bac_ninh_after_the_merger() -> None:
    before = province_on("24", date(2025, 6, 30))
    after = province_on("24", date(2025, 7, 1))
    assert before.name == "Bắc Giang"
    assert after.name == "Bắc Ninh"
    assert not before.is_valid_on(date(2025, 7, 1))
    assert after.is_valid_on(date(2025, 7, 1)) and not after.is_valid_on(date(2025, 6, 30))


def test_a_merged_away_province_existed_only_before_the_merger() -> None:
    assert province_on("02", date(2020, 1, 1)).name == "Hà Giang"
    with pytest.raises(InvalidIdentifier, match="did not exist on 2025-07-01"):
        province_on("02", date(2025, 7, 1))


def test_a_province_that_is_new_in_2025_did_not_exist_before() -> None:
    # 46 was Thừa Thiên Huế (a province) and is now Thành phố Huế; both answer by date.
    assert province_on("46", date(2025, 6, 30)).name == "Thừa Thiên Huế"
    assert province_on("46", date(2025, 7, 1)).name == "Thành phố Huế"


def test_a_merged_away_code_says_where_it_went() -> None:
    with pytest.raises(InvalidIdentifier, match=r"now part of 08 \(Tuyên Quang\)") as e:
        province("02")
    assert e.value.detail["now"] == "08"


@pytest.mark.parametrize(
    ("code", "message"),
    [("99", "province code 99 does not exist"), ("1", "exactly 2 digits"), ("٠١", "2 digits")],
)
def test_bad_province_codes_are_rejected(code: str, message: str) -> None:
    with pytest.raises(InvalidIdentifier, match=message):
        province(code)
    with pytest.raises(InvalidIdentifier):
        communes_of(code)


@pytest.mark.parametrize(
    ("code", "message"),
    [
        ("99999", "commune code 99999 does not exist"),
        ("70", "exactly 5 digits"),
        ("000070", "exactly 5 digits"),
        (" 0070", "exactly 5 digits"),
        ("０００７０", "exactly 5 digits"),
    ],
)
def test_bad_commune_codes_are_rejected(code: str, message: str) -> None:
    with pytest.raises(InvalidIdentifier, match=message):
        parse_commune_code(code)
    assert not is_commune_code(code)


def test_units_are_built_once() -> None:
    assert parse_commune_code("00070") is parse_commune_code("00070")
    assert units._communes() is units._communes()


def test_returned_lists_are_copies_callers_cannot_corrupt() -> None:
    communes_of("01").clear()
    provinces().clear()
    assert len(communes_of("01")) > 0
    assert len(provinces()) == 34


@given(st.sampled_from([c.code for c in communes()]))
def test_every_commune_code_parses_to_itself(code: str) -> None:
    found = parse_commune_code(code)
    assert found.code == code
    assert found in communes_of(province(found.province_code).code)


@given(st.text(max_size=8))
def test_arbitrary_text_raises_nothing_but_invalid_identifier(text: str) -> None:
    for parse in (parse_commune_code, province):
        with contextlib.suppress(InvalidIdentifier):
            assert parse(text).code == text
