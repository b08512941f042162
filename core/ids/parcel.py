"""Land parcel identifiers.

Two ways to name a parcel (thửa đất), both in use:

- the **national parcel id**: a 12-character GeoHash of a point of the parcel, lower case,
  over the alphabet ``0123456789bcdefghjkmnpqrstuvwxyz`` (no a, i, l, o). Twelve characters
  pin a cell of a few centimetres, so the id is unique in practice and readable on paper.
  It must decode inside Vietnam, or it is somebody's typo.
- the **cadastral triple**: commune code + map sheet number (tờ bản đồ) + parcel number
  (thửa), written ``00070-12-345``. The commune must be one of the current 3,321.

Certificate numbers are opaque strings and are not parsed here.
"""

from __future__ import annotations

from dataclasses import dataclass

import pygeohash

from core.errors import InvalidIdentifier
from core.ids import is_ascii_digits
from core.ids.units import Commune, parse_commune_code

GEOHASH_ALPHABET = "0123456789bcdefghjkmnpqrstuvwxyz"
PARCEL_ID_LENGTH = 12

#: Where a national parcel id may point: a box around Vietnam, its mainland and islands
#: (the special zones Hoàng Sa and Trường Sa are communes of the current list, so the box
#: reaches east past 110°E to take them in).
MIN_LAT, MAX_LAT = 7.5, 23.5
MIN_LON, MAX_LON = 102.0, 117.5

MAX_MAP_SHEET = 9_999
MAX_PARCEL_NUMBER = 999_999

_ALPHABET = frozenset(GEOHASH_ALPHABET)


#: A 12-character GeoHash decodes to the centre of its cell, which for a point on the edge of
#: the box may lie a fraction of a cell (< 2e-7°) outside it; parsing allows for that so that
#: every id ``make_parcel_id`` returns parses.
_CELL_SLACK = 1e-6


def _in_vietnam(lat: float, lon: float, slack: float = 0.0) -> bool:
    return (MIN_LAT - slack <= lat <= MAX_LAT + slack) and (
        MIN_LON - slack <= lon <= MAX_LON + slack
    )


@dataclass(frozen=True, slots=True)
class NationalParcelId:
    """A national parcel id and the point it encodes."""

    value: str
    latitude: float
    longitude: float

    def __str__(self) -> str:
        return self.value


def parse_national_parcel_id(s: str) -> NationalParcelId:
    """Parse a national parcel id, naming what is wrong with it."""
    if not isinstance(s, str) or len(s) != PARCEL_ID_LENGTH:
        raise InvalidIdentifier(
            "national parcel id must be exactly 12 GeoHash characters",
            detail={"part": "parcel_id"},
        )
    bad = next((i for i, c in enumerate(s) if c not in _ALPHABET), None)
    if bad is not None:
        raise InvalidIdentifier(
            f"national parcel id: character {bad + 1} is not in the GeoHash alphabet "
            f"{GEOHASH_ALPHABET} (lower case; no a, i, l, o)",
            detail={"part": "parcel_id", "position": bad + 1},
        )
    point = pygeohash.decode(s)
    lat, lon = float(point.latitude), float(point.longitude)
    if not _in_vietnam(lat, lon, _CELL_SLACK):
        raise InvalidIdentifier(
            f"national parcel id {s} points outside Vietnam ({lat:.4f}, {lon:.4f})",
            detail={"part": "parcel_id", "value": s},
        )
    return NationalParcelId(s, lat, lon)


def parse_parcel_id(s: str) -> str:
    """A valid national parcel id, unchanged; ``InvalidIdentifier`` otherwise."""
    return parse_national_parcel_id(s).value


def is_parcel_id(s: str) -> bool:
    """Whether ``s`` is a valid national parcel id."""
    try:
        parse_national_parcel_id(s)
    except InvalidIdentifier:
        return False
    return True


def make_parcel_id(lat: float, lon: float) -> str:
    """The national parcel id of a point in Vietnam (``ValueError`` for a point outside)."""
    if not _in_vietnam(lat, lon):
        raise ValueError(f"({lat}, {lon}) is outside Vietnam")
    return str(pygeohash.encode(lat, lon, precision=PARCEL_ID_LENGTH))


@dataclass(frozen=True, slots=True)
class ParcelNumber:
    """Commune code + map sheet number + parcel number: ``00070-12-345``."""

    commune_code: str
    map_sheet: int
    parcel_number: int

    def __str__(self) -> str:
        return f"{self.commune_code}-{self.map_sheet}-{self.parcel_number}"

    @property
    def commune(self) -> Commune:
        return parse_commune_code(self.commune_code)


def _positive(part: str, text: str, limit: int, whole: str) -> int:
    """A number written in canonical decimal (no sign, no leading zero), 1..limit."""
    if (
        not is_ascii_digits(text)
        or text.startswith("0")
        or len(text) > len(str(limit))
        or int(text) > limit
    ):
        raise InvalidIdentifier(
            f"{part.replace('_', ' ')} in parcel number {whole!r} must be a number "
            f"from 1 to {limit} without leading zeros",
            detail={"part": part},
        )
    return int(text)


def parse_parcel_number(s: str) -> ParcelNumber:
    """Parse ``COMMUNE-SHEET-PARCEL`` (``00070-12-345``); the commune must exist."""
    if not isinstance(s, str) or len(s) > 5 + 1 + 4 + 1 + 6:
        raise InvalidIdentifier(
            "parcel number must look like 00070-12-345 (commune-map sheet-parcel)",
            detail={"part": "parcel_number"},
        )
    parts = s.split("-")
    if len(parts) != 3:
        raise InvalidIdentifier(
            "parcel number must look like 00070-12-345 (commune-map sheet-parcel)",
            detail={"part": "parcel_number"},
        )
    commune_code, sheet, number = parts
    parse_commune_code(commune_code)
    return ParcelNumber(
        commune_code,
        _positive("map_sheet", sheet, MAX_MAP_SHEET, s),
        _positive("parcel_number", number, MAX_PARCEL_NUMBER, s),
    )


def make_parcel_number(commune_code: str, map_sheet: int, parcel_number: int) -> str:
    """``COMMUNE-SHEET-PARCEL`` from its parts (``ValueError`` for impossible parts)."""
    try:
        parse_commune_code(commune_code)
    except InvalidIdentifier as e:
        raise ValueError(e.message) from e
    if not 1 <= map_sheet <= MAX_MAP_SHEET:
        raise ValueError(f"map sheet {map_sheet} is outside 1-{MAX_MAP_SHEET}")
    if not 1 <= parcel_number <= MAX_PARCEL_NUMBER:
        raise ValueError(f"parcel number {parcel_number} is outside 1-{MAX_PARCEL_NUMBER}")
    return str(ParcelNumber(commune_code, map_sheet, parcel_number))
