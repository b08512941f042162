"""Consumer → gateway → registry on the real stack: real processes, real TLS on loopback.

``lienthong up`` runs in a subprocess (PKI made, databases seeded, every service started);
a person, an enterprise and a parcel are fetched through the gateway with the SDK, with
``lienthong call`` and with plain ``curl --cert --key --cacert``; the registries refuse any
certificate but the gateway's; the bank reads a citizen's data only with a consent the
citizen gave through the citizens' listener with a token from the citizen identity service.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

import httpx
import pytest
from sqlalchemy import create_engine, text

from certs.authority import Authority
from certs.dev import CONSUMERS
from consumers.sdk import GatewayClient
from consumers.sdk.errors import ConsentRequired
from core.pki import TrustStore
from core.signing import TYP_RESPONSE, verify
from core.tls import client_context
from tests.stack.procs import GATEWAY_PUBLIC, stack_env
from tests.stack.running import RunningStack, wait_until_ready

pytestmark = pytest.mark.stack

ONE_STOP = CONSUMERS["one-stop"]
LAND_OFFICE = CONSUMERS["land-office"]
BANK = CONSUMERS["kyc"]
HBR = "household-business-registration"


def _sample(var_dir: Path, db: str, sql: str) -> str:
    engine = create_engine(f"sqlite:///{var_dir / 'db' / f'{db}.sqlite3'}")
    try:
        with engine.connect() as conn:
            value = conn.execute(text(sql)).scalar()
    finally:
        engine.dispose()
    assert value is not None, sql
    return str(value)


def _client(stack: RunningStack, member: str) -> GatewayClient:
    return GatewayClient.from_pki(
        stack.var_dir / "pki",
        member,
        base_url=f"https://127.0.0.1:{stack.ports['gateway']}",
        user_id="001080000001",
    )


def test_agencies_fetch_a_person_an_enterprise_and_a_parcel_through_the_gateway(
    stack: RunningStack,
) -> None:
    wait_until_ready(stack)
    var = stack.var_dir
    pid = _sample(var, "population", "SELECT personal_id FROM person WHERE date_of_death IS NULL")
    code = _sample(var, "business", "SELECT code FROM enterprises")
    parcel = _sample(var, "land", "SELECT parcel_id FROM land_parcel")
    pki = Authority(var / "pki")
    store = TrustStore.from_files(pki.ca_cert_path, pki.crl_path)

    # The SDK: verified answers, signed by the registry that owns the data.
    with _client(stack, ONE_STOP) as one_stop:
        person = one_stop.population.person(
            pid, fields=["full_name", "date_of_birth"], purpose="household-business-registration"
        )
        assert set(person.data) == {"full_name", "date_of_birth"}
        assert str(person.provider) == "VN/GOV/BCA/population"
        enterprise = one_stop.business.enterprise(
            code, fields=["enterprise_code", "name_vi"], purpose="household-business-registration"
        )
        assert enterprise.data["enterprise_code"] == code
    with _client(stack, LAND_OFFICE) as land_office:
        found = land_office.land.parcel(parcel, purpose="land-transfer")
        assert found.data["parcel_id"] == parcel
        assert str(found.provider) == "VN/GOV/BNNMT/land"

    # `lienthong call`, as a member types it.
    done = subprocess.run(
        [
            sys.executable, "-m", "stack", "call", f"VN/GOV/BCA/population/persons/{pid}",
            "--pki", str(var / "pki"), "--gateway", f"https://127.0.0.1:{stack.ports['gateway']}",
            "--purpose", "household-business-registration", "--fields", "full_name",
        ],
        env=stack_env(stack.ports), capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert set(json.loads(done.stdout)) == {"full_name"}
    assert "X-Road-Response-Signature" in done.stderr

    # Plain curl with headers signed by `lienthong call --sign-only`.
    curl = shutil.which("curl")
    assert curl is not None, "curl is installed by scripts/os-deps"
    url_path = f"VN/GOV/BTC/business/enterprises/{code}"
    signed = subprocess.run(
        [
            sys.executable, "-m", "stack", "call", url_path, "--sign-only",
            "--pki", str(var / "pki"), "--gateway", f"https://127.0.0.1:{stack.ports['gateway']}",
            "--purpose", "household-business-registration", "--fields", "enterprise_code,name_vi",
        ],
        env=stack_env(stack.ports), capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert signed.returncode == 0, signed.stderr
    headers_file = stack.var_dir / "curl-headers.txt"
    headers_file.write_text(signed.stdout)
    url = next(line.split()[1] for line in signed.stderr.splitlines() if line.startswith("GET "))
    assert url.startswith("https://127.0.0.1:")
    member_cert, member_key = pki.member_paths(ONE_STOP)
    out = subprocess.run(
        [
            curl, "-s", "-D", "-", "--cert", str(member_cert), "--key", str(member_key),
            "--cacert", str(pki.ca_cert_path), "-H", f"@{headers_file}", url,
        ],
        capture_output=True, timeout=30,
    )  # fmt: skip
    raw_head, _, body = out.stdout.partition(b"\r\n\r\n")
    head = raw_head.decode("latin-1")
    assert head.startswith("HTTP/1.1 200"), out.stdout
    assert set(json.loads(body)) == {"enterprise_code", "name_vi"}
    assert json.loads(body)["enterprise_code"] == code
    signature = next(
        line.split(":", 1)[1].strip()
        for line in head.splitlines()
        if line.lower().startswith("x-road-response-signature:")
    )
    verified = verify(signature, store=store, now=datetime.now(UTC), typ=TYP_RESPONSE)
    assert str(verified.signer) == "VN/GOV/BTC/business"


def test_registries_refuse_every_certificate_but_the_gateways(stack: RunningStack) -> None:
    wait_until_ready(stack)
    pki = Authority(stack.var_dir / "pki")
    for member in (ONE_STOP, BANK, "VN/GOV/LIENTHONG/admin"):
        cert, key = pki.member_paths(member)
        ctx = client_context(ca=pki.ca_cert_path, cert=cert, key=key)
        with httpx.Client(verify=ctx, trust_env=False, timeout=5) as client:
            for name in ("population", "business", "land"):
                r = client.get(f"https://127.0.0.1:{stack.ports[name]}/healthz")
                assert r.status_code == 403, (member, name)
                assert r.headers["X-Road-Error"] == "client.access_denied"
    # Without a client certificate the TLS handshake itself fails.
    with (
        httpx.Client(
            verify=client_context(ca=pki.ca_cert_path), trust_env=False, timeout=5
        ) as client,
        pytest.raises(httpx.TransportError),
    ):
        client.get(f"https://127.0.0.1:{stack.ports['population']}/healthz")


def test_the_bank_reads_a_citizen_only_with_the_citizens_consent(stack: RunningStack) -> None:
    wait_until_ready(stack)
    var = stack.var_dir
    pid = _sample(var, "population", "SELECT personal_id FROM person WHERE date_of_death IS NULL")
    ca = client_context(ca=Authority(var / "pki").ca_cert_path)
    with _client(stack, BANK) as bank:
        with pytest.raises(ConsentRequired):
            bank.population.person(pid, fields=["full_name"], purpose="bank-kyc")
        # The citizen signs in at the identity stand-in and consents on the citizens' port,
        # which needs no client certificate.
        with httpx.Client(verify=ca, trust_env=False, timeout=10) as citizen:
            token = citizen.post(
                f"https://127.0.0.1:{stack.ports['citizen-id']}/token", json={"personal_id": pid}
            ).json()["access_token"]
            consent = citizen.post(
                f"https://127.0.0.1:{stack.ports[GATEWAY_PUBLIC]}/consents",
                headers={"Authorization": f"Bearer {token}"},
                json={
                    "client": BANK,
                    "purpose": "bank-kyc",
                    "services": {"VN/GOV/BCA/population/persons": ["full_name", "date_of_birth"]},
                },
            )
            assert consent.status_code == 201, consent.text
        answer = bank.population.person(
            pid,
            fields=["full_name", "date_of_birth"],
            purpose="bank-kyc",
            consent=consent.json()["id"],
        )
        assert set(answer.data) == {"full_name", "date_of_birth"}


def test_an_auditor_verifies_the_log_and_a_bundle_of_the_running_stack(
    stack: RunningStack, tmp_path: Path
) -> None:
    """Issue 4's "done when": exchanges through `lienthong up`, then `audit verify` passes,
    a bundle checks offline, and the openssl commands of docs/audit.md accept its parts."""
    wait_until_ready(stack)
    var = stack.var_dir
    pki = str(var / "pki")
    url = f"https://127.0.0.1:{stack.ports['gateway']}"
    pid = _sample(var, "population", "SELECT personal_id FROM person WHERE date_of_death IS NULL")
    with _client(stack, ONE_STOP) as one_stop:
        answers = [
            one_stop.population.person(pid, fields=["full_name"], purpose=HBR) for _ in range(3)
        ]

    def audit(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "stack", "audit", *args],
            env=stack_env(stack.ports), capture_output=True, text=True, timeout=120,
        )  # fmt: skip

    state = tmp_path / "state.json"
    bundle = tmp_path / "bundle.json"
    # A checkpoint every 2 s, then its timestamp: bundle waits for one covering the exchange.
    made = audit("bundle", answers[-1].x_road_id, "-o", str(bundle), "--pki", pki, "--url", url)
    assert made.returncode == 0, made.stderr
    verified = audit("verify", "--pki", pki, "--url", url, "--state", str(state))
    assert verified.returncode == 0, verified.stderr + verified.stdout
    assert json.loads(state.read_text())["size"] >= 6  # 3 exchanges: accepted + answered
    checked = audit("check", str(bundle), "--pki", pki)
    assert checked.returncode == 0, checked.stderr + checked.stdout

    parts = tmp_path / "parts"
    extracted = audit("extract", str(bundle), "-o", str(parts), "--pki", pki)
    assert extracted.returncode == 0, extracted.stderr
    doc = (Path(__file__).resolve().parents[2] / "docs" / "audit.md").read_text()
    commands = doc.split("```sh audit-openssl\n", 1)[1].split("```", 1)[0].strip().splitlines()
    assert len(commands) == 2
    for command in commands:
        done = subprocess.run(
            command.split(), cwd=parts, capture_output=True, text=True, timeout=30
        )
        assert done.returncode == 0, (command, done.stdout, done.stderr)
