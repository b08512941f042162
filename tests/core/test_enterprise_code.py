"""Enterprise / tax codes: the stdnum check digit, branches, household businesses."""

from __future__ import annotations

import contextlib

import pytest
from hypothesis import assume, given
from hypothesis import strategies as st
from stdnum.vn import mst

from core.errors import InvalidIdentifier
from core.ids.enterprise import (
    TaxCode,
    has_check_digit,
    is_enterprise_code,
    make_branch_code,
    make_enterprise_code,
    parse_enterprise_code,
    parse_tax_code,
)
from core.ids.personal import parse_personal_id

VALID = "0100109106"  # stdnum's own example

prefixes = st.text(alphabet="0123456789", min_size=9, max_size=9).filter(has_check_digit)
codes = prefixes.map(make_enterprise_code)


def test_a_valid_code_parses_unchanged() -> None:
    assert mst.is_valid(VALID)
    assert parse_enterprise_code(VALID) == VALID
    assert is_enterprise_code(VALID)


def test_a_wrong_check_digit_is_named() -> None:
    with pytest.raises(InvalidIdentifier, match="check digit of enterprise code 0100109107"):
        parse_enterprise_code("0100109107")


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("010010910", "exactly 10 digits"),
        ("01001091060", "exactly 10 digits"),
        ("0100109106001", "exactly 10 digits"),
        (" 0100109106", "exactly 10 digits"),
        ("0100.109106", "exactly 10 digits"),
        ("０１００１０９１０６", "exactly 10 digits"),
        ("0100000000", "not assigned"),
        ("0100109106-000", "branch number 000"),
        ("0100109106-01", "3 digits after the hyphen"),
        ("0100109106-0001", "3 digits after the hyphen"),
        ("0100109106-00a", "3 digits after the hyphen"),
        ("0100109107-001", "check digit of enterprise code of branch 0100109107"),
        ("-001", "enterprise code of branch must be exactly 10 digits"),
    ],
)
def test_malformed_codes_are_rejected_naming_the_part(text: str, message: str) -> None:
    with pytest.raises(InvalidIdentifier, match=message):
        parse_enterprise_code(text)


def test_a_branch_code_parses_and_names_its_parent() -> None:
    assert parse_enterprise_code("0100109106-001") == "0100109106-001"
    tax = parse_tax_code("0100109106-042")
    assert tax == TaxCode("0100109106-042", "branch")
    assert (tax.enterprise_code, tax.branch, tax.personal_id) == ("0100109106", "042", None)


def test_make_appends_the_stdnum_check_digit() -> None:
    assert make_enterprise_code("010010910") == VALID
    assert make_branch_code(VALID, 7) == "0100109106-007"


def test_a_prefix_without_a_check_digit_cannot_make_a_code() -> None:
    # Σ weights·digits ≡ 0 (mod 11) would need a check digit of 10.
    prefix = next(
        f"01{n:07d}" for n in range(1, 10_000) if len(mst.calc_check_digit(f"01{n:07d}")) == 2
    )
    assert not has_check_digit(prefix)
    with pytest.raises(ValueError, match="no check digit"):
        make_enterprise_code(prefix)


@pytest.mark.parametrize("bad", ["01001091", "0100109a6", "010000000"])
def test_make_refuses_bad_prefixes(bad: str) -> None:
    with pytest.raises(ValueError, match="enterprise code"):
        make_enterprise_code(bad)


@pytest.mark.parametrize(("code", "branch"), [("0100109107", 1), (VALID, 0), (VALID, 1000)])
def test_make_branch_refuses_bad_parts(code: str, branch: int) -> None:
    with pytest.raises(ValueError, match=r"enterprise code|branch number"):
        make_branch_code(code, branch)


def test_a_household_business_tax_code_is_the_owners_personal_id() -> None:
    tax = parse_tax_code("079090012345")
    assert tax.kind == "personal"
    assert tax.enterprise_code is None and tax.branch is None
    assert tax.personal_id == parse_personal_id("079090012345")
    assert str(tax) == "079090012345"


def test_a_tax_code_of_twelve_digits_is_checked_as_a_personal_id() -> None:
    with pytest.raises(InvalidIdentifier, match="province code 999 does not exist"):
        parse_tax_code("999090012345")


def test_a_tax_code_of_another_length_lists_the_three_kinds() -> None:
    with pytest.raises(InvalidIdentifier, match=r"10 digits.*branch.*12 digits"):
        parse_tax_code("12345")


def test_an_enterprise_tax_code_is_named_enterprise() -> None:
    assert parse_tax_code(VALID) == TaxCode(VALID, "enterprise")
    with pytest.raises(InvalidIdentifier, match="check digit"):
        parse_tax_code("0100109107")


@given(prefixes)
def test_every_made_code_parses_back(prefix: str) -> None:
    code = make_enterprise_code(prefix)
    assert parse_enterprise_code(code) == code
    assert mst.is_valid(code)
    assert parse_tax_code(code).enterprise_code == code


@given(codes, st.integers(min_value=0, max_value=9), st.sampled_from("0123456789"))
def test_any_single_digit_change_is_caught(code: str, position: int, digit: str) -> None:
    # Every weight is non-zero mod 11 (a prime), so one changed digit always shows.
    assume(code[position] != digit)
    mutated = code[:position] + digit + code[position + 1 :]
    assert not is_enterprise_code(mutated)


@given(st.text(max_size=20))
def test_arbitrary_text_raises_nothing_but_invalid_identifier(text: str) -> None:
    with contextlib.suppress(InvalidIdentifier):
        assert str(parse_tax_code(text)) == text
    with contextlib.suppress(InvalidIdentifier):
        assert parse_enterprise_code(text) == text
