"""The synthetic world the land seed draws from: who can hold land, where, since when.

``World`` walks the population (couples and single adults) and the enterprises and decides,
for each parcel, its place, purpose, holders, and how and when they acquired it;
``seed_history.ParcelHistory`` then writes the parcel's rows. Split from ``seed`` so the
contract (``generate``/``write``) reads in one screen.
"""

from __future__ import annotations

import math
import random
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Protocol

from core.ids.parcel import make_parcel_id
from core.ids.units import commune, communes_of, province
from registries.land import vocabulary as v
from registries.land.geography import parcel_point
from registries.land.seed_history import (
    LAND_ERA_START,
    Holder,
    ParcelHistory,
    Row,
    add_years,
    random_day,
)
from registries.population.seed import PersonRef

#: Share of operating enterprises with a parcel of their own (factory, shop, office).
ENTERPRISE_PARCEL_RATE = 0.3
_AGRI_PURPOSES = ("LUC", "LUK", "BHK", "CLN", "NTS", "RSX")
_AGRI_WEIGHTS = (30, 8, 15, 25, 10, 12)
#: Purpose → (median area m², log spread, smallest, largest, value VND per m²).
_AREA_VALUE: dict[str, tuple[float, float, float, float, float]] = {
    "ODT": (80, 0.45, 30, 1_000, 40e6),
    "ONT": (300, 0.5, 80, 3_000, 5e6),
    "LUC": (1_200, 0.6, 200, 20_000, 200e3),
    "LUK": (1_000, 0.6, 200, 20_000, 150e3),
    "BHK": (900, 0.6, 200, 20_000, 150e3),
    "CLN": (3_000, 0.7, 300, 50_000, 250e3),
    "NTS": (4_000, 0.7, 300, 50_000, 200e3),
    "RSX": (20_000, 0.8, 2_000, 300_000, 60e3),
    "SKC": (8_000, 0.9, 500, 200_000, 4e6),
    "TMD": (2_000, 0.9, 100, 50_000, 15e6),
}
_FIELDS = ("Đồng Trong", "Đồng Ngoài", "Bãi Dưới", "Gò Cao", "Đồng Sau", "Bến Đò", "Cây Đa")


class EnterpriseLike(Protocol):
    """What the land seed reads of an enterprise (``registries.business.seed.EnterpriseRef``)."""

    @property
    def code(self) -> str: ...
    @property
    def name(self) -> str: ...
    @property
    def status(self) -> str: ...
    @property
    def commune_code(self) -> str: ...
    @property
    def founded_on(self) -> date: ...
    @property
    def main_industry(self) -> str: ...


def adult_on(p: PersonRef) -> date:
    """The first day ``p`` is 18 (6,575 days covers the leap days of any 18 years)."""
    return p.date_of_birth + timedelta(days=6575)


