"""Invariants of the seeded world, across the three registries, and the seed commands.

The world is generated once per session the way ``stack.seed`` does it (one
``random.Random`` per registry, the fixed ``SEED_TODAY``); tests only read it.
"""

from __future__ import annotations

import random
import sqlite3
from collections import Counter, defaultdict
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import typer

from core.db import database_is_empty, make_engine, reset_database
from core.ids.enterprise import is_enterprise_code
from core.ids.personal import parse_personal_id
from core.ids.units import LEGACY_TO_CURRENT, commune
from registries.business import seed as business
from registries.land import seed as land
from registries.population import seed as population
from registries.population.models import PERSON_COLUMNS
from stack import seed as orchestrator
from stack import seed_state
from stack.seed import SEED_TODAY
from tests.fixtures.postgres import PostgresUrlFactory

N = 4000


@dataclass
class World:
    pop: population.PopulationSeed
    biz: business.BusinessSeed
    land: land.LandSeed

    def persons(self) -> dict[str, dict[str, Any]]:
        return {r[0]: dict(zip(PERSON_COLUMNS, r, strict=True)) for r in self.pop.persons}


def make_world(seed: int) -> World:
    pop = population.generate(random.Random(f"{seed}:population"), N, today=SEED_TODAY)
    biz = business.generate(random.Random(f"{seed}:business"), pop.people, today=SEED_TODAY)
    parcels = land.generate(
        random.Random(f"{seed}:land"), pop.people, biz.enterprises, today=SEED_TODAY
    )
    return World(pop, biz, parcels)


@pytest.fixture(scope="session")
def world() -> World:
    return make_world(749)


@pytest.fixture(scope="session")
def persons(world: World) -> dict[str, dict[str, Any]]:
    return world.persons()


def column(seed: Any, table: str, *names: str) -> Iterator[tuple[Any, ...]]:
    """The values of ``names`` in every row of ``table`` of a registry seed."""
    for t, rows in seed.tables():
        if t.name == table:
            keys = list(t.columns.keys())
            idx = [keys.index(n) for n in names]
            for r in rows:
                yield tuple(r[i] for i in idx)
            return
    raise LookupError(table)


def years(later: str | date, earlier: str | date) -> float:
    a = date.fromisoformat(later) if isinstance(later, str) else later
    b = date.fromisoformat(earlier) if isinstance(earlier, str) else earlier
    return (a - b).days / 365.2425


# -- determinism -------------------------------------------------------------------------------


def test_same_seed_gives_identical_rows(world: World) -> None:
    again = make_world(749)
    assert again.pop.persons == world.pop.persons
    assert again.pop.households == world.pop.households
    assert [r for _, r in again.biz.tables()] == [r for _, r in world.biz.tables()]
    assert [r for _, r in again.land.tables()] == [r for _, r in world.land.tables()]


def test_different_seed_gives_different_people(world: World) -> None:
    other = population.generate(random.Random("750:population"), N, today=SEED_TODAY)
    assert len(other.persons) == N
    assert {r[0] for r in other.persons} != {r[0] for r in world.pop.persons}
    assert [r[1] for r in other.persons[:50]] != [r[1] for r in world.pop.persons[:50]]


# -- persons -----------------------------------------------------------------------------------


def test_exactly_the_persons_asked_for_with_unique_ids(world: World) -> None:
    ids = [r[0] for r in world.pop.persons]
    assert len(ids) == N == len(set(ids)) == len(world.pop.people)


def test_personal_ids_are_valid_and_agree_with_birth_date_sex_and_place(
    persons: dict[str, dict[str, Any]],
) -> None:
    for pid, p in persons.items():
        parsed = parse_personal_id(pid)
        assert parsed.matches(date.fromisoformat(p["date_of_birth"]), p["sex"]), p
        assert parsed.province == p["birth_province"]


def test_dates_are_plausible(persons: dict[str, dict[str, Any]]) -> None:
    for p in persons.values():
        assert "1900-01-01" < p["date_of_birth"] < SEED_TODAY.isoformat()
        if p["date_of_death"] is not None:
            assert p["date_of_birth"] < p["date_of_death"] < SEED_TODAY.isoformat()


