"""``lienthong seed``: realistic, cross-linked synthetic data in the three registries.

Population first (its ``PersonRef``s are the only people the other seeds may name), then
business (its ``EnterpriseRef``s, banks among them, are the only creditors and corporate
land users), then land. Each registry gets its own ``random.Random(f"{seed}:<name>")`` and
the fixed reference day ``SEED_TODAY``, so the same ``--seed`` gives the same rows on any
machine on any day, and changing one generator does not reshuffle the others.

Speed (the target is a million persons in three minutes on two cores): generators build
plain tuples; writers load them with ``executemany`` in primary-key order and build indexes
afterwards; a fresh SQLite file is loaded without journal or fsync (``journal_mode=OFF``,
``synchronous=OFF``) — safe because a failed seed deletes the file and starts over — and is
switched to WAL before the services open it. Once the population is generated, business
and land are generated and written in a forked child process while the parent writes the
population, so both cores work.

When is a database "seeded"? When its seed *finished*: the last thing written to each
database, after its rows and indexes, is a row of ``lienthong_seed`` (the seed, the
person count, the time). Any other database with rows is the leftover of a seed that was
stopped (a signal, a crash, a full disk): ``ensure_seeded`` replaces it, and ``seed``
without ``--force`` says which kind of data it refuses to overwrite. Seeding holds the
var dir's lock (``stack.varlock``), turns SIGTERM/SIGHUP into an exception so the partly
written databases are deleted, and its forked worker dies with it.
"""

from __future__ import annotations

import multiprocessing
import os
import random
import time
import traceback
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import date
from pathlib import Path
from typing import Any, NoReturn, Protocol

import typer
from rich.console import Console
from sqlalchemy import Engine, Table, event, text
from sqlalchemy.exc import DBAPIError

from core.db import database_is_empty, make_engine, reset_database, sqlite_path
from registries.population import seed as population
from registries.population.seed import PersonRef
from stack.process import Stopped, default_signals, die_with_parent, signals_raise
from stack.seed_report import Outcome, Report, print_summary, progress_bars
from stack.seed_state import SeedError, Stamp, read_database, seed_stamp, stamp_seeded
from stack.services import SERVICES
from stack.varlock import VarDirBusy, var_dir_lock

#: The reference day of every seed: data does not change from one day to the next.
SEED_TODAY = date(2026, 1, 1)
DEFAULT_SEED = 749
REGISTRIES = ("population", "business", "land")
#: Below this many persons the fork is not worth its start-up cost.
PARALLEL_FROM = 50_000
#: How long the forked worker may take to exit after SIGTERM before it is killed.
STOP_GRACE_S = 5.0


class _Seed(Protocol):
    """What every registry's seed object offers (``PopulationSeed``, ``BusinessSeed``, ...)."""

    def tables(self) -> list[tuple[Table, list[tuple[Any, ...]]]]: ...

    @property
    def row_count(self) -> int: ...


# -- the commands ------------------------------------------------------------------------------


def seed_command(*, persons: int, seed: int, var_dir: Path, force: bool) -> None:
    """``lienthong seed``: refuse to overwrite data unless ``force``; seed; print a summary."""
    console = Console()
    try:
        with var_dir_lock(var_dir):
            urls = database_urls(var_dir)
            refusal = None if force else _refusal(urls)
            if refusal is not None:
                raise SeedError(refusal)
            started = time.perf_counter()
            try:
                outcomes = run_seed(urls, persons=persons, seed=seed, console=console)
            except (KeyboardInterrupt, Stopped) as e:
                console.print("[red]interrupted:[/] the partly written databases were removed")
                raise typer.Exit(e.exit_code if isinstance(e, Stopped) else 130) from None
    except (SeedError, VarDirBusy, OSError, DBAPIError) as e:
        _exit_error(console, e)
    print_summary(console, outcomes, persons, time.perf_counter() - started)


def seed_if_empty_command(*, persons: int, seed: int, var_dir: Path) -> None:
    """``lienthong seed --if-empty``: ``ensure_seeded`` under the var dir's lock."""
    console = Console()
    try:
        with var_dir_lock(var_dir):
            seeded = ensure_seeded(var_dir, persons, seed)
    except (KeyboardInterrupt, Stopped) as e:
        console.print("[red]interrupted:[/] the partly written databases were removed")
        raise typer.Exit(e.exit_code if isinstance(e, Stopped) else 130) from None
    except (SeedError, VarDirBusy, OSError, DBAPIError) as e:
        _exit_error(console, e)
    typer.echo("seeded" if seeded else f"already seeded: {var_dir}")


