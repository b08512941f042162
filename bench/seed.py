"""Seed benchmark: how fast ``lienthong seed`` builds the three registries.

Runs the real command (``python -m stack seed``) into a throwaway folder, so the figure is what
an operator sees, start-up and all. CPU time of the child is reported next to wall time.
"""

from __future__ import annotations

import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any


def run(persons: int, seed: int = 749) -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix="lienthong-bench-seed-") as tmp:
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        started = time.perf_counter()
        subprocess.run(
            [
                sys.executable,
                "-m",
                "stack",
                "seed",
                "--persons",
                str(persons),
                "--seed",
                str(seed),
                "--var-dir",
                tmp,
            ],
            check=True,
            stdout=subprocess.DEVNULL,
        )
        wall = time.perf_counter() - started
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        sizes = {p.name: p.stat().st_size for p in sorted((Path(tmp) / "db").glob("*.sqlite3"))}
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return {
        "persons": persons,
        "seconds": round(wall, 2),
        "persons_per_s": round(persons / wall, 1),
        "cpu_s": round(cpu, 2),
        "database_bytes": sizes,
        "target_seconds_per_million": 180,
        "meets_target": wall * 1_000_000 / persons <= 180,
    }
