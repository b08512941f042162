"""Vietnamese name comparison: forms, case, spaces and tone placement, never letters."""

from __future__ import annotations

import unicodedata

import pytest
from hypothesis import given
from hypothesis import strategies as st

from core.names import normalize_name


@pytest.mark.parametrize(
    ("a", "b", "same"),
    [
        ("Nguyễn Văn An", " nguyễn  VĂN an ", True),
        ("Nguyễn Văn An", "Nguye\u0302\u0303n Văn An", True),  # decomposed ễ
        ("Nguyễn Văn Hòa", "Nguyễn Văn Hoà", True),  # new and old tone placement
        ("Lê Thị Thủy", "Lê Thị Thuỷ", True),
        ("Trần Khóa", "Trần Khoá", True),
        ("ĐỖ VĂN HÒA", "đỗ văn hoà", True),
        ("Nguyễn Văn An", "Nguyen Van An", False),  # marks count
        ("Nguyễn Văn An", "Nguyễn Văn Anh", False),
        ("Nguyễn Văn Hòa", "Nguyễn Văn Hóa", False),  # another tone is another name
        ("Nguyễn Văn Hòa", "Nguyễn Văn Hoa", False),
        ("Lê Thị Thư", "Lê Thị Thu", False),  # the horn makes another vowel
    ],
)
def test_names_compare_equal_only_when_they_spell_the_same_name(a: str, b: str, same: bool) -> None:
    assert (normalize_name(a) == normalize_name(b)) is same


@given(st.text())
def test_normalizing_is_idempotent_and_independent_of_unicode_form(text: str) -> None:
    key = normalize_name(text)
    assert normalize_name(key) == key
    assert normalize_name(unicodedata.normalize("NFD", text)) == key
