"""The 12-digit personal id: structure, the 63 legacy province codes, century/sex digit."""

from __future__ import annotations

from datetime import date

import pytest
from hypothesis import given
from hypothesis import strategies as st

from core.errors import InvalidIdentifier
from core.ids.personal import (
    LEGACY_PROVINCES,
    PersonalId,
    is_personal_id,
    make_personal_id,
    parse_personal_id,
    validate_personal_id,
)

provinces = st.sampled_from(sorted(LEGACY_PROVINCES))
birth_years = st.integers(min_value=1900, max_value=2399)
sexes = st.sampled_from(["male", "female"])
serials = st.integers(min_value=0, max_value=999_999)
valid_ids = st.builds(make_personal_id, provinces, birth_years, sexes, serials)


def test_there_are_63_legacy_province_codes_of_three_digits() -> None:
    assert len(LEGACY_PROVINCES) == 63
    assert all(len(c) == 3 and c.isascii() and c.isdigit() for c in LEGACY_PROVINCES)
    assert LEGACY_PROVINCES["001"] == "Hà Nội"
    assert LEGACY_PROVINCES["079"] == "Hồ Chí Minh"
    assert LEGACY_PROVINCES["096"] == "Cà Mau"
    assert "003" not in LEGACY_PROVINCES


def test_parse_splits_the_parts() -> None:
    pid = parse_personal_id("001090012345")
    assert pid == PersonalId(
        province="001", century_sex=0, birth_year=1990, sex="male", serial=12345
    )
    assert pid.province_name == "Hà Nội"
    assert str(pid) == "001090012345"


@pytest.mark.parametrize(
    ("g", "century", "sex"),
    [
        (0, 1900, "male"),
        (1, 1900, "female"),
        (2, 2000, "male"),
        (3, 2000, "female"),
        (4, 2100, "male"),
        (5, 2100, "female"),
        (6, 2200, "male"),
        (7, 2200, "female"),
        (8, 2300, "male"),
        (9, 2300, "female"),
    ],
)
def test_century_sex_digit_gives_century_and_sex(g: int, century: int, sex: str) -> None:
    pid = parse_personal_id(f"079{g}05000001")
    assert (pid.century_sex, pid.birth_year, pid.sex) == (g, century + 5, sex)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "personal id must be exactly 12 digits, got 0 characters"),
        ("00109001234", "personal id must be exactly 12 digits, got 11 characters"),
        ("0010900123456", "personal id must be exactly 12 digits, got 13 characters"),
        ("00109001234x", "character 12 is not a digit 0-9"),
        ("999090012345", "province code 999 does not exist"),
        ("003090012345", "province code 003 does not exist"),
    ],
)
def test_malformed_ids_are_rejected_naming_the_part(text: str, message: str) -> None:
    with pytest.raises(InvalidIdentifier, match=message):
        parse_personal_id(text)


def test_province_error_detail_names_the_part() -> None:
    with pytest.raises(InvalidIdentifier) as e:
        parse_personal_id("999090012345")
    assert e.value.detail == {"part": "province", "value": "999"}
    assert e.value.status == 400
    assert e.value.type == "client.bad_request"


@pytest.mark.parametrize(
    "text",
    [
        "٠٠١٠٩٠٠١٢٣٤٥",  # Arabic-Indic digits: str.isdigit() is True for these
        "００１０９００１２３４５",  # full-width digits
        "00109001234\u00b2",  # superscript two
        " 01090012345",
        "00109001234 ",
        "001090\t12345",
        "+01090012345",
        "-01090012345",
        "001_90012345",
    ],
)
def test_non_ascii_digits_whitespace_and_signs_are_rejected(text: str) -> None:
    with pytest.raises(InvalidIdentifier, match="12 digits"):
        parse_personal_id(text)


def test_a_non_string_is_rejected_as_invalid_identifier() -> None:
    with pytest.raises(InvalidIdentifier):
        parse_personal_id(1090012345)  # type: ignore[arg-type]


def test_matches_checks_birth_year_and_sex() -> None:
    pid = parse_personal_id("001190012345")  # female, born 1990
    assert pid.matches(date(1990, 12, 31), "female")
    assert not pid.matches(date(1990, 12, 31), "male")
    assert not pid.matches(date(1991, 1, 1), "female")
    assert not pid.matches(date(2090, 1, 1), "female")  # same YY, other century


def test_validate_returns_the_string_and_is_personal_id_says_so() -> None:
    assert validate_personal_id("096305000007") == "096305000007"
    assert is_personal_id("096305000007")
    assert not is_personal_id("096305 00007")


def test_make_builds_the_documented_layout() -> None:
    assert make_personal_id("096", 2005, "female", 7) == "096305000007"
    assert make_personal_id("001", 1900, "male", 999_999) == "001000999999"


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("999", 1990, "male", 1), "province"),
        (("001", 1899, "male", 1), "birth year"),
        (("001", 2400, "male", 1), "birth year"),
        (("001", 1990, "m", 1), "sex"),
        (("001", 1990, "male", -1), "serial"),
        (("001", 1990, "male", 1_000_000), "serial"),
    ],
)
def test_make_refuses_impossible_parts(args: tuple[str, int, str, int], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        make_personal_id(*args)


@given(provinces, birth_years, sexes, serials)
def test_every_made_id_parses_back_to_its_parts(
    province: str, birth_year: int, sex: str, serial: int
) -> None:
    text = make_personal_id(province, birth_year, sex, serial)
    pid = parse_personal_id(text)
    assert (pid.province, pid.birth_year, pid.sex, pid.serial) == (
        province,
        birth_year,
        sex,
        serial,
    )
    assert str(pid) == text
    assert pid.matches(date(birth_year, 6, 15), sex)


@given(valid_ids, st.integers(min_value=0, max_value=11), st.characters())
def test_a_single_character_mutation_is_valid_or_invalid_identifier(
    text: str, position: int, char: str
) -> None:
    mutated = text[:position] + char + text[position + 1 :]
    try:
        pid = parse_personal_id(mutated)
    except InvalidIdentifier:
        assert not (char.isascii() and char.isdigit()) or mutated[:3] not in LEGACY_PROVINCES
    else:
        assert str(pid) == mutated


@given(st.text())
def test_arbitrary_text_raises_nothing_but_invalid_identifier(text: str) -> None:
    try:
        pid = parse_personal_id(text)
    except InvalidIdentifier:
        return
    assert str(pid) == text