def ensure_seeded(var_dir: Path, persons: int, seed: int = DEFAULT_SEED) -> bool:
    """Seed the databases under ``var_dir`` whose seed never finished; True if any was.

    The caller holds the var dir's lock. A database without the completion row is replaced
    even if it holds rows (the leftover of an interrupted seed). A registry is also
    reseeded when one it draws from is (business and land name the population's people;
    land names business's banks and enterprises), so links never dangle. The registries
    that are kept decide the world: their recorded seed and person count are used instead
    of ``persons`` and ``seed`` (the business register is regenerated in memory from them
    to give land its creditors), and kept registries made by different seeds are refused.
    """
    urls = database_urls(var_dir)
    stamps = {name: read_database(name, urls[name], seed_stamp) for name in REGISTRIES}
    missing = [name for name in REGISTRIES if stamps[name] is None]
    if not missing:
        return False
    first = REGISTRIES.index(missing[0])
    targets, kept = REGISTRIES[first:], REGISTRIES[:first]
    how = ""
    if kept:
        seed, persons = _kept_world({name: stamps[name] for name in kept})
        how = f", those of the kept {', '.join(kept)}"
    console = Console(stderr=True)
    console.print(f"seeding {', '.join(targets)} ({persons:,} persons, seed {seed}{how})")
    started = time.perf_counter()
    outcomes = run_seed(urls, persons=persons, seed=seed, console=console, only=set(targets))
    print_summary(console, outcomes, persons, time.perf_counter() - started)
    return True


def database_urls(var_dir: Path) -> dict[str, str]:
    """Each registry's database URL, from its settings (env vars may point elsewhere)."""
    return {name: SERVICES[name].settings(var_dir=var_dir).db_url for name in REGISTRIES}


def describe_failure(error: BaseException) -> str:
    """One line for a failure the user can fix: what went wrong, where, and what to do."""
    if isinstance(error, DBAPIError):
        return f"database error: {error.orig}; run `lienthong seed --force` to start over"
    if isinstance(error, OSError):
        where = f" {error.filename}" if error.filename else ""
        return (
            f"cannot use{where}: {error.strerror or error}; "
            "check the permissions of the var dir or pass --var-dir"
        )
    return str(error)


def _exit_error(console: Console, error: BaseException) -> NoReturn:
    console.print(f"[red]error:[/] {describe_failure(error)}", soft_wrap=True, highlight=False)
    raise typer.Exit(1) from None


def _refusal(urls: dict[str, str]) -> str | None:
    """Why ``seed`` without ``--force`` must not run here, or None when all are empty."""
    complete: dict[str, Stamp] = {}
    partial: list[str] = []
    for name in REGISTRIES:
        if read_database(name, urls[name], database_is_empty):
            continue
        stamp = read_database(name, urls[name], seed_stamp)
        if stamp is None:
            partial.append(name)
        else:
            complete[name] = stamp
    if not complete and not partial:
        return None
    parts = []
    if complete:
        worlds = sorted({f"seed {s.seed}, {s.persons:,} persons" for s in complete.values()})
        parts.append(f"{_the(list(complete))} already {_hold(complete)} data (complete: "
                     f"{'; '.join(worlds)})")  # fmt: skip
    if partial:
        parts.append(f"{_the(partial)} already {_hold(partial)} data (a partial leftover "
                     "of an interrupted seed)")  # fmt: skip
    return f"{' and '.join(parts)}; run `lienthong seed --force` to replace them"


def _the(names: list[str]) -> str:
    return f"the {', '.join(names)} database{'s' if len(names) > 1 else ''}"


def _hold(names: Any) -> str:
    return "hold" if len(names) > 1 else "holds"


def _kept_world(kept: dict[str, Stamp | None]) -> tuple[int, int]:
    """The (seed, persons) the kept registries were made with; refuse a mixed world."""
    worlds = {(s.seed, s.persons) for s in kept.values() if s is not None}
    if len(worlds) != 1:
        made = ", ".join(
            f"{name} seed {s.seed} with {s.persons:,} persons"
            for name, s in kept.items()
            if s is not None
        )
        raise SeedError(
            f"the kept databases come from different seeds ({made}); "
            "run `lienthong seed --force` to reseed all three"
        )
    return worlds.pop()


# -- seeding -----------------------------------------------------------------------------------


