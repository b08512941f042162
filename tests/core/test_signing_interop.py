"""Our compact JWS are standard: PyJWT reads ours, and we read PyJWT's (ES256 and EdDSA)."""

from __future__ import annotations

import datetime as dt
import json

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric.ec import EllipticCurvePublicKey
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from certs.authority import issue, new_key
from core.pki import TrustStore, x5c_entry
from core.signing import TYP_REQUEST, Signer, verify
from tests.fixtures.pki import PkiFiles

MEMBER = "VN/GOV/UBND-HN/one-stop"


def _signer(pki_files: PkiFiles, algorithm: str) -> Signer:
    authority = pki_files.authority
    ca_cert, ca_key = authority._ca()
    key = new_key("ed25519" if algorithm == "EdDSA" else "p256")
    now = dt.datetime.now(dt.UTC)
    cert = issue(
        ca_cert=ca_cert,
        ca_key=ca_key,
        subject=MEMBER,
        public_key=key.public_key(),
        not_before=now - dt.timedelta(minutes=1),
        not_after=now + dt.timedelta(days=1),
    )
    return Signer(key, cert)


@pytest.mark.parametrize("algorithm", ["ES256", "EdDSA"])
def test_pyjwt_verifies_our_signatures(pki_files: PkiFiles, algorithm: str) -> None:
    signer = _signer(pki_files, algorithm)
    claims = {"iss": MEMBER, "jti": "x-1", "htu": "/r1/VN/GOV/BCA/population/persons/1"}
    token = signer.sign(claims, typ=TYP_REQUEST)
    header = jwt.get_unverified_header(token)
    assert header == {"alg": algorithm, "typ": TYP_REQUEST, "x5c": [x5c_entry(signer.certificate)]}
    key = signer.certificate.public_key()
    assert isinstance(key, EllipticCurvePublicKey | Ed25519PublicKey)
    payload = jwt.PyJWS().decode(token, key, algorithms=[algorithm])
    assert json.loads(payload) == claims


@pytest.mark.parametrize("algorithm", ["ES256", "EdDSA"])
def test_we_verify_pyjwt_signatures(pki_files: PkiFiles, algorithm: str) -> None:
    signer = _signer(pki_files, algorithm)
    claims = {"iss": MEMBER, "jti": "x-2"}
    token = jwt.PyJWS().encode(
        json.dumps(claims).encode(),
        signer.key,
        algorithm=algorithm,
        headers={"typ": TYP_REQUEST, "x5c": [x5c_entry(signer.certificate)]},
    )
    store = TrustStore.from_files(pki_files.ca_path, pki_files.crl_path)
    verified = verify(token, store=store, now=dt.datetime.now(dt.UTC), typ=TYP_REQUEST)
    assert verified.claims == claims
    assert str(verified.signer) == MEMBER