def test_units_are_real_communes(persons: dict[str, dict[str, Any]]) -> None:
    for code in {
        p[k]
        for p in persons.values()
        for k in ("hometown_commune", "permanent_commune", "current_commune")
    }:
        assert commune(code).code == code


def test_people_mostly_live_where_they_were_born_and_some_moved(
    persons: dict[str, dict[str, Any]],
) -> None:
    home = sum(
        commune(p["permanent_commune"]).province_code == LEGACY_TO_CURRENT[p["birth_province"]]
        for p in persons.values()
    )
    assert 0.65 * N < home < 0.95 * N
    elsewhere = sum(p["current_commune"] != p["permanent_commune"] for p in persons.values())
    assert elsewhere > 0.01 * N


def test_names_and_ethnic_groups_have_realistic_frequencies(
    persons: dict[str, dict[str, Any]],
) -> None:
    ethnic = Counter(p["ethnicity"] for p in persons.values())
    assert 0.78 * N < ethnic["Kinh"] < 0.92 * N
    assert len(ethnic) >= 10
    kinh = Counter(p["full_name"].split()[0] for p in persons.values() if p["ethnicity"] == "Kinh")
    (top, count), *_ = kinh.most_common()
    assert top == "Nguyễn"
    assert 0.28 < count / ethnic["Kinh"] < 0.48
    women = [p for p in persons.values() if p["sex"] == "female" and p["ethnicity"] == "Kinh"]
    assert sum(" Thị " in p["full_name"] for p in women) > 0.3 * len(women)
    assert not any(" Thị " in p["full_name"] for p in persons.values() if p["sex"] == "male")


def test_person_refs_agree_with_the_rows(world: World, persons: dict[str, Any]) -> None:
    for ref in world.pop.people:
        p = persons[ref.personal_id]
        assert (ref.full_name, ref.sex, ref.household_id, ref.spouse_id) == (
            p["full_name"],
            p["sex"],
            p["household_id"],
            p["spouse_id"],
        )
        assert ref.date_of_birth.isoformat() == p["date_of_birth"]
        assert ref.alive == (p["date_of_death"] is None)
        assert ref.residence_commune == p["permanent_commune"]


# -- households and families -------------------------------------------------------------------


def test_every_household_has_one_living_adult_head(
    world: World, persons: dict[str, dict[str, Any]]
) -> None:
    members: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for p in persons.values():
        members[p["household_id"]].append(p)
    households = {h[0]: h for h in world.pop.households}
    assert set(members) == set(households)  # everyone in a household, no empty household
    for hid, people in members.items():
        heads = [p for p in people if p["relation_to_head"] == "head"]
        assert len(heads) == 1, hid
        head = heads[0]
        assert households[hid][1] == head["personal_id"]
        assert head["date_of_death"] is None
        assert years(SEED_TODAY, head["date_of_birth"]) >= 18
        assert all(p["permanent_commune"] == households[hid][3] for p in people)


def test_relations_to_head_are_true(persons: dict[str, dict[str, Any]]) -> None:
    heads = {p["household_id"]: p for p in persons.values() if p["relation_to_head"] == "head"}
    for p in persons.values():
        head = heads[p["household_id"]]
        rel = p["relation_to_head"]
        parents = {p["father_id"], p["mother_id"]}
        if rel == "spouse":
            assert head["spouse_id"] == p["personal_id"]
        elif rel == "child":
            assert head["personal_id"] in parents
        elif rel == "parent":
            assert p["personal_id"] in {head["father_id"], head["mother_id"]}
        elif rel == "parent_in_law":
            spouse = persons[head["spouse_id"]]
            assert p["personal_id"] in {spouse["father_id"], spouse["mother_id"]}
        elif rel == "child_in_law":
            assert persons[p["spouse_id"]]["relation_to_head"] == "child"
        elif rel == "grandchild":
            assert any(
                persons[x]["relation_to_head"] in ("child", "child_in_law")
                for x in parents
                if x is not None
            )
        else:
            assert rel == "head"
    kinds = Counter(p["relation_to_head"] for p in persons.values())
    assert {"head", "spouse", "child", "parent", "grandchild"} <= set(kinds)


