"""``make bench`` / ``lienthong bench``: every scenario of issue 5, one JSON, one table.

Starts its own stack on 127.0.0.1 (``bench.stack``: ``lienthong up`` in a kept var dir with
``--persons`` people), runs each scenario after a warm-up, ``--runs`` times, and reports the
median run of each (every run is kept in the JSON). The exchange scenarios of one run share
one stack and run back to back, so ``ratio_gateway_direct`` compares like with like on a
shared machine. Results go to ``bench/results/<UTC timestamp>.json`` and
``bench/results/latest.json``; method and caveats are in ``bench/README.md``.
"""

from __future__ import annotations

import json
import shutil
import statistics
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.table import Table

from bench import evidence, exchange, machine
from bench import seed as seed_bench
from bench import stack as bench_stack

RESULTS = Path(__file__).parent / "results"
VAR_ROOT = Path("var") / "bench"
SCENARIOS = ("direct", "gateway", "latency", "log", "audit", "proofs", "seed")

#: (figure, target, whether it is met) for the table and the JSON, issue 5's numbers.
TARGETS: dict[str, tuple[str, Callable[[dict[str, Any]], bool]]] = {
    "gateway": (
        "≥ 1,500/s at 64 clients, p99 ≤ 50 ms, 0 errors",
        lambda s: s["rps"] >= 1500 and s["p99_ms"] <= 50 and s["errors"] == 0,
    ),
    "ratio_gateway_direct": ("≥ 0.5", lambda r: r["ratio_gateway_direct"] >= 0.5),
    "added_latency_p50_ms": ("≤ 2 ms", lambda r: r["added_latency_p50_ms"] <= 2),
    "log": ("≥ 20,000 durable appends/s", lambda s: s["rps"] >= 20_000),
    "audit": ("≥ 10,000 records/s", lambda s: s["rps"] >= 10_000),
    "proofs": ("p99 ≤ 5 ms at 1M entries", lambda s: s["p99_ms"] <= 5),
    "seed": ("1M persons ≤ 180 s", lambda s: s["seconds"] * 1_000_000 / s["persons"] <= 180),
}

app = typer.Typer(add_completion=False, pretty_exceptions_enable=False)


