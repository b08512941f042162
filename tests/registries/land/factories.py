"""Small worlds of people and enterprises for the land registry's tests.

Built here rather than from the population and business seeds so the land tests control
exactly what they rely on: married couples, deceased people with living household members,
banks (VSIC 6419) and ordinary firms.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

from core.ids.enterprise import has_check_digit, make_enterprise_code
from core.ids.personal import LEGACY_PROVINCES, make_personal_id
from core.ids.units import communes
from registries.land import seed as land_seed
from registries.population.seed import PersonRef

TODAY = date(2026, 1, 1)

_FAMILY = ("Nguyễn", "Trần", "Lê", "Phạm", "Hoàng", "Huỳnh", "Phan", "Vũ", "Võ", "Đặng")
_MIDDLE = {"male": ("Văn", "Đức", "Minh"), "female": ("Thị", "Ngọc", "Thu")}
_GIVEN = {"male": ("An", "Bình", "Cường", "Dũng", "Hùng"), "female": ("Hoa", "Lan", "Mai")}


@dataclass(frozen=True, slots=True)
class EnterpriseStub:
    """The attributes of ``registries.business.seed.EnterpriseRef`` the land seed reads."""

    code: str
    name: str
    status: str
    commune_code: str
    founded_on: date
    main_industry: str


def _name(rng: random.Random, sex: str) -> str:
    return f"{rng.choice(_FAMILY)} {rng.choice(_MIDDLE[sex])} {rng.choice(_GIVEN[sex])}"


def make_people(rng: random.Random, n: int, *, today: date = TODAY) -> list[PersonRef]:
    """About ``n`` people in households: couples, children, some deceased."""
    commune_codes = [c.code for c in communes()]
    legacy = sorted(LEGACY_PROVINCES)
    people: list[PersonRef] = []
    serial = 0

    def person(born: date, sex: str) -> str:
        nonlocal serial
        serial += 1
        return make_personal_id(rng.choice(legacy), born.year, sex, serial % 1_000_000)

    household_no = 0
    while len(people) < n:
        household_no += 1
        household = f"HH{household_no:08d}"
        home = rng.choice(commune_codes)
        address = f"Số {rng.randint(1, 300)}, Tổ {rng.randint(1, 20)}"
        head_born = today - timedelta(days=rng.randint(22 * 365, 85 * 365))
        head_sex = rng.choice(("male", "female"))
        head_id = person(head_born, head_sex)
        spouse: tuple[str, date, str] | None = None
        if rng.random() < 0.75:
            other = "female" if head_sex == "male" else "male"
            born = head_born + timedelta(days=rng.randint(-5 * 365, 5 * 365))
            spouse = (person(born, other), born, other)
        members = [(head_id, head_born, head_sex, spouse[0] if spouse else None)]
        if spouse:
            members.append((spouse[0], spouse[1], spouse[2], head_id))
        for _ in range(rng.randint(0, 3)):
            born = head_born + timedelta(days=rng.randint(20 * 365, 40 * 365))
            if born < today:
                sex = rng.choice(("male", "female"))
                members.append((person(born, sex), born, sex, None))
        for pid, born, sex, spouse_id in members:
            died = None
            adult = born + timedelta(days=6575)
            if rng.random() < 0.12 and adult + timedelta(days=3 * 365) < today:
                died = adult + timedelta(days=rng.randint(3 * 365, (today - adult).days))
            people.append(
                PersonRef(
                    pid, _name(rng, sex), born, sex, died, home, address, spouse_id, household
                )
            )
    return people


def make_enterprises(
    rng: random.Random, n: int, *, banks: int = 3, today: date = TODAY
) -> list[EnterpriseStub]:
    """``n`` enterprises, the first ``banks`` of them banks, a few dissolved."""
    commune_codes = [c.code for c in communes()]
    out: list[EnterpriseStub] = []
    number = 100_000_000
    while len(out) < n:
        number += 1
        first9 = f"01{number % 10_000_000:07d}"
        if not has_check_digit(first9):
            continue
        bank = len(out) < banks
        founded = date(1990, 1, 1) if bank else today - timedelta(days=rng.randint(200, 9000))
        out.append(
            EnterpriseStub(
                code=make_enterprise_code(first9),
                name=f"Ngân hàng TMCP Số {len(out) + 1}" if bank else f"Công ty TNHH {len(out)}",
                status="dissolved" if not bank and rng.random() < 0.1 else "active",
                commune_code=rng.choice(commune_codes),
                founded_on=founded,
                main_industry="6419" if bank else rng.choice(("4711", "1410", "6201")),
            )
        )
    return out


def rows(seed: land_seed.LandSeed, table_name: str) -> list[dict[str, Any]]:
    """The generated rows of one table as dicts keyed by column name."""
    table, data = next((t, r) for t, r in seed.tables() if t.name == table_name)
    names = [c.name for c in table.columns]
    return [dict(zip(names, r, strict=True)) for r in data]
