"""What ``lienthong seed`` shows: a progress bar per stage, then rows and timings per table."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TaskID,
    TextColumn,
    TimeElapsedColumn,
)
from rich.table import Table as RichTable

Report = Callable[[str, int, int | None], None]  # (task, advance, total-or-None)


@dataclass
class Outcome:
    """What one registry's seeding did: rows per table and time spent."""

    name: str
    rows: dict[str, int] = field(default_factory=dict)
    generate_s: float = 0.0
    write_s: float = 0.0
    samples: dict[str, str] = field(default_factory=dict)


@contextmanager
def progress_bars(console: Console) -> Iterator[Report]:
    """A Rich progress bar per stage; ``report(task, advance, total)`` drives them."""
    bars = Progress(
        TextColumn("{task.description:<28}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=console,
        transient=False,
        # No refresh thread: the seed forks, and forking a threaded process is unsafe.
        auto_refresh=False,
    )
    tasks: dict[str, TaskID] = {}
    last_refresh = 0.0

    def report(task: str, advance: int, total: int | None) -> None:
        nonlocal last_refresh
        if task not in tasks:
            for name, tid in tasks.items():  # a new stage starts: the previous are done
                t = bars.tasks[tid]
                if not t.finished and name.split(":")[0] == task.split(":")[0]:
                    bars.update(tid, total=t.completed or 1, completed=t.completed or 1)
            tasks[task] = bars.add_task(task, total=total)
        elif total is not None:
            bars.update(tasks[task], total=total)
        if advance:
            bars.advance(tasks[task], advance)
        now = time.monotonic()
        if now - last_refresh > 0.1:
            bars.refresh()
            last_refresh = now

    with bars:
        yield report
        for tid in tasks.values():
            t = bars.tasks[tid]
            if not t.finished:
                bars.update(tid, total=t.completed or 1, completed=t.completed or 1)
        bars.refresh()


def print_summary(console: Console, outcomes: list[Outcome], persons: int, seconds: float) -> None:
    """Rows per table and timings, then a few ids worth trying against the API."""
    table = RichTable(title=f"Seeded in {seconds:.1f} s ({persons / seconds:,.0f} persons/s)")
    for col in ("registry", "table", "rows", "generate s", "write s"):
        table.add_column(col, justify="right" if col not in ("registry", "table") else "left")
    for o in outcomes:
        for i, (name, count) in enumerate(o.rows.items()):
            first = i == 0
            table.add_row(
                o.name if first else "",
                name,
                f"{count:,}",
                f"{o.generate_s:.1f}" if first else "",
                f"{o.write_s:.1f}" if first else "",
            )
    console.print(table)
    samples = {k: v for o in outcomes for k, v in o.samples.items()}
    if samples:
        console.print("Try:")
        for label, value in samples.items():
            console.print(f"  {label:<16} {value}")
