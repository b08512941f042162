"""The seed's generator: draws enterprises and household businesses from the population.

``seed.py`` holds the contract (``EnterpriseRef``, ``BusinessSeed``, ``generate``,
``write``); this module holds the drawing. Enterprises are drafted first (``_Draft``), then
numbered in founding-date order so that codes rise with time within each tax prefix, as real
codes do; household businesses are numbered the same way per registration office.
"""

from __future__ import annotations

import math
import random
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta
from itertools import accumulate
from typing import Any

from core.ids.enterprise import has_check_digit, make_enterprise_code
from registries.business.households import HouseholdDrafter
from registries.business.places import Places, add_years
from registries.business.seed_data import (
    BANK_SECONDARY_INDUSTRIES,
    BANKS,
    BANKS_FOUNDED,
    BIG_CITIES,
    BRAND_SYLLABLES,
    CAPITAL_RANGE,
    PROFILES,
    REP_TITLES,
    TYPE_NAMES,
    Bank,
    Profile,
    ascii_upper,
)
from registries.business.vocabulary import OPERATING_STATUSES, OWNER_ROLE_OF_TYPE
from registries.business.vsic import BANKING
from registries.population.seed import PersonRef

#: About one enterprise per 100 persons and one household business per 20 (Vietnam has
#: roughly a million enterprises and five million household businesses for 100M people).
ENTERPRISE_RATE = 0.01
HOUSEHOLD_RATE = 0.05

#: Share of each status among ordinary enterprises (banks are all active).
ENTERPRISE_STATUS_WEIGHTS = {
    "active": 0.74,
    "suspended": 0.08,
    "dissolved": 0.12,
    "bankrupt": 0.01,
    "revoked": 0.05,
}
ENTERPRISE_TYPE_WEIGHTS = {
    "llc_one_member": 44,
    "llc_multi_member": 26,
    "joint_stock": 20,
    "private": 9,
    "partnership": 1,
}

#: The first Law on Companies took effect in 1991.
FIRST_FOUNDING = date(1991, 4, 1)
_PICK_TRIES = 60
#: How many founding members, shareholders or partners (min, max) the types have.
_PEOPLE_PER_TYPE = {"llc_multi_member": (2, 5), "joint_stock": (3, 6), "partnership": (2, 3)}

Row = tuple[Any, ...]


@dataclass(slots=True)
class GeneratedRows:
    """What the generator hands back to ``seed.generate``."""

    enterprise_refs: list[tuple[str, str, str, str, date, str]] = field(default_factory=list)
    enterprises: list[Row] = field(default_factory=list)
    industries: list[Row] = field(default_factory=list)
    representatives: list[Row] = field(default_factory=list)
    owners: list[Row] = field(default_factory=list)
    households: list[Row] = field(default_factory=list)


@dataclass(slots=True)
class _Owner:
    holder: PersonRef | _Draft
    share_bp: int


@dataclass(slots=True)
class _Draft:
    """An enterprise before it has a code (codes are handed out in founding order)."""

    name_vi: str
    name_en: str
    short_name: str | None
    type: str
    status: str
    status_date: date
    founded_on: date
    street: str
    commune_code: str
    tax_prefix: str
    charter_capital: int
    main_industry: str
    secondary: list[str]
    reps: list[tuple[PersonRef, str]] = field(default_factory=list)
    owners: list[_Owner] = field(default_factory=list)
    code: str = ""
    fixed_code: str | None = None


