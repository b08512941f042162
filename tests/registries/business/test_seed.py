"""Invariants of the business seed: the facts the once-only flows rely on."""

from __future__ import annotations

import random
from collections import Counter, defaultdict
from datetime import date
from typing import Any

import pytest
from sqlalchemy import Table, func, select

from core.db import make_engine
from core.ids.enterprise import is_enterprise_code, make_enterprise_code
from core.ids.units import commune, is_commune_code
from registries.business.identifiers import parse_registration_number
from registries.business.models import (
    Enterprise,
    EnterpriseOwner,
    HouseholdBusiness,
    LegalRepresentative,
)
from registries.business.seed import DEV_BANK_CODE, BusinessSeed, generate, write
from registries.business.seed_data import BANKS
from registries.business.vocabulary import ENTERPRISE_STATUSES, ENTERPRISE_TYPES, OPERATING_STATUSES
from registries.business.vsic import VSIC_2018
from registries.population.seed import PersonRef
from tests.registries.business.conftest import TODAY
from tests.registries.business.factories import children, person


def dicts(table: Any, rows: list[tuple[Any, ...]]) -> list[dict[str, Any]]:
    names = [c.name for c in table.__table__.columns]
    return [dict(zip(names, r, strict=True)) for r in rows]


@pytest.fixture(scope="module")
def enterprises(world: BusinessSeed) -> dict[str, dict[str, Any]]:
    return {e["code"]: e for e in dicts(Enterprise, world.enterprise_rows)}


@pytest.fixture(scope="module")
def by_id(people: list[PersonRef]) -> dict[str, PersonRef]:
    return {p.personal_id: p for p in people}


def adult_on(p: PersonRef, day: date) -> bool:
    return p.age_on(day) >= 18


def test_same_rng_and_today_give_the_same_rows(people: list[PersonRef]) -> None:
    a = generate(random.Random(7), people, today=TODAY, enterprise_rate=0.05)
    b = generate(random.Random(7), people, today=TODAY, enterprise_rate=0.05)
    assert a == b


def test_another_seed_gives_other_rows(people: list[PersonRef]) -> None:
    a = generate(random.Random(7), people, today=TODAY, enterprise_rate=0.05)
    b = generate(random.Random(8), people, today=TODAY, enterprise_rate=0.05)
    assert a.enterprise_rows != b.enterprise_rows
    assert a.household_rows != b.household_rows


def test_default_rates_are_one_enterprise_per_100_and_one_household_business_per_20(
    people: list[PersonRef],
) -> None:
    seed = generate(random.Random(1), people, today=TODAY)
    assert len(seed.enterprises) == len(people) // 100 + len(BANKS)
    assert len(seed.household_rows) == len(people) // 20


def test_every_enterprise_code_is_valid_and_unique(world: BusinessSeed) -> None:
    codes = [e.code for e in world.enterprises]
    assert all(is_enterprise_code(c) and len(c) == 10 for c in codes)
    assert len(set(codes)) == len(codes)


def test_dev_bank_code_is_the_valid_code_of_its_prefix() -> None:
    assert make_enterprise_code(DEV_BANK_CODE[:9]) == DEV_BANK_CODE
    assert is_enterprise_code(DEV_BANK_CODE)


def test_dev_bank_exists_as_an_active_joint_stock_bank(
    world: BusinessSeed, enterprises: dict[str, dict[str, Any]]
) -> None:
    ref = next(e for e in world.enterprises if e.code == DEV_BANK_CODE)
    assert ref.main_industry == "6419"
    assert ref.status == "active"
    assert ref.name == "NGÂN HÀNG THƯƠNG MẠI CỔ PHẦN LIÊN THÔNG VIỆT NAM"
    assert enterprises[DEV_BANK_CODE]["type"] == "joint_stock"
    assert enterprises[DEV_BANK_CODE]["charter_capital"] >= 3_000_000_000_000


