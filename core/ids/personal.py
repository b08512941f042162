"""The personal identification number (số định danh cá nhân): 12 digits ``PPP G YY NNNNNN``.

- ``PPP``    — one of the 63 legacy birth-registration province codes (001 Hà Nội … 096 Cà
  Mau). It is fixed for life: the 2025 province merger did not renumber anyone, so this is
  *not* a current province code (see ``core.ids.units.LEGACY_TO_CURRENT``).
- ``G``      — century and sex: 0/1 born 1900–1999 male/female, 2/3 2000s, 4/5 2100s,
  6/7 2200s, 8/9 2300s.
- ``YY``     — the last two digits of the birth year.
- ``NNNNNN`` — a serial number.

There is **no check digit**: a structurally valid number may belong to nobody, so where
identity matters the register must be asked to match it with name and date of birth.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Literal

from core.errors import InvalidIdentifier
from core.ids import is_ascii_digits

Sex = Literal["male", "female"]

PERSONAL_ID_LENGTH = 12
FIRST_BIRTH_YEAR = 1900
LAST_BIRTH_YEAR = 2399
MAX_SERIAL = 999_999

#: The 63 legacy birth-registration province codes and the provinces they named.
LEGACY_PROVINCES: dict[str, str] = {
    "001": "Hà Nội",
    "002": "Hà Giang",
    "004": "Cao Bằng",
    "006": "Bắc Kạn",
    "008": "Tuyên Quang",
    "010": "Lào Cai",
    "011": "Điện Biên",
    "012": "Lai Châu",
    "014": "Sơn La",
    "015": "Yên Bái",
    "017": "Hòa Bình",
    "019": "Thái Nguyên",
    "020": "Lạng Sơn",
    "022": "Quảng Ninh",
    "024": "Bắc Giang",
    "025": "Phú Thọ",
    "026": "Vĩnh Phúc",
    "027": "Bắc Ninh",
    "030": "Hải Dương",
    "031": "Hải Phòng",
    "033": "Hưng Yên",
    "034": "Thái Bình",
    "035": "Hà Nam",
    "036": "Nam Định",
    "037": "Ninh Bình",
    "038": "Thanh Hóa",
    "040": "Nghệ An",
    "042": "Hà Tĩnh",
    "044": "Quảng Bình",
    "045": "Quảng Trị",
    "046": "Thừa Thiên Huế",
    "048": "Đà Nẵng",
    "049": "Quảng Nam",
    "051": "Quảng Ngãi",
    "052": "Bình Định",
    "054": "Phú Yên",
    "056": "Khánh Hòa",
    "058": "Ninh Thuận",
    "060": "Bình Thuận",
    "062": "Kon Tum",
    "064": "Gia Lai",
    "066": "Đắk Lắk",
    "067": "Đắk Nông",
    "068": "Lâm Đồng",
    "070": "Bình Phước",
    "072": "Tây Ninh",
    "074": "Bình Dương",
    "075": "Đồng Nai",
    "077": "Bà Rịa - Vũng Tàu",
    "079": "Hồ Chí Minh",
    "080": "Long An",
    "082": "Tiền Giang",
    "083": "Bến Tre",
    "084": "Trà Vinh",
    "086": "Vĩnh Long",
    "087": "Đồng Tháp",
    "089": "An Giang",
    "091": "Kiên Giang",
    "092": "Cần Thơ",
    "093": "Hậu Giang",
    "094": "Sóc Trăng",
    "095": "Bạc Liêu",
    "096": "Cà Mau",
}


def _century_sex_digit(birth_year: int, sex: Sex) -> int:
    return (birth_year // 100 - 19) * 2 + (1 if sex == "female" else 0)


@dataclass(frozen=True, slots=True)
class PersonalId:
    """A structurally valid personal id, split into its parts.

    Build one with ``parse_personal_id``; ``str()`` gives the 12 digits back.
    """

    province: str
    """The legacy birth-registration province code, three digits ("001")."""
    century_sex: int
    """The G digit, 0-9."""
    birth_year: int
    """The full birth year (century from G plus YY), 1900-2399."""
    sex: Sex
    serial: int
    """The last six digits, 0-999999."""

    def __str__(self) -> str:
        return f"{self.province}{self.century_sex}{self.birth_year % 100:02d}{self.serial:06d}"

    @property
    def province_name(self) -> str:
        """The name of the legacy province of birth registration."""
        return LEGACY_PROVINCES[self.province]

    def matches(self, date_of_birth: date, sex: str) -> bool:
        """Whether the id agrees with a date of birth and sex ("male"/"female").

        Only the year and the sex are encoded in the id, so this is a consistency check
        that catches typos and swapped records, not proof of identity.
        """
        return self.birth_year == date_of_birth.year and self.sex == sex


def parse_personal_id(s: str) -> PersonalId:
    """Parse a 12-digit personal id, naming the wrong part when it is malformed.

    Nothing is normalised: whitespace, signs and non-ASCII digits are rejected, so the
    string that parses is exactly ``str()`` of the result.
    """
    if not isinstance(s, str):
        raise InvalidIdentifier(
            "personal id must be a string of exactly 12 digits", detail={"part": "personal_id"}
        )
    if len(s) != PERSONAL_ID_LENGTH:
        raise InvalidIdentifier(
            f"personal id must be exactly 12 digits, got {len(s)} characters",
            detail={"part": "personal_id", "length": len(s)},
        )
    if not is_ascii_digits(s):
        position = next(i for i, c in enumerate(s) if c not in "0123456789") + 1
        raise InvalidIdentifier(
            f"personal id must be exactly 12 digits; character {position} is not a digit 0-9",
            detail={"part": "personal_id", "position": position},
        )
    province = s[0:3]
    if province not in LEGACY_PROVINCES:
        raise InvalidIdentifier(
            f"province code {province} does not exist "
            "(the first 3 digits must be one of the 63 birth-registration province codes)",
            detail={"part": "province", "value": province},
        )
    g = int(s[3])
    birth_year = 1900 + (g // 2) * 100 + int(s[4:6])
    sex: Sex = "female" if g % 2 else "male"
    return PersonalId(
        province=province, century_sex=g, birth_year=birth_year, sex=sex, serial=int(s[6:])
    )


def validate_personal_id(s: str) -> str:
    """The personal id as a string if it is structurally valid; ``InvalidIdentifier`` if not."""
    return str(parse_personal_id(s))


def is_personal_id(s: str) -> bool:
    """Whether ``s`` is a structurally valid personal id."""
    try:
        parse_personal_id(s)
    except InvalidIdentifier:
        return False
    return True


def make_personal_id(province: str, birth_year: int, sex: str, serial: int) -> str:
    """A personal id from its parts (for seeds and tests).

    Raises ``ValueError`` for impossible parts: an unknown legacy province, a birth year
    outside 1900-2399, a sex other than "male"/"female", a serial outside 0-999999.
    """
    if province not in LEGACY_PROVINCES:
        raise ValueError(f"legacy province code {province!r} does not exist")
    if not FIRST_BIRTH_YEAR <= birth_year <= LAST_BIRTH_YEAR:
        raise ValueError(f"birth year {birth_year} is outside {FIRST_BIRTH_YEAR}-{LAST_BIRTH_YEAR}")
    if sex not in ("male", "female"):
        raise ValueError(f"sex must be 'male' or 'female', not {sex!r}")
    if not 0 <= serial <= MAX_SERIAL:
        raise ValueError(f"serial {serial} is outside 0-{MAX_SERIAL}")
    g = _century_sex_digit(birth_year, "female" if sex == "female" else "male")
    return f"{province}{g}{birth_year % 100:02d}{serial:06d}"
