"""The enterprise code, which is also the tax code (mã số doanh nghiệp / mã số thuế).

- Enterprise: 10 digits, the 10th a check digit over the first nine (weights
  31, 29, 23, 19, 17, 13, 7, 5, 3; check = 10 − Σ mod 11). ``python-stdnum``
  (``stdnum.vn.mst``) implements the rule; we use it rather than a second copy.
- Branch / dependent unit: the parent's 10 digits, a hyphen, and three digits 001–999
  (``0101234567-001``).
- Since 1 July 2025 a household business has no code of its own: its tax code is the
  owner's 12-digit personal id. ``parse_tax_code`` accepts all three and says which it got.

Parsing is strict: no whitespace, dots or other separators are tolerated (stdnum's
``compact`` would strip them), so the accepted string is the canonical one.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from stdnum.vn import mst

from core.errors import InvalidIdentifier
from core.ids import is_ascii_digits
from core.ids.personal import PersonalId, parse_personal_id

TaxCodeKind = Literal["enterprise", "branch", "personal"]

ENTERPRISE_CODE_LENGTH = 10
BRANCH_CODE_LENGTH = 14  # 10 digits, "-", 3 digits


def _check_enterprise_code(code: str, what: str = "enterprise code") -> None:
    """Raise ``InvalidIdentifier`` unless ``code`` is a valid 10-digit enterprise code."""
    if len(code) != ENTERPRISE_CODE_LENGTH or not is_ascii_digits(code):
        raise InvalidIdentifier(
            f"{what} must be exactly 10 digits",
            detail={"part": "enterprise_code"},
        )
    if code[2:9] == "0000000":
        raise InvalidIdentifier(
            f"{what} {code} is not assigned (digits 3-9 cannot all be zero)",
            detail={"part": "enterprise_code", "value": code},
        )
    if mst.calc_check_digit(code[:9]) != code[9]:
        raise InvalidIdentifier(
            f"check digit of {what} {code} is wrong",
            detail={"part": "check_digit", "value": code},
        )
    # Belt and braces: our reading of the rule must agree with stdnum's.
    if not mst.is_valid(code):  # pragma: no cover - would mean stdnum changed the rule
        raise InvalidIdentifier(f"{what} {code} is not valid", detail={"part": "enterprise_code"})


def _check_branch_suffix(code: str, suffix: str) -> None:
    if len(suffix) != 3 or not is_ascii_digits(suffix):
        raise InvalidIdentifier(
            f"branch number of {code} must be 3 digits after the hyphen",
            detail={"part": "branch"},
        )
    if suffix == "000":
        raise InvalidIdentifier(
            f"branch number 000 of {code} does not exist (branches are 001-999)",
            detail={"part": "branch", "value": suffix},
        )


def parse_enterprise_code(s: str) -> str:
    """An enterprise code (``0100109106``) or branch code (``0100109106-001``), checked.

    Returns the code unchanged; raises ``InvalidIdentifier`` naming the wrong part.
    """
    if not isinstance(s, str):
        raise InvalidIdentifier("enterprise code must be a string", detail={"part": "enterprise"})
    if "-" in s:
        head, _, suffix = s.partition("-")
        _check_enterprise_code(head, "enterprise code of branch")
        _check_branch_suffix(s, suffix)
        return s
    if len(s) != ENTERPRISE_CODE_LENGTH or not is_ascii_digits(s):
        raise InvalidIdentifier(
            "enterprise code must be exactly 10 digits, or 10 digits, '-' and a 3-digit "
            "branch number",
            detail={"part": "enterprise_code"},
        )
    _check_enterprise_code(s)
    return s


def is_enterprise_code(s: str) -> bool:
    """Whether ``s`` is a valid enterprise or branch code."""
    try:
        parse_enterprise_code(s)
    except InvalidIdentifier:
        return False
    return True


def has_check_digit(first9: str) -> bool:
    """Whether some 10th digit completes ``first9`` into a valid code.

    About one prefix in eleven has none (Σ mod 11 = 0 would need a check digit of 10), and
    prefixes with digits 3-9 all zero are never assigned. Seeds use this to skip them.
    """
    return (
        len(first9) == 9
        and is_ascii_digits(first9)
        and first9[2:] != "0000000"
        and len(mst.calc_check_digit(first9)) == 1
    )


def make_enterprise_code(first9: str) -> str:
    """The enterprise code made of ``first9`` and its check digit.

    Raises ``ValueError`` when ``first9`` is not nine ASCII digits or has no check digit
    (see ``has_check_digit``).
    """
    if len(first9) != 9 or not is_ascii_digits(first9):
        raise ValueError(f"an enterprise code starts with 9 digits, not {first9!r}")
    if not has_check_digit(first9):
        raise ValueError(f"no check digit makes {first9} a valid enterprise code")
    return first9 + mst.calc_check_digit(first9)


def make_branch_code(enterprise_code: str, branch: int) -> str:
    """The code of branch number ``branch`` (1-999) of an enterprise."""
    if not is_enterprise_code(enterprise_code) or "-" in enterprise_code:
        raise ValueError(f"{enterprise_code!r} is not a valid 10-digit enterprise code")
    if not 1 <= branch <= 999:
        raise ValueError(f"branch number {branch} is outside 1-999")
    return f"{enterprise_code}-{branch:03d}"


@dataclass(frozen=True, slots=True)
class TaxCode:
    """A parsed tax code and what kind of taxpayer it names."""

    value: str
    kind: TaxCodeKind

    def __str__(self) -> str:
        return self.value

    @property
    def enterprise_code(self) -> str | None:
        """The 10-digit code of the enterprise (the parent, for a branch); None for a person."""
        return None if self.kind == "personal" else self.value[:ENTERPRISE_CODE_LENGTH]

    @property
    def branch(self) -> str | None:
        """The 3-digit branch number, for a branch."""
        return self.value[-3:] if self.kind == "branch" else None

    @property
    def personal_id(self) -> PersonalId | None:
        """The owner's personal id, for a household business."""
        return parse_personal_id(self.value) if self.kind == "personal" else None


def parse_tax_code(s: str) -> TaxCode:
    """A tax code: an enterprise code, a branch code, or (household business) a personal id.

    The length decides which rule applies, so the error message is the one of the kind the
    caller most likely meant.
    """
    if isinstance(s, str) and len(s) == 12 and "-" not in s:
        return TaxCode(validate_personal_tax_code(s), "personal")
    try:
        code = parse_enterprise_code(s)
    except InvalidIdentifier as e:
        if isinstance(s, str) and len(s) not in (ENTERPRISE_CODE_LENGTH, BRANCH_CODE_LENGTH):
            raise InvalidIdentifier(
                "tax code must be 10 digits (enterprise), 10 digits '-' 3 digits (branch) "
                "or 12 digits (personal id of a household business owner)",
                detail={"part": "tax_code"},
            ) from e
        raise
    return TaxCode(code, "branch" if "-" in code else "enterprise")


def validate_personal_tax_code(s: str) -> str:
    """A 12-digit personal id used as tax code, checked as a personal id."""
    return str(parse_personal_id(s))
