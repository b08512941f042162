"""The population generator and loader (the cross-registry invariants are in tests/test_seed.py)."""

from __future__ import annotations

import random
from collections import Counter
from datetime import date

import pytest
from sqlalchemy import inspect

from core.db import make_engine
from core.ids.units import unit_names
from registries.population.names import ETHNICITIES, KINH_FAMILY, Weighted, full_name
from registries.population.places import Place, address_line, main_legacy_of
from registries.population.seed import PopulationSeed, generate, load_people, write

from .conftest import TODAY


@pytest.mark.parametrize("n", [10, 11, 57])
def test_generate_makes_exactly_n_persons(n: int) -> None:
    world = generate(random.Random(n), n, today=TODAY)
    assert len(world.persons) == len(world.people) == n
    assert world.row_count == n + len(world.households)


def test_generate_reports_progress_up_to_the_total() -> None:
    seen: list[int] = []
    generate(random.Random(1), 25_000, today=TODAY, progress=seen.append)
    assert seen == sorted(seen) and seen[-1] == 25_000 and len(seen) >= 3


def test_write_then_load_gives_back_the_same_people(world: PopulationSeed) -> None:
    engine = make_engine("sqlite://")
    written: list[int] = []
    write(engine, world, progress=written.append, batch=100)
    assert sum(written) == world.row_count
    assert load_people(engine) == world.people
    assert "ix_person_household_id" in {i["name"] for i in inspect(engine).get_indexes("person")}
    engine.dispose()


def test_write_into_existing_empty_tables(world: PopulationSeed) -> None:
    from registries.population.models import Base

    engine = make_engine("sqlite://")
    Base.metadata.create_all(engine)  # what the app does at start-up
    write(engine, world)
    assert len(load_people(engine)) == len(world.people)
    engine.dispose()


def test_weighted_choice_follows_the_weights() -> None:
    rng = random.Random(3)
    choice = Weighted.of({"a": 1.0, "b": 3.0})
    counts = Counter(choice.pick(rng) for _ in range(20_000))
    assert 0.22 < counts["a"] / 20_000 < 0.28


def test_family_names_follow_real_frequencies() -> None:
    rng = random.Random(4)
    counts = Counter(KINH_FAMILY.pick(rng) for _ in range(20_000))
    assert counts.most_common(3)[0][0] == "Nguyễn"
    assert 0.33 < counts["Nguyễn"] / 20_000 < 0.43
    assert counts["Trần"] > counts["Lê"] > counts["Phạm"] > counts["Đỗ"]


def test_ethnic_shares_add_up_to_about_everyone() -> None:
    assert 99 < sum(e.share for e in ETHNICITIES) < 101
    assert all(e.homes for e in ETHNICITIES if e.name != "Kinh")


@pytest.mark.parametrize(
    ("style", "sex", "check"),
    [
        ("kinh", "female", lambda n: n.startswith("Nguyễn ") and len(n.split()) == 3),
        ("ede", "male", lambda n: n.startswith("Y ") and n.endswith(" Nguyễn")),
        ("ede", "female", lambda n: n.startswith("H'") and n.endswith(" Nguyễn")),
        ("hmong", "male", lambda n: n.split()[1] in ("A", "Văn")),
    ],
)
def test_names_follow_the_pattern_of_the_group(style: str, sex: str, check: object) -> None:
    rng = random.Random(5)
    for _ in range(50):
        name = full_name(rng, style, sex, 1990, "Nguyễn")
        assert callable(check) and check(name), name


def test_older_women_are_mostly_thi_and_younger_ones_less_so() -> None:
    rng = random.Random(6)
    old = sum(" Thị " in full_name(rng, "kinh", "female", 1950, "Lê") for _ in range(2000))
    young = sum(" Thị " in full_name(rng, "kinh", "female", 2005, "Lê") for _ in range(2000))
    assert old > 1600 > 800 > young


def test_address_lines_follow_local_habit() -> None:
    rng = random.Random(7)
    ward = Place("00070", "Phường Hoàn Kiếm", "01", "Thành phố Hà Nội", urban=True)
    south = Place("29999", "Xã X", "96", "Cà Mau", urban=False)
    assert all(address_line(rng, ward).startswith("Số ") for _ in range(30))
    assert all(address_line(rng, south).startswith("Ấp ") for _ in range(30))


def test_place_names_come_from_the_unit_tables() -> None:
    assert unit_names("00070") == {
        "commune_code": "00070",
        "commune_name": "Phường Hoàn Kiếm",
        "province_code": "01",
        "province_name": "Thành phố Hà Nội",
    }
    assert main_legacy_of("79") == "079" and main_legacy_of("24") == "024"


def test_ages_are_counted_on_the_reference_day(world: PopulationSeed) -> None:
    p = world.people[0]
    birthday = date(TODAY.year, p.date_of_birth.month, min(p.date_of_birth.day, 28))
    assert p.age_on(birthday) == TODAY.year - p.date_of_birth.year