def test_every_bank_exists_even_when_nobody_is_old_enough_to_found_one() -> None:
    seed = generate(random.Random(3), children(30, today=TODAY), today=TODAY)
    banks = {e.code for e in seed.enterprises if e.main_industry == "6419"}
    assert banks == {b.code for b in BANKS}
    assert seed.representative_rows == []


def test_representatives_were_adults_and_alive_on_the_founding_date(
    world: BusinessSeed, enterprises: dict[str, dict[str, Any]], by_id: dict[str, PersonRef]
) -> None:
    reps = dicts(LegalRepresentative, world.representative_rows)
    assert len(reps) >= len(enterprises)
    for r in reps:
        p = by_id[r["personal_id"]]
        founded = enterprises[r["enterprise_code"]]["founded_on"]
        assert adult_on(p, founded), (p, founded)
        assert p.date_of_death is None or p.date_of_death > founded
        assert r["full_name"] == p.full_name


def test_people_of_operating_enterprises_are_alive_today(
    world: BusinessSeed, enterprises: dict[str, dict[str, Any]], by_id: dict[str, PersonRef]
) -> None:
    operating = {c for c, e in enterprises.items() if e["status"] in OPERATING_STATUSES}
    reps = [r for r in dicts(LegalRepresentative, world.representative_rows)]
    owners = [o for o in dicts(EnterpriseOwner, world.owner_rows) if o["owner_kind"] == "person"]
    named = [r["personal_id"] for r in reps if r["enterprise_code"] in operating]
    named += [o["owner_id"] for o in owners if o["enterprise_code"] in operating]
    assert named
    assert all(by_id[pid].alive for pid in named)


def test_every_enterprise_has_a_legal_representative(
    world: BusinessSeed, enterprises: dict[str, dict[str, Any]]
) -> None:
    represented = {r[0] for r in world.representative_rows}
    assert represented == set(enterprises)


def test_shares_of_llcs_private_enterprises_and_partnerships_sum_to_100_percent(
    world: BusinessSeed, enterprises: dict[str, dict[str, Any]]
) -> None:
    total: dict[str, int] = defaultdict(int)
    for o in dicts(EnterpriseOwner, world.owner_rows):
        total[o["enterprise_code"]] += o["share_bp"]
        assert o["share_bp"] > 0
    for code, e in enterprises.items():
        if e["type"] == "joint_stock":
            assert 2000 <= total[code] <= 10_000, code  # founding shareholders: at least 20 %
        else:
            assert total[code] == 10_000, code


def test_ownership_matches_the_enterprise_type(
    world: BusinessSeed, enterprises: dict[str, dict[str, Any]]
) -> None:
    owners: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for o in dicts(EnterpriseOwner, world.owner_rows):
        owners[o["enterprise_code"]].append(o)
    for code, e in enterprises.items():
        n = len(owners[code])
        if e["type"] in ("llc_one_member", "private"):
            assert n == 1
        elif e["type"] in ("llc_multi_member", "partnership"):
            assert n >= 2
    corporate = [o for os in owners.values() for o in os if o["owner_kind"] == "enterprise"]
    for o in corporate:  # a corporate owner is an older enterprise of the register
        assert (
            enterprises[o["owner_id"]]["founded_on"]
            < enterprises[o["enterprise_code"]]["founded_on"]
        )


def test_every_type_and_every_status_occurs(
    world: BusinessSeed, enterprises: dict[str, dict[str, Any]]
) -> None:
    statuses = Counter(e["status"] for e in enterprises.values())
    assert set(statuses) == set(ENTERPRISE_STATUSES)
    assert statuses["active"] > statuses["dissolved"] > 0
    assert {e["type"] for e in enterprises.values()} >= set(ENTERPRISE_TYPES) - {"partnership"}


def test_dates_are_ordered_and_in_the_past(enterprises: dict[str, dict[str, Any]]) -> None:
    for e in enterprises.values():
        assert date(1991, 1, 1) <= e["founded_on"] <= e["status_date"] < TODAY
        if e["status"] == "active":
            assert e["status_date"] == e["founded_on"]


