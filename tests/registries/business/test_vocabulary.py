"""The static tables the seed and the service share: every code they use is defined."""

from __future__ import annotations

import pytest

from core.errors import InvalidIdentifier
from core.ids.enterprise import is_enterprise_code
from registries.business.identifiers import make_registration_number, parse_registration_number
from registries.business.seed_data import (
    BANK_SECONDARY_INDUSTRIES,
    BANKS,
    HOUSEHOLD_SECTORS,
    PROFILES,
    ascii_upper,
)
from registries.business.vsic import BANKING, VSIC_2018


def test_every_vsic_code_the_seed_can_draw_is_a_known_4_digit_class() -> None:
    drawn = {c for p in PROFILES for c in (*p.main, *p.secondary)}
    drawn |= {s.vsic for s in HOUSEHOLD_SECTORS} | set(BANK_SECONDARY_INDUSTRIES) | {BANKING}
    assert drawn <= set(VSIC_2018)
    assert all(len(c) == 4 and c.isdigit() for c in VSIC_2018)


def test_construction_uses_the_2018_split_of_class_4100() -> None:
    assert "4100" not in VSIC_2018
    assert VSIC_2018["4101"] == "Xây dựng nhà để ở"
    assert VSIC_2018["4102"] == "Xây dựng nhà không để ở"


def test_bank_codes_are_valid_and_distinct() -> None:
    codes = [b.code for b in BANKS]
    assert all(is_enterprise_code(c) for c in codes)
    assert len(set(codes)) == len(codes)


def test_ascii_upper_strips_vietnamese_diacritics() -> None:
    assert ascii_upper("Minh Phát Đạt Ưng Ỷ") == "MINH PHAT DAT UNG Y"


def test_registration_number_round_trips() -> None:
    number = make_registration_number("79", "C", 12345)
    assert number == "79C8012345"
    assert parse_registration_number(number) == number


@pytest.mark.parametrize(
    ("province", "office", "serial"),
    [("1", "A", 1), ("01", "a", 1), ("01", "AB", 1), ("01", "A", 1_000_000), ("01", "A", -1)],
)
def test_impossible_registration_number_parts_are_value_errors(
    province: str, office: str, serial: int
) -> None:
    with pytest.raises(ValueError, match=r"province|office|serial"):
        make_registration_number(province, office, serial)


def test_registration_number_of_a_merged_province_says_where_it_went() -> None:
    with pytest.raises(InvalidIdentifier, match="ceased"):
        parse_registration_number("02A8012345")  # Hà Giang, merged into Tuyên Quang