def run_seed(
    urls: dict[str, str],
    *,
    persons: int,
    seed: int,
    console: Console,
    only: set[str] | None = None,
    parallel: bool | None = None,
    today: date = SEED_TODAY,
) -> list[Outcome]:
    """Replace the databases named in ``only`` (default: all) with freshly seeded ones.

    On any failure the databases being seeded are deleted again, and so they are when
    SIGTERM or SIGHUP stops the seed (they raise ``Stopped`` here, as Ctrl-C raises
    ``KeyboardInterrupt``): no half-written database is left to look at. Each database
    gets its completion row (``stamp_seeded``) once its rows and indexes are in.
    """
    targets = set(REGISTRIES) if only is None else set(only)
    if parallel is None:
        parallel = persons >= PARALLEL_FROM and "fork" in multiprocessing.get_all_start_methods()
    with signals_raise():
        try:
            for name in targets:
                reset_database(urls[name])
            with progress_bars(console) as report:
                return _seed_all(urls, targets, persons, seed, today, report, parallel)
        except BaseException:
            for name in targets:
                reset_database(urls[name])
            raise


def _seed_all(
    urls: dict[str, str],
    targets: set[str],
    persons: int,
    seed: int,
    today: date,
    report: Report,
    parallel: bool,
) -> list[Outcome]:
    pop = Outcome("population")
    t0 = time.perf_counter()
    if "population" in targets:
        report("population: generate", 0, persons)
        done = 0

        def generated(n: int) -> None:
            nonlocal done
            report("population: generate", n - done, None)
            done = n

        world = population.generate(
            random.Random(f"{seed}:population"), persons, today=today, progress=generated
        )
        people = world.people
    else:
        world = None
        report("population: load existing", 0, None)
        with _engine(urls["population"], loading=False) as engine:
            people = population.load_people(engine)
    pop.generate_s = time.perf_counter() - t0
    pop.samples = _person_samples(people, today)

    others: set[str] = {name for name in ("business", "land") if name in targets}
    if world is None:
        return _other_registries(urls, others, people, seed, today, report)
    child: _Child | None = None

    def written(n: int) -> None:
        report("population: write", n, None)
        if child is not None:  # forward the other core's progress while we are at it
            child.poll(report)

    try:  # the child is started inside: a signal at any point after the fork stops it
        if parallel and others:
            child = _Child(urls, others, people, seed, today)
        report("population: write", 0, world.row_count)
        _write(urls["population"], world, population.write, pop, written, (seed, persons))
        if child is not None:
            return [pop, *child.join(report)]
    except BaseException:
        if child is not None:
            child.stop()
        raise
    return [pop, *_other_registries(urls, others, people, seed, today, report)]


def _other_registries(
    urls: dict[str, str],
    targets: set[str],
    people: list[PersonRef],
    seed: int,
    today: date,
    report: Report,
) -> list[Outcome]:
    """Generate (and write, for ``targets``) business then land for ``people``."""
    from registries.business import seed as business
    from registries.land import seed as land

    out: list[Outcome] = []
    if not targets:
        return out
    biz = Outcome("business")
    t0 = time.perf_counter()
    report("business: generate", 0, None)
    register = business.generate(random.Random(f"{seed}:business"), people, today=today)
    biz.generate_s = time.perf_counter() - t0
    active = [e for e in register.enterprises if e.status == "active" and e.main_industry != "6419"]
    biz.samples = {"enterprise code": (active or register.enterprises)[0].code}
    biz.samples["bank (KYC)"] = business.DEV_BANK_CODE
    if "business" in targets:
        report("business: write", 0, register.row_count)
        stage = _stage(report, "business: write")
        _write(urls["business"], register, business.write, biz, stage, (seed, len(people)))
        out.append(biz)
    if "land" in targets:
        parcels = Outcome("land")
        t0 = time.perf_counter()
        report("land: generate", 0, None)
        registry = land.generate(
            random.Random(f"{seed}:land"), people, register.enterprises, today=today
        )
        parcels.generate_s = time.perf_counter() - t0
        parcels.samples = _parcel_samples(registry)
        report("land: write", 0, registry.row_count)
        stage = _stage(report, "land: write")
        _write(urls["land"], registry, land.write, parcels, stage, (seed, len(people)))
        out.append(parcels)
    return out


def _stage(report: Report, task: str) -> Callable[[int], None]:
    """A ``progress(n)`` callback for the writers that advances ``task``."""
    return lambda n: report(task, n, None)


def _write(
    url: str,
    data: Any,
    write: Callable[..., None],
    outcome: Outcome,
    progress: Callable[[int], None],
    world: tuple[int, int],
) -> None:
    """Load one registry's seed with that registry's ``write``, then mark it finished.

    ``world`` is the (seed, persons) recorded in the completion row.
    """
    t0 = time.perf_counter()
    with _engine(url, loading=True) as engine:
        write(engine, data, progress=progress)
        stamp_seeded(engine, seed=world[0], persons=world[1])
    outcome.write_s = time.perf_counter() - t0
    outcome.rows = {table.name: len(rows) for table, rows in data.tables()}


