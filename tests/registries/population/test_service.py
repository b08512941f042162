"""The population service layer, without HTTP."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date

import pytest
from sqlalchemy.orm import Session

from core.db import make_engine, session_factory
from registries.population import service
from registries.population.seed import PopulationSeed, write

from .conftest import first, first_deceased, rows


@pytest.fixture
def session(world: PopulationSeed) -> Iterator[Session]:
    engine = make_engine("sqlite://")
    write(engine, world)
    with session_factory(engine)() as s:
        yield s
    engine.dispose()


def test_person_record_has_exactly_the_published_fields(
    session: Session, world: PopulationSeed
) -> None:
    p = first(world, relation_to_head="head")
    record = service.get_person(session, p["personal_id"], service.PERSON_FIELDS)
    assert tuple(record) == service.PERSON_FIELDS


def test_person_fields_are_a_parameter_of_the_service(
    session: Session, world: PopulationSeed
) -> None:
    p = first(world, relation_to_head="head")
    assert service.get_person(session, p["personal_id"], {"sex"}) == {"sex": p["sex"]}


def test_unknown_person_raises_person_not_found(session: Session) -> None:
    with pytest.raises(service.PersonNotFound) as err:
        service.get_person(session, "001099999999", service.PERSON_FIELDS)
    assert err.value.status == 404 and err.value.type == "client.person_not_found"
    with pytest.raises(service.PersonNotFound):
        service.get_household(session, "001099999999", service.MEMBER_FIELDS)


def test_household_head_first_then_oldest_first(session: Session, world: PopulationSeed) -> None:
    child = first(world, relation_to_head="grandchild")
    household = service.get_household(session, child["personal_id"], service.MEMBER_FIELDS)
    members = household["members"]
    assert members[0]["relation_to_head"] == "head"
    births = [m["date_of_birth"] for m in members[1:]]
    assert births == sorted(births)


def test_verify_identity(session: Session, world: PopulationSeed) -> None:
    p = first(world, relation_to_head="spouse", date_of_death=None)
    dob = date.fromisoformat(p["date_of_birth"])
    assert service.verify_identity(session, p["personal_id"], p["full_name"], dob) == {
        "match": True,
        "alive": True,
    }
    assert service.verify_identity(session, p["personal_id"], "Ai Đó", dob) == {"match": False}
    dead = first_deceased(world)
    assert service.verify_identity(
        session, dead["personal_id"], dead["full_name"], date.fromisoformat(dead["date_of_birth"])
    ) == {"match": True, "alive": False}


def test_every_relation_and_status_in_the_data_is_documented(world: PopulationSeed) -> None:
    data = rows(world)
    assert {r["relation_to_head"] for r in data} <= set(service.RELATIONS)
    assert {r["marital_status"] for r in data} <= set(service.MARITAL_STATUSES)
