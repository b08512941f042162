"""Invariants of the synthetic land registry, on a world of a few hundred people."""

from __future__ import annotations

import random
from collections import Counter, defaultdict
from datetime import date
from typing import Any

from sqlalchemy import func, inspect, select

from core.db import make_engine
from core.ids.parcel import parse_national_parcel_id
from core.ids.units import commune, provinces
from registries.land import vocabulary as v
from registries.land.geography import PROVINCE_CENTRES, commune_point
from registries.land.models import TABLES
from registries.land.seed import generate, write
from tests.registries.land.conftest import TODAY, World
from tests.registries.land.factories import make_enterprises, make_people, rows


def test_same_rng_seed_and_day_give_the_same_rows(world: World) -> None:
    again = generate(random.Random("tests:land"), world.people, world.enterprises, today=TODAY)
    assert again.tables() == world.land.tables()


def test_another_rng_seed_gives_other_parcels(world: World) -> None:
    other = generate(random.Random("other"), world.people, world.enterprises, today=TODAY)
    assert {p[0] for p in other.parcels} != {p[0] for p in world.land.parcels}


def test_about_three_parcels_per_ten_people(world: World) -> None:
    assert 0.25 <= len(world.land.parcels) / len(world.people) <= 0.35


def test_parcel_ids_are_unique_and_decode_inside_their_province(world: World) -> None:
    ids = [p["parcel_id"] for p in rows(world.land, "land_parcel")]
    assert len(ids) == len(set(ids))
    for p in rows(world.land, "land_parcel"):
        point = parse_national_parcel_id(p["parcel_id"])  # raises outside Vietnam
        lat, lon, spread = PROVINCE_CENTRES[commune(p["commune_code"]).province_code]
        assert abs(point.latitude - lat) <= spread + 0.02
        assert abs(point.longitude - lon) <= spread + 0.02


def test_every_province_has_a_centre_and_communes_stay_put() -> None:
    assert set(PROVINCE_CENTRES) == {p.code for p in provinces()}
    assert commune_point("00070") == commune_point("00070")


def test_cadastral_numbers_are_unique_per_commune_and_sheet(world: World) -> None:
    triples = Counter(
        (p["commune_code"], p["map_sheet"], p["parcel_number"])
        for p in rows(world.land, "land_parcel")
    )
    assert triples.most_common(1)[0][1] == 1


def test_purposes_terms_and_origins_come_from_the_vocabulary(world: World) -> None:
    parcels = rows(world.land, "land_parcel")
    assert {p["purpose_code"] for p in parcels} <= set(v.PURPOSES)
    assert {"ODT", "ONT"} <= {p["purpose_code"] for p in parcels}
    for p in parcels:
        assert (p["use_until"] is None) == (p["purpose_code"] in v.RESIDENTIAL)
        assert p["area_m2"] > 0
        assert p["origin"]


def test_holders_exist_and_were_adult_and_alive_when_they_acquired(world: World) -> None:
    people = {p.personal_id: p for p in world.people}
    enterprises = {e.code: e for e in world.enterprises}
    for h in rows(world.land, "land_rights_holder"):
        if h["holder_kind"] == v.PERSON:
            person = people[h["holder_id"]]
            assert person.full_name == h["name"]
            assert person.age_on(h["acquired_on"]) >= 18
            assert person.date_of_death is None or h["acquired_on"] < person.date_of_death
        else:
            assert enterprises[h["holder_id"]].founded_on <= h["acquired_on"] <= TODAY


def test_shares_of_each_parcel_add_up_to_one(world: World) -> None:
    shares: dict[str, float] = defaultdict(float)
    for h in rows(world.land, "land_rights_holder"):
        shares[h["parcel_id"]] += h["share"]
    assert set(shares) == {p[0] for p in world.land.parcels}
    assert all(abs(total - 1) < 1e-3 for total in shares.values())


def test_married_couples_co_hold_marital_property(world: World) -> None:
    people = {p.personal_id: p for p in world.people}
    by_parcel: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for h in rows(world.land, "land_rights_holder"):
        by_parcel[h["parcel_id"]].append(h)
    couples = [hs for hs in by_parcel.values() if any(h["marital_property"] for h in hs)]
    assert len(couples) >= 10
    for a, b in couples:
        assert people[a["holder_id"]].spouse_id == b["holder_id"]
        assert a["share"] == b["share"] == 0.5