# -- the second core ---------------------------------------------------------------------------


class _Child:
    """Business and land, generated and written in a forked process.

    Forking (not spawning) hands the child the million ``PersonRef``s without pickling
    them. Progress and the outcome come back over a queue. The child never outlives the
    parent: the parent's clean-up (on an exception, ``Stopped`` included) terminates and
    joins it before deleting the databases, and the kernel SIGTERMs it if the parent dies
    without cleaning up (SIGKILL), so no orphan keeps writing.
    """

    def __init__(
        self, urls: dict[str, str], targets: set[str], people: list[PersonRef], seed: int,
        today: date,
    ) -> None:  # fmt: skip
        ctx = multiprocessing.get_context("fork")
        self.queue: Any = ctx.Queue()
        self.result: list[Outcome] | None = None
        self.error: str | None = None
        self.process = ctx.Process(
            target=_child_main,
            args=(os.getpid(), self.queue, urls, targets, people, seed, today),
        )
        self.process.start()

    def poll(self, report: Report, timeout: float | None = None) -> None:
        """Forward what the child has reported so far (wait up to ``timeout`` for one)."""
        import queue as queue_module

        while True:
            try:
                kind, payload = (
                    self.queue.get(timeout=timeout) if timeout else self.queue.get_nowait()
                )
            except queue_module.Empty:
                return
            if kind == "progress":
                report(*payload)
            elif kind == "done":
                self.result = payload
            else:
                self.error = payload
            timeout = None

    def stop(self) -> None:
        """End the child (the parent failed): its half-written databases are deleted next."""
        if self.process.is_alive():
            self.process.terminate()
        self.process.join(timeout=STOP_GRACE_S)
        if self.process.is_alive():  # stuck flushing its queue, say: no more waiting
            self.process.kill()
            self.process.join()

    def join(self, report: Report) -> list[Outcome]:
        while self.result is None and self.error is None:
            self.poll(report, timeout=0.2)
            if not self.process.is_alive() and self.queue.empty():
                self.poll(report)
                if self.result is None and self.error is None:
                    self.error = f"exited with code {self.process.exitcode}"
        self.process.join()
        if self.result is None:
            raise RuntimeError(f"seeding business/land failed: {self.error}")
        return self.result


def _child_main(
    parent: int, queue: Any, urls: dict[str, str], targets: set[str], people: list[PersonRef],
    seed: int, today: date,
) -> None:  # fmt: skip
    # SIGTERM (from ``stop`` or the kernel when the parent dies) ends the child at once:
    # the parent deletes what it wrote, there is nothing for the child to clean up.
    default_signals()
    die_with_parent(parent)
    try:
        out = _other_registries(
            urls, targets, people, seed, today, lambda *a: queue.put(("progress", a))
        )
        queue.put(("done", out))
    except BaseException:
        queue.put(("error", traceback.format_exc()))
        raise


# -- databases ---------------------------------------------------------------------------------


@contextmanager
def _engine(url: str, *, loading: bool) -> Iterator[Engine]:
    """An engine for ``url``; ``loading`` = fresh SQLite file, no journal, no fsync."""
    path = sqlite_path(url)
    fast = loading and path is not None
    engine = make_engine(url, synchronous="OFF" if fast else "NORMAL")
    if fast:

        @event.listens_for(engine, "connect")
        def _no_journal(dbapi_conn: Any, _record: Any) -> None:
            dbapi_conn.execute("PRAGMA journal_mode=OFF")

    try:
        yield engine
    finally:
        engine.dispose()
    if fast:  # hand the services a WAL database, as make_engine would have made it
        normal = make_engine(url)
        with normal.connect() as conn:
            conn.execute(text("SELECT 1"))
        normal.dispose()


def _person_samples(people: list[PersonRef], today: date) -> dict[str, str]:
    """A living married adult (household, spouse: the interesting record) to try."""
    for p in people:
        if p.alive and p.spouse_id and 25 <= p.age_on(today) <= 60:
            return {"person": p.personal_id}
    return {"person": people[0].personal_id} if people else {}


def _parcel_samples(registry: _Seed) -> dict[str, str]:
    """A mortgaged parcel if there is one, else the first parcel."""
    for table, rows in registry.tables():
        if table.name.endswith("encumbrance") and rows and "parcel_id" in table.columns:
            index = list(table.columns.keys()).index("parcel_id")
            return {"mortgaged parcel": str(rows[0][index])}
    for table, rows in registry.tables():
        if "parcel_id" in table.columns and rows:
            return {"parcel": str(rows[0][list(table.columns.keys()).index("parcel_id")])}
    return {}
