"""Where businesses are: real 2025 communes, plausible street lines, tax prefixes.

Shared by the enterprise and household drafts of the seed. Commune codes come from
``core.ids.units`` (the 3,321 communes in force since 1 July 2025); street lines look like
what registration certificates print: a house number and street in a ward, a hamlet in a
rural commune ("thôn" in the north and centre, "ấp" in the south).
"""

from __future__ import annotations

import random
from datetime import date

from core.ids.units import communes, provinces
from registries.business.seed_data import SOUTHERN_PROVINCES, STREETS, VILLAGES, tax_prefixes


def add_years(day: date, years: int) -> date:
    """``day`` moved by whole years (29 February becomes 28 February when needed)."""
    try:
        return day.replace(year=day.year + years)
    except ValueError:
        return day.replace(year=day.year + years, day=28)


class Places:
    """Commune lookups and street lines, drawn from the seed's ``rng``."""

    def __init__(self, rng: random.Random) -> None:
        self.rng = rng
        self._info: dict[str, tuple[str, bool]] = {}  # commune → (province, urban)
        self._by_province: dict[str, list[str]] = {}
        self._urban_by_province: dict[str, list[str]] = {}
        for c in communes():
            urban = c.division_type != "xã"
            self._info[c.code] = (c.province_code, urban)
            self._by_province.setdefault(c.province_code, []).append(c.code)
            if urban:
                self._urban_by_province.setdefault(c.province_code, []).append(c.code)
        self._provinces = sorted(self._by_province)
        self._tax_prefix = tax_prefixes([p.code for p in provinces()])

    def exists(self, commune: str) -> bool:
        return commune in self._info

    def province_of(self, commune: str) -> str:
        return self._info[commune][0]

    def tax_prefix(self, commune: str) -> str:
        """First two digits of the enterprise code of a business founded in ``commune``."""
        return self._tax_prefix[self.province_of(commune)]

    def commune_in(self, province: str, *, urban: bool = False) -> str:
        """A commune of ``province``; a ward (phường) when ``urban`` and it has any."""
        codes = (urban and self._urban_by_province.get(province)) or self._by_province[province]
        return codes[self.rng.randrange(len(codes))]

    def commune_near(self, commune: str) -> str:
        """A commune of the same province (any province when ``commune`` is unknown)."""
        info = self._info.get(commune)
        province = info[0] if info else self.rng.choice(self._provinces)
        return self.commune_in(province)

    def street(self, commune: str, *, office: bool = False) -> str:
        """A street-level address line in ``commune`` (without commune and province names)."""
        rng = self.rng
        province, urban = self._info[commune]
        number = rng.randint(1, 250)
        if not urban:
            hamlet = "Ấp" if province in SOUTHERN_PROVINCES else "Thôn"
            place = rng.choice(VILLAGES) if rng.random() < 0.7 else str(rng.randint(1, 12))
            return f"{hamlet} {place}" if rng.random() < 0.6 else f"Số {number}, {hamlet} {place}"
        street = rng.choice(STREETS)
        if office and rng.random() < 0.5:
            return f"Tầng {rng.randint(2, 25)}, số {number} {street}"
        r = rng.random()
        if r < 0.6:
            return f"Số {number} {street}"
        alley = "hẻm" if province in SOUTHERN_PROVINCES else "ngõ"
        return f"Số {rng.randint(1, 80)}, {alley} {number} {street}"