class Generator:
    """Draws the register. One instance per ``generate`` call."""

    def __init__(self, rng: random.Random, people: Sequence[PersonRef], today: date) -> None:
        self.rng = rng
        self.today = today
        self.places = Places(rng)
        # Adults with at least a year of adult life before today (or before death).
        cutoff = add_years(today, -19)
        self.adults: list[PersonRef] = []
        self.alive_adults: list[PersonRef] = []
        for p in people:
            if p.date_of_birth > cutoff:
                continue
            if p.date_of_death is None:
                self.adults.append(p)
                self.alive_adults.append(p)
            elif p.date_of_death >= add_years(p.date_of_birth, 19):
                self.adults.append(p)
        self.drafts: list[_Draft] = []
        self.names: set[str] = set()
        self.households: list[Row] = []
        self._types = list(ENTERPRISE_TYPE_WEIGHTS)
        self._type_cum = list(accumulate(ENTERPRISE_TYPE_WEIGHTS.values()))
        self._profile_cum = list(accumulate(p.weight for p in PROFILES))

    # -- people ------------------------------------------------------------------------------

    def _founder(self, operating: bool, lo: date, hi: date) -> tuple[PersonRef, date] | None:
        """A person who was an adult (and alive) on some day in [lo, hi], and that day.

        The day leans towards the recent end: most enterprises on file are young.
        """
        pool = self.alive_adults if operating else self.adults
        if not pool:
            return None
        rng = self.rng
        for _ in range(_PICK_TRIES):
            p = pool[rng.randrange(len(pool))]
            start = max(lo, add_years(p.date_of_birth, 18))
            end = hi if p.date_of_death is None else min(hi, p.date_of_death - timedelta(days=30))
            span = (end - start).days
            if span > 0:
                return p, start + timedelta(days=int(span * rng.random() ** 0.6))
        return None

    def _partner(self, operating: bool, on: date, taken: Sequence[PersonRef]) -> PersonRef | None:
        """Another person, adult and alive on ``on`` (and today, if ``operating``)."""
        pool = self.alive_adults if operating else self.adults
        born_by = add_years(on, -18)
        rng = self.rng
        if not pool:
            return None
        for _ in range(_PICK_TRIES):
            p = pool[rng.randrange(len(pool))]
            if p.date_of_birth > born_by or p in taken:
                continue
            if p.date_of_death is None or p.date_of_death > on:
                return p
        return None

    def _corporate_owner(self, founded: date) -> _Draft | None:
        """An older operating enterprise (not a bank) that can hold shares in a new one."""
        rng = self.rng
        for _ in range(5):
            if not self.drafts:
                return None
            d = self.drafts[rng.randrange(len(self.drafts))]
            if (
                d.founded_on < founded
                and d.status in OPERATING_STATUSES
                and d.type in ("llc_one_member", "llc_multi_member", "joint_stock")
                and d.main_industry != BANKING  # banks may not hold such stakes
            ):
                return d
        return None

    # -- names and numbers -------------------------------------------------------------------

    def _name(self, type_: str, profile: Profile) -> tuple[str, str, str | None]:
        prefix_vi, suffix_en, short_suffix = TYPE_NAMES[type_]
        rng = self.rng
        for attempt in range(50):
            words = rng.sample(BRAND_SYLLABLES, 3 if attempt >= 10 else 2)
            brand = " ".join(words)
            name_vi = f"{prefix_vi} {profile.name_vi} {brand}"
            if name_vi not in self.names:
                break
        self.names.add(name_vi)
        brand_en = ascii_upper(brand)
        short = None
        if short_suffix is not None and rng.random() < 0.7:
            short = f"{brand_en.replace(' ', '')} {short_suffix}"
        return name_vi, f"{brand_en} {profile.name_en} {suffix_en}", short

    def _capital(self, type_: str) -> int:
        lo, hi = CAPITAL_RANGE[type_]
        value = math.exp(self.rng.uniform(math.log(lo), math.log(hi)))
        unit = 10 ** max(0, int(math.log10(value)) - 1)  # two significant digits
        return int(round(value / unit) * unit)

    def _split(self, total_bp: int, n: int) -> list[int]:
        """``total_bp`` basis points in ``n`` whole-percent shares, largest first."""
        units = total_bp // 100
        weights = [self.rng.random() + 0.25 for _ in range(n)]
        scale = (units - n) / sum(weights)
        shares = [1 + int(w * scale) for w in weights]
        shares[0] += units - sum(shares)
        return sorted((s * 100 for s in shares), reverse=True)

    # -- enterprises -------------------------------------------------------------------------

    def add_banks(self) -> None:
        """The banks that always exist, with fixed codes and names."""
        for i, bank in enumerate(BANKS):
            found = self._founder(True, *BANKS_FOUNDED)
            if found is None:
                # Nobody old enough to have founded it: the bank still exists (other seeds
                # and the KYC flow rely on it), only without people on file.
                self._bank(bank, BANKS_FOUNDED[0] + timedelta(days=400 * i))
                continue
            chair, founded = found
            draft = self._bank(bank, founded)
            draft.reps.append((chair, "Chủ tịch Hội đồng quản trị"))
            holders: list[PersonRef] = [chair]
            ceo = self._partner(True, founded, holders)
            if ceo is not None:
                draft.reps.append((ceo, "Tổng giám đốc"))
                holders.append(ceo)
            for _ in range(3):
                other = self._partner(True, founded, holders)
                if other is not None:
                    holders.append(other)
            for holder, bp in zip(holders, self._split(2000, len(holders)), strict=True):
                draft.owners.append(_Owner(holder, bp))

    def _bank(self, bank: Bank, founded: date) -> _Draft:
        commune = self.places.commune_in(bank.province_code, urban=True)
        draft = _Draft(
            name_vi=bank.name_vi,
            name_en=bank.name_en,
            short_name=bank.short_name,
            type="joint_stock",
            status="active",
            status_date=founded,
            founded_on=founded,
            street=self.places.street(commune, office=True),
            commune_code=commune,
            tax_prefix=bank.code[:2],
            charter_capital=bank.charter_capital,
            main_industry=BANKING,
            secondary=list(BANK_SECONDARY_INDUSTRIES),
            fixed_code=bank.code,
        )
        self.drafts.append(draft)
        self.names.add(bank.name_vi)
        return draft

    def add_enterprises(self, n: int) -> None:
        """``n`` ordinary enterprises; statuses by quota so small seeds still show each."""
        statuses: list[str] = []
        for status, weight in ENTERPRISE_STATUS_WEIGHTS.items():
            if status != "active":
                statuses += [status] * max(1 if n >= 10 else 0, round(n * weight))
        statuses = statuses[:n]
        statuses += ["active"] * (n - len(statuses))
        self.rng.shuffle(statuses)
        for status in statuses:
            self._enterprise(status)

    def _enterprise(self, status: str) -> None:
        rng = self.rng
        operating = status in OPERATING_STATUSES
        latest = self.today - timedelta(days=30 if status == "active" else 400)
        found = self._founder(operating, FIRST_FOUNDING, latest)
        if found is None:
            return
        founder, founded = found
        type_ = rng.choices(self._types, cum_weights=self._type_cum)[0]
        people: list[PersonRef] = [founder]
        size = _PEOPLE_PER_TYPE.get(type_)
        for _ in range((rng.randint(*size) if size else 1) - 1):
            p = self._partner(operating, founded, people)
            if p is not None:
                people.append(p)
        if len(people) < 2 and type_ in ("llc_multi_member", "partnership"):
            type_ = "llc_one_member"
        profile = rng.choices(PROFILES, cum_weights=self._profile_cum)[0]
        name_vi, name_en, short = self._name(type_, profile)
        commune = self._head_office(founder)
        main = rng.choice(profile.main)
        pool = [c for c in (*profile.main, *profile.secondary) if c != main]
        draft = _Draft(
            name_vi=name_vi,
            name_en=name_en,
            short_name=short,
            type=type_,
            status=status,
            status_date=self._status_date(status, founded),
            founded_on=founded,
            street=self.places.street(commune, office=type_ == "joint_stock"),
            commune_code=commune,
            tax_prefix=self.places.tax_prefix(commune),
            charter_capital=self._capital(type_),
            main_industry=main,
            secondary=sorted(rng.sample(pool, rng.randint(1, min(len(pool), 8)))),
        )
        self._people_roles(draft, people, operating)
        self.drafts.append(draft)

    def _people_roles(self, draft: _Draft, people: list[PersonRef], operating: bool) -> None:
        """Owners and legal representatives, as the enterprise type requires."""
        rng = self.rng
        type_, founded = draft.type, draft.founded_on
        titles = REP_TITLES[type_]
        if type_ in ("private", "partnership"):
            for p, bp in zip(people, self._split(10_000, len(people)), strict=True):
                draft.owners.append(_Owner(p, bp))
                draft.reps.append((p, titles[0]))
            return
        holders: list[PersonRef | _Draft] = list(people)
        corporate = self._corporate_owner(founded) if rng.random() < 0.12 else None
        if corporate is not None:
            if type_ == "llc_one_member":
                holders = [corporate]
            else:
                holders.append(corporate)
        total = 10_000 if type_ != "joint_stock" else rng.choice((2000, 5000, 10_000, 10_000))
        for holder, bp in zip(holders, self._split(total, len(holders)), strict=True):
            draft.owners.append(_Owner(holder, bp))
        rep = people[0]
        if rng.random() < 0.25 or (corporate is not None and type_ == "llc_one_member"):
            rep = self._partner(operating, founded, people) or rep
        if type_ == "joint_stock" and rng.random() < 0.25:
            draft.reps.append((rep, "Chủ tịch Hội đồng quản trị"))
            ceo = self._partner(operating, founded, [rep])
            if ceo is not None:
                draft.reps.append((ceo, "Tổng giám đốc"))
        else:
            draft.reps.append((rep, rng.choice(titles)))

    def _head_office(self, founder: PersonRef) -> str:
        r = self.rng.random()
        if r < 0.45 and self.places.exists(founder.residence_commune):
            return founder.residence_commune
        if r < 0.75:
            city = self.rng.choice(BIG_CITIES)
            return self.places.commune_in(city, urban=self.rng.random() < 0.85)
        return self.places.commune_near(founder.residence_commune)

    def _status_date(self, status: str, founded: date) -> date:
        """When the status took effect: the founding day for active enterprises, else a
        day after the first half year (within the last two years for a suspension)."""
        if status == "active":
            return founded
        last = self.today - timedelta(days=1)
        earliest = min(founded + timedelta(days=180), last)
        if status == "suspended":
            earliest = max(earliest, min(last, self.today - timedelta(days=700)))
        return earliest + timedelta(days=self.rng.randint(0, max((last - earliest).days, 0)))

    # -- numbering and rows ------------------------------------------------------------------

    def _number(self) -> None:
        """Codes in founding order within each tax prefix; the banks keep their fixed ones."""
        used = {d.fixed_code for d in self.drafts if d.fixed_code}
        serials: dict[str, int] = {}
        for d in sorted(self.drafts, key=lambda d: d.founded_on):
            if d.fixed_code:
                d.code = d.fixed_code
                continue
            serial = serials.get(d.tax_prefix)
            if serial is None:
                serial = self.rng.randrange(100_000, 2_000_000)
            while True:
                serial += self.rng.randint(1, 40)
                first9 = f"{d.tax_prefix}{serial:07d}"
                if has_check_digit(first9) and (code := make_enterprise_code(first9)) not in used:
                    break
            serials[d.tax_prefix] = serial
            used.add(code)
            d.code = code

    def add_households(self, n: int) -> None:
        self.households = HouseholdDrafter(self.rng, self.places, self.today).draft(self.adults, n)

    def finish(self) -> GeneratedRows:
        self._number()
        out = GeneratedRows(households=self.households)
        for d in self.drafts:
            out.enterprise_refs.append(
                (d.code, d.name_vi, d.status, d.commune_code, d.founded_on, d.main_industry)
            )
            out.enterprises.append(
                (d.code, d.name_vi, d.name_en, d.short_name, d.type, d.status, d.status_date,
                 d.founded_on, d.street, d.commune_code, d.charter_capital, d.main_industry)
            )  # fmt: skip
            out.industries.extend((d.code, c) for c in d.secondary)
            out.representatives.extend(
                (d.code, p.personal_id, p.full_name, title, d.founded_on) for p, title in d.reps
            )
            role = OWNER_ROLE_OF_TYPE[d.type]
            for o in d.owners:
                h = o.holder
                kind, oid, name = (
                    ("enterprise", h.code, h.name_vi)
                    if isinstance(h, _Draft)
                    else ("person", h.personal_id, h.full_name)
                )
                capital = d.charter_capital * o.share_bp // 10_000
                out.owners.append(
                    (d.code, oid, kind, name, role, o.share_bp, capital, d.founded_on)
                )
        return out
