"""Administrative units: the two-level system in force since 1 July 2025, and what came before.

Since 1 July 2025 (Decision 19/2025/QĐ-TTg) Vietnam has 34 provinces and 3,321 communes
(xã, phường, đặc khu); districts are gone. ``vietnam-provinces`` ships the current list; we
wrap it in our own frozen dataclasses with **codes as zero-padded strings** (province "01",
commune "00070") because codes, never names, are the keys every registry stores.

A code can name different units over time: province 24 was Bắc Giang until 30 June 2025 and
is Bắc Ninh (which absorbed Bắc Giang) from 1 July 2025. So every province carries its
validity, the 63 pre-merger provinces are kept with ``valid_until = 2025-06-30``, and
``province_on(code, day)`` answers by date. ``LEGACY_TO_CURRENT`` maps the 3-digit legacy
province codes of the personal id (which never change) to the province that absorbed them.

The tables are built once, lazily, on first use.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from datetime import date

from vietnam_provinces import Province as _VpProvince
from vietnam_provinces import Ward as _VpWard

from core.errors import InvalidIdentifier
from core.ids import is_ascii_digits
from core.ids.personal import LEGACY_PROVINCES

#: The first day of the two-level system (34 provinces, 3,321 communes).
VALID_FROM = date(2025, 7, 1)
#: The last day of the 63 pre-merger provinces.
LEGACY_VALID_UNTIL = date(2025, 6, 30)

PROVINCE_CODE_LENGTH = 2
COMMUNE_CODE_LENGTH = 5

#: Legacy 3-digit birth-registration province code → 2-digit code of the 2025 province.
LEGACY_TO_CURRENT: dict[str, str] = {
    # unchanged
    **{c: c[1:] for c in ("001", "046", "012", "011", "014", "020", "022", "038", "040", "042")},
    "004": "04",
    # merged: (legacy codes) → current code
    **dict.fromkeys(("008", "002"), "08"),  # Tuyên Quang
    **dict.fromkeys(("010", "015"), "15"),  # Lào Cai
    **dict.fromkeys(("019", "006"), "19"),  # Thái Nguyên
    **dict.fromkeys(("025", "026", "017"), "25"),  # Phú Thọ
    **dict.fromkeys(("027", "024"), "24"),  # Bắc Ninh
    **dict.fromkeys(("033", "034"), "33"),  # Hưng Yên
    **dict.fromkeys(("031", "030"), "31"),  # Hải Phòng
    **dict.fromkeys(("037", "035", "036"), "37"),  # Ninh Bình
    **dict.fromkeys(("045", "044"), "44"),  # Quảng Trị
    **dict.fromkeys(("048", "049"), "48"),  # Đà Nẵng
    **dict.fromkeys(("051", "062"), "51"),  # Quảng Ngãi
    **dict.fromkeys(("064", "052"), "52"),  # Gia Lai
    **dict.fromkeys(("056", "058"), "56"),  # Khánh Hòa
    **dict.fromkeys(("068", "067", "060"), "68"),  # Lâm Đồng
    **dict.fromkeys(("066", "054"), "66"),  # Đắk Lắk
    **dict.fromkeys(("079", "074", "077"), "79"),  # Hồ Chí Minh
    **dict.fromkeys(("075", "070"), "75"),  # Đồng Nai
    **dict.fromkeys(("072", "080"), "80"),  # Tây Ninh
    **dict.fromkeys(("092", "094", "093"), "92"),  # Cần Thơ
    **dict.fromkeys(("086", "083", "084"), "86"),  # Vĩnh Long
    **dict.fromkeys(("087", "082"), "82"),  # Đồng Tháp
    **dict.fromkeys(("096", "095"), "96"),  # Cà Mau
    **dict.fromkeys(("089", "091"), "91"),  # An Giang
}

#: Pre-merger provinces that were centrally governed cities (thành phố trung ương).
_LEGACY_CITIES = frozenset({"001", "031", "048", "079", "092"})


@dataclass(frozen=True, slots=True)
class Province:
    """A province-level unit. ``valid_until`` is None for the provinces in force."""

    code: str
    name: str
    division_type: str
    valid_from: date | None = VALID_FROM
    valid_until: date | None = None

    def is_valid_on(self, day: date) -> bool:
        """Whether this unit existed under this code on ``day``."""
        after_start = self.valid_from is None or self.valid_from <= day
        before_end = self.valid_until is None or day <= self.valid_until
        return after_start and before_end


@dataclass(frozen=True, slots=True)
class Commune:
    """A commune-level unit (xã, phường, đặc khu) of the current system."""

    code: str
    name: str
    division_type: str
    province_code: str


@functools.cache
def _current_provinces() -> dict[str, Province]:
    out = {}
    for p in _VpProvince.iter_all():
        code = f"{int(p.code):02d}"
        out[code] = Province(code, p.name, p.division_type.value)
    return dict(sorted(out.items()))


@functools.cache
def _legacy_provinces() -> dict[str, Province]:
    out = {}
    for code3, name in LEGACY_PROVINCES.items():
        city = code3 in _LEGACY_CITIES
        out[code3[1:]] = Province(
            code3[1:],
            # Named the way vietnam-provinces names the current ones ("Thành phố Hà Nội",
            # "Bắc Ninh"), so a legacy and a current name compare like for like.
            f"Thành phố {name}" if city else name,
            "thành phố trung ương" if city else "tỉnh",
            valid_from=None,
            valid_until=LEGACY_VALID_UNTIL,
        )
    return out


@functools.cache
def _communes() -> dict[str, Commune]:
    out = {}
    for w in _VpWard.iter_all():
        code = f"{int(w.code):05d}"
        out[code] = Commune(code, w.name, w.division_type.value, f"{int(w.province_code):02d}")
    return dict(sorted(out.items()))


@functools.cache
def _communes_by_province() -> dict[str, list[Commune]]:
    out: dict[str, list[Commune]] = {code: [] for code in _current_provinces()}
    for c in _communes().values():
        out[c.province_code].append(c)
    return out


def provinces() -> list[Province]:
    """The 34 provinces in force since 1 July 2025, by code."""
    return list(_current_provinces().values())


def legacy_provinces() -> list[Province]:
    """The 63 provinces in force until 30 June 2025, by code."""
    return list(_legacy_provinces().values())


def communes() -> list[Commune]:
    """The 3,321 communes in force since 1 July 2025, by code."""
    return list(_communes().values())


def province(code: str) -> Province:
    """The current province with this 2-digit code; ``InvalidIdentifier`` otherwise.

    A code that only existed before the merger gets a message saying where it went.
    """
    if not isinstance(code, str) or len(code) != PROVINCE_CODE_LENGTH or not is_ascii_digits(code):
        raise InvalidIdentifier(
            "province code must be exactly 2 digits", detail={"part": "province_code"}
        )
    current = _current_provinces().get(code)
    if current is not None:
        return current
    legacy = _legacy_provinces().get(code)
    if legacy is not None:
        target = _current_provinces()[LEGACY_TO_CURRENT["0" + code]]
        raise InvalidIdentifier(
            f"province code {code} ({legacy.name}) ceased on {LEGACY_VALID_UNTIL.isoformat()}; "
            f"it is now part of {target.code} ({target.name})",
            detail={"part": "province_code", "value": code, "now": target.code},
        )
    raise InvalidIdentifier(
        f"province code {code} does not exist", detail={"part": "province_code", "value": code}
    )


parse_province_code = province


def province_on(code: str, day: date) -> Province:
    """The province this 2-digit code named on ``day`` (legacy before 1 July 2025)."""
    if not isinstance(code, str) or len(code) != PROVINCE_CODE_LENGTH or not is_ascii_digits(code):
        raise InvalidIdentifier(
            "province code must be exactly 2 digits", detail={"part": "province_code"}
        )
    for table in (_current_provinces(), _legacy_provinces()):
        p = table.get(code)
        if p is not None and p.is_valid_on(day):
            return p
    raise InvalidIdentifier(
        f"province code {code} did not exist on {day.isoformat()}",
        detail={"part": "province_code", "value": code, "on": day.isoformat()},
    )


def parse_commune_code(s: str) -> Commune:
    """The current commune with this 5-digit code; ``InvalidIdentifier`` naming the problem."""
    if not isinstance(s, str) or len(s) != COMMUNE_CODE_LENGTH or not is_ascii_digits(s):
        raise InvalidIdentifier(
            "commune code must be exactly 5 digits", detail={"part": "commune_code"}
        )
    found = _communes().get(s)
    if found is None:
        raise InvalidIdentifier(
            f"commune code {s} does not exist (not one of the 3,321 communes since "
            f"{VALID_FROM.isoformat()})",
            detail={"part": "commune_code", "value": s},
        )
    return found


commune = parse_commune_code


def is_commune_code(s: str) -> bool:
    """Whether ``s`` is the code of a current commune."""
    try:
        parse_commune_code(s)
    except InvalidIdentifier:
        return False
    return True


def unit_names(commune_code: str) -> dict[str, str | None]:
    """Codes and names of a commune and its province, for a code a register holds.

    For codes read from a database, not from a caller: a code outside the current list (a
    unit that was merged away and missed by a migration) is the register's fault, not the
    caller's, so it is answered with its code and ``None`` names rather than an error.
    """
    c = _communes().get(commune_code)
    if c is None:
        return {
            "commune_code": commune_code,
            "commune_name": None,
            "province_code": None,
            "province_name": None,
        }
    p = _current_provinces().get(c.province_code)
    return {
        "commune_code": c.code,
        "commune_name": c.name,
        "province_code": c.province_code,
        "province_name": p.name if p else None,
    }


def communes_of(province_code: str) -> list[Commune]:
    """The communes of a current province, by code (``InvalidIdentifier`` for an unknown one)."""
    return list(_communes_by_province()[province(province_code).code])


def current_province_of_legacy(legacy_code: str) -> Province:
    """The 2025 province that absorbed a legacy 3-digit birth-registration province."""
    target = LEGACY_TO_CURRENT.get(legacy_code) if isinstance(legacy_code, str) else None
    if target is None:
        raise InvalidIdentifier(
            f"province code {legacy_code} does not exist",
            detail={"part": "province", "value": str(legacy_code)},
        )
    return _current_provinces()[target]
