"""Synthetic population: persons and households (owned by the population registry).

The cross-registry contract: ``generate`` returns a ``PopulationSeed`` whose ``people`` are
the ``PersonRef``s that the business and land seeds draw from, so every person they name
exists here.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date


@dataclass(frozen=True, slots=True)
class PersonRef:
    """What other registries' seeds need to know about a person."""

    personal_id: str
    full_name: str
    date_of_birth: date
    sex: str  # "male" | "female"
    date_of_death: date | None
    residence_commune: str  # current (2025) commune code, 5 digits
    residence_address: str  # street-level address line, without commune/province names
    spouse_id: str | None
    household_id: str

    @property
    def alive(self) -> bool:
        return self.date_of_death is None

    def age_on(self, day: date) -> int:
        years = day.year - self.date_of_birth.year
        if (day.month, day.day) < (self.date_of_birth.month, self.date_of_birth.day):
            years -= 1
        return years
