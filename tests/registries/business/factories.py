"""Hand-made people for business seed tests that need a population of a particular shape.

Most tests draw people from the real population generator; these build the odd cases it
would rarely produce (nobody old enough to found a bank, everyone deceased, ...).
"""

from __future__ import annotations

from datetime import date

from core.ids.personal import make_personal_id
from registries.population.seed import PersonRef

_serial = 0


def person(
    *,
    born: date,
    died: date | None = None,
    sex: str = "female",
    name: str = "Nguyễn Thị Lan",
    commune: str = "00004",
) -> PersonRef:
    """A person registered in Hà Nội (legacy province 001), with a fresh serial."""
    global _serial
    _serial += 1
    pid = make_personal_id("001", born.year, sex, _serial)
    return PersonRef(
        personal_id=pid,
        full_name=name,
        date_of_birth=born,
        sex=sex,
        date_of_death=died,
        residence_commune=commune,
        residence_address=f"Số {_serial} Phố Huế",
        spouse_id=None,
        household_id=f"00004{_serial:07d}",
    )


def children(n: int, *, today: date) -> list[PersonRef]:
    """``n`` people all under 18 on ``today``."""
    return [person(born=date(today.year - 10, 5, 1)) for _ in range(n)]
