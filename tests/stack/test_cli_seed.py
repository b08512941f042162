"""``lienthong seed`` from the command line: refusing, forcing, and seeding only if empty."""

from __future__ import annotations

from pathlib import Path

from typer.testing import CliRunner

from stack.cli import app

runner = CliRunner()


def _seed(*args: str) -> tuple[int, str]:
    result = runner.invoke(app, ["seed", "--persons", "60", *args])
    return result.exit_code, result.output


def test_if_empty_seeds_once_then_leaves_the_data_alone(tmp_path: Path) -> None:
    code, out = _seed("--var-dir", str(tmp_path), "--if-empty")
    assert code == 0 and out.strip().splitlines()[-1] == "seeded"
    db = tmp_path / "db" / "population.sqlite3"
    before = db.stat().st_mtime_ns
    code, out = _seed("--var-dir", str(tmp_path), "--if-empty")
    assert code == 0 and "already seeded" in out
    assert db.stat().st_mtime_ns == before


def test_seeding_over_existing_data_is_refused_without_force(tmp_path: Path) -> None:
    assert _seed("--var-dir", str(tmp_path))[0] == 0
    code, out = _seed("--var-dir", str(tmp_path))
    assert code == 1
    assert "--force" in out
    assert _seed("--var-dir", str(tmp_path), "--force")[0] == 0


def test_force_and_if_empty_together_are_a_usage_error(tmp_path: Path) -> None:
    code, out = _seed("--var-dir", str(tmp_path), "--force", "--if-empty")
    assert code == 2
    assert "contradict" in out


def test_seeding_a_var_dir_in_use_is_refused_in_one_line(tmp_path: Path) -> None:
    import os

    from stack.varlock import var_dir_lock

    with var_dir_lock(tmp_path):
        code, out = _seed("--var-dir", str(tmp_path), "--force")
    assert code == 1
    assert out.strip() == (
        f"error: {tmp_path}/ is in use by another lienthong up or seed (pid {os.getpid()}); "
        "stop it first"
    )
    assert not (tmp_path / "db").exists()
