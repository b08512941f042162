"""``fields=`` selection: empty means all, unknown names are a 400 listing them."""

from __future__ import annotations

import pytest

from core.errors import UnknownFields
from core.fields import MAX_FIELDS_PARAM, parse_fields, select

AVAILABLE = ("personal_id", "full_name", "date_of_birth", "sex")


@pytest.mark.parametrize("raw", [None, "", "   ", "\t", ",", ",,", " , ,"])
def test_absent_or_empty_fields_means_every_field(raw: str | None) -> None:
    assert parse_fields(raw, AVAILABLE) == frozenset(AVAILABLE)


def test_repeated_parameters_are_joined_not_dropped() -> None:
    assert parse_fields(["full_name", "sex, date_of_birth"], AVAILABLE) == frozenset(
        {"full_name", "sex", "date_of_birth"}
    )
    assert parse_fields([], AVAILABLE) == frozenset(AVAILABLE)


def test_names_are_split_on_commas_and_trimmed() -> None:
    assert parse_fields(" full_name , sex,,", AVAILABLE) == {"full_name", "sex"}


def test_unknown_names_are_a_400_listing_them_and_the_available_ones() -> None:
    with pytest.raises(UnknownFields) as e:
        parse_fields("full_name,salary,address,salary", AVAILABLE)
    err = e.value
    assert err.status == 400
    assert err.type == "client.bad_request"
    assert err.message == "unknown field(s) in 'fields': address, salary"
    assert err.detail == {"unknown": ["address", "salary"], "available": sorted(AVAILABLE)}


def test_names_are_case_sensitive() -> None:
    with pytest.raises(UnknownFields, match="Full_Name"):
        parse_fields("Full_Name", AVAILABLE)


def test_an_overlong_fields_parameter_is_refused() -> None:
    with pytest.raises(UnknownFields, match="<too long>"):
        parse_fields("sex," * (MAX_FIELDS_PARAM // 4 + 1), AVAILABLE)


def test_select_keeps_only_the_chosen_fields_in_record_order() -> None:
    record = {"personal_id": "001090012345", "full_name": "Nguyễn Văn A", "sex": "male"}
    assert list(select(record, {"sex", "personal_id"})) == ["personal_id", "sex"]
    assert select(record, frozenset()) == {}
