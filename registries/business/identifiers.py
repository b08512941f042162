"""The household business registration number (số đăng ký hộ kinh doanh).

Ten characters ``PP L 8 NNNNNN``, e.g. ``01A8012345``:

- ``PP``     — the 2-digit code of the province where the business is located;
- ``L``      — a capital letter naming the registration office inside the province;
- ``8``      — the series digit of household businesses;
- ``NNNNNN`` — a serial number within that office.

There is no check digit. Since 1 July 2025 the *tax code* of a household business is its
owner's 12-digit personal id (``core.ids.enterprise``); the registration number stays the
key of the business registration record. Only current (2025) province codes are issued.
"""

from __future__ import annotations

import string

from core.errors import InvalidIdentifier
from core.ids import is_ascii_digits
from core.ids.units import province

REGISTRATION_NUMBER_LENGTH = 10
HOUSEHOLD_SERIES = "8"
_FORMAT = "2-digit province code, an office letter A-Z, '8' and a 6-digit serial (01A8012345)"


def parse_registration_number(s: str) -> str:
    """A household business registration number, checked part by part.

    Raises ``InvalidIdentifier`` (400) whose message names the wrong part.
    """
    if not isinstance(s, str) or len(s) != REGISTRATION_NUMBER_LENGTH:
        raise InvalidIdentifier(
            f"household business registration number must be 10 characters: {_FORMAT}",
            detail={"part": "registration_number"},
        )
    if not is_ascii_digits(s[:2]):
        raise InvalidIdentifier(
            "household business registration number must start with a 2-digit province code",
            detail={"part": "province_code"},
        )
    province(s[:2])  # raises, naming the province code, when it is not a current one
    if s[2] not in string.ascii_uppercase:
        raise InvalidIdentifier(
            "character 3 of a household business registration number must be an office letter A-Z",
            detail={"part": "office", "value": s[2]},
        )
    if s[3] != HOUSEHOLD_SERIES:
        raise InvalidIdentifier(
            "character 4 of a household business registration number must be the series "
            f"digit {HOUSEHOLD_SERIES}",
            detail={"part": "series", "value": s[3]},
        )
    if not is_ascii_digits(s[4:]):
        raise InvalidIdentifier(
            "the last 6 characters of a household business registration number must be digits",
            detail={"part": "serial"},
        )
    return s


def make_registration_number(province_code: str, office: str, serial: int) -> str:
    """A registration number from its parts (seeds and tests); ``ValueError`` if impossible."""
    if len(province_code) != 2 or not is_ascii_digits(province_code):
        raise ValueError(f"province code must be 2 digits, not {province_code!r}")
    if len(office) != 1 or office not in string.ascii_uppercase:
        raise ValueError(f"office must be one letter A-Z, not {office!r}")
    if not 0 <= serial <= 999_999:
        raise ValueError(f"serial {serial} is outside 0-999999")
    return f"{province_code}{office}{HOUSEHOLD_SERIES}{serial:06d}"
