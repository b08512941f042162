"""The exchange scenarios: person lookups through the gateway, and straight to the registry.

``gateway``: every request signed afresh by the one-stop portal (its own ``jti``), with
purpose and fields, over mTLS — everything the gateway checks, forwards, verifies and
records. ``direct``: the same lookups sent to the population registry with the gateway's
certificate and a forward header signed by the gateway, i.e. what the registry costs on its
own. Both are built before the clock starts.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Sequence
from pathlib import Path

from bench.load import Prepared
from certs.authority import Authority
from certs.dev import CONSUMERS, GATEWAY_ID, PROVIDERS
from core.signing import TYP_FORWARD, TYP_REQUEST, Signer, sha256_b64url, timestamp
from core.tls import client_context

PURPOSE = "household-business-registration"
FIELDS = "full_name,date_of_birth,sex,permanent_residence"
OFFICIAL = "001080000001"
POPULATION = PROVIDERS["population"]
ONE_STOP = CONSUMERS["one-stop"]
EMPTY = sha256_b64url(b"")


def _signer(pki: Path, member: str) -> Signer:
    return Signer.from_files(*Authority(pki).member_paths(member))


def member_context(pki: Path, member: str) -> object:
    authority = Authority(pki)
    cert, key = authority.member_paths(member)
    return client_context(ca=authority.ca_cert_path, cert=cert, key=key)


def gateway_requests(pki: Path, gateway_url: str, ids: Sequence[str]) -> list[Prepared]:
    """One freshly signed request per id, as the one-stop portal sends them."""
    signer = _signer(pki, ONE_STOP)
    now = timestamp(dt.datetime.now(dt.UTC))
    out = []
    for pid in ids:
        htu = f"/r1/{POPULATION}/persons/{pid}?fields={FIELDS}"
        jti = str(uuid.uuid4())
        token = signer.sign(
            {
                "iss": ONE_STOP,
                "aud": GATEWAY_ID,
                "htm": "GET",
                "htu": htu,
                "iat": now,
                "jti": jti,
                "purpose": PURPOSE,
                "consent": None,
                "uid": OFFICIAL,
                "issue": None,
                "body_sha256": EMPTY,
            },
            typ=TYP_REQUEST,
        )
        headers = {
            "X-Road-Client": ONE_STOP,
            "X-Road-Id": jti,
            "X-Road-UserId": OFFICIAL,
            "X-Road-Purpose": PURPOSE,
            "X-Road-Signature": token,
        }
        out.append(Prepared("GET", gateway_url + htu, headers))
    return out


def direct_requests(pki: Path, registry_url: str, ids: Sequence[str]) -> list[Prepared]:
    """The same lookups straight to the registry, with the gateway's forward header."""
    signer = _signer(pki, GATEWAY_ID)
    now = timestamp(dt.datetime.now(dt.UTC))
    out = []
    for pid in ids:
        htu = f"/persons/{pid}?fields={FIELDS}"
        jti = str(uuid.uuid4())
        forward = signer.sign(
            {
                "iss": GATEWAY_ID,
                "aud": POPULATION,
                "jti": jti,
                "client": ONE_STOP,
                "service": f"{POPULATION}/persons",
                "purpose": PURPOSE,
                "fields": FIELDS.split(","),
                "htm": "GET",
                "htu": htu,
                "iat": now,
                "request_hash": sha256_b64url(jti.encode()),
                "body_sha256": EMPTY,
            },
            typ=TYP_FORWARD,
        )
        headers = {"X-Road-Forward": forward, "X-Road-Id": jti, "X-Road-Client": ONE_STOP}
        out.append(Prepared("GET", registry_url + htu, headers))
    return out