def test_codes_rise_with_the_founding_date_within_a_tax_prefix(
    enterprises: dict[str, dict[str, Any]],
) -> None:
    fixed = {b.code for b in BANKS}
    by_prefix: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for e in enterprises.values():
        if e["code"] not in fixed:
            by_prefix[e["code"][:2]].append(e)
    for group in by_prefix.values():
        group.sort(key=lambda e: e["code"])
        dates = [e["founded_on"] for e in group]
        assert dates == sorted(dates)


def test_names_are_unique_and_english_names_follow_the_type(
    enterprises: dict[str, dict[str, Any]],
) -> None:
    names = [e["name_vi"] for e in enterprises.values()]
    assert len(set(names)) == len(names)
    suffix = {"llc_one_member": "COMPANY LIMITED", "joint_stock": "JOINT STOCK COMPANY"}
    for e in enterprises.values():
        if e["type"] in suffix and e["main_industry"] != "6419":
            assert e["name_en"].endswith(suffix[e["type"]])
            assert e["name_en"].isascii()


def test_industries_are_known_vsic_2018_classes(
    world: BusinessSeed, enterprises: dict[str, dict[str, Any]]
) -> None:
    used = {e["main_industry"] for e in enterprises.values()}
    used |= {r[1] for r in world.industry_rows}
    used |= {h[6] for h in world.household_rows}
    assert used <= set(VSIC_2018)
    assert not {(r[0], r[1]) for r in world.industry_rows} & {
        (c, e["main_industry"]) for c, e in enterprises.items()
    }


def test_addresses_are_in_real_communes(world: BusinessSeed) -> None:
    communes = {e.commune_code for e in world.enterprises} | {h[5] for h in world.household_rows}
    assert all(is_commune_code(c) for c in communes)


def test_household_businesses_have_one_adult_owner_each(
    world: BusinessSeed, by_id: dict[str, PersonRef]
) -> None:
    hh = dicts(HouseholdBusiness, world.household_rows)
    assert len({h["owner_id"] for h in hh}) == len(hh)
    for h in hh:
        owner = by_id[h["owner_id"]]
        assert adult_on(owner, h["registered_on"])
        assert h["registered_on"] <= h["status_date"] < TODAY
        assert h["owner_name"] == owner.full_name
        if not owner.alive:
            assert h["status"] == "ceased"
            assert h["registered_on"] < owner.date_of_death
    assert {h["status"] for h in hh} == {"active", "suspended", "ceased"}


def test_household_registration_numbers_are_well_formed_and_unique(world: BusinessSeed) -> None:
    numbers = [h[0] for h in world.household_rows]
    assert len(set(numbers)) == len(numbers)
    assert all(parse_registration_number(n) == n for n in numbers)
    for h in world.household_rows:
        assert h[0][:2] == commune(h[5]).province_code  # numbered where it is located
        assert h[1].startswith("Hộ kinh doanh ")


def test_household_businesses_of_deceased_owners_have_ceased() -> None:
    dead = [person(born=date(1950, 1, 1), died=date(2020, 1, 1)) for _ in range(40)]
    seed = generate(random.Random(5), dead, today=TODAY, household_rate=1.0)
    assert len(seed.household_rows) == 40
    assert {h[8] for h in seed.household_rows} == {"ceased"}


def test_write_loads_every_row_and_reports_progress(world: BusinessSeed) -> None:
    engine = make_engine("sqlite://")
    reported: list[int] = []
    write(engine, world, progress=reported.append)
    assert sum(reported) == world.row_count
    with engine.connect() as conn:
        for model, rows in (
            (Enterprise, world.enterprise_rows),
            (HouseholdBusiness, world.household_rows),
            (EnterpriseOwner, world.owner_rows),
        ):
            table: Table = model.__table__  # type: ignore[assignment]
            assert conn.execute(select(func.count()).select_from(table)).scalar() == len(rows)
        founded = conn.execute(
            select(Enterprise.founded_on).where(Enterprise.code == DEV_BANK_CODE)
        ).scalar()
    assert isinstance(founded, date)
