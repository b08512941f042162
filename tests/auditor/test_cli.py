"""``lienthong audit``: the commands an auditor runs, over real mutual TLS.

The tamper tests (test_tamper.py) run ``verify`` against broken logs; these cover the rest:
the bundle command end to end, which identity the client presents, and what happens when a
check cannot run at all (exit status 2, not 1: nothing was found wrong).
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

from typer.testing import CliRunner, Result

from auditor.cli import app
from tests.auditor.conftest import AUDITOR, Pinned, serve_tls
from tests.auditor.fakelog import FakeLog, log_app
from tests.fixtures.pki import PkiFiles
from tests.stack.procs import free_ports


def audit(*args: str) -> Result:
    return CliRunner().invoke(app, list(args))


def test_bundle_command_writes_a_bundle_that_checks_offline(
    served: str, pki_files: PkiFiles, pinned: Pinned, log: FakeLog, tmp_path: Path
) -> None:
    x_road_id = log.exchange()
    log.checkpoint()
    out = tmp_path / "evidence" / "exchange.json"
    pins = ["--pki", str(pki_files.root), "--log-key", str(pinned.log_key)]
    made = audit("bundle", x_road_id, "-o", str(out), "--url", served, *pins)
    assert made.exit_code == 0, made.output
    assert made.stdout.startswith(f"ok: {x_road_id}: accepted at index ")
    assert json.loads(out.read_text())["x_road_id"] == x_road_id
    checked = audit("check", str(out), *pins)
    assert checked.exit_code == 0, checked.output


def test_bundle_command_gives_up_on_an_exchange_without_checkpoint(
    served: str, pki_files: PkiFiles, pinned: Pinned, log: FakeLog, tmp_path: Path
) -> None:
    x_road_id = log.exchange()
    args = ["bundle", x_road_id, "-o", str(tmp_path / "b.json"), "--url", served, "--wait", "0"]
    result = audit(*args, "--pki", str(pki_files.root), "--log-key", str(pinned.log_key))
    assert result.exit_code == 1
    assert "is not under a checkpoint yet" in result.stderr
    assert not (tmp_path / "b.json").exists()


def test_unknown_exchange_is_an_api_error(
    served: str, pki_files: PkiFiles, pinned: Pinned, tmp_path: Path
) -> None:
    args = ["bundle", "no-such-id", "-o", str(tmp_path / "b.json"), "--url", served]
    result = audit(*args, "--pki", str(pki_files.root), "--log-key", str(pinned.log_key))
    assert result.exit_code == 2
    assert "client.exchange_not_found" in result.stderr


def test_only_the_auditor_identity_is_answered(
    log: FakeLog, pki_files: PkiFiles, pinned: Pinned
) -> None:
    api = log_app(log, auditor=pki_files.certificate(AUDITOR))
    with serve_tls(api, pki_files) as url:
        member = pki_files.member_paths("VN/GOV/UBND-HN/one-stop")
        args = ["verify", "--url", url, "--pki", str(pki_files.root)]
        args += ["--log-key", str(pinned.log_key), "--workers", "1"]
        result = audit(*args, "--cert", str(member[0]), "--key", str(member[1]))
    assert result.exit_code == 2
    assert "client.access_denied" in result.stderr


def test_unreachable_gateway_is_not_a_verdict(pki_files: PkiFiles, pinned: Pinned) -> None:
    (port,) = free_ports(1)
    args = ["verify", "--url", f"https://127.0.0.1:{port}", "--pki", str(pki_files.root)]
    result = audit(*args, "--log-key", str(pinned.log_key), "--workers", "1")
    assert result.exit_code == 2
    assert result.stderr.startswith("error: the auditor API failed: ")
    assert "cannot reach" in result.stderr


def test_missing_log_key_says_how_to_get_one(pki_files: PkiFiles, tmp_path: Path) -> None:
    pki = tmp_path / "pki"
    pki.mkdir()
    shutil.copyfile(pki_files.ca_path, pki / "ca.crt")
    result = audit("verify", "--pki", str(pki))
    assert result.exit_code == 2
    assert "no log key at" in result.stderr and "lienthong certs init" in result.stderr


def test_unusable_state_is_not_overwritten(
    served: str, pki_files: PkiFiles, pinned: Pinned, tmp_path: Path
) -> None:
    state = tmp_path / "state.json"
    state.write_text("{not json")
    args = ["verify", "--url", served, "--pki", str(pki_files.root), "--workers", "1"]
    result = audit(*args, "--log-key", str(pinned.log_key), "--state", str(state))
    assert result.exit_code == 2
    assert "is not an audit state" in result.stderr
    assert state.read_text() == "{not json"


def test_registered_as_lienthong_audit() -> None:
    """The line the lead adds to stack/cli.py works: the sub-app has the four commands."""
    import typer

    lienthong = typer.Typer()
    lienthong.add_typer(app, name="audit")

    @lienthong.callback()
    def main() -> None:
        """lienthong (test app)."""

    result = CliRunner().invoke(lienthong, ["audit", "--help"])
    assert result.exit_code == 0
    for command in ("verify", "bundle", "check", "extract"):
        assert command in result.stdout
