"""The auditor verifies the log from public material only: it imports nothing of the gateway."""

from __future__ import annotations

import ast
from pathlib import Path

import auditor

PACKAGE = Path(auditor.__file__).resolve().parent


def imported_modules(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(), filename=str(path))
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module)
            found.update(f"{node.module}.{alias.name}" for alias in node.names)
    return found


def test_auditor_imports_nothing_from_the_gateway() -> None:
    files = sorted(PACKAGE.rglob("*.py"))
    assert len(files) >= 6
    offenders = {
        str(f.relative_to(PACKAGE.parent)): sorted(
            m for m in imported_modules(f) if m == "gateway" or m.startswith("gateway.")
        )
        for f in files
    }
    assert {f: m for f, m in offenders.items() if m} == {}


def test_the_scan_sees_imports_of_every_form(tmp_path: Path) -> None:
    sample = tmp_path / "sample.py"
    sample.write_text("import gateway.log\nfrom gateway import audit\nfrom gateway.x import y\n")
    assert {"gateway.log", "gateway", "gateway.audit", "gateway.x"} <= imported_modules(sample)
