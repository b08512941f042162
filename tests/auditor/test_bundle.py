"""Evidence bundles: made from the auditor API, checked offline, and checkable by hand with
exactly the openssl commands and the standalone program docs/audit.md gives."""

from __future__ import annotations

import base64
import copy
import datetime as dt
import json
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from auditor.bundle import (
    BUNDLE_FORMAT,
    BundleNotReady,
    check_bundle,
    embedded_trust,
    extract_bundle,
    make_bundle,
)
from auditor.cli import app
from auditor.verify import Trust
from core.merkle import leaf_hash
from core.pki import fingerprint, load_certificate
from tests.auditor.conftest import Pinned, client_for
from tests.auditor.fakelog import FakeLog
from tests.fixtures.pki import PkiFiles

pytestmark = pytest.mark.anyio

DOC = Path(__file__).resolve().parents[2] / "docs" / "audit.md"


def doc_block(tag: str) -> str:
    """The code block of docs/audit.md whose info string is ``tag`` (e.g. sh audit-openssl)."""
    found = re.findall(rf"^```{re.escape(tag)}\n(.*?)^```$", DOC.read_text(), re.M | re.S)
    assert len(found) == 1, f"docs/audit.md has {len(found)} ```{tag} blocks"
    return str(found[0])


async def bundle_of(log: FakeLog, trust: Trust, x_road_id: str) -> dict[str, Any]:
    async with client_for(log) as client:
        return make_bundle(await client.exchange(x_road_id), trust=trust)


@pytest.fixture
async def exchange_id(log: FakeLog) -> str:
    x_road_id = log.exchange()
    log.checkpoint()
    return x_road_id


@pytest.fixture
async def bundle(log: FakeLog, trust: Trust, exchange_id: str) -> dict[str, Any]:
    return await bundle_of(log, trust, exchange_id)


async def test_bundle_holds_the_exchange_records_proofs_token_and_certificates(
    bundle: dict[str, Any], trust: Trust, exchange_id: str, now: dt.datetime
) -> None:
    assert bundle["format"] == BUNDLE_FORMAT and bundle["x_road_id"] == exchange_id
    assert [json.loads(r["record"])["kind"] for r in bundle["records"]] == ["accepted", "answered"]
    assert len(bundle["signatures"]) == 2 and bundle["checkpoint"]["timestamp"]
    report = check_bundle(bundle, trust, now=now)
    assert report.ok, report.problems
    assert [kind for _, kind in report.records] == ["accepted", "answered"]
    assert report.signatures == 2 and report.checkpoint is not None
    assert report.checkpoint.gen_time is not None


async def test_bundle_waits_for_a_timestamped_checkpoint(log: FakeLog, trust: Trust) -> None:
    x_road_id = log.exchange()
    with pytest.raises(BundleNotReady, match="is not under a checkpoint yet"):
        await bundle_of(log, trust, x_road_id)
    log.checkpoint(stamp=False)
    with pytest.raises(BundleNotReady, match="has no timestamp token yet"):
        await bundle_of(log, trust, x_road_id)


def tampered(bundle: dict[str, Any], change: str) -> dict[str, Any]:
    b = copy.deepcopy(bundle)
    first = b["records"][0]
    if change == "record":
        first["record"] = first["record"].replace('"purpose":"', '"purpose":"x')
        first["leaf_hash"] = leaf_hash(first["record"].encode()).hex()
    elif change == "proof":
        first["proof"][0] = "00" * 32
    elif change == "leaf_hash":
        first["leaf_hash"] = "11" * 32
    elif change == "note":
        b["checkpoint"]["note"] = b["checkpoint"]["note"].replace("\n", "\n\n", 1)
    elif change == "token":
        token = bytearray(base64.b64decode(b["checkpoint"]["timestamp"]))
        token[-5] ^= 1
        b["checkpoint"]["timestamp"] = base64.b64encode(bytes(token)).decode()
    elif change == "signature":
        digest = json.loads(first["record"])["client_jws_sha256"]
        jws = b["signatures"][digest]
        # A different character inside the signature (replacing the end with "AA" was no
        # change at all for one signature in 256, which already ended so).
        flipped = "B" if jws[-10] != "B" else "C"
        b["signatures"][digest] = jws[:-10] + flipped + jws[-9:]
    return b


@pytest.mark.parametrize(
    ("change", "where"),
    [
        ("record", "index"),
        ("proof", "index"),
        ("leaf_hash", "index"),
        ("signature", "index"),
        ("note", "checkpoint"),
        ("token", "checkpoint"),
    ],
)
async def test_tampered_bundle_fails_its_check(
    bundle: dict[str, Any], trust: Trust, now: dt.datetime, change: str, where: str
) -> None:
    report = check_bundle(tampered(bundle, change), trust, now=now)
    assert report.first is not None and report.first.where == where, report.problems
    if where == "index":
        assert report.first.position == bundle["records"][0]["index"]


