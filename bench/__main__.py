"""``python -m bench`` — run benchmarks and write bench/results/<timestamp>.json.

Today: the seed benchmark (1,000,000 persons by default). The gateway, log, audit and proof
scenarios arrive with the issues that build those parts; each adds its scenario here.
"""

from __future__ import annotations

import json
import shutil
import time
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from bench import machine
from bench import seed as seed_bench

RESULTS = Path(__file__).parent / "results"

app = typer.Typer(add_completion=False, pretty_exceptions_enable=False)


@app.command()
def main(
    persons: Annotated[int, typer.Option(help="Persons to seed.")] = 1_000_000,
    runs: Annotated[int, typer.Option(min=1, help="Runs; the median is reported.")] = 1,
) -> None:
    """Run the benchmarks and record the results."""
    console = Console()
    started = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
    console.print(f"seeding {persons:,} persons x{runs} (a throwaway folder each run)…")
    seed_runs = [seed_bench.run(persons) for _ in range(runs)]
    seed_runs.sort(key=lambda r: r["seconds"])
    median = seed_runs[len(seed_runs) // 2]

    result = {
        "started": started,
        "machine": machine.describe(),
        "seed": {**median, "runs": seed_runs},
        "seed_persons_per_s": median["persons_per_s"],
    }
    RESULTS.mkdir(exist_ok=True)
    out = RESULTS / f"{time.strftime('%Y%m%dT%H%M%S', time.gmtime())}.json"
    out.write_text(json.dumps(result, indent=2) + "\n")
    shutil.copyfile(out, RESULTS / "latest.json")

    table = Table(title="lienthong benchmarks")
    for col in ("scenario", "figure", "target", "met"):
        table.add_column(col)
    table.add_row(
        "seed",
        f"{median['persons']:,} persons in {median['seconds']} s "
        f"({median['persons_per_s']:,.0f}/s, {median['cpu_s']} s CPU)",
        "1M persons ≤ 180 s",
        "yes" if median["meets_target"] else "NO",
    )
    console.print(table)
    console.print(f"written {out} and {RESULTS / 'latest.json'}")


if __name__ == "__main__":
    app()
