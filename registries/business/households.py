"""Household businesses (hộ kinh doanh) of the seed.

One owner per business and one business per owner (Decree 01/2021/NĐ-CP, art. 80). The
business is usually where the owner lives — often at the home address itself. A deceased
owner's business has ceased. Registration numbers rise with the registration date within
each office (``identifiers.py``); the office letter is fixed per commune, standing in for
the district offices that registered them before 2025.
"""

from __future__ import annotations

import random
import string
from datetime import date, timedelta
from itertools import accumulate
from typing import Any

from registries.business.identifiers import make_registration_number
from registries.business.places import Places, add_years
from registries.business.seed_data import BRAND_SYLLABLES, HOUSEHOLD_SECTORS
from registries.population.seed import PersonRef

HOUSEHOLD_STATUS_WEIGHTS = {"active": 82, "suspended": 6, "ceased": 12}
FIRST_HOUSEHOLD_REGISTRATION = date(2000, 1, 1)
_OFFICES = string.ascii_uppercase[:20]
_COMMON_MIDDLE = frozenset({"Văn", "Thị"})

Row = tuple[Any, ...]


class HouseholdDrafter:
    """Draws household businesses; ``draft`` returns their rows, numbered."""

    def __init__(self, rng: random.Random, places: Places, today: date) -> None:
        self.rng = rng
        self.places = places
        self.today = today
        self._sector_cum = list(accumulate(s.weight for s in HOUSEHOLD_SECTORS))
        self._statuses = list(HOUSEHOLD_STATUS_WEIGHTS)
        self._status_cum = list(accumulate(HOUSEHOLD_STATUS_WEIGHTS.values()))
        self._brands = [s.title() for s in BRAND_SYLLABLES]
        self._names: set[tuple[str, str]] = set()

    def draft(self, adults: list[PersonRef], n: int) -> list[Row]:
        rng = self.rng
        wanted = min(n, len(adults))
        # A few more candidates than needed: someone who died young has no window.
        picks = rng.sample(range(len(adults)), min(len(adults), wanted + wanted // 10 + 1))
        drafts: list[list[Any]] = []
        for i in picks:
            if len(drafts) == wanted:
                break
            row = self._one(adults[i])
            if row is not None:
                drafts.append(row)
        return self._number(drafts)

    def _one(self, owner: PersonRef) -> list[Any] | None:
        rng = self.rng
        dead = owner.date_of_death
        status = (
            "ceased"
            if dead is not None
            else rng.choices(self._statuses, cum_weights=self._status_cum)[0]
        )
        start = max(FIRST_HOUSEHOLD_REGISTRATION, add_years(owner.date_of_birth, 18))
        if dead is not None:
            end = dead - timedelta(days=30)
        else:
            end = self.today - timedelta(days=7 if status == "active" else 60)
        span = (end - start).days
        if span <= 0:
            return None
        registered = start + timedelta(days=int(span * rng.random() ** 0.5))
        status_date = registered
        if status != "active":
            last = self.today - timedelta(days=1)
            if dead is not None:
                last = min(last, dead + timedelta(days=180))
            first = min(registered + timedelta(days=30), last)
            status_date = first + timedelta(days=rng.randint(0, max((last - first).days, 0)))

        home = owner.residence_commune
        at_home = self.places.exists(home) and rng.random() < 0.8
        commune = home if at_home else self.places.commune_near(home)
        if at_home and rng.random() < 0.6:
            street = owner.residence_address
        else:
            street = self.places.street(commune)
        sector = rng.choices(HOUSEHOLD_SECTORS, cum_weights=self._sector_cum)[0]
        lo, hi = sector.capital
        capital = round(rng.uniform(lo, hi) / 1_000_000) * 1_000_000
        name = self._name(sector.label, owner, commune)
        return [
            None, name, owner.personal_id, owner.full_name, street, commune, sector.vsic,
            capital, status, status_date, registered,
        ]  # fmt: skip

    def _name(self, label: str, owner: PersonRef, commune: str) -> str:
        """``Hộ kinh doanh <label> <brand>``, unique within the commune."""
        rng = self.rng
        words = owner.full_name.split()
        for attempt in range(20):
            r = rng.random()
            if r < 0.35 and words:
                brand = words[-1]
            elif r < 0.55 and len(words) >= 3 and words[-2] not in _COMMON_MIDDLE:
                brand = " ".join(words[-2:])
            else:
                brand = " ".join(rng.sample(self._brands, 2))
            name = f"Hộ kinh doanh {label} {brand}"
            if attempt >= 10:
                name = f"{name} {attempt - 8}"
            if (commune, name) not in self._names:
                break
        self._names.add((commune, name))
        return name

    def _number(self, drafts: list[list[Any]]) -> list[Row]:
        """Registration numbers in registration order within each office."""
        serials: dict[tuple[str, str], int] = {}
        for d in sorted(drafts, key=lambda d: (d[10], d[2])):
            commune: str = d[5]
            key = (self.places.province_of(commune), _OFFICES[int(commune) % len(_OFFICES)])
            serial = serials.get(key, self.rng.randrange(0, 5_000)) + self.rng.randint(1, 9)
            serials[key] = serial
            d[0] = make_registration_number(key[0], key[1], serial)
        return [tuple(d) for d in drafts]