def test_spouses_are_symmetric_opposite_sex_and_marital_status_fits(
    persons: dict[str, dict[str, Any]],
) -> None:
    for p in persons.values():
        status, spouse_id = p["marital_status"], p["spouse_id"]
        if status in ("single", "divorced"):
            assert spouse_id is None
            continue
        spouse = persons[spouse_id]
        assert spouse["spouse_id"] == p["personal_id"]
        assert spouse["sex"] != p["sex"]
        assert spouse["household_id"] == p["household_id"]
        mine, theirs = p["date_of_death"], spouse["date_of_death"]
        if status == "widowed":
            # the spouse died first; the widow(er) is alive or died later
            assert theirs is not None and (mine is None or theirs < mine)
        else:
            assert status == "married"
            # married until death: the spouse is alive, or outlived this person
            assert theirs is None or (mine is not None and mine <= theirs)
    statuses = Counter(p["marital_status"] for p in persons.values())
    assert set(statuses) == {"single", "married", "divorced", "widowed"}


def test_parents_are_of_the_right_sex_and_age(persons: dict[str, dict[str, Any]]) -> None:
    with_parents = 0
    for p in persons.values():
        father, mother = p["father_id"], p["mother_id"]
        if father is not None:
            f = persons[father]
            assert f["sex"] == "male"
            assert years(p["date_of_birth"], f["date_of_birth"]) >= 16
            if p["ethnicity"] == "Kinh" and f["ethnicity"] == "Kinh":
                assert p["full_name"].split()[0] == f["full_name"].split()[0]
        if mother is not None:
            m = persons[mother]
            assert m["sex"] == "female"
            assert 18 <= years(p["date_of_birth"], m["date_of_birth"]) <= 45
        with_parents += father is not None or mother is not None
    assert with_parents > 0.3 * N


def test_some_people_have_died_and_their_spouses_are_widowed(
    persons: dict[str, dict[str, Any]],
) -> None:
    dead = [p for p in persons.values() if p["date_of_death"] is not None]
    assert 0.01 * N < len(dead) < 0.15 * N
    widowed = [p for p in persons.values() if p["marital_status"] == "widowed"]
    assert widowed
    assert all(persons[p["spouse_id"]]["date_of_death"] for p in widowed)
    # not only one spouse of a couple dies: children and whole elderly couples too
    assert any(p["father_id"] and p["relation_to_head"] in ("child", "grandchild") for p in dead)
    assert any(p["marital_status"] == "widowed" for p in dead)


# -- across registries -------------------------------------------------------------------------


def test_everyone_named_in_business_and_land_exists_in_population(
    world: World, persons: dict[str, Any]
) -> None:
    named = {pid for (pid,) in column(world.biz, "legal_representatives", "personal_id")}
    named |= {
        oid
        for oid, kind in column(world.biz, "enterprise_owners", "owner_id", "owner_kind")
        if kind == "person"
    }
    named |= {oid for (oid,) in column(world.biz, "household_businesses", "owner_id")}
    assert named and named <= set(persons)
    codes = {e.code for e in world.biz.enterprises}
    holders = list(column(world.land, "land_rights_holder", "holder_kind", "holder_id"))
    assert {h for k, h in holders if k == "person"} <= set(persons)
    assert {h for k, h in holders if k != "person"} <= codes


def test_legal_representatives_of_active_enterprises_are_living_adults(
    world: World, persons: dict[str, Any]
) -> None:
    founded = {e.code: e.founded_on for e in world.biz.enterprises}
    active = {e.code for e in world.biz.enterprises if e.status == "active"}
    checked = 0
    for code, pid in column(world.biz, "legal_representatives", "enterprise_code", "personal_id"):
        if code in active:
            p = persons[pid]
            assert p["date_of_death"] is None
            assert years(founded[code], p["date_of_birth"]) >= 18
            checked += 1
    assert checked > 0