async def test_bundle_is_checked_against_the_pinned_log_key_not_its_own(
    bundle: dict[str, Any], pki_files: PkiFiles, now: dt.datetime
) -> None:
    impostor = FakeLog.create(pki_files)
    forged = copy.deepcopy(bundle)
    forged["log_key"] = impostor.vkey  # a bundle may carry any key: it proves nothing
    cp = forged["checkpoint"]
    resigned = impostor.signed_checkpoint(cp["size"], bytes.fromhex(cp["root"]))
    forged["checkpoint"] = resigned
    assert check_bundle(forged, embedded_trust(forged), now=now).ok
    pinned = Trust.from_material(pki_files.ca_path.read_bytes(), bundle["log_key"])
    report = check_bundle(forged, pinned, now=now)
    assert (
        str(report.first)
        == f"checkpoint {cp['size']}: the note is not signed by the pinned log key"
    )


# -- by hand: exactly the commands of docs/audit.md ----------------------------------------------


def extracted(bundle: dict[str, Any], trust: Trust, directory: Path) -> Path:
    extract_bundle(bundle, directory, trust)
    return directory


def run_sh(block: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["sh", "-e", "-c", block], cwd=cwd, capture_output=True, text=True, check=False
    )


def run_python(block: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", block], cwd=cwd, capture_output=True, text=True, check=False
    )


async def test_documented_openssl_commands_verify_the_checkpoint_and_its_token(
    bundle: dict[str, Any], trust: Trust, tmp_path: Path
) -> None:
    work = extracted(bundle, trust, tmp_path / "x")
    result = run_sh(doc_block("sh audit-openssl"), work)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "Signature Verified Successfully" in result.stdout
    assert "Verification: OK" in result.stdout


@pytest.mark.parametrize("part", ["checkpoint.txt", "checkpoint.note"])
async def test_documented_openssl_commands_fail_on_a_changed_checkpoint(
    bundle: dict[str, Any], trust: Trust, tmp_path: Path, part: str
) -> None:
    work = extracted(bundle, trust, tmp_path / "x")
    path = work / part
    path.write_bytes(path.read_bytes().replace(b"\n", b"\n\n", 1))
    result = run_sh(doc_block("sh audit-openssl"), work)
    assert result.returncode != 0, result.stdout


async def test_documented_standalone_program_checks_every_record(
    bundle: dict[str, Any], trust: Trust, tmp_path: Path
) -> None:
    work = extracted(bundle, trust, tmp_path / "x")
    program = doc_block("python audit-standalone")
    result = run_python(program, work)
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.count(": included in lienthong.local/evidence-log at size ") == 2

    index = bundle["records"][1]["index"]
    record = work / f"record-{index}.json"
    record.write_bytes(record.read_bytes().replace(b'"status":200', b'"status":500', 1))
    result = run_python(program, work)
    assert result.returncode == 1
    assert f"record-{index}.json: NOT INCLUDED" in result.stdout


# -- the commands --------------------------------------------------------------------------------


def write(bundle: dict[str, Any], path: Path) -> Path:
    path.write_text(json.dumps(bundle))
    return path


async def test_check_command_uses_pinned_trust(
    bundle: dict[str, Any], pinned: Pinned, tmp_path: Path, exchange_id: str
) -> None:
    file = write(bundle, tmp_path / "b.json")
    args = ["check", str(file), "--ca", str(pinned.ca), "--log-key", str(pinned.log_key)]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.output
    assert result.stdout.startswith(f"ok: {exchange_id}: accepted at index ")
    assert "using the bundle's own" not in result.stderr


async def test_check_command_without_pins_says_which_ca_and_key_it_used(
    bundle: dict[str, Any], pki_files: PkiFiles, tmp_path: Path
) -> None:
    result = CliRunner().invoke(app, ["check", str(write(bundle, tmp_path / "b.json"))])
    assert result.exit_code == 0, result.output
    ca_fingerprint = fingerprint(load_certificate(pki_files.ca_path))
    assert f"CA sha256:{ca_fingerprint}" in result.stderr
    assert f"log key {bundle['log_key']}" in result.stderr


async def test_check_command_names_the_first_bad_record(
    bundle: dict[str, Any], pinned: Pinned, tmp_path: Path
) -> None:
    file = write(tampered(bundle, "proof"), tmp_path / "b.json")
    args = ["check", str(file), "--ca", str(pinned.ca), "--log-key", str(pinned.log_key)]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 1
    index = bundle["records"][0]["index"]
    size = bundle["checkpoint"]["size"]
    assert result.stderr.strip() == (
        f"error: index {index}: the inclusion proof does not lead to checkpoint {size}'s root"
    )


async def test_extract_command_writes_the_files_the_documentation_names(
    bundle: dict[str, Any], pinned: Pinned, tmp_path: Path
) -> None:
    file = write(bundle, tmp_path / "b.json")
    out = tmp_path / "parts"
    args = ["extract", str(file), "-o", str(out), "--ca", str(pinned.ca)]
    result = CliRunner().invoke(app, [*args, "--log-key", str(pinned.log_key)])
    assert result.exit_code == 0, result.output
    names = {p.name for p in out.iterdir()}
    documented = {"checkpoint.txt", "checkpoint.sig", "log-key.pem", "checkpoint.note"}
    documented |= {"checkpoint.tsr", "ca.pem"}
    assert documented <= names
    for r in bundle["records"]:
        assert (out / f"record-{r['index']}.json").read_text() == r["record"]
    assert len((out / "checkpoint.sig").read_bytes()) == 64
    assert (out / "ca.pem").read_bytes() == pinned.ca.read_bytes()
