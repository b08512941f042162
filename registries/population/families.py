"""The household generator: families first, people second.

People are generated a household at a time so that every relation is true by construction:
a couple is two people of opposite sex who point at each other; children are born while
their mother is 18-45 and carry their father's family name (their mother's clan name in the
matrilineal Central Highlands groups); a widowed survivor's late spouse is in the register
as deceased; everyone belongs to exactly one household and the head is a living adult.
Death comes to spouses (the survivor is widowed), to old parents living with their son
(sometimes both: the widow died later), and to a few children.

Household kinds (shares of households): families of a couple with their children, some with
the husband's parents (three generations, the old father sometimes the head) or with one
spouse deceased; single people (young and single, middle-aged divorced or single, old and
widowed); single parents (divorced, their ex-spouse lives elsewhere and is not linked).

Only the standard library's ``random.Random`` is used and every choice goes through the
``rng`` passed in, so the same seed gives the same people.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from random import Random
from typing import Any

from core.ids.personal import MAX_SERIAL, make_personal_id
from core.ids.units import LEGACY_TO_CURRENT
from registries.population.names import (
    ETHNICITIES,
    ETHNICITY_BY_NAME,
    ETHNICITY_CHOICE,
    Ethnicity,
    Weighted,
    below,
    family_names,
    full_name,
)
from registries.population.places import (
    BIRTH_PROVINCE,
    MIGRANT_SHARE,
    MIGRATION_TARGET,
    TEMPORARY_RESIDENCE_SHARE,
    TEMPORARY_TARGET,
    Place,
    address_line,
    main_legacy_of,
    pick_place,
)

YEAR = 365.2425
#: Share of the children in the register who have died (illness, accidents).
CHILD_MORTALITY = 0.012
KINH = ETHNICITIES[0]

#: Age of the husband of a family household (years), and the husband-wife age gap.
HUSBAND_AGE = Weighted.of(
    [
        (str(a), 0.3 if a < 23 else 1.0 if a <= 55 else 1.0 - 0.85 * (a - 55) / 35)
        for a in range(20, 91)
    ]
)
AGE_GAP = Weighted.of(
    {"-2": 1, "-1": 2, "0": 5, "1": 9, "2": 12, "3": 12, "4": 10, "5": 8, "6": 6, "7": 4,
     "8": 3, "10": 2, "12": 1, "15": 0.5}
)  # fmt: skip
CHILDREN = Weighted.of({"0": 8, "1": 22, "2": 42, "3": 18, "4": 7, "5": 3})

#: Mutable person record while its household is being built; frozen to a row at the end.
#: Indices into the list (kept as a list, not an object, because this runs a million times).
PID, NAME, DOB, SEX, BIRTH, HOMETOWN, ETHN, PADDR, PCOMM, CADDR, CCOMM = range(11)
HH, REL, FATHER, MOTHER, SPOUSE, MARITAL, DOD, FAMILY = range(11, 19)


@dataclass(slots=True)
class Home:
    """The household being built: where it lives and who is in it."""

    household_id: str
    place: Place
    address: str
    origin: str  # legacy province the family comes from
    ethnicity: Ethnicity
    migrated: bool
    members: list[list[Any]] = field(default_factory=list)


class FamilyBuilder:
    """Builds households into ``persons`` / ``households`` row lists (see ``seed.py``)."""

    def __init__(self, rng: Random, today: date) -> None:
        self.rng = rng
        self.today = today
        self.today_ord = today.toordinal()
        self.homes: list[Home] = []
        self._serials: dict[tuple[str, int, str], int] = {}
        self._prefixes: dict[tuple[str, int, str], str] = {}
        self._household_serial = 0
        self.count = 0

    # -- households ------------------------------------------------------------------------

    def household(self) -> Home:
        """One more household, of a kind drawn with realistic shares."""
        home = self._home()
        r = self.rng.random()
        if r < 0.72:
            self._family(home)
        elif r < 0.90:
            self._single(home)
        else:
            self._single_parent(home)
        self.count += len(home.members)
        return home

    def lone_household(self) -> Home:
        """A one-person household of a young single adult (to hit an exact head count)."""
        home = self._home()
        self._single(home, young=True)
        self.count += len(home.members)
        return home

    def _home(self) -> Home:
        rng = self.rng
        ethnicity = ETHNICITY_BY_NAME[ETHNICITY_CHOICE.pick(rng)]
        origin = (
            ethnicity.homes[below(rng, len(ethnicity.homes))]
            if ethnicity.homes
            else BIRTH_PROVINCE.pick(rng)
        )
        province = LEGACY_TO_CURRENT[origin]
        migrated = False
        if rng.random() < MIGRANT_SHARE:
            target = MIGRATION_TARGET.pick(rng)
            migrated = target != province
            province = target
        place = pick_place(rng, province)
        self._household_serial += 1
        return Home(
            household_id=f"{place.commune_code}{self._household_serial:07d}",
            place=place,
            address=address_line(rng, place),
            origin=origin,
            ethnicity=ethnicity,
            migrated=migrated,
        )

    def _family(self, home: Home) -> None:
        rng = self.rng
        husband_age = int(HUSBAND_AGE.pick(rng))
        wife_age = max(18 + below(rng, 3), husband_age - int(AGE_GAP.pick(rng)))
        wife_age = min(wife_age, husband_age + 2)
        family = family_names(home.ethnicity.style).pick(rng)
        hometown = pick_place(rng, LEGACY_TO_CURRENT[home.origin]).commune_code
        husband = self._person(home, "male", self._dob(husband_age), home.origin, hometown,
                               home.ethnicity, family, "married")  # fmt: skip
        w_eth, w_origin = self._partner_origin(home)
        w_hometown = pick_place(rng, LEGACY_TO_CURRENT[w_origin]).commune_code
        w_family = family_names(w_eth.style).pick(rng)
        wife = self._person(home, "female", self._dob(wife_age), w_origin, w_hometown, w_eth,
                            w_family, "married")  # fmt: skip
        _marry(husband, wife)
        children = self._children(home, husband, wife, wife[DOB])

        # One spouse deceased (more often the husband), the other widowed.
        widowed = husband_age > 50 and rng.random() < (husband_age - 45) / 80
        if widowed:
            late, survivor = (husband, wife) if rng.random() < 0.7 else (wife, husband)
            after = max([late[DOB].toordinal() + int(30 * YEAR)] +
                        [c[DOB].toordinal() for c in children])  # fmt: skip
            self._die(late, after)
            survivor[MARITAL] = "widowed"

        elders: tuple[list[Any], list[Any]] | None = None
        if husband_age < 55 and rng.random() < 0.18:
            elders = self._parents_of(home, husband, husband_age)

        # Who heads the household, and everyone's relation to them.
        head = husband if husband[DOD] is None else wife
        if head is husband and wife[DOD] is None and rng.random() < 0.12:
            head = wife
        if elders and elders[0][DOD] is None and rng.random() < 0.5:
            head = elders[0]
        if elders is not None and head is elders[0]:
            elders[0][REL], elders[1][REL] = "head", "spouse"
            husband[REL], wife[REL] = "child", "child_in_law"
            for c in children:
                c[REL] = "grandchild"
        else:
            partner = wife if head is husband else husband
            head[REL], partner[REL] = "head", "spouse"
            for c in children:
                c[REL] = "child"
            for e in elders or ():
                e[REL] = "parent" if head is husband else "parent_in_law"

    def _single(self, home: Home, *, young: bool = False) -> None:
        rng = self.rng
        r = 0.0 if young else rng.random()
        sex = "male" if rng.random() < 0.5 else "female"
        if r < 0.55:
            age, marital = 18 + below(rng, 17), "single"
        elif r < 0.8:
            age, marital = 35 + below(rng, 30), "divorced" if rng.random() < 0.5 else "single"
        else:
            age, marital = 65 + below(rng, 30), "widowed"
            sex = "female" if rng.random() < 0.7 else "male"
        hometown = pick_place(rng, LEGACY_TO_CURRENT[home.origin]).commune_code
        family = family_names(home.ethnicity.style).pick(rng)
        me = self._person(home, sex, self._dob(age), home.origin, hometown, home.ethnicity,
                          family, marital)  # fmt: skip
        me[REL] = "head"
        if marital == "widowed":
            other = "female" if sex == "male" else "male"
            late_age = age - 3 + below(rng, 9) if other == "male" else age + 2 - below(rng, 7)
            late = self._person(home, other, self._dob(late_age), home.origin, hometown,
                                home.ethnicity, family_names(home.ethnicity.style).pick(rng),
                                "married")  # fmt: skip
            _marry(me, late)
            self._die(late, late[DOB].toordinal() + int(40 * YEAR))
            late[REL] = "spouse"

    def _single_parent(self, home: Home) -> None:
        """A divorced parent and their children; the ex-spouse lives elsewhere, unlinked."""
        rng = self.rng
        sex = "female" if rng.random() < 0.75 else "male"
        age = 28 + below(rng, 30)
        hometown = pick_place(rng, LEGACY_TO_CURRENT[home.origin]).commune_code
        family = family_names(home.ethnicity.style).pick(rng)
        me = self._person(home, sex, self._dob(age), home.origin, hometown, home.ethnicity,
                          family, "divorced")  # fmt: skip
        me[REL] = "head"
        if sex == "male":
            kids = self._children(home, me, None, self._dob(age - below(rng, 4)))
        else:
            kids = self._children(home, None, me, me[DOB])
        for k in kids:
            k[REL] = "child"

    # -- people ------------------------------------------------------------------------------

    def _children(
        self,
        home: Home,
        father: list[Any] | None,
        mother: list[Any] | None,
        mother_dob: date,
    ) -> list[list[Any]]:
        """Children born while the mother was 18-45, of whom the grown-up ones mostly left.

        One parent may be absent from the register (``None``): a divorced parent's ex.
        """
        rng = self.rng
        parent = father if father is not None else mother
        if parent is None:
            raise ValueError("a child needs at least one parent in the register")
        eth = ETHNICITY_BY_NAME[parent[ETHN]]
        # An absent father still gave his family name: draw one.
        father_family = father[FAMILY] if father else family_names(eth.style).pick(rng)
        if eth.matrilineal and mother is not None and mother[ETHN] == eth.name:
            child_family = mother[FAMILY]
        else:
            child_family = father_family
        kids: list[list[Any]] = []
        mother_age = 19 + rng.random() * 9
        for _ in range(int(CHILDREN.pick(rng))):
            if mother_age >= 45:
                break
            dob_ord = mother_dob.toordinal() + int(mother_age * YEAR)
            mother_age += 1.5 + rng.random() * 4
            if dob_ord >= self.today_ord:
                break
            age = (self.today_ord - dob_ord) / YEAR
            if age >= 25 and rng.random() < (0.75 if age < 30 else 0.93):
                continue  # grown up and moved out (not part of this household)
            birth = home.origin
            if home.migrated and rng.random() < 0.5:
                birth = main_legacy_of(home.place.province_code)
            sex = "male" if rng.random() < 0.512 else "female"
            kid = self._person(home, sex, date.fromordinal(dob_ord), birth,
                               parent[HOMETOWN], eth, child_family, "single")  # fmt: skip
            kid[FATHER] = father[PID] if father is not None else None
            kid[MOTHER] = mother[PID] if mother is not None else None
            if rng.random() < CHILD_MORTALITY:
                self._die(kid, dob_ord + 1)  # stays registered in the household, deceased
            kids.append(kid)
        return kids

    def _parents_of(
        self, home: Home, child: list[Any], child_age: int
    ) -> tuple[list[Any], list[Any]]:
        """The husband's old parents living with him; his father has died half the time."""
        rng = self.rng
        # 20-37 whole years older: 19-38 at the birth once the days are drawn, inside 18-45.
        mother_age = child_age + 20 + below(rng, 18)
        father_age = min(mother_age + int(AGE_GAP.pick(rng)), 100)
        father_age = max(father_age, child_age + 18)
        eth = ETHNICITY_BY_NAME[child[ETHN]]
        father = self._person(home, "male", self._dob(father_age), child[BIRTH],
                              child[HOMETOWN], eth, child[FAMILY], "married")  # fmt: skip
        mother = self._person(home, "female", self._dob(mother_age), child[BIRTH],
                              child[HOMETOWN], eth, family_names(eth.style).pick(rng),
                              "married")  # fmt: skip
        _marry(father, mother)
        child[FATHER], child[MOTHER] = father[PID], mother[PID]
        if father_age > 80 or rng.random() < 0.5:
            self._die(father, child[DOB].toordinal() + 1)
            mother[MARITAL] = "widowed"
            # Sometimes she has died too, a widow: her son is an orphan and an heir.
            if mother_age > 85 or rng.random() < 0.15:
                self._die(mother, father[DOD].toordinal() + 1)
        return father, mother

    def _partner_origin(self, home: Home) -> tuple[Ethnicity, str]:
        """A wife's ethnic group and birth province: mostly the husband's, sometimes not."""
        rng = self.rng
        if rng.random() < 0.92:
            eth = home.ethnicity
        elif home.ethnicity is not KINH:
            eth = KINH
        else:
            eth = ETHNICITY_BY_NAME[ETHNICITY_CHOICE.pick(rng)]
        if eth is home.ethnicity and rng.random() < 0.65:
            return eth, home.origin
        return eth, eth.homes[below(rng, len(eth.homes))] if eth.homes else BIRTH_PROVINCE.pick(rng)

    def _person(
        self,
        home: Home,
        sex: str,
        dob: date,
        birth: str,
        hometown: str,
        eth: Ethnicity,
        family: str,
        marital: str,
    ) -> list[Any]:
        rng = self.rng
        pid = self._personal_id(birth, dob.year, sex)
        name = full_name(rng, eth.style, sex, dob.year, family)
        c_addr, c_comm = home.address, home.place.commune_code
        if rng.random() < TEMPORARY_RESIDENCE_SHARE and 18 <= self.today.year - dob.year <= 35:
            target = TEMPORARY_TARGET.pick(rng)
            if target != home.place.province_code:
                elsewhere = pick_place(rng, target)
                c_addr, c_comm = address_line(rng, elsewhere), elsewhere.commune_code
        person: list[Any] = [
            pid, name, dob, sex, birth, hometown, eth.name, home.address,
            home.place.commune_code, c_addr, c_comm, home.household_id,
            None, None, None, None, marital, None, family,
        ]  # fmt: skip
        home.members.append(person)
        return person

    def _personal_id(self, province: str, year: int, sex: str) -> str:
        """A fresh id: serials per (province, year, sex) go up by random steps, so they are
        unique by construction and do not look sequential."""
        key = (province, year, sex)
        serial = self._serials.get(key)
        if serial is None:
            self._prefixes[key] = make_personal_id(province, year, sex, 0)[:6]
            serial = below(self.rng, 1000)
        serial += 1 + below(self.rng, 40)
        if serial > MAX_SERIAL:
            raise OverflowError(f"too many persons born in {province} in {year}")
        self._serials[key] = serial
        return f"{self._prefixes[key]}{serial:06d}"

    def _dob(self, age: int) -> date:
        """A birth date for someone ``age`` full years old on ``today``."""
        days = int((age + self.rng.random()) * YEAR)
        return date.fromordinal(min(self.today_ord - days, self.today_ord - 1))

    def _die(self, person: list[Any], not_before: int) -> None:
        """Mark ``person`` deceased on a day between ``not_before`` and yesterday."""
        first = max(not_before, person[DOB].toordinal() + 1)
        last = self.today_ord - 1
        person[DOD] = date.fromordinal(
            last if first >= last else first + below(self.rng, last - first + 1)
        )


def _marry(a: list[Any], b: list[Any]) -> None:
    a[SPOUSE], b[SPOUSE] = b[PID], a[PID]