def median_run(runs: Sequence[dict[str, Any]], key: str = "rps") -> dict[str, Any]:
    """The run whose ``key`` is the median (the lower middle one for an even count)."""
    ordered = sorted(runs, key=lambda r: r[key])
    return {**ordered[(len(ordered) - 1) // 2], "runs": list(runs)}


def exchange_runs(
    persons: int, runs: int, requests: int, latency_requests: int, console: Console
) -> dict[str, Any]:
    """direct, gateway and latency, ``runs`` times on one stack."""
    per: dict[str, list[dict[str, Any]]] = {"direct": [], "gateway": [], "latency": []}
    with bench_stack.running(persons, VAR_ROOT) as st:
        ids = exchange.sample_ids(st.var_dir, requests + latency_requests + 2_000)
        warm = min(1_000, requests // 5)
        for i in range(runs):
            console.print(f"  run {i + 1}/{runs}: direct, gateway (64 clients), latency (1)…")
            d = exchange.direct(st, ids[:requests], concurrency=64, warmup=warm)
            g = exchange.through_gateway(st, ids[:requests], concurrency=64, warmup=warm)
            lat = ids[requests : requests + latency_requests]
            d1 = exchange.direct(st, lat, concurrency=1, warmup=100)
            g1 = exchange.through_gateway(st, lat, concurrency=1, warmup=100)
            per["direct"].append(d)
            per["gateway"].append({**g, "ratio_gateway_direct": round(g["rps"] / d["rps"], 3)})
            per["latency"].append(
                {
                    **g1,
                    "direct": d1,
                    "added_p50_ms": round(g1["p50_ms"] - d1["p50_ms"], 3),
                }
            )
    return {
        "direct": median_run(per["direct"]),
        "gateway": median_run(per["gateway"]),
        "latency": median_run(per["latency"], "added_p50_ms"),
    }


@app.command()
def main(
    persons: Annotated[int, typer.Option(help="Persons in the stack's registries.")] = 100_000,
    runs: Annotated[int, typer.Option(min=1, help="Runs of each scenario; medians reported.")] = 3,
    requests: Annotated[int, typer.Option(help="Lookups per run at 64 clients.")] = 8_000,
    latency_requests: Annotated[int, typer.Option(help="Lookups per run at 1 client.")] = 1_000,
    log_records: Annotated[int, typer.Option(help="Records in the audited log.")] = 1_000_000,
    seed_persons: Annotated[int, typer.Option(help="Persons for the seed scenario.")] = 1_000_000,
    only: Annotated[
        str, typer.Option(help=f"Comma-separated scenarios (default all): {','.join(SCENARIOS)}")
    ] = "",
) -> None:
    """Run the benchmarks and record the results."""
    console = Console()
    if not console.is_terminal:  # piped or logged: do not squeeze the table into 80 columns
        console = Console(width=160)
    chosen = [s.strip() for s in only.split(",") if s.strip()] or list(SCENARIOS)
    unknown = sorted(set(chosen) - set(SCENARIOS))
    if unknown:
        raise typer.BadParameter(f"unknown scenarios: {', '.join(unknown)}", param_hint="--only")
    started = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
    scenarios: dict[str, Any] = {}

    if {"direct", "gateway", "latency"} & set(chosen):
        console.print(f"exchanges: a stack with {persons:,} persons, {runs} run(s)…")
        for name, result in exchange_runs(
            persons, runs, requests, latency_requests, console
        ).items():
            if name in chosen:
                scenarios[name] = result
    if "log" in chosen:
        console.print("log: the sequencer alone…")
        scenarios["log"] = median_run(
            [_log_figures(evidence.log_scenario(var_root=VAR_ROOT)) for _ in range(runs)]
        )
    if {"audit", "proofs"} & set(chosen):
        console.print(f"audit, proofs: a gateway on a log of {log_records:,} records…")
        with evidence.evidence_gateway(records=log_records, var_root=VAR_ROOT) as gw:
            if "audit" in chosen:
                scenarios["audit"] = median_run(
                    [_audit_figures(evidence.audit_scenario(gw)) for _ in range(runs)]
                )
            if "proofs" in chosen:
                scenarios["proofs"] = median_run(
                    [_proof_figures(evidence.proofs_scenario(gw)) for _ in range(runs)], "p99_ms"
                )
    if "seed" in chosen:
        console.print(f"seed: {seed_persons:,} persons x{runs} (a throwaway folder each run)…")
        scenarios["seed"] = median_run(
            [_seed_figures(seed_bench.run(seed_persons)) for _ in range(runs)]
        )

    result = {"started": started, "machine": machine.describe(), "scenarios": scenarios}
    result.update(headline(scenarios))
    result["targets"] = verdicts(result)
    RESULTS.mkdir(exist_ok=True)
    out = RESULTS / f"{time.strftime('%Y%m%dT%H%M%S', time.gmtime())}.json"
    out.write_text(json.dumps(result, indent=2, ensure_ascii=False) + "\n")
    shutil.copyfile(out, RESULTS / "latest.json")
    console.print(render_table(result))
    console.print(f"written {out} and {RESULTS / 'latest.json'}")


def _log_figures(run: dict[str, Any]) -> dict[str, Any]:
    """The sequencer run in the scenario shape (rps = durable appends/s)."""
    return {
        **run,
        "rps": run["appends_per_s"],
        "errors": 0,
        "cpu_ms_per_req": {"sequencer": round(run["cpu_us_per_append"] / 1000, 4)},
    }


def _audit_figures(run: dict[str, Any]) -> dict[str, Any]:
    """The audit run in the scenario shape (rps = records verified per second)."""
    return {
        **run,
        "rps": run["records_per_s"],
        "errors": 0,
        "cpu_ms_per_req": {k: round(v / 1000, 4) for k, v in run["cpu_us_per_record"].items()},
    }


def _proof_figures(run: dict[str, Any]) -> dict[str, Any]:
    """The proofs run in the scenario shape: the one-client figures, 16 clients kept."""
    one = run["c1"]
    return {
        **run,
        **{k: one[k] for k in ("rps", "p50_ms", "p95_ms", "p99_ms", "errors")},
        "cpu_ms_per_req": one["cpu_ms_per_req"],
    }


def _seed_figures(run: dict[str, Any]) -> dict[str, Any]:
    """The seed run in the scenario shape (rps = persons/s; no latency; CPU per person)."""
    return {
        **run,
        "rps": run["persons_per_s"],
        "errors": 0,
        "cpu_ms_per_req": {"seed": round(run["cpu_s"] * 1000 / run["persons"], 4)},
    }


def headline(scenarios: dict[str, Any]) -> dict[str, Any]:
    """The top-level figures issue 5 names, from the median runs."""
    out: dict[str, Any] = {}
    if "gateway" in scenarios and "direct" in scenarios:
        ratios = [r["ratio_gateway_direct"] for r in scenarios["gateway"]["runs"]]
        out["ratio_gateway_direct"] = round(statistics.median(ratios), 3)
    if "latency" in scenarios:
        out["added_latency_p50_ms"] = scenarios["latency"]["added_p50_ms"]
    if "log" in scenarios:
        out["log_appends_per_s"] = scenarios["log"]["rps"]
    if "audit" in scenarios:
        out["audit_records_per_s"] = scenarios["audit"]["rps"]
    if "proofs" in scenarios:
        out["proof_p99_ms"] = scenarios["proofs"]["p99_ms"]
    if "seed" in scenarios:
        out["seed_persons_per_s"] = scenarios["seed"]["rps"]
    return out


def verdicts(result: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """Each target of issue 5 that this run measured: what it asks, and whether it is met."""
    out: dict[str, dict[str, Any]] = {}
    for name, (text, met) in TARGETS.items():
        if name in result["scenarios"]:
            out[name] = {"target": text, "met": met(result["scenarios"][name])}
        elif name in result:
            out[name] = {"target": text, "met": met(result)}
    return out


def render_table(result: dict[str, Any]) -> Table:
    m = result["machine"]
    table = Table(
        title=f"lienthong benchmarks — {m['cores']} cores, Python {m['python']}, "
        f"{result['started']}",
        title_justify="left",
    )
    for col in ("scenario", "req/s", "p50 ms", "p95 ms", "p99 ms", "errors", "CPU ms/req"):
        table.add_column(col, justify="left" if col in ("scenario", "CPU ms/req") else "right")
    for name, s in result["scenarios"].items():
        cpu = ", ".join(f"{k} {v:g}" for k, v in s.get("cpu_ms_per_req", {}).items())
        table.add_row(
            name,
            f"{s['rps']:,.0f}",
            *(f"{s[k]:.2f}" if k in s else "—" for k in ("p50_ms", "p95_ms", "p99_ms")),
            str(s.get("errors", 0)),
            cpu,
        )
    table.add_section()
    for name, v in result["targets"].items():
        value = result.get(name)
        shown = f"{value:g}" if isinstance(value, int | float) else ""
        table.add_row(
            f"target {name}", shown, "", "", "", "met" if v["met"] else "MISSED", v["target"]
        )
    return table


if __name__ == "__main__":
    app()