def test_enterprise_codes_are_valid_and_some_enterprises_are_dissolved(world: World) -> None:
    assert all(is_enterprise_code(e.code) for e in world.biz.enterprises)
    assert business.DEV_BANK_CODE in {e.code for e in world.biz.enterprises}
    statuses = Counter(e.status for e in world.biz.enterprises)
    assert statuses["active"] > 0 and statuses["dissolved"] > 0


def test_some_parcels_are_mortgaged_to_banks_of_the_business_register(world: World) -> None:
    banks = {e.code for e in world.biz.enterprises if e.main_industry == "6419"}
    mortgages = [
        creditor
        for kind, creditor in column(world.land, "land_encumbrance", "kind", "creditor_code")
        if kind == "mortgage"
    ]
    assert mortgages
    assert set(mortgages) <= banks


# -- the commands ------------------------------------------------------------------------------


def _count(db: Path, table: str) -> int:
    with sqlite3.connect(db) as conn:
        n: int = conn.execute(f"SELECT count(*) FROM {table}").fetchone()[0]  # noqa: S608
    return n


def test_seed_command_fills_the_three_databases_and_prints_a_summary(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    orchestrator.seed_command(persons=300, seed=1, var_dir=tmp_path, force=False)
    out = capsys.readouterr().out
    assert _count(tmp_path / "db" / "population.sqlite3", "person") == 300
    assert _count(tmp_path / "db" / "business.sqlite3", "enterprises") > 0
    assert _count(tmp_path / "db" / "land.sqlite3", "land_parcel") > 0
    assert "persons/s" in out and business.DEV_BANK_CODE in out
    with sqlite3.connect(tmp_path / "db" / "population.sqlite3") as conn:
        assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"


def test_seed_command_refuses_to_overwrite_without_force(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    orchestrator.seed_command(persons=200, seed=1, var_dir=tmp_path, force=False)
    capsys.readouterr()
    with pytest.raises(typer.Exit) as exit_info:
        orchestrator.seed_command(persons=300, seed=1, var_dir=tmp_path, force=False)
    assert exit_info.value.exit_code == 1
    message = capsys.readouterr().out
    assert message.splitlines() == [
        "error: the population, business, land databases already hold data (complete: "
        "seed 1, 200 persons); run `lienthong seed --force` to replace them"
    ]
    assert _count(tmp_path / "db" / "population.sqlite3", "person") == 200
    orchestrator.seed_command(persons=300, seed=1, var_dir=tmp_path, force=True)
    assert _count(tmp_path / "db" / "population.sqlite3", "person") == 300


def test_ensure_seeded_seeds_only_what_is_empty(tmp_path: Path) -> None:
    assert orchestrator.ensure_seeded(tmp_path, 250, seed=3) is True
    assert orchestrator.ensure_seeded(tmp_path, 250, seed=3) is False
    db = tmp_path / "db"
    before = _count(db / "land.sqlite3", "land_parcel")
    (db / "land.sqlite3").unlink()
    assert orchestrator.ensure_seeded(tmp_path, 999, seed=3) is True
    assert _count(db / "population.sqlite3", "person") == 250  # kept, not regenerated
    assert _count(db / "land.sqlite3", "land_parcel") == before  # same seed, same people


def test_ensure_seeded_reseeds_what_depends_on_an_empty_registry(tmp_path: Path) -> None:
    assert orchestrator.ensure_seeded(tmp_path, 200, seed=3) is True
    db = tmp_path / "db"
    (db / "business.sqlite3").unlink()
    (db / "land.sqlite3").write_bytes(b"")  # stale land would name vanished enterprises
    with sqlite3.connect(db / "land.sqlite3") as conn:
        conn.execute("CREATE TABLE marker (x)")
        conn.execute("INSERT INTO marker VALUES (1)")
    assert orchestrator.ensure_seeded(tmp_path, 200, seed=3) is True
    with sqlite3.connect(db / "land.sqlite3") as conn:
        tables = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")}
    assert "marker" not in tables and "land_parcel" in tables
    assert _count(db / "business.sqlite3", "enterprises") > 0


def _interrupt(db: Path) -> None:
    """Make ``db`` look like a seed stopped mid-write: rows, but no completion row."""
    with sqlite3.connect(db) as conn:
        conn.execute("DROP TABLE lienthong_seed")


def _dump(db: Path) -> list[str]:
    """Every row of ``db`` but the completion row (its time differs from run to run)."""
    with sqlite3.connect(db) as conn:
        return [line for line in conn.iterdump() if "lienthong_seed" not in line]


def test_a_finished_seed_records_its_seed_and_persons_in_each_database(tmp_path: Path) -> None:
    before = datetime.now(UTC).replace(microsecond=0)
    assert orchestrator.ensure_seeded(tmp_path, 120, seed=4) is True
    for name, url in orchestrator.database_urls(tmp_path).items():
        stamp = seed_state.seed_stamp(url)
        assert stamp is not None, name
        assert (stamp.seed, stamp.persons) == (4, 120)
        finished = datetime.fromisoformat(stamp.finished_at)
        assert finished.utcoffset() == timedelta(0)
        assert before <= finished <= datetime.now(UTC)
    assert seed_state.seed_stamp(f"sqlite:///{tmp_path}/nothing.sqlite3") is None


def test_ensure_seeded_replaces_a_database_whose_seed_never_finished(
    tmp_path: Path,
) -> None:
    assert orchestrator.ensure_seeded(tmp_path, 150, seed=3) is True
    db = tmp_path / "db"
    full = _count(db / "land.sqlite3", "land_certificate")
    _interrupt(db / "land.sqlite3")
    with sqlite3.connect(db / "land.sqlite3") as conn:
        conn.execute("DELETE FROM land_certificate")  # stopped before the certificates
    assert not database_is_empty(orchestrator.database_urls(tmp_path)["land"])

    assert orchestrator.ensure_seeded(tmp_path, 150, seed=3) is True
    assert _count(db / "land.sqlite3", "land_certificate") == full
    assert orchestrator.ensure_seeded(tmp_path, 150, seed=3) is False


def test_seed_refusal_tells_complete_data_from_a_partial_leftover(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    orchestrator.seed_command(persons=100, seed=2, var_dir=tmp_path, force=False)
    _interrupt(tmp_path / "db" / "land.sqlite3")
    capsys.readouterr()
    with pytest.raises(typer.Exit) as refused:
        orchestrator.seed_command(persons=100, seed=2, var_dir=tmp_path, force=False)
    assert refused.value.exit_code == 1
    assert capsys.readouterr().out.splitlines() == [
        "error: the population, business databases already hold data (complete: seed 2, "
        "100 persons) and the land database already holds data (a partial leftover of an "
        "interrupted seed); run `lienthong seed --force` to replace them"
    ]


def test_reseeding_land_uses_the_seed_and_persons_of_the_kept_registries(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert orchestrator.ensure_seeded(tmp_path, 250, seed=3) is True
    land_db = tmp_path / "db" / "land.sqlite3"
    original = _dump(land_db)
    land_db.unlink()
    capsys.readouterr()

    # What `up` asks for: the default seed and person count, not those of the kept data.
    assert orchestrator.ensure_seeded(tmp_path, 20_000) is True

    assert _dump(land_db) == original  # the same enterprises, banks and people as before
    stamp = seed_state.seed_stamp(orchestrator.database_urls(tmp_path)["land"])
    assert stamp is not None and (stamp.seed, stamp.persons) == (3, 250)
    err = capsys.readouterr().err
    assert "seeding land (250 persons, seed 3, those of the kept population, business)" in err
    assert "20,000" not in err


def test_kept_registries_from_different_seeds_are_refused(tmp_path: Path) -> None:
    assert orchestrator.ensure_seeded(tmp_path, 120, seed=3) is True
    with sqlite3.connect(tmp_path / "db" / "business.sqlite3") as conn:  # another seed
        conn.execute("UPDATE lienthong_seed SET seed = 8")
    (tmp_path / "db" / "land.sqlite3").unlink()
    with pytest.raises(seed_state.SeedError) as refused:
        orchestrator.ensure_seeded(tmp_path, 120, seed=3)
    assert str(refused.value) == (
        "the kept databases come from different seeds (population seed 3 with 120 persons, "
        "business seed 8 with 120 persons); run `lienthong seed --force` to reseed all three"
    )
    assert not (tmp_path / "db" / "land.sqlite3").exists()


def test_seed_force_replaces_a_database_that_cannot_be_read(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "db").mkdir()
    (tmp_path / "db" / "population.sqlite3").write_bytes(b"garbage" * 1000)
    with pytest.raises(typer.Exit):
        orchestrator.seed_command(persons=50, seed=1, var_dir=tmp_path, force=False)
    line = capsys.readouterr().out.strip()
    assert line == (
        f"error: cannot read the population database {tmp_path / 'db' / 'population.sqlite3'}: "
        "file is not a database; run `lienthong seed --force` to replace it"
    )
    orchestrator.seed_command(persons=50, seed=1, var_dir=tmp_path, force=True)
    assert _count(tmp_path / "db" / "population.sqlite3", "person") == 50


def test_cli_seed_refusal_is_a_one_line_error_with_exit_code_1(tmp_path: Path) -> None:
    from typer.testing import CliRunner

    from stack.cli import app

    runner = CliRunner()
    args = ["seed", "--persons", "100", "--var-dir", str(tmp_path)]
    assert runner.invoke(app, args).exit_code == 0
    again = runner.invoke(app, args)
    assert again.exit_code == 1
    assert again.output.strip().startswith("error:") and "--force" in again.output
    assert "\n" not in again.output.strip()
    assert runner.invoke(app, [*args, "--force"]).exit_code == 0


def test_parallel_and_sequential_seeds_write_the_same_rows(tmp_path: Path) -> None:
    from rich.console import Console

    dumps = []
    for parallel in (False, True):
        folder = tmp_path / str(parallel)
        urls = {n: f"sqlite:///{folder}/{n}.sqlite3" for n in orchestrator.REGISTRIES}
        orchestrator.run_seed(
            urls, persons=300, seed=5, console=Console(quiet=True), parallel=parallel
        )
        # Every row but the completion row, whose time may differ by a second.
        dumps.append({n: _dump(folder / f"{n}.sqlite3") for n in orchestrator.REGISTRIES})
    assert dumps[0] == dumps[1]


@pytest.mark.parametrize("parallel", [False, True], ids=["sequential", "forked"])
def test_failed_seed_leaves_no_half_written_database(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, parallel: bool
) -> None:
    from rich.console import Console

    def broken(*_args: Any, **_kwargs: Any) -> Any:
        raise RuntimeError("generator failed")

    monkeypatch.setattr(land, "generate", broken)
    urls = {n: f"sqlite:///{tmp_path}/{n}.sqlite3" for n in orchestrator.REGISTRIES}
    with pytest.raises(RuntimeError, match="generator failed"):
        orchestrator.run_seed(
            urls, persons=100, seed=1, console=Console(quiet=True), parallel=parallel
        )
    assert not list(tmp_path.glob("*.sqlite3*"))


@pytest.mark.postgres
def test_seed_on_postgresql_by_url_and_reset_drops_the_tables(
    postgres_url: PostgresUrlFactory,
) -> None:
    from rich.console import Console

    urls = {name: postgres_url() for name in orchestrator.REGISTRIES}
    assert all(database_is_empty(url) for url in urls.values())
    orchestrator.run_seed(urls, persons=150, seed=2, console=Console(quiet=True))
    assert not any(database_is_empty(url) for url in urls.values())
    engine = make_engine(urls["population"])
    assert len(population.load_people(engine)) == 150
    engine.dispose()
    reset_database(urls["land"])
    assert database_is_empty(urls["land"])
    assert not database_is_empty(urls["population"])