class World:
    """People, places and counters the parcels are drawn from."""

    def __init__(
        self,
        rng: random.Random,
        today: date,
        people: Sequence[PersonRef],
        history: ParcelHistory,
    ) -> None:
        self.rng, self.today, self.people, self.history = rng, today, people, history
        self.by_id = {p.personal_id: p for p in people}
        self.households: dict[str, list[PersonRef]] = defaultdict(list)
        for p in people:
            self.households[p.household_id].append(p)
        self.deceased = [p for p in people if p.date_of_death is not None]
        self.used_ids: set[str] = set()
        self.last_number: dict[tuple[str, int], int] = {}
        self.places: dict[str, tuple[str, str, bool]] = {}
        self.province_communes: dict[str, list[str]] = {}

    def holder(self, p: PersonRef) -> Holder:
        # Someone who dies after the reference day is alive as far as this world knows.
        died = p.date_of_death
        latest = min(died - timedelta(days=1), self.today) if died else self.today
        earliest = max(adult_on(p), LAND_ERA_START)
        return Holder(v.PERSON, p.personal_id, p.full_name, earliest, latest)

    def place(self, commune_code: str) -> tuple[str, str, bool]:
        """(commune name, province name, urban?) of a commune, cached."""
        found = self.places.get(commune_code)
        if found is None:
            c = commune(commune_code)
            found = (c.name, province(c.province_code).name, c.division_type == "phường")
            self.places[commune_code] = found
        return found

    def communes_of(self, commune_code: str) -> list[str]:
        """The codes of the communes in the province of ``commune_code``, cached."""
        province_code = commune(commune_code).province_code
        found = self.province_communes.get(province_code)
        if found is None:
            found = [c.code for c in communes_of(province_code)]
            self.province_communes[province_code] = found
        return found

    def parcel_row(
        self,
        commune_code: str,
        purpose: str,
        acquired_on: date,
        origin: str,
        address: str,
        *,
        term: bool,
    ) -> tuple[Row, float]:
        """A new parcel row in ``commune_code`` and its value per m² (for mortgages)."""
        rng = self.rng
        while True:
            parcel_id = make_parcel_id(*parcel_point(rng, commune_code))
            if parcel_id not in self.used_ids:
                self.used_ids.add(parcel_id)
                break
        sheet = rng.randint(1, 25 if self.place(commune_code)[2] else 40)
        number = self.last_number.get((commune_code, sheet), 0) + rng.randint(1, 6)
        self.last_number[commune_code, sheet] = number
        median, spread, low, high, value = _AREA_VALUE[purpose]
        area = round(min(max(rng.lognormvariate(math.log(median), spread), low), high), 1)
        use_until = add_years(acquired_on, 50) if term else None
        row = (parcel_id, commune_code, sheet, number, area, purpose, use_until, origin, address)
        return row, value * rng.uniform(0.5, 1.5)

    # -- enterprises -----------------------------------------------------------------------

    def enterprise_parcels(self, enterprises: Sequence[EnterpriseLike]) -> None:
        rng = self.rng
        for e in enterprises:
            if rng.random() >= ENTERPRISE_PARCEL_RATE:
                continue
            start = max(e.founded_on, LAND_ERA_START)
            if start > self.today:
                continue
            holder = Holder(v.ENTERPRISE, e.code, e.name, start, self.today)
            acquired_on = random_day(rng, start, self.today)
            purpose = "SKC" if rng.random() < 0.55 else "TMD"
            name, prov, _ = self.place(e.commune_code)
            address = f"Lô {rng.choice('ABCDEFGH')}{rng.randint(1, 40)}, {name}, {prov}"
            r = rng.random()
            origin = v.ORIGIN_LEASE_ANNUAL if r < 0.6 else v.ORIGIN_LEASE_ONCE
            predecessor = predecessor_on = None
            if r >= 0.85:
                found = self.seller(acquired_on, exclude={e.code})
                if found is not None:
                    origin, (predecessor, predecessor_on) = v.ORIGIN_TRANSFER, found
            row, value = self.parcel_row(
                e.commune_code, purpose, acquired_on, origin, address, term=True
            )
            self.history.add(
                parcel=row,
                holders=[holder],
                marital=False,
                acquired_on=acquired_on,
                origin=origin,
                predecessor=predecessor,
                predecessor_on=predecessor_on,
                value_per_m2=value,
            )

    # -- persons ---------------------------------------------------------------------------

    def units(self) -> list[tuple[PersonRef, ...]]:
        """Couples (both in the seed) and single adults, each once, in seed order."""
        today = self.today

        def can_hold(p: PersonRef) -> bool:
            """Not a minor, nor someone who died before they could hold land."""
            adult, died = adult_on(p), p.date_of_death
            return adult <= today and (died is None or died > max(adult, LAND_ERA_START))

        out: list[tuple[PersonRef, ...]] = []
        for p in self.people:
            if not can_hold(p):
                continue
            spouse = self.by_id.get(p.spouse_id) if p.spouse_id else None
            if spouse is None or not can_hold(spouse):
                out.append((p,))
            elif p.personal_id < spouse.personal_id:
                out.append((p, spouse))
        return out

    def person_parcels(self, target: int) -> None:
        """About ``target`` parcels over the couples and single people of the seed."""
        units = self.units()
        if not units or target <= 0:
            return
        # P(k >= 1) = q, P(k >= 2 | k >= 1) = 0.3, P(k >= 3 | k >= 2) = 0.25: mean 1.375 q.
        q = min(0.95, target / len(units) / 1.375)
        rng = self.rng
        for unit in units:
            if rng.random() >= q:
                continue
            count = 1
            if rng.random() < 0.3:
                count = 3 if rng.random() < 0.25 else 2
            for j in range(count):
                self.person_parcel(unit, j)

    def person_parcel(self, unit: tuple[PersonRef, ...], j: int) -> None:
        rng = self.rng
        primary = unit[0]
        home = primary.residence_commune
        name, prov, urban = self.place(home)
        if j == 0 or (urban and rng.random() < 0.5):
            where = home
            purpose = "ODT" if urban else "ONT"
            if j == 0:
                address = f"{primary.residence_address}, {name}, {prov}"
            else:
                address = f"Tổ dân phố {rng.randint(1, 30)}, {name}, {prov}"
        else:
            where = home
            if urban or rng.random() < 0.2:
                where = rng.choice(self.communes_of(home))
            purpose = rng.choices(_AGRI_PURPOSES, _AGRI_WEIGHTS)[0]
            fname, fprov, _ = self.place(where)
            address = f"Xứ đồng {rng.choice(_FIELDS)}, {fname}, {fprov}"
        residential = purpose in v.RESIDENTIAL
        together = len(unit) == 2 and rng.random() < (0.8 if residential else 0.6)
        holders = [self.holder(p) for p in (unit if together else [rng.choice(unit)])]
        lower, upper = max(h.earliest for h in holders), min(h.latest for h in holders)
        if lower > upper:
            return  # a minor, or someone who died before the land era
        got = self.acquisition(residential, holders, lower, upper)
        row, value = self.parcel_row(
            where, purpose, got.on, got.origin, address, term=not residential
        )
        self.history.add(
            parcel=row,
            holders=holders,
            marital=together,
            acquired_on=got.on,
            origin=got.origin,
            predecessor=got.predecessor,
            predecessor_on=got.predecessor_on,
            heir=self.heir(primary, holders) if rng.random() < 0.55 else None,
            value_per_m2=value,
        )

    def acquisition(
        self, residential: bool, holders: list[Holder], lower: date, upper: date
    ) -> Acquisition:
        """How and when ``holders`` got the parcel, within ``[lower, upper]``."""
        rng = self.rng
        r = rng.random()
        table = RESIDENTIAL_ORIGINS if residential else AGRICULTURAL_ORIGINS
        origin = next(o for threshold, o in table if r < threshold)
        exclude = {h.id for h in holders}
        if origin in (v.ORIGIN_TRANSFER, v.ORIGIN_GIFT):
            on = random_day(rng, lower, upper)
            found = self.seller(on, exclude)
            if found is not None:
                return Acquisition(origin, on, *found)
        elif origin == v.ORIGIN_INHERITANCE:
            inherited = self.inheritance(lower, upper, exclude)
            if inherited is not None:
                return inherited
        fallback = v.ORIGIN_RECOGNISED if residential else v.ORIGIN_ALLOCATED_FREE
        return Acquisition(fallback, random_day(rng, lower, upper), None, None)

    def seller(self, on: date, exclude: set[str]) -> tuple[Holder, date] | None:
        """Someone alive on ``on`` who had held land for a year by then, and since when."""
        for _ in range(4):
            p = self.rng.choice(self.people)
            if p.personal_id in exclude:
                continue
            h = self.holder(p)
            last = on - timedelta(days=365)
            if h.latest >= on and h.earliest <= last:
                return h, random_day(self.rng, h.earliest, last)
        return None

    def inheritance(self, lower: date, upper: date, exclude: set[str]) -> Acquisition | None:
        """A deceased person whose estate could have reached the holders in the window."""
        rng = self.rng
        for _ in range(4 if self.deceased else 0):
            p = rng.choice(self.deceased)
            if p.personal_id in exclude:
                continue
            h = self.holder(p)
            on = h.latest + timedelta(days=rng.randint(61, 900))
            last = h.latest - timedelta(days=365)
            if lower <= on <= upper and h.earliest <= last:
                return Acquisition(v.ORIGIN_INHERITANCE, on, h, random_day(rng, h.earliest, last))
        return None

    def heir(self, primary: PersonRef, holders: list[Holder]) -> Holder | None:
        """A living member of the household, when every holder has died."""
        if any(h.latest >= self.today for h in holders):
            return None
        ids = {h.id for h in holders}
        candidates = [
            p
            for p in self.households[primary.household_id]
            if (p.date_of_death is None or p.date_of_death > self.today)
            and p.personal_id not in ids
        ]
        return self.holder(self.rng.choice(candidates)) if candidates else None


@dataclass(frozen=True, slots=True)
class Acquisition:
    origin: str
    on: date
    predecessor: Holder | None
    predecessor_on: date | None


RESIDENTIAL_ORIGINS = (
    (0.35, v.ORIGIN_RECOGNISED),
    (0.47, v.ORIGIN_ALLOCATED_WITH_FEE),
    (0.82, v.ORIGIN_TRANSFER),
    (0.92, v.ORIGIN_INHERITANCE),
    (1.01, v.ORIGIN_GIFT),
)
AGRICULTURAL_ORIGINS = (
    (0.55, v.ORIGIN_ALLOCATED_FREE),
    (0.80, v.ORIGIN_TRANSFER),
    (0.90, v.ORIGIN_INHERITANCE),
    (1.01, v.ORIGIN_GIFT),
)