def test_some_holders_are_deceased_and_some_parcels_were_inherited(world: World) -> None:
    dead = {p.personal_id for p in world.people if p.date_of_death is not None}
    assert any(h["holder_id"] in dead for h in rows(world.land, "land_rights_holder"))
    kinds = Counter(t["kind"] for t in rows(world.land, "land_transaction"))
    assert kinds[v.TX_INHERITANCE] > 0
    assert kinds[v.TX_TRANSFER] > 0


def test_mortgages_are_to_operating_banks_and_some_are_active(world: World) -> None:
    banks = {e.code: e for e in world.enterprises if e.main_industry == v.BANK_INDUSTRY}
    mortgages = rows(world.land, "land_encumbrance")
    statuses = Counter(m["status"] for m in mortgages)
    assert statuses[v.ACTIVE] >= 0.08 * len(world.land.parcels)
    assert statuses[v.RELEASED] > 0
    for m in mortgages:
        bank = banks[m["creditor_code"]]
        assert bank.founded_on <= m["registered_on"] <= TODAY
        assert bank.status not in ("dissolved", "bankrupt", "revoked")
        assert (m["released_on"] is None) == (m["status"] == v.ACTIVE)
        if m["released_on"] is not None:
            assert m["registered_on"] < m["released_on"] <= TODAY


def test_each_parcel_has_one_current_certificate_and_replacements_chain(world: World) -> None:
    certs = rows(world.land, "land_certificate")
    numbers = {c["certificate_number"]: c for c in certs}
    assert len(numbers) == len(certs)
    current = Counter(c["parcel_id"] for c in certs if c["status"] != v.CERT_REPLACED)
    assert set(current.values()) == {1}
    assert len(current) == len(world.land.parcels)
    statuses = Counter(c["status"] for c in certs)
    assert statuses[v.CERT_REPLACED] > 0
    for c in certs:
        assert c["issued_on"] <= TODAY
        if c["status"] == v.CERT_REPLACED:
            newer = numbers[c["replaced_by"]]
            assert newer["parcel_id"] == c["parcel_id"]
            assert newer["issued_on"] >= c["issued_on"]


def test_revoked_certificates_exist_and_their_parcels_carry_no_mortgage() -> None:
    people = make_people(random.Random(3), 4000)
    firms = make_enterprises(random.Random(4), 200, banks=5)
    land = generate(random.Random(5), people, firms, today=TODAY)
    revoked = {c["parcel_id"] for c in rows(land, "land_certificate") if c["status"] == "revoked"}
    assert revoked
    assert not revoked & {m["parcel_id"] for m in rows(land, "land_encumbrance")}


def test_a_world_without_banks_has_no_mortgages() -> None:
    people = make_people(random.Random(1), 300)
    firms = make_enterprises(random.Random(2), 20, banks=0)
    land = generate(random.Random(3), people, firms, today=TODAY)
    assert land.parcels
    assert land.encumbrances == []


def test_nothing_happens_after_the_reference_day(world: World) -> None:
    for t in rows(world.land, "land_transaction"):
        assert t["registered_on"] <= TODAY
    early = generate(random.Random(1), world.people, world.enterprises, today=date(2015, 1, 1))
    assert all(h[7] <= date(2015, 1, 1) for h in early.rights_holders)


def test_write_loads_every_row_and_builds_the_indexes(world: World) -> None:
    engine = make_engine("sqlite://")
    written: list[int] = []
    write(engine, world.land, progress=written.append)
    assert sum(written) == world.land.row_count
    with engine.connect() as conn:
        for table, data in world.land.tables():
            assert conn.scalar(select(func.count()).select_from(table)) == len(data)
    indexes = {ix["name"] for t in TABLES for ix in inspect(engine).get_indexes(t.name)}
    assert {ix.name for t in TABLES for ix in t.indexes} <= indexes


def test_each_history_starts_with_a_first_registration_and_runs_forward(world: World) -> None:
    history: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for t in rows(world.land, "land_transaction"):
        history[t["parcel_id"]].append(t)
    assert set(history) == {p[0] for p in world.land.parcels}
    for events in history.values():
        assert events[0]["kind"] == v.TX_INITIAL
        dates = [t["registered_on"] for t in events]
        assert dates == sorted(dates)
        assert {t["kind"] for t in events} <= set(v.TRANSACTION_KINDS)
